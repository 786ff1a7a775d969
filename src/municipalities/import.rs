//! Reading the Gemeindeverzeichnis as CSV, without I/O: encoding (UTF-8 or Windows-1252),
//! delimiter (semicolon or comma), the expected columns, and every row checked with a German
//! reason when it is rejected. Writing is `db::apply_import`, in one transaction.
//!
//! Expected columns (header row, any order, case-insensitive): `AGS` and/or `ARS`, `Name`,
//! `Art` (Gemeinde, Stadt, Landgemeinde, Verwaltungsgemeinschaft, Landkreis, Kreisfreie Stadt),
//! and optionally `Straße`, `PLZ`, `Ort`.

use std::collections::HashSet;

use super::model::Kind;

/// One valid row of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    pub line: u64,
    pub ags: Option<String>,
    pub ars: Option<String>,
    pub name: String,
    pub kind: Kind,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
}

impl ImportRow {
    /// The Kreis part of the key ("16065"), naming the parent Landkreis or kreisfreie Stadt.
    pub fn district(&self) -> Option<&str> {
        self.ags
            .as_deref()
            .or(self.ars.as_deref())
            .map(|key| &key[..5])
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub rows: Vec<ImportRow>,
    pub rejected: Vec<Rejected>,
}

/// The file as a whole cannot be used: nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("Die Datei ist leer.")]
    Empty,
    #[error("Die Datei ist zu groß (höchstens {0} MB).")]
    TooLarge(usize),
    #[error("Die Datei ist keine lesbare CSV-Datei: {0}")]
    Unreadable(String),
    #[error("Es fehlen Spalten: {0}. Erwartet werden AGS und/oder ARS, Name und Art.")]
    MissingColumns(String),
}

/// Largest file accepted, in MB (the Gemeindeverzeichnis of Thuringia is far smaller).
pub const MAX_MB: usize = 10;

const NAME_MAX_CHARS: usize = 200;

pub fn parse(bytes: &[u8]) -> Result<Parsed, ImportError> {
    if bytes.len() > MAX_MB * 1024 * 1024 {
        return Err(ImportError::TooLarge(MAX_MB));
    }
    let text = crate::spreadsheet::decode(bytes);
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or("");
    if first_line.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let delimiter = crate::spreadsheet::delimiter(first_line);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Unreadable(e.to_string()))?
        .clone();
    let columns = Columns::find(&headers)?;

    let mut parsed = Parsed::default();
    let mut seen = HashSet::new();
    for record in reader.records() {
        let record = record.map_err(|e| ImportError::Unreadable(e.to_string()))?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        match columns.row(&record, line) {
            Ok(row) => {
                let key = row.ags.clone().or(row.ars.clone()).unwrap_or_default();
                if seen.insert(key.clone()) {
                    parsed.rows.push(row);
                } else {
                    parsed.rejected.push(Rejected {
                        line,
                        reason: format!("Der Schlüssel {key} steht schon in einer früheren Zeile."),
                    });
                }
            }
            Err(reason) => parsed.rejected.push(Rejected { line, reason }),
        }
    }
    Ok(parsed)
}

struct Columns {
    ags: Option<usize>,
    ars: Option<usize>,
    name: usize,
    kind: usize,
    street: Option<usize>,
    postal_code: Option<usize>,
    city: Option<usize>,
}

impl Columns {
    fn find(headers: &csv::StringRecord) -> Result<Columns, ImportError> {
        let normalised: Vec<String> = headers
            .iter()
            .map(|h| {
                h.trim()
                    .to_lowercase()
                    .replace('ß', "ss")
                    .replace(['-', ' ', '_'], "")
            })
            .collect();
        let position = |names: &[&str]| normalised.iter().position(|h| names.contains(&h.as_str()));
        let (ags, ars) = (
            position(&["ags", "gemeindeschlüssel", "gemeindeschluessel"]),
            position(&["ars", "regionalschlüssel", "regionalschluessel"]),
        );
        let name = position(&["name", "gemeindename", "bezeichnung"]);
        let kind = position(&["art", "typ"]);
        let mut missing = Vec::new();
        if ags.is_none() && ars.is_none() {
            missing.push("AGS oder ARS");
        }
        if name.is_none() {
            missing.push("Name");
        }
        if kind.is_none() {
            missing.push("Art");
        }
        match (name, kind) {
            (Some(name), Some(kind)) if missing.is_empty() => Ok(Columns {
                ags,
                ars,
                name,
                kind,
                street: position(&["strasse", "anschrift"]),
                postal_code: position(&["plz", "postleitzahl"]),
                city: position(&["ort", "sitz"]),
            }),
            _ => Err(ImportError::MissingColumns(missing.join(", "))),
        }
    }

