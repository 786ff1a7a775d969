//! A grant's life through the portal's pages, for the demo: the municipality's clerk files the
//! application, the two demo reviewers decide it (four eyes) and the notice is issued; the
//! clerk requests money, one reviewer checks it, the other orders it, and a payment run pays
//! it. Each step happens today, through the same handlers as real use; `history` then moves
//! its days to when the demo's story has them.
//!
//! The demo clerk's own grant ("Digitales Bürgerbüro") has payout requests in every state of
//! the procedure — one paid through a payment run, one ordered, one checked and waiting for the
//! second signature, one to check, one sent back.

use anyhow::Context;
use sqlx::PgConnection;
use time::Duration;

use super::history;
use super::visitor::{Fields, Ministry, Visitor, attach, fields, save, set, start};
use crate::applications::model::Section;
use crate::applications::sample;
use crate::locale;
use crate::money::Cents;
use crate::payouts::forms::next_bank_day;
use crate::payouts::model::PayoutStatus;
use crate::programmes::model::RoundState;
use crate::state::AppState;

/// Every demo grant: 80.000 € on 100.000 € of eligible costs (the sample cost plan).
pub(super) const GRANTED: Cents = Cents::from_euros(80_000);
const ELIGIBLE: Cents = Cents::from_euros(100_000);

/// A demo project: what it is called and when it happened, in days before today (negative:
/// after today).
#[derive(Clone, Copy)]
pub(super) struct Project {
    pub title: &'static str,
    pub submitted: i64,
    pub decided: i64,
    pub start: i64,
    pub end: i64,
}

impl Project {
    fn day(days_ago: i64) -> time::Date {
        locale::today() - Duration::days(days_ago)
    }

    pub fn period(&self) -> (time::Date, time::Date) {
        (Self::day(self.start), Self::day(self.end))
    }

    /// The cost plan's year: the period's last, within the years a plan of the round may use
    /// (from the year before the round's).
    pub fn cost_year(&self, round_year: i32) -> i32 {
        self.period().1.year().max(round_year - 1)
    }
}

/// The demo clerk's grant: approved forty days ago, its project started a month ago.
pub(super) const BUERGERBUERO: Project = Project {
    title: "Digitales Bürgerbüro",
    submitted: 70,
    decided: 40,
    start: 30,
    end: -335,
};

/// The account the demo programme pays from (Helaba, Erfurt; a made-up account number).
const DEBTOR_IBAN: &str = "DE25 8205 0000 3004 4440 40";

/// The demo round: (id, year, title, programme).
pub(super) async fn demo_round(conn: &mut PgConnection) -> anyhow::Result<(i64, i32, String, i64)> {
    let round = sqlx::query!(
        "SELECT id, title, year, programme_id FROM rounds WHERE state = $1 ORDER BY id LIMIT 1",
        RoundState::Published as _,
    )
    .fetch_optional(&mut *conn)
    .await?
    .context("the demo round is missing")?;
    Ok((round.id, round.year, round.title, round.programme_id))
}

/// The portal's people and the round the demo's grants are filed in.
pub(super) struct Office<'a> {
    pub state: &'a AppState,
    pub ministry: Ministry,
    /// (id, year) of the demo round.
    pub round: (i64, i32),
    pub programme: i64,
}

