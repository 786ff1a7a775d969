//! The Änderungsantrag form: the new end of the period, the cost plan as it should be (the
//! plan in force prefilled, one row per item with the same fields as in the application), and
//! the reason. Checked into a valid change with the grant it leads to.

use serde::Deserialize;
use time::Date;

use super::model::{PlanRow, decision_needed, eligible};
use crate::applications::costs::PlanYears;
use crate::applications::forms::{
    Answers, Check, CostRowInput, answers_from_form, check_cost_items, set_cost_rows,
};
use crate::applications::model::Section;
use crate::locale;
use crate::money::{Cents, Rate};
use crate::programmes::model::GrantBasis;
use crate::validation::FormErrors;

/// Reasons are capped like the application's long texts.
const REASON_MAX: usize = 5000;
/// Blank rows offered below the plan for new items.
const SPARE_ROWS: usize = 2;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct AmendmentForm {
    /// Made when the form is shown; a form sent twice files one request.
    pub submission: String,
    pub period_end: String,
    pub reason: String,
    /// The cost rows, named as in the application (`cost-0-amount`, …).
    #[serde(flatten)]
    pub fields: Answers,
}

/// What a change is checked against.
pub struct ChangeContext<'a> {
    pub before: &'a [PlanRow],
    pub period_start: Date,
    pub period_end: Date,
    pub today: Date,
    pub allowance: Rate,
    pub basis: GrantBasis,
    /// Own share and other funding of the plan (what a Fehlbedarfsfinanzierung subtracts).
    pub other_funds: Cents,
    /// Paid and requested: the grant cannot fall below it.
    pub committed_payouts: Cents,
}

#[derive(Debug)]
pub struct ValidAmendment {
    pub period_end: Date,
    pub reason: String,
    pub after: Vec<PlanRow>,
    pub needs_decision: Vec<String>,
    pub granted: Cents,
    pub eligible: Cents,
}

impl AmendmentForm {
    /// The form as first shown: the plan in force and its period.
    pub fn prefilled(before: &[PlanRow], period_end: Date) -> Self {
        let rows: Vec<CostRowInput> = before
            .iter()
            .map(|r| CostRowInput {
                kind: r.kind.clone(),
                description: r.description.clone(),
                year: r.year.to_string(),
                amount: r.amount.plain(),
                eligible: if r.eligible { "ja" } else { "nein" }.into(),
            })
            .collect();
        let mut fields = Answers::new();
        set_cost_rows(&mut fields, &rows);
        AmendmentForm {
            submission: crate::secrets::random_token(),
            period_end: locale::day(period_end),
            reason: String::new(),
            fields,
        }
    }

    /// The cost rows as typed (cleaned like the application's), with spare blank rows: the
    /// spare rows sent back empty are not counted twice, so each refused try does not add more.
    pub fn rows(&self) -> Vec<CostRowInput> {
        let mut rows = crate::applications::forms::cost_rows(&self.cost_answers());
        while rows.last().is_some_and(CostRowInput::is_blank) {
            rows.pop();
        }
        rows.extend(std::iter::repeat_with(CostRowInput::default).take(SPARE_ROWS));
        rows
    }

    fn cost_answers(&self) -> Answers {
        let costs: Answers = self
            .fields
            .iter()
            .filter(|(name, _)| crate::applications::forms::cost_row_key(name).is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        answers_from_form(Section::Costs, &costs)
    }

    /// The submission key, or a fresh one where the form did not carry a usable one.
    pub fn submission_key(&self) -> String {
        let key = self.submission.trim();
        if (16..=100).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            key.to_string()
        } else {
            crate::secrets::random_token()
        }
    }

