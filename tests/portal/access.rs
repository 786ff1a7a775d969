//! The access matrix: every route × every role, with the answer each must get. A route in
//! `src/` that is missing here fails `every_route_is_in_the_access_matrix`.

use std::collections::BTreeSet;

use foerderportal::accounts::Role;
use foerderportal::mail::messages::PasswordChanged;
use foerderportal::mail::{Message, Recipient};
use reqwest::StatusCode;

use crate::common::{Client, Page, TestApp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// 200
    Ok,
    /// Off to the login page (anonymous visitor on a page that needs an account).
    Login,
    /// 403 with the German page.
    Forbidden,
    /// Let through: the handler ran and answered on the merits (a form error, a redirect, …).
    Allowed,
    /// Exactly this status for everyone, e.g. 404 for a link without its token.
    Status(u16),
}

use Expect::*;

struct Route {
    method: &'static str,
    path: &'static str,
    /// anonymous, clerk of the Kyffhäuserkreis, clerk of Jena, reviewer, admin. (The clerks
    /// differ once routes show a municipality's own objects.)
    expect: [Expect; 5],
}

const fn get(path: &'static str, expect: [Expect; 5]) -> Route {
    Route {
        method: "GET",
        path,
        expect,
    }
}

const fn post(path: &'static str, expect: [Expect; 5]) -> Route {
    Route {
        method: "POST",
        path,
        expect,
    }
}

const PUBLIC: [Expect; 5] = [Ok, Ok, Ok, Ok, Ok];
const SIGNED_IN: [Expect; 5] = [Login, Ok, Ok, Ok, Ok];
const SIGNED_IN_ACTION: [Expect; 5] = [Login, Allowed, Allowed, Allowed, Allowed];
const ADMIN_PAGE: [Expect; 5] = [Login, Forbidden, Forbidden, Forbidden, Ok];
const ADMIN_ACTION: [Expect; 5] = [Login, Forbidden, Forbidden, Forbidden, Allowed];
const ANYONE_ACTION: [Expect; 5] = [Allowed, Allowed, Allowed, Allowed, Allowed];
const CLERK_PAGE: [Expect; 5] = [Login, Ok, Ok, Forbidden, Forbidden];
const CLERK_ACTION: [Expect; 5] = [Login, Allowed, Allowed, Forbidden, Forbidden];
/// An application of the Kyffhäuserkreis: Jena's clerk must not learn it exists.
const OWN_PAGE: [Expect; 5] = [Login, Ok, Status(404), Forbidden, Forbidden];
const OWN_ACTION: [Expect; 5] = [Login, Allowed, Status(404), Forbidden, Forbidden];
const REVIEW_PAGE: [Expect; 5] = [Login, Forbidden, Forbidden, Ok, Forbidden];
const REVIEW_ACTION: [Expect; 5] = [Login, Forbidden, Forbidden, Allowed, Forbidden];

