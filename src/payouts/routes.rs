//! The municipality's side of the payouts: the area "Auszahlungen" of an approved application,
//! the Mittelabruf form, a request's page and its withdrawal.

use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::db::{self, GrantRow, NewPayout, NewReceipt, PayoutRow};
use super::forms::{ItemInput, PayoutForm, PayoutRules, months};
use super::model::{PayoutStatus, PayoutTransition};
use super::views::{self, BalanceView, EventView, ItemView, PayoutLine, ReceiptView};
use super::workflow::{self, Acting, Input};
use crate::accounts::CurrentUser;
use crate::applications::access::owned;
use crate::applications::db::ApplicationRow;
use crate::applications::uploads;
use crate::applications::views::Header;
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::locale;
use crate::state::AppState;
use crate::validation::{FormErrors, Iban};
use crate::web::csrf::CsrfToken;
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/antraege/{id}/auszahlungen", get(grant_page).post(request))
        .route("/antraege/{id}/auszahlungen/neu", get(request_page))
        .route("/antraege/{id}/auszahlungen/{payout}", get(payout_page))
        .route(
            "/antraege/{id}/auszahlungen/{payout}/zurueckziehen",
            post(withdraw),
        )
        .route(
            "/antraege/{id}/auszahlungen/{payout}/belege",
            post(upload_receipt).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/antraege/{id}/auszahlungen/{payout}/belege/{file}",
            get(receipt),
        )
}

/// The application and its grant, for a clerk of the funded municipality. An application that
/// is not (yet) approved has no payouts: 404.
async fn owned_grant(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<(ApplicationRow, GrantRow), AppError> {
    let row = owned(conn, user, id, false).await?;
    let grant = db::grant(conn, id, lock).await?.ok_or(AppError::NotFound)?;
    Ok((row, grant))
}

#[derive(Template, WebTemplate)]
#[template(path = "payouts/grant.html")]
struct GrantPage {
    page: PageContext,
    head: Header,
    balance: BalanceView,
    retained_share: String,
    payouts: Vec<PayoutLine>,
    total: String,
    payout_href: String,
}

async fn grant_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let (row, grant) = owned_grant(&mut conn, &user, id, false).await?;
    let payouts: Vec<PayoutLine> = db::payouts_of(&mut conn, id)
        .await?
        .iter()
        .map(PayoutLine::new)
        .collect();
    Ok(GrantPage {
        page,
        head: Header::new(&row),
        balance: BalanceView::new(&grant),
        retained_share: crate::money::Rate::from_basis_points(grant.retained_bp).to_string(),
        total: views::total(&payouts),
        payouts,
        payout_href: format!("/antraege/{id}/auszahlungen/"),
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "payouts/request.html")]
struct RequestPage {
    page: PageContext,
    head: Header,
    balance: BalanceView,
    form: PayoutForm,
    rows: Vec<ItemInput>,
    application_account: String,
    window: String,
    declaration: String,
    latest_due: String,
    errors: FormErrors,
}

impl RequestPage {
    fn new(
        page: PageContext,
        row: &ApplicationRow,
        grant: &GrantRow,
        form: PayoutForm,
        errors: FormErrors,
    ) -> Self {
        let rules = rules(grant);
        RequestPage {
            page,
            head: Header::new(row),
            balance: BalanceView::new(grant),
            rows: form.rows(),
            form,
            application_account: format!("{}, {}", grant.account_holder, views::iban(&grant.iban)),
            window: months(grant.payout_window_months),
            declaration: format!(
                "Ich versichere, dass die Mittel innerhalb von {} nach der Auszahlung für fällige Zahlungen des Vorhabens benötigt werden.",
                months(grant.payout_window_months)
            ),
            latest_due: locale::day(rules.latest_due()),
            errors,
        }
    }
}

fn rules(grant: &GrantRow) -> PayoutRules {
    PayoutRules {
        balance: grant.balance(),
        window_months: grant.payout_window_months,
        today: locale::today(),
        application_account: grant
            .iban
            .parse::<Iban>()
            .ok()
            .map(|iban| (grant.account_holder.clone(), iban)),
    }
}

async fn request_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let (row, grant) = owned_grant(&mut conn, &user, id, false).await?;
    let form = PayoutForm {
        account: "application".into(),
        submission: crate::secrets::random_token(),
        ..PayoutForm::default()
    };
    Ok(RequestPage::new(page, &row, &grant, form, FormErrors::default()).into_response())
}

