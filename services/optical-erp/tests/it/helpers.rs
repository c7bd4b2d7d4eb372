//! `spawn_*` helpers: a pipeline (database + broker + topics), relays in-process or as real
//! processes, a plain rdkafka consumer that records what partners would see, and writers.
use futures::StreamExt as _;
use optical_app::CatalogApp;
use optical_bus::KafkaConfig;
use optical_catalog::{Colour, FrameAttributes, FrameGeometry, FrameMaterial, FrameShape};
use optical_catalog::{
    ProductId, ProductKind, ProductRef, PublicationStatus, Sku, VariantAttributes, VariantCommand,
    VariantId,
};
use optical_kernel::{Currency, EventMetadata, Money, TenantId};
use optical_testkit::{TestBroker, TestDatabase};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Pipeline {
    pub db: TestDatabase,
    pub broker: TestBroker,
    pub kafka: KafkaConfig,
}

impl Pipeline {
    pub fn topic(&self, context: &str) -> String {
        optical_bus::TopicNames::new(&self.kafka.topic_prefix).for_context(context)
    }
}

pub async fn spawn_pipeline() -> Pipeline {
    let db = TestDatabase::create().await;
    let broker = TestBroker::start();
    let kafka = optical_testkit::kafka_config(&broker);
    optical_testkit::apply_topics(&kafka).await;
    Pipeline { db, broker, kafka }
}

pub fn codec() -> optical_bus::AvroCodec {
    optical_bus::AvroCodec::new(
        Arc::new(optical_bus::SchemaCatalog::embedded().unwrap()),
        None,
    )
}

/// A relay running as a task of this test; aborted when dropped.
pub struct RelayTask(tokio::task::JoinHandle<()>);

impl Drop for RelayTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn relay_config(pipeline: &Pipeline, instance: &str) -> optical_relay::RelayConfig {
    let mut config = optical_relay::RelayConfig::new(&pipeline.db.url);
    config.instance = instance.to_owned();
    config.standby_interval = Duration::from_millis(100);
    config.max_backoff = Duration::from_millis(500);
    config
}

pub fn spawn_relay_task(pipeline: &Pipeline, config: optical_relay::RelayConfig) -> RelayTask {
    let publisher = optical_bus::Publisher::new(&pipeline.kafka, codec(), 1000).unwrap();
    let relay = optical_relay::Relay::new(config, publisher);
    RelayTask(tokio::spawn(async move {
        relay.run(std::future::pending()).await
    }))
}

/// `optical-erp relay` as a real process (so it can be killed with SIGKILL); killed on drop.
pub struct RelayProcess(pub Child);

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl RelayProcess {
    pub fn kill_hard(&mut self) {
        optical_testkit::signal(self.0.id(), "KILL");
        let _ = self.0.wait();
    }
}

pub fn spawn_relay_process(pipeline: &Pipeline, instance: &str, batch_size: usize) -> RelayProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_optical-erp"))
        .arg("relay")
        .env("DATABASE_URL", &pipeline.db.url)
        .env("KAFKA_BROKERS", &pipeline.kafka.brokers)
        .env("KAFKA_TOPIC_PREFIX", &pipeline.kafka.topic_prefix)
        .env("RELAY_INSTANCE", instance)
        .env("RELAY_BATCH_SIZE", batch_size.to_string())
        .env("RELAY_STANDBY_INTERVAL_MS", "100")
        .env("LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    RelayProcess(child)
}

/// The relay instance holding the lease, read from PostgreSQL's lock table.
pub async fn lease_holder(pipeline: &Pipeline) -> Option<String> {
    let client = pipeline.db.client().await;
    client
        .query_opt(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
                AND a.application_name LIKE 'optical-erp-relay:%'",
            &[],
        )
        .await
        .unwrap()
        .map(|row| {
            row.get::<_, String>(0)
                .trim_start_matches("optical-erp-relay:")
                .to_owned()
        })
}

/// Relay sessions connected to the test database (active or standby).
pub async fn relay_sessions(pipeline: &Pipeline) -> Vec<String> {
    let client = pipeline.db.client().await;
    client
        .query(
            "SELECT application_name FROM pg_stat_activity
              WHERE datname = current_database() AND application_name LIKE 'optical-erp-relay:%'
              ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| {
            row.get::<_, String>(0)
                .trim_start_matches("optical-erp-relay:")
                .to_owned()
        })
        .collect()
}

/// One message as a partner's plain consumer saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub topic: String,
    pub partition: i32,
    pub key: String,
    pub headers: HashMap<String, String>,
    pub payload: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn sequence(&self) -> u64 {
        self.header("sequence").parse().unwrap()
    }
}

