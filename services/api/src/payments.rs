//! Payments endpoints: an order's payment as decided now, the staff's bank-transfer
//! confirmation and cash collection, refunds, and the payment providers' webhooks —
//! authenticated by an HMAC signature of the raw body instead of a bearer token, and made
//! idempotent by the provider's event id (stored like an `Idempotency-Key`).
use crate::catalog::MoneyView;
use crate::extract::{
    parse_json, path_id, read_limited, request_hash, IdempotencyKey, JsonBody, RESERVED_KEY_PREFIX,
};
use crate::problem::{ApiError, Problem};
use crate::respond::{
    app_error, app_error_at, run_command, run_command_with, Coded, CommandAccepted, Respond,
};
use crate::routes::{schema, Endpoint, Response};
use crate::security::{request_metadata, Caller};
use crate::signing::{WebhookAuthError, SIGNATURE_HEADER};
use crate::validate::Fields;
use crate::ApiState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use optical_app::AppError;
use optical_event_store::StoredResponse;
use optical_kernel::{Currency, Money, OrderId, PaymentId};
use optical_payments::{
    Actor, ConfirmationSource, Payment, PaymentError, PaymentReference, ProviderEventId,
    ProviderName, RefundId, RefundReason,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const READ: &str = "payments:read";
const WRITE: &str = "payments:write";

/// The largest webhook body accepted.
const WEBHOOK_MAX_BYTES: usize = 64 * 1024;

/// The webhook event that confirms a bank transfer; other types are acknowledged and ignored.
const TRANSFER_RECEIVED: &str = "transfer.received";

impl Coded for PaymentError {
    fn code(&self) -> &'static str {
        PaymentError::code(self)
    }

    fn status(&self) -> StatusCode {
        match self {
            PaymentError::PaymentNotFound => StatusCode::NOT_FOUND,
            PaymentError::AmountNotPositive(_)
            | PaymentError::AmountMismatch { .. }
            | PaymentError::CurrencyMismatch { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            PaymentError::PaymentAlreadyRequested
            | PaymentError::MethodMismatch { .. }
            | PaymentError::AlreadyCaptured
            | PaymentError::PaymentVoided
            | PaymentError::NotCaptured(_)
            | PaymentError::RefundExceedsCaptured { .. } => StatusCode::CONFLICT,
        }
    }
}

fn rejected_field(error: &PaymentError) -> Option<&'static str> {
    match error {
        PaymentError::AmountNotPositive(_) | PaymentError::AmountMismatch { .. } => {
            Some("/amount_minor")
        }
        PaymentError::CurrencyMismatch { .. } => Some("/currency"),
        _ => None,
    }
}

fn payment_error(error: AppError<PaymentError>) -> ApiError {
    app_error_at(error, rejected_field)
}

/// Confirms that a bank transfer for the order arrived (staff, after checking the account).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTransfer {
    /// The transfer's reference as the bank shows it, 1–140 characters.
    pub reference: String,
    /// Must be the amount due, in the payment's currency's minor units.
    pub amount_minor: i64,
}

/// Records cash collected on delivery by the caller.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectCash {
    /// Must be the amount due, in minor units.
    pub amount_minor: i64,
}

/// Gives money back; the server makes the refund's id.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    /// Positive, and with earlier refunds at most the amount captured.
    pub amount_minor: i64,
    /// 1–500 characters.
    pub reason: String,
}

/// A refund made.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RefundCreated {
    /// The payment.
    pub id: String,
    pub refund_id: String,
    pub version: u64,
    pub consistency_token: Option<String>,
}

/// A payment as its aggregate decides on it now (not a projection).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PaymentView {
    pub payment_id: String,
    pub order_id: String,
    /// `bank_transfer` or `cod`.
    pub method: String,
    /// `requested`, `captured`, `partially_refunded`, `refunded` or `voided`.
    pub status: String,
    pub amount_due: MoneyView,
    pub captured: MoneyView,
    pub refunded: MoneyView,
    pub refundable: MoneyView,
}

