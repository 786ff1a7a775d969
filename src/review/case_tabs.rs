//! The case's sub-pages (Antrag · Prüfung · Entscheidung · Nachrichten · Verlauf) and the next
//! step the case page names at its top, so the application comes first and each action sits on
//! the one sub-page its form belongs to.

use crate::applications::model::Status;

/// One sub-page of the case page; each is a page of its own (a link, not a script tab).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseTab {
    /// The application dossier: what the municipality applied for.
    Antrag,
    /// Assignment, start of review, Prüfvermerk and Nachforderung.
    Pruefung,
    /// The proposal, its four-eyes confirmation and the notice.
    Entscheidung,
    /// Messages with the municipality and the ministry's internal notes.
    Nachrichten,
    /// The timeline and what changed between the submitted versions.
    Verlauf,
}

impl CaseTab {
    pub const ALL: [CaseTab; 5] = [
        CaseTab::Antrag,
        CaseTab::Pruefung,
        CaseTab::Entscheidung,
        CaseTab::Nachrichten,
        CaseTab::Verlauf,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CaseTab::Antrag => "Antrag",
            CaseTab::Pruefung => "Prüfung",
            CaseTab::Entscheidung => "Entscheidung",
            CaseTab::Nachrichten => "Nachrichten und Notizen",
            CaseTab::Verlauf => "Verlauf",
        }
    }

    /// The sub-page's address; the dossier is the case's own address.
    pub fn path(self, id: i64) -> String {
        match self {
            CaseTab::Antrag => format!("/pruefung/antraege/{id}"),
            CaseTab::Pruefung => format!("/pruefung/antraege/{id}/pruefung"),
            CaseTab::Entscheidung => format!("/pruefung/antraege/{id}/entscheidung"),
            CaseTab::Nachrichten => format!("/pruefung/antraege/{id}/nachrichten"),
            CaseTab::Verlauf => format!("/pruefung/antraege/{id}/verlauf"),
        }
    }
}

/// A link of the sub navigation.
pub struct TabLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub fn tab_links(id: i64, current: CaseTab) -> Vec<TabLink> {
    CaseTab::ALL
        .into_iter()
        .map(|tab| TabLink {
            label: tab.label(),
            href: tab.path(id),
            current: tab == current,
        })
        .collect()
}

/// What the person looking at the case can do next, with links to where it is done.
#[derive(Debug, PartialEq, Eq)]
pub struct NextStep {
    pub text: &'static str,
    /// (label, sub-page, fragment)
    pub links: Vec<(&'static str, CaseTab, &'static str)>,
}

impl NextStep {
    /// The links as shown on `current` of case `id`: none to the sub-page already open.
    pub fn links_from(&self, id: i64, current: CaseTab) -> Vec<(&'static str, String)> {
        self.links
            .iter()
            .filter(|(_, to, _)| *to != current)
            .map(|(label, to, fragment)| (*label, format!("{}#{fragment}", to.path(id))))
            .collect()
    }
}

/// Where a decision stands, as far as the next step depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proposal {
    None,
    /// Open and proposed by someone else: this reviewer may settle it.
    OthersOpen,
    /// Open and proposed by this reviewer: another person must settle it.
    OwnOpen,
}

pub fn next_step(status: Status, proposal: Proposal) -> NextStep {
    let step = |text, links| NextStep { text, links };
    match status {
        Status::Submitted => step(
            "Prüfung beginnen; die Kommune sieht dann den Status „In Prüfung“.",
            vec![("Zur Prüfung", CaseTab::Pruefung, "pruefbeginn")],
        ),
        Status::InReview => step(
            "Prüfvermerk ausfüllen, dann eine Entscheidung vorschlagen oder eine Nachforderung stellen.",
            vec![
                ("Zum Prüfvermerk", CaseTab::Pruefung, "pruefvermerk"),
                (
                    "Zum Entscheidungsvorschlag",
                    CaseTab::Entscheidung,
                    "entscheidung",
                ),
            ],
        ),
        Status::ChangesRequested => step(
            "Keiner: Die Kommune beantwortet die Nachforderung und reicht den Antrag erneut ein.",
            vec![("Zum Verlauf", CaseTab::Verlauf, "verlauf")],
        ),
        Status::DecisionProposed if proposal == Proposal::OthersOpen => step(
            "Den Entscheidungsvorschlag prüfen und bestätigen oder zurückgeben (Zweitzeichnung).",
            vec![(
                "Zum Entscheidungsvorschlag",
                CaseTab::Entscheidung,
                "entscheidung",
            )],
        ),
        Status::DecisionProposed => step(
            "Keiner für Sie: Eine andere Person muss Ihren Vorschlag bestätigen oder zurückgeben (Vier-Augen-Prinzip).",
            vec![(
                "Zum Entscheidungsvorschlag",
                CaseTab::Entscheidung,
                "entscheidung",
            )],
        ),
        Status::Approved | Status::Rejected | Status::Settled => step(
            "Keiner: Der Antrag ist entschieden.",
            vec![("Zur Entscheidung", CaseTab::Entscheidung, "entscheidung")],
        ),
        Status::Withdrawn | Status::Draft => step(
            "Keiner: Die Kommune hat den Antrag zurückgezogen.",
            Vec::new(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tab_has_its_own_address_below_the_case() {
        let paths: Vec<String> = CaseTab::ALL.iter().map(|t| t.path(7)).collect();
        assert_eq!(paths[0], "/pruefung/antraege/7");
        for path in &paths[1..] {
            assert!(path.starts_with("/pruefung/antraege/7/"), "{path}");
        }
        let unique: std::collections::BTreeSet<_> = paths.iter().collect();
        assert_eq!(unique.len(), paths.len());
    }

    #[test]
    fn only_the_current_tab_is_marked() {
        let links = tab_links(3, CaseTab::Entscheidung);
        let current: Vec<_> = links
            .iter()
            .filter(|l| l.current)
            .map(|l| l.label)
            .collect();
        assert_eq!(current, vec!["Entscheidung"]);
    }

    #[test]
    fn the_next_step_of_an_open_proposal_depends_on_who_proposed_it() {
        let theirs = next_step(Status::DecisionProposed, Proposal::OthersOpen);
        assert!(theirs.text.contains("bestätigen"));
        assert_eq!(theirs.links[0].1, CaseTab::Entscheidung);
        let own = next_step(Status::DecisionProposed, Proposal::OwnOpen);
        assert!(own.text.starts_with("Keiner für Sie"));
    }

    #[test]
    fn a_submitted_case_points_to_the_start_of_the_review_except_where_it_is() {
        let step = next_step(Status::Submitted, Proposal::None);
        assert_eq!(
            step.links_from(4, CaseTab::Antrag),
            vec![(
                "Zur Prüfung",
                "/pruefung/antraege/4/pruefung#pruefbeginn".to_string()
            )]
        );
        assert!(step.links_from(4, CaseTab::Pruefung).is_empty());
    }
}
