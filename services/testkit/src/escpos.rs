//! An ESC/POS decoder for tests: walks a command stream the way a printer would and reports
//! what would come out on paper — text lines (decoded from the selected code page, with
//! their width in font A columns), QR payloads, CODE128 payloads and the cut.
//!
//! Written from the Epson ESC/POS reference, independently of any renderer, so that a
//! renderer's mistakes are not repeated here. Any command it does not know is an error: a
//! real printer would print such bytes as garbage or swallow the text that follows.

use std::fmt;

/// One printed line of text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextLine {
    pub text: String,
    /// Width on paper in font A columns: characters times the `GS !` width multiplier.
    pub columns: usize,
    pub bold: bool,
}

/// What a command stream prints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EscPosDocument {
    /// The stream begins with `ESC @`.
    pub starts_with_init: bool,
    /// The last `ESC t n`.
    pub code_page: Option<u8>,
    /// Every printed line, blank ones included, in order.
    pub lines: Vec<TextLine>,
    /// Payloads stored with `GS ( k` (QR, function 180), in order.
    pub qr_codes: Vec<String>,
    /// Payloads of `GS k 73` (CODE128), code set prefixes removed.
    pub code128: Vec<String>,
    /// Number of `GS V` cuts.
    pub cuts: usize,
    /// The last command is a cut.
    pub ends_with_cut: bool,
}

impl EscPosDocument {
    /// The text of every line.
    pub fn texts(&self) -> Vec<&str> {
        self.lines.iter().map(|line| line.text.as_str()).collect()
    }

    /// All lines joined with `\n`, for `contains` checks.
    pub fn text(&self) -> String {
        self.texts().join("\n")
    }

    /// The widest line, in font A columns.
    pub fn widest_line(&self) -> usize {
        self.lines
            .iter()
            .map(|line| line.columns)
            .max()
            .unwrap_or(0)
    }
}

/// Why a stream cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset of the command that failed.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for DecodeError {}

const LF: u8 = 0x0A;
const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;

/// Decodes `bytes` as an ESC/POS job.
pub fn decode(bytes: &[u8]) -> Result<EscPosDocument, DecodeError> {
    Decoder {
        bytes,
        at: 0,
        document: EscPosDocument {
            starts_with_init: bytes.starts_with(&[ESC, b'@']),
            ..EscPosDocument::default()
        },
        line: Vec::new(),
        width_scale: 1,
        bold: false,
        line_bold: false,
    }
    .run()
}

struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
    document: EscPosDocument,
    /// Characters of the line being built, with their width multiplier.
    line: Vec<(char, usize)>,
    width_scale: usize,
    bold: bool,
    line_bold: bool,
}

