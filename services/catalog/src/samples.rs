//! Example events for codec and contract tests in other crates: at least one instance of every
//! event variant, with every optional field set in one instance and `None` in another.
//!
//! They exercise shapes, not a story: the lists are not coherent streams to replay.

use crate::attributes::{
    ContactLensAttributes, FrameAttributes, FrameGeometry, LensAttributes, VariantAttributes,
};
use crate::product::{ProductEvent, ProductId};
use crate::values::{
    Brand, Colour, FrameMaterial, FrameShape, FulfillmentType, ProductDescription, ProductKind,
    ProductName, ReplacementSchedule, Sku,
};
use crate::variant::{VariantEvent, VariantId};
use optical_kernel::{Money, TenantId};
use optical_optics::{LensCoating, LensDesign, LensIndex, LensMaterial, Tint};
use uuid::Uuid;

/// Samples are built from literals known to be valid, so a failure is a bug in this file;
/// this crate's own tests build every sample and would catch it first.
#[allow(clippy::expect_used)]
fn valid<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("sample literals are valid")
}

// Fixed UUIDv7 values so that samples are stable across runs.
const TENANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0001;
const PRODUCT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0101;
const VARIANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0201;

/// The tenant every sample belongs to.
pub fn tenant_id() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(TENANT))
}

/// The product every sample refers to.
pub fn product_id() -> ProductId {
    ProductId::from_uuid(Uuid::from_u128(PRODUCT))
}

/// The variant every variant sample refers to.
pub fn variant_id() -> VariantId {
    VariantId::from_uuid(Uuid::from_u128(VARIANT))
}

fn eur(amount_minor: i64) -> Money {
    valid(Money::new(amount_minor, valid("EUR".parse())))
}

/// Every `ProductEvent` variant; `description` both set and `None`.
pub fn product_events() -> Vec<ProductEvent> {
    let product_id = product_id();
    vec![
        ProductEvent::ProductCreated {
            product_id,
            tenant_id: tenant_id(),
            kind: ProductKind::Frame,
            name: valid(ProductName::new("Clubmaster Classic")),
            brand: valid(Brand::new("Ray-Ban")),
            description: Some(valid(ProductDescription::new(
                "Browline frame, acetate brow on a metal rim.",
            ))),
            fulfillment: FulfillmentType::Physical,
        },
        ProductEvent::ProductCreated {
            product_id,
            tenant_id: tenant_id(),
            kind: ProductKind::Digital,
            name: valid(ProductName::new("Virtual try-on session")),
            brand: valid(Brand::new("Optical House")),
            description: None,
            fulfillment: FulfillmentType::Digital,
        },
        ProductEvent::ProductDetailsUpdated {
            product_id,
            name: valid(ProductName::new("Clubmaster Oversized")),
            brand: valid(Brand::new("Ray-Ban")),
            description: Some(valid(ProductDescription::new("Larger fit."))),
        },
        ProductEvent::ProductDetailsUpdated {
            product_id,
            name: valid(ProductName::new("Clubmaster Oversized")),
            brand: valid(Brand::new("Ray-Ban")),
            description: None,
        },
        ProductEvent::ProductPublished { product_id },
        ProductEvent::ProductUnpublished { product_id },
        ProductEvent::ProductArchived { product_id },
    ]
}

/// One set of attributes per kind, and a lens both with and without tint.
fn attribute_samples() -> Vec<VariantAttributes> {
    vec![
        VariantAttributes::Frame(FrameAttributes {
            geometry: valid(FrameGeometry::new(51.0, 40.5, 21.0, 54.5, 145.0)),
            colour: valid(Colour::new("Havana tortoise")),
            shape: FrameShape::Browline,
            frame_material: FrameMaterial::Mixed,
        }),
        VariantAttributes::OphthalmicLens(valid(LensAttributes::new(
            LensMaterial::HighIndex,
            valid(LensIndex::new(1.67)),
            LensDesign::Progressive,
            vec![
                LensCoating::AntiReflective,
                LensCoating::BlueLight,
                LensCoating::Hydrophobic,
            ],
            Some(valid(Tint::new("grey 80%"))),
        ))),
        VariantAttributes::OphthalmicLens(valid(LensAttributes::new(
            LensMaterial::Cr39,
            valid(LensIndex::new(1.5)),
            LensDesign::SingleVision,
            vec![],
            None,
        ))),
        VariantAttributes::ContactLens(valid(ContactLensAttributes::new(
            8.6,
            14.2,
            ReplacementSchedule::TwoWeekly,
        ))),
        VariantAttributes::Accessory,
        VariantAttributes::Digital,
    ]
}