impl Office<'_> {
    /// An application of the sample answers for `project`, filed by `clerk`, approved with
    /// 80.000 € for the project's period by the two reviewers; then dated as the project has it.
    pub(super) async fn approved(
        &mut self,
        clerk: &mut Visitor,
        project: &Project,
    ) -> anyhow::Result<i64> {
        let (round, year) = self.round;
        let id = start(clerk, round).await?;
        for section in [
            Section::Applicant,
            Section::Project,
            Section::Partnership,
            Section::Costs,
            Section::Declarations,
        ] {
            save(clerk, id, section, &answers(section, project, year)).await?;
        }
        attach(clerk, id, self.state).await?;
        clerk.get(&format!("/antraege/{id}/pruefen")).await?;
        clerk
            .post(&format!("/antraege/{id}/einreichen"), &[])
            .await?;
        self.ministry.take(id).await?;
        let (start, end) = project.period();
        self.ministry
            .propose(
                id,
                &[
                    ("outcome", "approve".into()),
                    ("granted", GRANTED.plain()),
                    ("eligible", ELIGIBLE.plain()),
                    ("period_start", start.to_string()),
                    ("period_end", end.to_string()),
                    (
                        "conditions",
                        "Die ANBest-Gk sind Bestandteil dieses Bescheides.".into(),
                    ),
                ],
            )
            .await?;
        self.ministry.confirm(id).await?;
        let mut conn = self.state.db.acquire().await?;
        history::application(
            &mut conn,
            &self.state.files,
            id,
            (project.submitted, project.decided),
        )
        .await?;
        Ok(id)
    }

    /// The programme's account for payment runs, entered by the admin unless there is one.
    pub(super) async fn debtor_account(&self) -> anyhow::Result<()> {
        let mut conn = self.state.db.acquire().await?;
        let set = crate::programmes::db::debtor_accounts(&mut conn)
            .await?
            .iter()
            .any(|d| d.programme_id == self.programme && !d.debtor_iban.is_empty());
        drop(conn);
        if set {
            return Ok(());
        }
        let mut admin =
            super::visitor::signed_in(self.state, "admin@demo.foerderportal.example").await?;
        admin.get("/admin/programm").await?;
        admin
            .post(
                "/admin/programm/auszahlungskonto",
                &[
                    ("debtor_name", "Freistaat Thüringen".into()),
                    ("debtor_iban", DEBTOR_IBAN.into()),
                    ("debtor_bic", "HELADEFF820".into()),
                ],
            )
            .await?;
        Ok(())
    }

    /// A Mittelabruf of `euros` for one payment, filed by `clerk` and taken through the
    /// procedure up to `target`: sent back, or checked by the first reviewer, ordered by the
    /// second and paid through a payment run of its own. Returns its id.
    pub(super) async fn payout(
        &mut self,
        clerk: &mut Visitor,
        application: i64,
        (euros, purpose, payee): (i64, &str, &str),
        target: PayoutStatus,
    ) -> anyhow::Result<i64> {
        let amount = Cents::from_euros(euros).plain();
        let new = format!("/antraege/{application}/auszahlungen/neu");
        clerk.get(&new).await?;
        let due = locale::today() + Duration::days(14);
        let filed = clerk
            .post(
                &format!("/antraege/{application}/auszahlungen"),
                &[
                    ("submission", clerk.hidden("submission")?),
                    ("purpose-1", purpose.into()),
                    ("payee-1", payee.into()),
                    ("due_on-1", due.to_string()),
                    ("item_amount-1", amount.clone()),
                    ("amount", amount.clone()),
                    ("account", "application".into()),
                    ("declaration", "ja".into()),
                ],
            )
            .await?;
        let id: i64 = filed
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .with_context(|| format!("no payout in {filed}"))?;
        let case = format!("/pruefung/mittelabrufe/{id}");
        let reviewer = &mut self.ministry.reviewer;
        match target {
            PayoutStatus::Submitted => return Ok(id),
            PayoutStatus::Returned => {
                reviewer.get(&case).await?;
                reviewer
                    .post(
                        &format!("{case}/zurueckgeben"),
                        &[("reason", "Die Beratung ist nicht Teil der bewilligten Ausgaben; bitte rufen Sie sie nicht ab.".into())],
                    )
                    .await?;
                return Ok(id);
            }
            _ => {}
        }
        reviewer.get(&case).await?;
        reviewer
            .post(
                &format!("{case}/pruefen"),
                &[("approved", amount), ("note", String::new())],
            )
            .await?;
        if target == PayoutStatus::Checked {
            return Ok(id);
        }
        let second = &mut self.ministry.second;
        second.get(&case).await?;
        second.post(&format!("{case}/anordnen"), &[]).await?;
        if target == PayoutStatus::Paid {
            self.paid_run().await?;
        }
        Ok(id)
    }

    /// A payment run of the ordered payouts, its file downloaded, booked as paid.
    async fn paid_run(&mut self) -> anyhow::Result<()> {
        let reviewer = &mut self.ministry.reviewer;
        reviewer.get("/pruefung/zahllaeufe").await?;
        let run = reviewer
            .post(
                "/pruefung/zahllaeufe",
                &[
                    ("programme", self.programme.to_string()),
                    ("execution_date", next_bank_day(locale::today()).to_string()),
                ],
            )
            .await?;
        reviewer.get(&format!("{run}/pain001.xml")).await?;
        reviewer.get(&run).await?;
        reviewer.post(&format!("{run}/bezahlt"), &[]).await?;
        Ok(())
    }
}

/// The answers of a section: the sample application's, with the project's title and period
/// and its cost plan in the period's year.
fn answers(section: Section, project: &Project, round_year: i32) -> Fields {
    let mut answers = fields(&sample::answers(section, round_year));
    match section {
        Section::Project => {
            let (start, end) = project.period();
            set(
                &mut answers,
                &[
                    ("title", project.title.into()),
                    ("start_date", start.to_string()),
                    ("end_date", end.to_string()),
                ],
            );
        }
        Section::Costs => set(
            &mut answers,
            &[("cost-0-year", project.cost_year(round_year).to_string())],
        ),
        _ => {}
    }
    answers
}

/// The demo clerk's grant with its payouts, one in each state, each filed six days after the
/// one before (the first a month ago, paid through a run). Returns the grant's id.
pub(super) async fn load(office: &mut Office<'_>, clerk: &mut Visitor) -> anyhow::Result<i64> {
    let application = office.approved(clerk, &BUERGERBUERO).await?;
    let plan: [(i64, &str, &str, PayoutStatus); 5] = [
        (
            25_000,
            "Lizenzen Terminservice, erste Rate",
            "Softwarehaus Nordthüringen GmbH",
            PayoutStatus::Paid,
        ),
        (
            15_000,
            "Einrichtung und Schnittstellen",
            "Softwarehaus Nordthüringen GmbH",
            PayoutStatus::Ordered,
        ),
        (
            10_000,
            "Schulung der Beschäftigten",
            "Kommunale Akademie Thüringen",
            PayoutStatus::Checked,
        ),
        (
            8_000,
            "Hardware für die Terminsäulen",
            "Bürotechnik Sondershausen",
            PayoutStatus::Submitted,
        ),
        (
            5_000,
            "Beratung Datenschutz",
            "Kanzlei am Markt",
            PayoutStatus::Returned,
        ),
    ];
    let count = plan.len();
    for (n, (euros, purpose, payee, target)) in plan.into_iter().enumerate() {
        let id = office
            .payout(clerk, application, (euros, purpose, payee), target)
            .await?;
        let mut conn = office.state.db.acquire().await?;
        history::payout(&mut conn, id, i32::try_from(count - n).unwrap_or(1)).await?;
    }
    Ok(application)
}
