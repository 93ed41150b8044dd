-- The database's identity (Store.DatabaseID, drivers.WithFenceDomain), sqlite
-- dialect. Keep in step with ../postgres/00012_ward_identity.sql and
-- ../../identity.go.
--
-- ward_identity: one row, a random id (32 lowercase hex digits) made when
-- this migration runs, so once per database. Fencing tokens
-- (target_fences) are counted per database; devices keep this id beside
-- the highest token they have seen, so that a new database (a reinstall)
-- is told from a stale holder of this one. It is data: a backup restored
-- keeps it, and its tokens, gone back, are refused as they must be. The
-- CHECK on one keeps it a single row; it is never updated.

-- +goose Up
CREATE TABLE ward_identity (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    id  TEXT NOT NULL CHECK (length(id) = 32)
);
INSERT INTO ward_identity (one, id) VALUES (1, lower(hex(randomblob(16))));

-- +goose Down
DROP TABLE ward_identity;
