//! Panels in storage: the published record, the sealed seed, the draw (portable SQL).

use crate::model::panels::{PanelRecord, PanelSummary};
use gongzhi_core::db::query;
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::time::format_ms;
use gongzhi_core::{Error, Result};

pub struct NewPanelRow<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub area: &'a str,
    pub seats: usize,
    pub candidates: &'a [String],
    pub list_hash: &'a str,
    pub commitment: &'a str,
    /// The seed, sealed so that nobody reading the database can know the draw before it.
    pub sealed_seed: &'a str,
    pub created_by: &'a str,
    pub at: i64,
}

pub async fn insert(tx: &mut WriteTx, p: &NewPanelRow<'_>) -> Result<()> {
    query("INSERT INTO panels (id, title, area_code, seats, candidates, list_hash, commitment, sealed_seed, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(p.id)
        .bind(p.title)
        .bind(p.area)
        .bind(p.seats as i64)
        .bind(serde_json::to_string(p.candidates).map_err(Error::internal)?)
        .bind(p.list_hash)
        .bind(p.commitment)
        .bind(p.sealed_seed)
        .bind(p.created_by)
        .bind(p.at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The newest `n` panels.
pub async fn recent(db: &Db, n: i64) -> Result<Vec<PanelSummary>> {
    let rows = query("SELECT id, title FROM panels ORDER BY created_at DESC LIMIT $1")
        .bind(n)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PanelSummary {
                id: r.try_get("id")?,
                title: r.try_get("title")?,
            })
        })
        .collect()
}

pub async fn record(db: &Db, id: &str) -> Result<PanelRecord> {
    let r = query("SELECT * FROM panels WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("panel"))?;
    Ok(PanelRecord {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        area: r.try_get("area_code")?,
        k: r.try_get::<i64, _>("seats")? as usize,
        candidates: serde_json::from_str(&r.try_get::<String, _>("candidates")?)
            .map_err(Error::internal)?,
        list_hash: r.try_get("list_hash")?,
        commitment: r.try_get("commitment")?,
        seed: opt_text(&r, "seed")?,
        result: opt_text(&r, "result")?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(Error::internal)?,
        created_at: format_ms(r.try_get("created_at")?),
        drawn_at: r.try_get::<Option<i64>, _>("drawn_at")?.map(format_ms),
    })
}

pub async fn sealed_seed(db: &Db, id: &str) -> Result<String> {
    Ok(query("SELECT sealed_seed FROM panels WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?)
}

/// Publishes the seed and result; false when the panel was drawn already (of two racing draws
/// one wins).
pub async fn record_draw(
    tx: &mut WriteTx,
    id: &str,
    seed: &str,
    result: &[String],
    at: i64,
) -> Result<bool> {
    let done = query(
        "UPDATE panels SET seed = $1, result = $2, drawn_at = $3 WHERE id = $4 AND seed IS NULL",
    )
    .bind(seed)
    .bind(serde_json::to_string(result).map_err(Error::internal)?)
    .bind(at)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