/// A plain rdkafka consumer reading every partition of some topics from the beginning.
pub struct Collector {
    seen: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Collector {
    pub fn start(pipeline: &Pipeline, topics: &[String]) -> Self {
        let consumer: StreamConsumer = pipeline
            .kafka
            .reader(&format!("collector-{}", optical_testkit::unique_suffix()))
            .create()
            .unwrap();
        let mut assignment = rdkafka::TopicPartitionList::new();
        for topic in topics {
            let partitions = optical_bus::tail::partition_count(&pipeline.kafka, topic).unwrap();
            for p in 0..partitions {
                assignment
                    .add_partition_offset(topic, p, rdkafka::Offset::Beginning)
                    .unwrap();
            }
        }
        consumer.assign(&assignment).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let task = tokio::spawn(async move {
            let mut stream = consumer.stream();
            while let Some(message) = stream.next().await {
                let Ok(message) = message else { continue };
                let mut headers = HashMap::new();
                if let Some(hs) = message.headers() {
                    for h in hs.iter() {
                        headers.insert(
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        );
                    }
                }
                sink.lock().unwrap().push(Received {
                    topic: message.topic().to_owned(),
                    partition: message.partition(),
                    key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                    headers,
                    payload: message.payload().unwrap_or_default().to_vec(),
                });
            }
        });
        Self { seen, task }
    }

    pub fn snapshot(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// Distinct `(aggregate_id, sequence)` pairs seen so far.
    pub fn distinct(&self) -> usize {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .map(|r| (r.key.clone(), r.header("sequence").to_owned()))
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    pub async fn wait_for_distinct(&self, count: usize, timeout: Duration) {
        let reached =
            optical_testkit::eventually(timeout, || async { self.distinct() >= count }).await;
        assert!(
            reached,
            "saw {} distinct events of {count} within {timeout:?}",
            self.distinct()
        );
    }
}

/// Per aggregate, the first delivery of each sequence arrives in order 1, 2, … n with no gap,
/// every re-delivery of a sequence carries the same event id, and an aggregate stays on one
/// partition (its key).
pub fn assert_gap_free_and_ordered(messages: &[Received], expected: &HashMap<String, u64>) {
    let mut partitions: HashMap<&str, i32> = HashMap::new();
    for m in messages {
        let first = *partitions.entry(m.key.as_str()).or_insert(m.partition);
        assert_eq!(
            first, m.partition,
            "aggregate {} moved between partitions",
            m.key
        );
    }
    let mut next: HashMap<&str, u64> = HashMap::new();
    let mut ids: HashMap<(&str, u64), &str> = HashMap::new();
    for m in messages {
        let seq = m.sequence();
        let expected_next = next.entry(m.key.as_str()).or_insert(1);
        if let Some(first_id) = ids.get(&(m.key.as_str(), seq)) {
            assert_eq!(
                *first_id,
                m.header("event_id"),
                "a duplicate of {}#{seq} has another event id",
                m.key
            );
            continue;
        }
        assert_eq!(seq, *expected_next, "aggregate {} jumped to {seq}", m.key);
        *expected_next += 1;
        ids.insert((m.key.as_str(), seq), m.header("event_id"));
    }
    for (aggregate, last) in expected {
        assert_eq!(
            next.get(aggregate.as_str()).map(|n| n - 1),
            Some(*last),
            "aggregate {aggregate} incomplete"
        );
    }
}

/// What a consumer following the documented rule ends with — apply `last + 1`, drop what it
/// has, ignore a jump ahead (the re-send brings it again in order) — equals what was written.
pub fn assert_complete_by_consumer_rule(messages: &[Received], expected: &HashMap<String, u64>) {
    let mut applied: HashMap<&str, u64> = HashMap::new();
    for m in messages {
        let last = applied.entry(m.key.as_str()).or_insert(0);
        if m.sequence() == *last + 1 {
            *last += 1;
        }
    }
    for (aggregate, last) in expected {
        assert_eq!(
            applied.get(aggregate.as_str()),
            Some(last),
            "aggregate {aggregate} incomplete for a consumer"
        );
    }
}

pub fn metadata(tenant: TenantId) -> EventMetadata {
    let mut meta = EventMetadata::new(tenant, chrono::Utc::now());
    meta.causation_id = Some(uuid::Uuid::now_v7());
    meta
}

fn eur(amount: i64) -> Money {
    Money::new(amount, "EUR".parse::<Currency>().unwrap()).unwrap()
}

/// Adds a frame variant (sequence 1) under a product that need not exist in this test.
pub async fn add_variant(app: &CatalogApp, tenant: TenantId) -> VariantId {
    let variant_id = VariantId::new();
    let product = ProductRef {
        product_id: ProductId::new(),
        tenant_id: tenant,
        kind: ProductKind::Frame,
        status: PublicationStatus::Draft,
    };
    let command = VariantCommand::AddVariant {
        variant_id,
        tenant_id: tenant,
        product,
        sku: Sku::new(format!("T-{}", &variant_id.to_string()[24..])).unwrap(),
        attributes: VariantAttributes::Frame(FrameAttributes {
            geometry: FrameGeometry::new(52.0, 40.0, 18.0, 56.0, 140.0).unwrap(),
            colour: Colour::new("Black").unwrap(),
            shape: FrameShape::Round,
            frame_material: FrameMaterial::Metal,
        }),
        price: eur(10_000),
        compare_at_price: None,
    };
    app.variant(variant_id, command, &metadata(tenant), None)
        .await
        .unwrap();
    variant_id
}

/// One event: a price change that differs from the previous one (`round` alternates it).
pub async fn change_price(app: &CatalogApp, tenant: TenantId, variant: VariantId, round: usize) {
    let command = VariantCommand::ChangeVariantPrice {
        tenant_id: tenant,
        price: eur(10_001 + (round % 2) as i64),
        compare_at_price: None,
    };
    app.variant(variant, command, &metadata(tenant), None)
        .await
        .unwrap();
}

/// The catalog use cases over `pool`, as the API wires them.
pub fn catalog_app(pool: optical_event_store::Pool) -> std::sync::Arc<CatalogApp> {
    optical_app::App::new(
        pool,
        std::sync::Arc::new(optical_kernel::SystemClock),
        optical_app::PersonalData::ephemeral(),
    )
    .catalog
}
