//! Backup and restore of everything the portal keeps: the database (`pg_dump` in its custom
//! format) and every stored file (from the directory or the bucket, whichever `STORAGE_URL`
//! names), into one directory with a manifest of the files' sizes and SHA-256 sums. A restore
//! goes into an empty database and any store (another bucket, a directory), checks every file
//! against the manifest, and leaves the portal ready to start on them.
//!
//! The database is dumped first, the files copied after: a file uploaded in between is copied
//! though no record names it (the sweep of unnamed files removes it after the restore); a file
//! deleted in between is missing from the copy, which is reported.

use std::path::Path;
use std::process::Stdio;

use anyhow::Context;
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::applications::store::FileStore;
use crate::config::Config;

const DUMP: &str = "database.dump";
const FILES: &str = "files";
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub created_at: String,
    pub database: String,
    pub files: Vec<StoredFile>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StoredFile {
    pub key: String,
    pub size_bytes: u64,
    pub sha256: String,
}

/// What a backup or restore did.
#[derive(Debug)]
pub struct Report {
    pub files: usize,
    pub bytes: u64,
    pub database_bytes: u64,
}

/// The database to dump or restore: the owner's URL (it reads and creates everything).
fn owner_url(config: &Config) -> anyhow::Result<&SecretString> {
    config
        .migration_database_url
        .as_ref()
        .or(config.database_url.as_ref())
        .context("backup and restore need DATABASE_URL (or MIGRATION_DATABASE_URL) to be set")
}

/// libpq's environment for a PostgreSQL URL, so that no password shows in a process list.
fn libpq_env(url: &SecretString) -> anyhow::Result<Vec<(&'static str, String)>> {
    let parsed = url::Url::parse(url.expose_secret()).context("not a PostgreSQL URL")?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let mut env = vec![
        (
            "PGHOST",
            parsed.host_str().unwrap_or("localhost").to_string(),
        ),
        ("PGPORT", parsed.port().unwrap_or(5432).to_string()),
        ("PGDATABASE", decode(parsed.path().trim_start_matches('/'))),
    ];
    if !parsed.username().is_empty() {
        env.push(("PGUSER", decode(parsed.username())));
    }
    if let Some(password) = parsed.password() {
        env.push(("PGPASSWORD", decode(password)));
    }
    for (name, value) in parsed.query_pairs() {
        let variable = match name.as_ref() {
            "sslmode" => "PGSSLMODE",
            "sslrootcert" => "PGSSLROOTCERT",
            "sslcert" => "PGSSLCERT",
            "sslkey" => "PGSSLKEY",
            "host" => "PGHOST",
            "user" => "PGUSER",
            "dbname" => "PGDATABASE",
            _ => continue,
        };
        env.push((variable, value.into_owned()));
    }
    Ok(env)
}

async fn run(program: &str, args: &[&str], env: &[(&'static str, String)]) -> anyhow::Result<()> {
    let output = tokio::process::Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("cannot run {program} (Debian: postgresql-client)"))?;
    anyhow::ensure!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

/// Backs up the database and every stored file into `dir` (created; must be empty).
pub async fn backup(config: &Config, dir: &Path) -> anyhow::Result<Report> {
    tokio::fs::create_dir_all(dir.join(FILES)).await?;
    anyhow::ensure!(
        !dir.join(MANIFEST).exists(),
        "{} already holds a backup",
        dir.display()
    );
    let env = libpq_env(owner_url(config)?)?;
    let dump = dir.join(DUMP);
    let dump_arg = dump.to_string_lossy().to_string();
    run(
        "pg_dump",
        &["--format=custom", "--no-owner", "--file", &dump_arg],
        &env,
    )
    .await?;
    let store = FileStore::from_config(config)?;
    let mut files = Vec::new();
    let mut bytes = 0;
    for key in store.keys_older_than(std::time::Duration::ZERO).await? {
        let target = dir.join(FILES).join(&key);
        let file = match copy_out(&store, &key, &target).await {
            Ok(file) => file,
            // Deleted since it was listed.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("copying the stored file {key}")),
        };
        bytes += file.size_bytes;
        files.push(file);
    }
    let manifest = Manifest {
        created_at: jiff::Timestamp::now().to_string(),
        database: DUMP.into(),
        files,
    };
    tokio::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?).await?;
    Ok(Report {
        files: manifest.files.len(),
        bytes,
        database_bytes: tokio::fs::metadata(&dump).await?.len(),
    })
}

async fn copy_out(store: &FileStore, key: &str, target: &Path) -> std::io::Result<StoredFile> {
    let mut stream = store.open(key).await?;
    let mut out = tokio::fs::File::create(target).await?;
    let (mut size, mut hasher) = (0u64, Sha256::new());
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
        out.write_all(&chunk).await?;
    }
    out.sync_all().await?;
    Ok(StoredFile {
        key: key.to_string(),
        size_bytes: size,
        sha256: hex(&hasher.finalize()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Restores the backup in `dir` into the configured database, which must be empty (created if
/// missing), and the configured file store. Every file is checked against the manifest first.
pub async fn restore(config: &Config, dir: &Path) -> anyhow::Result<Report> {
    let manifest: Manifest = serde_json::from_slice(
        &tokio::fs::read(dir.join(MANIFEST))
            .await
            .with_context(|| format!("{} holds no backup (no {MANIFEST})", dir.display()))?,
    )?;
    for file in &manifest.files {
        verify(&dir.join(FILES).join(&file.key), file).await?;
    }
    let url = owner_url(config)?;
    ensure_empty_database(url).await?;
    let env = libpq_env(url)?;
    let dump = dir.join(&manifest.database).to_string_lossy().to_string();
    run(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            &env_value(&env, "PGDATABASE"),
            &dump,
        ],
        &env,
    )
    .await?;
    let store = FileStore::from_config(config)?;
    let mut bytes = 0;
    for file in &manifest.files {
        store
            .put(&file.key, &dir.join(FILES).join(&file.key))
            .await
            .with_context(|| format!("restoring the stored file {}", file.key))?;
        bytes += file.size_bytes;
    }
    Ok(Report {
        files: manifest.files.len(),
        bytes,
        database_bytes: tokio::fs::metadata(dir.join(&manifest.database))
            .await?
            .len(),
    })
}

fn env_value(env: &[(&'static str, String)], name: &str) -> String {
    env.iter()
        .rev()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn verify(path: &Path, expected: &StoredFile) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("the backup lacks the file {}", expected.key))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    loop {
        let n = tokio::io::AsyncReadExt::read(&mut file, &mut buffer).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    anyhow::ensure!(
        hex(&hasher.finalize()) == expected.sha256,
        "the file {} in the backup is damaged (its SHA-256 differs from the manifest)",
        expected.key
    );
    Ok(())
}

/// Creates the database if it is missing; refuses one that already holds the portal's tables.
async fn ensure_empty_database(url: &SecretString) -> anyhow::Result<()> {
    use sqlx::{ConnectOptions, Connection};
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url.expose_secret())?;
    crate::database::create_if_missing(&options).await?;
    let mut conn = options.connect().await?;
    let tables = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM information_schema.tables WHERE table_schema = 'public'"#
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    anyhow::ensure!(
        tables == 0,
        "the database to restore into is not empty ({tables} tables); restore into a new one"
    );
    Ok(())
}
