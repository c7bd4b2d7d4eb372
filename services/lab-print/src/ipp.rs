//! Delivery to IPP printers (CUPS queues, IPP Everywhere printers): check what the printer
//! takes and whether it is ready, send the document with Print-Job, then follow the job
//! until it is completed, aborted or canceled, within a bounded wait.
//!
//! Every outcome maps to a [`DeliveryError`] kind so the spooler can decide: `Refused` needs
//! a person (wrong format, bad URI, authentication), the rest are worth retrying later.

use std::io::Cursor;
use std::time::{Duration, Instant};

use ::ipp::prelude::{
    AsyncIppClient, DelimiterTag, IppAttribute, IppError, IppOperationBuilder, IppPayload,
    IppRequestResponse, IppValue, JobState, PrinterState, StatusCode, Uri,
};

use crate::DeliveryError;

/// The `requesting-user-name` jobs are submitted under.
const USER_NAME: &str = "optical-erp";

/// A job the printer finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IppJobOutcome {
    /// The printer's `job-id`.
    pub job_id: i32,
    /// `job-state-reasons` at completion, e.g. `job-completed-successfully`.
    pub reasons: Vec<String>,
}

/// An IPP printer at an `ipp://`, `ipps://`, `http://` or `https://` URI.
#[derive(Clone, Debug)]
pub struct IppPrinter {
    uri: Uri,
    request_timeout: Duration,
    job_timeout: Duration,
}

/// What Get-Printer-Attributes told us.
struct PrinterStatus {
    formats: Vec<String>,
    state: Option<i32>,
    reasons: Vec<String>,
    accepting: bool,
}

impl IppPrinter {
    /// A printer with a 10 s limit per request and 60 s for a job to complete.
    pub fn new(uri: &str) -> Result<Self, DeliveryError> {
        Self::with_timeouts(uri, Duration::from_secs(10), Duration::from_secs(60))
    }

