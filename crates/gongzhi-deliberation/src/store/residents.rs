//! Verified residents in storage: verifications (one current per resident) and one-time codes,
//! kept only as hashes (portable SQL, both backends).

use crate::model::residents::{Standing, VerificationMethod};
use crate::rules::places::eligible;
use gongzhi_core::db::{like_prefix, opt_text, Db, WriteTx};
use gongzhi_core::db::{query, Row};
use gongzhi_core::{Error, Result};

/// A stored verification (the resident's name is added by who shows it, masked).
pub struct VerificationRecord {
    pub id: String,
    pub user_id: String,
    pub area: String,
    pub place: String,
    pub method: VerificationMethod,
    pub verified_at: i64,
    pub revoked_at: Option<i64>,
    pub revoke_reason: Option<String>,
}

fn record(r: &Row) -> Result<VerificationRecord> {
    Ok(VerificationRecord {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        area: r.try_get("area_code")?,
        place: r.try_get("place")?,
        method: VerificationMethod::from_stored(&r.try_get::<String, _>("method")?)?,
        verified_at: r.try_get("verified_at")?,
        revoked_at: r.try_get("revoked_at")?,
        revoke_reason: opt_text(r, "revoke_reason")?,
    })
}

pub async fn find(db: &Db, id: &str) -> Result<VerificationRecord> {
    let r = query("SELECT * FROM resident_verifications WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("verification"))?;
    record(&r)
}

/// The latest 500 verifications in an area's subtree.
pub async fn list_in(db: &Db, area: &str) -> Result<Vec<VerificationRecord>> {
    let rows = query("SELECT * FROM resident_verifications WHERE area_code LIKE $1 ESCAPE '\\' ORDER BY verified_at DESC LIMIT 500")
        .bind(like_prefix(area))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(record).collect()
}

/// The id of the user's current verification.
pub async fn current_id(db: &Db, user: &str) -> Result<Option<String>> {
    let row =
        query("SELECT id FROM resident_verifications WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user)
            .fetch_optional(db.pool())
            .await?;
    row.map(|r| Ok(r.try_get::<String, _>("id")?)).transpose()
}

/// Where the user is verified now, and since when (one read answers place and roll alike).
pub async fn standing(db: &Db, user: &str) -> Result<Option<Standing>> {
    let row = query("SELECT area_code, place, verified_at FROM resident_verifications WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| {
        Ok(Standing {
            area: r.try_get("area_code")?,
            place: r.try_get("place")?,
            verified_at: r.try_get("verified_at")?,
        })
    })
    .transpose()
}

/// How many residents are verified for (`area`, `place`) now.
pub async fn count_eligible(db: &Db, area: &str, place: &str) -> Result<i64> {
    let rows = query(
        "SELECT area_code, place FROM resident_verifications WHERE revoked_at IS NULL AND area_code LIKE $1",
    )
    .bind(format!("{area}%"))
    .fetch_all(db.pool())
    .await?;
    let mut n = 0;
    for r in rows {
        let (a, p): (String, String) = (r.try_get("area_code")?, r.try_get("place")?);
        if eligible(&a, &p, area, place) {
            n += 1;
        }
    }
    Ok(n)
}

pub struct NewVerificationRow<'a> {
    pub id: &'a str,
    pub user: &'a str,
    pub area: &'a str,
    pub place: &'a str,
    pub method: VerificationMethod,
    pub verified_by: &'a str,
    pub at: i64,
}

/// Stores a verification; a second current one of the same resident fails on the key (the
/// caller says so).
pub async fn insert(tx: &mut WriteTx, v: &NewVerificationRow<'_>) -> Result<()> {
    query("INSERT INTO resident_verifications (id, user_id, area_code, place, method, verified_by, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(v.id)
        .bind(v.user)
        .bind(v.area)
        .bind(v.place)
        .bind(v.method.as_str())
        .bind(v.verified_by)
        .bind(v.at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Revokes a current verification; false when it was revoked already.
pub async fn revoke(tx: &mut WriteTx, id: &str, by: &str, reason: &str, at: i64) -> Result<bool> {
    let done = query("UPDATE resident_verifications SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 WHERE id = $4 AND revoked_at IS NULL")
        .bind(at)
        .bind(by)
        .bind(reason)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}

pub struct NewCodeRow<'a> {
    pub hash: &'a str,
    pub area: &'a str,
    pub place: &'a str,
    pub created_by: &'a str,
    pub at: i64,
    pub expires_at: i64,
}

pub async fn insert_code(tx: &mut WriteTx, c: &NewCodeRow<'_>) -> Result<()> {
    query("INSERT INTO verification_codes (code_hash, area_code, place, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(c.hash)
        .bind(c.area)
        .bind(c.place)
        .bind(c.created_by)
        .bind(c.at)
        .bind(c.expires_at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The place a code verifies for: (area code, place).
pub async fn code_place(db: &Db, hash: &str) -> Result<Option<(String, String)>> {
    let row = query("SELECT area_code, place FROM verification_codes WHERE code_hash = $1")
        .bind(hash)
        .fetch_optional(db.pool())
        .await?;
    row.map(|r| Ok((r.try_get("area_code")?, r.try_get("place")?)))
        .transpose()
}

/// Spends a code for `user`, in the verifying transaction: of two racing redeems one wins;
/// false when it is used or expired.
pub async fn spend_code(tx: &mut WriteTx, hash: &str, user: &str, now: i64) -> Result<bool> {
    let done = query("UPDATE verification_codes SET used_by = $1, used_at = $2 WHERE code_hash = $3 AND used_by IS NULL AND expires_at > $2")
        .bind(user)
        .bind(now)
        .bind(hash)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() == 1)
}
