//! Content-Transfer-Encoding decoded the way lenient mail clients decode it.
//!
//! mail-parser gives up on a base64 body with one character outside the
//! alphabet and hands back the encoded text, where no detector can see what
//! the recipient's client shows. RFC 2045 tells decoders to ignore such
//! characters, and clients do; some also decode line by line, so that one
//! damaged line garbles only itself. Each decoding that a client could show is
//! returned as its own reading, and the caller inspects every one.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A transfer encoding named by a `Content-Transfer-Encoding` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TransferEncoding {
    /// `7bit`, `8bit`, `binary` or no header: the bytes are the content.
    Identity,
    /// `base64`.
    Base64,
    /// `quoted-printable`.
    QuotedPrintable,
    /// `x-uuencode`, `uuencode`, `x-uue`.
    Uuencode,
    /// Anything else: no client can be relied on to decode it.
    Unknown(String),
}

impl TransferEncoding {
    /// The encoding a header value names (case and surrounding space ignored).
    pub(crate) fn from_label(label: &str) -> Self {
        // `base64 (from the scanner)`: an RFC 822 comment is no part of the name
        let label = label.split('(').next().unwrap_or_default();
        let label = label.trim().trim_matches('"').to_ascii_lowercase();
        match label.as_str() {
            "" | "7bit" | "8bit" | "binary" => TransferEncoding::Identity,
            "base64" => TransferEncoding::Base64,
            "quoted-printable" => TransferEncoding::QuotedPrintable,
            "x-uuencode" | "uuencode" | "x-uue" | "uue" => TransferEncoding::Uuencode,
            _ => TransferEncoding::Unknown(label),
        }
    }
}

/// Every reading of a base64 body a client could show: the whole body as one
/// stream with foreign characters ignored, and, when some line is damaged (its
/// count of base64 characters is not a multiple of four), each line decoded on
/// its own, aligned at its start and at its end, so that a stray or missing
/// character costs at most the group it stands in.
pub(crate) fn base64_readings(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut readings = vec![decode_base64_run(raw.iter().copied())];
    let lines = || raw.split(|&b| b == b'\n');
    let damaged = lines().any(|line| !quantum_count(line).is_multiple_of(4));
    if damaged {
        let mut head_aligned = Vec::with_capacity(raw.len() / 4 * 3);
        let mut tail_aligned = Vec::with_capacity(raw.len() / 4 * 3);
        for line in lines() {
            let chars: Vec<u8> = line.iter().copied().filter(|&b| is_alphabet(b)).collect();
            let excess = chars.len() % 4;
            head_aligned.extend(decode_base64_run(chars.iter().copied()));
            tail_aligned.extend(decode_base64_run(chars[excess..].iter().copied()));
        }
        for reading in [head_aligned, tail_aligned] {
            if !readings.contains(&reading) {
                readings.push(reading);
            }
        }
    }
    readings
}

/// True when a base64 body is not clean: a character outside the alphabet, a
/// `=` before the end, or a line that does not hold whole 4-character
/// quanta (the last line aside). mail-parser either gives up on such a body or
/// decodes it differently from lenient clients, so its other readings count.
pub(crate) fn base64_is_damaged(raw: &[u8]) -> bool {
    // This runs on every base64 part of every message, so a clean line (all
    // alphabet, the common case) costs one table pass; only a line with
    // padding, spaces or anything else is looked at byte by byte.
    let mut short_line = false; // a finished line that did not end a quantum
    let mut past_data = false; // padding or a space seen: only more of them may follow
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', raw).chain(std::iter::once(raw.len()));
    for end in ends {
        let line = &raw[start..end];
        start = end + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let on_line = if all_alphabet(line) {
            if past_data || short_line {
                return true;
            }
            line.len()
        } else {
            let mut on_line = 0usize;
            for &b in line {
                if is_alphabet(b) {
                    if past_data || short_line {
                        return true;
                    }
                    on_line += 1;
                } else if matches!(b, b'=' | b' ' | b'\t') {
                    past_data = true;
                } else {
                    return true;
                }
            }
            on_line
        };
        short_line |= !on_line.is_multiple_of(4);
    }
    false
}

/// 0 for the 64 base64 characters, 1 for every other byte.
static NOT_ALPHABET: [u8; 256] = {
    let mut table = [1u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
            table[b] = 0;
        }
        b += 1;
    }
    table
};

