//! JSON event bodies ⇄ Avro, and the two wire formats partners decode.
//!
//! * Single-object encoding (`C3 01`, 8-byte CRC-64-AVRO fingerprint, datum) when no
//!   schema registry is configured — self-describing against the published `.avsc` files.
//! * Confluent wire format (`00`, 4-byte big-endian schema id, datum) with a registry,
//!   subjects named by the TopicRecordNameStrategy (`<topic>-<record full name>`).
use crate::avro_writer::{AvroWriter, Path};
use crate::registry::{RegistryClient, RegistryError};
use crate::schemas::{EventSchema, SchemaCatalog};
use apache_avro::types::Value as Avro;
use serde_json::{Map, Number, Value as Json};
use std::sync::Arc;
use thiserror::Error;

const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];
const CONFLUENT_MAGIC: u8 = 0;

#[derive(Debug, Error)]
pub enum CodecError {
    #[error("no published schema for event type `{0}`")]
    UnknownEventType(String),
    #[error("stored payload of `{event_type}` is not `{{\"{expected}\": {{…}}}}`")]
    Envelope {
        event_type: String,
        expected: String,
    },
    #[error("payload does not match schema `{schema}` at `{path}`: {reason}")]
    Mismatch {
        schema: String,
        path: String,
        reason: String,
    },
    #[error("avro: {0}")]
    Avro(#[from] Box<apache_avro::Error>),
    #[error("message is neither single-object nor Confluent encoded")]
    UnknownFormat,
    #[error("no published schema has fingerprint {0}")]
    UnknownFingerprint(String),
    #[error("schema registry: {0}")]
    Registry(#[from] RegistryError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    SingleObject,
    Confluent,
}

/// An encoded message body plus how a reader finds its schema (sent as a header too).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedEvent {
    pub bytes: Vec<u8>,
    pub format: WireFormat,
    /// `crc64-avro:<hex>` or `confluent:<id>`.
    pub schema_ref: String,
    pub schema_full_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecodedMessage {
    pub format: WireFormat,
    /// Known when the schema is one of ours.
    pub event_type: Option<String>,
    pub schema_full_name: String,
    pub body: Json,
}

#[derive(Clone)]
pub struct AvroCodec {
    catalog: Arc<SchemaCatalog>,
    registry: Option<RegistryClient>,
}

impl AvroCodec {
    pub fn new(catalog: Arc<SchemaCatalog>, registry: Option<RegistryClient>) -> Self {
        Self { catalog, registry }
    }

    pub fn catalog(&self) -> &SchemaCatalog {
        &self.catalog
    }

    /// Encodes a stored payload (`{"<RecordName>": body}`) for `topic`.
    pub async fn encode(
        &self,
        topic: &str,
        event_type: &str,
        payload: &Json,
    ) -> Result<EncodedEvent, CodecError> {
        let schema = self
            .catalog
            .get(event_type)
            .ok_or_else(|| CodecError::UnknownEventType(event_type.to_owned()))?;
        let datum = encode_datum(schema, unwrap_body(schema, payload)?)?;
        match &self.registry {
            None => {
                let mut bytes = Vec::with_capacity(10 + datum.len());
                bytes.extend_from_slice(&SINGLE_OBJECT_MAGIC);
                bytes.extend_from_slice(&schema.fingerprint);
                bytes.extend_from_slice(&datum);
                Ok(EncodedEvent {
                    bytes,
                    format: WireFormat::SingleObject,
                    schema_ref: format!("crc64-avro:{}", schema.fingerprint_hex()),
                    schema_full_name: schema.full_name.clone(),
                })
            }
            Some(registry) => {
                let subject = format!("{topic}-{}", schema.full_name);
                let id = registry.register(&subject, &schema.source).await?;
                let mut bytes = Vec::with_capacity(5 + datum.len());
                bytes.push(CONFLUENT_MAGIC);
                bytes.extend_from_slice(&id.to_be_bytes());
                bytes.extend_from_slice(&datum);
                Ok(EncodedEvent {
                    bytes,
                    format: WireFormat::Confluent,
                    schema_ref: format!("confluent:{id}"),
                    schema_full_name: schema.full_name.clone(),
                })
            }
        }
    }

    /// Decodes either wire format back to the JSON body.
    pub async fn decode(&self, bytes: &[u8]) -> Result<DecodedMessage, CodecError> {
        if let Some(rest) = bytes.strip_prefix(&SINGLE_OBJECT_MAGIC) {
            let (fingerprint, datum) = rest.split_at_checked(8).ok_or(CodecError::UnknownFormat)?;
            let mut key = [0u8; 8];
            key.copy_from_slice(fingerprint);
            let schema = self
                .catalog
                .by_fingerprint(&key)
                .ok_or_else(|| CodecError::UnknownFingerprint(hex::encode(key)))?;
            return Ok(DecodedMessage {
                format: WireFormat::SingleObject,
                event_type: Some(schema.event_type.clone()),
                schema_full_name: schema.full_name.clone(),
                body: decode_datum(schema, datum)?,
            });
        }
        if let (Some(&CONFLUENT_MAGIC), Some(registry)) = (bytes.first(), &self.registry) {
            let (id, datum) = bytes[1..]
                .split_at_checked(4)
                .ok_or(CodecError::UnknownFormat)?;
            let id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
            let source = registry.schema_by_id(id).await?;
            let fetched = EventSchema::parse("registry/fetched.schema.avsc", &source)
                .map_err(|e| CodecError::Registry(RegistryError::InvalidSchema(e.to_string())))?;
            let ours = self.catalog.by_fingerprint(&fetched.fingerprint);
            return Ok(DecodedMessage {
                format: WireFormat::Confluent,
                event_type: ours.map(|s| s.event_type.clone()),
                schema_full_name: fetched.full_name.clone(),
                body: decode_datum(&fetched, datum)?,
            });
        }
        Err(CodecError::UnknownFormat)
    }
}

/// `{"ProductCreated": {…}}` → `{…}`, checking the variant name against the record name.
pub fn unwrap_body<'a>(schema: &EventSchema, payload: &'a Json) -> Result<&'a Json, CodecError> {
    match payload.as_object() {
        Some(object) if object.len() == 1 => object.get(&schema.record_name),
        _ => None,
    }
    .ok_or_else(|| CodecError::Envelope {
        event_type: schema.event_type.clone(),
        expected: schema.record_name.clone(),
    })
}

