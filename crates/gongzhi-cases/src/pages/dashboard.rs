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
use utoipa_axum::router::OpenApiRouter;

use gongzhi_cases::overview;
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
    let key = format!(
        "{period}|{level_name}|{:?}|{:?}",
        s.actor.user_id, s.actor.assignments
    );
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
        let t = overview::trend(&state.db, &s.actor, now_ms(), 30).await?;
        Ok((
            rows,
            json!({"days": t.days, "created": t.created, "closed": t.closed}),
        ))
    })
    .await?;
    Ok((rows, trend, at))
}

/// The grids as GeoJSON for the maps (the report form's too): the shapes and names are
/// directory data; each grid's open and overdue cases count only the cases the user may read
/// (zero for those who may read none), from the cases module's own scoped figures.
async fn grids(State(state): State<AppState>, s: Session) -> Response {
    let key = format!("grids|{:?}|{:?}", s.actor.user_id, s.actor.assignments);
    let counts = match cached(
        &state,
        &key,
        overview::open_by_grid(&state.db, &s.actor, now_ms()),
    )
    .await
    {
        Ok((c, _)) => c,
        Err(gongzhi_core::Error::Forbidden(_)) => Default::default(),
        Err(e) => {
            tracing::error!(error = %e, "grid figures");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let (Ok(mut fc), Ok(areas)) = (
        grid_shapes(&state.db).await,
        gongzhi_core::areas::names_at(
            &state.db,
            &[Level::District, Level::Street, Level::Community],
        )
        .await,
    ) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // Names of streets and communities, for the drill-down labels.
    let names: serde_json::Map<String, Value> = areas
        .into_iter()
        .map(|(c, n)| (c, Value::String(n)))
        .collect();
    if let Some(features) = fc["features"].as_array_mut() {
        for f in features {
            let code = f["properties"]["code"].as_str().unwrap_or("").to_string();
            let g = counts.get(&code).copied().unwrap_or_default();
            f["properties"]["open"] = json!(g.open);
            f["properties"]["overdue"] = json!(g.overdue);
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
