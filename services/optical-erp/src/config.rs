//! Process configuration from environment variables (documented in `.env.example`).
use anyhow::Context as _;
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
    /// Consumer-group members (projectors): how long a silent member keeps its partitions.
    #[arg(long, env = "KAFKA_SESSION_TIMEOUT_MS", default_value_t = 10_000)]
    pub kafka_session_timeout_ms: u64,
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
        config.session_timeout_ms = self.kafka_session_timeout_ms;
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

#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Development only: verify HS256 tokens with this shared secret (at least 32 bytes).
    #[arg(long, env = "AUTH_HS256_SECRET", hide_env_values = true)]
    pub auth_hs256_secret: Option<String>,
    /// Production: verify RS256/ES256 tokens with the keys of this JWKS document …
    #[arg(long, env = "AUTH_JWKS_FILE", conflicts_with = "auth_hs256_secret")]
    pub auth_jwks_file: Option<std::path::PathBuf>,
    /// … or of this JWKS URL (refetched when a token names an unknown key).
    #[arg(long, env = "AUTH_JWKS_URL", conflicts_with_all = ["auth_hs256_secret", "auth_jwks_file"])]
    pub auth_jwks_url: Option<String>,
    /// When set, tokens must carry this `iss`.
    #[arg(long, env = "AUTH_ISSUER")]
    pub auth_issuer: Option<String>,
    /// When set, tokens must carry this `aud`.
    #[arg(long, env = "AUTH_AUDIENCE")]
    pub auth_audience: Option<String>,
}

impl AuthArgs {
    pub fn auth_config(&self) -> anyhow::Result<optical_api::auth::AuthConfig> {
        use optical_api::auth::{AuthConfig, KeySource};
        let keys = match (
            &self.auth_hs256_secret,
            &self.auth_jwks_file,
            &self.auth_jwks_url,
        ) {
            (Some(secret), None, None) => KeySource::Hs256Secret(secret.clone()),
            (None, Some(file), None) => KeySource::JwksFile(file.clone()),
            (None, None, Some(url)) => KeySource::JwksUrl(url.clone()),
            _ => anyhow::bail!(
                "configure exactly one of AUTH_HS256_SECRET (development), AUTH_JWKS_FILE or AUTH_JWKS_URL"
            ),
        };
        let mut config = AuthConfig::new(keys);
        config.issuer = self.auth_issuer.clone();
        config.audience = self.auth_audience.clone();
        Ok(config)
    }
}

#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// Address the HTTP API listens on.
    #[arg(long, env = "API_BIND", default_value = "127.0.0.1:8080")]
    pub api_bind: String,
    /// HTTP worker threads.
    #[arg(long, env = "API_WORKERS", default_value_t = 2)]
    pub api_workers: usize,
    /// Largest accepted request body in bytes; larger bodies answer 413.
    #[arg(long, env = "API_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub api_max_body_bytes: usize,
    /// How long a reservation request waits for its queued decision before answering 202.
    #[arg(long, env = "API_RESERVATION_WAIT_MS", default_value_t = 10_000)]
    pub api_reservation_wait_ms: u64,
    /// How long a query sent with `X-Consistency-Token` waits for its projection before
    /// answering 503 `stale_read`.
    #[arg(long, env = "READ_CONSISTENCY_WAIT_MS", default_value_t = 2_000)]
    pub read_consistency_wait_ms: u64,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub workers: WorkerArgs,
    #[command(flatten)]
    pub personal: PersonalDataArgs,
    /// Signs the expiring download links of Rx scans: at least 32 bytes (e.g. `openssl rand
    /// -hex 32`). Required by the API.
    #[arg(long, env = "DOCUMENT_LINK_SECRET", hide_env_values = true)]
    pub document_link_secret: Option<String>,
    /// How long a scan download link stays valid.
    #[arg(long, env = "DOCUMENT_LINK_TTL_SECONDS", default_value_t = 300)]
    pub document_link_ttl_seconds: u64,
    /// Payment providers allowed to call `POST /api/v1/payments/webhooks/{provider}`, with
    /// the HMAC-SHA256 secret each signs its bodies with: `provider=secret,…`.
    #[arg(
        long,
        env = "PAYMENT_WEBHOOK_SECRETS",
        default_value = "",
        hide_env_values = true
    )]
    pub payment_webhook_secrets: String,
    /// The sphere range (dioptres) a prescription entered through the API must keep to.
    #[arg(long, env = "RX_SPHERE_MIN", default_value_t = -30.0, allow_hyphen_values = true)]
    pub rx_sphere_min: f64,
    #[arg(long, env = "RX_SPHERE_MAX", default_value_t = 30.0)]
    pub rx_sphere_max: f64,
    /// The cylinder range (dioptres), in either cylinder form.
    #[arg(long, env = "RX_CYLINDER_MIN", default_value_t = -10.0, allow_hyphen_values = true)]
    pub rx_cylinder_min: f64,
    #[arg(long, env = "RX_CYLINDER_MAX", default_value_t = 10.0)]
    pub rx_cylinder_max: f64,
}

