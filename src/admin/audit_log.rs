//! "Protokoll": the audit log for admins, filtered by action, person, object and period.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;

use crate::accounts::Admin;
use crate::audit::{self, ACTIONS, Filter, action_label};
use crate::error::AppError;
use crate::locale;
use crate::state::AppState;
use crate::validation::{FormErrors, clean_line};
use crate::web::PageContext;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/protokoll", get(log))
}

const LIMIT: i64 = 300;

pub struct EntryView {
    pub at: String,
    pub actor: String,
    pub client: String,
    pub action: &'static str,
    pub subject: String,
    pub details: String,
}

#[derive(Default, Deserialize)]
struct LogQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit_log.html")]
struct LogPage {
    page: PageContext,
    query: LogQuery,
    actions: &'static [(&'static str, &'static str)],
    entries: Vec<EntryView>,
    limited: bool,
    errors: FormErrors,
}

/// "2026-11-22" from a date field; anything else is named as a problem.
fn parse_day(value: &str, field: &'static str, errors: &mut FormErrors) -> Option<time::Date> {
    if value.trim().is_empty() {
        return None;
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(value.trim(), format) {
        Ok(day) => Some(day),
        Err(_) => {
            errors.add(
                field,
                "Bitte geben Sie ein Datum ein, zum Beispiel 22.11.2026.",
            );
            None
        }
    }
}

async fn log(
    State(app): State<AppState>,
    page: PageContext,
    _admin: Admin,
    Query(query): Query<LogQuery>,
) -> Result<LogPage, AppError> {
    let mut errors = FormErrors::default();
    let filter = Filter {
        action: ACTIONS
            .iter()
            .map(|(key, _)| *key)
            .find(|key| *key == query.action)
            .unwrap_or("")
            .to_string(),
        actor: clean_line(&query.actor, 100),
        subject: clean_line(&query.subject, 100),
        from: parse_day(&query.from, "from", &mut errors),
        until: parse_day(&query.until, "until", &mut errors),
    };
    let mut conn = app.db.acquire().await?;
    let found = audit::search(&mut conn, &filter, LIMIT + 1).await?;
    let limited = i64::try_from(found.len()).unwrap_or(i64::MAX) > LIMIT;
    let entries = found
        .into_iter()
        .take(usize::try_from(LIMIT).unwrap_or(usize::MAX))
        .map(|e| EntryView {
            at: locale::date_time(e.at),
            actor: e.actor.unwrap_or_else(|| "–".into()),
            client: e.client,
            action: action_label(&e.action),
            subject: e.subject,
            details: if e.details.as_object().is_some_and(serde_json::Map::is_empty) {
                String::new()
            } else {
                e.details.to_string()
            },
        })
        .collect();
    Ok(LogPage {
        page,
        query,
        actions: &ACTIONS,
        entries,
        limited,
        errors,
    })
}
