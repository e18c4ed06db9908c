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

use axum::extract::State;
use axum::Json;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::DELIBERATION_MANAGE;
use gongzhi_core::audit;
use gongzhi_core::db::{Backend, Db, WriteTx};
use gongzhi_core::http::{ApiJson, ApiResult, AppState, Authed};
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::privacy::Sealer;
use gongzhi_core::{Error, Result};

/// The batch size when none is set: big enough to hide a voter among a stairwell's neighbours,
/// small enough that a month-long consultation shows results as it goes.
pub const DEFAULT_BATCH: i64 = 20;
/// Below this a batch hides too little to be called secret.
pub const MIN_BATCH: i64 = 5;

/// One box: whose ballots (a topic's, a call's, a consultation's) and where mixed ones are
/// counted.
#[derive(Debug, Clone, Copy)]
pub struct BallotBox<'a> {
    kind: Kind,
    owner: &'a str,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Topic,
    Call,
    Consultation,
}

impl<'a> BallotBox<'a> {
    pub fn topic(id: &'a str) -> Self {
        BallotBox {
            kind: Kind::Topic,
            owner: id,
        }
    }
    pub fn call(id: &'a str) -> Self {
        BallotBox {
            kind: Kind::Call,
            owner: id,
        }
    }
    pub fn consultation(id: &'a str) -> Self {
        BallotBox {
            kind: Kind::Consultation,
            owner: id,
        }
    }

    fn key(&self) -> String {
        let prefix = match self.kind {
            Kind::Topic => "topic",
            Kind::Call => "call",
            Kind::Consultation => "consultation",
        };
        format!("{prefix}:{}", self.owner)
    }

    /// The counted table, its owner column and its content column.
    fn counted(&self) -> (&'static str, &'static str, &'static str) {
        match self.kind {
            Kind::Topic => ("topic_ballots", "topic_id", "choice"),
            Kind::Call => ("budget_ballots", "call_id", "projects"),
            Kind::Consultation => ("consultation_responses", "consultation_id", "answers"),
        }
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
        sqlx::query("INSERT INTO ballot_pool (id, box, sealed) VALUES ($1, $2, $3)")
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&key)
            .bind(sealed)
            .execute(tx.conn())
            .await?;
        Ok(())
    }

    /// Checks, inside a voter's transaction, that the box is still open. On PostgreSQL the box
    /// row stays held (shared) until the voter commits, so a closing mix waits for ballots in
    /// flight and none is left behind or counted late.
    pub async fn hold_open(&self, db: &Db, tx: &mut WriteTx) -> Result<()> {
        let key = self.key();
        sqlx::query(
            "INSERT INTO ballot_boxes (box, closed_at) VALUES ($1, NULL) ON CONFLICT DO NOTHING",
        )
        .bind(&key)
        .execute(tx.conn())
        .await?;
        let lock = match db.backend() {
            Backend::Postgres => " FOR SHARE",
            Backend::Sqlite => "",
        };
        let closed: Option<i64> = sqlx::query(&format!(
            "SELECT closed_at FROM ballot_boxes WHERE box = $1{lock}"
        ))
        .bind(&key)
        .fetch_one(tx.conn())
        .await?
        .try_get(0)?;
        if closed.is_some() {
            return Err(Error::Conflict("the vote is closed".into()));
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
        let secure_delete: Option<i64> = match db.backend() {
            Backend::Sqlite => {
                let was = sqlx::query("PRAGMA secure_delete")
                    .fetch_one(tx.conn())
                    .await?
                    .try_get(0)?;
                sqlx::query("PRAGMA secure_delete = 1")
                    .execute(tx.conn())
                    .await?;
                Some(was)
            }
            Backend::Postgres => None,
        };
        let sealed = self.take(tx, closing, k, now).await;
        if let Some(was) = secure_delete {
            sqlx::query(&format!("PRAGMA secure_delete = {was}"))
                .execute(tx.conn())
                .await?;
        }
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
        let (table, owner, content) = self.counted();
        let sql = format!("INSERT INTO {table} ({owner}, {content}) VALUES ($1, $2)");
        for b in &ballots {
            sqlx::query(&sql)
                .bind(self.owner)
                .bind(b)
                .execute(tx.conn())
                .await?;
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
        let sealed: Vec<String> = if closing {
            // Taking the box row first waits for voters still holding it (see `drop_in`).
            sqlx::query(
                "INSERT INTO ballot_boxes (box, closed_at) VALUES ($1, $2) \
                 ON CONFLICT (box) DO UPDATE SET closed_at = COALESCE(ballot_boxes.closed_at, $2)",
            )
            .bind(&key)
            .bind(now)
            .execute(tx.conn())
            .await?;
            sqlx::query("DELETE FROM ballot_pool WHERE box = $1 RETURNING sealed")
                .bind(&key)
                .fetch_all(tx.conn())
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?
        } else {
            let pooled: i64 = sqlx::query("SELECT COUNT(*) FROM ballot_pool WHERE box = $1")
                .bind(&key)
                .fetch_one(tx.conn())
                .await?
                .try_get(0)?;
            if pooled < 2 * k {
                return Ok(None);
            }
            // Pool ids are random, so the first k by id are a random k.
            let rows = sqlx::query(
                "DELETE FROM ballot_pool WHERE id IN \
                 (SELECT id FROM ballot_pool WHERE box = $1 ORDER BY id LIMIT $2) RETURNING sealed",
            )
            .bind(&key)
            .bind(k)
            .fetch_all(tx.conn())
            .await?;
            // A racing mix took some of them: a smaller batch would hide too little.
            if (rows.len() as i64) < k {
                return Ok(None);
            }
            rows.iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?
        };
        Ok(Some(sealed))
    }

    /// Mixes in a transaction of its own, by the system: a due batch while the box is open,
    /// or (`closing`) the rest once it has closed. Runs after a voter's commit and before
    /// results are read; does nothing when there is nothing to do.
    pub async fn settle(&self, db: &Db, sealer: &Sealer, closing: bool, now: i64) -> Result<()> {
        let key = self.key();
        if closing {
            let r = sqlx::query("SELECT closed_at, (SELECT COUNT(*) FROM ballot_pool p WHERE p.box = b.box) AS n FROM ballot_boxes b WHERE box = $1")
                .bind(&key)
                .fetch_optional(db.pool())
                .await?;
            let done = match &r {
                Some(r) => {
                    r.try_get::<Option<i64>, _>("closed_at")?.is_some()
                        && r.try_get::<i64, _>("n")? == 0
                }
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
        if !matches!(self.kind, Kind::Consultation) {
            return;
        }
        if let Err(e) = self.settle(db, sealer, false, now).await {
            tracing::warn!(ballot_box = %self.key(), error = %e, "mixing a due batch failed");
        }
    }

    /// Ballots pooled and not yet mixed (counted nowhere yet).
    pub async fn pending(&self, db: &Db) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM ballot_pool WHERE box = $1")
                .bind(self.key())
                .fetch_one(db.pool())
                .await?
                .try_get(0)?,
        )
    }
}

/// The batch size `k` (the `ballot_batch` setting).
pub async fn batch_size(db: &Db) -> Result<i64> {
    let r = sqlx::query("SELECT value FROM deliberation_settings WHERE key = 'ballot_batch'")
        .fetch_optional(db.pool())
        .await?;
    Ok(match r {
        Some(r) => r.try_get::<String, _>(0)?.parse().unwrap_or(DEFAULT_BATCH),
        None => DEFAULT_BATCH,
    })
}

pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_settings, put_settings))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BallotSettings {
    /// Consultation answers mixed together at least (`k`) while a consultation is open: a
    /// batch is mixed when `2k` are pooled, the rest at the close. 5–1000.
    pub ballot_batch: i64,
}

