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
    fn kinds_round_trip_through_their_database_names() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
    }
}
