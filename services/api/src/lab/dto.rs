//! Wire shapes of the lab endpoints. Request bodies carry primitive fields, parsed into domain
//! values by `convert` (which names every invalid field); views are what GETs answer.
//!
//! Command responses never carry personal data: they are stored in clear as idempotency
//! records, out of reach of erasure. Only the audited GETs show the job (initials,
//! prescription, geometry, inspection results).
use crate::catalog::{LensCoatingBody, LensDesignBody, LensMaterialBody};
use crate::customers::{PrismBody, PrismView, RefractionView};
use chrono::{DateTime, NaiveDate, Utc};
use optical_lab::{LabStage, PaperWidth, PrinterProtocol, RemakeReason, TicketFormat};
use optical_optics::ToleranceTable;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Declares a snake_case wire enum mirroring a domain vocabulary, with conversions both ways
/// (exhaustive: a value added to the domain fails the build here).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident => $domain:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $domain::$variant),+
                }
            }
        }

        impl From<$domain> for $name {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $name::$variant),+
                }
            }
        }
    };
}

wire_enum!(
    /// Where a work order is. Production runs `received → surfacing → coating → edging →
    /// mounting → final_inspection → completed → shipped`; the four between `received` and
    /// `final_inspection` may be skipped, none reversed. `on_hold` pauses, `cancelled` ends.
    LabStageBody => LabStage {
        Received, Surfacing, Coating, Edging, Mounting, FinalInspection, Completed, Shipped,
        OnHold, Cancelled,
    }
);
wire_enum!(
    /// Why a work order is made again.
    RemakeReasonBody => RemakeReason {
        Measurement, Power, Fit, NonAdapt, Breakage, LabError, DoctorError,
    }
);
wire_enum!(
    /// `escpos_tcp`: ESC/POS over raw TCP (port 9100) to a thermal printer; `ipp`: PDF by IPP.
    PrinterProtocolBody => PrinterProtocol { EscposTcp, Ipp }
);
wire_enum!(
    /// 58 or 80 mm thermal roll, or A6 sheets (PDF only).
    PaperWidthBody => PaperWidth { Roll58, Roll80, A6 }
);
wire_enum!(TicketFormatBody => TicketFormat { Escpos, Pdf });
wire_enum!(
    /// The ANSI Z80.1 table the lenses were inspected against (it follows the lens design).
    ToleranceTableBody => ToleranceTable { SingleVisionMultifocal, Progressive }
);

/// A station's printer. The protocol decides what is sent: ESC/POS to raw TCP printers, PDF to
/// IPP printers; `pdf` listed beside `escpos` is rendered too, for download.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrinterBody {
    pub protocol: PrinterProtocolBody,
    /// `host` or `host:port` for `escpos_tcp`; an `ipp://`, `ipps://` or `http(s)://` URL for
    /// `ipp`. At most 500 characters.
    pub address: String,
    pub paper: PaperWidthBody,
    /// At least one; must include the format the protocol sends.
    pub ticket_formats: Vec<TicketFormatBody>,
}

/// A station's settings: creates a station (the server makes the id, answered as `id`), or
/// replaces every setting of one. A malformed printer answers 400 `invalid_printer` naming the
/// field; other invalid values 422.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StationBody {
    /// 1–100 characters, e.g. `Edger 2`.
    pub name: String,
    /// The production stages the station serves; at least one.
    pub stages: Vec<LabStageBody>,
    pub printer: PrinterBody,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrinterView {
    pub protocol: PrinterProtocolBody,
    pub address: String,
    pub paper: PaperWidthBody,
    pub ticket_formats: Vec<TicketFormatBody>,
    /// The format sent to the printer.
    pub sent_format: TicketFormatBody,
}

/// A station as its aggregate decides on it now.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StationView {
    pub id: String,
    pub name: String,
    /// In production order.
    pub stages: Vec<LabStageBody>,
    pub printer: PrinterView,
}

/// The tenant's stations, in the order they were created.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StationListView {
    pub stations: Vec<StationView>,
}

