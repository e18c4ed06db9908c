//! The ballot box of every secret vote, consultation and micro-project call (issue 13 #8).
//! The voter's transaction records only that they took part (their voter row and the audit
//! entry) and drops the ballot, sealed with the secret key (`Sealer`, kept outside the
//! database) and naming no one, into a pool. A mix moves pooled ballots into the counted table
//! in batches: in one transaction, in a random order, as rows with no id, no time and no voter,
//! deleting them from the pool. So neither storage order (SQLite rowid, PostgreSQL ctid) nor
//! the inserting transaction (PostgreSQL xmin) links a counted ballot to a voter: the ballots
//! of a batch share one transaction and a shuffled run of rows, and no voter row shares either.
//!
//! When: a topic's vote and a micro-project call show no result before they close, so their
//! boxes are mixed once, at the close — every ballot hides among all the others. A
//! consultation shows its council results while open, so its box is mixed in batches: `k`
//! randomly chosen answers whenever `2k` are pooled (the `k` left behind hide the next ones),
//! the rest at the close. Every batch so holds at least `k`, or all when fewer were given, and
//! the council's figures move only by whole batches. Counting reads mixed ballots only. `k`
//! is the `ballot_batch` setting (default 20).

use rand::seq::SliceRandom;
use serde_json::json;

use crate::store::ballot_box::{self as boxes, BoxKind};
use crate::store::settings;
use gongzhi_core::audit;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::identity::Actor;
use gongzhi_core::privacy::Sealer;
use gongzhi_core::{Error, Result};

/// The batch size when none is set: big enough to hide a voter among a stairwell's neighbours,
/// small enough that a month-long consultation shows results as it goes.
pub const DEFAULT_BATCH: i64 = 20;
/// Below this a batch hides too little to be called secret.
pub const MIN_BATCH: i64 = 5;
/// The setting that holds `k`.
pub const BATCH_SETTING: &str = "ballot_batch";

/// One box: whose ballots (a topic's, a call's, a consultation's) and where mixed ones are
/// counted.
#[derive(Debug, Clone, Copy)]
pub struct BallotBox<'a> {
    kind: BoxKind,
    owner: &'a str,
}

impl<'a> BallotBox<'a> {
    pub fn topic(id: &'a str) -> Self {
        BallotBox {
            kind: BoxKind::Topic,
            owner: id,
        }
    }
    pub fn call(id: &'a str) -> Self {
        BallotBox {
            kind: BoxKind::Call,
            owner: id,
        }
    }
    pub fn consultation(id: &'a str) -> Self {
        BallotBox {
            kind: BoxKind::Consultation,
            owner: id,
        }
    }

    fn key(&self) -> String {
        format!("{}:{}", self.kind.prefix(), self.owner)
    }

    /// Drops a sealed ballot into the pool, inside the voter's transaction; refused once the
    /// box was closed by its final mix.
    pub async fn drop_in(
        &self,
        db: &Db,
        tx: &mut WriteTx,
        sealer: &Sealer,
        ballot: &str,
    ) -> Result<()> {
        self.hold_open(db, tx).await?;
        let key = self.key();
        // The box is sealed in with the ballot, so a pooled row cannot be moved to another box.
        let sealed = sealer.seal(&json!({"box": key, "ballot": ballot}).to_string());
        boxes::pool(tx, &key, &sealed).await
    }

    /// Checks, inside a voter's transaction, that the box is still open. On PostgreSQL the box
    /// row stays held (shared) until the voter commits, so a closing mix waits for ballots in
    /// flight and none is left behind or counted late.
    pub async fn hold_open(&self, db: &Db, tx: &mut WriteTx) -> Result<()> {
        if boxes::hold(db, tx, &self.key()).await?.is_some() {
            return Err(Error::refused("wrong_state", "the vote is closed"));
        }
        Ok(())
    }

