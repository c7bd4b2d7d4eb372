//! Example events for codec and contract tests in other crates: at least one instance of every
//! event variant, with every optional member set in one instance and `None` in another.
//!
//! Personal fields are in their revealed form, as domain code writes them; the event store
//! seals them before they are stored or published.
//!
//! They exercise shapes, not a story: the list is not a coherent stream to replay.

use crate::patient::PatientEvent;
use crate::prescription::PrescriptionEvent;
use crate::values::{
    AddressLine, City, ConsentKind, ConsentSource, ContactPreferences, Contacts, CountryCode,
    Email, LicenceNumber, PatientDetails, PersonName, PhoneNumber, PostalAddress, PostalCode,
    Prescriber, PrescriberName, PrescriptionDetails, Region, ScanContentType, ScanId, ScanSize,
    Sex, Sha256Digest, VoidReason,
};
use chrono::{DateTime, NaiveDate, Utc};
use optical_kernel::{PatientId, Personal, PrescriptionId, TenantId};
use uuid::Uuid;

/// Samples are built from literals known to be valid, so a failure is a bug in this file;
/// this crate's own tests build every sample and would catch it first.
#[allow(clippy::expect_used)]
fn valid<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    result.expect("sample literals are valid")
}

// Fixed UUIDv7 values so that samples are stable across runs. Tenant, patient and
// prescription are the orders samples' own, so that samples of both contexts tell of the
// same people.
const TENANT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0001;
const PATIENT: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0b01;
const PRESCRIPTION: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0c01;
const SCAN: u128 = 0x0192_6f3a_1b2c_7d4e_8f10_0000_0000_0d01;
/// 2025-01-15T10:30:00Z.
const NOW_SECONDS: i64 = 1_736_937_000;

/// The tenant every sample belongs to.
pub fn tenant_id() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(TENANT))
}

pub fn patient_id() -> PatientId {
    PatientId::from_uuid(Uuid::from_u128(PATIENT))
}

pub fn prescription_id() -> PrescriptionId {
    PrescriptionId::from_uuid(Uuid::from_u128(PRESCRIPTION))
}

pub fn scan_id() -> ScanId {
    ScanId::from_uuid(Uuid::from_u128(SCAN))
}

/// 2025-01-15T10:30:00Z: when consents are given, patients erased and prescriptions voided.
pub fn now() -> DateTime<Utc> {
    valid(DateTime::from_timestamp(NOW_SECONDS, 0).ok_or("timestamp in range"))
}

/// 2025-01-15, the store's date at [`now`].
pub fn today() -> NaiveDate {
    now().date_naive()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    valid(NaiveDate::from_ymd_opt(y, m, d).ok_or("date in range"))
}

/// When the sample prescription was issued: 2025-01-10.
pub fn issued_on() -> NaiveDate {
    date(2025, 1, 10)
}

/// When the sample prescription expires: 2027-01-10, two years after issue.
pub fn expires_on() -> NaiveDate {
    date(2027, 1, 10)
}

/// A patient with every optional member set and service messages by e-mail and SMS.
pub fn patient_details() -> PatientDetails {
    PatientDetails {
        given_name: valid(PersonName::new("Zoë")),
        family_name: valid(PersonName::new("Lindqvist-Ramos")),
        date_of_birth: date(1968, 4, 23),
        sex: Some(Sex::Female),
        contacts: Contacts {
            email: Some(valid(Email::new("zoe.lindqvist@example.org"))),
            phone: Some(valid(PhoneNumber::new("+49 30 1234 5678"))),
            address: Some(PostalAddress {
                line1: valid(AddressLine::new("Kastanienallee 12")),
                line2: Some(valid(AddressLine::new("Hinterhaus, 3. OG"))),
                postal_code: Some(valid(PostalCode::new("10435"))),
                city: valid(City::new("Berlin")),
                region: Some(valid(Region::new("Berlin"))),
                country: valid("DE".parse::<CountryCode>()),
            }),
        },
        preferences: ContactPreferences {
            email: true,
            sms: true,
            phone: false,
            post: false,
        },
    }
}

/// A patient with only what is required: names and date of birth.
pub fn minimal_patient_details() -> PatientDetails {
    PatientDetails {
        given_name: valid(PersonName::new("Ana")),
        family_name: valid(PersonName::new("Lima")),
        date_of_birth: date(2001, 11, 2),
        sex: None,
        contacts: Contacts::default(),
        preferences: ContactPreferences::default(),
    }
}

