//! Security headers on every response, pages and API alike: a Content-Security-Policy without
//! inline script or style, no sniffing, no framing, no referrer off the site, the device's
//! location and camera only where a report is made, and HSTS when served over HTTPS.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;

/// The headers, computed once from the configuration.
pub struct SecurityHeaders {
    csp: HeaderValue,
    hsts: bool,
}

/// Pages where a resident or a grid worker reports a problem from where they stand.
const DEVICE_PAGES: &[&str] = &["/report"];

impl SecurityHeaders {
    pub fn from_config(config: &Config) -> SecurityHeaders {
        let basemap = config
            .basemap_url
            .as_deref()
            .and_then(tile_source)
            .map(|s| format!(" {s}"))
            .unwrap_or_default();
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{basemap}; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        SecurityHeaders {
            csp: HeaderValue::from_str(&csp).expect("a CSP of header-safe characters"),
            hsts: config.secure_cookies,
        }
    }
}

/// The CSP source of a basemap's tiles: `https://{s}.tile.example.org/{z}/{x}/{y}.png` →
/// `https://*.tile.example.org`. A template whose host is not plain gives its scheme only.
fn tile_source(template: &str) -> Option<String> {
    let (scheme, rest) = template.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let host = rest.split('/').next()?.replace("{s}", "*");
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'))
        && !host[1..].contains('*');
    Some(if plain {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}:")
    })
}

/// The middleware: adds the headers a handler has not set itself.
pub async fn security_headers(
    State(h): State<Arc<SecurityHeaders>>,
    req: Request,
    next: Next,
) -> Response {
    let device = DEVICE_PAGES.contains(&req.uri().path());
    let mut resp = next.run(req).await;
    let out = resp.headers_mut();
    let mut set = |name: HeaderName, value: HeaderValue| {
        out.entry(name).or_insert(value);
    };
    set(header::CONTENT_SECURITY_POLICY, h.csp.clone());
    set(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    set(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    set(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(if device {
            "geolocation=(self), camera=(self)"
        } else {
            "geolocation=(), camera=()"
        }),
    );
    if h.hsts {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::tile_source;

    #[test]
    fn tile_sources() {
        for (template, want) in [
            (
                "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png",
                Some("https://*.tile.openstreetmap.org"),
            ),
            (
                "https://tiles.example.org:8443/{z}/{x}/{y}.png",
                Some("https://tiles.example.org:8443"),
            ),
            ("https://t{s}.example.org/{z}/{x}/{y}.png", Some("https:")),
            ("https://x.org; script-src *", Some("https:")),
            ("javascript:alert(1)", None),
            ("/tiles/{z}/{x}/{y}.png", None),
        ] {
            assert_eq!(tile_source(template).as_deref(), want, "{template}");
        }
    }
}
