//! What is read of cases, each within the caller's scope (the one permission check).

pub mod case;
pub mod catalog;
pub mod overview;
pub mod publicity;
pub mod published;
pub mod stats;
