//! The append-only audit log: who did what to which object, when and from where. The database
//! refuses to change or delete entries. Secrets (passwords, tokens) never go into `details`.

use sqlx::PgConnection;

/// Who acts: the signed-in user (if any) and the client address of the request.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub user_id: Option<i64>,
    pub client: &'a str,
}

/// What an entry is about. Stored as text ("application:42"), which the admins' log shows and
/// searches; [`Subject::User`] is also the key of per-account locks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject<'a> {
    Application(i64),
    User(i64),
    AccessRequest(i64),
    Round(i64),
    Programme(i64),
    Category(&'a str),
    Municipality(i64),
    /// The municipality directory as a whole (imports).
    Directory,
    Mail(i64),
    /// A payout request (Mittelabruf).
    Payout(i64),
    /// A payment run (Zahllauf).
    PaymentRun(i64),
    /// A change request (Änderungsantrag).
    Amendment(i64),
    /// A project outline (Projektskizze).
    Outline(i64),
    /// An address as typed at the login or the password reset, for accounts that may not exist.
    Address(&'a str),
    /// The method and route of a refused request ("GET /pruefung/antraege/{id}").
    Route(&'a str),
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Application(id) => write!(f, "application:{id}"),
            Subject::User(id) => write!(f, "user:{id}"),
            Subject::AccessRequest(id) => write!(f, "access_request:{id}"),
            Subject::Round(id) => write!(f, "round:{id}"),
            Subject::Programme(id) => write!(f, "programme:{id}"),
            Subject::Category(code) => write!(f, "category:{code}"),
            Subject::Municipality(id) => write!(f, "municipality:{id}"),
            Subject::Directory => f.write_str("municipalities"),
            Subject::Mail(id) => write!(f, "mail_outbox:{id}"),
            Subject::Payout(id) => write!(f, "payout:{id}"),
            Subject::PaymentRun(id) => write!(f, "payment_run:{id}"),
            Subject::Amendment(id) => write!(f, "amendment:{id}"),
            Subject::Outline(id) => write!(f, "outline:{id}"),
            Subject::Address(text) | Subject::Route(text) => f.write_str(text),
        }
    }
}

/// Records an action in the caller's transaction, so the log and the change agree.
pub async fn record(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    action: &str,
    subject: Subject<'_>,
    details: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO audit_log (actor_id, client, action, subject, details) VALUES ($1, $2, $3, $4, $5)",
        actor.user_id,
        actor.client,
        action,
        subject.to_string(),
        details,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whose entries to count: those about one object, or those from one client address.
pub enum Whose<'a> {
    Subject(Subject<'a>),
    Client(&'a str),
}

/// How often an action was recorded in the last hour (for limits such as reset mails).
pub async fn count_last_hour(
    conn: &mut PgConnection,
    action: &str,
    whose: Whose<'_>,
) -> sqlx::Result<i64> {
    let count = match whose {
        Whose::Subject(s) => {
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "count!" FROM audit_log
                   WHERE action = $1 AND subject = $2 AND at > now() - interval '1 hour'"#,
                action,
                s.to_string(),
            )
            .fetch_one(conn)
            .await?
        }
        Whose::Client(c) => {
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "count!" FROM audit_log
                   WHERE action = $1 AND client = $2 AND at > now() - interval '1 hour'"#,
                action,
                c,
            )
            .fetch_one(conn)
            .await?
        }
    };
    Ok(count)
}

/// The German name of an action, for the admins' view of the log.
pub fn action_label(action: &str) -> &'static str {
    ACTIONS
        .iter()
        .find(|(key, _)| *key == action)
        .map_or("Sonstiges", |(_, label)| *label)
}

