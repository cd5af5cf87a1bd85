//! `ToUnicode` CMaps: code space ranges and `bfchar` / `bfrange` mappings.

use std::collections::HashMap;

use super::glyphs::glyph_text;
use super::lexer::Tok;
use super::objects::{Obj, Parser};

/// A mapping of character codes to Unicode from a `ToUnicode` CMap.
#[derive(Debug, Default)]
pub(super) struct CMap {
    /// Code space ranges: (byte length, low bytes, high bytes).
    codespace: Vec<(usize, Vec<u8>, Vec<u8>)>,
    /// Texts of single codes (`bfchar`), by [`code_key`].
    single: HashMap<u64, String>,
    /// Ranges sorted by their low key.
    ranges: Vec<CMapRange>,
}

/// A `bfrange`: the codes `lo..=hi` (as [`code_key`]s) and their text.
#[derive(Debug)]
struct CMapRange {
    /// First code of the range.
    lo: u64,
    /// Last code of the range.
    hi: u64,
    /// Text of the codes.
    dst: RangeDst,
}

/// The text a `bfrange` gives its codes.
#[derive(Debug)]
enum RangeDst {
    /// UTF-16 units of the first code's text; the last unit counts up.
    Base(Vec<u16>),
    /// One text per code.
    List(Vec<String>),
}

/// A lookup key for a code of `len` bytes.
fn code_key(code: u32, len: usize) -> u64 {
    ((len as u64) << 32) | u64::from(code)
}

/// The key of a source code written as bytes (at most four).
fn bytes_key(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    let code = bytes.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
    Some(code_key(code, bytes.len()))
}

/// UTF-16 code units of big-endian bytes (an odd last byte is padded).
fn utf16be(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks(2)
        .map(|p| u16::from_be_bytes([p[0], p.get(1).copied().unwrap_or(0)]))
        .collect()
}

/// Parses the code space and `bfchar` / `bfrange` mappings of a CMap.
pub(super) fn parse_cmap(data: &[u8]) -> CMap {
    let mut cmap = CMap::default();
    let mut parser = Parser::new(data, 0, false);
    let mut pending: Vec<Obj> = Vec::new();
    while let Some(tok) = parser.lx.next() {
        let Tok::Word(word) = tok else {
            parser.nodes = 0;
            if let Some(value) = parser.value(tok, 0)
                && pending.len() < 1 << 16
            {
                pending.push(value);
            }
            continue;
        };
        match word {
            b"endcodespacerange" => {
                for pair in pending.chunks_exact(2) {
                    if let [Obj::Str(lo), Obj::Str(hi)] = pair
                        && lo.len() == hi.len()
                        && (1..=4).contains(&lo.len())
                        && cmap.codespace.len() < 64
                    {
                        cmap.codespace.push((lo.len(), lo.clone(), hi.clone()));
                    }
                }
            }
            b"endbfchar" => {
                for pair in pending.chunks_exact(2) {
                    let [Obj::Str(src), dst] = pair else { continue };
                    let Some(key) = bytes_key(src) else { continue };
                    let text = match dst {
                        Obj::Str(dst) => String::from_utf16_lossy(&utf16be(dst)),
                        Obj::Name(name) => glyph_text(name).unwrap_or_default(),
                        _ => continue,
                    };
                    cmap.single.insert(key, text);
                }
            }
            b"endbfrange" => {
                for triple in pending.chunks_exact(3) {
                    let [Obj::Str(lo), Obj::Str(hi), dst] = triple else {
                        continue;
                    };
                    let (Some(lo_key), Some(hi_key)) = (bytes_key(lo), bytes_key(hi)) else {
                        continue;
                    };
                    if lo.len() != hi.len() || hi_key < lo_key {
                        continue;
                    }
                    let dst = match dst {
                        Obj::Str(base) => RangeDst::Base(utf16be(base)),
                        Obj::Array(items) => RangeDst::List(
                            items
                                .iter()
                                .map(|i| match i {
                                    Obj::Str(s) => String::from_utf16_lossy(&utf16be(s)),
                                    _ => String::new(),
                                })
                                .collect(),
                        ),
                        _ => continue,
                    };
                    cmap.ranges.push(CMapRange {
                        lo: lo_key,
                        hi: hi_key,
                        dst,
                    });
                }
            }
            _ => {}
        }
        pending.clear();
    }
    cmap.ranges.sort_by_key(|r| r.lo);
    cmap
}

impl CMap {
    /// The text of a code, if the CMap maps it.
    pub(super) fn lookup(&self, code: u32, len: usize, out: &mut String) -> bool {
        let key = code_key(code, len);
        if let Some(text) = self.single.get(&key) {
            out.push_str(text);
            return true;
        }
        let at = self.ranges.partition_point(|r| r.lo <= key);
        let Some(range) = at.checked_sub(1).and_then(|i| self.ranges.get(i)) else {
            return false;
        };
        if key > range.hi {
            return false;
        }
        let offset = (key - range.lo) as usize;
        match &range.dst {
            RangeDst::Base(units) => {
                let mut units = units.clone();
                if let Some(last) = units.last_mut() {
                    *last = last.wrapping_add(offset as u16);
                }
                out.push_str(&String::from_utf16_lossy(&units));
                true
            }
            RangeDst::List(texts) => match texts.get(offset) {
                Some(text) => {
                    out.push_str(text);
                    true
                }
                None => false,
            },
        }
    }

    /// The byte length of the code starting at `bytes[0]`, by the code space.
    pub(super) fn code_len(&self, bytes: &[u8], default: usize) -> usize {
        if self.codespace.is_empty() {
            return default;
        }
        for len in 1..=4 {
            let Some(code) = bytes.get(..len) else { break };
            let fits = self.codespace.iter().any(|(l, lo, hi)| {
                *l == len
                    && code
                        .iter()
                        .zip(lo.iter().zip(hi))
                        .all(|(b, (lo, hi))| lo <= b && b <= hi)
            });
            if fits {
                return len;
            }
        }
        self.codespace
            .iter()
            .map(|cs| cs.0)
            .min()
            .unwrap_or(default)
    }
}
