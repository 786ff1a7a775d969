//! The catalogue's rules without I/O: the public search as typed, where a project stands, and
//! what an owner may publish.

use serde::Deserialize;

use crate::validation::{FormErrors, clean_line, clean_text};

/// Where a published project stands, by the key the view `catalogue_public` gives it.
pub const PHASES: [(&str, &str); 3] = [
    ("bewilligt", "Bewilligt"),
    ("in_umsetzung", "In Umsetzung"),
    ("abgeschlossen", "Abgeschlossen"),
];

pub fn phase_label(key: &str) -> &'static str {
    PHASES
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("Bewilligt", |(_, label)| label)
}

/// The search as it arrives in the address bar (German names).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CatalogueQuery {
    pub suche: String,
    pub kategorie: String,
    pub landkreis: String,
    pub status: String,
    /// "relevanz" (default while searching) or "datum".
    pub sortierung: String,
    pub seite: String,
}

/// The search as the database takes it; values that cannot be used are dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub text: String,
    pub category: String,
    pub district: Option<i64>,
    pub phase: String,
    pub by_relevance: bool,
    pub page: i64,
}

impl CatalogueQuery {
    pub fn search(&self) -> Search {
        let text = clean_line(&self.suche, 200);
        Search {
            by_relevance: self.sortierung != "datum" && !text.is_empty(),
            text,
            category: clean_line(&self.kategorie, 10),
            district: self.landkreis.trim().parse().ok(),
            phase: PHASES
                .iter()
                .find(|(k, _)| *k == self.status)
                .map(|(k, _)| (*k).to_string())
                .unwrap_or_default(),
            page: self
                .seite
                .trim()
                .parse::<i64>()
                .unwrap_or(1)
                .clamp(1, 100_000),
        }
    }

    /// The query string of another page of the same search.
    pub fn page(&self, page: i64) -> String {
        let page = if page > 1 {
            page.to_string()
        } else {
            String::new()
        };
        crate::validation::query_string(&[
            ("suche", &self.suche),
            ("kategorie", &self.kategorie),
            ("landkreis", &self.landkreis),
            ("status", &self.status),
            ("sortierung", &self.sortierung),
            ("seite", &page),
        ])
    }
}

/// An entry as its owner edits it.
#[derive(Clone, Debug, Default)]
pub struct OwnEntry {
    pub summary: String,
    pub reuse: String,
    pub technologies: String,
    pub mailbox: String,
}

/// The owner's form: what the catalogue shows besides the facts of the grant.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsentForm {
    pub summary: String,
    pub reuse: String,
    pub technologies: String,
    pub mailbox: String,
    /// "veroeffentlichen" or "zurueckziehen".
    pub action: String,
}

const SUMMARY_MAX: usize = 1000;
const REUSE_MAX: usize = 5000;
const TECHNOLOGIES_MAX: usize = 1000;

impl ConsentForm {
    pub fn of(e: &OwnEntry) -> Self {
        ConsentForm {
            summary: e.summary.clone(),
            reuse: e.reuse.clone(),
            technologies: e.technologies.clone(),
            mailbox: e.mailbox.clone(),
            action: String::new(),
        }
    }

    /// The entry, or a message at each field that cannot be published.
    pub fn validate(&self) -> Result<OwnEntry, FormErrors> {
        let mut errors = FormErrors::default();
        let mut text = |field: &'static str, value: &str, max: usize, missing: &str| {
            let cleaned = clean_text(value, max + 1);
            if cleaned.is_empty() && !missing.is_empty() {
                errors.add(field, missing);
            } else if cleaned.chars().count() > max {
                errors.add(field, format!("Höchstens {max} Zeichen."));
            }
            cleaned
        };
        let summary = text(
            "summary",
            &self.summary,
            SUMMARY_MAX,
            "Bitte beschreiben Sie das Vorhaben in wenigen Sätzen.",
        );
        let reuse = text(
            "reuse",
            &self.reuse,
            REUSE_MAX,
            "Bitte beschreiben Sie, was andere Kommunen nachnutzen können.",
        );
        let technologies = text("technologies", &self.technologies, TECHNOLOGIES_MAX, "");
        let mailbox = clean_line(&self.mailbox, 255);
        if mailbox
            .parse::<crate::accounts::model::EmailAddress>()
            .is_err()
        {
            errors.add(
                "mailbox",
                "Bitte geben Sie ein Funktionspostfach im Format digital@kommune.de an.",
            );
        }
        if errors.is_empty() {
            Ok(OwnEntry {
                summary,
                reuse,
                technologies,
                mailbox,
            })
        } else {
            Err(errors)
        }
    }
}

/// A visitor's "Nachnutzung anfragen".
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequestForm {
    pub name: String,
    pub email: String,
    pub municipality: String,
    pub message: String,
}

/// A request checked: name, address, municipality, message.
pub struct ValidRequest {
    pub name: String,
    pub email: String,
    pub municipality: String,
    pub message: String,
}

impl RequestForm {
    pub fn validate(&self) -> Result<ValidRequest, FormErrors> {
        let mut errors = FormErrors::default();
        let name = crate::validation::required_line(
            &mut errors,
            200,
            "name",
            &self.name,
            "Bitte geben Sie Ihren Namen an.",
            "Der Name",
        );
        let municipality = crate::validation::required_line(
            &mut errors,
            200,
            "municipality",
            &self.municipality,
            "Bitte geben Sie Ihre Kommune oder Behörde an.",
            "Die Angabe der Kommune",
        );
        let email = clean_line(&self.email, 255);
        if email
            .parse::<crate::accounts::model::EmailAddress>()
            .is_err()
        {
            errors.add(
                "email",
                "Bitte geben Sie eine E-Mail-Adresse im Format name@beispiel.de an.",
            );
        }
        let message = clean_text(&self.message, 3001);
        if message.is_empty() {
            errors.add(
                "message",
                "Bitte schreiben Sie, was Sie nachnutzen möchten.",
            );
        } else if message.chars().count() > 3000 {
            errors.add(
                "message",
                "Die Nachricht darf höchstens 3000 Zeichen lang sein.",
            );
        }
        if errors.is_empty() {
            Ok(ValidRequest {
                name,
                email,
                municipality,
                message,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_keeps_only_what_it_can_use() {
        let q = CatalogueQuery {
            suche: " Bürgerbüro ".into(),
            landkreis: "x".into(),
            status: "geheim".into(),
            seite: "-4".into(),
            ..CatalogueQuery::default()
        };
        let s = q.search();
        assert_eq!(s.text, "Bürgerbüro");
        assert_eq!((s.district, s.phase.as_str(), s.page), (None, "", 1));
        assert!(s.by_relevance, "a search sorts by relevance");
        let by_date = CatalogueQuery {
            sortierung: "datum".into(),
            ..q
        };
        assert!(!by_date.search().by_relevance);
        assert_eq!(
            by_date.page(2),
            "suche=+B%C3%BCrgerb%C3%BCro+&landkreis=x&status=geheim&sortierung=datum&seite=2"
        );
    }

    #[test]
    fn an_entry_needs_its_texts_and_a_mailbox() {
        let errors = ConsentForm::default().validate().unwrap_err();
        for field in ["summary", "reuse", "mailbox"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        let ok = ConsentForm {
            summary: "Ein Serviceteam.".into(),
            reuse: "Alle Landkreise.".into(),
            mailbox: "digital@kyffhaeuser.example".into(),
            ..ConsentForm::default()
        };
        assert_eq!(
            ok.validate().unwrap().mailbox,
            "digital@kyffhaeuser.example"
        );
    }
}
