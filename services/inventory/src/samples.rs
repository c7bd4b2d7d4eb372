//! Example events for codec and contract tests in other crates: at least one instance of every
//! event variant, with every optional field set in one instance and `None` in another.
//!
//! They exercise shapes, not a story: the list is not a coherent stream to replay.

use crate::stock_level::StockLevelEvent;
use crate::values::{
    AdjustmentNote, AdjustmentReason, Quantity, ReceiptReference, StockDelta, StockLevelKey,
};
use chrono::{DateTime, Utc};
use optical_kernel::{CartId, LocationId, OrderId, ReservationId, TenantId, VariantId};
use uuid::Uuid;

/// Samples are built from literals known to be valid, so a failure is a bug in this file;
/// this crate's own tests build every sample and would catch it first.
#[allow(clippy::expect_used)]
fn valid<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("sample literals are valid")
}

// Fixed UUIDv7 values so that samples are stable across runs. Tenant and variant are the
// catalog samples' own, so that samples of both contexts tell of the same things.
const TENANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0001;
const VARIANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0201;
const LOCATION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0401;
const CART: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0501;
const RESERVATION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0601;
const ORDER: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0701;
/// 2025-01-15T10:30:00Z.
const EXPIRES_AT_SECONDS: i64 = 1_736_937_000;

/// The tenant every sample belongs to.
pub fn tenant_id() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(TENANT))
}

pub fn location_id() -> LocationId {
    LocationId::from_uuid(Uuid::from_u128(LOCATION))
}

pub fn variant_id() -> VariantId {
    VariantId::from_uuid(Uuid::from_u128(VARIANT))
}

/// The stock level every sample belongs to.
pub fn stock_level_key() -> StockLevelKey {
    StockLevelKey {
        location_id: location_id(),
        variant_id: variant_id(),
    }
}

pub fn cart_id() -> CartId {
    CartId::from_uuid(Uuid::from_u128(CART))
}

pub fn reservation_id() -> ReservationId {
    ReservationId::from_uuid(Uuid::from_u128(RESERVATION))
}

pub fn order_id() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(ORDER))
}

/// When the sample reservation expires.
pub fn expires_at() -> DateTime<Utc> {
    valid(DateTime::from_timestamp(EXPIRES_AT_SECONDS, 0).ok_or("timestamp in range"))
}

fn units(n: u32) -> Quantity {
    valid(Quantity::new(n))
}

/// Every `StockLevelEvent` variant; `reference` and `note` both set and `None`.
pub fn stock_level_events() -> Vec<StockLevelEvent> {
    let (location_id, variant_id) = (location_id(), variant_id());
    let reservation_id = reservation_id();
    vec![
        StockLevelEvent::StockReceived {
            tenant_id: tenant_id(),
            location_id,
            variant_id,
            quantity: units(12),
            reference: Some(valid(ReceiptReference::new("DN-2025-00042"))),
            on_hand: 12,
        },
        StockLevelEvent::StockReceived {
            tenant_id: tenant_id(),
            location_id,
            variant_id,
            quantity: units(3),
            reference: None,
            on_hand: 15,
        },
        StockLevelEvent::StockAdjusted {
            location_id,
            variant_id,
            delta: valid(StockDelta::new(-1)),
            reason: AdjustmentReason::Damaged,
            note: Some(valid(AdjustmentNote::new("Hinge broke during display."))),
            on_hand: 14,
        },
        StockLevelEvent::StockAdjusted {
            location_id,
            variant_id,
            delta: valid(StockDelta::new(2)),
            reason: AdjustmentReason::CountCorrection,
            note: None,
            on_hand: 16,
        },
        StockLevelEvent::StockReserved {
            location_id,
            variant_id,
            reservation_id,
            cart_id: cart_id(),
            quantity: units(2),
            expires_at: expires_at(),
            reserved: 2,
        },
        StockLevelEvent::ReservationReleased {
            location_id,
            variant_id,
            reservation_id,
            quantity: units(2),
            reserved: 0,
        },
        StockLevelEvent::ReservationExpired {
            location_id,
            variant_id,
            reservation_id,
            quantity: units(2),
            expires_at: expires_at(),
            reserved: 0,
        },
        StockLevelEvent::ReservationCommitted {
            location_id,
            variant_id,
            reservation_id,
            order_id: order_id(),
            quantity: units(2),
            on_hand: 14,
            reserved: 0,
        },
        StockLevelEvent::ReservationRestocked {
            location_id,
            variant_id,
            reservation_id,
            order_id: order_id(),
            quantity: units(2),
            on_hand: 16,
        },
    ]
}

