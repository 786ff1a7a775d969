//! The demo round as the ministry's interim report tells it: 19 municipalities have applied
//! for just under 1,8 Mio. €; the Kyffhäuserkreis' "E-Government-Serviceteam" with the
//! Landkreis Nordhausen and the Unstrut-Hainich-Kreis is approved with 145.012,03 €. Every
//! application is filed and worked through the portal's own pages, in process: the same
//! handlers, checks, state machine, notices and e-mails as real use. Only the accounts of the
//! municipalities' clerks are written directly.

use std::collections::HashMap;

use anyhow::Context;

use super::DEMO_PASSWORD;
use super::visitor::{
    Fields, Ministry, Visitor, attach, clerk, fields, plain, save, save_later, set, signed_in,
    start,
};
use crate::applications::model::Section;
use crate::applications::sample;
use crate::locale;
use crate::municipalities::db as municipalities;
use crate::state::AppState;

/// What a demo application ends as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Submitted, nobody has looked at it yet.
    Submitted,
    InReview,
    /// The ministry asked for more; the municipality has not answered yet.
    ChangesRequested,
    /// Asked for more, answered, back in review.
    Answered,
    /// Proposed for approval, waiting for the second signature.
    Proposed,
    Approved,
    Rejected,
    Withdrawn,
}

/// One cost item: kind, what it is, cents.
type Cost = (&'static str, &'static str, i64);

struct Demo {
    ags: &'static str,
    title: &'static str,
    category: &'static str,
    summary: &'static str,
    costs: &'static [Cost],
    /// The grant requested, in cents (at most 80 % of the costs).
    grant: i64,
    partners: &'static [&'static str],
    outcome: Outcome,
}

/// The Kyffhäuserkreis' project of the ministry's press release; its figures are the notice's.
const SERVICETEAM: Demo = Demo {
    ags: "16065000",
    title: "E-Government-Serviceteam",
    category: "2f",
    summary: "Ein gemeinsames Serviceteam der Landkreise analysiert Verwaltungsprozesse und Fachverfahren, entwickelt neue Online-Antragsverfahren und stimmt Beschaffungen ab.",
    costs: &[
        (
            "personnel",
            "Zwei Stellen E-Government-Koordination (anteilig)",
            12_600_000,
        ),
        (
            "services",
            "Prozessanalyse und Begleitung durch externe Beratung",
            4_526_504,
        ),
        ("training", "Schulungen der Mitarbeitenden", 1_000_000),
    ],
    grant: 14_501_203,
    partners: &["16062000", "16064000"],
    outcome: Outcome::Approved,
};

