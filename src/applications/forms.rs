//! The answers of each section, kept exactly as typed (field name → text), and their checks
//! against the round's rules. Nothing typed is lost: answers are saved whether they are valid or
//! not, and the section's status says which it is.

use std::collections::BTreeMap;

use crate::accounts::model::EmailAddress;
use crate::locale;
use crate::money::Cents;
use crate::validation::{FormErrors, clean_line, clean_text};

use super::costs::{COST_KINDS, CostItem, CostPlan, Financing, PlanYears, YearBasis};
use super::model::{RoundRules, Section, SectionStatus};
use crate::validation::Iban;

/// A section's answers as typed.
pub type Answers = BTreeMap<String, String>;

/// What kind of value a field holds: decides how it is cleaned, checked and shown.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// One line of text.
    Line,
    /// Several lines of text.
    Text,
    Date,
    Email,
    Phone,
    Iban,
    /// One of fixed choices (value, label).
    Choice(&'static [(&'static str, &'static str)]),
    /// A declaration ticked by the clerk ("ja").
    Declaration,
}

/// One question of a section.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub max_chars: usize,
    pub optional: bool,
}

const fn field(name: &'static str, label: &'static str, kind: Kind, max_chars: usize) -> Field {
    Field {
        name,
        label,
        kind,
        max_chars,
        optional: false,
    }
}

const fn optional(name: &'static str, label: &'static str, kind: Kind, max_chars: usize) -> Field {
    Field {
        name,
        label,
        kind,
        max_chars,
        optional: true,
    }
}

pub const YES_NO: &[(&str, &str)] = &[("nein", "Nein"), ("ja", "Ja")];

pub const START_STATUS: &[(&str, &str)] = &[
    ("not_started", "Mit dem Vorhaben wurde noch nicht begonnen."),
    (
        "early_start",
        "Ich beantrage den vorzeitigen Maßnahmebeginn.",
    ),
];

pub const VAT_STATUS: &[(&str, &str)] = &[
    (
        "none",
        "Die Kommune ist für dieses Vorhaben nicht zum Vorsteuerabzug berechtigt.",
    ),
    (
        "full",
        "Die Kommune ist zum Vorsteuerabzug berechtigt; die Kosten sind netto angegeben.",
    ),
    (
        "partial",
        "Die Kommune ist teilweise zum Vorsteuerabzug berechtigt; die Kosten sind entsprechend angegeben.",
    ),
];

pub const APPLICANT_FIELDS: &[Field] = &[
    field("contact_name", "Name der Ansprechperson", Kind::Line, 200),
    field("contact_function", "Funktion", Kind::Line, 200),
    field("contact_phone", "Telefon", Kind::Phone, 40),
    field("contact_email", "E-Mail-Adresse", Kind::Email, 254),
    field("account_holder", "Kontoinhaber", Kind::Line, 200),
    field("iban", "IBAN", Kind::Iban, 42),
];

pub const PROJECT_FIELDS: &[Field] = &[
    field("title", "Titel des Vorhabens", Kind::Line, 150),
    // The choices are the round's open categories; `project` checks them.
    field("category", "Fördergegenstand", Kind::Line, 20),
    field("summary", "Kurzbeschreibung", Kind::Text, 1000),
    field(
        "description",
        "Ausführliche Beschreibung",
        Kind::Text,
        10_000,
    ),
    field(
        "goals",
        "Ziele und Nutzen für Bürgerinnen, Bürger und Unternehmen",
        Kind::Text,
        5000,
    ),
    field("start_date", "Geplanter Beginn", Kind::Date, 10),
    field("end_date", "Geplantes Ende", Kind::Date, 10),
    field(
        "started",
        "Wurde mit dem Vorhaben bereits begonnen?",
        Kind::Choice(YES_NO),
        4,
    ),
    optional(
        "started_explanation",
        "Was wurde bereits begonnen?",
        Kind::Text,
        2000,
    ),
];

