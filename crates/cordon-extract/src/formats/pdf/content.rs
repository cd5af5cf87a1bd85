//! The content stream interpreter: graphics and text state, text operators,
//! marked content and form XObjects.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use memchr::memmem;

use super::document::Doc;
use super::fonts::Font;
use super::layout::{IDENTITY, Matrix, Target, TextOut, multiply};
use super::lexer::{Tok, is_ws};
use super::objects::{Obj, Parser, text_string};
use crate::collector::Collector;

/// Deepest nesting of form XObjects drawn inside each other.
const MAX_FORM_DEPTH: u32 = 8;
/// Most operands kept for one content operator.
const MAX_OPERANDS: usize = 64;
/// Deepest graphics-state and marked-content stacks kept.
const MAX_STACK: usize = 256;

/// Runs content streams: tracks the graphics and text state and sends text to
/// the output where it is drawn.
pub(super) struct Interpreter<'d, 'a, 'o> {
    /// The document, for resources, fonts and form streams.
    pub(super) doc: &'d mut Doc<'a>,
    /// Where the text goes.
    pub(super) out: &'o mut TextOut,
    /// Forms already drawn: each is interpreted once per document.
    pub(super) forms: &'o mut HashSet<u32>,
}

/// Graphics and text state of one content stream.
struct State {
    /// Current transformation matrix (user space to page).
    ctm: Matrix,
    /// Matrices saved by `q`.
    saved: Vec<Matrix>,
    /// Text matrix: where the next glyph is drawn.
    tm: Matrix,
    /// Text line matrix: the start of the current line.
    tlm: Matrix,
    /// Font selected by `Tf`.
    pub(super) font: Option<Rc<Font>>,
    /// Font size selected by `Tf`.
    pub(super) size: f64,
    /// Leading (`TL`): the line advance of `T*`.
    leading: f64,
    /// Character spacing (`Tc`), added after every glyph.
    char_space: f64,
    /// Word spacing (`Tw`), added after each single-byte space.
    pub(super) word_space: f64,
    /// Horizontal scaling (`Tz`) as a factor.
    pub(super) scale: f64,
    /// Where the enclosing marked-content sequences send text.
    marks: Vec<Target>,
}

impl State {
    /// The initial state of a stream drawn with `ctm`.
    pub(super) fn new(ctm: Matrix) -> Self {
        State {
            ctm,
            saved: Vec::new(),
            tm: IDENTITY,
            tlm: IDENTITY,
            font: None,
            size: 0.0,
            leading: 0.0,
            char_space: 0.0,
            word_space: 0.0,
            scale: 1.0,
            marks: Vec::new(),
        }
    }

    /// Where text drawn now goes.
    pub(super) fn target(&self) -> Target {
        self.marks.last().copied().unwrap_or(Target::Body)
    }

    /// Starts a new line offset by `(tx, ty)` from the current one.
    fn move_line(&mut self, tx: f64, ty: f64) {
        self.tlm = multiply(&[1.0, 0.0, 0.0, 1.0, tx, ty], &self.tlm);
        self.tm = self.tlm;
    }
}

impl<'d, 'a, 'o> Interpreter<'d, 'a, 'o> {
    /// An interpreter writing to `out`.
    pub(super) fn new(
        doc: &'d mut Doc<'a>,
        out: &'o mut TextOut,
        forms: &'o mut HashSet<u32>,
    ) -> Self {
        Interpreter { doc, out, forms }
    }

    /// Interprets `data` with `resources`; `depth` counts enclosing forms.
    pub(super) fn run(&mut self, c: &mut Collector, data: &[u8], resources: Rc<Obj>, depth: u32) {
        self.run_with(c, data, resources, depth, State::new(IDENTITY));
    }

