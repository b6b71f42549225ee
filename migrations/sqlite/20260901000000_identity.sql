-- Users and refresh tokens (SQLite).
-- Canonical columns compare with BINARY (byte-exact, trailing spaces significant): the
-- application canonicalises usernames and emails before every insert and lookup, so
-- these indexes only confirm what the code decided. Length CHECKs mirror the MySQL column
-- sizes, which SQLite would not otherwise enforce, so both stores refuse the same rows
-- (characters for VARCHAR, bytes for VARBINARY).

CREATE TABLE users (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    username           TEXT    NOT NULL CHECK (length(username) BETWEEN 1 AND 150),
    username_canonical TEXT    NOT NULL COLLATE BINARY CHECK (length(username_canonical) BETWEEN 1 AND 150),
    email              TEXT    NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    -- NULL when the user has no email: UNIQUE ignores NULLs.
    email_canonical    TEXT    NULL COLLATE BINARY CHECK (length(email_canonical) BETWEEN 1 AND 254),
    password_hash      TEXT    NOT NULL CHECK (length(password_hash) <= 255),
    role               TEXT    NOT NULL DEFAULT 'CUSTOMER' CHECK (length(role) <= 20),
    phone              TEXT    NOT NULL DEFAULT '' CHECK (length(phone) <= 20),
    address            TEXT    NOT NULL DEFAULT '',
    is_active          INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    date_joined        TEXT    NOT NULL,
    last_login         TEXT    NULL,
    -- Unix seconds; access tokens issued before it are refused. 0 = never.
    revoked_after      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_username_canonical ON users (username_canonical);
CREATE UNIQUE INDEX users_email_canonical ON users (email_canonical);
CREATE INDEX users_revoked_after ON users (revoked_after) WHERE revoked_after > 0;

-- Only the jti of a refresh token is stored, never the token itself.
CREATE TABLE refresh_tokens (
    jti        TEXT    NOT NULL PRIMARY KEY COLLATE BINARY CHECK (length(CAST(jti AS BLOB)) <= 32),
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id  TEXT    NOT NULL COLLATE BINARY CHECK (length(CAST(family_id AS BLOB)) <= 32),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NULL,
    revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    created_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
