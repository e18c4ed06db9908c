//! 诉求/案件: the loop from intake to callback, the rankings, and the attack suite's cases holes.
//! `flow`'s fixtures (a desk of staff, a case in a street) are shared by the other folders.

mod flow;
mod intake;
mod security;
mod stats;

pub use flow::{desk_on, new_case, Desk, IN_STREET_1, IN_STREET_2};
