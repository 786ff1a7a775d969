//! Admins configure rounds: create as draft, publish (then it is public), close.

use foerderportal::accounts::Role;
use reqwest::StatusCode;

use crate::common::{Client, TestApp};

const FORM: &str = "form.stack[action^='/admin/foerderaufrufe']";

async fn create(admin: &Client, fields: &[(&str, &str)]) -> crate::common::Page {
    admin
        .submit("/admin/foerderaufrufe/neu", FORM, fields)
        .await
}

const GOOD: [(&str, &str); 10] = [
    (
        "attachments",
        "Sicherheitskonzept\nSchulungsplan (optional)",
    ),
    ("title", "Sonderaufruf Informationssicherheit 2027"),
    ("year", "2027"),
    ("budget", "1.500.000"),
    ("opens_date", "01.01.2026"),
    ("closes_date", "30.09.2027"),
    ("max_rate", "90"),
    ("min_grant", "2.500"),
    ("max_grant", "50.000,00"),
    ("category", "2g"),
];

#[tokio::test]
async fn a_round_is_created_as_draft_published_and_then_on_the_start_page() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;

    let created = create(&admin, &GOOD).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let detail = created.location().unwrap().to_string();
    assert_eq!(admin.get(&detail).await.text(".round-state"), "Entwurf");
    let visitor = app.client();
    assert!(
        !visitor
            .get("/")
            .await
            .texts(".card h3")
            .contains(&"Sonderaufruf Informationssicherheit 2027".to_string()),
        "drafts are not public"
    );

    admin
        .submit(&detail, "form[action$='/veroeffentlichen']", &[])
        .await;

    let start = visitor.get("/").await;
    let titles = start.texts(".card h3");
    assert!(
        titles.contains(&"Sonderaufruf Informationssicherheit 2027".to_string()),
        "{titles:?}"
    );
    let details = start.texts(".card dd");
    assert!(details.iter().any(|d| d == "1.500.000,00 €"), "{details:?}");
    assert!(
        details.iter().any(|d| d == "2.500,00 € bis 50.000,00 €"),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.starts_with("bis 90 %")),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d == "30.09.2027, 23:59 Uhr"),
        "{details:?}"
    );
    let documents = start.texts(".card dd li");
    assert!(
        documents.contains(&"Sicherheitskonzept".to_string())
            && documents.contains(&"Schulungsplan (optional)".to_string()),
        "{documents:?}"
    );

    // Closing is confirmed on a page of its own that says what it means.
    let form = admin.get(&detail).await;
    assert_eq!(form.count("form[action$='/schliessen']"), 0);
    let confirm = admin
        .get(
            &form
                .attr("a[href$='/schliessen']", "href")
                .expect("a link to close"),
        )
        .await;
    assert!(confirm.text("h1").contains("schließen?"));
    let closed = admin
        .submit_from(
            &confirm,
            &format!("{detail}/schliessen"),
            "form[action$='/schliessen']",
            &[],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    assert!(
        !visitor
            .get("/")
            .await
            .texts(".card h3")
            .contains(&"Sonderaufruf Informationssicherheit 2027".to_string())
    );
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action LIKE 'round.%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn a_bad_round_form_names_each_problem_and_keeps_the_input() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let rounds_before: i64 = sqlx::query_scalar("SELECT count(*) FROM rounds")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let page = create(
        &admin,
        &[
            ("title", ""),
            ("year", "27"),
            ("budget", "1.2.3"),
            ("opens_date", "2027-04-01"),
            ("closes_date", "31.03.2027"),
            ("max_rate", "120"),
            ("min_grant", "10.000"),
            ("max_grant", "5.000"),
            ("financing_type", "geschenkt"),
        ],
    )
    .await;

    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in [
        "title",
        "year",
        "budget",
        "closes_date",
        "max_rate",
        "max_grant",
        "financing_type",
        "category",
    ] {
        assert_eq!(
            page.count(&format!("#{field}-error")),
            1,
            "no error shown for {field}"
        );
    }
    assert_eq!(
        page.attr("#budget", "value").as_deref(),
        Some("1.2.3"),
        "what was typed is kept"
    );
    let rounds_after: i64 = sqlx::query_scalar("SELECT count(*) FROM rounds")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rounds_before, rounds_after);
}

