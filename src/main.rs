//! The `foerderportal` command: serve the portal (default), apply migrations, add users, load demo data.

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use foerderportal::accounts::db::{self as accounts, NewUser};
use foerderportal::accounts::model::{EmailAddress, check_roles};
use foerderportal::accounts::{Role, password::Hasher};
use foerderportal::config::{Config, LogFormat};
use foerderportal::database::Database;
use foerderportal::mail::Worker;
use foerderportal::state::AppState;
use foerderportal::{demo, mail, municipalities, server};

#[derive(Parser)]
#[command(
    name = "foerderportal",
    version,
    about = "Förderportal – grant applications under the ThürEGovRL"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal (the default). Without DATABASE_URL it finds or starts a local PostgreSQL,
    /// creates the database `foerderportal`, migrates it and, on a developer machine (loopback,
    /// plain http), loads the demo data into it while it is empty.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Load the demo round and one demo account per role (idempotent; existing data is kept).
    DemoData {
        /// Also generate this many submitted applications (load tests, benchmarks).
        #[arg(long)]
        applications: Option<i64>,
    },
    /// Run only the e-mail delivery worker (serve runs one too; any number may run at once).
    MailWorker,
    /// Print a new random key for SECRET_KEY (32 bytes, base64).
    SecretKey,
    /// Back up the database (pg_dump) and every stored file into a new directory, with a
    /// manifest of the files' SHA-256 sums. Needs DATABASE_URL (the owner's, or
    /// MIGRATION_DATABASE_URL) and the STORAGE_URL of the portal.
    Backup {
        /// The directory to write (created; must not hold a backup yet).
        dir: std::path::PathBuf,
    },
    /// Restore a backup into the database of DATABASE_URL (created if missing; must be empty)
    /// and the file store of STORAGE_URL, after checking every file against the manifest.
    Restore {
        /// The backup's directory.
        dir: std::path::PathBuf,
    },
    /// The municipality directory.
    Municipalities {
        #[command(subcommand)]
        command: MunicipalityCommand,
    },
}

#[derive(Subcommand)]
enum MunicipalityCommand {
    /// Import the Gemeindeverzeichnis from a CSV file (columns AGS and/or ARS, Name, Art, and
    /// optionally Straße, PLZ, Ort; semicolon or comma; UTF-8 or Windows-1252). Idempotent;
    /// municipalities missing from the file are marked inactive, never deleted.
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from the first line of standard input.
    Add {
        /// E-mail address, used to sign in.
        #[arg(long)]
        email: String,
        /// Full name as shown in the portal.
        #[arg(long)]
        name: String,
        /// clerk, reviewer or admin; repeat for several (reviewer and admin may be combined).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// The clerk's municipality (required for clerks): its 8-digit AGS, or the 5-digit key
        /// of a Landkreis or kreisfreie Stadt.
        #[arg(long)]
        municipality: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::from_env()?;
    init_logging(&config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::SecretKey => {
            println!("{}", foerderportal::secrets::new_key());
            Ok(())
        }
        Command::Migrate => {
            Database::open(&config).await?.close().await;
            println!("Migrations applied.");
            Ok(())
        }
        Command::DemoData { applications } => {
            let database = Database::open(&config).await?;
            let mut loaded = demo::load(&database.pool, &Hasher::new()).await;
            if loaded.is_ok() {
                // The demo's applications and grants go through the pages, which need the whole app. The
                // demo reviewers have no second factor and seal no keys: this run asks for none,
                // and without SECRET_KEY a key of this run will do.
                let mut pages = config.clone();
                pages.require_second_factor = false;
                pages
                    .secret_key
                    .get_or_insert_with(|| foerderportal::secrets::new_key().into());
                let mailer = mail::Mailer::from_config(&pages)?;
                let state = AppState::new(database.pool.clone(), pages, mailer)?;
                loaded = demo::load_through_pages(&state).await;
            }
            if let (Ok(()), Some(count)) = (&loaded, applications) {
                loaded = demo::generate_applications(&database.pool, count)
                    .await
                    .map(|n| println!("{n} Anträge erzeugt."));
            }
            database.close().await;
            loaded?;
            print_demo_logins(&config);
            Ok(())
        }
        Command::Backup { dir } => backup_or_restore(&config, &dir, false).await,
        Command::Restore { dir } => backup_or_restore(&config, &dir, true).await,
        Command::MailWorker => {
            let database = Database::open(&config).await?;
            let worker = Worker::new(
                database.pool.clone(),
                mail::Mailer::from_config(&config)?,
                config.mail.clone(),
            );
            let stop = CancellationToken::new();
            let on_signal = stop.clone();
            tokio::spawn(async move {
                server::termination_signal().await;
                on_signal.cancel();
            });
            tracing::info!("mail worker running");
            worker.run(stop).await;
            database.close().await;
            Ok(())
        }
        Command::Municipalities {
            command: MunicipalityCommand::Import { file },
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let database = Database::open(&config).await?;
            let actor = foerderportal::audit::Actor {
                user_id: None,
                client: "cli",
            };
            let result = municipalities::db::import(&database.pool, &bytes, actor).await;
            database.close().await;
            let report = result?;
            println!(
                "added {}, updated {}, unchanged {}, marked inactive {}, rejected {}",
                report.added,
                report.updated,
                report.unchanged,
                report.deactivated,
                report.rejected.len()
            );
            for rejected in &report.rejected {
                println!("  line {}: {}", rejected.line, rejected.reason);
            }
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    roles,
                    municipality,
                },
        } => add_user(&config, email, name, roles, municipality).await,
    }
}

