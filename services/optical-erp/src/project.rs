//! The projector runtime (`optical-erp project [NAME…]`): one consumer group per projection,
//! each batch of messages applied in one PostgreSQL transaction together with the offsets.
//!
//! Why nothing is lost or applied twice (ADR 0019):
//! - Offsets live in `projection_offsets` and move in the same transaction as the read-model
//!   rows, so after a crash the tables and the offsets agree; the broker's committed offsets
//!   are never used.
//! - A partition handed to this instance by a rebalance is first claimed in PostgreSQL, which
//!   bumps its epoch; only then is it assigned at the stored offset. A previous owner still
//!   finishing a batch commits with the old epoch, matches no row, and rolls back.
//! - At-least-once delivery still redelivers (a batch rolled back, the same event published
//!   twice by a relay retry at another offset): the per-aggregate version check drops it.
//! - A message that cannot be applied after bounded retries goes to
//!   `optical.project-<name>.dead-letter.v1` before the offset passes it; a database that is
//!   away is waited for, never dead-lettered.
use anyhow::Context as _;
use futures::{FutureExt as _, StreamExt as _};
use optical_bus::group::{self, GroupConsumer, Rebalance};
use optical_bus::inbound::{self, InboundEvent};
use optical_bus::{codec, AvroCodec, KafkaConfig, TopicNames};
use optical_event_store::DataKeys;
use optical_kernel::TenantId;
use optical_read_model::offsets::{self, Claim};
use optical_read_model::{apply_event, ApplyError, ProjectedEvent, Projection};
use rdkafka::message::{BorrowedMessage, Headers as _};
use rdkafka::producer::FutureProducer;
use rdkafka::Message as _;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::NoTls;

#[derive(Clone)]
pub struct ProjectorConfig {
    pub database_url: String,
    pub kafka: KafkaConfig,
    pub codec: AvroCodec,
    pub keys: DataKeys,
    /// This process's name as the owner of claimed partitions.
    pub instance: String,
    pub batch_size: usize,
    /// Tries of one event before it is dead-lettered.
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub max_backoff: Duration,
    /// How often the lag of owned partitions is recorded.
    pub lag_interval: Duration,
}

/// The consumer group and offsets key of a projection.
pub fn group_id(projection: &dyn Projection) -> String {
    format!("optical-erp-project-{}", projection.name())
}

/// Runs every projection of `projections` until `shutdown` resolves.
pub async fn run(
    projections: Vec<Arc<dyn Projection>>,
    config: ProjectorConfig,
    shutdown: impl Future<Output = ()>,
) {
    let all = futures::future::join_all(
        projections
            .into_iter()
            .map(|projection| run_one(projection, config.clone())),
    );
    tokio::select! {
        _ = all => {}
        () = shutdown => tracing::info!("projectors stopping"),
    }
}

async fn run_one(projection: Arc<dyn Projection>, config: ProjectorConfig) {
    let mut backoff = config.retry_base;
    loop {
        match session(projection.as_ref(), &config).await {
            Ok(()) => backoff = config.retry_base,
            Err(error) => {
                tracing::warn!(
                    projection = projection.name(),
                    error = format!("{error:#}"),
                    "projector session ended; reconnecting"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(config.max_backoff);
            }
        }
    }
}

struct Session<'a> {
    projection: &'a dyn Projection,
    config: &'a ProjectorConfig,
    client: tokio_postgres::Client,
    consumer: Arc<GroupConsumer>,
    producer: FutureProducer,
    dead_letters: String,
    owned: HashMap<(String, i32), Claim>,
}

async fn connect(
    database_url: &str,
    name: &str,
    instance: &str,
) -> anyhow::Result<tokio_postgres::Client> {
    let mut pg: tokio_postgres::Config = database_url.parse().context("DATABASE_URL")?;
    pg.application_name(format!("optical-erp-project-{name}:{instance}"));
    let (client, connection) = pg
        .connect(NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "projector database connection ended");
        }
    });
    Ok(client)
}

