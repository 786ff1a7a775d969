//! The second factor without I/O: TOTP secrets and codes (RFC 6238: SHA-1, six digits, 30 s),
//! the QR code for authenticator apps, and single-use recovery codes.

use totp_rs::{Algorithm, TOTP};

const ISSUER: &str = "Förderportal Thüringen";
const STEP_SECONDS: u64 = 30;
/// How many recovery codes an account gets; each works once.
pub const RECOVERY_CODES: usize = 10;

/// A new random secret (160 bits, as RFC 4226 recommends), base32 as authenticator apps show it.
pub fn new_secret() -> String {
    let bytes: [u8; 20] = rand::random();
    base32(&bytes)
}

/// Whether a secret sent back by the setup form is one `new_secret` could have made.
pub fn is_secret(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

fn totp(secret: &str, account: &str) -> Option<TOTP> {
    let bytes = totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .ok()?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS,
        bytes,
        Some(ISSUER.to_string()),
        account.to_string(),
    )
    .ok()
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_url(secret: &str, account: &str) -> String {
    totp(secret, account)
        .map(|t| t.get_url())
        .unwrap_or_default()
}

/// The QR code of that address as inline SVG (no script, no external image), labelled for
/// screen readers; the secret is also shown as text for those who cannot scan.
pub fn qr_svg(url: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(url.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..].replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"QR-Code für die Authenticator-App\"",
        1,
    )
}

/// The time step a code is valid for, if `code` is right for now or one step before or after
/// (clocks drift); only steps after `last_step` count, so a code cannot be replayed.
pub fn accepted_step(secret: &str, code: &str, now_unix: u64, last_step: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "")?;
    let now_step = now_unix / STEP_SECONDS;
    [now_step.saturating_sub(1), now_step, now_step + 1]
        .into_iter()
        .find(|step| totp.generate(step * STEP_SECONDS) == code)
        .and_then(|step| i64::try_from(step).ok())
        .filter(|step| *step > last_step)
}

/// The code for a moment, as an authenticator app would show it (for tests and the benchmark).
pub fn code_at(secret: &str, unix: u64) -> String {
    totp(secret, "")
        .map(|t| t.generate(unix))
        .unwrap_or_default()
}

/// Fresh recovery codes such as "7KQ4-M2PX-9TDA", easy to read and type.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes: [u8; 12] = rand::random();
            let chars: Vec<char> = bytes
                .iter()
                .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
                .collect();
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// How a recovery code is compared: without dashes and spaces, upper case.
pub fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_6238_test_vector_is_met() {
        // RFC 6238, appendix B: SHA-1, secret "12345678901234567890", T = 59 s → 94287082 (8 digits).
        let secret = base32(b"12345678901234567890");
        assert_eq!(code_at(&secret, 59), "287082");
        assert_eq!(code_at(&secret, 1_111_111_109), "081804");
    }

    #[test]
    fn a_code_is_accepted_once_and_with_one_step_of_drift() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now);
        let step = accepted_step(&secret, &code, now, 0).expect("the current code");
        assert_eq!(accepted_step(&secret, &code, now, step), None, "not twice");
        assert!(
            accepted_step(&secret, &code, now + 30, 0).is_some(),
            "30 s late is fine"
        );
        assert_eq!(
            accepted_step(&secret, &code, now + 90, 0),
            None,
            "90 s late is not"
        );
        assert_eq!(accepted_step(&secret, "12345", now, 0), None);
        assert_eq!(
            accepted_step(&secret, &format!("{} {}", &code[..3], &code[3..]), now, 0),
            Some(step)
        );
    }

    #[test]
    fn recovery_codes_are_distinct_and_compared_leniently() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(
            codes.iter().collect::<std::collections::HashSet<_>>().len(),
            RECOVERY_CODES
        );
        assert!(codes[0].len() == 14 && codes[0].chars().nth(4) == Some('-'));
        assert_eq!(normalise_recovery_code(" 7kq4-m2px 9tda "), "7KQ4M2PX9TDA");
    }

    #[test]
    fn the_qr_code_is_inline_svg_for_the_otpauth_address() {
        let url = otpauth_url(&new_secret(), "admin@demo.foerderportal.example");
        assert!(url.starts_with("otpauth://totp/"), "{url}");
        assert!(qr_svg(&url).contains("<svg"));
    }
}
