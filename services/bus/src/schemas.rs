//! The event contracts: one Avro schema per event type, embedded from `schemas/avro`.
use apache_avro::schema::{Name, Schema};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap, HashSet};
use thiserror::Error;

include!(concat!(env!("OUT_DIR"), "/schemas.rs"));

#[derive(Debug, Error)]
pub enum SchemaError {
    #[error("schema file `{file}` is not valid Avro: {source}")]
    Parse {
        file: String,
        #[source]
        source: Box<apache_avro::Error>,
    },
    #[error("schema file `{0}` is not named `<context>/<aggregate>.<past_tense>.avsc`")]
    FileName(String),
    #[error("schema file `{0}` does not describe a record")]
    NotARecord(String),
}

/// One event type's published schema.
#[derive(Debug, Clone)]
pub struct EventSchema {
    /// `catalog.product.created`
    pub event_type: String,
    /// `catalog/product.created.avsc`, relative to `schemas/avro`.
    pub file: String,
    /// `optical.catalog.ProductCreated`
    pub full_name: String,
    /// The record name alone, which is also the event's variant name in stored JSON.
    pub record_name: String,
    pub schema: Schema,
    /// The schema text as published (what a registry receives).
    pub source: String,
    /// Parsing Canonical Form.
    pub canonical_form: String,
    /// CRC-64-AVRO of the canonical form, little-endian as in single-object encoding.
    pub fingerprint: [u8; 8],
    /// Named types of this schema, so references can be followed.
    pub(crate) names: HashMap<Name, Schema>,
}

impl EventSchema {
    pub fn parse(file: &str, source: &str) -> Result<Self, SchemaError> {
        let event_type =
            event_type_of(file).ok_or_else(|| SchemaError::FileName(file.to_owned()))?;
        let schema = Schema::parse_str(source).map_err(|e| SchemaError::Parse {
            file: file.to_owned(),
            source: Box::new(e),
        })?;
        let Schema::Record(record) = &schema else {
            return Err(SchemaError::NotARecord(file.to_owned()));
        };
        let full_name = record.name.fullname(None);
        let record_name = record.name.name.clone();
        let mut names = HashMap::new();
        collect_names(&schema, &mut names);
        let json: Json = serde_json::from_str(source).map_err(|e| SchemaError::Parse {
            file: file.to_owned(),
            source: Box::new(apache_avro::Error::new(
                apache_avro::error::Details::ParseSchemaJson(e),
            )),
        })?;
        let canonical_form = parsing_canonical_form(&json, None, &mut HashSet::new());
        let fingerprint = crc64_avro(canonical_form.as_bytes()).to_le_bytes();
        Ok(Self {
            event_type,
            file: file.to_owned(),
            full_name,
            record_name,
            canonical_form,
            schema,
            source: source.to_owned(),
            fingerprint,
            names,
        })
    }

    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }
}

