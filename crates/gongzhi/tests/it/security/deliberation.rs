//! Security regressions: deliberation.
