//! Customers endpoints: patients (registration, details, consents, erasure, the audited read
//! and its access log), prescriptions (recorded from raw optics, voided, the audited read) and
//! their document scans (upload, signed expiring links, download through a link).
//!
//! Every read of patient data goes through `CustomersApp`'s audited reads with the caller as
//! reader. Command responses carry ids, versions and consistency tokens only: they are stored
//! in clear as idempotency records, which erasure cannot reach.
mod convert;
mod dto;

pub(crate) use convert::refraction_view;
pub(crate) use dto::{PrismBody, PrismView, RefractionView};

use crate::extract::{path_id, read_upload, IdempotencyKey, JsonBody};
use crate::problem::{ApiError, Problem};
use crate::respond::{
    app_error_at, run_command, run_command_with, Coded, CommandAccepted, Respond,
};
use crate::routes::{schema, Endpoint, Response, Upload, API_PREFIX};
use crate::security::{request_id, Caller};
use crate::signing::{LinkError, ScanLink};
use crate::validate::Fields;
use crate::ApiState;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use dto::{
    AccessLogView, DownloadLink, PatientDetailsBody, PatientView, PrescriptionView, RecordConsent,
    RecordPrescription, ScanAttached, VoidPrescription,
};
use optical_app::{AppError, CustomersRejection, NewPrescription, Reader};
use optical_customers::{
    ContactChannel, CustomersError, ScanContentType, ScanId, ScanSize, ValueError,
};
use optical_event_store::StoredResponse;
use optical_kernel::{PatientId, PrescriptionId};
use sha2::{Digest, Sha256};
use std::sync::Arc;

const READ: &str = "customers:read";
const WRITE: &str = "customers:write";
const ERASE: &str = "customers:erase";
const AUDIT: &str = "customers:audit";

const PATIENTS: &str = "/customers/patients";
const PATIENT: &str = "/customers/patients/{patient_id}";
const PRESCRIPTIONS: &str = "/customers/prescriptions";
const PRESCRIPTION: &str = "/customers/prescriptions/{prescription_id}";
const SCANS: &str = "/customers/prescriptions/{prescription_id}/scans";
const DOCUMENT: &str = "/documents/scans/{token}";

/// The documents a scan may be; each is a `ScanContentType`.
const SCAN_MEDIA_TYPES: &[&str] = &["image/jpeg", "image/png", "application/pdf"];

impl Coded for CustomersRejection {
    fn code(&self) -> &'static str {
        CustomersRejection::code(self)
    }

    fn status(&self) -> StatusCode {
        match self {
            CustomersRejection::ScanNotFound => StatusCode::NOT_FOUND,
            CustomersRejection::Customers(e) => match e {
                CustomersError::PatientNotFound | CustomersError::PrescriptionNotFound => {
                    StatusCode::NOT_FOUND
                }
                CustomersError::Invalid(ValueError::ScanTooLarge { .. }) => {
                    StatusCode::PAYLOAD_TOO_LARGE
                }
                CustomersError::Invalid(_)
                | CustomersError::DateOfBirthInFuture { .. }
                | CustomersError::DateOfBirthTooEarly { .. }
                | CustomersError::ContactMissingForPreference { .. }
                | CustomersError::ConsentInFuture { .. }
                | CustomersError::ExpiryNotAfterIssue { .. }
                | CustomersError::IssuedInFuture { .. }
                | CustomersError::PrescriptionExpired { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                CustomersError::PatientAlreadyRegistered
                | CustomersError::PatientErased
                | CustomersError::PrescriptionAlreadyRecorded
                | CustomersError::ScanAlreadyAttached(_)
                | CustomersError::DuplicateScan { .. }
                | CustomersError::TooManyScans { .. }
                | CustomersError::PrescriptionVoided => StatusCode::CONFLICT,
            },
        }
    }
}

/// The request field a rejection of the request's own values is about.
fn rejected_field(rejection: &CustomersRejection) -> Option<&'static str> {
    let CustomersRejection::Customers(error) = rejection else {
        return None;
    };
    match error {
        CustomersError::DateOfBirthInFuture { .. } | CustomersError::DateOfBirthTooEarly { .. } => {
            Some("/date_of_birth")
        }
        CustomersError::ContactMissingForPreference { channel } => Some(match channel {
            ContactChannel::Email => "/preferences/email",
            ContactChannel::Sms => "/preferences/sms",
            ContactChannel::Phone => "/preferences/phone",
            ContactChannel::Post => "/preferences/post",
        }),
        CustomersError::ExpiryNotAfterIssue { .. } => Some("/expires_on"),
        CustomersError::IssuedInFuture { .. } => Some("/issued_on"),
        _ => None,
    }
}

