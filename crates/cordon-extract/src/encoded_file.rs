//! A file carried encoded inside a text body (uuencode, yEnc): what the
//! decoders of [`crate::uuencode`] and [`crate::yenc`] hand to the MIME layer,
//! which inspects each as an attachment, as mail clients show them.

use std::ops::Range;

/// One file found in a text body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EncodedFile {
    /// The file name its header gives, if any.
    pub name: Option<String>,
    /// The decoded content.
    pub bytes: Vec<u8>,
    /// Where the encoded block stands in the text, header and trailer lines
    /// included, so that the caller can inspect the text around it.
    pub range: Range<usize>,
}

/// The lines of `text` with their byte ranges, line ends excluded from the
/// line and included in the range (a `\r` before the `\n` is dropped).
pub(crate) fn lines(text: &[u8]) -> impl Iterator<Item = (&[u8], Range<usize>)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= text.len() {
            return None;
        }
        let start = at;
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i + 1);
        at = end;
        let mut line = &text[start..end];
        line = line.strip_suffix(b"\n").unwrap_or(line);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        Some((line, start..end))
    })
}
