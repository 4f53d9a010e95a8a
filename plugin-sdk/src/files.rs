//! Read-only files inside the directories the operator granted.

use crate::bindings::plumbline::plugin::files as wit;
use crate::ScanError;

pub use wit::{DirEntry, EntryKind, FileError};

/// Largest file [`read_text`] reads: export files and scripts are small, and a
/// plugin's memory is capped.
pub const MAX_TEXT_BYTES: u64 = 16 * 1024 * 1024;

/// List a directory.
pub fn list_dir(path: &str) -> Result<Vec<DirEntry>, ScanError> {
    wit::list_dir(path).map_err(|e| to_scan_error(path, e))
}

/// Read a file's bytes, at most `max_bytes`.
pub fn read(path: &str, max_bytes: u64) -> Result<Vec<u8>, ScanError> {
    wit::read_file(path, max_bytes).map_err(|e| to_scan_error(path, e))
}

/// Read a text file and decode it (UTF-8, or UTF-16 with a byte-order mark
/// as Windows PowerShell's `Out-File` writes).
pub fn read_text(path: &str) -> Result<String, ScanError> {
    let bytes = read(path, MAX_TEXT_BYTES)?;
    decode_text(&bytes).map_err(|m| ScanError::Malformed(format!("{path}: {m}")))
}

/// Join a directory and a name with `/` (the host accepts both separators).
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') || dir.ends_with('\\') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Decode text: UTF-8 (with or without BOM), UTF-16LE or UTF-16BE with BOM.
pub fn decode_text(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).map_err(|e| format!("invalid UTF-8: {e}"));
    }
    let utf16 = |rest: &[u8], le: bool| -> Result<String, String> {
        if !rest.len().is_multiple_of(2) {
            return Err("UTF-16 text with an odd number of bytes (truncated file?)".into());
        }
        let units = rest.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .map_err(|e| format!("invalid UTF-16: {e}"))
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    String::from_utf8(bytes.to_vec()).map_err(|e| format!("not UTF-8 or UTF-16 text: {e}"))
}

fn to_scan_error(path: &str, e: FileError) -> ScanError {
    match e {
        FileError::Denied(m) => ScanError::Denied(m),
        FileError::NotFound(m) => ScanError::Config(format!("{path}: not found: {m}")),
        FileError::TooLarge(m) => ScanError::Malformed(format!("{path}: too large: {m}")),
        FileError::Io(m) => ScanError::Other(format!("{path}: {m}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_powershell_encodings() {
        let text = "{\"Name\":\"Contoso – relay\"}";
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode_text(&le).unwrap(), text);
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode_text(&be).unwrap(), text);
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend(text.as_bytes());
        assert_eq!(decode_text(&bom8).unwrap(), text);
        assert_eq!(decode_text(text.as_bytes()).unwrap(), text);
    }

    #[test]
    fn truncated_utf16_is_an_error() {
        let e = decode_text(&[0xFF, 0xFE, 0x41]).unwrap_err();
        assert!(e.contains("odd number"), "{e}");
        assert!(decode_text(&[0xC3, 0x28]).unwrap_err().contains("not UTF-8"));
    }
}
