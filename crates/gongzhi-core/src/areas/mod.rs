//! Areas and grids (网格): the district → street → community → grid hierarchy with GB/T 2260
//! codes, polygon validation, all-or-nothing imports, and the in-memory locate index.

mod api;
pub mod demo;
pub mod geometry;
mod import;
pub mod locate;
mod store;

pub use api::api;
pub use import::{
    import_divisions, import_geojson, parse_divisions, parse_geojson, ImportReport, ParsedAreas,
    Problem,
};
pub use store::*;

use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    District,
    Street,
    Community,
    Grid,
}

pub const ALL_LEVELS: [Level; 4] = [
    Level::District,
    Level::Street,
    Level::Community,
    Level::Grid,
];

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::District => "district",
            Level::Street => "street",
            Level::Community => "community",
            Level::Grid => "grid",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        ALL_LEVELS.into_iter().find(|l| l.as_str() == s)
    }
    /// Digits in a code of this level: 6, 9, 12, 15.
    pub fn code_len(self) -> usize {
        match self {
            Level::District => 6,
            Level::Street => 9,
            Level::Community => 12,
            Level::Grid => 15,
        }
    }
    pub fn of_code(code: &str) -> Option<Level> {
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        ALL_LEVELS.into_iter().find(|l| l.code_len() == code.len())
    }
    pub fn parent(self) -> Option<Level> {
        match self {
            Level::District => None,
            Level::Street => Some(Level::District),
            Level::Community => Some(Level::Street),
            Level::Grid => Some(Level::Community),
        }
    }
}

/// The parent's code is the child's code without its last three digits (district: none).
pub fn parent_code_of(code: &str) -> Option<&str> {
    match Level::of_code(code)? {
        Level::District => None,
        _ => Some(&code[..code.len() - 3]),
    }
}

/// Checks that `code` is a valid code for `level`, explaining what is wrong if not.
pub fn check_code(code: &str, level: Level) -> Result<(), String> {
    if !code.bytes().all(|b| b.is_ascii_digit()) || code.is_empty() {
        return Err(format!("code {code:?} must be digits only"));
    }
    if code.len() != level.code_len() {
        return Err(format!(
            "a {} code has {} digits, {code} has {}",
            level.as_str(),
            level.code_len(),
            code.len()
        ));
    }
    if code[code.len() - 3..] == *"000" && level != Level::District {
        return Err(format!(
            "code {code}: the last three digits of a {} cannot be 000",
            level.as_str()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn levels_and_parents() {
        assert_eq!(Level::of_code("110101"), Some(Level::District));
        assert_eq!(Level::of_code("110101001001001"), Some(Level::Grid));
        assert_eq!(Level::of_code("11010100100100"), None);
        assert_eq!(Level::of_code("11010a"), None);
        assert_eq!(parent_code_of("110101001001001"), Some("110101001001"));
        assert_eq!(parent_code_of("110101001"), Some("110101"));
        assert_eq!(parent_code_of("110101"), None);
        assert!(check_code("110101001001001", Level::Grid).is_ok());
        assert!(check_code("11010100100100", Level::Grid).is_err());
        assert!(check_code("110101001001000", Level::Grid).is_err());
    }

    proptest! {
        #[test]
        fn a_child_code_starts_with_its_parent(code in "[0-9]{6}([0-9]{3}){0,3}") {
            if let Some(p) = parent_code_of(&code) {
                prop_assert!(code.starts_with(p));
                prop_assert_eq!(Level::of_code(p), Level::of_code(&code).unwrap().parent());
            }
        }
    }
}
