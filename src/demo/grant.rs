//! A lived-in grant for the demo: the demo clerk's municipality has an approved application
//! with its notice, and payout requests in every state of the procedure — one paid through a
//! payment run, one ordered, one checked and waiting for the second signature, one to check,
//! one sent back. Written through the same database functions the pages use (without mail).

use anyhow::Context;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use crate::applications::db as applications;
use crate::applications::forms::Answers;
use crate::applications::model::{Section, Status, Transition};
use crate::applications::sample;
use crate::locale;
use crate::money::Cents;
use crate::payouts::db::{self as payouts, Change, Item, NewPayout, NewRun};
use crate::payouts::model::{PayoutStatus, PayoutTransition};
use crate::payouts::sepa;
use crate::programmes::model::RoundState;
use crate::review::db::{self as decisions, NewDecision};
use crate::review::model::{DecisionState, Outcome};
use crate::review::notice::{self, Notice};

const GRANTED: Cents = Cents::from_euros(80_000);

/// A demo project: what it is called and when it happened, in days before today (negative:
/// after today).
#[derive(Clone, Copy)]
pub(super) struct Project {
    pub title: &'static str,
    pub submitted: i64,
    pub decided: i64,
    pub start: i64,
    pub end: i64,
}

impl Project {
    fn day(days_ago: i64) -> time::Date {
        locale::today() - Duration::days(days_ago)
    }

    pub fn period(&self) -> (time::Date, time::Date) {
        (Self::day(self.start), Self::day(self.end))
    }
}

/// The demo clerk's grant: approved forty days ago, its project started a month ago.
const BUERGERBUERO: Project = Project {
    title: "Digitales Bürgerbüro",
    submitted: 70,
    decided: 40,
    start: 30,
    end: -335,
};

/// The account the demo programme pays from (Helaba, Erfurt; a made-up account number).
const DEBTOR_IBAN: &str = "DE25820500003004444040";

pub(super) struct People {
    pub clerk: i64,
    pub reviewer: i64,
    pub second_reviewer: i64,
}

pub(super) async fn people(conn: &mut PgConnection) -> anyhow::Result<People> {
    let mut ids = Vec::new();
    for email in [
        "kommune@demo.foerderportal.example",
        "pruefung@demo.foerderportal.example",
        "zweitpruefung@demo.foerderportal.example",
    ] {
        let user: i64 = sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", email)
            .fetch_optional(&mut *conn)
            .await?
            .with_context(|| format!("demo account {email} missing"))?;
        ids.push(user);
    }
    Ok(People {
        clerk: ids[0],
        reviewer: ids[1],
        second_reviewer: ids[2],
    })
}

/// The demo round: (id, year, title, programme).
pub(super) async fn demo_round(conn: &mut PgConnection) -> anyhow::Result<(i64, i32, String, i64)> {
    let round = sqlx::query!(
        "SELECT id, title, year, programme_id FROM rounds WHERE state = $1 ORDER BY id LIMIT 1",
        RoundState::Published as _,
    )
    .fetch_optional(&mut *conn)
    .await?
    .context("the demo round is missing")?;
    Ok((round.id, round.year, round.title, round.programme_id))
}

/// Loads the grant unless the demo municipality has applications already (idempotent);
/// returns the new grant's id.
pub async fn load(conn: &mut PgConnection) -> anyhow::Result<Option<i64>> {
    let place = sqlx::query!(
        r#"SELECT m.id, m.name, coalesce(m.parent_id, m.id) AS "district!",
                  (SELECT count(*) FROM applications a WHERE a.municipality_id = m.id) AS "applications!"
           FROM municipalities m WHERE m.ags = '16065000'"#
    )
    .fetch_optional(&mut *conn)
    .await?
    .context("the Kyffhäuserkreis is missing from the directory")?;
    if place.applications > 0 {
        return Ok(None);
    }
    let (round_id, round_year, round_title, programme_id) = demo_round(conn).await?;
    let people = people(conn).await?;
    let place_ids = (place.id, place.district);
    let application = approved_application(
        conn,
        &people,
        place_ids,
        (round_id, round_year),
        &BUERGERBUERO,
    )
    .await?;
    issue_notice(
        conn,
        &people,
        application,
        (&place.name, &round_title),
        &BUERGERBUERO,
    )
    .await?;
    sqlx::query!(
        "UPDATE programmes SET debtor_name = 'Freistaat Thüringen', debtor_iban = $2, debtor_bic = 'HELADEFF820'
         WHERE id = $1 AND debtor_iban = ''",
        programme_id,
        DEBTOR_IBAN,
    )
    .execute(&mut *conn)
    .await?;
    payout_history(conn, &people, application, programme_id).await?;
    Ok(Some(application))
}

