//! The municipality's side of the proof of use: its task list with the due date, the
//! Sachbericht, the Belegliste (typed or imported from a CSV file) with the numerical proof,
//! financing and declarations, attachments, the check page and the submission, and the
//! Schlussbescheid once the grant is settled.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::json;

use super::db::{self, ProofRow, ReceiptRow};
use super::forms::{FinancingForm, REPORT_FIELDS, ReportForm, problems, section_status};
use super::model::{NumericalProof, ProofSection, ProofStatus, Receipt, due_on};
use super::receipts::{self, ImportError, ReceiptInput, ReceiptRules};
use super::views::{NumericalView, ReceiptLine, SettlementView, receipt_lines, timeline};
use super::workflow::{self, About, ProofTransition};
use crate::accounts::CurrentUser;
use crate::amendments::access::owned_grant;
use crate::amendments::db::GrantTerms;
use crate::applications::db::ApplicationRow;
use crate::applications::model::SectionStatus;
use crate::applications::views::Header;
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::locale;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::csrf::CsrfToken;
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/antraege/{id}/verwendungsnachweis", get(overview))
        .route(
            "/antraege/{id}/verwendungsnachweis/sachbericht",
            get(report_page).post(save_report),
        )
        .route(
            "/antraege/{id}/verwendungsnachweis/belege",
            get(receipts_page).post(add_receipt),
        )
        .route(
            "/antraege/{id}/verwendungsnachweis/belege/import",
            post(import_receipts)
                .layer(DefaultBodyLimit::max(receipts::MAX_FILE_BYTES + 64 * 1024)),
        )
        .route(
            "/antraege/{id}/verwendungsnachweis/belege/{receipt}/loeschen",
            post(delete_receipt),
        )
        .route(
            "/antraege/{id}/verwendungsnachweis/finanzierung",
            get(financing_page).post(save_financing),
        )
        .route(
            "/antraege/{id}/verwendungsnachweis/anlagen",
            get(attachments_page)
                .post(upload_attachment)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route(
            "/antraege/{id}/verwendungsnachweis/anlagen/{file}",
            get(attachment),
        )
        .route(
            "/antraege/{id}/verwendungsnachweis/pruefen",
            get(check_page).post(submit),
        )
        .route("/antraege/{id}/schlussbescheid.pdf", get(final_notice))
}

/// The grant and its proof (if begun), for the funded municipality.
pub(super) struct Grant {
    pub row: ApplicationRow,
    pub terms: GrantTerms,
    pub proof: Option<ProofRow>,
}

impl Grant {
    pub fn due_on(&self, months: i32) -> time::Date {
        due_on(self.terms.period_end, months)
    }

    /// The plan in force, read only by the pages that show or check receipts (it needs the
    /// application's answers).
    async fn plan(
        &self,
        conn: &mut sqlx::PgConnection,
    ) -> Result<Vec<crate::amendments::model::PlanRow>, AppError> {
        Ok(crate::amendments::db::plan_in_force(conn, &self.row)
            .await?
            .0)
    }

    /// What a receipt is checked against, for a plan of `positions` items.
    pub fn rules(&self, positions: usize) -> ReceiptRules {
        ReceiptRules {
            positions: i32::try_from(positions).unwrap_or(i32::MAX),
            period_start: self.terms.period_start,
            today: locale::today(),
        }
    }

    fn about(&self) -> About<'_> {
        About {
            reference: &self.terms.reference,
            title: &self.terms.title,
            municipality_id: self.terms.municipality_id,
            application_id: self.terms.application_id,
        }
    }
}

async fn grant(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    id: i64,
    lock: bool,
) -> Result<Grant, AppError> {
    let (row, terms) = owned_grant(conn, user, id, lock).await?;
    let proof = db::of_application(conn, id).await?;
    Ok(Grant { row, terms, proof })
}

