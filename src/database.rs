//! Finding the database: the configured `DATABASE_URL`, or in the local default setup a PostgreSQL
//! server on this machine, or else a private instance under `./var/postgres` started from the
//! machine's PostgreSQL binaries. Also migrations and the readiness check. Nothing here ever drops
//! or overwrites data.

use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::config::Config;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The database name of the local default setup.
pub const LOCAL_DATABASE: &str = "foerderportal";

/// A PostgreSQL server we may create databases on; `options` name its `postgres` database.
#[derive(Clone, Debug)]
pub struct Server {
    pub options: PgConnectOptions,
    /// The data directory of a private instance that this call started (and so should stop).
    pub started_instance: Option<PathBuf>,
    pub description: String,
}

impl Server {
    fn of(options: PgConnectOptions, description: impl Into<String>) -> Self {
        Server {
            options: options.database("postgres"),
            started_instance: None,
            description: description.into(),
        }
    }

    /// For tools that make their own databases (tests, benchmarks): the server of
    /// `DATABASE_URL` if set, otherwise [`local_server`].
    pub async fn from_env_or_local(var_dir: &Path) -> anyhow::Result<Server> {
        match std::env::var("DATABASE_URL") {
            Ok(url) => {
                let options = url.parse::<PgConnectOptions>().context("DATABASE_URL")?;
                Ok(Server::of(options, "DATABASE_URL"))
            }
            Err(_) => local_server(var_dir).await,
        }
    }

    /// A `DATABASE_URL` for database `name` on this server (TCP or Unix socket).
    pub fn url_of(&self, name: &str) -> String {
        url_of(&self.options, name)
    }
}

/// A `DATABASE_URL` for database `name` on the server of `options`.
pub fn url_of(options: &PgConnectOptions, name: &str) -> String {
    match options.get_socket() {
        Some(dir) => format!(
            "postgresql:///{name}?host={}&port={}&user=postgres",
            dir.display(),
            options.get_port()
        ),
        None => format!(
            "postgresql://postgres@{}:{}/{name}",
            options.get_host(),
            options.get_port()
        ),
    }
}

/// The portal's database, open and migrated.
pub struct Database {
    pub pool: PgPool,
    /// The server, when the local default setup found or started it.
    pub server: Option<Server>,
}

impl Database {
    /// Finds (or creates) the database the configuration names, migrates it as the owner of
    /// its tables and connects as the portal's own role (see [`OWNER_ROLE`], [`APP_ROLE`]).
    pub async fn open(config: &Config) -> anyhow::Result<Database> {
        let (options, server) = match &config.database_url {
            Some(url) => {
                let app = PgConnectOptions::from_str(url.expose_secret())
                    .context("DATABASE_URL is not a PostgreSQL URL")?;
                let owner = match &config.migration_database_url {
                    Some(url) => PgConnectOptions::from_str(url.expose_secret())
                        .context("MIGRATION_DATABASE_URL is not a PostgreSQL URL")?,
                    None => app.clone(),
                };
                create_if_missing(&owner).await?;
                let mut conn = PgConnection::connect_with(&owner)
                    .await
                    .map_err(|e| explain_connect_error(e, &owner))
                    .context("cannot connect to the database to migrate it")?;
                migrate(&mut conn).await?;
                if owner.get_username() == app.get_username() {
                    tracing::warn!(
                        role = app.get_username(),
                        "the portal connects as the owner of its tables, so it could drop the audit \
                         log's protection; set MIGRATION_DATABASE_URL to the owner role and \
                         DATABASE_URL to a role of its own (README: database roles)"
                    );
                } else {
                    grant_app_role(&mut conn, app.get_username()).await?;
                }
                conn.close().await?;
                (app, None)
            }
            None => {
                let server = local_server(&config.var_dir).await?;
                let app = prepare_with_two_roles(&server, LOCAL_DATABASE).await?;
                tracing::info!(server = %server.description, database = LOCAL_DATABASE, role = app.get_username(), "using the local default database");
                (app, Some(server))
            }
        };
        let pool = connect(options).await?;
        Ok(Database { pool, server })
    }

    /// Closes the pool and stops a private instance that `open` started.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(data) = self.server.and_then(|s| s.started_instance) {
            stop_private_instance(&data).await;
        }
    }
}

/// Owns the tables, triggers and functions; only migrations act as it. It cannot log in: on
/// a server the local setup manages, migrations `SET ROLE` to it.
pub const OWNER_ROLE: &str = "foerderportal_owner";
/// The portal at run time: reads and writes the tables, only appends to the audit log, and
/// owns nothing, so it cannot drop the audit log's trigger or change the schema.
pub const APP_ROLE: &str = "foerderportal_app";

