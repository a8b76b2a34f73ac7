//! Spreadsheets (XLSX, XLS, ODS) through calamine. The zip-based formats are checked from their
//! central directory before anything is inflated: too much expanded data, or a ratio only a zip
//! bomb has, refuses the file. XLSX cells are streamed (its declared dimension checked first);
//! XLS (65,536 rows × 256 columns at most) and ODS are read as one range, ODS only once its
//! sheets' rows and cells, repeats counted, are within the limits (`extent`). A reader thread owns the workbook and hands rows
//! over a small channel, so a row is in memory once.

use std::io::Cursor;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use calamine::{Data, Ods, Reader, Xls, Xlsx};

use super::FileError;
use super::detect::{FileKind, Limits};
use super::extent;
use super::record::{Record, RecordSource};

type Row = Result<(u64, Vec<String>), FileError>;

pub fn open(
    bytes: Vec<u8>,
    sheet_name: Option<&str>,
    limits: &Limits,
) -> Result<(Box<dyn RecordSource>, FileKind, String), FileError> {
    let kind = if bytes.starts_with(b"PK") {
        zip_kind(&bytes, limits)?
    } else {
        FileKind::Xls
    };
    let unreadable = |e: &dyn std::fmt::Display| FileError::Unreadable(e.to_string());
    // Opening an ODS workbook builds every sheet: its size is counted first. An XLS file's
    // chains must end before calamine follows them.
    match kind {
        FileKind::Ods => extent::ods(&bytes)?.check(limits)?,
        FileKind::Xls => super::cfb::check(&bytes)?,
        _ => {}
    }
    let names = match kind {
        FileKind::Xlsx => Xlsx::new(Cursor::new(&bytes))
            .map_err(|e| unreadable(&e))?
            .sheet_names(),
        FileKind::Xls => Xls::new(Cursor::new(&bytes))
            .map_err(|e| unreadable(&e))?
            .sheet_names(),
        FileKind::Ods => Ods::new(Cursor::new(&bytes))
            .map_err(|e| unreadable(&e))?
            .sheet_names(),
        FileKind::Csv => unreachable!("zip_kind answers spreadsheet kinds only"),
    };
    let sheet = choose_sheet(&names, sheet_name)?;
    let limits = *limits;
    let (sender, receiver) = sync_channel(256);
    let name = sheet.clone();
    std::thread::spawn(move || {
        let result = match kind {
            FileKind::Xlsx => stream_xlsx(bytes, &name, &limits, &sender),
            FileKind::Xls => Xls::new(Cursor::new(bytes))
                .and_then(|mut book| book.worksheet_range(&name))
                .map_err(|e| FileError::Unreadable(e.to_string()))
                .map(|range| send_range(&range, &sender)),
            _ => Ods::new(Cursor::new(bytes))
                .and_then(|mut book| book.worksheet_range(&name))
                .map_err(|e| FileError::Unreadable(e.to_string()))
                .map(|range| send_range(&range, &sender)),
        };
        if let Err(error) = result {
            let _ = sender.send(Err(error));
        }
    });
    Ok((
        Box::new(SheetRecords {
            rows: receiver,
            row: 0,
        }),
        kind,
        sheet,
    ))
}

fn choose_sheet(names: &[String], wanted: Option<&str>) -> Result<String, FileError> {
    match wanted {
        None => names
            .first()
            .cloned()
            .ok_or_else(|| FileError::Unreadable("the workbook has no sheet".into())),
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .or_else(|| {
                names
                    .iter()
                    .find(|n| n.trim().eq_ignore_ascii_case(wanted.trim()))
            })
            .cloned()
            .ok_or_else(|| FileError::UnknownSheet(wanted.to_owned())),
    }
}

