//! HMAC-SHA256 at the edge: expiring signed links to Rx scans (no bearer token needed to
//! follow one) and the signatures of payment providers' webhooks. Every comparison of a
//! signature is constant-time (`Mac::verify_slice`).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use optical_customers::ScanId;
use optical_kernel::{PrescriptionId, TenantId};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// Why a signing configuration was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningError {
    #[error("the document link secret must be at least {min} bytes, got {actual}")]
    SecretTooShort { min: usize, actual: usize },
    #[error("the document link lifetime must be between 1 second and 24 hours")]
    TtlOutOfRange,
    #[error(
        "webhook provider names are 1-100 characters of a-z, A-Z, 0-9, `-`, `_` and `.`, got {0:?}"
    )]
    InvalidProvider(String),
    #[error("the webhook secret of provider {0:?} is empty")]
    EmptyWebhookSecret(String),
    #[error("HMAC-SHA256 refused the key")]
    InvalidKey,
    #[error("webhook secrets are written `provider=secret[,provider=secret…]`; {0:?} has no `=`")]
    MalformedWebhookSecrets(String),
}

/// A keyed MAC, cloned for each use. (HMAC takes keys of any length, so this does not fail
/// in practice; the error is kept rather than assumed away.)
fn keyed(secret: &[u8]) -> Result<HmacSha256, SigningError> {
    HmacSha256::new_from_slice(secret).map_err(|_| SigningError::InvalidKey)
}

/// What a signed scan link grants: one scan of one prescription of one tenant, read on behalf
/// of `actor` (audited as such), until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanLink {
    pub tenant_id: TenantId,
    pub prescription_id: PrescriptionId,
    pub scan_id: ScanId,
    pub actor: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct LinkClaims {
    /// Format version.
    v: u8,
    t: TenantId,
    p: PrescriptionId,
    s: ScanId,
    a: String,
    /// Expiry, Unix seconds.
    e: i64,
}

/// Why a link is not honoured.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Malformed, or the signature does not match: someone changed or made it up.
    Invalid,
    /// Genuine, but past its expiry.
    Expired,
}

/// Domain separation: a MAC made for something else with the same secret is no link.
const LINK_CONTEXT: &[u8] = b"optical-erp/scan-link/v1\0";

/// The secret and lifetime of signed scan links. A link is
/// `base64url(claims) "." base64url(HMAC-SHA256(secret, context ‖ base64url(claims)))`.
#[derive(Clone)]
pub struct DocumentLinks {
    mac: HmacSha256,
    ttl: Duration,
}

impl fmt::Debug for DocumentLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentLinks")
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl DocumentLinks {
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);
    pub const MIN_SECRET_BYTES: usize = 32;

    /// `secret`: at least 32 bytes (e.g. 32 random bytes, hex-encoded); `ttl`: how long a link
    /// stays valid, 1 s to 24 h.
    pub fn new(secret: impl Into<Vec<u8>>, ttl: Duration) -> Result<Self, SigningError> {
        let secret = secret.into();
        if secret.len() < Self::MIN_SECRET_BYTES {
            return Err(SigningError::SecretTooShort {
                min: Self::MIN_SECRET_BYTES,
                actual: secret.len(),
            });
        }
        if ttl < Duration::from_secs(1) || ttl > Duration::from_secs(24 * 3600) {
            return Err(SigningError::TtlOutOfRange);
        }
        Ok(Self {
            mac: keyed(&secret)?,
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn tag(&self, claims: &str) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(LINK_CONTEXT);
        mac.update(claims.as_bytes());
        mac
    }

    /// The token of a link (URL-safe, no padding).
    pub fn sign(&self, link: &ScanLink) -> String {
        let claims = LinkClaims {
            v: 1,
            t: link.tenant_id,
            p: link.prescription_id,
            s: link.scan_id,
            a: link.actor.clone(),
            e: link.expires_at.timestamp(),
        };
        let json = serde_json::to_vec(&claims).unwrap_or_default();
        let claims = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD.encode(self.tag(&claims).finalize().into_bytes());
        format!("{claims}.{tag}")
    }

    /// The link a token grants, if its signature holds (checked first, in constant time) and
    /// it has not expired at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<ScanLink, LinkError> {
        let (claims, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Invalid)?;
        self.tag(claims)
            .verify_slice(&tag)
            .map_err(|_| LinkError::Invalid)?;
        let json = URL_SAFE_NO_PAD
            .decode(claims)
            .map_err(|_| LinkError::Invalid)?;
        let claims: LinkClaims = serde_json::from_slice(&json).map_err(|_| LinkError::Invalid)?;
        if claims.v != 1 {
            return Err(LinkError::Invalid);
        }
        let expires_at = DateTime::from_timestamp(claims.e, 0).ok_or(LinkError::Invalid)?;
        if now >= expires_at {
            return Err(LinkError::Expired);
        }
        Ok(ScanLink {
            tenant_id: claims.t,
            prescription_id: claims.p,
            scan_id: claims.s,
            actor: claims.a,
            expires_at,
        })
    }
}

/// The header a provider signs its webhooks in: `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "x-signature";

/// The `X-Signature` value of `body` under `secret` (what a provider sends).
pub fn webhook_signature(secret: &[u8], body: &[u8]) -> Result<String, SigningError> {
    let mut mac = keyed(secret)?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// Why a webhook is not believed.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookAuthError {
    UnknownProvider,
    MissingSignature,
    BadSignature,
}

/// The shared secret of each payment provider whose webhooks are accepted.
#[derive(Clone, Default)]
pub struct WebhookSecrets(HashMap<String, HmacSha256>);