async fn session(projection: &dyn Projection, config: &ProjectorConfig) -> anyhow::Result<()> {
    let client = connect(&config.database_url, projection.name(), &config.instance).await?;
    let names = TopicNames::new(&config.kafka.topic_prefix);
    let topics: Vec<String> = projection
        .contexts()
        .iter()
        .map(|c| names.for_context(c))
        .collect();
    let (consumer, mut rebalances) =
        group::subscribe(&config.kafka, &group_id(projection), &topics)
            .context("joining the projection's consumer group")?;
    let consumer = Arc::new(consumer);
    let mut session = Session {
        projection,
        config,
        client,
        consumer: consumer.clone(),
        producer: config.kafka.producer().create()?,
        dead_letters: names.dead_letter(&format!("project-{}", projection.name())),
        owned: HashMap::new(),
    };
    tracing::info!(projection = projection.name(), instance = %config.instance, "projector joined its group");
    let mut stream = consumer.stream();
    let mut lag_tick = tokio::time::interval(config.lag_interval);
    // Watermarks take a broker round trip each: fetched off the loop, so consumption never
    // waits for them.
    let mut lag_fetch: Option<tokio::task::JoinHandle<Vec<Watermark>>> = None;
    loop {
        let first = tokio::select! {
            biased;
            rebalance = rebalances.recv() => {
                session.rebalanced(rebalance.context("rebalance channel closed")?).await?;
                continue;
            }
            message = stream.next() => message.context("consumer stream ended")?,
            fetched = async {
                match lag_fetch.as_mut() {
                    Some(handle) => handle.await.unwrap_or_default(),
                    None => std::future::pending().await,
                }
            }, if lag_fetch.is_some() => {
                lag_fetch = None;
                session.record_lag(fetched).await;
                continue;
            }
            _ = lag_tick.tick(), if lag_fetch.is_none() => {
                lag_fetch = Some(session.fetch_watermarks());
                continue;
            }
        };
        let mut batch = vec![first.context("reading from the broker")?];
        while batch.len() < config.batch_size {
            match stream.next().now_or_never() {
                Some(Some(message)) => batch.push(message.context("reading from the broker")?),
                _ => break,
            }
        }
        // A rebalance that arrived while the batch was read decides what is still ours.
        while let Ok(rebalance) = rebalances.try_recv() {
            session.rebalanced(rebalance).await?;
        }
        session.handle(batch).await?;
    }
}

/// One message of a batch, decoded or not.
struct Item<'m> {
    message: BorrowedMessage<'m>,
    event: Result<ProjectedEvent, String>,
}

impl<'a> Session<'a> {
    async fn rebalanced(&mut self, rebalance: Rebalance) -> anyhow::Result<()> {
        match rebalance {
            Rebalance::Assigned(partitions) => {
                let claims = offsets::claim(
                    &self.client,
                    self.projection.name(),
                    &self.config.instance,
                    &partitions,
                )
                .await?;
                self.owned = claims
                    .into_iter()
                    .map(|c| ((c.topic.clone(), c.partition), c))
                    .collect();
                let at: Vec<(String, i32, i64)> = self
                    .owned
                    .values()
                    .map(|c| (c.topic.clone(), c.partition, c.next_offset))
                    .collect();
                group::assign_at(&self.consumer, &at).context("assigning claimed partitions")?;
                tracing::info!(projection = self.projection.name(), partitions = ?partitions, "claimed partitions");
            }
            Rebalance::Revoked(partitions) => {
                for p in &partitions {
                    self.owned.remove(p);
                }
            }
        }
        Ok(())
    }

    fn fetch_watermarks(&self) -> tokio::task::JoinHandle<Vec<Watermark>> {
        let consumer = self.consumer.clone();
        let claims: Vec<Claim> = self.owned.values().cloned().collect();
        tokio::spawn(async move {
            let fetches = claims.into_iter().map(|claim| {
                let consumer = consumer.clone();
                async move {
                    group::high_watermark(consumer, claim.topic.clone(), claim.partition)
                        .await
                        .map(|high| Watermark { claim, high })
                }
            });
            futures::future::join_all(fetches)
                .await
                .into_iter()
                .flatten()
                .collect()
        })
    }

