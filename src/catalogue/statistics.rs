//! The public transparency page (no sign-in): the programme's figures at `/statistik` and each
//! published round's at `/statistik/{round}`, from the same [`Figures`] as the open-data round
//! files. Aggregates only; every table's total row is the sum of its rows.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;

use super::figures::{COUNTING, Figures, Group, Scope, Tally};
use crate::error::AppError;
use crate::locale;
use crate::money::Cents;
use crate::state::AppState;
use crate::web::PageContext;
use crate::web::charts::{self, Chart, Labels, Row, Scale, Series};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/statistik", get(programme))
        .route("/statistik/{round}", get(round))
}

/// A table row: a name (with a link for rounds) and its figures, formatted.
pub struct RowView {
    pub label: String,
    pub href: Option<String>,
    pub municipalities: String,
    pub applications: String,
    pub requested: String,
    pub approved: String,
    pub granted: String,
}

impl RowView {
    fn new(label: &str, tally: &Tally, municipalities: i64) -> Self {
        RowView {
            label: label.to_string(),
            href: None,
            municipalities: locale::count(municipalities),
            applications: locale::count(tally.applications),
            requested: Cents::new(tally.requested_cents).to_string(),
            approved: locale::count(tally.approved),
            granted: Cents::new(tally.granted_cents).to_string(),
        }
    }
}

/// A breakdown by category or Landkreis: its chart of requested and granted sums, the
/// table's rows and their sum.
pub struct BreakdownView {
    pub chart: Chart,
    pub rows: Vec<RowView>,
    pub total: RowView,
}

impl BreakdownView {
    fn new(id: &str, title: &str, groups: &[Group], scope: &Scope) -> Self {
        let scale = Scale::nice(
            groups
                .iter()
                .map(|g| g.tally.requested_cents.max(g.tally.granted_cents)),
            charts::euros_short,
        );
        let money = |class, cents| Series {
            class,
            value: cents,
            text: Cents::new(cents).to_string(),
        };
        let chart_rows = groups
            .iter()
            .map(|g| Row {
                label: g.label.clone(),
                series: vec![
                    money("bar-requested", g.tally.requested_cents),
                    money("bar-granted", g.tally.granted_cents),
                ],
                behind: None,
            })
            .collect();
        BreakdownView {
            chart: Chart::new(id, title, Labels::Above, &scale, chart_rows),
            rows: groups
                .iter()
                .map(|g| RowView::new(&g.label, &g.tally, g.municipalities))
                .collect(),
            total: RowView::new("Summe", &scope.tally, scope.municipalities),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "catalogue/statistics.html")]
struct StatisticsPage {
    page: PageContext,
    /// "Förderprogramm ThürEGovRL" or the round's title.
    scope: String,
    /// The round shown, `None` for the programme.
    round: Option<i64>,
    rounds: Vec<(i64, String)>,
    budget: Option<String>,
    /// "19 Kommunen haben 23 Anträge eingereicht …"
    lead: String,
    summary: RowView,
    rejected: String,
    withdrawn: String,
    open: String,
    /// The programme's rounds (empty on a round's page).
    per_round: Vec<RowView>,
    by_category: BreakdownView,
    by_district: BreakdownView,
    counting: &'static str,
}

fn count_of(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", locale::count(n), if n == 1 { one } else { many })
}

fn page(page: PageContext, figures: &Figures, round: Option<i64>) -> StatisticsPage {
    let scope = figures.scope(round);
    let t = &scope.tally;
    let granted = match t.approved {
        0 => "bewilligt ist noch keiner".to_string(),
        1 => format!("bewilligt ist 1 Antrag mit {}", Cents::new(t.granted_cents)),
        n => format!(
            "bewilligt sind {} Anträge mit {}",
            locale::count(n),
            Cents::new(t.granted_cents)
        ),
    };
    let lead = if t.applications == 0 {
        "Bisher ist kein Antrag eingereicht.".to_string()
    } else {
        format!(
            "{} {} {} eingereicht und zusammen {} beantragt; {granted}.",
            count_of(scope.municipalities, "Kommune", "Kommunen"),
            if scope.municipalities == 1 {
                "hat"
            } else {
                "haben"
            },
            count_of(t.applications, "Antrag", "Anträge"),
            Cents::new(t.requested_cents),
        )
    };
    let shown = round.and_then(|id| figures.round(id));
    StatisticsPage {
        page,
        scope: shown.map_or_else(|| "Förderprogramm ThürEGovRL".into(), |r| r.title.clone()),
        round,
        rounds: figures
            .rounds
            .iter()
            .map(|r| (r.id, r.title.clone()))
            .collect(),
        budget: shown.map(|r| Cents::new(r.budget_cents).to_string()),
        lead,
        summary: RowView::new("Summe", t, scope.municipalities),
        rejected: locale::count(t.rejected),
        withdrawn: locale::count(t.withdrawn),
        open: locale::count(t.open()),
        per_round: if round.is_some() {
            Vec::new()
        } else {
            figures
                .per_round()
                .into_iter()
                .map(|(r, s)| RowView {
                    href: Some(format!("/statistik/{}", r.id)),
                    ..RowView::new(&r.title, &s.tally, s.municipalities)
                })
                .collect()
        },
        by_category: BreakdownView::new(
            "category-chart",
            "Balkendiagramm: beantragte und bewilligte Summen nach Fördergegenstand",
            &scope.by_category,
            &scope,
        ),
        by_district: BreakdownView::new(
            "district-chart",
            "Balkendiagramm: beantragte und bewilligte Summen nach Landkreis und kreisfreier Stadt",
            &scope.by_district,
            &scope,
        ),
        counting: COUNTING,
    }
}

async fn programme(
    State(app): State<AppState>,
    context: PageContext,
) -> Result<StatisticsPage, AppError> {
    let mut conn = app.db.acquire().await?;
    Ok(page(context, &Figures::load(&mut conn).await?, None))
}

/// A published round's figures; anything else (a draft round, no round, not a number) is 404.
async fn round(
    State(app): State<AppState>,
    context: PageContext,
    Path(round): Path<String>,
) -> Result<StatisticsPage, AppError> {
    // Digits only: one address per round ("+5" and "05" are not it).
    let id: i64 = Some(round)
        .filter(|r| !r.starts_with('0') && r.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|r| r.parse().ok())
        .ok_or(AppError::NotFound)?;
    let mut conn = app.db.acquire().await?;
    let figures = Figures::load(&mut conn).await?;
    figures.round(id).ok_or(AppError::NotFound)?;
    Ok(page(context, &figures, Some(id)))
}
