//! 议事协商: topics, votes, budgets, consultations, panels, and the attack suite's holes.

mod flow;
mod security;
