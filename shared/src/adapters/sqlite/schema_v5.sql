-- Schema version 5: federated accounts (an OpenID Connect issuer's iss and sub
-- instead of an email and a password). Applied on top of version 4. SQLite cannot
-- drop NOT NULL from a column, so the users table is rebuilt; every account keeps
-- its id, and the CHECK makes an account exactly one of the two kinds.
CREATE TABLE users_v5 (
    user_id        TEXT PRIMARY KEY,
    email          TEXT UNIQUE,
    password_hash  TEXT,
    issuer         TEXT,
    subject        TEXT,
    verified_email TEXT,
    created_at     INTEGER NOT NULL,
    deleting       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (issuer, subject),
    CHECK ((email IS NOT NULL AND password_hash IS NOT NULL AND issuer IS NULL AND subject IS NULL)
        OR (email IS NULL AND password_hash IS NULL AND issuer IS NOT NULL AND subject IS NOT NULL))
) STRICT;
INSERT INTO users_v5 (user_id, email, password_hash, created_at, deleting)
    SELECT user_id, email, password_hash, created_at, deleting FROM users;
DROP TABLE users;
ALTER TABLE users_v5 RENAME TO users;
