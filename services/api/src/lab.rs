//! Lab endpoints: stations (create, replace settings, read, list), work orders (walk-in jobs,
//! moves through the stages, hold, resume, cancel, frame measurement, final inspection,
//! remakes), the work order as decided now, its job in the DCS text format, and its printed
//! tickets (list, read, download, reprint).
//!
//! Owns: the lab's wire shapes and which status each refusal answers. The work order's job
//! (patient initials, prescription, geometry, inspection results) is the patient's data:
//! the GET and the DCS export record an access-audit row before answering it, and an erased
//! patient's job is shown as erased (`null`) or answered 410 by the export. A ticket's
//! document shows the patient's initials: its download is audited the same way, refused (410)
//! once the patient was erased, and never answered unless its bytes match their SHA-256.
//!
//! Must never: decide a lab rule (stage order, skipping, tolerances, remakes are the
//! `optical-lab` aggregates'; whether a station serves a stage is `LabApp`'s), or put personal
//! data into a command response: responses are stored in clear as idempotency records.
mod convert;
mod dto;

use crate::extract::{path_id, request_hash, IdempotencyKey, JsonBody};
use crate::problem::{ApiError, Problem};
use crate::respond::{
    accepted, app_error_at, run_command_stored, stored_response, Coded, CommandAccepted, Respond,
};
use crate::routes::{schema, Endpoint, Response, SchemaFn, API_PREFIX};
use crate::security::Caller;
use crate::validate::Fields;
use crate::ApiState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use dto::{
    CreateWorkOrder, InspectWorkOrder, InspectionRecorded, LabFrameBody, MoveWorkOrder,
    PrintJobListView, PrintJobView, RemakeWorkOrder, ResumeWorkOrder, StageReason, StationBody,
    StationListView, StationView, WorkOrderView,
};
use optical_app::{AppError, Idempotency, LabRejection, LabStep, Reader, Receipt, SpooledTicket};
use optical_event_store::StoredResponse;
use optical_kernel::Personal;
use optical_lab::dcs::DcsError;
use optical_lab::{
    LabStage, Notes, PrintJobError, PrintJobId, Reason, StationError, StationId, TicketFormat,
    WorkOrder, WorkOrderError, WorkOrderId,
};
use optical_optics::InspectionError;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::Arc;

const READ: &str = "lab:read";
const WRITE: &str = "lab:write";
const STATIONS_SCOPE: &str = "lab:stations";

const STATIONS: &str = "/lab/stations";
const STATION: &str = "/lab/stations/{station_id}";
const WORK_ORDERS: &str = "/lab/work-orders";
const WORK_ORDER: &str = "/lab/work-orders/{work_order_id}";
const DCS: &str = "/lab/work-orders/{work_order_id}/dcs";
const WORK_ORDER_PRINT_JOBS: &str = "/lab/work-orders/{work_order_id}/print-jobs";
const PRINT_JOB: &str = "/lab/print-jobs/{print_job_id}";
const PRINT_JOB_DOCUMENT: &str = "/lab/print-jobs/{print_job_id}/document";
const PRINT_JOB_REPRINT: &str = "/lab/print-jobs/{print_job_id}/reprint";

