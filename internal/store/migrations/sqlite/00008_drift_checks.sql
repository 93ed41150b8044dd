-- Drift checks (ward drift, GET /api/v1/targets/{name}/drift), sqlite
-- dialect. Keep in step with ../postgres/00008_drift_checks.sql and
-- ../../drift.go.
--
-- One row per target per check: what the device ran (the SHA-256 of the
-- running configuration as read) against what Ward last applied (the
-- applied state's hash). Rows are only added; the latest per target is the
-- target's drift status in reports and the UI.

-- +goose Up
CREATE TABLE drift_checks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    target       TEXT NOT NULL,
    checked_at   DATETIME NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('in_sync', 'drift', 'error', 'never_applied', 'render_only')),
    running_hash TEXT NOT NULL DEFAULT '',
    applied_hash TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    actor        TEXT NOT NULL
);
CREATE INDEX drift_checks_target_checked_at ON drift_checks (target, checked_at);

-- +goose Down
DROP TABLE drift_checks;
