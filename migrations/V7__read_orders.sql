-- The orders read model (projection `orders`): one row per order for the back office's
-- list. No personal data: the patient is named by id only, never by the snapshot the order
-- carries.
CREATE TABLE read_orders_versions (
    aggregate_type TEXT   NOT NULL,
    aggregate_id   TEXT   NOT NULL,
    version        BIGINT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

CREATE TABLE read_orders (
    tenant_id      UUID        NOT NULL,
    order_id       UUID        NOT NULL PRIMARY KEY,
    store_id       UUID        NOT NULL,
    status         TEXT        NOT NULL,
    patient_id     UUID,
    placed_at      TIMESTAMPTZ NOT NULL,
    total_minor    BIGINT      NOT NULL,
    currency       TEXT        NOT NULL,
    line_count     INT         NOT NULL,
    payment_method TEXT        NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
-- Keyset pagination by placement time (either direction), with and without filters.
CREATE INDEX read_orders_by_placed ON read_orders (tenant_id, placed_at, order_id);
CREATE INDEX read_orders_by_status ON read_orders (tenant_id, status, placed_at, order_id);
CREATE INDEX read_orders_by_patient ON read_orders (tenant_id, patient_id, placed_at, order_id)
    WHERE patient_id IS NOT NULL;
