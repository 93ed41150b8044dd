-- Replicas and the scheduler's leadership (internal/cluster), sqlite
-- dialect. Keep in step with ../postgres/00010_cluster.sql and
-- ../../cluster.go.
--
-- cluster_replicas: one row per ward serve process that shares this
-- database, renewed while it runs (renewals counts the renewals, so that
-- an observer judges a replica alive by seeing the counter move on its
-- own clock, never by comparing its clock with the replica's).
--
-- cluster_leader: one row per kind of leadership ("scheduler": expiry,
-- reconcile, scheduled drift checks). epoch grows by one at each change of
-- holder and is the fencing token of the leader's work; holder '' means
-- nobody leads (the last leader resigned).

-- +goose Up
CREATE TABLE cluster_replicas (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL DEFAULT '',
    pid        INTEGER NOT NULL DEFAULT 0,
    address    TEXT NOT NULL DEFAULT '',
    version    TEXT NOT NULL DEFAULT '',
    started_at DATETIME NOT NULL,
    seen_at    DATETIME NOT NULL,
    renewals   BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE cluster_leader (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL DEFAULT '',
    epoch      BIGINT NOT NULL CHECK (epoch > 0),
    renewals   BIGINT NOT NULL DEFAULT 0,
    since      DATETIME NOT NULL,
    renewed_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE cluster_leader;
DROP TABLE cluster_replicas;
