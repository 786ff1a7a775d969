//! The Belegliste as typed or imported: one receipt checked field by field, and a CSV file as
//! German Excel writes it (semicolons, decimal commas, Windows-1252 or UTF-8) checked row by
//! row. A file with a single bad row imports nothing and reports every bad row.

use serde::Deserialize;
use time::Date;

use super::model::Receipt;
use crate::locale;
use crate::money::{Cents, MoneyError};

/// Largest import file and most rows: a project's Belegliste is far smaller.
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
pub const MAX_ROWS: usize = 5000;
const TEXT_MAX: usize = 300;

/// What a receipt is checked against.
#[derive(Clone, Copy, Debug)]
pub struct ReceiptRules {
    /// Positions of the plan in force: 1 ..= `positions`.
    pub positions: i32,
    pub period_start: Date,
    pub today: Date,
}

/// One receipt as typed into the form (or read from a CSV row).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReceiptInput {
    pub paid_on: String,
    pub payee: String,
    pub purpose: String,
    pub cost_position: String,
    pub amount: String,
}

impl ReceiptInput {
    /// The receipt, or a German message per field (`field`, message).
    pub fn check(&self, rules: &ReceiptRules) -> Result<Receipt, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let paid_on = match locale::parse_day(self.paid_on.trim()) {
            Some(day) if day > rules.today => {
                problems.push(("paid_on", "Das Zahlungsdatum liegt in der Zukunft.".into()));
                None
            }
            Some(day) if day < rules.period_start => {
                problems.push((
                    "paid_on",
                    format!(
                        "Das Zahlungsdatum liegt vor dem Beginn des Bewilligungszeitraums ({}).",
                        locale::day(rules.period_start)
                    ),
                ));
                None
            }
            Some(day) => Some(day),
            None if self.paid_on.trim().is_empty() => {
                problems.push(("paid_on", "Bitte geben Sie das Zahlungsdatum an.".into()));
                None
            }
            None => {
                problems.push((
                    "paid_on",
                    "Bitte geben Sie das Zahlungsdatum als Datum ein, zum Beispiel 15.03.2027."
                        .into(),
                ));
                None
            }
        };
        let text = |field: &'static str, value: &str, what: &str, problems: &mut Vec<_>| {
            let cleaned = crate::validation::clean_line(value, TEXT_MAX + 1);
            if cleaned.is_empty() {
                problems.push((field, format!("Bitte geben Sie {what} an.")));
            } else if cleaned.chars().count() > TEXT_MAX {
                problems.push((field, format!("Höchstens {TEXT_MAX} Zeichen.")));
            }
            cleaned
        };
        let payee = text("payee", &self.payee, "den Zahlungsempfänger", &mut problems);
        let purpose = text(
            "purpose",
            &self.purpose,
            "den Zweck der Zahlung",
            &mut problems,
        );
        let cost_position = match self.cost_position.trim().parse::<i32>() {
            Ok(n) if (1..=rules.positions).contains(&n) => Some(n),
            _ => {
                problems.push((
                    "cost_position",
                    format!(
                        "Bitte geben Sie die Nummer der Kostenposition an (1 bis {}).",
                        rules.positions
                    ),
                ));
                None
            }
        };
        let amount = match self.amount.parse::<Cents>() {
            Ok(a) if a > Cents::ZERO => Some(a),
            Ok(_) => {
                problems.push(("amount", "Der Betrag muss größer als 0 € sein.".into()));
                None
            }
            Err(MoneyError::Empty) => {
                problems.push(("amount", "Bitte geben Sie den Betrag an.".into()));
                None
            }
            Err(e) => {
                problems.push(("amount", e.to_string()));
                None
            }
        };
        match (paid_on, cost_position, amount) {
            (Some(paid_on), Some(cost_position), Some(amount)) if problems.is_empty() => {
                Ok(Receipt {
                    paid_on,
                    payee,
                    purpose,
                    cost_position,
                    amount,
                })
            }
            _ => Err(problems),
        }
    }
}

