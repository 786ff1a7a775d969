//! A round as the public pages and lists show it, formatted the German way.

use time::OffsetDateTime;

use super::db::RoundRow;
use super::model::{Phase, phase};
use crate::locale;
use crate::money::{Cents, Rate};

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
        let phase = phase(round.state, round.opens_at, round.closes_at, now);
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
            financing: round.financing_type.label(),
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
