//! Lab tickets on paper: the [`Ticket`] a station prints when a work order reaches it,
//! rendered as ESC/POS for thermal printers or as PDF, and delivered raw over TCP 9100 or
//! through IPP.
//!
//! Owns: the wire formats of printing — ESC/POS command bytes, PDF documents, the raw-socket
//! status protocol (DLE EOT) and IPP. A ticket arrives as plain, already formatted text; what
//! goes on it (patient initials only, never a name) is decided by the application.
//! Must never: know about work orders, events, SQL or Kafka, or retry on its own: a failed
//! delivery is reported, and the spooler decides when to try again.

pub mod capture;
mod escpos;
mod ipp;
mod pdf;
mod tcp;
mod ticket;

// `self::`: the crate `escpos` has the same name as the module.
pub use self::escpos::{render_escpos, ThermalPaper};
pub use self::ipp::{IppJobOutcome, IppPrinter};
pub use pdf::{render_pdf, PdfPage};
pub use tcp::{PrinterStatus, RawTcpPrinter, DEFAULT_PORT};
pub use ticket::{EyeGeometryLine, FrameLine, LensLine, RxLine, StlPart, Ticket};

/// Why a ticket could not be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("rendering the ticket failed: {0}")]
    Render(String),
}

/// Why a ticket did not reach paper. Every kind is worth retrying later except `Refused`,
/// which needs someone to change the station or the printer.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeliveryError {
    /// The printer answered but cannot print now: paper end, cover open, offline.
    #[error("printer not ready: {0}")]
    NotReady(String),
    /// No connection, or no answer in time.
    #[error("printer unreachable: {0}")]
    Unreachable(String),
    /// The printer will not take this job (unsupported format, bad request).
    #[error("printer refused the job: {0}")]
    Refused(String),
    /// The printer took the job but did not finish it (aborted, cancelled).
    #[error("printing failed: {0}")]
    Failed(String),
}
