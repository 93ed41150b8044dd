-- Ward's schema, SQLite dialect. Keep in step with ../postgres/00001_init.sql
-- and the gorm models in ../../models.go (TestSchemaMatchesModels checks).

-- +goose Up
CREATE TABLE devices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,          -- lower(name): names are unique regardless of case
    mac         TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL,
    class       TEXT NOT NULL DEFAULT '',
    vendor      TEXT NOT NULL DEFAULT '',
    model       TEXT NOT NULL DEFAULT '',
    firmware    TEXT NOT NULL DEFAULT '',
    criticality TEXT NOT NULL,
    site        TEXT NOT NULL DEFAULT '',
    location    TEXT NOT NULL DEFAULT '',
    switch      TEXT NOT NULL DEFAULT '',
    port        TEXT NOT NULL DEFAULT '',
    labels      TEXT NOT NULL DEFAULT '{}',
    source      TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    removed_at  DATETIME
);
CREATE UNIQUE INDEX devices_active_ip ON devices (ip) WHERE removed_at IS NULL;
CREATE UNIQUE INDEX devices_active_mac ON devices (mac) WHERE removed_at IS NULL AND mac <> '';
CREATE INDEX devices_class ON devices (class);

CREATE TABLE policy_revisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    hash       TEXT NOT NULL UNIQUE,
    git_commit TEXT NOT NULL DEFAULT '',
    dir        TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);

CREATE TABLE plans (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_revision_id INTEGER REFERENCES policy_revisions (id),
    inventory_hash     TEXT NOT NULL DEFAULT '',
    content            TEXT NOT NULL,
    created_by         TEXT NOT NULL DEFAULT '',
    created_at         DATETIME NOT NULL
);

CREATE TABLE apply_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    plan_id     INTEGER NOT NULL REFERENCES plans (id),
    status      TEXT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT '',
    started_at  DATETIME NOT NULL,
    finished_at DATETIME
);

CREATE TABLE target_states (
    target       TEXT PRIMARY KEY,
    content      TEXT NOT NULL,
    hash         TEXT NOT NULL,
    apply_run_id INTEGER REFERENCES apply_runs (id),
    applied_at   DATETIME NOT NULL
);

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    severity    TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    mac         TEXT NOT NULL DEFAULT '',
    signature   TEXT NOT NULL DEFAULT '',
    device_id   INTEGER REFERENCES devices (id),
    action      TEXT NOT NULL DEFAULT '',
    raw         TEXT NOT NULL DEFAULT '',
    received_at DATETIME NOT NULL,
    UNIQUE (source, external_id)
);

CREATE TABLE quarantines (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id   INTEGER NOT NULL REFERENCES devices (id),
    level       TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    alert_id    INTEGER REFERENCES alerts (id),
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME,
    released_at DATETIME,
    released_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX quarantines_status ON quarantines (status);

CREATE TABLE approvals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    quarantine_id INTEGER NOT NULL REFERENCES quarantines (id),
    actor         TEXT NOT NULL,
    decision      TEXT NOT NULL,
    comment       TEXT NOT NULL DEFAULT '',
    created_at    DATETIME NOT NULL
);

CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    seq       INTEGER NOT NULL UNIQUE,
    at        DATETIME NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
-- The audit log is append-only. The hash chain detects deliberate
-- tampering; these triggers stop accidental edits.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   DATETIME NOT NULL,
    expires_at   DATETIME,
    revoked_at   DATETIME,
    last_used_at DATETIME
);

CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    payload    TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    run_at     DATETIME NOT NULL,
    locked_by  TEXT NOT NULL DEFAULT '',
    locked_at  DATETIME,
    last_error TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (status, run_at);

-- +goose Down
DROP TABLE jobs;
DROP TABLE api_tokens;
DROP TABLE audit_events;
DROP TABLE approvals;
DROP TABLE quarantines;
DROP TABLE alerts;
DROP TABLE target_states;
DROP TABLE apply_runs;
DROP TABLE plans;
DROP TABLE policy_revisions;
DROP TABLE devices;
