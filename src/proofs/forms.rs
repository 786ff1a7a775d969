//! The proof's forms (Sachbericht; financing and declarations) and what makes each part of
//! the task list complete.

use serde::Deserialize;

use super::db::ProofRow;
use super::model::ProofSection;
use crate::applications::model::SectionStatus;
use crate::money::{Cents, MoneyError};
use crate::validation::FormErrors;

const TEXT_MAX: usize = 10_000;

/// The Sachbericht's fields: name, label, hint.
pub const REPORT_FIELDS: [(&str, &str, &str); 5] = [
    (
        "work_done",
        "Was wurde umgesetzt?",
        "Die Maßnahmen des Vorhabens, wie sie durchgeführt wurden.",
    ),
    (
        "results",
        "Welche Ergebnisse wurden erreicht?",
        "Gemessen an den Zielen des Antrags: Was ist jetzt möglich, was vorher nicht ging?",
    ),
    (
        "deviations",
        "Abweichungen vom Antrag",
        "Zeitlich, inhaltlich oder finanziell, mit Begründung; „keine“, wenn es keine gab.",
    ),
    (
        "reuse_users",
        "Wer nutzt die Lösung heute?",
        "Ihre Verwaltung und Partnerkommunen, die die Lösung bereits nachnutzen.",
    ),
    (
        "reuse_howto",
        "Wie können andere Kommunen die Lösung nachnutzen?",
        "Was eine Kommune braucht und wen sie ansprechen kann.",
    ),
];

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportForm {
    pub work_done: String,
    pub results: String,
    pub deviations: String,
    pub reuse_users: String,
    pub reuse_howto: String,
}

impl ReportForm {
    pub fn of(p: &ProofRow) -> Self {
        ReportForm {
            work_done: p.work_done.clone(),
            results: p.results.clone(),
            deviations: p.deviations.clone(),
            reuse_users: p.reuse_users.clone(),
            reuse_howto: p.reuse_howto.clone(),
        }
    }

    pub fn value(&self, field: &str) -> &str {
        match field {
            "work_done" => &self.work_done,
            "results" => &self.results,
            "deviations" => &self.deviations,
            "reuse_users" => &self.reuse_users,
            _ => &self.reuse_howto,
        }
    }

