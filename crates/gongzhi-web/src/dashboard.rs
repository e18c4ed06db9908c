//! The leaders' dashboard: the jurisdiction's grids on a map coloured by open or overdue cases
//! (drill down street → community → grid), the month's three-rate ranking and the GB/T closure
//! rates by street, community, grid and unit, the trend of the last 30 days, exports.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;

use gongzhi_cases::stats::{self, StatsLevel, StatsRow};
use gongzhi_core::areas::Level;
use gongzhi_core::http::AppState;
use gongzhi_core::identity::Role;
use gongzhi_core::time::now_ms;

use crate::i18n::Lang;
use crate::session::Session;
use crate::{error_box, json_script, page};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/dashboard", get(dashboard))
        .route("/dashboard/grids.json", get(grids))
        .route("/dashboard/export", get(export))
}

/// Leaflet, our map script and the map settings (basemap, if any), for pages with a map.
pub fn map_scripts(state: &AppState) -> Markup {
    html! {
        link rel="stylesheet" href="/static/leaflet.css";
        (json_script("map-config", &json!({"basemap": state.config.basemap_url})))
        script src="/static/leaflet.js" {}
        script src="/static/map.js" {}
    }
}

/// The area prefixes the user oversees; empty means everything.
fn scope(s: &Session) -> Vec<String> {
    let mut out = Vec::new();
    for a in &s.actor.assignments {
        match &a.area {
            None if a.unit.is_none() => return vec![],
            Some(area) => out.push(area.clone()),
            None => {}
        }
    }
    out
}

fn may_oversee(s: &Session) -> bool {
    s.actor
        .assignments
        .iter()
        .any(|a| matches!(a.role, Role::Leader | Role::Dispatcher | Role::Admin))
}

#[derive(Deserialize, Default)]
struct DashQuery {
    level: Option<String>,
    period: Option<String>,
}

fn level_of(s: Option<&str>) -> (StatsLevel, &'static str) {
    match s {
        Some("community") => (StatsLevel::Community, "community"),
        Some("grid") => (StatsLevel::Grid, "grid"),
        Some("unit") => (StatsLevel::Unit, "unit"),
        _ => (StatsLevel::Street, "street"),
    }
}

fn this_month() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("offset"))
        .format("%Y-%m")
        .to_string()
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "—".into())
}

async fn dashboard(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<DashQuery>,
) -> Response {
    let lang = s.lang;
    if !may_oversee(&s) {
        return (StatusCode::FORBIDDEN, page(Some(&s), lang, lang.t("看板", "Dashboard"),
            html! { div.error role="alert" { (lang.t("看板供领导、派遣员和管理员使用。", "The dashboard is for leaders, dispatchers and administrators.")) } })).into_response();
    }
    let (level, level_name) = level_of(q.level.as_deref());
    let period = q
        .period
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(this_month);
    let key = format!("{period}|{level_name}|{:?}", s.actor.assignments);
    let (rows, trend, computed_at) = match figures(&state, &s, &key, &period, level).await {
        Ok((rows, trend, at)) => (Ok(rows), trend, at),
        Err(e) => (Err(e), Value::Null, now_ms()),
    };
    let body = html! {
        section.card {
            div.map-tools {
                label for="map-measure" { (lang.t("着色", "Colour by")) }
                select #map-measure {
                    option value="open" { (lang.t("在办案件", "Open cases")) }
                    option value="overdue" { (lang.t("超期案件", "Overdue cases")) }
                }
                label for="map-level" { (lang.t("层级", "Level")) }
                select #map-level {
                    option value="9" { (lang.word("street")) }
                    option value="12" { (lang.word("community")) }
                    option value="15" { (lang.word("grid")) }
                }
                button #map-up type="button" { (lang.t("返回上级", "Up a level")) }
                span #map-info aria-live="polite" {}
            }
            div #dash-map .map.big data-grids="/dashboard/grids.json" {}
        }
        section.card {
            h2 { (lang.t("三率排名", "Three-rate ranking")) " · " (period) }
            p.hint { (lang.t("统计于 ", "Computed at ")) (gongzhi_core::time::format_ms(computed_at).get(11..19).unwrap_or("")) }
            form.inline-form method="get" action="/dashboard" {
                label for="period" { (lang.t("月份", "Month")) }
                input #period name="period" type="month" value=(period);
                label for="level" { (lang.t("排名对象", "Rank by")) }
                select #level name="level" {
                    @for l in ["street", "community", "grid", "unit"] {
                        option value=(l) selected[l == level_name] { (lang.word(l)) }
                    }
                }
                button type="submit" { (lang.t("查看", "Show")) }
                a.button href={"/dashboard/export?format=xlsx&level=" (level_name) "&period=" (period)} { "XLSX" }
                a.button href={"/dashboard/export?format=csv&level=" (level_name) "&period=" (period)} { "CSV" }
            }
            @match &rows {
                Err(e) => (error_box(lang, e)),
                Ok(rows) => (ranking(lang, rows)),
            }
        }
        section.card {
            h2 { (lang.t("近 30 天趋势", "Last 30 days")) }
            div #trend-chart .chart {}
            (json_script("trend-data", &trend))
            (json_script("trend-labels", &json!({
                "created": lang.t("新增", "New"), "closed": lang.t("结案", "Closed")})))
        }
        (map_scripts(&state))
        script src="/static/echarts.min.js" {}
    };
    page(
        Some(&s),
        lang,
        lang.t("领导看板", "Leaders' dashboard"),
        body,
    )
    .into_response()
}