impl fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut providers: Vec<&String> = self.0.keys().collect();
        providers.sort();
        f.debug_struct("WebhookSecrets")
            .field("providers", &providers)
            .finish()
    }
}

fn valid_provider(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl WebhookSecrets {
    /// No provider: every webhook answers 401.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `provider`'s secret; the provider is the `{provider}` of
    /// `POST /api/v1/payments/webhooks/{provider}`.
    pub fn with(
        mut self,
        provider: &str,
        secret: impl Into<Vec<u8>>,
    ) -> Result<Self, SigningError> {
        if !valid_provider(provider) {
            return Err(SigningError::InvalidProvider(provider.to_owned()));
        }
        let secret = secret.into();
        if secret.is_empty() {
            return Err(SigningError::EmptyWebhookSecret(provider.to_owned()));
        }
        self.0.insert(provider.to_owned(), keyed(&secret)?);
        Ok(self)
    }

    /// Parses `provider=secret[,provider=secret…]` (as an environment variable holds it; a
    /// secret cannot contain a comma). Empty input means no provider.
    pub fn parse(spec: &str) -> Result<Self, SigningError> {
        spec.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .try_fold(Self::none(), |secrets, entry| {
                let (provider, secret) = entry
                    .split_once('=')
                    .ok_or_else(|| SigningError::MalformedWebhookSecrets(entry.to_owned()))?;
                secrets.with(provider.trim(), secret.as_bytes())
            })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks `signature` (the `X-Signature` header) against `body` for `provider`.
    pub fn verify(
        &self,
        provider: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<(), WebhookAuthError> {
        let mut mac = self
            .0
            .get(provider)
            .ok_or(WebhookAuthError::UnknownProvider)?
            .clone();
        let signature = signature.ok_or(WebhookAuthError::MissingSignature)?;
        let tag = signature
            .trim()
            .strip_prefix("sha256=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or(WebhookAuthError::BadSignature)?;
        mac.update(body);
        mac.verify_slice(&tag)
            .map_err(|_| WebhookAuthError::BadSignature)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn links() -> DocumentLinks {
        DocumentLinks::new(vec![7u8; 32], DocumentLinks::DEFAULT_TTL).unwrap()
    }

    fn link(expires_at: DateTime<Utc>) -> ScanLink {
        ScanLink {
            tenant_id: TenantId::new(),
            prescription_id: PrescriptionId::new(),
            scan_id: ScanId::new(),
            actor: "staff-1".into(),
            expires_at,
        }
    }

    #[test]
    fn a_link_verifies_until_it_expires() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let granted = link(now + chrono::Duration::seconds(300));
        let token = links().sign(&granted);
        assert_eq!(links().verify(&token, now), Ok(granted));
        assert_eq!(
            links().verify(&token, now + chrono::Duration::seconds(300)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn a_changed_or_foreign_link_is_invalid() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let token = links().sign(&link(now + chrono::Duration::seconds(300)));
        let (claims, tag) = token.split_once('.').unwrap();
        // Another grant under the old tag.
        let other = links().sign(&link(now + chrono::Duration::seconds(9999)));
        let (other_claims, _) = other.split_once('.').unwrap();
        for bad in [
            format!("{other_claims}.{tag}"),
            format!("{claims}.{}", &tag[1..]),
            format!("{claims}x.{tag}"),
            claims.to_owned(),
            String::new(),
        ] {
            assert_eq!(links().verify(&bad, now), Err(LinkError::Invalid), "{bad}");
        }
        let elsewhere = DocumentLinks::new(vec![8u8; 32], DocumentLinks::DEFAULT_TTL).unwrap();
        assert_eq!(elsewhere.verify(&token, now), Err(LinkError::Invalid));
    }

    #[test]
    fn link_settings_are_checked() {
        assert!(matches!(
            DocumentLinks::new(vec![1u8; 31], DocumentLinks::DEFAULT_TTL),
            Err(SigningError::SecretTooShort { .. })
        ));
        assert_eq!(
            DocumentLinks::new(vec![1u8; 32], Duration::ZERO).err(),
            Some(SigningError::TtlOutOfRange)
        );
    }

    #[test]
    fn webhook_signatures_are_checked_per_provider() {
        let secrets = WebhookSecrets::parse("bank=s3cret, psp=other").unwrap();
        let body = br#"{"event_id":"e1"}"#;
        let good = webhook_signature(b"s3cret", body).unwrap();
        assert_eq!(secrets.verify("bank", body, Some(&good)), Ok(()));
        assert_eq!(
            secrets.verify("psp", body, Some(&good)),
            Err(WebhookAuthError::BadSignature)
        );
        assert_eq!(
            secrets.verify("bank", b"{}", Some(&good)),
            Err(WebhookAuthError::BadSignature)
        );
        assert_eq!(
            secrets.verify("bank", body, Some("sha256=zz")),
            Err(WebhookAuthError::BadSignature)
        );
        assert_eq!(
            secrets.verify("bank", body, None),
            Err(WebhookAuthError::MissingSignature)
        );
        assert_eq!(
            secrets.verify("other", body, Some(&good)),
            Err(WebhookAuthError::UnknownProvider)
        );
        assert!(WebhookSecrets::parse("bank").is_err());
        assert!(WebhookSecrets::parse("ba nk=x").is_err());
        assert!(WebhookSecrets::parse("bank=").is_err());
        assert!(WebhookSecrets::parse("").unwrap().is_empty());
    }
}
