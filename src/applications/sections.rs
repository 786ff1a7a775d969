//! The section pages of the task list (Antragsteller, Vorhaben, Verbund, Kosten, Erklärungen):
//! every save keeps what was typed, valid or not; a save over someone else's newer save is
//! refused and shown side by side.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::access::owned_dossier;
use super::costs::{COST_KINDS, YearBasis};
use super::db;
use super::dossier::Dossier;
use super::forms::{
    self, Answers, CostRowInput, DECLARATION_FIELDS, MAX_COST_ROWS, START_STATUS, VAT_STATUS,
    YES_NO,
};
use super::model::{Section, SectionStatus};
use super::partners;
use super::views::{
    CostRowView, Header, PlanView, cost_row_views, grant_hint, plan_year_choices, plan_years_hint,
};
use crate::accounts::CurrentUser;
use crate::audit;
use crate::audit::Subject;
use crate::error::AppError;
use crate::locale;
use crate::municipalities::db as municipalities_db;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{ClientAddress, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new().route("/antraege/{id}/{section}", get(edit).post(save))
}

/// The answers of the form, for the template.
pub struct SectionForm {
    pub answers: Answers,
}

impl SectionForm {
    pub fn v(&self, name: &str) -> &str {
        self.answers.get(name).map_or("", String::as_str)
    }

    pub fn is(&self, name: &str, value: &str) -> bool {
        self.v(name) == value
    }
}

/// A field whose saved answer differs from what the clerk just typed.
pub struct ChangedField {
    pub label: String,
    pub theirs: String,
    pub mine: String,
}

pub struct Conflict {
    pub by: String,
    pub at: String,
    pub fields: Vec<ChangedField>,
}

pub struct Applicant {
    pub name: String,
    pub ags: String,
    pub address: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "applications/section.html")]
pub struct SectionPage {
    page: PageContext,
    head: Header,
    slug: &'static str,
    title: &'static str,
    form: SectionForm,
    errors: FormErrors,
    version: i32,
    back_to_review: bool,
    /// Shown when the answers were saved but have problems.
    saved_with_errors: bool,
    conflict: Option<Conflict>,
    applicant: Applicant,
    categories: Vec<(String, String)>,
    partners: Vec<super::db::PartnerRow>,
    partner_choices: Vec<(i64, String)>,
    cost_rows: Vec<CostRowView>,
    cost_kinds: &'static [(&'static str, &'static str)],
    /// Which years the cost rows may choose, and what to do without a project period.
    cost_years_hint: String,
    /// Without a project period, the hint links to the section that sets it.
    cost_years_fallback: bool,
    /// The maximum possible grant, beside the grant field.
    grant_hint: String,
    plan: Option<PlanView>,
    max_rate: String,
    grant_range: String,
    yes_no: &'static [(&'static str, &'static str)],
    start_status: &'static [(&'static str, &'static str)],
    vat_status: &'static [(&'static str, &'static str)],
    declarations: &'static [forms::Field],
}

#[derive(Deserialize)]
pub struct SectionQuery {
    #[serde(default)]
    pub zurueck: String,
}

/// The section of the URL, if it is one with a form.
fn form_section(slug: &str) -> Result<Section, AppError> {
    match Section::from_slug(slug) {
        Some(Section::Attachments) | None => Err(AppError::NotFound),
        Some(section) => Ok(section),
    }
}

