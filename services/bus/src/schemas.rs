//! The event contracts: one Avro schema per event type, embedded from `schemas/avro`.
use apache_avro::rabin::Rabin;
use apache_avro::schema::{Name, Schema};
use std::collections::{BTreeMap, HashMap};
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
        let event_type = event_type_of(file).ok_or_else(|| SchemaError::FileName(file.to_owned()))?;
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
        let mut fingerprint = [0u8; 8];
        fingerprint.copy_from_slice(&schema.fingerprint::<Rabin>().bytes);
        Ok(Self {
            event_type,
            file: file.to_owned(),
            full_name,
            record_name,
            canonical_form: schema.canonical_form(),
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

/// `catalog/product.created.avsc` → `catalog.product.created`.
fn event_type_of(file: &str) -> Option<String> {
    let (context, name) = file.split_once('/')?;
    let stem = name.strip_suffix(".avsc")?;
    let (aggregate, past) = stem.split_once('.')?;
    let valid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    (valid(context) && valid(aggregate) && valid(past)).then(|| format!("{context}.{aggregate}.{past}"))
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

    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, SchemaError> {
        let mut by_event_type = BTreeMap::new();
        let mut by_fingerprint = HashMap::new();
        for (file, source) in files {
            let schema = EventSchema::parse(file, source)?;
            by_fingerprint.insert(schema.fingerprint, schema.event_type.clone());
            by_event_type.insert(schema.event_type.clone(), schema);
        }
        Ok(Self { by_event_type, by_fingerprint })
    }

    pub fn get(&self, event_type: &str) -> Option<&EventSchema> {
        self.by_event_type.get(event_type)
    }

    pub fn by_fingerprint(&self, fingerprint: &[u8; 8]) -> Option<&EventSchema> {
        self.by_fingerprint.get(fingerprint).and_then(|t| self.by_event_type.get(t))
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
    fn event_types_follow_the_file_layout() {
        assert_eq!(event_type_of("catalog/product.created.avsc").as_deref(), Some("catalog.product.created"));
        assert_eq!(event_type_of("catalog/variant.price_changed.avsc").as_deref(), Some("catalog.variant.price_changed"));
        assert_eq!(event_type_of("catalog/created.avsc"), None);
        assert_eq!(event_type_of("Catalog/product.created.avsc"), None);
        assert_eq!(event_type_of("product.created.avsc"), None);
    }

    #[test]
    fn embedded_catalog_has_every_catalog_event() {
        let catalog = SchemaCatalog::embedded().unwrap();
        for event_type in optical_catalog::samples::all_event_types() {
            let schema = catalog.get(event_type).unwrap_or_else(|| panic!("no schema for {event_type}"));
            assert_eq!(catalog.by_fingerprint(&schema.fingerprint).unwrap().event_type, event_type);
        }
        assert_eq!(catalog.contexts(), vec!["catalog".to_owned()]);
    }
}
