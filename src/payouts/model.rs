//! Payout rules without I/O: the states of a payout request (Mittelabruf) and who moves it on,
//! and what a grant still allows to be requested. Everything in cents.

use crate::money::{Cents, Rate};

crate::stored::stored_enum! {
    /// Where a payout request stands (design.md, "After the award").
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum PayoutStatus {
        Draft = "draft",
        Submitted = "submitted",
        /// Found *sachlich und rechnerisch richtig* by one reviewer.
        Checked = "checked",
        /// The *Auszahlungsanordnung*, given by a second reviewer.
        Ordered = "ordered",
        InRun = "in_run",
        Paid = "paid",
        /// Sent back with a reason; the municipality may file a new request.
        Returned = "returned",
        Withdrawn = "withdrawn",
    }
}

impl PayoutStatus {
    /// As the municipality sees it.
    pub fn label(self) -> &'static str {
        match self {
            PayoutStatus::Draft => "Entwurf",
            PayoutStatus::Submitted => "Eingereicht",
            PayoutStatus::Checked => "Geprüft",
            PayoutStatus::Ordered => "Zur Zahlung angeordnet",
            PayoutStatus::InRun => "Im Zahllauf",
            PayoutStatus::Paid => "Ausgezahlt",
            PayoutStatus::Returned => "Zurückgegeben",
            PayoutStatus::Withdrawn => "Zurückgezogen",
        }
    }

    /// The tag's colour on the pages.
    pub fn tag_class(self) -> &'static str {
        match self {
            PayoutStatus::Draft => "tag-draft",
            PayoutStatus::Paid => "tag-open",
            PayoutStatus::Returned | PayoutStatus::Withdrawn => "tag-closed",
            PayoutStatus::Submitted
            | PayoutStatus::Checked
            | PayoutStatus::Ordered
            | PayoutStatus::InRun => "tag-soon",
        }
    }

    /// Still on its way to the municipality's account: it counts against what may be requested.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            PayoutStatus::Submitted
                | PayoutStatus::Checked
                | PayoutStatus::Ordered
                | PayoutStatus::InRun
        )
    }
}

/// Who acts on a payout request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutParty {
    /// A clerk of the funded municipality.
    Applicant,
    /// Ministry staff.
    Reviewer,
}

/// Every change of a payout request's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayoutTransition {
    Submit,
    Withdraw,
    Check,
    Order,
    SendBack,
    AddToRun,
    MarkPaid,
}

impl PayoutTransition {
    pub fn party(self) -> PayoutParty {
        match self {
            PayoutTransition::Submit | PayoutTransition::Withdraw => PayoutParty::Applicant,
            _ => PayoutParty::Reviewer,
        }
    }

    /// The state this transition leads to from `from`, or `None` where the procedure forbids it.
    /// A request can be withdrawn only before it is checked, and sent back only before the
    /// payment is ordered.
    pub fn target(self, from: PayoutStatus) -> Option<PayoutStatus> {
        use PayoutStatus::*;
        match (self, from) {
            (PayoutTransition::Submit, Draft) => Some(Submitted),
            (PayoutTransition::Withdraw, Draft | Submitted) => Some(Withdrawn),
            (PayoutTransition::Check, Submitted) => Some(Checked),
            (PayoutTransition::Order, Checked) => Some(Ordered),
            (PayoutTransition::SendBack, Submitted | Checked) => Some(Returned),
            (PayoutTransition::AddToRun, Ordered) => Some(InRun),
            (PayoutTransition::MarkPaid, InRun) => Some(Paid),
            _ => None,
        }
    }

    /// The event kind written to the payout's timeline.
    pub fn event_kind(self) -> &'static str {
        match self {
            PayoutTransition::Submit => "submitted",
            PayoutTransition::Withdraw => "withdrawn",
            PayoutTransition::Check => "checked",
            PayoutTransition::Order => "ordered",
            PayoutTransition::SendBack => "returned",
            PayoutTransition::AddToRun => "added_to_run",
            PayoutTransition::MarkPaid => "paid",
        }
    }
}

/// The four-eyes rule of budget law: the payment is ordered by someone other than the reviewer
/// who found the request correct (the database holds the same rule as a constraint).
pub fn may_order(checked_by: i64, ordering: i64) -> bool {
    checked_by != ordering
}

