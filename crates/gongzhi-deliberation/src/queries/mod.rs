//! Deliberation's reads: what the API and the pages show, shaped for the caller (hidden
//! content for moderators only, names masked, results only once they may be seen).

pub mod budgets;
pub mod consultations;
pub mod moderation;
pub mod panels;
pub mod residents;
pub mod topics;
