-- CLINK schema, version 1 (SQLite). Times are UTC RFC 3339 text with microseconds; booleans
-- are 0/1; lists and maps are JSON text, never queried with JSON operators.

CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    culture_seq INTEGER NOT NULL DEFAULT 0, -- last number given to a generated culture code
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);

CREATE TABLE donors (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    site          TEXT NOT NULL REFERENCES sites (code),
    sex           TEXT NOT NULL,
    age_band      TEXT NOT NULL,
    hcmv          TEXT NOT NULL,
    nkg2c         TEXT NOT NULL,
    kir_haplotype TEXT NOT NULL,
    kir_genes     TEXT NOT NULL DEFAULT '[]',
    hla_c_group   TEXT NOT NULL DEFAULT '',
    consent_date  TEXT NOT NULL,
    notes         TEXT NOT NULL DEFAULT '',
    voided        INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    void_reason   TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL
);
CREATE INDEX donors_site ON donors (site);
CREATE INDEX donors_hcmv ON donors (hcmv);
CREATE INDEX donors_nkg2c ON donors (nkg2c);
CREATE INDEX donors_kir_haplotype ON donors (kir_haplotype);

CREATE TABLE components (
    id          INTEGER PRIMARY KEY,
    site        TEXT NOT NULL REFERENCES sites (code),
    name        TEXT NOT NULL UNIQUE,
    category    TEXT NOT NULL,
    unit        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE INDEX components_category ON components (category);

CREATE TABLE protocols (
    id                 INTEGER PRIMARY KEY,
    site               TEXT NOT NULL REFERENCES sites (code),
    name               TEXT NOT NULL,
    version            INTEGER NOT NULL,
    starting_material  TEXT NOT NULL,
    feeder_ratio       REAL,
    feeder_ratio_basis TEXT NOT NULL DEFAULT '',
    restimulation_days TEXT NOT NULL DEFAULT '[]',
    vessel             TEXT NOT NULL,
    seeding_density    REAL NOT NULL,
    duration_days      INTEGER NOT NULL,
    description        TEXT NOT NULL DEFAULT '',
    voided             INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    void_reason        TEXT NOT NULL DEFAULT '',
    created_at         TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    updated_by         TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX protocols_site ON protocols (site);

CREATE TABLE protocol_components (
    protocol_id  INTEGER NOT NULL REFERENCES protocols (id),
    position     INTEGER NOT NULL,
    component_id INTEGER NOT NULL REFERENCES components (id),
    dose         REAL NOT NULL,
    unit         TEXT NOT NULL,
    days         TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (protocol_id, position)
);
CREATE INDEX protocol_components_component ON protocol_components (component_id);

CREATE TABLE cultures (
    id              INTEGER PRIMARY KEY,
    code            TEXT NOT NULL UNIQUE,
    site            TEXT NOT NULL REFERENCES sites (code),
    donor_id        INTEGER NOT NULL REFERENCES donors (id),
    protocol_id     INTEGER NOT NULL REFERENCES protocols (id),
    start_date      TEXT NOT NULL,
    starting_cells  REAL NOT NULL,
    starting_nk_pct REAL NOT NULL,
    status          TEXT NOT NULL,
    stop_reason     TEXT NOT NULL DEFAULT '',
    notes           TEXT NOT NULL DEFAULT '',
    voided          INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    void_reason     TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL
);
CREATE INDEX cultures_site ON cultures (site);
CREATE INDEX cultures_donor ON cultures (donor_id);
CREATE INDEX cultures_protocol ON cultures (protocol_id);
CREATE INDEX cultures_status ON cultures (status);

CREATE TABLE observations (
    id                  INTEGER PRIMARY KEY,
    culture_id          INTEGER NOT NULL REFERENCES cultures (id),
    site                TEXT NOT NULL REFERENCES sites (code),
    day                 INTEGER NOT NULL,
    viable_cells        REAL NOT NULL,
    viability_pct       REAL,
    nk_pct              REAL,
    t_pct               REAL,
    markers             TEXT NOT NULL DEFAULT '{}',
    volume_ml           REAL,
    split_fraction_kept REAL,
    note                TEXT NOT NULL DEFAULT '',
    voided              INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    void_reason         TEXT NOT NULL DEFAULT '',
    created_at          TEXT NOT NULL,
    created_by          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    updated_by          TEXT NOT NULL
);
CREATE INDEX observations_culture_day ON observations (culture_id, day);
-- One valid observation per culture and day; voided ones may pile up.
CREATE UNIQUE INDEX observations_one_per_day ON observations (culture_id, day) WHERE voided = 0;

CREATE TABLE assays (
    id               INTEGER PRIMARY KEY,
    culture_id       INTEGER NOT NULL REFERENCES cultures (id),
    site             TEXT NOT NULL REFERENCES sites (code),
    day              INTEGER NOT NULL,
    target           TEXT NOT NULL,
    target_name      TEXT NOT NULL DEFAULT '',
    method           TEXT NOT NULL,
    targets_per_well INTEGER NOT NULL,
    duration_hours   REAL NOT NULL,
    points           TEXT NOT NULL, -- JSON [{"et_ratio":..,"readings":[..]}], raw, in order
    spontaneous      TEXT NOT NULL,
    maximum          TEXT NOT NULL,
    note             TEXT NOT NULL DEFAULT '',
    voided           INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    void_reason      TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    updated_by       TEXT NOT NULL
);
CREATE INDEX assays_culture ON assays (culture_id);
CREATE INDEX assays_site ON assays (site);

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   INTEGER NOT NULL,
    site        TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    before_json TEXT,
    after_json  TEXT,
    -- The hash chain (clink.AuditEvent.ComputeHash): position, previous hash, own hash.
    seq         INTEGER NOT NULL UNIQUE,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_events_entity ON audit_events (entity, entity_id);

-- The head of the audit chain: one row, updated by every audited write. Updating it first
-- serialises writers, so the chain has no forks.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The audit trail is append-only: the database refuses to change or delete an event.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
