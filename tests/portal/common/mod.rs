//! The test harness: the real app on a random port with its own fresh PostgreSQL database, a
//! cookie-aware HTTP client that submits forms the way a browser does, HTML checks by CSS
//! selector, a real SMTP server and a headless browser.

#![allow(dead_code)]

pub mod browser;
pub mod relay;
pub mod s3;
pub mod smtp;

use std::sync::atomic::{AtomicUsize, Ordering};

use foerderportal::accounts::Role;
use foerderportal::accounts::password::Hasher;
use foerderportal::config::Config;
use foerderportal::database::{self, Server};
use foerderportal::demo::{self, DEMO_ACCOUNTS, DEMO_PASSWORD};
use foerderportal::mail::{Mailer, Message, Outbox, Recipient};
use foerderportal::state::AppState;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use scraper::{Html, Selector};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::{Mutex, OnceCell};
use tokio_util::sync::CancellationToken;

/// Every page an anonymous visitor can open; each must pass the shell and accessibility checks.
pub const PUBLIC_PAGES: [&str; 8] = [
    "/",
    "/foerderaufrufe",
    "/nachnutzung",
    "/offene-daten",
    "/impressum",
    "/datenschutz",
    "/barrierefreiheit",
    "/anmelden",
];

/// The PostgreSQL server the tests use: `DATABASE_URL`'s server if set, otherwise the same
/// discovery as `cargo run` (local server, or a private instance under ./var/postgres).
struct TestServer {
    server: Server,
    /// Prefix of this run's databases: `fp_test_<unix seconds>_<pid>_`.
    run: String,
    /// A migrated database with the demo data; every test copies it.
    template: String,
    /// How the portal connects to the template (its own role, see `database::APP_ROLE`); a
    /// copy is reached the same way.
    app_options: PgConnectOptions,
}

static SERVER: OnceCell<TestServer> = OnceCell::const_new();
/// CREATE DATABASE … TEMPLATE fails while another copy of the same template is in progress.
static CREATE_LOCK: Mutex<()> = Mutex::const_new(());
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Test databases older than this are leftovers of finished runs (each run takes minutes).
const LEFTOVER_AGE_SECS: u64 = 6 * 3600;

async fn test_server() -> &'static TestServer {
    SERVER
        .get_or_init(|| async {
            let var = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("var");
            let server = Server::from_env_or_local(&var)
                .await
                .expect("a PostgreSQL server for the tests");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            drop_leftover_databases(&server, now).await;
            let run = format!("fp_test_{now}_{}_", std::process::id());
            let template = format!("{run}template");
            // As in the local default setup: the owner migrates, the portal's role runs. A
            // server where we may not create roles gets one role for both.
            let app_options = match database::prepare_with_two_roles(&server, &template).await {
                Ok(options) => options,
                Err(e) => {
                    eprintln!("testing with a single database role: {e:#}");
                    database::ensure_database(&server, &template)
                        .await
                        .expect("create template database");
                    let options = server.options.clone().database(&template);
                    let pool = PgPool::connect_with(options.clone()).await.unwrap();
                    database::migrate(&pool)
                        .await
                        .expect("migrations apply to an empty database");
                    pool.close().await;
                    options
                }
            };
            let pool = PgPool::connect_with(app_options.clone()).await.unwrap();
            demo::load(&pool, &Hasher::new())
                .await
                .expect("demo data loads");
            pool.close().await;
            TestServer {
                server,
                run,
                template,
                app_options,
            }
        })
        .await
}

/// The PostgreSQL server the tests run on.
pub async fn test_postgres() -> &'static Server {
    &test_server().await.server
}

