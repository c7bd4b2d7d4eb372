//! The lab's queries: the queue of each station and stage (oldest waiting first, with the
//! time in stage), a work order's stage history, from the `lab` read model; and the print
//! spool, newest first.
//!
//! Queue and history rows carry the patient's initials (personal data): every patient they
//! show is recorded in the access audit before the answer, as the work order's own read is.
use super::patients::{audit_reads, query_error};
use crate::extract::path_id;
use crate::problem::{ApiError, FieldError, Problem};
use crate::read::{consistent, page_error, query_params, read_model_error};
use crate::routes::{schema, Endpoint, Response, API_PREFIX};
use crate::security::Caller;
use crate::ApiState;
use actix_web::http::header;
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use optical_event_store::PrintSpool;
use optical_lab::LabStage;
use optical_read_model::lab::{self, LabProjection, StageRow, WorkOrderRow};
use optical_read_model::{page, Cursor, Page};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const READ: &str = "lab:read";
const QUEUE: &str = "/lab/queue";
const HISTORY: &str = "/lab/work-orders/{work_order_id}/history";
const PRINT_JOBS: &str = "/lab/print-jobs";

/// The cursor name of the spool listing.
const PRINT_JOBS_QUERY: &str = "lab.print_jobs";
/// The states a spooled ticket may be in.
const PRINT_JOB_STATES: [&str; 4] = ["queued", "printed", "kept", "parked"];

type Api = Result<HttpResponse, ApiError>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueQuery {
    station_id: Option<String>,
    stage: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrintJobsQuery {
    state: Option<String>,
    station_id: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// One page of the lab's queue.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LabQueuePage {
    /// Oldest waiting first: by `stage_since`, then work order id.
    pub items: Vec<WorkOrderRow>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A work order and every stage it entered, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkOrderHistory {
    pub work_order: WorkOrderRow,
    pub stages: Vec<StageRow>,
}

/// A ticket in the spool, without its document.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PrintJobSummaryView {
    pub id: Uuid,
    pub work_order_id: Uuid,
    /// The work order's number, `WO-000042`.
    pub number: String,
    pub station_id: Uuid,
    /// The stage the work order entered.
    pub stage: String,
    /// `escpos` or `pdf`.
    pub format: String,
    /// `escpos_tcp` or `ipp`; null for a copy kept for download only.
    pub protocol: Option<String>,
    pub address: Option<String>,
    /// `queued`, `printed`, `kept` or `parked`.
    pub state: String,
    pub attempts: u32,
    /// When the spooler tries next; null unless `queued`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub reprints: u32,
    pub created_at: DateTime<Utc>,
    pub printed_at: Option<DateTime<Utc>>,
    /// SHA-256 of the document, lowercase hex.
    pub sha256: String,
    pub size_bytes: u64,
    /// The ticket (`GET`), with its document below it.
    pub href: String,
}

/// One page of the spool, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PrintJobPage {
    pub items: Vec<PrintJobSummaryView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

fn invalid_query(errors: Vec<FieldError>) -> ApiError {
    ApiError::bad_request(
        "invalid_query",
        "the query string is not valid for this endpoint",
    )
    .with_errors(errors)
}

/// The uuid of query parameter `name`, or a field error naming it.
fn uuid_param(errors: &mut Vec<FieldError>, name: &str, value: Option<&str>) -> Option<Uuid> {
    let value = value?;
    match Uuid::parse_str(value) {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(FieldError::new(
                format!("query:{name}"),
                "invalid_uuid",
                "not a UUID",
            ));
            None
        }
    }
}

fn stage_param(errors: &mut Vec<FieldError>, value: Option<&str>) -> Option<LabStage> {
    let value = value?;
    match value.parse::<LabStage>() {
        Ok(stage) => Some(stage),
        Err(_) => {
            let known: Vec<&str> = LabStage::ALL.iter().map(|s| s.as_str()).collect();
            errors.push(FieldError::new(
                "query:stage",
                "unknown_stage",
                format!("one of {}", known.join(", ")),
            ));
            None
        }
    }
}

async fn queue(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let query: QueueQuery = query_params(&req)?;
    let mut errors = Vec::new();
    let station_id = uuid_param(&mut errors, "station_id", query.station_id.as_deref());
    let stage = stage_param(&mut errors, query.stage.as_deref());
    if !errors.is_empty() {
        return Err(invalid_query(errors));
    }
    let limit = page::limit(query.limit).map_err(page_error)?;
    let tenant = caller.tenant_id();
    consistent(&state, &req, tenant, &LabProjection).await?;
    let client = state.read.client().await?;
    let page = lab::queue(
        &**client,
        *tenant.as_uuid(),
        station_id,
        stage,
        limit,
        query.cursor.as_deref(),
    )
    .await
    .map_err(query_error)?;
    audit_reads(&state, &caller, QUEUE, shown_patients(&page.items)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(LabQueuePage {
            items: page.items,
            next_cursor: page.next_cursor,
        }))
}

/// The patients whose initials the rows show.
fn shown_patients(rows: &[WorkOrderRow]) -> Vec<Uuid> {
    let mut patients: Vec<Uuid> = rows
        .iter()
        .filter(|w| w.patient_initials.is_some())
        .map(|w| w.patient_id)
        .collect();
    patients.sort_unstable();
    patients.dedup();
    patients
}

fn work_order_not_found() -> ApiError {
    ApiError::not_found("work_order_not_found", "work order not found")
}

