//! Grants after the award for the demo, one per state of their later life: Jena's project has
//! ended and its Verwendungsnachweis waits for the ministry; Weimar's proof is overdue; the
//! Landkreis Gotha's grant is settled with a repayment and its Schlussbescheid; and the demo
//! clerk's grant has a change approved, one notified and an Änderungsantrag in review. Filed,
//! paid, proven, settled and changed through the portal's own pages (see `grant`), by each
//! municipality's demo clerk and the two demo reviewers; `history` dates them afterwards.

use anyhow::Context;
use time::Duration;

use super::grant::{Office, Project};
use super::history;
use super::visitor::{Visitor, clerk, signed_in};
use crate::locale;
use crate::money::Cents;
use crate::payouts::model::PayoutStatus;

pub(super) const E_AKTE: Project = Project {
    title: "E-Akte für alle Ämter",
    submitted: 520,
    decided: 470,
    start: 460,
    end: 60,
};

const RATSINFO: Project = Project {
    title: "Ratsinformationssystem mit Bürgerportal",
    submitted: 700,
    decided: 640,
    start: 630,
    end: 200,
};

const TERMINE: Project = Project {
    title: "Online-Terminvergabe im Landratsamt",
    submitted: 820,
    decided: 760,
    start: 750,
    end: 330,
};

/// Jena's, Weimar's and the Landkreis Gotha's grants, each filed by the municipality's own
/// demo clerk.
pub(super) async fn load(office: &mut Office<'_>) -> anyhow::Result<()> {
    let hash = office
        .state
        .passwords
        .hash(super::DEMO_PASSWORD.to_string())
        .await?;
    let mut clerks = Vec::new();
    for ags in ["16053000", "16055000", "16067000"] {
        let mut conn = office.state.db.acquire().await?;
        let email = clerk(&mut conn, ags, &hash).await?;
        drop(conn);
        clerks.push(signed_in(office.state, &email).await?);
    }
    let [mut jena, mut weimar, mut gotha] =
        <[Visitor; 3]>::try_from(clerks).map_err(|_| anyhow::anyhow!("three clerks"))?;

    let id = office.approved(&mut jena, &E_AKTE).await?;
    paid(office, &mut jena, id, 72_000, 300).await?;
    prove(
        office,
        &mut jena,
        id,
        &E_AKTE,
        &[48_000, 31_500, 19_000],
        10,
    )
    .await?;

    let id = office.approved(&mut weimar, &RATSINFO).await?;
    paid(office, &mut weimar, id, 40_000, 500).await?;

    // Paid the 90 % the grant allows before the proof; the proven costs allow less: a
    // repayment with interest from the payout's day.
    let id = office.approved(&mut gotha, &TERMINE).await?;
    paid(office, &mut gotha, id, 72_000, 600).await?;
    let proof = prove(office, &mut gotha, id, &TERMINE, &[60_000, 25_000], 100).await?;
    settle(office, proof).await
}

/// One payout of `euros`, paid through a run about `days_ago` days ago.
async fn paid(
    office: &mut Office<'_>,
    clerk: &mut Visitor,
    application: i64,
    euros: i64,
    days_ago: i32,
) -> anyhow::Result<()> {
    let payment = (
        euros,
        "Lizenzen und Einrichtung",
        "Softwarehaus Thüringen GmbH",
    );
    let id = office
        .payout(clerk, application, payment, PayoutStatus::Paid)
        .await?;
    let mut conn = office.state.db.acquire().await?;
    history::payout(&mut conn, id, days_ago / 6).await
}

/// The proof with its Sachbericht, receipts (euros, on cost item 1, paid a month before the
/// period ended) and financing, submitted `days_ago` days ago. Returns its id.
async fn prove(
    office: &Office<'_>,
    clerk: &mut Visitor,
    application: i64,
    project: &Project,
    receipts: &[i64],
    days_ago: i64,
) -> anyhow::Result<i64> {
    let proof = format!("/antraege/{application}/verwendungsnachweis");
    clerk.get(&format!("{proof}/sachbericht")).await?;
    clerk
        .post(
            &format!("{proof}/sachbericht"),
            &[
                ("work_done", "Die Software ist beschafft, eingerichtet und in allen Ämtern im Einsatz; die Beschäftigten sind geschult.".into()),
                ("results", "Vorgänge werden vollständig elektronisch bearbeitet; Papierakten werden nicht mehr angelegt.".into()),
                ("deviations", "Die Lizenzen waren günstiger als geplant.".into()),
                ("reuse_users", "Zwei Nachbarkommunen nutzen die Installation als Mandanten mit.".into()),
                ("reuse_howto", "Weitere Kommunen können als Mandant dazukommen; Ansprechpartner ist die IT-Stelle.".into()),
            ],
        )
        .await?;
    let paid_on = project.period().1 - Duration::days(30);
    for (n, euros) in receipts.iter().enumerate() {
        clerk.get(&format!("{proof}/belege")).await?;
        clerk
            .post(
                &format!("{proof}/belege"),
                &[
                    ("paid_on", paid_on.to_string()),
                    ("payee", "Softwarehaus Thüringen GmbH".into()),
                    ("purpose", format!("Rechnung {}", n + 1)),
                    ("cost_position", "1".into()),
                    ("amount", Cents::from_euros(*euros).plain()),
                ],
            )
            .await?;
    }
    clerk.get(&format!("{proof}/finanzierung")).await?;
    clerk
        .post(
            &format!("{proof}/finanzierung"),
            &[
                ("own_share", Cents::from_euros(20_000).plain()),
                ("third_party", String::new()),
                ("other_public", String::new()),
                ("procurement", "ja".into()),
                ("correct", "ja".into()),
            ],
        )
        .await?;
    clerk.get(&format!("{proof}/pruefen")).await?;
    clerk.post(&format!("{proof}/pruefen"), &[]).await?;
    let mut conn = office.state.db.acquire().await?;
    let id = crate::proofs::db::of_application(&mut conn, application)
        .await?
        .context("the demo proof")?
        .id;
    history::proof(&mut conn, id, days_ago).await?;
    Ok(id)
}

