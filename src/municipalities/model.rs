//! Kinds of municipalities and their keys.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gemeinde,
    Verwaltungsgemeinschaft,
    Landkreis,
    KreisfreieStadt,
    Land,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Gemeinde,
        Kind::Verwaltungsgemeinschaft,
        Kind::Landkreis,
        Kind::KreisfreieStadt,
        Kind::Land,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gemeinde => "gemeinde",
            Kind::Verwaltungsgemeinschaft => "verwaltungsgemeinschaft",
            Kind::Landkreis => "landkreis",
            Kind::KreisfreieStadt => "kreisfreie_stadt",
            Kind::Land => "land",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Gemeinde => "Gemeinde",
            Kind::Verwaltungsgemeinschaft => "Verwaltungsgemeinschaft",
            Kind::Landkreis => "Landkreis",
            Kind::KreisfreieStadt => "Kreisfreie Stadt",
            Kind::Land => "Landesebene",
        }
    }

    /// Landkreise and kreisfreie Städte have no parent in the directory.
    pub fn is_district_level(self) -> bool {
        matches!(self, Kind::Landkreis | Kind::KreisfreieStadt | Kind::Land)
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The Kreis part of an 8-digit AGS ("16065" for any Gemeinde in the Kyffhäuserkreis), which
/// names the parent Landkreis or kreisfreie Stadt.
pub fn district_key(ags: &str) -> Option<&str> {
    (ags.len() == 8 && ags.bytes().all(|b| b.is_ascii_digit())).then(|| &ags[..5])
}

/// The directory key for what someone typed: an 8-digit AGS as it is, or the 5-digit key of a
/// Landkreis or kreisfreie Stadt ("16067"), which the directory holds as "16067000".
pub fn directory_key(input: &str) -> Result<String, &'static str> {
    let input = input.trim();
    if !input.bytes().all(|b| b.is_ascii_digit()) {
        return Err(KEY_EXPECTED);
    }
    match input.len() {
        8 => Ok(input.to_string()),
        5 => Ok(format!("{input}000")),
        _ => Err(KEY_EXPECTED),
    }
}

const KEY_EXPECTED: &str = "expected the 8-digit AGS of a municipality (e.g. 16067029) or the 5-digit key of a Landkreis or kreisfreie Stadt (e.g. 16067)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_district_is_read_from_the_key() {
        assert_eq!(district_key("16065064"), Some("16065"));
        assert_eq!(district_key("1606506"), None);
        assert_eq!(district_key("16O65064"), None);
    }

    #[test]
    fn districts_are_found_by_their_five_digit_key_too() {
        assert_eq!(directory_key("16067029").unwrap(), "16067029");
        assert_eq!(directory_key(" 16067 ").unwrap(), "16067000");
        assert_eq!(directory_key("16051").unwrap(), "16051000");
        let wrong = directory_key("1606").unwrap_err();
        assert!(
            wrong.contains("8-digit") && wrong.contains("5-digit"),
            "{wrong}"
        );
        assert!(directory_key("1606x").is_err());
    }

    #[test]
    fn kinds_round_trip_through_their_database_names() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
