//! The payout state machine: the one place that changes `payout_requests.status`. Each
//! transition checks who acts and from which state, keeps the four eyes, writes the timeline
//! event and enqueues the municipality's e-mail, in the caller's transaction (the same shape as
//! `applications::workflow`).

use sqlx::PgConnection;

use super::db::{self, Change, GrantRow, NewPayout, PayoutRow};
use super::model::{PayoutParty, PayoutStatus, PayoutTransition, may_order};
use crate::applications::workflow::recipients;
use crate::locale;
use crate::mail::Outbox;
use crate::mail::messages::{Message, PayoutUpdate};
use crate::money::Cents;

/// Who makes a transition.
#[derive(Clone, Copy, Debug)]
pub struct Acting {
    pub user_id: i64,
    pub party: PayoutParty,
    /// For applicants: their municipality. Only the funded municipality requests its money.
    pub municipality_id: Option<i64>,
}

impl Acting {
    /// A clerk, for their municipality.
    pub fn applicant(user: &crate::accounts::CurrentUser) -> Self {
        Acting {
            user_id: user.id,
            party: PayoutParty::Applicant,
            municipality_id: user.municipality_id,
        }
    }

    /// Ministry staff.
    pub fn reviewer(user: &crate::accounts::CurrentUser) -> Self {
        Acting {
            user_id: user.id,
            party: PayoutParty::Reviewer,
            municipality_id: None,
        }
    }
}

/// What a transition carries beyond itself.
#[derive(Clone, Debug, Default)]
pub struct Input {
    /// The reason for sending back or for a lower amount.
    pub message: String,
    /// The check's amount found correct (at most the requested one).
    pub approved: Option<Cents>,
    /// The run a payout goes into: id, number and value date.
    pub run: Option<(i64, String, time::Date)>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    /// The state machine or the actor's role forbids it, or the request moved on meanwhile.
    #[error("payout transition {transition:?} from {from:?} not allowed")]
    NotAllowed {
        transition: PayoutTransition,
        from: PayoutStatus,
    },
    /// Four eyes: the person who checked the request may not order its payment.
    #[error("the checking reviewer may not order the payment")]
    FourEyes,
    /// The application gives no valid account to pay the final payment to.
    #[error("the application has no valid IBAN")]
    NoAccount,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Mail(#[from] crate::mail::outbox::EnqueueError),
}

impl From<TransitionError> for crate::error::AppError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NotAllowed { .. }
            | TransitionError::FourEyes
            | TransitionError::NoAccount => crate::error::AppError::Conflict(e.to_string()),
            TransitionError::Db(e) => e.into(),
            TransitionError::Mail(e) => e.into(),
        }
    }
}

/// Files a new request (draft → submitted in one step: the form is the draft). The caller has
/// locked the grant and checked the amount against its balance; the database's CHECK on the
/// grant is the last guard. Returns the request's id.
pub async fn submit(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    grant: &GrantRow,
    by: Acting,
    new: &NewPayout<'_>,
) -> Result<i64, TransitionError> {
    let transition = PayoutTransition::Submit;
    let not_allowed = TransitionError::NotAllowed {
        transition,
        from: PayoutStatus::Draft,
    };
    if by.party != transition.party() || by.municipality_id != Some(grant.municipality_id) {
        return Err(not_allowed);
    }
    let (id, number) = db::insert_payout(conn, new).await?;
    db::insert_event(
        conn,
        id,
        transition.event_kind(),
        Some(by.user_id),
        "",
        (PayoutStatus::Draft, PayoutStatus::Submitted),
    )
    .await?;
    let update = PayoutUpdate {
        reference: grant.reference.clone(),
        title: grant.title.clone(),
        number,
        amount: new.requested.to_string(),
        status: PayoutStatus::Submitted.label().into(),
        what: what_happened(transition, new.requested, &Input::default()),
        message: String::new(),
        link: format!("{base_url}/antraege/{}/auszahlungen", grant.application_id),
    };
    notify(conn, outbox, grant.municipality_id, update).await?;
    Ok(id)
}

/// Makes the transition on the request, which the caller has locked (grant first, then the
/// request) in the same transaction. Returns the new status.
pub async fn apply(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    payout: &PayoutRow,
    by: Acting,
    transition: PayoutTransition,
    input: &Input,
) -> Result<PayoutStatus, TransitionError> {
    let from = payout.status;
    let not_allowed = || TransitionError::NotAllowed { transition, from };
    let target = transition.target(from).ok_or_else(not_allowed)?;
    if transition.party() != by.party {
        return Err(not_allowed());
    }
    if by.party == PayoutParty::Applicant && by.municipality_id != Some(payout.municipality_id) {
        return Err(not_allowed());
    }
    let mut change = Change::default();
    match transition {
        PayoutTransition::Check => {
            let approved = input.approved.ok_or_else(not_allowed)?;
            if approved <= Cents::ZERO || approved.get() > payout.requested_cents {
                return Err(not_allowed());
            }
            change.checked = Some((by.user_id, approved, input.message.as_str()));
        }
        PayoutTransition::Order => {
            let checked_by = payout.checked_by.ok_or_else(not_allowed)?;
            if !may_order(checked_by, by.user_id) {
                return Err(TransitionError::FourEyes);
            }
            change.ordered_by = Some(by.user_id);
        }
        PayoutTransition::AddToRun => {
            change.run_id = Some(input.run.as_ref().ok_or_else(not_allowed)?.0);
        }
        PayoutTransition::MarkPaid => {
            change.paid = true;
            let paid_on = input.run.as_ref().ok_or_else(not_allowed)?.2;
            db::book_paid_into_years(conn, payout.application_id, payout.amount(), paid_on.year())
                .await?;
        }
        _ => {}
    }
    if !db::set_status(conn, payout.id, from, target, change).await? {
        return Err(not_allowed());
    }
    db::insert_event(
        conn,
        payout.id,
        transition.event_kind(),
        Some(by.user_id),
        &input.message,
        (from, target),
    )
    .await?;
    let amount = input.approved.unwrap_or_else(|| payout.amount());
    let update = PayoutUpdate {
        reference: payout.reference.clone(),
        title: payout.title.clone(),
        number: payout.number,
        amount: amount.to_string(),
        status: target.label().into(),
        what: what_happened(transition, Cents::new(payout.requested_cents), input),
        message: input.message.clone(),
        link: format!("{base_url}/antraege/{}/auszahlungen", payout.application_id),
    };
    notify(conn, outbox, payout.municipality_id, update).await?;
    Ok(target)
}

