//! Read-your-writes: waiting, bounded, until a projection has applied a given event.
//!
//! A command answers with the position of its last event; the API resolves that position to
//! the event's aggregate and version (through the event store) and asks here whether the
//! projection behind the endpoint holds that version yet.
use crate::projection::{applied_version, Projection};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ConsistencyError {
    #[error("read model: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("read model pool: {0}")]
    Pool(String),
}

/// The event a consistency token stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenEvent {
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppliedCheck {
    /// The projection holds the event (or a later version of its aggregate).
    Applied,
    /// The projection does not read the event's context: nothing to wait for.
    NotTracked,
    /// Still not applied when the bound ran out; `applied` is what the projection holds.
    Stale { applied: Option<i64> },
}

/// Whether `projection` reads events of this aggregate type (`<context>.<aggregate>`).
pub fn tracks(projection: &dyn Projection, aggregate_type: &str) -> bool {
    let context = aggregate_type.split('.').next().unwrap_or_default();
    projection.contexts().contains(&context)
}

/// Waits until `projection` applied `event`, at most `bound`.
pub async fn wait_applied(
    pool: &deadpool_postgres::Pool,
    projection: &dyn Projection,
    event: &WrittenEvent,
    bound: Duration,
) -> Result<AppliedCheck, ConsistencyError> {
    if !tracks(projection, &event.aggregate_type) {
        return Ok(AppliedCheck::NotTracked);
    }
    let client = pool
        .get()
        .await
        .map_err(|e| ConsistencyError::Pool(e.to_string()))?;
    let deadline = Instant::now() + bound;
    // Most reads come a few milliseconds after the write: start polling fast, then back off.
    let mut pause = Duration::from_millis(2);
    loop {
        let applied = applied_version(
            &**client,
            projection,
            &event.aggregate_type,
            &event.aggregate_id,
        )
        .await?;
        if applied.is_some_and(|v| v >= event.sequence) {
            return Ok(AppliedCheck::Applied);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(AppliedCheck::Stale { applied });
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}
