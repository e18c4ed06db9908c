//! Open311's types, parsed at the edge: what a client sends (`form`), a service's attribute
//! definition (`attributes`), and the records the store reads (`records`). No I/O here.

pub mod attributes;
pub mod form;
pub mod records;
