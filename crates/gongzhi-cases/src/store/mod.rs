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

use gongzhi_core::db::Db;
use gongzhi_core::db::{query, Query};

/// A column's new value, bound in order: an integer or a text (either may be NULL).
pub enum SetValue {
    Int(Option<i64>),
    Text(Option<String>),
}

pub fn bind_all<'q>(
    sql: &'q str,
    args: &'q [SetValue],
) -> Query<'q> {
    let mut q = query(sql);
    for v in args {
        q = match v {
            SetValue::Int(i) => q.bind(*i),
            SetValue::Text(t) => q.bind(t.clone()),
        };
    }
    q
}

/// How many times this process changed cases: caches of figures compare it to know they may be
/// stale (changes by other processes reach them through their time limit).
#[derive(Default)]
struct Changes(std::sync::atomic::AtomicU64);

pub fn changed(db: &Db) {
    db.extension(Changes::default)
        .0
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

pub fn generation(db: &Db) -> u64 {
    db.extension(Changes::default)
        .0
        .load(std::sync::atomic::Ordering::Relaxed)
}
pub mod migrations;
