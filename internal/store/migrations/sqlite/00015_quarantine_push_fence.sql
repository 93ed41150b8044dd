-- The fencing token a quarantine push carried (drivers.FenceOf, handed out
-- by internal/jobs.Owner for the target), sqlite dialect. Keep in step with
-- ../postgres/00015_quarantine_push_fence.sql and ../../quarantine_history.go.
--
-- With several replicas, the push history must say which hold of the
-- target changed it: a push from a replica that lost the target carries an
-- older token than the next holder's, as apply events record theirs. 0: no
-- token (a push recorded before this migration, or one made outside an
-- owner).

-- +goose Up
ALTER TABLE quarantine_pushes ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE quarantine_pushes DROP COLUMN fence;
