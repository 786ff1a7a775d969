//! How an application is shown: its header, every answer by section, the cost plan's figures,
//! the files, partners and the timeline. Shared by the clerks' pages and the review pages.

use time::OffsetDateTime;

use super::costs::{CostPlan, PlanYears, YearBasis, grant_ceiling, kind_label, share_of};
use super::db::{self, ApplicationRow, PartnerRow};
use super::dossier::Dossier;
use super::forms::{self, CostRowInput};
use super::model::{RoundRules, Section, Status, event_label};
use crate::locale;
use crate::money::Cents;

/// The top of every application page.
pub struct Header {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub round: String,
    pub municipality: String,
    pub status_label: &'static str,
    pub status_class: &'static str,
    pub deadline: String,
    pub deadline_iso: String,
}

impl Header {
    pub fn new(a: &ApplicationRow) -> Self {
        let status = a.status;
        Header {
            id: a.id,
            reference: a.reference.clone().unwrap_or_default(),
            title: a.display_title(),
            round: a.round_title.clone(),
            municipality: a.municipality_name.clone(),
            status_label: status.label(),
            status_class: status.tag_class(),
            deadline: locale::date_time(a.round_closes_at),
            deadline_iso: locale::iso(a.round_closes_at),
        }
    }
}

/// The computed figures of a cost plan.
pub struct PlanView {
    pub total: String,
    pub eligible: String,
    pub by_year: Vec<(i32, String)>,
    pub by_kind: Vec<(&'static str, String)>,
    pub financed: String,
    pub grant: String,
    pub rate: String,
    pub ceiling: String,
    pub balanced: bool,
}

impl PlanView {
    pub fn new(plan: &CostPlan, dossier: &Dossier) -> Self {
        PlanView {
            total: plan.total.to_string(),
            eligible: plan.eligible.to_string(),
            by_year: plan
                .by_year()
                .into_iter()
                .map(|(y, c)| (y, c.to_string()))
                .collect(),
            by_kind: plan
                .by_kind()
                .into_iter()
                .map(|(k, c)| (k, c.to_string()))
                .collect(),
            financed: plan.financing.total().to_string(),
            grant: plan.financing.grant.to_string(),
            rate: plan.rate().map_or_else(|| "–".into(), |r| r.to_string()),
            ceiling: plan.grant_ceiling(&dossier.rules).to_string(),
            balanced: plan.financing.total() == plan.total,
        }
    }
}

/// One choice of a cost row's year.
pub struct YearChoice {
    pub value: String,
    pub label: String,
    pub selected: bool,
    /// Possible only with a longer period (an Änderungsantrag's extension).
    pub later: bool,
}

/// A cost row in a form (the application's cost plan, the Änderungsantrag), with the names of
/// its fields (`cost-{index}-amount`, …) and the years it may choose from.
pub struct CostRowView {
    pub index: usize,
    pub number: usize,
    pub row: CostRowInput,
    /// A spare row the clerk may leave empty.
    pub optional: bool,
    pub kind_key: String,
    pub description_key: String,
    pub year_key: String,
    pub amount_key: String,
    pub eligible_key: String,
    pub years: Vec<YearChoice>,
}

impl CostRowView {
    /// Whether some years are possible only with a longer period (shown as a group of their own).
    pub fn has_later_years(&self) -> bool {
        self.years.iter().any(|y| y.later)
    }
}

/// The rows of a plan form. Each offers the years `offered` (year, whether only with a longer
/// period) and keeps a stored year that is not among them as a choice marked as outside, so the
/// clerk sees it (and its error) and changes it, instead of it being replaced unseen.
pub fn cost_row_views(rows: Vec<CostRowInput>, offered: &[(i32, bool)]) -> Vec<CostRowView> {
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| {
            let key = |part: &str| format!("cost-{index}-{part}");
            CostRowView {
                index,
                number: index + 1,
                optional: false,
                kind_key: key("kind"),
                description_key: key("description"),
                year_key: key("year"),
                amount_key: key("amount"),
                eligible_key: key("eligible"),
                years: year_choices(&row.year, offered),
                row,
            }
        })
        .collect()
}

