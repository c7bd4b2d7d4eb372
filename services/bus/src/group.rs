//! A consumer-group member for projectors: Kafka decides which partitions each instance
//! reads, the caller decides where each partition starts.
//!
//! The rebalance callback does not assign. It hands the partitions to the caller, which
//! claims them in its own store (fencing the previous owner) and then calls
//! [`assign_at`] with the stored offsets; librdkafka waits for that call. Revocation
//! unassigns at once, so nothing more is fetched for partitions this member lost.
use crate::kafka::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::mpsc;

/// A change of this member's partitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rebalance {
    /// Claim these, then [`assign_at`] them.
    Assigned(Vec<(String, i32)>),
    /// Already unassigned: forget them.
    Revoked(Vec<(String, i32)>),
}

pub struct GroupContext {
    rebalances: mpsc::UnboundedSender<Rebalance>,
}

impl ClientContext for GroupContext {}

fn partitions(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}

impl ConsumerContext for GroupContext {
    fn rebalance(
        &self,
        base_consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let _ = self.rebalances.send(Rebalance::Assigned(partitions(tpl)));
            }
            _ => {
                if let Err(error) = base_consumer.unassign() {
                    tracing::warn!(%error, "unassigning revoked partitions failed");
                }
                let _ = self.rebalances.send(Rebalance::Revoked(partitions(tpl)));
            }
        }
    }
}

pub type GroupConsumer = StreamConsumer<GroupContext>;

/// Joins `group` and subscribes to `topics`; rebalances arrive on the returned channel while
/// the consumer's stream is polled.
pub fn subscribe(
    config: &KafkaConfig,
    group: &str,
    topics: &[String],
) -> Result<(GroupConsumer, mpsc::UnboundedReceiver<Rebalance>), KafkaError> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let mut client = config.reader(group);
    client
        // Eager protocol: a rebalance revokes everything, then assigns afresh.
        .set("partition.assignment.strategy", "range")
        // A dead member's partitions move on after this long.
        .set("session.timeout.ms", config.session_timeout_ms.to_string())
        .set(
            "heartbeat.interval.ms",
            (config.session_timeout_ms / 3).max(100).to_string(),
        );
    let consumer: GroupConsumer =
        client.create_with_context(GroupContext { rebalances: sender })?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&names)?;
    Ok((consumer, receiver))
}

/// Assigns the member's whole current assignment, each partition at its stored next offset.
pub fn assign_at(consumer: &GroupConsumer, at: &[(String, i32, i64)]) -> Result<(), KafkaError> {
    let mut tpl = TopicPartitionList::new();
    for (topic, partition, next) in at {
        tpl.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
    }
    consumer.assign(&tpl)
}

/// The partition's end (one broker round trip, off the async threads), for lag.
pub async fn high_watermark(
    consumer: std::sync::Arc<GroupConsumer>,
    topic: String,
    partition: i32,
) -> Option<i64> {
    tokio::task::spawn_blocking(move || {
        consumer
            .fetch_watermarks(&topic, partition, std::time::Duration::from_secs(2))
            .ok()
            .map(|(_, high)| high)
    })
    .await
    .ok()
    .flatten()
}
