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

/// The lived-in demo clerk's grant ("Digitales Bürgerbüro"): filed with its documents,
/// approved with a notice.
pub async fn demo_grant(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT a.id FROM applications a
         JOIN decisions d ON d.application_id = a.id AND d.state = 'confirmed'
         WHERE a.title = 'Digitales Bürgerbüro'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
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

/// Consent for every application, whatever its state (what is shown is the view's business).
async fn every_municipality_agrees(app: &TestApp) {
    sqlx::query(
        "INSERT INTO catalogue_entries (application_id, title, summary, reuse, mailbox, published_by)
         SELECT a.id, a.title, 'Kurz', 'Nachnutzbar', 'postfach@kommune.example', a.created_by
         FROM applications a ON CONFLICT DO NOTHING",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Every public page and file, as the text a reader gets (HTML as its text, JSON and CSV as
/// their values), whitespace normalised: what nothing private may appear in.
async fn everything_public(app: &TestApp) -> String {
    let visitor = app.client();
    let mut paths = vec![
        "/nachnutzung".to_string(),
        "/offene-daten".into(),
        "/statistik".into(),
    ];
    let entries: Vec<i64> = sqlx::query_scalar("SELECT id FROM catalogue_public")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    paths.extend(entries.iter().map(|id| format!("/nachnutzung/{id}")));
    let rounds: Vec<i64> = sqlx::query_scalar("SELECT id FROM rounds")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    paths.extend(rounds.iter().map(|id| format!("/statistik/{id}")));
    let mut texts = Vec::new();
    for path in &paths {
        let page = visitor.get(path).await;
        let html = scraper::Html::parse_document(&page.body);
        texts.push(html.root_element().text().collect::<Vec<_>>().join(" "));
        // Attributes too (links, mailto).
        texts.push(page.body.clone());
    }
    for file in ["vorhaben", "foerderaufrufe"] {
        let json = visitor.get(&format!("/offene-daten/{file}.json")).await;
        let value: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        texts.push(strings(&value).join("\n"));
        let csv = visitor.get(&format!("/offene-daten/{file}.csv")).await;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(csv.body.as_bytes());
        for record in reader.records() {
            texts.push(record.unwrap().iter().collect::<Vec<_>>().join("\n"));
        }
    }
    texts
        .iter()
        .map(|t| normalised(t))
        .collect::<Vec<_>>()
        .join("\n")
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().flat_map(strings).collect(),
        serde_json::Value::Object(o) => o.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

fn normalised(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every text an application's sections hold, by field ("antragsteller.iban", and the cost
/// items' texts under "kosten.…"), with the application's status and whether it is public.
async fn answers(app: &TestApp) -> Vec<(i64, String, bool, String, String)> {
    sqlx::query_as(
        r#"SELECT a.id, a.status, a.id IN (SELECT id FROM catalogue_public),
                  s.section || '.' || k.key, leaf #>> '{}'
           FROM applications a
           JOIN application_sections s ON s.application_id = a.id
           CROSS JOIN LATERAL jsonb_each(s.answers) k
           CROSS JOIN LATERAL jsonb_path_query(k.value, 'strict $.**') leaf
           WHERE jsonb_typeof(leaf) = 'string'"#,
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .into_iter()
    .map(
        |(id, status, public, field, value): (i64, String, bool, String, String)| {
            (id, status, public, field, normalised(&value))
        },
    )
    .collect()
}

/// A text only its application would have: not short, not a number or a date, and not part
/// of what is public anyway (a public application's answers and title, a municipality's name).
fn distinctive(value: &str, commonplace: &[String]) -> bool {
    value.chars().count() >= 8
        && !value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
        && !commonplace.iter().any(|public| public.contains(value))
}

#[tokio::test]
async fn only_approved_and_agreed_projects_are_public_and_never_a_person() {
    let app = TestApp::spawn().await;
    lived_in(&app).await;
    // Suppose every municipality agreed, whatever its application's state …
    every_municipality_agrees(&app).await;
    // … but one approved grant's municipality, which withdrew its consent.
    let unagreed: i64 = sqlx::query_scalar(
        "DELETE FROM catalogue_entries WHERE application_id =
             (SELECT min(id) FROM applications WHERE status = 'approved')
         RETURNING application_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let visitor = app.client();
    let json = visitor.get("/offene-daten/vorhaben.json").await;
    assert_eq!(json.header("content-type"), Some("application/json"));
    let document: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(document["licence"], "dl-de/by-2.0");
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
    let mut seen = std::collections::BTreeSet::new();
    for (id, status) in &states {
        let shown = matches!(status.as_str(), "approved" | "settled") && *id != unagreed;
        let entry = visitor.get(&format!("/nachnutzung/{id}")).await;
        let expected = if shown {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(entry.status, expected, "{status}");
        assert_eq!(public.contains(id), shown, "{status} in the open data");
        seen.insert(status.as_str());
    }
    for status in ["draft", "submitted", "approved", "rejected", "withdrawn"] {
        assert!(seen.contains(status), "the demo has a {status} application");
    }

    // Per field: nothing an application that is not public holds appears on a public page
    // or in a file; of the public ones, no personal field.
    let everything = everything_public(&app).await;
    let answers = answers(&app).await;
    // Two municipalities may name their projects alike (the demo's two Ratsinformationssysteme).
    let mut commonplace: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM municipalities UNION SELECT title FROM catalogue_public",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    commonplace.extend(
        answers
            .iter()
            .filter(|(_, _, public, _, _)| *public)
            .map(|(.., value)| value.clone()),
    );
    let personal = [
        "antragsteller.contact_name",
        "antragsteller.contact_function",
        "antragsteller.contact_phone",
        "antragsteller.contact_email",
        "antragsteller.iban",
    ];
    let mut checked = 0;
    for (id, status, public, field, value) in &answers {
        let private = !public || personal.contains(&field.as_str());
        if private && (distinctive(value, &commonplace) || personal.contains(&field.as_str())) {
            checked += 1;
            assert!(
                !everything.contains(value.as_str()),
                "{field} of the {status} application {id} is public: {value:?}"
            );
        }
    }
    assert!(checked > 100, "only {checked} answers checked");
    // The catalogue names municipalities and role mailboxes, never the people behind them.
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

/// What the public sees, worked out from the sources as a reader of the rules would: approved
/// or settled applications that agreed, where they stand by their confirmed approval's period
/// (its end as amended since), Berlin's calendar.
async fn public_from_the_sources(
    app: &TestApp,
) -> Vec<(i64, String, Option<String>, Option<i64>, String)> {
    sqlx::query_as(
        "SELECT a.id, a.title, a.category_code, a.district_id,
                CASE WHEN a.status = 'settled'
                          OR coalesce(a.period_end, d.period_end) < (now() AT TIME ZONE 'Europe/Berlin')::date
                         THEN 'abgeschlossen'
                     WHEN d.period_start <= (now() AT TIME ZONE 'Europe/Berlin')::date THEN 'in_umsetzung'
                     ELSE 'bewilligt' END
         FROM catalogue_entries e JOIN applications a ON a.id = e.application_id
         LEFT JOIN decisions d ON d.application_id = a.id AND d.state = 'confirmed' AND d.outcome = 'approve'
         WHERE a.status IN ('approved', 'settled') ORDER BY a.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn public_as_shown(app: &TestApp) -> Vec<(i64, String, Option<String>, Option<i64>, String)> {
    sqlx::query_as(
        "SELECT id, title, category_code, district_id, phase FROM catalogue_public ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_catalogue_follows_its_applications_and_decisions_through_every_change() {
    let app = TestApp::spawn().await;
    lived_in(&app).await;
    // Every municipality agreed, whatever its application's state.
    every_municipality_agrees(&app).await;
    assert_eq!(
        public_as_shown(&app).await,
        public_from_the_sources(&app).await
    );
    // The grants still running or ahead, which a change can move.
    let approved: Vec<i64> = public_as_shown(&app)
        .await
        .into_iter()
        .filter(|r| r.4 != "abgeschlossen")
        .map(|r| r.0)
        .collect();
    assert!(
        approved.len() >= 4,
        "the demo has running grants: {approved:?}"
    );
    let changes = [
        // Settled; its period amended to have ended; its approval's period begun.
        (
            "UPDATE applications SET status = 'settled' WHERE id = $1",
            approved[0],
        ),
        (
            "UPDATE applications SET period_end = current_date - 1 WHERE id = $1",
            approved[1],
        ),
        (
            "UPDATE decisions SET period_start = current_date - 30, period_end = current_date + 400
             WHERE application_id = $1 AND state = 'confirmed'",
            approved[2],
        ),
        // Renamed, moved to another category and Landkreis.
        (
            "UPDATE applications SET title = 'Umbenannt: ' || title WHERE id = $1",
            approved[3],
        ),
        (
            "UPDATE applications SET category_code = NULL,
                    district_id = (SELECT max(id) FROM municipalities) WHERE id = $1",
            approved[3],
        ),
        // Withdrawn after the award: gone.
        (
            "UPDATE applications SET status = 'withdrawn' WHERE id = $1",
            approved[1],
        ),
        // An undecided application approved (its consent waited): now shown.
        (
            "UPDATE applications SET status = 'approved', granted_cents = 100000
             WHERE id = (SELECT min(id) FROM applications WHERE status = 'submitted') AND $1 > 0",
            1,
        ),
    ];
    for (sql, id) in changes {
        let before = public_as_shown(&app).await;
        sqlx::query(sql).bind(id).execute(&app.pool).await.unwrap();
        let after = public_as_shown(&app).await;
        assert_ne!(before, after, "{sql} changes what the public sees");
        assert_eq!(after, public_from_the_sources(&app).await, "after {sql}");
    }
    let phases: std::collections::BTreeSet<String> = public_as_shown(&app)
        .await
        .into_iter()
        .map(|r| r.4)
        .collect();
    assert!(
        phases.contains("abgeschlossen") && phases.contains("bewilligt"),
        "{phases:?}"
    );
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
    // The press figures: 19 Kommunen, knapp 1,8 Mio. € requested by every submitted
    // application (the withdrawn 32.800,00 € too; the ministry's own page leaves them out).
    assert_eq!(round["municipalities"], 19);
    assert_eq!(round["requested_cents"], 179_441_203);
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let statistics = reviewer.get("/pruefung/statistik").await;
    let granted = foerderportal::money::Cents::new(round["granted_cents"].as_i64().unwrap())
        .to_string()
        .replace('\u{a0}', " ");
    assert!(
        statistics.text("main").contains(&granted),
        "granted {granted} on the ministry's statistics page"
    );
}

/// "1.794.412,03 €" → 179441203 (cents); "19" → 19.
fn figure(text: &str) -> i64 {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("not a figure: {text:?}"))
}

/// Every `table.figures` of the page: its id, the figures of its body rows and of its total.
fn figure_tables(page: &crate::common::Page) -> Vec<(String, Vec<Vec<i64>>, Vec<i64>)> {
    let html = scraper::Html::parse_document(&page.body);
    let select = |s: &str| scraper::Selector::parse(s).unwrap();
    let figures = |row: scraper::ElementRef| -> Vec<i64> {
        row.select(&select("td"))
            .map(|td| figure(&td.text().collect::<String>()))
            .collect()
    };
    html.select(&select("table.figures"))
        .map(|table| {
            let rows = table.select(&select("tbody tr")).map(figures).collect();
            let total = table.select(&select("tfoot tr")).map(figures).next();
            let id = table.value().attr("id").unwrap_or_default().to_string();
            (id, rows, total.unwrap_or_default())
        })
        .collect()
}

/// The first row of `table` whose header cell is `label`, as figures.
fn row_of(page: &crate::common::Page, table: &str, label: &str) -> Vec<i64> {
    let cells = page
        .texts(&format!("#{table} tbody tr"))
        .into_iter()
        .find(|r| r.starts_with(label))
        .unwrap_or_else(|| panic!("{label} in #{table}"));
    cells[label.len()..]
        .split_whitespace()
        .filter(|w| *w != "€")
        .map(figure)
        .collect()
}

#[tokio::test]
async fn the_public_statistics_add_up_and_tell_the_numbers_of_the_open_data() {
    let app = TestApp::spawn().await;
    lived_in(&app).await;
    let visitor = app.client();
    let file: serde_json::Value =
        serde_json::from_str(&visitor.get("/offene-daten/foerderaufrufe.json").await.body).unwrap();
    let rounds = file["rounds"].as_array().unwrap();
    assert!(!rounds.is_empty());
    let csv = visitor.get("/offene-daten/foerderaufrufe.csv").await;
    let csv_rows: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(csv.body.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(csv_rows.len(), rounds.len());
    let programme = visitor.get("/statistik").await;
    assert_eq!(programme.status, StatusCode::OK);
    let n = |v: &serde_json::Value, key: &str| v[key].as_i64().unwrap();
    let mut sum = [0; 4];
    for (round, csv_row) in rounds.iter().zip(&csv_rows) {
        // CSV and JSON say the same; so does the round's line on the programme's page …
        assert_eq!(figure(&csv_row[5]), n(round, "requested_cents"));
        assert_eq!(figure(&csv_row[7]), n(round, "granted_cents"));
        let figures = [
            n(round, "applications"),
            n(round, "requested_cents"),
            n(round, "approved"),
            n(round, "granted_cents"),
        ];
        let title = round["title"].as_str().unwrap();
        assert_eq!(row_of(&programme, "nach-foerderaufruf", title), figures);
        (0..4).for_each(|i| sum[i] += figures[i]);
        // … and the round's own page, whose Landkreise divide its municipalities.
        let page = visitor.get(&format!("/statistik/{}", n(round, "id"))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text("h1").starts_with(title));
        let (_, _, total) = figure_tables(&page)
            .into_iter()
            .find(|(id, _, _)| id == "nach-district")
            .unwrap();
        assert_eq!(total[0], n(round, "municipalities"), "{title}");
        assert_eq!(total[1..], figures, "{title}");
        for (id, rows, total) in figure_tables(&page) {
            assert_every_total_is_the_sum_of_its_rows(&id, &rows, &total);
        }
    }
    for (id, rows, total) in figure_tables(&programme) {
        assert_every_total_is_the_sum_of_its_rows(&id, &rows, &total);
    }
    let (_, _, total) = figure_tables(&programme).into_iter().next().unwrap();
    assert_eq!(total, sum, "the programme is the sum of its rounds");
    // The press figures of the lived-in round, in the page's first sentence.
    let lead = visitor
        .get(&format!("/statistik/{}", n(&rounds[0], "id")))
        .await
        .text("p.lead");
    assert!(
        lead.starts_with("19 Kommunen haben")
            && lead.contains("1.794.412,03 € beantragt; bewilligt sind"),
        "{lead}"
    );
    // Drafts never count.
    let submitted: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(requested_grant_cents), 0)::bigint FROM applications
         WHERE reference IS NOT NULL",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(sum[1], submitted);

    // Hostile addresses are 404, never an error; a round back in draft is not public.
    for path in [
        "/statistik/0",
        "/statistik/999999",
        "/statistik/-1",
        "/statistik/+1",
        "/statistik/abc",
        "/statistik/%00",
        "/statistik/1%27%3B--",
        "/statistik/99999999999999999999999",
    ] {
        assert_eq!(
            visitor.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let id = n(&rounds[0], "id");
    sqlx::query("UPDATE rounds SET state = 'draft' WHERE id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let hidden = format!("/statistik/{id}");
    assert_eq!(visitor.get(&hidden).await.status, StatusCode::NOT_FOUND);
    let programme = visitor.get("/statistik").await;
    assert_eq!(programme.count(&format!("a[href='{hidden}']")), 0);
}

fn assert_every_total_is_the_sum_of_its_rows(table: &str, rows: &[Vec<i64>], total: &[i64]) {
    assert!(!rows.is_empty(), "#{table} has rows");
    for (column, expected) in total.iter().enumerate() {
        let sum: i64 = rows.iter().map(|r| r[column]).sum();
        assert_eq!(sum, *expected, "#{table}, column {column}");
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
