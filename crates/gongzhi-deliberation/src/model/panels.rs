//! Resident panels' types (sortition): what is published, drawn and verified.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPanel {
    pub title: String,
    pub area: String,
    /// How many to draw.
    pub seats: usize,
    /// The published candidate list (labels residents recognise, e.g. 张*明 3号楼), no repeats.
    pub candidates: Vec<String>,
}

/// The published record: exactly what `gongzhi sortition verify` reads once drawn.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PanelRecord {
    pub id: String,
    pub title: String,
    pub area: String,
    pub k: usize,
    pub candidates: Vec<String>,
    pub list_hash: String,
    pub commitment: String,
    /// Revealed at the draw.
    pub seed: Option<String>,
    pub result: Option<Vec<String>>,
    pub created_at: String,
    pub drawn_at: Option<String>,
}

/// A panel as the hub lists it (panels are public, as their draws are).
pub struct PanelSummary {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verdict {
    pub verified: bool,
    pub message: String,
}
