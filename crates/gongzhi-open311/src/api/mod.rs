//! Open311's routes: GeoReport v2 under `/open311/v2` (the specification's paths, not part of
//! our OpenAPI document), and setting a service's attributes under `/api/v1`. Handlers parse,
//! call a command or a query, and answer.

mod attributes;
mod georeport;
mod multipart;

use axum::routing::{get, put};
use gongzhi_core::state::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every route of the module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route(
            "/open311/v2/{file}",
            get(georeport::top).post(georeport::post_top),
        )
        .route(
            "/open311/v2/services/{file}",
            get(georeport::service_definition),
        )
        .route("/open311/v2/requests/{file}", get(georeport::one_request))
        .route("/open311/v2/tokens/{file}", get(georeport::token))
        .route("/open311/v2/media/{id}", get(georeport::media))
        .route(
            "/api/v1/open311/services/{code}/attributes",
            put(attributes::put_attributes),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            gongzhi_core::attachments::MAX_BYTES + 64 * 1024,
        ))
}
