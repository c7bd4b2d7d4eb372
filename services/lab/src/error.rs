use crate::values::{LabStage, RemakeReason};
use optical_kernel::PatientId;
use optical_optics::InspectionError;
use thiserror::Error;

/// A value that cannot exist: raised when a value object is constructed or deserialised.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum ValueError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters, got {actual}")]
    TooLong {
        field: &'static str,
        max: usize,
        actual: usize,
    },
    #[error("`{value}` is not a known {field}")]
    UnknownCode { field: &'static str, value: String },
    #[error("work order numbers start at 1")]
    WorkOrderNumberZero,
    #[error("`{0}` is not a work order number (WO-000042)")]
    InvalidWorkOrderNumber(String),
    #[error("`{0}` is not a list of initials (J. D.)")]
    InvalidInitials(String),
    #[error("coating `{0}` is listed twice")]
    DuplicateCoating(&'static str),
    #[error("a station must serve at least one stage")]
    NoStages,
    #[error("a station cannot serve `{0}`: it is not a production stage")]
    NotAProductionStage(LabStage),
    #[error("a printer needs at least one ticket format")]
    NoTicketFormats,
    #[error("{protocol} printers cannot print {format} tickets")]
    UnsupportedTicketFormat {
        protocol: &'static str,
        format: &'static str,
    },
    #[error("{0} paper only takes PDF tickets")]
    PaperNeedsPdf(&'static str),
    #[error("printer address `{address}` is invalid: {reason}")]
    InvalidPrinterAddress {
        address: String,
        reason: &'static str,
    },
}

impl ValueError {
    /// A stable, snake_case code for API error bodies; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            ValueError::Empty { .. } => "empty",
            ValueError::TooLong { .. } => "too_long",
            ValueError::UnknownCode { .. } => "unknown_code",
            ValueError::WorkOrderNumberZero | ValueError::InvalidWorkOrderNumber(_) => {
                "invalid_work_order_number"
            }
            ValueError::InvalidInitials(_) => "invalid_initials",
            ValueError::DuplicateCoating(_) => "duplicate_coating",
            ValueError::NoStages => "no_stages",
            ValueError::NotAProductionStage(_) => "not_a_production_stage",
            ValueError::NoTicketFormats => "no_ticket_formats",
            ValueError::UnsupportedTicketFormat { .. } => "unsupported_ticket_format",
            ValueError::PaperNeedsPdf(_) => "paper_needs_pdf",
            ValueError::InvalidPrinterAddress { .. } => "invalid_printer_address",
        }
    }
}

/// Why a work order command was refused.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum WorkOrderError {
    /// Also answered for another tenant's work order, so that ids do not leak across tenants.
    #[error("work order not found")]
    WorkOrderNotFound,
    #[error("the work order already exists, with other contents")]
    AlreadyCreated,
    #[error("the patient {0} was erased; the job can no longer be made or read")]
    PatientErased(PatientId),
    #[error("{design} lenses need an addition in the prescription")]
    AdditionRequired { design: &'static str },
    #[error("a work order cannot move from `{from}` to `{to}`: stages never go back (a remake starts over)")]
    StageReversal { from: LabStage, to: LabStage },
    #[error("a work order cannot skip `{skipped}` on its way to `{to}`")]
    StageNotSkippable { skipped: LabStage, to: LabStage },
    #[error("use hold, resume or cancel to move a work order to or from `{0}`")]
    NotAProductionStage(LabStage),
    #[error("the work order is on hold; resume it first")]
    OnHold,
    #[error("the work order is not on hold")]
    NotOnHold,
    #[error("the work order was cancelled; nothing can change it any more")]
    Cancelled,
    #[error("the work order was shipped; only a remake can follow")]
    Shipped,
    #[error("the work order can only be completed after it passed final inspection")]
    InspectionNotPassed,
    #[error("measurements can only be recorded at final inspection, the work order is at `{0}`")]
    NotAtFinalInspection(LabStage),
    #[error("no measurements were recorded for the {0} lens")]
    MeasurementsMissing(&'static str),
    #[error("{eye} lens: {error}")]
    Inspection {
        eye: &'static str,
        error: InspectionError,
    },
    #[error("only a work order that reached final inspection can be remade")]
    RemakeBeforeInspection,
    #[error("the work order was already remade ({0}); remake the remake instead")]
    AlreadyRemade(RemakeReason),
    #[error("the frame can only be measured before edging, the work order is at `{0}`")]
    FrameTooLate(LabStage),
}

impl WorkOrderError {
    /// A stable, snake_case code for API error bodies; messages may change, codes do not.
    pub fn code(&self) -> &'static str {
        match self {
            WorkOrderError::WorkOrderNotFound => "work_order_not_found",
            WorkOrderError::AlreadyCreated => "work_order_already_created",
            WorkOrderError::PatientErased(_) => "patient_erased",
            WorkOrderError::AdditionRequired { .. } => "addition_required",
            WorkOrderError::StageReversal { .. } => "stage_reversal",
            WorkOrderError::StageNotSkippable { .. } => "stage_not_skippable",
            WorkOrderError::NotAProductionStage(_) => "not_a_production_stage",
            WorkOrderError::OnHold => "work_order_on_hold",
            WorkOrderError::NotOnHold => "work_order_not_on_hold",
            WorkOrderError::Cancelled => "work_order_cancelled",
            WorkOrderError::Shipped => "work_order_shipped",
            WorkOrderError::InspectionNotPassed => "inspection_not_passed",
            WorkOrderError::NotAtFinalInspection(_) => "not_at_final_inspection",
            WorkOrderError::MeasurementsMissing(_) => "measurements_missing",
            WorkOrderError::Inspection { error, .. } => error.code(),
            WorkOrderError::RemakeBeforeInspection => "remake_before_inspection",
            WorkOrderError::AlreadyRemade(_) => "already_remade",
            WorkOrderError::FrameTooLate(_) => "frame_too_late",
        }
    }
}

/// Why a station command was refused.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum StationError {
    /// Also answered for another tenant's station.
    #[error("station not found")]
    StationNotFound,
    #[error("the station already exists, with other settings")]
    AlreadyCreated,
}

impl StationError {
    pub fn code(&self) -> &'static str {
        match self {
            StationError::StationNotFound => "station_not_found",
            StationError::AlreadyCreated => "station_already_created",
        }
    }
}
