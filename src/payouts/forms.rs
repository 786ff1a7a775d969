//! The forms of the payout procedure, checked into domain values: the municipality's
//! Mittelabruf, the reviewer's check, sending back and the value date of a payment run.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::Date;

use super::db::Item;
use super::model::Balance;
use crate::locale;
use crate::money::Cents;
use crate::validation::Iban;
use crate::validation::{FormErrors, clean_line, clean_text, required_line};

/// How many payment rows the form offers (pages work without JavaScript, so the rows are there
/// from the start; empty ones are ignored).
pub const ITEM_ROWS: usize = 5;

const TEXT_MAX: usize = 200;
pub const REASON_MAX: usize = 2000;

/// The Mittelabruf as typed; every field comes back unchanged when something is wrong.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PayoutForm {
    pub amount: String,
    /// The payment rows: `purpose-1`, `payee-1`, `due_on-1`, `item_amount-1`, … (each field's
    /// name is its id, so the error summary links to it).
    #[serde(flatten)]
    pub rows: BTreeMap<String, String>,
    /// "application" (the account given in the application) or "other".
    pub account: String,
    pub account_holder: String,
    pub iban: String,
    pub account_reason: String,
    pub declaration: String,
    /// The key the form was shown with (see `payout_requests.submission_key`).
    pub submission: String,
}

/// One payment row as typed, for the page.
#[derive(Clone, Debug, Default)]
pub struct ItemInput {
    pub purpose: String,
    pub payee: String,
    pub due_on: String,
    pub amount: String,
}

impl PayoutForm {
    /// The rows the page shows: what was typed, padded with empty rows.
    pub fn rows(&self) -> Vec<ItemInput> {
        let at = |field: &str, n: usize| {
            self.rows
                .get(&format!("{field}-{n}"))
                .cloned()
                .unwrap_or_default()
        };
        (1..=ITEM_ROWS)
            .map(|n| ItemInput {
                purpose: at("purpose", n),
                payee: at("payee", n),
                due_on: at("due_on", n),
                amount: at("item_amount", n),
            })
            .collect()
    }

    pub fn other_account(&self) -> bool {
        self.account == "other"
    }

    /// The form's submission key; a form without a usable one (not sent from the page) gets a
    /// new one, so it is filed once as sent.
    pub fn submission_key(&self) -> String {
        let key = self.submission.trim();
        let usable = (16..=100).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if usable {
            key.to_string()
        } else {
            crate::secrets::random_token()
        }
    }
}

/// The account a payout goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub holder: String,
    pub iban: Iban,
    /// Why it is not the application's account; empty when it is.
    pub reason: String,
}

/// A Mittelabruf that may be filed.
#[derive(Clone, Debug)]
pub struct ValidPayout {
    pub requested: Cents,
    pub items: Vec<Item>,
    pub account: Account,
}

/// What the form is checked against: the grant's balance, the round's payout window, today,
/// and the account given in the application (`None` if its IBAN does not hold).
pub struct PayoutRules {
    pub balance: Balance,
    pub window_months: i32,
    pub today: Date,
    pub application_account: Option<(String, Iban)>,
}

impl PayoutRules {
    /// The last due date a payment may have: money is requested only for what falls due within
    /// the payout window.
    pub fn latest_due(&self) -> Date {
        let months = i64::from(self.window_months);
        let total = i64::from(self.today.year()) * 12 + i64::from(u8::from(self.today.month())) - 1
            + months;
        let year = i32::try_from(total / 12).unwrap_or(self.today.year());
        let month = time::Month::try_from(u8::try_from(total % 12 + 1).unwrap_or(1))
            .unwrap_or(time::Month::December);
        let day = self.today.day().min(month.length(year));
        Date::from_calendar_date(year, month, day).unwrap_or(self.today)
    }
}

