//! The dashboard's filter as it lives in the URL: parsed leniently (a bad value becomes a message
//! beside its field, never an error page), and written back into links for sorting and paging.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::applications::model::Status;
use crate::locale;
use crate::money::Cents;
use crate::validation::FormErrors;

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
    /// Keyset position: the page after this row…
    pub nach: String,
    /// …or the page before it.
    pub vor: String,
    /// The number of the page the position is on (for "51–100 von 201").
    pub seite: String,
}

/// One condition of the filter, as the list of active filters removes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterField {
    Search,
    Round,
    Status,
    Category,
    District,
    Municipality,
    Assignment,
    AmountMin,
    AmountMax,
    SubmittedFrom,
    SubmittedUntil,
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
        // A cursor is one of ours: no control characters (PostgreSQL refuses NUL in text).
        if text.chars().any(char::is_control) || text.len() > 1000 {
            return None;
        }
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
    /// The page before this row (then `after` is `None`).
    pub before: Option<Cursor>,
}

/// An Aktenzeichen as reviewers type it, in whole or in part: "EGOV-2026-0001", "2026-0001",
/// "0001" or "1" (the full-text search cannot find these: it reads "-0001" as a number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferenceSearch {
    /// The whole Aktenzeichen.
    Whole(String),
    /// The running number of any year, padded like the Aktenzeichen ("0001").
    Number(String),
}

impl ReferenceSearch {
    pub fn parse(search: &str) -> Option<ReferenceSearch> {
        let upper = search.trim().to_ascii_uppercase();
        let rest = upper
            .strip_prefix("EGOV-")
            .or_else(|| upper.strip_prefix("EGOV"))
            .unwrap_or(&upper);
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 7 && s.bytes().all(|b| b.is_ascii_digit());
        // Written as the Aktenzeichen writes it: at least four digits ("7" → "0007").
        let number = |s: &str| {
            let n = s.trim_start_matches('0');
            format!("{:0>4}", if n.is_empty() { "0" } else { n })
        };
        match rest.split_once('-') {
            Some((year, n)) if year.len() == 4 && digits(year) && digits(n) => {
                Some(ReferenceSearch::Whole(format!("EGOV-{year}-{}", number(n))))
            }
            None if digits(rest) => Some(ReferenceSearch::Number(number(rest))),
            _ => None,
        }
    }
}

impl Filter {
    /// Whether the counts per status need the applications themselves: the tallies answer only
    /// round, category, Landkreis and assignment.
    pub fn needs_applications_for_counts(&self) -> bool {
        self.municipality.is_some()
            || self.amount_min.is_some()
            || self.amount_max.is_some()
            || self.submitted_from.is_some()
            || self.submitted_before.is_some()
            || !self.search.is_empty()
    }
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
            let parsed = locale::parse_date(value).and_then(|d| {
                let d = if next { d.tomorrow().ok()? } else { d };
                locale::parse_berlin(&d.to_string(), "00:00")
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
            category: Some(crate::validation::clean_line(&self.kategorie, 20))
                .filter(|c| !c.is_empty()),
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
            search: crate::validation::clean_line(&self.suche, 200),
            sort,
            // Newest first and largest first unless asked otherwise; names A–Z.
            descending: match self.richtung.as_str() {
                "auf" => false,
                "ab" => true,
                _ => sort.is_numeric(),
            },
            after: Cursor::decode(&self.nach),
            before: Cursor::decode(&self.vor).filter(|_| self.nach.is_empty()),
        };
        (filter, errors)
    }

    /// The query string of this filter with other sorting and no page position.
    pub fn sorted_by(&self, sort: Sort, descending: bool) -> String {
        let mut q = self.first();
        q.sortierung = sort.key().into();
        q.richtung = if descending { "ab" } else { "auf" }.into();
        q.to_query()
    }

    /// The query string of page `page`, which starts after `cursor`.
    pub fn after(&self, cursor: &Cursor, page: i64) -> String {
        let mut q = self.first();
        q.nach = cursor.encode();
        q.seite = page.to_string();
        q.to_query()
    }

    /// The query string of page `page`, which ends before `cursor`.
    pub fn before(&self, cursor: &Cursor, page: i64) -> String {
        let mut q = self.first();
        q.vor = cursor.encode();
        q.seite = page.to_string();
        q.to_query()
    }

    /// The query string without page position (for the first page, the export, counts).
    pub fn first_page(&self) -> String {
        self.first().to_query()
    }

