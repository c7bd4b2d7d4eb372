//! What every query endpoint shares: the read side's handles, query-string parsing, cursor
//! errors, and read-your-writes through `X-Consistency-Token`.
use crate::problem::{ApiError, FieldError};
use crate::ApiState;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use optical_kernel::{EventPosition, TenantId};
use optical_read_model::consistency::{wait_applied, AppliedCheck, WrittenEvent};
use optical_read_model::{PageError, Projection};
use serde::de::DeserializeOwned;
use std::time::Duration;

pub const CONSISTENCY_TOKEN: &str = "X-Consistency-Token";

/// The query side's handles.
#[derive(Clone)]
pub struct ReadSide {
    /// The database holding the read models (today the event store's).
    pub pool: optical_event_store::Pool,
    /// How long a query with a consistency token waits for its projection.
    pub consistency_wait: Duration,
    /// The product index; `None`: search answers from PostgreSQL.
    pub search: Option<optical_search::ProductIndex>,
    /// Lifetime of the tenant tokens handed to frontends.
    pub tenant_token_ttl: Duration,
}

impl ReadSide {
    pub fn new(pool: optical_event_store::Pool) -> Self {
        Self {
            pool,
            consistency_wait: Duration::from_secs(2),
            search: None,
            tenant_token_ttl: Duration::from_secs(3600),
        }
    }

    pub async fn client(&self) -> Result<deadpool_postgres::Object, ApiError> {
        self.pool.get().await.map_err(ApiError::unavailable)
    }
}

/// The query string as `T`; unknown or ill-typed parameters answer 400 naming the parameter.
pub fn query_params<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(req.query_string().as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        ApiError::bad_request(
            "invalid_query",
            "the query string is not valid for this endpoint",
        )
        .with_errors(vec![FieldError::new(
            format!("query:{field}"),
            "invalid",
            e.inner().to_string(),
        )])
    })
}

pub fn page_error(error: PageError) -> ApiError {
    let (field, code) = match error {
        PageError::BadCursor => ("query:cursor", "invalid_cursor"),
        PageError::BadLimit => ("query:limit", "invalid_limit"),
    };
    ApiError::bad_request(code, &error).with_errors(vec![FieldError::new(field, code, &error)])
}

pub fn read_model_error(error: impl std::fmt::Display) -> ApiError {
    ApiError::unavailable(error)
}

/// Read-your-writes: with a consistency token, waits (bounded) until `projection` applied the
/// event it names; past the bound answers 503 `stale_read` rather than old data as fresh.
/// Without a token, returns at once. A token of another tenant is refused like a made-up one.
pub async fn consistent(
    state: &ApiState,
    req: &HttpRequest,
    tenant: TenantId,
    projection: &dyn Projection,
) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(CONSISTENCY_TOKEN) else {
        return Ok(());
    };
    let invalid = || {
        ApiError::bad_request(
            "invalid_consistency_token",
            "X-Consistency-Token is not a token this API handed out",
        )
        .with_errors(vec![FieldError::new(
            format!("header:{CONSISTENCY_TOKEN}"),
            "invalid_consistency_token",
            "use the consistency_token of a command response",
        )])
    };
    let position = value
        .to_str()
        .ok()
        .and_then(parse_position)
        .ok_or_else(invalid)?;
    let event = optical_event_store::event_at(&state.read.pool, position)
        .await
        .map_err(ApiError::unavailable)?
        .filter(|e| e.tenant_id == *tenant.as_uuid())
        .ok_or_else(invalid)?;
    let written = WrittenEvent {
        aggregate_type: event.aggregate_type,
        aggregate_id: event.aggregate_id,
        sequence: event.sequence,
    };
    match wait_applied(&state.read.pool, projection, &written, state.read.consistency_wait)
        .await
        .map_err(ApiError::unavailable)?
    {
        AppliedCheck::Applied | AppliedCheck::NotTracked => Ok(()),
        AppliedCheck::Stale { .. } => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "stale_read",
            format!(
                "the `{}` read model has not applied your write yet (waited {} ms); retry with the same X-Consistency-Token",
                projection.name(),
                state.read.consistency_wait.as_millis()
            ),
        )),
    }
}

/// `txid.id`, as [`EventPosition`] displays.
fn parse_position(text: &str) -> Option<EventPosition> {
    let (txid, id) = text.split_once('.')?;
    Some(EventPosition {
        txid: txid.parse().ok()?,
        id: id.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_parse_as_they_print() {
        let p = EventPosition { txid: 812, id: 9 };
        assert_eq!(parse_position(&p.to_string()), Some(p));
        assert_eq!(parse_position("812"), None);
        assert_eq!(parse_position("a.b"), None);
        assert_eq!(parse_position("-1.3"), None);
    }
}
