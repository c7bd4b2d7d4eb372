//! From lab request bodies to domain values, and from aggregates to views. Every value error
//! becomes a field error at the JSON pointer of its field, all collected at once; the rules
//! stay in the domain (`optical-lab`, `optical-optics`).
//!
//! Like ill-formed optics in a prescription (400 `invalid_refraction`), an ill-formed frame,
//! lensmeter reading or printer answers 400 with every bad field of the body; other invalid
//! values (names, ids, lens options) answer 422 `validation_failed`.
use super::dto::{
    AxisCheckView, CreateWorkOrder, EyeGeometryView, EyeInspectionView, GeometryView,
    InspectWorkOrder, InspectionResultsView, InspectionView, LabFrameBody, LabFrameView,
    LabLensBody, LabLensView, MeasuredEyeBody, PowerCheckView, PrintDestinationView, PrintJobLinks,
    PrintJobStateBody, PrintJobView, PrinterView, PrismCheckView, RemakeOfView, RemakeView,
    StageEntryView, StationBody, StationView, ToleranceKind, ToleranceView, WorkOrderView,
};
use crate::customers::{refraction_view, PrismView};
use crate::problem::{ApiError, FieldError};
use crate::validate::Fields;
use optical_app::{NewWorkOrder, SpooledTicket};
use optical_kernel::{PatientId, Personal, PrescriptionId};
use optical_lab::{
    FrameLabel, FrameSpec, LabStage, LensLabel, LensSpec, Notes, Printer, PrinterProtocol,
    StageEntry, Station, StationName, StationSettings, StationStages, TicketFormat, ValueError,
    WorkOrder, WorkOrderId,
};
use optical_optics::{
    Axis, BoxingMeasurements, Dioptres, EyeGeometry, EyeInspection, LensCoating, LensGeometry,
    LensIndex, MeasuredEye, MeasuredPrism, OpticsError, PowerCheck, Tint, Tolerance,
};

/// A lab value, or its error recorded under `field` with the domain's code.
fn lab<T>(f: &mut Fields, field: &str, result: Result<T, ValueError>) -> Option<T> {
    result.map_err(|e| f.reject(field, e.code(), &e)).ok()
}

fn lab_opt<T>(
    f: &mut Fields,
    field: &str,
    result: Option<Result<T, ValueError>>,
) -> Option<Option<T>> {
    match result {
        None => Some(None),
        Some(result) => lab(f, field, result).map(Some),
    }
}

fn optics<T>(f: &mut Fields, field: &str, result: Result<T, OpticsError>) -> Option<T> {
    result.map_err(|e| f.reject(field, e.code(), &e)).ok()
}

/// An ill-formed optical value, recorded among the errors that answer 400.
fn ill<T>(errors: &mut Vec<FieldError>, field: &str, result: Result<T, OpticsError>) -> Option<T> {
    result
        .map_err(|e| errors.push(FieldError::new(field, e.code(), &e)))
        .ok()
}

fn optics_errors(errors: &[optical_optics::FieldError]) -> impl Iterator<Item = FieldError> + '_ {
    errors
        .iter()
        .map(|e| FieldError::new(e.field.clone(), e.code, &e.reason))
}

/// The parsed value; or 400 `code` listing the ill-formed fields first and every other bad
/// field after them; or 422 with the other bad fields.
fn finish<T>(
    value: Option<T>,
    f: Fields,
    ill_formed: Vec<FieldError>,
    code: &str,
    detail: &str,
) -> Result<T, ApiError> {
    if !ill_formed.is_empty() {
        let mut errors = ill_formed;
        errors.extend(f.into_errors());
        return Err(ApiError::bad_request(code, detail).with_errors(errors));
    }
    match value {
        Some(value) if f.is_empty() => Ok(value),
        _ => Err(f.error()),
    }
}

fn printer(ill_formed: &mut Vec<FieldError>, b: &StationBody) -> Option<Printer> {
    let p = &b.printer;
    let formats = p.ticket_formats.iter().map(|&t| t.into()).collect();
    Printer::new(
        p.protocol.into(),
        p.address.as_str(),
        p.paper.into(),
        formats,
    )
    .map_err(|e| {
        let field = match e {
            ValueError::NoTicketFormats | ValueError::UnsupportedTicketFormat { .. } => {
                "/printer/ticket_formats"
            }
            ValueError::PaperNeedsPdf(_) => "/printer/paper",
            _ => "/printer/address",
        };
        ill_formed.push(FieldError::new(field, e.code(), &e));
    })
    .ok()
}

