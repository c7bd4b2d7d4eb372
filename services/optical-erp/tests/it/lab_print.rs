//! Lab printing against real printers where they run on this machine: a fake raw TCP 9100
//! thermal printer that speaks the real-time status protocol, Debian's `ippeveprinter`, and
//! the real broker and database. Tickets are decoded independently: ESC/POS by the testkit's
//! decoder, PDF by qpdf, pdftotext and zbarimg.
use crate::helpers::{codec, relay_config, spawn_pipeline, spawn_relay_task, Pipeline, RelayTask};
use crate::lab_saga::patient;
use crate::orders_saga::{meta, shop, Shop, WAIT};
use optical_app::{LabStep, NewWorkOrder, SpooledTicket};
use optical_erp::lab_print::{DeliveryConfig, LabPrintConfig};
use optical_lab::{
    LabStage, PaperWidth, Printer, PrinterProtocol, StationId, StationName, StationSettings,
    StationStages, TicketFormat, WorkOrder, WorkOrderId,
};
use optical_testkit::thermal::{FakeThermalPrinter, ThermalState};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

struct LabPrintTask(tokio::task::JoinHandle<()>);

impl Drop for LabPrintTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn delivery(max_attempts: i32) -> DeliveryConfig {
    DeliveryConfig {
        max_attempts,
        retry_base: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        connect_timeout: Duration::from_millis(500),
        io_timeout: Duration::from_millis(1_000),
        ipp_job_timeout: Duration::from_secs(30),
        poll_interval: Duration::from_millis(50),
    }
}

fn spawn_lab_print(pipeline: &Pipeline, shop: &Shop, max_attempts: i32) -> LabPrintTask {
    let config = LabPrintConfig {
        database_url: pipeline.db.url.clone(),
        kafka: pipeline.kafka.clone(),
        instance: "test".into(),
        max_backoff: Duration::from_millis(500),
        standby_interval: Duration::from_millis(100),
        delivery: delivery(max_attempts),
    };
    LabPrintTask(tokio::spawn(optical_erp::lab_print::run(
        shop.app.lab.clone(),
        Arc::new(codec()),
        config,
        std::future::pending(),
    )))
}

struct Lab {
    pipeline: Pipeline,
    shop: Shop,
    _relay: RelayTask,
}

async fn lab() -> Lab {
    let pipeline = spawn_pipeline().await;
    let shop = shop(&pipeline).await;
    let relay = spawn_relay_task(&pipeline, relay_config(&pipeline, "lab-print"));
    Lab {
        pipeline,
        shop,
        _relay: relay,
    }
}

impl Lab {
    /// Points the demo station serving `received` (the front desk) or final inspection at
    /// `printer`.
    async fn station_prints_to(
        &self,
        index: usize,
        stages: &[LabStage],
        printer: Printer,
    ) -> StationId {
        let (station_id, name) = self.shop.data.stations[index].clone();
        self.shop
            .app
            .lab
            .change_station(
                station_id,
                StationSettings {
                    name: StationName::new(name).unwrap(),
                    stages: StationStages::new(stages.iter().copied()).unwrap(),
                    printer,
                },
                &meta(self.shop.data.tenant),
                None,
            )
            .await
            .unwrap();
        station_id
    }

    /// A walk-in job for the progressive sample prescription with the demo frame's boxing.
    async fn walk_in(&self) -> WorkOrderId {
        let (patient_id, prescription_id) = patient(&self.shop).await;
        let work_order_id = WorkOrderId::new();
        self.shop
            .app
            .lab
            .create(
                NewWorkOrder {
                    work_order_id,
                    patient_id,
                    prescription_id,
                    frame: Some(optical_lab::samples::frame()),
                    lens: optical_lab::samples::progressive_lens(),
                    due_on: None,
                    notes: Some(
                        optical_lab::Notes::new("Facettenschliff, Kundin wünscht Politur").unwrap(),
                    ),
                },
                &meta(self.shop.data.tenant),
                None,
            )
            .await
            .unwrap();
        work_order_id
    }

    async fn work_order(&self, id: WorkOrderId) -> WorkOrder {
        self.shop
            .app
            .lab
            .work_order(self.shop.data.tenant, id)
            .await
            .unwrap()
            .unwrap()
    }

    async fn tickets(&self, id: WorkOrderId) -> Vec<SpooledTicket> {
        self.shop
            .app
            .lab
            .print_jobs_of(self.shop.data.tenant, id)
            .await
            .unwrap()
    }

    async fn count_events(&self, event_type: &str) -> i64 {
        self.pipeline
            .db
            .client()
            .await
            .query_one(
                "SELECT count(*) FROM events WHERE event_type = $1",
                &[&event_type],
            )
            .await
            .unwrap()
            .get(0)
    }
}

