//! Example events for codec and contract tests in other crates: at least one instance of every
//! event variant, of every enum value, and of every optional field both set and `None`.
//!
//! They exercise shapes, not a story: the lists are not coherent streams to replay.

use crate::location::LocationEvent;
use crate::store::StoreEvent;
use crate::tenant::TenantEvent;
use crate::values::{
    CommissionRate, LocaleTag, LocationKind, LocationName, StoreCode, StoreName, SuspensionReason,
    TenantKind, TenantName, TenantSettings, VendorName,
};
use crate::vendor::VendorEvent;
use optical_kernel::{Currency, LocationId, StoreId, TenantId, VendorId};
use uuid::Uuid;

/// Samples are built from literals known to be valid, so a failure is a bug in this file;
/// this crate's own tests build every sample and would catch it first.
#[allow(clippy::expect_used)]
fn valid<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("sample literals are valid")
}

// Fixed UUIDv7 values so that samples are stable across runs.
const TENANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0001;
const STORE: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0301;
const LOCATION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0401;
const VENDOR: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0501;

/// The tenant every sample belongs to.
pub fn tenant_id() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(TENANT))
}

/// The store every store and location sample refers to.
pub fn store_id() -> StoreId {
    StoreId::from_uuid(Uuid::from_u128(STORE))
}

/// The location every location sample refers to.
pub fn location_id() -> LocationId {
    LocationId::from_uuid(Uuid::from_u128(LOCATION))
}

/// The mall vendor every vendor sample refers to.
pub fn vendor_id() -> VendorId {
    VendorId::from_uuid(Uuid::from_u128(VENDOR))
}

fn currency(code: &str) -> Currency {
    valid(code.parse())
}

fn rate(basis_points: u32) -> CommissionRate {
    valid(CommissionRate::from_basis_points(basis_points))
}

/// Every `TenantEvent` variant; both tenant kinds, default and custom settings.
pub fn tenant_events() -> Vec<TenantEvent> {
    let tenant_id = tenant_id();
    let custom = valid(TenantSettings::new(
        1_800,
        2,
        valid(LocaleTag::new("es-419")),
    ));
    vec![
        TenantEvent::TenantCreated {
            tenant_id,
            name: valid(TenantName::new("Acme Optics")),
            kind: TenantKind::SingleBrand,
            default_currency: currency("EUR"),
            settings: TenantSettings::default(),
        },
        TenantEvent::TenantCreated {
            tenant_id,
            name: valid(TenantName::new("Galería Óptica")),
            kind: TenantKind::Mall,
            default_currency: currency("MXN"),
            settings: custom.clone(),
        },
        TenantEvent::TenantRenamed {
            tenant_id,
            name: valid(TenantName::new("Acme Eyewear")),
        },
        TenantEvent::TenantSettingsChanged {
            tenant_id,
            settings: custom,
        },
    ]
}

/// Every `StoreEvent` variant; a single-brand store (its own vendor) and a mall store.
pub fn store_events() -> Vec<StoreEvent> {
    let store_id = store_id();
    vec![
        StoreEvent::StoreOpened {
            store_id,
            tenant_id: tenant_id(),
            name: valid(StoreName::new("Berlin Mitte")),
            code: valid(StoreCode::new("BER-01")),
            vendor_id: VendorId::from_uuid(*store_id.as_uuid()),
        },
        StoreEvent::StoreOpened {
            store_id,
            tenant_id: tenant_id(),
            name: valid(StoreName::new("Brillen Schmidt im Alexa")),
            code: valid(StoreCode::new("ALEXA-12")),
            vendor_id: vendor_id(),
        },
        StoreEvent::StoreRenamed {
            store_id,
            name: valid(StoreName::new("Berlin Hackescher Markt")),
        },
        StoreEvent::StoreClosed { store_id },
    ]
}

