//! JWKS key sets: parsing with per-key tolerance, lookup by `kid` and algorithm, and the
//! URL source's refetch-on-unknown-`kid` with a cooldown.

use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use super::{AuthError, AuthSetupError};

/// RSA moduli below this many bits are factorable by a determined attacker.
const MIN_RSA_BITS: usize = 2048;
/// A JWKS is a few kilobytes; a bigger answer is not one.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bounds how long requests with an unknown `kid` wait for a refetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// One usable verification key.
#[derive(Clone)]
struct JwksKey {
    kid: Option<String>,
    /// RS256 for RSA keys, ES256 for P-256 keys: the only algorithm this key verifies.
    alg: Algorithm,
    key: DecodingKey,
}

/// The usable keys of one JWKS document.
#[derive(Clone, Default)]
pub(super) struct KeySet {
    keys: Vec<JwksKey>,
}

/// Only the members we read; everything is optional so that one odd key is skipped
/// with a reason instead of failing the whole set.
#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    kid: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Parses a JWKS document. Only a document that is not a JWK set at all is an error;
    /// keys we cannot or must not use are logged at warn and skipped.
    pub(super) fn parse(json: &[u8], origin: &str) -> Result<Self, String> {
        let raw: RawJwkSet = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        let mut candidates = Vec::new();
        for (index, value) in raw.keys.into_iter().enumerate() {
            let kid = value
                .get("kid")
                .and_then(|kid| kid.as_str())
                .map(str::to_owned);
            match serde_json::from_value::<RawJwk>(value)
                .map_err(|e| e.to_string())
                .and_then(usable_key)
            {
                Ok(key) => candidates.push(key),
                Err(reason) => {
                    tracing::warn!(%origin, index, ?kid, %reason, "skipping JWKS key");
                }
            }
        }

        let mut keys: Vec<JwksKey> = Vec::with_capacity(candidates.len());
        for key in &candidates {
            if key.kid.is_none() && candidates.iter().filter(|k| k.alg == key.alg).count() > 1 {
                // Which one would a kid-less token mean? Refuse to guess.
                let alg = key.alg;
                tracing::warn!(%origin, ?alg, "skipping JWKS key without `kid`: not alone of its type");
                continue;
            }
            if keys.iter().any(|k| k.kid == key.kid && k.alg == key.alg) {
                tracing::warn!(%origin, kid = ?key.kid, "skipping JWKS key: duplicate `kid`");
                continue;
            }
            keys.push(key.clone());
        }
        Ok(Self { keys })
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// A token with a `kid` uses that key; one without uses the kid-less key of its type.
    /// A `kid` naming a key of another type than `alg` is the algorithm's fault, not an
    /// unknown key: refetching would not help.
    pub(super) fn get(&self, kid: Option<&str>, alg: Algorithm) -> Result<&DecodingKey, AuthError> {
        let mut same_kid = self.keys.iter().filter(|k| k.kid.as_deref() == kid);
        match same_kid.clone().find(|k| k.alg == alg) {
            Some(key) => Ok(&key.key),
            None if kid.is_some() && same_kid.next().is_some() => {
                Err(AuthError::UnsupportedAlgorithm)
            }
            None => Err(AuthError::UnknownKey),
        }
    }
}

/// Turns one JWK into a key, or says why not.
fn usable_key(jwk: RawJwk) -> Result<JwksKey, String> {
    if let Some(use_) = jwk.use_.as_deref().filter(|u| *u != "sig") {
        return Err(format!("`use` is `{use_}`, not `sig`"));
    }
    if let Some(ops) = &jwk.key_ops {
        if !ops.iter().any(|op| op == "verify") {
            return Err("`key_ops` does not include `verify`".to_owned());
        }
    }
    let (alg, key) = match jwk.kty.as_deref() {
        Some("RSA") => {
            let (n, e) = jwk
                .n
                .as_deref()
                .zip(jwk.e.as_deref())
                .ok_or("RSA key without `n` and `e`")?;
            let modulus = decode(n, "n")?;
            decode(e, "e")?;
            let bits = modulus.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "RSA modulus of about {bits} bits; at least {MIN_RSA_BITS} required"
                ));
            }
            let key = DecodingKey::from_rsa_components(n, e).map_err(|e| e.to_string())?;
            (Algorithm::RS256, key)
        }
        Some("EC") => {
            if jwk.crv.as_deref() != Some("P-256") {
                return Err(format!("EC curve {:?} is not P-256", jwk.crv));
            }
            let (x, y) = jwk
                .x
                .as_deref()
                .zip(jwk.y.as_deref())
                .ok_or("EC key without `x` and `y`")?;
            if decode(x, "x")?.len() != 32 || decode(y, "y")?.len() != 32 {
                return Err("P-256 coordinates must be 32 bytes".to_owned());
            }
            let key = DecodingKey::from_ec_components(x, y).map_err(|e| e.to_string())?;
            // The point is only checked when a verifier is built: build one now so a bad
            // point is skipped here instead of failing every token as a bad signature.
            if jsonwebtoken::crypto::verify("", b"", &key, Algorithm::ES256).is_err() {
                return Err("the point is not on P-256".to_owned());
            }
            (Algorithm::ES256, key)
        }
        other => return Err(format!("unsupported key type {other:?}")),
    };
    let expected = if alg == Algorithm::RS256 {
        "RS256"
    } else {
        "ES256"
    };
    if let Some(declared) = jwk.alg.as_deref().filter(|a| *a != expected) {
        return Err(format!(
            "`alg` is `{declared}`; only {expected} is accepted for this key type"
        ));
    }
    Ok(JwksKey {
        kid: jwk.kid,
        alg,
        key,
    })
}