    /// Cleaned; saved even when incomplete (a draft), refused only when over-long.
    pub fn cleaned(&self) -> Result<ReportForm, FormErrors> {
        let clean = |s: &str| crate::validation::clean_text(s, TEXT_MAX + 1);
        let cleaned = ReportForm {
            work_done: clean(&self.work_done),
            results: clean(&self.results),
            deviations: clean(&self.deviations),
            reuse_users: clean(&self.reuse_users),
            reuse_howto: clean(&self.reuse_howto),
        };
        let mut errors = FormErrors::default();
        for (field, label, _) in REPORT_FIELDS {
            let length = cleaned.value(field).chars().count();
            if length > TEXT_MAX {
                errors.add(
                    field,
                    format!(
                        "„{label}“ darf höchstens {TEXT_MAX} Zeichen lang sein (jetzt {length})."
                    ),
                );
            }
        }
        if errors.is_empty() {
            Ok(cleaned)
        } else {
            Err(errors)
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct FinancingForm {
    pub own_share: String,
    pub third_party: String,
    pub other_public: String,
    pub procurement: String,
    pub correct: String,
}

impl FinancingForm {
    pub fn of(p: &ProofRow) -> Self {
        let amount = |c: Option<i64>| c.map(|c| Cents::new(c).plain()).unwrap_or_default();
        let ticked = |b: bool| if b { "ja" } else { "" }.to_string();
        FinancingForm {
            own_share: amount(p.own_share_cents),
            third_party: amount(p.third_party_cents),
            other_public: amount(p.other_public_cents),
            procurement: ticked(p.declared_procurement),
            correct: ticked(p.declared_correct),
        }
    }

    /// An amount as the summary pages show it ("20.000,00 €"), or "keine Angabe".
    pub fn shown(&self, field: &str) -> String {
        let typed = match field {
            "own_share" => &self.own_share,
            "third_party" => &self.third_party,
            _ => &self.other_public,
        };
        typed
            .parse::<Cents>()
            .map_or_else(|_| "keine Angabe".to_string(), |c| c.to_string())
    }

    pub fn validate(&self) -> Result<super::db::Financing, FormErrors> {
        let mut errors = FormErrors::default();
        let mut amount =
            |field: &str, label: &str, typed: &str, required: bool| match typed.parse::<Cents>() {
                Ok(a) => a,
                Err(MoneyError::Empty) if !required => Cents::ZERO,
                Err(MoneyError::Empty) => {
                    errors.add(
                        field,
                        format!("Bitte geben Sie den {label} an (0, wenn es keinen gab)."),
                    );
                    Cents::ZERO
                }
                Err(e) => {
                    errors.add(field, format!("{label}: {e}"));
                    Cents::ZERO
                }
            };
        let own_share = amount("own_share", "Eigenanteil", &self.own_share, true);
        let third_party = amount("third_party", "Drittmittel", &self.third_party, false);
        let other_public = amount(
            "other_public",
            "andere öffentliche Förderung",
            &self.other_public,
            false,
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(super::db::Financing {
            own_share,
            third_party,
            other_public,
            procurement: self.procurement == "ja",
            correct: self.correct == "ja",
        })
    }
}

/// Where each part of the task list stands, and what is missing for the submission.
pub fn section_status(
    p: Option<&ProofRow>,
    receipts: usize,
    section: ProofSection,
) -> SectionStatus {
    let Some(p) = p else {
        return if section == ProofSection::Attachments {
            SectionStatus::Complete
        } else {
            SectionStatus::NotStarted
        };
    };
    match section {
        ProofSection::Report => {
            let form = ReportForm::of(p);
            let filled = REPORT_FIELDS
                .iter()
                .filter(|(f, _, _)| !form.value(f).trim().is_empty())
                .count();
            match filled {
                0 => SectionStatus::NotStarted,
                5 => SectionStatus::Complete,
                _ => SectionStatus::InProgress,
            }
        }
        ProofSection::Receipts if receipts == 0 => SectionStatus::NotStarted,
        ProofSection::Receipts | ProofSection::Attachments => SectionStatus::Complete,
        ProofSection::Financing => match (
            p.own_share_cents,
            p.declared_procurement && p.declared_correct,
        ) {
            (None, false) => SectionStatus::NotStarted,
            (Some(_), true) => SectionStatus::Complete,
            _ => SectionStatus::InProgress,
        },
    }
}

/// What keeps the proof from being submitted, as (section, message).
pub fn problems(p: Option<&ProofRow>, receipts: usize) -> Vec<(ProofSection, String)> {
    let mut problems = Vec::new();
    for section in ProofSection::ALL {
        if section_status(p, receipts, section) != SectionStatus::Complete {
            let message = match section {
                ProofSection::Report => "Bitte beantworten Sie alle Fragen des Sachberichts.",
                ProofSection::Receipts => "Bitte erfassen Sie die Belege (Belegliste).",
                ProofSection::Financing => {
                    "Bitte geben Sie die Finanzierung an und bestätigen Sie beide Erklärungen."
                }
                ProofSection::Attachments => continue,
            };
            problems.push((section, message.to_string()));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn financing_needs_the_own_share_and_reads_german_amounts() {
        let f = FinancingForm {
            own_share: "20.000,00".into(),
            third_party: String::new(),
            other_public: "1.234,5".into(),
            procurement: "ja".into(),
            correct: String::new(),
        };
        let v = f.validate().unwrap();
        assert_eq!(v.own_share, Cents::from_euros(20_000));
        assert_eq!(v.other_public, Cents::new(123_450));
        assert!(v.procurement && !v.correct);
        let errors = FinancingForm::default().validate().unwrap_err();
        assert!(errors.get("own_share").unwrap().contains("Eigenanteil"));
        let bad = FinancingForm {
            own_share: "1,234.56".into(),
            ..FinancingForm::default()
        };
        assert!(bad.validate().unwrap_err().get("own_share").is_some());
    }
}
