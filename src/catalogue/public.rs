//! The public catalogue (no sign-in): the search, an entry, and "Nachnutzung anfragen".

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::db::{self, NewRequest};
use super::model::{CatalogueQuery, PHASES, RequestForm};
use super::views::EntryView;
use crate::error::AppError;
use crate::mail::messages::{ReuseRequest, ReuseRequestSent};
use crate::mail::{Message, Recipient};
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::{ClientAddress, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/nachnutzung", get(list))
        .route("/nachnutzung/{id}", get(entry))
        .route("/nachnutzung/{id}/anfrage", post(request))
}

const PAGE_SIZE: i64 = 20;
/// Requests per hour that one client may send, and that one entry takes.
const PER_CLIENT_AND_HOUR: i64 = 5;
const PER_ENTRY_AND_HOUR: i64 = 20;

#[derive(Template, WebTemplate)]
#[template(path = "catalogue/list.html")]
struct ListPage {
    page: PageContext,
    query: CatalogueQuery,
    entries: Vec<EntryView>,
    /// "1 Vorhaben", "23 Vorhaben"
    found: String,
    range: String,
    number: i64,
    previous_href: Option<String>,
    next_href: Option<String>,
    categories: Vec<(String, String)>,
    districts: Vec<(i64, String)>,
    phases: &'static [(&'static str, &'static str)],
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    Query(query): Query<CatalogueQuery>,
) -> Result<ListPage, AppError> {
    let search = query.search();
    let mut conn = app.db.acquire().await?;
    let offset = (search.page - 1) * PAGE_SIZE;
    let (rows, total) = db::search(&mut conn, &search, PAGE_SIZE, offset).await?;
    let (categories, districts) = db::filter_choices(&mut conn).await?;
    let shown = i64::try_from(rows.len()).unwrap_or(0);
    let link = |n: i64| format!("/nachnutzung?{}", query.page(n));
    Ok(ListPage {
        page,
        entries: rows.iter().map(EntryView::new).collect(),
        found: format!("{} Vorhaben", crate::locale::count(total)),
        range: if shown == 0 {
            String::new()
        } else {
            format!(
                "{}–{}",
                crate::locale::count(offset + 1),
                crate::locale::count(offset + shown)
            )
        },
        number: search.page,
        previous_href: (search.page > 1).then(|| link(search.page - 1)),
        next_href: (offset + shown < total).then(|| link(search.page + 1)),
        categories,
        districts,
        phases: &PHASES,
        query,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "catalogue/entry.html")]
struct EntryPage {
    page: PageContext,
    entry: EntryView,
    form: RequestForm,
    errors: FormErrors,
}

async fn public(app: &AppState, id: i64) -> Result<super::db::PublicEntry, AppError> {
    let mut conn = app.db.acquire().await?;
    db::public_entry(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn entry(
    State(app): State<AppState>,
    page: PageContext,
    Path(id): Path<i64>,
) -> Result<EntryPage, AppError> {
    let entry = EntryView::new(&public(&app, id).await?);
    Ok(EntryPage {
        page,
        entry,
        form: RequestForm::default(),
        errors: FormErrors::default(),
    })
}

/// Sends the visitor's request to the entry's mailbox (with a copy that repeats nothing
/// typed), at most a few per hour per client and per entry.
async fn request(
    State(app): State<AppState>,
    page: PageContext,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<RequestForm>,
) -> Result<Response, AppError> {
    let found = public(&app, id).await?;
    let again = |status: StatusCode, errors: FormErrors, form: RequestForm, page| {
        let entry = EntryView::new(&found);
        (
            status,
            EntryPage {
                page,
                entry,
                form,
                errors,
            },
        )
            .into_response()
    };
    let valid = match form.validate() {
        Ok(v) => v,
        Err(errors) => return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, errors, form, page)),
    };
    let mut tx = app.db.begin().await?;
    let (by_client, to_entry) = db::recent_requests(&mut tx, &client.0, id).await?;
    if by_client >= PER_CLIENT_AND_HOUR || to_entry >= PER_ENTRY_AND_HOUR {
        let mut errors = FormErrors::default();
        errors.add(
            "message",
            "Es sind gerade zu viele Anfragen eingegangen. Bitte versuchen Sie es in einer Stunde noch einmal; Ihr Text bleibt hier stehen.",
        );
        return Ok(again(StatusCode::TOO_MANY_REQUESTS, errors, form, page));
    }
    db::insert_request(
        &mut tx,
        &NewRequest {
            application: id,
            name: &valid.name,
            email: &valid.email,
            municipality: &valid.municipality,
            message: &valid.message,
            client: &client.0,
        },
    )
    .await?;
    let link = format!("{}/nachnutzung/{id}", app.config.base_url);
    let mailbox = Recipient::new(&found.mailbox, &found.municipality)?;
    app.outbox
        .enqueue(
            &mut tx,
            &mailbox,
            &Message::ReuseRequest(ReuseRequest {
                title: found.title.clone(),
                from_name: valid.name.clone(),
                from_email: valid.email.clone(),
                from_municipality: valid.municipality.clone(),
                message: valid.message.clone(),
                link: link.clone(),
            }),
        )
        .await?;
    if let Ok(requester) = Recipient::new(&valid.email, &valid.name) {
        app.outbox
            .enqueue(
                &mut tx,
                &requester,
                &Message::ReuseRequestSent(ReuseRequestSent {
                    title: found.title.clone(),
                    link,
                }),
            )
            .await?;
    }
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/nachnutzung/{id}"),
        "Ihre Anfrage ist an das Funktionspostfach des Vorhabens weitergeleitet; eine Bestätigung geht an Ihre E-Mail-Adresse.",
    ))
}
