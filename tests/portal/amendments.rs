//! Änderungsanträge: a change that needs a decision goes through four eyes and ends in an
//! Änderungsbescheid that changes period, plan and budget years; a shift within the round's
//! allowance is only notified; rejections, withdrawals, double submissions and bad input.

use foerderportal::accounts::Role;
use foerderportal::money::Cents;
use reqwest::StatusCode;

use crate::common::{Client, Page, TestApp, join_all};
use crate::review::{pdf_text, second_reviewer};

/// An approved grant of 80.000 € (the sample plan: one row "Lizenzen Terminservice",
/// 100.000 € eligible), assigned to the demo reviewer.
async fn grant(app: &TestApp) -> i64 {
    let id = crate::payouts::approved_grant(app, Cents::from_euros(80_000)).await;
    sqlx::query(
        "UPDATE applications SET assigned_to = (SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example') WHERE id = $1",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// Files a change from the form page with these fields over the prefilled ones.
async fn file(clerk: &Client, id: i64, fields: &[(&str, &str)]) -> Page {
    clerk
        .submit(
            &format!("/antraege/{id}/aenderungen/neu"),
            "form[action$='/aenderungen']",
            fields,
        )
        .await
}

async fn period_end(app: &TestApp, id: i64) -> time::Date {
    sqlx::query_scalar("SELECT period_end FROM applications WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn amendment_status(app: &TestApp, number: i32) -> String {
    sqlx::query_scalar("SELECT status FROM amendments WHERE number = $1")
        .bind(number)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn german(d: time::Date) -> String {
    foerderportal::locale::day(d)
}

#[tokio::test]
async fn an_extension_is_decided_with_four_eyes_and_a_small_shift_is_only_notified() {
    let app = TestApp::spawn().await;
    let id = grant(&app).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert_eq!(
        overview.attr("a[href$='/aenderungen']", "href").as_deref(),
        Some(format!("/antraege/{id}/aenderungen").as_str())
    );
    let old_end = period_end(&app, id).await;
    let new_end = old_end + time::Duration::days(180);
    let year = old_end.year().to_string();

    // The form starts from the plan in force; the change extends the period and splits the
    // one item in two (a new row: a decision is needed).
    let form = clerk.get(&format!("/antraege/{id}/aenderungen/neu")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(
        form.attr("#cost-0-amount", "value").as_deref(),
        Some("100.000,00")
    );
    assert_eq!(form.attr("#period_end", "value"), Some(german(old_end)));
    let filed = file(
        &clerk,
        id,
        &[
            ("period_end", &german(new_end)),
            ("cost-0-amount", "90.000,00"),
            ("cost-1-kind", "training"),
            ("cost-1-description", "Schulung der Sachbearbeitung"),
            ("cost-1-year", &year),
            ("cost-1-amount", "10.000,00"),
            ("cost-1-eligible", "ja"),
            (
                "reason",
                "Der Anbieter liefert ein halbes Jahr später; die Schulung kommt hinzu.",
            ),
        ],
    )
    .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let page_path = filed.location().unwrap().to_string();
    let page = clerk.get(&page_path).await;
    assert_eq!(page.text("strong.tag"), "In Prüfung");
    assert!(page.text("dl").contains("verlängert"));
    let rows = page.texts("table tbody tr");
    assert_eq!(rows.len(), 2);
    assert!(
        rows[1].contains("neu") && rows[1].contains("+10.000,00"),
        "{rows:?}"
    );
    assert_eq!(
        period_end(&app, id).await,
        old_end,
        "nothing changes before the decision"
    );
    // One open change at a time.
    let again = clerk.get(&format!("/antraege/{id}/aenderungen/neu")).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);

    // Four eyes.
    let first = app.sign_in_as(Role::Reviewer).await;
    let second = second_reviewer(&app).await;
    let queue = first.get("/pruefung/aenderungen").await;
    let href = queue
        .attr("a[href^='/pruefung/aenderungen/']", "href")
        .expect("the change in the list");
    let no_grounds = first
        .submit(
            &href,
            "form[action$='/vorschlag']",
            &[("outcome", "ablehnen")],
        )
        .await;
    assert_eq!(no_grounds.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_grounds
            .text("#note-error")
            .contains("begründen Sie die Ablehnung")
    );
    let proposed = first
        .submit(
            &href,
            "form[action$='/vorschlag']",
            &[("outcome", "genehmigen")],
        )
        .await;
    assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
    let own = first
        .post_with_token(&format!("{href}/bestaetigen"), &[])
        .await;
    assert!(own.refusal().is_some(), "refused");
    // Redirected back to the case page, which says why (a reload sends nothing again).
    assert_eq!(own.location(), Some(href.as_str()));
    assert!(
        first
            .follow(&own)
            .await
            .text(".error-summary")
            .contains("Vier-Augen-Prinzip")
    );
    let forced = sqlx::query(
        "WITH doc AS (INSERT INTO stored_documents (content, size_bytes) VALUES ('x', 1) RETURNING id)
         UPDATE amendments SET status = 'approved', settled_by = proposed_by, settled_at = now(),
                notice_id = (SELECT id FROM doc)",
    )
    .execute(&app.pool)
    .await;
    assert_eq!(
        crate::common::refused_by(forced).as_deref(),
        Some("amendments_four_eyes")
    );
    assert_eq!(
        clerk.get(&page_path).await.text("strong.tag"),
        "In Prüfung",
        "the proposal is internal"
    );
    let confirmed = second
        .submit(&href, "form[action$='/bestaetigen']", &[])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );

    // In force: the period, the plan, the notice.
    assert_eq!(period_end(&app, id).await, new_end);
    let page = clerk.get(&page_path).await;
    assert_eq!(page.text("strong.tag"), "Genehmigt");
    let notice = page
        .attr("a[href$='/bescheid.pdf']", "href")
        .expect("a notice link");
    let (status, pdf) = clerk.download(&notice).await;
    assert_eq!(status, StatusCode::OK);
    let text = pdf_text(&pdf);
    for expected in [
        "Änderungsbescheid",
        &german(new_end),
        "Schulung: Schulung der",
        "+10.000,00 €",
        "80.000,00 € (unverändert)",
        "Paula Zweitprüferin",
        "Rechtsbehelfsbelehrung",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }
    let jena = crate::applications::jena_clerk(&app).await;
    assert_eq!(jena.download(&notice).await.0, StatusCode::NOT_FOUND);
    let mails: Vec<String> = sqlx::query_scalar(
        "SELECT subject FROM mail_outbox WHERE kind = 'grant-update' AND recipient = 'kommune@demo.foerderportal.example' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails[0].ends_with("In Prüfung") && mails[1].ends_with("Genehmigt"));
    let to_reviewer: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE kind = 'grant-update' AND recipient = 'pruefung@demo.foerderportal.example'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        to_reviewer, 1,
        "the case's reviewer hears of the new request"
    );

    // Now a shift of 20 % of the smaller item with the same total: only notified, in force.
    let form = clerk.get(&format!("/antraege/{id}/aenderungen/neu")).await;
    assert_eq!(
        form.attr("#cost-0-amount", "value").as_deref(),
        Some("90.000,00")
    );
    let notified = file(
        &clerk,
        id,
        &[
            ("cost-0-amount", "88.000,00"),
            ("cost-1-amount", "12.000,00"),
            ("reason", "Die Schulung wird umfangreicher."),
        ],
    )
    .await;
    assert_eq!(notified.status, StatusCode::SEE_OTHER, "{}", notified.body);
    assert_eq!(amendment_status(&app, 2).await, "notified");
    let form = clerk.get(&format!("/antraege/{id}/aenderungen/neu")).await;
    assert_eq!(
        form.attr("#cost-1-amount", "value").as_deref(),
        Some("12.000,00")
    );
    // More than 20 % of an item needs a decision again.
    let larger = file(
        &clerk,
        id,
        &[
            ("cost-0-amount", "85.000,00"),
            ("cost-1-amount", "15.000,00"),
            ("reason", "Noch mehr Schulung."),
        ],
    )
    .await;
    assert_eq!(larger.status, StatusCode::SEE_OTHER);
    assert_eq!(amendment_status(&app, 3).await, "submitted");
}

#[tokio::test]
async fn a_lower_total_lowers_the_grant_and_frees_its_budget_but_never_below_what_was_paid() {
    let app = TestApp::spawn().await;
    let id = grant(&app).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let paid = crate::payouts::request(&clerk, id, "50.000").await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER);
    // 60.000 € eligible would mean 48.000 €; 50.000 € are requested already.
    let refused = file(
        &clerk,
        id,
        &[("cost-0-amount", "60.000"), ("reason", "Günstiger")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text("#cost-0-amount-error").contains("50.000,00"));
    assert_eq!(refused.attr("#reason", "value"), None, "a textarea");
    assert!(
        refused.text("#reason").contains("Günstiger"),
        "what was typed stays"
    );

    let lower = file(
        &clerk,
        id,
        &[
            ("cost-0-amount", "75.000"),
            ("reason", "Günstiger eingekauft"),
        ],
    )
    .await;
    assert_eq!(lower.status, StatusCode::SEE_OTHER, "{}", lower.body);
    let budget = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (i64, i64, i64)>(
                "SELECT a.granted_cents, r.granted_cents, (SELECT sum(committed_cents)::bigint FROM grant_years WHERE application_id = a.id)
                 FROM applications a JOIN rounds r ON r.id = a.round_id WHERE a.id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(budget(&app).await, (8_000_000, 8_000_000, 8_000_000));
    let first = app.sign_in_as(Role::Reviewer).await;
    let second = second_reviewer(&app).await;
    let href = "/pruefung/aenderungen/1".replace(
        '1',
        &sqlx::query_scalar::<_, i64>("SELECT id FROM amendments")
            .fetch_one(&app.pool)
            .await
            .unwrap()
            .to_string(),
    );
    first
        .submit(
            &href,
            "form[action$='/vorschlag']",
            &[("outcome", "genehmigen")],
        )
        .await;
    let confirmed = second
        .submit(&href, "form[action$='/bestaetigen']", &[])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    // 80.000 € × 75.000 / 100.000 = 60.000 €: the grant, the round and the year follow.
    assert_eq!(budget(&app).await, (6_000_000, 6_000_000, 6_000_000));
    let terms = clerk.get(&format!("/antraege/{id}/auszahlungen")).await;
    assert!(terms.text("table.balance tfoot").contains("60.000,00"));
}

#[tokio::test]
async fn a_rejection_keeps_the_award_and_tells_the_municipality_why() {
    let app = TestApp::spawn().await;
    let id = grant(&app).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let old_end = period_end(&app, id).await;
    let filed = file(
        &clerk,
        id,
        &[
            ("period_end", &german(old_end + time::Duration::days(400))),
            ("reason", "Mehr Zeit"),
        ],
    )
    .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER);
    let page_path = filed.location().unwrap().to_string();
    let amendment: i64 = sqlx::query_scalar("SELECT id FROM amendments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let href = format!("/pruefung/aenderungen/{amendment}");
    let first = app.sign_in_as(Role::Reviewer).await;
    let second = second_reviewer(&app).await;
    first
        .submit(
            &href,
            "form[action$='/vorschlag']",
            &[
                ("outcome", "ablehnen"),
                (
                    "note",
                    "Eine Verlängerung um mehr als ein Jahr ist nicht begründet.",
                ),
            ],
        )
        .await;
    // Sent back once, proposed again, then confirmed.
    let back = second
        .submit(
            &href,
            "form[action$='/zurueckgeben']",
            &[("reason", "Bitte Begründung schärfen")],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(amendment_status(&app, 1).await, "submitted");
    first
        .submit(
            &href,
            "form[action$='/vorschlag']",
            &[
                ("outcome", "ablehnen"),
                (
                    "note",
                    "Eine Verlängerung um mehr als ein Jahr ist nicht begründet.",
                ),
            ],
        )
        .await;
    let confirmed = second
        .submit(&href, "form[action$='/bestaetigen']", &[])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    assert_eq!(period_end(&app, id).await, old_end);
    let page = clerk.get(&page_path).await;
    assert_eq!(page.text("strong.tag"), "Abgelehnt");
    assert!(page.text("#ablehnung").contains("nicht begründet"));
    let (_, pdf) = clerk.download(&format!("{page_path}/bescheid.pdf")).await;
    let text = pdf_text(&pdf);
    assert!(
        text.contains("lehne ich ab") && text.contains("nicht begründet"),
        "{text}"
    );
    let mail: String = sqlx::query_scalar(
        "SELECT body_text FROM mail_outbox WHERE kind = 'grant-update' AND subject LIKE '%Abgelehnt'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(mail.contains("nicht begründet"), "{mail}");
    // A decided change cannot be withdrawn (no button, and a direct post changes nothing);
    // the municipality may ask again.
    assert_eq!(page.count("form[action$='/zurueckziehen']"), 0);
    let late = clerk
        .post_with_token(&format!("{page_path}/zurueckziehen"), &[])
        .await;
    assert_eq!(late.status, StatusCode::SEE_OTHER);
    assert_eq!(amendment_status(&app, 1).await, "rejected");
    assert_eq!(
        clerk
            .get(&format!("/antraege/{id}/aenderungen/neu"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_form_sent_twice_files_one_change_and_bad_input_is_answered_next_to_the_field() {
    let app = TestApp::spawn().await;
    let id = grant(&app).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let old_end = period_end(&app, id).await;
    let page = clerk.get(&format!("/antraege/{id}/aenderungen/neu")).await;
    let (_, mut fields) = page.form("form[action$='/aenderungen']");
    fields.insert(
        "period_end".into(),
        german(old_end + time::Duration::days(30)),
    );
    fields.insert("reason".into(), "Verzug".into());
    let url = format!("{}/antraege/{id}/aenderungen", clerk.base_url);
    let posts = join_all(
        (0..4)
            .map(|_| async {
                let response = clerk.http.post(&url).form(&fields).send().await.unwrap();
                Page::from(response).await
            })
            .collect(),
    )
    .await;
    assert!(
        posts.iter().all(|p| p.status == StatusCode::SEE_OTHER),
        "{:?}",
        posts.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    let filed: i64 = sqlx::query_scalar("SELECT count(*) FROM amendments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(filed, 1);
    // Withdrawn, the way is free again.
    let path = posts[0].location().unwrap().to_string();
    let withdrawn = clerk
        .submit(&path, "form[action$='/zurueckziehen']", &[])
        .await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    assert_eq!(amendment_status(&app, 1).await, "withdrawn");

    for (fields, field, words) in [
        (
            vec![("period_end", "31.02.2027"), ("reason", "x")],
            "period_end",
            "Datum",
        ),
        (
            vec![("period_end", "01.01.2000"), ("reason", "x")],
            "period_end",
            "nicht vor",
        ),
        (
            vec![("period_end", "31.12.2099"), ("reason", "x")],
            "period_end",
            "fünf Jahre",
        ),
        (vec![("reason", "x")], "period_end", "ändert nichts"),
        (
            vec![("cost-0-amount", "-5"), ("reason", "x")],
            "cost-0-amount",
            "negativ",
        ),
        (
            vec![("cost-0-year", "1999"), ("reason", "x")],
            "cost-0-year",
            "Bewilligungszeitraum",
        ),
        (
            vec![("cost-0-kind", "<script>"), ("reason", "x")],
            "cost-0-kind",
            "Art",
        ),
        (
            vec![("cost-0-eligible", "nein"), ("reason", "x")],
            "cost-0-eligible",
            "förderfähig",
        ),
        (
            vec![("cost-0-amount", "90.000"), ("reason", " \u{0} ")],
            "reason",
            "begründen",
        ),
    ] {
        let page = file(&clerk, id, &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(page.text("title").starts_with("Fehler:"), "{fields:?}");
        let shown = page.text(&format!("#{field}-error"));
        let message = shown.trim_start_matches("Fehler:").trim();
        assert!(message.contains(words), "{fields:?}: {message}");
        assert!(
            page.text(".error-summary").contains(message),
            "{fields:?}: {} / {message}",
            page.text(".error-summary")
        );
    }
    // Others' grants and others' roles.
    let jena = crate::applications::jena_clerk(&app).await;
    assert_eq!(
        jena.get(&format!("/antraege/{id}/aenderungen"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    assert_eq!(
        reviewer
            .get(&format!("/antraege/{id}/aenderungen/neu"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        clerk.get("/pruefung/aenderungen").await.status,
        StatusCode::FORBIDDEN
    );
    // A draft, not approved, has no changes.
    let draft = crate::applications::start(&clerk).await;
    assert_eq!(
        clerk
            .get(&format!("/antraege/{draft}/aenderungen"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_changed_plan_chooses_the_periods_years_and_a_later_one_only_with_an_extension() {
    let app = TestApp::spawn().await;
    let id = grant(&app).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let start: time::Date =
        sqlx::query_scalar("SELECT period_start FROM decisions WHERE application_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let end = period_end(&app, id).await;
    let path = format!("/antraege/{id}/aenderungen/neu");
    let form = clerk.get(&path).await;
    // The spare row's years: those of the period, then, apart, the years an extension could add.
    let years =
        |from: i32, to: i32| -> Vec<String> { (from..=to).map(|y| y.to_string()).collect() };
    let plain = form.texts("select#cost-1-year > option");
    assert_eq!(plain[1..], years(start.year(), end.year())[..]);
    assert_eq!(
        form.attr("select#cost-1-year optgroup", "label").as_deref(),
        Some("Nur mit Verlängerung des Zeitraums")
    );
    assert_eq!(
        form.texts("select#cost-1-year optgroup option"),
        years(end.year() + 1, end.year() + 5)
    );
    assert_eq!(
        form.count("tr.cost-row"),
        3,
        "the plan's row and two spare ones"
    );
    assert_eq!(
        form.count("tr.cost-row button"),
        0,
        "rows are emptied, not removed"
    );

    let later = (end.year() + 1).to_string();
    let new_row = [
        ("cost-0-amount", "90.000,00"),
        ("cost-1-kind", "training"),
        ("cost-1-description", "Schulung im Folgejahr"),
        ("cost-1-year", later.as_str()),
        ("cost-1-amount", "10.000,00"),
        ("cost-1-eligible", "ja"),
        ("reason", "Die Schulung folgt nach der Einführung."),
    ];
    let refused = file(&clerk, id, &new_row).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused.text("#cost-1-year-error");
    assert!(
        message.contains("Kostenposition 2") && message.contains("Bewilligungszeitraum"),
        "{message}"
    );
    assert_eq!(
        refused
            .attr("select#cost-1-year option[selected]", "value")
            .as_deref(),
        Some(later.as_str()),
        "the choice is kept"
    );
    let extended_end = format!("30.06.{later}");
    let mut extended = new_row.to_vec();
    extended.push(("period_end", &extended_end));
    let filed = file(&clerk, id, &extended).await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
}
