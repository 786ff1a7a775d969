//! Login, sessions, CSRF and role-based access.

use foerderportal::accounts::Role;
use foerderportal::demo::DEMO_PASSWORD;
use reqwest::StatusCode;

use crate::common::TestApp;

const CLERK: &str = "kommune@demo.foerderportal.example";

#[tokio::test]
async fn a_clerk_signs_in_and_sees_their_name_role_and_municipality() {
    let app = TestApp::spawn().await;
    let client = app.client();

    let response = client.sign_in(CLERK, DEMO_PASSWORD).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location(), Some("/antraege"));

    let page = client.get("/konto").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.text(".account strong"),
        "Karla Kommunal (Kyffhäuserkreis)"
    );
    let values = page.texts("dl.summary-list dd");
    assert!(
        values.contains(&"Kommunale Sachbearbeitung".to_string()),
        "{values:?}"
    );
    assert!(
        values.contains(&"Kyffhäuserkreis".to_string()),
        "{values:?}"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let client = app.client();

    let wrong = client.sign_in(CLERK, "falsches-passwort-123").await;
    let unknown = client
        .sign_in("niemand@example.org", "falsches-passwort-123")
        .await;

    for page in [&wrong, &unknown] {
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.text("title").starts_with("Fehler: "));
        assert_eq!(page.text(".error-summary h2"), "Es gibt ein Problem");
        assert_eq!(
            page.text(".error-summary a"),
            "E-Mail-Adresse oder Passwort ist nicht richtig."
        );
        assert_eq!(
            page.attr(".error-summary a", "href").as_deref(),
            Some("#email")
        );
        assert_eq!(page.count(".account"), 0, "nobody is signed in");
    }
    // What the user typed is kept; the password is not echoed.
    assert_eq!(wrong.attr("#email", "value").as_deref(), Some(CLERK));
    assert_eq!(wrong.attr("#password", "value"), None);
}

#[tokio::test]
async fn empty_login_fields_are_named_next_to_each_field() {
    let app = TestApp::spawn().await;
    let page = app.client().sign_in("", "").await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.text("#email-error"),
        "Fehler: Bitte geben Sie Ihre E-Mail-Adresse ein."
    );
    assert_eq!(
        page.text("#password-error"),
        "Fehler: Bitte geben Sie Ihr Passwort ein."
    );
    assert_eq!(
        page.attr("#email", "aria-describedby").as_deref(),
        Some("email-error")
    );
}

#[tokio::test]
async fn an_anonymous_visitor_is_sent_to_the_login_and_back_afterwards() {
    let app = TestApp::spawn().await;
    let client = app.client();

    let page = client.get("/admin/kommunen?q=Gotha").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        Some("/anmelden?next=%2Fadmin%2Fkommunen%3Fq%3DGotha")
    );

    let done = client
        .submit(
            page.location().unwrap(),
            "form[action='/anmelden']",
            &[
                ("email", "admin@demo.foerderportal.example"),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.location(), Some("/admin/kommunen?q=Gotha"));
}