pub const PARTNERSHIP_FIELDS: &[Field] = &[
    field(
        "reuse",
        "Wie können andere Kommunen das Ergebnis nachnutzen?",
        Kind::Text,
        5000,
    ),
    optional(
        "standards",
        "Standards und Schnittstellen",
        Kind::Text,
        3000,
    ),
    field("licence", "Lizenz", Kind::Line, 300),
    optional("documentation", "Dokumentation", Kind::Text, 3000),
];

pub const DECLARATION_FIELDS: &[Field] = &[
    field(
        "start_status",
        "Beginn des Vorhabens",
        Kind::Choice(START_STATUS),
        20,
    ),
    field("vat", "Vorsteuerabzug", Kind::Choice(VAT_STATUS), 20),
    field(
        "budget_cover",
        "Ein Beschluss des zuständigen Gremiums oder die haushaltsrechtliche Deckung des Eigenanteils liegt vor.",
        Kind::Declaration,
        2,
    ),
    field(
        "correct",
        "Ich versichere, dass alle Angaben in diesem Antrag vollständig und richtig sind.",
        Kind::Declaration,
        2,
    ),
    field(
        "privacy",
        "Ich habe die Datenschutzhinweise zur Kenntnis genommen.",
        Kind::Declaration,
        2,
    ),
];

pub const FINANCING_FIELDS: &[Field] = &[
    field("own_share", "Eigenanteil", Kind::Line, 30),
    optional("third_party", "Drittmittel", Kind::Line, 30),
    optional(
        "other_public",
        "Andere öffentliche Förderung",
        Kind::Line,
        30,
    ),
    field("grant", "Beantragte Zuwendung", Kind::Line, 30),
];

/// The fields of one cost row, after its prefix `cost-{n}-`.
pub const COST_ROW_FIELDS: &[(&str, &str)] = &[
    ("kind", "Art"),
    ("description", "Beschreibung"),
    ("year", "Jahr"),
    ("amount", "Betrag"),
    ("eligible", "Förderfähig"),
];

/// The longest message on a case, either way, and of a reviewer's note.
pub const MESSAGE_MAX: usize = 5000;

/// Cost rows a plan may have.
pub const MAX_COST_ROWS: usize = 100;

/// A single cost item may not be larger than this (absurd amounts are typing errors).
pub const MAX_AMOUNT: Cents = Cents::from_euros(100_000_000);

/// No financing amount may be larger than this.
const MAX_TOTAL: Cents = Cents::from_euros(1_000_000_000);

/// The fixed questions of a section (cost rows come on top of the cost plan's financing).
pub fn fields(section: Section) -> &'static [Field] {
    match section {
        Section::Applicant => APPLICANT_FIELDS,
        Section::Project => PROJECT_FIELDS,
        Section::Partnership => PARTNERSHIP_FIELDS,
        Section::Costs => FINANCING_FIELDS,
        Section::Attachments => &[],
        Section::Declarations => DECLARATION_FIELDS,
    }
}

/// The result of checking a section: its errors, and whether any of them is more than a
/// missing answer.
#[derive(Clone, Debug, Default)]
pub struct Check {
    pub errors: FormErrors,
    invalid: bool,
}

impl Check {
    fn missing(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    fn invalid(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.invalid = true;
        self.errors.add(field, message);
    }

    pub fn status(&self) -> SectionStatus {
        if self.invalid {
            SectionStatus::Error
        } else if self.errors.is_empty() {
            SectionStatus::Complete
        } else {
            SectionStatus::InProgress
        }
    }

    pub fn is_complete(&self) -> bool {
        self.errors.is_empty()
    }
}

/// The posted fields of a section, cleaned: unknown names dropped, control characters removed
/// from single lines (kept as line breaks in texts), lengths capped well above the limit so an
/// over-long answer is kept for the clerk to shorten but cannot fill the database.
pub fn answers_from_form(section: Section, posted: &Answers) -> Answers {
    let mut answers = Answers::new();
    for (name, value) in posted {
        let kind = if let Some(f) = fields(section).iter().find(|f| f.name == name) {
            Some((f.kind, f.max_chars))
        } else if section == Section::Costs {
            cost_row_key(name).map(|(_, part)| {
                let max = if part == "description" { 300 } else { 30 };
                (Kind::Line, max)
            })
        } else {
            None
        };
        let Some((kind, max)) = kind else { continue };
        let keep = max * 2 + 100;
        let cleaned = match kind {
            Kind::Text => clean_text(value, keep),
            _ => clean_line(value, keep),
        };
        answers.insert(name.clone(), cleaned);
    }
    answers
}

/// `cost-3-amount` → (3, "amount").
pub fn cost_row_key(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("cost-")?;
    let (index, part) = rest.split_once('-')?;
    let index: usize = index.parse().ok()?;
    (index < MAX_COST_ROWS && COST_ROW_FIELDS.iter().any(|(p, _)| *p == part))
        .then_some((index, part))
}

fn value<'a>(answers: &'a Answers, name: &str) -> &'a str {
    answers.get(name).map_or("", String::as_str)
}

