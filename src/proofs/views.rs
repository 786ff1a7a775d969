//! What the proof's pages and the Schlussbescheid show, formatted once for the municipality's
//! and the ministry's pages alike.

use super::db::{EventRow, ReceiptRow, SettlementRow};
use super::model::{NumericalProof, PayoutInterest};
use crate::locale;
use crate::money::Cents;

/// One cost item of the numerical proof.
pub struct ItemLine {
    pub position: i32,
    pub label: String,
    pub eligible: bool,
    pub planned: String,
    pub actual: String,
    pub difference: String,
    pub receipts: usize,
}

/// The zahlenmäßiger Nachweis as the pages show it.
pub struct NumericalView {
    pub items: Vec<ItemLine>,
    pub planned_total: String,
    pub actual_total: String,
    pub difference_total: String,
    pub planned_eligible: String,
    pub actual_eligible: String,
}

impl NumericalView {
    pub fn new(n: &NumericalProof) -> Self {
        NumericalView {
            items: n
                .items
                .iter()
                .map(|i| ItemLine {
                    position: i.position,
                    label: i.label.clone(),
                    eligible: i.eligible,
                    planned: i.planned.to_string(),
                    actual: i.actual.to_string(),
                    difference: i.difference().signed(),
                    receipts: i.receipts,
                })
                .collect(),
            planned_total: n.planned_total.to_string(),
            actual_total: n.actual_total.to_string(),
            difference_total: n.difference().signed(),
            planned_eligible: n.planned_eligible.to_string(),
            actual_eligible: n.actual_eligible.to_string(),
        }
    }
}

pub struct ReceiptLine {
    pub id: i64,
    pub paid_on: String,
    pub payee: String,
    pub purpose: String,
    pub cost_position: i32,
    pub amount: String,
}

/// The Belegliste and its sum.
pub fn receipt_lines(rows: &[ReceiptRow]) -> (Vec<ReceiptLine>, String) {
    let lines = rows
        .iter()
        .map(|r| ReceiptLine {
            id: r.id,
            paid_on: locale::day(r.receipt.paid_on),
            payee: r.receipt.payee.clone(),
            purpose: r.receipt.purpose.clone(),
            cost_position: r.receipt.cost_position,
            amount: r.receipt.amount.to_string(),
        })
        .collect();
    let total = Cents::new(rows.iter().map(|r| r.receipt.amount.get()).sum());
    (lines, total.to_string())
}

/// One payout's interest in a repayment demand.
pub struct InterestLine {
    pub paid_on: String,
    pub repaid: String,
    pub days: i64,
    pub interest: String,
}

/// A settlement's figures; the rows of the table add up (planned and actual costs aside):
/// recognised − … = final grant; final grant − paid = balance.
pub struct SettlementView {
    pub state_label: &'static str,
    pub checklist: Vec<(&'static str, bool)>,
    pub note: String,
    pub planned_eligible: String,
    pub actual_eligible: String,
    pub disallowed: String,
    pub has_disallowed: bool,
    pub recognised: String,
    pub granted: String,
    pub final_grant: String,
    pub paid: String,
    /// "Restzahlung" or "Rückforderung", and the amount without sign.
    pub balance_label: &'static str,
    pub balance: String,
    pub balance_cents: i64,
    pub repayment: bool,
    pub interest: Vec<InterestLine>,
    pub interest_total: String,
    pub interest_until: String,
    pub demand_total: String,
    pub repayment_due_on: String,
    pub proposed_by: String,
    pub proposed_by_id: i64,
    pub settled: String,
    pub has_notice: bool,
    pub open: bool,
}

impl SettlementView {
    pub fn new(s: &SettlementRow, interest: &[PayoutInterest]) -> Self {
        use crate::review::model::DecisionState;
        let balance = Cents::new(s.balance_cents);
        let repayment = balance < Cents::ZERO;
        let interest_total = Cents::new(s.interest_cents);
        SettlementView {
            state_label: match s.state {
                DecisionState::Proposed => "Vorgeschlagen, wartet auf Bestätigung",
                DecisionState::Confirmed => "Bestätigt",
                DecisionState::SentBack => "Zurückgegeben",
            },
            checklist: super::db::CHECKLIST
                .iter()
                .zip(&s.checklist)
                .map(|((_, label), done)| (*label, *done))
                .collect(),
            note: s.note.clone(),
            planned_eligible: Cents::new(s.planned_eligible_cents).to_string(),
            actual_eligible: Cents::new(s.actual_eligible_cents).to_string(),
            disallowed: Cents::new(s.disallowed_cents).to_string(),
            has_disallowed: s.disallowed_cents > 0,
            recognised: Cents::new(s.actual_eligible_cents - s.disallowed_cents).to_string(),
            granted: Cents::new(s.granted_cents).to_string(),
            final_grant: Cents::new(s.final_grant_cents).to_string(),
            paid: Cents::new(s.paid_cents).to_string(),
            balance_label: if repayment {
                "Rückforderung"
            } else {
                "Restzahlung"
            },
            balance: Cents::new(s.balance_cents.abs()).to_string(),
            balance_cents: s.balance_cents,
            repayment,
            interest: interest
                .iter()
                .map(|i| InterestLine {
                    paid_on: locale::day(i.paid_on),
                    repaid: i.repaid.to_string(),
                    days: i.days,
                    interest: i.interest.to_string(),
                })
                .collect(),
            interest_total: interest_total.to_string(),
            interest_until: s.interest_until.map(locale::day).unwrap_or_default(),
            demand_total: Cents::new(s.balance_cents.abs() + s.interest_cents).to_string(),
            repayment_due_on: s.repayment_due_on.map(locale::day).unwrap_or_default(),
            proposed_by: s.proposed_by_name.clone(),
            proposed_by_id: s.proposed_by,
            settled: match (&s.settled_by_name, s.settled_at) {
                (Some(name), Some(at)) => format!("{name}, {}", locale::date(at)),
                _ => String::new(),
            },
            has_notice: s.has_notice,
            open: s.state == DecisionState::Proposed,
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

/// The timeline; the ministry also sees its internal four-eyes steps on the settlement.
pub fn timeline(events: &[EventRow], ministry: bool) -> Vec<EventView> {
    events
        .iter()
        .filter(|e| ministry || !e.kind.starts_with("settlement_"))
        .map(|e| EventView {
            at: locale::date_time(e.at),
            at_iso: locale::iso(e.at),
            label: super::workflow::event_label(&e.kind),
            actor: e.actor.clone().unwrap_or_default(),
            message: e.message.clone(),
        })
        .collect()
}
