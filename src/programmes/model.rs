//! Round rules without I/O: its states, and where it stands in its application window.

use time::OffsetDateTime;

use crate::locale;
use crate::money::Cents;

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

crate::stored::stored_enum! {
    /// How a grant relates to the project's costs (Finanzierungsart, VV Nr. 2 zu § 44 LHO):
    /// it decides how a grant follows costs that turn out lower than planned.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum FinancingType {
        /// A fixed share of the eligible costs.
        Share = "anteilfinanzierung",
        /// What remains after the own share and all other funding.
        Deficit = "fehlbedarfsfinanzierung",
        /// A fixed amount.
        Fixed = "festbetragsfinanzierung",
    }
}

/// What a grant was decided on, for working out what it becomes when the eligible costs change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantBasis {
    pub financing: FinancingType,
    /// The amount of the Zuwendungsbescheid: the grant never grows beyond it.
    pub granted: Cents,
    /// The eligible costs it was decided on.
    pub eligible: Cents,
}

impl FinancingType {
    pub fn label(self) -> &'static str {
        match self {
            FinancingType::Share => "Anteilfinanzierung",
            FinancingType::Deficit => "Fehlbedarfsfinanzierung",
            FinancingType::Fixed => "Festbetragsfinanzierung",
        }
    }

    /// How the grant follows eligible costs, in the notice's words.
    pub fn rule(self) -> &'static str {
        match self {
            FinancingType::Share => {
                "Die Zuwendung beträgt den bewilligten Anteil der tatsächlichen zuwendungsfähigen Ausgaben, höchstens den bewilligten Betrag."
            }
            FinancingType::Deficit => {
                "Die Zuwendung deckt die zuwendungsfähigen Ausgaben, soweit sie nicht durch den Eigenanteil und andere Mittel gedeckt sind, höchstens den bewilligten Betrag."
            }
            FinancingType::Fixed => {
                "Die Zuwendung ist ein fester Betrag; sie wird nur gekürzt, soweit die zuwendungsfähigen Ausgaben darunter bleiben."
            }
        }
    }
}

impl GrantBasis {
    /// The grant for `eligible` costs of which `other_funds` (own share, third-party and other
    /// public money, as realised) are covered otherwise. Never above the granted amount, never
    /// below zero; a share is rounded down to the cent (the exact decided share: granted ÷
    /// decided eligible costs, so an 80 % grant stays 80 % and never becomes 79,99 %).
    pub fn grant_for(&self, eligible: Cents, other_funds: Cents) -> Cents {
        let granted = self.granted.get();
        let costs = eligible.get().max(0);
        let grant = match self.financing {
            FinancingType::Share => {
                if self.eligible.get() <= 0 {
                    0
                } else {
                    let share =
                        i128::from(granted) * i128::from(costs) / i128::from(self.eligible.get());
                    i64::try_from(share).unwrap_or(i64::MAX)
                }
            }
            FinancingType::Deficit => costs.saturating_sub(other_funds.get().max(0)),
            FinancingType::Fixed => costs,
        };
        Cents::new(grant.clamp(0, granted))
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

    fn basis(financing: FinancingType) -> GrantBasis {
        // The demo grant: 80 % of 181.265,04 € eligible costs.
        GrantBasis {
            financing,
            granted: Cents::new(14_501_203),
            eligible: Cents::new(18_126_504),
        }
    }

    #[test]
    fn a_share_follows_the_actual_costs_at_the_decided_rate() {
        // 10 % below plan: 163.138,54 €. The decided share of it, 145.012,03 € ×
        // 163.138,54 / 181.265,04 = 130.510,830 2 €, rounds down to 130.510,83 €.
        let b = basis(FinancingType::Share);
        assert_eq!(
            b.grant_for(Cents::new(16_313_854), Cents::ZERO),
            Cents::new(13_051_083)
        );
        // Costs above plan never raise the grant; the plan itself gives the grant exactly.
        assert_eq!(b.grant_for(Cents::new(20_000_000), Cents::ZERO), b.granted);
        assert_eq!(b.grant_for(b.eligible, Cents::ZERO), b.granted);
        // Other funding does not count against a share.
        assert_eq!(
            b.grant_for(Cents::new(16_313_854), Cents::new(1_000_000)),
            Cents::new(13_051_083)
        );
    }

    #[test]
    fn a_deficit_grant_loses_every_euro_the_costs_fall_or_other_funds_rise() {
        // Planned: 181.265,04 € costs, 36.253,01 € own share → 145.012,03 € grant.
        let b = basis(FinancingType::Deficit);
        let own = Cents::new(3_625_301);
        assert_eq!(b.grant_for(b.eligible, own), b.granted);
        // 10 % lower costs (163.138,54 €) with the same own share: 126.885,53 €.
        assert_eq!(
            b.grant_for(Cents::new(16_313_854), own),
            Cents::new(12_688_553)
        );
        // 5.000 € more third-party money: the grant falls by exactly that.
        assert_eq!(
            b.grant_for(b.eligible, Cents::new(3_625_301 + 500_000)),
            Cents::new(14_501_203 - 500_000)
        );
        // Other funds covering everything leave nothing, never a negative grant.
        assert_eq!(b.grant_for(Cents::new(100), own), Cents::ZERO);
    }

    #[test]
    fn a_fixed_amount_is_cut_only_below_it() {
        let b = basis(FinancingType::Fixed);
        assert_eq!(b.grant_for(Cents::new(16_313_854), Cents::ZERO), b.granted);
        assert_eq!(
            b.grant_for(Cents::new(10_000_000), Cents::ZERO),
            Cents::new(10_000_000)
        );
    }
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