const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// The Avro specification's Parsing Canonical Form. Written here rather than taken from
/// `apache-avro`, whose 0.21 form keeps `{"type":"string"}` for a logical type where the
/// specification (and Java, Python and fastavro) reduce it to `"string"` — which would give
/// partners a different fingerprint than ours.
pub fn parsing_canonical_form(
    schema: &Json,
    namespace: Option<&str>,
    defined: &mut HashSet<String>,
) -> String {
    let quote = |s: &str| Json::String(s.to_owned()).to_string();
    let full_name = |name: &str, own_namespace: Option<&str>| match (
        name.contains('.'),
        own_namespace.or(namespace),
    ) {
        (false, Some(ns)) if !ns.is_empty() => format!("{ns}.{name}"),
        _ => name.to_owned(),
    };
    match schema {
        Json::String(name) if PRIMITIVES.contains(&name.as_str()) => quote(name),
        Json::String(reference) => quote(&full_name(reference, None)),
        Json::Array(branches) => {
            let parts: Vec<String> = branches
                .iter()
                .map(|b| parsing_canonical_form(b, namespace, defined))
                .collect();
            format!("[{}]", parts.join(","))
        }
        Json::Object(object) => {
            let Some(kind) = object.get("type") else {
                return quote("null");
            };
            let Json::String(kind) = kind else {
                return parsing_canonical_form(kind, namespace, defined);
            };
            let named = |defined: &mut HashSet<String>| {
                let name = object
                    .get("name")
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                let full = full_name(name, object.get("namespace").and_then(Json::as_str));
                let first_definition = defined.insert(full.clone());
                (full, first_definition)
            };
            match kind.as_str() {
                "record" | "error" => {
                    let (full, first) = named(defined);
                    if !first {
                        return quote(&full);
                    }
                    let own_namespace = full.rsplit_once('.').map(|(ns, _)| ns.to_owned());
                    let fields: Vec<String> = object
                        .get("fields")
                        .and_then(Json::as_array)
                        .map(Vec::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .map(|field| {
                            let name = field.get("name").and_then(Json::as_str).unwrap_or_default();
                            let ty = field.get("type").cloned().unwrap_or(Json::Null);
                            format!(
                                "{{\"name\":{},\"type\":{}}}",
                                quote(name),
                                parsing_canonical_form(&ty, own_namespace.as_deref(), defined)
                            )
                        })
                        .collect();
                    format!(
                        "{{\"name\":{},\"type\":\"record\",\"fields\":[{}]}}",
                        quote(&full),
                        fields.join(",")
                    )
                }
                "enum" => {
                    let (full, first) = named(defined);
                    if !first {
                        return quote(&full);
                    }
                    let symbols = object
                        .get("symbols")
                        .cloned()
                        .unwrap_or(Json::Array(vec![]));
                    format!(
                        "{{\"name\":{},\"type\":\"enum\",\"symbols\":{}}}",
                        quote(&full),
                        symbols
                    )
                }
                "fixed" => {
                    let (full, first) = named(defined);
                    if !first {
                        return quote(&full);
                    }
                    let size = object
                        .get("size")
                        .and_then(Json::as_u64)
                        .unwrap_or_default();
                    format!(
                        "{{\"name\":{},\"type\":\"fixed\",\"size\":{size}}}",
                        quote(&full)
                    )
                }
                "array" => {
                    let items = object.get("items").cloned().unwrap_or(Json::Null);
                    format!(
                        "{{\"type\":\"array\",\"items\":{}}}",
                        parsing_canonical_form(&items, namespace, defined)
                    )
                }
                "map" => {
                    let values = object.get("values").cloned().unwrap_or(Json::Null);
                    format!(
                        "{{\"type\":\"map\",\"values\":{}}}",
                        parsing_canonical_form(&values, namespace, defined)
                    )
                }
                // A primitive, possibly annotated with a logical type: its simple form.
                primitive => {
                    parsing_canonical_form(&Json::String(primitive.to_owned()), namespace, defined)
                }
            }
        }
        other => other.to_string(),
    }
}

/// CRC-64-AVRO (the Rabin fingerprint of the Avro specification).
pub fn crc64_avro(bytes: &[u8]) -> u64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    static TABLE: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u64; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut fp = i as u64;
            for _ in 0..8 {
                fp = (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg());
            }
            *slot = fp;
        }
        table
    });
    bytes.iter().fold(EMPTY, |fp, b| {
        (fp >> 8) ^ table[((fp ^ u64::from(*b)) & 0xff) as usize]
    })
}

/// `catalog/product.created.avsc` → `catalog.product.created`.
fn event_type_of(file: &str) -> Option<String> {
    let (context, name) = file.split_once('/')?;
    let stem = name.strip_suffix(".avsc")?;
    let (aggregate, past) = stem.split_once('.')?;
    let valid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    (valid(context) && valid(aggregate) && valid(past))
        .then(|| format!("{context}.{aggregate}.{past}"))
}

fn collect_names(schema: &Schema, names: &mut HashMap<Name, Schema>) {
    match schema {
        Schema::Record(record) => {
            names.insert(record.name.clone(), schema.clone());
            for field in &record.fields {
                collect_names(&field.schema, names);
            }
        }
        Schema::Enum(e) => {
            names.insert(e.name.clone(), schema.clone());
        }
        Schema::Fixed(f) => {
            names.insert(f.name.clone(), schema.clone());
        }
        Schema::Array(a) => collect_names(&a.items, names),
        Schema::Map(m) => collect_names(&m.types, names),
        Schema::Union(u) => u.variants().iter().for_each(|v| collect_names(v, names)),
        _ => {}
    }
}

/// Every published schema, by event type and by fingerprint.
#[derive(Debug, Clone)]
pub struct SchemaCatalog {
    by_event_type: BTreeMap<String, EventSchema>,
    by_fingerprint: HashMap<[u8; 8], String>,
}

