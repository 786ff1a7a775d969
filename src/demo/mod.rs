//! Demo data for looking around locally: an open round of the ThürEGovRL and one account per
//! role. Loaded automatically only into the local default database when it is empty, or by the
//! explicit `demo-data` command; idempotent (existing rows are left alone).

mod after_award;
pub mod first_round;
mod grant;
mod history;
mod visitor;

use anyhow::Context;
use jiff::ToSpan;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::accounts::db::{self as accounts, NewUser};
use crate::accounts::password::Hasher;
use crate::accounts::{Role, model::EmailAddress};
use crate::applications::model::Status;
use crate::config::Config;
use crate::locale;
use crate::money::Cents;
use crate::municipalities::db as municipalities;
use crate::programmes::db::{self as programmes, NewRound};
use crate::programmes::legal_texts::LegalTexts;
use crate::programmes::model::{FinancingType, RoundState};
use crate::state::AppState;

/// Shared by all demo accounts; long enough for the password rules of the accounts issue.
pub const DEMO_PASSWORD: &str = "Demo-Passwort-2026";

pub struct DemoAccount {
    pub email: &'static str,
    pub name: &'static str,
    pub role: Role,
    /// AGS of the clerk's municipality.
    pub municipality_ags: Option<&'static str>,
}

pub const DEMO_ACCOUNTS: [DemoAccount; 4] = [
    DemoAccount {
        email: "kommune@demo.foerderportal.example",
        name: "Karla Kommunal (Kyffhäuserkreis)",
        role: Role::Clerk,
        municipality_ags: Some("16065000"),
    },
    DemoAccount {
        email: "pruefung@demo.foerderportal.example",
        name: "Paul Prüfer (TFM)",
        role: Role::Reviewer,
        municipality_ags: None,
    },
    // A second reviewer: decisions need someone else's confirmation.
    DemoAccount {
        email: "zweitpruefung@demo.foerderportal.example",
        name: "Paula Zweitprüferin (TFM)",
        role: Role::Reviewer,
        municipality_ags: None,
    },
    DemoAccount {
        email: "admin@demo.foerderportal.example",
        name: "Anna Admin (TFM)",
        role: Role::Admin,
        municipality_ags: None,
    },
];

/// Loads the demo data at startup where that is safe: see
/// [`Config::may_load_demo_data_automatically`]; and only into a database without accounts and
/// rounds. Returns whether it did; then the caller loads the rest through the pages
/// ([`load_through_pages`]).
pub async fn load_on_first_start(
    config: &Config,
    pool: &PgPool,
    hasher: &Hasher,
) -> anyhow::Result<bool> {
    if !config.may_load_demo_data_automatically() || !is_empty(pool).await? {
        return Ok(false);
    }
    load(pool, hasher).await?;
    tracing::info!("loaded demo data into the empty local database");
    Ok(true)
}

/// True when nothing but reference data is there yet: no accounts and no rounds.
pub async fn is_empty(pool: &PgPool) -> anyhow::Result<bool> {
    let mut conn = pool.acquire().await?;
    Ok(accounts::count_users(&mut conn).await? == 0
        && programmes::count_rounds(&mut conn).await? == 0)
}

