//! Security regressions: open311.
