//! The gongzhi binary as a library: the CLI, the server that wires the modules together, the
//! demo jurisdiction and the benchmarks. `main.rs` only calls [`cli::run`].

pub mod bench;
pub mod bench_votes;
pub mod cli;
pub mod demo;
pub mod demo_deliberation;
pub mod server;
