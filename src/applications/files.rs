//! Attachment files: what kinds are accepted (decided by content, never by name) and safe
//! names. Where they are kept is [`super::store`].

/// The document formats the portal accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Odt,
    Ods,
    Docx,
    Xlsx,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Odt => "application/vnd.oasis.opendocument.text",
            FileKind::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            FileKind::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Png => "png",
            FileKind::Jpeg => "jpg",
            FileKind::Odt => "odt",
            FileKind::Ods => "ods",
            FileKind::Docx => "docx",
            FileKind::Xlsx => "xlsx",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FileKind::Pdf => "PDF",
            FileKind::Png => "PNG",
            FileKind::Jpeg => "JPEG",
            FileKind::Odt => "ODT",
            FileKind::Ods => "ODS",
            FileKind::Docx => "DOCX",
            FileKind::Xlsx => "XLSX",
        }
    }
}

/// How many leading bytes [`sniff`] wants to see.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The kind of a file from its first bytes, or `None` if it is none the portal accepts.
/// Office formats are ZIP archives: OpenDocument names its type in the uncompressed `mimetype`
/// entry that must come first; Office Open XML is told by its part names
/// (`word/…`, `xl/…`), which local file headers carry in clear text.
pub fn sniff(head: &[u8]) -> Option<FileKind> {
    if head.starts_with(b"%PDF-") {
        return Some(FileKind::Pdf);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(FileKind::Png);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(FileKind::Jpeg);
    }
    if !head.starts_with(b"PK\x03\x04") {
        return None;
    }
    if head.get(30..38) == Some(b"mimetype") {
        let rest = head.get(38..).unwrap_or_default();
        if rest.starts_with(b"application/vnd.oasis.opendocument.text") {
            return Some(FileKind::Odt);
        }
        if rest.starts_with(b"application/vnd.oasis.opendocument.spreadsheet") {
            return Some(FileKind::Ods);
        }
        return None;
    }
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if !has(b"[Content_Types].xml") {
        return None;
    }
    if has(b"word/") {
        Some(FileKind::Docx)
    } else if has(b"xl/") {
        Some(FileKind::Xlsx)
    } else {
        None
    }
}

/// The user's file name made safe to show and to offer as download name: no directories, no
/// control or path characters, at most 150 characters, and the extension of what the file
/// really is.
pub fn safe_file_name(original: &str, kind: FileKind) -> String {
    let last = original.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    let stem = match cleaned.rsplit_once('.') {
        Some((stem, _)) => stem,
        None => cleaned,
    };
    let stem: String = stem.chars().take(140).collect();
    let stem = if stem.trim().is_empty() {
        "Dokument".to_string()
    } else {
        stem.trim().to_string()
    };
    format!("{stem}.{}", kind.extension())
}

/// A `Content-Disposition` for downloading under `name`: an ASCII fallback and the exact name
/// in RFC 5987 encoding.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " ._-()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_with_first_entry(name: &[u8], content: &[u8]) -> Vec<u8> {
        let mut z = b"PK\x03\x04".to_vec();
        z.extend_from_slice(&[0u8; 22]);
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0, 0]);
        z.extend_from_slice(name);
        z.extend_from_slice(content);
        z
    }

    #[test]
    fn files_are_recognised_by_content() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some(FileKind::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(FileKind::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(FileKind::Jpeg));
        let odt = zip_with_first_entry(b"mimetype", b"application/vnd.oasis.opendocument.text");
        assert_eq!(sniff(&odt), Some(FileKind::Odt));
        let ods = zip_with_first_entry(
            b"mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        );
        assert_eq!(sniff(&ods), Some(FileKind::Ods));
        let mut docx = zip_with_first_entry(b"[Content_Types].xml", b"<Types/>");
        docx.extend_from_slice(b"PK\x03\x04....word/document.xml");
        assert_eq!(sniff(&docx), Some(FileKind::Docx));
        let mut xlsx = zip_with_first_entry(b"[Content_Types].xml", b"<Types/>");
        xlsx.extend_from_slice(b"PK\x03\x04....xl/workbook.xml");
        assert_eq!(sniff(&xlsx), Some(FileKind::Xlsx));
    }

    #[test]
    fn executables_and_other_archives_are_refused_whatever_their_name() {
        assert_eq!(sniff(b"MZ\x90\x00\x03"), None, "Windows executable");
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01"), None, "Linux executable");
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(&zip_with_first_entry(b"evil.exe", b"MZ")), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn file_names_lose_paths_and_get_the_real_extension() {
        assert_eq!(
            safe_file_name("../../etc/passwd", FileKind::Pdf),
            "passwd.pdf"
        );
        assert_eq!(
            safe_file_name("C:\\Users\\x\\Angebot.exe", FileKind::Pdf),
            "Angebot.pdf"
        );
        assert_eq!(
            safe_file_name("Beschluss Gemeinderat 2027.PDF", FileKind::Pdf),
            "Beschluss Gemeinderat 2027.pdf"
        );
        assert_eq!(safe_file_name("..", FileKind::Png), "Dokument.png");
        assert_eq!(
            safe_file_name("a\u{0}b\"<c>.docx", FileKind::Docx),
            "abc.docx"
        );
    }

    #[test]
    fn download_names_are_quoted_safely() {
        assert_eq!(
            content_disposition("Kostenschätzung \"final\".pdf"),
            "attachment; filename=\"Kostensch_tzung _final_.pdf\"; filename*=UTF-8''Kostensch%C3%A4tzung%20%22final%22.pdf"
        );
    }
}
