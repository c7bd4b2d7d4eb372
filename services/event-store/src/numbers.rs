//! Human numbers for documents that people read aloud and scan (`WO-000042`), and the list
//! of a tenant's streams of one aggregate type. Both read or write only tables this crate
//! owns; what the numbers and streams mean is the caller's.
use deadpool_postgres::Pool;
use optical_kernel::TenantId;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
#[error("work order numbers: {0}")]
pub struct NumbersError(String);

impl From<tokio_postgres::Error> for NumbersError {
    fn from(error: tokio_postgres::Error) -> Self {
        NumbersError(error.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for NumbersError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        NumbersError(error.to_string())
    }
}

// One statement: the counter row lock serialises assignments per tenant, and the number of
// a work order that already has one is returned unchanged (the counter does not move).
const ASSIGN: &str = "
    WITH existing AS (
        SELECT number FROM lab_work_order_numbers WHERE work_order_id = $2
    ), bumped AS (
        INSERT INTO lab_work_order_counters AS c (tenant_id, last_number)
        SELECT $1, 1 WHERE NOT EXISTS (SELECT 1 FROM existing)
        ON CONFLICT (tenant_id) DO UPDATE SET last_number = c.last_number + 1
        RETURNING last_number
    ), assigned AS (
        INSERT INTO lab_work_order_numbers (work_order_id, tenant_id, number)
        SELECT $2, $1, last_number FROM bumped
        ON CONFLICT (work_order_id) DO NOTHING
        RETURNING number
    )
    SELECT number FROM existing
    UNION ALL SELECT number FROM assigned";

const LOOKUP: &str = "SELECT number FROM lab_work_order_numbers WHERE work_order_id = $1";

const STREAMS: &str = "
    SELECT aggregate_id FROM events
     WHERE aggregate_type = $1 AND tenant_id = $2 AND sequence = 1
     ORDER BY aggregate_id";

/// Assigns work order numbers and lists streams.
#[derive(Clone)]
pub struct WorkOrderNumbers {
    pool: Pool,
}

impl WorkOrderNumbers {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// The number of `work_order_id`: the one it already has, or the tenant's next.
    pub async fn assign(
        &self,
        tenant_id: TenantId,
        work_order_id: Uuid,
    ) -> Result<u32, NumbersError> {
        let client = self.pool.get().await?;
        for _ in 0..3 {
            let rows = client
                .query(ASSIGN, &[tenant_id.as_uuid(), &work_order_id])
                .await?;
            if let Some(row) = rows.first() {
                return to_u32(row.get(0));
            }
            // A concurrent assignment for the same work order won the insert: read its number.
            if let Some(row) = client.query_opt(LOOKUP, &[&work_order_id]).await? {
                return to_u32(row.get(0));
            }
        }
        Err(NumbersError(format!(
            "no number could be assigned to {work_order_id}"
        )))
    }
}

fn to_u32(number: i64) -> Result<u32, NumbersError> {
    u32::try_from(number).map_err(|_| NumbersError(format!("number {number} is out of range")))
}

/// The ids of a tenant's streams of one aggregate type, in id order (for small sets such as
/// stations; larger lists are the read side's).
pub async fn stream_ids(
    pool: &Pool,
    aggregate_type: &str,
    tenant_id: TenantId,
) -> Result<Vec<String>, NumbersError> {
    let client = pool.get().await?;
    let rows = client
        .query(STREAMS, &[&aggregate_type, tenant_id.as_uuid()])
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}