    fn row(&self, record: &csv::StringRecord, line: u64) -> Result<ImportRow, String> {
        let get = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(|v| {
                    v.chars()
                        .filter(|c| !c.is_control())
                        .collect::<String>()
                        .trim()
                        .to_string()
                })
                .filter(|v| !v.is_empty())
        };
        let ags = get(self.ags);
        let ars = get(self.ars);
        check_keys(ags.as_deref(), ars.as_deref())?;
        let name = get(Some(self.name)).ok_or("Der Name fehlt.")?;
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(format!("Der Name ist länger als {NAME_MAX_CHARS} Zeichen."));
        }
        let kind_text = get(Some(self.kind)).unwrap_or_default();
        let kind =
            kind_of(&kind_text).ok_or_else(|| format!("Die Art „{kind_text}“ ist unbekannt."))?;
        let postal_code = get(self.postal_code);
        if let Some(plz) = &postal_code {
            check_postal_code(plz)?;
        }
        Ok(ImportRow {
            line,
            ags,
            ars,
            name,
            kind,
            street: get(self.street),
            postal_code,
            city: get(self.city),
        })
    }
}

/// AGS (8 digits) and/or ARS (12 digits), both of Thuringia and of the same Kreis.
pub fn check_keys(ags: Option<&str>, ars: Option<&str>) -> Result<(), String> {
    if ags.is_none() && ars.is_none() {
        return Err("Weder AGS noch ARS angegeben.".into());
    }
    for (key, label, digits) in [(ags, "AGS", 8), (ars, "ARS", 12)] {
        let Some(key) = key else { continue };
        if key.len() != digits || !key.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "Der {label} „{key}“ hat nicht genau {digits} Ziffern."
            ));
        }
        if !key.starts_with("16") {
            return Err(format!(
                "Der {label} „{key}“ gehört nicht zu Thüringen (16…)."
            ));
        }
    }
    if let (Some(ags), Some(ars)) = (ags, ars)
        && ags[..5] != ars[..5]
    {
        return Err(format!(
            "AGS {ags} und ARS {ars} nennen verschiedene Kreise."
        ));
    }
    Ok(())
}

pub fn check_postal_code(plz: &str) -> Result<(), String> {
    if plz.len() == 5 && plz.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("Die PLZ „{plz}“ hat nicht genau 5 Ziffern."))
    }
}

fn kind_of(text: &str) -> Option<Kind> {
    match text.trim().to_lowercase().as_str() {
        "gemeinde"
        | "stadt"
        | "landgemeinde"
        | "kreisangehörige stadt"
        | "große kreisstadt"
        | "markt" => Some(Kind::Gemeinde),
        "verwaltungsgemeinschaft" | "vg" => Some(Kind::Verwaltungsgemeinschaft),
        "landkreis" | "kreis" => Some(Kind::Landkreis),
        "kreisfreie stadt" => Some(Kind::KreisfreieStadt),
        "land" => Some(Kind::Land),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "AGS;ARS;Name;Art;Straße;PLZ;Ort\n\
        16065999;160659990999;Beispielstadt am Kyffhäuser;Stadt;Markt 1;99706;Beispielstadt\n\
        16067998;;Musterdorf;Gemeinde;;;\n\
        1606;;Zu kurz;Gemeinde;;;\n\
        16067998;;Doppelt;Gemeinde;;;\n\
        09162000;;München;Kreisfreie Stadt;;;\n";

    #[test]
    fn valid_rows_are_read_and_each_broken_row_is_named_with_its_line() {
        let parsed = parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[0].kind, Kind::Gemeinde);
        assert_eq!(parsed.rows[0].postal_code.as_deref(), Some("99706"));
        assert_eq!(parsed.rows[1].district(), Some("16067"));
        let lines: Vec<u64> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [4, 5, 6]);
        assert!(parsed.rejected[0].reason.contains("nicht genau 8 Ziffern"));
        assert!(parsed.rejected[1].reason.contains("früheren Zeile"));
        assert!(parsed.rejected[2].reason.contains("nicht zu Thüringen"));
    }

    #[test]
    fn windows_1252_and_commas_are_understood() {
        let text = "AGS,Name,Art\n16067998,Gräfenhain,Gemeinde\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(text);
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.rows[0].name, "Gräfenhain");
    }

    #[test]
    fn a_file_without_the_needed_columns_or_content_is_refused_whole() {
        assert!(matches!(parse(b""), Err(ImportError::Empty)));
        assert!(
            matches!(parse(b"Schluessel;Bezeichnung\n1;2\n"), Err(ImportError::MissingColumns(m)) if m.contains("AGS oder ARS") && m.contains("Art"))
        );
        assert!(matches!(
            parse(&vec![b'a'; MAX_MB * 1024 * 1024 + 1]),
            Err(ImportError::TooLarge(_))
        ));
    }
}
