//! The application state machine: the one place that changes `applications.status`. Each
//! transition checks who acts and from which state, writes the timeline event and enqueues the
//! e-mails, in the caller's transaction.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::db::{self, ApplicationRow};
use super::model::{Party, Section, Status, Transition};
use crate::mail::messages::{
    ChangeRequest, DecisionAvailable, Message, ResubmissionReceived, SubmissionReceipt,
    WithdrawalConfirmation,
};
use crate::mail::{Outbox, Recipient};
use crate::money::Cents;
use crate::web::format;

/// Who makes a transition.
#[derive(Clone, Copy, Debug)]
pub struct Acting {
    pub user_id: i64,
    pub party: Party,
    /// For applicants: their municipality. Only the applying municipality may act as applicant.
    pub municipality_id: Option<i64>,
}

/// What a transition carries beyond itself.
#[derive(Clone, Debug, Default)]
pub struct Input {
    /// Withdrawal reason, reviewer message, …
    pub message: String,
    /// A Nachforderung's reopened sections and deadline.
    pub reopen: Vec<Section>,
    pub deadline: Option<OffsetDateTime>,
    /// An approval's granted amount, committed against the round's budget.
    pub granted: Option<Cents>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    /// The state machine or the actor's role forbids it.
    #[error("transition {transition:?} from {from:?} not allowed")]
    NotAllowed {
        transition: Transition,
        from: Status,
    },
    /// The approval does not fit into what is left of the round's budget.
    #[error("the round's remaining budget {remaining} is too small")]
    BudgetExceeded { remaining: Cents },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Mail(#[from] crate::mail::outbox::EnqueueError),
}

impl From<TransitionError> for crate::error::AppError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotAllowed { .. } | TransitionError::BudgetExceeded { .. } => {
                crate::error::AppError::Conflict(e.to_string())
            }
            TransitionError::Db(e) => e.into(),
            TransitionError::Mail(e) => e.into(),
        }
    }
}

/// Makes the transition on the application, which the caller has locked (`db::lock`) in the
/// same transaction. Returns the new status.
pub async fn apply(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    application: &ApplicationRow,
    by: Acting,
    transition: Transition,
    input: &Input,
) -> Result<Status, TransitionError> {
    let from = application.status();
    let not_allowed = || TransitionError::NotAllowed { transition, from };
    let target = transition.target(from).ok_or_else(not_allowed)?;
    if transition.party() != by.party {
        return Err(not_allowed());
    }
    if by.party == Party::Applicant && by.municipality_id != Some(application.municipality_id) {
        return Err(not_allowed());
    }
    let reference = match (transition, &application.reference) {
        (Transition::Submit, None) => {
            let year = jiff::Zoned::now()
                .with_time_zone(format::berlin().clone())
                .year();
            Some(db::next_reference(conn, i32::from(year)).await?)
        }
        (_, existing) => existing.clone(),
    };
    if transition == Transition::Approve {
        let granted = input.granted.ok_or_else(not_allowed)?;
        if let Err(remaining) = db::commit_grant(conn, application, granted).await? {
            return Err(TransitionError::BudgetExceeded { remaining });
        }
    }
    db::set_status(conn, application.id, target, reference.as_deref()).await?;
    let details = match transition {
        Transition::RequestChanges => json!({
            "sections": input.reopen.iter().map(|s| s.slug()).collect::<Vec<_>>(),
            "deadline": input.deadline.map(|d| d.unix_timestamp()),
        }),
        _ => json!({}),
    };
    db::insert_event_with_details(
        conn,
        application.id,
        transition.event_kind(),
        Some(by.user_id),
        &input.message,
        Some((from, target)),
        &details,
    )
    .await?;
    match transition {
        Transition::Submit | Transition::Resubmit => {
            let answers = snapshot(conn, application.id).await?;
            db::insert_revision(conn, application.id, &answers, by.user_id).await?;
            db::set_reopened(conn, application.id, &[], by.user_id).await?;
        }
        Transition::RequestChanges => {
            db::set_reopened(conn, application.id, &input.reopen, by.user_id).await?;
        }
        _ => {}
    }
    notify(
        conn,
        outbox,
        base_url,
        application,
        reference.as_deref().unwrap_or(""),
        transition,
        input,
    )
    .await?;
    Ok(target)
}

