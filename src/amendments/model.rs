//! Änderungsanträge without I/O: their states and transitions, the cost plan before and after,
//! and the rule that tells a mere notification from a change the ministry must decide.

use time::Date;

use crate::applications::costs::{CostItem, kind_label};
use crate::locale;
use crate::money::{Cents, Rate};

crate::stored::stored_enum! {
    /// Where a change request stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum AmendmentStatus {
        Submitted = "submitted",
        /// Within the round's allowance: in effect at once, the ministry only informed.
        Notified = "notified",
        Proposed = "proposed",
        Approved = "approved",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
    }
}

impl AmendmentStatus {
    /// As the municipality sees it: the four-eyes step is internal.
    pub fn label(self) -> &'static str {
        match self {
            AmendmentStatus::Submitted | AmendmentStatus::Proposed => "In Prüfung",
            AmendmentStatus::Notified => "Mitgeteilt",
            AmendmentStatus::Approved => "Genehmigt",
            AmendmentStatus::Rejected => "Abgelehnt",
            AmendmentStatus::Withdrawn => "Zurückgezogen",
        }
    }

    /// As the ministry sees it.
    pub fn review_label(self) -> &'static str {
        match self {
            AmendmentStatus::Submitted => "Zu entscheiden",
            AmendmentStatus::Proposed => "Vorschlag zur Bestätigung",
            other => other.label(),
        }
    }

    pub fn tag_class(self) -> &'static str {
        match self {
            AmendmentStatus::Submitted | AmendmentStatus::Proposed => "tag-soon",
            AmendmentStatus::Notified | AmendmentStatus::Approved => "tag-open",
            AmendmentStatus::Rejected | AmendmentStatus::Withdrawn => "tag-closed",
        }
    }

    /// Waiting for the ministry: only one change per grant may be open.
    pub fn is_open(self) -> bool {
        matches!(self, AmendmentStatus::Submitted | AmendmentStatus::Proposed)
    }

    /// In force: the grant's terms are those of the last such change.
    pub fn is_effective(self) -> bool {
        matches!(self, AmendmentStatus::Notified | AmendmentStatus::Approved)
    }
}

/// Who acts on a change request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Applicant,
    Reviewer,
}

/// Every change of a change request's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmendmentTransition {
    /// Filed, needing a decision.
    Submit,
    /// Filed within the allowance: notified and in effect.
    Notify,
    Propose,
    SendBack,
    Approve,
    Reject,
    Withdraw,
}

impl AmendmentTransition {
    pub fn party(self) -> Party {
        match self {
            AmendmentTransition::Submit
            | AmendmentTransition::Notify
            | AmendmentTransition::Withdraw => Party::Applicant,
            _ => Party::Reviewer,
        }
    }

    /// The state this transition leads to from `from` (`None` for a new request), or `None`
    /// where the machine forbids it.
    pub fn target(self, from: Option<AmendmentStatus>) -> Option<AmendmentStatus> {
        use AmendmentStatus::*;
        match (self, from) {
            (AmendmentTransition::Submit, None) => Some(Submitted),
            (AmendmentTransition::Notify, None) => Some(Notified),
            (AmendmentTransition::Propose, Some(Submitted)) => Some(Proposed),
            (AmendmentTransition::SendBack, Some(Proposed)) => Some(Submitted),
            (AmendmentTransition::Approve, Some(Proposed)) => Some(Approved),
            (AmendmentTransition::Reject, Some(Proposed)) => Some(Rejected),
            (AmendmentTransition::Withdraw, Some(Submitted | Proposed)) => Some(Withdrawn),
            _ => None,
        }
    }

    pub fn event_kind(self) -> &'static str {
        match self {
            AmendmentTransition::Submit => "submitted",
            AmendmentTransition::Notify => "notified",
            AmendmentTransition::Propose => "proposed",
            AmendmentTransition::SendBack => "sent_back",
            AmendmentTransition::Approve => "approved",
            AmendmentTransition::Reject => "rejected",
            AmendmentTransition::Withdraw => "withdrawn",
        }
    }
}

