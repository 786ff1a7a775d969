//! One complete, valid set of answers per section (a Landkreis digitising its citizens' office),
//! for tests, benchmarks and generated demo data.

use super::model::Section;

/// The answers of `section` as a clerk would type them: the project runs from April of `year`
/// to March of the next, and cost items fall in `year`.
pub fn answers(section: Section, year: i32) -> Vec<(&'static str, String)> {
    let pairs: &[(&str, &str)] = match section {
        Section::Applicant => &[
            ("contact_name", "Karla Kommunal"),
            ("contact_function", "Sachgebietsleitung IT"),
            ("contact_phone", "03632 741-0"),
            ("contact_email", "karla@kyffhaeuser.example"),
            ("account_holder", "Landkreis Kyffhäuserkreis"),
            ("iban", "DE89 3704 0044 0532 0130 00"),
        ],
        Section::Project => &[
            ("title", "Digitales Bürgerbüro"),
            ("category", "2c"),
            ("summary", "Ein Bürgerbüro, das online erreichbar ist."),
            (
                "description",
                "Wir führen einen Terminservice und digitale Anträge ein.",
            ),
            ("goals", "Kürzere Wege für Bürgerinnen und Bürger."),
            ("started", "nein"),
        ],
        Section::Partnership => &[
            ("reuse", "Alle Landkreise können den Dienst übernehmen."),
            ("licence", "EUPL-1.2"),
        ],
        Section::Costs => &[
            ("cost-0-kind", "software"),
            ("cost-0-description", "Lizenzen Terminservice"),
            ("cost-0-amount", "100.000,00"),
            ("cost-0-eligible", "ja"),
            ("own_share", "20.000"),
            ("grant", "80.000"),
        ],
        Section::Attachments => &[],
        Section::Declarations => &[
            ("start_status", "not_started"),
            ("vat", "none"),
            ("budget_cover", "ja"),
            ("correct", "ja"),
            ("privacy", "ja"),
        ],
    };
    let mut answers: Vec<(&'static str, String)> =
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
    match section {
        Section::Project => {
            answers.insert(5, ("start_date", format!("{year}-04-01")));
            answers.insert(6, ("end_date", format!("{}-03-31", year + 1)));
        }
        Section::Costs => answers.insert(2, ("cost-0-year", year.to_string())),
        _ => {}
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applications::forms;
    use crate::applications::model::RoundRules;
    use crate::money::{Cents, Rate};

    #[test]
    fn the_sample_answers_complete_every_section() {
        let rules = RoundRules {
            year: 2027,
            categories: vec![("2c".into(), "Basisdienste".into())],
            max_rate: Rate::from_basis_points(8000),
            min_grant: Cents::from_euros(5000),
            max_grant: Some(Cents::from_euros(200_000)),
        };
        let of = |section| -> forms::Answers {
            answers(section, 2027)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        };
        assert!(forms::check_applicant(&of(Section::Applicant)).is_complete());
        assert!(forms::check_project(&of(Section::Project), &rules).is_complete());
        assert!(forms::check_partnership(&of(Section::Partnership)).is_complete());
        assert!(
            forms::check_costs(
                &of(Section::Costs),
                &rules,
                &forms::plan_years(&of(Section::Project), rules.year)
            )
            .0
            .is_complete()
        );
        assert!(forms::check_declarations(&of(Section::Declarations)).is_complete());
    }
}
