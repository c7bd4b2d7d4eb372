//! What a projection is, and the one way an event reaches it.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_postgres::Transaction;
use uuid::Uuid;

/// An event as projections see it: the routing facts of the envelope and the payload in the
/// shape `cqrs-es` stores it (`{"<Variant>": {…}}`), with personal data already opened
/// (values of erased patients come as erased).
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectedEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub tenant_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The aggregate's version after this event (1-based, gap-free per aggregate).
    pub sequence: i64,
    pub occurred_at: DateTime<Utc>,
    pub payload: Value,
}

impl ProjectedEvent {
    /// The payload as the context's event enum.
    pub fn decode<E: DeserializeOwned>(&self) -> Result<E, ApplyError> {
        serde_json::from_value(self.payload.clone()).map_err(|e| {
            ApplyError::Malformed(format!("{} payload does not decode: {e}", self.event_type))
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The event cannot be applied, however often it is tried (a poison message).
    #[error("malformed event: {0}")]
    Malformed(String),
    #[error("read model: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// An external index (search) refused or could not be reached.
    #[error("index: {0}")]
    Index(String),
}

impl ApplyError {
    /// Whether trying again may help (a database or index that is away), as opposed to an
    /// event that will fail the same way every time.
    pub fn is_transient(&self) -> bool {
        match self {
            ApplyError::Malformed(_) => false,
            ApplyError::Db(e) => e.is_closed() || e.as_db_error().is_none(),
            ApplyError::Index(_) => true,
        }
    }
}

/// A read model fed by events.
///
/// `apply` sees each event of an aggregate once, in order (duplicates were dropped by
/// version before it), inside the transaction that also moves the offsets; it must not
/// read anything but its own tables, so a replay from the log builds the same rows.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Consumer group, offsets key and the `read_<name>_versions` table: `[a-z_]+`.
    fn name(&self) -> &'static str;
    /// The contexts whose topics it reads.
    fn contexts(&self) -> &'static [&'static str];
    /// Its tables, the versions table included: what a rebuild replaces together.
    fn tables(&self) -> &'static [&'static str];
    async fn apply(&self, tx: &Transaction<'_>, event: &ProjectedEvent) -> Result<(), ApplyError>;
    /// Called once per batch, after its events were applied and before the offsets are
    /// committed: an external index is written here, and an error rolls the batch back.
    async fn flush(&self, _tx: &Transaction<'_>) -> Result<(), ApplyError> {
        Ok(())
    }
}

/// The versions table of a projection.
pub fn versions_table(projection: &dyn Projection) -> String {
    format!("read_{}_versions", projection.name())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// The projection already holds this version of the aggregate (or a later one).
    Duplicate,
}

/// Records the event's version and, when it is new for its aggregate, applies it. Both land
/// in `tx`, so a rollback forgets both.
pub async fn apply_event(
    tx: &Transaction<'_>,
    projection: &dyn Projection,
    event: &ProjectedEvent,
) -> Result<Applied, ApplyError> {
    // Only a strictly newer version updates the row; RETURNING says whether it did.
    let sql = format!(
        "INSERT INTO {table} (aggregate_type, aggregate_id, version) VALUES ($1, $2, $3)
         ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET version = EXCLUDED.version
         WHERE {table}.version < EXCLUDED.version
         RETURNING version",
        table = versions_table(projection)
    );
    let newer = tx
        .query_opt(
            &sql,
            &[&event.aggregate_type, &event.aggregate_id, &event.sequence],
        )
        .await?;
    if newer.is_none() {
        return Ok(Applied::Duplicate);
    }
    projection.apply(tx, event).await?;
    Ok(Applied::Changed)
}

/// The version of an aggregate the projection has applied, if any.
pub async fn applied_version(
    client: &impl tokio_postgres::GenericClient,
    projection: &dyn Projection,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Option<i64>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT version FROM {} WHERE aggregate_type = $1 AND aggregate_id = $2",
        versions_table(projection)
    );
    let row = client
        .query_opt(&sql, &[&aggregate_type, &aggregate_id])
        .await?;
    row.map(|r| r.try_get(0)).transpose()
}
