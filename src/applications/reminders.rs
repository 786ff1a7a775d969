//! Deadline reminders: clerks with an unsubmitted draft hear a week before the round closes and
//! again on the last day (Berlin calendar days). Each reminder goes once per draft, stage and
//! person, however often the job runs.

use sqlx::PgPool;
use time::OffsetDateTime;

use super::db;
use super::model::shown_title;
use super::workflow::recipients;
use crate::locale;
use crate::mail::Outbox;
use crate::mail::messages::{DeadlineReminder, Message};

/// Enqueues the reminders that are due now; returns how many were new.
pub async fn send_due(db: &PgPool, outbox: &Outbox, base_url: &str) -> anyhow::Result<usize> {
    let now = OffsetDateTime::now_utc();
    let drafts = {
        let mut conn = db.acquire().await?;
        db::drafts_closing_within(&mut conn, time::Duration::days(8)).await?
    };
    let mut sent = 0;
    for draft in drafts {
        let days_left = locale::days_between(now, draft.closes_at);
        let stage = match days_left {
            ..=1 => 1,
            2..=7 => 7,
            _ => continue,
        };
        let message = Message::DeadlineReminder(DeadlineReminder {
            title: shown_title(&draft.title, draft.created_at),
            round: draft.round_title.clone(),
            deadline: locale::date_time(draft.closes_at),
            days_left,
            link: format!("{base_url}/antraege/{}", draft.id),
        });
        let mut tx = db.begin().await?;
        let clerks = crate::accounts::db::clerks_of(&mut tx, draft.municipality_id).await?;
        for to in recipients(clerks) {
            let key = format!(
                "deadline-reminder:{stage}:application-{}:{}",
                draft.id,
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
