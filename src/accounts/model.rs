//! Account rules without I/O: roles and which combinations are allowed, e-mail addresses.

use std::fmt;
use std::str::FromStr;

crate::stored::stored_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Role {
        /// Kommunale Sachbearbeitung: bound to one municipality.
        Clerk = "clerk",
        /// Sachbearbeitung im Ministerium.
        Reviewer = "reviewer",
        Admin = "admin",
    }
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Clerk => "Kommunale Sachbearbeitung",
            Role::Reviewer => "Sachbearbeitung Ministerium",
            Role::Admin => "Administration",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an account lands after signing in: the page of its main task (a ministry account
/// without its second factor is sent on from there to set it up).
pub fn landing_page(roles: &[Role]) -> &'static str {
    if roles.contains(&Role::Clerk) {
        "/antraege"
    } else if roles.contains(&Role::Reviewer) {
        "/pruefung"
    } else if roles.contains(&Role::Admin) {
        "/admin/foerderaufrufe"
    } else {
        "/konto"
    }
}

/// A clerk belongs to exactly one municipality and never holds a ministry role; ministry staff
/// belong to none. (The database enforces the same with CHECK constraints.)
pub fn check_roles(roles: &[Role], has_municipality: bool) -> Result<(), &'static str> {
    if roles.is_empty() {
        return Err("an account needs at least one role");
    }
    let clerk = roles.contains(&Role::Clerk);
    if clerk && roles.len() > 1 {
        return Err("a municipal clerk cannot also hold a ministry role");
    }
    if clerk != has_municipality {
        return Err(if clerk {
            "a clerk must belong to a municipality"
        } else {
            "ministry accounts do not belong to a municipality"
        });
    }
    Ok(())
}

/// The role combinations an admin can give an account, as offered on the forms.
pub const ROLE_CHOICES: [(&str, &str, &[Role]); 4] = [
    (
        "clerk",
        "Kommunale Sachbearbeitung (für eine Kommune)",
        &[Role::Clerk],
    ),
    (
        "reviewer",
        "Sachbearbeitung im Ministerium",
        &[Role::Reviewer],
    ),
    ("admin", "Administration", &[Role::Admin]),
    (
        "reviewer_admin",
        "Sachbearbeitung im Ministerium und Administration",
        &[Role::Reviewer, Role::Admin],
    ),
];

pub fn roles_of_choice(choice: &str) -> Option<&'static [Role]> {
    ROLE_CHOICES
        .iter()
        .find(|(key, _, _)| *key == choice)
        .map(|(_, _, roles)| *roles)
}

pub fn choice_of_roles(roles: &[Role]) -> &'static str {
    ROLE_CHOICES
        .iter()
        .find(|(_, _, r)| r.len() == roles.len() && r.iter().all(|role| roles.contains(role)))
        .map_or("", |(key, _, _)| *key)
}

/// "Kommunale Sachbearbeitung", "Sachbearbeitung Ministerium, Administration"
pub fn roles_label(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is stored of a secret token (session cookie, invitation or reset link): its SHA-256,
/// so a copy of the database opens nothing.
pub fn token_hash(token: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A lower-cased e-mail address with a plausible shape. Deliverability is proven by mail, not here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Reads an address typed into a form field; an empty field gets the `missing` message.
    pub fn from_field(value: &str, missing: &'static str) -> Result<Self, &'static str> {
        if value.trim().is_empty() {
            Err(missing)
        } else {
            value.parse()
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EmailAddress {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_lowercase();
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("Bitte geben Sie eine E-Mail-Adresse im Format name@beispiel.de ein.");
        };
        // The same rules as the mail transport's, so an address accepted here can be mailed.
        let plausible = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && s.len() <= 254
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == ';')
            && s.parse::<lettre::Address>().is_ok();
        if plausible {
            Ok(EmailAddress(s))
        } else {
            Err("Bitte geben Sie eine E-Mail-Adresse im Format name@beispiel.de ein.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clerks_cannot_hold_ministry_roles_and_need_a_municipality() {
        assert!(check_roles(&[Role::Clerk], true).is_ok());
        assert!(check_roles(&[Role::Reviewer, Role::Admin], false).is_ok());
        assert!(check_roles(&[Role::Clerk, Role::Reviewer], true).is_err());
        assert!(check_roles(&[Role::Clerk], false).is_err());
        assert!(check_roles(&[Role::Admin], true).is_err());
        assert!(check_roles(&[], false).is_err());
    }

    #[test]
    fn email_addresses_are_normalised_and_checked() {
        assert_eq!(
            "  Kommune@Erfurt.DE "
                .parse::<EmailAddress>()
                .unwrap()
                .as_str(),
            "kommune@erfurt.de"
        );
        for bad in [
            "",
            "erfurt.de",
            "a@b",
            "a@.de",
            "a b@c.de",
            "a@b.de\r\nBcc: x@y.de",
            "a@b@x.de",
            "x@x..de",
        ] {
            assert!(bad.parse::<EmailAddress>().is_err(), "{bad:?}");
        }
    }
}

/// Login throttling: failures counted over a sliding window. Keyed by address *and* client, so
/// an attacker elsewhere cannot lock a real user out; the looser per-client and per-address
/// limits stop credential stuffing from one machine and slow attacks spread over many.
pub mod throttle {
    use std::time::Duration;

    pub const WINDOW: Duration = Duration::from_secs(15 * 60);
    pub const PER_ADDRESS_AND_CLIENT: i64 = 10;
    pub const PER_CLIENT: i64 = 50;
    pub const PER_ADDRESS: i64 = 100;

    pub fn is_throttled(pair: i64, client: i64, address: i64) -> bool {
        pair >= PER_ADDRESS_AND_CLIENT || client >= PER_CLIENT || address >= PER_ADDRESS
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn ten_failures_for_one_address_from_one_client_throttle_that_pair() {
            assert!(!is_throttled(9, 9, 9));
            assert!(is_throttled(10, 10, 10));
            assert!(is_throttled(0, 50, 0), "one client trying many addresses");
            assert!(
                is_throttled(0, 0, 100),
                "one address attacked from many clients"
            );
        }
    }
}
