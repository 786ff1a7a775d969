//! The e-mails the portal sends: one variant per message with the data it shows, a German subject,
//! and a plain-text and an HTML part rendered from `templates/mail/`. Callers pass values already
//! formatted for display (dates, amounts) and absolute links.

use askama::Template;

/// What every message shows in its footer.
#[derive(Clone, Debug)]
pub struct Footer {
    pub programme_name: String,
    pub contact_email: String,
    pub base_url: String,
}

#[derive(Clone, Debug)]
pub struct Invitation {
    pub name: String,
    pub role: String,
    pub municipality: Option<String>,
    pub link: String,
    pub valid_until: String,
}

#[derive(Clone, Debug)]
/// Goes to an address typed into a public form: it repeats nothing the visitor typed, so the
/// form cannot be used to send arbitrary text in the ministry's name.
pub struct AccessRequestReceived {
    pub municipality: String,
}

#[derive(Clone, Debug)]
pub struct AccessRequestApproved {
    pub name: String,
    pub link: String,
    pub valid_until: String,
}

#[derive(Clone, Debug)]
pub struct AccessRequestDeclined {
    pub name: String,
    pub reason: String,
}

#[derive(Clone, Debug)]
pub struct PasswordReset {
    pub name: String,
    pub link: String,
    pub valid_until: String,
}

#[derive(Clone, Debug)]
pub struct PasswordChanged {
    pub name: String,
    pub changed_at: String,
}

#[derive(Clone, Debug)]
pub struct SubmissionReceipt {
    pub reference: String,
    pub title: String,
    pub round: String,
    pub submitted_at: String,
    pub link: String,
}

/// Nachforderung: the reviewer asks for more information.
#[derive(Clone, Debug)]
pub struct ChangeRequest {
    pub reference: String,
    pub title: String,
    pub message: String,
    pub sections: Vec<String>,
    pub deadline: String,
    pub link: String,
}

#[derive(Clone, Debug)]
pub struct ResubmissionReceived {
    pub reference: String,
    pub title: String,
    pub municipality: String,
    pub link: String,
}

#[derive(Clone, Debug)]
pub struct DecisionAvailable {
    pub reference: String,
    pub title: String,
    /// "bewilligt" / "abgelehnt"
    pub outcome: String,
    pub link: String,
}

#[derive(Clone, Debug)]
pub struct WithdrawalConfirmation {
    pub reference: String,
    pub title: String,
    pub withdrawn_at: String,
}

#[derive(Clone, Debug)]
pub struct DeadlineReminder {
    pub title: String,
    pub round: String,
    pub deadline: String,
    pub days_left: i64,
    pub link: String,
}

#[derive(Clone, Debug)]
pub struct PartnerConfirmationRequest {
    pub lead: String,
    pub partner: String,
    pub title: String,
    pub link: String,
}

/// A message on a case, between the ministry and the municipality.
#[derive(Clone, Debug)]
pub struct CaseMessage {
    pub reference: String,
    pub title: String,
    /// "Das Thüringer Finanzministerium" or the municipality's name.
    pub from: String,
    pub message: String,
    pub link: String,
}

/// "Nachnutzung anfragen": a visitor of the public catalogue writes to a project's mailbox.
#[derive(Clone, Debug)]
pub struct ReuseRequest {
    pub title: String,
    pub from_name: String,
    pub from_email: String,
    pub from_municipality: String,
    pub message: String,
    /// The catalogue entry.
    pub link: String,
}

/// The copy for the visitor who asked: it repeats nothing the visitor typed, so the public
/// form cannot send arbitrary text to arbitrary addresses in the ministry's name.
#[derive(Clone, Debug)]
pub struct ReuseRequestSent {
    pub title: String,
    pub link: String,
}

/// A payout request (Mittelabruf) moved on: to the municipality's clerks at every step.
#[derive(Clone, Debug)]
pub struct PayoutUpdate {
    pub reference: String,
    pub title: String,
    pub number: i32,
    pub amount: String,
    /// The new status, as the municipality sees it ("Zur Zahlung angeordnet").
    pub status: String,
    /// What happened, as a sentence ("Das Ministerium hat die Zahlung angeordnet.").
    pub what: String,
    /// The reviewer's reason (sending back, a lower amount), if any.
    pub message: String,
    pub link: String,
}

