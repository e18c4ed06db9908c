//! Cases' storage: the only place with SQL in this module, one file per part, both backends
//! (portable SQL through `gongzhi_core::db`), and the migrations that own the tables. Reads take
//! the pool; writes take the caller's transaction, so a command's rows, its timeline step and
//! its audit entry commit together.

pub mod bulk;
pub mod cases;
pub mod catalog;
pub mod history;
pub mod intake;
pub mod list;
pub mod overview;

pub mod publicity;
pub mod published;
pub mod reference;

pub mod stats;
pub mod steps;

use gongzhi_core::db::{query, Query, WriteTx};
use gongzhi_core::Result;

/// A column's new value, bound in order: an integer or a text (either may be NULL).
pub enum SetValue {
    Int(Option<i64>),
    Text(Option<String>),
}

pub fn bind_all<'q>(sql: &'q str, args: &'q [SetValue]) -> Query<'q> {
    let mut q = query(sql);
    for v in args {
        q = match v {
            SetValue::Int(i) => q.bind(*i),
            SetValue::Text(t) => q.bind(t.clone()),
        };
    }
    q
}

/// The version counter of the cases: the dashboard's cached figures follow it.
pub const CASES_VERSION: &str = "cases";

/// Moves [`CASES_VERSION`] inside a write that creates or changes cases.
pub async fn cases_moved(tx: &mut WriteTx) -> Result<()> {
    tx.bump_version(CASES_VERSION).await.map(|_| ())
}
pub mod migrations;