const OTHERS: [Demo; 15] = [
    Demo {
        ags: "16051000",
        title: "Online-Antragsverfahren für das Bürgeramt",
        category: "2a",
        summary: "Meldebescheinigungen, Anwohnerparkausweise und Führungszeugnisse werden vollständig online beantragt und bezahlt.",
        costs: &[
            (
                "software",
                "Antragsassistenten und Bezahlschnittstelle",
                15_000_000,
            ),
            (
                "services",
                "Einrichtung und Anbindung an die Fachverfahren",
                6_000_000,
            ),
        ],
        grant: 16_800_000,
        partners: &[],
        outcome: Outcome::Approved,
    },
    Demo {
        ags: "16052000",
        title: "E-Rechnung im Rechnungseingang",
        category: "2d",
        summary: "Eingangsrechnungen im Format XRechnung werden elektronisch geprüft, freigegeben und gebucht.",
        costs: &[
            ("software", "Rechnungseingangsbuch und Workflow", 11_000_000),
            ("services", "Anbindung an das Haushaltsverfahren", 4_000_000),
        ],
        grant: 12_000_000,
        partners: &[],
        outcome: Outcome::Approved,
    },
    Demo {
        ags: "16054000",
        title: "Schulungsreihe Informationssicherheit",
        category: "2g",
        summary: "Alle Beschäftigten der Stadtverwaltung lernen, Phishing zu erkennen und sicher mit Daten umzugehen.",
        costs: &[("training", "Präsenz- und Onlineschulungen", 3_150_000)],
        grant: 2_520_000,
        partners: &[],
        outcome: Outcome::Approved,
    },
    Demo {
        ags: "16061000",
        title: "Gemeinsames IT-Service-Center Eichsfeld",
        category: "2f",
        summary: "Landkreis und Gemeinden betreiben Arbeitsplätze, Netze und Fachverfahren aus einem gemeinsamen Service-Center.",
        costs: &[
            ("hardware", "Server und Netzwerktechnik", 12_000_000),
            ("services", "Migration der Gemeindeverwaltungen", 8_000_000),
        ],
        grant: 16_000_000,
        partners: &[],
        outcome: Outcome::Approved,
    },
    Demo {
        ags: "16063000",
        title: "Digitale Bauantragsstrecke",
        category: "2a",
        summary: "Bauanträge gehen digital ein und werden mit den Trägern öffentlicher Belange online abgestimmt.",
        costs: &[
            ("software", "Bauportal und Beteiligungsmodul", 18_000_000),
            ("services", "Einführung und Schulung", 2_000_000),
        ],
        grant: 16_000_000,
        partners: &[],
        outcome: Outcome::Proposed,
    },
    Demo {
        ags: "16066000",
        title: "Dokumentenmanagement für die Kreisverwaltung",
        category: "2c",
        summary: "Eine E-Akte für alle Ämter, mit Schnittstellen zu den Fachverfahren und zum Archiv.",
        costs: &[
            ("software", "DMS-Lizenzen", 16_000_000),
            ("services", "Einführungsprojekt", 9_000_000),
        ],
        grant: 19_500_000,
        partners: &[],
        outcome: Outcome::InReview,
    },
    Demo {
        ags: "16068000",
        title: "Ratsinformationssystem mit Bürgerportal",
        category: "2a",
        summary: "Sitzungen, Vorlagen und Beschlüsse des Kreistags stehen barrierefrei online.",
        costs: &[("software", "Ratsinformationssystem", 4_500_000)],
        grant: 3_600_000,
        partners: &[],
        outcome: Outcome::Rejected,
    },
    Demo {
        ags: "16069000",
        title: "Online-Terminvergabe in allen Außenstellen",
        category: "2a",
        summary: "Termine für Zulassung, Führerschein und Bürgerbüro werden online gebucht und erinnert.",
        costs: &[("software", "Terminvergabe mit Aufrufsystem", 2_800_000)],
        grant: 2_240_000,
        partners: &[],
        outcome: Outcome::ChangesRequested,
    },
    Demo {
        ags: "16070000",
        title: "Schnittstelle Fachverfahren – Antragsmanagement",
        category: "2e",
        summary: "Online-Anträge aus dem Antragsmanagement des Landes gelangen ohne Medienbruch in die Fachverfahren.",
        costs: &[("services", "Entwicklung der XÖV-Schnittstellen", 12_000_000)],
        grant: 9_600_000,
        partners: &[],
        outcome: Outcome::Answered,
    },
    Demo {
        ags: "16071000",
        title: "Gemeinsame Beschaffung von Fachverfahren",
        category: "2b",
        summary: "Landkreis und kreisangehörige Gemeinden schreiben ihre Fachverfahren gemeinsam aus.",
        costs: &[(
            "services",
            "Vergabeberatung und Leistungsbeschreibung",
            11_000_000,
        )],
        grant: 8_800_000,
        partners: &[],
        outcome: Outcome::InReview,
    },
    Demo {
        ags: "16072000",
        title: "Digitaler Posteingang",
        category: "2c",
        summary: "Papierpost wird zentral gescannt und den Ämtern elektronisch zugestellt.",
        costs: &[
            ("hardware", "Hochleistungsscanner", 4_000_000),
            ("software", "Posteingangsmodul", 6_000_000),
        ],
        grant: 8_000_000,
        partners: &[],
        outcome: Outcome::InReview,
    },
    Demo {
        ags: "16073000",
        title: "WLAN und digitale Sitzungsräume",
        category: "2f",
        summary: "Sitzungsräume der Kreisverwaltung werden für hybride Sitzungen ausgestattet.",
        costs: &[("hardware", "Konferenztechnik und WLAN", 9_000_000)],
        grant: 7_200_000,
        partners: &[],
        outcome: Outcome::Submitted,
    },
    Demo {
        ags: "16074000",
        title: "Sicherheitsberatung für die Gemeinden",
        category: "2g",
        summary: "Die Gemeinden des Kreises erhalten eine Erstberatung zur Informationssicherheit nach BSI-Grundschutz.",
        costs: &[(
            "services",
            "Beratung durch einen Informationssicherheitsdienstleister",
            1_250_000,
        )],
        grant: 1_000_000,
        partners: &[],
        outcome: Outcome::Submitted,
    },
    Demo {
        ags: "16076000",
        title: "Elektronische Vergabe",
        category: "2b",
        summary: "Ausschreibungen laufen über eine elektronische Vergabeplattform.",
        costs: &[("software", "Vergabeplattform", 8_000_000)],
        grant: 6_400_000,
        partners: &[],
        outcome: Outcome::Submitted,
    },
    Demo {
        ags: "16077000",
        title: "Mobiles Arbeiten im Außendienst",
        category: "2f",
        summary: "Außendienste erfassen Kontrollen mobil und synchronisieren sie mit dem Fachverfahren.",
        costs: &[("hardware", "Tablets und Geräteverwaltung", 4_100_000)],
        grant: 3_280_000,
        partners: &[],
        outcome: Outcome::Withdrawn,
    },
];

