//! What of a case the public sees, as decided (`Publication`) and as asked for on review.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What staff decided (or the reporter chose) about one case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Publication {
    pub public: bool,
    /// `reporter`, `open311` or `staff`; none when nobody ever published the case.
    pub chosen_by: Option<String>,
    /// Shown instead of the description (staff's redaction); none shows the description.
    pub public_description: Option<String>,
    /// Staff approved showing the address text.
    pub address_public: bool,
    /// Photos approved to be public, one by one.
    pub photos_public: Vec<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// A case as stored, the parts publicity is about.
pub struct Original<'a> {
    pub description: &'a str,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<&'a str>,
    /// Ids of the case's photos.
    pub photos: &'a [String],
}

/// What the public sees of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub address: Option<String>,
    pub photos: Vec<String>,
}

/// What staff decide on review; the whole state, replacing the last decision.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicationInput {
    pub public: bool,
    /// The text the public sees instead of the description (1–4000 characters); none or the
    /// description itself shows the description. The description is never changed.
    pub public_description: Option<String>,
    /// Show the address text (off: only the rounded location).
    #[serde(default)]
    pub address_public: bool,
    /// Ids of the case's photos approved to be public; the others are not.
    #[serde(default)]
    pub photos_public: Vec<String>,
}