impl PayoutForm {
    pub fn validate(&self, rules: &PayoutRules) -> Result<ValidPayout, FormErrors> {
        let mut errors = FormErrors::default();
        let requested = match self.amount.parse::<Cents>() {
            Ok(c) => Some(c),
            Err(e) => {
                errors.add("amount", format!("Abgerufener Betrag: {e}"));
                None
            }
        };
        let items = self.items(rules, &mut errors);
        if let Some(requested) = requested {
            if let Some(refusal) = rules.balance.refusal(requested) {
                errors.add("amount", refusal);
            } else if !items.is_empty() {
                let sum = Cents::new(items.iter().map(|i| i.amount.get()).sum());
                if sum != requested {
                    errors.add(
                        "amount",
                        format!(
                            "Der abgerufene Betrag ({requested}) muss der Summe der Zahlungen ({sum}) entsprechen."
                        ),
                    );
                }
            }
        }
        let account = if self.other_account() {
            self.account(&mut errors)
        } else if let Some((holder, iban)) = rules.application_account.clone() {
            Some(Account {
                holder,
                iban,
                reason: String::new(),
            })
        } else {
            errors.add(
                "account",
                "Die IBAN im Antrag ist nicht gültig. Bitte geben Sie ein anderes Konto an.",
            );
            None
        };
        if self.declaration != "ja" {
            errors.add(
                "declaration",
                format!(
                    "Bitte bestätigen Sie, dass die Mittel innerhalb von {} nach der Auszahlung für fällige Zahlungen benötigt werden.",
                    months(rules.window_months)
                ),
            );
        }
        match (requested, account) {
            (Some(requested), Some(account)) if errors.is_empty() => Ok(ValidPayout {
                requested,
                items,
                account,
            }),
            _ => Err(errors),
        }
    }

    /// Another account than the application's: holder, a valid IBAN and a reason.
    fn account(&self, errors: &mut FormErrors) -> Option<Account> {
        let holder = required_line(
            errors,
            TEXT_MAX,
            "account_holder",
            &self.account_holder,
            "Bitte geben Sie den Kontoinhaber an.",
            "Der Kontoinhaber",
        );
        let iban = match self.iban.parse::<Iban>() {
            Ok(iban) => Some(iban),
            Err(message) => {
                errors.add("iban", message);
                None
            }
        };
        let reason = clean_text(&self.account_reason, REASON_MAX + 1);
        if reason.is_empty() {
            errors.add(
                "account_reason",
                "Bitte begründen Sie, warum auf ein anderes Konto als im Antrag gezahlt werden soll.",
            );
        } else if reason.chars().count() > REASON_MAX {
            errors.add(
                "account_reason",
                format!("Die Begründung darf höchstens {REASON_MAX} Zeichen lang sein."),
            );
        }
        Some(Account {
            holder,
            iban: iban?,
            reason,
        })
    }