/// The local default setup on a server we administer: creates the database and both roles if
/// missing, hands objects made before the two roles existed to the owner, migrates as the
/// owner and grants the portal's role what it needs. Returns how the portal connects.
pub async fn prepare_with_two_roles(
    server: &Server,
    name: &str,
) -> anyhow::Result<PgConnectOptions> {
    ensure_database(server, name).await?;
    let mut conn = PgConnection::connect_with(&server.options.clone().database(name)).await?;
    for (role, login) in [(OWNER_ROLE, "NOLOGIN"), (APP_ROLE, "LOGIN")] {
        // Roles belong to the whole server; another process may create them at the same time.
        let sql = format!(
            "DO $$ BEGIN CREATE ROLE {role} {login};
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        );
        // Runtime query: role names are identifiers, which cannot be bound.
        sqlx::query(&sql)
            .execute(&mut conn)
            .await
            .with_context(|| format!("cannot create the database role {role}"))?;
    }
    let adopt = format!(
        "DO $$ DECLARE o record; BEGIN
           EXECUTE format('ALTER DATABASE %I OWNER TO {OWNER_ROLE}', current_database());
           REVOKE CREATE ON SCHEMA public FROM PUBLIC;
           GRANT USAGE, CREATE ON SCHEMA public TO {OWNER_ROLE};
           FOR o IN SELECT c.oid::regclass AS name FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
                      AND pg_get_userbyid(c.relowner) <> '{OWNER_ROLE}' LOOP
             EXECUTE format('ALTER TABLE %s OWNER TO {OWNER_ROLE}', o.name);
           END LOOP;
           FOR o IN SELECT p.oid::regprocedure AS name FROM pg_proc p
                    JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'public' AND pg_get_userbyid(p.proowner) <> '{OWNER_ROLE}' LOOP
             EXECUTE format('ALTER FUNCTION %s OWNER TO {OWNER_ROLE}', o.name);
           END LOOP;
         END $$"
    );
    // Runtime queries: role names are identifiers, which cannot be bound.
    sqlx::query(&adopt)
        .execute(&mut conn)
        .await
        .context("cannot hand the tables to the owner role")?;
    sqlx::query(&format!("SET ROLE {OWNER_ROLE}"))
        .execute(&mut conn)
        .await?;
    migrate(&mut conn).await?;
    grant_app_role(&mut conn, APP_ROLE).await?;
    conn.close().await?;
    let app = server.options.clone().database(name).username(APP_ROLE);
    if accepts(&app).await {
        return Ok(app);
    }
    // A server that lets only `postgres` in without a password: connect as it, acting as the
    // portal's role from the start of every session.
    tracing::warn!(
        role = APP_ROLE,
        "the server does not let the portal's role sign in; acting as it through postgres"
    );
    Ok(server
        .options
        .clone()
        .database(name)
        .options([("role", APP_ROLE)]))
}

/// What the portal's role may do: read and write every table, but only read and append the
/// audit log and only read the migration history. Run after every migration, so new tables
/// are covered.
pub async fn grant_app_role(conn: &mut PgConnection, role: &str) -> anyhow::Result<()> {
    if role.is_empty() || !role.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        bail!("refusing to grant privileges to the unusual role name {role:?}");
    }
    let role = format!("\"{role}\"");
    for sql in [
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}"),
        format!("REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _sqlx_migrations FROM {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    ] {
        // Runtime query: role names are identifiers, which cannot be bound.
        sqlx::query(&sql)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("granting privileges failed: {sql}"))?;
    }
    Ok(())
}

pub async fn connect(options: PgConnectOptions) -> anyhow::Result<PgPool> {
    // The portal's queries are short and many run at once: JIT compilation (~100 ms) and
    // parallel workers cost more than they save on the dashboard's and statistics' scans
    // (measured with `cargo bench --bench review`).
    let options = options
        .log_statements(tracing::log::LevelFilter::Debug)
        .options([("jit", "off"), ("max_parallel_workers_per_gather", "0")]);
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.clone())
        .await
        .map_err(|e| explain_connect_error(e, &options))
        .context("cannot connect to PostgreSQL")
}

