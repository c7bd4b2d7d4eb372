//! Reading the committed log outside the relay: the read side's rebuilds replay it, and a
//! consistency token is resolved to the event it names.
use crate::outbox::{recorded_event, OutboxError};
use deadpool_postgres::Pool;
use optical_kernel::{EventPosition, RecordedEvent};
use tokio_postgres::GenericClient;
use uuid::Uuid;

/// Like the relay's batch (ADR 0002: below the horizon, in `(txid, id)` order), restricted to
/// the given contexts.
const COMMITTED_OF_CONTEXTS: &str = "
    SELECT events.id, events.txid::text AS txid_text, event_id, aggregate_type, aggregate_id,
           sequence, event_type, event_version, payload, metadata
      FROM events
     WHERE (events.txid, events.id) > ($1::text::xid8, $2)
       AND events.txid < pg_snapshot_xmin(pg_current_snapshot())
       AND split_part(events.event_type, '.', 1) = ANY($3)
     ORDER BY events.txid, events.id
     LIMIT $4";

/// Up to `limit` committed events of `contexts` after `after`, in log order. The payloads are
/// as stored: personal data still sealed.
pub async fn committed_after(
    client: &impl GenericClient,
    after: EventPosition,
    contexts: &[String],
    limit: i64,
) -> Result<Vec<RecordedEvent>, OutboxError> {
    let rows = client
        .query(
            COMMITTED_OF_CONTEXTS,
            &[&after.txid.to_string(), &after.id, &contexts, &limit],
        )
        .await?;
    rows.iter().map(recorded_event).collect()
}

/// The stream and version of the event a command answered with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRef {
    pub tenant_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
}

/// The event at `position`, if the log holds one there.
pub async fn event_at(
    pool: &Pool,
    position: EventPosition,
) -> Result<Option<EventRef>, OutboxError> {
    let client = pool.get().await.map_err(crate::DbError::from)?;
    let row = client
        .query_opt(
            "SELECT tenant_id, aggregate_type, aggregate_id, sequence FROM events
              WHERE id = $1 AND txid = $2::text::xid8",
            &[&position.id, &position.txid.to_string()],
        )
        .await?;
    row.map(|r| {
        Ok(EventRef {
            tenant_id: r.try_get("tenant_id")?,
            aggregate_type: r.try_get("aggregate_type")?,
            aggregate_id: r.try_get("aggregate_id")?,
            sequence: r.try_get("sequence")?,
        })
    })
    .transpose()
}
