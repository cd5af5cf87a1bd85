//! Loading an export: one streaming pass, hashes kept, text wiped.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use csv::ByteRecord;
use zeroize::Zeroize;

use crate::normalise::{fast_hash, normalise_into};
use crate::{
    Bloom, Canonicalizer, ColumnKind, ComboSet, ExactMatchConfig, ExactMatchError, ExactMatchIndex,
    Keys, LoadStats, MAX_COLUMNS, MAX_VALUE_WORDS, MIN_COLUMNS,
};

/// The hashes being collected are already uniformly random: hash them as
/// themselves.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashSet64 = HashSet<u64, BuildHasherDefault<Identity>>;

/// Initial capacity of the buffers that hold cell text, so that they seldom
/// grow (a grown buffer leaves its old copy unwiped).
const TEXT_BUFFER: usize = 64 * 1024;

/// The buffers that hold cell text, wiped when dropped (on success and on
/// every error path alike).
struct TextBuffers {
    record: ByteRecord,
    /// Most bytes the record buffer has held.
    record_high: usize,
    normal: String,
}

impl Drop for TextBuffers {
    fn drop(&mut self) {
        // Overwrite the record's field buffer from its start over every byte
        // it has held: push_field copies into the same allocation.
        self.record.clear();
        self.record.push_field(&vec![0; self.record_high]);
        self.record.clear();
        self.normal.zeroize();
    }
}

