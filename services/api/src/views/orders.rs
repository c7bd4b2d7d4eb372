//! `GET /orders` and `GET /orders/{order_id}/summary`: the back office's order list from the
//! `orders` read model: status, dates, totals and the patient's id, never personal data (the
//! full order with its snapshots is `GET /orders/{order_id}`, audited).
use super::stock::{invalid_query, problem, query_error};
use crate::problem::ApiError;
use crate::read::{consistent, page_error, query_params, read_model_error};
use crate::routes::{schema, Endpoint, Response};
use crate::security::Caller;
use crate::validate::Fields;
use crate::ApiState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::tokio_postgres::Client;
use optical_kernel::{OrderId, PatientId};
use optical_orders::OrderStatus;
use optical_read_model::orders::{self, OrderFilter, OrderRow, OrderSort, OrdersProjection};
use optical_read_model::{page, Page};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const READ: &str = "orders:read";

type Api = Result<HttpResponse, ApiError>;

/// The query string of `GET /orders`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    /// Only orders in this status: `pending_payment`, `pending_shipment`, `paid`, `in_lab`,
    /// `ready`, `shipped`, `completed` or `cancelled`.
    pub status: Option<String>,
    /// Only orders for this patient (a UUIDv7).
    pub patient_id: Option<String>,
    /// Placed at or after: an RFC 3339 time (`2026-03-01T09:00:00Z`) or a date (`2026-03-01`,
    /// midnight UTC).
    pub placed_from: Option<String>,
    /// Placed strictly before: like `placed_from`.
    pub placed_to: Option<String>,
    /// `placed_desc` (newest first, the default) or `placed_asc`.
    pub sort: Option<OrderSort>,
    /// Rows per page, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (of the same `sort`).
    pub cursor: Option<String>,
}

/// One page of orders.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrdersPage {
    pub items: Vec<OrderRow>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<OrderRow>> for OrdersPage {
    fn from(page: Page<OrderRow>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

fn parse_status(text: &str) -> Result<OrderStatus, String> {
    OrderStatus::ALL
        .iter()
        .copied()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| {
            let known: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            format!("unknown status `{text}`; one of {}", known.join(", "))
        })
}

/// An RFC 3339 time, or a date meaning its midnight in UTC.
fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.to_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!(
                "`{text}` is neither an RFC 3339 time (2026-03-01T09:00:00Z; encode `+` as %2B) nor a date (2026-03-01)"
            )
        })
}

async fn list_orders(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let query: OrdersQuery = query_params(&req)?;
    let mut f = Fields::default();
    let status = f.check_opt("query:status", query.status.as_deref().map(parse_status));
    let patient_id = f.check_opt(
        "query:patient_id",
        query.patient_id.as_deref().map(str::parse::<PatientId>),
    );
    let placed_from = f.check_opt(
        "query:placed_from",
        query.placed_from.as_deref().map(parse_instant),
    );
    let placed_to = f.check_opt(
        "query:placed_to",
        query.placed_to.as_deref().map(parse_instant),
    );
    let (Some(status), Some(patient_id), Some(placed_from), Some(placed_to)) =
        (status, patient_id, placed_from, placed_to)
    else {
        return Err(invalid_query(f));
    };
    if let (Some(from), Some(to)) = (placed_from, placed_to) {
        if to < from {
            f.reject(
                "query:placed_to",
                "invalid_value",
                "placed_to must not be before placed_from",
            );
            return Err(invalid_query(f));
        }
    }
    let limit = page::limit(query.limit).map_err(page_error)?;
    let filter = OrderFilter {
        status,
        patient_id: patient_id.map(|p| *p.as_uuid()),
        placed_from,
        placed_to,
    };
    let tenant = caller.tenant_id();
    consistent(&state, &req, tenant, &OrdersProjection).await?;
    let client = state.read.client().await?;
    let db: &Client = &client;
    let page = orders::list(
        db,
        *tenant.as_uuid(),
        &filter,
        query.sort.unwrap_or_default(),
        limit,
        query.cursor.as_deref(),
    )
    .await
    .map_err(query_error)?;
    Ok(HttpResponse::Ok().json(OrdersPage::from(page)))
}

fn order_not_found() -> ApiError {
    ApiError::not_found("order_not_found", "order not found")
}

async fn order_summary(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let order_id: OrderId = crate::extract::path_id(&req, "order_id", "order")?;
    // No query parameters; an unknown one is refused like everywhere else.
    let _: NoQuery = query_params(&req)?;
    let tenant = caller.tenant_id();
    consistent(&state, &req, tenant, &OrdersProjection).await?;
    let client = state.read.client().await?;
    let db: &Client = &client;
    let row = orders::get(db, *tenant.as_uuid(), *order_id.as_uuid())
        .await
        .map_err(read_model_error)?
        .ok_or_else(order_not_found)?;
    Ok(HttpResponse::Ok().json(row))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoQuery {}

fn read_problems() -> [Response; 2] {
    [
        problem(
            400,
            "An unknown or invalid query parameter (`invalid_query`), a bad `limit` or `cursor`, or a consistency token this API did not hand out",
        ),
        problem(
            503,
            "The read model has not applied the write named by `X-Consistency-Token` yet (`stale_read`), or is unavailable",
        ),
    ]
}

pub fn endpoints() -> Vec<Endpoint> {
    let mut summary_responses = vec![
        Response {
            status: 200,
            description: "The order as the list shows it",
            body: Some(schema::<OrderRow>),
        },
        problem(404, "Unknown order (also another tenant's)"),
    ];
    summary_responses.extend(read_problems());
    let mut list_responses = vec![Response {
        status: 200,
        description: "One page of orders, in the requested order",
        body: Some(schema::<OrdersPage>),
    }];
    list_responses.extend(read_problems());
    vec![
        Endpoint {
            method: Method::GET,
            path: "/orders",
            operation_id: "listOrders",
            summary: "The tenant's orders, filtered and sorted, without personal data (query: status, patient_id, placed_from, placed_to, sort, limit, cursor)",
            tag: "orders",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: list_responses,
            route: || web::route().to(list_orders),
        },
        Endpoint {
            method: Method::GET,
            path: "/orders/{order_id}/summary",
            operation_id: "getOrderSummary",
            summary: "One order as the order list shows it (status, totals, patient id; not audited: no personal data)",
            tag: "orders",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: summary_responses,
            route: || web::route().to(order_summary),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_instants_parse_or_say_why_not() {
        assert_eq!(parse_status("in_lab"), Ok(OrderStatus::InLab));
        assert!(parse_status("lost")
            .unwrap_err()
            .contains("pending_payment"));
        assert_eq!(
            parse_instant("2026-03-01").unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_instant("2026-03-01T10:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-03-01T09:00:00+00:00"
        );
        assert!(parse_instant("2026-13-01").is_err());
        assert!(parse_instant("yesterday").is_err());
    }
}
