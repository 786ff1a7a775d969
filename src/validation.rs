//! Checking what users typed, before it reaches the domain: field errors shown next to each
//! field and in the error summary (`templates/forms.html`), the way GOV.UK and KERN forms do
//! it, and the cleaning every text field gets.

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

#[cfg(test)]
mod tests {
    use super::*;

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
