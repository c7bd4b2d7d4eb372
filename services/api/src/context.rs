//! Per-request context: the `X-Request-Id` (taken from the caller or made up) echoed on
//! every response, and the W3C `traceparent` that follows the request into the events.
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use optical_kernel::TraceParent;
use uuid::Uuid;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const TRACEPARENT: &str = "traceparent";

#[derive(Clone, Debug)]
pub struct RequestContext {
    pub request_id: String,
    /// This request's span: the caller's trace id (or a new one) with a fresh span id.
    pub traceparent: TraceParent,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// The trace id of the request being served, for problem responses.
pub fn current_trace_id() -> Option<String> {
    CONTEXT
        .try_with(|c| c.traceparent.trace_id().to_owned())
        .ok()
}

fn traceparent(incoming: Option<&str>) -> TraceParent {
    let parent = incoming.and_then(|v| v.parse::<TraceParent>().ok());
    TraceParent::child_of(parent.as_ref())
}

fn request_id(incoming: Option<&str>) -> String {
    // Echo the caller's id when it is a sane token; otherwise make one up.
    incoming
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::now_v7().to_string())
}

/// Middleware: sets up the context, runs the request inside it, echoes `X-Request-Id`.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let context = RequestContext {
        request_id: request_id(header(REQUEST_ID.as_str())),
        traceparent: traceparent(header(TRACEPARENT)),
    };
    req.extensions_mut().insert(context.clone());
    let id = HeaderValue::from_str(&context.request_id).ok();
    let mut response = CONTEXT.scope(context, next.call(req)).await?;
    if let Some(id) = id {
        response.headers_mut().insert(REQUEST_ID, id);
    }
    Ok(response)
}
