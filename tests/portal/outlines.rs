//! Projektskizzen: an outline written before a round, consulted with the ministry (messages
//! and mail both ways, "abgestimmt"), found in the partner search by another municipality,
//! the interest accepted, and the outline turned into an application with the partner
//! preselected. Drafts stay the municipality's own.

use foerderportal::accounts::Role;
use reqwest::StatusCode;

use crate::applications::jena_clerk;
use crate::common::{Client, Page, TestApp};

const FORM: &str = "form[action='/skizzen/neu']";

fn outline_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "title",
            "Gemeinsames Bürgerkonto für den Nordthüringer Raum",
        ),
        (
            "goal",
            "Ein Bürgerkonto für alle Onlinedienste der Kreisverwaltung und der kreisangehörigen Gemeinden.",
        ),
        ("category", "2c"),
        ("estimated_cost", "120.000"),
        ("planned_start", "2027-04-01"),
        ("planned_end", "2028-03-31"),
        ("partners_wanted", "ja"),
        (
            "partners_for",
            "Gemeinsamer Betrieb des Bürgerkontos und gemeinsame Ausschreibung.",
        ),
        ("contact_name", "Sachgebiet Digitalisierung"),
        ("contact_email", "digital@kyffhaeuser.example"),
    ]
}

/// The demo clerk writes an outline; its id.
async fn write_outline(clerk: &Client) -> i64 {
    let saved = clerk.submit("/skizzen/neu", FORM, &outline_fields()).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    saved
        .location()
        .and_then(|l| l.strip_prefix("/skizzen/"))
        .and_then(|id| id.parse().ok())
        .expect("the outline's page")
}

