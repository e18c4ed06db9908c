//! Open311's storage: the only place with SQL in this module, one file per part, both backends
//! (portable SQL through `gongzhi_core::db`), and the migrations that own its tables. Reads take
//! the pool; writes take the caller's transaction, so a command's rows and its audit entry
//! commit together. Requests are cases: read through the cases module's public functions
//! (`gongzhi_cases::queries::published`), written only through its intake; this store keeps to
//! Open311's own tables.

pub mod attributes;
pub mod jurisdictions;
pub mod keys;
pub mod migrations;
pub mod updates;
