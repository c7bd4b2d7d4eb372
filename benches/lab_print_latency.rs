//! **lab_print_latency** — from a work order's stage change to the ticket's bytes at the
//! station's thermal printer, through the real pipeline, beside the raw delivery of the same
//! bytes to the same printer.
//!
//! Pipeline, all in this process against real PostgreSQL and a real broker (tansu): the
//! application (`optical_app::App`) writes the stage change to the event store; an in-process
//! [`Relay`] with the application's settings (idle poll `BENCH_RELAY_POLL_MS`, default 10 ms,
//! the application's) publishes it to the lab topic; the lab-print process
//! (`optical_erp::lab_print::run`, as `optical-erp lab-print` runs it) consumes it, renders the
//! ESC/POS ticket, spools it in PostgreSQL, and its delivery loop (idle poll
//! `BENCH_DELIVERY_POLL_MS`, default **20 ms** — set here, the process's own default is
//! configurable) claims it and sends it with `RawTcpPrinter` (status query, then the job on
//! the same connection) to `optical_testkit::thermal::FakeThermalPrinter`. The demo tenant is
//! seeded with `optical_erp::demo::seed_all`; every demo station is then pointed at the fake
//! printer (`escpos_tcp`, 80 mm roll), so every stage prints.
//!
//! Load: enough walk-in work orders are created up front (one patient, one prescription;
//! their `received` tickets print and are drained before anything is timed), then stage
//! changes are issued at a steady `BENCH_RATE` (default 50/s) for `BENCH_WARMUP_SECONDS`
//! (default 1, not reported) plus `BENCH_SECONDS` (default 10): the k-th move takes work
//! order `k mod N` to the next of surfacing → coating → edging → mounting → final_inspection
//! (`LabStep::MoveTo { station_id: None }`, the station serving the stage). Each move runs as
//! its own task so a slow commit does not delay the next one. The clock starts when the move
//! is issued and stops when the fake printer has the whole job (its connection reached EOF,
//! seen by a task watching the printer's connection count); jobs are matched to moves by
//! decoding them (`optical_testkit::escpos::decode`: the QR code's work order id and the
//! stage line). Reported: count, p50, p90, p99, max; for information also commit → printer
//! (the clock started when the move's commit returned).
//!
//! Ceiling, measured earlier in the same run against the same fake printer at the same rate:
//! `RawTcpPrinter::print` (status query + send, same timeouts) of the bytes of a ticket the
//! pipeline printed during the set-up, timed the same way (issued → the printer has the job);
//! the time until `print` returns is shown for information.
//!
//! Anatomy, for information: the same moves' tickets split at the spool by the database's own
//! timestamps (`events.recorded_at` of the stage change, `created_at` and `printed_at` of the
//! spool row — each the `now()` of its transaction): commit → spooled and spooled → printed.
//!
//! Constant waits inside the pipeline figure, printed with the results so the reader can
//! subtract them: the relay's idle poll, the producer's `linger.ms`, the lab-print consumer's
//! `fetch.wait.max.ms` (100 ms in `KafkaConfig::reader`; tansu 0.6 holds every Fetch for the
//! whole wait even when data is there, see `publish_latency`), and the delivery loop's idle poll.
//!
//! Environment: `BENCH_RATE` (stage changes/s, default 50), `BENCH_SECONDS` (default 10),
//! `BENCH_WARMUP_SECONDS` (default 1), `BENCH_DELIVERY_POLL_MS` (default 20),
//! `BENCH_RELAY_POLL_MS` (default 10). `LOG=info` prints the processes' logs on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use optical_app::{App, LabStep, NewPrescription, NewWorkOrder, PersonalData};
use optical_benches::{
    env_f64, env_secs, env_usize, init_logging, ms, percentile, print_context, Table,
};
use optical_bus::{AvroCodec, Publisher, SchemaCatalog};
use optical_customers::{
    ContactPreferences, Contacts, Email, LicenceNumber, PatientDetails, PersonName, PhoneNumber,
    Prescriber, PrescriberName, PrescriptionDetails,
};
use optical_erp::lab_print::{DeliveryConfig, LabPrintConfig};
use optical_kernel::{EventMetadata, PatientId, PrescriptionId, SystemClock, TenantId};
use optical_lab::{
    LabStage, PaperWidth, Printer, PrinterProtocol, StationSettings, TicketFormat, WorkOrderId,
};
use optical_lab_print::RawTcpPrinter;
use optical_relay::{Relay, RelayConfig};
use optical_testkit::thermal::FakeThermalPrinter;
use optical_testkit::{apply_topics, kafka_config, TestBroker, TestDatabase};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The moves each work order makes after `received`, in order.
const MOVES: [LabStage; 5] = [
    LabStage::Surfacing,
    LabStage::Coating,
    LabStage::Edging,
    LabStage::Mounting,
    LabStage::FinalInspection,
];

