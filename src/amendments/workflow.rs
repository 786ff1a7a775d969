//! The change request's state machine: the one place that changes `amendments.status`. Each
//! transition checks who acts and from which state, keeps the four eyes, writes the timeline
//! event and enqueues the e-mails, in the caller's transaction (the shape of
//! `applications::workflow` and `payouts::workflow`).

use sqlx::PgConnection;

use super::db::{self, AmendmentRow, Change, NewAmendment};
use super::model::{AmendmentStatus, AmendmentTransition, Party};
use crate::applications::workflow::recipients;
use crate::mail::Outbox;
use crate::mail::messages::{GrantUpdate, Message};

/// Who makes a transition.
#[derive(Clone, Copy, Debug)]
pub struct Acting {
    pub user_id: i64,
    pub party: Party,
    /// For applicants: their municipality. Only the funded municipality asks for changes.
    pub municipality_id: Option<i64>,
}

impl Acting {
    pub fn applicant(user: &crate::accounts::CurrentUser) -> Self {
        Acting {
            user_id: user.id,
            party: Party::Applicant,
            municipality_id: user.municipality_id,
        }
    }

    pub fn reviewer(user: &crate::accounts::CurrentUser) -> Self {
        Acting {
            user_id: user.id,
            party: Party::Reviewer,
            municipality_id: None,
        }
    }
}

/// What a transition carries beyond itself.
#[derive(Default)]
pub struct Input<'a> {
    /// The reason of a rejection proposal, of sending back, or of a withdrawal.
    pub message: &'a str,
    /// A proposal: approve (true) or reject.
    pub approve: Option<bool>,
    /// The confirmation's notice (a kept document).
    pub notice: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("amendment transition {transition:?} from {from:?} not allowed")]
    NotAllowed {
        transition: AmendmentTransition,
        from: Option<AmendmentStatus>,
    },
    /// Four eyes: nobody confirms or sends back their own proposal.
    #[error("the proposing reviewer may not settle the proposal")]
    FourEyes,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Mail(#[from] crate::mail::outbox::EnqueueError),
}

impl From<TransitionError> for crate::error::AppError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotAllowed { .. } | TransitionError::FourEyes => {
                crate::error::AppError::Conflict(e.to_string())
            }
            TransitionError::Db(e) => e.into(),
            TransitionError::Mail(e) => e.into(),
        }
    }
}

/// Files a new request: notified (in effect at once) when it needs no decision, submitted
/// otherwise. The caller has locked the grant and checked the change. Returns id and number.
pub async fn file(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    by: Acting,
    new: &NewAmendment<'_>,
) -> Result<(i64, i32), TransitionError> {
    let transition = if new.needs_decision.is_empty() {
        AmendmentTransition::Notify
    } else {
        AmendmentTransition::Submit
    };
    let not_allowed = || TransitionError::NotAllowed {
        transition,
        from: None,
    };
    let target = transition.target(None).ok_or_else(not_allowed)?;
    if by.party != transition.party() || by.municipality_id != Some(new.terms.municipality_id) {
        return Err(not_allowed());
    }
    let (id, number) = db::insert(
        conn,
        &NewAmendment {
            status: target,
            ..*new
        },
    )
    .await?;
    db::insert_event(
        conn,
        id,
        transition.event_kind(),
        by.user_id,
        "",
        (None, target),
    )
    .await?;
    let t = new.terms;
    let update = GrantUpdate {
        reference: t.reference.clone(),
        title: t.title.clone(),
        about: format!("Änderungsantrag {number}"),
        status: target.label().into(),
        what: what_happened(transition, false),
        message: String::new(),
        link: format!("{base_url}/antraege/{}/aenderungen/{id}", t.application_id),
    };
    notify_clerks(conn, outbox, t.municipality_id, &update).await?;
    let for_ministry = GrantUpdate {
        what: what_happened(transition, true),
        status: target.review_label().into(),
        link: format!("{base_url}/pruefung/aenderungen/{id}"),
        ..update
    };
    notify_reviewer(conn, outbox, t.application_id, &for_ministry).await?;
    Ok((id, number))
}