/// The inverse of [`unwrap_body`].
pub fn wrap_body(schema: &EventSchema, body: Json) -> Json {
    let mut object = Map::new();
    object.insert(schema.record_name.clone(), body);
    Json::Object(object)
}

/// The Avro binary datum of a JSON body.
///
/// Written directly from the JSON while walking the schema ([`AvroWriter`]): the same bytes
/// `apache_avro::to_avro_datum` gives for the mapped value, without building that value.
pub fn encode_datum(schema: &EventSchema, body: &Json) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(256);
    AvroWriter {
        names: &schema.names,
        schema_name: &schema.full_name,
    }
    .write(&schema.schema, body, &Path::Root, &mut out)?;
    Ok(out)
}

/// The JSON body of an Avro binary datum.
pub fn decode_datum(schema: &EventSchema, mut datum: &[u8]) -> Result<Json, CodecError> {
    let value = apache_avro::from_avro_datum(&schema.schema, &mut datum, None).map_err(Box::new)?;
    avro_to_json(value)
}

/// Avro value → JSON, the inverse of the JSON → Avro mapping.
pub fn avro_to_json(value: Avro) -> Result<Json, CodecError> {
    let unsupported = |what: &str| CodecError::Mismatch {
        schema: String::new(),
        path: String::new(),
        reason: format!("{what} cannot be shown as JSON"),
    };
    Ok(match value {
        Avro::Null => Json::Null,
        Avro::Boolean(b) => Json::Bool(b),
        Avro::Int(n) => Json::from(n),
        Avro::Long(n) => Json::from(n),
        Avro::Float(f) => Number::from_f64(f64::from(f))
            .map(Json::Number)
            .ok_or_else(|| unsupported("a non-finite float"))?,
        Avro::Double(f) => Number::from_f64(f)
            .map(Json::Number)
            .ok_or_else(|| unsupported("a non-finite double"))?,
        Avro::String(s) | Avro::Enum(_, s) => Json::String(s),
        Avro::Uuid(u) => Json::String(u.hyphenated().to_string()),
        Avro::Union(_, inner) => avro_to_json(*inner)?,
        Avro::Array(items) => Json::Array(
            items
                .into_iter()
                .map(avro_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Avro::Map(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, avro_to_json(v)?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        Avro::Record(fields) => Json::Object(
            fields
                .into_iter()
                .map(|(k, v)| Ok((k, avro_to_json(v)?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        Avro::Bytes(b) | Avro::Fixed(_, b) => Json::String(hex::encode(b)),
        other => return Err(unsupported(&format!("{other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use optical_catalog::samples;

    fn catalog() -> Arc<SchemaCatalog> {
        Arc::new(SchemaCatalog::embedded().unwrap())
    }

    fn every_sample() -> Vec<(String, Json)> {
        use cqrs_es_shim::*;
        let mut all = Vec::new();
        for e in samples::product_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        for e in samples::variant_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        use optical_inventory::samples as inventory;
        use optical_tenancy::samples as tenancy;
        for e in tenancy::tenant_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        for e in tenancy::store_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        for e in tenancy::location_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        for e in tenancy::vendor_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        for e in inventory::stock_level_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        for e in optical_customers::samples::patient_events() {
            all.push((event_type(&e), sealed(serde_json::to_value(&e).unwrap())));
        }
        for e in optical_customers::samples::prescription_events() {
            all.push((event_type(&e), sealed(serde_json::to_value(&e).unwrap())));
        }
        for e in optical_orders::samples::order_events() {
            all.push((event_type(&e), sealed(serde_json::to_value(&e).unwrap())));
        }
        for e in optical_lab::samples::work_order_events() {
            all.push((event_type(&e), sealed(serde_json::to_value(&e).unwrap())));
        }
        for e in optical_lab::samples::station_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        for e in optical_lab::samples::print_job_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        for e in optical_payments::samples::payment_events() {
            all.push((event_type(&e), serde_json::to_value(&e).unwrap()));
        }
        all
    }

    /// Personal data as it is stored and published: sealed (here with a stand-in cipher).
    fn sealed(mut payload: Json) -> Json {
        optical_kernel::personal::seal_all(&mut payload, &mut |_, plaintext| {
            Ok::<_, optical_kernel::PersonalEnvelopeError>(format!(
                "sealed:{}",
                plaintext.to_string().len()
            ))
        })
        .unwrap();
        payload
    }

    /// Every event type of every context.
    fn all_event_types() -> std::collections::BTreeSet<String> {
        samples::all_event_types()
            .into_iter()
            .chain(optical_tenancy::samples::all_event_types())
            .chain(optical_inventory::samples::all_event_types())
            .chain(optical_customers::samples::all_event_types())
            .chain(optical_orders::samples::all_event_types())
            .chain(optical_lab::samples::all_event_types())
            .chain(optical_payments::samples::all_event_types())
            .map(str::to_owned)
            .collect()
    }

    mod cqrs_es_shim {
        pub fn event_type<E: cqrs_es::DomainEvent>(e: &E) -> String {
            e.event_type()
        }
    }

    /// The original JSON → `Value` mapping, kept to check the direct writer against
    /// `apache_avro::to_avro_datum`, byte for byte and error for error.
    mod old {
        use super::super::CodecError;
        use apache_avro::schema::{Name, Schema};
        use apache_avro::types::Value as Avro;
        use serde_json::Value as Json;
        use std::collections::HashMap;

        pub(super) struct JsonToAvro<'a> {
            pub(super) names: &'a HashMap<Name, Schema>,
            pub(super) schema_name: &'a str,
        }

        impl JsonToAvro<'_> {
            fn mismatch(&self, path: &str, reason: impl Into<String>) -> CodecError {
                CodecError::Mismatch {
                    schema: self.schema_name.to_owned(),
                    path: path.to_owned(),
                    reason: reason.into(),
                }
            }

            pub(super) fn convert(
                &self,
                schema: &Schema,
                json: &Json,
                path: &str,
            ) -> Result<Avro, CodecError> {
                let wrong = |expected: &str| {
                    self.mismatch(path, format!("expected {expected}, found {json}"))
                };
                Ok(match schema {
                    Schema::Null => json
                        .is_null()
                        .then_some(Avro::Null)
                        .ok_or_else(|| wrong("null"))?,
                    Schema::Boolean => {
                        Avro::Boolean(json.as_bool().ok_or_else(|| wrong("a boolean"))?)
                    }
                    Schema::Int => {
                        let n = json
                            .as_i64()
                            .and_then(|n| i32::try_from(n).ok())
                            .ok_or_else(|| wrong("a 32-bit integer"))?;
                        Avro::Int(n)
                    }
                    Schema::Long => {
                        Avro::Long(json.as_i64().ok_or_else(|| wrong("a 64-bit integer"))?)
                    }
                    // Float narrowing is the schema author's declared intent.
                    #[allow(clippy::cast_possible_truncation)]
                    Schema::Float => {
                        Avro::Float(json.as_f64().ok_or_else(|| wrong("a number"))? as f32)
                    }
                    Schema::Double => Avro::Double(json.as_f64().ok_or_else(|| wrong("a number"))?),
                    Schema::String => {
                        Avro::String(json.as_str().ok_or_else(|| wrong("a string"))?.to_owned())
                    }
                    Schema::Uuid => {
                        let text = json.as_str().ok_or_else(|| wrong("a UUID string"))?;
                        Avro::Uuid(uuid::Uuid::parse_str(text).map_err(|_| wrong("a UUID string"))?)
                    }
                    Schema::Enum(e) => {
                        let symbol = json.as_str().ok_or_else(|| wrong("an enum symbol"))?;
                        let index = e
                            .symbols
                            .iter()
                            .position(|s| s == symbol)
                            .ok_or_else(|| wrong(&format!("one of {:?}", e.symbols)))?;
                        Avro::Enum(
                            u32::try_from(index).map_err(|_| wrong("a smaller enum"))?,
                            symbol.to_owned(),
                        )
                    }
                    Schema::Array(a) => {
                        let items = json.as_array().ok_or_else(|| wrong("an array"))?;
                        Avro::Array(
                            items
                                .iter()
                                .enumerate()
                                .map(|(i, item)| {
                                    self.convert(&a.items, item, &format!("{path}[{i}]"))
                                })
                                .collect::<Result<_, _>>()?,
                        )
                    }
                    Schema::Map(m) => {
                        let object = json.as_object().ok_or_else(|| wrong("an object"))?;
                        Avro::Map(
                            object
                                .iter()
                                .map(|(k, v)| {
                                    Ok((
                                        k.clone(),
                                        self.convert(&m.types, v, &format!("{path}.{k}"))?,
                                    ))
                                })
                                .collect::<Result<_, CodecError>>()?,
                        )
                    }
                    Schema::Union(u) => {
                        if json.is_null() {
                            let index = u
                                .variants()
                                .iter()
                                .position(|v| matches!(v, Schema::Null))
                                .ok_or_else(|| wrong("a non-null value"))?;
                            Avro::Union(
                                u32::try_from(index).map_err(|_| wrong("a smaller union"))?,
                                Box::new(Avro::Null),
                            )
                        } else {
                            let mut last_error = None;
                            let mut found = None;
                            for (index, variant) in u.variants().iter().enumerate() {
                                if matches!(variant, Schema::Null) {
                                    continue;
                                }
                                match self.convert(variant, json, path) {
                                    Ok(value) => {
                                        found = Some((index, value));
                                        break;
                                    }
                                    Err(e) => last_error = Some(e),
                                }
                            }
                            match found {
                                Some((index, value)) => Avro::Union(
                                    u32::try_from(index).map_err(|_| wrong("a smaller union"))?,
                                    Box::new(value),
                                ),
                                None => {
                                    return Err(
                                        last_error.unwrap_or_else(|| wrong("a union member"))
                                    )
                                }
                            }
                        }
                    }
                    Schema::Record(record) => {
                        let object = json.as_object().ok_or_else(|| wrong("an object"))?;
                        // A JSON field the schema does not name would be silently dropped on the wire.
                        if let Some(extra) = object
                            .keys()
                            .find(|k| !record.fields.iter().any(|f| &f.name == *k))
                        {
                            return Err(self.mismatch(
                                &format!("{path}.{extra}"),
                                "field is not in the published schema",
                            ));
                        }
                        let mut fields = Vec::with_capacity(record.fields.len());
                        for field in &record.fields {
                            let field_path = format!("{path}.{}", field.name);
                            let value = match (object.get(&field.name), &field.default) {
                                (Some(value), _) => {
                                    self.convert(&field.schema, value, &field_path)?
                                }
                                (None, Some(default)) => {
                                    self.convert(&field.schema, default, &field_path)?
                                }
                                (None, None) => {
                                    return Err(
                                        self.mismatch(&field_path, "required field is missing")
                                    )
                                }
                            };
                            fields.push((field.name.clone(), value));
                        }
                        Avro::Record(fields)
                    }
                    Schema::Ref { name } => {
                        let target = self.names.get(name).ok_or_else(|| {
                            self.mismatch(path, format!("unknown named type {name}"))
                        })?;
                        self.convert(target, json, path)?
                    }
                    other => {
                        return Err(self.mismatch(
                            path,
                            format!("schema type {other:?} is not used by event contracts"),
                        ))
                    }
                })
            }
        }
    }

    /// The original path: JSON → `Value` → `apache_avro::to_avro_datum`.
    fn old_encode(schema: &EventSchema, body: &Json) -> Result<Vec<u8>, CodecError> {
        let value = old::JsonToAvro {
            names: &schema.names,
            schema_name: &schema.full_name,
        }
        .convert(&schema.schema, body, "$")?;
        Ok(apache_avro::to_avro_datum(&schema.schema, value).map_err(Box::new)?)
    }

    /// Both paths agree: the same bytes, or the same error.
    fn assert_same_as_old(schema: &EventSchema, body: &Json) -> Result<Vec<u8>, String> {
        let new = encode_datum(schema, body).map_err(|e| e.to_string());
        let old = old_encode(schema, body).map_err(|e| e.to_string());
        assert_eq!(new, old, "{body}");
        new
    }

    #[test]
    fn the_direct_writer_gives_the_bytes_of_apache_avro_for_every_sample() {
        let catalog = catalog();
        let samples = every_sample();
        assert!(!samples.is_empty());
        for (event_type, payload) in &samples {
            let schema = catalog.get(event_type).unwrap();
            let body = unwrap_body(schema, payload).unwrap();
            let bytes = assert_same_as_old(schema, body).unwrap();
            assert!(!bytes.is_empty(), "{event_type}");
        }
    }

    const EDGE_SCHEMA: &str = r#"{
        "type": "record", "name": "EdgeHappened", "namespace": "optical.test",
        "fields": [
            {"name": "long", "type": "long"},
            {"name": "int", "type": "int"},
            {"name": "flag", "type": "boolean"},
            {"name": "ratio", "type": "float"},
            {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "tags", "type": {"type": "array", "items": "string"}},
            {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["red", "green"]}},
            {"name": "note", "type": ["null", "string"], "default": null},
            {"name": "count", "type": "int", "default": 7},
            {"name": "inner", "type": {"type": "record", "name": "Inner",
                "fields": [{"name": "n", "type": "long"}]}},
            {"name": "more", "type": ["null", "optical.test.Inner"], "default": null},
            {"name": "weights", "type": {"type": "map", "values": "double"}, "default": {}}
        ]
    }"#;

    fn edge_schema() -> EventSchema {
        EventSchema::parse("test/edge.happened.avsc", EDGE_SCHEMA).unwrap()
    }

    fn edge_body() -> Json {
        serde_json::json!({
            "long": 0,
            "int": -5,
            "flag": true,
            "ratio": 1.5,
            "id": "0190B4F4-7C3A-7D2E-9B1A-0123456789AB",
            "tags": ["a", "b"],
            "colour": "green",
            "note": "hi",
            "count": 3,
            "inner": {"n": -1},
            "more": {"n": 64},
            "weights": {"w": 0.25}
        })
    }

    #[test]
    fn longs_are_zig_zag_varints_at_every_boundary() {
        let schema = edge_schema();
        let cases: [(i64, &[u8]); 9] = [
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7E]),
            (64, &[0x80, 0x01]),
            (-64, &[0x7F]),
            (-65, &[0x81, 0x01]),
            (
                i64::MAX,
                &[0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            ),
            (
                i64::MIN,
                &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            ),
        ];
        for (n, expected) in cases {
            let mut body = edge_body();
            body["long"] = Json::from(n);
            let bytes = assert_same_as_old(&schema, &body).unwrap();
            assert_eq!(&bytes[..expected.len()], expected, "{n}");
            // The next field (int -5 → 9) follows the long directly.
            assert_eq!(bytes[expected.len()], 0x09, "{n}");
        }
        for n in [i64::from(i32::MIN), i64::from(i32::MAX)] {
            let mut body = edge_body();
            body["int"] = Json::from(n);
            assert_same_as_old(&schema, &body).unwrap();
        }
    }

    #[test]
    fn an_int_outside_32_bits_is_refused() {
        let schema = edge_schema();
        for n in [i64::from(i32::MAX) + 1, i64::from(i32::MIN) - 1] {
            let mut body = edge_body();
            body["int"] = Json::from(n);
            let err = encode_datum(&schema, &body).unwrap_err();
            assert!(
                matches!(err, CodecError::Mismatch { ref path, ref reason, .. }
                    if path == "$.int" && reason.starts_with("expected a 32-bit integer")),
                "{err}"
            );
            assert_same_as_old(&schema, &body).unwrap_err();
        }
    }

    #[test]
    fn empty_arrays_nulls_and_defaults_encode_like_apache_avro() {
        let schema = edge_schema();
        let mut body = edge_body();
        body["tags"] = serde_json::json!([]);
        body["note"] = Json::Null;
        body["more"] = Json::Null;
        body.as_object_mut().unwrap().remove("count");
        body.as_object_mut().unwrap().remove("weights");
        let bytes = assert_same_as_old(&schema, &body).unwrap();
        let mut expected = vec![0x00, 0x09, 0x01];
        expected.extend_from_slice(&1.5f32.to_le_bytes());
        expected.push(72); // 36 characters
        expected.extend_from_slice(b"0190b4f4-7c3a-7d2e-9b1a-0123456789ab");
        expected.extend_from_slice(&[
            0x00, // no tags
            0x02, // green
            0x00, // note: the null branch
            0x0E, // count: the default 7
            0x01, // inner.n = -1
            0x00, // more: the null branch
            0x00, // weights: the default {}
        ]);
        assert_eq!(bytes, expected);
        // Non-null union members pick their branch; a one-entry map is one block.
        assert_same_as_old(&schema, &edge_body()).unwrap();
    }

    #[test]
    fn the_direct_writer_refuses_what_the_mapping_refused_with_the_same_error() {
        let schema = edge_schema();
        let bad: [(&str, Json); 14] = [
            ("surprise", Json::from(1)),
            ("long", Json::from("1")),
            ("long", Json::from(1.5)),
            ("flag", Json::from(1)),
            ("ratio", Json::from("x")),
            ("id", Json::from("not-a-uuid")),
            ("tags", serde_json::json!(["a", 2])),
            ("tags", serde_json::json!({})),
            ("colour", Json::from("blue")),
            ("note", Json::from(3)),
            ("inner", serde_json::json!({"n": 1, "x": 2})),
            ("inner", serde_json::json!({})),
            ("more", serde_json::json!({"n": "1"})),
            ("weights", serde_json::json!({"w": "heavy"})),
        ];
        for (field, value) in bad {
            let mut body = edge_body();
            body[field] = value;
            assert_same_as_old(&schema, &body).unwrap_err();
        }
        // An extra field wins over a broken one, wherever the broken one is.
        let mut body = edge_body();
        body["long"] = Json::from("1");
        body["zzz"] = Json::from(1);
        let err = assert_same_as_old(&schema, &body).unwrap_err();
        assert!(err.contains("`$.zzz`"), "{err}");
        let mut body = edge_body();
        body.as_object_mut().unwrap().remove("long");
        let err = assert_same_as_old(&schema, &body).unwrap_err();
        assert!(err.contains("`$.long`: required field is missing"), "{err}");
        let err = assert_same_as_old(&schema, &Json::from(1)).unwrap_err();
        assert!(err.contains("`$`"), "{err}");
    }

    #[tokio::test]
    async fn every_event_of_every_context_round_trips_through_single_object_encoding() {
        let codec = AvroCodec::new(catalog(), None);
        let samples = every_sample();
        let mut seen = std::collections::BTreeSet::new();
        for (event_type, payload) in &samples {
            let encoded = codec
                .encode("optical.catalog.v1", event_type, payload)
                .await
                .unwrap();
            assert_eq!(&encoded.bytes[..2], &[0xC3, 0x01]);
            let decoded = codec.decode(&encoded.bytes).await.unwrap();
            assert_eq!(decoded.event_type.as_deref(), Some(event_type.as_str()));
            let schema = codec.catalog().get(event_type).unwrap();
            assert_eq!(&wrap_body(schema, decoded.body), payload, "{event_type}");
            seen.insert(event_type.clone());
        }
        assert_eq!(
            seen,
            all_event_types(),
            "every event type has a sample that round-trips"
        );
    }

    #[tokio::test]
    async fn refuses_payloads_that_do_not_match_the_contract() {
        let codec = AvroCodec::new(catalog(), None);
        let (event_type, payload) = every_sample().remove(0);
        let schema = codec.catalog().get(&event_type).unwrap().clone();
        let mut body = unwrap_body(&schema, &payload).unwrap().clone();

        let mut extra = body.clone();
        extra["surprise"] = Json::from(1);
        let err = codec
            .encode("t", &event_type, &wrap_body(&schema, extra))
            .await
            .unwrap_err();
        assert!(
            matches!(err, CodecError::Mismatch { ref path, .. } if path == "$.surprise"),
            "{err}"
        );

        let first_field = body.as_object().unwrap().keys().next().unwrap().clone();
        body.as_object_mut().unwrap().remove(&first_field);
        let err = codec
            .encode("t", &event_type, &wrap_body(&schema, body))
            .await
            .unwrap_err();
        assert!(matches!(err, CodecError::Mismatch { .. }), "{err}");

        let err = codec
            .encode("t", &event_type, &serde_json::json!({"Other": {}}))
            .await
            .unwrap_err();
        assert!(matches!(err, CodecError::Envelope { .. }), "{err}");
        let err = codec
            .encode("t", "catalog.nothing.happened", &payload)
            .await
            .unwrap_err();
        assert!(matches!(err, CodecError::UnknownEventType(_)), "{err}");
    }

    #[tokio::test]
    async fn rejects_bytes_in_no_known_format() {
        let codec = AvroCodec::new(catalog(), None);
        assert!(matches!(
            codec.decode(b"hello").await,
            Err(CodecError::UnknownFormat)
        ));
        assert!(matches!(
            codec.decode(&[0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0]).await,
            Err(CodecError::UnknownFingerprint(_))
        ));
    }
}
