//! Payouts after the award: the Mittelabruf and its limits, the four eyes of checking and
//! ordering, payment runs and their SEPA file against the official ISO 20022 schema, booking,
//! and what parallel requests can and cannot do.

use std::path::Path;

use foerderportal::accounts::Role;
use foerderportal::money::Cents;
use foerderportal::payouts::sepa::{Debtor, Run, Transfer, pain_001_001_09};
use reqwest::StatusCode;

use crate::applications::{complete_application, submit};
use crate::common::{Client, Page, TestApp, join_all};
use crate::review::second_reviewer;

fn run(transfers: usize) -> Run {
    Run {
        message_id: "FP-ZL-2026-0001".into(),
        created_at: time::OffsetDateTime::now_utc(),
        execution_date: time::macros::date!(2026 - 12 - 15),
        debtor: Debtor {
            name: "Freistaat Thüringen – Landeshauptkasse".into(),
            iban: "DE02 8205 0000 3004 4440 40".into(),
            bic: None,
        },
        transfers: (1..=transfers)
            .map(|i| Transfer {
                end_to_end_id: format!("EGOV-2026-{i:04}-A1"),
                creditor_name: "Stadt Sömmerda & Verwaltungsgemeinschaft „Kölleda“".into(),
                creditor_iban: "DE89 3704 0044 0532 0130 00".into(),
                amount: Cents::new(5_000_000 + i64::try_from(i).unwrap()),
                remittance: format!("Zuwendung EGOV-2026-{i:04}, Mittelabruf 1 – E-Akte"),
            })
            .collect(),
    }
}

/// `xmllint --schema` on the file; the error output when it does not validate.
pub fn validate(xml: &str) -> Result<(), String> {
    let schema =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vendor/iso20022/pain.001.001.09.xsd");
    static FILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let file = std::env::temp_dir().join(format!("fp-pain-{}-{n}.xml", std::process::id()));
    std::fs::write(&file, xml).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint (Debian libxml2-utils) is installed");
    let _ = std::fs::remove_file(&file);
    match out.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

#[test]
fn a_payment_run_file_validates_against_the_pain_001_001_09_schema() {
    let run = run(3);
    let xml = pain_001_001_09(&run);
    validate(&xml).unwrap();
    assert_eq!(run.total(), Cents::new(15_000_006));
    assert!(xml.contains("<CtrlSum>150000.06</CtrlSum>"));
    assert!(xml.contains("<EndToEndId>EGOV-2026-0002-A1</EndToEndId>"));
    assert!(xml.contains("<Ustrd>Zuwendung EGOV-2026-0003, Mittelabruf 1   E-Akte</Ustrd>"));
    assert!(xml.contains("<Othr><Id>NOTPROVIDED</Id></Othr>"));
}

#[test]
fn the_schema_check_refuses_a_file_that_breaks_it() {
    let xml = pain_001_001_09(&run(1)).replace("<PmtMtd>TRF</PmtMtd>", "");
    let problem = validate(&xml).expect_err("a payment block without its method is refused");
    assert!(problem.contains("PmtMtd"), "{problem}");
}

/// An application of the demo clerk's municipality, submitted through the pages and approved
/// with `granted` for one year from today, with the confirmed decision the two demo reviewers
/// would have made (the decision itself is the review tests' business).
pub async fn approved_grant(app: &TestApp, granted: Cents) -> i64 {
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = complete_application(app, &clerk).await;
    assert_eq!(submit(&clerk, id).await.status, StatusCode::SEE_OTHER);
    sqlx::query(
        "WITH doc AS (INSERT INTO stored_documents (content, size_bytes) VALUES ('%PDF-1.7', 8) RETURNING id)
         INSERT INTO decisions (application_id, outcome, granted_cents, eligible_cents, period_start,
                                period_end, state, proposed_by, settled_by, settled_at, notice_id)
         SELECT $1, 'approve', $2, $2 * 5 / 4, current_date, current_date + 365, 'confirmed',
                (SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example'),
                (SELECT id FROM users WHERE email = 'zweitpruefung@demo.foerderportal.example'),
                now(), doc.id FROM doc",
    )
    .bind(id)
    .bind(granted.get())
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "WITH a AS (UPDATE applications SET status = 'approved', granted_cents = $2, decided_at = now(),
                           period_end = current_date + 365
                    WHERE id = $1 RETURNING id, round_id),
              g AS (UPDATE rounds r SET granted_cents = r.granted_cents + $2 FROM a WHERE r.id = a.round_id),
              y AS (UPDATE round_budget_years b SET committed_cents = committed_cents + $2
                    FROM a, rounds r WHERE r.id = a.round_id AND b.round_id = r.id AND b.year = r.year
                    RETURNING b.round_id, b.year)
         INSERT INTO grant_years (application_id, round_id, year, committed_cents)
         SELECT $1, round_id, year, $2 FROM y",
    )
    .bind(id)
    .bind(granted.get())
    .execute(&app.pool)
    .await
    .unwrap();
    id
}