impl Coded for LabRejection {
    fn code(&self) -> &'static str {
        LabRejection::code(self)
    }

    /// Exhaustive, so that a refusal added to the domain fails the build here.
    fn status(&self) -> StatusCode {
        use WorkOrderError as W;
        match self {
            LabRejection::StationNotFound(_)
            | LabRejection::PatientNotFound
            | LabRejection::PrescriptionNotFound
            | LabRejection::OrderNotFound
            | LabRejection::Station(StationError::StationNotFound)
            | LabRejection::PrintJob(PrintJobError::PrintJobNotFound)
            | LabRejection::WorkOrder(W::WorkOrderNotFound) => StatusCode::NOT_FOUND,
            // The work order's (or station's) current state forbids it.
            LabRejection::Station(StationError::AlreadyCreated)
            | LabRejection::OrderWithoutLenses
            | LabRejection::WorkOrder(
                W::AlreadyCreated
                | W::PatientErased(_)
                | W::StageReversal { .. }
                | W::StageNotSkippable { .. }
                | W::OnHold
                | W::NotOnHold
                | W::Cancelled
                | W::Shipped
                | W::InspectionNotPassed
                | W::NotAtFinalInspection(_)
                | W::RemakeBeforeInspection
                | W::AlreadyRemade(_)
                | W::FrameTooLate(_),
            ) => StatusCode::CONFLICT,
            // What the request names or gives cannot be used: a station that does not serve
            // the stage, a prescription that cannot be made, a lens without its readings.
            LabRejection::StationDoesNotServe { .. }
            | LabRejection::PrescriptionVoided
            | LabRejection::PrescriptionOfAnotherPatient
            | LabRejection::PrescriptionExpired(_)
            | LabRejection::PatientErased(_)
            | LabRejection::Unusable(_)
            | LabRejection::WorkOrder(
                W::AdditionRequired { .. }
                | W::NotAProductionStage(_)
                | W::MeasurementsMissing(_)
                | W::Inspection { .. },
            ) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// The request field a refusal is about.
fn rejected_field(rejection: &LabRejection) -> Option<&'static str> {
    use WorkOrderError as W;
    match rejection {
        LabRejection::StationNotFound(_) | LabRejection::StationDoesNotServe { .. } => {
            Some("/station_id")
        }
        LabRejection::PatientNotFound | LabRejection::PatientErased(_) => Some("/patient_id"),
        LabRejection::PrescriptionNotFound
        | LabRejection::PrescriptionVoided
        | LabRejection::PrescriptionOfAnotherPatient
        | LabRejection::PrescriptionExpired(_) => Some("/prescription_id"),
        LabRejection::WorkOrder(W::AdditionRequired { .. }) => Some("/lens/design"),
        LabRejection::WorkOrder(W::NotAProductionStage(_)) => Some("/to"),
        LabRejection::WorkOrder(W::MeasurementsMissing(eye)) => Some(eye_pointer(eye, None)),
        LabRejection::WorkOrder(W::Inspection {
            eye,
            error: InspectionError::MissingMeasurement { value },
        }) => Some(eye_pointer(eye, Some(value))),
        _ => None,
    }
}

/// `/right`, `/left/axis`, …: static pointers for the values the domain names.
fn eye_pointer(eye: &str, value: Option<&str>) -> &'static str {
    match (eye, value) {
        ("right", None) => "/right",
        ("left", None) => "/left",
        ("right", Some("axis")) => "/right/axis",
        ("left", Some("axis")) => "/left/axis",
        ("right", Some("add")) => "/right/add",
        ("left", Some("add")) => "/left/add",
        ("right", Some(_)) => "/right",
        ("left", Some(_)) => "/left",
        _ => "/",
    }
}

fn lab_error(error: AppError<LabRejection>) -> ApiError {
    app_error_at(error, rejected_field)
}

type Api = Result<HttpResponse, ApiError>;

fn work_order_not_found() -> ApiError {
    ApiError::not_found("work_order_not_found", "work order not found")
}

fn station_not_found() -> ApiError {
    ApiError::not_found("station_not_found", "station not found")
}

fn print_job_not_found() -> ApiError {
    ApiError::not_found("print_job_not_found", "print job not found")
}

fn patient_erased(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "patient_erased",
        format!("the patient was erased; {what}"),
    )
}

/// Runs a lab command under the idempotency protocol, answering `success` with the receipt.
async fn command<F, Fut>(
    state: &ApiState,
    caller: &Caller,
    req: &HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    success: StatusCode,
    run: F,
) -> Result<(StoredResponse, bool), ApiError>
where
    F: FnOnce(Option<Idempotency>) -> Fut,
    Fut: Future<Output = Result<Receipt, AppError<LabRejection>>>,
{
    let respond: Respond = Arc::new(move |receipt: &Receipt| accepted(success, receipt));
    run_command_stored(
        state,
        caller.tenant_id(),
        key.0,
        || request_hash(req, raw),
        respond,
        |idem| async move { run(idem).await.map_err(lab_error) },
    )
    .await
}

