use crate::personal_data::{carries_personal_data, DataKeys, PersonalDataError};
use crate::side_writes::{AppendOutcome, SideWrite, SideWriteError};
use chrono::{DateTime, Utc};
use cqrs_es::persist::{
    PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot,
};
use cqrs_es::Aggregate;
use deadpool_postgres::{GenericClient, Pool};
use optical_kernel::personal;
use optical_kernel::{EventMetadata, EventPosition};
use serde_json::Value;
use std::borrow::Cow;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use uuid::Uuid;

const INSERT_EVENTS: &str = "
    INSERT INTO events (event_id, tenant_id, aggregate_type, aggregate_id, sequence,
                        event_type, event_version, payload, metadata, occurred_at)
    SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int8[],
                         $6::text[], $7::text[], $8::jsonb[], $9::jsonb[], $10::timestamptz[])";

const INSERT_EVENTS_RETURNING: &str = "
    INSERT INTO events (event_id, tenant_id, aggregate_type, aggregate_id, sequence,
                        event_type, event_version, payload, metadata, occurred_at)
    SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int8[],
                         $6::text[], $7::text[], $8::jsonb[], $9::jsonb[], $10::timestamptz[])
    RETURNING txid::text AS txid_text, id";

const UPSERT_SNAPSHOT: &str = "
    INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, snapshot_version, payload)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE
       SET last_sequence = EXCLUDED.last_sequence,
           snapshot_version = EXCLUDED.snapshot_version,
           payload = EXCLUDED.payload,
           updated_at = now()
     WHERE snapshots.snapshot_version < EXCLUDED.snapshot_version";

const SELECT_EVENTS: &str = "
    SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
      FROM events
     WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
     ORDER BY sequence";

const SELECT_ALL_EVENTS: &str = "
    SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
      FROM events
     WHERE aggregate_type = $1
     ORDER BY id";

const SELECT_SNAPSHOT: &str = "
    SELECT last_sequence, snapshot_version, payload
      FROM snapshots
     WHERE aggregate_type = $1 AND aggregate_id = $2";

/// `cqrs-es` repository over PostgreSQL. Appends are a single multi-row `INSERT` — the
/// events table doubles as the outbox — so a command without a snapshot costs one round trip.
///
/// Personal data in payloads is sealed on the way in and opened on the way out with the
/// [`DataKeys`] given to [`PgEventRepository::with_data_keys`]; without them such payloads
/// are refused (see [`crate::personal_data`]).
#[derive(Clone)]
pub struct PgEventRepository {
    pool: Pool,
    keys: Option<DataKeys>,
}

impl PgEventRepository {
    pub fn new(pool: Pool) -> Self {
        Self { pool, keys: None }
    }

    /// Seal and open patients' personal data with these keys.
    pub fn with_data_keys(mut self, keys: DataKeys) -> Self {
        self.keys = Some(keys);
        self
    }

    pub fn data_keys(&self) -> Option<&DataKeys> {
        self.keys.as_ref()
    }

    /// `events` as they may be stored: personal data sealed. Borrowed when there is none.
    async fn sealed<'e>(
        &self,
        events: &'e [SerializedEvent],
    ) -> Result<Cow<'e, [SerializedEvent]>, PersistenceError> {
        if !carries_personal_data(events).map_err(personal_error)? {
            return Ok(Cow::Borrowed(events));
        }
        let keys = self
            .keys
            .as_ref()
            .ok_or_else(|| personal_error(PersonalDataError::NotConfigured))?;
        let mut sealed = events.to_vec();
        keys.seal_events(&mut sealed)
            .await
            .map_err(personal_error)?;
        Ok(Cow::Owned(sealed))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, PersistenceError> {
        self.pool
            .get()
            .await
            .map_err(|e| PersistenceError::ConnectionError(Box::new(e)))
    }

    async fn select_events(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
        after_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(SELECT_EVENTS)
            .await
            .map_err(pg_error)?;
        let after = to_i64(after_sequence)?;
        let rows = client
            .query(&statement, &[&aggregate_type, &aggregate_id, &after])
            .await
            .map_err(pg_error)?;
        let mut events = rows
            .iter()
            .map(serialized_event)
            .collect::<Result<Vec<_>, _>>()?;
        self.open(&mut events).await?;
        Ok(events)
    }

    /// Opens sealed personal data in loaded events; with no keys configured it stays sealed
    /// (and fails to deserialise into a domain event, rather than read as data).
    async fn open(&self, events: &mut [SerializedEvent]) -> Result<(), PersistenceError> {
        match &self.keys {
            Some(keys) => keys.open_events(events).await.map_err(personal_error),
            None => Ok(()),
        }
    }
}

