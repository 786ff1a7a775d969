//! "Postausgang": recent e-mails with their delivery state; failed ones can be sent again.
//! Message bodies are personal data and visible to admins only.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::accounts::Admin;
use crate::audit;
use crate::audit::Subject;
use crate::error::AppError;
use crate::locale;
use crate::mail::outbox::{self, OutboxRow};
use crate::state::AppState;
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/postausgang", get(list))
        .route("/admin/postausgang/{id}", get(show))
        .route("/admin/postausgang/{id}/erneut-senden", post(retry))
}

const LIST_LIMIT: i64 = 200;

/// The states in the order the page offers them, with their German names.
const STATES: [(&str, &str); 4] = [
    ("queued", "Wartet"),
    ("sending", "Wird gesendet"),
    ("sent", "Gesendet"),
    ("failed", "Fehlgeschlagen"),
];

fn state_label(state: &str) -> &'static str {
    STATES
        .iter()
        .find(|(s, _)| *s == state)
        .map_or("Unbekannt", |(_, l)| *l)
}

pub struct MessageView {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub state: &'static str,
    pub state_key: String,
    pub attempts: i32,
    pub last_error: String,
    pub created: String,
    pub next_attempt: String,
    pub sent: String,
    pub message_id: String,
}

impl From<OutboxRow> for MessageView {
    fn from(r: OutboxRow) -> Self {
        MessageView {
            id: r.id,
            recipient: if r.recipient_name.is_empty() {
                r.recipient
            } else {
                format!("{} <{}>", r.recipient_name, r.recipient)
            },
            subject: r.subject,
            state: state_label(&r.state),
            attempts: r.attempts,
            last_error: r.last_error.unwrap_or_default(),
            created: locale::date_time(r.created_at),
            next_attempt: locale::date_time(r.next_attempt_at),
            sent: r.sent_at.map(locale::date_time).unwrap_or_default(),
            message_id: r.message_id,
            state_key: r.state,
        }
    }
}

pub struct StateFilter {
    pub key: &'static str,
    pub label: &'static str,
    pub count: i64,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/outbox.html")]
struct ListPage {
    page: PageContext,
    filters: Vec<StateFilter>,
    total: i64,
    /// Messages of the selected state (all, without a filter); the page shows at most 200.
    matching: i64,
    shown_all: bool,
    all_selected: bool,
    messages: Vec<MessageView>,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
    Query(query): Query<ListQuery>,
) -> Result<ListPage, AppError> {
    let selected = STATES.iter().map(|(s, _)| *s).find(|s| *s == query.status);
    let mut conn = app.db.acquire().await?;
    let counts = outbox::counts_by_state(&mut conn).await?;
    let messages = outbox::recent(&mut conn, selected, LIST_LIMIT).await?;
    let count_of = |state: &str| {
        counts
            .iter()
            .find(|(s, _)| s == state)
            .map_or(0, |(_, n)| *n)
    };
    let filters = STATES
        .iter()
        .map(|(key, label)| StateFilter {
            key,
            label,
            count: count_of(key),
            selected: selected == Some(*key),
        })
        .collect();
    let total = counts.iter().map(|(_, n)| n).sum();
    let matching = selected.map_or(total, count_of);
    Ok(ListPage {
        page,
        filters,
        total,
        matching,
        shown_all: i64::try_from(messages.len()).unwrap_or(i64::MAX) >= matching,
        all_selected: selected.is_none(),
        messages: messages.into_iter().map(Into::into).collect(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/outbox_message.html")]
struct MessagePage {
    page: PageContext,
    message: MessageView,
    body_text: String,
    body_html: String,
}

async fn show(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
) -> Result<MessagePage, AppError> {
    let mut conn = app.db.acquire().await?;
    let (row, body_text, body_html) = outbox::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    // Message bodies are personal data: who read which one is on record.
    let actor = user.actor(&client);
    audit::record(
        &mut conn,
        actor,
        "mail.viewed",
        Subject::Mail(id),
        serde_json::json!({}),
    )
    .await?;
    Ok(MessagePage {
        page,
        message: row.into(),
        body_text,
        body_html,
    })
}

async fn retry(
    State(app): State<AppState>,
    user: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let target = format!("/admin/postausgang/{id}");
    outbox::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if !outbox::retry_failed(&mut tx, id).await? {
        // Someone else was quicker, or the form was sent twice.
        return Ok(redirect_with_flash(
            &app.cookies,
            &target,
            "Die Nachricht ist nicht (mehr) fehlgeschlagen.",
        ));
    }
    audit::record(
        &mut tx,
        user.actor(&client),
        "mail.retry",
        Subject::Mail(id),
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &target,
        "Die Nachricht wird erneut gesendet.",
    ))
}
