//! An S3 server for the object-store tests: s3s (a maintained implementation of the S3
//! protocol) over its file-system backend s3s-fs, served by hyper in this test process on a
//! scratch directory, with SigV4 authentication on. The portal talks to it as to any S3.

use std::path::{Path, PathBuf};

use foerderportal::config::{Bucket, Storage};
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub const ACCESS_KEY: &str = "foerderportal-test";
pub const SECRET_KEY: &str = "geheimer-test-schluessel-0123456789";
pub const BUCKET: &str = "foerderportal";
pub const PREFIX: &str = "anlagen";

pub struct S3Server {
    pub endpoint: String,
    /// The bucket's directory: objects are files under it.
    pub dir: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let root = std::env::temp_dir().join(format!("fp_s3_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let mut builder = S3ServiceBuilder::new(s3s_fs::FileSystem::new(&root).unwrap());
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        S3Server {
            endpoint,
            dir: root.join(BUCKET),
            task,
        }
    }

    /// The portal's configuration for this server.
    pub fn storage(&self) -> Storage {
        Storage::Bucket(Bucket {
            name: BUCKET.into(),
            prefix: PREFIX.into(),
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".into(),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
        })
    }

    /// The stored object of this key, as a file of the server.
    pub fn object(&self, key: &str) -> PathBuf {
        self.dir.join(PREFIX).join(key)
    }

    /// How many objects the bucket holds.
    pub fn objects(&self) -> usize {
        count_files(&self.dir)
    }
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| {
                let path = e.path();
                if path.is_dir() { count_files(&path) } else { 1 }
            })
            .sum()
    })
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(root) = self.dir.parent() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}
