-- Schema version 4: apps' own records (skiff::ports::RecordStore). Applied on top
-- of version 3. Record ids are UUIDv7, so the primary key orders a user's
-- collection by creation.
CREATE TABLE records (
    user_id    TEXT NOT NULL,
    collection TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    document   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, collection, record_id)
) STRICT;
