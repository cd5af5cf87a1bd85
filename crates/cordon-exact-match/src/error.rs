//! Why an export could not be loaded. Every variant names the file, and the
//! CSV line where there is one, so the administrator can fix the export or
//! the configuration without reading code. No variant carries a cell's value.

use std::path::PathBuf;

/// Why [`ExactMatchIndex::load`](crate::ExactMatchIndex::load) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExactMatchError {
    /// The export could not be opened.
    #[error("exact match export {file}: cannot open: {source}")]
    Open {
        /// The export.
        file: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Reading the export failed part-way (I/O error or malformed CSV).
    #[error("exact match export {file}, line {line}: cannot read: {message}")]
    Read {
        /// The export.
        file: PathBuf,
        /// The CSV line (1-based) where reading stopped, 0 if unknown.
        line: u64,
        /// The reader's description of the problem (it holds no cell value).
        message: String,
    },
    /// The export has no header line.
    #[error("exact match export {file}: empty file, expected a header line")]
    NoHeader {
        /// The export.
        file: PathBuf,
    },
    /// A line is not valid UTF-8 (export the CSV as UTF-8).
    #[error("exact match export {file}, line {line}: not valid UTF-8 (export the CSV as UTF-8)")]
    BadUtf8 {
        /// The export.
        file: PathBuf,
        /// The CSV line (1-based).
        line: u64,
    },
    /// A configured column is not among the export's headers.
    #[error("exact match export {file}: no column {column:?} in the header line; found {found:?}")]
    MissingColumn {
        /// The export.
        file: PathBuf,
        /// The configured column.
        column: String,
        /// The headers the export has.
        found: Vec<String>,
    },
    /// A configured column names two headers of the export.
    #[error(
        "exact match export {file}: column {column:?} appears more than once in the header line"
    )]
    AmbiguousColumn {
        /// The export.
        file: PathBuf,
        /// The configured column.
        column: String,
    },
    /// The configuration names a column twice.
    #[error("exact match export {file}: column {column:?} is configured twice")]
    DuplicateColumn {
        /// The export.
        file: PathBuf,
        /// The repeated column.
        column: String,
    },
    /// Too few or too many identifying columns.
    #[error(
        "exact match export {file}: {count} identifying columns configured, between {min} and {max} allowed"
    )]
    ColumnCount {
        /// The export.
        file: PathBuf,
        /// How many were configured.
        count: usize,
        /// Fewest allowed.
        min: usize,
        /// Most allowed.
        max: usize,
    },
    /// `min_columns` is not between 2 and the number of columns.
    #[error(
        "exact match export {file}: min_columns is {min_columns}, must be between 2 and {columns} (the number of identifying columns)"
    )]
    MinColumns {
        /// The export.
        file: PathBuf,
        /// The configured value.
        min_columns: usize,
        /// The number of identifying columns.
        columns: usize,
    },
    /// The export has a header line and no record.
    #[error("exact match export {file}: no records after the header line")]
    Empty {
        /// The export.
        file: PathBuf,
    },
    /// No record has `min_columns` usable values, so nothing could ever match
    /// (often: a typed column whose cells the canonicaliser rejects).
    #[error(
        "exact match export {file}: none of its {rows} records has {min_columns} usable identifying values ({skipped_cells} cells did not parse)"
    )]
    NoUsableRows {
        /// The export.
        file: PathBuf,
        /// Records read.
        rows: u64,
        /// The configured minimum.
        min_columns: usize,
        /// Cells of typed columns that did not parse.
        skipped_cells: u64,
    },
    /// The export yields more combinations than one index can hold.
    #[error(
        "exact match export {file}: more than {max} distinct combinations; split the export or raise min_columns"
    )]
    TooLarge {
        /// The export.
        file: PathBuf,
        /// The limit.
        max: u64,
    },
    /// The operating system gave no randomness for the salt.
    #[error("exact match export {file}: no randomness for the salt: {message}")]
    Random {
        /// The export.
        file: PathBuf,
        /// What failed.
        message: String,
    },
}
