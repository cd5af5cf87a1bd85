//! yEnc: `=ybegin ... name=NAME`, an optional `=ypart`, data lines and
//! `=yend`, which clients that read Usenet-style mail show as attachments.
//! Each byte is written plus 42; a critical byte is escaped as `=` and the
//! byte plus 64. Lenient as readers are: a missing `=yend` ends the block
//! at the end of the text, and sizes and CRCs are not checked.

use crate::encoded_file::{EncodedFile, lines};

/// Finds the yEnc blocks in a text body, decoding at most `limit` bytes in
/// all (a block past the limit is returned cut at it).
pub(crate) fn find_blocks(text: &[u8], limit: usize) -> Vec<EncodedFile> {
    let mut found = Vec::new();
    let mut budget = limit;
    let mut lines = lines(text).peekable();
    while let Some((line, range)) = lines.next() {
        let Some(header) = line.strip_prefix(b"=ybegin ") else {
            continue;
        };
        let mut file = EncodedFile {
            name: name(header),
            bytes: Vec::new(),
            range,
        };
        while let Some((line, range)) = lines.next() {
            file.range.end = range.end;
            if line.starts_with(b"=yend") {
                break;
            }
            if line.starts_with(b"=ypart ") {
                continue;
            }
            decode_line(line, &mut file.bytes, budget);
            // The next block's header ends this one if `=yend` is missing.
            if lines
                .peek()
                .is_some_and(|(next, _)| next.starts_with(b"=ybegin "))
            {
                break;
            }
        }
        budget -= file.bytes.len().min(budget);
        found.push(file);
    }
    found
}

/// The `name=` of a `=ybegin` line: the rest of the line, spaces included,
/// as the specification puts it last.
fn name(header: &[u8]) -> Option<String> {
    let at = memchr::memmem::find(header, b"name=")?;
    let name = String::from_utf8_lossy(header[at + 5..].trim_ascii()).into_owned();
    (!name.is_empty()).then_some(name)
}

/// Appends the bytes of one data line to `out`, no further than `limit`.
fn decode_line(line: &[u8], out: &mut Vec<u8>, limit: usize) {
    let mut bytes = line.iter();
    while let Some(&b) = bytes.next() {
        if out.len() >= limit {
            return;
        }
        let value = if b == b'=' {
            match bytes.next() {
                Some(&escaped) => escaped.wrapping_sub(64),
                None => return, // an escape cut at the line end
            }
        } else {
            b
        };
        out.push(value.wrapping_sub(42));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// yEnc-encodes `data` as one block with lines of at most 128 bytes.
    fn encode(name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = format!("=ybegin line=128 size={} name={name}\r\n", data.len()).into_bytes();
        let mut column = 0;
        for &b in data {
            let v = b.wrapping_add(42);
            if matches!(v, 0 | b'\n' | b'\r' | b'=')
                || (column == 0 && matches!(v, b'.' | b'\t' | b' '))
            {
                out.extend_from_slice(&[b'=', v.wrapping_add(64)]);
                column += 2;
            } else {
                out.push(v);
                column += 1;
            }
            if column >= 128 {
                out.extend_from_slice(b"\r\n");
                column = 0;
            }
        }
        out.extend_from_slice(format!("\r\n=yend size={}\r\n", data.len()).as_bytes());
        out
    }

    #[test]
    fn every_byte_round_trips() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let block = encode("all bytes.bin", &data);
        let mut body = b"Files follow.\r\n".to_vec();
        let start = body.len();
        body.extend_from_slice(&block);
        body.extend_from_slice(b"bye\r\n");
        let found = find_blocks(&body, 1 << 20);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name.as_deref(), Some("all bytes.bin"));
        assert_eq!(found[0].bytes, data);
        assert_eq!(found[0].range, start..start + block.len());
    }

    #[test]
    fn parts_and_missing_end() {
        let body = b"=ybegin part=1 line=128 size=5 name=a.txt\n=ypart begin=1 end=5\nxyz\n=ybegin name=b.txt\n~\x8b";
        let found = find_blocks(body, 100);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].bytes, b"NOP");
        assert_eq!(found[1].name.as_deref(), Some("b.txt"));
        assert_eq!(found[1].bytes, b"Ta");
    }

    #[test]
    fn hostile_input_is_bounded() {
        let block = encode("big", &[1u8; 10_000]);
        assert_eq!(find_blocks(&block, 500)[0].bytes.len(), 500);
        for input in [
            &b"=ybegin "[..],
            b"=ybegin name=\n=",
            b"=ybegin x\n=yend",
            b"=ybegin\n",
        ] {
            let _ = find_blocks(input, 100);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_bounded(text in "(=ybegin name=x\n|=ypart begin=1\n|=yend\n|[^\n]{0,40}\n){0,40}", limit in 0usize..200) {
            let found = find_blocks(text.as_bytes(), limit);
            proptest::prop_assert!(found.iter().map(|f| f.bytes.len()).sum::<usize>() <= limit);
            for file in &found {
                proptest::prop_assert!(file.range.end <= text.len() && file.range.start < file.range.end);
            }
        }
    }
}
