//! The patient list, from the `patients` read model. Every patient it returns is patient data:
//! each one is recorded in the access audit (one `PatientAccess` per row, the caller as
//! actor) before the page is answered, as `GET /customers/patients/{patient_id}` does for one.
use crate::problem::{ApiError, FieldError, Problem};
use crate::read::{consistent, page_error, query_params, read_model_error};
use crate::routes::{schema, Endpoint, Response, API_PREFIX};
use crate::security::Caller;
use crate::ApiState;
use actix_web::http::header;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use optical_event_store::{AccessAudit, PatientAccess};
use optical_kernel::PatientId;
use optical_read_model::page;
use optical_read_model::patients::{
    self, PatientFilter, PatientRow, PatientsProjection, QueryError,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const READ: &str = "customers:read";
const PATIENTS: &str = "/customers/patients";

/// Longest accepted `name` prefix, in characters.
const MAX_NAME_PREFIX: usize = 100;

type Api = Result<HttpResponse, ApiError>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatientsQuery {
    name: Option<String>,
    erased: Option<bool>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// One page of patients by family name.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PatientPage {
    pub items: Vec<PatientRow>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A read model query's failure as an answer.
pub(super) fn query_error(error: QueryError) -> ApiError {
    match error {
        QueryError::Page(e) => page_error(e),
        QueryError::Db(e) => read_model_error(e),
    }
}

/// Records that `caller` read the data of `patients` through `endpoint` (method and route
/// template), in one statement, before the data is answered.
pub(super) async fn audit_reads(
    state: &ApiState,
    caller: &Caller,
    endpoint: &str,
    patients: impl IntoIterator<Item = Uuid>,
) -> Result<(), ApiError> {
    let accesses: Vec<PatientAccess> = patients
        .into_iter()
        .map(|patient_id| PatientAccess {
            tenant_id: caller.tenant_id(),
            patient_id: PatientId::from_uuid(patient_id),
            actor: caller.principal.subject.clone(),
            endpoint: format!("GET {API_PREFIX}{endpoint}"),
            request_id: Some(caller.request_id.clone()),
        })
        .collect();
    // The audit lives next to the event log, which today also holds the read models.
    AccessAudit::new(state.read.pool.clone())
        .record(&accesses)
        .await
        .map_err(|e| ApiError::unavailable(format!("access audit: {e}")))
}

async fn list_patients(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let query: PatientsQuery = query_params(&req)?;
    let name_prefix = query
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if name_prefix
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NAME_PREFIX)
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            "the query string is not valid for this endpoint",
        )
        .with_errors(vec![FieldError::new(
            "query:name",
            "too_long",
            format!("at most {MAX_NAME_PREFIX} characters"),
        )]));
    }
    let limit = page::limit(query.limit).map_err(page_error)?;
    let tenant = caller.tenant_id();
    consistent(&state, &req, tenant, &PatientsProjection).await?;
    let client = state.read.client().await?;
    let filter = PatientFilter {
        name_prefix,
        erased: query.erased,
    };
    let page = patients::list(
        &**client,
        *tenant.as_uuid(),
        &filter,
        limit,
        query.cursor.as_deref(),
    )
    .await
    .map_err(query_error)?;
    audit_reads(
        &state,
        &caller,
        PATIENTS,
        page.items.iter().map(|p| p.patient_id),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(PatientPage {
            items: page.items,
            next_cursor: page.next_cursor,
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
    vec![Endpoint {
        method: Method::GET,
        path: PATIENTS,
        operation_id: "listPatients",
        summary: "The tenant's patients by family name, from the read model (query: `name` — case-insensitive prefix of the family or given name, `erased` — true or false, `limit` 1–200, `cursor`); every patient returned is recorded in the access audit",
        tag: "customers",
        scope: Some(READ),
        idempotent: false,
        request: None,
        upload: None,
        responses: vec![
            Response {
                status: 200,
                description: "A page of patients, by family name then id; erased patients show `erased: true` and no personal fields",
                body: Some(schema::<PatientPage>),
            },
            problem(400, "An unknown or ill-typed query parameter (`invalid_query`, the parameter named as `query:<name>`), a bad `cursor` or `limit`, or a bad `X-Consistency-Token`"),
            problem(503, "The read model has not applied the write of `X-Consistency-Token` yet (`stale_read`), or is unavailable"),
        ],
        route: || web::route().to(list_patients),
    }]
}
