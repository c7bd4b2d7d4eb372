//! Personal data inside events: the envelope that lets the event store seal a patient's data
//! with that patient's key, and lets erasure ("crypto-shredding") make it unreadable
//! everywhere while the log itself stays immutable.
//!
//! A [`Personal`] value has three JSON forms, all carrying the data subject:
//!
//! | form     | JSON                                                  | who sees it             |
//! |----------|-------------------------------------------------------|-------------------------|
//! | revealed | `{"sealed_for": "<patient id>", "plaintext": {…}}`    | domain code, in memory  |
//! | sealed   | `{"sealed_for": "<patient id>", "ciphertext": "…"}`   | the `events` table, Kafka |
//! | erased   | `{"sealed_for": "<patient id>", "erased": true}`      | readers after erasure   |
//!
//! Domain code only writes the revealed form and only reads revealed or erased; the event
//! store turns one into the other with [`seal_all`] and [`open_all`], which know the envelope
//! but nothing about keys or ciphers.
use crate::PatientId;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The field naming the data subject; its presence marks an object as an envelope.
pub const SEALED_FOR: &str = "sealed_for";
pub const PLAINTEXT: &str = "plaintext";
pub const CIPHERTEXT: &str = "ciphertext";
pub const ERASED: &str = "erased";

/// Data about one patient that must become unreadable when the patient is erased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Personal<T> {
    Revealed {
        subject: PatientId,
        data: T,
    },
    /// The patient was erased: the key that sealed the data is gone.
    Erased {
        subject: PatientId,
    },
}

impl<T> Personal<T> {
    pub fn new(subject: PatientId, data: T) -> Self {
        Personal::Revealed { subject, data }
    }

    /// The patient the data is about.
    pub fn subject(&self) -> PatientId {
        match self {
            Personal::Revealed { subject, .. } | Personal::Erased { subject } => *subject,
        }
    }

    /// The data, unless the patient was erased.
    pub fn revealed(&self) -> Option<&T> {
        match self {
            Personal::Revealed { data, .. } => Some(data),
            Personal::Erased { .. } => None,
        }
    }

    pub fn is_erased(&self) -> bool {
        matches!(self, Personal::Erased { .. })
    }

    /// Forgets the data in memory, as erasure does in the log.
    pub fn erase(&mut self) {
        *self = Personal::Erased {
            subject: self.subject(),
        };
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Personal<U> {
        match self {
            Personal::Revealed { subject, data } => Personal::Revealed {
                subject,
                data: f(data),
            },
            Personal::Erased { subject } => Personal::Erased { subject },
        }
    }
}

impl<T: Serialize> Serialize for Personal<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Revealed<'a, T> {
            sealed_for: PatientId,
            plaintext: &'a T,
        }
        #[derive(Serialize)]
        struct Erased {
            sealed_for: PatientId,
            erased: bool,
        }
        match self {
            Personal::Revealed { subject, data } => Revealed {
                sealed_for: *subject,
                plaintext: data,
            }
            .serialize(serializer),
            Personal::Erased { subject } => Erased {
                sealed_for: *subject,
                erased: true,
            }
            .serialize(serializer),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Personal<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            sealed_for: PatientId,
            #[serde(default)]
            plaintext: Option<Value>,
            #[serde(default)]
            ciphertext: Option<String>,
            #[serde(default)]
            erased: bool,
        }
        let wire = Wire::deserialize(deserializer)?;
        match (wire.plaintext, wire.ciphertext, wire.erased) {
            (Some(plaintext), None, false) => Ok(Personal::Revealed {
                subject: wire.sealed_for,
                data: serde_json::from_value(plaintext).map_err(D::Error::custom)?,
            }),
            (None, None, true) => Ok(Personal::Erased {
                subject: wire.sealed_for,
            }),
            // Reading a sealed value as data would be a bug in the store, not an erasure.
            (None, Some(_), false) => Err(D::Error::custom(
                "personal data is still sealed: it must be opened by the event store first",
            )),
            _ => Err(D::Error::custom(
                "personal data needs exactly one of `plaintext`, `ciphertext` or `erased`",
            )),
        }
    }
}