    /// Interprets `data` starting from state `st`.
    fn run_with(
        &mut self,
        c: &mut Collector,
        data: &[u8],
        resources: Rc<Obj>,
        depth: u32,
        mut st: State,
    ) {
        let mut parser = Parser::new(data, 0, false);
        let mut ops: Vec<Obj> = Vec::new();
        let mut fonts_by_name: HashMap<Vec<u8>, Option<Rc<Font>>> = HashMap::new();
        while let Some(tok) = parser.lx.next() {
            let Tok::Word(op) = tok else {
                parser.nodes = 0;
                let value = parser.value(tok, 0);
                if let Some(value) = value
                    && ops.len() < MAX_OPERANDS
                {
                    ops.push(value);
                }
                continue;
            };
            let num = |i: usize| ops.get(i).and_then(Obj::num).unwrap_or(0.0);
            match op {
                b"q" if st.saved.len() < MAX_STACK => st.saved.push(st.ctm),
                b"Q" => {
                    if let Some(ctm) = st.saved.pop() {
                        st.ctm = ctm;
                    }
                }
                b"cm" if ops.len() >= 6 => {
                    let m = [num(0), num(1), num(2), num(3), num(4), num(5)];
                    st.ctm = multiply(&m, &st.ctm);
                }
                b"BT" => {
                    st.tm = IDENTITY;
                    st.tlm = IDENTITY;
                }
                b"Tf" => {
                    if let Some(Obj::Name(name)) = ops.first() {
                        let font = match fonts_by_name.get(name) {
                            Some(font) => font.clone(),
                            None => {
                                let font = self.font(c, &resources, name);
                                fonts_by_name.insert(name.clone(), font.clone());
                                font
                            }
                        };
                        st.font = font;
                    }
                    st.size = num(1);
                }
                b"TL" => st.leading = num(0),
                b"Tc" => st.char_space = num(0),
                b"Tw" => st.word_space = num(0),
                b"Tz" => st.scale = num(0) / 100.0,
                b"Td" => st.move_line(num(0), num(1)),
                b"TD" => {
                    st.leading = -num(1);
                    st.move_line(num(0), num(1));
                }
                b"Tm" if ops.len() >= 6 => {
                    st.tlm = [num(0), num(1), num(2), num(3), num(4), num(5)];
                    st.tm = st.tlm;
                }
                b"T*" => st.move_line(0.0, -st.leading),
                b"Tj" => {
                    if let Some(Obj::Str(s)) = ops.first() {
                        self.show(&mut st, s);
                    }
                }
                b"'" => {
                    st.move_line(0.0, -st.leading);
                    if let Some(Obj::Str(s)) = ops.first() {
                        self.show(&mut st, s);
                    }
                }
                b"\"" => {
                    st.word_space = num(0);
                    st.char_space = num(1);
                    st.move_line(0.0, -st.leading);
                    if let Some(Obj::Str(s)) = ops.get(2) {
                        self.show(&mut st, s);
                    }
                }
                b"TJ" => {
                    if let Some(Obj::Array(items)) = ops.first() {
                        for item in items {
                            match item {
                                Obj::Str(s) => self.show(&mut st, s),
                                Obj::Num(adjust) => {
                                    let tx = -adjust / 1000.0 * st.size * st.scale;
                                    st.tm = multiply(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &st.tm);
                                }
                                _ => {}
                            }
                        }
                    }
                }
                b"BDC" | b"BMC" => {
                    let target = artifact_target(ops.first(), ops.get(1)).unwrap_or(st.target());
                    if st.marks.len() < MAX_STACK {
                        st.marks.push(target);
                    }
                }
                b"EMC" => {
                    st.marks.pop();
                }
                b"Do" => {
                    if let Some(Obj::Name(name)) = ops.first() {
                        self.draw_object(c, &resources, name, &st, depth);
                    }
                }
                b"ID" => {
                    // Inline image data runs to `EI` between whitespace.
                    self.out.images += 1;
                    parser.lx.pos = skip_inline_image(data, parser.lx.pos);
                }
                _ => {}
            }
            ops.clear();
        }
    }

    /// The font named `name` in `resources`.
    pub(super) fn font(
        &mut self,
        c: &mut Collector,
        resources: &Obj,
        name: &[u8],
    ) -> Option<Rc<Font>> {
        let fonts = self.doc.lookup(c, resources, b"Font");
        let font = fonts.get(name)?.clone();
        match font {
            Obj::Ref(num) => {
                if let Some(font) = self.doc.fonts.get(&num) {
                    return Some(font.clone());
                }
                let dict = self.doc.get(c, num);
                let font = Rc::new(Font::new(c, self.doc, &dict));
                self.doc.fonts.insert(num, font.clone());
                Some(font)
            }
            dict @ Obj::Dict(_) => Some(Rc::new(Font::new(c, self.doc, &dict))),
            _ => None,
        }
    }