/// The response of a command that created something: `Location` names it (also on replay,
/// from the stored answer's `id`).
fn created(stored: &StoredResponse, replayed: bool, url: impl Fn(&str) -> String) -> HttpResponse {
    let mut response = stored_response(stored, replayed);
    let id = stored.body.get("id").and_then(|id| id.as_str());
    if stored.status == StatusCode::CREATED.as_u16() {
        if let Some(location) = id.and_then(|id| HeaderValue::from_str(&url(id)).ok()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

fn station_url(id: &str) -> String {
    format!("{API_PREFIX}{STATIONS}/{id}")
}

async fn create_station(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<StationBody>,
) -> Api {
    let settings = convert::station_settings(&body.value)?;
    let station_id = StationId::new();
    let meta = caller.metadata(state.clock.now());
    let app = state.app.lab.clone();
    let (stored, replayed) = command(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        StatusCode::CREATED,
        |idem| async move {
            app.create_station(station_id, settings, &meta, idem.as_ref())
                .await
        },
    )
    .await?;
    Ok(created(&stored, replayed, station_url))
}

async fn change_station(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<StationBody>,
) -> Api {
    let station_id: StationId = path_id(&req, "station_id", "station")?;
    let settings = convert::station_settings(&body.value)?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.lab.clone();
    let (stored, replayed) = command(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        StatusCode::OK,
        |idem| async move {
            app.change_station(station_id, settings, &meta, idem.as_ref())
                .await
        },
    )
    .await?;
    Ok(stored_response(&stored, replayed))
}

async fn get_station(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let station_id: StationId = path_id(&req, "station_id", "station")?;
    let station = state
        .app
        .lab
        .station(caller.tenant_id(), station_id)
        .await
        .map_err(lab_error)?
        .ok_or_else(station_not_found)?;
    let view = convert::station_view(&station).ok_or_else(station_not_found)?;
    Ok(HttpResponse::Ok().json(view))
}

async fn list_stations(state: web::Data<ApiState>, caller: Caller) -> Api {
    let stations = state
        .app
        .lab
        .stations(caller.tenant_id())
        .await
        .map_err(lab_error)?;
    Ok(HttpResponse::Ok().json(StationListView {
        stations: stations.iter().filter_map(convert::station_view).collect(),
    }))
}

async fn create_work_order(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<CreateWorkOrder>,
) -> Api {
    let new = convert::new_work_order(&body.value)?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.lab.clone();
    let (stored, replayed) = command(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        StatusCode::CREATED,
        |idem| async move { app.create(new, &meta, idem.as_ref()).await },
    )
    .await?;
    Ok(created(&stored, replayed, convert::work_order_url))
}

/// The caller as a reader of the patient's data, for the access audit.
fn reader(caller: &Caller, path: &str) -> Reader {
    Reader {
        tenant_id: caller.tenant_id(),
        actor: caller.principal.subject.clone(),
        endpoint: format!("GET {API_PREFIX}{path}"),
        request_id: Some(caller.request_id.clone()),
    }
}

/// The work order read now, as the caller's tenant may see it.
async fn read_work_order(
    state: &ApiState,
    caller: &Caller,
    req: &HttpRequest,
) -> Result<WorkOrder, ApiError> {
    let work_order_id: WorkOrderId = path_id(req, "work_order_id", "work_order")?;
    state
        .app
        .lab
        .work_order(caller.tenant_id(), work_order_id)
        .await
        .map_err(lab_error)?
        .ok_or_else(work_order_not_found)
}

/// Records that `caller` read the work order's patient data, before it is answered.
async fn audit(
    state: &ApiState,
    caller: &Caller,
    path: &str,
    work_order: &WorkOrder,
) -> Result<(), ApiError> {
    let Some(patient_id) = work_order.patient_id() else {
        return Ok(());
    };
    state
        .app
        .customers
        .audit_read(&reader(caller, path), patient_id)
        .await
        .map_err(|e| ApiError::unavailable(format!("access audit: {e}")))
}

async fn get_work_order(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let work_order = read_work_order(&state, &caller, &req).await?;
    let view: WorkOrderView =
        convert::work_order_view(&work_order).ok_or_else(work_order_not_found)?;
    audit(&state, &caller, WORK_ORDER, &work_order).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(view))
}

/// The job as a DCS file. An erased patient's job answers 410: the prescription it would
/// carry is gone for good (as an erased patient's scans are).
async fn export_dcs(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let work_order = read_work_order(&state, &caller, &req).await?;
    let text = optical_lab::dcs::text(&work_order).map_err(|error| match error {
        DcsError::NoWorkOrder => work_order_not_found(),
        DcsError::PatientErased(_) => ApiError::new(
            StatusCode::GONE,
            "patient_erased",
            "the patient was erased; the job's prescription can no longer be exported",
        ),
    })?;
    let number = work_order.number().ok_or_else(work_order_not_found)?;
    audit(&state, &caller, DCS, &work_order).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{number}.dcs\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(text))
}

/// The print job of the path, as the caller's tenant may see it.
async fn read_print_job(
    state: &ApiState,
    caller: &Caller,
    req: &HttpRequest,
) -> Result<SpooledTicket, ApiError> {
    let print_job_id: PrintJobId = path_id(req, "print_job_id", "print_job")?;
    state
        .app
        .lab
        .print_job(caller.tenant_id(), print_job_id)
        .await
        .map_err(lab_error)?
        .ok_or_else(print_job_not_found)
}

fn print_job_view(job: &SpooledTicket) -> Result<PrintJobView, ApiError> {
    convert::print_job_view(job).ok_or_else(|| {
        ApiError::internal(format!(
            "print job {} has a stage, format, printer or state the lab does not know",
            job.print_job_id
        ))
    })
}

/// The work order a ticket was printed for.
async fn work_order_of(
    state: &ApiState,
    caller: &Caller,
    job: &SpooledTicket,
) -> Result<WorkOrder, ApiError> {
    state
        .app
        .lab
        .work_order(
            caller.tenant_id(),
            WorkOrderId::from_uuid(job.work_order_id),
        )
        .await
        .map_err(lab_error)?
        .ok_or_else(|| {
            ApiError::internal(format!(
                "print job {} is of an unknown work order",
                job.print_job_id
            ))
        })
}

fn is_erased(work_order: &WorkOrder) -> bool {
    matches!(work_order.job(), Some(Personal::Erased { .. }))
}

async fn list_print_jobs(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let work_order = read_work_order(&state, &caller, &req).await?;
    let work_order_id = work_order
        .work_order_id()
        .ok_or_else(work_order_not_found)?;
    let jobs = state
        .app
        .lab
        .print_jobs_of(caller.tenant_id(), work_order_id)
        .await
        .map_err(lab_error)?;
    let print_jobs = jobs
        .iter()
        .map(print_job_view)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(PrintJobListView { print_jobs }))
}

