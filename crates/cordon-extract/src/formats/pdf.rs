//! PDF text by a bounded hand-scan: no PDF library, no recursion on input
//! structure beyond fixed depths, no allocation from declared sizes.
//!
//! The file is scanned once for `N G obj` headers, which gives an index of
//! objects and of stream data (object streams are indexed too). From the
//! catalogue's page tree (or, when that is broken, every `/Type /Page`
//! object) each page's content streams are decompressed through the bounded
//! reading of [`super::archive`] and interpreted for their text operators
//! (`Tj`, `TJ`, `'`, `"`), with the font's `ToUnicode` CMap, its simple
//! encoding and `/Differences`, or a UCS-2 CMap deciding the characters. Line
//! and word breaks come from where the text is drawn: a change of line makes a
//! line break, a gap wider than a fraction of the font size a space, and text
//! drawn right after the previous text joins it (Word splits words across
//! runs). Form XObjects, annotation comments and form-field values and the
//! document information (title, subject, keywords) are read too. Text marked
//! as a pagination artifact of subtype `Header` or `Footer` (tagged PDFs from
//! Word) becomes the document header or footer.
//!
//! Not supported: encrypted PDFs (also those with an empty user password),
//! text drawn as images (scans without an OCR layer), Type3 glyph procedures,
//! fonts without any Unicode information (a CID font with `Identity-H` and no
//! `ToUnicode`), and stream predictors. Each is reported as a problem where it
//! hides text, so such a PDF is not passed as clean.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use flate2::read::{DeflateDecoder, ZlibDecoder};
use memchr::memmem;

use super::archive::{Expansion, ReadError};
use crate::PartKind;
use crate::collector::{Collector, FileRef};

/// Deepest nesting of arrays and dictionaries in one object.
const MAX_NESTING: u32 = 32;
/// Most values in one parsed object (bounds memory whatever the input).
const MAX_NODES: usize = 1 << 20;
/// Deepest nesting of form XObjects drawn inside each other.
const MAX_FORM_DEPTH: u32 = 8;
/// Most operands kept for one content operator.
const MAX_OPERANDS: usize = 64;
/// Deepest graphics-state and marked-content stacks kept.
const MAX_STACK: usize = 256;
/// Most pages visited.
const MAX_PAGES: usize = 100_000;

/// Inspects a PDF: extracts its text, or records why it cannot be read.
pub(crate) fn inspect(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let mut doc = Doc::scan(c, bytes);
    if doc.index.is_empty() {
        c.problem(file.location, "corrupt PDF");
        return;
    }
    if doc.trailers.iter().any(|t| t.get(b"Encrypt").is_some()) {
        c.problem(file.location, "encrypted PDF (cannot be inspected)");
        return;
    }
    doc.index_object_streams(c);
    let mut out = TextOut {
        limit: usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX),
        ..TextOut::default()
    };
    let pages = doc.pages(c);
    let mut forms = HashSet::new();
    let mut interpreted = HashSet::new();
    for (page, resources) in &pages {
        if doc.stop.is_some() {
            break;
        }
        let page_obj = doc.get(c, *page);
        // /Contents: one stream, an array of streams, or a reference to such an array.
        let refs: Vec<Obj> = match page_obj.get(b"Contents") {
            Some(Obj::Ref(num)) => match doc.get(c, *num).as_ref() {
                Obj::Array(items) => items.clone(),
                _ => vec![Obj::Ref(*num)],
            },
            Some(Obj::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        let mut data = Vec::new();
        for item in refs {
            if let Obj::Ref(num) = item
                && let Some(stream) = doc.stream(c, num)
            {
                // A stream drawn again (by many pages, or many times on one)
                // costs work again: it is charged like new expansion.
                if !interpreted.insert(num)
                    && let Err(StreamError::Limit(reason)) = doc.charge(c, stream.len())
                {
                    doc.stop.get_or_insert_with(|| reason.to_owned());
                    break;
                }
                data.extend_from_slice(&stream);
                data.push(b'\n');
            }
        }
        out.new_page();
        let mut state = Interpreter::new(&mut doc, &mut out, &mut forms);
        state.run(c, &data, resources.clone(), 0);
        annotations(c, &mut doc, *page, &mut out);
    }
    let location = file.location;
    c.text(location, PartKind::Document, &out.body);
    c.text(
        format!("{location}:header"),
        PartKind::DocumentHeader,
        &out.header,
    );
    c.text(
        format!("{location}:footer"),
        PartKind::DocumentFooter,
        &out.footer,
    );
    let info = doc.info(c);
    c.text(format!("{location}:properties"), PartKind::Document, &info);

    if let Some(reason) = &doc.stop {
        c.problem(location, reason.clone());
    } else if out.truncated {
        c.problem(location, "expanded size limit reached");
    }
    if let Some(filter) = &doc.unsupported {
        c.problem(
            location,
            format!("PDF content uses an unsupported compression ({filter})"),
        );
    }
    if doc.damaged {
        c.problem(location, "corrupt PDF (some content could not be read)");
    }
    if pages.is_empty() && out.glyphs == 0 {
        c.problem(location, "corrupt PDF (no pages found)");
    } else if out.glyphs == 0 && out.undecodable == 0 && out.images > 0 {
        c.problem(location, "PDF has no extractable text (scanned image?)");
    }
    if out.undecodable >= 20 && out.undecodable * 10 >= out.glyphs + out.undecodable {
        c.problem(
            location,
            "PDF text uses fonts without a Unicode map (cannot be read)",
        );
    }
}

// ---------------------------------------------------------------------------
// Lexer and object parser

/// One PDF token.
#[derive(Clone, Debug, PartialEq)]
enum Tok<'a> {
    Num(f64),
    Int(i64),
    Name(Vec<u8>),
    Str(Vec<u8>),
    ArrOpen,
    ArrClose,
    DictOpen,
    DictClose,
    Word(&'a [u8]),
}

fn is_ws(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A PDF tokenizer over bytes; always makes progress, never fails.
struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Lexer { data, pos }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_ws(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(b) = self.peek() {
                    if b == b'\n' || b == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn next(&mut self) -> Option<Tok<'a>> {
        loop {
            self.skip_ws();
            let b = self.peek()?;
            match b {
                b'(' => {
                    self.pos += 1;
                    return Some(Tok::Str(self.literal()));
                }
                b'<' => {
                    if self.data.get(self.pos + 1) == Some(&b'<') {
                        self.pos += 2;
                        return Some(Tok::DictOpen);
                    }
                    self.pos += 1;
                    return Some(Tok::Str(self.hex()));
                }
                b'>' => {
                    if self.data.get(self.pos + 1) == Some(&b'>') {
                        self.pos += 2;
                        return Some(Tok::DictClose);
                    }
                    self.pos += 1;
                }
                b'[' => {
                    self.pos += 1;
                    return Some(Tok::ArrOpen);
                }
                b']' => {
                    self.pos += 1;
                    return Some(Tok::ArrClose);
                }
                b'/' => {
                    self.pos += 1;
                    return Some(Tok::Name(self.name()));
                }
                b')' | b'{' | b'}' => self.pos += 1,
                _ => {
                    let start = self.pos;
                    while self.peek().is_some_and(|b| !is_ws(b) && !is_delim(b)) {
                        self.pos += 1;
                    }
                    let word = &self.data[start..self.pos];
                    return Some(number(word).unwrap_or(Tok::Word(word)));
                }
            }
        }
    }

    /// A literal string; the opening parenthesis is consumed.
    fn literal(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut depth = 1usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\\' => {
                    let Some(e) = self.peek() else { break };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut value = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        value = value * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((value & 0xFF) as u8);
                        }
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                    out.push(b);
                }
                _ => out.push(b),
            }
        }
        out
    }

    /// A hex string; the opening `<` is consumed.
    fn hex(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        while let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'>' {
                break;
            }
            let Some(v) = (b as char).to_digit(16) else {
                continue;
            };
            let v = v as u8;
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        out
    }

    /// A name after its `/`, with `#xx` escapes decoded.
    fn name(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if is_ws(b) || is_delim(b) {
                break;
            }
            self.pos += 1;
            if b == b'#' {
                let hex = self.data.get(self.pos..self.pos + 2);
                if let Some(v) = hex
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    out.push(v);
                    self.pos += 2;
                    continue;
                }
            }
            out.push(b);
        }
        out
    }
}

