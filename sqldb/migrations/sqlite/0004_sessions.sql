-- CLINK schema, version 4 (SQLite): web sessions. A session is known only by the SHA-256 of
-- its id (the cookie value); it ends at sign-out, or when unused for longer than the idle
-- timeout (checked against last_seen_at, which is refreshed at most once a minute).

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    secret_sha256 TEXT NOT NULL UNIQUE, -- hex SHA-256 of the session id; the id is never stored
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    ended_at      TEXT,                 -- NULL while the session is open
    end_reason    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
