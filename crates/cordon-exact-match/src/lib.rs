//! Exact data match: finds a force's own records of people (nominals) in
//! outgoing text, while holding only salted hashes of them.
//!
//! # Contract
//!
//! - **Loading** ([`ExactMatchIndex::load`]) streams a CSV export (first line:
//!   headers; other columns ignored; rows of any length) once. For each row
//!   it normalises the configured identifying cells ([`ColumnKind::Words`]
//!   here, [`ColumnKind::Typed`] through the caller's [`Canonicalizer`]),
//!   hashes them with a key drawn at random for this load, and stores, for
//!   every `min_columns`-subset of the row's non-empty identifying values, one
//!   64-bit hash of (that set of columns, their values' hashes). Nothing else
//!   of a row is kept: no row number, no value, no per-row structure.
//! - **Scanning** ([`ExactMatchIndex::scan`]) reports every set of
//!   `min_columns` values of distinct columns, pairwise non-overlapping, at
//!   most `within` bytes apart (from the end of the first to the start of the
//!   last), whose combination some row holds. A match names the columns,
//!   never the values.
//! - **One match per N-subset.** When a text holds more than `min_columns`
//!   values of one record (surname, forename and date of birth with N = 2),
//!   each N-subset found is its own [`RecordMatch`]
//!   (`surname + forename`, `surname + date_of_birth`,
//!   `forename + date_of_birth`). Merging them into one "three columns" match
//!   would need to know that one row holds all three; without row ids the
//!   index cannot know that (the three pairs may come from three rows), and
//!   storing every larger subset as well would almost double the memory
//!   (11 instead of 6 hashes per row for 4 columns). Callers count distinct
//!   records with [`RecordMatch::key`].
//! - **Never panics** on any text or any export bytes.
//!
//! # Words
//!
//! A Words value is compared as words: Unicode-lowercased, split into maximal
//! runs of letters and digits, diacritics removed (canonical decomposition,
//! combining marks dropped), joined by one space. "O'Brien" = "O’Brien" =
//! "o brien"; "Smith-Jones" = "smith jones"; "Zoë" = "ZOE". Values only match
//! whole words: "Smithson" is not "Smith". A Words cell of more than
//! [`MAX_VALUE_WORDS`] words is skipped (counted in
//! [`LoadStats::skipped_cells`]).
//!
//! # Cost
//!
//! Scanning makes one pass over the text's words, found 64 bytes at a time
//! from bit masks; each word costs a seeded fast hash of its first eight
//! bytes and its length (one load and one multiply) and a test of a blocked
//! Bloom filter of the values' first words (one load; 32 bits per distinct
//! first word and at least 8 KiB, so well under 1% of other words pass).
//! Only a word that passes gets the keyed hash, for itself and for the word
//! sequences it starts (up to the longest value's word count), tested
//! against each column's Bloom filter of its values (16 bits per value,
//! about 1% pass). Typed values from the caller are
//! tested against their columns' filters. The candidates (column, value hash,
//! span) within `within` bytes of each other are then combined and each
//! combination is looked up in the sorted combination set (a directory on the
//! top bits, so about two cache misses per lookup).
//!
//! **Work bound.** For each candidate taken as the first of a combination, at
//! most [`WINDOW_CAP`] candidates are considered (the first one and the next
//! 63 that follow it within `within` bytes, the same value of the same column
//! counted once), and one scan makes at most [`PROBE_BUDGET`] combination
//! lookups. A combination is never missed when its window holds at most 64
//! candidates and the budget is not spent; with `min_columns` = 2 the budget
//! allows at least 16,000 candidate values in one text, far beyond a letter or
//! a custody list of a few hundred names. When either bound is reached,
//! [`ScanStats::truncated`] says so and the matches found so far are kept.
//!
//! # What is wiped, what cannot be
//!
//! Loading overwrites with zeros, when it ends (also on error), the buffers it
//! owns that held cell text: the CSV record buffer (the bytes it used), the
//! normalisation buffer, and each canonical string the [`Canonicalizer`]
//! returns. It cannot wipe: the CSV reader's internal read buffer (64 KiB,
//! inside the `csv` crate), copies a buffer left behind when it grew (a cell or
//! row longer than the initial capacity), the canonicaliser's own
//! temporaries, the operating system's page cache, and the file itself,
//! which the administrator should delete or protect after loading. The
//! salt is wiped when the index is dropped.
//!
//! The salt protects the hashes from precomputed tables and makes two loads
//! unrelated; it cannot protect values as guessable as names and dates from
//! someone who holds both the hashes and the salt (this process's memory).

