//! Admin pages for the programme itself (Förderrichtlinie): its texts and contact, and its
//! funding categories. A category that rounds use can be retired but not deleted.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::db::{self, CategoryAdminRow, ContactRow, DebtorRow, ProgrammeRow};
use crate::accounts::Admin;
use crate::accounts::CurrentUser;
use crate::audit::Subject;
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::state::AppState;
use crate::validation::{FormErrors, Iban, clean_line, required_line};
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/programm", get(programme_page).post(save_programme))
        .route(
            "/admin/programm/auszahlungskonto",
            post(save_debtor_account),
        )
        .route("/admin/programm/zinsen", post(save_interest))
        .route(
            "/admin/programm/kategorien/neu",
            get(new_category_page).post(create_category),
        )
        .route(
            "/admin/programm/kategorien/{id}",
            get(category_page).post(save_category),
        )
        .route(
            "/admin/programm/kategorien/{id}/loeschen",
            post(delete_category),
        )
}

const TEXT_MAX_CHARS: usize = 10_000;

#[derive(Clone, Debug, Default, Deserialize)]
struct ProgrammeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    short_name: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    eligibility: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_organisation: String,
    #[serde(default)]
    contact_address: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    contact_email: String,
}

/// The account the state cash office pays the programme's grants from (SEPA debtor).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct DebtorForm {
    debtor_name: String,
    debtor_iban: String,
    debtor_bic: String,
}

impl DebtorForm {
    fn of(p: &DebtorRow) -> Self {
        DebtorForm {
            debtor_name: p.debtor_name.clone(),
            debtor_iban: p
                .debtor_iban
                .parse::<Iban>()
                .map_or_else(|_| p.debtor_iban.clone(), |i| i.to_string()),
            debtor_bic: p.debtor_bic.clone(),
        }
    }

    /// Name, compact IBAN and BIC (empty, or 8 or 11 letters and digits).
    fn validate(&self) -> Result<(String, Iban, String), FormErrors> {
        let mut errors = FormErrors::default();
        let name = required_line(
            &mut errors,
            70,
            "debtor_name",
            &self.debtor_name,
            "Bitte geben Sie den Kontoinhaber ein, zum Beispiel Freistaat Thüringen.",
            "Der Kontoinhaber",
        );
        let iban = self.debtor_iban.parse::<Iban>();
        if let Err(message) = &iban {
            errors.add("debtor_iban", *message);
        }
        let bic: String = self
            .debtor_bic
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if !(bic.is_empty()
            || (matches!(bic.len(), 8 | 11) && bic.chars().all(|c| c.is_ascii_alphanumeric())))
        {
            errors.add(
                "debtor_bic",
                "Eine BIC hat 8 oder 11 Buchstaben und Ziffern, zum Beispiel HELADEFFXXX.",
            );
        }
        match iban {
            Ok(iban) if errors.is_empty() => Ok((name, iban, bic)),
            _ => Err(errors),
        }
    }
}

/// Interest on repayments (§ 49a Abs. 3 VwVfG): percentage points above the base rate, and
/// the Basiszinssatz as the Bundesbank publishes it, one line per change.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct InterestForm {
    margin: String,
    base_rates: String,
}