/// `{id}` stands for an existing object of the route's kind (see `object_id`).
const MATRIX: &[Route] = &[
    get("/", PUBLIC),
    get("/foerderaufrufe", PUBLIC),
    get("/nachnutzung", PUBLIC),
    get("/nachnutzung/{id}", PUBLIC),
    post("/nachnutzung/{id}/anfrage", ANYONE_ACTION),
    get("/offene-daten", PUBLIC),
    get("/offene-daten/vorhaben.csv", PUBLIC),
    get("/offene-daten/vorhaben.json", PUBLIC),
    get("/offene-daten/foerderaufrufe.csv", PUBLIC),
    get("/offene-daten/foerderaufrufe.json", PUBLIC),
    get("/statistik", PUBLIC),
    get("/statistik/{round}", PUBLIC),
    get("/impressum", PUBLIC),
    get("/datenschutz", PUBLIC),
    get("/barrierefreiheit", PUBLIC),
    get("/healthz", PUBLIC),
    get("/readyz", PUBLIC),
    // Served only on METRICS_ADDR (its own listener), never on the portal's address.
    get("/metrics", [Status(404); 5]),
    get("/anmelden", PUBLIC),
    post("/anmelden", ANYONE_ACTION),
    get("/passwort-vergessen", PUBLIC),
    post("/passwort-vergessen", ANYONE_ACTION),
    get("/passwort-zuruecksetzen", [Status(404); 5]),
    post("/passwort-zuruecksetzen", [Status(404); 5]),
    get("/einladung", [Status(404); 5]),
    post("/einladung", [Status(404); 5]),
    get("/zugang-beantragen", PUBLIC),
    post("/zugang-beantragen", ANYONE_ACTION),
    get("/konto", SIGNED_IN),
    get("/konto/zweiter-faktor", SIGNED_IN),
    post("/konto/zweiter-faktor", SIGNED_IN_ACTION),
    post("/konto/zweiter-faktor/neue-codes", SIGNED_IN_ACTION),
    get("/konto/zweiter-faktor/neue-app", SIGNED_IN),
    post("/konto/zweiter-faktor/neue-app", SIGNED_IN_ACTION),
    post("/konto/zweiter-faktor/entfernen", SIGNED_IN_ACTION),
    // Without a half-finished login there is nothing to confirm: back to the login.
    get("/anmelden/zweiter-faktor", [Status(303); 5]),
    post("/anmelden/zweiter-faktor", [Status(303); 5]),
    post("/konto/passwort", SIGNED_IN_ACTION),
    post("/konto/sitzungen/beenden", SIGNED_IN_ACTION),
    get("/admin/kommunen", ADMIN_PAGE),
    get("/admin/kommunen/import", ADMIN_PAGE),
    get("/admin/kommunen/{id}", ADMIN_PAGE),
    post("/admin/kommunen/{id}", ADMIN_ACTION),
    post("/admin/kommunen/import", ADMIN_ACTION),
    get("/admin/benutzer", ADMIN_PAGE),
    get("/admin/benutzer/neu", ADMIN_PAGE),
    post("/admin/benutzer/neu", ADMIN_ACTION),
    get("/admin/benutzer/{id}", ADMIN_PAGE),
    post("/admin/benutzer/{id}/rolle", ADMIN_ACTION),
    post("/admin/benutzer/{id}/einladung", ADMIN_ACTION),
    post("/admin/benutzer/{id}/deaktivieren", ADMIN_ACTION),
    post("/admin/benutzer/{id}/reaktivieren", ADMIN_ACTION),
    get("/admin/protokoll", ADMIN_PAGE),
    get("/admin/programm", ADMIN_PAGE),
    post("/admin/programm", ADMIN_ACTION),
    post("/admin/programm/auszahlungskonto", ADMIN_ACTION),
    post("/admin/programm/zinsen", ADMIN_ACTION),
    get("/admin/programm/rechtstexte", ADMIN_PAGE),
    post("/admin/programm/rechtstexte", ADMIN_ACTION),
    post("/admin/programm/rechtstexte/vorschau", ADMIN_ACTION),
    get("/admin/programm/kategorien/neu", ADMIN_PAGE),
    post("/admin/programm/kategorien/neu", ADMIN_ACTION),
    get("/admin/programm/kategorien/{id}", ADMIN_PAGE),
    post("/admin/programm/kategorien/{id}", ADMIN_ACTION),
    post("/admin/programm/kategorien/{id}/loeschen", ADMIN_ACTION),
    get("/admin/foerderaufrufe", ADMIN_PAGE),
    get("/admin/foerderaufrufe/neu", ADMIN_PAGE),
    post("/admin/foerderaufrufe/neu", ADMIN_ACTION),
    get("/admin/foerderaufrufe/{id}", ADMIN_PAGE),
    post("/admin/foerderaufrufe/{id}", ADMIN_ACTION),
    post("/admin/foerderaufrufe/{id}/veroeffentlichen", ADMIN_ACTION),
    get("/admin/foerderaufrufe/{id}/schliessen", ADMIN_PAGE),
    post("/admin/foerderaufrufe/{id}/schliessen", ADMIN_ACTION),
    get("/admin/postausgang", ADMIN_PAGE),
    get("/admin/postausgang/{id}", ADMIN_PAGE),
    post("/admin/postausgang/{id}/erneut-senden", ADMIN_ACTION),
    get("/admin/zugangsantraege", ADMIN_PAGE),
    get("/admin/zugangsantraege/{id}", ADMIN_PAGE),
    post("/admin/zugangsantraege/{id}/ablehnen", ADMIN_ACTION),
    post("/admin/zugangsantraege/{id}/freigeben", ADMIN_ACTION),
    get("/antraege", CLERK_PAGE),
    post("/antraege", CLERK_ACTION),
    get("/antraege/{id}", OWN_PAGE),
    get("/antraege/{id}/{section}", OWN_PAGE),
    post("/antraege/{id}/{section}", OWN_ACTION),
    get("/antraege/{id}/anlagen", OWN_PAGE),
    post("/antraege/{id}/anlagen", OWN_ACTION),
    get("/antraege/{id}/anlagen/{file}", OWN_PAGE),
    post("/antraege/{id}/anlagen/{file}/loeschen", OWN_ACTION),
    get("/antraege/{id}/pruefen", OWN_PAGE),
    post("/antraege/{id}/einreichen", OWN_ACTION),
    // A draft has no confirmation yet: back to the application.
    get(
        "/antraege/{id}/bestaetigung",
        [Login, Status(303), Status(404), Forbidden, Forbidden],
    ),
    get("/antraege/{id}/druck", OWN_PAGE),
    get("/antraege/{id}/katalog", OWN_PAGE),
    post("/antraege/{id}/katalog", OWN_ACTION),
    get(
        "/antraege/{id}/bescheid.pdf",
        [Login, Status(404), Status(404), Forbidden, Forbidden],
    ),
    // The draft has no reference yet: nothing to write about.
    post(
        "/antraege/{id}/nachrichten",
        [Login, Forbidden, Status(404), Forbidden, Forbidden],
    ),
    // Only partner municipalities confirm; the applicant is none.
    post(
        "/antraege/{id}/teilnahme",
        [Login, Forbidden, Status(404), Forbidden, Forbidden],
    ),
    get("/antraege/{id}/zurueckziehen", OWN_PAGE),
    get("/antraege/{id}/loeschen", OWN_PAGE),
    // After every other application route: it withdraws the application…
    post("/antraege/{id}/zurueckziehen", OWN_ACTION),
    // …and this deletes it (it was never submitted). The owner's request comes first, so the
    // roles after it find nothing; the same rule refuses them the page above.
    post(
        "/antraege/{id}/loeschen",
        [Login, Allowed, Status(404), Status(404), Status(404)],
    ),
    get("/antraege/{id}/auszahlungen", OWN_PAGE),
    get("/antraege/{id}/auszahlungen/neu", OWN_PAGE),
    post("/antraege/{id}/auszahlungen", OWN_ACTION),
    get("/antraege/{id}/auszahlungen/{payout}", OWN_PAGE),
    post("/antraege/{id}/auszahlungen/{payout}/belege", OWN_ACTION),
    get(
        "/antraege/{id}/auszahlungen/{payout}/belege/{file}",
        OWN_PAGE,
    ),
    get("/pruefung/mittelabrufe", REVIEW_PAGE),
    get("/pruefung/mittelabrufe/{id}", REVIEW_PAGE),
    post("/pruefung/mittelabrufe/{id}/pruefen", REVIEW_ACTION),
    post("/pruefung/mittelabrufe/{id}/anordnen", REVIEW_ACTION),
    post("/pruefung/mittelabrufe/{id}/zurueckgeben", REVIEW_ACTION),
    get("/pruefung/mittelabrufe/{id}/belege/{file}", REVIEW_PAGE),
    // After the reviewers' steps on the request: it withdraws it.
    post(
        "/antraege/{id}/auszahlungen/{payout}/zurueckziehen",
        OWN_ACTION,
    ),
    get("/antraege/{id}/aenderungen", OWN_PAGE),
    // With a change open, the form sends the owner back to the list.
    get("/antraege/{id}/aenderungen/neu", OWN_ACTION),
    post("/antraege/{id}/aenderungen", OWN_ACTION),
    get("/antraege/{id}/aenderungen/{amendment}", OWN_PAGE),
    get(
        "/antraege/{id}/aenderungen/{amendment}/bescheid.pdf",
        OWN_PAGE,
    ),
    get("/pruefung/aenderungen", REVIEW_PAGE),
    get("/pruefung/aenderungen/{id}", REVIEW_PAGE),
    get("/pruefung/aenderungen/{id}/bescheid.pdf", REVIEW_PAGE),
    post("/pruefung/aenderungen/{id}/vorschlag", REVIEW_ACTION),
    post("/pruefung/aenderungen/{id}/bestaetigen", REVIEW_ACTION),
    post("/pruefung/aenderungen/{id}/zurueckgeben", REVIEW_ACTION),
    // After the reviewers' steps: it withdraws the open change.
    post(
        "/antraege/{id}/aenderungen/{amendment}/zurueckziehen",
        OWN_ACTION,
    ),
    get("/antraege/{id}/verwendungsnachweis", OWN_PAGE),
    get("/antraege/{id}/verwendungsnachweis/sachbericht", OWN_PAGE),
    post("/antraege/{id}/verwendungsnachweis/sachbericht", OWN_ACTION),
    get("/antraege/{id}/verwendungsnachweis/belege", OWN_PAGE),
    post("/antraege/{id}/verwendungsnachweis/belege", OWN_ACTION),
    post(
        "/antraege/{id}/verwendungsnachweis/belege/import",
        OWN_ACTION,
    ),
    get("/antraege/{id}/verwendungsnachweis/finanzierung", OWN_PAGE),
    post(
        "/antraege/{id}/verwendungsnachweis/finanzierung",
        OWN_ACTION,
    ),
    get("/antraege/{id}/verwendungsnachweis/anlagen", OWN_PAGE),
    post("/antraege/{id}/verwendungsnachweis/anlagen", OWN_ACTION),
    get(
        "/antraege/{id}/verwendungsnachweis/anlagen/{file}",
        OWN_PAGE,
    ),
    get("/antraege/{id}/verwendungsnachweis/pruefen", OWN_PAGE),
    post("/antraege/{id}/verwendungsnachweis/pruefen", OWN_ACTION),
    // Not settled yet: no Schlussbescheid.
    get(
        "/antraege/{id}/schlussbescheid.pdf",
        [Login, Status(404), Status(404), Forbidden, Forbidden],
    ),
    get("/pruefung/verwendungsnachweise", REVIEW_PAGE),
    get("/pruefung/verwendungsnachweise/{id}", REVIEW_PAGE),
    get(
        "/pruefung/verwendungsnachweise/{id}/anlagen/{file}",
        REVIEW_PAGE,
    ),
    get(
        "/pruefung/verwendungsnachweise/{id}/schlussbescheid.pdf",
        [Login, Forbidden, Forbidden, Status(404), Forbidden],
    ),
    post(
        "/pruefung/verwendungsnachweise/{id}/nachforderung",
        REVIEW_ACTION,
    ),
    post(
        "/pruefung/verwendungsnachweise/{id}/abrechnung",
        REVIEW_ACTION,
    ),
    post(
        "/pruefung/verwendungsnachweise/{id}/abrechnung/bestaetigen",
        REVIEW_ACTION,
    ),
    post(
        "/pruefung/verwendungsnachweise/{id}/abrechnung/zurueckgeben",
        REVIEW_ACTION,
    ),
    // Submitted: the municipality's delete is refused, the receipt stays.
    post(
        "/antraege/{id}/verwendungsnachweis/belege/{receipt}/loeschen",
        OWN_ACTION,
    ),
    get("/pruefung/zahllaeufe", REVIEW_PAGE),
    post("/pruefung/zahllaeufe", REVIEW_ACTION),
    get("/pruefung/zahllaeufe/{id}", REVIEW_PAGE),
    get("/pruefung/zahllaeufe/{id}/pain001.xml", REVIEW_PAGE),
    // After the run's pages: it books the run.
    post("/pruefung/zahllaeufe/{id}/bezahlt", REVIEW_ACTION),
    get("/pruefung/auszahlungen", REVIEW_PAGE),
    get("/pruefung/auszahlungen.csv", REVIEW_PAGE),
    get("/pruefung", REVIEW_PAGE),
    get("/pruefung/export.csv", REVIEW_PAGE),
    get("/pruefung/aufgaben", REVIEW_PAGE),
    get("/pruefung/statistik", REVIEW_PAGE),
    get("/pruefung/antraege/{id}", REVIEW_PAGE),
    get("/pruefung/antraege/{id}/pruefung", REVIEW_PAGE),
    get("/pruefung/antraege/{id}/entscheidung", REVIEW_PAGE),
    get("/pruefung/antraege/{id}/nachrichten", REVIEW_PAGE),
    get("/pruefung/antraege/{id}/verlauf", REVIEW_PAGE),
    get("/pruefung/antraege/{id}/anlagen/{file}", REVIEW_PAGE),
    post("/pruefung/antraege/{id}/zuweisen", REVIEW_ACTION),
    post("/pruefung/antraege/{id}/pruefung-beginnen", REVIEW_ACTION),
    post("/pruefung/antraege/{id}/pruefvermerk", REVIEW_ACTION),
    post("/pruefung/antraege/{id}/nachforderung", REVIEW_ACTION),
    post("/pruefung/antraege/{id}/notizen", REVIEW_ACTION),
    post("/pruefung/antraege/{id}/nachrichten", REVIEW_ACTION),
    post("/pruefung/antraege/{id}/entscheidung", REVIEW_ACTION),
    post(
        "/pruefung/antraege/{id}/entscheidung/bestaetigen",
        REVIEW_ACTION,
    ),
    post(
        "/pruefung/antraege/{id}/entscheidung/zurueckgeben",
        REVIEW_ACTION,
    ),
    // No decision yet, so no notice.
    get(
        "/pruefung/antraege/{id}/bescheid.pdf",
        [Login, Forbidden, Forbidden, Status(404), Forbidden],
    ),
    // Projektskizzen: the Kyffhäuserkreis' outline, sent to the ministry and in the partner
    // search, with Jena's interest. The partner search first: turning it off (the form's
    // empty action) takes the outline out of it.
    get("/skizzen", CLERK_PAGE),
    get("/skizzen/neu", CLERK_PAGE),
    post("/skizzen/neu", CLERK_ACTION),
    get("/partnersuche", CLERK_PAGE),
    get("/partnersuche/{id}", CLERK_PAGE),
    post("/partnersuche/{id}/interesse", CLERK_ACTION),
    get("/skizzen/{id}", OWN_PAGE),
    get("/skizzen/{id}/bearbeiten", OWN_PAGE),
    post("/skizzen/{id}/bearbeiten", OWN_ACTION),
    post("/skizzen/{id}/nachrichten", OWN_ACTION),
    post("/skizzen/{id}/partnersuche", OWN_ACTION),
    post(
        "/skizzen/{id}/interessen/{municipality_id}/annehmen",
        OWN_ACTION,
    ),
    post("/skizzen/{id}/antrag", OWN_ACTION),
    get("/pruefung/skizzen", REVIEW_PAGE),
    get("/pruefung/skizzen/{id}", REVIEW_PAGE),
    post("/pruefung/skizzen/{id}/nachrichten", REVIEW_ACTION),
    post("/pruefung/skizzen/{id}/abgestimmt", REVIEW_ACTION),
    // The owner's clerk deletes it: nobody after them finds it.
    post(
        "/skizzen/{id}/loeschen",
        [Login, Allowed, Status(404), Status(404), Status(404)],
    ),
    // Last: it ends the session it is sent with.
    post("/abmelden", SIGNED_IN_ACTION),
];

