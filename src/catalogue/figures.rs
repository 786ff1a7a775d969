//! The public figures of the programme and of each published round, as the ministry's press
//! releases give them ("19 Kommunen, knapp 1,8 Mio. €"): submitted applications (never
//! drafts), the municipalities behind them, requested and granted sums, by category and by
//! Landkreis. Pure arithmetic over [`FigureRow`]s in integer cents; the statistics page and
//! the open-data round files both read it, so they cannot drift apart.
//!
//! What counts: every application that was submitted (it has an Aktenzeichen), also when it was
//! later rejected or withdrawn, with its requested grant, as the press figures count; granted
//! are the approved and settled applications with their grant as amended.

use std::collections::{BTreeMap, BTreeSet};

use super::db::{FigureRow, PublishedRound};

/// How the figures count, in one sentence for the page and the open-data files.
pub const COUNTING: &str = "Gezählt werden alle eingereichten Anträge mit ihrer beantragten \
Zuwendung, auch später abgelehnte oder zurückgezogene, wie in den Pressemitteilungen des \
Ministeriums; Entwürfe zählen nicht. Bewilligt sind die Anträge mit Zuwendungsbescheid (auch die \
schon abgerechneten) mit der Zuwendung in ihrer heutigen Höhe, nach Änderungsbescheiden.";

/// Sums over a set of submitted applications.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub applications: i64,
    pub requested_cents: i64,
    pub approved: i64,
    pub granted_cents: i64,
    pub rejected: i64,
    pub withdrawn: i64,
}

impl Tally {
    fn add(&mut self, r: &FigureRow) {
        self.applications += r.applications;
        self.requested_cents += r.requested_cents;
        self.approved += r.approved;
        self.granted_cents += r.granted_cents;
        self.rejected += r.rejected;
        self.withdrawn += r.withdrawn;
    }

    /// Neither decided nor withdrawn: still in the ministry's hands.
    pub fn open(&self) -> i64 {
        self.applications - self.approved - self.rejected - self.withdrawn
    }
}

/// One row of a breakdown: its name, its sums and how many municipalities it has (for the
/// Landkreise, which divide the municipalities among them, so the rows add up to the total).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub label: String,
    pub tally: Tally,
    pub municipalities: i64,
}

/// The figures of one round, or of the programme (every published round).
#[derive(Clone, Debug)]
pub struct Scope {
    pub tally: Tally,
    /// Municipalities with at least one submitted application, each counted once.
    pub municipalities: i64,
    pub by_category: Vec<Group>,
    pub by_district: Vec<Group>,
}

/// The label of rows without a category or Landkreis (sorted last).
pub const UNKNOWN: &str = "Ohne Angabe";

pub struct Figures {
    pub rounds: Vec<PublishedRound>,
    rows: Vec<FigureRow>,
}

impl Figures {
    /// The figures as they stand.
    pub async fn load(conn: &mut sqlx::PgConnection) -> sqlx::Result<Figures> {
        let (rounds, rows) = super::db::public_figures(conn).await?;
        Ok(Figures::new(rounds, rows))
    }

    /// `rows` of rounds not in `rounds` (drafts) are left out.
    pub fn new(rounds: Vec<PublishedRound>, rows: Vec<FigureRow>) -> Self {
        let published: BTreeSet<i64> = rounds.iter().map(|r| r.id).collect();
        let rows = rows
            .into_iter()
            .filter(|r| published.contains(&r.round_id))
            .collect();
        Figures { rounds, rows }
    }

    pub fn round(&self, id: i64) -> Option<&PublishedRound> {
        self.rounds.iter().find(|r| r.id == id)
    }