mod combos;
mod error;
mod filter;
mod keyed;
mod load;
mod normalise;
mod scan;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use error::ExactMatchError;
pub use scan::ScanStats;

use combos::ComboSet;
use filter::Bloom;
use keyed::Keys;

/// Fewest identifying columns a configuration may name.
pub const MIN_COLUMNS: usize = 2;
/// Most identifying columns a configuration may name (a column set is a byte).
pub const MAX_COLUMNS: usize = 8;
/// Most words in one Words value; longer cells are skipped when loading.
pub const MAX_VALUE_WORDS: usize = 16;
/// Most candidates considered together as one combination's window.
pub const WINDOW_CAP: usize = 64;
/// Most combination lookups in one scan.
pub const PROBE_BUDGET: u64 = 1 << 20;

/// How the cells of an identifying column are compared with text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// Case-insensitive sequence of words (names, any text). Handled inside
    /// this crate: see the crate documentation, "Words".
    Words,
    /// A typed value the caller recognises in text and canonicalises: "date"
    /// (canonical YYYY-MM-DD), or a detector id such as "pnc_id", "uk_nino",
    /// "nhs_number", "cro_number", "uk_passport", "uk_driving_licence",
    /// "uk_phone", "uk_postcode", "payment_card". The export's cells go
    /// through the [`Canonicalizer`] with this kind; the text's values come
    /// from the caller as [`TypedValue`]s of the same kind.
    Typed(String),
}

/// One identifying column: its header in the export and how it compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The CSV header (compared with the export's headers ignoring ASCII
    /// case, surrounding whitespace and a byte-order mark).
    pub name: String,
    /// How its values are compared.
    pub kind: ColumnKind,
}

impl ColumnSpec {
    /// A [`ColumnKind::Words`] column.
    pub fn words(name: impl Into<String>) -> Self {
        ColumnSpec {
            name: name.into(),
            kind: ColumnKind::Words,
        }
    }

    /// A [`ColumnKind::Typed`] column of `kind`.
    pub fn typed(name: impl Into<String>, kind: impl Into<String>) -> Self {
        ColumnSpec {
            name: name.into(),
            kind: ColumnKind::Typed(kind.into()),
        }
    }
}

/// What to load and how a match is defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactMatchConfig {
    /// The CSV export (first line = headers; other columns ignored).
    pub file: PathBuf,
    /// The identifying columns, [`MIN_COLUMNS`]..=[`MAX_COLUMNS`] of them.
    pub columns: Vec<ColumnSpec>,
    /// N: how many columns of one record make a match,
    /// 2..=`columns.len()`.
    pub min_columns: usize,
    /// W: most bytes between the first and the last matched value of a
    /// combination (from the end of the first to the start of the last).
    pub within: usize,
}

/// Canonicalises the export's cells of [`ColumnKind::Typed`] columns, the
/// same way the caller canonicalises the values it finds in text, so that
/// both hash alike.
pub trait Canonicalizer {
    /// The canonical form of `cell` (trimmed, never empty) as a value of
    /// `kind`, or `None` when it does not parse: such a cell is skipped and
    /// counted, and the row's other columns still count.
    fn canonical(&self, kind: &str, cell: &str) -> Option<String>;
}

/// Any `Fn(kind, cell) -> Option<String>` is a canonicaliser.
impl<F: Fn(&str, &str) -> Option<String>> Canonicalizer for F {
    fn canonical(&self, kind: &str, cell: &str) -> Option<String> {
        self(kind, cell)
    }
}

/// A typed value the caller found in the text being scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypedValue<'a> {
    /// Its kind, as in [`ColumnKind::Typed`] ("date", "pnc_id", ...).
    pub kind: &'a str,
    /// Byte offset of its first byte in the text.
    pub start: usize,
    /// Byte offset just past it in the text. A value whose span is not a
    /// range of char boundaries of the text is ignored.
    pub end: usize,
    /// Its canonical form (as the [`Canonicalizer`] gives for the export).
    pub value: &'a str,
}

