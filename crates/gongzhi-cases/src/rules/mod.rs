//! Cases' pure rules: plain functions over plain data, no I/O.

pub mod deadlines;
pub mod history;
pub mod nearby;
pub mod publicity;
pub mod routing;
pub mod stats;
pub mod workflow;
