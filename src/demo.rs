//! Demo data for looking around locally: an open round of the ThürEGovRL and one account per
//! role. Loaded automatically only into the local default database when it is empty, or by the
//! explicit `demo-data` command; idempotent (existing rows are left alone).

use anyhow::Context;
use jiff::ToSpan;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::accounts::db::{self as accounts, NewUser};
use crate::accounts::password::Hasher;
use crate::accounts::{Role, model::EmailAddress};
use crate::config::Config;
use crate::money::Cents;
use crate::municipalities::db as municipalities;
use crate::programmes::db::{self as programmes, NewRound};
use crate::web::format;

/// Shared by all demo accounts; long enough for the password rules of the accounts issue.
pub const DEMO_PASSWORD: &str = "Demo-Passwort-2026";

pub struct DemoAccount {
    pub email: &'static str,
    pub name: &'static str,
    pub role: Role,
    /// AGS of the clerk's municipality.
    pub municipality_ags: Option<&'static str>,
}

pub const DEMO_ACCOUNTS: [DemoAccount; 3] = [
    DemoAccount {
        email: "kommune@demo.foerderportal.example",
        name: "Karla Kommunal (Kyffhäuserkreis)",
        role: Role::Clerk,
        municipality_ags: Some("16065000"),
    },
    DemoAccount {
        email: "pruefung@demo.foerderportal.example",
        name: "Paul Prüfer (TFM)",
        role: Role::Reviewer,
        municipality_ags: None,
    },
    DemoAccount {
        email: "admin@demo.foerderportal.example",
        name: "Anna Admin (TFM)",
        role: Role::Admin,
        municipality_ags: None,
    },
];

/// Loads the demo data at startup where that is safe: see
/// [`Config::may_load_demo_data_automatically`]; and only into a database without accounts and
/// rounds. Returns whether it did.
pub async fn load_on_first_start(
    config: &Config,
    pool: &PgPool,
    hasher: &Hasher,
) -> anyhow::Result<bool> {
    if !config.may_load_demo_data_automatically() || !is_empty(pool).await? {
        return Ok(false);
    }
    load(pool, hasher).await?;
    tracing::info!("loaded demo data into the empty local database");
    Ok(true)
}

/// True when nothing but reference data is there yet: no accounts and no rounds.
pub async fn is_empty(pool: &PgPool) -> anyhow::Result<bool> {
    let mut conn = pool.acquire().await?;
    Ok(accounts::count_users(&mut conn).await? == 0
        && programmes::count_rounds(&mut conn).await? == 0)
}

pub async fn load(pool: &PgPool, hasher: &Hasher) -> anyhow::Result<()> {
    let password_hash = hasher.hash(DEMO_PASSWORD.to_string()).await?;
    let mut tx = pool.begin().await?;
    for account in &DEMO_ACCOUNTS {
        let municipality_id = match account.municipality_ags {
            Some(ags) => Some(
                municipalities::id_by_ags(&mut tx, ags)
                    .await?
                    .with_context(|| format!("municipality {ags} missing"))?,
            ),
            None => None,
        };
        let email: EmailAddress = account.email.parse().map_err(anyhow::Error::msg)?;
        accounts::insert_user(
            &mut tx,
            NewUser {
                email: &email,
                display_name: account.name,
                password_hash: Some(&password_hash),
                roles: &[account.role],
                municipality_id,
            },
        )
        .await?;
    }

    if programmes::count_rounds(&mut tx).await? == 0 {
        let programme_id = programmes::programme_id_by_short_name(&mut tx, "ThürEGovRL")
            .await?
            .context("the ThürEGovRL programme is missing; run the migrations")?;
        let (opens_at, closes_at, year) = demo_window()?;
        let round_id = programmes::insert_round(
            &mut tx,
            NewRound {
                programme_id,
                title: &format!("Förderaufruf {year}"),
                year,
                budget_cents: Cents::from_euros(10_000_000).get(),
                opens_at,
                closes_at,
                max_rate_bp: 8000,
                min_grant_cents: Cents::from_euros(5_000).get(),
                max_grant_cents: Some(Cents::from_euros(200_000).get()),
                financing_type: "anteilfinanzierung",
                state: "published",
                category_codes: &["2a", "2c", "2e", "2g"],
            },
        )
        .await?;
        let required = |name: &str| programmes::AttachmentType {
            name: name.into(),
            required: true,
        };
        let attachments = [
            required("Beschluss des zuständigen Gremiums zum Eigenanteil"),
            required("Kostenschätzung oder Angebote"),
            programmes::AttachmentType {
                name: "Kooperationsvereinbarung mit den Partnerkommunen".into(),
                required: false,
            },
        ];
        programmes::set_attachment_types(&mut tx, round_id, &attachments).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Open since the start of this month, closing at 23:59 Berlin time on the last day of the month
/// four months ahead, so the demo round is open whenever the demo is run.
fn demo_window() -> anyhow::Result<(OffsetDateTime, OffsetDateTime, i32)> {
    let today = jiff::Zoned::now()
        .with_time_zone(format::berlin().clone())
        .date();
    let opens = today.first_of_month().to_zoned(format::berlin().clone())?;
    let last_day = today.checked_add(4.months())?.last_of_month();
    let closes = last_day
        .at(23, 59, 0, 0)
        .to_zoned(format::berlin().clone())?;
    let to_time = |z: &jiff::Zoned| OffsetDateTime::from_unix_timestamp(z.timestamp().as_second());
    Ok((
        to_time(&opens)?,
        to_time(&closes)?,
        i32::from(last_day.year()),
    ))
}
