//! Security regressions: platform.
