//! The figures the cases module publishes for later modules (evaluation, insight): the 接诉即办
//! rates per area or unit for a month, read from the same counters as `/api/v1/stats` and
//! limited by the same permission.

use gongzhi_core::db::Db;
use gongzhi_core::identity::Actor;
use gongzhi_core::module::{Measure, MeasureFuture, MeasureQuery, MeasureValue};
use gongzhi_core::Error;

use crate::queries::stats::compute;
use crate::rules::stats::{StatsLevel, StatsRow};

fn level(s: &str) -> gongzhi_core::Result<StatsLevel> {
    match s {
        "street" => Ok(StatsLevel::Street),
        "community" => Ok(StatsLevel::Community),
        "grid" => Ok(StatsLevel::Grid),
        "unit" => Ok(StatsLevel::Unit),
        _ => Err(Error::invalid(
            "invalid_level",
            format!("level {s:?} is not street, community, grid or unit"),
        )),
    }
}

/// Reads one rate of the stats rows.
fn read<'a>(
    db: &'a Db,
    actor: &'a Actor,
    q: &'a MeasureQuery,
    pick: fn(&StatsRow) -> Option<f64>,
) -> MeasureFuture<'a> {
    Box::pin(async move {
        let rows = compute(db, actor, &q.period, level(&q.level)?).await?;
        Ok(rows
            .iter()
            .map(|r| MeasureValue {
                code: r.code.clone(),
                name: r.name.clone(),
                value: pick(r),
            })
            .collect())
    })
}

pub const MEASURES: &[Measure] = &[
    Measure {
        name: "cases.response_rate",
        zh: "响应率",
        en: "Response rate",
        about: "callbacks that reached the reporter, of valid callbacks",
        read: |db, a, q| read(db, a, q, |r| r.response_rate),
    },
    Measure {
        name: "cases.resolution_rate",
        zh: "解决率",
        en: "Resolution rate",
        about: "callbacks reporting the problem resolved, of valid callbacks",
        read: |db, a, q| read(db, a, q, |r| r.resolution_rate),
    },
    Measure {
        name: "cases.satisfaction_rate",
        zh: "满意率",
        en: "Satisfaction rate",
        about: "satisfied plus weighted basically-satisfied callbacks, of valid callbacks",
        read: |db, a, q| read(db, a, q, |r| r.satisfaction_rate),
    },
    Measure {
        name: "cases.score",
        zh: "综合得分",
        en: "Score",
        about: "the weighted sum of the three rates, 0–100 (weights in the case settings)",
        read: |db, a, q| read(db, a, q, |r| r.score),
    },
    Measure {
        name: "cases.on_time_closure_rate",
        zh: "按期结案率",
        en: "On-time closure rate",
        about: "cases closed within their deadline, of dispatched cases",
        read: |db, a, q| read(db, a, q, |r| r.on_time_closure_rate),
    },
    Measure {
        name: "cases.rework_rate",
        zh: "返工率",
        en: "Rework rate",
        about: "reports back returned for rework, of reports back",
        read: |db, a, q| read(db, a, q, |r| r.rework_rate),
    },
];
