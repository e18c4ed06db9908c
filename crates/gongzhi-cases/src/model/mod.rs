//! Cases' types, parsed at the edge: a case and its views, the catalog, publications, figures.

pub mod case;
pub mod catalog;
pub mod overview;
pub mod publicity;
pub mod published;

pub use case::*;