    /// The figures of `round`, or of all published rounds.
    pub fn scope(&self, round: Option<i64>) -> Scope {
        let rows: Vec<&FigureRow> = self
            .rows
            .iter()
            .filter(|r| round.is_none_or(|id| r.round_id == id))
            .collect();
        let mut tally = Tally::default();
        rows.iter().for_each(|r| tally.add(r));
        let category = |r: &FigureRow| match (&r.category_code, &r.category_title) {
            (Some(code), Some(title)) => format!("{code} {title}"),
            (Some(code), None) => code.clone(),
            _ => UNKNOWN.into(),
        };
        let district = |r: &FigureRow| r.district.clone().unwrap_or_else(|| UNKNOWN.into());
        Scope {
            tally,
            municipalities: distinct_municipalities(rows.iter().copied()),
            by_category: groups(&rows, category),
            by_district: groups(&rows, district),
        }
    }

    /// Each published round with its figures, newest first.
    pub fn per_round(&self) -> Vec<(&PublishedRound, Scope)> {
        self.rounds
            .iter()
            .map(|r| (r, self.scope(Some(r.id))))
            .collect()
    }
}

fn distinct_municipalities<'a>(rows: impl Iterator<Item = &'a FigureRow>) -> i64 {
    let set: BTreeSet<i64> = rows.map(|r| r.municipality_id).collect();
    i64::try_from(set.len()).unwrap_or(i64::MAX)
}

/// The rows summed by `key`, in key order with "Ohne Angabe" last.
fn groups(rows: &[&FigureRow], key: impl Fn(&FigureRow) -> String) -> Vec<Group> {
    let mut by_key: BTreeMap<(bool, String), Vec<&FigureRow>> = BTreeMap::new();
    for r in rows {
        let k = key(r);
        by_key.entry((k == UNKNOWN, k)).or_default().push(r);
    }
    by_key
        .into_iter()
        .map(|((_, label), rows)| {
            let mut tally = Tally::default();
            rows.iter().for_each(|r| tally.add(r));
            Group {
                label,
                tally,
                municipalities: distinct_municipalities(rows.into_iter()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(id: i64) -> PublishedRound {
        PublishedRound {
            id,
            title: format!("Aufruf {id}"),
            year: 2026,
            budget_cents: 10_000_000,
        }
    }

    fn row(round_id: i64, category: Option<&str>, municipality: i64, district: &str) -> FigureRow {
        FigureRow {
            round_id,
            category_code: category.map(str::to_string),
            category_title: category.map(|c| format!("Titel {c}")),
            municipality_id: municipality,
            district: Some(district.into()),
            applications: 2,
            requested_cents: 100_000,
            approved: 1,
            granted_cents: 40_000,
            rejected: 0,
            withdrawn: 1,
        }
    }

    #[test]
    fn the_programme_adds_up_its_rounds_and_counts_each_municipality_once() {
        let figures = Figures::new(
            vec![round(2), round(1)],
            vec![
                row(1, Some("2a"), 10, "Gotha"),
                row(1, Some("2b"), 10, "Gotha"),
                row(1, None, 11, "Jena"),
                row(2, Some("2a"), 10, "Gotha"),
                // A draft round's rows are not public.
                row(3, Some("2a"), 12, "Suhl"),
            ],
        );
        let all = figures.scope(None);
        assert_eq!(all.tally.applications, 8);
        assert_eq!(all.tally.requested_cents, 400_000);
        assert_eq!(all.tally.open(), 0);
        assert_eq!(all.municipalities, 2);
        let labels: Vec<_> = all.by_category.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["2a Titel 2a", "2b Titel 2b", UNKNOWN]);
        let districts: Vec<_> = all
            .by_district
            .iter()
            .map(|g| (g.label.as_str(), g.municipalities, g.tally.applications))
            .collect();
        assert_eq!(districts, [("Gotha", 1, 6), ("Jena", 1, 2)]);
        let per_round: Vec<_> = figures
            .per_round()
            .into_iter()
            .map(|(r, s)| (r.id, s.tally.applications, s.municipalities))
            .collect();
        assert_eq!(per_round, [(2, 2, 1), (1, 6, 2)]);
        assert!(figures.round(3).is_none());
    }
}
