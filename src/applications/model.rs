//! The application aggregate without I/O: its states and the transitions between them, its
//! sections, and the checks that need no database.

use std::fmt;
use std::str::FromStr;

use crate::money::{Cents, Rate};

crate::stored::stored_enum! {
    /// Where an application stands (design.md, "Application states").
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Status {
        Draft = "draft",
        Submitted = "submitted",
        InReview = "in_review",
        ChangesRequested = "changes_requested",
        DecisionProposed = "decision_proposed",
        Approved = "approved",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
        /// After the award: the proof of use is checked and the grant settled (Schlussbescheid).
        Settled = "settled",
    }
}

impl Status {
    /// As the municipality sees it. A proposed decision is still "in Prüfung" for them: the
    /// four-eyes step is internal.
    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Entwurf",
            Status::Submitted => "Eingereicht",
            Status::InReview | Status::DecisionProposed => "In Prüfung",
            Status::ChangesRequested => "Nachforderung",
            Status::Approved => "Bewilligt",
            Status::Rejected => "Abgelehnt",
            Status::Withdrawn => "Zurückgezogen",
            Status::Settled => "Abgeschlossen",
        }
    }

    /// The CSS class of the status tag.
    pub fn tag_class(self) -> &'static str {
        match self {
            Status::Draft => "tag-draft",
            Status::Submitted | Status::InReview | Status::DecisionProposed => "tag-soon",
            Status::ChangesRequested => "tag-action",
            Status::Approved => "tag-open",
            Status::Rejected | Status::Withdrawn | Status::Settled => "tag-closed",
        }
    }

    /// What happens next, in the municipality's words.
    pub fn next_step(self) -> &'static str {
        match self {
            Status::Draft => "Antrag vervollständigen und einreichen",
            Status::Submitted => "Das Ministerium prüft den Eingang.",
            Status::InReview | Status::DecisionProposed => {
                "Das Ministerium prüft den Antrag. Sie erhalten eine E-Mail, sobald es Neuigkeiten gibt."
            }
            Status::ChangesRequested => "Nachforderung beantworten und erneut einreichen",
            Status::Approved => {
                "Zuwendungsbescheid herunterladen; Mittel unter „Auszahlungen“ abrufen, wenn Zahlungen fällig werden"
            }
            Status::Rejected => "Ablehnungsbescheid herunterladen",
            Status::Withdrawn => "Keine weiteren Schritte",
            Status::Settled => "Schlussbescheid herunterladen; die Zuwendung ist abgerechnet",
        }
    }

    /// Clerks may change answers only in these states (in `ChangesRequested` only the reopened
    /// sections).
    pub fn is_editable(self) -> bool {
        matches!(self, Status::Draft | Status::ChangesRequested)
    }

    /// A decision is final; before it the municipality may withdraw.
    pub fn is_decided(self) -> bool {
        matches!(self, Status::Approved | Status::Rejected | Status::Settled)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The round's rules that answers are checked against.
#[derive(Clone, Debug)]
pub struct RoundRules {
    pub year: i32,
    /// Open categories (code, title).
    pub categories: Vec<(String, String)>,
    pub max_rate: Rate,
    pub min_grant: Cents,
    pub max_grant: Option<Cents>,
}

/// An application's title, or, while the clerk has not given one, the day its draft was begun
/// ("Entwurf vom 01.12.2026"), so that several drafts can be told apart.
pub fn shown_title(title: &str, created_at: time::OffsetDateTime) -> String {
    if title.is_empty() {
        format!("Entwurf vom {}", crate::locale::date(created_at))
    } else {
        title.to_string()
    }
}

/// Who acts on an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// A clerk of the applying municipality.
    Applicant,
    /// Ministry staff (reviewer role).
    Reviewer,
}

/// Every change of an application's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Submit,
    StartReview,
    RequestChanges,
    Resubmit,
    ProposeDecision,
    SendBack,
    Approve,
    Reject,
    Withdraw,
    /// The grant is settled after its proof of use.
    Settle,
}

impl Transition {
    pub const ALL: [Transition; 10] = [
        Transition::Submit,
        Transition::StartReview,
        Transition::RequestChanges,
        Transition::Resubmit,
        Transition::ProposeDecision,
        Transition::SendBack,
        Transition::Approve,
        Transition::Reject,
        Transition::Withdraw,
        Transition::Settle,
    ];

    /// Who may make this transition.
    pub fn party(self) -> Party {
        match self {
            Transition::Submit | Transition::Resubmit | Transition::Withdraw => Party::Applicant,
            _ => Party::Reviewer,
        }
    }

    /// The state this transition leads to from `from`, or `None` where the machine forbids it.
    pub fn target(self, from: Status) -> Option<Status> {
        use Status::*;
        match (self, from) {
            (Transition::Submit, Draft) => Some(Submitted),
            (Transition::StartReview, Submitted) => Some(InReview),
            (Transition::RequestChanges, InReview) => Some(ChangesRequested),
            (Transition::Resubmit, ChangesRequested) => Some(InReview),
            (Transition::ProposeDecision, InReview) => Some(DecisionProposed),
            (Transition::SendBack, DecisionProposed) => Some(InReview),
            (Transition::Approve, DecisionProposed) => Some(Approved),
            (Transition::Reject, DecisionProposed) => Some(Rejected),
            (Transition::Settle, Approved) => Some(Settled),
            (
                Transition::Withdraw,
                Draft | Submitted | InReview | ChangesRequested | DecisionProposed,
            ) => Some(Withdrawn),
            _ => None,
        }
    }

