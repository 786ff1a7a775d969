//! Typed configuration, read once from the environment (and `.env`). Every variable is documented
//! in `.env.example` and the README; the defaults are the local development setup.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

// Connection URLs carry passwords and the keys seal secrets: they print as [REDACTED] in Debug
// output (logs, panics) and are read with `expose_secret()` where they are used.
use secrecy::SecretString;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `None` is the local default: find or start a PostgreSQL server on this machine.
    pub database_url: Option<SecretString>,
    /// The owner of the tables, for migrations; unset: `database_url`'s role migrates too.
    pub migration_database_url: Option<SecretString>,
    pub listen_addr: SocketAddr,
    /// Where `/metrics` (Prometheus) is served; `None`: not at all.
    pub metrics_addr: Option<SocketAddr>,
    /// The address users reach the portal at; links in e-mails are built from it.
    pub base_url: String,
    /// `None`: mails are written as `.eml` files into `mail_dir`.
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
    pub mail_dir: PathBuf,
    /// Uploaded attachments, outside the web root.
    pub data_dir: PathBuf,
    /// Local state of the default setup (private PostgreSQL instance, mails, uploads).
    pub var_dir: PathBuf,
    pub static_dir: PathBuf,
    pub log_format: LogFormat,
    pub session_idle_timeout: Duration,
    pub session_max_lifetime: Duration,
    pub request_timeout: Duration,
    /// A connection whose request headers take longer is closed (also idle keep-alive ones).
    pub header_timeout: Duration,
    /// Open client connections at most (further lowered to fit the open-file limit).
    pub max_connections: usize,
    /// Largest accepted request body for ordinary forms.
    pub body_limit_bytes: usize,
    /// Largest request body at all (file uploads); follows from the attachment limit.
    pub upload_limit_bytes: usize,
    /// Largest single attachment file.
    pub attachment_max_bytes: u64,
    /// All attachments of one application together.
    pub application_files_max_bytes: u64,
    pub mail: MailSettings,
    /// Reviewer and admin accounts must use a second factor (TOTP) before ministry pages.
    pub require_second_factor: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the real client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Host names (with port where not the default) answered besides `BASE_URL`'s and loopback.
    pub allowed_hosts: Vec<String>,
    /// Seals second-factor keys at rest (`None`: the local default keeps one in `$VAR_DIR`).
    pub secret_key: Option<SecretString>,
    /// Earlier keys, still accepted for opening until everything is sealed anew.
    pub secret_key_previous: Vec<SecretString>,
    /// ClamAV's daemon, which scans every upload (`None`: uploads are not scanned).
    pub clamd: Option<crate::malware::ClamdAddress>,
    /// Where uploaded files are kept.
    pub storage: Storage,
}

/// Where uploaded files are kept (`STORAGE_URL`).
#[derive(Clone, Debug, Default)]
pub enum Storage {
    /// `DATA_DIR/attachments` (the default).
    #[default]
    Directory,
    /// An S3-compatible object store.
    Bucket(Bucket),
}

#[derive(Clone, Debug)]
pub struct Bucket {
    pub name: String,
    /// Keys go under this prefix (no leading or trailing slash; may be empty).
    pub prefix: String,
    /// `S3_ENDPOINT`, e.g. `https://s3.example.org`; unset: AWS.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
}

impl Bucket {
    /// `s3://bucket/prefix`
    fn parse(url: &str) -> Option<Bucket> {
        let rest = url.strip_prefix("s3://")?;
        let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        valid.then(|| Bucket {
            name: name.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
        })
    }
}

/// How the mail worker retries and how long it keeps sent messages.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// Delay before the first retry; it doubles with every further attempt.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// After this many attempts a message is marked failed.
    pub max_attempts: i32,
    /// Sent messages are deleted after this long.
    pub retention: Duration,
    /// A claimed message belongs to its worker this long. A send is cut off after half of it
    /// at the latest, so a slow server cannot make two workers send the same message.
    pub lease: Duration,
    /// One delivery as a whole: connecting, the server's greeting and the exchange. A server
    /// that accepts and never answers costs one message this long, not the queue.
    pub max_send_time: Duration,
}

impl MailSettings {
    /// How long one delivery may take before it counts as failed (and is retried).
    pub fn send_timeout(&self) -> Duration {
        self.max_send_time.min(self.lease / 2)
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            retry_base: Duration::from_secs(60),
            retry_max: Duration::from_secs(6 * 3600),
            max_attempts: 12,
            retention: Duration::from_secs(90 * 24 * 3600),
            lease: Duration::from_secs(600),
            max_send_time: Duration::from_secs(30),
        }
    }
}

