//! The import pipeline up to the writes: open, find the header, map, validate, deduplicate.

use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasherDefault;
use std::io::Read;

use serde::Deserialize;

use super::FileError;
use super::detect::{self, Limits};
use super::headers::{self, Target};
use super::record::{Record, RecordSource};
use super::report::{DetectedFormat, ImportReport, MappedColumn, RowError};
use super::row::{self, Columns, ImportedContact};

/// Rows scanned for a header before giving up.
const HEADER_SEARCH: usize = 20;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImportOptions {
    /// Header → target; wins over recognition.
    #[serde(default)]
    pub mapping: BTreeMap<String, Target>,
    /// The sheet to read in a workbook (default: the first).
    #[serde(default)]
    pub sheet: Option<String>,
    #[serde(skip)]
    pub limits: Limits,
}

/// What one step of the pipeline produced.
#[derive(Debug, Default)]
pub struct Batch {
    /// Valid rows whose address is new in this file (none when only counting).
    pub contacts: Vec<ImportedContact>,
    /// How many valid rows have an address new in this file.
    pub fresh: u64,
    pub errors: Vec<RowError>,
    /// Data records read so far (blank ones included): where to resume.
    pub records_read: u64,
    /// This batch's share of the report's row counts.
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    pub duplicates: u64,
}

pub struct Analyzer {
    source: Box<dyn RecordSource>,
    columns: Columns,
    /// Address keys are hashes already: the set need not hash them again.
    seen: HashSet<u64, BuildHasherDefault<PreHashed>>,
    record: Record,
    records_read: u64,
    report: ImportReport,
    keep_contacts: bool,
}

impl Analyzer {
    /// Opens `input`, detects its format and finds its header row.
    pub fn open(input: Box<dyn Read + Send>, options: &ImportOptions) -> Result<Self, FileError> {
        let opened = detect::open(input, options.sheet.as_deref(), &options.limits)?;
        let mut source = opened.source;
        let mut record = Record::default();
        let mut scanned = 0;
        let (headers, targets) = loop {
            if scanned == HEADER_SEARCH || !source.next_record(&mut record)? {
                return Err(FileError::NoEmailColumn { searched: scanned });
            }
            if record.is_blank() {
                continue;
            }
            scanned += 1;
            let headers: Vec<String> = record.cells().map(|h| h.trim().to_owned()).collect();
            let targets = headers::map_columns(&headers, &options.mapping);
            if targets.contains(&Target::Email) {
                break (headers, targets);
            }
        };
        let report = ImportReport {
            detected: Some(DetectedFormat {
                format: opened.kind,
                encoding: opened.encoding.map(str::to_owned),
                delimiter: opened.delimiter.map(String::from),
                sheet: opened.sheet,
                header_row: source.row_number(),
            }),
            mapping: headers
                .iter()
                .zip(&targets)
                .enumerate()
                .map(|(column, (header, target))| MappedColumn {
                    column,
                    header: header.clone(),
                    target: *target,
                })
                .collect(),
            ..ImportReport::default()
        };
        Ok(Self {
            source,
            columns: Columns::new(headers, targets),
            seen: HashSet::default(),
            record,
            records_read: 0,
            report,
            keep_contacts: true,
        })
    }

    /// Batches then carry counts only, no contacts: the analysis of a dry run allocates
    /// nothing per row.
    pub fn counting_only(mut self) -> Self {
        self.keep_contacts = false;
        self
    }

    /// Reads data records until `max` fresh rows are found or the file ends; `None` at the end.
    /// Records before `resume_after` (a checkpoint of an earlier run) only refill the set of
    /// addresses seen, so duplicates across the checkpoint are still caught, and are not counted.
    pub fn next_batch(
        &mut self,
        max: usize,
        resume_after: u64,
    ) -> Result<Option<Batch>, FileError> {
        let mut batch = Batch::default();
        let mut any = false;
        while batch.fresh < max as u64 {
            if !self.source.next_record(&mut self.record)? {
                break;
            }
            self.records_read += 1;
            let replaying = self.records_read <= resume_after;
            any |= !replaying;
            if self.record.is_blank() {
                continue;
            }
            let row = self.source.row_number();
            let parsed = row::parse(row, &self.record, &self.columns);
            let fresh = parsed
                .as_ref()
                .is_ok_and(|view| self.seen.insert(view.address_key()));
            if replaying {
                continue;
            }
            batch.rows += 1;
            match (parsed, fresh) {
                (Ok(view), true) => {
                    batch.valid += 1;
                    batch.fresh += 1;
                    if self.keep_contacts {
                        batch.contacts.push(view.to_contact());
                    }
                }
                (Ok(_), false) => {
                    batch.valid += 1;
                    batch.duplicates += 1;
                }
                (Err(error), _) => {
                    batch.invalid += 1;
                    batch.errors.push(error);
                }
            }
        }
        batch.records_read = self.records_read;
        Ok(any.then_some(batch))
    }

    /// What was detected and how columns map; the counts are the batches' to add up.
    pub fn report(&self) -> &ImportReport {
        &self.report
    }
}

/// The whole file without looking at existing contacts: every unique valid row counts as created.
pub fn dry_run(
    input: Box<dyn Read + Send>,
    options: &ImportOptions,
) -> Result<ImportReport, FileError> {
    let mut analyzer = Analyzer::open(input, options)?.counting_only();
    let mut report = analyzer.report().clone();
    while let Some(batch) = analyzer.next_batch(1000, 0)? {
        report.add(&batch);
        report.created += batch.fresh;
    }
    Ok(report)
}

/// The hasher of a set of hashes: a key passes through unchanged.
#[derive(Default)]
struct PreHashed(u64);

impl std::hash::Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; any other input is folded in, never ignored.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = key;
    }
}
