//! The application state every handler receives.

use std::sync::Arc;

use sqlx::PgPool;

use crate::accounts::password::Hasher;
use crate::applications::files::FileStore;
use crate::config::Config;
use crate::mail::{Mailer, Outbox};
use crate::web::CookiePolicy;
use crate::web::middleware::{DenialLog, KnownHosts};

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub cookies: CookiePolicy,
    pub assets: Arc<Assets>,
    pub mailer: Mailer,
    pub outbox: Outbox,
    pub passwords: Hasher,
    pub files: FileStore,
    pub hosts: Arc<KnownHosts>,
    pub db_health: Arc<crate::database::Health>,
    pub secrets: crate::secrets::SecretBox,
    pub denials: Arc<DenialLog>,
    pub choices: Arc<crate::review::choices::ChoiceCache>,
}

impl AppState {
    pub fn new(db: PgPool, config: Config, mailer: Mailer) -> anyhow::Result<Self> {
        let assets = Assets::scan(&config.static_dir)?;
        Ok(AppState {
            db,
            cookies: CookiePolicy::for_base_url(&config.base_url),
            assets: Arc::new(assets),
            outbox: Outbox::new(&config.base_url),
            files: FileStore::local(&config.data_dir),
            hosts: Arc::new(KnownHosts::from_config(&config)),
            db_health: Arc::default(),
            denials: Arc::default(),
            choices: Arc::default(),
            secrets: crate::secrets::SecretBox::from_config(&config)?,
            config: Arc::new(config),
            mailer,
            passwords: Hasher::new(),
        })
    }
}

/// Static files are served under a path that contains a hash of their content, so browsers may
/// cache them for a year and still see a new stylesheet on the next release.
#[derive(Debug)]
pub struct Assets {
    pub version: String,
    pub stylesheet_href: String,
    pub script_href: String,
}

impl Assets {
    pub fn scan(dir: &std::path::Path) -> anyhow::Result<Self> {
        use std::hash::Hasher as _;
        let mut files: Vec<_> = walk(dir)?;
        files.sort();
        // FNV-1a: stable across Rust releases and builds, unlike std's DefaultHasher.
        let mut hash = Fnv(0xcbf29ce484222325);
        for path in &files {
            hash.write(
                path.strip_prefix(dir)
                    .unwrap_or(path)
                    .to_string_lossy()
                    .as_bytes(),
            );
            hash.write(&std::fs::read(path)?);
        }
        let version = format!("{:012x}", hash.finish() & 0xffff_ffff_ffff);
        Ok(Assets {
            stylesheet_href: format!("/static/{version}/app.css"),
            script_href: format!("/static/{version}/app.js"),
            version,
        })
    }
}

fn walk(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot read the static directory {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(walk(&path)?)
        } else {
            out.push(path)
        }
    }
    Ok(out)
}

struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x100000001b3);
        }
    }
}
