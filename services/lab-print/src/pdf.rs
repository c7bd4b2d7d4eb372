//! PDF lab tickets for IPP printers or download: the same content as the thermal ticket on
//! an A6 page or an 80 mm roll page, with a vector QR code of the work order id.
//!
//! Text uses the standard Helvetica fonts (nothing embedded) in WinAnsiEncoding, so accented
//! Latin text prints and stays extractable; characters outside it are approximated or become
//! `?`. The output holds no dates or random ids: the same ticket always gives the same bytes,
//! which the spooler relies on when it checks the SHA-256 of what it is about to send.

mod metrics;

use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream};
use qrcode::{Color, EcLevel, QrCode};

use crate::{RenderError, Ticket};

/// Points per millimetre.
const MM: f32 = 72.0 / 25.4;
/// Body text size in points.
const BODY: f32 = 7.5;
/// Section headings.
const HEADING: f32 = 8.5;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.3;
/// Light modules around the QR code, as the QR specification asks for scanners to lock on.
const QUIET_MODULES: usize = 4;

/// The page a PDF ticket is laid out on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PdfPage {
    /// 105 × 148 mm; content that does not fit continues on further pages.
    A6,
    /// 80 mm wide, as tall as the content: one page for a roll printer.
    Roll80,
}

impl PdfPage {
    fn width(self) -> f32 {
        match self {
            PdfPage::A6 => 105.0 * MM,
            PdfPage::Roll80 => 80.0 * MM,
        }
    }

    /// Roll printers print 72 mm of the 80 mm paper; 4 mm each side keeps text off the edge.
    fn margin(self) -> f32 {
        match self {
            PdfPage::A6 => 6.0 * MM,
            PdfPage::Roll80 => 4.0 * MM,
        }
    }

    fn fixed_height(self) -> Option<f32> {
        match self {
            PdfPage::A6 => Some(148.0 * MM),
            PdfPage::Roll80 => None,
        }
    }

    /// Side of the QR code including its quiet zone.
    fn qr_side(self) -> f32 {
        match self {
            PdfPage::A6 => 26.0 * MM,
            PdfPage::Roll80 => 24.0 * MM,
        }
    }
}

/// Renders `ticket` as a PDF document on `page`.
pub fn render_pdf(ticket: &Ticket, page: PdfPage) -> Result<Vec<u8>, RenderError> {
    let width = page.width() - 2.0 * page.margin();
    let mut flow = Flow::new(width);
    flow.blocks.push(header(ticket, page, width)?);
    body(ticket, &mut flow);
    let pages = paginate(page, flow.blocks);
    write_document(ticket, page, &pages)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    fn widths(self) -> &'static [u16; 224] {
        match self {
            Font::Regular => &metrics::HELVETICA,
            Font::Bold => &metrics::HELVETICA_BOLD,
        }
    }

    /// Width in points of WinAnsi-encoded `text` at `size`.
    fn measure(self, text: &[u8], size: f32) -> f32 {
        let widths = self.widths();
        let units: u32 = text
            .iter()
            .map(|&b| u32::from(widths[usize::from(b.saturating_sub(32))]))
            .sum();
        units as f32 * size / 1000.0
    }
}

/// A run of text; `x` and `baseline` are relative to its block's top-left corner, y down.
struct Span {
    x: f32,
    baseline: f32,
    font: Font,
    size: f32,
    text: Vec<u8>,
}

/// A filled rectangle, block-relative, y down to its top edge.
struct Rect {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

/// Something that stays on one page: a line of text, a table, the header.
#[derive(Default)]
struct Block {
    height: f32,
    spans: Vec<Span>,
    /// Horizontal rules: (x0, x1, y).
    rules: Vec<(f32, f32, f32)>,
    rects: Vec<Rect>,
    /// Vertical space only: dropped at the top of a page.
    gap: bool,
}

/// The ticket as a column of blocks of the content width.
struct Flow {
    width: f32,
    blocks: Vec<Block>,
}

impl Flow {
    fn new(width: f32) -> Self {
        Self {
            width,
            blocks: Vec::new(),
        }
    }

