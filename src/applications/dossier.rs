//! One application with everything it consists of (sections, partners, attachments, the round's
//! rules), loaded together, and what follows from it: each section's status, the cost plan,
//! and what is still missing before it can be submitted.

use std::collections::HashMap;

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::costs::{CostPlan, PlanYears};
use super::db::{self, ApplicationRow, AttachmentRow, DocumentType, PartnerRow, SectionRow};
use super::forms::{self, Answers, Check};
use super::model::RoundRules;
use super::model::{Section, SectionStatus, Status};
use crate::money::{Cents, Rate};
use crate::programmes::db::{RoundRow, find_round};
use crate::programmes::model::{Phase, phase};

pub struct Dossier {
    pub application: ApplicationRow,
    pub round: RoundRow,
    pub rules: RoundRules,
    sections: HashMap<Section, SectionRow>,
    pub partners: Vec<PartnerRow>,
    pub documents: Vec<DocumentType>,
    pub attachments: Vec<AttachmentRow>,
}

/// Something that stops the submission, with where to fix it.
#[derive(Clone, Debug)]
pub struct Problem {
    pub message: String,
    pub href: String,
}

impl Dossier {
    /// Loads the application; `lock` first for anything that changes it.
    pub async fn load(conn: &mut PgConnection, application: ApplicationRow) -> sqlx::Result<Self> {
        let round = find_round(conn, application.round_id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        let parts = db::dossier_parts(conn, application.id, round.id).await?;
        let sections = parts
            .sections
            .0
            .into_iter()
            .map(|row| (row.section, row))
            .collect();
        Ok(Dossier {
            rules: rules_of(&round),
            partners: parts.partners.0,
            documents: parts.documents.0,
            attachments: parts.attachments.0,
            application,
            round,
            sections,
        })
    }

    /// Keeps the application's list columns in step with its valid answers.
    pub async fn update_summary(
        &self,
        conn: &mut PgConnection,
        section: Section,
        answers: &Answers,
        plan: Option<&CostPlan>,
    ) -> sqlx::Result<()> {
        let project = if section == Section::Project {
            answers.clone()
        } else {
            self.answers(Section::Project)
        };
        // The plan's years follow the project period, also the one just saved.
        let plan = match section {
            Section::Costs => plan.cloned(),
            _ => {
                let years = forms::plan_years(&project, self.rules.year);
                forms::check_costs(&self.answers(Section::Costs), &self.rules, &years).1
            }
        };
        let title: String = project
            .get("title")
            .map(|t| t.chars().take(150).collect())
            .unwrap_or_default();
        let text = |name: &str| project.get(name).map_or("", String::as_str);
        let search_text = format!(
            "{} {} {}",
            self.application.municipality_name,
            text("summary"),
            text("description")
        );
        let category = project
            .get("category")
            .filter(|c| self.rules.categories.iter().any(|(code, _)| code == *c))
            .map(String::as_str);
        db::update_summary(
            conn,
            self.id(),
            &db::Summary {
                title: &title,
                category_code: category,
                total_cost_cents: plan.as_ref().map(|p| p.total.get()),
                eligible_cost_cents: plan.as_ref().map(|p| p.eligible.get()),
                requested_grant_cents: plan.as_ref().map(|p| p.financing.grant.get()),
                search_text: &search_text,
            },
        )
        .await?;
        Ok(())
    }

    pub fn id(&self) -> i64 {
        self.application.id
    }

    /// All answers of all sections and the partners, as a revision stores them:
    /// {"vorhaben": {...}, ..., "partner": ["Jena", ...]}.
    pub fn snapshot(&self) -> serde_json::Value {
        let mut all = serde_json::Map::new();
        for row in self.sections.values() {
            all.insert(row.section.slug().into(), serde_json::json!(row.answers.0));
        }
        all.insert(
            "partner".into(),
            serde_json::json!(
                self.partners
                    .iter()
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>()
            ),
        );
        serde_json::Value::Object(all)
    }

    pub fn status(&self) -> Status {
        self.application.status
    }

    /// The saved answers of a section (empty if never saved).
    pub fn answers(&self, section: Section) -> Answers {
        self.sections
            .get(&section)
            .map(|row| row.answers.0.clone())
            .unwrap_or_default()
    }

    /// The version the clerk's form must carry (0: never saved).
    pub fn version(&self, section: Section) -> i32 {
        self.sections.get(&section).map_or(0, |r| r.version)
    }

    pub fn saved_by(&self, section: Section) -> Option<(&str, OffsetDateTime)> {
        self.sections
            .get(&section)
            .map(|r| (r.updated_by_name.as_str(), r.updated_at))
    }

    /// Whether clerks may change the section now: anything in a draft, only the reopened
    /// sections during a Nachforderung.
    pub fn is_editable(&self, section: Section) -> bool {
        match self.status() {
            Status::Draft => true,
            Status::ChangesRequested => self.sections.get(&section).is_some_and(|r| r.reopened),
            _ => false,
        }
    }

    pub fn reopened(&self) -> Vec<Section> {
        Section::ALL
            .into_iter()
            .filter(|s| self.sections.get(s).is_some_and(|r| r.reopened))
            .collect()
    }

    /// The section's answers checked against the round's current rules.
    pub fn check(&self, section: Section) -> Check {
        self.check_answers(section, &self.answers(section)).0
    }

    /// Checks answers as if they were the section's (for a form just posted).
    pub fn check_answers(&self, section: Section, answers: &Answers) -> (Check, Option<CostPlan>) {
        match section {
            Section::Applicant => (forms::check_applicant(answers), None),
            Section::Project => (forms::check_project(answers, &self.rules), None),
            Section::Partnership => (forms::check_partnership(answers), None),
            Section::Costs => forms::check_costs(answers, &self.rules, &self.plan_years()),
            Section::Attachments => (self.check_attachments(), None),
            Section::Declarations => (forms::check_declarations(answers), None),
        }
    }

    pub fn cost_plan(&self) -> Option<CostPlan> {
        forms::check_costs(
            &self.answers(Section::Costs),
            &self.rules,
            &self.plan_years(),
        )
        .1
    }

    /// The years the cost plan may use: the project period's, as saved in "Vorhaben".
    pub fn plan_years(&self) -> PlanYears {
        forms::plan_years(&self.answers(Section::Project), self.rules.year)
    }

    fn check_attachments(&self) -> Check {
        let mut check = Check::default();
        for doc in self.documents.iter().filter(|d| d.required) {
            if !self
                .attachments
                .iter()
                .any(|a| a.attachment_type_id == Some(doc.id))
            {
                check.missing_document(doc);
            }
        }
        check
    }

    pub fn section_status(&self, section: Section) -> SectionStatus {
        let started = match section {
            Section::Attachments => !self.attachments.is_empty(),
            _ => self
                .sections
                .get(&section)
                .is_some_and(|r| !r.answers.0.is_empty()),
        };
        let check = self.check(section);
        // A round that asks for no documents needs nothing here.
        let nothing_needed = section == Section::Attachments && check.is_complete();
        if started || nothing_needed {
            check.status()
        } else {
            SectionStatus::NotStarted
        }
    }

    /// Everything that stops the submission now; empty when it may go.
    pub fn problems(&self, now: OffsetDateTime) -> Vec<Problem> {
        let base = format!("/antraege/{}", self.id());
        let mut problems = Vec::new();
        match phase(
            self.round.state,
            self.round.opens_at,
            self.round.closes_at,
            now,
        ) {
            Phase::Open { .. } => {}
            // A Nachforderung is answered after the round's deadline as a matter of course.
            _ if self.status() == Status::ChangesRequested => {}
            Phase::OpensSoon => problems.push(Problem {
                message: "Der Förderaufruf nimmt noch keine Anträge an.".into(),
                href: "/foerderaufrufe".into(),
            }),
            Phase::Closed => problems.push(Problem {
                message: format!(
                    "Die Antragsfrist ist am {} abgelaufen.",
                    crate::locale::date_time(self.round.closes_at)
                ),
                href: "/foerderaufrufe".into(),
            }),
        }
        for section in Section::ALL {
            let check = self.check(section);
            if !check.is_complete() {
                let what = match check.status() {
                    SectionStatus::Error => "enthält Fehler",
                    _ => "ist noch nicht vollständig",
                };
                problems.push(Problem {
                    message: format!("Der Abschnitt „{}“ {what}.", section.title()),
                    href: format!("{base}/{}", section.slug()),
                });
            }
        }
        let project = self.answers(Section::Project);
        let declarations = self.answers(Section::Declarations);
        if project.get("started").map(String::as_str) == Some("ja")
            && declarations.get("start_status").map(String::as_str) == Some("not_started")
        {
            problems.push(Problem {
                message: "Das Vorhaben wurde bereits begonnen: Bitte beantragen Sie in den Erklärungen den vorzeitigen Maßnahmebeginn.".into(),
                href: format!("{base}/erklaerungen#start_status"),
            });
        }
        for p in self.partners.iter().filter(|p| p.confirmed_at.is_none()) {
            problems.push(Problem {
                message: format!("{} hat die Teilnahme noch nicht bestätigt.", p.name),
                href: format!("{base}/verbund"),
            });
        }
        problems
    }
}

impl Check {
    fn missing_document(&mut self, doc: &DocumentType) {
        self.errors.add(
            format!("document-{}", doc.id),
            format!("Bitte laden Sie „{}“ hoch.", doc.name),
        );
    }
}

pub fn rules_of(round: &RoundRow) -> RoundRules {
    RoundRules {
        year: round.year,
        categories: round
            .categories
            .iter()
            .cloned()
            .zip(round.category_titles.iter().cloned())
            .collect(),
        max_rate: Rate::from_basis_points(round.max_rate_bp),
        min_grant: Cents::new(round.min_grant_cents),
        max_grant: round.max_grant_cents.map(Cents::new),
    }
}
