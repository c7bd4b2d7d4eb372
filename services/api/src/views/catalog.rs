//! The catalog read model: the storefront (published only) and the back office (everything).
use crate::problem::{ApiError, FieldError, Problem};
use crate::read::{consistent, page_error, query_params, read_model_error};
use crate::routes::{schema, Endpoint, Response};
use crate::security::Caller;
use crate::ApiState;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use optical_read_model::catalog::{
    self, CatalogFilter, CatalogItem, CatalogProjection, CatalogSort, CatalogView, QueryError,
};
use optical_read_model::{page, Page};
use serde::Deserialize;
use uuid::Uuid;

const READ: &str = "catalog:read";
const KINDS: [&str; 5] = [
    "frame",
    "ophthalmic_lens",
    "contact_lens",
    "accessory",
    "digital",
];
const STATUSES: [&str; 3] = ["draft", "published", "archived"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    kind: Option<String>,
    brand: Option<String>,
    status: Option<String>,
    product_id: Option<Uuid>,
    sort: Option<CatalogSort>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn filter(query: &ListQuery, view: CatalogView) -> Result<CatalogFilter, ApiError> {
    let mut errors = Vec::new();
    if let Some(kind) = &query.kind {
        if !KINDS.contains(&kind.as_str()) {
            errors.push(FieldError::new(
                "query:kind",
                "invalid",
                format!("one of {}", KINDS.join(", ")),
            ));
        }
    }
    if let Some(status) = &query.status {
        if view == CatalogView::Storefront {
            errors.push(FieldError::new(
                "query:status",
                "invalid",
                "the storefront lists published variants only",
            ));
        } else if !STATUSES.contains(&status.as_str()) {
            errors.push(FieldError::new(
                "query:status",
                "invalid",
                format!("one of {}", STATUSES.join(", ")),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_query",
            "the query string is not valid for this endpoint",
        )
        .with_errors(errors));
    }
    Ok(CatalogFilter {
        kind: query.kind.clone(),
        brand: query.brand.clone(),
        status: query.status.clone(),
        product_id: query.product_id,
    })
}

fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::Page(e) => page_error(e),
        QueryError::Db(e) => read_model_error(e),
    }
}

async fn list(
    state: &ApiState,
    caller: &Caller,
    req: &HttpRequest,
    view: CatalogView,
) -> Result<HttpResponse, ApiError> {
    let query: ListQuery = query_params(req)?;
    let filter = filter(&query, view)?;
    let limit = page::limit(query.limit).map_err(page_error)?;
    consistent(state, req, caller.tenant_id(), &CatalogProjection).await?;
    let client = state.read.client().await?;
    let page = catalog::list(
        &**client,
        *caller.tenant_id().as_uuid(),
        view,
        &filter,
        query.sort.unwrap_or(CatalogSort::Name),
        limit,
        query.cursor.as_deref(),
    )
    .await
    .map_err(query_error)?;
    Ok(HttpResponse::Ok().json(page))
}

async fn storefront(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, &caller, &req, CatalogView::Storefront).await
}

async fn back_office(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list(&state, &caller, &req, CatalogView::BackOffice).await
}

async fn storefront_item(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let variant_id: Uuid = crate::extract::path_id(&req, "variant_id", "variant")?;
    consistent(&state, &req, caller.tenant_id(), &CatalogProjection).await?;
    let client = state.read.client().await?;
    let item = catalog::get(
        &**client,
        *caller.tenant_id().as_uuid(),
        CatalogView::Storefront,
        variant_id,
    )
    .await
    .map_err(read_model_error)?
    .ok_or_else(|| ApiError::not_found("variant_not_found", "no published variant with this id"))?;
    Ok(HttpResponse::Ok().json(item))
}

fn problem(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<Problem>),
    }
}

const LIST_PROBLEMS: &str = "Unknown parameter, bad kind/status/sort/limit, or a cursor of another listing (`invalid_query`, `invalid_cursor`, `invalid_limit`, `invalid_consistency_token`)";

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/storefront/variants",
            operation_id: "listStorefrontVariants",
            summary: "Published variants of published products (query: kind, brand, product_id, sort=name|price_asc|price_desc|updated_desc, limit, cursor); honours X-Consistency-Token",
            tag: "views",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response { status: 200, description: "One page; `next_cursor` fetches the next", body: Some(schema::<Page<CatalogItem>>) },
                problem(400, LIST_PROBLEMS),
                problem(503, "`stale_read`: the catalog projection had not applied the token's write within the wait"),
            ],
            route: || web::route().to(storefront),
        },
        Endpoint {
            method: Method::GET,
            path: "/storefront/variants/{variant_id}",
            operation_id: "getStorefrontVariant",
            summary: "One published variant as the storefront shows it",
            tag: "views",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response { status: 200, description: "The variant", body: Some(schema::<CatalogItem>) },
                problem(404, "No published variant with this id in the caller's tenant"),
                problem(503, "`stale_read`"),
            ],
            route: || web::route().to(storefront_item),
        },
        Endpoint {
            method: Method::GET,
            path: "/catalog/variants",
            operation_id: "listCatalogVariants",
            summary: "Back office: every variant, any status (query: kind, brand, status, product_id, sort, limit, cursor); honours X-Consistency-Token",
            tag: "views",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response { status: 200, description: "One page", body: Some(schema::<Page<CatalogItem>>) },
                problem(400, LIST_PROBLEMS),
                problem(503, "`stale_read`"),
            ],
            route: || web::route().to(back_office),
        },
    ]
}
