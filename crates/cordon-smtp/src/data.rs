//! Strict reader of the DATA stream (RFC 5321 4.1.1.4, 4.5.2), the core of the smuggling
//! protection.
//!
//! Only `<CRLF>.<CRLF>` ends the data (the CRLF that ended the DATA command counts as the first
//! one, so an empty message is just `.<CRLF>`). A CR is a line end only when the next byte is
//! LF; any other CR, and any LF not preceded by CR, is "bare": it never ends a line, so no
//! variant such as `<LF>.<LF>`, `<CR>.<CR>` or `<LF>.<CR><LF>` can end the data, and it
//! marks the message for rejection once the real end is reached. A NUL octet, which no
//! RFC 5322 message may contain and which ends strings in many downstream tools, marks it for
//! rejection the same way.

/// Longest text line allowed in a message, including its CRLF (RFC 5321 4.5.3.1.6).
pub const MAX_TEXT_LINE: usize = 1000;

/// Why a message read to its end is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataReject {
    /// A bare CR or bare LF occurred somewhere in the data.
    BareLineEnding,
    /// A NUL octet occurred somewhere in the data.
    Nul,
    /// More octets than the configured maximum message size.
    TooBig,
    /// A text line longer than [`MAX_TEXT_LINE`] octets.
    LineTooLong,
}

/// Where the reader is relative to line structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pos {
    /// At the start of a line, right after a CRLF.
    Start,
    /// After a `.` at the start of a line.
    StartDot,
    /// After `.` CR at the start of a line: an LF now ends the data.
    StartDotCr,
    /// Inside a line.
    Mid,
    /// After a CR inside a line (or an empty line): an LF now ends the line.
    Cr,
}

/// Incremental, allocation-bounded reader of one message's DATA stream. The unstuffed message
/// collects in a buffer the caller empties with [`DataReader::take_chunk`] as it goes, so the
/// reader holds no more than what one [`DataReader::ingest`] produced.
#[derive(Debug)]
pub struct DataReader {
    chunk: Vec<u8>,
    max_size: usize,
    size: usize,
    line_len: usize,
    pos: Pos,
    bare: bool,
    nul: bool,
    too_big: bool,
    too_long: bool,
}

impl DataReader {
    /// A reader of a message of at most `max_size` octets (unstuffed).
    pub fn new(max_size: usize) -> Self {
        Self {
            chunk: Vec::new(),
            max_size,
            size: 0,
            line_len: 0,
            pos: Pos::Start,
            bare: false,
            nul: false,
            too_big: false,
            too_long: false,
        }
    }