/// Checks the fixed fields of a section: required answers, lengths and formats.
fn check_fields(check: &mut Check, section: Section, answers: &Answers) {
    for f in fields(section) {
        let v = value(answers, f.name);
        if v.is_empty() {
            if !f.optional {
                check.missing(f.name, missing_message(f));
            }
            continue;
        }
        let chars = v.chars().count();
        if chars > f.max_chars {
            check.invalid(
                f.name,
                format!(
                    "„{}“ darf höchstens {} Zeichen lang sein; Sie haben {} Zeichen eingegeben.",
                    f.label,
                    thousands(f.max_chars),
                    thousands(chars)
                ),
            );
            continue;
        }
        match f.kind {
            Kind::Email => {
                if v.parse::<EmailAddress>().is_err() {
                    check.invalid(
                        f.name,
                        "Bitte geben Sie eine E-Mail-Adresse im Format name@beispiel.de ein.",
                    );
                }
            }
            Kind::Phone => {
                let digits = v.chars().filter(char::is_ascii_digit).count();
                let allowed = v
                    .chars()
                    .all(|c| c.is_ascii_digit() || " +-/()".contains(c));
                if !allowed || digits < 5 {
                    check.invalid(
                        f.name,
                        "Bitte geben Sie eine Telefonnummer ein, zum Beispiel 0361 57 3000.",
                    );
                }
            }
            Kind::Iban => {
                if let Err(message) = v.parse::<Iban>() {
                    check.invalid(f.name, message);
                }
            }
            Kind::Date => {
                if locale::parse_date(v).is_none() {
                    check.invalid(
                        f.name,
                        format!(
                            "„{}“ muss ein gültiges Datum sein, zum Beispiel 01.04.2027.",
                            f.label
                        ),
                    );
                }
            }
            Kind::Choice(choices) => {
                if !choices.iter().any(|(key, _)| *key == v) {
                    check.invalid(f.name, missing_message(f));
                }
            }
            Kind::Declaration => {
                if v != "ja" {
                    check.invalid(f.name, missing_message(f));
                }
            }
            Kind::Line | Kind::Text => {}
        }
    }
}

fn missing_message(f: &Field) -> String {
    match f.kind {
        Kind::Choice(_) => format!("Bitte wählen Sie eine Antwort zu „{}“.", f.label),
        Kind::Declaration => "Bitte bestätigen Sie diese Erklärung.".to_string(),
        Kind::Date => format!("Bitte geben Sie das Datum „{}“ ein.", f.label),
        _ => format!("Bitte füllen Sie „{}“ aus.", f.label),
    }
}

/// "10.000" for character counts.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

pub fn check_applicant(answers: &Answers) -> Check {
    let mut check = Check::default();
    check_fields(&mut check, Section::Applicant, answers);
    check
}

