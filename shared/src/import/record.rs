//! One row of cells, reused from row to row so reading allocates almost nothing.

use super::FileError;

#[derive(Debug, Default, Clone)]
pub struct Record {
    text: String,
    ends: Vec<usize>,
}

impl Record {
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    pub fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The cell at `index`, or "" past the end (ragged rows are normal in exports).
    pub fn get(&self, index: usize) -> &str {
        let Some(&end) = self.ends.get(index) else {
            return "";
        };
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.text[start..end]
    }

    pub fn cells(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// No cell holds anything but blanks.
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// The cells of a CSV record: `bytes` with each cell ending at `ends`. The reader only ever
    /// sees the decoder's output, which is valid UTF-8 (invalid input became U+FFFD).
    pub(crate) fn set_from_utf8(&mut self, bytes: &[u8], ends: &[usize]) -> Result<(), FileError> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            FileError::Unreadable("the text is not valid UTF-8 after decoding".into())
        })?;
        self.clear();
        self.text.push_str(text);
        self.ends.extend_from_slice(ends);
        Ok(())
    }
}

/// Where records come from: a CSV stream or a spreadsheet's sheet.
pub trait RecordSource: Send {
    /// Reads the next record into `record`; `false` at the end.
    fn next_record(&mut self, record: &mut Record) -> Result<bool, FileError>;

    /// The 1-based row number of the record read last, as a spreadsheet would show it.
    fn row_number(&self) -> u64;
}
