//! Reminders of the proof of use: the municipality's clerks hear four weeks and one week before
//! it is due and on the day it becomes overdue (Berlin calendar days). Each reminder goes once
//! per grant, stage and person, however often the job runs; a submitted proof gets none.

use sqlx::PgPool;

use super::db;
use super::model::ProofStatus;
use crate::applications::workflow::recipients;
use crate::locale;
use crate::mail::Outbox;
use crate::mail::messages::{GrantUpdate, Message};

/// The stage a grant is in `days_left` days before its proof is due, if any: 28, 7 or 0
/// (overdue since yesterday counts as the overdue stage too, so a job that missed a day
/// still sends it).
fn stage(days_left: i64) -> Option<i64> {
    match days_left {
        ..=-1 => Some(0),
        0..=7 => Some(7),
        8..=28 => Some(28),
        _ => None,
    }
}

/// Enqueues the reminders that are due now; returns how many were new.
pub async fn send_due(db: &PgPool, outbox: &Outbox, base_url: &str) -> anyhow::Result<usize> {
    let today = locale::today();
    let grants = {
        let mut conn = db.acquire().await?;
        db::due(&mut conn, today).await?
    };
    let mut sent = 0;
    for g in grants {
        if matches!(
            g.proof_status,
            Some(ProofStatus::Submitted | ProofStatus::Settled)
        ) {
            continue;
        }
        let due = g.due_on();
        let days_left = (due - today).whole_days();
        let Some(stage) = stage(days_left) else {
            continue;
        };
        let (status, what) = if stage == 0 {
            (
                format!("Überfällig seit {}", locale::day(due)),
                format!(
                    "Der Verwendungsnachweis war am {} fällig. Bitte reichen Sie ihn umgehend ein oder sprechen Sie mit dem Ministerium, wenn Sie mehr Zeit brauchen.",
                    locale::day(due)
                ),
            )
        } else {
            (
                format!("Fällig am {}", locale::day(due)),
                format!(
                    "Der Verwendungsnachweis ist in {days_left} Tagen fällig, am {}. Sie können ihn im Portal vorbereiten und einreichen.",
                    locale::day(due)
                ),
            )
        };
        let message = Message::GrantUpdate(GrantUpdate {
            reference: g.reference.clone(),
            title: g.title.clone(),
            about: "Verwendungsnachweis".into(),
            status,
            what,
            message: String::new(),
            link: format!(
                "{base_url}/antraege/{}/verwendungsnachweis",
                g.application_id
            ),
        });
        let mut tx = db.begin().await?;
        let clerks = crate::accounts::db::clerks_of(&mut tx, g.municipality_id).await?;
        for to in recipients(clerks) {
            let key = format!(
                "proof-reminder:{stage}:application-{}:{}:{}",
                g.application_id,
                due,
                to.email()
            );
            if outbox
                .enqueue_once(&mut tx, &to, &message, &key)
                .await?
                .is_some()
            {
                sent += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_come_four_weeks_and_one_week_before_and_when_overdue() {
        assert_eq!(stage(29), None);
        assert_eq!(stage(28), Some(28));
        assert_eq!(stage(8), Some(28));
        assert_eq!(stage(7), Some(7));
        assert_eq!(stage(0), Some(7));
        assert_eq!(stage(-1), Some(0));
        assert_eq!(stage(-40), Some(0));
    }
}
