//! The second factor: required for ministry accounts before ministry pages, set up with an
//! authenticator app, asked for after the password, with single-use recovery codes.

use foerderportal::accounts::Role;
use foerderportal::accounts::totp;
use foerderportal::demo::DEMO_PASSWORD;
use reqwest::StatusCode;

use crate::common::{Client, TestApp};

const ADMIN: &str = "admin@demo.foerderportal.example";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn required() -> TestApp {
    TestApp::spawn_with(|c| c.require_second_factor = true).await
}

/// Sets up the app for a signed-in client; returns the secret and the recovery codes.
async fn set_up(client: &Client) -> (String, Vec<String>) {
    let setup = client.get("/konto/zweiter-faktor").await;
    assert_eq!(setup.status, StatusCode::OK);
    let secret = setup.text("code.secret");
    let code = totp::code_at(&secret, now());
    let done = client
        .submit_from(
            &setup,
            "/konto/zweiter-faktor",
            "form[action='/konto/zweiter-faktor']",
            &[("code", &code)],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    (secret, done.texts("ul.recovery-codes code"))
}

#[tokio::test]
async fn a_ministry_account_must_set_up_the_second_factor_before_ministry_pages() {
    let app = required().await;
    let admin = app.sign_in_as(Role::Admin).await;

    let blocked = admin.get("/admin/benutzer").await;
    assert_eq!(
        (blocked.status, blocked.location()),
        (StatusCode::SEE_OTHER, Some("/konto/zweiter-faktor"))
    );
    assert_eq!(
        admin
            .get("/konto/zweiter-faktor")
            .await
            .count(".notice-warning"),
        1,
        "says it is required"
    );

    let wrong = admin
        .submit(
            "/konto/zweiter-faktor",
            "form[action='/konto/zweiter-faktor']",
            &[("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text("#code-error")
            .starts_with("Fehler: Der Code stimmt nicht.")
    );

    let (_, codes) = set_up(&admin).await;
    assert_eq!(codes.len(), 10);
    assert_eq!(
        admin.get("/admin/benutzer").await.status,
        StatusCode::OK,
        "the new session counts as verified"
    );
}

#[tokio::test]
async fn clerks_are_not_forced_to_use_a_second_factor() {
    let app = required().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let page = clerk.get("/konto/zweiter-faktor").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.count(".notice-warning"), 0);
}

#[tokio::test]
async fn after_the_password_the_code_is_asked_for_and_a_code_works_only_once() {
    let app = required().await;
    let (secret, _) = set_up(&app.sign_in_as(Role::Admin).await).await;

    let client = app.client();
    let first = client.sign_in(ADMIN, DEMO_PASSWORD).await;
    assert_eq!(
        first.location(),
        Some("/anmelden/zweiter-faktor?next=%2Fkonto")
    );
    assert_eq!(
        client.get("/konto").await.status,
        StatusCode::SEE_OTHER,
        "nothing opens before the code"
    );

    let wrong = client
        .submit(
            "/anmelden/zweiter-faktor?next=%2Fkonto",
            "form",
            &[("code", "123456")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text("#code-error")
            .starts_with("Fehler: Der Code ist nicht richtig")
    );

    // The setup used the current time step; an app shows the next code 30 s later.
    let code = totp::code_at(&secret, now() + 30);
    let done = client
        .submit(
            "/anmelden/zweiter-faktor?next=%2Fkonto",
            "form",
            &[("code", &code)],
        )
        .await;
    assert_eq!(done.location(), Some("/konto"));
    assert_eq!(client.get("/admin/benutzer").await.status, StatusCode::OK);

    let again = app.client();
    again.sign_in(ADMIN, DEMO_PASSWORD).await;
    let replay = again
        .submit("/anmelden/zweiter-faktor", "form", &[("code", &code)])
        .await;
    assert_eq!(
        replay.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the same code does not work twice"
    );
}

#[tokio::test]
async fn a_recovery_code_opens_the_account_once() {
    let app = required().await;
    let (_, codes) = set_up(&app.sign_in_as(Role::Admin).await).await;

    let client = app.client();
    client.sign_in(ADMIN, DEMO_PASSWORD).await;
    let done = client
        .submit(
            "/anmelden/zweiter-faktor",
            "form",
            &[("code", &codes[3].to_lowercase())],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(
        client
            .get("/konto/zweiter-faktor")
            .await
            .text("p.codes-left")
            .contains("noch 9 unbenutzte")
    );

    let other = app.client();
    other.sign_in(ADMIN, DEMO_PASSWORD).await;
    let reused = other
        .submit("/anmelden/zweiter-faktor", "form", &[("code", &codes[3])])
        .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn after_ten_wrong_codes_the_password_is_needed_again() {
    let app = required().await;
    let (secret, _) = set_up(&app.sign_in_as(Role::Admin).await).await;
    let client = app.client();
    client.sign_in(ADMIN, DEMO_PASSWORD).await;
    for _ in 0..10 {
        let wrong = client
            .submit("/anmelden/zweiter-faktor", "form", &[("code", "000000")])
            .await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    let stopped = client
        .submit("/anmelden/zweiter-faktor", "form", &[("code", "000000")])
        .await;
    assert_eq!(stopped.location(), Some("/anmelden"));
    assert_eq!(
        client.get("/anmelden/zweiter-faktor").await.location(),
        Some("/anmelden"),
        "the half-way session is gone"
    );

    // Even with the password again, the right code waits for the quarter hour to pass.
    let again = app.client();
    again.sign_in(ADMIN, DEMO_PASSWORD).await;
    let code = totp::code_at(&secret, now() + 30);
    let refused = again
        .submit("/anmelden/zweiter-faktor", "form", &[("code", &code)])
        .await;
    assert_eq!(refused.location(), Some("/anmelden"));
}

#[tokio::test]
async fn setting_up_the_second_factor_ends_the_sessions_from_before() {
    let app = required().await;
    let before = app.sign_in_as(Role::Clerk).await;
    let here = app.sign_in_as(Role::Clerk).await;

    set_up(&here).await;

    assert_eq!(before.get("/konto").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        here.get("/konto").await.status,
        StatusCode::OK,
        "the session that set it up continues"
    );
}

#[tokio::test]
async fn looking_at_the_setup_page_changes_nothing() {
    let app = required().await;
    let admin = app.sign_in_as(Role::Admin).await;

    let first = admin.get("/konto/zweiter-faktor").await.text("code.secret");
    let second = admin.get("/konto/zweiter-faktor").await.text("code.secret");

    assert_ne!(first, second);
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE totp_secret IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
}
