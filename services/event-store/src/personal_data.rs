//! Crypto-shredding: every patient has a data key (AES-256-GCM), kept in
//! `customers_data_keys` wrapped by a master key from configuration, never in the event log.
//! Personal data inside event payloads ([`optical_kernel::Personal`]) is sealed with it on
//! append and opened on load; erasing the patient deletes the key in the erasure event's
//! transaction, after which every copy — rows, Kafka messages, backups — is unreadable.
//!
//! Invariant: no payload with revealed personal data reaches the `events` table. Without
//! [`DataKeys`] the repository refuses such payloads instead of storing them in clear.
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use cqrs_es::persist::SerializedEvent;
use deadpool_postgres::Pool;
use optical_kernel::personal::{self, PersonalEnvelopeError};
use optical_kernel::{EventMetadata, PatientId, TenantId};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

const NONCE_LEN: usize = 12;
/// First byte of every sealed value, so the format can change without guessing.
const FORMAT_V1: u8 = 1;
const PAYLOAD_AAD: &[u8] = b"optical-erp/personal-data/v1";
const WRAP_AAD: &[u8] = b"optical-erp/data-key/v1";
const BYTES_AAD: &[u8] = b"optical-erp/personal-document/v1";

/// Why personal data could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum PersonalDataError {
    #[error("patient {0} was erased: their personal data can no longer be written")]
    Erased(PatientId),
    #[error("no data key for patient {0}")]
    MissingKey(PatientId),
    #[error("an event carries personal data but the store has no data keys configured")]
    NotConfigured,
    #[error("data key of patient {0} is wrapped by unknown master key `{1}`")]
    UnknownMasterKey(PatientId, String),
    #[error("sealed personal data of patient {0} does not authenticate")]
    Tampered(PatientId),
    #[error("personal data could not be encrypted")]
    Encryption,
    #[error("a snapshot carries personal data; aggregates with personal data are not snapshotted")]
    SnapshotWithPersonalData,
    #[error("invalid master key: {0}")]
    InvalidMasterKey(String),
    #[error(transparent)]
    Envelope(#[from] PersonalEnvelopeError),
    #[error("event metadata: {0}")]
    Metadata(String),
    #[error("personal data is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("database: {0}")]
    Database(String),
}

impl From<tokio_postgres::Error> for PersonalDataError {
    fn from(error: tokio_postgres::Error) -> Self {
        PersonalDataError::Database(error.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for PersonalDataError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        PersonalDataError::Database(error.to_string())
    }
}

/// A 256-bit AES key. Debug never prints it.
#[derive(Clone)]
struct Key([u8; 32]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    fn random() -> Self {
        Key(rand::random())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }

    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, PersonalDataError> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ciphertext = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| PersonalDataError::Encryption)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    fn open(&self, sealed: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let (version, rest) = sealed.split_first()?;
        if *version != FORMAT_V1 || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
    }
}

/// The master keys that wrap data keys: the current one wraps new keys, previous ones only
/// unwrap (so a master key can be rotated without rewriting every row at once).
#[derive(Clone, Debug)]
pub struct MasterKeys {
    current: String,
    keys: HashMap<String, Key>,
}

impl MasterKeys {
    /// `key_base64` is 32 random bytes in standard base64.
    pub fn new(id: &str, key_base64: &str) -> Result<Self, PersonalDataError> {
        let mut keys = HashMap::new();
        keys.insert(id.to_owned(), parse_key(key_base64)?);
        Ok(Self {
            current: id.to_owned(),
            keys,
        })
    }

    /// Adds keys that may still unwrap old data keys: `id:base64,id:base64`.
    pub fn with_previous(mut self, list: &str) -> Result<Self, PersonalDataError> {
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            // Never echo the entry: it holds key material.
            let (id, key) = entry.split_once(':').ok_or_else(|| {
                PersonalDataError::InvalidMasterKey("a previous key is not `id:base64`".into())
            })?;
            self.keys.insert(id.to_owned(), parse_key(key)?);
        }
        Ok(self)
    }

    /// A fresh random master key, for tests and throwaway dev databases.
    pub fn random(id: &str) -> Self {
        let mut keys = HashMap::new();
        keys.insert(id.to_owned(), Key::random());
        Self {
            current: id.to_owned(),
            keys,
        }
    }

    pub fn current_id(&self) -> &str {
        &self.current
    }
}

fn parse_key(key_base64: &str) -> Result<Key, PersonalDataError> {
    let bytes = BASE64
        .decode(key_base64.trim())
        .map_err(|e| PersonalDataError::InvalidMasterKey(format!("not base64: {e}")))?;
    let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        PersonalDataError::InvalidMasterKey(format!("{} bytes instead of 32", b.len()))
    })?;
    Ok(Key(key))
}