/// The ballot box settings.
#[utoipa::path(get, path = "/api/v1/deliberation/settings", tag = "deliberation", security(("bearer" = [])), responses((status = 200, body = BallotSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    Authed(_actor): Authed,
) -> ApiResult<Json<BallotSettings>> {
    Ok(Json(BallotSettings {
        ballot_batch: batch_size(&state.db).await?,
    }))
}

/// Changes the ballot box settings (administrators without a scope).
#[utoipa::path(put, path = "/api/v1/deliberation/settings", tag = "deliberation", security(("bearer" = [])), request_body = BallotSettings,
    responses((status = 200, body = BallotSettings), (status = 400, body = gongzhi_core::http::ErrorBody), (status = 403, body = gongzhi_core::http::ErrorBody)))]
async fn put_settings(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(s): ApiJson<BallotSettings>,
) -> ApiResult<Json<BallotSettings>> {
    authorize(&actor, DELIBERATION_MANAGE, &Target::global())?;
    if !(MIN_BATCH..=1000).contains(&s.ballot_batch) {
        return Err(
            Error::invalid("ballot_batch", format!("ballot_batch is {MIN_BATCH}–1000")).into(),
        );
    }
    let mut tx = state.db.begin_write().await?;
    sqlx::query("INSERT INTO deliberation_settings (key, value) VALUES ('ballot_batch', $1) ON CONFLICT (key) DO UPDATE SET value = $1")
        .bind(s.ballot_batch.to_string())
        .execute(tx.conn())
        .await
        .map_err(Error::from)?;
    audit::append(
        &mut tx,
        &actor,
        "deliberation.settings",
        "deliberation_settings",
        &json!({"ballot_batch": s.ballot_batch}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(s))
}
