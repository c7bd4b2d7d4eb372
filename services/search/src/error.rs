//! What can go wrong, and whether trying again can help.

use std::time::Duration;

use meilisearch_sdk::errors::Error as SdkError;

use crate::wire::WireFailure;

/// A search or indexing failure. [`SearchError::is_transient`] tells the caller (the projector)
/// whether to try again later or to dead-letter.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// Meilisearch could not be reached, or did not answer in time (transient).
    #[error("Meilisearch is unreachable: {0}")]
    Unreachable(String),
    /// Meilisearch answered with an HTTP status other than the expected one. Transient for
    /// 408, 429 and 5xx; anything else (a 4xx: bad key, unknown index, invalid request) is
    /// permanent.
    #[error("Meilisearch answered HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Http {
        status: u16,
        /// Meilisearch's error code (`invalid_search_filter`, …) when the body carried one.
        code: Option<String>,
        message: String,
    },
    /// Meilisearch accepted the task and then reported it `failed` (permanent: the same
    /// request would fail again).
    #[error("Meilisearch task {task_uid} failed ({code}): {message}")]
    TaskFailed {
        task_uid: u32,
        /// Meilisearch's error code, e.g. `primary_key_inference_failed` (`unknown` for a code
        /// the SDK does not know).
        code: String,
        message: String,
    },
    /// A task was still enqueued or processing when the wait ran out (transient: the write is
    /// an idempotent upsert, so trying again later is safe).
    #[error("Meilisearch task {task_uid} did not finish within {waited:?}")]
    TaskTimeout { task_uid: u32, waited: Duration },
    /// A facet name that is not one of [`crate::Facet`].
    #[error("unknown facet {0:?}")]
    UnknownFacet(String),
    /// A tenant token could not be made (no API key or key uid configured, a key uid that is
    /// not a UUIDv4, an expiry in the past).
    #[error("cannot make a tenant token: {0}")]
    Token(String),
    /// The configuration, or the index found in Meilisearch, is unusable.
    #[error("Meilisearch configuration: {0}")]
    Config(String),
    /// Meilisearch answered something this adapter cannot read.
    #[error("unexpected answer from Meilisearch: {0}")]
    Protocol(String),
}

impl SearchError {
    /// Whether the same call may succeed if tried again: connection failures, timeouts and
    /// HTTP 408, 429 and 5xx. A failed task, a 4xx or a bad request never is.
    pub fn is_transient(&self) -> bool {
        match self {
            SearchError::Unreachable(_) | SearchError::TaskTimeout { .. } => true,
            SearchError::Http { status, .. } => is_transient_status(*status),
            SearchError::TaskFailed { .. }
            | SearchError::UnknownFacet(_)
            | SearchError::Token(_)
            | SearchError::Config(_)
            | SearchError::Protocol(_) => false,
        }
    }
}

/// 408 Request Timeout, 429 Too Many Requests and every 5xx.
pub(crate) fn is_transient_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

impl From<SdkError> for SearchError {
    fn from(error: SdkError) -> Self {
        match error {
            SdkError::Other(inner) => match inner.downcast::<WireFailure>() {
                Ok(failure) => match *failure {
                    WireFailure::Transport(message) => SearchError::Unreachable(message),
                    WireFailure::Status {
                        status,
                        code,
                        message,
                    } => SearchError::Http {
                        status,
                        code,
                        message,
                    },
                    WireFailure::Request(message) => SearchError::Protocol(message),
                },
                Err(other) => SearchError::Protocol(other.to_string()),
            },
            SdkError::InvalidTenantToken(_)
            | SdkError::TenantTokensExpiredSignature
            | SdkError::TenantTokensInvalidApiKey
            | SdkError::CantUseWithoutApiKey(_)
            | SdkError::Uuid(_)
            | SdkError::InvalidUuid4Version => SearchError::Token(error.to_string()),
            other => SearchError::Protocol(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_statuses() {
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(is_transient_status(status), "{status}");
        }
        for status in [200, 202, 400, 401, 403, 404, 409, 413, 422, 600] {
            assert!(!is_transient_status(status), "{status}");
        }
    }

    #[test]
    fn only_transport_timeouts_and_retryable_statuses_are_transient() {
        let http = |status| SearchError::Http {
            status,
            code: None,
            message: String::new(),
        };
        assert!(SearchError::Unreachable("refused".into()).is_transient());
        assert!(SearchError::TaskTimeout {
            task_uid: 1,
            waited: Duration::from_secs(1)
        }
        .is_transient());
        assert!(http(503).is_transient());
        assert!(http(429).is_transient());
        assert!(!http(400).is_transient());
        assert!(!SearchError::TaskFailed {
            task_uid: 1,
            code: "invalid_document_id".into(),
            message: String::new()
        }
        .is_transient());
        assert!(!SearchError::UnknownFacet("x".into()).is_transient());
        assert!(!SearchError::Token("x".into()).is_transient());
        assert!(!SearchError::Config("x".into()).is_transient());
        assert!(!SearchError::Protocol("x".into()).is_transient());
    }

    #[test]
    fn wire_failures_come_back_out_of_the_sdk_error() {
        let through_sdk = |failure| SearchError::from(SdkError::Other(Box::new(failure)));
        assert!(matches!(
            through_sdk(WireFailure::Transport("connection refused".into())),
            SearchError::Unreachable(m) if m == "connection refused"
        ));
        assert!(matches!(
            through_sdk(WireFailure::Status { status: 503, code: Some("too_many_search_requests".into()), message: "busy".into() }),
            SearchError::Http { status: 503, code: Some(c), .. } if c == "too_many_search_requests"
        ));
        assert!(matches!(
            SearchError::from(SdkError::InvalidUuid4Version),
            SearchError::Token(_)
        ));
    }
}
