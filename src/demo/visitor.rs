//! The demo's browser: an in-process visitor of the portal's own pages (its cookies, the form
//! token of the last page it opened), signed in as a demo account, and what a clerk does with
//! an application through them. Every step of the demo goes through these pages, so it runs
//! the same handlers, checks, state machines, notices and e-mails as real use.

use std::collections::HashMap;

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

use super::DEMO_PASSWORD;
use crate::accounts::db::{self as accounts, NewUser};
use crate::accounts::{Role, model::EmailAddress};
use crate::applications::model::Section;
use crate::money::Cents;
use crate::municipalities::db as municipalities;
use crate::state::AppState;

/// The municipality's demo clerk ("kommune.16053000@demo.foerderportal.example"); the
/// Kyffhäuserkreis has the demo's own clerk.
pub(super) async fn clerk(
    conn: &mut sqlx::PgConnection,
    ags: &str,
    hash: &str,
) -> anyhow::Result<String> {
    if ags == "16065000" {
        return Ok("kommune@demo.foerderportal.example".into());
    }
    let municipality = municipalities::id_by_ags(conn, ags)
        .await?
        .with_context(|| format!("municipality {ags} missing"))?;
    let email = format!("kommune.{ags}@demo.foerderportal.example");
    let address: EmailAddress = email.parse().map_err(anyhow::Error::msg)?;
    accounts::insert_user(
        conn,
        NewUser {
            email: &address,
            display_name: "Sachbearbeitung (Demo)",
            password_hash: Some(hash),
            roles: &[Role::Clerk],
            municipality_id: Some(municipality),
        },
    )
    .await?;
    Ok(email)
}

/// "145.012,03" for cents, as a form takes amounts.
pub(super) fn plain(cents: i64) -> String {
    Cents::new(cents).plain()
}

/// A form's fields as sent.
pub(super) type Fields = Vec<(String, String)>;

