//! The gongzhi binary as a library: the CLI and the server that wires the modules together.
//! `main.rs` only calls [`cli::run`]; the benchmarks are `crates/gongzhi-bench`.

pub mod cli;
pub mod server;