/// The outbox's (recipient, kind, text) for outline mail, oldest first.
async fn outline_mail(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT recipient, body_text FROM mail_outbox WHERE kind = 'outline-update' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn new_mail_since(app: &TestApp, seen: &mut usize) -> Vec<(String, String)> {
    let all = outline_mail(app).await;
    let fresh = all[*seen..].to_vec();
    *seen = all.len();
    fresh
}

fn recipients(mail: &[(String, String)]) -> Vec<&str> {
    let mut to: Vec<&str> = mail.iter().map(|(r, _)| r.as_str()).collect();
    to.sort_unstable();
    to
}

#[tokio::test]
async fn an_outline_is_consulted_found_by_a_partner_and_becomes_an_application() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let jena = jena_clerk(&app).await;
    let mut seen = 0;

    let id = write_outline(&clerk).await;
    let own = clerk.get(&format!("/skizzen/{id}")).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.text("dl.summary-list").contains("120.000,00 €"));
    assert!(
        own.text("dl.summary-list")
            .contains("01.04.2027 bis 31.03.2028")
    );
    // A draft is the municipality's own: nobody else finds it.
    for path in [format!("/skizzen/{id}"), format!("/partnersuche/{id}")] {
        assert_eq!(
            jena.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let ministry_page = format!("/pruefung/skizzen/{id}");
    assert_eq!(
        reviewer.get(&ministry_page).await.status,
        StatusCode::NOT_FOUND
    );

    // Consultation: the first message sends it to the ministry, whose reviewers hear of it.
    let page = format!("/skizzen/{id}");
    let messages = "form[action$='/nachrichten']";
    let sent = clerk
        .submit(
            &page,
            messages,
            &[("message", "Ist das Vorhaben unter 2c förderfähig?")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER);
    let mail = new_mail_since(&app, &mut seen).await;
    assert_eq!(
        recipients(&mail),
        [
            "pruefung@demo.foerderportal.example",
            "zweitpruefung@demo.foerderportal.example"
        ]
    );
    assert!(mail[0].1.contains("unter 2c förderfähig") && mail[0].1.contains(&ministry_page));
    let list = reviewer.get("/pruefung/skizzen").await;
    assert!(list.text("#offen").contains("(1)"));
    assert!(
        list.texts("ul[aria-labelledby='offen'] h3")
            .contains(&"Gemeinsames Bürgerkonto für den Nordthüringer Raum".to_string())
    );
    let answered = reviewer
        .submit(
            &ministry_page,
            messages,
            &[("message", "Ja, als Basisdienst. Bitte Partner einbinden.")],
        )
        .await;
    assert_eq!(answered.status, StatusCode::SEE_OTHER);
    let mail = new_mail_since(&app, &mut seen).await;
    assert_eq!(recipients(&mail), ["kommune@demo.foerderportal.example"]);
    assert!(mail[0].1.contains("Bitte Partner einbinden") && mail[0].1.contains(&page));
    // The answer is on the clerk's page; the next message goes to the reviewer who answered.
    let own = clerk.get(&page).await;
    assert_eq!(own.count("ol.messages li"), 2);
    assert!(
        own.text("ol.messages li.from-ministry")
            .contains("Paul Prüfer")
    );
    clerk
        .submit(
            &page,
            messages,
            &[("message", "Danke, wir suchen Partner.")],
        )
        .await;
    let mail = new_mail_since(&app, &mut seen).await;
    assert_eq!(recipients(&mail), ["pruefung@demo.foerderportal.example"]);
    let agreed = reviewer
        .submit(&ministry_page, "form[action$='/abgestimmt']", &[])
        .await;
    assert_eq!(agreed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        recipients(&new_mail_since(&app, &mut seen).await),
        ["kommune@demo.foerderportal.example"]
    );
    assert!(
        clerk
            .get(&page)
            .await
            .text("p .tag")
            .contains("Mit dem Ministerium abgestimmt")
    );

    // Partner search: Jena finds it by text, category and Landkreis, and expresses interest.
    let put = clerk
        .submit(
            &page,
            "form[action$='/partnersuche']",
            &[("action", "aufnehmen")],
        )
        .await;
    assert_eq!(put.status, StatusCode::SEE_OTHER);
    let kyffhaeuser: i64 =
        sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16065000'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let found = |query: String| {
        let jena = &jena;
        async move {
            jena.get(&format!("/partnersuche?{query}"))
                .await
                .texts(".card h3")
        }
    };
    let title = "Gemeinsames Bürgerkonto für den Nordthüringer Raum".to_string();
    let only_it = vec![title.clone()];
    assert_eq!(found("suche=Ausschreibungen".into()).await, only_it);
    assert_eq!(found("kategorie=2c".into()).await, only_it);
    assert_eq!(found(format!("landkreis={kyffhaeuser}")).await, only_it);
    assert!(found("kategorie=2a".into()).await.is_empty());
    assert!(found("suche=Kläranlage".into()).await.is_empty());
    let entry = format!("/partnersuche/{id}");
    let interest = "form[action$='/interesse']";
    let typed = "Jena betreibt schon ein Bürgerkonto und bringt Erfahrung mit.";
    let expressed = jena.submit(&entry, interest, &[("message", typed)]).await;
    assert_eq!(
        expressed.status,
        StatusCode::SEE_OTHER,
        "{}",
        expressed.body
    );
    let mail = new_mail_since(&app, &mut seen).await;
    assert_eq!(recipients(&mail), ["kommune@demo.foerderportal.example"]);
    assert!(mail[0].1.contains(typed) && mail[0].1.contains("kommune@jena.example"));
    assert!(
        jena.get(&entry)
            .await
            .text("#interesse")
            .contains("Ihr Interesse")
    );

    // The owner accepts; Jena hears of it.
    let own = clerk.get(&page).await;
    assert!(own.text("ul[aria-labelledby='interessen']").contains(typed));
    let accepted = clerk.submit(&page, "form[action$='/annehmen']", &[]).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        recipients(&new_mail_since(&app, &mut seen).await),
        ["kommune@jena.example"]
    );

    // One click: the application, prefilled, with Jena asked to confirm.
    let made = clerk.submit(&page, "form[action$='/antrag']", &[]).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let application: i64 = made
        .location()
        .and_then(|l| l.strip_prefix("/antraege/"))
        .and_then(|id| id.parse().ok())
        .expect("the application's page");
    let vorhaben = clerk
        .get(&format!("/antraege/{application}/vorhaben"))
        .await;
    assert_eq!(
        vorhaben.attr("input#title", "value").as_deref(),
        Some(title.as_str())
    );
    assert!(
        vorhaben
            .text("textarea#summary")
            .starts_with("Ein Bürgerkonto")
    );
    assert_eq!(
        vorhaben.attr("input#start_date", "value").as_deref(),
        Some("2027-04-01")
    );
    assert_eq!(
        vorhaben
            .attr("input[name='category'][checked]", "value")
            .as_deref(),
        Some("2c")
    );
    let overview = clerk.get(&format!("/antraege/{application}")).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(
        overview.body.contains("Jena"),
        "Jena is the preselected partner"
    );
    let confirm: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE kind = 'partner-confirmation-request'
         AND recipient = 'kommune@jena.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(confirm, 1);
    // The outline points to it and has left the partner search.
    assert!(
        clerk
            .get(&page)
            .await
            .body
            .contains(&format!("/antraege/{application}"))
    );
    assert!(found(String::new()).await.is_empty());
    // The accepted partner still reads the entry its mail links to.
    assert_eq!(jena.get(&entry).await.status, StatusCode::OK);
    let again = clerk
        .submit_from(&own, &page, "form[action$='/antrag']", &[])
        .await;
    assert_eq!(
        again.location(),
        Some(format!("/antraege/{application}").as_str()),
        "a second click opens the same application"
    );
}

