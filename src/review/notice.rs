//! The Zuwendungsbescheid and the Ablehnungsbescheid: what they say. How a letter of the
//! ministry is laid out and written as tagged PDF is `crate::letters`.

use crate::letters::{Letter, Sender};

/// Everything a notice says; values already formatted for display.
#[derive(Clone, Debug)]
pub struct Notice {
    pub approved: bool,
    pub reference: String,
    /// "23.11.2026"
    pub date: String,
    pub addressee: Vec<String>,
    pub title: String,
    pub round: String,
    pub submitted: String,
    pub amount: String,
    pub rate: String,
    pub eligible: String,
    pub financing: String,
    pub period: String,
    pub legal_basis: String,
    pub conditions: String,
    /// Rejection grounds, or why the eligible costs were cut.
    pub reason: String,
    pub signed_by: String,
    pub sender: Sender,
}

impl Notice {
    /// "im Förderaufruf „2027“", or "im „Förderaufruf 2027“" where the title says it already.
    fn in_round(&self) -> String {
        if self.round.starts_with("Förderaufruf") {
            format!("im „{}“", self.round)
        } else {
            format!("im Förderaufruf „{}“", self.round)
        }
    }

    fn kind(&self) -> &'static str {
        if self.approved {
            "Zuwendungsbescheid"
        } else {
            "Ablehnungsbescheid"
        }
    }
}

fn layout(n: &Notice) -> Letter {
    let mut l = Letter::new();
    l.head(&n.sender, &n.addressee, &n.date, &n.reference);
    l.subject(n.kind(), &format!("Vorhaben: {}", n.title));
    if n.approved {
        l.text(&format!(
            "auf Ihren Antrag vom {} {} bewillige ich Ihnen für das oben genannte Vorhaben eine nicht rückzahlbare Zuwendung in Höhe von",
            n.submitted,
            n.in_round()
        ));
        l.figure(&n.amount);
        l.field("Zuwendungsart", "Projektförderung");
        l.field("Finanzierungsart", &n.financing);
        l.field(
            "Förderquote",
            &format!("{} der zuwendungsfähigen Ausgaben", n.rate),
        );
        l.field("Zuwendungsfähige Ausgaben", &n.eligible);
        l.field("Bewilligungszeitraum", &n.period);
        if !n.reason.is_empty() {
            l.field("Begründung der Kürzung", &n.reason);
        }
        l.heading("Rechtsgrundlage");
        l.small(&n.legal_basis);
        l.heading("Nebenbestimmungen");
        if !n.sender.standard_conditions.is_empty() {
            l.small(&n.sender.standard_conditions);
        }
        if !n.conditions.is_empty() {
            l.small(&n.conditions);
        }
    } else {
        l.text(&format!(
            "Ihren Antrag vom {} {} auf Gewährung einer Zuwendung für das oben genannte Vorhaben lehne ich ab.",
            n.submitted,
            n.in_round()
        ));
        l.heading("Begründung");
        l.small(&n.reason);
        l.heading("Rechtsgrundlage");
        l.small(&n.legal_basis);
    }
    l.closing(&n.sender, &n.signed_by);
    l
}

impl Notice {
    /// A Zuwendungsbescheid to a made-up municipality: how the legal texts look in a notice,
    /// for the admins' preview.
    pub fn specimen(sender: Sender, legal_basis: String) -> Notice {
        Notice {
            approved: true,
            reference: "MUSTER-0001".into(),
            date: crate::locale::day(crate::locale::today()),
            addressee: vec![
                "Musterstadt".into(),
                "Markt 1".into(),
                "99999 Musterstadt".into(),
            ],
            title: "Muster: Digitales Bürgerbüro".into(),
            round: "Förderaufruf (Muster)".into(),
            submitted: crate::locale::day(crate::locale::today()),
            amount: "80.000,00 €".into(),
            rate: "80 %".into(),
            eligible: "100.000,00 €".into(),
            financing: "Anteilfinanzierung".into(),
            period: "01.04.2027 bis 31.03.2028".into(),
            legal_basis,
            conditions: "Hier stehen die Nebenbestimmungen des Einzelfalls.".into(),
            reason: String::new(),
            signed_by: "Vorname Name".into(),
            sender,
        }
    }
}

/// The notice as PDF bytes.
pub fn render(n: &Notice) -> anyhow::Result<Vec<u8>> {
    layout(n).render(&format!("{} {}", n.kind(), n.reference), &n.reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn sample(approved: bool) -> Notice {
        Notice {
            approved,
            reference: "EGOV-2027-0042".into(),
            date: "23.11.2026".into(),
            addressee: vec![
                "Landkreis Kyffhäuserkreis".into(),
                "Markt 1".into(),
                "99706 Sondershausen".into(),
            ],
            title: "Digitales Bürgerbüro".into(),
            round: "Förderaufruf 2027".into(),
            submitted: "02.06.2026".into(),
            amount: "145.012,03 €".into(),
            rate: "80 %".into(),
            eligible: "181.265,04 €".into(),
            financing: "Anteilfinanzierung".into(),
            period: "01.04.2027 bis 31.03.2028".into(),
            legal_basis: "Richtlinie zur Förderung von E-Government und IT in Thüringer Kommunen"
                .into(),
            conditions: "Die ANBest-Gk sind Bestandteil dieses Bescheides. ".repeat(80),
            reason: String::new(),
            signed_by: "Paula Zweitprüferin".into(),
            sender: crate::letters::tests::sample_sender(),
        }
    }

    #[test]
    fn a_long_notice_breaks_across_numbered_pages() {
        let pdf = render(&sample(true)).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(layout(&sample(true)).page_count() >= 2);
        assert!(render(&sample(false)).unwrap().starts_with(b"%PDF-"));
    }

    #[test]
    fn the_round_is_named_once() {
        let n = sample(true);
        assert_eq!(n.in_round(), "im „Förderaufruf 2027“");
        let n = Notice {
            round: "E-Government 2027".into(),
            ..n
        };
        assert_eq!(n.in_round(), "im Förderaufruf „E-Government 2027“");
    }

    #[test]
    fn the_notice_is_tagged_for_screen_readers() {
        let pdf = render(&sample(true)).unwrap();
        let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"/StructTreeRoot"), "a structure tree");
        assert!(has(b"pdfuaid:part"), "declared PDF/UA-1");
        assert!(has(b"/Lang (de-DE)"), "the document's language");
        assert!(has(b"/Outlines"), "bookmarks");
    }
}
