//! The Kosten- und Finanzierungsplan: cost items and financing in integer cents, its totals and
//! the rules a plan must keep (balance, funding rate, minimum and maximum grant).

use std::collections::BTreeMap;

use crate::money::{Cents, Rate};

use super::model::RoundRules;

/// The kinds of cost (value, label).
pub const COST_KINDS: &[(&str, &str)] = &[
    ("personnel", "Personal"),
    ("hardware", "Hardware"),
    ("software", "Software/Lizenzen"),
    ("services", "Dienstleistungen/Beratung"),
    ("training", "Schulung"),
    ("other", "Sonstiges"),
];

pub fn kind_label(kind: &str) -> &'static str {
    COST_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("Sonstiges", |(_, label)| *label)
}

/// What the years a plan may use come from; decides how a year outside them is explained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YearBasis {
    /// The application's project period (planned start and end in "Vorhaben").
    Project,
    /// No usable project period yet: the round's year and one year either side.
    Round,
    /// The Bewilligungszeitraum of a grant, as a change request would set it.
    Grant,
}

/// The calendar years cost items may fall in, first to last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanYears {
    pub first: i32,
    pub last: i32,
    pub basis: YearBasis,
}

impl PlanYears {
    /// The years of a project running from the year `period.0` to the year `period.1`. Without
    /// a usable period (missing, reversed, or wholly outside what the round can fund) the
    /// round's year and one either side. A period is cut to one year before and five after the
    /// round's year: what the cost plan has always allowed, and a bound on the choices.
    pub fn for_project(period: Option<(i32, i32)>, round_year: i32) -> Self {
        let window = (round_year - 1, round_year + 5);
        match period {
            Some((start, end)) if start <= end && start <= window.1 && end >= window.0 => {
                PlanYears {
                    first: start.max(window.0),
                    last: end.min(window.1),
                    basis: YearBasis::Project,
                }
            }
            _ => PlanYears {
                first: round_year - 1,
                last: round_year + 1,
                basis: YearBasis::Round,
            },
        }
    }

    /// The years of a grant's Bewilligungszeitraum.
    pub fn for_grant(first: i32, last: i32) -> Self {
        PlanYears {
            first,
            last: last.max(first),
            basis: YearBasis::Grant,
        }
    }

    pub fn contains(&self, year: i32) -> bool {
        (self.first..=self.last).contains(&year)
    }

    pub fn iter(&self) -> std::ops::RangeInclusive<i32> {
        self.first..=self.last
    }

    /// "2027 bis 2028", or "2027" for a single year.
    pub fn span(&self) -> String {
        if self.first == self.last {
            self.first.to_string()
        } else {
            format!("{} bis {}", self.first, self.last)
        }
    }
}

/// The most a round allows for `eligible` costs: its maximum rate of them (rounded down to the
/// cent), and not above its maximum grant.
pub fn grant_ceiling(eligible: Cents, rules: &RoundRules) -> Cents {
    let by_rate = share_of(eligible, rules.max_rate);
    match rules.max_grant {
        Some(max) if max < by_rate => max,
        _ => by_rate,
    }
}