/// Makes the transition on the request (the caller has locked grant and request). Returns
/// the new status.
pub async fn apply(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    amendment: &AmendmentRow,
    by: Acting,
    transition: AmendmentTransition,
    input: &Input<'_>,
) -> Result<AmendmentStatus, TransitionError> {
    let from = amendment.status;
    let not_allowed = || TransitionError::NotAllowed {
        transition,
        from: Some(from),
    };
    let target = transition.target(Some(from)).ok_or_else(not_allowed)?;
    if transition.party() != by.party
        || (by.party == Party::Applicant && by.municipality_id != Some(amendment.municipality_id))
    {
        return Err(not_allowed());
    }
    let mut change = Change::default();
    match transition {
        AmendmentTransition::Propose => {
            let approve = input.approve.ok_or_else(not_allowed)?;
            change.proposal = Some((approve, input.message, by.user_id));
        }
        AmendmentTransition::SendBack
        | AmendmentTransition::Approve
        | AmendmentTransition::Reject => {
            if amendment.proposed_by == Some(by.user_id) {
                return Err(TransitionError::FourEyes);
            }
            if transition == AmendmentTransition::SendBack {
                change.clear_proposal = true;
            } else {
                change.settled = Some((by.user_id, input.notice.ok_or_else(not_allowed)?));
            }
        }
        _ => {}
    }
    if !db::set_status(conn, amendment.id, from, target, change).await? {
        return Err(not_allowed());
    }
    db::insert_event(
        conn,
        amendment.id,
        transition.event_kind(),
        by.user_id,
        input.message,
        (Some(from), target),
    )
    .await?;
    // The four-eyes steps are the ministry's own business; the municipality hears of the
    // outcome.
    if matches!(
        transition,
        AmendmentTransition::Approve | AmendmentTransition::Reject | AmendmentTransition::Withdraw
    ) {
        let message = if transition == AmendmentTransition::Reject {
            amendment.proposal_note.clone()
        } else {
            String::new()
        };
        let update = GrantUpdate {
            reference: amendment.reference.clone(),
            title: amendment.title.clone(),
            about: format!("Änderungsantrag {}", amendment.number),
            status: target.label().into(),
            what: what_happened(transition, false),
            message,
            link: format!(
                "{base_url}/antraege/{}/aenderungen/{}",
                amendment.application_id, amendment.id
            ),
        };
        notify_clerks(conn, outbox, amendment.municipality_id, &update).await?;
        if transition == AmendmentTransition::Withdraw {
            let for_ministry = GrantUpdate {
                what: what_happened(transition, true),
                link: format!("{base_url}/pruefung/aenderungen/{}", amendment.id),
                ..update
            };
            notify_reviewer(conn, outbox, amendment.application_id, &for_ministry).await?;
        }
    }
    Ok(target)
}

/// The sentence of the e-mail, for the municipality or the ministry.
fn what_happened(transition: AmendmentTransition, ministry: bool) -> String {
    match (transition, ministry) {
        (AmendmentTransition::Submit, false) => {
            "Ihr Änderungsantrag ist beim Ministerium eingegangen. Über ihn wird mit einem Bescheid entschieden.".into()
        }
        (AmendmentTransition::Submit, true) => {
            "Die Kommune hat eine Änderung beantragt, über die zu entscheiden ist.".into()
        }
        (AmendmentTransition::Notify, false) => {
            "Ihre Änderung bleibt im Spielraum des Förderaufrufs; sie ist mitgeteilt und gilt ab sofort.".into()
        }
        (AmendmentTransition::Notify, true) => {
            "Die Kommune hat eine Umschichtung im Spielraum des Förderaufrufs mitgeteilt; sie gilt ohne Entscheidung.".into()
        }
        (AmendmentTransition::Approve, _) => {
            "Das Ministerium hat die Änderung genehmigt. Der Änderungsbescheid steht im Portal zum Herunterladen bereit.".into()
        }
        (AmendmentTransition::Reject, _) => {
            "Das Ministerium hat die Änderung abgelehnt; es gilt der bisherige Bescheid. Der Bescheid steht im Portal zum Herunterladen bereit.".into()
        }
        (AmendmentTransition::Withdraw, false) => "Sie haben den Änderungsantrag zurückgezogen.".into(),
        (AmendmentTransition::Withdraw, true) => {
            "Die Kommune hat den Änderungsantrag zurückgezogen.".into()
        }
        (AmendmentTransition::Propose | AmendmentTransition::SendBack, _) => String::new(),
    }
}

async fn notify_clerks(
    conn: &mut PgConnection,
    outbox: &Outbox,
    municipality_id: i64,
    update: &GrantUpdate,
) -> Result<(), TransitionError> {
    let clerks = recipients(crate::accounts::db::clerks_of(conn, municipality_id).await?);
    outbox
        .enqueue_to_all(conn, &clerks, &Message::GrantUpdate(update.clone()))
        .await?;
    Ok(())
}

/// The case's reviewer (assigned, or the one who last worked it), if there is one.
async fn notify_reviewer(
    conn: &mut PgConnection,
    outbox: &Outbox,
    application_id: i64,
    update: &GrantUpdate,
) -> Result<(), TransitionError> {
    if let Some((email, name)) =
        crate::applications::db::case_reviewer(conn, application_id).await?
    {
        outbox
            .enqueue_to_all(
                conn,
                &recipients(vec![(email, name)]),
                &Message::GrantUpdate(update.clone()),
            )
            .await?;
    }
    Ok(())
}
