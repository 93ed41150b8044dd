-- Fencing tokens of targets (internal/jobs.Owner, drivers.WithFence), sqlite
-- dialect. Keep in step with ../postgres/00011_target_fences.sql and
-- ../../fence.go.
--
-- target_fences: the last fencing token handed out for a target. Each
-- acquisition of a target takes token + 1 while it holds the target's lock
-- (PostgreSQL: on the session holding the advisory lock; SQLite: in the
-- lease's transaction), so a token is strictly greater than every token
-- handed out before it for that target. Drivers write it on the device and
-- refuse a push whose token is lower than the one the device has seen. A
-- row is never deleted: a token must never be handed out twice.

-- +goose Up
CREATE TABLE target_fences (
    target TEXT PRIMARY KEY,
    token  BIGINT NOT NULL CHECK (token > 0)
);

-- +goose Down
DROP TABLE target_fences;