/// Every event type inventory can emit, `inventory.<aggregate>.<past_tense>`.
pub fn all_event_types() -> Vec<&'static str> {
    StockLevelEvent::EVENT_TYPES.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::DomainEvent;
    use serde_json::{Map, Value};
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;

    #[test]
    fn event_types_are_unique_and_named_by_context_aggregate_and_past_tense() {
        let types = all_event_types();
        assert_eq!(types.len(), 7);
        assert_eq!(types.iter().collect::<BTreeSet<_>>().len(), types.len());
        for event_type in types {
            let parts: Vec<&str> = event_type.split('.').collect();
            assert!(
                matches!(parts[..], ["inventory", "stock" | "reservation", past] if past.ends_with("ed")),
                "{event_type}"
            );
        }
    }

    #[test]
    fn samples_cover_every_event_type() {
        let sampled: BTreeSet<String> = stock_level_events()
            .iter()
            .map(DomainEvent::event_type)
            .collect();
        let all: BTreeSet<String> = all_event_types().into_iter().map(str::to_owned).collect();
        assert_eq!(sampled, all);
    }

    #[test]
    fn samples_round_trip_through_json() {
        for event in stock_level_events() {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<StockLevelEvent>(&json).unwrap(),
                event
            );
            assert_eq!(event.key(), stock_level_key());
        }
    }

    #[test]
    fn timestamps_serialise_as_rfc3339_utc() {
        let json = serde_json::to_value(&stock_level_events()[4]).unwrap();
        assert_eq!(json["StockReserved"]["expires_at"], "2025-01-15T10:30:00Z");
    }

    fn schema_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro/inventory")
    }

    /// The variant name and the body inside the externally tagged `{"Variant": {…}}`.
    fn body(event: &StockLevelEvent) -> (String, Map<String, Value>) {
        let Value::Object(map) = serde_json::to_value(event).unwrap() else {
            panic!("events serialise as objects");
        };
        assert_eq!(map.len(), 1, "externally tagged");
        let (variant, body) = map.into_iter().next().unwrap();
        let Value::Object(body) = body else {
            panic!("event bodies are objects");
        };
        (variant, body)
    }

    /// Enough of Avro's JSON conformance for the flat records of this crate. `unions` records,
    /// per field, whether a null and a value were seen.
    fn conforms(
        schema: &Value,
        value: &Value,
        path: &str,
        unions: &mut BTreeMap<String, (bool, bool)>,
    ) {
        match schema {
            Value::String(ty) => match ty.as_str() {
                "string" => assert!(value.is_string(), "{path}: {value} is not a string"),
                "long" => assert!(value.is_i64(), "{path}: {value} is not a long"),
                "null" => assert!(value.is_null(), "{path}: {value} is not null"),
                other => panic!("{path}: unexpected type {other}"),
            },
            Value::Array(branches) => {
                assert_eq!(branches.len(), 2, "{path}: optional = [null, T]");
                assert_eq!(branches[0], "null", "{path}: null comes first");
                let seen = unions.entry(path.to_owned()).or_default();
                if value.is_null() {
                    seen.0 = true;
                } else {
                    seen.1 = true;
                    conforms(&branches[1], value, path, unions);
                }
            }
            Value::Object(o) => match o["type"].as_str().unwrap() {
                "enum" => assert!(
                    o["symbols"].as_array().unwrap().contains(value),
                    "{path}: {value} is not a symbol"
                ),
                "string" if o.get("logicalType") == Some(&Value::from("uuid")) => {
                    let text = value.as_str().unwrap_or_default();
                    assert!(
                        Uuid::parse_str(text).is_ok_and(|u| u.get_version_num() == 7),
                        "{path}: {value} is not a UUIDv7"
                    );
                }
                other => panic!("{path}: unexpected type {other}"),
            },
            other => panic!("{path}: not a schema: {other}"),
        }
    }

    #[test]
    fn every_event_type_has_a_schema_that_its_samples_conform_to() {
        let samples = stock_level_events();
        let mut unions = BTreeMap::new();
        let mut enums = BTreeMap::new();
        let mut expected_files = BTreeSet::new();
        for event_type in all_event_types() {
            let file = format!("{}.avsc", event_type.strip_prefix("inventory.").unwrap());
            let text = std::fs::read_to_string(schema_dir().join(&file))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            let schema: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(schema["type"], "record", "{file}");
            assert_eq!(schema["namespace"], "optical.inventory", "{file}");
            assert!(
                schema["doc"].as_str().is_some_and(|d| !d.is_empty()),
                "{file} has a doc"
            );
            let fields = schema["fields"].as_array().unwrap();
            for field in fields {
                let name = field["name"].as_str().unwrap();
                assert!(
                    field["doc"].as_str().is_some_and(|d| !d.is_empty()),
                    "{file}: {name} has a doc"
                );
                if field["type"].is_array() {
                    assert_eq!(field.get("default"), Some(&Value::Null), "{file}: {name}");
                }
                if field["type"]["type"] == "enum" {
                    let enum_type = &field["type"];
                    let full = format!(
                        "{}.{}",
                        enum_type["namespace"].as_str().unwrap(),
                        enum_type["name"].as_str().unwrap()
                    );
                    if let Some(previous) = enums.insert(full.clone(), enum_type.clone()) {
                        assert_eq!(&previous, enum_type, "{full} is defined differently");
                    }
                }
            }
            let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
            let mut sampled = 0;
            for event in samples.iter().filter(|e| e.event_type() == event_type) {
                let (variant, body) = body(event);
                sampled += 1;
                assert_eq!(schema["name"], variant.as_str(), "{file}");
                // A JSON → Avro writer maps fields by name: every field, and nothing more.
                assert_eq!(
                    names.iter().copied().collect::<BTreeSet<_>>(),
                    body.keys().map(String::as_str).collect::<BTreeSet<_>>(),
                    "{file}: field names"
                );
                for field in fields {
                    let name = field["name"].as_str().unwrap();
                    conforms(
                        &field["type"],
                        &body[name],
                        &format!("{variant}.{name}"),
                        &mut unions,
                    );
                }
            }
            assert!(sampled > 0, "{event_type} has samples");
            expected_files.insert(file);
        }

        let on_disk: BTreeSet<String> = std::fs::read_dir(schema_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            on_disk, expected_files,
            "one schema per event type, and nothing else"
        );

        for (path, &(null, value)) in &unions {
            assert!(
                null && value,
                "{path}: samples must set it in one instance and leave it null in another"
            );
        }

        let reasons: Vec<Value> = AdjustmentReason::ALL
            .iter()
            .map(|r| Value::from(r.as_str()))
            .collect();
        assert_eq!(
            enums.keys().collect::<Vec<_>>(),
            ["optical.inventory.AdjustmentReason"]
        );
        for schema in enums.values() {
            assert_eq!(schema["symbols"].as_array().unwrap(), &reasons);
        }
    }

    #[test]
    fn schema_fields_are_declared_in_the_order_serde_writes_them() {
        for event in stock_level_events() {
            let (variant, body) = body(&event);
            let file = format!(
                "{}.avsc",
                event.event_type().strip_prefix("inventory.").unwrap()
            );
            let schema: Value =
                serde_json::from_str(&std::fs::read_to_string(schema_dir().join(&file)).unwrap())
                    .unwrap();
            // Rebuild the JSON in schema order; it must be byte-equal to what serde wrote.
            let fields: Vec<String> = schema["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let name = f["name"].as_str().unwrap();
                    format!("{}:{}", Value::from(name), body[name])
                })
                .collect();
            let rebuilt = format!("{{{}:{{{}}}}}", Value::from(variant), fields.join(","));
            assert_eq!(serde_json::to_string(&event).unwrap(), rebuilt, "{file}");
        }
    }
}