/// The proof to change, begun if need be; refused (the German reason) once submitted.
async fn editable(
    conn: &mut sqlx::PgConnection,
    g: &Grant,
    user: &CurrentUser,
) -> Result<Result<ProofRow, &'static str>, AppError> {
    let proof = db::begin(conn, g.row.id, user.id).await?;
    if proof.status.is_editable() {
        Ok(Ok(proof))
    } else {
        Ok(Err(
            "Der Verwendungsnachweis ist eingereicht; ändern können Sie ihn erst wieder, wenn das Ministerium Ergänzungen anfordert.",
        ))
    }
}

fn proof_href(id: i64, section: &str) -> String {
    if section.is_empty() {
        format!("/antraege/{id}/verwendungsnachweis")
    } else {
        format!("/antraege/{id}/verwendungsnachweis/{section}")
    }
}

pub struct TaskView {
    pub title: &'static str,
    pub href: String,
    pub status: SectionStatus,
}

#[derive(Template, WebTemplate)]
#[template(path = "proofs/overview.html")]
struct OverviewPage {
    page: PageContext,
    head: Header,
    status: ProofStatus,
    due: String,
    overdue: bool,
    period: String,
    tasks: Vec<TaskView>,
    editable: bool,
    request_message: String,
    settlement: Option<SettlementView>,
    timeline: Vec<super::views::EventView>,
}

async fn overview(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let g = grant(&mut conn, &user, id, false).await?;
    let months = proof_due_months(&mut conn, g.terms.round_id).await?;
    let receipts = match &g.proof {
        Some(p) => db::receipts(&mut conn, p.id).await?.len(),
        None => 0,
    };
    let (settlement, events) = match &g.proof {
        Some(p) => {
            let settlement = match db::settlement(&mut conn, p.id).await? {
                Some(s) if s.has_notice => {
                    let interest = db::settlement_interest(&mut conn, s.id).await?;
                    Some(SettlementView::new(&s, &interest))
                }
                _ => None,
            };
            (settlement, db::events(&mut conn, p.id).await?)
        }
        None => (None, Vec::new()),
    };
    let status = g.proof.as_ref().map_or(ProofStatus::Draft, |p| p.status);
    let due = g.due_on(months);
    Ok(OverviewPage {
        page,
        head: Header::new(&g.row),
        status,
        due: locale::day(due),
        overdue: !matches!(status, ProofStatus::Submitted | ProofStatus::Settled)
            && due < locale::today(),
        period: locale::period(Some(g.terms.period_start), Some(g.terms.period_end)),
        tasks: ProofSection::ALL
            .iter()
            .map(|s| TaskView {
                title: s.title(),
                href: proof_href(id, s.slug()),
                status: section_status(g.proof.as_ref(), receipts, *s),
            })
            .collect(),
        editable: status.is_editable(),
        request_message: g
            .proof
            .as_ref()
            .filter(|p| p.status == ProofStatus::ChangesRequested)
            .map(|p| p.request_message.clone())
            .unwrap_or_default(),
        settlement,
        timeline: timeline(&events, false),
    }
    .into_response())
}

pub(super) async fn proof_due_months(
    conn: &mut sqlx::PgConnection,
    round_id: i64,
) -> Result<i32, AppError> {
    Ok(crate::programmes::db::find_round(conn, round_id)
        .await?
        .map_or(6, |r| r.proof_due_months))
}

#[derive(Template, WebTemplate)]
#[template(path = "proofs/report.html")]
struct ReportPage {
    page: PageContext,
    head: Header,
    form: ReportForm,
    fields: &'static [(&'static str, &'static str, &'static str)],
    editable: bool,
    errors: FormErrors,
}

async fn report_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let g = grant(&mut conn, &user, id, false).await?;
    Ok(ReportPage {
        page,
        head: Header::new(&g.row),
        form: g.proof.as_ref().map(ReportForm::of).unwrap_or_default(),
        fields: &REPORT_FIELDS,
        editable: g.proof.as_ref().is_none_or(|p| p.status.is_editable()),
        errors: FormErrors::default(),
    }
    .into_response())
}

/// Answers the page again with a problem, keeping what was typed.
fn refused<T: IntoResponse>(status: StatusCode, page: T) -> Response {
    (status, page).into_response()
}

