//! Reading panels: the published record, the newest ones, and re-running a draw.

use crate::model::panels::{PanelRecord, PanelSummary, Verdict};
use crate::rules::sortition;
use crate::store::panels;
use gongzhi_core::db::Db;
use gongzhi_core::{Error, Result};

/// The published record (public). Once drawn it carries the seed and result to re-run.
pub async fn record(db: &Db, id: &str) -> Result<PanelRecord> {
    panels::record(db, id).await
}

/// The newest `n` panels.
pub async fn recent(db: &Db, n: i64) -> Result<Vec<PanelSummary>> {
    panels::recent(db, n).await
}

/// Re-runs the draw from the published record and says whether it holds.
pub async fn verify(db: &Db, id: &str) -> Result<Verdict> {
    let p = panels::record(db, id).await?;
    let (Some(seed), Some(result)) = (&p.seed, &p.result) else {
        return Err(Error::refused(
            "wrong_state",
            "the panel has not been drawn yet",
        ));
    };
    Ok(
        match sortition::verify(
            &p.candidates,
            &p.list_hash,
            &p.commitment,
            seed,
            p.k,
            result,
        ) {
            Ok(()) => Verdict {
                verified: true,
                message: format!(
                    "the draw verifies: {} of {} candidates, seed matches its commitment",
                    result.len(),
                    p.candidates.len()
                ),
            },
            Err(m) => Verdict {
                verified: false,
                message: m,
            },
        },
    )
}
