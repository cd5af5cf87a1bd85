//! Compressed RTF (MS-OXRTFCP), the form in which Outlook stores a message
//! body (`PR_RTF_COMPRESSED` in `.msg` files and TNEF): a 16-byte header, then
//! LZ77 data over a 4 KiB dictionary that starts with a fixed RTF prefix
//! (`LZFu`), or the RTF itself uncompressed (`MELA`). Decompressed within the
//! message's expansion budget, then read as RTF.

use super::rtf;
use crate::collector::{Collector, FileRef};

/// Magic of compressed content.
const COMPRESSED: &[u8; 4] = b"LZFu";
/// Magic of uncompressed content.
const UNCOMPRESSED: &[u8; 4] = b"MELA";

/// The dictionary's initial content, fixed by the specification.
const PREBUFFER: &[u8; 207] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/// Why a compressed RTF stream could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// Not a compressed RTF header.
    NotCompressedRtf,
    /// The output would exceed the expansion budget.
    TooLarge,
}

/// True when `bytes` start with a compressed RTF header: the compressed size
/// (which counts from the raw-size field on) and a known magic at offset 8.
pub(crate) fn is_compressed_rtf(bytes: &[u8]) -> bool {
    let Some(header) = bytes.get(..16) else {
        return false;
    };
    let compressed_size = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let magic = &header[8..12];
    (magic == COMPRESSED || magic == UNCOMPRESSED) && compressed_size >= 12
}

/// Inspects a compressed RTF stream as the RTF document it holds.
pub(crate) fn inspect(c: &mut Collector, file: &FileRef, bytes: &[u8]) {
    let budget = usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX);
    match decompress(bytes, budget) {
        Ok(rtf_bytes) => {
            if c.charge_expanded(rtf_bytes.len() as u64).is_err() {
                c.problem(file.location, "expanded size limit reached");
                return;
            }
            let limit = usize::try_from(c.expanded_budget()).unwrap_or(usize::MAX);
            let text = rtf::parse(&rtf_bytes, limit);
            rtf::record(c, file, crate::PartKind::Document, &text);
        }
        Err(Error::TooLarge) => c.problem(file.location, "expanded size limit reached"),
        Err(Error::NotCompressedRtf) => c.problem(file.location, "corrupt compressed RTF"),
    }
}

