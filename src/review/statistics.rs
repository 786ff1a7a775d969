//! Statistics per round or for the whole programme: applicant municipalities, applications by
//! status, requested and approved sums by category and by Landkreis, joint projects, processing
//! time. Each chart is a server-rendered SVG beside the table that carries the same figures.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;

use super::dashboard::review_label;
use super::db::{self, GroupKey, GroupRow};
use super::trends::{BurnDownView, SubmissionsView};
use crate::accounts::Reviewer;
use crate::applications::model::Status;
use crate::error::AppError;
use crate::locale;
use crate::money::Cents;
use crate::state::AppState;
use crate::web::PageContext;
use crate::web::charts::{self, Chart, Labels, Row, Scale, Series};

pub fn router() -> Router<AppState> {
    Router::new().route("/pruefung/statistik", get(statistics))
}

/// Sums of group rows under one key.
#[derive(Default)]
struct Sums {
    applications: i64,
    requested_cents: i64,
    granted_cents: i64,
    decided: i64,
    decision_seconds: i64,
}

impl Sums {
    fn add_sums(&mut self, s: &Sums) {
        self.applications += s.applications;
        self.requested_cents += s.requested_cents;
        self.granted_cents += s.granted_cents;
        self.decided += s.decided;
        self.decision_seconds += s.decision_seconds;
    }

    fn add(&mut self, r: &GroupRow) {
        self.applications += r.applications;
        self.requested_cents += r.requested_cents;
        self.granted_cents += r.granted_cents;
        self.decided += r.decided;
        self.decision_seconds += r.decision_seconds;
    }
}

/// The rows `key` names summed by that name, in its order (rows it gives `None` are left out).
fn sum_by(rows: &[GroupRow], key: impl Fn(&GroupKey) -> Option<String>) -> Vec<(String, Sums)> {
    let mut sums: std::collections::BTreeMap<String, Sums> = std::collections::BTreeMap::new();
    for r in rows {
        if let Some(k) = key(&r.key) {
            sums.entry(k).or_default().add(r);
        }
    }
    sums.into_iter().collect()
}

/// A table row of a breakdown by category or Landkreis.
pub struct GroupView {
    pub label: String,
    pub count: String,
    pub requested: String,
    pub granted: String,
}

impl GroupView {
    fn new(label: String, s: &Sums) -> Self {
        GroupView {
            label,
            count: locale::count(s.applications),
            requested: Cents::new(s.requested_cents).to_string(),
            granted: Cents::new(s.granted_cents).to_string(),
        }
    }
}

/// Requested and granted sums by one key: the chart, the table's rows and their sum.
pub struct Breakdown {
    pub chart: Chart,
    pub rows: Vec<GroupView>,
    pub total: GroupView,
}

impl Breakdown {
    fn new(id: &str, title: &str, groups: &[(String, Sums)]) -> Self {
        let scale = Scale::nice(
            groups
                .iter()
                .map(|(_, s)| s.requested_cents.max(s.granted_cents)),
            charts::euros_short,
        );
        let money = |class, cents| Series {
            class,
            value: cents,
            text: Cents::new(cents).to_string(),
        };
        let chart_rows = groups
            .iter()
            .map(|(label, s)| Row {
                label: label.clone(),
                series: vec![
                    money("bar-requested", s.requested_cents),
                    money("bar-granted", s.granted_cents),
                ],
                behind: None,
            })
            .collect();
        let mut total = Sums::default();
        groups.iter().for_each(|(_, s)| total.add_sums(s));
        Breakdown {
            chart: Chart::new(id, title, Labels::Above, &scale, chart_rows),
            rows: groups
                .iter()
                .map(|(label, s)| GroupView::new(label.clone(), s))
                .collect(),
            total: GroupView::new("Summe".into(), &total),
        }
    }
}

#[derive(Deserialize)]
struct StatisticsQuery {
    #[serde(default)]
    runde: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "review/statistics.html")]