/// Files and works the demo round's applications unless the Serviceteam exists already.
pub async fn load(state: &AppState) -> anyhow::Result<()> {
    let mut conn = state.db.acquire().await?;
    let exists: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM applications WHERE title = $1) AS "exists!""#,
        SERVICETEAM.title
    )
    .fetch_one(&mut *conn)
    .await?;
    if exists {
        return Ok(());
    }
    // The Landratsamt's address, as the press release gives it, for the notice's address block.
    let kyffhaeuser = municipalities::id_by_ags(&mut conn, SERVICETEAM.ags)
        .await?
        .context("the Kyffhäuserkreis")?;
    if let Some(mut record) = municipalities::find(&mut conn, kyffhaeuser).await? {
        record.street = Some("Markt 8".into());
        record.postal_code = Some("99706".into());
        record.city = Some("Sondershausen".into());
        municipalities::update(&mut conn, &record).await?;
    }
    let hash = state.passwords.hash(DEMO_PASSWORD.to_string()).await?;
    let mut clerks = HashMap::new();
    for demo in std::iter::once(&SERVICETEAM).chain(&OTHERS) {
        for ags in std::iter::once(&demo.ags).chain(demo.partners) {
            clerks.insert(*ags, clerk(&mut conn, ags, &hash).await?);
        }
    }
    drop(conn);
    let (round_id, year) = round(state).await?;
    let mut desk = Desk {
        ministry: Ministry::sign_in(state).await?,
        year,
    };
    for demo in std::iter::once(&SERVICETEAM).chain(&OTHERS) {
        let mut clerk = signed_in(state, &clerks[demo.ags]).await?;
        let id = file(&mut clerk, state, demo, round_id, year, &clerks).await?;
        desk.work(&mut clerk, id, demo)
            .await
            .with_context(|| format!("working {}", demo.title))?;
        if demo.outcome == Outcome::Approved {
            publish(&mut clerk, id, demo).await?;
            if demo.ags == SERVICETEAM.ags {
                ask_for_reuse(state, id).await?;
            }
        }
    }
    // A draft the demo clerk is still writing.
    let mut own = signed_in(state, "kommune@demo.foerderportal.example").await?;
    let draft = start(&mut own, round_id).await?;
    let mut answers = section_answers(Section::Project, &SERVICETEAM, year);
    answers.retain(|(k, _)| matches!(k.as_str(), "category" | "summary"));
    set(
        &mut answers,
        &[("title", "Kreisweites Bürgerportal".into())],
    );
    save_later(&mut own, draft, Section::Project, &answers).await?;
    outlines(state, &mut own, &clerks).await
}

