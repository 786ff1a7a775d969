//! What the outline pages show, formatted once for all of them.

use super::db::{InterestRow, MessageRow, OutlineRow, SearchRow};
use crate::locale;
use crate::money::Cents;

pub struct OutlineView {
    pub id: i64,
    pub title: String,
    pub goal: String,
    pub municipality: String,
    pub district: String,
    /// "2c Kooperativ nutzbare Basisdienste", or empty.
    pub category: String,
    /// "120.000,00 €", or empty.
    pub estimated_cost: String,
    /// "ab 01.04.2027", "01.04.2027 bis 31.03.2028", or empty.
    pub timeframe: String,
    pub partners_wanted: bool,
    pub partners_for: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub consultation: &'static str,
    pub consultation_tag: &'static str,
    /// "am 03.12.2026 von Paul Prüfer (TFM)", when agreed.
    pub agreed: String,
    pub in_partner_search: bool,
    pub application_id: Option<i64>,
    pub updated: String,
}

fn category(code: Option<&String>, title: Option<&String>) -> String {
    match (code, title) {
        (Some(code), Some(title)) => format!("{code} {title}"),
        (Some(code), None) => code.clone(),
        _ => String::new(),
    }
}

impl OutlineView {
    pub fn new(o: &OutlineRow) -> Self {
        let timeframe = match (o.planned_start, o.planned_end) {
            (Some(_), Some(_)) => locale::period(o.planned_start, o.planned_end),
            (Some(s), None) => format!("ab {}", locale::day(s)),
            (None, Some(e)) => format!("bis {}", locale::day(e)),
            (None, None) => String::new(),
        };
        OutlineView {
            id: o.id,
            title: o.title.clone(),
            goal: o.goal.clone(),
            municipality: o.municipality.clone(),
            district: o.district.clone(),
            category: category(o.category_code.as_ref(), o.category_title.as_ref()),
            estimated_cost: o
                .estimated_cost_cents
                .map(|c| Cents::new(c).to_string())
                .unwrap_or_default(),
            timeframe,
            partners_wanted: o.partners_wanted,
            partners_for: o.partners_for.clone(),
            contact_name: o.contact_name.clone(),
            contact_email: o.contact_email.clone(),
            contact_phone: o.contact_phone.clone(),
            consultation: o.consultation.label(),
            consultation_tag: o.consultation.tag(),
            agreed: match (o.agreed_at, &o.agreed_by) {
                (Some(at), Some(by)) => format!("am {} von {by}", locale::date(at)),
                _ => String::new(),
            },
            in_partner_search: o.in_partner_search,
            application_id: o.application_id,
            updated: locale::date(o.updated_at),
        }
    }
}

pub struct MessageView {
    pub from: String,
    pub from_ministry: bool,
    pub body: String,
    pub at: String,
}

impl MessageView {
    pub fn new(m: &MessageRow, municipality: &str) -> Self {
        MessageView {
            // Like the case messages: the author and the side they write for.
            from: if m.from_ministry {
                format!("{} (Ministerium)", m.author)
            } else {
                format!("{} ({municipality})", m.author)
            },
            from_ministry: m.from_ministry,
            body: m.body.clone(),
            at: locale::date_time(m.at),
        }
    }
}

pub struct InterestView {
    pub municipality_id: i64,
    pub municipality: String,
    pub name: String,
    pub email: String,
    pub message: String,
    pub at: String,
    pub accepted: bool,
}

impl InterestView {
    pub fn new(i: &InterestRow) -> Self {
        InterestView {
            municipality_id: i.municipality_id,
            municipality: i.municipality.clone(),
            name: i.name.clone(),
            email: i.email.clone(),
            message: i.message.clone(),
            at: locale::date(i.at),
            accepted: i.accepted_at.is_some(),
        }
    }
}

pub struct SearchView {
    pub href: String,
    pub title: String,
    pub municipality: String,
    pub district: String,
    pub category: String,
    pub partners_for: String,
    pub updated: String,
}

impl SearchView {
    pub fn new(r: &SearchRow) -> Self {
        SearchView {
            href: format!("/partnersuche/{}", r.id),
            title: r.title.clone(),
            municipality: r.municipality.clone(),
            district: r.district.clone(),
            category: r.category_code.clone().unwrap_or_default(),
            partners_for: r.partners_for.chars().take(300).collect(),
            updated: locale::date(r.updated_at),
        }
    }
}