/// A step in a grant's life after the award (a change request; later the proof of use and the
/// settlement): to the municipality's clerks, or to the ministry's reviewer.
#[derive(Clone, Debug)]
pub struct GrantUpdate {
    pub reference: String,
    pub title: String,
    /// What the step is about ("Änderungsantrag 1").
    pub about: String,
    /// Where it stands now ("Genehmigt").
    pub status: String,
    /// What happened, as a sentence.
    pub what: String,
    /// The other side's words (a reason), if any.
    pub message: String,
    pub link: String,
}

/// A step in a Projektskizze's consultation or partner search: to the ministry's reviewers,
/// to the outline's municipality, or to an interested municipality's clerk.
#[derive(Clone, Debug)]
pub struct OutlineUpdate {
    pub title: String,
    /// What happened, for the subject ("Neue Nachricht des Ministeriums").
    pub about: String,
    /// What happened, as a sentence.
    pub what: String,
    /// The other side's words, if any.
    pub message: String,
    pub link: String,
}

#[derive(Clone, Debug)]
pub enum Message {
    Invitation(Invitation),
    AccessRequestReceived(AccessRequestReceived),
    AccessRequestApproved(AccessRequestApproved),
    AccessRequestDeclined(AccessRequestDeclined),
    PasswordReset(PasswordReset),
    PasswordChanged(PasswordChanged),
    SubmissionReceipt(SubmissionReceipt),
    ChangeRequest(ChangeRequest),
    ResubmissionReceived(ResubmissionReceived),
    DecisionAvailable(DecisionAvailable),
    WithdrawalConfirmation(WithdrawalConfirmation),
    DeadlineReminder(DeadlineReminder),
    PartnerConfirmationRequest(PartnerConfirmationRequest),
    CaseMessage(CaseMessage),
    PayoutUpdate(PayoutUpdate),
    GrantUpdate(GrantUpdate),
    ReuseRequest(ReuseRequest),
    ReuseRequestSent(ReuseRequestSent),
    OutlineUpdate(OutlineUpdate),
}

/// A message ready for the outbox.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct TextPart<'a> {
    message: &'a Message,
    footer: &'a Footer,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlPart<'a> {
    message: &'a Message,
    footer: &'a Footer,
    subject: &'a str,
}

