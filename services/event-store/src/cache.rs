use crate::repository::{AppendError, PgEventRepository};
use crate::side_writes::{AppendOutcome, SideWrite, SideWriteError};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{
    EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use lru::LruCache;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// An event-sourced store that remembers the state of recently used aggregates, so a command
/// on a warm aggregate skips re-reading its stream and costs one write round trip.
///
/// Correct across instances without coordination: a cached state that another process has
/// moved past makes the append collide on `(aggregate_type, aggregate_id, sequence)`; the
/// entry is then dropped and the caller's retry reloads from the log. Decisions that append
/// nothing are re-checked on fresh state by [`CachedEventStore::execute`].
pub struct CachedEventStore<R, A>
where
    R: PersistedEventRepository,
    A: Aggregate + Clone,
{
    inner: PersistedEventStore<R, A>,
    repository: R,
    cache: Mutex<LruCache<String, (A, usize)>>,
}

impl<R, A> CachedEventStore<R, A>
where
    R: PersistedEventRepository,
    A: Aggregate + Clone,
{
    pub fn new(repository: R, capacity: NonZeroUsize) -> Self
    where
        R: Clone,
    {
        Self {
            inner: PersistedEventStore::new_event_store(repository.clone()),
            repository,
            cache: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// Decides `command` on the aggregate and appends the resulting events; returns them with
    /// their sequences (the last one is the aggregate's new version).
    ///
    /// A decision taken on cached state is only trusted when it produced events, because only
    /// an append is checked against the log. When cached state leads to a rejection or to no
    /// events (the command looked like a no-op), the entry may be stale — another instance
    /// may have moved the aggregate — so the command is decided once more on a fresh load.
    pub async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        services: &A::Services,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>>
    where
        A::Command: Clone,
    {
        let cached = self.cache().get(aggregate_id).is_some();
        let first = self
            .decide_and_commit(aggregate_id, command.clone(), services, metadata.clone())
            .await;
        match first {
            Ok(events) if !events.is_empty() || !cached => Ok(events),
            Err(error) if !cached => Err(error),
            _ => {
                self.cache().pop(aggregate_id);
                self.decide_and_commit(aggregate_id, command, services, metadata)
                    .await
            }
        }
    }

    async fn decide_and_commit(
        &self,
        aggregate_id: &str,
        command: A::Command,
        services: &A::Services,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let mut context = self.load_aggregate(aggregate_id).await?;
        let sink = EventSink::default();
        context
            .aggregate
            .handle(command, services, &sink)
            .await
            .map_err(AggregateError::UserError)?;
        let events = sink.collect().await;
        self.commit(events, context, metadata).await
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, LruCache<String, (A, usize)>> {
        // A panic while holding the lock cannot leave a half-written entry: entries are
        // replaced whole, so the poisoned state is still consistent.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<R, A> EventStore<A> for CachedEventStore<R, A>
where
    R: PersistedEventRepository,
    A: Aggregate + Clone,
{
    type AC = EventStoreAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        self.inner.load_events(aggregate_id).await
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Self::AC, AggregateError<A::Error>> {
        let cached = self.cache().get(aggregate_id).cloned();
        match cached {
            Some((aggregate, current_sequence)) => Ok(EventStoreAggregateContext {
                aggregate_id: aggregate_id.to_owned(),
                aggregate,
                current_sequence,
                current_snapshot: None,
            }),
            None => self.inner.load_aggregate(aggregate_id).await,
        }
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let aggregate_id = context.aggregate_id.clone();
        // `cqrs-es` applies events to the context while the command is handled, so this is
        // already the state after the append.
        let next_state = context.aggregate.clone();
        let next_sequence = context.current_sequence + events.len();
        self.cache().pop(&aggregate_id);
        match self.inner.commit(events, context, metadata).await {
            Ok(committed) => {
                self.cache().put(aggregate_id, (next_state, next_sequence));
                Ok(committed)
            }
            Err(error) => {
                self.cache().pop(&aggregate_id);
                Err(error)
            }
        }
    }
}

/// Why a command through [`CachedEventStore::execute_with`] was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The aggregate refused the command.
    #[error(transparent)]
    Rejected(E),
    /// Another writer appended first; deciding again on fresh state may succeed.
    #[error("the aggregate was changed concurrently")]
    Conflict,
    #[error(transparent)]
    SideWrite(SideWriteError),
    #[error("event store: {0}")]
    Store(String),
}

impl<E: std::error::Error> From<AggregateError<E>> for CommandError<E> {
    fn from(error: AggregateError<E>) -> Self {
        match error {
            AggregateError::UserError(e) => CommandError::Rejected(e),
            AggregateError::AggregateConflict => CommandError::Conflict,
            other => CommandError::Store(other.to_string()),
        }
    }
}

impl<E: std::error::Error> From<AppendError> for CommandError<E> {
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Conflict => CommandError::Conflict,
            AppendError::SideWrite(e) => CommandError::SideWrite(e),
            AppendError::Persistence(e) => CommandError::Store(e.to_string()),
        }
    }
}

/// A command that was carried out: its events (the last sequence is the new version) and
/// where they landed in the log.
#[derive(Debug)]
pub struct Executed<A: Aggregate> {
    pub events: Vec<EventEnvelope<A>>,
    /// The aggregate's version after the command (unchanged if it appended nothing).
    pub version: usize,
    pub outcome: AppendOutcome,
}

/// One command of a batch: decided in order on the state the previous ones left.
pub struct BatchCommand<A: Aggregate> {
    pub command: A::Command,
    pub metadata: HashMap<String, String>,
}

impl<A: Aggregate> Clone for BatchCommand<A>
where
    A::Command: Clone,
{
    fn clone(&self) -> Self {
        Self {
            command: self.command.clone(),
            metadata: self.metadata.clone(),
        }
    }
}

/// The per-command results of a batch, and where its events landed.
pub struct BatchOutcome<A: Aggregate> {
    pub results: Vec<Result<Vec<EventEnvelope<A>>, A::Error>>,
    /// The aggregate's state and version after the batch.
    pub state: A,
    pub version: usize,
    pub outcome: AppendOutcome,
}

impl<A> CachedEventStore<PgEventRepository, A>
where
    A: Aggregate + Clone,
    A::Command: Clone,
{
    /// Like [`CachedEventStore::execute`], and also writes the rows `side_writes` derives from
    /// the events, the new version and the events' position in the same transaction
    /// (see [`SideWrite`]).
    /// `side_writes` may be called twice when a decision on cached state is re-checked.
    pub async fn execute_with<F>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        services: &A::Services,
        metadata: HashMap<String, String>,
        side_writes: F,
    ) -> Result<Executed<A>, CommandError<A::Error>>
    where
        F: Fn(&[EventEnvelope<A>], usize, AppendOutcome) -> Vec<SideWrite>,
    {
        let batch = vec![BatchCommand { command, metadata }];
        let mut done = self
            .execute_batch(
                aggregate_id,
                batch,
                services,
                |results, version, outcome| match results.first() {
                    Some(Ok(events)) => side_writes(events, version, outcome),
                    _ => Vec::new(),
                },
            )
            .await?;
        match done.results.pop() {
            Some(Ok(events)) => Ok(Executed {
                events,
                version: done.version,
                outcome: done.outcome,
            }),
            Some(Err(rejection)) => Err(CommandError::Rejected(rejection)),
            None => Err(CommandError::Store("a batch of one gave no result".into())),
        }
    }

    /// Decides `commands` one after another on the aggregate, then appends all their events
    /// and the side writes in one transaction. A rejected command leaves the state as it was
    /// and the batch goes on. On [`CommandError::Conflict`] nothing was written and the
    /// whole batch may be retried.
    ///
    /// A batch decided on cached state that rejected a command or appended nothing is decided
    /// again on fresh state before anything is written, as in [`CachedEventStore::execute`].
    pub async fn execute_batch<F>(
        &self,
        aggregate_id: &str,
        commands: Vec<BatchCommand<A>>,
        services: &A::Services,
        side_writes: F,
    ) -> Result<BatchOutcome<A>, CommandError<A::Error>>
    where
        F: Fn(&[Result<Vec<EventEnvelope<A>>, A::Error>], usize, AppendOutcome) -> Vec<SideWrite>,
    {
        let cached = self.cache().get(aggregate_id).is_some();
        let mut decided = self.decide_batch(aggregate_id, &commands, services).await?;
        let suspicious = decided
            .results
            .iter()
            .any(|r| r.as_ref().map_or(true, Vec::is_empty));
        if cached && suspicious {
            self.cache().pop(aggregate_id);
            decided = self.decide_batch(aggregate_id, &commands, services).await?;
        }
        let events: Vec<SerializedEvent> = decided
            .results
            .iter()
            .flat_map(|r| r.iter().flatten())
            .map(SerializedEvent::try_from)
            .collect::<Result<_, _>>()
            .map_err(|e| CommandError::Store(e.to_string()))?;
        let (results, version) = (&decided.results, decided.sequence);
        // Readers woken by this commit (a NOTIFY arrives as soon as it commits) must not find
        // the state from before it: the entry leaves before the append and returns after it.
        if !events.is_empty() {
            self.cache().pop(aggregate_id);
        }
        let appended = self
            .repository
            .append(
                &events,
                Some(|outcome| side_writes(results, version, outcome)),
            )
            .await;
        match appended {
            Ok(outcome) => {
                if !events.is_empty() {
                    self.cache().put(
                        aggregate_id.to_owned(),
                        (decided.state.clone(), decided.sequence),
                    );
                }
                Ok(BatchOutcome {
                    results: decided.results,
                    state: decided.state,
                    version: decided.sequence,
                    outcome,
                })
            }
            Err(error) => {
                self.cache().pop(aggregate_id);
                Err(error.into())
            }
        }
    }

    async fn decide_batch(
        &self,
        aggregate_id: &str,
        commands: &[BatchCommand<A>],
        services: &A::Services,
    ) -> Result<Decided<A>, CommandError<A::Error>> {
        let context = self.load_aggregate(aggregate_id).await?;
        let mut state = context.aggregate;
        let mut sequence = context.current_sequence;
        let mut results = Vec::with_capacity(commands.len());
        for BatchCommand { command, metadata } in commands {
            // Decide on a copy: a rejected command must leave no trace in the state.
            let mut next = state.clone();
            let sink = EventSink::default();
            match next.handle(command.clone(), services, &sink).await {
                Ok(()) => {
                    let events = sink.collect().await;
                    let envelopes: Vec<EventEnvelope<A>> = events
                        .into_iter()
                        .zip(sequence + 1..)
                        .map(|(payload, seq)| EventEnvelope {
                            aggregate_id: aggregate_id.to_owned(),
                            sequence: seq,
                            payload,
                            metadata: metadata.clone(),
                        })
                        .collect();
                    sequence += envelopes.len();
                    state = next;
                    results.push(Ok(envelopes));
                }
                Err(rejection) => results.push(Err(rejection)),
            }
        }
        Ok(Decided {
            state,
            sequence,
            results,
        })
    }
}

struct Decided<A: Aggregate> {
    state: A,
    sequence: usize,
    results: Vec<Result<Vec<EventEnvelope<A>>, A::Error>>,
}
