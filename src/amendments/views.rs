//! What the change pages and the Änderungsbescheid show, formatted once: the plan before and
//! after side by side with the difference per row, and the request's figures.

use super::db::{AmendmentRow, EventRow};
use super::model::{AmendmentStatus, PlanRow, event_label, total};
use crate::locale;
use crate::money::Cents;

/// One row of the comparison: a position as it was and as it is asked for.
pub struct ComparisonRow {
    pub position: usize,
    pub kind: &'static str,
    pub description: String,
    pub year: String,
    pub before: String,
    pub after: String,
    pub difference: String,
    pub changed: bool,
}

/// The plan before and after, row by row (matched by position), and the sums, each exact to
/// the cent: the sum row is the sum of the rows shown.
pub struct Comparison {
    pub rows: Vec<ComparisonRow>,
    pub before_total: String,
    pub after_total: String,
    pub difference_total: String,
}

impl Comparison {
    pub fn new(before: &[PlanRow], after: &[PlanRow]) -> Self {
        let rows = (0..before.len().max(after.len()))
            .map(|i| {
                let (b, a) = (before.get(i), after.get(i));
                let shown = a.or(b).expect("one of both plans has the row");
                let amount = |r: Option<&PlanRow>| r.map_or(0, |r| r.amount.get());
                let described = |r: &PlanRow| {
                    if r.eligible {
                        r.description.clone()
                    } else {
                        format!("{} (nicht förderfähig)", r.description)
                    }
                };
                ComparisonRow {
                    position: i + 1,
                    kind: shown.kind_label(),
                    description: match (b, a) {
                        (Some(b), Some(a)) if b.description != a.description => {
                            format!("{} (bisher: {})", described(a), b.description)
                        }
                        _ => described(shown),
                    },
                    year: match (b, a) {
                        (Some(b), Some(a)) if b.year != a.year => {
                            format!("{} (bisher {})", a.year, b.year)
                        }
                        _ => shown.year.to_string(),
                    },
                    before: b.map_or_else(|| "neu".into(), |r| r.amount.to_string()),
                    after: a.map_or_else(|| "entfällt".into(), |r| r.amount.to_string()),
                    difference: Cents::new(amount(a) - amount(b)).signed(),
                    changed: b != a,
                }
            })
            .collect();
        Comparison {
            rows,
            before_total: total(before).to_string(),
            after_total: total(after).to_string(),
            difference_total: Cents::new(total(after).get() - total(before).get()).signed(),
        }
    }

    /// The table's cells for the notice, the sum row last.
    pub fn cells(&self) -> Vec<Vec<String>> {
        let mut cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.position.to_string(),
                    format!("{}: {}", r.kind, r.description),
                    r.year.clone(),
                    r.before.clone(),
                    r.after.clone(),
                    r.difference.clone(),
                ]
            })
            .collect();
        cells.push(vec![
            String::new(),
            "Summe".into(),
            String::new(),
            self.before_total.clone(),
            self.after_total.clone(),
            self.difference_total.clone(),
        ]);
        cells
    }
}

/// A request in a list, and the figures of its page.
pub struct AmendmentLine {
    pub id: i64,
    pub application_id: i64,
    pub number: i32,
    pub reference: String,
    pub title: String,
    pub municipality: String,
    pub submitted_at: String,
    pub status: AmendmentStatus,
    pub old_period: String,
    pub new_period: String,
    pub period_changed: bool,
    pub old_granted: String,
    pub new_granted: String,
    pub granted_changed: bool,
    pub old_eligible: String,
    pub new_eligible: String,
    pub reason: String,
    pub needs_decision: Vec<String>,
    pub proposal: String,
    pub proposal_note: String,
    pub proposed_by: String,
    pub settled: String,
    pub has_notice: bool,
}

impl AmendmentLine {
    pub fn new(a: &AmendmentRow) -> Self {
        let period = |end| locale::period(Some(a.period_start), Some(end));
        AmendmentLine {
            id: a.id,
            application_id: a.application_id,
            number: a.number,
            reference: a.reference.clone(),
            title: a.title.clone(),
            municipality: a.municipality_name.clone(),
            submitted_at: locale::date(a.submitted_at),
            status: a.status,
            old_period: period(a.old_period_end),
            new_period: period(a.new_period_end),
            period_changed: a.old_period_end != a.new_period_end,
            old_granted: Cents::new(a.old_granted_cents).to_string(),
            new_granted: Cents::new(a.new_granted_cents).to_string(),
            granted_changed: a.old_granted_cents != a.new_granted_cents,
            old_eligible: Cents::new(a.old_eligible_cents).to_string(),
            new_eligible: Cents::new(a.new_eligible_cents).to_string(),
            reason: a.reason.clone(),
            needs_decision: a.needs_decision.clone(),
            proposal: match a.approve {
                Some(true) => "Genehmigen".into(),
                Some(false) => "Ablehnen".into(),
                None => String::new(),
            },
            proposal_note: a.proposal_note.clone(),
            proposed_by: a.proposed_by_name.clone().unwrap_or_default(),
            settled: match (&a.settled_by_name, a.settled_at) {
                (Some(name), Some(at)) => format!("{name}, {}", locale::date(at)),
                _ => String::new(),
            },
            has_notice: a.has_notice,
        }
    }
}

pub struct EventView {
    pub at: String,
    pub at_iso: String,
    pub label: &'static str,
    pub actor: String,
    pub message: String,
}

/// The timeline; the ministry also sees its internal four-eyes steps.
pub fn timeline(events: &[EventRow], ministry: bool) -> Vec<EventView> {
    events
        .iter()
        .filter_map(|e| {
            Some(EventView {
                at: locale::date_time(e.at),
                at_iso: locale::iso(e.at),
                label: event_label(&e.kind, ministry)?,
                actor: e.actor.clone().unwrap_or_default(),
                message: e.message.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(description: &str, euros: i64) -> PlanRow {
        PlanRow {
            kind: "software".into(),
            description: description.into(),
            year: 2027,
            amount: Cents::from_euros(euros),
            eligible: true,
        }
    }

    #[test]
    fn the_comparison_shows_new_and_dropped_rows_and_its_sums_add_up() {
        let before = [row("Lizenzen", 10_000), row("Schulung", 5_000)];
        let after = [row("Lizenzen", 12_000)];
        let c = Comparison::new(&before, &after);
        assert_eq!(c.rows[0].difference, "+2.000,00\u{a0}€");
        assert_eq!(c.rows[1].after, "entfällt");
        assert_eq!(c.rows[1].difference, "−5.000,00\u{a0}€");
        assert_eq!(c.difference_total, "−3.000,00\u{a0}€");
        let c = Comparison::new(&after, &before);
        assert_eq!(c.rows[1].before, "neu");
        assert_eq!(c.cells().last().unwrap()[4], "15.000,00\u{a0}€");
    }
}
