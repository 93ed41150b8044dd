-- Keyed audit chain, postgres dialect. Keep in step with the other dialect
-- and ../../models.go.
--
-- Events written before this migration keep scheme 'sha256' (the unkeyed
-- chain); events Ward writes from now on are HMAC-SHA256 under the audit
-- key, named by key_id. See ../../audit.go.

-- +goose Up
ALTER TABLE audit_events ADD COLUMN scheme TEXT NOT NULL DEFAULT 'sha256';
ALTER TABLE audit_events ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
-- The row trigger of 00001 refuses UPDATE and DELETE; TRUNCATE fires no
-- row trigger, so it needs its own, at statement level.
-- +goose StatementBegin
CREATE FUNCTION ward_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: TRUNCATE refused';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION ward_audit_no_truncate();

-- +goose Down
DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP FUNCTION ward_audit_no_truncate();
ALTER TABLE audit_events DROP COLUMN key_id;
ALTER TABLE audit_events DROP COLUMN scheme;
