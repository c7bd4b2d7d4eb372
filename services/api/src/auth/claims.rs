//! Claim checks on a payload whose signature has already been verified.
//!
//! Done by hand rather than with `jsonwebtoken::Validation` so that every failure maps
//! to exactly one [`AuthError`] (a missing `iss` is `MissingClaim("iss")`, not a wrong
//! issuer) and an absent `aud` is fine when no audience is configured.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{AuthError, Principal};

/// The configured expectations.
#[derive(Debug)]
pub(super) struct Policy {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway: Duration,
}

/// Seconds since the Unix epoch; fractional, like a JWT NumericDate may be.
pub(super) fn now() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// Checks the claims in `payload` (JSON bytes) at time `now` and builds the principal.
pub(super) fn check(payload: &[u8], policy: &Policy, now: f64) -> Result<Principal, AuthError> {
    let claims: Map<String, Value> =
        serde_json::from_slice(payload).map_err(|_| AuthError::Malformed)?;
    let leeway = policy.leeway.as_secs_f64();

    // RFC 7519 §4.1.4: now must be before exp.
    let exp = numeric_date(&claims, "exp")?.ok_or(AuthError::MissingClaim("exp"))?;
    if now >= exp + leeway {
        return Err(AuthError::Expired);
    }
    // §4.1.5: now must be at or after nbf. `iat` is not checked: `exp` bounds the lifetime.
    if let Some(nbf) = numeric_date(&claims, "nbf")? {
        if now + leeway < nbf {
            return Err(AuthError::NotYetValid);
        }
    }

    if let Some(expected) = &policy.issuer {
        match present(&claims, "iss") {
            None => return Err(AuthError::MissingClaim("iss")),
            Some(Value::String(iss)) if iss == expected => {}
            Some(_) => return Err(AuthError::WrongIssuer),
        }
    }
    if let Some(expected) = &policy.audience {
        let matches = match present(&claims, "aud") {
            None => return Err(AuthError::MissingClaim("aud")),
            Some(Value::String(aud)) => aud == expected,
            Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(expected)),
            Some(_) => false,
        };
        if !matches {
            return Err(AuthError::WrongAudience);
        }
    }

    let subject = match present(&claims, "sub") {
        None => return Err(AuthError::MissingClaim("sub")),
        Some(Value::String(sub)) if sub.is_empty() => return Err(AuthError::MissingClaim("sub")),
        Some(Value::String(sub)) => sub.clone(),
        Some(_) => return Err(AuthError::Malformed),
    };
    let tenant_id = match present(&claims, "tenant_id") {
        None => return Err(AuthError::MissingClaim("tenant_id")),
        Some(Value::String(tenant)) => tenant.parse().map_err(|_| AuthError::InvalidTenant)?,
        Some(_) => return Err(AuthError::InvalidTenant),
    };

    let mut scopes = BTreeSet::new();
    for name in ["scope", "scp"] {
        collect_scopes(present(&claims, name), &mut scopes)?;
    }

    Ok(Principal {
        subject,
        tenant_id,
        scopes,
    })
}

/// A claim that is there and not `null`.
fn present<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    claims.get(name).filter(|value| !value.is_null())
}

/// A NumericDate claim (integer or fractional seconds); anything but a number is malformed.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, AuthError> {
    match present(claims, name) {
        None => Ok(None),
        Some(value) => value.as_f64().map(Some).ok_or(AuthError::Malformed),
    }
}

/// `scope` is a space-delimited string (RFC 8693 §4.2); `scp` is an array of strings
/// (Okta) or, in Azure AD, a space-delimited string too. Both forms are accepted in both
/// claims.
fn collect_scopes(value: Option<&Value>, scopes: &mut BTreeSet<String>) -> Result<(), AuthError> {
    match value {
        None => {}
        Some(Value::String(list)) => {
            scopes.extend(list.split_whitespace().map(str::to_owned));
        }
        Some(Value::Array(items)) => {
            for item in items {
                let scope = item.as_str().ok_or(AuthError::Malformed)?;
                if !scope.is_empty() {
                    scopes.insert(scope.to_owned());
                }
            }
        }
        Some(_) => return Err(AuthError::Malformed),
    }
    Ok(())
}
