//! The proof's state machine: the one place that changes `proofs.status`. Each transition
//! checks who acts and from which state, writes the timeline event and enqueues the e-mails,
//! in the caller's transaction.

use sqlx::PgConnection;

use super::db::{self, ProofRow};
use super::model::ProofStatus;
use crate::applications::workflow::recipients;
use crate::mail::Outbox;
use crate::mail::messages::{GrantUpdate, Message};

/// Every change of a proof's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofTransition {
    Submit,
    RequestChanges,
    Settle,
}

impl ProofTransition {
    /// Who acts: the municipality submits, the ministry asks for more and settles.
    pub fn by_applicant(self) -> bool {
        self == ProofTransition::Submit
    }

    pub fn target(self, from: ProofStatus) -> Option<ProofStatus> {
        use ProofStatus::*;
        match (self, from) {
            (ProofTransition::Submit, Draft | ChangesRequested) => Some(Submitted),
            (ProofTransition::RequestChanges, Submitted) => Some(ChangesRequested),
            (ProofTransition::Settle, Submitted) => Some(Settled),
            _ => None,
        }
    }

    fn event_kind(self, from: ProofStatus) -> &'static str {
        match (self, from) {
            (ProofTransition::Submit, ProofStatus::ChangesRequested) => "resubmitted",
            (ProofTransition::Submit, _) => "submitted",
            (ProofTransition::RequestChanges, _) => "changes_requested",
            (ProofTransition::Settle, _) => "settled",
        }
    }
}

/// The timeline's words.
pub fn event_label(kind: &str) -> &'static str {
    match kind {
        "submitted" => "Verwendungsnachweis eingereicht",
        "resubmitted" => "Ergänzter Verwendungsnachweis eingereicht",
        "changes_requested" => "Nachforderung des Ministeriums",
        "settled" => "Geprüft und abgerechnet (Schlussbescheid)",
        "receipts_imported" => "Belegliste importiert",
        "settlement_proposed" => "Abrechnung vorgeschlagen",
        "settlement_sent_back" => "Abrechnungsvorschlag zurückgegeben",
        _ => "Bearbeitet",
    }
}

/// The grant the proof belongs to, as the mails name it.
pub struct About<'a> {
    pub reference: &'a str,
    pub title: &'a str,
    pub municipality_id: i64,
    pub application_id: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("proof transition {transition:?} from {from:?} not allowed")]
    NotAllowed {
        transition: ProofTransition,
        from: ProofStatus,
    },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Mail(#[from] crate::mail::outbox::EnqueueError),
}

impl From<TransitionError> for crate::error::AppError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotAllowed { .. } => crate::error::AppError::Conflict(e.to_string()),
            TransitionError::Db(e) => e.into(),
            TransitionError::Mail(e) => e.into(),
        }
    }
}

/// Makes the transition on the proof (locked by the caller). `message`: the Nachforderung's
/// text. Returns the new status.
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    proof: &ProofRow,
    about: &About<'_>,
    (user_id, applicant): (i64, bool),
    transition: ProofTransition,
    message: &str,
) -> Result<ProofStatus, TransitionError> {
    let from = proof.status;
    let not_allowed = TransitionError::NotAllowed { transition, from };
    let Some(target) = transition.target(from) else {
        return Err(not_allowed);
    };
    if transition.by_applicant() != applicant {
        return Err(not_allowed);
    }
    let request = (transition == ProofTransition::RequestChanges).then_some(message);
    if !db::set_status(conn, proof.id, from, target, request).await? {
        return Err(not_allowed);
    }
    db::insert_event(
        conn,
        proof.id,
        transition.event_kind(from),
        user_id,
        message,
    )
    .await?;
    let update = GrantUpdate {
        reference: about.reference.to_string(),
        title: about.title.to_string(),
        about: "Verwendungsnachweis".into(),
        status: target.label().into(),
        what: match transition {
            ProofTransition::Submit => "Ihr Verwendungsnachweis ist beim Ministerium eingegangen und wird geprüft.".into(),
            ProofTransition::RequestChanges => "Das Ministerium bittet um Ergänzungen. Sie können den Verwendungsnachweis ändern und erneut einreichen.".into(),
            ProofTransition::Settle => "Das Ministerium hat den Verwendungsnachweis geprüft und die Zuwendung abgerechnet. Der Schlussbescheid steht im Portal zum Herunterladen bereit.".into(),
        },
        message: message.to_string(),
        link: format!("{base_url}/antraege/{}/verwendungsnachweis", about.application_id),
    };
    let clerks = recipients(crate::accounts::db::clerks_of(conn, about.municipality_id).await?);
    outbox
        .enqueue_to_all(conn, &clerks, &Message::GrantUpdate(update.clone()))
        .await?;
    if transition == ProofTransition::Submit
        && let Some(reviewer) =
            crate::applications::db::case_reviewer(conn, about.application_id).await?
    {
        let for_ministry = GrantUpdate {
            what: "Die Kommune hat den Verwendungsnachweis eingereicht; er ist zu prüfen.".into(),
            link: format!("{base_url}/pruefung/verwendungsnachweise/{}", proof.id),
            ..update
        };
        outbox
            .enqueue_to_all(
                conn,
                &recipients(vec![reviewer]),
                &Message::GrantUpdate(for_ministry),
            )
            .await?;
    }
    Ok(target)
}
