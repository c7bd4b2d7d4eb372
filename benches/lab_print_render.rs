//! **lab_print_render** — CPU time to render one lab ticket as ESC/POS and as PDF, beside the
//! cost of merely writing the ticket's text out.
//!
//! Measured: `optical_lab_print::render_escpos(&Ticket::sample(), ThermalPaper::Roll80)` and
//! `render_pdf(&Ticket::sample(), PdfPage::A6)` / `PdfPage::Roll80`, one call at a time on one
//! thread, each call timed on its own (`Instant` around the call, ~30 ns of overhead), after a
//! short unreported warm-up. `Ticket::sample()` fills every field (two Rx rows with prism,
//! frame, lens, geometry, notes with accents, an STL part), so this is the largest ticket the
//! lab prints. Reported per ticket: mean, p50, p99, max, and the size of the document.
//!
//! Ceiling, measured in the same run on the same ticket: **the ticket's text content** — every
//! field of the ticket written once into one `String` (labels, separators and newlines, as
//! [`text_content`] does), with no layout, no code-page conversion, no QR code, no barcode, no
//! PDF objects or compression. Every renderer has to read each field and copy its text into
//! its output at least once, so this is the floor below which no renderer can go; the ratio
//! says how many times that floor each renderer costs. For information, `serde_json::to_vec`
//! of the same ticket (keys, quoting and escaping on top of the text) is timed the same way.
//!
//! Environment: `BENCH_ITERATIONS` (ESC/POS and text calls, default 2000),
//! `BENCH_PDF_ITERATIONS` (PDF calls per page size, default 300), `BENCH_WARMUP_ITERATIONS`
//! (unreported calls before each series, default 20).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use optical_benches::{env_usize, percentile, print_context, Table};
use optical_lab_print::{render_escpos, render_pdf, PdfPage, ThermalPaper, Ticket};
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn main() {
    let iterations = env_usize("BENCH_ITERATIONS", 2000).max(1);
    let pdf_iterations = env_usize("BENCH_PDF_ITERATIONS", 300).max(1);
    let warmup = env_usize("BENCH_WARMUP_ITERATIONS", 20);

    print_context("lab_print_render");
    let ticket = Ticket::sample();
    println!(
        "Ticket::sample() ({} Rx rows, {} geometry rows, {} part, {} chars of notes); {iterations} calls per \
         ESC/POS and text series, {pdf_iterations} per PDF series, {warmup} unreported warm-up calls each; one thread",
        ticket.rx.len(),
        ticket.geometry.len(),
        ticket.parts.len(),
        ticket.notes.chars().count()
    );

    // The floor first, then each renderer; every series on the same ticket.
    let text = series(iterations, warmup, || text_content(&ticket).into_bytes());
    let json = series(iterations, warmup, || serde_json::to_vec(&ticket).unwrap());
    let escpos = series(iterations, warmup, || {
        render_escpos(&ticket, ThermalPaper::Roll80).unwrap()
    });
    let pdf_a6 = series(pdf_iterations, warmup, || {
        render_pdf(&ticket, PdfPage::A6).unwrap()
    });
    let pdf_roll = series(pdf_iterations, warmup, || {
        render_pdf(&ticket, PdfPage::Roll80).unwrap()
    });

    let mut table = Table::new(&[
        "render",
        "calls",
        "bytes",
        "mean",
        "p50",
        "p99",
        "max",
        "ceiling: text content p50",
        "ratio p50",
    ]);
    for (label, s) in [
        ("text content (ceiling)", &text),
        ("serde_json::to_vec (info)", &json),
        ("render_escpos Roll80", &escpos),
        ("render_pdf A6", &pdf_a6),
        ("render_pdf Roll80", &pdf_roll),
    ] {
        table.row(vec![
            label.into(),
            s.samples.len().to_string(),
            s.bytes.to_string(),
            us(s.mean()),
            us(s.p(50.0)),
            us(s.p(99.0)),
            us(s.p(100.0)),
            us(text.p(50.0)),
            times(s.p(50.0), text.p(50.0)),
        ]);
    }
    println!();
    table.print();
    println!();
    println!(
        "Per ticket on one core: ESC/POS ≈ {:.0} tickets/s, PDF A6 ≈ {:.0} tickets/s (from the means).",
        per_second(escpos.mean()),
        per_second(pdf_a6.mean())
    );
}

/// Timed calls of one renderer, sorted, and the size of what it produced.
struct Series {
    samples: Vec<Duration>,
    bytes: usize,
}

impl Series {
    fn p(&self, p: f64) -> Duration {
        percentile(&self.samples, p)
    }

    fn mean(&self) -> Duration {
        let total: Duration = self.samples.iter().sum();
        total / u32::try_from(self.samples.len()).unwrap_or(u32::MAX).max(1)
    }
}

/// `warmup` unreported calls of `render`, then `iterations` calls each timed on its own.
fn series(iterations: usize, warmup: usize, mut render: impl FnMut() -> Vec<u8>) -> Series {
    let mut bytes = 0;
    for _ in 0..warmup {
        bytes = black_box(render()).len();
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let out = black_box(render());
        samples.push(started.elapsed());
        bytes = out.len();
    }
    samples.sort_unstable();
    Series { samples, bytes }
}

/// Every field of the ticket, once, as plain text: what any renderer must at least read and
/// copy. Labels and separators keep it comparable to a printed ticket's text, nothing more.
fn text_content(ticket: &Ticket) -> String {
    let mut out = String::with_capacity(1024);
    let _ = writeln!(out, "{}", ticket.number);
    let _ = writeln!(out, "{} - {}", ticket.stage, ticket.station);
    let _ = writeln!(out, "{}", ticket.at);
    let _ = writeln!(
        out,
        "Patient {} Order {}",
        ticket.patient_initials, ticket.order_id
    );
    for line in &ticket.rx {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {}",
            line.eye, line.sphere, line.cylinder, line.axis, line.add, line.prism, line.base
        );
    }
    let _ = writeln!(
        out,
        "PD {} NPD {} SEG HT {}",
        ticket.pd, ticket.near_pd, ticket.segment_height
    );
    if let Some(frame) = &ticket.frame {
        let _ = writeln!(
            out,
            "{} {} A {} B {} DBL {} ED {}",
            frame.brand, frame.model, frame.a, frame.b, frame.dbl, frame.ed
        );
    }
    let lens = &ticket.lens;
    let _ = writeln!(
        out,
        "{} {} {} {} {} {}",
        lens.description, lens.material, lens.index, lens.design, lens.coatings, lens.tint
    );
    for line in &ticket.geometry {
        let _ = writeln!(
            out,
            "{} {} {} {}",
            line.eye, line.decentration, line.minimum_blank, line.induced_prism
        );
    }
    let _ = writeln!(out, "{}", ticket.notes);
    let _ = writeln!(out, "DUE {}", ticket.due_on);
    for part in &ticket.parts {
        let _ = writeln!(
            out,
            "{} {} {}",
            part.file_name, part.size_bytes, part.sha256
        );
    }
    let _ = writeln!(out, "{}", ticket.work_order_id);
    out
}

fn us(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros >= 1000.0 {
        format!("{:.2} ms", micros / 1e3)
    } else if micros >= 10.0 {
        format!("{micros:.1} µs")
    } else {
        format!("{micros:.2} µs")
    }
}

fn times(figure: Duration, ceiling: Duration) -> String {
    if ceiling.is_zero() {
        return "n/a".into();
    }
    format!("{:.0}×", figure.as_secs_f64() / ceiling.as_secs_f64())
}

fn per_second(d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        1.0 / d.as_secs_f64()
    }
}