/// The timeline's words for an event kind; `None` for the internal four-eyes steps, which
/// only the ministry sees.
pub fn event_label(kind: &str, ministry: bool) -> Option<&'static str> {
    Some(match kind {
        "submitted" => "Änderungsantrag eingereicht",
        "notified" => "Änderung mitgeteilt und wirksam",
        "approved" => "Änderung genehmigt, Änderungsbescheid erstellt",
        "rejected" => "Änderung abgelehnt, Bescheid erstellt",
        "withdrawn" => "Änderungsantrag zurückgezogen",
        "proposed" if ministry => "Entscheidung vorgeschlagen",
        "sent_back" if ministry => "Vorschlag zurückgegeben",
        _ => return None,
    })
}

/// One row of a cost plan as it is kept with a change request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRow {
    pub kind: String,
    pub description: String,
    pub year: i32,
    pub amount: Cents,
    pub eligible: bool,
}

impl From<&CostItem> for PlanRow {
    fn from(item: &CostItem) -> Self {
        PlanRow {
            kind: item.kind.to_string(),
            description: item.description.clone(),
            year: item.year,
            amount: item.amount,
            eligible: item.eligible,
        }
    }
}

impl PlanRow {
    pub fn kind_label(&self) -> &'static str {
        kind_label(&self.kind)
    }
}

fn sum(rows: &[PlanRow], eligible_only: bool) -> Cents {
    Cents::new(
        rows.iter()
            .filter(|r| r.eligible || !eligible_only)
            .map(|r| r.amount.get())
            .sum(),
    )
}

/// All costs of a plan.
pub fn total(rows: &[PlanRow]) -> Cents {
    sum(rows, false)
}

/// The eligible costs of a plan.
pub fn eligible(rows: &[PlanRow]) -> Cents {
    sum(rows, true)
}

/// The eligible costs per year, in year order: how the grant is committed to budget years.
pub fn eligible_by_year(rows: &[PlanRow]) -> Vec<(i32, Cents)> {
    let mut years: std::collections::BTreeMap<i32, i64> = std::collections::BTreeMap::new();
    for r in rows.iter().filter(|r| r.eligible) {
        *years.entry(r.year).or_default() += r.amount.get();
    }
    years.into_iter().map(|(y, c)| (y, Cents::new(c))).collect()
}