    /// Consumes bytes of the DATA stream; returns how many were consumed and whether the end
    /// of data was reached (then the bytes after it, unconsumed, are the next commands).
    pub fn ingest(&mut self, input: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            match self.pos {
                Pos::Mid => {
                    let rest = input.get(i..).unwrap_or_default();
                    let run = rest
                        .iter()
                        .position(|&c| c == b'\r' || c == b'\n')
                        .unwrap_or(rest.len());
                    if run > 0 {
                        self.content(rest.get(..run).unwrap_or_default());
                        i += run;
                        continue;
                    }
                    i += 1;
                    if b == b'\r' {
                        self.pos = Pos::Cr;
                    } else {
                        self.bare = true;
                        self.content(b"\n");
                    }
                }
                Pos::Start => {
                    i += 1;
                    match b {
                        b'.' => self.pos = Pos::StartDot,
                        b'\r' => self.pos = Pos::Cr,
                        b'\n' => {
                            self.bare = true;
                            self.content(b"\n");
                            self.pos = Pos::Mid;
                        }
                        _ => {
                            self.content(&[b]);
                            self.pos = Pos::Mid;
                        }
                    }
                }
                Pos::StartDot => {
                    if b == b'\r' {
                        i += 1;
                        self.pos = Pos::StartDotCr;
                    } else {
                        // A leading dot followed by more text is a stuffing dot: drop it and
                        // read `b` as ordinary line content.
                        self.pos = Pos::Mid;
                    }
                }
                Pos::StartDotCr => {
                    if b == b'\n' {
                        return (i + 1, true);
                    }
                    // `.` then a bare CR: the dot was stuffing, the CR is bare; reread `b`.
                    self.bare = true;
                    self.content(b"\r");
                    self.pos = Pos::Mid;
                }
                Pos::Cr => {
                    if b == b'\n' {
                        i += 1;
                        self.end_line();
                    } else {
                        // Bare CR: content, never a line end; reread `b`.
                        self.bare = true;
                        self.content(b"\r");
                        self.pos = Pos::Mid;
                    }
                }
            }
        }
        (i, false)
    }

    /// The last chunk of the message once the end of data was reached, or why the message is
    /// refused.
    pub fn finish(self) -> Result<Vec<u8>, DataReject> {
        if self.bare {
            Err(DataReject::BareLineEnding)
        } else if self.nul {
            Err(DataReject::Nul)
        } else if self.too_big {
            Err(DataReject::TooBig)
        } else if self.too_long {
            Err(DataReject::LineTooLong)
        } else {
            Ok(self.chunk)
        }
    }

    /// Octets of message read but not yet taken.
    pub fn buffered(&self) -> usize {
        self.chunk.len()
    }

    /// Takes the message octets read so far. Once the message is bound to be refused nothing
    /// more collects, so a refused message is not stored further.
    pub fn take_chunk(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.chunk)
    }

    /// Whether the message is already bound to be refused at its end.
    fn refused(&self) -> bool {
        self.bare || self.nul || self.too_big || self.too_long
    }

    /// Octets of message seen so far (after unstuffing), counting those not kept.
    pub fn size(&self) -> usize {
        self.size
    }

    fn content(&mut self, bytes: &[u8]) {
        self.line_len = self.line_len.saturating_add(bytes.len());
        if self.line_len > MAX_TEXT_LINE - 2 {
            self.too_long = true;
        }
        if bytes.contains(&0) {
            self.nul = true;
        }
        self.store(bytes);
    }

    fn end_line(&mut self) {
        self.store(b"\r\n");
        self.line_len = 0;
        self.pos = Pos::Start;
    }

    fn store(&mut self, bytes: &[u8]) {
        self.size = self.size.saturating_add(bytes.len());
        if self.size > self.max_size {
            self.too_big = true;
        }
        if self.refused() {
            // Keep reading to the end, but stop collecting and give the memory back.
            self.chunk = Vec::new();
            return;
        }
        self.chunk.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` one byte at a time and all at once; both must agree.
    fn read(input: &[u8], max: usize) -> (Result<Vec<u8>, DataReject>, usize) {
        let mut whole = DataReader::new(max);
        let (used, done) = whole.ingest(input);
        assert!(done, "no end of data in {input:?}");
        let mut bytewise = DataReader::new(max);
        let mut used2 = 0;
        for (i, b) in input.iter().enumerate() {
            let (n, done) = bytewise.ingest(std::slice::from_ref(b));
            used2 += n;
            if done {
                assert_eq!(i + 1, used2);
                break;
            }
        }
        let a = whole.finish();
        assert_eq!(a, bytewise.finish());
        assert_eq!(used, used2);
        (a, used)
    }

    fn unfinished(input: &[u8]) -> DataReader {
        let mut r = DataReader::new(1 << 20);
        let (used, done) = r.ingest(input);
        assert!(!done, "{input:?} ended DATA");
        assert_eq!(used, input.len());
        r
    }

    #[test]
    fn empty_message() {
        assert_eq!(read(b".\r\n", 100), (Ok(vec![]), 3));
        assert_eq!(read(b"\r\n.\r\n", 100), (Ok(b"\r\n".to_vec()), 5));
    }

    #[test]
    fn plain_message_and_trailing_bytes_left() {
        let (msg, used) = read(b"Subject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n", 100);
        assert_eq!(msg, Ok(b"Subject: x\r\n\r\nhi\r\n".to_vec()));
        assert_eq!(used, 21);
    }

    #[test]
    fn dot_unstuffing() {
        let (msg, _) = read(b"..\r\n.\r.\r\n.\r\n", 100);
        // ".\r.\r\n": the stuffing dot goes, the CR is bare.
        assert_eq!(msg, Err(DataReject::BareLineEnding));
        let (msg, _) = read(b"..\r\n..x\r\n.y\r\na.b\r\n.\r\n", 100);
        assert_eq!(msg, Ok(b".\r\n.x\r\ny\r\na.b\r\n".to_vec()));
    }

    #[test]
    fn smuggling_sequences_never_end_data() {
        for seq in [
            &b"a\n.\nb"[..],
            b"a\r.\rb",
            b"a\n.\r\nb",
            b"a\r\n.\nb",
            b"a\n.\rb",
            b"a\r.\r\nb",
            b"a\r\n.\rb",
            b"a\r\n.\r\rb",
            b"a\r\r\n.\n",
        ] {
            unfinished(seq);
        }
    }

    #[test]
    fn bare_cr_or_lf_rejects_after_real_end() {
        for body in [
            &b"a\nb\r\n.\r\n"[..],
            b"a\rb\r\n.\r\n",
            b"a\n.\nMAIL FROM:<e@x>\r\n.\r\n",
            b"\n.\r\n.\r\n",
            b"x\r\n.\nRCPT\r\n.\r\n",
            b"a\r\r\n.\r\n",
            b"\r\r\n.\r\n",
        ] {
            assert_eq!(
                read(body, 100).0,
                Err(DataReject::BareLineEnding),
                "{body:?}"
            );
        }
    }

    #[test]
    fn nul_rejects_after_real_end() {
        for body in [&b"a\0b\r\n.\r\n"[..], b"\0\r\n.\r\n", b"x\r\n.\0\r\n.\r\n"] {
            assert_eq!(read(body, 100).0, Err(DataReject::Nul), "{body:?}");
        }
    }

    #[test]
    fn chunks_are_taken_as_the_data_arrives() {
        let mut r = DataReader::new(1 << 20);
        let (_, done) = r.ingest(b"first line\r\n..second");
        assert!(!done);
        assert_eq!(r.take_chunk(), b"first line\r\n.second");
        assert_eq!(r.buffered(), 0);
        let (_, done) = r.ingest(b" half\r\n.\r\n");
        assert!(done);
        assert_eq!(r.finish(), Ok(b" half\r\n".to_vec()));
    }

    #[test]
    fn nothing_collects_once_refused() {
        let mut r = DataReader::new(1 << 20);
        r.ingest(b"a\nb and more");
        assert_eq!(r.buffered(), 0);
        let mut r = DataReader::new(10);
        r.ingest(b"0123456789abc");
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn size_limit_reads_to_end() {
        let (msg, used) = read(b"0123456789\r\n.\r\nNOOP\r\n", 11);
        assert_eq!(msg, Err(DataReject::TooBig));
        assert_eq!(used, 15);
        assert_eq!(
            read(b"012345678\r\n.\r\n", 11).0,
            Ok(b"012345678\r\n".to_vec())
        );
    }

    #[test]
    fn line_limit_is_1000_with_crlf_not_counting_stuffing() {
        let mut ok = vec![b'x'; 998];
        ok.extend_from_slice(b"\r\n.\r\n");
        assert!(read(&ok, 10_000).0.is_ok());
        let mut stuffed = vec![b'.'; 999];
        stuffed.extend_from_slice(b"\r\n.\r\n");
        assert!(read(&stuffed, 10_000).0.is_ok());
        let mut long = vec![b'x'; 999];
        long.extend_from_slice(b"\r\n.\r\n");
        assert_eq!(read(&long, 10_000).0, Err(DataReject::LineTooLong));
    }
}
