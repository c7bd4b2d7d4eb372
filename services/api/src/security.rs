//! Who may call an endpoint. Every endpoint is registered with the scope it requires (see
//! `routes`); the [`Caller`] extractor authenticates the bearer token and checks that scope,
//! and refuses to serve an endpoint registered without one.
use crate::auth::{AuthError, Authenticator, Principal};
use crate::context::RequestContext;
use crate::problem::ApiError;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::{DateTime, Utc};
use futures::future::LocalBoxFuture;
use optical_kernel::{EventMetadata, TenantId, TraceParent};
use std::sync::Arc;
use uuid::Uuid;

/// The scope an endpoint requires, attached to its resource when it is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequiredScope(pub &'static str);

/// An authenticated caller holding the endpoint's scope.
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: String,
    pub traceparent: Option<TraceParent>,
}

impl Caller {
    pub fn tenant_id(&self) -> TenantId {
        self.principal.tenant_id
    }

    /// Metadata for the events this request causes: the caller's tenant, the request as
    /// correlation, its trace, and who acted.
    pub fn metadata(&self, now: DateTime<Utc>) -> EventMetadata {
        let mut meta = EventMetadata::new(self.principal.tenant_id, now);
        if let Ok(id) = Uuid::parse_str(&self.request_id) {
            meta.correlation_id = id;
        }
        meta.traceparent = self.traceparent.clone();
        meta.actor = Some(format!("user:{}", self.principal.subject));
        meta
    }
}

/// Metadata for events caused by a request that carries no bearer token (a provider's
/// webhook, authenticated by its signature): the tenant the request was found to concern, the
/// request as correlation, its trace, and `actor`.
pub fn request_metadata(
    req: &HttpRequest,
    tenant_id: TenantId,
    actor: String,
    now: DateTime<Utc>,
) -> EventMetadata {
    let context = req.extensions().get::<RequestContext>().cloned();
    let mut meta = EventMetadata::new(tenant_id, now);
    if let Some(id) = context
        .as_ref()
        .and_then(|c| Uuid::parse_str(&c.request_id).ok())
    {
        meta.correlation_id = id;
    }
    meta.traceparent = context.map(|c| c.traceparent);
    meta.actor = Some(actor);
    meta
}

/// The request's id (`X-Request-Id`), when the context middleware ran.
pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<RequestContext>()
        .map(|c| c.request_id.clone())
}

fn auth_error(error: &AuthError) -> ApiError {
    match error {
        AuthError::KeysUnavailable => ApiError::unavailable(error),
        other => ApiError::unauthorized(other.code(), other),
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let scope = req.app_data::<RequiredScope>().copied();
        let auth = req.app_data::<web::Data<Arc<Authenticator>>>().cloned();
        let context = req.extensions().get::<RequestContext>().cloned();
        let token = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .map(|v| {
                v.to_str()
                    .ok()
                    .and_then(|v| {
                        let (scheme, token) = v.split_once(' ')?;
                        scheme
                            .eq_ignore_ascii_case("bearer")
                            .then(|| token.trim().to_owned())
                    })
                    .filter(|t| !t.is_empty())
            });
        Box::pin(async move {
            // Deny by default: an endpoint that forgot to declare a scope is not served.
            let Some(RequiredScope(scope)) = scope else {
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "endpoint_without_scope",
                    "this endpoint declares no scope and is therefore not served",
                ));
            };
            let Some(auth) = auth else {
                return Err(ApiError::internal("no authenticator configured"));
            };
            let token = match token {
                None => {
                    return Err(ApiError::unauthorized(
                        "missing_token",
                        "send `Authorization: Bearer <token>`",
                    ))
                }
                Some(None) => {
                    return Err(ApiError::unauthorized(
                        "malformed_authorization",
                        "the Authorization header must be `Bearer <token>`",
                    ))
                }
                Some(Some(token)) => token,
            };
            let principal = auth
                .authenticate(&token)
                .await
                .map_err(|e| auth_error(&e))?;
            if !principal.has_scope(scope) {
                return Err(ApiError::forbidden(scope));
            }
            Ok(Caller {
                principal,
                request_id: context
                    .as_ref()
                    .map(|c| c.request_id.clone())
                    .unwrap_or_else(|| Uuid::now_v7().to_string()),
                traceparent: context.map(|c| c.traceparent),
            })
        })
    }
}
