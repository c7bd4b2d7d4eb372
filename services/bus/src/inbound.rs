//! Reading the context topics as an in-house consumer that keeps its own offsets (the order
//! saga): every partition of the given topics assigned at stored positions, and the routing
//! facts of each message taken from its headers.
use crate::kafka::KafkaConfig;
use crate::publisher::headers;
use crate::tail::partition_count;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// Where a message sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coordinates {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// What a consumer routes on, from a message's headers (design §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundEvent {
    pub coordinates: Coordinates,
    pub event_id: Uuid,
    pub event_type: String,
    pub tenant_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub correlation_id: Option<Uuid>,
    pub traceparent: Option<String>,
}

/// A message that cannot be routed: it goes to a dead-letter topic, not into a retry loop.
#[derive(Debug, thiserror::Error)]
#[error("message {topic}/{partition}@{offset} cannot be routed: {reason}")]
pub struct Unroutable {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub reason: String,
}

impl InboundEvent {
    pub fn from_message(message: &BorrowedMessage<'_>) -> Result<Self, Unroutable> {
        let coordinates = Coordinates {
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        };
        let mut found: HashMap<&str, String> = HashMap::new();
        if let Some(hs) = message.headers() {
            for h in hs.iter() {
                if let Some(value) = h.value {
                    found.insert(h.key, String::from_utf8_lossy(value).into_owned());
                }
            }
        }
        let unroutable = |reason: String| Unroutable {
            topic: coordinates.topic.clone(),
            partition: coordinates.partition,
            offset: coordinates.offset,
            reason,
        };
        let mut take = |name: &str| {
            found
                .remove(name)
                .ok_or_else(|| unroutable(format!("header `{name}` is missing")))
        };
        let event_id = take(headers::EVENT_ID)?;
        let event_type = take(headers::EVENT_TYPE)?;
        let tenant_id = take(headers::TENANT_ID)?;
        let aggregate_type = take(headers::AGGREGATE_TYPE)?;
        let aggregate_id = take(headers::AGGREGATE_ID)?;
        let sequence = take(headers::SEQUENCE)?;
        let traceparent = take(headers::TRACEPARENT).ok();
        let correlation_id = take(headers::CORRELATION_ID)
            .ok()
            .and_then(|c| Uuid::parse_str(&c).ok());
        let uuid = |name: &str, s: &str| {
            Uuid::parse_str(s).map_err(|_| unroutable(format!("header `{name}` is not a UUID")))
        };
        Ok(Self {
            event_id: uuid(headers::EVENT_ID, &event_id)?,
            tenant_id: uuid(headers::TENANT_ID, &tenant_id)?,
            sequence: sequence
                .parse()
                .map_err(|_| unroutable("header `sequence` is not a number".into()))?,
            event_type,
            aggregate_type,
            aggregate_id,
            correlation_id,
            traceparent,
            coordinates,
        })
    }
}

/// A consumer assigned to every partition of `topics`, each starting at its stored next
/// offset, or at the beginning when none is stored. Not a group member: the caller holds a
/// lease that makes it the only reader of this name.
pub fn open_at(
    config: &KafkaConfig,
    name: &str,
    topics: &[String],
    stored: &HashMap<(String, i32), i64>,
) -> Result<StreamConsumer, KafkaError> {
    let consumer: StreamConsumer = config.reader(&format!("optical-erp-{name}")).create()?;
    let mut assignment = TopicPartitionList::new();
    for topic in topics {
        for partition in 0..partition_count(config, topic)? {
            let offset = stored
                .get(&(topic.clone(), partition))
                .map_or(Offset::Beginning, |next| Offset::Offset(*next));
            assignment.add_partition_offset(topic, partition, offset)?;
        }
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// Copies a message that cannot be handled to `dead_letter_topic`, bytes, key and headers
/// unchanged, plus `error` and where it came from; returns once the broker acknowledged it.
pub async fn dead_letter(
    producer: &FutureProducer,
    dead_letter_topic: &str,
    message: &BorrowedMessage<'_>,
    error: &str,
) -> Result<(), KafkaError> {
    let mut copied = OwnedHeaders::new();
    if let Some(hs) = message.headers() {
        for h in hs.iter() {
            copied = copied.insert(Header {
                key: h.key,
                value: h.value,
            });
        }
    }
    let origin = format!(
        "{}/{}@{}",
        message.topic(),
        message.partition(),
        message.offset()
    );
    copied = copied
        .insert(Header {
            key: headers::ERROR,
            value: Some(error),
        })
        .insert(Header {
            key: "origin",
            value: Some(&origin),
        });
    let mut record = FutureRecord::<[u8], [u8]>::to(dead_letter_topic).headers(copied);
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    if let Some(payload) = message.payload() {
        record = record.payload(payload);
    }
    producer
        .send(record, Duration::from_secs(30))
        .await
        .map(|_| ())
        .map_err(|(error, _)| error)
}