    /// The filled payment rows; a row counts once anything is typed in it.
    fn items(&self, rules: &PayoutRules, errors: &mut FormErrors) -> Vec<Item> {
        let latest = rules.latest_due();
        let mut items = Vec::new();
        for (i, row) in self.rows().iter().enumerate() {
            let n = i + 1;
            let typed = [&row.purpose, &row.payee, &row.due_on, &row.amount];
            if typed.iter().all(|v| v.trim().is_empty()) {
                continue;
            }
            let purpose = clean_line(&row.purpose, TEXT_MAX);
            if purpose.is_empty() {
                errors.add(
                    format!("purpose-{n}"),
                    format!("Zahlung {n}: Bitte geben Sie an, wofür gezahlt wird."),
                );
            }
            let payee = clean_line(&row.payee, TEXT_MAX);
            if payee.is_empty() {
                errors.add(
                    format!("payee-{n}"),
                    format!("Zahlung {n}: Bitte geben Sie an, an wen gezahlt wird."),
                );
            }
            let due = locale::parse_day(&row.due_on);
            match due {
                None => errors.add(
                    format!("due_on-{n}"),
                    format!("Zahlung {n}: Bitte geben Sie das Fälligkeitsdatum ein, zum Beispiel 15.03.2027."),
                ),
                Some(d) if d > latest => errors.add(
                    format!("due_on-{n}"),
                    format!(
                        "Zahlung {n}: Mittel dürfen nur für Zahlungen abgerufen werden, die bis zum {} fällig werden ({} nach der Auszahlung).",
                        locale::day(latest),
                        months(rules.window_months)
                    ),
                ),
                Some(_) => {}
            }
            let amount = match row.amount.parse::<Cents>() {
                Ok(c) if c > Cents::ZERO => Some(c),
                Ok(_) => {
                    errors.add(
                        format!("item_amount-{n}"),
                        format!("Zahlung {n}: Der Betrag muss größer als 0 € sein."),
                    );
                    None
                }
                Err(e) => {
                    errors.add(format!("item_amount-{n}"), format!("Zahlung {n}: {e}"));
                    None
                }
            };
            if let (false, false, Some(due_on), Some(amount)) =
                (purpose.is_empty(), payee.is_empty(), due, amount)
            {
                items.push(Item {
                    purpose,
                    payee,
                    due_on,
                    amount,
                });
            }
        }
        if self.rows().iter().all(|r| {
            [&r.purpose, &r.payee, &r.due_on, &r.amount]
                .iter()
                .all(|v| v.trim().is_empty())
        }) {
            errors.add(
                "purpose-1",
                "Bitte nennen Sie mindestens eine Zahlung, für die die Mittel benötigt werden.",
            );
        }
        items
    }
}

/// "2 Monaten" / "1 Monat", as the sentences above need it (dative).
pub fn months(n: i32) -> String {
    if n == 1 {
        "einem Monat".into()
    } else {
        format!("{n} Monaten")
    }
}

/// The reviewer's check: the amount found correct and, when it is less than requested, why.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CheckForm {
    pub approved: String,
    pub note: String,
}