/// What a grant allows to be paid out, exact to the cent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balance {
    pub granted: Cents,
    pub paid: Cents,
    /// Requested and not yet paid (submitted, checked, ordered, in a run).
    pub pending: Cents,
    /// Paid only after the proof of use has been checked.
    pub retained: Cents,
}

impl Balance {
    /// `retained_share` of the grant, rounded up to the cent: never less than the round keeps back.
    pub fn new(granted: Cents, paid: Cents, pending: Cents, retained_share: Rate) -> Self {
        let bp = i128::from(retained_share.basis_points());
        let retained = (i128::from(granted.get()) * bp + 9_999) / 10_000;
        Balance {
            granted,
            paid,
            pending,
            retained: Cents::new(i64::try_from(retained).unwrap_or(i64::MAX)),
        }
    }

    /// What may still be requested now: the grant less what is paid, pending and retained.
    pub fn available(&self) -> Cents {
        let rest = self.granted.get() - self.paid.get() - self.pending.get() - self.retained.get();
        Cents::new(rest.max(0))
    }

    /// Why `amount` cannot be requested, in the municipality's words, or `None` if it can.
    pub fn refusal(&self, amount: Cents) -> Option<String> {
        let before_retention = self.granted.get() - self.paid.get() - self.pending.get();
        if amount <= Cents::ZERO {
            Some("Der Betrag muss größer als 0 € sein.".into())
        } else if amount.get() > before_retention {
            Some(format!(
                "Es können höchstens {} abgerufen werden: die Zuwendung abzüglich des schon Ausgezahlten und der offenen Abrufe.",
                Cents::new(before_retention.max(0))
            ))
        } else if amount > self.available() {
            Some(format!(
                "Es können höchstens {} abgerufen werden. {} der Zuwendung werden erst nach der Prüfung des Verwendungsnachweises ausgezahlt.",
                self.available(),
                self.retained
            ))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn balance(granted: i64, paid: i64, pending: i64) -> Balance {
        Balance::new(
            Cents::from_euros(granted),
            Cents::from_euros(paid),
            Cents::from_euros(pending),
            Rate::from_basis_points(1000),
        )
    }

    #[test]
    fn the_retained_tenth_cannot_be_requested() {
        let b = balance(100_000, 0, 0);
        assert_eq!(b.retained, Cents::from_euros(10_000));
        assert_eq!(b.available(), Cents::from_euros(90_000));
        assert_eq!(b.refusal(Cents::from_euros(90_000)), None);
        let refused = b.refusal(Cents::new(9_000_001)).unwrap();
        assert!(refused.contains("90.000,00"), "{refused}");
        assert!(refused.contains("Verwendungsnachweis"), "{refused}");
    }

    #[test]
    fn paid_and_pending_amounts_count_against_the_grant() {
        let b = balance(100_000, 30_000, 50_000);
        assert_eq!(b.available(), Cents::from_euros(10_000));
        let refused = b.refusal(Cents::from_euros(25_000)).unwrap();
        assert!(refused.contains("20.000,00"), "{refused}");
        assert!(b.refusal(Cents::ZERO).is_some());
    }

    #[test]
    fn the_retained_share_is_rounded_up_to_the_cent() {
        let b = Balance::new(
            Cents::new(100_001),
            Cents::ZERO,
            Cents::ZERO,
            Rate::from_basis_points(1000),
        );
        assert_eq!(b.retained, Cents::new(10_001));
        assert_eq!(b.available(), Cents::new(90_000));
    }

    #[test]
    fn requests_move_through_the_procedure_and_nowhere_else() {
        use PayoutStatus::*;
        use PayoutTransition::*;
        let path = [
            (Submit, Draft, Submitted),
            (Check, Submitted, Checked),
            (Order, Checked, Ordered),
            (AddToRun, Ordered, InRun),
            (MarkPaid, InRun, Paid),
        ];
        for (transition, from, to) in path {
            assert_eq!(transition.target(from), Some(to), "{transition:?}");
        }
        assert_eq!(
            Withdraw.target(Checked),
            None,
            "withdrawn only before the check"
        );
        assert_eq!(
            SendBack.target(Ordered),
            None,
            "an ordered payment is not sent back"
        );
        assert_eq!(MarkPaid.target(Ordered), None, "paid only through a run");
        assert_eq!(Withdraw.party(), PayoutParty::Applicant);
        assert_eq!(Order.party(), PayoutParty::Reviewer);
        assert!(!may_order(7, 7));
        assert!(may_order(7, 8));
    }
}