/// A number token, if `word` is one.
fn number(word: &[u8]) -> Option<Tok<'static>> {
    if word.is_empty()
        || !word
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'))
        || !word.iter().any(u8::is_ascii_digit)
    {
        return None;
    }
    let text = std::str::from_utf8(word).ok()?;
    if !text.contains('.')
        && let Ok(n) = text.parse::<i64>()
    {
        return Some(Tok::Int(n));
    }
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Tok::Num)
}

/// A PDF value.
#[derive(Clone, Debug, PartialEq)]
enum Obj {
    Null,
    Bool(bool),
    Num(f64),
    Name(Vec<u8>),
    Str(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Vec<(Vec<u8>, Obj)>),
    Ref(u32),
}

impl Obj {
    /// The value of `key` in a dictionary (the last one, as readers do).
    fn get(&self, key: &[u8]) -> Option<&Obj> {
        match self {
            Obj::Dict(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|e| &e.1),
            _ => None,
        }
    }

    fn name(&self) -> Option<&[u8]> {
        match self {
            Obj::Name(n) => Some(n),
            _ => None,
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            Obj::Num(n) => Some(*n),
            _ => None,
        }
    }

    fn is_name(&self, name: &[u8]) -> bool {
        self.name() == Some(name)
    }
}

/// Parses values from a lexer, within fixed nesting and size bounds.
struct Parser<'a> {
    lx: Lexer<'a>,
    nodes: usize,
    /// Recognise `N G R` references (off in content streams, which have none).
    refs: bool,
}

impl<'a> Parser<'a> {
    fn new(data: &'a [u8], pos: usize, refs: bool) -> Self {
        Parser {
            lx: Lexer::new(data, pos),
            nodes: 0,
            refs,
        }
    }

    /// The next value, or `None` at the end or on a malformed value.
    fn parse(&mut self) -> Option<Obj> {
        let tok = self.lx.next()?;
        self.nodes = 0;
        self.value(tok, 0)
    }

    fn value(&mut self, tok: Tok<'a>, depth: u32) -> Option<Obj> {
        self.nodes += 1;
        if self.nodes > MAX_NODES || depth > MAX_NESTING {
            return None;
        }
        Some(match tok {
            Tok::Int(n) => {
                if self.refs
                    && let Ok(num) = u32::try_from(n)
                {
                    let save = self.lx.pos;
                    if let Some(Tok::Int(generation)) = self.lx.next()
                        && generation >= 0
                        && let Some(Tok::Word(b"R")) = self.lx.next()
                    {
                        return Some(Obj::Ref(num));
                    }
                    self.lx.pos = save;
                }
                Obj::Num(n as f64)
            }
            Tok::Num(n) => Obj::Num(n),
            Tok::Name(n) => Obj::Name(n),
            Tok::Str(s) => Obj::Str(s),
            Tok::ArrOpen => {
                let mut items = Vec::new();
                loop {
                    let tok = self.lx.next()?;
                    if tok == Tok::ArrClose {
                        break;
                    }
                    items.push(self.value(tok, depth + 1)?);
                }
                Obj::Array(items)
            }
            Tok::DictOpen => {
                let mut entries = Vec::new();
                loop {
                    match self.lx.next()? {
                        Tok::DictClose => break,
                        Tok::Name(key) => {
                            let tok = self.lx.next()?;
                            if tok == Tok::DictClose {
                                entries.push((key, Obj::Null));
                                break;
                            }
                            let value = self.value(tok, depth + 1)?;
                            entries.push((key, value));
                        }
                        Tok::Word(_) => return None,
                        _ => {} // a key that is not a name: skip it
                    }
                }
                Obj::Dict(entries)
            }
            Tok::Word(b"true") => Obj::Bool(true),
            Tok::Word(b"false") => Obj::Bool(false),
            Tok::Word(b"null") => Obj::Null,
            Tok::Word(_) | Tok::ArrClose | Tok::DictClose => return None,
        })
    }
}

// ---------------------------------------------------------------------------
// The object index

/// Where an object's value is.
#[derive(Clone, Copy, Debug)]
enum Loc {
    /// In the file, after `obj` at `at`; with its stream data range, if any.
    Direct {
        at: usize,
        stream: Option<(usize, usize)>,
    },
    /// Inside the decoded object stream `container`, at offset `at`.
    Packed { container: u32, at: usize },
}

/// A PDF being read: the index of its objects and the decoded streams, with
/// the decompression allowance they share.
struct Doc<'a> {
    data: &'a [u8],
    /// Object number to location and file position (a later one wins).
    index: HashMap<u32, (Loc, usize)>,
    /// Parsed objects.
    cache: HashMap<u32, Rc<Obj>>,
    /// Decoded stream data (`None`: could not be decoded).
    streams: HashMap<u32, Option<Rc<Vec<u8>>>>,
    /// Object streams to index.
    object_streams: Vec<u32>,
    /// Trailer dictionaries and cross-reference stream dictionaries.
    trailers: Vec<Obj>,
    expansion: Expansion,
    /// A limit was passed: the reason.
    stop: Option<String>,
    /// Some content stream could not be decompressed.
    damaged: bool,
    /// A content stream uses a compression this reader lacks.
    unsupported: Option<String>,
    /// Fonts built so far, by object number.
    fonts: HashMap<u32, Rc<Font>>,
    /// Streams being decoded inside each other (filters found in object
    /// streams): bounded so crafted chains cannot exhaust the stack.
    nesting: u32,
}