/// `rate` of `amount`, rounded down to the cent.
pub fn share_of(amount: Cents, rate: Rate) -> Cents {
    let cents = i128::from(amount.get()) * i128::from(rate.basis_points()) / 10_000;
    Cents::new(i64::try_from(cents).unwrap_or(i64::MAX))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostItem {
    pub kind: &'static str,
    pub description: String,
    pub year: i32,
    pub amount: Cents,
    pub eligible: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Financing {
    pub own_share: Cents,
    pub third_party: Cents,
    pub other_public: Cents,
    pub grant: Cents,
}

impl Financing {
    pub fn total(&self) -> Cents {
        add(&[
            self.own_share,
            self.third_party,
            self.other_public,
            self.grant,
        ])
    }
}

fn sum_by_year<'a>(items: impl Iterator<Item = &'a CostItem>) -> Vec<(i32, Cents)> {
    let mut years: BTreeMap<i32, i64> = BTreeMap::new();
    for i in items {
        *years.entry(i.year).or_default() += i.amount.get();
    }
    years.into_iter().map(|(y, c)| (y, Cents::new(c))).collect()
}

fn add(amounts: &[Cents]) -> Cents {
    Cents::new(amounts.iter().map(|c| c.get()).sum())
}

#[derive(Clone, Debug)]
pub struct CostPlan {
    pub items: Vec<CostItem>,
    pub financing: Financing,
    pub total: Cents,
    pub eligible: Cents,
}

impl CostPlan {
    pub fn new(items: Vec<CostItem>, financing: Financing) -> Self {
        let total = add(&items.iter().map(|i| i.amount).collect::<Vec<_>>());
        let eligible = add(&items
            .iter()
            .filter(|i| i.eligible)
            .map(|i| i.amount)
            .collect::<Vec<_>>());
        CostPlan {
            items,
            financing,
            total,
            eligible,
        }
    }

    /// Totals per year, in year order.
    pub fn by_year(&self) -> Vec<(i32, Cents)> {
        sum_by_year(self.items.iter())
    }

    /// Eligible costs per year, in year order: how a grant is committed to budget years.
    pub fn eligible_by_year(&self) -> Vec<(i32, Cents)> {
        sum_by_year(self.items.iter().filter(|i| i.eligible))
    }

    /// Totals per kind of cost, in the order of [`COST_KINDS`], kinds without costs left out.
    pub fn by_kind(&self) -> Vec<(&'static str, Cents)> {
        COST_KINDS
            .iter()
            .filter_map(|(kind, label)| {
                let sum: i64 = self
                    .items
                    .iter()
                    .filter(|i| i.kind == *kind)
                    .map(|i| i.amount.get())
                    .sum();
                (sum > 0).then_some((*label, Cents::new(sum)))
            })
            .collect()
    }

    /// The requested grant as a share of the eligible costs, rounded down to a basis point.
    pub fn rate(&self) -> Option<Rate> {
        let eligible = self.eligible.get();
        if eligible <= 0 {
            return None;
        }
        let bp = i128::from(self.financing.grant.get()) * 10_000 / i128::from(eligible);
        i32::try_from(bp).ok().map(Rate::from_basis_points)
    }

    /// The most the round allows for these eligible costs: the maximum rate of them (rounded
    /// down to the cent), and not above the maximum grant.
    pub fn grant_ceiling(&self, rules: &RoundRules) -> Cents {
        grant_ceiling(self.eligible, rules)
    }

    /// What breaks the round's rules, as (field, message).
    pub fn problems(&self, rules: &RoundRules) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let financed = self.financing.total();
        if financed != self.total {
            let (word, gap) = if financed < self.total {
                ("fehlen", self.total.get() - financed.get())
            } else {
                ("sind zu viel", financed.get() - self.total.get())
            };
            problems.push((
                "own_share",
                format!(
                    "Der Plan ist nicht ausgeglichen: Die Kosten betragen {}, die Finanzierung {}. Es {word} {}.",
                    self.total,
                    financed,
                    Cents::new(gap)
                ),
            ));
        }
        let grant = self.financing.grant;
        let by_rate = share_of(self.eligible, rules.max_rate);
        if self.eligible == Cents::ZERO {
            problems.push((
                "grant",
                "Es sind keine förderfähigen Kosten angegeben; eine Zuwendung ist nur für förderfähige Kosten möglich.".to_string(),
            ));
        } else if grant > by_rate {
            problems.push((
                "grant",
                format!(
                    "Die Zuwendung darf höchstens {} der förderfähigen Kosten betragen, hier also höchstens {by_rate}.",
                    rules.max_rate
                ),
            ));
        }
        if let Some(max) = rules.max_grant
            && grant > max
        {
            problems.push((
                "grant",
                format!("Die Zuwendung darf in diesem Förderaufruf höchstens {max} betragen."),
            ));
        }
        if grant < rules.min_grant {
            problems.push((
                "grant",
                format!(
                    "Die Zuwendung muss in diesem Förderaufruf mindestens {} betragen.",
                    rules.min_grant
                ),
            ));
        }
        if grant == Cents::ZERO && rules.min_grant == Cents::ZERO {
            problems.push((
                "grant",
                "Bitte geben Sie die beantragte Zuwendung an.".to_string(),
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: &'static str, year: i32, cents: i64, eligible: bool) -> CostItem {
        CostItem {
            kind,
            description: String::new(),
            year,
            amount: Cents::new(cents),
            eligible,
        }
    }

    fn rules(max_grant: Option<i64>) -> RoundRules {
        RoundRules {
            year: 2027,
            categories: vec![],
            max_rate: Rate::from_basis_points(8000),
            min_grant: Cents::ZERO,
            max_grant: max_grant.map(Cents::new),
        }
    }

    #[test]
    fn totals_are_exact_per_year_and_kind() {
        let plan = CostPlan::new(
            vec![
                item("software", 2027, 1, true),
                item("software", 2028, 1_000_001, true),
                item("training", 2027, 33, false),
            ],
            Financing::default(),
        );
        assert_eq!(plan.total, Cents::new(1_000_035));
        assert_eq!(plan.eligible, Cents::new(1_000_002));
        assert_eq!(
            plan.by_year(),
            vec![(2027, Cents::new(34)), (2028, Cents::new(1_000_001))]
        );
        assert_eq!(
            plan.by_kind(),
            vec![
                ("Software/Lizenzen", Cents::new(1_000_002)),
                ("Schulung", Cents::new(33))
            ]
        );
    }

    #[test]
    fn the_ceiling_rounds_down_to_the_cent_and_respects_the_maximum_grant() {
        let plan = CostPlan::new(
            vec![item("software", 2027, 333, true)],
            Financing::default(),
        );
        // 80 % of 3,33 € is 2,664 €: the ceiling is 2,66 €.
        assert_eq!(plan.grant_ceiling(&rules(None)), Cents::new(266));
        assert_eq!(plan.grant_ceiling(&rules(Some(100))), Cents::new(100));
    }

    #[test]
    fn the_years_follow_the_project_period_within_the_rounds_window() {
        let project = PlanYears::for_project(Some((2027, 2028)), 2027);
        assert_eq!((project.first, project.last), (2027, 2028));
        assert_eq!(project.basis, YearBasis::Project);
        assert!(project.contains(2028) && !project.contains(2029));
        assert_eq!(project.span(), "2027 bis 2028");
        // A typing slip in the period does not offer two centuries of years.
        let long = PlanYears::for_project(Some((2027, 2207)), 2027);
        assert_eq!((long.first, long.last), (2027, 2032));
        for unusable in [None, Some((2029, 2028)), Some((2100, 2101))] {
            let fallback = PlanYears::for_project(unusable, 2027);
            assert_eq!(
                (fallback.first, fallback.last, fallback.basis),
                (2026, 2028, YearBasis::Round),
                "{unusable:?}"
            );
        }
        assert_eq!(PlanYears::for_grant(2027, 2027).span(), "2027");
    }

    #[test]
    fn the_rate_is_shown_to_the_basis_point() {
        let plan = CostPlan::new(
            vec![item("software", 2027, 30_000, true)],
            Financing {
                grant: Cents::new(24_750),
                ..Financing::default()
            },
        );
        assert_eq!(plan.rate().unwrap().to_string(), "82,5\u{a0}%");
    }

    #[test]
    fn no_eligible_costs_means_no_rate_and_no_grant() {
        let plan = CostPlan::new(
            vec![item("other", 2027, 100, false)],
            Financing {
                own_share: Cents::new(100),
                ..Financing::default()
            },
        );
        assert_eq!(plan.rate(), None);
        assert!(
            plan.problems(&rules(None))
                .iter()
                .any(|(f, _)| *f == "grant")
        );
    }
}