    fn gap(&mut self, height: f32) {
        self.blocks.push(Block {
            height,
            gap: true,
            ..Block::default()
        });
    }

    /// A bold title with a rule under it, space above.
    fn heading(&mut self, title: &str) {
        self.gap(BODY * 0.6);
        let height = HEADING * LEADING + 1.5;
        self.blocks.push(Block {
            height,
            spans: vec![Span {
                x: 0.0,
                baseline: HEADING,
                font: Font::Bold,
                size: HEADING,
                text: encode(title),
            }],
            rules: vec![(0.0, self.width, HEADING * LEADING)],
            ..Block::default()
        });
    }

    /// `label value`, the value wrapped under it when long; one block per line.
    fn field(&mut self, label: &str, value: &str) {
        let label = encode(label);
        let indent = if label.is_empty() {
            0.0
        } else {
            Font::Bold.measure(&label, BODY) + Font::Regular.measure(b" ", BODY)
        };
        let value = encode(value);
        let lines = wrap(&value, Font::Regular, BODY, self.width - indent, self.width);
        for (i, line) in lines.into_iter().enumerate() {
            let mut spans = Vec::new();
            let mut x = 0.0;
            if i == 0 && !label.is_empty() {
                spans.push(span(0.0, Font::Bold, BODY, label.clone()));
                x = indent;
            }
            spans.push(span(x, Font::Regular, BODY, line));
            self.blocks.push(line_block(spans, BODY));
        }
    }

    /// Short `label value` pairs side by side, wrapping to the next line when full.
    fn inline_fields(&mut self, fields: &[(&str, &str)]) {
        let space = Font::Regular.measure(b" ", BODY);
        let separator = space * 4.0;
        let mut spans = Vec::new();
        let mut x = 0.0_f32;
        for (label, value) in fields.iter().filter(|(_, v)| !v.trim().is_empty()) {
            let (label, value) = (encode(label), encode(value));
            let label_width = Font::Bold.measure(&label, BODY);
            let width = label_width + space + Font::Regular.measure(&value, BODY);
            if width > self.width {
                // Too long to sit beside anything: a field of its own.
                if !spans.is_empty() {
                    self.blocks
                        .push(line_block(std::mem::take(&mut spans), BODY));
                }
                x = 0.0;
                self.field(&decode(&label), &decode(&value));
                continue;
            }
            if x > 0.0 && x + separator + width > self.width {
                self.blocks
                    .push(line_block(std::mem::take(&mut spans), BODY));
                x = 0.0;
            }
            if x > 0.0 {
                x += separator;
            }
            spans.push(span(x, Font::Bold, BODY, label));
            spans.push(span(x + label_width + space, Font::Regular, BODY, value));
            x += width;
        }
        if !spans.is_empty() {
            self.blocks.push(line_block(spans, BODY));
        }
    }

