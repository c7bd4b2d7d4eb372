//! Orders endpoints: placement from reservations (with the patient's and prescription's
//! snapshots copied through the Customers facade), the order as decided now (audited when it
//! holds patient data), and the staff-driven lifecycle steps.
use crate::catalog::MoneyView;
use crate::customers::refraction_view;
use crate::extract::{path_id, IdempotencyKey, JsonBody};
use crate::problem::{ApiError, Problem};
use crate::respond::{app_error_at, run_command, Coded, CommandAccepted};
use crate::routes::{schema, Endpoint, Response, API_PREFIX};
use crate::security::Caller;
use crate::validate::Fields;
use crate::ApiState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use optical_app::{AppError, NewOrder, OrderRejection, OrderStep, Reader};
use optical_kernel::{OrderId, PatientId, Personal, PrescriptionId, ReservationId, StoreId};
use optical_orders::{
    CancelReason, Carrier, LineKind, Order, OrderError, OrderStatus, PaymentMethod, TrackingNumber,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) const READ: &str = "orders:read";
const WRITE: &str = "orders:write";

pub(crate) const ORDER: &str = "/orders/{order_id}";

impl Coded for OrderRejection {
    fn code(&self) -> &'static str {
        OrderRejection::code(self)
    }

    fn status(&self) -> StatusCode {
        match self {
            OrderRejection::StoreNotFound
            | OrderRejection::VariantNotFound(_)
            | OrderRejection::PatientNotFound
            | OrderRejection::PrescriptionNotFound
            | OrderRejection::Order(OrderError::OrderNotFound) => StatusCode::NOT_FOUND,
            OrderRejection::StoreClosed
            | OrderRejection::ReservationNotActive(_)
            | OrderRejection::VariantNotPriced(_)
            | OrderRejection::Order(
                OrderError::OrderAlreadyPlaced
                | OrderError::InvalidTransition { .. }
                | OrderError::LabNotNeeded
                | OrderError::LabRequired,
            ) => StatusCode::CONFLICT,
            // What the request names cannot be ordered (an expired or voided prescription,
            // an erased patient, lenses without a prescription, …).
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// The request field a refusal of the request's own values is about.
fn rejected_field(rejection: &OrderRejection) -> Option<&'static str> {
    match rejection {
        OrderRejection::PrescriptionVoided
        | OrderRejection::PrescriptionOfAnotherPatient
        | OrderRejection::Order(
            OrderError::PrescriptionExpired { .. }
            | OrderError::PrescriptionRequired
            | OrderError::PrescriptionSubjectMismatch { .. },
        ) => Some("/prescription_id"),
        OrderRejection::PrescriptionWithoutPatient
        | OrderRejection::Order(OrderError::PatientRequired | OrderError::PatientErased(_)) => {
            Some("/patient_id")
        }
        OrderRejection::Order(
            OrderError::NoLines
            | OrderError::DuplicateReservation(_)
            | OrderError::CurrencyMismatch { .. },
        ) => Some("/reservation_ids"),
        _ => None,
    }
}

pub(crate) fn order_error(error: AppError<OrderRejection>) -> ApiError {
    app_error_at(error, rejected_field)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodBody {
    /// The order waits in `pending_payment` until the transfer is confirmed.
    BankTransfer,
    /// Cash on delivery: the order goes straight to `pending_shipment`.
    Cod,
}

impl From<PaymentMethodBody> for PaymentMethod {
    fn from(value: PaymentMethodBody) -> Self {
        match value {
            PaymentMethodBody::BankTransfer => PaymentMethod::BankTransfer,
            PaymentMethodBody::Cod => PaymentMethod::Cod,
        }
    }
}

impl From<PaymentMethod> for PaymentMethodBody {
    fn from(value: PaymentMethod) -> Self {
        match value {
            PaymentMethod::BankTransfer => PaymentMethodBody::BankTransfer,
            PaymentMethod::Cod => PaymentMethodBody::Cod,
        }
    }
}

/// Places an order from the caller's active reservations, each one line at its variant's
/// current price. Ophthalmic lenses need the patient and a valid prescription of theirs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrder {
    /// Choose the order's id yourself (UUIDv7) or let the server make one.
    pub order_id: Option<String>,
    pub store_id: String,
    pub payment_method: PaymentMethodBody,
    /// At least one; each becomes a line.
    pub reservation_ids: Vec<String>,
    pub patient_id: Option<String>,
    /// Needs `patient_id`; must be that patient's, not voided and not expired (else 422
    /// `prescription_expired`, …).
    pub prescription_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipOrder {
    /// 1–100 characters.
    pub carrier: String,
    /// 1–100 characters.
    pub tracking_number: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelOrder {
    /// 1–500 characters.
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct OrderLineView {
    pub variant_id: String,
    pub location_id: String,
    pub reservation_id: String,
    pub quantity: u32,
    pub kind: String,
    pub description: String,
    pub unit_price: MoneyView,
    pub line_total: Option<MoneyView>,
}

/// The patient as copied at placement: gone (`erased: true`) once the patient was erased.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PatientSnapshotView {
    pub patient_id: String,
    pub erased: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// The prescription as copied at placement (minus-cylinder form).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrescriptionSnapshotView {
    pub prescription_id: String,
    pub erased: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prescriber: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refraction: Option<crate::customers::RefractionView>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ShipmentView {
    pub carrier: String,
    pub tracking_number: String,
}

/// An order as its aggregate decides on it now (not a projection). Reading an order with a
/// patient is audited as a read of that patient's data.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct OrderView {
    pub id: String,
    pub store_id: String,
    /// `pending_payment`, `pending_shipment`, `paid`, `in_lab`, `ready`, `shipped`,
    /// `completed` or `cancelled`.
    pub status: String,
    pub payment_method: PaymentMethodBody,
    pub currency: String,
    pub lines: Vec<OrderLineView>,
    pub subtotal: MoneyView,
    pub total: MoneyView,
    pub patient: Option<PatientSnapshotView>,
    pub prescription: Option<PrescriptionSnapshotView>,
    /// The payment that paid it (bank transfer).
    pub payment_id: Option<String>,
    pub shipment: Option<ShipmentView>,
    /// Reservations whose stock could not be committed.
    pub stock_shortfalls: Vec<String>,
}

fn line_kind(kind: LineKind) -> String {
    kind.as_str().to_owned()
}

fn status(status: OrderStatus) -> String {
    status.as_str().to_owned()
}

fn order_view(order: &Order) -> Option<OrderView> {
    let (Some(id), Some(store_id), Some(status_now), Some(method), Some(currency)) = (
        order.order_id(),
        order.store_id(),
        order.status(),
        order.payment_method(),
        order.currency(),
    ) else {
        return None;
    };
    let (subtotal, total) = (order.subtotal()?, order.total()?);
    let patient = order.patient().map(|p| {
        let data = p.revealed();
        PatientSnapshotView {
            patient_id: p.subject().to_string(),
            erased: p.is_erased(),
            full_name: data.map(|d| d.full_name.to_string()),
            email: data.and_then(|d| d.email.as_ref()).map(ToString::to_string),
            phone: data.and_then(|d| d.phone.as_ref()).map(ToString::to_string),
        }
    });
    let prescription = order.prescription().map(|p| {
        let data = match &p.snapshot {
            Personal::Revealed { data, .. } => Some(data),
            Personal::Erased { .. } => None,
        };
        PrescriptionSnapshotView {
            prescription_id: p.prescription_id.to_string(),
            erased: p.snapshot.is_erased(),
            prescriber: data.map(|d| d.prescriber().to_string()),
            issued_on: data.map(|d| d.issued_on()),
            expires_on: data.map(|d| d.expires_on()),
            refraction: data.map(|d| refraction_view(d.refraction())),
        }
    });
    Some(OrderView {
        id: id.to_string(),
        store_id: store_id.to_string(),
        status: status(status_now),
        payment_method: method.into(),
        currency: currency.to_string(),
        lines: order
            .lines()
            .iter()
            .map(|line| OrderLineView {
                variant_id: line.variant_id.to_string(),
                location_id: line.location_id.to_string(),
                reservation_id: line.reservation_id.to_string(),
                quantity: line.quantity.get(),
                kind: line_kind(line.kind),
                description: line.description.to_string(),
                unit_price: line.unit_price.into(),
                line_total: line
                    .total_minor()
                    .and_then(|minor| optical_kernel::Money::new(minor, currency).ok())
                    .map(Into::into),
            })
            .collect(),
        subtotal: subtotal.into(),
        total: total.into(),
        patient,
        prescription,
        payment_id: order.payment_id().map(|id| id.to_string()),
        shipment: order.shipment().map(|(carrier, tracking)| ShipmentView {
            carrier: carrier.to_string(),
            tracking_number: tracking.to_string(),
        }),
        stock_shortfalls: order.stock_shortfalls().map(|r| r.to_string()).collect(),
    })
}

type Api = Result<HttpResponse, ApiError>;

async fn place_order(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<PlaceOrder>,
) -> Api {
    let b = &body.value;
    let mut f = Fields::default();
    let order_id = f.check_opt(
        "/order_id",
        b.order_id.as_deref().map(str::parse::<OrderId>),
    );
    let store_id = f.check("/store_id", b.store_id.parse::<StoreId>());
    let reservations: Vec<Option<ReservationId>> = b
        .reservation_ids
        .iter()
        .enumerate()
        .map(|(i, id)| f.check(&format!("/reservation_ids/{i}"), id.parse()))
        .collect();
    let patient_id = f.check_opt(
        "/patient_id",
        b.patient_id.as_deref().map(str::parse::<PatientId>),
    );
    let prescription_id = f.check_opt(
        "/prescription_id",
        b.prescription_id
            .as_deref()
            .map(str::parse::<PrescriptionId>),
    );
    let reservations: Option<Vec<ReservationId>> = reservations.into_iter().collect();
    let (
        Some(order_id),
        Some(store_id),
        Some(reservations),
        Some(patient_id),
        Some(prescription_id),
    ) = (
        order_id,
        store_id,
        reservations,
        patient_id,
        prescription_id,
    )
    else {
        return Err(f.error());
    };
    let new = NewOrder {
        order_id: order_id.unwrap_or_default(),
        store_id,
        payment_method: b.payment_method.into(),
        reservations,
        patient_id,
        prescription_id,
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.orders.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &body.raw,
        StatusCode::CREATED,
        |idem| async move {
            app.place(new, &meta, idem.as_ref())
                .await
                .map_err(order_error)
        },
    )
    .await
}

fn order_not_found() -> ApiError {
    ApiError::not_found("order_not_found", "order not found")
}

async fn get_order(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let order_id: OrderId = path_id(&req, "order_id", "order")?;
    let order = state
        .app
        .orders
        .order(caller.tenant_id(), order_id)
        .await
        .map_err(order_error)?
        .ok_or_else(order_not_found)?;
    let view = order_view(&order).ok_or_else(order_not_found)?;
    // The snapshots are the patient's data: the read is audited before they are returned.
    if let Some(patient_id) = order.patient_id() {
        let reader = Reader {
            tenant_id: caller.tenant_id(),
            actor: caller.principal.subject.clone(),
            endpoint: format!("GET {API_PREFIX}{ORDER}"),
            request_id: Some(caller.request_id.clone()),
        };
        state
            .app
            .customers
            .audit_read(&reader, patient_id)
            .await
            .map_err(|e| ApiError::unavailable(format!("access audit: {e}")))?;
    }
    Ok(HttpResponse::Ok().json(view))
}

async fn step(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    step: OrderStep,
) -> Api {
    let order_id: OrderId = path_id(&req, "order_id", "order")?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.orders.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        raw,
        StatusCode::OK,
        |idem| async move {
            app.transition(order_id, step, &meta, idem.as_ref())
                .await
                .map_err(order_error)
        },
    )
    .await
}

async fn mark_ready(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    step(state, caller, req, key, &[], OrderStep::MarkReady).await
}

async fn complete(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    step(state, caller, req, key, &[], OrderStep::Complete).await
}

async fn ship(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ShipOrder>,
) -> Api {
    let mut f = Fields::default();
    let carrier = f.check("/carrier", Carrier::new(&body.value.carrier));
    let tracking_number = f.check(
        "/tracking_number",
        TrackingNumber::new(&body.value.tracking_number),
    );
    let (Some(carrier), Some(tracking_number)) = (carrier, tracking_number) else {
        return Err(f.error());
    };
    let raw = body.raw.clone();
    step(
        state,
        caller,
        req,
        key,
        &raw,
        OrderStep::Ship {
            carrier,
            tracking_number,
        },
    )
    .await
}

async fn cancel(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<CancelOrder>,
) -> Api {
    let mut f = Fields::default();
    let Some(reason) = f.check("/reason", CancelReason::new(&body.value.reason)) else {
        return Err(f.error());
    };
    let raw = body.raw.clone();
    step(state, caller, req, key, &raw, OrderStep::Cancel(reason)).await
}

fn problem(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<Problem>),
    }
}