/// A station's settings. A printer that cannot work answers 400 `invalid_printer`.
pub fn station_settings(b: &StationBody) -> Result<StationSettings, ApiError> {
    let mut f = Fields::default();
    let mut ill_formed = Vec::new();
    let name = lab(&mut f, "/name", StationName::new(b.name.as_str()));
    let stages: Vec<LabStage> = b.stages.iter().map(|&s| s.into()).collect();
    let stages = StationStages::new(stages.iter().copied())
        .map_err(|e| {
            let at = match &e {
                ValueError::NotAProductionStage(stage) => stages
                    .iter()
                    .position(|s| s == stage)
                    .map_or_else(|| "/stages".to_owned(), |i| format!("/stages/{i}")),
                _ => "/stages".to_owned(),
            };
            f.reject(&at, e.code(), &e);
        })
        .ok();
    let printer = printer(&mut ill_formed, b);
    let settings = match (name, stages, printer) {
        (Some(name), Some(stages), Some(printer)) => Some(StationSettings {
            name,
            stages,
            printer,
        }),
        _ => None,
    };
    finish(
        settings,
        f,
        ill_formed,
        "invalid_printer",
        "the station's printer cannot work as configured; see `errors`",
    )
}

fn frame(
    f: &mut Fields,
    ill_formed: &mut Vec<FieldError>,
    at: &str,
    b: &LabFrameBody,
) -> Option<FrameSpec> {
    let boxing = BoxingMeasurements::parse(b.a_mm, b.b_mm, b.dbl_mm, b.ed_mm, at)
        .map_err(|errors| ill_formed.extend(optics_errors(&errors)))
        .ok();
    let brand = lab_opt(
        f,
        &format!("{at}/brand"),
        b.brand.as_deref().map(FrameLabel::new),
    );
    let model = lab_opt(
        f,
        &format!("{at}/model"),
        b.model.as_deref().map(FrameLabel::new),
    );
    Some(FrameSpec {
        boxing: boxing?,
        brand: brand?,
        model: model?,
    })
}

const INVALID_FRAME: &str = "invalid_frame";
const INVALID_FRAME_DETAIL: &str = "the frame's measurements are ill-formed; see `errors`";

/// The frame of `PUT …/frame`: its fields at the top of the body.
pub fn frame_spec(b: &LabFrameBody) -> Result<FrameSpec, ApiError> {
    let mut f = Fields::default();
    let mut ill_formed = Vec::new();
    let frame = frame(&mut f, &mut ill_formed, "", b);
    finish(frame, f, ill_formed, INVALID_FRAME, INVALID_FRAME_DETAIL)
}

fn lens(f: &mut Fields, b: &LabLensBody) -> Option<LensSpec> {
    let description = lab_opt(
        f,
        "/lens/description",
        b.description.as_deref().map(LensLabel::new),
    );
    let index = optics(f, "/lens/index", LensIndex::new(b.index));
    let tint = match b.tint.as_deref().map(Tint::new) {
        None => Some(None),
        Some(tint) => optics(f, "/lens/tint", tint).map(Some),
    };
    let coatings: Vec<LensCoating> = b.coatings.iter().map(|&c| c.into()).collect();
    let built = LensSpec::new(
        description?,
        b.material.into(),
        index?,
        b.design.into(),
        coatings.clone(),
        tint?,
    );
    built
        .map_err(|e| {
            // Point at the repetition, not the first mention.
            let at = match &e {
                ValueError::DuplicateCoating(code) => coatings
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.as_str() == *code)
                    .nth(1)
                    .map_or_else(
                        || "/lens/coatings".to_owned(),
                        |(i, _)| format!("/lens/coatings/{i}"),
                    ),
                _ => "/lens".to_owned(),
            };
            f.reject(&at, e.code(), &e);
        })
        .ok()
}

