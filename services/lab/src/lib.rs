//! Lab domain: the [`WorkOrder`] aggregate — one pair of lenses made for one frame — and the
//! [`Station`] aggregate, a place in the lab that serves some stages and owns a printer, and the
//! [`PrintJob`] aggregate, which records a ticket the spooler gave up on; their commands, events
//! (`lab.work_order.*`, `lab.station.*`, `lab.print_job.failed`), value objects, and the job in the
//! Vision Council DCS text format ([`dcs`]).
//!
//! Owns: the lab's rules. A work order starts `received` and moves forward through
//! `surfacing → coating → edging → mounting → final_inspection → completed → shipped`; the
//! first four may be skipped when a lens does not need them, none may be reversed, and every
//! move, hold, resume and cancellation is one `lab.work_order.stage_changed` with from, to,
//! station, actor, reason and time. Completion needs a passed inspection: the lensmeter
//! readings of both lenses against ANSI Z80.1 (the table follows the lens design). A job that
//! reached inspection may be remade once, with a reason code; the remake is a new work order
//! linked to the original, which stops (unless it was shipped). The job's personal part —
//! patient initials, prescription, geometry, inspection results — travels in [`Personal`]
//! envelopes so that the event store seals it with the patient's key and erasure makes it
//! unreadable everywhere.
//!
//! Must never: perform I/O, read a clock (`now` travels in every command), or depend on
//! another context's crate: the order's lines, the catalog's frame and lens and the
//! customer's prescription arrive as this crate's own values, filled by the application.
//! Whether a station exists and serves a stage is checked by the application, which loads
//! stations; printing is the lab-print adapter's. Another tenant's work order or station is
//! answered as not found.

#[macro_use]
mod macros;
pub mod dcs;
mod error;
mod print_job;
pub mod samples;
mod station;
mod values;
mod work_order;

pub use error::{StationError, ValueError, WorkOrderError};
pub use optical_kernel::{OrderId, PatientId, Personal, PrescriptionId, TenantId};
pub use print_job::{
    PrintFailure, PrintJob, PrintJobCommand, PrintJobError, PrintJobEvent, PrintJobId,
    RecordPrintFailure,
};
pub use station::{
    PaperWidth, Printer, PrinterProtocol, Station, StationCommand, StationEvent, StationSettings,
    StationStages, TicketFormat,
};
pub use values::{
    Actor, FrameLabel, FrameSpec, LabJob, LabStage, LensLabel, LensSpec, Notes, PatientInitials,
    Reason, RemakeOrigin, RemakeReason, StationId, StationName, WorkOrderId, WorkOrderNumber,
};
pub use work_order::{
    CreateWorkOrder, Inspection, InspectionResults, Remake, StageEntry, WorkOrder,
    WorkOrderCommand, WorkOrderEvent,
};
