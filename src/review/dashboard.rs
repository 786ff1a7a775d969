//! The reviewers' dashboard: every submitted application with filters in the URL, full-text
//! search, sorting by each column, keyset pages, counts per status and the rounds' budgets.

use crate::programmes::db::BudgetYearRow;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::db::{self, CaseRow};
use super::model::{FilterQuery, Sort};
use crate::accounts::Reviewer;
use crate::applications::model::Status;
use crate::error::AppError;
use crate::locale;
use crate::money::Cents;
use crate::state::AppState;
use crate::validation::FormErrors;
use crate::web::PageContext;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pruefung", get(dashboard))
        .route("/pruefung/aufgaben", get(tasks))
}

const PAGE_SIZE: i64 = 50;

pub struct CaseView {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub municipality: String,
    pub round: String,
    pub category: String,
    pub status_label: &'static str,
    pub status_class: &'static str,
    pub amount: String,
    pub submitted: String,
    pub submitted_iso: String,
    pub assignee: String,
}

impl CaseView {
    pub fn new(c: &CaseRow) -> Self {
        let status = c.status;
        CaseView {
            id: c.id,
            reference: c.reference.clone(),
            title: if c.title.is_empty() {
                "Antrag ohne Titel".into()
            } else {
                c.title.clone()
            },
            municipality: c.municipality.clone(),
            round: c.round_title.clone(),
            category: c.category_code.clone().unwrap_or_default(),
            status_label: review_label(status),
            status_class: status.tag_class(),
            amount: c
                .requested_grant_cents
                .map_or_else(|| "–".into(), |a| Cents::new(a).to_string()),
            submitted: locale::date(c.submitted_at),
            submitted_iso: locale::iso(c.submitted_at),
            assignee: c.assignee.clone().unwrap_or_default(),
        }
    }
}

/// The status as the ministry sees it (the four-eyes step is visible here).
pub fn review_label(status: Status) -> &'static str {
    match status {
        Status::DecisionProposed => "Zur Zweitzeichnung",
        other => other.label(),
    }
}

pub struct StatusCount {
    pub label: &'static str,
    /// "1.234", or empty where counting stopped at the bound.
    pub count: String,
    pub href: String,
    pub current: bool,
}

/// One Haushaltsjahr of a budget: what it holds, what is committed to grants, paid, still
/// to pay, and free.
pub struct YearView {
    pub year: String,
    pub budget: String,
    pub committed: String,
    pub paid: String,
    pub open: String,
    pub free: String,
}

impl YearView {
    fn new(year: String, budget: i64, committed: i64, paid: i64) -> Self {
        YearView {
            year,
            budget: Cents::new(budget).to_string(),
            committed: Cents::new(committed).to_string(),
            paid: Cents::new(paid).to_string(),
            open: Cents::new(committed - paid).to_string(),
            free: Cents::new(budget - committed).to_string(),
        }
    }
}

/// The years of `rows` (several rounds' rows of one year are added up), and their sum.
pub fn years_table(rows: &[BudgetYearRow]) -> (Vec<YearView>, YearView) {
    let mut by_year: std::collections::BTreeMap<i32, [i64; 3]> = std::collections::BTreeMap::new();
    for r in rows {
        let sums = by_year.entry(r.year).or_default();
        sums[0] += r.budget_cents;
        sums[1] += r.committed_cents;
        sums[2] += r.paid_cents;
    }
    let total = by_year.values().fold([0i64; 3], |acc, s| {
        [acc[0] + s[0], acc[1] + s[1], acc[2] + s[2]]
    });
    let years = by_year
        .into_iter()
        .map(|(y, [b, c, p])| YearView::new(y.to_string(), b, c, p))
        .collect();
    (
        years,
        YearView::new("Summe".into(), total[0], total[1], total[2]),
    )
}

