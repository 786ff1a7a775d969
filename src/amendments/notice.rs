//! The Änderungsbescheid (or the rejection of a change) as PDF: what it says; the letter's look
//! and its tagging are `crate::letters`.

use crate::letters::{Align, Column, Letter, Sender};

use super::views::Comparison;

/// Everything the notice says, formatted for display.
pub struct AmendmentNotice {
    pub approved: bool,
    pub reference: String,
    pub date: String,
    pub addressee: Vec<String>,
    pub sender: Sender,
    pub title: String,
    pub number: i32,
    /// The day of the change request and of the award notice it changes.
    pub submitted: String,
    pub awarded: String,
    pub old_period: String,
    pub new_period: String,
    pub old_granted: String,
    pub new_granted: String,
    pub old_eligible: String,
    pub new_eligible: String,
    pub plan: Comparison,
    /// The municipality's reason for the change.
    pub reason: String,
    /// The ministry's grounds for a rejection.
    pub grounds: String,
    pub signed_by: String,
}

impl AmendmentNotice {
    fn kind(&self) -> &'static str {
        if self.approved {
            "Änderungsbescheid"
        } else {
            "Bescheid über Ihren Änderungsantrag"
        }
    }
}

fn layout(n: &AmendmentNotice) -> Letter {
    let mut l = Letter::new();
    l.head(&n.sender, &n.addressee, &n.date, &n.reference);
    l.subject(n.kind(), &format!("Vorhaben: {}", n.title));
    if n.approved {
        l.text(&format!(
            "auf Ihren Änderungsantrag {} vom {} ändere ich meinen Zuwendungsbescheid vom {} wie folgt:",
            n.number, n.submitted, n.awarded
        ));
        l.gap(6.0);
        let changed = |old: &str, new: &str| {
            if old == new {
                format!("{new} (unverändert)")
            } else {
                format!("{new} (bisher {old})")
            }
        };
        l.field(
            "Bewilligungszeitraum",
            &changed(&n.old_period, &n.new_period),
        );
        l.field("Zuwendung", &changed(&n.old_granted, &n.new_granted));
        l.field(
            "Zuwendungsfähige Ausgaben",
            &changed(&n.old_eligible, &n.new_eligible),
        );
        l.heading("Kosten- und Finanzierungsplan");
        l.small("Der Kostenplan gilt in der folgenden Fassung (Beträge je Kostenposition):");
        let column = |header, share, align| Column {
            header,
            share,
            align,
        };
        l.table(
            &[
                column("Nr.", 0.5, Align::Left),
                column("Kostenposition", 3.4, Align::Left),
                column("Jahr", 0.8, Align::Left),
                column("bisher", 1.5, Align::Right),
                column("neu", 1.5, Align::Right),
                column("Differenz", 1.5, Align::Right),
            ],
            &n.plan.cells(),
            1,
        );
        l.heading("Begründung");
        l.small(&format!(
            "Dem Änderungsantrag wird entsprochen. Sie haben die Änderung wie folgt begründet: {}",
            n.reason
        ));
        l.gap(6.0);
        l.small(&format!(
            "Im Übrigen gelten die Bestimmungen des Zuwendungsbescheids vom {} einschließlich seiner Nebenbestimmungen unverändert fort.",
            n.awarded
        ));
    } else {
        l.text(&format!(
            "Ihren Änderungsantrag {} vom {} zum Zuwendungsbescheid vom {} lehne ich ab. Es gilt der Zuwendungsbescheid in seiner bisherigen Fassung.",
            n.number, n.submitted, n.awarded
        ));
        l.heading("Begründung");
        l.small(&n.grounds);
    }
    l.closing(&n.sender, &n.signed_by);
    l
}

/// The notice as PDF bytes.
pub fn render(n: &AmendmentNotice) -> anyhow::Result<Vec<u8>> {
    layout(n).render(&format!("{} {}", n.kind(), n.reference), &n.reference)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amendments::model::PlanRow;
    use crate::money::Cents;

    #[test]
    fn the_notice_carries_the_plan_as_a_tagged_table() {
        let row = |euros| PlanRow {
            kind: "software".into(),
            description: "Lizenzen".into(),
            year: 2027,
            amount: Cents::from_euros(euros),
            eligible: true,
        };
        let notice = AmendmentNotice {
            approved: true,
            reference: "EGOV-2027-0042".into(),
            date: "01.12.2027".into(),
            addressee: vec!["Gemeinde Beispiel".into()],
            sender: crate::letters::tests::sample_sender(),
            title: "Digitales Bürgerbüro".into(),
            number: 1,
            submitted: "20.11.2027".into(),
            awarded: "01.03.2027".into(),
            old_period: "01.03.2027 bis 31.12.2027".into(),
            new_period: "01.03.2027 bis 30.06.2028".into(),
            old_granted: "8.000,00 €".into(),
            new_granted: "8.000,00 €".into(),
            old_eligible: "10.000,00 €".into(),
            new_eligible: "10.000,00 €".into(),
            plan: Comparison::new(&[row(10_000)], &[row(10_000)]),
            reason: "Lieferverzug".into(),
            grounds: String::new(),
            signed_by: "Paula Zweitprüferin".into(),
        };
        let pdf = render(&notice).unwrap();
        let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"/StructTreeRoot") && has(b"/Table") && has(b"pdfuaid:part"));
        let rejected = AmendmentNotice {
            approved: false,
            grounds: "Die Verlängerung ist nicht begründet.".into(),
            ..notice
        };
        assert!(render(&rejected).unwrap().starts_with(b"%PDF-"));
    }
}