pub fn check_project(answers: &Answers, rules: &RoundRules) -> Check {
    let mut check = Check::default();
    check_fields(&mut check, Section::Project, answers);
    let category = value(answers, "category");
    if !category.is_empty() && !rules.categories.iter().any(|(code, _)| code == category) {
        check.invalid(
            "category",
            "Bitte wählen Sie einen Fördergegenstand, der in diesem Förderaufruf geöffnet ist.",
        );
    }
    let start = locale::parse_date(value(answers, "start_date"));
    let end = locale::parse_date(value(answers, "end_date"));
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        check.invalid(
            "end_date",
            "Das geplante Ende muss nach dem geplanten Beginn liegen.",
        );
    }
    if value(answers, "started") == "ja" && value(answers, "started_explanation").is_empty() {
        check.missing(
            "started_explanation",
            "Bitte beschreiben Sie, was bereits begonnen wurde.",
        );
    }
    check
}

pub fn check_partnership(answers: &Answers) -> Check {
    let mut check = Check::default();
    check_fields(&mut check, Section::Partnership, answers);
    check
}

pub fn check_declarations(answers: &Answers) -> Check {
    let mut check = Check::default();
    check_fields(&mut check, Section::Declarations, answers);
    check
}

/// One cost row as typed, for the form.
#[derive(Clone, Debug, Default)]
pub struct CostRowInput {
    pub kind: String,
    pub description: String,
    pub year: String,
    pub amount: String,
    pub eligible: String,
}

impl CostRowInput {
    /// Nothing typed (the eligibility has a default, so it does not count).
    pub fn is_blank(&self) -> bool {
        self.kind.is_empty()
            && self.description.is_empty()
            && self.year.is_empty()
            && self.amount.is_empty()
    }
}

/// The cost rows of the answers, in order, blank rows included.
pub fn cost_rows(answers: &Answers) -> Vec<CostRowInput> {
    let mut rows: BTreeMap<usize, CostRowInput> = BTreeMap::new();
    for (name, v) in answers {
        if let Some((index, part)) = cost_row_key(name) {
            let row = rows.entry(index).or_default();
            let slot = match part {
                "kind" => &mut row.kind,
                "description" => &mut row.description,
                "year" => &mut row.year,
                "amount" => &mut row.amount,
                _ => &mut row.eligible,
            };
            *slot = v.clone();
        }
    }
    rows.into_values().collect()
}

/// Writes cost rows back into answers, numbered from 0 without gaps.
pub fn set_cost_rows(answers: &mut Answers, rows: &[CostRowInput]) {
    answers.retain(|name, _| cost_row_key(name).is_none());
    for (i, row) in rows.iter().enumerate() {
        for (part, v) in [
            ("kind", &row.kind),
            ("description", &row.description),
            ("year", &row.year),
            ("amount", &row.amount),
            ("eligible", &row.eligible),
        ] {
            answers.insert(format!("cost-{i}-{part}"), v.clone());
        }
    }
}

/// The years the cost plan may use: those of the project period typed in "Vorhaben" (planned
/// start and end), or the round's fallback while there is none.
pub fn plan_years(project: &Answers, round_year: i32) -> PlanYears {
    let start = locale::parse_date(value(project, "start_date"));
    let end = locale::parse_date(value(project, "end_date"));
    let period = start
        .zip(end)
        .map(|(s, e)| (i32::from(s.year()), i32::from(e.year())));
    PlanYears::for_project(period, round_year)
}

/// The cost plan: every row and the financing checked, then the plan's arithmetic (balance,
/// rate, caps). Cost items must fall in `years`. Returns the plan where every amount could be
/// read.
pub fn check_costs(
    answers: &Answers,
    rules: &RoundRules,
    years: &PlanYears,
) -> (Check, Option<CostPlan>) {
    let mut check = Check::default();
    let (items, mut readable) = check_cost_items(&mut check, answers, years);
    let (financing, financing_readable) = check_financing(&mut check, answers);
    readable &= financing_readable;
    if !readable || !check.errors.is_empty() {
        let plan = readable.then(|| CostPlan::new(items, financing_of(financing)));
        return (check, plan);
    }
    let plan = CostPlan::new(items, financing_of(financing));
    for (field, message) in plan.problems(rules) {
        check.invalid(field, message);
    }
    (check, Some(plan))
}

/// The eligible costs of the rows as typed, whatever the financing says; none while an amount
/// cannot be read or no row is filled in. The rows counted are those the plan adds up.
pub fn eligible_costs(answers: &Answers, years: &PlanYears) -> Option<Cents> {
    let (items, readable) = check_cost_items(&mut Check::default(), answers, years);
    readable.then(|| CostPlan::new(items, Financing::default()).eligible)
}

