//! Areas over HTTP: details with the parent chain, children, public locate, imports, export.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::locate::{gcj02_to_wgs84, Located};
use super::{Area, AreaWithParents, ImportReport, Level};
use crate::http::{ApiError, ApiQuery, ApiResult, Authed, ClientAddr};
use crate::identity::{authorize, Action, Target};
use crate::state::AppState;
use crate::Error;

pub fn api() -> OpenApiRouter<AppState> {
    let imports = OpenApiRouter::new()
        .routes(routes!(import_divisions))
        .routes(routes!(import_geojson))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024));
    OpenApiRouter::new()
        .routes(routes!(locate))
        .routes(routes!(get_area))
        .routes(routes!(list_areas))
        .routes(routes!(export_geojson))
        .merge(imports)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct LocateQuery {
    /// Latitude, −90…90.
    lat: f64,
    /// Longitude, −180…180.
    lng: f64,
    /// `wgs84` (default) or `gcj02` (what Chinese map apps give).
    crs: Option<String>,
}

/// Which grid, community, street and district a point lies in. Public and rate limited.
#[utoipa::path(get, path = "/api/v1/areas/locate", tag = "areas", params(LocateQuery),
    responses((status = 200, body = Located), (status = 400, body = crate::http::ErrorBody),
              (status = 404, description = "outside_jurisdiction", body = crate::http::ErrorBody),
              (status = 429, body = crate::http::ErrorBody)))]
async fn locate(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiQuery(q): ApiQuery<LocateQuery>,
) -> ApiResult<Json<Located>> {
    if !state.locate_limiter.hit(&addr) {
        return Err(Error::RateLimited("too many locate requests; slow down".into()).into());
    }
    if !q.lat.is_finite()
        || !q.lng.is_finite()
        || !(-90.0..=90.0).contains(&q.lat)
        || !(-180.0..=180.0).contains(&q.lng)
    {
        return Err(Error::invalid(
            "invalid_coordinates",
            "lat must be within ±90 and lng within ±180",
        )
        .into());
    }
    let (lat, lng) = match q.crs.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("wgs84") => (q.lat, q.lng),
        Some("gcj02") => gcj02_to_wgs84(q.lat, q.lng),
        Some(other) => {
            return Err(Error::invalid(
                "invalid_crs",
                format!("crs {other:?} is not wgs84 or gcj02"),
            )
            .into())
        }
    };
    metrics::counter!("gongzhi_locate_total").increment(1);
    let index = state.locate.load();
    index
        .locate(lat, lng)
        .cloned()
        .map(Json)
        .ok_or_else(|| Error::OutsideJurisdiction.into())
}

/// One area with its polygon and the chain of areas above it.
#[utoipa::path(get, path = "/api/v1/areas/{code}", tag = "areas",
    params(("code" = String, Path, description = "6, 9, 12 or 15-digit area code")),
    security(("bearer" = [])),
    responses((status = 200, body = AreaWithParents), (status = 404, body = crate::http::ErrorBody)))]
async fn get_area(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(code): Path<String>,
) -> ApiResult<Json<AreaWithParents>> {
    authorize(&actor, Action::AREA_READ, &Target::area(&code))?;
    Ok(Json(super::get_area(&state.db, &code).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The parent's code; without it, the top-level areas.
    parent: Option<String>,
}

/// The children of an area (without polygons).
#[utoipa::path(get, path = "/api/v1/areas", tag = "areas", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<Area>), (status = 404, body = crate::http::ErrorBody)))]
async fn list_areas(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<Area>>> {
    let parent = q.parent.as_deref().filter(|p| !p.is_empty());
    authorize(
        &actor,
        Action::AREA_READ,
        &parent.map(Target::area).unwrap_or_default(),
    )?;
    if let Some(p) = parent {
        super::get_area(&state.db, p).await?;
    }
    Ok(Json(super::children(&state.db, parent).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportQuery {
    /// Only this level: district, street, community or grid.
    level: Option<String>,
}

/// What is stored, as a GeoJSON FeatureCollection.
#[utoipa::path(get, path = "/api/v1/areas/export/geojson", tag = "areas", params(ExportQuery), security(("bearer" = [])),
    responses((status = 200, description = "GeoJSON FeatureCollection", body = Object)))]
async fn export_geojson(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<Json<Value>> {
    authorize(&actor, Action::AREA_READ, &Target::global())?;
    let level = match q.level.as_deref() {
        None | Some("") => None,
        Some(l) => Some(
            Level::parse(l)
                .ok_or_else(|| Error::invalid("invalid_level", format!("unknown level {l:?}")))?,
        ),
    };
    Ok(Json(super::export_geojson(&state.db, level).await?))
}

fn utf8(body: &Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body)
        .map_err(|_| Error::invalid("invalid_encoding", "the file must be UTF-8").into())
}

/// Imports a division CSV (`code,name,level,parent_code`); all or nothing.
#[utoipa::path(post, path = "/api/v1/areas/import/divisions", tag = "areas", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 400, description = "import_rejected: details.problems lists every problem", body = crate::http::ErrorBody)))]
async fn import_divisions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<ImportReport>)> {
    let report = super::import_divisions(&state.db, &actor, utf8(&body)?).await?;
    state.refresh_locate().await?;
    Ok((StatusCode::OK, Json(report)))
}

/// Imports a GeoJSON FeatureCollection of areas; all or nothing.
#[utoipa::path(post, path = "/api/v1/areas/import/geojson", tag = "areas", security(("bearer" = [])),
    request_body(content = Object, content_type = "application/geo+json"),
    responses((status = 200, body = ImportReport), (status = 400, description = "import_rejected: details.problems lists every problem", body = crate::http::ErrorBody)))]
async fn import_geojson(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<ImportReport>)> {
    let report = super::import_geojson(&state.db, &actor, utf8(&body)?).await?;
    state.refresh_locate().await?;
    Ok((StatusCode::OK, Json(report)))
}
