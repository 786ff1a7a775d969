//! Grants after the award for the demo, one per state of their later life: Jena's project has
//! ended and its Verwendungsnachweis waits for the ministry; Weimar's proof is overdue; the
//! Landkreis Gotha's grant is settled with a repayment and its Schlussbescheid; and the demo
//! clerk's grant has a change notified and an Änderungsantrag in review. Written through the
//! same database functions the pages use (without mail).

use anyhow::Context;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::grant::{People, Project, approved_application, backdate, issue_notice, walk_to};
use crate::amendments::db::{self as amendments, NewAmendment};
use crate::amendments::model::{AmendmentStatus, AmendmentTransition, PlanRow, decision_needed};
use crate::locale;
use crate::money::{Cents, Rate};
use crate::payouts::db::{self as payouts, Item, NewPayout};
use crate::payouts::model::PayoutStatus;
use crate::proofs::db::{self as proofs, Financing, NewSettlement, Report};
use crate::proofs::model::{ProofStatus, Receipt, Settlement, SettlementInput};
use crate::review::model::DecisionState;

const E_AKTE: Project = Project {
    title: "E-Akte für alle Ämter",
    submitted: 520,
    decided: 470,
    start: 460,
    end: 60,
};

const RATSINFO: Project = Project {
    title: "Ratsinformationssystem mit Bürgerportal",
    submitted: 700,
    decided: 640,
    start: 630,
    end: 200,
};

const TERMINE: Project = Project {
    title: "Online-Terminvergabe im Landratsamt",
    submitted: 820,
    decided: 760,
    start: 750,
    end: 330,
};

/// Loads them unless proofs exist already (idempotent); `round` is (id, year, title,
/// programme).
pub(super) async fn load(
    conn: &mut PgConnection,
    people: &People,
    round: (i64, i32, &str, i64),
) -> anyhow::Result<()> {
    let any: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM proofs"#)
        .fetch_one(&mut *conn)
        .await?;
    if any > 0 {
        return Ok(());
    }
    let (round_id, year, title, programme) = round;
    let jena = grant(conn, people, "16053000", (round_id, year, title), &E_AKTE).await?;
    paid(conn, people, jena, 72_000, 300, programme).await?;
    let proof = proven(conn, people, jena, &[48_000, 31_500, 19_000], 10).await?;
    let weimar = grant(conn, people, "16055000", (round_id, year, title), &RATSINFO).await?;
    paid(conn, people, weimar, 40_000, 500, programme).await?;
    let gotha = grant(conn, people, "16067000", (round_id, year, title), &TERMINE).await?;
    paid(conn, people, gotha, 76_000, 600, programme).await?;
    let gotha_proof = proven(conn, people, gotha, &[60_000, 30_000], 100).await?;
    settled(conn, people, gotha, gotha_proof, 20).await?;
    tracing::debug!(proof, "demo grants after the award created");
    Ok(())
}

