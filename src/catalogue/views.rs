//! What the catalogue's pages and files show of an entry, formatted once.

use super::db::PublicEntry;
use super::model::phase_label;
use crate::locale;
use crate::money::Cents;

pub struct EntryView {
    pub id: i64,
    pub href: String,
    pub reference: String,
    pub title: String,
    pub summary: String,
    pub reuse: String,
    pub technologies: String,
    pub mailbox: String,
    /// "2c Kooperativ nutzbare Basisdienste"
    pub category: String,
    pub municipality: String,
    pub partners: String,
    pub district: String,
    pub round: String,
    /// "01.04.2027 bis 31.03.2028"
    pub period: String,
    pub granted: String,
    pub phase: &'static str,
    pub phase_key: String,
    pub published: String,
}

impl EntryView {
    pub fn new(e: &PublicEntry) -> Self {
        EntryView {
            id: e.id,
            href: format!("/nachnutzung/{}", e.id),
            reference: e.reference.clone().unwrap_or_default(),
            title: e.title.clone(),
            summary: e.summary.clone(),
            reuse: e.reuse.clone(),
            technologies: e.technologies.clone(),
            mailbox: e.mailbox.clone(),
            category: match (&e.category_code, &e.category_title) {
                (Some(code), Some(title)) => format!("{code} {title}"),
                (Some(code), None) => code.clone(),
                _ => String::new(),
            },
            municipality: e.municipality.clone(),
            partners: e.partners.clone(),
            district: e.district.clone().unwrap_or_default(),
            round: e.round_title.clone(),
            period: locale::period(e.period_start, e.period_end),
            granted: e
                .granted_cents
                .map(|c| Cents::new(c).to_string())
                .unwrap_or_default(),
            phase: phase_label(&e.phase),
            phase_key: e.phase.clone(),
            published: locale::date(e.published_at),
        }
    }
}
