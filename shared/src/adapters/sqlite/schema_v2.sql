-- Schema version 2: jobs, idempotency records, notifications, account deletions
-- and the durable local queue. Applied on top of version 1.

ALTER TABLE users ADD COLUMN deleting INTEGER NOT NULL DEFAULT 0;
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

-- job_id is a UUIDv7: ordering by it is ordering by creation time.
CREATE TABLE jobs (
    job_id     TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    input      TEXT NOT NULL,
    status     TEXT NOT NULL,
    result     TEXT,
    error      TEXT,
    attempts   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX jobs_by_user ON jobs (user_id, job_id);

CREATE TABLE idempotency (
    key          TEXT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    response     TEXT,
    locked_until INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE notifications (
    notification_id TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    occurred_at     INTEGER NOT NULL,
    event           TEXT NOT NULL
) STRICT;
CREATE INDEX notifications_by_user ON notifications (user_id, occurred_at);

CREATE TABLE deletions (
    deletion_id TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    status      TEXT NOT NULL,
    code        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    task_token  TEXT
) STRICT;

-- The local server's queues (jobs, events, deletion steps): a message is invisible
-- until visible_at; receiving it again past max receives marks it dead (the DLQ).
CREATE TABLE queue_messages (
    message_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT NOT NULL,
    body          TEXT NOT NULL,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    dead          INTEGER NOT NULL DEFAULT 0,
    sent_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX queue_ready ON queue_messages (queue, dead, visible_at);
