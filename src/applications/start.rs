//! Starting an application in an open round: empty, or prefilled with answers given elsewhere
//! (a Projektskizze) as if the clerk had typed and saved them, its partners asked to confirm.

use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::db;
use super::dossier::Dossier;
use super::forms::Answers;
use super::model::Section;
use super::partners;
use crate::audit::{self, Actor, Subject};
use crate::error::AppError;
use crate::programmes::db as programmes_db;
use crate::programmes::model::RoundState;
use crate::programmes::summary::RoundSummary;
use crate::state::AppState;

/// What the new application starts with.
#[derive(Default)]
pub struct Prefill {
    pub answers: Vec<(Section, Answers)>,
    /// Municipalities to ask to take part.
    pub partners: Vec<i64>,
}

/// Who starts it, for whom.
pub struct Starter<'a> {
    pub user_id: i64,
    pub municipality_id: i64,
    pub actor: Actor<'a>,
}

/// The new application's id; `None` when the round takes no applications now. Unknown and
/// unpublished rounds are not found.
pub async fn start(
    conn: &mut PgConnection,
    app: &AppState,
    starter: &Starter<'_>,
    round_id: i64,
    prefill: &Prefill,
) -> Result<Option<i64>, AppError> {
    let round = programmes_db::find_round(conn, round_id)
        .await?
        .filter(|r| r.state != RoundState::Draft)
        .ok_or(AppError::NotFound)?;
    if !RoundSummary::new(round, OffsetDateTime::now_utc()).is_open() {
        return Ok(None);
    }
    let id = db::create(conn, round_id, starter.municipality_id, starter.user_id).await?;
    for (section, answers) in &prefill.answers {
        db::save_section(conn, id, *section, answers, 0, starter.user_id).await?;
    }
    if !prefill.answers.is_empty() || !prefill.partners.is_empty() {
        let row = db::find(conn, id).await?.ok_or(AppError::NotFound)?;
        let dossier = Dossier::load(conn, row).await?;
        if let Some((section, answers)) = prefill.answers.first() {
            let (_, plan) = dossier.check_answers(*section, answers);
            dossier
                .update_summary(conn, *section, answers, plan.as_ref())
                .await?;
        }
        for partner in &prefill.partners {
            // A partner no longer in the directory is left out; the clerk sees who is asked.
            partners::add(conn, app, &dossier, &partner.to_string()).await?;
        }
    }
    audit::record(
        conn,
        Actor { ..starter.actor },
        "application.created",
        Subject::Application(id),
        json!({ "round_id": round_id, "prefilled": !prefill.answers.is_empty() }),
    )
    .await?;
    Ok(Some(id))
}

/// The rounds of the main programme that take applications now.
pub async fn open_rounds(conn: &mut sqlx::PgConnection) -> Result<Vec<RoundSummary>, AppError> {
    let Some(programme) = programmes_db::main_programme(conn).await? else {
        return Ok(Vec::new());
    };
    let now = OffsetDateTime::now_utc();
    Ok(programmes_db::public_rounds(conn, programme.id)
        .await?
        .into_iter()
        .map(|r| RoundSummary::new(r, now))
        .filter(RoundSummary::is_open)
        .collect())
}
