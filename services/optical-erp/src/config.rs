//! Process configuration from environment variables (documented in `.env.example`).
use clap::Args;
use optical_bus::KafkaConfig;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL of the application database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/optical_erp"
    )]
    pub database_url: String,
    /// Connections in the pool of each process.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 16)]
    pub database_pool_size: usize,
}

#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:19092")]
    pub kafka_brokers: String,
    /// Prefix of every topic name (empty in production; tests use a random one).
    #[arg(long, env = "KAFKA_TOPIC_PREFIX", default_value = "")]
    pub kafka_topic_prefix: String,
    /// Partitions of each topic created by `topics apply`.
    #[arg(long, env = "KAFKA_TOPIC_PARTITIONS", default_value_t = 6)]
    pub kafka_topic_partitions: i32,
    /// Replication factor of each topic created by `topics apply`.
    #[arg(long, env = "KAFKA_TOPIC_REPLICATION", default_value_t = 1)]
    pub kafka_topic_replication: i32,
    /// Retention of each topic created by `topics apply`.
    #[arg(long, env = "KAFKA_TOPIC_RETENTION_MS", default_value_t = 7 * 24 * 3600 * 1000)]
    pub kafka_topic_retention_ms: i64,
    /// How long the producer retries a message before the relay retries the batch (0: until
    /// the broker is back, which keeps per-aggregate order through outages).
    #[arg(long, env = "KAFKA_MESSAGE_TIMEOUT_MS", default_value_t = 0)]
    pub kafka_message_timeout_ms: u64,
    /// Confluent-compatible schema registry; without it messages use Avro single-object encoding.
    #[arg(long, env = "SCHEMA_REGISTRY_URL")]
    pub schema_registry_url: Option<String>,
}

impl KafkaArgs {
    pub fn kafka_config(&self) -> KafkaConfig {
        let mut config = KafkaConfig::new(&self.kafka_brokers);
        config.topic_prefix = self.kafka_topic_prefix.clone();
        config.partitions = self.kafka_topic_partitions;
        config.replication_factor = self.kafka_topic_replication;
        config.retention_ms = self.kafka_topic_retention_ms;
        config.message_timeout_ms = self.kafka_message_timeout_ms;
        config
    }
}

#[derive(Debug, Clone, Args)]
pub struct RelayArgs {
    /// Relays with the same name share one lease and one checkpoint.
    #[arg(long, env = "RELAY_NAME", default_value = "main")]
    pub relay_name: String,
    /// This process's name in `pg_stat_activity` (default: `pid-<pid>`).
    #[arg(long, env = "RELAY_INSTANCE")]
    pub relay_instance: Option<String>,
    /// Events per batch read from the outbox.
    #[arg(long, env = "RELAY_BATCH_SIZE", default_value_t = 500)]
    pub relay_batch_size: i64,
    /// Messages awaiting acknowledgement at once.
    #[arg(long, env = "RELAY_MAX_IN_FLIGHT", default_value_t = 1000)]
    pub relay_max_in_flight: usize,
    /// Idle poll interval of the active relay.
    #[arg(long, env = "RELAY_POLL_INTERVAL_MS", default_value_t = 10)]
    pub relay_poll_interval_ms: u64,
    /// How often a standby relay tries to take over.
    #[arg(long, env = "RELAY_STANDBY_INTERVAL_MS", default_value_t = 500)]
    pub relay_standby_interval_ms: u64,
}

impl RelayArgs {
    pub fn relay_config(&self, database_url: &str) -> optical_relay::RelayConfig {
        let mut config = optical_relay::RelayConfig::new(database_url);
        config.relay_name = self.relay_name.clone();
        if let Some(instance) = &self.relay_instance {
            config.instance = instance.clone();
        }
        config.batch_size = self.relay_batch_size;
        config.poll_interval = Duration::from_millis(self.relay_poll_interval_ms);
        config.standby_interval = Duration::from_millis(self.relay_standby_interval_ms);
        config
    }
}
