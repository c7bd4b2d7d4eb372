use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore};
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
    cache: Mutex<LruCache<String, (A, usize)>>,
}

impl<R, A> CachedEventStore<R, A>
where
    R: PersistedEventRepository,
    A: Aggregate + Clone,
{
    pub fn new(repository: R, capacity: NonZeroUsize) -> Self {
        Self {
            inner: PersistedEventStore::new_event_store(repository),
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
