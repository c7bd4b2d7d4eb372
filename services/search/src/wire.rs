//! The HTTP client under the SDK: reqwest with rustls, a timeout on every request, and failures
//! that keep the HTTP status and Meilisearch's error code (the SDK's own client has no timeout
//! and drops the status of an error that has a JSON body).

use std::time::Duration;

use async_trait::async_trait;
use futures::io::{AsyncRead, AsyncReadExt};
use meilisearch_sdk::errors::Error as SdkError;
use meilisearch_sdk::request::{parse_response, HttpClient, Method};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use serde::{de::DeserializeOwned, Serialize};

use crate::SearchError;

/// A failure below the SDK, carried through it in `Error::Other` and turned into a
/// [`SearchError`] on the way out.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireFailure {
    /// No answer: connection refused or reset, DNS, TLS, timeout.
    #[error("{0}")]
    Transport(String),
    /// An answer with another status than the expected one.
    #[error("HTTP {status}: {message}")]
    Status {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The request could not be built (nothing was sent).
    #[error("{0}")]
    Request(String),
}

#[derive(Clone, Debug)]
pub(crate) struct WireClient {
    client: reqwest::Client,
}

impl WireClient {
    pub(crate) fn new(
        api_key: Option<&str>,
        request_timeout: Duration,
    ) -> Result<Self, SearchError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                SearchError::Config("the API key is not a valid HTTP header value".into())
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("optical-search/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(request_timeout)
            .timeout(request_timeout)
            .build()
            .map_err(|e| SearchError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(WireClient { client })
    }
}

#[async_trait]
impl HttpClient for WireClient {
    async fn stream_request<
        Query: Serialize + Send + Sync,
        Body: futures::io::AsyncRead + Send + Sync + 'static,
        Output: DeserializeOwned + 'static,
    >(
        &self,
        url: &str,
        method: Method<Query, Body>,
        content_type: &str,
        expected_status_code: u16,
    ) -> Result<Output, SdkError> {
        let verb = match &method {
            Method::Get { .. } => reqwest::Method::GET,
            Method::Delete { .. } => reqwest::Method::DELETE,
            Method::Post { .. } => reqwest::Method::POST,
            Method::Put { .. } => reqwest::Method::PUT,
            Method::Patch { .. } => reqwest::Method::PATCH,
        };
        let mut request = self.client.request(verb, url).query(method.query());
        if let Some(body) = method.into_body() {
            let body = read_all(body).await?;
            request = request.header(CONTENT_TYPE, content_type).body(body);
        }
        let request = request.build().map_err(|e| {
            failure(WireFailure::Request(format!(
                "cannot build the request: {e}"
            )))
        })?;
        let url = request.url().to_string();

        let response = self
            .client
            .execute(request)
            .await
            .map_err(|e| failure(WireFailure::Transport(describe(&e))))?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| failure(WireFailure::Transport(describe(&e))))?;

        if status != expected_status_code {
            return Err(failure(status_failure(status, &text)));
        }
        let body = if text.is_empty() { "null" } else { &text };
        parse_response(status, expected_status_code, body, url)
    }

    fn is_tokio(&self) -> bool {
        true
    }
}

async fn read_all(body: impl AsyncRead + Send) -> Result<Vec<u8>, SdkError> {
    let mut bytes = Vec::new();
    Box::pin(body).read_to_end(&mut bytes).await.map_err(|e| {
        failure(WireFailure::Request(format!(
            "cannot read the request body: {e}"
        )))
    })?;
    Ok(bytes)
}

fn failure(failure: WireFailure) -> SdkError {
    SdkError::Other(Box::new(failure))
}

/// Meilisearch's error body is `{"message", "code", "type", "link"}`; a proxy's may be anything.
fn status_failure(status: u16, body: &str) -> WireFailure {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: Option<String>,
        code: Option<String>,
    }
    let parsed = serde_json::from_str::<ErrorBody>(body).ok();
    let code = parsed.as_ref().and_then(|b| b.code.clone());
    let message = parsed
        .and_then(|b| b.message)
        .unwrap_or_else(|| body.chars().take(200).collect());
    WireFailure::Status {
        status,
        code,
        message,
    }
}

/// The error with its causes ("error sending request: … : Connection refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        format!("timed out: {error}")
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
