//! Topic naming and creation. Nothing relies on broker auto-creation: `topics apply`
//! creates every topic with the configured partitions and retention.
use crate::kafka::KafkaConfig;
use crate::schemas::SchemaCatalog;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct TopicNames {
    prefix: String,
}

impl TopicNames {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// One topic per bounded context: `optical.catalog.v1`.
    pub fn for_context(&self, context: &str) -> String {
        format!("{}optical.{context}.v1", self.prefix)
    }

    /// Where an in-house consumer (`saga`) parks messages it cannot handle.
    pub fn dead_letter(&self, consumer: &str) -> String {
        format!("{}optical.{consumer}.dead-letter.v1", self.prefix)
    }

    /// Where the relay parks events it cannot encode, so they are visible and not lost.
    pub fn relay_dead_letter(&self) -> String {
        format!("{}optical.relay.dead-letter.v1", self.prefix)
    }
}

/// The in-house consumers with a dead-letter topic: the saga, lab-print and each projector
/// (`project-<projection>`; a test in the binary keeps this list in step with the projections).
pub const DEAD_LETTER_CONSUMERS: [&str; 8] = [
    "saga",
    "lab-print",
    "project-catalog",
    "project-stock",
    "project-orders",
    "project-patients",
    "project-lab",
    "project-search",
];

/// A topic as it should exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub retention_ms: i64,
}

/// Every topic the application writes: one per context with published events, plus the
/// dead-letter topics of the relay, the saga and lab-print.
pub fn plan(config: &KafkaConfig, catalog: &SchemaCatalog) -> Vec<TopicSpec> {
    let names = TopicNames::new(&config.topic_prefix);
    let spec = |name: String| TopicSpec {
        name,
        partitions: config.partitions,
        replication_factor: config.replication_factor,
        retention_ms: config.retention_ms,
    };
    let mut topics: Vec<TopicSpec> = catalog
        .contexts()
        .iter()
        .map(|c| spec(names.for_context(c)))
        .collect();
    topics.push(spec(names.relay_dead_letter()));
    for consumer in DEAD_LETTER_CONSUMERS {
        topics.push(spec(names.dead_letter(consumer)));
    }
    topics
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicOutcome {
    Created,
    AlreadyExists,
}

/// Creates the planned topics; existing ones are left as they are.
pub async fn apply(
    config: &KafkaConfig,
    topics: &[TopicSpec],
) -> Result<Vec<(String, TopicOutcome)>, KafkaError> {
    let admin: AdminClient<DefaultClientContext> = config.admin().create()?;
    let retention: Vec<String> = topics.iter().map(|t| t.retention_ms.to_string()).collect();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&retention)
        .map(|(t, retention)| {
            NewTopic::new(
                &t.name,
                t.partitions,
                TopicReplication::Fixed(t.replication_factor),
            )
            .set("retention.ms", retention)
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics(&new_topics, &options).await?;
    results
        .into_iter()
        .map(|result| match result {
            Ok(name) => Ok((name, TopicOutcome::Created)),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                Ok((name, TopicOutcome::AlreadyExists))
            }
            Err((_, code)) => Err(KafkaError::AdminOp(code)),
        })
        .collect()
}
