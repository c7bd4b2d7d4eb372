//! The lab-print process: reads `lab.work_order.stage_changed` from the lab topic with offsets
//! kept in PostgreSQL, renders a ticket for the station of the new stage and spools it; a
//! delivery loop sends spooled tickets to the station printers.
//!
//! A stage change is spooled at most once per format (the spool's unique key), so a consumer
//! killed after spooling — or after printing — but before saving its offset prints nothing
//! twice when the message comes again. Delivery checks the ticket's SHA-256 before every
//! send, retries with exponential back-off, and after `max_attempts` parks the ticket and
//! records `lab.print_job.failed`; `POST /lab/print-jobs/{id}/reprint` queues it again.
mod ticket;

use anyhow::Context as _;
use futures::StreamExt as _;
use optical_app::{LabApp, SpooledTicket};
use optical_bus::inbound::{self, InboundEvent};
use optical_bus::{AvroCodec, KafkaConfig, TopicNames};
use optical_event_store::{ConsumerSession, Destination, NewPrintJob};
use optical_kernel::{EventMetadata, TenantId};
use optical_lab::{
    LabStage, PaperWidth, PrintFailure, PrintJobId, PrinterProtocol, RecordPrintFailure, StationId,
    TicketFormat, WorkOrderId, WorkOrderNumber,
};
use optical_lab_print::{
    render_escpos, render_pdf, DeliveryError, IppPrinter, PdfPage, RawTcpPrinter, ThermalPaper,
};
use rdkafka::producer::FutureProducer;
use rdkafka::Message as _;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The consumer name: its lease, its offsets, its dead-letter topic.
pub const LAB_PRINT: &str = "lab-print";

#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Attempts before a ticket is parked.
    pub max_attempts: i32,
    /// The first retry's delay; doubled each time up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
    /// How long an IPP job may take to complete.
    pub ipp_job_timeout: Duration,
    /// How often an idle delivery loop looks for due tickets.
    pub poll_interval: Duration,
}

#[derive(Clone, Debug)]
pub struct LabPrintConfig {
    pub database_url: String,
    pub kafka: KafkaConfig,
    pub instance: String,
    pub max_backoff: Duration,
    pub standby_interval: Duration,
    pub delivery: DeliveryConfig,
}

/// Runs the consumer and the delivery loop until `shutdown` resolves.
pub async fn run(
    lab: Arc<LabApp>,
    codec: Arc<AvroCodec>,
    config: LabPrintConfig,
    shutdown: impl Future<Output = ()>,
) {
    let intake = async {
        let mut backoff = Duration::from_millis(100);
        loop {
            match lead(&lab, &codec, &config).await {
                Ok(()) => backoff = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "lab-print session ended; reconnecting"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(config.max_backoff);
                }
            }
        }
    };
    tokio::select! {
        () = intake => {}
        () = deliver_forever(&lab, &config.delivery) => {}
        () = shutdown => tracing::info!("lab-print stopping"),
    }
}

async fn lead(lab: &LabApp, codec: &AvroCodec, config: &LabPrintConfig) -> anyhow::Result<()> {
    let session =
        ConsumerSession::connect(&config.database_url, LAB_PRINT, &config.instance).await?;
    let mut announced = false;
    while !session.try_acquire_lease().await? {
        if !announced {
            tracing::info!("lab-print standing by: another instance holds the lease");
            announced = true;
        }
        tokio::time::sleep(config.standby_interval).await;
    }
    tracing::info!(instance = %config.instance, "active lab-print");
    let names = TopicNames::new(&config.kafka.topic_prefix);
    let topics = vec![names.for_context("lab")];
    let stored = session.offsets().await?;
    let consumer = inbound::open_at(&config.kafka, LAB_PRINT, &topics, &stored)
        .context("opening the lab topic")?;
    let producer: FutureProducer = config.kafka.producer().create()?;
    let dead_letters = names.dead_letter(LAB_PRINT);
    let mut stream = consumer.stream();
    while let Some(message) = stream.next().await {
        let message = message.context("reading from the broker")?;
        let outcome = match InboundEvent::from_message(&message) {
            Ok(event) if event.event_type == "lab.work_order.stage_changed" => {
                let payload = message.payload().unwrap_or_default();
                spool_with_retries(lab, codec, &event, payload, config, &session).await?
            }
            Ok(_) => Ok(()),
            Err(unroutable) => Err(unroutable.to_string()),
        };
        if let Err(error) = outcome {
            inbound::dead_letter(&producer, &dead_letters, &message, &error).await?;
            tracing::error!(%error, "lab-print dead-lettered a message");
        }
        session
            .save(message.topic(), message.partition(), message.offset() + 1)
            .await?;
    }
    Ok(())
}

/// What a stage change says, from its Avro body.
struct StageChange {
    work_order_id: WorkOrderId,
    to: LabStage,
    station_id: Option<StationId>,
    changed_at: chrono::DateTime<chrono::Utc>,
}