impl CheckForm {
    pub fn validate(&self, requested: Cents) -> Result<(Cents, String), FormErrors> {
        let mut errors = FormErrors::default();
        let note = clean_text(&self.note, REASON_MAX + 1);
        let approved = match self.approved.parse::<Cents>() {
            Ok(c) if c <= Cents::ZERO => {
                errors.add(
                    "approved",
                    "Der Betrag muss größer als 0 € sein. Um nichts auszuzahlen, geben Sie den Mittelabruf zurück.",
                );
                None
            }
            Ok(c) if c > requested => {
                errors.add(
                    "approved",
                    format!(
                        "Es kann höchstens der abgerufene Betrag ({requested}) festgestellt werden."
                    ),
                );
                None
            }
            Ok(c) => Some(c),
            Err(e) => {
                errors.add("approved", format!("Festgestellter Betrag: {e}"));
                None
            }
        };
        if approved.is_some_and(|a| a < requested) && note.is_empty() {
            errors.add(
                "note",
                "Bitte begründen Sie, warum weniger als abgerufen ausgezahlt werden soll; die Kommune erhält die Begründung.",
            );
        }
        if note.chars().count() > REASON_MAX {
            errors.add(
                "note",
                format!("Die Begründung darf höchstens {REASON_MAX} Zeichen lang sein."),
            );
        }
        match approved {
            Some(a) if errors.is_empty() => Ok((a, note)),
            _ => Err(errors),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SendBackForm {
    pub reason: String,
}

impl SendBackForm {
    pub fn validate(&self) -> Result<String, FormErrors> {
        let mut errors = FormErrors::default();
        let reason = clean_text(&self.reason, REASON_MAX + 1);
        if reason.is_empty() {
            errors.add(
                "reason",
                "Bitte begründen Sie die Rückgabe; die Kommune erhält die Begründung.",
            );
        } else if reason.chars().count() > REASON_MAX {
            errors.add(
                "reason",
                format!("Die Begründung darf höchstens {REASON_MAX} Zeichen lang sein."),
            );
        }
        if errors.is_empty() {
            Ok(reason)
        } else {
            Err(errors)
        }
    }
}

/// A day the state cash office executes payments on (Monday to Friday).
pub fn is_bank_day(d: Date) -> bool {
    !matches!(d.weekday(), time::Weekday::Saturday | time::Weekday::Sunday)
}

/// The first bank day after `day`: the earliest value date a run can have.
pub fn next_bank_day(day: Date) -> Date {
    let mut d = day.next_day().unwrap_or(day);
    while !is_bank_day(d) {
        d = d.next_day().unwrap_or(d);
    }
    d
}

/// A new payment run: the programme whose ordered payouts it collects, and the value date.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RunForm {
    pub programme: String,
    pub execution_date: String,
}

impl RunForm {
    /// The value date must be a weekday, from tomorrow on (the cash office needs the file a day
    /// ahead), and within a year.
    pub fn validate(&self, today: Date) -> Result<(i64, Date), FormErrors> {
        let mut errors = FormErrors::default();
        let programme = self.programme.trim().parse::<i64>().ok();
        if programme.is_none() {
            errors.add("programme", "Bitte wählen Sie die Förderrichtlinie.");
        }
        let date = locale::parse_day(&self.execution_date);
        match date {
            None => errors.add(
                "execution_date",
                "Bitte geben Sie das Ausführungsdatum ein, zum Beispiel 15.03.2027.",
            ),
            Some(d) if d <= today => errors.add(
                "execution_date",
                "Das Ausführungsdatum muss nach dem heutigen Tag liegen; die Landeshauptkasse braucht die Datei einen Tag vorher.",
            ),
            Some(d) if d > today + time::Duration::days(366) => errors.add(
                "execution_date",
                "Das Ausführungsdatum darf höchstens ein Jahr in der Zukunft liegen.",
            ),
            Some(d) if !is_bank_day(d) => {
                errors.add(
                    "execution_date",
                    "Das Ausführungsdatum muss ein Bankarbeitstag sein (Montag bis Freitag).",
                );
            }
            Some(_) => {}
        }
        match (programme, date) {
            (Some(p), Some(d)) if errors.is_empty() => Ok((p, d)),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Rate;
    use time::macros::date;

    fn rules() -> PayoutRules {
        PayoutRules {
            balance: Balance::new(
                Cents::from_euros(100_000),
                Cents::ZERO,
                Cents::ZERO,
                Rate::from_basis_points(1000),
            ),
            window_months: 2,
            today: date!(2027 - 12 - 31),
            application_account: Some((
                "Landkreis".into(),
                "DE89370400440532013000".parse().unwrap(),
            )),
        }
    }

    fn form(amount: &str, rows: &[(&str, &str, &str, &str)]) -> PayoutForm {
        let mut fields = BTreeMap::new();
        for (i, (purpose, payee, due_on, amount)) in rows.iter().enumerate() {
            let n = i + 1;
            fields.insert(format!("purpose-{n}"), (*purpose).to_string());
            fields.insert(format!("payee-{n}"), (*payee).to_string());
            fields.insert(format!("due_on-{n}"), (*due_on).to_string());
            fields.insert(format!("item_amount-{n}"), (*amount).to_string());
        }
        PayoutForm {
            amount: amount.into(),
            rows: fields,
            account: "application".into(),
            declaration: "ja".into(),
            ..PayoutForm::default()
        }
    }

    #[test]
    fn the_payout_window_ends_on_the_same_day_months_later() {
        assert_eq!(rules().latest_due(), date!(2028 - 02 - 29));
    }

    #[test]
    fn a_request_is_the_sum_of_its_payments() {
        let ok = form(
            "50.000,00",
            &[
                ("Lizenzen", "Softwarehaus GmbH", "15.01.2028", "30.000"),
                ("Schulung", "Akademie", "2028-02-01", "20.000,00"),
            ],
        )
        .validate(&rules())
        .unwrap();
        assert_eq!(ok.requested, Cents::from_euros(50_000));
        assert_eq!(ok.items.len(), 2);
        let wrong = form(
            "50.000,00",
            &[("Lizenzen", "Softwarehaus GmbH", "15.01.2028", "30.000")],
        )
        .validate(&rules())
        .unwrap_err();
        assert!(wrong.get("amount").unwrap().contains("30.000,00"));
    }

    #[test]
    fn the_retained_share_and_late_payments_are_refused_next_to_their_fields() {
        let errors = form(
            "90.000,01",
            &[("Lizenzen", "Softwarehaus GmbH", "01.03.2028", "90.000,01")],
        )
        .validate(&rules())
        .unwrap_err();
        assert!(
            errors
                .get("amount")
                .unwrap()
                .contains("Verwendungsnachweis")
        );
        assert!(errors.get("due_on-1").unwrap().contains("29.02.2028"));
        let mut no_declaration = form("1,00", &[("a", "b", "01.01.2028", "1,00")]);
        no_declaration.declaration.clear();
        let errors = no_declaration.validate(&rules()).unwrap_err();
        assert!(errors.get("declaration").unwrap().contains("2 Monaten"));
        assert!(
            form("1,00", &[])
                .validate(&rules())
                .unwrap_err()
                .get("purpose-1")
                .is_some()
        );
    }

    #[test]
    fn another_account_needs_a_valid_iban_and_a_reason() {
        let mut f = form("1,00", &[("a", "b", "01.01.2028", "1,00")]);
        f.account = "other".into();
        f.account_holder = "Stadtkasse".into();
        f.iban = "DE89 3704 0044 0532 0130 01".into();
        let errors = f.validate(&rules()).unwrap_err();
        assert!(errors.get("iban").is_some());
        assert!(errors.get("account_reason").is_some());
        f.iban = "DE89 3704 0044 0532 0130 00".into();
        f.account_reason = "Neues Konto der Stadtkasse".into();
        let valid = f.validate(&rules()).unwrap();
        assert_eq!(valid.account.holder, "Stadtkasse");
        assert_eq!(valid.account.iban.as_str(), "DE89370400440532013000");
        assert_eq!(valid.account.reason, "Neues Konto der Stadtkasse");
        // Otherwise the application's account is used; if its IBAN no longer holds, the
        // clerk is asked for another.
        let mut rules = rules();
        f.account = "application".into();
        assert_eq!(f.validate(&rules).unwrap().account.holder, "Landkreis");
        rules.application_account = None;
        assert!(f.validate(&rules).unwrap_err().get("account").is_some());
    }

    #[test]
    fn a_lower_amount_needs_a_reason() {
        let requested = Cents::from_euros(100);
        let f = CheckForm {
            approved: "80,00".into(),
            note: String::new(),
        };
        assert!(f.validate(requested).unwrap_err().get("note").is_some());
        let too_much = CheckForm {
            approved: "100,01".into(),
            note: String::new(),
        };
        assert!(too_much.validate(requested).is_err());
        let full = CheckForm {
            approved: "100".into(),
            note: String::new(),
        };
        assert_eq!(full.validate(requested).unwrap().0, requested);
    }

    #[test]
    fn a_run_is_executed_on_a_future_weekday() {
        let today = date!(2027 - 03 - 10);
        let f = |d: &str| RunForm {
            programme: "1".into(),
            execution_date: d.into(),
        };
        assert!(f("10.03.2027").validate(today).is_err());
        assert!(f("13.03.2027").validate(today).is_err(), "a Saturday");
        assert_eq!(
            f("2027-03-11").validate(today).unwrap(),
            (1, date!(2027 - 03 - 11))
        );
    }
}
