//! What operators rely on: health checks, graceful shutdown, finding or starting the database,
//! the CLI, demo data and the mail transports.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use foerderportal::accounts::password::Hasher;
use foerderportal::config::Config;
use foerderportal::database::{self, Database};
use foerderportal::demo;
use foerderportal::mail::Mailer;
use lettre::Message;
use reqwest::StatusCode;

use crate::common::smtp::SmtpSink;
use crate::common::{StopOnDrop, TestApp, test_postgres, unused_database_name, url_of};

#[tokio::test]
async fn health_and_readiness_answer_for_load_balancers() {
    let app = TestApp::spawn().await;
    let client = app.client();
    assert_eq!(client.get("/healthz").await.body, "ok");
    let ready = client.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (StatusCode::OK, "ready")
    );

    // A database that lacks this binary's newest migration is not ready.
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&app.owner_pool().await)
    .await
    .unwrap();
    let ready = client.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        ready.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "stays plain for probes"
    );
}

#[tokio::test]
async fn shutdown_finishes_the_running_request_then_closes_the_pool() {
    let app = TestApp::spawn().await;
    let client = app.client();
    // Hold a database connection so the next request waits inside the handler.
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE programmes IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let in_flight = tokio::spawn(async move { client.get("/").await.status });
    // Wait until the request really waits inside the handler, blocked by the lock.
    for _ in 0..250 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    app.stop.cancel();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !app.server.is_finished(),
        "the server waits for the request in flight"
    );
    blocker.rollback().await.unwrap();

    assert_eq!(
        in_flight.await.unwrap(),
        StatusCode::OK,
        "the request in flight completes"
    );
    let TestApp { server, pool, .. } = &app;
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while !server.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(server.is_finished(), "serve returns after shutdown");
    assert!(pool.is_closed(), "the pool is closed");
    assert!(
        reqwest::get(app.url("/healthz")).await.is_err(),
        "no longer accepting connections"
    );
}

#[tokio::test]
async fn a_configured_database_is_created_if_missing_and_never_gets_demo_data() {
    let name = unused_database_name().await;
    let mut config = Config::local_defaults();
    config.database_url = Some(url_of(&test_postgres().await.options, &name).into());

    let database = Database::open(&config)
        .await
        .expect("creates and migrates the database");
    let loaded = demo::load_on_first_start(&config, &database.pool, &Hasher::new())
        .await
        .unwrap();
    assert!(
        !loaded,
        "an operator's database never gets demo accounts automatically"
    );
    assert_eq!(count(&database.pool, "users").await, 0);
    assert_eq!(
        count(&database.pool, "municipalities").await,
        22,
        "reference data comes with the migrations"
    );
    sqlx::query("CREATE TABLE keep_me (x int)")
        .execute(&database.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO keep_me VALUES (42)")
        .execute(&database.pool)
        .await
        .unwrap();
    database.close().await;

    let reopened = Database::open(&config).await.unwrap();
    let kept: i32 = sqlx::query_scalar("SELECT x FROM keep_me")
        .fetch_one(&reopened.pool)
        .await
        .unwrap();
    assert_eq!(kept, 42, "opening again keeps what is there");
    reopened.close().await;
}

/// The owner of a table, and whether the pool's role may drop the audit log's trigger.
async fn owner_and_trigger_guard(pool: &sqlx::PgPool, table: &str) -> (String, bool) {
    let owner: String =
        sqlx::query_scalar("SELECT tableowner::text FROM pg_tables WHERE tablename = $1")
            .bind(table)
            .fetch_one(pool)
            .await
            .unwrap();
    let dropped = sqlx::query("DROP TRIGGER audit_log_no_update_or_delete ON audit_log")
        .execute(pool)
        .await;
    (owner, dropped.is_err())
}

#[tokio::test]
async fn the_local_setup_migrates_as_the_owner_role_and_runs_as_the_portals_role() {
    let server = test_postgres().await;
    let name = unused_database_name().await;
    // A database from before the two roles: its tables belong to the superuser.
    database::ensure_database(server, &name).await.unwrap();
    let before = sqlx::PgPool::connect_with(server.options.clone().database(&name))
        .await
        .unwrap();
    sqlx::query("CREATE TABLE keep_me (x int)")
        .execute(&before)
        .await
        .unwrap();
    before.close().await;

    let options = database::prepare_with_two_roles(server, &name)
        .await
        .unwrap();
    let pool = database::connect(options).await.unwrap();
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(role, database::APP_ROLE);
    assert_eq!(
        owner_and_trigger_guard(&pool, "audit_log").await,
        (database::OWNER_ROLE.to_string(), true)
    );
    assert_eq!(
        owner_and_trigger_guard(&pool, "keep_me").await.0,
        database::OWNER_ROLE,
        "older tables are handed to the owner"
    );
    assert_eq!(count(&pool, "municipalities").await, 22);
    let appended = sqlx::query(
        "INSERT INTO audit_log (client, action, subject, details) VALUES ('t', 'test', 'x', '{}')",
    )
    .execute(&pool)
    .await;
    assert!(appended.is_ok(), "the portal appends to the audit log");
    pool.close().await;
}

#[tokio::test]
async fn an_operator_migrates_with_the_owner_url_and_the_portal_uses_its_own_role() {
    let server = test_postgres().await;
    let name = unused_database_name().await;
    let role = format!("fp_portal_{}", std::process::id());
    let admin = sqlx::PgPool::connect_with(server.options.clone())
        .await
        .unwrap();
    let _ = sqlx::query(&format!("CREATE ROLE {role} LOGIN"))
        .execute(&admin)
        .await;
    let owner_url = url_of(&server.options, &name);
    let mut config = Config::local_defaults();
    config.database_url = Some(
        owner_url
            .replace("postgres@", &format!("{role}@"))
            .replace("user=postgres", &format!("user={role}"))
            .into(),
    );
    config.migration_database_url = Some(owner_url.into());

    let database = Database::open(&config)
        .await
        .expect("migrates as the owner");
    let connected: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&database.pool)
        .await
        .unwrap();
    assert_eq!(connected, role);
    assert_eq!(count(&database.pool, "municipalities").await, 22);
    let (owner, guarded) = owner_and_trigger_guard(&database.pool, "audit_log").await;
    assert_eq!((owner.as_str(), guarded), ("postgres", true));
    let changed = sqlx::query("UPDATE audit_log SET action = 'x'")
        .execute(&database.pool)
        .await
        .unwrap_err();
    assert!(
        changed.to_string().contains("permission denied"),
        "{changed}"
    );
    database.close().await;
}

