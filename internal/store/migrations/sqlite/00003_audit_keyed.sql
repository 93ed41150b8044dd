-- Keyed audit chain, sqlite dialect. Keep in step with the other dialect
-- and ../../models.go.
--
-- Events written before this migration keep scheme 'sha256' (the unkeyed
-- chain); events Ward writes from now on are HMAC-SHA256 under the audit
-- key, named by key_id. See ../../audit.go. SQLite has no TRUNCATE: a
-- DELETE without WHERE fires the BEFORE DELETE trigger of 00001 (SQLite
-- skips its truncate optimisation on a table with triggers).

-- +goose Up
ALTER TABLE audit_events ADD COLUMN scheme TEXT NOT NULL DEFAULT 'sha256';
ALTER TABLE audit_events ADD COLUMN key_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE audit_events DROP COLUMN key_id;
ALTER TABLE audit_events DROP COLUMN scheme;
