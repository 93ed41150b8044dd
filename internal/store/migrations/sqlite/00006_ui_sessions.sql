-- Sign-in sessions of the web UI (/ui), sqlite dialect. Keep in step with
-- ../postgres/00006_ui_sessions.sql and ../../sessions.go.
--
-- Only a hash of a session's secret is stored (the secret is the cookie's
-- value); a session ends on logout, after its idle or absolute timeout, or
-- when its API token is revoked or expires.

-- +goose Up
CREATE TABLE ui_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    id_hash      TEXT NOT NULL UNIQUE,
    token_name   TEXT NOT NULL,
    role         TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL,
    ended_at     DATETIME,
    end_reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ui_sessions_token_name ON ui_sessions (token_name);

-- +goose Down
DROP TABLE ui_sessions;