async fn get_print_job(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let job = read_print_job(&state, &caller, &req).await?;
    Ok(HttpResponse::Ok().json(print_job_view(&job)?))
}

/// The rendered ticket, as stored. Its bytes are checked against their SHA-256 first: a
/// ticket that changed since it was rendered is refused (500 `print_job_corrupted`), never
/// answered. It shows the patient's initials, so the read is audited, and an erased
/// patient's ticket answers 410.
async fn download_print_job(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let job = read_print_job(&state, &caller, &req).await?;
    // The view checks the row's stage and format, which name the file.
    let view = print_job_view(&job)?;
    let format: TicketFormat = view.format.into();
    let digest = Sha256::digest(&job.document);
    if digest.as_slice() != job.sha256.as_slice() {
        tracing::error!(
            print_job_id = %job.print_job_id,
            stored = %hex::encode(&job.sha256),
            actual = %hex::encode(digest),
            "a spooled ticket's bytes do not match their SHA-256"
        );
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "print_job_corrupted",
            "the ticket's stored document does not match its SHA-256 and is not answered",
        ));
    }
    let work_order = work_order_of(&state, &caller, &job).await?;
    if is_erased(&work_order) {
        return Err(patient_erased(
            "the ticket shows their initials and is no longer answered",
        ));
    }
    let number = work_order.number().ok_or_else(print_job_not_found)?;
    let stage = LabStage::from(view.stage);
    let (media_type, extension) = convert::ticket_media(format);
    audit(&state, &caller, PRINT_JOB_DOCUMENT, &work_order).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{number}-{stage}.{extension}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(job.document))
}