async fn save_report(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<ReportForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let g = grant(&mut tx, &user, id, true).await?;
    let page_with = |errors: FormErrors, form: ReportForm| ReportPage {
        page,
        head: Header::new(&g.row),
        form,
        fields: &REPORT_FIELDS,
        editable: true,
        errors,
    };
    let proof = match editable(&mut tx, &g, &user).await? {
        Ok(p) => p,
        Err(refusal) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("work_done", refusal);
            return Ok(refused(StatusCode::CONFLICT, page_with(errors, form)));
        }
    };
    let cleaned = match form.cleaned() {
        Ok(c) => c,
        Err(errors) => {
            tx.rollback().await?;
            return Ok(refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                page_with(errors, form),
            ));
        }
    };
    db::save_report(
        &mut tx,
        proof.id,
        &db::Report {
            work_done: &cleaned.work_done,
            results: &cleaned.results,
            deviations: &cleaned.deviations,
            reuse_users: &cleaned.reuse_users,
            reuse_howto: &cleaned.reuse_howto,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &proof_href(id, ""),
        "Der Sachbericht ist gespeichert.",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "proofs/receipts.html")]
struct ReceiptsPage {
    page: PageContext,
    head: Header,
    numbers: NumericalView,
    receipts: Vec<ReceiptLine>,
    total: String,
    positions: Vec<(i32, String)>,
    form: ReceiptInput,
    editable: bool,
    /// Where a receipt's delete form posts (its id and "/loeschen" follow); empty: none.
    delete: String,
    rejected: Vec<receipts::RejectedRow>,
    errors: FormErrors,
}

async fn receipts_view(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    g: &Grant,
    form: ReceiptInput,
    errors: FormErrors,
    rejected: Vec<receipts::RejectedRow>,
) -> Result<ReceiptsPage, AppError> {
    let rows: Vec<ReceiptRow> = match &g.proof {
        Some(p) => db::receipts(conn, p.id).await?,
        None => Vec::new(),
    };
    let listed: Vec<Receipt> = rows.iter().map(|r| r.receipt.clone()).collect();
    let numbers = NumericalView::new(&NumericalProof::new(&g.plan(conn).await?, &listed));
    let (receipts, total) = receipt_lines(&rows);
    let editable = g.proof.as_ref().is_none_or(|p| p.status.is_editable());
    Ok(ReceiptsPage {
        page,
        head: Header::new(&g.row),
        positions: numbers
            .items
            .iter()
            .map(|i| (i.position, i.label.clone()))
            .collect(),
        numbers,
        receipts,
        total,
        form,
        editable,
        delete: if editable {
            proof_href(g.row.id, "belege/")
        } else {
            String::new()
        },
        rejected,
        errors,
    })
}

async fn receipts_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let g = grant(&mut conn, &user, id, false).await?;
    let view = receipts_view(
        &mut conn,
        page,
        &g,
        ReceiptInput::default(),
        FormErrors::default(),
        Vec::new(),
    )
    .await?;
    Ok(view.into_response())
}

async fn add_receipt(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<ReceiptInput>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let g = grant(&mut tx, &user, id, true).await?;
    let checked = match editable(&mut tx, &g, &user).await? {
        Ok(proof) => form
            .check(&g.rules(g.plan(&mut tx).await?.len()))
            .map(|r| (proof, r))
            .map_err(|problems| {
                let mut errors = FormErrors::default();
                for (field, message) in problems {
                    errors.add(field, message);
                }
                (StatusCode::UNPROCESSABLE_ENTITY, errors)
            }),
        Err(refusal) => {
            let mut errors = FormErrors::default();
            errors.add("paid_on", refusal);
            Err((StatusCode::CONFLICT, errors))
        }
    };
    let (proof, receipt) = match checked {
        Ok(ok) => ok,
        Err((status, errors)) => {
            tx.rollback().await?;
            let mut conn = app.db.acquire().await?;
            let view = receipts_view(&mut conn, page, &g, form, errors, Vec::new()).await?;
            return Ok(refused(status, view));
        }
    };
    db::add_receipts(&mut tx, proof.id, &[receipt]).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &proof_href(id, "belege"),
        "Der Beleg ist erfasst.",
    ))
}

