-- CLINK schema, version 8 (SQLite): design spaces, the optimizer's saved search spaces.
-- Versions are numbered per name, as gating templates are, and never change: a change is a new
-- version. A version is voided with a reason, never deleted; only the void columns and the
-- update stamp may change, and a void version stays void.

CREATE TABLE design_spaces (
    id          INTEGER PRIMARY KEY,
    site        TEXT NOT NULL REFERENCES sites (code),
    name        TEXT NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    description TEXT NOT NULL DEFAULT '',
    definition  TEXT NOT NULL, -- JSON design.Space, as given
    voided      INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    void_reason TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX design_spaces_site ON design_spaces (site);

CREATE TRIGGER design_spaces_immutable BEFORE UPDATE OF id, site, name, version, description, definition, created_at, created_by
ON design_spaces
BEGIN SELECT RAISE(ABORT, 'design_spaces: a version never changes; create a new version'); END;
CREATE TRIGGER design_spaces_stay_void BEFORE UPDATE OF voided ON design_spaces
WHEN OLD.voided = 1 AND NEW.voided = 0
BEGIN SELECT RAISE(ABORT, 'design_spaces: a void version stays void'); END;
CREATE TRIGGER design_spaces_no_delete BEFORE DELETE ON design_spaces
BEGIN SELECT RAISE(ABORT, 'design_spaces: versions are voided, never deleted'); END;
