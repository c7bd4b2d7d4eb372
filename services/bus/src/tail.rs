//! Reading a topic back as JSON lines: the partner's view of the log.
use crate::codec::AvroCodec;
use crate::kafka::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Where a tail starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Beginning,
    End,
}

/// A consumer assigned to every partition of `topic`, without a consumer group's offsets.
pub fn open(
    config: &KafkaConfig,
    topic: &str,
    start: StartAt,
) -> Result<StreamConsumer, KafkaError> {
    let group = format!("optical-erp-tail-{}", uuid::Uuid::now_v7());
    let consumer: StreamConsumer = config.reader(&group).create()?;
    let partitions = partition_count(config, topic)?;
    let offset = match start {
        StartAt::Beginning => Offset::Beginning,
        StartAt::End => Offset::End,
    };
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment.add_partition_offset(topic, partition, offset)?;
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// Number of partitions of an existing topic.
pub fn partition_count(config: &KafkaConfig, topic: &str) -> Result<i32, KafkaError> {
    let probe: BaseConsumer = config.reader("optical-erp-metadata").create()?;
    let metadata = probe.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let count = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    match i32::try_from(count) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(KafkaError::MetadataFetch(
            rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition,
        )),
    }
}

/// One message as a JSON object: coordinates, key, headers and the decoded body (or the
/// decoding error and the raw bytes in hex, so a bad message is still visible).
pub async fn to_json_line(codec: &AvroCodec, message: &BorrowedMessage<'_>) -> Value {
    let mut headers = Map::new();
    if let Some(hs) = message.headers() {
        for h in hs.iter() {
            let value = h.value.map(|v| String::from_utf8_lossy(v).into_owned());
            headers.insert(
                h.key.to_owned(),
                value.map(Value::String).unwrap_or(Value::Null),
            );
        }
    }
    let mut line = json!({
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp_ms": message.timestamp().to_millis(),
        "key": message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        "headers": headers,
    });
    let payload = message.payload().unwrap_or_default();
    match codec.decode(payload).await {
        Ok(decoded) => {
            line["schema"] = json!(decoded.schema_full_name);
            line["value"] = decoded.body;
        }
        Err(error) => {
            line["decode_error"] = json!(error.to_string());
            line["value_hex"] = json!(hex::encode(payload));
        }
    }
    line
}
