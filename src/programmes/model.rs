//! Round rules without I/O: where a round stands in its application window, and how it is shown.

use time::OffsetDateTime;

use crate::locale;
use crate::money::{Cents, Rate};

use super::db::RoundRow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Published, window not open yet.
    OpensSoon,
    /// Applications accepted; `days_left` counts Berlin calendar days until the deadline.
    Open {
        days_left: i64,
    },
    Closed,
}

pub fn phase(
    state: &str,
    opens_at: OffsetDateTime,
    closes_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Phase {
    if state == "closed" || now >= closes_at {
        Phase::Closed
    } else if now < opens_at {
        Phase::OpensSoon
    } else {
        Phase::Open {
            days_left: locale::days_between(now, closes_at),
        }
    }
}

/// A round as the public pages show it, formatted the German way.
pub struct RoundSummary {
    pub id: i64,
    pub title: String,
    pub phase: Phase,
    pub status_label: String,
    pub status_class: &'static str,
    pub opens: String,
    pub opens_iso: String,
    pub deadline: String,
    pub deadline_iso: String,
    pub budget: String,
    pub max_rate: String,
    pub grant_range: String,
    pub financing: &'static str,
    pub categories: Vec<(String, String)>,
    pub attachments: Vec<String>,
}

impl RoundSummary {
    pub fn new(round: RoundRow, now: OffsetDateTime) -> Self {
        let phase = phase(&round.state, round.opens_at, round.closes_at, now);
        let (status_label, status_class) = match phase {
            Phase::OpensSoon => (
                format!("Startet am {}", locale::date(round.opens_at)),
                "tag-soon",
            ),
            Phase::Open { days_left: 0 } => ("Offen – endet heute".to_string(), "tag-open"),
            Phase::Open { days_left: 1 } => ("Offen – noch 1 Tag".to_string(), "tag-open"),
            Phase::Open { days_left } => (format!("Offen – noch {days_left} Tage"), "tag-open"),
            Phase::Closed => ("Abgeschlossen".to_string(), "tag-closed"),
        };
        let min = Cents::new(round.min_grant_cents);
        let grant_range = match round.max_grant_cents.map(Cents::new) {
            Some(max) if min > Cents::ZERO => format!("{min} bis {max}"),
            Some(max) => format!("bis {max}"),
            None if min > Cents::ZERO => format!("ab {min}"),
            None => "ohne Obergrenze".to_string(),
        };
        RoundSummary {
            id: round.id,
            title: round.title,
            phase,
            status_label,
            status_class,
            opens: locale::date_time(round.opens_at),
            opens_iso: locale::iso(round.opens_at),
            deadline: locale::date_time(round.closes_at),
            deadline_iso: locale::iso(round.closes_at),
            budget: Cents::new(round.budget_cents).to_string(),
            max_rate: Rate::from_basis_points(round.max_rate_bp).to_string(),
            grant_range,
            financing: match round.financing_type.as_str() {
                "festbetragsfinanzierung" => "Festbetragsfinanzierung",
                _ => "Anteilfinanzierung",
            },
            categories: round
                .categories
                .into_iter()
                .zip(round.category_titles)
                .collect(),
            attachments: round.attachments,
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_round_is_open_inside_its_window_and_counts_days_left() {
        let opens = datetime!(2026-11-01 00:00 UTC);
        let closes = datetime!(2027-03-31 21:59 UTC);
        assert_eq!(
            phase("published", opens, closes, datetime!(2026-10-01 12:00 UTC)),
            Phase::OpensSoon
        );
        assert_eq!(
            phase("published", opens, closes, datetime!(2027-03-29 12:00 UTC)),
            Phase::Open { days_left: 2 }
        );
        assert_eq!(
            phase("published", opens, closes, datetime!(2027-03-31 21:59 UTC)),
            Phase::Closed
        );
        assert_eq!(
            phase("closed", opens, closes, datetime!(2026-12-01 12:00 UTC)),
            Phase::Closed
        );
    }
}
