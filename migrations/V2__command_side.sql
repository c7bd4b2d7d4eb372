-- Idempotency records of the command API. A record is written in the same transaction as
-- the events its request appended (after them: the events insert must be the first write
-- that assigns the transaction's xid, see docs/architecture.md), so a replayed request
-- either finds the record or finds no events.
CREATE TABLE api_idempotency_keys (
    tenant_id       UUID        NOT NULL,
    idempotency_key TEXT        NOT NULL,
    -- SHA-256 of method, path and body: the same key with another request is refused.
    request_hash    BYTEA       NOT NULL,
    response_status SMALLINT    NOT NULL,
    response_body   JSONB       NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, idempotency_key)
);

CREATE INDEX api_idempotency_keys_created_at ON api_idempotency_keys (created_at);

-- Reservation requests wait here in arrival order and are decided in small batches per
-- stock level, so a flash sale on one SKU is one queue among many instead of a storm of
-- conflicting appends. A request is answered in the transaction that appends its events.
CREATE TABLE inventory_reservation_requests (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       UUID        NOT NULL,
    stock_level_id  TEXT        NOT NULL,
    command         JSONB       NOT NULL,
    metadata        JSONB       NOT NULL,
    idempotency_key TEXT,
    request_hash    BYTEA,
    requested_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    answered_at     TIMESTAMPTZ,
    response_status SMALLINT,
    response_body   JSONB,
    CHECK ((answered_at IS NULL) = (response_status IS NULL))
);

CREATE INDEX inventory_reservation_requests_pending
    ON inventory_reservation_requests (stock_level_id, id) WHERE answered_at IS NULL;

-- When each active reservation runs out. Rows are inserted and deleted in the transaction
-- that appends the reservation's events, so the expiry worker finds exactly the live ones.
CREATE TABLE inventory_reservation_deadlines (
    reservation_id  UUID        PRIMARY KEY,
    tenant_id       UUID        NOT NULL,
    stock_level_id  TEXT        NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX inventory_reservation_deadlines_due ON inventory_reservation_deadlines (expires_at);
