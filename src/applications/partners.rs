//! Partner municipalities of an application (Verbundvorhaben): adding one asks its clerks to
//! confirm by e-mail; the partnership counts once they have.

use super::db;
use super::dossier::Dossier;
use crate::error::AppError;
use crate::mail::messages::{Message, PartnerConfirmationRequest};
use crate::municipalities::db as municipalities_db;
use crate::state::AppState;

/// Adds the chosen municipality as partner and asks its clerks to confirm. Returns the error
/// message for the form when the choice is not possible.
pub async fn add(
    conn: &mut sqlx::PgConnection,
    app: &AppState,
    dossier: &Dossier,
    chosen: &str,
) -> Result<Option<String>, AppError> {
    let Ok(municipality_id) = chosen.trim().parse::<i64>() else {
        return Ok(Some("Bitte wählen Sie eine Partnerkommune aus.".into()));
    };
    if municipality_id == dossier.application.municipality_id {
        return Ok(Some(
            "Ihre Kommune ist die antragstellende Kommune und kann nicht zugleich Partner sein."
                .into(),
        ));
    }
    if !municipalities_db::exists_active(conn, municipality_id).await? {
        return Ok(Some("Bitte wählen Sie eine Kommune aus der Liste.".into()));
    }
    if !db::add_partner(conn, dossier.id(), municipality_id).await? {
        return Ok(Some("Diese Kommune ist bereits Partner.".into()));
    }
    let partner = municipalities_db::name_of(conn, municipality_id)
        .await?
        .unwrap_or_default();
    let message = Message::PartnerConfirmationRequest(PartnerConfirmationRequest {
        lead: dossier.application.municipality_name.clone(),
        partner,
        title: dossier.application.display_title(),
        link: format!("{}/antraege/{}", app.config.base_url, dossier.id()),
    });
    let clerks =
        super::workflow::recipients(crate::accounts::db::clerks_of(conn, municipality_id).await?);
    app.outbox.enqueue_to_all(conn, &clerks, &message).await?;
    Ok(None)
}