/// The sentence of the municipality's e-mail.
fn what_happened(transition: PayoutTransition, requested: Cents, input: &Input) -> String {
    match transition {
        PayoutTransition::Submit => {
            "Ihr Mittelabruf ist beim Ministerium eingegangen und wird geprüft.".into()
        }
        PayoutTransition::Withdraw => "Sie haben den Mittelabruf zurückgezogen.".into(),
        PayoutTransition::Check => match input.approved {
            Some(a) if a < requested => format!(
                "Das Ministerium hat den Mittelabruf geprüft und {a} statt der beantragten {requested} als sachlich und rechnerisch richtig festgestellt."
            ),
            _ => "Das Ministerium hat den Mittelabruf geprüft und als sachlich und rechnerisch richtig festgestellt.".into(),
        },
        PayoutTransition::Order => "Das Ministerium hat die Auszahlung angeordnet.".into(),
        PayoutTransition::SendBack => {
            "Das Ministerium hat den Mittelabruf zurückgegeben. Sie können einen neuen Mittelabruf stellen.".into()
        }
        PayoutTransition::AddToRun => match &input.run {
            Some((_, number, date)) => format!(
                "Die Zahlung ist im Zahllauf {number} an die Landeshauptkasse übergeben, Ausführung zum {}.",
                locale::day(*date)
            ),
            None => "Die Zahlung ist an die Landeshauptkasse übergeben.".into(),
        },
        PayoutTransition::MarkPaid => {
            "Der Betrag wurde auf das angegebene Konto ausgezahlt.".into()
        }
    }
}

async fn notify(
    conn: &mut PgConnection,
    outbox: &Outbox,
    municipality_id: i64,
    update: PayoutUpdate,
) -> Result<(), TransitionError> {
    let clerks = recipients(crate::accounts::db::clerks_of(conn, municipality_id).await?);
    outbox
        .enqueue_to_all(conn, &clerks, &Message::PayoutUpdate(update))
        .await?;
    Ok(())
}

/// The final payment of a settled grant (Schlusszahlung): the settlement's four eyes are the
/// payout's, so it is filed already checked (by the reviewer who proposed the settlement) and
/// ordered (by the one who confirmed it) and goes into the next payment run. Returns its id.
pub async fn order_final_payment(
    conn: &mut PgConnection,
    outbox: &Outbox,
    base_url: &str,
    grant: &GrantRow,
    (checked_by, ordered_by): (i64, i64),
    amount: Cents,
    settlement_id: i64,
) -> Result<i64, TransitionError> {
    if !may_order(checked_by, ordered_by) {
        return Err(TransitionError::FourEyes);
    }
    let items = [db::Item {
        purpose: "Schlusszahlung nach Prüfung des Verwendungsnachweises".into(),
        payee: grant.municipality_name.clone(),
        due_on: locale::today(),
        amount,
    }];
    let key = format!("settlement-{settlement_id:012}");
    let iban = grant
        .iban
        .parse::<crate::validation::Iban>()
        .map_err(|_| TransitionError::NoAccount)?;
    let new = NewPayout {
        application_id: grant.application_id,
        requested: amount,
        account_holder: &grant.account_holder,
        iban: iban.as_str(),
        account_reason: "",
        submitted_by: checked_by,
        submission_key: &key,
        items: &items,
    };
    let (id, number) = db::insert_payout(conn, &new).await?;
    let checked = Change {
        checked: Some((checked_by, amount, "")),
        ..Change::default()
    };
    let ordered = Change {
        ordered_by: Some(ordered_by),
        ..Change::default()
    };
    let steps = [
        (
            PayoutStatus::Submitted,
            PayoutStatus::Checked,
            checked,
            checked_by,
        ),
        (
            PayoutStatus::Checked,
            PayoutStatus::Ordered,
            ordered,
            ordered_by,
        ),
    ];
    for (from, to, change, by) in steps {
        db::set_status(conn, id, from, to, change).await?;
        let kind = if to == PayoutStatus::Checked {
            PayoutTransition::Check
        } else {
            PayoutTransition::Order
        };
        db::insert_event(conn, id, kind.event_kind(), Some(by), "", (from, to)).await?;
    }
    let update = PayoutUpdate {
        reference: grant.reference.clone(),
        title: grant.title.clone(),
        number,
        amount: amount.to_string(),
        status: PayoutStatus::Ordered.label().into(),
        what: "Nach der Prüfung des Verwendungsnachweises ist die Schlusszahlung angeordnet; sie geht mit dem nächsten Zahllauf an die Landeshauptkasse.".into(),
        message: String::new(),
        link: format!("{base_url}/antraege/{}/auszahlungen", grant.application_id),
    };
    notify(conn, outbox, grant.municipality_id, update).await?;
    Ok(id)
}
