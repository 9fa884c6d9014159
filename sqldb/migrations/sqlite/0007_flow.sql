-- CLINK schema, version 7 (SQLite): flow cytometry. Gating templates are versioned like
-- protocols; FCS files are stored once, keyed by the hex SHA-256 of their bytes; an attachment
-- records which data set of which file was gated with which template version for which
-- observation, and what it computed. Files and attachments are append-only.

CREATE TABLE gating_templates (
    id          INTEGER PRIMARY KEY,
    site        TEXT NOT NULL REFERENCES sites (code),
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    gating_ml   TEXT NOT NULL,
    mapping     TEXT NOT NULL, -- JSON {"denominator", "nk_pct", "t_pct", "markers": {name: gate id}}
    voided      INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    void_reason TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX gating_templates_site ON gating_templates (site);

CREATE TABLE fcs_files (
    id         INTEGER PRIMARY KEY,
    sha256     TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
    size       INTEGER NOT NULL,
    data       BLOB NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE fcs_attachments (
    id             INTEGER PRIMARY KEY,
    observation_id INTEGER NOT NULL REFERENCES observations (id),
    site           TEXT NOT NULL REFERENCES sites (code),
    file_id        INTEGER NOT NULL REFERENCES fcs_files (id),
    file_name      TEXT NOT NULL,
    template_id    INTEGER NOT NULL REFERENCES gating_templates (id),
    dataset        INTEGER NOT NULL,
    events         INTEGER NOT NULL,
    measures       TEXT NOT NULL, -- JSON clink.FlowMeasures
    changed        TEXT NOT NULL DEFAULT '[]', -- JSON list of the observation's fields it set
    replace_values INTEGER NOT NULL DEFAULT 0 CHECK (replace_values IN (0, 1)),
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    -- A data set is gated with a template version once per observation.
    UNIQUE (observation_id, file_id, template_id, dataset)
);
CREATE INDEX fcs_attachments_file ON fcs_attachments (file_id);
CREATE INDEX fcs_attachments_template ON fcs_attachments (template_id);

-- A stored file and the provenance of a measure never change.
CREATE TRIGGER fcs_files_no_update BEFORE UPDATE ON fcs_files
BEGIN SELECT RAISE(ABORT, 'fcs_files is append-only'); END;
CREATE TRIGGER fcs_files_no_delete BEFORE DELETE ON fcs_files
BEGIN SELECT RAISE(ABORT, 'fcs_files is append-only'); END;
CREATE TRIGGER fcs_attachments_no_update BEFORE UPDATE ON fcs_attachments
BEGIN SELECT RAISE(ABORT, 'fcs_attachments is append-only'); END;
CREATE TRIGGER fcs_attachments_no_delete BEFORE DELETE ON fcs_attachments
BEGIN SELECT RAISE(ABORT, 'fcs_attachments is append-only'); END;
