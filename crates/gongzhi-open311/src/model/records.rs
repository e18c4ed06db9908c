//! What the store reads, as plain data: a request before publicity decides what of it is shown,
//! a step of a request's timeline, an API key.

/// A case as Open311 reads it; `media_url` is the Open311 client's own.
#[derive(Debug, Clone)]
pub struct RequestRecord {
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

/// One step of a case's timeline.
#[derive(Debug, Clone)]
pub struct StepRecord {
    pub id: String,
    pub step: String,
    pub at: i64,
    pub note: Option<String>,
}

/// A step with the request it belongs to (the updates feed).
#[derive(Debug, Clone)]
pub struct UpdateRecord {
    pub step: StepRecord,
    pub number: String,
}

/// An Open311 client's key, as listed: (id, name, created, revoked).
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// An outside system's update on a request, as stored.
#[derive(Debug, Clone)]
pub struct NewUpdate<'a> {
    pub update_id: &'a str,
    pub case_id: &'a str,
    pub status: &'a str,
    pub description: &'a str,
    pub media_url: Option<&'a str>,
    pub updated_at: i64,
    pub client: &'a str,
}