impl InterestForm {
    fn of((rates, margin): &(Vec<(time::Date, i32)>, i32)) -> Self {
        InterestForm {
            margin: percent(*margin),
            base_rates: rates
                .iter()
                .map(|(from, bp)| format!("{}: {}", crate::locale::day(*from), percent(*bp)))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The margin and the rates by date (each date once), in basis points.
    fn validate(&self) -> Result<(i32, Vec<(time::Date, i32)>), FormErrors> {
        let mut errors = FormErrors::default();
        let margin = match signed_percent(&self.margin) {
            Some(bp) if (0..=2000).contains(&bp) => bp,
            _ => {
                errors.add(
                    "margin",
                    "Bitte geben Sie die Prozentpunkte über dem Basiszinssatz als Zahl zwischen 0 und 20 ein, zum Beispiel 5.",
                );
                0
            }
        };
        let mut rates: Vec<(time::Date, i32)> = Vec::new();
        for (n, line) in self
            .base_rates
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let parsed = line.split_once(':').and_then(|(day, rate)| {
                Some((crate::locale::parse_day(day.trim())?, signed_percent(rate)?))
            });
            match parsed {
                Some((day, bp)) if (-1000..=2000).contains(&bp) && !rates.iter().any(|(d, _)| *d == day) => {
                    rates.push((day, bp));
                }
                _ => errors.add(
                    "base_rates",
                    format!("Zeile {}: Bitte schreiben Sie „Datum: Satz“, zum Beispiel „01.07.2025: 1,27“, jedes Datum einmal.", n + 1),
                ),
            }
        }
        if rates.is_empty() && errors.get("base_rates").is_none() {
            errors.add(
                "base_rates",
                "Bitte geben Sie mindestens einen Basiszinssatz an.",
            );
        }
        rates.sort_unstable();
        if errors.is_empty() {
            Ok((margin, rates))
        } else {
            Err(errors)
        }
    }
}

/// "5", "1,27", "-0,88" → basis points.
fn signed_percent(text: &str) -> Option<i32> {
    let text = text.trim().trim_end_matches('%').trim();
    let (negative, digits) = match text.strip_prefix(['-', '−']) {
        Some(rest) => (true, rest.trim()),
        None => (false, text),
    };
    if digits == "0" {
        return Some(0);
    }
    let bp = digits.parse::<crate::money::Rate>().ok()?.basis_points();
    Some(if negative { -bp } else { bp })
}

/// Basis points as the form shows them: "5", "1,27", "-0,88".
fn percent(bp: i32) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let abs = bp.unsigned_abs();
    match abs % 100 {
        0 => format!("{sign}{}", abs / 100),
        rest => format!("{sign}{},{rest:02}", abs / 100),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/programme.html")]
struct ProgrammePage {
    page: PageContext,
    form: ProgrammeForm,
    debtor: DebtorForm,
    interest: InterestForm,
    categories: Vec<CategoryAdminRow>,
    /// Required Rechtstexte still empty (no notice can be issued until they are entered).
    legal_missing: Vec<&'static str>,
    errors: FormErrors,
}

struct Loaded {
    programme: ProgrammeRow,
    contact: Option<ContactRow>,
    debtor: DebtorForm,
    interest: InterestForm,
    categories: Vec<CategoryAdminRow>,
    legal_missing: Vec<&'static str>,
}

async fn load(app: &AppState) -> Result<Loaded, AppError> {
    let mut conn = app.db.acquire().await?;
    let programme = db::main_programme(&mut conn)
        .await?
        .ok_or(AppError::NotFound)?;
    let contact = db::contacts(&mut conn, programme.id)
        .await?
        .into_iter()
        .next();
    let debtor = db::debtor_accounts(&mut conn)
        .await?
        .iter()
        .find(|d| d.programme_id == programme.id)
        .map(DebtorForm::of)
        .unwrap_or_default();
    let categories = db::all_categories(&mut conn, programme.id).await?;
    let interest = InterestForm::of(&db::interest_rules(&mut conn).await?);
    let legal_missing = db::legal_texts(&mut conn).await?.missing_for_notices();
    Ok(Loaded {
        programme,
        contact,
        debtor,
        interest,
        categories,
        legal_missing,
    })
}

async fn programme_page(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
) -> Result<ProgrammePage, AppError> {
    let Loaded {
        programme: p,
        contact,
        debtor,
        interest,
        categories,
        legal_missing,
    } = load(&app).await?;
    let c = contact.unwrap_or_default();
    let form = ProgrammeForm {
        name: p.name,
        short_name: p.short_name,
        legal_basis: p.legal_basis,
        description: p.description,
        eligibility: p.eligibility,
        contact_name: c.name,
        contact_organisation: c.organisation,
        contact_address: c.address,
        contact_phone: c.phone,
        contact_email: c.email,
    };
    Ok(ProgrammePage {
        page,
        form,
        debtor,
        interest,
        categories,
        legal_missing,
        errors: FormErrors::default(),
    })
}

/// Multi-line text: control characters other than line breaks go, at most 10 000 characters.
fn text(value: &str) -> String {
    value
        .trim()
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(TEXT_MAX_CHARS)
        .collect()
}

async fn save_programme(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<ProgrammeForm>,
) -> Result<Response, AppError> {
    let Loaded {
        programme: existing,
        debtor,
        interest,
        categories,
        legal_missing,
        ..
    } = load(&app).await?;
    let mut errors = FormErrors::default();
    let name = required_line(
        &mut errors,
        300,
        "name",
        &form.name,
        "Bitte geben Sie den Namen der Richtlinie ein.",
        "Der Name",
    );
    let short_name = required_line(
        &mut errors,
        40,
        "short_name",
        &form.short_name,
        "Bitte geben Sie die Kurzbezeichnung ein.",
        "Die Kurzbezeichnung",
    );
    let contact_email = clean_line(&form.contact_email, 254);
    if !contact_email.is_empty()
        && contact_email
            .parse::<crate::accounts::model::EmailAddress>()
            .is_err()
    {
        errors.add(
            "contact_email",
            "Bitte geben Sie eine E-Mail-Adresse im Format name@beispiel.de ein.",
        );
    }
    let programme = ProgrammeRow {
        id: existing.id,
        name,
        short_name,
        legal_basis: text(&form.legal_basis),
        description: text(&form.description),
        eligibility: text(&form.eligibility),
    };
    let mut tx = app.db.begin().await?;
    if errors.is_empty() && !db::update_programme(&mut tx, &programme).await? {
        errors.add(
            "short_name",
            "Diese Kurzbezeichnung hat schon eine andere Richtlinie.",
        );
    }
    if !errors.is_empty() {
        drop(tx);
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            ProgrammePage {
                page,
                form,
                debtor,
                interest,
                categories,
                legal_missing,
                errors,
            },
        )
            .into_response());
    }
    let contact = ContactRow {
        name: clean_line(&form.contact_name, 200),
        organisation: clean_line(&form.contact_organisation, 300),
        address: clean_line(&form.contact_address, 300),
        phone: clean_line(&form.contact_phone, 50),
        email: contact_email,
    };
    db::save_main_contact(&mut tx, existing.id, &contact).await?;
    let actor = user.actor(&client);
    audit::record(
        &mut tx,
        actor,
        "programme.updated",
        Subject::Programme(existing.id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        "/admin/programm",
        "Die Richtlinie ist gespeichert.",
    ))
}

