//! The German error page: what each status (and [`ErrorDetail`]) tells the user, with the
//! request id they can quote. Handlers only return an `AppError`; the error-page middleware
//! renders this around it.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::PageContext;
use crate::error::{ErrorDetail, RETRY_AFTER_SECS};

/// The German error page for a status, for middleware that fails before the handlers run.
pub fn error_page(
    page: PageContext,
    status: StatusCode,
    detail: Option<ErrorDetail>,
    request_id: String,
) -> Response {
    let mut response = ErrorPage::new(page, status, detail, request_id).into_response();
    *response.status_mut() = status;
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    response
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    page: PageContext,
    status: u16,
    heading: &'static str,
    explanation: &'static str,
    request_id: String,
}

impl ErrorPage {
    pub fn new(
        page: PageContext,
        status: StatusCode,
        detail: Option<ErrorDetail>,
        request_id: String,
    ) -> Self {
        let (heading, explanation) = match (status.as_u16(), detail) {
            (403, Some(ErrorDetail::CsrfMismatch)) => (
                "Das Formular ist abgelaufen",
                "Das Formular wurde nicht von dieser Seite gesendet oder Ihre Sitzung ist inzwischen abgelaufen. Bitte öffnen Sie die Seite neu und senden Sie das Formular noch einmal.",
            ),
            (400, Some(ErrorDetail::UnknownHost)) => (
                "Unbekannte Adresse",
                "Unter dieser Adresse ist das Förderportal nicht erreichbar. Bitte rufen Sie das Portal über seine offizielle Adresse auf.",
            ),
            (403, _) => (
                "Kein Zugriff",
                "Sie haben keine Berechtigung für diese Seite. Wenn Sie meinen, dass das ein Fehler ist, wenden Sie sich bitte an die Administration.",
            ),
            (404, _) => (
                "Seite nicht gefunden",
                "Die Adresse ist falsch geschrieben oder die Seite gibt es nicht mehr. Prüfen Sie die Adresse oder beginnen Sie auf der Startseite.",
            ),
            (405, _) => (
                "Diese Aktion ist hier nicht möglich",
                "Die Seite kann auf diese Weise nicht aufgerufen werden. Bitte nutzen Sie die Links und Schaltflächen des Portals.",
            ),
            (408 | 504, _) => (
                "Zeitüberschreitung",
                "Die Anfrage hat zu lange gedauert. Bitte versuchen Sie es noch einmal.",
            ),
            (413, _) => (
                "Die gesendeten Daten sind zu groß",
                "Bitte senden Sie weniger Daten auf einmal, zum Beispiel kleinere Dateien.",
            ),
            (429, _) => (
                "Zu viele Anfragen",
                "Bitte warten Sie einen Moment und versuchen Sie es dann noch einmal.",
            ),
            (503, _) => (
                "Das Portal ist vorübergehend nicht erreichbar",
                "Das Portal ist gerade nicht erreichbar. Ihre gespeicherten Angaben sind nicht verloren. Bitte versuchen Sie es in einigen Minuten noch einmal.",
            ),
            (s, _) if s >= 500 => (
                "Ein technischer Fehler ist aufgetreten",
                "Ihre Anfrage konnte wegen eines Fehlers im Portal nicht bearbeitet werden. Bitte versuchen Sie es später noch einmal. Wenn der Fehler bleibt, nennen Sie uns bitte die unten stehende Fehlerkennung.",
            ),
            _ => (
                "Die Anfrage konnte nicht bearbeitet werden",
                "Die gesendeten Angaben waren unvollständig oder fehlerhaft. Bitte gehen Sie zurück und versuchen Sie es noch einmal.",
            ),
        };
        ErrorPage {
            page,
            status: status.as_u16(),
            heading,
            explanation,
            request_id,
        }
    }
}
