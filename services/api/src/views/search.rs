//! Product search: Meilisearch when configured, otherwise PostgreSQL full-text search with
//! trigram typo tolerance over the catalog read model (ADR 0021). Either way the caller's
//! tenant is forced into the filter.
use crate::problem::{ApiError, FieldError, Problem};
use crate::read::{consistent, read_model_error};
use crate::routes::{schema, Endpoint, Response};
use crate::security::Caller;
use crate::ApiState;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use optical_read_model::catalog::{self, CatalogProjection};
use optical_search::{Facet, SearchPage, SearchRequest};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

const READ: &str = "catalog:read";
const MAX_LIMIT: u32 = 100;
const MAX_OFFSET: u32 = 10_000;

/// `q`, repeated `filter=facet:value` (values of one facet OR, facets AND), `facets=a,b`,
/// `limit`, `offset`.
fn parse(req: &HttpRequest, tenant: uuid::Uuid) -> Result<SearchRequest, ApiError> {
    let mut errors = Vec::new();
    let mut q = String::new();
    let mut filters: BTreeMap<Facet, Vec<String>> = BTreeMap::new();
    let mut facets = Vec::new();
    let mut limit = 20;
    let mut offset = 0;
    for (key, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "q" => q = value.into_owned(),
            "filter" => match value.split_once(':') {
                Some((name, v)) if Facet::parse(name).is_some() && !v.is_empty() => {
                    if let Some(facet) = Facet::parse(name) {
                        filters.entry(facet).or_default().push(v.to_owned());
                    }
                }
                _ => errors.push(FieldError::new(
                    "query:filter",
                    "invalid",
                    format!(
                        "`{value}`: use facet:value with a facet of {}",
                        facet_names()
                    ),
                )),
            },
            "facets" => {
                for name in value.split(',').filter(|n| !n.is_empty()) {
                    match Facet::parse(name) {
                        Some(facet) if !facets.contains(&facet) => facets.push(facet),
                        Some(_) => {}
                        None => errors.push(FieldError::new(
                            "query:facets",
                            "invalid",
                            format!("`{name}` is not one of {}", facet_names()),
                        )),
                    }
                }
            }
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                _ => errors.push(FieldError::new(
                    "query:limit",
                    "invalid",
                    format!("between 1 and {MAX_LIMIT}"),
                )),
            },
            "offset" => match value.parse::<u32>() {
                Ok(n) if n <= MAX_OFFSET => offset = n,
                _ => errors.push(FieldError::new(
                    "query:offset",
                    "invalid",
                    format!("between 0 and {MAX_OFFSET}"),
                )),
            },
            other => errors.push(FieldError::new(
                format!("query:{other}"),
                "unknown",
                "not a parameter of this endpoint",
            )),
        }
    }
    if q.chars().count() > 200 {
        errors.push(FieldError::new(
            "query:q",
            "too_long",
            "at most 200 characters",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_query",
            "the query string is not valid for this endpoint",
        )
        .with_errors(errors));
    }
    Ok(SearchRequest {
        tenant_id: tenant,
        q,
        filters: filters.into_iter().collect(),
        facets,
        limit,
        offset,
    })
}

fn facet_names() -> String {
    Facet::ALL
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The search answer, and which engine gave it.
#[derive(Serialize, JsonSchema)]
struct SearchView {
    /// `meilisearch` or `postgres`.
    engine: &'static str,
    #[schemars(with = "serde_json::Value")]
    hits: Vec<optical_search::ProductDocument>,
    estimated_total: u64,
    facet_distribution: BTreeMap<String, BTreeMap<String, u64>>,
}

fn view(engine: &'static str, page: SearchPage) -> SearchView {
    SearchView {
        engine,
        hits: page.hits,
        estimated_total: page.estimated_total,
        facet_distribution: page.facet_distribution,
    }
}

async fn search(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let request = parse(&req, *caller.tenant_id().as_uuid())?;
    match &state.read.search {
        Some(index) => {
            let page = index
                .search(&request)
                .await
                .map_err(ApiError::unavailable)?;
            Ok(HttpResponse::Ok().json(view("meilisearch", page)))
        }
        None => {
            consistent(&state, &req, caller.tenant_id(), &CatalogProjection).await?;
            let client = state.read.client().await?;
            let page = catalog::search(&**client, &request)
                .await
                .map_err(read_model_error)?;
            Ok(HttpResponse::Ok().json(view("postgres", page)))
        }
    }
}

#[derive(Serialize, JsonSchema)]
struct TenantTokenView {
    /// Send as the Meilisearch API key; it can only search `index_uid`, this tenant's documents.
    token: String,
    index_uid: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

async fn tenant_token(
    state: web::Data<ApiState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let Some(index) = &state.read.search else {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "search_index_not_configured",
            "no Meilisearch is configured; search through GET /api/v1/search instead",
        ));
    };
    let ttl = chrono::Duration::from_std(state.read.tenant_token_ttl)
        .unwrap_or(chrono::Duration::hours(1));
    let expires_at = chrono::Utc::now() + ttl;
    let token = index
        .tenant_token(*caller.tenant_id().as_uuid(), expires_at)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(TenantTokenView {
        token,
        index_uid: index.index_uid().to_owned(),
        expires_at,
    }))
}

fn problem(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<Problem>),
    }
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::GET,
            path: "/search",
            operation_id: "searchProducts",
            summary: "Search published variants: q (typo-tolerant), filter=facet:value (repeatable), facets=a,b, limit, offset; always within the caller's tenant",
            tag: "views",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response { status: 200, description: "Hits, an estimated total and facet counts; `engine` says who answered", body: Some(schema::<SearchView>) },
                problem(400, "An unknown parameter or facet, a filter not of the form facet:value, limit/offset out of range"),
                problem(503, "The search engine is unavailable"),
            ],
            route: || web::route().to(search),
        },
        Endpoint {
            method: Method::POST,
            path: "/search/tenant-token",
            operation_id: "createSearchTenantToken",
            summary: "A Meilisearch tenant token for frontends that query Meilisearch directly, restricted to the caller's tenant",
            tag: "views",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response { status: 200, description: "The token, its index and its expiry", body: Some(schema::<TenantTokenView>) },
                problem(501, "`search_index_not_configured`: no Meilisearch; use GET /search"),
            ],
            route: || web::route().to(tenant_token),
        },
    ]
}