fn ranking(lang: Lang, rows: &[StatsRow]) -> Markup {
    html! {
        @if rows.is_empty() { p.empty { (lang.t("本月还没有可计的案件。", "Nothing to count this month yet.")) } }
        @else {
            div.table-wrap { table #ranking .ranking {
                thead { tr {
                    th { (lang.t("名次", "Rank")) } th { (lang.t("名称", "Name")) }
                    th { (lang.t("综合得分", "Score")) } th { (lang.t("响应率", "Response")) }
                    th { (lang.t("解决率", "Resolution")) } th { (lang.t("满意率", "Satisfaction")) }
                    th { (lang.t("有效回访", "Valid callbacks")) }
                    th { (lang.t("派遣数", "Dispatched")) } th { (lang.t("按期处置率", "Handled on time")) }
                    th { (lang.t("结案率", "Closure")) } th { (lang.t("按期结案率", "Closed on time")) }
                    th { (lang.t("返工率", "Rework")) }
                } }
                tbody { @for r in rows { tr {
                    td { (r.rank) } td { (r.name) }
                    td { (r.score.map(|s| format!("{s:.1}")).unwrap_or_else(|| "—".into())) }
                    td { (pct(r.response_rate)) } td { (pct(r.resolution_rate)) } td { (pct(r.satisfaction_rate)) }
                    td { (r.counts.valid_callbacks) }
                    td { (r.counts.dispatched) } td { (pct(r.on_time_handling_rate)) }
                    td { (pct(r.closure_rate)) } td { (pct(r.on_time_closure_rate)) } td { (pct(r.rework_rate)) }
                } } }
            } }
        }
    }
}

/// Figures computed at most every few seconds per key (period, level, the user's scope): with a
/// million cases a month's ranking or the open cases per grid take a noticeable fraction of a
/// second to compute. Recomputed when this process changed cases and the figures are older than
/// `FRESH`, or when they are older than `STALE` (changes made by other server processes).
struct Cached<T>(
    std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, i64, u64, T)>>,
);

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached(Default::default())
    }
}

const FRESH: std::time::Duration = std::time::Duration::from_secs(5);
const STALE: std::time::Duration = std::time::Duration::from_secs(60);