/// A rejected row of an import: its line in the file and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedRow {
    pub line: u64,
    pub reasons: Vec<String>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("Die Datei ist leer.")]
    Empty,
    #[error("Die Datei ist zu groß (höchstens 2 MB).")]
    TooLarge,
    #[error("Die Datei hat mehr als {MAX_ROWS} Zeilen.")]
    TooManyRows,
    #[error("Die Datei ist keine lesbare CSV-Datei: {0}")]
    Unreadable(String),
    #[error(
        "Es fehlen Spalten: {0}. Erwartet werden Datum, Empfänger, Zweck, Kostenposition und Betrag."
    )]
    MissingColumns(String),
    #[error("{} Zeilen der Datei sind fehlerhaft; es wurde nichts übernommen.", .0.len())]
    Rejected(Vec<RejectedRow>),
}

/// Header words per column, as a German spreadsheet might name them (lower case).
const COLUMNS: [(&str, &[&str]); 5] = [
    (
        "Datum",
        &["datum", "zahlungsdatum", "bezahlt am", "zahltag"],
    ),
    (
        "Empfänger",
        &[
            "empfänger",
            "zahlungsempfänger",
            "empfaenger",
            "lieferant",
            "firma",
        ],
    ),
    (
        "Zweck",
        &[
            "zweck",
            "verwendungszweck",
            "gegenstand",
            "leistung",
            "beschreibung",
        ],
    ),
    (
        "Kostenposition",
        &["kostenposition", "position", "pos.", "pos", "nr.", "nr"],
    ),
    (
        "Betrag",
        &[
            "betrag",
            "betrag (€)",
            "betrag in euro",
            "betrag eur",
            "summe",
        ],
    ),
];

/// Every receipt of the file, or why none is taken.
pub fn import(bytes: &[u8], rules: &ReceiptRules) -> Result<Vec<Receipt>, ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::TooLarge);
    }
    let text = crate::spreadsheet::decode(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    if first_line.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(crate::spreadsheet::delimiter(first_line))
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Unreadable(e.to_string()))?
        .clone();
    let mut index = [0usize; 5];
    let mut missing = Vec::new();
    for (slot, (name, words)) in index.iter_mut().zip(COLUMNS) {
        match headers
            .iter()
            .position(|h| words.contains(&h.trim().to_lowercase().as_str()))
        {
            Some(i) => *slot = i,
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing.join(", ")));
    }
    let mut receipts = Vec::new();
    let mut rejected = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Unreadable(e.to_string()))?;
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        if receipts.len() + rejected.len() >= MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        let cell = |i: usize| record.get(index[i]).unwrap_or("").to_string();
        let input = ReceiptInput {
            paid_on: cell(0),
            payee: cell(1),
            purpose: cell(2),
            cost_position: cell(3),
            amount: cell(4),
        };
        match input.check(rules) {
            Ok(receipt) => receipts.push(receipt),
            Err(problems) => rejected.push(RejectedRow {
                line: line_of(text, record.position()),
                reasons: problems.into_iter().map(|(_, message)| message).collect(),
            }),
        }
    }
    if !rejected.is_empty() {
        return Err(ImportError::Rejected(rejected));
    }
    if receipts.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(receipts)
}

