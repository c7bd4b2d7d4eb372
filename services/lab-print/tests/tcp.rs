//! Raw TCP 9100 delivery against the testkit's fake thermal printer.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use optical_lab_print::{render_escpos, DeliveryError, RawTcpPrinter, ThermalPaper, Ticket};
use optical_testkit::thermal::{FakeThermalPrinter, ThermalState};

const WAIT: Duration = Duration::from_secs(5);

fn printer_at(address: &str) -> RawTcpPrinter {
    RawTcpPrinter::new(address, Duration::from_secs(2), Duration::from_secs(2))
}

#[tokio::test]
async fn a_ready_printer_receives_the_job_intact_after_the_status_queries() {
    let fake = FakeThermalPrinter::start().await;
    let bytes = render_escpos(&Ticket::sample(), ThermalPaper::Roll80).unwrap();

    printer_at(&fake.address()).print(&bytes).await.unwrap();

    let jobs = fake.wait_for_jobs(1, WAIT).await;
    assert_eq!(jobs, [bytes]);
    assert_eq!(fake.status_queries(), [1, 2, 4]);
}

#[tokio::test]
async fn status_reports_each_state() {
    let fake = FakeThermalPrinter::start().await;
    let printer = printer_at(&fake.address());
    let cases = [
        (ThermalState::Ready, None, false),
        (ThermalState::PaperNearEnd, None, true),
        (ThermalState::PaperOut, Some("paper end"), true),
        (ThermalState::CoverOpen, Some("cover open"), false),
        (ThermalState::Offline, Some("offline"), false),
    ];
    for (state, reason, near_end) in cases {
        fake.set_state(state);
        let status = printer.status().await.unwrap();
        assert_eq!(status.blocking_reason(), reason, "{state:?}");
        assert_eq!(status.paper_near_end, near_end, "{state:?}");
    }
    assert!(fake.jobs().is_empty(), "status queries are not jobs");
}

#[tokio::test]
async fn paper_out_sends_nothing_until_the_paper_is_back() {
    let fake = FakeThermalPrinter::start().await;
    let printer = printer_at(&fake.address());
    let bytes = render_escpos(&Ticket::sample(), ThermalPaper::Roll58).unwrap();

    fake.set_state(ThermalState::PaperOut);
    let refused = printer.print(&bytes).await;
    assert_eq!(refused, Err(DeliveryError::NotReady("paper end".into())));
    fake.set_state(ThermalState::CoverOpen);
    let refused = printer.print(&bytes).await;
    assert_eq!(refused, Err(DeliveryError::NotReady("cover open".into())));
    fake.wait_for_connections(2, WAIT).await;
    assert!(
        fake.jobs().is_empty(),
        "nothing but status queries was sent"
    );

    fake.set_state(ThermalState::Ready);
    printer.print(&bytes).await.unwrap();
    assert_eq!(fake.wait_for_jobs(1, WAIT).await, [bytes]);
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    // Bind, take the port, close: nothing listens there any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let printer = RawTcpPrinter::new(
        &format!("127.0.0.1:{port}"),
        Duration::from_millis(500),
        Duration::from_millis(500),
    );
    let started = Instant::now();
    let result = printer.print(b"never sent").await;
    assert!(
        matches!(result, Err(DeliveryError::Unreachable(_))),
        "{result:?}"
    );
    assert!(matches!(
        printer.status().await,
        Err(DeliveryError::Unreachable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_silent_peer_times_out_as_unreachable() {
    // Accepts but never answers the status query.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let printer = RawTcpPrinter::new(&address, Duration::from_secs(1), Duration::from_millis(200));
    let started = Instant::now();
    let result = printer.print(b"never sent").await;
    assert!(
        matches!(result, Err(DeliveryError::Unreachable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}
