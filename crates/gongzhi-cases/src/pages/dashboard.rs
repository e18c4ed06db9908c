//! The leaders' dashboard: the jurisdiction's grids on a map coloured by open or overdue cases
//! (drill down street → community → grid), the month's three-rate ranking and the GB/T closure
//! rates by street, community, grid and unit, the trend of the last 30 days, exports.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use gongzhi_core::areas::Level;
use gongzhi_core::cache::{cached, Policy};
use gongzhi_core::state::AppState;
use gongzhi_core::time::now_ms;
use gongzhi_core::Error;
use gongzhi_web::i18n::Lang;
use gongzhi_web::map::{chart_scripts, grid_shapes, map_scripts};
use gongzhi_web::session::Session;
use gongzhi_web::{error_response, json_script, page, refusal};

use crate::queries::overview;
use crate::queries::stats::compute;
use crate::rules::stats::{self, StatsLevel, StatsRow};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/dashboard/grids.json", get(grids))
        .route("/dashboard/export", get(export))
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
    // Refused (403) to those whose roles do not read the figures, with the reason.
    let (figures, computed_at) = match cached_figures(&state, &key, async {
        overview::dashboard(&state.db, &s.actor, &period, level, now_ms()).await
    })
    .await
    {
        Ok(f) => f,
        Err(e) => return refusal(&s, &e, lang.t("领导看板", "Leaders' dashboard"), "/"),
    };
    let t = &figures.trend;
    let trend = json!({"days": t.days, "created": t.created, "closed": t.closed});
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
            (ranking(lang, &figures.ranking))
        }
        section.card {
            h2 { (lang.t("近 30 天趋势", "Last 30 days")) }
            div #trend-chart .chart {}
            (json_script("trend-data", &trend))
            (json_script("trend-labels", &json!({
                "created": lang.t("新增", "New"), "closed": lang.t("结案", "Closed")})))
        }
        (map_scripts(&state))
        (chart_scripts())
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

/// Figures kept per key (period, level, the user's scope): with a million cases a month's
/// ranking or the open cases per grid take a noticeable fraction of a second to compute. Every
/// write to cases moves their version, read at most every 5 s, this server's writes included:
/// while cases change the figures are recomputed at most that often, and follow any server's
/// changes within that. At least every minute anyway, since overdue counts follow the clock.
const FIGURES: Policy = Policy {
    versions: &[crate::store::CASES_VERSION, "areas", "units"],
    trust: std::time::Duration::from_secs(5),
    max_age: Some(std::time::Duration::from_secs(60)),
    own_writes_at_once: false,
    keys: 256,
};

/// The figures kept for `key`, or `compute`d now; with the time they were computed (Unix ms).
async fn cached_figures<T, F>(
    state: &AppState,
    key: &str,
    compute: F,
) -> gongzhi_core::Result<(T, i64)>
where
    T: Clone + Send + Sync + 'static,
    F: std::future::Future<Output = gongzhi_core::Result<T>>,
{
    cached(&state.db, key, &FIGURES, async {
        let v = compute.await?;
        Ok((v, now_ms()))
    })
    .await
}

/// The grids as GeoJSON for the maps (the report form's too): the shapes and names are
/// directory data; each grid's open and overdue cases count only the cases the user may read
/// (zero for those who may read none), from the cases module's own scoped figures.
async fn grids(State(state): State<AppState>, s: Session) -> Response {
    let key = format!("grids|{:?}|{:?}", s.actor.user_id, s.actor.assignments);
    let counts = match cached_figures(
        &state,
        &key,
        overview::open_by_grid(&state.db, &s.actor, now_ms()),
    )
    .await
    {
        Ok((c, _)) => c,
        // Those who read no cases still get the shapes (the report form's map), with no figures.
        Err(Error::Forbidden(_)) => Default::default(),
        Err(e) => return error_response(&e),
    };
    let mut fc = match grid_shapes(&state.db).await {
        Ok(fc) => fc,
        Err(e) => return error_response(&e),
    };
    let levels = [Level::District, Level::Street, Level::Community];
    let areas = match gongzhi_core::areas::names_at(&state.db, &levels).await {
        Ok(a) => a,
        Err(e) => return error_response(&e),
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
    let rows = match compute(&state.db, &s.actor, &period, level).await {
        Ok(r) => r,
        // A refused export is refused (403), not a bad request.
        Err(e) => return error_response(&e),
    };
    let (body, ct, ext) = match q.format.as_str() {
        "csv" => (stats::to_csv(&rows), "text/csv; charset=utf-8", "csv"),
        "xlsx" => match stats::to_xlsx(&rows) {
            Ok(b) => (
                b,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            ),
            Err(e) => return error_response(&e),
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