/// Drops test databases of runs that started long ago; never those of a run still going,
/// even on a server shared by several machines.
async fn drop_leftover_databases(server: &Server, now: u64) {
    let mut conn = PgConnection::connect_with(&server.options)
        .await
        .expect("connect to the test server");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'fp\\_test\\_%'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    for name in names {
        let started: u64 = name
            .split('_')
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if now.saturating_sub(started) > LEFTOVER_AGE_SECS {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

/// A name for a database that does not exist yet (cleaned up with the run's others).
pub async fn unused_database_name() -> String {
    format!(
        "{}{}",
        test_server().await.run,
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A fresh database with the migrations and demo data applied, reached as the portal reaches
/// it (its own database role).
pub async fn fresh_database() -> (PgConnectOptions, String) {
    let (_, name) = fresh_database_as_owner().await;
    let app = test_server().await.app_options.clone().database(&name);
    (app, name)
}

/// A fresh database, and the server's superuser options for it (schema changes, faults).
pub async fn fresh_database_as_owner() -> (PgConnectOptions, String) {
    let ts = test_server().await;
    let name = unused_database_name().await;
    let mut conn = PgConnection::connect_with(&ts.server.options)
        .await
        .unwrap();
    {
        let _guard = CREATE_LOCK.lock().await;
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{}\"", ts.template);
        sqlx::query(&sql)
            .execute(&mut conn)
            .await
            .expect("copy the template database");
    }
    (ts.server.options.clone().database(&name), name)
}

/// A loopback port free now, for a server the test starts (another process may take it
/// meanwhile; the servers started on it say so).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A system program a test needs (nginx, clamd, curl, …): its path, or None after a loud skip
/// message when it is not installed. With the variable `required_by` set to 1 (CI sets them) a
/// missing program fails the test instead.
pub fn system_tool(name: &str, required_by: &str) -> Option<std::path::PathBuf> {
    let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|dir| std::path::Path::new(dir).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        let required = std::env::var(required_by).is_ok_and(|v| v == "1");
        assert!(!required, "{required_by}=1 but {name} is not installed");
        // Not eprintln!: libtest captures that for passing tests, so the skip would go unseen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!! SKIPPING TEST: {name} is not installed !!!!!\n"
        );
    }
    found
}

pub struct TestApp {
    pub base_url: String,
    pub pool: PgPool,
    pub config: Config,
    /// The test database as the server's superuser reaches it (the CLI, schema changes).
    pub database_url_options: PgConnectOptions,
    pub stop: CancellationToken,
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
    scratch: std::path::PathBuf,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns the app after letting the test adjust the configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let (owner, name) = fresh_database_as_owner().await;
        let app = test_server().await.app_options.clone().database(&name);
        Self::spawn_on(app, owner, name, adjust).await
    }

    /// The app reaching its database through a relay that the test can cut, as if PostgreSQL
    /// went down (`TestApp::pool` goes through the relay too).
    pub async fn spawn_behind_relay(adjust: impl FnOnce(&mut Config)) -> (TestApp, relay::Relay) {
        let (owner, name) = fresh_database_as_owner().await;
        let app = test_server().await.app_options.clone().database(&name);
        let relay = relay::Relay::start(relay::Target::of_postgres(&app)).await;
        let through = PgConnectOptions::new()
            .host("127.0.0.1")
            .port(relay.port)
            .username(app.get_username())
            .database(&name);
        (Self::spawn_on(through, owner, name, adjust).await, relay)
    }

    /// `options` is how the app connects; `owner` the superuser's way in, for the CLI and for
    /// tests that change the schema.
    async fn spawn_on(
        options: PgConnectOptions,
        owner: PgConnectOptions,
        name: String,
        adjust: impl FnOnce(&mut Config),
    ) -> TestApp {
        let pool = database::connect(options.clone())
            .await
            .expect("connect to the test database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let scratch = std::env::temp_dir().join(&name);
        let mut config = Config::local_defaults();
        config.listen_addr = addr;
        config.base_url = format!("http://127.0.0.1:{}", addr.port());
        config.var_dir = scratch.clone();
        config.mail_dir = scratch.join("mail");
        config.data_dir = scratch.join("data");
        adjust(&mut config);
        // Metrics asked for: on a free port of loopback, bound before the server starts.
        let metrics = match config.metrics_addr {
            Some(_) => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                config.metrics_addr = Some(listener.local_addr().unwrap());
                Some(listener)
            }
            None => None,
        };
        let mailer = Mailer::from_config(&config).expect("mailer");
        let state = AppState::new(pool.clone(), config.clone(), mailer).expect("app state");
        let stop = CancellationToken::new();
        let server = tokio::spawn(foerderportal::server::serve_with_metrics(
            state,
            listener,
            metrics,
            stop.clone(),
        ));
        TestApp {
            base_url: format!("http://127.0.0.1:{}", addr.port()),
            pool,
            config,
            database_url_options: owner,
            stop,
            server,
            scratch,
        }
    }

    /// The app's state as the server has it (its pool and configuration), for code that runs
    /// the app's own router in process, such as the demo data.
    pub fn state(&self) -> AppState {
        let mailer = Mailer::from_config(&self.config).expect("mailer");
        AppState::new(self.pool.clone(), self.config.clone(), mailer).expect("app state")
    }

    /// The bytes of an issued document (a notice, a payment file) that `query` names by its id,
    /// read where the portal keeps them.
    pub async fn document(&self, query: &str, bind: i64) -> Vec<u8> {
        use futures_util::TryStreamExt;
        let id: i64 = sqlx::query_scalar(query)
            .bind(bind)
            .fetch_one(&self.pool)
            .await
            .expect("the document's id");
        let (key, content): (Option<String>, Option<Vec<u8>>) =
            sqlx::query_as("SELECT storage_key, content FROM stored_documents WHERE id = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await
                .expect("the document");
        if let Some(content) = content {
            return content;
        }
        let files = foerderportal::applications::store::FileStore::from_config(&self.config)
            .expect("the file store");
        let chunks: Vec<_> = files
            .open(&key.expect("a kept document"))
            .await
            .expect("the document's file")
            .try_collect()
            .await
            .expect("the document's bytes");
        chunks.concat()
    }

    /// A connection pool as the server's superuser, for tests that change the schema (which
    /// the portal's own role may not).
    pub async fn owner_pool(&self) -> PgPool {
        PgPool::connect_with(self.database_url_options.clone())
            .await
            .expect("connect as the owner")
    }

    /// The test database as a `DATABASE_URL`, for the CLI.
    pub fn database_url(&self) -> String {
        url_of(
            &self.database_url_options,
            self.database_url_options
                .get_database()
                .unwrap_or("postgres"),
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Puts a message into the outbox as failed for good ("550 mailbox unavailable"), the way
    /// the admin's Postausgang shows it; returns its id.
    pub async fn failed_message(&self, to: &Recipient, message: &Message) -> i64 {
        let mut tx = self.pool.begin().await.unwrap();
        let id = Outbox::new(&self.base_url)
            .enqueue(&mut tx, to, message)
            .await
            .unwrap();
        sqlx::query("UPDATE mail_outbox SET state = 'failed', attempts = 12, last_error = '550 mailbox unavailable' WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// An anonymous visitor with its own cookie jar.
    pub fn client(&self) -> Client {
        Client::new(&self.base_url)
    }

    /// A visitor signed in with the demo account of the role.
    pub async fn sign_in_as(&self, role: Role) -> Client {
        let account = DEMO_ACCOUNTS
            .iter()
            .find(|a| a.role == role)
            .expect("a demo account per role");
        let client = self.client();
        let response = client.sign_in(account.email, DEMO_PASSWORD).await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "demo login of {role} failed: {}",
            response.body
        );
        client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

pub struct Client {
    pub http: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    pub base_url: String,
}

impl Client {
    /// The same visitor (the same cookies, so the same session) at another address, such as
    /// another instance of the portal on this host.
    pub fn at(&self, base_url: &str) -> Client {
        Client {
            http: self.http.clone(),
            jar: self.jar.clone(),
            base_url: base_url.to_string(),
        }
    }

    /// An anonymous visitor of the portal at `base_url` (any instance, also one in its own
    /// process), with its own cookie jar.
    pub fn new(base_url: &str) -> Client {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Client {
            http,
            jar,
            base_url: base_url.to_string(),
        }
    }

    /// The cookies this client would send, as a Cookie header value.
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = self.base_url.parse().unwrap();
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> Page {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("GET");
        Page::from(response).await
    }

    /// Posts raw fields, exactly as given (no token added).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .form(fields)
            .send()
            .await
            .expect("POST");
        Page::from(response).await
    }

    /// Posts the fields with this client's valid form token, as a forged form from a page of
    /// the portal would: what stops such a request must be the authorisation, not the token.
    pub async fn post_with_token(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self
            .get("/anmelden")
            .await
            .attr("input[name=csrf_token]", "value")
            .expect("a form token");
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Opens `page_path`, fills the form matched by `form` (keeping its hidden fields such as
    /// the CSRF token) with `fields`, and submits it to the form's action.
    pub async fn submit(&self, page_path: &str, form: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{page_path} did not load");
        self.submit_from(&page, page_path, form, fields).await
    }

    /// Submits a form of a page already loaded (whose hidden fields must be the ones sent).
    pub async fn submit_from(
        &self,
        page: &Page,
        page_path: &str,
        form: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        let (action, mut values) = page.form(form);
        for (k, v) in fields {
            values.insert(k.to_string(), v.to_string());
        }
        let action = if action.is_empty() {
            page_path.to_string()
        } else {
            action
        };
        let response = self
            .http
            .post(format!("{}{action}", self.base_url))
            .form(&values)
            .send()
            .await
            .expect("POST");
        Page::from(response).await
    }

    /// GETs a file (a PDF, a CSV): its status and bytes as sent.
    pub async fn download(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .expect("GET");
        let status = response.status();
        (status, response.bytes().await.expect("a body").to_vec())
    }

    /// Follows a redirect the way a browser does (with the cookies it set).
    pub async fn follow(&self, redirect: &Page) -> Page {
        assert_eq!(
            redirect.status,
            StatusCode::SEE_OTHER,
            "not a redirect: {}",
            redirect.body
        );
        self.get(redirect.location().expect("a Location header"))
            .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.submit(
            "/anmelden",
            "form[action='/anmelden']",
            &[("email", email), ("password", password)],
        )
        .await
    }
}

/// A response with its body, and HTML checks by CSS selector.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub async fn from(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// Why the POST was refused, when it redirected with a refusal for the next page to show
    /// (POST-redirect-GET after refusals); `None` for a success.
    pub fn refusal(&self) -> Option<String> {
        use base64::Engine;
        let value = self
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.split(';').next()?.split_once("fp_flash="))?
            .1;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (_field, message) = text.strip_prefix('\u{1}')?.split_once('\u{1}')?;
        Some(message.to_string())
    }

    /// Whitespace-normalised text of every element matching the selector.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let html = Html::parse_document(&self.body);
        let sel =
            Selector::parse(selector).unwrap_or_else(|e| panic!("bad selector {selector}: {e}"));
        html.select(&sel)
            .map(|e| {
                e.text()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// Text of the only element matching the selector.
    pub fn text(&self, selector: &str) -> String {
        let texts = self.texts(selector);
        assert_eq!(
            texts.len(),
            1,
            "expected one {selector}, found {}: {texts:?}",
            texts.len()
        );
        texts.into_iter().next().unwrap()
    }

    pub fn count(&self, selector: &str) -> usize {
        self.texts(selector).len()
    }

    pub fn attr(&self, selector: &str, attr: &str) -> Option<String> {
        let html = Html::parse_document(&self.body);
        let sel = Selector::parse(selector).unwrap();
        html.select(&sel)
            .next()
            .and_then(|e| e.value().attr(attr).map(str::to_string))
    }

    /// The attribute of every element matching the selector that has it.
    pub fn attrs(&self, selector: &str, attr: &str) -> Vec<String> {
        let html = Html::parse_document(&self.body);
        let sel = Selector::parse(selector).unwrap();
        html.select(&sel)
            .filter_map(|e| e.value().attr(attr).map(str::to_string))
            .collect()
    }

    /// A form's action and its current field values (inputs with a name).
    pub fn form(&self, selector: &str) -> (String, FormFields) {
        let html = Html::parse_document(&self.body);
        let sel = Selector::parse(selector).unwrap();
        let form = html
            .select(&sel)
            .next()
            .unwrap_or_else(|| panic!("no form {selector} on the page"));
        // What a browser would send: ticked boxes only, the chosen option, a textarea's text.
        let inputs = Selector::parse("input[name], textarea[name], select[name]").unwrap();
        let options = Selector::parse("option").unwrap();
        let values = form
            .select(&inputs)
            .filter_map(|field| {
                let element = field.value();
                let name = element.attr("name")?.to_string();
                let value = match element.name() {
                    "textarea" => field.text().collect::<String>(),
                    "select" => {
                        let mut all = field.select(&options);
                        let chosen = field
                            .select(&options)
                            .find(|o| o.value().attr("selected").is_some());
                        chosen
                            .or_else(|| all.next())
                            .and_then(|o| o.value().attr("value"))
                            .unwrap_or("")
                            .to_string()
                    }
                    _ if matches!(element.attr("type"), Some("checkbox" | "radio")) => {
                        element.attr("checked")?;
                        element.attr("value").unwrap_or("on").to_string()
                    }
                    _ => element.attr("value").unwrap_or("").to_string(),
                };
                Some((name, value))
            })
            .collect();
        let values = FormFields(values);
        (
            form.value().attr("action").unwrap_or("").to_string(),
            values,
        )
    }
}

/// A form's fields in document order, as a browser sends them: a name may come several times
/// (ticked checkboxes of one group).
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(transparent)]
pub struct FormFields(pub Vec<(String, String)>);

impl FormFields {
    /// Sets a field, replacing every value it had.
    pub fn insert(&mut self, name: String, value: String) {
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value));
    }
}

/// The absolute link to `path` (with its query) in the plain-text part of a received e-mail.
pub fn link_in(mail: &smtp::Received, path: &str) -> String {
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.data.as_bytes())
        .expect("a parsable e-mail");
    let text = parsed.body_text(0).expect("a text part").to_string();
    text.split_whitespace()
        .find(|word| word.starts_with("http") && word.contains(path))
        .unwrap_or_else(|| panic!("no link to {path} in:\n{text}"))
        .to_string()
}

/// The path and query of an absolute link, to open it with a test client.
pub fn path_of(link: &str) -> String {
    let after_scheme = link.split_once("://").map_or(link, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or_else(|| "/".into(), |i| after_scheme[i..].to_string())
}

/// Stops a private instance even when the test fails half-way.
pub struct StopOnDrop(pub std::path::PathBuf);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let pg_ctl = std::process::Command::new("sh")
                .arg("-c")
                .arg("ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            let _ = std::process::Command::new("runuser")
                .args(["-u", "postgres", "--", &pg_ctl, "-D"])
                .arg(&self.0)
                .args(["-m", "immediate", "stop"])
                .status();
        }
    }
}

pub use foerderportal::database::url_of;

/// Runs the futures at once (in this task) and returns their outputs in order: parallel
/// requests of one client, for the race tests.
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// The constraint that refused a statement (`None` if it went through or failed otherwise).
pub fn refused_by<T>(result: Result<T, sqlx::Error>) -> Option<String> {
    result
        .err()?
        .as_database_error()
        .and_then(|e| e.constraint())
        .map(str::to_string)
}
