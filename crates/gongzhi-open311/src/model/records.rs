//! What the store reads and writes, as plain data: an API key, an outside system's update.
//! Requests and their timelines are the cases module's (`gongzhi_cases::model::published`).

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