const MB: u64 = 1024 * 1024;

/// The largest request body: an attachment (or the 10 MB directory import) plus a margin, so a
/// file somewhat over the limit is still read and answered beside its field; anything larger is
/// refused at the door with 413.
pub fn upload_limit(attachment_max_bytes: u64) -> usize {
    let largest_file = attachment_max_bytes.max(10 * MB);
    usize::try_from(largest_file + MB).unwrap_or(usize::MAX)
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {name}={value:?}: {reason}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    reason: String,
}

impl Config {
    /// The defaults of a local checkout, before the environment is consulted.
    pub fn local_defaults() -> Self {
        let var_dir = PathBuf::from("var");
        Config {
            database_url: None,
            migration_database_url: None,
            listen_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            metrics_addr: None,
            base_url: "http://localhost:8080".into(),
            smtp_url: None,
            mail_from: "Förderportal Thüringen <noreply@foerderportal.localhost>".into(),
            mail_dir: var_dir.join("mail"),
            data_dir: var_dir.join("data"),
            static_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static")),
            var_dir,
            log_format: LogFormat::Human,
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_max_lifetime: Duration::from_secs(12 * 3600),
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            body_limit_bytes: 2 * 1024 * 1024,
            upload_limit_bytes: upload_limit(20 * MB),
            attachment_max_bytes: 20 * MB,
            application_files_max_bytes: 100 * MB,
            mail: MailSettings::default(),
            // A developer's checkout; from_lookup turns it on everywhere else.
            require_second_factor: false,
            trusted_proxies: Vec::new(),
            allowed_hosts: Vec::new(),
            secret_key: None,
            secret_key_previous: Vec::new(),
            clamd: None,
            storage: Storage::Directory,
        }
    }

