//! The ministry's review: dashboard filters, search, sorting and pages; working a case
//! (assignment, Prüfvermerk, Nachforderung, internal notes) and what municipalities never see.

use foerderportal::accounts::Role;
use reqwest::StatusCode;

use crate::applications::{complete_application, submit};
use crate::common::TestApp;

/// One application submitted through the pages, and `copies` more cloned from it in SQL with
/// their own reference, title ("Vorhaben 1" …), amount (grows with the number) and time.
async fn submitted_cases(app: &TestApp, copies: i32) -> i64 {
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = complete_application(app, &clerk).await;
    assert_eq!(submit(&clerk, id).await.status, StatusCode::SEE_OTHER);
    sqlx::query(
        "INSERT INTO applications (round_id, municipality_id, status, reference, title, category_code,
                total_cost_cents, eligible_cost_cents, requested_grant_cents, created_by, submitted_at,
                search_text, district_id)
         SELECT round_id, municipality_id, 'submitted', 'EGOV-1999-' || lpad(g::text, 4, '0'), 'Vorhaben ' || g,
                category_code, total_cost_cents, eligible_cost_cents, 500000 + g * 100, created_by,
                now() - g * interval '1 hour', 'Musterkommune Kurzbeschreibung', district_id
         FROM applications, generate_series(1, $2) g WHERE id = $1",
    )
    .bind(id)
    .bind(copies)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn the_dashboard_filters_searches_sorts_and_pages_through_every_case() {
    let app = TestApp::spawn().await;
    let original = submitted_cases(&app, 60).await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;

    let first = reviewer.get("/pruefung").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.count("table.cases tbody tr"), 50);
    assert_eq!(first.text("table.cases caption"), "61 Anträge");
    // Newest first: the one submitted through the pages, then "Vorhaben 1" (an hour ago).
    let references = first.texts("table.cases tbody td:first-child");
    let year = jiff::Zoned::now().year();
    assert_eq!(references[0], format!("EGOV-{year}-0001"));
    assert_eq!(references[1], "EGOV-1999-0001");
    let next = first.attr("a[href*='nach=']", "href").expect("a next page");
    let second = reviewer.get(&next).await;
    let rest = second.texts("table.cases tbody td:first-child");
    assert_eq!(rest.len(), 11);
    assert!(rest.iter().all(|r| !references.contains(r)), "no row twice");
    assert_eq!(second.count("a[href*='nach=']"), 0, "the last page");

    // Sorted by amount, smallest first, across pages.
    let by_amount = reviewer
        .get("/pruefung?sortierung=betrag&richtung=auf")
        .await;
    let amounts = by_amount.texts("table.cases tbody td.num");
    assert_eq!(amounts[0], "5.001,00 €");
    assert_eq!(amounts[1], "5.002,00 €");
    let next = by_amount.attr("a[href*='nach=']", "href").unwrap();
    let amounts_2 = reviewer.get(&next).await.texts("table.cases tbody td.num");
    assert_eq!(amounts_2[0], "5.051,00 €");
    assert_eq!(amounts_2.last().unwrap(), "80.000,00 €");

    // Filters from the URL, combined.
    let filtered = reviewer
        .get("/pruefung?betrag_von=5.010&betrag_bis=5.019,99&sortierung=betrag&richtung=auf")
        .await;
    assert_eq!(filtered.count("table.cases tbody tr"), 10);
    // Full-text search in German: "digitalen" finds "Digitales"; references are found too.
    let found = reviewer
        .get("/pruefung?suche=digitalen+B%C3%BCrgerb%C3%BCro")
        .await;
    assert_eq!(
        found.texts("table.cases tbody td:first-child"),
        vec![format!("EGOV-{year}-0001")]
    );
    let by_reference = reviewer.get("/pruefung?suche=EGOV-1999-0042").await;
    assert_eq!(by_reference.count("table.cases tbody tr"), 1);
    let by_municipality = reviewer.get("/pruefung?suche=Kyffh%C3%A4userkreis").await;
    assert_eq!(by_municipality.count("table.cases tbody tr"), 1);

    // Counts per status, for the current filter.
    sqlx::query(
        "UPDATE applications SET status = 'in_review' WHERE title IN ('Vorhaben 1', 'Vorhaben 2')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let counts = reviewer.get("/pruefung?status=in_review").await;
    assert_eq!(counts.count("table.cases tbody tr"), 2);
    let tabs = counts.texts("nav[aria-label='Anzahl nach Status'] a");
    assert!(tabs.contains(&"Alle (61)".to_string()), "{tabs:?}");
    assert!(tabs.contains(&"In Prüfung (2)".to_string()), "{tabs:?}");
    assert!(tabs.contains(&"Eingereicht (59)".to_string()), "{tabs:?}");

    // Bad filter values are named, never an error page.
    let bad = reviewer
        .get("/pruefung?runde=x&betrag_von=1.2.3&eingereicht_bis=31.02.2027&nach=kaputt")
        .await;
    assert_eq!(bad.status, StatusCode::OK);
    assert_eq!(
        bad.count("#runde-error, #betrag_von-error, #eingereicht_bis-error"),
        3
    );

    // The round's budget, exact to the cent.
    let figures = first.texts(".budget-figures dd");
    let requested = 8_000_000 + (1..=60).map(|g| 500_000 + g * 100).sum::<i64>();
    assert_eq!(figures[0], "10.000.000,00 €");
    assert_eq!(
        figures[1],
        foerderportal::money::Cents::new(requested)
            .to_string()
            .replace('\u{a0}', " ")
    );
    assert_eq!(figures[2], "0,00 €");
    let _ = original;
}

