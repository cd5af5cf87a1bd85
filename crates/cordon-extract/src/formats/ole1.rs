//! OLE1 embedded objects (MS-OLEDS `ObjectHeader`), as RTF carries them in
//! `\objdata`: an embedded spreadsheet or document, or a "Package" that wraps
//! any file (a favourite way to hide a program inside a document). Word shows
//! them as icons or tables the recipient opens, so they are inspected as
//! nested files.

/// What an embedded object holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Object<'a> {
    /// A file: its name when a Package gives one, and its bytes.
    File {
        name: Option<String>,
        data: &'a [u8],
    },
    /// A link to a file outside the document: nothing to inspect.
    Linked,
}

/// The `FormatID` of an embedded (as opposed to linked) object.
const EMBEDDED: u32 = 2;

/// Reads an OLE1 object; `None` when it is not one.
pub(crate) fn read(data: &[u8]) -> Option<Object<'_>> {
    let format = u32_at(data, 4)?;
    let (class, at) = length_prefixed(data, 8)?;
    if format != EMBEDDED {
        return (format == 1).then_some(Object::Linked);
    }
    let (_topic, at) = length_prefixed(data, at)?;
    let (_item, at) = length_prefixed(data, at)?;
    let size = u32_at(data, at)? as usize;
    let start = at + 4;
    // Writers round sizes; what is present is what can be read.
    let native = data.get(start..start.saturating_add(size).min(data.len()))?;
    if class.eq_ignore_ascii_case(b"Package") {
        return package(native).or(Some(Object::File {
            name: None,
            data: native,
        }));
    }
    Some(Object::File {
        name: None,
        data: native,
    })
}

/// The file inside a Package object: a label, the original path, a
/// temporary path, then the data.
fn package(native: &[u8]) -> Option<Object<'_>> {
    let (label, at) = c_string(native, 2)?;
    let (path, at) = c_string(native, at)?;
    let temp_length = u32_at(native, at + 4)? as usize;
    let at = (at + 8).checked_add(temp_length)?;
    let size = u32_at(native, at)? as usize;
    let data = native.get(at + 4..(at + 4).saturating_add(size).min(native.len()))?;
    let name = [path, label]
        .into_iter()
        .map(|n| {
            let n = String::from_utf8_lossy(n);
            n.rsplit(['\\', '/']).next().unwrap_or("").trim().to_owned()
        })
        .find(|n| !n.is_empty());
    Some(Object::File { name, data })
}

/// A little-endian `u32` at `at`.
fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A string with a 32-bit length before it (NULs at its end dropped), and
/// where the next field starts.
fn length_prefixed(data: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let length = u32_at(data, at)? as usize;
    let start = at + 4;
    let end = start.checked_add(length)?;
    let text = data.get(start..end)?;
    let trimmed = text
        .iter()
        .rposition(|&b| b != 0)
        .map_or(&text[..0], |last| &text[..=last]);
    Some((trimmed, end))
}

/// A NUL-terminated string at `at`, and where the next field starts.
fn c_string(data: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = data.get(at..)?;
    let end = memchr::memchr(0, rest)?;
    Some((&rest[..end], at + end + 1))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn lp(text: &[u8]) -> Vec<u8> {
        let mut out = ((text.len() + 1) as u32).to_le_bytes().to_vec();
        out.extend_from_slice(text);
        out.push(0);
        out
    }

    /// An OLE1 embedded object of `class` with `native` data.
    pub(crate) fn object(class: &[u8], native: &[u8]) -> Vec<u8> {
        let mut out = 0x0501u32.to_le_bytes().to_vec();
        out.extend_from_slice(&EMBEDDED.to_le_bytes());
        out.extend(lp(class));
        out.extend(lp(b""));
        out.extend(lp(b""));
        out.extend_from_slice(&(native.len() as u32).to_le_bytes());
        out.extend_from_slice(native);
        out
    }

    /// A Package's native data wrapping `data` as `path`.
    pub(crate) fn package_native(label: &[u8], path: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = 2u16.to_le_bytes().to_vec();
        out.extend_from_slice(label);
        out.push(0);
        out.extend_from_slice(path);
        out.push(0);
        out.extend_from_slice(&0x0003_0000u32.to_le_bytes());
        out.extend_from_slice(&((path.len() + 1) as u32).to_le_bytes());
        out.extend_from_slice(path);
        out.push(0);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn package_and_plain_objects() {
        let native = package_native(b"invoice.pdf", b"C:\\Users\\x\\invoice.pdf.exe", b"MZ...");
        assert_eq!(
            read(&object(b"Package", &native)),
            Some(Object::File {
                name: Some("invoice.pdf.exe".into()),
                data: b"MZ..."
            })
        );
        assert_eq!(
            read(&object(b"Excel.Sheet.8", b"\xd0\xcf\x11\xe0")),
            Some(Object::File {
                name: None,
                data: b"\xd0\xcf\x11\xe0"
            })
        );
    }

    #[test]
    fn hostile_objects() {
        let good = object(b"Package", &package_native(b"a", b"b", b"data"));
        for cut in 0..good.len() {
            let _ = read(&good[..cut]);
        }
        let mut huge = good.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(read(&huge), None);
        let mut linked = good;
        linked[4] = 1;
        assert_eq!(read(&linked), Some(Object::Linked));
    }
}
