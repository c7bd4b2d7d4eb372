//! Kafka client settings shared by producer, admin and consumers.
use rdkafka::ClientConfig;

/// How to reach the broker and shape the topics; read from the environment by the binary.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: String,
    /// Prepended to every topic name (tests use a random one; production leaves it empty).
    pub topic_prefix: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub retention_ms: i64,
    /// How long the producer keeps retrying one message before reporting it failed; `0`
    /// (the default) retries until the broker is back. A finite timeout lets later messages
    /// overtake a timed-out one and makes librdkafka bump the producer epoch, which some
    /// brokers (tansu 0.6) answer by fencing the producer; the relay then re-sends the batch
    /// on a new producer, so nothing is lost, but consumers may see a sequence jump ahead
    /// before the re-sent messages fill it.
    pub message_timeout_ms: u64,
    /// Consumer-group members (projectors): how long a silent member keeps its partitions.
    pub session_timeout_ms: u64,
}

impl KafkaConfig {
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic_prefix: String::new(),
            partitions: 6,
            replication_factor: 1,
            retention_ms: 7 * 24 * 3600 * 1000,
            message_timeout_ms: 0,
            session_timeout_ms: 10_000,
        }
    }

    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        config
    }

    /// Idempotent, fully acknowledged, partitioned like the Java client (design §3).
    pub fn producer(&self) -> ClientConfig {
        let mut config = self.base();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "5")
            .set("partitioner", "murmur2_random")
            .set("linger.ms", "2")
            .set("message.timeout.ms", self.message_timeout_ms.to_string());
        config
    }

    pub fn admin(&self) -> ClientConfig {
        self.base()
    }

    /// A consumer that never commits offsets to the broker (readers that keep their own
    /// position, or none).
    pub fn reader(&self, group_id: &str) -> ClientConfig {
        let mut config = self.base();
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            // tansu 0.6 holds every fetch for the full wait even when data is ready; 100 ms
            // keeps tails and tests responsive and costs a real broker nothing.
            .set("fetch.wait.max.ms", "100");
        config
    }
}
