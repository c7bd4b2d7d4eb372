//! RFC 9457 problem details: every error the API answers, in one shape, with a stable `code`
//! for programs, a `detail` for people, field errors for input and the request's trace id.
use crate::context::current_trace_id;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One wrong input field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) to the field in the request body, e.g. `/price/amount_minor`;
    /// path and header parameters are named `path.<name>` and `header.<name>`.
    pub field: String,
    /// Stable machine-readable reason, e.g. `missing`, `invalid_type`, `out_of_range`.
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl fmt::Display) -> Self {
        Self {
            field: field.into(),
            code: code.to_owned(),
            message: message.to_string(),
        }
    }
}

/// An error response body (`application/problem+json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:optical-erp:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code, e.g. `out_of_stock`, `validation_failed`.
    pub code: String,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The W3C trace id of the request, for support and log search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
}

/// An error on its way to becoming a problem response.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

impl ApiError {
    /// 401 with the `WWW-Authenticate` challenge of RFC 6750.
    pub fn unauthorized(code: &str, detail: impl fmt::Display) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// 403: authenticated, but the token lacks the endpoint's scope.
    pub fn forbidden(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this endpoint requires the scope `{scope}`"),
        )
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, detail: impl fmt::Display) -> Self {
        Self {
            status,
            code: code.to_owned(),
            detail: detail.to_string(),
            errors: Vec::new(),
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn bad_request(code: &str, detail: impl fmt::Display) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// Input that parsed but breaks a rule of its value (a SKU with a space, a negative price).
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "some fields are invalid; see `errors`",
        )
        .with_errors(errors)
    }

    pub fn not_found(code: &str, detail: impl fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn conflict(code: &str, detail: impl fmt::Display) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the request could not be completed; it is safe to retry with the same idempotency key",
        )
    }

    pub fn unavailable(detail: impl fmt::Display) -> Self {
        tracing::warn!(error = %detail, "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "a dependency is unavailable; retry later",
        )
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            type_uri: format!("urn:optical-erp:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            code: self.code.clone(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            trace_id: current_trace_id(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = problem_response(&self.to_problem());
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Every 503 here is temporary (a dependency away, a projection behind).
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\"",
                self.code
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// Serialises a problem with its media type.
pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(problem).unwrap_or_default();
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
        .body(body)
}