/// The cost rows (`cost-{i}-…` fields; blank rows left out), each checked, with costs in
/// `years`. Also false when an amount cannot be read, so the rows cannot be added up.
pub fn check_cost_items(
    check: &mut Check,
    answers: &Answers,
    years: &PlanYears,
) -> (Vec<CostItem>, bool) {
    let rows = cost_rows(answers);
    let mut items = Vec::new();
    let mut readable = true;
    for (i, row) in rows.iter().enumerate().filter(|(_, row)| !row.is_blank()) {
        match check_cost_row(check, i, row, years) {
            RowCheck::Item(item) => items.push(item),
            RowCheck::AmountUnreadable => readable = false,
            RowCheck::Incomplete => {}
        }
    }
    if rows.iter().all(CostRowInput::is_blank) {
        check.missing(
            "cost-0-kind",
            "Bitte geben Sie mindestens eine Kostenposition an.",
        );
        readable = false;
    }
    (items, readable)
}

/// What one cost row amounts to.
enum RowCheck {
    Item(CostItem),
    /// Its amount cannot be read, so the plan cannot be added up.
    AmountUnreadable,
    /// Something else is missing or wrong; the plan can still be added up without it.
    Incomplete,
}

/// Row `i` (shown to the clerk as number `i + 1`): kind, description, year, amount and
/// eligibility, each with its own message.
fn check_cost_row(check: &mut Check, i: usize, row: &CostRowInput, years: &PlanYears) -> RowCheck {
    let n = i + 1;
    let key = |part: &str| format!("cost-{i}-{part}");
    let kind = COST_KINDS
        .iter()
        .find(|(k, _)| *k == row.kind)
        .map(|(k, _)| *k);
    if kind.is_none() {
        check.missing(
            key("kind"),
            format!("Bitte wählen Sie die Art der Kostenposition {n}."),
        );
    }
    if row.description.is_empty() {
        check.missing(
            key("description"),
            format!("Bitte beschreiben Sie die Kostenposition {n}."),
        );
    } else if row.description.chars().count() > 300 {
        check.invalid(
            key("description"),
            format!(
                "Die Beschreibung der Kostenposition {n} darf höchstens 300 Zeichen lang sein."
            ),
        );
    }
    let year = cost_year(check, &key("year"), n, &row.year, years);
    let amount = cost_amount(check, &key("amount"), n, &row.amount);
    let eligible = match row.eligible.as_str() {
        "ja" => Some(true),
        "nein" => Some(false),
        _ => {
            check.missing(
                key("eligible"),
                format!("Bitte geben Sie an, ob die Kostenposition {n} förderfähig ist."),
            );
            None
        }
    };
    match (kind, year, amount, eligible) {
        (Some(kind), Some(year), Some(amount), Some(eligible)) => RowCheck::Item(CostItem {
            kind,
            description: row.description.clone(),
            year,
            amount,
            eligible,
        }),
        (_, _, None, _) => RowCheck::AmountUnreadable,
        _ => RowCheck::Incomplete,
    }
}

