//! What an attacker or a fault tries from outside: slow clients, stolen sessions, interrupted
//! uploads, silent mail servers, foreign Host headers, a database that goes away.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use foerderportal::accounts::Role;
use foerderportal::demo::DEMO_PASSWORD;

use crate::common::TestApp;
use crate::common::smtp::SmtpSink;

const CLERK: &str = "kommune@demo.foerderportal.example";
const REVIEWER: &str = "pruefung@demo.foerderportal.example";

/// The portal's own binary serving the test database in a process of its own, with the
/// open-file limit most machines start processes with.
struct ServerProcess {
    child: Child,
    base_url: String,
    port: u16,
}

impl ServerProcess {
    async fn start(app: &TestApp, open_files: u32) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base_url = format!("http://127.0.0.1:{port}");
        let binary = env!("CARGO_BIN_EXE_foerderportal");
        let child = Command::new("bash")
            .args([
                "-c",
                &format!("ulimit -n {open_files} && exec \"$0\" serve"),
                binary,
            ])
            .env("DATABASE_URL", app.database_url())
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("BASE_URL", &base_url)
            .env("VAR_DIR", app.config.var_dir.join("process"))
            .env("RUST_LOG", "warn")
            .env("SECRET_KEY", foerderportal::secrets::new_key())
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the portal binary");
        let server = ServerProcess {
            child,
            base_url,
            port,
        };
        for _ in 0..300 {
            if let Ok(r) = reqwest::get(format!("{}/healthz", server.base_url)).await
                && r.status() == StatusCode::OK
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the portal process did not come up");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection that sends the start of a request and then nothing.
async fn half_open(port: u16) -> Option<TcpStream> {
    let connect = TcpStream::connect(("127.0.0.1", port));
    let mut stream = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .ok()?
        .ok()?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Langsam: ")
        .await
        .ok()?;
    Some(stream)
}

fn is_closed_by_server(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    match stream.try_read(&mut buf) {
        Ok(0) => true,
        Ok(_) => true,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

#[tokio::test]
async fn slow_clients_cannot_exhaust_the_server_a_normal_request_still_gets_through() {
    let app = TestApp::spawn().await;
    // 1,024 open files: without a bound on connections about 1,000 slow clients were enough
    // to make the server unreachable ("Too many open files").
    let server = ServerProcess::start(&app, 1024).await;
    let mut slow = Vec::new();
    for _ in 0..1100 {
        if let Some(stream) = half_open(server.port).await {
            slow.push(stream);
        }
    }
    assert!(slow.len() >= 1000, "only {} connected", slow.len());

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let started = Instant::now();
    let answer = client
        .get(format!("{}/healthz", server.base_url))
        .send()
        .await
        .expect("the health check is answered");
    let took = started.elapsed();
    assert_eq!(answer.status(), StatusCode::OK);
    let held = slow.iter().filter(|s| !is_closed_by_server(s)).count();
    eprintln!(
        "{} slow connections opened, {held} still held; /healthz answered in {:.1} ms",
        slow.len(),
        took.as_secs_f64() * 1000.0
    );
    assert!(
        took < Duration::from_secs(1),
        "the health check took {took:?}"
    );
    // A real page too, not just the health check.
    let page = client
        .get(format!("{}/", server.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_connection_whose_headers_never_complete_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with(|c| c.header_timeout = Duration::from_secs(1)).await;
    let port = app.config.listen_addr.port();
    let mut stream = half_open(port).await.expect("connects");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the server still holds the half-open connection after 5 s"
    );
    // A client that completes its request in time is served as always.
    let page = app.client().get("/healthz").await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test]
async fn signing_in_again_in_the_same_browser_ends_the_previous_session() {
    let app = TestApp::spawn().await;
    let browser = app.sign_in_as(Role::Clerk).await;
    let replaced = browser.cookie_header();
    let again = browser.sign_in(CLERK, DEMO_PASSWORD).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/konto").await.status, StatusCode::OK);

    // Whoever copied the earlier cookie cannot use it any more.
    let stolen = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/konto"))
        .header("cookie", replaced)
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), StatusCode::SEE_OTHER);
    assert!(
        stolen.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/anmelden")
    );
    let sessions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1",
    )
    .bind(CLERK)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(sessions, 1);
}

#[tokio::test]
async fn saving_a_users_roles_unchanged_changes_nothing() {
    let app = TestApp::spawn().await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(REVIEWER)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let detail = format!("/admin/benutzer/{id}");
    let saved = admin.submit(&detail, "form[action$='/rolle']", &[]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let shown = admin.get(&detail).await;
    assert!(shown.body.contains("unverändert"), "{}", shown.body);
    assert_eq!(
        reviewer.get("/konto").await.status,
        StatusCode::OK,
        "still signed in"
    );
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'user.roles_changed'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 0);
}

/// A raw HTTP/1.1 request with the given Host header; the status and the body.
async fn with_host(port: u16, path: &str, host: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn only_the_configured_host_and_loopback_are_answered() {
    let app =
        TestApp::spawn_with(|c| c.base_url = "https://foerderportal.thueringen.de".into()).await;
    let port = app.config.listen_addr.port();
    let (status, body) = with_host(port, "/", "rebind.evil.example").await;
    assert_eq!(status, 400);
    assert!(body.contains("Unbekannte Adresse"), "{body}");
    assert!(
        body.contains("<html"),
        "the German error page, not a bare status"
    );
    assert_eq!(
        with_host(port, "/", "foerderportal.thueringen.de").await.0,
        200
    );
    assert_eq!(
        with_host(port, "/healthz", &format!("127.0.0.1:{port}"))
            .await
            .0,
        200
    );
    assert_eq!(with_host(port, "/healthz", "localhost").await.0, 200);
    assert_eq!(with_host(port, "/healthz", "evil.example").await.0, 400);
}

#[tokio::test]
async fn while_the_database_is_down_pages_say_so_with_503_and_come_back_afterwards() {
    let (app, database) = TestApp::spawn_behind_relay(|_| {}).await;
    let visitor = app.client();
    let clerk = app.sign_in_as(Role::Clerk).await;
    assert_eq!(visitor.get("/foerderaufrufe").await.status, StatusCode::OK);

    database.cut();
    for (who, path) in [(&visitor, "/foerderaufrufe"), (&clerk, "/antraege")] {
        let page = who.get(path).await;
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(page.header("retry-after"), Some("30"), "{path}");
        assert!(
            page.text("h1").contains("vorübergehend nicht erreichbar"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("PoolTimedOut") && !page.body.contains("sqlx"));
    }
    let ready = visitor.get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);

    database.restore();
    let mut back = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        back = visitor.get("/foerderaufrufe").await.status;
        if back == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(back, StatusCode::OK);
    assert_eq!(
        clerk.get("/antraege").await.status,
        StatusCode::OK,
        "the session survived"
    );
}

#[tokio::test]
async fn a_huge_text_part_in_an_upload_form_is_refused_without_being_buffered() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = crate::applications::start(&clerk).await;
    let page = clerk.get(&format!("/antraege/{id}/anlagen")).await;
    let token = page.attr("input[name='csrf_token']", "value").unwrap();
    let huge = "x".repeat(app.config.body_limit_bytes + 1);
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .text("document", huge)
        .part(
            "datei",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n".to_vec()).file_name("a.pdf"),
        );
    let response = clerk
        .http
        .post(app.url(&format!("/antraege/{id}/anlagen")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn an_upload_cut_off_by_the_request_timeout_leaves_no_file_behind() {
    let app = TestApp::spawn_with(|c| c.request_timeout = Duration::from_secs(1)).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = crate::applications::start(&clerk).await;
    let page = clerk.get(&format!("/antraege/{id}/anlagen")).await;
    let token = page.attr("input[name='csrf_token']", "value").unwrap();
    let incoming = app.config.data_dir.join("attachments/incoming");

    let mut body = format!(
        "--grenze\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
         --grenze\r\nContent-Disposition: form-data; name=\"document\"\r\n\r\nextra\r\n\
         --grenze\r\nContent-Disposition: form-data; name=\"datei\"; filename=\"a.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    )
    .into_bytes();
    body.extend(std::iter::repeat_n(b'x', 200_000));
    let port = app.config.listen_addr.port();
    let head = format!(
        "POST /antraege/{id}/anlagen HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {}\r\n\
         Origin: {}\r\nContent-Type: multipart/form-data; boundary=grenze\r\n\
         Content-Length: 5000000\r\n\r\n",
        clerk.cookie_header(),
        app.base_url
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    // The rest of the file never comes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let receiving = std::fs::read_dir(&incoming).map_or(0, std::iter::Iterator::count);
    assert_eq!(receiving, 1, "the upload is being received");
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 504"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    assert_eq!(
        std::fs::read_dir(&incoming).unwrap().count(),
        0,
        "the partial file is gone"
    );
}

#[tokio::test]
async fn files_of_unfinished_uploads_are_swept_once_old() {
    let app = TestApp::spawn().await;
    let incoming = app.config.data_dir.join("attachments/incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let old = incoming.join("0123456789abcdef0123456789abcdef");
    let fresh = incoming.join("fedcba9876543210fedcba9876543210");
    std::fs::write(&old, b"%PDF-1.4 halb").unwrap();
    std::fs::write(&fresh, b"%PDF-1.4 gerade").unwrap();
    let status = Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(status.success());
    let store = foerderportal::applications::store::FileStore::local(&app.config.data_dir);
    let removed = store
        .sweep_incoming(Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert!(!old.exists());
    assert!(fresh.exists(), "an upload in progress is left alone");
}

#[tokio::test]
async fn the_answer_to_a_reset_request_does_not_wait_for_the_account_lookup() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    let visitor = app.client();
    let form = visitor.get("/passwort-vergessen").await;
    // While the accounts cannot be read, the answer still comes at once, the same as for an
    // unknown address; the link follows when the lookup can run.
    let mut blocker = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let started = Instant::now();
    let known = visitor
        .submit_from(
            &form,
            "/passwort-vergessen",
            "form[action='/passwort-vergessen']",
            &[("email", CLERK)],
        )
        .await;
    assert_eq!(known.status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the answer waited {:?} for the lookup",
        started.elapsed()
    );
    assert!(sink.messages().is_empty());
    blocker.rollback().await.unwrap();
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].rcpt_to, [CLERK]);
}

#[tokio::test]
async fn the_form_token_is_masked_anew_in_every_response_and_each_one_works() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let first = clerk.get("/konto").await;
    let second = clerk.get("/konto").await;
    let token = |page: &crate::common::Page| page.attr("input[name=csrf_token]", "value").unwrap();
    assert_ne!(
        token(&first),
        token(&second),
        "compression cannot learn a token that changes"
    );
    let session_token: String = sqlx::query_scalar(
        "SELECT s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1",
    )
    .bind(CLERK)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        !first.body.contains(&session_token),
        "the bare token is never on a page"
    );
    // An empty password form passes the token check and fails at the fields.
    for page in [&first, &second] {
        let checked = clerk
            .submit_from(page, "/konto", "form[action='/konto/passwort']", &[])
            .await;
        assert_eq!(checked.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let bare = clerk
        .post("/konto/passwort", &[("csrf_token", &session_token)])
        .await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn refused_requests_are_audited_once_per_person_and_route_not_per_request() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    for _ in 0..5 {
        assert_eq!(clerk.get("/pruefung").await.status, StatusCode::FORBIDDEN);
    }
    for id in [1, 2, 3] {
        let page = clerk.get(&format!("/admin/benutzer/{id}")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
    }
    let entries: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT subject, actor_id FROM audit_log WHERE action = 'access.denied' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let clerk_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(CLERK)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        entries,
        [
            ("GET /pruefung".to_string(), Some(clerk_id)),
            ("GET /admin/benutzer/{id}".to_string(), Some(clerk_id)),
        ]
    );
}

#[tokio::test]
async fn a_client_that_never_reads_its_responses_is_cut_off() {
    let app = TestApp::spawn_with(|c| {
        c.request_timeout = Duration::from_secs(1);
        c.header_timeout = Duration::from_secs(60);
    })
    .await;
    let start = app.client().get("/").await;
    let stylesheet = start.attr("link[rel=stylesheet]", "href").unwrap();
    let port = app.config.listen_addr.port();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // Far more responses than the socket buffers hold, asked for at once and never read.
    let request = format!("GET {stylesheet} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream
        .write_all(request.repeat(1500).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut sink = Vec::new();
    let drained = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut sink)).await;
    assert!(
        drained.is_ok(),
        "the server still serves a client that stopped reading"
    );
    assert!(
        sink.len() < 1500 * 19_000,
        "cut off before all {} bytes were sent",
        sink.len()
    );
}
