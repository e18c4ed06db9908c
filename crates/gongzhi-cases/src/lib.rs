//! Cases (诉求/案件): one door for every request — hotline, web, patrol, Open311, API, import —
//! and the closed loop from intake to callback on working-time deadlines (DESIGN.md §3.3).

pub mod calendar;
pub mod workflow;