impl Message {
    /// Stable name of the message type, stored with each outbox row.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Invitation(_) => "invitation",
            Message::AccessRequestReceived(_) => "access-request-received",
            Message::AccessRequestApproved(_) => "access-request-approved",
            Message::AccessRequestDeclined(_) => "access-request-declined",
            Message::PasswordReset(_) => "password-reset",
            Message::PasswordChanged(_) => "password-changed",
            Message::SubmissionReceipt(_) => "submission-receipt",
            Message::ChangeRequest(_) => "change-request",
            Message::ResubmissionReceived(_) => "resubmission-received",
            Message::DecisionAvailable(_) => "decision-available",
            Message::WithdrawalConfirmation(_) => "withdrawal-confirmation",
            Message::DeadlineReminder(_) => "deadline-reminder",
            Message::PartnerConfirmationRequest(_) => "partner-confirmation-request",
            Message::CaseMessage(_) => "case-message",
            Message::PayoutUpdate(_) => "payout-update",
            Message::GrantUpdate(_) => "grant-update",
            Message::ReuseRequest(_) => "reuse-request",
            Message::ReuseRequestSent(_) => "reuse-request-sent",
            Message::OutlineUpdate(_) => "outline-update",
        }
    }

    /// The subject, on one line whatever the data contains (no header injection).
    pub fn subject(&self) -> String {
        let subject = match self {
            Message::Invitation(_) => {
                "Einladung zum Förderportal E-Government Thüringen".to_string()
            }
            Message::AccessRequestReceived(_) => {
                "Ihr Antrag auf Zugang zum Förderportal ist eingegangen".to_string()
            }
            Message::AccessRequestApproved(_) => {
                "Ihr Zugang zum Förderportal wurde freigegeben".to_string()
            }
            Message::AccessRequestDeclined(_) => {
                "Ihr Antrag auf Zugang zum Förderportal wurde abgelehnt".to_string()
            }
            Message::PasswordReset(_) => "Passwort für das Förderportal zurücksetzen".to_string(),
            Message::PasswordChanged(_) => {
                "Ihr Passwort für das Förderportal wurde geändert".to_string()
            }
            Message::SubmissionReceipt(m) => {
                format!("Eingangsbestätigung: {} – {}", m.reference, m.title)
            }
            Message::ChangeRequest(m) => format!("Nachforderung zu Ihrem Antrag {}", m.reference),
            Message::ResubmissionReceived(m) => {
                format!(
                    "Antrag {} wurde nach Nachforderung erneut eingereicht",
                    m.reference
                )
            }
            Message::DecisionAvailable(m) => {
                format!("Entscheidung zu Ihrem Antrag {}", m.reference)
            }
            Message::WithdrawalConfirmation(m) => {
                format!("Bestätigung: Antrag {} zurückgezogen", m.reference)
            }
            Message::DeadlineReminder(m) => match m.days_left {
                0 => format!("Erinnerung: Die Antragsfrist für „{}“ endet heute", m.title),
                1 => format!(
                    "Erinnerung: Die Antragsfrist für „{}“ endet morgen",
                    m.title
                ),
                n => format!(
                    "Erinnerung: Die Antragsfrist für „{}“ endet in {n} Tagen",
                    m.title
                ),
            },
            Message::PartnerConfirmationRequest(m) => {
                format!(
                    "Bitte bestätigen: Beteiligung von {} am Vorhaben „{}“",
                    m.partner, m.title
                )
            }
            Message::CaseMessage(m) => format!("Neue Nachricht zum Antrag {}", m.reference),
            Message::PayoutUpdate(m) => format!(
                "Mittelabruf {} zum Antrag {}: {}",
                m.number, m.reference, m.status
            ),
            Message::GrantUpdate(m) => {
                format!("{} zum Antrag {}: {}", m.about, m.reference, m.status)
            }
            Message::ReuseRequest(m) => format!("Anfrage zur Nachnutzung: {}", m.title),
            Message::ReuseRequestSent(m) => {
                format!(
                    "Ihre Anfrage zur Nachnutzung von „{}“ ist weitergeleitet",
                    m.title
                )
            }
            Message::OutlineUpdate(m) => format!("Projektskizze „{}“: {}", m.title, m.about),
        };
        one_line(&subject, 200)
    }

    pub fn render(&self, footer: &Footer) -> Result<Rendered, askama::Error> {
        let subject = self.subject();
        let text = TextPart {
            message: self,
            footer,
        }
        .render()?;
        let html = HtmlPart {
            message: self,
            footer,
            subject: &subject,
        }
        .render()?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

/// Control characters (CR, LF, …) become spaces, runs of white space one space; at most `max`
/// characters. Used for everything that ends up in a header.
pub fn one_line(s: &str, max: usize) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footer() -> Footer {
        Footer {
            programme_name: "Förderung von E-Government und IT in Thüringer Kommunen".into(),
            contact_email: "egovernment@tfm.thueringen.de".into(),
            base_url: "https://foerderportal.example".into(),
        }
    }

    #[test]
    fn user_data_cannot_break_out_of_the_subject_line() {
        let m = Message::SubmissionReceipt(SubmissionReceipt {
            reference: "EGOV-2027-0042".into(),
            title: "Portal\r\nBcc: angreifer@example.org".into(),
            round: "Förderaufruf 2027".into(),
            submitted_at: "02.06.2027, 10:45 Uhr".into(),
            link: "https://foerderportal.example/antraege/42".into(),
        });
        assert_eq!(
            m.subject(),
            "Eingangsbestätigung: EGOV-2027-0042 – Portal Bcc: angreifer@example.org"
        );
    }

    #[test]
    fn the_html_part_escapes_user_data_and_the_text_part_keeps_it_verbatim() {
        let m = Message::ChangeRequest(ChangeRequest {
            reference: "EGOV-2027-0042".into(),
            title: "Müller & Söhne <script>".into(),
            message: "Bitte reichen Sie den Ratsbeschluss nach.\n<b>Danke</b>".into(),
            sections: vec!["Kosten- und Finanzierungsplan".into()],
            deadline: "15.01.2027".into(),
            link: "https://foerderportal.example/antraege/42".into(),
        });
        let r = m.render(&footer()).unwrap();
        assert!(
            r.html.contains("Müller &#38; Söhne &#60;script&#62;")
                || r.html.contains("Müller &amp; Söhne &lt;script&gt;"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<script>"));
        assert!(r.text.contains("Müller & Söhne <script>"));
        assert!(r.text.contains("15.01.2027") && r.text.contains("Kosten- und Finanzierungsplan"));
    }

    #[test]
    fn every_message_renders_with_the_footer_and_its_link() {
        let link = "https://foerderportal.example/x".to_string();
        let all = vec![
            Message::Invitation(Invitation {
                name: "A".into(),
                role: "Kommunale Sachbearbeitung".into(),
                municipality: Some("Gotha".into()),
                link: link.clone(),
                valid_until: "29.11.2026".into(),
            }),
            Message::AccessRequestReceived(AccessRequestReceived {
                municipality: "Gotha".into(),
            }),
            Message::AccessRequestApproved(AccessRequestApproved {
                name: "A".into(),
                link: link.clone(),
                valid_until: "29.11.2026".into(),
            }),
            Message::AccessRequestDeclined(AccessRequestDeclined {
                name: "A".into(),
                reason: "Keine kommunale Adresse".into(),
            }),
            Message::PasswordReset(PasswordReset {
                name: "A".into(),
                link: link.clone(),
                valid_until: "22.11.2026, 14:00 Uhr".into(),
            }),
            Message::PasswordChanged(PasswordChanged {
                name: "A".into(),
                changed_at: "22.11.2026, 13:00 Uhr".into(),
            }),
            Message::SubmissionReceipt(SubmissionReceipt {
                reference: "R".into(),
                title: "T".into(),
                round: "F".into(),
                submitted_at: "D".into(),
                link: link.clone(),
            }),
            Message::ChangeRequest(ChangeRequest {
                reference: "R".into(),
                title: "T".into(),
                message: "M".into(),
                sections: vec![],
                deadline: "D".into(),
                link: link.clone(),
            }),
            Message::ResubmissionReceived(ResubmissionReceived {
                reference: "R".into(),
                title: "T".into(),
                municipality: "Gotha".into(),
                link: link.clone(),
            }),
            Message::DecisionAvailable(DecisionAvailable {
                reference: "R".into(),
                title: "T".into(),
                outcome: "bewilligt".into(),
                link: link.clone(),
            }),
            Message::WithdrawalConfirmation(WithdrawalConfirmation {
                reference: "R".into(),
                title: "T".into(),
                withdrawn_at: "D".into(),
            }),
            Message::DeadlineReminder(DeadlineReminder {
                title: "T".into(),
                round: "F".into(),
                deadline: "D".into(),
                days_left: 7,
                link: link.clone(),
            }),
            Message::PartnerConfirmationRequest(PartnerConfirmationRequest {
                lead: "Gotha".into(),
                partner: "Jena".into(),
                title: "T".into(),
                link: link.clone(),
            }),
            Message::CaseMessage(CaseMessage {
                reference: "R".into(),
                title: "T".into(),
                from: "Gotha".into(),
                message: "M".into(),
                link: link.clone(),
            }),
            Message::PayoutUpdate(PayoutUpdate {
                reference: "R".into(),
                title: "T".into(),
                number: 2,
                amount: "50.000,00 €".into(),
                status: "Ausgezahlt".into(),
                what: "Der Betrag wurde ausgezahlt.".into(),
                message: String::new(),
                link: link.clone(),
            }),
            Message::GrantUpdate(GrantUpdate {
                reference: "R".into(),
                title: "T".into(),
                about: "Änderungsantrag 1".into(),
                status: "Genehmigt".into(),
                what: "Das Ministerium hat die Änderung genehmigt.".into(),
                message: String::new(),
                link: link.clone(),
            }),
            Message::ReuseRequest(ReuseRequest {
                title: "T".into(),
                from_name: "N".into(),
                from_email: "n@example.org".into(),
                from_municipality: "Gotha".into(),
                message: "M".into(),
                link: link.clone(),
            }),
            Message::ReuseRequestSent(ReuseRequestSent {
                title: "T".into(),
                link: link.clone(),
            }),
        ];
        for m in all {
            let r = m.render(&footer()).unwrap();
            assert!(
                r.text.contains("egovernment@tfm.thueringen.de"),
                "{}: text footer",
                m.kind()
            );
            assert!(
                r.html.contains("egovernment@tfm.thueringen.de"),
                "{}: html footer",
                m.kind()
            );
            assert!(
                r.html.starts_with("<!DOCTYPE html>") && r.html.contains("lang=\"de\""),
                "{}",
                m.kind()
            );
            let has_link = !matches!(
                m,
                Message::AccessRequestReceived(_)
                    | Message::AccessRequestDeclined(_)
                    | Message::PasswordChanged(_)
                    | Message::WithdrawalConfirmation(_)
            );
            if has_link {
                assert!(
                    r.text.contains(&link) && r.html.contains(&format!("href=\"{link}\"")),
                    "{}: link",
                    m.kind()
                );
            }
            assert!(!r.subject.is_empty());
        }
    }
}
