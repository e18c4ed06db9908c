//! Verified residents' types: verifications, one-time codes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

gongzhi_core::closed_set! {
    /// How a resident was verified.
    pub enum VerificationMethod {
        /// Checked by staff against the registry.
        Registry = "registry",
        /// A one-time code handed out in person.
        Code = "code",
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyInput {
    /// The resident's user name.
    pub username: String,
    /// Community (or grid) code.
    pub area: String,
    /// `小区/楼栋` inside the area; empty for the whole community.
    #[serde(default)]
    pub place: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    pub id: String,
    pub user_id: String,
    /// Masked (张*明).
    pub resident: String,
    pub area: String,
    pub place: String,
    pub method: VerificationMethod,
    pub verified_at: String,
    pub revoked_at: Option<String>,
    pub revoke_reason: Option<String>,
}

/// A resident's current verification as the eligibility checks read it.
#[derive(Debug, Clone)]
pub struct Standing {
    pub area: String,
    pub place: String,
    pub verified_at: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonInput {
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodesInput {
    pub area: String,
    #[serde(default)]
    pub place: String,
    /// How many codes (1–500).
    pub count: u32,
    /// Valid for this many days (default 30).
    pub valid_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCodes {
    /// Shown once; only their hashes are stored.
    pub codes: Vec<String>,
    pub expires_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RedeemInput {
    pub code: String,
}
