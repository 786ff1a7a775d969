//! The application state every handler receives.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::accounts::password::Hasher;
use crate::applications::store::FileStore;
use crate::config::Config;
use crate::mail::{Mailer, Outbox};
use crate::web::CookiePolicy;
use crate::web::assets::Assets;
use crate::web::metrics::HttpMetrics;
use crate::web::middleware::{DenialLog, KnownHosts};

/// Handlers and middleware that need only a part take it as `State<Part>` (`FromRef`), so the
/// web layer below does not know this type.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub cookies: CookiePolicy,
    pub assets: Arc<Assets>,
    pub mailer: Mailer,
    pub outbox: Outbox,
    pub passwords: Hasher,
    pub files: FileStore,
    pub scanner: crate::malware::Scanner,
    pub hosts: Arc<KnownHosts>,
    pub db_health: Arc<crate::database::Health>,
    pub secrets: crate::secrets::SecretBox,
    pub denials: Arc<DenialLog>,
    pub choices: Arc<crate::review::choices::ChoiceCache>,
    /// Requests by route and their latencies, for `METRICS_ADDR`.
    pub metrics: Arc<HttpMetrics>,
}

impl AppState {
    pub fn new(db: PgPool, config: Config, mailer: Mailer) -> anyhow::Result<Self> {
        let assets = Assets::scan(&config.static_dir)?;
        Ok(AppState {
            db,
            cookies: CookiePolicy::for_base_url(&config.base_url),
            assets: Arc::new(assets),
            outbox: Outbox::new(&config.base_url),
            files: FileStore::from_config(&config)?,
            scanner: config
                .clamd
                .clone()
                .map_or(crate::malware::Scanner::Off, crate::malware::Scanner::Clamd),
            hosts: Arc::new(KnownHosts::from_config(&config)),
            db_health: Arc::default(),
            denials: Arc::default(),
            choices: Arc::default(),
            metrics: Arc::default(),
            secrets: crate::secrets::SecretBox::from_config(&config)?,
            config: Arc::new(config),
            mailer,
            passwords: Hasher::new(),
        })
    }
}
