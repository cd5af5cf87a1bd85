//! Reading the log line by line in bounded memory, forwards (verify, export)
//! and backwards (open, recent), and one line at a known offset (the trail
//! index).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use crate::entry::MAX_LINE_BYTES;

/// One line read forwards, without its newline.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// A line ended by `\n`.
    Complete(&'a [u8]),
    /// The bytes after the last `\n`: a line being written, or torn by a
    /// crash.
    Unterminated(&'a [u8]),
    /// A line longer than [`MAX_LINE_BYTES`] (its bytes were skipped, not
    /// kept); `terminated` says whether it ended with `\n`.
    TooLong {
        /// Whether it ended with `\n`.
        terminated: bool,
    },
}

/// Reads lines forwards, holding at most one line of [`MAX_LINE_BYTES`].
pub(crate) struct Lines<R> {
    reader: BufReader<R>,
    buf: Vec<u8>,
    line_no: u64,
    /// Bytes consumed so far.
    pos: u64,
    /// Where the last line returned starts.
    start: u64,
}

impl<R: Read> Lines<R> {
    /// Reads lines from `reader`.
    pub(crate) fn new(reader: R) -> Lines<R> {
        Lines {
            reader: BufReader::with_capacity(64 * 1024, reader),
            buf: Vec::new(),
            line_no: 0,
            pos: 0,
            start: 0,
        }
    }

    /// Where the line last returned by [`Lines::next_line`] starts, in
    /// bytes from the start of the reader.
    pub(crate) fn line_start(&self) -> u64 {
        self.start
    }

    /// The next line and its number (from 1), or `None` at the end.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        self.start = self.pos;
        let mut too_long = false;
        let mut read_any = false;
        let terminated = loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break false;
            }
            read_any = true;
            let (chunk, used, found) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            if !too_long {
                if self.buf.len() + chunk.len() >= MAX_LINE_BYTES {
                    // The line with its newline would exceed the limit.
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.reader.consume(used);
            self.pos += used as u64;
            if found {
                break true;
            }
        };
        if !read_any {
            return Ok(None);
        }
        self.line_no += 1;
        let line = if too_long {
            Line::TooLong { terminated }
        } else if terminated {
            Line::Complete(&self.buf)
        } else {
            Line::Unterminated(&self.buf)
        };
        Ok(Some((self.line_no, line)))
    }
}

/// Size of the blocks read when scanning backwards.
const BACK_CHUNK: u64 = 64 * 1024;

/// The offset just after the last `\n` at or before `len` (0 if none): the
/// end of the complete lines.
pub(crate) fn complete_end(file: &File, len: u64) -> io::Result<u64> {
    Ok(rfind_newline(file, len)?.map_or(0, |i| i + 1))
}

/// The offset of the last `\n` before `end`, if any.
fn rfind_newline(mut file: &File, end: u64) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; BACK_CHUNK as usize];
    let mut scan_end = end;
    while scan_end > 0 {
        let start = scan_end.saturating_sub(BACK_CHUNK);
        let chunk = &mut buf[..(scan_end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + i as u64));
        }
        scan_end = start;
    }
    Ok(None)
}

/// Reads complete lines backwards from an offset that ends a line.
pub(crate) struct BackLines<'f> {
    file: &'f File,
    /// Where the remaining region ends (just after a `\n`, or 0).
    pos: u64,
}

impl<'f> BackLines<'f> {
    /// Lines ending at or before `end`, which must be 0 or just after a
    /// `\n` (see [`complete_end`]).
    pub(crate) fn new(file: &'f File, end: u64) -> BackLines<'f> {
        BackLines { file, pos: end }
    }

    /// The line before the previous one returned, without its newline:
    /// `None` at the start of the file, `Some(None)` for a line longer than
    /// [`MAX_LINE_BYTES`] (skipped, not read into memory).
    pub(crate) fn prev_line(&mut self) -> io::Result<Option<Option<Vec<u8>>>> {
        if self.pos == 0 {
            return Ok(None);
        }
        let line_end = self.pos - 1; // the position of this line's `\n`
        let start = rfind_newline(self.file, line_end)?.map_or(0, |i| i + 1);
        self.pos = start;
        let len = line_end - start;
        if len >= MAX_LINE_BYTES as u64 {
            return Ok(Some(None));
        }
        let mut line = vec![0u8; len as usize];
        let mut file = self.file;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut line)?;
        Ok(Some(Some(line)))
    }
}

