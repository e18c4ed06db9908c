//! The one integration-test binary: the real server on 127.0.0.1:0 and the real CLI, on SQLite
//! and on PostgreSQL. `both!(name)` runs `async fn name(Backend)` once per backend.

mod helpers;

mod api;
mod areas;
mod audit;
mod cases;
mod cli;
mod deliberation;
mod demo;
mod fuzz;
mod identity;
mod jobs;
mod layout;
mod mail;
mod open311;
mod security;
mod stats;
mod web;
