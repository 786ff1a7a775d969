//! Attachment files: what kinds are accepted (decided by content, never by name), safe names,
//! and the file store behind a small interface. The local directory is the default; an object
//! store (S3 and friends, e.g. through the `object_store` crate) becomes another variant of
//! [`FileStore`] without touching the callers.

use std::path::{Path, PathBuf};

use tokio::fs;
use tokio::io::AsyncWriteExt;

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

/// Where attachment files live.
#[derive(Clone, Debug)]
pub enum FileStore {
    /// A directory outside the web root.
    Local { root: PathBuf },
}

impl FileStore {
    pub fn local(data_dir: &Path) -> Self {
        FileStore::Local {
            root: data_dir.join("attachments"),
        }
    }

    /// A new file being received: written to a temporary place first.
    pub async fn begin(&self) -> std::io::Result<Upload> {
        let dir = self.incoming();
        fs::create_dir_all(&dir).await?;
        let key = uuid::Uuid::new_v4().simple().to_string();
        let path = dir.join(&key);
        let file = fs::File::create(&path).await?;
        Ok(Upload {
            key,
            path,
            file,
            kept: false,
        })
    }

    /// Moves a received file to its final place under its key.
    pub async fn keep(&self, mut upload: Upload) -> std::io::Result<String> {
        upload.file.flush().await?;
        upload.file.sync_all().await?;
        let target = self.path_of(&upload.key);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).await?;
        }
        fs::rename(&upload.path, &target).await?;
        upload.kept = true;
        Ok(upload.key.clone())
    }

    /// Removes files left in the incoming area by uploads that never finished (a crash, say);
    /// an upload in progress is never older than `max_age`. Returns how many went.
    pub async fn sweep_incoming(&self, max_age: std::time::Duration) -> std::io::Result<usize> {
        let mut entries = match fs::read_dir(self.incoming()).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            // A file that finishes (is moved away) meanwhile is simply not there any more.
            let Ok(modified) = entry.metadata().await.and_then(|m| m.modified()) else {
                continue;
            };
            let age = modified.elapsed().unwrap_or_default();
            if age > max_age && fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn incoming(&self) -> PathBuf {
        let FileStore::Local { root } = self;
        root.join("incoming")
    }

    pub async fn open(&self, key: &str) -> std::io::Result<fs::File> {
        fs::File::open(self.path_of(key)).await
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match fs::remove_file(self.path_of(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Keys are server-made hex strings; anything else never reaches the file system.
    fn path_of(&self, key: &str) -> PathBuf {
        let FileStore::Local { root } = self;
        let safe = key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit());
        let key = if safe { key } else { "invalid" };
        root.join(&key[..2.min(key.len())]).join(key)
    }
}

/// A file being received. Unless it is kept, its temporary file is removed when the upload is
/// dropped: also when the request is cut off (a timeout, a client that goes away) while the
/// body is still arriving.
pub struct Upload {
    key: String,
    path: PathBuf,
    pub file: fs::File,
    kept: bool,
}

impl Upload {
    /// Where the file is being received (for the malware scan).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Gives up on the file (what dropping it does; this says so at the call site).
    pub fn discard(self) {}
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
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

    #[test]
    fn only_server_made_keys_reach_the_file_system() {
        let store = FileStore::local(Path::new("/data"));
        assert_eq!(
            store.path_of("0123456789abcdef0123456789abcdef"),
            Path::new("/data/attachments/01/0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            store.path_of("../../etc/passwd"),
            Path::new("/data/attachments/in/invalid")
        );
    }
}
