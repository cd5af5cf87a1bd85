//! OLE2 compound files: an Outlook message is read ([`super::outlook`]); an
//! encrypted modern Office document and a legacy binary Word, Excel or
//! PowerPoint document cannot be, and are recorded as not inspected (a
//! Windows Installer package is already reported as executable).

use std::io::Cursor;

use cfb::CompoundFile;

use crate::collector::{Collector, FileRef};

/// Inspects an OLE2 compound file; `executable` when it is a Windows Installer.
pub(crate) fn inspect_compound(c: &mut Collector, file: &FileRef, bytes: &[u8], executable: bool) {
    // What the root storage holds decides the kind; a file whose directory
    // cannot be read is judged by the stream names its bytes contain.
    let root: Option<Vec<String>> = CompoundFile::open(Cursor::new(bytes)).ok().and_then(|f| {
        f.read_storage("/")
            .ok()
            .map(|entries| entries.map(|e| e.name().to_owned()).collect())
    });
    let has_stream = |prefix: &str| match &root {
        Some(names) => names.iter().any(|n| n.starts_with(prefix)),
        None => {
            let utf16: Vec<u8> = prefix.encode_utf16().flat_map(u16::to_le_bytes).collect();
            memchr::memmem::find(bytes, &utf16).is_some()
        }
    };
    if has_stream("EncryptedPackage") {
        c.problem(
            file.location,
            "encrypted Office document (cannot be inspected)",
        );
        return;
    }
    if executable {
        return; // a Windows Installer: already held as executable
    }
    if has_stream("__substg1.0_") || has_stream("__properties_version1.0") {
        super::outlook::inspect(c, file, bytes);
    } else {
        c.problem(file.location, "legacy binary document (not inspected)");
    }
}
