//! SQL for programmes, categories and rounds.

use sqlx::PgConnection;
use time::OffsetDateTime;

use super::legal_texts::LegalTexts;
use super::model::{FinancingType, RoundState};

#[derive(Clone, Debug)]
pub struct ProgrammeRow {
    pub id: i64,
    pub name: String,
    pub short_name: String,
    pub legal_basis: String,
    pub description: String,
    pub eligibility: String,
}

#[derive(Clone, Debug, Default)]
pub struct ContactRow {
    pub name: String,
    pub organisation: String,
    pub address: String,
    pub phone: String,
    pub email: String,
}

#[derive(Clone, Debug)]
pub struct CategoryRow {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub description: String,
}

#[derive(Clone, Debug)]
pub struct RoundRow {
    pub id: i64,
    pub title: String,
    pub year: i32,
    pub budget_cents: i64,
    pub opens_at: OffsetDateTime,
    pub closes_at: OffsetDateTime,
    pub max_rate_bp: i32,
    pub min_grant_cents: i64,
    pub max_grant_cents: Option<i64>,
    pub financing_type: FinancingType,
    pub state: RoundState,
    /// Share of each grant retained until the proof of use, and the payout window.
    pub retained_bp: i32,
    pub payout_window_months: i32,
    /// How far a cost item may move without a decision; when the proof of use is due.
    pub change_shift_bp: i32,
    pub proof_due_months: i32,
    /// Codes and titles of the round's open categories, in programme order.
    pub categories: Vec<String>,
    pub category_titles: Vec<String>,
    /// The documents asked for, optional ones marked "(optional)".
    pub attachments: Vec<String>,
    /// The Nebenbestimmungen a decision in this round proposes by default.
    pub conditions_template: String,
}

/// The columns of [`RoundRow`] from the view `round_rows` (the round with its categories and
/// documents). A view's columns are all nullable to the query macros, hence the `!`.
macro_rules! round_row {
    ($($rest:tt)*) => {
        sqlx::query_as!(
            RoundRow,
            r#"SELECT r.id AS "id!", r.title AS "title!", r.year AS "year!",
                      r.budget_cents AS "budget_cents!", r.opens_at AS "opens_at!",
                      r.closes_at AS "closes_at!", r.max_rate_bp AS "max_rate_bp!",
                      r.min_grant_cents AS "min_grant_cents!", r.max_grant_cents,
                      r.financing_type AS "financing_type!: FinancingType", r.state AS "state!: RoundState",
                      r.retained_bp AS "retained_bp!", r.payout_window_months AS "payout_window_months!",
                      r.change_shift_bp AS "change_shift_bp!", r.proof_due_months AS "proof_due_months!",
                      r.conditions_template AS "conditions_template!",
                      r.categories AS "categories!", r.category_titles AS "category_titles!",
                      r.attachments AS "attachments!"
               FROM round_rows r "# + $($rest)*
        )
    };
}

/// The programme the portal presents (the first one created: ThürEGovRL).
pub async fn main_programme(conn: &mut PgConnection) -> sqlx::Result<Option<ProgrammeRow>> {
    sqlx::query_as!(
        ProgrammeRow,
        "SELECT id, name, short_name, legal_basis, description, eligibility FROM programmes ORDER BY id LIMIT 1",
    )
    .fetch_optional(conn)
    .await
}

pub async fn programme_id_by_short_name(
    conn: &mut PgConnection,
    short_name: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM programmes WHERE short_name = $1",
        short_name
    )
    .fetch_optional(conn)
    .await
}

pub async fn contacts(conn: &mut PgConnection, programme_id: i64) -> sqlx::Result<Vec<ContactRow>> {
    sqlx::query_as!(
        ContactRow,
        "SELECT name, organisation, address, phone, email FROM programme_contacts
         WHERE programme_id = $1 ORDER BY position, id",
        programme_id,
    )
    .fetch_all(conn)
    .await
}

