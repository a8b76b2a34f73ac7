//! What a file is, told from its bytes: spreadsheet formats by their magic numbers, text by its
//! byte order mark, its NUL pattern (UTF-16 without BOM) or whether it is valid UTF-8 (else
//! Windows-1252, what French Excel writes). Delimiters are counted, outside quotes, on the first
//! lines.

use std::io::{Cursor, Read};

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};
use serde::{Deserialize, Serialize};

use super::FileError;
use super::csv::CsvRecords;
use super::record::RecordSource;
use super::sheet;

/// Bounds on what one file may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes one CSV record may hold before the file is refused.
    pub max_record_bytes: usize,
    pub max_columns: usize,
    /// A spreadsheet is read whole (its formats need random access).
    pub max_spreadsheet_bytes: u64,
    /// What a spreadsheet's zip entries may expand to, in all.
    pub max_expanded_bytes: u64,
    /// Expansion ratio beyond which a large zip entry is a bomb.
    pub max_expansion_ratio: u64,
    /// Rows a spreadsheet's sheet may have (Excel's own limit).
    pub max_rows: u64,
    /// Cells a sheet read as one range (ODS, XLS) may make: about 32 bytes each before its
    /// text, within the import function's memory.
    pub max_sheet_cells: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_record_bytes: 1024 * 1024,
            max_columns: 1000,
            max_spreadsheet_bytes: 64 * 1024 * 1024,
            max_expanded_bytes: 256 * 1024 * 1024,
            max_expansion_ratio: 100,
            max_rows: 1_048_576,
            max_sheet_cells: 5_000_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Csv,
    Xlsx,
    Xls,
    Ods,
}

/// An opened file: its records, and what was detected.
pub struct Opened {
    pub source: Box<dyn RecordSource>,
    pub kind: FileKind,
    pub encoding: Option<&'static str>,
    pub delimiter: Option<char>,
    pub sheet: Option<String>,
}

const SNIFF: usize = 64 * 1024;
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

pub fn open(
    mut input: Box<dyn Read + Send>,
    sheet_name: Option<&str>,
    limits: &Limits,
) -> Result<Opened, FileError> {
    let mut head = Vec::with_capacity(SNIFF);
    (&mut input).take(SNIFF as u64).read_to_end(&mut head)?;
    if head.is_empty() {
        return Err(FileError::Empty);
    }
    if head.starts_with(ZIP_MAGIC) || head.starts_with(OLE_MAGIC) {
        let mut bytes = head;
        input
            .take(limits.max_spreadsheet_bytes + 1 - bytes.len() as u64)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limits.max_spreadsheet_bytes {
            return Err(FileError::TooLarge {
                limit: limits.max_spreadsheet_bytes,
            });
        }
        let (source, kind, sheet) = sheet::open(bytes, sheet_name, limits)?;
        return Ok(Opened {
            source,
            kind,
            encoding: None,
            delimiter: None,
            sheet: Some(sheet),
        });
    }
    let encoding = sniff_encoding(&head);
    let (sample, _, _) = encoding.decode(&head);
    check_text(&sample)?;
    let delimiter = sniff_delimiter(&sample);
    let decoded = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .strip_bom(true)
        .build(Cursor::new(head).chain(input));
    Ok(Opened {
        source: Box::new(CsvRecords::new(decoded, delimiter as u8, limits)),
        kind: FileKind::Csv,
        encoding: Some(encoding.name()),
        delimiter: Some(delimiter),
        sheet: None,
    })
}

fn sniff_encoding(head: &[u8]) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(head) {
        return encoding;
    }
    let sample = &head[..head.len().min(4096)];
    let zeros_at = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    let pairs = sample.len() / 2;
    if pairs > 0 && zeros_at(1) * 10 > pairs * 3 && zeros_at(0) * 10 < pairs {
        return UTF_16LE;
    }
    if pairs > 0 && zeros_at(0) * 10 > pairs * 3 && zeros_at(1) * 10 < pairs {
        return UTF_16BE;
    }
    match std::str::from_utf8(head) {
        Ok(_) => UTF_8,
        // The sniffed window may cut a character in two: that is still UTF-8.
        Err(error) if error.error_len().is_none() => UTF_8,
        Err(_) => WINDOWS_1252,
    }
}