/// Whether a failed connection attempt failed in the TLS handshake (a certificate the CA of
/// `sslrootcert` did not sign, a host name the certificate does not name, a server without
/// TLS), not in reaching the server or signing in.
pub fn is_tls_failure(e: &sqlx::Error, options: &PgConnectOptions) -> bool {
    use sqlx::postgres::PgSslMode;
    match e {
        sqlx::Error::Tls(_) => true,
        // rustls reports a refused handshake as invalid data on the socket.
        sqlx::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::InvalidData
                && !matches!(
                    options.get_ssl_mode(),
                    PgSslMode::Disable | PgSslMode::Allow
                )
        }
        _ => false,
    }
}

/// A failed connection attempt as the operator should read it: a TLS failure is logged once
/// with what to check, and says so in the error that ends the program.
fn explain_connect_error(e: sqlx::Error, options: &PgConnectOptions) -> anyhow::Error {
    if !is_tls_failure(&e, options) {
        return e.into();
    }
    let server = match options.get_socket() {
        Some(dir) => dir.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    tracing::error!(
        server,
        sslmode = ?options.get_ssl_mode(),
        error = %e,
        "TLS connection to PostgreSQL failed: the server's certificate was not accepted; check \
         sslmode and sslrootcert in DATABASE_URL (the CA that signed the server's certificate, \
         and for verify-full a certificate naming this host)"
    );
    anyhow::Error::new(e).context(format!(
        "TLS connection to PostgreSQL at {server} failed: the server's certificate was not \
         accepted (check sslmode and sslrootcert in DATABASE_URL)"
    ))
}

/// Applies pending migrations through a pool or one connection (which may have `SET ROLE`).
pub async fn migrate<'a>(
    conn: impl sqlx::Acquire<'a, Database = sqlx::Postgres>,
) -> anyhow::Result<()> {
    MIGRATOR
        .run(conn)
        .await
        .context("applying migrations failed")
}

/// Reachable, and every migration this binary knows has been applied.
pub async fn is_ready(pool: &PgPool) -> bool {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    // Runtime query: the table may not exist yet (that is what this asks).
    let applied: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await;
    matches!(applied, Ok(Some(v)) if v >= latest)
}

/// Whether an error means the database cannot be reached at all (down, restarting, out of
/// connections), as opposed to a failing query: pages then answer 503, not 500.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // 08: connection exception; 57P: shutting down, starting up; 53300: too many connections.
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
        _ => false,
    }
}

/// Tracks an outage of the database so it is logged once when it starts and once when it ends,
/// not for every request that meets it.
#[derive(Debug, Default)]
pub struct Health {
    outage: std::sync::Mutex<Option<Outage>>,
}

#[derive(Debug)]
struct Outage {
    since: std::time::Instant,
    refused: u64,
}

impl Health {
    /// A request could not reach the database. Returns whether this started an outage.
    pub fn unreachable(&self, error: &str) -> bool {
        let mut outage = self
            .outage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match outage.as_mut() {
            Some(o) => {
                o.refused += 1;
                false
            }
            None => {
                tracing::error!(
                    error,
                    "the database is unreachable; pages answer 503 until it is back"
                );
                *outage = Some(Outage {
                    since: std::time::Instant::now(),
                    refused: 1,
                });
                true
            }
        }
    }

    pub fn is_down(&self) -> bool {
        self.outage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    /// The database answered again. Returns whether this ended an outage.
    pub fn reachable(&self) -> bool {
        let ended = self
            .outage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(o) = &ended {
            tracing::warn!(
                after_secs = o.since.elapsed().as_secs(),
                refused_requests = o.refused,
                "the database is reachable again"
            );
        }
        ended.is_some()
    }

    /// While an outage lasts, asks the database every second whether it is back.
    pub async fn watch(&self, pool: &PgPool, stop: &tokio_util::sync::CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            if self.is_down() && sqlx::query!("SELECT 1 AS up").fetch_one(pool).await.is_ok() {
                self.reachable();
            }
        }
    }
}

/// Serialises work on one key (an account, say) until the transaction ends.
pub async fn lock_key(conn: &mut PgConnection, key: &str) -> sqlx::Result<()> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext($1))", key)
        .fetch_one(conn)
        .await?;
    Ok(())
}

/// `Ok(false)` for a unique violation (a key, name or code that is taken), so the form can say
/// so next to the field; other errors as they are.
pub fn ok_unless_taken<T>(result: sqlx::Result<T>) -> sqlx::Result<bool> {
    match result {
        Ok(_) => Ok(true),
        // 23505: unique_violation
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23505") => Ok(false),
        Err(e) => Err(e),
    }
}