impl<'a> Doc<'a> {
    /// Scans `data` once for objects, their streams and the trailers.
    fn scan(c: &Collector, data: &'a [u8]) -> Self {
        let mut doc = Doc {
            data,
            index: HashMap::new(),
            cache: HashMap::new(),
            streams: HashMap::new(),
            object_streams: Vec::new(),
            trailers: Vec::new(),
            expansion: Expansion::new(c, data.len()),
            stop: None,
            damaged: false,
            unsupported: None,
            fonts: HashMap::new(),
            nesting: 0,
        };
        let finder = memmem::Finder::new(b"obj");
        let mut pos = 0;
        while let Some(found) = data.get(pos..).and_then(|rest| finder.find(rest)) {
            let at = pos + found;
            let end = at + 3;
            let header = object_number(data, at);
            let boundary = data.get(end).is_none_or(|&b| is_ws(b) || is_delim(b));
            let Some(num) = header.filter(|_| boundary) else {
                pos = end;
                continue;
            };
            let mut parser = Parser::new(data, end, true);
            let Some(value) = parser.parse() else {
                pos = parser.lx.pos.max(end);
                continue;
            };
            let after = parser.lx.pos;
            let (stream, resume) = match stream_range(data, after, &value) {
                Some((start, stop, resume)) => (Some((start, stop)), resume),
                None => (None, after),
            };
            if stream.is_some() {
                if value.get(b"Type").is_some_and(|t| t.is_name(b"ObjStm")) {
                    doc.object_streams.push(num);
                }
                if value.get(b"Type").is_some_and(|t| t.is_name(b"XRef")) {
                    doc.trailers.push(trailer_keys(&value));
                }
            }
            doc.index.insert(num, (Loc::Direct { at: end, stream }, at));
            pos = resume.max(end);
        }
        let mut resume = 0;
        for found in memmem::find_iter(data, b"trailer") {
            // Not inside what the previous trailer's parse consumed, so that
            // an unterminated string cannot make this quadratic.
            if found < resume {
                continue;
            }
            let mut parser = Parser::new(data, found + 7, true);
            if let Some(value @ Obj::Dict(_)) = parser.parse() {
                doc.trailers.push(trailer_keys(&value));
            }
            resume = parser.lx.pos;
        }
        doc
    }

    /// Adds the objects packed in object streams to the index; an object
    /// defined directly later in the file than the stream keeps that definition.
    fn index_object_streams(&mut self, c: &mut Collector) {
        for container in std::mem::take(&mut self.object_streams) {
            let Some(&(_, container_at)) = self.index.get(&container) else {
                continue;
            };
            let dict = self.get(c, container);
            let (Some(n), Some(first)) = (
                dict.get(b"N").and_then(Obj::num),
                dict.get(b"First").and_then(Obj::num),
            ) else {
                continue;
            };
            let Some(data) = self.stream(c, container) else {
                continue;
            };
            let mut lx = Lexer::new(&data, 0);
            let first = first.max(0.0) as usize;
            for _ in 0..(n.max(0.0) as usize).min(data.len()) {
                let (Some(Tok::Int(num)), Some(Tok::Int(offset))) = (lx.next(), lx.next()) else {
                    break;
                };
                let (Ok(num), Ok(offset)) = (u32::try_from(num), usize::try_from(offset)) else {
                    continue;
                };
                let Some(at) = first.checked_add(offset) else {
                    continue;
                };
                let newer = self
                    .index
                    .get(&num)
                    .is_none_or(|&(_, defined_at)| defined_at < container_at);
                if newer {
                    self.index
                        .insert(num, (Loc::Packed { container, at }, container_at));
                    self.cache.remove(&num);
                }
            }
        }
    }

    /// The object `num`, parsed (null when missing or malformed).
    fn get(&mut self, c: &mut Collector, num: u32) -> Rc<Obj> {
        if let Some(obj) = self.cache.get(&num) {
            return obj.clone();
        }
        let value = match self.index.get(&num).map(|e| e.0) {
            Some(Loc::Direct { at, .. }) => Parser::new(self.data, at, true).parse(),
            Some(Loc::Packed { container, at }) => self
                .stream(c, container)
                .and_then(|data| Parser::new(&data, at, true).parse()),
            None => None,
        };
        let value = Rc::new(value.unwrap_or(Obj::Null));
        self.cache.insert(num, value.clone());
        value
    }

    /// `obj` with references followed.
    fn resolve(&mut self, c: &mut Collector, obj: &Obj) -> Rc<Obj> {
        let mut current = match obj {
            Obj::Ref(num) => self.get(c, *num),
            other => return Rc::new(other.clone()),
        };
        for _ in 0..8 {
            match current.as_ref() {
                Obj::Ref(num) => {
                    let num = *num;
                    current = self.get(c, num);
                }
                _ => break,
            }
        }
        current
    }

    /// `dict[key]` with references followed (null when absent).
    fn lookup(&mut self, c: &mut Collector, dict: &Obj, key: &[u8]) -> Rc<Obj> {
        match dict.get(key) {
            Some(value) => self.resolve(c, value),
            None => Rc::new(Obj::Null),
        }
    }

    /// The decoded data of stream object `num`, if it has any that can be read.
    fn stream(&mut self, c: &mut Collector, num: u32) -> Option<Rc<Vec<u8>>> {
        if let Some(cached) = self.streams.get(&num) {
            return cached.clone();
        }
        // Mark first, so a stream whose filters refer back to it cannot loop.
        self.streams.insert(num, None);
        let Some((
            Loc::Direct {
                stream: Some((start, end)),
                ..
            },
            _,
        )) = self.index.get(&num).copied()
        else {
            return None;
        };
        if self.nesting >= 4 {
            return None;
        }
        self.nesting += 1;
        let dict = self.get(c, num);
        self.nesting -= 1;
        let data = self.data;
        let raw = data.get(start..end)?;
        self.nesting += 1;
        let decoded = self.decode(c, &dict, raw);
        self.nesting -= 1;
        let decoded = match decoded {
            Ok(data) => Some(Rc::new(data.into_owned())),
            Err(StreamError::Image) => None,
            Err(StreamError::Unsupported(filter)) => {
                self.unsupported.get_or_insert(filter);
                None
            }
            Err(StreamError::Limit(reason)) => {
                self.stop.get_or_insert_with(|| reason.to_owned());
                None
            }
            Err(StreamError::Corrupt) => {
                self.damaged = true;
                None
            }
        };
        self.streams.insert(num, decoded.clone());
        decoded
    }