pub async fn load(pool: &PgPool, hasher: &Hasher) -> anyhow::Result<()> {
    let password_hash = hasher.hash(DEMO_PASSWORD.to_string()).await?;
    let mut tx = pool.begin().await?;
    for account in &DEMO_ACCOUNTS {
        let municipality_id = match account.municipality_ags {
            Some(ags) => Some(
                municipalities::id_by_ags(&mut tx, ags)
                    .await?
                    .with_context(|| format!("municipality {ags} missing"))?,
            ),
            None => None,
        };
        let email: EmailAddress = account.email.parse().map_err(anyhow::Error::msg)?;
        accounts::insert_user(
            &mut tx,
            NewUser {
                email: &email,
                display_name: account.name,
                password_hash: Some(&password_hash),
                roles: &[account.role],
                municipality_id,
            },
        )
        .await?;
    }

    if programmes::count_rounds(&mut tx).await? == 0 {
        let programme_id = programmes::programme_id_by_short_name(&mut tx, "ThürEGovRL")
            .await?
            .context("the ThürEGovRL programme is missing; run the migrations")?;
        let (opens_at, closes_at, year) = demo_window()?;
        let round_id = programmes::insert_round(
            &mut tx,
            NewRound {
                programme_id,
                title: &format!("Förderaufruf {year}"),
                year,
                budget_cents: Cents::from_euros(10_000_000).get(),
                opens_at,
                closes_at,
                max_rate_bp: 8000,
                min_grant_cents: Cents::from_euros(5_000).get(),
                max_grant_cents: Some(Cents::from_euros(200_000).get()),
                financing_type: FinancingType::Share,
                state: RoundState::Published,
                retained_bp: 1000,
                payout_window_months: 2,
                change_shift_bp: 2000,
                proof_due_months: 6,
                category_codes: &["2a", "2b", "2c", "2d", "2e", "2f", "2g"],
                conditions_template: None,
            },
        )
        .await?;
        let required = |name: &str| programmes::AttachmentType {
            name: name.into(),
            required: true,
        };
        let attachments = [
            required("Beschluss des zuständigen Gremiums zum Eigenanteil"),
            required("Kostenschätzung oder Angebote"),
            programmes::AttachmentType {
                name: "Kooperationsvereinbarung mit den Partnerkommunen".into(),
                required: false,
            },
        ];
        programmes::set_attachment_types(&mut tx, round_id, &attachments).await?;
    }
    // Only where nobody has entered any yet.
    if programmes::legal_texts(&mut tx).await? == LegalTexts::default() {
        let programme = programmes::main_programme(&mut tx)
            .await?
            .context("the programme")?;
        programmes::save_legal_texts(&mut tx, programme.id, &legal_texts()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Rechtstexte as an operator would enter them, so that the demo can issue notices. A real
/// deployment starts without any: its admins enter the binding texts.
fn legal_texts() -> LegalTexts {
    let text = |s: &str| s.to_string();
    LegalTexts {
        letterhead: text(
            "Thüringer Finanzministerium\nReferat E-Government und IT in Thüringer Kommunen\nLudwig-Erhard-Ring 7 · 99099 Erfurt · egovernment@tfm.thueringen.de",
        ),
        legal_remedy: text(
            "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Klage beim Verwaltungsgericht Weimar, Jenaer Straße 2a, 99425 Weimar, schriftlich oder zur Niederschrift der Urkundsbeamtin oder des Urkundsbeamten der Geschäftsstelle erhoben werden. Die Klage kann auch elektronisch nach Maßgabe des § 55a der Verwaltungsgerichtsordnung erhoben werden.",
        ),
        standard_conditions: text(
            "Die Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung an Gebietskörperschaften und Zusammenschlüsse von Gebietskörperschaften (ANBest-Gk) sind Bestandteil dieses Bescheides.",
        ),
        signature_line: text("Referat E-Government und IT in Thüringer Kommunen"),
        publisher: text(
            "Freistaat Thüringen, vertreten durch das\nThüringer Finanzministerium\nLudwig-Erhard-Ring 7\n99099 Erfurt",
        ),
        represented_by: text(
            "Das Thüringer Finanzministerium wird vertreten durch die Thüringer Finanzministerin.",
        ),
        responsible_unit: text(
            "Thüringer Finanzministerium, Referat E-Government und IT in Thüringer Kommunen\nLudwig-Erhard-Ring 7\n99099 Erfurt",
        ),
        content_responsible: text(
            "Die Leiterin oder der Leiter des Referats E-Government und IT in Thüringer Kommunen, Thüringer Finanzministerium, Ludwig-Erhard-Ring 7, 99099 Erfurt",
        ),
        vat_id: String::new(),
        hosting_provider: text(
            "Thüringer Landesrechenzentrum, Erfurt (Auftragsverarbeitung nach Art. 28 DSGVO)",
        ),
        dpo_contact: text(
            "Die oder der behördliche Datenschutzbeauftragte des Thüringer Finanzministeriums, Ludwig-Erhard-Ring 7, 99099 Erfurt, datenschutz@tfm.thueringen.de",
        ),
        account_retention: text("sechs Monate nach der Deaktivierung"),
        record_retention: text("zehn Jahre nach Abschluss der Verwendungsnachweisprüfung"),
    }
}

/// Everything of the demo that goes through the portal's pages (after [`load`]): the grants
/// after the award, then the worked-in first round. Both need the whole app (see
/// [`load_lived_in`]).
pub async fn load_through_pages(state: &AppState) -> anyhow::Result<()> {
    load_lived_in(state).await?;
    first_round::load(state).await
}

/// What makes the demo look used after the award (after [`load`]): Jena's, Weimar's and the
/// Landkreis Gotha's grants with payouts, proofs and a settlement, and the demo clerk's grant
/// with its notice, payouts in every state and changes. Filed and worked through the portal's
/// own pages (see `grant`), then dated back (`history`). Skipped when they exist already.
pub async fn load_lived_in(state: &AppState) -> anyhow::Result<()> {
    let mut conn = state.db.acquire().await?;
    let exists: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM applications WHERE title = $1) AS "exists!""#,
        after_award::E_AKTE.title
    )
    .fetch_one(&mut *conn)
    .await?;
    let (round, year, _, programme) = grant::demo_round(&mut conn).await?;
    drop(conn);
    if exists {
        return Ok(());
    }
    let mut office = grant::Office {
        state,
        ministry: visitor::Ministry::sign_in(state).await?,
        round: (round, year),
        programme,
    };
    office.debtor_account().await?;
    // First: each payment run takes the programme's ordered payouts, and the demo clerk's
    // grant keeps one ordered.
    after_award::load(&mut office).await?;
    let mut clerk = visitor::signed_in(state, "kommune@demo.foerderportal.example").await?;
    let grant = grant::load(&mut office, &mut clerk).await?;
    after_award::changes(&mut office, &mut clerk, grant).await
}

/// Open since the start of this month, closing at 23:59 Berlin time on the last day of the month
/// four months ahead, so the demo round is open whenever the demo is run.
fn demo_window() -> anyhow::Result<(OffsetDateTime, OffsetDateTime, i32)> {
    let today = jiff::Zoned::now()
        .with_time_zone(locale::berlin().clone())
        .date();
    let opens = today.first_of_month().to_zoned(locale::berlin().clone())?;
    let last_day = today.checked_add(4.months())?.last_of_month();
    let closes = last_day
        .at(23, 59, 0, 0)
        .to_zoned(locale::berlin().clone())?;
    let to_time = |z: &jiff::Zoned| OffsetDateTime::from_unix_timestamp(z.timestamp().as_second());
    Ok((
        to_time(&opens)?,
        to_time(&closes)?,
        i32::from(last_day.year()),
    ))
}

/// Generates `count` submitted applications in the demo round, spread over all active
/// municipalities, its open categories, amounts, statuses and the last twelve months; a share is
/// assigned to the demo reviewer and, within the budget, approved. For load tests and
/// benchmarks (`demo-data --applications 100000`); one statement, so it takes seconds.
pub async fn generate_applications(pool: &PgPool, count: i64) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    let year = jiff::Zoned::now()
        .with_time_zone(locale::berlin().clone())
        .year();
    let first: i32 = sqlx::query_scalar!(
        "INSERT INTO reference_counters (year, last) VALUES ($1, 0)
         ON CONFLICT (year) DO UPDATE SET last = reference_counters.last RETURNING last",
        i32::from(year),
    )
    .fetch_one(&mut *tx)
    .await?;
    let inserted = sqlx::query!(
        "WITH round AS (
             SELECT r.id, r.budget_cents - r.granted_cents AS free,
                    array_agg(c.code ORDER BY c.code) AS codes
             FROM rounds r JOIN round_categories rc ON rc.round_id = r.id JOIN categories c ON c.id = rc.category_id
             WHERE r.state = $5 GROUP BY r.id ORDER BY r.id LIMIT 1),
         places AS (SELECT array_agg(id ORDER BY id) AS ids FROM municipalities WHERE active),
         people AS (SELECT (SELECT id FROM users WHERE $6 = ANY (roles) ORDER BY id LIMIT 1) AS clerk,
                           (SELECT id FROM users WHERE $7 = ANY (roles) ORDER BY id LIMIT 1) AS reviewer),
         generated AS (
             SELECT g, round.id AS round_id, round.codes[1 + g % cardinality(round.codes)] AS code,
                    places.ids[1 + (g * 7919) % cardinality(places.ids)] AS municipality_id,
                    (g * 104729) % 97 AS pick,
                    1000000 + ((g * 7907) % 40000) * 500 AS requested,
                    now() - ((g * 6151) % 525600) * interval '1 minute' AS submitted_at,
                    people.clerk, people.reviewer
             FROM generate_series(1, $1::bigint) g, round, places, people)
         INSERT INTO applications (round_id, municipality_id, status, reference, title, category_code,
                 total_cost_cents, eligible_cost_cents, requested_grant_cents, created_by, created_at,
                 updated_at, submitted_at, search_text, district_id, assigned_to)
         SELECT n.round_id, n.municipality_id,
                ($4::text[])[CASE WHEN n.pick < 50 THEN 1 WHEN n.pick < 80 THEN 2 WHEN n.pick < 88 THEN 3
                                  WHEN n.pick < 93 THEN 4 WHEN n.pick < 96 THEN 5 ELSE 6 END],
                -- lpad cuts longer strings: numbers past 9999 keep all their digits.
                'EGOV-' || $2 || '-' || lpad(($3 + n.g)::text, greatest(4, length(($3 + n.g)::text)), '0'),
                (ARRAY['Digitales', 'Gemeinsames', 'Interkommunales', 'Zentrales', 'Offenes'])[1 + n.g % 5] || ' ' ||
                (ARRAY['Bürgerbüro', 'Rechnungseingangsportal', 'Dokumentenmanagement', 'Ratsinformationssystem',
                       'Schulnetz', 'Terminmanagement', 'Bauantragsverfahren', 'Informationssicherheitskonzept',
                       'Fachverfahren Meldewesen', 'E-Akte'])[1 + (n.g / 5) % 10],
                n.code, n.requested * 5 / 4, n.requested * 5 / 4, n.requested, n.clerk, n.submitted_at,
                n.submitted_at, n.submitted_at,
                m.name || ' Einführung und Betrieb gemeinsam mit Nachbarkommunen, Schnittstellen nach XÖV-Standard',
                coalesce(m.parent_id, m.id),
                CASE WHEN n.pick % 3 = 0 THEN n.reviewer END
         FROM generated n JOIN municipalities m ON m.id = n.municipality_id",
        count,
        i32::from(year).to_string(),
        i64::from(first),
        [
        Status::Submitted,
        Status::InReview,
        Status::ChangesRequested,
        Status::DecisionProposed,
        Status::Rejected,
        Status::Withdrawn,
    ] as _,
        RoundState::Published as _,
        Role::Clerk as _,
        Role::Reviewer as _,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "UPDATE reference_counters SET last = last + $2 WHERE year = $1",
        i32::from(year),
        i32::try_from(inserted)?,
    )
    .execute(&mut *tx)
    .await?;
    decide_some(&mut tx).await?;
    tx.commit().await?;
    // What autovacuum would do soon after: fresh statistics, and a visibility map that lets
    // counts read the indexes alone.
    sqlx::query!("VACUUM ANALYZE applications")
        .execute(pool)
        .await?;
    Ok(inserted)
}