#[tokio::test]
async fn editing_a_round_keeps_german_amounts_and_berlin_times() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let path = format!("/admin/foerderaufrufe/{id}");
    let form = admin.get(&path).await;
    assert_eq!(
        form.attr("#budget", "value").as_deref(),
        Some("10.000.000,00")
    );
    assert_eq!(form.attr("#closes_time", "value").as_deref(), Some("23:59"));

    let saved = admin
        .submit(
            &path,
            FORM,
            &[("budget", "12.000.000"), ("max_rate", "82,5")],
        )
        .await;

    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (budget, rate): (i64, i32) =
        sqlx::query_as("SELECT budget_cents, max_rate_bp FROM rounds WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((budget, rate), (1_200_000_000, 8250));
}

#[tokio::test]
async fn an_admin_edits_the_programme_texts_and_contact_shown_on_the_start_page() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;

    let bad = admin
        .submit(
            "/admin/programm",
            "form[action='/admin/programm']",
            &[("name", ""), ("contact_email", "keine")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.count("#name-error"), 1);
    assert_eq!(bad.count("#contact_email-error"), 1);

    let saved = admin
        .submit(
            "/admin/programm",
            "form[action='/admin/programm']",
            &[
                ("description", "Neue Beschreibung der Förderung."),
                ("contact_email", "foerderung@tfm.example"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let start = app.client().get("/").await;
    assert_eq!(start.text("p.lead"), "Neue Beschreibung der Förderung.");
    assert_eq!(
        start.attr("address a", "href").as_deref(),
        Some("mailto:foerderung@tfm.example")
    );
}

#[tokio::test]
async fn a_category_in_use_can_be_retired_but_not_deleted() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let id_of = |code: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM categories WHERE code = $1")
                .bind(code)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };

    let duplicate = admin
        .submit(
            "/admin/programm/kategorien/neu",
            "form.stack",
            &[("code", "2a"), ("title", "Doppelt")],
        )
        .await;
    assert_eq!(
        duplicate.text("#code-error"),
        "Fehler: Dieses Kürzel hat schon ein anderer Fördergegenstand."
    );
    let created = admin
        .submit(
            "/admin/programm/kategorien/neu",
            "form.stack",
            &[("code", "2i"), ("title", "Offene Daten")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);

    let used = format!("/admin/programm/kategorien/{}", id_of("2a").await);
    assert_eq!(
        admin.get(&used).await.count("form[action$='/loeschen']"),
        0,
        "no delete button for a category in use"
    );
    admin
        .post_with_token(&format!("{used}/loeschen"), &[])
        .await;
    assert!(
        sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM categories WHERE code = '2a')")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    );

    admin
        .submit(&used, "form.stack", &[("retired", "on")])
        .await;
    let start = app.client().get("/").await;
    let offered = start.texts("ol.category-list .category-code");
    assert!(
        !offered.contains(&"2a".to_string()) && offered.contains(&"2i".to_string()),
        "{offered:?}"
    );

    let unused = format!("/admin/programm/kategorien/{}", id_of("2h").await);
    admin
        .submit(&unused, "form[action$='/loeschen']", &[])
        .await;
    assert!(
        !sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM categories WHERE code = '2h')"
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    );
}

#[tokio::test]
async fn a_change_that_puts_submitted_applications_outside_the_rules_needs_confirmation() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = crate::applications::complete_application(&app, &clerk).await;
    clerk
        .submit(
            &format!("/antraege/{id}/pruefen"),
            "form[action$='/einreichen']",
            &[],
        )
        .await;
    let round: i64 = sqlx::query_scalar("SELECT id FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let admin = app.sign_in_as(Role::Admin).await;
    let path = format!("/admin/foerderaufrufe/{round}");

    // A harmless change (a higher budget) goes through at once.
    let harmless = admin.submit(&path, FORM, &[("budget", "12.000.000")]).await;
    assert_eq!(harmless.status, StatusCode::SEE_OTHER);

    // The application asks for 80 %: lowering the rate to 50 % breaks it.
    let lowered = admin.submit(&path, FORM, &[("max_rate", "50")]).await;
    assert_eq!(lowered.status, StatusCode::CONFLICT);
    assert!(
        lowered
            .text(".notice-warning p")
            .starts_with("Mit dieser Änderung liegt ein bereits eingereichter Antrag"),
        "{}",
        lowered.text(".notice-warning p")
    );
    assert_eq!(lowered.attr("#max_rate", "value").as_deref(), Some("50"));
    let rate: i32 = sqlx::query_scalar("SELECT max_rate_bp FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rate, 8000, "nothing changed without confirmation");

    let confirmed = admin
        .submit_from(&lowered, &path, FORM, &[("confirm", "ja")])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let (rate, broken): (i32, serde_json::Value) = sqlx::query_as(
        "SELECT r.max_rate_bp, l.details -> 'submissions_outside_rules' FROM rounds r, audit_log l
         WHERE r.id = $1 AND l.action = 'round.updated' ORDER BY l.id DESC LIMIT 1",
    )
    .bind(round)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((rate, broken), (5000, serde_json::json!(1)));
}

#[tokio::test]
async fn a_budget_cannot_drop_below_what_the_round_has_granted() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = crate::applications::complete_application(&app, &clerk).await;
    clerk
        .submit(
            &format!("/antraege/{id}/pruefen"),
            "form[action$='/einreichen']",
            &[],
        )
        .await;
    // As if the decision had been confirmed: 80.000 € granted.
    sqlx::query(
        "UPDATE applications SET status = 'approved', granted_cents = 8000000 WHERE id = $1",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE rounds SET granted_cents = 8000000")
        .execute(&app.pool)
        .await
        .unwrap();
    let round: i64 = sqlx::query_scalar("SELECT id FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let admin = app.sign_in_as(Role::Admin).await;
    let path = format!("/admin/foerderaufrufe/{round}");
    let page = admin.submit(&path, FORM, &[("budget", "79.999,99")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.text("#budget-error"),
        "Fehler: Das Budget darf nicht unter den in diesem Förderaufruf bereits bewilligten 80.000,00 € liegen."
    );
    assert_eq!(page.attr("#budget", "value").as_deref(), Some("79.999,99"));
    // An emptied title is an error, and the page still names the round as it is stored.
    let stored: String = sqlx::query_scalar("SELECT title FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let untitled = admin.submit(&path, FORM, &[("title", "")]).await;
    assert_eq!(untitled.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(untitled.text("h1"), stored);
    assert!(
        untitled
            .text("title")
            .starts_with(&format!("Fehler: {stored}"))
    );
    let exact = admin.submit(&path, FORM, &[("budget", "80.000")]).await;
    assert_eq!(exact.status, StatusCode::SEE_OTHER);

    // The database refuses it too, whoever asks.
    let direct = sqlx::query("UPDATE rounds SET budget_cents = 7999999 WHERE id = $1")
        .bind(round)
        .execute(&app.pool)
        .await;
    let error = direct.unwrap_err();
    assert_eq!(
        error.as_database_error().and_then(|e| e.constraint()),
        Some("rounds_budget_covers_grants")
    );
}

#[tokio::test]
async fn a_round_carries_its_default_nebenbestimmungen_for_decisions() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    let round: i64 = sqlx::query_scalar("SELECT id FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let path = format!("/admin/foerderaufrufe/{round}");
    let page = admin.get(&path).await;
    assert!(
        page.text("textarea#conditions")
            .starts_with("Die Allgemeinen Nebenbestimmungen")
    );
    let saved = admin
        .submit(
            &path,
            FORM,
            &[(
                "conditions",
                "ANBest-Gk gelten.\nDie Ergebnisse sind nachnutzbar zu veröffentlichen.",
            )],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let stored: String = sqlx::query_scalar("SELECT conditions_template FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        "ANBest-Gk gelten.\nDie Ergebnisse sind nachnutzbar zu veröffentlichen."
    );
    // Emptied, the text stays as it was.
    admin.submit(&path, FORM, &[("conditions", "")]).await;
    let kept: String = sqlx::query_scalar("SELECT conditions_template FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, stored);
}
