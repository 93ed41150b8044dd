-- Durable per-target jobs and target owners, sqlite dialect. Keep in step
-- with ../postgres/00004_jobs.sql and ../../models.go.

-- +goose Up
-- At most one queued job per key: enqueueing work that is already waiting
-- is a no-op. A running job does not count, since it may have read the
-- state before the change that enqueues the new one.
ALTER TABLE jobs ADD COLUMN "key" TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN finished_at DATETIME;
CREATE UNIQUE INDEX jobs_queued_key ON jobs ("key") WHERE status = 'queued' AND "key" <> '';
CREATE INDEX jobs_target ON jobs (target, status, id);

-- The lease on a target that serialises device I/O across processes
-- sharing this SQLite file (internal/jobs.Owner). On PostgreSQL the same
-- table only names the holder of the advisory lock.
CREATE TABLE target_owners (
    target     TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    purpose    TEXT NOT NULL DEFAULT '',
    machine    TEXT NOT NULL DEFAULT '',  -- where pid means something: host, boot and pid namespace
    pid        INTEGER NOT NULL DEFAULT 0,
    token      TEXT NOT NULL,             -- random per acquisition: only its taker renews or releases
    renewals   BIGINT NOT NULL DEFAULT 0,
    since      DATETIME NOT NULL,
    expires_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE target_owners;
DROP INDEX jobs_target;
DROP INDEX jobs_queued_key;
ALTER TABLE jobs DROP COLUMN finished_at;
ALTER TABLE jobs DROP COLUMN "key";