/// Why a change needs the ministry's decision, one sentence per reason; empty when it may
/// simply be notified: the period stays, the totals stay, every row keeps its kind, year and
/// eligibility, and no row moves by more than `allowance` of its planned amount.
pub fn decision_needed(
    before: &[PlanRow],
    after: &[PlanRow],
    period_end: (Date, Date),
    allowance: Rate,
) -> Vec<String> {
    let mut reasons = Vec::new();
    let (old_end, new_end) = period_end;
    if new_end != old_end {
        let verb = if new_end > old_end {
            "verlängert"
        } else {
            "verkürzt"
        };
        reasons.push(format!(
            "Der Bewilligungszeitraum wird bis {} {verb} (bisher bis {}).",
            locale::day(new_end),
            locale::day(old_end)
        ));
    }
    if eligible(after) != eligible(before) {
        reasons.push(format!(
            "Die zuwendungsfähigen Ausgaben ändern sich von {} auf {}.",
            eligible(before),
            eligible(after)
        ));
    } else if total(after) != total(before) {
        reasons.push(format!(
            "Die Gesamtausgaben ändern sich von {} auf {}.",
            total(before),
            total(after)
        ));
    }
    let same_shape = before.len() == after.len()
        && before
            .iter()
            .zip(after)
            .all(|(b, a)| b.kind == a.kind && b.year == a.year && b.eligible == a.eligible);
    if !same_shape {
        reasons.push(
            "Kostenpositionen kommen hinzu, entfallen oder ändern ihre Art, ihr Jahr oder ihre Förderfähigkeit."
                .into(),
        );
        return reasons;
    }
    for (n, (b, a)) in before.iter().zip(after).enumerate() {
        let moved = (a.amount.get() - b.amount.get()).abs();
        let allowed = i128::from(b.amount.get()) * i128::from(allowance.basis_points()) / 10_000;
        if i128::from(moved) > allowed {
            reasons.push(format!(
                "Position {} („{}“) ändert sich um {}; ohne Entscheidung sind bis zu {} ({allowance} der Position) möglich.",
                n + 1,
                b.description,
                Cents::new(moved),
                Cents::new(i64::try_from(allowed).unwrap_or(i64::MAX)),
            ));
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn row(description: &str, year: i32, euros: i64) -> PlanRow {
        PlanRow {
            kind: "software".into(),
            description: description.into(),
            year,
            amount: Cents::from_euros(euros),
            eligible: true,
        }
    }

    const END: (Date, Date) = (date!(2027 - 12 - 31), date!(2027 - 12 - 31));
    const TWENTY: Rate = Rate::from_basis_points(2000);

    #[test]
    fn shifting_within_the_allowance_with_the_same_total_is_only_notified() {
        let before = [row("Lizenzen", 2027, 10_000), row("Schulung", 2027, 5_000)];
        // 2.000 € of 10.000 € is exactly 20 %; the other item grows by 2.000 € of 5.000 €
        // (40 %), which is more than its own allowance.
        let after = [row("Lizenzen", 2027, 8_000), row("Schulung", 2027, 7_000)];
        let reasons = decision_needed(&before, &after, END, TWENTY);
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(reasons[0].starts_with("Position 2 („Schulung“) ändert sich um 2.000,00\u{a0}€"));
        let after = [row("Lizenzen", 2027, 9_000), row("Schulung", 2027, 6_000)];
        assert!(decision_needed(&before, &after, END, TWENTY).is_empty());
    }

    #[test]
    fn a_longer_period_a_new_total_or_a_new_row_needs_a_decision() {
        let before = [row("Lizenzen", 2027, 10_000)];
        let longer = (END.0, date!(2028 - 06 - 30));
        assert_eq!(
            decision_needed(&before, &before, longer, TWENTY),
            ["Der Bewilligungszeitraum wird bis 30.06.2028 verlängert (bisher bis 31.12.2027)."]
        );
        let lower = [row("Lizenzen", 2027, 9_000)];
        assert!(
            decision_needed(&before, &lower, END, TWENTY)[0]
                .contains("von 10.000,00\u{a0}€ auf 9.000,00\u{a0}€")
        );
        let moved_year = [row("Lizenzen", 2028, 10_000)];
        assert_eq!(decision_needed(&before, &moved_year, END, TWENTY).len(), 1);
        // With no allowance every shift needs a decision.
        let before = [row("a", 2027, 100), row("b", 2027, 100)];
        let after = [row("a", 2027, 99), row("b", 2027, 101)];
        assert_eq!(
            decision_needed(&before, &after, END, Rate::from_basis_points(0)).len(),
            2
        );
    }

    #[test]
    fn only_the_named_transitions_exist() {
        use AmendmentStatus::*;
        use AmendmentTransition as T;
        assert_eq!(T::Submit.target(None), Some(Submitted));
        assert_eq!(
            T::Approve.target(Some(Submitted)),
            None,
            "four eyes: propose first"
        );
        assert_eq!(T::Approve.target(Some(Proposed)), Some(Approved));
        assert_eq!(T::Withdraw.target(Some(Approved)), None);
        assert_eq!(T::Withdraw.target(Some(Notified)), None);
        assert_eq!(T::Propose.party(), Party::Reviewer);
    }
}