#[tokio::test]
async fn a_reviewer_works_a_case_and_the_municipality_sees_only_what_is_meant_for_it() {
    let app = TestApp::spawn().await;
    let id = submitted_cases(&app, 0).await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let case = format!("/pruefung/antraege/{id}");

    let page = reviewer.get(&case).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Digitales Bürgerbüro"));
    let file = page
        .attr("a[href*='/anlagen/']", "href")
        .expect("a download link");
    assert_eq!(reviewer.get(&file).await.status, StatusCode::OK);

    reviewer
        .submit(&case, "form[action$='/pruefung-beginnen']", &[])
        .await;
    let page = reviewer.get(&case).await;
    assert!(
        page.text("main > p:nth-of-type(3)").contains("Paul Prüfer"),
        "the starter is assigned"
    );
    assert!(
        page.texts(".timeline strong")
            .contains(&"Prüfung begonnen".to_string())
    );

    let saved = reviewer
        .submit(
            &case,
            "form[action$='/pruefvermerk']",
            &[
                ("eligible_applicant-result", "ok"),
                ("costs_plausible-result", "not_ok"),
                ("costs_plausible-note", "Lizenzkosten je Platz zu hoch"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = reviewer.get(&case).await;
    assert_eq!(
        page.attr("#costs_plausible-not_ok", "checked").as_deref(),
        Some("")
    );
    assert_eq!(
        page.attr("#costs_plausible-note", "value").as_deref(),
        Some("Lizenzkosten je Platz zu hoch")
    );

    reviewer
        .submit(
            &case,
            "form[action$='/notizen']",
            &[("body", "Intern: Rücksprache mit Referat 21")],
        )
        .await;

    // A Nachforderung without its parts names each.
    let refused = reviewer
        .submit(
            &case,
            "form[action$='/nachforderung']",
            &[("deadline", "01.01.2020")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.count("#message-error, #section-error, #deadline-error"),
        3
    );
    let deadline = (jiff::Zoned::now().date() + jiff::ToSpan::days(14)).to_string();
    let requested = reviewer
        .submit(
            &case,
            "form[action$='/nachforderung']",
            &[
                ("message", "Bitte legen Sie Angebote für die Lizenzen vor."),
                ("section", "kosten"),
                ("deadline", &deadline),
            ],
        )
        .await;
    assert_eq!(
        requested.status,
        StatusCode::SEE_OTHER,
        "{}",
        requested.body
    );
    let (status, mails): (String, i64) = sqlx::query_as(
        "SELECT a.status, (SELECT count(*) FROM mail_outbox WHERE kind = 'change-request' AND recipient = 'kommune@demo.foerderportal.example')
         FROM applications a WHERE a.id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), mails), ("changes_requested", 1));

    let clerk = app.sign_in_as(Role::Clerk).await;
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert!(
        overview
            .body
            .contains("Bitte legen Sie Angebote für die Lizenzen vor.")
    );
    assert_eq!(
        overview.texts(".task-list a"),
        vec!["Kosten- und Finanzierungsplan"]
    );
    for path in ["", "/druck"] {
        let page = clerk.get(&format!("/antraege/{id}{path}")).await;
        assert!(
            !page.body.contains("Referat 21"),
            "internal notes stay internal ({path})"
        );
        assert!(
            !page.body.contains("Lizenzkosten je Platz"),
            "the Prüfvermerk stays internal ({path})"
        );
    }
    assert_eq!(clerk.get(&case).await.status, StatusCode::FORBIDDEN);
    assert_eq!(clerk.get("/pruefung").await.status, StatusCode::FORBIDDEN);
}
