//! Round rules without I/O: its states, and where it stands in its application window.

use time::OffsetDateTime;

use crate::locale;

crate::stored::stored_enum! {
    /// Where a round stands for admins: prepared, open to the public, or closed early.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum RoundState {
        Draft = "draft",
        Published = "published",
        Closed = "closed",
    }
}

impl RoundState {
    pub fn label(self) -> &'static str {
        match self {
            RoundState::Draft => "Entwurf",
            RoundState::Published => "Veröffentlicht",
            RoundState::Closed => "Geschlossen",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Published, window not open yet.
    OpensSoon,
    /// Applications accepted; `days_left` counts Berlin calendar days until the deadline.
    Open {
        days_left: i64,
    },
    Closed,
}

pub fn phase(
    state: RoundState,
    opens_at: OffsetDateTime,
    closes_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Phase {
    if state == RoundState::Closed || now >= closes_at {
        Phase::Closed
    } else if now < opens_at {
        Phase::OpensSoon
    } else {
        Phase::Open {
            days_left: locale::days_between(now, closes_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_round_is_open_inside_its_window_and_counts_days_left() {
        let opens = datetime!(2026-11-01 00:00 UTC);
        let closes = datetime!(2027-03-31 21:59 UTC);
        assert_eq!(
            phase(
                RoundState::Published,
                opens,
                closes,
                datetime!(2026-10-01 12:00 UTC)
            ),
            Phase::OpensSoon
        );
        assert_eq!(
            phase(
                RoundState::Published,
                opens,
                closes,
                datetime!(2027-03-29 12:00 UTC)
            ),
            Phase::Open { days_left: 2 }
        );
        assert_eq!(
            phase(
                RoundState::Published,
                opens,
                closes,
                datetime!(2027-03-31 21:59 UTC)
            ),
            Phase::Closed
        );
        assert_eq!(
            phase(
                RoundState::Closed,
                opens,
                closes,
                datetime!(2026-12-01 12:00 UTC)
            ),
            Phase::Closed
        );
    }
}
