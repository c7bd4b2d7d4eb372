//! ESC/POS rendering of a [`Ticket`] for 80 mm (48 columns) and 58 mm (32 columns) thermal
//! printers: Windows-1252 text, a native QR code of the work order id (`GS ( k`), a CODE128
//! barcode of its number (`GS k`), then a feed and a full cut.
//!
//! The ticket is laid out here, line by line, so that no text line is ever wider than the
//! paper: a printer wraps an over-long line on its own, in the middle of a word or a value.
//! The `escpos` crate builds the commands into an in-memory driver, so rendering is pure.

use std::cell::RefCell;

use escpos::driver::Driver;
use escpos::errors::PrinterError;
use escpos::printer::Printer;
use escpos::printer_options::PrinterOptions;
use escpos::utils::{
    JustifyMode, PageCode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption,
};

use crate::{RenderError, Ticket};

/// The paper roll of a thermal printer, in columns of font A (12×24 dots).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThermalPaper {
    /// 80 mm paper: 48 columns, 576 dots.
    Roll80,
    /// 58 mm paper: 32 columns, 384 dots.
    Roll58,
}

impl ThermalPaper {
    /// Characters of font A at normal size on one line.
    pub fn columns(self) -> usize {
        match self {
            Self::Roll80 => 48,
            Self::Roll58 => 32,
        }
    }

    /// Printable width in dots (203 dpi heads).
    fn dots(self) -> usize {
        match self {
            Self::Roll80 => 576,
            Self::Roll58 => 384,
        }
    }

    /// QR module size in dots: large enough to scan from a lab bench, small enough to fit.
    fn qr_module(self) -> u8 {
        match self {
            Self::Roll80 => 6,
            Self::Roll58 => 5,
        }
    }
}

/// Renders `ticket` as one ESC/POS job: initialise, code page WPC1252, content, QR code,
/// CODE128 barcode, feed, cut. Characters WPC1252 cannot print become `?`.
pub fn render_escpos(ticket: &Ticket, paper: ThermalPaper) -> Result<Vec<u8>, RenderError> {
    let mut out = Output::new(paper);
    out.init()?;
    header(&mut out, ticket)?;
    rx(&mut out, ticket)?;
    frame_and_lens(&mut out, ticket)?;
    geometry(&mut out, ticket)?;
    if !ticket.notes.trim().is_empty() {
        out.section("NOTES")?;
        out.wrapped(&ticket.notes)?;
    }
    if !ticket.due_on.is_empty() {
        out.rule()?;
        out.bold(true)?;
        out.wrapped(&format!("DUE {}", ticket.due_on))?;
        out.bold(false)?;
    }
    parts(&mut out, ticket)?;
    out.rule()?;
    out.codes(ticket)?;
    out.finish()
}

fn header(out: &mut Output, ticket: &Ticket) -> Result<(), RenderError> {
    out.justify(JustifyMode::CENTER)?;
    out.bold(true)?;
    out.large(true)?;
    out.wrapped(&ticket.number)?;
    out.large(false)?;
    out.bold(false)?;
    let place = [ticket.stage.as_str(), ticket.station.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" - ");
    out.wrapped(&place)?;
    out.wrapped(&ticket.at)?;
    out.justify(JustifyMode::LEFT)?;
    out.rule()?;
    out.flow(&[
        labelled("Patient", &ticket.patient_initials),
        labelled("Order", &ticket.order_id),
    ])
}

fn rx(out: &mut Output, ticket: &Ticket) -> Result<(), RenderError> {
    out.section("RX")?;
    let rows: Vec<Vec<&str>> = ticket
        .rx
        .iter()
        .map(|line| {
            vec![
                line.eye.as_str(),
                &line.sphere,
                &line.cylinder,
                &line.axis,
                &line.add,
                &line.prism,
                &line.base,
            ]
        })
        .collect();
    out.table(&["", "SPH", "CYL", "AX", "ADD", "PRISM", "BASE"], &rows)?;
    out.flow(&[
        labelled("PD", &ticket.pd),
        labelled("NPD", &ticket.near_pd),
        labelled("SEG HT", &ticket.segment_height),
    ])
}

fn frame_and_lens(out: &mut Output, ticket: &Ticket) -> Result<(), RenderError> {
    if let Some(frame) = &ticket.frame {
        out.section("FRAME")?;
        out.wrapped(&format!("{} {}", frame.brand, frame.model))?;
        out.flow(&[
            labelled("A", &frame.a),
            labelled("B", &frame.b),
            labelled("DBL", &frame.dbl),
            labelled("ED", &frame.ed),
        ])?;
    }
    let lens = &ticket.lens;
    out.section("LENS")?;
    out.wrapped(&lens.description)?;
    out.flow(&[
        labelled("Material", &lens.material),
        labelled("Index", &lens.index),
        labelled("Design", &lens.design),
    ])?;
    out.wrapped(&labelled("Coatings", &lens.coatings))?;
    out.wrapped(&labelled("Tint", &lens.tint))
}