    /// `request_timeout` bounds each IPP request; `job_timeout` bounds the whole of
    /// [`print`](Self::print), from the first request to the job's completion.
    pub fn with_timeouts(
        uri: &str,
        request_timeout: Duration,
        job_timeout: Duration,
    ) -> Result<Self, DeliveryError> {
        let parsed: Uri = uri
            .parse()
            .map_err(|e| DeliveryError::Refused(format!("invalid printer URI {uri:?}: {e}")))?;
        match parsed.scheme_str() {
            Some("ipp" | "ipps" | "http" | "https") if parsed.host().is_some() => {}
            _ => {
                return Err(DeliveryError::Refused(format!(
                    "printer URI {uri:?} is not ipp://, ipps://, http:// or https://"
                )))
            }
        }
        // The ipp client uses rustls without a built-in crypto provider (so that the
        // workspace keeps its single `ring` stack) and panics on TLS without a process
        // default; installing one fails harmlessly when another is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Self {
            uri: parsed,
            request_timeout,
            job_timeout,
        })
    }

    pub fn uri(&self) -> String {
        self.uri.to_string()
    }

    /// The printer's `document-format-supported`, e.g. `application/pdf`.
    pub async fn document_formats(&self) -> Result<Vec<String>, DeliveryError> {
        Ok(self.status().await?.formats)
    }

    /// Prints `document` of MIME type `format` and waits until the printer reports the job
    /// completed. Refuses formats the printer does not list, and does not send to a stopped
    /// printer or one that does not accept jobs.
    pub async fn print(
        &self,
        document: &[u8],
        format: &str,
        job_name: &str,
    ) -> Result<IppJobOutcome, DeliveryError> {
        let deadline = Instant::now() + self.job_timeout;
        let status = self.status().await?;
        if !status.formats.iter().any(|f| same_mime_type(f, format)) {
            return Err(DeliveryError::Refused(format!(
                "printer does not support {format}; it takes {}",
                status.formats.join(", ")
            )));
        }
        if status.state == Some(PrinterState::Stopped as i32) || !status.accepting {
            return Err(DeliveryError::NotReady(format!(
                "printer {} (reasons: {})",
                if status.accepting {
                    "stopped"
                } else {
                    "not accepting jobs"
                },
                status.reasons.join(", ")
            )));
        }

        let payload = IppPayload::new(Cursor::new(document.to_vec()));
        let operation = IppOperationBuilder::print_job(self.uri.clone(), payload)
            .user_name(USER_NAME)
            .job_title(job_name)
            .document_format(format)
            .build()
            .map_err(|e| DeliveryError::Refused(format!("Print-Job request: {e}")))?;
        let response = self.send(operation).await?;
        let job_id = response
            .attributes()
            .groups_of(DelimiterTag::JobAttributes)
            .find_map(|g| g.get(IppAttribute::JOB_ID))
            .and_then(|a| a.value().as_integer().copied())
            .ok_or_else(|| DeliveryError::Failed("Print-Job answered without a job-id".into()))?;
        self.wait_for(job_id, deadline).await
    }

    /// Polls Get-Job-Attributes until the job ends or `deadline` passes.
    async fn wait_for(
        &self,
        job_id: i32,
        deadline: Instant,
    ) -> Result<IppJobOutcome, DeliveryError> {
        // Short first polls: a ticket is one page and usually done within a second.
        let mut interval = Duration::from_millis(50);
        loop {
            let last = match self.job_state(job_id).await {
                Ok((state, reasons)) => match state {
                    Some(s) if s == JobState::Completed as i32 => {
                        return Ok(IppJobOutcome { job_id, reasons })
                    }
                    Some(s) if s == JobState::Aborted as i32 || s == JobState::Canceled as i32 => {
                        let word = if s == JobState::Aborted as i32 {
                            "aborted"
                        } else {
                            "canceled"
                        };
                        return Err(DeliveryError::Failed(format!(
                            "job {job_id} {word} (reasons: {})",
                            reasons.join(", ")
                        )));
                    }
                    other => format!(
                        "job-state {} (reasons: {})",
                        other.map_or_else(|| "missing".into(), |s| s.to_string()),
                        reasons.join(", ")
                    ),
                },
                // A printer busy printing may drop a poll; only the deadline ends the wait.
                Err(e) => e.to_string(),
            };
            let now = Instant::now();
            if now >= deadline {
                // Cancel, so that the spooler's retry cannot end up as a second ticket.
                self.cancel(job_id).await;
                return Err(DeliveryError::Failed(format!(
                    "job {job_id} not completed within {:?}, cancel requested; last: {last}",
                    self.job_timeout
                )));
            }
            tokio::time::sleep(interval.min(deadline - now)).await;
            interval = (interval * 2).min(Duration::from_secs(1));
        }
    }

    async fn job_state(&self, job_id: i32) -> Result<(Option<i32>, Vec<String>), DeliveryError> {
        let operation = IppOperationBuilder::get_job_attributes(self.uri.clone(), job_id)
            .build()
            .map_err(|e| DeliveryError::Refused(format!("Get-Job-Attributes request: {e}")))?;
        let response = self.send(operation).await?;
        let attributes = response.attributes();
        let job = attributes.groups_of(DelimiterTag::JobAttributes);
        let mut state = None;
        let mut reasons = Vec::new();
        for group in job {
            if let Some(a) = group.get(IppAttribute::JOB_STATE) {
                state = a.value().as_enum().copied();
            }
            if let Some(a) = group.get(IppAttribute::JOB_STATE_REASONS) {
                reasons = texts(a.value());
            }
        }
        Ok((state, reasons))
    }

    async fn cancel(&self, job_id: i32) {
        if let Ok(operation) = IppOperationBuilder::cancel_job(self.uri.clone(), job_id)
            .user_name(USER_NAME)
            .build()
        {
            if let Err(e) = self.send(operation).await {
                tracing::warn!(job_id, error = %e, "could not cancel an IPP job that timed out");
            }
        }
    }

    async fn status(&self) -> Result<PrinterStatus, DeliveryError> {
        let operation = IppOperationBuilder::get_printer_attributes(self.uri.clone())
            .attributes([
                IppAttribute::DOCUMENT_FORMAT_SUPPORTED,
                IppAttribute::PRINTER_STATE,
                IppAttribute::PRINTER_STATE_REASONS,
                IppAttribute::PRINTER_IS_ACCEPTING_JOBS,
            ])
            .build()
            .map_err(|e| DeliveryError::Refused(format!("Get-Printer-Attributes request: {e}")))?;
        let response = self.send(operation).await?;
        let mut status = PrinterStatus {
            formats: Vec::new(),
            state: None,
            reasons: Vec::new(),
            // Printers that do not report it are taken at their word that they are ready.
            accepting: true,
        };
        for group in response
            .attributes()
            .groups_of(DelimiterTag::PrinterAttributes)
        {
            for attribute in group.attributes() {
                let value = attribute.value();
                match attribute.name().as_str() {
                    IppAttribute::DOCUMENT_FORMAT_SUPPORTED => status.formats = texts(value),
                    IppAttribute::PRINTER_STATE => status.state = value.as_enum().copied(),
                    IppAttribute::PRINTER_STATE_REASONS => status.reasons = texts(value),
                    IppAttribute::PRINTER_IS_ACCEPTING_JOBS => {
                        status.accepting = value.as_boolean().copied().unwrap_or(true);
                    }
                    _ => {}
                }
            }
        }
        Ok(status)
    }

    /// Sends one request and turns transport failures and IPP error statuses into
    /// [`DeliveryError`]s.
    async fn send(
        &self,
        request: impl Into<IppRequestResponse>,
    ) -> Result<IppRequestResponse, DeliveryError> {
        let client = AsyncIppClient::builder(self.uri.clone())
            .request_timeout(self.request_timeout)
            .build();
        // The client's own connect timeout is fixed at 10 s: bound the whole call too.
        let response = tokio::time::timeout(self.request_timeout, client.send(request))
            .await
            .map_err(|_| {
                DeliveryError::Unreachable(format!(
                    "no answer from {} within {:?}",
                    self.uri, self.request_timeout
                ))
            })?
            .map_err(|e| transport_error(&self.uri, e))?;
        let code = response.header().operation_or_status;
        if response.header().status_code().is_success() {
            Ok(response)
        } else {
            Err(status_error(code, response.header().status_code()))
        }
    }
}

