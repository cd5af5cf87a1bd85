//! Decoding text bytes to Unicode: byte-order mark first, then the declared
//! charset, then unlabelled UTF-16LE, then UTF-8, then Windows-1252 (what unlabelled "ANSI" text is).

use std::borrow::Cow;

use encoding_rs::{Encoding, WINDOWS_1252};

/// Decodes `bytes` as text, never failing: malformed sequences become U+FFFD.
pub(crate) fn decode<'a>(bytes: &'a [u8], declared: Option<&str>) -> Cow<'a, str> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom_len..]).0;
    }
    if let Some(encoding) = declared.and_then(|label| Encoding::for_label(label.trim().as_bytes()))
    {
        // A declared UTF-16 without a BOM is little-endian in practice (Windows).
        return encoding.decode_without_bom_handling(bytes).0;
    }
    if looks_like_utf16le(bytes) {
        return encoding_rs::UTF_16LE.decode_without_bom_handling(bytes).0;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// Unlabelled UTF-16LE text (no BOM) has a zero in most odd positions.
fn looks_like_utf16le(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(512)];
    sample.len() >= 8
        && sample
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
            * 4
            >= sample.len() / 2 * 3
}

/// True when `bytes` decode as text with few control characters: used to tell a
/// text file from binary data when nothing else says what it is.
pub(crate) fn is_probably_text(bytes: &[u8]) -> bool {
    if Encoding::for_bom(bytes).is_some() {
        return true;
    }
    let sample = &bytes[..bytes.len().min(4096)];
    if sample.contains(&0) {
        return looks_like_utf16le(sample);
    }
    let control = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    control * 100 <= sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_wins_over_declared_charset() {
        let bytes = [0xFF, 0xFE, b'h', 0, b'i', 0];
        assert_eq!(decode(&bytes, Some("iso-8859-1")), "hi");
    }

    #[test]
    fn utf16_big_endian_with_bom() {
        let bytes = [0xFE, 0xFF, 0, b'O', 0, b'K'];
        assert_eq!(decode(&bytes, None), "OK");
    }

    #[test]
    fn declared_latin_charsets() {
        assert_eq!(decode(b"caf\xe9", Some("ISO-8859-1")), "café");
        assert_eq!(
            decode(b"\x93quoted\x94", Some("windows-1252")),
            "\u{201c}quoted\u{201d}"
        );
        assert_eq!(decode(b"\xb5", Some("iso-8859-15")), "µ");
    }

    #[test]
    fn unlabelled_bytes_fall_back_to_windows_1252() {
        assert_eq!(decode(b"na\xefve", None), "naïve");
        assert_eq!(decode("naïve".as_bytes(), None), "naïve");
    }

    #[test]
    fn unlabelled_utf16le_is_recognised() {
        let bytes: Vec<u8> = "JM 41 29 87 B"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode(&bytes, None), "JM 41 29 87 B");
        assert!(is_probably_text(&bytes));
    }

    #[test]
    fn binary_is_not_text() {
        assert!(!is_probably_text(&[
            0x89, b'P', b'N', b'G', 0, 0, 1, 2, 3, 0, 0, 0, 0x1a, 0x1b
        ]));
        assert!(is_probably_text(b"Name,NINO\nA Person,JM412987B\n"));
    }
}
