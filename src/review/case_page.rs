//! The case page as reviewers see it, one sub-page at a time (see [`CaseTab`]): everything the
//! application consists of, its timeline and revisions, notes, the Prüfvermerk and the
//! decision. The handlers in `case` and `decisions` render it, again with their form's errors
//! on the sub-page of the form when it was refused.

use askama::Template;
use askama_web::WebTemplate;

use super::access::case_of;
use super::case_tabs::{CaseTab, Proposal, TabLink, next_step, tab_links};
use super::dashboard::review_label;
use super::db::{self, DecisionRow};
use super::model::{DecisionState, Outcome, ProposalForm};
use crate::accounts::CurrentUser;
use crate::applications::db::ApplicationRow;
use crate::applications::dossier::Dossier;
use crate::applications::model::{Section, Status};
use crate::applications::revisions::{self, FieldChange};
use crate::applications::views::{
    AnswerGroup, CostLine, FileLine, Header, PartnerView, PlanView, answer_groups, cost_lines,
    file_lines,
};
use crate::error::AppError;
use crate::locale;
use crate::money::Cents;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::PageContext;

/// The questions of the Prüfvermerk (key, label).
pub const CHECKLIST: [(&str, &str); 6] = [
    ("eligible_applicant", "Antragsberechtigte Kommune"),
    ("category_open", "Fördergegenstand im Förderaufruf geöffnet"),
    (
        "not_started",
        "Nicht vor der Bewilligung begonnen (oder vorzeitiger Maßnahmebeginn zugelassen)",
    ),
    ("costs_plausible", "Kosten förderfähig und plausibel"),
    (
        "caps_respected",
        "Förderquote und Höchstbeträge eingehalten",
    ),
    ("reuse_described", "Nachnutzung beschrieben"),
];

pub struct CheckItem {
    pub key: &'static str,
    pub label: &'static str,
    pub result: String,
    pub note: String,
}

pub struct EventView {
    pub at: String,
    pub at_iso: String,
    pub what: String,
    pub actor: String,
    pub message: String,
}

pub struct NoteView {
    pub at: String,
    pub author: String,
    pub body: String,
}

pub struct RevisionDiff {
    pub from: i32,
    pub to: i32,
    pub at: String,
    pub changes: Vec<FieldChange>,
}

#[derive(Template, WebTemplate)]
#[template(path = "review/case.html")]
pub struct CasePage {
    page: PageContext,
    /// The sub-page shown, and the sub navigation with it marked.
    tab: CaseTab,
    tabs: Vec<TabLink>,
    /// What this person can do next, and links to the sub-pages where it is done (none to the
    /// sub-page shown).
    next_text: &'static str,
    next_links: Vec<(&'static str, String)>,
    head: Header,
    status: Status,
    status_label: &'static str,
    assignee: Option<(i64, String)>,
    reviewers: Vec<(i64, String)>,
    groups: Vec<AnswerGroup>,
    costs: Vec<CostLine>,
    plan: Option<PlanView>,
    files: Vec<FileLine>,
    attachments: Vec<(i64, String, String)>,
    partners: Vec<PartnerView>,
    events: Vec<EventView>,
    notes: Vec<NoteView>,
    diffs: Vec<RevisionDiff>,
    checklist: Vec<CheckItem>,
    assessed: String,
    sections: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
    pub change_message: String,
    pub change_sections: Vec<String>,
    pub change_deadline: String,
    pub note: String,
    messages: Vec<crate::applications::views::MessageView>,
    pub message: String,
    decision: Option<DecisionView>,
    /// The open proposal is someone else's: this reviewer may confirm or send it back.
    can_settle: bool,
    pub proposal: ProposalForm,
    /// The grant's split by Haushaltsjahr: one field per budget year of the round (none when
    /// the round has a single year), and the split the cost plan gives for the requested sum.
    year_fields: Vec<YearField>,
    automatic_split: String,
    has_notice: bool,
    /// The directory has no street or postcode for the municipality: the notice's address
    /// block would hold only name and town (an admin adds it under "Kommunen").
    address_missing: bool,
    outcomes: &'static [(&'static str, &'static str)],
}

impl CasePage {
    fn reopen_checked(&self, slug: &str) -> bool {
        self.change_sections.iter().any(|s| s == slug)
    }
}

/// Words for the ministry's timeline (all events, internal ones too).
fn event_text(kind: &str) -> &'static str {
    match kind {
        "created" => "Antrag angelegt",
        "submitted" => "Eingereicht",
        "review_started" => "Prüfung begonnen",
        "changes_requested" => "Nachforderung gestellt",
        "resubmitted" => "Nach Nachforderung erneut eingereicht",
        "decision_proposed" => "Entscheidung vorgeschlagen",
        "proposal_sent_back" => "Vorschlag zurückgegeben",
        "approved" => "Bewilligt",
        "rejected" => "Abgelehnt",
        "withdrawn" => "Zurückgezogen",
        "partner_confirmed" => "Teilnahme eines Partners bestätigt",
        "assigned" => "Zugewiesen",
        _ => "Ereignis",
    }
}