/// Values of one record, `min_columns` of them, found near each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordMatch {
    /// Byte offset of the first matched value (a char boundary).
    pub start: usize,
    /// Byte offset just past the last matched value (a char boundary).
    pub end: usize,
    /// The matched columns' names, in configuration order (for display as
    /// `surname + date_of_birth`).
    pub columns: Vec<String>,
    /// A salted hash of the matched combination (record values and columns):
    /// equal for the same combination found twice, so the caller can count
    /// distinct records. Only comparable within one loaded index.
    pub key: u64,
}

/// What loading read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Records read (lines after the header, blank lines excepted).
    pub rows: u64,
    /// Identifying cells that were skipped: typed cells the canonicaliser
    /// rejected, Words cells of more than [`MAX_VALUE_WORDS`] words.
    pub skipped_cells: u64,
    /// Records with no identifying value at all.
    pub empty_rows: u64,
    /// Records with some but fewer than `min_columns` usable values: they
    /// can never match.
    pub short_rows: u64,
    /// Distinct combinations stored.
    pub combinations: u64,
    /// Heap bytes of the index.
    pub heap_bytes: u64,
}

/// A loaded export: the keyed hashes of its records' combinations and the
/// prefilters that keep scanning cheap. Immutable, `Send + Sync`: share it
/// behind an `Arc` and swap it whole to reload.
pub struct ExactMatchIndex {
    columns: Vec<ColumnSpec>,
    min_columns: usize,
    within: usize,
    keys: Keys,
    /// Fast hashes of the first word of every Words value.
    first_words: Bloom,
    /// Words in the longest Words value.
    max_words: usize,
    /// Indices of the Words columns.
    words_columns: Vec<u8>,
    /// Per column: keyed hashes of its values.
    values: Vec<Bloom>,
    /// Every stored combination.
    combos: ComboSet,
}

impl ExactMatchIndex {
    /// Loads `config.file` and returns the index and what was read. The
    /// cells' text is wiped from the buffers this crate owns before it
    /// returns (see the crate documentation for what cannot be).
    pub fn load(
        config: &ExactMatchConfig,
        canonical: &dyn Canonicalizer,
    ) -> Result<(Self, LoadStats), ExactMatchError> {
        load::load(config, canonical)
    }

    /// Appends every record combination found in `text` to `out`. `typed`
    /// are the typed values the caller found in the same text (dates,
    /// identifiers, with their canonical values), in any order.
    pub fn scan(&self, text: &str, typed: &[TypedValue<'_>], out: &mut Vec<RecordMatch>) {
        self.scan_with_stats(text, typed, out);
    }

    /// As [`scan`](Self::scan), and says how much work it did and whether a
    /// bound cut it short (for metrics and benchmarks).
    pub fn scan_with_stats(
        &self,
        text: &str,
        typed: &[TypedValue<'_>],
        out: &mut Vec<RecordMatch>,
    ) -> ScanStats {
        scan::scan(self, text, typed, out)
    }

    /// The identifying columns, in configuration order.
    pub fn columns(&self) -> &[ColumnSpec] {
        &self.columns
    }

    /// N: how many columns of one record make a match.
    pub fn min_columns(&self) -> usize {
        self.min_columns
    }

    /// W: most bytes between the first and last value of a match.
    pub fn within(&self) -> usize {
        self.within
    }

    /// Distinct combinations stored.
    pub fn combinations(&self) -> usize {
        self.combos.len()
    }

    /// Heap bytes held by the index (hashes, directory, filters).
    pub fn heap_bytes(&self) -> usize {
        self.combos.heap_bytes()
            + self.first_words.heap_bytes()
            + self.values.iter().map(Bloom::heap_bytes).sum::<usize>()
            + self.values.capacity() * std::mem::size_of::<Bloom>()
    }
}

/// Shows the configuration and sizes only: never a hash, a key or a value.
impl std::fmt::Debug for ExactMatchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactMatchIndex")
            .field("columns", &self.columns)
            .field("min_columns", &self.min_columns)
            .field("within", &self.within)
            .field("combinations", &self.combos.len())
            .field("max_words", &self.max_words)
            .field("heap_bytes", &self.heap_bytes())
            .finish_non_exhaustive()
    }
}
