-- An apply as durable jobs (internal/plan, store/applies.go), postgres dialect.
-- Keep in step with ../sqlite/00014_apply_targets.sql and ../../applies.go.
--
-- apply_targets: one row per changed target of an apply run, written with
-- the run and its push jobs in one transaction: the target's part of the
-- plan (plan, JSON), then how its push went. A row is settled once
-- (status leaves 'pending' by compare-and-set), whichever worker settles
-- it; the worker that settles a run's last row finishes the run, under a
-- lock on the run's row, so a run is finished exactly once.
-- apply_runs.detail: what the apply.finish audit event says besides the
-- results (policy and inventory hashes, plan, approval), written at the
-- start so that any worker can finish the run.

-- +goose Up
ALTER TABLE apply_runs ADD COLUMN detail TEXT NOT NULL DEFAULT '';
CREATE TABLE apply_targets (
    run_id      BIGINT NOT NULL REFERENCES apply_runs (id),
    target      TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    error       TEXT NOT NULL DEFAULT '',
    duration_ns BIGINT NOT NULL DEFAULT 0,
    plan        TEXT NOT NULL DEFAULT '',
    seq         INTEGER NOT NULL DEFAULT 0,
    settled_at  TIMESTAMPTZ,
    PRIMARY KEY (run_id, target)
);
CREATE INDEX apply_targets_target ON apply_targets (target, run_id);

-- +goose Down
DROP TABLE apply_targets;
ALTER TABLE apply_runs DROP COLUMN detail;