    /// Shows string `s` in the current font, glyph by glyph where the text
    /// state puts each (character spacing `Tc`, word spacing `Tw` and
    /// horizontal scaling `Tz` move the glyphs apart, as `TJ` offsets do).
    fn show(&mut self, st: &mut State, s: &[u8]) {
        let target = st.target();
        let out = &mut *self.out;
        let mut place = |st: &mut State, text: &str, width: f64, word_space: bool| {
            let trm = multiply(&st.tm, &st.ctm);
            let em = st.font.as_ref().map_or(1.0, |f| f.em);
            let height = (st.size * em).abs() * trm[2].hypot(trm[3]);
            let length = trm[0].hypot(trm[1]);
            let dir = if length > 0.0 {
                [trm[0] / length, trm[1] / length]
            } else {
                [1.0, 0.0]
            };
            let ink = width * st.size * st.scale;
            let start = [trm[4], trm[5]];
            let end = [trm[4] + ink * trm[0], trm[5] + ink * trm[1]];
            if text.is_empty() {
                out.undecodable += 1;
            } else {
                out.glyphs += 1;
                out.glyph(target, text, start, end, dir, height);
            }
            let spacing = st.char_space + if word_space { st.word_space } else { 0.0 };
            let tx = (width * st.size + spacing) * st.scale;
            st.tm = multiply(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &st.tm);
        };
        match st.font.clone() {
            Some(font) => font.each_code(s, |text, width, word_space| {
                place(st, text, width, word_space);
            }),
            None => {
                // No font selected: read the bytes as a text string, with an
                // average width per byte.
                let text = text_string(s);
                let mut buf = [0u8; 4];
                for ch in text.chars() {
                    place(st, ch.encode_utf8(&mut buf), 0.5, ch == ' ');
                }
            }
        }
    }

    /// `Do`: an image is counted, a form's content is interpreted (once per
    /// document, within the form depth limit).
    fn draw_object(
        &mut self,
        c: &mut Collector,
        resources: &Obj,
        name: &[u8],
        st: &State,
        depth: u32,
    ) {
        let xobjects = self.doc.lookup(c, resources, b"XObject");
        let Some(Obj::Ref(num)) = xobjects.get(name).cloned() else {
            return;
        };
        let dict = self.doc.get(c, num);
        let subtype = dict.get(b"Subtype").and_then(Obj::name).unwrap_or_default();
        if subtype == b"Image" {
            self.out.images += 1;
            return;
        }
        if subtype != b"Form" || depth >= MAX_FORM_DEPTH || !self.forms.insert(num) {
            return;
        }
        let Some(data) = self.doc.stream(c, num) else {
            return;
        };
        let own = self.doc.lookup(c, &dict, b"Resources");
        let form_resources = if matches!(own.as_ref(), Obj::Dict(_)) {
            own
        } else {
            Rc::new(resources.clone())
        };
        let matrix = match dict.get(b"Matrix") {
            Some(Obj::Array(m)) if m.len() == 6 => {
                let v: Vec<f64> = m.iter().map(|x| x.num().unwrap_or(0.0)).collect();
                [v[0], v[1], v[2], v[3], v[4], v[5]]
            }
            _ => IDENTITY,
        };
        let mut inner = State::new(multiply(&matrix, &st.ctm));
        inner.marks = st.marks.last().copied().into_iter().collect();
        self.run_with(c, &data, form_resources, depth + 1, inner);
    }
}

/// Header or footer, for a marked-content sequence that is a pagination
/// artifact (`/Artifact << /Type /Pagination /Subtype /Header >> BDC`).
fn artifact_target(tag: Option<&Obj>, properties: Option<&Obj>) -> Option<Target> {
    if !tag.is_some_and(|t| t.is_name(b"Artifact")) {
        return None;
    }
    let properties = properties?;
    match properties.get(b"Subtype").and_then(Obj::name) {
        Some(b"Header") => return Some(Target::Header),
        Some(b"Footer") => return Some(Target::Footer),
        _ => {}
    }
    if let Some(Obj::Array(attached)) = properties.get(b"Attached") {
        if attached.iter().any(|a| a.is_name(b"Top")) {
            return Some(Target::Header);
        }
        if attached.iter().any(|a| a.is_name(b"Bottom")) {
            return Some(Target::Footer);
        }
    }
    None
}

/// The position after an inline image's data that starts at `pos` (just after
/// `ID`): after the first `EI` with whitespace before and whitespace (or the
/// end) after.
fn skip_inline_image(data: &[u8], pos: usize) -> usize {
    let start = (pos + 1).min(data.len());
    for found in memmem::find_iter(&data[start..], b"EI") {
        let at = start + found;
        let before = at.checked_sub(1).and_then(|i| data.get(i));
        let after = data.get(at + 2);
        if before.is_some_and(|&b| is_ws(b)) && after.is_none_or(|&b| is_ws(b)) {
            return at + 2;
        }
    }
    data.len()
}

#[cfg(test)]
mod tests {
    use crate::PartKind;
    use crate::formats::testutil::*;

    /// The body text of a one-page PDF with `content` (font `/F1` is
    /// Helvetica without widths: every glyph is half an em wide).
    fn read(content: &str) -> String {
        let x = extract_attachment("spaced.pdf", &pdf_from_content(content));
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        text_at(&x, "attachment:spaced.pdf", PartKind::Document)
    }

