//! The dashboard's filter as it lives in the URL: parsed leniently (a bad value becomes a message
//! beside its field, never an error page), and written back into links for sorting and paging.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::applications::model::Status;
use crate::money::Cents;
use crate::web::{FormErrors, format};

/// The query string as typed (German parameter names, as users see them in the address bar).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct FilterQuery {
    pub runde: String,
    pub status: String,
    pub kategorie: String,
    pub landkreis: String,
    pub kommune: String,
    pub zuweisung: String,
    pub betrag_von: String,
    pub betrag_bis: String,
    pub eingereicht_von: String,
    pub eingereicht_bis: String,
    pub suche: String,
    pub sortierung: String,
    pub richtung: String,
    pub nach: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignment {
    Anyone,
    Me,
    Someone,
    Nobody,
}

/// The columns the dashboard sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Submitted,
    Reference,
    Title,
    Municipality,
    Amount,
    Status,
}

impl Sort {
    pub const ALL: [Sort; 6] = [
        Sort::Reference,
        Sort::Title,
        Sort::Municipality,
        Sort::Amount,
        Sort::Status,
        Sort::Submitted,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Sort::Submitted => "eingereicht",
            Sort::Reference => "aktenzeichen",
            Sort::Title => "titel",
            Sort::Municipality => "kommune",
            Sort::Amount => "betrag",
            Sort::Status => "status",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Submitted => "Eingereicht",
            Sort::Reference => "Aktenzeichen",
            Sort::Title => "Vorhaben",
            Sort::Municipality => "Kommune",
            Sort::Amount => "Beantragt",
            Sort::Status => "Status",
        }
    }

    /// The SQL expression sorted by (never NULL, so keyset comparisons hold).
    pub fn expression(self) -> &'static str {
        match self {
            Sort::Submitted => "a.submitted_at",
            Sort::Reference => "a.reference",
            Sort::Title => "a.title",
            Sort::Municipality => "m.name",
            Sort::Amount => "coalesce(a.requested_grant_cents, 0)",
            Sort::Status => "a.status",
        }
    }

    /// Whether the sort value is a number (amount, time in microseconds) or text.
    pub fn is_numeric(self) -> bool {
        matches!(self, Sort::Submitted | Sort::Amount)
    }
}

/// Where the next page starts: the sort value and id of the last row shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub value: String,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}~{}", self.id, self.value)
    }

    fn decode(text: &str) -> Option<Cursor> {
        let (id, value) = text.split_once('~')?;
        Some(Cursor {
            id: id.parse().ok()?,
            value: value.to_string(),
        })
    }
}

#[derive(Clone, Debug)]
pub struct Filter {
    pub round: Option<i64>,
    pub status: Option<Status>,
    pub category: Option<String>,
    pub district: Option<i64>,
    pub municipality: Option<i64>,
    pub assignment: Assignment,
    pub amount_min: Option<Cents>,
    pub amount_max: Option<Cents>,
    pub submitted_from: Option<OffsetDateTime>,
    /// Exclusive: the start of the day after the chosen one.
    pub submitted_before: Option<OffsetDateTime>,
    pub search: String,
    pub sort: Sort,
    pub descending: bool,
    pub after: Option<Cursor>,
}

