-- Recertification campaigns (ward recert, /ui/recert), postgres dialect. Keep in
-- step with ../sqlite/00007_recert.sql and ../../recert.go.
--
-- A campaign asks the owners of the flows in force (under the policy whose
-- hash it records) to re-approve each flow or let it expire. One item per
-- flow; an item is decided once: the update is conditional on it being
-- pending, so a second decision is refused rather than overwriting the first.

-- +goose Up
CREATE TABLE recert_campaigns (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    policy_hash TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_by   TEXT NOT NULL DEFAULT '',
    closed_at   TIMESTAMPTZ
);
CREATE INDEX recert_campaigns_created_at ON recert_campaigns (created_at);

CREATE TABLE recert_items (
    id          BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES recert_campaigns (id),
    flow        TEXT NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    decision    TEXT NOT NULL DEFAULT 'pending' CHECK (decision IN ('pending', 'recertify', 'expire')),
    decided_by  TEXT NOT NULL DEFAULT '',
    decided_at  TIMESTAMPTZ,
    comment     TEXT NOT NULL DEFAULT '',
    UNIQUE (campaign_id, flow)
);

-- +goose Down
DROP TABLE recert_items;
DROP TABLE recert_campaigns;