    pub fn validate(&self, ctx: &ChangeContext<'_>) -> Result<ValidAmendment, FormErrors> {
        let mut errors = FormErrors::default();
        let period_end = self.period_end(ctx, &mut errors);
        let reason = crate::validation::clean_text(&self.reason, REASON_MAX + 1);
        if reason.trim().is_empty() {
            errors.add(
                "reason",
                "Bitte begründen Sie die Änderung: was sich geändert hat und warum.",
            );
        } else if reason.chars().count() > REASON_MAX {
            errors.add(
                "reason",
                format!("Die Begründung darf höchstens {REASON_MAX} Zeichen lang sein."),
            );
        }
        let last_year = period_end.unwrap_or(ctx.period_end).year();
        let mut check = Check::default();
        let (items, readable) = check_cost_items(
            &mut check,
            &self.cost_answers(),
            &PlanYears::for_grant(ctx.period_start.year(), last_year),
        );
        errors.extend(check.errors);
        let after: Vec<PlanRow> = items.iter().map(PlanRow::from).collect();
        let new_eligible = eligible(&after);
        if readable && new_eligible == Cents::ZERO && errors.is_empty() {
            errors.add(
                "cost-0-eligible",
                "Mindestens eine Kostenposition muss förderfähig sein.",
            );
        }
        let (Some(period_end), true) = (period_end, readable && errors.is_empty()) else {
            return Err(errors);
        };
        let needs_decision = decision_needed(
            ctx.before,
            &after,
            (ctx.period_end, period_end),
            ctx.allowance,
        );
        if period_end == ctx.period_end && after == ctx.before {
            errors.add(
                "period_end",
                "Ihr Änderungsantrag ändert nichts: Ändern Sie das Ende des Bewilligungszeitraums oder den Kostenplan.",
            );
            return Err(errors);
        }
        let granted = ctx.basis.grant_for(new_eligible, ctx.other_funds);
        if granted < ctx.committed_payouts {
            errors.add(
                "cost-0-amount",
                format!(
                    "Mit diesem Plan sänke die Zuwendung auf {granted}; ausgezahlt oder abgerufen sind bereits {}. Bitte prüfen Sie die Beträge.",
                    ctx.committed_payouts
                ),
            );
            return Err(errors);
        }
        if granted == Cents::ZERO {
            errors.add(
                "cost-0-amount",
                "Mit diesem Plan bliebe keine Zuwendung. Wenn Sie das Vorhaben nicht durchführen, schreiben Sie dem Ministerium eine Nachricht.",
            );
            return Err(errors);
        }
        Ok(ValidAmendment {
            period_end,
            reason,
            after,
            needs_decision,
            granted,
            eligible: new_eligible,
        })
    }