/// The choices of the proposal form.
const OUTCOMES: &[(&str, &str)] = &[
    (Outcome::Approve.as_str(), "Bewilligen"),
    (Outcome::Reject.as_str(), "Ablehnen"),
];

pub struct YearField {
    pub key: String,
    pub label: String,
}

/// The round's budget years as fields of the proposal, and the cost plan's split of the
/// requested grant over them ("2027: 48.000,00 €, 2028: 32.000,00 €").
async fn year_fields(
    conn: &mut sqlx::PgConnection,
    dossier: &Dossier,
    requested: Cents,
) -> Result<(Vec<YearField>, String), AppError> {
    let years =
        crate::programmes::db::budget_year_numbers(conn, dossier.application.round_id).await?;
    if years.len() < 2 {
        return Ok((Vec::new(), String::new()));
    }
    let eligible = dossier
        .cost_plan()
        .map(|p| p.eligible_by_year())
        .unwrap_or_default();
    let split = super::model::split_by_years(requested, &eligible, &years);
    let fields = years
        .iter()
        .map(|y| YearField {
            key: format!("year-{y}"),
            label: format!("Haushaltsjahr {y} in Euro"),
        })
        .collect();
    Ok((fields, years_text(&split)))
}

/// "2027: 48.000,00 €, 2028: 32.000,00 €"
pub fn years_text(split: &[(i32, Cents)]) -> String {
    split
        .iter()
        .map(|(y, c)| format!("{y}: {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What changed from each submitted version to the next.
fn revision_diffs(revisions: &[crate::applications::db::RevisionRow]) -> Vec<RevisionDiff> {
    revisions
        .windows(2)
        .map(|w| RevisionDiff {
            from: w[0].number,
            to: w[1].number,
            at: locale::date_time(w[1].submitted_at),
            changes: revisions::diff(&w[0].answers.0, &w[1].answers.0),
        })
        .collect()
}

/// The Prüfvermerk's questions with the answers saved so far (`items` by question key).
fn checklist(items: &serde_json::Value) -> Vec<CheckItem> {
    CHECKLIST
        .iter()
        .map(|(key, label)| CheckItem {
            key,
            label,
            result: items[key]["result"].as_str().unwrap_or("").to_string(),
            note: items[key]["note"].as_str().unwrap_or("").to_string(),
        })
        .collect()
}

/// The ministry's timeline of a case.
fn event_views(events: &[crate::applications::db::EventRow]) -> Vec<EventView> {
    events
        .iter()
        .map(|e| EventView {
            at: locale::date_time(e.at),
            at_iso: locale::iso(e.at),
            what: match (e.kind.as_str(), e.details.0["assignee"].as_str()) {
                ("assigned", Some(name)) => format!("Zugewiesen an {name}"),
                ("assigned", None) => "Zuweisung aufgehoben".into(),
                (kind, _) => event_text(kind).into(),
            },
            actor: e.actor_name.clone().unwrap_or_default(),
            message: e.message.clone(),
        })
        .collect()
}

/// A sub-page of the case as a GET shows it: with the refusal the previous POST redirected
/// here with, if any.
pub async fn show(
    app: &AppState,
    mut page: PageContext,
    user: &CurrentUser,
    id: i64,
    tab: CaseTab,
) -> Result<CasePage, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = case_of(&mut conn, user, id, false).await?;
    let errors = page.take_refusal();
    load_case_page(&mut conn, page, row, user.id, errors, tab).await
}

pub async fn load_case_page(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    row: ApplicationRow,
    me: i64,
    errors: FormErrors,
    tab: CaseTab,
) -> Result<CasePage, AppError> {
    let id = row.id;
    let decision = db::current_decision(conn, id).await?;
    let notice_context = db::notice_context(conn, id).await?;
    let dossier = Dossier::load(conn, row).await?;
    let record = db::case_record(conn, id).await?;
    let (events, revisions) = (record.events.0, record.revisions.0);
    let assessment = record.assessment.map(|a| a.0);
    let items = assessment
        .as_ref()
        .map(|a| a.items.0.clone())
        .unwrap_or_default();
    let status = dossier.status();
    let requested = Cents::new(notice_context.requested_grant_cents.unwrap_or(0));
    let (year_fields, automatic_split) = year_fields(conn, &dossier, requested).await?;
    let decision_view = match &decision {
        Some(d) => Some(DecisionView {
            years: years_text(&db::decision_years(conn, d.id).await?),
            ..DecisionView::new(d)
        }),
        None => None,
    };
    let proposal = match &decision {
        Some(d) if d.state == DecisionState::Proposed && d.proposed_by == me => Proposal::OwnOpen,
        Some(d) if d.state == DecisionState::Proposed => Proposal::OthersOpen,
        _ => Proposal::None,
    };
    let next = next_step(status, proposal);
    Ok(CasePage {
        year_fields,
        automatic_split,
        page,
        tab,
        tabs: tab_links(id, tab),
        next_text: next.text,
        next_links: next.links_from(id, tab),
        head: Header::new(&dossier.application),
        status,
        status_label: review_label(status),
        assignee: record.assignee.map(|a| a.0),
        reviewers: record.reviewers.0,
        groups: answer_groups(&dossier, false),
        costs: cost_lines(&dossier),
        plan: dossier.cost_plan().map(|p| PlanView::new(&p, &dossier)),
        files: file_lines(&dossier),
        attachments: dossier
            .attachments
            .iter()
            .map(|a| (a.id, a.file_name.clone(), a.content_type.clone()))
            .collect(),
        partners: dossier.partners.iter().map(PartnerView::new).collect(),
        events: event_views(&events),
        notes: record
            .notes
            .0
            .into_iter()
            .map(|n| NoteView {
                at: locale::date_time(n.at),
                author: n.author,
                body: n.body,
            })
            .collect(),
        diffs: revision_diffs(&revisions),
        checklist: checklist(&items),
        assessed: assessment
            .map(|a| format!("{}, {}", a.assessor, locale::date_time(a.at)))
            .unwrap_or_default(),
        sections: Section::ALL
            .into_iter()
            .map(|s| (s.slug(), s.title()))
            .collect(),
        errors,
        change_message: String::new(),
        change_sections: Vec::new(),
        change_deadline: String::new(),
        note: String::new(),
        messages: crate::applications::views::messages(&record.messages.0, true),
        message: String::new(),
        can_settle: status == Status::DecisionProposed && proposal == Proposal::OthersOpen,
        address_missing: [&notice_context.street, &notice_context.postal_code]
            .iter()
            .any(|v| v.as_deref().is_none_or(|v| v.trim().is_empty())),
        has_notice: decision
            .as_ref()
            .is_some_and(|d| d.state == DecisionState::Confirmed),
        outcomes: OUTCOMES,
        decision: decision_view,
        proposal: proposal_defaults(&notice_context, &dossier.answers(Section::Project)),
    })
}

/// A decision as the case page shows it.
pub struct DecisionView {
    pub approve: bool,
    pub confirmed: bool,
    pub granted: String,
    pub eligible: String,
    pub reason: String,
    pub period: String,
    pub conditions: String,
    pub proposed: String,
    pub settled: String,
    /// The split by Haushaltsjahr ("2027: …, 2028: …"), where there is one.
    pub years: String,
}

impl DecisionView {
    pub fn new(d: &DecisionRow) -> Self {
        let amount = |c: Option<i64>| c.map(|c| Cents::new(c).to_string()).unwrap_or_default();
        DecisionView {
            approve: d.outcome == Outcome::Approve,
            confirmed: d.state == DecisionState::Confirmed,
            granted: amount(d.granted_cents),
            eligible: amount(d.eligible_cents),
            reason: d.reason.clone(),
            period: locale::period(d.period_start, d.period_end),
            conditions: d.conditions.clone(),
            proposed: format!("{}, {}", d.proposer, locale::date_time(d.proposed_at)),
            settled: match (&d.settler, d.settled_at) {
                (Some(by), Some(at)) => format!("{by}, {}", locale::date_time(at)),
                _ => String::new(),
            },
            years: String::new(),
        }
    }
}

/// The proposal form as first shown: the application's figures, its planned period and the
/// round's Nebenbestimmungen.
pub fn proposal_defaults(
    ctx: &db::NoticeContext,
    project: &crate::applications::forms::Answers,
) -> ProposalForm {
    let plain = |c: Option<i64>| c.map(|c| Cents::new(c).plain()).unwrap_or_default();
    ProposalForm {
        outcome: String::new(),
        granted: plain(ctx.requested_grant_cents),
        eligible: plain(ctx.eligible_cost_cents),
        reason: String::new(),
        period_start: project.get("start_date").cloned().unwrap_or_default(),
        period_end: project.get("end_date").cloned().unwrap_or_default(),
        conditions: ctx.conditions_template.clone(),
        years: std::collections::BTreeMap::new(),
    }
}