async fn save_debtor_account(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    ProtectedForm(debtor): ProtectedForm<DebtorForm>,
) -> Result<Response, AppError> {
    let (name, iban, bic) = match debtor.validate() {
        Ok(v) => v,
        Err(errors) => {
            // The programme's own form shows what is stored; the account form what was typed.
            let programme_page = programme_page(State(app), page, user).await?;
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                ProgrammePage {
                    debtor,
                    errors,
                    ..programme_page
                },
            )
                .into_response());
        }
    };
    let id = load(&app).await?.programme.id;
    let mut tx = app.db.begin().await?;
    db::save_debtor_account(&mut tx, id, &name, iban.as_str(), &bic).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "programme.debtor_updated",
        Subject::Programme(id),
        json!({ "iban_last4": &iban.as_str()[iban.as_str().len() - 4..] }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        "/admin/programm#auszahlungskonto",
        "Das Auszahlungskonto ist gespeichert.",
    ))
}

async fn save_interest(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    ProtectedForm(interest): ProtectedForm<InterestForm>,
) -> Result<Response, AppError> {
    let (margin, rates) = match interest.validate() {
        Ok(v) => v,
        Err(errors) => {
            let programme_page = programme_page(State(app), page, user).await?;
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                ProgrammePage {
                    interest,
                    errors,
                    ..programme_page
                },
            )
                .into_response());
        }
    };
    let id = load(&app).await?.programme.id;
    let mut tx = app.db.begin().await?;
    db::save_interest_rules(&mut tx, id, margin, &rates).await?;
    audit::record(
        &mut tx,
        user.actor(&client),
        "programme.interest_updated",
        Subject::Programme(id),
        json!({ "margin_bp": margin, "base_rates": rates.len() }),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        "/admin/programm#zinsen",
        "Die Zinssätze sind gespeichert.",
    ))
}

#[derive(Clone, Debug, Default, Deserialize)]
struct CategoryForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    retired: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/category.html")]
struct CategoryPage {
    page: PageContext,
    id: Option<i64>,
    in_use: bool,
    form: CategoryForm,
    errors: FormErrors,
}

async fn new_category_page(page: PageContext, _user: Admin) -> Result<CategoryPage, AppError> {
    Ok(CategoryPage {
        page,
        id: None,
        in_use: false,
        form: CategoryForm::default(),
        errors: FormErrors::default(),
    })
}

async fn find_category(app: &AppState, id: i64) -> Result<(i64, CategoryAdminRow), AppError> {
    let Loaded {
        programme,
        categories,
        ..
    } = load(app).await?;
    let category = categories
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(AppError::NotFound)?;
    Ok((programme.id, category))
}

async fn category_page(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
    Path(id): Path<i64>,
) -> Result<CategoryPage, AppError> {
    let (_, c) = find_category(&app, id).await?;
    let form = CategoryForm {
        code: c.code,
        title: c.title,
        description: c.description,
        retired: c.retired.then(|| "on".into()),
    };
    Ok(CategoryPage {
        page,
        id: Some(id),
        in_use: c.in_use,
        form,
        errors: FormErrors::default(),
    })
}