/// Every action the portal records, in the order the filter offers them.
pub const ACTIONS: [(&str, &str); 95] = [
    ("login", "Anmeldung"),
    ("login.password_ok", "Passwort richtig, Code folgt"),
    ("logout", "Abmeldung"),
    ("reauth.throttled", "Bestätigung gedrosselt"),
    ("password.current_wrong", "Falsches bisheriges Passwort"),
    ("second_factor.code_wrong", "Falscher Code in Mein Konto"),
    ("login.failed", "Fehlgeschlagene Anmeldung"),
    ("login.throttled", "Anmeldung gedrosselt"),
    ("login.second_factor", "Zweiter Faktor bestätigt"),
    (
        "login.second_factor_failed",
        "Falscher Code beim zweiten Faktor",
    ),
    ("second_factor.enabled", "Zweiter Faktor eingerichtet"),
    ("second_factor.new_codes", "Neue Wiederherstellungscodes"),
    (
        "second_factor.replaced",
        "Zweiter Faktor durch neue App ersetzt",
    ),
    ("second_factor.removed", "Zweiter Faktor entfernt"),
    ("sessions.ended", "Andere Sitzungen beendet"),
    ("access.denied", "Zugriff verweigert"),
    ("password.changed", "Passwort geändert"),
    (
        "password.reset_requested",
        "Link zum Zurücksetzen angefordert",
    ),
    ("password.reset_sent", "Link zum Zurücksetzen gesendet"),
    ("password.reset", "Passwort zurückgesetzt"),
    ("user.invited", "Person eingeladen"),
    ("user.reinvited", "Einladung erneut gesendet"),
    ("invitation.accepted", "Einladung angenommen"),
    ("user.roles_changed", "Rolle geändert"),
    ("user.deactivated", "Konto deaktiviert"),
    ("user.reactivated", "Konto wieder aktiviert"),
    ("access.requested", "Zugang beantragt"),
    ("access.approved", "Zugang freigegeben"),
    ("access.declined", "Zugang abgelehnt"),
    ("mail.retry", "E-Mail erneut gesendet"),
    ("mail.viewed", "E-Mail im Postausgang gelesen"),
    ("municipalities.imported", "Gemeindeverzeichnis importiert"),
    ("municipality.updated", "Kommune geändert"),
    ("round.created", "Förderaufruf angelegt"),
    ("round.updated", "Förderaufruf geändert"),
    ("round.published", "Förderaufruf veröffentlicht"),
    ("round.closed", "Förderaufruf geschlossen"),
    ("programme.updated", "Förderrichtlinie geändert"),
    ("category.created", "Fördergegenstand angelegt"),
    ("category.updated", "Fördergegenstand geändert"),
    ("category.deleted", "Fördergegenstand gelöscht"),
    ("application.created", "Antrag angelegt"),
    ("application.section_saved", "Antragsabschnitt gespeichert"),
    ("application.attachment_uploaded", "Anlage hochgeladen"),
    ("application.attachment_deleted", "Anlage gelöscht"),
    (
        "upload.infected",
        "Hochgeladene Datei mit Schadsoftware abgewiesen",
    ),
    (
        "application.partner_confirmed",
        "Teilnahme als Partner bestätigt",
    ),
    ("application.submitted", "Antrag eingereicht"),
    ("application.resubmitted", "Antrag erneut eingereicht"),
    ("application.withdrawn", "Antrag zurückgezogen"),
    ("application.deleted", "Entwurf gelöscht"),
    ("application.assigned", "Antrag zugewiesen"),
    ("application.review_started", "Prüfung begonnen"),
    ("application.assessed", "Prüfvermerk gespeichert"),
    ("application.changes_requested", "Nachforderung gestellt"),
    ("decision.proposed", "Entscheidung vorgeschlagen"),
    (
        "decision.confirmed",
        "Entscheidung bestätigt (Zweitzeichnung)",
    ),
    ("decision.sent_back", "Entscheidungsvorschlag zurückgegeben"),
    ("application.message_sent", "Nachricht zum Antrag gesendet"),
    ("payout.submitted", "Mittelabruf eingereicht"),
    ("payout.withdrawn", "Mittelabruf zurückgezogen"),
    (
        "payout.receipt_uploaded",
        "Beleg zum Mittelabruf hochgeladen",
    ),
    (
        "payout.checked",
        "Mittelabruf sachlich und rechnerisch richtig",
    ),
    ("payout.ordered", "Auszahlung angeordnet"),
    ("payout.returned", "Mittelabruf zurückgegeben"),
    ("amendment.submitted", "Änderungsantrag eingereicht"),
    ("amendment.notified", "Änderung mitgeteilt (im Spielraum)"),
    ("amendment.withdrawn", "Änderungsantrag zurückgezogen"),
    (
        "amendment.proposed",
        "Entscheidung über Änderungsantrag vorgeschlagen",
    ),
    (
        "amendment.confirmed",
        "Entscheidung über Änderungsantrag bestätigt (Zweitzeichnung)",
    ),
    (
        "amendment.sent_back",
        "Vorschlag zum Änderungsantrag zurückgegeben",
    ),
    (
        "proof.receipts_imported",
        "Belegliste des Verwendungsnachweises importiert",
    ),
    (
        "proof.attachment_uploaded",
        "Anlage zum Verwendungsnachweis hochgeladen",
    ),
    ("proof.submitted", "Verwendungsnachweis eingereicht"),
    (
        "proof.changes_requested",
        "Ergänzungen zum Verwendungsnachweis angefordert",
    ),
    ("proof.settlement_proposed", "Abrechnung vorgeschlagen"),
    (
        "proof.settlement_sent_back",
        "Abrechnungsvorschlag zurückgegeben",
    ),
    (
        "proof.settled",
        "Abrechnung bestätigt, Schlussbescheid erlassen (Zweitzeichnung)",
    ),
    ("payment_run.created", "Zahllauf erstellt"),
    ("payment_run.downloaded", "Zahlungsdatei heruntergeladen"),
    ("payment_run.paid", "Zahllauf als bezahlt gebucht"),
    ("programme.debtor_updated", "Auszahlungskonto geändert"),
    ("programme.legal_texts_updated", "Rechtstexte geändert"),
    (
        "catalogue.published",
        "Im Nachnutzungskatalog veröffentlicht",
    ),
    (
        "catalogue.withdrawn",
        "Aus dem Nachnutzungskatalog zurückgezogen",
    ),
    (
        "programme.interest_updated",
        "Zinssätze für Rückforderungen geändert",
    ),
    ("outline.created", "Projektskizze angelegt"),
    ("outline.updated", "Projektskizze geändert"),
    ("outline.deleted", "Projektskizze gelöscht"),
    (
        "outline.message_sent",
        "Nachricht zur Projektskizze gesendet",
    ),
    ("outline.agreed", "Projektskizze als abgestimmt markiert"),
    (
        "outline.partner_search",
        "Partnersuche begonnen oder beendet",
    ),
    (
        "outline.interest_expressed",
        "Interesse an einer Partnerschaft bekundet",
    ),
    ("outline.interest_accepted", "Partnerkommune angenommen"),
    (
        "outline.application_created",
        "Antrag aus Projektskizze erstellt",
    ),
];

