//! The lab-print spooler's table: tickets waiting for their printer, printed, kept or parked.
//!
//! Claiming a due job moves its next attempt forward by a lease, under `FOR UPDATE SKIP
//! LOCKED`, so that two delivery workers never send the same job at once and a worker that
//! dies mid-send leaves the job to be tried again after the lease. What the bytes are and how
//! they are sent is the caller's.
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use optical_kernel::TenantId;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
#[error("print spool: {0}")]
pub struct SpoolError(String);

impl From<tokio_postgres::Error> for SpoolError {
    fn from(error: tokio_postgres::Error) -> Self {
        SpoolError(error.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for SpoolError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        SpoolError(error.to_string())
    }
}

/// Where a rendered ticket goes: to a printer, or kept for download only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Printer { protocol: String, address: String },
    Kept,
}

/// A ticket to spool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPrintJob {
    pub print_job_id: Uuid,
    pub tenant_id: TenantId,
    pub work_order_id: Uuid,
    pub work_order_number: String,
    pub station_id: Uuid,
    pub stage_change_id: Uuid,
    pub stage: String,
    pub format: String,
    pub destination: Destination,
    pub document: Vec<u8>,
    pub sha256: [u8; 32],
}

/// A spooled ticket as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintJob {
    pub print_job_id: Uuid,
    pub tenant_id: TenantId,
    pub work_order_id: Uuid,
    pub work_order_number: String,
    pub station_id: Uuid,
    pub stage_change_id: Uuid,
    pub stage: String,
    pub format: String,
    pub protocol: Option<String>,
    pub address: Option<String>,
    /// `queued`, `printed`, `kept` or `parked`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub document: Vec<u8>,
    pub sha256: Vec<u8>,
    pub reprints: i32,
    pub created_at: DateTime<Utc>,
    pub printed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "print_job_id, tenant_id, work_order_id, work_order_number, station_id,
    stage_change_id, stage, format, protocol, address, state, attempts, next_attempt_at,
    last_error, document, sha256, reprints, created_at, printed_at";

fn job(row: &tokio_postgres::Row) -> PrintJob {
    PrintJob {
        print_job_id: row.get(0),
        tenant_id: TenantId::from_uuid(row.get(1)),
        work_order_id: row.get(2),
        work_order_number: row.get(3),
        station_id: row.get(4),
        stage_change_id: row.get(5),
        stage: row.get(6),
        format: row.get(7),
        protocol: row.get(8),
        address: row.get(9),
        state: row.get(10),
        attempts: row.get(11),
        next_attempt_at: row.get(12),
        last_error: row.get(13),
        document: row.get(14),
        sha256: row.get(15),
        reprints: row.get(16),
        created_at: row.get(17),
        printed_at: row.get(18),
    }
}

/// A spooled ticket without its document, as the spool's listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintJobSummary {
    pub print_job_id: Uuid,
    pub tenant_id: TenantId,
    pub work_order_id: Uuid,
    pub work_order_number: String,
    pub station_id: Uuid,
    pub stage_change_id: Uuid,
    pub stage: String,
    pub format: String,
    pub protocol: Option<String>,
    pub address: Option<String>,
    /// `queued`, `printed`, `kept` or `parked`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sha256: Vec<u8>,
    /// The document's length.
    pub size_bytes: i64,
    pub reprints: i32,
    pub created_at: DateTime<Utc>,
    pub printed_at: Option<DateTime<Utc>>,
}

const SUMMARY_COLUMNS: &str = "print_job_id, tenant_id, work_order_id, work_order_number,
    station_id, stage_change_id, stage, format, protocol, address, state, attempts,
    next_attempt_at, last_error, sha256, octet_length(document)::bigint AS size_bytes, reprints,
    created_at, printed_at";

