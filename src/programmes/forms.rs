//! The round form: what admins type, kept as typed, and its validation into the values a
//! round stores (cents, basis points, instants in Berlin time).

use time::OffsetDateTime;

use crate::locale;
use crate::money::{Cents, Rate};
use crate::validation::{FormErrors, required_line};

use super::db::{AttachmentType, RoundRow};
use super::model::FinancingType;

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct RoundForm {
    pub title: String,
    pub year: String,
    pub budget: String,
    pub opens_date: String,
    pub opens_time: String,
    pub closes_date: String,
    pub closes_time: String,
    pub max_rate: String,
    pub min_grant: String,
    pub max_grant: String,
    pub financing_type: String,
    /// Share of each grant paid only after the proof of use, in percent ("10").
    pub retained: String,
    /// Months within which requested money must be spent ("2").
    pub payout_window: String,
    /// How far a cost item may move without a decision, in percent of the item ("20").
    pub change_shift: String,
    /// Months after the project's end the proof of use is due ("6").
    pub proof_due: String,
    /// The budget split by Haushaltsjahr, one line per year ("2027: 6.000.000"); empty keeps
    /// the whole budget in the round's year.
    pub budget_years: String,
    /// Codes of the open categories ("2a", …), one `category` field per ticked box.
    #[serde(rename = "category")]
    pub categories: Vec<String>,
    /// The documents asked for, one per line; "(optional)" at the end marks optional ones.
    pub attachments: String,
    /// The admin confirmed a change that breaks the rules for submitted applications.
    #[serde(rename = "confirm", deserialize_with = "ticked")]
    pub confirmed: bool,
    /// Default Nebenbestimmungen of the round's decisions; empty keeps the standard text.
    pub conditions: String,
}

/// A confirmation box: ticked when it sent "ja".
fn ticked<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(<String as serde::Deserialize>::deserialize(d)? == "ja")
}

/// A valid round, ready for the database.
pub struct ValidRound {
    pub title: String,
    pub year: i32,
    pub budget: Cents,
    pub opens_at: OffsetDateTime,
    pub closes_at: OffsetDateTime,
    pub max_rate: Rate,
    pub min_grant: Cents,
    pub max_grant: Option<Cents>,
    pub financing_type: FinancingType,
    pub retained: Rate,
    pub payout_window_months: i32,
    /// Zero: every shift between cost items needs a decision.
    pub change_shift: Rate,
    pub proof_due_months: i32,
    /// Never empty; the amounts add up to the budget.
    pub budget_years: Vec<(i32, Cents)>,
    pub categories: Vec<String>,
    pub attachments: Vec<AttachmentType>,
    pub conditions: Option<String>,
}

impl RoundForm {
    /// A sensible start for a new round: next year, open from tomorrow to the end of March.
    pub fn new_round(year: i32) -> Self {
        RoundForm {
            year: year.to_string(),
            opens_time: "00:00".into(),
            closes_date: format!("{year}-03-31"),
            closes_time: "23:59".into(),
            max_rate: "80".into(),
            financing_type: "anteilfinanzierung".into(),
            retained: "10".into(),
            payout_window: "2".into(),
            change_shift: "20".into(),
            proof_due: "6".into(),
            ..RoundForm::default()
        }
    }

    pub fn from_round(r: &RoundRow) -> Self {
        let (opens_date, opens_time) = locale::berlin_fields(r.opens_at);
        let (closes_date, closes_time) = locale::berlin_fields(r.closes_at);
        let plain = |c: i64| Cents::new(c).plain();
        RoundForm {
            title: r.title.clone(),
            year: r.year.to_string(),
            budget: plain(r.budget_cents),
            opens_date,
            opens_time,
            closes_date,
            closes_time,
            max_rate: percent(r.max_rate_bp),
            retained: percent(r.retained_bp),
            payout_window: r.payout_window_months.to_string(),
            change_shift: percent(r.change_shift_bp),
            proof_due: r.proof_due_months.to_string(),
            budget_years: String::new(),
            min_grant: plain(r.min_grant_cents),
            max_grant: r.max_grant_cents.map(plain).unwrap_or_default(),
            financing_type: r.financing_type.as_str().into(),
            categories: r.categories.clone(),
            attachments: String::new(),
            confirmed: false,
            conditions: r.conditions_template.clone(),
        }
    }