/// The year of row number `n`: one of `years`, each refusal saying which row, which years
/// are possible and where the years come from. A year outside them is an error but still the
/// item's year, so the plan adds up what was planned (a submitted plan stays readable when its
/// project period changes later).
fn cost_year(
    check: &mut Check,
    field: &str,
    n: usize,
    typed: &str,
    years: &PlanYears,
) -> Option<i32> {
    let span = years.span();
    match typed.parse::<i32>() {
        Ok(y) if years.contains(y) => Some(y),
        _ if typed.is_empty() => {
            check.missing(
                field,
                format!("Bitte wählen Sie das Jahr der Kostenposition {n}."),
            );
            None
        }
        Ok(y) => {
            let message = match years.basis {
                YearBasis::Project => format!(
                    "Das Jahr {y} der Kostenposition {n} liegt nicht im Zeitraum des Vorhabens ({span}). Wählen Sie ein Jahr von {span} oder passen Sie im Abschnitt „Vorhaben“ Beginn und Ende an."
                ),
                YearBasis::Round => format!(
                    "Das Jahr {y} der Kostenposition {n} ist nicht möglich: Ohne Beginn und Ende des Vorhabens stehen die Jahre {span} zur Wahl. Tragen Sie im Abschnitt „Vorhaben“ den Zeitraum ein."
                ),
                YearBasis::Grant => format!(
                    "Das Jahr {y} der Kostenposition {n} liegt nicht im Bewilligungszeitraum ({span}). Wählen Sie ein Jahr von {span} oder verlängern Sie den Zeitraum."
                ),
            };
            check.invalid(field, message);
            Some(y)
        }
        Err(_) => {
            check.invalid(
                field,
                format!("Bitte wählen Sie das Jahr der Kostenposition {n} aus der Liste ({span})."),
            );
            None
        }
    }
}

fn cost_amount(check: &mut Check, field: &str, n: usize, typed: &str) -> Option<Cents> {
    match typed.parse::<Cents>() {
        Ok(a) if a == Cents::ZERO => {
            check.invalid(
                field,
                format!("Der Betrag der Kostenposition {n} muss größer als 0 € sein."),
            );
            None
        }
        Ok(a) if a > MAX_AMOUNT => {
            check.invalid(
                field,
                format!("Der Betrag der Kostenposition {n} darf höchstens {MAX_AMOUNT} betragen."),
            );
            None
        }
        Ok(a) => Some(a),
        Err(crate::money::MoneyError::Empty) => {
            check.missing(
                field,
                format!("Bitte geben Sie den Betrag der Kostenposition {n} an."),
            );
            None
        }
        Err(e) => {
            check.invalid(field, format!("Kostenposition {n}: {e}"));
            None
        }
    }
}

/// The four financing amounts (own share, third parties, other public money, the grant asked
/// for); false when one of them cannot be read.
fn check_financing(check: &mut Check, answers: &Answers) -> ([Cents; 4], bool) {
    let mut financing = [Cents::ZERO; 4];
    let mut readable = true;
    for (slot, f) in financing.iter_mut().zip(FINANCING_FIELDS) {
        match value(answers, f.name).parse::<Cents>() {
            Ok(a) if a > MAX_TOTAL => {
                check.invalid(f.name, format!("„{}“ ist unplausibel hoch.", f.label));
                readable = false;
            }
            Ok(a) => *slot = a,
            Err(crate::money::MoneyError::Empty) if f.optional => {}
            Err(crate::money::MoneyError::Empty) => {
                check.missing(f.name, missing_message(f));
                readable = false;
            }
            Err(e) => {
                check.invalid(f.name, format!("{}: {e}", f.label));
                readable = false;
            }
        }
    }
    (financing, readable)
}

fn financing_of([own_share, third_party, other_public, grant]: [Cents; 4]) -> Financing {
    Financing {
        own_share,
        third_party,
        other_public,
        grant,
    }
}

/// The label of any answer of a section, cost rows included ("Kostenposition 2: Betrag").
pub fn label_of(section: Section, name: &str) -> String {
    if let Some(f) = fields(section).iter().find(|f| f.name == name) {
        return f.label.to_string();
    }
    if let Some((index, part)) = cost_row_key(name) {
        let part_label = COST_ROW_FIELDS
            .iter()
            .find(|(p, _)| *p == part)
            .map_or(part, |(_, l)| *l);
        return format!("Kostenposition {}: {part_label}", index + 1);
    }
    name.to_string()
}

/// Any answer of a section as people read it.
pub fn display_of(section: Section, name: &str, answer: &str) -> String {
    match fields(section).iter().find(|f| f.name == name) {
        Some(f) => display(f, answer),
        None if answer.is_empty() => "Nicht angegeben".to_string(),
        None => match cost_row_key(name) {
            Some((_, "kind")) => super::costs::kind_label(answer).to_string(),
            Some((_, "eligible")) if answer == "ja" => "Ja".to_string(),
            Some((_, "eligible")) if answer == "nein" => "Nein".to_string(),
            _ => answer.to_string(),
        },
    }
}