    /// A table with a bold header row; `columns` are (title, fraction of the width).
    fn table(&mut self, columns: &[(&str, f32)], rows: &[Vec<&str>]) {
        let line = BODY * LEADING;
        let mut block = Block {
            height: line * (rows.len() + 1) as f32 + 1.0,
            ..Block::default()
        };
        let mut x = 0.0;
        for (column, (title, fraction)) in columns.iter().enumerate() {
            let cell_width = self.width * fraction - 2.0;
            block
                .spans
                .push(cell(x, BODY, Font::Bold, encode(title), cell_width));
            for (row, values) in rows.iter().enumerate() {
                let value = values.get(column).copied().unwrap_or_default();
                let baseline = line * (row + 1) as f32 + 1.0 + BODY;
                block
                    .spans
                    .push(cell(x, baseline, Font::Regular, encode(value), cell_width));
            }
            x += self.width * fraction;
        }
        block.rules.push((0.0, self.width, line - 0.5));
        self.blocks.push(block);
    }
}

fn span(x: f32, font: Font, size: f32, text: Vec<u8>) -> Span {
    Span {
        x,
        baseline: size,
        font,
        size,
        text,
    }
}

fn line_block(spans: Vec<Span>, size: f32) -> Block {
    let height = spans.iter().map(|s| s.size).fold(size, f32::max) * LEADING;
    let tallest = spans.iter().map(|s| s.size).fold(size, f32::max);
    Block {
        height,
        spans: spans
            .into_iter()
            .map(|s| Span {
                baseline: tallest,
                ..s
            })
            .collect(),
        ..Block::default()
    }
}

/// A table cell: shrinks the text (down to 5 pt) rather than overlap the next column.
fn cell(x: f32, baseline: f32, font: Font, text: Vec<u8>, width: f32) -> Span {
    let natural = font.measure(&text, BODY);
    let size = if natural > width && natural > 0.0 {
        (BODY * width / natural).max(5.0)
    } else {
        BODY
    };
    Span {
        x,
        baseline,
        font,
        size,
        text,
    }
}

/// The top of the ticket: number, stage, station, time, initials and due date on the left,
/// the QR code on the right.
fn header(ticket: &Ticket, page: PdfPage, width: f32) -> Result<Block, RenderError> {
    let side = page.qr_side();
    let mut block = Block {
        rects: qr_rects(&ticket.work_order_id, width - side, side)?,
        ..Block::default()
    };
    let column = width - side - 2.0;
    let mut y = 0.0;
    for (font, size, text) in [
        (Font::Bold, 18.0, ticket.number.as_str()),
        (Font::Bold, 11.0, &ticket.stage),
        (Font::Regular, 9.0, &ticket.station),
        (Font::Regular, BODY, &ticket.at),
    ] {
        header_line(&mut block, &mut y, column, font, size, text);
    }
    if !ticket.patient_initials.trim().is_empty() {
        let label = encode("Patient ");
        let label_width = Font::Regular.measure(&label, BODY);
        block.spans.push(Span {
            x: 0.0,
            baseline: y + 11.0,
            font: Font::Regular,
            size: BODY,
            text: label,
        });
        block.spans.push(Span {
            x: label_width,
            baseline: y + 11.0,
            font: Font::Bold,
            size: 11.0,
            text: encode(&ticket.patient_initials),
        });
        y += 11.0 * LEADING;
    }
    if !ticket.due_on.trim().is_empty() {
        let due = format!("Due {}", ticket.due_on);
        header_line(&mut block, &mut y, column, Font::Bold, 9.0, &due);
    }
    block.height = y.max(side);
    Ok(block)
}

/// One line of the header's text column at `y`, which it advances.
fn header_line(block: &mut Block, y: &mut f32, column: f32, font: Font, size: f32, text: &str) {
    let text = encode(text);
    if text.is_empty() {
        return;
    }
    // The number must stay on one line: shrink it to the column rather than wrap it.
    let natural = font.measure(&text, size);
    let size = if natural > column {
        size * column / natural
    } else {
        size
    };
    block.spans.push(Span {
        x: 0.0,
        baseline: *y + size,
        font,
        size,
        text,
    });
    *y += size * LEADING;
}

/// The QR code of `payload` as filled rectangles in a `side` square at (`x`, 0), quiet zone
/// included; horizontal runs of dark modules become one rectangle each.
fn qr_rects(payload: &str, x: f32, side: f32) -> Result<Vec<Rect>, RenderError> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| RenderError::Render(format!("QR code of {payload:?}: {e}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let module = side / (modules + 2 * QUIET_MODULES) as f32;
    let edge = |i: usize| round2((QUIET_MODULES + i) as f32 * module);
    let mut rects = Vec::new();
    for (row, line) in colors.chunks(modules).enumerate() {
        let mut col = 0;
        while col < modules {
            if line[col] != Color::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < modules && line[col] == Color::Dark {
                col += 1;
            }
            // Rounded edges, not rounded sizes, so neighbouring modules meet without seams.
            rects.push(Rect {
                x: x + edge(start),
                y: edge(row),
                w: edge(col) - edge(start),
                h: edge(row + 1) - edge(row),
            });
        }
    }
    Ok(rects)
}

fn body(ticket: &Ticket, flow: &mut Flow) {
    flow.heading("Rx");
    let rx: Vec<Vec<&str>> = ticket
        .rx
        .iter()
        .map(|r| {
            vec![
                r.eye.as_str(),
                &r.sphere,
                &r.cylinder,
                &r.axis,
                &r.add,
                &r.prism,
                &r.base,
            ]
        })
        .collect();
    flow.table(
        &[
            ("", 0.10),
            ("SPH", 0.15),
            ("CYL", 0.15),
            ("AX", 0.15),
            ("ADD", 0.15),
            ("PRISM", 0.15),
            ("BASE", 0.15),
        ],
        &rx,
    );
    flow.inline_fields(&[
        ("PD", &ticket.pd),
        ("NPD", &ticket.near_pd),
        ("Seg ht", &ticket.segment_height),
    ]);

    flow.heading("Frame");
    match &ticket.frame {
        Some(frame) => {
            flow.field("", &format!("{} {}", frame.brand, frame.model));
            flow.inline_fields(&[
                ("A", &frame.a),
                ("B", &frame.b),
                ("DBL", &frame.dbl),
                ("ED", &frame.ed),
            ]);
        }
        None => flow.field("", "not measured"),
    }

    flow.heading("Lens");
    let lens = &ticket.lens;
    if !lens.description.trim().is_empty() {
        flow.field("", &lens.description);
    }
    flow.inline_fields(&[
        ("Material", &lens.material),
        ("Index", &lens.index),
        ("Design", &lens.design),
    ]);
    if !lens.coatings.trim().is_empty() {
        flow.field("Coatings", &lens.coatings);
    }
    if !lens.tint.trim().is_empty() {
        flow.field("Tint", &lens.tint);
    }

    if !ticket.geometry.is_empty() {
        flow.heading("Geometry");
        let rows: Vec<Vec<&str>> = ticket
            .geometry
            .iter()
            .map(|g| {
                vec![
                    g.eye.as_str(),
                    &g.decentration,
                    &g.minimum_blank,
                    &g.induced_prism,
                ]
            })
            .collect();
        flow.table(
            &[
                ("", 0.10),
                ("Decentr. mm", 0.28),
                ("Min blank mm", 0.30),
                ("Ind. prism", 0.32),
            ],
            &rows,
        );
    }

    if !ticket.notes.trim().is_empty() {
        flow.heading("Notes");
        for paragraph in ticket.notes.lines() {
            flow.field("", paragraph);
        }
    }

    if !ticket.parts.is_empty() {
        flow.heading("3D-printed parts");
        for part in &ticket.parts {
            flow.field("STL", &part.file_name);
            flow.field("Size", &format!("{} bytes", part.size_bytes));
            flow.field("SHA-256", &part.sha256);
        }
    }
}

/// Greedy word wrap of encoded text; words wider than a line are broken between characters.
fn wrap(text: &[u8], font: Font, size: f32, first: f32, rest: f32) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let limit = |lines: &Vec<Vec<u8>>| if lines.is_empty() { first } else { rest };
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let mut word = word.to_vec();
        loop {
            let mut candidate = current.clone();
            if !candidate.is_empty() {
                candidate.push(b' ');
            }
            candidate.extend_from_slice(&word);
            if font.measure(&candidate, size) <= limit(&lines) {
                current = candidate;
                break;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
                continue;
            }
            // Alone and still too wide: cut it, at least one character per line.
            let mut cut = 1;
            while cut < word.len() && font.measure(&word[..=cut], size) <= limit(&lines) {
                cut += 1;
            }
            let tail = word.split_off(cut);
            lines.push(word);
            word = tail;
            if word.is_empty() {
                break;
            }
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Encodes `text` in WinAnsiEncoding (Windows-1252): Latin-1 as is, the 0x80–0x9F extras by
/// table, a few Latin Extended letters by their base letter, anything else as `?`.
fn encode(text: &str) -> Vec<u8> {
    text.chars().map(encode_char).collect()
}

fn encode_char(c: char) -> u8 {
    const EXTRAS: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('\u{2018}', 0x91),
        ('\u{2019}', 0x92),
        ('\u{201C}', 0x93),
        ('\u{201D}', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    // Letters of Central European and Turkish names, by their closest WinAnsi letter.
    const APPROXIMATE: [(&str, u8); 28] = [
        ("ĀĂĄ", b'A'),
        ("āăą", b'a'),
        ("ĆĈĊČ", b'C'),
        ("ćĉċč", b'c'),
        ("ĎĐ", b'D'),
        ("ďđ", b'd'),
        ("ĒĔĖĘĚ", b'E'),
        ("ēĕėęě", b'e'),
        ("ĜĞĠĢ", b'G'),
        ("ĝğġģ", b'g'),
        ("ĪĬĮİ", b'I'),
        ("īĭįı", b'i'),
        ("ŁĹĽĻ", b'L'),
        ("łĺľļ", b'l'),
        ("ŃŇŅ", b'N'),
        ("ńňņ", b'n'),
        ("ŐŌŎ", 0xD6),
        ("őōŏ", 0xF6),
        ("ŘŔŖ", b'R'),
        ("řŕŗ", b'r'),
        ("ŚŞŜȘ", b'S'),
        ("śşŝș", b's'),
        ("ŢŤȚ", b'T'),
        ("ţťț", b't'),
        ("ŰŮŪŬŲ", 0xDC),
        ("űůūŭų", 0xFC),
        ("ŹŻ", b'Z'),
        ("źż", b'z'),
    ];
    match u32::from(c) {
        0x20..=0x7E | 0xA0..=0xFF => return c as u8,
        0x09 | 0x0A | 0x0D => return b' ',
        _ => {}
    }
    if let Some(&(_, b)) = EXTRAS.iter().find(|(e, _)| *e == c) {
        return b;
    }
    APPROXIMATE
        .iter()
        .find(|(set, _)| set.contains(c))
        .map_or(b'?', |&(_, b)| b)
}

/// Back from WinAnsi to text, for re-wrapping already encoded strings (Latin-1 part only;
/// the 0x80–0x9F extras round-trip as `?`, which never happens for labels).
fn decode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x80..0xA0).contains(&b) {
                '?'
            } else {
                char::from(b)
            }
        })
        .collect()
}

