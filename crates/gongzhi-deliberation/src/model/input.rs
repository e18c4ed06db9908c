//! Checks of free input shared by every part: texts, times, places. A refusal names the field
//! in `details.field`, under one stable code per kind of mistake.

use serde_json::json;

use gongzhi_core::{Error, Result};

/// A required text of at most `max` characters, trimmed.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    let bad = |m: String| Error::invalid_with("invalid_text", m, json!({"field": field}));
    if v.is_empty() {
        return Err(bad(format!("{field} must not be empty")));
    }
    if v.chars().count() > max {
        return Err(bad(format!("{field} is longer than {max} characters")));
    }
    Ok(v.to_string())
}

/// An RFC 3339 time, in milliseconds.
pub fn time(field: &'static str, value: &str) -> Result<i64> {
    gongzhi_core::time::parse_rfc3339(value).ok_or_else(|| {
        Error::invalid_with(
            "invalid_time",
            format!("{field} {value:?} is not an RFC 3339 time (e.g. 2026-12-01T09:00:00+08:00)"),
            json!({"field": field}),
        )
    })
}

/// A field a step needs, trimmed and not empty.
pub fn required<'a>(value: &'a Option<String>, field: &'static str, what: &str) -> Result<&'a str> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::invalid_with(
                "missing_field",
                format!("{what} needs {field}"),
                json!({"field": field}),
            )
        })
}

/// A place path as given (`小区/楼栋`), normalised.
pub fn place(value: &str) -> Result<String> {
    normalize_place(value).map_err(|m| Error::invalid("invalid_place", m))
}

/// A place path: trimmed segments joined by `/`, empty segments refused.
pub fn normalize_place(place: &str) -> Result<String, String> {
    let place = place.trim();
    if place.is_empty() {
        return Ok(String::new());
    }
    let parts: Vec<&str> = place.split('/').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 || place.chars().count() > 100 {
        return Err(format!(
            "place {place:?} must be up to three non-empty names separated by '/' (小区/楼栋/单元)"
        ));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_field() {
        let e = text("title", "  ", 10).unwrap_err();
        assert_eq!(e.code(), "invalid_text");
        assert!(matches!(e, Error::Invalid { details: Some(d), .. } if d["field"] == "title"));
        assert_eq!(text("title", " 停车 ", 10).unwrap(), "停车");
        assert!(text("title", "一二三", 2).is_err());
        assert_eq!(
            time("starts_at", "soon").unwrap_err().code(),
            "invalid_time"
        );
        assert_eq!(
            required(&None, "reason", "decline").unwrap_err().code(),
            "missing_field"
        );
        assert_eq!(
            normalize_place(" 和平小区 / 3号楼 ").unwrap(),
            "和平小区/3号楼"
        );
        assert!(normalize_place("a//b").is_err());
        assert_eq!(place("a/b/c/d").unwrap_err().code(), "invalid_place");
    }
}