fn stage_change(body: &serde_json::Value) -> Result<StageChange, String> {
    let text = |field: &str| {
        body.get(field)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| format!("stage change without `{field}`"))
    };
    let station_id = match body.get("station_id") {
        Some(serde_json::Value::String(id)) => Some(id.parse().map_err(|e| format!("{e}"))?),
        _ => None,
    };
    Ok(StageChange {
        work_order_id: text("work_order_id")?.parse().map_err(|e| format!("{e}"))?,
        to: text("to")?.parse().map_err(|e| format!("{e}"))?,
        station_id,
        changed_at: text("changed_at")?
            .parse()
            .map_err(|e| format!("changed_at: {e}"))?,
    })
}

/// Spools one stage change, retrying transient failures while the lease holds. `Ok(Err(_))`
/// is a message that can never be printed (dead-lettered); `Err` means the lease may be lost.
async fn spool_with_retries(
    lab: &LabApp,
    codec: &AvroCodec,
    event: &InboundEvent,
    payload: &[u8],
    config: &LabPrintConfig,
    session: &ConsumerSession,
) -> anyhow::Result<Result<(), String>> {
    let body = match codec.decode(payload).await {
        Ok(decoded) => decoded.body,
        Err(e) => return Ok(Err(format!("undecodable stage change: {e}"))),
    };
    let change = match stage_change(&body) {
        Ok(change) => change,
        Err(e) => return Ok(Err(e)),
    };
    let tenant_id = TenantId::from_uuid(event.tenant_id);
    let mut backoff = Duration::from_millis(50);
    loop {
        match spool(lab, tenant_id, event.event_id, &change).await {
            Ok(()) => return Ok(Ok(())),
            Err(Spooling::Poison(reason)) => return Ok(Err(reason)),
            Err(Spooling::Transient(reason)) => {
                if session.is_closed() {
                    anyhow::bail!("lab-print session lost while retrying: {reason}");
                }
                tracing::warn!(event_id = %event.event_id, %reason, "spooling failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(config.max_backoff);
            }
        }
    }
}

enum Spooling {
    Transient(String),
    Poison(String),
}

/// Renders the ticket of one stage change in each of its station's formats and spools them.
/// Holds, cancellations and stages no station serves print nothing.
async fn spool(
    lab: &LabApp,
    tenant_id: TenantId,
    stage_change_id: uuid::Uuid,
    change: &StageChange,
) -> Result<(), Spooling> {
    let Some(station_id) = change.station_id else {
        return Ok(());
    };
    let transient =
        |e: optical_app::AppError<optical_app::LabRejection>| Spooling::Transient(e.to_string());
    let Some(station) = lab
        .station(tenant_id, station_id)
        .await
        .map_err(transient)?
    else {
        return Err(Spooling::Poison(format!("station {station_id} not found")));
    };
    let Some(work_order) = lab
        .work_order(tenant_id, change.work_order_id)
        .await
        .map_err(transient)?
    else {
        return Err(Spooling::Poison(format!(
            "work order {} not found",
            change.work_order_id
        )));
    };
    let Some(settings) = station.settings() else {
        return Ok(());
    };
    let ticket = ticket::ticket(&work_order, change.to, &station, change.changed_at);
    let printer = &settings.printer;
    for format in printer.ticket_formats() {
        let document = match format {
            TicketFormat::Escpos => render_escpos(&ticket, thermal_paper(printer.paper())),
            TicketFormat::Pdf => render_pdf(&ticket, pdf_page(printer.paper())),
        }
        .map_err(|e| Spooling::Poison(e.to_string()))?;
        let destination = if *format == printer.sent_format() {
            Destination::Printer {
                protocol: printer.protocol().as_str().to_owned(),
                address: printer.address().to_owned(),
            }
        } else {
            Destination::Kept
        };
        let sha256: [u8; 32] = Sha256::digest(&document).into();
        lab.spool()
            .enqueue(&NewPrintJob {
                print_job_id: uuid::Uuid::now_v7(),
                tenant_id,
                work_order_id: *change.work_order_id.as_uuid(),
                work_order_number: ticket.number.clone(),
                station_id: *station_id.as_uuid(),
                stage_change_id,
                stage: change.to.as_str().to_owned(),
                format: format.as_str().to_owned(),
                destination,
                document,
                sha256,
            })
            .await
            .map_err(|e| Spooling::Transient(e.to_string()))?;
    }
    Ok(())
}

fn thermal_paper(paper: PaperWidth) -> ThermalPaper {
    match paper {
        PaperWidth::Roll58 => ThermalPaper::Roll58,
        PaperWidth::Roll80 | PaperWidth::A6 => ThermalPaper::Roll80,
    }
}

fn pdf_page(paper: PaperWidth) -> PdfPage {
    match paper {
        PaperWidth::A6 => PdfPage::A6,
        PaperWidth::Roll58 | PaperWidth::Roll80 => PdfPage::Roll80,
    }
}

/// Sends due tickets forever; any number of these may run (claims skip each other's rows).
async fn deliver_forever(lab: &LabApp, config: &DeliveryConfig) {
    loop {
        match deliver_due(lab, config).await {
            Ok(0) => tokio::time::sleep(config.poll_interval).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "print delivery failed; retrying"
                );
                tokio::time::sleep(config.poll_interval).await;
            }
        }
    }
}