impl ApiArgs {
    pub fn prescription_limits(&self) -> anyhow::Result<optical_api::PrescriptionLimits> {
        Ok(optical_api::PrescriptionLimits::new(
            self.rx_sphere_min,
            self.rx_sphere_max,
            self.rx_cylinder_min,
            self.rx_cylinder_max,
        )?)
    }

    pub fn document_links(&self) -> anyhow::Result<optical_api::DocumentLinks> {
        let secret = self
            .document_link_secret
            .as_deref()
            .context("DOCUMENT_LINK_SECRET is required (at least 32 bytes)")?;
        Ok(optical_api::DocumentLinks::new(
            secret.as_bytes().to_vec(),
            Duration::from_secs(self.document_link_ttl_seconds),
        )?)
    }

    pub fn webhook_secrets(&self) -> anyhow::Result<optical_api::WebhookSecrets> {
        Ok(optical_api::WebhookSecrets::parse(
            &self.payment_webhook_secrets,
        )?)
    }
}

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Workers deciding queued reservation requests (0: this process decides none).
    #[arg(long, env = "RESERVATION_WORKERS", default_value_t = 4)]
    pub reservation_workers: usize,
    /// Reservation requests of one stock level decided per append.
    #[arg(long, env = "RESERVATION_BATCH_SIZE", default_value_t = 32)]
    pub reservation_batch_size: i64,
    /// How often due reservations are expired.
    #[arg(long, env = "RESERVATION_EXPIRY_INTERVAL_MS", default_value_t = 1_000)]
    pub reservation_expiry_interval_ms: u64,
}

impl WorkerArgs {
    pub fn worker_config(&self) -> optical_app::WorkerConfig {
        optical_app::WorkerConfig {
            reservation_workers: self.reservation_workers,
            batch_size: self.reservation_batch_size,
            expiry_interval: Duration::from_millis(self.reservation_expiry_interval_ms),
            ..optical_app::WorkerConfig::default()
        }
    }
}

/// Where patients' personal data is protected (design §4): the master key that wraps every
/// patient's data key, and the object storage of sealed Rx scans.
#[derive(Debug, Clone, Args)]
pub struct PersonalDataArgs {
    /// The current master key: 32 random bytes, base64 (`openssl rand -base64 32`).
    /// Required by every process that reads or writes patient data.
    #[arg(long, env = "PII_MASTER_KEY", hide_env_values = true)]
    pub pii_master_key: Option<String>,
    /// The current master key's id, stored beside every data key it wraps.
    #[arg(long, env = "PII_MASTER_KEY_ID", default_value = "k1")]
    pub pii_master_key_id: String,
    /// Retired master keys that may still unwrap data keys during a rotation: `id:base64,…`.
    #[arg(
        long,
        env = "PII_PREVIOUS_MASTER_KEYS",
        default_value = "",
        hide_env_values = true
    )]
    pub pii_previous_master_keys: String,
    /// Object storage for sealed documents: `file:///abs/dir`, `s3://bucket/prefix` (AWS_*
    /// variables, S3-compatible endpoints via AWS_ENDPOINT), or `memory:///` (lost on exit).
    #[arg(
        long,
        env = "DOCUMENTS_URL",
        default_value = "file:///var/tmp/optical-erp/documents"
    )]
    pub documents_url: String,
}

impl PersonalDataArgs {
    pub fn personal_data(&self) -> anyhow::Result<optical_app::PersonalData> {
        let key = self
            .pii_master_key
            .as_deref()
            .context("PII_MASTER_KEY is required (32 random bytes, base64)")?;
        let master_keys = optical_event_store::MasterKeys::new(&self.pii_master_key_id, key)?
            .with_previous(&self.pii_previous_master_keys)?;
        Ok(optical_app::PersonalData {
            master_keys,
            documents: documents(&self.documents_url)?,
        })
    }
}

/// The object store a `DOCUMENTS_URL` names; a local directory is created if missing.
pub fn documents(url: &str) -> anyhow::Result<std::sync::Arc<dyn object_store::ObjectStore>> {
    let parsed = url::Url::parse(url).with_context(|| format!("DOCUMENTS_URL `{url}`"))?;
    if parsed.scheme() == "file" {
        let dir = parsed
            .to_file_path()
            .map_err(|()| anyhow::anyhow!("DOCUMENTS_URL `{url}` is not an absolute path"))?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        return Ok(std::sync::Arc::new(
            object_store::local::LocalFileSystem::new_with_prefix(dir)?,
        ));
    }
    let (store, prefix) = object_store::parse_url_opts(&parsed, std::env::vars())
        .with_context(|| format!("DOCUMENTS_URL `{url}`"))?;
    if prefix.as_ref().is_empty() {
        Ok(std::sync::Arc::from(store))
    } else {
        Ok(std::sync::Arc::new(object_store::prefix::PrefixStore::new(
            store, prefix,
        )))
    }
}

