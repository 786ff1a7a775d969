//! The proof of use and the settlement without I/O: the proof's states and sections, the
//! numerical proof (planned beside actual per cost item), and the settlement's arithmetic: the
//! final grant, what is still paid or demanded back, and the interest on a repayment (§ 49a
//! Abs. 3 VwVfG) per payout and day, exact to the cent.

use time::Date;

use crate::amendments::model::PlanRow;
use crate::money::Cents;
use crate::programmes::model::GrantBasis;

crate::stored::stored_enum! {
    /// Where a Verwendungsnachweis stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum ProofStatus {
        Draft = "draft",
        Submitted = "submitted",
        /// Sent back by the ministry for more (Nachforderung): editable again.
        ChangesRequested = "changes_requested",
        /// Checked and settled with the Schlussbescheid.
        Settled = "settled",
    }
}

impl ProofStatus {
    pub fn label(self) -> &'static str {
        match self {
            ProofStatus::Draft => "Entwurf",
            ProofStatus::Submitted => "Eingereicht",
            ProofStatus::ChangesRequested => "Nachforderung",
            ProofStatus::Settled => "Abgerechnet",
        }
    }

    pub fn tag_class(self) -> &'static str {
        match self {
            ProofStatus::Draft => "tag-draft",
            ProofStatus::Submitted => "tag-soon",
            ProofStatus::ChangesRequested => "tag-action",
            ProofStatus::Settled => "tag-open",
        }
    }

    /// The municipality may change it.
    pub fn is_editable(self) -> bool {
        matches!(self, ProofStatus::Draft | ProofStatus::ChangesRequested)
    }
}

/// The parts of the proof, in the order of its task list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofSection {
    Report,
    Receipts,
    Financing,
    Attachments,
}

impl ProofSection {
    pub const ALL: [ProofSection; 4] = [
        ProofSection::Report,
        ProofSection::Receipts,
        ProofSection::Financing,
        ProofSection::Attachments,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            ProofSection::Report => "sachbericht",
            ProofSection::Receipts => "belege",
            ProofSection::Financing => "finanzierung",
            ProofSection::Attachments => "anlagen",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProofSection::Report => "Sachbericht",
            ProofSection::Receipts => "Zahlenmäßiger Nachweis und Belegliste",
            ProofSection::Financing => "Finanzierung und Erklärungen",
            ProofSection::Attachments => "Anlagen (optional)",
        }
    }
}

/// When the proof of use is due: `months` after the project's end, on the same day of the
/// month or the month's last day (31.08. + 6 months = 28./29.02.).
pub fn due_on(period_end: Date, months: i32) -> Date {
    crate::locale::add_months(period_end, months)
}

/// One payment of the Belegliste.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub paid_on: Date,
    pub payee: String,
    pub purpose: String,
    /// The position of the cost item in the plan in force (1, 2, …).
    pub cost_position: i32,
    pub amount: Cents,
}

/// One cost item: planned (lt. Bescheid) beside actual (lt. Abrechnung).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemProof {
    pub position: i32,
    pub label: String,
    pub eligible: bool,
    pub planned: Cents,
    pub actual: Cents,
    pub receipts: usize,
}

impl ItemProof {
    pub fn difference(&self) -> Cents {
        Cents::new(self.actual.get() - self.planned.get())
    }
}

/// The zahlenmäßiger Nachweis: per cost item and in total, every sum the sum of its rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumericalProof {
    pub items: Vec<ItemProof>,
    pub planned_total: Cents,
    pub actual_total: Cents,
    pub planned_eligible: Cents,
    pub actual_eligible: Cents,
}

