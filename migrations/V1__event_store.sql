-- The event log. It is also the outbox: the relay reads it in (txid, id) order, so an
-- append is one INSERT and there is no second table to keep in step (ADR 0001).
CREATE TABLE events (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction, stamped by the database itself; see the relay's visibility rule.
    txid           XID8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id       UUID        NOT NULL UNIQUE,
    tenant_id      UUID        NOT NULL,
    aggregate_type TEXT        NOT NULL,
    aggregate_id   TEXT        NOT NULL,
    sequence       BIGINT      NOT NULL CHECK (sequence > 0),
    event_type     TEXT        NOT NULL,
    event_version  TEXT        NOT NULL,
    payload        JSONB       NOT NULL,
    metadata       JSONB       NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Optimistic concurrency: two writers deciding on the same version collide here.
    CONSTRAINT events_stream_sequence UNIQUE (aggregate_type, aggregate_id, sequence)
);

CREATE INDEX events_relay_order ON events (txid, id);

CREATE TABLE snapshots (
    aggregate_type TEXT        NOT NULL,
    aggregate_id   TEXT        NOT NULL,
    last_sequence  BIGINT      NOT NULL,
    snapshot_version BIGINT    NOT NULL,
    payload        JSONB       NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- How far each relay (by name) has published; advanced only after the broker acknowledged.
CREATE TABLE relay_checkpoints (
    relay_name TEXT        PRIMARY KEY,
    last_txid  XID8        NOT NULL,
    last_id    BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