/// True when every byte of `line` is a base64 character.
fn all_alphabet(line: &[u8]) -> bool {
    line.iter()
        .fold(0u8, |acc, &b| acc | NOT_ALPHABET[usize::from(b)])
        == 0
}

/// Decodes a quoted-printable body as robust clients do: a malformed escape
/// stays as written instead of failing the part.
pub(crate) fn quoted_printable(raw: &[u8]) -> Vec<u8> {
    quoted_printable::decode(raw, quoted_printable::ParseMode::Robust)
        .unwrap_or_else(|_| raw.to_vec())
}

/// True for the 64 characters of the base64 alphabet.
fn is_alphabet(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// Characters of a line that take a place in a 4-character quantum: the
/// alphabet and the `=` padding.
fn quantum_count(line: &[u8]) -> usize {
    line.iter()
        .filter(|&&b| is_alphabet(b) || b == b'=')
        .count()
}

/// Decodes the base64 alphabet characters of `bytes`, ignoring everything
/// else (padding included, as a decoder that reads on past a stray `=` does).
fn decode_base64_run(bytes: impl Iterator<Item = u8>) -> Vec<u8> {
    let mut chars: Vec<u8> = bytes.filter(|&b| is_alphabet(b)).collect();
    if chars.len() % 4 == 1 {
        // six bits make no byte
        chars.pop();
    }
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    // Only alphabet characters remain and the length is valid, so this cannot
    // fail; an empty reading is still the safe answer if it ever did.
    LENIENT.decode(&chars).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for (label, encoding) in [
            (" Base64 ", TransferEncoding::Base64),
            ("8BIT", TransferEncoding::Identity),
            ("x-uuencode", TransferEncoding::Uuencode),
            ("base64 (scanned)", TransferEncoding::Base64),
            ("x-rot13", TransferEncoding::Unknown("x-rot13".into())),
        ] {
            assert_eq!(TransferEncoding::from_label(label), encoding, "{label}");
        }
    }

    #[test]
    fn foreign_characters_are_ignored() {
        // "NI: JM 41 29 87 B" with a stray '!' and a stray '='
        let readings = base64_readings(b"Tkk6IEpNIDQx!IDI5I=Dg3IEI=\r\n");
        assert!(readings.iter().any(|r| r == b"NI: JM 41 29 87 B"));
    }

    #[test]
    fn a_damaged_line_costs_only_its_own_group() {
        // line 1 lost one character; line 2 is intact and must survive in
        // some reading, and the end of line 1 is found by aligning at its end
        let line1 = "SGVsbG8gd29ybGQsIHRoaXMgaXMgbGluZSBvbmUu"; // "Hello world, this is line one."
        let damaged = line1.replacen('w', "", 1);
        let body = format!("{damaged}\r\nTkk6IEpNIDQxIDI5IDg3IEI=\r\n");
        let readings = base64_readings(body.as_bytes());
        let shown: Vec<String> = readings
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect();
        assert!(
            shown.iter().any(|s| s.ends_with("NI: JM 41 29 87 B")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s.contains("is line one.")),
            "{shown:?}"
        );
    }

    #[test]
    fn damage_is_recognised() {
        assert!(!base64_is_damaged(b"SGVsbG8gd29y\r\nbGQ=\r\n"));
        assert!(!base64_is_damaged(b"SGVsbG8gd29y\r\nbGQ\r\n"));
        assert!(base64_is_damaged(b"SGVs!bG8gd29y\r\nbGQ=\r\n"));
        assert!(base64_is_damaged(b"SGVs=bG8gd29y\r\nbGQ=\r\n"));
        assert!(base64_is_damaged(b"SGVsbG8gd29\r\nybGQ=\r\n"));
        assert!(base64_is_damaged(b"SGVsbG8gd29y bGQ=\r\n"));
    }

    #[test]
    fn intact_bodies_have_one_reading() {
        assert_eq!(base64_readings(b"SGVsbG8=\r\nd29ybGQ=\r\n").len(), 1);
    }

    #[test]
    fn quoted_printable_is_robust() {
        assert_eq!(
            quoted_printable(b"JM 41=\r\n 29 =ZZ 87 B"),
            b"JM 41 29 =ZZ 87 B"
        );
    }
}
