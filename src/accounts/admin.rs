//! User administration: list and search accounts, invite new users by e-mail, change roles,
//! deactivate and reactivate. Every change is audited; role changes and deactivation end the
//! user's sessions.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::db::{self, NewUser, TokenPurpose, UserRecord};
use super::model::{
    EmailAddress, ROLE_CHOICES, Role, check_roles, choice_of_roles, roles_label, roles_of_choice,
};
use super::recovery::INVITATION_VALIDITY;
use super::session::CurrentUser;
use crate::accounts::Admin;
use crate::audit::Subject;
use crate::audit::{self, Actor};
use crate::error::AppError;
use crate::locale;
use crate::mail::messages::Invitation;
use crate::mail::{Message, Recipient};
use crate::municipalities::db as municipalities;
use crate::state::AppState;
use crate::validation::{FormErrors, clean_line, required_line};
use crate::web::{ClientAddress, NoFields, PageContext, ProtectedForm, redirect_with_flash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/benutzer", get(list))
        .route("/admin/benutzer/neu", get(invite_page).post(invite))
        .route("/admin/benutzer/{id}", get(show))
        .route("/admin/benutzer/{id}/rolle", post(change_role))
        .route("/admin/benutzer/{id}/deaktivieren", post(deactivate))
        .route("/admin/benutzer/{id}/reaktivieren", post(reactivate))
        .route("/admin/benutzer/{id}/einladung", post(reinvite))
}

const LIST_LIMIT: i64 = 500;
const NAME_MAX_CHARS: usize = 200;

pub struct UserView {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub roles: String,
    pub municipality: String,
    pub status: &'static str,
}

impl From<db::UserListRow> for UserView {
    fn from(u: db::UserListRow) -> Self {
        UserView {
            id: u.id,
            status: status_label(u.active, u.has_password),
            roles: roles_label(&u.roles),
            municipality: u.municipality_name.unwrap_or_default(),
            name: u.display_name,
            email: u.email,
        }
    }
}

fn status_label(active: bool, has_password: bool) -> &'static str {
    match (active, has_password) {
        (false, _) => "Deaktiviert",
        (true, false) => "Eingeladen",
        (true, true) => "Aktiv",
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
struct ListPage {
    page: PageContext,
    query: String,
    users: Vec<UserView>,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn list(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
    Query(search): Query<SearchQuery>,
) -> Result<ListPage, AppError> {
    let query = clean_line(&search.q, 100);
    let mut conn = app.db.acquire().await?;
    let users = db::list_users(&mut conn, &query, LIST_LIMIT)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(ListPage { page, query, users })
}

/// The fields that give an account its roles, shared by the invitation and the role change.
#[derive(Clone, Debug, Default, Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    municipality: String,
}

/// Roles and municipality from the form, checked against the rules and the directory.
async fn parse_roles(
    conn: &mut PgConnection,
    form: &RoleForm,
    errors: &mut FormErrors,
) -> Result<Option<(&'static [Role], Option<i64>)>, AppError> {
    let Some(roles) = roles_of_choice(&form.role) else {
        errors.add("role", "Bitte wählen Sie eine Rolle aus.");
        return Ok(None);
    };
    let municipality = if roles.contains(&Role::Clerk) {
        match form.municipality.parse::<i64>() {
            Ok(id) if municipalities::exists_active(conn, id).await? => Some(id),
            _ => {
                errors.add(
                    "municipality",
                    "Bitte wählen Sie die Kommune aus, für die die Person arbeitet.",
                );
                return Ok(None);
            }
        }
    } else {
        None
    };
    Ok(check_roles(roles, municipality.is_some())
        .ok()
        .map(|()| (roles, municipality)))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/user_invite.html")]
struct InvitePage {
    page: PageContext,
    name: String,
    email: String,
    roles: RoleForm,
    municipalities: Vec<(i64, String)>,
    role_choices: &'static [(&'static str, &'static str, &'static [Role])],
    errors: FormErrors,
}