fn aad(context: &[u8], tenant_id: TenantId, patient_id: PatientId) -> Vec<u8> {
    let mut aad = Vec::with_capacity(context.len() + 32);
    aad.extend_from_slice(context);
    aad.extend_from_slice(tenant_id.as_uuid().as_bytes());
    aad.extend_from_slice(patient_id.as_uuid().as_bytes());
    aad
}

enum DataKey {
    Active(Key),
    Erased,
}

// New keys come back from the insert, existing ones from the table; one round trip.
const GET_OR_CREATE_KEYS: &str = "
    WITH wanted AS (
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bytea[], $4::text[])
            AS w(tenant_id, patient_id, wrapped_key, master_key_id)),
    created AS (
        INSERT INTO customers_data_keys (tenant_id, patient_id, wrapped_key, master_key_id)
        SELECT tenant_id, patient_id, wrapped_key, master_key_id FROM wanted
        ON CONFLICT (tenant_id, patient_id) DO NOTHING
        RETURNING tenant_id, patient_id, wrapped_key, master_key_id)
    SELECT tenant_id, patient_id, wrapped_key, master_key_id FROM created
    UNION ALL
    SELECT k.tenant_id, k.patient_id, k.wrapped_key, k.master_key_id
      FROM customers_data_keys k JOIN wanted w USING (tenant_id, patient_id)";

const GET_KEYS: &str = "
    SELECT k.tenant_id, k.patient_id, k.wrapped_key, k.master_key_id
      FROM customers_data_keys k
      JOIN unnest($1::uuid[], $2::uuid[]) AS w(tenant_id, patient_id) USING (tenant_id, patient_id)";

pub(crate) const ERASE_KEY: &str = "
    INSERT INTO customers_data_keys (tenant_id, patient_id, wrapped_key, master_key_id, erased_at)
    VALUES ($1, $2, NULL, NULL, now())
    ON CONFLICT (tenant_id, patient_id) DO UPDATE
       SET wrapped_key = NULL, master_key_id = NULL,
           erased_at = coalesce(customers_data_keys.erased_at, now())";

/// Seals and opens personal data with per-patient keys.
#[derive(Clone)]
pub struct DataKeys {
    pool: Pool,
    master: Arc<MasterKeys>,
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKeys")
            .field("master_key", &self.master.current)
            .finish()
    }
}

type Subjects = BTreeSet<(TenantId, PatientId)>;

impl DataKeys {
    pub fn new(pool: Pool, master: MasterKeys) -> Self {
        Self {
            pool,
            master: Arc::new(master),
        }
    }

    fn unwrap_key(
        &self,
        tenant_id: TenantId,
        patient_id: PatientId,
        wrapped: Option<Vec<u8>>,
        master_id: Option<String>,
    ) -> Result<DataKey, PersonalDataError> {
        let (Some(wrapped), Some(master_id)) = (wrapped, master_id) else {
            return Ok(DataKey::Erased);
        };
        let master =
            self.master.keys.get(&master_id).ok_or_else(|| {
                PersonalDataError::UnknownMasterKey(patient_id, master_id.clone())
            })?;
        let raw = master
            .open(&wrapped, &aad(WRAP_AAD, tenant_id, patient_id))
            .ok_or(PersonalDataError::Tampered(patient_id))?;
        let key: [u8; 32] = raw
            .try_into()
            .map_err(|_| PersonalDataError::Tampered(patient_id))?;
        Ok(DataKey::Active(Key(key)))
    }

    async fn keys(
        &self,
        subjects: &Subjects,
        create: bool,
    ) -> Result<HashMap<(TenantId, PatientId), DataKey>, PersonalDataError> {
        if subjects.is_empty() {
            return Ok(HashMap::new());
        }
        let tenants: Vec<Uuid> = subjects.iter().map(|(t, _)| *t.as_uuid()).collect();
        let patients: Vec<Uuid> = subjects.iter().map(|(_, p)| *p.as_uuid()).collect();
        let client = self.pool.get().await?;
        let rows = if create {
            let master = self
                .master
                .keys
                .get(&self.master.current)
                .ok_or_else(|| PersonalDataError::InvalidMasterKey("no current key".into()))?;
            let wrapped: Vec<Vec<u8>> = subjects
                .iter()
                .map(|(t, p)| master.seal(&Key::random().0, &aad(WRAP_AAD, *t, *p)))
                .collect::<Result<_, _>>()?;
            let ids = vec![self.master.current.clone(); subjects.len()];
            let statement = client.prepare_cached(GET_OR_CREATE_KEYS).await?;
            client
                .query(&statement, &[&tenants, &patients, &wrapped, &ids])
                .await?
        } else {
            let statement = client.prepare_cached(GET_KEYS).await?;
            client.query(&statement, &[&tenants, &patients]).await?
        };
        let mut keys = HashMap::with_capacity(rows.len());
        for row in rows {
            let tenant_id = TenantId::from_uuid(row.try_get("tenant_id")?);
            let patient_id = PatientId::from_uuid(row.try_get("patient_id")?);
            let key = self.unwrap_key(
                tenant_id,
                patient_id,
                row.try_get("wrapped_key")?,
                row.try_get("master_key_id")?,
            )?;
            keys.insert((tenant_id, patient_id), key);
        }
        Ok(keys)
    }

