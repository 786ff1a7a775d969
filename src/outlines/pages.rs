//! The municipality's side of its outlines (`/skizzen`): writing and changing them, the
//! consultation with the ministry, the partner search and the interest it brought, and the
//! application made from an outline once a round is open.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::consultation::{self, Writer};
use super::db::{self, OutlineRow};
use super::model::{self, MessageForm, OutlineForm};
use super::notify;
use super::views::{InterestView, MessageView, OutlineView};
use crate::accounts::{Clerk, CurrentUser};
use crate::applications::start::{self, Prefill, Starter};
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::programmes::db as programmes_db;
use crate::programmes::summary::RoundSummary;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{
    ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash, redirect_with_refusal,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/skizzen", get(list))
        .route("/skizzen/neu", get(new).post(create))
        .route("/skizzen/{id}", get(show))
        .route("/skizzen/{id}/bearbeiten", get(edit).post(update))
        .route("/skizzen/{id}/loeschen", post(delete))
        .route("/skizzen/{id}/nachrichten", post(message))
        .route("/skizzen/{id}/partnersuche", post(partner_search))
        .route(
            "/skizzen/{id}/interessen/{municipality_id}/annehmen",
            post(accept),
        )
        .route("/skizzen/{id}/antrag", post(to_application))
}

/// The outline, if it belongs to the clerk's municipality; others do not exist for them.
pub(super) async fn own(
    conn: &mut PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<OutlineRow, AppError> {
    let row = if lock {
        db::lock(conn, id).await?
    } else {
        db::find(conn, id).await?
    }
    .ok_or(AppError::NotFound)?;
    Clerk::check(user)?;
    if user.municipality_id != Some(row.municipality_id) {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

pub(super) async fn categories(conn: &mut PgConnection) -> Result<Vec<(String, String)>, AppError> {
    let Some(programme) = programmes_db::main_programme(conn).await? else {
        return Ok(Vec::new());
    };
    Ok(programmes_db::active_categories(conn, programme.id)
        .await?
        .into_iter()
        .map(|c| (c.code, c.title))
        .collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "outlines/list.html")]
struct ListPage {
    page: PageContext,
    municipality: String,
    outlines: Vec<OutlineView>,
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    user: Clerk,
) -> Result<ListPage, AppError> {
    let municipality_id = user.municipality_id.ok_or(AppError::Forbidden)?;
    let mut conn = app.db.acquire().await?;
    let rows = db::of_municipality(&mut conn, municipality_id).await?;
    Ok(ListPage {
        page,
        municipality: user.municipality_name.clone().unwrap_or_default(),
        outlines: rows.iter().map(OutlineView::new).collect(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "outlines/form.html")]
struct FormPage {
    page: PageContext,
    /// `None` for a new outline.
    id: Option<i64>,
    form: OutlineForm,
    errors: FormErrors,
    categories: Vec<(String, String)>,
    yes_no: &'static [(&'static str, &'static str)],
}

impl FormPage {
    fn action(&self) -> String {
        self.id.map_or("/skizzen/neu".into(), |id| {
            format!("/skizzen/{id}/bearbeiten")
        })
    }
}

async fn form_page(
    app: &AppState,
    page: PageContext,
    id: Option<i64>,
    form: OutlineForm,
    errors: FormErrors,
) -> Result<FormPage, AppError> {
    let mut conn = app.db.acquire().await?;
    Ok(FormPage {
        page,
        id,
        form,
        errors,
        categories: categories(&mut conn).await?,
        yes_no: crate::applications::forms::YES_NO,
    })
}

async fn new(
    State(app): State<AppState>,
    page: PageContext,
    user: Clerk,
) -> Result<FormPage, AppError> {
    user.municipality_id.ok_or(AppError::Forbidden)?;
    let form = OutlineForm::for_clerk(&user.name, &user.email);
    form_page(&app, page, None, form, FormErrors::default()).await
}

async fn create(
    State(app): State<AppState>,
    page: PageContext,
    user: Clerk,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<OutlineForm>,
) -> Result<Response, AppError> {
    let municipality_id = user.municipality_id.ok_or(AppError::Forbidden)?;
    let mut tx = app.db.begin().await?;
    let outline = match form.validate(&categories(&mut tx).await?) {
        Ok(o) => o,
        Err(errors) => {
            tx.rollback().await?;
            let page = form_page(&app, page, None, form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let id = db::insert(&mut tx, municipality_id, user.id, &outline).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "outline.created",
        Subject::Outline(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/skizzen/{id}"),
        "Die Projektskizze ist gespeichert. Sie sehen nur Sie und Ihre Kommune, bis Sie sie an das Ministerium senden oder in die Partnersuche geben.",
    ))
}

async fn edit(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = own(&mut conn, &user, id, false).await?;
    if row.application_id.is_some() {
        return Ok(Redirect::to(&format!("/skizzen/{id}")).into_response());
    }
    let form = OutlineForm::of(&row.outline());
    Ok(form_page(&app, page, Some(id), form, FormErrors::default())
        .await?
        .into_response())
}

async fn update(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<OutlineForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = own(&mut tx, &user, id, true).await?;
    if row.application_id.is_some() {
        return Ok(redirect_with_refusal(
            &app.cookies,
            &format!("/skizzen/{id}"),
            "antrag",
            "Aus dieser Skizze ist schon ein Antrag geworden; ändern Sie bitte den Antrag.",
        ));
    }
    let outline = match form.validate(&categories(&mut tx).await?) {
        Ok(o) => o,
        Err(errors) => {
            tx.rollback().await?;
            let page = form_page(&app, page, Some(id), form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    db::update(&mut tx, id, &outline).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "outline.updated",
        Subject::Outline(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/skizzen/{id}"),
        "Ihre Änderungen sind gespeichert.",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "outlines/show.html")]
struct ShowPage {
    page: PageContext,
    outline: OutlineView,
    messages: Vec<MessageView>,
    interests: Vec<InterestView>,
    open_rounds: Vec<RoundSummary>,
    /// The consultation form, with what was typed when it could not be sent.
    message: String,
    errors: FormErrors,
}

async fn show_page(
    conn: &mut PgConnection,
    mut page: PageContext,
    row: &OutlineRow,
    message: String,
    mut errors: FormErrors,
) -> Result<ShowPage, AppError> {
    errors.extend(page.take_refusal());
    Ok(ShowPage {
        outline: OutlineView::new(row),
        messages: consultation::messages(conn, row).await?,
        interests: db::interests(conn, row.id)
            .await?
            .iter()
            .map(InterestView::new)
            .collect(),
        open_rounds: start::open_rounds(conn).await?,
        message,
        errors,
        page,
    })
}

async fn show(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<ShowPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = own(&mut conn, &user, id, false).await?;
    show_page(&mut conn, page, &row, String::new(), FormErrors::default()).await
}

async fn delete(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = own(&mut tx, &user, id, true).await?;
    db::delete(&mut tx, id).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "outline.deleted",
        Subject::Outline(id),
        json!({ "title": row.title }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        "/skizzen",
        &format!("Die Projektskizze „{}“ ist gelöscht.", row.title),
    ))
}

/// The municipality writes to the ministry; the first message sends the outline for
/// consultation.
async fn message(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<MessageForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = own(&mut tx, &user, id, true).await?;
    let body = match model::message_text(
        &form.message,
        model::MESSAGE_MAX,
        "Bitte schreiben Sie, was Sie mit dem Ministerium abstimmen möchten.",
    ) {
        Ok(body) => body,
        Err(errors) => {
            let page = show_page(&mut tx, page, &row, form.message, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let writer = Writer {
        user: &user,
        client: &client,
        from_ministry: false,
    };
    let first = consultation::send(&mut tx, &app, &row, &writer, &body).await?;
    tx.commit().await?;
    let flash = if first {
        "Die Projektskizze ist an das Thüringer Finanzministerium gesendet. Die Antwort erscheint hier; Sie erhalten eine E-Mail."
    } else {
        "Ihre Nachricht ist an das Ministerium gesendet."
    };
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/skizzen/{id}#abstimmung"),
        flash,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchForm {
    /// "aufnehmen" or "beenden".
    action: String,
}

async fn partner_search(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<SearchForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = own(&mut tx, &user, id, true).await?;
    let back = format!("/skizzen/{id}");
    let on = form.action == "aufnehmen";
    if on && !row.partners_wanted {
        return Ok(redirect_with_refusal(
            &app.cookies,
            &back,
            "partnersuche",
            "Geben Sie in der Skizze zuerst an, dass und wofür Sie Partnerkommunen suchen.",
        ));
    }
    if on && row.application_id.is_some() {
        return Ok(redirect_with_refusal(
            &app.cookies,
            &back,
            "partnersuche",
            "Aus dieser Skizze ist schon ein Antrag geworden; Partner nehmen Sie im Antrag auf.",
        ));
    }
    db::set_partner_search(&mut tx, id, on).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "outline.partner_search",
        Subject::Outline(id),
        json!({ "on": on }),
    )
    .await?;
    tx.commit().await?;
    let flash = if on {
        "Die Skizze steht in der Partnersuche: Sachbearbeiterinnen und Sachbearbeiter anderer Kommunen können sie finden und Interesse bekunden."
    } else {
        "Die Skizze steht nicht mehr in der Partnersuche."
    };
    Ok(redirect_with_flash(&app.cookies, &back, flash))
}

async fn accept(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path((id, municipality_id)): Path<(i64, i64)>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = own(&mut tx, &user, id, true).await?;
    let Some(clerk) = db::accept_interest(&mut tx, id, municipality_id, user.id).await? else {
        return Err(AppError::NotFound);
    };
    notify::partner_accepted(&mut tx, &app, &row, clerk).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "outline.interest_accepted",
        Subject::Outline(id),
        json!({ "municipality_id": municipality_id }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/skizzen/{id}#interessen"),
        "Die Kommune ist als Partner angenommen und wird im Antrag vorausgewählt.",
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApplicationForm {
    round_id: String,
}

/// Starts an application in an open round with the outline's answers and accepted partners.
async fn to_application(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<ApplicationForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = own(&mut tx, &user, id, true).await?;
    let back = format!("/skizzen/{id}");
    if let Some(existing) = row.application_id {
        return Ok(Redirect::to(&format!("/antraege/{existing}")).into_response());
    }
    let refused = |message: &str| {
        Ok(redirect_with_refusal(
            &app.cookies,
            &back,
            "round_id",
            message,
        ))
    };
    let Ok(round_id) = form.round_id.trim().parse::<i64>() else {
        return refused("Bitte wählen Sie einen Förderaufruf aus.");
    };
    let round_categories = match programmes_db::find_round(&mut tx, round_id).await? {
        Some(round) => crate::applications::dossier::rules_of(&round).categories,
        None => return refused("Bitte wählen Sie einen Förderaufruf aus."),
    };
    let prefill = Prefill {
        answers: model::prefill(&row.outline(), &round_categories),
        partners: db::accepted_partners(&mut tx, id).await?,
    };
    let starter = Starter {
        user_id: user.id,
        municipality_id: row.municipality_id,
        actor: user.actor(&client),
    };
    let Some(application) = start::start(&mut tx, &app, &starter, round_id, &prefill)
        .await
        .or_else(|e| match e {
            AppError::NotFound => Ok(None),
            e => Err(e),
        })?
    else {
        return refused("Dieser Förderaufruf nimmt derzeit keine Anträge an.");
    };
    db::set_application(&mut tx, id, application).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "outline.application_created",
        Subject::Outline(id),
        json!({ "application_id": application }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/antraege/{application}"),
        "Der Antrag ist angelegt und mit den Angaben Ihrer Projektskizze vorausgefüllt; angenommene Partnerkommunen sind gebeten, ihre Beteiligung zu bestätigen. Bitte prüfen und ergänzen Sie alle Abschnitte.",
    ))
}
