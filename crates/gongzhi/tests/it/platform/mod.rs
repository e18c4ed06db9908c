//! The core (areas, identity, audit, jobs, mail), the page shell and the binary.

mod api;
pub mod areas;
mod audit;
mod backup;
mod cli;
mod demo;
mod fuzz;
mod identity;
pub mod jobs;
mod layout;
pub mod mail;
mod route_matrix;
mod security;
mod security_pages;
mod servers;
pub mod web;
