-- Quarantine push history (the timeline at /ui/quarantines/{id}), sqlite
-- dialect. Keep in step with ../postgres/00009_quarantine_pushes.sql and
-- ../../quarantine_history.go.
--
-- One row per quarantine per push outcome on a target, written with the
-- merge into quarantines.enforce_error (RecordTargetEnforcement): that
-- column keeps only the latest state, and sync jobs are pruned, so these
-- rows are the evidence of when each target was changed. Rows are only
-- added.
--
-- The timeline also reads a quarantine's alerts (by quarantine_id) and its
-- audit events (by object, the device's name, and a quarantine.* action):
-- both tables grow with every alert, so both reads get an index.

-- +goose Up
CREATE TABLE quarantine_pushes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    quarantine_id INTEGER NOT NULL REFERENCES quarantines (id),
    target        TEXT NOT NULL,
    at            DATETIME NOT NULL,
    ok            BOOLEAN NOT NULL,
    error         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX quarantine_pushes_quarantine_id_at ON quarantine_pushes (quarantine_id, at);
CREATE INDEX alerts_quarantine_id ON alerts (quarantine_id);
CREATE INDEX audit_events_object_action ON audit_events (object, action);

-- +goose Down
DROP INDEX audit_events_object_action;
DROP INDEX alerts_quarantine_id;
DROP TABLE quarantine_pushes;