fn geometry(out: &mut Output, ticket: &Ticket) -> Result<(), RenderError> {
    if ticket.geometry.is_empty() {
        return Ok(());
    }
    out.section("GEOMETRY")?;
    let rows: Vec<Vec<&str>> = ticket
        .geometry
        .iter()
        .map(|eye| {
            vec![
                eye.eye.as_str(),
                &eye.decentration,
                &eye.minimum_blank,
                &eye.induced_prism,
            ]
        })
        .collect();
    out.table(&["", "DECENTR", "MIN BLANK", "IND PRISM"], &rows)
}

fn parts(out: &mut Output, ticket: &Ticket) -> Result<(), RenderError> {
    if ticket.parts.is_empty() {
        return Ok(());
    }
    out.section("3D PARTS")?;
    for part in &ticket.parts {
        out.wrapped(&part.file_name)?;
        out.wrapped(&format!("{} bytes", part.size_bytes))?;
        // Groups of eight are easier to compare by eye against a file listing.
        let hash = part
            .sha256
            .as_bytes()
            .chunks(8)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        out.wrapped(&format!("SHA-256 {hash}"))?;
    }
    Ok(())
}

/// `label value`, or nothing without a value (a layout helper drops empty items).
fn labelled(label: &str, value: &str) -> String {
    if value.trim().is_empty() {
        String::new()
    } else {
        format!("{label} {value}")
    }
}

/// Collects the printer's output in memory instead of sending it anywhere.
#[derive(Default)]
struct Buffer(RefCell<Vec<u8>>);

impl Driver for Buffer {
    fn name(&self) -> String {
        "memory".into()
    }

    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }

    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }

    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

fn failed(error: PrinterError) -> RenderError {
    RenderError::Render(error.to_string())
}

/// The printer being written to, with the width of the current text size.
struct Output {
    printer: Printer<Buffer>,
    paper: ThermalPaper,
    large: bool,
}

impl Output {
    fn new(paper: ThermalPaper) -> Self {
        let mut options = PrinterOptions::default();
        options.page_code(Some(PAGE_CODE));
        // 48 and 32 always fit a u8.
        options.characters_per_line(u8::try_from(paper.columns()).unwrap_or(u8::MAX));
        Self {
            printer: Printer::new(Buffer::default(), Protocol::default(), Some(options)),
            paper,
            large: false,
        }
    }

    /// Columns available at the current text size.
    fn width(&self) -> usize {
        if self.large {
            self.paper.columns() / 2
        } else {
            self.paper.columns()
        }
    }

    /// `ESC @`, then `ESC t` for the code page (the crate sends it with `init`).
    fn init(&mut self) -> Result<(), RenderError> {
        self.printer.init().map_err(failed)?;
        Ok(())
    }

    fn justify(&mut self, mode: JustifyMode) -> Result<(), RenderError> {
        self.printer.justify(mode).map_err(failed)?;
        Ok(())
    }

    fn bold(&mut self, on: bool) -> Result<(), RenderError> {
        self.printer.bold(on).map_err(failed)?;
        Ok(())
    }

    /// Double width and height, for the work order number.
    fn large(&mut self, on: bool) -> Result<(), RenderError> {
        if on {
            self.printer.size(2, 2).map_err(failed)?;
        } else {
            self.printer.reset_size().map_err(failed)?;
        }
        self.large = on;
        Ok(())
    }

    /// One line that is known to fit; anything else goes through [`Output::wrapped`].
    fn line(&mut self, text: &str) -> Result<(), RenderError> {
        debug_assert!(text.chars().count() <= self.width());
        self.printer.writeln(text).map_err(failed)?;
        Ok(())
    }

    fn lines(&mut self, lines: Vec<String>) -> Result<(), RenderError> {
        lines.iter().try_for_each(|line| self.line(line))
    }

    /// Word-wrapped text; nothing for empty text.
    fn wrapped(&mut self, text: &str) -> Result<(), RenderError> {
        let width = self.width();
        self.lines(wrap(&printable(text), width))
    }

    /// Short items side by side, as many per line as fit.
    fn flow(&mut self, items: &[String]) -> Result<(), RenderError> {
        let items: Vec<String> = items.iter().map(|item| printable(item)).collect();
        let width = self.width();
        self.lines(flow(&items, width))
    }

