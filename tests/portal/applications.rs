//! Clerks file applications: sections saved as typed, the cost plan's rules, attachments checked
//! by content, partners confirming, check answers, one submission per application, withdrawal,
//! Nachforderung and the state machine's limits.

use foerderportal::accounts::Role;
use foerderportal::applications::db as applications_db;
use foerderportal::applications::model::{Party, Section, Status, Transition};
use foerderportal::applications::sample;
use foerderportal::applications::workflow::{self, Acting, Input, TransitionError};
use foerderportal::demo::DEMO_PASSWORD;
use foerderportal::mail::Outbox;
use foerderportal::money::Cents;
use reqwest::StatusCode;

use crate::common::{Client, Page, TestApp};
use crate::storage::Backend;

pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
pub const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00";

/// A section's answers as the form fields to post.
pub type Answers = Vec<(&'static str, String)>;

pub fn section_form(section: &str) -> String {
    format!("form.stack[action$='/{section}']")
}

/// Starts an application for the demo round as `clerk`; returns its id.
pub async fn start(clerk: &Client) -> i64 {
    let page = clerk
        .submit("/antraege", "form[action='/antraege']", &[])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    page.location()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

pub async fn round_year(app: &TestApp) -> String {
    let year: i32 = sqlx::query_scalar("SELECT year FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    year.to_string()
}

pub fn applicant() -> Answers {
    sample::answers(Section::Applicant, 0)
}

/// The sample project, running from April of `year` (the round's) to March of the next.
pub fn project(year: &str) -> Answers {
    sample::answers(Section::Project, year.parse().unwrap())
}

pub fn partnership() -> Answers {
    sample::answers(Section::Partnership, 0)
}

pub fn costs(year: &str) -> Answers {
    sample::answers(Section::Costs, year.parse().unwrap())
}

pub fn declarations() -> Answers {
    sample::answers(Section::Declarations, 0)
}

/// Saves a section with these answers ("Speichern und weiter").
pub async fn save(clerk: &Client, id: i64, section: &str, answers: &[(&str, String)]) -> Page {
    let fields: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    clerk
        .submit(
            &format!("/antraege/{id}/{section}"),
            &section_form(section),
            &fields,
        )
        .await
}

/// Uploads a file for a document ("extra" or a round attachment type id).
pub async fn upload(clerk: &Client, id: i64, document: &str, name: &str, bytes: &[u8]) -> Page {
    let page = clerk.get(&format!("/antraege/{id}/anlagen")).await;
    let token = page
        .attr("input[name='csrf_token']", "value")
        .expect("a form token");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .text("document", document.to_string())
        .part(
            "datei",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    let response = clerk
        .http
        .post(format!("{}/antraege/{id}/anlagen", clerk.base_url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Page::from(response).await
}

/// The ids of the round's document types, required ones first as the round lists them.
pub async fn document_ids(app: &TestApp) -> Vec<String> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM round_attachment_types WHERE required ORDER BY position",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    ids.into_iter().map(|i| i.to_string()).collect()
}

/// An application with every section complete and the required documents uploaded.
pub async fn complete_application(app: &TestApp, clerk: &Client) -> i64 {
    let id = start(clerk).await;
    complete_sections(app, clerk, id).await;
    id
}

/// Completes every section of application `id` with the sample answers and uploads the
/// required documents.
pub async fn complete_sections(app: &TestApp, clerk: &Client, id: i64) {
    let year = round_year(app).await;
    for (section, answers) in [
        ("antragsteller", applicant()),
        ("vorhaben", project(&year)),
        ("verbund", partnership()),
        ("kosten", costs(&year)),
        ("erklaerungen", declarations()),
    ] {
        let saved = save(clerk, id, section, &answers).await;
        assert_eq!(
            saved.status,
            StatusCode::SEE_OTHER,
            "{section}: {}",
            saved.body
        );
    }
    for (i, document) in document_ids(app).await.iter().enumerate() {
        let uploaded = upload(clerk, id, document, &format!("Unterlage {i}.pdf"), PDF).await;
        assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    }
}

pub async fn status_of(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM applications WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

pub async fn submit(clerk: &Client, id: i64) -> Page {
    clerk
        .submit(
            &format!("/antraege/{id}/pruefen"),
            "form[action$='/einreichen']",
            &[],
        )
        .await
}

/// A clerk of Jena, signed in.
pub async fn jena_clerk(app: &TestApp) -> Client {
    clerk_of(app, "16053000", "kommune@jena.example", "Jens Jenaer").await
}

/// A clerk of the municipality with this AGS (made here, demo password), signed in.
pub async fn clerk_of(app: &TestApp, ags: &str, email: &str, name: &str) -> Client {
    let hash = foerderportal::accounts::password::Hasher::new()
        .hash(DEMO_PASSWORD.into())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO users (email, display_name, roles, municipality_id, password_hash)
         SELECT $2, $3, '{clerk}', id, $1 FROM municipalities WHERE ags = $4
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(hash)
    .bind(email)
    .bind(name)
    .bind(ags)
    .execute(&app.pool)
    .await
    .unwrap();
    let client = app.client();
    assert_eq!(
        client.sign_in(email, DEMO_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    client
}

#[tokio::test]
async fn a_complete_application_is_submitted_once_with_a_reference_timeline_and_receipt() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = complete_application(&app, &clerk).await;

    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert_eq!(
        overview.texts(".task-list .tag"),
        vec!["Abgeschlossen"; 6],
        "every section is complete"
    );
    // The task list says until when it can be submitted: the round's deadline, Berlin time.
    let closes: time::OffsetDateTime = sqlx::query_scalar("SELECT closes_at FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        overview.text("p.deadline"),
        format!(
            "Einreichen bis {} (Antragsfrist des Förderaufrufs).",
            foerderportal::locale::date_time(closes)
        )
    );
    let check = clerk.get(&format!("/antraege/{id}/pruefen")).await;
    assert_eq!(check.count(".error-summary"), 0, "{}", check.body);
    assert!(check.body.contains("Digitales Bürgerbüro"));
    assert!(check.body.contains("DE89 3704 0044 0532 0130 00"));
    assert!(
        check
            .texts(".plan-summary dd")
            .contains(&"80 % der förderfähigen Kosten".to_string())
    );

    // A double click: the same loaded form posted twice at once.
    let check_path = format!("/antraege/{id}/pruefen");
    let form = "form[action$='/einreichen']";
    let (first, second) = tokio::join!(
        clerk.submit_from(&check, &check_path, form, &[]),
        clerk.submit_from(&check, &check_path, form, &[])
    );
    for page in [&first, &second] {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(
            page.location(),
            Some(format!("/antraege/{id}/bestaetigung").as_str())
        );
    }
    let year = jiff::Zoned::now().year();
    let confirmation = clerk.get(&format!("/antraege/{id}/bestaetigung")).await;
    assert_eq!(confirmation.text(".reference"), format!("EGOV-{year}-0001"));
    let revisions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM application_revisions WHERE application_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(revisions, 1, "exactly one submission");
    let receipts: Vec<String> = sqlx::query_scalar(
        "SELECT recipient FROM mail_outbox WHERE kind = 'submission-receipt' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(receipts, vec!["kommune@demo.foerderportal.example"]);

    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert_eq!(
        overview.count(".task-list"),
        0,
        "read-only after submission"
    );
    let timeline = overview.texts(".timeline li strong");
    assert_eq!(timeline, vec!["Antrag angelegt", "Antrag eingereicht"]);
    let edit = clerk.get(&format!("/antraege/{id}/vorhaben")).await;
    assert_eq!(
        edit.status,
        StatusCode::SEE_OTHER,
        "sections are closed now"
    );
    let late_save = clerk
        .post_with_token(
            &format!("/antraege/{id}/vorhaben"),
            &[("title", "Nachträglich geändert"), ("version", "1")],
        )
        .await;
    assert_eq!(late_save.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, "submitted");

    let list = clerk.get("/antraege").await;
    assert!(list.body.contains(&format!("EGOV-{year}-0001")));
    assert!(list.body.contains("80.000,00\u{a0}€"));
    let print = clerk.get(&format!("/antraege/{id}/druck")).await;
    assert_eq!(print.status, StatusCode::OK);
    assert!(print.body.contains("Lizenzen Terminservice"));
}

#[tokio::test]
async fn references_count_up_per_year_without_gaps() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let mut references = Vec::new();
    for _ in 0..3 {
        let id = complete_application(&app, &clerk).await;
        submit(&clerk, id).await;
        let reference: String =
            sqlx::query_scalar("SELECT reference FROM applications WHERE id = $1")
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        references.push(reference);
    }
    let year = jiff::Zoned::now().year();
    assert_eq!(
        references,
        (1..=3)
            .map(|n| format!("EGOV-{year}-{n:04}"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_incomplete_application_says_exactly_what_is_missing() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    save(&clerk, id, "antragsteller", &applicant()).await;
    let check = clerk.get(&format!("/antraege/{id}/pruefen")).await;
    // Not yet an alert (nothing was refused), but a labelled region, as HTML allows.
    assert_eq!(
        check.attr(".error-summary", "role").as_deref(),
        Some("region")
    );
    let problems = check.texts(".error-summary li");
    assert!(
        problems.contains(&"Der Abschnitt „Vorhaben“ ist noch nicht vollständig.".to_string()),
        "{problems:?}"
    );
    assert!(
        !problems.iter().any(|p| p.contains("Antragsteller")),
        "{problems:?}"
    );
    assert_eq!(
        check.attr(".error-summary a[href$='/vorhaben']", "href"),
        Some(format!("/antraege/{id}/vorhaben"))
    );
    // A crafted submit is refused with the same list.
    let forced = clerk
        .post_with_token(&format!("/antraege/{id}/einreichen"), &[])
        .await;
    assert_eq!(forced.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(forced.text("title").starts_with("Fehler:"));
    assert_eq!(status_of(&app, id).await, "draft");
}

#[tokio::test]
async fn invalid_answers_are_saved_with_their_errors_and_nothing_typed_is_lost() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    let mut answers = applicant();
    answers[5].1 = "DE89 3704 0044 0532 0130 01".into();
    let page = save(&clerk, id, "antragsteller", &answers).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text("title").starts_with("Fehler:"));
    assert_eq!(
        page.text("#iban-error"),
        "Fehler: Die IBAN ist nicht gültig. Bitte prüfen Sie die Prüfziffern und Ziffern."
    );
    assert_eq!(
        page.attr("#iban", "value").as_deref(),
        Some("DE89 3704 0044 0532 0130 01")
    );
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert_eq!(overview.texts(".task-list .tag")[0], "Fehler");
    // Coming back shows the saved answer and its error again.
    let again = clerk.get(&format!("/antraege/{id}/antragsteller")).await;
    assert_eq!(
        again.attr("#iban", "value").as_deref(),
        Some("DE89 3704 0044 0532 0130 01")
    );
    assert_eq!(again.count("#iban-error"), 1);
    // "Später fortsetzen" with the wrong IBAN says so, instead of only "gespeichert".
    let mut later = answers.clone();
    later.push(("action", "spaeter".into()));
    let later: Vec<(&str, &str)> = later.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = clerk
        .submit(
            &format!("/antraege/{id}/antragsteller"),
            &section_form("antragsteller"),
            &later,
        )
        .await;
    assert_eq!(saved.location(), Some(format!("/antraege/{id}").as_str()));
    let told = clerk.get(&format!("/antraege/{id}")).await;
    assert!(
        told.text("[role=status]")
            .contains("ist gespeichert, enthält aber einen Fehler: Die IBAN ist nicht gültig."),
        "{}",
        told.text("[role=status]")
    );

    // "Später fortsetzen" with half the answers: in progress, no errors forced on the clerk.
    let later = clerk
        .submit(
            &format!("/antraege/{id}/vorhaben"),
            &section_form("vorhaben"),
            &[("title", "Nur ein Titel"), ("action", "spaeter")],
        )
        .await;
    assert_eq!(later.location(), Some(format!("/antraege/{id}").as_str()));
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert_eq!(overview.texts(".task-list .tag")[1], "In Bearbeitung");
    assert_eq!(
        clerk
            .get(&format!("/antraege/{id}/vorhaben"))
            .await
            .attr("#title", "value")
            .as_deref(),
        Some("Nur ein Titel")
    );
}

#[tokio::test]
async fn bad_input_in_every_section_gets_a_message_beside_the_field() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    let year = round_year(&app).await;
    let long = "x".repeat(10_001);
    // (section, changed answers, the error element expected)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "antragsteller",
            vec![("contact_email", "karla at example".into())],
            "#contact_email-error",
        ),
        (
            "antragsteller",
            vec![("contact_phone", "<script>".into())],
            "#contact_phone-error",
        ),
        (
            "vorhaben",
            vec![("description", long.clone())],
            "#description-error",
        ),
        ("vorhaben", vec![("title", "t".repeat(151))], "#title-error"),
        (
            "vorhaben",
            vec![
                ("start_date", "2027-06-01".into()),
                ("end_date", "2027-05-31".into()),
            ],
            "#end_date-error",
        ),
        (
            "vorhaben",
            vec![("start_date", "31.02.2027".into())],
            "#start_date-error",
        ),
        (
            "vorhaben",
            vec![("category", "2h".into())],
            "#category-error",
        ),
        (
            "kosten",
            vec![("cost-0-amount", "-100".into())],
            "#cost-0-amount-error",
        ),
        (
            "kosten",
            vec![("cost-0-amount", "1.000.000.000,00".into())],
            "#cost-0-amount-error",
        ),
        (
            "kosten",
            vec![("cost-0-amount", "12.34".into())],
            "#cost-0-amount-error",
        ),
        (
            "kosten",
            vec![("cost-0-year", "1999".into())],
            "#cost-0-year-error",
        ),
        (
            "kosten",
            vec![("own_share", "19.999,99".into())],
            "#own_share-error",
        ),
        (
            "kosten",
            vec![("grant", "90.000".into()), ("own_share", "10.000".into())],
            "#grant-error",
        ),
        ("erklaerungen", vec![("vat", "evil".into())], "#vat-error"),
    ];
    let base = |section: &str| match section {
        "antragsteller" => applicant(),
        "vorhaben" => project(&year),
        "kosten" => costs(&year),
        _ => declarations(),
    };
    for (section, changes, error) in cases {
        let mut answers = base(section);
        for (k, v) in &changes {
            answers.retain(|(key, _)| key != k);
            answers.push((k, v.clone()));
        }
        let page = save(&clerk, id, section, &answers).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{section} {changes:?}"
        );
        assert_eq!(
            page.count(error),
            1,
            "{section} {changes:?}: {:?}",
            page.texts(".field-error")
        );
        assert!(!page.body.contains("<script>"), "input is escaped");
        // What was typed is shown again.
        let (field, value) = &changes[0];
        let shown = page
            .attr(&format!("#{}", field), "value")
            .or_else(|| page.attr(&format!("select#{field} option[selected]"), "value"))
            .or_else(|| Some(page.text(&format!("textarea#{field}"))));
        if !matches!(*field, "category" | "vat") {
            assert_eq!(shown.as_deref(), Some(value.as_str()), "{field}");
        }
    }
    // A date typed the German way comes back as the ISO date that date fields take (a
    // browser's date field would show "01.04.2027" as empty, and the answer would be lost).
    let mut answers = project(&year);
    answers.retain(|(key, _)| !matches!(*key, "start_date" | "end_date"));
    answers.push(("start_date", "01.04.2027".into()));
    answers.push(("end_date", "31.03.2027".into()));
    let page = save(&clerk, id, "vorhaben", &answers).await;
    assert_eq!(page.count("#end_date-error"), 1);
    assert_eq!(
        page.attr("#start_date", "value").as_deref(),
        Some("2027-04-01")
    );
    assert_eq!(
        page.attr("#end_date", "value").as_deref(),
        Some("2027-03-31")
    );
}

#[tokio::test]
async fn script_in_text_fields_is_shown_as_text_everywhere() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = complete_application(&app, &clerk).await;
    let year = round_year(&app).await;
    let hostile = "<script>alert(1)</script><b>fett</b>";
    // Every free-text answer of every section (each still valid with this content).
    let free_text: [(&str, Answers, &[&str]); 4] = [
        (
            "antragsteller",
            applicant(),
            &["contact_name", "contact_function", "account_holder"],
        ),
        (
            "vorhaben",
            project(&year),
            &["title", "summary", "description", "goals"],
        ),
        (
            "verbund",
            partnership(),
            &["reuse", "standards", "licence", "documentation"],
        ),
        ("kosten", costs(&year), &["cost-0-description"]),
    ];
    for (section, mut answers, fields) in free_text {
        answers.retain(|(k, _)| !fields.contains(k));
        answers.extend(fields.iter().map(|f| (*f, hostile.to_string())));
        let saved = save(&clerk, id, section, &answers).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{section}");
    }
    let pages = [
        "",
        "/pruefen",
        "/druck",
        "/antragsteller",
        "/vorhaben",
        "/verbund",
        "/kosten",
    ];
    for path in pages {
        let page = clerk.get(&format!("/antraege/{id}{path}")).await;
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(
            page.body.contains("&lt;script&gt;") || page.body.contains("&#60;script&#62;"),
            "{path}"
        );
    }
    let check = clerk.get(&format!("/antraege/{id}/pruefen")).await;
    assert_eq!(
        check
            .texts("dd, td")
            .iter()
            .filter(|t| t.as_str() == hostile)
            .count(),
        12,
        "every answer is shown as the text it is"
    );
    assert_eq!(submit(&clerk, id).await.status, StatusCode::SEE_OTHER);
    let (text, html): (String, String) = sqlx::query_as(
        "SELECT body_text, body_html FROM mail_outbox WHERE kind = 'submission-receipt'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(text.contains(hostile), "the text part shows it literally");
    assert!(!html.contains("<script>"), "the HTML part escapes it");

    clerk
        .post_with_token(
            &format!("/antraege/{id}/zurueckziehen"),
            &[("reason", hostile)],
        )
        .await;
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert!(!overview.body.contains("<script>alert"));
    assert!(
        overview
            .texts(".timeline li")
            .iter()
            .any(|t| t.contains(hostile))
    );
}

#[tokio::test]
async fn cost_rows_are_added_and_removed_without_javascript_and_totals_computed() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    let year = round_year(&app).await;
    let path = format!("/antraege/{id}/kosten");
    let mut fields = costs(&year);
    fields.push(("action", "zeile-hinzufuegen".into()));
    let fields_ref: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let added = clerk
        .submit(&path, &section_form("kosten"), &fields_ref)
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let page = clerk.get(&path).await;
    assert_eq!(page.count("tr.cost-row"), 2);
    let filled = clerk
        .submit(
            &path,
            &section_form("kosten"),
            &[
                ("cost-1-kind", "training"),
                ("cost-1-description", "Schulung"),
                ("cost-1-year", &year),
                ("cost-1-amount", "10.000,01"),
                ("cost-1-eligible", "nein"),
                ("own_share", "30.000,01"),
            ],
        )
        .await;
    assert_eq!(filled.status, StatusCode::SEE_OTHER, "{:?}", filled.body);
    let page = clerk.get(&path).await;
    let figures = page.texts(".plan-summary dd");
    assert_eq!(figures[0], "110.000,01 €");
    assert_eq!(figures[1], "100.000,00 €");
    assert_eq!(figures[4], "80 % der förderfähigen Kosten");
    let removed = clerk
        .submit(
            &path,
            &section_form("kosten"),
            &[("action", "zeile-entfernen-0")],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let page = clerk.get(&path).await;
    assert_eq!(page.count("tr.cost-row"), 1);
    assert_eq!(
        page.attr("#cost-0-description", "value").as_deref(),
        Some("Schulung")
    );
}

/// The years a cost row may choose (the first choice is "Bitte wählen").
fn year_choices(page: &Page, row: usize) -> Vec<String> {
    page.texts(&format!("select#cost-{row}-year option"))
        .into_iter()
        .skip(1)
        .collect()
}

#[tokio::test]
async fn the_cost_plan_is_one_compact_labelled_row_per_position() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    let year = round_year(&app).await;
    save(&clerk, id, "kosten", &costs(&year)).await;
    let page = clerk.get(&format!("/antraege/{id}/kosten")).await;
    assert_eq!(
        page.texts("table.cost-table thead th"),
        vec![
            "Nr.",
            "Art",
            "Beschreibung",
            "Jahr",
            "Betrag in Euro",
            "Förder\u{ad}fähig",
            "Entfernen"
        ]
    );
    // Every field of a row is named by its column and its row, also where the column headers
    // are hidden (narrow screens) or not announced.
    for (part, column) in [
        ("kind", "Art"),
        ("description", "Beschreibung"),
        ("year", "Jahr"),
        ("amount", "Betrag in Euro"),
        ("eligible", "Förderfähig"),
    ] {
        // (The page's text joins the label's parts with a space.)
        assert_eq!(
            page.text(&format!("tr.cost-row label[for='cost-0-{part}']"))
                .replace(" ,", ","),
            format!("{column}, Kostenposition 1")
        );
        assert_eq!(page.count(&format!("tr.cost-row #cost-0-{part}")), 1);
    }
    assert_eq!(
        page.text("tr.cost-row th[scope=row]"),
        "Kostenposition 1",
        "the row header names the position"
    );
    assert_eq!(
        page.text("tr.cost-row button[value='zeile-entfernen-0']")
            .replace(" :", ":"),
        "Entfernen: Kostenposition 1"
    );
    assert_eq!(
        page.attr("select#cost-0-year", "aria-describedby")
            .as_deref(),
        Some("cost-years-hint")
    );
}

#[tokio::test]
async fn the_year_choices_follow_the_project_period() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    let round: i32 = round_year(&app).await.parse().unwrap();
    let path = format!("/antraege/{id}/kosten");

    // Without a period: the round's year and one either side, and the hint says what to do.
    let page = clerk.get(&path).await;
    let years = |range: std::ops::RangeInclusive<i32>| -> Vec<String> {
        range.map(|y| y.to_string()).collect()
    };
    assert_eq!(year_choices(&page, 0), years(round - 1..=round + 1));
    assert!(page.text("#cost-years-hint").contains("Beginn und Ende"));
    assert_eq!(
        page.attr("#cost-years-hint a", "href"),
        Some(format!("/antraege/{id}/vorhaben"))
    );

    // A project of three calendar years offers those three.
    let mut project = project(&round.to_string());
    project.retain(|(k, _)| !matches!(*k, "start_date" | "end_date"));
    project.push(("start_date", format!("{round}-09-01")));
    project.push(("end_date", format!("{}-02-28", round + 2)));
    assert_eq!(
        save(&clerk, id, "vorhaben", &project).await.status,
        StatusCode::SEE_OTHER
    );
    let page = clerk.get(&path).await;
    assert_eq!(year_choices(&page, 0), years(round..=round + 2));
    assert!(
        page.text("#cost-years-hint")
            .contains(&format!("{round} bis {}", round + 2))
    );
    assert_eq!(page.count("#cost-years-hint a"), 0);
}

#[tokio::test]
async fn a_year_outside_the_project_period_is_refused_naming_the_row() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    let year = round_year(&app).await;
    let next = (year.parse::<i32>().unwrap() + 1).to_string();
    let path = format!("/antraege/{id}/kosten");
    save(&clerk, id, "vorhaben", &project(&year)).await;
    // Two rows, in both years of the project (April to March): chosen from the page's own list.
    let page = clerk.get(&path).await;
    assert_eq!(year_choices(&page, 0), vec![year.clone(), next.clone()]);
    let mut plan = costs(&year);
    plan.extend([
        ("cost-1-kind", "training".to_string()),
        ("cost-1-description", "Schulung".to_string()),
        ("cost-1-year", next.clone()),
        ("cost-1-amount", "10.000".to_string()),
        ("cost-1-eligible", "nein".to_string()),
        ("own_share", "30.000".to_string()),
    ]);
    let fields: Vec<(&str, &str)> = plan.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = clerk
        .submit_from(&page, &path, &section_form("kosten"), &fields)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    // The project now ends in the first year: the second row's year is kept, marked, and
    // refused with its row named, next to the field and in the summary.
    let mut shorter = project(&year);
    shorter.retain(|(k, _)| *k != "end_date");
    shorter.push(("end_date", format!("{year}-12-31")));
    save(&clerk, id, "vorhaben", &shorter).await;
    let page = clerk.get(&path).await;
    assert_eq!(
        year_choices(&page, 1),
        vec![year.clone(), format!("{next} (außerhalb)")]
    );
    assert_eq!(
        page.attr("select#cost-1-year option[selected]", "value"),
        Some(next.clone())
    );
    let message = page.text("#cost-1-year-error");
    assert!(
        message.contains("Kostenposition 2")
            && message.contains(&next)
            && message.contains("Zeitraum des Vorhabens"),
        "{message}"
    );
    assert!(page.text(".error-summary").contains("Kostenposition 2"));
    assert_eq!(
        page.attr(".error-summary a[href='#cost-1-year']", "href")
            .as_deref(),
        Some("#cost-1-year")
    );
    assert_eq!(page.count("#cost-0-year-error"), 0);
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert!(
        overview
            .texts(".task-list li")
            .iter()
            .any(|t| t.contains("Kosten") && t.contains("Fehler")),
        "{:?}",
        overview.texts(".task-list li")
    );

    // A year typed around the list is refused the same way; choosing one of the list saves.
    let refused = clerk
        .submit(&path, &section_form("kosten"), &[("cost-0-year", "1999")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text("#cost-0-year-error")
            .contains("Kostenposition 1")
    );
    let fixed = clerk
        .submit(
            &path,
            &section_form("kosten"),
            &[("cost-0-year", &year), ("cost-1-year", &year)],
        )
        .await;
    assert_eq!(fixed.status, StatusCode::SEE_OTHER, "{}", fixed.body);
}

#[tokio::test]
async fn the_maximum_possible_grant_is_shown_beside_the_grant_field() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    let year = round_year(&app).await;
    let path = format!("/antraege/{id}/kosten");
    let (rate_bp, max_grant): (i32, Option<i64>) =
        sqlx::query_as("SELECT max_rate_bp, max_grant_cents FROM rounds LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let ceiling = |eligible: Cents| -> Cents {
        let by_rate = Cents::new(eligible.get() * i64::from(rate_bp) / 10_000);
        max_grant.map_or(by_rate, |max| by_rate.min(Cents::new(max)))
    };
    // As the page's text shows an amount (its no-break space normalised).
    let shown = |c: Cents| c.to_string().replace('\u{a0}', " ");
    // Before any costs: how it is worked out.
    let page = clerk.get(&path).await;
    assert!(
        page.text("#grant-hint")
            .starts_with("Höchstmögliche Zuwendung")
    );
    assert!(
        page.attr("#grant", "aria-describedby")
            .is_some_and(|d| d.contains("grant-hint"))
    );

    // From the saved plan: 100.000 € eligible (and 5.000 € that are not).
    let mut plan = costs(&year);
    plan.extend([
        ("cost-1-kind", "training".to_string()),
        ("cost-1-description", "Schulung".to_string()),
        ("cost-1-year", year.clone()),
        ("cost-1-amount", "5.000".to_string()),
        ("cost-1-eligible", "nein".to_string()),
        ("own_share", "25.000".to_string()),
    ]);
    assert_eq!(
        save(&clerk, id, "kosten", &plan).await.status,
        StatusCode::SEE_OTHER
    );
    let page = clerk.get(&path).await;
    let expected = shown(ceiling(Cents::from_euros(100_000)));
    assert!(
        page.text("#grant-hint")
            .starts_with(&format!("Höchstmögliche Zuwendung: {expected} (")),
        "{}",
        page.text("#grant-hint")
    );
    assert_eq!(
        page.texts(".plan-summary dd").last(),
        Some(&expected),
        "the hint and the calculation agree"
    );

    // After a refused save, from the plan as typed: 300.000 € eligible exceed the cap.
    let typed = clerk
        .submit(
            &path,
            &section_form("kosten"),
            &[("cost-0-amount", "300.000"), ("grant", "250.000")],
        )
        .await;
    assert_eq!(typed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let expected = shown(ceiling(Cents::from_euros(300_000)));
    let hint = typed.text("#grant-hint");
    assert!(
        hint.starts_with(&format!("Höchstmögliche Zuwendung: {expected} (")),
        "{hint}"
    );
    let by_rate = Cents::new(Cents::from_euros(300_000).get() * i64::from(rate_bp) / 10_000);
    if ceiling(Cents::from_euros(300_000)) < by_rate {
        assert!(
            hint.contains(&format!("wären {}", shown(by_rate))),
            "the cap is explained: {hint}"
        );
    }
}

#[tokio::test]
async fn a_second_save_over_a_newer_one_shows_both_and_lets_the_clerk_decide() {
    let app = TestApp::spawn().await;
    let karla = app.sign_in_as(Role::Clerk).await;
    let id = start(&karla).await;
    save(&karla, id, "vorhaben", &project(&round_year(&app).await)).await;
    let colleague = app.sign_in_as(Role::Clerk).await;
    let path = format!("/antraege/{id}/vorhaben");
    let karlas_page = karla.get(&path).await;
    let colleagues_page = colleague.get(&path).await;
    let first = colleague
        .submit_from(
            &colleagues_page,
            &path,
            &section_form("vorhaben"),
            &[("title", "Titel der Kollegin")],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second = karla
        .submit_from(
            &karlas_page,
            &path,
            &section_form("vorhaben"),
            &[("title", "Karlas Titel")],
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    let rows = second.texts(".notice-warning tbody tr");
    assert_eq!(
        rows,
        vec!["Titel des Vorhabens Titel der Kollegin Karlas Titel"]
    );
    assert_eq!(
        second.attr("#title", "value").as_deref(),
        Some("Karlas Titel")
    );
    let stored: String = sqlx::query_scalar("SELECT title FROM applications WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        stored, "Titel der Kollegin",
        "nothing was overwritten silently"
    );
    // Karla decides to keep hers: the conflict page's form carries the newer version.
    let overwrite = karla
        .submit_from(&second, &path, &section_form("vorhaben"), &[])
        .await;
    assert_eq!(
        overwrite.status,
        StatusCode::SEE_OTHER,
        "{}",
        overwrite.body
    );
    let stored: String = sqlx::query_scalar("SELECT title FROM applications WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, "Karlas Titel");
}

#[tokio::test]
async fn attachments_are_checked_by_content_size_and_name() {
    let backend = Backend::Local;
    let app = backend
        .spawn(|c| c.attachment_max_bytes = 1024 * 1024)
        .await;
    attachments_checked(&app).await;
}

/// The attachment rules, the same for every file store (see `storage.rs` for the S3 run).
pub async fn attachments_checked(app: &TestApp) {
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    let documents = document_ids(app).await;

    let exe = upload(
        &clerk,
        id,
        &documents[0],
        "Angebot.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00",
    )
    .await;
    assert_eq!(exe.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        exe.text(&format!("#document-{}-error", documents[0]))
            .contains("kein zugelassenes Dokument")
    );

    let big = vec![b'%'; 1024 * 1024 + 10];
    let mut big_pdf = b"%PDF-1.4\n".to_vec();
    big_pdf.extend_from_slice(&big);
    let too_big = upload(&clerk, id, "extra", "gross.pdf", &big_pdf).await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_big
            .text("#document-extra-error")
            .contains("größer als 1 MB")
    );

    let sneaky = upload(&clerk, id, "extra", "../../etc/passwd", PNG).await;
    assert_eq!(sneaky.status, StatusCode::SEE_OTHER, "{}", sneaky.body);
    let page = clerk.get(&format!("/antraege/{id}/anlagen")).await;
    assert_eq!(page.texts(".file-list a"), vec!["passwd.png"]);
    let stored: Vec<String> = sqlx::query_scalar("SELECT storage_key FROM application_attachments")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|k| k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit()))
    );
    let leftovers = std::fs::read_dir(app.config.data_dir.join("attachments/incoming"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 0, "refused uploads leave no files behind");

    let href = page.attr(".file-list a", "href").unwrap();
    let download = clerk
        .http
        .get(format!("{}{href}", clerk.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(
        download.headers()["content-disposition"],
        "attachment; filename=\"passwd.png\"; filename*=UTF-8''passwd.png"
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), PNG);

    // Others cannot fetch it.
    let jena = jena_clerk(app).await;
    assert_eq!(jena.get(&href).await.status, StatusCode::NOT_FOUND);

    let deleted = clerk
        .submit(
            &format!("/antraege/{id}/anlagen"),
            "form[action$='/loeschen']",
            &[],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(clerk.get(&href).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_total_size_of_an_applications_files_is_capped() {
    let app = TestApp::spawn_with(|c| c.application_files_max_bytes = 50).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    assert_eq!(
        upload(&clerk, id, "extra", "a.pdf", PDF).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        upload(&clerk, id, "extra", "a.png", PNG).await.status,
        StatusCode::SEE_OTHER
    );
    let second = upload(&clerk, id, "extra", "b.png", &[PNG, &[0u8; 60]].concat()).await;
    assert_eq!(second.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        second
            .text("#document-extra-error")
            .contains("Alle Anlagen")
    );
}

#[tokio::test]
async fn partners_must_confirm_before_the_application_can_be_submitted() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = complete_application(&app, &clerk).await;
    let jena: i64 = sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16053000'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let jena_clerk = jena_clerk(&app).await;
    let added = clerk
        .submit(
            &format!("/antraege/{id}/verbund"),
            &section_form("verbund"),
            &[
                ("partner_id", &jena.to_string()),
                ("action", "partner-hinzufuegen"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let request: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE kind = 'partner-confirmation-request' AND recipient = 'kommune@jena.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(request, 1);

    let check = clerk.get(&format!("/antraege/{id}/pruefen")).await;
    assert!(
        check
            .texts(".error-summary li")
            .contains(&"Jena hat die Teilnahme noch nicht bestätigt.".to_string()),
        "{:?}",
        check.texts(".error-summary li")
    );
    assert_eq!(
        submit_forced(&clerk, id).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The partner reads the application but cannot change it.
    let list = jena_clerk.get("/antraege").await;
    assert!(list.body.contains("Digitales Bürgerbüro"));
    assert_eq!(
        jena_clerk
            .get(&format!("/antraege/{id}/vorhaben"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        jena_clerk
            .get(&format!("/antraege/{id}/druck"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(submit_forced(&jena_clerk, id).await, StatusCode::FORBIDDEN);
    let confirmed = jena_clerk
        .submit(
            &format!("/antraege/{id}"),
            "form[action$='/teilnahme']",
            &[],
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);

    assert_eq!(submit(&clerk, id).await.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, "submitted");
}

async fn submit_forced(clerk: &Client, id: i64) -> StatusCode {
    clerk
        .post_with_token(&format!("/antraege/{id}/einreichen"), &[])
        .await
        .status
}

#[tokio::test]
async fn a_draft_that_was_never_submitted_is_deleted_with_its_files() {
    let backend = Backend::Local;
    let app = backend.spawn(|_| {}).await;
    draft_deleted_with_its_files(&app, &backend).await;
}

/// Deleting a draft, the same for every file store (see `storage.rs` for the S3 run).
pub async fn draft_deleted_with_its_files(app: &TestApp, backend: &Backend) {
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    upload(&clerk, id, "extra", "angebot.png", PNG).await;
    let key: String = sqlx::query_scalar("SELECT storage_key FROM application_attachments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(backend.holds(app, &key));
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert_eq!(
        overview.attr("a[href$='/loeschen']", "href"),
        Some(format!("/antraege/{id}/loeschen")),
        "a draft offers deletion"
    );
    assert_eq!(
        overview.count("a[href$='/zurueckziehen']"),
        0,
        "not withdrawal"
    );
    let confirm = clerk.get(&format!("/antraege/{id}/loeschen")).await;
    assert!(confirm.text("h1").starts_with("„Entwurf vom "));
    let deleted = clerk
        .submit(
            &format!("/antraege/{id}/loeschen"),
            "form[action$='/loeschen']",
            &[],
        )
        .await;
    assert_eq!(deleted.location(), Some("/antraege"));
    let list = clerk.get("/antraege").await;
    assert!(list.text("[role=status]").contains("ist gelöscht"));
    assert_eq!(list.count(&format!("a[href='/antraege/{id}']")), 0);
    assert_eq!(
        clerk.get(&format!("/antraege/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!backend.holds(app, &key), "its files are gone too");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'application.deleted'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);

    // A submitted application stays on record: it can only be withdrawn.
    let submitted = complete_application(app, &clerk).await;
    submit(&clerk, submitted).await;
    let refused = clerk
        .post_with_token(&format!("/antraege/{submitted}/loeschen"), &[])
        .await;
    assert_eq!(
        refused.location(),
        Some(format!("/antraege/{submitted}").as_str())
    );
    let overview = clerk.get(&format!("/antraege/{submitted}")).await;
    assert_eq!(overview.count("a[href$='/loeschen']"), 0);
    assert_eq!(overview.count("a[href$='/zurueckziehen']"), 1);
}

#[tokio::test]
async fn an_application_can_be_withdrawn_until_a_decision_with_a_reason() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = complete_application(&app, &clerk).await;
    submit(&clerk, id).await;
    let page = clerk.get(&format!("/antraege/{id}/zurueckziehen")).await;
    assert!(
        page.text("title").starts_with("Antrag „") && page.text("title").contains("“ zurückziehen"),
        "the page names the application: {}",
        page.text("title")
    );
    let withdrawn = clerk
        .submit(
            &format!("/antraege/{id}/zurueckziehen"),
            "form[action$='/zurueckziehen']",
            &[("reason", "Das Vorhaben wird aus Eigenmitteln finanziert.")],
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, "withdrawn");
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert!(
        overview
            .body
            .contains("Das Vorhaben wird aus Eigenmitteln finanziert.")
    );
    assert_eq!(
        overview.texts(".timeline li strong").last().unwrap(),
        "Antrag zurückgezogen"
    );
    let mails: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE kind = 'withdrawal-confirmation'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(mails, 1);
    // A resent form changes nothing.
    let again = clerk
        .post_with_token(&format!("/antraege/{id}/zurueckziehen"), &[])
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM application_events WHERE application_id = $1 AND kind = 'withdrawn'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(events, 1);
}

/// Puts the application into `status` directly, as if it had got there.
async fn force_status(app: &TestApp, id: i64, status: Status) {
    sqlx::query(
        "UPDATE applications SET status = $2,
                reference = CASE WHEN $2 = 'draft' THEN NULL ELSE coalesce(reference, 'EGOV-1999-' || lpad(id::text, 4, '0')) END,
                granted_cents = CASE WHEN $2 IN ('approved', 'settled') THEN 100 END
         WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_state_machine_refuses_every_illegal_transition() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = complete_application(&app, &clerk).await;
    let (clerk_id, municipality): (i64, i64) = sqlx::query_as(
        "SELECT id, municipality_id FROM users WHERE email = 'kommune@demo.foerderportal.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let reviewer_id: i64 = sqlx::query_scalar(
        "SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let outbox = Outbox::new(&app.base_url);
    let jena: i64 = sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16053000'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for from in Status::ALL {
        for transition in Transition::ALL {
            for (party, user_id, municipality_id) in [
                (Party::Applicant, clerk_id, Some(municipality)),
                (Party::Applicant, clerk_id, Some(jena)),
                (Party::Reviewer, reviewer_id, None),
            ] {
                force_status(&app, id, from).await;
                let legal = transition.target(from).is_some()
                    && transition.party() == party
                    && (party == Party::Reviewer || municipality_id == Some(municipality));
                let mut tx = app.pool.begin().await.unwrap();
                let row = applications_db::lock(&mut tx, id).await.unwrap().unwrap();
                let result = workflow::apply(
                    &mut tx,
                    &outbox,
                    &app.base_url,
                    &row,
                    Acting {
                        user_id,
                        party,
                        municipality_id,
                    },
                    transition,
                    &Input {
                        reopen: vec![Section::Project],
                        granted: Some(Cents::new(100)),
                        answers: Some(serde_json::json!({})),
                        ..Input::default()
                    },
                )
                .await;
                tx.rollback().await.unwrap();
                match (legal, result) {
                    (true, Ok(to)) => assert_eq!(Some(to), transition.target(from)),
                    (false, Err(TransitionError::NotAllowed { .. })) => {}
                    (legal, other) => panic!(
                        "{transition:?} from {from:?} by {party:?} ({municipality_id:?}): legal={legal}, got {other:?}"
                    ),
                }
            }
        }
    }

    // And through the clerk's pages: nothing they can post moves a decided application.
    for from in [
        Status::Approved,
        Status::Rejected,
        Status::Withdrawn,
        Status::InReview,
    ] {
        force_status(&app, id, from).await;
        for path in ["einreichen", "zurueckziehen", "vorhaben", "kosten"] {
            clerk
                .post_with_token(&format!("/antraege/{id}/{path}"), &[("title", "geändert")])
                .await;
        }
        let expected = if from == Status::InReview {
            "withdrawn"
        } else {
            from.as_str()
        };
        assert_eq!(status_of(&app, id).await, expected, "from {from:?}");
    }
}

#[tokio::test]
async fn a_nachforderung_reopens_sections_and_the_resubmission_is_a_new_revision() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = complete_application(&app, &clerk).await;
    submit(&clerk, id).await;
    let reviewer_id: i64 = sqlx::query_scalar(
        "SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let outbox = Outbox::new(&app.base_url);
    let reviewer = Acting {
        user_id: reviewer_id,
        party: Party::Reviewer,
        municipality_id: None,
    };
    for (transition, input) in [
        (Transition::StartReview, Input::default()),
        (
            Transition::RequestChanges,
            Input {
                message: "Bitte begründen Sie die Kosten genauer.".into(),
                reopen: vec![Section::Project],
                deadline: Some(time::OffsetDateTime::now_utc() + time::Duration::days(14)),
                ..Input::default()
            },
        ),
    ] {
        let mut tx = app.pool.begin().await.unwrap();
        let row = applications_db::lock(&mut tx, id).await.unwrap().unwrap();
        workflow::apply(
            &mut tx,
            &outbox,
            &app.base_url,
            &row,
            reviewer,
            transition,
            &input,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let mails: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE kind = 'change-request'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(mails, 1);

    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert!(
        overview
            .body
            .contains("Bitte begründen Sie die Kosten genauer.")
    );
    let editable: Vec<String> = overview.texts(".task-list a");
    assert_eq!(editable, vec!["Vorhaben"]);
    assert_eq!(
        clerk.get(&format!("/antraege/{id}/kosten")).await.status,
        StatusCode::SEE_OTHER
    );
    let mut answers = project(&round_year(&app).await);
    answers[3].1 = "Genauere Begründung der Kosten.".into();
    assert_eq!(
        save(&clerk, id, "vorhaben", &answers).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(submit(&clerk, id).await.status, StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, "in_review");

    let revisions = {
        let mut conn = app.pool.acquire().await.unwrap();
        applications_db::revisions(&mut conn, id).await.unwrap()
    };
    assert_eq!(revisions.len(), 2);
    assert_eq!(
        revisions[1].answers.0["vorhaben"]["description"],
        "Genauere Begründung der Kosten."
    );
    let changes = foerderportal::applications::revisions::diff(
        &revisions[0].answers.0,
        &revisions[1].answers.0,
    );
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].label, "Ausführliche Beschreibung");
    assert_eq!(changes[0].after, "Genauere Begründung der Kosten.");
    let to_reviewer: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE kind = 'resubmission-received' AND recipient = 'pruefung@demo.foerderportal.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(to_reviewer, 1);
}

#[tokio::test]
async fn other_municipalities_and_ministry_staff_cannot_reach_an_application() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = start(&clerk).await;
    let jena = jena_clerk(&app).await;
    assert_eq!(
        jena.get(&format!("/antraege/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        !jena
            .get("/antraege")
            .await
            .body
            .contains(&format!("/antraege/{id}\""))
    );
    let saved = jena
        .post_with_token(
            &format!("/antraege/{id}/vorhaben"),
            &[("title", "übernommen"), ("version", "0")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::NOT_FOUND);
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    assert_eq!(
        reviewer.get(&format!("/antraege/{id}")).await.status,
        StatusCode::FORBIDDEN
    );
    let title: String = sqlx::query_scalar("SELECT title FROM applications WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(title, "");
}

#[tokio::test]
async fn the_deadline_is_checked_on_the_server_when_submitting() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = complete_application(&app, &clerk).await;
    let check = clerk.get(&format!("/antraege/{id}/pruefen")).await;
    // The round closes while the clerk reads the check page.
    sqlx::query("UPDATE rounds SET closes_at = now() - interval '1 minute', opens_at = now() - interval '30 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let late = clerk
        .submit_from(
            &check,
            &format!("/antraege/{id}/pruefen"),
            "form[action$='/einreichen']",
            &[],
        )
        .await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        late.texts(".error-summary li")[0].starts_with("Die Antragsfrist ist am "),
        "{:?}",
        late.texts(".error-summary li")
    );
    assert_eq!(status_of(&app, id).await, "draft");
    // And no new application can be started for it.
    let list = clerk.get("/antraege").await;
    assert_eq!(list.count("form[action='/antraege']"), 0);
}

#[tokio::test]
async fn clerks_with_a_draft_are_reminded_a_week_and_a_day_before_the_deadline_once_each() {
    let app = TestApp::spawn().await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let draft = start(&clerk).await;
    let submitted = complete_application(&app, &clerk).await;
    submit(&clerk, submitted).await;
    let reminders = || async {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT once_key FROM mail_outbox WHERE kind = 'deadline-reminder' ORDER BY id",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        rows
    };
    let outbox = Outbox::new(&app.base_url);
    let send =
        || foerderportal::applications::reminders::send_due(&app.pool, &outbox, &app.base_url);
    assert_eq!(
        send().await.unwrap(),
        0,
        "the demo round closes months from now"
    );

    sqlx::query("UPDATE rounds SET closes_at = now() + interval '5 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(send().await.unwrap(), 1);
    assert_eq!(send().await.unwrap(), 0, "once per stage");
    assert_eq!(
        reminders().await,
        vec![format!(
            "deadline-reminder:7:application-{draft}:kommune@demo.foerderportal.example"
        )]
    );

    sqlx::query("UPDATE rounds SET closes_at = now() + interval '10 hours'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(send().await.unwrap(), 1);
    assert_eq!(send().await.unwrap(), 0);
    let subject: String = sqlx::query_scalar(
        "SELECT subject FROM mail_outbox WHERE once_key LIKE 'deadline-reminder:1:%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        subject.starts_with("Erinnerung: Die Antragsfrist für „Entwurf vom "),
        "{subject}"
    );
}