/// When the fake printer finished each connection, in the order it finished them.
type Arrivals = Arc<Mutex<Vec<Instant>>>;

/// When each move was issued and when its commit returned, by work order and stage.
type Issued = Arc<Mutex<HashMap<(WorkOrderId, LabStage), (Instant, Option<Instant>)>>>;

#[tokio::main]
async fn main() {
    let rate = env_f64("BENCH_RATE", 50.0);
    let window = env_secs("BENCH_SECONDS", 10.0);
    let warmup = env_secs("BENCH_WARMUP_SECONDS", 1.0);
    let delivery_poll = Duration::from_millis(env_usize("BENCH_DELIVERY_POLL_MS", 20) as u64);
    let relay_poll = Duration::from_millis(env_usize("BENCH_RELAY_POLL_MS", 10) as u64);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let moves = ((warmup + window).as_secs_f64() * rate).ceil() as usize;
    let work_orders = moves.div_ceil(MOVES.len()).max(1);

    init_logging();
    print_context("lab_print_latency");
    let broker = TestBroker::start();
    let kafka = kafka_config(&broker);
    apply_topics(&kafka).await;
    let db = TestDatabase::create().await;
    let codec = AvroCodec::new(Arc::new(SchemaCatalog::embedded().unwrap()), None);

    // The relay, as `optical-erp relay` runs it.
    let mut relay_config = RelayConfig::new(&db.url);
    relay_config.poll_interval = relay_poll;
    relay_config.standby_interval = Duration::from_millis(100);
    let relay = Relay::new(
        relay_config,
        Publisher::new(&kafka, codec.clone(), 1000).unwrap(),
    );
    let (stop_relay, relay_stopped) = tokio::sync::oneshot::channel::<()>();
    let relay_task = tokio::spawn(async move {
        relay
            .run(async {
                let _ = relay_stopped.await;
            })
            .await;
    });

    // The demo lab, every station printing to the fake thermal printer.
    let app = App::new(
        db.pool(16),
        Arc::new(SystemClock),
        PersonalData::ephemeral(),
    );
    let demo = optical_erp::demo::seed_all(&app, 1).await.unwrap();
    let tenant = demo.tenant;
    let printer = Arc::new(FakeThermalPrinter::start().await);
    let thermal = Printer::new(
        PrinterProtocol::EscposTcp,
        printer.address(),
        PaperWidth::Roll80,
        vec![TicketFormat::Escpos],
    )
    .unwrap();
    for (station_id, name) in &demo.stations {
        let station = app.lab.station(tenant, *station_id).await.unwrap().unwrap();
        let settings = station.settings().expect("demo station has settings");
        app.lab
            .change_station(
                *station_id,
                StationSettings {
                    printer: thermal.clone(),
                    ..settings.clone()
                },
                &meta(tenant),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("pointing {name} at the fake printer: {e}"));
    }
    let arrivals = watch_arrivals(&printer);

    // The lab-print process, as `optical-erp lab-print` runs it.
    let delivery = DeliveryConfig {
        max_attempts: 8,
        retry_base: Duration::from_millis(50),
        retry_max: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        io_timeout: Duration::from_millis(1_000),
        ipp_job_timeout: Duration::from_secs(30),
        poll_interval: delivery_poll,
    };
    let (connect_timeout, io_timeout) = (delivery.connect_timeout, delivery.io_timeout);
    let lab_print_config = LabPrintConfig {
        database_url: db.url.clone(),
        kafka: kafka.clone(),
        instance: "bench".into(),
        max_backoff: Duration::from_millis(500),
        standby_interval: Duration::from_millis(100),
        delivery,
    };
    let (stop_lab_print, lab_print_stopped) = tokio::sync::oneshot::channel::<()>();
    let lab_print_task = tokio::spawn(optical_erp::lab_print::run(
        app.lab.clone(),
        Arc::new(codec.clone()),
        lab_print_config,
        async {
            let _ = lab_print_stopped.await;
        },
    ));

    // Walk-in work orders; their `received` tickets print now, before anything is timed.
    let (patient_id, prescription_id) = patient(&app, tenant).await;
    let mut ids = Vec::with_capacity(work_orders);
    for _ in 0..work_orders {
        let work_order_id = WorkOrderId::new();
        app.lab
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
                &meta(tenant),
                None,
            )
            .await
            .expect("create work order");
        ids.push(work_order_id);
    }
    printer
        .wait_for_connections(work_orders, Duration::from_secs(120))
        .await;
    let setup_jobs = printer.jobs();
    // A real ticket of this pipeline (the largest of the set-up's, bytes vary only slightly).
    let template = setup_jobs.iter().max_by_key(|j| j.len()).unwrap().clone();

    println!(
        "{rate:.0} stage changes/s for {:.1} s (+{:.1} s warm-up) per phase over {work_orders} work orders \
         ({moves} moves); ticket {} bytes (ESC/POS, 80 mm); lab topic on tansu {}",
        window.as_secs_f64(),
        warmup.as_secs_f64(),
        template.len(),
        broker.brokers()
    );
    let linger = kafka.producer().get("linger.ms").unwrap_or("?").to_owned();
    let fetch_wait = kafka
        .reader("x")
        .get("fetch.wait.max.ms")
        .unwrap_or("?")
        .to_owned();
    println!(
        "constant waits in the pipeline: relay idle poll {} ms, producer linger.ms={linger}, lab-print consumer \
         fetch.wait.max.ms={fetch_wait} (tansu holds each fetch that long), delivery idle poll {} ms",
        relay_poll.as_millis(),
        delivery_poll.as_millis()
    );

    // Phase 1: the ceiling — the raw delivery of the same bytes to the same printer.
    let raw_base = printer.connections();
    let raw_printer = RawTcpPrinter::new(&printer.address(), connect_timeout, io_timeout);
    let mut ticker = tokio::time::interval(interval);
    let warmup_until = Instant::now() + warmup;
    let until = warmup_until + window;
    let mut raw_tasks = Vec::new();
    while Instant::now() < until {
        ticker.tick().await;
        let (raw_printer, bytes) = (raw_printer.clone(), template.clone());
        let issued = Instant::now();
        raw_tasks.push(tokio::spawn(async move {
            raw_printer.print(&bytes).await.expect("raw print");
            (issued, Instant::now())
        }));
    }
    let mut raw: Vec<(Instant, Instant)> = Vec::new();
    for task in raw_tasks {
        raw.push(task.await.unwrap());
    }
    printer
        .wait_for_connections(raw_base + raw.len(), Duration::from_secs(30))
        .await;
    // Each raw print is one connection; they finish in the order they were issued (each
    // takes well under the interval), so the n-th print is the n-th connection after the base.
    let raw_arrivals: Vec<Instant> =
        arrivals.lock().unwrap()[raw_base..raw_base + raw.len()].to_vec();
    let mut raw_to_printer = Vec::new();
    let mut raw_returned = Vec::new();
    for ((issued, returned), arrived) in raw.iter().zip(&raw_arrivals) {
        if *issued >= warmup_until {
            raw_to_printer.push(arrived.saturating_duration_since(*issued));
            raw_returned.push(returned.saturating_duration_since(*issued));
        }
    }
    raw_to_printer.sort_unstable();
    raw_returned.sort_unstable();

    // Phase 2: stage change → lab topic → lab-print → spool → delivery → printer.
    let pipeline_base = printer.connections();
    let measured_from: chrono::DateTime<chrono::Utc> = db
        .client()
        .await
        .query_one(
            "SELECT clock_timestamp() + make_interval(secs => $1)",
            &[&warmup.as_secs_f64()],
        )
        .await
        .unwrap()
        .get(0);
    let issued: Issued = Arc::new(Mutex::new(HashMap::new()));
    let mut ticker = tokio::time::interval(interval);
    let warmup_until = Instant::now() + warmup;
    let until = warmup_until + window;
    let mut step_tasks = Vec::new();
    let mut k = 0usize;
    while Instant::now() < until && k < ids.len() * MOVES.len() {
        ticker.tick().await;
        let (id, to) = (ids[k % ids.len()], MOVES[k / ids.len()]);
        k += 1;
        let (lab, issued) = (app.lab.clone(), Arc::clone(&issued));
        let at = Instant::now();
        let measured = at >= warmup_until;
        issued.lock().unwrap().insert((id, to), (at, None));
        step_tasks.push(tokio::spawn(async move {
            lab.step(
                id,
                LabStep::MoveTo {
                    to,
                    station_id: None,
                },
                &meta(tenant),
                None,
            )
            .await
            .expect("stage change");
            let committed = Instant::now();
            if let Some(entry) = issued.lock().unwrap().get_mut(&(id, to)) {
                entry.1 = Some(committed);
            }
            measured
        }));
    }
    let mut measured_moves = 0;
    for task in step_tasks {
        if task.await.unwrap() {
            measured_moves += 1;
        }
    }
    let all_printed = tokio::time::timeout(
        Duration::from_secs(60),
        printer.wait_for_connections(pipeline_base + k, Duration::from_secs(3600)),
    )
    .await
    .is_ok();

    let _ = stop_lab_print.send(());
    let _ = stop_relay.send(());
    lab_print_task.await.unwrap();
    relay_task.await.unwrap();

    // Match each printed job to its move by what the ticket says.
    let jobs = printer.jobs();
    let arrived = arrivals.lock().unwrap().clone();
    let issued = issued.lock().unwrap().clone();
    let mut to_printer = Vec::new();
    let mut commit_to_printer = Vec::new();
    let mut step_commit = Vec::new();
    let (mut unmatched, mut duplicates) = (0usize, 0usize);
    let mut seen: HashMap<(WorkOrderId, LabStage), usize> = HashMap::new();
    for (job, at) in jobs.iter().zip(&arrived).skip(pipeline_base) {
        let Some(key) = identify(job) else {
            unmatched += 1;
            continue;
        };
        let Some((start, committed)) = issued.get(&key) else {
            unmatched += 1;
            continue;
        };
        let count = seen.entry(key).or_insert(0);
        *count += 1;
        if *count > 1 {
            duplicates += 1;
            continue;
        }
        if *start < warmup_until {
            continue;
        }
        to_printer.push(at.saturating_duration_since(*start));
        if let Some(committed) = committed {
            commit_to_printer.push(at.saturating_duration_since(*committed));
            step_commit.push(committed.saturating_duration_since(*start));
        }
    }
    to_printer.sort_unstable();
    commit_to_printer.sort_unstable();
    step_commit.sort_unstable();

    let anatomy = anatomy(&db, measured_from).await;

    let mut table = Table::new(&[
        "latency",
        "pipeline: move issued → printer has the job",
        "ceiling: raw print issued → printer has the job",
        "ratio",
        "pipeline: commit → printer (info)",
        "move's commit (info)",
        "raw print returned (info)",
    ]);
    for (label, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)] {
        let (a, b) = (percentile(&to_printer, p), percentile(&raw_to_printer, p));
        table.row(vec![
            label.into(),
            ms(a),
            ms(b),
            times(a, b),
            ms(percentile(&commit_to_printer, p)),
            ms(percentile(&step_commit, p)),
            ms(percentile(&raw_returned, p)),
        ]);
    }
    table.row(vec![
        "printed / sent".into(),
        format!("{} / {measured_moves}", to_printer.len()),
        format!("{} / {}", raw_to_printer.len(), raw_to_printer.len()),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    println!();
    table.print();
    println!();
    println!(
        "Where the time goes, from the database's own timestamps of the same moves ({} tickets): the stage \
         change's `events.recorded_at`, the spool row's `created_at` and `printed_at`:",
        anatomy.count
    );
    let mut parts = Table::new(&["segment", "min", "p50", "p90", "p99", "max"]);
    for (label, values) in [
        (
            "commit → spooled (relay, broker, consumer fetch, loads, render, insert)",
            &anatomy.to_spooled,
        ),
        (
            "spooled → marked printed (delivery poll, claim, status + send, update)",
            &anatomy.to_printed,
        ),
    ] {
        let mut row = vec![label.to_owned()];
        row.extend(values.iter().map(|v| format!("{v:.2} ms")));
        parts.row(row);
    }
    parts.print();
    println!();
    println!(
        "The pipeline figure includes the move's commit, the relay's idle poll ({} ms), the producer's linger \
         ({linger} ms), the lab-print consumer's fetch wait (up to {fetch_wait} ms on tansu), two reads and a \
         render and an insert into the spool, the delivery loop's idle poll ({} ms), the claim, the checksum and \
         the same status query + send as the ceiling.",
        relay_poll.as_millis(),
        delivery_poll.as_millis()
    );
    if unmatched > 0 || duplicates > 0 || !all_printed {
        println!(
            "note: {unmatched} printed jobs matched no move, {duplicates} were printed twice; every move printed \
             within 60 s: {all_printed}"
        );
    }
}

/// Per-segment percentiles (min, p50, p90, p99, max, in ms) of the measured moves' tickets.
struct Anatomy {
    count: i64,
    to_spooled: Vec<f64>,
    to_printed: Vec<f64>,
}

/// Splits the measured moves' latency at the spool, by the database's timestamps (each is the
/// `now()` of its transaction): commit → ticket spooled → ticket marked printed.
async fn anatomy(db: &TestDatabase, from: chrono::DateTime<chrono::Utc>) -> Anatomy {
    let row = db
        .client()
        .await
        .query_one(
            "WITH t AS (
                 SELECT 1000 * extract(epoch FROM j.created_at - e.recorded_at)::float8 AS spooled,
                        1000 * extract(epoch FROM j.printed_at - j.created_at)::float8 AS printed
                   FROM lab_print_jobs j JOIN events e ON e.event_id = j.stage_change_id
                  WHERE j.stage <> 'received' AND e.recorded_at >= $1 AND j.printed_at IS NOT NULL)
             SELECT count(*),
                    percentile_disc(ARRAY[0.0, 0.5, 0.9, 0.99, 1.0]) WITHIN GROUP (ORDER BY spooled),
                    percentile_disc(ARRAY[0.0, 0.5, 0.9, 0.99, 1.0]) WITHIN GROUP (ORDER BY printed)
               FROM t",
            &[&from],
        )
        .await
        .unwrap();
    Anatomy {
        count: row.get(0),
        to_spooled: row.get::<_, Option<Vec<f64>>>(1).unwrap_or_default(),
        to_printed: row.get::<_, Option<Vec<f64>>>(2).unwrap_or_default(),
    }
}