/// A provider's notification that a bank transfer arrived. Signed: `X-Signature:
/// sha256=<hex HMAC-SHA256 of the raw body>` with the provider's secret. Members other than
/// these are ignored; an event of another `type` is acknowledged and ignored.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TransferReceived {
    /// The provider's id of this event; a redelivery carries the same one.
    pub event_id: String,
    /// `transfer.received`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Our payment id (given to the provider with the payment instructions).
    pub payment_id: String,
    /// The transfer's reference, 1–140 characters.
    pub reference: String,
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
}

#[derive(Debug, Deserialize)]
struct WebhookEnvelope {
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
}

/// What a webhook answers; a redelivered event gets the first answer again.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct WebhookAccepted {
    pub event_id: String,
    /// `applied`, or `ignored` for event types this API does not act on.
    pub status: String,
    pub payment_id: Option<String>,
    /// The payment's version after the event.
    pub version: Option<u64>,
    pub consistency_token: Option<String>,
}

type Api = Result<HttpResponse, ApiError>;

fn money_view(money: Option<Money>) -> Option<MoneyView> {
    money.map(Into::into)
}

fn payment_view(payment: &Payment) -> Option<PaymentView> {
    Some(PaymentView {
        payment_id: payment.payment_id()?.to_string(),
        order_id: payment.order_id()?.to_string(),
        method: payment.method()?.as_str().to_owned(),
        status: payment.status()?.as_str().to_owned(),
        amount_due: money_view(payment.amount_due())?,
        captured: money_view(payment.captured())?,
        refunded: money_view(payment.refunded())?,
        refundable: money_view(payment.refundable())?,
    })
}

fn payment_not_found() -> ApiError {
    ApiError::not_found("payment_not_found", "payment not found")
}

/// The order's payment, 404 when there is none (yet) or it is another tenant's.
async fn order_payment(
    state: &ApiState,
    caller: &Caller,
    req: &HttpRequest,
) -> Result<(OrderId, Payment), ApiError> {
    let order_id: OrderId = path_id(req, "order_id", "order")?;
    let payment = state
        .app
        .payments
        .payment(caller.tenant_id(), order_id)
        .await
        .map_err(payment_error)?
        .ok_or_else(payment_not_found)?;
    Ok((order_id, payment))
}

async fn get_payment(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let (_, payment) = order_payment(&state, &caller, &req).await?;
    let view = payment_view(&payment).ok_or_else(payment_not_found)?;
    Ok(HttpResponse::Ok().json(view))
}

/// An amount in the payment's currency.
fn amount(f: &mut Fields, payment: &Payment, amount_minor: i64) -> Option<Money> {
    let currency = payment.amount_due()?.currency();
    f.check("/amount_minor", Money::new(amount_minor, currency))
}

/// The caller as the staff member who acted.
fn staff(caller: &Caller) -> Result<Actor, ApiError> {
    Actor::new(&caller.principal.subject).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_actor",
            format!("the token's subject cannot be recorded as the actor: {e}"),
        )
    })
}

async fn confirm_transfer(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ConfirmTransfer>,
) -> Api {
    let (order_id, payment) = order_payment(&state, &caller, &req).await?;
    let mut f = Fields::default();
    let reference = f.check("/reference", PaymentReference::new(&body.value.reference));
    let amount = amount(&mut f, &payment, body.value.amount_minor);
    let (Some(reference), Some(amount)) = (reference, amount) else {
        return Err(f.error());
    };
    let source = ConfirmationSource::Staff {
        actor: staff(&caller)?,
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.payments.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &body.raw,
        StatusCode::OK,
        |idem| async move {
            app.confirm_transfer(order_id, source, reference, amount, &meta, idem.as_ref())
                .await
                .map_err(payment_error)
        },
    )
    .await
}

async fn collect(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<CollectCash>,
) -> Api {
    let (order_id, payment) = order_payment(&state, &caller, &req).await?;
    let mut f = Fields::default();
    let Some(amount) = amount(&mut f, &payment, body.value.amount_minor) else {
        return Err(f.error());
    };
    let collected_by = staff(&caller)?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.payments.clone();
    run_command(
        &state,
        &req,
        caller.tenant_id(),
        key,
        &body.raw,
        StatusCode::OK,
        |idem| async move {
            app.collect(order_id, collected_by, amount, &meta, idem.as_ref())
                .await
                .map_err(payment_error)
        },
    )
    .await
}

