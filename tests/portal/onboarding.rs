//! Getting into the portal and keeping an account safe: invitations, setting and resetting
//! passwords, the profile, and what admins do with accounts.

use foerderportal::accounts::Role;
use foerderportal::demo::DEMO_PASSWORD;
use reqwest::StatusCode;

use crate::common::smtp::SmtpSink;
use crate::common::{Client, TestApp, link_in, path_of};

const NEW_PASSWORD: &str = "rennsteig tinte wolke kaffeetasse";
const CLERK: &str = "kommune@demo.foerderportal.example";

async fn app_with_mail() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(sink.url().into())).await;
    (app, sink)
}

async fn municipality_id(app: &TestApp, ags: &str) -> String {
    let id: i64 = sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = $1")
        .bind(ags)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    id.to_string()
}

async fn invite(admin: &Client, fields: &[(&str, &str)]) -> crate::common::Page {
    admin
        .submit(
            "/admin/benutzer/neu",
            "form[action='/admin/benutzer/neu']",
            fields,
        )
        .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn an_invited_clerk_sets_a_password_through_the_link_and_signs_in() {
    let (app, sink) = app_with_mail().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let gotha = municipality_id(&app, "16067000").await;

    let done = invite(
        &admin,
        &[
            ("name", "Nora Neu"),
            ("email", "Nora.Neu@Gotha.example"),
            ("role", "clerk"),
            ("municipality", &gotha),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let detail = admin.get(done.location().unwrap()).await;
    assert_eq!(
        detail.text(".notice"),
        "Hinweis: Die Einladung an nora.neu@gotha.example ist unterwegs."
    );
    assert!(detail.texts("dd").contains(&"Eingeladen".to_string()));

    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.rcpt_to, ["nora.neu@gotha.example"]);
    let link = path_of(&link_in(&mail, "/einladung?token="));
    let visitor = app.client();
    let form = visitor.get(&link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.text("h1"), "Willkommen im Förderportal");

    let weak = visitor
        .submit(
            &link,
            "form[action='/einladung']",
            &[
                ("password", "NoraNeu2026!!"),
                ("confirmation", "NoraNeu2026!!"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.text("#password-error")
            .starts_with("Fehler: Dieses Passwort ist zu leicht zu erraten")
    );
    let mismatch = visitor
        .submit(
            &link,
            "form[action='/einladung']",
            &[
                ("password", NEW_PASSWORD),
                ("confirmation", "etwas anderes"),
            ],
        )
        .await;
    assert_eq!(
        mismatch.text("#confirmation-error"),
        "Fehler: Die beiden Passwörter stimmen nicht überein."
    );

    let set = visitor
        .submit(
            &link,
            "form[action='/einladung']",
            &[("password", NEW_PASSWORD), ("confirmation", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(
        (set.status, set.location()),
        (StatusCode::SEE_OTHER, Some("/anmelden"))
    );
    assert_eq!(
        visitor
            .sign_in("nora.neu@gotha.example", NEW_PASSWORD)
            .await
            .location(),
        Some("/antraege")
    );
    assert!(
        visitor
            .get("/konto")
            .await
            .texts("dd")
            .contains(&"Landkreis Gotha".to_string())
    );

    let reused = app.client().get(&link).await;
    assert_eq!(reused.status, StatusCode::NOT_FOUND, "the link works once");
    assert_eq!(reused.text("h1"), "Dieser Link gilt nicht mehr");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action IN ('user.invited', 'invitation.accepted')"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn the_invitation_form_names_each_problem_and_keeps_the_input() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;

    let page = invite(
        &admin,
        &[
            ("name", ""),
            ("email", "keine-adresse"),
            ("role", "clerk"),
            ("municipality", ""),
        ],
    )
    .await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("title").starts_with("Fehler: "));
    assert_eq!(
        page.text("#name-error"),
        "Fehler: Bitte geben Sie den Namen der Person ein."
    );
    assert!(
        page.text("#email-error")
            .starts_with("Fehler: Bitte geben Sie eine E-Mail-Adresse")
    );
    assert!(page.text("#municipality-error").contains("Kommune"));
    assert_eq!(
        page.attr("#email", "value").as_deref(),
        Some("keine-adresse")
    );
    assert_eq!(
        page.attr("input[name=role][value=clerk]", "checked")
            .as_deref(),
        Some("")
    );

    let taken = invite(
        &admin,
        &[("name", "Doppelt"), ("email", CLERK), ("role", "reviewer")],
    )
    .await;
    assert_eq!(
        taken.text("#email-error"),
        "Fehler: Zu dieser E-Mail-Adresse gibt es schon ein Konto."
    );

    let long = "x".repeat(201);
    let too_long = invite(
        &admin,
        &[
            ("name", &long),
            ("email", "lang@tfm.example"),
            ("role", "reviewer"),
        ],
    )
    .await;
    assert_eq!(
        too_long.text("#name-error"),
        "Fehler: Der Name darf höchstens 200 Zeichen lang sein."
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM users").await,
        foerderportal::demo::DEMO_ACCOUNTS.len() as i64,
        "nothing was created"
    );
}

#[tokio::test]
async fn asking_for_a_reset_link_never_reveals_whether_an_account_exists() {
    let (app, sink) = app_with_mail().await;
    let visitor = app.client();

    let unknown = visitor
        .submit(
            "/passwort-vergessen",
            "form[action='/passwort-vergessen']",
            &[("email", "niemand@example.org")],
        )
        .await;
    let known = visitor
        .submit(
            "/passwort-vergessen",
            "form[action='/passwort-vergessen']",
            &[("email", CLERK)],
        )
        .await;

    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(unknown.text(".notice"), known.text(".notice"));
    let mails = sink.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        sink.messages().len(),
        1,
        "only the existing account gets mail"
    );
    assert_eq!(mails[0].rcpt_to, [CLERK]);
}

#[tokio::test]
async fn a_reset_sets_a_new_password_ends_all_sessions_and_sends_a_notice() {
    let (app, sink) = app_with_mail().await;
    let elsewhere = app.sign_in_as(Role::Clerk).await;
    app.client()
        .submit(
            "/passwort-vergessen",
            "form[action='/passwort-vergessen']",
            &[("email", CLERK)],
        )
        .await;
    let link = path_of(&link_in(
        &sink.wait_for(1).await[0],
        "/passwort-zuruecksetzen?token=",
    ));

    let visitor = app.client();
    let done = visitor
        .submit(
            &link,
            "form[action='/passwort-zuruecksetzen']",
            &[("password", NEW_PASSWORD), ("confirmation", NEW_PASSWORD)],
        )
        .await;

    assert_eq!(done.location(), Some("/anmelden"));
    assert_eq!(
        elsewhere.get("/konto").await.status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert_eq!(
        visitor.sign_in(CLERK, DEMO_PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        visitor.sign_in(CLERK, NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let notices = sink.wait_for(2).await;
    let subject = notices[1].header("subject").unwrap();
    assert!(
        subject.contains("=?utf-8?"),
        "umlauts travel as encoded words: {subject}"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(notices[1].data.as_bytes())
        .unwrap();
    assert_eq!(
        parsed.subject(),
        Some("Ihr Passwort für das Förderportal wurde geändert")
    );
}

#[tokio::test]
async fn an_expired_or_forged_link_gets_a_clear_page_not_a_form() {
    let (app, sink) = app_with_mail().await;
    app.client()
        .submit(
            "/passwort-vergessen",
            "form[action='/passwort-vergessen']",
            &[("email", CLERK)],
        )
        .await;
    let link = path_of(&link_in(
        &sink.wait_for(1).await[0],
        "/passwort-zuruecksetzen?token=",
    ));
    sqlx::query("UPDATE account_tokens SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let visitor = app.client();

    for path in [
        link.as_str(),
        "/passwort-zuruecksetzen?token=gefaelscht",
        "/passwort-zuruecksetzen",
        "/einladung?token=%00%FF",
    ] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(page.text("h1"), "Dieser Link gilt nicht mehr", "{path}");
    }
    let (_, mut fields) = app
        .client()
        .get("/anmelden")
        .await
        .form("form[action='/anmelden']");
    fields.insert("token".into(), "gefaelscht".into());
    fields.insert("password".into(), NEW_PASSWORD.into());
    fields.insert("confirmation".into(), NEW_PASSWORD.into());
    let posted = visitor
        .http
        .post(app.url("/passwort-zuruecksetzen"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_ne!(posted.status(), StatusCode::SEE_OTHER);
    assert!(posted.status().is_client_error());
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let here = app.sign_in_as(Role::Reviewer).await;
    let there = app.sign_in_as(Role::Reviewer).await;
    assert_eq!(
        here.get("/konto").await.count("tbody tr"),
        2,
        "both sessions are listed"
    );

    let wrong = here
        .submit(
            "/konto",
            "form[action='/konto/passwort']",
            &[
                ("current", "falsch-falsch-falsch"),
                ("password", NEW_PASSWORD),
                ("confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        wrong.text("#current-error"),
        "Fehler: Das bisherige Passwort ist nicht richtig."
    );

    let done = here
        .submit(
            "/konto",
            "form[action='/konto/passwort']",
            &[
                ("current", DEMO_PASSWORD),
                ("password", NEW_PASSWORD),
                ("confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.location(), Some("/konto"));
    let page = here.get("/konto").await;
    assert_eq!(
        page.text(".notice"),
        "Hinweis: Ihr Passwort ist geändert. Alle anderen Sitzungen sind beendet."
    );
    assert_eq!(page.count("tbody tr"), 1);
    assert_eq!(there.get("/konto").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_user_can_end_all_other_sessions() {
    let app = TestApp::spawn().await;
    let here = app.sign_in_as(Role::Clerk).await;
    let there = app.sign_in_as(Role::Clerk).await;

    here.submit("/konto", "form[action='/konto/sitzungen/beenden']", &[])
        .await;

    assert_eq!(
        here.get("/konto").await.text(".notice"),
        "Hinweis: Eine andere Sitzung ist beendet."
    );
    assert_eq!(there.get("/konto").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_deactivated_user_is_signed_out_and_cannot_sign_in_until_reactivated() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(CLERK)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let detail = format!("/admin/benutzer/{id}");

    admin
        .submit(&detail, "form[action$='/deaktivieren']", &[])
        .await;

    assert_eq!(
        clerk.get("/konto").await.status,
        StatusCode::SEE_OTHER,
        "signed out at once"
    );
    assert_eq!(
        app.client().sign_in(CLERK, DEMO_PASSWORD).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    admin
        .submit(&detail, "form[action$='/reaktivieren']", &[])
        .await;
    assert_eq!(
        app.client().sign_in(CLERK, DEMO_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(count(&app, "SELECT count(*) FROM audit_log WHERE action IN ('user.deactivated', 'user.reactivated')").await, 2);
}

#[tokio::test]
async fn a_role_change_takes_effect_with_a_new_login_and_is_audited() {
    let app = TestApp::spawn().await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let detail = format!("/admin/benutzer/{id}");

    let to_clerk = admin
        .submit(&detail, "form[action$='/rolle']", &[("role", "clerk")])
        .await;
    assert_eq!(
        to_clerk.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "ministry staff cannot become municipal clerks"
    );

    let done = admin
        .submit(
            &detail,
            "form[action$='/rolle']",
            &[("role", "reviewer_admin")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        reviewer.get("/konto").await.status,
        StatusCode::SEE_OTHER,
        "signed out by the change"
    );
    let before_after: serde_json::Value =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'user.roles_changed'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        before_after["after"]["roles"],
        serde_json::json!(["reviewer", "admin"])
    );
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@demo.foerderportal.example'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let detail = format!("/admin/benutzer/{id}");

    assert_eq!(
        admin
            .get(&detail)
            .await
            .count("form[action$='/deaktivieren']"),
        0
    );
    admin
        .post_with_token(&format!("{detail}/deaktivieren"), &[])
        .await;
    let demoted = admin
        .submit(&detail, "form[action$='/rolle']", &[("role", "reviewer")])
        .await;

    assert_eq!(
        demoted.text("#role-error"),
        "Fehler: Sie können sich die Administration nicht selbst entziehen."
    );
    assert_eq!(admin.get("/admin/benutzer").await.status, StatusCode::OK);
}

async fn request_access(visitor: &Client, fields: &[(&str, &str)]) -> crate::common::Page {
    visitor
        .submit(
            "/zugang-beantragen",
            "form[action='/zugang-beantragen']",
            fields,
        )
        .await
}

#[tokio::test]
async fn a_municipal_employee_requests_access_and_after_approval_signs_in() {
    let (app, sink) = app_with_mail().await;
    let jena = municipality_id(&app, "16053000").await;
    let visitor = app.client();

    let incomplete = request_access(
        &visitor,
        &[
            ("name", "Jana Jenaer"),
            ("email", ""),
            ("municipality", ""),
            ("function", ""),
        ],
    )
    .await;
    assert_eq!(incomplete.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(incomplete.count(".error-summary li"), 3);
    assert_eq!(
        incomplete.attr("#name", "value").as_deref(),
        Some("Jana Jenaer")
    );

    let sent = request_access(
        &visitor,
        &[
            ("name", "Jana Jenaer"),
            ("email", "jana@jena.example"),
            ("municipality", &jena),
            ("function", "IT-Koordination"),
        ],
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(sent.text(".notice").contains("Ihr Antrag ist eingegangen"));
    let receipt = sink.wait_for(1).await.remove(0);
    assert_eq!(receipt.rcpt_to, ["jana@jena.example"]);

    let admin = app.sign_in_as(Role::Admin).await;
    let list = admin.get("/admin/zugangsantraege").await;
    let detail = list
        .attr("tbody a", "href")
        .expect("the open request is listed");
    assert_eq!(list.text("tbody td:nth-child(3)"), "Jena");
    let approved = admin
        .submit(&detail, "form[action$='/freigeben']", &[])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    assert_eq!(admin.get(&detail).await.texts("dd")[4], "Freigegeben");

    let invitation = sink.wait_for(2).await.remove(1);
    let link = path_of(&link_in(&invitation, "/einladung?token="));
    visitor
        .submit(
            &link,
            "form[action='/einladung']",
            &[("password", NEW_PASSWORD), ("confirmation", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(
        visitor
            .sign_in("jana@jena.example", NEW_PASSWORD)
            .await
            .location(),
        Some("/antraege")
    );
    let account = visitor.get("/konto").await;
    assert!(account.texts("dd").contains(&"Jena".to_string()));
    assert!(
        account
            .texts("dd")
            .contains(&"Kommunale Sachbearbeitung".to_string())
    );
}

#[tokio::test]
async fn a_declined_request_needs_a_reason_which_is_sent_to_the_person() {
    let (app, sink) = app_with_mail().await;
    let jena = municipality_id(&app, "16053000").await;
    request_access(
        &app.client(),
        &[
            ("name", "Max Muster"),
            ("email", "max@privat.example"),
            ("municipality", &jena),
            ("function", "Bürger"),
        ],
    )
    .await;
    let admin = app.sign_in_as(Role::Admin).await;
    let detail = admin
        .get("/admin/zugangsantraege")
        .await
        .attr("tbody a", "href")
        .unwrap();

    let without = admin
        .submit(&detail, "form[action$='/ablehnen']", &[("reason", "  ")])
        .await;
    assert_eq!(without.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        without
            .text("#reason-error")
            .starts_with("Fehler: Bitte begründen Sie die Ablehnung")
    );

    let declined = admin
        .submit(
            &detail,
            "form[action$='/ablehnen']",
            &[(
                "reason",
                "Bitte beantragen Sie den Zugang mit Ihrer dienstlichen Adresse.",
            )],
        )
        .await;
    assert_eq!(declined.status, StatusCode::SEE_OTHER);
    let mails = sink.wait_for(2).await;
    let parsed = mail_parser::MessageParser::default()
        .parse(mails[1].data.as_bytes())
        .unwrap();
    assert!(
        parsed
            .body_text(0)
            .unwrap()
            .contains("mit Ihrer dienstlichen Adresse")
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM users").await,
        foerderportal::demo::DEMO_ACCOUNTS.len() as i64,
        "no account was created"
    );
}

#[tokio::test]
async fn only_admins_review_access_requests() {
    let app = TestApp::spawn().await;
    let jena = municipality_id(&app, "16053000").await;
    request_access(
        &app.client(),
        &[
            ("name", "Jana"),
            ("email", "jana@jena.example"),
            ("municipality", &jena),
            ("function", "IT"),
        ],
    )
    .await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM access_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    for role in [Role::Clerk, Role::Reviewer] {
        let client = app.sign_in_as(role).await;
        assert_eq!(
            client.get("/admin/zugangsantraege").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            client
                .get(&format!("/admin/zugangsantraege/{id}"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let approve = client
            .post_with_token(&format!("/admin/zugangsantraege/{id}/freigeben"), &[])
            .await;
        assert_eq!(approve.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM access_requests WHERE state = 'open'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn admins_read_the_audit_log_filtered_by_event_and_period() {
    let app = TestApp::spawn().await;
    app.client().sign_in(CLERK, "falsches-passwort-123").await;
    let admin = app.sign_in_as(Role::Admin).await;

    let all = admin.get("/admin/protokoll").await;
    let events = all.texts("tbody td:nth-child(2)");
    assert!(
        events.contains(&"Fehlgeschlagene Anmeldung".to_string()),
        "{events:?}"
    );
    assert!(events.contains(&"Anmeldung".to_string()), "{events:?}");

    let failed = admin.get("/admin/protokoll?action=login.failed").await;
    assert_eq!(
        failed.texts("tbody td:nth-child(2)"),
        ["Fehlgeschlagene Anmeldung"]
    );
    assert_eq!(failed.text("tbody td:nth-child(4)"), CLERK);
    assert_eq!(failed.text("tbody td:nth-child(5)"), "127.0.0.1");

    let by_admin = admin.get("/admin/protokoll?actor=Anna").await;
    assert!(
        by_admin
            .texts("tbody td:nth-child(3)")
            .iter()
            .all(|a| a.starts_with("Anna Admin"))
    );

    let future = admin.get("/admin/protokoll?from=2099-01-01").await;
    assert_eq!(future.count("tbody tr"), 0);
    let bad = admin.get("/admin/protokoll?from=morgen").await;
    assert_eq!(bad.status, StatusCode::OK);
    assert_eq!(
        bad.text("#from-error"),
        "Fehler: Bitte geben Sie ein Datum ein, zum Beispiel 22.11.2026."
    );
}

#[tokio::test]
async fn an_invitation_no_longer_works_once_the_account_has_a_password() {
    let (app, sink) = app_with_mail().await;
    let admin = app.sign_in_as(Role::Admin).await;
    invite(
        &admin,
        &[
            ("name", "Rita Reviewer"),
            ("email", "rita@tfm.example"),
            ("role", "reviewer"),
        ],
    )
    .await;
    let invitation = path_of(&link_in(&sink.wait_for(1).await[0], "/einladung?token="));
    sqlx::query("UPDATE users SET password_hash = 'x' WHERE email = 'rita@tfm.example'")
        .execute(&app.pool)
        .await
        .unwrap();

    let page = app.client().get(&invitation).await;

    assert_eq!(page.status, StatusCode::NOT_FOUND);
}
