//! The consultation with the ministry (Abstimmung): messages both ways, e-mail to the other
//! side, and the reviewers' pages (`/pruefung/skizzen`) where they answer and mark an outline
//! "abgestimmt".

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, OutlineRow};
use super::model::{self, Consultation, MessageForm};
use super::notify;
use super::views::{InterestView, MessageView, OutlineView};
use crate::accounts::{CurrentUser, Reviewer};
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{
    ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash, redirect_with_refusal,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pruefung/skizzen", get(list))
        .route("/pruefung/skizzen/{id}", get(show))
        .route("/pruefung/skizzen/{id}/nachrichten", post(message))
        .route("/pruefung/skizzen/{id}/abgestimmt", post(agree))
}

/// Who writes, from which side.
pub struct Writer<'a> {
    pub user: &'a CurrentUser,
    pub client: &'a ClientAddress,
    pub from_ministry: bool,
}

pub async fn messages(
    conn: &mut PgConnection,
    row: &OutlineRow,
) -> Result<Vec<MessageView>, AppError> {
    Ok(db::messages(conn, row.id)
        .await?
        .iter()
        .map(|m| MessageView::new(m, &row.municipality))
        .collect())
}

/// Stores the message and tells the other side. The municipality's first message sends the
/// outline for consultation; returns whether it was that.
pub async fn send(
    conn: &mut PgConnection,
    app: &AppState,
    row: &OutlineRow,
    writer: &Writer<'_>,
    body: &str,
) -> Result<bool, AppError> {
    let first = !writer.from_ministry && row.consultation == Consultation::None;
    if first {
        db::set_consultation(conn, row.id, Consultation::Requested, writer.user.id).await?;
    }
    db::add_message(conn, row.id, writer.user.id, writer.from_ministry, body).await?;
    if writer.from_ministry {
        notify::municipality(
            conn,
            app,
            row,
            (
                "Neue Nachricht des Ministeriums",
                "Das Thüringer Finanzministerium hat Ihnen geschrieben:",
            ),
            body,
        )
        .await?;
    } else {
        let what = if first {
            format!(
                "{} bittet um Abstimmung der Projektskizze und schreibt:",
                row.municipality
            )
        } else {
            format!("{} hat geschrieben:", row.municipality)
        };
        let about = if first {
            "Bitte um Abstimmung"
        } else {
            "Neue Nachricht der Kommune"
        };
        notify::ministry(conn, app, row, (about, &what), body).await?;
    }
    audit::record(
        conn,
        writer.user.actor(writer.client),
        "outline.message_sent",
        Subject::Outline(row.id),
        json!({ "from_ministry": writer.from_ministry, "first": first }),
    )
    .await?;
    Ok(first)
}

/// The outline, if it was sent for consultation; other outlines do not exist for the ministry.
async fn for_ministry(
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
    .filter(|r| r.consultation != Consultation::None)
    .ok_or(AppError::NotFound)?;
    Reviewer::check(user)?;
    Ok(row)
}

#[derive(Template, WebTemplate)]
#[template(path = "outlines/review_list.html")]
struct ListPage {
    page: PageContext,
    open: Vec<OutlineView>,
    agreed: Vec<OutlineView>,
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    _user: Reviewer,
) -> Result<ListPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let rows = db::consultations(&mut conn).await?;
    let (agreed, open): (Vec<_>, Vec<_>) = rows
        .iter()
        .partition(|r| r.consultation == Consultation::Agreed);
    Ok(ListPage {
        page,
        open: open.into_iter().map(OutlineView::new).collect(),
        agreed: agreed.into_iter().map(OutlineView::new).collect(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "outlines/review_show.html")]
struct ShowPage {
    page: PageContext,
    outline: OutlineView,
    agreed: bool,
    messages: Vec<MessageView>,
    interests: Vec<InterestView>,
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
        agreed: row.consultation == Consultation::Agreed,
        messages: messages(conn, row).await?,
        interests: db::interests(conn, row.id)
            .await?
            .iter()
            .map(InterestView::new)
            .collect(),
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
    let row = for_ministry(&mut conn, &user, id, false).await?;
    show_page(&mut conn, page, &row, String::new(), FormErrors::default()).await
}

async fn message(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<MessageForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = for_ministry(&mut tx, &user, id, true).await?;
    let body = match model::message_text(
        &form.message,
        model::MESSAGE_MAX,
        "Bitte schreiben Sie eine Nachricht an die Kommune.",
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
        from_ministry: true,
    };
    send(&mut tx, &app, &row, &writer, &body).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/pruefung/skizzen/{id}#abstimmung"),
        "Ihre Nachricht ist an die Kommune gesendet.",
    ))
}

async fn agree(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = for_ministry(&mut tx, &user, id, true).await?;
    let back = format!("/pruefung/skizzen/{id}");
    if row.consultation == Consultation::Agreed {
        return Ok(redirect_with_refusal(
            &app.cookies,
            &back,
            "abgestimmt",
            "Diese Skizze ist bereits als abgestimmt markiert.",
        ));
    }
    db::set_consultation(&mut tx, id, Consultation::Agreed, user.id).await?;
    notify::municipality(
        &mut tx,
        &app,
        &row,
        (
            "Abgestimmt",
            "Das Thüringer Finanzministerium hat die Projektskizze als abgestimmt markiert. Sobald ein Förderaufruf offen ist, können Sie aus ihr mit einem Klick einen Antrag erstellen.",
        ),
        "",
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "outline.agreed",
        Subject::Outline(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &back,
        "Die Skizze ist als abgestimmt markiert; die Kommune ist per E-Mail benachrichtigt.",
    ))
}
