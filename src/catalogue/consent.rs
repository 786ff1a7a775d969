//! The owner's side of the catalogue (`/antraege/{id}/katalog`): agreeing to publish the
//! project, what the entry says, withdrawing it again, and the reuse requests it received.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::db;
use super::model::ConsentForm;
use crate::accounts::CurrentUser;
// Only the applying municipality decides about publishing (partners read the application).
use crate::applications::access::owned;
use crate::applications::db::ApplicationRow;
use crate::applications::dossier::Dossier;
use crate::applications::model::{Section, Status};
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::locale;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{ClientAddress, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new().route("/antraege/{id}/katalog", get(page).post(save))
}

pub struct RequestView {
    pub name: String,
    pub email: String,
    pub municipality: String,
    pub message: String,
    pub at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "catalogue/consent.html")]
struct ConsentPage {
    page: PageContext,
    id: i64,
    title: String,
    reference: String,
    form: ConsentForm,
    errors: FormErrors,
    published: bool,
    /// Whether the public sees it now (published and approved or settled).
    visible: bool,
    /// Rejected or withdrawn: it will never be shown.
    never: bool,
    requests: Vec<RequestView>,
}

fn shown(status: Status) -> bool {
    matches!(status, Status::Approved | Status::Settled)
}

async fn consent_page(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    row: ApplicationRow,
    form: Option<ConsentForm>,
    errors: FormErrors,
) -> Result<ConsentPage, AppError> {
    let entry = db::own_entry(conn, row.id).await?;
    let requests = db::requests_for(conn, row.id)
        .await?
        .into_iter()
        .map(|r| RequestView {
            name: r.name,
            email: r.email,
            municipality: r.municipality,
            message: r.message,
            at: locale::date_time(r.at),
        })
        .collect();
    let form = match (form, &entry) {
        (Some(form), _) => form,
        (None, Some(e)) => ConsentForm::of(e),
        // Not published yet: what the application says already.
        (None, None) => {
            let dossier = Dossier::load(conn, row.clone()).await?;
            let answer = |section, key: &str| {
                dossier
                    .answers(section)
                    .get(key)
                    .cloned()
                    .unwrap_or_default()
            };
            ConsentForm {
                summary: answer(Section::Project, "summary"),
                reuse: answer(Section::Partnership, "reuse"),
                technologies: answer(Section::Partnership, "standards"),
                ..ConsentForm::default()
            }
        }
    };
    Ok(ConsentPage {
        page,
        id: row.id,
        title: row.display_title(),
        reference: row.reference.clone().unwrap_or_default(),
        form,
        errors,
        published: entry.is_some(),
        visible: entry.is_some() && shown(row.status),
        never: matches!(row.status, Status::Rejected | Status::Withdrawn),
        requests,
    })
}

async fn page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<ConsentPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let row = owned(&mut conn, &user, id, false).await?;
    consent_page(&mut conn, page, row, None, FormErrors::default()).await
}

async fn save(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<ConsentForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let row = owned(&mut tx, &user, id, true).await?;
    let back = format!("/antraege/{id}/katalog");
    if form.action == "zurueckziehen" {
        if db::delete_entry(&mut tx, id).await? {
            audit::record(
                &mut tx,
                user.actor(&client),
                "catalogue.withdrawn",
                Subject::Application(id),
                json!({}),
            )
            .await?;
        }
        tx.commit().await?;
        return Ok(redirect_with_flash(
            &app.cookies,
            &back,
            "Das Vorhaben steht nicht mehr im Nachnutzungskatalog.",
        ));
    }
    let entry = match form.validate() {
        Ok(entry) => entry,
        Err(errors) => {
            let page = consent_page(&mut tx, page, row, Some(form), errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    db::save_entry(&mut tx, id, &entry, user.id).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "catalogue.published",
        Subject::Application(id),
        json!({ "mailbox": entry.mailbox }),
    )
    .await?;
    tx.commit().await?;
    let message = if shown(row.status) {
        "Das Vorhaben steht im öffentlichen Nachnutzungskatalog."
    } else {
        "Ihre Angaben sind gespeichert. Das Vorhaben erscheint im Nachnutzungskatalog, sobald es bewilligt ist."
    };
    Ok(redirect_with_flash(&app.cookies, &back, message))
}
