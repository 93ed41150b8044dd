-- Quarantine lifecycle, sqlite dialect. Keep in step with the other dialect
-- and ../../models.go.

-- +goose Up
ALTER TABLE quarantines ADD COLUMN pending_level TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantines ADD COLUMN enforced_at DATETIME;
ALTER TABLE quarantines ADD COLUMN enforce_error TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantines ADD COLUMN addresses TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantines ADD COLUMN switch_target TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantines ADD COLUMN switch_port TEXT NOT NULL DEFAULT '';
ALTER TABLE quarantines ADD COLUMN home_vlan INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN format TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN decision TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN quarantine_id INTEGER REFERENCES quarantines (id);
CREATE INDEX alerts_received_at ON alerts (received_at);
CREATE INDEX quarantines_device ON quarantines (device_id, status);

-- +goose Down
DROP INDEX quarantines_device;
DROP INDEX alerts_received_at;
ALTER TABLE alerts DROP COLUMN quarantine_id;
ALTER TABLE alerts DROP COLUMN decision;
ALTER TABLE alerts DROP COLUMN format;
ALTER TABLE quarantines DROP COLUMN home_vlan;
ALTER TABLE quarantines DROP COLUMN switch_port;
ALTER TABLE quarantines DROP COLUMN switch_target;
ALTER TABLE quarantines DROP COLUMN addresses;
ALTER TABLE quarantines DROP COLUMN enforce_error;
ALTER TABLE quarantines DROP COLUMN enforced_at;
ALTER TABLE quarantines DROP COLUMN pending_level;