/// Claims and sends the tickets that are due now; how many it tried.
pub async fn deliver_due(lab: &LabApp, config: &DeliveryConfig) -> anyhow::Result<usize> {
    // The lease outlasts the longest delivery, so no other worker takes the job meanwhile.
    let lease = config.ipp_job_timeout + config.connect_timeout + config.io_timeout * 4;
    let jobs = lab.spool().claim_due(8, lease).await?;
    for job in &jobs {
        let outcome = match verify(job) {
            Ok(()) => send(job, config).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => {
                lab.spool().mark_printed(job.print_job_id).await?;
                tracing::info!(print_job_id = %job.print_job_id, number = %job.work_order_number, "ticket printed");
            }
            Err(error) => {
                let retry_in = retry_delay(config, job.attempts);
                let (attempts, parked) = lab
                    .spool()
                    .mark_failed(
                        job.print_job_id,
                        &error.to_string(),
                        retry_in,
                        config.max_attempts,
                    )
                    .await?;
                tracing::warn!(print_job_id = %job.print_job_id, attempts, parked, %error, "ticket not printed");
                if parked {
                    record_failure(lab, job, attempts, &error.to_string()).await?;
                }
            }
        }
    }
    Ok(jobs.len())
}

fn retry_delay(config: &DeliveryConfig, attempts: i32) -> Duration {
    let doubling = 2u32.saturating_pow(u32::try_from(attempts).unwrap_or(0).min(20));
    config
        .retry_base
        .saturating_mul(doubling)
        .min(config.retry_max)
}

/// Bytes that changed since they were rendered are never sent.
fn verify(job: &SpooledTicket) -> Result<(), DeliveryError> {
    let actual: [u8; 32] = Sha256::digest(&job.document).into();
    if actual.as_slice() == job.sha256.as_slice() {
        Ok(())
    } else {
        Err(DeliveryError::Refused(
            "the ticket's bytes do not match their checksum".into(),
        ))
    }
}

async fn send(job: &SpooledTicket, config: &DeliveryConfig) -> Result<(), DeliveryError> {
    let (Some(protocol), Some(address)) = (job.protocol.as_deref(), job.address.as_deref()) else {
        return Err(DeliveryError::Refused(
            "a kept ticket has no printer".into(),
        ));
    };
    match protocol.parse::<PrinterProtocol>() {
        Ok(PrinterProtocol::EscposTcp) => {
            RawTcpPrinter::new(address, config.connect_timeout, config.io_timeout)
                .print(&job.document)
                .await
        }
        Ok(PrinterProtocol::Ipp) => {
            let printer = IppPrinter::with_timeouts(
                address,
                config.connect_timeout + config.io_timeout,
                config.ipp_job_timeout,
            )?;
            printer
                .print(&job.document, "application/pdf", &job.work_order_number)
                .await
                .map(|_| ())
        }
        Err(_) => Err(DeliveryError::Refused(format!(
            "unknown protocol `{protocol}`"
        ))),
    }
}

async fn record_failure(
    lab: &LabApp,
    job: &SpooledTicket,
    attempts: i32,
    error: &str,
) -> anyhow::Result<()> {
    let number: WorkOrderNumber = job
        .work_order_number
        .clone()
        .try_into()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut meta = EventMetadata::new(job.tenant_id, chrono::Utc::now());
    meta.actor = Some(format!("system:{LAB_PRINT}"));
    let text: String = error.chars().take(PrintFailure::MAX_CHARS).collect();
    let failure = RecordPrintFailure {
        tenant_id: job.tenant_id,
        print_job_id: PrintJobId::from_uuid(job.print_job_id),
        work_order_id: WorkOrderId::from_uuid(job.work_order_id),
        number,
        station_id: StationId::from_uuid(job.station_id),
        stage: job.stage.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
        reprint: u32::try_from(job.reprints).unwrap_or(0),
        attempts: u32::try_from(attempts).unwrap_or(0),
        error: PrintFailure::new(if text.trim().is_empty() {
            "unknown".into()
        } else {
            text
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?,
        now: chrono::Utc::now(),
    };
    lab.record_print_failure(failure, &meta)
        .await
        .map_err(|e| anyhow::anyhow!("recording the failure: {e}"))?;
    Ok(())
}
