//! Request input at the edge: JSON bodies whose errors name the field, the
//! `Idempotency-Key` header, typed ids in paths.
use crate::problem::{ApiError, FieldError};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::str::FromStr;

/// A JSON request body. Malformed JSON, a wrong type or a missing field answers 400 with a
/// field error pointing at the culprit; an oversized body answers 413 (limit from
/// `web::PayloadConfig`); another content type answers 415.
pub struct JsonBody<T> {
    pub value: T,
    /// The body as received, for the idempotency fingerprint.
    pub raw: web::Bytes,
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as `Content-Type: application/json`",
                ));
            }
            let raw = bytes.await.map_err(payload_error)?;
            let value = parse_json(&raw)?;
            Ok(JsonBody { value, raw })
        })
    }
}

fn payload_error(error: actix_web::Error) -> ApiError {
    let status = error.as_response_error().status_code();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "payload_too_large",
            "the request body is larger than this endpoint accepts",
        )
    } else {
        ApiError::bad_request("unreadable_body", error)
    }
}

/// Parses `raw` as `T`, turning serde's complaint into a field error.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(raw);
    let value = serde_path_to_error::deserialize::<_, T>(&mut deserializer)
        .map_err(|e| json_problem(&pointer(e.path()), e.inner()))?;
    // Trailing characters after the value make the whole body malformed.
    deserializer.end().map_err(|e| json_problem("", &e))?;
    Ok(value)
}

fn json_problem(path: &str, inner: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let message = inner.to_string();
    // serde names a missing field in its message, not in the path.
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let (code, kind) = match inner.classify() {
        Category::Syntax | Category::Eof => ("malformed_json", "malformed_json"),
        Category::Io => ("unreadable_body", "unreadable_body"),
        Category::Data if missing.is_some() => ("invalid_body", "missing"),
        Category::Data if message.starts_with("invalid type") => ("invalid_body", "invalid_type"),
        Category::Data if message.starts_with("unknown field") => ("invalid_body", "unknown_field"),
        Category::Data => ("invalid_body", "invalid_value"),
    };
    // A syntax error has no field: it is the body as a whole (the message says where).
    let mut field = if code == "malformed_json" {
        String::new()
    } else {
        path.to_owned()
    };
    if let Some(name) = missing {
        field = format!("{field}/{}", escape(name));
    }
    if field.is_empty() {
        field.push('/');
    }
    let message = if code == "malformed_json" {
        message.clone()
    } else {
        strip_position(&message)
    };
    let detail = if code == "malformed_json" {
        format!("the body is not valid JSON: {message}")
    } else {
        format!("the body does not have the expected shape: {message}")
    };
    ApiError::bad_request(code, detail).with_errors(vec![FieldError::new(field, kind, message)])
}

/// serde_json appends " at line 1 column 17"; the pointer says where already.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", escape(key))),
            Segment::Enum { variant } => out.push_str(&format!("/{}", escape(variant))),
            Segment::Unknown => out.push_str("/?"),
        }
    }
    out
}

/// The optional `Idempotency-Key` header: 1–255 printable ASCII characters, not starting with
/// [`RESERVED_KEY_PREFIX`] (the keys the server gives provider webhooks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Idempotency keys the server makes itself (`webhook:<provider>:<event id>`): a caller who
/// could choose such a key could occupy a webhook's key before the provider delivers it.
pub const RESERVED_KEY_PREFIX: &str = "webhook:";

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = req.headers().get(IDEMPOTENCY_KEY).map(|v| {
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
                .filter(|k| !k.starts_with(RESERVED_KEY_PREFIX))
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::bad_request("invalid_idempotency_key", "the Idempotency-Key header must be 1-255 printable ASCII characters without spaces, not starting with `webhook:`")
                        .with_errors(vec![FieldError::new("header.Idempotency-Key", "invalid_value", "1-255 printable ASCII characters")])
                })
        });
        std::future::ready(value.transpose().map(IdempotencyKey))
    }
}

/// The fingerprint of a request for idempotency: method, path and body. The same key sent
/// with another fingerprint is refused rather than answered with the first response.
pub fn request_hash(req: &HttpRequest, body: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str().as_bytes());
    hasher.update([0]);
    hasher.update(req.path().as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hasher.finalize().into()
}

/// The media type of a request without its parameters, lower-cased (`image/png`).
pub fn media_type(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| !v.is_empty())
}

/// Reads a body of at most `limit` bytes; a larger one answers 413 as soon as it is known
/// (from `Content-Length`, or while reading).
pub async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    use futures::StreamExt as _;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than this endpoint accepts ({limit} bytes)"),
        )
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request("unreadable_body", e))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The raw document of an endpoint declared with an [`Upload`](crate::routes::Upload): its
/// media type (one of the declared ones, else 415) and its bytes (at most the declared
/// size, else 413). Call it after the caller was authenticated.
pub async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(String, web::Bytes), ApiError> {
    let Some(upload) = req.app_data::<crate::routes::Upload>().copied() else {
        return Err(ApiError::internal(
            "an upload endpoint without its declaration",
        ));
    };
    let media = media_type(req)
        .filter(|media| upload.media_types.contains(&media.as_str()))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "send the document as one of: {}",
                    upload.media_types.join(", ")
                ),
            )
        })?;
    let bytes = read_limited(req, payload, upload.max_bytes).await?;
    Ok((media, bytes))
}

/// Parses a path parameter into a typed id; a malformed id answers 404, like an unknown one
/// (ids are opaque to callers and an id of the wrong shape names nothing).
pub fn path_id<T: FromStr>(req: &HttpRequest, name: &str, what: &str) -> Result<T, ApiError> {
    req.match_info()
        .get(name)
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(|| {
            ApiError::not_found(&format!("{what}_not_found"), format!("{what} not found"))
        })
}