/// Projektskizzen before the next round: the demo clerk's, consulted with the ministry and in
/// the partner search with Erfurt's interest; and the Landkreis Nordhausen's, agreed with the
/// ministry and looking for partners.
async fn outlines(
    state: &AppState,
    own: &mut Visitor,
    clerks: &HashMap<&str, String>,
) -> anyhow::Result<()> {
    let write = |title: &str, goal: &str, category: &str, partners_for: &str| {
        vec![
            ("title", title.to_string()),
            ("goal", goal.to_string()),
            ("category", category.to_string()),
            ("estimated_cost", "240.000".to_string()),
            ("partners_wanted", "ja".to_string()),
            ("partners_for", partners_for.to_string()),
            ("contact_name", "Sachgebiet Digitalisierung".to_string()),
        ]
    };
    let mut reviewer = signed_in(state, "pruefung@demo.foerderportal.example").await?;
    let outline = async |clerk: &mut Visitor, email: &str, fields: Vec<(&str, String)>| {
        clerk.get("/skizzen/neu").await?;
        let mut fields = fields;
        fields.push(("contact_email", email.to_string()));
        let page = clerk.post("/skizzen/neu", &fields).await?;
        clerk.get(&page).await?;
        anyhow::Ok(page)
    };
    let schools = outline(
        own,
        "digitalisierung@kyffhaeuser.example",
        write(
            "Digitale Schulverwaltung für die Kreisschulen",
            "Eine gemeinsame Schulverwaltungssoftware mit Elternportal für alle Schulen in Trägerschaft des Landkreises.",
            "2a",
            "Gemeinsame Ausschreibung und Betrieb mit weiteren Schulträgern; Nachnutzung der Schnittstellen.",
        ),
    )
    .await?;
    let message = |text: &str| vec![("message", text.to_string())];
    own.post(
        &format!("{schools}/nachrichten"),
        &message("Wir planen die Schulverwaltung für den nächsten Förderaufruf. Ist sie unter 2a förderfähig, wenn andere Schulträger sie nachnutzen?"),
    )
    .await?;
    own.get(&schools).await?;
    own.post(
        &format!("{schools}/partnersuche"),
        &[("action", "aufnehmen".into())],
    )
    .await?;
    let ministry = format!("/pruefung{schools}");
    reviewer.get(&ministry).await?;
    reviewer
        .post(
            &format!("{ministry}/nachrichten"),
            &message("Grundsätzlich ja. Bitte beschreiben Sie im Antrag, wie andere Schulträger die Lösung übernehmen können."),
        )
        .await?;
    let mut erfurt = signed_in(state, &clerks["16051000"]).await?;
    let entry = schools.replace("/skizzen/", "/partnersuche/");
    erfurt.get(&entry).await?;
    erfurt
        .post(
            &format!("{entry}/interesse"),
            &message("Erfurt sucht für seine Schulen dasselbe und würde sich an einer gemeinsamen Ausschreibung beteiligen."),
        )
        .await?;
    let mut nordhausen = signed_in(state, &clerks["16062000"]).await?;
    let council = outline(
        &mut nordhausen,
        "digital@nordhausen.example",
        write(
            "Gemeinsames Ratsinformationssystem für Nordthüringen",
            "Ein Ratsinformationssystem mit Bürgerportal, das die Gemeinden des Landkreises gemeinsam betreiben.",
            "2c",
            "Gemeinden und Landkreise, die ihr Ratsinformationssystem ablösen wollen.",
        ),
    )
    .await?;
    nordhausen
        .post(
            &format!("{council}/nachrichten"),
            &message("Bitte um Abstimmung des geplanten gemeinsamen Ratsinformationssystems."),
        )
        .await?;
    nordhausen.get(&council).await?;
    nordhausen
        .post(
            &format!("{council}/partnersuche"),
            &[("action", "aufnehmen".into())],
        )
        .await?;
    let ministry = format!("/pruefung{council}");
    reviewer.get(&ministry).await?;
    reviewer
        .post(&format!("{ministry}/abgestimmt"), &[])
        .await?;
    Ok(())
}

/// The open demo round: (id, year).
async fn round(state: &AppState) -> anyhow::Result<(i64, i32)> {
    let mut conn = state.db.acquire().await?;
    let (id, year, _, _) = super::grant::demo_round(&mut conn).await?;
    Ok((id, year))
}

