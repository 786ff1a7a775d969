//! Money and rates as exact integers: euro amounts in cents, funding rates in basis points.
//! Parsed from German input once, at the edge; everything inside is exact.

use std::fmt;
use std::str::FromStr;

/// A euro amount in cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, sqlx::Type)]
#[sqlx(transparent)]
pub struct Cents(i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub const fn new(cents: i64) -> Self {
        Cents(cents)
    }

    pub const fn from_euros(euros: i64) -> Self {
        Cents(euros * 100)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// "145.012,03": the amount without its unit, as a form field shows it for editing.
    pub fn plain(self) -> String {
        self.to_string()
            .trim_end_matches('€')
            .trim_end()
            .to_string()
    }
}

/// Why a German amount could not be read; the text is shown to the user as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("Bitte geben Sie einen Betrag ein.")]
    Empty,
    #[error("Der Betrag darf nicht negativ sein.")]
    Negative,
    #[error(
        "Bitte geben Sie den Betrag in Euro ein, zum Beispiel 145.012,03 – mit Komma vor den Cent und Punkten nur zwischen Tausendergruppen."
    )]
    Malformed,
    #[error("Bitte geben Sie höchstens zwei Nachkommastellen (Cent) an.")]
    TooManyDecimals,
    #[error("Der Betrag ist zu groß.")]
    TooLarge,
}

impl FromStr for Cents {
    type Err = MoneyError;

    /// Accepts "145.012,03", "145012,03", "145 012,03 €", "145.012" and "1.234,5".
    /// Rejects negative amounts, English notation ("1,234.56") and thousands separators in the
    /// wrong places ("1.2.3", "12.34"), because guessing with money is worse than asking again.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_suffix('€').unwrap_or(trimmed);
        let trimmed = trimmed.strip_suffix("EUR").unwrap_or(trimmed).trim();
        if trimmed.is_empty() {
            return Err(MoneyError::Empty);
        }
        if trimmed.starts_with('-') || trimmed.starts_with('−') {
            return Err(MoneyError::Negative);
        }
        let trimmed = trimmed.strip_prefix('+').unwrap_or(trimmed);

        let (whole, fraction) = match trimmed.split_once(',') {
            Some((w, f)) => (w, Some(f)),
            None => (trimmed, None),
        };
        let euros = parse_grouped_digits(whole)?;
        let cents = match fraction {
            None => 0,
            Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(MoneyError::Malformed);
            }
            Some(f) if f.len() > 2 => return Err(MoneyError::TooManyDecimals),
            Some(f) => {
                let value: i64 = f.parse().map_err(|_| MoneyError::Malformed)?;
                if f.len() == 1 { value * 10 } else { value }
            }
        };
        euros
            .checked_mul(100)
            .and_then(|c| c.checked_add(cents))
            .map(Cents)
            .ok_or(MoneyError::TooLarge)
    }
}

/// Digits, optionally grouped in threes by '.' or a (narrow/no-break) space, consistently.
fn parse_grouped_digits(whole: &str) -> Result<i64, MoneyError> {
    if whole.is_empty() {
        return Err(MoneyError::Malformed);
    }
    let separators = ['.', ' ', '\u{a0}', '\u{202f}'];
    let used = separators.iter().filter(|s| whole.contains(**s)).count();
    if used > 1 {
        return Err(MoneyError::Malformed);
    }
    let groups: Vec<&str> = whole.split(&separators[..]).collect();
    let grouped = groups.len() > 1;
    for (i, group) in groups.iter().enumerate() {
        let ok_len = if !grouped {
            !group.is_empty()
        } else if i == 0 {
            (1..=3).contains(&group.len())
        } else {
            group.len() == 3
        };
        if !ok_len || !group.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::Malformed);
        }
    }
    let digits: String = groups.concat();
    if digits.len() > 18 {
        return Err(MoneyError::TooLarge);
    }
    digits.parse().map_err(|_| MoneyError::Malformed)
}

impl fmt::Display for Cents {
    /// "145.012,03 €", the way German administrative documents write amounts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let euros = group_thousands(abs / 100);
        write!(f, "{sign}{euros},{:02}\u{a0}€", abs % 100)
    }
}

impl Cents {
    /// A difference with its sign: "+2.000,00 €", "−2.000,00 €" (a true minus sign), "0,00 €".
    pub fn signed(self) -> String {
        let magnitude = Cents(i64::try_from(self.0.unsigned_abs()).unwrap_or(i64::MAX));
        match self.0.signum() {
            1 => format!("+{magnitude}"),
            -1 => format!("−{magnitude}"),
            _ => magnitude.to_string(),
        }
    }
}

/// "1.234.567": digits in groups of three, as German texts write numbers.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

/// A funding rate in basis points: 8000 = 80 %.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, sqlx::Type)]
#[sqlx(transparent)]
pub struct Rate(i32);

impl Rate {
    pub const fn from_basis_points(bp: i32) -> Self {
        Rate(bp)
    }

    pub const fn basis_points(self) -> i32 {
        self.0
    }
}

impl FromStr for Rate {
    type Err = &'static str;

