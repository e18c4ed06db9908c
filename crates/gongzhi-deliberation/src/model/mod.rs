//! Deliberation's types, parsed at the edge: the closed sets (enums stored as the text they
//! always were), what the API takes and what it answers, one file per part. No I/O here.

pub mod budgets;
pub mod consultations;
pub mod input;
pub mod moderation;
pub mod panels;
pub mod residents;
pub mod topics;

pub use budgets::Completion;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One step in the history of a topic, call, consultation or panel.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub at: String,
    pub actor: String,
    pub step: String,
    pub note: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}