/// A frame in the boxing system, in millimetres (0.1 mm steps): A 30–70, B 15–60, DBL 10–28,
/// ED 30–80 and at least A and B. Values outside answer 400 `invalid_frame` naming the field.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabFrameBody {
    /// A: width of the box around one lens.
    pub a_mm: f64,
    /// B: height of that box.
    pub b_mm: f64,
    /// DBL: distance between the lenses (bridge).
    pub dbl_mm: f64,
    /// ED: effective diameter.
    pub ed_mm: f64,
    /// 1–100 characters.
    pub brand: Option<String>,
    /// 1–100 characters.
    pub model: Option<String>,
}

/// The lenses to make.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabLensBody {
    /// The product as sold, for the bench and the ticket; 1–300 characters.
    pub description: Option<String>,
    pub material: LensMaterialBody,
    /// Refractive index; one of 1.50, 1.53, 1.56, 1.59, 1.60, 1.67, 1.74, 1.80, 1.90.
    pub index: f64,
    /// `bifocal` and `progressive` need an addition in the prescription (else 422
    /// `addition_required`).
    pub design: LensDesignBody,
    /// A set: each coating at most once.
    #[serde(default)]
    pub coatings: Vec<LensCoatingBody>,
    /// 1–64 characters, e.g. `grey 80%`.
    pub tint: Option<String>,
}

/// A walk-in job at the lab counter: the patient's initials and the prescription are copied
/// from Customers (the prescription must be the patient's, not voided and not expired).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkOrder {
    /// Choose the work order's id yourself (UUIDv7) or let the server make one.
    pub work_order_id: Option<String>,
    pub patient_id: String,
    pub prescription_id: String,
    /// Left out when the frame is not at hand yet; see `PUT …/frame`.
    pub frame: Option<LabFrameBody>,
    pub lens: LabLensBody,
    pub due_on: Option<NaiveDate>,
    /// 1–1000 characters.
    pub notes: Option<String>,
}

/// Moves a work order forward to a later production stage (`to` the current stage changes
/// nothing). Without `station_id`, the tenant's first station serving `to` is recorded.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveWorkOrder {
    pub to: LabStageBody,
    /// A station of the tenant that serves `to` (else 404 `station_not_found` or 422
    /// `station_does_not_serve_stage`).
    pub station_id: Option<String>,
}

/// Why a work order is held or cancelled.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageReason {
    /// 1–500 characters.
    pub reason: String,
}

/// Resumes a held work order: back to the stage it was held at, or forward from it (`to`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeWorkOrder {
    pub to: Option<LabStageBody>,
    pub station_id: Option<String>,
}

/// What the lensmeter read on one finished lens, in either cylinder form (plus-cylinder
/// readings are transposed before comparing).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasuredEyeBody {
    /// Dioptres, as read (any precision).
    pub sphere: f64,
    /// Dioptres; zero for a spherical reading.
    pub cylinder: f64,
    /// Whole degrees 1–180; needed with a nonzero cylinder when one was ordered.
    pub axis: Option<f64>,
    /// Needed when an addition was ordered.
    pub add: Option<f64>,
    /// The prism read at the prism reference point; none when left out.
    pub prism: Option<PrismBody>,
}

/// The lensmeter readings of both finished lenses, at final inspection. A lens left out
/// answers 422 `measurements_missing`; ill-formed numbers answer 400 `invalid_measurements`
/// naming the field (e.g. `/right/axis`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectWorkOrder {
    /// OD.
    pub right: Option<MeasuredEyeBody>,
    /// OS.
    pub left: Option<MeasuredEyeBody>,
}

/// Starts the job over as a new work order linked to this one, which stops (unless shipped).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemakeWorkOrder {
    pub reason: RemakeReasonBody,
    /// 1–1000 characters, for the bench.
    pub notes: Option<String>,
}