/// Reads the import form: its token first, then the file (`datei`) into memory, at most the
/// import's limit (a larger one is refused without being kept).
async fn read_csv(
    csrf_token: Option<&CsrfToken>,
    mut multipart: Multipart,
    text_limit: usize,
) -> Result<Result<Vec<u8>, ImportError>, AppError> {
    let mut token_checked = false;
    let mut file = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|_| AppError::BadRequest)?
    {
        match field.name().unwrap_or_default() {
            "csrf_token" => {
                let sent = crate::web::multipart_text(field, text_limit).await?;
                crate::web::csrf::verify(csrf_token, &sent)?;
                token_checked = true;
            }
            "datei" if token_checked && file.is_none() => {
                let mut bytes = Vec::new();
                let mut too_large = false;
                while let Some(chunk) =
                    field.chunk().await.map_err(|_| AppError::PayloadTooLarge)?
                {
                    if bytes.len() + chunk.len() > receipts::MAX_FILE_BYTES {
                        too_large = true;
                    } else {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                file = Some(if too_large {
                    Err(ImportError::TooLarge)
                } else {
                    Ok(bytes)
                });
            }
            _ => {}
        }
    }
    if !token_checked {
        return Err(AppError::CsrfMismatch);
    }
    Ok(file.unwrap_or(Err(ImportError::Empty)))
}

async fn import_receipts(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    csrf_token: Option<Extension<CsrfToken>>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    {
        let mut conn = app.db.acquire().await?;
        grant(&mut conn, &user, id, false).await?;
    }
    let multipart = multipart.map_err(|_| AppError::BadRequest)?;
    let file = read_csv(
        csrf_token.as_ref().map(|Extension(t)| t),
        multipart,
        app.config.body_limit_bytes,
    )
    .await?;
    let mut tx = app.db.begin().await?;
    let g = grant(&mut tx, &user, id, true).await?;
    let positions = g.plan(&mut tx).await?.len();
    let imported = match editable(&mut tx, &g, &user).await? {
        Ok(proof) => file
            .and_then(|bytes| receipts::import(&bytes, &g.rules(positions)))
            .map(|r| (proof, r)),
        Err(refusal) => Err(ImportError::Unreadable(refusal.into())),
    };
    let (proof, new) = match imported {
        Ok(ok) => ok,
        Err(e) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            let rejected = match e {
                ImportError::Rejected(ref rows) => rows.clone(),
                _ => Vec::new(),
            };
            errors.add("datei", e.to_string());
            let mut conn = app.db.acquire().await?;
            let view = receipts_view(
                &mut conn,
                page,
                &g,
                ReceiptInput::default(),
                errors,
                rejected,
            )
            .await?;
            return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, view));
        }
    };
    db::add_receipts(&mut tx, proof.id, &new).await?;
    db::insert_event(
        &mut tx,
        proof.id,
        "receipts_imported",
        user.id,
        &format!("{} Belege", new.len()),
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "proof.receipts_imported",
        Subject::Application(id),
        json!({ "receipts": new.len() }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &proof_href(id, "belege"),
        &format!("{} Belege sind aus der Datei übernommen.", new.len()),
    ))
}

async fn delete_receipt(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((id, receipt)): Path<(i64, i64)>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let g = grant(&mut tx, &user, id, true).await?;
    let message = match editable(&mut tx, &g, &user).await? {
        Ok(proof) => {
            if !db::delete_receipt(&mut tx, proof.id, receipt).await? {
                return Err(AppError::NotFound);
            }
            "Der Beleg ist gelöscht."
        }
        Err(refusal) => refusal,
    };
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &proof_href(id, "belege"),
        message,
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "proofs/financing.html")]
struct FinancingPage {
    page: PageContext,
    head: Header,
    form: FinancingForm,
    editable: bool,
    errors: FormErrors,
}

async fn financing_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let g = grant(&mut conn, &user, id, false).await?;
    Ok(FinancingPage {
        page,
        head: Header::new(&g.row),
        form: g.proof.as_ref().map(FinancingForm::of).unwrap_or_default(),
        editable: g.proof.as_ref().is_none_or(|p| p.status.is_editable()),
        errors: FormErrors::default(),
    }
    .into_response())
}

