//! Closed sets of values (a ballot kind, a status, a stance): enums that are parsed at the edge
//! and stored as their text, so a database keeps the strings it always had.
//!
//! ```
//! gongzhi_core::closed_set! {
//!     /// How a micro-project ballot is filled in.
//!     pub enum BallotKind {
//!         /// Up to N projects.
//!         Approval = "approval",
//!         Knapsack = "knapsack",
//!     }
//! }
//! assert_eq!(BallotKind::parse("knapsack"), Some(BallotKind::Knapsack));
//! assert_eq!(BallotKind::Approval.as_str(), "approval");
//! ```
//!
//! In JSON the enum (de)serializes as its text, and an unknown text is answered 422
//! `unknown_value` by the API's extractors; `from_input` gives the same answer for a value
//! read from a form or a path, `from_stored` an internal error for one read from storage.

/// Declares a closed set: the enum with serde and OpenAPI derives, `ALL`, `as_str`, `parse`,
/// `from_input`, `from_stored` and `Display`. Each variant names its text.
#[macro_export]
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text it is sent and stored as.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// A value a user gave outside JSON (a form field, a path): unknown → 422
            /// `unknown_value` naming `field` and the values it takes.
            pub fn from_input(field: &str, s: &str) -> $crate::Result<$name> {
                $name::parse(s).ok_or_else(|| {
                    $crate::Error::unknown_value(field, s, &[$($text),+])
                })
            }

            /// A value read back from storage: an unknown one is our fault, not the caller's.
            pub fn from_stored(s: &str) -> $crate::Result<$name> {
                $name::parse(s).ok_or_else(|| {
                    $crate::Error::internal(format!(
                        "stored {} {s:?} is not one of {}",
                        stringify!($name),
                        [$($text),+].join(", ")
                    ))
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::closed_set! {
        /// A test set.
        pub enum Colour {
            /// The first.
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn text_serde_and_parse_agree() {
        for c in Colour::ALL {
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json, c.as_str());
            assert_eq!(serde_json::from_value::<Colour>(json).unwrap(), *c);
            assert_eq!(Colour::parse(c.as_str()), Some(*c));
            assert_eq!(c.to_string(), c.as_str());
        }
        let e = Colour::from_input("colour", "green").unwrap_err();
        assert_eq!((e.code(), e.status()), ("unknown_value", 422));
        assert!(e.to_string().contains("red, dark_blue"), "{e}");
        assert_eq!(Colour::from_stored("green").unwrap_err().code(), "internal");
        let err = serde_json::from_str::<Colour>("\"green\"").unwrap_err();
        assert!(err.to_string().starts_with("unknown variant"), "{err}");
    }
}
