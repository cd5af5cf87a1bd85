//! uuencode: `begin NNN name` ... `end` blocks, which mail clients show as
//! attachments whether they stand in a text body or make up a part with the
//! `x-uuencode` / `x-uue` transfer encoding. The GNU base64 variant
//! (`begin-base64 NNN name` ... `====`) is read too.
//!
//! Decoding is as lenient as the clients: trailing spaces that transports
//! strip are restored as zeros, checksum characters past the declared length
//! are ignored, a missing `end` ends the block at the last data line.

use crate::encoded_file::{EncodedFile, lines};

/// Finds the uuencoded files in a text body, decoding at most `limit` bytes
/// in all (a block past the limit is returned cut at it).
pub(crate) fn find_blocks(text: &[u8], limit: usize) -> Vec<EncodedFile> {
    let mut found = Vec::new();
    let mut budget = limit;
    let mut lines = lines(text).peekable();
    while let Some((line, range)) = lines.next() {
        let Some((name, base64)) = begin_line(line) else {
            continue;
        };
        let mut file = EncodedFile {
            name,
            bytes: Vec::new(),
            range,
        };
        let mut encoded = Vec::new();
        // A `begin` line in prose is no block: it needs data or an `end`.
        let mut block = false;
        while let Some((line, range)) = lines.peek() {
            let (line, range) = (*line, range.clone());
            let is_end = if base64 {
                line == b"===="
            } else {
                line.trim_ascii_end() == b"end"
            };
            if is_end {
                file.range.end = range.end;
                lines.next();
                block = true;
                break;
            }
            let data_line = if base64 {
                line.iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            } else {
                is_data_line(line)
            };
            if !data_line {
                break;
            }
            block |= !line.is_empty();
            if base64 {
                encoded.extend_from_slice(line);
            } else {
                decode_line(line, &mut file.bytes, budget);
            }
            file.range.end = range.end;
            lines.next();
        }
        if base64 {
            file.bytes = mail_parser::decoders::base64::base64_decode(&encoded).unwrap_or_default();
            file.bytes.truncate(budget);
        }
        if !block {
            continue;
        }
        budget -= file.bytes.len().min(budget);
        found.push(file);
    }
    found
}

/// Decodes the body of an `x-uuencode` part: its first `begin` block, or,
/// when the sender left the `begin` line out, its data lines as they are.
pub(crate) fn decode_part(body: &[u8], limit: usize) -> Option<EncodedFile> {
    if let Some(first) = find_blocks(body, limit).into_iter().next() {
        return Some(first);
    }
    let mut bytes = Vec::new();
    let mut end = 0;
    for (line, range) in lines(body) {
        if line.trim_ascii_end() == b"end" {
            end = range.end;
            break;
        }
        if !is_data_line(line) {
            return None;
        }
        decode_line(line, &mut bytes, limit);
        end = range.end;
    }
    (!bytes.is_empty()).then_some(EncodedFile {
        name: None,
        bytes,
        range: 0..end,
    })
}

/// The file name of a `begin NNN name` (or `begin-base64 NNN name`) line, and
/// whether the block is base64.
fn begin_line(line: &[u8]) -> Option<(Option<String>, bool)> {
    let (rest, base64) = if let Some(rest) = line.strip_prefix(b"begin-base64 ") {
        (rest, true)
    } else {
        (line.strip_prefix(b"begin ")?, false)
    };
    let rest = rest.trim_ascii_start();
    let mode_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=6).contains(&mode_len) || rest.get(mode_len) != Some(&b' ') {
        return None;
    }
    let name = String::from_utf8_lossy(rest[mode_len..].trim_ascii()).into_owned();
    Some(((!name.is_empty()).then_some(name), base64))
}

/// A line of uuencoded data: printable characters from space to backtick,
/// or nothing (a zero-length line whose space a transport stripped).
fn is_data_line(line: &[u8]) -> bool {
    line.iter().all(|&b| (b' '..=b'`').contains(&b))
}

/// The 6-bit value of a uuencoded character (backtick stands for zero).
fn sextet(ch: u8) -> u32 {
    u32::from(ch.wrapping_sub(b' ') & 0x3F)
}

