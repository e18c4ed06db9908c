//! Maps and charts on pages: Leaflet and our map script with the deployment's basemap, ECharts,
//! and the grids' shapes as GeoJSON (kept per version of the areas).

use maud::{html, Markup};
use serde_json::{json, Value};

use gongzhi_core::areas::Level;
use gongzhi_core::cache::{cached, Policy};
use gongzhi_core::db::Db;
use gongzhi_core::state::AppState;

use crate::layout::json_script;

/// Leaflet, our map script and the map settings (basemap, if any), for pages with a map.
pub fn map_scripts(state: &AppState) -> Markup {
    html! {
        link rel="stylesheet" href="/static/leaflet.css";
        (json_script("map-config", &json!({"basemap": state.config.basemap_url})))
        script src="/static/leaflet.js" {}
        script src="/static/map.js" {}
    }
}

/// ECharts, for pages with a chart (app.js draws the charts from their JSON).
pub fn chart_scripts() -> Markup {
    html! { script src="/static/echarts.min.js" {} }
}

/// Grid shapes change only with an area import: kept while the `areas` version stays (read on
/// every use).
const GRID_SHAPES: Policy = Policy {
    versions: &["areas"],
    trust: std::time::Duration::ZERO,
    max_age: None,
    own_writes_at_once: true,
    keys: 1,
};

/// Every grid's shape, code and name as a GeoJSON feature collection.
pub async fn grid_shapes(db: &Db) -> gongzhi_core::Result<Value> {
    let shapes = gongzhi_core::areas::export_geojson(db, Some(Level::Grid));
    cached(db, "grid_shapes", &GRID_SHAPES, shapes).await
}