async fn history(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let work_order_id: Uuid = path_id(&req, "work_order_id", "work_order")?;
    // No parameters, but a misspelt one should not pass unnoticed.
    if !req.query_string().is_empty() {
        let _: NoQuery = query_params(&req)?;
    }
    let tenant = caller.tenant_id();
    consistent(&state, &req, tenant, &LabProjection).await?;
    let client = state.read.client().await?;
    let (work_order, stages) = lab::history(&**client, *tenant.as_uuid(), work_order_id)
        .await
        .map_err(read_model_error)?
        .ok_or_else(work_order_not_found)?;
    audit_reads(
        &state,
        &caller,
        HISTORY,
        shown_patients(std::slice::from_ref(&work_order)),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(WorkOrderHistory { work_order, stages }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoQuery {}

async fn print_jobs(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let query: PrintJobsQuery = query_params(&req)?;
    let mut errors = Vec::new();
    let station_id = uuid_param(&mut errors, "station_id", query.station_id.as_deref());
    let job_state = match query.state.as_deref() {
        Some(s) if !PRINT_JOB_STATES.contains(&s) => {
            errors.push(FieldError::new(
                "query:state",
                "unknown_state",
                format!("one of {}", PRINT_JOB_STATES.join(", ")),
            ));
            None
        }
        other => other,
    };
    if !errors.is_empty() {
        return Err(invalid_query(errors));
    }
    let limit = page::limit(query.limit).map_err(page_error)?;
    let after = query
        .cursor
        .as_deref()
        .map(|text| Cursor::<(DateTime<Utc>, Uuid)>::decode(PRINT_JOBS_QUERY, text))
        .transpose()
        .map_err(page_error)?
        .map(|c| c.after);
    // The spool is the event store's table, written by the lab-print process rather than a
    // projection: there is no read model to wait for.
    let jobs = PrintSpool::new(state.read.pool.clone())
        .list(
            caller.tenant_id(),
            job_state,
            station_id,
            i64::from(limit) + 1,
            after,
        )
        .await
        .map_err(read_model_error)?;
    let views: Vec<PrintJobSummaryView> = jobs
        .into_iter()
        .map(|job| {
            let id = job.print_job_id;
            PrintJobSummaryView {
                id,
                work_order_id: job.work_order_id,
                number: job.work_order_number,
                station_id: job.station_id,
                stage: job.stage,
                format: job.format,
                protocol: job.protocol,
                address: job.address,
                next_attempt_at: (job.state == "queued").then_some(job.next_attempt_at),
                state: job.state,
                attempts: u32::try_from(job.attempts).unwrap_or(0),
                last_error: job.last_error,
                reprints: u32::try_from(job.reprints).unwrap_or(0),
                created_at: job.created_at,
                printed_at: job.printed_at,
                sha256: hex::encode(&job.sha256),
                size_bytes: u64::try_from(job.size_bytes).unwrap_or(0),
                href: format!("{API_PREFIX}/lab/print-jobs/{id}"),
            }
        })
        .collect();
    let page = Page::from_rows(PRINT_JOBS_QUERY, views, limit, |v| (v.created_at, v.id));
    Ok(HttpResponse::Ok().json(PrintJobPage {
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

const BAD_QUERY: &str = "An unknown or ill-typed query parameter (`invalid_query`, each parameter named as `query:<name>`: a bad uuid, an unknown stage or state), a bad `cursor` or `limit`, or a bad `X-Consistency-Token`";
const STALE: &str = "The read model has not applied the write of `X-Consistency-Token` yet (`stale_read`), or is unavailable";

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::GET,
            path: QUEUE,
            operation_id: "listLabQueue",
            summary: "Work orders waiting, per station and stage, the oldest first, with the time in their stage (query: `station_id`, `stage`, `limit` 1–200, `cursor`; without `stage`, shipped and cancelled jobs are left out); the patients whose initials are shown are recorded in the access audit",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "A page of the queue; an erased patient's jobs show `patient_erased: true` and no initials",
                    body: Some(schema::<LabQueuePage>),
                },
                problem(400, BAD_QUERY),
                problem(503, STALE),
            ],
            route: || web::route().to(queue),
        },
        Endpoint {
            method: Method::GET,
            path: HISTORY,
            operation_id: "getWorkOrderHistory",
            summary: "A work order as the queue shows it and every stage it entered, with the time spent in each (the read is audited)",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The work order and its stages, oldest first",
                    body: Some(schema::<WorkOrderHistory>),
                },
                problem(400, BAD_QUERY),
                problem(404, "Unknown work order (also another tenant's), or not in the read model yet"),
                problem(503, STALE),
            ],
            route: || web::route().to(history),
        },
        Endpoint {
            method: Method::GET,
            path: PRINT_JOBS,
            operation_id: "listPrintJobs",
            summary: "The print spool, newest first, without the tickets' documents (query: `state` — queued, printed, kept or parked, `station_id`, `limit` 1–200, `cursor`)",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "A page of tickets",
                    body: Some(schema::<PrintJobPage>),
                },
                problem(400, BAD_QUERY),
                problem(503, "The spool is unavailable"),
            ],
            route: || web::route().to(print_jobs),
        },
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bad_uuids_and_stages_are_named() {
        let mut errors = Vec::new();
        assert_eq!(uuid_param(&mut errors, "station_id", Some("nope")), None);
        assert_eq!(stage_param(&mut errors, Some("polishing")), None);
        assert_eq!(
            stage_param(&mut errors, Some("edging")),
            Some(LabStage::Edging)
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["query:station_id", "query:stage"]);
    }
}
