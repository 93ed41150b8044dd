-- A replica's machine (host, boot and pid namespace: internal/jobs
-- MachineID), so that a replica restarting on the same machine can tell
-- that the leader it finds is its own dead predecessor (its pid no longer
-- runs) and lead at once, instead of waiting a whole lease.

-- +goose Up
ALTER TABLE cluster_replicas ADD COLUMN machine TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE cluster_replicas DROP COLUMN machine;