    /// Applies the stream's filters to `raw`.
    fn decode<'d>(
        &mut self,
        c: &mut Collector,
        dict: &Obj,
        raw: &'d [u8],
    ) -> Result<Cow<'d, [u8]>, StreamError> {
        if self.stop.is_some() {
            return Err(StreamError::Limit("expanded size limit reached"));
        }
        let filters = match self.lookup(c, dict, b"Filter").as_ref() {
            Obj::Name(name) => vec![name.clone()],
            Obj::Array(items) => items
                .iter()
                .filter_map(|i| i.name().map(<[u8]>::to_vec))
                .collect(),
            _ => Vec::new(),
        };
        let mut data = Cow::Borrowed(raw);
        for filter in filters {
            data = Cow::Owned(match filter.as_slice() {
                b"FlateDecode" | b"Fl" => self.inflate(c, &data)?,
                b"ASCIIHexDecode" | b"AHx" => {
                    let decoded = Lexer::new(&data, 0).hex();
                    self.charge(c, decoded.len())?;
                    decoded
                }
                b"ASCII85Decode" | b"A85" => {
                    let decoded = ascii85(&data);
                    self.charge(c, decoded.len())?;
                    decoded
                }
                b"RunLengthDecode" | b"RL" => {
                    let cap = self.room(c);
                    let decoded = run_length(&data, cap);
                    self.charge(c, decoded.len())?;
                    decoded
                }
                b"LZWDecode" | b"LZW" => {
                    let cap = self.room(c);
                    let decoded = lzw(&data, cap);
                    self.charge(c, decoded.len())?;
                    decoded
                }
                b"DCTDecode" | b"DCT" | b"JPXDecode" | b"CCITTFaxDecode" | b"CCF"
                | b"JBIG2Decode" => return Err(StreamError::Image),
                other => {
                    return Err(StreamError::Unsupported(
                        String::from_utf8_lossy(other).into_owned(),
                    ));
                }
            });
        }
        Ok(data)
    }

    /// Inflates zlib (or raw deflate) data within the limits. Data after a
    /// damaged point is lost, as it is for viewers; nothing at all is corrupt.
    fn inflate(&mut self, c: &mut Collector, data: &[u8]) -> Result<Vec<u8>, StreamError> {
        let mut out = Vec::new();
        match self.expansion.read_all(c, ZlibDecoder::new(data), &mut out) {
            Ok(()) => return Ok(out),
            Err(ReadError::Limit(reason)) => return Err(StreamError::Limit(reason)),
            Err(_) if !out.is_empty() => return Ok(out),
            Err(_) => {}
        }
        match self
            .expansion
            .read_all(c, DeflateDecoder::new(data), &mut out)
        {
            Ok(()) => Ok(out),
            Err(ReadError::Limit(reason)) => Err(StreamError::Limit(reason)),
            Err(_) if !out.is_empty() => Ok(out),
            Err(_) => Err(StreamError::Corrupt),
        }
    }

    /// Bytes a decoder may still produce (one more is a limit).
    fn room(&self, c: &Collector) -> usize {
        usize::try_from(self.expansion.room(c).saturating_add(1)).unwrap_or(usize::MAX)
    }

    fn charge(&mut self, c: &mut Collector, n: usize) -> Result<(), StreamError> {
        self.expansion.charge(c, n as u64).map_err(|e| match e {
            ReadError::Limit(reason) => StreamError::Limit(reason),
            _ => StreamError::Corrupt,
        })
    }

    /// Page objects in order, each with the resources it uses (inherited from
    /// the page tree when the page has none of its own). When the page tree is
    /// broken, every object of type `/Page` in object-number order.
    fn pages(&mut self, c: &mut Collector) -> Vec<(u32, Rc<Obj>)> {
        let mut pages = Vec::new();
        let root = self
            .trailers
            .iter()
            .rev()
            .find_map(|t| t.get(b"Root").cloned());
        if let Some(root) = root {
            let catalog = self.resolve(c, &root);
            if let Some(Obj::Ref(top)) = catalog.get(b"Pages").cloned() {
                let mut seen = HashSet::new();
                let mut stack: Vec<(u32, Rc<Obj>)> = vec![(top, Rc::new(Obj::Null))];
                while let Some((num, inherited)) = stack.pop() {
                    if !seen.insert(num) || pages.len() >= MAX_PAGES {
                        continue;
                    }
                    let node = self.get(c, num);
                    let own = self.lookup(c, &node, b"Resources");
                    let resources = if matches!(own.as_ref(), Obj::Dict(_)) {
                        own
                    } else {
                        inherited
                    };
                    match self.lookup(c, &node, b"Kids").as_ref() {
                        Obj::Array(kids) => {
                            for kid in kids.iter().rev() {
                                if let Obj::Ref(kid) = kid {
                                    stack.push((*kid, resources.clone()));
                                }
                            }
                        }
                        _ if node.get(b"Type").is_some_and(|t| t.is_name(b"Page"))
                            || node.get(b"Contents").is_some() =>
                        {
                            pages.push((num, resources));
                        }
                        _ => {}
                    }
                }
            }
        }
        if pages.is_empty() {
            let mut nums: Vec<u32> = self.index.keys().copied().collect();
            nums.sort_unstable();
            for num in nums.into_iter().take(1_000_000) {
                let obj = self.get(c, num);
                if obj.get(b"Type").is_some_and(|t| t.is_name(b"Page")) {
                    let resources = self.lookup(c, &obj, b"Resources");
                    pages.push((num, resources));
                    if pages.len() >= MAX_PAGES {
                        break;
                    }
                } else if !matches!(obj.as_ref(), Obj::Dict(_)) {
                    // Keep only what pages need in memory.
                    self.cache.remove(&num);
                }
            }
        }
        pages
    }

    /// Title, subject and keywords of the document information dictionary.
    fn info(&mut self, c: &mut Collector) -> String {
        let Some(info) = self
            .trailers
            .iter()
            .rev()
            .find_map(|t| t.get(b"Info").cloned())
        else {
            return String::new();
        };
        let info = self.resolve(c, &info);
        let mut out = String::new();
        for key in [&b"Title"[..], b"Subject", b"Keywords"] {
            if let Obj::Str(s) = self.lookup(c, &info, key).as_ref() {
                out.push_str(&text_string(s));
                out.push('\n');
            }
        }
        out
    }
}

