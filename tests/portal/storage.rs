//! The file store's variants: the local directory and an S3-compatible object store (a real
//! S3 server, `common::s3`). The attachment tests run against both; uploads go to the bucket
//! streamed in parts and come back byte for byte; files that no record names are swept.

use foerderportal::accounts::Role;
use foerderportal::config::Config;
use reqwest::StatusCode;

use crate::applications::{PDF, start, upload};
use crate::common::TestApp;
use crate::common::s3::S3Server;

/// Where a test's app keeps its files.
pub enum Backend {
    Local,
    S3(S3Server),
}

impl Backend {
    pub async fn s3() -> Backend {
        Backend::S3(S3Server::start().await)
    }

    /// The app with this file store (and the test's own adjustments).
    pub async fn spawn(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let storage = match self {
            Backend::Local => foerderportal::config::Storage::Directory,
            Backend::S3(server) => server.storage(),
        };
        TestApp::spawn_with(|c| {
            c.storage = storage;
            adjust(c);
        })
        .await
    }

    /// Whether the store holds the file of this key.
    pub fn holds(&self, app: &TestApp, key: &str) -> bool {
        match self {
            Backend::Local => app
                .config
                .data_dir
                .join("attachments")
                .join(&key[..2])
                .join(key)
                .exists(),
            Backend::S3(server) => server.object(key).exists(),
        }
    }
}

#[tokio::test]
async fn attachments_are_checked_by_content_size_and_name_in_the_object_store() {
    let backend = Backend::s3().await;
    let app = backend
        .spawn(|c| c.attachment_max_bytes = 1024 * 1024)
        .await;
    crate::applications::attachments_checked(&app).await;
}

#[tokio::test]
async fn a_draft_is_deleted_with_its_files_in_the_object_store() {
    let backend = Backend::s3().await;
    let app = backend.spawn(|_| {}).await;
    crate::applications::draft_deleted_with_its_files(&app, &backend).await;
}

/// A PDF of `size` bytes whose content changes throughout (so a lost or repeated part shows).
fn large_pdf(size: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut n: u32 = 0;
    while pdf.len() < size {
        n = n.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        pdf.extend_from_slice(&n.to_le_bytes());
    }
    pdf.truncate(size);
    pdf
}

#[tokio::test]
async fn a_large_upload_is_streamed_to_the_bucket_in_parts_and_comes_back_byte_for_byte() {
    let server = S3Server::start().await;
    let app = TestApp::spawn_with(|c| c.storage = server.storage()).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    // Over two parts of 8 MiB: a multipart upload.
    let file = large_pdf(17 * 1024 * 1024 + 123);
    let uploaded = upload(&clerk, id, "extra", "Leistungsverzeichnis.pdf", &file).await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let key: String = sqlx::query_scalar("SELECT storage_key FROM application_attachments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(server.object(&key)).unwrap(),
        file,
        "stored whole"
    );
    let local = app.config.data_dir.join("attachments");
    assert!(
        !local.join(&key[..2]).exists(),
        "nothing is kept on the instance's disk"
    );
    assert_eq!(
        std::fs::read_dir(local.join("incoming")).unwrap().count(),
        0
    );

    let page = clerk.get(&format!("/antraege/{id}/anlagen")).await;
    let href = page.attr(".file-list a", "href").unwrap();
    let (status, body) = clerk.download(&href).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == file, "downloaded byte for byte");
}

/// Files kept without a record (a crash between storing and committing) are swept once old
/// enough; recorded files stay.
async fn orphans_are_swept(backend: Backend) {
    let app = backend.spawn(|_| {}).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    assert_eq!(
        upload(&clerk, id, "extra", "Angebot.pdf", PDF).await.status,
        StatusCode::SEE_OTHER
    );
    let recorded: String = sqlx::query_scalar("SELECT storage_key FROM application_attachments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // What an upload leaves when the process dies after keeping the file, before the commit.
    let state = app.state();
    let mut upload = state.files.begin().await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut upload.file, PDF)
        .await
        .unwrap();
    let orphan = state.files.keep(upload).await.unwrap();
    assert!(backend.holds(&app, &orphan));

    let hour = std::time::Duration::from_secs(3600);
    let young = foerderportal::applications::uploads::sweep_orphans(&state, hour)
        .await
        .unwrap();
    assert_eq!(
        young, 0,
        "a file younger than any transaction is left alone"
    );
    // Object stores date their objects to the second.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let second = std::time::Duration::from_secs(1);
    let swept = foerderportal::applications::uploads::sweep_orphans(&state, second)
        .await
        .unwrap();
    assert_eq!(swept, 1);
    assert!(!backend.holds(&app, &orphan), "the orphan is gone");
    assert!(backend.holds(&app, &recorded), "the recorded file stays");
    let page = clerk.get(&format!("/antraege/{id}/anlagen")).await;
    let href = page.attr(".file-list a", "href").unwrap();
    assert_eq!(clerk.download(&href).await, (StatusCode::OK, PDF.to_vec()));
}