fn moved(description: &'static str) -> Vec<Response> {
    vec![
        Response {
            status: 200,
            description,
            body: Some(schema::<CommandAccepted>),
        },
        problem(404, "Unknown order (also another tenant's)"),
        problem(
            409,
            "The order's status does not allow this step (`invalid_transition`)",
        ),
    ]
}

fn step_endpoint(
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    request: Option<crate::routes::SchemaFn>,
    route: fn() -> actix_web::Route,
) -> Endpoint {
    Endpoint {
        method: Method::POST,
        path,
        operation_id,
        summary,
        tag: "orders",
        scope: Some(WRITE),
        idempotent: true,
        request,
        upload: None,
        responses: moved("Done (`consistency_token` is null when it had happened already)"),
        route,
    }
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::POST,
            path: "/orders",
            operation_id: "placeOrder",
            summary: "Place an order from reservations, with patient and prescription snapshots",
            tag: "orders",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<PlaceOrder>),
            upload: None,
            responses: vec![
                Response {
                    status: 201,
                    description: "Placed: `pending_payment` (bank transfer) or `pending_shipment` (cash on delivery); `id` is the order's",
                    body: Some(schema::<CommandAccepted>),
                },
                problem(404, "Unknown store, variant, patient or prescription (also another tenant's)"),
                problem(409, "A reservation is not active, the store is closed, a variant has no price, or the order id is taken"),
                problem(422, "Cannot be ordered: e.g. `prescription_expired`, `prescription_required`, `patient_erased`"),
            ],
            route: || web::route().to(place_order),
        },
        Endpoint {
            method: Method::GET,
            path: ORDER,
            operation_id: "getOrder",
            summary: "An order with its lines, totals and snapshots (audited when it has a patient)",
            tag: "orders",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The order",
                    body: Some(schema::<OrderView>),
                },
                problem(404, "Unknown order (also another tenant's)"),
            ],
            route: || web::route().to(get_order),
        },
        step_endpoint(
            "/orders/{order_id}/ready",
            "markOrderReady",
            "Everything is ready to ship (after the lab, when it has lenses)",
            None,
            || web::route().to(mark_ready),
        ),
        step_endpoint(
            "/orders/{order_id}/ship",
            "shipOrder",
            "Hand the order to a carrier",
            Some(schema::<ShipOrder>),
            || web::route().to(ship),
        ),
        step_endpoint(
            "/orders/{order_id}/complete",
            "completeOrder",
            "The customer has the order",
            None,
            || web::route().to(complete),
        ),
        step_endpoint(
            "/orders/{order_id}/cancel",
            "cancelOrder",
            "Cancel an order before it ships; stock and payment are compensated",
            Some(schema::<CancelOrder>),
            || web::route().to(cancel),
        ),
    ]
}