#[tokio::test]
async fn the_login_never_redirects_to_another_site() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for evil in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let page = client
            .submit(
                &format!("/anmelden?next={}", urlencode(evil)),
                "form[action='/anmelden']",
                &[("email", CLERK), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(page.location(), Some("/antraege"), "{evil}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn logging_out_ends_the_session_on_the_server() {
    let app = TestApp::spawn().await;
    let client = app.sign_in_as(Role::Clerk).await;
    let cookie = client.cookie_header();
    assert!(cookie.contains("fp_session="), "{cookie}");

    let page = client
        .submit("/konto", "form[action='/abmelden']", &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/"));
    assert_eq!(
        client.get("/").await.text(".notice"),
        "Hinweis: Sie haben sich abgemeldet."
    );
    assert_eq!(
        client.get("/").await.count(".notice"),
        0,
        "the message is shown once"
    );

    // The old cookie, replayed, opens nothing.
    let replay = app
        .client()
        .http
        .get(app.url("/konto"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn a_session_idle_for_longer_than_the_timeout_is_gone() {
    let app =
        TestApp::spawn_with(|c| c.session_idle_timeout = std::time::Duration::from_secs(3)).await;
    let client = app.sign_in_as(Role::Reviewer).await;
    assert_eq!(client.get("/konto").await.status, StatusCode::OK);

    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;

    let page = client.get("/konto").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().unwrap().starts_with("/anmelden"));
}

#[tokio::test]
async fn a_form_without_its_token_is_refused() {
    let app = TestApp::spawn().await;
    let client = app.client();
    client.get("/anmelden").await; // gets the visitor cookie, but we do not send the token

    let page = client
        .post(
            "/anmelden",
            &[("email", CLERK), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.text("h1"), "Das Formular ist abgelaufen");

    let forged = client
        .post(
            "/anmelden",
            &[
                ("email", CLERK),
                ("password", DEMO_PASSWORD),
                ("csrf_token", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_cross_site_post_is_refused_even_with_a_token() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let (_, fields) = client
        .get("/anmelden")
        .await
        .form("form[action='/anmelden']");
    let mut fields = fields;
    fields.insert("email".into(), CLERK.into());
    fields.insert("password".into(), DEMO_PASSWORD.into());

    let response = client
        .http
        .post(app.url("/anmelden"))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&fields)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = crate::common::Page::from(response).await;
    assert_eq!(page.text("h1"), "Das Formular ist abgelaufen");
    assert_eq!(page.count(".account"), 0, "nobody got signed in");
}

#[tokio::test]
async fn only_admins_reach_the_municipality_directory() {
    let app = TestApp::spawn().await;
    for role in [Role::Clerk, Role::Reviewer] {
        let client = app.sign_in_as(role).await;
        let page = client.get("/admin/kommunen").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{role}");
        assert_eq!(page.text("h1"), "Kein Zugriff");
        assert!(
            !page.texts("nav a").contains(&"Kommunen".to_string()),
            "{role} must not see the admin link"
        );
    }

    let admin = app.sign_in_as(Role::Admin).await;
    let page = admin.get("/admin/kommunen").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.count("tbody tr"),
        22,
        "17 Landkreise and 5 kreisfreie Städte"
    );
    assert!(page.texts("nav a").contains(&"Kommunen".to_string()));

    let found = admin.get("/admin/kommunen?q=16067").await;
    assert_eq!(found.texts("tbody tr td:first-child"), ["Landkreis Gotha"]);
}

#[tokio::test]
async fn a_hostile_return_address_in_the_login_form_is_ignored() {
    let app = TestApp::spawn().await;
    for evil in [
        "//evil.example/",
        "/\t/evil.example",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let client = app.client();
        let page = client
            .submit(
                "/anmelden",
                "form[action='/anmelden']",
                &[
                    ("email", CLERK),
                    ("password", DEMO_PASSWORD),
                    ("next", evil),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{evil:?}");
        assert_eq!(page.location(), Some("/antraege"), "{evil:?}");
    }
}

#[tokio::test]
async fn over_https_cookies_are_host_bound_and_secure_and_hsts_is_sent() {
    let app = TestApp::spawn_with(|c| c.base_url = "https://foerderportal.example".into()).await;
    let page = app.client().get("/").await;

    let cookie = page
        .header("set-cookie")
        .expect("the visitor gets a form token");
    assert!(
        cookie.starts_with("__Host-fp_csrf=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
}

#[tokio::test]
async fn ten_failed_logins_throttle_further_attempts_and_are_audited() {
    let app = TestApp::spawn().await;
    let client = app.client();
    for _ in 0..10 {
        let page = client.sign_in(CLERK, "falsches-passwort-123").await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    // Even the right password is not checked while throttled.
    let page = client.sign_in(CLERK, DEMO_PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.text(".error-summary a")
            .starts_with("Zu viele fehlgeschlagene Anmeldeversuche.")
    );
    assert_eq!(page.count(".account"), 0);

    let audited: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, client FROM audit_log WHERE action LIKE 'login%' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        audited.iter().filter(|(a, _)| a == "login.failed").count(),
        10
    );
    assert_eq!(
        audited.last().unwrap(),
        &("login.throttled".to_string(), "127.0.0.1".to_string())
    );
}

#[tokio::test]
async fn failures_from_another_client_do_not_lock_the_real_user_out() {
    let app = TestApp::spawn().await;
    sqlx::query("INSERT INTO login_failures (email, client) SELECT $1, '203.0.113.7' FROM generate_series(1, 20)")
        .bind(CLERK)
        .execute(&app.pool)
        .await
        .unwrap();

    let page = app.client().sign_in(CLERK, DEMO_PASSWORD).await;

    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "the attacker's address is throttled, not the account"
    );
}

#[tokio::test]
async fn the_audit_log_cannot_be_changed_or_emptied() {
    let app = TestApp::spawn().await;
    app.client().sign_in(CLERK, DEMO_PASSWORD).await;

    // The portal's own role lacks the privilege; even the owner meets the trigger.
    let owner = app.owner_pool().await;
    for statement in [
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        for pool in [&app.pool, &owner] {
            let refused = sqlx::query(statement).execute(pool).await;
            assert!(refused.is_err(), "{statement} must be refused");
        }
    }
    // Nor can the portal take the protection away.
    for statement in [
        "DROP TRIGGER audit_log_no_update_or_delete ON audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        "DROP TABLE audit_log",
    ] {
        let refused = sqlx::query(statement).execute(&app.pool).await.unwrap_err();
        assert!(
            refused.to_string().contains("must be owner"),
            "{statement}: {refused}"
        );
    }
    let app_role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(app_role, foerderportal::database::APP_ROLE);
    let logins: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'login'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(logins, 1);
}

#[tokio::test]
async fn spelling_variants_of_an_address_share_one_throttle() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let variants = [
        " kommune@demo.foerderportal.example",
        "KOMMUNE@demo.foerderportal.example",
        "Kommune@Demo.Foerderportal.Example\t",
    ];
    for i in 0..10 {
        client
            .sign_in(variants[i % variants.len()], "falsches-passwort-123")
            .await;
    }

    let page = client.sign_in(CLERK, DEMO_PASSWORD).await;

    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}