/// A walk-in job; its id is the caller's or a new one.
pub fn new_work_order(b: &CreateWorkOrder) -> Result<NewWorkOrder, ApiError> {
    let mut f = Fields::default();
    let mut ill_formed = Vec::new();
    let work_order_id = f.check_opt(
        "/work_order_id",
        b.work_order_id.as_deref().map(str::parse::<WorkOrderId>),
    );
    let patient_id = f.check("/patient_id", b.patient_id.parse::<PatientId>());
    let prescription_id = f.check(
        "/prescription_id",
        b.prescription_id.parse::<PrescriptionId>(),
    );
    let frame = match &b.frame {
        None => Some(None),
        Some(body) => frame(&mut f, &mut ill_formed, "/frame", body).map(Some),
    };
    let lens = lens(&mut f, &b.lens);
    let notes = lab_opt(&mut f, "/notes", b.notes.as_deref().map(Notes::new));
    let new = match (
        work_order_id,
        patient_id,
        prescription_id,
        frame,
        lens,
        notes,
    ) {
        (
            Some(id),
            Some(patient_id),
            Some(prescription_id),
            Some(frame),
            Some(lens),
            Some(notes),
        ) => Some(NewWorkOrder {
            work_order_id: id.unwrap_or_default(),
            patient_id,
            prescription_id,
            frame,
            lens,
            due_on: b.due_on,
            notes,
        }),
        _ => None,
    };
    finish(new, f, ill_formed, INVALID_FRAME, INVALID_FRAME_DETAIL)
}

fn measured_eye(
    errors: &mut Vec<FieldError>,
    at: &str,
    b: &MeasuredEyeBody,
) -> Option<MeasuredEye> {
    let field = |name: &str| format!("{at}/{name}");
    let sphere = ill(errors, &field("sphere"), Dioptres::from_f64(b.sphere));
    let cylinder = ill(errors, &field("cylinder"), Dioptres::from_f64(b.cylinder));
    let axis = match b.axis {
        None => Some(None),
        Some(axis) => ill(errors, &field("axis"), Axis::from_f64(axis)).map(Some),
    };
    let add = match b.add {
        None => Some(None),
        Some(add) => ill(errors, &field("add"), Dioptres::from_f64(add)).map(Some),
    };
    let prism = match &b.prism {
        None => Some(None),
        Some(p) => {
            ill(errors, &field("prism/amount"), Dioptres::from_f64(p.amount)).map(|amount| {
                Some(MeasuredPrism {
                    amount,
                    base: p.base.into(),
                })
            })
        }
    };
    Some(MeasuredEye {
        sphere: sphere?,
        cylinder: cylinder?,
        axis: axis?,
        add: add?,
        prism: prism?,
    })
}

/// The lensmeter readings; a lens left out stays `None`, for the work order to refuse.
pub fn measurements(
    b: &InspectWorkOrder,
) -> Result<(Option<MeasuredEye>, Option<MeasuredEye>), ApiError> {
    let mut errors = Vec::new();
    let mut eye = |at: &str, body: &Option<MeasuredEyeBody>| match body {
        None => Some(None),
        Some(body) => measured_eye(&mut errors, at, body).map(Some),
    };
    let right = eye("/right", &b.right);
    let left = eye("/left", &b.left);
    let value = right.zip(left);
    finish(
        value,
        Fields::default(),
        errors,
        "invalid_measurements",
        "some lensmeter readings are ill-formed; see `errors`",
    )
}

pub fn station_view(station: &Station) -> Option<StationView> {
    let (id, settings) = (station.station_id()?, station.settings()?);
    let printer = &settings.printer;
    Some(StationView {
        id: id.to_string(),
        name: settings.name.to_string(),
        stages: settings.stages.iter().map(Into::into).collect(),
        printer: PrinterView {
            protocol: printer.protocol().into(),
            address: printer.address().to_owned(),
            paper: printer.paper().into(),
            ticket_formats: printer.ticket_formats().iter().map(|&t| t.into()).collect(),
            sent_format: printer.sent_format().into(),
        },
    })
}

fn tolerance_view(tolerance: Tolerance) -> ToleranceView {
    let (kind, limit, percent) = match tolerance {
        Tolerance::Dioptres { limit } => (ToleranceKind::Dioptres, limit.to_f64(), None),
        Tolerance::Percent { percent, limit } => {
            (ToleranceKind::Percent, limit.to_f64(), Some(percent))
        }
        Tolerance::Degrees { limit } => (ToleranceKind::Degrees, f64::from(limit), None),
    };
    ToleranceView {
        kind,
        limit,
        percent,
        text: tolerance.to_string(),
    }
}

fn power_check(check: &PowerCheck) -> PowerCheckView {
    PowerCheckView {
        ordered: check.ordered.to_f64(),
        measured: check.measured.to_f64(),
        deviation: check.deviation.to_f64(),
        tolerance: tolerance_view(check.tolerance),
        passed: check.passed,
    }
}