async fn save_financing(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<FinancingForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let g = grant(&mut tx, &user, id, true).await?;
    let checked = match editable(&mut tx, &g, &user).await? {
        Ok(proof) => form
            .validate()
            .map(|f| (proof, f))
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e)),
        Err(refusal) => {
            let mut errors = FormErrors::default();
            errors.add("own_share", refusal);
            Err((StatusCode::CONFLICT, errors))
        }
    };
    let (proof, financing) = match checked {
        Ok(ok) => ok,
        Err((status, errors)) => {
            tx.rollback().await?;
            let view = FinancingPage {
                page,
                head: Header::new(&g.row),
                form,
                editable: true,
                errors,
            };
            return Ok(refused(status, view));
        }
    };
    db::save_financing(&mut tx, proof.id, &financing).await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &proof_href(id, ""),
        "Finanzierung und Erklärungen sind gespeichert.",
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "proofs/attachments.html")]
struct AttachmentsPage {
    page: PageContext,
    head: Header,
    files: Vec<(i64, String, String)>,
    editable: bool,
    accepted: &'static str,
    max_file: String,
    errors: FormErrors,
}

async fn attachments_view(
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    g: &Grant,
    errors: FormErrors,
) -> Result<AttachmentsPage, AppError> {
    let files = match &g.proof {
        Some(p) => db::attachments(conn, p.id)
            .await?
            .into_iter()
            .map(|f| {
                let size = crate::applications::uploads::megabytes(
                    u64::try_from(f.size_bytes).unwrap_or(0),
                );
                (f.id, f.file_name, size)
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(AttachmentsPage {
        page,
        head: Header::new(&g.row),
        files,
        editable: g.proof.as_ref().is_none_or(|p| p.status.is_editable()),
        accepted: crate::applications::uploads::ACCEPTED,
        max_file: crate::applications::uploads::megabytes(app.config.attachment_max_bytes),
        errors,
    })
}

async fn attachments_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let g = grant(&mut conn, &user, id, false).await?;
    Ok(
        attachments_view(&app, &mut conn, page, &g, FormErrors::default())
            .await?
            .into_response(),
    )
}

async fn upload_attachment(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    csrf_token: Option<Extension<CsrfToken>>,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    {
        let mut conn = app.db.acquire().await?;
        grant(&mut conn, &user, id, false).await?;
    }
    let multipart = multipart.map_err(|_| AppError::BadRequest)?;
    let mut form = crate::applications::uploads::read_form(
        &app,
        crate::audit::Actor {
            user_id: Some(user.id),
            client: &client.0,
        },
        crate::audit::Subject::Application(id),
        csrf_token.as_ref().map(|Extension(t)| t),
        multipart,
    )
    .await?;
    let mut tx = app.db.begin().await?;
    let g = grant(&mut tx, &user, id, true).await?;
    let accepted = match editable(&mut tx, &g, &user).await? {
        Ok(proof) => form
            .accepted_file(app.config.attachment_max_bytes)
            .map(|f| (proof, f)),
        Err(refusal) => Err(refusal.to_string()),
    };
    let (proof, (file, kind)) = match accepted {
        Ok(ok) => ok,
        Err(message) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("datei", message);
            let mut conn = app.db.acquire().await?;
            let view = attachments_view(&app, &mut conn, page, &g, errors).await?;
            return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, view));
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
        db::insert_attachment(
            &mut tx,
            &db::NewAttachment {
                proof_id: proof.id,
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
            "proof.attachment_uploaded",
            Subject::Application(id),
            json!({ "file": name }),
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
        &proof_href(id, "anlagen"),
        "Die Datei ist hochgeladen.",
    ))
}

async fn attachment(
    State(app): State<AppState>,
    user: CurrentUser,
    Path((id, file)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let g = grant(&mut conn, &user, id, false).await?;
    let proof = g.proof.ok_or(AppError::NotFound)?;
    attachment_download(&app, &mut conn, proof.id, file).await
}

/// A file of the proof (404 for another proof's).
pub(super) async fn attachment_download(
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    proof_id: i64,
    file: i64,
) -> Result<Response, AppError> {
    let f = db::attachments(conn, proof_id)
        .await?
        .into_iter()
        .find(|f| f.id == file)
        .ok_or(AppError::NotFound)?;
    crate::applications::downloads::stored_file(
        app,
        &crate::applications::downloads::StoredFile {
            key: &f.storage_key,
            name: &f.file_name,
            content_type: &f.content_type,
            size_bytes: f.size_bytes,
        },
        false,
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "proofs/check.html")]
struct CheckPage {
    page: PageContext,
    head: Header,
    report: ReportForm,
    fields: &'static [(&'static str, &'static str, &'static str)],
    numbers: NumericalView,
    receipts: Vec<ReceiptLine>,
    total: String,
    financing: FinancingForm,
    problems: Vec<(String, String)>,
    editable: bool,
    errors: FormErrors,
}

