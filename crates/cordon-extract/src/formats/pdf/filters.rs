//! Stream filters other than Flate: ASCII85, run-length and LZW, each
//! producing no more than it is allowed to.

/// Decodes ASCII85 data (`<~ ... ~>` framing tolerated).
pub(super) fn ascii85(data: &[u8]) -> Vec<u8> {
    let data = data.strip_prefix(b"<~").unwrap_or(data);
    let mut out = Vec::with_capacity(data.len());
    let mut group = [0u32; 5];
    let mut n = 0;
    for &b in data {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group[n] = u32::from(b - b'!');
                n += 1;
                if n == 5 {
                    let value = group
                        .iter()
                        .fold(0u32, |acc, &d| acc.wrapping_mul(85).wrapping_add(d));
                    out.extend_from_slice(&value.to_be_bytes());
                    n = 0;
                }
            }
            _ => {}
        }
    }
    if n > 1 {
        for slot in group.iter_mut().skip(n) {
            *slot = 84;
        }
        let value = group
            .iter()
            .fold(0u32, |acc, &d| acc.wrapping_mul(85).wrapping_add(d));
        out.extend_from_slice(&value.to_be_bytes()[..n - 1]);
    }
    out
}

/// Decodes run-length data, producing at most `cap` bytes.
pub(super) fn run_length(data: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&len) = data.get(i) {
        if out.len() >= cap || len == 128 {
            break;
        }
        if len < 128 {
            let count = usize::from(len) + 1;
            let Some(run) = data.get(i + 1..i + 1 + count) else {
                out.extend_from_slice(&data[i + 1..]);
                break;
            };
            out.extend_from_slice(run);
            i += 1 + count;
        } else {
            let Some(&b) = data.get(i + 1) else { break };
            out.extend(std::iter::repeat_n(b, 257 - usize::from(len)));
            i += 2;
        }
    }
    out
}

/// Decodes LZW data (early change, as PDF writes it), producing at most `cap`
/// bytes.
pub(super) fn lzw(data: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut table: Vec<(Option<u16>, u8)> = Vec::with_capacity(4096);
    let reset = |table: &mut Vec<(Option<u16>, u8)>| {
        table.clear();
        table.extend((0..=255u8).map(|b| (None, b)));
        table.push((None, 0)); // 256 clear
        table.push((None, 0)); // 257 end
    };
    reset(&mut table);
    let mut width = 9u32;
    let mut bits: u32 = 0;
    let mut nbits = 0u32;
    let mut prev: Option<u16> = None;
    let mut entry = Vec::new();
    // The bytes of table entry `code`, first to last.
    let expand = |table: &[(Option<u16>, u8)], code: u16, entry: &mut Vec<u8>| {
        entry.clear();
        let mut at = Some(code);
        while let Some(c) = at {
            let Some(&(parent, b)) = table.get(usize::from(c)) else {
                break;
            };
            entry.push(b);
            at = parent;
            if entry.len() > 4096 {
                break;
            }
        }
        entry.reverse();
    };
    for &byte in data {
        bits = (bits << 8) | u32::from(byte);
        nbits += 8;
        while nbits >= width {
            let code = ((bits >> (nbits - width)) & ((1 << width) - 1)) as u16;
            nbits -= width;
            match code {
                256 => {
                    reset(&mut table);
                    width = 9;
                    prev = None;
                    continue;
                }
                257 => return out,
                _ => {}
            }
            let known = usize::from(code) < table.len();
            match (known, prev) {
                (true, _) => expand(&table, code, &mut entry),
                (false, Some(p)) => {
                    expand(&table, p, &mut entry);
                    let first = entry.first().copied().unwrap_or(0);
                    entry.push(first);
                }
                (false, None) => return out,
            }
            if let Some(p) = prev
                && table.len() < 4096
            {
                table.push((Some(p), entry.first().copied().unwrap_or(0)));
            }
            out.extend_from_slice(&entry);
            if out.len() >= cap {
                return out;
            }
            prev = Some(code);
            width = match table.len() + 1 {
                n if n >= 2048 => 12,
                n if n >= 1024 => 11,
                n if n >= 512 => 10,
                _ => 9,
            };
        }
        bits &= (1 << nbits) - 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoders() {
        assert_eq!(ascii85(b"<~87cURD]i,\"Ebo80~>"), b"Hello World!");
        assert_eq!(ascii85(b"87cURD]i,\"Ebo7"), b"Hello World");
        assert_eq!(
            run_length(&[2, b'a', b'b', b'c', 253, b'x', 128], 100),
            b"abcxxxx"
        );
        // "-----A---B" encoded by the reference LZW example of the PDF specification.
        let lzw_data = [0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01];
        assert_eq!(lzw(&lzw_data, 100), b"-----A---B");
    }
}