impl FilterQuery {
    /// The filter, and a message for each value that could not be used (the value is ignored).
    pub fn parse(&self) -> (Filter, FormErrors) {
        let mut errors = FormErrors::default();
        let id = |errors: &mut FormErrors, field: &'static str, value: &str| {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            value.parse::<i64>().ok().or_else(|| {
                errors.add(field, "Bitte wählen Sie einen Eintrag aus der Liste.");
                None
            })
        };
        let amount = |errors: &mut FormErrors, field: &'static str, value: &str| {
            if value.trim().is_empty() {
                return None;
            }
            match value.parse::<Cents>() {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.add(field, e.to_string());
                    None
                }
            }
        };
        let day = |errors: &mut FormErrors, field: &'static str, value: &str, next: bool| {
            if value.trim().is_empty() {
                return None;
            }
            let parsed = format::parse_date(value).and_then(|d| {
                let d = if next { d.tomorrow().ok()? } else { d };
                format::parse_berlin(&d.to_string(), "00:00")
            });
            if parsed.is_none() {
                errors.add(
                    field,
                    "Bitte geben Sie ein Datum ein, zum Beispiel 01.04.2027.",
                );
            }
            parsed
        };
        let status = match self.status.trim() {
            "" => None,
            s => match s.parse::<Status>() {
                Ok(Status::Draft) | Err(_) => {
                    errors.add("status", "Bitte wählen Sie einen Status aus der Liste.");
                    None
                }
                Ok(s) => Some(s),
            },
        };
        let sort = Sort::ALL
            .into_iter()
            .find(|s| s.key() == self.sortierung)
            .unwrap_or(Sort::Submitted);
        let filter = Filter {
            round: id(&mut errors, "runde", &self.runde),
            status,
            category: Some(self.kategorie.trim().to_string()).filter(|c| !c.is_empty()),
            district: id(&mut errors, "landkreis", &self.landkreis),
            municipality: id(&mut errors, "kommune", &self.kommune),
            assignment: match self.zuweisung.as_str() {
                "mir" => Assignment::Me,
                "jemandem" => Assignment::Someone,
                "niemandem" => Assignment::Nobody,
                _ => Assignment::Anyone,
            },
            amount_min: amount(&mut errors, "betrag_von", &self.betrag_von),
            amount_max: amount(&mut errors, "betrag_bis", &self.betrag_bis),
            submitted_from: day(&mut errors, "eingereicht_von", &self.eingereicht_von, false),
            submitted_before: day(&mut errors, "eingereicht_bis", &self.eingereicht_bis, true),
            search: crate::web::clean_line(&self.suche, 200),
            sort,
            // Newest first and largest first unless asked otherwise; names A–Z.
            descending: match self.richtung.as_str() {
                "auf" => false,
                "ab" => true,
                _ => sort.is_numeric(),
            },
            after: Cursor::decode(&self.nach),
        };
        (filter, errors)
    }

    /// The query string of this filter with other sorting and no page position.
    pub fn sorted_by(&self, sort: Sort, descending: bool) -> String {
        let mut q = self.clone();
        q.sortierung = sort.key().into();
        q.richtung = if descending { "ab" } else { "auf" }.into();
        q.nach.clear();
        q.to_query()
    }

    /// The query string of this filter starting after `cursor`.
    pub fn after(&self, cursor: &Cursor) -> String {
        let mut q = self.clone();
        q.nach = cursor.encode();
        q.to_query()
    }

    /// The query string without page position (for the first page, the export, counts).
    pub fn first_page(&self) -> String {
        let mut q = self.clone();
        q.nach.clear();
        q.to_query()
    }

    /// The same filter with another status (for the counts per status).
    pub fn with_status(&self, status: &str) -> String {
        let mut q = self.clone();
        q.status = status.into();
        q.nach.clear();
        q.to_query()
    }

    fn to_query(&self) -> String {
        let pairs = [
            ("runde", &self.runde),
            ("status", &self.status),
            ("kategorie", &self.kategorie),
            ("landkreis", &self.landkreis),
            ("kommune", &self.kommune),
            ("zuweisung", &self.zuweisung),
            ("betrag_von", &self.betrag_von),
            ("betrag_bis", &self.betrag_bis),
            ("eingereicht_von", &self.eingereicht_von),
            ("eingereicht_bis", &self.eingereicht_bis),
            ("suche", &self.suche),
            ("sortierung", &self.sortierung),
            ("richtung", &self.richtung),
            ("nach", &self.nach),
        ];
        let present: Vec<(&str, &String)> =
            pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        serde_urlencoded::to_string(present).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_named_and_ignored() {
        let q = FilterQuery {
            runde: "x".into(),
            status: "draft".into(),
            betrag_von: "1.2.3".into(),
            eingereicht_bis: "32.13.2027".into(),
            ..FilterQuery::default()
        };
        let (filter, errors) = q.parse();
        assert_eq!(filter.round, None);
        assert_eq!(
            filter.status, None,
            "drafts are not the ministry's business"
        );
        for field in ["runde", "status", "betrag_von", "eingereicht_bis"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn the_filter_survives_the_round_trip_through_the_url() {
        let q = FilterQuery {
            status: "in_review".into(),
            suche: "Bürgerbüro & Co".into(),
            nach: "5~abc".into(),
            ..FilterQuery::default()
        };
        let query = q.sorted_by(Sort::Amount, true);
        let back: FilterQuery = serde_urlencoded::from_str(&query).unwrap();
        assert_eq!(back.suche, "Bürgerbüro & Co");
        assert_eq!(back.sortierung, "betrag");
        assert_eq!(back.nach, "", "a new order starts on the first page");
        let (filter, errors) = back.parse();
        assert!(errors.is_empty());
        assert_eq!(filter.status, Some(Status::InReview));
        assert!(filter.descending);
    }

    #[test]
    fn the_last_day_of_a_range_counts_whole() {
        let q = FilterQuery {
            eingereicht_von: "01.04.2027".into(),
            eingereicht_bis: "2027-04-01".into(),
            ..FilterQuery::default()
        };
        let (f, _) = q.parse();
        let span = f.submitted_before.unwrap() - f.submitted_from.unwrap();
        assert_eq!(span, time::Duration::days(1));
    }

    #[test]
    fn cursors_keep_values_with_separators() {
        let c = Cursor {
            value: "Bad ~ Frankenhausen".into(),
            id: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("garbage"), None);
    }
}
