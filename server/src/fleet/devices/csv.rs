//! Manufacturing lists: `serial[,model]` a line (a header line naming
//! `serial` is skipped), read as the body arrives ([`CsvRows`]) so that a
//! bad line or an oversized list is refused at once, without holding the
//! whole body. All or nothing: one bad line refuses the list, naming it.

use super::rules::identifier;
use crate::platform::error::{Error, Result};

/// Most serials one import takes.
pub const MAX_IMPORT: usize = 1_000_000;
/// Most bytes one import's body may hold (a million serials of up to 32
/// characters with a model fit with room to spare).
pub const MAX_IMPORT_BYTES: u64 = 48 << 20;
/// Longest line: a serial (128), a comma and a model (64), with spaces.
const MAX_LINE: usize = 256;

/// One line of a manufacturing CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialRow {
    pub serial: String,
    pub model: Option<String>,
}

/// A CSV being read: feed it the body's chunks, then [`CsvRows::finish`].
#[derive(Debug, Default)]
pub struct CsvRows {
    rows: Vec<SerialRow>,
    /// Lines read so far.
    lines: usize,
    /// The bytes of a line not ended yet.
    partial: Vec<u8>,
    bytes: u64,
}

impl CsvRows {
    /// Reads the complete lines in `chunk`; the first bad one refuses the list.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.bytes += chunk.len() as u64;
        if self.bytes > MAX_IMPORT_BYTES {
            return Err(too_large());
        }
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..end]);
            self.line(&line)?;
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LINE {
            return Err(Error::Validation(format!(
                "line {}: longer than {MAX_LINE} bytes; expected serial[,model]",
                self.lines + 1
            )));
        }
        Ok(())
    }

    /// The rows, once the body has ended.
    pub fn finish(mut self) -> Result<Vec<SerialRow>> {
        if !self.partial.is_empty() {
            let last = std::mem::take(&mut self.partial);
            self.line(&last)?;
        }
        if self.rows.is_empty() {
            return Err(Error::Validation("the CSV holds no serials".into()));
        }
        Ok(self.rows)
    }

    fn line(&mut self, bytes: &[u8]) -> Result<()> {
        self.lines += 1;
        let n = self.lines;
        let at_line = |e: String| Error::Validation(format!("line {n}: {e}"));
        let line = std::str::from_utf8(bytes)
            .map_err(|_| at_line("not UTF-8 text; save the list as UTF-8".into()))?
            .trim();
        if line.is_empty() || (n == 1 && line.to_ascii_lowercase().starts_with("serial")) {
            return Ok(());
        }
        let mut fields = line.split(',').map(str::trim);
        let serial = fields.next().unwrap_or_default();
        identifier("serial", serial, 128).map_err(at_line)?;
        let model = fields.next().filter(|m| !m.is_empty());
        if let Some(m) = model {
            identifier("model", m, 64).map_err(at_line)?;
        }
        if fields.next().is_some() {
            return Err(at_line("expected serial[,model]".into()));
        }
        self.rows.push(SerialRow {
            serial: serial.to_owned(),
            model: model.map(str::to_owned),
        });
        if self.rows.len() > MAX_IMPORT {
            return Err(Error::TooLarge(format!(
                "more than {MAX_IMPORT} serials in one import"
            )));
        }
        Ok(())
    }
}

fn too_large() -> Error {
    Error::TooLarge(format!(
        "the CSV is larger than {} MiB; split the list",
        MAX_IMPORT_BYTES >> 20
    ))
}

/// Reads a whole CSV already in memory (a console form).
pub fn parse_csv(body: &str) -> Result<Vec<SerialRow>> {
    let mut rows = CsvRows::default();
    rows.feed(body.as_bytes())?;
    rows.finish()
}

/// Whether a body of `declared` bytes is refused before it is read.
pub fn refuse_length(declared: Option<u64>) -> Result<()> {
    match declared {
        Some(n) if n > MAX_IMPORT_BYTES => Err(too_large()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_is_read_whole_or_refused_naming_the_line() {
        let rows = parse_csv("serial,model\nSN1,X1\n\nSN2\n").expect("parses");
        assert_eq!(
            rows,
            [
                SerialRow {
                    serial: "SN1".into(),
                    model: Some("X1".into())
                },
                SerialRow {
                    serial: "SN2".into(),
                    model: None
                }
            ]
        );
        let e = parse_csv("SN1\nSN2,X1,extra\n").expect_err("refused");
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(parse_csv("serial\n").is_err(), "no serials");
        let e = parse_csv("SN1\n../../etc/passwd\n").expect_err("refused");
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn lines_split_across_chunks_and_crlf_are_read() {
        let mut r = CsvRows::default();
        for chunk in [&b"serial\r\nSN"[..], b"1,X", b"1\r\nSN2", b"\r\n"] {
            r.feed(chunk).expect("fine");
        }
        let rows = r.finish().expect("rows");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].model.as_deref(), Some("X1"));
        assert_eq!(rows[1].serial, "SN2");
    }

    #[test]
    fn bad_bytes_and_endless_lines_are_refused_as_they_arrive() {
        let mut r = CsvRows::default();
        let e = r.feed(b"SN1\nSN\xff2\n").expect_err("not UTF-8");
        assert!(e.to_string().contains("line 2: not UTF-8"), "{e}");
        let mut r = CsvRows::default();
        let e = r.feed(&[b'A'; 300]).expect_err("no newline in sight");
        assert!(e.to_string().contains("longer than"), "{e}");
        assert!(refuse_length(Some(MAX_IMPORT_BYTES + 1)).is_err());
        assert!(refuse_length(Some(10)).is_ok());
        let mut r = CsvRows::default();
        let line = [b"SN1\n".repeat(1 << 16)].concat();
        let mut refused = None;
        for _ in 0..=(MAX_IMPORT_BYTES as usize / line.len()) {
            if let Err(e) = r.feed(&line) {
                refused = Some(e);
                break;
            }
        }
        assert!(matches!(refused, Some(Error::TooLarge(_))), "{refused:?}");
    }
}