    #[test]
    fn letters_spaced_by_character_spacing_read_as_a_word() {
        // 0.4 em between 12 pt glyphs, as CSS `letter-spacing: 0.4em`.
        assert_eq!(
            read("BT /F1 12 Tf 4.8 Tc 72 700 Td (SECRET) Tj ET"),
            "SECRET"
        );
        // Word spacing widens only the space: still two words.
        assert_eq!(
            read("BT /F1 12 Tf 4.8 Tc 3 Tw 72 700 Td (TOP SECRET) Tj ET"),
            "TOP SECRET"
        );
        // Space glyphs in letter-spaced text still separate its words.
        assert_eq!(
            read("BT /F1 12 Tf 3.6 Tc 72 700 Td (NINO JM 41 29 87 B) Tj ET"),
            "NINO JM 41 29 87 B"
        );
        // Horizontal scaling stretches glyphs and spacing alike.
        assert_eq!(
            read("BT /F1 12 Tf 4.8 Tc 150 Tz 72 700 Td (SECRET) Tj ET"),
            "SECRET"
        );
    }

    #[test]
    fn letters_drawn_one_by_one_read_as_a_word() {
        // Chromium draws letter-spaced text a glyph at a time.
        let content = "BT /F1 12 Tf 72 700 Td (S) Tj 10.8 0 Td (E) Tj 10.8 0 Td (C) Tj \
                       10.8 0 Td (R) Tj 10.8 0 Td (E) Tj 10.8 0 Td (T) Tj ET";
        assert_eq!(read(content), "SECRET");
    }

    #[test]
    fn letters_spaced_by_tj_offsets_keep_their_word_gaps() {
        let content = "BT /F1 12 Tf 72 700 Td \
                       [(T) -400 (O) -400 (P) -1300 (S) -400 (E) -400 (C) -400 (R) -400 (E) -400 (T)] TJ ET";
        assert_eq!(read(content), "TOP SECRET");
    }

    #[test]
    fn letter_spaced_identifier_in_a_table_row() {
        let content = "BT /F1 12 Tf 72 600 Td (Alan Price) Tj ET \
                       BT /F1 12 Tf 3.6 Tc 200 600 Td (JM412987B) Tj ET \
                       BT /F1 12 Tf 72 580 Td (Beth Cole) Tj ET \
                       BT /F1 12 Tf 3.6 Tc 200 580 Td (AB123456C) Tj ET";
        assert_eq!(read(content), "Alan Price JM412987B\nBeth Cole AB123456C");
    }

    #[test]
    fn ordinary_word_gaps_and_kerning() {
        // pdfTeX: words apart by a third of an em, kerning pulls letters together.
        let content = "BT /F1 12 Tf 72 700 Td \
                       [(national)-333(insurance)-333(n)28(um)27(b)-27(er:)-445(JM)-333(41)-333(29)] TJ ET";
        assert_eq!(read(content), "national insurance number: JM 41 29");
        // Two letters apart are as likely two words: not joined.
        assert_eq!(read("BT /F1 12 Tf 4.8 Tc 72 700 Td (NO) Tj ET"), "N O");
    }

    #[test]
    fn glyphs_drawn_twice_for_bold_are_read_once() {
        // Each glyph again half a point to the right: simulated bold.
        let content = "BT /F1 12 Tf 72 700 Td (S) Tj 0.5 0 Td (S) Tj 5.5 0 Td (E) Tj 0.5 0 Td (E) Tj \
                       5.5 0 Td (C) Tj 0.5 0 Td (C) Tj 5.5 0 Td (R) Tj 0.5 0 Td (R) Tj \
                       5.5 0 Td (E) Tj 0.5 0 Td (E) Tj 5.5 0 Td (T) Tj 0.5 0 Td (T) Tj ET";
        assert_eq!(read(content), "SECRET");
        // Letters doubled on purpose, side by side, stay doubled.
        assert_eq!(
            read("BT /F1 12 Tf 72 700 Td (BOOKKEEPER) Tj ET"),
            "BOOKKEEPER"
        );
    }

    #[test]
    fn rotated_letter_spaced_watermark() {
        let content = "BT /F1 40 Tf 16 Tc 0.7071 0.7071 -0.7071 0.7071 100 100 Tm (OFFICIAL) Tj ET";
        assert_eq!(read(content), "OFFICIAL");
    }

    #[test]
    fn a_very_long_line_stays_bounded_and_whole() {
        let mut content = String::from("BT /F1 12 Tf 72 700 Td ");
        for _ in 0..60_000 {
            content.push_str("(a) Tj 6 0 Td ");
        }
        content.push_str("ET");
        let text = read(&content);
        assert_eq!(text.len(), 60_000);
        assert!(text.bytes().all(|b| b == b'a'));
    }
}
