//! CSV records on `csv-core`, with bounded buffers: a record longer than the limit (an unclosed
//! quote swallowing the rest of the file) or with too many columns refuses the file instead of
//! growing without end.

use std::io::Read;

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use super::FileError;
use super::detect::Limits;
use super::record::{Record, RecordSource};

const INPUT: usize = 64 * 1024;

pub struct CsvRecords<R> {
    reader: Reader,
    input: R,
    buffer: Vec<u8>,
    position: usize,
    filled: usize,
    eof: bool,
    output: Vec<u8>,
    ends: Vec<usize>,
    row: u64,
    max_record_bytes: usize,
    max_columns: usize,
}

impl<R: Read> CsvRecords<R> {
    pub fn new(input: R, delimiter: u8, limits: &Limits) -> Self {
        Self {
            reader: ReaderBuilder::new().delimiter(delimiter).build(),
            input,
            buffer: vec![0; INPUT],
            position: 0,
            filled: 0,
            eof: false,
            output: vec![0; 4096],
            ends: vec![0; 64],
            row: 0,
            max_record_bytes: limits.max_record_bytes,
            max_columns: limits.max_columns,
        }
    }
}

impl<R: Read + Send> RecordSource for CsvRecords<R> {
    fn next_record(&mut self, record: &mut Record) -> Result<bool, FileError> {
        let (mut written, mut fields) = (0, 0);
        loop {
            if self.position == self.filled && !self.eof {
                self.filled = self.input.read(&mut self.buffer)?;
                self.position = 0;
                self.eof = self.filled == 0;
            }
            let (result, read, wrote, ended) = self.reader.read_record(
                &self.buffer[self.position..self.filled],
                &mut self.output[written..],
                &mut self.ends[fields..],
            );
            self.position += read;
            written += wrote;
            fields += ended;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if self.output.len() >= self.max_record_bytes {
                        return Err(FileError::RecordTooLarge {
                            row: self.row + 1,
                            limit: self.max_record_bytes,
                        });
                    }
                    let grown = (self.output.len() * 2).min(self.max_record_bytes);
                    self.output.resize(grown, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    if self.ends.len() >= self.max_columns {
                        return Err(FileError::TooManyColumns {
                            row: self.row + 1,
                            limit: self.max_columns,
                        });
                    }
                    let grown = (self.ends.len() * 2).min(self.max_columns);
                    self.ends.resize(grown, 0);
                }
                ReadRecordResult::Record => {
                    self.row += 1;
                    record.set_from_utf8(&self.output[..written], &self.ends[..fields])?;
                    return Ok(true);
                }
                ReadRecordResult::End => return Ok(false),
            }
        }
    }

    fn row_number(&self) -> u64 {
        self.row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8], limits: &Limits) -> Result<Vec<Vec<String>>, FileError> {
        let mut source = CsvRecords::new(text, b',', limits);
        let mut record = Record::default();
        let mut rows = Vec::new();
        while source.next_record(&mut record)? {
            rows.push(record.cells().map(str::to_owned).collect());
        }
        Ok(rows)
    }

    #[test]
    fn quoted_fields_keep_their_commas_quotes_and_newlines() {
        let rows = read_all(
            b"email,note\r\na@b.co,\"one, \"\"two\"\"\nthree\"\r\nc@d.co,\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(rows[1], ["a@b.co", "one, \"two\"\nthree"]);
        assert_eq!(rows[2], ["c@d.co", ""]);
    }

    #[test]
    fn an_unclosed_quote_or_a_million_columns_refuses_the_file() {
        let limits = Limits {
            max_record_bytes: 1024,
            max_columns: 50,
            ..Limits::default()
        };
        let unclosed = [b"email\na@b.co,\"".as_slice(), &vec![b'x'; 10_000]].concat();
        assert!(matches!(
            read_all(&unclosed, &limits),
            Err(FileError::RecordTooLarge { row: 2, .. })
        ));
        let wide = ",".repeat(1_000_000);
        assert!(matches!(
            read_all(wide.as_bytes(), &Limits::default()),
            Err(FileError::TooManyColumns { row: 1, .. })
        ));
    }
}