impl SchemaCatalog {
    /// The schemas compiled into this binary.
    pub fn embedded() -> Result<Self, SchemaError> {
        Self::from_files(EMBEDDED_SCHEMAS.iter().copied())
    }

    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, SchemaError> {
        let mut by_event_type = BTreeMap::new();
        let mut by_fingerprint = HashMap::new();
        for (file, source) in files {
            let schema = EventSchema::parse(file, source)?;
            by_fingerprint.insert(schema.fingerprint, schema.event_type.clone());
            by_event_type.insert(schema.event_type.clone(), schema);
        }
        Ok(Self {
            by_event_type,
            by_fingerprint,
        })
    }

    pub fn get(&self, event_type: &str) -> Option<&EventSchema> {
        self.by_event_type.get(event_type)
    }

    pub fn by_fingerprint(&self, fingerprint: &[u8; 8]) -> Option<&EventSchema> {
        self.by_fingerprint
            .get(fingerprint)
            .and_then(|t| self.by_event_type.get(t))
    }

    pub fn iter(&self) -> impl Iterator<Item = &EventSchema> {
        self.by_event_type.values()
    }

    /// The bounded contexts that have at least one event (one topic each).
    pub fn contexts(&self) -> Vec<String> {
        let mut contexts: Vec<String> = self
            .by_event_type
            .keys()
            .filter_map(|t| t.split('.').next().map(str::to_owned))
            .collect();
        contexts.dedup();
        contexts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_follows_the_specification() {
        let source = r#"{"type":"record","name":"Thing","namespace":"optical.test","doc":"d","fields":[
            {"name":"id","type":{"type":"string","logicalType":"uuid"},"doc":"x"},
            {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["a","b"]}},
            {"name":"again","type":["null","Kind"],"default":null},
            {"name":"tags","type":{"type":"array","items":"string"}}]}"#;
        let json: Json = serde_json::from_str(source).unwrap();
        assert_eq!(
            parsing_canonical_form(&json, None, &mut HashSet::new()),
            r#"{"name":"optical.test.Thing","type":"record","fields":[{"name":"id","type":"string"},{"name":"kind","type":{"name":"optical.test.Kind","type":"enum","symbols":["a","b"]}},{"name":"again","type":["null","optical.test.Kind"]},{"name":"tags","type":{"type":"array","items":"string"}}]}"#
        );
    }

    #[test]
    fn crc64_avro_matches_the_specification_examples() {
        // Java's SchemaNormalization gives 0x7275d51a3f395c8f for `"int"`; fastavro agrees on both.
        assert_eq!(
            crc64_avro(br#""int""#).to_le_bytes(),
            [0x8f, 0x5c, 0x39, 0x3f, 0x1a, 0xd5, 0x75, 0x72]
        );
        assert_eq!(
            hex::encode(crc64_avro(br#""string""#).to_le_bytes()),
            "c70345637248018f"
        );
    }

    #[test]
    fn event_types_follow_the_file_layout() {
        assert_eq!(
            event_type_of("catalog/product.created.avsc").as_deref(),
            Some("catalog.product.created")
        );
        assert_eq!(
            event_type_of("catalog/variant.price_changed.avsc").as_deref(),
            Some("catalog.variant.price_changed")
        );
        assert_eq!(event_type_of("catalog/created.avsc"), None);
        assert_eq!(event_type_of("Catalog/product.created.avsc"), None);
        assert_eq!(event_type_of("product.created.avsc"), None);
    }

    #[test]
    fn embedded_catalog_has_every_event_of_every_context() {
        let catalog = SchemaCatalog::embedded().unwrap();
        let every = optical_catalog::samples::all_event_types()
            .into_iter()
            .chain(optical_tenancy::samples::all_event_types())
            .chain(optical_inventory::samples::all_event_types())
            .chain(optical_customers::samples::all_event_types())
            .chain(optical_orders::samples::all_event_types())
            .chain(optical_lab::samples::all_event_types())
            .chain(optical_payments::samples::all_event_types());
        for event_type in every {
            let schema = catalog
                .get(event_type)
                .unwrap_or_else(|| panic!("no schema for {event_type}"));
            assert_eq!(
                catalog
                    .by_fingerprint(&schema.fingerprint)
                    .unwrap()
                    .event_type,
                event_type
            );
        }
        assert_eq!(
            catalog.contexts(),
            vec![
                "catalog".to_owned(),
                "customers".to_owned(),
                "inventory".to_owned(),
                "lab".to_owned(),
                "orders".to_owned(),
                "payments".to_owned(),
                "tenancy".to_owned()
            ]
        );
    }
}