pub(super) fn fields(pairs: &[(&str, String)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

/// Sets fields, replacing what they held.
pub(super) fn set(answers: &mut Fields, values: &[(&str, String)]) {
    for (key, value) in values {
        answers.retain(|(k, _)| k != key);
        answers.push(((*key).to_string(), value.clone()));
    }
}

/// One PDF for each document the round asks for.
pub(super) async fn attach(clerk: &mut Visitor, id: i64, state: &AppState) -> anyhow::Result<()> {
    let mut conn = state.db.acquire().await?;
    let documents: Vec<i64> = sqlx::query_scalar!(
        "SELECT t.id FROM round_attachment_types t JOIN applications a ON a.round_id = t.round_id
         WHERE a.id = $1 ORDER BY t.position",
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    drop(conn);
    for (n, document) in documents.iter().enumerate() {
        clerk.get(&format!("/antraege/{id}/anlagen")).await?;
        clerk
            .upload(
                &format!("/antraege/{id}/anlagen"),
                &document.to_string(),
                &format!("Unterlage-{}.pdf", n + 1),
                DEMO_PDF,
            )
            .await?;
    }
    Ok(())
}

/// A one-page PDF ("Unterlage (Demo)").
const DEMO_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

pub(super) async fn start(clerk: &mut Visitor, round_id: i64) -> anyhow::Result<i64> {
    clerk.get("/antraege").await?;
    let to = clerk
        .post("/antraege", &[("round_id", round_id.to_string())])
        .await?;
    to.rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .with_context(|| format!("no application in {to}"))
}

pub(super) async fn save(
    clerk: &mut Visitor,
    id: i64,
    section: Section,
    answers: &Fields,
) -> anyhow::Result<()> {
    save_as(clerk, id, section, answers, "").await
}

pub(super) async fn save_later(
    clerk: &mut Visitor,
    id: i64,
    section: Section,
    answers: &Fields,
) -> anyhow::Result<()> {
    save_as(clerk, id, section, answers, "spaeter").await
}

async fn save_as(
    clerk: &mut Visitor,
    id: i64,
    section: Section,
    answers: &Fields,
    action: &str,
) -> anyhow::Result<()> {
    let page = format!("/antraege/{id}/{}", section.slug());
    clerk.get(&page).await?;
    let mut all = answers.clone();
    set(
        &mut all,
        &[
            ("version", clerk.hidden("version")?),
            ("action", action.into()),
        ],
    );
    clerk.send_form(&page, &all).await?;
    Ok(())
}

pub(super) async fn signed_in(state: &AppState, email: &str) -> anyhow::Result<Visitor> {
    let mut visitor = Visitor::new(state);
    visitor.get("/anmelden").await?;
    visitor
        .post(
            "/anmelden",
            &[
                ("email", email.to_string()),
                ("password", DEMO_PASSWORD.to_string()),
            ],
        )
        .await
        .with_context(|| format!("signing in as {email}"))?;
    Ok(visitor)
}

/// A browser in process: sends requests to the portal's router with its cookies and the form
/// token of the last page it opened.
pub(super) struct Visitor {
    router: axum::Router,
    host: String,
    cookies: HashMap<String, String>,
    page: String,
}

impl Visitor {
    pub(super) fn new(state: &AppState) -> Self {
        let host = state
            .config
            .base_url
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .trim_end_matches('/')
            .to_string();
        Visitor {
            router: crate::app(state.clone()),
            host,
            cookies: HashMap::new(),
            page: String::new(),
        }
    }

    async fn send(&mut self, request: Request<Body>) -> anyhow::Result<(StatusCode, String)> {
        let response = self.router.clone().oneshot(request).await?;
        for cookie in response.headers().get_all(header::SET_COOKIE) {
            let pair = cookie.to_str()?.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), 16 << 20).await?;
        let body = String::from_utf8_lossy(&body).into_owned();
        Ok((
            status,
            if status.is_redirection() {
                location
            } else {
                body
            },
        ))
    }

    fn request(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let cookies: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host)
            .header(header::COOKIE, cookies.join("; "))
    }

    /// Opens a page (it must answer 200); its form token is used for the next post.
    pub(super) async fn get(&mut self, path: &str) -> anyhow::Result<()> {
        let request = self.request("GET", path).body(Body::empty())?;
        let (status, body) = self.send(request).await?;
        if status != StatusCode::OK {
            bail!("GET {path}: {status}");
        }
        self.page = body;
        Ok(())
    }

    /// A hidden field's value on the last page opened.
    pub(super) fn hidden(&self, name: &str) -> anyhow::Result<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .page
            .find(&marker)
            .with_context(|| format!("no field {name}"))?
            + marker.len();
        let end = self.page[start..]
            .find('"')
            .context("an unterminated value")?;
        Ok(self.page[start..start + end].to_string())
    }

    /// Sends a form; it must be accepted (a redirect), whose target is returned.
    pub(super) async fn post(
        &mut self,
        path: &str,
        values: &[(&str, String)],
    ) -> anyhow::Result<String> {
        self.send_form(path, &fields(values)).await
    }

    pub(super) async fn send_form(
        &mut self,
        path: &str,
        values: &Fields,
    ) -> anyhow::Result<String> {
        let mut all = vec![("csrf_token".to_string(), self.hidden("csrf_token")?)];
        all.extend(values.iter().cloned());
        let body = serde_urlencoded::to_string(&all)?;
        let request = self
            .request("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))?;
        self.accepted(path, request).await
    }

    pub(super) async fn upload(
        &mut self,
        path: &str,
        document: &str,
        name: &str,
        bytes: &[u8],
    ) -> anyhow::Result<String> {
        let boundary = "demo-boundary-7e3f";
        let mut body = Vec::new();
        for (field, value) in [
            ("csrf_token", self.hidden("csrf_token")?),
            ("document", document.into()),
        ] {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"datei\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n")
                .as_bytes(),
        );
        body.extend(bytes);
        body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
        let request = self
            .request("POST", path)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))?;
        self.accepted(path, request).await
    }

    async fn accepted(&mut self, path: &str, request: Request<Body>) -> anyhow::Result<String> {
        let (status, location_or_body) = self.send(request).await?;
        if status != StatusCode::SEE_OTHER {
            let excerpt: String = location_or_body
                .split("field-error")
                .skip(1)
                .map(|e| e.chars().take(300).collect::<String>())
                .collect();
            bail!("POST {path}: {status} {excerpt}");
        }
        if self.refused() {
            bail!("POST {path} was refused");
        }
        Ok(location_or_body)
    }

    /// Whether the last redirect carried a refusal (the flash cookie of a refused action).
    fn refused(&self) -> bool {
        use base64::Engine;
        self.cookies
            .iter()
            .filter(|(name, _)| name.ends_with("fp_flash"))
            .filter_map(|(_, value)| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(value)
                    .ok()
            })
            .any(|text| text.first() == Some(&1))
    }
}

/// The ministry's two demo reviewers: one proposes, the other confirms (four eyes).
pub(super) struct Ministry {
    pub reviewer: Visitor,
    pub second: Visitor,
}

impl Ministry {
    pub(super) async fn sign_in(state: &AppState) -> anyhow::Result<Self> {
        Ok(Ministry {
            reviewer: signed_in(state, "pruefung@demo.foerderportal.example").await?,
            second: signed_in(state, "zweitpruefung@demo.foerderportal.example").await?,
        })
    }

    /// The first reviewer takes a submitted application and starts the review.
    pub(super) async fn take(&mut self, id: i64) -> anyhow::Result<()> {
        let case = format!("/pruefung/antraege/{id}");
        self.reviewer.get(&case).await?;
        self.reviewer
            .post(&format!("{case}/zuweisen"), &[("reviewer", "me".into())])
            .await?;
        self.reviewer
            .post(&format!("{case}/pruefung-beginnen"), &[])
            .await?;
        Ok(())
    }

    /// The first reviewer proposes a decision (the form's fields).
    pub(super) async fn propose(
        &mut self,
        id: i64,
        decision: &[(&str, String)],
    ) -> anyhow::Result<()> {
        let case = format!("/pruefung/antraege/{id}");
        self.reviewer.get(&case).await?;
        self.reviewer
            .post(&format!("{case}/entscheidung"), decision)
            .await?;
        Ok(())
    }

    /// The second reviewer confirms the proposal; the notice is issued.
    pub(super) async fn confirm(&mut self, id: i64) -> anyhow::Result<()> {
        let case = format!("/pruefung/antraege/{id}");
        self.second.get(&case).await?;
        self.second
            .post(&format!("{case}/entscheidung/bestaetigen"), &[])
            .await?;
        Ok(())
    }
}
