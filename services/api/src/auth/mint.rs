//! Minting HS256 tokens for development (`optical-erp token`) and tests. Production
//! tokens come from the identity provider; nothing here signs with an asymmetric key.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use optical_kernel::TenantId;
use serde::Serialize;

use super::MIN_SECRET_LEN;

/// Claims for tokens minted by `optical-erp token` (development) and by tests.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub subject: String,
    pub tenant_id: TenantId,
    /// Written as the space-delimited `scope` claim, so no scope may contain whitespace.
    pub scopes: Vec<String>,
    pub ttl: Duration,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

/// Why a token could not be minted; each one would also be refused on the way back in.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MintError {
    #[error("the HS256 secret has {len} bytes; at least {MIN_SECRET_LEN} are required")]
    WeakSecret { len: usize },
    #[error("the subject is empty")]
    EmptySubject,
    #[error("the scope {0:?} is empty or contains whitespace")]
    InvalidScope(String),
    #[error("cannot sign the token: {0}")]
    Signing(String),
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    tenant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// Mints an HS256 token (development and tests only).
pub fn mint_hs256(secret: &str, request: &TokenRequest) -> Result<String, MintError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(MintError::WeakSecret { len: secret.len() });
    }
    if request.subject.is_empty() {
        return Err(MintError::EmptySubject);
    }
    if let Some(bad) = request
        .scopes
        .iter()
        .find(|s| s.is_empty() || s.contains(char::is_whitespace))
    {
        return Err(MintError::InvalidScope(bad.clone()));
    }
    let iat = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(request.ttl.as_secs()).unwrap_or(i64::MAX);
    let claims = Claims {
        sub: &request.subject,
        tenant_id: request.tenant_id.to_string(),
        scope: (!request.scopes.is_empty()).then(|| request.scopes.join(" ")),
        iat,
        exp: iat.saturating_add(ttl),
        iss: request.issuer.as_deref(),
        aud: request.audience.as_deref(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| MintError::Signing(e.to_string()))
}