fn summary(row: &tokio_postgres::Row) -> Result<PrintJobSummary, tokio_postgres::Error> {
    Ok(PrintJobSummary {
        print_job_id: row.try_get("print_job_id")?,
        tenant_id: TenantId::from_uuid(row.try_get("tenant_id")?),
        work_order_id: row.try_get("work_order_id")?,
        work_order_number: row.try_get("work_order_number")?,
        station_id: row.try_get("station_id")?,
        stage_change_id: row.try_get("stage_change_id")?,
        stage: row.try_get("stage")?,
        format: row.try_get("format")?,
        protocol: row.try_get("protocol")?,
        address: row.try_get("address")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        sha256: row.try_get("sha256")?,
        size_bytes: row.try_get("size_bytes")?,
        reprints: row.try_get("reprints")?,
        created_at: row.try_get("created_at")?,
        printed_at: row.try_get("printed_at")?,
    })
}

#[derive(Clone)]
pub struct PrintSpool {
    pool: Pool,
}

impl PrintSpool {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// Spools a ticket; `false` when this stage change already has a ticket in this format
    /// (a redelivered event), which is then left as it is.
    pub async fn enqueue(&self, new: &NewPrintJob) -> Result<bool, SpoolError> {
        let client = self.pool.get().await?;
        let (protocol, address, state) = match &new.destination {
            Destination::Printer { protocol, address } => {
                (Some(protocol.as_str()), Some(address.as_str()), "queued")
            }
            Destination::Kept => (None, None, "kept"),
        };
        let inserted = client
            .execute(
                "INSERT INTO lab_print_jobs (print_job_id, tenant_id, work_order_id,
                     work_order_number, station_id, stage_change_id, stage, format, protocol,
                     address, state, document, sha256)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (stage_change_id, format) DO NOTHING",
                &[
                    &new.print_job_id,
                    new.tenant_id.as_uuid(),
                    &new.work_order_id,
                    &new.work_order_number,
                    &new.station_id,
                    &new.stage_change_id,
                    &new.stage,
                    &new.format,
                    &protocol,
                    &address,
                    &state,
                    &new.document,
                    &new.sha256.as_slice(),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// Up to `limit` queued jobs whose next attempt is due, each hidden from other workers for
    /// `lease` (the longest a delivery may take).
    pub async fn claim_due(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<PrintJob>, SpoolError> {
        let client = self.pool.get().await?;
        let lease_secs = lease.as_secs_f64();
        let rows = client
            .query(
                &format!(
                    "UPDATE lab_print_jobs SET next_attempt_at = now() + make_interval(secs => $2)
                      WHERE print_job_id IN (
                            SELECT print_job_id FROM lab_print_jobs
                             WHERE state = 'queued' AND next_attempt_at <= now()
                             ORDER BY next_attempt_at, created_at
                             LIMIT $1 FOR UPDATE SKIP LOCKED)
                  RETURNING {COLUMNS}"
                ),
                &[&limit, &lease_secs],
            )
            .await?;
        let mut jobs: Vec<PrintJob> = rows.iter().map(job).collect();
        jobs.sort_by_key(|j| j.created_at);
        Ok(jobs)
    }

    pub async fn mark_printed(&self, print_job_id: Uuid) -> Result<(), SpoolError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE lab_print_jobs SET state = 'printed', printed_at = now(),
                        attempts = attempts + 1, last_error = NULL
                  WHERE print_job_id = $1 AND state = 'queued'",
                &[&print_job_id],
            )
            .await?;
        Ok(())
    }

    /// Records a failed attempt: the job is tried again after `retry_in`, or parked once it
    /// has failed `max_attempts` times. Returns the job's attempts and whether it was parked.
    pub async fn mark_failed(
        &self,
        print_job_id: Uuid,
        error: &str,
        retry_in: Duration,
        max_attempts: i32,
    ) -> Result<(i32, bool), SpoolError> {
        let client = self.pool.get().await?;
        let retry_secs = retry_in.as_secs_f64();
        let row = client
            .query_opt(
                "UPDATE lab_print_jobs
                    SET attempts = attempts + 1, last_error = $2,
                        state = CASE WHEN attempts + 1 >= $4 THEN 'parked' ELSE 'queued' END,
                        next_attempt_at = now() + make_interval(secs => $3)
                  WHERE print_job_id = $1 AND state = 'queued'
              RETURNING attempts, state = 'parked'",
                &[&print_job_id, &error, &retry_secs, &max_attempts],
            )
            .await?;
        Ok(row.map_or((0, false), |r| (r.get(0), r.get(1))))
    }

    /// Queues a job again for printing now, whatever its state (a printed ticket that got
    /// lost, a parked one whose printer is back). `None` if the tenant has no such job or it
    /// was only kept.
    pub async fn reprint(
        &self,
        tenant_id: TenantId,
        print_job_id: Uuid,
    ) -> Result<Option<PrintJob>, SpoolError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE lab_print_jobs
                        SET state = 'queued', attempts = 0, last_error = NULL,
                            next_attempt_at = now(), reprints = reprints + 1
                      WHERE print_job_id = $1 AND tenant_id = $2 AND protocol IS NOT NULL
                  RETURNING {COLUMNS}"
                ),
                &[&print_job_id, tenant_id.as_uuid()],
            )
            .await?;
        Ok(row.as_ref().map(job))
    }

    pub async fn get(
        &self,
        tenant_id: TenantId,
        print_job_id: Uuid,
    ) -> Result<Option<PrintJob>, SpoolError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM lab_print_jobs WHERE print_job_id = $1 AND tenant_id = $2"
                ),
                &[&print_job_id, tenant_id.as_uuid()],
            )
            .await?;
        Ok(row.as_ref().map(job))
    }

    /// A work order's tickets, oldest first.
    pub async fn for_work_order(
        &self,
        tenant_id: TenantId,
        work_order_id: Uuid,
    ) -> Result<Vec<PrintJob>, SpoolError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM lab_print_jobs
                      WHERE tenant_id = $1 AND work_order_id = $2 ORDER BY created_at, format"
                ),
                &[tenant_id.as_uuid(), &work_order_id],
            )
            .await?;
        Ok(rows.iter().map(job).collect())
    }

    /// The tenant's tickets, newest first (by creation, then id), without their documents:
    /// up to `limit` of them strictly after `after` (the `(created_at, print_job_id)` of the
    /// last ticket of the previous page), optionally only in `state` and for `station_id`.
    pub async fn list(
        &self,
        tenant_id: TenantId,
        state: Option<&str>,
        station_id: Option<Uuid>,
        limit: i64,
        after: Option<(DateTime<Utc>, Uuid)>,
    ) -> Result<Vec<PrintJobSummary>, SpoolError> {
        let client = self.pool.get().await?;
        let (after_at, after_id) = after.unzip();
        let rows = client
            .query(
                &format!(
                    "SELECT {SUMMARY_COLUMNS} FROM lab_print_jobs
                      WHERE tenant_id = $1
                        AND ($2::text IS NULL OR state = $2)
                        AND ($3::uuid IS NULL OR station_id = $3)
                        AND ($4::timestamptz IS NULL OR (created_at, print_job_id) < ($4, $5::uuid))
                      ORDER BY created_at DESC, print_job_id DESC
                      LIMIT $6"
                ),
                &[
                    tenant_id.as_uuid(),
                    &state,
                    &station_id,
                    &after_at,
                    &after_id,
                    &limit,
                ],
            )
            .await?;
        rows.iter()
            .map(summary)
            .collect::<Result<_, _>>()
            .map_err(SpoolError::from)
    }

    /// How many tickets wait for a printer (queued) and how many are parked.
    pub async fn depth(&self) -> Result<(i64, i64), SpoolError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE state = 'queued'),
                        count(*) FILTER (WHERE state = 'parked')
                   FROM lab_print_jobs",
                &[],
            )
            .await?;
        Ok((row.get(0), row.get(1)))
    }
}
