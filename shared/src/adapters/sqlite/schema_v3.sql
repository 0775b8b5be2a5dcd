-- Schema version 3: client-aware login throttles, hashed deletion codes with a
-- count of wrong attempts, and at most one deletion awaiting confirmation per user.
-- Applied on top of version 2.

-- Counters keyed by a digest of (scope, login, client); state is the JSON of
-- skiff::domain::ThrottleState. The old per-login lockouts are dropped: the worst
-- a restart can forget is 15 minutes of failure counts.
DROP TABLE login_lockouts;
CREATE TABLE login_throttles (
    throttle_key TEXT PRIMARY KEY,
    state        TEXT NOT NULL,
    forget_after INTEGER NOT NULL
) STRICT;
CREATE INDEX login_throttles_by_age ON login_throttles (forget_after);

-- `code` now holds the code's hash. Codes of version 2 were stored in the clear and
-- cannot be hashed here: requests still awaiting confirmation are expired (the
-- owner asks again), so no clear code is ever compared.
UPDATE deletions SET status = 'expired' WHERE status = 'awaiting_confirmation';
UPDATE deletions SET code = '' WHERE status IN ('expired', 'completed');
ALTER TABLE deletions ADD COLUMN wrong_codes INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX one_pending_deletion_per_user ON deletions (user_id)
    WHERE status = 'awaiting_confirmation';
