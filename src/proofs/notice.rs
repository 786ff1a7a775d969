//! The Schlussbescheid as PDF: the settlement table, the final payment or the repayment demand
//! with its interest per payout. The letter's look and tagging are `crate::letters`.

use super::views::SettlementView;
use crate::letters::{Align, Column, Letter, Sender};

pub struct FinalNotice {
    pub reference: String,
    pub date: String,
    pub addressee: Vec<String>,
    pub sender: Sender,
    pub title: String,
    pub submitted: String,
    pub awarded: String,
    pub financing_rule: String,
    pub settlement: SettlementView,
    pub account: String,
    pub signed_by: String,
}

fn column(header: &str, share: f32, align: Align) -> Column<'_> {
    Column {
        header,
        share,
        align,
    }
}

fn layout(n: &FinalNotice) -> Letter {
    let s = &n.settlement;
    let mut l = Letter::new();
    l.head(&n.sender, &n.addressee, &n.date, &n.reference);
    l.subject("Schlussbescheid", &format!("Vorhaben: {}", n.title));
    l.text(&format!(
        "Ihren Verwendungsnachweis vom {} zum Zuwendungsbescheid vom {} habe ich geprüft. Die Zuwendung setze ich endgültig auf",
        n.submitted, n.awarded
    ));
    l.figure(&s.final_grant);
    l.text("fest.");
    l.heading("Abrechnung");
    let mut rows = vec![
        vec![
            "Zuwendungsfähige Ausgaben lt. Bescheid".to_string(),
            s.planned_eligible.clone(),
        ],
        vec![
            "Zuwendungsfähige Ausgaben lt. Abrechnung".to_string(),
            s.actual_eligible.clone(),
        ],
    ];
    if s.has_disallowed {
        rows.push(vec!["davon nicht anerkannt".into(), s.disallowed.clone()]);
    }
    rows.extend([
        vec![
            "Anerkannte zuwendungsfähige Ausgaben".to_string(),
            s.recognised.clone(),
        ],
        vec![
            "Bewilligte Zuwendung (Höchstbetrag)".to_string(),
            s.granted.clone(),
        ],
        vec!["Festgesetzte Zuwendung".to_string(), s.final_grant.clone()],
        vec!["Bereits ausgezahlt".to_string(), s.paid.clone()],
        vec![s.balance_label.to_string(), s.balance.clone()],
    ]);
    l.table(
        &[
            column("Position", 3.0, Align::Left),
            column("Betrag", 1.2, Align::Right),
        ],
        &rows,
        1,
    );
    l.small(&n.financing_rule);
    if s.repayment {
        l.heading("Rückforderung und Zinsen");
        l.small(&format!(
            "Soweit die ausgezahlten Mittel die festgesetzte Zuwendung übersteigen, widerrufe ich den Zuwendungsbescheid mit Wirkung für die Vergangenheit (§ 49 Abs. 3 ThürVwVfG). Den Betrag von {} erstatten Sie bitte zusammen mit den Zinsen bis zum {} (§ 49a Abs. 1 ThürVwVfG).",
            s.balance, s.repayment_due_on
        ));
        l.small(&format!(
            "Der Erstattungsbetrag ist vom Tag der Auszahlung an mit fünf Prozentpunkten über dem Basiszinssatz jährlich zu verzinsen (§ 49a Abs. 3 ThürVwVfG). Zurückgefordert werden zuerst die zuletzt ausgezahlten Beträge; die Zinsen sind je Auszahlung und Tag bis zum {} berechnet (365 Tage je Jahr, auf volle Cent abgerundet). Zinsen für die Zeit danach bis zum Eingang der Zahlung werden gesondert festgesetzt.",
            s.interest_until
        ));
        let mut interest: Vec<Vec<String>> = s
            .interest
            .iter()
            .map(|i| {
                vec![
                    i.paid_on.clone(),
                    i.repaid.clone(),
                    i.days.to_string(),
                    i.interest.clone(),
                ]
            })
            .collect();
        interest.push(vec![
            "Summe".into(),
            s.balance.clone(),
            String::new(),
            s.interest_total.clone(),
        ]);
        l.table(
            &[
                column("Ausgezahlt am", 1.2, Align::Left),
                column("Zu erstatten", 1.3, Align::Right),
                column("Zinstage", 0.8, Align::Right),
                column("Zinsen", 1.2, Align::Right),
            ],
            &interest,
            1,
        );
        l.field("Zu zahlen insgesamt", &s.demand_total);
    } else if s.balance_cents > 0 {
        l.heading("Restzahlung");
        l.small(&format!(
            "Den Restbetrag von {} zahle ich mit dem nächsten Zahllauf auf das Konto {} aus.",
            s.balance, n.account
        ));
    }
    if !s.note.is_empty() {
        l.heading("Begründung");
        l.small(&s.note);
    }
    l.closing(&n.sender, &n.signed_by);
    l
}

pub fn render(n: &FinalNotice) -> anyhow::Result<Vec<u8>> {
    layout(n).render(&format!("Schlussbescheid {}", n.reference), &n.reference)
}
