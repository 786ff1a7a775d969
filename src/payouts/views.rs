//! What the payout pages show of a grant and its requests, formatted once for the clerks' and
//! the ministry's pages alike.

use super::db::{EventRow, GrantRow, Item, PayoutRow};
use super::model::PayoutStatus;
use crate::locale;
use crate::money::Cents;

/// The grant's figures, each exact to the cent. Granted = paid + pending + retained +
/// available as long as nothing of the retained part has been requested (after the proof of
/// use, issue 15); the page shows the rows and their sum.
pub struct BalanceView {
    pub granted: String,
    pub paid: String,
    pub pending: String,
    pub retained: String,
    pub available: String,
    pub available_cents: i64,
}

impl BalanceView {
    pub fn new(grant: &GrantRow) -> Self {
        let b = grant.balance();
        BalanceView {
            granted: b.granted.to_string(),
            paid: b.paid.to_string(),
            pending: b.pending.to_string(),
            retained: b.retained.to_string(),
            available: b.available().to_string(),
            // A settled grant takes no more requests (its last payment is the final one).
            available_cents: if grant.settled {
                0
            } else {
                b.available().get()
            },
        }
    }
}

/// One request in a list.
pub struct PayoutLine {
    pub id: i64,
    pub application_id: i64,
    pub number: i32,
    pub reference: String,
    pub municipality: String,
    pub round: String,
    pub submitted_at: String,
    pub requested: String,
    /// What is (to be) paid: the checked amount once there is one.
    pub amount: String,
    pub amount_cents: i64,
    pub reduced: bool,
    pub status: PayoutStatus,
    pub run: String,
    pub paid_at: String,
}

impl PayoutLine {
    pub fn new(p: &PayoutRow) -> Self {
        PayoutLine {
            id: p.id,
            application_id: p.application_id,
            number: p.number,
            reference: p.reference.clone(),
            municipality: p.municipality_name.clone(),
            round: p.round_title.clone(),
            submitted_at: locale::date(p.submitted_at),
            requested: Cents::new(p.requested_cents).to_string(),
            amount: p.amount().to_string(),
            amount_cents: p.amount().get(),
            reduced: p.amount().get() < p.requested_cents,
            status: p.status,
            run: p.run_number.clone().unwrap_or_default(),
            paid_at: p.paid_at.map(locale::date).unwrap_or_default(),
        }
    }
}

impl PayoutLine {
    /// Whether the amount counts towards the grant (on its way or paid).
    pub fn counts(&self) -> bool {
        counts(self.status)
    }
}

/// The sum of the amounts of `lines` that count (not sent back, not withdrawn).
pub fn total(lines: &[PayoutLine]) -> String {
    Cents::new(
        lines
            .iter()
            .filter(|l| counts(l.status))
            .map(|l| l.amount_cents)
            .sum(),
    )
    .to_string()
}

/// Whether a request's amount counts towards the grant (on its way or paid).
pub fn counts(status: PayoutStatus) -> bool {
    status.is_pending() || status == PayoutStatus::Paid
}

pub struct ItemView {
    pub purpose: String,
    pub payee: String,
    pub due_on: String,
    pub amount: String,
}

pub fn items(items: &[Item]) -> (Vec<ItemView>, String) {
    let views = items
        .iter()
        .map(|i| ItemView {
            purpose: i.purpose.clone(),
            payee: i.payee.clone(),
            due_on: locale::day(i.due_on),
            amount: i.amount.to_string(),
        })
        .collect();
    let sum = Cents::new(items.iter().map(|i| i.amount.get()).sum());
    (views, sum.to_string())
}

/// A receipt in a request's list.
pub struct ReceiptView {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub uploaded_at: String,
}

pub fn receipts(rows: &[super::db::ReceiptRow]) -> Vec<ReceiptView> {
    rows.iter()
        .map(|r| ReceiptView {
            id: r.id,
            name: r.file_name.clone(),
            size: crate::applications::uploads::megabytes(u64::try_from(r.size_bytes).unwrap_or(0)),
            uploaded_at: crate::locale::date_time(r.uploaded_at),
        })
        .collect()
}

/// The stored file of a request's receipt, for its download (404 for another request's).
pub async fn receipt_download(
    app: &crate::state::AppState,
    conn: &mut sqlx::PgConnection,
    payout_id: i64,
    file_id: i64,
) -> Result<axum::response::Response, crate::error::AppError> {
    use crate::applications::downloads::{StoredFile, stored_file};
    let receipt = super::db::receipts(conn, payout_id)
        .await?
        .into_iter()
        .find(|r| r.id == file_id)
        .ok_or(crate::error::AppError::NotFound)?;
    let file = StoredFile {
        key: &receipt.storage_key,
        name: &receipt.file_name,
        content_type: &receipt.content_type,
        size_bytes: receipt.size_bytes,
    };
    stored_file(app, &file, true).await
}

pub struct EventView {
    pub at: String,
    pub at_iso: String,
    pub label: &'static str,
    pub actor: String,
    pub message: String,
}

pub fn timeline(events: &[EventRow]) -> Vec<EventView> {
    events
        .iter()
        .map(|e| EventView {
            at: locale::date_time(e.at),
            at_iso: locale::iso(e.at),
            label: match e.kind.as_str() {
                "submitted" => "Mittelabruf eingereicht",
                "withdrawn" => "Zurückgezogen",
                "checked" => "Sachlich und rechnerisch richtig festgestellt",
                "ordered" => "Auszahlung angeordnet",
                "returned" => "Zurückgegeben",
                "added_to_run" => "In den Zahllauf aufgenommen",
                "paid" => "Ausgezahlt",
                _ => "Bearbeitet",
            },
            actor: e.actor.clone().unwrap_or_default(),
            message: e.message.clone(),
        })
        .collect()
}

/// The account a request pays to, in groups of four.
pub fn iban(compact: &str) -> String {
    compact
        .parse::<crate::validation::Iban>()
        .map_or_else(|_| compact.to_string(), |i| i.to_string())
}