fn eye_inspection(eye: &EyeInspection) -> EyeInspectionView {
    EyeInspectionView {
        sphere: power_check(&eye.sphere),
        cylinder: power_check(&eye.cylinder),
        axis: eye.axis.map(|a| AxisCheckView {
            ordered: a.ordered.degrees(),
            measured: a.measured.degrees(),
            deviation_degrees: a.deviation_degrees,
            tolerance: tolerance_view(a.tolerance),
            passed: a.passed,
        }),
        add: eye.add.as_ref().map(power_check),
        prism: PrismCheckView {
            ordered: eye.prism.ordered.map(|p| PrismView {
                amount: p.amount.to_f64(),
                base: p.base.into(),
            }),
            measured: eye.prism.measured.map(|p| PrismView {
                amount: p.amount.to_f64(),
                base: p.base.into(),
            }),
            deviation: eye.prism.deviation.to_f64(),
            tolerance: tolerance_view(eye.prism.tolerance),
            passed: eye.prism.passed,
        },
        passed: eye.passed,
    }
}

fn eye_geometry(eye: &EyeGeometry) -> EyeGeometryView {
    EyeGeometryView {
        decentration_mm: eye.decentration_mm.to_f64(),
        minimum_blank_mm: eye.minimum_blank_mm.to_f64(),
        induced_prism: eye.induced_prism.map(|p| PrismView {
            amount: p.amount.to_f64(),
            base: p.base.into(),
        }),
    }
}

fn geometry_view(geometry: &LensGeometry) -> GeometryView {
    GeometryView {
        frame_pd_mm: geometry.frame_pd_mm.to_f64(),
        right: eye_geometry(&geometry.right),
        left: eye_geometry(&geometry.left),
    }
}

/// Each move with how long its stage lasted: until the next move.
fn history(entries: &[StageEntry]) -> Vec<StageEntryView> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let left_at = entries.get(i + 1).map(|next| next.at);
            StageEntryView {
                from: entry.from.map(Into::into),
                to: entry.to.into(),
                station_id: entry.station_id.map(|s| s.to_string()),
                actor: entry.actor.to_string(),
                reason: entry.reason.as_ref().map(ToString::to_string),
                at: entry.at,
                left_at,
                time_in_stage_ms: left_at.map(|left| (left - entry.at).num_milliseconds()),
            }
        })
        .collect()
}

/// The URL of a work order, as `Location` and links name it.
pub fn work_order_url(id: &str) -> String {
    format!("{}/lab/work-orders/{id}", crate::routes::API_PREFIX)
}

pub fn work_order_view(work_order: &WorkOrder) -> Option<WorkOrderView> {
    let (Some(id), Some(number), Some(patient_id), Some(prescription_id)) = (
        work_order.work_order_id(),
        work_order.number(),
        work_order.patient_id(),
        work_order.prescription_id(),
    ) else {
        return None;
    };
    let (Some(stage), Some(lens), Some(created_at), Some(personal)) = (
        work_order.stage(),
        work_order.lens(),
        work_order.created_at(),
        work_order.job(),
    ) else {
        return None;
    };
    let job = match personal {
        Personal::Revealed { data, .. } => Some(data),
        Personal::Erased { .. } => None,
    };
    let inspection = work_order.inspection();
    Some(WorkOrderView {
        id: id.to_string(),
        number: number.to_string(),
        order_id: work_order.order_id().map(|o| o.to_string()),
        patient_id: patient_id.to_string(),
        prescription_id: prescription_id.to_string(),
        stage: stage.into(),
        station_id: work_order.station_id().map(|s| s.to_string()),
        held_from: work_order.held_from().map(Into::into),
        created_at,
        due_on: work_order.due_on(),
        notes: work_order.notes().map(ToString::to_string),
        frame: work_order.frame().map(|frame| LabFrameView {
            a_mm: frame.boxing.a().to_f64(),
            b_mm: frame.boxing.b().to_f64(),
            dbl_mm: frame.boxing.dbl().to_f64(),
            ed_mm: frame.boxing.ed().to_f64(),
            brand: frame.brand.as_ref().map(ToString::to_string),
            model: frame.model.as_ref().map(ToString::to_string),
        }),
        lens: LabLensView {
            description: lens.description().map(ToString::to_string),
            material: lens.material().into(),
            index: lens.index().value(),
            design: lens.design().into(),
            coatings: lens.coatings().iter().map(|&c| c.into()).collect(),
            tint: lens.tint().map(ToString::to_string),
            tolerance_table: lens.tolerance_table().into(),
        },
        erased: job.is_none(),
        patient_initials: job.map(|j| j.patient_initials.to_string()),
        prescription: job.map(|j| refraction_view(&j.refraction)),
        geometry: job.and_then(|j| j.geometry.as_ref()).map(geometry_view),
        inspection: inspection.map(|i| InspectionView {
            table: i.table.into(),
            passed: i.passed,
            inspected_by: i.inspected_by.to_string(),
            inspected_at: i.inspected_at,
            results: i.results.revealed().map(|r| InspectionResultsView {
                right: eye_inspection(&r.right),
                left: eye_inspection(&r.left),
            }),
        }),
        remake_offered: remake_offered(work_order),
        remake: work_order.remake().map(|r| RemakeView {
            work_order_id: r.remake_id.to_string(),
            reason: r.reason.into(),
            notes: r.notes.as_ref().map(ToString::to_string),
            requested_at: r.requested_at,
            url: work_order_url(&r.remake_id.to_string()),
        }),
        remake_of: work_order.remake_of().map(|r| RemakeOfView {
            work_order_id: r.work_order_id.to_string(),
            number: r.number.to_string(),
            reason: r.reason.into(),
            url: work_order_url(&r.work_order_id.to_string()),
        }),
        history: history(work_order.history()),
    })
}