/// Why a stream was not decoded.
#[derive(Debug)]
enum StreamError {
    /// Image data: no text in it.
    Image,
    /// A filter this reader lacks.
    Unsupported(String),
    /// A limit was passed.
    Limit(&'static str),
    /// The compressed data is damaged.
    Corrupt,
}

/// The keys of a trailer worth keeping.
fn trailer_keys(dict: &Obj) -> Obj {
    let Obj::Dict(entries) = dict else {
        return Obj::Null;
    };
    Obj::Dict(
        entries
            .iter()
            .filter(|(k, _)| matches!(k.as_slice(), b"Root" | b"Info" | b"Encrypt"))
            .cloned()
            .collect(),
    )
}

/// The object number of an `N G obj` header whose `obj` is at `at`.
fn object_number(data: &[u8], at: usize) -> Option<u32> {
    let mut i = at;
    let skip_ws = |i: &mut usize| {
        let start = *i;
        while *i > 0 && is_ws(data[*i - 1]) {
            *i -= 1;
        }
        *i < start
    };
    let digits = |i: &mut usize| {
        let end = *i;
        while *i > 0 && data[*i - 1].is_ascii_digit() && end - *i < 10 {
            *i -= 1;
        }
        (*i < end).then(|| &data[*i..end])
    };
    if !skip_ws(&mut i) {
        return None;
    }
    digits(&mut i)?;
    if !skip_ws(&mut i) {
        return None;
    }
    let num = digits(&mut i)?;
    if i > 0 && !is_ws(data[i - 1]) && !is_delim(data[i - 1]) {
        return None;
    }
    std::str::from_utf8(num).ok()?.parse().ok()
}

/// The data range of the stream following a dictionary that ends at `after`,
/// and where scanning resumes: `(start, end, resume)`.
fn stream_range(data: &[u8], after: usize, dict: &Obj) -> Option<(usize, usize, usize)> {
    if !matches!(dict, Obj::Dict(_)) {
        return None;
    }
    let mut i = after;
    while data.get(i).is_some_and(|&b| is_ws(b)) {
        i += 1;
    }
    if !data.get(i..)?.starts_with(b"stream") {
        return None;
    }
    i += 6;
    if data.get(i) == Some(&b'\r') {
        i += 1;
    }
    if data.get(i) == Some(&b'\n') {
        i += 1;
    }
    let start = i;
    // Trust /Length only when `endstream` follows where it says.
    if let Some(length) = dict.get(b"Length").and_then(Obj::num)
        && length >= 0.0
        && let Some(end) = start.checked_add(length as usize)
        && end <= data.len()
    {
        let mut j = end;
        while data.get(j).is_some_and(|&b| is_ws(b)) {
            j += 1;
        }
        if data
            .get(j..)
            .is_some_and(|rest| rest.starts_with(b"endstream"))
        {
            return Some((start, end, j + 9));
        }
    }
    match memmem::find(data.get(start..)?, b"endstream") {
        Some(found) => {
            let mut end = start + found;
            if end > start && data[end - 1] == b'\n' {
                end -= 1;
            }
            if end > start && data[end - 1] == b'\r' {
                end -= 1;
            }
            Some((start, end, start + found + 9))
        }
        None => Some((start, data.len(), data.len())),
    }
}

/// Decodes ASCII85 data (`<~ ... ~>` framing tolerated).
fn ascii85(data: &[u8]) -> Vec<u8> {
    let data = data.strip_prefix(b"<~").unwrap_or(data);
    let mut out = Vec::with_capacity(data.len());
    let mut group = [0u32; 5];
    let mut n = 0;
    for &b in data {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = u32::from(b - b'!');
                n += 1;
                if n == 5 {
                    let value = group
                        .iter()
                        .fold(0u32, |acc, &d| acc.wrapping_mul(85).wrapping_add(d));
                    out.extend_from_slice(&value.to_be_bytes());
                    n = 0;
                }
            }
            _ => {}
        }
    }
    if n > 1 {
        for slot in group.iter_mut().skip(n) {
            *slot = 84;
        }
        let value = group
            .iter()
            .fold(0u32, |acc, &d| acc.wrapping_mul(85).wrapping_add(d));
        out.extend_from_slice(&value.to_be_bytes()[..n - 1]);
    }
    out
}

/// Decodes run-length data, producing at most `cap` bytes.
fn run_length(data: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&len) = data.get(i) {
        if out.len() >= cap || len == 128 {
            break;
        }
        if len < 128 {
            let count = usize::from(len) + 1;
            let Some(run) = data.get(i + 1..i + 1 + count) else {
                out.extend_from_slice(&data[i + 1..]);
                break;
            };
            out.extend_from_slice(run);
            i += 1 + count;
        } else {
            let Some(&b) = data.get(i + 1) else { break };
            out.extend(std::iter::repeat_n(b, 257 - usize::from(len)));
            i += 2;
        }
    }
    out
}

/// Decodes LZW data (early change, as PDF writes it), producing at most `cap`
/// bytes.
fn lzw(data: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut table: Vec<(Option<u16>, u8)> = Vec::with_capacity(4096);
    let reset = |table: &mut Vec<(Option<u16>, u8)>| {
        table.clear();
        table.extend((0..=255u8).map(|b| (None, b)));
        table.push((None, 0)); // 256 clear
        table.push((None, 0)); // 257 end
    };
    reset(&mut table);
    let mut width = 9u32;
    let mut bits: u32 = 0;
    let mut nbits = 0u32;
    let mut prev: Option<u16> = None;
    let mut entry = Vec::new();
    // The bytes of table entry `code`, first to last.
    let expand = |table: &[(Option<u16>, u8)], code: u16, entry: &mut Vec<u8>| {
        entry.clear();
        let mut at = Some(code);
        while let Some(c) = at {
            let Some(&(parent, b)) = table.get(usize::from(c)) else {
                break;
            };
            entry.push(b);
            at = parent;
            if entry.len() > 4096 {
                break;
            }
        }
        entry.reverse();
    };
    for &byte in data {
        bits = (bits << 8) | u32::from(byte);
        nbits += 8;
        while nbits >= width {
            let code = ((bits >> (nbits - width)) & ((1 << width) - 1)) as u16;
            nbits -= width;
            match code {
                256 => {
                    reset(&mut table);
                    width = 9;
                    prev = None;
                    continue;
                }
                257 => return out,
                _ => {}
            }
            let known = usize::from(code) < table.len();
            match (known, prev) {
                (true, _) => expand(&table, code, &mut entry),
                (false, Some(p)) => {
                    expand(&table, p, &mut entry);
                    let first = entry.first().copied().unwrap_or(0);
                    entry.push(first);
                }
                (false, None) => return out,
            }
            if let Some(p) = prev
                && table.len() < 4096
            {
                table.push((Some(p), entry.first().copied().unwrap_or(0)));
            }
            out.extend_from_slice(&entry);
            if out.len() >= cap {
                return out;
            }
            prev = Some(code);
            width = match table.len() + 1 {
                n if n >= 2048 => 12,
                n if n >= 1024 => 11,
                n if n >= 512 => 10,
                _ => 9,
            };
        }
        bits &= (1 << nbits) - 1;
    }
    out
}

/// A PDF text string: UTF-16BE or UTF-8 with a byte-order mark, otherwise
/// PDFDocEncoding (close to Windows-1252 for text).
fn text_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

// ---------------------------------------------------------------------------
// Fonts

/// A mapping of character codes to Unicode from a `ToUnicode` CMap.
#[derive(Debug, Default)]
struct CMap {
    /// Code space ranges: (byte length, low bytes, high bytes).
    codespace: Vec<(usize, Vec<u8>, Vec<u8>)>,
    single: HashMap<u64, String>,
    /// Ranges sorted by their low key.
    ranges: Vec<CMapRange>,
}

#[derive(Debug)]
struct CMapRange {
    lo: u64,
    hi: u64,
    dst: RangeDst,
}

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

fn utf16be(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks(2)
        .map(|p| u16::from_be_bytes([p[0], p.get(1).copied().unwrap_or(0)]))
        .collect()
}

