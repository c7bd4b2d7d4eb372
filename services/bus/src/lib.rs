//! The Kafka and Avro adapter.
//!
//! Owns: the published event contracts (`schemas/avro`, embedded at build time) and their
//! fingerprint lock ([`contract`]); the JSON ⇄ Avro mapping and the two wire formats,
//! Confluent (with a schema registry) and Avro single-object ([`codec`]); the idempotent
//! `rdkafka` producer and message headers ([`publisher`]); topic creation ([`topics`]);
//! reading topics back for humans ([`tail`]), for in-house consumers that keep their own
//! offsets ([`inbound`]) and for consumer-group members that start where their store says
//! ([`group`]).
//!
//! Invariants: a message's key is its aggregate id; every message carries the headers of
//! design §3; a payload that does not match its schema is never published.
//! Must never: touch SQL or know a domain type.

mod avro_writer;
pub mod codec;
pub mod contract;
pub mod group;
pub mod inbound;
pub mod kafka;
pub mod publisher;
pub mod registry;
pub mod schemas;
pub mod tail;
pub mod topics;

pub use codec::{AvroCodec, CodecError, DecodedMessage, WireFormat};
pub use kafka::KafkaConfig;
pub use publisher::{headers, PublishError, Publisher};
pub use schemas::{EventSchema, SchemaCatalog, SchemaError};
pub use topics::{TopicNames, TopicSpec};
