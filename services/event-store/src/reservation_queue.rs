//! The queue of reservation requests (`inventory_reservation_requests`) and the index of
//! reservation deadlines. Requests are answered through [`SideWrite`](crate::SideWrite)s in
//! the transaction that appends their events; waiting callers learn about it by
//! `LISTEN inventory_reservation_answered` (see [`listen`](crate::listen)).
use crate::side_writes::{StoredResponse, ANSWERED_CHANNEL};
use chrono::{DateTime, Utc};
use deadpool_postgres::{Object, Pool};
use optical_kernel::TenantId;
use serde_json::Value;

/// Workers are woken by this channel when a request is queued.
pub const REQUESTED_CHANNEL: &str = "inventory_reservation_requested";
/// Waiting callers are woken by this channel (payload: the request id) when it is answered.
pub const ANSWERED: &str = ANSWERED_CHANNEL;

/// Advisory-lock namespace (the first key) of "this worker decides this stock level".
const STOCK_LEVEL_LOCK_SPACE: i32 = 0x0E44;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
}

/// A request as it waits in the queue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedRequest {
    pub id: i64,
    pub tenant_id: TenantId,
    pub command: Value,
    pub metadata: Value,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<[u8; 32]>,
}

/// Where a request stands.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestState {
    Pending,
    Answered(StoredResponse),
}

/// A stock level with pending requests that this worker now decides alone. The claim is a
/// session advisory lock on the connection held here: it ends when this value is released
/// or its connection dies, so a crashed worker never strands a queue.
pub struct ClaimedStockLevel {
    pub stock_level_id: String,
    pub requests: Vec<QueuedRequest>,
    client: Option<Object>,
}

impl ClaimedStockLevel {
    /// Lets other workers decide this stock level again.
    pub async fn release(mut self) -> Result<(), QueueError> {
        if let Some(client) = self.client.take() {
            client
                .execute(
                    "SELECT pg_advisory_unlock($1, hashtext($2))",
                    &[&STOCK_LEVEL_LOCK_SPACE, &self.stock_level_id],
                )
                .await?;
        }
        Ok(())
    }
}

impl Drop for ClaimedStockLevel {
    fn drop(&mut self) {
        // Not released (an error or a panic on the way): close the session instead of
        // returning it to the pool, which would keep the lock and strand the queue.
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

/// A stock level with reservations past their deadline.
#[derive(Clone, Debug, PartialEq)]
pub struct DueStockLevel {
    pub tenant_id: TenantId,
    pub stock_level_id: String,
}

#[derive(Clone)]
pub struct ReservationQueue {
    pool: Pool,
}

const ENQUEUE: &str = "
    WITH queued AS (
        INSERT INTO inventory_reservation_requests
               (tenant_id, stock_level_id, command, metadata, idempotency_key, request_hash)
        VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING id)
    SELECT id, CASE WHEN $7 THEN pg_notify($8, '') END FROM queued";

const STATE: &str = "
    SELECT response_status, response_body
      FROM inventory_reservation_requests
     WHERE id = $1 AND tenant_id = $2";

const LOCATE: &str = "
    SELECT stock_level_id
      FROM inventory_reservation_deadlines
     WHERE reservation_id = $1 AND tenant_id = $2";

const PENDING_STOCK_LEVELS: &str = "
    SELECT stock_level_id
      FROM inventory_reservation_requests
     WHERE answered_at IS NULL
     GROUP BY stock_level_id
     ORDER BY min(id)
     LIMIT $1";

const PENDING_REQUESTS: &str = "
    SELECT id, tenant_id, command, metadata, idempotency_key, request_hash
      FROM inventory_reservation_requests
     WHERE stock_level_id = $1 AND answered_at IS NULL
     ORDER BY id
     LIMIT $2";

const DUE: &str = "
    SELECT DISTINCT tenant_id, stock_level_id
      FROM inventory_reservation_deadlines
     WHERE expires_at <= $1
     LIMIT $2";

impl ReservationQueue {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// Queues a request; returns its id. With `notify`, workers of every process are woken by
    /// `NOTIFY` — which PostgreSQL serialises across the whole server at commit, so a process
    /// that wakes its own workers directly should pass `false`.
    pub async fn enqueue(
        &self,
        tenant_id: TenantId,
        stock_level_id: &str,
        command: &Value,
        metadata: &Value,
        idempotency: Option<(&str, &[u8; 32])>,
        notify: bool,
    ) -> Result<i64, QueueError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(ENQUEUE).await?;
        let key = idempotency.map(|(key, _)| key);
        let hash = idempotency.map(|(_, hash)| hash.as_slice());
        let row = client
            .query_one(
                &statement,
                &[
                    tenant_id.as_uuid(),
                    &stock_level_id,
                    command,
                    metadata,
                    &key,
                    &hash,
                    &notify,
                    &REQUESTED_CHANNEL,
                ],
            )
            .await?;
        Ok(row.try_get("id")?)
    }

    /// Where the tenant's request stands; `None` for an unknown (or another tenant's) id.
    pub async fn state(
        &self,
        tenant_id: TenantId,
        request_id: i64,
    ) -> Result<Option<RequestState>, QueueError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(STATE).await?;
        let Some(row) = client
            .query_opt(&statement, &[&request_id, tenant_id.as_uuid()])
            .await?
        else {
            return Ok(None);
        };
        let status: Option<i16> = row.try_get("response_status")?;
        Ok(Some(match status {
            None => RequestState::Pending,
            Some(status) => RequestState::Answered(StoredResponse {
                status: u16::try_from(status).unwrap_or(500),
                body: row.try_get("response_body")?,
            }),
        }))
    }