fn round2(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

/// A page: its height and its blocks with their top offsets inside the content area.
struct PageLayout {
    height: f32,
    blocks: Vec<(f32, Block)>,
}

fn paginate(page: PdfPage, blocks: Vec<Block>) -> Vec<PageLayout> {
    let margin = page.margin();
    match page.fixed_height() {
        None => {
            let mut top = 0.0;
            let mut placed = Vec::new();
            for block in blocks {
                let height = block.height;
                placed.push((top, block));
                top += height;
            }
            vec![PageLayout {
                height: top + 2.0 * margin,
                blocks: placed,
            }]
        }
        Some(height) => {
            let room = height - 2.0 * margin;
            let mut pages = vec![PageLayout {
                height,
                blocks: Vec::new(),
            }];
            let mut top = 0.0;
            for block in blocks {
                if top > 0.0 && top + block.height > room {
                    pages.push(PageLayout {
                        height,
                        blocks: Vec::new(),
                    });
                    top = 0.0;
                }
                if top == 0.0 && block.gap {
                    continue;
                }
                let block_height = block.height;
                if let Some(current) = pages.last_mut() {
                    current.blocks.push((top, block));
                }
                top += block_height;
            }
            pages
        }
    }
}

fn real(v: f32) -> Object {
    Object::Real(round2(v))
}

fn page_content(layout: &PageLayout, margin: f32) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (top, block) in &layout.blocks {
        let y_top = layout.height - margin - top;
        for span in block.spans.iter().filter(|s| !s.text.is_empty()) {
            ops.push(Operation::new("BT", vec![]));
            ops.push(Operation::new(
                "Tf",
                vec![span.font.resource().into(), real(span.size)],
            ));
            ops.push(Operation::new(
                "Td",
                vec![real(margin + span.x), real(y_top - span.baseline)],
            ));
            ops.push(Operation::new(
                "Tj",
                vec![Object::string_literal(span.text.clone())],
            ));
            ops.push(Operation::new("ET", vec![]));
        }
        if !block.rules.is_empty() {
            ops.push(Operation::new("w", vec![real(0.5)]));
            for &(x0, x1, y) in &block.rules {
                ops.push(Operation::new(
                    "m",
                    vec![real(margin + x0), real(y_top - y)],
                ));
                ops.push(Operation::new(
                    "l",
                    vec![real(margin + x1), real(y_top - y)],
                ));
                ops.push(Operation::new("S", vec![]));
            }
        }
        if !block.rects.is_empty() {
            for r in &block.rects {
                ops.push(Operation::new(
                    "re",
                    vec![
                        real(margin + r.x),
                        real(y_top - r.y - r.h),
                        real(r.w),
                        real(r.h),
                    ],
                ));
            }
            ops.push(Operation::new("f", vec![]));
        }
    }
    ops
}