fn customers_error(error: AppError<CustomersRejection>) -> ApiError {
    app_error_at(error, rejected_field)
}

type Api = Result<HttpResponse, ApiError>;

/// The caller as a reader of patient data, for the access audit.
fn reader(caller: &Caller, method: &Method, path: &str) -> Reader {
    Reader {
        tenant_id: caller.tenant_id(),
        actor: caller.principal.subject.clone(),
        endpoint: format!("{method} {API_PREFIX}{path}"),
        request_id: Some(caller.request_id.clone()),
    }
}

/// Runs a patient command under the idempotency protocol.
async fn patient_command<F, Fut>(
    state: &ApiState,
    caller: &Caller,
    req: &HttpRequest,
    key: IdempotencyKey,
    raw: &[u8],
    success: StatusCode,
    run: F,
) -> Api
where
    F: FnOnce(Option<optical_app::Idempotency>) -> Fut,
    Fut: std::future::Future<Output = Result<optical_app::Receipt, AppError<CustomersRejection>>>,
{
    run_command(
        state,
        req,
        caller.tenant_id(),
        key,
        raw,
        success,
        |idem| async move { run(idem).await.map_err(customers_error) },
    )
    .await
}

async fn register_patient(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<PatientDetailsBody>,
) -> Api {
    let mut f = Fields::default();
    let Some(details) = convert::patient_details(&mut f, &body.value) else {
        return Err(f.error());
    };
    let patient_id = PatientId::new();
    let meta = caller.metadata(state.clock.now());
    let app = state.app.customers.clone();
    patient_command(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        StatusCode::CREATED,
        |idem| async move {
            app.register(patient_id, details, &meta, idem.as_ref())
                .await
        },
    )
    .await
}