/// Parses the code space and `bfchar` / `bfrange` mappings of a CMap.
fn parse_cmap(data: &[u8]) -> CMap {
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
                        Obj::Name(name) => glyph_char(name).map(String::from).unwrap_or_default(),
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
    fn lookup(&self, code: u32, len: usize, out: &mut String) -> bool {
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
    fn code_len(&self, bytes: &[u8], default: usize) -> usize {
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

/// What is needed to turn a font's codes into text and advance widths.
#[derive(Debug)]
struct Font {
    /// A composite (Type0) font: two-byte codes unless the CMap says otherwise.
    composite: bool,
    /// Codes are UCS-2 (a predefined `Uni...-UCS2-` CMap).
    ucs2: bool,
    to_unicode: Option<CMap>,
    /// Simple fonts: the character of each code.
    encoding: Vec<Option<char>>,
    /// Simple fonts: widths from `first_char`; composite fonts: `(lo, hi, w)`.
    first_char: u32,
    widths: Vec<f64>,
    cid_widths: Vec<(u32, u32, f64)>,
    default_width: f64,
}

impl Font {
    /// Builds the font of dictionary `dict`.
    fn new(c: &mut Collector, doc: &mut Doc, dict: &Obj) -> Font {
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
    fn decode(&self, bytes: &[u8], out: &mut String) -> (f64, usize, usize, usize) {
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

    fn width(&self, code: u32) -> f64 {
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
fn simple_encoding(c: &mut Collector, doc: &mut Doc, encoding: &Obj) -> Vec<Option<char>> {
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

/// The character of a glyph name: `A`, `zero`, `uni0041`, `u1F600`, common
/// punctuation; `None` for names that carry no meaning (`g42`, `cid17`).
fn glyph_char(name: &[u8]) -> Option<char> {
    let name = std::str::from_utf8(name).ok()?;
    let name = name.split('.').next().unwrap_or(name);
    if name.len() == 1 && name.as_bytes()[0].is_ascii_alphabetic() {
        return name.chars().next();
    }
    let hex = |h: &str| u32::from_str_radix(h, 16).ok().and_then(char::from_u32);
    if let Some(ch) = name
        .strip_prefix("uni")
        .and_then(|h| h.get(..4))
        .and_then(hex)
    {
        return Some(ch);
    }
    if let Some(ch) = name
        .strip_prefix('u')
        .filter(|h| (4..=6).contains(&h.len()))
        .and_then(hex)
    {
        return Some(ch);
    }
    const NAMES: &[(&str, char)] = &[
        ("space", ' '),
        ("exclam", '!'),
        ("quotedbl", '"'),
        ("numbersign", '#'),
        ("dollar", '$'),
        ("percent", '%'),
        ("ampersand", '&'),
        ("quotesingle", '\''),
        ("parenleft", '('),
        ("parenright", ')'),
        ("asterisk", '*'),
        ("plus", '+'),
        ("comma", ','),
        ("hyphen", '-'),
        ("minus", '-'),
        ("period", '.'),
        ("slash", '/'),
        ("zero", '0'),
        ("one", '1'),
        ("two", '2'),
        ("three", '3'),
        ("four", '4'),
        ("five", '5'),
        ("six", '6'),
        ("seven", '7'),
        ("eight", '8'),
        ("nine", '9'),
        ("colon", ':'),
        ("semicolon", ';'),
        ("less", '<'),
        ("equal", '='),
        ("greater", '>'),
        ("question", '?'),
        ("at", '@'),
        ("bracketleft", '['),
        ("backslash", '\\'),
        ("bracketright", ']'),
        ("asciicircum", '^'),
        ("underscore", '_'),
        ("grave", '`'),
        ("braceleft", '{'),
        ("bar", '|'),
        ("braceright", '}'),
        ("asciitilde", '~'),
        ("quoteleft", '\u{2018}'),
        ("quoteright", '\u{2019}'),
        ("quotedblleft", '\u{201C}'),
        ("quotedblright", '\u{201D}'),
        ("endash", '\u{2013}'),
        ("emdash", '\u{2014}'),
        ("bullet", '\u{2022}'),
        ("sterling", '£'),
        ("Euro", '€'),
        ("section", '§'),
        ("degree", '°'),
        ("copyright", '©'),
        ("registered", '®'),
        ("nbspace", '\u{A0}'),
        ("fi", '\u{FB01}'),
        ("fl", '\u{FB02}'),
        ("ff", '\u{FB00}'),
        ("ffi", '\u{FB03}'),
        ("ffl", '\u{FB04}'),
        ("eacute", 'é'),
        ("egrave", 'è'),
        ("ecircumflex", 'ê'),
        ("aacute", 'á'),
        ("agrave", 'à'),
        ("acircumflex", 'â'),
        ("adieresis", 'ä'),
        ("ccedilla", 'ç'),
        ("iacute", 'í'),
        ("oacute", 'ó'),
        ("odieresis", 'ö'),
        ("uacute", 'ú'),
        ("udieresis", 'ü'),
        ("ntilde", 'ñ'),
        ("germandbls", 'ß'),
    ];
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, ch)| *ch)
}

// ---------------------------------------------------------------------------
// Content streams

/// Where text goes: body, or a header or footer artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Body,
    Header,
    Footer,
}

/// Text gathered from the pages, with counts that tell whether the PDF was
/// readable.
#[derive(Debug, Default)]
struct TextOut {
    body: String,
    header: String,
    footer: String,
    /// Codes shown that gave text.
    glyphs: usize,
    /// Codes shown that gave no text (no Unicode information).
    undecodable: usize,
    /// Images drawn.
    images: usize,
    /// End of the last text drawn: (x, y, font height) in page space, and where it went.
    last: Option<(f64, f64, f64, Target)>,
    /// Most bytes of text kept (a font can map one code to a long text).
    limit: usize,
    /// Text was dropped at the limit.
    truncated: bool,
}

impl TextOut {
    /// Appends `text` where `target` says, within the size limit.
    fn push(&mut self, target: Target, text: &str) {
        let total = self.body.len() + self.header.len() + self.footer.len();
        if total.saturating_add(text.len()) > self.limit {
            self.truncated = true;
            return;
        }
        self.buffer(target).push_str(text);
    }

    fn buffer(&mut self, target: Target) -> &mut String {
        match target {
            Target::Body => &mut self.body,
            Target::Header => &mut self.header,
            Target::Footer => &mut self.footer,
        }
    }

    fn new_page(&mut self) {
        for target in [Target::Body, Target::Header, Target::Footer] {
            let buffer = self.buffer(target);
            if !buffer.is_empty() && !buffer.ends_with('\n') {
                buffer.push('\n');
            }
        }
        self.last = None;
    }

    /// The separator before text drawn at (x, y) with font height `h`.
    fn separate(&mut self, target: Target, x: f64, y: f64, h: f64) {
        let Some((last_x, last_y, last_h, last_target)) = self.last else {
            return;
        };
        let h = h.max(last_h).max(1e-3);
        let separator = if last_target != target || (y - last_y).abs() > 0.5 * h {
            Some('\n')
        } else if (x - last_x) > 0.15 * h || (last_x - x) > 1.5 * h {
            Some(' ')
        } else {
            None
        };
        if let Some(separator) = separator {
            let buffer = self.buffer(target);
            if !buffer.is_empty() && !buffer.ends_with(['\n', ' ']) {
                buffer.push(separator);
            }
        }
    }
}

/// An affine matrix `[a b c d e f]`.
type Matrix = [f64; 6];

const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m × n`.
fn multiply(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}

/// Runs content streams: tracks the graphics and text state and sends text to
/// the output where it is drawn.
struct Interpreter<'d, 'a, 'o> {
    doc: &'d mut Doc<'a>,
    out: &'o mut TextOut,
    forms: &'o mut HashSet<u32>,
}

/// Graphics and text state of one content stream.
struct State {
    ctm: Matrix,
    saved: Vec<Matrix>,
    tm: Matrix,
    tlm: Matrix,
    font: Option<Rc<Font>>,
    size: f64,
    leading: f64,
    char_space: f64,
    word_space: f64,
    scale: f64,
    marks: Vec<Target>,
}

impl State {
    fn new(ctm: Matrix) -> Self {
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

    fn target(&self) -> Target {
        self.marks.last().copied().unwrap_or(Target::Body)
    }

    fn move_line(&mut self, tx: f64, ty: f64) {
        self.tlm = multiply(&[1.0, 0.0, 0.0, 1.0, tx, ty], &self.tlm);
        self.tm = self.tlm;
    }

    /// Where the text origin is on the page, and the font height there.
    fn position(&self) -> (f64, f64, f64) {
        let m = multiply(&self.tm, &self.ctm);
        let height = self.size.abs() * (m[2] * m[2] + m[3] * m[3]).sqrt();
        (m[4], m[5], height)
    }
}

impl<'d, 'a, 'o> Interpreter<'d, 'a, 'o> {
    fn new(doc: &'d mut Doc<'a>, out: &'o mut TextOut, forms: &'o mut HashSet<u32>) -> Self {
        Interpreter { doc, out, forms }
    }

    /// Interprets `data` with `resources`; `depth` counts enclosing forms.
    fn run(&mut self, c: &mut Collector, data: &[u8], resources: Rc<Obj>, depth: u32) {
        self.run_with(c, data, resources, depth, State::new(IDENTITY));
    }

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
    fn font(&mut self, c: &mut Collector, resources: &Obj, name: &[u8]) -> Option<Rc<Font>> {
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

    /// Shows string `s` in the current font, where the text state says.
    fn show(&mut self, st: &mut State, s: &[u8]) {
        let target = st.target();
        let (x, y, h) = st.position();
        self.out.separate(target, x, y, h);
        let mut text = String::new();
        let (advance, codes, missing, spaces) = match &st.font {
            Some(font) => font.decode(s, &mut text),
            None => {
                text = text_string(s);
                (500.0 * s.len() as f64, s.len(), 0, 0)
            }
        };
        self.out.glyphs += codes - missing;
        self.out.undecodable += missing;
        self.out.push(target, &text);
        let tx = (advance / 1000.0 * st.size
            + st.char_space * codes as f64
            + st.word_space * spaces as f64)
            * st.scale;
        st.tm = multiply(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &st.tm);
        let (end_x, end_y, _) = st.position();
        self.out.last = Some((end_x, end_y, h, target));
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

/// Comments (`/Contents`) and form-field values (`/V`) of a page's annotations.
fn annotations(c: &mut Collector, doc: &mut Doc, page: u32, out: &mut TextOut) {
    let page = doc.get(c, page);
    let annots = doc.lookup(c, &page, b"Annots");
    let Obj::Array(items) = annots.as_ref() else {
        return;
    };
    for item in items.iter().take(10_000) {
        let annot = doc.resolve(c, item);
        for key in [&b"Contents"[..], b"V"] {
            if let Obj::Str(s) = doc.lookup(c, &annot, key).as_ref() {
                let text = text_string(s);
                if !text.trim().is_empty() {
                    out.push(Target::Body, "\n");
                    out.push(Target::Body, &text);
                    out.glyphs += text.chars().count();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::testutil::*;

    #[test]
    fn corpus_style_pdf_compressed_and_plain() {
        for compress in [true, false] {
            let pdf = pdf(
                &[
                    "Patient referral",
                    "NHS number: 943 476 5919",
                    "Reason: (assessment)",
                ],
                compress,
            );
            let x = extract_attachment("referral.pdf", &pdf);
            assert!(x.problems.is_empty(), "{:?}", x.problems);
            assert_eq!(
                text_at(&x, "attachment:referral.pdf", PartKind::Document),
                "Patient referral\nNHS number: 943 476 5919\nReason: (assessment)"
            );
        }
    }

    #[test]
    fn type0_font_with_tounicode_hex_strings_and_split_runs() {
        // Codes 0001.. map to "Operatin N" via bfchar and a bfrange.
        let cmap = concat!(
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n",
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n",
            "2 beginbfchar <0001> <004F> <0002> <0070> endbfchar\n",
            "1 beginbfrange <0003> <0005> <0065> endbfrange\n",
            "1 beginbfrange <0010> <0012> [<0072> <0061> <0074>] endbfrange\n",
            "2 beginbfchar <0013> <0069> <0014> <006F> endbfchar\n",
            "1 beginbfchar <0015> <006E> endbfchar\n",
            "endcmap CMapName currentdict /CMap defineresource pop end end\n",
        );
        // "Opera" in one run, "tion" in the next, drawn right after it
        // (5 glyphs x 500/1000 x 10pt = 25pt), then a new line.
        let content = concat!(
            "BT /F1 10 Tf 1 0 0 1 72 700 Tm <00010002000300100011> Tj ET\n",
            "BT /F1 10 Tf 1 0 0 1 97 700 Tm [<00120013>-20<00140015>] TJ ET\n",
            "BT /F1 10 Tf 1 0 0 1 72 680 Tm <0001> Tj ET\n",
        );
        let pdf = pdf_with_font(content, cmap, true);
        let x = extract_attachment("word.pdf", &pdf);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:word.pdf", PartKind::Document),
            "Operation\nO"
        );
    }

    #[test]
    fn header_and_footer_artifacts() {
        let content = concat!(
            "/Artifact <</Type /Pagination /Subtype /Header>> BDC BT /F1 10 Tf 1 0 0 1 72 800 Tm (OFFICIAL-SENSITIVE) Tj ET EMC\n",
            "BT /F1 10 Tf 1 0 0 1 72 700 Tm (Body text) Tj ET\n",
            "/Artifact <</Type /Pagination /Attached [/Bottom]>> BDC BT /F1 10 Tf 1 0 0 1 72 30 Tm (Page 1) Tj ET EMC\n",
        );
        let pdf = pdf_from_content(content);
        let x = extract_attachment("doc.pdf", &pdf);
        assert_eq!(
            text_at(&x, "attachment:doc.pdf", PartKind::Document),
            "Body text"
        );
        assert_eq!(
            text_at(&x, "attachment:doc.pdf:header", PartKind::DocumentHeader),
            "OFFICIAL-SENSITIVE"
        );
        assert_eq!(
            text_at(&x, "attachment:doc.pdf:footer", PartKind::DocumentFooter),
            "Page 1"
        );
    }

    #[test]
    fn encrypted_pdf_is_a_problem() {
        let mut pdf = pdf(&["secret words"], true);
        let at = find(&pdf, b"/Root 1 0 R").unwrap();
        pdf.splice(at..at, b"/Encrypt 9 0 R ".iter().copied());
        let x = extract_attachment("locked.pdf", &pdf);
        assert!(has_problem(
            &x,
            "attachment:locked.pdf",
            "encrypted PDF (cannot be inspected)"
        ));
        assert!(!x.parts.iter().any(|p| p.text.contains("secret")));
    }

    #[test]
    fn scanned_pdf_without_text_is_a_problem() {
        let content = "q 500 0 0 700 50 50 cm /Im1 Do Q";
        let pdf = pdf_from_content(content);
        let x = extract_attachment("scan.pdf", &pdf);
        assert!(has_problem(
            &x,
            "attachment:scan.pdf",
            "PDF has no extractable text (scanned image?)"
        ));
    }

    #[test]
    fn corrupt_pdfs_are_problems() {
        let x = extract_attachment("junk.pdf", b"%PDF-1.4\nnothing here at all\n");
        assert!(
            has_problem(&x, "attachment:junk.pdf", "corrupt PDF"),
            "{:?}",
            x.problems
        );
        let mut pdf = pdf(&["some text here"], true);
        let at = find(&pdf, b"stream\n").unwrap() + 7;
        for b in &mut pdf[at..at + 6] {
            *b = b'!';
        }
        let x = extract_attachment("bad.pdf", &pdf);
        assert!(
            has_problem(
                &x,
                "attachment:bad.pdf",
                "corrupt PDF (some content could not be read)"
            ),
            "{:?}",
            x.problems
        );
    }

    #[test]
    fn flate_bomb_in_a_pdf_is_stopped() {
        let zeros = vec![b' '; 48 << 20];
        let content = deflate(&zeros);
        let mut pdf = Vec::new();
        pdf.extend_from_slice(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n");
        pdf.extend_from_slice(b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n");
        pdf.extend_from_slice(b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n");
        pdf.extend_from_slice(
            format!(
                "4 0 obj << /Length {} /Filter /FlateDecode >> stream\n",
                content.len()
            )
            .as_bytes(),
        );
        pdf.extend_from_slice(&content);
        pdf.extend_from_slice(b"\nendstream endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        let x = extract_attachment("bomb.pdf", &pdf);
        assert!(
            has_problem(
                &x,
                "attachment:bomb.pdf",
                super::super::archive::RATIO_EXCEEDED
            ),
            "{:?}",
            x.problems
        );
    }

    #[test]
    fn object_streams_and_form_fields() {
        // Catalog and page tree live in an object stream; the page has a
        // filled form field and a comment.
        let catalog = "<< /Type /Catalog /Pages 2 0 R >>";
        let tree = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
        let header = format!("1 0 2 {} ", catalog.len() + 1);
        let objects = format!("{header}{catalog} {tree}");
        let packed = deflate(objects.as_bytes());
        let mut pdf = Vec::new();
        pdf.extend_from_slice(b"%PDF-1.5\n");
        pdf.extend_from_slice(
            format!(
                "5 0 obj << /Type /ObjStm /N 2 /First {} /Length {} /Filter /FlateDecode >> stream\n",
                header.len(),
                packed.len()
            )
            .as_bytes(),
        );
        pdf.extend_from_slice(&packed);
        pdf.extend_from_slice(b"\nendstream endobj\n");
        pdf.extend_from_slice(
            b"3 0 obj << /Type /Page /Parent 2 0 R /Annots [6 0 R 8 0 R] >> endobj\n",
        );
        pdf.extend_from_slice(
            b"6 0 obj << /Type /Annot /Subtype /Widget /T (nino) /V (JM 41 29 87 B) >> endobj\n",
        );
        pdf.extend_from_slice(
            b"8 0 obj << /Type /Annot /Subtype /Text /Contents <FEFF004E006F00740065> >> endobj\n",
        );
        pdf.extend_from_slice(
            b"7 0 obj << /Type /XRef /Root 1 0 R /Length 0 >> stream\n\nendstream endobj\n%%EOF\n",
        );
        let x = extract_attachment("form.pdf", &pdf);
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:form.pdf", PartKind::Document),
            "JM 41 29 87 B\nNote"
        );
        // The page was found through the packed page tree, not by the fallback.
        let limits = crate::Limits::default();
        let mut c = Collector::new(&limits, pdf.len());
        let mut doc = Doc::scan(&c, &pdf);
        doc.index_object_streams(&mut c);
        let catalog = doc.get(&mut c, 1);
        assert!(catalog.get(b"Pages").is_some());
        assert_eq!(doc.pages(&mut c).len(), 1);
    }

    #[test]
    fn many_pages_share_fonts_and_keep_order() {
        let mut objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            Vec::new(), // page tree, filled in below
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        ];
        let mut kids = String::new();
        for page in 0..3 {
            let content = format!("BT /F1 12 Tf 72 700 Td (page {page}) Tj ET");
            objects.push(pdf_stream("", content.as_bytes(), true));
            let content_num = objects.len();
            objects.push(
                format!("<< /Type /Page /Parent 2 0 R /Contents {content_num} 0 R >>").into_bytes(),
            );
            kids.push_str(&format!("{} 0 R ", objects.len()));
        }
        objects[1] = format!(
            "<< /Type /Pages /Kids [{kids}] /Count 3 /Resources << /Font << /F1 3 0 R >> >> >>"
        )
        .into_bytes();
        let x = extract_attachment("pages.pdf", &pdf_objects(&objects));
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(
            text_at(&x, "attachment:pages.pdf", PartKind::Document),
            "page 0\npage 1\npage 2"
        );
    }

    #[test]
    fn lexer_and_decoders() {
        let mut lx = Lexer::new(b"(a\\(b\\)c\\101\\\n) <48 69> /A#42 -1.5 12 R [", 0);
        assert_eq!(lx.next(), Some(Tok::Str(b"a(b)cA".to_vec())));
        assert_eq!(lx.next(), Some(Tok::Str(b"Hi".to_vec())));
        assert_eq!(lx.next(), Some(Tok::Name(b"AB".to_vec())));
        assert_eq!(lx.next(), Some(Tok::Num(-1.5)));
        assert_eq!(lx.next(), Some(Tok::Int(12)));
        assert_eq!(lx.next(), Some(Tok::Word(b"R")));
        assert_eq!(lx.next(), Some(Tok::ArrOpen));
        assert_eq!(lx.next(), None);
        assert_eq!(ascii85(b"<~87cURD]i,\"Ebo80~>"), b"Hello World!");
        assert_eq!(ascii85(b"87cURD]i,\"Ebo7"), b"Hello World");
        assert_eq!(
            run_length(&[2, b'a', b'b', b'c', 253, b'x', 128], 100),
            b"abcxxxx"
        );
        // "-----A---B" encoded by the reference LZW example of the PDF specification.
        let lzw_data = [0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01];
        assert_eq!(lzw(&lzw_data, 100), b"-----A---B");
        assert_eq!(glyph_char(b"uni00E9"), Some('é'));
        assert_eq!(glyph_char(b"g42"), None);
    }
}
