-- Ward's schema, PostgreSQL dialect. Keep in step with ../sqlite/00001_init.sql
-- and the gorm models in ../../models.go (TestSchemaMatchesModels checks).

-- +goose Up
CREATE TABLE devices (
    id          BIGSERIAL PRIMARY KEY,
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
    labels      JSONB NOT NULL DEFAULT '{}',
    source      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    removed_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX devices_active_ip ON devices (ip) WHERE removed_at IS NULL;
CREATE UNIQUE INDEX devices_active_mac ON devices (mac) WHERE removed_at IS NULL AND mac <> '';
CREATE INDEX devices_class ON devices (class);

CREATE TABLE policy_revisions (
    id         BIGSERIAL PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    git_commit TEXT NOT NULL DEFAULT '',
    dir        TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE plans (
    id                 BIGSERIAL PRIMARY KEY,
    policy_revision_id BIGINT REFERENCES policy_revisions (id),
    inventory_hash     TEXT NOT NULL DEFAULT '',
    content            TEXT NOT NULL,
    created_by         TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE apply_runs (
    id          BIGSERIAL PRIMARY KEY,
    plan_id     BIGINT NOT NULL REFERENCES plans (id),
    status      TEXT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL DEFAULT '',
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);

CREATE TABLE target_states (
    target       TEXT PRIMARY KEY,
    content      TEXT NOT NULL,
    hash         TEXT NOT NULL,
    apply_run_id BIGINT REFERENCES apply_runs (id),
    applied_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE alerts (
    id          BIGSERIAL PRIMARY KEY,
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    severity    TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    mac         TEXT NOT NULL DEFAULT '',
    signature   TEXT NOT NULL DEFAULT '',
    device_id   BIGINT REFERENCES devices (id),
    action      TEXT NOT NULL DEFAULT '',
    raw         TEXT NOT NULL DEFAULT '',
    received_at TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_id)
);

CREATE TABLE quarantines (
    id          BIGSERIAL PRIMARY KEY,
    device_id   BIGINT NOT NULL REFERENCES devices (id),
    level       TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    alert_id    BIGINT REFERENCES alerts (id),
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    released_at TIMESTAMPTZ,
    released_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX quarantines_status ON quarantines (status);

CREATE TABLE approvals (
    id            BIGSERIAL PRIMARY KEY,
    quarantine_id BIGINT NOT NULL REFERENCES quarantines (id),
    actor         TEXT NOT NULL,
    decision      TEXT NOT NULL,
    comment       TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE audit_events (
    id        BIGSERIAL PRIMARY KEY,
    seq       BIGINT NOT NULL UNIQUE,
    at        TIMESTAMPTZ NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
-- The audit log is append-only. The hash chain detects deliberate
-- tampering; these triggers stop accidental edits.
-- +goose StatementBegin
CREATE FUNCTION ward_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION ward_audit_append_only();

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ
);

CREATE TABLE jobs (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL DEFAULT '',
    payload    TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    run_at     TIMESTAMPTZ NOT NULL,
    locked_by  TEXT NOT NULL DEFAULT '',
    locked_at  TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (status, run_at);

-- +goose Down
DROP TABLE jobs;
DROP TABLE api_tokens;
DROP TABLE audit_events;
DROP FUNCTION ward_audit_append_only();
DROP TABLE approvals;
DROP TABLE quarantines;
DROP TABLE alerts;
DROP TABLE target_states;
DROP TABLE apply_runs;
DROP TABLE plans;
DROP TABLE policy_revisions;
DROP TABLE devices;
