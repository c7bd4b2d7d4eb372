//! The published-contract lock: `schemas/avro/schemas.lock.json` records, for every event
//! schema partners may have seen, its fingerprint and text. A schema may change only in a
//! backward-compatible way (readers of the new schema read old data: new fields carry
//! defaults, nothing is removed or retyped), and the lock must then be refreshed with
//! `optical-erp schemas lock` so the change is reviewed as a contract change.
use crate::schemas::{EventSchema, SchemaCatalog};
use apache_avro::schema::Schema;
use apache_avro::schema_compatibility::SchemaCompatibility;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEntry {
    pub event_type: String,
    /// CRC-64-AVRO of the Parsing Canonical Form, hex, little-endian bytes.
    pub fingerprint: String,
    /// The published schema, as compact JSON.
    pub schema: String,
}

pub type Lock = BTreeMap<String, LockEntry>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A published schema's file is gone.
    Removed { file: String },
    /// The new schema cannot read data written with the published one.
    Incompatible { file: String, reason: String },
    /// A field partners relied on disappeared.
    FieldRemoved { file: String, field: String },
    /// A field kept its name but changed its type.
    FieldRetyped { file: String, field: String },
    /// A schema that is not in the lock yet.
    NotLocked { file: String },
    /// A compatible change that the lock does not record yet.
    LockOutdated { file: String },
    /// The lock file itself is unreadable.
    BadLock { reason: String },
}

impl Violation {
    /// Violations that refreshing the lock resolves.
    pub fn is_relockable(&self) -> bool {
        matches!(
            self,
            Violation::NotLocked { .. } | Violation::LockOutdated { .. }
        )
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Removed { file } => write!(f, "{file}: published schema was removed"),
            Violation::Incompatible { file, reason } => {
                write!(f, "{file}: not backward compatible: {reason}")
            }
            Violation::FieldRemoved { file, field } => {
                write!(f, "{file}: published field `{field}` was removed")
            }
            Violation::FieldRetyped { file, field } => {
                write!(f, "{file}: published field `{field}` changed its type")
            }
            Violation::NotLocked { file } => write!(
                f,
                "{file}: new schema is not in the lock; run `optical-erp schemas lock`"
            ),
            Violation::LockOutdated { file } => write!(
                f,
                "{file}: compatible change not yet locked; run `optical-erp schemas lock`"
            ),
            Violation::BadLock { reason } => write!(f, "schemas.lock.json is unreadable: {reason}"),
        }
    }
}

pub fn parse_lock(text: &str) -> Result<Lock, Violation> {
    serde_json::from_str(text).map_err(|e| Violation::BadLock {
        reason: e.to_string(),
    })
}

/// Compares the current schemas with the lock.
pub fn check(catalog: &SchemaCatalog, lock: &Lock) -> Vec<Violation> {
    let mut violations = Vec::new();
    for (file, entry) in lock {
        let Some(current) = catalog.iter().find(|s| &s.file == file) else {
            violations.push(Violation::Removed { file: file.clone() });
            continue;
        };
        if current.fingerprint_hex() == entry.fingerprint {
            continue;
        }
        let published = match Schema::parse_str(&entry.schema) {
            Ok(schema) => schema,
            Err(e) => {
                violations.push(Violation::BadLock {
                    reason: format!("{file}: {e}"),
                });
                continue;
            }
        };
        let before = violations.len();
        if let Err(e) = SchemaCompatibility::can_read(&published, &current.schema) {
            violations.push(Violation::Incompatible {
                file: file.clone(),
                reason: e.to_string(),
            });
        }
        compare_fields(file, "", &published, &current.schema, &mut violations);
        if violations.len() == before {
            violations.push(Violation::LockOutdated { file: file.clone() });
        }
    }
    for schema in catalog.iter() {
        if !lock.contains_key(&schema.file) {
            violations.push(Violation::NotLocked {
                file: schema.file.clone(),
            });
        }
    }
    violations
}

/// Every field of every published record must still exist with the same kind of type.
fn compare_fields(
    file: &str,
    path: &str,
    published: &Schema,
    current: &Schema,
    out: &mut Vec<Violation>,
) {
    let (Schema::Record(old), Schema::Record(new)) = (published, current) else {
        return;
    };
    for field in &old.fields {
        let field_path = if path.is_empty() {
            field.name.clone()
        } else {
            format!("{path}.{}", field.name)
        };
        match new.fields.iter().find(|f| f.name == field.name) {
            None => out.push(Violation::FieldRemoved {
                file: file.to_owned(),
                field: field_path,
            }),
            Some(now) => {
                if std::mem::discriminant(&field.schema) != std::mem::discriminant(&now.schema) {
                    out.push(Violation::FieldRetyped {
                        file: file.to_owned(),
                        field: field_path,
                    });
                } else {
                    compare_fields(file, &field_path, &field.schema, &now.schema, out);
                }
            }
        }
    }
}

