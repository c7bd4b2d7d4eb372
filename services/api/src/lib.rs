//! The HTTP command API (`/api/v1`, actix-web).
//!
//! Owns: the wire shapes of requests and responses (DTOs with JSON Schemas), authentication
//! and scopes, `application/problem+json` errors, the `Idempotency-Key` protocol, request
//! ids and trace context, and the OpenAPI document — all generated from one endpoint table
//! (`routes`), so routing, scope checks and documentation cannot drift apart.
//!
//! Must never: decide a business rule (aggregates do), write SQL (the event store does) or
//! leak another tenant's data: the tenant always comes from the verified token, and ids of
//! another tenant answer 404.

pub mod auth;
mod catalog;
pub mod context;
mod customers;
pub mod extract;
mod inventory;
mod lab;
mod orders;
mod payments;
pub mod problem;
pub mod read;
pub mod respond;
pub mod routes;
pub mod security;
pub mod signing;
mod tenancy;
mod validate;
mod views;

use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use auth::Authenticator;
use optical_event_store::IdempotencyRecords;
use optical_kernel::Clock;
use problem::ApiError;
use routes::Endpoint;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

pub use inventory::reservation_responder;
pub use optical_optics::PrescriptionLimits;
pub use signing::{webhook_signature, DocumentLinks, SigningError, WebhookSecrets};

/// What handlers share.
pub struct ApiState {
    pub app: optical_app::App,
    pub idempotency: IdempotencyRecords,
    pub clock: Arc<dyn Clock>,
    /// How long `POST /inventory/reservations` waits for its queued request to be decided
    /// before answering 202 with a link to poll.
    pub reservation_wait: Duration,
    /// The sphere and cylinder ranges a prescription entered through the API must keep to.
    pub prescription_limits: PrescriptionLimits,
    /// Secret and lifetime of the signed, expiring download links of Rx scans.
    pub document_links: DocumentLinks,
    /// Per payment provider, the secret its webhooks are signed with.
    pub webhook_secrets: WebhookSecrets,
    /// The query side: read models, read-your-writes, search.
    pub read: read::ReadSide,
}

/// Limits and knobs of the HTTP server.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest accepted request body; larger ones answer 413.
    pub max_body_bytes: usize,
    pub workers: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            workers: 2,
        }
    }
}

/// Every endpoint of the API.
pub fn endpoints() -> Vec<Endpoint> {
    let mut all = vec![Endpoint {
        method: actix_web::http::Method::GET,
        path: "/openapi.json",
        operation_id: "getOpenApiDocument",
        summary: "This document",
        tag: "meta",
        scope: None,
        idempotent: false,
        request: None,
        upload: None,
        responses: vec![routes::Response {
            status: 200,
            description: "The OpenAPI 3.1 document",
            body: None,
        }],
        route: || web::get().to(routes::openapi_document),
    }];
    all.extend(tenancy::endpoints());
    all.extend(catalog::endpoints());
    all.extend(inventory::endpoints());
    all.extend(customers::endpoints());
    all.extend(orders::endpoints());
    all.extend(lab::endpoints());
    all.extend(payments::endpoints());
    all.extend(views::endpoints());
    all
}

async fn no_such_endpoint() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(
        "no_such_endpoint",
        "no endpoint matches this method and path; see /api/v1/openapi.json",
    ))
}

fn json_config(max: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(max)
}

/// Configures an actix `App` with everything the API serves (also used by tests).
pub fn configure(
    state: Arc<ApiState>,
    authenticator: Arc<Authenticator>,
    openapi: Arc<serde_json::Value>,
    max_body_bytes: usize,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config| {
        let endpoints = endpoints();
        config
            .app_data(web::Data::from(state))
            .app_data(web::Data::new(authenticator))
            .app_data(web::Data::from(openapi))
            .app_data(json_config(max_body_bytes));
        routes::configure(&endpoints, config);
    }
}

/// Starts the API on `listener`; the server runs until it is stopped.
pub fn serve(
    listener: TcpListener,
    state: Arc<ApiState>,
    authenticator: Arc<Authenticator>,
    config: &ApiConfig,
) -> std::io::Result<actix_web::dev::Server> {
    let openapi = Arc::new(routes::openapi(&endpoints()));
    let max = config.max_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(middleware::from_fn(context::request_context))
            .configure(configure(
                state.clone(),
                authenticator.clone(),
                openapi.clone(),
                max,
            ))
            .default_service(web::to(no_such_endpoint))
    })
    .workers(config.workers.max(1))
    .listen(listener)?
    .run();
    Ok(server)
}