/// The RTF inside a compressed RTF stream, producing at most `limit` bytes.
///
/// Lenient as Outlook is: the CRC is not checked, and data that ends early
/// yields what was decoded so far.
pub(crate) fn decompress(bytes: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    if !is_compressed_rtf(bytes) {
        return Err(Error::NotCompressedRtf);
    }
    let declared_size = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let raw_size = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    // The compressed size counts from byte 4; trust it only where it fits.
    let end = declared_size.saturating_add(4).min(bytes.len());
    let data = &bytes[16..end.max(16)];
    if &bytes[8..12] == UNCOMPRESSED {
        let take = data.len().min(raw_size);
        if take > limit {
            return Err(Error::TooLarge);
        }
        return Ok(data[..take].to_vec());
    }
    let mut dictionary = [0u8; 4096];
    dictionary[..PREBUFFER.len()].copy_from_slice(PREBUFFER);
    let mut write = PREBUFFER.len();
    let mut out = Vec::with_capacity(raw_size.min(limit).min(data.len().saturating_mul(8)));
    let mut at = 0;
    while let Some(&control) = data.get(at) {
        at += 1;
        for bit in 0..8 {
            if control & (1 << bit) == 0 {
                let Some(&byte) = data.get(at) else {
                    return Ok(out);
                };
                at += 1;
                if out.len() >= limit {
                    return Err(Error::TooLarge);
                }
                out.push(byte);
                dictionary[write] = byte;
                write = (write + 1) % 4096;
            } else {
                let Some(pair) = data.get(at..at + 2) else {
                    return Ok(out);
                };
                at += 2;
                let reference = u16::from_be_bytes([pair[0], pair[1]]);
                let offset = usize::from(reference >> 4);
                let length = usize::from(reference & 0xF) + 2;
                if offset == write {
                    return Ok(out); // the end marker
                }
                if out.len() + length > limit {
                    return Err(Error::TooLarge);
                }
                for i in 0..length {
                    let byte = dictionary[(offset + i) % 4096];
                    out.push(byte);
                    dictionary[write] = byte;
                    write = (write + 1) % 4096;
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::PartKind;
    use crate::formats::testutil::{extract_attachment, has_problem, text_at};

    /// The example of MS-OXRTFCP section 4.1 (compressed).
    const SPEC_EXAMPLE: &[u8] = &[
        0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7,
        0xa7, 0x03, 0x00, 0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a,
        0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d,
        0x0a, 0x80, 0x0f, 0xa0,
    ];

    /// A stream made of literals only: what a simple compressor writes.
    pub(crate) fn literal_stream(rtf: &[u8]) -> Vec<u8> {
        let mut data = Vec::new();
        for chunk in rtf.chunks(8) {
            let mut control = 0u8;
            if chunk.len() < 8 {
                control = 1 << chunk.len(); // the end marker follows the literals
            }
            data.push(control);
            data.extend_from_slice(chunk);
            if chunk.len() < 8 {
                let end = ((PREBUFFER.len() + rtf.len()) % 4096) as u16;
                data.extend_from_slice(&(end << 4).to_be_bytes());
            }
        }
        let mut out = ((data.len() + 12) as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(rtf.len() as u32).to_le_bytes());
        out.extend_from_slice(COMPRESSED);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&data);
        out
    }

    #[test]
    fn specification_example() {
        assert_eq!(
            decompress(SPEC_EXAMPLE, 1 << 20).unwrap(),
            b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"
        );
        // A back reference that overlaps the bytes it writes (MS-OXRTFCP 4.2).
        let overlapping =
            b"\x1a\x00\x00\x00\x1c\x00\x00\x00LZFu\xe2\xd4KQA\x00\x04 WXYZ\rn}\x01\x0e\xb0";
        assert_eq!(
            decompress(overlapping, 1 << 20).unwrap(),
            b"{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}"
        );
    }

    #[test]
    fn uncompressed_and_literal_streams() {
        let rtf = b"{\\rtf1 NI JM 41 29 87 B}";
        let mut mela = ((rtf.len() + 12) as u32).to_le_bytes().to_vec();
        mela.extend_from_slice(&(rtf.len() as u32).to_le_bytes());
        mela.extend_from_slice(UNCOMPRESSED);
        mela.extend_from_slice(&[0; 4]);
        mela.extend_from_slice(rtf);
        assert_eq!(decompress(&mela, 1 << 20).unwrap(), rtf);
        assert_eq!(decompress(&literal_stream(rtf), 1 << 20).unwrap(), rtf);
    }

    #[test]
    fn hostile_streams_are_bounded() {
        assert_eq!(decompress(b"short", 100), Err(Error::NotCompressedRtf));
        // Truncated anywhere: what was decoded so far, no panic.
        for cut in 0..SPEC_EXAMPLE.len() {
            let _ = decompress(&SPEC_EXAMPLE[..cut], 1 << 20);
        }
        // A run of back references expands 8.5 times: the limit stops it.
        let mut bomb = vec![0u8; 16];
        bomb[8..12].copy_from_slice(COMPRESSED);
        for _ in 0..10_000 {
            bomb.push(0xFF);
            bomb.extend_from_slice(&[0x00, 0x0F].repeat(8));
        }
        let size = (bomb.len() - 4) as u32;
        bomb[..4].copy_from_slice(&size.to_le_bytes());
        assert_eq!(decompress(&bomb, 10_000), Err(Error::TooLarge));
        // A lying compressed size is clamped to the data present.
        let mut lying = SPEC_EXAMPLE.to_vec();
        lying[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decompress(&lying, 1 << 20).is_ok());
    }

    #[test]
    fn compressed_rtf_attachment_is_read() {
        let stream = literal_stream(b"{\\rtf1\\ansi{\\header SECRET}NI JM 41 29 87 B\\par}");
        let x = extract_attachment("body.bin", &stream);
        assert_eq!(x.attachments[0].file_type, crate::FileType::CompressedRtf);
        assert_eq!(
            text_at(&x, "attachment:body.bin", PartKind::Document),
            "NI JM 41 29 87 B"
        );
        assert_eq!(
            text_at(&x, "attachment:body.bin:header", PartKind::DocumentHeader),
            "SECRET"
        );
        let mut broken = stream.clone();
        broken[8..12].copy_from_slice(b"LZFu");
        broken.truncate(16);
        let x = extract_attachment("body.bin", &broken);
        assert!(!has_problem(
            &x,
            "attachment:body.bin",
            "the parser failed on this part"
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_stream_is_bounded(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..2048),
            limit in 0usize..4096,
            magic in proptest::bool::ANY,
        ) {
            let mut stream = ((data.len() + 12) as u32).to_le_bytes().to_vec();
            stream.extend_from_slice(&u32::MAX.to_le_bytes());
            stream.extend_from_slice(if magic { COMPRESSED } else { UNCOMPRESSED });
            stream.extend_from_slice(&[0; 4]);
            stream.extend_from_slice(&data);
            if let Ok(out) = decompress(&stream, limit) {
                proptest::prop_assert!(out.len() <= limit);
            }
        }
    }
}
