//! From use-case results to HTTP: the command response, domain rejections as problems,
//! and the idempotency protocol around a command.
use crate::extract::{request_hash, IdempotencyKey};
use crate::problem::{ApiError, FieldError, PROBLEM_JSON};
use crate::ApiState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use optical_app::{AppError, Idempotency, Receipt};
use optical_event_store::{Recall, StoredResponse};
use optical_kernel::TenantId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Arc;

/// What a command answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandAccepted {
    /// The id of the aggregate the command acted on.
    pub id: String,
    /// The aggregate's version after the command.
    pub version: u64,
    /// The committed position of the command's last event; send it as `X-Consistency-Token`
    /// with a query to read your own write. `null` when the command changed nothing.
    pub consistency_token: Option<String>,
}

impl CommandAccepted {
    pub fn from_receipt(receipt: &Receipt) -> Self {
        Self {
            id: receipt.aggregate_id.clone(),
            version: receipt.version as u64,
            consistency_token: receipt.position.map(|p| p.to_string()),
        }
    }
}

/// A domain error with a stable code.
pub trait Coded: std::error::Error {
    fn code(&self) -> &'static str;
    /// 422 for rejections of the request's own values, 409 for the current state
    /// forbidding it, 404 for unknown (or another tenant's) things.
    fn status(&self) -> StatusCode {
        let code = self.code();
        if code.ends_with("_not_found") {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::CONFLICT
        }
    }
}

pub fn app_error<E: Coded>(error: AppError<E>) -> ApiError {
    match error {
        AppError::Rejected(e) => ApiError::new(e.status(), e.code(), &e),
        AppError::Conflict(what) => ApiError::conflict(
            "concurrent_modification",
            format!("the {what} was changed by another request at the same time; retry"),
        ),
        AppError::IdempotencyKeyTaken(key) => ApiError::conflict(
            "idempotency_key_in_use",
            format!("a concurrent request with the idempotency key `{key}` is being processed"),
        ),
        AppError::TenantMismatch { .. } | AppError::Store(_) => ApiError::internal(&error),
    }
}

/// Turns a stored response back into HTTP.
pub fn stored_response(stored: &StoredResponse, replayed: bool) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        PROBLEM_JSON
    };
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)));
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.body(serde_json::to_vec(&stored.body).unwrap_or_default())
}

pub fn accepted(status: StatusCode, receipt: &Receipt) -> StoredResponse {
    StoredResponse {
        status: status.as_u16(),
        body: serde_json::to_value(CommandAccepted::from_receipt(receipt)).unwrap_or_default(),
    }
}

pub fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request (method, path or body); use a new key",
    )
}

async fn recall(
    state: &ApiState,
    tenant_id: TenantId,
    key: &str,
    hash: &[u8; 32],
) -> Result<Recall, ApiError> {
    state
        .idempotency
        .recall(tenant_id, key, hash)
        .await
        .map_err(ApiError::unavailable)
}

/// Builds the stored (and replayed) response of a carried-out command from its receipt.
pub type Respond = Arc<dyn Fn(&Receipt) -> StoredResponse + Send + Sync>;

/// Runs a command under the idempotency protocol: a known key with the same request
/// replays the stored response, with another request answers 422; a new key's response is
/// stored in the command's transaction. `success` is the status of a carried-out command.
pub async fn run_command<F, Fut>(
    state: &ApiState,
    req: &HttpRequest,
    tenant_id: TenantId,
    key: IdempotencyKey,
    body: &[u8],
    success: StatusCode,
    run: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(Option<Idempotency>) -> Fut,
    Fut: Future<Output = Result<Receipt, ApiError>>,
{
    let respond: Respond = Arc::new(move |receipt: &Receipt| accepted(success, receipt));
    run_command_with(
        state,
        tenant_id,
        key.0,
        || request_hash(req, body),
        respond,
        run,
    )
    .await
}

/// [`run_command`] with the response built by `respond` (for answers that carry more than the
/// receipt, such as an id the server made up) and the request's fingerprint computed by
/// `hash` only when there is a key. The key need not come from a header: webhooks use the
/// provider's event id.
pub async fn run_command_with<F, Fut>(
    state: &ApiState,
    tenant_id: TenantId,
    key: Option<String>,
    hash: impl FnOnce() -> [u8; 32],
    respond: Respond,
    run: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(Option<Idempotency>) -> Fut,
    Fut: Future<Output = Result<Receipt, ApiError>>,
{
    let (stored, replayed) = run_command_stored(state, tenant_id, key, hash, respond, run).await?;
    Ok(stored_response(&stored, replayed))
}

/// [`run_command_with`] answering the response before it becomes HTTP, with whether it was
/// replayed, for handlers that add headers derived from it (a `Location`) or facts read after
/// the command.
pub async fn run_command_stored<F, Fut>(
    state: &ApiState,
    tenant_id: TenantId,
    key: Option<String>,
    hash: impl FnOnce() -> [u8; 32],
    respond: Respond,
    run: F,
) -> Result<(StoredResponse, bool), ApiError>
where
    F: FnOnce(Option<Idempotency>) -> Fut,
    Fut: Future<Output = Result<Receipt, ApiError>>,
{
    let Some(key) = key else {
        let receipt = run(None).await?;
        return Ok((respond(&receipt), false));
    };
    let hash = hash();
    match recall(state, tenant_id, &key, &hash).await? {
        Recall::Replay(stored) => return Ok((stored, true)),
        Recall::Mismatch => return Err(key_reused()),
        Recall::Fresh => {}
    }
    let idempotency = Idempotency {
        key: key.clone(),
        request_hash: hash,
        respond: respond.clone(),
    };
    match run(Some(idempotency)).await {
        Ok(receipt) => Ok((respond(&receipt), false)),
        // A concurrent twin committed first: answer as it was answered.
        Err(error) if error.code == "idempotency_key_in_use" => {
            match recall(state, tenant_id, &key, &hash).await? {
                Recall::Replay(stored) => Ok((stored, true)),
                Recall::Mismatch => Err(key_reused()),
                Recall::Fresh => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// `app_error`, plus a field error pointing at the request value the domain refused (as
/// named by `field`), so that clients show it next to the field like any other 422.
pub fn app_error_at<E: Coded>(
    error: AppError<E>,
    field: impl FnOnce(&E) -> Option<&'static str>,
) -> ApiError {
    let at = match &error {
        AppError::Rejected(e) => field(e).map(|at| FieldError::new(at, e.code(), e)),
        _ => None,
    };
    let api = app_error(error);
    match at {
        Some(at) => api.with_errors(vec![at]),
        None => api,
    }
}
