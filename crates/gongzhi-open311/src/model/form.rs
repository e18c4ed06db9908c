//! What an Open311 client sends, parsed without touching the database: the query string and
//! urlencoded body as parameters, and from them a new request, an update, or a list's filters.
//! The commands and queries look up what these name (key, service, case) afterwards.

use gongzhi_cases::model::{Location, Reporter};
use gongzhi_core::time::parse_rfc3339;
use gongzhi_core::{Error, Result};

/// Query string and urlencoded body together; an empty value counts as absent.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// The body counts when it is urlencoded (or says no content type). Text that is not UTF-8
    /// once percent-decoded is refused: stored as U+FFFD it would no longer say what was sent.
    pub fn parse(query: Option<&str>, body: &[u8], content_type: Option<&str>) -> Result<Params> {
        let mut v = decode(query.unwrap_or("").as_bytes())?;
        if content_type.is_none_or(|c| c.starts_with("application/x-www-form-urlencoded")) {
            v.extend(decode(body)?);
        }
        Ok(Params(
            v.into_iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .collect(),
        ))
    }

    /// As [`Params::parse`], with text that is not UTF-8 decoded lossily: only for callers that
    /// store nothing they read.
    pub fn read(query: Option<&str>, body: &[u8], content_type: Option<&str>) -> Params {
        let mut v: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if content_type.is_none_or(|c| c.starts_with("application/x-www-form-urlencoded")) {
            v.extend(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())));
        }
        Params(
            v.into_iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .collect(),
        )
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim())
    }

    fn time(&self, k: &str) -> Result<Option<i64>> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => parse_rfc3339(v).map(Some).ok_or_else(|| {
                Error::invalid("invalid_datetime", format!("{k} is not a W3C datetime"))
            }),
        }
    }
}

/// `application/x-www-form-urlencoded` pairs, refused when a name or value is not UTF-8.
fn decode(raw: &[u8]) -> Result<Vec<(String, String)>> {
    raw.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            Ok((field_text(&unescape(k))?, field_text(&unescape(v))?))
        })
        .collect()
}

/// `+` as a space, then percent-decoding, as form_urlencoded does, but to bytes.
fn unescape(s: &[u8]) -> Vec<u8> {
    let plus: Vec<u8> = s
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus).collect()
}

/// A form field's text: UTF-8 or refused (a multipart text field too).
pub fn field_text(bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Error::invalid("invalid_utf8", "form fields are UTF-8 text"))
}

/// `POST requests`: a new service request, before its service and attributes are looked up.
#[derive(Debug, Clone)]
pub struct RequestForm {
    pub service_code: String,
    pub location: Option<Location>,
    pub address: Option<String>,
    /// Empty when the client gave none (the service's name is used then).
    pub description: String,
    pub reporter: Reporter,
    pub media_url: Option<String>,
}

impl RequestForm {
    pub fn parse(p: &Params) -> Result<RequestForm> {
        let service_code = p
            .get("service_code")
            .ok_or_else(|| Error::invalid("missing_service_code", "service_code is required"))?
            .to_string();
        let location = match (p.get("lat"), p.get("long")) {
            (Some(a), Some(b)) => Some(Location {
                lat: a
                    .parse()
                    .map_err(|_| Error::invalid("invalid_lat", "lat is a number"))?,
                lng: b
                    .parse()
                    .map_err(|_| Error::invalid("invalid_long", "long is a number"))?,
                crs: None,
            }),
            (None, None) => None,
            _ => {
                return Err(Error::invalid(
                    "invalid_location",
                    "give lat and long together",
                ))
            }
        };
        let address = p
            .get("address_string")
            .or(p.get("address_id"))
            .map(String::from);
        if location.is_none() && address.is_none() {
            return Err(Error::invalid(
                "missing_location",
                "give lat+long, address_string or address_id",
            ));
        }
        let description = p.get("description").unwrap_or("").to_string();
        if description.chars().count() > 4000 {
            return Err(Error::invalid(
                "invalid_description",
                "description is at most 4000 characters",
            ));
        }
        let name = [p.get("first_name"), p.get("last_name")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let reporter = Reporter {
            name: Some(name).filter(|n| !n.is_empty()),
            phone: p.get("phone").map(String::from),
        };
        let media_url = p.get("media_url").map(String::from);
        if let Some(u) = &media_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() > 2000 {
                return Err(Error::invalid(
                    "invalid_media_url",
                    "media_url is an http(s) URL",
                ));
            }
        }
        Ok(RequestForm {
            service_code,
            location,
            address,
            description,
            reporter,
            media_url,
        })
    }
}

