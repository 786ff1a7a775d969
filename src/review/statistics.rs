//! Statistics per round or for the whole programme: applicant municipalities, applications by
//! status, requested and approved sums by category and by Landkreis, joint projects, processing
//! time. Each chart is a server-rendered SVG beside the table that carries the same figures.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use sqlx::PgConnection;

use super::dashboard::review_label;
use super::db;
use crate::accounts::{CurrentUser, Role};
use crate::applications::model::Status;
use crate::error::AppError;
use crate::money::Cents;
use crate::state::AppState;
use crate::web::PageContext;

pub fn router() -> Router<AppState> {
    Router::new().route("/pruefung/statistik", get(statistics))
}

/// One row of the single grouped scan: which grouping it belongs to and its figures.
#[derive(Debug, sqlx::FromRow)]
struct GroupRow {
    /// "status", "category", "district" or "total".
    grouping: String,
    key: Option<String>,
    label: Option<String>,
    applications: i64,
    municipalities: i64,
    requested_cents: i64,
    granted_cents: i64,
    decided: i64,
    /// Total days from submission to decision over the decided applications.
    decision_days: f64,
}

async fn grouped(conn: &mut PgConnection, round: Option<i64>) -> sqlx::Result<Vec<GroupRow>> {
    sqlx::query_as(
        "SELECT CASE WHEN grouping(a.status) = 0 THEN 'status'
                     WHEN grouping(a.category_code) = 0 THEN 'category'
                     WHEN grouping(a.district_id) = 0 THEN 'district'
                     ELSE 'total' END AS grouping,
                coalesce(a.status, a.category_code, a.district_id::text) AS key,
                CASE WHEN grouping(a.category_code) = 0 THEN min(c.title)
                     WHEN grouping(a.district_id) = 0 THEN min(d.name) END AS label,
                count(*) AS applications,
                count(DISTINCT a.municipality_id) AS municipalities,
                coalesce(sum(a.requested_grant_cents) FILTER (WHERE a.status <> 'withdrawn'), 0)::bigint AS requested_cents,
                coalesce(sum(a.granted_cents) FILTER (WHERE a.status = 'approved'), 0)::bigint AS granted_cents,
                count(*) FILTER (WHERE a.decided_at IS NOT NULL) AS decided,
                coalesce(sum(extract(epoch FROM a.decided_at - a.submitted_at) / 86400.0)
                         FILTER (WHERE a.decided_at IS NOT NULL), 0)::float8 AS decision_days
         FROM applications a
         JOIN rounds r ON r.id = a.round_id
         LEFT JOIN categories c ON c.programme_id = r.programme_id AND c.code = a.category_code
         LEFT JOIN municipalities d ON d.id = a.district_id
         WHERE a.reference IS NOT NULL AND ($1::bigint IS NULL OR a.round_id = $1)
         GROUP BY GROUPING SETS ((a.status), (a.category_code), (a.district_id), ())",
    )
    .bind(round)
    .fetch_all(conn)
    .await
}

/// Joint projects (with at least one partner) and their partners.
async fn joint_projects(conn: &mut PgConnection, round: Option<i64>) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT count(DISTINCT p.application_id), count(*)
         FROM application_partners p JOIN applications a ON a.id = p.application_id
         WHERE a.reference IS NOT NULL AND a.status <> 'withdrawn' AND ($1::bigint IS NULL OR a.round_id = $1)",
    )
    .bind(round)
    .fetch_one(conn)
    .await
}

/// A table row with the share of the largest value (0–1000), for its bar.
pub struct Bar {
    pub label: String,
    pub count: i64,
    pub requested: String,
    pub granted: String,
    /// Bar lengths in per mille of the chart's largest value.
    pub requested_len: i64,
    pub granted_len: i64,
    /// The bar's vertical position in the SVG.
    pub y: i64,
}

fn bars(rows: Vec<&GroupRow>, label: impl Fn(&GroupRow) -> String) -> Vec<Bar> {
    let max = rows
        .iter()
        .map(|r| r.requested_cents.max(r.granted_cents))
        .max()
        .unwrap_or(0)
        .max(1);
    let len = |v: i64| (i128::from(v) * 1000 / i128::from(max)) as i64;
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| Bar {
            label: label(r),
            count: r.applications,
            requested: Cents::new(r.requested_cents).to_string(),
            granted: Cents::new(r.granted_cents).to_string(),
            requested_len: len(r.requested_cents),
            granted_len: len(r.granted_cents),
            y: i as i64 * 28,
        })
        .collect()
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
    applications: i64,
    municipalities: i64,
    requested: String,
    granted: String,
    joint: i64,
    partners: i64,
    average_days: String,
    by_status: Vec<(&'static str, i64)>,
    by_category: Vec<Bar>,
    by_district: Vec<Bar>,
}

async fn statistics(
    State(app): State<AppState>,
    page: PageContext,
    user: CurrentUser,
    Query(query): Query<StatisticsQuery>,
) -> Result<StatisticsPage, AppError> {
    user.require(Role::Reviewer)?;
    let mut conn = app.db.acquire().await?;
    let rounds = db::round_choices(&mut conn).await?;
    let round = query
        .runde
        .parse::<i64>()
        .ok()
        .filter(|r| rounds.iter().any(|(id, _)| id == r));
    let rows = grouped(&mut conn, round).await?;
    let (joint, partners) = joint_projects(&mut conn, round).await?;
    let of = |grouping: &'static str| rows.iter().filter(move |r| r.grouping == grouping);
    let total = of("total").next();
    let by_status = Status::ALL
        .into_iter()
        .filter(|s| *s != Status::Draft)
        .map(|s| {
            let n = of("status")
                .find(|r| r.key.as_deref() == Some(s.as_str()))
                .map(|r| r.applications)
                .unwrap_or(0);
            (review_label(s), n)
        })
        .collect();
    let mut categories: Vec<&GroupRow> = of("category").collect();
    categories.sort_by(|a, b| a.key.cmp(&b.key));
    let mut districts: Vec<&GroupRow> = of("district").collect();
    districts.sort_by(|a, b| a.label.cmp(&b.label));
    let average_days = match total {
        Some(t) if t.decided > 0 => {
            let days = t.decision_days / t.decided as f64;
            format!("{:.1} Tage", days).replace('.', ",")
        }
        _ => "noch keine Entscheidungen".into(),
    };
    Ok(StatisticsPage {
        page,
        scope: round
            .and_then(|r| rounds.iter().find(|(id, _)| *id == r))
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| "Alle Förderaufrufe".into()),
        rounds,
        round,
        applications: total.map(|t| t.applications).unwrap_or(0),
        municipalities: total.map(|t| t.municipalities).unwrap_or(0),
        requested: Cents::new(total.map(|t| t.requested_cents).unwrap_or(0)).to_string(),
        granted: Cents::new(total.map(|t| t.granted_cents).unwrap_or(0)).to_string(),
        joint,
        partners,
        average_days,
        by_status,
        by_category: bars(categories, |r| match (&r.key, &r.label) {
            (Some(code), Some(title)) => format!("{code} {title}"),
            (Some(code), None) => code.clone(),
            _ => "Ohne Angabe".into(),
        }),
        by_district: bars(districts, |r| {
            r.label.clone().unwrap_or_else(|| "Ohne Angabe".into())
        }),
    })
}
