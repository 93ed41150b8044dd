-- At most one open quarantine per device, sqlite dialect. Keep in step with
-- ../postgres/00005_quarantine_open.sql and ../../quarantine.go.
--
-- An open quarantine is active (enforced at its level, perhaps with a
-- stronger level waiting for approval) or pending (nothing enforced yet: an
-- alert the storm guard held, waiting for a person). Whichever process
-- decides, the database refuses a second open quarantine for a device.

-- +goose Up
-- Databases written before this rule may hold several open quarantines for
-- one device (two processes deciding at once). Keep the newest, which is
-- the one Ward acted on last, and release the others with a note, so the
-- index below can be built and no history is lost.
UPDATE quarantines
SET status = 'released',
    released_at = strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'),
    released_by = 'ward (migration 00005)',
    pending_level = '',
    reason = reason || ' [released by migration 00005: the device had more than one open quarantine; the newest, #'
        || (SELECT max(q2.id) FROM quarantines q2 WHERE q2.device_id = quarantines.device_id AND q2.status IN ('active', 'pending'))
        || ', was kept]'
WHERE status IN ('active', 'pending')
  AND id < (SELECT max(q2.id) FROM quarantines q2 WHERE q2.device_id = quarantines.device_id AND q2.status IN ('active', 'pending'));
CREATE UNIQUE INDEX quarantines_one_open ON quarantines (device_id) WHERE status IN ('active', 'pending');
-- The storm guard counts automatic actions by time.
CREATE INDEX alerts_action_received_at ON alerts (action, received_at);

-- +goose Down
DROP INDEX alerts_action_received_at;
DROP INDEX quarantines_one_open;