async fn refund(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<Refund>,
) -> Api {
    let (order_id, payment) = order_payment(&state, &caller, &req).await?;
    let mut f = Fields::default();
    let amount = amount(&mut f, &payment, body.value.amount_minor);
    let reason = f.check("/reason", RefundReason::new(&body.value.reason));
    let (Some(amount), Some(reason)) = (amount, reason) else {
        return Err(f.error());
    };
    let refund_id = RefundId::new(uuid::Uuid::now_v7()).map_err(ApiError::internal)?;
    let respond: Respond = Arc::new(move |receipt| StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        body: serde_json::to_value(RefundCreated {
            id: receipt.aggregate_id.clone(),
            refund_id: refund_id.to_string(),
            version: receipt.version as u64,
            consistency_token: receipt.position.map(|p| p.to_string()),
        })
        .unwrap_or_default(),
    });
    let meta = caller.metadata(state.clock.now());
    let app = state.app.payments.clone();
    let raw = body.raw.clone();
    run_command_with(
        &state,
        caller.tenant_id(),
        key.0,
        || request_hash(&req, &raw),
        respond,
        |idem| async move {
            app.refund(order_id, refund_id, amount, reason, &meta, idem.as_ref())
                .await
                .map_err(payment_error)
        },
    )
    .await
}

fn unauthorized(error: &WebhookAuthError) -> ApiError {
    let (code, detail) = match error {
        WebhookAuthError::UnknownProvider => (
            "unknown_provider",
            "no webhook secret is configured for this provider",
        ),
        WebhookAuthError::MissingSignature => (
            "missing_signature",
            "sign the raw body: `X-Signature: sha256=<hex HMAC-SHA256>`",
        ),
        WebhookAuthError::BadSignature => (
            "invalid_signature",
            "the X-Signature header does not match the body",
        ),
    };
    ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
}

fn webhook_answer(answer: &WebhookAccepted) -> StoredResponse {
    StoredResponse {
        status: StatusCode::OK.as_u16(),
        body: serde_json::to_value(answer).unwrap_or_default(),
    }
}

/// `POST /payments/webhooks/{provider}`: nothing is read or changed before the signature of
/// the raw body holds. The payment is found by its id across tenants (the provider knows no
/// tenant); its tenant then scopes everything, including the idempotency record
/// `webhook:<provider>:<event_id>` that makes a redelivery answer as the first delivery did.
async fn webhook(state: web::Data<ApiState>, req: HttpRequest, payload: web::Payload) -> Api {
    let provider = req
        .match_info()
        .get("provider")
        .unwrap_or_default()
        .to_owned();
    let raw = read_limited(&req, payload, WEBHOOK_MAX_BYTES).await?;
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    state
        .webhook_secrets
        .verify(&provider, &raw, signature)
        .map_err(|e| unauthorized(&e))?;
    let envelope: WebhookEnvelope = parse_json(&raw)?;
    if envelope.event_type != TRANSFER_RECEIVED {
        return Ok(HttpResponse::Ok().json(WebhookAccepted {
            event_id: envelope.event_id,
            status: "ignored".into(),
            payment_id: None,
            version: None,
            consistency_token: None,
        }));
    }
    let event: TransferReceived = parse_json(&raw)?;
    tracing::debug!(%provider, event_id = %event.event_id, event_type = %event.event_type, "payment webhook");
    let mut f = Fields::default();
    let event_id = f.check("/event_id", ProviderEventId::new(&event.event_id));
    let payment_id = f.check("/payment_id", event.payment_id.parse::<PaymentId>());
    let reference = f.check("/reference", PaymentReference::new(&event.reference));
    let amount = f
        .check("/currency", event.currency.parse::<Currency>())
        .and_then(|currency| f.check("/amount_minor", Money::new(event.amount_minor, currency)));
    let (Some(event_id), Some(payment_id), Some(reference), Some(amount)) =
        (event_id, payment_id, reference, amount)
    else {
        return Err(f.error());
    };
    let provider_name = ProviderName::new(&provider).map_err(ApiError::internal)?;
    let payment = state
        .app
        .payments
        .payment_by_id(payment_id)
        .await
        .map_err(app_error)?
        .ok_or_else(payment_not_found)?;
    let (Some(tenant_id), Some(order_id)) = (payment.tenant_id(), payment.order_id()) else {
        return Err(payment_not_found());
    };
    let key = format!("{RESERVED_KEY_PREFIX}{provider}:{event_id}");
    let answered_event = event_id.to_string();
    let respond: Respond = Arc::new(move |receipt| {
        webhook_answer(&WebhookAccepted {
            event_id: answered_event.clone(),
            status: "applied".into(),
            payment_id: Some(receipt.aggregate_id.clone()),
            version: Some(receipt.version as u64),
            consistency_token: receipt.position.map(|p| p.to_string()),
        })
    });
    let meta = request_metadata(
        &req,
        tenant_id,
        format!("provider:{provider}"),
        state.clock.now(),
    );
    let source = ConfirmationSource::Provider {
        provider: provider_name,
        provider_event_id: event_id,
    };
    let app = state.app.payments.clone();
    run_command_with(
        &state,
        tenant_id,
        Some(key),
        || request_hash(&req, &raw),
        respond,
        |idem| async move {
            app.confirm_transfer(order_id, source, reference, amount, &meta, idem.as_ref())
                .await
                .map_err(payment_error)
        },
    )
    .await
}