/// The first reviewer checks the proof and proposes the settlement; the second confirms it,
/// which issues the Schlussbescheid and closes the grant. Settled today: the interest runs
/// from the payouts' (already moved) days to the notice's.
async fn settle(office: &mut Office<'_>, proof: i64) -> anyhow::Result<()> {
    let case = format!("/pruefung/verwendungsnachweise/{proof}");
    let reviewer = &mut office.ministry.reviewer;
    reviewer.get(&case).await?;
    let ticked = |field: &'static str| (field, "ja".to_string());
    reviewer
        .post(
            &format!("{case}/abrechnung"),
            &[
                ticked("report_complete"),
                ticked("receipts_add_up"),
                ticked("costs_plausible"),
                ticked("procurement_declared"),
                ticked("reuse_described"),
                ("disallowed", String::new()),
                ("note", String::new()),
            ],
        )
        .await?;
    let second = &mut office.ministry.second;
    second.get(&case).await?;
    second
        .post(&format!("{case}/abrechnung/bestaetigen"), &[])
        .await?;
    Ok(())
}

/// One cost row of the change form: kind, description, euros.
type Row<'a> = (&'a str, &'a str, i64);

/// On the demo clerk's grant: the plan split in two items (a decision, approved with four
/// eyes), then a shift of 10 % between them (only notified), then an extension of the period
/// by four months, waiting for the ministry.
pub(super) async fn changes(
    office: &mut Office<'_>,
    clerk: &mut Visitor,
    application: i64,
) -> anyhow::Result<()> {
    let project = super::grant::BUERGERBUERO;
    let (_, end) = project.period();
    let year = project.cost_year(office.round.1);
    let licences = "Lizenzen Terminservice";
    let training = "Schulung der Beschäftigten";
    change(
        clerk,
        application,
        (end, year),
        &[
            ("software", licences, 90_000),
            ("training", training, 10_000),
        ],
        "Die Schulung wird als eigene Position geführt.",
    )
    .await?;
    let amendment = latest_amendment(office, application).await?;
    let case = format!("/pruefung/aenderungen/{amendment}");
    let reviewer = &mut office.ministry.reviewer;
    reviewer.get(&case).await?;
    reviewer
        .post(
            &format!("{case}/vorschlag"),
            &[("outcome", "genehmigen".into()), ("note", String::new())],
        )
        .await?;
    let second = &mut office.ministry.second;
    second.get(&case).await?;
    second.post(&format!("{case}/bestaetigen"), &[]).await?;
    let shifted: [Row; 2] = [
        ("software", licences, 89_000),
        ("training", training, 11_000),
    ];
    change(
        clerk,
        application,
        (end, year),
        &shifted,
        "Die Schulung wird einen Tag länger.",
    )
    .await?;
    change(
        clerk,
        application,
        (end + Duration::days(120), year),
        &shifted,
        "Der Anbieter kann die Schnittstelle zum Fachverfahren erst vier Monate später liefern.",
    )
    .await?;
    Ok(())
}

/// Files a change from the form: the period's end, the plan's rows (in `year`), the reason.
async fn change(
    clerk: &mut Visitor,
    application: i64,
    (period_end, year): (time::Date, i32),
    rows: &[Row<'_>],
    reason: &str,
) -> anyhow::Result<()> {
    let page = format!("/antraege/{application}/aenderungen");
    clerk.get(&format!("{page}/neu")).await?;
    let mut fields = vec![
        ("submission".to_string(), clerk.hidden("submission")?),
        ("period_end".to_string(), locale::day(period_end)),
        ("reason".to_string(), reason.to_string()),
    ];
    for (n, (kind, description, euros)) in rows.iter().enumerate() {
        for (field, value) in [
            ("kind", (*kind).to_string()),
            ("description", (*description).to_string()),
            ("year", year.to_string()),
            ("amount", Cents::from_euros(*euros).plain()),
            ("eligible", "ja".into()),
        ] {
            fields.push((format!("cost-{n}-{field}"), value));
        }
    }
    clerk.send_form(&page, &fields).await?;
    Ok(())
}

/// The grant's newest change.
async fn latest_amendment(office: &Office<'_>, application: i64) -> anyhow::Result<i64> {
    let mut conn = office.state.db.acquire().await?;
    let id: Option<i64> = sqlx::query_scalar!(
        "SELECT max(id) FROM amendments WHERE application_id = $1",
        application
    )
    .fetch_one(&mut *conn)
    .await?;
    id.context("the demo change")
}