    /// Seals every revealed [`optical_kernel::Personal`] value of `payload`, creating the
    /// patient's key on first use. Refuses data of an erased patient.
    pub async fn seal_json(
        &self,
        tenant_id: TenantId,
        payload: &mut Value,
    ) -> Result<usize, PersonalDataError> {
        let subjects: Subjects = personal::revealed_subjects(payload)?
            .into_iter()
            .map(|p| (tenant_id, p))
            .collect();
        if subjects.is_empty() {
            return Ok(0);
        }
        let mut keys = self.keys(&subjects, true).await?;
        if keys.len() < subjects.len() {
            // A concurrent first use inserted the key after our snapshot: read it now.
            keys = self.keys(&subjects, false).await?;
        }
        seal_with(&keys, tenant_id, payload)
    }

    /// Opens every sealed value of `payload`; values of erased patients become erased.
    pub async fn open_json(
        &self,
        tenant_id: TenantId,
        payload: &mut Value,
    ) -> Result<usize, PersonalDataError> {
        let subjects: Subjects = personal::subjects(payload)?
            .into_iter()
            .map(|p| (tenant_id, p))
            .collect();
        let keys = self.keys(&subjects, false).await?;
        open_with(&keys, tenant_id, payload)
    }

    /// Seals the payloads of events about to be appended (one key query for all of them).
    pub(crate) async fn seal_events(
        &self,
        events: &mut [SerializedEvent],
    ) -> Result<(), PersonalDataError> {
        let subjects = subjects_of(events, personal::revealed_subjects)?;
        if subjects.is_empty() {
            return Ok(());
        }
        let mut keys = self.keys(&subjects, true).await?;
        if keys.len() < subjects.len() {
            keys = self.keys(&subjects, false).await?;
        }
        for event in events {
            let tenant_id = tenant_of(event)?;
            seal_with(&keys, tenant_id, &mut event.payload)?;
        }
        Ok(())
    }

    /// Opens the payloads of loaded events (one key query for all of them).
    pub(crate) async fn open_events(
        &self,
        events: &mut [SerializedEvent],
    ) -> Result<(), PersonalDataError> {
        let subjects = subjects_of(events, personal::subjects)?;
        if subjects.is_empty() {
            return Ok(());
        }
        let keys = self.keys(&subjects, false).await?;
        for event in events {
            let tenant_id = tenant_of(event)?;
            open_with(&keys, tenant_id, &mut event.payload)?;
        }
        Ok(())
    }