#[tokio::test]
async fn outline_forms_name_every_problem_at_its_field_and_keep_what_was_typed() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let long = "x".repeat(3001);
    let bad = clerk
        .submit(
            "/skizzen/neu",
            FORM,
            &[
                ("title", "  "),
                ("goal", &long),
                ("category", "<script>"),
                ("estimated_cost", "1,234.56"),
                ("planned_start", "31.02.2027"),
                ("planned_end", "2026-01-01"),
                ("partners_wanted", "vielleicht"),
                ("contact_name", "Team\u{0}Digital"),
                ("contact_email", "'; DROP TABLE outlines; --"),
                ("contact_phone", &"1".repeat(41)),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text("title").starts_with("Fehler:"));
    for field in [
        "title",
        "goal",
        "category",
        "estimated_cost",
        "planned_start",
        "partners_wanted",
        "contact_email",
        "contact_phone",
    ] {
        assert_eq!(bad.count(&format!("#{field}-error")), 1, "{field}");
    }
    assert_eq!(
        bad.text("textarea#goal").len(),
        3001,
        "nothing typed is lost"
    );
    assert_eq!(
        bad.attr("input#contact_email", "value").as_deref(),
        Some("'; DROP TABLE outlines; --")
    );
    // Partners wanted, but not for what.
    let mut fields = outline_fields();
    fields.retain(|(k, _)| *k != "partners_for");
    let missing = clerk.submit("/skizzen/neu", FORM, &fields).await;
    assert_eq!(missing.count("#partners_for-error"), 1);

    let id = write_outline(&clerk).await;
    let page = format!("/skizzen/{id}");
    let empty = clerk
        .submit(
            &page,
            "form[action$='/nachrichten']",
            &[("message", " \n ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.count("#message-error"), 1);
    let too_long = "y".repeat(5001);
    let long_message = clerk
        .submit(
            &page,
            "form[action$='/nachrichten']",
            &[("message", &too_long)],
        )
        .await;
    assert_eq!(long_message.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(long_message.text("textarea#message").len(), 5001);
    // The owner cannot express interest in its own outline, and no unknown round is taken.
    clerk
        .submit(
            &page,
            "form[action$='/partnersuche']",
            &[("action", "aufnehmen")],
        )
        .await;
    let own_interest = clerk
        .post_with_token(
            &format!("/partnersuche/{id}/interesse"),
            &[("message", "Wir")],
        )
        .await;
    assert_eq!(own_interest.status, StatusCode::UNPROCESSABLE_ENTITY);
    for round in ["abc", "999999", "-1"] {
        let refused = clerk
            .post_with_token(&format!("{page}/antrag"), &[("round_id", round)])
            .await;
        assert_eq!(refused.status, StatusCode::SEE_OTHER, "{round}");
        assert_eq!(
            refused.refusal().as_deref(),
            Some("Bitte wählen Sie einen Förderaufruf aus."),
            "{round}"
        );
    }
    let unknown = clerk
        .post_with_token(&format!("{page}/interessen/999999/annehmen"), &[])
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // Another municipality's interest: empty and twice are refused at the field.
    let jena = jena_clerk(&app).await;
    let entry = format!("/partnersuche/{id}");
    let blank = jena
        .submit(&entry, "form[action$='/interesse']", &[("message", "")])
        .await;
    assert_eq!(blank.count("#message-error"), 1);
    jena.submit(&entry, "form[action$='/interesse']", &[("message", "Gern")])
        .await;
    let twice = jena
        .post_with_token(&format!("{entry}/interesse"), &[("message", "Noch einmal")])
        .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        twice
            .text(".error-summary")
            .contains("bereits Interesse bekundet")
    );
    // The search ends: the interested municipality still reads its entry (the mails link
    // there), nobody else does, and no interest can be expressed any more.
    let ended = clerk
        .post_with_token(
            &format!("/skizzen/{id}/partnersuche"),
            &[("action", "beenden")],
        )
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    let kept = jena.get(&entry).await;
    assert_eq!(kept.status, StatusCode::OK);
    assert!(kept.body.contains("Gern"), "what Jena wrote");
    let erfurt =
        crate::applications::clerk_of(&app, "16051000", "kommune@erfurt.example", "Erna Erfurt")
            .await;
    assert_eq!(erfurt.get(&entry).await.status, StatusCode::NOT_FOUND);
    let late = jena
        .post_with_token(&format!("{entry}/interesse"), &[("message", "Noch einmal")])
        .await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);
    // Nothing of this reached the page as markup.
    let shown: Page = clerk.get(&page).await;
    assert!(!shown.body.contains("<script>"));
}

#[tokio::test]
async fn the_owner_edits_and_deletes_a_draft_and_only_the_owner_may() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = write_outline(&clerk).await;
    let edit = format!("/skizzen/{id}/bearbeiten");
    let mut fields = outline_fields();
    fields[0] = ("title", "Bürgerkonto, zweiter Entwurf");
    fields[6] = ("partners_wanted", "nein");
    let saved = clerk
        .submit(&edit, &format!("form[action='{edit}']"), &fields)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let shown = clerk.get(&format!("/skizzen/{id}")).await;
    assert_eq!(shown.text("h1"), "Bürgerkonto, zweiter Entwurf");
    assert!(
        !shown.body.contains("Gemeinsamer Betrieb"),
        "partners no longer wanted"
    );
    // Not in the partner search without partners wanted.
    let refused = clerk
        .post_with_token(
            &format!("/skizzen/{id}/partnersuche"),
            &[("action", "aufnehmen")],
        )
        .await;
    assert!(
        refused
            .refusal()
            .unwrap()
            .contains("Partnerkommunen suchen")
    );
    // Another municipality can neither change nor delete it.
    let jena = jena_clerk(&app).await;
    for path in [edit.clone(), format!("/skizzen/{id}/loeschen")] {
        let tried = jena.post_with_token(&path, &outline_fields()).await;
        assert_eq!(tried.status, StatusCode::NOT_FOUND, "{path}");
    }
    let deleted = clerk
        .submit(&format!("/skizzen/{id}"), "form[action$='/loeschen']", &[])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        clerk.get(&format!("/skizzen/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE subject = $1 AND action LIKE 'outline.%'",
    )
    .bind(format!("outline:{id}"))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(logged, 3, "created, updated, deleted");
}