/// Queues a ticket for printing again now. Not under `Idempotency-Key`: the spooler's rows
/// are operational state, written by no event, and idempotency records are stored in the
/// transaction of a command's events. Asking twice queues it twice (`reprints` counts them).
async fn reprint(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let job = read_print_job(&state, &caller, &req).await?;
    // The spooler's `reprint` does not tell a kept copy from an unknown job.
    if job.protocol.is_none() {
        return Err(ApiError::conflict(
            "print_job_kept",
            "the ticket is a copy kept for download only; it has no printer to go to",
        ));
    }
    let work_order = work_order_of(&state, &caller, &job).await?;
    if is_erased(&work_order) {
        return Err(ApiError::conflict(
            "patient_erased",
            "the patient was erased; the ticket shows their initials and is not printed again",
        ));
    }
    let print_job_id = PrintJobId::from_uuid(job.print_job_id);
    let queued = state
        .app
        .lab
        .reprint(caller.tenant_id(), print_job_id)
        .await
        .map_err(lab_error)?;
    Ok(HttpResponse::Accepted().json(print_job_view(&queued)?))
}

/// Runs a step on the work order of the path; answers the receipt.
async fn run_step(
    state: &ApiState,
    caller: &Caller,
    req: &HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    step: LabStep,
) -> Result<(StoredResponse, bool), ApiError> {
    let work_order_id: WorkOrderId = path_id(req, "work_order_id", "work_order")?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.lab.clone();
    command(
        state,
        caller,
        req,
        key,
        raw,
        StatusCode::OK,
        |idem| async move { app.step(work_order_id, step, &meta, idem.as_ref()).await },
    )
    .await
}

async fn step(
    state: &ApiState,
    caller: &Caller,
    req: &HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    step: LabStep,
) -> Api {
    let (stored, replayed) = run_step(state, caller, req, key, raw, step).await?;
    Ok(stored_response(&stored, replayed))
}

fn station_of(f: &mut Fields, raw: Option<&str>) -> Option<Option<StationId>> {
    f.check_opt("/station_id", raw.map(str::parse::<StationId>))
}

async fn move_to_stage(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<MoveWorkOrder>,
) -> Api {
    let mut f = Fields::default();
    let Some(station_id) = station_of(&mut f, body.value.station_id.as_deref()) else {
        return Err(f.error());
    };
    let to = body.value.to.into();
    step(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        LabStep::MoveTo { to, station_id },
    )
    .await
}

fn reason(body: &StageReason) -> Result<Reason, ApiError> {
    let mut f = Fields::default();
    Reason::new(body.reason.as_str()).map_err(|e| {
        f.reject("/reason", e.code(), &e);
        f.error()
    })
}

async fn hold(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<StageReason>,
) -> Api {
    let reason = reason(&body.value)?;
    step(&state, &caller, &req, key, &body.raw, LabStep::Hold(reason)).await
}

async fn resume(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<ResumeWorkOrder>,
) -> Api {
    let mut f = Fields::default();
    let Some(station_id) = station_of(&mut f, body.value.station_id.as_deref()) else {
        return Err(f.error());
    };
    let to = body.value.to.map(Into::into);
    step(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        LabStep::Resume { to, station_id },
    )
    .await
}

async fn cancel(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<StageReason>,
) -> Api {
    let reason = reason(&body.value)?;
    step(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        LabStep::Cancel(reason),
    )
    .await
}

async fn measure_frame(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<LabFrameBody>,
) -> Api {
    let frame = convert::frame_spec(&body.value)?;
    step(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        LabStep::MeasureFrame(frame),
    )
    .await
}

/// Records the readings, then answers the verdict of the work order's latest inspection, read
/// after the command (the stored idempotency record holds the receipt only).
async fn inspect(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<InspectWorkOrder>,
) -> Api {
    let (right, left) = convert::measurements(&body.value)?;
    let (stored, replayed) = run_step(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        LabStep::Inspect { right, left },
    )
    .await?;
    let receipt: CommandAccepted = serde_json::from_value(stored.body.clone())
        .map_err(|e| ApiError::internal(format!("stored inspection response: {e}")))?;
    let work_order = read_work_order(&state, &caller, &req).await?;
    let inspection = work_order.inspection().ok_or_else(|| {
        ApiError::internal("the work order has no inspection after one was recorded")
    })?;
    let answer = InspectionRecorded {
        work_order_url: convert::work_order_url(&receipt.id),
        id: receipt.id,
        version: receipt.version,
        consistency_token: receipt.consistency_token,
        passed: inspection.passed,
        remake_offered: convert::remake_offered(&work_order),
    };
    let mut response = HttpResponse::Ok();
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(response.json(answer))
}