/// Every `LocationEvent` variant; a location of every kind.
pub fn location_events() -> Vec<LocationEvent> {
    let location_id = location_id();
    let mut events: Vec<LocationEvent> = LocationKind::ALL
        .iter()
        .map(|&kind| LocationEvent::LocationAdded {
            location_id,
            tenant_id: tenant_id(),
            store_id: store_id(),
            name: valid(LocationName::new(kind.as_str().replace('_', " "))),
            kind,
        })
        .collect();
    events.extend([
        LocationEvent::LocationRenamed {
            location_id,
            name: valid(LocationName::new("Front window")),
        },
        LocationEvent::LocationDeactivated { location_id },
    ]);
    events
}

/// Every `VendorEvent` variant; commission rates at both bounds and in between.
pub fn vendor_events() -> Vec<VendorEvent> {
    let vendor_id = vendor_id();
    vec![
        VendorEvent::VendorRegistered {
            vendor_id,
            tenant_id: tenant_id(),
            name: valid(VendorName::new("Brillen Schmidt")),
            commission_rate: rate(1_250),
        },
        VendorEvent::VendorCommissionRateChanged {
            vendor_id,
            commission_rate: rate(0),
        },
        VendorEvent::VendorCommissionRateChanged {
            vendor_id,
            commission_rate: rate(10_000),
        },
        VendorEvent::VendorSuspended {
            vendor_id,
            reason: valid(SuspensionReason::new("Unpaid commission for March")),
        },
        VendorEvent::VendorReinstated { vendor_id },
    ]
}