/// Every `VariantEvent` variant; attributes of every kind, and `compare_at_price` and lens
/// `tint` both set and `None`.
pub fn variant_events() -> Vec<VariantEvent> {
    let variant_id = variant_id();
    let mut events = Vec::new();
    for (n, attributes) in attribute_samples().into_iter().enumerate() {
        let sku = valid(Sku::new(format!(
            "{}-{n}",
            attributes.kind().as_str().replace('_', "-")
        )));
        events.push(VariantEvent::VariantAdded {
            variant_id,
            tenant_id: tenant_id(),
            product_id: product_id(),
            sku,
            attributes: attributes.clone(),
            price: eur(15_900),
            compare_at_price: (n % 2 == 0).then(|| eur(18_900)),
        });
        events.push(VariantEvent::VariantAttributesUpdated {
            variant_id,
            attributes,
        });
    }
    events.extend([
        VariantEvent::VariantPriceChanged {
            variant_id,
            price: eur(12_900),
            compare_at_price: Some(eur(15_900)),
        },
        VariantEvent::VariantPriceChanged {
            variant_id,
            price: eur(0),
            compare_at_price: None,
        },
        VariantEvent::VariantPublished { variant_id },
        VariantEvent::VariantUnpublished { variant_id },
        VariantEvent::VariantArchived { variant_id },
    ]);
    events
}

/// Every event type the catalog can emit, `catalog.<aggregate>.<past_tense>`.
pub fn all_event_types() -> Vec<&'static str> {
    ProductEvent::EVENT_TYPES
        .into_iter()
        .chain(VariantEvent::EVENT_TYPES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::DomainEvent;
    use serde::Serialize;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::path::PathBuf;

    #[test]
    fn event_types_are_unique_and_named_by_context_aggregate_and_past_tense() {
        let types = all_event_types();
        assert_eq!(types.len(), 11);
        assert_eq!(types.iter().collect::<BTreeSet<_>>().len(), types.len());
        for event_type in types {
            let parts: Vec<&str> = event_type.split('.').collect();
            assert!(
                matches!(parts[..], ["catalog", "product" | "variant", _]),
                "{event_type}"
            );
        }
    }

    #[test]
    fn samples_cover_every_event_type() {
        let sampled: BTreeSet<String> = product_events()
            .iter()
            .map(DomainEvent::event_type)
            .chain(variant_events().iter().map(DomainEvent::event_type))
            .collect();
        let all: BTreeSet<String> = all_event_types().into_iter().map(str::to_owned).collect();
        assert_eq!(sampled, all);
    }

    #[test]
    fn samples_round_trip_through_json() {
        for event in product_events() {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<ProductEvent>(&json).unwrap(), event);
        }
        for event in variant_events() {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<VariantEvent>(&json).unwrap(), event);
        }
    }

    fn schema_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro/catalog")
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
        let mut samples: Vec<(String, (String, Value))> = product_events()
            .iter()
            .map(|e| (e.event_type(), body(e)))
            .collect();
        samples.extend(variant_events().iter().map(|e| (e.event_type(), body(e))));

        let mut contract = Contract::default();
        let mut expected_files = BTreeSet::new();
        for event_type in all_event_types() {
            let file = format!("{}.avsc", event_type.strip_prefix("catalog.").unwrap());
            let text = std::fs::read_to_string(schema_dir().join(&file))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            let schema: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
            contract.define(&schema, "", &mut BTreeSet::new());
            assert_eq!(schema["namespace"], "optical.catalog", "{file}");
            assert!(
                schema["doc"].as_str().is_some_and(|d| !d.is_empty()),
                "{file} has a doc"
            );
            for (_, (variant, body)) in samples.iter().filter(|(t, _)| t == event_type) {
                assert_eq!(schema["name"], variant.as_str(), "{file}");
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
                "optical.catalog.ProductKind",
                codes(ProductKind::ALL, ProductKind::as_str),
            ),
            (
                "optical.catalog.FulfillmentType",
                codes(FulfillmentType::ALL, FulfillmentType::as_str),
            ),
            (
                "optical.catalog.FrameShape",
                codes(FrameShape::ALL, FrameShape::as_str),
            ),
            (
                "optical.catalog.FrameMaterial",
                codes(FrameMaterial::ALL, FrameMaterial::as_str),
            ),
            (
                "optical.catalog.LensMaterial",
                codes(LensMaterial::ALL, LensMaterial::as_str),
            ),
            (
                "optical.catalog.LensDesign",
                codes(LensDesign::ALL, LensDesign::as_str),
            ),
            (
                "optical.catalog.LensCoating",
                codes(LensCoating::ALL, LensCoating::as_str),
            ),
            (
                "optical.catalog.ReplacementSchedule",
                codes(ReplacementSchedule::ALL, ReplacementSchedule::as_str),
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