    async fn record_lag(&self, watermarks: Vec<Watermark>) {
        for Watermark { claim, high } in watermarks {
            if let Err(error) = offsets::record_high_watermark(
                &self.client,
                self.projection.name(),
                &claim.topic,
                claim.partition,
                claim.epoch,
                high,
            )
            .await
            {
                tracing::warn!(%error, "recording projection lag failed");
            }
        }
    }

    async fn decode(&self, message: &BorrowedMessage<'_>) -> Result<ProjectedEvent, String> {
        let routing = InboundEvent::from_message(message).map_err(|e| e.to_string())?;
        let bytes = message.payload().ok_or("message has no payload")?;
        let decoded = self
            .config
            .codec
            .decode(bytes)
            .await
            .map_err(|e| e.to_string())?;
        let schema = decoded
            .event_type
            .as_deref()
            .and_then(|t| self.config.codec.catalog().get(t))
            .ok_or_else(|| format!("schema {} is not one of ours", decoded.schema_full_name))?;
        let mut payload = codec::wrap_body(schema, decoded.body);
        self.config
            .keys
            .open_json(TenantId::from_uuid(routing.tenant_id), &mut payload)
            .await
            .map_err(|e| format!("personal data cannot be opened: {e}"))?;
        let occurred_at = header(message, optical_bus::headers::OCCURRED_AT)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok_or("header `occurred_at` is missing or not RFC 3339")?;
        Ok(ProjectedEvent {
            event_id: routing.event_id,
            event_type: routing.event_type,
            tenant_id: routing.tenant_id,
            aggregate_type: routing.aggregate_type,
            aggregate_id: routing.aggregate_id,
            sequence: routing.sequence,
            occurred_at,
            payload,
        })
    }