async fn remake(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<RemakeWorkOrder>,
) -> Api {
    let work_order_id: WorkOrderId = path_id(&req, "work_order_id", "work_order")?;
    let mut f = Fields::default();
    let Some(notes) = f.check_opt("/notes", body.value.notes.as_deref().map(Notes::new)) else {
        return Err(f.error());
    };
    let reason = body.value.reason.into();
    let meta = caller.metadata(state.clock.now());
    let app = state.app.lab.clone();
    let (stored, replayed) = command(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        StatusCode::CREATED,
        |idem| async move {
            app.remake(work_order_id, reason, notes, &meta, idem.as_ref())
                .await
        },
    )
    .await?;
    Ok(created(&stored, replayed, convert::work_order_url))
}

fn problem(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<Problem>),
    }
}

fn ok(status: u16, description: &'static str, body: SchemaFn) -> Response {
    Response {
        status,
        description,
        body: Some(body),
    }
}

const NOT_FOUND: &str = "Unknown work order (also another tenant's)";
const PRINT_JOB_NOT_FOUND: &str = "Unknown print job (also another tenant's)";

/// A step on a work order: `POST` (or `PUT`) with a body, answering the receipt.
fn step_endpoint(
    method: Method,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    request: SchemaFn,
    mut problems: Vec<Response>,
    route: fn() -> actix_web::Route,
) -> Endpoint {
    let mut responses = vec![
        ok(
            200,
            "Done (`consistency_token` is null when it had happened already)",
            schema::<CommandAccepted>,
        ),
        problem(404, NOT_FOUND),
    ];
    responses.append(&mut problems);
    Endpoint {
        method,
        path,
        operation_id,
        summary,
        tag: "lab",
        scope: Some(WRITE),
        idempotent: true,
        request: Some(request),
        upload: None,
        responses,
        route,
    }
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::POST,
            path: STATIONS,
            operation_id: "createLabStation",
            summary: "Create a lab station: its name, the stages it serves and its printer",
            tag: "lab",
            scope: Some(STATIONS_SCOPE),
            idempotent: true,
            request: Some(schema::<StationBody>),
            upload: None,
            responses: vec![
                ok(201, "Created; `id` is the station's, `Location` its URL", schema::<CommandAccepted>),
                problem(400, "Malformed body, or a printer that cannot work as configured (`invalid_printer`, each field named, e.g. `/printer/address`)"),
                problem(422, "Invalid values, e.g. no stages, a stage that is not a production stage, a name too long"),
            ],
            route: || web::route().to(create_station),
        },
        Endpoint {
            method: Method::PUT,
            path: STATION,
            operation_id: "changeLabStation",
            summary: "Replace a station's settings",
            tag: "lab",
            scope: Some(STATIONS_SCOPE),
            idempotent: true,
            request: Some(schema::<StationBody>),
            upload: None,
            responses: vec![
                ok(200, "Replaced (`consistency_token` is null when nothing changed)", schema::<CommandAccepted>),
                problem(400, "Malformed body, or a printer that cannot work as configured (`invalid_printer`)"),
                problem(404, "Unknown station (also another tenant's)"),
                problem(422, "Invalid values, e.g. no stages"),
            ],
            route: || web::route().to(change_station),
        },
        Endpoint {
            method: Method::GET,
            path: STATION,
            operation_id: "getLabStation",
            summary: "A station with its stages and printer",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                ok(200, "The station", schema::<StationView>),
                problem(404, "Unknown station (also another tenant's)"),
            ],
            route: || web::route().to(get_station),
        },
        Endpoint {
            method: Method::GET,
            path: STATIONS,
            operation_id: "listLabStations",
            summary: "The tenant's stations, in the order they were created",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![ok(200, "The stations", schema::<StationListView>)],
            route: || web::route().to(list_stations),
        },
        Endpoint {
            method: Method::POST,
            path: WORK_ORDERS,
            operation_id: "createWorkOrder",
            summary: "A walk-in job at the lab counter: a patient's prescription, a frame and lenses",
            tag: "lab",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<CreateWorkOrder>),
            upload: None,
            responses: vec![
                ok(201, "Created at `received`; `id` is the work order's, `Location` its URL", schema::<CommandAccepted>),
                problem(400, "Malformed body, or an ill-formed frame (`invalid_frame`, each field named, e.g. `/frame/a_mm`)"),
                problem(404, "Unknown patient or prescription (also another tenant's)"),
                problem(409, "The work order id is taken by another job (`work_order_already_created`)"),
                problem(422, "Cannot be made: e.g. `prescription_expired`, `prescription_voided`, `patient_erased`, `addition_required`, or invalid values"),
            ],
            route: || web::route().to(create_work_order),
        },
        Endpoint {
            method: Method::GET,
            path: WORK_ORDER,
            operation_id: "getWorkOrder",
            summary: "A work order with its job, stages, geometry, latest inspection and remakes (the read is audited)",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                ok(200, "The work order; `erased: true` with the job's personal parts null once the patient was erased", schema::<WorkOrderView>),
                problem(404, NOT_FOUND),
            ],
            route: || web::route().to(get_work_order),
        },
        Endpoint {
            method: Method::GET,
            path: WORK_ORDER_PRINT_JOBS,
            operation_id: "listWorkOrderPrintJobs",
            summary: "The tickets printed (or kept) for a work order's stage changes, oldest first, without their documents",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                ok(200, "The tickets", schema::<PrintJobListView>),
                problem(404, NOT_FOUND),
            ],
            route: || web::route().to(list_print_jobs),
        },
        Endpoint {
            method: Method::GET,
            path: PRINT_JOB,
            operation_id: "getPrintJob",
            summary: "A ticket in the spooler: where it goes, whether it printed, its checksum",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                ok(200, "The ticket, without its document", schema::<PrintJobView>),
                problem(404, PRINT_JOB_NOT_FOUND),
            ],
            route: || web::route().to(get_print_job),
        },
        Endpoint {
            method: Method::GET,
            path: PRINT_JOB_DOCUMENT,
            operation_id: "downloadPrintJob",
            summary: "A ticket's rendered document, as a download (it shows the patient's initials: the read is audited)",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The bytes as rendered and checked against their SHA-256: `application/pdf` for `pdf`, `application/vnd.escpos` (ESC/POS has no registered media type) for `escpos`, as `attachment; filename=\"WO-000042-edging.pdf\"`",
                    body: None,
                },
                problem(404, PRINT_JOB_NOT_FOUND),
                problem(410, "The patient was erased; the ticket shows their initials (`patient_erased`)"),
                problem(500, "The stored document does not match its SHA-256 (`print_job_corrupted`); nothing is answered"),
            ],
            route: || web::route().to(download_print_job),
        },
        Endpoint {
            method: Method::POST,
            path: PRINT_JOB_REPRINT,
            operation_id: "reprintPrintJob",
            summary: "Queue a ticket for printing again now (lost, or parked while its printer was away); attempts start over. Not under `Idempotency-Key`: asking twice prints twice",
            tag: "lab",
            scope: Some(WRITE),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                ok(202, "Queued: `state` is `queued`, `attempts` 0, `reprints` one more", schema::<PrintJobView>),
                problem(404, PRINT_JOB_NOT_FOUND),
                problem(409, "A copy kept for download only (`print_job_kept`), or the patient was erased (`patient_erased`)"),
            ],
            route: || web::route().to(reprint),
        },
        Endpoint {
            method: Method::GET,
            path: DCS,
            operation_id: "exportWorkOrderDcs",
            summary: "The job in the Vision Council DCS (VCA) format, as a download (the read is audited)",
            tag: "lab",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "`text/plain; charset=utf-8`: `LABEL=right;left` records ended by CR LF, as `attachment; filename=\"WO-000042.dcs\"`",
                    body: None,
                },
                problem(404, NOT_FOUND),
                problem(410, "The patient was erased; the prescription is gone (`patient_erased`)"),
            ],
            route: || web::route().to(export_dcs),
        },
        step_endpoint(
            Method::POST,
            "/lab/work-orders/{work_order_id}/stage",
            "moveWorkOrder",
            "Move a work order forward to a later stage, at a station that serves it",
            schema::<MoveWorkOrder>,
            vec![
                problem(409, "Not allowed now: `stage_reversal`, `stage_not_skippable`, `work_order_on_hold`, `work_order_cancelled`, `work_order_shipped`, `inspection_not_passed`"),
                problem(422, "`station_does_not_serve_stage`, or `not_a_production_stage` (use hold, resume or cancel)"),
            ],
            || web::route().to(move_to_stage),
        ),
        step_endpoint(
            Method::POST,
            "/lab/work-orders/{work_order_id}/hold",
            "holdWorkOrder",
            "Put a work order on hold, with a reason",
            schema::<StageReason>,
            vec![problem(409, "Cancelled or shipped")],
            || web::route().to(hold),
        ),
        step_endpoint(
            Method::POST,
            "/lab/work-orders/{work_order_id}/resume",
            "resumeWorkOrder",
            "Resume a held work order at the stage it was held at, or a later one",
            schema::<ResumeWorkOrder>,
            vec![
                problem(409, "Not on hold (`work_order_not_on_hold`), cancelled, or a move not allowed from the held stage"),
                problem(422, "`station_does_not_serve_stage`"),
            ],
            || web::route().to(resume),
        ),
        step_endpoint(
            Method::POST,
            "/lab/work-orders/{work_order_id}/cancel",
            "cancelWorkOrder",
            "Cancel a work order that was not shipped",
            schema::<StageReason>,
            vec![problem(409, "Shipped")],
            || web::route().to(cancel),
        ),
        step_endpoint(
            Method::PUT,
            "/lab/work-orders/{work_order_id}/frame",
            "measureWorkOrderFrame",
            "Record or correct the frame before edging; the geometry follows",
            schema::<LabFrameBody>,
            vec![
                problem(400, "Malformed body, or ill-formed measurements (`invalid_frame`, each field named)"),
                problem(409, "Too late (`frame_too_late`, from edging on), cancelled, or the patient was erased"),
            ],
            || web::route().to(measure_frame),
        ),
        Endpoint {
            method: Method::POST,
            path: "/lab/work-orders/{work_order_id}/inspection",
            operation_id: "inspectWorkOrder",
            summary: "Record the lensmeter readings of both lenses at final inspection (ANSI Z80.1)",
            tag: "lab",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<InspectWorkOrder>),
            upload: None,
            responses: vec![
                ok(200, "Recorded, with the verdict of the latest inspection", schema::<InspectionRecorded>),
                problem(400, "Malformed body, or ill-formed readings (`invalid_measurements`, each field named, e.g. `/right/axis`)"),
                problem(404, NOT_FOUND),
                problem(409, "Not at final inspection (`not_at_final_inspection`), cancelled, or the patient was erased"),
                problem(422, "A lens or a value the order needs was not read (`measurements_missing`, `missing_measurement`)"),
            ],
            route: || web::route().to(inspect),
        },
        Endpoint {
            method: Method::POST,
            path: "/lab/work-orders/{work_order_id}/remake",
            operation_id: "remakeWorkOrder",
            summary: "Start the job over as a new work order linked to this one, which stops",
            tag: "lab",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<RemakeWorkOrder>),
            upload: None,
            responses: vec![
                ok(201, "The new work order: `id` is its id, `Location` its URL (asking again for the same reason answers the same one)", schema::<CommandAccepted>),
                problem(404, NOT_FOUND),
                problem(409, "Not inspected yet (`remake_before_inspection`), remade already for another reason (`already_remade`), or the patient was erased"),
            ],
            route: || web::route().to(remake),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_eye_value_the_domain_names_has_a_pointer() {
        for eye in ["right", "left"] {
            assert_eq!(eye_pointer(eye, None), format!("/{eye}"));
            for value in ["axis", "add"] {
                assert_eq!(eye_pointer(eye, Some(value)), format!("/{eye}/{value}"));
            }
        }
    }
}