    fn table(&mut self, headers: &[&str], rows: &[Vec<&str>]) -> Result<(), RenderError> {
        let headers: Vec<String> = headers.iter().map(|cell| printable(cell)).collect();
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|row| row.iter().map(|cell| printable(cell)).collect())
            .collect();
        let width = self.width();
        self.lines(table(&headers, &rows, width))
    }

    fn rule(&mut self) -> Result<(), RenderError> {
        let rule = "-".repeat(self.width());
        self.line(&rule)
    }

    fn section(&mut self, title: &str) -> Result<(), RenderError> {
        self.rule()?;
        self.bold(true)?;
        self.wrapped(title)?;
        self.bold(false)
    }

    /// The QR code of the work order id and the CODE128 barcode of its number, centred.
    fn codes(&mut self, ticket: &Ticket) -> Result<(), RenderError> {
        self.justify(JustifyMode::CENTER)?;
        let option = QRCodeOption::new(
            QRCodeModel::Model2,
            self.paper.qr_module(),
            QRCodeCorrectionLevel::M,
        );
        self.printer
            .qrcode_option(&ticket.work_order_id, option)
            .map_err(failed)?;
        let barcode = code128(&ticket.number, self.paper.dots())?;
        self.printer.custom(&barcode).map_err(failed)?;
        self.justify(JustifyMode::LEFT)
    }

    fn finish(mut self) -> Result<Vec<u8>, RenderError> {
        self.printer
            .feeds(3)
            .and_then(|printer| printer.print_cut())
            .map_err(failed)?;
        Ok(self.printer.driver().0.into_inner())
    }
}

/// Windows-1252: accented Latin letters, `€`, and `ESC t 16` on Epson and compatibles.
const PAGE_CODE: PageCode = PageCode::WPC1252;

/// The Windows-1252 characters above Latin-1's (0x80–0x9F).
const WPC1252_EXTRAS: &str = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ";

/// `text` with every character the code page cannot print replaced by `?`, tabs by spaces.
/// Line breaks stay: [`wrap`] turns them into paragraphs.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' => '\n',
            '\t' | '\r' => ' ',
            ' '..='~' | '\u{A0}'..='\u{FF}' => c,
            _ if WPC1252_EXTRAS.contains(c) => c,
            _ => '?',
        })
        .collect()
}

/// Word-wraps `text` to `width` columns (one column per character once [`printable`]);
/// words longer than a line are split.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for word in paragraph.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            if used > 0 && used + 1 + word.len() <= width {
                line.push(' ');
                line.extend(&word);
                used += 1 + word.len();
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
            }
            while word.len() > width {
                lines.push(word.drain(..width).collect());
            }
            used = word.len();
            line.extend(word);
        }
        if used > 0 {
            lines.push(line);
        }
    }
    lines
}