#[tokio::test]
async fn files_no_record_names_are_swept_from_the_directory() {
    orphans_are_swept(Backend::Local).await;
}

#[tokio::test]
async fn files_no_record_names_are_swept_from_the_bucket() {
    orphans_are_swept(Backend::s3().await).await;
}

/// Notices and payment files are kept in the store like uploads: every one the lived-in demo
/// issues (award, change and settlement notices, SEPA files) is in the bucket and not in the
/// database, downloads byte for byte, and the sweep of files no record names leaves it alone.
/// A document issued before documents moved into the store is served from the database until
/// the housekeeping moves it.
#[tokio::test]
async fn issued_documents_are_kept_in_the_bucket_and_survive_the_sweep() {
    use foerderportal::applications::documents;
    let backend = Backend::s3().await;
    let app = backend.spawn(|_| {}).await;
    crate::catalogue::lived_in(&app).await;
    let issued: Vec<(String, i64, Option<String>, bool)> = sqlx::query_as(
        "WITH issued AS (
             SELECT 'decision' AS kind, notice_id AS id FROM decisions
             UNION ALL SELECT 'amendment', notice_id FROM amendments
             UNION ALL SELECT 'settlement', notice_id FROM settlements
             UNION ALL SELECT 'payment run', file_id FROM payment_runs)
         SELECT i.kind, d.id, d.storage_key, d.content IS NULL
         FROM issued i JOIN stored_documents d ON d.id = i.id ORDER BY d.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for kind in ["decision", "amendment", "settlement", "payment run"] {
        assert!(
            issued.iter().any(|d| d.0 == kind),
            "the demo issues a {kind} document"
        );
    }
    let holds_all = |app: &TestApp| {
        issued
            .iter()
            .all(|(_, _, key, _)| backend.holds(app, key.as_deref().unwrap()))
    };
    for (kind, id, key, not_in_database) in &issued {
        assert!(
            key.is_some() && *not_in_database,
            "{kind} document {id} is in the store"
        );
    }
    assert!(holds_all(&app));

    // Object stores date their objects to the second.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let state = app.state();
    foerderportal::applications::uploads::sweep_orphans(&state, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert!(holds_all(&app), "the sweep keeps every issued document");

    let clerk = app.sign_in_as(Role::Clerk).await;
    let grant = crate::catalogue::demo_grant(&app).await;
    let notice = app.document(crate::review::CONFIRMED_NOTICE, grant).await;
    assert!(notice.starts_with(b"%PDF"));
    let path = format!("/antraege/{grant}/bescheid.pdf");
    assert_eq!(
        clerk.download(&path).await,
        (StatusCode::OK, notice.clone())
    );
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let run: i64 = sqlx::query_scalar("SELECT min(id) FROM payment_runs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let file = app
        .document("SELECT file_id FROM payment_runs WHERE id = $1", run)
        .await;
    let (status, downloaded) = reviewer
        .download(&format!("/pruefung/zahllaeufe/{run}/pain001.xml"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        downloaded == file && file.starts_with(b"<?xml"),
        "the SEPA file intact"
    );

    // As migration 23 leaves a notice issued before: its bytes in the database.
    let id: i64 = sqlx::query_scalar(
        "UPDATE stored_documents SET content = $2, storage_key = NULL
         WHERE id = (SELECT notice_id FROM decisions WHERE application_id = $1 AND state = 'confirmed')
         RETURNING id",
    )
    .bind(grant)
    .bind(&notice)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        clerk.download(&path).await,
        (StatusCode::OK, notice.clone())
    );
    let moved = documents::move_into_store(&state.db, &state.files)
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let (key, in_database): (Option<String>, bool) = sqlx::query_as(
        "SELECT storage_key, content IS NOT NULL FROM stored_documents WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        !in_database && backend.holds(&app, &key.unwrap()),
        "moved into the bucket"
    );
    assert_eq!(clerk.download(&path).await, (StatusCode::OK, notice));
}
