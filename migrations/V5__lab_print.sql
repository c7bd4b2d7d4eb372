-- The lab-print spooler: one row per ticket to print (or to keep), rendered once, with the
-- SHA-256 of its bytes checked before every send. A stage change yields at most one ticket per
-- format, whatever the consumer's restarts: the unique key drops a second enqueue.
CREATE TABLE lab_print_jobs (
    print_job_id    UUID        PRIMARY KEY,
    tenant_id       UUID        NOT NULL,
    work_order_id   UUID        NOT NULL,
    work_order_number TEXT      NOT NULL,
    station_id      UUID        NOT NULL,
    -- The `lab.work_order.stage_changed` event the ticket is for.
    stage_change_id UUID        NOT NULL,
    stage           TEXT        NOT NULL,
    format          TEXT        NOT NULL CHECK (format IN ('escpos', 'pdf')),
    -- Where the bytes go: `escpos_tcp` host:port or an IPP URL; NULL for a kept copy.
    protocol        TEXT,
    address         TEXT,
    state           TEXT        NOT NULL CHECK (state IN ('queued', 'printed', 'kept', 'parked')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error      TEXT,
    document        BYTEA       NOT NULL,
    sha256          BYTEA       NOT NULL CHECK (length(sha256) = 32),
    reprints        INTEGER     NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    printed_at      TIMESTAMPTZ,
    CONSTRAINT lab_print_jobs_once UNIQUE (stage_change_id, format),
    CONSTRAINT lab_print_jobs_destination
        CHECK ((state = 'kept') = (protocol IS NULL) AND (protocol IS NULL) = (address IS NULL))
);

CREATE INDEX lab_print_jobs_due ON lab_print_jobs (next_attempt_at) WHERE state = 'queued';
CREATE INDEX lab_print_jobs_by_work_order ON lab_print_jobs (tenant_id, work_order_id, created_at);
