//! Where uploaded files are kept: a local directory (the default) or an S3-compatible object
//! store (`STORAGE_URL=s3://bucket/prefix`). Either way a file is first received into a local
//! incoming area (so it can be checked and scanned before anyone keeps it), then kept under a
//! server-made key; reading streams it back in chunks, never the whole file in memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use secrecy::ExposeSecret;
use tokio::fs;
use tokio::io::AsyncWriteExt;

use crate::config::{Bucket, Config, Storage};

/// A kept file as it is read back.
pub type FileStream = BoxStream<'static, std::io::Result<Bytes>>;

/// Chunks of an upload sent to the object store at once (S3 wants at least 5 MiB per part).
const PART_BYTES: usize = 8 * 1024 * 1024;

/// Where attachment files live.
#[derive(Clone, Debug)]
pub struct FileStore {
    /// Files being received, on this instance's disk.
    incoming: PathBuf,
    place: Place,
}

#[derive(Clone, Debug)]
enum Place {
    /// A directory outside the web root.
    Directory(PathBuf),
    /// Objects under `prefix` in a bucket.
    Bucket {
        store: Arc<dyn ObjectStore>,
        prefix: String,
    },
}

impl FileStore {
    pub fn local(data_dir: &Path) -> Self {
        let root = data_dir.join("attachments");
        FileStore {
            incoming: root.join("incoming"),
            place: Place::Directory(root),
        }
    }

    /// The store the configuration names.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let mut store = Self::local(&config.data_dir);
        if let Storage::Bucket(bucket) = &config.storage {
            store.place = Place::Bucket {
                store: Arc::new(s3(bucket)?),
                prefix: bucket.prefix.clone(),
            };
        }
        Ok(store)
    }

    /// A new file being received: written to a temporary place first.
    pub async fn begin(&self) -> std::io::Result<Upload> {
        fs::create_dir_all(&self.incoming).await?;
        let key = uuid::Uuid::new_v4().simple().to_string();
        let path = self.incoming.join(&key);
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
        if let Place::Directory(root) = &self.place {
            let target = path_of(root, &upload.key);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).await?;
            }
            fs::rename(&upload.path, &target).await?;
            upload.kept = true;
        } else {
            // Copied; the local file goes when `upload` is dropped.
            self.put(&upload.key, &upload.path).await?;
        }
        Ok(upload.key.clone())
    }

    /// Keeps a document the portal made (a notice, a payment file) under a new key.
    pub async fn keep_bytes(&self, bytes: &[u8]) -> std::io::Result<String> {
        let mut upload = self.begin().await?;
        upload.file.write_all(bytes).await?;
        self.keep(upload).await
    }

    /// Stores the file at `source` under `key` (a restore; uploads are [`Self::keep`]t).
    pub async fn put(&self, key: &str, source: &Path) -> std::io::Result<()> {
        let mut source = fs::File::open(source).await?;
        match &self.place {
            Place::Directory(root) => {
                let target = path_of(root, key);
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).await?;
                }
                let mut out = fs::File::create(&target).await?;
                tokio::io::copy(&mut source, &mut out).await?;
                out.sync_all().await
            }
            Place::Bucket { store, prefix } => {
                // Streamed in parts of PART_BYTES.
                let target = object_of(prefix, key);
                let mut writer = BufWriter::with_capacity(store.clone(), target, PART_BYTES);
                if let Err(e) = tokio::io::copy(&mut source, &mut writer).await {
                    let _ = writer.abort().await;
                    return Err(e);
                }
                writer.shutdown().await
            }
        }
    }

    /// Removes files left in the incoming area by uploads that never finished (a crash, say);
    /// an upload in progress is never older than `max_age`. Returns how many went.
    pub async fn sweep_incoming(&self, max_age: Duration) -> std::io::Result<usize> {
        let mut removed = 0;
        for (path, modified) in files_in(&self.incoming).await? {
            if age(modified) > max_age && fs::remove_file(path).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The keys of kept files older than `min_age`, for the sweep of files no record names.
    pub async fn keys_older_than(&self, min_age: Duration) -> std::io::Result<Vec<String>> {
        match &self.place {
            Place::Directory(root) => {
                let mut keys = Vec::new();
                let mut shards = match fs::read_dir(root).await {
                    Ok(shards) => shards,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
                    Err(e) => return Err(e),
                };
                while let Some(shard) = shards.next_entry().await? {
                    if shard.path() == self.incoming || !shard.file_type().await?.is_dir() {
                        continue;
                    }
                    for (path, modified) in files_in(&shard.path()).await? {
                        let key = path.file_name().and_then(|n| n.to_str());
                        match key {
                            Some(key) if is_key(key) && age(modified) > min_age => {
                                keys.push(key.to_string());
                            }
                            _ => {}
                        }
                    }
                }
                Ok(keys)
            }
            Place::Bucket { store, prefix } => {
                let listed: Vec<_> = store
                    .list(Some(&ObjectPath::from(prefix.as_str())))
                    .try_collect()
                    .await
                    .map_err(std::io::Error::other)?;
                let now = jiff::Timestamp::now().as_millisecond();
                Ok(listed
                    .into_iter()
                    .filter(|meta| {
                        let millis = now - meta.last_modified.timestamp_millis();
                        u128::try_from(millis).is_ok_and(|ms| ms > min_age.as_millis())
                    })
                    .filter_map(|meta| meta.location.filename().map(str::to_string))
                    .filter(|key| is_key(key))
                    .collect())
            }
        }
    }

    /// The kept file, streamed.
    pub async fn open(&self, key: &str) -> std::io::Result<FileStream> {
        match &self.place {
            Place::Directory(root) => {
                let file = fs::File::open(path_of(root, key)).await?;
                Ok(tokio_util::io::ReaderStream::new(file).boxed())
            }
            Place::Bucket { store, prefix } => {
                let found = store
                    .get(&object_of(prefix, key))
                    .await
                    .map_err(std::io::Error::other)?;
                Ok(found.into_stream().map_err(std::io::Error::other).boxed())
            }
        }
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match &self.place {
            Place::Directory(root) => match fs::remove_file(path_of(root, key)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Place::Bucket { store, prefix } => match store.delete(&object_of(prefix, key)).await {
                Err(object_store::Error::NotFound { .. }) | Ok(()) => Ok(()),
                Err(e) => Err(std::io::Error::other(e)),
            },
        }
    }
}

fn s3(bucket: &Bucket) -> anyhow::Result<object_store::aws::AmazonS3> {
    // The AWS_* variables (and instance credentials) apply where ours are not set.
    // A store that does not answer fails an upload or download within about a minute, not
    // after the library's default of three minutes of retries.
    let retry = object_store::RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
        ..object_store::RetryConfig::default()
    };
    let client = object_store::ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(120));
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&bucket.name)
        .with_region(&bucket.region)
        .with_retry(retry)
        .with_client_options(client);
    if let Some(endpoint) = &bucket.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(id) = &bucket.access_key_id {
        builder = builder.with_access_key_id(id);
    }
    if let Some(secret) = &bucket.secret_access_key {
        builder = builder.with_secret_access_key(secret.expose_secret());
    }
    Ok(builder.build()?)
}

