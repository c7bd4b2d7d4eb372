//! Bearer-token authentication: turns a JWT into a verified [`Principal`].
//!
//! Owns the verification keys (an HS256 secret for development, RS256/ES256 keys from a
//! JWKS file or URL for production, with rotation), the signature check and the claim
//! checks (`exp`, `nbf`, `iss`, `aud`, `sub`, `tenant_id`, scopes). Scope *enforcement*
//! is not here: the HTTP layer answers 401 for every [`AuthError`] and 403 for a missing
//! scope.
//!
//! Must never: log, echo or store a token or a secret (errors carry no token text and
//! [`KeySource`]'s `Debug` redacts the secret); let the token header choose the
//! algorithm (each key allows exactly one, so `none` and HS256-signed-with-an-RSA-public-key
//! are refused); read a claim before the signature has been checked.

mod claims;
mod jwks;
mod mint;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey};
use optical_kernel::TenantId;
use serde::Deserialize;

pub use mint::{mint_hs256, MintError, TokenRequest};

/// A shorter HMAC secret is guessable offline from any token it signed.
pub const MIN_SECRET_LEN: usize = 32;

/// Tokens are a few hundred bytes; refusing huge ones bounds the work an anonymous
/// caller can make us do.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Who is calling, from a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The `sub` claim: the user or client the token was issued to.
    pub subject: String,
    /// The `tenant_id` claim: every read and write of the request is confined to it.
    pub tenant_id: TenantId,
    /// Union of the `scope` (space-delimited) and `scp` (array) claims; may be empty.
    pub scopes: BTreeSet<String>,
}

impl Principal {
    /// Exact match: scopes have no hierarchy (`stock` does not imply `stock:read`).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}

/// Where verification keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// Development: HS256 with a shared secret (at least [`MIN_SECRET_LEN`] bytes, else
    /// [`AuthSetupError::WeakSecret`]).
    Hs256Secret(String),
    /// Production: RS256/ES256 public keys from a JWKS document on disk, read once at
    /// start-up …
    JwksFile(PathBuf),
    /// … or at an URL: fetched at start-up, refetched when a token names an unknown `kid`,
    /// at most once per [`AuthConfig::refresh_cooldown`].
    ///
    /// `https://` relies on reqwest's `rustls-tls` feature (enabled in the workspace,
    /// with the bundled webpki roots); without it only `http://` URLs can be fetched.
    JwksUrl(String),
}

/// Hand-written so that logging a config never prints the HS256 secret.
impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hs256Secret(_) => f.write_str("Hs256Secret(<redacted>)"),
            Self::JwksFile(path) => f.debug_tuple("JwksFile").field(path).finish(),
            Self::JwksUrl(url) => f.debug_tuple("JwksUrl").field(url).finish(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct AuthConfig {
    pub keys: KeySource,
    /// When set, `iss` must be present and equal.
    pub issuer: Option<String>,
    /// When set, `aud` (a string or an array) must be present and contain it.
    pub audience: Option<String>,
    /// Clock skew allowed for `exp` and `nbf`.
    pub leeway: Duration,
    /// Minimum time between two JWKS refetches triggered by unknown `kid`s, so that
    /// tokens with made-up `kid`s cannot turn us into a load generator for the IdP.
    pub refresh_cooldown: Duration,
}

impl AuthConfig {
    pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
    pub const DEFAULT_REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

    /// `keys` with no issuer or audience check and the default leeway and cooldown.
    pub fn new(keys: KeySource) -> Self {
        Self {
            keys,
            issuer: None,
            audience: None,
            leeway: Self::DEFAULT_LEEWAY,
            refresh_cooldown: Self::DEFAULT_REFRESH_COOLDOWN,
        }
    }

    /// Development set-up: HS256 with `secret`, defaults for the rest.
    pub fn hs256(secret: impl Into<String>) -> Self {
        Self::new(KeySource::Hs256Secret(secret.into()))
    }
}

/// Why a token was refused. Every variant means 401; [`AuthError::code`] is the stable
/// machine-readable reason. Messages never contain token text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's signing algorithm is not accepted for this key")]
    UnsupportedAlgorithm,
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by an unexpected issuer")]
    WrongIssuer,
    #[error("the token is not meant for this audience")]
    WrongAudience,
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    #[error("the token's `tenant_id` is not a UUIDv7")]
    InvalidTenant,
    #[error("the signing keys cannot be fetched right now")]
    KeysUnavailable,
}

impl AuthError {
    /// Stable snake_case code for problem+json bodies and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed => "malformed_token",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidTenant => "invalid_tenant",
            Self::KeysUnavailable => "keys_unavailable",
        }
    }
}