struct StatisticsPage {
    page: PageContext,
    rounds: Vec<(i64, String)>,
    round: Option<i64>,
    scope: String,
    applications: String,
    municipalities: String,
    requested: String,
    granted: String,
    joint: String,
    partners: String,
    average_days: String,
    by_status: Vec<(&'static str, String)>,
    by_category: Breakdown,
    by_district: Breakdown,
    submissions: SubmissionsView,
    burn_downs: Vec<BurnDownView>,
    years: Vec<super::dashboard::YearView>,
    years_total: super::dashboard::YearView,
    settled: SettledView,
}

/// The settled grants' figures, each a sum over the settled grants (not rows of one sum).
pub struct SettledView {
    pub count: String,
    pub granted: String,
    pub final_grant: String,
    pub final_payments: String,
    pub repayments: String,
    pub interest: String,
    pub any: bool,
}

impl SettledView {
    fn new(t: &crate::proofs::db::SettledTotals) -> Self {
        SettledView {
            count: locale::count(t.settled),
            granted: Cents::new(t.granted_cents).to_string(),
            final_grant: Cents::new(t.final_grant_cents).to_string(),
            final_payments: Cents::new(t.final_payments_cents).to_string(),
            repayments: Cents::new(t.repayments_cents).to_string(),
            interest: Cents::new(t.interest_cents).to_string(),
            any: t.settled > 0,
        }
    }
}

async fn statistics(
    State(app): State<AppState>,
    page: PageContext,
    _user: Reviewer,
    Query(query): Query<StatisticsQuery>,
) -> Result<StatisticsPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let choices = app.choices.get(&mut conn).await?;
    let rounds = &choices.rounds;
    let round = query
        .runde
        .parse::<i64>()
        .ok()
        .filter(|r| rounds.iter().any(|(id, _)| id == r));
    let rows = db::statistics_groups(&mut conn, round).await?;
    let municipalities = db::applicant_municipalities(&mut conn, round).await?;
    let (joint, partners) = db::joint_projects(&mut conn, round).await?;
    let budget_years =
        crate::programmes::db::budget_years(&mut conn, &round.into_iter().collect::<Vec<_>>())
            .await?;
    let (years, years_total) = super::dashboard::years_table(&budget_years);
    let settled = SettledView::new(&crate::proofs::db::settled_totals(&mut conn, round).await?);
    let in_view: Vec<i64> =
        round.map_or_else(|| rounds.iter().map(|(id, _)| *id).collect(), |r| vec![r]);
    let months = db::months(&mut conn, &in_view).await?;
    let budgets = db::budgets(&mut conn, round).await?;
    let statuses = sum_by(&rows, |k| match k {
        GroupKey::Status(s) => Some(s.as_str().to_string()),
        _ => None,
    });
    let mut total = Sums::default();
    statuses.iter().for_each(|(_, s)| total.add_sums(s));
    let by_status = Status::ALL
        .into_iter()
        .filter(|s| *s != Status::Draft)
        .map(|s| {
            let n = statuses
                .iter()
                .find(|(k, _)| k == s.as_str())
                .map_or(0, |(_, sums)| sums.applications);
            (review_label(s), locale::count(n))
        })
        .collect();
    let by_category = sum_by(&rows, |k| match k {
        GroupKey::Category {
            code: Some(code),
            title: Some(title),
        } => Some(format!("{code} {title}")),
        GroupKey::Category {
            code: Some(code),
            title: None,
        } => Some(code.clone()),
        GroupKey::Category { code: None, .. } => Some("Ohne Angabe".into()),
        _ => None,
    });
    let by_district = sum_by(&rows, |k| match k {
        GroupKey::District(name) => Some(name.clone().unwrap_or_else(|| "Ohne Angabe".into())),
        _ => None,
    });
    let average_days = if total.decided > 0 {
        // In tenths of a day, rounded: integers, like every other figure here.
        let per_day = 86_400 * total.decided;
        let tenths = (total.decision_seconds * 10 + per_day / 2) / per_day;
        format!("{},{} Tage", tenths / 10, tenths % 10)
    } else {
        "noch keine Entscheidungen".into()
    };
    Ok(StatisticsPage {
        page,
        scope: round
            .and_then(|r| rounds.iter().find(|(id, _)| *id == r))
            .map_or_else(|| "Alle Förderaufrufe".into(), |(_, t)| t.clone()),
        rounds: rounds.clone(),
        round,
        applications: locale::count(total.applications),
        municipalities: locale::count(municipalities),
        requested: Cents::new(total.requested_cents).to_string(),
        granted: Cents::new(total.granted_cents).to_string(),
        joint: locale::count(joint),
        partners: locale::count(partners),
        average_days,
        by_status,
        by_category: Breakdown::new(
            "category-chart",
            "Balkendiagramm: beantragte und bewilligte Summen nach Fördergegenstand",
            &by_category,
        ),
        by_district: Breakdown::new(
            "district-chart",
            "Balkendiagramm: beantragte und bewilligte Summen nach Landkreis und kreisfreier Stadt",
            &by_district,
        ),
        submissions: SubmissionsView::new(&months),
        burn_downs: budgets
            .iter()
            .map(|b| BurnDownView::new(b, &months))
            .collect(),
        years,
        years_total,
        settled,
    })
}