async fn create_category(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<CategoryForm>,
) -> Result<Response, AppError> {
    let programme = load(&app).await?.programme;
    store_category(
        &app,
        page,
        &user,
        &client.0,
        programme.id,
        None,
        false,
        form,
    )
    .await
}

async fn save_category(
    State(app): State<AppState>,
    page: PageContext,
    user: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<CategoryForm>,
) -> Result<Response, AppError> {
    let (programme_id, existing) = find_category(&app, id).await?;
    store_category(
        &app,
        page,
        &user,
        &client.0,
        programme_id,
        Some(id),
        existing.in_use,
        form,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn store_category(
    app: &AppState,
    page: PageContext,
    user: &CurrentUser,
    client: &str,
    programme_id: i64,
    id: Option<i64>,
    in_use: bool,
    form: CategoryForm,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    let code = required_line(
        &mut errors,
        10,
        "code",
        &form.code,
        "Bitte geben Sie das Kürzel ein, zum Beispiel 2c.",
        "Das Kürzel",
    );
    let title = required_line(
        &mut errors,
        200,
        "title",
        &form.title,
        "Bitte geben Sie den Titel ein.",
        "Der Titel",
    );
    let category = CategoryAdminRow {
        id: id.unwrap_or(0),
        code,
        title,
        description: text(&form.description),
        retired: form.retired.is_some(),
        in_use,
    };
    let mut tx = app.db.begin().await?;
    if errors.is_empty() && !db::save_category(&mut tx, programme_id, id, &category).await? {
        errors.add(
            "code",
            "Dieses Kürzel hat schon ein anderer Fördergegenstand.",
        );
    }
    if !errors.is_empty() {
        drop(tx);
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            CategoryPage {
                page,
                id,
                in_use,
                form,
                errors,
            },
        )
            .into_response());
    }
    let action = if id.is_some() {
        "category.updated"
    } else {
        "category.created"
    };
    let details = json!({ "code": category.code, "retired": category.retired });
    audit::record(
        &mut tx,
        Actor {
            user_id: Some(user.id),
            client,
        },
        action,
        Subject::Category(&category.code),
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        "/admin/programm",
        &format!("Der Fördergegenstand {} ist gespeichert.", category.code),
    ))
}

async fn delete_category(
    State(app): State<AppState>,
    user: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let (programme_id, category) = find_category(&app, id).await?;
    let mut tx = app.db.begin().await?;
    if !db::delete_unused_category(&mut tx, programme_id, id).await? {
        let message = "Dieser Fördergegenstand wird von Förderaufrufen genutzt und kann nur stillgelegt werden.";
        return Ok(redirect_with_flash(
            &app.cookies,
            &format!("/admin/programm/kategorien/{id}"),
            message,
        ));
    }
    let actor = user.actor(&client);
    audit::record(
        &mut tx,
        actor,
        "category.deleted",
        Subject::Category(&category.code),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        "/admin/programm",
        &format!("Der Fördergegenstand {} ist gelöscht.", category.code),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn interest_rules_are_read_the_german_way_and_shown_back_alike() {
        let form = InterestForm {
            margin: "5".into(),
            base_rates: "01.07.2025: 1,27\n\n01.01.2020: -0,88 %\n2024-01-01: 3,62".into(),
        };
        let (margin, rates) = form.validate().unwrap();
        assert_eq!(margin, 500);
        assert_eq!(
            rates,
            [
                (date!(2020 - 01 - 01), -88),
                (date!(2024 - 01 - 01), 362),
                (date!(2025 - 07 - 01), 127)
            ]
        );
        let shown = InterestForm::of(&(rates, margin));
        assert_eq!(
            shown.base_rates,
            "01.01.2020: -0,88\n01.01.2024: 3,62\n01.07.2025: 1,27"
        );
        assert_eq!(shown.margin, "5");
    }

    #[test]
    fn a_bad_line_or_a_date_twice_is_named_by_its_number() {
        let form = InterestForm {
            margin: "25".into(),
            base_rates: "01.07.2025: 1,27\n01.07.2025: 1,5\nirgendwann: 2".into(),
        };
        let errors = form.validate().unwrap_err();
        assert!(errors.get("margin").is_some());
        let lines: Vec<&str> = errors
            .iter()
            .filter(|e| e.field == "base_rates")
            .map(|e| e.message.as_str())
            .collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("Zeile 2") && lines[1].starts_with("Zeile 3"));
    }
}
