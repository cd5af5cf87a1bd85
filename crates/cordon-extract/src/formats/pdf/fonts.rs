//! Fonts: how a font turns the codes of a shown string into text and
//! advance widths (ToUnicode CMap, UCS-2 CMaps, simple encodings with
//! `/Differences`, glyph widths).

use super::cmap::{CMap, parse_cmap};
use super::document::Doc;
use super::glyphs::glyph_text;
use super::objects::Obj;
use crate::collector::Collector;

/// What is needed to turn a font's codes into text and advance widths.
#[derive(Debug)]
pub(super) struct Font {
    /// A composite (Type0) font: two-byte codes unless the CMap says otherwise.
    composite: bool,
    /// Codes are UCS-2 (a predefined `Uni...-UCS2-` CMap).
    ucs2: bool,
    /// The `ToUnicode` CMap, which wins over every other mapping.
    to_unicode: Option<CMap>,
    /// Simple fonts: the text of each code.
    pub(super) encoding: Vec<Option<String>>,
    /// Simple fonts: widths from `first_char`; composite fonts: `(lo, hi, w)`.
    first_char: u32,
    /// Simple fonts: glyph widths of the codes from `first_char`.
    pub(super) widths: Vec<f64>,
    /// Composite fonts: sorted `(first, last, width)` ranges of CIDs.
    cid_widths: Vec<(u32, u32, f64)>,
    /// Width of codes the font gives none for.
    default_width: f64,
    /// Text-space units per glyph-space unit at font size 1: the font
    /// matrix of a Type 3 font, a thousandth for every other font.
    pub(super) scale: f64,
    /// Height of the font's em at font size 1: 1, except for Type 3 fonts,
    /// whose glyph space is their own.
    pub(super) em: f64,
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
            scale: 0.001,
            em: 1.0,
        };
        if dict.get(b"Subtype").is_some_and(|s| s.is_name(b"Type3")) {
            (font.scale, font.em) = type3_metrics(c, doc, dict);
        }
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

    /// Calls `each(text, width, word_space)` for every code of `bytes`: its
    /// text (empty when the font gives it none), its advance width at font
    /// size 1 in text space, and whether word spacing applies to it (the
    /// single-byte code 32).
    pub(super) fn each_code(&self, bytes: &[u8], mut each: impl FnMut(&str, f64, bool)) {
        let mut text = String::new();
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
            text.clear();
            let found = self
                .to_unicode
                .as_ref()
                .is_some_and(|cmap| cmap.lookup(code, len, &mut text));
            if !found {
                if self.composite {
                    if let Some(ch) = char::from_u32(code).filter(|_| self.ucs2) {
                        text.push(ch);
                    }
                } else if let Some(mapped) =
                    self.encoding.get(code as usize).and_then(Option::as_ref)
                {
                    text.push_str(mapped);
                }
            }
            each(&text, self.width(code) * self.scale, len == 1 && code == 32);
        }
    }

    /// Advance width of `code` in glyph units.
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
fn cid_widths(w: &[Obj]) -> Vec<(u32, u32, f64)> {
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
fn simple_encoding(c: &mut Collector, doc: &mut Doc, encoding: &Obj) -> Vec<Option<String>> {
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
    let mut chars: Vec<Option<String>> = (0..=255u8)
        .map(|b| {
            let byte = [b];
            let (text, _) = table.decode_without_bom_handling(&byte);
            text.chars()
                .next()
                .filter(|ch| !ch.is_control() || b.is_ascii_whitespace())
                .map(String::from)
        })
        .collect();
    if base.is_empty() || base == b"StandardEncoding" {
        chars[0x27] = Some("\u{2019}".to_owned());
        chars[0x60] = Some("\u{2018}".to_owned());
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
                            *slot = glyph_text(name).or_else(|| numbered_glyph(name, code));
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

/// The text of a glyph named after its own code, as pdfTeX names the glyphs
/// of its bitmap (Type 3) fonts: `/a65` in slot 65. Such a font is in a TeX
/// encoding, whose printable ASCII range is ASCII; only a name whose number
/// is the slot it fills is trusted (`/g42` elsewhere is a glyph index).
fn numbered_glyph(name: &[u8], code: usize) -> Option<String> {
    let digits = name.iter().position(u8::is_ascii_digit)?;
    let (prefix, number) = name.split_at(digits);
    if !(1..=2).contains(&prefix.len())
        || !prefix.iter().all(u8::is_ascii_alphabetic)
        || !(2..=3).contains(&number.len())
        || !number.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let number: usize = std::str::from_utf8(number).ok()?.parse().ok()?;
    let byte = u8::try_from(code).ok().filter(|_| number == code)?;
    (0x20..0x7F)
        .contains(&byte)
        .then(|| char::from(byte).to_string())
}

/// The glyph-space scale and em height of a Type 3 font, from its
/// `/FontMatrix` and `/FontBBox` (the defaults of other fonts when absent).
fn type3_metrics(c: &mut Collector, doc: &mut Doc, dict: &Obj) -> (f64, f64) {
    let numbers = |obj: &Obj| -> Vec<f64> {
        match obj {
            Obj::Array(items) => items.iter().map(|i| i.num().unwrap_or(0.0)).collect(),
            _ => Vec::new(),
        }
    };
    let matrix = numbers(&doc.lookup(c, dict, b"FontMatrix"));
    let bbox = numbers(&doc.lookup(c, dict, b"FontBBox"));
    let (Some(&a), Some(&d)) = (matrix.first(), matrix.get(3)) else {
        return (0.001, 1.0);
    };
    if !(a.is_finite() && d.is_finite()) || a == 0.0 || d == 0.0 {
        return (0.001, 1.0);
    }
    let height = match bbox.as_slice() {
        [_, y0, _, y1] if (y1 - y0).abs() > 0.0 => (y1 - y0).abs(),
        _ => 1000.0,
    };
    (a.clamp(-1e3, 1e3), (d.abs() * height).clamp(1e-3, 1e3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PartKind;
    use crate::formats::testutil::*;

    /// What is read from a one-page PDF drawing `content` with font `font`
    /// as `/F1`: the body text and the problems.
    fn read(font: &str, content: &str) -> (String, Vec<String>) {
        let pdf = pdf_objects(&[
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
                .to_vec(),
            pdf_stream("", content.as_bytes(), true),
            font.as_bytes().to_vec(),
        ]);
        let x = extract_attachment("fonts.pdf", &pdf);
        let problems = x.problems.iter().map(|p| p.reason.clone()).collect();
        (
            text_at(&x, "attachment:fonts.pdf", PartKind::Document),
            problems,
        )
    }

    #[test]
    fn type3_bitmap_font_named_by_code_as_pdftex_writes() {
        // Glyph space of a hundredth, glyphs half an em wide.
        let widths = vec!["50"; 46].join(" ");
        let font = format!(
            "<< /Type /Font /Subtype /Type3 /FontMatrix [0.01 0 0 0.01 0 0] /FontBBox [0 -20 90 80] \
             /FirstChar 45 /LastChar 90 /Widths [{widths}] /CharProcs << >> \
             /Encoding << /Type /Encoding /Differences [45 /a45 46 /.notdef 49 /a49 /a50 \
             65 /a65 /a66 /a67 68 /.notdef 69 /a69 /a70 73 /a73 76 /a76 /a77 79 /a79 83 /a83 /a84] >> >>"
        );
        let content = "BT /F1 10 Tf 72 700 Td [(OFFICIAL-SENSITIVE)] TJ 0 -20 Td \
                       [(JM)-333(12)] TJ ET";
        let (text, problems) = read(&font, content);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(text, "OFFICIAL-SENSITIVE\nJM 12");
    }

    #[test]
    fn simple_font_with_adobe_glyph_names() {
        let font = "<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+Frutiger \
                    /Encoding << /Type /Encoding /Differences [1 /J /M /space /four /one /two /nine \
                    /eight /seven /B /f_i /a.sc /uni004E /Asmall] >> >>";
        let content =
            "BT /F1 10 Tf 72 700 Td <01020304050306070308090A> Tj 0 -20 Td <0B0C0D0E> Tj ET";
        let (text, problems) = read(font, content);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(text, "JM 41 29 87B\nfiaNa");
    }

    #[test]
    fn glyph_names_without_meaning_are_uninspectable() {
        let font = "<< /Type /Font /Subtype /Type3 /FontMatrix [0.001 0 0 0.001 0 0] /CharProcs << >> \
                    /Encoding << /Type /Encoding /Differences [65 /g7 /g9 /g12 /g3] >> >>";
        let content = "BT /F1 10 Tf 72 700 Td (ABCDABCDABCDABCDABCDABCD) Tj ET";
        let (text, problems) = read(font, content);
        assert_eq!(text, "");
        assert!(
            problems
                .contains(&"PDF text uses fonts without a Unicode map (cannot be read)".to_owned()),
            "{problems:?}"
        );
    }

    #[test]
    fn glyphs_named_after_their_code() {
        assert_eq!(numbered_glyph(b"a65", 65).as_deref(), Some("A"));
        assert_eq!(numbered_glyph(b"a45", 45).as_deref(), Some("-"));
        assert_eq!(numbered_glyph(b"g42", 7), None);
        assert_eq!(numbered_glyph(b"a7", 7), None);
        assert_eq!(numbered_glyph(b"cid65", 65), None);
        assert_eq!(numbered_glyph(b"a200", 200), None);
    }
}
