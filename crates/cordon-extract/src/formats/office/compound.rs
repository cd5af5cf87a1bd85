//! OLE2 compound files: an Outlook message is read ([`super::outlook`]); an
//! encrypted modern Office document and a legacy binary Word, Excel or
//! PowerPoint document cannot be, and are recorded as not inspected (a
//! Windows Installer package is already reported as executable).

use crate::collector::{Collector, FileRef};

/// Inspects an OLE2 compound file; `executable` when it is a Windows Installer.
pub(crate) fn inspect_compound(c: &mut Collector, file: &FileRef, bytes: &[u8], executable: bool) {
    let has_stream = |name: &str| {
        let utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        memchr::memmem::find(bytes, &utf16).is_some()
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