/// A configured database that does not exist yet is created (if the role may), as on first start.
pub async fn create_if_missing(options: &PgConnectOptions) -> anyhow::Result<()> {
    match PgConnection::connect_with(options).await {
        Ok(conn) => conn.close().await.map_err(Into::into),
        // 3D000: invalid_catalog_name, the database does not exist.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            let name = options
                .get_database()
                .context("DATABASE_URL names no database")?;
            ensure_database(&Server::of(options.clone(), "DATABASE_URL"), name).await
        }
        Err(e) => Err(explain_connect_error(e, options))
            .context("cannot connect to the database of DATABASE_URL"),
    }
}

/// A local server that accepts us, or a private instance under `var_dir/postgres`.
pub async fn local_server(var_dir: &Path) -> anyhow::Result<Server> {
    let candidates = [
        (
            "PostgreSQL on 127.0.0.1:5432",
            PgConnectOptions::new().host("127.0.0.1").port(5432),
        ),
        (
            "PostgreSQL on /var/run/postgresql",
            PgConnectOptions::new().socket("/var/run/postgresql"),
        ),
    ];
    for (description, options) in candidates {
        let options = options.username("postgres").database("postgres");
        if accepts(&options).await {
            return Ok(Server::of(options, description));
        }
    }
    let dir = std::path::absolute(var_dir.join("postgres"))?;
    start_private_instance(&dir).await
}

async fn accepts(options: &PgConnectOptions) -> bool {
    let attempt = PgConnection::connect_with(options);
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Ok(_))
    )
}

/// Creates the database if it does not exist yet.
pub async fn ensure_database(server: &Server, name: &str) -> anyhow::Result<()> {
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        bail!("refusing to create a database with the unusual name {name:?}");
    }
    let mut conn = PgConnection::connect_with(&server.options).await?;
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS "exists!""#,
        name
    )
    .fetch_one(&mut conn)
    .await?;
    if !exists {
        // Identifiers cannot be bound; the name was checked above.
        let sql = format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0");
        match sqlx::query(&sql).execute(&mut conn).await {
            Ok(_) => tracing::info!(database = name, "created database"),
            // 42P04: another process created it in the meantime, which is fine.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create the database {name}")),
        }
    }
    conn.close().await?;
    Ok(())
}

const PRIVATE_PORT: u16 = 5432;

/// Starts (and on first use initialises) a PostgreSQL cluster that listens only on a Unix socket
/// in its own directory. PostgreSQL refuses to run as root, so as root the cluster belongs to the
/// `postgres` system user and runs through `runuser`. An instance that is already running (from
/// an earlier start) is used as it is and left running.
pub async fn start_private_instance(dir: &Path) -> anyhow::Result<Server> {
    let socket = dir.join(format!(".s.PGSQL.{PRIVATE_PORT}"));
    if socket.as_os_str().len() > 100 {
        bail!(
            "the path {} is too long for a PostgreSQL socket; set VAR_DIR to a shorter path",
            dir.display()
        );
    }
    let options = PgConnectOptions::new()
        .socket(dir)
        .port(PRIVATE_PORT)
        .username("postgres")
        .database("postgres");
    let description = format!("private PostgreSQL instance in {}", dir.display());
    if dir.exists() && accepts(&options).await {
        return Ok(Server::of(options, description));
    }
    let data = init_private_cluster(dir).await?;
    tracing::warn!(
        dir = %dir.display(),
        "no PostgreSQL server accepted connections; starting a private instance"
    );
    // pg_ctl hands -o to a shell: quote the directory.
    let quoted = shell_quoted(&dir.display().to_string());
    start_private_cluster(
        dir,
        &format!("-c listen_addresses='' -k {quoted} -p {PRIVATE_PORT}"),
    )
    .await?;
    if !accepts(&options).await {
        bail!(
            "the private PostgreSQL instance in {} did not come up; see server.log there",
            dir.display()
        );
    }
    Ok(Server {
        started_instance: Some(data),
        ..Server::of(options, description)
    })
}