#[tokio::test]
async fn the_local_default_setup_gets_demo_data_once_on_first_start() {
    let name = unused_database_name().await;
    let mut chosen = Config::local_defaults();
    chosen.database_url = Some(url_of(&test_postgres().await.options, &name).into());
    let database = Database::open(&chosen).await.unwrap();
    let local = Config::local_defaults();

    assert!(
        demo::load_on_first_start(&local, &database.pool, &Hasher::new())
            .await
            .unwrap()
    );
    assert!(
        !demo::load_on_first_start(&local, &database.pool, &Hasher::new())
            .await
            .unwrap()
    );

    assert_eq!(
        count(&database.pool, "users").await,
        foerderportal::demo::DEMO_ACCOUNTS.len() as i64
    );
    assert_eq!(count(&database.pool, "rounds").await, 1);
    database.close().await;
}

#[tokio::test]
async fn loading_demo_data_again_leaves_existing_data_alone() {
    let app = TestApp::spawn().await;
    sqlx::query("UPDATE rounds SET title = 'Umbenannt'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET display_name = 'Geändert'")
        .execute(&app.pool)
        .await
        .unwrap();

    demo::load(&app.pool, &Hasher::new()).await.unwrap();

    let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM rounds")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(titles, ["Umbenannt"]);
    let names: Vec<String> = sqlx::query_scalar("SELECT DISTINCT display_name FROM users")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(names, ["Geändert"]);
}