impl NumericalProof {
    pub fn new(plan: &[PlanRow], receipts: &[Receipt]) -> Self {
        let items: Vec<ItemProof> = plan
            .iter()
            .zip(1..)
            .map(|(row, position)| {
                let booked = receipts.iter().filter(|r| r.cost_position == position);
                ItemProof {
                    position,
                    label: format!("{}: {}", row.kind_label(), row.description),
                    eligible: row.eligible,
                    planned: row.amount,
                    actual: Cents::new(booked.clone().map(|r| r.amount.get()).sum()),
                    receipts: booked.count(),
                }
            })
            .collect();
        let sum = |f: &dyn Fn(&ItemProof) -> Option<Cents>| {
            Cents::new(items.iter().filter_map(f).map(Cents::get).sum())
        };
        NumericalProof {
            planned_total: sum(&|i| Some(i.planned)),
            actual_total: sum(&|i| Some(i.actual)),
            planned_eligible: sum(&|i| i.eligible.then_some(i.planned)),
            actual_eligible: sum(&|i| i.eligible.then_some(i.actual)),
            items,
        }
    }

    pub fn difference(&self) -> Cents {
        Cents::new(self.actual_total.get() - self.planned_total.get())
    }
}

/// A payout that reached the municipality.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaidPayout {
    pub id: i64,
    pub paid_on: Date,
    pub amount: Cents,
}

/// The interest on the part of one payout that is demanded back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayoutInterest {
    pub payout_id: i64,
    pub paid_on: Date,
    pub repaid: Cents,
    pub days: i64,
    pub interest: Cents,
}

/// What the settlement works from.
#[derive(Clone, Debug)]
pub struct SettlementInput<'a> {
    pub basis: GrantBasis,
    /// Eligible costs as proven, and what of them the ministry does not recognise.
    pub actual_eligible: Cents,
    pub disallowed: Cents,
    /// Own share, third-party and other public money as realised.
    pub other_funds: Cents,
    pub paid: &'a [PaidPayout],
    /// Interest runs up to (not including) this day: the day of the Schlussbescheid.
    pub interest_until: Date,
    /// The Basiszinssatz: (valid from, basis points), in any order.
    pub base_rates: &'a [(Date, i32)],
    /// Basis points above the base rate (§ 49a Abs. 3 VwVfG: 500).
    pub margin_bp: i32,
}

/// The settlement's figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    pub recognised: Cents,
    pub final_grant: Cents,
    pub paid: Cents,
    /// Final grant minus paid: still to pay (> 0) or to be repaid (< 0).
    pub balance: Cents,
    pub interest: Vec<PayoutInterest>,
}

impl Settlement {
    pub fn new(input: &SettlementInput<'_>) -> Self {
        let recognised = Cents::new((input.actual_eligible.get() - input.disallowed.get()).max(0));
        let final_grant = input.basis.grant_for(recognised, input.other_funds);
        let paid = Cents::new(input.paid.iter().map(|p| p.amount.get()).sum());
        let balance = Cents::new(final_grant.get() - paid.get());
        let interest = if balance < Cents::ZERO {
            repayment_interest(input, Cents::new(-balance.get()))
        } else {
            Vec::new()
        };
        Settlement {
            recognised,
            final_grant,
            paid,
            balance,
            interest,
        }
    }

    pub fn interest_total(&self) -> Cents {
        Cents::new(self.interest.iter().map(|i| i.interest.get()).sum())
    }

    /// What is demanded back, without interest.
    pub fn repayment(&self) -> Cents {
        Cents::new((-self.balance.get()).max(0))
    }
}