async fn grant(
    conn: &mut PgConnection,
    people: &People,
    ags: &str,
    (round, year, round_title): (i64, i32, &str),
    project: &Project,
) -> anyhow::Result<i64> {
    let place = sqlx::query!(
        r#"SELECT id, name, coalesce(parent_id, id) AS "district!" FROM municipalities WHERE ags = $1"#,
        ags
    )
    .fetch_optional(&mut *conn)
    .await?
    .with_context(|| format!("{ags} is missing from the directory"))?;
    let id = approved_application(
        conn,
        people,
        (place.id, place.district),
        (round, year),
        project,
    )
    .await?;
    issue_notice(conn, people, id, (&place.name, round_title), project).await?;
    let decided = OffsetDateTime::now_utc() - Duration::days(project.decided);
    sqlx::query!(
        "UPDATE decisions SET proposed_at = $2::timestamptz - interval '3 days', settled_at = $2 WHERE application_id = $1",
        id,
        decided
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// One payout of `euros`, paid about `days_ago` days ago through a run.
async fn paid(
    conn: &mut PgConnection,
    people: &People,
    application: i64,
    euros: i64,
    days_ago: i32,
    programme: i64,
) -> anyhow::Result<()> {
    let grant = payouts::grant(conn, application, true)
        .await?
        .context("the demo grant")?;
    let items = [Item {
        purpose: "Lizenzen und Einrichtung".into(),
        payee: "Softwarehaus Thüringen GmbH".into(),
        due_on: locale::today() + Duration::days(14),
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
        PayoutStatus::Paid,
        Cents::from_euros(euros),
        programme,
    )
    .await?;
    backdate(conn, id, days_ago / 6).await
}

/// The proof with its Sachbericht, receipts (euros, on cost item 1) and financing, submitted
/// `days_ago` days ago.
async fn proven(
    conn: &mut PgConnection,
    people: &People,
    application: i64,
    receipts: &[i64],
    days_ago: i64,
) -> anyhow::Result<i64> {
    let proof = proofs::begin(conn, application, people.clerk).await?;
    proofs::save_report(
        conn,
        proof.id,
        &Report {
            work_done: "Die Software ist beschafft, eingerichtet und in allen Ämtern im Einsatz; die Beschäftigten sind geschult.",
            results: "Vorgänge werden vollständig elektronisch bearbeitet; Papierakten werden nicht mehr angelegt.",
            deviations: "Die Lizenzen waren günstiger als geplant.",
            reuse_users: "Zwei Nachbarkommunen nutzen die Installation als Mandanten mit.",
            reuse_howto: "Weitere Kommunen können als Mandant dazukommen; Ansprechpartner ist die IT-Stelle.",
        },
    )
    .await?;
    let paid_on = locale::today() - Duration::days(days_ago + 30);
    let rows: Vec<Receipt> = receipts
        .iter()
        .zip(1..)
        .map(|(euros, n)| Receipt {
            paid_on,
            payee: "Softwarehaus Thüringen GmbH".into(),
            purpose: format!("Rechnung {n}"),
            cost_position: 1,
            amount: Cents::from_euros(*euros),
        })
        .collect();
    proofs::add_receipts(conn, proof.id, &rows).await?;
    proofs::save_financing(
        conn,
        proof.id,
        &Financing {
            own_share: Cents::from_euros(20_000),
            third_party: Cents::ZERO,
            other_public: Cents::ZERO,
            procurement: true,
            correct: true,
        },
    )
    .await?;
    anyhow::ensure!(
        proofs::set_status(
            conn,
            proof.id,
            ProofStatus::Draft,
            ProofStatus::Submitted,
            None
        )
        .await?,
        "the demo proof is not a draft"
    );
    proofs::insert_event(conn, proof.id, "submitted", people.clerk, "").await?;
    let at = OffsetDateTime::now_utc() - Duration::days(days_ago);
    sqlx::query!(
        "UPDATE proofs SET submitted_at = $2, updated_at = $2 WHERE id = $1",
        proof.id,
        at
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE proof_events SET at = $2 WHERE proof_id = $1",
        proof.id,
        at
    )
    .execute(&mut *conn)
    .await?;
    Ok(proof.id)
}

/// Settled `days_ago` days ago by the two demo reviewers, with the Schlussbescheid.
async fn settled(
    conn: &mut PgConnection,
    people: &People,
    application: i64,
    proof_id: i64,
    days_ago: i64,
) -> anyhow::Result<()> {
    let terms = amendments::terms(conn, application, true)
        .await?
        .context("the demo grant")?;
    let proof = proofs::proof(conn, proof_id)
        .await?
        .context("the demo proof")?;
    let paid = proofs::paid_payouts(conn, application).await?;
    let (rates, margin) = crate::programmes::db::interest_rules(conn).await?;
    let actual: i64 = proofs::receipts(conn, proof_id)
        .await?
        .iter()
        .map(|r| r.receipt.amount.get())
        .sum();
    let until = locale::today() - Duration::days(days_ago);
    let settlement = Settlement::new(&SettlementInput {
        basis: terms.basis(),
        actual_eligible: Cents::new(actual),
        disallowed: Cents::ZERO,
        other_funds: proof.other_funds(),
        paid: &paid,
        interest_until: until,
        base_rates: &rates,
        margin_bp: margin,
    });
    let id = proofs::propose_settlement(
        conn,
        &NewSettlement {
            proof_id,
            checklist: [true; 5],
            note: "",
            planned_eligible: Cents::new(terms.eligible_cents),
            settlement: &settlement,
            actual_eligible: Cents::new(actual),
            disallowed: Cents::ZERO,
            granted: Cents::new(terms.granted_cents),
            interest_until: until,
            repayment_due_on: Some(locale::add_months(until, 1)),
            proposed_by: people.reviewer,
        },
    )
    .await?;
    let row = proofs::settlement(conn, proof_id)
        .await?
        .context("the settlement")?;
    let interest = proofs::settlement_interest(conn, id).await?;
    let view = crate::proofs::views::SettlementView::new(&row, &interest);
    let notice = crate::proofs::notice::FinalNotice {
        reference: terms.reference.clone(),
        date: locale::day(until),
        addressee: crate::letters::address(
            &terms.municipality_name,
            terms.street.as_deref(),
            terms.postal_code.as_deref(),
            terms.city.as_deref(),
        ),
        sender: super::sender(conn).await?,
        title: terms.title.clone(),
        submitted: proof.submitted_at.map(locale::date).unwrap_or_default(),
        awarded: locale::date(terms.awarded_at),
        financing_rule: terms.financing_type.rule().into(),
        settlement: view,
        account: String::new(),
        signed_by: "Paula Zweitprüferin (TFM)".into(),
    };
    let pdf = tokio::task::spawn_blocking(move || crate::proofs::notice::render(&notice)).await??;
    proofs::settle_settlement(
        conn,
        id,
        DecisionState::Confirmed,
        people.second_reviewer,
        "",
        Some(&pdf),
    )
    .await?;
    close(conn, people, (application, proof_id, id), days_ago).await
}

/// The proof and the grant closed after the settlement `days_ago` days ago.
async fn close(
    conn: &mut PgConnection,
    people: &People,
    (application, proof_id, settlement): (i64, i64, i64),
    days_ago: i64,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        proofs::set_status(
            conn,
            proof_id,
            ProofStatus::Submitted,
            ProofStatus::Settled,
            None
        )
        .await?,
        "the demo proof is not submitted"
    );
    proofs::insert_event(conn, proof_id, "settled", people.second_reviewer, "").await?;
    // Closed like the workflow's settlement would (the demo writes its history directly).
    sqlx::query!(
        "UPDATE applications SET status = $2, updated_at = now() WHERE id = $1",
        application,
        crate::applications::model::Status::Settled as _,
    )
    .execute(&mut *conn)
    .await?;
    crate::applications::db::insert_event_with_details(
        conn,
        application,
        crate::applications::model::Transition::Settle.event_kind(),
        Some(people.second_reviewer),
        "",
        Some((
            crate::applications::model::Status::Approved,
            crate::applications::model::Status::Settled,
        )),
        &serde_json::json!({}),
    )
    .await?;
    let at = OffsetDateTime::now_utc() - Duration::days(days_ago);
    sqlx::query!(
        "UPDATE settlements SET proposed_at = $2::timestamptz - interval '2 days', settled_at = $2 WHERE id = $1",
        settlement,
        at
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE proof_events SET at = $2 WHERE proof_id = $1 AND kind = $3",
        proof_id,
        at,
        "settled",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// On the demo clerk's grant: a shift within the allowance (notified), then an extension in
/// review.
pub(super) async fn changes(
    conn: &mut PgConnection,
    people: &People,
    application: i64,
) -> anyhow::Result<()> {
    let row = crate::applications::db::find(conn, application)
        .await?
        .context("the demo grant")?;
    let terms = amendments::terms(conn, application, true)
        .await?
        .context("the demo grant")?;
    let (before, _) = amendments::plan_in_force(conn, &row).await?;
    // The plan in two items (a decision), then a shift of 10 % between them (notified).
    let split = vec![
        PlanRow {
            amount: Cents::from_euros(90_000),
            ..before[0].clone()
        },
        PlanRow {
            kind: "training".into(),
            description: "Schulung der Beschäftigten".into(),
            year: before[0].year,
            amount: Cents::from_euros(10_000),
            eligible: true,
        },
    ];
    let shifted = vec![
        PlanRow {
            amount: Cents::from_euros(89_000),
            ..split[0].clone()
        },
        PlanRow {
            amount: Cents::from_euros(11_000),
            ..split[1].clone()
        },
    ];
    let allowance = Rate::from_basis_points(terms.change_shift_bp);
    let steps: [(&[PlanRow], &[PlanRow], &str); 2] = [
        (
            &before,
            &split,
            "Die Schulung wird als eigene Position geführt.",
        ),
        (&split, &shifted, "Die Schulung wird einen Tag länger."),
    ];
    for (from, to, reason) in steps {
        let end = terms.period_end;
        let needs = decision_needed(from, to, (terms.period_end, end), allowance);
        let status = if needs.is_empty() {
            AmendmentStatus::Notified
        } else {
            AmendmentStatus::Submitted
        };
        let (id, _) = amendments::insert(
            conn,
            &NewAmendment {
                application_id: application,
                status,
                reason,
                terms: &terms,
                new_period_end: end,
                new_granted: Cents::new(terms.granted_cents),
                new_eligible: crate::amendments::model::eligible(to),
                needs_decision: &needs,
                before: from,
                after: to,
                submitted_by: people.clerk,
                submission_key: &crate::secrets::random_token(),
            },
        )
        .await?;
        let kind = if needs.is_empty() {
            AmendmentTransition::Notify
        } else {
            AmendmentTransition::Submit
        };
        amendments::insert_event(
            conn,
            id,
            kind.event_kind(),
            people.clerk,
            "",
            (None, status),
        )
        .await?;
        if status == AmendmentStatus::Submitted {
            approve(conn, people, id).await?;
        }
    }
    extension_in_review(conn, people, application, &shifted, allowance).await
}

/// An extension of the period by four months, waiting for the ministry.
async fn extension_in_review(
    conn: &mut PgConnection,
    people: &People,
    application: i64,
    shifted: &[PlanRow],
    allowance: Rate,
) -> anyhow::Result<()> {
    let terms = amendments::terms(conn, application, true)
        .await?
        .context("the demo grant")?;
    let end = terms.period_end + Duration::days(120);
    let needs = decision_needed(shifted, shifted, (terms.period_end, end), allowance);
    let (id, _) = amendments::insert(
        conn,
        &NewAmendment {
            application_id: application,
            status: AmendmentStatus::Submitted,
            reason: "Der Anbieter kann die Schnittstelle zum Fachverfahren erst vier Monate später liefern.",
            terms: &terms,
            new_period_end: end,
            new_granted: Cents::new(terms.granted_cents),
            new_eligible: crate::amendments::model::eligible(shifted),
            needs_decision: &needs,
            before: shifted,
            after: shifted,
            submitted_by: people.clerk,
            submission_key: &crate::secrets::random_token(),
        },
    )
    .await?;
    amendments::insert_event(
        conn,
        id,
        AmendmentTransition::Submit.event_kind(),
        people.clerk,
        "",
        (None, AmendmentStatus::Submitted),
    )
    .await?;
    Ok(())
}

/// Proposed by the demo reviewer, confirmed by the second one (a shape-only change: the
/// grant and period stay, so there is nothing to commit).
async fn approve(conn: &mut PgConnection, people: &People, id: i64) -> anyhow::Result<()> {
    use crate::amendments::db::Change;
    anyhow::ensure!(
        amendments::set_status(
            conn,
            id,
            AmendmentStatus::Submitted,
            AmendmentStatus::Proposed,
            Change {
                proposal: Some((true, "", people.reviewer)),
                ..Change::default()
            },
        )
        .await?,
        "the demo change is not submitted"
    );
    let a = amendments::amendment(conn, id)
        .await?
        .context("the demo change")?;
    let terms = amendments::terms(conn, a.application_id, false)
        .await?
        .context("the demo grant")?;
    let plan = crate::amendments::views::Comparison::new(
        &amendments::plan(conn, id, false).await?,
        &amendments::plan(conn, id, true).await?,
    );
    let line = crate::amendments::views::AmendmentLine::new(&a);
    let notice = crate::amendments::notice::AmendmentNotice {
        approved: true,
        reference: a.reference.clone(),
        date: locale::day(locale::today()),
        addressee: vec![a.municipality_name.clone()],
        sender: super::sender(conn).await?,
        title: a.title.clone(),
        number: a.number,
        submitted: line.submitted_at,
        awarded: locale::date(terms.awarded_at),
        old_period: line.old_period,
        new_period: line.new_period,
        old_granted: line.old_granted,
        new_granted: line.new_granted,
        old_eligible: line.old_eligible,
        new_eligible: line.new_eligible,
        plan,
        reason: a.reason.clone(),
        grounds: String::new(),
        signed_by: "Paula Zweitprüferin (TFM)".into(),
    };
    let pdf =
        tokio::task::spawn_blocking(move || crate::amendments::notice::render(&notice)).await??;
    anyhow::ensure!(
        amendments::set_status(
            conn,
            id,
            AmendmentStatus::Proposed,
            AmendmentStatus::Approved,
            Change {
                settled: Some((people.second_reviewer, &pdf)),
                ..Change::default()
            },
        )
        .await?,
        "the demo change is not proposed"
    );
    let steps = [
        (
            AmendmentTransition::Propose,
            people.reviewer,
            AmendmentStatus::Submitted,
        ),
        (
            AmendmentTransition::Approve,
            people.second_reviewer,
            AmendmentStatus::Proposed,
        ),
    ];
    for (transition, actor, from) in steps {
        let to = transition
            .target(Some(from))
            .context("a step of the machine")?;
        amendments::insert_event(
            conn,
            id,
            transition.event_kind(),
            actor,
            "",
            (Some(from), to),
        )
        .await?;
    }
    Ok(())
}
