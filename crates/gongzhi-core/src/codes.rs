//! Codes parsed at the edge (GB/T 2260-style area codes, 15-digit unit-grid codes, unit codes):
//! once a value is an `AreaCode`, a `GridCode` or a `UnitCode` it is well-formed, so the code
//! behind the boundary never checks again. They serialize as plain strings.

use serde::{Deserialize, Serialize};

use crate::areas::{check_code, Level};
use crate::Error;

/// A district, street, community or grid code: 6, 9, 12 or 15 digits, each level's own three
/// digits never `000`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AreaCode(String);

/// A unit-grid code (单元网格编码): its community's 12 digits and a 3-digit sequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GridCode(String);

/// A handling unit's code: 2–40 letters, digits, `-`, `_` or `.` (e.g. `110101001-jd`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl AreaCode {
    pub fn parse(s: &str) -> crate::Result<AreaCode> {
        let level = Level::of_code(s).ok_or_else(|| {
            Error::invalid(
                "invalid_area_code",
                format!("{s:?} is not an area code: 6, 9, 12 or 15 digits"),
            )
        })?;
        check_code(s, level).map_err(|m| Error::invalid("invalid_area_code", m))?;
        if let Some(parent) = crate::areas::parent_code_of(s) {
            // Each level's own digits are checked above; the levels above it as well.
            AreaCode::parse(parent)?;
        }
        Ok(AreaCode(s.to_string()))
    }
    pub fn level(&self) -> Level {
        Level::of_code(&self.0).expect("an area code has a level")
    }
    /// The area above, or None for a district.
    pub fn parent(&self) -> Option<AreaCode> {
        crate::areas::parent_code_of(&self.0).map(|p| AreaCode(p.to_string()))
    }
    /// Is `other` this area or below it (codes are hierarchical)?
    pub fn covers(&self, other: &AreaCode) -> bool {
        other.0.starts_with(&self.0)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl GridCode {
    pub fn parse(s: &str) -> crate::Result<GridCode> {
        let code = AreaCode::parse(s).map_err(|_| {
            Error::invalid("invalid_grid_code", format!("{s:?} is not a grid code"))
        })?;
        if code.level() != Level::Grid {
            return Err(Error::invalid(
                "invalid_grid_code",
                format!("a grid code has 15 digits, {s:?} has {}", s.len()),
            ));
        }
        Ok(GridCode(code.0))
    }
    /// The community the grid lies in.
    pub fn community(&self) -> AreaCode {
        AreaCode(self.0[..12].to_string())
    }
    pub fn as_area(&self) -> AreaCode {
        AreaCode(self.0.clone())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl UnitCode {
    pub fn parse(s: &str) -> crate::Result<UnitCode> {
        let ok = (2..=40).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
        if !ok {
            return Err(Error::invalid(
                "invalid_unit_code",
                "a unit code is 2–40 letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(UnitCode(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_code {
    ($t:ident, $pattern:literal, $example:literal, $about:literal) => {
        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> crate::Result<$t> {
                $t::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(c: $t) -> String {
                c.0
            }
        }
        impl std::str::FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> crate::Result<$t> {
                $t::parse(s)
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some($pattern))
                    .examples([$example])
                    .description(Some($about))
                    .into()
            }
        }
        impl utoipa::ToSchema for $t {}
    };
}

string_code!(
    AreaCode,
    "^[0-9]{6}([0-9]{3}){0,3}$",
    "110101001001",
    "GB/T 2260-style area code: district 6, street 9, community 12, grid 15 digits"
);
string_code!(
    GridCode,
    "^[0-9]{15}$",
    "110101001001001",
    "unit-grid code: the community's 12 digits and a 3-digit sequence"
);
string_code!(
    UnitCode,
    "^[A-Za-z0-9._-]{2,40}$",
    "110101001-jd",
    "a handling unit's code"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_grid_code_cannot_hold_14_digits() {
        assert!(GridCode::parse("11010100100100").is_err());
        assert!(GridCode::parse("110101001001001").is_ok());
        assert!(GridCode::parse("110101001001000").is_err());
        assert!(
            GridCode::parse("110101000001001").is_err(),
            "its street's digits are 000"
        );
        assert!(
            GridCode::parse("110101001001").is_err(),
            "a community is not a grid"
        );
        assert_eq!(
            serde_json::from_str::<GridCode>("\"1101010010010011\"").is_err(),
            true
        );
    }

    proptest! {
        #[test]
        fn area_codes_round_trip_and_nest(
            code in "[1-9][0-9]{5}([0-9]{2}[1-9]){0,3}",
        ) {
            let a = AreaCode::parse(&code).unwrap();
            let json = serde_json::to_string(&a).unwrap();
            prop_assert_eq!(serde_json::from_str::<AreaCode>(&json).unwrap(), a.clone());
            if let Some(p) = a.parent() {
                prop_assert!(p.covers(&a));
                prop_assert!(!a.covers(&p));
                prop_assert_eq!(p.level().code_len() + 3, a.level().code_len());
            }
            prop_assert_eq!(GridCode::parse(&code).is_ok(), code.len() == 15);
        }

        #[test]
        fn anything_else_is_refused(s in "\\PC{0,20}") {
            let digits = s.bytes().all(|b| b.is_ascii_digit());
            if !digits || ![6, 9, 12, 15].contains(&s.len()) {
                prop_assert!(AreaCode::parse(&s).is_err());
                prop_assert!(GridCode::parse(&s).is_err());
            }
        }

        #[test]
        fn unit_codes(s in "[A-Za-z0-9._-]{2,40}", bad in "[^A-Za-z0-9._-]") {
            prop_assert!(UnitCode::parse(&s).is_ok());
            let with_bad = format!("{s}{bad}");
            prop_assert!(UnitCode::parse(&with_bad).is_err());
        }
    }
}
