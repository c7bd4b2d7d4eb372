//! PDF tickets checked by independent tools (qpdf, pdftotext, pdftoppm + zbarimg) and
//! delivered over IPP to CUPS's reference printer, `ippeveprinter`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use optical_lab_print::{render_pdf, DeliveryError, IppPrinter, PdfPage, Ticket};
use optical_testkit::ipp::IppEvePrinter;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "lab-print-{tag}-{}",
            optical_testkit::unique_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (run scripts/services.sh)"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn qpdf_check(path: &Path) {
    let out = run("qpdf", &["--check", path.to_str().unwrap()]);
    assert!(out.contains("No syntax or stream encoding errors"), "{out}");
}

fn rendered(page: PdfPage, dir: &TempDir) -> PathBuf {
    let bytes = render_pdf(&Ticket::sample(), page).unwrap();
    let path = dir.0.join(format!("{page:?}.pdf"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn pdf_is_valid_and_its_text_extractable() {
    let dir = TempDir::new("text");
    for page in [PdfPage::A6, PdfPage::Roll80] {
        let pdf = rendered(page, &dir);
        qpdf_check(&pdf);
        let text = run("pdftotext", &["-enc", "UTF-8", pdf.to_str().unwrap(), "-"]);
        for expected in [
            "WO-000042",
            "EDGING",
            "Edger 2",
            "2026-11-22 14:05 UTC",
            "J. V. D.",
            "SPH",
            "PRISM",
            "+1.25",
            "-0.50",
            "-0.75",
            "+2.00",
            "31.5 / 32",
            "Lindberg Strip 9704 Çelik",
            "Varilux X 1.67",
            "anti_reflective, hard_coat",
            "0.44 OUT",
            "wünscht",
            "2026-11-25",
            "nose-pad-left.stl",
            "48213 bytes",
        ] {
            assert!(
                text.contains(expected),
                "{page:?}: {expected:?} missing from\n{text}"
            );
        }
        // Geometry tables etc. fit one A6 page for the sample.
        let info = run("pdfinfo", &[pdf.to_str().unwrap()]);
        assert!(info.contains("Pages:           1"), "{page:?}: {info}");
    }
}

#[test]
fn roll_page_is_80_mm_wide_and_a6_is_a6() {
    let dir = TempDir::new("size");
    let a6 = run("pdfinfo", &[rendered(PdfPage::A6, &dir).to_str().unwrap()]);
    assert!(a6.contains("297.64 x 419.53 pts"), "{a6}");
    let roll = run(
        "pdfinfo",
        &[rendered(PdfPage::Roll80, &dir).to_str().unwrap()],
    );
    assert!(roll.contains(" 226.77 x "), "{roll}");
}

#[test]
fn qr_code_decodes_to_the_work_order_id() {
    let dir = TempDir::new("qr");
    for page in [PdfPage::A6, PdfPage::Roll80] {
        let pdf = rendered(page, &dir);
        let prefix = dir.0.join(format!("{page:?}"));
        run(
            "pdftoppm",
            &[
                "-r",
                "300",
                "-png",
                "-singlefile",
                pdf.to_str().unwrap(),
                prefix.to_str().unwrap(),
            ],
        );
        let png = prefix.with_extension("png");
        let decoded = run("zbarimg", &["--raw", "-q", png.to_str().unwrap()]);
        assert_eq!(decoded.trim(), Ticket::sample().work_order_id, "{page:?}");
    }
}

#[test]
fn long_notes_continue_on_a_second_a6_page() {
    let mut ticket = Ticket::sample();
    ticket.notes = "Check the bevel against the frame groove before polishing. ".repeat(30);
    let dir = TempDir::new("long");
    let a6 = dir.0.join("a6.pdf");
    std::fs::write(&a6, render_pdf(&ticket, PdfPage::A6).unwrap()).unwrap();
    qpdf_check(&a6);
    let info = run("pdfinfo", &[a6.to_str().unwrap()]);
    assert!(info.contains("Pages:           2"), "{info}");
    let roll = dir.0.join("roll.pdf");
    std::fs::write(&roll, render_pdf(&ticket, PdfPage::Roll80).unwrap()).unwrap();
    let info = run("pdfinfo", &[roll.to_str().unwrap()]);
    assert!(info.contains("Pages:           1"), "{info}");
}

#[tokio::test]
async fn ippeveprinter_prints_the_pdf() {
    let printer = IppEvePrinter::start();
    let client = IppPrinter::with_timeouts(
        &printer.uri(),
        Duration::from_secs(5),
        Duration::from_secs(60),
    )
    .unwrap();
    let formats = client.document_formats().await.unwrap();
    assert!(
        formats.iter().any(|f| f == "application/pdf"),
        "{formats:?}"
    );

    let pdf = render_pdf(&Ticket::sample(), PdfPage::A6).unwrap();
    let outcome = client
        .print(&pdf, "application/pdf", "WO-000042 EDGING")
        .await
        .unwrap();
    assert!(outcome.job_id > 0);

    let kept = printer.kept_files();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(&kept[0]).unwrap(), pdf);
    qpdf_check(&kept[0]);
}

#[tokio::test]
async fn aborted_job_is_failed() {
    let printer = IppEvePrinter::start_failing();
    let client = IppPrinter::new(&printer.uri()).unwrap();
    let pdf = render_pdf(&Ticket::sample(), PdfPage::Roll80).unwrap();
    let result = client.print(&pdf, "application/pdf", "WO-000042").await;
    assert!(
        matches!(&result, Err(DeliveryError::Failed(m)) if m.contains("aborted")),
        "{result:?}"
    );
}

#[tokio::test]
async fn printer_without_pdf_refuses() {
    let printer = IppEvePrinter::start_with_formats(&["image/pwg-raster"]);
    let client = IppPrinter::new(&printer.uri()).unwrap();
    let pdf = render_pdf(&Ticket::sample(), PdfPage::A6).unwrap();
    let result = client.print(&pdf, "application/pdf", "WO-000042").await;
    assert!(
        matches!(&result, Err(DeliveryError::Refused(m)) if m.contains("application/pdf")),
        "{result:?}"
    );
    assert!(printer.kept_files().is_empty());
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    let port = optical_testkit::free_port();
    let client = IppPrinter::with_timeouts(
        &format!("ipp://127.0.0.1:{port}/ipp/print"),
        Duration::from_secs(2),
        Duration::from_secs(5),
    )
    .unwrap();
    let result = client.print(b"%PDF-1.7", "application/pdf", "x").await;
    assert!(
        matches!(result, Err(DeliveryError::Unreachable(_))),
        "{result:?}"
    );
    let formats = client.document_formats().await;
    assert!(
        matches!(formats, Err(DeliveryError::Unreachable(_))),
        "{formats:?}"
    );
}

#[tokio::test]
async fn failed_tls_handshake_is_unreachable_not_a_panic() {
    // ippeveprinter takes TLS on its port but drops our handshake (no usable certificate
    // in a throwaway HOME). What matters: the rustls stack is set up, so reqwest does not
    // panic for want of a crypto provider, and the failure is one worth retrying.
    let printer = IppEvePrinter::start();
    let uri = printer.uri().replace("ipp://", "ipps://");
    let client = IppPrinter::new(&uri).unwrap();
    let result = client.document_formats().await;
    assert!(
        matches!(&result, Err(DeliveryError::Unreachable(_))),
        "{result:?}"
    );
}