/// A round's budget as figures and as shares of the bar (in per mille, for the widths).
pub struct BudgetView {
    pub title: String,
    /// Per Haushaltsjahr: shown once the budget spans several years or money has been paid.
    pub years: Vec<YearView>,
    pub years_total: YearView,
    pub show_years: bool,
    pub budget: String,
    pub requested: String,
    pub granted: String,
    pub remaining: String,
    pub granted_share: i64,
    pub requested_share: i64,
}

impl BudgetView {
    pub fn new(b: &db::BudgetRow, years: &[BudgetYearRow]) -> Self {
        let own: Vec<BudgetYearRow> = years
            .iter()
            .filter(|y| y.round_id == b.round_id)
            .cloned()
            .collect();
        let show_years = own.len() > 1 || own.iter().any(|y| y.paid_cents > 0);
        let (years, years_total) = years_table(&own);
        let share = |part: i64| {
            if b.budget_cents <= 0 {
                0
            } else {
                (i128::from(part) * 1000 / i128::from(b.budget_cents)).clamp(0, 1000) as i64
            }
        };
        let granted_share = share(b.granted_cents);
        BudgetView {
            title: b.title.clone(),
            years,
            years_total,
            show_years,
            budget: Cents::new(b.budget_cents).to_string(),
            requested: Cents::new(b.requested_cents).to_string(),
            granted: Cents::new(b.granted_cents).to_string(),
            remaining: Cents::new(b.budget_cents - b.granted_cents).to_string(),
            granted_share,
            requested_share: share(b.requested_cents).min(1000 - granted_share),
        }
    }
}

pub struct ColumnHead {
    pub label: &'static str,
    pub href: String,
    /// "ascending" / "descending" for the sorted column (aria-sort), else empty.
    pub sorted: &'static str,
}

/// A condition of the filter in force, as a tag that removes it.
pub struct ActiveFilter {
    /// "Status: Eingereicht"
    pub label: String,
    /// The dashboard without this condition.
    pub href: String,
}

/// Where the page stands in the selection and the links to its neighbours.
struct Paging {
    /// "51–100"
    range: String,
    number: i64,
    next_href: Option<String>,
    previous_href: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "review/dashboard.html")]
struct DashboardPage {
    page: PageContext,
    /// The page's title: the filter in force and the page number.
    title: String,
    query: FilterQuery,
    errors: FormErrors,
    cases: Vec<CaseView>,
    counts: Vec<StatusCount>,
    /// "1.234" or "mehr als 1.000".
    total: String,
    budgets: Vec<BudgetView>,
    columns: Vec<ColumnHead>,
    paging: Paging,
    active: Vec<ActiveFilter>,
    export_href: String,
    choices: std::sync::Arc<super::choices::Choices>,
    statuses: Vec<(&'static str, &'static str)>,
}

/// The statuses a reviewer filters by (all but drafts).
pub fn status_choices() -> Vec<(&'static str, &'static str)> {
    Status::ALL
        .into_iter()
        .filter(|s| *s != Status::Draft)
        .map(|s| (s.as_str(), review_label(s)))
        .collect()
}

async fn dashboard(
    State(app): State<AppState>,
    page: PageContext,
    user: Reviewer,
    Query(query): Query<FilterQuery>,
) -> Result<Response, AppError> {
    let (filter, errors) = query.parse();
    let mut conn = app.db.acquire().await?;
    let mut rows = db::cases(&mut conn, &filter, user.id, PAGE_SIZE).await?;
    let paging = paging(&query, &filter, &mut rows);
    let found = db::counts_by_status(&mut conn, &filter, user.id).await?;
    let (total, counts) = status_counts(&query, &filter, &found);
    let rounds = db::budgets(&mut conn, filter.round).await?;
    let round_ids: Vec<i64> = rounds.iter().map(|b| b.round_id).collect();
    let years = crate::programmes::db::budget_years(&mut conn, &round_ids).await?;
    let budgets = rounds.iter().map(|b| BudgetView::new(b, &years)).collect();
    let choices = app.choices.get(&mut conn).await?;
    let active = active_filters(&query, &filter, &choices, rows.first());
    let mut title = "Prüfung der Anträge".to_string();
    if !active.is_empty() {
        let labels: Vec<&str> = active.iter().map(|a| a.label.as_str()).collect();
        title = format!("{title} – {}", labels.join(", "));
    }
    if paging.number > 1 {
        title = format!("{title} – Seite {}", locale::count(paging.number));
    }
    Ok(DashboardPage {
        page,
        title,
        errors,
        cases: rows.iter().map(CaseView::new).collect(),
        counts,
        total,
        budgets,
        columns: column_heads(&query, &filter),
        paging,
        active,
        export_href: format!("/pruefung/export.csv?{}", query.first_page()),
        choices,
        statuses: status_choices(),
        query,
    }
    .into_response())
}

