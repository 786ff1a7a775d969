//! The municipality directory: importing the Gemeindeverzeichnis from the CLI and through the
//! admins' upload form, with its report, and what a bad file gets.

use std::process::Command;

use foerderportal::accounts::Role;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

use crate::common::{Client, Page, TestApp};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/gemeindeverzeichnis-beispiel.csv"
);

async fn upload(admin: &Client, bytes: Vec<u8>) -> Page {
    let token = admin
        .get("/admin/kommunen/import")
        .await
        .attr("input[name=csrf_token]", "value")
        .unwrap();
    let form = Form::new()
        .text("csrf_token", token)
        .part("datei", Part::bytes(bytes).file_name("verzeichnis.csv"));
    let response = admin
        .http
        .post(format!("{}/admin/kommunen/import", admin.base_url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Page::from(response).await
}

fn report(page: &Page) -> Vec<String> {
    page.texts("dl.import-report dd")
}

async fn active(app: &TestApp, name: &str) -> Option<(bool, Option<String>)> {
    sqlx::query_as(
        "SELECT m.active, p.name FROM municipalities m LEFT JOIN municipalities p ON p.id = m.parent_id WHERE m.name = $1",
    )
    .bind(name)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_admin_imports_the_sample_and_sees_what_happened_to_every_row() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;

    let page = upload(&admin, std::fs::read(SAMPLE).unwrap()).await;

    assert_eq!(page.status, StatusCode::OK);
    // added, updated, unchanged, marked inactive, rejected
    assert_eq!(report(&page), ["4", "0", "0", "0", "5"]);
    let lines: Vec<String> = page.texts("tbody td.num");
    assert_eq!(lines, ["6", "7", "8", "9", "10"]);
    assert!(page.texts("tbody td:nth-child(2)")[1].contains("früheren Zeile"));
    assert_eq!(
        active(&app, "Musterdorf").await,
        Some((true, Some("Kyffhäuserkreis".into())))
    );
    assert_eq!(
        active(&app, "VG Beispielland").await,
        Some((true, Some("Landkreis Gotha".into())))
    );

    let again = upload(&admin, std::fs::read(SAMPLE).unwrap()).await;
    assert_eq!(
        report(&again),
        ["0", "0", "4", "0", "5"],
        "importing the same file changes nothing"
    );
}

#[tokio::test]
async fn a_renamed_municipality_is_updated_and_a_vanished_one_marked_inactive_never_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    upload(&admin, std::fs::read(SAMPLE).unwrap()).await;

    let merged = "AGS;Name;Art\n16065902;Musterdorf-Neu;Gemeinde\n16065901;Beispielstadt am Kyffhäuser;Stadt\n";
    let page = upload(&admin, merged.as_bytes().to_vec()).await;

    assert_eq!(report(&page), ["0", "1", "1", "1", "0"]);
    assert_eq!(
        active(&app, "Musterdorf-Neu").await.map(|a| a.0),
        Some(true)
    );
    assert_eq!(
        active(&app, "Probstzella-Beispiel").await.map(|a| a.0),
        Some(false),
        "kept, inactive"
    );
    assert_eq!(
        active(&app, "VG Beispielland").await.map(|a| a.0),
        Some(true),
        "other kinds are untouched"
    );
    let kreise: i64 = sqlx::query_scalar("SELECT count(*) FROM municipalities WHERE active AND kind IN ('landkreis', 'kreisfreie_stadt')")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kreise, 22);
}

#[tokio::test]
async fn windows_1252_and_comma_separated_files_are_read() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let (bytes, _, _) =
        encoding_rs::WINDOWS_1252.encode("AGS,Name,Art\n16067998,Gräfenhain-Beispiel,Gemeinde\n");

    let page = upload(&admin, bytes.into_owned()).await;

    assert_eq!(report(&page)[0], "1");
    assert!(active(&app, "Gräfenhain-Beispiel").await.is_some());
}

#[tokio::test]
async fn a_bad_file_is_refused_whole_with_a_reason_next_to_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM municipalities")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let wrong_columns = upload(&admin, b"Kennziffer;Bezeichnung\n1;Irgendwo\n".to_vec()).await;
    assert_eq!(wrong_columns.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_columns
            .text("#datei-error")
            .contains("Es fehlen Spalten: AGS oder ARS, Art")
    );
    let empty = upload(&admin, Vec::new()).await;
    assert_eq!(
        empty.text("#datei-error"),
        "Fehler: Bitte wählen Sie eine CSV-Datei aus."
    );
    let binary = upload(&admin, vec![0xff, 0x00, 0xfe, 0x01, b'\n', b';']).await;
    assert!(binary.status.is_client_error());

    let huge = upload(&admin, vec![b'x'; 50 * 1024 * 1024]).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.text("h1"), "Die gesendeten Daten sind zu groß");

    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM municipalities")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(before, after, "nothing was written");
}

#[tokio::test]
async fn the_cli_imports_the_sample_and_prints_the_report() {
    let app = TestApp::spawn().await;
    let url = app.database_url();

    let out = Command::new(env!("CARGO_BIN_EXE_foerderportal"))
        .args(["municipalities", "import", SAMPLE])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("added 4, updated 0, unchanged 0, marked inactive 0, rejected 5"),
        "{stdout}"
    );
    assert!(stdout.contains("line 6: "), "{stdout}");
}

#[tokio::test]
async fn an_admin_corrects_a_municipality_and_bad_values_are_named() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16055000'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let path = format!("/admin/kommunen/{id}");

    let bad = admin
        .submit(
            &path,
            "form[action^='/admin/kommunen/']",
            &[("ags", "1605500"), ("postal_code", "9942"), ("name", "")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.text("h1"),
        "Weimar",
        "the stored name, not the emptied field"
    );
    assert!(bad.text("#ags-error").contains("nicht genau 8 Ziffern"));
    assert_eq!(
        bad.attr("#ags", "value").as_deref(),
        Some("1605500"),
        "what was typed is kept"
    );

    let taken = admin
        .submit(
            &path,
            "form[action^='/admin/kommunen/']",
            &[("ags", "16051000"), ("ars", "")],
        )
        .await;
    assert_eq!(
        taken.text("#ags-error"),
        "Fehler: Dieser AGS oder ARS gehört schon zu einer anderen Kommune."
    );

    let done = admin
        .submit(
            &path,
            "form[action^='/admin/kommunen/']",
            &[
                ("name", "Weimar (Universitätsstadt)"),
                ("postal_code", "99423"),
                ("street", "Schwanseestraße 17"),
            ],
        )
        .await;
    assert_eq!(done.location(), Some("/admin/kommunen"));
    let (name, plz): (String, Option<String>) =
        sqlx::query_as("SELECT name, postal_code FROM municipalities WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (name.as_str(), plz.as_deref()),
        ("Weimar (Universitätsstadt)", Some("99423"))
    );
}