/// The overpayment is taken from the payouts made last (they were needed least), and each
/// part bears interest from its payout day at the base rate of each day plus the margin (never
/// below zero), on 365 days a year; rounded down to the cent once per payout.
fn repayment_interest(input: &SettlementInput<'_>, overpaid: Cents) -> Vec<PayoutInterest> {
    let mut paid: Vec<PaidPayout> = input.paid.to_vec();
    paid.sort_by_key(|p| std::cmp::Reverse((p.paid_on, p.id)));
    let mut rates: Vec<(Date, i32)> = input.base_rates.to_vec();
    rates.sort_unstable();
    let rate_on = |day: Date| {
        let base = rates
            .iter()
            .rev()
            .find(|(from, _)| *from <= day)
            .map_or(0, |(_, bp)| *bp);
        i128::from((base + input.margin_bp).max(0))
    };
    let mut left = overpaid.get();
    let mut parts = Vec::new();
    for p in paid {
        if left <= 0 {
            break;
        }
        let repaid = left.min(p.amount.get());
        left -= repaid;
        let mut day = p.paid_on;
        let mut basis_point_days: i128 = 0;
        let mut days = 0;
        while day < input.interest_until {
            basis_point_days += rate_on(day);
            days += 1;
            day = day.next_day().unwrap_or(Date::MAX);
        }
        let interest = i128::from(repaid) * basis_point_days / (10_000 * 365);
        parts.push(PayoutInterest {
            payout_id: p.id,
            paid_on: p.paid_on,
            repaid: Cents::new(repaid),
            days,
            interest: Cents::new(i64::try_from(interest).unwrap_or(i64::MAX)),
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programmes::model::FinancingType;
    use time::macros::date;

    const RATES: [(Date, i32); 3] = [
        (date!(2024 - 07 - 01), 337),
        (date!(2025 - 01 - 01), 227),
        (date!(2025 - 07 - 01), 127),
    ];

    fn basis(financing: FinancingType) -> GrantBasis {
        GrantBasis {
            financing,
            granted: Cents::from_euros(80_000),
            eligible: Cents::from_euros(100_000),
        }
    }

    fn input<'a>(
        financing: FinancingType,
        actual: i64,
        paid: &'a [PaidPayout],
    ) -> SettlementInput<'a> {
        SettlementInput {
            basis: basis(financing),
            actual_eligible: Cents::from_euros(actual),
            disallowed: Cents::ZERO,
            other_funds: Cents::from_euros(20_000),
            paid,
            interest_until: date!(2025 - 07 - 15),
            base_rates: &RATES,
            margin_bp: 500,
        }
    }

    #[test]
    fn a_share_grant_settled_below_plan_pays_the_rest_or_demands_the_overpayment() {
        // 90.000 € instead of 100.000 €: 80 % of it is 72.000 €.
        let paid = [PaidPayout {
            id: 1,
            paid_on: date!(2025 - 01 - 15),
            amount: Cents::from_euros(60_000),
        }];
        let s = Settlement::new(&input(FinancingType::Share, 90_000, &paid));
        assert_eq!(s.final_grant, Cents::from_euros(72_000));
        assert_eq!(s.balance, Cents::from_euros(12_000), "still to pay");
        assert!(s.interest.is_empty());
        // 76.000 € paid: 4.000 € come back.
        let paid = [PaidPayout {
            amount: Cents::from_euros(76_000),
            ..paid[0]
        }];
        let s = Settlement::new(&input(FinancingType::Share, 90_000, &paid));
        assert_eq!(s.repayment(), Cents::from_euros(4_000));
    }

    #[test]
    fn a_deficit_grant_counts_the_other_funds_in_full() {
        // 90.000 € costs, 20.000 € own and other funds: the deficit is 70.000 €.
        let s = Settlement::new(&input(FinancingType::Deficit, 90_000, &[]));
        assert_eq!(s.final_grant, Cents::from_euros(70_000));
        // Disallowed costs come off first: 90.000 − 5.000 − 20.000 = 65.000 €.
        let mut i = input(FinancingType::Deficit, 90_000, &[]);
        i.disallowed = Cents::from_euros(5_000);
        let s = Settlement::new(&i);
        assert_eq!(s.recognised, Cents::from_euros(85_000));
        assert_eq!(s.final_grant, Cents::from_euros(65_000));
    }

    #[test]
    fn interest_runs_per_payout_and_day_at_the_rate_of_each_day() {
        // 10.000 € to be repaid, paid out on 15.01.2025, interest until 15.07.2025:
        // 167 days at 2,27 % + 5 % = 7,27 % (to 30.06.) and 14 days at 6,27 %:
        // 1.000.000 ct × (167 × 727 + 14 × 627) / (10.000 × 365) = 35.667,67 ct → 356,67 €.
        let paid = [PaidPayout {
            id: 7,
            paid_on: date!(2025 - 01 - 15),
            amount: Cents::from_euros(82_000),
        }];
        let s = Settlement::new(&input(FinancingType::Share, 90_000, &paid));
        assert_eq!(s.repayment(), Cents::from_euros(10_000));
        assert_eq!(
            s.interest,
            [PayoutInterest {
                payout_id: 7,
                paid_on: date!(2025 - 01 - 15),
                repaid: Cents::from_euros(10_000),
                days: 181,
                interest: Cents::new(35_667),
            }]
        );
    }

    #[test]
    fn the_overpayment_is_taken_from_the_last_payouts_first() {
        // 72.000 € final grant, 80.000 € paid in three payouts: 8.000 € come back.
        let paid = [
            PaidPayout {
                id: 1,
                paid_on: date!(2025 - 03 - 01),
                amount: Cents::from_euros(40_000),
            },
            PaidPayout {
                id: 2,
                paid_on: date!(2025 - 06 - 01),
                amount: Cents::from_euros(5_000),
            },
            PaidPayout {
                id: 3,
                paid_on: date!(2025 - 05 - 01),
                amount: Cents::from_euros(35_000),
            },
        ];
        let s = Settlement::new(&input(FinancingType::Share, 90_000, &paid));
        assert_eq!(s.repayment(), Cents::from_euros(8_000));
        let parts: Vec<(i64, Cents, i64)> = s
            .interest
            .iter()
            .map(|i| (i.payout_id, i.repaid, i.days))
            .collect();
        // 5.000 € of the last payout (01.06., 44 days), 3.000 € of the one before (01.05., 75 days).
        assert_eq!(
            parts,
            [
                (2, Cents::from_euros(5_000), 44),
                (3, Cents::from_euros(3_000), 75)
            ]
        );
        // June at 7,27 %, 1–14 July at 6,27 %:
        // 500.000 ct × (30 × 727 + 14 × 627) / 3.650.000 = 4.190,14 ct → 41,90 €;
        // 300.000 ct × (61 × 727 + 14 × 627) / 3.650.000 = 4.366,44 ct → 43,66 €.
        assert_eq!(s.interest[0].interest, Cents::new(4_190));
        assert_eq!(s.interest[1].interest, Cents::new(4_366));
        assert_eq!(s.interest_total(), Cents::new(8_556));
    }

    #[test]
    fn the_proof_is_due_months_after_the_end_on_a_day_that_exists() {
        assert_eq!(due_on(date!(2027 - 12 - 31), 6), date!(2028 - 06 - 30));
        assert_eq!(due_on(date!(2027 - 08 - 31), 6), date!(2028 - 02 - 29));
        assert_eq!(due_on(date!(2027 - 03 - 15), 12), date!(2028 - 03 - 15));
    }

    #[test]
    fn the_numerical_proof_adds_up_per_item_and_in_total() {
        let plan = [
            PlanRow {
                kind: "software".into(),
                description: "Lizenzen".into(),
                year: 2025,
                amount: Cents::from_euros(90_000),
                eligible: true,
            },
            PlanRow {
                kind: "other".into(),
                description: "Bewirtung".into(),
                year: 2025,
                amount: Cents::from_euros(1_000),
                eligible: false,
            },
        ];
        let receipt = |position, euros| Receipt {
            paid_on: date!(2025 - 03 - 01),
            payee: "A".into(),
            purpose: "B".into(),
            cost_position: position,
            amount: Cents::from_euros(euros),
        };
        let n = NumericalProof::new(
            &plan,
            &[receipt(1, 50_000), receipt(1, 31_000), receipt(2, 900)],
        );
        assert_eq!(n.items[0].actual, Cents::from_euros(81_000));
        assert_eq!(n.items[0].difference(), Cents::from_euros(-9_000));
        assert_eq!(n.items[0].receipts, 2);
        assert_eq!(n.actual_total, Cents::from_euros(81_900));
        assert_eq!(n.actual_eligible, Cents::from_euros(81_000));
        assert_eq!(n.planned_eligible, Cents::from_euros(90_000));
    }
}