/// A configuration that cannot work; reported once at start-up.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("the HS256 secret has {len} bytes; at least {MIN_SECRET_LEN} are required")]
    WeakSecret { len: usize },
    #[error("cannot read the JWKS file {path}: {source}")]
    ReadJwksFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the JWKS from {origin} is not a JWK set: {reason}")]
    InvalidJwks { origin: String, reason: String },
    #[error("the JWKS from {origin} holds no usable RS256 or ES256 signing key")]
    NoUsableKeys { origin: String },
    #[error("the JWKS URL `{url}` is invalid: {reason}")]
    InvalidJwksUrl { url: String, reason: String },
    #[error("cannot build the HTTP client for the JWKS URL: {0}")]
    HttpClient(String),
}

/// Verifies bearer tokens. `Send + Sync`; build it once and share it in an `Arc`.
pub struct Authenticator {
    keys: Keys,
    policy: claims::Policy,
}

enum Keys {
    Hs256(DecodingKey),
    Jwks(jwks::Jwks),
}

/// Hand-written because the keys must not be printed.
impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = match &self.keys {
            Keys::Hs256(_) => "HS256 secret",
            Keys::Jwks(_) => "JWKS",
        };
        f.debug_struct("Authenticator")
            .field("keys", &keys)
            .field("policy", &self.policy)
            .finish()
    }
}

impl Authenticator {
    /// Checks the configuration and loads the keys. A JWKS URL that cannot be fetched
    /// now is not fatal (the IdP may be restarting): it is logged, and tokens get
    /// [`AuthError::KeysUnavailable`] until a later fetch succeeds.
    pub async fn new(config: AuthConfig) -> Result<Self, AuthSetupError> {
        let keys = match config.keys {
            KeySource::Hs256Secret(secret) => {
                if secret.len() < MIN_SECRET_LEN {
                    return Err(AuthSetupError::WeakSecret { len: secret.len() });
                }
                Keys::Hs256(DecodingKey::from_secret(secret.as_bytes()))
            }
            KeySource::JwksFile(path) => Keys::Jwks(jwks::Jwks::from_file(&path)?),
            KeySource::JwksUrl(url) => {
                Keys::Jwks(jwks::Jwks::from_url(url, config.refresh_cooldown).await?)
            }
        };
        Ok(Self {
            keys,
            policy: claims::Policy {
                issuer: config.issuer,
                audience: config.audience,
                leeway: config.leeway,
            },
        })
    }

    /// Verifies a bearer token (the part after "Bearer ").
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let token = RawToken::parse(token)?;
        let (key, alg) = match &self.keys {
            Keys::Hs256(key) => match token.header.alg.as_str() {
                "HS256" => (Cow::Borrowed(key), Algorithm::HS256),
                _ => return Err(AuthError::UnsupportedAlgorithm),
            },
            Keys::Jwks(jwks) => {
                let alg = match token.header.alg.as_str() {
                    "RS256" => Algorithm::RS256,
                    "ES256" => Algorithm::ES256,
                    _ => return Err(AuthError::UnsupportedAlgorithm),
                };
                let key = jwks.key_for(token.header.kid.as_deref(), alg).await?;
                (Cow::Owned(key), alg)
            }
        };
        token.verify(&key, alg)?;
        claims::check(&token.payload, &self.policy, claims::now())
    }
}

/// The three parts of a compact JWS, with the header already read.
struct RawToken<'a> {
    header: JoseHeader,
    signing_input: &'a str,
    /// Decoded but not parsed: claims are read only after the signature checks out.
    payload: Vec<u8>,
    signature: &'a str,
}

/// Only what we act on. `alg` is a plain string so that `none` or an unknown name is
/// refused as an algorithm, not as a malformed token.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// RFC 7515 §4.1.11: extensions listed here must be understood; we understand none.
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

impl<'a> RawToken<'a> {
    fn parse(token: &'a str) -> Result<Self, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        let header_len = header.len();
        let header: JoseHeader =
            serde_json::from_slice(&b64url(header)?).map_err(|_| AuthError::Malformed)?;
        if header.crit.is_some() {
            return Err(AuthError::Malformed);
        }
        let signing_input = &token[..header_len + 1 + payload.len()];
        Ok(Self {
            header,
            signing_input,
            payload: b64url(payload)?,
            signature,
        })
    }

    fn verify(&self, key: &DecodingKey, alg: Algorithm) -> Result<(), AuthError> {
        match jsonwebtoken::crypto::verify(self.signature, self.signing_input.as_bytes(), key, alg)
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(AuthError::BadSignature),
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::Base64(_) => Err(AuthError::Malformed),
                // A key that cannot verify anything; JWKS loading screens these out.
                _ => Err(AuthError::BadSignature),
            },
        }
    }
}

fn b64url(part: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::Malformed)
}
