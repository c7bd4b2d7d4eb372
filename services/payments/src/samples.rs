//! Example events for codec and contract tests in other crates: at least one instance of every
//! event variant, and every branch of every union (both confirmation sources, both refund
//! outcomes) in some instance.
//!
//! They exercise shapes, not a story: the list is not a coherent stream to replay.

use crate::payment::PaymentEvent;
use crate::values::{
    Actor, ConfirmationSource, PaymentMethod, PaymentReference, PaymentStatus, ProviderEventId,
    ProviderName, RefundId, RefundReason, VoidReason,
};
use chrono::{DateTime, Utc};
use optical_kernel::{Currency, Money, OrderId, PaymentId, TenantId};
use uuid::Uuid;

/// Samples are built from literals known to be valid, so a failure is a bug in this file;
/// this crate's own tests build every sample and would catch it first.
#[allow(clippy::expect_used)]
fn valid<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("sample literals are valid")
}

// Fixed UUIDv7 values so that samples are stable across runs. Tenant and order are the
// inventory samples' own, so that samples of both contexts tell of the same things.
const TENANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0001;
const ORDER: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0701;
const PAYMENT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0a01;
/// A name-based (version 5) UUID, as the refund saga derives them: refund ids need not be v7.
const REFUND: u128 = 0x8f4e_2a61_3c5d_5b7e_9a10_2b3c_4d5e_6f70;
/// 2025-01-15T10:30:00Z.
const AT_SECONDS: i64 = 1_736_937_000;

/// The tenant every sample belongs to.
pub fn tenant_id() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(TENANT))
}

pub fn order_id() -> OrderId {
    OrderId::from_uuid(Uuid::from_u128(ORDER))
}

/// The payment every sample belongs to.
pub fn payment_id() -> PaymentId {
    PaymentId::from_uuid(Uuid::from_u128(PAYMENT))
}

pub fn refund_id() -> RefundId {
    valid(RefundId::new(Uuid::from_u128(REFUND)))
}

/// When the sample facts happened.
pub fn at() -> DateTime<Utc> {
    valid(DateTime::from_timestamp(AT_SECONDS, 0).ok_or("timestamp in range"))
}

pub fn eur() -> Currency {
    valid("EUR".parse())
}

/// `minor` cents of a euro.
pub fn eur_minor(minor: i64) -> Money {
    valid(Money::new(minor, eur()))
}

/// A confirmation by hand.
pub fn staff_source() -> ConfirmationSource {
    ConfirmationSource::Staff {
        actor: valid(Actor::new("clerk@optica-centro")),
    }
}

/// A confirmation by a provider webhook.
pub fn provider_source() -> ConfirmationSource {
    ConfirmationSource::Provider {
        provider: valid(ProviderName::new("acme-bank")),
        provider_event_id: valid(ProviderEventId::new("evt_01J9Z4Q7T2")),
    }
}

/// Every `PaymentEvent` variant: both methods, both confirmation sources, both refund outcomes.
pub fn payment_events() -> Vec<PaymentEvent> {
    let (payment_id, order_id) = (payment_id(), order_id());
    vec![
        PaymentEvent::PaymentRequested {
            tenant_id: tenant_id(),
            payment_id,
            order_id,
            method: PaymentMethod::BankTransfer,
            amount: eur_minor(25_980),
            requested_at: at(),
        },
        PaymentEvent::PaymentRequested {
            tenant_id: tenant_id(),
            payment_id,
            order_id,
            method: PaymentMethod::Cod,
            amount: eur_minor(25_980),
            requested_at: at(),
        },
        PaymentEvent::PaymentConfirmed {
            payment_id,
            order_id,
            source: staff_source(),
            reference: valid(PaymentReference::new("ORDER 0192-0701 / J. Doe")),
            amount: eur_minor(25_980),
            confirmed_at: at(),
        },
        PaymentEvent::PaymentConfirmed {
            payment_id,
            order_id,
            source: provider_source(),
            reference: valid(PaymentReference::new("NOTPROVIDED-ACME-778812")),
            amount: eur_minor(25_980),
            confirmed_at: at(),
        },
        PaymentEvent::PaymentCollected {
            payment_id,
            order_id,
            collected_by: valid(Actor::new("courier:seur-4411")),
            amount: eur_minor(25_980),
            collected_at: at(),
        },
        PaymentEvent::PaymentRefunded {
            payment_id,
            order_id,
            refund_id: refund_id(),
            amount: eur_minor(4_990),
            reason: valid(RefundReason::new(
                "Lens coating out of stock; removed from order.",
            )),
            refunded_total: eur_minor(4_990),
            status: PaymentStatus::PartiallyRefunded,
            refunded_at: at(),
        },
        PaymentEvent::PaymentRefunded {
            payment_id,
            order_id,
            refund_id: refund_id(),
            amount: eur_minor(25_980),
            reason: valid(RefundReason::new("Order cancelled.")),
            refunded_total: eur_minor(25_980),
            status: PaymentStatus::Refunded,
            refunded_at: at(),
        },
        PaymentEvent::PaymentVoided {
            payment_id,
            order_id,
            reason: valid(VoidReason::new("Order cancelled before payment.")),
            voided_at: at(),
        },
    ]
}

