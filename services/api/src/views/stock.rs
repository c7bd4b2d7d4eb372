//! `GET /inventory/availability`: units on hand, reserved and available per variant and
//! location, from the `stock` read model.
use crate::problem::{ApiError, FieldError, Problem};
use crate::read::{consistent, page_error, query_params, read_model_error};
use crate::routes::{schema, Endpoint, Response};
use crate::security::Caller;
use crate::validate::Fields;
use crate::ApiState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use deadpool_postgres::tokio_postgres::Client;
use optical_kernel::{LocationId, VariantId};
use optical_read_model::stock::{self, QueryError, StockProjection, StockRow};
use optical_read_model::{page, Page};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const READ: &str = "inventory:read";

type Api = Result<HttpResponse, ApiError>;

/// The query string of `GET /inventory/availability`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityQuery {
    /// Only this variant (a UUIDv7).
    pub variant_id: Option<String>,
    /// Only this location (a UUIDv7).
    pub location_id: Option<String>,
    /// Rows per page, 1–200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of stock levels, by variant then location.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AvailabilityPage {
    pub items: Vec<StockRow>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl From<Page<StockRow>> for AvailabilityPage {
    fn from(page: Page<StockRow>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// 400 naming every invalid query parameter.
pub(crate) fn invalid_query(fields: Fields) -> ApiError {
    invalid_query_errors(fields.into_errors())
}

pub(crate) fn invalid_query_errors(errors: Vec<FieldError>) -> ApiError {
    ApiError::bad_request(
        "invalid_query",
        "some query parameters are invalid; see `errors`",
    )
    .with_errors(errors)
}

pub(crate) fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::Page(e) => page_error(e),
        QueryError::Db(e) => read_model_error(e),
    }
}

async fn availability(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let query: AvailabilityQuery = query_params(&req)?;
    let mut f = Fields::default();
    let variant_id = f.check_opt(
        "query:variant_id",
        query.variant_id.as_deref().map(str::parse::<VariantId>),
    );
    let location_id = f.check_opt(
        "query:location_id",
        query.location_id.as_deref().map(str::parse::<LocationId>),
    );
    let (Some(variant_id), Some(location_id)) = (variant_id, location_id) else {
        return Err(invalid_query(f));
    };
    let limit = page::limit(query.limit).map_err(page_error)?;
    let tenant = caller.tenant_id();
    consistent(&state, &req, tenant, &StockProjection).await?;
    let client = state.read.client().await?;
    let db: &Client = &client;
    let page = stock::availability(
        db,
        *tenant.as_uuid(),
        variant_id.map(|v| *v.as_uuid()),
        location_id.map(|l| *l.as_uuid()),
        limit,
        query.cursor.as_deref(),
    )
    .await
    .map_err(query_error)?;
    Ok(HttpResponse::Ok().json(AvailabilityPage::from(page)))
}

pub(crate) fn problem(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<Problem>),
    }
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![Endpoint {
        method: Method::GET,
        path: "/inventory/availability",
        operation_id: "listStockAvailability",
        summary: "Units on hand, reserved and available per variant and location (query: variant_id, location_id, limit, cursor)",
        tag: "inventory",
        scope: Some(READ),
        idempotent: false,
        request: None,
        upload: None,
        responses: vec![
            Response {
                status: 200,
                description: "One page of stock levels, by variant then location",
                body: Some(schema::<AvailabilityPage>),
            },
            problem(
                400,
                "An unknown or invalid query parameter (`invalid_query`), a bad `limit` or `cursor`, or a consistency token this API did not hand out",
            ),
            problem(
                503,
                "The read model has not applied the write named by `X-Consistency-Token` yet (`stale_read`), or is unavailable",
            ),
        ],
        route: || web::route().to(availability),
    }]
}
