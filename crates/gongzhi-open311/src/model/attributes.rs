//! A category's custom attributes (what a client must or may say beyond the description: the
//! kind of lamp, whether someone is hurt, …), which become its Open311 service definition.
//! Administrators set them with `PUT /api/v1/open311/services/{code}/attributes`; the rules
//! that check a definition and a request's values are in `rules::attributes`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attribute {
    pub code: String,
    /// string, number, datetime, text, singlevaluelist or multivaluelist.
    pub datatype: String,
    pub required: bool,
    pub description: String,
    #[serde(default)]
    pub datatype_description: String,
    pub order: i64,
    /// For the list types: (key, name) pairs.
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

/// The datatypes GeoReport v2 defines for an attribute.
pub const DATATYPES: [&str; 6] = [
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
];

/// A request's checked attribute values: (code, values) for each attribute given.
pub type GivenValues = Vec<(String, Vec<String>)>;