#[derive(Debug, Clone, Args)]
pub struct LabPrintArgs {
    /// This process, as shown in `pg_stat_activity`; one consumer is active, others stand by
    /// (every instance delivers spooled tickets).
    #[arg(long, env = "LAB_PRINT_INSTANCE")]
    pub lab_print_instance: Option<String>,
    /// Delivery attempts before a ticket is parked and `lab.print_job.failed` recorded.
    #[arg(long, env = "LAB_PRINT_MAX_ATTEMPTS", default_value_t = 8)]
    pub lab_print_max_attempts: i32,
    /// The first retry's delay, doubled per attempt up to `LAB_PRINT_RETRY_MAX_MS`.
    #[arg(long, env = "LAB_PRINT_RETRY_BASE_MS", default_value_t = 2_000)]
    pub lab_print_retry_base_ms: u64,
    #[arg(long, env = "LAB_PRINT_RETRY_MAX_MS", default_value_t = 300_000)]
    pub lab_print_retry_max_ms: u64,
    /// Connect and read/write timeouts towards printers.
    #[arg(long, env = "LAB_PRINT_CONNECT_TIMEOUT_MS", default_value_t = 3_000)]
    pub lab_print_connect_timeout_ms: u64,
    #[arg(long, env = "LAB_PRINT_IO_TIMEOUT_MS", default_value_t = 5_000)]
    pub lab_print_io_timeout_ms: u64,
    /// How long an IPP printer may take to complete a job.
    #[arg(long, env = "LAB_PRINT_IPP_JOB_TIMEOUT_MS", default_value_t = 60_000)]
    pub lab_print_ipp_job_timeout_ms: u64,
}

impl LabPrintArgs {
    pub fn config(
        &self,
        database_url: &str,
        kafka: optical_bus::KafkaConfig,
    ) -> crate::lab_print::LabPrintConfig {
        use std::time::Duration;
        crate::lab_print::LabPrintConfig {
            database_url: database_url.to_owned(),
            kafka,
            instance: self
                .lab_print_instance
                .clone()
                .unwrap_or_else(|| format!("pid-{}", std::process::id())),
            max_backoff: Duration::from_secs(5),
            standby_interval: Duration::from_millis(500),
            delivery: crate::lab_print::DeliveryConfig {
                max_attempts: self.lab_print_max_attempts.max(1),
                retry_base: Duration::from_millis(self.lab_print_retry_base_ms),
                retry_max: Duration::from_millis(self.lab_print_retry_max_ms),
                connect_timeout: Duration::from_millis(self.lab_print_connect_timeout_ms),
                io_timeout: Duration::from_millis(self.lab_print_io_timeout_ms),
                ipp_job_timeout: Duration::from_millis(self.lab_print_ipp_job_timeout_ms),
                poll_interval: Duration::from_millis(200),
            },
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct SagaArgs {
    /// This process, as shown in `pg_stat_activity`; one saga is active, others stand by.
    #[arg(long, env = "SAGA_INSTANCE")]
    pub saga_instance: Option<String>,
    /// Upper bound of the back-off while a step keeps failing for a transient reason.
    #[arg(long, env = "SAGA_MAX_BACKOFF_MS", default_value_t = 5_000)]
    pub saga_max_backoff_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ProjectorArgs {
    /// This process as the owner of the partitions it claims (default: `pid-<pid>`).
    #[arg(long, env = "PROJECTOR_INSTANCE")]
    pub projector_instance: Option<String>,
    /// Messages applied per transaction, at most.
    #[arg(long, env = "PROJECTOR_BATCH_SIZE", default_value_t = 500)]
    pub projector_batch_size: usize,
    /// Tries of an event that fails before it goes to the projection's dead-letter topic.
    #[arg(long, env = "PROJECTOR_MAX_ATTEMPTS", default_value_t = 5)]
    pub projector_max_attempts: u32,
    /// First back-off between tries; doubles up to PROJECTOR_MAX_BACKOFF_MS.
    #[arg(long, env = "PROJECTOR_RETRY_BASE_MS", default_value_t = 100)]
    pub projector_retry_base_ms: u64,
    #[arg(long, env = "PROJECTOR_MAX_BACKOFF_MS", default_value_t = 5_000)]
    pub projector_max_backoff_ms: u64,
    /// How often each projector records its partitions' lag.
    #[arg(long, env = "PROJECTOR_LAG_INTERVAL_MS", default_value_t = 5_000)]
    pub projector_lag_interval_ms: u64,
}

impl ProjectorArgs {
    pub fn projector_config(
        &self,
        database_url: &str,
        kafka: &KafkaArgs,
        codec: optical_bus::AvroCodec,
        keys: optical_event_store::DataKeys,
    ) -> crate::project::ProjectorConfig {
        crate::project::ProjectorConfig {
            database_url: database_url.to_owned(),
            kafka: kafka.kafka_config(),
            codec,
            keys,
            instance: self
                .projector_instance
                .clone()
                .unwrap_or_else(|| format!("pid-{}", std::process::id())),
            batch_size: self.projector_batch_size.max(1),
            max_attempts: self.projector_max_attempts.max(1),
            retry_base: std::time::Duration::from_millis(self.projector_retry_base_ms),
            max_backoff: std::time::Duration::from_millis(self.projector_max_backoff_ms),
            lag_interval: std::time::Duration::from_millis(self.projector_lag_interval_ms.max(100)),
        }
    }
}