    /// Reads `.env` (if present) and the environment. Variables in the environment win over `.env`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut c = Self::local_defaults();
        let secret = |name: &str| get(name).map(SecretString::from);
        c.database_url = secret("DATABASE_URL");
        c.migration_database_url = secret("MIGRATION_DATABASE_URL");
        c.smtp_url = secret("SMTP_URL");
        c.secret_key = secret("SECRET_KEY");
        if let Some(v) = get("SECRET_KEY_PREVIOUS") {
            c.secret_key_previous = v
                .split(',')
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .map(SecretString::from)
                .collect();
        }
        c.read_server(&get)?;
        c.read_paths(&get);
        c.read_storage(&get)?;
        c.read_limits(&get)?;
        c.read_access(&get)?;
        c.read_mail(&get)?;
        Ok(c)
    }

    /// Where the portal listens, is reached and logs.
    fn read_server(&mut self, get: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("LISTEN_ADDR") {
            self.listen_addr = parse("LISTEN_ADDR", &v, "expected host:port, e.g. 127.0.0.1:8080")?;
        }
        if let Some(v) = get("METRICS_ADDR") {
            self.metrics_addr = Some(parse(
                "METRICS_ADDR",
                &v,
                "expected host:port, e.g. 127.0.0.1:9100",
            )?);
        }
        self.base_url = match get("BASE_URL") {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                v.trim_end_matches('/').to_string()
            }
            Some(v) => {
                return Err(invalid(
                    "BASE_URL",
                    &v,
                    "must start with http:// or https://",
                ));
            }
            None => format!("http://localhost:{}", self.listen_addr.port()),
        };
        if let Some(v) = get("LOG_FORMAT") {
            self.log_format = match v.to_ascii_lowercase().as_str() {
                "human" | "text" => LogFormat::Human,
                "json" => LogFormat::Json,
                _ => return Err(invalid("LOG_FORMAT", &v, "expected human or json")),
            };
        }
        Ok(())
    }

    fn read_paths(&mut self, get: &impl Fn(&str) -> Option<String>) {
        if let Some(v) = get("VAR_DIR") {
            self.var_dir = PathBuf::from(v);
            self.mail_dir = self.var_dir.join("mail");
            self.data_dir = self.var_dir.join("data");
        }
        if let Some(v) = get("MAIL_DIR") {
            self.mail_dir = PathBuf::from(v);
        }
        if let Some(v) = get("DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("STATIC_DIR") {
            self.static_dir = PathBuf::from(v);
        }
    }

    /// `STORAGE_URL` and the object store's endpoint and credentials.
    fn read_storage(&mut self, get: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let Some(url) = get("STORAGE_URL") else {
            return Ok(());
        };
        if url == "local" {
            return Ok(());
        }
        let mut bucket = Bucket::parse(&url).ok_or_else(|| {
            invalid(
                "STORAGE_URL",
                &url,
                "expected s3://bucket/prefix (or local for DATA_DIR)",
            )
        })?;
        if let Some(endpoint) = get("S3_ENDPOINT") {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(invalid(
                    "S3_ENDPOINT",
                    &endpoint,
                    "must start with http:// or https://",
                ));
            }
            bucket.endpoint = Some(endpoint.trim_end_matches('/').to_string());
        }
        if let Some(region) = get("S3_REGION") {
            bucket.region = region;
        }
        bucket.access_key_id = get("S3_ACCESS_KEY_ID");
        bucket.secret_access_key = get("S3_SECRET_ACCESS_KEY").map(SecretString::from);
        self.storage = Storage::Bucket(bucket);
        Ok(())
    }

    /// Timeouts, session lifetimes, connections and upload sizes.
    fn read_limits(&mut self, get: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(d) = duration(get, "SESSION_IDLE_MINUTES", 60)? {
            self.session_idle_timeout = d;
        }
        if let Some(d) = duration(get, "SESSION_MAX_HOURS", 3600)? {
            self.session_max_lifetime = d;
        }
        if let Some(d) = duration(get, "REQUEST_TIMEOUT_SECS", 1)? {
            self.request_timeout = d;
        }
        if let Some(d) = duration(get, "HEADER_TIMEOUT_SECS", 1)? {
            self.header_timeout = d;
        }
        if let Some(v) = get("MAX_CONNECTIONS") {
            self.max_connections = usize::try_from(positive("MAX_CONNECTIONS", &v)?)
                .map_err(|_| invalid("MAX_CONNECTIONS", &v, "too large"))?;
        }
        if let Some(v) = get("ATTACHMENT_MAX_MB") {
            self.attachment_max_bytes = positive("ATTACHMENT_MAX_MB", &v)? * MB;
        }
        if let Some(v) = get("APPLICATION_FILES_MAX_MB") {
            self.application_files_max_bytes = positive("APPLICATION_FILES_MAX_MB", &v)? * MB;
        }
        self.upload_limit_bytes = upload_limit(self.attachment_max_bytes);
        Ok(())
    }

    /// The second factor, reverse proxies and the host names answered.
    fn read_access(&mut self, get: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        self.require_second_factor = match get("REQUIRE_SECOND_FACTOR") {
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => {
                    return Err(invalid(
                        "REQUIRE_SECOND_FACTOR",
                        &v,
                        "expected true or false",
                    ));
                }
            },
            // On by default; off only in the local demo setup, so a newcomer can look around.
            None => !self.may_load_demo_data_automatically(),
        };
        if let Some(v) = get("TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(|ip| ip.trim().parse())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    invalid(
                        "TRUSTED_PROXIES",
                        &v,
                        "expected IP addresses separated by commas",
                    )
                })?;
        }
        if let Some(v) = get("CLAMD_SOCKET") {
            self.clamd = Some(crate::malware::ClamdAddress::parse(&v).ok_or_else(|| {
                invalid(
                    "CLAMD_SOCKET",
                    &v,
                    "expected a socket path (/run/clamav/clamd.ctl) or tcp://host:port",
                )
            })?);
        }
        if let Some(v) = get("ALLOWED_HOSTS") {
            self.allowed_hosts = v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
        }
        Ok(())
    }

    fn read_mail(&mut self, get: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("MAIL_FROM") {
            self.mail_from = v;
        }
        if let Some(d) = duration(get, "MAIL_RETRY_BASE_SECS", 1)? {
            self.mail.retry_base = d;
        }
        if let Some(d) = duration(get, "MAIL_RETRY_MAX_SECS", 1)? {
            self.mail.retry_max = d;
        }
        if let Some(v) = get("MAIL_MAX_ATTEMPTS") {
            let n = positive("MAIL_MAX_ATTEMPTS", &v)?;
            self.mail.max_attempts =
                i32::try_from(n).map_err(|_| invalid("MAIL_MAX_ATTEMPTS", &v, "too large"))?;
        }
        if let Some(d) = duration(get, "MAIL_SEND_TIMEOUT_SECS", 1)? {
            self.mail.max_send_time = d;
        }
        if let Some(d) = duration(get, "MAIL_RETENTION_DAYS", 24 * 3600)? {
            self.mail.retention = d;
        }
        Ok(())
    }

    /// Whether the operator chose the database. Only the local default may receive demo data
    /// automatically.
    pub fn is_local_default(&self) -> bool {
        self.database_url.is_none()
    }

    /// Demo accounts have a published password: they are loaded automatically only into the
    /// local default database of a portal that listens on loopback over plain http, i.e. a
    /// developer's machine, never into a deployment that merely forgot DATABASE_URL.
    pub fn may_load_demo_data_automatically(&self) -> bool {
        self.is_local_default() && self.listen_addr.ip().is_loopback() && !self.uses_https()
    }

    pub fn uses_https(&self) -> bool {
        self.base_url.starts_with("https://")
    }
}

