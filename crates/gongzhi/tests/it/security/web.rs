//! Security regressions: web.
