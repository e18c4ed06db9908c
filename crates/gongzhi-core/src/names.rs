//! Display names (areas, units, categories, people): the one check every import and form runs
//! before a name is stored, so what pages and maps show is a line of plain text.

use crate::{Error, Result};

/// The longest display name, in characters (Chinese area and unit names are far shorter).
pub const MAX_NAME_CHARS: usize = 100;

/// Why `name` cannot be a display name, if it cannot: blank, too long, or holding control
/// characters, line breaks or bidirectional overrides (which can make a name read as another).
pub fn problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("the name is empty".into());
    }
    let n = name.chars().count();
    if n > MAX_NAME_CHARS {
        return Some(format!(
            "the name has {n} characters; at most {MAX_NAME_CHARS}"
        ));
    }
    name.chars()
        .find(|&c| {
            c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
                )
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .map(|c| format!("the name holds the control character U+{:04X}", c as u32))
}

/// `name` as a display name of `what` (`"unit"`, `"category"`…), or `invalid_name`.
pub fn check(what: &str, name: &str) -> Result<()> {
    match problem(name) {
        None => Ok(()),
        Some(p) => Err(Error::invalid_with(
            "invalid_name",
            format!("{what}: {p}"),
            serde_json::json!({"field": "name"}),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "东华门街道",
            "G1 <img src=x onerror=\"alert(1)\">",
            "O'Brien & Co",
            "a",
        ] {
            assert_eq!(problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "  ",
            "G1\tx",
            "G1\nx",
            "G1\u{0}x",
            "G1\u{7f}x",
            "G1\u{85}x",
            "G1\u{2028}x",
            "abc\u{202e}gpj.exe",
            "a\u{2067}b",
        ] {
            assert!(problem(bad).is_some(), "{bad:?}");
        }
        assert!(problem(&"长".repeat(MAX_NAME_CHARS)).is_none());
        assert!(problem(&"长".repeat(MAX_NAME_CHARS + 1)).is_some());
        let e = check("unit", "a\nb").unwrap_err();
        assert!(matches!(
            e,
            Error::Invalid {
                code: "invalid_name",
                ..
            }
        ));
    }
}