fn personal_error(error: PersonalDataError) -> PersistenceError {
    PersistenceError::UnknownError(Box::new(error))
}

/// The column arrays of one multi-row insert.
#[derive(Default)]
struct EventColumns {
    event_ids: Vec<Uuid>,
    tenant_ids: Vec<Uuid>,
    aggregate_types: Vec<String>,
    aggregate_ids: Vec<String>,
    sequences: Vec<i64>,
    event_types: Vec<String>,
    event_versions: Vec<String>,
    payloads: Vec<Value>,
    metadata: Vec<Value>,
    occurred_at: Vec<DateTime<Utc>>,
}

impl EventColumns {
    fn from_events(events: &[SerializedEvent]) -> Result<Self, PersistenceError> {
        let mut columns = Self::default();
        for event in events {
            // Every stored event must say whose it is and when it happened: refuse early
            // rather than write a row no consumer can route.
            let meta = EventMetadata::from_json(&event.metadata)
                .map_err(|e| PersistenceError::UnknownError(Box::new(e)))?;
            columns.event_ids.push(Uuid::now_v7());
            columns.tenant_ids.push(*meta.tenant_id.as_uuid());
            columns.aggregate_types.push(event.aggregate_type.clone());
            columns.aggregate_ids.push(event.aggregate_id.clone());
            columns.sequences.push(to_i64(event.sequence)?);
            columns.event_types.push(event.event_type.clone());
            columns.event_versions.push(event.event_version.clone());
            columns.payloads.push(event.payload.clone());
            columns.metadata.push(event.metadata.clone());
            columns.occurred_at.push(meta.occurred_at);
        }
        Ok(columns)
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 10] {
        [
            &self.event_ids,
            &self.tenant_ids,
            &self.aggregate_types,
            &self.aggregate_ids,
            &self.sequences,
            &self.event_types,
            &self.event_versions,
            &self.payloads,
            &self.metadata,
            &self.occurred_at,
        ]
    }

    async fn insert(&self, client: &impl GenericClient) -> Result<(), PersistenceError> {
        let statement = client
            .prepare_cached(INSERT_EVENTS)
            .await
            .map_err(pg_error)?;
        client
            .execute(&statement, &self.params())
            .await
            .map_err(append_error)?;
        Ok(())
    }
}

impl PersistedEventRepository for PgEventRepository {
    async fn get_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.select_events(A::TYPE, aggregate_id, 0).await
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.select_events(A::TYPE, aggregate_id, last_sequence)
            .await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(SELECT_SNAPSHOT)
            .await
            .map_err(pg_error)?;
        let row = client
            .query_opt(&statement, &[&A::TYPE, &aggregate_id])
            .await
            .map_err(pg_error)?;
        row.map(|row| {
            Ok(SerializedSnapshot {
                aggregate_id: aggregate_id.to_owned(),
                aggregate: row.try_get("payload").map_err(pg_error)?,
                current_sequence: to_usize(row.try_get("last_sequence").map_err(pg_error)?)?,
                current_snapshot: to_usize(row.try_get("snapshot_version").map_err(pg_error)?)?,
            })
        })
        .transpose()
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        let events = self.sealed(events).await?;
        let columns = EventColumns::from_events(&events)?;
        let mut client = self.client().await?;
        let Some((aggregate_id, snapshot, snapshot_version)) = snapshot_update else {
            if events.is_empty() {
                return Ok(());
            }
            // One statement, one round trip: autocommit makes it atomic.
            return columns.insert(&client).await;
        };
        // A snapshot is aggregate state in clear: it must not outlive an erasure.
        if !personal::revealed_subjects(&snapshot)
            .map_err(|e| personal_error(e.into()))?
            .is_empty()
        {
            return Err(personal_error(PersonalDataError::SnapshotWithPersonalData));
        }
        let last_sequence = match events.last() {
            Some(event) => to_i64(event.sequence)?,
            None => return Ok(()),
        };
        let tx = client.transaction().await.map_err(pg_error)?;
        columns.insert(&tx).await?;
        let statement = tx.prepare_cached(UPSERT_SNAPSHOT).await.map_err(pg_error)?;
        tx.execute(
            &statement,
            &[
                &A::TYPE,
                &aggregate_id,
                &last_sequence,
                &to_i64(snapshot_version)?,
                &snapshot,
            ],
        )
        .await
        .map_err(pg_error)?;
        tx.commit().await.map_err(append_error)
    }

    async fn stream_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
    ) -> Result<ReplayStream, PersistenceError> {
        let events = self.get_events::<A>(aggregate_id).await?;
        Ok(replay(events).await)
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        let client = self.client().await?;
        let rows = client
            .query(SELECT_ALL_EVENTS, &[&A::TYPE])
            .await
            .map_err(pg_error)?;
        let mut events = rows
            .iter()
            .map(serialized_event)
            .collect::<Result<Vec<_>, _>>()?;
        self.open(&mut events).await?;
        Ok(replay(events).await)
    }
}