async fn update_patient(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<PatientDetailsBody>,
) -> Api {
    let patient_id: PatientId = path_id(&req, "patient_id", "patient")?;
    let mut f = Fields::default();
    let Some(details) = convert::patient_details(&mut f, &body.value) else {
        return Err(f.error());
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.customers.clone();
    patient_command(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        StatusCode::OK,
        |idem| async move {
            app.update_details(patient_id, details, &meta, idem.as_ref())
                .await
        },
    )
    .await
}

async fn record_consent(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<RecordConsent>,
) -> Api {
    let patient_id: PatientId = path_id(&req, "patient_id", "patient")?;
    let b = &body.value;
    let (kind, granted, source) = (b.kind.into(), b.granted, b.source.into());
    let meta = caller.metadata(state.clock.now());
    let app = state.app.customers.clone();
    patient_command(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        StatusCode::OK,
        |idem| async move {
            app.record_consent(patient_id, kind, granted, source, &meta, idem.as_ref())
                .await
        },
    )
    .await
}

async fn erase_patient(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
) -> Api {
    let patient_id: PatientId = path_id(&req, "patient_id", "patient")?;
    let meta = caller.metadata(state.clock.now());
    let app = state.app.customers.clone();
    patient_command(
        &state,
        &caller,
        &req,
        key,
        &[],
        StatusCode::OK,
        |idem| async move { app.erase(patient_id, &meta, idem.as_ref()).await },
    )
    .await
}

fn patient_not_found() -> ApiError {
    ApiError::not_found("patient_not_found", "patient not found")
}

async fn get_patient(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let patient_id: PatientId = path_id(&req, "patient_id", "patient")?;
    let patient = state
        .app
        .customers
        .patient(&reader(&caller, &Method::GET, PATIENT), patient_id)
        .await
        .map_err(customers_error)?
        .ok_or_else(patient_not_found)?;
    Ok(HttpResponse::Ok().json(convert::patient_view(&patient)))
}

async fn access_log(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let patient_id: PatientId = path_id(&req, "patient_id", "patient")?;
    let customers = &state.app.customers;
    if !customers
        .has_patient(caller.tenant_id(), patient_id)
        .await
        .map_err(customers_error)?
    {
        return Err(patient_not_found());
    }
    let trail = customers
        .access_trail(caller.tenant_id(), patient_id)
        .await
        .map_err(customers_error)?;
    Ok(HttpResponse::Ok().json(AccessLogView {
        patient_id: patient_id.to_string(),
        entries: trail.iter().map(convert::access_view).collect(),
    }))
}

async fn record_prescription(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<RecordPrescription>,
) -> Api {
    let b = &body.value;
    let mut f = Fields::default();
    let patient_id = f.check("/patient_id", b.patient_id.parse::<PatientId>());
    let parsed = convert::prescription(&mut f, b, &state.prescription_limits)?;
    let Some(patient_id) = patient_id else {
        return Err(f.error());
    };
    let prescription_id = PrescriptionId::new();
    let new = NewPrescription {
        prescription_id,
        patient_id,
        details: optical_customers::PrescriptionDetails {
            refraction: parsed.refraction,
            prescriber: parsed.prescriber,
        },
        issued_on: b.issued_on,
        expires_on: b.expires_on,
    };
    let meta = caller.metadata(state.clock.now());
    let app = state.app.customers.clone();
    patient_command(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        StatusCode::CREATED,
        |idem| async move { app.record_prescription(new, &meta, idem.as_ref()).await },
    )
    .await
}

async fn void_prescription(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<VoidPrescription>,
) -> Api {
    let prescription_id: PrescriptionId = path_id(&req, "prescription_id", "prescription")?;
    let reason = body.value.reason.into();
    let meta = caller.metadata(state.clock.now());
    let app = state.app.customers.clone();
    patient_command(
        &state,
        &caller,
        &req,
        key,
        &body.raw,
        StatusCode::OK,
        |idem| async move {
            app.void_prescription(prescription_id, reason, &meta, idem.as_ref())
                .await
        },
    )
    .await
}

async fn get_prescription(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let prescription_id: PrescriptionId = path_id(&req, "prescription_id", "prescription")?;
    let prescription = state
        .app
        .customers
        .prescription(
            &reader(&caller, &Method::GET, PRESCRIPTION),
            prescription_id,
        )
        .await
        .map_err(customers_error)?
        .ok_or_else(|| ApiError::not_found("prescription_not_found", "prescription not found"))?;
    Ok(HttpResponse::Ok().json(convert::prescription_view(&prescription)))
}

/// The fingerprint of an upload: method, path, media type and bytes.
fn upload_hash(req: &HttpRequest, media: &str, bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [
        req.method().as_str().as_bytes(),
        req.path().as_bytes(),
        media.as_bytes(),
    ] {
        hasher.update(part);
        hasher.update([0]);
    }
    hasher.update(bytes);
    hasher.finalize().into()
}

async fn upload_scan(
    state: web::Data<ApiState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    payload: web::Payload,
) -> Api {
    let prescription_id: PrescriptionId = path_id(&req, "prescription_id", "prescription")?;
    let (media, bytes) = read_upload(&req, payload).await?;
    let content_type: ScanContentType = media.parse().map_err(|e: ValueError| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            e,
        )
    })?;
    let scan_id = ScanId::new();
    let size_bytes = bytes.len() as u64;
    let respond: Respond = Arc::new(move |receipt| StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        body: serde_json::to_value(ScanAttached {
            id: receipt.aggregate_id.clone(),
            scan_id: scan_id.to_string(),
            content_type: content_type.to_string(),
            size_bytes,
            version: receipt.version as u64,
            consistency_token: receipt.position.map(|p| p.to_string()),
        })
        .unwrap_or_default(),
    });
    let meta = caller.metadata(state.clock.now());
    let app = state.app.customers.clone();
    let hashed = bytes.clone();
    run_command_with(
        &state,
        caller.tenant_id(),
        key.0,
        || upload_hash(&req, &media, &hashed),
        respond,
        |idem| async move {
            app.attach_scan_as(
                prescription_id,
                scan_id,
                content_type,
                bytes,
                &meta,
                idem.as_ref(),
            )
            .await
            .map_err(customers_error)
        },
    )
    .await
}

async fn scan_download_url(state: web::Data<ApiState>, caller: Caller, req: HttpRequest) -> Api {
    let prescription_id: PrescriptionId = path_id(&req, "prescription_id", "prescription")?;
    let scan_id: ScanId = path_id(&req, "scan_id", "scan")?;
    state
        .app
        .customers
        .scan_metadata(caller.tenant_id(), prescription_id, scan_id)
        .await
        .map_err(customers_error)?;
    let ttl = chrono::Duration::from_std(state.document_links.ttl())
        .map_err(|e| ApiError::internal(format!("document link lifetime: {e}")))?;
    // Links count whole seconds.
    let expires_at = chrono::DateTime::from_timestamp((state.clock.now() + ttl).timestamp(), 0)
        .ok_or_else(|| ApiError::internal("document link expiry out of range"))?;
    let token = state.document_links.sign(&ScanLink {
        tenant_id: caller.tenant_id(),
        prescription_id,
        scan_id,
        actor: caller.principal.subject.clone(),
        expires_at,
    });
    let connection = req.connection_info();
    let url = format!(
        "{}://{}{API_PREFIX}/documents/scans/{token}",
        connection.scheme(),
        connection.host()
    );
    Ok(HttpResponse::Ok().json(DownloadLink { url, expires_at }))
}

