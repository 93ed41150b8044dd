-- Sign-in sessions of the web UI (/ui), postgres dialect. Keep in step with
-- ../sqlite/00006_ui_sessions.sql and ../../sessions.go.
--
-- Only a hash of a session's secret is stored (the secret is the cookie's
-- value); a session ends on logout, after its idle or absolute timeout, or
-- when its API token is revoked or expires.

-- +goose Up
CREATE TABLE ui_sessions (
    id           BIGSERIAL PRIMARY KEY,
    id_hash      TEXT NOT NULL UNIQUE,
    token_name   TEXT NOT NULL,
    role         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    end_reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ui_sessions_token_name ON ui_sessions (token_name);

-- +goose Down
DROP TABLE ui_sessions;