fn year_choices(typed: &str, offered: &[(i32, bool)]) -> Vec<YearChoice> {
    let mut choices: Vec<YearChoice> = offered
        .iter()
        .map(|(year, later)| YearChoice {
            value: year.to_string(),
            label: year.to_string(),
            selected: typed == year.to_string(),
            later: *later,
        })
        .collect();
    if typed.is_empty() || choices.iter().any(|c| c.selected) {
        return choices;
    }
    let number = typed.parse::<i32>().ok();
    let stray = YearChoice {
        value: typed.to_string(),
        label: match number {
            Some(_) => format!("{typed} (außerhalb)"),
            None => format!("{typed} (ungültig)"),
        },
        selected: true,
        later: false,
    };
    let earlier = number.is_some_and(|y| offered.first().is_some_and(|(first, _)| y < *first));
    if earlier {
        choices.insert(0, stray);
    } else {
        choices.push(stray);
    }
    choices
}

/// The years of an application's cost plan.
pub fn plan_year_choices(years: &PlanYears) -> Vec<(i32, bool)> {
    years.iter().map(|y| (y, false)).collect()
}

/// What the cost plan says about its years: which are possible and, without a project period,
/// what to do about it.
pub fn plan_years_hint(years: &PlanYears) -> String {
    let span = years.span();
    match years.basis {
        YearBasis::Round => format!(
            "Im Abschnitt „Vorhaben“ fehlen noch Beginn und Ende des Vorhabens (oder sie passen nicht zu diesem Förderaufruf); bis dahin stehen die Jahre {span} zur Wahl. Tragen Sie dort den geplanten Zeitraum ein, dann stehen hier dessen Jahre zur Wahl."
        ),
        _ if years.first == years.last => {
            format!("Das Vorhaben läuft im Jahr {span}; alle Kosten fallen in dieses Jahr.")
        }
        _ => format!(
            "Wählen Sie je Position das Jahr, in dem die Kosten anfallen: {span}, die Jahre des Vorhabens."
        ),
    }
}

/// The hint beside the requested grant: the most the round allows for the eligible costs
/// (their maximum rate, capped by the maximum grant), or, while they are not known, how it is
/// worked out.
pub fn grant_hint(eligible: Option<Cents>, rules: &RoundRules) -> String {
    let rate = rules.max_rate;
    let Some(eligible) = eligible else {
        let cap = rules
            .max_grant
            .map(|max| format!(", höchstens {max}"))
            .unwrap_or_default();
        return format!(
            "Höchstmögliche Zuwendung: {rate} der förderfähigen Kosten{cap}. Der Betrag steht hier, sobald alle Beträge der Kostenpositionen lesbar sind."
        );
    };
    if eligible == Cents::ZERO {
        return format!(
            "Höchstmögliche Zuwendung: {}, denn keine Kostenposition ist förderfähig.",
            Cents::ZERO
        );
    }
    let ceiling = grant_ceiling(eligible, rules);
    let by_rate = share_of(eligible, rate);
    let how = if ceiling < by_rate {
        format!(
            "{rate} der förderfähigen Kosten von {eligible} wären {by_rate}; in diesem Förderaufruf höchstens {ceiling}"
        )
    } else {
        format!("{rate} der förderfähigen Kosten von {eligible}")
    };
    let below = if ceiling < rules.min_grant {
        format!(
            " Das ist weniger als die Mindestzuwendung von {}: Mit diesen Kosten ist keine Förderung möglich.",
            rules.min_grant
        )
    } else {
        String::new()
    };
    format!("Höchstmögliche Zuwendung: {ceiling} ({how}).{below}")
}

pub struct AnswerRow {
    pub label: String,
    pub value: String,
    /// The change link, where the clerk may change it now.
    pub change: Option<String>,
}

pub struct AnswerGroup {
    pub title: &'static str,
    pub rows: Vec<AnswerRow>,
}

