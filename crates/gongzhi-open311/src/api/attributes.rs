//! `PUT /api/v1/open311/services/{code}/attributes`: a service's attribute definition.

use axum::extract::{Path, State};
use axum::Json;

use gongzhi_core::http::{ApiError, ApiJson, Authed};
use gongzhi_core::state::AppState;

use crate::commands::set_attributes::save;
use crate::model::attributes::Attribute;
use crate::queries::services;

/// Sets a service's attributes (administrators); an empty list removes the definition.
pub async fn put_attributes(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(code): Path<String>,
    ApiJson(attrs): ApiJson<Vec<Attribute>>,
) -> Result<Json<Vec<Attribute>>, ApiError> {
    save(&state.db, &actor, &code, &attrs).await?;
    Ok(Json(services::attributes(&state.db, &code).await?))
}
