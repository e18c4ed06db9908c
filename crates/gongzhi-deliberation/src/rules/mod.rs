//! Deliberation's pure rules: plain functions over plain data, no I/O, tested with many cases —
//! the topic loop and its votes, who belongs where, a call's phases and ballots, consultations,
//! the winners of a call (greedy and the Method of Equal Shares), the Pabulib export, sortition.

pub mod calls;
pub mod pabulib;
pub mod pb;
pub mod places;
pub mod questions;
pub mod sortition;
pub mod topic_loop;

// The paths other crates use (`rules::TopicStep` …), kept while they move (issue 14).
pub use crate::model::input::normalize_place;
pub use crate::model::topics::{
    Taker, Tally, TopicStatus, TopicStep, VoteRules, ALL_STATUSES, ALL_STEPS,
};
pub use places::eligible;
pub use topic_loop::{next, tally};