async fn invite_page(
    State(app): State<AppState>,
    page: PageContext,
    _user: Admin,
) -> Result<InvitePage, AppError> {
    let mut conn = app.db.acquire().await?;
    Ok(InvitePage {
        page,
        name: String::new(),
        email: String::new(),
        roles: RoleForm::default(),
        municipalities: municipalities::choices(&mut conn).await?,
        role_choices: &ROLE_CHOICES,
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(flatten)]
    roles: RoleForm,
}

async fn invite(
    State(app): State<AppState>,
    page: PageContext,
    admin: Admin,
    client: ClientAddress,
    ProtectedForm(form): ProtectedForm<InviteForm>,
) -> Result<Response, AppError> {
    let mut errors = FormErrors::default();
    let name = required_line(
        &mut errors,
        NAME_MAX_CHARS,
        "name",
        &form.name,
        "Bitte geben Sie den Namen der Person ein.",
        "Der Name",
    );
    let email =
        match EmailAddress::from_field(&form.email, "Bitte geben Sie die E-Mail-Adresse ein.") {
            Ok(email) => Some(email),
            Err(message) => {
                errors.add("email", message);
                None
            }
        };
    let mut tx = app.db.begin().await?;
    let roles = parse_roles(&mut tx, &form.roles, &mut errors).await?;
    let created = match (email, roles) {
        (Some(email), Some((roles, municipality_id))) if errors.is_empty() => {
            let user = NewUser {
                email: &email,
                display_name: &name,
                password_hash: None,
                roles,
                municipality_id,
            };
            match db::insert_user(&mut tx, user).await? {
                Some(id) => Some(id),
                None => {
                    errors.add("email", "Zu dieser E-Mail-Adresse gibt es schon ein Konto.");
                    None
                }
            }
        }
        _ => None,
    };
    let Some(user_id) = created else {
        let municipalities = municipalities::choices(&mut tx).await?;
        let page = InvitePage {
            page,
            name,
            email: form.email,
            roles: form.roles,
            municipalities,
            role_choices: &ROLE_CHOICES,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let user = db::find_user(&mut tx, user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    send_invitation(&app, &mut tx, &user).await?;
    let actor = admin.actor(&client);
    let details = json!({ "roles": user.roles, "municipality_id": user.municipality_id });
    audit::record(
        &mut tx,
        actor,
        "user.invited",
        Subject::User(user_id),
        details,
    )
    .await?;
    tx.commit().await?;
    let message = format!("Die Einladung an {} ist unterwegs.", user.email);
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/admin/benutzer/{user_id}"),
        &message,
    ))
}

/// A fresh invitation link (earlier ones stop working) by e-mail.
async fn send_invitation(
    app: &AppState,
    conn: &mut PgConnection,
    user: &UserRecord,
) -> Result<(), AppError> {
    let token =
        db::create_token(conn, user.id, TokenPurpose::Invitation, INVITATION_VALIDITY).await?;
    let municipality = match user.municipality_id {
        Some(id) => municipalities::name_of(conn, id).await?,
        None => None,
    };
    let message = Message::Invitation(Invitation {
        name: user.display_name.clone(),
        role: roles_label(&user.roles),
        municipality,
        link: format!("{}/einladung?token={token}", app.config.base_url),
        valid_until: locale::date(time::OffsetDateTime::now_utc() + INVITATION_VALIDITY),
    });
    let to = Recipient::new(&user.email, &user.display_name)?;
    app.outbox.enqueue(conn, &to, &message).await?;
    Ok(())
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/user.html")]
struct UserPage {
    page: PageContext,
    user: UserRecord,
    roles_text: String,
    status: &'static str,
    municipality: String,
    is_self: bool,
    roles: RoleForm,
    municipalities: Vec<(i64, String)>,
    role_choices: &'static [(&'static str, &'static str, &'static [Role])],
    errors: FormErrors,
}

async fn user_page(
    conn: &mut PgConnection,
    page: PageContext,
    admin: &CurrentUser,
    user: UserRecord,
    roles: Option<RoleForm>,
    errors: FormErrors,
) -> Result<UserPage, AppError> {
    let municipality = match user.municipality_id {
        Some(id) => municipalities::name_of(conn, id).await?,
        None => None,
    };
    let roles = roles.unwrap_or_else(|| RoleForm {
        role: choice_of_roles(&user.roles).to_string(),
        municipality: user
            .municipality_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
    });
    Ok(UserPage {
        page,
        roles_text: roles_label(&user.roles),
        status: status_label(user.active, user.password_hash.is_some()),
        municipality: municipality.unwrap_or_default(),
        is_self: admin.id == user.id,
        roles,
        municipalities: municipalities::choices(conn).await?,
        role_choices: &ROLE_CHOICES,
        errors,
        user,
    })
}

async fn show(
    State(app): State<AppState>,
    page: PageContext,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<UserPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let user = db::find_user(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    user_page(&mut conn, page, &admin, user, None, FormErrors::default()).await
}

async fn change_role(
    State(app): State<AppState>,
    page: PageContext,
    admin: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(form): ProtectedForm<RoleForm>,
) -> Result<Response, AppError> {
    let mut tx = app.db.begin().await?;
    let user = db::find_user(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::default();
    let parsed = parse_roles(&mut tx, &form, &mut errors).await?;
    let changes_clerk_status = parsed.is_some_and(|(roles, _)| {
        roles.contains(&Role::Clerk) != user.roles.contains(&Role::Clerk)
    });
    if changes_clerk_status {
        errors.add("role", "Ein kommunales Konto kann kein Ministeriumskonto werden und umgekehrt. Bitte legen Sie dafür ein neues Konto an.");
    }
    if admin.id == id && parsed.is_some_and(|(roles, _)| !roles.contains(&Role::Admin)) {
        errors.add(
            "role",
            "Sie können sich die Administration nicht selbst entziehen.",
        );
    }
    let Some((roles, municipality_id)) = parsed.filter(|_| errors.is_empty()) else {
        let page = user_page(&mut tx, page, &admin, user, Some(form), errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mut before = user.roles.clone();
    before.sort();
    let mut after = roles.to_vec();
    after.sort();
    if before == after && user.municipality_id == municipality_id {
        drop(tx);
        return Ok(redirect_with_flash(
            &app.cookies,
            &format!("/admin/benutzer/{id}"),
            "Die Rolle ist unverändert; es wurde nichts gespeichert.",
        ));
    }
    db::update_roles(&mut tx, id, roles, municipality_id).await?;
    // New privileges take effect with a new login.
    db::delete_sessions_of(&mut tx, id, None).await?;
    let actor = admin.actor(&client);
    let details = json!({
        "before": { "roles": user.roles, "municipality_id": user.municipality_id },
        "after": { "roles": roles, "municipality_id": municipality_id },
    });
    audit::record(
        &mut tx,
        actor,
        "user.roles_changed",
        Subject::User(id),
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &format!("/admin/benutzer/{id}"),
        "Die Rolle ist geändert.",
    ))
}

async fn deactivate(
    State(app): State<AppState>,
    admin: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    set_active(&app, &admin, &client.0, id, false).await
}

async fn reactivate(
    State(app): State<AppState>,
    admin: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    set_active(&app, &admin, &client.0, id, true).await
}

async fn set_active(
    app: &AppState,
    admin: &Admin,
    client: &str,
    id: i64,
    active: bool,
) -> Result<Response, AppError> {
    let target = format!("/admin/benutzer/{id}");
    if admin.id == id && !active {
        return Ok(redirect_with_flash(
            &app.cookies,
            &target,
            "Sie können Ihr eigenes Konto nicht deaktivieren.",
        ));
    }
    let mut tx = app.db.begin().await?;
    db::find_user(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::set_active(&mut tx, id, active).await?;
    if !active {
        db::delete_sessions_of(&mut tx, id, None).await?;
    }
    let action = if active {
        "user.reactivated"
    } else {
        "user.deactivated"
    };
    audit::record(
        &mut tx,
        Actor {
            user_id: Some(admin.id),
            client,
        },
        action,
        Subject::User(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    let message = if active {
        "Das Konto ist wieder aktiv."
    } else {
        "Das Konto ist deaktiviert; alle Sitzungen sind beendet."
    };
    Ok(redirect_with_flash(&app.cookies, &target, message))
}

async fn reinvite(
    State(app): State<AppState>,
    admin: Admin,
    client: ClientAddress,
    Path(id): Path<i64>,
    ProtectedForm(_): ProtectedForm<NoFields>,
) -> Result<Response, AppError> {
    let target = format!("/admin/benutzer/{id}");
    let mut tx = app.db.begin().await?;
    let user = db::find_user(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.password_hash.is_some() || !user.active {
        return Ok(redirect_with_flash(
            &app.cookies,
            &target,
            "Dieses Konto braucht keine Einladung.",
        ));
    }
    send_invitation(&app, &mut tx, &user).await?;
    audit::record(
        &mut tx,
        admin.actor(&client),
        "user.reinvited",
        Subject::User(id),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(redirect_with_flash(
        &app.cookies,
        &target,
        &format!("Eine neue Einladung an {} ist unterwegs.", user.email),
    ))
}