async fn build_page(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    dossier: &Dossier,
    section: Section,
    answers: Answers,
    errors: FormErrors,
) -> Result<SectionPage, AppError> {
    let application = &dossier.application;
    let municipality = municipalities_db::find(conn, application.municipality_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let address = [
        municipality.street.clone().unwrap_or_default(),
        format!(
            "{} {}",
            municipality.postal_code.clone().unwrap_or_default(),
            municipality.city.clone().unwrap_or_default()
        )
        .trim()
        .to_string(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ");
    let partner_choices = if section == Section::Partnership {
        municipalities_db::choices(conn)
            .await?
            .into_iter()
            .filter(|(id, _)| {
                *id != application.municipality_id
                    && !dossier.partners.iter().any(|p| p.municipality_id == *id)
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut rows = forms::cost_rows(&answers);
    if rows.is_empty() {
        rows.push(blank_row());
    }
    let years = dossier.plan_years();
    let plan = (section == Section::Costs)
        .then(|| forms::check_costs(&answers, &dossier.rules, &years).1)
        .flatten()
        .map(|p| PlanView::new(&p, dossier));
    let summary = crate::programmes::summary::RoundSummary::new(
        dossier.round.clone(),
        time::OffsetDateTime::now_utc(),
    );
    Ok(SectionPage {
        page,
        head: Header::new(application),
        slug: section.slug(),
        title: section.title(),
        errors,
        version: dossier.version(section),
        back_to_review: false,
        saved_with_errors: false,
        conflict: None,
        applicant: Applicant {
            name: municipality.name,
            ags: municipality.ags.or(municipality.ars).unwrap_or_default(),
            address,
        },
        categories: dossier.rules.categories.clone(),
        partners: dossier.partners.clone(),
        partner_choices,
        cost_rows: cost_row_views(rows, &plan_year_choices(&years)),
        cost_kinds: COST_KINDS,
        cost_years_hint: plan_years_hint(&years),
        cost_years_fallback: years.basis == YearBasis::Round,
        grant_hint: grant_hint(forms::eligible_costs(&answers, &years), &dossier.rules),
        plan,
        max_rate: summary.max_rate,
        grant_range: summary.grant_range,
        yes_no: YES_NO,
        start_status: START_STATUS,
        vat_status: VAT_STATUS,
        declarations: DECLARATION_FIELDS,
        form: SectionForm { answers },
    })
}

fn blank_row() -> CostRowInput {
    CostRowInput {
        eligible: "ja".into(),
        ..CostRowInput::default()
    }
}

/// Loads the application for a clerk of the applying municipality who may change `section`.
async fn editable(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    section: Section,
    lock: bool,
) -> Result<Option<Dossier>, AppError> {
    let dossier = owned_dossier(conn, user, id, lock).await?;
    Ok(dossier.is_editable(section).then_some(dossier))
}

async fn edit(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path((id, slug)): Path<(i64, String)>,
    Query(query): Query<SectionQuery>,
) -> Result<Response, AppError> {
    let section = form_section(&slug)?;
    let mut conn = app.db.acquire().await?;
    let Some(dossier) = editable(&mut conn, &user, id, section, false).await? else {
        return Ok(Redirect::to(&format!("/antraege/{id}")).into_response());
    };
    let answers = dossier.answers(section);
    // Saved answers with mistakes show them again; merely unfinished ones do not nag.
    let check = dossier.check(section);
    let errors = if check.status() == SectionStatus::Error {
        check.errors
    } else {
        FormErrors::default()
    };
    let mut section_page = build_page(&mut conn, page, &dossier, section, answers, errors).await?;
    section_page.back_to_review = query.zurueck == "pruefen";
    Ok(section_page.into_response())
}

/// What the clerk pressed.
enum Action {
    Continue,
    Later,
    AddRow,
    RemoveRow(usize),
    AddPartner,
    RemovePartner(i64),
}

fn action_of(value: &str) -> Action {
    if let Some(n) = value.strip_prefix("zeile-entfernen-") {
        return n.parse().map_or(Action::Later, Action::RemoveRow);
    }
    if let Some(n) = value.strip_prefix("partner-entfernen-") {
        return n.parse().map_or(Action::Later, Action::RemovePartner);
    }
    match value {
        "spaeter" => Action::Later,
        "zeile-hinzufuegen" => Action::AddRow,
        "partner-hinzufuegen" => Action::AddPartner,
        _ => Action::Continue,
    }
}

/// A section as posted: the button pressed, where to go back to, the version the clerk
/// loaded, a partner to add, and the answers (the section's own fields are picked from the
/// rest and stored exactly as typed).
#[derive(Deserialize)]
struct PostedSection {
    #[serde(default)]
    action: String,
    #[serde(default)]
    zurueck: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    partner_id: String,
    #[serde(flatten)]
    answers: forms::Answers,
}

async fn save(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path((id, slug)): Path<(i64, String)>,
    ProtectedForm(form): ProtectedForm<PostedSection>,
) -> Result<Response, AppError> {
    let section = form_section(&slug)?;
    let action = action_of(&form.action);
    let back_to_review = form.zurueck == "pruefen";
    let loaded_version: i32 = form.version.trim().parse().unwrap_or(-1);
    let answers = typed_answers(section, &form.answers, &action);

    let mut tx = app.db.begin().await?;
    let Some(dossier) = editable(&mut tx, &user, id, section, true).await? else {
        return Ok(redirect_with_flash(
            &app.cookies,
            &format!("/antraege/{id}"),
            "Dieser Abschnitt kann nicht mehr geändert werden.",
        ));
    };
    let mut partner_error = None;
    if section == Section::Partnership {
        match action {
            Action::AddPartner => {
                partner_error = partners::add(&mut tx, &app, &dossier, &form.partner_id).await?;
            }
            Action::RemovePartner(municipality_id) => {
                db::remove_partner(&mut tx, id, municipality_id).await?;
            }
            _ => {}
        }
    }
    let saved = db::save_section(&mut tx, id, section, &answers, loaded_version, user.id).await?;
    if saved.is_none() {
        // Someone saved in between: show both, keep what this clerk typed.
        let conflict = conflict(&dossier, section, &answers);
        tx.rollback().await?;
        let mut conn = app.db.acquire().await?;
        let mut section_page = build_page(
            &mut conn,
            page,
            &dossier,
            section,
            answers,
            FormErrors::default(),
        )
        .await?;
        section_page.conflict = Some(conflict);
        section_page.back_to_review = back_to_review;
        return Ok((StatusCode::CONFLICT, section_page).into_response());
    }
    let (check, plan) = dossier.check_answers(section, &answers);
    dossier
        .update_summary(&mut tx, section, &answers, plan.as_ref())
        .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "application.section_saved",
        Subject::Application(id),
        json!({ "section": section.slug() }),
    )
    .await?;
    tx.commit().await?;

    let here = format!("/antraege/{id}/{}", section.slug());
    let reload = |anchor: &str| {
        let query = if back_to_review {
            "?zurueck=pruefen"
        } else {
            ""
        };
        Redirect::to(&format!("{here}{query}#{anchor}")).into_response()
    };
    match action {
        Action::AddRow | Action::RemoveRow(_) => return Ok(reload("kostenpositionen")),
        Action::RemovePartner(_) => return Ok(reload("partner")),
        Action::AddPartner if partner_error.is_none() => return Ok(reload("partner")),
        Action::Later => {
            return Ok(redirect_with_flash(
                &app.cookies,
                &format!("/antraege/{id}"),
                &saved_for_later(section, &check),
            ));
        }
        _ => {}
    }
    let mut errors = check.errors;
    if let Some(message) = partner_error {
        errors = FormErrors::default();
        errors.add("partner_id", message);
    }
    if !errors.is_empty() {
        let mut conn = app.db.acquire().await?;
        let row = db::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        let dossier = Dossier::load(&mut conn, row).await?;
        let mut section_page =
            build_page(&mut conn, page, &dossier, section, answers, errors).await?;
        section_page.saved_with_errors = true;
        section_page.back_to_review = back_to_review;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, section_page).into_response());
    }
    Ok(Redirect::to(&next_page(&dossier, section, back_to_review)).into_response())
}

/// What "Speichern und später fortsetzen" tells the clerk: saved, and, where an answer is wrong
/// (not merely missing), which one, so the problem is not discovered only at submission.
fn saved_for_later(section: Section, check: &forms::Check) -> String {
    let title = section.title();
    if check.status() != SectionStatus::Error {
        return format!("Der Abschnitt „{title}“ ist gespeichert.");
    }
    let mut problems = check.errors.iter().map(|e| e.message.as_str());
    let first = problems.next().unwrap_or_default();
    let more = match problems.count() {
        0 => String::new(),
        1 => " (und ein weiteres Problem)".into(),
        n => format!(" (und {n} weitere Probleme)"),
    };
    // A flash message holds at most 300 bytes.
    let first: String = first.chars().take(120).collect();
    format!("Der Abschnitt „{title}“ ist gespeichert, enthält aber einen Fehler: {first}{more}")
}

/// The section's answers as typed, with a cost row added or removed when the clerk asked.
fn typed_answers(section: Section, posted: &forms::Answers, action: &Action) -> forms::Answers {
    let mut answers = forms::answers_from_form(section, posted);
    if section == Section::Costs {
        let mut rows = forms::cost_rows(&answers);
        match *action {
            Action::AddRow if rows.len() < MAX_COST_ROWS => rows.push(blank_row()),
            Action::RemoveRow(i) if i < rows.len() => {
                rows.remove(i);
            }
            _ => {}
        }
        forms::set_cost_rows(&mut answers, &rows);
    }
    answers
}

/// Where a clerk goes after saving a complete section: back to the check page they came from,
/// else the next section they may still change, else the overview.
fn next_page(dossier: &Dossier, section: Section, back_to_review: bool) -> String {
    let id = dossier.id();
    if back_to_review {
        return format!("/antraege/{id}/pruefen");
    }
    match section.next() {
        Some(next) if dossier.is_editable(next) => format!("/antraege/{id}/{}", next.slug()),
        _ => format!("/antraege/{id}"),
    }
}

fn conflict(dossier: &Dossier, section: Section, mine: &Answers) -> Conflict {
    let theirs = dossier.answers(section);
    let mut names: Vec<&String> = theirs.keys().chain(mine.keys()).collect();
    names.sort();
    names.dedup();
    let fields = names
        .into_iter()
        .filter(|n| theirs.get(*n) != mine.get(*n))
        .map(|n| ChangedField {
            label: forms::label_of(section, n),
            theirs: forms::display_of(section, n, theirs.get(n).map_or("", String::as_str)),
            mine: forms::display_of(section, n, mine.get(n).map_or("", String::as_str)),
        })
        .collect();
    let (by, at) = dossier
        .saved_by(section)
        .map(|(by, at)| (by.to_string(), locale::date_time(at)))
        .unwrap_or_default();
    Conflict { by, at, fields }
}