/// The answers of a section, from the sample application with the demo's own figures.
fn section_answers(section: Section, demo: &Demo, year: i32) -> Fields {
    let mut answers = fields(&sample::answers(section, year));
    let total: i64 = demo.costs.iter().map(|(_, _, cents)| cents).sum();
    let euros = plain;
    match section {
        Section::Applicant => set(
            &mut answers,
            &[
                ("contact_email", format!("it.{}@kommune.example", demo.ags)),
                ("account_holder", "Kreiskasse".into()),
            ],
        ),
        Section::Project => set(
            &mut answers,
            &[
                ("title", demo.title.into()),
                ("category", demo.category.into()),
                ("summary", demo.summary.into()),
            ],
        ),
        Section::Costs => {
            answers.retain(|(k, _)| !k.starts_with("cost-"));
            for (n, (kind, description, cents)) in demo.costs.iter().enumerate() {
                for (field, value) in [
                    ("kind", (*kind).to_string()),
                    ("description", (*description).to_string()),
                    ("year", year.to_string()),
                    ("amount", euros(*cents)),
                    ("eligible", "ja".into()),
                ] {
                    answers.push((format!("cost-{n}-{field}"), value));
                }
            }
            set(
                &mut answers,
                &[
                    ("grant", euros(demo.grant)),
                    ("own_share", euros(total - demo.grant)),
                ],
            );
        }
        _ => {}
    }
    answers
}

/// Files the application: every section, a partner's confirmation, an attachment, submitted.
async fn file(
    clerk: &mut Visitor,
    state: &AppState,
    demo: &Demo,
    round_id: i64,
    year: i32,
    clerks: &HashMap<&str, String>,
) -> anyhow::Result<i64> {
    let id = start(clerk, round_id).await?;
    for section in [Section::Applicant, Section::Project] {
        save(clerk, id, section, &section_answers(section, demo, year)).await?;
    }
    let mut conn = state.db.acquire().await?;
    for ags in demo.partners {
        let partner = municipalities::id_by_ags(&mut conn, ags)
            .await?
            .context("the partner")?;
        let page = format!("/antraege/{id}/{}", Section::Partnership.slug());
        clerk.get(&page).await?;
        let version = clerk.hidden("version")?;
        clerk
            .post(
                &page,
                &[
                    ("partner_id", partner.to_string()),
                    ("action", "partner-hinzufuegen".into()),
                    ("version", version),
                ],
            )
            .await?;
    }
    drop(conn);
    for section in [Section::Partnership, Section::Costs, Section::Declarations] {
        save(clerk, id, section, &section_answers(section, demo, year)).await?;
    }
    for ags in demo.partners {
        let mut partner = signed_in(state, &clerks[ags]).await?;
        partner.get(&format!("/antraege/{id}")).await?;
        partner
            .post(&format!("/antraege/{id}/teilnahme"), &[])
            .await?;
    }
    attach(clerk, id, state).await?;
    clerk.get(&format!("/antraege/{id}/pruefen")).await?;
    clerk
        .post(&format!("/antraege/{id}/einreichen"), &[])
        .await?;
    Ok(id)
}

/// The municipality agrees to show its grant in the Nachnutzungskatalog.
async fn publish(clerk: &mut Visitor, id: i64, demo: &Demo) -> anyhow::Result<()> {
    let page = format!("/antraege/{id}/katalog");
    clerk.get(&page).await?;
    clerk
        .post(
            &page,
            &[
                ("summary", demo.summary.into()),
                ("reuse", "Konzept, Leistungsbeschreibungen und Schulungsunterlagen stehen allen Thüringer Kommunen zur Verfügung; die Online-Verfahren sind auf dem Landesportal nachnutzbar.".into()),
                ("technologies", "FIT-Connect, XÖV-Standards, Antragsmanagement des Landes".into()),
                ("mailbox", format!("digital.{}@kommune.example", demo.ags)),
                ("action", "veroeffentlichen".into()),
            ],
        )
        .await?;
    Ok(())
}

/// A visitor of the catalogue asks the Serviceteam about reusing it.
async fn ask_for_reuse(state: &AppState, id: i64) -> anyhow::Result<()> {
    let mut visitor = Visitor::new(state);
    let page = format!("/nachnutzung/{id}");
    visitor.get(&page).await?;
    visitor
        .post(
            &format!("{page}/anfrage"),
            &[
                ("name", "Sachgebiet Organisation".into()),
                ("municipality", "Stadt Bad Frankenhausen".into()),
                ("email", "organisation@bad-frankenhausen.example".into()),
                ("message", "Wir möchten die Online-Antragsverfahren des Serviceteams übernehmen. Gibt es eine Leistungsbeschreibung, die wir nutzen können?".into()),
            ],
        )
        .await?;
    Ok(())
}