/// The complete line starting at `offset`, without its newline, read from
/// `file` no further than `end`: `None` if `offset` does not start a line
/// (it is not 0 and the byte before it is not `\n`), or no `\n` ends the
/// line before `end`, or it is longer than [`MAX_LINE_BYTES`].
///
/// For offsets taken from an index, which may be stale: whatever they say,
/// this reads at most one line.
pub(crate) fn line_at(mut file: &File, offset: u64, end: u64) -> io::Result<Option<Vec<u8>>> {
    if offset >= end {
        return Ok(None);
    }
    if offset > 0 {
        let mut before = [0u8; 1];
        file.seek(SeekFrom::Start(offset - 1))?;
        file.read_exact(&mut before)?;
        if before[0] != b'\n' {
            return Ok(None);
        }
    } else {
        file.seek(SeekFrom::Start(0))?;
    }
    let limit = (end - offset).min(MAX_LINE_BYTES as u64);
    let mut line = Vec::new();
    BufReader::with_capacity(4096, file.take(limit)).read_until(b'\n', &mut line)?;
    if line.pop() != Some(b'\n') {
        return Ok(None);
    }
    Ok(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn collect(bytes: &[u8]) -> Vec<(u64, String)> {
        let mut lines = Lines::new(bytes);
        let mut out = Vec::new();
        let mut expected_start = 0;
        while let Some((n, line)) = lines.next_line().unwrap() {
            let text = match line {
                Line::Complete(b) => format!("C:{}", String::from_utf8_lossy(b)),
                Line::Unterminated(b) => format!("U:{}", String::from_utf8_lossy(b)),
                Line::TooLong { terminated } => format!("L:{terminated}"),
            };
            assert_eq!(lines.line_start(), expected_start);
            expected_start += bytes[expected_start as usize..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len() as u64 - expected_start, |i| i as u64 + 1);
            out.push((n, text));
        }
        out
    }

    #[test]
    fn forward_lines_complete_unterminated_and_too_long() {
        assert!(collect(b"").is_empty());
        assert_eq!(
            collect(b"a\n\nbc\nde"),
            vec![
                (1, "C:a".into()),
                (2, "C:".into()),
                (3, "C:bc".into()),
                (4, "U:de".into())
            ]
        );
        let mut big = vec![b'x'; MAX_LINE_BYTES * 2 + 7];
        big.extend_from_slice(b"\nok\n");
        big.extend(vec![b'y'; MAX_LINE_BYTES]);
        assert_eq!(
            collect(&big),
            vec![
                (1, "L:true".into()),
                (2, "C:ok".into()),
                (3, "L:false".into())
            ]
        );
        // Exactly at the limit with its newline: too long by one.
        let mut edge = vec![b'z'; MAX_LINE_BYTES - 1];
        edge.push(b'\n');
        assert_eq!(collect(&edge).len(), 1);
        assert!(matches!(collect(&edge)[0].1.as_str(), s if s.starts_with("C:")));
        let mut over = vec![b'z'; MAX_LINE_BYTES];
        over.push(b'\n');
        assert_eq!(collect(&over), vec![(1, "L:true".into())]);
    }

    #[test]
    fn backward_lines() {
        let mut file = tempfile::tempfile().unwrap();
        let long = "q".repeat(BACK_CHUNK as usize * 2 + 3);
        let over = "o".repeat(MAX_LINE_BYTES + 1);
        write!(file, "first\n{long}\n\n{over}\nlast\ntorn").unwrap();
        let len = file.metadata().unwrap().len();
        let end = complete_end(&file, len).unwrap();
        assert_eq!(end, len - 4);
        let mut back = BackLines::new(&file, end);
        assert_eq!(back.prev_line().unwrap(), Some(Some(b"last".to_vec())));
        assert_eq!(back.prev_line().unwrap(), Some(None));
        assert_eq!(back.prev_line().unwrap(), Some(Some(Vec::new())));
        assert_eq!(back.prev_line().unwrap(), Some(Some(long.into_bytes())));
        assert_eq!(back.prev_line().unwrap(), Some(Some(b"first".to_vec())));
        assert_eq!(back.prev_line().unwrap(), None);

        let empty = tempfile::tempfile().unwrap();
        assert_eq!(complete_end(&empty, 0).unwrap(), 0);
        let mut no_newline = tempfile::tempfile().unwrap();
        no_newline.write_all(b"partial").unwrap();
        assert_eq!(complete_end(&no_newline, 7).unwrap(), 0);
    }

    #[test]
    fn line_at_reads_one_line_from_a_line_start_only() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"first\nsecond\nthird").unwrap();
        let len = file.metadata().unwrap().len();
        assert_eq!(line_at(&file, 0, len).unwrap(), Some(b"first".to_vec()));
        assert_eq!(line_at(&file, 6, len).unwrap(), Some(b"second".to_vec()));
        // Not the start of a line, past the end, or unterminated.
        assert_eq!(line_at(&file, 7, len).unwrap(), None);
        assert_eq!(line_at(&file, len + 5, len).unwrap(), None);
        assert_eq!(line_at(&file, 13, len).unwrap(), None);
        // Not past `end`, even if the file goes on.
        assert_eq!(line_at(&file, 6, 12).unwrap(), None);
        assert_eq!(line_at(&file, 6, 13).unwrap(), Some(b"second".to_vec()));
    }
}
