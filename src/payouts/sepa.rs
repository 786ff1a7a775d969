//! The SEPA credit transfer file of a payment run (Zahllauf) for the state cash office:
//! ISO 20022 `pain.001.001.09`, one payment information block per run, one transaction per
//! payout. Texts are reduced to the SEPA character set (umlauts spelled out, anything else
//! outside it becomes a space), because banks may refuse others; amounts are exact cents.

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::money::Cents;

/// The account the money leaves from (configured per programme).
#[derive(Clone, Debug)]
pub struct Debtor {
    pub name: String,
    pub iban: String,
    /// Optional within the EEA; "NOTPROVIDED" is sent without one.
    pub bic: Option<String>,
}

/// One payout of the run.
#[derive(Clone, Debug)]
pub struct Transfer {
    /// Unique per payout, so the cash office and the municipality can match the booking.
    pub end_to_end_id: String,
    pub creditor_name: String,
    pub creditor_iban: String,
    pub amount: Cents,
    /// Remittance information, with the Aktenzeichen (at most 140 characters are sent).
    pub remittance: String,
}

#[derive(Clone, Debug)]
pub struct Run {
    /// Unique per file (at most 35 characters).
    pub message_id: String,
    pub created_at: OffsetDateTime,
    /// The value date the cash office is asked to execute on.
    pub execution_date: time::Date,
    pub debtor: Debtor,
    pub transfers: Vec<Transfer>,
}

impl Run {
    /// The sum of all transfers: the control sum of the file.
    pub fn total(&self) -> Cents {
        Cents::new(self.transfers.iter().map(|t| t.amount.get()).sum())
    }
}

/// The file as UTF-8 XML.
pub fn pain_001_001_09(run: &Run) -> String {
    let count = run.transfers.len();
    let total = decimal(run.total());
    let debtor_name = text(&run.debtor.name, 70);
    let created = run
        .created_at
        .replace_nanosecond(0)
        .unwrap_or(run.created_at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let agent = match &run.debtor.bic {
        Some(bic) => format!("<BICFI>{}</BICFI>", escape(&compact(bic))),
        None => "<Othr><Id>NOTPROVIDED</Id></Othr>".to_string(),
    };
    let mut xml = String::with_capacity(1024 + count * 600);
    xml.push_str(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        "\n",
        r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">"#,
        "<CstmrCdtTrfInitn>"
    ));
    let _ = write!(
        xml,
        "<GrpHdr><MsgId>{id}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>{count}</NbOfTxs>\
         <CtrlSum>{total}</CtrlSum><InitgPty><Nm>{debtor_name}</Nm></InitgPty></GrpHdr>\
         <PmtInf><PmtInfId>{id}</PmtInfId><PmtMtd>TRF</PmtMtd><BtchBookg>false</BtchBookg>\
         <NbOfTxs>{count}</NbOfTxs><CtrlSum>{total}</CtrlSum>\
         <PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>\
         <ReqdExctnDt><Dt>{date}</Dt></ReqdExctnDt>\
         <Dbtr><Nm>{debtor_name}</Nm></Dbtr>\
         <DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct>\
         <DbtrAgt><FinInstnId>{agent}</FinInstnId></DbtrAgt><ChrgBr>SLEV</ChrgBr>",
        id = text(&run.message_id, 35),
        date = run.execution_date,
        iban = escape(&compact(&run.debtor.iban)),
    );
    for t in &run.transfers {
        let _ = write!(
            xml,
            "<CdtTrfTxInf><PmtId><EndToEndId>{e2e}</EndToEndId></PmtId>\
             <Amt><InstdAmt Ccy=\"EUR\">{amount}</InstdAmt></Amt>\
             <Cdtr><Nm>{name}</Nm></Cdtr><CdtrAcct><Id><IBAN>{iban}</IBAN></Id></CdtrAcct>\
             <RmtInf><Ustrd>{remittance}</Ustrd></RmtInf></CdtTrfTxInf>",
            e2e = text(&t.end_to_end_id, 35),
            amount = decimal(t.amount),
            name = text(&t.creditor_name, 70),
            iban = escape(&compact(&t.creditor_iban)),
            remittance = text(&t.remittance, 140),
        );
    }
    xml.push_str("</PmtInf></CstmrCdtTrfInitn></Document>\n");
    xml
}

/// "1234.50": the XML decimal of an amount, from its cents.
fn decimal(amount: Cents) -> String {
    let c = amount.get();
    format!("{}.{:02}", c / 100, c % 100)
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// A text field: in the SEPA character set, at most `max` characters, escaped for XML.
fn text(value: &str, max: usize) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() || "/-?:().,'+ ".contains(c) => out.push(c),
            _ => out.push(' '),
        }
    }
    let cut: String = out.trim().chars().take(max).collect();
    escape(cut.trim_end())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn example(transfers: usize) -> Run {
        Run {
            message_id: "FP-ZL-2026-0001".into(),
            created_at: time::macros::datetime!(2026-12-01 10:15:30.25 +1),
            execution_date: time::macros::date!(2026 - 12 - 15),
            debtor: Debtor {
                name: "Freistaat Thüringen, Landeshauptkasse".into(),
                iban: "DE02 8205 0000 3004 4440 40".into(),
                bic: Some("HELADEF1WEM".into()),
            },
            transfers: (0..transfers)
                .map(|i| Transfer {
                    end_to_end_id: format!("EGOV-2026-{:04}-A{}", i + 1, 1),
                    creditor_name: "Gemeinde Bürgel & Umland <Kämmerei>".into(),
                    creditor_iban: "DE89 3704 0044 0532 0130 00".into(),
                    amount: Cents::new(5_000_000 + i64::try_from(i).unwrap_or(0)),
                    remittance: format!("Zuwendung EGOV-2026-{:04} Mittelabruf 1", i + 1),
                })
                .collect(),
        }
    }

    #[test]
    fn amounts_and_the_control_sum_are_exact_cents() {
        let xml = pain_001_001_09(&example(3));
        assert!(xml.contains("<InstdAmt Ccy=\"EUR\">50000.00</InstdAmt>"));
        assert!(xml.contains("<InstdAmt Ccy=\"EUR\">50000.02</InstdAmt>"));
        assert_eq!(xml.matches("<CtrlSum>150000.03</CtrlSum>").count(), 2);
        assert_eq!(xml.matches("<NbOfTxs>3</NbOfTxs>").count(), 2);
        assert_eq!(decimal(Cents::new(5)), "0.05");
    }

    #[test]
    fn texts_keep_to_the_sepa_character_set() {
        let xml = pain_001_001_09(&example(1));
        assert!(
            xml.contains("<Nm>Gemeinde Buergel   Umland  Kaemmerei</Nm>"),
            "{xml}"
        );
        assert!(xml.contains("<Nm>Freistaat Thueringen, Landeshauptkasse</Nm>"));
        assert!(xml.contains("<IBAN>DE89370400440532013000</IBAN>"));
        assert_eq!(text(&"x".repeat(200), 140).len(), 140);
        assert_eq!(text("O'Brien", 70), "O&apos;Brien");
    }
}