/// Maps an IPP status code (RFC 8011 §4.1.6.1) to a delivery error.
fn status_error(code: i16, status: StatusCode) -> DeliveryError {
    let message = format!("IPP status 0x{code:04x} ({status})");
    match code {
        // client-error-timeout: the request did not arrive in time; the network, not us.
        0x0405 => DeliveryError::Unreachable(message),
        0x0400..=0x04FF => DeliveryError::Refused(message),
        // Busy, temporary, unavailable, not accepting jobs, device error, internal error.
        0x0500 | 0x0502 | 0x0504..=0x0507 => DeliveryError::NotReady(message),
        _ => DeliveryError::Refused(message),
    }
}

fn transport_error(uri: &Uri, error: IppError) -> DeliveryError {
    match error {
        IppError::AsyncClientError(e) if e.is_builder() => {
            DeliveryError::Refused(format!("HTTP client for {uri}: {e}"))
        }
        IppError::RequestError(status) if (400..500).contains(&status) => {
            DeliveryError::Refused(format!("{uri} answered HTTP {status}"))
        }
        IppError::RequestError(status) => {
            DeliveryError::NotReady(format!("{uri} answered HTTP {status}"))
        }
        IppError::StatusError(status) => status_error(status as i16, status),
        IppError::PrinterNotReady => DeliveryError::NotReady(format!("{uri}: {error}")),
        IppError::InvalidUri(_) | IppError::HttpError(_) => {
            DeliveryError::Refused(format!("{uri}: {error}"))
        }
        // Connection refused or reset, TLS handshake, timeouts, truncated answers.
        other => DeliveryError::Unreachable(format!("{uri}: {}", with_causes(&other))),
    }
}

/// `error: cause: cause`, as reqwest's own message omits why a request failed.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The string values of a possibly multi-valued attribute.
fn texts(value: &IppValue) -> Vec<String> {
    value.into_iter().map(ToString::to_string).collect()
}

/// Compares MIME types case-insensitively, ignoring parameters such as `; charset=`.
fn same_mime_type(a: &str, b: &str) -> bool {
    let base = |s: &str| {
        s.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    };
    base(a) == base(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_status_codes() {
        let refused = status_error(0x040A, StatusCode::ClientErrorDocumentFormatNotSupported);
        assert!(matches!(refused, DeliveryError::Refused(_)));
        let busy = status_error(0x0507, StatusCode::ServerErrorBusy);
        assert!(matches!(busy, DeliveryError::NotReady(_)));
        let unsupported = status_error(0x0501, StatusCode::ServerErrorOperationNotSupported);
        assert!(matches!(unsupported, DeliveryError::Refused(_)));
    }

    #[test]
    fn rejects_other_schemes() {
        assert!(matches!(
            IppPrinter::new("lpd://printer/queue"),
            Err(DeliveryError::Refused(_))
        ));
        assert!(IppPrinter::new("ipp://127.0.0.1:631/ipp/print").is_ok());
    }

    #[test]
    fn mime_types_compare_without_parameters() {
        assert!(same_mime_type("Application/PDF", "application/pdf"));
        assert!(same_mime_type("text/plain; charset=utf-8", "text/plain"));
        assert!(!same_mime_type("image/pwg-raster", "application/pdf"));
    }
}
