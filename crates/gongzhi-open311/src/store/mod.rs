//! Open311's storage: the only place with SQL in this module, one file per part, both backends
//! (portable SQL through sqlx's Any driver), and the migrations that own its tables. Reads take
//! the pool; writes take the caller's transaction, so a command's rows and its audit entry
//! commit together. Requests are cases: they are read here through the cases module's public
//! view of what is published (`publicity::PUBLIC_CASE_IDS`) and written only through its intake.

pub mod attributes;
pub mod jurisdictions;
pub mod keys;
pub mod migrations;
pub mod requests;
pub mod updates;

/// Public categories as an SQL `IN` list (codes are the catalog's; quotes are dropped).
fn in_list(codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| format!("'{}'", c.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(", ")
}
