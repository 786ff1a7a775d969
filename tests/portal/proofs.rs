//! The proof of use and the settlement over HTTP: the task list, a Belegliste imported from a
//! German Excel file (and hostile files refused whole), the submission, the Nachforderung, and
//! the four-eyes settlement with its repayment and interest, or its final payment.

use foerderportal::accounts::Role;
use foerderportal::money::Cents;
use reqwest::StatusCode;

use crate::common::{Client, Page, TestApp};
use crate::review::{pdf_text, second_reviewer};

/// The demo grant of the amendment tests (80.000 € for 100.000 € eligible costs), of which
/// `paid` euros reached the municipality `days_ago` days ago; the Basiszinssatz is 3 % over
/// the whole time, so the interest rate is a constant 8 %.
pub async fn paid_grant(app: &TestApp, paid: i64, days_ago: i64) -> i64 {
    let id = crate::payouts::approved_grant(app, Cents::from_euros(80_000)).await;
    sqlx::query(
        "UPDATE applications SET assigned_to = (SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example') WHERE id = $1",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    // The project began 200 days ago, so that receipts can date from before today.
    sqlx::query("UPDATE decisions SET period_start = current_date - 200 WHERE application_id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM base_rates")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO base_rates (valid_from, rate_bp) VALUES (current_date - 1000, 300)")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "WITH reviewers AS (
             SELECT (SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example') AS first,
                    (SELECT id FROM users WHERE email = 'zweitpruefung@demo.foerderportal.example') AS second),
         file AS (INSERT INTO stored_documents (content, size_bytes) VALUES ('x', 1) RETURNING id),
         run AS (
             INSERT INTO payment_runs (programme_id, number, execution_date, transfers, total_cents, file_id, created_by, paid_by, paid_at)
             SELECT p.id, 'ZL-2025-0001', current_date - $3::int, 1, $2, file.id, r.first, r.first, now() - make_interval(days => $3::int)
             FROM programmes p, reviewers r, file LIMIT 1 RETURNING id)
         INSERT INTO payout_requests (application_id, number, status, requested_cents, approved_cents,
                                      account_holder, iban, submitted_by, submitted_at, submission_key,
                                      checked_by, checked_at, ordered_by, ordered_at, run_id, paid_at)
         SELECT $1, 1, 'paid', $2, $2, 'Kyffhäuserkreis', 'DE89370400440532013000', r.first,
                now() - make_interval(days => $3::int), 'test-payout-000000001', r.first, now(), r.second, now(),
                run.id, ((now() AT TIME ZONE 'Europe/Berlin')::date - $3::int)::timestamp AT TIME ZONE 'Europe/Berlin' + interval '10 hours'
         FROM reviewers r, run",
    )
    .bind(id)
    .bind(paid * 100)
    .bind(i32::try_from(days_ago).unwrap())
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

const SACHBERICHT: [(&str, &str); 5] = [
    (
        "work_done",
        "Terminservice eingeführt, 14 Ämter angebunden.",
    ),
    ("results", "Termine online buchbar; Wartezeit halbiert."),
    ("deviations", "Lizenzen günstiger als geplant."),
    (
        "reuse_users",
        "Gemeinde Kyffhäuserland nutzt den Dienst mit.",
    ),
    (
        "reuse_howto",
        "Mandantenfähig; Ansprechpartner ist die IT-Stelle des Landkreises.",
    ),
];

/// The Belegliste as German Excel saves it: Windows-1252, semicolons, decimal commas.
fn belegliste(amounts: &[&str]) -> Vec<u8> {
    let today = foerderportal::locale::today();
    let mut file = b"Datum;Empf\xe4nger;Verwendungszweck;Kostenposition;Betrag\r\n".to_vec();
    for (i, amount) in amounts.iter().enumerate() {
        let day = foerderportal::locale::day(
            today - time::Duration::days(10 + i64::try_from(i).unwrap()),
        );
        file.extend_from_slice(
            format!("{day};Softwarehaus M\u{fc}ller GmbH;Rechnung {i};1;\"{amount}\"\r\n")
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap())
                .collect::<Vec<u8>>()
                .as_slice(),
        );
    }
    file
}

/// Uploads a PDF from the page's form at `path` (its token first, as the browser sends it).
pub async fn upload(clerk: &Client, path: &str, name: &str) -> Page {
    let token = clerk
        .get(path)
        .await
        .attr("input[name='csrf_token']", "value")
        .expect("a form token");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part(
            "datei",
            reqwest::multipart::Part::bytes(crate::applications::PDF.to_vec())
                .file_name(name.to_string()),
        );
    let response = clerk
        .http
        .post(format!("{}{path}", clerk.base_url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Page::from(response).await
}

pub async fn import(clerk: &Client, id: i64, file: Vec<u8>) -> Page {
    let path = format!("/antraege/{id}/verwendungsnachweis/belege");
    let token = clerk
        .get(&path)
        .await
        .attr("input[name='csrf_token']", "value")
        .expect("a form token");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part(
            "datei",
            reqwest::multipart::Part::bytes(file).file_name("Belegliste.csv"),
        );
    let response = clerk
        .http
        .post(format!("{}{path}/import", clerk.base_url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Page::from(response).await
}

/// Sachbericht, Belegliste (`amounts` on cost item 1) and financing, through the pages.
pub async fn complete_proof(clerk: &Client, id: i64, amounts: &[&str]) {
    let base = format!("/antraege/{id}/verwendungsnachweis");
    let saved = clerk
        .submit(
            &format!("{base}/sachbericht"),
            "form[action$='/sachbericht']",
            &SACHBERICHT,
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let imported = import(clerk, id, belegliste(amounts)).await;
    assert_eq!(imported.status, StatusCode::SEE_OTHER, "{}", imported.body);
    let financed = clerk
        .submit(
            &format!("{base}/finanzierung"),
            "form[action$='/finanzierung']",
            &[
                ("own_share", "18.000,00"),
                ("procurement", "ja"),
                ("correct", "ja"),
            ],
        )
        .await;
    assert_eq!(financed.status, StatusCode::SEE_OTHER, "{}", financed.body);
}

async fn proof_id(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT id FROM proofs")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn all_checked() -> Vec<(&'static str, &'static str)> {
    foerderportal::proofs::db::CHECKLIST
        .iter()
        .map(|(field, _)| (*field, "ja"))
        .collect()
}

#[tokio::test]
async fn costs_ten_percent_below_plan_end_in_a_repayment_with_interest_exact_to_the_cent() {
    let app = TestApp::spawn().await;
    let id = paid_grant(&app, 76_000, 100).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let overview = clerk.get(&format!("/antraege/{id}")).await;
    assert!(overview.text(".after-award").contains("fällig am"));
    let tasks = clerk
        .get(&format!("/antraege/{id}/verwendungsnachweis"))
        .await;
    assert_eq!(tasks.status, StatusCode::OK);
    assert_eq!(tasks.count("ol.task-list li"), 4);

    // A file with one bad row imports nothing and names the row.
    let mut bad = belegliste(&["60.000,00"]);
    bad.extend_from_slice(b"31.02.2027;;Rechnung;7;zehn\r\n");
    let refused = import(&clerk, id, bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text("#fehlerhafte-zeilen").contains("Zeile 3"),
        "{}",
        refused.text("#fehlerhafte-zeilen")
    );
    assert!(refused.text("#datei-error").contains("nichts übernommen"));
    for hostile in [
        vec![0xff, 0xfe, 0x00, 0x41],
        b"=cmd|' /C calc'!A0;x\r\n".to_vec(),
        Vec::new(),
    ] {
        let page = import(&clerk, id, hostile).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
    }
    let receipts: i64 = sqlx::query_scalar("SELECT count(*) FROM proof_receipts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(receipts, 0);

    // 90.000 € instead of 100.000 € eligible costs.
    complete_proof(&clerk, id, &["60.000,00", "30.000,00"]).await;
    let page = clerk
        .get(&format!("/antraege/{id}/verwendungsnachweis/belege"))
        .await;
    assert!(
        page.text("div[aria-label='Zahlenmäßiger Nachweis'] tfoot")
            .contains("−10.000,00"),
        "{}",
        page.body
    );
    let submitted = clerk
        .submit(
            &format!("/antraege/{id}/verwendungsnachweis/pruefen"),
            "form[action$='/pruefen']",
            &[],
        )
        .await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    // Submitted, it is no longer the municipality's to change.
    let late = import(&clerk, id, belegliste(&["1,00"])).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);

    let first = app.sign_in_as(Role::Reviewer).await;
    let second = second_reviewer(&app).await;
    let list = first.get("/pruefung/verwendungsnachweise").await;
    let href = list
        .attr(
            "div[aria-label='Zu prüfende Verwendungsnachweise'] a",
            "href",
        )
        .expect("the proof to check");
    let case = first.get(&href).await;
    assert!(
        case.text("table.balance").contains("72.000,00"),
        "{}",
        case.text("table.balance")
    );
    let unchecked = first
        .submit(&href, "form[action$='/abrechnung']", &[])
        .await;
    assert_eq!(unchecked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unchecked
            .text("#reuse_described-error")
            .contains("Nachnutzung")
    );
    let proposed = first
        .submit(&href, "form[action$='/abrechnung']", &all_checked())
        .await;
    assert_eq!(proposed.status, StatusCode::SEE_OTHER, "{}", proposed.body);
    let own = first
        .post_with_token(&format!("{href}/abrechnung/bestaetigen"), &[])
        .await;
    let own = first.follow(&own).await;
    assert!(own.text("#abrechnung-error").contains("Vier-Augen-Prinzip"));
    let forced = sqlx::query(
        "WITH doc AS (INSERT INTO stored_documents (content, size_bytes) VALUES ('x', 1) RETURNING id)
         UPDATE settlements SET state = 'confirmed', settled_by = proposed_by, settled_at = now(),
                notice_id = (SELECT id FROM doc)",
    )
    .execute(&app.pool)
    .await;
    assert_eq!(
        crate::common::refused_by(forced).as_deref(),
        Some("settlements_four_eyes")
    );
    let confirmed = second
        .submit(&href, "form[action$='/abrechnung/bestaetigen']", &[])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );

    // 76.000 € paid against 72.000 €: 4.000 € back, with 8 % a year for 100 days:
    // 400.000 ct × 800 × 100 / (10.000 × 365) = 8.767,12 ct → 87,67 €.
    let (final_grant, balance, interest): (i64, i64, i64) = sqlx::query_as(
        "SELECT final_grant_cents, balance_cents, interest_cents FROM settlements WHERE state = 'confirmed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (final_grant, balance, interest),
        (7_200_000, -400_000, 8_767)
    );
    assert_eq!(crate::applications::status_of(&app, id).await, "settled");
    let (status, pdf) = clerk
        .download(&format!("/antraege/{id}/schlussbescheid.pdf"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let text = pdf_text(&pdf);
    for expected in [
        "Schlussbescheid",
        "72.000,00 €",
        "Rückforderung 4.000,00 €",
        "87,67 €",
        "4.087,67 €",
        "§ 49a",
        "Paula Zweitprüferin",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }
    let mails: Vec<String> = sqlx::query_scalar(
        "SELECT subject FROM mail_outbox WHERE kind = 'grant-update' AND recipient = 'kommune@demo.foerderportal.example' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails[1].ends_with("Abgerechnet"));
    // The statistics count it.
    let statistics = second.get("/pruefung/statistik").await;
    let settled = statistics.text("table.balance");
    assert!(
        settled.contains("Rückforderungen 4.000,00") && settled.contains("87,67"),
        "{settled}"
    );
    // Closed: no more payout requests or changes.
    let payouts = clerk.get(&format!("/antraege/{id}/auszahlungen")).await;
    assert_eq!(payouts.count("a[href$='/auszahlungen/neu']"), 0);
    let changes = clerk.get(&format!("/antraege/{id}/aenderungen/neu")).await;
    assert_eq!(changes.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn costs_as_planned_release_the_retained_share_as_a_final_payment() {
    let app = TestApp::spawn().await;
    let id = paid_grant(&app, 72_000, 30).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    complete_proof(&clerk, id, &["70.000,00", "30.000,00"]).await;
    clerk
        .submit(
            &format!("/antraege/{id}/verwendungsnachweis/pruefen"),
            "form[action$='/pruefen']",
            &[],
        )
        .await;
    let proof = proof_id(&app).await;
    let href = format!("/pruefung/verwendungsnachweise/{proof}");
    let first = app.sign_in_as(Role::Reviewer).await;
    // Asked for more first: the municipality changes and resubmits.
    let asked = first
        .submit(
            &href,
            "form[action$='/nachforderung']",
            &[("message", "Bitte die Abnahmeprotokolle beifügen.")],
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    let tasks = clerk
        .get(&format!("/antraege/{id}/verwendungsnachweis"))
        .await;
    assert!(tasks.text("#nachforderung").contains("Abnahmeprotokolle"));
    let attached = upload(
        &clerk,
        &format!("/antraege/{id}/verwendungsnachweis/anlagen"),
        "Abnahme.pdf",
    )
    .await;
    assert_eq!(attached.status, StatusCode::SEE_OTHER, "{}", attached.body);
    let again = clerk
        .submit(
            &format!("/antraege/{id}/verwendungsnachweis/pruefen"),
            "form[action$='/pruefen']",
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let case = first.get(&href).await;
    assert!(case.text("#finanzierung ~ dl").contains("Abnahme.pdf"));

    let second = second_reviewer(&app).await;
    first
        .submit(&href, "form[action$='/abrechnung']", &all_checked())
        .await;
    let confirmed = second
        .submit(&href, "form[action$='/abrechnung/bestaetigen']", &[])
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    // 80.000 € final grant, 72.000 € paid: 8.000 € go out, checked and ordered by the two
    // who settled, into the next payment run.
    let (status, amount, checked, ordered): (String, i64, String, String) = sqlx::query_as(
        "SELECT p.status, p.approved_cents, c.email, o.email FROM payout_requests p
         JOIN users c ON c.id = p.checked_by JOIN users o ON o.id = p.ordered_by WHERE p.number = 2",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), amount, checked.as_str(), ordered.as_str()),
        (
            "ordered",
            800_000,
            "pruefung@demo.foerderportal.example",
            "zweitpruefung@demo.foerderportal.example"
        )
    );
    let runs = first.get("/pruefung/zahllaeufe").await;
    assert!(
        runs.text("main").contains("8.000,00"),
        "{}",
        runs.text("main")
    );
    let (_, pdf) = clerk
        .download(&format!("/antraege/{id}/schlussbescheid.pdf"))
        .await;
    let text = pdf_text(&pdf);
    assert!(text.contains("Restzahlung 8.000,00 €"), "{text}");
}

#[tokio::test]
async fn the_proof_is_the_municipalitys_until_submitted_and_bad_input_is_answered_at_the_field() {
    let app = TestApp::spawn().await;
    let id = paid_grant(&app, 10_000, 10).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let base = format!("/antraege/{id}/verwendungsnachweis");
    let receipt = |fields: Vec<(&'static str, String)>| {
        let clerk = &clerk;
        let base = &base;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            clerk
                .submit(
                    &format!("{base}/belege"),
                    "form[action$='/belege']",
                    &fields,
                )
                .await
        }
    };
    let tomorrow =
        foerderportal::locale::day(foerderportal::locale::today() + time::Duration::days(1));
    for (fields, field, words) in [
        (vec![("paid_on", tomorrow)], "paid_on", "Zukunft"),
        (
            vec![("paid_on", "01.01.2000".into())],
            "paid_on",
            "vor dem Beginn",
        ),
        (
            vec![("cost_position", "9".into())],
            "cost_position",
            "1 bis 1",
        ),
        (vec![("amount", "-5".into())], "amount", "negativ"),
        (
            vec![("payee", "\u{0}".into())],
            "payee",
            "Zahlungsempfänger",
        ),
    ] {
        let page = receipt(fields.clone()).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(
            page.text(&format!("#{field}-error")).contains(words),
            "{fields:?}: {}",
            page.text(".error-summary")
        );
    }
    let typed = receipt(vec![
        (
            "paid_on",
            foerderportal::locale::day(foerderportal::locale::today()),
        ),
        ("payee", "Firma".into()),
        ("purpose", "Rechnung".into()),
        ("cost_position", "1".into()),
        ("amount", "1.234,56".into()),
    ])
    .await;
    assert_eq!(typed.status, StatusCode::SEE_OTHER, "{}", typed.body);
    let financing = clerk
        .submit(
            &format!("{base}/finanzierung"),
            "form[action$='/finanzierung']",
            &[("own_share", "1,234.56")],
        )
        .await;
    assert_eq!(financing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(financing.text("#own_share-error").contains("Eigenanteil"));
    let incomplete = clerk
        .submit(&format!("{base}/pruefen"), "form[action$='/pruefen']", &[])
        .await;
    assert_eq!(incomplete.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(incomplete.text("#einreichen").contains("nicht vollständig"));
    // The ministry does not see a draft; others never.
    let proof = proof_id(&app).await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    assert_eq!(
        reviewer
            .get(&format!("/pruefung/verwendungsnachweise/{proof}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let jena = crate::applications::jena_clerk(&app).await;
    assert_eq!(jena.get(&base).await.status, StatusCode::NOT_FOUND);
    assert_eq!(reviewer.get(&base).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        clerk.get("/pruefung/verwendungsnachweise").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn reminders_go_four_weeks_and_one_week_before_the_due_date_and_when_overdue_once_each() {
    let app = TestApp::spawn().await;
    let id = paid_grant(&app, 10_000, 10).await;
    let outbox = foerderportal::mail::Outbox::new(&app.base_url);
    let remind = |app: &TestApp| {
        let (pool, outbox) = (app.pool.clone(), outbox.clone());
        async move {
            foerderportal::proofs::reminders::send_due(&pool, &outbox, "http://portal.example")
                .await
                .unwrap()
        }
    };
    // Due in six months after the end: move the end so the due date is 20 days away.
    let set_due_in = |days: i64| {
        let pool = app.pool.clone();
        async move {
            sqlx::query("UPDATE applications SET period_end = ((current_date + $2::int) - interval '6 months')::date WHERE id = $1")
                .bind(id)
                .bind(i32::try_from(days).unwrap())
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    set_due_in(20).await;
    assert_eq!(remind(&app).await, 1, "four weeks before");
    assert_eq!(remind(&app).await, 0, "once");
    set_due_in(5).await;
    assert_eq!(remind(&app).await, 1, "a week before");
    set_due_in(-1).await;
    assert_eq!(remind(&app).await, 1, "overdue");
    assert_eq!(remind(&app).await, 0);
    let subjects: Vec<String> = sqlx::query_scalar(
        "SELECT subject FROM mail_outbox WHERE kind = 'grant-update' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(
        subjects[0].contains("Fällig am") && subjects[2].contains("Überfällig"),
        "{subjects:?}"
    );
    // The ministry's list names it as overdue.
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let list = reviewer.get("/pruefung/verwendungsnachweise").await;
    assert!(
        list.text("div[aria-label='Überfällige Verwendungsnachweise']")
            .contains("EGOV-")
    );
}

#[tokio::test]
async fn the_demo_shows_grants_in_every_state_after_the_award() {
    let app = TestApp::spawn().await;
    foerderportal::demo::load_lived_in(&app.state())
        .await
        .unwrap();
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    // A proof to check, one overdue, a settled grant with its Schlussbescheid.
    let list = reviewer.get("/pruefung/verwendungsnachweise").await;
    assert!(
        list.text("div[aria-label='Zu prüfende Verwendungsnachweise'] tbody")
            .contains("E-Akte für alle Ämter")
    );
    assert!(
        list.text("div[aria-label='Überfällige Verwendungsnachweise']")
            .contains("Ratsinformationssystem")
    );
    let settled: i64 = sqlx::query_scalar("SELECT id FROM proofs WHERE status = 'settled'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let case = reviewer
        .get(&format!("/pruefung/verwendungsnachweise/{settled}"))
        .await;
    assert!(case.text("table.balance tfoot").contains("Rückforderung"));
    let (status, pdf) = reviewer
        .download(&format!(
            "/pruefung/verwendungsnachweise/{settled}/schlussbescheid.pdf"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf_text(&pdf).contains("Schlussbescheid"));
    // Every sum on the settled case equals its rows.
    let cents = |t: &str| t.parse::<Cents>().unwrap().get();
    let interest: i64 = case
        .texts("div[aria-label='Zinsen der Rückforderung'] tbody td:last-child")
        .iter()
        .map(|t| cents(t))
        .sum();
    assert_eq!(
        interest,
        cents(&case.text("div[aria-label='Zinsen der Rückforderung'] tfoot td:last-child"))
    );
    // The demo clerk's grant: a change decided, one notified, one in review.
    let changes = reviewer.get("/pruefung/aenderungen?alle=ja").await;
    let tags = changes.texts("tbody .tag");
    for status in ["Genehmigt", "Mitgeteilt", "Zu entscheiden"] {
        assert!(
            tags.iter().any(|t| t == status),
            "{status} missing in {tags:?}"
        );
    }
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id: i64 = sqlx::query_scalar("SELECT application_id FROM amendments LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let page = clerk.get(&format!("/antraege/{id}/aenderungen")).await;
    assert_eq!(page.count("tbody tr"), 3);
}