    /// The stock level holding the tenant's active reservation; `None` once it was
    /// released, committed or expired (or if it is another tenant's).
    pub async fn locate(
        &self,
        tenant_id: TenantId,
        reservation_id: uuid::Uuid,
    ) -> Result<Option<String>, QueueError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(LOCATE).await?;
        let row = client
            .query_opt(&statement, &[&reservation_id, tenant_id.as_uuid()])
            .await?;
        row.map(|r| r.try_get("stock_level_id"))
            .transpose()
            .map_err(QueueError::from)
    }

    /// Claims the stock level whose oldest pending request is the oldest among those no
    /// other worker holds, with up to `batch` of its pending requests in arrival order.
    pub async fn claim(&self, batch: i64) -> Result<Option<ClaimedStockLevel>, QueueError> {
        let client = self.pool.get().await?;
        let candidates = client.query(PENDING_STOCK_LEVELS, &[&32_i64]).await?;
        for candidate in candidates {
            let stock_level_id: String = candidate.try_get("stock_level_id")?;
            // One at a time: a lock call inside the query could take locks it then skips.
            let locked: bool = client
                .query_one(
                    "SELECT pg_try_advisory_lock($1, hashtext($2))",
                    &[&STOCK_LEVEL_LOCK_SPACE, &stock_level_id],
                )
                .await?
                .try_get(0)?;
            if !locked {
                continue;
            }
            let rows = client
                .query(PENDING_REQUESTS, &[&stock_level_id, &batch])
                .await?;
            let requests = rows
                .iter()
                .map(|row| {
                    let hash: Option<Vec<u8>> = row.try_get("request_hash")?;
                    Ok(QueuedRequest {
                        id: row.try_get("id")?,
                        tenant_id: TenantId::from_uuid(row.try_get("tenant_id")?),
                        command: row.try_get("command")?,
                        metadata: row.try_get("metadata")?,
                        idempotency_key: row.try_get("idempotency_key")?,
                        request_hash: hash.and_then(|h| <[u8; 32]>::try_from(h).ok()),
                    })
                })
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
            let claimed = ClaimedStockLevel {
                stock_level_id,
                requests,
                client: Some(client),
            };
            if claimed.requests.is_empty() {
                // Answered between the two queries by the worker that just let go.
                claimed.release().await?;
                return Ok(None);
            }
            return Ok(Some(claimed));
        }
        Ok(None)
    }

    /// Stock levels with at least one reservation due at `now`.
    pub async fn due(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DueStockLevel>, QueueError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(DUE).await?;
        let rows = client.query(&statement, &[&now, &limit]).await?;
        rows.iter()
            .map(|row| {
                Ok(DueStockLevel {
                    tenant_id: TenantId::from_uuid(row.try_get("tenant_id")?),
                    stock_level_id: row.try_get("stock_level_id")?,
                })
            })
            .collect()
    }
}