pub struct CostLine {
    pub kind: &'static str,
    pub description: String,
    pub year: i32,
    pub amount: String,
    pub eligible: &'static str,
}

/// Every answer of the application, grouped by section, as the check page and the print copy
/// show them. `editable` adds change links that come back to the check page.
pub fn answer_groups(dossier: &Dossier, editable: bool) -> Vec<AnswerGroup> {
    let id = dossier.id();
    Section::ALL
        .into_iter()
        .filter(|s| *s != Section::Attachments)
        .map(|section| {
            let answers = dossier.answers(section);
            let change = |field: &str| {
                (editable && dossier.is_editable(section))
                    .then(|| format!("/antraege/{id}/{}?zurueck=pruefen#{field}", section.slug()))
            };
            let mut rows: Vec<AnswerRow> = forms::fields(section)
                .iter()
                .filter(|f| {
                    // The explanation belongs only to a project already started.
                    f.name != "started_explanation"
                        || answers.get("started").map(String::as_str) == Some("ja")
                })
                .map(|f| {
                    let raw = answers.get(f.name).map_or("", String::as_str);
                    let value = if f.name == "category" {
                        dossier
                            .rules
                            .categories
                            .iter()
                            .find(|(code, _)| code == raw)
                            .map_or_else(
                                || forms::display(f, raw),
                                |(code, title)| format!("{code} {title}"),
                            )
                    } else {
                        forms::display(f, raw)
                    };
                    AnswerRow {
                        label: f.label.to_string(),
                        value,
                        change: change(f.name),
                    }
                })
                .collect();
            if section == Section::Partnership {
                let partners = if dossier.partners.is_empty() {
                    "Keine (Einzelvorhaben)".to_string()
                } else {
                    dossier
                        .partners
                        .iter()
                        .map(|p| {
                            let v = PartnerView::new(p);
                            format!("{} ({})", v.name, v.confirmed)
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                rows.insert(
                    0,
                    AnswerRow {
                        label: "Partnerkommunen".into(),
                        value: partners,
                        change: change("partner"),
                    },
                );
            }
            AnswerGroup {
                title: section.title(),
                rows,
            }
        })
        .collect()
}

pub fn cost_lines(dossier: &Dossier) -> Vec<CostLine> {
    dossier
        .cost_plan()
        .map(|plan| {
            plan.items
                .iter()
                .map(|i| CostLine {
                    kind: kind_label(i.kind),
                    description: i.description.clone(),
                    year: i.year,
                    amount: i.amount.to_string(),
                    eligible: if i.eligible { "Ja" } else { "Nein" },
                })
                .collect()
        })
        .unwrap_or_default()
}

pub struct FileLine {
    pub document: String,
    pub files: Vec<String>,
}

pub fn file_lines(dossier: &Dossier) -> Vec<FileLine> {
    let mut lines: Vec<FileLine> = dossier
        .documents
        .iter()
        .map(|d| FileLine {
            document: if d.required {
                d.name.clone()
            } else {
                format!("{} (optional)", d.name)
            },
            files: dossier
                .attachments
                .iter()
                .filter(|a| a.attachment_type_id == Some(d.id))
                .map(|a| a.file_name.clone())
                .collect(),
        })
        .collect();
    let extra: Vec<String> = dossier
        .attachments
        .iter()
        .filter(|a| a.attachment_type_id.is_none())
        .map(|a| a.file_name.clone())
        .collect();
    if !extra.is_empty() {
        lines.push(FileLine {
            document: "Weitere Unterlagen".into(),
            files: extra,
        });
    }
    lines
}

pub struct TimelineEntry {
    pub at: String,
    pub at_iso: String,
    pub label: &'static str,
    pub actor: String,
    pub message: String,
}

pub struct PartnerView {
    pub name: String,
    pub confirmed: String,
}

impl PartnerView {
    pub fn new(p: &PartnerRow) -> Self {
        PartnerView {
            name: p.name.clone(),
            confirmed: match (&p.confirmed_at, &p.confirmed_by_name) {
                (Some(at), Some(by)) => format!("bestätigt am {} von {by}", locale::date(*at)),
                _ => "Bestätigung ausstehend".into(),
            },
        }
    }
}

/// The open Nachforderung, as the municipality sees it.
pub struct ChangeRequestView {
    pub message: String,
    pub deadline: String,
    pub sections: Vec<&'static str>,
}

pub fn change_request(events: &[db::EventRow], status: Status) -> Option<ChangeRequestView> {
    if status != Status::ChangesRequested {
        return None;
    }
    let event = events
        .iter()
        .rev()
        .find(|e| e.kind == "changes_requested")?;
    let details = &event.details.0;
    Some(ChangeRequestView {
        message: event.message.clone(),
        deadline: details["deadline"]
            .as_i64()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .map(locale::date)
            .unwrap_or_default(),
        sections: details["sections"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().and_then(Section::from_slug))
                    .map(Section::title)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The events the municipality sees, oldest first.
pub fn timeline(events: &[db::EventRow]) -> Vec<TimelineEntry> {
    events
        .iter()
        .filter_map(|e| {
            let label = event_label(&e.kind)?;
            Some(TimelineEntry {
                at: locale::date_time(e.at),
                at_iso: locale::iso(e.at),
                label,
                actor: e.actor_name.clone().unwrap_or_default(),
                // A reviewer's message belongs to the Nachforderung box, not the timeline.
                message: if e.kind == "withdrawn" {
                    e.message.clone()
                } else {
                    String::new()
                },
            })
        })
        .collect()
}

pub struct MessageView {
    pub at: String,
    pub at_iso: String,
    pub from: String,
    pub from_ministry: bool,
    pub body: String,
}

/// Messages on the case; the ministry's side shows as the ministry, not as a person, to the
/// municipality.
pub fn messages(rows: &[db::MessageRow], for_ministry: bool) -> Vec<MessageView> {
    rows.iter()
        .map(|m| MessageView {
            at: locale::date_time(m.at),
            at_iso: locale::iso(m.at),
            from: match (m.from_ministry, for_ministry) {
                (true, false) => "Thüringer Finanzministerium".into(),
                (true, true) => format!("{} (Ministerium)", m.author),
                (false, _) => format!("{} (Kommune)", m.author),
            },
            from_ministry: m.from_ministry,
            body: m.body.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Rate;

    #[test]
    fn a_stored_year_outside_the_choices_is_kept_and_marked() {
        let offered = [(2027, false), (2028, false)];
        let labels = |typed: &str| -> Vec<(String, bool)> {
            year_choices(typed, &offered)
                .into_iter()
                .map(|c| (c.label, c.selected))
                .collect()
        };
        assert_eq!(labels("2028")[1], ("2028".into(), true));
        assert_eq!(labels("").iter().filter(|(_, s)| *s).count(), 0);
        assert_eq!(labels("2025")[0], ("2025 (außerhalb)".into(), true));
        assert_eq!(labels("2031")[2], ("2031 (außerhalb)".into(), true));
        assert_eq!(labels("bald")[2], ("bald (ungültig)".into(), true));
    }

    #[test]
    fn the_grant_hint_names_the_ceiling_and_why() {
        let rules = RoundRules {
            year: 2027,
            categories: vec![],
            max_rate: Rate::from_basis_points(8000),
            min_grant: Cents::from_euros(5000),
            max_grant: Some(Cents::from_euros(200_000)),
        };
        let hint = |euros: i64| grant_hint(Some(Cents::from_euros(euros)), &rules);
        assert!(hint(100_000).starts_with("Höchstmögliche Zuwendung: 80.000,00\u{a0}€ (80\u{a0}%"));
        assert!(hint(300_000).contains("wären 240.000,00\u{a0}€"));
        assert!(hint(300_000).starts_with("Höchstmögliche Zuwendung: 200.000,00\u{a0}€"));
        assert!(hint(5_000).contains("Mindestzuwendung"));
        assert!(grant_hint(None, &rules).contains("sobald"));
    }
}
