//! How the cases module's words read in GeoReport v2: which categories are services, a case's
//! status and a timeline step as `open` or `closed`, and the hash an API key is kept as.

use sha2::{Digest, Sha256};

use gongzhi_cases::model::catalog::Category;
use gongzhi_cases::rules::workflow::Status;

/// Only public sub-categories are services (a top category is a service's group).
pub fn is_service(c: &Category) -> bool {
    c.public && c.parent_code.is_some()
}

/// A case's status as GeoReport's: `open` while the loop runs, else `closed` (unknown too).
pub fn status_of(s: &str) -> &'static str {
    match Status::parse(s) {
        Some(st) if st.is_open() => "open",
        _ => "closed",
    }
}

/// Does a step of the timeline leave the request closed?
pub fn step_closes(step: &str) -> bool {
    matches!(step, "close" | "call_back" | "cancel" | "merge")
}

/// The case extra that holds the token a client was given for its request.
pub const TOKEN_EXTRA: &str = "open311_token";

/// An API key is kept only as this hash.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(format!("open311:{key}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn an_unknown_status_reads_as_closed(s in "[a-z_]{0,16}") {
            prop_assume!(Status::parse(&s).is_none());
            prop_assert_eq!(status_of(&s), "closed");
        }

        #[test]
        fn keys_are_kept_as_distinct_hashes(a in "[0-9a-f]{8,48}", b in "[0-9a-f]{8,48}") {
            prop_assert_eq!(key_hash(&a).len(), 64);
            prop_assert_eq!(key_hash(&a) == key_hash(&b), a == b);
        }
    }
}
