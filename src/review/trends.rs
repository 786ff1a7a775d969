//! The statistics over time: applications submitted per month, and each round's budget
//! burn-down (what its grants have bound, month by month, against its budget). Views built
//! from the month tallies; every sum row is the sum of the rows above it.

use std::collections::BTreeMap;

use super::db::{BudgetRow, MonthRow};
use crate::locale;
use crate::money::Cents;
use crate::web::charts::{self, Chart, Labels, Row, Scale, Series};

/// The months from the first to the last with a figure, gaps filled with zero (a month
/// without submissions is a row too), then the undated figure if there is one.
fn filled(
    figures: impl Iterator<Item = (Option<time::Date>, i64)>,
) -> Vec<(Option<time::Date>, i64)> {
    let mut dated: BTreeMap<time::Date, i64> = BTreeMap::new();
    let mut undated = None;
    for (month, n) in figures.filter(|(_, n)| *n != 0) {
        match month {
            Some(m) => *dated.entry(m).or_default() += n,
            None => *undated.get_or_insert(0) += n,
        }
    }
    let mut out = Vec::new();
    if let (Some(&first), Some(&last)) = (dated.keys().next(), dated.keys().next_back()) {
        let mut month = first;
        while month <= last {
            out.push((Some(month), dated.get(&month).copied().unwrap_or(0)));
            month = locale::add_months(month, 1);
        }
    }
    out.extend(undated.map(|n| (None, n)));
    out
}

fn month_name(month: Option<time::Date>) -> String {
    month.map_or_else(|| "ohne Datum".into(), locale::month)
}

fn month_short(month: Option<time::Date>) -> String {
    month.map_or_else(|| "ohne Datum".into(), locale::month_short)
}

pub struct MonthView {
    pub month: String,
    pub submitted: String,
}

/// Applications first submitted per month, over the rounds in view.
pub struct SubmissionsView {
    pub chart: Option<Chart>,
    pub rows: Vec<MonthView>,
    pub total: String,
}

impl SubmissionsView {
    pub fn new(months: &[MonthRow]) -> Self {
        let series = filled(months.iter().map(|m| (m.month, m.submitted)));
        let scale = Scale::nice(series.iter().map(|(_, n)| *n), charts::count);
        let chart_rows = series
            .iter()
            .map(|&(month, n)| Row {
                label: month_short(month),
                series: vec![Series {
                    class: "bar-submitted",
                    value: n,
                    text: locale::count(n),
                }],
                behind: None,
            })
            .collect();
        SubmissionsView {
            chart: (!series.is_empty()).then(|| {
                Chart::new(
                    "submissions-chart",
                    "Balkendiagramm: eingereichte Anträge je Monat",
                    Labels::Left,
                    &scale,
                    chart_rows,
                )
            }),
            rows: series
                .iter()
                .map(|&(month, n)| MonthView {
                    month: month_name(month),
                    submitted: locale::count(n),
                })
                .collect(),
            total: locale::count(series.iter().map(|(_, n)| n).sum()),
        }
    }
}

pub struct BurnRow {
    pub month: String,
    pub granted: String,
    pub cumulative: String,
    pub free: String,
}

/// One round: its budget, and per month what its grants decided in the month bind, what they
/// bind since the round began, and what is left.
pub struct BurnDownView {
    pub id: i64,
    pub title: String,
    pub budget: String,
    pub granted: String,
    pub free: String,
    pub chart: Option<Chart>,
    pub rows: Vec<BurnRow>,
}

impl BurnDownView {
    pub fn new(round: &BudgetRow, months: &[MonthRow]) -> Self {
        let series = filled(
            months
                .iter()
                .filter(|m| m.round_id == round.round_id)
                .map(|m| (m.month, m.granted_cents)),
        );
        let mut cumulative = 0;
        let running: Vec<(Option<time::Date>, i64, i64)> = series
            .iter()
            .map(|&(month, cents)| {
                cumulative += cents;
                (month, cents, cumulative)
            })
            .collect();
        let budget = round.budget_cents;
        let scale = Scale::exact(
            running.iter().map(|r| r.2).fold(budget, i64::max),
            charts::euros_short,
        );
        let chart_rows = running
            .iter()
            .map(|&(month, _, sum)| Row {
                label: format!("{} – frei {}", month_short(month), Cents::new(budget - sum)),
                series: vec![Series {
                    class: "bar-granted",
                    value: sum,
                    text: Cents::new(sum).to_string(),
                }],
                behind: Some(Series {
                    class: "bar-budget",
                    value: budget,
                    text: String::new(),
                }),
            })
            .collect();
        let id = round.round_id;
        BurnDownView {
            id,
            title: round.title.clone(),
            budget: Cents::new(budget).to_string(),
            granted: Cents::new(cumulative).to_string(),
            free: Cents::new(budget - cumulative).to_string(),
            chart: (!running.is_empty()).then(|| {
                Chart::new(
                    &format!("burn-down-{id}-chart"),
                    &format!(
                        "Balkendiagramm: bewilligte Summe bis Ende jedes Monats gegen das Budget von {}",
                        round.title
                    ),
                    Labels::Above,
                    &scale,
                    chart_rows,
                )
            }),
            rows: running
                .iter()
                .map(|&(month, cents, sum)| BurnRow {
                    month: month_name(month),
                    granted: Cents::new(cents).to_string(),
                    cumulative: Cents::new(sum).to_string(),
                    free: Cents::new(budget - sum).to_string(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_without_figures_between_the_first_and_the_last_are_rows_of_zero() {
        let months = filled(
            [
                (Some(date!(2026 - 11 - 01)), 3),
                (Some(date!(2027 - 02 - 01)), 1),
                (Some(date!(2026 - 12 - 01)), 0),
                (None, 2),
            ]
            .into_iter(),
        );
        assert_eq!(
            months,
            vec![
                (Some(date!(2026 - 11 - 01)), 3),
                (Some(date!(2026 - 12 - 01)), 0),
                (Some(date!(2027 - 01 - 01)), 0),
                (Some(date!(2027 - 02 - 01)), 1),
                (None, 2),
            ]
        );
    }

    #[test]
    fn the_burn_down_adds_up_the_grants_and_subtracts_them_from_the_budget() {
        let round = BudgetRow {
            round_id: 7,
            title: "Förderaufruf 2027".into(),
            budget_cents: Cents::from_euros(100_000).get(),
            requested_cents: 0,
            granted_cents: 0,
        };
        let month = |m: time::Date, cents: i64| MonthRow {
            round_id: 7,
            month: Some(m),
            submitted: 0,
            granted: 1,
            granted_cents: cents,
        };
        let view = BurnDownView::new(
            &round,
            &[
                month(date!(2027 - 03 - 01), Cents::from_euros(30_000).get()),
                month(date!(2027 - 05 - 01), Cents::from_euros(50_000).get()),
            ],
        );
        let rows: Vec<_> = view
            .rows
            .iter()
            .map(|r| (r.month.as_str(), r.cumulative.as_str(), r.free.as_str()))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("März 2027", "30.000,00\u{a0}€", "70.000,00\u{a0}€"),
                ("April 2027", "30.000,00\u{a0}€", "70.000,00\u{a0}€"),
                ("Mai 2027", "80.000,00\u{a0}€", "20.000,00\u{a0}€"),
            ]
        );
        assert_eq!(view.free, "20.000,00\u{a0}€");
        let chart = view.chart.unwrap();
        // Per row: the budget behind, then the grants so far.
        assert_eq!(chart.rects[0].width, "100.0%");
        assert_eq!(chart.rects[5].width, "80.0%");
    }
}