/// `POST servicerequestupdates`: an outside system's update on a request.
#[derive(Debug, Clone)]
pub struct UpdateForm {
    pub service_request_id: String,
    pub update_id: String,
    /// `open` or `closed`.
    pub status: String,
    pub updated_at: i64,
    pub description: String,
    pub media_url: Option<String>,
}

impl UpdateForm {
    pub fn parse(p: &Params) -> Result<UpdateForm> {
        let need = |k: &'static str| {
            p.get(k)
                .ok_or_else(|| Error::invalid("missing_field", format!("{k} is required")))
        };
        let service_request_id = need("service_request_id")?.to_string();
        let update_id = need("update_id")?.to_string();
        let status = need("status")?.to_ascii_lowercase();
        if !matches!(status.as_str(), "open" | "closed") {
            return Err(Error::invalid("invalid_status", "status is open or closed"));
        }
        let updated_at = parse_rfc3339(need("updated_datetime")?).ok_or_else(|| {
            Error::invalid("invalid_datetime", "updated_datetime is not a W3C datetime")
        })?;
        let description = need("description")?.to_string();
        if description.chars().count() > 4000 || update_id.len() > 200 {
            return Err(Error::invalid(
                "too_long",
                "description ≤ 4000 characters, update_id ≤ 200",
            ));
        }
        Ok(UpdateForm {
            service_request_id,
            update_id,
            status,
            updated_at,
            description,
            media_url: p.get("media_url").map(String::from),
        })
    }
}

/// `GET requests`: which requests, and which page of them.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestQuery {
    /// `service_request_id`: these requests only, and the other filters do not apply.
    pub numbers: Option<Vec<String>>,
    pub service_codes: Vec<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub updated_after: Option<i64>,
    pub updated_before: Option<i64>,
    /// Some(true): open requests only; Some(false): closed only.
    pub open: Option<bool>,
    pub limit: i64,
    pub offset: i64,
    pub extensions: bool,
}

/// Requests of the last 90 days when no date is given.
const DEFAULT_WINDOW_MS: i64 = 90 * 86_400_000;

impl RequestQuery {
    pub fn parse(p: &Params, now_ms: i64) -> Result<RequestQuery> {
        let mut q = RequestQuery {
            numbers: None,
            service_codes: vec![],
            created_from: None,
            created_to: None,
            updated_after: None,
            updated_before: None,
            open: None,
            limit: 1000,
            offset: 0,
            extensions: p.get("extensions") == Some("true"),
        };
        if let Some(ids) = p.get("service_request_id") {
            let list: Vec<String> = ids
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if list.len() > 100 {
                return Err(Error::invalid("too_many", "at most 100 service_request_id"));
            }
            q.numbers = Some(list);
        } else {
            if let Some(c) = p.get("service_code") {
                q.service_codes = c.split(',').map(|s| s.trim().to_string()).collect();
            }
            let start = p.time("start_date")?;
            q.created_to = p.time("end_date")?;
            q.created_from = match (start, q.created_to) {
                (None, None) => Some(now_ms - DEFAULT_WINDOW_MS),
                (s, _) => s,
            };
            q.updated_after = p.time("updated_after")?;
            q.updated_before = p.time("updated_before")?;
            if let Some(s) = p.get("status") {
                let (mut open, mut closed) = (false, false);
                for part in s.split(',') {
                    match part.trim() {
                        "open" => open = true,
                        "closed" => closed = true,
                        other => {
                            return Err(Error::invalid(
                                "invalid_status",
                                format!("status {other:?} is open or closed"),
                            ))
                        }
                    }
                }
                q.open = match (open, closed) {
                    (true, false) => Some(true),
                    (false, true) => Some(false),
                    _ => None,
                };
            }
        }
        let page: i64 = match p.get("page") {
            None => 1,
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| Error::invalid("invalid_page", "page is a whole number ≥ 1"))?,
        };
        q.limit = match p.get("page_size") {
            None => 1000,
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| Error::invalid("invalid_page_size", "page_size is 1–1000"))?,
        };
        // A page past i64 would wrap (a panic in debug builds, a negative OFFSET in release).
        q.offset = (page - 1)
            .checked_mul(q.limit)
            .ok_or_else(|| Error::invalid("invalid_page", "page is too large"))?;
        Ok(q)
    }
}