    /// Applies a batch: all together when they all apply; otherwise one at a time, each with
    /// bounded retries, dead-lettering the ones that keep failing.
    async fn handle<'m>(&mut self, batch: Vec<BorrowedMessage<'m>>) -> anyhow::Result<()> {
        let mut items = Vec::with_capacity(batch.len());
        for message in batch {
            if !self
                .owned
                .contains_key(&(message.topic().to_owned(), message.partition()))
            {
                continue; // fetched before a revocation: the new owner reads it again
            }
            let event = self.decode(&message).await;
            items.push(Item { message, event });
        }
        if items.is_empty() {
            return Ok(());
        }
        let mut backoff = self.config.retry_base;
        loop {
            match self.commit(&items, &[]).await? {
                Outcome::Committed => return Ok(()),
                Outcome::Fenced => continue,
                Outcome::Failed {
                    transient: true,
                    error,
                    ..
                } => {
                    if self.client.is_closed() {
                        anyhow::bail!("projector database session lost: {error}");
                    }
                    tracing::warn!(projection = self.projection.name(), %error, "projection batch failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
                Outcome::Failed { .. } => break,
            }
        }
        // Something in the batch fails for good: find it, one message at a time.
        let mut dead: Vec<usize> = Vec::new();
        for index in 0..items.len() {
            let mut attempts = 0;
            let mut backoff = self.config.retry_base;
            loop {
                // Commit exactly this message (the ones before it are committed already).
                match self.commit_one(&items, index, &dead).await? {
                    Outcome::Committed | Outcome::Fenced => break,
                    Outcome::Failed {
                        transient, error, ..
                    } => {
                        if self.client.is_closed() {
                            anyhow::bail!("projector database session lost: {error}");
                        }
                        if !transient {
                            attempts += 1;
                        }
                        if attempts >= self.config.max_attempts {
                            self.dead_letter(&items[index], &error).await?;
                            dead.push(index);
                            // The offset must still pass it.
                            if let Outcome::Failed { error, .. } =
                                self.commit_one(&items, index, &dead).await?
                            {
                                anyhow::bail!(
                                    "could not move past a dead-lettered message: {error}"
                                );
                            }
                            break;
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(self.config.max_backoff);
                    }
                }
            }
        }
        Ok(())
    }

    async fn dead_letter(&self, item: &Item<'_>, error: &str) -> anyhow::Result<()> {
        inbound::dead_letter(&self.producer, &self.dead_letters, &item.message, error)
            .await
            .context("writing to the dead-letter topic")?;
        tracing::error!(projection = self.projection.name(), topic = item.message.topic(), partition = item.message.partition(), offset = item.message.offset(), %error, "projection dead-lettered a message");
        Ok(())
    }

    async fn commit(&mut self, items: &[Item<'_>], dead: &[usize]) -> anyhow::Result<Outcome> {
        let all: Vec<usize> = (0..items.len()).collect();
        self.commit_indices(items, &all, dead).await
    }

    async fn commit_one(
        &mut self,
        items: &[Item<'_>],
        index: usize,
        dead: &[usize],
    ) -> anyhow::Result<Outcome> {
        self.commit_indices(items, &[index], dead).await
    }

    /// One transaction: the events at `indices` (except dead-lettered ones), the flush, and the
    /// offsets of their partitions. Rolls back on any failure or lost claim.
    async fn commit_indices(
        &mut self,
        items: &[Item<'_>],
        indices: &[usize],
        dead: &[usize],
    ) -> anyhow::Result<Outcome> {
        let projection = self.projection;
        let name = projection.name();
        let owned = self.owned.clone();
        let tx = self
            .client
            .transaction()
            .await
            .context("beginning a projection batch")?;
        let mut next: HashMap<(String, i32), i64> = HashMap::new();
        for &index in indices {
            let item = &items[index];
            let key = (item.message.topic().to_owned(), item.message.partition());
            if !owned.contains_key(&key) {
                continue; // lost to another instance since the batch was read
            }
            next.insert(key, item.message.offset() + 1);
            if dead.contains(&index) {
                continue;
            }
            let event = match &item.event {
                Ok(event) => event,
                Err(error) => {
                    return Ok(Outcome::Failed {
                        transient: false,
                        error: error.clone(),
                    });
                }
            };
            if let Err(error) = apply_event(&tx, projection, event).await {
                return Ok(failed(error));
            }
        }
        if let Err(error) = projection.flush(&tx).await {
            return Ok(failed(error));
        }
        for ((topic, partition), next_offset) in &next {
            let Some(claim) = owned.get(&(topic.clone(), *partition)) else {
                continue;
            };
            if !offsets::advance(&tx, name, topic, *partition, claim.epoch, *next_offset).await? {
                // Another instance claimed it: this batch's work is its to do.
                tracing::warn!(
                    projection = name,
                    topic,
                    partition,
                    "partition claimed by another instance; batch rolled back"
                );
                drop(tx);
                self.owned.remove(&(topic.clone(), *partition));
                return Ok(Outcome::Fenced);
            }
        }
        tx.commit().await.context("committing a projection batch")?;
        Ok(Outcome::Committed)
    }
}

/// A partition's log end as fetched for lag.
struct Watermark {
    claim: Claim,
    high: i64,
}

enum Outcome {
    Committed,
    /// A partition of the batch was claimed by another instance: rolled back; retry without it.
    Fenced,
    Failed {
        transient: bool,
        error: String,
    },
}

fn failed(error: ApplyError) -> Outcome {
    Outcome::Failed {
        transient: error.is_transient(),
        error: error.to_string(),
    }
}

fn header(message: &BorrowedMessage<'_>, name: &str) -> Option<String> {
    message.headers().and_then(|hs| {
        hs.iter()
            .find(|h| h.key == name)
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_projection_has_a_dead_letter_topic_in_the_plan() {
        for projection in optical_read_model::all_projections() {
            let consumer = format!("project-{}", projection.name());
            assert!(
                optical_bus::topics::DEAD_LETTER_CONSUMERS.contains(&consumer.as_str()),
                "{consumer} has no dead-letter topic"
            );
        }
    }
}