async fn check_view(
    conn: &mut sqlx::PgConnection,
    page: PageContext,
    g: &Grant,
    errors: FormErrors,
) -> Result<CheckPage, AppError> {
    let rows = match &g.proof {
        Some(p) => db::receipts(conn, p.id).await?,
        None => Vec::new(),
    };
    let listed: Vec<Receipt> = rows.iter().map(|r| r.receipt.clone()).collect();
    let (receipts, total) = receipt_lines(&rows);
    Ok(CheckPage {
        page,
        head: Header::new(&g.row),
        report: g.proof.as_ref().map(ReportForm::of).unwrap_or_default(),
        fields: &REPORT_FIELDS,
        numbers: NumericalView::new(&NumericalProof::new(&g.plan(conn).await?, &listed)),
        receipts,
        total,
        financing: g.proof.as_ref().map(FinancingForm::of).unwrap_or_default(),
        problems: problems(g.proof.as_ref(), rows.len())
            .into_iter()
            .map(|(s, m)| (proof_href(g.row.id, s.slug()), m))
            .collect(),
        editable: g.proof.as_ref().is_none_or(|p| p.status.is_editable()),
        errors,
    })
}

async fn check_page(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let g = grant(&mut conn, &user, id, false).await?;
    Ok(check_view(&mut conn, page, &g, FormErrors::default())
        .await?
        .into_response())
}

async fn submit(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let g = grant(&mut tx, &user, id, true).await?;
    let refusal = match editable(&mut tx, &g, &user).await? {
        Ok(proof) => {
            let receipts = db::receipts(&mut tx, proof.id).await?.len();
            let missing = problems(Some(&proof), receipts);
            if missing.is_empty() {
                Ok(proof)
            } else {
                Err(
                    "Der Verwendungsnachweis ist noch nicht vollständig; die fehlenden Angaben stehen oben.",
                )
            }
        }
        Err(refusal) => Err(refusal),
    };
    let proof = match refusal {
        Ok(p) => p,
        Err(message) => {
            tx.rollback().await?;
            let mut errors = FormErrors::default();
            errors.add("einreichen", message);
            let mut conn = app.db.acquire().await?;
            let g = grant(&mut conn, &user, id, false).await?;
            let view = check_view(&mut conn, page, &g, errors).await?;
            return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, view));
        }
    };
    workflow::apply(
        &mut tx,
        &app.outbox,
        &app.config.base_url,
        &proof,
        &g.about(),
        (user.id, true),
        ProofTransition::Submit,
        "",
    )
    .await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "proof.submitted",
        Subject::Application(id),
        json!({ "proof_id": proof.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &proof_href(id, ""),
        "Der Verwendungsnachweis ist eingereicht. Das Ministerium prüft ihn; Sie erhalten eine E-Mail.",
    ))
}

async fn final_notice(
    State(app): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let mut conn = app.db.acquire().await?;
    let g = grant(&mut conn, &user, id, false).await?;
    let notice = db::settlement_notice(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let name = format!("Schlussbescheid-{}.pdf", g.terms.reference);
    crate::applications::documents::download(&app, &mut conn, notice, "application/pdf", &name)
        .await
}