    fn first(&self) -> FilterQuery {
        let mut q = self.clone();
        q.nach.clear();
        q.vor.clear();
        q.seite.clear();
        q
    }

    /// The number of the page shown (1 without a position; at most 1,000,000).
    pub fn page_number(&self) -> i64 {
        self.seite
            .trim()
            .parse::<i64>()
            .unwrap_or(1)
            .clamp(1, 1_000_000)
    }

    /// The same filter with another status (for the counts per status).
    pub fn with_status(&self, status: &str) -> String {
        let mut q = self.first();
        q.status = status.into();
        q.to_query()
    }

    /// The same filter without one of its conditions, on its first page (to remove it).
    pub fn without(&self, field: FilterField) -> String {
        let mut q = self.first();
        match field {
            FilterField::Search => q.suche.clear(),
            FilterField::Round => q.runde.clear(),
            FilterField::Status => q.status.clear(),
            FilterField::Category => q.kategorie.clear(),
            FilterField::District => q.landkreis.clear(),
            FilterField::Municipality => q.kommune.clear(),
            FilterField::Assignment => q.zuweisung.clear(),
            FilterField::AmountMin => q.betrag_von.clear(),
            FilterField::AmountMax => q.betrag_bis.clear(),
            FilterField::SubmittedFrom => q.eingereicht_von.clear(),
            FilterField::SubmittedUntil => q.eingereicht_bis.clear(),
        }
        q.to_query()
    }

    fn to_query(&self) -> String {
        crate::validation::query_string(&[
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
            ("vor", &self.vor),
            ("seite", &self.seite),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_an_aktenzeichen_are_recognised() {
        let whole = |s: &str| Some(ReferenceSearch::Whole(s.into()));
        assert_eq!(
            ReferenceSearch::parse("EGOV-2026-0001"),
            whole("EGOV-2026-0001")
        );
        assert_eq!(
            ReferenceSearch::parse(" egov-2026-1 "),
            whole("EGOV-2026-0001")
        );
        assert_eq!(ReferenceSearch::parse("2026-0001"), whole("EGOV-2026-0001"));
        assert_eq!(
            ReferenceSearch::parse("0001"),
            Some(ReferenceSearch::Number("0001".into()))
        );
        assert_eq!(
            ReferenceSearch::parse("12345"),
            Some(ReferenceSearch::Number("12345".into()))
        );
        assert_eq!(ReferenceSearch::parse("Bürgerbüro"), None);
        assert_eq!(ReferenceSearch::parse("26-0001"), None);
        assert_eq!(ReferenceSearch::parse(""), None);
    }

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

crate::stored::stored_enum! {
    /// What a decision decides.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Outcome {
        Approve = "approve",
        Reject = "reject",
    }
}

crate::stored::stored_enum! {
    /// Where a decision stands under the four-eyes principle: proposed by one reviewer,
    /// confirmed or sent back by another.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum DecisionState {
        Proposed = "proposed",
        Confirmed = "confirmed",
        SentBack = "sent_back",
    }
}

/// A decision proposal as typed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProposalForm {
    pub outcome: String,
    pub granted: String,
    pub eligible: String,
    pub reason: String,
    pub period_start: String,
    pub period_end: String,
    pub conditions: String,
    /// The grant's split by Haushaltsjahr as typed: `year-2027` → amount. All empty: the
    /// split follows the cost plan.
    #[serde(flatten)]
    pub years: std::collections::BTreeMap<String, String>,
}

impl ProposalForm {
    /// What was typed for a budget year's field (`year-2027`).
    pub fn year_value(&self, key: &str) -> &str {
        self.years.get(key).map_or("", String::as_str)
    }
}

/// A grant split over the round's budget years in proportion to the eligible costs planned per
/// year. Costs in a year without a budget count for the nearest earlier budget year (or the
/// first). Exact to the cent: the last year with costs takes the remainder of the rounding.
pub fn split_by_years(
    granted: Cents,
    eligible_by_year: &[(i32, Cents)],
    budget_years: &[i32],
) -> Vec<(i32, Cents)> {
    let Some(&first) = budget_years.first() else {
        return Vec::new();
    };
    let mut weights: Vec<(i32, i128)> = budget_years.iter().map(|y| (*y, 0)).collect();
    for (year, cents) in eligible_by_year {
        let target = budget_years
            .iter()
            .rev()
            .find(|b| *b <= year)
            .copied()
            .unwrap_or(first);
        if let Some(w) = weights.iter_mut().find(|(y, _)| *y == target) {
            w.1 += i128::from(cents.get().max(0));
        }
    }
    let total: i128 = weights.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return budget_years
            .iter()
            .map(|y| (*y, if *y == first { granted } else { Cents::ZERO }))
            .collect();
    }
    let last = weights.iter().rposition(|(_, w)| *w > 0).unwrap_or(0);
    let mut given = 0i64;
    weights
        .iter()
        .enumerate()
        .map(|(i, (year, w))| {
            let share = if i == last {
                granted.get() - given
            } else {
                i64::try_from(i128::from(granted.get()) * w / total).unwrap_or(0)
            };
            given += share;
            (*year, Cents::new(share))
        })
        .collect()
}