pub async fn active_categories(
    conn: &mut PgConnection,
    programme_id: i64,
) -> sqlx::Result<Vec<CategoryRow>> {
    sqlx::query_as!(
        CategoryRow,
        "SELECT id, code, title, description FROM categories
         WHERE programme_id = $1 AND NOT retired ORDER BY position, code",
        programme_id,
    )
    .fetch_all(conn)
    .await
}

/// Published and closed rounds of a programme, the ones still accepting applications first.
pub async fn public_rounds(
    conn: &mut PgConnection,
    programme_id: i64,
) -> sqlx::Result<Vec<RoundRow>> {
    rounds_in(
        conn,
        programme_id,
        &[RoundState::Published, RoundState::Closed],
    )
    .await
}

/// Every round of the programme, drafts too (for the admins).
pub async fn all_rounds(conn: &mut PgConnection, programme_id: i64) -> sqlx::Result<Vec<RoundRow>> {
    rounds_in(conn, programme_id, &RoundState::ALL).await
}

// The round columns (with the open categories and the documents asked for) are written out in
// both queries below: the macros need one literal string, so they cannot share a constant.
async fn rounds_in(
    conn: &mut PgConnection,
    programme_id: i64,
    states: &[RoundState],
) -> sqlx::Result<Vec<RoundRow>> {
    round_row!(
        "WHERE r.programme_id = $1 AND r.state = ANY($2)
         ORDER BY (r.state = $3 AND r.closes_at > now()) DESC, r.closes_at DESC",
        programme_id,
        states as _,
        RoundState::Published as _,
    )
    .fetch_all(conn)
    .await
}

pub async fn find_round(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<RoundRow>> {
    round_row!("WHERE r.id = $1", id).fetch_optional(conn).await
}

/// The round's fields as an admin sets them; categories by code.
pub async fn update_round(conn: &mut PgConnection, id: i64, r: &NewRound<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE rounds SET title = $2, year = $3, budget_cents = $4, opens_at = $5, closes_at = $6, max_rate_bp = $7,
                min_grant_cents = $8, max_grant_cents = $9, financing_type = $10,
                retained_bp = $11, payout_window_months = $12, change_shift_bp = $13,
                proof_due_months = $14, updated_at = now()
         WHERE id = $1",
        id,
        r.title,
        r.year,
        r.budget_cents,
        r.opens_at,
        r.closes_at,
        r.max_rate_bp,
        r.min_grant_cents,
        r.max_grant_cents,
        r.financing_type as _,
        r.retained_bp,
        r.payout_window_months,
        r.change_shift_bp,
        r.proof_due_months,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM round_categories WHERE round_id = $1", id)
        .execute(&mut *conn)
        .await?;
    set_conditions(conn, id, r.conditions_template).await?;
    set_round_categories(conn, id, r.programme_id, r.category_codes).await
}

async fn set_round_categories(
    conn: &mut PgConnection,
    id: i64,
    programme_id: i64,
    codes: &[&str],
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO round_categories (round_id, category_id)
         SELECT $1, id FROM categories WHERE programme_id = $2 AND code = ANY($3)",
        id,
        programme_id,
        // The macro checks text[] against Vec<String>; a slice of &str encodes the same.
        codes as _,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a round to another state; `false` if it was not in `from`.
pub async fn set_round_state(
    conn: &mut PgConnection,
    id: i64,
    from: RoundState,
    to: RoundState,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE rounds SET state = $3, updated_at = now() WHERE id = $1 AND state = $2",
        id,
        from as _,
        to as _,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub struct NewRound<'a> {
    pub programme_id: i64,
    pub title: &'a str,
    pub year: i32,
    pub budget_cents: i64,
    pub opens_at: OffsetDateTime,
    pub closes_at: OffsetDateTime,
    pub max_rate_bp: i32,
    pub min_grant_cents: i64,
    pub max_grant_cents: Option<i64>,
    pub financing_type: FinancingType,
    pub state: RoundState,
    pub retained_bp: i32,
    pub payout_window_months: i32,
    pub change_shift_bp: i32,
    pub proof_due_months: i32,
    pub category_codes: &'a [&'a str],
    /// `None` keeps the current (or, for a new round, the standard) Nebenbestimmungen.
    pub conditions_template: Option<&'a str>,
}

pub async fn insert_round(conn: &mut PgConnection, r: NewRound<'_>) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar!(
        "INSERT INTO rounds (programme_id, title, year, budget_cents, opens_at, closes_at, max_rate_bp,
                             min_grant_cents, max_grant_cents, financing_type, state,
                             retained_bp, payout_window_months, change_shift_bp, proof_due_months)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        r.programme_id,
        r.title,
        r.year,
        r.budget_cents,
        r.opens_at,
        r.closes_at,
        r.max_rate_bp,
        r.min_grant_cents,
        r.max_grant_cents,
        r.financing_type as _,
        r.state as _,
        r.retained_bp,
        r.payout_window_months,
        r.change_shift_bp,
        r.proof_due_months,
    )
    .fetch_one(&mut *conn)
    .await?;
    set_round_categories(conn, id, r.programme_id, r.category_codes).await?;
    set_conditions(conn, id, r.conditions_template).await?;
    Ok(id)
}