/// An answer as the check-answers page and the print copy show it.
pub fn display(f: &Field, answer: &str) -> String {
    if answer.is_empty() {
        return "Nicht angegeben".to_string();
    }
    match f.kind {
        Kind::Choice(choices) => choices
            .iter()
            .find(|(k, _)| *k == answer)
            .map_or_else(|| answer.to_string(), |(_, label)| label.to_string()),
        Kind::Declaration if answer == "ja" => "Erklärt".to_string(),
        Kind::Date => {
            locale::parse_date(answer).map_or_else(|| answer.to_string(), locale::civil_date)
        }
        Kind::Iban => answer
            .parse::<Iban>()
            .map_or_else(|_| answer.to_string(), |i| i.to_string()),
        _ => answer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Rate;

    fn rules() -> RoundRules {
        RoundRules {
            year: 2027,
            categories: vec![("2c".into(), "Basisdienste".into())],
            max_rate: Rate::from_basis_points(8000),
            min_grant: Cents::from_euros(5000),
            max_grant: Some(Cents::from_euros(200_000)),
        }
    }

    /// The project period of the sample plan.
    fn years() -> PlanYears {
        PlanYears::for_project(Some((2027, 2028)), 2027)
    }

    fn check_costs(answers: &Answers, rules: &RoundRules) -> (Check, Option<CostPlan>) {
        super::check_costs(answers, rules, &years())
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn plan(grant: &str, own: &str) -> Answers {
        answers(&[
            ("cost-0-kind", "software"),
            ("cost-0-description", "Lizenzen"),
            ("cost-0-year", "2027"),
            ("cost-0-amount", "100.000,00"),
            ("cost-0-eligible", "ja"),
            ("cost-1-kind", "training"),
            ("cost-1-description", "Schulung"),
            ("cost-1-year", "2028"),
            ("cost-1-amount", "20.000"),
            ("cost-1-eligible", "nein"),
            ("own_share", own),
            ("grant", grant),
        ])
    }

    #[test]
    fn a_balanced_plan_within_the_caps_is_complete() {
        let (check, plan) = check_costs(&plan("80.000", "40.000"), &rules());
        assert!(check.is_complete(), "{:?}", check.errors);
        let plan = plan.unwrap();
        assert_eq!(plan.total, Cents::from_euros(120_000));
        assert_eq!(plan.eligible, Cents::from_euros(100_000));
        assert_eq!(plan.rate().unwrap().to_string(), "80\u{a0}%");
    }

    #[test]
    fn an_unbalanced_plan_says_by_how_much() {
        let (check, _) = check_costs(&plan("80.000", "39.999,99"), &rules());
        assert_eq!(check.status(), SectionStatus::Error);
        let message = check.errors.get("own_share").unwrap();
        assert!(message.contains("0,01"), "{message}");
    }

    #[test]
    fn the_grant_may_not_exceed_the_rate_of_the_eligible_costs() {
        let (check, _) = check_costs(&plan("80.000,01", "39.999,99"), &rules());
        let message = check.errors.get("grant").unwrap();
        assert!(message.contains("80.000,00"), "{message}");
    }

    #[test]
    fn the_grant_respects_the_minimum() {
        let mut a = plan("4.000", "116.000");
        a.insert("cost-1-eligible".into(), "ja".into());
        let (check, _) = check_costs(&a, &rules());
        assert!(check.errors.get("grant").unwrap().contains("5.000,00"));
    }

    #[test]
    fn missing_answers_mean_in_progress_and_wrong_ones_mean_error() {
        let (check, _) = check_costs(&answers(&[]), &rules());
        assert_eq!(check.status(), SectionStatus::InProgress);
        let mut a = plan("80.000", "40.000");
        a.insert("cost-0-amount".into(), "-5".into());
        let (check, plan) = check_costs(&a, &rules());
        assert_eq!(check.status(), SectionStatus::Error);
        assert!(plan.is_none());
        a.insert("cost-0-amount".into(), "999.999.999,00".into());
        let (check, _) = check_costs(&a, &rules());
        assert!(check.errors.get("cost-0-amount").is_some());
    }

    #[test]
    fn a_year_outside_the_project_period_is_refused_naming_the_row_and_the_years() {
        let mut a = plan("80.000", "40.000");
        a.insert("cost-1-year".into(), "2029".into());
        let (check, _) = check_costs(&a, &rules());
        assert_eq!(check.status(), SectionStatus::Error);
        let message = check.errors.get("cost-1-year").unwrap();
        assert!(
            message.contains("Kostenposition 2") && message.contains("2027 bis 2028"),
            "{message}"
        );
        let project = answers(&[("start_date", "2027-04-01"), ("end_date", "31.12.2027")]);
        let only_2027 = plan_years(&project, 2027);
        assert_eq!((only_2027.first, only_2027.last), (2027, 2027));
        let (check, _) = super::check_costs(&plan("80.000", "40.000"), &rules(), &only_2027);
        assert!(check.errors.get("cost-1-year").is_some());
        assert_eq!(plan_years(&Answers::new(), 2027).basis, YearBasis::Round);
    }

    #[test]
    fn the_eligible_costs_are_known_as_soon_as_every_amount_can_be_read() {
        let mut a = plan("", "");
        assert_eq!(
            eligible_costs(&a, &years()),
            Some(Cents::from_euros(100_000))
        );
        a.insert("cost-0-amount".into(), "zehn".into());
        assert_eq!(eligible_costs(&a, &years()), None);
        assert_eq!(eligible_costs(&Answers::new(), &years()), None);
    }

    #[test]
    fn blank_cost_rows_are_ignored() {
        let mut a = plan("80.000", "40.000");
        a.insert("cost-2-eligible".into(), "ja".into());
        let (check, _) = check_costs(&a, &rules());
        assert!(check.is_complete(), "{:?}", check.errors);
    }

    #[test]
    fn cost_rows_are_renumbered_without_gaps() {
        let mut a = plan("1", "1");
        let mut rows = cost_rows(&a);
        rows.remove(0);
        set_cost_rows(&mut a, &rows);
        assert_eq!(value(&a, "cost-0-description"), "Schulung");
        assert!(!a.contains_key("cost-1-description"));
    }

    #[test]
    fn the_project_end_must_follow_its_start_and_categories_must_be_open() {
        let a = answers(&[
            ("title", "Digitales Bürgerbüro"),
            ("category", "2b"),
            ("summary", "Kurz"),
            ("description", "Lang"),
            ("goals", "Ziele"),
            ("start_date", "2027-06-01"),
            ("end_date", "31.05.2027"),
            ("started", "nein"),
        ]);
        let check = check_project(&a, &rules());
        assert!(check.errors.get("end_date").is_some());
        assert!(check.errors.get("category").is_some());
        assert_eq!(check.status(), SectionStatus::Error);
    }

    #[test]
    fn over_long_texts_are_kept_but_reported_with_their_length() {
        let long = "x".repeat(1001);
        let posted = Answers::from([("summary".to_string(), long.clone())]);
        let a = answers_from_form(Section::Project, &posted);
        assert_eq!(
            a["summary"], long,
            "the text is kept for the clerk to shorten"
        );
        let message = check_project(&a, &rules())
            .errors
            .get("summary")
            .unwrap()
            .to_string();
        assert!(
            message.contains("1.000") && message.contains("1.001"),
            "{message}"
        );
    }

    #[test]
    fn texts_keep_their_line_breaks_but_lose_other_control_characters() {
        let posted = Answers::from([
            ("summary".to_string(), "Zeile 1\r\nZeile\u{0} 2".to_string()),
            ("title".to_string(), "Titel\nmit Umbruch".to_string()),
            ("csrf_token".to_string(), "x".to_string()),
        ]);
        let a = answers_from_form(Section::Project, &posted);
        assert_eq!(a["summary"], "Zeile 1\nZeile 2");
        assert_eq!(a["title"], "Titelmit Umbruch");
        assert!(!a.contains_key("csrf_token"));
    }
}
