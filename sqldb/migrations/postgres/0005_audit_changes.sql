-- CLINK schema, version 5 (PostgreSQL): audit events name the user who wrote them and list the
-- fields that changed. user_id is 0 for processes without a user account (demo, import, cli);
-- changes_json is a JSON array of {"field", "old", "new"}. Adding columns does not touch
-- existing rows, so the append-only triggers do not fire.

ALTER TABLE audit_events ADD COLUMN user_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN changes_json TEXT;