impl Decoder<'_> {
    fn run(mut self) -> Result<EscPosDocument, DecodeError> {
        while self.at < self.bytes.len() {
            let start = self.at;
            let byte = self.take(start)?;
            let was_cut = match byte {
                LF => {
                    self.end_line();
                    false
                }
                ESC => self.esc(start)?,
                GS => self.gs(start)?,
                0x20..=0x7E | 0x80..=0xFF => {
                    let c = self.character(byte, start)?;
                    self.line.push((c, self.width_scale));
                    self.line_bold |= self.bold;
                    false
                }
                other => return Err(error(start, format!("unknown control byte {other:#04x}"))),
            };
            self.document.ends_with_cut = was_cut;
        }
        if !self.line.is_empty() {
            // Text without a line feed stays in the printer's buffer and never prints.
            return Err(error(self.at, "text left unprinted at the end (no LF)"));
        }
        Ok(self.document)
    }

    fn take(&mut self, start: usize) -> Result<u8, DecodeError> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| error(start, "command cut short"))?;
        self.at += 1;
        Ok(byte)
    }

    fn take_n(&mut self, n: usize, start: usize) -> Result<&[u8], DecodeError> {
        let end = self.at + n;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| error(start, "command cut short"))?;
        self.at = end;
        Ok(slice)
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.document.lines.push(TextLine {
            text: line.iter().map(|(c, _)| c).collect(),
            columns: line.iter().map(|(_, scale)| scale).sum(),
            bold: self.line_bold,
        });
        self.line_bold = false;
    }

    fn character(&self, byte: u8, start: usize) -> Result<char, DecodeError> {
        if byte < 0x80 {
            return Ok(char::from(byte));
        }
        match self.document.code_page {
            Some(16) => wpc1252(byte)
                .ok_or_else(|| error(start, format!("{byte:#04x} is undefined in WPC1252"))),
            page => Err(error(
                start,
                format!(
                    "byte {byte:#04x} with code page {page:?}, which this decoder does not know"
                ),
            )),
        }
    }

    /// `ESC` commands; returns whether it was a cut (never).
    fn esc(&mut self, start: usize) -> Result<bool, DecodeError> {
        let command = self.take(start)?;
        match command {
            b'@' => {
                self.width_scale = 1;
                self.bold = false;
            }
            b't' => self.document.code_page = Some(self.take(start)?),
            b'E' => self.bold = self.take(start)? & 1 == 1,
            // Print and feed n lines: the buffer prints as one line, then n - 1 blank ones.
            b'd' => {
                let n = self.take(start)?;
                self.end_line();
                for _ in 1..n {
                    self.end_line();
                }
            }
            // Justification, underline, double strike, font, line spacing: layout only.
            b'a' | b'-' | b'G' | b'M' | b'3' => {
                self.take(start)?;
            }
            b'2' => {}
            b'!' => {
                let mode = self.take(start)?;
                self.width_scale = if mode & 0x20 != 0 { 2 } else { 1 };
                self.bold = mode & 0x08 != 0;
            }
            other => {
                return Err(error(
                    start,
                    format!("unknown command ESC {:?} ({other:#04x})", char::from(other)),
                ));
            }
        }
        Ok(false)
    }

    /// `GS` commands; returns whether it was a cut.
    fn gs(&mut self, start: usize) -> Result<bool, DecodeError> {
        let command = self.take(start)?;
        match command {
            b'!' => {
                let size = self.take(start)?;
                self.width_scale = usize::from(size >> 4) + 1;
            }
            // Reverse, smoothing, HRI position, HRI font, barcode height and module width.
            b'B' | b'b' | b'H' | b'f' | b'h' | b'w' => {
                self.take(start)?;
            }
            b'V' => {
                if !self.line.is_empty() {
                    return Err(error(start, "cut with unprinted text in the buffer"));
                }
                let m = self.take(start)?;
                match m {
                    0 | 1 | 48 | 49 => {}
                    65 | 66 | 97 | 98 | 103 | 104 => {
                        self.take(start)?;
                    }
                    other => return Err(error(start, format!("unknown cut mode {other}"))),
                }
                self.document.cuts += 1;
                return Ok(true);
            }
            b'k' => self.barcode(start)?,
            b'(' => {
                let function = self.take(start)?;
                if function != b'k' {
                    return Err(error(
                        start,
                        format!("unknown command GS ( {:?}", char::from(function)),
                    ));
                }
                self.two_dimensional(start)?;
            }
            other => {
                return Err(error(
                    start,
                    format!("unknown command GS {:?} ({other:#04x})", char::from(other)),
                ));
            }
        }
        Ok(false)
    }

    /// `GS k m …`: function A (`m` 0–6, NUL-terminated) or B (`m` 65–79, length-prefixed).
    fn barcode(&mut self, start: usize) -> Result<(), DecodeError> {
        let m = self.take(start)?;
        match m {
            0..=6 => while self.take(start)? != 0 {},
            65..=79 => {
                let n = usize::from(self.take(start)?);
                let data = self.take_n(n, start)?.to_vec();
                if m == 73 {
                    let payload =
                        code128_payload(&data).map_err(|message| error(start, message))?;
                    self.document.code128.push(payload);
                }
            }
            other => return Err(error(start, format!("unknown barcode system {other}"))),
        }
        Ok(())
    }

    /// `GS ( k pL pH cn fn …`: 2D codes; only QR (`cn` 49) store-data (`fn` 80) is read.
    fn two_dimensional(&mut self, start: usize) -> Result<(), DecodeError> {
        let low = usize::from(self.take(start)?);
        let high = usize::from(self.take(start)?);
        let body = self.take_n(low + 256 * high, start)?;
        match body {
            [49, 80, 48, data @ ..] => {
                let payload = String::from_utf8(data.to_vec())
                    .map_err(|_| error(start, "QR payload is not UTF-8"))?;
                self.document.qr_codes.push(payload);
            }
            [49, 65 | 67 | 69 | 81, ..] => {}
            [cn, function, ..] => {
                return Err(error(
                    start,
                    format!("unknown 2D code function cn={cn} fn={function}"),
                ));
            }
            _ => return Err(error(start, "2D code command without cn and fn")),
        }
        Ok(())
    }
}

