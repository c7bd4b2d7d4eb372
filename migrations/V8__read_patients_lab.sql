-- Read models of patients (projection `patients`) and of the lab (projection `lab`), and an
-- index for the paginated listing of the lab-print spool.

-- ---- patients ----

CREATE TABLE read_patients_versions (
    aggregate_type TEXT   NOT NULL,
    aggregate_id   TEXT   NOT NULL,
    version        BIGINT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- One row per patient. The personal columns are NULL once the patient is erased.
CREATE TABLE read_patients (
    tenant_id       UUID        NOT NULL,
    patient_id      UUID        NOT NULL PRIMARY KEY,
    given_name      TEXT,
    family_name     TEXT,
    display_name    TEXT,
    date_of_birth   DATE,
    email           TEXT,
    phone           TEXT,
    erased          BOOLEAN     NOT NULL DEFAULT false,
    -- Prescriptions recorded and not voided, and the latest expiry among them.
    prescriptions_count INTEGER NOT NULL DEFAULT 0,
    latest_prescription_expires_on DATE,
    registered_at   TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    -- The sort key of the patient list: the family name, case-insensitive.
    family_key      TEXT GENERATED ALWAYS AS (lower(coalesce(family_name, ''))) STORED,
    CONSTRAINT read_patients_erased_wiped CHECK (
        NOT erased OR (given_name IS NULL AND family_name IS NULL AND display_name IS NULL
                       AND date_of_birth IS NULL AND email IS NULL AND phone IS NULL))
);
CREATE INDEX read_patients_by_family ON read_patients (tenant_id, family_key, patient_id);

-- The patients' prescriptions (their own stream: applied before or after the patient).
CREATE TABLE read_patients_prescriptions (
    tenant_id       UUID        NOT NULL,
    prescription_id UUID        NOT NULL PRIMARY KEY,
    patient_id      UUID        NOT NULL,
    issued_on       DATE        NOT NULL,
    expires_on      DATE        NOT NULL,
    voided          BOOLEAN     NOT NULL DEFAULT false,
    recorded_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX read_patients_prescriptions_by_patient ON read_patients_prescriptions (patient_id);

-- ---- lab ----

CREATE TABLE read_lab_versions (
    aggregate_type TEXT   NOT NULL,
    aggregate_id   TEXT   NOT NULL,
    version        BIGINT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

CREATE TABLE read_lab_work_orders (
    tenant_id        UUID        NOT NULL,
    work_order_id    UUID        NOT NULL PRIMARY KEY,
    number           TEXT        NOT NULL,
    order_id         UUID,
    patient_id       UUID        NOT NULL,
    -- Personal: NULL once the patient is erased.
    patient_initials TEXT,
    patient_erased   BOOLEAN     NOT NULL DEFAULT false,
    stage            TEXT        NOT NULL,
    station_id       UUID,
    held             BOOLEAN     NOT NULL DEFAULT false,
    held_from        TEXT,
    due_on           DATE,
    -- When the current stage was entered.
    stage_since      TIMESTAMPTZ NOT NULL,
    remake_of        UUID,
    remade_as        UUID,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT read_lab_work_orders_erased_wiped CHECK (NOT patient_erased OR patient_initials IS NULL)
);
-- The queue: per station and stage, the oldest waiting first.
CREATE INDEX read_lab_work_orders_queue
    ON read_lab_work_orders (tenant_id, stage, station_id, stage_since, work_order_id);
CREATE INDEX read_lab_work_orders_waiting
    ON read_lab_work_orders (tenant_id, stage_since, work_order_id);
CREATE INDEX read_lab_work_orders_by_patient ON read_lab_work_orders (patient_id);

CREATE TABLE read_lab_stage_history (
    tenant_id     UUID        NOT NULL,
    work_order_id UUID        NOT NULL,
    seq           INTEGER     NOT NULL,
    from_stage    TEXT,
    to_stage      TEXT        NOT NULL,
    station_id    UUID,
    actor         TEXT        NOT NULL,
    reason        TEXT,
    at            TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (work_order_id, seq)
);

-- Patients the lab projection saw erased, so a job applied after the erasure shows no initials.
CREATE TABLE read_lab_erased_patients (
    tenant_id  UUID        NOT NULL,
    patient_id UUID        NOT NULL PRIMARY KEY,
    erased_at  TIMESTAMPTZ NOT NULL
);

-- ---- lab-print spool listing (newest first, per tenant) ----

CREATE INDEX lab_print_jobs_by_tenant
    ON lab_print_jobs (tenant_id, created_at DESC, print_job_id DESC);
