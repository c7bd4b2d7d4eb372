use crate::TenantId;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;
use uuid::Uuid;

/// Keys under which [`EventMetadata`] travels in `cqrs-es` metadata maps and Kafka headers.
pub mod keys {
    pub const TENANT_ID: &str = "tenant_id";
    pub const CORRELATION_ID: &str = "correlation_id";
    pub const CAUSATION_ID: &str = "causation_id";
    pub const TRACEPARENT: &str = "traceparent";
    pub const OCCURRED_AT: &str = "occurred_at";
    pub const ACTOR: &str = "actor";
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error("metadata is missing `{0}`")]
    Missing(&'static str),
    #[error("metadata field `{field}` is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("`{0}` is not a W3C traceparent (version-traceid-parentid-flags)")]
pub struct TraceParentError(String);

/// A W3C `traceparent` value, kept verbatim once validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TraceParent(String);

impl TraceParent {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 32-hex-digit trace id.
    pub fn trace_id(&self) -> &str {
        &self.0[3..35]
    }

    /// A new span: in the trace of `parent` (keeping its flags) or, without one, in a new
    /// sampled trace. Random ids from UUIDv4, which are never all zero.
    pub fn child_of(parent: Option<&TraceParent>) -> Self {
        let span = Uuid::new_v4().simple().to_string();
        let (trace_id, flags) = match parent {
            Some(p) => (p.trace_id().to_owned(), p.0[53..55].to_owned()),
            None => (Uuid::new_v4().simple().to_string(), "01".to_owned()),
        };
        Self(format!("00-{trace_id}-{}-{flags}", &span[..16]))
    }
}

impl FromStr for TraceParent {
    type Err = TraceParentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('-').collect();
        let hex = |p: &str, len: usize| {
            p.len() == len
                && p.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
        let valid = parts.len() == 4
            && hex(parts[0], 2)
            && parts[0] != "ff"
            && hex(parts[1], 32)
            && parts[1] != "0".repeat(32)
            && hex(parts[2], 16)
            && parts[2] != "0".repeat(16)
            && hex(parts[3], 2);
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(TraceParentError(s.to_owned()))
        }
    }
}

impl TryFrom<String> for TraceParent {
    type Error = TraceParentError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<TraceParent> for String {
    fn from(t: TraceParent) -> String {
        t.0
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who and what caused an event, carried beside the payload from the command to every consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMetadata {
    pub tenant_id: TenantId,
    /// Shared by every event that one user action caused, across contexts.
    pub correlation_id: Uuid,
    /// The event or request that directly caused this one.
    pub causation_id: Option<Uuid>,
    pub traceparent: Option<TraceParent>,
    pub occurred_at: DateTime<Utc>,
    pub actor: Option<String>,
}

impl EventMetadata {
    /// Metadata for a new user action: a fresh correlation id, no cause yet.
    pub fn new(tenant_id: TenantId, occurred_at: DateTime<Utc>) -> Self {
        Self {
            tenant_id,
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            traceparent: None,
            occurred_at,
            actor: None,
        }
    }

    /// Metadata for a command that starts a new request: the request id is the cause, and a
    /// new W3C trace starts here (used where no incoming request carried one).
    pub fn new_request(tenant_id: TenantId, occurred_at: DateTime<Utc>, actor: &str) -> Self {
        let request = Uuid::now_v7();
        let request_hex = request.simple().to_string();
        let trace = format!("00-{}-{}-01", Uuid::now_v7().simple(), &request_hex[16..]);
        Self {
            causation_id: Some(request),
            traceparent: trace.parse().ok(),
            actor: Some(actor.to_owned()),
            ..Self::new(tenant_id, occurred_at)
        }
    }

    /// The flat string map `cqrs-es` carries alongside a command.
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        map.insert(keys::TENANT_ID.into(), self.tenant_id.to_string());
        map.insert(keys::CORRELATION_ID.into(), self.correlation_id.to_string());
        map.insert(
            keys::OCCURRED_AT.into(),
            self.occurred_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
        );
        if let Some(causation) = self.causation_id {
            map.insert(keys::CAUSATION_ID.into(), causation.to_string());
        }
        if let Some(traceparent) = &self.traceparent {
            map.insert(keys::TRACEPARENT.into(), traceparent.to_string());
        }
        if let Some(actor) = &self.actor {
            map.insert(keys::ACTOR.into(), actor.clone());
        }
        map
    }

    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, MetadataError> {
        Self::from_lookup(|key| map.get(key).map(String::as_str))
    }

    /// Reads metadata stored as a JSON object of strings.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, MetadataError> {
        Self::from_lookup(|key| value.get(key).and_then(serde_json::Value::as_str))
    }

    fn from_lookup<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, MetadataError> {
        fn invalid(field: &'static str, e: impl fmt::Display) -> MetadataError {
            MetadataError::Invalid {
                field,
                reason: e.to_string(),
            }
        }
        let required = |key: &'static str| get(key).ok_or(MetadataError::Missing(key));
        let tenant_id = required(keys::TENANT_ID)?
            .parse()
            .map_err(|e| invalid(keys::TENANT_ID, e))?;
        let correlation_id = required(keys::CORRELATION_ID)?
            .parse()
            .map_err(|e| invalid(keys::CORRELATION_ID, e))?;
        let occurred_at = DateTime::parse_from_rfc3339(required(keys::OCCURRED_AT)?)
            .map_err(|e| invalid(keys::OCCURRED_AT, e))?
            .to_utc();
        let causation_id = get(keys::CAUSATION_ID)
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|e| invalid(keys::CAUSATION_ID, e))?;
        let traceparent = get(keys::TRACEPARENT)
            .map(str::parse)
            .transpose()
            .map_err(|e| invalid(keys::TRACEPARENT, e))?;
        Ok(Self {
            tenant_id,
            correlation_id,
            causation_id,
            traceparent,
            occurred_at,
            actor: get(keys::ACTOR).map(str::to_owned),
        })
    }
}

