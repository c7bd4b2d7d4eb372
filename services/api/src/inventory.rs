//! Inventory endpoints: receipts and adjustments, the stock level as decided, and
//! reservations through the queue.
use crate::extract::{path_id, request_hash, IdempotencyKey, JsonBody};
use crate::problem::{ApiError, Problem};
use crate::respond::{app_error, key_reused, run_command, stored_response, Coded, CommandAccepted};
use crate::routes::{schema, Endpoint, Response};
use crate::security::Caller;
use crate::validate::Fields;
use crate::ApiState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use optical_app::{
    InventoryRejection, NewReservation, RequestState, ReservationAnswer, ReservationTicket,
    Responder,
};
use optical_event_store::StoredResponse;
use optical_inventory::{
    AdjustmentNote, AdjustmentReason, InventoryError, Quantity, ReceiptReference, StockDelta,
};
use optical_kernel::{CartId, LocationId, OrderId, ReservationId, VariantId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const WRITE: &str = "inventory:write";
const READ: &str = "inventory:read";
const RESERVE: &str = "inventory:reserve";

impl Coded for InventoryRejection {
    fn code(&self) -> &'static str {
        InventoryRejection::code(self)
    }

    fn status(&self) -> StatusCode {
        match self {
            InventoryRejection::QuantityAboveLimit { .. }
            | InventoryRejection::Stock(InventoryError::ExpiryNotInFuture { .. }) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            other if other.code().ends_with("_not_found") => StatusCode::NOT_FOUND,
            _ => StatusCode::CONFLICT,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveStock {
    /// Units received, at least 1.
    pub quantity: u32,
    /// Delivery note or purchase order number.
    pub reference: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReasonBody {
    CountCorrection,
    Damaged,
    Lost,
    Found,
    CustomerReturn,
    ReturnedToSupplier,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustStock {
    /// Units added (positive) or removed (negative); never zero.
    pub delta: i64,
    pub reason: AdjustmentReasonBody,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reserve {
    pub location_id: String,
    pub variant_id: String,
    /// Units to hold, at least 1 and at most the tenant's `max_reservation_quantity`.
    pub quantity: u32,
    /// The cart the units are held for; a new cart id is made up when absent.
    pub cart_id: Option<String>,
    /// Choose the reservation's id yourself (UUIDv7) or let the server make one.
    pub reservation_id: Option<String>,
    /// How long to hold the units (60–86400 s); the tenant's setting when absent.
    pub ttl_seconds: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommitReservation {
    /// The order the reserved units now belong to.
    pub order_id: String,
}

/// A reservation that holds stock until `expires_at`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReservationCreated {
    pub reservation_id: String,
    pub cart_id: String,
    pub location_id: String,
    pub variant_id: String,
    pub quantity: u32,
    pub expires_at: DateTime<Utc>,
    /// The stock level's version after the reservation.
    pub version: u64,
    pub consistency_token: Option<String>,
}

/// A reservation request still waiting in the queue.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReservationPending {
    pub request_id: i64,
    /// Poll this URL (same scope) for the answer.
    pub status_url: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ActiveReservation {
    pub reservation_id: String,
    pub cart_id: String,
    pub quantity: u32,
    pub expires_at: DateTime<Utc>,
}

/// A stock level as its aggregate decides on it now (not a projection).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StockLevelView {
    pub location_id: String,
    pub variant_id: String,
    pub on_hand: u64,
    pub reserved: u64,
    /// On hand minus reserved; never negative.
    pub available: u64,
    pub reservations: Vec<ActiveReservation>,
}

type Api = Result<HttpResponse, ApiError>;

fn place(req: &HttpRequest) -> Result<(LocationId, VariantId), ApiError> {
    Ok((
        path_id(req, "location_id", "location")?,
        path_id(req, "variant_id", "variant")?,
    ))
}

async fn receive(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ReceiveStock>,
) -> Api {
    let (location_id, variant_id) = place(&req)?;
    let mut f = Fields::default();
    let quantity = f.check("/quantity", Quantity::new(body.value.quantity));
    let reference = f.check_opt(
        "/reference",
        body.value.reference.as_deref().map(ReceiptReference::new),
    );
    let (Some(quantity), Some(reference)) = (quantity, reference) else {
        return Err(f.error());
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.inventory.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &body.raw,
        StatusCode::OK,
        |idem| async move {
            app.receive(
                location_id,
                variant_id,
                quantity,
                reference,
                &meta,
                idem.as_ref(),
            )
            .await
            .map_err(app_error)
        },
    )
    .await
}

async fn adjust(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<AdjustStock>,
) -> Api {
    let (location_id, variant_id) = place(&req)?;
    let mut f = Fields::default();
    let delta = f.check("/delta", StockDelta::new(body.value.delta));
    let note = f.check_opt("/note", body.value.note.as_deref().map(AdjustmentNote::new));
    let (Some(delta), Some(note)) = (delta, note) else {
        return Err(f.error());
    };
    let reason = match body.value.reason {
        AdjustmentReasonBody::CountCorrection => AdjustmentReason::CountCorrection,
        AdjustmentReasonBody::Damaged => AdjustmentReason::Damaged,
        AdjustmentReasonBody::Lost => AdjustmentReason::Lost,
        AdjustmentReasonBody::Found => AdjustmentReason::Found,
        AdjustmentReasonBody::CustomerReturn => AdjustmentReason::CustomerReturn,
        AdjustmentReasonBody::ReturnedToSupplier => AdjustmentReason::ReturnedToSupplier,
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.inventory.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &body.raw,
        StatusCode::OK,
        |idem| async move {
            app.adjust(
                location_id,
                variant_id,
                delta,
                reason,
                note,
                &meta,
                idem.as_ref(),
            )
            .await
            .map_err(app_error)
        },
    )
    .await
}

async fn stock_level(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let (location_id, variant_id) = place(&req)?;
    let level = state
        .app
        .inventory
        .stock_level(caller.tenant_id(), location_id, variant_id)
        .await
        .map_err(app_error)?
        .ok_or_else(|| ApiError::not_found("stock_level_not_found", "stock level not found"))?;
    let mut reservations: Vec<ActiveReservation> = level
        .reservations()
        .map(|r| ActiveReservation {
            reservation_id: r.reservation_id.to_string(),
            cart_id: r.cart_id.to_string(),
            quantity: r.quantity.get(),
            expires_at: r.expires_at,
        })
        .collect();
    reservations.sort_by_key(|r| r.expires_at);
    Ok(HttpResponse::Ok().json(StockLevelView {
        location_id: location_id.to_string(),
        variant_id: variant_id.to_string(),
        on_hand: level.on_hand(),
        reserved: level.reserved(),
        available: level.available(),
        reservations,
    }))
}

fn pending(request_id: i64) -> HttpResponse {
    HttpResponse::Accepted().json(ReservationPending {
        request_id,
        status_url: format!("/api/v1/inventory/reservation-requests/{request_id}"),
    })
}

async fn reserve(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<Reserve>,
) -> Api {
    let b = &body.value;
    let mut f = Fields::default();
    let location_id = f.check("/location_id", b.location_id.parse::<LocationId>());
    let variant_id = f.check("/variant_id", b.variant_id.parse::<VariantId>());
    let cart_id = f.check_opt("/cart_id", b.cart_id.as_deref().map(str::parse::<CartId>));
    let reservation_id = f.check_opt(
        "/reservation_id",
        b.reservation_id.as_deref().map(str::parse::<ReservationId>),
    );
    let quantity = f.check("/quantity", Quantity::new(b.quantity));
    if let Some(ttl) = b.ttl_seconds {
        if !(60..=86_400).contains(&ttl) {
            f.reject(
                "/ttl_seconds",
                "out_of_range",
                "must be between 60 and 86400 seconds",
            );
        }
    }
    let (Some(location_id), Some(variant_id), Some(cart_id), Some(reservation_id), Some(_), true) = (
        location_id,
        variant_id,
        cart_id,
        reservation_id,
        quantity,
        f.is_empty(),
    ) else {
        return Err(f.error());
    };
    let new = NewReservation {
        reservation_id: reservation_id.unwrap_or_default(),
        cart_id: cart_id.unwrap_or_default(),
        location_id,
        variant_id,
        quantity: b.quantity,
        ttl_seconds: b.ttl_seconds,
    };
    let meta = caller.metadata(state.clock.now());
    let hash = request_hash(&req, &body.raw);
    let idempotency = key.0.as_deref().map(|k| (k, &hash));
    let inventory = &state.app.inventory;
    let ticket = inventory
        .request_reservation(new, &meta, idempotency)
        .await
        .map_err(app_error)?;
    let request_id = match ticket {
        ReservationTicket::Replay(stored) => return Ok(stored_response(&stored, true)),
        ReservationTicket::KeyReused => return Err(key_reused()),
        ReservationTicket::Queued(id) => id,
    };
    match inventory
        .await_answer(caller.tenant_id(), request_id, state.reservation_wait)
        .await
        .map_err(app_error)?
    {
        Some(RequestState::Answered(stored)) => Ok(stored_response(&stored, false)),
        _ => Ok(pending(request_id)),
    }
}

async fn reservation_request(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let request_id: i64 = path_id(&req, "request_id", "reservation_request")?;
    match state
        .app
        .inventory
        .request_state(caller.tenant_id(), request_id)
        .await
        .map_err(app_error)?
    {
        Some(RequestState::Answered(stored)) => Ok(stored_response(&stored, false)),
        Some(RequestState::Pending) => Ok(pending(request_id)),
        None => Err(ApiError::not_found(
            "reservation_request_not_found",
            "reservation request not found",
        )),
    }
}

async fn release(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let reservation_id: ReservationId = path_id(&req, "reservation_id", "reservation")?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.inventory.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &[],
        StatusCode::OK,
        |idem| async move {
            app.release(reservation_id, &meta, idem.as_ref())
                .await
                .map_err(app_error)
        },
    )
    .await
}

async fn commit(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<CommitReservation>,
) -> Api {
    let reservation_id: ReservationId = path_id(&req, "reservation_id", "reservation")?;
    let mut f = Fields::default();
    let Some(order_id) = f.check("/order_id", body.value.order_id.parse::<OrderId>()) else {
        return Err(f.error());
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.inventory.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &body.raw,
        StatusCode::OK,
        |idem| async move {
            app.commit(reservation_id, order_id, &meta, idem.as_ref())
                .await
                .map_err(app_error)
        },
    )
    .await
}

fn problem_body(error: &ApiError, trace_id: Option<&str>) -> StoredResponse {
    let mut problem = error.to_problem();
    problem.trace_id = trace_id.map(str::to_owned);
    StoredResponse {
        status: error.status.as_u16(),
        body: serde_json::to_value(problem).unwrap_or_default(),
    }
}

/// How the reservation workers answer queued requests: the same bodies the endpoint would.
pub fn reservation_responder() -> Responder {
    Arc::new(
        |answer: &ReservationAnswer, trace_id: Option<&str>| match answer {
            ReservationAnswer::Decided {
                request,
                result: Ok(outcome),
            } => StoredResponse {
                status: StatusCode::CREATED.as_u16(),
                body: serde_json::to_value(ReservationCreated {
                    reservation_id: request.reservation_id.to_string(),
                    cart_id: request.cart_id.to_string(),
                    location_id: request.location_id.to_string(),
                    variant_id: request.variant_id.to_string(),
                    quantity: request.quantity,
                    expires_at: outcome.expires_at,
                    version: outcome.receipt.version as u64,
                    consistency_token: outcome.receipt.position.map(|p| p.to_string()),
                })
                .unwrap_or_default(),
            },
            ReservationAnswer::Decided {
                result: Err(rejection),
                ..
            } => problem_body(
                &ApiError::new(rejection.status(), rejection.code(), rejection),
                trace_id,
            ),
            ReservationAnswer::KeyReused => problem_body(&key_reused(), trace_id),
            ReservationAnswer::Unreadable(reason) => {
                problem_body(&ApiError::internal(reason), trace_id)
            }
        },
    )
}

fn problem(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<Problem>),
    }
}

fn accepted(description: &'static str) -> Vec<Response> {
    vec![
        Response {
            status: 200,
            description,
            body: Some(schema::<CommandAccepted>),
        },
        problem(
            404,
            "Unknown location, variant or reservation (also another tenant's)",
        ),
        problem(
            409,
            "The stock level does not allow this (e.g. not enough units)",
        ),
    ]
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::POST,
            path: "/inventory/stock-levels/{location_id}/{variant_id}/receipts",
            operation_id: "receiveStock",
            summary: "Book received goods in at a location",
            tag: "inventory",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<ReceiveStock>),
            upload: None,
            responses: accepted("Received"),
            route: || web::route().to(receive),
        },
        Endpoint {
            method: Method::POST,
            path: "/inventory/stock-levels/{location_id}/{variant_id}/adjustments",
            operation_id: "adjustStock",
            summary: "Correct the units on hand, with a reason",
            tag: "inventory",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<AdjustStock>),
            upload: None,
            responses: accepted("Adjusted"),
            route: || web::route().to(adjust),
        },
        Endpoint {
            method: Method::GET,
            path: "/inventory/stock-levels/{location_id}/{variant_id}",
            operation_id: "getStockLevel",
            summary: "Units on hand, reserved and available, with active reservations",
            tag: "inventory",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The stock level",
                    body: Some(schema::<StockLevelView>),
                },
                problem(
                    404,
                    "No stock was ever received here (or another tenant's ids)",
                ),
            ],
            route: || web::route().to(stock_level),
        },
        Endpoint {
            method: Method::POST,
            path: "/inventory/reservations",
            operation_id: "reserveStock",
            summary: "Reserve units for a cart until they expire",
            tag: "inventory",
            scope: Some(RESERVE),
            idempotent: true,
            request: Some(schema::<Reserve>),
            upload: None,
            responses: vec![
                Response {
                    status: 201,
                    description: "Reserved",
                    body: Some(schema::<ReservationCreated>),
                },
                Response {
                    status: 202,
                    description: "Queued and not decided yet; poll `status_url`",
                    body: Some(schema::<ReservationPending>),
                },
                problem(404, "Unknown location or variant (also another tenant's)"),
                problem(
                    409,
                    "Out of stock (`out_of_stock`) or the reservation id is taken",
                ),
            ],
            route: || web::route().to(reserve),
        },
        Endpoint {
            method: Method::GET,
            path: "/inventory/reservation-requests/{request_id}",
            operation_id: "getReservationRequest",
            summary: "The answer to a queued reservation request",
            tag: "inventory",
            scope: Some(RESERVE),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 201,
                    description: "Reserved",
                    body: Some(schema::<ReservationCreated>),
                },
                Response {
                    status: 202,
                    description: "Still queued",
                    body: Some(schema::<ReservationPending>),
                },
                problem(404, "Unknown request"),
                problem(409, "Out of stock"),
            ],
            route: || web::route().to(reservation_request),
        },
        Endpoint {
            method: Method::POST,
            path: "/inventory/reservations/{reservation_id}/release",
            operation_id: "releaseReservation",
            summary: "Give an active reservation's units back",
            tag: "inventory",
            scope: Some(RESERVE),
            idempotent: true,
            request: None,
            upload: None,
            responses: accepted("Released"),
            route: || web::route().to(release),
        },
        Endpoint {
            method: Method::POST,
            path: "/inventory/reservations/{reservation_id}/commit",
            operation_id: "commitReservation",
            summary: "Hand an active reservation's units to an order",
            tag: "inventory",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<CommitReservation>),
            upload: None,
            responses: accepted("Committed"),
            route: || web::route().to(commit),
        },
    ]
}