/// A positive whole number of `unit_secs` seconds (minutes: 60), if the variable is set.
fn duration(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    unit_secs: u64,
) -> Result<Option<Duration>, ConfigError> {
    get(name)
        .map(|v| positive(name, &v).map(|n| Duration::from_secs(n * unit_secs)))
        .transpose()
}

fn parse<T: std::str::FromStr>(
    name: &'static str,
    value: &str,
    reason: &str,
) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, reason))
}

fn positive(name: &'static str, value: &str) -> Result<u64, ConfigError> {
    match parse(name, value, "expected a positive whole number")? {
        0 => Err(invalid(name, value, "must be at least 1")),
        n => Ok(n),
    }
}

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError {
        name,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn passwords_and_keys_never_appear_in_debug_output() {
        let c = config(&[
            ("DATABASE_URL", "postgres://app:db-pass-1@db.example/fp"),
            ("SMTP_URL", "smtps://mailer:smtp-pass-2@mail.example:465"),
            ("SECRET_KEY", "key-3"),
            ("SECRET_KEY_PREVIOUS", "key-4"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        for secret in ["db-pass-1", "smtp-pass-2", "key-3", "key-4"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert_eq!(
            c.database_url.as_ref().map(ExposeSecret::expose_secret),
            Some("postgres://app:db-pass-1@db.example/fp")
        );
    }

    #[test]
    fn nothing_configured_means_the_local_default_setup() {
        let c = config(&[]).unwrap();
        assert!(c.is_local_default());
        assert_eq!(c.base_url, "http://localhost:8080");
        assert_eq!(c.mail_dir, PathBuf::from("var/mail"));
        assert_eq!(c.log_format, LogFormat::Human);
        assert_eq!(c.metrics_addr, None, "no metrics unless asked for");
    }

    #[test]
    fn the_base_url_follows_the_listen_port_unless_set() {
        let c = config(&[("LISTEN_ADDR", "0.0.0.0:3000")]).unwrap();
        assert_eq!(c.base_url, "http://localhost:3000");
        let c = config(&[("BASE_URL", "https://foerderportal.thueringen.de/")]).unwrap();
        assert_eq!(c.base_url, "https://foerderportal.thueringen.de");
        assert!(c.uses_https());
    }

    #[test]
    fn demo_data_is_automatic_only_on_a_developer_machine() {
        assert!(config(&[]).unwrap().may_load_demo_data_automatically());
        let chosen = config(&[("DATABASE_URL", "postgres://db/portal")]).unwrap();
        assert!(!chosen.is_local_default());
        assert!(!chosen.may_load_demo_data_automatically());
        let public = config(&[("LISTEN_ADDR", "0.0.0.0:8080")]).unwrap();
        assert!(!public.may_load_demo_data_automatically());
        let https = config(&[("BASE_URL", "https://foerderportal.thueringen.de")]).unwrap();
        assert!(!https.may_load_demo_data_automatically());
    }

    #[test]
    fn the_second_factor_is_required_except_in_the_local_demo_setup() {
        assert!(!config(&[]).unwrap().require_second_factor);
        assert!(
            config(&[("DATABASE_URL", "postgres://db/portal")])
                .unwrap()
                .require_second_factor
        );
        assert!(
            config(&[("REQUIRE_SECOND_FACTOR", "true")])
                .unwrap()
                .require_second_factor
        );
        let off = config(&[
            ("DATABASE_URL", "postgres://db/portal"),
            ("REQUIRE_SECOND_FACTOR", "false"),
        ])
        .unwrap();
        assert!(!off.require_second_factor);
        assert!(config(&[("REQUIRE_SECOND_FACTOR", "vielleicht")]).is_err());
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_named() {
        let err = config(&[("LOG_FORMAT", "xml")]).unwrap_err().to_string();
        assert!(err.contains("LOG_FORMAT"), "{err}");
        assert!(config(&[("LISTEN_ADDR", "localhost")]).is_err());
        assert!(config(&[("METRICS_ADDR", "9100")]).is_err());
        assert!(config(&[("BASE_URL", "foerderportal.de")]).is_err());
        assert!(config(&[("SESSION_IDLE_MINUTES", "0")]).is_err());
        assert!(config(&[("REQUEST_TIMEOUT_SECS", "0")]).is_err());
    }
}
