//! Moves a demo history back in time. The pages file every step of the lived-in demo today;
//! these updates then move each step's timestamps to the day the demo's story has it (an award
//! 470 days ago, a payout paid months ago, a proof overdue). They are the lived-in demo's only
//! direct writes besides the clerks' accounts, and they change days only — never a status, an
//! amount or who acted. (The audit log is append-only and keeps the day of loading.)

use sqlx::PgConnection;

use crate::applications::model::Transition;
use crate::applications::store::FileStore;
use crate::payouts::model::PayoutTransition;

/// An application filed `submitted` days ago and decided `decided` days ago: opened two days
/// before it was submitted, its review started six days after, the decision proposed three
/// days before it was confirmed; then its notice is issued again with the decision's day.
pub(super) async fn application(
    conn: &mut PgConnection,
    files: &FileStore,
    id: i64,
    (submitted, decided): (i64, i64),
) -> anyhow::Result<()> {
    let (submitted, decided) = (to_f64(submitted), to_f64(decided));
    let steps = [
        ("created", submitted + 2.0),
        (Transition::Submit.event_kind(), submitted),
        (Transition::StartReview.event_kind(), submitted - 6.0),
        (Transition::ProposeDecision.event_kind(), decided + 3.0),
        (Transition::Approve.event_kind(), decided),
    ];
    let kinds: Vec<&str> = steps.iter().map(|(kind, _)| *kind).collect();
    let days: Vec<f64> = steps.iter().map(|(_, days)| *days).collect();
    // Anything else (partners, answers saved) happened while the application was written.
    sqlx::query!(
        "UPDATE application_events e
         SET at = now() - coalesce((SELECT s.days FROM unnest($2::text[], $3::float8[]) AS s(kind, days)
                                    WHERE s.kind = e.kind), $4::float8 + 1) * interval '1 day'
         WHERE e.application_id = $1",
        id,
        &kinds as &[&str],
        &days,
        submitted,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE applications SET created_at = now() - ($2::float8 + 2) * interval '1 day',
                submitted_at = now() - $2 * interval '1 day', decided_at = now() - $3::float8 * interval '1 day',
                updated_at = now() - $3 * interval '1 day'
         WHERE id = $1",
        id,
        submitted,
        decided,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE decisions SET proposed_at = now() - ($2::float8 + 3) * interval '1 day',
                settled_at = now() - $2 * interval '1 day'
         WHERE application_id = $1",
        id,
        decided,
    )
    .execute(&mut *conn)
    .await?;
    let written = submitted + 1.0;
    sqlx::query!(
        "UPDATE application_sections SET updated_at = now() - $2 * interval '1 day' WHERE application_id = $1",
        id,
        written,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE application_attachments SET uploaded_at = now() - $2 * interval '1 day' WHERE application_id = $1",
        id,
        written,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE application_revisions SET submitted_at = now() - $2 * interval '1 day' WHERE application_id = $1",
        id,
        submitted,
    )
    .execute(&mut *conn)
    .await?;
    crate::review::decisions::reissue_notice(conn, files, id).await
}

/// Moves a payout request, its payments' due days, its timeline and its payment run
/// `periods` × 6 days back; its steps follow 2 (checked or sent back), 3 (ordered), 4 (in a
/// run: the run is built and its file downloaded) and 5 days (the run's value date, paid)
/// after it was filed.
pub(super) async fn payout(conn: &mut PgConnection, id: i64, periods: i32) -> anyhow::Result<()> {
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
    sqlx::query!(
        "UPDATE payout_items SET due_on = due_on - $2::int WHERE payout_id = $1",
        id,
        periods * 6,
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
    // The demo's runs hold one payout each: built the day before it was paid, its value date
    // the bank day on or before that day (Monday to Friday).
    sqlx::query!(
        "UPDATE payment_runs r SET created_at = p.paid_at - interval '1 day',
                last_download_at = p.paid_at - interval '1 day', paid_at = p.paid_at,
                execution_date = d.day - greatest(extract(isodow FROM d.day)::int - 5, 0)
         FROM payout_requests p, LATERAL (SELECT (p.paid_at AT TIME ZONE 'Europe/Berlin')::date AS day) d
         WHERE p.id = $1 AND r.id = p.run_id AND p.paid_at IS NOT NULL",
        id,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A proof of use submitted `days_ago` days ago, written in the week before.
pub(super) async fn proof(conn: &mut PgConnection, id: i64, days_ago: i64) -> anyhow::Result<()> {
    let days = to_f64(days_ago);
    sqlx::query!(
        "UPDATE proofs SET created_at = now() - ($2::float8 + 7) * interval '1 day',
                submitted_at = now() - $2 * interval '1 day', updated_at = now() - $2 * interval '1 day'
         WHERE id = $1",
        id,
        days,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE proof_events SET at = now() - $2 * interval '1 day' WHERE proof_id = $1",
        id,
        days,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Days as a float for interval arithmetic (the demo's are a few hundred).
fn to_f64(days: i64) -> f64 {
    f64::from(i32::try_from(days).unwrap_or(i32::MAX))
}
