//! "Rechtstexte": the texts every notice prints (letterhead, Rechtsbehelfsbelehrung, general
//! Nebenbestimmungen, signature line), previewed as a specimen notice, and the operator's
//! details on the Impressum and the Datenschutzerklärung.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::accounts::Admin;
use crate::audit::{self, Subject};
use crate::error::AppError;
use crate::programmes::db as programmes;
use crate::programmes::legal_texts::LegalTexts;
use crate::review::notice;
use crate::state::AppState;
use crate::validation::{FormErrors, clean_text};
use crate::web::{ClientAddress, PageContext, ProtectedForm, download, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/programm/rechtstexte", get(page).post(save))
        .route("/admin/programm/rechtstexte/vorschau", post(preview))
}

/// How a text is asked for: label, hint, limit and the height of its box.
struct Field {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    max: usize,
    rows: u8,
}

const fn field(
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    max: usize,
    rows: u8,
) -> Field {
    Field {
        name,
        label,
        hint,
        max,
        rows,
    }
}

const NOTICE_FIELDS: [Field; 4] = [
    field(
        "letterhead",
        "Briefkopf (Pflichtangabe)",
        "Behörde und Anschrift, je Zeile eine Angabe; die erste Zeile wird groß gedruckt.",
        600,
        4,
    ),
    field(
        "legal_remedy",
        "Rechtsbehelfsbelehrung (Pflichtangabe)",
        "Steht in jedem Bescheid; mit zuständigem Gericht und Anschrift.",
        3000,
        6,
    ),
    field(
        "standard_conditions",
        "Allgemeine Nebenbestimmungen (optional)",
        "Steht in jedem Zuwendungsbescheid vor den Nebenbestimmungen des Einzelfalls, zum Beispiel der Hinweis auf die ANBest-Gk.",
        5000,
        5,
    ),
    field(
        "signature_line",
        "Zeichnungszeile (optional)",
        "Steht unter dem Namen der Person, die den Bescheid bestätigt, zum Beispiel das Referat.",
        200,
        2,
    ),
];

const PAGE_FIELDS: [Field; 9] = [
    field(
        "publisher",
        "Herausgeber mit Anschrift",
        "Je Zeile eine Angabe; steht im Impressum und als Verantwortlicher in der Datenschutzerklärung.",
        600,
        4,
    ),
    field(
        "represented_by",
        "Vertretungsberechtigt",
        "Zum Beispiel „Das Ministerium wird vertreten durch die Ministerin …“.",
        600,
        2,
    ),
    field(
        "responsible_unit",
        "Fachlich zuständige Stelle",
        "Abteilung oder Referat mit Anschrift, je Zeile eine Angabe.",
        600,
        3,
    ),
    field(
        "content_responsible",
        "Verantwortlich für den Inhalt (§ 18 Abs. 2 MStV)",
        "Name oder Funktion und Anschrift.",
        600,
        2,
    ),
    field(
        "vat_id",
        "Umsatzsteuer-Identifikationsnummer (optional)",
        "Leer lassen, wenn das Portal hoheitlich betrieben wird.",
        40,
        1,
    ),
    field(
        "hosting_provider",
        "Technischer Betrieb",
        "Dienstleister oder Rechenzentrum, das das Portal im Auftrag betreibt.",
        600,
        2,
    ),
    field(
        "dpo_contact",
        "Datenschutzbeauftragte oder Datenschutzbeauftragter",
        "Wie sie oder er zu erreichen ist, mit E-Mail-Adresse.",
        600,
        2,
    ),
    field(
        "account_retention",
        "Löschfrist für Benutzerkonten (optional)",
        "Zum Beispiel „sechs Monate nach der Deaktivierung“.",
        200,
        1,
    ),
    field(
        "record_retention",
        "Aufbewahrungsfrist für Antragsakten (optional)",
        "Zum Beispiel „zehn Jahre nach Abschluss der Verwendungsnachweisprüfung“.",
        200,
        1,
    ),
];

