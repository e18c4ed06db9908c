//! Deliberation's types, parsed at the edge: the closed sets (enums stored as the text they
//! always were), what the API takes and what it answers, one file per part. No I/O here.

pub mod budgets;
pub mod consultations;
pub mod input;
pub mod moderation;
pub mod panels;
pub mod residents;
pub mod topics;

pub use budgets::Completion;

/// One step in the history of a topic, call, consultation or panel (the core's timeline).
pub use gongzhi_core::timeline::Event;
