//! A case as it comes in (`NewCase`), as it is shown (`CaseView`), what a step carries
//! (`ActionInput`) and how lists are asked for (`CaseFilter`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::rules::workflow::Status;
use gongzhi_core::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 咨询
    Inquiry,
    /// 求助
    Help,
    /// 投诉
    Complaint,
    /// 举报
    Report,
    /// 建议
    Suggestion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Hotline,
    Web,
    Patrol,
    Open311,
    Api,
    Import,
}

pub(crate) fn enum_str<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Refuses a filter value that names no `T` (an unknown kind or channel), as an unknown status is.
pub(crate) fn known<T: for<'de> Deserialize<'de>>(
    s: &str,
    code: &'static str,
    what: &str,
) -> Result<T> {
    serde_json::from_value(Value::String(s.to_string()))
        .map_err(|_| Error::invalid(code, format!("unknown {what} {s:?}")))
}

pub(crate) fn enum_parse<T: for<'de> Deserialize<'de>>(s: &str) -> Result<T> {
    serde_json::from_value(Value::String(s.to_string()))
        .map_err(|_| Error::internal(format!("bad stored value {s}")))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
    /// `wgs84` (default) or `gcj02`.
    pub crs: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Reporter {
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewCase {
    pub kind: Kind,
    /// Category code as `GET /api/v1/categories` lists it.
    pub category: String,
    pub description: String,
    pub location: Option<Location>,
    pub address: Option<String>,
    pub channel: Channel,
    /// Name and phone (personal data), or nothing for an anonymous report.
    pub reporter: Option<Reporter>,
    /// Ids of photos uploaded first to `POST /api/v1/attachments` (at most 9).
    #[serde(default)]
    pub photos: Vec<String>,
    /// Show the case to the public (Open311): its description, its location rounded, and the
    /// photos staff approve; never the reporter. Default: yes for inquiries, help and
    /// suggestions; no for complaints, reports (举报), hotline calls and imports.
    #[serde(default)]
    pub public: Option<bool>,
    /// The photos are public from the start: only the Open311 door sets this (its client sent
    /// them to be published). Not settable through the API.
    #[serde(skip)]
    pub photos_public: bool,
    /// What a channel carries beyond the case (kind, text), written in the case's own
    /// transaction (e.g. Open311's token and attribute values). Not settable through the API.
    #[serde(skip)]
    pub extras: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaName {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deadlines {
    pub respond: Option<String>,
    pub handle: Option<String>,
    pub close: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEvent {
    pub at: String,
    pub actor: String,
    pub step: String,
    pub note: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummonTask {
    pub unit: String,
    pub deadline: String,
    pub reported_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    /// Human case number, e.g. `20261122000017`.
    pub number: String,
    pub kind: Kind,
    pub category: String,
    pub category_name: String,
    pub description: String,
    pub status: Status,
    pub channel: Channel,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub grid: Option<AreaName>,
    pub community: Option<AreaName>,
    pub street: Option<AreaName>,
    /// The unit handling the case now.
    pub unit: Option<String>,
    /// The first unit that received the case (首接负责).
    pub lead_unit: Option<String>,
    pub anonymous: bool,
    /// Masked unless revealed.
    pub reporter: Option<Reporter>,
    pub deadlines: Deadlines,
    pub overdue: bool,
    pub rework_count: i64,
    pub supervised: bool,
    pub extension_requested_until: Option<String>,
    pub merged_into: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
    /// Open cases nearby in the same category (on intake only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub possible_duplicates: Vec<DuplicateRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelineEvent>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub summons: Vec<SummonTask>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<gongzhi_core::attachments::AttachmentRef>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateRef {
    pub id: String,
    pub number: String,
    pub distance_m: f64,
}

/// How a caller may read a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Staff within scope, or a handler of its unit or a summoned unit: the whole case.
    Staff,
    /// The resident who reported it: the public timeline (see [`as_reporter_sees`]).
    Reporter,
}

/// What an action carries; each action reads the fields it needs. A field no action knows is
/// refused: a misspelt `reason` must not pass as an action without one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    pub note: Option<String>,
    pub reason: Option<String>,
    /// dispatch: the unit (default: the routed one); report_in: the summoned unit.
    pub unit: Option<String>,
    /// summon: the units called (吹哨报到).
    #[serde(default)]
    pub units: Vec<String>,
    pub report_within_minutes: Option<u32>,
    /// verify
    pub passed: Option<bool>,
    /// call_back
    pub contacted: Option<bool>,
    pub resolved: Option<bool>,
    /// call_back: satisfied, basically_satisfied or dissatisfied.
    pub satisfaction: Option<String>,
    /// extend: RFC 3339.
    pub until: Option<String>,
    /// merge: the primary case (id or number).
    pub into: Option<String>,
    /// Ids of uploaded photos to attach at this step (report_back, verify, …).
    #[serde(default)]
    pub photos: Vec<String>,
}

/// Filters for `GET /api/v1/cases`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseFilter {
    pub status: Option<String>,
    /// Area code: cases in its subtree.
    pub area: Option<String>,
    pub unit: Option<String>,
    /// Category code: the category and its sub-categories.
    pub category: Option<String>,
    pub kind: Option<String>,
    pub channel: Option<String>,
    /// Created from (RFC 3339 or YYYY-MM-DD).
    pub from: Option<String>,
    /// Created before (RFC 3339 or YYYY-MM-DD).
    pub to: Option<String>,
    pub overdue: Option<bool>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
    /// Keyset paging: the `next` of the previous page; the list goes on after that case
    /// (`page` is then only a label). Reaches every case, past the counted cap.
    pub after: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseView>,
    pub page: u32,
    pub page_size: u32,
    /// Cases that match, counted up to the cap ([`LIST_COUNT_CAP`] in the API).
    pub total: i64,
    /// More than `total` cases match: counting stopped at the cap.
    pub total_capped: bool,
    /// When the page is full: pass as `after` for the page after it (None on the last page).
    pub next: Option<String>,
}

/// Lists count at most this many matches: an exact count of millions of rows on every page
/// would cost more than the page itself. Narrow the filter to count further.
pub const LIST_COUNT_CAP: i64 = 1_000;
