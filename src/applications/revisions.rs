//! What changed between two submitted revisions, field by field, in words a reviewer reads.

use serde_json::Value;

use super::forms::{display_of, label_of};
use super::model::Section;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange {
    pub section: &'static str,
    pub label: String,
    pub before: String,
    pub after: String,
}

/// Every answer that differs between two revisions (`{"vorhaben": {"title": …}, "partner": […]}`),
/// in task-list order; answers absent on one side count as "Nicht angegeben".
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    for section in Section::ALL {
        let (old, new) = (&before[section.slug()], &after[section.slug()]);
        let mut names: Vec<&String> = [old, new]
            .iter()
            .filter_map(|v| v.as_object())
            .flat_map(|m| m.keys())
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let (a, b) = (
                old[name].as_str().unwrap_or(""),
                new[name].as_str().unwrap_or(""),
            );
            if a != b {
                changes.push(FieldChange {
                    section: section.title(),
                    label: label_of(section, name),
                    before: display_of(section, name, a),
                    after: display_of(section, name, b),
                });
            }
        }
    }
    let partners = |v: &Value| {
        v["partner"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let (a, b) = (partners(before), partners(after));
    if a != b {
        let shown = |s: String| if s.is_empty() { "Keine".to_string() } else { s };
        changes.push(FieldChange {
            section: Section::Partnership.title(),
            label: "Partnerkommunen".into(),
            before: shown(a),
            after: shown(b),
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changed_added_and_removed_answers_are_listed_with_labels() {
        let before = json!({
            "vorhaben": {"title": "Bürgerbüro", "started": "nein", "summary": "Kurz"},
            "kosten": {"cost-0-amount": "100.000,00", "cost-0-kind": "software"},
            "partner": ["Jena"],
        });
        let after = json!({
            "vorhaben": {"title": "Digitales Bürgerbüro", "started": "nein", "goals": "Ziele"},
            "kosten": {"cost-0-amount": "90.000,00", "cost-0-kind": "software"},
            "partner": ["Jena", "Gera"],
        });
        let changes = diff(&before, &after);
        let lines: Vec<String> = changes
            .iter()
            .map(|c| format!("{} | {} | {} → {}", c.section, c.label, c.before, c.after))
            .collect();
        assert_eq!(
            lines,
            vec![
                "Vorhaben | Ziele und Nutzen für Bürgerinnen, Bürger und Unternehmen | Nicht angegeben → Ziele",
                "Vorhaben | Kurzbeschreibung | Kurz → Nicht angegeben",
                "Vorhaben | Titel des Vorhabens | Bürgerbüro → Digitales Bürgerbüro",
                "Kosten- und Finanzierungsplan | Kostenposition 1: Betrag | 100.000,00 → 90.000,00",
                "Verbund und Nachnutzung | Partnerkommunen | Jena → Jena, Gera",
            ]
        );
    }

    #[test]
    fn identical_revisions_have_no_changes() {
        let v = json!({"antragsteller": {"iban": "DE89370400440532013000"}, "partner": []});
        assert!(diff(&v, &v).is_empty());
    }
}
