//! PDF values and their parser, within fixed nesting and size bounds, and
//! the decoding of PDF text strings.

use super::lexer::{Lexer, Tok};

/// Deepest nesting of arrays and dictionaries in one object.
const MAX_NESTING: u32 = 32;
/// Most values in one parsed object (bounds memory whatever the input).
const MAX_NODES: usize = 1 << 20;

/// A PDF value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Obj {
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
    pub(super) fn get(&self, key: &[u8]) -> Option<&Obj> {
        match self {
            Obj::Dict(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|e| &e.1),
            _ => None,
        }
    }

    /// The name, if this is one.
    pub(super) fn name(&self) -> Option<&[u8]> {
        match self {
            Obj::Name(n) => Some(n),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub(super) fn num(&self) -> Option<f64> {
        match self {
            Obj::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// Whether this is the name `name`.
    pub(super) fn is_name(&self, name: &[u8]) -> bool {
        self.name() == Some(name)
    }
}

/// Parses values from a lexer, within fixed nesting and size bounds.
pub(super) struct Parser<'a> {
    /// The tokens parsed.
    pub(super) lx: Lexer<'a>,
    /// Values in the object being parsed, against [`MAX_NODES`].
    pub(super) nodes: usize,
    /// Recognise `N G R` references (off in content streams, which have none).
    pub(super) refs: bool,
}

impl<'a> Parser<'a> {
    /// A parser of `data` from `pos`.
    pub(super) fn new(data: &'a [u8], pos: usize, refs: bool) -> Self {
        Parser {
            lx: Lexer::new(data, pos),
            nodes: 0,
            refs,
        }
    }

    /// The next value, or `None` at the end or on a malformed value.
    pub(super) fn parse(&mut self) -> Option<Obj> {
        let tok = self.lx.next()?;
        self.nodes = 0;
        self.value(tok, 0)
    }

    /// The value starting with `tok`, nested `depth` deep.
    pub(super) fn value(&mut self, tok: Tok<'a>, depth: u32) -> Option<Obj> {
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

/// A PDF text string: UTF-16BE or UTF-8 with a byte-order mark, otherwise
/// PDFDocEncoding (close to Windows-1252 for text).
pub(super) fn text_string(bytes: &[u8]) -> String {
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