/// Where an event sits in the global log: the writing transaction's id, then the row id.
/// Relay and consumers order by this pair; it only grows for rows that become visible later.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct EventPosition {
    pub txid: u64,
    pub id: i64,
}

impl fmt::Display for EventPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.txid, self.id)
    }
}

/// A committed event as the log holds it: the envelope every adapter works with.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedEvent {
    pub position: EventPosition,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// 1-based, gap-free per aggregate.
    pub sequence: u64,
    /// `<context>.<aggregate>.<past_tense>`, e.g. `catalog.product.published`.
    pub event_type: String,
    pub event_version: String,
    /// The event body as `cqrs-es` serialised it: `{"<Variant>": {fields…}}`.
    pub payload: serde_json::Value,
    pub metadata: EventMetadata,
}

impl RecordedEvent {
    /// The bounded context, the first segment of the event type.
    pub fn context(&self) -> &str {
        self.event_type.split('.').next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn metadata_round_trips_through_the_cqrs_map_and_json() {
        let mut meta = EventMetadata::new(TenantId::new(), Utc::now());
        meta.causation_id = Some(Uuid::now_v7());
        meta.traceparent = Some(TRACEPARENT.parse().unwrap());
        meta.actor = Some("user:42".into());
        // Stored precision is microseconds.
        meta.occurred_at = DateTime::parse_from_rfc3339(&meta.to_map()[keys::OCCURRED_AT])
            .unwrap()
            .to_utc();
        assert_eq!(EventMetadata::from_map(&meta.to_map()).unwrap(), meta);
        let json = serde_json::to_value(meta.to_map()).unwrap();
        assert_eq!(EventMetadata::from_json(&json).unwrap(), meta);
    }

    #[test]
    fn a_new_request_has_a_cause_and_a_valid_trace() {
        let meta = EventMetadata::new_request(TenantId::new(), Utc::now(), "clerk");
        assert!(meta.causation_id.is_some());
        assert_ne!(meta.causation_id, Some(meta.correlation_id));
        assert_eq!(
            meta.traceparent.as_ref().map(|t| t.trace_id().len()),
            Some(32)
        );
        assert_eq!(meta.actor.as_deref(), Some("clerk"));
    }

    #[test]
    fn metadata_without_tenant_is_rejected() {
        let mut map = EventMetadata::new(TenantId::new(), Utc::now()).to_map();
        map.remove(keys::TENANT_ID);
        assert_eq!(
            EventMetadata::from_map(&map),
            Err(MetadataError::Missing("tenant_id"))
        );
    }

    #[test]
    fn traceparent_is_validated() {
        let tp: TraceParent = TRACEPARENT.parse().unwrap();
        assert_eq!(tp.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(bad.parse::<TraceParent>().is_err(), "{bad}");
        }
    }

    #[test]
    fn positions_order_by_transaction_then_row() {
        let a = EventPosition { txid: 10, id: 99 };
        let b = EventPosition { txid: 11, id: 1 };
        assert!(a < b);
    }
}
