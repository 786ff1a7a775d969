//! Checking what users typed, before it reaches the domain: field errors shown next to each
//! field and in the error summary (`templates/forms.html`), the way GOV.UK and KERN forms do
//! it, and the cleaning every text field gets.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub struct FieldError {
    /// The id of the field, also the anchor the error summary links to.
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct FormErrors(Vec<FieldError>);

impl FormErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// The first error of a field.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// Adds the errors of another check of the same form.
    pub fn extend(&mut self, other: FormErrors) {
        self.0.extend(other.0);
    }
}

/// The query string of a filter's address: the fields that have a value, in the given order
/// (`suche=B%C3%BCrgerb%C3%BCro&seite=2`).
pub fn query_string<V: AsRef<str>>(fields: &[(&str, V)]) -> String {
    let present: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (*k, v.as_ref()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    serde_urlencoded::to_string(present).unwrap_or_default()
}

/// Form fields arrive as typed: this trims them, drops control characters (NUL and friends
/// cannot be stored and have no business in names) and limits their length.
pub fn clean_line(value: &str, max_chars: usize) -> String {
    let without_controls: String = value.chars().filter(|c| !c.is_control()).collect();
    without_controls.trim().chars().take(max_chars).collect()
}

/// Multi-line text: other control characters go, line breaks stay (as "\n").
pub fn clean_text(value: &str, max_chars: usize) -> String {
    let normalised = value.replace("\r\n", "\n").replace('\r', "\n");
    let cleaned: String = normalised
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect();
    cleaned.trim().chars().take(max_chars).collect()
}

/// A required single line of text: cleaned, and an error when it is empty ("missing") or
/// longer than `max_chars` ("{label} darf höchstens … Zeichen lang sein.").
pub fn required_line(
    errors: &mut FormErrors,
    max_chars: usize,
    field: &'static str,
    value: &str,
    missing: &str,
    label: &str,
) -> String {
    let cleaned = clean_line(value, max_chars + 1);
    if cleaned.is_empty() {
        errors.add(field, missing);
    } else if cleaned.chars().count() > max_chars {
        errors.add(
            field,
            format!("{label} darf höchstens {max_chars} Zeichen lang sein."),
        );
    }
    cleaned
}

/// A German IBAN ("DE89 3704 0044 0532 0130 00"), stored without spaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iban(String);

impl FromStr for Iban {
    type Err = &'static str;

    /// Checks the country, the length and the ISO 13616 check digits (mod 97).
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.is_empty() {
            return Err("Bitte geben Sie die IBAN ein.");
        }
        if !compact.starts_with("DE") {
            return Err("Bitte geben Sie eine deutsche IBAN ein; sie beginnt mit DE.");
        }
        if compact.len() != 22 || !compact[2..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                "Eine deutsche IBAN hat 22 Zeichen: DE und 20 Ziffern, zum Beispiel DE89 3704 0044 0532 0130 00.",
            );
        }
        let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
        let mut remainder: u32 = 0;
        for c in rearranged.chars() {
            let value = c
                .to_digit(36)
                .ok_or("Die IBAN enthält ungültige Zeichen.")?;
            for digit in value.to_string().chars() {
                remainder = (remainder * 10 + digit.to_digit(10).unwrap_or(0)) % 97;
            }
        }
        if remainder != 1 {
            return Err("Die IBAN ist nicht gültig. Bitte prüfen Sie die Prüfziffern und Ziffern.");
        }
        Ok(Iban(compact))
    }
}

impl Iban {
    /// Without spaces, as stored and as the SEPA file carries it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Iban {
    /// In groups of four, as printed on bank statements.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<&str> = self
            .0
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect();
        f.write_str(&groups.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_checked_by_their_check_digits() {
        let iban: Iban = "de89 3704 0044 0532 0130 00".parse().unwrap();
        assert_eq!(iban.to_string(), "DE89 3704 0044 0532 0130 00");
        assert!("DE88 3704 0044 0532 0130 00".parse::<Iban>().is_err());
        assert!("DE89 3704 0044 0532 0130 01".parse::<Iban>().is_err());
        assert!("DE89 3704 0044 0532 0130".parse::<Iban>().is_err());
        assert!("AT61 1904 3002 3457 3201".parse::<Iban>().is_err());
        assert!("DE89 3704 0044 0532 0130 0X".parse::<Iban>().is_err());
        assert!("".parse::<Iban>().is_err());
    }

    #[test]
    fn the_first_error_of_a_field_is_the_one_shown() {
        let mut errors = FormErrors::default();
        errors.add("email", "erster");
        errors.add("email", "zweiter");
        assert_eq!(errors.get("email"), Some("erster"));
        assert_eq!(errors.get("password"), None);
    }

    #[test]
    fn control_characters_are_dropped_from_single_line_fields() {
        assert_eq!(clean_line("  Karla\0 Kommunal\r\n ", 100), "Karla Kommunal");
        assert_eq!(clean_line("Jürgen", 3), "Jür");
        assert_eq!(
            clean_line("\u{1} a@b.de", 100),
            "a@b.de",
            "controls go before trimming"
        );
    }
}
