//! A PDF file as an index of objects: the scan for `N G obj` headers and
//! trailers, object streams, object lookup, stream decoding within the
//! expansion budget, the page tree and the document information.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use flate2::read::{DeflateDecoder, ZlibDecoder};
use memchr::memmem;

use super::filters::{ascii85, lzw, run_length};
use super::fonts::Font;
use super::lexer::{Lexer, Tok, is_delim, is_ws};
use super::objects::{Obj, Parser, text_string};
use crate::collector::Collector;
use crate::formats::archive::{Expansion, ReadError};

/// Most pages visited.
const MAX_PAGES: usize = 100_000;

/// Where an object's value is.
#[derive(Clone, Copy, Debug)]
pub(super) enum Loc {
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
pub(super) struct Doc<'a> {
    /// The file.
    pub(super) data: &'a [u8],
    /// Object number to location and file position (a later one wins).
    pub(super) index: HashMap<u32, (Loc, usize)>,
    /// Parsed objects.
    cache: HashMap<u32, Rc<Obj>>,
    /// Decoded stream data (`None`: could not be decoded).
    pub(super) streams: HashMap<u32, Option<Rc<Vec<u8>>>>,
    /// Object streams to index.
    object_streams: Vec<u32>,
    /// Trailer dictionaries and cross-reference stream dictionaries.
    pub(super) trailers: Vec<Obj>,
    /// Decompression allowance shared by all streams of the file.
    pub(super) expansion: Expansion,
    /// A limit was passed: the reason.
    pub(super) stop: Option<String>,
    /// Some content stream could not be decompressed.
    pub(super) damaged: bool,
    /// A content stream uses a compression this reader lacks.
    pub(super) unsupported: Option<String>,
    /// Fonts built so far, by object number.
    pub(super) fonts: HashMap<u32, Rc<Font>>,
    /// Streams being decoded inside each other (filters found in object
    /// streams): bounded so crafted chains cannot exhaust the stack.
    pub(super) nesting: u32,
}

impl<'a> Doc<'a> {
    /// Scans `data` once for objects, their streams and the trailers.
    pub(super) fn scan(c: &Collector, data: &'a [u8]) -> Self {
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
    pub(super) fn index_object_streams(&mut self, c: &mut Collector) {
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
    pub(super) fn get(&mut self, c: &mut Collector, num: u32) -> Rc<Obj> {
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
    pub(super) fn resolve(&mut self, c: &mut Collector, obj: &Obj) -> Rc<Obj> {
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
    pub(super) fn lookup(&mut self, c: &mut Collector, dict: &Obj, key: &[u8]) -> Rc<Obj> {
        match dict.get(key) {
            Some(value) => self.resolve(c, value),
            None => Rc::new(Obj::Null),
        }
    }

    /// The decoded data of stream object `num`, if it has any that can be read.
    pub(super) fn stream(&mut self, c: &mut Collector, num: u32) -> Option<Rc<Vec<u8>>> {
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

    /// Spends `n` bytes of the expansion budget.
    pub(super) fn charge(&mut self, c: &mut Collector, n: usize) -> Result<(), StreamError> {
        self.expansion.charge(c, n as u64).map_err(|e| match e {
            ReadError::Limit(reason) => StreamError::Limit(reason),
            _ => StreamError::Corrupt,
        })
    }

    /// Page objects in order, each with the resources it uses (inherited from
    /// the page tree when the page has none of its own). When the page tree is
    /// broken, every object of type `/Page` in object-number order.
    pub(super) fn pages(&mut self, c: &mut Collector) -> Vec<(u32, Rc<Obj>)> {
        let mut pages = Vec::new();
        {
            let catalog = self.catalog(c);
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

    /// The document catalogue (null when no trailer names one).
    pub(super) fn catalog(&mut self, c: &mut Collector) -> Rc<Obj> {
        let root = self
            .trailers
            .iter()
            .rev()
            .find_map(|t| t.get(b"Root").cloned());
        match root {
            Some(root) => self.resolve(c, &root),
            None => Rc::new(Obj::Null),
        }
    }

    /// Numbers of the objects that are streams in the file, in order.
    pub(super) fn stream_objects(&self) -> Vec<u32> {
        let mut nums: Vec<u32> = self
            .index
            .iter()
            .filter(|(_, (loc, _))| {
                matches!(
                    loc,
                    Loc::Direct {
                        stream: Some(_),
                        ..
                    }
                )
            })
            .map(|(&num, _)| num)
            .collect();
        nums.sort_unstable();
        nums
    }

    /// Title, subject and keywords of the document information dictionary.
    pub(super) fn info(&mut self, c: &mut Collector) -> String {
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
pub(super) enum StreamError {
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