/// Records when the printer finishes each connection (a job: status query + ticket).
fn watch_arrivals(printer: &Arc<FakeThermalPrinter>) -> Arrivals {
    let arrivals: Arrivals = Arc::new(Mutex::new(Vec::new()));
    let (printer, out) = (Arc::clone(printer), Arc::clone(&arrivals));
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            printer
                .wait_for_connections(seen + 1, Duration::from_secs(24 * 3600))
                .await;
            let at = Instant::now();
            let done = printer.connections();
            let mut arrivals = out.lock().unwrap();
            while arrivals.len() < done {
                arrivals.push(at);
            }
            seen = done;
        }
    });
    arrivals
}

/// The work order (from the QR code) and the stage (from the `STAGE - station` line) a
/// printed ticket is for.
fn identify(job: &[u8]) -> Option<(WorkOrderId, LabStage)> {
    let ticket = optical_testkit::escpos::decode(job).ok()?;
    let id: WorkOrderId = ticket.qr_codes.first()?.parse().ok()?;
    let text = ticket.text();
    let stage = MOVES.into_iter().find(|stage| {
        let printed = stage.as_str().replace('_', " ").to_uppercase();
        text.contains(&format!("{printed} - "))
    })?;
    Some((id, stage))
}

fn meta(tenant: TenantId) -> EventMetadata {
    EventMetadata::new_request(tenant, chrono::Utc::now(), "bench")
}