/// Creates `dir` for a cluster of the machine's PostgreSQL binaries (handing it to the
/// `postgres` system user when we are root) and initialises the cluster in `dir/data` unless
/// that exists already (trust authentication, superuser `postgres`). Returns the data directory.
pub async fn init_private_cluster(dir: &Path) -> anyhow::Result<PathBuf> {
    let bindir = postgres_bindir().context(
        "no PostgreSQL server accepted connections and no PostgreSQL binaries were found \
         (install the Debian package `postgresql`, or set DATABASE_URL)",
    )?;
    std::fs::create_dir_all(dir)?;
    if is_root() {
        give_to_postgres(dir).await?;
        // Every parent directory must let the postgres user through, which a checkout under
        // /root does not.
        if run(as_postgres("test", &["-w"], dir), "access check")
            .await
            .is_err()
        {
            bail!(
                "the postgres system user cannot write to {} (a parent directory is closed to it); \
                 set VAR_DIR to a directory it can reach, e.g. /var/tmp/foerderportal",
                dir.display()
            );
        }
    }
    let data = dir.join("data");
    if !data.join("PG_VERSION").exists() {
        tracing::info!(dir = %data.display(), "initialising a private PostgreSQL cluster");
        let mut init = pg_command(&bindir, "initdb");
        init.arg("-D").arg(&data);
        init.args([
            "--auth=trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]);
        run(init, "initdb").await?;
    }
    Ok(data)
}

/// Starts the cluster `init_private_cluster` made in `dir`, with the server options `options`
/// (`-c name=value …`, `-p`, `-k`; handed to a shell, so quote paths), logging to
/// `dir/server.log`; waits until it accepts connections.
pub async fn start_private_cluster(dir: &Path, options: &str) -> anyhow::Result<()> {
    let bindir = postgres_bindir().context("no PostgreSQL binaries were found")?;
    let mut start = pg_command(&bindir, "pg_ctl");
    start.arg("-D").arg(dir.join("data")).arg("-o").arg(options);
    start
        .arg("-l")
        .arg(dir.join("server.log"))
        .args(["-w", "-t", "60", "start"]);
    run(start, "pg_ctl start").await
}

/// Hands a file or directory to the `postgres` system user (when we are root and so run the
/// cluster as that user; otherwise it is ours already).
pub async fn give_to_postgres(path: &Path) -> anyhow::Result<()> {
    if !is_root() {
        return Ok(());
    }
    let mut chown = tokio::process::Command::new("chown");
    chown.arg("postgres:postgres").arg(path);
    run(chown, "chown").await
}

fn shell_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Stops a private instance (fast shutdown: open sessions are ended, nothing is lost).
pub async fn stop_private_instance(data: &Path) {
    let Some(bindir) = postgres_bindir() else {
        return;
    };
    let mut stop = pg_command(&bindir, "pg_ctl");
    stop.arg("-D").arg(data).args(["-m", "fast", "-w", "stop"]);
    match run(stop, "pg_ctl stop").await {
        Ok(()) => tracing::info!(data = %data.display(), "stopped the private PostgreSQL instance"),
        Err(e) => tracing::warn!(error = %e, "stopping the private PostgreSQL instance failed"),
    }
}

/// A PostgreSQL tool, run as the `postgres` system user when we are root.
fn pg_command(bindir: &Path, tool: &str) -> tokio::process::Command {
    let program = bindir.join(tool);
    let mut cmd = if is_root() {
        as_postgres(&program.to_string_lossy(), &[], Path::new(""))
    } else {
        tokio::process::Command::new(program)
    };
    cmd.kill_on_drop(true);
    cmd
}

fn as_postgres(program: &str, args: &[&str], path_arg: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("runuser");
    cmd.args(["-u", "postgres", "--", program]).args(args);
    if !path_arg.as_os_str().is_empty() {
        cmd.arg(path_arg);
    }
    cmd
}

fn postgres_bindir() -> Option<PathBuf> {
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut candidates: Vec<PathBuf> = from_pg_config.into_iter().collect();
    // Debian keeps the server binaries out of PATH, one directory per major version; newest first.
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort_by_key(|p| std::cmp::Reverse(major_version(p)));
        candidates.extend(versions);
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn major_version(bin: &Path) -> u32 {
    bin.parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

async fn run(mut cmd: tokio::process::Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .output()
        .await
        .with_context(|| format!("cannot run {what}"))?;
    if out.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_reported_once_when_it_starts_and_once_when_it_ends() {
        let health = Health::default();
        assert!(!health.reachable(), "no outage, nothing to report");
        assert!(health.unreachable("connection refused"));
        assert!(!health.unreachable("connection refused"), "the same outage");
        assert!(!health.unreachable("pool timed out"));
        assert!(health.is_down());
        assert!(health.reachable());
        assert!(!health.is_down());
        assert!(health.unreachable("connection refused"), "a new outage");
    }

    #[test]
    fn connection_failures_count_as_unavailable_but_failing_queries_do_not() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(is_unavailable(&sqlx::Error::Io(refused)));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_unavailable(&sqlx::Error::ColumnNotFound("x".into())));
    }
}
