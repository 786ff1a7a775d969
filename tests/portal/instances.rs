//! Two `serve` processes on one database behind nginx (Debian's), with the files in one S3
//! bucket and mail through one SMTP server: a user signs in through one instance and goes on
//! at the other (no sticky sessions: sessions live in PostgreSQL); an upload made through one
//! downloads through the other; with both mail workers running every message goes out exactly
//! once; and a deadline reminder that both instances find due at their start goes out once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use foerderportal::accounts::Role;
use reqwest::StatusCode;
use tokio::process::{Child, Command};

use crate::applications::{PDF, start, upload};
use crate::common::s3::{self, S3Server};
use crate::common::smtp::SmtpSink;
use crate::common::{Client, fresh_database_as_owner};

/// What both instances share: the database, the bucket, the SMTP server, the key and the
/// public address (nginx's).
struct Shared {
    database_url: String,
    bucket: S3Server,
    sink: SmtpSink,
    secret_key: String,
    public: String,
    scratch: PathBuf,
}

impl Shared {
    /// One `serve` on `port`; stopped when dropped.
    fn instance(&self, port: u16) -> Child {
        std::fs::create_dir_all(&self.scratch).unwrap();
        let log = std::fs::File::create(self.scratch.join(format!("{port}.log"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_foerderportal"))
            .arg("serve")
            .env("DATABASE_URL", &self.database_url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("BASE_URL", &self.public)
            .env("VAR_DIR", self.scratch.join(port.to_string()))
            .env("SECRET_KEY", &self.secret_key)
            .env("SMTP_URL", self.sink.url())
            .env("STORAGE_URL", format!("s3://{}/{}", s3::BUCKET, s3::PREFIX))
            .env("S3_ENDPOINT", &self.bucket.endpoint)
            .env("S3_ACCESS_KEY_ID", s3::ACCESS_KEY)
            .env("S3_SECRET_ACCESS_KEY", s3::SECRET_KEY)
            .env("TRUSTED_PROXIES", "127.0.0.1")
            .env("REQUIRE_SECOND_FACTOR", "false")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    /// Waits until the instance on `port` answers ready (at most a minute; machines are slow
    /// while they build).
    async fn ready(&self, port: u16) {
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..600 {
            if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(self.scratch.join(format!("{port}.log")));
        panic!("{base} did not become ready: {}", log.unwrap_or_default());
    }
}

/// nginx in front of both instances (round robin), telling which one answered.
struct Nginx {
    child: Child,
}

impl Nginx {
    /// Starts nginx, or returns None after a loud skip message when it is not installed
    /// (Debian nginx; FP_REQUIRE_DEPLOY_TOOLS=1, as CI sets it, makes that a failure).
    async fn start(dir: &Path, port: u16, upstreams: &[u16]) -> Option<Nginx> {
        let binary = crate::common::system_tool("nginx", "FP_REQUIRE_DEPLOY_TOOLS")?;
        std::fs::create_dir_all(dir).unwrap();
        // nginx's workers may run as another user: they write their temporary files here.
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        let servers: String = upstreams
            .iter()
            .map(|p| format!("server 127.0.0.1:{p};"))
            .collect();
        let d = dir.display();
        let conf = format!(
            "worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log;
             events {{ worker_connections 256; }}
             http {{
               access_log off;
               client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
               fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
               client_max_body_size 25m;
               upstream portal {{ {servers} }}
               server {{
                 listen 127.0.0.1:{port};
                 location / {{
                   proxy_pass http://portal;
                   proxy_set_header Host $http_host;
                   proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                   proxy_set_header X-Forwarded-Proto $scheme;
                   add_header X-Upstream $upstream_addr always;
                 }}
               }}
             }}"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(Nginx { child });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
    }
}

async fn reminders(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE kind = 'deadline-reminder'")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn two_instances_behind_nginx_share_sessions_files_mail_and_reminders() {
    let (owner, name) = fresh_database_as_owner().await;
    let pool = sqlx::PgPool::connect_with(owner.clone()).await.unwrap();
    let (nginx_port, a, b) = (
        crate::common::free_port(),
        crate::common::free_port(),
        crate::common::free_port(),
    );
    let scratch = std::env::temp_dir().join(format!("fp_instances_{name}"));
    let shared = Shared {
        database_url: foerderportal::database::url_of(&owner, &name),
        bucket: S3Server::start().await,
        sink: SmtpSink::start().await,
        secret_key: foerderportal::secrets::new_key(),
        public: format!("http://127.0.0.1:{nginx_port}"),
        scratch: scratch.clone(),
    };
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{a}"),
        format!("http://127.0.0.1:{b}"),
    );
    let mut instances = vec![shared.instance(a), shared.instance(b)];
    shared.ready(a).await;
    shared.ready(b).await;
    let Some(mut nginx) = Nginx::start(&scratch.join("nginx"), nginx_port, &[a, b]).await else {
        return;
    };

    // Signed in through nginx; the next pages come from both instances, in one session.
    let clerk = Client::new(&shared.public);
    let account = foerderportal::demo::DEMO_ACCOUNTS
        .iter()
        .find(|d| d.role == Role::Clerk)
        .unwrap();
    let signed_in = clerk
        .sign_in(account.email, foerderportal::demo::DEMO_PASSWORD)
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let mut served_by = BTreeMap::new();
    for _ in 0..6 {
        let page = clerk.get("/antraege").await;
        assert_eq!(page.status, StatusCode::OK, "still signed in");
        assert!(page.body.contains("Abmelden"), "as the clerk");
        let upstream = page.header("x-upstream").unwrap().to_string();
        *served_by.entry(upstream).or_insert(0) += 1;
    }
    let both: std::collections::BTreeSet<String> =
        [format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}")].into();
    assert_eq!(
        served_by
            .keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        both,
        "both instances served the session: {served_by:?}"
    );

    // Uploaded at one instance, downloaded from the other.
    let id = start(&clerk).await;
    let at_a = clerk.at(&base_a);
    let uploaded = upload(&at_a, id, "extra", "Angebot.pdf", PDF).await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let at_b = clerk.at(&base_b);
    let page = at_b.get(&format!("/antraege/{id}/anlagen")).await;
    let href = page.attr(".file-list a", "href").unwrap();
    assert_eq!(at_b.download(&href).await, (StatusCode::OK, PDF.to_vec()));

    // Both mail workers running: every message exactly once.
    crate::mail::enqueue_receipts(&pool, 40).await;
    let messages = shared.sink.wait_for(40).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut per_id = BTreeMap::new();
    for m in shared.sink.messages() {
        *per_id.entry(m.header("message-id").unwrap()).or_insert(0) += 1;
    }
    assert!(messages.len() >= 40);
    assert_eq!(
        per_id.len(),
        shared.sink.messages().len(),
        "no message twice"
    );
    assert_eq!(per_id.len(), 40);

    // A deadline reminder both instances find due as they start: enqueued and sent once.
    sqlx::query("UPDATE rounds SET closes_at = now() + interval '5 days'")
        .execute(&pool)
        .await
        .unwrap();
    // Stopped and gone (their ports free) before they start again.
    for mut instance in instances.drain(..) {
        instance.kill().await.unwrap();
    }
    instances.extend([shared.instance(a), shared.instance(b)]);
    shared.ready(a).await;
    shared.ready(b).await;
    for _ in 0..100 {
        if reminders(&pool).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(reminders(&pool).await, 1);
    let mail = shared.sink.wait_for_mail_to(account.email).await;
    assert!(mail.header("subject").unwrap().contains("Erinnerung"));
    let to_clerk = shared
        .sink
        .messages()
        .iter()
        .filter(|m| m.rcpt_to.iter().any(|r| r == account.email))
        .count();
    assert_eq!(to_clerk, 1, "the reminder went out once");

    let _ = nginx.child.kill().await;
    drop(instances);
    let _ = std::fs::remove_dir_all(&scratch);
}