/// All answers of all sections, as submitted: {"vorhaben": {...}, ...}.
async fn snapshot(conn: &mut PgConnection, id: i64) -> sqlx::Result<serde_json::Value> {
    let sections = db::sections(conn, id).await?;
    let mut all = serde_json::Map::new();
    for s in sections {
        all.insert(s.section.clone(), json!(s.answers.0));
    }
    let partners = db::partners(conn, id).await?;
    all.insert(
        "partner".into(),
        json!(partners.iter().map(|p| p.name.clone()).collect::<Vec<_>>()),
    );
    Ok(serde_json::Value::Object(all))
}

async fn notify(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    a: &ApplicationRow,
    reference: &str,
    transition: Transition,
    input: &Input,
) -> Result<(), TransitionError> {
    let link = format!("{base_url}/antraege/{}", a.id);
    let title = a.display_title().to_string();
    let now = format::date_time(OffsetDateTime::now_utc());
    let (message, to_clerks) = match transition {
        Transition::Submit | Transition::Resubmit => {
            if transition == Transition::Resubmit {
                notify_requesting_reviewer(conn, outbox, a, reference, base_url).await?;
            }
            (
                Message::SubmissionReceipt(SubmissionReceipt {
                    reference: reference.to_string(),
                    title,
                    round: a.round_title.clone(),
                    submitted_at: now,
                    link,
                }),
                true,
            )
        }
        Transition::RequestChanges => (
            Message::ChangeRequest(ChangeRequest {
                reference: reference.to_string(),
                title,
                message: input.message.clone(),
                sections: input.reopen.iter().map(|s| s.title().to_string()).collect(),
                deadline: input.deadline.map(format::date).unwrap_or_default(),
                link,
            }),
            true,
        ),
        Transition::Approve | Transition::Reject => (
            Message::DecisionAvailable(DecisionAvailable {
                reference: reference.to_string(),
                title,
                outcome: if transition == Transition::Approve {
                    "bewilligt".into()
                } else {
                    "abgelehnt".into()
                },
                link,
            }),
            true,
        ),
        Transition::Withdraw if a.reference.is_some() => (
            Message::WithdrawalConfirmation(WithdrawalConfirmation {
                reference: reference.to_string(),
                title,
                withdrawn_at: now,
            }),
            true,
        ),
        _ => return Ok(()),
    };
    if to_clerks {
        let clerks = recipients(crate::accounts::db::clerks_of(conn, a.municipality_id).await?);
        outbox.enqueue_to_all(conn, &clerks, &message).await?;
    }
    Ok(())
}

/// On resubmission the reviewer who asked for the changes hears of it.
async fn notify_requesting_reviewer(
    conn: &mut PgConnection,
    outbox: &Outbox,
    a: &ApplicationRow,
    reference: &str,
    base_url: &str,
) -> Result<(), TransitionError> {
    let reviewer = db::requesting_reviewer(conn, a.id).await?;
    let Some(reviewer) = reviewer else {
        return Ok(());
    };
    let message = Message::ResubmissionReceived(ResubmissionReceived {
        reference: reference.to_string(),
        title: a.display_title().to_string(),
        municipality: a.municipality_name.clone(),
        link: format!("{base_url}/pruefung/antraege/{}", a.id),
    });
    outbox
        .enqueue_to_all(conn, &recipients(vec![reviewer]), &message)
        .await?;
    Ok(())
}

/// Valid addresses only: an account with a broken address must not block a submission.
pub fn recipients(people: Vec<(String, String)>) -> Vec<Recipient> {
    people
        .into_iter()
        .filter_map(|(email, name)| Recipient::new(&email, &name).ok())
        .collect()
}