/// The lock for the current schemas, refusing when a change is not backward compatible.
pub fn relock(catalog: &SchemaCatalog, previous: &Lock) -> Result<Lock, Vec<Violation>> {
    let blocking: Vec<Violation> = check(catalog, previous)
        .into_iter()
        .filter(|v| !v.is_relockable())
        .collect();
    if !blocking.is_empty() {
        return Err(blocking);
    }
    Ok(catalog.iter().map(|s| (s.file.clone(), entry(s))).collect())
}

fn entry(schema: &EventSchema) -> LockEntry {
    let compact = serde_json::from_str::<serde_json::Value>(&schema.source)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| schema.source.clone());
    LockEntry {
        event_type: schema.event_type.clone(),
        fingerprint: schema.fingerprint_hex(),
        schema: compact,
    }
}

pub fn render(lock: &Lock) -> String {
    let mut text = serde_json::to_string_pretty(lock).unwrap_or_default();
    text.push('\n');
    text
}

/// The lock file as committed, embedded so `cargo test` checks exactly what is in the tree.
pub const COMMITTED_LOCK: &str = include_str!("../../../schemas/avro/schemas.lock.json");

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"{"type":"record","name":"Thing","namespace":"optical.test","fields":[
        {"name":"id","type":{"type":"string","logicalType":"uuid"}},
        {"name":"size","type":"int"}]}"#;

    fn catalog_with(source: &str) -> SchemaCatalog {
        SchemaCatalog::from_files([("test/thing.happened.avsc", source)]).unwrap()
    }

    fn locked_v1() -> Lock {
        relock(&catalog_with(V1), &Lock::new()).unwrap()
    }

    #[test]
    fn the_committed_lock_matches_the_schemas_in_the_tree() {
        let catalog = SchemaCatalog::embedded().unwrap();
        let lock = parse_lock(COMMITTED_LOCK).unwrap();
        let violations = check(&catalog, &lock);
        assert!(
            violations.is_empty(),
            "{}",
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    #[test]
    fn an_unchanged_schema_passes() {
        assert_eq!(check(&catalog_with(V1), &locked_v1()), vec![]);
    }

    #[test]
    fn a_new_field_with_a_default_is_compatible_but_must_be_relocked() {
        let v2 = V1.replace(r#"{"name":"size","type":"int"}"#, r#"{"name":"size","type":"int"},{"name":"note","type":["null","string"],"default":null}"#);
        let violations = check(&catalog_with(&v2), &locked_v1());
        assert_eq!(
            violations,
            vec![Violation::LockOutdated {
                file: "test/thing.happened.avsc".into()
            }]
        );
        assert!(relock(&catalog_with(&v2), &locked_v1()).is_ok());
    }

    #[test]
    fn a_new_field_without_a_default_is_refused() {
        let v2 = V1.replace(
            r#"{"name":"size","type":"int"}"#,
            r#"{"name":"size","type":"int"},{"name":"note","type":"string"}"#,
        );
        let violations = check(&catalog_with(&v2), &locked_v1());
        assert!(
            matches!(violations.as_slice(), [Violation::Incompatible { .. }]),
            "{violations:?}"
        );
        assert!(relock(&catalog_with(&v2), &locked_v1()).is_err());
    }

    #[test]
    fn removing_or_retyping_a_field_is_refused() {
        let removed = V1.replace(
            r#",
        {"name":"size","type":"int"}"#,
            "",
        );
        let violations = check(&catalog_with(&removed), &locked_v1());
        assert!(
            violations.contains(&Violation::FieldRemoved {
                file: "test/thing.happened.avsc".into(),
                field: "size".into()
            }),
            "{violations:?}"
        );

        let retyped = V1.replace(
            r#"{"name":"size","type":"int"}"#,
            r#"{"name":"size","type":"string"}"#,
        );
        let violations = check(&catalog_with(&retyped), &locked_v1());
        assert!(
            violations.contains(&Violation::FieldRetyped {
                file: "test/thing.happened.avsc".into(),
                field: "size".into()
            }),
            "{violations:?}"
        );
        assert!(relock(&catalog_with(&retyped), &locked_v1()).is_err());
    }

    #[test]
    fn deleting_a_published_schema_is_refused() {
        let other = SchemaCatalog::from_files([("test/other.happened.avsc", V1)]).unwrap();
        let violations = check(&other, &locked_v1());
        assert!(violations.contains(&Violation::Removed {
            file: "test/thing.happened.avsc".into()
        }));
    }
}