/// What an inspection answers: the command's receipt, and the verdict of the work order's
/// latest inspection read after it (`passed` is not personal data; the per-value results are,
/// and only the audited GET shows them).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct InspectionRecorded {
    /// The work order.
    pub id: String,
    pub version: u64,
    pub consistency_token: Option<String>,
    /// Whether both lenses are within tolerance; `completed` is now allowed.
    pub passed: bool,
    /// Whether a remake is offered (the inspection failed and the job was not remade yet).
    pub remake_offered: bool,
    /// The work order, with the per-value verdicts.
    pub work_order_url: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct LabFrameView {
    pub a_mm: f64,
    pub b_mm: f64,
    pub dbl_mm: f64,
    pub ed_mm: f64,
    pub brand: Option<String>,
    pub model: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct LabLensView {
    pub description: Option<String>,
    pub material: LensMaterialBody,
    pub index: f64,
    pub design: LensDesignBody,
    pub coatings: Vec<LensCoatingBody>,
    pub tint: Option<String>,
    /// The ANSI Z80.1 table the finished lenses are inspected against.
    pub tolerance_table: ToleranceTableBody,
}

/// One lens's geometry, as printed on the ticket.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct EyeGeometryView {
    /// Horizontal decentration in mm, positive inward (nasal).
    pub decentration_mm: f64,
    /// ED + 2 × |decentration| + 2 mm.
    pub minimum_blank_mm: f64,
    /// The prism the decentration induces (Prentice); none when it rounds to zero.
    pub induced_prism: Option<PrismView>,
}

/// The geometry of the pair in the frame, from the prescription's distance PD.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct GeometryView {
    /// A + DBL.
    pub frame_pd_mm: f64,
    pub right: EyeGeometryView,
    pub left: EyeGeometryView,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToleranceKind {
    /// A fixed ± amount in dioptres.
    Dioptres,
    /// A percentage of the ordered power, resolved to `limit` dioptres.
    Percent,
    /// A ± amount in degrees (axes).
    Degrees,
}

/// The tolerance that applied to one value.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ToleranceView {
    pub kind: ToleranceKind,
    /// The resolved ± limit: dioptres, or degrees for `degrees`.
    pub limit: f64,
    /// For `percent`: the percentage.
    pub percent: Option<u8>,
    /// As printed: `±0.13 D`, `±2 % (±0.135 D)`, `±7°`.
    pub text: String,
}

/// One power's verdict; `deviation` is measured − ordered.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PowerCheckView {
    pub ordered: f64,
    pub measured: f64,
    pub deviation: f64,
    pub tolerance: ToleranceView,
    pub passed: bool,
}

/// The axis verdict; the deviation is the circular difference (0–90°).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AxisCheckView {
    pub ordered: u16,
    pub measured: u16,
    pub deviation_degrees: u16,
    pub tolerance: ToleranceView,
    pub passed: bool,
}

/// The prism verdict, compared as vectors: `deviation` = |measured − ordered| in Δ.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrismCheckView {
    pub ordered: Option<PrismView>,
    pub measured: Option<PrismView>,
    pub deviation: f64,
    pub tolerance: ToleranceView,
    pub passed: bool,
}

/// One finished lens against its order.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct EyeInspectionView {
    pub sphere: PowerCheckView,
    pub cylinder: PowerCheckView,
    /// Present exactly when the ordered lens has a cylinder.
    pub axis: Option<AxisCheckView>,
    /// Present exactly when the ordered lens has an add.
    pub add: Option<PowerCheckView>,
    pub prism: PrismCheckView,
    pub passed: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct InspectionResultsView {
    pub right: EyeInspectionView,
    pub left: EyeInspectionView,
}

/// The latest final inspection. `results` is null once the patient was erased.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct InspectionView {
    pub table: ToleranceTableBody,
    pub passed: bool,
    pub inspected_by: String,
    pub inspected_at: DateTime<Utc>,
    pub results: Option<InspectionResultsView>,
}

/// One move of the work order. The stage `to` lasted from `at` until `left_at` (null for the
/// stage it is in now).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StageEntryView {
    /// Null for the creation.
    pub from: Option<LabStageBody>,
    pub to: LabStageBody,
    pub station_id: Option<String>,
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
    /// Milliseconds spent in `to`: `left_at − at`; null for the current stage.
    pub time_in_stage_ms: Option<i64>,
}

