//! Paging parameters, checked the same way on every list: out of range is a 400, not a silent
//! clamp (a client asking for page 0 or a negative limit has a bug it should hear about).

use crate::{Error, Result};

/// A count such as `limit` or `page_size`: `default` when absent, refused outside `1..=max`.
pub fn count(name: &str, v: Option<i64>, default: i64, max: i64) -> Result<i64> {
    match v {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(Error::invalid(
            "invalid_paging",
            format!("{name} is 1–{max}, not {n}"),
        )),
    }
}

/// A page number: 1 when absent, refused below 1 or above `max`.
pub fn page(v: Option<i64>, max: i64) -> Result<i64> {
    count("page", v, 1, max)
}

/// A position such as `after` (a sequence number): 0 when absent, refused below 0.
pub fn position(name: &str, v: Option<i64>) -> Result<i64> {
    match v {
        None => Ok(0),
        Some(n) if n >= 0 => Ok(n),
        Some(n) => Err(Error::invalid(
            "invalid_paging",
            format!("{name} is 0 or more, not {n}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_is_refused_not_clamped() {
        assert_eq!(count("limit", None, 100, 1000).unwrap(), 100);
        assert_eq!(count("limit", Some(1000), 100, 1000).unwrap(), 1000);
        for bad in [0, -1, 1001, i64::MIN] {
            assert!(count("limit", Some(bad), 100, 1000).is_err(), "{bad}");
        }
        assert!(page(Some(0), 10).is_err());
        assert_eq!(position("after", Some(0)).unwrap(), 0);
        assert!(position("after", Some(-5)).is_err());
    }
}