/// The cached value for `key`, or `compute`d now; with the time it was computed (Unix ms).
async fn cached<T, F>(state: &AppState, key: &str, compute: F) -> gongzhi_core::Result<(T, i64)>
where
    T: Clone + Send + Sync + 'static,
    F: std::future::Future<Output = gongzhi_core::Result<T>>,
{
    let cache = state.db.extension(Cached::<T>::default);
    let generation = gongzhi_cases::store::generation(&state.db);
    let hit = cache
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(key)
        .cloned();
    if let Some((at, at_ms, g, v)) = hit {
        let age = at.elapsed();
        if age < STALE && (g == generation || age < FRESH) {
            return Ok((v, at_ms));
        }
    }
    let v = compute.await?;
    let at_ms = now_ms();
    let mut map = cache.0.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() > 256 {
        map.clear();
    }
    map.insert(
        key.to_string(),
        (std::time::Instant::now(), at_ms, generation, v.clone()),
    );
    Ok((v, at_ms))
}

async fn figures(
    state: &AppState,
    s: &Session,
    key: &str,
    period: &str,
    level: StatsLevel,
) -> gongzhi_core::Result<(Vec<StatsRow>, Value, i64)> {
    let ((rows, trend), at) = cached(state, key, async {
        let rows = stats::compute(&state.db, &s.actor, period, level).await?;
        Ok((rows, trend(state, &scope(s)).await?))
    })
    .await?;
    Ok((rows, trend, at))
}

/// Cases created and closed per day over the last 30 days, in the user's areas.
async fn trend(state: &AppState, scope: &[String]) -> gongzhi_core::Result<Value> {
    let day = 86_400_000i64;
    let now = now_ms();
    let start = now - 30 * day;
    let (clause, args) = scope_clause(scope, 2);
    let mut days: Vec<(String, i64, i64)> = (0..30)
        .map(|i| {
            let t = chrono::DateTime::from_timestamp_millis(start + (i + 1) * day)
                .unwrap_or_default()
                + chrono::Duration::hours(8);
            (t.format("%m-%d").to_string(), 0, 0)
        })
        .collect();
    for (col, slot) in [("created_at", 1), ("closed_at", 2)] {
        // Counted per day by the database: a month can hold hundreds of thousands of cases.
        let sql = format!(
            "SELECT ({col} - $1) / {day} AS d, COUNT(*) FROM cases WHERE {col} >= $1{clause} GROUP BY ({col} - $1) / {day}"
        );
        let mut q = sqlx::query(&sql).bind(start);
        for a in &args {
            q = q.bind(a.clone());
        }
        for r in q.fetch_all(state.db.pool()).await? {
            let i = (r.try_get::<i64, _>(0)?.max(0) as usize).min(29);
            let n: i64 = r.try_get(1)?;
            if slot == 1 {
                days[i].1 += n
            } else {
                days[i].2 += n
            }
        }
    }
    Ok(json!({
        "days": days.iter().map(|d| &d.0).collect::<Vec<_>>(),
        "created": days.iter().map(|d| d.1).collect::<Vec<_>>(),
        "closed": days.iter().map(|d| d.2).collect::<Vec<_>>(),
    }))
}

/// ` AND (grid_code LIKE $n OR …)` for the user's areas, with its arguments.
fn scope_clause(scope: &[String], first: usize) -> (String, Vec<String>) {
    if scope.is_empty() {
        return (String::new(), vec![]);
    }
    let parts: Vec<String> = (0..scope.len())
        .map(|i| format!("grid_code LIKE ${}", first + i))
        .collect();
    (
        format!(" AND ({})", parts.join(" OR ")),
        scope.iter().map(|a| format!("{a}%")).collect(),
    )
}