/// The objects the `{id}` routes act on; none of them is a signed-in test user, so the
/// admin's actions do not disturb the other roles' sessions.
struct Objects {
    municipality: i64,
    round: i64,
    category: i64,
    user: i64,
    message: i64,
    request: i64,
    application: i64,
    attachment: i64,
    /// A submitted application (of the Kyffhäuserkreis) and one of its files.
    case: i64,
    case_file: i64,
    /// An approved application of the Kyffhäuserkreis, a submitted payout request on it, and
    /// a payment run holding another of its payouts.
    grant: i64,
    payout: i64,
    run: i64,
    /// A receipt of `payout`.
    receipt: i64,
    /// Change requests on `grant`: one open, one decided (with its notice).
    amendment: i64,
    decided_amendment: i64,
    /// The submitted proof of use of `grant`, one of its receipts and one of its files.
    proof: i64,
    proof_receipt: i64,
    proof_file: i64,
    /// An outline of the Kyffhäuserkreis in consultation and in the partner search, with
    /// the interest of Jena (`municipality`).
    outline: i64,
}

async fn objects(app: &TestApp) -> Objects {
    let user: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, roles) VALUES ('ziel@tfm.example', 'Ziel', '{reviewer}') RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let to = Recipient::new("ziel@tfm.example", "Ziel").unwrap();
    let message = app
        .failed_message(
            &to,
            &Message::PasswordChanged(PasswordChanged {
                name: "Ziel".into(),
                changed_at: "heute".into(),
            }),
        )
        .await;
    let request: i64 = sqlx::query_scalar(
        "INSERT INTO access_requests (name, email, municipality_id, function)
         SELECT 'Jana', 'jana@jena.example', id, 'IT' FROM municipalities WHERE ags = '16053000' RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let municipality: i64 =
        sqlx::query_scalar("SELECT id FROM municipalities WHERE ags = '16053000'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let round: i64 = sqlx::query_scalar("SELECT id FROM rounds LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let category: i64 = sqlx::query_scalar("SELECT id FROM categories WHERE code = '2h'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (application, attachment) = application_with_file(app).await;
    let (case, case_file) = submitted_application(app).await;
    let (grant, payout, run) = grant_with_payouts(app, user).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    let uploaded = crate::payouts::upload_receipt(
        &clerk,
        grant,
        payout,
        "Rechnung.pdf",
        crate::applications::PDF,
    )
    .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let receipt = sqlx::query_scalar("SELECT id FROM payout_attachments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // The grant is in the public catalogue.
    sqlx::query(
        "INSERT INTO catalogue_entries (application_id, title, summary, reuse, mailbox, published_by)
         SELECT id, title, 'Kurz', 'Nachnutzbar', 'postfach@kommune.example', created_by
         FROM applications WHERE id = $1",
    )
    .bind(grant)
    .execute(&app.pool)
    .await
    .unwrap();
    let (amendment, decided_amendment) = amendments(app, grant, user).await;
    let (proof, proof_receipt, proof_file) = submitted_proof(app, grant).await;
    let outline = outline_with_interest(app, municipality, user).await;
    Objects {
        outline,
        proof,
        proof_receipt,
        proof_file,
        amendment,
        decided_amendment,
        grant,
        payout,
        run,
        receipt,
        case,
        case_file,
        municipality,
        round,
        category,
        user,
        message,
        request,
        application,
        attachment,
    }
}

/// A submitted application of the demo clerk's municipality, and one of its files.
async fn submitted_application(app: &TestApp) -> (i64, i64) {
    let clerk = app.sign_in_as(Role::Clerk).await;
    let id = crate::applications::complete_application(app, &clerk).await;
    crate::applications::submit(&clerk, id).await;
    let file = sqlx::query_scalar(
        "SELECT id FROM application_attachments WHERE application_id = $1 LIMIT 1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    (id, file)
}

/// An approved application with a submitted payout request and a run holding another payout
/// (checked by the demo reviewer, ordered by `other_reviewer`).
async fn grant_with_payouts(app: &TestApp, other_reviewer: i64) -> (i64, i64, i64) {
    let grant =
        crate::payouts::approved_grant(app, foerderportal::money::Cents::from_euros(100_000)).await;
    let clerk = app.sign_in_as(Role::Clerk).await;
    for amount in ["1.000", "2.000"] {
        let filed = crate::payouts::request(&clerk, grant, amount).await;
        assert_eq!(filed.status, StatusCode::SEE_OTHER);
    }
    let run: i64 = sqlx::query_scalar(
        "WITH file AS (INSERT INTO stored_documents (content, size_bytes) VALUES ('x', 1) RETURNING id)
         INSERT INTO payment_runs (programme_id, number, execution_date, transfers, total_cents, file_id, created_by)
         SELECT p.id, 'ZL-2099-0001', current_date + 1, 1, 200000, file.id, $1
         FROM programmes p, file LIMIT 1 RETURNING id",
    )
    .bind(other_reviewer)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE payout_requests SET status = 'in_run', approved_cents = requested_cents, run_id = $2,
                checked_by = (SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example'),
                ordered_by = $1, checked_at = now(), ordered_at = now()
         WHERE number = 2",
    )
    .bind(other_reviewer)
    .bind(run)
    .execute(&app.pool)
    .await
    .unwrap();
    let payout = sqlx::query_scalar("SELECT id FROM payout_requests WHERE number = 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (grant, payout, run)
}

/// On `grant`: a change approved by the demo reviewer and `other_reviewer` (with its notice),
/// and an open one after it.
async fn amendments(app: &TestApp, grant: i64, other_reviewer: i64) -> (i64, i64) {
    let clerk = app.sign_in_as(Role::Clerk).await;
    let mut ids = Vec::new();
    for days in [30, 60] {
        let end: time::Date =
            sqlx::query_scalar("SELECT period_end FROM applications WHERE id = $1")
                .bind(grant)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        let filed = clerk
            .submit(
                &format!("/antraege/{grant}/aenderungen/neu"),
                "form[action$='/aenderungen']",
                &[
                    (
                        "period_end",
                        &foerderportal::locale::day(end + time::Duration::days(days)),
                    ),
                    ("reason", "Lieferverzug"),
                ],
            )
            .await;
        assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
        let id: i64 = sqlx::query_scalar("SELECT max(id) FROM amendments")
            .fetch_one(&app.pool)
            .await
            .unwrap();
        if ids.is_empty() {
            sqlx::query(
                "WITH doc AS (INSERT INTO stored_documents (content, size_bytes)
                               VALUES ('%PDF-1.7', 8) RETURNING id)
                 UPDATE amendments SET status = 'approved', approve = true, proposed_at = now(),
                        proposed_by = (SELECT id FROM users WHERE email = 'pruefung@demo.foerderportal.example'),
                        settled_by = $2, settled_at = now(), notice_id = (SELECT id FROM doc)
                 WHERE id = $1",
            )
            .bind(id)
            .bind(other_reviewer)
            .execute(&app.pool)
            .await
            .unwrap();
        }
        ids.push(id);
    }
    (ids[1], ids[0])
}

/// The proof of use of `grant` with one receipt and one file, submitted.
async fn submitted_proof(app: &TestApp, grant: i64) -> (i64, i64, i64) {
    let clerk = app.sign_in_as(Role::Clerk).await;
    let saved = clerk
        .submit(
            &format!("/antraege/{grant}/verwendungsnachweis/sachbericht"),
            "form[action$='/sachbericht']",
            &[("work_done", "Umgesetzt")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let ids: (i64,) = sqlx::query_as("SELECT id FROM proofs WHERE application_id = $1")
        .bind(grant)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let receipt: i64 = sqlx::query_scalar(
        "INSERT INTO proof_receipts (proof_id, paid_on, payee, purpose, cost_position, amount_cents)
         VALUES ($1, current_date, 'Firma', 'Rechnung', 1, 100) RETURNING id",
    )
    .bind(ids.0)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let uploaded = crate::proofs::upload(
        &clerk,
        &format!("/antraege/{grant}/verwendungsnachweis/anlagen"),
        "Abnahme.pdf",
    )
    .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let file: i64 = sqlx::query_scalar("SELECT id FROM proof_attachments WHERE proof_id = $1")
        .bind(ids.0)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE proofs SET status = 'submitted', submitted_at = now() WHERE id = $1")
        .bind(ids.0)
        .execute(&app.pool)
        .await
        .unwrap();
    (ids.0, receipt, file)
}

/// A draft of the demo clerk's municipality with one uploaded file.
async fn application_with_file(app: &TestApp) -> (i64, i64) {
    let clerk = app.sign_in_as(Role::Clerk).await;
    let application = crate::applications::start(&clerk).await;
    let uploaded = crate::applications::upload(
        &clerk,
        application,
        "extra",
        "a.pdf",
        crate::applications::PDF,
    )
    .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER);
    let attachment =
        sqlx::query_scalar("SELECT id FROM application_attachments WHERE application_id = $1")
            .bind(application)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    (application, attachment)
}

fn concrete(path: &str, objects: &Objects) -> String {
    let file = if path.contains("/verwendungsnachweis") {
        objects.proof_file
    } else if path.contains("/belege/") {
        objects.receipt
    } else if path.starts_with("/pruefung/") {
        objects.case_file
    } else {
        objects.attachment
    };
    let path = path
        .replace("{section}", "vorhaben")
        .replace("{file}", &file.to_string())
        .replace("{payout}", &objects.payout.to_string())
        .replace("{round}", &objects.round.to_string());
    // A notice exists for the decided change only.
    let amendment = if path.ends_with("/bescheid.pdf") {
        objects.decided_amendment
    } else {
        objects.amendment
    };
    let path = path
        .replace("{amendment}", &amendment.to_string())
        .replace("{receipt}", &objects.proof_receipt.to_string());
    let id = if path.starts_with("/pruefung/mittelabrufe/") {
        objects.payout
    } else if path.starts_with("/pruefung/aenderungen/") {
        amendment
    } else if path.starts_with("/pruefung/verwendungsnachweise/") {
        objects.proof
    } else if path.starts_with("/pruefung/zahllaeufe/") {
        objects.run
    } else if path.starts_with("/skizzen/")
        || path.starts_with("/partnersuche/")
        || path.starts_with("/pruefung/skizzen/")
    {
        objects.outline
    } else if path.starts_with("/pruefung/") {
        objects.case
    } else if path.starts_with("/nachnutzung/")
        || path.starts_with("/antraege/")
            && (path.contains("/auszahlungen")
                || path.contains("/aenderungen")
                || path.contains("/verwendungsnachweis")
                || path.contains("/schlussbescheid"))
    {
        objects.grant
    } else if path.starts_with("/antraege/") {
        objects.application
    } else if path.starts_with("/admin/kommunen/") {
        objects.municipality
    } else if path.starts_with("/admin/foerderaufrufe/") {
        objects.round
    } else if path.starts_with("/admin/programm/kategorien/") {
        objects.category
    } else if path.starts_with("/admin/benutzer/") {
        objects.user
    } else if path.starts_with("/admin/postausgang/") {
        objects.message
    } else {
        objects.request
    };
    path.replace("{id}", &id.to_string())
        .replace("{municipality_id}", &objects.municipality.to_string())
}

async fn outline_with_interest(app: &TestApp, interested: i64, user: i64) -> i64 {
    let outline: i64 = sqlx::query_scalar(
        "INSERT INTO outlines (municipality_id, created_by, title, goal, partners_wanted, partners_for,
                 contact_name, contact_email, consultation, consultation_at, in_partner_search)
         SELECT m.id, u.id, 'Bürgerkonto', 'Ein Konto', true, 'Betrieb', 'Digitales',
                'digital@kreis.example', 'requested', now(), true
         FROM municipalities m, users u
         WHERE m.ags = '16065000' AND u.email = 'kommune@demo.foerderportal.example'
         RETURNING id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO outline_interests (outline_id, municipality_id, user_id, message)
         VALUES ($1, $2, $3, 'Interesse')",
    )
    .bind(outline)
    .bind(interested)
    .bind(user)
    .execute(&app.pool)
    .await
    .unwrap();
    outline
}

async fn call(client: &Client, method: &str, path: &str) -> Page {
    match method {
        "GET" => client.get(path).await,
        _ => client.post_with_token(path, &[]).await,
    }
}

fn check(page: &Page, expect: Expect) -> Result<(), String> {
    let status = page.status;
    let to_login = status == StatusCode::SEE_OTHER
        && page
            .location()
            .is_some_and(|l| l.starts_with("/anmelden?next="));
    let ok = match expect {
        Ok => status == StatusCode::OK,
        Login => to_login,
        Forbidden => status == StatusCode::FORBIDDEN && page.text("h1") == "Kein Zugriff",
        Allowed => !to_login && status != StatusCode::FORBIDDEN && !status.is_server_error(),
        Status(code) => status.as_u16() == code,
    };
    if ok {
        Result::Ok(())
    } else {
        Err(format!(
            "expected {expect:?}, got {status} (location {:?})",
            page.location()
        ))
    }
}

#[tokio::test]
async fn every_role_gets_exactly_the_access_the_matrix_says() {
    let app = TestApp::spawn().await;
    let objects = objects(&app).await;
    let clients = [
        ("anonymous", app.client()),
        (
            "clerk of Kyffhäuserkreis",
            app.sign_in_as(Role::Clerk).await,
        ),
        ("clerk of Jena", crate::applications::jena_clerk(&app).await),
        ("reviewer", app.sign_in_as(Role::Reviewer).await),
        ("admin", app.sign_in_as(Role::Admin).await),
    ];
    let mut failures = Vec::new();
    for route in MATRIX {
        let path = concrete(route.path, &objects);
        for ((who, client), expect) in clients.iter().zip(route.expect) {
            let page = call(client, route.method, &path).await;
            if let Err(problem) = check(&page, expect) {
                failures.push(format!("{} {path} as {who}: {problem}", route.method));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "access matrix violations:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn unknown_objects_answer_404_even_for_admins() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in_as(Role::Admin).await;
    for route in MATRIX.iter().filter(|r| r.path.contains("{id}")) {
        let path = route
            .path
            .replace("{id}", "987654321")
            .replace("{section}", "vorhaben")
            .replace("{file}", "987654321")
            .replace("{payout}", "987654321")
            .replace("{amendment}", "987654321")
            .replace("{receipt}", "987654321")
            .replace("{municipality_id}", "987654321");
        let page = call(&admin, route.method, &path).await;
        assert_eq!(
            page.status,
            StatusCode::NOT_FOUND,
            "{} {path}",
            route.method
        );
        let garbage = call(&admin, route.method, &route.path.replace("{id}", "abc")).await;
        assert!(
            garbage.status.is_client_error() && garbage.status != StatusCode::FORBIDDEN,
            "{} {} with a bad id",
            route.method,
            route.path
        );
    }
}

#[test]
fn every_route_is_in_the_access_matrix() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut routes = BTreeSet::new();
    collect_routes(&src, &mut routes);
    assert!(routes.len() > 10, "found only {routes:?}");
    let in_matrix: BTreeSet<&str> = MATRIX.iter().map(|r| r.path).collect();
    let missing: Vec<_> = routes
        .iter()
        .filter(|r| !in_matrix.contains(r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a row in tests/portal/access.rs: {missing:?}"
    );
}

/// Every path given to `.route(` in the source tree.
fn collect_routes(dir: &std::path::Path, into: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_routes(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split(".route(").skip(1) {
                let rest = piece.trim_start();
                if let Some(literal) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                    into.insert(literal.to_string());
                }
            }
        }
    }
}

/// NUL bytes, control characters, broken UTF-8 and very long values in every form field get a
/// German message or a 4xx, never a 500.
#[tokio::test]
async fn hostile_input_never_causes_a_server_error() {
    let app = TestApp::spawn().await;
    let objects = objects(&app).await;
    let admin = app.sign_in_as(Role::Admin).await;
    let long = "ü".repeat(50_000);
    let hostile = [
        "a\0b",
        "x\u{1}\u{1b}[31m\r\nBcc: y@evil.example",
        "\u{fffe}\u{202e}",
        long.as_str(),
        "%FF%FE",
    ];
    let round_fields: &[&str] = &[
        "title",
        "year",
        "budget",
        "opens_date",
        "opens_time",
        "closes_date",
        "closes_time",
        "max_rate",
        "min_grant",
        "max_grant",
        "financing_type",
        "category",
        "attachments",
        "conditions",
        "retained",
        "payout_window",
        "budget_years",
        "change_shift",
        "proof_due",
    ];
    let municipality_fields: &[&str] = &[
        "name",
        "kind",
        "ags",
        "ars",
        "street",
        "postal_code",
        "city",
        "active",
    ];
    let programme_fields: &[&str] = &[
        "name",
        "short_name",
        "legal_basis",
        "description",
        "eligibility",
        "contact_name",
        "contact_email",
    ];
    let category_fields: &[&str] = &["code", "title", "description", "retired"];
    let legal_fields: &[&str] = &[
        "letterhead",
        "legal_remedy",
        "standard_conditions",
        "signature_line",
        "publisher",
        "represented_by",
        "vat_id",
        "dpo_contact",
    ];
    let forms: [(&str, &[&str]); 23] = [
        ("/admin/programm", programme_fields),
        (
            "/admin/programm/auszahlungskonto",
            &["debtor_name", "debtor_iban", "debtor_bic"],
        ),
        ("/admin/programm/zinsen", &["margin", "base_rates"]),
        ("/admin/programm/rechtstexte/vorschau", legal_fields),
        ("/admin/programm/rechtstexte", legal_fields),
        ("/admin/programm/kategorien/neu", category_fields),
        ("/admin/programm/kategorien/{id}", category_fields),
        ("/admin/foerderaufrufe/neu", round_fields),
        ("/admin/foerderaufrufe/{id}", round_fields),
        ("/admin/kommunen/{id}", municipality_fields),
        ("/anmelden", &["email", "password", "next"]),
        ("/passwort-vergessen", &["email"]),
        (
            "/zugang-beantragen",
            &["name", "email", "municipality", "function"],
        ),
        ("/einladung", &["token", "password", "confirmation"]),
        ("/konto/passwort", &["current", "password", "confirmation"]),
        ("/konto/zweiter-faktor", &["secret", "code", "password"]),
        (
            "/konto/zweiter-faktor/neue-app",
            &["secret", "code", "current_code", "password"],
        ),
        (
            "/konto/zweiter-faktor/neue-codes",
            &["codes_code", "codes_password"],
        ),
        (
            "/konto/zweiter-faktor/entfernen",
            &["remove_code", "remove_password"],
        ),
        (
            "/admin/benutzer/neu",
            &["name", "email", "role", "municipality"],
        ),
        ("/admin/benutzer/{id}/rolle", &["role", "municipality"]),
        ("/admin/zugangsantraege/{id}/ablehnen", &["reason"]),
        ("/admin/postausgang/{id}/erneut-senden", &["x"]),
    ];
    let mut failures = Vec::new();
    for (path, fields) in forms {
        let path = concrete(path, &objects);
        for value in hostile {
            let values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, value)).collect();
            let page = admin.post_with_token(&path, &values).await;
            if page.status.is_server_error() {
                failures.push(format!(
                    "POST {path} with {:?}…: {}",
                    value.chars().take(12).collect::<String>(),
                    page.status
                ));
            }
        }
    }
    // The clerk's application forms, every field of every section; the withdrawal last.
    let clerk = app.sign_in_as(Role::Clerk).await;
    let application_forms: [(&str, &[&str]); 6] = [
        (
            "antragsteller",
            &[
                "contact_name",
                "contact_function",
                "contact_phone",
                "contact_email",
                "account_holder",
                "iban",
                "version",
            ],
        ),
        (
            "vorhaben",
            &[
                "title",
                "category",
                "summary",
                "description",
                "goals",
                "start_date",
                "end_date",
                "started",
                "started_explanation",
                "version",
                "action",
            ],
        ),
        (
            "verbund",
            &[
                "reuse",
                "standards",
                "licence",
                "documentation",
                "partner_id",
                "action",
                "version",
            ],
        ),
        (
            "kosten",
            &[
                "cost-0-kind",
                "cost-0-description",
                "cost-0-year",
                "cost-0-amount",
                "cost-0-eligible",
                "cost-99-amount",
                "own_share",
                "third_party",
                "other_public",
                "grant",
                "action",
                "version",
            ],
        ),
        (
            "erklaerungen",
            &[
                "start_status",
                "vat",
                "budget_cover",
                "correct",
                "privacy",
                "version",
            ],
        ),
        ("zurueckziehen", &["reason"]),
    ];
    for (section, fields) in application_forms {
        let path = format!("/antraege/{}/{section}", objects.application);
        for value in hostile {
            let mut values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, value)).collect();
            if fields.contains(&"version") {
                // Also as a save that is not refused as a conflict.
                values.retain(|(f, _)| *f != "version");
                values.push(("version", "0"));
            }
            let page = clerk.post_with_token(&path, &values).await;
            if page.status.is_server_error() {
                failures.push(format!("POST {path}: {}", page.status));
            }
        }
    }
    // The municipality's message to the ministry on its submitted case.
    for value in hostile {
        let path = format!("/antraege/{}/nachrichten", objects.case);
        let page = clerk.post_with_token(&path, &[("body", value)]).await;
        if page.status.is_server_error() {
            failures.push(format!("POST {path}: {}", page.status));
        }
    }
    // The catalogue: the owner's consent, and a visitor's request for reuse.
    let visitor = app.client();
    for value in hostile {
        let consent = format!("/antraege/{}/katalog", objects.grant);
        let fields = ["summary", "reuse", "technologies", "mailbox", "action"];
        let values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, value)).collect();
        let request = format!("/nachnutzung/{}/anfrage", objects.grant);
        let fields = ["name", "email", "municipality", "message"];
        let asked: Vec<(&str, &str)> = fields.iter().map(|f| (*f, value)).collect();
        for (path, page) in [
            (&consent, clerk.post_with_token(&consent, &values).await),
            (&request, visitor.post_with_token(&request, &asked).await),
        ] {
            if page.status.is_server_error() {
                failures.push(format!("POST {path}: {}", page.status));
            }
        }
    }
    // The Mittelabruf, every field (the payment rows repeated), with another account.
    for value in hostile {
        let path = format!("/antraege/{}/auszahlungen", objects.grant);
        let mut values: Vec<(&str, &str)> = [
            "amount",
            "purpose-1",
            "payee-1",
            "due_on-1",
            "item_amount-1",
            "purpose-9",
            "purpose-1",
            "account_holder",
            "iban",
            "account_reason",
            "declaration",
        ]
        .iter()
        .map(|f| (*f, value))
        .collect();
        values.push(("account", "other"));
        let page = clerk.post_with_token(&path, &values).await;
        if page.status.is_server_error() {
            failures.push(format!("POST {path}: {}", page.status));
        }
    }
    // The Änderungsantrag, every field (rows beyond the plan included). An open change
    // refuses a second one before the fields are read, so withdraw it first.
    sqlx::query("UPDATE amendments SET status = 'withdrawn' WHERE id = $1")
        .bind(objects.amendment)
        .execute(&app.pool)
        .await
        .unwrap();
    for value in hostile {
        let path = format!("/antraege/{}/aenderungen", objects.grant);
        let values: Vec<(&str, &str)> = [
            "period_end",
            "reason",
            "submission",
            "cost-0-kind",
            "cost-0-description",
            "cost-0-year",
            "cost-0-amount",
            "cost-0-eligible",
            "cost-7-amount",
            "cost-99999999999999999999-amount",
        ]
        .iter()
        .map(|f| (*f, value))
        .collect();
        let page = clerk.post_with_token(&path, &values).await;
        if page.status.is_server_error() {
            failures.push(format!("POST {path}: {}", page.status));
        }
    }
    // The proof of use's forms, every field, on the proof back in the municipality's hands.
    sqlx::query("UPDATE proofs SET status = 'changes_requested' WHERE id = $1")
        .bind(objects.proof)
        .execute(&app.pool)
        .await
        .unwrap();
    let proof_forms: [(&str, &[&str]); 3] = [
        (
            "sachbericht",
            &[
                "work_done",
                "results",
                "deviations",
                "reuse_users",
                "reuse_howto",
            ],
        ),
        (
            "belege",
            &["paid_on", "payee", "purpose", "cost_position", "amount"],
        ),
        (
            "finanzierung",
            &[
                "own_share",
                "third_party",
                "other_public",
                "procurement",
                "correct",
            ],
        ),
    ];
    for (section, fields) in proof_forms {
        let path = format!("/antraege/{}/verwendungsnachweis/{section}", objects.grant);
        for value in hostile {
            let values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, value)).collect();
            let page = clerk.post_with_token(&path, &values).await;
            if page.status.is_server_error() {
                failures.push(format!("POST {path}: {}", page.status));
            }
        }
    }
    for value in hostile {
        let page = crate::proofs::import(&clerk, objects.grant, value.as_bytes().to_vec()).await;
        if page.status.is_server_error() {
            failures.push(format!("CSV import of a hostile file: {}", page.status));
        }
    }
    sqlx::query("UPDATE proofs SET status = 'submitted' WHERE id = $1")
        .bind(objects.proof)
        .execute(&app.pool)
        .await
        .unwrap();
    // The reviewers' forms on a submitted case and on a payout request, the run form, and the
    // filters of the dashboard and the payout queue.
    let reviewer = app.sign_in_as(Role::Reviewer).await;
    let payout_forms: [(String, &[&str]); 8] = [
        (
            format!(
                "/pruefung/verwendungsnachweise/{}/nachforderung",
                objects.proof
            ),
            &["message"],
        ),
        (
            format!(
                "/pruefung/verwendungsnachweise/{}/abrechnung",
                objects.proof
            ),
            &[
                "report_complete",
                "receipts_add_up",
                "costs_plausible",
                "procurement_declared",
                "reuse_described",
                "disallowed",
                "note",
            ],
        ),
        (
            format!(
                "/pruefung/verwendungsnachweise/{}/abrechnung/zurueckgeben",
                objects.proof
            ),
            &["message"],
        ),
        (
            format!("/pruefung/aenderungen/{}/vorschlag", objects.amendment),
            &["outcome", "note"],
        ),
        (
            format!("/pruefung/aenderungen/{}/zurueckgeben", objects.amendment),
            &["reason"],
        ),
        (
            format!("/pruefung/mittelabrufe/{}/pruefen", objects.payout),
            &["approved", "note"],
        ),
        (
            format!("/pruefung/mittelabrufe/{}/zurueckgeben", objects.payout),
            &["reason"],
        ),
        (
            "/pruefung/zahllaeufe".to_string(),
            &["programme", "execution_date"],
        ),
    ];
    for (path, fields) in &payout_forms {
        for value in hostile {
            let values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, value)).collect();
            let page = reviewer.post_with_token(path, &values).await;
            if page.status.is_server_error() {
                failures.push(format!("POST {path}: {}", page.status));
            }
        }
    }
    let review_forms: [(&str, &[&str]); 8] = [
        ("pruefung-beginnen", &["x"]),
        ("zuweisen", &["reviewer"]),
        (
            "pruefvermerk",
            &[
                "eligible_applicant-result",
                "eligible_applicant-note",
                "costs_plausible-note",
            ],
        ),
        ("nachforderung", &["message", "section", "deadline"]),
        ("notizen", &["body"]),
        ("nachrichten", &["nachricht"]),
        (
            "entscheidung",
            &[
                "outcome",
                "granted",
                "eligible",
                "reason",
                "period_start",
                "period_end",
                "conditions",
                "year-2027",
                "year-2028",
            ],
        ),
        ("entscheidung/zurueckgeben", &["note"]),
    ];
    for (action, fields) in review_forms {
        let path = format!("/pruefung/antraege/{}/{action}", objects.case);
        for value in hostile {
            let values: Vec<(&str, &str)> = fields.iter().map(|f| (*f, value)).collect();
            let page = reviewer.post_with_token(&path, &values).await;
            if page.status.is_server_error() {
                failures.push(format!("POST {path}: {}", page.status));
            }
        }
    }
    // (Addresses have a length limit of their own: the 50 000 characters go in forms only.)
    for value in hostile.iter().filter(|v| v.len() < 1000) {
        let query: Vec<(&str, &str)> = [
            "runde",
            "status",
            "kategorie",
            "landkreis",
            "kommune",
            "zuweisung",
            "betrag_von",
            "betrag_bis",
            "eingereicht_von",
            "eingereicht_bis",
            "suche",
            "sortierung",
            "richtung",
            "nach",
            "fuer_mich",
        ]
        .iter()
        .map(|k| (*k, *value))
        .collect();
        let encoded = serde_urlencoded::to_string(&query).unwrap();
        for page in [
            "/pruefung",
            "/pruefung/export.csv",
            "/pruefung/statistik",
            "/pruefung/mittelabrufe",
            "/pruefung/auszahlungen",
            "/pruefung/auszahlungen.csv",
        ] {
            let got = reviewer.get(&format!("{page}?{encoded}")).await;
            if got.status.is_server_error() {
                failures.push(format!("GET {page} with hostile filters: {}", got.status));
            }
        }
    }
    // Broken UTF-8 in the raw body.
    let token = admin
        .get("/anmelden")
        .await
        .attr("input[name=csrf_token]", "value")
        .unwrap();
    let raw = admin
        .http
        .post(app.url("/admin/benutzer/neu"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            [
                format!("csrf_token={token}&name=").into_bytes(),
                vec![0xff, 0xfe, 0x00],
                b"&email=a@b.de".to_vec(),
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    if raw.status().is_server_error() {
        failures.push(format!("raw broken UTF-8: {}", raw.status()));
    }
    for query in [
        "/admin/kommunen?q=%00",
        "/admin/benutzer?q=%00%FF",
        "/anmelden?next=%00",
        "/admin/postausgang?status=%00",
    ] {
        let page = admin.get(query).await;
        if page.status.is_server_error() {
            failures.push(format!("GET {query}: {}", page.status));
        }
    }
    assert!(
        failures.is_empty(),
        "server errors:\n{}",
        failures.join("\n")
    );
}
