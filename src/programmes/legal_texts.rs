//! The programme's legal texts (Rechtstexte): what every notice prints besides its own
//! content, and the operator's details on the legal pages. Admins keep them; the portal ships
//! none, so a deployment never issues a notice with a placeholder.

use crate::letters::Sender;

/// All legal texts of a programme, as stored (`programme_legal_texts`); the admin form's
/// fields have the same names.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct LegalTexts {
    /// Notices: the authority and its address, one line each; the first is printed large.
    pub letterhead: String,
    pub legal_remedy: String,
    /// Printed in every Zuwendungsbescheid before the decision's own Nebenbestimmungen.
    pub standard_conditions: String,
    /// Printed under the signing reviewer's name (unit, function).
    pub signature_line: String,
    /// Impressum: who publishes the portal, with address (several lines).
    pub publisher: String,
    pub represented_by: String,
    pub responsible_unit: String,
    pub content_responsible: String,
    pub vat_id: String,
    pub hosting_provider: String,
    /// Datenschutzerklärung: how to reach the data protection officer.
    pub dpo_contact: String,
    pub account_retention: String,
    pub record_retention: String,
}

impl LegalTexts {
    /// Every text by its field name, for forms that treat them alike.
    pub fn fields_mut(&mut self) -> [(&'static str, &mut String); 13] {
        [
            ("letterhead", &mut self.letterhead),
            ("legal_remedy", &mut self.legal_remedy),
            ("standard_conditions", &mut self.standard_conditions),
            ("signature_line", &mut self.signature_line),
            ("publisher", &mut self.publisher),
            ("represented_by", &mut self.represented_by),
            ("responsible_unit", &mut self.responsible_unit),
            ("content_responsible", &mut self.content_responsible),
            ("vat_id", &mut self.vat_id),
            ("hosting_provider", &mut self.hosting_provider),
            ("dpo_contact", &mut self.dpo_contact),
            ("account_retention", &mut self.account_retention),
            ("record_retention", &mut self.record_retention),
        ]
    }

    /// The texts no notice may go without: (field, name in the admin form, value).
    pub fn required_for_notices(&self) -> [(&'static str, &'static str, &str); 2] {
        [
            ("letterhead", "Briefkopf", &self.letterhead),
            ("legal_remedy", "Rechtsbehelfsbelehrung", &self.legal_remedy),
        ]
    }

    /// The required notice texts that are still empty, by their names in the admin form.
    pub fn missing_for_notices(&self) -> Vec<&'static str> {
        self.required_for_notices()
            .into_iter()
            .filter(|(_, _, value)| value.trim().is_empty())
            .map(|(_, name, _)| name)
            .collect()
    }

    /// The legal pages' details that are still empty (the pages leave those parts out).
    pub fn missing_for_pages(&self) -> Vec<&'static str> {
        [
            (&self.publisher, "Herausgeber"),
            (&self.represented_by, "Vertretungsberechtigt"),
            (&self.content_responsible, "Verantwortlich für den Inhalt"),
            (&self.hosting_provider, "Technischer Betrieb"),
            (
                &self.dpo_contact,
                "Datenschutzbeauftragte oder Datenschutzbeauftragter",
            ),
        ]
        .into_iter()
        .filter(|(value, _)| value.trim().is_empty())
        .map(|(_, name)| name)
        .collect()
    }

    /// The texts a notice prints, or why no notice may be issued yet.
    pub fn for_notice(&self) -> Result<Sender, String> {
        let missing = self.missing_for_notices();
        if !missing.is_empty() {
            return Err(format!(
                "Der Bescheid kann noch nicht erlassen werden: In den Rechtstexten der Förderrichtlinie fehlt {}. Eine Administratorin oder ein Administrator trägt sie unter „Richtlinie → Rechtstexte“ ein; bis dahin bleibt der Vorgang offen.",
                list(&missing)
            ));
        }
        Ok(Sender {
            letterhead: lines(&self.letterhead),
            legal_remedy: self.legal_remedy.trim().to_string(),
            standard_conditions: self.standard_conditions.trim().to_string(),
            signature_line: self.signature_line.trim().to_string(),
        })
    }
}

/// The non-empty lines of a multi-line text, trimmed.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// "A", "A und B", "A, B und C".
fn list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("die Angabe „{one}“"),
        [init @ .., last] => format!(
            "die Angaben {} und „{last}“",
            init.iter()
                .map(|n| format!("„{n}“"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> LegalTexts {
        LegalTexts {
            letterhead: "Thüringer Finanzministerium\n\n  Ludwig-Erhard-Ring 7, 99099 Erfurt "
                .into(),
            legal_remedy: "Gegen diesen Bescheid kann Klage erhoben werden.".into(),
            ..LegalTexts::default()
        }
    }

    #[test]
    fn a_notice_needs_its_letterhead_and_legal_remedy() {
        let texts = complete().for_notice().unwrap();
        assert_eq!(
            texts.letterhead,
            [
                "Thüringer Finanzministerium",
                "Ludwig-Erhard-Ring 7, 99099 Erfurt"
            ]
        );
        let refusal = LegalTexts {
            legal_remedy: "  \n ".into(),
            ..complete()
        }
        .for_notice()
        .unwrap_err();
        assert!(
            refusal.contains("fehlt die Angabe „Rechtsbehelfsbelehrung“"),
            "{refusal}"
        );
        let refusal = LegalTexts::default().for_notice().unwrap_err();
        assert!(
            refusal.contains("die Angaben „Briefkopf“ und „Rechtsbehelfsbelehrung“"),
            "{refusal}"
        );
    }

    #[test]
    fn the_legal_pages_name_what_is_missing() {
        assert_eq!(LegalTexts::default().missing_for_pages().len(), 5);
        let filled = LegalTexts {
            publisher: "Freistaat Thüringen".into(),
            represented_by: "Die Ministerin".into(),
            content_responsible: "Referatsleitung".into(),
            hosting_provider: "Rechenzentrum".into(),
            dpo_contact: "datenschutz@example.org".into(),
            ..LegalTexts::default()
        };
        assert!(filled.missing_for_pages().is_empty());
    }
}