/// What bounds a grant: the application's figures and the round's rules.
#[derive(Clone, Copy, Debug)]
pub struct GrantLimits {
    pub requested: Cents,
    pub eligible: Cents,
    pub max_rate: crate::money::Rate,
    pub min_grant: Cents,
    pub max_grant: Option<Cents>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidProposal {
    Approve {
        granted: Cents,
        eligible: Cents,
        /// Why the eligible costs were cut (empty if they were not).
        reason: String,
        period: (time::Date, time::Date),
        conditions: String,
        /// The split by budget year as typed; `None` when it follows the cost plan.
        years: Option<Vec<(i32, Cents)>>,
    },
    Reject {
        reason: String,
    },
}

const TEXT_MAX: usize = 20_000;

impl GrantLimits {
    /// Why a grant of `granted` on `eligible` costs breaks the limits, if it does: more than
    /// requested, more than the rate allows, above the round's cap or below its minimum.
    fn problem_with(&self, granted: Cents, eligible: Cents) -> Option<String> {
        let by_rate = Cents::new(
            i64::try_from(
                i128::from(eligible.get()) * i128::from(self.max_rate.basis_points()) / 10_000,
            )
            .unwrap_or(i64::MAX),
        );
        if granted > self.requested {
            Some(format!(
                "Bewilligt werden kann höchstens der beantragte Betrag von {}.",
                self.requested
            ))
        } else if granted > by_rate {
            Some(format!(
                "Bei {} höchstens {} der zuwendungsfähigen Ausgaben: höchstens {by_rate}.",
                eligible, self.max_rate
            ))
        } else if let Some(max) = self.max_grant.filter(|max| granted > *max) {
            Some(format!(
                "Die Zuwendung darf in diesem Förderaufruf höchstens {max} betragen."
            ))
        } else if granted < self.min_grant {
            Some(format!(
                "Die Zuwendung muss in diesem Förderaufruf mindestens {} betragen.",
                self.min_grant
            ))
        } else {
            None
        }
    }
}

impl ProposalForm {
    /// The Bewilligungszeitraum: both dates, the end not before the start.
    fn period(&self, errors: &mut FormErrors) -> (Option<time::Date>, Option<time::Date>) {
        let mut date = |field: &'static str, value: &str| {
            let parsed = locale::parse_date(value).and_then(locale::civil_to_time);
            if parsed.is_none() {
                errors.add(
                    field,
                    "Bitte geben Sie ein Datum ein, zum Beispiel 01.04.2027.",
                );
            }
            parsed
        };
        let start = date("period_start", &self.period_start);
        let end = date("period_end", &self.period_end);
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            errors.add(
                "period_end",
                "Das Ende des Bewilligungszeitraums muss nach seinem Beginn liegen.",
            );
        }
        (start, end)
    }

    /// The split typed for `budget_years` (each `year-YYYY` field): `None` when all are empty;
    /// otherwise every amount valid and their sum the grant.
    fn years(
        &self,
        budget_years: &[i32],
        granted: Option<Cents>,
        errors: &mut FormErrors,
    ) -> Option<Vec<(i32, Cents)>> {
        let typed: Vec<(i32, &str)> = budget_years
            .iter()
            .map(|y| {
                let value = self
                    .years
                    .get(&format!("year-{y}"))
                    .map_or("", |v| v.trim());
                (*y, value)
            })
            .collect();
        if typed.iter().all(|(_, v)| v.is_empty()) {
            return None;
        }
        let mut split = Vec::new();
        for (year, value) in typed {
            if value.is_empty() {
                split.push((year, Cents::ZERO));
                continue;
            }
            match value.parse::<Cents>() {
                Ok(c) => split.push((year, c)),
                Err(e) => errors.add(format!("year-{year}"), format!("Haushaltsjahr {year}: {e}")),
            }
        }
        let sum = Cents::new(split.iter().map(|(_, c)| c.get()).sum());
        if let (Some(granted), Some(&first)) = (granted, budget_years.first())
            && split.len() == budget_years.len()
            && sum != granted
        {
            errors.add(
                format!("year-{first}"),
                format!("Die Beträge der Haushaltsjahre ergeben {sum}; sie müssen zusammen die Zuwendung von {granted} ergeben."),
            );
        }
        Some(split)
    }

    /// Checks the proposal against the limits; `budget_years` are the round's years, for the
    /// split by year.
    pub fn validate(
        &self,
        limits: &GrantLimits,
        budget_years: &[i32],
    ) -> Result<ValidProposal, FormErrors> {
        let mut errors = FormErrors::default();
        let text = |value: &str| crate::validation::clean_text(value, TEXT_MAX + 1);
        let reason = text(&self.reason);
        if reason.chars().count() > TEXT_MAX {
            errors.add("reason", "Die Begründung ist zu lang.");
        }
        match self.outcome.parse() {
            Ok(Outcome::Reject) => {
                if reason.is_empty() {
                    errors.add("reason", "Bitte begründen Sie die Ablehnung.");
                }
                return if errors.is_empty() {
                    Ok(ValidProposal::Reject { reason })
                } else {
                    Err(errors)
                };
            }
            Ok(Outcome::Approve) => {}
            Err(_) => {
                errors.add("outcome", "Bitte wählen Sie: bewilligen oder ablehnen.");
                return Err(errors);
            }
        }
        // Each message names its field: both amounts can be wrong at once.
        let amount =
            |errors: &mut FormErrors, field: &'static str, label: &str, value: &str| match value
                .parse::<Cents>(
            ) {
                Ok(c) if c > Cents::ZERO => Some(c),
                Ok(_) => {
                    errors.add(
                        field,
                        format!("{label}: Der Betrag muss größer als 0 € sein."),
                    );
                    None
                }
                Err(e) => {
                    errors.add(field, format!("{label}: {e}"));
                    None
                }
            };
        let granted = amount(&mut errors, "granted", "Zuwendung", &self.granted);
        let eligible = amount(
            &mut errors,
            "eligible",
            "Zuwendungsfähige Ausgaben",
            &self.eligible,
        );
        if let Some(eligible) = eligible {
            if eligible > limits.eligible {
                errors.add(
                    "eligible",
                    format!(
                        "Die zuwendungsfähigen Ausgaben können gekürzt, aber nicht über die beantragten {} erhöht werden.",
                        limits.eligible
                    ),
                );
            } else if eligible < limits.eligible && reason.is_empty() {
                errors.add(
                    "reason",
                    "Bitte begründen Sie, warum die zuwendungsfähigen Ausgaben gekürzt werden.",
                );
            }
        }
        if let (Some(granted), Some(eligible)) = (granted, eligible)
            && let Some(problem) = limits.problem_with(granted, eligible)
        {
            errors.add("granted", problem);
        }
        let (start, end) = self.period(&mut errors);
        let years = self.years(budget_years, granted, &mut errors);
        let conditions = text(&self.conditions);
        if conditions.is_empty() {
            errors.add("conditions", "Bitte geben Sie die Nebenbestimmungen an.");
        } else if conditions.chars().count() > TEXT_MAX {
            errors.add("conditions", "Die Nebenbestimmungen sind zu lang.");
        }
        match (granted, eligible, start, end) {
            (Some(granted), Some(eligible), Some(start), Some(end)) if errors.is_empty() => {
                Ok(ValidProposal::Approve {
                    granted,
                    eligible,
                    reason,
                    period: (start, end),
                    conditions,
                    years,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod proposal_tests {
    use super::*;
    use crate::money::Rate;

    fn limits() -> GrantLimits {
        GrantLimits {
            requested: Cents::from_euros(80_000),
            eligible: Cents::from_euros(100_000),
            max_rate: Rate::from_basis_points(8000),
            min_grant: Cents::from_euros(5000),
            max_grant: Some(Cents::from_euros(200_000)),
        }
    }

    fn form(granted: &str, eligible: &str, reason: &str) -> ProposalForm {
        ProposalForm {
            outcome: "approve".into(),
            granted: granted.into(),
            eligible: eligible.into(),
            reason: reason.into(),
            period_start: "2027-04-01".into(),
            period_end: "2028-03-31".into(),
            conditions: "ANBest-Gk".into(),
            years: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn a_grant_stays_within_request_rate_and_caps() {
        assert!(
            form("80.000", "100.000", "")
                .validate(&limits(), &[2027])
                .is_ok()
        );
        let more = form("80.000,01", "100.000", "")
            .validate(&limits(), &[2027])
            .unwrap_err();
        assert!(more.get("granted").unwrap().contains("beantragte"));
        // Cut eligible costs: the rate applies to the cut amount, and the cut needs a reason.
        let cut = form("80.000", "90.000", "")
            .validate(&limits(), &[2027])
            .unwrap_err();
        assert!(cut.get("granted").unwrap().contains("72.000,00"));
        assert!(cut.get("reason").is_some());
        assert_eq!(
            form("72.000", "90.000", "Schulung nicht förderfähig")
                .validate(&limits(), &[2027])
                .ok(),
            Some(ValidProposal::Approve {
                granted: Cents::from_euros(72_000),
                eligible: Cents::from_euros(90_000),
                reason: "Schulung nicht förderfähig".into(),
                period: (
                    time::macros::date!(2027 - 04 - 01),
                    time::macros::date!(2028 - 03 - 31)
                ),
                conditions: "ANBest-Gk".into(),
                years: None,
            })
        );
        assert!(
            form("80.000", "100.000,01", "")
                .validate(&limits(), &[2027])
                .is_err(),
            "never raised"
        );
        assert!(
            form("4.999,99", "100.000", "")
                .validate(&limits(), &[2027])
                .is_err(),
            "minimum"
        );
    }

    #[test]
    fn a_rejection_needs_a_reason() {
        let reject = ProposalForm {
            outcome: "reject".into(),
            ..ProposalForm::default()
        };
        assert!(
            reject
                .validate(&limits(), &[2027])
                .unwrap_err()
                .get("reason")
                .is_some()
        );
        assert!(
            ProposalForm::default()
                .validate(&limits(), &[2027])
                .unwrap_err()
                .get("outcome")
                .is_some()
        );
    }

    #[test]
    fn a_grant_is_split_over_budget_years_like_its_eligible_costs() {
        let costs = [
            (2027, Cents::from_euros(60_000)),
            (2028, Cents::from_euros(30_000)),
            (2029, Cents::from_euros(10_000)),
        ];
        // 2029 has no budget: its costs count for 2028. Exact to the cent.
        let split = split_by_years(Cents::new(8_000_001), &costs, &[2027, 2028]);
        assert_eq!(
            split,
            [(2027, Cents::new(4_800_000)), (2028, Cents::new(3_200_001))]
        );
        // Costs before the first budget year count for it; no costs: all in the first year.
        assert_eq!(
            split_by_years(Cents::new(100), &[(2026, Cents::new(5))], &[2027, 2028]),
            [(2027, Cents::new(100)), (2028, Cents::ZERO)]
        );
        assert_eq!(
            split_by_years(Cents::new(100), &[], &[2027]),
            [(2027, Cents::new(100))]
        );
    }

    #[test]
    fn a_split_typed_by_the_reviewer_must_add_up_to_the_grant() {
        let mut f = form("80.000", "100.000", "");
        let years = [2027, 2028];
        assert!(matches!(
            f.validate(&limits(), &years),
            Ok(ValidProposal::Approve { years: None, .. })
        ));
        f.years.insert("year-2027".into(), "50.000".into());
        f.years.insert("year-2028".into(), "20.000".into());
        let wrong = f.validate(&limits(), &years).unwrap_err();
        assert!(wrong.get("year-2027").unwrap().contains("70.000,00"));
        f.years.insert("year-2028".into(), "30.000".into());
        let Ok(ValidProposal::Approve {
            years: Some(split), ..
        }) = f.validate(&limits(), &years)
        else {
            panic!("a valid split");
        };
        assert_eq!(
            split,
            [
                (2027, Cents::from_euros(50_000)),
                (2028, Cents::from_euros(30_000))
            ]
        );
        f.years.insert("year-2028".into(), "drei".into());
        assert!(
            f.validate(&limits(), &years)
                .unwrap_err()
                .get("year-2028")
                .is_some()
        );
    }
}
