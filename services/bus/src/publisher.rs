//! Publishing recorded events: encode, attach headers, send, wait for acknowledgements.
use crate::codec::{AvroCodec, CodecError, EncodedEvent};
use crate::kafka::KafkaConfig;
use crate::topics::TopicNames;
use chrono::SecondsFormat;
use optical_kernel::RecordedEvent;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use thiserror::Error;

/// Header names on every message (design §3).
pub mod headers {
    pub const EVENT_ID: &str = "event_id";
    pub const EVENT_TYPE: &str = "event_type";
    pub const EVENT_VERSION: &str = "event_version";
    pub const TENANT_ID: &str = "tenant_id";
    pub const AGGREGATE_TYPE: &str = "aggregate_type";
    pub const AGGREGATE_ID: &str = "aggregate_id";
    pub const SEQUENCE: &str = "sequence";
    pub const OCCURRED_AT: &str = "occurred_at";
    pub const CORRELATION_ID: &str = "correlation_id";
    pub const CAUSATION_ID: &str = "causation_id";
    pub const TRACEPARENT: &str = "traceparent";
    /// `crc64-avro:<hex>` or `confluent:<id>`.
    pub const SCHEMA_ID: &str = "schema_id";
    /// The record's full name, e.g. `optical.catalog.ProductCreated`.
    pub const SCHEMA_NAME: &str = "schema_name";
    pub const CONTENT_TYPE: &str = "content-type";
    /// On dead-lettered messages only: why the event could not be encoded.
    pub const ERROR: &str = "error";
}

#[derive(Debug, Error)]
pub enum PublishError {
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("event {event_id} was not acknowledged: {source}")]
    NotAcknowledged {
        event_id: uuid::Uuid,
        #[source]
        source: KafkaError,
    },
    #[error("codec: {0}")]
    Codec(#[from] CodecError),
}

impl PublishError {
    /// Errors after which this producer id never sends again. After a message timed out,
    /// librdkafka bumps the idempotent producer's epoch; a broker that refuses the bump (tansu
    /// 0.6 answers `ProducerFenced`) leaves the producer failing every send without flagging
    /// it fatal, so the code is what tells.
    pub fn needs_new_producer(&self) -> bool {
        let code = match self {
            PublishError::NotAcknowledged { source, .. } | PublishError::Kafka(source) => {
                source.rdkafka_error_code()
            }
            PublishError::Codec(_) => None,
        };
        matches!(
            code,
            Some(
                RDKafkaErrorCode::ProducerFenced
                    | RDKafkaErrorCode::InvalidProducerEpoch
                    | RDKafkaErrorCode::UnknownProducerId
                    | RDKafkaErrorCode::OutOfOrderSequenceNumber
                    | RDKafkaErrorCode::InvalidProducerIdMapping
                    | RDKafkaErrorCode::Fatal
            )
        )
    }
}

/// What happened to one batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PublishReport {
    pub published: usize,
    /// Events that could not be encoded and went to the dead-letter topic instead.
    pub dead_lettered: usize,
}

pub struct Publisher {
    config: KafkaConfig,
    /// Replaced when librdkafka reports a fatal error (e.g. the idempotent producer was fenced
    /// after an epoch bump): a fatal producer never sends again.
    producer: Mutex<FutureProducer>,
    codec: AvroCodec,
    topics: TopicNames,
    max_in_flight: usize,
}

impl Publisher {
    pub fn new(
        config: &KafkaConfig,
        codec: AvroCodec,
        max_in_flight: usize,
    ) -> Result<Self, KafkaError> {
        Ok(Self {
            config: config.clone(),
            producer: Mutex::new(config.producer().create()?),
            codec,
            topics: TopicNames::new(&config.topic_prefix),
            max_in_flight: max_in_flight.max(1),
        })
    }

    /// Sends `events` in order and returns once the broker acknowledged every one of them.
    /// An error means some may have been delivered: the caller re-sends the batch, and
    /// consumers drop the duplicates by event id or aggregate sequence.
    pub async fn publish(&self, events: &[RecordedEvent]) -> Result<PublishReport, PublishError> {
        let producer = self.producer();
        let result = self.publish_with(&producer, events).await;
        if let Err(error) = &result {
            let fatal = producer.client().fatal_error();
            if fatal.is_some() || error.needs_new_producer() {
                tracing::warn!(%error, ?fatal, "producer cannot recover; starting a new one");
                self.replace_producer()?;
            }
        }
        result
    }

