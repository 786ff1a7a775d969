//! Password rules per ASVS 6.2: at least 12 and at most 128 characters, no composition rules,
//! and nothing that is easy to guess (zxcvbn's estimate, which knows common and breached
//! passwords, keyboard patterns, dates and the user's own name and address).

/// Shortest and longest accepted password, in characters.
pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

/// zxcvbn's score from 0 (trivial) to 4; 3 means "safely unguessable" for online attacks.
const MIN_SCORE: u8 = 3;

/// Why a password was refused, in German, for the field's error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("Bitte geben Sie ein Passwort ein.")]
    Empty,
    #[error("Das Passwort muss mindestens 12 Zeichen lang sein.")]
    TooShort,
    #[error("Das Passwort darf höchstens 128 Zeichen lang sein.")]
    TooLong,
    #[error(
        "Dieses Passwort ist zu leicht zu erraten: Es ähnelt häufig verwendeten Passwörtern, folgt einem einfachen Muster oder enthält Ihren Namen oder Ihre E-Mail-Adresse. Wählen Sie zum Beispiel vier oder mehr zufällige Wörter."
    )]
    Guessable,
}

/// Checks a new password; `personal` are the user's name, e-mail address and similar words
/// that must not make up the password.
pub fn check(password: &str, personal: &[&str]) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars == 0 {
        return Err(PasswordProblem::Empty);
    }
    if chars < MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    // zxcvbn scores "KarlaKommunal2026" as strong: the whole name (or mailbox) in a password is
    // refused outright.
    let letters = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let typed = letters(password);
    let contains_personal = personal
        .iter()
        .map(|p| letters(p.split('@').next().unwrap_or(p)))
        .any(|p| p.chars().count() >= 4 && typed.contains(&p));
    if contains_personal {
        return Err(PasswordProblem::Guessable);
    }
    let mut inputs: Vec<&str> = personal
        .iter()
        .flat_map(|s| s.split(['@', '.', ' ', '-', '_']))
        .collect();
    inputs.extend([
        "foerderportal",
        "förderportal",
        "thueringen",
        "thüringen",
        "passwort",
        "kennwort",
        "egovernment",
    ]);
    let inputs: Vec<&str> = inputs
        .into_iter()
        .filter(|s| s.chars().count() >= 3)
        .collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if (estimate.score() as u8) < MIN_SCORE {
        return Err(PasswordProblem::Guessable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_between_12_and_128_characters_and_counts_characters_not_bytes() {
        assert_eq!(check("", &[]), Err(PasswordProblem::Empty));
        assert_eq!(check("kurz", &[]), Err(PasswordProblem::TooShort));
        assert_eq!(
            check("ÄÖÜäöüßÄÖÜä", &[]),
            Err(PasswordProblem::TooShort),
            "11 characters, 22 bytes"
        );
        assert_eq!(
            check(&"Zugspitze Ostsee Rennsteig ".repeat(5), &[]),
            Err(PasswordProblem::TooLong)
        );
        assert!(
            check(&"x7Kq9vLp2Wm4".repeat(11)[..128], &[]).is_ok(),
            "128 characters are fine"
        );
    }

    #[test]
    fn common_and_patterned_passwords_are_refused() {
        for weak in [
            "password1234",
            "123456789012",
            "qwertzuiopasdf",
            "aaaaaaaaaaaa",
            "Passwort2026!",
            "foerderportal1",
        ] {
            assert_eq!(check(weak, &[]), Err(PasswordProblem::Guessable), "{weak}");
        }
    }

    #[test]
    fn a_password_made_of_the_users_own_name_is_refused() {
        assert_eq!(
            check(
                "KarlaKommunal2026",
                &["Karla Kommunal", "karla.kommunal@gotha.example"]
            ),
            Err(PasswordProblem::Guessable)
        );
    }

    #[test]
    fn long_passphrases_without_special_characters_are_accepted() {
        assert!(check("rennsteig tinte wolke kaffeetasse", &[]).is_ok());
        assert!(check("Hm7#qL9v!pX2", &[]).is_ok());
    }
}
