-- CLINK schema, version 3 (SQLite): failed sign-ins per user. A row exists only for a user with
-- consecutive failures, a wait or a lock; a successful sign-in, an unlock or a new password
-- deletes it. Rows are never created for unknown usernames.

CREATE TABLE login_attempts (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id),
    failures        INTEGER NOT NULL CHECK (failures >= 0), -- consecutive failed sign-ins
    last_failure_at TEXT,
    not_before      TEXT, -- attempts before this time are refused (throttled); NULL for none
    locked_until    TEXT  -- attempts before this time are refused (locked); NULL for none
);