/// The ministry's two reviewers, working the round's applications.
struct Desk {
    ministry: Ministry,
    year: i32,
}

impl Desk {
    async fn work(&mut self, clerk: &mut Visitor, id: i64, demo: &Demo) -> anyhow::Result<()> {
        let case = format!("/pruefung/antraege/{id}");
        match demo.outcome {
            Outcome::Submitted => {
                clerk.get(&format!("/antraege/{id}")).await?;
                let question =
                    "Können wir die Angebote auch nach der Einreichung noch nachreichen?";
                clerk
                    .post(
                        &format!("/antraege/{id}/nachrichten"),
                        &[("body", question.into())],
                    )
                    .await?;
                return Ok(());
            }
            Outcome::Withdrawn => {
                let page = format!("/antraege/{id}/zurueckziehen");
                clerk.get(&page).await?;
                let reason =
                    "Das Vorhaben wird im nächsten Haushaltsjahr ohne Förderung umgesetzt.";
                clerk.post(&page, &[("reason", reason.into())]).await?;
                return Ok(());
            }
            _ => {}
        }
        self.ministry.take(id).await?;
        if matches!(demo.outcome, Outcome::ChangesRequested | Outcome::Answered) {
            let deadline = locale::today() + time::Duration::days(21);
            self.ministry.reviewer
                .post(
                    &format!("{case}/nachforderung"),
                    &[
                        ("message", "Bitte ergänzen Sie im Kostenplan, wie sich die Lizenzkosten zusammensetzen, und laden Sie das Angebot hoch.".into()),
                        ("section", Section::Costs.slug().into()),
                        ("deadline", deadline.to_string()),
                    ],
                )
                .await?;
            if demo.outcome == Outcome::ChangesRequested {
                return Ok(());
            }
            let mut answers = section_answers(Section::Costs, demo, self.year);
            set(
                &mut answers,
                &[(
                    "cost-0-description",
                    "Schnittstellen XMeld und XBau (laut Angebot vom Anbieter)".into(),
                )],
            );
            save(clerk, id, Section::Costs, &answers).await?;
            clerk.get(&format!("/antraege/{id}/pruefen")).await?;
            clerk
                .post(&format!("/antraege/{id}/einreichen"), &[])
                .await?;
            self.ministry
                .reviewer
                .post(
                    &format!("{case}/notizen"),
                    &[("body", "Angebot liegt jetzt vor; Kosten plausibel.".into())],
                )
                .await?;
            return Ok(());
        }
        if demo.outcome == Outcome::InReview {
            return Ok(());
        }
        self.propose(id, demo).await?;
        match demo.outcome {
            Outcome::Proposed => Ok(()),
            _ => self.ministry.confirm(id).await,
        }
    }

    async fn propose(&mut self, id: i64, demo: &Demo) -> anyhow::Result<()> {
        let eligible: i64 = demo.costs.iter().map(|(_, _, cents)| cents).sum();
        let (start, end) = sample_period(self.year);
        let fields: Vec<(&str, String)> = if demo.outcome == Outcome::Rejected {
            vec![
                ("outcome", "reject".into()),
                ("reason", "Das Vorhaben ist ein Standardprodukt ohne Bezug zu gemeinsamen E-Government-Diensten; eine Nachnutzung durch andere Kommunen ist nicht dargelegt (Nr. 2 ThürEGovRL).".into()),
            ]
        } else {
            vec![
                ("outcome", "approve".into()),
                ("granted", plain(demo.grant)),
                ("eligible", plain(eligible)),
                ("period_start", start),
                ("period_end", end),
                ("conditions", "Die Ergebnisse sind anderen Thüringer Kommunen zur Nachnutzung bereitzustellen.".into()),
            ]
        };
        self.ministry.propose(id, &fields).await
    }
}

/// The project period of the sample answers, as ISO dates.
fn sample_period(year: i32) -> (String, String) {
    let answers = sample::answers(Section::Project, year);
    let of = |key: &str| {
        answers
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    (of("start_date"), of("end_date"))
}