fn decode(value: &str, member: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|e| format!("`{member}` is not base64url: {e}"))
}

/// The keys of a [`super::KeySource::JwksFile`] or [`super::KeySource::JwksUrl`].
pub(super) enum Jwks {
    Fixed(KeySet),
    Remote(Remote),
}

impl Jwks {
    pub(super) fn from_file(path: &Path) -> Result<Self, AuthSetupError> {
        let origin = path.display().to_string();
        // Blocking, but once at start-up on a small file (and tokio's `fs` is not enabled).
        let bytes = std::fs::read(path).map_err(|source| AuthSetupError::ReadJwksFile {
            path: path.to_owned(),
            source,
        })?;
        let keys =
            KeySet::parse(&bytes, &origin).map_err(|reason| AuthSetupError::InvalidJwks {
                origin: origin.clone(),
                reason,
            })?;
        if keys.len() == 0 {
            return Err(AuthSetupError::NoUsableKeys { origin });
        }
        Ok(Self::Fixed(keys))
    }

    pub(super) async fn from_url(url: String, cooldown: Duration) -> Result<Self, AuthSetupError> {
        Ok(Self::Remote(Remote::new(url, cooldown).await?))
    }

    /// The key for a token's `kid` and `alg`, refetching a remote set once if unknown.
    pub(super) async fn key_for(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, AuthError> {
        match self {
            Self::Fixed(keys) => keys.get(kid, alg).cloned(),
            Self::Remote(remote) => {
                let seen = remote.snapshot();
                match seen.keys.get(kid, alg) {
                    Err(AuthError::UnknownKey) => {}
                    other => return other.cloned(),
                }
                let latest = remote.refresh(&seen).await;
                if !latest.loaded {
                    return Err(AuthError::KeysUnavailable);
                }
                latest.keys.get(kid, alg).cloned()
            }
        }
    }
}

/// What a remote source holds at one moment. Replaced whole, never mutated, so a
/// request works on one consistent set without holding a lock.
#[derive(Default)]
pub(super) struct Snapshot {
    pub(super) keys: KeySet,
    /// False until a fetch has succeeded: tells "keys unavailable" from "unknown key".
    pub(super) loaded: bool,
}

pub(super) struct Remote {
    url: String,
    client: reqwest::Client,
    cooldown: Duration,
    /// Read on every request, written only after a successful fetch; the guard is never
    /// held across an await.
    current: RwLock<Arc<Snapshot>>,
    /// Serialises refetches (concurrent requests with unknown `kid`s share one) and
    /// remembers when the last one started. The start-up fetch does not count, so a key
    /// rotated in just after start-up is picked up at once.
    last_refetch: tokio::sync::Mutex<Option<Instant>>,
}

impl Remote {
    async fn new(url: String, cooldown: Duration) -> Result<Self, AuthSetupError> {
        let parsed = reqwest::Url::parse(&url).map_err(|e| AuthSetupError::InvalidJwksUrl {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(AuthSetupError::InvalidJwksUrl {
                url,
                reason: "the scheme must be http or https".to_owned(),
            });
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| AuthSetupError::HttpClient(e.to_string()))?;
        let remote = Self {
            url,
            client,
            cooldown,
            current: RwLock::new(Arc::new(Snapshot::default())),
            last_refetch: tokio::sync::Mutex::new(None),
        };
        match remote.fetch().await {
            Ok(keys) => {
                remote.install(keys);
            }
            Err(reason) => {
                // Tokens get `KeysUnavailable` until a fetch succeeds.
                tracing::error!(url = %remote.url, %reason, "JWKS fetch at start-up failed");
            }
        }
        Ok(remote)
    }

    pub(super) fn snapshot(&self) -> Arc<Snapshot> {
        // A panic elsewhere cannot leave an `Arc` half-written: the value is still good.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn install(&self, keys: KeySet) -> Arc<Snapshot> {
        if keys.len() == 0 {
            tracing::warn!(url = %self.url, "the JWKS holds no usable RS256 or ES256 signing key");
        } else {
            tracing::info!(url = %self.url, keys = keys.len(), "JWKS loaded");
        }
        let snapshot = Arc::new(Snapshot { keys, loaded: true });
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&snapshot);
        snapshot
    }

    /// Refetches after a lookup in `seen` missed, unless another request already
    /// refetched since `seen` was taken or the cooldown has not run out. Returns the
    /// newest snapshot either way.
    pub(super) async fn refresh(&self, seen: &Arc<Snapshot>) -> Arc<Snapshot> {
        let mut last = self.last_refetch.lock().await;
        let current = self.snapshot();
        if !Arc::ptr_eq(&current, seen) {
            return current;
        }
        if last.is_some_and(|at| at.elapsed() < self.cooldown) {
            return current;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => self.install(keys),
            Err(reason) => {
                tracing::warn!(url = %self.url, %reason, "JWKS refetch failed; keeping cached keys");
                current
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let mut response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP status {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("the answer exceeds {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        KeySet::parse(&body, &self.url)
    }
}