/// A remake is offered when the latest inspection failed and the job may still be remade.
pub fn remake_offered(work_order: &WorkOrder) -> bool {
    work_order.remake_possible() && work_order.inspection().is_some_and(|i| !i.passed)
}

/// The URL of a print job.
pub fn print_job_url(id: &str) -> String {
    format!("{}/lab/print-jobs/{id}", crate::routes::API_PREFIX)
}

fn print_job_state(state: &str) -> Option<PrintJobStateBody> {
    Some(match state {
        "queued" => PrintJobStateBody::Queued,
        "printed" => PrintJobStateBody::Printed,
        "kept" => PrintJobStateBody::Kept,
        "parked" => PrintJobStateBody::Parked,
        _ => return None,
    })
}

/// A spooled ticket without its bytes; `None` for a row the spooler could not have written
/// (an unknown stage, format, protocol or state).
pub fn print_job_view(job: &SpooledTicket) -> Option<PrintJobView> {
    let stage: LabStage = job.stage.parse().ok()?;
    let format: TicketFormat = job.format.parse().ok()?;
    let destination = match (&job.protocol, &job.address) {
        (Some(protocol), Some(address)) => Some(PrintDestinationView {
            protocol: protocol.parse::<PrinterProtocol>().ok()?.into(),
            address: address.clone(),
        }),
        (None, None) => None,
        _ => return None,
    };
    let state = print_job_state(&job.state)?;
    let id = job.print_job_id.to_string();
    let url = print_job_url(&id);
    Some(PrintJobView {
        work_order_id: job.work_order_id.to_string(),
        number: job.work_order_number.clone(),
        station_id: job.station_id.to_string(),
        stage: stage.into(),
        format: format.into(),
        destination,
        state,
        attempts: u32::try_from(job.attempts).unwrap_or(0),
        next_attempt_at: (state == PrintJobStateBody::Queued).then_some(job.next_attempt_at),
        last_error: job.last_error.clone(),
        reprints: u32::try_from(job.reprints).unwrap_or(0),
        created_at: job.created_at,
        printed_at: job.printed_at,
        sha256: hex::encode(&job.sha256),
        size_bytes: job.document.len() as u64,
        links: PrintJobLinks {
            document: format!("{url}/document"),
            reprint: format!("{url}/reprint"),
        },
        id,
    })
}

/// The media type and file extension of a ticket's document. ESC/POS has no registered media
/// type: `application/vnd.escpos` names it in the vendor tree, so that a client can tell it
/// from a PDF without sniffing (a browser saves it, as `application/octet-stream` would be).
pub fn ticket_media(format: TicketFormat) -> (&'static str, &'static str) {
    match format {
        TicketFormat::Pdf => ("application/pdf", "pdf"),
        TicketFormat::Escpos => ("application/vnd.escpos", "escpos"),
    }
}
