//! gongzhi core: what every part of the product stands on — configuration, storage on SQLite and
//! PostgreSQL, the audit chain, personal-data protection, identity and permissions, areas with the
//! in-memory locate index, the platform services (working calendar, job runner, notifications)
//! and the HTTP plumbing that modules register their routes with.

pub mod app;
pub mod areas;
pub mod attachments;
pub mod audit;
pub mod backup;
pub mod cache;
pub mod calendar;
pub mod closed_set;
pub mod codes;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod http;
pub mod identity;
pub mod jobs;
pub mod module;
pub mod names;
pub mod notify;
pub mod privacy;
pub mod ratelimit;
pub mod services;
pub mod state;
pub mod time;
pub mod timeline;

pub use error::{Error, Result};