/// Non-empty `items` two spaces apart, as many per line as fit; an item wider than a line
/// is wrapped on its own.
fn flow(items: &[String], width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for item in items
        .iter()
        .map(|item| item.trim())
        .filter(|i| !i.is_empty())
    {
        let len = item.chars().count();
        let used = line.chars().count();
        if used > 0 && used + 2 + len <= width {
            line.push_str("  ");
            line.push_str(item);
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
        }
        if len <= width {
            line.push_str(item);
        } else {
            lines.extend(wrap(item, width));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A table whose first column names the row (`OD`, `OS`). Columns that do not fit beside
/// each other continue in a second block under the first, each block repeating the first
/// column, so the 32-column paper shows the whole Rx without wrapping values.
fn table(headers: &[String], rows: &[Vec<String>], width: usize) -> Vec<String> {
    let widths: Vec<usize> = (0..headers.len())
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .chain(std::iter::once(&headers[column]))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let Some((&key, rest)) = widths.split_first() else {
        return Vec::new();
    };
    // Greedy blocks of columns 1.. that fit after the key column.
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    let mut used = key;
    for (offset, column_width) in rest.iter().enumerate() {
        let column = offset + 1;
        match blocks.last_mut() {
            Some(block) if used + 1 + column_width <= width => block.push(column),
            _ => {
                blocks.push(vec![column]);
                used = key;
            }
        }
        used += 1 + column_width;
    }
    let render = |cells: &[String], block: &[usize]| -> Vec<String> {
        let mut line = pad(&cells[0], key);
        for &column in block {
            line.push(' ');
            line.push_str(&pad(
                cells.get(column).map(String::as_str).unwrap_or(""),
                widths[column],
            ));
        }
        // A column too wide for the paper on its own still must not overflow.
        wrap_hard(line.trim_end(), width)
    };
    let mut lines = Vec::new();
    for block in &blocks {
        lines.extend(render(headers, block));
        for row in rows {
            lines.extend(render(row, block));
        }
    }
    lines
}

fn pad(cell: &str, width: usize) -> String {
    format!("{cell:<width$}")
}

/// Splits a line at exactly `width` characters, keeping its inner spacing.
fn wrap_hard(line: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    chars
        .chunks(width.max(1))
        .map(|chunk| chunk.iter().collect::<String>().trim_end().to_owned())
        .collect()
}

/// `GS H 2` (text under), `GS f 0`, `GS h 80`, `GS w n`, `GS k 73 len {B data`: CODE128 in
/// code set B, with the widest modules that fit the paper. The `escpos` crate has no
/// CODE128, so the command is built here.
fn code128(number: &str, dots: usize) -> Result<Vec<u8>, RenderError> {
    let mut data = b"{B".to_vec();
    for c in number.chars() {
        match c {
            // `{` introduces a code set change; a literal one is written twice.
            '{' => data.extend_from_slice(b"{{"),
            ' '..='~' => data.push(c as u8),
            _ => data.push(b'?'),
        }
    }
    let symbols = data.len() - 2;
    // Start, data, check: 11 modules each; stop: 13; quiet zones: 10 on each side.
    let modules = 11 * (symbols + 2) + 13 + 20;
    let module_width = (1..=3)
        .rev()
        .find(|width| modules * width <= dots)
        .ok_or_else(|| RenderError::Render(format!("number {number:?} too long for CODE128")))?;
    let length = u8::try_from(data.len())
        .map_err(|_| RenderError::Render(format!("number {number:?} too long for CODE128")))?;
    let mut command = vec![0x1D, b'H', 2, 0x1D, b'f', 0, 0x1D, b'h', 80, 0x1D, b'w'];
    command.push(u8::try_from(module_width).unwrap_or(1));
    command.extend_from_slice(&[0x1D, b'k', 73, length]);
    command.extend_from_slice(&data);
    Ok(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|line| (*line).to_owned()).collect()
    }

    #[test]
    fn printable_keeps_latin_and_replaces_the_rest() {
        assert_eq!(printable("Çelik wünscht €5"), "Çelik wünscht €5");
        assert_eq!(printable("Łódź 東京\tx"), "?ód? ?? x");
    }

    #[test]
    fn wrap_breaks_between_words_and_splits_long_words() {
        assert_eq!(
            wrap("Thin edges, polish. Kundin", 12),
            strings(&["Thin edges,", "polish.", "Kundin"])
        );
        assert_eq!(wrap("abcdefghij", 4), strings(&["abcd", "efgh", "ij"]));
        assert_eq!(wrap("a\n\nb", 10), strings(&["a", "b"]));
        assert!(wrap("   ", 10).is_empty());
    }

    #[test]
    fn flow_packs_items_and_skips_empty_ones() {
        let items = strings(&["PD 63.5", "", "NPD 60", "SEG HT 18 / 18"]);
        assert_eq!(
            flow(&items, 20),
            strings(&["PD 63.5  NPD 60", "SEG HT 18 / 18"])
        );
    }

    #[test]
    fn narrow_tables_continue_in_a_second_block() {
        let headers = strings(&["", "SPH", "CYL", "AX", "ADD", "PRISM", "BASE"]);
        let rows = vec![strings(&[
            "OD", "+1.25", "-0.50", "90", "+2.00", "1.00", "IN",
        ])];
        let wide = table(&headers, &rows, 48);
        assert_eq!(wide.len(), 2);
        assert_eq!(wide[1], "OD +1.25 -0.50 90 +2.00 1.00  IN");
        let narrow = table(&headers, &rows, 20);
        assert!(narrow.iter().all(|line| line.chars().count() <= 20));
        assert_eq!(narrow.len(), 4);
        assert_eq!(narrow[1], "OD +1.25 -0.50 90");
        assert_eq!(narrow[3], "OD +2.00 1.00  IN");
    }

    #[test]
    fn code128_uses_code_set_b_and_escapes_braces() {
        let command = code128("WO-{1}", 576).unwrap();
        let data = b"{BWO-{{1}";
        assert_eq!(command[command.len() - data.len()..], data[..]);
        assert_eq!(command[command.len() - data.len() - 1] as usize, data.len());
        assert!(code128(&"9".repeat(200), 576).is_err());
    }

    #[test]
    fn renders_every_paper() {
        for paper in [ThermalPaper::Roll80, ThermalPaper::Roll58] {
            let bytes = render_escpos(&Ticket::sample(), paper).unwrap();
            assert_eq!(bytes[..2], [0x1B, b'@']);
            assert_eq!(bytes[bytes.len() - 4..], [0x1D, b'V', b'A', 0]);
        }
    }
}
