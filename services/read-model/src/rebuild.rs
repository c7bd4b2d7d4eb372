//! Rebuilding a projection from the event log into shadow tables, then swapping them in.
//!
//! The shadow copies live in a schema of their own (`rebuild_<name>`), created `LIKE` the live
//! tables, and the rebuild's session puts that schema first on its `search_path`: the
//! projection's ordinary, unqualified SQL writes the shadows. Readers keep the live tables the
//! whole time. The swap is one transaction: lock the live tables (in-flight projector batches
//! finish first, new ones wait), apply what the log gained since, move the live tables out and
//! the shadows in, drop the old ones. Readers see the old tables or the new ones, never an
//! empty or half-built one.
//!
//! The offsets stay as they are. That is correct because the shadows were built from the log
//! *including* every event the live projection had applied when the lock was taken (the relay
//! publishes only what the log holds), and their versions tables came along: messages the live
//! projector reads after the swap are either new or dropped as duplicates by version.
use crate::projection::{apply_event, Applied, ApplyError, ProjectedEvent, Projection};
use optical_event_store::{committed_after, DataKeys};
use optical_kernel::{EventPosition, RecordedEvent};
use tokio_postgres::{Client, Transaction};

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("rebuild: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("rebuild: reading the log: {0}")]
    Log(String),
    #[error("rebuild: event {event_id} ({event_type}) cannot be applied: {error}")]
    Apply {
        event_id: uuid::Uuid,
        event_type: String,
        error: ApplyError,
    },
}

/// What a rebuild did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub events_read: u64,
    pub events_applied: u64,
    /// Of those, applied during the swap, with the live tables locked.
    pub applied_during_swap: u64,
}

/// The event as projections see it.
pub fn projected(event: RecordedEvent) -> ProjectedEvent {
    ProjectedEvent {
        event_id: event.event_id,
        event_type: event.event_type,
        tenant_id: *event.metadata.tenant_id.as_uuid(),
        aggregate_type: event.aggregate_type,
        aggregate_id: event.aggregate_id,
        sequence: i64::try_from(event.sequence).unwrap_or(i64::MAX),
        occurred_at: event.metadata.occurred_at,
        payload: event.payload,
    }
}

/// Opens the personal data of a stored event for projections (erased patients' values come
/// out as erased).
pub async fn open(keys: &DataKeys, mut event: RecordedEvent) -> Result<ProjectedEvent, String> {
    keys.open_json(event.metadata.tenant_id, &mut event.payload)
        .await
        .map_err(|e| e.to_string())?;
    Ok(projected(event))
}

const BATCH: i64 = 1000;

/// Applies every committed event of the projection's contexts after `*position`, one
/// transaction per batch, advancing it. `client`'s `search_path` decides which tables are written.
pub async fn catch_up(
    client: &mut Client,
    projection: &dyn Projection,
    keys: &DataKeys,
    position: &mut EventPosition,
    report: &mut RebuildReport,
) -> Result<u64, RebuildError> {
    let mut applied_now = 0;
    loop {
        let tx = client.transaction().await?;
        let Some(applied) = apply_next_batch(&tx, projection, keys, position, report).await? else {
            return Ok(applied_now);
        };
        tx.commit().await?;
        applied_now += applied;
    }
}

/// Applies the next batch of the log inside `tx`; `None` when the log has nothing more.
async fn apply_next_batch(
    tx: &Transaction<'_>,
    projection: &dyn Projection,
    keys: &DataKeys,
    position: &mut EventPosition,
    report: &mut RebuildReport,
) -> Result<Option<u64>, RebuildError> {
    let contexts: Vec<String> = projection
        .contexts()
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    let events = committed_after(tx, *position, &contexts, BATCH)
        .await
        .map_err(|e| RebuildError::Log(e.to_string()))?;
    let Some(last) = events.last().map(|e| e.position) else {
        return Ok(None);
    };
    let mut applied = 0;
    for event in events {
        report.events_read += 1;
        let event = open(keys, event).await.map_err(RebuildError::Log)?;
        match apply_event(tx, projection, &event).await {
            Ok(Applied::Changed) => applied += 1,
            Ok(Applied::Duplicate) => {}
            Err(error) => {
                return Err(RebuildError::Apply {
                    event_id: event.event_id,
                    event_type: event.event_type,
                    error,
                })
            }
        }
    }
    projection
        .flush(tx)
        .await
        .map_err(|error| RebuildError::Apply {
            event_id: uuid::Uuid::nil(),
            event_type: "flush".into(),
            error,
        })?;
    report.events_applied += applied;
    *position = last;
    Ok(Some(applied))
}

fn shadow_schema(projection: &dyn Projection) -> String {
    format!("rebuild_{}", projection.name())
}

/// Rebuilds `projection` from the log and swaps the result in. `client` must be a dedicated
/// session (its `search_path` is changed).
pub async fn rebuild(
    client: &mut Client,
    projection: &dyn Projection,
    keys: &DataKeys,
) -> Result<RebuildReport, RebuildError> {
    let shadow = shadow_schema(projection);
    let retired = format!("retired_{}", projection.name());
    let mut setup = format!("DROP SCHEMA IF EXISTS {shadow} CASCADE; CREATE SCHEMA {shadow};");
    for table in projection.tables() {
        setup.push_str(&format!(
            "CREATE TABLE {shadow}.{table} (LIKE public.{table} INCLUDING ALL);"
        ));
    }
    client.batch_execute(&setup).await?;
    client
        .batch_execute(&format!("SET search_path = {shadow}, public"))
        .await?;
    let mut report = RebuildReport::default();
    let mut position = EventPosition::default();
    let result = async {
        catch_up(client, projection, keys, &mut position, &mut report).await?;
        swap(
            client,
            projection,
            keys,
            &mut position,
            &mut report,
            &shadow,
            &retired,
        )
        .await
    }
    .await;
    let reset = client.batch_execute("RESET search_path").await;
    if result.is_err() {
        // Leave nothing half-made behind; the live tables were never touched.
        let _ = client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {shadow} CASCADE"))
            .await;
    }
    result?;
    reset?;
    Ok(report)
}

async fn swap(
    client: &mut Client,
    projection: &dyn Projection,
    keys: &DataKeys,
    position: &mut EventPosition,
    report: &mut RebuildReport,
    shadow: &str,
    retired: &str,
) -> Result<(), RebuildError> {
    let live: Vec<String> = projection
        .tables()
        .iter()
        .map(|t| format!("public.{t}"))
        .collect();
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
        live.join(", ")
    ))
    .await?;
    while let Some(applied) = apply_next_batch(&tx, projection, keys, position, report).await? {
        report.applied_during_swap += applied;
    }
    let mut moves = format!("CREATE SCHEMA {retired};");
    for table in projection.tables() {
        moves.push_str(&format!(
            "ALTER TABLE public.{table} SET SCHEMA {retired};
             ALTER TABLE {shadow}.{table} SET SCHEMA public;"
        ));
    }
    moves.push_str(&format!(
        "DROP SCHEMA {retired} CASCADE; DROP SCHEMA {shadow};"
    ));
    tx.batch_execute(&moves).await?;
    tx.commit().await?;
    Ok(())
}
