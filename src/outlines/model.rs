//! Projektskizzen without I/O: the outline form and its checks, where a consultation stands,
//! the partner search as typed, and what an outline gives the application made from it.

use serde::Deserialize;
use time::Date;

use crate::applications::forms::Answers;
use crate::applications::model::Section;
use crate::locale;
use crate::money::Cents;
use crate::validation::{FormErrors, clean_line, clean_text, required_line};

crate::stored::stored_enum! {
    /// Where the consultation with the ministry stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Consultation {
        /// Not asked for (yet).
        None = "none",
        Requested = "requested",
        Agreed = "agreed",
    }
}

impl Consultation {
    pub fn label(self) -> &'static str {
        match self {
            Consultation::None => "Nicht angefragt",
            Consultation::Requested => "Zur Abstimmung beim Ministerium",
            Consultation::Agreed => "Mit dem Ministerium abgestimmt",
        }
    }

    /// The CSS class of its tag.
    pub fn tag(self) -> &'static str {
        match self {
            Consultation::None => "tag-draft",
            Consultation::Requested => "tag-soon",
            Consultation::Agreed => "tag-open",
        }
    }
}

pub const TITLE_MAX: usize = 150;
pub const GOAL_MAX: usize = 3000;
pub const PARTNERS_FOR_MAX: usize = 2000;
pub const MESSAGE_MAX: usize = 5000;
pub const INTEREST_MAX: usize = 2000;
/// The application's summary takes at most this much of the goal.
const SUMMARY_MAX: usize = 1000;

/// The outline form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OutlineForm {
    pub title: String,
    pub goal: String,
    pub category: String,
    pub estimated_cost: String,
    pub planned_start: String,
    pub planned_end: String,
    /// "ja" or "nein".
    pub partners_wanted: String,
    pub partners_for: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
}

/// An outline that can be saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidOutline {
    pub title: String,
    pub goal: String,
    pub category_code: Option<String>,
    pub estimated_cost: Option<Cents>,
    pub planned_start: Option<Date>,
    pub planned_end: Option<Date>,
    pub partners_wanted: bool,
    pub partners_for: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
}

impl OutlineForm {
    pub fn of(o: &ValidOutline) -> Self {
        OutlineForm {
            title: o.title.clone(),
            goal: o.goal.clone(),
            category: o.category_code.clone().unwrap_or_default(),
            estimated_cost: o.estimated_cost.map(Cents::plain).unwrap_or_default(),
            planned_start: o.planned_start.map(|d| d.to_string()).unwrap_or_default(),
            planned_end: o.planned_end.map(|d| d.to_string()).unwrap_or_default(),
            partners_wanted: if o.partners_wanted { "ja" } else { "nein" }.into(),
            partners_for: o.partners_for.clone(),
            contact_name: o.contact_name.clone(),
            contact_email: o.contact_email.clone(),
            contact_phone: o.contact_phone.clone(),
        }
    }

    /// A new outline's contact: the signed-in clerk.
    pub fn for_clerk(name: &str, email: &str) -> Self {
        OutlineForm {
            contact_name: name.into(),
            contact_email: email.into(),
            partners_wanted: "nein".into(),
            ..OutlineForm::default()
        }
    }

    /// `categories`: the codes a category may be chosen from.
    pub fn validate(&self, categories: &[(String, String)]) -> Result<ValidOutline, FormErrors> {
        let mut errors = FormErrors::default();
        let title = required_line(
            &mut errors,
            TITLE_MAX,
            "title",
            &self.title,
            "Bitte geben Sie einen Titel für das Vorhaben an.",
            "Der Titel",
        );
        let goal = long_text(
            &mut errors,
            "goal",
            &self.goal,
            GOAL_MAX,
            "Bitte beschreiben Sie, was das Vorhaben erreichen soll.",
        );
        let category_code = self.category(&mut errors, categories);
        let estimated_cost = self.estimated_cost(&mut errors);
        let (planned_start, planned_end) = self.period(&mut errors);
        let partners_wanted = match self.partners_wanted.as_str() {
            "ja" => true,
            "nein" => false,
            _ => {
                errors.add(
                    "partners_wanted",
                    "Bitte geben Sie an, ob Sie Partnerkommunen suchen.",
                );
                false
            }
        };
        let partners_for = long_text(
            &mut errors,
            "partners_for",
            &self.partners_for,
            PARTNERS_FOR_MAX,
            if partners_wanted {
                "Bitte beschreiben Sie, wofür Sie Partnerkommunen suchen."
            } else {
                ""
            },
        );
        let (contact_name, contact_email, contact_phone) = self.contact(&mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidOutline {
            title,
            goal,
            category_code,
            estimated_cost,
            planned_start,
            planned_end,
            partners_wanted,
            partners_for: if partners_wanted {
                partners_for
            } else {
                String::new()
            },
            contact_name,
            contact_email,
            contact_phone,
        })
    }