/// A Mittelabruf of `amount` for one payment due in ten days, to the application's account,
/// filled into the form of the page (so the field names are the page's).
pub async fn request(clerk: &Client, id: i64, amount: &str) -> Page {
    let due = (jiff::Zoned::now().date() + jiff::ToSpan::days(10)).to_string();
    clerk
        .submit(
            &format!("/antraege/{id}/auszahlungen/neu"),
            "form[action$='/auszahlungen']",
            &request_fields(&due, amount),
        )
        .await
}

/// The same request posted without its page, as someone who may not see the page would.
async fn post_request(client: &Client, id: i64, amount: &str) -> Page {
    let due = (jiff::Zoned::now().date() + jiff::ToSpan::days(10)).to_string();
    client
        .post_with_token(
            &format!("/antraege/{id}/auszahlungen"),
            &request_fields(&due, amount),
        )
        .await
}

fn request_fields<'a>(due: &'a str, amount: &'a str) -> [(&'static str, &'a str); 6] {
    [
        ("purpose-1", "Lizenzen Terminservice"),
        ("payee-1", "Softwarehaus GmbH"),
        ("due_on-1", due),
        ("item_amount-1", amount),
        ("amount", amount),
        ("declaration", "ja"),
    ]
}

/// Uploads a receipt to a request from its page's form, as the browser sends it.
pub async fn upload_receipt(
    clerk: &Client,
    id: i64,
    payout: i64,
    name: &str,
    bytes: &[u8],
) -> Page {
    let path = format!("/antraege/{id}/auszahlungen/{payout}");
    let page = clerk.get(&path).await;
    let token = page
        .attr("input[name='csrf_token']", "value")
        .expect("a form token");
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part(
            "datei",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    let response = clerk
        .http
        .post(format!("{}{path}/belege", clerk.base_url))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Page::from(response).await
}

pub async fn last_payout(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT max(id) FROM payout_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn payout_status(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM payout_requests WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

async fn set_debtor_account(app: &TestApp) {
    sqlx::query(
        "UPDATE programmes SET debtor_iban = 'DE25820500003004444040', debtor_bic = 'HELADEFF820'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
}

/// The rows of the grant's balance (paid, pending, retained, available), in cents.
fn balance(page: &Page) -> Vec<i64> {
    page.texts("table.balance tbody td")
        .iter()
        .map(|t| cents(t))
        .collect()
}

/// The amounts of a page's table cells, parsed back: what a page shows must add up.
fn cents(text: &str) -> i64 {
    text.parse::<Cents>().unwrap().get()
}

/// The next weekday after today in Berlin (where the portal's "today" is, whatever the
/// machine's time zone: just before midnight UTC it is already tomorrow there).
pub fn a_weekday_after_today() -> String {
    let mut d = foerderportal::locale::today() + time::Duration::days(1);
    while matches!(d.weekday(), time::Weekday::Saturday | time::Weekday::Sunday) {
        d += time::Duration::days(1);
    }
    d.to_string()
}

#[tokio::test]
async fn a_grant_is_paid_out_through_check_order_and_a_payment_run() {
    let app = TestApp::spawn().await;
    let id = approved_grant(&app, Cents::from_euros(100_000)).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let grant_page = format!("/antraege/{id}/auszahlungen");

    // The balance: its rows add up to the grant; 10 % is retained.
    let page = clerk.get(&grant_page).await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = balance(&page);
    assert_eq!(rows, [0, 0, 1_000_000, 9_000_000]);
    assert_eq!(
        cents(&page.text("table.balance tfoot td")),
        rows.iter().sum::<i64>()
    );
    assert!(
        clerk
            .get(&format!("/antraege/{id}"))
            .await
            .count(&format!("a[href='{grant_page}']"))
            == 1
    );

    // The retained part cannot be requested; what was typed stays.
    let too_much = request(&clerk, id, "90.000,01").await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_much
            .text("#amount-error")
            .contains("Verwendungsnachweis")
    );
    assert_eq!(
        too_much.attr("#amount", "value").as_deref(),
        Some("90.000,01")
    );
    assert_eq!(
        too_much.attr("#purpose-1", "value").as_deref(),
        Some("Lizenzen Terminservice")
    );
    let malformed = request(&clerk, id, "50,000.00").await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(malformed.text("#amount-error").contains("Komma"));
    // Another account needs a valid IBAN and a reason.
    let other = clerk
        .post_with_token(
            &grant_page,
            &[
                ("amount", "1,00"),
                ("account", "other"),
                ("iban", "DE00 1234"),
                ("declaration", "ja"),
            ],
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in [
        "#iban-error",
        "#account_reason-error",
        "#account_holder-error",
        "#purpose-1-error",
    ] {
        assert_eq!(other.count(field), 1, "{field}");
    }
    assert_eq!(last_payout_count(&app).await, 0);

    let filed = request(&clerk, id, "50.000,00").await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let payout = last_payout(&app).await;
    assert_eq!(
        filed.location(),
        Some(format!("{grant_page}/{payout}").as_str())
    );
    let page = clerk.get(&grant_page).await;
    let rows = balance(&page);
    assert_eq!(rows, [0, 5_000_000, 1_000_000, 4_000_000]);

    // Reviewer A finds it correct; A may not order it, not even by posting; the database
    // refuses it too. Reviewer B orders.
    let first = app.sign_in_as(Role::Reviewer).await;
    let second = second_reviewer(&app).await;
    let case = format!("/pruefung/mittelabrufe/{payout}");
    let queue = first.get("/pruefung/mittelabrufe?fuer_mich=ja").await;
    assert_eq!(queue.count(&format!("a[href='{case}']")), 1);
    let lower_without_reason = first
        .submit(&case, "form[action$='/pruefen']", &[("approved", "40.000")])
        .await;
    assert_eq!(
        lower_without_reason.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(lower_without_reason.count("#note-error"), 1);
    let checked = first.submit(&case, "form[action$='/pruefen']", &[]).await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.body);
    assert_eq!(payout_status(&app, payout).await, "checked");
    let withdraw = clerk
        .post_with_token(&format!("{grant_page}/{payout}/zurueckziehen"), &[])
        .await;
    assert_eq!(withdraw.status, StatusCode::SEE_OTHER);
    assert_eq!(
        payout_status(&app, payout).await,
        "checked",
        "withdrawn only before the check"
    );
    let own = first
        .post_with_token(&format!("{case}/anordnen"), &[])
        .await;
    assert_eq!(own.location(), Some(case.as_str()));
    assert!(
        first
            .follow(&own)
            .await
            .text(".error-summary")
            .contains("Vier-Augen-Prinzip")
    );
    assert_eq!(first.get(&case).await.count("form[action$='/anordnen']"), 0);
    assert!(
        first
            .get("/pruefung/mittelabrufe?fuer_mich=ja")
            .await
            .count(&format!("a[href='{case}']"))
            == 0,
        "what A checked waits for someone else"
    );
    let forced = sqlx::query("UPDATE payout_requests SET status = 'ordered', ordered_by = checked_by, ordered_at = now()")
        .execute(&app.pool)
        .await;
    assert_eq!(
        crate::common::refused_by(forced).as_deref(),
        Some("payout_requests_four_eyes")
    );
    let ordered = second.submit(&case, "form[action$='/anordnen']", &[]).await;
    assert_eq!(ordered.status, StatusCode::SEE_OTHER, "{}", ordered.body);
    assert_eq!(payout_status(&app, payout).await, "ordered");

    // A run needs the programme's account, which the admin enters (a bad IBAN is refused).
    let runs = first.get("/pruefung/zahllaeufe").await;
    assert!(
        runs.text("main")
            .contains("kein Auszahlungskonto hinterlegt")
    );
    let admin = app.sign_in_as(Role::Admin).await;
    let bad = admin
        .submit(
            "/admin/programm",
            "form[action$='/auszahlungskonto']",
            &[("debtor_iban", "DE25 8205 0000 3004 4440 41")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.count("#debtor_iban-error"), 1);
    let saved = admin
        .submit(
            "/admin/programm",
            "form[action$='/auszahlungskonto']",
            &[
                ("debtor_iban", "DE25 8205 0000 3004 4440 40"),
                ("debtor_bic", "heladeff820"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    // The run: a weekend date is refused; then the file validates and holds the payout.
    let saturday = {
        let mut d = jiff::Zoned::now().date().tomorrow().unwrap();
        while d.weekday() != jiff::civil::Weekday::Saturday {
            d = d.tomorrow().unwrap();
        }
        d.to_string()
    };
    let weekend = first
        .submit(
            "/pruefung/zahllaeufe",
            "form[action='/pruefung/zahllaeufe']",
            &[("execution_date", &saturday)],
        )
        .await;
    assert_eq!(weekend.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weekend
            .text("#execution_date-error")
            .contains("Bankarbeitstag")
    );
    let day = a_weekday_after_today();
    let built = first
        .submit(
            "/pruefung/zahllaeufe",
            "form[action='/pruefung/zahllaeufe']",
            &[("execution_date", &day)],
        )
        .await;
    assert_eq!(built.status, StatusCode::SEE_OTHER, "{}", built.body);
    let run_page = built.location().unwrap().to_string();
    assert_eq!(payout_status(&app, payout).await, "in_run");
    // Nothing is left to collect: no form, and a resent one is refused.
    let runs = first.get("/pruefung/zahllaeufe").await;
    assert_eq!(runs.count("form[action='/pruefung/zahllaeufe']"), 0);
    let programme: i64 = sqlx::query_scalar("SELECT id FROM programmes LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let again = first
        .post_with_token(
            "/pruefung/zahllaeufe",
            &[
                ("programme", &programme.to_string()),
                ("execution_date", &day),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.text(".error-summary").contains("keine angeordneten"));
    let file = first.get(&format!("{run_page}/pain001.xml")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(
        file.header("content-disposition")
            .unwrap()
            .contains(".pain.001.001.09.xml")
    );
    validate(&file.body).unwrap();
    let year = jiff::Zoned::now().year();
    for expected in [
        "<InstdAmt Ccy=\"EUR\">50000.00</InstdAmt>".to_string(),
        "<CtrlSum>50000.00</CtrlSum>".into(),
        format!("<EndToEndId>EGOV-{year}-0001-MA1</EndToEndId>"),
        format!("<ReqdExctnDt><Dt>{day}</Dt></ReqdExctnDt>"),
        "<IBAN>DE25820500003004444040</IBAN>".into(),
        "<BICFI>HELADEFF820</BICFI>".into(),
        "<IBAN>DE89370400440532013000</IBAN>".into(),
        format!("EGOV-{year}-0001 Mittelabruf 1"),
    ] {
        assert!(
            file.body.contains(&expected),
            "{expected} missing in {}",
            file.body
        );
    }
    // A second download is the same file, with the same message id; the page counts both.
    let twice = first.get(&format!("{run_page}/pain001.xml")).await;
    assert_eq!(twice.body, file.body);
    assert!(
        first
            .get(&run_page)
            .await
            .text("main")
            .contains("2-mal heruntergeladen")
    );

    // Booked as paid: the municipality sees it and has had a mail at every step.
    let paid = first
        .submit(&run_page, "form[action$='/bezahlt']", &[])
        .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER);
    assert_eq!(payout_status(&app, payout).await, "paid");
    // Booked against the grant's commitment in the year of payment, and the round's year.
    let booked: (i64, i64, i64) = sqlx::query_as(
        "SELECT g.committed_cents, g.paid_cents, y.paid_cents FROM grant_years g
         JOIN round_budget_years y ON y.round_id = g.round_id AND y.year = g.year
         WHERE g.application_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(booked, (10_000_000, 5_000_000, 5_000_000));
    let page = clerk.get(&grant_page).await;
    let rows = balance(&page);
    assert_eq!(rows, [5_000_000, 0, 1_000_000, 4_000_000]);
    assert!(
        page.text("table:not(.balance) tbody")
            .contains("Ausgezahlt")
    );
    let subjects: Vec<String> = sqlx::query_scalar(
        "SELECT subject FROM mail_outbox WHERE kind = 'payout-update' AND recipient = 'kommune@demo.foerderportal.example' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let statuses: Vec<&str> = subjects
        .iter()
        .map(|s| s.rsplit(": ").next().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "Eingereicht",
            "Geprüft",
            "Zur Zahlung angeordnet",
            "Im Zahllauf",
            "Ausgezahlt"
        ],
        "{subjects:?}"
    );
    // The ledger: the row, its sum, and the same as CSV for German Excel.
    let ledger = first.get("/pruefung/auszahlungen").await;
    assert_eq!(
        cents(&ledger.text("tfoot tr:first-child td.num")),
        5_000_000
    );
    let csv = first
        .http
        .get(format!("{}/pruefung/auszahlungen.csv", first.base_url))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(csv.starts_with(b"\xef\xbb\xbf"), "a BOM for Excel");
    let csv = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(
        csv.contains(&format!("EGOV-{year}-0001;1;Kyffhäuserkreis;")),
        "{}",
        csv
    );
    assert!(csv.contains(";50000,00;ZL-"), "{}", csv);
}

async fn last_payout_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM payout_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lower_amount_and_a_request_sent_back_free_the_grant_again() {
    let app = TestApp::spawn().await;
    let id = approved_grant(&app, Cents::from_euros(100_000)).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    assert_eq!(
        request(&clerk, id, "60.000").await.status,
        StatusCode::SEE_OTHER
    );
    let payout = last_payout(&app).await;
    // Receipts: checked by content like the Anlagen; listed and downloadable on both sides.
    let wrong = upload_receipt(&clerk, id, payout, "Rechnung.pdf", b"MZ not a document").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text("#datei-error")
            .contains("kein zugelassenes Dokument")
    );
    let pdf = crate::applications::PDF;
    let uploaded = upload_receipt(&clerk, id, payout, "Rechnung 2027-17.pdf", pdf).await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let receipt: i64 = sqlx::query_scalar("SELECT id FROM payout_attachments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for (client, path) in [
        (&clerk, format!("/antraege/{id}/auszahlungen/{payout}")),
        (&reviewer, format!("/pruefung/mittelabrufe/{payout}")),
    ] {
        let page = client.get(&path).await;
        let href = page
            .attr(".file-list a", "href")
            .expect("the receipt is listed");
        assert!(href.ends_with(&format!("/belege/{receipt}")), "{href}");
        let file = client.get(&href).await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(file.header("content-type"), Some("application/pdf"));
    }
    let case = format!("/pruefung/mittelabrufe/{payout}");
    let checked = reviewer
        .submit(
            &case,
            "form[action$='/pruefen']",
            &[("approved", "45.000,00"), ("note", "Rechnung 2 fehlt")],
        )
        .await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.body);
    let (pending, approved): (i64, i64) = sqlx::query_as(
        "SELECT a.payout_pending_cents, p.approved_cents FROM applications a JOIN payout_requests p ON p.application_id = a.id WHERE p.id = $1",
    )
    .bind(payout)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (pending, approved),
        (4_500_000, 4_500_000),
        "the lower amount counts"
    );
    let late = upload_receipt(&clerk, id, payout, "Nachtrag.pdf", pdf).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(late.text("#datei-error").contains("bis das Ministerium"));
    let mail: String = sqlx::query_scalar(
        "SELECT body_text FROM mail_outbox WHERE kind = 'payout-update' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        mail.contains("45.000,00") && mail.contains("Rechnung 2 fehlt"),
        "{mail}"
    );
    let without_reason = reviewer
        .submit(&case, "form[action$='/zurueckgeben']", &[])
        .await;
    assert_eq!(without_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(without_reason.count("#reason-error"), 1);
    let back = reviewer
        .submit(
            &case,
            "form[action$='/zurueckgeben']",
            &[("reason", "Bitte mit Rechnungen neu stellen.")],
        )
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER);
    assert_eq!(payout_status(&app, payout).await, "returned");
    let page = clerk.get(&format!("/antraege/{id}/auszahlungen")).await;
    let rows = balance(&page);
    assert_eq!(rows, [0, 0, 1_000_000, 9_000_000]);
    assert!(
        clerk
            .get(&format!("/antraege/{id}/auszahlungen/{payout}"))
            .await
            .text("main")
            .contains("Bitte mit Rechnungen neu stellen.")
    );
    // Sent back is final: it cannot be checked any more.
    let late = reviewer
        .post_with_token(&format!("{case}/pruefen"), &[("approved", "1,00")])
        .await;
    assert!(late.refusal().is_some(), "{}", late.body);
    // A submitted request can be withdrawn by the municipality.
    assert_eq!(
        request(&clerk, id, "10.000").await.status,
        StatusCode::SEE_OTHER
    );
    let second = last_payout(&app).await;
    let withdrawn = clerk
        .post_with_token(
            &format!("/antraege/{id}/auszahlungen/{second}/zurueckziehen"),
            &[],
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    assert_eq!(payout_status(&app, second).await, "withdrawn");
    // Nobody else's: Jena's clerk does not see the grant, a reviewer cannot request.
    let jena = crate::applications::jena_clerk(&app).await;
    assert_eq!(
        jena.get(&format!("/antraege/{id}/auszahlungen"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post_request(&jena, id, "1,00").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post_request(&reviewer, id, "1,00").await.status,
        StatusCode::FORBIDDEN
    );
    // An application that is not approved has no payouts.
    let draft = crate::applications::start(&clerk).await;
    assert_eq!(
        clerk
            .get(&format!("/antraege/{draft}/auszahlungen"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn parallel_requests_never_promise_more_than_the_grant_allows() {
    let app = TestApp::spawn().await;
    let id = approved_grant(&app, Cents::from_euros(100_000)).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    // 90.000 € may be requested; eight requests of 25.000 € arrive at once: three fit.
    let results = join_all((0..8).map(|_| request(&clerk, id, "25.000")).collect()).await;
    let accepted = results
        .iter()
        .filter(|p| p.status == StatusCode::SEE_OTHER)
        .count();
    let refused = results
        .iter()
        .filter(|p| p.status == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((accepted, refused), (3, 5));
    let (pending, requested): (i64, i64) = sqlx::query_as(
        "SELECT a.payout_pending_cents, (SELECT sum(requested_cents)::bigint FROM payout_requests) FROM applications a WHERE a.id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((pending, requested), (7_500_000, 7_500_000));
    let numbers: Vec<i32> =
        sqlx::query_scalar("SELECT number FROM payout_requests ORDER BY number")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(numbers, [1, 2, 3]);
    // And past the pages, the database refuses to promise more than the grant.
    let over = sqlx::query("UPDATE payout_requests SET requested_cents = 5000000")
        .execute(&app.pool)
        .await;
    assert_eq!(
        crate::common::refused_by(over).as_deref(),
        Some("applications_payouts_within_grant")
    );
}

#[tokio::test]
async fn parallel_orders_and_bookings_pay_each_payout_once() {
    let app = TestApp::spawn().await;
    let id = approved_grant(&app, Cents::from_euros(100_000)).await;
    set_debtor_account(&app).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    for amount in ["20.000", "30.000"] {
        assert_eq!(
            request(&clerk, id, amount).await.status,
            StatusCode::SEE_OTHER
        );
    }
    let first = app.sign_in_as(Role::Reviewer).await;
    let second = second_reviewer(&app).await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM payout_requests ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    for payout in &ids {
        let checked = first
            .submit(
                &format!("/pruefung/mittelabrufe/{payout}"),
                "form[action$='/pruefen']",
                &[],
            )
            .await;
        assert_eq!(checked.status, StatusCode::SEE_OTHER);
    }
    // A double click on "anordnen": one order each, the second answer says it moved on.
    let paths: Vec<String> = ids
        .iter()
        .flat_map(|p| {
            let path = format!("/pruefung/mittelabrufe/{p}/anordnen");
            [path.clone(), path]
        })
        .collect();
    let orders = join_all(
        paths
            .iter()
            .map(|path| second.post_with_token(path, &[]))
            .collect(),
    )
    .await;
    let refused: Vec<bool> = orders.iter().map(|p| p.refusal().is_some()).collect();
    assert!(orders.iter().all(|p| p.status == StatusCode::SEE_OTHER));
    assert_eq!(refused.iter().filter(|r| !**r).count(), 2, "{refused:?}");
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM payout_events WHERE kind = 'ordered'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 2);
    // Two runs built at once: one gets both payouts, the other nothing.
    let day = a_weekday_after_today();
    let programme: i64 = sqlx::query_scalar("SELECT id FROM programmes LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let programme = programme.to_string();
    let fields = [
        ("programme", programme.as_str()),
        ("execution_date", day.as_str()),
    ];
    let builds = join_all(
        (0..2)
            .map(|_| first.post_with_token("/pruefung/zahllaeufe", &fields))
            .collect(),
    )
    .await;
    let built: Vec<&Page> = builds
        .iter()
        .filter(|p| p.status == StatusCode::SEE_OTHER)
        .collect();
    assert_eq!(
        built.len(),
        1,
        "{:?}",
        builds.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    let run_page = built[0].location().unwrap().to_string();
    let (runs, transfers, total): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), sum(transfers)::bigint, sum(total_cents)::bigint FROM payment_runs",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((runs, transfers, total), (1, 2, 5_000_000));
    // Six clicks on "bezahlt" at once book the run once.
    let path = format!("{run_page}/bezahlt");
    let bookings = join_all((0..6).map(|_| first.post_with_token(&path, &[])).collect()).await;
    assert!(bookings.iter().all(|p| p.status == StatusCode::SEE_OTHER));
    let (paid, pending, paid_events): (i64, i64, i64) = sqlx::query_as(
        "SELECT paid_cents, payout_pending_cents, (SELECT count(*) FROM payout_events WHERE kind = 'paid') FROM applications WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((paid, pending, paid_events), (5_000_000, 0, 2));
    let mails: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE kind = 'payout-update' AND subject LIKE '%Ausgezahlt'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(mails, 2, "one mail per payout, not per click");
    let page = first.get(&run_page).await;
    let amounts: i64 = page.texts("tbody td.num").iter().map(|t| cents(t)).sum();
    assert_eq!(amounts, cents(&page.text("tfoot td.num")));
}

#[tokio::test]
async fn the_demo_grant_shows_payouts_in_every_state_and_its_sums_hold() {
    let app = TestApp::spawn().await;
    foerderportal::demo::load_lived_in(&app.state())
        .await
        .unwrap();
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id: i64 = sqlx::query_scalar(
        "SELECT a.id FROM applications a JOIN municipalities m ON m.id = a.municipality_id WHERE m.ags = '16065000'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let page = clerk.get(&format!("/antraege/{id}/auszahlungen")).await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = balance(&page);
    assert_eq!(
        rows.iter().sum::<i64>(),
        cents(&page.text("table.balance tfoot td"))
    );
    let tags = page.texts("tbody .tag");
    for status in [
        "Ausgezahlt",
        "Zur Zahlung angeordnet",
        "Geprüft",
        "Eingereicht",
        "Zurückgegeben",
    ] {
        assert!(
            tags.iter().any(|t| t == status),
            "{status} missing in {tags:?}"
        );
    }
    // The history's sum leaves out what was sent back.
    let counted: i64 = page
        .texts("table:not(.balance) tbody td.num")
        .iter()
        .filter(|t| !t.starts_with("nicht gezählt"))
        .map(|t| cents(t))
        .sum();
    assert_eq!(
        counted,
        cents(&page.text("table:not(.balance) tfoot td.num"))
    );
    // The notice downloads, and the paid run's file validates.
    assert_eq!(
        clerk
            .get(&format!("/antraege/{id}/bescheid.pdf"))
            .await
            .status,
        StatusCode::OK
    );
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let run: i64 = sqlx::query_scalar(
        "SELECT run_id FROM payout_requests WHERE application_id = $1 AND run_id IS NOT NULL",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    validate(
        &reviewer
            .get(&format!("/pruefung/zahllaeufe/{run}/pain001.xml"))
            .await
            .body,
    )
    .unwrap();
    // Loading it again changes nothing.
    foerderportal::demo::load_lived_in(&app.state())
        .await
        .unwrap();
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM payout_requests WHERE application_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(count, 5);
    let proofs: i64 = sqlx::query_scalar("SELECT count(*) FROM proofs")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(proofs, 2, "the grants after the award are loaded once");
}

#[tokio::test]
async fn a_form_sent_twice_files_one_request() {
    let app = TestApp::spawn().await;
    let id = approved_grant(&app, Cents::from_euros(100_000)).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let path = format!("/antraege/{id}/auszahlungen/neu");
    let page = clerk.get(&path).await;
    let due = (jiff::Zoned::now().date() + jiff::ToSpan::days(10)).to_string();
    let fields = request_fields(&due, "10.000");
    // A double click: the same page's form, twice at once.
    let sent = join_all(
        (0..2)
            .map(|_| clerk.submit_from(&page, &path, "form[action$='/auszahlungen']", &fields))
            .collect(),
    )
    .await;
    assert!(sent.iter().all(|p| p.status == StatusCode::SEE_OTHER));
    assert_eq!(sent[0].location(), sent[1].location());
    assert_eq!(last_payout_count(&app).await, 1);
    // A new form is a new request.
    assert_eq!(
        request(&clerk, id, "10.000").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(last_payout_count(&app).await, 2);
}