/// An application with the sample answers of the municipality (and its district), submitted
/// and approved on the project's days, for the round (id, year).
pub(super) async fn approved_application(
    conn: &mut PgConnection,
    people: &People,
    (municipality, district): (i64, i64),
    (round, year): (i64, i32),
    project: &Project,
) -> anyhow::Result<i64> {
    let now = OffsetDateTime::now_utc();
    let submitted = now - Duration::days(project.submitted);
    let decided = now - Duration::days(project.decided);
    let id = applications::create(conn, round, municipality, people.clerk).await?;
    let (start, end) = (
        now - Duration::days(project.start),
        now - Duration::days(project.end),
    );
    for section in Section::ALL {
        let mut answers: Answers = sample::answers(section, year)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        if section == Section::Project {
            answers.insert("start_date".into(), locale::iso(start)[..10].to_string());
            answers.insert("end_date".into(), locale::iso(end)[..10].to_string());
            answers.insert("started".into(), "ja".into());
        }
        applications::save_section(conn, id, section, &answers, 0, people.clerk).await?;
    }
    let reference: String = sqlx::query_scalar!(
        r#"WITH n AS (
               INSERT INTO reference_counters (year, last) VALUES ($2, 1)
               ON CONFLICT (year) DO UPDATE SET last = reference_counters.last + 1 RETURNING last)
           UPDATE applications a SET status = $3, reference = 'EGOV-' || $2 || '-' || lpad(n.last::text, 4, '0'),
                  title = $9, category_code = '2c', total_cost_cents = 10000000,
                  eligible_cost_cents = 10000000, requested_grant_cents = $4, granted_cents = $4,
                  submitted_at = $5, decided_at = $6, updated_at = $6, district_id = $7,
                  assigned_to = $8, search_text = 'Ein Bürgerbüro, das online erreichbar ist.'
           FROM n WHERE a.id = $1 RETURNING a.reference AS "reference!""#,
        id,
        submitted.year(),
        Status::Approved as _,
        GRANTED.get(),
        submitted,
        decided,
        district,
        people.reviewer,
        project.title,
    )
    .fetch_one(&mut *conn)
    .await?;
    // Committed like a confirmed approval: against the round's budget and its year.
    let row = applications::find(conn, id)
        .await?
        .context("the demo application")?;
    anyhow::ensure!(
        applications::commit_grant(conn, &row, GRANTED, Some(project.period().1))
            .await?
            .is_ok()
            && applications::commit_years(conn, &row, GRANTED, &[])
                .await?
                .is_ok(),
        "the demo round's budget cannot take the demo grant"
    );
    let steps = [
        (
            Transition::Submit,
            Status::Draft,
            Status::Submitted,
            people.clerk,
            submitted,
        ),
        (
            Transition::StartReview,
            Status::Submitted,
            Status::InReview,
            people.reviewer,
            submitted + Duration::days(6),
        ),
        (
            Transition::ProposeDecision,
            Status::InReview,
            Status::DecisionProposed,
            people.reviewer,
            decided - Duration::days(3),
        ),
        (
            Transition::Approve,
            Status::DecisionProposed,
            Status::Approved,
            people.second_reviewer,
            decided,
        ),
    ];
    timeline(conn, id, &steps).await?;
    tracing::debug!(%reference, "demo grant created");
    Ok(id)
}

