//! Reading idempotency records back. They are written as a [`SideWrite`](crate::SideWrite)
//! in the transaction of the events they answer for.
use crate::side_writes::StoredResponse;
use deadpool_postgres::Pool;
use optical_kernel::TenantId;

/// What an earlier request with the same key tells about this one.
#[derive(Clone, Debug, PartialEq)]
pub enum Recall {
    /// The key was not used yet: carry the request out.
    Fresh,
    /// The same request was carried out: answer as then.
    Replay(StoredResponse),
    /// The key was used for another request.
    Mismatch,
}

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
}

const RECALL: &str = "
    SELECT request_hash, response_status, response_body
      FROM api_idempotency_keys
     WHERE tenant_id = $1 AND idempotency_key = $2";

#[derive(Clone)]
pub struct IdempotencyRecords {
    pool: Pool,
}

impl IdempotencyRecords {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    pub async fn recall(
        &self,
        tenant_id: TenantId,
        key: &str,
        request_hash: &[u8; 32],
    ) -> Result<Recall, IdempotencyError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(RECALL).await?;
        let Some(row) = client
            .query_opt(&statement, &[tenant_id.as_uuid(), &key])
            .await?
        else {
            return Ok(Recall::Fresh);
        };
        let stored_hash: Vec<u8> = row.try_get("request_hash")?;
        if stored_hash.as_slice() != request_hash.as_slice() {
            return Ok(Recall::Mismatch);
        }
        let status: i16 = row.try_get("response_status")?;
        Ok(Recall::Replay(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            body: row.try_get("response_body")?,
        }))
    }
}