/// Every event type tenancy can emit, `tenancy.<aggregate>.<past_tense>`.
pub fn all_event_types() -> Vec<&'static str> {
    TenantEvent::EVENT_TYPES
        .into_iter()
        .chain(StoreEvent::EVENT_TYPES)
        .chain(LocationEvent::EVENT_TYPES)
        .chain(VendorEvent::EVENT_TYPES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::DomainEvent;
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::fmt::Debug;
    use std::path::PathBuf;

    #[test]
    fn event_types_are_unique_and_named_by_context_aggregate_and_past_tense() {
        let types = all_event_types();
        assert_eq!(types.len(), 13);
        assert_eq!(types.iter().collect::<BTreeSet<_>>().len(), types.len());
        for event_type in types {
            let parts: Vec<&str> = event_type.split('.').collect();
            assert!(
                matches!(
                    parts[..],
                    ["tenancy", "tenant" | "store" | "location" | "vendor", past]
                        if !past.is_empty() && past.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                ),
                "{event_type}"
            );
        }
    }

    type Sample = (String, (String, Value, Vec<String>));

    /// Every sample as (event type, (variant name, body, body field names in serialised order)).
    fn all_samples() -> Vec<Sample> {
        fn tagged<E: DomainEvent>(events: Vec<E>) -> Vec<Sample> {
            events
                .iter()
                .map(|e| {
                    let (variant, body) = body(e);
                    (e.event_type(), (variant, body, field_order(e)))
                })
                .collect()
        }
        let mut samples = tagged(tenant_events());
        samples.extend(tagged(store_events()));
        samples.extend(tagged(location_events()));
        samples.extend(tagged(vendor_events()));
        samples
    }

    #[test]
    fn samples_cover_every_event_type() {
        let sampled: BTreeSet<String> = all_samples().into_iter().map(|(t, _)| t).collect();
        let all: BTreeSet<String> = all_event_types().into_iter().map(str::to_owned).collect();
        assert_eq!(sampled, all);
    }

    fn round_trip<E: Serialize + DeserializeOwned + PartialEq + Debug>(events: Vec<E>) {
        for event in events {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<E>(&json).unwrap(), event);
        }
    }

    #[test]
    fn samples_round_trip_through_json() {
        round_trip(tenant_events());
        round_trip(store_events());
        round_trip(location_events());
        round_trip(vendor_events());
    }

    #[test]
    fn stored_events_are_validated_on_the_way_back() {
        let mut json = serde_json::to_value(&vendor_events()[0]).unwrap();
        json["VendorRegistered"]["commission_rate"] = Value::from(10_001);
        assert!(serde_json::from_value::<VendorEvent>(json).is_err());
        let mut json = serde_json::to_value(&tenant_events()[0]).unwrap();
        json["TenantCreated"]["settings"]["reservation_ttl_seconds"] = Value::from(1);
        assert!(serde_json::from_value::<TenantEvent>(json).is_err());
    }

    fn schema_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro/tenancy")
    }

    /// The body's field names in the order serde writes them (`serde_json::Value` sorts keys).
    fn field_order(event: &impl Serialize) -> Vec<String> {
        struct Keys(Vec<String>);
        impl<'de> serde::Deserialize<'de> for Keys {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl<'de> serde::de::Visitor<'de> for Visitor {
                    type Value = Keys;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<Keys, A::Error> {
                        let mut keys = Vec::new();
                        while let Some(key) = map.next_key::<String>()? {
                            map.next_value::<serde::de::IgnoredAny>()?;
                            keys.push(key);
                        }
                        Ok(Keys(keys))
                    }
                }
                d.deserialize_map(Visitor)
            }
        }
        let json = serde_json::to_string(event).unwrap();
        let tagged: HashMap<String, Keys> = serde_json::from_str(&json).unwrap();
        tagged.into_values().next().unwrap().0
    }

    /// The variant name and the body inside the externally tagged `{"Variant": {…}}`.
    fn body(event: &impl Serialize) -> (String, Value) {
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
        /// Union-typed paths → (seen null, seen a value).
        unions: BTreeMap<String, (bool, bool)>,
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
                    "double" => check(value.is_number()),
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
                    let mut errors = Vec::new();
                    for branch in branches {
                        if let Err(e) = self.conforms(branch, value, namespace, path) {
                            errors.push(e);
                        } else {
                            let seen = self.unions.entry(path.to_owned()).or_default();
                            if value.is_null() {
                                seen.0 = true;
                            } else {
                                seen.1 = true;
                            }
                            return Ok(());
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
                            if field["type"].is_array() {
                                assert_eq!(
                                    field["type"][0], "null",
                                    "{path}.{name}: null comes first"
                                );
                                assert_eq!(
                                    field.get("default"),
                                    Some(&Value::Null),
                                    "{path}.{name}: default null"
                                );
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
        let samples = all_samples();
        let mut contract = Contract::default();
        let mut expected_files = BTreeSet::new();
        for event_type in all_event_types() {
            let file = format!("{}.avsc", event_type.strip_prefix("tenancy.").unwrap());
            let text = std::fs::read_to_string(schema_dir().join(&file))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            let schema: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            contract.define(&schema, "", &mut BTreeSet::new());
            assert_eq!(schema["namespace"], "optical.tenancy", "{file}");
            assert!(
                schema["doc"].as_str().is_some_and(|d| !d.is_empty()),
                "{file} has a doc"
            );
            for field in schema["fields"].as_array().unwrap() {
                assert!(
                    field["doc"].as_str().is_some_and(|d| !d.is_empty()),
                    "{file}: field {} has a doc",
                    field["name"]
                );
            }
            let fields: Vec<&str> = schema["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            for (_, (variant, body, order)) in samples.iter().filter(|(t, _)| t == event_type) {
                assert_eq!(schema["name"], variant.as_str(), "{file}");
                assert_eq!(
                    &fields, order,
                    "{file}: Avro fields in the JSON field order"
                );
                contract
                    .conforms(&schema, body, "", variant)
                    .unwrap_or_else(|e| panic!("{file}: {e}"));
            }
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

        for (path, &(null, value)) in &contract.unions {
            assert!(
                null && value,
                "{path}: samples must set it in one instance and leave it null in another"
            );
        }

        let enums = BTreeMap::from([
            (
                "optical.tenancy.TenantKind",
                codes(TenantKind::ALL, TenantKind::as_str),
            ),
            (
                "optical.tenancy.LocationKind",
                codes(LocationKind::ALL, LocationKind::as_str),
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
}
