//! The ESC/POS renderer, read back by the independent decoder in the testkit.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use optical_lab_print::{render_escpos, ThermalPaper, Ticket};
use optical_testkit::escpos::{decode, EscPosDocument};

fn rendered(ticket: &Ticket, paper: ThermalPaper) -> EscPosDocument {
    let bytes = render_escpos(ticket, paper).expect("render");
    decode(&bytes).unwrap_or_else(|error| panic!("{paper:?}: {error}"))
}

#[test]
fn the_sample_ticket_prints_everything_within_48_columns() {
    let ticket = Ticket::sample();
    let document = rendered(&ticket, ThermalPaper::Roll80);

    assert!(document.starts_with_init, "begins with ESC @");
    assert_eq!(document.code_page, Some(16), "WPC1252");
    assert_eq!(document.qr_codes, [ticket.work_order_id.as_str()]);
    assert_eq!(document.code128, [ticket.number.as_str()]);
    assert!(document.ends_with_cut);
    assert_eq!(document.cuts, 1);
    for line in &document.lines {
        assert!(line.columns <= 48, "too wide: {line:?}");
    }

    let text = document.text();
    // The number is printed large: double width.
    let number = document
        .lines
        .iter()
        .find(|line| line.text == "WO-000042")
        .expect("number line");
    assert_eq!(number.columns, 18);
    for expected in [
        "EDGING - Edger 2",
        "2026-11-22 14:05 UTC",
        "Patient J. V. D.",
        "Strip 9704 Çelik",
        "wünscht",
        "DUE 2026-11-25",
        "nose-pad-left.stl",
        "48213 bytes",
        "Varilux X 1.67 (LENS-PAL-167)",
        "Coatings anti_reflective, hard_coat",
        "PD 31.5 / 32  NPD 60  SEG HT 18 / 18",
        "A 52  B 40  DBL 18  ED 56",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(!text.contains("Tint"), "empty tint is left out");

    let texts = document.texts();
    let row = |prefix: &str| {
        texts
            .iter()
            .find(|line| line.starts_with(prefix))
            .copied()
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in\n{text}"))
    };
    assert!(texts.iter().any(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        words == ["SPH", "CYL", "AX", "ADD", "PRISM", "BASE"]
    }));
    let od: Vec<&str> = row("OD +1.25").split_whitespace().collect();
    assert_eq!(od, ["OD", "+1.25", "-0.50", "90", "+2.00", "1.00", "IN"]);
    let os: Vec<&str> = row("OS +1.00").split_whitespace().collect();
    assert_eq!(os, ["OS", "+1.00", "-0.75", "85", "+2.00"]);
    let od_geometry: Vec<&str> = row("OD 3.50").split_whitespace().collect();
    assert_eq!(od_geometry, ["OD", "3.50", "65", "0.44", "OUT"]);

    let hash: String = text
        .split("SHA-256")
        .nth(1)
        .expect("hash")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect();
    assert_eq!(hash, ticket.parts[0].sha256);
}

#[test]
fn the_58_mm_roll_keeps_within_32_columns_and_the_whole_rx() {
    let ticket = Ticket::sample();
    let document = rendered(&ticket, ThermalPaper::Roll58);
    for line in &document.lines {
        assert!(line.columns <= 32, "too wide: {line:?}");
    }
    assert_eq!(document.qr_codes, [ticket.work_order_id.as_str()]);
    assert_eq!(document.code128, [ticket.number.as_str()]);
    assert!(document.ends_with_cut);
    let text = document.text();
    for value in [
        "+1.25", "-0.50", "-0.75", "85", "1.00", "IN", "PRISM", "BASE",
    ] {
        assert!(text.contains(value), "missing {value:?} in\n{text}");
    }
    assert!(text.contains("Çelik"));
}

#[test]
fn what_the_code_page_cannot_print_becomes_a_question_mark() {
    let mut ticket = Ticket::sample();
    ticket.notes = "Łukasz: 東京 bevel ½ — ok".into();
    ticket.frame.as_mut().expect("frame").brand = "Øyne".into();
    let document = rendered(&ticket, ThermalPaper::Roll80);
    let text = document.text();
    assert!(text.contains("?ukasz: ?? bevel ½ — ok"), "{text}");
    assert!(text.contains("Øyne Strip"), "{text}");
}

#[test]
fn long_values_wrap_instead_of_overflowing() {
    let mut ticket = Ticket::sample();
    ticket.notes = "x".repeat(200) + " " + &"word ".repeat(40);
    ticket.station = "A station with a very long name indeed, longer than the paper".into();
    ticket.lens.coatings = "anti_reflective, hard_coat, blue_light, hydrophobic, oleophobic, \
                            mirror_silver, photochromic"
        .into();
    ticket.number = "WO-0000000000000042".into();
    for (paper, columns) in [(ThermalPaper::Roll80, 48), (ThermalPaper::Roll58, 32)] {
        let document = rendered(&ticket, paper);
        assert!(document.widest_line() <= columns, "{paper:?}");
        assert_eq!(document.code128, [ticket.number.as_str()]);
        // The 200-character word is split over lines of x's only, none of it lost.
        let joined = document.texts().concat();
        assert!(joined.contains(&"x".repeat(200)), "{paper:?}");
        assert!(!joined.contains(&"x".repeat(201)), "{paper:?}");
    }
}

#[test]
fn a_ticket_without_frame_geometry_or_parts_still_renders() {
    let mut ticket = Ticket::sample();
    ticket.frame = None;
    ticket.geometry.clear();
    ticket.parts.clear();
    ticket.notes.clear();
    ticket.due_on.clear();
    let document = rendered(&ticket, ThermalPaper::Roll80);
    let text = document.text();
    assert!(!text.contains("FRAME") && !text.contains("GEOMETRY") && !text.contains("PARTS"));
    assert!(!text.contains("NOTES") && !text.contains("DUE"));
    assert!(document.ends_with_cut);
}
