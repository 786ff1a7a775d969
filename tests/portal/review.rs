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
    let original = submitted_cases(&app, 120).await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;

    let first = reviewer.get("/pruefung").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.count("table.cases tbody tr"), 50);
    assert_eq!(first.text("table.cases caption"), "Anträge 1–50 von 121");
    assert_eq!(first.count("a[rel=prev]"), 0, "the first page");
    // Newest first: the one submitted through the pages, then "Vorhaben 1" (an hour ago).
    let references = first.texts("table.cases tbody td:first-child");
    let year = jiff::Zoned::now().year();
    assert_eq!(references[0], format!("EGOV-{year}-0001"));
    assert_eq!(references[1], "EGOV-1999-0001");
    let next = first.attr("a[rel=next]", "href").expect("a next page");
    let second = reviewer.get(&next).await;
    assert_eq!(second.text("table.cases caption"), "Anträge 51–100 von 121");
    assert!(
        second
            .text("title")
            .starts_with("Prüfung der Anträge – Seite 2")
    );
    let page_2 = second.texts("table.cases tbody td:first-child");
    assert!(
        page_2.iter().all(|r| !references.contains(r)),
        "no row twice"
    );
    let third = reviewer
        .get(&second.attr("a[rel=next]", "href").unwrap())
        .await;
    let rest = third.texts("table.cases tbody td:first-child");
    assert_eq!(rest.len(), 21);
    assert_eq!(third.text("table.cases caption"), "Anträge 101–121 von 121");
    assert_eq!(third.count("a[rel=next]"), 0, "the last page");
    // Back, page by page: the same rows as on the way there.
    let back = reviewer
        .get(&third.attr("a[rel=prev]", "href").unwrap())
        .await;
    assert_eq!(back.texts("table.cases tbody td:first-child"), page_2);
    assert_eq!(back.text("table.cases caption"), "Anträge 51–100 von 121");
    let back = reviewer
        .get(&back.attr("a[rel=prev]", "href").unwrap())
        .await;
    assert_eq!(back.texts("table.cases tbody td:first-child"), references);
    assert_eq!(back.count("a[rel=prev]"), 0);

    // Sorted by amount, smallest first, across pages.
    let by_amount = reviewer
        .get("/pruefung?sortierung=betrag&richtung=auf")
        .await;
    let amounts = by_amount.texts("table.cases tbody td.num");
    assert_eq!(amounts[0], "5.001,00 €");
    assert_eq!(amounts[1], "5.002,00 €");
    let next = by_amount.attr("a[rel=next]", "href").unwrap();
    let amounts_2 = reviewer.get(&next).await.texts("table.cases tbody td.num");
    assert_eq!(amounts_2[0], "5.051,00 €");
    assert_eq!(amounts_2.last().unwrap(), "5.100,00 €");

    // Filters from the URL, combined.
    let filtered = reviewer
        .get("/pruefung?betrag_von=5.010&betrag_bis=5.019,99&sortierung=betrag&richtung=auf")
        .await;
    assert_eq!(filtered.count("table.cases tbody tr"), 10);
    // The conditions in force are tags; each removes itself and keeps the others.
    assert_eq!(
        filtered.texts(".filter-tags a"),
        [
            "Entfernen: Beantragt ab: 5.010,00 € ×",
            "Entfernen: Beantragt bis: 5.019,99 € ×"
        ]
    );
    assert!(filtered.text("title").contains("Beantragt ab: 5.010,00 €"));
    let wider = reviewer
        .get(&filtered.attr(".filter-tags a", "href").unwrap())
        .await;
    assert_eq!(wider.count(".filter-tags a"), 1);
    assert_eq!(
        wider.count("table.cases tbody tr"),
        19,
        "all up to 5.019,99 €"
    );
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
    // …also in part: without the prefix, or only its running number.
    for part in ["1999-0042", "0042", "42", "egov-1999-42"] {
        let found = reviewer.get(&format!("/pruefung?suche={part}")).await;
        assert_eq!(
            found.texts("table.cases tbody td:first-child"),
            vec!["EGOV-1999-0042".to_string()],
            "{part}"
        );
    }
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
    assert!(tabs.contains(&"Alle (121)".to_string()), "{tabs:?}");
    assert!(tabs.contains(&"In Prüfung (2)".to_string()), "{tabs:?}");
    assert!(tabs.contains(&"Eingereicht (119)".to_string()), "{tabs:?}");

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
    let requested = 8_000_000 + (1..=120).map(|g| 500_000 + g * 100).sum::<i64>();
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
    // Each action is on the case's sub-page that holds its form.
    let (review, messages) = (format!("{case}/pruefung"), format!("{case}/nachrichten"));

    let page = reviewer.get(&case).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Digitales Bürgerbüro"));
    let file = page
        .attr("a[href*='/anlagen/']", "href")
        .expect("a download link");
    assert_eq!(reviewer.get(&file).await.status, StatusCode::OK);

    reviewer
        .submit(&review, "form[action$='/pruefung-beginnen']", &[])
        .await;
    let page = reviewer.get(&case).await;
    assert!(
        page.text(".case-summary").contains("Paul Prüfer"),
        "the starter is assigned"
    );
    assert!(
        reviewer
            .get(&format!("{case}/verlauf"))
            .await
            .texts(".timeline strong")
            .contains(&"Prüfung begonnen".to_string())
    );

    let saved = reviewer
        .submit(
            &review,
            "form[action$='/pruefvermerk']",
            &[
                ("eligible_applicant-result", "ok"),
                ("costs_plausible-result", "not_ok"),
                ("costs_plausible-note", "Lizenzkosten je Platz zu hoch"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = reviewer.get(&review).await;
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
            &messages,
            "form[action$='/notizen']",
            &[("body", "Intern: Rücksprache mit Referat 21")],
        )
        .await;

    // A Nachforderung without its parts names each.
    let refused = reviewer
        .submit(
            &review,
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
            &review,
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

    // Messages both ways, each announced by e-mail.
    let sent = reviewer
        .submit(
            &messages,
            "form[action$='/nachrichten']",
            &[("nachricht", "Rufen Sie gern an: 0361 57 3000")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let clerk = app.sign_in_as(Role::Clerk).await;
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert_eq!(
        overview.texts("ol.messages li .preserve-lines"),
        vec!["Rufen Sie gern an: 0361 57 3000"]
    );
    assert!(
        overview
            .text("ol.messages li .meta")
            .starts_with("Thüringer Finanzministerium,")
    );
    // An empty message is an error at its field, not a notice.
    let empty = clerk
        .submit(
            &format!("/antraege/{id}"),
            "form[action$='/nachrichten']",
            &[("body", "   ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        empty.text("#body-error"),
        "Fehler: Bitte schreiben Sie Ihre Nachricht an das Ministerium."
    );
    assert!(empty.text("title").starts_with("Fehler: "));
    let too_long = "x".repeat(5001);
    let long = clerk
        .submit(
            &format!("/antraege/{id}"),
            "form[action$='/nachrichten']",
            &[("body", too_long.as_str())],
        )
        .await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(long.text("#body"), too_long, "nothing typed is lost");
    let reply = clerk
        .submit(
            &format!("/antraege/{id}"),
            "form[action$='/nachrichten']",
            &[("body", "Angebote folgen morgen.")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let mails: Vec<String> = sqlx::query_scalar(
        "SELECT recipient FROM mail_outbox WHERE kind = 'case-message' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        mails,
        vec![
            "kommune@demo.foerderportal.example",
            "pruefung@demo.foerderportal.example"
        ]
    );
    assert!(
        reviewer
            .get(&messages)
            .await
            .body
            .contains("Angebote folgen morgen.")
    );
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
    for path in [&case, &review, &messages] {
        assert_eq!(clerk.get(path).await.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(clerk.get("/pruefung").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_case_opens_with_the_application_and_each_action_returns_to_its_own_sub_page() {
    let app = TestApp::spawn().await;
    let id = submitted_cases(&app, 0).await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let case = format!("/pruefung/antraege/{id}");
    let tabs = [
        (case.clone(), "Antrag"),
        (format!("{case}/pruefung"), "Prüfung"),
        (format!("{case}/entscheidung"), "Entscheidung"),
        (format!("{case}/nachrichten"), "Nachrichten und Notizen"),
        (format!("{case}/verlauf"), "Verlauf"),
    ];

    // The dossier comes first: right after the sub navigation, with no action form before
    // it; the status, assignee and the next step stand above.
    let page = reviewer.get(&case).await;
    assert_eq!(page.text("nav.sub-nav + h2"), "Antragsteller");
    assert_eq!(
        page.count("main form"),
        0,
        "the actions are on their sub-pages"
    );
    assert!(page.text(".case-summary").contains("Eingereicht"));
    assert_eq!(
        page.attrs(".case-summary .next-step a", "href"),
        vec![format!("{case}/pruefung#pruefbeginn")]
    );

    // Every sub-page is a page of its own: links, the current one marked, its own title.
    let hrefs: Vec<String> = tabs.iter().map(|(path, _)| path.clone()).collect();
    for (path, label) in &tabs {
        let page = reviewer.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.attrs("nav.sub-nav a", "href"), hrefs);
        assert_eq!(
            page.attrs("nav.sub-nav a[aria-current=page]", "href"),
            vec![path.clone()]
        );
        assert_eq!(page.text("nav.sub-nav a[aria-current=page]"), *label);
        assert!(
            page.text("title").starts_with(&format!("{label} – EGOV-")),
            "{}",
            page.text("title")
        );
        assert_eq!(page.count("h1"), 1);
        assert!(page.count("main h2") > 0, "{path} has sections");
    }

    // An action goes back to the sub-page of its form: on success…
    let (review, decision, messages) = (&tabs[1].0, &tabs[2].0, &tabs[3].0);
    let started = reviewer
        .submit(review, "form[action$='/pruefung-beginnen']", &[])
        .await;
    assert_eq!(started.location(), Some(review.as_str()));
    assert!(
        reviewer
            .follow(&started)
            .await
            .text(".notice-success")
            .contains("Prüfung hat begonnen")
    );
    let noted = reviewer
        .submit(messages, "form[action$='/notizen']", &[("body", "Intern")])
        .await;
    assert_eq!(noted.location(), Some(messages.as_str()));
    // …with a form error, the same sub-page again with what was typed…
    let long = "x".repeat(5001);
    let too_long = reviewer
        .submit(
            messages,
            "form[action$='/nachrichten']",
            &[("nachricht", long.as_str())],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        too_long.attr("nav.sub-nav a[aria-current=page]", "href"),
        Some(messages.clone())
    );
    assert!(too_long.text("title").starts_with("Fehler: Nachrichten"));
    assert_eq!(too_long.text("#nachricht"), long);
    // …and when refused, the sub-page names the reason once.
    let refused = reviewer
        .post_with_token(&format!("{decision}/bestaetigen"), &[])
        .await;
    assert_eq!(refused.location(), Some(decision.as_str()));
    let shown = reviewer.follow(&refused).await;
    assert!(
        shown
            .text(".error-summary")
            .contains("kein offener Entscheidungsvorschlag")
    );
    assert_eq!(
        shown.attr(".error-summary a", "href").as_deref(),
        Some("#entscheidung")
    );
    assert_eq!(shown.count("#entscheidung"), 1);
}

/// The demo's second reviewer ("Paula Zweitprüferin (TFM)"), signed in.
pub async fn second_reviewer(app: &TestApp) -> crate::common::Client {
    let client = app.client();
    let signed_in = client
        .sign_in(
            "zweitpruefung@demo.foerderportal.example",
            foerderportal::demo::DEMO_PASSWORD,
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    client
}

async fn propose_approval(
    reviewer: &crate::common::Client,
    id: i64,
    granted: &str,
) -> crate::common::Page {
    reviewer
        .submit(
            &format!("/pruefung/antraege/{id}/entscheidung"),
            "form[action$='/entscheidung']",
            &[("outcome", "approve"), ("granted", granted)],
        )
        .await
}

async fn status_of(app: &TestApp, id: i64) -> String {
    crate::applications::status_of(app, id).await
}

#[tokio::test]
async fn nobody_confirms_their_own_proposal_and_the_notice_reaches_the_municipality() {
    let app = TestApp::spawn().await;
    let id = submitted_cases(&app, 0).await;
    let first = app.sign_in_as(Role::Reviewer).await;
    let second = second_reviewer(&app).await;
    let case = format!("/pruefung/antraege/{id}");
    let decision = format!("{case}/entscheidung");
    first
        .submit(
            &format!("{case}/pruefung"),
            "form[action$='/pruefung-beginnen']",
            &[],
        )
        .await;

    // Above the rate of the eligible costs: refused with the limit named.
    let too_much = propose_approval(&first, id, "80.000,01").await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_much.text("#granted-error").contains("80.000,00"));
    let proposed = propose_approval(&first, id, "80.000").await;
    assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
    assert_eq!(status_of(&app, id).await, "decision_proposed");
    let year = jiff::Zoned::now().year();
    let waiting = second.get("/pruefung/aufgaben").await;
    assert_eq!(
        waiting.texts("ul.task-cases a"),
        vec![format!("EGOV-{year}-0001 – Digitales Bürgerbüro")],
        "it waits for the second reviewer's signature"
    );
    assert_eq!(
        first
            .get("/pruefung/aufgaben")
            .await
            .count("ul.task-cases a"),
        0
    );

    // Four eyes: the proposer cannot confirm, not even by posting directly.
    let own = first
        .post_with_token(&format!("{case}/entscheidung/bestaetigen"), &[])
        .await;
    assert_eq!(own.location(), Some(decision.as_str()));
    assert!(
        first
            .follow(&own)
            .await
            .text(".error-summary")
            .contains("Vier-Augen-Prinzip")
    );
    assert_eq!(
        first
            .get(&decision)
            .await
            .count("form[action$='/bestaetigen']"),
        0
    );
    assert_eq!(status_of(&app, id).await, "decision_proposed");
    // And the database refuses it too.
    let forced = sqlx::query(
        "UPDATE decisions SET state = 'sent_back', settled_by = proposed_by, settled_at = now()",
    )
    .execute(&app.pool)
    .await;
    assert_eq!(
        crate::common::refused_by(forced).as_deref(),
        Some("decisions_four_eyes")
    );

    // The second reviewer sends it back; the first proposes again; the second confirms.
    let back = second
        .submit(
            &decision,
            "form[action$='/zurueckgeben']",
            &[("note", "Zeitraum prüfen")],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, "in_review");
    assert_eq!(
        propose_approval(&first, id, "80.000").await.status,
        StatusCode::SEE_OTHER
    );
    let confirmed = second
        .submit(&decision, "form[action$='/bestaetigen']", &[])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    assert_eq!(status_of(&app, id).await, "approved");
    let (granted, round_granted): (i64, i64) = sqlx::query_as(
        "SELECT a.granted_cents, r.granted_cents FROM applications a JOIN rounds r ON r.id = a.round_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((granted, round_granted), (8_000_000, 8_000_000));

    // The municipality hears of it and downloads the notice.
    let mails: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE kind = 'decision-available' AND recipient = 'kommune@demo.foerderportal.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(mails, 1);
    let clerk = app.sign_in_as(Role::Clerk).await;
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    let href = overview
        .attr("a[href$='/bescheid.pdf']", "href")
        .expect("a notice link");
    let response = clerk
        .http
        .get(format!("{}{href}", clerk.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap();
    let text = pdf_text(&pdf);
    // The sample project's period, in the round's year.
    let round: i32 = crate::applications::round_year(&app).await.parse().unwrap();
    let period = format!("01.04.{round} bis 31.03.{}", round + 1);
    for expected in [
        "Zuwendungsbescheid",
        "80.000,00 €",
        &format!("EGOV-{year}-0001"),
        "Kyffhäuserkreis Sondershausen",
        "Digitales Bürgerbüro",
        "80 % der zuwendungsfähigen Ausgaben",
        &period,
        "Paula Zweitprüferin",
        "Rechtsbehelfsbelehrung",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }
    // Another municipality never gets it.
    let jena = crate::applications::jena_clerk(&app).await;
    assert_eq!(jena.get(&href).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn no_notice_is_issued_without_the_legal_texts_which_admins_keep_and_preview() {
    let app = TestApp::spawn().await;
    let id = submitted_cases(&app, 0).await;
    let first = app.sign_in_as(Role::Reviewer).await;
    let second = second_reviewer(&app).await;
    let case = format!("/pruefung/antraege/{id}");
    let decision = format!("{case}/entscheidung");
    first
        .submit(
            &format!("{case}/pruefung"),
            "form[action$='/pruefung-beginnen']",
            &[],
        )
        .await;
    assert_eq!(
        propose_approval(&first, id, "80.000").await.status,
        StatusCode::SEE_OTHER
    );

    // An admin empties the Rechtsbehelfsbelehrung: the page warns what that means.
    let admin = app.sign_in_as(Role::Admin).await;
    let form = "form[action='/admin/programm/rechtstexte']";
    let texts = "/admin/programm/rechtstexte";
    let saved = admin.submit(texts, form, &[("legal_remedy", "  ")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = admin.get(texts).await;
    assert!(
        page.text(".notice-warning")
            .contains("„Rechtsbehelfsbelehrung“ fehlt, kann niemand einen Bescheid erlassen")
    );

    // No notice without it: the confirmation is refused, the proposal stays open.
    let refused = second
        .submit(&decision, "form[action$='/bestaetigen']", &[])
        .await;
    // Back on the Entscheidung sub-page (a reload sends nothing again), with the reason there.
    assert_eq!(refused.location(), Some(decision.as_str()));
    let shown = second.follow(&refused).await;
    assert!(
        shown
            .text(".error-summary")
            .contains("fehlt die Angabe „Rechtsbehelfsbelehrung“"),
        "{}",
        shown.body
    );
    assert_eq!(status_of(&app, id).await, "decision_proposed");
    let reloaded = second.get(&decision).await;
    assert_eq!(
        reloaded.count(".error-summary"),
        0,
        "the message is shown once"
    );

    // Too long a text is an error next to its field, and what was typed stays.
    let long = "x".repeat(3001);
    let too_long = admin
        .submit(
            texts,
            form,
            &[("legal_remedy", &long), ("signature_line", "Referat 15")],
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_long
            .text("#legal_remedy-error")
            .contains("höchstens 3000 Zeichen")
    );
    assert_eq!(too_long.text("#signature_line"), "Referat 15");

    // The preview prints the texts as typed, without saving them.
    let remedy = "Gegen diesen Bescheid kann innerhalb eines Monats Klage beim Verwaltungsgericht Gera erhoben werden.";
    let page = admin.get(texts).await;
    let (_, mut values) = page.form(form);
    values.insert("legal_remedy".into(), remedy.into());
    values.insert(
        "signature_line".into(),
        "Referat 15 – Kommunales E-Government".into(),
    );
    let preview_action = page
        .attr("button[formaction]", "formaction")
        .expect("a preview button");
    let preview = admin
        .http
        .post(format!("{}{preview_action}", admin.base_url))
        .form(&values)
        .send()
        .await
        .unwrap();
    assert_eq!(preview.headers()["content-type"], "application/pdf");
    let text = pdf_text(&preview.bytes().await.unwrap());
    for expected in [
        "Zuwendungsbescheid",
        "Verwaltungsgericht Gera",
        "Referat 15 – Kommunales E-Government",
        "Thüringer Finanzministerium",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }
    assert!(
        admin.get(texts).await.body.contains("fehlt, kann niemand"),
        "not saved"
    );
    // Without the required texts there is nothing to preview.
    values.insert("letterhead".into(), String::new());
    let no_preview = admin
        .http
        .post(format!("{}{preview_action}", admin.base_url))
        .form(&values)
        .send()
        .await
        .unwrap();
    assert_eq!(no_preview.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Saved, the next notice carries them.
    let saved = admin
        .submit(
            texts,
            form,
            &[
                ("legal_remedy", remedy),
                ("signature_line", "Referat 15 – Kommunales E-Government"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let confirmed = second
        .submit(&decision, "form[action$='/bestaetigen']", &[])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let notice = app.document(CONFIRMED_NOTICE, id).await;
    let text = pdf_text(&notice);
    assert!(text.contains("Verwaltungsgericht Gera"), "{text}");
    assert!(
        text.contains("Paula Zweitprüferin (TFM) Referat 15 – Kommunales E-Government"),
        "{text}"
    );
    assert!(
        text.contains("ANBest-Gk"),
        "the general Nebenbestimmungen: {text}"
    );
}

#[tokio::test]
async fn the_decision_asks_for_the_address_the_directory_lacks_and_the_notice_carries_it() {
    let app = TestApp::spawn().await;
    let id = submitted_cases(&app, 0).await;
    let first = app.sign_in_as(Role::Reviewer).await;
    let decision = format!("/pruefung/antraege/{id}/entscheidung");
    assert!(
        first
            .get(&decision)
            .await
            .text("#anschrift-fehlt")
            .contains("keine Straße und Postleitzahl"),
        "the demo directory has only the town"
    );
    // The admin completes the directory entry; the question goes away.
    let admin = app.sign_in_as(Role::Admin).await;
    let municipality: i64 =
        sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16065000'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let saved = admin
        .submit(
            &format!("/admin/kommunen/{municipality}"),
            "form[action^='/admin/kommunen/']",
            &[
                ("street", "Markt 8"),
                ("postal_code", "99706"),
                ("city", "Sondershausen"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(first.get(&decision).await.count("#anschrift-fehlt"), 0);
    // The notice's address block is the directory's.
    let case = format!("/pruefung/antraege/{id}");
    first
        .submit(
            &format!("{case}/pruefung"),
            "form[action$='/pruefung-beginnen']",
            &[],
        )
        .await;
    assert_eq!(
        propose_approval(&first, id, "80.000").await.status,
        StatusCode::SEE_OTHER
    );
    let second = second_reviewer(&app).await;
    let confirmed = second
        .submit(&decision, "form[action$='/bestaetigen']", &[])
        .await;
    assert!(confirmed.refusal().is_none(), "{:?}", confirmed.refusal());
    let notice = app.document(CONFIRMED_NOTICE, id).await;
    assert!(
        pdf_text(&notice).contains("Kyffhäuserkreis Markt 8 99706 Sondershausen"),
        "{}",
        pdf_text(&notice)
    );
}

/// Names the notice of an application's confirmed decision, for [`TestApp::document`].
pub const CONFIRMED_NOTICE: &str =
    "SELECT notice_id FROM decisions WHERE application_id = $1 AND state = 'confirmed'";

/// The text of a PDF, as poppler's `pdftotext` reads it.
pub fn pdf_text(pdf: &[u8]) -> String {
    // One file per call: tests read PDFs in parallel.
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("fp-notice-{}-{n}.pdf", std::process::id()));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils) is installed");
    let _ = std::fs::remove_file(&path);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn parallel_confirmations_never_grant_more_than_the_budget() {
    let app = TestApp::spawn().await;
    let first_id = submitted_cases(&app, 5).await;
    // Six cases asking 80.000 € each; the round has 200.000 €: two fit, a third would not.
    sqlx::query(
        "UPDATE applications SET status = 'in_review', requested_grant_cents = 8000000, eligible_cost_cents = 10000000
         WHERE reference IS NOT NULL",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE rounds SET budget_cents = 20000000")
        .execute(&app.pool)
        .await
        .unwrap();
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM applications WHERE reference IS NOT NULL ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(ids.len(), 6);
    assert!(ids.contains(&first_id));
    let first = app.sign_in_as(Role::Reviewer).await;
    for id in &ids {
        let proposed = first
            .post_with_token(
                &format!("/pruefung/antraege/{id}/entscheidung"),
                &[
                    ("outcome", "approve"),
                    ("granted", "80.000"),
                    ("eligible", "100.000"),
                    ("period_start", "2027-04-01"),
                    ("period_end", "2028-03-31"),
                    ("conditions", "ANBest-Gk"),
                ],
            )
            .await;
        assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
    }
    let second = second_reviewer(&app).await;
    // All confirmations at once, each on its own connection.
    let token = second
        .get("/pruefung")
        .await
        .attr("input[name=csrf_token]", "value")
        .unwrap();
    let mut requests = tokio::task::JoinSet::new();
    for id in &ids {
        let (http, url) = (
            second.http.clone(),
            format!(
                "{}/pruefung/antraege/{id}/entscheidung/bestaetigen",
                second.base_url
            ),
        );
        let token = token.clone();
        requests.spawn(async move {
            let response = http
                .post(url)
                .form(&[("csrf_token", token)])
                .send()
                .await
                .unwrap();
            crate::common::Page::from(response).await
        });
    }
    let pages = requests.join_all().await;
    let refused: Vec<String> = pages
        .iter()
        .filter_map(crate::common::Page::refusal)
        .collect();
    assert!(pages.iter().all(|p| p.status == StatusCode::SEE_OTHER));
    assert_eq!(
        pages.len() - refused.len(),
        2,
        "exactly the confirmations that fit"
    );
    assert_eq!(refused.len(), 4);
    for message in refused {
        assert!(message.contains("Das Budget des Förderaufrufs reicht nicht"));
    }
    let (granted, approved_sum, approved): (i64, i64, i64) = sqlx::query_as(
        "SELECT r.granted_cents, (SELECT sum(granted_cents) FROM applications WHERE status = 'approved')::bigint,
                (SELECT count(*) FROM applications WHERE status = 'approved')
         FROM rounds r",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (granted, approved_sum, approved),
        (16_000_000, 16_000_000, 2)
    );
    let still_open: i64 =
        sqlx::query_scalar("SELECT count(*) FROM decisions WHERE state = 'proposed'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(still_open, 4, "refused proposals stay open");
}

#[tokio::test]
async fn the_csv_export_holds_the_whole_selection_in_german_spreadsheet_format() {
    let app = TestApp::spawn().await;
    submitted_cases(&app, 1500).await;
    // The smallest one approved on 2 March, and assigned.
    sqlx::query(
        "UPDATE applications SET status = 'approved', granted_cents = 450000,
                decided_at = '2027-03-02 10:00+01', assigned_to = (SELECT id FROM users
                WHERE email = 'pruefung@demo.foerderportal.example')
         WHERE title = 'Vorhaben 1'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let response = reviewer
        .http
        .get(format!(
            "{}/pruefung/export.csv?sortierung=betrag&richtung=auf",
            reviewer.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "a BOM for Excel");
    let body = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines.len(),
        1 + 1501,
        "header and every case, across export pages"
    );
    assert!(lines[0].starts_with("Aktenzeichen;Vorhaben;Kommune;"));
    assert!(
        lines[1].starts_with("EGOV-1999-0001;Vorhaben 1;Kyffhäuserkreis;"),
        "{}",
        lines[1]
    );
    assert!(
        lines[0].contains(
            ";Beantragte Zuwendung (EUR);Bewilligte Zuwendung (EUR);Eingereicht am;Entschieden am;Zugewiesen an"
        ),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(";Bewilligt;5001,00;4500,00;")
            && lines[1].contains(";02.03.2027;Paul Prüfer"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(";5002,00;;"), "{}", lines[2]);
    let filtered = reviewer
        .http
        .get(format!(
            "{}/pruefung/export.csv?betrag_bis=5.010",
            reviewer.base_url
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        filtered.lines().count(),
        1 + 10,
        "the export follows the filter"
    );
}

#[tokio::test]
async fn statistics_count_municipalities_sums_partners_and_processing_time() {
    let app = TestApp::spawn().await;
    let id = submitted_cases(&app, 3).await;
    // One approved ten days after submission, one withdrawn, one a joint project with Jena.
    sqlx::query(
        "UPDATE applications SET status = 'approved', granted_cents = 5000000,
                decided_at = submitted_at + interval '10 days' WHERE title = 'Vorhaben 1'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE applications SET status = 'withdrawn' WHERE title = 'Vorhaben 2'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO application_partners (application_id, municipality_id)
         SELECT $1, id FROM municipalities WHERE ags = '16053000'",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let page = reviewer.get("/pruefung/statistik").await;
    assert_eq!(page.status, StatusCode::OK);
    let figures = page.texts("dl.summary-list dd");
    assert_eq!(figures[0], "4");
    assert_eq!(figures[1], "1");
    // 80.000 + 5.001 (approved, still counted as requested) + 5.003; the withdrawn 5.002 not.
    assert_eq!(figures[2], "90.004,00 €");
    assert_eq!(figures[3], "50.000,00 €");
    assert_eq!(figures[4], "1 mit zusammen 1 Partnerkommunen");
    assert_eq!(figures[5], "10,0 Tage");
    let by_status = page.texts("table:has(#status-caption) tbody tr");
    assert!(
        by_status.contains(&"Eingereicht 2".to_string()),
        "{by_status:?}"
    );
    assert!(
        by_status.contains(&"Bewilligt 1".to_string()),
        "{by_status:?}"
    );
    assert_eq!(page.text("table:has(#status-caption) tfoot tr"), "Summe 4");
    let by_district = page.texts("table:has(#district-caption) tbody tr");
    assert_eq!(
        by_district,
        vec!["Kyffhäuserkreis 4 90.004,00 € 50.000,00 €"]
    );
    assert_eq!(
        page.text("table:has(#district-caption) tfoot tr"),
        "Summe 4 90.004,00 € 50.000,00 €"
    );
    // The chart names each bar and gives its value; the scale runs to 100.000 €, so the
    // requested bar is 90 % long and the granted one 50 %.
    let chart = "svg[aria-labelledby='district-chart-title']";
    assert_eq!(page.attr(chart, "role").as_deref(), Some("img"));
    assert_eq!(
        page.text(&format!("{chart} title")),
        "Balkendiagramm: beantragte und bewilligte Summen nach Landkreis und kreisfreier Stadt"
    );
    assert_eq!(
        page.texts(&format!("{chart} text.chart-label")),
        vec!["Kyffhäuserkreis"]
    );
    assert_eq!(
        page.texts(&format!("{chart} text[class^='chart-value']")),
        vec!["90.004,00 €", "50.000,00 €"]
    );
    assert_eq!(
        page.texts(&format!("{chart} text.chart-tick")),
        vec!["0 €", "50.000 €", "100.000 €"]
    );
    assert_eq!(
        page.attr(&format!("{chart} rect.bar-requested"), "width")
            .as_deref(),
        Some("90.0%")
    );
    assert_eq!(
        page.attr(&format!("{chart} rect.bar-granted"), "width")
            .as_deref(),
        Some("50.0%")
    );
    assert_eq!(
        page.count("svg.chart[role='img'] > title"),
        4,
        "by category, by Landkreis, submissions per month, the round's burn-down"
    );
    assert_eq!(
        page.count("caption:not(.visually-hidden)"),
        0,
        "each table under its own heading, named once on the screen"
    );
}

#[tokio::test]
async fn statistics_chart_submissions_per_berlin_month_and_the_budget_burn_down() {
    let app = TestApp::spawn().await;
    submitted_cases(&app, 3).await;
    // Two grants, in September and November; October without any submission; one submitted
    // at half past midnight on 1 December in Berlin (still November in UTC).
    for (title, submitted, granted) in [
        ("Vorhaben 1", "2026-09-10 10:00+02", Some(5_000_000_i64)),
        ("Vorhaben 2", "2026-11-30 23:30+00", None),
        ("Vorhaben 3", "2026-11-05 10:00+01", Some(1_234_567)),
    ] {
        sqlx::query(
            "UPDATE applications SET submitted_at = $2::timestamptz,
                    status = CASE WHEN $3::bigint IS NULL THEN status ELSE 'approved' END,
                    granted_cents = $3, decided_at = CASE WHEN $3::bigint IS NULL THEN NULL
                                                     ELSE $2::timestamptz + interval '5 days' END
             WHERE title = $1",
        )
        .bind(title)
        .bind(submitted)
        .bind(granted)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "UPDATE applications SET submitted_at = '2026-11-20 10:00+01' WHERE title NOT LIKE 'Vorhaben %'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (round, title, budget): (i64, String, i64) = sqlx::query_as(
        "SELECT id, title, budget_cents FROM rounds WHERE state = 'published' ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let page = reviewer
        .get(&format!("/pruefung/statistik?runde={round}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);

    let months = "table:has(#submissions-caption)";
    assert_eq!(
        page.texts(&format!("{months} tbody tr")),
        vec![
            "September 2026 1",
            "Oktober 2026 0",
            "November 2026 2",
            "Dezember 2026 1"
        ]
    );
    assert_eq!(page.text(&format!("{months} tfoot tr")), "Summe 4");
    let chart = "svg[aria-labelledby='submissions-chart-title']";
    assert_eq!(
        page.texts(&format!("{chart} text.chart-label")),
        vec!["Sept. 2026", "Okt. 2026", "Nov. 2026", "Dez. 2026"]
    );
    assert_eq!(
        page.texts(&format!("{chart} text[class^='chart-value']")),
        vec!["1", "0", "2", "1"]
    );
    // Scale 0–2, right of the month names (34 % of the width): November's bar fills the rest.
    assert_eq!(
        page.texts(&format!("{chart} text.chart-tick")),
        vec!["0", "1", "2"]
    );
    let widths: Vec<String> = {
        let html = scraper::Html::parse_document(&page.body);
        let sel = scraper::Selector::parse(&format!("{chart} rect")).unwrap();
        html.select(&sel)
            .map(|r| r.value().attr("width").unwrap().to_string())
            .collect()
    };
    assert_eq!(widths, vec!["33.0%", "0.0%", "66.0%", "33.0%"]);

    // The burn-down: what is granted by the end of each month, and what is left.
    let money = |cents: i64| {
        foerderportal::money::Cents::new(cents)
            .to_string()
            .replace('\u{a0}', " ")
    };
    let burn = format!("table:has(#burn-down-{round}-caption)");
    let left_after_september = money(budget - 5_000_000);
    let left = money(budget - 6_234_567);
    assert_eq!(
        page.texts(&format!("{burn} tbody tr")),
        vec![
            format!("September 2026 50.000,00 € 50.000,00 € {left_after_september}"),
            format!("Oktober 2026 0,00 € 50.000,00 € {left_after_september}"),
            format!("November 2026 12.345,67 € 62.345,67 € {left}"),
        ]
    );
    assert_eq!(
        page.text(&format!("{burn} tfoot tr")),
        format!("Summe 62.345,67 € {left}")
    );
    assert_eq!(page.text(&format!("#burn-down-{round}-heading")), title);
    let chart = format!("svg[aria-labelledby='burn-down-{round}-chart-title']");
    assert_eq!(
        page.texts(&format!("{chart} text.chart-label")),
        vec![
            format!("Sept. 2026 – frei {left_after_september}"),
            format!("Okt. 2026 – frei {left_after_september}"),
            format!("Nov. 2026 – frei {left}"),
        ]
    );
    assert_eq!(
        page.texts(&format!("{chart} text[class^='chart-value']")),
        vec!["50.000,00 €", "50.000,00 €", "62.345,67 €"]
    );
    let per_mille = |cents: i64| {
        let pm = cents * 1000 / budget;
        format!("{}.{}%", pm / 10, pm % 10)
    };
    assert_eq!(
        page.attr(&format!("{chart} rect.bar-budget"), "width")
            .as_deref(),
        Some("100.0%")
    );
    let granted_widths: Vec<String> = {
        let html = scraper::Html::parse_document(&page.body);
        let sel = scraper::Selector::parse(&format!("{chart} rect.bar-granted")).unwrap();
        html.select(&sel)
            .map(|r| r.value().attr("width").unwrap().to_string())
            .collect()
    };
    assert_eq!(
        granted_widths,
        vec![
            per_mille(5_000_000),
            per_mille(5_000_000),
            per_mille(6_234_567)
        ]
    );
}

/// The tallies as a full count of the applications would give them.
const TALLIES_RECOUNTED: &str =
    "SELECT round_id, status, category_code, district_id, assigned_to, count(*)::bigint,
        sum(coalesce(requested_grant_cents, 0))::bigint, sum(coalesce(granted_cents, 0))::bigint,
        (count(*) FILTER (WHERE decided_at IS NOT NULL))::bigint,
        coalesce(sum(extract(epoch FROM decided_at - submitted_at)::bigint), 0)::bigint
    FROM applications WHERE reference IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5";
const TALLIES_KEPT: &str =
    "SELECT round_id, status, category_code, district_id, assigned_to, applications,
        requested_cents, granted_cents, decided, decision_seconds
    FROM application_tallies WHERE applications <> 0 ORDER BY 1, 2, 3, 4, 5";

type TallyRow = (
    i64,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    i64,
    i64,
    i64,
);

/// The month tallies as a full count would give them: submissions by their month, grants by
/// the month of their decision (in Berlin).
const MONTHS_RECOUNTED: &str = "SELECT round_id, month, category_code, district_id,
        sum(submitted)::bigint, sum(granted)::bigint, sum(granted_cents)::bigint
    FROM (SELECT round_id, date_trunc('month', submitted_at AT TIME ZONE 'Europe/Berlin')::date AS month,
                 category_code, district_id, 1 AS submitted, 0 AS granted, 0 AS granted_cents
          FROM applications WHERE reference IS NOT NULL
          UNION ALL
          SELECT round_id, date_trunc('month', decided_at AT TIME ZONE 'Europe/Berlin')::date,
                 category_code, district_id, 0, 1, coalesce(granted_cents, 0)
          FROM applications WHERE reference IS NOT NULL AND status IN ('approved', 'settled')) x
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4";
const MONTHS_KEPT: &str = "SELECT round_id, month, category_code, district_id, submitted, granted,
        granted_cents
    FROM application_month_tallies WHERE submitted <> 0 OR granted <> 0 OR granted_cents <> 0
    ORDER BY 1, 2, 3, 4";

type MonthTallyRow = (
    i64,
    Option<time::Date>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    i64,
);

async fn assert_tallies_exact(app: &TestApp, after: &str) {
    let recounted: Vec<MonthTallyRow> = sqlx::query_as(MONTHS_RECOUNTED)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let kept: Vec<MonthTallyRow> = sqlx::query_as(MONTHS_KEPT)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, recounted, "month tallies after {after}");
    let recounted: Vec<TallyRow> = sqlx::query_as(TALLIES_RECOUNTED)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let kept: Vec<TallyRow> = sqlx::query_as(TALLIES_KEPT)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, recounted, "after {after}");
}

#[tokio::test]
async fn the_tallies_behind_counts_budgets_and_statistics_stay_exact_through_every_change() {
    let app = TestApp::spawn().await;
    submitted_cases(&app, 40).await;
    assert_tallies_exact(&app, "submissions through the page and in SQL").await;
    let reviewer_id: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE 'reviewer' = ANY (roles) LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let changes = [
        "UPDATE applications SET status = 'in_review', assigned_to = $1 WHERE title LIKE 'Vorhaben 1%'",
        "UPDATE applications SET category_code = NULL, requested_grant_cents = NULL WHERE title = 'Vorhaben 2'",
        "UPDATE applications SET status = 'approved', granted_cents = requested_grant_cents,
                decided_at = submitted_at + interval '3 days 4 hours' WHERE title IN ('Vorhaben 3', 'Vorhaben 4')",
        "UPDATE applications SET status = 'withdrawn', assigned_to = NULL WHERE title = 'Vorhaben 10'",
        "UPDATE applications SET reference = NULL, status = 'withdrawn' WHERE title = 'Vorhaben 5'",
        "UPDATE applications SET search_text = 'nur Text' WHERE title = 'Vorhaben 6'",
        "DELETE FROM applications WHERE title = 'Vorhaben 7' AND $1 = $1",
    ];
    for change in changes {
        let query = sqlx::query(change);
        let query = if change.contains("$1") {
            query.bind(reviewer_id)
        } else {
            query
        };
        query.execute(&app.pool).await.unwrap();
        assert_tallies_exact(&app, change).await;
    }
}

#[tokio::test]
async fn counts_that_need_the_applications_stop_at_a_thousand_and_say_so() {
    let app = TestApp::spawn().await;
    submitted_cases(&app, 1001).await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;

    // From the tallies: exact at any size, written the German way.
    let all = reviewer.get("/pruefung").await;
    let tabs = all.texts("nav[aria-label='Anzahl nach Status'] a");
    assert!(tabs.contains(&"Alle (1.002)".to_string()), "{tabs:?}");
    assert!(
        tabs.contains(&"Eingereicht (1.002)".to_string()),
        "{tabs:?}"
    );
    assert_eq!(all.text("#cases-caption"), "Anträge 1–50 von 1.002");

    // A search over more than a thousand says "more than" and leaves the statuses unnumbered.
    let broad = reviewer.get("/pruefung?suche=Musterkommune").await;
    let tabs = broad.texts("nav[aria-label='Anzahl nach Status'] a");
    assert!(
        tabs.contains(&"Alle (mehr als 1.000)".to_string()),
        "{tabs:?}"
    );
    assert!(tabs.contains(&"Eingereicht".to_string()), "{tabs:?}");
    assert_eq!(
        broad.text("#cases-caption"),
        "Anträge 1–50 von mehr als 1.000"
    );
    assert_eq!(broad.count("table.cases tbody tr"), 50);

    // Below the bound the count is exact again.
    let narrow = reviewer
        .get("/pruefung?betrag_von=5.100&betrag_bis=5.199,99")
        .await;
    let tabs = narrow.texts("nav[aria-label='Anzahl nach Status'] a");
    assert!(tabs.contains(&"Alle (100)".to_string()), "{tabs:?}");
}

#[tokio::test]
async fn the_filter_lists_stay_in_memory_until_the_database_announces_a_change() {
    use foerderportal::review::choices::{ChoiceCache, keep_fresh};
    use std::sync::Arc;

    let app = TestApp::spawn().await;
    let cache = Arc::new(ChoiceCache::default());
    let mut conn = app.pool.acquire().await.unwrap();
    // Not listening yet: every call reads afresh.
    let (a, b) = (
        cache.get(&mut conn).await.unwrap(),
        cache.get(&mut conn).await.unwrap(),
    );
    assert!(!Arc::ptr_eq(&a, &b));
    assert_eq!(a, b);

    let stop = tokio_util::sync::CancellationToken::new();
    let listener = tokio::spawn(keep_fresh(app.pool.clone(), cache.clone(), stop.clone()));
    let mut kept = None;
    for _ in 0..100 {
        let (a, b) = (
            cache.get(&mut conn).await.unwrap(),
            cache.get(&mut conn).await.unwrap(),
        );
        if Arc::ptr_eq(&a, &b) {
            kept = Some(a);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let kept = kept.expect("once listening, the lists are kept");

    sqlx::query("UPDATE rounds SET title = 'Förderaufruf mit neuem Titel' WHERE state <> 'draft'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut renamed = false;
    for _ in 0..100 {
        let now = cache.get(&mut conn).await.unwrap();
        if now
            .rounds
            .iter()
            .any(|(_, t)| t == "Förderaufruf mit neuem Titel")
        {
            renamed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(renamed, "the change reaches the lists: {kept:?}");
    // And the dashboard shows it.
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    assert!(
        reviewer
            .get("/pruefung")
            .await
            .texts("#runde option")
            .contains(&"Förderaufruf mit neuem Titel".to_string())
    );
    stop.cancel();
    listener.await.unwrap();
}

#[tokio::test]
async fn approvals_are_committed_to_budget_years_and_no_year_is_over_committed() {
    let app = TestApp::spawn().await;
    submitted_cases(&app, 2).await;
    sqlx::query(
        "UPDATE applications SET status = 'in_review', requested_grant_cents = 8000000, eligible_cost_cents = 10000000
         WHERE reference IS NOT NULL",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (round, year): (i64, i32) = sqlx::query_as("SELECT id, year FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let next = year + 1;
    // The admin splits the budget: 150.000 € this year, the rest next year.
    let admin = app.sign_in_as(Role::Admin).await;
    let path = format!("/admin/foerderaufrufe/{round}");
    let form = format!("form[action='{path}']");
    let wrong = admin
        .submit(
            &path,
            &form,
            &[("budget_years", &format!("{year}: 150.000\n{next}: 1"))],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text("#budget_years-error").contains("10.000.000,00"));
    let split = format!("{year}: 150.000\n{next}: 9.850.000");
    let saved = admin
        .submit(&path, &form, &[("budget_years", &split)])
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM applications WHERE reference IS NOT NULL ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let first = app.sign_in_as(Role::Reviewer).await;
    // The case page offers the split, prefilled from nothing but explained from the plan.
    let case = first
        .get(&format!("/pruefung/antraege/{}/entscheidung", ids[0]))
        .await;
    assert_eq!(case.count(&format!("#year-{year}")), 1);
    assert!(
        case.text("main")
            .contains(&format!("{year}: 80.000,00 €, {next}: 0,00 €"))
    );
    let proposal = |extra: Vec<(String, String)>| {
        let mut fields: Vec<(String, String)> = [
            ("outcome", "approve"),
            ("granted", "80.000"),
            ("eligible", "100.000"),
            ("period_start", "2027-04-01"),
            ("period_end", "2028-03-31"),
            ("conditions", "ANBest-Gk"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
        fields.extend(extra);
        fields
    };
    // Two follow the cost plan (all in this year); the third is moved to next year, after a
    // split that does not add up was refused.
    for id in &ids[..2] {
        let fields = proposal(Vec::new());
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let proposed = first
            .post_with_token(&format!("/pruefung/antraege/{id}/entscheidung"), &fields)
            .await;
        assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
    }
    let moved = |this: &str, that: &str| {
        proposal(vec![
            (format!("year-{year}"), this.into()),
            (format!("year-{next}"), that.into()),
        ])
    };
    let bad = moved("0", "70.000");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = first
        .post_with_token(&format!("/pruefung/antraege/{}/entscheidung", ids[2]), &bad)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text(&format!("#year-{year}-error"))
            .contains("70.000,00")
    );
    let good = moved("", "80.000");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let proposed = first
        .post_with_token(
            &format!("/pruefung/antraege/{}/entscheidung", ids[2]),
            &good,
        )
        .await;
    assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);

    // All three confirmed at once: this year takes one of the first two, next year the third.
    let second = second_reviewer(&app).await;
    let paths: Vec<String> = ids
        .iter()
        .map(|id| format!("/pruefung/antraege/{id}/entscheidung/bestaetigen"))
        .collect();
    let pages = crate::common::join_all(
        paths
            .iter()
            .map(|p| second.post_with_token(p, &[]))
            .collect(),
    )
    .await;
    let refusals: Vec<String> = pages
        .iter()
        .filter_map(crate::common::Page::refusal)
        .collect();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert!(refusals[0].contains(&format!("Haushaltsjahres {year}")));
    assert!(
        pages[2].refusal().is_none(),
        "the one moved to next year fits"
    );
    let committed: Vec<(i32, i64, i64)> = sqlx::query_as(
        "SELECT year, budget_cents, committed_cents FROM round_budget_years WHERE round_id = $1 ORDER BY year",
    )
    .bind(round)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        committed,
        [
            (year, 15_000_000, 8_000_000),
            (next, 985_000_000, 8_000_000)
        ]
    );
    let granted: i64 = sqlx::query_scalar("SELECT granted_cents FROM rounds WHERE id = $1")
        .bind(round)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(granted, 16_000_000, "the round's total and its years agree");
    // Past the pages, the database refuses to over-commit a year.
    let forced = sqlx::query("UPDATE round_budget_years SET committed_cents = budget_cents + 1")
        .execute(&app.pool)
        .await;
    assert_eq!(
        crate::common::refused_by(forced).as_deref(),
        Some("round_budget_years_not_over_committed")
    );
    // A year's budget cannot drop below what it has committed.
    let lower = admin
        .submit(
            &path,
            &form,
            &[(
                "budget_years",
                &format!("{year}: 50.000\n{next}: 9.950.000"),
            )],
        )
        .await;
    assert_eq!(lower.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(lower.text("#budget_years-error").contains("80.000,00"));
    // The dashboard and the statistics show each year; the rows add up to the sum row.
    for page in ["/pruefung", "/pruefung/statistik"] {
        let shown = first.get(page).await;
        let caption = if page == "/pruefung" {
            "Nach Haushaltsjahr"
        } else {
            "Budget, Bindungen"
        };
        let table = format!("div[aria-label^='{caption}'] table");
        let committed: i64 = shown
            .texts(&format!("{table} tbody td:nth-of-type(2)"))
            .iter()
            .map(|t| t.parse::<foerderportal::money::Cents>().unwrap().get())
            .sum();
        let total = shown.text(&format!("{table} tfoot td:nth-of-type(2)"));
        assert_eq!(committed, 16_000_000, "{page}");
        assert_eq!(total, "160.000,00 €", "{page}");
    }
}
