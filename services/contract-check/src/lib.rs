//! Test support for the domain crates: each context checks its sample events against its
//! published Avro schemas (`schemas/avro/<context>/`) without an Avro library — named types,
//! unions, records, enums, docs on every field — and that serde writes fields in schema order.
//! The codec crate checks the same contracts again with `apache-avro`, and the integration
//! tests with fastavro.
//!
//! Must never: be a normal dependency. It panics with a message on a broken contract, as a
//! test would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use uuid::Uuid;

/// The schema files of one context.
pub struct SchemaDir {
    dir: PathBuf,
    context: String,
}

impl SchemaDir {
    /// `manifest_dir` is the domain crate's `CARGO_MANIFEST_DIR` (`services/<crate>`).
    pub fn new(manifest_dir: &str, context: &str) -> Self {
        Self {
            dir: PathBuf::from(manifest_dir).join(format!("../../schemas/avro/{context}")),
            context: context.to_owned(),
        }
    }

    /// The file name and parsed schema of `event_type` (`<context>.<aggregate>.<event>`).
    pub fn schema_of(&self, event_type: &str) -> (String, Value) {
        let prefix = format!("{}.", self.context);
        let file = format!("{}.avsc", event_type.strip_prefix(&prefix).unwrap());
        let text =
            std::fs::read_to_string(self.dir.join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let schema = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        (file, schema)
    }

    /// Every file in the directory.
    pub fn files(&self) -> BTreeSet<String> {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

pub const PRIMITIVES: [&str; 8] = [
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

/// Enough of Avro's JSON conformance for the shapes the domain crates emit, so that each
/// context's contract is checked in its own crate and not only by the codec crate.
#[derive(Default)]
pub struct Contract {
    /// Named types by full name, over all files: one name, one definition everywhere.
    pub named: HashMap<String, Value>,
    /// Union-typed paths → (number of branches, branches seen).
    pub unions: BTreeMap<String, (usize, BTreeSet<usize>)>,
}

impl Contract {
    /// Registers one file's named types, in document order, and checks that every
    /// reference points at a type defined earlier in the same file.
    pub fn define(&mut self, schema: &Value, namespace: &str, in_file: &mut BTreeSet<String>) {
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

    pub fn conforms(
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
                // Like the codec, which writes a double from any JSON number.
                "double" => check(value.is_number()),
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

impl Contract {
    /// Every union-typed path must have been seen taking each of its branches.
    pub fn assert_every_union_branch_taken(&self) {
        for (path, (branches, seen)) in &self.unions {
            assert_eq!(
                seen.len(),
                *branches,
                "{path}: samples must take every branch of the union"
            );
        }
    }

    /// The Avro enums over all files are exactly `expected` (full name → symbols, in order),
    /// so that a schema cannot drift from the Rust enum whose codes it publishes.
    pub fn assert_enums(&self, expected: BTreeMap<&str, Vec<Value>>) {
        let avro_enums: BTreeSet<&str> = self
            .named
            .iter()
            .filter(|(_, s)| s["type"] == "enum")
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(avro_enums, expected.keys().copied().collect());
        for (name, symbols) in expected {
            assert_eq!(
                self.named[name]["symbols"].as_array().unwrap(),
                &symbols,
                "{name}"
            );
        }
    }

    /// Each of `names` (full names) is a sealed personal envelope with exactly the kernel's
    /// fields, in its order: what the event store publishes is what the schema declares.
    pub fn assert_sealed_envelopes(&self, names: &[&str]) {
        for &sealed in names {
            let fields: Vec<&str> = self.named[sealed]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["name"].as_str().unwrap())
                .collect();
            assert_eq!(
                fields,
                [
                    optical_kernel::personal::SEALED_FOR,
                    optical_kernel::personal::CIPHERTEXT
                ],
                "{sealed}"
            );
        }
    }
}

/// One sample event as the contract sees it: its event type, and the variant name and body
/// inside its externally tagged `{"Variant": {…}}` JSON, in the form it is published.
pub type Sample = (String, (String, Value));

/// Checks a context's schema directory against its event types and samples: each event type
/// has one file, a documented record in `namespace` named by its samples' variant, that each
/// of its samples (at least one) conforms to; the directory holds nothing else; and the
/// samples take every branch of every union. Returns the contract, for the context's own
/// checks of its enums and sealed envelopes. Panics, naming the file, on a broken contract.
pub fn check_event_schemas(
    dir: &SchemaDir,
    namespace: &str,
    event_types: &[&str],
    samples: &[Sample],
) -> Contract {
    let mut contract = Contract::default();
    let mut expected_files = BTreeSet::new();
    for &event_type in event_types {
        let (file, schema) = dir.schema_of(event_type);
        contract.define(&schema, "", &mut BTreeSet::new());
        assert_eq!(schema["type"], "record", "{file}");
        assert_eq!(schema["namespace"], namespace, "{file}");
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
    assert_eq!(
        dir.files(),
        expected_files,
        "one schema per event type, and nothing else"
    );
    contract.assert_every_union_branch_taken();
    contract
}

/// The codes of every value of a Rust enum (`ALL`, `as_str`), as the symbols its Avro enum
/// must list, in the same order.
pub fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<Value> {
    all.iter().map(|v| Value::from(code(*v))).collect()
}

/// Rebuilds `value` in the field order of `schema` (following records, arrays, unions and
/// named types), so it can be compared byte for byte with what serde wrote. Personal
/// envelopes come in their erased form, the one whose fields are known here.
pub fn in_schema_order(
    schema: &Value,
    value: &Value,
    named: &HashMap<String, Value>,
    namespace: &str,
    sealed_records: &[&str],
) -> Option<String> {
    match schema {
        Value::String(name) if name == "null" => value.is_null().then(|| value.to_string()),
        Value::String(name) if !PRIMITIVES.contains(&name.as_str()) => {
            let full = resolve(name, namespace);
            in_schema_order(&named[&full], value, named, namespace, sealed_records)
        }
        Value::Array(branches) => branches
            .iter()
            .find_map(|b| in_schema_order(b, value, named, namespace, sealed_records)),
        Value::Object(o) if o["type"] == "array" => {
            let items: Option<Vec<String>> = value
                .as_array()?
                .iter()
                .map(|item| in_schema_order(&o["items"], item, named, namespace, sealed_records))
                .collect();
            Some(format!("[{}]", items?.join(",")))
        }
        Value::Object(o) if o["type"] == "record" => {
            let full = full_name(schema, namespace);
            let object: &Map<String, Value> = value.as_object()?;
            if sealed_records.contains(&full.as_str()) {
                let subject = object.get("sealed_for")?;
                let erased = object.len() == 2 && object.get("erased") == Some(&Value::Bool(true));
                return erased.then(|| format!("{{\"sealed_for\":{subject},\"erased\":true}}"));
            }
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
                        sealed_records,
                    )?;
                    Some(format!("{}:{inner}", Value::from(name)))
                })
                .collect();
            Some(format!("{{{}}}", parts?.join(",")))
        }
        _ => Some(value.to_string()),
    }
}
