//! The order saga process: reads the orders and payments topics with offsets kept in
//! PostgreSQL and hands each event to [`optical_app::OrderSaga`].
//!
//! One active saga per name (an advisory lock on its own database session, like the relay);
//! the offset of a message is saved only after its steps are durable, so a saga killed at any
//! point re-handles at most the message it was on — and the saga's steps are no-ops on
//! repeat. A message that can never be handled goes to `optical.saga.dead-letter.v1`.
use anyhow::Context as _;
use futures::StreamExt as _;
use optical_app::{OrderSaga, SagaError, SagaEvent, SAGA_CONTEXTS};
use optical_bus::inbound::{self, InboundEvent};
use optical_bus::{KafkaConfig, TopicNames};
use optical_event_store::ConsumerSession;
use optical_kernel::TenantId;
use rdkafka::producer::FutureProducer;
use rdkafka::Message as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The consumer name: its lease, its offsets, its dead-letter topic.
pub const SAGA: &str = "saga";

#[derive(Clone, Debug)]
pub struct SagaConfig {
    pub database_url: String,
    pub kafka: KafkaConfig,
    pub instance: String,
    pub max_backoff: Duration,
    pub standby_interval: Duration,
}

/// Runs until `shutdown` resolves: stands by while another saga holds the lease, consumes
/// while it holds it, reconnects when its session or consumer fails.
pub async fn run(saga: Arc<OrderSaga>, config: SagaConfig, shutdown: impl Future<Output = ()>) {
    let forever = async {
        let mut backoff = Duration::from_millis(100);
        loop {
            match lead(&saga, &config).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "saga session ended; reconnecting"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(config.max_backoff);
                }
            }
        }
    };
    tokio::select! {
        () = forever => {}
        () = shutdown => tracing::info!("saga stopping"),
    }
}

async fn lead(saga: &OrderSaga, config: &SagaConfig) -> anyhow::Result<()> {
    let session = ConsumerSession::connect(&config.database_url, SAGA, &config.instance).await?;
    let mut announced = false;
    while !session.try_acquire_lease().await? {
        if !announced {
            tracing::info!("saga standing by: another instance holds the lease");
            announced = true;
        }
        tokio::time::sleep(config.standby_interval).await;
    }
    tracing::info!(instance = %config.instance, "active saga");
    let names = TopicNames::new(&config.kafka.topic_prefix);
    let topics: Vec<String> = SAGA_CONTEXTS.iter().map(|c| names.for_context(c)).collect();
    let stored = session.offsets().await?;
    let consumer = inbound::open_at(&config.kafka, SAGA, &topics, &stored)
        .context("opening the saga's topics")?;
    let producer: FutureProducer = config.kafka.producer().create()?;
    let dead_letters = names.dead_letter(SAGA);
    let mut stream = consumer.stream();
    while let Some(message) = stream.next().await {
        let message = message.context("reading from the broker")?;
        match InboundEvent::from_message(&message) {
            Ok(event) => {
                if let Handled::DeadLetter(error) = handle(saga, &event, config, &session).await? {
                    inbound::dead_letter(&producer, &dead_letters, &message, &error).await?;
                    tracing::error!(event_id = %event.event_id, event_type = %event.event_type, %error, "saga dead-lettered an event");
                }
            }
            Err(unroutable) => {
                inbound::dead_letter(&producer, &dead_letters, &message, &unroutable.to_string())
                    .await?;
                tracing::error!(%unroutable, "saga dead-lettered a message");
            }
        }
        session
            .save(message.topic(), message.partition(), message.offset() + 1)
            .await?;
    }
    Ok(())
}

enum Handled {
    Done,
    DeadLetter(String),
}

/// Handles one event, retrying transient failures with back-off for as long as the lease
/// holds. An error means the lease may be lost: the caller stops without saving the offset.
async fn handle(
    saga: &OrderSaga,
    event: &InboundEvent,
    config: &SagaConfig,
    session: &ConsumerSession,
) -> anyhow::Result<Handled> {
    let saga_event = SagaEvent {
        event_id: event.event_id,
        event_type: event.event_type.clone(),
        tenant_id: TenantId::from_uuid(event.tenant_id),
        aggregate_id: event.aggregate_id.clone(),
        correlation_id: event.correlation_id,
        traceparent: event.traceparent.clone(),
    };
    let mut backoff = Duration::from_millis(50);
    loop {
        match saga.handle(&saga_event).await {
            Ok(()) => return Ok(Handled::Done),
            Err(SagaError::Poison(reason)) => return Ok(Handled::DeadLetter(reason)),
            Err(SagaError::Transient(reason)) => {
                if session.is_closed() {
                    // Without the lease another instance may take over; it redoes this event.
                    anyhow::bail!("saga session lost while retrying: {reason}");
                }
                tracing::warn!(event_id = %event.event_id, %reason, "saga step failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(config.max_backoff);
            }
        }
    }
}