/// A patient with the progressive sample prescription, valid for two years.
async fn patient(app: &App, tenant: TenantId) -> (PatientId, PrescriptionId) {
    let patient = PatientId::new();
    app.customers
        .register(
            patient,
            PatientDetails {
                given_name: PersonName::new("Henrike").unwrap(),
                family_name: PersonName::new("Quintessa-Marchetti").unwrap(),
                date_of_birth: chrono::NaiveDate::from_ymd_opt(1984, 3, 9).unwrap(),
                sex: None,
                contacts: Contacts {
                    email: Some(Email::new("henrike@example.org").unwrap()),
                    phone: Some(PhoneNumber::new("+4930123456789").unwrap()),
                    address: None,
                },
                preferences: ContactPreferences::default(),
            },
            &meta(tenant),
            None,
        )
        .await
        .expect("register patient");
    let prescription = PrescriptionId::new();
    let today = chrono::Utc::now().date_naive();
    app.customers
        .record_prescription(
            NewPrescription {
                prescription_id: prescription,
                patient_id: patient,
                details: PrescriptionDetails {
                    refraction: optical_optics::samples::refraction(),
                    prescriber: Prescriber {
                        name: PrescriberName::new("Dr. Ada Brenner").unwrap(),
                        licence_number: LicenceNumber::new("LIC-4711").unwrap(),
                    },
                },
                issued_on: today - chrono::Duration::days(3),
                expires_on: today + chrono::Duration::days(700),
            },
            &meta(tenant),
            None,
        )
        .await
        .expect("record prescription");
    (patient, prescription)
}

fn times(figure: Duration, ceiling: Duration) -> String {
    if ceiling.is_zero() {
        return "n/a".into();
    }
    format!("{:.1}×", figure.as_secs_f64() / ceiling.as_secs_f64())
}