    /// "80", "80 %", "82,5" → basis points; more than 0 and at most 100 percent.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        const MESSAGE: &str =
            "Bitte geben Sie eine Quote zwischen 0 und 100 Prozent ein, zum Beispiel 80 oder 82,5.";
        let text = input.trim().trim_end_matches('%').trim();
        let (whole, fraction) = text.split_once(',').unwrap_or((text, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 3
            || fraction.len() > 2
            || !digits_only(whole)
            || !digits_only(fraction)
        {
            return Err(MESSAGE);
        }
        let whole: i32 = whole.parse().map_err(|_| MESSAGE)?;
        let fraction: i32 = match fraction.len() {
            0 => 0,
            1 => fraction.parse::<i32>().map_err(|_| MESSAGE)? * 10,
            _ => fraction.parse().map_err(|_| MESSAGE)?,
        };
        let bp = whole * 100 + fraction;
        if bp == 0 || bp > 10_000 {
            Err(MESSAGE)
        } else {
            Ok(Rate(bp))
        }
    }
}

impl fmt::Display for Rate {
    /// "80 %", or "82,5 %" where the rate is not a whole percentage.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let rest = self.0 % 100;
        if rest == 0 {
            write!(f, "{whole}\u{a0}%")
        } else if rest % 10 == 0 {
            write!(f, "{whole},{}\u{a0}%", rest / 10)
        } else {
            write!(f, "{whole},{rest:02}\u{a0}%")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<i64, MoneyError> {
        s.parse::<Cents>().map(Cents::get)
    }

    #[test]
    fn german_notation_in_its_common_forms_is_read_exactly() {
        assert_eq!(parse("145.012,03"), Ok(14_501_203));
        assert_eq!(parse("145012,03"), Ok(14_501_203));
        assert_eq!(parse("145 012,03 €"), Ok(14_501_203));
        assert_eq!(parse("145\u{a0}012,03\u{a0}€"), Ok(14_501_203));
        assert_eq!(parse("145.012"), Ok(14_501_200));
        assert_eq!(parse("1.234,5"), Ok(123_450));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("0,01"), Ok(1));
        assert_eq!(parse("  7 EUR "), Ok(700));
    }

    #[test]
    fn ambiguous_or_wrong_amounts_are_rejected_with_a_reason() {
        assert_eq!(parse(""), Err(MoneyError::Empty));
        assert_eq!(parse(" € "), Err(MoneyError::Empty));
        assert_eq!(parse("-5"), Err(MoneyError::Negative));
        assert_eq!(parse("1.2.3"), Err(MoneyError::Malformed));
        assert_eq!(parse("12.34"), Err(MoneyError::Malformed));
        assert_eq!(parse("1234.567,00"), Err(MoneyError::Malformed));
        assert_eq!(parse("1,234.56"), Err(MoneyError::Malformed));
        assert_eq!(parse("12,345"), Err(MoneyError::TooManyDecimals));
        assert_eq!(parse("12,"), Err(MoneyError::Malformed));
        assert_eq!(parse(",50"), Err(MoneyError::Malformed));
        assert_eq!(parse("zehn"), Err(MoneyError::Malformed));
        assert_eq!(parse("1.000 000"), Err(MoneyError::Malformed));
        assert_eq!(parse("99999999999999999999"), Err(MoneyError::TooLarge));
    }

    #[test]
    fn differences_carry_their_sign() {
        assert_eq!(Cents::new(200_000).signed(), "+2.000,00\u{a0}€");
        assert_eq!(Cents::new(-1).signed(), "−0,01\u{a0}€");
        assert_eq!(Cents::ZERO.signed(), "0,00\u{a0}€");
    }

    #[test]
    fn the_largest_amount_survives_a_round_trip() {
        let max = Cents::new(i64::MAX);
        assert_eq!(parse(&max.to_string()), Ok(i64::MAX));
        assert_eq!(
            parse("92.233.720.368.547.758,08"),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn amounts_are_shown_the_german_way() {
        assert_eq!(Cents::new(14_501_203).to_string(), "145.012,03\u{a0}€");
        assert_eq!(Cents::new(0).to_string(), "0,00\u{a0}€");
        assert_eq!(Cents::new(1).to_string(), "0,01\u{a0}€");
        assert_eq!(
            Cents::from_euros(10_000_000).to_string(),
            "10.000.000,00\u{a0}€"
        );
        assert_eq!(Cents::new(-250).to_string(), "-2,50\u{a0}€");
    }

    #[test]
    fn rates_are_read_in_german_notation() {
        assert_eq!("80".parse::<Rate>(), Ok(Rate::from_basis_points(8000)));
        assert_eq!("82,5 %".parse::<Rate>(), Ok(Rate::from_basis_points(8250)));
        assert_eq!("100".parse::<Rate>(), Ok(Rate::from_basis_points(10_000)));
        for bad in ["0", "101", "80.5", "-5", "", "achtzig", "82,555"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rates_are_shown_as_percent() {
        assert_eq!(Rate::from_basis_points(8000).to_string(), "80\u{a0}%");
        assert_eq!(Rate::from_basis_points(8250).to_string(), "82,5\u{a0}%");
        assert_eq!(Rate::from_basis_points(8025).to_string(), "80,25\u{a0}%");
    }
}