pub(crate) fn load(
    config: &ExactMatchConfig,
    canonical: &dyn Canonicalizer,
) -> Result<(ExactMatchIndex, LoadStats), ExactMatchError> {
    let file = config.file.as_path();
    check_config(config)?;
    let keys = Keys::random().map_err(|e| ExactMatchError::Random {
        file: file.to_path_buf(),
        message: e.to_string(),
    })?;

    let handle = File::open(file).map_err(|source| ExactMatchError::Open {
        file: file.to_path_buf(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .buffer_capacity(TEXT_BUFFER)
        .from_reader(handle);
    let positions = header_positions(config, &mut reader)?;

    let n_cols = config.columns.len();
    let subsets: Vec<u8> = (1u16..(1 << n_cols))
        .filter(|m| m.count_ones() as usize == config.min_columns)
        .map(|m| m as u8)
        .collect();
    let mut first_words = HashSet64::default();
    let mut max_words = 0usize;
    let mut values: Vec<HashSet64> = (0..n_cols).map(|_| HashSet64::default()).collect();
    let mut combos: Vec<u64> = Vec::new();
    let mut stats = LoadStats::default();
    let mut buffers = TextBuffers {
        record: ByteRecord::with_capacity(TEXT_BUFFER, 16),
        record_high: 0,
        normal: String::with_capacity(TEXT_BUFFER),
    };
    let mut row: [u64; MAX_COLUMNS] = [0; MAX_COLUMNS];
    let mut picked: Vec<u64> = Vec::with_capacity(MAX_COLUMNS);

    loop {
        match reader.read_byte_record(&mut buffers.record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(read_error(file, &e)),
        }
        let line = buffers.record.position().map_or(0, |p| p.line());
        buffers.record_high = buffers.record_high.max(buffers.record.as_slice().len());
        stats.rows += 1;
        let mut present: u8 = 0;
        for (k, spec) in config.columns.iter().enumerate() {
            let raw = buffers.record.get(positions[k]).unwrap_or(b"");
            let cell = std::str::from_utf8(raw).map_err(|_| ExactMatchError::BadUtf8 {
                file: file.to_path_buf(),
                line,
            })?;
            let value = match &spec.kind {
                ColumnKind::Words => {
                    buffers.normal.clear();
                    let words = normalise_into(cell, &mut buffers.normal);
                    if words == 0 {
                        continue;
                    }
                    if words > MAX_VALUE_WORDS {
                        stats.skipped_cells += 1;
                        continue;
                    }
                    max_words = max_words.max(words);
                    let first = buffers.normal.split(' ').next().unwrap_or("");
                    first_words.insert(fast_hash(keys.fast_seed, first.as_bytes(), false));
                    keys.value(buffers.normal.as_bytes())
                }
                ColumnKind::Typed(kind) => {
                    let cell = cell.trim();
                    if cell.is_empty() {
                        continue;
                    }
                    match canonical.canonical(kind, cell) {
                        Some(mut c) if !c.is_empty() => {
                            let v = keys.value(c.as_bytes());
                            c.zeroize();
                            v
                        }
                        Some(mut c) => {
                            c.zeroize();
                            stats.skipped_cells += 1;
                            continue;
                        }
                        None => {
                            stats.skipped_cells += 1;
                            continue;
                        }
                    }
                }
            };
            row[k] = value;
            present |= 1 << k;
            values[k].insert(value);
        }
        match present.count_ones() as usize {
            0 => stats.empty_rows += 1,
            c if c < config.min_columns => stats.short_rows += 1,
            _ => {
                for &mask in subsets.iter().filter(|&&m| m & present == m) {
                    picked.clear();
                    picked.extend((0..n_cols).filter(|k| mask & (1 << k) != 0).map(|k| row[k]));
                    combos.push(keys.combo(mask, &picked));
                }
            }
        }
        row.zeroize();
    }
    drop(buffers);

    if stats.rows == 0 {
        return Err(ExactMatchError::Empty {
            file: file.to_path_buf(),
        });
    }
    if combos.is_empty() {
        return Err(ExactMatchError::NoUsableRows {
            file: file.to_path_buf(),
            rows: stats.rows,
            min_columns: config.min_columns,
            skipped_cells: stats.skipped_cells,
        });
    }
    let combos = ComboSet::build(combos).ok_or_else(|| ExactMatchError::TooLarge {
        file: file.to_path_buf(),
        max: u64::from(u32::MAX),
    })?;
    let index = ExactMatchIndex {
        columns: config.columns.clone(),
        min_columns: config.min_columns,
        within: config.within,
        // Every word of a message is looked up here, and each that passes
        // costs a fold and keyed hashes: worth 32 bits per first word, and a
        // filter of at least 8 KiB however small the export.
        first_words: Bloom::build(first_words.iter().copied(), 32, 1024),
        max_words,
        words_columns: (0..n_cols)
            .filter(|k| config.columns[*k].kind == ColumnKind::Words)
            .map(|k| k as u8)
            .collect(),
        values: values
            .iter()
            .map(|s| Bloom::build(s.iter().copied(), 16, 1))
            .collect(),
        combos,
        keys,
    };
    stats.combinations = index.combinations() as u64;
    stats.heap_bytes = index.heap_bytes() as u64;
    Ok((index, stats))
}

/// Checks the configuration alone, before the file is opened.
fn check_config(config: &ExactMatchConfig) -> Result<(), ExactMatchError> {
    let file = config.file.to_path_buf();
    let count = config.columns.len();
    if !(MIN_COLUMNS..=MAX_COLUMNS).contains(&count) {
        return Err(ExactMatchError::ColumnCount {
            file,
            count,
            min: MIN_COLUMNS,
            max: MAX_COLUMNS,
        });
    }
    if !(2..=count).contains(&config.min_columns) {
        return Err(ExactMatchError::MinColumns {
            file,
            min_columns: config.min_columns,
            columns: count,
        });
    }
    for (i, c) in config.columns.iter().enumerate() {
        if config.columns[..i]
            .iter()
            .any(|d| same_header(&d.name, &c.name))
        {
            return Err(ExactMatchError::DuplicateColumn {
                file,
                column: c.name.clone(),
            });
        }
    }
    Ok(())
}

/// True when two header names are the same column.
fn same_header(a: &str, b: &str) -> bool {
    clean_header(a).eq_ignore_ascii_case(clean_header(b))
}

fn clean_header(h: &str) -> &str {
    h.trim_start_matches('\u{feff}').trim()
}

/// Where each configured column is in the export's records.
fn header_positions(
    config: &ExactMatchConfig,
    reader: &mut csv::Reader<File>,
) -> Result<Vec<usize>, ExactMatchError> {
    let file = config.file.as_path();
    let headers = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(read_error(file, &e)),
    };
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        return Err(ExactMatchError::NoHeader {
            file: file.to_path_buf(),
        });
    }
    let line = headers.position().map_or(1, |p| p.line());
    let mut names = Vec::with_capacity(headers.len());
    for h in &headers {
        let h = std::str::from_utf8(h).map_err(|_| ExactMatchError::BadUtf8 {
            file: file.to_path_buf(),
            line,
        })?;
        names.push(clean_header(h).to_string());
    }
    let mut positions = Vec::with_capacity(config.columns.len());
    for spec in &config.columns {
        let mut found = names
            .iter()
            .enumerate()
            .filter(|(_, h)| same_header(h, &spec.name));
        let Some((pos, _)) = found.next() else {
            return Err(ExactMatchError::MissingColumn {
                file: file.to_path_buf(),
                column: spec.name.clone(),
                found: names,
            });
        };
        if found.next().is_some() {
            return Err(ExactMatchError::AmbiguousColumn {
                file: file.to_path_buf(),
                column: spec.name.clone(),
            });
        }
        positions.push(pos);
    }
    Ok(positions)
}

fn read_error(file: &Path, e: &csv::Error) -> ExactMatchError {
    ExactMatchError::Read {
        file: file.to_path_buf(),
        line: e.position().map_or(0, |p| p.line()),
        message: match e.kind() {
            csv::ErrorKind::Io(io) => io.to_string(),
            _ => "malformed CSV".to_string(),
        },
    }
}