/// Keys are server-made hex strings; anything else never reaches the file system or the bucket.
fn is_key(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

fn path_of(root: &Path, key: &str) -> PathBuf {
    let key = if is_key(key) { key } else { "invalid" };
    root.join(&key[..2]).join(key)
}

fn object_of(prefix: &str, key: &str) -> ObjectPath {
    let key = if is_key(key) { key } else { "invalid" };
    if prefix.is_empty() {
        ObjectPath::from(key)
    } else {
        ObjectPath::from(format!("{prefix}/{key}"))
    }
}

fn age(modified: SystemTime) -> Duration {
    modified.elapsed().unwrap_or_default()
}

/// The files directly in `dir` with their modification times (none if it does not exist). A
/// file that goes meanwhile is simply not listed.
async fn files_in(dir: &Path) -> std::io::Result<Vec<(PathBuf, SystemTime)>> {
    let mut entries = match fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        if let (true, Ok(modified)) = (meta.is_file(), meta.modified()) {
            found.push((entry.path(), modified));
        }
    }
    Ok(found)
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

    #[test]
    fn only_server_made_keys_reach_the_file_system_or_the_bucket() {
        let root = Path::new("/data/attachments");
        assert_eq!(
            path_of(root, "0123456789abcdef0123456789abcdef"),
            Path::new("/data/attachments/01/0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            path_of(root, "../../etc/passwd"),
            Path::new("/data/attachments/in/invalid")
        );
        assert_eq!(
            object_of("portal/anlagen", "0123456789abcdef0123456789abcdef").as_ref(),
            "portal/anlagen/0123456789abcdef0123456789abcdef"
        );
        assert_eq!(object_of("", "../x").as_ref(), "invalid");
    }
}