/// `GET servicerequestupdates`: the window of update times, `[from, to]`.
pub fn updates_window(p: &Params, now_ms: i64) -> Result<(i64, i64)> {
    Ok((
        p.time("start_date")?.unwrap_or(now_ms - DEFAULT_WINDOW_MS),
        p.time("end_date")?.unwrap_or(i64::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::parse(Some(query), b"", None).unwrap()
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_not_replaced() {
        for bad in ["description=%FF", "%C3=x", "a=1&description=caf%E9"] {
            let e = Params::parse(Some(bad), b"", None).unwrap_err();
            assert!(e.to_string().contains("UTF-8"), "{bad}: {e}");
        }
        let e = Params::parse(None, b"description=%80%80", None).unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        let p = Params::parse(
            Some("description=%E4%BA%95%E7%9B%96+%E7%A0%B4&x=a%2Bb&flag"),
            b"",
            None,
        )
        .unwrap();
        assert_eq!(p.get("description"), Some("井盖 破"));
        assert_eq!(p.get("x"), Some("a+b"));
        // The same pairs as form_urlencoded gives for valid input.
        let q =
            "service_code=010101&lat=39.9&long=116.4&first_name=Li&last_name=Lei&description=%20";
        assert_eq!(
            Params::parse(Some(q), b"", None).unwrap().0,
            Params::read(Some(q), b"", None).0
        );
    }

    /// cargo-fuzz (open311_form, fuzz/artifacts crash-31110c79…): `page=0800000000000000000`
    /// overflowed `(page - 1) * page_size`.
    #[test]
    fn a_page_too_large_to_count_to_is_refused() {
        let e = RequestQuery::parse(&params("page=0800000000000000000"), 0).unwrap_err();
        assert!(e.to_string().contains("page is too large"), "{e}");
        let q = RequestQuery::parse(&params("page=3&page_size=50"), 0).unwrap();
        assert_eq!((q.limit, q.offset), (50, 100));
        let last = RequestQuery::parse(&params("page=9223372036854775&page_size=1000"), 0).unwrap();
        assert_eq!(last.offset, 9_223_372_036_854_774_000);
        assert!(RequestQuery::parse(&params("page=0"), 0).is_err());
    }

    #[test]
    fn forms_are_parsed_before_anything_is_looked_up() {
        let f = RequestForm::parse(&params(
            "service_code=010101&lat=39.9&long=116.4&first_name=Li&last_name=Lei&description=%20",
        ))
        .unwrap();
        assert_eq!(f.reporter.name.as_deref(), Some("Li Lei"));
        assert_eq!(f.description, "");
        for bad in [
            "lat=39.9&long=116.4",                           // no service
            "service_code=1&lat=39.9",                       // lat without long
            "service_code=1&lat=north&long=116.4",           // not a number
            "service_code=1",                                // no location at all
            "service_code=1&address_id=7&media_url=ftp://x", // not http(s)
        ] {
            assert!(RequestForm::parse(&params(bad)).is_err(), "{bad}");
        }
        let u = UpdateForm::parse(&params(
            "service_request_id=1&update_id=u&status=Closed&updated_datetime=2026-09-21T10:00:00Z&description=ok",
        ))
        .unwrap();
        assert_eq!(u.status, "closed");
        let q =
            RequestQuery::parse(&params("status=open&start_date=2026-01-01T00:00:00Z"), 0).unwrap();
        assert_eq!(
            (q.open, q.created_from.is_some(), q.created_to),
            (Some(true), true, None)
        );
        assert!(RequestQuery::parse(&params("status=lost"), 0).is_err());
    }
}
