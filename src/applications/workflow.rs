//! The application state machine: the one place that changes `applications.status`. Each
//! transition checks who acts and from which state, writes the timeline event and enqueues the
//! e-mails, in the caller's transaction.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::db::{self, ApplicationRow};
use super::model::{Party, Section, Status, Transition};
use crate::locale;
use crate::mail::messages::{
    ChangeRequest, DecisionAvailable, Message, ResubmissionReceived, SubmissionReceipt,
    WithdrawalConfirmation,
};
use crate::mail::{Outbox, Recipient};
use crate::money::Cents;

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
    /// A (re)submission's answers, as checked: stored as the revision.
    pub answers: Option<serde_json::Value>,
    /// An approval's split by Haushaltsjahr, committed against each year's budget (empty:
    /// all in the round's year, as before budget years existed).
    pub years: Vec<(i32, Cents)>,
    /// The end of an approval's period.
    pub period_end: Option<time::Date>,
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
    /// One budget year cannot take its share of the approval.
    #[error("budget year {year}: {remaining} left, {wanted} wanted")]
    YearBudgetExceeded {
        year: i32,
        remaining: Cents,
        wanted: Cents,
    },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Mail(#[from] crate::mail::outbox::EnqueueError),
}

impl From<TransitionError> for crate::error::AppError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotAllowed { .. }
            | TransitionError::BudgetExceeded { .. }
            | TransitionError::YearBudgetExceeded { .. } => {
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
    let from = application.status;
    let not_allowed = || TransitionError::NotAllowed { transition, from };
    let target = transition.target(from).ok_or_else(not_allowed)?;
    if transition.party() != by.party {
        return Err(not_allowed());
    }
    if by.party == Party::Applicant && by.municipality_id != Some(application.municipality_id) {
        return Err(not_allowed());
    }
    let details = match transition {
        Transition::RequestChanges => json!({
            "sections": input.reopen.iter().map(|s| s.slug()).collect::<Vec<_>>(),
            "deadline": input.deadline.map(time::OffsetDateTime::unix_timestamp),
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
            let answers = input.answers.as_ref().ok_or_else(not_allowed)?;
            db::insert_revision(conn, application.id, answers, by.user_id).await?;
            // A draft has no reopened sections to close.
            if transition == Transition::Resubmit {
                db::set_reopened(conn, application.id, &[], by.user_id).await?;
            }
        }
        Transition::RequestChanges => {
            db::set_reopened(conn, application.id, &input.reopen, by.user_id).await?;
        }
        _ => {}
    }
    let clerks = if message_to_clerks(transition, application) {
        recipients(crate::accounts::db::clerks_of(conn, application.municipality_id).await?)
    } else {
        Vec::new()
    };
    // Last, in as few statements as possible, because these lock rows that many transitions
    // share until the commit: the round's budget, the year's Aktenzeichen counter and the
    // tally row of the new status.
    if transition == Transition::Approve {
        let granted = input.granted.ok_or_else(not_allowed)?;
        if let Err(remaining) =
            db::commit_grant(conn, application, granted, input.period_end).await?
        {
            return Err(TransitionError::BudgetExceeded { remaining });
        }
        if let Err((year, remaining, wanted)) =
            db::commit_years(conn, application, granted, &input.years).await?
        {
            return Err(TransitionError::YearBudgetExceeded {
                year,
                remaining,
                wanted,
            });
        }
    }
    let numbered_in =
        (transition == Transition::Submit && application.reference.is_none()).then(|| {
            i32::from(
                jiff::Zoned::now()
                    .with_time_zone(locale::berlin().clone())
                    .year(),
            )
        });
    let reference = db::set_status(conn, application.id, target, numbered_in)
        .await?
        .unwrap_or_default();
    notify(
        conn,
        outbox,
        base_url,
        application,
        &reference,
        transition,
        input,
        &clerks,
    )
    .await?;
    Ok(target)
}

/// Whether `notify` writes to the municipality's clerks about this transition (their addresses
/// are looked up before the transition's last, locking statements).
fn message_to_clerks(transition: Transition, a: &ApplicationRow) -> bool {
    match transition {
        Transition::Submit
        | Transition::Resubmit
        | Transition::RequestChanges
        | Transition::Approve
        | Transition::Reject => true,
        Transition::Withdraw => a.reference.is_some(),
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
async fn notify(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    a: &ApplicationRow,
    reference: &str,
    transition: Transition,
    input: &Input,
    clerks: &[Recipient],
) -> Result<(), TransitionError> {
    let link = format!("{base_url}/antraege/{}", a.id);
    let title = a.display_title();
    let now = locale::date_time(OffsetDateTime::now_utc());
    let message = match transition {
        Transition::Submit | Transition::Resubmit => {
            if transition == Transition::Resubmit {
                notify_requesting_reviewer(conn, outbox, a, reference, base_url).await?;
            }
            Message::SubmissionReceipt(SubmissionReceipt {
                reference: reference.to_string(),
                title,
                round: a.round_title.clone(),
                submitted_at: now,
                link,
            })
        }
        Transition::RequestChanges => Message::ChangeRequest(ChangeRequest {
            reference: reference.to_string(),
            title,
            message: input.message.clone(),
            sections: input.reopen.iter().map(|s| s.title().to_string()).collect(),
            deadline: input.deadline.map(locale::date).unwrap_or_default(),
            link,
        }),
        Transition::Approve | Transition::Reject => Message::DecisionAvailable(DecisionAvailable {
            reference: reference.to_string(),
            title,
            outcome: if transition == Transition::Approve {
                "bewilligt".into()
            } else {
                "abgelehnt".into()
            },
            link,
        }),
        Transition::Withdraw if message_to_clerks(transition, a) => {
            Message::WithdrawalConfirmation(WithdrawalConfirmation {
                reference: reference.to_string(),
                title,
                withdrawn_at: now,
            })
        }
        _ => return Ok(()),
    };
    outbox.enqueue_to_all(conn, clerks, &message).await?;
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
        title: a.display_title(),
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