    /// The new end: a day no earlier than today and the start, at most five years after the
    /// current end.
    fn period_end(&self, ctx: &ChangeContext<'_>, errors: &mut FormErrors) -> Option<Date> {
        let typed = self.period_end.trim();
        let Some(day) = locale::parse_day(typed) else {
            errors.add(
                "period_end",
                if typed.is_empty() {
                    "Bitte geben Sie das Ende des Bewilligungszeitraums an."
                } else {
                    "Bitte geben Sie das Ende als Datum ein, zum Beispiel 31.12.2027."
                },
            );
            return None;
        };
        let latest = ctx.period_end.replace_year(ctx.period_end.year() + 5).ok();
        if day < ctx.today.max(ctx.period_start) && day != ctx.period_end {
            errors.add(
                "period_end",
                format!(
                    "Das Ende darf nicht vor dem {} liegen.",
                    locale::day(ctx.today.max(ctx.period_start))
                ),
            );
            None
        } else if latest.is_some_and(|latest| day > latest) {
            errors.add(
                "period_end",
                "Eine Verlängerung um mehr als fünf Jahre ist nicht möglich.",
            );
            None
        } else {
            Some(day)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::programmes::model::FinancingType;
    use time::macros::date;

    fn before() -> Vec<PlanRow> {
        vec![
            PlanRow {
                kind: "software".into(),
                description: "Lizenzen".into(),
                year: 2027,
                amount: Cents::from_euros(10_000),
                eligible: true,
            },
            PlanRow {
                kind: "training".into(),
                description: "Schulung".into(),
                year: 2027,
                amount: Cents::from_euros(5_000),
                eligible: true,
            },
        ]
    }

    fn ctx(before: &[PlanRow]) -> ChangeContext<'_> {
        ChangeContext {
            before,
            period_start: date!(2027 - 01 - 01),
            period_end: date!(2027 - 12 - 31),
            today: date!(2027 - 06 - 01),
            allowance: Rate::from_basis_points(2000),
            basis: GrantBasis {
                financing: FinancingType::Share,
                granted: Cents::from_euros(12_000),
                eligible: Cents::from_euros(15_000),
            },
            other_funds: Cents::from_euros(3_000),
            committed_payouts: Cents::from_euros(4_000),
        }
    }

    fn form(before: &[PlanRow], end: &str, amounts: [&str; 2]) -> AmendmentForm {
        let mut f = AmendmentForm::prefilled(before, date!(2027 - 12 - 31));
        f.period_end = end.into();
        f.reason = "Lieferverzug".into();
        f.fields.insert("cost-0-amount".into(), amounts[0].into());
        f.fields.insert("cost-1-amount".into(), amounts[1].into());
        f
    }

    #[test]
    fn spare_rows_sent_back_empty_are_not_added_again() {
        let b = before();
        let mut f = form(&b, "31.12.2027", ["10.000,00", "5.000,00"]);
        f.fields.insert("cost-2-eligible".into(), "ja".into());
        f.fields.insert("cost-3-eligible".into(), "ja".into());
        assert_eq!(f.rows().len(), 2 + SPARE_ROWS);
    }

    #[test]
    fn an_extension_needs_a_decision_and_keeps_the_grant() {
        let b = before();
        let v = form(&b, "30.06.2028", ["10.000,00", "5.000,00"])
            .validate(&ctx(&b))
            .unwrap();
        assert_eq!(v.period_end, date!(2028 - 06 - 30));
        assert_eq!(v.needs_decision.len(), 1);
        assert_eq!(v.granted, Cents::from_euros(12_000));
    }

    #[test]
    fn a_lower_total_lowers_a_share_grant_but_not_below_what_was_paid() {
        let b = before();
        let v = form(&b, "31.12.2027", ["7.500,00", "5.000,00"])
            .validate(&ctx(&b))
            .unwrap();
        // 12.000 € × 12.500 / 15.000 = 10.000 €.
        assert_eq!(v.granted, Cents::from_euros(10_000));
        let errors = form(&b, "31.12.2027", ["100,00", "4.000,00"])
            .validate(&ctx(&b))
            .unwrap_err();
        assert!(
            errors
                .get("cost-0-amount")
                .unwrap()
                .contains("3.280,00\u{a0}€")
        );
    }

    #[test]
    fn nothing_changed_a_past_date_or_a_missing_reason_is_said_next_to_the_field() {
        let b = before();
        let unchanged = form(&b, "31.12.2027", ["10.000,00", "5.000,00"]);
        assert!(
            unchanged
                .validate(&ctx(&b))
                .unwrap_err()
                .get("period_end")
                .is_some()
        );
        let past = form(&b, "01.01.2027", ["10.000,00", "5.000,00"]);
        assert!(
            past.validate(&ctx(&b))
                .unwrap_err()
                .get("period_end")
                .unwrap()
                .contains("01.06.2027")
        );
        let mut no_reason = form(&b, "30.06.2028", ["10.000,00", "5.000,00"]);
        no_reason.reason = "  ".into();
        assert!(
            no_reason
                .validate(&ctx(&b))
                .unwrap_err()
                .get("reason")
                .is_some()
        );
        let bad_amount = form(&b, "30.06.2028", ["zehn", "5.000,00"]);
        assert!(
            bad_amount
                .validate(&ctx(&b))
                .unwrap_err()
                .get("cost-0-amount")
                .is_some()
        );
    }
}
