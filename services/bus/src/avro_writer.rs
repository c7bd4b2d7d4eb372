//! JSON → Avro binary, written directly while walking the schema and the JSON together.
//!
//! No intermediate `apache_avro::types::Value` and no second validation pass: each JSON
//! value is checked against its schema as it is written, with the acceptance rules and error
//! messages of the original `JsonToAvro` mapping. Error paths (`$.a.b[2]`) are rendered only
//! when an error is actually returned.
use crate::codec::CodecError;
use apache_avro::schema::{Name, RecordSchema, Schema};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use std::fmt;

/// Where in the JSON body a value sits, rendered only for errors.
#[derive(Clone, Copy)]
pub(crate) enum Path<'p> {
    Root,
    Field(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

pub(crate) struct AvroWriter<'a> {
    pub(crate) names: &'a HashMap<Name, Schema>,
    pub(crate) schema_name: &'a str,
}

impl AvroWriter<'_> {
    fn mismatch(&self, path: &Path<'_>, reason: impl Into<String>) -> CodecError {
        CodecError::Mismatch {
            schema: self.schema_name.to_owned(),
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    /// Appends the Avro binary encoding of `json` under `schema` to `out`. On error, `out`
    /// may hold a partial encoding; callers that carry on (union branches) truncate it.
    pub(crate) fn write(
        &self,
        schema: &Schema,
        json: &Json,
        path: &Path<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let wrong =
            |expected: &str| self.mismatch(path, format!("expected {expected}, found {json}"));
        match schema {
            Schema::Null => {
                if !json.is_null() {
                    return Err(wrong("null"));
                }
            }
            Schema::Boolean => {
                out.push(u8::from(json.as_bool().ok_or_else(|| wrong("a boolean"))?));
            }
            Schema::Int => {
                let n = json
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| wrong("a 32-bit integer"))?;
                write_long(out, i64::from(n));
            }
            Schema::Long => {
                write_long(out, json.as_i64().ok_or_else(|| wrong("a 64-bit integer"))?)
            }
            // Float narrowing is the schema author's declared intent.
            #[allow(clippy::cast_possible_truncation)]
            Schema::Float => {
                let x = json.as_f64().ok_or_else(|| wrong("a number"))? as f32;
                out.extend_from_slice(&x.to_le_bytes());
            }
            Schema::Double => {
                let x = json.as_f64().ok_or_else(|| wrong("a number"))?;
                out.extend_from_slice(&x.to_le_bytes());
            }
            Schema::String => {
                write_bytes(
                    out,
                    json.as_str().ok_or_else(|| wrong("a string"))?.as_bytes(),
                );
            }
            // apache-avro writes a UUID as its hyphenated lower-case string, whatever the
            // underlying type.
            Schema::Uuid => {
                let text = json.as_str().ok_or_else(|| wrong("a UUID string"))?;
                let uuid = uuid::Uuid::parse_str(text).map_err(|_| wrong("a UUID string"))?;
                let mut buffer = [0u8; uuid::fmt::Hyphenated::LENGTH];
                write_bytes(out, uuid.hyphenated().encode_lower(&mut buffer).as_bytes());
            }
            Schema::Enum(e) => {
                let symbol = json.as_str().ok_or_else(|| wrong("an enum symbol"))?;
                let index = e
                    .symbols
                    .iter()
                    .position(|s| s == symbol)
                    .ok_or_else(|| wrong(&format!("one of {:?}", e.symbols)))?;
                let index = u32::try_from(index).map_err(|_| wrong("a smaller enum"))?;
                write_long(out, i64::from(index));
            }
            Schema::Array(a) => {
                let items = json.as_array().ok_or_else(|| wrong("an array"))?;
                if !items.is_empty() {
                    write_len(out, items.len());
                    for (i, item) in items.iter().enumerate() {
                        self.write(&a.items, item, &Path::Index(path, i), out)?;
                    }
                }
                out.push(0);
            }
            Schema::Map(m) => {
                let object = json.as_object().ok_or_else(|| wrong("an object"))?;
                if !object.is_empty() {
                    write_len(out, object.len());
                    for (k, v) in object {
                        write_bytes(out, k.as_bytes());
                        self.write(&m.types, v, &Path::Field(path, k), out)?;
                    }
                }
                out.push(0);
            }
            Schema::Union(u) => {
                if json.is_null() {
                    let index = u
                        .variants()
                        .iter()
                        .position(|v| matches!(v, Schema::Null))
                        .ok_or_else(|| wrong("a non-null value"))?;
                    let index = u32::try_from(index).map_err(|_| wrong("a smaller union"))?;
                    write_long(out, i64::from(index));
                } else {
                    let mut last_error = None;
                    for (index, variant) in u.variants().iter().enumerate() {
                        if matches!(variant, Schema::Null) {
                            continue;
                        }
                        let mark = out.len();
                        let branch = u32::try_from(index);
                        write_len(out, index);
                        match self.write(variant, json, path, out) {
                            Ok(()) => {
                                branch.map_err(|_| wrong("a smaller union"))?;
                                return Ok(());
                            }
                            Err(e) => {
                                out.truncate(mark);
                                last_error = Some(e);
                            }
                        }
                    }
                    return Err(last_error.unwrap_or_else(|| wrong("a union member")));
                }
            }
            Schema::Record(record) => {
                let object = json.as_object().ok_or_else(|| wrong("an object"))?;
                self.write_record(record, object, path, out)?;
            }
            Schema::Ref { name } => {
                let target = self
                    .names
                    .get(name)
                    .ok_or_else(|| self.mismatch(path, format!("unknown named type {name}")))?;
                self.write(target, json, path, out)?;
            }
            other => {
                return Err(self.mismatch(
                    path,
                    format!("schema type {other:?} is not used by event contracts"),
                ))
            }
        }
        Ok(())
    }

    /// Fields in schema order. A JSON field the schema does not name would be silently
    /// dropped on the wire, so it is refused — and, as before, that error wins over any
    /// error in the fields themselves. It is looked for only when something is off: a field
    /// failed, or fewer JSON fields were used than the object has.
    fn write_record(
        &self,
        record: &RecordSchema,
        object: &Map<String, Json>,
        path: &Path<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let mut used = 0usize;
        for field in &record.fields {
            let field_path = Path::Field(path, &field.name);
            let written = match (object.get(&field.name), &field.default) {
                (Some(value), _) => {
                    used += 1;
                    self.write(&field.schema, value, &field_path, out)
                }
                (None, Some(default)) => self.write(&field.schema, default, &field_path, out),
                (None, None) => Err(self.mismatch(&field_path, "required field is missing")),
            };
            if let Err(e) = written {
                return Err(self.extra_field(record, object, path).unwrap_or(e));
            }
        }
        if used != object.len() {
            if let Some(e) = self.extra_field(record, object, path) {
                return Err(e);
            }
        }
        Ok(())
    }

    fn extra_field(
        &self,
        record: &RecordSchema,
        object: &Map<String, Json>,
        path: &Path<'_>,
    ) -> Option<CodecError> {
        object
            .keys()
            .find(|k| !record.fields.iter().any(|f| &f.name == *k))
            .map(|extra| {
                self.mismatch(
                    &Path::Field(path, extra),
                    "field is not in the published schema",
                )
            })
    }
}

/// Zig-zag variable-length encoding of an Avro `int` or `long`.
pub(crate) fn write_long(out: &mut Vec<u8>, n: i64) {
    // The zig-zag mapping is a bit reinterpretation by definition.
    #[allow(clippy::cast_sign_loss)]
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z & 0x7F) as u8 | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A block count or branch index: never above `i64::MAX` for anything held in memory.
fn write_len(out: &mut Vec<u8>, len: usize) {
    write_long(out, i64::try_from(len).unwrap_or(i64::MAX));
}

/// Length-prefixed bytes (Avro `bytes` and `string`).
fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_len(out, bytes.len());
    out.extend_from_slice(bytes);
}
