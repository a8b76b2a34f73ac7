//! The import report: counts, what was detected, and the rows that were refused.

use serde::{Deserialize, Serialize};

use super::detect::FileKind;
use super::headers::Target;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct RowError {
    pub row: u64,
    pub code: String,
    pub field: Option<String>,
    pub message: String,
}

impl RowError {
    pub fn new(row: u64, code: &str, field: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            row,
            code: code.to_owned(),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct DetectedFormat {
    pub format: FileKind,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    /// 1-based row of the header (title rows above it are skipped).
    pub header_row: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct MappedColumn {
    pub column: usize,
    pub header: String,
    pub target: Target,
}

/// `valid + invalid == rows`; `duplicates` are valid rows whose address appeared earlier in the
/// file; `created + updated + unchanged + skipped_suppressed` is what happened to the unique ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ImportReport {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    pub duplicates: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped_suppressed: u64,
    /// False when the counts were made without looking at existing contacts (an offline dry
    /// run): every unique row then counts as created.
    pub compared_with_existing: bool,
    pub detected: Option<DetectedFormat>,
    pub mapping: Vec<MappedColumn>,
    /// The first [`ImportReport::MAX_ERRORS_INLINE`] refused rows; the error report file has them all.
    pub errors: Vec<RowError>,
    /// A sync's contacts deleted (or archived) in the other system: reported, never deleted
    /// here. Their contacts carry the same id in `metadata` (`gmail_id`, `outlook_id`,
    /// `mailchimp_id`).
    #[serde(default)]
    pub removed_at_source: u64,
    /// The provider's ids of the first [`ImportReport::MAX_ERRORS_INLINE`] of them.
    #[serde(default)]
    pub removed_at_source_ids: Vec<String>,
}

impl ImportReport {
    pub const MAX_ERRORS_INLINE: usize = 100;

    /// Adds a batch's row counts and its first errors.
    pub fn add(&mut self, batch: &super::Batch) {
        self.rows += batch.rows;
        self.valid += batch.valid;
        self.invalid += batch.invalid;
        self.duplicates += batch.duplicates;
        let room = Self::MAX_ERRORS_INLINE.saturating_sub(self.errors.len());
        self.errors.extend(batch.errors.iter().take(room).cloned());
    }

    /// Counts contacts the other system no longer has, keeping the first ids.
    pub fn add_removed(&mut self, ids: &[String]) {
        self.removed_at_source += ids.len() as u64;
        let room = Self::MAX_ERRORS_INLINE.saturating_sub(self.removed_at_source_ids.len());
        self.removed_at_source_ids
            .extend(ids.iter().take(room).cloned());
    }
}

/// A value for a CSV a spreadsheet will open: cells starting with `=`, `+`, `-`, `@`, tab or
/// carriage return get a leading apostrophe so they show as text and never run as formulas.
pub fn csv_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheet_formulas_come_out_as_text() {
        for value in [
            "=HYPERLINK(\"http://x\")",
            "+33 6 12",
            "-1",
            "@SUM(A1)",
            "\tx",
        ] {
            assert!(csv_safe(value).starts_with('\''), "{value:?}");
        }
        assert_eq!(csv_safe("Zoé"), "Zoé");
    }
}