/// The remake that replaced this work order.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RemakeView {
    pub work_order_id: String,
    pub reason: RemakeReasonBody,
    pub notes: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub url: String,
}

/// The work order this one remakes.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RemakeOfView {
    pub work_order_id: String,
    pub number: String,
    pub reason: RemakeReasonBody,
    pub url: String,
}

/// A work order as its aggregate decides on it now (this read is audited as a read of the
/// patient's data). Once the patient was erased it is `erased: true` with
/// `patient_initials`, `prescription`, `geometry` and the inspection's `results` null.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct WorkOrderView {
    pub id: String,
    /// `WO-000042`.
    pub number: String,
    /// The order the lenses were sold on; null for a walk-in job.
    pub order_id: Option<String>,
    pub patient_id: String,
    pub prescription_id: String,
    pub stage: LabStageBody,
    /// The station the job is at, when the current stage was entered at one.
    pub station_id: Option<String>,
    /// The stage a held job returns to.
    pub held_from: Option<LabStageBody>,
    pub created_at: DateTime<Utc>,
    pub due_on: Option<NaiveDate>,
    pub notes: Option<String>,
    pub frame: Option<LabFrameView>,
    pub lens: LabLensView,
    pub erased: bool,
    /// `A. L.`: the only trace of the patient's name in the lab.
    pub patient_initials: Option<String>,
    /// The prescription to make, in minus-cylinder form.
    pub prescription: Option<RefractionView>,
    /// Null until the frame is known.
    pub geometry: Option<GeometryView>,
    pub inspection: Option<InspectionView>,
    /// The last inspection failed and the job may still be remade.
    pub remake_offered: bool,
    pub remake: Option<RemakeView>,
    pub remake_of: Option<RemakeOfView>,
    /// Every move, oldest first.
    pub history: Vec<StageEntryView>,
}

/// Where a spooled ticket is in the spooler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrintJobStateBody {
    /// Waiting for its printer (again, after a failed attempt or a reprint).
    Queued,
    /// The printer took it.
    Printed,
    /// A copy rendered for download only (a second format of the station); never sent.
    Kept,
    /// Given up on after too many failed attempts (`lab.print_job.failed`); reprint it once
    /// the printer is back.
    Parked,
}

/// The printer a ticket is sent to.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrintDestinationView {
    pub protocol: PrinterProtocolBody,
    /// `host:port` for `escpos_tcp`, the printer's URL for `ipp`.
    pub address: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrintJobLinks {
    /// The rendered ticket (`GET`; the read is audited).
    pub document: String,
    /// Queue it for printing again (`POST`).
    pub reprint: String,
}

/// A lab ticket in the spooler, without its bytes (see `links.document`). It carries no
/// personal data; the document shows the patient's initials.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrintJobView {
    pub id: String,
    pub work_order_id: String,
    /// The work order's number, `WO-000042`.
    pub number: String,
    /// The station whose stage change the ticket is for.
    pub station_id: String,
    /// The stage the work order entered.
    pub stage: LabStageBody,
    pub format: TicketFormatBody,
    /// The printer; null for a copy kept for download only.
    pub destination: Option<PrintDestinationView>,
    pub state: PrintJobStateBody,
    /// Failed or successful sends in the current round (reset by a reprint).
    pub attempts: u32,
    /// When the spooler tries next; null unless `queued`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, as the printer or the network said it.
    pub last_error: Option<String>,
    /// How many times it was queued again by hand.
    pub reprints: u32,
    pub created_at: DateTime<Utc>,
    pub printed_at: Option<DateTime<Utc>>,
    /// SHA-256 of the document, lowercase hex; checked before every send and download.
    pub sha256: String,
    pub size_bytes: u64,
    pub links: PrintJobLinks,
}

/// A work order's tickets, oldest first.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PrintJobListView {
    pub print_jobs: Vec<PrintJobView>,
}
