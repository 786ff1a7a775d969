//! The public Nachnutzungskatalog: what it shows (only approved and settled applications whose
//! municipality agreed, never a person), the owner's consent, reuse requests and open data.

use foerderportal::accounts::Role;
use reqwest::StatusCode;

use crate::common::{Client, TestApp};

/// The demo's lived-in round: filed and decided through the pages, five grants published.
pub async fn lived_in(app: &TestApp) {
    foerderportal::demo::load_through_pages(&app.state())
        .await
        .unwrap();
}

async fn id_of(app: &TestApp, title: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM applications WHERE title = $1")
        .bind(title)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn titles(page: &crate::common::Page) -> Vec<String> {
    page.texts(".catalogue-list h3 a")
}

#[tokio::test]
async fn only_approved_and_agreed_projects_are_public_and_never_a_person() {
    let app = TestApp::spawn().await;
    lived_in(&app).await;
    // Suppose every municipality agreed, whatever its application's state.
    sqlx::query(
        "INSERT INTO catalogue_entries (application_id, title, summary, reuse, mailbox, published_by)
         SELECT a.id, a.title, 'Kurz', 'Nachnutzbar', 'postfach@kommune.example', a.created_by
         FROM applications a ON CONFLICT DO NOTHING",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let visitor = app.client();
    let json = visitor.get("/offene-daten/vorhaben.json").await;
    assert_eq!(json.header("content-type"), Some("application/json"));
    let document: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let public: Vec<i64> = document["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    let states: Vec<(i64, String)> = sqlx::query_as("SELECT id, status::text FROM applications")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    for (id, status) in &states {
        let shown = matches!(status.as_str(), "approved" | "settled");
        let entry = visitor.get(&format!("/nachnutzung/{id}")).await;
        let expected = if shown {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(entry.status, expected, "{status}");
        assert_eq!(public.contains(id), shown, "{status} in the open data");
    }
    assert_eq!(document["licence"], "dl-de/by-2.0");
    // The catalogue names municipalities and role mailboxes, never the people behind them.
    let everything = format!("{}{}", visitor.get("/nachnutzung").await.body, json.body);
    let people: Vec<(String, String)> = sqlx::query_as(
        "SELECT display_name, email FROM users WHERE display_name NOT LIKE 'Sachbearbeitung%'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for (name, email) in people {
        assert!(
            !everything.contains(&name) && !everything.contains(&email),
            "{name}"
        );
    }
    for private in ["Karla Kommunal", "karla@kyffhaeuser.example", "DE89"] {
        assert!(!everything.contains(private), "{private}");
    }
}

#[tokio::test]
async fn the_catalogue_searches_filters_and_its_open_data_add_up() {
    let app = TestApp::spawn().await;
    lived_in(&app).await;
    let visitor = app.client();
    let all = visitor.get("/nachnutzung").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(titles(&all).len(), 5, "{:?}", titles(&all));
    let found = all.text("#treffer");
    assert!(
        found.starts_with("5 Vorhaben") && found.ends_with("angezeigt 1–5"),
        "{found}"
    );
    // German full text: "Serviceteams" finds the Serviceteam, "Rechnungen" the E-Rechnung.
    let found = visitor.get("/nachnutzung?suche=Serviceteams").await;
    assert_eq!(titles(&found), ["E-Government-Serviceteam"]);
    assert!(found.text("title").contains("Suche „Serviceteams“"));
    let found = visitor.get("/nachnutzung?suche=Rechnungen").await;
    assert_eq!(titles(&found), ["E-Rechnung im Rechnungseingang"]);
    let none = visitor.get("/nachnutzung?suche=Raumfahrt").await;
    assert_eq!(none.text("#treffer"), "0 Vorhaben");
    assert_eq!(none.count(".catalogue-list"), 0);
    let by_category = visitor.get("/nachnutzung?kategorie=2g").await;
    assert_eq!(
        titles(&by_category),
        ["Schulungsreihe Informationssicherheit"]
    );
    // Bad filter values are ignored, never an error.
    let odd = visitor
        .get("/nachnutzung?landkreis=x&status=%00&seite=-3&suche=%27%3B--")
        .await;
    assert_eq!(odd.status, StatusCode::OK);

    // An entry: the facts of the grant, the reuse description, the role mailbox.
    let id = id_of(&app, "E-Government-Serviceteam").await;
    let entry = visitor.get(&format!("/nachnutzung/{id}")).await;
    let facts = entry.text("dl.summary-list");
    for expected in [
        "Kyffhäuserkreis",
        "Landkreis Nordhausen, Unstrut-Hainich-Kreis",
        "145.012,03",
        "01.04.2027 bis 31.03.2028",
        "Bewilligt",
    ] {
        assert!(facts.contains(expected), "{expected:?} in {facts}");
    }
    assert!(
        entry
            .body
            .contains("mailto:digital.16065000@kommune.example")
    );

    // The open data: the same entries, and per round the figures of the statistics.
    let csv = visitor.get("/offene-daten/vorhaben.csv").await;
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.header("link").unwrap().contains("dl-de/by-2-0"));
    assert!(csv.header("last-modified").is_some());
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv.body.trim_start_matches('\u{feff}').as_bytes());
    let grants: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[10].to_string())
        .collect();
    assert_eq!(grants.len(), 5);
    let cents = |s: &str| -> i64 { s.replace(',', "").parse().unwrap() };
    let csv_sum: i64 = grants.iter().map(|g| cents(g)).sum();
    let json: serde_json::Value =
        serde_json::from_str(&visitor.get("/offene-daten/vorhaben.json").await.body).unwrap();
    let json_sum: i64 = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["granted_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(csv_sum, json_sum);
    let rounds: serde_json::Value =
        serde_json::from_str(&visitor.get("/offene-daten/foerderaufrufe.json").await.body).unwrap();
    let round = &rounds["rounds"][0];
    assert_eq!(round["municipalities"], 19);
    // 1.794.412,03 € filed, less the withdrawn 32.800,00 €, as the statistics count.
    assert_eq!(round["requested_cents"], 176_161_203);
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let statistics = reviewer.get("/pruefung/statistik").await;
    for key in ["requested_cents", "granted_cents"] {
        let sum = foerderportal::money::Cents::new(round[key].as_i64().unwrap())
            .to_string()
            .replace('\u{a0}', " ");
        assert!(
            statistics.text("main").contains(&sum),
            "{key} {sum} on the statistics page"
        );
    }
}

#[tokio::test]
async fn the_owner_agrees_withdraws_and_a_draft_waits_for_its_approval() {
    let app = TestApp::spawn().await;
    lived_in(&app).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let visitor = app.client();
    let grant = id_of(&app, "Digitales Bürgerbüro").await;
    let page = format!("/antraege/{grant}/katalog");
    let form = "form[action$='/katalog']";
    // Prefilled from the application; a personal mailbox is not checked, but it is required.
    let bad = clerk
        .submit(
            &page,
            form,
            &[("mailbox", "keine adresse"), ("summary", "")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.count("#mailbox-error, #summary-error"), 2);
    assert_eq!(
        bad.attr("#mailbox", "value").as_deref(),
        Some("keine adresse")
    );
    let saved = clerk
        .submit(
            &page,
            form,
            &[
                ("mailbox", "buergerbuero@kyffhaeuser.example"),
                ("action", "veroeffentlichen"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let entry = visitor.get(&format!("/nachnutzung/{grant}")).await;
    assert_eq!(entry.status, StatusCode::OK);
    assert!(
        entry.text("p.lead").contains("online erreichbar"),
        "the summary"
    );
    // Withdrawn: gone from the catalogue.
    let withdrawn = clerk
        .submit(&page, form, &[("action", "zurueckziehen")])
        .await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    assert_eq!(
        visitor.get(&format!("/nachnutzung/{grant}")).await.status,
        StatusCode::NOT_FOUND
    );
    // A draft's consent is kept, but nothing shows before the approval.
    let draft = id_of(&app, "Kreisweites Bürgerportal").await;
    let page = format!("/antraege/{draft}/katalog");
    let saved = clerk
        .submit(
            &page,
            form,
            &[
                ("summary", "Ein Portal für alle Gemeinden."),
                ("reuse", "Alle Landkreise."),
                ("mailbox", "portal@kyffhaeuser.example"),
                ("action", "veroeffentlichen"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert!(
        clerk
            .get(&page)
            .await
            .body
            .contains("sobald es bewilligt ist")
    );
    assert_eq!(
        visitor.get(&format!("/nachnutzung/{draft}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Only the applying municipality decides: a partner may not.
    let partner = partner_clerk(&app).await;
    let serviceteam = id_of(&app, "E-Government-Serviceteam").await;
    assert_eq!(
        partner
            .get(&format!("/antraege/{serviceteam}/katalog"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// The demo clerk of the Landkreis Nordhausen, a partner of the Serviceteam.
async fn partner_clerk(app: &TestApp) -> Client {
    let client = app.client();
    let signed_in = client
        .sign_in(
            "kommune.16062000@demo.foerderportal.example",
            foerderportal::demo::DEMO_PASSWORD,
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    client
}

#[tokio::test]
async fn a_reuse_request_reaches_the_mailbox_is_throttled_and_the_owner_sees_it() {
    let app = TestApp::spawn().await;
    lived_in(&app).await;
    let id = id_of(&app, "Online-Antragsverfahren für das Bürgeramt").await;
    let entry = format!("/nachnutzung/{id}");
    let visitor = app.client();
    let form = "form[action$='/anfrage']";
    let bad = visitor
        .submit(
            &entry,
            form,
            &[("email", "nicht gültig"), ("message", "Hallo")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.count("#name-error, #email-error, #municipality-error"),
        3
    );
    assert_eq!(
        bad.text("textarea#message"),
        "Hallo",
        "what was typed stays"
    );
    let typed = "Wir möchten die Antragsassistenten übernehmen. <b>Bitte</b> melden Sie sich.";
    let fields = [
        ("name", "Team Digitalisierung"),
        ("municipality", "Stadt Arnstadt"),
        ("email", "digital@arnstadt.example"),
        ("message", typed),
    ];
    let sent = visitor.submit(&entry, form, &fields).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    // To the project's mailbox with the text; to the visitor a copy that repeats nothing typed.
    let mails: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT recipient, kind, body_text FROM mail_outbox
         WHERE recipient IN ('digital.16051000@kommune.example', 'digital@arnstadt.example') ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].0, "digital.16051000@kommune.example");
    assert!(mails[0].2.contains(typed) && mails[0].2.contains("digital@arnstadt.example"));
    assert_eq!(
        (mails[1].0.as_str(), mails[1].1.as_str()),
        ("digital@arnstadt.example", "reuse-request-sent")
    );
    assert!(!mails[1].2.contains("Antragsassistenten") && !mails[1].2.contains("Team"));
    // The owner sees it on the application.
    let erfurt = app.client();
    erfurt
        .sign_in(
            "kommune.16051000@demo.foerderportal.example",
            foerderportal::demo::DEMO_PASSWORD,
        )
        .await;
    let own = erfurt.get(&format!("/antraege/{id}/katalog")).await;
    assert!(own.text("ol.messages").contains("Stadt Arnstadt"));
    // Five per hour and client; the sixth keeps its text and says when to try again.
    for _ in 0..4 {
        assert_eq!(
            visitor.submit(&entry, form, &fields).await.status,
            StatusCode::SEE_OTHER
        );
    }
    let throttled = visitor.submit(&entry, form, &fields).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.text("#message-error").contains("in einer Stunde"));
    assert_eq!(throttled.text("textarea#message"), typed);
}
