use crate::db::{connect_as, DbError};
use optical_kernel::{EventMetadata, EventPosition, MetadataError, RecordedEvent};
use thiserror::Error;
use tokio_postgres::{Client, Row};

/// Rows whose writing transaction is older than every transaction still running. Such a
/// transaction has committed or aborted, so no row can appear later before this point:
/// reading in `(txid, id)` order below this horizon never skips an in-flight row (ADR 0002).
///
/// The text form of the xid is selected under another name on purpose: `ORDER BY txid` would
/// otherwise sort by the *text* (`'1000000' < '999999'`), reordering and then skipping events,
/// and could not use the `(txid, id)` index.
const FETCH_BATCH: &str = "
    SELECT events.id, events.txid::text AS txid_text, event_id, aggregate_type, aggregate_id,
           sequence, event_type, event_version, payload, metadata
      FROM events
     WHERE (events.txid, events.id) > ($1::text::xid8, $2)
       AND events.txid < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY events.txid, events.id
     LIMIT $3";

const READ_CHECKPOINT: &str =
    "SELECT last_txid::text AS last_txid, last_id FROM relay_checkpoints WHERE relay_name = $1";

const SAVE_CHECKPOINT: &str = "
    INSERT INTO relay_checkpoints (relay_name, last_txid, last_id)
    VALUES ($1, $2::text::xid8, $3)
    ON CONFLICT (relay_name) DO UPDATE
       SET last_txid = EXCLUDED.last_txid, last_id = EXCLUDED.last_id, updated_at = now()
     WHERE (relay_checkpoints.last_txid, relay_checkpoints.last_id)
         < (EXCLUDED.last_txid, EXCLUDED.last_id)";

#[derive(Debug, Error)]
pub enum OutboxError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("database error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("stored event {event_id} has unreadable metadata: {source}")]
    Metadata {
        event_id: uuid::Uuid,
        #[source]
        source: MetadataError,
    },
    #[error("stored position is not a number: {0}")]
    Position(String),
}

/// One relay's dedicated database session. The advisory lock that makes a relay the active
/// one lives on this session, and the checkpoint is written through it: if the session dies,
/// the lock is gone and so is the ability to move the checkpoint (fencing a stale relay).
pub struct OutboxSession {
    client: Client,
    relay_name: String,
    lock_key: String,
}

impl OutboxSession {
    /// `instance` names this process in `pg_stat_activity` (`optical-erp-relay:<instance>`).
    pub async fn connect(
        database_url: &str,
        relay_name: &str,
        instance: &str,
    ) -> Result<Self, OutboxError> {
        Ok(Self {
            client: connect_as(database_url, &format!("optical-erp-relay:{instance}")).await?,
            relay_name: relay_name.to_owned(),
            lock_key: format!("optical-erp.relay.{relay_name}"),
        })
    }

    /// Tries to become the active relay; `false` means another session holds the lease.
    pub async fn try_acquire_lease(&self) -> Result<bool, OutboxError> {
        let row = self
            .client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtext($1))",
                &[&self.lock_key],
            )
            .await?;
        Ok(row.try_get(0)?)
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub async fn checkpoint(&self) -> Result<EventPosition, OutboxError> {
        let row = self
            .client
            .query_opt(READ_CHECKPOINT, &[&self.relay_name])
            .await?;
        match row {
            None => Ok(EventPosition::default()),
            Some(row) => Ok(EventPosition {
                txid: parse_txid(row.try_get("last_txid")?)?,
                id: row.try_get("last_id")?,
            }),
        }
    }

    pub async fn save_checkpoint(&self, position: EventPosition) -> Result<(), OutboxError> {
        self.client
            .execute(
                SAVE_CHECKPOINT,
                &[&self.relay_name, &position.txid.to_string(), &position.id],
            )
            .await?;
        Ok(())
    }

    /// Forgets what this relay published, so it starts again from the first event. Only for a
    /// broker that lost its data (a fresh in-memory dev broker); consumers see duplicates.
    pub async fn reset_checkpoint(&self) -> Result<(), OutboxError> {
        self.client
            .execute(
                "DELETE FROM relay_checkpoints WHERE relay_name = $1",
                &[&self.relay_name],
            )
            .await?;
        Ok(())
    }

    /// Up to `limit` events after `after`, in publication order.
    pub async fn fetch_after(
        &self,
        after: EventPosition,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, OutboxError> {
        let rows = self
            .client
            .query(FETCH_BATCH, &[&after.txid.to_string(), &after.id, &limit])
            .await?;
        rows.iter().map(recorded_event).collect()
    }

    /// How many committed events wait behind `after` (relay lag).
    pub async fn backlog(&self, after: EventPosition) -> Result<i64, OutboxError> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) FROM events WHERE (txid, id) > ($1::text::xid8, $2)",
                &[&after.txid.to_string(), &after.id],
            )
            .await?;
        Ok(row.try_get(0)?)
    }
}

fn parse_txid(text: &str) -> Result<u64, OutboxError> {
    text.parse()
        .map_err(|_| OutboxError::Position(text.to_owned()))
}

pub(crate) fn recorded_event(row: &Row) -> Result<RecordedEvent, OutboxError> {
    let event_id: uuid::Uuid = row.try_get("event_id")?;
    let metadata: serde_json::Value = row.try_get("metadata")?;
    let sequence: i64 = row.try_get("sequence")?;
    Ok(RecordedEvent {
        position: EventPosition {
            txid: parse_txid(row.try_get("txid_text")?)?,
            id: row.try_get("id")?,
        },
        event_id,
        aggregate_type: row.try_get("aggregate_type")?,
        aggregate_id: row.try_get("aggregate_id")?,
        sequence: u64::try_from(sequence)
            .map_err(|_| OutboxError::Position(sequence.to_string()))?,
        event_type: row.try_get("event_type")?,
        event_version: row.try_get("event_version")?,
        payload: row.try_get("payload")?,
        metadata: EventMetadata::from_json(&metadata)
            .map_err(|source| OutboxError::Metadata { event_id, source })?,
    })
}