/// The scan a signed link grants, read as the link's actor. No bearer token: the signature
/// is the authority, and the read is audited like any other.
async fn download_scan(state: web::Data<ApiState>, req: HttpRequest) -> Api {
    let token = req.match_info().get("token").unwrap_or_default();
    let link = state
        .document_links
        .verify(token, state.clock.now())
        .map_err(|error| match error {
            LinkError::Invalid => ApiError::new(
                StatusCode::FORBIDDEN,
                "invalid_link",
                "this download link is not valid (altered, or not issued here)",
            ),
            LinkError::Expired => ApiError::new(
                StatusCode::GONE,
                "link_expired",
                "this download link has expired; ask for a new one",
            ),
        })?;
    let gone = |error: AppError<CustomersRejection>| match error {
        AppError::Rejected(CustomersRejection::Customers(CustomersError::PatientErased)) => {
            ApiError::new(
                StatusCode::GONE,
                "patient_erased",
                "the patient was erased; their documents are gone",
            )
        }
        other => customers_error(other),
    };
    let customers = &state.app.customers;
    customers
        .scan_metadata(link.tenant_id, link.prescription_id, link.scan_id)
        .await
        .map_err(gone)?;
    let reader = Reader {
        tenant_id: link.tenant_id,
        actor: link.actor,
        endpoint: format!("GET {API_PREFIX}{DOCUMENT}"),
        request_id: request_id(&req),
    };
    let document = customers
        .scan(&reader, link.prescription_id, link.scan_id)
        .await
        .map_err(gone)?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(document.scan.content_type.as_str()),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .body(document.bytes))
}

fn problem(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<Problem>),
    }
}

