//! Published cases as another module reads them (Open311): a case before publicity decides what
//! of it is shown, a step of its timeline, and the filters a public list takes.

use super::publicity::Shown;

/// A public case as stored; `media_url` is the one its channel's client sent (extra
/// `open311_media_url`).
#[derive(Debug, Clone)]
pub struct PublishedCase {
    pub id: String,
    pub number: String,
    pub category_code: String,
    pub status: String,
    pub description: String,
    pub unit_code: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub handle_deadline: Option<i64>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub media_url: Option<String>,
}

/// A public case with what publicity lets the public see of it.
#[derive(Debug, Clone)]
pub struct PublicView {
    pub case: PublishedCase,
    pub shown: Shown,
}

/// One step of a case's timeline.
#[derive(Debug, Clone)]
pub struct PublishedStep {
    pub id: String,
    pub step: String,
    pub at: i64,
    pub note: Option<String>,
}

/// A step with the number of the case it belongs to (a feed of updates).
#[derive(Debug, Clone)]
pub struct PublishedStepOf {
    pub step: PublishedStep,
    pub number: String,
}

/// Which public cases a list asks for; every list is within some categories.
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    /// These cases only, by number, and the other filters do not apply.
    pub numbers: Option<Vec<String>>,
    pub categories: Vec<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    /// Some(true): open cases only; Some(false): closed only (`Status::is_open`).
    pub open: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}