    /// Mixes inside `tx`: everything pooled when `closing` (and closes the box), else `k`
    /// random ballots when at least `2k` are pooled. The number of ballots mixed, or None
    /// when nothing may be mixed now (the caller then rolls back).
    pub async fn mix(
        &self,
        db: &Db,
        tx: &mut WriteTx,
        sealer: &Sealer,
        closing: bool,
        now: i64,
    ) -> Result<Option<usize>> {
        let key = self.key();
        let k = batch_size(db).await?;
        // SQLite: zero the pooled rows as they are deleted, so the file keeps no ciphertext
        // to open later should the key ever leak (the setting is the connection's; restored).
        let secure_delete = boxes::secure_delete_on(db, tx).await?;
        let sealed = self.take(tx, closing, k, now).await;
        boxes::secure_delete_restore(tx, secure_delete).await?;
        let Some(sealed) = sealed? else {
            return Ok(None);
        };
        let mut ballots = Vec::with_capacity(sealed.len());
        for s in &sealed {
            let v: serde_json::Value =
                serde_json::from_str(&sealer.open(s)?).map_err(Error::internal)?;
            if v["box"].as_str() != Some(key.as_str()) {
                return Err(Error::internal(format!(
                    "a pooled ballot of {key} names another box"
                )));
            }
            let ballot = v["ballot"]
                .as_str()
                .ok_or_else(|| Error::internal("a pooled ballot without content"))?;
            ballots.push(ballot.to_string());
        }
        ballots.shuffle(&mut rand::rngs::OsRng);
        for b in &ballots {
            boxes::count(tx, self.kind, self.owner, b).await?;
        }
        Ok(Some(ballots.len()))
    }

    /// Deletes the ballots to mix from the pool and returns them sealed (see `mix`).
    async fn take(
        &self,
        tx: &mut WriteTx,
        closing: bool,
        k: i64,
        now: i64,
    ) -> Result<Option<Vec<String>>> {
        let key = self.key();
        if closing {
            return Ok(Some(boxes::close_and_take_all(tx, &key, now).await?));
        }
        if boxes::pooled_in(tx, &key).await? < 2 * k {
            return Ok(None);
        }
        let rows = boxes::take(tx, &key, k).await?;
        // A racing mix took some of them: a smaller batch would hide too little.
        if (rows.len() as i64) < k {
            return Ok(None);
        }
        Ok(Some(rows))
    }

    /// Mixes in a transaction of its own, by the system: a due batch while the box is open,
    /// or (`closing`) the rest once it has closed. Runs after a voter's commit and before
    /// results are read; does nothing when there is nothing to do.
    pub async fn settle(&self, db: &Db, sealer: &Sealer, closing: bool, now: i64) -> Result<()> {
        let key = self.key();
        if closing {
            let done = match boxes::status(db, &key).await? {
                Some((closed_at, pooled)) => closed_at.is_some() && pooled == 0,
                // Nobody voted: nothing can be pooled after the close either (voters check
                // the phase), so there is nothing to close.
                None => true,
            };
            if done {
                return Ok(());
            }
        }
        let mut tx = db.begin_write().await?;
        let Some(n) = self.mix(db, &mut tx, sealer, closing, now).await? else {
            return Ok(());
        };
        audit::append(
            &mut tx,
            &Actor::system("ballot-box"),
            "ballot_box.mix",
            &key,
            &json!({"ballots": n, "closing": closing}),
            None,
        )
        .await?;
        tx.commit().await
    }

    /// After a voter's commit: mixes a batch if one is due (consultations only, see above).
    /// The ballot is safely pooled already, so a failed mix is left to the next voter or to
    /// the close.
    pub async fn settle_after_vote(&self, db: &Db, sealer: &Sealer, now: i64) {
        if self.kind != BoxKind::Consultation {
            return;
        }
        if let Err(e) = self.settle(db, sealer, false, now).await {
            tracing::warn!(ballot_box = %self.key(), error = %e, "mixing a due batch failed");
        }
    }

    /// Ballots pooled and not yet mixed (counted nowhere yet).
    pub async fn pending(&self, db: &Db) -> Result<i64> {
        boxes::pending(db, &self.key()).await
    }
}

/// The batch size `k` (the `ballot_batch` setting).
pub async fn batch_size(db: &Db) -> Result<i64> {
    Ok(settings::get(db, BATCH_SETTING)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_BATCH))
}