/// A field as the template shows it.
struct FieldView {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    max: usize,
    rows: u8,
    value: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/legal_texts.html")]
struct LegalTextsPage {
    page: PageContext,
    notice_fields: Vec<FieldView>,
    page_fields: Vec<FieldView>,
    missing_for_notices: Vec<&'static str>,
    missing_for_pages: Vec<&'static str>,
    errors: FormErrors,
}

impl LegalTextsPage {
    fn new(page: PageContext, mut texts: LegalTexts, errors: FormErrors) -> Self {
        let missing_for_notices = texts.missing_for_notices();
        let missing_for_pages = texts.missing_for_pages();
        let mut values = texts.fields_mut();
        let mut views = |fields: &[Field]| -> Vec<FieldView> {
            fields
                .iter()
                .map(|f| FieldView {
                    name: f.name,
                    label: f.label,
                    hint: f.hint,
                    max: f.max,
                    rows: f.rows,
                    value: values
                        .iter_mut()
                        .find(|(name, _)| *name == f.name)
                        .map(|(_, v)| std::mem::take(*v))
                        .unwrap_or_default(),
                })
                .collect()
        };
        let notice_fields = views(&NOTICE_FIELDS);
        let page_fields = views(&PAGE_FIELDS);
        LegalTextsPage {
            page,
            notice_fields,
            page_fields,
            missing_for_notices,
            missing_for_pages,
            errors,
        }
    }
}

async fn page(
    State(app): State<AppState>,
    page: PageContext,
    _admin: Admin,
) -> Result<LegalTextsPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let texts = programmes::legal_texts(&mut conn).await?;
    Ok(LegalTextsPage::new(page, texts, FormErrors::default()))
}

/// Cleans every text (line breaks kept); a text over its limit is an error, never cut.
fn validate(texts: &mut LegalTexts) -> FormErrors {
    let mut errors = FormErrors::default();
    for (name, value) in texts.fields_mut() {
        let Some(f) = NOTICE_FIELDS
            .iter()
            .chain(&PAGE_FIELDS)
            .find(|f| f.name == name)
        else {
            continue;
        };
        *value = clean_text(value, f.max + 1);
        let length = value.chars().count();
        if length > f.max {
            let label = f.label.split(" (").next().unwrap_or(f.label);
            errors.add(
                name,
                format!(
                    "„{label}“ darf höchstens {} Zeichen lang sein (jetzt {length}).",
                    f.max
                ),
            );
        }
    }
    errors
}

async fn save(
    State(app): State<AppState>,
    page: PageContext,
    admin: Admin,
    client: ClientAddress,
    ProtectedForm(mut texts): ProtectedForm<LegalTexts>,
) -> Result<Response, AppError> {
    let errors = validate(&mut texts);
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            LegalTextsPage::new(page, texts, errors),
        )
            .into_response());
    }
    let mut tx = app.db.begin().await?;
    let programme = programmes::main_programme(&mut tx)
        .await?
        .ok_or(AppError::NotFound)?;
    programmes::save_legal_texts(&mut tx, programme.id, &texts).await?;
    audit::record(
        &mut tx,
        admin.actor(&client),
        "programme.legal_texts_updated",
        Subject::Programme(programme.id),
        json!({ "missing_for_notices": texts.missing_for_notices() }),
    )
    .await?;
    tx.commit().await?;
    let message = if texts.missing_for_notices().is_empty() {
        "Die Rechtstexte sind gespeichert."
    } else {
        "Die Rechtstexte sind gespeichert. Solange Pflichtangaben fehlen, kann kein Bescheid erlassen werden."
    };
    Ok(redirect_with_flash(
        &app.cookies,
        "/admin/programm/rechtstexte",
        message,
    ))
}

/// A specimen Zuwendungsbescheid with the texts as typed (not saved), as a PDF download, so
/// the form stays as it is in the browser.
async fn preview(
    State(app): State<AppState>,
    page: PageContext,
    _admin: Admin,
    ProtectedForm(mut texts): ProtectedForm<LegalTexts>,
) -> Result<Response, AppError> {
    let mut errors = validate(&mut texts);
    for (field, name, value) in texts.required_for_notices() {
        if value.is_empty() {
            errors.add(
                field,
                format!("Für die Vorschau fehlt die Angabe „{name}“."),
            );
        }
    }
    let sender = match texts.for_notice() {
        Ok(sender) if errors.is_empty() => sender,
        _ => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                LegalTextsPage::new(page, texts, errors),
            )
                .into_response());
        }
    };
    let mut conn = app.db.acquire().await?;
    let legal_basis = programmes::main_programme(&mut conn)
        .await?
        .map(|p| p.legal_basis)
        .unwrap_or_default();
    drop(conn);
    let specimen = notice::Notice::specimen(sender, legal_basis);
    let pdf = tokio::task::spawn_blocking(move || notice::render(&specimen))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(download(
        "application/pdf",
        "Vorschau-Zuwendungsbescheid.pdf",
        pdf,
    ))
}