    fn producer(&self) -> FutureProducer {
        self.producer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn replace_producer(&self) -> Result<(), KafkaError> {
        let fresh: FutureProducer = self.config.producer().create()?;
        *self
            .producer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        Ok(())
    }

    async fn publish_with(
        &self,
        producer: &FutureProducer,
        events: &[RecordedEvent],
    ) -> Result<PublishReport, PublishError> {
        let mut report = PublishReport::default();
        let mut in_flight: VecDeque<(uuid::Uuid, DeliveryFuture)> = VecDeque::new();
        for event in events {
            let topic = self.topics.for_context(event.context());
            let (topic, payload, headers) = match self
                .codec
                .encode(&topic, &event.event_type, &event.payload)
                .await
            {
                // A registry that cannot be reached is an outage, not a bad event: retry the batch.
                Err(error @ CodecError::Registry(_)) => return Err(error.into()),
                Ok(encoded) => {
                    report.published += 1;
                    let headers = event_headers(event, Some(&encoded));
                    (topic, encoded.bytes, headers)
                }
                Err(error) => {
                    // Not publishable as a contract, but never dropped: park the stored JSON
                    // where operators look, with the reason.
                    tracing::error!(event_id = %event.event_id, event_type = %event.event_type, %error, "event dead-lettered by the relay");
                    report.dead_lettered += 1;
                    let headers = event_headers(event, None).insert(Header {
                        key: headers::ERROR,
                        value: Some(&error.to_string()),
                    });
                    (
                        self.topics.relay_dead_letter(),
                        serde_json::to_vec(&event.payload).unwrap_or_default(),
                        headers,
                    )
                }
            };
            loop {
                let record = FutureRecord::to(&topic)
                    .key(&event.aggregate_id)
                    .payload(&payload)
                    .headers(headers.clone());
                match producer.send_result(record) {
                    Ok(delivery) => {
                        in_flight.push_back((event.event_id, delivery));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        // The local queue is full: make room by waiting for the oldest message.
                        match in_flight.pop_front() {
                            Some(oldest) => await_delivery(oldest).await?,
                            None => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                    Err((error, _)) => return Err(error.into()),
                }
            }
            while in_flight.len() >= self.max_in_flight {
                if let Some(oldest) = in_flight.pop_front() {
                    await_delivery(oldest).await?;
                }
            }
        }
        while let Some(oldest) = in_flight.pop_front() {
            await_delivery(oldest).await?;
        }
        Ok(report)
    }

    /// Waits for queued messages (used before a clean shutdown).
    pub fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        self.producer().flush(timeout)
    }
}

async fn await_delivery(
    (event_id, delivery): (uuid::Uuid, DeliveryFuture),
) -> Result<(), PublishError> {
    match delivery.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((source, _))) => Err(PublishError::NotAcknowledged { event_id, source }),
        Err(_cancelled) => Err(PublishError::NotAcknowledged {
            event_id,
            source: KafkaError::Canceled,
        }),
    }
}

/// The headers of design §3. A root event (no cause) names its correlation as its cause, and an
/// event written without trace context gets one derived from its id, so both are always there.
pub fn event_headers(event: &RecordedEvent, encoded: Option<&EncodedEvent>) -> OwnedHeaders {
    let meta = &event.metadata;
    let causation = meta.causation_id.unwrap_or(meta.correlation_id).to_string();
    let traceparent = meta
        .traceparent
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| new_traceparent(event.event_id));
    let pairs: Vec<(&str, String)> = vec![
        (headers::EVENT_ID, event.event_id.to_string()),
        (headers::EVENT_TYPE, event.event_type.clone()),
        (headers::EVENT_VERSION, event.event_version.clone()),
        (headers::TENANT_ID, meta.tenant_id.to_string()),
        (headers::AGGREGATE_TYPE, event.aggregate_type.clone()),
        (headers::AGGREGATE_ID, event.aggregate_id.clone()),
        (headers::SEQUENCE, event.sequence.to_string()),
        (
            headers::OCCURRED_AT,
            meta.occurred_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        ),
        (headers::CORRELATION_ID, meta.correlation_id.to_string()),
        (headers::CAUSATION_ID, causation),
        (headers::TRACEPARENT, traceparent),
    ];
    let mut owned = OwnedHeaders::new_with_capacity(pairs.len() + 3);
    for (key, value) in &pairs {
        owned = owned.insert(Header {
            key,
            value: Some(value.as_str()),
        });
    }
    match encoded {
        Some(encoded) => owned
            .insert(Header {
                key: headers::SCHEMA_ID,
                value: Some(encoded.schema_ref.as_str()),
            })
            .insert(Header {
                key: headers::SCHEMA_NAME,
                value: Some(encoded.schema_full_name.as_str()),
            })
            .insert(Header {
                key: headers::CONTENT_TYPE,
                value: Some("application/avro"),
            }),
        None => owned.insert(Header {
            key: headers::CONTENT_TYPE,
            value: Some("application/json"),
        }),
    }
}

/// A W3C trace context for an event written without one, derived from the event id so that
/// every re-send of the event carries the same trace.
fn new_traceparent(event_id: uuid::Uuid) -> String {
    let hex = event_id.simple().to_string();
    format!("00-{hex}-{}-01", &hex[16..])
}
