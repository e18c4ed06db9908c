//! The one integration-test binary: the real server on 127.0.0.1:0 and the real CLI, on SQLite
//! and on PostgreSQL. `both!(name)` runs `async fn name(Backend)` once per backend.
//!
//! One folder per part of the product (`platform` is the core, the page shell and the binary);
//! each holds its flows and its part of the standing attack suite (issue 13: every hole a tester
//! found, reproduced against the real server, and the route matrix of roles × scopes × `{id}`
//! routes in `platform/route_matrix.rs`). Each security test would fail if its hole came back.

mod helpers;

mod cases;
mod deliberation;
mod open311;
mod platform;
