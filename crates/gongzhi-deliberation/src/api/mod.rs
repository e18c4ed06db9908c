//! Deliberation's JSON API under `/api/v1`, documented for `/api/openapi.json`: one file per
//! part. Handlers parse, call a command or a query, and answer; nothing else.

mod budgets;
mod consultations;
mod moderation;
mod panels;
mod residents;
mod settings;
mod topics;

use gongzhi_core::state::AppState;
use utoipa_axum::router::OpenApiRouter;

/// Every route of the module.
pub fn router() -> OpenApiRouter<AppState> {
    residents::api()
        .merge(settings::api())
        .merge(topics::api())
        .merge(budgets::api())
        .merge(consultations::api())
        .merge(panels::api())
        .merge(moderation::api())
}
