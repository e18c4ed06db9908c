//! Consultations' types (专项征询): questions and their kinds, what the API takes and answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

gongzhi_core::closed_set! {
    /// The form of a question's answer.
    pub enum QuestionKind {
        /// One option (its index).
        Single = "single",
        /// Any options (their indices).
        Multiple = "multiple",
        /// A whole number from min to max.
        Scale = "scale",
        /// Free text.
        Text = "text",
    }
}

gongzhi_core::closed_set! {
    /// Whether a consultation takes answers now, by its times.
    pub enum ConsultationState {
        Upcoming = "upcoming",
        Open = "open",
        Closed = "closed",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Question {
    pub kind: QuestionKind,
    pub text: String,
    /// Choices for single and multiple.
    #[serde(default)]
    pub options: Vec<String>,
    /// Bounds for scale (default 1–5).
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewConsultation {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub area: String,
    #[serde(default)]
    pub place: String,
    pub opens_at: String,
    pub closes_at: String,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsultationView {
    pub id: String,
    pub title: String,
    pub description: String,
    pub area: String,
    pub place: String,
    pub opens_at: String,
    pub closes_at: String,
    pub state: ConsultationState,
    pub questions: Vec<Question>,
    /// How many residents have answered.
    pub responses: i64,
    pub answered: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResponseInput {
    /// One per question: an option index (single), a list of indices (multiple), a number
    /// (scale), a text (text), or null to skip.
    #[schema(value_type = Vec<Object>)]
    pub answers: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OptionCount {
    pub label: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionResult {
    pub text: String,
    pub kind: QuestionKind,
    pub answered: i64,
    /// Per option (single, multiple) or per scale value (scale).
    pub counts: Vec<OptionCount>,
    /// Scale: the mean of the answers.
    pub mean: Option<f64>,
    /// Text: the answers, in an order that reveals nothing (sorted).
    pub texts: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsultationResults {
    pub id: String,
    pub title: String,
    /// The responses counted here: mixed ones only.
    pub responses: i64,
    /// Responses received but not yet mixed, so not counted yet (0 once closed).
    pub pending: i64,
    /// While open, responses are counted in mixed batches of at least this many.
    pub batch: i64,
    pub questions: Vec<QuestionResult>,
    /// Every response without who gave it, sorted (the anonymised export).
    #[schema(value_type = Vec<Object>)]
    pub export: Vec<Value>,
}