/// Appends the bytes of one data line to `out`, no further than `limit`.
fn decode_line(line: &[u8], out: &mut Vec<u8>, limit: usize) {
    let Some((&length_char, data)) = line.split_first() else {
        return;
    };
    let length = sextet(length_char) as usize;
    let mut produced = 0;
    for group in (0..length.div_ceil(3)).map(|g| g * 4) {
        // Characters missing at the end (stripped spaces) count as zeros.
        let value = (0..4).fold(0u32, |acc, k| {
            acc << 6 | data.get(group + k).map_or(0, |&c| sextet(c))
        });
        for shift in [16, 8, 0] {
            if produced < length && out.len() < limit {
                out.push((value >> shift) as u8);
                produced += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// uuencodes `data` the classic way (backticks for zeros).
    fn encode(name: &str, data: &[u8]) -> String {
        let ch = |v: u32| char::from(if v == 0 { b'`' } else { v as u8 + b' ' });
        let mut out = format!("begin 644 {name}\n");
        for chunk in data.chunks(45) {
            out.push(ch(chunk.len() as u32));
            for group in chunk.chunks(3) {
                let b = [
                    group[0],
                    *group.get(1).unwrap_or(&0),
                    *group.get(2).unwrap_or(&0),
                ];
                let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
                for shift in [18, 12, 6, 0] {
                    out.push(ch((v >> shift) & 63));
                }
            }
            out.push('\n');
        }
        out.push_str("`\nend\n");
        out
    }

    #[test]
    fn blocks_in_a_body_with_their_ranges() {
        let payload = b"NI JM 41 29 87 B and some more text to pass forty-five bytes of data";
        let block = encode("case notes.txt", payload);
        let body = format!("Hello,\r\n\r\nsee the file:\r\n{block}Regards\r\n");
        let found = find_blocks(body.as_bytes(), 1 << 20);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name.as_deref(), Some("case notes.txt"));
        assert_eq!(found[0].bytes, payload);
        assert_eq!(&body[found[0].range.clone()], block);
    }

    #[test]
    fn lenient_on_stripped_spaces_and_missing_end() {
        // No `end` line: the block ends with its last data line.
        let block = "begin 600 a.txt\n#0V%T\n";
        let found = find_blocks(block.as_bytes(), 100);
        assert_eq!(found[0].bytes, b"Cat");
        assert_eq!(found[0].range, 0..block.len());
        let stripped = "begin 644 z.bin\n#````\n`\nend\n".replace("````", "");
        assert_eq!(find_blocks(stripped.as_bytes(), 100)[0].bytes, [0, 0, 0]);
        // Not a begin line, or a begin line in prose.
        assert!(find_blocks(b"begin the meeting at 10\nbegin 644\n", 100).is_empty());
        assert!(find_blocks(b"begin 600 photos\n\nThe team met.\n", 100).is_empty());
    }

    #[test]
    fn base64_variant_and_part_bodies() {
        let body = b"begin-base64 644 n.txt\nTkkgSk0gNDEgMjkgODcgQg==\n====\n";
        let found = find_blocks(body, 100);
        assert_eq!(found[0].bytes, b"NI JM 41 29 87 B");
        let part = encode("x.txt", b"hello");
        assert_eq!(decode_part(part.as_bytes(), 100).unwrap().bytes, b"hello");
        let headless = part.split_once('\n').unwrap().1;
        let decoded = decode_part(headless.as_bytes(), 100).unwrap();
        assert_eq!((decoded.name, decoded.bytes), (None, b"hello".to_vec()));
        assert!(decode_part(b"plain words here\n", 100).is_none());
    }

    #[test]
    fn hostile_input_is_bounded() {
        let big = encode("big.bin", &[7u8; 10_000]);
        let found = find_blocks(big.as_bytes(), 1000);
        assert_eq!(found[0].bytes.len(), 1000);
        // Two blocks share the budget.
        let two = format!("{big}{big}");
        let found = find_blocks(two.as_bytes(), 15_000);
        assert_eq!(found.iter().map(|f| f.bytes.len()).sum::<usize>(), 15_000);
        for input in [
            "begin 644 x\n",
            "begin 644 x\n~~~~\n",
            "begin 644 x\nM\n",
            "begin 644 x\n\u{0}",
        ] {
            let _ = find_blocks(input.as_bytes(), 100);
            let _ = decode_part(input.as_bytes(), 100);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_bounded(text in "(begin 644 a\n|begin-base64 6 b\n|end\n|====\n|[ -`]{0,70}\n|[a-z]{0,5}\n){0,40}", limit in 0usize..200) {
            let found = find_blocks(text.as_bytes(), limit);
            proptest::prop_assert!(found.iter().map(|f| f.bytes.len()).sum::<usize>() <= limit);
            for file in &found {
                proptest::prop_assert!(file.range.end <= text.len() && file.range.start < file.range.end);
            }
            let _ = decode_part(text.as_bytes(), limit);
        }
    }
}