fn write_document(
    ticket: &Ticket,
    page: PdfPage,
    pages: &[PageLayout],
) -> Result<Vec<u8>, RenderError> {
    let failed = |what: &str, e: lopdf::Error| RenderError::Render(format!("PDF {what}: {e}"));
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = |name: &str| {
        dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => name,
            "Encoding" => "WinAnsiEncoding",
        }
    };
    let regular = doc.add_object(font("Helvetica"));
    let bold = doc.add_object(font("Helvetica-Bold"));
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => regular, "F2" => bold },
    });
    let margin = page.margin();
    let mut kids = Vec::new();
    for layout in pages {
        let content = Content {
            operations: page_content(layout, margin),
        }
        .encode()
        .map_err(|e| failed("content", e))?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
            "MediaBox" => vec![0.into(), 0.into(), real(page.width()), real(layout.height)],
        });
        kids.push(page_id.into());
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    // The title is what print queues show; ASCII only, as Info strings are not WinAnsi.
    let title: String = format!("Lab ticket {} {}", ticket.number, ticket.stage)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    let info = doc.add_object(dictionary! { "Title" => Object::string_literal(title) });
    doc.trailer.set("Info", info);
    doc.compress();
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes)
        .map_err(|e| RenderError::Render(format!("PDF write: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_latin_text_in_win_ansi() {
        assert_eq!(encode("Çelik"), b"\xC7elik");
        assert_eq!(encode("wünscht €"), b"w\xFCnscht \x80");
        assert_eq!(encode("Işık"), b"Isik");
        assert_eq!(encode("日本"), b"??");
    }

    #[test]
    fn wraps_words_and_cuts_overlong_ones() {
        let lines = wrap(b"aaa bbb ccc", Font::Regular, 10.0, 30.0, 30.0);
        assert_eq!(
            lines,
            vec![b"aaa".to_vec(), b"bbb".to_vec(), b"ccc".to_vec()]
        );
        let long = [b'9'; 40];
        let lines = wrap(&long, Font::Regular, 10.0, 50.0, 50.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| Font::Regular.measure(l, 10.0) <= 50.0));
        assert_eq!(lines.concat(), long.to_vec());
    }

    #[test]
    fn same_ticket_same_bytes() {
        let ticket = Ticket::sample();
        for page in [PdfPage::A6, PdfPage::Roll80] {
            let first = render_pdf(&ticket, page);
            assert!(first.as_ref().is_ok_and(|b| b.starts_with(b"%PDF-1.7")));
            assert_eq!(first, render_pdf(&ticket, page));
        }
    }
}