/// Text files hold text: NULs or many control characters mean binary data.
fn check_text(sample: &str) -> Result<(), FileError> {
    let total = sample.chars().count().max(1);
    let control = sample
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
        .count();
    if sample.contains('\0') || control * 100 > total {
        return Err(FileError::Unreadable("it looks like binary data".into()));
    }
    Ok(())
}

/// The delimiter that splits the first lines most consistently (comma when nothing does).
fn sniff_delimiter(sample: &str) -> char {
    let lines: Vec<Vec<usize>> = logical_lines(sample)
        .into_iter()
        .filter(|line| !line.trim().is_empty())
        .take(20)
        .map(|line| {
            [',', ';', '\t', '|']
                .map(|d| count_outside_quotes(line, d))
                .to_vec()
        })
        .collect();
    let mut best = (',', 0usize, 0usize);
    for (i, delimiter) in [',', ';', '\t', '|'].into_iter().enumerate() {
        let counts: Vec<usize> = lines.iter().map(|l| l[i]).collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        let consistent = counts.iter().filter(|c| **c == first && first > 0).count();
        let score = (consistent, first);
        if first > 0 && score > (best.1, best.2) {
            best = (delimiter, consistent, first);
        }
    }
    best.0
}

/// Lines, keeping quoted newlines inside their line.
fn logical_lines(sample: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in sample.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => {
                lines.push(&sample[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < sample.len() {
        lines.push(&sample[start..]);
    }
    lines
}

fn count_outside_quotes(line: &str, delimiter: char) -> usize {
    let mut quoted = false;
    line.chars()
        .filter(|c| {
            if *c == '"' {
                quoted = !quoted;
            }
            !quoted && *c == delimiter
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_told_from_the_bytes() {
        let utf16le: Vec<u8> = "Email\tNom\r\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let utf16be: Vec<u8> = "Email\tNom\r\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let cases: &[(&str, Vec<u8>, &str)] = &[
            ("UTF-8 with BOM", b"\xEF\xBB\xBFEmail\n".to_vec(), "UTF-8"),
            ("UTF-8", "Prénom;Email\n".as_bytes().to_vec(), "UTF-8"),
            (
                "UTF-16LE with BOM",
                [&[0xFF, 0xFE][..], &utf16le].concat(),
                "UTF-16LE",
            ),
            ("UTF-16LE without BOM", utf16le.clone(), "UTF-16LE"),
            ("UTF-16BE without BOM", utf16be, "UTF-16BE"),
            (
                "Windows-1252",
                b"Pr\xE9nom;Soci\xE9t\xE9\n".to_vec(),
                "windows-1252",
            ),
        ];
        for (case, bytes, expected) in cases {
            assert_eq!(sniff_encoding(bytes).name(), *expected, "{case}");
        }
    }

    #[test]
    fn delimiters_are_counted_outside_quotes() {
        let cases = [
            ("comma", "email,name\na@b.co,\"Doe; John\"\n", ','),
            (
                "semicolon",
                "Email;Nom;Prénom\na@b.co;\"Dupont, fils\";Jean\n",
                ';',
            ),
            ("tab", "Email\tName\na@b.co\tZoe\n", '\t'),
            ("single column", "email\na@b.co\n", ','),
            (
                "quoted newline",
                "email;note\na@b.co;\"line1\nline2, with comma\"\n",
                ';',
            ),
        ];
        for (case, sample, expected) in cases {
            assert_eq!(sniff_delimiter(sample), expected, "{case}");
        }
    }

    #[test]
    fn binary_data_is_refused() {
        let garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let error = open(Box::new(Cursor::new(garbage)), None, &Limits::default())
            .err()
            .unwrap();
        assert_eq!(error.code(), "unreadable_file");
        let empty = open(Box::new(Cursor::new(Vec::new())), None, &Limits::default())
            .err()
            .unwrap();
        assert_eq!(empty.code(), "empty_file");
    }
}
