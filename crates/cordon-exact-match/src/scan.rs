//! Scanning a text: words through the prefilters, typed values through their
//! columns' filters, then nearby candidates combined and looked up.

use std::collections::HashMap;
use std::hash::Hasher;

use crate::normalise::{Token, Tokens, fast_hash, fast_hash_range, fold_word, for_each_word};
use crate::{
    ColumnKind, ExactMatchIndex, MAX_COLUMNS, PROBE_BUDGET, RecordMatch, TypedValue, WINDOW_CAP,
};

/// How much work one scan did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Words in the text.
    pub words: u64,
    /// Values that passed a column's filter (some are false positives).
    pub candidates: u64,
    /// Combination lookups made.
    pub probes: u64,
    /// True when a window held more than [`WINDOW_CAP`] candidates or the
    /// [`PROBE_BUDGET`] was spent, so a combination may have been missed.
    pub truncated: bool,
}

/// A value that may be a column's: where, which column, its keyed hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    start: usize,
    end: usize,
    col: u8,
    value: u64,
}

impl Candidate {
    fn overlaps(&self, other: &Candidate) -> bool {
        self.start < other.end && other.start < self.end
    }
}

pub(crate) fn scan(
    index: &ExactMatchIndex,
    text: &str,
    typed: &[TypedValue<'_>],
    out: &mut Vec<RecordMatch>,
) -> ScanStats {
    let mut stats = ScanStats::default();
    let mut candidates = Vec::new();
    word_candidates(index, text, &mut candidates, &mut stats);
    typed_candidates(index, text, typed, &mut candidates);
    stats.candidates = candidates.len() as u64;

    let columns_seen = candidates.iter().fold(0u8, |m, c| m | (1 << c.col));
    if (columns_seen.count_ones() as usize) < index.min_columns {
        return stats;
    }
    candidates.sort_unstable();
    candidates.dedup();
    Combiner {
        index,
        candidates: &candidates,
        stats: &mut stats,
        reported: HashMap::new(),
        out,
    }
    .run();
    stats
}

/// Appends the normal form of `token` to `buf`; false if it folds to nothing.
fn fold_token(text: &str, t: Token, buf: &mut String) -> bool {
    buf.clear();
    if t.ascii {
        buf.extend(
            text.as_bytes()[t.start..t.end]
                .iter()
                .map(|b| char::from(b | 0x20)),
        );
    } else {
        fold_word(&text[t.start..t.end], buf);
    }
    !buf.is_empty()
}

/// One pass over the words: the first-word filter, then the word sequences
/// a passing word starts, through each Words column's filter.
fn word_candidates(
    index: &ExactMatchIndex,
    text: &str,
    out: &mut Vec<Candidate>,
    stats: &mut ScanStats,
) {
    if index.words_columns.is_empty() {
        return;
    }
    let bytes = text.as_bytes();
    let seed = index.keys.fast_seed;
    let mut scratch = String::new();
    let mut words = 0u64;
    let first_words = &index.first_words;
    for_each_word(
        text,
        #[inline(always)]
        |t| {
            words += 1;
            let fast = if t.ascii {
                fast_hash_range(seed, bytes, t.start, t.end, true)
            } else if fold_token(text, t, &mut scratch) {
                fast_hash(seed, scratch.as_bytes(), false)
            } else {
                return;
            };
            if first_words.may_contain(fast) {
                sequence_candidates(index, text, t.start, t.end, &mut scratch, out);
            }
        },
    );
    stats.words += words;
}

/// The values of the word sequences that `first` (a possible first word)
/// starts, through each Words column's filter.
#[cold]
#[inline(never)]
fn sequence_candidates(
    index: &ExactMatchIndex,
    text: &str,
    start: usize,
    end: usize,
    scratch: &mut String,
    out: &mut Vec<Candidate>,
) {
    // Its span as separate arguments, so the hot loop never builds a Token
    // in memory for this call.
    let first = Token {
        start,
        end,
        ascii: text.get(start..end).is_some_and(str::is_ascii),
    };
    if !fold_token(text, first, scratch) {
        return;
    }
    let mut hasher = index.keys.value_hasher();
    hasher.write(scratch.as_bytes());
    let mut ahead = Tokens::after(text, first.end);
    let mut end = first.end;
    for words in 1..=index.max_words {
        if words > 1 {
            let Some(next) = ahead.by_ref().find(|n| fold_token(text, *n, scratch)) else {
                break;
            };
            hasher.write(b" ");
            hasher.write(scratch.as_bytes());
            end = next.end;
        }
        let value = hasher.finish();
        for &col in &index.words_columns {
            if index.values[col as usize].may_contain(value) {
                out.push(Candidate {
                    start: first.start,
                    end,
                    col,
                    value,
                });
            }
        }
    }
}

/// The caller's typed values through their columns' filters.
fn typed_candidates(
    index: &ExactMatchIndex,
    text: &str,
    typed: &[TypedValue<'_>],
    out: &mut Vec<Candidate>,
) {
    for tv in typed {
        let valid = tv.start <= tv.end
            && tv.end <= text.len()
            && text.is_char_boundary(tv.start)
            && text.is_char_boundary(tv.end);
        if !valid {
            continue;
        }
        let mut value = None;
        for (col, spec) in index.columns.iter().enumerate() {
            let ColumnKind::Typed(kind) = &spec.kind else {
                continue;
            };
            if kind != tv.kind {
                continue;
            }
            let v = *value.get_or_insert_with(|| index.keys.value(tv.value.as_bytes()));
            if index.values[col].may_contain(v) {
                out.push(Candidate {
                    start: tv.start,
                    end: tv.end,
                    col: col as u8,
                    value: v,
                });
            }
        }
    }
}

/// Combines sorted candidates into N-subsets and looks them up.
struct Combiner<'a> {
    index: &'a ExactMatchIndex,
    candidates: &'a [Candidate],
    stats: &'a mut ScanStats,
    /// Per reported key, the span last reported: a key found again over an
    /// overlapping span is the same occurrence and is not reported twice.
    reported: HashMap<u64, (usize, usize)>,
    out: &'a mut Vec<RecordMatch>,
}

impl Combiner<'_> {
    fn run(&mut self) {
        let n = self.index.min_columns;
        let within = self.index.within;
        let mut window: Vec<Candidate> = Vec::with_capacity(WINDOW_CAP);
        let mut chosen: Vec<Candidate> = Vec::with_capacity(MAX_COLUMNS);
        for (i, first) in self.candidates.iter().enumerate() {
            if self.stats.probes >= PROBE_BUDGET {
                self.stats.truncated = true;
                return;
            }
            // The window: candidates after `first`, disjoint from it, of
            // other columns, at most `within` bytes after its end.
            window.clear();
            let limit = first.end.saturating_add(within);
            for c in &self.candidates[i + 1..] {
                if c.start > limit {
                    break;
                }
                if c.start < first.end || c.col == first.col {
                    continue;
                }
                if window.iter().any(|w| w.col == c.col && w.value == c.value) {
                    continue;
                }
                if window.len() + 1 >= WINDOW_CAP {
                    self.stats.truncated = true;
                    break;
                }
                window.push(*c);
            }
            let cols = window
                .iter()
                .fold(1u8 << first.col, |m, c| m | (1 << c.col));
            if (cols.count_ones() as usize) < n {
                continue;
            }
            chosen.clear();
            chosen.push(*first);
            self.extend(&window, 0, &mut chosen);
        }
    }

    /// Adds candidates from `window[from..]` to `chosen` until it has N, then
    /// looks the combination up.
    fn extend(&mut self, window: &[Candidate], from: usize, chosen: &mut Vec<Candidate>) {
        if chosen.len() == self.index.min_columns {
            self.probe(chosen);
            return;
        }
        for (j, c) in window.iter().enumerate().skip(from) {
            if self.stats.probes >= PROBE_BUDGET {
                self.stats.truncated = true;
                return;
            }
            if chosen.iter().any(|d| d.col == c.col || d.overlaps(c)) {
                continue;
            }
            chosen.push(*c);
            self.extend(window, j + 1, chosen);
            chosen.pop();
        }
    }

    fn probe(&mut self, chosen: &[Candidate]) {
        self.stats.probes += 1;
        let mut by_col = [None::<u64>; MAX_COLUMNS];
        let mut mask = 0u8;
        let (mut start, mut end) = (usize::MAX, 0);
        for c in chosen {
            by_col[c.col as usize] = Some(c.value);
            mask |= 1 << c.col;
            start = start.min(c.start);
            end = end.max(c.end);
        }
        let mut values = [0u64; MAX_COLUMNS];
        let mut count = 0;
        for v in by_col.iter().flatten() {
            values[count] = *v;
            count += 1;
        }
        let combo = self.index.keys.combo(mask, &values[..count]);
        if !self.index.combos.contains(combo) {
            return;
        }
        let key = self.index.keys.report(combo);
        if let Some(&(s, e)) = self.reported.get(&key)
            && start < e
            && s < end
        {
            return;
        }
        self.reported.insert(key, (start, end));
        let columns = (0..self.index.columns.len())
            .filter(|k| mask & (1 << k) != 0)
            .map(|k| self.index.columns[k].name.clone())
            .collect();
        self.out.push(RecordMatch {
            start,
            end,
            columns,
            key,
        });
    }
}
