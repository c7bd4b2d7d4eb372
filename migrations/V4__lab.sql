-- Human numbers of lab work orders (WO-000042): one counter per tenant, and the number each
-- work order was given, so that asking again for the same work order returns the same number
-- (the process manager and remakes retry). Numbers never repeat within a tenant; a number
-- assigned to a work order whose creation then failed is skipped, not reused.
CREATE TABLE lab_work_order_counters (
    tenant_id   UUID   PRIMARY KEY,
    last_number BIGINT NOT NULL CHECK (last_number > 0)
);

CREATE TABLE lab_work_order_numbers (
    work_order_id UUID        PRIMARY KEY,
    tenant_id     UUID        NOT NULL,
    number        BIGINT      NOT NULL CHECK (number > 0),
    assigned_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT lab_work_order_numbers_unique UNIQUE (tenant_id, number)
);

-- Listing a tenant's streams of one aggregate type (the lab's stations) reads the event
-- store's first events only.
CREATE INDEX events_streams_by_tenant
    ON events (aggregate_type, tenant_id, aggregate_id)
    WHERE sequence = 1;
