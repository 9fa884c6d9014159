-- CLINK schema, version 9 (SQLite): clinical manufacturing (issue 8). Patients are kept at their
-- hospital; their identity is a JSON object read only by that hospital's clinicians (the
-- adapters redact it elsewhere, and the audit trail never holds it). Release specification
-- versions and batch record entries never change and are never deleted; a correction is a new
-- entry that supersedes an earlier one.

CREATE TABLE patients (
    id         INTEGER PRIMARY KEY,
    hospital   TEXT NOT NULL REFERENCES sites (code),
    code       TEXT NOT NULL UNIQUE,
    seq        INTEGER NOT NULL,
    identity   TEXT NOT NULL DEFAULT 'null', -- JSON PatientIdentity or null
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (hospital, seq)
);
CREATE TRIGGER patients_no_delete BEFORE DELETE ON patients
BEGIN SELECT RAISE(ABORT, 'patients: records are never deleted'); END;

CREATE TABLE treatment_requests (
    id               INTEGER PRIMARY KEY,
    patient_id       INTEGER NOT NULL REFERENCES patients (id),
    donor_id         INTEGER NOT NULL REFERENCES donors (id),
    protocol_id      INTEGER NOT NULL REFERENCES protocols (id),
    target_nk_per_kg REAL NOT NULL,
    weight_kg        REAL NOT NULL,
    infusion_dates   TEXT NOT NULL, -- JSON list of YYYY-MM-DD
    cryopreserved    INTEGER NOT NULL DEFAULT 0 CHECK (cryopreserved IN (0, 1)),
    created_at       TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    updated_by       TEXT NOT NULL
);
CREATE INDEX treatment_requests_patient ON treatment_requests (patient_id);
CREATE TRIGGER treatment_requests_no_delete BEFORE DELETE ON treatment_requests
BEGIN SELECT RAISE(ABORT, 'treatment_requests: records are never deleted'); END;

CREATE TABLE release_specs (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    definition TEXT NOT NULL, -- JSON gmp.Spec
    reason     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE TRIGGER release_specs_no_update BEFORE UPDATE ON release_specs
BEGIN SELECT RAISE(ABORT, 'release_specs: a version never changes; write a new version'); END;
CREATE TRIGGER release_specs_no_delete BEFORE DELETE ON release_specs
BEGIN SELECT RAISE(ABORT, 'release_specs: versions are never deleted'); END;

CREATE TABLE batches (
    id            INTEGER PRIMARY KEY,
    site          TEXT NOT NULL REFERENCES sites (code),
    lot           TEXT NOT NULL UNIQUE,
    din           TEXT NOT NULL UNIQUE,
    check_char    TEXT NOT NULL,
    facility      TEXT NOT NULL,
    din_year      INTEGER NOT NULL,
    din_seq       INTEGER NOT NULL,
    product_code  TEXT NOT NULL,
    coi           TEXT NOT NULL,
    request_id    INTEGER NOT NULL REFERENCES treatment_requests (id),
    protocol_id   INTEGER NOT NULL REFERENCES protocols (id),
    spec_id       INTEGER NOT NULL REFERENCES release_specs (id),
    steps         TEXT NOT NULL, -- JSON master batch record
    status        TEXT NOT NULL,
    status_reason TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL,
    UNIQUE (facility, din_year, din_seq)
);
CREATE INDEX batches_site ON batches (site);
CREATE TRIGGER batches_immutable BEFORE UPDATE OF id, site, lot, din, check_char, facility, din_year, din_seq,
    product_code, coi, request_id, protocol_id, spec_id, steps, created_at, created_by ON batches
BEGIN SELECT RAISE(ABORT, 'batches: only the status of a batch changes'); END;
CREATE TRIGGER batches_no_delete BEFORE DELETE ON batches
BEGIN SELECT RAISE(ABORT, 'batches: records are never deleted'); END;

CREATE TABLE batch_entries (
    id         INTEGER PRIMARY KEY,
    batch_id   INTEGER NOT NULL REFERENCES batches (id),
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    data       TEXT NOT NULL, -- JSON
    supersedes INTEGER REFERENCES batch_entries (id) UNIQUE,
    reason     TEXT NOT NULL DEFAULT '',
    user_id    INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX batch_entries_batch ON batch_entries (batch_id, id);
CREATE TRIGGER batch_entries_no_update BEFORE UPDATE ON batch_entries
BEGIN SELECT RAISE(ABORT, 'batch_entries is append-only: correct an entry with a new one'); END;
CREATE TRIGGER batch_entries_no_delete BEFORE DELETE ON batch_entries
BEGIN SELECT RAISE(ABORT, 'batch_entries is append-only: correct an entry with a new one'); END;
