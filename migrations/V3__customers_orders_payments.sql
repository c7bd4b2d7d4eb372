-- Per-patient data keys (crypto-shredding, design §4). Personal data inside events is sealed
-- with the patient's key; the key is stored here wrapped by a master key from configuration,
-- never in the event log. Erasure sets `wrapped_key` to NULL in the transaction that appends
-- `customers.patient.erased`: the row stays as a tombstone so a read can tell "erased" from
-- "missing".
CREATE TABLE customers_data_keys (
    tenant_id     UUID        NOT NULL,
    patient_id    UUID        NOT NULL,
    wrapped_key   BYTEA,
    master_key_id TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    erased_at     TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, patient_id),
    CONSTRAINT customers_data_keys_erased_xor_key
        CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL)
               AND (wrapped_key IS NULL) = (master_key_id IS NULL))
);

-- Every read of patient data through the API: who, when, which patient, which endpoint.
-- Append-only; written before the data is returned, so an unaudited read cannot happen.
CREATE TABLE customers_access_audit (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   UUID        NOT NULL,
    patient_id  UUID        NOT NULL,
    actor       TEXT        NOT NULL,
    endpoint    TEXT        NOT NULL,
    request_id  TEXT,
    accessed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX customers_access_audit_patient
    ON customers_access_audit (tenant_id, patient_id, accessed_at);

-- Offsets of consumers that keep their own position (the order saga): the next offset to
-- read per topic partition, written after the message's effects are durable.
CREATE TABLE consumer_offsets (
    consumer    TEXT        NOT NULL,
    topic       TEXT        NOT NULL,
    partition   INTEGER     NOT NULL,
    next_offset BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