fn problem(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<Problem>),
    }
}

fn captured(description: &'static str) -> Vec<Response> {
    vec![
        Response {
            status: 200,
            description,
            body: Some(schema::<CommandAccepted>),
        },
        problem(
            404,
            "The order has no payment (yet), or is another tenant's",
        ),
        problem(409, "Captured already, voided, or paid by the other method"),
        problem(422, "Not the amount due (`amount_mismatch`)"),
    ]
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/orders/{order_id}/payment",
            operation_id: "getOrderPayment",
            summary: "The order's payment: amount due, captured, refunded",
            tag: "payments",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The payment",
                    body: Some(schema::<PaymentView>),
                },
                problem(404, "The order has no payment (yet), or is another tenant's"),
            ],
            route: || web::route().to(get_payment),
        },
        Endpoint {
            method: Method::POST,
            path: "/orders/{order_id}/payment/confirm-transfer",
            operation_id: "confirmBankTransfer",
            summary: "Staff confirm that the bank transfer arrived",
            tag: "payments",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<ConfirmTransfer>),
            upload: None,
            responses: captured("Captured"),
            route: || web::route().to(confirm_transfer),
        },
        Endpoint {
            method: Method::POST,
            path: "/orders/{order_id}/payment/collect",
            operation_id: "collectCashOnDelivery",
            summary: "Record cash collected on delivery",
            tag: "payments",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<CollectCash>),
            upload: None,
            responses: captured("Collected"),
            route: || web::route().to(collect),
        },
        Endpoint {
            method: Method::POST,
            path: "/orders/{order_id}/payment/refunds",
            operation_id: "refundPayment",
            summary: "Give (part of) the captured money back",
            tag: "payments",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<Refund>),
            upload: None,
            responses: vec![
                Response {
                    status: 201,
                    description: "Refunded",
                    body: Some(schema::<RefundCreated>),
                },
                problem(404, "The order has no payment (yet), or is another tenant's"),
                problem(
                    409,
                    "Nothing captured, or more than is left to refund (`refund_exceeds_captured`)",
                ),
            ],
            route: || web::route().to(refund),
        },
        Endpoint {
            method: Method::POST,
            path: "/payments/webhooks/{provider}",
            operation_id: "receivePaymentWebhook",
            summary: "A payment provider's signed notification (no bearer token: `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>`)",
            tag: "payments",
            scope: None,
            idempotent: false,
            request: Some(schema::<TransferReceived>),
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "Applied or ignored; a redelivered event gets the first answer again",
                    body: Some(schema::<WebhookAccepted>),
                },
                problem(
                    401,
                    "Unknown provider, or a missing or wrong signature; nothing was changed",
                ),
                problem(404, "Unknown payment"),
                problem(409, "The payment was captured otherwise, or voided"),
            ],
            route: || web::route().to(webhook),
        },
    ]
}