async fn backup_or_restore(
    config: &Config,
    dir: &std::path::Path,
    restore: bool,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (report, done) = if restore {
        let report = foerderportal::backup::restore(config, dir).await?;
        (report, "Restored from")
    } else {
        (
            foerderportal::backup::backup(config, dir).await?,
            "Backed up into",
        )
    };
    println!(
        "{done} {}: database {} bytes, {} files with {} bytes, in {:.1} s.",
        dir.display(),
        report.database_bytes,
        report.files,
        report.bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn init_logging(format: &LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Human => builder.init(),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let database = Database::open(&config).await?;
    let pool = database.pool.clone();
    let result = async {
        let mailer = mail::Mailer::from_config(&config)?;
        let state = AppState::new(pool, config.clone(), mailer)?;
        let resealed =
            accounts::reseal_totp_secrets(&mut *state.db.acquire().await?, &state.secrets).await?;
        if resealed > 0 {
            tracing::info!(resealed, "sealed second-factor keys under the current SECRET_KEY");
        }
        if demo::load_on_first_start(&config, &state.db, &state.passwords).await? {
            demo::load_through_pages(&state).await?;
        }
        let listener = tokio::net::TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
        println!("\nFörderportal läuft: {}", config.base_url);
        if config.may_load_demo_data_automatically() {
            print_demo_logins(&config);
        }
        if !config.require_second_factor {
            println!("Zweiter Faktor für Ministeriumskonten: nicht verlangt (REQUIRE_SECOND_FACTOR=true schaltet ihn ein).");
        }
        if config.smtp_url.is_none() {
            println!(
                "E-Mails werden als .eml-Dateien abgelegt in {}",
                config.mail_dir.display()
            );
        }
        server::serve(state, listener, CancellationToken::new()).await
    }
    .await;
    database.close().await;
    result
}

fn print_demo_logins(config: &Config) {
    println!(
        "\nDemo-Zugänge (Passwort für alle: {}):",
        demo::DEMO_PASSWORD
    );
    for account in &demo::DEMO_ACCOUNTS {
        println!(
            "  {:<10} {:<38} {}",
            account.role.as_str(),
            account.email,
            account.name
        );
    }
    println!("Anmelden: {}/anmelden\n", config.base_url);
}

async fn add_user(
    config: &Config,
    email: String,
    name: String,
    roles: Vec<String>,
    municipality: Option<String>,
) -> anyhow::Result<()> {
    let email: EmailAddress = email
        .parse()
        .map_err(|e: &str| anyhow::anyhow!("--email: {e}"))?;
    let roles: Vec<Role> = roles
        .iter()
        .map(|r| r.parse())
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    check_roles(&roles, municipality.is_some()).map_err(anyhow::Error::msg)?;
    let municipality = municipality
        .map(|typed| {
            municipalities::model::directory_key(&typed)
                .map_err(|e| anyhow::anyhow!("--municipality {typed:?}: {e}"))
        })
        .transpose()?;
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password from stdin")?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    if password.chars().count() < 12 {
        bail!("the password must have at least 12 characters");
    }
    let database = Database::open(config).await?;
    let created = insert_user(
        &database.pool,
        &email,
        name.trim(),
        &roles,
        municipality.as_deref(),
        password,
    )
    .await;
    database.close().await;
    println!("Created user {} <{}>.", created?, email.as_str());
    Ok(())
}

async fn insert_user(
    pool: &sqlx::PgPool,
    email: &EmailAddress,
    name: &str,
    roles: &[Role],
    municipality: Option<&str>,
    password: String,
) -> anyhow::Result<i64> {
    let mut conn = pool.acquire().await?;
    let municipality_id = match municipality {
        Some(ags) => Some(
            municipalities::db::id_by_ags(&mut conn, ags)
                .await?
                .with_context(|| {
                    format!("--municipality: no municipality with the key {ags} in the directory")
                })?,
        ),
        None => None,
    };
    let hash = Hasher::new().hash(password).await?;
    let user = NewUser {
        email,
        display_name: name,
        password_hash: Some(&hash),
        roles,
        municipality_id,
    };
    accounts::insert_user(&mut conn, user)
        .await?
        .with_context(|| format!("an account with {} exists already", email.as_str()))
}
