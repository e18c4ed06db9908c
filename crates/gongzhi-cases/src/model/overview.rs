//! The dashboard's figures.

/// Open and overdue cases of one grid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GridFigures {
    pub open: i64,
    pub overdue: i64,
}

/// Cases created and closed per day, oldest day first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trend {
    /// Each day's label, `MM-DD` in Beijing time.
    pub days: Vec<String>,
    pub created: Vec<i64>,
    pub closed: Vec<i64>,
}

/// What the leaders' dashboard shows: a period's ranking at one level and the trend of the
/// last [`TREND_DAYS`] days.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub ranking: Vec<crate::rules::stats::StatsRow>,
    pub trend: Trend,
}

pub const TREND_DAYS: i64 = 30;