/// The grids as GeoJSON with each grid's open and overdue cases, for the map.
async fn grids(State(state): State<AppState>, s: Session) -> Response {
    if !may_oversee(&s) && !s.has(Role::GridWorker) && !s.has(Role::Operator) && !s.resident_only()
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    let counts = if may_oversee(&s) {
        let sc = scope(&s);
        cached(&state, &format!("grids|{sc:?}"), grid_counts(&state, &sc))
            .await
            .map(|(c, _)| c)
    } else {
        Ok(Default::default())
    };
    let (Ok(mut fc), Ok(counts)) = (grid_shapes(&state.db).await, counts) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // Names of streets and communities, for the drill-down labels.
    let mut names = serde_json::Map::new();
    if let Ok(rows) = sqlx::query(
        "SELECT code, name FROM areas WHERE level IN ('street', 'community', 'district')",
    )
    .fetch_all(state.db.pool())
    .await
    {
        for r in rows {
            if let (Ok(c), Ok(n)) = (r.try_get::<String, _>(0), r.try_get::<String, _>(1)) {
                names.insert(c, Value::String(n));
            }
        }
    }
    if let Some(features) = fc["features"].as_array_mut() {
        for f in features {
            let code = f["properties"]["code"].as_str().unwrap_or("").to_string();
            let (open, overdue) = counts.get(&code).copied().unwrap_or((0, 0));
            f["properties"]["open"] = json!(open);
            f["properties"]["overdue"] = json!(overdue);
        }
    }
    fc["names"] = Value::Object(names);
    ([(header::CACHE_CONTROL, "private, max-age=30")], Json(fc)).into_response()
}

/// The grids' GeoJSON changes only with an import: kept per areas version.
#[derive(Default)]
struct GridShapes(tokio::sync::Mutex<Option<(i64, Value)>>);

async fn grid_shapes(db: &gongzhi_core::db::Db) -> gongzhi_core::Result<Value> {
    let version = db.version("areas").await?;
    let cache = db.extension(GridShapes::default);
    let mut slot = cache.0.lock().await;
    if let Some((v, fc)) = slot.as_ref() {
        if *v == version {
            return Ok(fc.clone());
        }
    }
    let fc = gongzhi_core::areas::export_geojson(db, Some(Level::Grid)).await?;
    *slot = Some((version, fc.clone()));
    Ok(fc)
}

async fn grid_counts(
    state: &AppState,
    scope: &[String],
) -> gongzhi_core::Result<std::collections::HashMap<String, (i64, i64)>> {
    let (clause, args) = scope_clause(scope, 2);
    let sql = format!(
        "SELECT grid_code, COUNT(*), SUM(CASE WHEN (reported_back_at IS NULL AND handle_deadline < $1) \
         OR (closed_at IS NULL AND close_deadline < $1) THEN 1 ELSE 0 END) FROM cases \
         WHERE status NOT IN ('closed', 'called_back', 'cancelled', 'merged') AND grid_code IS NOT NULL{clause} \
         GROUP BY grid_code"
    );
    let mut q = sqlx::query(&sql).bind(now_ms());
    for a in &args {
        q = q.bind(a.clone());
    }
    let mut out = std::collections::HashMap::new();
    for r in q.fetch_all(state.db.pool()).await? {
        out.insert(
            r.try_get::<String, _>(0)?,
            (r.try_get::<i64, _>(1)?, r.try_get::<i64, _>(2)?),
        );
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ExportQuery {
    format: String,
    level: Option<String>,
    period: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    s: Session,
    Query(q): Query<ExportQuery>,
) -> Response {
    let (level, level_name) = level_of(q.level.as_deref());
    let period = q
        .period
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(this_month);
    let rows = match stats::compute(&state.db, &s.actor, &period, level).await {
        Ok(r) => r,
        Err(e) => {
            // A refused export is refused (403), not a bad request.
            let status = gongzhi_core::http::ApiError::from(e).status;
            return status.into_response();
        }
    };
    let (body, ct, ext) = match q.format.as_str() {
        "csv" => (stats::to_csv(&rows), "text/csv; charset=utf-8", "csv"),
        "xlsx" => match stats::to_xlsx(&rows) {
            Ok(b) => (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ),
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        },
        _ => return (StatusCode::BAD_REQUEST, "format is csv or xlsx").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ranking-{level_name}-{period}.{ext}\""),
            ),
        ],
        body,
    )
        .into_response()
}
