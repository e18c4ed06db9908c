//! Open311's pure rules: plain functions over plain data, no I/O — a service's attributes and
//! the values a request gives, which categories are services and how a case's status and steps
//! read as GeoReport's open or closed, and how a key is kept.

pub mod attributes;
pub mod requests;