/// XLSX or ODS, after checking what the archive would expand to.
fn zip_kind(bytes: &[u8], limits: &Limits) -> Result<FileKind, FileError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| FileError::Unreadable(e.to_string()))?;
    let mut total: u64 = 0;
    let mut kind = None;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| FileError::Unreadable(e.to_string()))?;
        let (expanded, compressed) = (entry.size(), entry.compressed_size().max(1));
        total = total.saturating_add(expanded);
        let bomb = expanded > 1024 * 1024 && expanded / compressed > limits.max_expansion_ratio;
        if bomb || total > limits.max_expanded_bytes {
            return Err(FileError::ZipBomb {
                limit: limits.max_expanded_bytes,
            });
        }
        match entry.name().unwrap_or_default().as_ref() {
            "xl/workbook.xml" => kind = Some(FileKind::Xlsx),
            "content.xml" if kind.is_none() => kind = Some(FileKind::Ods),
            _ => {}
        }
    }
    kind.ok_or_else(|| FileError::Unreadable("a zip archive that is neither XLSX nor ODS".into()))
}

fn stream_xlsx(
    bytes: Vec<u8>,
    sheet: &str,
    limits: &Limits,
    sender: &SyncSender<Row>,
) -> Result<(), FileError> {
    let unreadable = |e: calamine::XlsxError| FileError::Unreadable(e.to_string());
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let mut cells = book.worksheet_cells_reader(sheet).map_err(unreadable)?;
    if u64::from(cells.dimensions().end.0) >= limits.max_rows {
        return Err(FileError::TooManyRows {
            limit: limits.max_rows,
        });
    }
    let mut current: Option<(u32, Vec<String>)> = None;
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, column) = cell.get_position();
        if current.as_ref().is_some_and(|(r, _)| *r != row) {
            let (r, values) = current.take().expect("checked");
            if sender.send(Ok((u64::from(r) + 1, values))).is_err() {
                return Ok(());
            }
        }
        let (_, values) = current.get_or_insert_with(|| (row, Vec::new()));
        let column = column as usize;
        if column >= limits.max_columns {
            return Err(FileError::TooManyColumns {
                row: u64::from(row) + 1,
                limit: limits.max_columns,
            });
        }
        if values.len() <= column {
            values.resize(column + 1, String::new());
        }
        values[column] = data_text(Data::from(cell.get_value().clone()));
    }
    if let Some((r, values)) = current {
        let _ = sender.send(Ok((u64::from(r) + 1, values)));
    }
    Ok(())
}

fn send_range(range: &calamine::Range<Data>, sender: &SyncSender<Row>) {
    let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
    let first_column = range.start().map_or(0, |(_, column)| column as usize);
    for (offset, cells) in range.rows().enumerate() {
        let mut values = vec![String::new(); first_column];
        values.extend(cells.iter().cloned().map(data_text));
        if sender
            .send(Ok((first_row + offset as u64 + 1, values)))
            .is_err()
        {
            return;
        }
    }
}

/// Numbers that are whole print without ".0": phone numbers and postcodes are often typed as
/// numbers in spreadsheets.
fn number_text(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        value.to_string()
    }
}

/// A cell as text. XLSX cells arrive as `DataRef` and convert into `Data`: one formatting rule.
fn data_text(value: Data) -> String {
    match value {
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(f),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s,
        Data::Bool(b) => if b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(d) => d
            .as_datetime()
            .map_or_else(|| number_text(d.as_f64()), |d| d.to_string()),
        Data::Error(_) | Data::Empty => String::new(),
    }
}

struct SheetRecords {
    rows: Receiver<Row>,
    row: u64,
}

impl RecordSource for SheetRecords {
    fn next_record(&mut self, record: &mut Record) -> Result<bool, FileError> {
        match self.rows.recv() {
            Ok(Ok((row, values))) => {
                self.row = row;
                record.clear();
                for value in &values {
                    record.push(value);
                }
                Ok(true)
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Ok(false),
        }
    }

    fn row_number(&self) -> u64 {
        self.row
    }
}