/// Every event type payments can emit, `payments.payment.<past_tense>`.
pub fn all_event_types() -> Vec<&'static str> {
    PaymentEvent::EVENT_TYPES.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::DomainEvent;
    use serde_json::{Map, Value};
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::path::PathBuf;

    #[test]
    fn event_types_are_unique_and_named_by_context_aggregate_and_past_tense() {
        let types = all_event_types();
        assert_eq!(types.len(), 5);
        assert_eq!(types.iter().collect::<BTreeSet<_>>().len(), types.len());
        for event_type in types {
            let parts: Vec<&str> = event_type.split('.').collect();
            assert!(
                matches!(parts[..], ["payments", "payment", past] if past.ends_with("ed")),
                "{event_type}"
            );
        }
    }

    #[test]
    fn samples_cover_every_event_type() {
        let sampled: BTreeSet<String> = payment_events()
            .iter()
            .map(DomainEvent::event_type)
            .collect();
        let all: BTreeSet<String> = all_event_types().into_iter().map(str::to_owned).collect();
        assert_eq!(sampled, all);
    }

    #[test]
    fn samples_round_trip_through_json() {
        for event in payment_events() {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<PaymentEvent>(&json).unwrap(), event);
            assert_eq!(event.payment_id(), payment_id());
            assert_eq!(event.order_id(), order_id());
        }
    }

    #[test]
    fn timestamps_serialise_as_rfc3339_utc_and_money_as_minor_units() {
        let json = serde_json::to_value(&payment_events()[0]).unwrap();
        assert_eq!(
            json["PaymentRequested"]["requested_at"],
            "2025-01-15T10:30:00Z"
        );
        assert_eq!(
            json["PaymentRequested"]["amount"],
            serde_json::json!({"amount_minor": 25_980, "currency": "EUR"})
        );
    }

    fn schema_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro/payments")
    }

    fn schema_of(event_type: &str) -> (String, Value) {
        let file = format!("{}.avsc", event_type.strip_prefix("payments.").unwrap());
        let text = std::fs::read_to_string(schema_dir().join(&file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let schema = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        (file, schema)
    }

    /// The variant name and the body inside the externally tagged `{"Variant": {…}}`.
    fn body(event: &PaymentEvent) -> (String, Value) {
        let Value::Object(map) = serde_json::to_value(event).unwrap() else {
            panic!("events serialise as objects");
        };
        assert_eq!(map.len(), 1, "externally tagged");
        map.into_iter().next().unwrap()
    }

    const PRIMITIVES: [&str; 8] = [
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ];

    fn full_name(schema: &Value, enclosing: &str) -> String {
        let name = schema["name"].as_str().unwrap();
        let namespace = schema["namespace"].as_str().unwrap_or(enclosing);
        match (name.contains('.'), namespace) {
            (true, _) | (false, "") => name.to_owned(),
            (false, ns) => format!("{ns}.{name}"),
        }
    }

    fn resolve(name: &str, enclosing: &str) -> String {
        if name.contains('.') || enclosing.is_empty() {
            name.to_owned()
        } else {
            format!("{enclosing}.{name}")
        }
    }

    fn namespace_of(full: &str) -> &str {
        full.rsplit_once('.').map_or("", |(ns, _)| ns)
    }

    /// Enough of Avro's JSON conformance for the shapes this crate emits, so that the
    /// contract is checked here and not only by the codec crate.
    #[derive(Default)]
    struct Contract {
        /// Named types by full name, over all files: one name, one definition everywhere.
        named: HashMap<String, Value>,
        /// Union-typed paths → (number of branches, branches seen).
        unions: BTreeMap<String, (usize, BTreeSet<usize>)>,
    }

    impl Contract {
        /// Registers one file's named types, in document order, and checks that every
        /// reference points at a type defined earlier in the same file.
        fn define(&mut self, schema: &Value, namespace: &str, in_file: &mut BTreeSet<String>) {
            match schema {
                Value::String(name) if PRIMITIVES.contains(&name.as_str()) => {}
                Value::String(name) => {
                    let full = resolve(name, namespace);
                    assert!(
                        in_file.contains(&full),
                        "{full} is used before it is defined in this file"
                    );
                }
                Value::Array(branches) => branches
                    .iter()
                    .for_each(|b| self.define(b, namespace, in_file)),
                Value::Object(o) => match o["type"].as_str().unwrap() {
                    ty @ ("record" | "enum") => {
                        let full = full_name(schema, namespace);
                        assert!(
                            o.get("doc")
                                .and_then(Value::as_str)
                                .is_some_and(|d| !d.is_empty()),
                            "{full} has a doc"
                        );
                        assert!(
                            in_file.insert(full.clone()),
                            "{full} is defined twice in one file"
                        );
                        if let Some(previous) = self.named.insert(full.clone(), schema.clone()) {
                            assert_eq!(
                                previous, *schema,
                                "{full} is defined differently in two files"
                            );
                        }
                        if ty == "record" {
                            for field in o["fields"].as_array().unwrap() {
                                let name = field["name"].as_str().unwrap();
                                assert!(
                                    field["doc"].as_str().is_some_and(|d| !d.is_empty()),
                                    "{full}.{name} has a doc"
                                );
                                self.define(&field["type"], namespace_of(&full), in_file);
                            }
                        }
                    }
                    "array" => self.define(&o["items"], namespace, in_file),
                    _ => {}
                },
                other => panic!("not a schema: {other}"),
            }
        }

        fn conforms(
            &mut self,
            schema: &Value,
            value: &Value,
            namespace: &str,
            path: &str,
        ) -> Result<(), String> {
            let check = |ok: bool| {
                if ok {
                    Ok(())
                } else {
                    Err(format!("{path}: {value} is not {schema}"))
                }
            };
            match schema {
                Value::String(ty) => match ty.as_str() {
                    "null" => check(value.is_null()),
                    "string" => check(value.is_string()),
                    "long" => check(value.is_i64()),
                    "int" => check(value.as_i64().is_some_and(|v| i32::try_from(v).is_ok())),
                    "boolean" => check(value.is_boolean()),
                    name => {
                        let full = resolve(name, namespace);
                        let definition = self
                            .named
                            .get(&full)
                            .cloned()
                            .ok_or(format!("{path}: unknown type {full}"))?;
                        self.conforms(&definition, value, namespace, path)
                    }
                },
                Value::Array(branches) => {
                    // Like a JSON → Avro writer: the first branch that takes the value.
                    let mut errors = Vec::new();
                    for (index, branch) in branches.iter().enumerate() {
                        match self.conforms(branch, value, namespace, path) {
                            Err(e) => errors.push(e),
                            Ok(()) => {
                                let seen = self
                                    .unions
                                    .entry(path.to_owned())
                                    .or_insert_with(|| (branches.len(), BTreeSet::new()));
                                seen.1.insert(index);
                                return Ok(());
                            }
                        }
                    }
                    Err(format!(
                        "{path}: no branch of the union matches: {}",
                        errors.join("; ")
                    ))
                }
                Value::Object(o) => match o["type"].as_str().unwrap() {
                    "record" => {
                        let full = full_name(schema, namespace);
                        let object = value
                            .as_object()
                            .ok_or(format!("{path}: {value} is not a record"))?;
                        let fields = o["fields"].as_array().unwrap();
                        let avro: BTreeSet<&str> =
                            fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
                        let json: BTreeSet<&str> = object.keys().map(String::as_str).collect();
                        if avro != json {
                            return Err(format!(
                                "{path}: JSON fields {json:?} are not the Avro fields {avro:?}"
                            ));
                        }
                        for field in fields {
                            let name = field["name"].as_str().unwrap();
                            if let Some(branches) = field["type"].as_array() {
                                if branches.contains(&Value::from("null")) {
                                    assert_eq!(branches[0], "null", "{path}.{name}: null first");
                                    assert_eq!(
                                        field.get("default"),
                                        Some(&Value::Null),
                                        "{path}.{name}: default null"
                                    );
                                }
                            }
                            self.conforms(
                                &field["type"],
                                &object[name],
                                namespace_of(&full),
                                &format!("{path}.{name}"),
                            )?;
                        }
                        Ok(())
                    }
                    "enum" => check(o["symbols"].as_array().unwrap().contains(value)),
                    "array" => {
                        let items = value
                            .as_array()
                            .ok_or(format!("{path}: {value} is not an array"))?;
                        items.iter().try_for_each(|item| {
                            self.conforms(&o["items"], item, namespace, &format!("{path}[]"))
                        })
                    }
                    primitive => {
                        if o.get("logicalType") == Some(&Value::from("uuid")) {
                            check(value.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok()))?;
                        }
                        self.conforms(&Value::from(primitive), value, namespace, path)
                    }
                },
                other => Err(format!("{path}: not a schema: {other}")),
            }
        }
    }

    fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<Value> {
        all.iter().map(|v| Value::from(code(*v))).collect()
    }

    #[test]
    fn every_event_type_has_a_schema_that_its_samples_conform_to() {
        let samples: Vec<(String, (String, Value))> = payment_events()
            .iter()
            .map(|e| (e.event_type(), body(e)))
            .collect();
        let mut contract = Contract::default();
        let mut expected_files = BTreeSet::new();
        for event_type in all_event_types() {
            let (file, schema) = schema_of(event_type);
            contract.define(&schema, "", &mut BTreeSet::new());
            assert_eq!(schema["type"], "record", "{file}");
            assert_eq!(schema["namespace"], "optical.payments", "{file}");
            let mut sampled = 0;
            for (_, (variant, body)) in samples.iter().filter(|(t, _)| t == event_type) {
                sampled += 1;
                assert_eq!(schema["name"], variant.as_str(), "{file}");
                contract
                    .conforms(&schema, body, "", variant)
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
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

        for (path, (branches, seen)) in &contract.unions {
            assert_eq!(
                seen.len(),
                *branches,
                "{path}: samples must take every branch of the union"
            );
        }

        let enums = BTreeMap::from([
            (
                "optical.payments.PaymentMethod",
                codes(PaymentMethod::ALL, PaymentMethod::as_str),
            ),
            (
                "optical.payments.PaymentStatus",
                codes(PaymentStatus::ALL, PaymentStatus::as_str),
            ),
            (
                "optical.payments.ConfirmationSourceKind",
                vec![Value::from("staff"), Value::from("provider")],
            ),
        ]);
        let avro_enums: BTreeSet<&str> = contract
            .named
            .iter()
            .filter(|(_, s)| s["type"] == "enum")
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(avro_enums, enums.keys().copied().collect());
        for (name, symbols) in enums {
            assert_eq!(
                contract.named[name]["symbols"].as_array().unwrap(),
                &symbols,
                "{name}"
            );
        }
    }

    /// Rebuilds `value` in the field order of `schema` (following records, unions of records
    /// and named types), so it can be compared byte for byte with what serde wrote.
    fn in_schema_order(
        schema: &Value,
        value: &Value,
        named: &HashMap<String, Value>,
        namespace: &str,
    ) -> Option<String> {
        match schema {
            Value::String(name) if name == "null" => value.is_null().then(|| value.to_string()),
            Value::String(name) if !PRIMITIVES.contains(&name.as_str()) => {
                let full = resolve(name, namespace);
                in_schema_order(&named[&full], value, named, namespace)
            }
            Value::Array(branches) => branches
                .iter()
                .find_map(|b| in_schema_order(b, value, named, namespace)),
            Value::Object(o) if o["type"] == "record" => {
                let full = full_name(schema, namespace);
                let object: &Map<String, Value> = value.as_object()?;
                let fields = o["fields"].as_array()?;
                if fields.len() != object.len() {
                    return None;
                }
                let parts: Option<Vec<String>> = fields
                    .iter()
                    .map(|f| {
                        let name = f["name"].as_str()?;
                        let inner = in_schema_order(
                            &f["type"],
                            object.get(name)?,
                            named,
                            namespace_of(&full),
                        )?;
                        Some(format!("{}:{inner}", Value::from(name)))
                    })
                    .collect();
                Some(format!("{{{}}}", parts?.join(",")))
            }
            _ => Some(value.to_string()),
        }
    }

    #[test]
    fn schema_fields_are_declared_in_the_order_serde_writes_them() {
        let mut contract = Contract::default();
        for event_type in all_event_types() {
            contract.define(&schema_of(event_type).1, "", &mut BTreeSet::new());
        }
        for event in payment_events() {
            let (variant, body) = body(&event);
            let (file, schema) = schema_of(&event.event_type());
            let rebuilt = in_schema_order(&schema, &body, &contract.named, "").unwrap();
            assert_eq!(
                serde_json::to_string(&event).unwrap(),
                format!("{{{}:{rebuilt}}}", Value::from(variant)),
                "{file}"
            );
        }
    }
}