    fn category(&self, errors: &mut FormErrors, categories: &[(String, String)]) -> Option<String> {
        let category = clean_line(&self.category, 20);
        if category.is_empty() {
            None
        } else if categories.iter().any(|(code, _)| *code == category) {
            Some(category)
        } else {
            errors.add(
                "category",
                "Bitte wählen Sie einen Fördergegenstand aus der Liste.",
            );
            None
        }
    }

    fn estimated_cost(&self, errors: &mut FormErrors) -> Option<Cents> {
        match clean_line(&self.estimated_cost, 40) {
            typed if typed.is_empty() => None,
            typed => match typed.parse::<Cents>() {
                Ok(c) if c <= crate::applications::forms::MAX_AMOUNT => Some(c),
                Ok(_) => {
                    errors.add("estimated_cost", "Der Betrag ist zu groß.");
                    None
                }
                Err(e) => {
                    errors.add("estimated_cost", e.to_string());
                    None
                }
            },
        }
    }

    /// Name, e-mail address and phone of the contact.
    fn contact(&self, errors: &mut FormErrors) -> (String, String, String) {
        let contact_name = required_line(
            errors,
            200,
            "contact_name",
            &self.contact_name,
            "Bitte geben Sie eine Ansprechperson an.",
            "Der Name",
        );
        let contact_email = clean_line(&self.contact_email, 255);
        if contact_email
            .parse::<crate::accounts::model::EmailAddress>()
            .is_err()
        {
            errors.add(
                "contact_email",
                "Bitte geben Sie eine E-Mail-Adresse im Format name@kommune.de an.",
            );
        }
        let contact_phone = clean_line(&self.contact_phone, 41);
        if contact_phone.chars().count() > 40 {
            errors.add(
                "contact_phone",
                "Die Telefonnummer darf höchstens 40 Zeichen lang sein.",
            );
        }
        (contact_name, contact_email, contact_phone)
    }

    /// The planned period: each end optional; when both are given, the end after the start.
    fn period(&self, errors: &mut FormErrors) -> (Option<Date>, Option<Date>) {
        let mut day = |field: &'static str, typed: &str| {
            let typed = clean_line(typed, 20);
            if typed.is_empty() {
                return None;
            }
            let parsed = locale::parse_day(&typed);
            if parsed.is_none() {
                errors.add(
                    field,
                    "Bitte geben Sie das Datum als Tag, Monat und Jahr an, zum Beispiel 01.04.2027.",
                );
            }
            parsed
        };
        let start = day("planned_start", &self.planned_start);
        let end = day("planned_end", &self.planned_end);
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            errors.add(
                "planned_end",
                "Das geplante Ende muss nach dem Beginn liegen.",
            );
        }
        (start, end)
    }
}

/// Multi-line text with a limit; `missing` empty for an optional one.
fn long_text(
    errors: &mut FormErrors,
    field: &'static str,
    value: &str,
    max: usize,
    missing: &str,
) -> String {
    let cleaned = clean_text(value, max + 1);
    if cleaned.is_empty() && !missing.is_empty() {
        errors.add(field, missing);
    } else if cleaned.chars().count() > max {
        errors.add(field, format!("Höchstens {max} Zeichen."));
    }
    cleaned
}

/// A message in the consultation, or an expression of interest, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct MessageForm {
    pub message: String,
}

/// A message in the consultation, or an expression of interest: required, with a limit.
pub fn message_text(typed: &str, max: usize, missing: &str) -> Result<String, FormErrors> {
    let mut errors = FormErrors::default();
    let text = long_text(&mut errors, "message", typed, max, missing);
    if errors.is_empty() {
        Ok(text)
    } else {
        Err(errors)
    }
}