    /// The event kind written to the timeline.
    pub fn event_kind(self) -> &'static str {
        match self {
            Transition::Submit => "submitted",
            Transition::StartReview => "review_started",
            Transition::RequestChanges => "changes_requested",
            Transition::Resubmit => "resubmitted",
            Transition::ProposeDecision => "decision_proposed",
            Transition::SendBack => "proposal_sent_back",
            Transition::Approve => "approved",
            Transition::Reject => "rejected",
            Transition::Withdraw => "withdrawn",
            Transition::Settle => "settled",
        }
    }
}

/// The timeline's words for an event kind; `None` for events the municipality does not see
/// (the internal four-eyes steps).
pub fn event_label(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "created" => "Antrag angelegt",
        "submitted" => "Antrag eingereicht",
        "review_started" => "Prüfung begonnen",
        "changes_requested" => "Nachforderung erhalten",
        "resubmitted" => "Ergänzter Antrag eingereicht",
        "approved" => "Antrag bewilligt",
        "rejected" => "Antrag abgelehnt",
        "withdrawn" => "Antrag zurückgezogen",
        "settled" => "Zuwendung abgerechnet (Schlussbescheid)",
        "partner_confirmed" => "Teilnahme bestätigt",
        _ => return None,
    })
}

/// The sections of the task list, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    Applicant,
    Project,
    Partnership,
    Costs,
    Attachments,
    Declarations,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Applicant,
        Section::Project,
        Section::Partnership,
        Section::Costs,
        Section::Attachments,
        Section::Declarations,
    ];

    /// Its URL segment and database key.
    pub fn slug(self) -> &'static str {
        match self {
            Section::Applicant => "antragsteller",
            Section::Project => "vorhaben",
            Section::Partnership => "verbund",
            Section::Costs => "kosten",
            Section::Attachments => "anlagen",
            Section::Declarations => "erklaerungen",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::Applicant => "Antragsteller",
            Section::Project => "Vorhaben",
            Section::Partnership => "Verbund und Nachnutzung",
            Section::Costs => "Kosten- und Finanzierungsplan",
            Section::Attachments => "Anlagen",
            Section::Declarations => "Erklärungen",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.slug() == slug)
    }

    /// The section after this one in the task list.
    pub fn next(self) -> Option<Section> {
        let i = Section::ALL.iter().position(|s| *s == self)?;
        Section::ALL.get(i + 1).copied()
    }
}

impl FromStr for Section {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Section::from_slug(s).ok_or(())
    }
}

crate::stored::stored_as_text!(Section, slug);

/// A section's place in the task list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionStatus {
    NotStarted,
    InProgress,
    Complete,
    Error,
}

impl SectionStatus {
    pub fn label(self) -> &'static str {
        match self {
            SectionStatus::NotStarted => "Nicht begonnen",
            SectionStatus::InProgress => "In Bearbeitung",
            SectionStatus::Complete => "Abgeschlossen",
            SectionStatus::Error => "Fehler",
        }
    }

    pub fn tag_class(self) -> &'static str {
        match self {
            SectionStatus::NotStarted => "tag-draft",
            SectionStatus::InProgress => "tag-soon",
            SectionStatus::Complete => "tag-open",
            SectionStatus::Error => "tag-error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_allows_exactly_the_designed_transitions() {
        use Status::*;
        let allowed: Vec<(Transition, Status, Status)> = Transition::ALL
            .into_iter()
            .flat_map(|t| {
                Status::ALL
                    .into_iter()
                    .filter_map(move |from| t.target(from).map(|to| (t, from, to)))
            })
            .collect();
        let expected = vec![
            (Transition::Submit, Draft, Submitted),
            (Transition::StartReview, Submitted, InReview),
            (Transition::RequestChanges, InReview, ChangesRequested),
            (Transition::Resubmit, ChangesRequested, InReview),
            (Transition::ProposeDecision, InReview, DecisionProposed),
            (Transition::SendBack, DecisionProposed, InReview),
            (Transition::Approve, DecisionProposed, Approved),
            (Transition::Reject, DecisionProposed, Rejected),
            (Transition::Withdraw, Draft, Withdrawn),
            (Transition::Withdraw, Submitted, Withdrawn),
            (Transition::Withdraw, InReview, Withdrawn),
            (Transition::Withdraw, ChangesRequested, Withdrawn),
            (Transition::Withdraw, DecisionProposed, Withdrawn),
            (Transition::Settle, Approved, Settled),
        ];
        assert_eq!(allowed, expected);
    }

    #[test]
    fn nothing_leaves_a_decision_or_a_withdrawal_but_the_settlement_of_a_grant() {
        for t in Transition::ALL {
            for end in [Status::Rejected, Status::Withdrawn, Status::Settled] {
                assert_eq!(t.target(end), None, "{t:?} from {end:?}");
            }
            let expected = (t == Transition::Settle).then_some(Status::Settled);
            assert_eq!(t.target(Status::Approved), expected, "{t:?} from approved");
        }
    }

    #[test]
    fn statuses_round_trip_through_their_database_names() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        assert!("approved; DROP".parse::<Status>().is_err());
    }

    #[test]
    fn sections_follow_each_other_in_task_list_order() {
        assert_eq!(Section::Applicant.next(), Some(Section::Project));
        assert_eq!(Section::Declarations.next(), None);
        for s in Section::ALL {
            assert_eq!(Section::from_slug(s.slug()), Some(s));
        }
    }
}