fn error(offset: usize, message: impl Into<String>) -> DecodeError {
    DecodeError {
        offset,
        message: message.into(),
    }
}

/// The text of CODE128 data: `{A`/`{B` select text sets, `{C` digit pairs, `{{` is `{`,
/// `{1`–`{4` and `{S` are function or shift characters and print nothing.
fn code128_payload(data: &[u8]) -> Result<String, String> {
    if !matches!(data, [b'{', b'A' | b'B' | b'C', ..]) {
        return Err("CODE128 data must start with a code set ({A, {B or {C)".into());
    }
    let mut payload = String::new();
    let mut digits = false;
    let mut bytes = data.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte == b'{' {
            match bytes.next() {
                Some(b'A' | b'B') => digits = false,
                Some(b'C') => digits = true,
                Some(b'{') => payload.push('{'),
                Some(b'1'..=b'4' | b'S') => {}
                other => return Err(format!("bad CODE128 escape {{{other:?}")),
            }
        } else if digits {
            if byte > 99 {
                return Err(format!("CODE128 set C value {byte} above 99"));
            }
            payload.push_str(&format!("{byte:02}"));
        } else {
            payload.push(char::from(byte));
        }
    }
    Ok(payload)
}

/// Windows-1252 above ASCII; `None` for its five undefined bytes.
fn wpc1252(byte: u8) -> Option<char> {
    const HIGH: [char; 32] = [
        '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0',
        '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => Some(HIGH[usize::from(byte - 0x80)]).filter(|c| *c != '\0'),
        // 0xA0–0xFF are Latin-1, which Unicode keeps at the same code points.
        _ => Some(char::from(byte)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_text_codes_and_cut() {
        let mut bytes = vec![ESC, b'@', ESC, b't', 16, ESC, b'E', 1];
        bytes.extend_from_slice(b"\xC7elik \x80");
        bytes.extend_from_slice(&[ESC, b'd', 1, ESC, b'E', 0, GS, b'!', 0x11]);
        bytes.extend_from_slice(b"WO-1\n");
        bytes.extend_from_slice(&[
            GS, b'!', 0, GS, b'(', b'k', 6, 0, 49, 80, 48, b'a', b'b', b'c',
        ]);
        bytes.extend_from_slice(&[GS, b'k', 73, 6]);
        bytes.extend_from_slice(b"{BW{C\x0C");
        bytes.extend_from_slice(&[ESC, b'd', 3, GS, b'V', b'A', 0]);
        let document = decode(&bytes).unwrap();
        assert!(document.starts_with_init);
        assert_eq!(document.code_page, Some(16));
        assert_eq!(document.texts(), ["Çelik €", "WO-1", "", "", ""]);
        assert!(document.lines[0].bold);
        assert_eq!(document.lines[1].columns, 8);
        assert_eq!(document.qr_codes, ["abc"]);
        assert_eq!(document.code128, ["W12"]);
        assert!(document.ends_with_cut);
    }

    #[test]
    fn unknown_commands_and_unprinted_text_fail() {
        assert!(decode(&[ESC, b'Z', 0]).is_err());
        assert!(decode(&[0x10, 0x04, 1]).is_err());
        assert!(decode(b"dangling").is_err());
        assert!(
            decode(&[ESC, b'@', 0xE9, LF]).is_err(),
            "no code page selected"
        );
    }
}
