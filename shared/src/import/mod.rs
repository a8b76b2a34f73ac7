//! Contact import: turns whatever file a team has (CSV in any common encoding and delimiter,
//! XLSX, XLS, ODS; exports of Google Contacts, Outlook, Mailchimp, French or English Excel) into
//! validated, deduplicated contacts and a per-row report.
//!
//! The pipeline is pure and synchronous: [`Analyzer`] reads records from a [`RecordSource`],
//! finds the header row, maps columns, validates each row and drops in-file duplicates, handing
//! out batches of contacts to whoever writes them. Memory is bounded whatever the file: CSV is
//! streamed with a cap on record size and column count; spreadsheets are size-checked before
//! they are opened (zip bombs are refused from their central directory).

mod analyze;
mod cfb;
mod csv;
mod detect;
mod extent;
mod headers;
mod record;
mod report;
mod row;
mod sheet;

pub use analyze::{Analyzer, Batch, ImportOptions, dry_run};
pub use detect::{FileKind, Limits};
pub use headers::Target;
pub use record::{Record, RecordSource};
pub use report::{DetectedFormat, ImportReport, MappedColumn, RowError, csv_safe};
pub use row::{ImportedContact, Standing, from_cells};

/// Why a whole file is refused.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is not a CSV, XLSX, XLS or ODS file we can read: {0}")]
    Unreadable(String),
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the spreadsheet would expand to more than {limit} bytes (a zip bomb?)")]
    ZipBomb { limit: u64 },
    #[error("row {row} is larger than {limit} bytes (an unclosed quote?)")]
    RecordTooLarge { row: u64, limit: usize },
    #[error("row {row} has more than {limit} columns")]
    TooManyColumns { row: u64, limit: usize },
    #[error(
        "no email column found in the first {searched} rows; name it Email or Courriel, or give a mapping"
    )]
    NoEmailColumn { searched: usize },
    #[error("the sheet has more than {limit} rows")]
    TooManyRows { limit: u64 },
    #[error(
        "the sheet would hold more than {limit} cells (repeated rows or columns?): save it as CSV or XLSX, or remove the empty formatted area"
    )]
    TooManyCells { limit: u64 },
    #[error("the workbook has no sheet named {0:?}")]
    UnknownSheet(String),
    #[error("the file is empty")]
    Empty,
    #[error("reading the file failed: {0}")]
    Io(#[from] std::io::Error),
}

impl FileError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "unreadable_file",
            Self::TooLarge { .. } => "file_too_large",
            Self::ZipBomb { .. } => "zip_bomb",
            Self::RecordTooLarge { .. } => "record_too_large",
            Self::TooManyColumns { .. } => "too_many_columns",
            Self::TooManyRows { .. } => "too_many_rows",
            Self::TooManyCells { .. } => "too_many_cells",
            Self::NoEmailColumn { .. } => "no_email_column",
            Self::UnknownSheet(_) => "unknown_sheet",
            Self::Empty => "empty_file",
            Self::Io(_) => "read_failed",
        }
    }
}