/// Turns a subject's plaintext into the ciphertext text that replaces it.
pub type SealFn<'a, E> = dyn FnMut(PatientId, &Value) -> Result<String, E> + 'a;
/// Turns a subject's ciphertext back into plaintext, or `None` once the subject is erased.
pub type OpenFn<'a, E> = dyn FnMut(PatientId, &str) -> Result<Option<Value>, E> + 'a;
type VisitFn<'a, E> = dyn FnMut(PatientId, &Map<String, Value>) -> Result<(), E> + 'a;
type VisitMutFn<'a, E> = dyn FnMut(PatientId, &mut Map<String, Value>) -> Result<(), E> + 'a;

/// An envelope that cannot be sealed or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PersonalEnvelopeError {
    #[error("`sealed_for` is not a patient id: {0}")]
    BadSubject(String),
    #[error("personal data for patient {0} is already erased and cannot be written again")]
    WritingErased(PatientId),
}

/// Every patient whose data `value` carries, revealed or sealed.
pub fn subjects(value: &Value) -> Result<BTreeSet<PatientId>, PersonalEnvelopeError> {
    let mut found = BTreeSet::new();
    visit(value, &mut |subject, _| {
        found.insert(subject);
        Ok::<_, PersonalEnvelopeError>(())
    })?;
    Ok(found)
}

/// Every patient whose data `value` carries revealed, i.e. what sealing must cover.
pub fn revealed_subjects(value: &Value) -> Result<BTreeSet<PatientId>, PersonalEnvelopeError> {
    let mut found = BTreeSet::new();
    visit(value, &mut |subject, envelope| {
        if envelope.contains_key(PLAINTEXT) {
            found.insert(subject);
        }
        Ok::<_, PersonalEnvelopeError>(())
    })?;
    Ok(found)
}

/// Replaces every revealed envelope in `value` by its sealed form, the ciphertext coming from
/// `seal(subject, plaintext)`. Returns how many envelopes were sealed.
pub fn seal_all<E: From<PersonalEnvelopeError>>(
    value: &mut Value,
    seal: &mut SealFn<'_, E>,
) -> Result<usize, E> {
    let mut sealed = 0;
    visit_mut(value, &mut |subject, envelope| -> Result<(), E> {
        if envelope.contains_key(ERASED) {
            return Err(PersonalEnvelopeError::WritingErased(subject).into());
        }
        if let Some(plaintext) = envelope.remove(PLAINTEXT) {
            let ciphertext = seal(subject, &plaintext)?;
            envelope.insert(CIPHERTEXT.to_owned(), Value::String(ciphertext));
            sealed += 1;
        }
        Ok(())
    })?;
    Ok(sealed)
}

/// Replaces every sealed envelope in `value` by its plaintext from `open(subject,
/// ciphertext)`, or by the erased form where `open` answers `None`. Returns how many
/// envelopes were opened or found erased.
pub fn open_all<E: From<PersonalEnvelopeError>>(
    value: &mut Value,
    open: &mut OpenFn<'_, E>,
) -> Result<usize, E> {
    let mut opened = 0;
    visit_mut(value, &mut |subject, envelope| -> Result<(), E> {
        if let Some(Value::String(ciphertext)) = envelope.remove(CIPHERTEXT) {
            match open(subject, &ciphertext)? {
                Some(plaintext) => envelope.insert(PLAINTEXT.to_owned(), plaintext),
                None => envelope.insert(ERASED.to_owned(), Value::Bool(true)),
            };
            opened += 1;
        }
        Ok(())
    })?;
    Ok(opened)
}

fn envelope_subject(
    object: &Map<String, Value>,
) -> Option<Result<PatientId, PersonalEnvelopeError>> {
    let subject = object.get(SEALED_FOR)?;
    let is_envelope = [PLAINTEXT, CIPHERTEXT, ERASED]
        .iter()
        .any(|k| object.contains_key(*k));
    if !is_envelope {
        return None;
    }
    Some(
        subject
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| PersonalEnvelopeError::BadSubject(subject.to_string())),
    )
}

