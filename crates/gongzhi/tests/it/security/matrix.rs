//! Security regressions: matrix.