/// Of the generated rejections, approves every second one (oldest first) while 90 % of the
/// round's budget lasts; all of them get a decision date.
async fn decide_some(tx: &mut sqlx::PgConnection) -> sqlx::Result<()> {
    sqlx::query!(
        "WITH candidates AS (
             SELECT a.id, a.round_id, a.requested_grant_cents,
                    sum(a.requested_grant_cents) OVER (ORDER BY a.submitted_at, a.id) AS running
             FROM applications a
             WHERE a.status = $1 AND a.id % 2 = 0),
         budget AS (SELECT r.id, r.budget_cents - r.granted_cents AS free FROM rounds r),
         chosen AS (
             SELECT c.* FROM candidates c JOIN budget b ON b.id = c.round_id WHERE c.running <= b.free * 9 / 10),
         approved AS (
             UPDATE applications a SET status = $2, granted_cents = a.requested_grant_cents,
                    decided_at = a.submitted_at + interval '40 days'
             FROM chosen WHERE a.id = chosen.id RETURNING a.round_id, a.granted_cents)
         UPDATE rounds r SET granted_cents = r.granted_cents + s.total
         FROM (SELECT round_id, sum(granted_cents) AS total FROM approved GROUP BY round_id) s
         WHERE r.id = s.round_id",
        Status::Rejected as _,
        Status::Approved as _,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE applications SET decided_at = submitted_at + interval '30 days'
         WHERE status = $1 AND decided_at IS NULL",
        Status::Rejected as _,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