/// The line of the file a record starts on, counted as an editor shows it (1 = the header).
/// After a CRLF the reader's position is the LF (the CR ended the record before), so the byte
/// at the position counts too.
fn line_of(text: &str, position: Option<&csv::Position>) -> u64 {
    let byte = position.map_or(0, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX));
    let through = text
        .as_bytes()
        .get(..=byte.min(text.len().saturating_sub(1)))
        .unwrap_or(&[]);
    through.iter().filter(|b| **b == b'\n').count() as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const RULES: ReceiptRules = ReceiptRules {
        positions: 2,
        period_start: date!(2027 - 01 - 01),
        today: date!(2027 - 12 - 01),
    };

    #[test]
    fn a_german_excel_file_in_windows_1252_is_read_exactly() {
        let mut file = b"Datum;Empf\xe4nger;Verwendungszweck;Kostenposition;Betrag\r\n".to_vec();
        file.extend_from_slice(b"15.03.2027;M\xfcller GmbH;Lizenzen;1;\"12.345,67\"\r\n");
        file.extend_from_slice(b"2027-04-01;Schulungshaus;Schulung \x80;2;500,5\r\n;;;;\r\n");
        let receipts = import(&file, &RULES).unwrap();
        assert_eq!(receipts.len(), 2);
        assert_eq!(receipts[0].payee, "Müller GmbH");
        assert_eq!(receipts[0].amount, Cents::new(1_234_567));
        assert_eq!(receipts[1].purpose, "Schulung €");
        assert_eq!(receipts[1].amount, Cents::new(50_050));
        assert_eq!(receipts[1].paid_on, date!(2027 - 04 - 01));
    }

    #[test]
    fn one_bad_row_imports_nothing_and_every_bad_row_is_reported_with_its_line() {
        let lf_only =
            "Datum;Empfänger;Zweck;Kostenposition;Betrag\n01.03.2027;A;B;1;1\n01.03.2027;A;B;5;1\n";
        let Err(ImportError::Rejected(rows)) = import(lf_only.as_bytes(), &RULES) else {
            panic!("the file is refused");
        };
        assert_eq!(rows[0].line, 3);
        let file = "\u{feff}Datum;Empfänger;Zweck;Kostenposition;Betrag\r\n\
                    15.03.2027;A;B;1;100,00\r\n\
                    15.03.2030;A;B;3;-5\n\
                    31.02.2027;;B;1;1.2.3\n";
        let Err(ImportError::Rejected(rows)) = import(file.as_bytes(), &RULES) else {
            panic!("the file is refused");
        };
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 3);
        assert_eq!(rows[0].reasons.len(), 3, "{:?}", rows[0].reasons);
        assert!(rows[0].reasons[0].contains("Zukunft"));
        assert!(rows[0].reasons[1].contains("1 bis 2"));
        assert_eq!(rows[1].line, 4);
        assert!(
            rows[1]
                .reasons
                .iter()
                .any(|r| r.contains("Zahlungsempfänger"))
        );
    }

    #[test]
    fn hostile_or_foreign_files_are_refused_with_a_reason() {
        assert_eq!(import(b"", &RULES), Err(ImportError::Empty));
        assert_eq!(
            import(b"Name,Wert\nx,1\n", &RULES),
            Err(ImportError::MissingColumns(
                "Datum, Empfänger, Zweck, Kostenposition, Betrag".into()
            ))
        );
        assert_eq!(
            import(&vec![b'a'; MAX_FILE_BYTES + 1], &RULES),
            Err(ImportError::TooLarge)
        );
        let only_header = "Datum;Empfänger;Zweck;Kostenposition;Betrag\n";
        assert_eq!(
            import(only_header.as_bytes(), &RULES),
            Err(ImportError::Empty)
        );
        // A formula stays text; it is neither run nor a number.
        let formula =
            "Datum;Empfänger;Zweck;Kostenposition;Betrag\n01.03.2027;=HYPERLINK(\"x\");B;1;=1+1\n";
        assert!(matches!(
            import(formula.as_bytes(), &RULES),
            Err(ImportError::Rejected(_))
        ));
        let mut many = String::from("Datum;Empfänger;Zweck;Kostenposition;Betrag\n");
        for _ in 0..=MAX_ROWS {
            many.push_str("01.03.2027;A;B;1;1\n");
        }
        assert_eq!(
            import(many.as_bytes(), &RULES),
            Err(ImportError::TooManyRows)
        );
    }
}