async fn request(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<PayoutForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    // The grant stays locked until the commit: two requests filed at once are checked against
    // the balance one after the other.
    let (row, grant) = owned_grant(&mut tx, &user, id, true).await?;
    let key = form.submission_key();
    if let Some(filed) = db::filed_with(&mut tx, id, &key).await? {
        // The same form again (a double click, a reload): it was filed once.
        tx.rollback().await?;
        return Ok(redirect_with_flash(
            &app.cookies,
            &format!("/antraege/{id}/auszahlungen/{filed}"),
            "Dieser Mittelabruf ist bereits eingereicht.",
        ));
    }
    let checked = if grant.settled {
        let mut errors = FormErrors::default();
        errors.add(
            "amount",
            "Die Zuwendung ist abgerechnet; Mittel können nicht mehr abgerufen werden.",
        );
        Err(errors)
    } else {
        form.validate(&rules(&grant))
    };
    let valid = match checked {
        Ok(v) => v,
        Err(errors) => {
            tx.rollback().await?;
            let page = RequestPage::new(page, &row, &grant, form, errors);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let account = &valid.account;
    let new = NewPayout {
        application_id: id,
        requested: valid.requested,
        account_holder: &account.holder,
        iban: account.iban.as_str(),
        account_reason: &account.reason,
        submitted_by: user.id,
        submission_key: &key,
        items: &valid.items,
    };
    let payout_id = workflow::submit(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &grant,
        Acting::applicant(&user),
        &new,
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "payout.submitted",
        Subject::Payout(payout_id),
        json!({ "application_id": id, "requested_cents": valid.requested.get(),
                "other_account": !account.reason.is_empty() }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/antraege/{id}/auszahlungen/{payout_id}"),
        "Ihr Mittelabruf ist eingereicht. Sie erhalten eine E-Mail bei jedem Bearbeitungsschritt.",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "payouts/payout.html")]
struct PayoutPage {
    page: PageContext,
    head: Header,
    payout: PayoutLine,
    approval_note: String,
    account: String,
    account_reason: String,
    items: Vec<ItemView>,
    items_total: String,
    timeline: Vec<EventView>,
    can_withdraw: bool,
    receipts: Vec<ReceiptView>,
    receipt_href: String,
    /// Receipts can be added until the request is checked.
    can_upload: bool,
    accepted: &'static str,
    max_file: String,
    errors: FormErrors,
}

/// A request of this application (404 for another application's).
async fn payout_of(
    conn: &mut sqlx::PgConnection,
    application_id: i64,
    payout_id: i64,
    lock: bool,
) -> Result<PayoutRow, AppError> {
    let payout = if lock {
        db::lock_payout(conn, payout_id).await?
    } else {
        db::payout(conn, payout_id).await?
    };
    payout
        .filter(|p| p.application_id == application_id)
        .ok_or(AppError::NotFound)
}

async fn payout_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path((id, payout_id)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let view = payout_view(
        &app,
        &mut conn,
        page,
        &user,
        id,
        payout_id,
        FormErrors::default(),
    )
    .await?;
    Ok(view.into_response())
}

async fn payout_view(
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    user: &CurrentUser,
    id: i64,
    payout_id: i64,
    errors: FormErrors,
) -> Result<PayoutPage, AppError> {
    let (row, _) = owned_grant(conn, user, id, false).await?;
    let p = payout_of(conn, id, payout_id, false).await?;
    let (items, items_total) = views::items(&db::items(conn, p.id).await?);
    let timeline = views::timeline(&db::events(conn, p.id).await?);
    Ok(PayoutPage {
        page,
        head: Header::new(&row),
        approval_note: p.approval_note.clone(),
        account: format!("{}, {}", p.account_holder, views::iban(&p.iban)),
        account_reason: p.account_reason.clone(),
        can_withdraw: PayoutTransition::Withdraw.target(p.status).is_some(),
        can_upload: p.status == PayoutStatus::Submitted,
        receipts: views::receipts(&db::receipts(conn, p.id).await?),
        receipt_href: format!("/antraege/{id}/auszahlungen/{payout_id}/belege/"),
        accepted: uploads::ACCEPTED,
        max_file: uploads::megabytes(app.config.attachment_max_bytes),
        payout: PayoutLine::new(&p),
        items,
        items_total,
        timeline,
        errors,
    })
}

async fn receipt(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((id, payout_id, file)): Path<(i64, i64, i64)>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    owned_grant(&mut conn, &user, id, false).await?;
    payout_of(&mut conn, id, payout_id, false).await?;
    views::receipt_download(&app, &mut conn, payout_id, file).await
}

async fn upload_receipt(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    csrf_token: Option<Extension<CsrfToken>>,
    Path((id, payout_id)): Path<(i64, i64)>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    // Who may upload is decided before the body is read.
    {
        let mut conn = app.db.acquire().await?;
        owned_grant(&mut conn, &user, id, false).await?;
        payout_of(&mut conn, id, payout_id, false).await?;
    }
    let multipart = multipart.map_err(|_| AppError::BadRequest)?;
    let mut form = uploads::read_form(
        &app,
        crate::audit::Actor {
            user_id: Some(user.id),
            client: &client.0,
        },
        crate::audit::Subject::Payout(payout_id),
        csrf_token.as_ref().map(|Extension(t)| t),
        multipart,
    )
    .await?;
    let mut tx = app.db.begin().await?;
    owned_grant(&mut tx, &user, id, true).await?;
    let p = payout_of(&mut tx, id, payout_id, true).await?;
    let accepted = if p.status == PayoutStatus::Submitted {
        form.accepted_file(app.config.attachment_max_bytes)
    } else {
        Err(
            "Belege können nur ergänzt werden, bis das Ministerium den Mittelabruf geprüft hat."
                .into(),
        )
    };
    let (file, kind) = match accepted {
        Ok(accepted) => accepted,
        Err(message) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("datei", message);
            let mut conn = app.db.acquire().await?;
            let view = payout_view(&app, &mut conn, page, &user, id, payout_id, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, view).into_response());
        }
    };
    let name = crate::applications::files::safe_file_name(&file.original_name, kind);
    let (size, sha256) = (file.size, file.sha256);
    let key = app
        .files
        .keep(file.upload)
        .await
        .map_err(anyhow::Error::from)?;
    let stored = async {
        let receipt = db::insert_receipt(
            &mut tx,
            &NewReceipt {
                payout_id,
                file_name: &name,
                storage_key: &key,
                content_type: kind.content_type(),
                size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
                sha256: &sha256,
                uploaded_by: user.id,
            },
        )
        .await?;
        audit::record(
            &mut tx,
            user.actor(&client),
            "payout.receipt_uploaded",
            Subject::Payout(payout_id),
            json!({ "receipt_id": receipt, "name": name, "bytes": size }),
        )
        .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = stored {
        let _ = app.files.delete(&key).await;
        return Err(e.into());
    }
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/antraege/{id}/auszahlungen/{payout_id}"),
        &format!("„{name}“ ist hochgeladen."),
    ))
}

async fn withdraw(
    State(app): State<AppState>,
    user: CurrentUser,
    client: ClientAddress,
    Path((id, payout_id)): Path<(i64, i64)>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    owned_grant(&mut tx, &user, id, true).await?;
    let p = payout_of(&mut tx, id, payout_id, true).await?;
    let back = format!("/antraege/{id}/auszahlungen/{payout_id}");
    if PayoutTransition::Withdraw.target(p.status).is_none() {
        // Checked meanwhile, or a resent form: the page says where it stands.
        tx.rollback().await?;
        let message = if p.status == PayoutStatus::Withdrawn {
            "Der Mittelabruf ist bereits zurückgezogen."
        } else {
            "Der Mittelabruf ist schon geprüft und kann nicht mehr zurückgezogen werden."
        };
        return Ok(redirect_with_flash(&app.cookies, &back, message));
    }
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &p,
        Acting::applicant(&user),
        PayoutTransition::Withdraw,
        &Input::default(),
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "payout.withdrawn",
        Subject::Payout(payout_id),
        json!({ "application_id": id }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &back,
        "Der Mittelabruf ist zurückgezogen.",
    ))
}