fn accepted(status: u16, description: &'static str) -> Response {
    Response {
        status,
        description,
        body: Some(schema::<CommandAccepted>),
    }
}

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint {
            method: Method::POST,
            path: PATIENTS,
            operation_id: "registerPatient",
            summary: "Register a patient with demographics, contacts and contact preferences",
            tag: "customers",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<PatientDetailsBody>),
            upload: None,
            responses: vec![
                accepted(201, "Registered; `id` is the patient's"),
                problem(422, "Invalid values, e.g. a date of birth in the future or a preferred channel without its contact"),
            ],
            route: || web::route().to(register_patient),
        },
        Endpoint {
            method: Method::PUT,
            path: PATIENT,
            operation_id: "updatePatientDetails",
            summary: "Replace a patient's demographics, contacts and contact preferences",
            tag: "customers",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<PatientDetailsBody>),
            upload: None,
            responses: vec![
                accepted(200, "Updated (`consistency_token` is null when nothing changed)"),
                problem(404, "Unknown patient (also another tenant's)"),
                problem(409, "The patient was erased"),
            ],
            route: || web::route().to(update_patient),
        },
        Endpoint {
            method: Method::POST,
            path: "/customers/patients/{patient_id}/consents",
            operation_id: "recordConsent",
            summary: "Record that the patient granted or withdrew a consent now",
            tag: "customers",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<RecordConsent>),
            upload: None,
            responses: vec![
                accepted(200, "Recorded"),
                problem(404, "Unknown patient (also another tenant's)"),
                problem(409, "The patient was erased"),
            ],
            route: || web::route().to(record_consent),
        },
        Endpoint {
            method: Method::GET,
            path: PATIENT,
            operation_id: "getPatient",
            summary: "A patient's details and consents (the read is audited)",
            tag: "customers",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The patient; `erased: true` and no personal data once erased",
                    body: Some(schema::<PatientView>),
                },
                problem(404, "Unknown patient (also another tenant's)"),
            ],
            route: || web::route().to(get_patient),
        },
        Endpoint {
            method: Method::GET,
            path: "/customers/patients/{patient_id}/access-log",
            operation_id: "getPatientAccessLog",
            summary: "Who read the patient's data, when and through which endpoint",
            tag: "customers",
            scope: Some(AUDIT),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The audit trail, oldest first",
                    body: Some(schema::<AccessLogView>),
                },
                problem(404, "Unknown patient (also another tenant's)"),
            ],
            route: || web::route().to(access_log),
        },
        Endpoint {
            method: Method::DELETE,
            path: PATIENT,
            operation_id: "erasePatient",
            summary: "Erase a patient: their data key is destroyed, so every copy of their data becomes unreadable",
            tag: "customers",
            scope: Some(ERASE),
            idempotent: true,
            request: None,
            upload: None,
            responses: vec![
                accepted(200, "Erased"),
                problem(404, "Unknown patient (also another tenant's)"),
                problem(409, "Already erased"),
            ],
            route: || web::route().to(erase_patient),
        },
        Endpoint {
            method: Method::POST,
            path: PRESCRIPTIONS,
            operation_id: "recordPrescription",
            summary: "Record a patient's prescription (plus-cylinder input is stored transposed to minus form)",
            tag: "customers",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<RecordPrescription>),
            upload: None,
            responses: vec![
                accepted(201, "Recorded; `id` is the prescription's"),
                problem(400, "Malformed body, or ill-formed optics (`invalid_refraction`, each field named)"),
                problem(404, "Unknown patient (also another tenant's)"),
                problem(409, "The patient was erased"),
                problem(422, "Invalid values, e.g. an expiry not after the issue date"),
            ],
            route: || web::route().to(record_prescription),
        },
        Endpoint {
            method: Method::GET,
            path: PRESCRIPTION,
            operation_id: "getPrescription",
            summary: "A prescription in minus-cylinder form, with its scans (the read is audited)",
            tag: "customers",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The prescription; `erased: true` without optics or prescriber once the patient was erased",
                    body: Some(schema::<PrescriptionView>),
                },
                problem(404, "Unknown prescription (also another tenant's)"),
            ],
            route: || web::route().to(get_prescription),
        },
        Endpoint {
            method: Method::POST,
            path: "/customers/prescriptions/{prescription_id}/void",
            operation_id: "voidPrescription",
            summary: "Void a prescription: it can no longer be ordered against",
            tag: "customers",
            scope: Some(WRITE),
            idempotent: true,
            request: Some(schema::<VoidPrescription>),
            upload: None,
            responses: vec![
                accepted(200, "Voided"),
                problem(404, "Unknown prescription (also another tenant's)"),
                problem(409, "Already voided, or the patient was erased"),
            ],
            route: || web::route().to(void_prescription),
        },
        Endpoint {
            method: Method::POST,
            path: SCANS,
            operation_id: "uploadPrescriptionScan",
            summary: "Store a scan of the prescription document (the body is the JPEG, PNG or PDF)",
            tag: "customers",
            scope: Some(WRITE),
            idempotent: true,
            request: None,
            upload: Some(Upload {
                media_types: SCAN_MEDIA_TYPES,
                max_bytes: ScanSize::MAX_BYTES as usize,
            }),
            responses: vec![
                Response {
                    status: 201,
                    description: "Stored, sealed with the patient's key",
                    body: Some(schema::<ScanAttached>),
                },
                problem(404, "Unknown prescription (also another tenant's)"),
                problem(409, "The same document is attached already, too many scans, voided, or the patient was erased"),
                problem(422, "An empty document"),
            ],
            route: || web::route().to(upload_scan),
        },
        Endpoint {
            method: Method::POST,
            path: "/customers/prescriptions/{prescription_id}/scans/{scan_id}/download-url",
            operation_id: "createScanDownloadUrl",
            summary: "An expiring signed link to a scan, usable without a bearer token",
            tag: "customers",
            scope: Some(READ),
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The link and when it expires",
                    body: Some(schema::<DownloadLink>),
                },
                problem(404, "Unknown prescription or scan (also another tenant's)"),
                problem(409, "The patient was erased"),
            ],
            route: || web::route().to(scan_download_url),
        },
        Endpoint {
            method: Method::GET,
            path: DOCUMENT,
            operation_id: "downloadScan",
            summary: "The scan a signed link grants (no bearer token; the read is audited as the link's issuer)",
            tag: "customers",
            scope: None,
            idempotent: false,
            request: None,
            upload: None,
            responses: vec![
                Response {
                    status: 200,
                    description: "The document's bytes, as `image/jpeg`, `image/png` or `application/pdf`",
                    body: None,
                },
                problem(403, "The link was altered or not issued here (`invalid_link`)"),
                problem(404, "The scan no longer exists"),
                problem(410, "The link expired (`link_expired`) or the patient was erased (`patient_erased`)"),
            ],
            route: || web::route().to(download_scan),
        },
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_media_type_is_a_scan_content_type() {
        let parsed: Vec<ScanContentType> = SCAN_MEDIA_TYPES
            .iter()
            .map(|m| m.parse().unwrap())
            .collect();
        assert_eq!(parsed, ScanContentType::ALL);
    }
}
