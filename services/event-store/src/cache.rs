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
/// entry is then dropped and the caller's retry reloads from the log.
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

    fn cache(&self) -> std::sync::MutexGuard<'_, LruCache<String, (A, usize)>> {
        // A panic while holding the lock cannot leave a half-written entry: entries are
        // replaced whole, so the poisoned state is still consistent.
        self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
