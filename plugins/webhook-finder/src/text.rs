//! Deciding whether a file is text, and decoding it.

use plumbline_plugin_sdk::files::decode_text;

/// How much of a file is sniffed for binary content.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// How a text file was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8, with or without a byte-order mark.
    Utf8,
    /// UTF-16 with a byte-order mark (Windows PowerShell 5.1 `Out-File`,
    /// `.reg` exports).
    Utf16,
    /// Not UTF-8, but text: an 8-bit code page such as Windows-1252, as old
    /// `.bat` and `.ps1` files are often saved. Decoded lossily: the webhook
    /// URLs are ASCII, so nothing is lost that matters.
    EightBit,
}

/// Why a file was not read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotText {
    /// A NUL byte in the first [`SNIFF_BYTES`] (and no UTF-16 byte-order mark).
    NulByte,
    /// A UTF-16 byte-order mark, but not valid UTF-16.
    BadUtf16,
    /// Not UTF-8, and too many control bytes for 8-bit text.
    ControlBytes,
}

/// Decode `bytes` as text, or say why it is binary.
///
/// Files with a UTF-16 byte-order mark are decoded as UTF-16; otherwise a
/// NUL byte in the first 8 KiB means binary. Valid UTF-8 is text. Anything
/// else is text in an 8-bit code page unless more than 1 in 100 of its first
/// 8 KiB are control bytes (other than tab, line feed, form feed, carriage
/// return and escape).
pub fn decode(bytes: &[u8]) -> Result<(String, TextEncoding), NotText> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return decode_text(bytes)
            .map(|t| (t, TextEncoding::Utf16))
            .map_err(|_| NotText::BadUtf16);
    }
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if head.contains(&0) {
        return Err(NotText::NulByte);
    }
    if let Ok(text) = decode_text(bytes) {
        return Ok((text, TextEncoding::Utf8));
    }
    let controls = head
        .iter()
        .filter(|&&c| (c < 0x20 && !matches!(c, b'\t' | b'\n' | 0x0C | b'\r' | 0x1B)) || c == 0x7F)
        .count();
    if controls * 100 > head.len() {
        return Err(NotText::ControlBytes);
    }
    Ok((
        String::from_utf8_lossy(bytes).into_owned(),
        TextEncoding::EightBit,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_every_encoding() {
        let text = "Invoke-RestMethod -Uri $uri # Zürich\r\n";
        assert_eq!(decode(text.as_bytes()).unwrap(), (text.to_string(), TextEncoding::Utf8));
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&le).unwrap(), (text.to_string(), TextEncoding::Utf16));
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(decode(&be).unwrap().1, TextEncoding::Utf16);
        // Windows-1252 "Zürich": 0xFC is not UTF-8.
        let cp1252 = b"$uri = 'https://x' # Z\xFCrich\r\n";
        let (t, enc) = decode(cp1252).unwrap();
        assert_eq!(enc, TextEncoding::EightBit);
        assert!(t.starts_with("$uri = 'https://x'"));
        assert_eq!(decode(b"").unwrap().1, TextEncoding::Utf8);
    }

    #[test]
    fn binaries_are_refused() {
        let mut exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
        exe.extend(b"https://outlook.office.com/webhook/a@b/c/d/e");
        assert_eq!(decode(&exe), Err(NotText::NulByte));
        assert_eq!(decode(&[0xFF, 0xFE, 0x41]), Err(NotText::BadUtf16));
        // Unpaired surrogate.
        assert_eq!(decode(&[0xFF, 0xFE, 0x00, 0xD8]), Err(NotText::BadUtf16));
        let noise: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 256) as u8 | 1).collect();
        assert_eq!(decode(&noise), Err(NotText::ControlBytes));
        // A NUL after the sniffed head does not make it binary.
        let mut late = vec![b'a'; SNIFF_BYTES];
        late.push(0);
        assert_eq!(decode(&late).unwrap().1, TextEncoding::Utf8);
    }
}
