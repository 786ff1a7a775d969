//! The backup and restore drill: `foerderportal backup` of a lived-in portal (database and the
//! files in its bucket), `foerderportal restore` into a fresh database and a fresh bucket, the
//! portal started on them in its own process, and a known application with its attachments
//! and its notice checked there, byte for byte.

use std::process::Stdio;

// Not std's: the CLI's processes are awaited without blocking the test's runtime, on which
// the S3 servers run.
use tokio::process::Command;

use foerderportal::demo::DEMO_PASSWORD;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::common::s3::{self, S3Server};
use crate::common::{Client, TestApp, unused_database_name};

/// The CLI with the portal's database and bucket.
fn cli(database_url: &str, bucket: &S3Server) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_foerderportal"));
    cmd.env("DATABASE_URL", database_url)
        .env("STORAGE_URL", format!("s3://{}/{}", s3::BUCKET, s3::PREFIX))
        .env("S3_ENDPOINT", &bucket.endpoint)
        .env("S3_ACCESS_KEY_ID", s3::ACCESS_KEY)
        .env("S3_SECRET_ACCESS_KEY", s3::SECRET_KEY)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir());
    cmd
}

async fn output(cmd: &mut Command) -> std::process::Output {
    cmd.stdin(Stdio::null()).output().await.unwrap()
}

async fn succeeds(cmd: &mut Command) -> String {
    let out = output(cmd).await;
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_backup_restores_into_a_fresh_database_and_bucket_and_the_portal_serves_it_intact() {
    let source = S3Server::start().await;
    let app = TestApp::spawn_with(|c| c.storage = source.storage()).await;
    crate::catalogue::lived_in(&app).await;
    let id = crate::catalogue::demo_grant(&app).await;
    let notice = app.document(crate::review::CONFIRMED_NOTICE, id).await;
    let attachments: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT id, sha256 FROM application_attachments WHERE application_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(attachments.len() >= 2, "the grant has its documents");
    let objects = source.objects();

    let dir = std::env::temp_dir().join(format!("fp_backup_{}", uuid::Uuid::new_v4().simple()));
    let said = succeeds(cli(&app.database_url(), &source).arg("backup").arg(&dir)).await;
    assert!(said.contains(&format!("{objects} files")), "{said}");

    // A fresh database (created by the restore) and a fresh bucket.
    let target = S3Server::start().await;
    let fresh = app.database_url().replace(
        app.database_url_options.get_database().unwrap(),
        &unused_database_name().await,
    );
    succeeds(cli(&fresh, &target).arg("restore").arg(&dir)).await;
    assert_eq!(target.objects(), objects);
    // Restoring over a portal's database is refused.
    let again = output(cli(&fresh, &target).arg("restore").arg(&dir)).await;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let port = crate::common::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let scratch = std::env::temp_dir().join(format!("fp_restored_{port}"));
    let _served = cli(&fresh, &target)
        .arg("serve")
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("BASE_URL", &base)
        .env("VAR_DIR", &scratch)
        .env("SECRET_KEY", foerderportal::secrets::new_key())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let clerk = Client::new(&base);
    let mut up = false;
    for _ in 0..200 {
        if clerk
            .http
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the restored portal starts");
    let signed_in = clerk
        .sign_in("kommune@demo.foerderportal.example", DEMO_PASSWORD)
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let case = clerk.get(&format!("/antraege/{id}")).await;
    assert_eq!(case.status, StatusCode::OK);
    assert!(case.text("h1").contains("Digitales Bürgerbüro"));
    let (status, pdf) = clerk
        .download(&format!("/antraege/{id}/bescheid.pdf"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf == notice, "the notice is intact");
    for (file, sha256) in &attachments {
        let (status, bytes) = clerk
            .download(&format!("/antraege/{id}/anlagen/{file}"))
            .await;
        assert_eq!(status, StatusCode::OK, "attachment {file}");
        assert_eq!(
            Sha256::digest(&bytes).to_vec(),
            *sha256,
            "attachment {file} intact"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&scratch);
}