/// The progressive refraction of `optical_optics::samples` and its prescriber.
pub fn prescription_details() -> PrescriptionDetails {
    PrescriptionDetails {
        refraction: optical_optics::samples::refraction(),
        prescriber: Prescriber {
            name: valid(PrescriberName::new("Dr. Miriam Okafor")),
            licence_number: valid(LicenceNumber::new("BE-OPT-0042117")),
        },
    }
}

/// The sample scan's SHA-256 (of the bytes `"sample"`; only the shape matters).
pub fn sha256() -> Sha256Digest {
    valid(Sha256Digest::new(
        "0d2e8e6b4b3a3cbe5d7c1f3b2d9c7e8a1f0b6a5c4d3e2f1a0b9c8d7e6f5a4b3c",
    ))
}

/// Every `PatientEvent` variant; full and minimal details, a grant and a withdrawal.
pub fn patient_events() -> Vec<PatientEvent> {
    let patient_id = patient_id();
    vec![
        PatientEvent::PatientRegistered {
            patient_id,
            tenant_id: tenant_id(),
            details: Personal::new(patient_id, patient_details()),
        },
        PatientEvent::PatientDetailsUpdated {
            patient_id,
            details: Personal::new(patient_id, minimal_patient_details()),
        },
        PatientEvent::ConsentRecorded {
            patient_id,
            kind: ConsentKind::MarketingEmail,
            granted: true,
            at: now(),
            source: ConsentSource::InStore,
        },
        PatientEvent::ConsentRecorded {
            patient_id,
            kind: ConsentKind::ShareWithLab,
            granted: false,
            at: now(),
            source: ConsentSource::PaperForm,
        },
        PatientEvent::PatientErased {
            patient_id,
            erased_at: now(),
        },
    ]
}

/// Every `PrescriptionEvent` variant.
pub fn prescription_events() -> Vec<PrescriptionEvent> {
    let prescription_id = prescription_id();
    vec![
        PrescriptionEvent::PrescriptionRecorded {
            prescription_id,
            tenant_id: tenant_id(),
            patient_id: patient_id(),
            details: Personal::new(patient_id(), prescription_details()),
            issued_on: issued_on(),
            expires_on: expires_on(),
        },
        PrescriptionEvent::ScanAttached {
            prescription_id,
            scan_id: scan_id(),
            content_type: ScanContentType::Pdf,
            size_bytes: valid(ScanSize::new(482_133)),
            sha256: sha256(),
        },
        PrescriptionEvent::PrescriptionVoided {
            prescription_id,
            reason: VoidReason::EnteredInError,
            voided_at: now(),
        },
    ]
}

