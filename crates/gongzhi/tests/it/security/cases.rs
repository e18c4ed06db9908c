//! Security regressions: cases.
