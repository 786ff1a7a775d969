//! CSV files for German Excel and LibreOffice, as the exports write them: UTF-8 with a byte order
//! mark, semicolons, decimal commas, and cells that look like formulas kept as text.

/// Written first, so Excel reads the file as UTF-8.
pub const BOM: &str = "\u{feff}";

/// "80000,00": a number German spreadsheets read as such.
pub fn decimal(cents: Option<i64>) -> String {
    cents
        .map(|c| {
            let sign = if c < 0 { "-" } else { "" };
            format!("{sign}{},{:02}", c.abs() / 100, c.abs() % 100)
        })
        .unwrap_or_default()
}

pub fn csv_lines<const N: usize>(rows: impl IntoIterator<Item = [String; N]>) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        // Cells starting like a formula are written as text, so a title cannot run code in
        // the spreadsheet (CSV injection).
        let row = row.map(|cell| {
            if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{cell}")
            } else {
                cell
            }
        });
        let _ = writer.write_record(&row);
    }
    writer.into_inner().unwrap_or_default()
}

/// A file as spreadsheet programs write it: UTF-8 if it is valid UTF-8, otherwise
/// Windows-1252 (Excel on Windows); every byte means something in Windows-1252, so this never
/// fails.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// The separator of a CSV file, from its first line: semicolons (German Excel) unless commas
/// clearly win.
pub fn delimiter(first_line: &str) -> u8 {
    if first_line.matches(',').count() > first_line.matches(';').count() {
        b','
    } else {
        b';'
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_german_decimals_and_formulas_stay_text() {
        assert_eq!(decimal(Some(8_000_000)), "80000,00");
        assert_eq!(decimal(Some(5)), "0,05");
        assert_eq!(decimal(None), "");
        let out = String::from_utf8(csv_lines([[
            "=HYPERLINK(\"x\")".to_string(),
            "Bürgerbüro; Teil 1".to_string(),
        ]]))
        .unwrap();
        assert_eq!(out, "\"'=HYPERLINK(\"\"x\"\")\";\"Bürgerbüro; Teil 1\"\r\n");
    }
}
