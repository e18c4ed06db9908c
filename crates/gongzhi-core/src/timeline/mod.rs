//! The one timeline (history) writer: every module shows the steps a record went through (a
//! case, a topic, a panel) from a timeline table of its own, written and read here. The step is
//! written in the caller's transaction, beside the audit entry the caller appends for the change.

mod store;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::{Db, WriteTx};
use crate::Result;

/// A module's timeline table: its name and the column naming the record a step belongs to.
/// Both are fixed names in the module's code, never input.
pub struct Timeline {
    pub table: &'static str,
    pub subject_column: &'static str,
}

/// One step in a record's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub at: String,
    pub actor: String,
    pub step: String,
    pub note: Option<String>,
    #[schema(value_type = Object)]
    pub data: Value,
}

/// Writes one step of `subject`'s history, taken by `who` (how the history names the actor).
#[allow(clippy::too_many_arguments)]
pub async fn record(
    tx: &mut WriteTx,
    timeline: &Timeline,
    subject: &str,
    at: i64,
    who: &str,
    step: &str,
    note: Option<&str>,
    data: &Value,
) -> Result<()> {
    store::insert(tx, timeline, subject, at, who, step, note, data).await
}

/// One step to write with [`record_many`].
pub struct Step<'a> {
    pub subject: &'a str,
    pub at: i64,
    pub who: &'a str,
    pub step: &'a str,
    pub note: Option<&'a str>,
    pub data: Value,
}

/// Writes many steps at once (a batch of new records, an import), in as few statements as the
/// backends allow.
pub async fn record_many(tx: &mut WriteTx, timeline: &Timeline, steps: &[Step<'_>]) -> Result<()> {
    store::insert_many(tx, timeline, steps).await
}

/// `subject`'s history, oldest first.
pub async fn read(db: &Db, timeline: &Timeline, subject: &str) -> Result<Vec<Event>> {
    store::of(db, timeline, subject).await
}