/// Every event type customers can emit, `customers.<aggregate>.<past_tense>`.
pub fn all_event_types() -> Vec<&'static str> {
    PatientEvent::EVENT_TYPES
        .into_iter()
        .chain(PrescriptionEvent::EVENT_TYPES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::DomainEvent;
    use optical_kernel::personal::{seal_all, PersonalEnvelopeError};
    use serde::Serialize;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::path::PathBuf;

    #[test]
    fn event_types_are_unique_and_named_by_context_aggregate_and_past_tense() {
        let types = all_event_types();
        assert_eq!(types.len(), 7);
        assert_eq!(types.iter().collect::<BTreeSet<_>>().len(), types.len());
        for event_type in types {
            let parts: Vec<&str> = event_type.split('.').collect();
            assert!(
                matches!(parts[..], ["customers", "patient" | "prescription", past] if past.ends_with("ed")),
                "{event_type}"
            );
        }
    }

    #[test]
    fn samples_cover_every_event_type() {
        let sampled: BTreeSet<String> = patient_events()
            .iter()
            .map(DomainEvent::event_type)
            .chain(prescription_events().iter().map(DomainEvent::event_type))
            .collect();
        let all: BTreeSet<String> = all_event_types().into_iter().map(str::to_owned).collect();
        assert_eq!(sampled, all);
    }

    #[test]
    fn samples_round_trip_through_json() {
        for event in patient_events() {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(serde_json::from_str::<PatientEvent>(&json).unwrap(), event);
            assert_eq!(event.patient_id(), patient_id());
        }
        for event in prescription_events() {
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<PrescriptionEvent>(&json).unwrap(),
                event
            );
            assert_eq!(event.prescription_id(), prescription_id());
        }
    }

    #[test]
    fn dates_and_timestamps_serialise_as_iso_8601() {
        let json = serde_json::to_value(&prescription_events()[0]).unwrap();
        assert_eq!(json["PrescriptionRecorded"]["issued_on"], "2025-01-10");
        assert_eq!(json["PrescriptionRecorded"]["expires_on"], "2027-01-10");
        let json = serde_json::to_value(&patient_events()[4]).unwrap();
        assert_eq!(json["PatientErased"]["erased_at"], "2025-01-15T10:30:00Z");
    }

    #[test]
    fn personal_data_is_inside_the_envelope_only() {
        let mut json = serde_json::to_value(patient_events()).unwrap();
        let sealed = seal_all(&mut json, &mut |_, _| {
            Ok::<_, PersonalEnvelopeError>("c2VhbGVk".to_owned())
        })
        .unwrap();
        assert_eq!(sealed, 2);
        let text = json.to_string();
        for secret in [
            "Zoë",
            "Lindqvist",
            "1968-04-23",
            "example.org",
            "+4930",
            "Berlin",
            "Lima",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let mut json = serde_json::to_value(prescription_events()).unwrap();
        seal_all(&mut json, &mut |_, _| {
            Ok::<_, PersonalEnvelopeError>("c2VhbGVk".to_owned())
        })
        .unwrap();
        let text = json.to_string();
        for secret in ["Okafor", "BE-OPT", "sphere", "1.25"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    fn schema_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas/avro/customers")
    }

    /// The variant name and the body inside the externally tagged `{"Variant": {…}}`, with
    /// every personal field sealed as the event store stores and publishes it.
    fn sealed_body(event: &impl Serialize) -> (String, Value) {
        let mut json = serde_json::to_value(event).unwrap();
        seal_all(&mut json, &mut |_, plaintext| {
            assert!(plaintext.is_object());
            Ok::<_, PersonalEnvelopeError>("q83vEjRWeJA=".to_owned())
        })
        .unwrap();
        let Value::Object(map) = json else {
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
        /// reference points at a type defined earlier in the same file and that every field
        /// is documented.
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
                            check(value.as_str().is_some_and(|s| {
                                Uuid::parse_str(s).is_ok_and(|u| u.get_version_num() == 7)
                            }))?;
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

    fn read_schema(file: &str) -> Value {
        let text = std::fs::read_to_string(schema_dir().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    #[test]
    fn every_event_type_has_a_schema_that_its_sealed_samples_conform_to() {
        let mut samples: Vec<(String, (String, Value))> = patient_events()
            .iter()
            .map(|e| (e.event_type(), sealed_body(e)))
            .collect();
        samples.extend(
            prescription_events()
                .iter()
                .map(|e| (e.event_type(), sealed_body(e))),
        );

        let mut contract = Contract::default();
        let mut expected_files = BTreeSet::new();
        for event_type in all_event_types() {
            let file = format!("{}.avsc", event_type.strip_prefix("customers.").unwrap());
            let schema = read_schema(&file);
            assert_eq!(schema["type"], "record", "{file}");
            assert_eq!(schema["namespace"], "optical.customers", "{file}");
            contract.define(&schema, "", &mut BTreeSet::new());
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

        for (path, &(null, value)) in &contract.unions {
            assert!(
                null && value,
                "{path}: samples must set it in one instance and leave it null in another"
            );
        }

        let enums = BTreeMap::from([
            (
                "optical.customers.ConsentKind",
                codes(ConsentKind::ALL, ConsentKind::as_str),
            ),
            (
                "optical.customers.ConsentSource",
                codes(ConsentSource::ALL, ConsentSource::as_str),
            ),
            (
                "optical.customers.VoidReason",
                codes(VoidReason::ALL, VoidReason::as_str),
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

        // Personal data is published sealed: exactly `sealed_for` and `ciphertext`.
        for sealed in [
            "optical.customers.SealedPatientDetails",
            "optical.customers.SealedPrescriptionDetails",
        ] {
            let fields: Vec<&str> = contract.named[sealed]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            assert_eq!(fields, ["sealed_for", "ciphertext"], "{sealed}");
        }
    }

    /// The keys of a JSON object, in the order they were written.
    struct Keys(Vec<String>);

    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
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
            deserializer.deserialize_map(Visitor)
        }
    }

    #[test]
    fn schema_fields_are_declared_in_the_order_serde_writes_them() {
        let texts = patient_events()
            .iter()
            .map(|e| (e.event_type(), serde_json::to_string(e).unwrap()))
            .chain(
                prescription_events()
                    .iter()
                    .map(|e| (e.event_type(), serde_json::to_string(e).unwrap())),
            )
            .collect::<Vec<_>>();
        for (event_type, text) in texts {
            let file = format!("{}.avsc", event_type.strip_prefix("customers.").unwrap());
            let schema = read_schema(&file);
            let declared: Vec<&str> = schema["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            // `{"Variant":{…}}`: the body's keys in the order serde wrote them.
            let body = &text[text.find(':').unwrap() + 1..text.len() - 1];
            let Keys(written) = serde_json::from_str(body).unwrap();
            assert_eq!(written, declared, "{file}");
        }
    }
}
