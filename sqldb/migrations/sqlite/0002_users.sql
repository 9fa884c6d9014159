-- CLINK schema, version 2 (SQLite): users, their roles, and API tokens. Passwords are kept only
-- as argon2id hashes in PHC string form; tokens only as the SHA-256 of their secret.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    full_name       TEXT NOT NULL,
    email           TEXT NOT NULL,
    site            TEXT REFERENCES sites (code), -- NULL for users with consortium-wide roles only
    password_hash   TEXT NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    disabled_reason TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      TEXT NOT NULL
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id),
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role);

CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    label         TEXT NOT NULL DEFAULT '',
    prefix        TEXT NOT NULL UNIQUE,
    secret_sha256 TEXT NOT NULL UNIQUE, -- hex SHA-256 of the secret; the secret is never stored
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    revoked_by    TEXT NOT NULL DEFAULT '',
    revoke_reason TEXT NOT NULL DEFAULT '',
    last_used_at  TEXT
);
CREATE INDEX tokens_user ON tokens (user_id);