    /// The attachment lines as the form shows them.
    pub fn with_attachments(mut self, types: &[AttachmentType]) -> Self {
        self.attachments = types
            .iter()
            .map(|t| {
                if t.required {
                    t.name.clone()
                } else {
                    format!("{} {OPTIONAL}", t.name)
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        self
    }

    pub fn has_category(&self, code: &str) -> bool {
        self.categories.iter().any(|c| c == code)
    }

    /// The budget, and the smallest and largest grant (the smallest defaults to 0 €).
    fn amounts(&self, errors: &mut FormErrors) -> (Option<Cents>, Cents, Option<Cents>) {
        // Each message names its field: the summary lists several amounts' problems at once.
        let mut money = |field: &'static str, label: &str, value: &str, required: bool| {
            if value.trim().is_empty() && !required {
                return None;
            }
            match value.parse::<Cents>() {
                Ok(cents) => Some(cents),
                Err(problem) => {
                    errors.add(field, format!("{label}: {problem}"));
                    None
                }
            }
        };
        let budget = money("budget", "Budget", &self.budget, true);
        let min_grant =
            money("min_grant", "Mindestzuwendung", &self.min_grant, false).unwrap_or(Cents::ZERO);
        let max_grant = money("max_grant", "Höchstzuwendung", &self.max_grant, false);
        if budget == Some(Cents::ZERO) {
            errors.add("budget", "Das Budget muss größer als 0 € sein.");
        }
        if max_grant.is_some_and(|max| max < min_grant) {
            errors.add(
                "max_grant",
                "Die Höchstzuwendung darf nicht kleiner als die Mindestzuwendung sein.",
            );
        }
        (budget, min_grant, max_grant)
    }

    /// The application window in Berlin time: from the start of its first day (or the time
    /// given) to the end of its last.
    fn window(&self, errors: &mut FormErrors) -> (Option<OffsetDateTime>, Option<OffsetDateTime>) {
        let time_or = |time: &str, default: &str| {
            if time.trim().is_empty() {
                default.to_string()
            } else {
                time.to_string()
            }
        };
        let opens_at = locale::parse_berlin(&self.opens_date, &time_or(&self.opens_time, "00:00"));
        let closes_at =
            locale::parse_berlin(&self.closes_date, &time_or(&self.closes_time, "23:59"));
        if opens_at.is_none() {
            errors.add(
                "opens_date",
                "Bitte geben Sie den Beginn als Datum ein, zum Beispiel 01.12.2026.",
            );
        }
        if closes_at.is_none() {
            errors.add(
                "closes_date",
                "Bitte geben Sie das Ende als Datum ein, zum Beispiel 31.03.2027.",
            );
        }
        if let (Some(opens), Some(closes)) = (opens_at, closes_at)
            && closes <= opens
        {
            errors.add("closes_date", "Das Ende muss nach dem Beginn liegen.");
        }
        (opens_at, closes_at)
    }

    /// The share retained until the proof of use (below 100 %) and the payout window (1 to 12
    /// months).
    fn payout_rules(&self, errors: &mut FormErrors) -> (Option<Rate>, i32) {
        let retained = match self.retained.parse::<Rate>() {
            Ok(rate) if rate.basis_points() < 10_000 => Some(rate),
            Ok(_) => {
                errors.add("retained", "Der Einbehalt muss kleiner als 100 % sein.");
                None
            }
            Err(problem) => {
                errors.add("retained", format!("Einbehalt: {problem}"));
                None
            }
        };
        let payout_window_months = match self.payout_window.trim().parse::<i32>() {
            Ok(m) if (1..=12).contains(&m) => m,
            _ => {
                errors.add(
                    "payout_window",
                    "Bitte geben Sie die Verwendungsfrist als ganze Zahl von Monaten zwischen 1 und 12 ein.",
                );
                0
            }
        };
        (retained, payout_window_months)
    }

    /// The rules of the grant's life after the award: how far a cost item may move without a
    /// decision (0 to 100 % of the item) and when the proof of use is due (1 to 24 months
    /// after the project's end).
    fn change_rules(&self, errors: &mut FormErrors) -> (Rate, i32) {
        let change_shift = match self.change_shift.trim() {
            "0" => Rate::from_basis_points(0),
            typed => typed.parse::<Rate>().unwrap_or_else(|problem| {
                errors.add(
                    "change_shift",
                    format!("Spielraum für Umschichtungen: {problem} 0 heißt: jede Umschichtung braucht eine Entscheidung."),
                );
                Rate::from_basis_points(0)
            }),
        };
        let proof_due_months = match self.proof_due.trim().parse::<i32>() {
            Ok(m) if (1..=24).contains(&m) => m,
            _ => {
                errors.add(
                    "proof_due",
                    "Bitte geben Sie die Frist für den Verwendungsnachweis als ganze Zahl von Monaten zwischen 1 und 24 ein.",
                );
                0
            }
        };
        (change_shift, proof_due_months)
    }

    /// The budget's split by year: lines "2027: 6.000.000" for the round's year and up to five
    /// after it, each year once, adding up to the budget. Empty: all in the round's year.
    fn budget_years(&self, year: i32, budget: Cents, errors: &mut FormErrors) -> Vec<(i32, Cents)> {
        let lines: Vec<&str> = self
            .budget_years
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if lines.is_empty() {
            return vec![(year, budget)];
        }
        let mut split: Vec<(i32, Cents)> = Vec::new();
        for (n, line) in lines.iter().enumerate() {
            let n = n + 1;
            let (y, amount) = line
                .split_once([':', '='])
                .or_else(|| line.split_once(char::is_whitespace))
                .unwrap_or((line, ""));
            let y = y
                .trim()
                .parse::<i32>()
                .ok()
                .filter(|y| (year..=year + 5).contains(y));
            let Some(y) = y else {
                errors.add(
                    "budget_years",
                    format!(
                        "Zeile {n}: Bitte beginnen Sie mit einem Haushaltsjahr von {year} bis {}, zum Beispiel „{year}: 6.000.000“.",
                        year + 5
                    ),
                );
                continue;
            };
            match amount.trim().parse::<Cents>() {
                Ok(_) if split.iter().any(|(seen, _)| *seen == y) => {
                    errors.add(
                        "budget_years",
                        format!("Zeile {n}: Das Jahr {y} steht schon in einer früheren Zeile."),
                    );
                }
                Ok(c) => split.push((y, c)),
                Err(e) => errors.add("budget_years", format!("Zeile {n}: {e}")),
            }
        }
        let sum = Cents::new(split.iter().map(|(_, c)| c.get()).sum());
        if errors.get("budget_years").is_none() && sum != budget {
            errors.add(
                "budget_years",
                format!("Die Jahresbeträge ergeben {sum}, das Budget ist {budget}: Sie müssen übereinstimmen."),
            );
        }
        split.sort_by_key(|(y, _)| *y);
        split
    }

    /// The split as the form shows it, from the stored years; a budget in one year only shows
    /// no split (changing the budget then needs no second change).
    pub fn with_budget_years(mut self, years: &[super::db::BudgetYearRow]) -> Self {
        if years.len() < 2 {
            return self;
        }
        self.budget_years = years
            .iter()
            .map(|y| format!("{}: {}", y.year, Cents::new(y.budget_cents).plain()))
            .collect::<Vec<_>>()
            .join("\n");
        self
    }

    /// Checks every field; `known_categories` are the programme's category codes.
    pub fn validate(&self, known_categories: &[String]) -> Result<ValidRound, FormErrors> {
        let mut errors = FormErrors::default();
        let title = required_line(
            &mut errors,
            200,
            "title",
            &self.title,
            "Bitte geben Sie einen Titel ein.",
            "Der Titel",
        );
        let year = match self.year.trim().parse::<i32>() {
            Ok(year) if (2000..=2100).contains(&year) => year,
            _ => {
                errors.add(
                    "year",
                    "Bitte geben Sie das Jahr vierstellig ein, zum Beispiel 2027.",
                );
                0
            }
        };
        let (budget, min_grant, max_grant) = self.amounts(&mut errors);
        let max_rate = match self.max_rate.parse::<Rate>() {
            Ok(rate) => Some(rate),
            Err(problem) => {
                errors.add("max_rate", format!("Förderquote: {problem}"));
                None
            }
        };
        let (retained, payout_window_months) = self.payout_rules(&mut errors);
        let (change_shift, proof_due_months) = self.change_rules(&mut errors);
        let budget_years = budget
            .map(|budget| self.budget_years(year, budget, &mut errors))
            .unwrap_or_default();
        let (opens_at, closes_at) = self.window(&mut errors);
        let financing_type = self.financing_type.parse::<FinancingType>().ok();
        if financing_type.is_none() {
            errors.add(
                "financing_type",
                "Bitte wählen Sie die Finanzierungsart aus.",
            );
        }
        let attachments = parse_attachments(&self.attachments, &mut errors);
        let conditions = crate::validation::clean_text(&self.conditions, CONDITIONS_MAX + 1);
        if conditions.chars().count() > CONDITIONS_MAX {
            errors.add(
                "conditions",
                format!(
                    "Die Nebenbestimmungen dürfen höchstens {CONDITIONS_MAX} Zeichen lang sein."
                ),
            );
        }
        let categories: Vec<String> = self
            .categories
            .iter()
            .filter(|c| known_categories.contains(c))
            .cloned()
            .collect();
        if categories.is_empty() {
            errors.add(
                "category",
                "Bitte öffnen Sie mindestens einen Fördergegenstand.",
            );
        }
        match (
            budget,
            max_rate,
            opens_at,
            closes_at,
            financing_type,
            retained,
        ) {
            (
                Some(budget),
                Some(max_rate),
                Some(opens_at),
                Some(closes_at),
                Some(financing_type),
                Some(retained),
            ) if errors.is_empty() => Ok(ValidRound {
                title,
                year,
                budget,
                opens_at,
                closes_at,
                max_rate,
                min_grant,
                max_grant,
                financing_type,
                retained,
                payout_window_months,
                change_shift,
                proof_due_months,
                budget_years,
                categories,
                attachments,
                conditions: Some(conditions).filter(|c| !c.is_empty()),
            }),
            _ => Err(errors),
        }
    }
}

/// "80" or "12,5": a rate as the form shows it, without the percent sign.
fn percent(bp: i32) -> String {
    Rate::from_basis_points(bp)
        .to_string()
        .trim_end_matches('%')
        .trim_end()
        .to_string()
}

const OPTIONAL: &str = "(optional)";

const CONDITIONS_MAX: usize = 20_000;

/// "Ratsbeschluss\nAngebote (optional)" → two document types, the second optional.
fn parse_attachments(text: &str, errors: &mut FormErrors) -> Vec<AttachmentType> {
    let mut types: Vec<AttachmentType> = Vec::new();
    for line in text.lines() {
        let line: String = line.chars().filter(|c| !c.is_control()).collect();
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, required) = match line.strip_suffix(OPTIONAL) {
            Some(name) => (name.trim(), false),
            None => (line, true),
        };
        if name.chars().count() > 200 {
            errors.add(
                "attachments",
                "Eine Anlage darf höchstens 200 Zeichen lang sein.",
            );
        } else if types.iter().any(|t| t.name == name) {
            errors.add(
                "attachments",
                format!("Die Anlage „{name}“ steht zweimal in der Liste."),
            );
        } else if !name.is_empty() {
            types.push(AttachmentType {
                name: name.to_string(),
                required,
            });
        }
    }
    types
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> RoundForm {
        RoundForm {
            title: "Förderaufruf 2027".into(),
            year: "2027".into(),
            budget: "10.000.000".into(),
            opens_date: "01.12.2026".into(),
            opens_time: "".into(),
            closes_date: "2027-03-31".into(),
            closes_time: "23:59".into(),
            max_rate: "80".into(),
            min_grant: "5.000".into(),
            max_grant: "200.000,00 €".into(),
            financing_type: "anteilfinanzierung".into(),
            retained: "10".into(),
            payout_window: "2".into(),
            change_shift: "20".into(),
            proof_due: "6".into(),
            budget_years: String::new(),
            categories: vec!["2a".into(), "2x".into()],
            attachments: String::new(),
            confirmed: false,
            conditions: String::new(),
        }
    }

    #[test]
    fn a_complete_form_becomes_a_round_in_exact_units() {
        let round = filled()
            .validate(&["2a".into(), "2b".into()])
            .expect("valid");
        assert_eq!(round.budget, Cents::from_euros(10_000_000));
        assert_eq!(round.max_rate, Rate::from_basis_points(8000));
        assert_eq!(round.max_grant, Some(Cents::from_euros(200_000)));
        assert_eq!(round.categories, ["2a"], "unknown codes are dropped");
        assert_eq!(locale::date_time(round.closes_at), "31.03.2027, 23:59 Uhr");
    }

    #[test]
    fn attachments_are_one_per_line_and_may_be_optional() {
        let form = RoundForm {
            attachments: "Ratsbeschluss\n\n  Angebote (optional)\nRatsbeschluss".into(),
            ..filled()
        };
        let errors = form.validate(&["2a".into()]).err().expect("a duplicate");
        assert_eq!(
            errors.get("attachments"),
            Some("Die Anlage „Ratsbeschluss“ steht zweimal in der Liste.")
        );
        let form = RoundForm {
            attachments: "Ratsbeschluss\nAngebote (optional)".into(),
            ..filled()
        };
        let round = form.validate(&["2a".into()]).expect("valid");
        assert_eq!(
            round.attachments[1],
            AttachmentType {
                name: "Angebote".into(),
                required: false
            }
        );
        assert_eq!(
            RoundForm::default()
                .with_attachments(&round.attachments)
                .attachments,
            "Ratsbeschluss\nAngebote (optional)"
        );
    }

    #[test]
    fn each_problem_is_named_at_its_field() {
        let form = RoundForm {
            budget: "-5".into(),
            closes_date: "30.11.2026".into(),
            max_rate: "120".into(),
            min_grant: "300.000".into(),
            categories: vec![],
            ..filled()
        };
        let errors = form.validate(&["2a".into()]).err().expect("invalid");
        assert!(errors.get("budget").is_some());
        assert_eq!(
            errors.get("closes_date"),
            Some("Das Ende muss nach dem Beginn liegen.")
        );
        assert!(errors.get("max_rate").is_some());
        assert!(errors.get("max_grant").is_some());
        assert!(errors.get("category").is_some());
    }

    #[test]
    fn the_rules_after_the_award_have_their_defaults_and_limits() {
        let round = filled().validate(&["2a".into()]).expect("valid");
        assert_eq!(round.change_shift, Rate::from_basis_points(2000));
        assert_eq!(round.proof_due_months, 6);
        let none = RoundForm {
            change_shift: "0".into(),
            proof_due: "24".into(),
            ..filled()
        };
        let round = none.validate(&["2a".into()]).expect("valid");
        assert_eq!(round.change_shift, Rate::from_basis_points(0));
        let wrong = RoundForm {
            change_shift: "120".into(),
            proof_due: "sechs".into(),
            financing_type: "irgendwie".into(),
            ..filled()
        };
        let errors = wrong.validate(&["2a".into()]).err().expect("invalid");
        assert!(
            errors
                .get("change_shift")
                .unwrap()
                .contains("Umschichtungen")
        );
        assert!(
            errors
                .get("proof_due")
                .unwrap()
                .contains("zwischen 1 und 24")
        );
        assert!(errors.get("financing_type").is_some());
        let deficit = RoundForm {
            financing_type: "fehlbedarfsfinanzierung".into(),
            ..filled()
        };
        assert_eq!(
            deficit
                .validate(&["2a".into()])
                .expect("valid")
                .financing_type,
            FinancingType::Deficit
        );
    }

    #[test]
    fn the_same_problem_in_two_amounts_reads_differently_in_the_summary() {
        let form = RoundForm {
            budget: "1,234.56".into(),
            max_grant: "1,234.56".into(),
            ..filled()
        };
        let errors = form.validate(&["2a".into()]).err().expect("invalid");
        let (budget, max) = (
            errors.get("budget").unwrap(),
            errors.get("max_grant").unwrap(),
        );
        assert!(
            budget.starts_with("Budget: Bitte geben Sie den Betrag"),
            "{budget}"
        );
        assert!(
            max.starts_with("Höchstzuwendung: Bitte geben Sie den Betrag"),
            "{max}"
        );
    }
}
