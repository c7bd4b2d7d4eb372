//! Rows that must commit or roll back together with an append: idempotency records,
//! answers to queued reservation requests, reservation deadlines, destroyed data keys.
//!
//! They are written in the append's transaction *after* the events insert, because that
//! insert must be the statement that assigns the transaction's xid (the relay orders by it).
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use optical_kernel::{EventPosition, PatientId, TenantId};
use serde_json::Value;
use uuid::Uuid;

/// A response as the API answered it, stored so that a replay answers identically.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Value,
}

/// One row to write beside the events.
#[derive(Clone, Debug, PartialEq)]
pub enum SideWrite {
    /// Remember the response to a request made with an `Idempotency-Key`.
    IdempotentResponse {
        tenant_id: TenantId,
        key: String,
        request_hash: [u8; 32],
        response: StoredResponse,
    },
    /// Answer a queued reservation request; waiting callers are notified on commit.
    ReservationRequestAnswered {
        request_id: i64,
        response: StoredResponse,
    },
    ReservationDeadlineSet {
        reservation_id: Uuid,
        tenant_id: TenantId,
        stock_level_id: String,
        expires_at: DateTime<Utc>,
    },
    ReservationDeadlineCleared {
        reservation_id: Uuid,
    },
    /// Destroy a patient's data key ("crypto-shredding"): committed with the erasure event,
    /// so the log never says "erased" while the data is still readable, nor the reverse.
    PersonalDataKeyDestroyed {
        tenant_id: TenantId,
        patient_id: PatientId,
    },
}

/// What the side writes may depend on: where the events landed. `None` when the command
/// appended nothing (an unchanged update, or a batch of rejections).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    pub position: Option<EventPosition>,
}

/// Why a side write could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SideWriteError {
    /// Another request with the same key committed first.
    #[error("idempotency key `{key}` was taken by a concurrent request")]
    IdempotencyKeyTaken { key: String },
    /// The request was answered by someone else (a second worker on the same stock level).
    #[error("reservation request {request_id} was already answered")]
    AlreadyAnswered { request_id: i64 },
    #[error("response status {0} does not fit in a SMALLINT")]
    Status(u16),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
}

pub(crate) const ANSWERED_CHANNEL: &str = "inventory_reservation_answered";

const INSERT_IDEMPOTENCY: &str = "
    INSERT INTO api_idempotency_keys
           (tenant_id, idempotency_key, request_hash, response_status, response_body)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (tenant_id, idempotency_key) DO NOTHING";

const ANSWER_REQUEST: &str = "
    WITH answered AS (
        UPDATE inventory_reservation_requests
           SET answered_at = now(), response_status = $2, response_body = $3
         WHERE id = $1 AND answered_at IS NULL
        RETURNING id)
    SELECT pg_notify($4, id::text) FROM answered";

const SET_DEADLINE: &str = "
    INSERT INTO inventory_reservation_deadlines
           (reservation_id, tenant_id, stock_level_id, expires_at)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (reservation_id) DO UPDATE SET expires_at = EXCLUDED.expires_at";

const CLEAR_DEADLINE: &str =
    "DELETE FROM inventory_reservation_deadlines WHERE reservation_id = $1";

fn status(status: u16) -> Result<i16, SideWriteError> {
    i16::try_from(status).map_err(|_| SideWriteError::Status(status))
}

pub(crate) async fn write_all(
    tx: &Transaction<'_>,
    writes: &[SideWrite],
) -> Result<(), SideWriteError> {
    for write in writes {
        match write {
            SideWrite::IdempotentResponse {
                tenant_id,
                key,
                request_hash,
                response,
            } => {
                let statement = tx.prepare_cached(INSERT_IDEMPOTENCY).await?;
                let inserted = tx
                    .execute(
                        &statement,
                        &[
                            tenant_id.as_uuid(),
                            key,
                            &request_hash.as_slice(),
                            &status(response.status)?,
                            &response.body,
                        ],
                    )
                    .await?;
                if inserted == 0 {
                    return Err(SideWriteError::IdempotencyKeyTaken { key: key.clone() });
                }
            }
            SideWrite::ReservationRequestAnswered {
                request_id,
                response,
            } => {
                let statement = tx.prepare_cached(ANSWER_REQUEST).await?;
                let rows = tx
                    .query(
                        &statement,
                        &[
                            request_id,
                            &status(response.status)?,
                            &response.body,
                            &ANSWERED_CHANNEL,
                        ],
                    )
                    .await?;
                if rows.is_empty() {
                    return Err(SideWriteError::AlreadyAnswered {
                        request_id: *request_id,
                    });
                }
            }
            SideWrite::ReservationDeadlineSet {
                reservation_id,
                tenant_id,
                stock_level_id,
                expires_at,
            } => {
                let statement = tx.prepare_cached(SET_DEADLINE).await?;
                tx.execute(
                    &statement,
                    &[
                        reservation_id,
                        tenant_id.as_uuid(),
                        stock_level_id,
                        expires_at,
                    ],
                )
                .await?;
            }
            SideWrite::ReservationDeadlineCleared { reservation_id } => {
                let statement = tx.prepare_cached(CLEAR_DEADLINE).await?;
                tx.execute(&statement, &[reservation_id]).await?;
            }
            SideWrite::PersonalDataKeyDestroyed {
                tenant_id,
                patient_id,
            } => {
                let statement = tx.prepare_cached(crate::personal_data::ERASE_KEY).await?;
                tx.execute(&statement, &[tenant_id.as_uuid(), patient_id.as_uuid()])
                    .await?;
            }
        }
    }
    Ok(())
}