async fn set_conditions(conn: &mut PgConnection, id: i64, text: Option<&str>) -> sqlx::Result<()> {
    if let Some(text) = text {
        sqlx::query!(
            "UPDATE rounds SET conditions_template = $2 WHERE id = $1",
            id,
            text,
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

pub async fn count_rounds(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM rounds"#)
        .fetch_one(conn)
        .await
}

/// One Haushaltsjahr of a round's budget.
#[derive(Clone, Debug, Default)]
pub struct BudgetYearRow {
    pub round_id: i64,
    pub year: i32,
    pub budget_cents: i64,
    pub committed_cents: i64,
    pub paid_cents: i64,
}

/// The budget years of the rounds given (all rounds when empty), in year order.
pub async fn budget_years(
    conn: &mut PgConnection,
    round_ids: &[i64],
) -> sqlx::Result<Vec<BudgetYearRow>> {
    sqlx::query_as!(
        BudgetYearRow,
        "SELECT round_id, year, budget_cents, committed_cents, paid_cents FROM round_budget_years
         WHERE cardinality($1::bigint[]) = 0 OR round_id = ANY($1)
         ORDER BY round_id, year",
        round_ids
    )
    .fetch_all(conn)
    .await
}

/// The Haushaltsjahre of a round's budget, in order.
pub async fn budget_year_numbers(conn: &mut PgConnection, round_id: i64) -> sqlx::Result<Vec<i32>> {
    sqlx::query_scalar!(
        "SELECT year FROM round_budget_years WHERE round_id = $1 ORDER BY year",
        round_id
    )
    .fetch_all(conn)
    .await
}

/// Sets a round's split by year. Refused (nothing changed) with the first year whose
/// commitments the new split would not cover: `Err((year, committed))`.
pub async fn set_budget_years(
    conn: &mut PgConnection,
    round_id: i64,
    split: &[(i32, crate::money::Cents)],
) -> sqlx::Result<Result<(), (i32, i64)>> {
    let years: Vec<i32> = split.iter().map(|(y, _)| *y).collect();
    let budgets: Vec<i64> = split.iter().map(|(_, c)| c.get()).collect();
    let short = sqlx::query!(
        r#"SELECT y.year, y.committed_cents FROM round_budget_years y
           LEFT JOIN unnest($2::int[], $3::bigint[]) AS s(year, budget) ON s.year = y.year
           WHERE y.round_id = $1 AND y.committed_cents > coalesce(s.budget, 0)
           ORDER BY y.year LIMIT 1"#,
        round_id,
        &years,
        &budgets,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(short) = short {
        return Ok(Err((short.year, short.committed_cents)));
    }
    sqlx::query!(
        "DELETE FROM round_budget_years WHERE round_id = $1 AND year <> ALL($2) AND committed_cents = 0",
        round_id,
        &years,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO round_budget_years (round_id, year, budget_cents)
         SELECT $1, year, budget FROM unnest($2::int[], $3::bigint[]) AS s(year, budget)
         ON CONFLICT (round_id, year) DO UPDATE SET budget_cents = excluded.budget_cents",
        round_id,
        &years,
        &budgets,
    )
    .execute(conn)
    .await?;
    Ok(Ok(()))
}

/// The account a programme pays from.
#[derive(Clone, Debug)]
pub struct DebtorRow {
    pub programme_id: i64,
    pub programme_name: String,
    pub debtor_name: String,
    pub debtor_iban: String,
    pub debtor_bic: String,
}

pub async fn debtor_accounts(conn: &mut PgConnection) -> sqlx::Result<Vec<DebtorRow>> {
    sqlx::query_as!(
        DebtorRow,
        "SELECT id AS programme_id, short_name AS programme_name, debtor_name, debtor_iban, debtor_bic
         FROM programmes ORDER BY id"
    )
    .fetch_all(conn)
    .await
}

/// Sets the account a programme pays from (IBAN and BIC compact, BIC may be empty).
pub async fn save_debtor_account(
    conn: &mut PgConnection,
    programme_id: i64,
    name: &str,
    iban: &str,
    bic: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE programmes SET debtor_name = $2, debtor_iban = $3, debtor_bic = $4, updated_at = now()
         WHERE id = $1",
        programme_id,
        name,
        iban,
        bic,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Applications of a round that were started but never submitted (they have no Aktenzeichen).
pub async fn unsubmitted_in_round(conn: &mut PgConnection, round_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM applications WHERE round_id = $1 AND reference IS NULL"#,
        round_id
    )
    .fetch_one(conn)
    .await
}

/// The programme's own texts as admins edit them.
pub async fn update_programme(conn: &mut PgConnection, p: &ProgrammeRow) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        "UPDATE programmes SET name = $2, short_name = $3, legal_basis = $4, description = $5, eligibility = $6,
                updated_at = now()
         WHERE id = $1",
        p.id,
        p.name,
        p.short_name,
        p.legal_basis,
        p.description,
        p.eligibility,
    )
    .execute(conn)
    .await;
    crate::database::ok_unless_taken(result)
}

/// The first contact (the one the start page, the legal pages and the mail footer name).
pub async fn save_main_contact(
    conn: &mut PgConnection,
    programme_id: i64,
    c: &ContactRow,
) -> sqlx::Result<()> {
    let updated = sqlx::query!(
        "UPDATE programme_contacts SET name = $2, organisation = $3, address = $4, phone = $5, email = $6
         WHERE id = (SELECT id FROM programme_contacts WHERE programme_id = $1 ORDER BY position, id LIMIT 1)",
        programme_id,
        c.name,
        c.organisation,
        c.address,
        c.phone,
        c.email,
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query!(
            "INSERT INTO programme_contacts (programme_id, name, organisation, address, phone, email, position)
             VALUES ($1, $2, $3, $4, $5, $6, 1)",
            programme_id,
            c.name,
            c.organisation,
            c.address,
            c.phone,
            c.email,
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// All categories of the programme, retired ones too.
pub async fn all_categories(
    conn: &mut PgConnection,
    programme_id: i64,
) -> sqlx::Result<Vec<CategoryAdminRow>> {
    sqlx::query_as!(
        CategoryAdminRow,
        r#"SELECT c.id, c.code, c.title, c.description, c.retired,
                  EXISTS (SELECT 1 FROM round_categories rc WHERE rc.category_id = c.id) AS "in_use!"
           FROM categories c WHERE c.programme_id = $1 ORDER BY c.position, c.code"#,
        programme_id,
    )
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug)]
pub struct CategoryAdminRow {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub description: String,
    pub retired: bool,
    /// A round opens it: it can be retired but not deleted.
    pub in_use: bool,
}

/// Inserts (`id` None) or updates a category; `Ok(false)` when the code is taken.
pub async fn save_category(
    conn: &mut PgConnection,
    programme_id: i64,
    id: Option<i64>,
    c: &CategoryAdminRow,
) -> sqlx::Result<bool> {
    let result = match id {
        Some(id) => {
            sqlx::query!(
                "UPDATE categories SET code = $3, title = $4, description = $5, retired = $6 WHERE id = $1 AND programme_id = $2",
                id,
                programme_id,
                c.code,
                c.title,
                c.description,
                c.retired,
            )
            .execute(conn)
            .await
        }
        None => {
            sqlx::query!(
                "INSERT INTO categories (programme_id, code, title, description, retired, position)
                 SELECT $1, $2, $3, $4, $5, coalesce(max(position), 0) + 1 FROM categories WHERE programme_id = $1",
                programme_id,
                c.code,
                c.title,
                c.description,
                c.retired,
            )
            .execute(conn)
            .await
        }
    };
    crate::database::ok_unless_taken(result)
}

/// Deletes a category no round uses; `false` if one does (then it can only be retired).
pub async fn delete_unused_category(
    conn: &mut PgConnection,
    programme_id: i64,
    id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM categories c WHERE c.id = $1 AND c.programme_id = $2
         AND NOT EXISTS (SELECT 1 FROM round_categories rc WHERE rc.category_id = c.id)",
        id,
        programme_id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A document type a round asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentType {
    pub name: String,
    pub required: bool,
}

pub async fn attachment_types(
    conn: &mut PgConnection,
    round_id: i64,
) -> sqlx::Result<Vec<AttachmentType>> {
    sqlx::query_as!(
        AttachmentType,
        "SELECT name, required FROM round_attachment_types WHERE round_id = $1 ORDER BY position",
        round_id,
    )
    .fetch_all(conn)
    .await
}

/// Sets the round's document types. Types are kept by name, so files already uploaded for a
/// type stay attached to it; a removed type's files become additional documents.
pub async fn set_attachment_types(
    conn: &mut PgConnection,
    round_id: i64,
    types: &[AttachmentType],
) -> sqlx::Result<()> {
    let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
    sqlx::query!(
        "DELETE FROM round_attachment_types WHERE round_id = $1 AND name <> ALL($2)",
        round_id,
        // The macro checks text[] against Vec<String>; the borrowed names encode the same.
        &names as _,
    )
    .execute(&mut *conn)
    .await?;
    for (position, t) in types.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO round_attachment_types (round_id, position, name, required) VALUES ($1, $2, $3, $4)
             ON CONFLICT (round_id, name) DO UPDATE SET position = excluded.position, required = excluded.required",
            round_id,
            i32::try_from(position).unwrap_or(i32::MAX),
            t.name,
            t.required,
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// How many submitted applications of the round (not drafts, not withdrawn) would break the
/// round's new rules: submitted outside the new window, a grant above the new rate or caps, or a
/// category no longer open. (Read straight from the applications table, through the schema's
/// `application_is_submitted`: this layer does not import the applications feature.)
pub async fn submissions_broken_by(
    conn: &mut PgConnection,
    id: i64,
    r: &NewRound<'_>,
) -> sqlx::Result<i64> {
    // $4 is cast to integer because Postgres would infer numeric from the product, a type this
    // crate has no Rust mapping for; the value was always sent as an integer.
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM applications a
           WHERE a.round_id = $1 AND application_is_submitted(a.status)
             AND (a.submitted_at < $2 OR a.submitted_at > $3
                  OR a.requested_grant_cents::numeric * 10000 > a.eligible_cost_cents::numeric * $4::integer
                  OR a.requested_grant_cents < $5
                  OR a.requested_grant_cents > coalesce($6, a.requested_grant_cents)
                  OR a.category_code <> ALL($7))"#,
        id,
        r.opens_at,
        r.closes_at,
        r.max_rate_bp,
        r.min_grant_cents,
        r.max_grant_cents,
        r.category_codes as _,
    )
    .fetch_one(conn)
    .await
}

/// The sum of the grants approved in the round (in cents).
pub async fn granted_total(conn: &mut PgConnection, id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!("SELECT granted_cents FROM rounds WHERE id = $1", id)
        .fetch_one(conn)
        .await
}

/// The main programme's legal texts; all empty where none are stored.
pub async fn legal_texts(conn: &mut PgConnection) -> sqlx::Result<LegalTexts> {
    let texts = sqlx::query_as!(
        LegalTexts,
        "SELECT t.letterhead, t.legal_remedy, t.standard_conditions, t.signature_line,
                t.publisher, t.represented_by, t.responsible_unit, t.content_responsible,
                t.vat_id, t.hosting_provider, t.dpo_contact, t.account_retention,
                t.record_retention
         FROM programme_legal_texts t
         WHERE t.programme_id = (SELECT id FROM programmes ORDER BY id LIMIT 1)"
    )
    .fetch_optional(conn)
    .await?;
    Ok(texts.unwrap_or_default())
}

pub async fn save_legal_texts(
    conn: &mut PgConnection,
    programme_id: i64,
    t: &LegalTexts,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO programme_legal_texts (programme_id, letterhead, legal_remedy,
             standard_conditions, signature_line, publisher, represented_by, responsible_unit,
             content_responsible, vat_id, hosting_provider, dpo_contact, account_retention,
             record_retention)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (programme_id) DO UPDATE SET
             letterhead = EXCLUDED.letterhead, legal_remedy = EXCLUDED.legal_remedy,
             standard_conditions = EXCLUDED.standard_conditions,
             signature_line = EXCLUDED.signature_line, publisher = EXCLUDED.publisher,
             represented_by = EXCLUDED.represented_by,
             responsible_unit = EXCLUDED.responsible_unit,
             content_responsible = EXCLUDED.content_responsible, vat_id = EXCLUDED.vat_id,
             hosting_provider = EXCLUDED.hosting_provider, dpo_contact = EXCLUDED.dpo_contact,
             account_retention = EXCLUDED.account_retention,
             record_retention = EXCLUDED.record_retention, updated_at = now()",
        programme_id,
        t.letterhead,
        t.legal_remedy,
        t.standard_conditions,
        t.signature_line,
        t.publisher,
        t.represented_by,
        t.responsible_unit,
        t.content_responsible,
        t.vat_id,
        t.hosting_provider,
        t.dpo_contact,
        t.account_retention,
        t.record_retention,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The Basiszinssatz as known (valid from, basis points) and the programme's margin.
pub async fn interest_rules(
    conn: &mut PgConnection,
) -> sqlx::Result<(Vec<(time::Date, i32)>, i32)> {
    let rates = sqlx::query!("SELECT valid_from, rate_bp FROM base_rates ORDER BY valid_from")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.valid_from, r.rate_bp))
        .collect();
    let margin =
        sqlx::query_scalar!("SELECT interest_margin_bp FROM programmes ORDER BY id LIMIT 1")
            .fetch_optional(conn)
            .await?
            .unwrap_or(500);
    Ok((rates, margin))
}

/// Sets the programme's interest margin and replaces the list of base rates.
pub async fn save_interest_rules(
    conn: &mut PgConnection,
    programme_id: i64,
    margin_bp: i32,
    rates: &[(time::Date, i32)],
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE programmes SET interest_margin_bp = $2 WHERE id = $1",
        programme_id,
        margin_bp
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM base_rates")
        .execute(&mut *conn)
        .await?;
    let days: Vec<time::Date> = rates.iter().map(|(d, _)| *d).collect();
    let bps: Vec<i32> = rates.iter().map(|(_, bp)| *bp).collect();
    sqlx::query!(
        "INSERT INTO base_rates (valid_from, rate_bp) SELECT * FROM unnest($1::date[], $2::int[])",
        &days,
        &bps,
    )
    .execute(conn)
    .await?;
    Ok(())
}