/// The application's timeline events, each at its time.
async fn timeline(
    conn: &mut PgConnection,
    id: i64,
    steps: &[(Transition, Status, Status, i64, OffsetDateTime)],
) -> anyhow::Result<()> {
    for (transition, from, to, actor, at) in steps.iter().copied() {
        applications::insert_event_with_details(
            conn,
            id,
            transition.event_kind(),
            Some(actor),
            "",
            Some((from, to)),
            &serde_json::json!({}),
        )
        .await?;
        sqlx::query!(
            "UPDATE application_events SET at = $3 WHERE application_id = $1 AND kind = $2",
            id,
            transition.event_kind(),
            at,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The confirmed decision with its Zuwendungsbescheid, for (municipality, round) names.
pub(super) async fn issue_notice(
    conn: &mut PgConnection,
    people: &People,
    application: i64,
    (municipality, round): (&str, &str),
    project: &Project,
) -> anyhow::Result<()> {
    let row = applications::find(conn, application)
        .await?
        .context("the demo application")?;
    let period = project.period();
    let conditions = "Die ANBest-Gk sind Bestandteil dieses Bescheides.";
    let decision = decisions::propose(
        conn,
        &NewDecision {
            application_id: application,
            outcome: Outcome::Approve,
            granted_cents: Some(GRANTED.get()),
            eligible_cents: Some(10_000_000),
            reason: "",
            period_start: Some(period.0),
            period_end: Some(period.1),
            conditions,
            proposed_by: people.reviewer,
        },
    )
    .await?;
    let notice = Notice {
        approved: true,
        reference: row.reference.clone().unwrap_or_default(),
        date: locale::date(OffsetDateTime::now_utc() - Duration::days(project.decided)),
        addressee: vec![municipality.to_string()],
        title: row.display_title(),
        round: round.to_string(),
        submitted: row.submitted_at.map(locale::date).unwrap_or_default(),
        amount: GRANTED.to_string(),
        rate: "80 %".into(),
        eligible: Cents::new(10_000_000).to_string(),
        financing: "Anteilfinanzierung".into(),
        period: locale::period(Some(period.0), Some(period.1)),
        legal_basis: "ThürEGovRL".into(),
        conditions: conditions.into(),
        reason: String::new(),
        signed_by: "Paula Zweitprüferin (TFM)".into(),
        sender: super::sender(conn).await?,
    };
    let pdf = tokio::task::spawn_blocking(move || notice::render(&notice)).await??;
    decisions::settle(
        conn,
        decision,
        DecisionState::Confirmed,
        people.second_reviewer,
        "",
        Some(&pdf),
    )
    .await?;
    Ok(())
}

/// One request per state, oldest first; the first paid through a run.
async fn payout_history(
    conn: &mut PgConnection,
    people: &People,
    application: i64,
    programme: i64,
) -> anyhow::Result<()> {
    let grant = payouts::grant(conn, application, true)
        .await?
        .context("the demo grant")?;
    let today = locale::today();
    let plan: [(i64, &str, &str, PayoutStatus); 5] = [
        (
            25_000,
            "Lizenzen Terminservice, erste Rate",
            "Softwarehaus Nordthüringen GmbH",
            PayoutStatus::Paid,
        ),
        (
            15_000,
            "Einrichtung und Schnittstellen",
            "Softwarehaus Nordthüringen GmbH",
            PayoutStatus::Ordered,
        ),
        (
            10_000,
            "Schulung der Beschäftigten",
            "Kommunale Akademie Thüringen",
            PayoutStatus::Checked,
        ),
        (
            8_000,
            "Hardware für die Terminsäulen",
            "Bürotechnik Sondershausen",
            PayoutStatus::Submitted,
        ),
        (
            5_000,
            "Beratung Datenschutz",
            "Kanzlei am Markt",
            PayoutStatus::Returned,
        ),
    ];
    for (n, (euros, purpose, payee, target)) in plan.into_iter().enumerate() {
        let items = [Item {
            purpose: purpose.into(),
            payee: payee.into(),
            due_on: today + Duration::days(14),
            amount: Cents::from_euros(euros),
        }];
        let (id, _) = payouts::insert_payout(
            conn,
            &NewPayout {
                application_id: application,
                requested: Cents::from_euros(euros),
                account_holder: &grant.account_holder,
                iban: &grant.iban.replace(' ', ""),
                account_reason: "",
                submitted_by: people.clerk,
                submission_key: &crate::secrets::random_token(),
                items: &items,
            },
        )
        .await?;
        walk_to(
            conn,
            people,
            id,
            target,
            Cents::from_euros(euros),
            programme,
        )
        .await?;
        // Spread over the weeks since the award: each request six days after the one before.
        backdate(conn, id, i32::try_from(plan.len() - n).unwrap_or(1)).await?;
    }
    Ok(())
}

/// Takes a submitted request through the procedure up to `target`.
pub(super) async fn walk_to(
    conn: &mut PgConnection,
    people: &People,
    id: i64,
    target: PayoutStatus,
    amount: Cents,
    programme: i64,
) -> anyhow::Result<()> {
    event(
        conn,
        id,
        PayoutTransition::Submit,
        people.clerk,
        "",
        (PayoutStatus::Draft, PayoutStatus::Submitted),
    )
    .await?;
    if target == PayoutStatus::Returned {
        let reason =
            "Die Beratung ist nicht Teil der bewilligten Ausgaben; bitte rufen Sie sie nicht ab.";
        advance(
            conn,
            id,
            PayoutStatus::Submitted,
            PayoutStatus::Returned,
            Change::default(),
        )
        .await?;
        event(
            conn,
            id,
            PayoutTransition::SendBack,
            people.reviewer,
            reason,
            (PayoutStatus::Submitted, PayoutStatus::Returned),
        )
        .await?;
    }
    if matches!(
        target,
        PayoutStatus::Checked | PayoutStatus::Ordered | PayoutStatus::Paid
    ) {
        let change = Change {
            checked: Some((people.reviewer, amount, "")),
            ..Change::default()
        };
        advance(
            conn,
            id,
            PayoutStatus::Submitted,
            PayoutStatus::Checked,
            change,
        )
        .await?;
        event(
            conn,
            id,
            PayoutTransition::Check,
            people.reviewer,
            "",
            (PayoutStatus::Submitted, PayoutStatus::Checked),
        )
        .await?;
    }
    if matches!(target, PayoutStatus::Ordered | PayoutStatus::Paid) {
        let change = Change {
            ordered_by: Some(people.second_reviewer),
            ..Change::default()
        };
        advance(
            conn,
            id,
            PayoutStatus::Checked,
            PayoutStatus::Ordered,
            change,
        )
        .await?;
        event(
            conn,
            id,
            PayoutTransition::Order,
            people.second_reviewer,
            "",
            (PayoutStatus::Checked, PayoutStatus::Ordered),
        )
        .await?;
    }
    if target == PayoutStatus::Paid {
        paid_run(conn, people, id, programme).await?;
    }
    Ok(())
}

/// Moves a request and its timeline `periods` × 6 days back; its steps follow 2 (checked or
/// sent back), 3 (ordered), 4 (in a run) and 5 days (paid) after it was filed.
pub(super) async fn backdate(conn: &mut PgConnection, id: i64, periods: i32) -> anyhow::Result<()> {
    let back = f64::from(periods * 6);
    sqlx::query!(
        "UPDATE payout_requests SET submitted_at = submitted_at - $2 * interval '1 day',
                checked_at = checked_at - ($2 - 2) * interval '1 day',
                ordered_at = ordered_at - ($2 - 3) * interval '1 day',
                paid_at = paid_at - ($2 - 5) * interval '1 day'
         WHERE id = $1",
        id,
        back,
    )
    .execute(&mut *conn)
    .await?;
    let steps = [
        (PayoutTransition::Check, 2.0),
        (PayoutTransition::SendBack, 2.0),
        (PayoutTransition::Order, 3.0),
        (PayoutTransition::AddToRun, 4.0),
        (PayoutTransition::MarkPaid, 5.0),
    ];
    let kinds: Vec<&str> = steps.iter().map(|(t, _)| t.event_kind()).collect();
    let later: Vec<f64> = steps.iter().map(|(_, days)| *days).collect();
    sqlx::query!(
        "UPDATE payout_events e
         SET at = e.at - ($2 - coalesce((SELECT s.days FROM unnest($3::text[], $4::float8[]) AS s(kind, days)
                                         WHERE s.kind = e.kind), 0)) * interval '1 day'
         WHERE e.payout_id = $1",
        id,
        back,
        &kinds as &[&str],
        &later,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn advance(
    conn: &mut PgConnection,
    id: i64,
    from: PayoutStatus,
    to: PayoutStatus,
    change: Change<'_>,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        payouts::set_status(conn, id, from, to, change).await?,
        "demo payout {id} not in {from:?}"
    );
    Ok(())
}

async fn event(
    conn: &mut PgConnection,
    id: i64,
    transition: PayoutTransition,
    actor: i64,
    message: &str,
    change: (PayoutStatus, PayoutStatus),
) -> anyhow::Result<()> {
    payouts::insert_event(
        conn,
        id,
        transition.event_kind(),
        Some(actor),
        message,
        change,
    )
    .await?;
    Ok(())
}

/// A run with the one ordered payout, its file, booked as paid.
async fn paid_run(
    conn: &mut PgConnection,
    people: &People,
    payout: i64,
    programme: i64,
) -> anyhow::Result<()> {
    let ordered = payouts::take_ordered(conn, programme).await?;
    // The first request was filed 30 days ago (see `payout_history`).
    let execution_date = locale::today() - Duration::days(26);
    let number = payouts::next_run_number(conn, execution_date.year()).await?;
    let run = sepa::Run {
        message_id: number.clone(),
        created_at: OffsetDateTime::now_utc(),
        execution_date,
        debtor: sepa::Debtor {
            name: "Freistaat Thüringen".into(),
            iban: DEBTOR_IBAN.into(),
            bic: Some("HELADEFF820".into()),
        },
        transfers: crate::payouts::runs::transfers("ThürEGovRL", &ordered),
    };
    let file = sepa::pain_001_001_09(&run);
    let run_id = payouts::insert_run(
        conn,
        &NewRun {
            programme_id: programme,
            number: &number,
            execution_date,
            transfers: i32::try_from(ordered.len()).unwrap_or(1),
            total: run.total(),
            file: file.as_bytes(),
            created_by: people.reviewer,
        },
    )
    .await?;
    let change = Change {
        run_id: Some(run_id),
        ..Change::default()
    };
    advance(
        conn,
        payout,
        PayoutStatus::Ordered,
        PayoutStatus::InRun,
        change,
    )
    .await?;
    event(
        conn,
        payout,
        PayoutTransition::AddToRun,
        people.reviewer,
        "",
        (PayoutStatus::Ordered, PayoutStatus::InRun),
    )
    .await?;
    payouts::mark_run_paid(conn, run_id, people.reviewer).await?;
    sqlx::query!(
        "UPDATE payment_runs SET created_at = now() - interval '27 days', paid_at = now() - interval '25 days',
                downloads = 1, last_download_at = now() - interval '27 days'
         WHERE id = $1",
        run_id
    )
    .execute(&mut *conn)
    .await?;
    let paid = Change {
        paid: true,
        ..Change::default()
    };
    advance(conn, payout, PayoutStatus::InRun, PayoutStatus::Paid, paid).await?;
    payouts::book_paid_into_years(
        conn,
        ordered
            .first()
            .context("the ordered demo payout")?
            .application_id,
        run.total(),
        execution_date.year(),
    )
    .await?;
    event(
        conn,
        payout,
        PayoutTransition::MarkPaid,
        people.reviewer,
        "",
        (PayoutStatus::InRun, PayoutStatus::Paid),
    )
    .await?;
    Ok(())
}