fn thermal(address: &str) -> Printer {
    Printer::new(
        PrinterProtocol::EscposTcp,
        address,
        PaperWidth::Roll80,
        vec![TicketFormat::Escpos],
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stage_change_prints_an_escpos_ticket_at_the_station_of_the_new_stage() {
    let lab = lab().await;
    let printer = FakeThermalPrinter::start().await;
    lab.station_prints_to(0, &[LabStage::Received], thermal(&printer.address()))
        .await;
    let _printing = spawn_lab_print(&lab.pipeline, &lab.shop, 8);
    let id = lab.walk_in().await;
    let work_order = lab.work_order(id).await;

    let jobs = printer.wait_for_jobs(1, WAIT).await;
    assert_eq!(jobs.len(), 1);
    let ticket = optical_testkit::escpos::decode(&jobs[0]).unwrap();
    assert!(ticket.starts_with_init);
    assert!(ticket.code_page.is_some(), "a code page for accented text");
    assert_eq!(ticket.qr_codes, vec![id.to_string()]);
    let number = work_order.number().unwrap().to_string();
    assert_eq!(ticket.code128, vec![number.clone()]);
    assert!(ticket.ends_with_cut);
    assert!(ticket.widest_line() <= 48, "{}", ticket.text());
    let text = ticket.text();
    for expected in [
        number.as_str(),
        "RECEIVED",
        "Front desk",
        "H. Q.",
        "+1.25",
        "-0.50",
        "+2.00",
        "Lindberg",
        "wünscht",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from\n{text}");
    }
    assert!(
        !text.contains("Henrike") && !text.contains("Quintessa"),
        "only initials on paper"
    );
    // The status was read before the job was sent.
    assert!(!printer.status_queries().is_empty());
    // Marked printed once the printer took it; exactly one ticket for the stage change.
    assert!(
        optical_testkit::eventually(WAIT, || async {
            let tickets = lab.tickets(id).await;
            tickets.len() == 1 && tickets[0].state == "printed"
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ipp_station_receives_the_pdf_ticket_with_a_readable_qr_code() {
    let lab = lab().await;
    let ipp = optical_testkit::ipp::IppEvePrinter::start();
    let ipp_printer = Printer::new(
        PrinterProtocol::Ipp,
        ipp.uri(),
        PaperWidth::A6,
        vec![TicketFormat::Pdf],
    )
    .unwrap();
    let station = lab
        .station_prints_to(3, &[LabStage::FinalInspection], ipp_printer)
        .await;
    let _printing = spawn_lab_print(&lab.pipeline, &lab.shop, 8);
    let id = lab.walk_in().await;
    lab.shop
        .app
        .lab
        .step(
            id,
            LabStep::MoveTo {
                to: LabStage::FinalInspection,
                station_id: Some(station),
            },
            &meta(lab.shop.data.tenant),
            None,
        )
        .await
        .unwrap();
    assert!(
        optical_testkit::eventually(WAIT, || async { !ipp.kept_files().is_empty() }).await,
        "ippeveprinter keeps the document it printed"
    );
    let number = lab.work_order(id).await.number().unwrap().to_string();
    let file = ipp.kept_files().remove(0);
    let check = Command::new("qpdf")
        .arg("--check")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let text = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for expected in [
        number.as_str(),
        "FINAL INSPECTION",
        "+1.25",
        "-0.75",
        "H. Q.",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from\n{text}");
    }
    let png = ipp.dir().join("ticket");
    let raster = Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(&file)
        .arg(&png)
        .status()
        .unwrap();
    assert!(raster.success());
    let decoded = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(png.with_extension("png"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&decoded.stdout).trim(),
        id.to_string()
    );
    assert!(
        optical_testkit::eventually(WAIT, || async {
            lab.tickets(id)
                .await
                .iter()
                .any(|t| t.format == "pdf" && t.state == "printed")
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_printer_out_of_paper_gets_nothing_until_the_status_clears() {
    let lab = lab().await;
    let printer = FakeThermalPrinter::start().await;
    printer.set_state(ThermalState::PaperOut);
    lab.station_prints_to(0, &[LabStage::Received], thermal(&printer.address()))
        .await;
    let _printing = spawn_lab_print(&lab.pipeline, &lab.shop, 1_000);
    let id = lab.walk_in().await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            lab.tickets(id).await.first().is_some_and(|t| {
                t.attempts >= 2 && t.last_error.as_deref().unwrap_or("").contains("paper")
            })
        })
        .await,
        "the spooler retries while the paper is out"
    );
    assert!(
        printer.jobs().is_empty(),
        "nothing is sent while the paper is out"
    );
    printer.set_state(ThermalState::Ready);
    assert_eq!(printer.wait_for_jobs(1, WAIT).await.len(), 1);
    assert!(
        optical_testkit::eventually(WAIT, || async {
            lab.tickets(id)
                .await
                .first()
                .is_some_and(|t| t.state == "printed")
        })
        .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_printer_parks_the_ticket_and_a_reprint_prints_it() {
    let lab = lab().await;
    // A port nobody listens on, for now.
    let port = optical_testkit::free_port();
    lab.station_prints_to(
        0,
        &[LabStage::Received],
        thermal(&format!("127.0.0.1:{port}")),
    )
    .await;
    let _printing = spawn_lab_print(&lab.pipeline, &lab.shop, 3);
    let id = lab.walk_in().await;
    assert!(
        optical_testkit::eventually(WAIT, || async {
            lab.tickets(id)
                .await
                .first()
                .is_some_and(|t| t.state == "parked")
        })
        .await,
        "parked after its attempts"
    );
    let ticket = lab.tickets(id).await.remove(0);
    assert_eq!(ticket.attempts, 3);
    assert!(
        optical_testkit::eventually(WAIT, || async {
            lab.count_events("lab.print_job.failed").await == 1
        })
        .await,
        "lab.print_job.failed is recorded once"
    );

    // The printer comes back on that port; staff reprint.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let dir = lab.pipeline.db.url.replace(['/', ':', '@'], "_");
    let capture_dir = std::env::temp_dir().join(format!("captured-{dir}"));
    let capture = tokio::spawn(optical_lab_print::capture::serve(
        listener,
        capture_dir.clone(),
    ));
    lab.shop
        .app
        .lab
        .reprint(
            lab.shop.data.tenant,
            optical_lab::PrintJobId::from_uuid(ticket.print_job_id),
        )
        .await
        .unwrap();
    assert!(
        optical_testkit::eventually(WAIT, || async {
            lab.tickets(id)
                .await
                .first()
                .is_some_and(|t| t.state == "printed" && t.reprints == 1)
        })
        .await,
        "the reprint is printed"
    );
    let captured: Vec<_> = std::fs::read_dir(&capture_dir).unwrap().collect();
    assert_eq!(captured.len(), 1);
    let bytes = std::fs::read(captured[0].as_ref().unwrap().path()).unwrap();
    let decoded = optical_testkit::escpos::decode(&bytes).unwrap();
    assert_eq!(decoded.qr_codes, vec![id.to_string()]);
    capture.abort();
    let _ = std::fs::remove_dir_all(capture_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consumer_killed_before_saving_its_offset_prints_nothing_twice() {
    let lab = lab().await;
    let printer = FakeThermalPrinter::start().await;
    lab.station_prints_to(0, &[LabStage::Received], thermal(&printer.address()))
        .await;
    let printing = spawn_lab_print(&lab.pipeline, &lab.shop, 8);
    let id = lab.walk_in().await;
    assert_eq!(printer.wait_for_jobs(1, WAIT).await.len(), 1);
    drop(printing);
    // As if it died after printing but before its offset was saved: the offsets are gone.
    let client = lab.pipeline.db.client().await;
    client
        .execute(
            "DELETE FROM consumer_offsets WHERE consumer = 'lab-print'",
            &[],
        )
        .await
        .unwrap();
    let _again = spawn_lab_print(&lab.pipeline, &lab.shop, 8);
    // The restarted consumer reads the whole topic again and saves its offsets anew.
    assert!(
        optical_testkit::eventually(WAIT, || async {
            let row = client
                .query_one(
                    "SELECT count(*) FROM consumer_offsets WHERE consumer = 'lab-print'",
                    &[],
                )
                .await
                .unwrap();
            row.get::<_, i64>(0) > 0
        })
        .await
    );
    // One more ticket for a later stage proves the consumer went past the first message.
    lab.shop
        .app
        .lab
        .step(
            id,
            LabStep::Hold(optical_lab::Reason::new("waiting for the frame").unwrap()),
            &meta(lab.shop.data.tenant),
            None,
        )
        .await
        .unwrap();
    lab.shop
        .app
        .lab
        .step(
            id,
            LabStep::Resume {
                to: None,
                station_id: None,
            },
            &meta(lab.shop.data.tenant),
            None,
        )
        .await
        .unwrap();
    let jobs = printer.wait_for_jobs(2, WAIT).await;
    assert_eq!(
        jobs.len(),
        2,
        "the first ticket once, then the resumed stage's"
    );
    assert_eq!(lab.tickets(id).await.len(), 2);
}