/// What the admins filter the log by; empty fields do not filter.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub action: String,
    /// Part of the acting person's name or e-mail address.
    pub actor: String,
    /// Part of the object, e.g. "user:12".
    pub subject: String,
    /// Calendar days in Berlin, inclusive.
    pub from: Option<time::Date>,
    pub until: Option<time::Date>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: time::OffsetDateTime,
    pub actor: Option<String>,
    pub client: String,
    pub action: String,
    pub subject: String,
    pub details: serde_json::Value,
}

/// The newest entries matching the filter.
pub async fn search(
    conn: &mut PgConnection,
    filter: &Filter,
    limit: i64,
) -> sqlx::Result<Vec<Entry>> {
    let like = |s: &str| format!("%{}%", s.replace(['%', '_', '\\'], ""));
    sqlx::query_as!(
        Entry,
        r#"SELECT a.id, a.at, u.display_name || ' <' || u.email || '>' AS actor, a.client, a.action, a.subject, a.details
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         WHERE ($1 = '' OR a.action = $1)
           AND ($2 = '%%' OR u.display_name ILIKE $2 OR u.email ILIKE $2)
           AND ($3 = '%%' OR a.subject ILIKE $3)
           AND ($4::date IS NULL OR a.at >= $4::date::timestamp AT TIME ZONE 'Europe/Berlin')
           AND ($5::date IS NULL OR a.at < ($5::date + 1)::timestamp AT TIME ZONE 'Europe/Berlin')
         ORDER BY a.at DESC, a.id DESC
         LIMIT $6"#,
        filter.action,
        like(&filter.actor),
        like(&filter.subject),
        filter.from,
        filter.until,
        limit,
    )
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The action literal of each `audit::record(…)` call in the source tree (calls that pass
    /// the action in a variable are skipped; their literals are plain constants nearby).
    fn recorded_actions(dir: &std::path::Path, into: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                recorded_actions(&path, into);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("audit.rs") {
                let source = std::fs::read_to_string(&path).unwrap();
                for (at, _) in source.match_indices("audit::record(") {
                    let call = &source[at..];
                    let call = &call[..call.find(".await").unwrap_or(call.len())];
                    let mut literals = call.split('"');
                    if let Some(action) = literals.nth(1) {
                        into.push(action.to_string());
                    }
                }
            }
        }
    }

    #[test]
    fn every_recorded_action_has_a_german_label() {
        let mut actions = Vec::new();
        recorded_actions(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut actions,
        );
        assert!(actions.len() > 20, "{actions:?}");
        let unlabelled: Vec<_> = actions
            .iter()
            .filter(|a| !a.contains('{') && action_label(a) == "Sonstiges")
            .collect();
        assert!(unlabelled.is_empty(), "no label for {unlabelled:?}");
    }
}