/// What the application made from an outline starts with: the Vorhaben (title, summary from
/// the goal, category if the round offers it, the planned period) and the contact.
pub fn prefill(o: &ValidOutline, round_categories: &[(String, String)]) -> Vec<(Section, Answers)> {
    let mut project = Answers::new();
    let put = |answers: &mut Answers, key: &str, value: String| {
        if !value.is_empty() {
            answers.insert(key.to_string(), value);
        }
    };
    put(&mut project, "title", o.title.clone());
    put(
        &mut project,
        "summary",
        o.goal.chars().take(SUMMARY_MAX).collect(),
    );
    put(&mut project, "goals", o.goal.clone());
    if let Some(code) = o
        .category_code
        .as_ref()
        .filter(|c| round_categories.iter().any(|(code, _)| code == *c))
    {
        put(&mut project, "category", code.clone());
    }
    put(
        &mut project,
        "start_date",
        o.planned_start.map(|d| d.to_string()).unwrap_or_default(),
    );
    put(
        &mut project,
        "end_date",
        o.planned_end.map(|d| d.to_string()).unwrap_or_default(),
    );
    let mut applicant = Answers::new();
    put(&mut applicant, "contact_name", o.contact_name.clone());
    put(&mut applicant, "contact_email", o.contact_email.clone());
    put(&mut applicant, "contact_phone", o.contact_phone.clone());
    vec![(Section::Project, project), (Section::Applicant, applicant)]
}

/// The partner search as it arrives in the address bar.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    pub suche: String,
    pub kategorie: String,
    pub landkreis: String,
    pub seite: String,
}

/// The partner search as the database takes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub text: String,
    pub category: String,
    pub district: Option<i64>,
    pub page: i64,
}

impl SearchQuery {
    pub fn search(&self) -> Search {
        Search {
            text: clean_line(&self.suche, 200),
            category: clean_line(&self.kategorie, 10),
            district: self.landkreis.trim().parse().ok(),
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
            ("seite", &page),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories() -> Vec<(String, String)> {
        vec![
            ("2a".into(), "Digitalisierung".into()),
            ("2c".into(), "Basisdienste".into()),
        ]
    }

    fn form() -> OutlineForm {
        OutlineForm {
            title: "Gemeinsames Bürgerkonto".into(),
            goal: "Ein Konto für alle Onlinedienste des Landkreises.".into(),
            category: "2c".into(),
            estimated_cost: "120.000".into(),
            planned_start: "2027-04-01".into(),
            planned_end: "31.03.2028".into(),
            partners_wanted: "ja".into(),
            partners_for: "Gemeinsamer Betrieb".into(),
            contact_name: "Sachgebiet Digitales".into(),
            contact_email: "digital@kreis.example".into(),
            contact_phone: String::new(),
        }
    }

    #[test]
    fn a_complete_outline_is_parsed_into_typed_values() {
        let o = form().validate(&categories()).unwrap();
        assert_eq!(o.estimated_cost, Some(Cents::from_euros(120_000)));
        assert_eq!(o.planned_end.unwrap().to_string(), "2028-03-31");
        assert!(o.partners_wanted);
        // Shown again in the form as a date field takes it, and parsed back the same.
        assert_eq!(OutlineForm::of(&o).validate(&categories()).unwrap(), o);
    }

    #[test]
    fn every_problem_is_named_at_its_field() {
        let bad = OutlineForm {
            title: " ".into(),
            category: "9z".into(),
            estimated_cost: "1,234.56".into(),
            planned_start: "2028-01-01".into(),
            planned_end: "2027-01-01".into(),
            partners_wanted: "ja".into(),
            partners_for: String::new(),
            contact_email: "kein-at".into(),
            ..form()
        };
        let errors = bad.validate(&categories()).unwrap_err();
        for field in [
            "title",
            "category",
            "estimated_cost",
            "planned_end",
            "partners_for",
            "contact_email",
        ] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert!(errors.get("goal").is_none());
    }

    #[test]
    fn without_partners_wanted_nothing_about_them_is_kept() {
        let o = OutlineForm {
            partners_wanted: "nein".into(),
            ..form()
        }
        .validate(&categories())
        .unwrap();
        assert_eq!(o.partners_for, "");
    }

    #[test]
    fn the_application_gets_the_outline_s_answers_and_only_a_category_the_round_offers() {
        let o = form().validate(&categories()).unwrap();
        let prefilled = prefill(&o, &categories());
        let project = &prefilled[0].1;
        assert_eq!(prefilled[0].0, Section::Project);
        assert_eq!(project["title"], "Gemeinsames Bürgerkonto");
        assert_eq!(project["category"], "2c");
        assert_eq!(project["start_date"], "2027-04-01");
        assert_eq!(prefilled[1].1["contact_email"], "digital@kreis.example");
        let other_round = prefill(&o, &[("2a".into(), "Digitalisierung".into())]);
        assert!(!other_round[0].1.contains_key("category"));
    }
}