async fn replay(events: Vec<SerializedEvent>) -> ReplayStream {
    let (mut feed, stream) = ReplayStream::new(events.len().max(1));
    tokio::spawn(async move {
        for event in events {
            if feed.push(Ok(event)).await.is_err() {
                break; // The reader hung up.
            }
        }
    });
    stream
}

fn serialized_event(row: &Row) -> Result<SerializedEvent, PersistenceError> {
    Ok(SerializedEvent {
        aggregate_type: row.try_get("aggregate_type").map_err(pg_error)?,
        aggregate_id: row.try_get("aggregate_id").map_err(pg_error)?,
        sequence: to_usize(row.try_get("sequence").map_err(pg_error)?)?,
        event_type: row.try_get("event_type").map_err(pg_error)?,
        event_version: row.try_get("event_version").map_err(pg_error)?,
        payload: row.try_get("payload").map_err(pg_error)?,
        metadata: row.try_get("metadata").map_err(pg_error)?,
    })
}

fn append_error(error: tokio_postgres::Error) -> PersistenceError {
    let is_stream_conflict = error.as_db_error().is_some_and(|db| {
        db.code() == &SqlState::UNIQUE_VIOLATION
            && db.constraint() == Some("events_stream_sequence")
    });
    if is_stream_conflict {
        PersistenceError::OptimisticLockError
    } else {
        pg_error(error)
    }
}

fn pg_error(error: tokio_postgres::Error) -> PersistenceError {
    if error.is_closed() || error.as_db_error().is_none() {
        PersistenceError::ConnectionError(Box::new(error))
    } else {
        PersistenceError::UnknownError(Box::new(error))
    }
}

fn to_i64(n: usize) -> Result<i64, PersistenceError> {
    i64::try_from(n).map_err(|e| PersistenceError::UnknownError(Box::new(e)))
}

fn to_usize(n: i64) -> Result<usize, PersistenceError> {
    usize::try_from(n).map_err(|e| PersistenceError::DeserializationError(Box::new(e)))
}

/// Why [`PgEventRepository::append`] did not commit.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended to the stream first: nothing was written.
    #[error("the stream was appended to concurrently")]
    Conflict,
    #[error(transparent)]
    SideWrite(#[from] SideWriteError),
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
}

impl From<tokio_postgres::Error> for AppendError {
    fn from(error: tokio_postgres::Error) -> Self {
        match append_error(error) {
            PersistenceError::OptimisticLockError => AppendError::Conflict,
            other => AppendError::Persistence(other),
        }
    }
}

impl PgEventRepository {
    /// Appends `events` and the rows `side_writes` derives from where they landed, in one
    /// transaction; returns the position of the last event (`None` if there were none).
    ///
    /// Without side writes this is one autocommitted statement: one round trip.
    pub async fn append<F>(
        &self,
        events: &[SerializedEvent],
        side_writes: Option<F>,
    ) -> Result<AppendOutcome, AppendError>
    where
        F: FnOnce(AppendOutcome) -> Vec<SideWrite>,
    {
        let events = self.sealed(events).await?;
        let columns = EventColumns::from_events(&events)?;
        let mut client = self.client().await?;
        let Some(side_writes) = side_writes else {
            return columns.insert_returning(&client).await;
        };
        let tx = client.transaction().await?;
        let outcome = columns.insert_returning(&tx).await?;
        let writes = side_writes(outcome);
        if writes.is_empty() && events.is_empty() {
            return Ok(outcome);
        }
        crate::side_writes::write_all(&tx, &writes).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

impl EventColumns {
    async fn insert_returning(
        &self,
        client: &impl GenericClient,
    ) -> Result<AppendOutcome, AppendError> {
        if self.event_ids.is_empty() {
            return Ok(AppendOutcome { position: None });
        }
        let statement = client.prepare_cached(INSERT_EVENTS_RETURNING).await?;
        let rows = client.query(&statement, &self.params()).await?;
        Ok(AppendOutcome {
            position: rows.last().map(position).transpose()?,
        })
    }
}

fn position(row: &Row) -> Result<EventPosition, PersistenceError> {
    let txid: String = row.try_get("txid_text").map_err(pg_error)?;
    Ok(EventPosition {
        txid: txid
            .parse()
            .map_err(|e| PersistenceError::UnknownError(Box::new(e)))?,
        id: row.try_get("id").map_err(pg_error)?,
    })
}