fn visit<E: From<PersonalEnvelopeError>>(value: &Value, f: &mut VisitFn<'_, E>) -> Result<(), E> {
    match value {
        Value::Object(object) => match envelope_subject(object) {
            Some(subject) => f(subject?, object),
            None => object.values().try_for_each(|v| visit(v, f)),
        },
        Value::Array(items) => items.iter().try_for_each(|v| visit(v, f)),
        _ => Ok(()),
    }
}

fn visit_mut<E: From<PersonalEnvelopeError>>(
    value: &mut Value,
    f: &mut VisitMutFn<'_, E>,
) -> Result<(), E> {
    match value {
        Value::Object(object) => match envelope_subject(object) {
            Some(subject) => f(subject?, object),
            None => object.values_mut().try_for_each(|v| visit_mut(v, f)),
        },
        Value::Array(items) => items.iter_mut().try_for_each(|v| visit_mut(v, f)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Name {
        given: String,
    }

    fn event(subject: PatientId) -> Value {
        json!({
            "PatientRegistered": {
                "patient_id": subject.to_string(),
                "details": Personal::new(subject, Name { given: "Zoë".into() }),
                "tags": [{"inner": Personal::new(subject, 7)}],
            }
        })
    }

    fn reverse(_: PatientId, plaintext: &Value) -> Result<String, PersonalEnvelopeError> {
        Ok(plaintext.to_string().chars().rev().collect())
    }

    #[test]
    fn revealed_round_trips_through_its_json_form() {
        let subject = PatientId::new();
        let value = Personal::new(
            subject,
            Name {
                given: "Ana".into(),
            },
        );
        let json = serde_json::to_value(&value).unwrap();
        assert_eq!(
            json,
            json!({"sealed_for": subject.to_string(), "plaintext": {"given": "Ana"}})
        );
        assert_eq!(
            serde_json::from_value::<Personal<Name>>(json).unwrap(),
            value
        );
    }

    #[test]
    fn sealing_then_opening_gives_back_the_revealed_form() {
        let subject = PatientId::new();
        let original = event(subject);
        let mut stored = original.clone();
        assert_eq!(seal_all(&mut stored, &mut reverse).unwrap(), 2);
        assert!(!stored.to_string().contains("Zoë"));
        assert_eq!(subjects(&stored).unwrap(), BTreeSet::from([subject]));
        let opened = open_all(&mut stored, &mut |_, c: &str| {
            Ok::<_, PersonalEnvelopeError>(Some(
                serde_json::from_str(&c.chars().rev().collect::<String>()).unwrap(),
            ))
        });
        assert_eq!(opened.unwrap(), 2);
        assert_eq!(stored, original);
    }

    #[test]
    fn a_missing_key_reads_as_erased() {
        let subject = PatientId::new();
        let mut stored = event(subject);
        seal_all(&mut stored, &mut reverse).unwrap();
        open_all(&mut stored, &mut |_, _| {
            Ok::<_, PersonalEnvelopeError>(None)
        })
        .unwrap();
        let details: Personal<Name> =
            serde_json::from_value(stored["PatientRegistered"]["details"].clone()).unwrap();
        assert_eq!(details, Personal::Erased { subject });
        assert!(details.revealed().is_none());
    }

    #[test]
    fn sealed_data_is_never_read_as_data() {
        let subject = PatientId::new();
        let mut stored = event(subject);
        seal_all(&mut stored, &mut reverse).unwrap();
        let read = serde_json::from_value::<Personal<Name>>(
            stored["PatientRegistered"]["details"].clone(),
        );
        assert!(read.unwrap_err().to_string().contains("still sealed"));
    }

    #[test]
    fn erased_data_cannot_be_written_again() {
        let subject = PatientId::new();
        let mut erased = Personal::new(subject, 1);
        erased.erase();
        let mut value = json!({"copy": erased});
        assert_eq!(
            seal_all(&mut value, &mut reverse),
            Err(PersonalEnvelopeError::WritingErased(subject))
        );
    }

    #[test]
    fn a_malformed_subject_is_refused() {
        let mut value = json!({"x": {"sealed_for": "nobody", "plaintext": 1}});
        assert!(matches!(
            seal_all(&mut value, &mut reverse),
            Err(PersonalEnvelopeError::BadSubject(_))
        ));
    }
}
