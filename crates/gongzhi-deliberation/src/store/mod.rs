//! Deliberation's storage: the only place with SQL in this module, one file per part, both
//! backends (portable SQL through `gongzhi_core::db`), and the migrations that own the tables.
//! Reads take the pool; writes take the caller's transaction, so a command's rows and its
//! audit entry commit together.

pub mod ballot_box;
pub mod budgets;
pub mod consultations;
pub mod migrations;
pub mod moderation;
pub mod panels;
pub mod residents;
pub mod settings;
pub mod topics;
