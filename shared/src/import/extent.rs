//! How many cells a spreadsheet's sheet holds, counted before anything is built from it.
//!
//! ODS compresses repetition into attributes (`table:number-rows-repeated`,
//! `table:number-columns-repeated`): a file of a few hundred bytes can describe a sheet of
//! billions of cells, which calamine, reading every ODS sheet as one range when it opens the
//! workbook, would allocate at once. The XML is read here as a stream, repeats counted, and the
//! file refused with the reason when its sheets would pass the limits. XLSX is streamed cell by cell (never one range), so its
//! declared dimension is checked against the row limit only, as an early refusal.

use std::io::{BufReader, Cursor};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::FileError;
use super::detect::Limits;

/// What a sheet would make: its rows (the last non-empty one), and the cells calamine would
/// hold for it, the larger of its rectangle and the cells of its rows as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extent {
    pub rows: u64,
    pub cells: u64,
}

impl Extent {
    pub fn check(self, limits: &Limits) -> Result<(), FileError> {
        if self.rows > limits.max_rows {
            return Err(FileError::TooManyRows {
                limit: limits.max_rows,
            });
        }
        if self.cells > limits.max_sheet_cells {
            return Err(FileError::TooManyCells {
                limit: limits.max_sheet_cells,
            });
        }
        Ok(())
    }
}

