//! Fonts: how a font turns the codes of a shown string into text and
//! advance widths (ToUnicode CMap, UCS-2 CMaps, simple encodings with
//! `/Differences`, glyph widths).

use super::cmap::{CMap, parse_cmap};
use super::document::Doc;
use super::glyphs::glyph_char;
use super::objects::Obj;
use crate::collector::Collector;

/// What is needed to turn a font's codes into text and advance widths.
#[derive(Debug)]
pub(super) struct Font {
    /// A composite (Type0) font: two-byte codes unless the CMap says otherwise.
    pub(super) composite: bool,
    /// Codes are UCS-2 (a predefined `Uni...-UCS2-` CMap).
    ucs2: bool,
    pub(super) to_unicode: Option<CMap>,
    /// Simple fonts: the character of each code.
    pub(super) encoding: Vec<Option<char>>,
    /// Simple fonts: widths from `first_char`; composite fonts: `(lo, hi, w)`.
    pub(super) first_char: u32,
    pub(super) widths: Vec<f64>,
    pub(super) cid_widths: Vec<(u32, u32, f64)>,
    pub(super) default_width: f64,
}

impl Font {
    /// Builds the font of dictionary `dict`.
    pub(super) fn new(c: &mut Collector, doc: &mut Doc, dict: &Obj) -> Font {
        let composite = dict.get(b"Subtype").is_some_and(|s| s.is_name(b"Type0"));
        let encoding_obj = doc.lookup(c, dict, b"Encoding");
        let to_unicode = match dict.get(b"ToUnicode") {
            Some(Obj::Ref(num)) => doc.stream(c, *num).map(|data| parse_cmap(&data)),
            _ => None,
        };
        let mut font = Font {
            composite,
            ucs2: false,
            to_unicode,
            encoding: Vec::new(),
            first_char: 0,
            widths: Vec::new(),
            cid_widths: Vec::new(),
            default_width: 1000.0,
        };
        if composite {
            font.ucs2 = encoding_obj.name().is_some_and(|n| {
                let n = String::from_utf8_lossy(n);
                n.starts_with("Uni") && (n.contains("UCS2") || n.contains("UTF16"))
            });
            let descendants = doc.lookup(c, dict, b"DescendantFonts");
            if let Obj::Array(items) = descendants.as_ref()
                && let Some(first) = items.first()
            {
                let descendant = doc.resolve(c, first);
                if let Some(dw) = doc.lookup(c, &descendant, b"DW").num() {
                    font.default_width = dw;
                }
                if let Obj::Array(w) = doc.lookup(c, &descendant, b"W").as_ref() {
                    font.cid_widths = cid_widths(w);
                }
            }
        } else {
            font.encoding = simple_encoding(c, doc, &encoding_obj);
            font.default_width = 500.0;
            font.first_char = doc
                .lookup(c, dict, b"FirstChar")
                .num()
                .map_or(0, |f| f.clamp(0.0, 255.0) as u32);
            if let Obj::Array(w) = doc.lookup(c, dict, b"Widths").as_ref() {
                font.widths = w.iter().take(256).map(|w| w.num().unwrap_or(0.0)).collect();
            }
        }
        font
    }