    /// Seals a document (an Rx scan) with the patient's key.
    pub async fn seal_bytes(
        &self,
        tenant_id: TenantId,
        patient_id: PatientId,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, PersonalDataError> {
        let subjects = BTreeSet::from([(tenant_id, patient_id)]);
        let keys = self.keys(&subjects, true).await?;
        match keys.get(&(tenant_id, patient_id)) {
            Some(DataKey::Active(key)) => {
                key.seal(plaintext, &aad(BYTES_AAD, tenant_id, patient_id))
            }
            Some(DataKey::Erased) => Err(PersonalDataError::Erased(patient_id)),
            None => Err(PersonalDataError::MissingKey(patient_id)),
        }
    }

    /// Opens a document sealed by [`DataKeys::seal_bytes`]; `None` once the patient is erased.
    pub async fn open_bytes(
        &self,
        tenant_id: TenantId,
        patient_id: PatientId,
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>, PersonalDataError> {
        let subjects = BTreeSet::from([(tenant_id, patient_id)]);
        let keys = self.keys(&subjects, false).await?;
        match keys.get(&(tenant_id, patient_id)) {
            Some(DataKey::Active(key)) => key
                .open(sealed, &aad(BYTES_AAD, tenant_id, patient_id))
                .map(Some)
                .ok_or(PersonalDataError::Tampered(patient_id)),
            Some(DataKey::Erased) => Ok(None),
            None => Err(PersonalDataError::MissingKey(patient_id)),
        }
    }
}

fn tenant_of(event: &SerializedEvent) -> Result<TenantId, PersonalDataError> {
    EventMetadata::from_json(&event.metadata)
        .map(|m| m.tenant_id)
        .map_err(|e| PersonalDataError::Metadata(e.to_string()))
}

type FindSubjects = fn(&Value) -> Result<BTreeSet<PatientId>, PersonalEnvelopeError>;

fn subjects_of(
    events: &[SerializedEvent],
    find: FindSubjects,
) -> Result<Subjects, PersonalDataError> {
    let mut all = Subjects::new();
    for event in events {
        let found = find(&event.payload)?;
        if !found.is_empty() {
            let tenant_id = tenant_of(event)?;
            all.extend(found.into_iter().map(|p| (tenant_id, p)));
        }
    }
    Ok(all)
}

fn seal_with(
    keys: &HashMap<(TenantId, PatientId), DataKey>,
    tenant_id: TenantId,
    payload: &mut Value,
) -> Result<usize, PersonalDataError> {
    personal::seal_all(payload, &mut |patient_id, plaintext| match keys
        .get(&(tenant_id, patient_id))
    {
        Some(DataKey::Active(key)) => {
            let text = serde_json::to_vec(plaintext)?;
            let sealed = key.seal(&text, &aad(PAYLOAD_AAD, tenant_id, patient_id))?;
            Ok(BASE64.encode(sealed))
        }
        Some(DataKey::Erased) => Err(PersonalDataError::Erased(patient_id)),
        None => Err(PersonalDataError::MissingKey(patient_id)),
    })
}

fn open_with(
    keys: &HashMap<(TenantId, PatientId), DataKey>,
    tenant_id: TenantId,
    payload: &mut Value,
) -> Result<usize, PersonalDataError> {
    personal::open_all(payload, &mut |patient_id, ciphertext| match keys
        .get(&(tenant_id, patient_id))
    {
        Some(DataKey::Active(key)) => {
            let sealed = BASE64
                .decode(ciphertext)
                .map_err(|_| PersonalDataError::Tampered(patient_id))?;
            let text = key
                .open(&sealed, &aad(PAYLOAD_AAD, tenant_id, patient_id))
                .ok_or(PersonalDataError::Tampered(patient_id))?;
            Ok(Some(serde_json::from_slice(&text)?))
        }
        Some(DataKey::Erased) => Ok(None),
        None => Err(PersonalDataError::MissingKey(patient_id)),
    })
}

/// Does `events` carry revealed personal data that must be sealed before it is stored?
pub(crate) fn carries_personal_data(events: &[SerializedEvent]) -> Result<bool, PersonalDataError> {
    for event in events {
        if !personal::revealed_subjects(&event.payload)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let key = Key::random();
        let tenant = TenantId::new();
        let patient = PatientId::new();
        let sealed = key
            .seal(b"Zoe Smith", &aad(PAYLOAD_AAD, tenant, patient))
            .unwrap();
        assert!(!sealed.windows(3).any(|w| w == b"Zoe"));
        assert_eq!(
            key.open(&sealed, &aad(PAYLOAD_AAD, tenant, patient)),
            Some(b"Zoe Smith".to_vec())
        );
        // Moved to another patient or tenant, or opened with another key: refused.
        assert_eq!(
            key.open(&sealed, &aad(PAYLOAD_AAD, tenant, PatientId::new())),
            None
        );
        assert_eq!(
            key.open(&sealed, &aad(PAYLOAD_AAD, TenantId::new(), patient)),
            None
        );
        assert_eq!(
            Key::random().open(&sealed, &aad(PAYLOAD_AAD, tenant, patient)),
            None
        );
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let key = Key::random();
        let aad = aad(PAYLOAD_AAD, TenantId::new(), PatientId::new());
        assert_ne!(
            key.seal(b"same", &aad).unwrap(),
            key.seal(b"same", &aad).unwrap()
        );
    }

    #[test]
    fn master_keys_parse_from_base64_and_refuse_wrong_lengths() {
        let good = BASE64.encode([7u8; 32]);
        let keys = MasterKeys::new("k2", &good)
            .and_then(|k| k.with_previous(&format!("k1:{good}")))
            .unwrap();
        assert_eq!(keys.current_id(), "k2");
        assert!(keys.keys.contains_key("k1"));
        assert!(MasterKeys::new("k", &BASE64.encode([1u8; 16])).is_err());
        assert!(MasterKeys::new("k", "not base64!").is_err());
        assert!(MasterKeys::random("k").with_previous("no-colon").is_err());
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let keys = MasterKeys::random("k1");
        assert!(!format!("{keys:?}").contains('['));
    }
}