/// Trims `rows` (one more than a page, read forwards or backwards) to the page and says where
/// it stands: the page after the last row, the page before the first.
fn paging(query: &FilterQuery, filter: &super::model::Filter, rows: &mut Vec<CaseRow>) -> Paging {
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > PAGE_SIZE;
    rows.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let backwards = filter.before.is_some();
    if backwards {
        rows.reverse();
    }
    // Read backwards, "more" means pages before this one; nothing before: the first page.
    let number = match (backwards, more, filter.after.is_some()) {
        (true, false, _) | (false, _, false) => 1,
        _ => query.page_number().max(2),
    };
    let cursor = |row: &CaseRow| super::model::Cursor {
        value: row.sort_value.clone(),
        id: row.id,
    };
    let next_href = rows
        .last()
        .filter(|_| more || backwards)
        .map(|last| format!("/pruefung?{}", query.after(&cursor(last), number + 1)));
    let previous_href = match rows.first() {
        _ if number == 1 => None,
        Some(_) if number == 2 => Some(format!("/pruefung?{}", query.first_page())),
        Some(first) => Some(format!(
            "/pruefung?{}",
            query.before(&cursor(first), number - 1)
        )),
        None => Some(format!("/pruefung?{}", query.first_page())),
    };
    let from = (number - 1) * PAGE_SIZE + 1;
    let shown = i64::try_from(rows.len()).unwrap_or(0);
    Paging {
        range: if shown == 0 {
            "0".into()
        } else {
            format!(
                "{}–{}",
                locale::count(from),
                locale::count(from + shown - 1)
            )
        },
        number,
        next_href,
        previous_href,
    }
}