/// What opening the ODS archive `bytes` would build: every sheet, since calamine reads them
/// all when it opens the workbook (the longest sheet's rows, every sheet's cells).
pub fn ods(bytes: &[u8]) -> Result<Extent, FileError> {
    let unreadable = |e: &dyn std::fmt::Display| FileError::Unreadable(e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let content = archive.by_name("content.xml").map_err(|e| unreadable(&e))?;
    Ok(ods_sheets(BufReader::new(content))?
        .into_iter()
        .fold(Extent::default(), |all, sheet| Extent {
            rows: all.rows.max(sheet.rows),
            cells: all.cells.saturating_add(sheet.cells),
        }))
}

/// Each sheet's extent, in the workbook's order.
fn ods_sheets(content: impl std::io::BufRead) -> Result<Vec<Extent>, FileError> {
    let unreadable = |e: &dyn std::fmt::Display| FileError::Unreadable(e.to_string());
    let mut reader = Reader::from_reader(content);
    let mut buf = Vec::new();
    let mut inside = false;
    let mut sheets = Vec::new();
    let mut counter = Counter::default();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| unreadable(&e))?;
        match event {
            Event::Start(ref e) if e.name().as_ref() == "table:table" => {
                inside = true;
                counter = Counter::default();
            }
            Event::End(e) if e.name().as_ref() == "table:table" => {
                inside = false;
                sheets.push(counter.extent());
            }
            Event::Start(ref e) | Event::Empty(ref e) if inside => {
                let closed = matches!(event, Event::Empty(_));
                match e.name().as_ref() {
                    "table:table-row" => {
                        counter.start_row(repeats(e, "table:number-rows-repeated")?);
                        if closed {
                            counter.end_row();
                        }
                    }
                    "table:table-cell" | "table:covered-table-cell" => {
                        let has_value = !closed || attribute(e, "office:value-type")?.is_some();
                        counter.cell(repeats(e, "table:number-columns-repeated")?, has_value);
                    }
                    _ => {}
                }
            }
            Event::End(e) if inside && e.name().as_ref() == "table:table-row" => counter.end_row(),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(sheets)
}

fn attribute(element: &BytesStart<'_>, name: &str) -> Result<Option<String>, FileError> {
    element
        .try_get_attribute(name)
        .map_err(|e| FileError::Unreadable(e.to_string()))?
        .map(|attribute| Ok(attribute.value.into_owned()))
        .transpose()
}

fn repeats(element: &BytesStart<'_>, name: &str) -> Result<u64, FileError> {
    match attribute(element, name)? {
        None => Ok(1),
        Some(text) => text
            .trim()
            .parse::<u64>()
            .map_err(|_| FileError::Unreadable(format!("{name} is not a count"))),
    }
}

/// Rows and columns as calamine lays them out: trailing empty cells and empty rows at the
/// edges take no room; everything between the first and last non-empty cell does.
#[derive(Default)]
struct Counter {
    /// Rows seen so far, repeats included.
    row: u64,
    /// The row being read: its repeats, its column so far, and just past its last value.
    repeat: u64,
    column: u64,
    width: u64,
    first: Option<u64>,
    end: u64,
    widest: u64,
    /// Cells of the rows as written (each row element once), which calamine holds first.
    written: u64,
}

impl Counter {
    fn start_row(&mut self, repeat: u64) {
        self.repeat = repeat.max(1);
        self.column = 0;
        self.width = 0;
    }

    fn cell(&mut self, repeat: u64, has_value: bool) {
        self.column = self.column.saturating_add(repeat);
        if has_value {
            self.width = self.column;
        }
    }

    fn end_row(&mut self) {
        if self.width > 0 {
            self.first.get_or_insert(self.row);
            self.end = self.row.saturating_add(self.repeat);
            self.widest = self.widest.max(self.width);
            self.written = self.written.saturating_add(self.width);
        }
        self.row = self.row.saturating_add(self.repeat);
    }

    fn extent(&self) -> Extent {
        let Some(first) = self.first else {
            return Extent::default();
        };
        let rectangle = (self.end - first).saturating_mul(self.widest);
        Extent {
            rows: self.end,
            cells: rectangle.max(self.written),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(rows: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><office:document-content><office:body><office:spreadsheet>
            <table:table table:name="Autre"><table:table-row table:number-rows-repeated="999999999"><table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row></table:table>
            <table:table table:name="Contacts">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        )
    }

    fn extent(rows: &str) -> Extent {
        let sheets = ods_sheets(sheet(rows).as_bytes()).unwrap();
        assert_eq!(sheets[0].rows, 999_999_999, "every sheet is counted");
        sheets[1]
    }

    #[test]
    fn a_sheet_counts_the_rows_and_columns_its_repeats_describe() {
        let value = r#"<table:table-cell office:value-type="string"><text:p>a@b.example</text:p></table:table-cell>"#;
        // Two values in three columns, three rows; trailing empties and blank rows take no room.
        let rows = format!(
            r#"<table:table-row>{value}<table:table-cell/>{value}<table:table-cell table:number-columns-repeated="16000"/></table:table-row>
            <table:table-row table:number-rows-repeated="2">{value}</table:table-row>
            <table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>"#
        );
        assert_eq!(extent(&rows), Extent { rows: 3, cells: 9 });
        assert_eq!(extent(""), Extent::default());
    }

    #[test]
    fn a_repeat_bomb_is_counted_without_being_built() {
        let bomb = r#"<table:table-row table:number-rows-repeated="1048576"><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#;
        let counted = extent(bomb);
        assert_eq!(counted.rows, 1_048_576);
        assert_eq!(counted.cells, 1_048_576 * 16_384);
        assert!(matches!(
            counted.check(&Limits::default()),
            Err(FileError::TooManyCells { .. })
        ));
        let long = r#"<table:table-row table:number-rows-repeated="2000000"><table:table-cell office:value-type="float"/></table:table-row>"#;
        assert!(matches!(
            extent(long).check(&Limits::default()),
            Err(FileError::TooManyRows { .. })
        ));
        // Distinct row elements, each wide: what calamine holds before it lays out the range.
        let row = r#"<table:table-row><table:table-cell table:number-columns-repeated="16384" office:value-type="float"/></table:table-row>"#;
        let written = extent(&row.repeat(400));
        assert_eq!(written.cells, 400 * 16_384);
        assert!(written.check(&Limits::default()).is_err());
        for bad in [
            r#"<table:table-row table:number-rows-repeated="many"/>"#,
            r#"<table:table-row><table:table-cell table:number-columns-repeated="-3"/></table:table-row>"#,
        ] {
            assert!(ods_sheets(sheet(bad).as_bytes()).is_err(), "{bad}");
        }
    }
}
