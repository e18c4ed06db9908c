//! Deliberation (议事协商, 民生微实事): the rules that decide, as plain functions — the winners of a
//! participatory micro-project call by greedy approval or the Method of Equal Shares, the call in
//! the Pabulib format so anyone can recompute them, and a sortition anyone can re-run from its
//! published data. Storage, the topic loop and pages build on these.

pub mod pabulib;
pub mod pb;
pub mod sortition;