#[tokio::test]
async fn a_private_postgresql_instance_starts_from_the_machines_binaries() {
    let dir = std::env::temp_dir().join(format!("fp-private-pg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The postgres system user must reach the directory when we run as root.
    let _ = Command::new("chmod").arg("755").arg(&dir).status();
    let instance = dir.join("postgres");

    let server = database::start_private_instance(&instance)
        .await
        .expect("a private instance starts");
    let data = server
        .started_instance
        .clone()
        .expect("this call started it");
    let guard = StopOnDrop(data.clone());
    let again = database::start_private_instance(&instance).await.unwrap();
    assert_eq!(
        again.started_instance, None,
        "a running instance is reused, and not ours to stop"
    );

    database::ensure_database(&server, "foerderportal")
        .await
        .unwrap();
    let pool = sqlx::PgPool::connect_with(server.options.clone().database("foerderportal"))
        .await
        .unwrap();
    database::migrate(&pool).await.unwrap();
    assert_eq!(count(&pool, "municipalities").await, 22);
    pool.close().await;

    drop(guard);
    database::stop_private_instance(&data).await;
    let stopped = sqlx::PgPool::connect_with(server.options.clone()).await;
    assert!(stopped.is_err(), "the instance is down after stopping");
    let _ = std::fs::remove_dir_all(&dir);
}

async fn count(pool: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

fn cli(database_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foerderportal"));
    cmd.env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir());
    cmd
}

#[tokio::test]
async fn the_cli_adds_a_user_who_can_then_sign_in() {
    let app = TestApp::spawn().await;
    let url = app.database_url();

    let mut child = cli(&url)
        .args([
            "user",
            "add",
            "--email",
            "Neu@Gotha.example",
            "--name",
            "Nora Neu",
            "--role",
            "clerk",
        ])
        .args(["--municipality", "16067000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"ein-langes-Passwort-2026\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let client = app.client();
    let response = client
        .sign_in("neu@gotha.example", "ein-langes-Passwort-2026")
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert!(
        client
            .get("/konto")
            .await
            .texts("dd")
            .contains(&"Landkreis Gotha".to_string())
    );
}

#[tokio::test]
async fn the_cli_refuses_a_clerk_with_a_ministry_role() {
    let app = TestApp::spawn().await;
    let url = app.database_url();
    let out = cli(&url)
        .args([
            "user",
            "add",
            "--email",
            "x@y.example",
            "--name",
            "X",
            "--role",
            "clerk",
            "--role",
            "admin",
        ])
        .args(["--municipality", "16067000"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot also hold a ministry role"));
}

#[tokio::test]
async fn the_cli_takes_the_five_digit_key_of_a_district_and_explains_a_wrong_one() {
    let app = TestApp::spawn().await;
    let add = |key: &str| {
        let mut child = cli(&app.database_url())
            .args([
                "user",
                "add",
                "--email",
                "kreis@gotha.example",
                "--name",
                "Kim Kreis",
            ])
            .args(["--role", "clerk", "--municipality", key])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(b"ein-langes-Passwort-2026\n");
        child.wait_with_output().unwrap()
    };
    let wrong = add("1606");
    assert!(!wrong.status.success());
    let message = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        message.contains("8-digit AGS") && message.contains("5-digit key"),
        "{message}"
    );
    let district = add("16067");
    assert!(
        district.status.success(),
        "{}",
        String::from_utf8_lossy(&district.stderr)
    );
    let name: String = sqlx::query_scalar(
        "SELECT m.name FROM users u JOIN municipalities m ON m.id = u.municipality_id WHERE u.email = 'kreis@gotha.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(name, "Landkreis Gotha");
}

#[test]
fn the_cli_explains_its_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_foerderportal"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "migrate", "user", "demo-data"] {
        assert!(
            help.contains(command),
            "--help does not mention {command}:\n{help}"
        );
    }
}

#[tokio::test]
async fn mail_crosses_a_real_smtp_exchange_with_german_subject_and_body() {
    let sink = SmtpSink::start().await;
    let mut config = Config::local_defaults();
    config.smtp_url = Some(sink.url().into());
    let mailer = Mailer::from_config(&config).unwrap();
    let message = Message::builder()
        .from(mailer.sender().clone())
        .to("Jürgen Müller <juergen@gemeinde.example>".parse().unwrap())
        .subject("Eingangsbestätigung für Ihren Förderantrag")
        .body("Grüße aus Erfurt – Ihr Antrag über 145.012,03 € ist eingegangen.".to_string())
        .unwrap();

    mailer.send(&message).await.unwrap();

    let received = sink.wait_for(1).await;
    assert_eq!(received[0].rcpt_to, ["juergen@gemeinde.example"]);
    assert_eq!(received[0].mail_from, "noreply@foerderportal.localhost");
    let subject = received[0].header("subject").unwrap();
    assert!(
        subject.contains("=?utf-8?"),
        "umlauts travel as an encoded word: {subject}"
    );
    let from = received[0].header("from").unwrap();
    assert!(from.contains("noreply@foerderportal.localhost"), "{from}");
}

#[tokio::test]
async fn without_smtp_mails_are_written_as_eml_files() {
    let dir = std::env::temp_dir().join(format!("fp-mail-{}", std::process::id()));
    let mut config = Config::local_defaults();
    config.mail_dir = dir.clone();
    let mailer = Mailer::from_config(&config).unwrap();
    let message = Message::builder()
        .from(mailer.sender().clone())
        .to("kommune@erfurt.example".parse().unwrap())
        .subject("Test")
        .body(String::from("Hallo"))
        .unwrap();

    mailer.send(&message).await.unwrap();

    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    assert!(
        std::fs::read_to_string(&files[0])
            .unwrap()
            .contains("To: kommune@erfurt.example")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_demo_round_is_filed_and_decided_through_the_pages_as_the_interim_report_tells() {
    let app = TestApp::spawn().await;
    let state = app.state();
    demo::load_through_pages(&state).await.unwrap();

    // 19 municipalities have applied for just under 1,8 Mio. €.
    let (municipalities, requested): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT municipality_id), sum(requested_grant_cents)::bigint
         FROM applications WHERE status <> 'draft'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(municipalities, 19);
    assert_eq!(requested, 179_441_203, "1.794.412,03 €");
    // Every state of an application is there.
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT status::text FROM applications ORDER BY 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    for status in foerderportal::applications::model::Status::ALL {
        assert!(
            statuses.contains(&status.as_str().to_string()),
            "{status:?} in {statuses:?}"
        );
    }
    // The Serviceteam: with its partners, approved with four eyes, with its notice.
    let (id, granted, partners, proposer, confirmer): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT a.id, a.granted_cents,
                (SELECT count(*) FROM application_partners p WHERE p.application_id = a.id AND p.confirmed_at IS NOT NULL),
                d.proposed_by, d.settled_by
         FROM applications a JOIN decisions d ON d.application_id = a.id AND d.state = 'confirmed'
         WHERE a.title = 'E-Government-Serviceteam' AND a.status = 'approved'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((granted, partners), (14_501_203, 2));
    assert_ne!(proposer, confirmer);
    let clerk = app.sign_in_as(foerderportal::accounts::Role::Clerk).await;
    let (status, pdf) = clerk
        .download(&format!("/antraege/{id}/bescheid.pdf"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = crate::review::pdf_text(&pdf);
    for expected in [
        "Zuwendungsbescheid",
        "145.012,03 €",
        "E-Government-Serviceteam",
        "Markt 8",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in {text}");
    }
    // Filed as clerks file: answers, attachments, a message; a Nachforderung and a note.
    let (attachments, messages, requests, notes): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(DISTINCT application_id) FROM application_attachments),
                (SELECT count(*) FROM application_messages),
                (SELECT count(*) FROM application_events WHERE kind = 'changes_requested'),
                (SELECT count(*) FROM application_notes)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(attachments >= 16, "{attachments}");
    assert!(messages >= 3 && requests >= 2 && notes >= 1);

    // Loading again adds nothing.
    demo::load_through_pages(&state).await.unwrap();
    let again: i64 = sqlx::query_scalar("SELECT count(*) FROM applications")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(again, 21);
}

/// The actor of each of an entity's timeline events, in order: (kind, actor id).
async fn steps(app: &TestApp, sql: &str, id: i64) -> Vec<(String, i64)> {
    sqlx::query_as(sql)
        .bind(id)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_demo_grants_after_the_award_are_built_through_the_state_machines_with_four_eyes() {
    let app = TestApp::spawn().await;
    demo::load_lived_in(&app.state()).await.unwrap();
    let user = |email: &str| {
        let email = email.to_string();
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let first = user("pruefung@demo.foerderportal.example").await;
    let second = user("zweitpruefung@demo.foerderportal.example").await;
    let grants: Vec<(i64, String, i64, i32, i32)> = sqlx::query_as(
        "SELECT a.id, a.title, c.id, (current_date - a.submitted_at::date), (current_date - d.settled_at::date)
         FROM applications a JOIN users c ON c.id = a.created_by AND c.municipality_id = a.municipality_id
         JOIN decisions d ON d.application_id = a.id AND d.state = 'confirmed'
         ORDER BY a.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let titles: Vec<&str> = grants.iter().map(|g| g.1.as_str()).collect();
    assert_eq!(
        titles,
        [
            "E-Akte für alle Ämter",
            "Ratsinformationssystem mit Bürgerportal",
            "Online-Terminvergabe im Landratsamt",
            "Digitales Bürgerbüro"
        ],
        "each filed by its municipality's clerk"
    );
    assert_eq!(
        (grants[0].3, grants[0].4),
        (520, 470),
        "dated back afterwards"
    );
    for (id, title, clerk, _, decided) in &grants {
        // The application's machine: the clerk submits, A reviews and proposes, B approves.
        let events = steps(
            &app,
            "SELECT kind, actor_id FROM application_events
             WHERE application_id = $1 AND to_status IS NOT NULL ORDER BY at, id",
            *id,
        )
        .await;
        let mut expected = vec![
            ("submitted".to_string(), *clerk),
            ("review_started".into(), first),
            ("decision_proposed".into(), first),
            ("approved".into(), second),
        ];
        if title.starts_with("Online-Terminvergabe") {
            expected.push(("settled".into(), second));
        }
        assert_eq!(events, expected, "{title}");
        // The notice was issued again with the decision's (moved) day.
        let pdf = app.document(crate::review::CONFIRMED_NOTICE, *id).await;
        let day = foerderportal::locale::day(
            foerderportal::locale::today() - time::Duration::days(i64::from(*decided)),
        );
        let text = crate::review::pdf_text(&pdf);
        assert!(text.contains(&day), "{title}: {day} missing in {text}");
    }
    // Every payout: filed by the clerk; checked by A, ordered by B; paid through a run.
    let payouts: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, status::text FROM payout_requests ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(payouts.len(), 8);
    for (id, status) in &payouts {
        let kinds: Vec<(String, i64)> = steps(
            &app,
            "SELECT kind, actor_id FROM payout_events WHERE payout_id = $1 ORDER BY at, id",
            *id,
        )
        .await;
        let actors: Vec<(&str, i64)> = kinds.iter().map(|(k, a)| (k.as_str(), *a)).collect();
        let expected: &[(&str, i64)] = match status.as_str() {
            "paid" => &[
                ("checked", first),
                ("ordered", second),
                ("added_to_run", first),
                ("paid", first),
            ],
            "ordered" => &[("checked", first), ("ordered", second)],
            "checked" => &[("checked", first)],
            "returned" => &[("returned", first)],
            _ => &[],
        };
        assert_eq!(actors[0].0, "submitted", "{actors:?}");
        assert_eq!(&actors[1..], expected, "payout {id} ({status})");
    }
    // The runs were built, downloaded and booked on the pages; the proofs submitted there.
    let actions: Vec<(String, i64)> =
        sqlx::query_as("SELECT action, count(*) FROM audit_log GROUP BY action ORDER BY action")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let count = |action: &str| {
        actions
            .iter()
            .find(|(a, _)| a == action)
            .map_or(0, |(_, n)| *n)
    };
    for (action, expected) in [
        ("application.submitted", 4),
        ("decision.proposed", 4),
        ("decision.confirmed", 4),
        ("payout.submitted", 8),
        ("payment_run.created", 4),
        ("payment_run.downloaded", 4),
        ("payment_run.paid", 4),
        ("proof.submitted", 2),
        ("proof.settlement_proposed", 1),
        ("proof.settled", 1),
        ("amendment.submitted", 2),
        ("amendment.notified", 1),
        ("amendment.confirmed", 1),
    ] {
        assert_eq!(count(action), expected, "{action} in {actions:?}");
    }
    // Settled with four eyes and its Schlussbescheid; the change decided with four eyes.
    let (settlement, proposed, settled, repayment): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT id, proposed_by, settled_by, -balance_cents FROM settlements WHERE state = 'confirmed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let pdf = app
        .document(
            "SELECT notice_id FROM settlements WHERE id = $1",
            settlement,
        )
        .await;
    assert_eq!((proposed, settled), (first, second));
    assert_eq!(repayment, 400_000, "72.000 € paid, 80 % of 85.000 € proven");
    let text = crate::review::pdf_text(&pdf);
    assert!(text.contains("Schlussbescheid"), "{text}");
    let decided: (i64, i64) =
        sqlx::query_as("SELECT proposed_by, settled_by FROM amendments WHERE status = 'approved'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(decided, (first, second));
}
