//! Deliberation's types, parsed at the edge: the closed sets (enums stored as the text they
//! always were), what the API takes and what it answers, one file per part. No I/O here.

pub mod budgets;
pub mod consultations;
pub mod input;
pub mod moderation;
pub mod panels;
pub mod residents;
pub mod topics;

/// One step in the history of a topic, call, consultation or panel (the timeline's).
pub use crate::common::Event;
pub use budgets::Completion;