    /// Appends the text of `bytes` to `out`, returning the advance in glyph
    /// units (thousandths of the font size), the number of codes, the number
    /// of codes without text, and the number of single-byte spaces.
    pub(super) fn decode(&self, bytes: &[u8], out: &mut String) -> (f64, usize, usize, usize) {
        let mut advance = 0.0;
        let (mut codes, mut missing, mut spaces) = (0, 0, 0);
        let mut i = 0;
        while i < bytes.len() {
            let default_len = if self.composite { 2 } else { 1 };
            let len = match &self.to_unicode {
                Some(cmap) => cmap.code_len(&bytes[i..], default_len),
                None => default_len,
            }
            .min(bytes.len() - i)
            .max(1);
            let code = bytes[i..i + len]
                .iter()
                .fold(0u32, |acc, &b| acc << 8 | u32::from(b));
            i += len;
            codes += 1;
            let found = self
                .to_unicode
                .as_ref()
                .is_some_and(|cmap| cmap.lookup(code, len, out));
            let found = found
                || if self.composite {
                    self.ucs2
                        && char::from_u32(code).is_some_and(|ch| {
                            out.push(ch);
                            true
                        })
                } else {
                    match self.encoding.get(code as usize).copied().flatten() {
                        Some(ch) => {
                            out.push(ch);
                            true
                        }
                        None => false,
                    }
                };
            if !found {
                missing += 1;
            }
            if len == 1 && code == 32 {
                spaces += 1;
            }
            advance += self.width(code);
        }
        (advance, codes, missing, spaces)
    }

    pub(super) fn width(&self, code: u32) -> f64 {
        if self.composite {
            let at = self.cid_widths.partition_point(|w| w.0 <= code);
            return match at.checked_sub(1).and_then(|i| self.cid_widths.get(i)) {
                Some(&(_, hi, w)) if code <= hi => w,
                _ => self.default_width,
            };
        }
        code.checked_sub(self.first_char)
            .and_then(|i| self.widths.get(i as usize))
            .copied()
            .filter(|w| *w > 0.0)
            .unwrap_or(self.default_width)
    }
}

/// The `/W` array of a CID font as sorted `(first, last, width)` ranges.
pub(super) fn cid_widths(w: &[Obj]) -> Vec<(u32, u32, f64)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < w.len() && out.len() < 1 << 16 {
        let Some(first) = w[i].num() else { break };
        let first = first.clamp(0.0, f64::from(u32::MAX)) as u32;
        match w.get(i + 1) {
            Some(Obj::Array(list)) => {
                for (k, width) in list.iter().enumerate().take(1 << 16) {
                    let code = first.saturating_add(k as u32);
                    out.push((code, code, width.num().unwrap_or(0.0)));
                }
                i += 2;
            }
            Some(Obj::Num(last)) => {
                let last = last.clamp(0.0, f64::from(u32::MAX)) as u32;
                let width = w.get(i + 2).and_then(Obj::num).unwrap_or(0.0);
                out.push((first, last, width));
                i += 3;
            }
            _ => break,
        }
    }
    out.sort_by_key(|w| w.0);
    out
}

/// The code-to-character table of a simple font: a base encoding
/// (WinAnsi, MacRoman or Standard) with `/Differences` applied.
pub(super) fn simple_encoding(
    c: &mut Collector,
    doc: &mut Doc,
    encoding: &Obj,
) -> Vec<Option<char>> {
    let base = match encoding {
        Obj::Name(name) => name.clone(),
        Obj::Dict(_) => encoding
            .get(b"BaseEncoding")
            .and_then(Obj::name)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let table = if base == b"MacRomanEncoding" {
        encoding_rs::MACINTOSH
    } else {
        encoding_rs::WINDOWS_1252
    };
    let mut chars: Vec<Option<char>> = (0..=255u8)
        .map(|b| {
            let byte = [b];
            let (text, _) = table.decode_without_bom_handling(&byte);
            text.chars()
                .next()
                .filter(|ch| !ch.is_control() || b.is_ascii_whitespace())
        })
        .collect();
    if base.is_empty() || base == b"StandardEncoding" {
        chars[0x27] = Some('\u{2019}');
        chars[0x60] = Some('\u{2018}');
    }
    if let Obj::Dict(_) = encoding {
        let differences = doc.lookup(c, encoding, b"Differences");
        if let Obj::Array(items) = differences.as_ref() {
            let mut code = 0usize;
            for item in items {
                match item {
                    Obj::Num(n) => code = n.clamp(0.0, 256.0) as usize,
                    Obj::Name(name) => {
                        if let Some(slot) = chars.get_mut(code) {
                            *slot = glyph_char(name);
                        }
                        code += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    chars
}
