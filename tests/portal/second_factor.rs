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
            &[("code", &code), ("password", DEMO_PASSWORD)],
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
        Some("/anmelden/zweiter-faktor?next=%2Fadmin%2Ffoerderaufrufe")
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

async fn audited(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stolen_session_alone_cannot_set_up_a_second_factor() {
    let app = required().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let setup = admin.get("/konto/zweiter-faktor").await;
    let secret = setup.text("code.secret");
    let form = "form[action='/konto/zweiter-faktor']";
    let code = totp::code_at(&secret, now());

    for password in ["", "falsches-Passwort-123"] {
        let refused = admin
            .submit_from(
                &setup,
                "/konto/zweiter-faktor",
                form,
                &[("code", &code), ("password", password)],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text("#password-error").contains("Passwort"));
        assert_eq!(
            refused.text("code.secret"),
            secret,
            "the app need not be set up again"
        );
    }
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE totp_secret IS NOT NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
    assert_eq!(audited(&app, "password.current_wrong").await, 1);
    assert_eq!(
        admin.get("/konto").await.status,
        StatusCode::OK,
        "not locked out"
    );
}

#[tokio::test]
async fn new_recovery_codes_need_the_password_and_a_current_code() {
    let app = required().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let (secret, old_codes) = set_up(&admin).await;
    let form = "form[action='/konto/zweiter-faktor/neue-codes']";
    let refused = admin
        .submit(
            "/konto/zweiter-faktor",
            form,
            &[
                ("codes_password", "falsches-Passwort-123"),
                ("codes_code", &totp::code_at(&secret, now() + 30)),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused.text("#codes_password-error");
    assert!(message.contains("nicht richtig"), "{message}");
    let done = admin
        .submit(
            "/konto/zweiter-faktor",
            form,
            &[
                ("codes_password", DEMO_PASSWORD),
                ("codes_code", &totp::code_at(&secret, now() + 30)),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let new_codes = done.texts("ul.recovery-codes code");
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
}

#[tokio::test]
async fn a_new_app_replaces_the_old_one_after_the_password_and_its_first_code() {
    let app = required().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let (old_secret, _) = set_up(&admin).await;
    let page = admin.get("/konto/zweiter-faktor/neue-app").await;
    assert_eq!(page.status, StatusCode::OK);
    let new_secret = page.text("code.secret");
    assert_ne!(new_secret, old_secret);
    let form = "form[action='/konto/zweiter-faktor/neue-app']";
    let code = totp::code_at(&new_secret, now());
    let refused = admin
        .submit_from(
            &page,
            "/konto/zweiter-faktor/neue-app",
            form,
            &[("code", &code)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The password alone does not move the factor: a code of the old app is needed too.
    let without_old = admin
        .submit_from(
            &page,
            "/konto/zweiter-faktor/neue-app",
            form,
            &[("code", &code), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(without_old.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(without_old.text("#current_code-error").contains("Code"));
    let old_code = totp::code_at(&old_secret, now() + 30);
    let done = admin
        .submit_from(
            &page,
            "/konto/zweiter-faktor/neue-app",
            form,
            &[
                ("code", &code),
                ("password", DEMO_PASSWORD),
                ("current_code", &old_code),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(audited(&app, "second_factor.replaced").await, 1);

    let again = app.client();
    again.sign_in(ADMIN, DEMO_PASSWORD).await;
    let old = again
        .submit(
            "/anmelden/zweiter-faktor",
            "form",
            &[("code", &totp::code_at(&old_secret, now() + 30))],
        )
        .await;
    assert_eq!(
        old.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the old app's codes are void"
    );
    let new = again
        .submit(
            "/anmelden/zweiter-faktor",
            "form",
            &[("code", &totp::code_at(&new_secret, now() + 30))],
        )
        .await;
    assert_eq!(new.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_clerk_removes_the_second_factor_with_password_and_code_but_ministry_staff_cannot() {
    let app = required().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let (secret, _) = set_up(&clerk).await;
    let form = "form[action='/konto/zweiter-faktor/entfernen']";
    let refused = clerk
        .submit(
            "/konto/zweiter-faktor",
            form,
            &[
                ("remove_password", DEMO_PASSWORD),
                ("remove_code", "000000"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text("#remove_code-error").contains("Code"));
    let removed = clerk
        .submit(
            "/konto/zweiter-faktor",
            form,
            &[
                ("remove_password", DEMO_PASSWORD),
                ("remove_code", &totp::code_at(&secret, now() + 30)),
            ],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(audited(&app, "second_factor.removed").await, 1);
    let again = app.client();
    let login = again
        .sign_in("kommune@demo.foerderportal.example", DEMO_PASSWORD)
        .await;
    assert_eq!(
        login.location(),
        Some("/antraege"),
        "the password is enough again"
    );

    let admin = app.sign_in_as(Role::Admin).await;
    set_up(&admin).await;
    let page = admin.get("/konto/zweiter-faktor").await;
    assert_eq!(
        page.count(form),
        0,
        "a ministry account must keep its second factor"
    );
    let forged = admin
        .post_with_token(
            "/konto/zweiter-faktor/entfernen",
            &[("remove_password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn second_factor_keys_are_sealed_at_rest_and_clear_ones_are_sealed_at_start() {
    let app = required().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let (secret, _) = set_up(&admin).await;
    let stored: String = sqlx::query_scalar("SELECT totp_secret FROM users WHERE email = $1")
        .bind(ADMIN)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(stored.starts_with("sealed1:"), "{stored}");
    assert!(
        !stored.contains(&secret),
        "a database dump does not reveal the key"
    );

    // A key from before sealing, in clear text: sealed under the current key, and still works.
    let plain = totp::new_secret();
    sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = 0 WHERE email = $2")
        .bind(&plain)
        .bind(ADMIN)
        .execute(&app.pool)
        .await
        .unwrap();
    let secrets = foerderportal::secrets::SecretBox::from_config(&app.config).unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let resealed = foerderportal::accounts::db::reseal_totp_secrets(&mut conn, &secrets)
        .await
        .unwrap();
    assert_eq!(resealed, 1);
    let stored: String = sqlx::query_scalar("SELECT totp_secret FROM users WHERE email = $1")
        .bind(ADMIN)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(stored.starts_with("sealed1:") && !stored.contains(&plain));
    let again = app.client();
    again.sign_in(ADMIN, DEMO_PASSWORD).await;
    let login = again
        .submit(
            "/anmelden/zweiter-faktor",
            "form",
            &[("code", &totp::code_at(&plain, now()))],
        )
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
}
