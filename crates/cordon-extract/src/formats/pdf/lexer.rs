//! The PDF tokenizer: numbers, names, strings, brackets and bare words.

/// One PDF token.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok<'a> {
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

/// A PDF white-space byte.
pub(super) fn is_ws(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

/// A PDF delimiter byte.
pub(super) fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A PDF tokenizer over bytes; always makes progress, never fails.
pub(super) struct Lexer<'a> {
    /// The bytes tokenized.
    pub(super) data: &'a [u8],
    /// Position of the next byte to read.
    pub(super) pos: usize,
}

impl<'a> Lexer<'a> {
    /// A lexer reading `data` from `pos`.
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        Lexer { data, pos }
    }

    /// The next byte, not consumed.
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Skips white space and comments.
    pub(super) fn skip_ws(&mut self) {
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

    /// The next token, or `None` at the end.
    pub(super) fn next(&mut self) -> Option<Tok<'a>> {
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
    pub(super) fn hex(&mut self) -> Vec<u8> {
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
    pub(super) fn name(&mut self) -> Vec<u8> {
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
pub(super) fn number(word: &[u8]) -> Option<Tok<'static>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let mut lx = Lexer::new(b"(a\\(b\\)c\\101\\\n) <48 69> /A#42 -1.5 12 R [", 0);
        assert_eq!(lx.next(), Some(Tok::Str(b"a(b)cA".to_vec())));
        assert_eq!(lx.next(), Some(Tok::Str(b"Hi".to_vec())));
        assert_eq!(lx.next(), Some(Tok::Name(b"AB".to_vec())));
        assert_eq!(lx.next(), Some(Tok::Num(-1.5)));
        assert_eq!(lx.next(), Some(Tok::Int(12)));
        assert_eq!(lx.next(), Some(Tok::Word(b"R")));
        assert_eq!(lx.next(), Some(Tok::ArrOpen));
        assert_eq!(lx.next(), None);
    }
}