/// The total ("201" or "mehr als 1.000") and the links per status with their counts.
fn status_counts(
    query: &FilterQuery,
    filter: &super::model::Filter,
    found: &db::StatusCounts,
) -> (String, Vec<StatusCount>) {
    let figure = |n: i64| {
        if found.complete {
            locale::count(n)
        } else {
            String::new()
        }
    };
    let count_of = |s: Status| {
        found
            .by_status
            .iter()
            .find(|(k, _)| k == s.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let total = if found.complete {
        locale::count(found.by_status.iter().map(|(_, n)| n).sum())
    } else {
        format!("mehr als {}", locale::count(db::COUNT_BOUND))
    };
    let mut counts = vec![StatusCount {
        label: "Alle",
        count: total.clone(),
        href: format!("/pruefung?{}", query.with_status("")),
        current: filter.status.is_none(),
    }];
    counts.extend(
        Status::ALL
            .into_iter()
            .filter(|s| *s != Status::Draft)
            .map(|s| StatusCount {
                label: review_label(s),
                count: figure(count_of(s)),
                href: format!("/pruefung?{}", query.with_status(s.as_str())),
                current: filter.status == Some(s),
            }),
    );
    (total, counts)
}

fn column_heads(query: &FilterQuery, filter: &super::model::Filter) -> Vec<ColumnHead> {
    Sort::ALL
        .into_iter()
        .map(|s| {
            let current = filter.sort == s;
            // A click on the sorted column turns its order around.
            let descending = if current {
                !filter.descending
            } else {
                s.is_numeric()
            };
            ColumnHead {
                label: s.label(),
                href: format!("/pruefung?{}", query.sorted_by(s, descending)),
                sorted: match (current, filter.descending) {
                    (false, _) => "",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
            }
        })
        .collect()
}

/// The conditions in force (those that could be read), each with the link that removes it.
fn active_filters(
    query: &FilterQuery,
    filter: &super::model::Filter,
    choices: &super::choices::Choices,
    first: Option<&CaseRow>,
) -> Vec<ActiveFilter> {
    use super::model::{Assignment, FilterField as F};
    let named = |list: &[(i64, String)], id: Option<i64>| {
        id.and_then(|id| list.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone()))
    };
    let day = |value: &str| locale::parse_date(value).map(locale::civil_date);
    let conditions: [(F, &str, Option<String>); 11] = [
        (
            F::Search,
            "Suche",
            Some(format!("„{}“", filter.search)).filter(|_| !filter.search.is_empty()),
        ),
        (
            F::Round,
            "Förderaufruf",
            named(&choices.rounds, filter.round),
        ),
        (
            F::Status,
            "Status",
            filter.status.map(|s| review_label(s).to_string()),
        ),
        (
            F::Category,
            "Fördergegenstand",
            filter.category.as_ref().map(|code| {
                choices
                    .categories
                    .iter()
                    .find(|(c, _)| c == code)
                    .map_or_else(|| code.clone(), |(c, t)| format!("{c} {t}"))
            }),
        ),
        (
            F::District,
            "Landkreis",
            named(&choices.districts, filter.district),
        ),
        (
            F::Municipality,
            "Kommune",
            filter
                .municipality
                .map(|id| first.map_or_else(|| format!("Nr. {id}"), |r| r.municipality.clone())),
        ),
        (
            F::Assignment,
            "Zugewiesen",
            match filter.assignment {
                Assignment::Anyone => None,
                Assignment::Me => Some("mir".into()),
                Assignment::Someone => Some("jemandem".into()),
                Assignment::Nobody => Some("niemandem".into()),
            },
        ),
        (
            F::AmountMin,
            "Beantragt ab",
            filter.amount_min.map(|c| c.to_string()),
        ),
        (
            F::AmountMax,
            "Beantragt bis",
            filter.amount_max.map(|c| c.to_string()),
        ),
        (
            F::SubmittedFrom,
            "Eingereicht ab",
            filter.submitted_from.and(day(&query.eingereicht_von)),
        ),
        (
            F::SubmittedUntil,
            "Eingereicht bis",
            filter.submitted_before.and(day(&query.eingereicht_bis)),
        ),
    ];
    conditions
        .into_iter()
        .filter_map(|(field, name, value)| {
            value.map(|v| ActiveFilter {
                label: format!("{name}: {v}"),
                href: format!("/pruefung?{}", query.without(field)),
            })
        })
        .collect()
}

pub struct TaskList {
    pub heading: &'static str,
    pub empty: &'static str,
    pub cases: Vec<CaseView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "review/tasks.html")]
struct TasksPage {
    page: PageContext,
    lists: Vec<TaskList>,
}

async fn tasks(
    State(app): State<AppState>,
    page: PageContext,
    user: Reviewer,
) -> Result<TasksPage, AppError> {
    let mut conn = app.db.acquire().await?;
    let mut lists = Vec::new();
    for (which, heading, empty) in [
        (
            db::Task::Assigned,
            "Mir zugewiesen",
            "Keine Anträge sind Ihnen zur Prüfung zugewiesen.",
        ),
        (
            db::Task::ToConfirm,
            "Warten auf meine Zweitzeichnung",
            "Kein Vorschlag wartet auf Ihre Zweitzeichnung.",
        ),
        (
            db::Task::Overdue,
            "Nachforderungen mit abgelaufener Frist",
            "Keine Frist ist abgelaufen.",
        ),
    ] {
        let cases = db::tasks(&mut conn, user.id, which).await?;
        lists.push(TaskList {
            heading,
            empty,
            cases: cases.iter().map(CaseView::new).collect(),
        });
    }
    Ok(TasksPage { page, lists })
}
