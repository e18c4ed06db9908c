//! Consultations in storage: the consultation, who answered, and the mixed answers (portable
//! SQL, both backends). Who answered and what was answered are kept apart.

use serde_json::Value;

use crate::model::consultations::{NewConsultation, Question};
use gongzhi_core::db::query;
use gongzhi_core::db::{Db, WriteTx};
use gongzhi_core::{Error, Result};

/// A stored consultation.
pub struct ConsultationRecord {
    pub id: String,
    pub title: String,
    pub description: String,
    pub area: String,
    pub place: String,
    pub opens: i64,
    pub closes: i64,
    pub questions: Vec<Question>,
    /// How many residents have answered.
    pub respondents: i64,
}

pub async fn find(db: &Db, id: &str) -> Result<ConsultationRecord> {
    let r = query("SELECT c.*, (SELECT COUNT(*) FROM consultation_respondents x WHERE x.consultation_id = c.id) AS n FROM consultations c WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found("consultation"))?;
    Ok(ConsultationRecord {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        area: r.try_get("area_code")?,
        place: r.try_get("place")?,
        opens: r.try_get("opens_at")?,
        closes: r.try_get("closes_at")?,
        questions: serde_json::from_str(&r.try_get::<String, _>("questions")?)
            .map_err(Error::internal)?,
        respondents: r.try_get("n")?,
    })
}

/// The ids of the newest 200 consultations by their close.
pub async fn recent_ids(db: &Db) -> Result<Vec<String>> {
    let rows = query("SELECT id FROM consultations ORDER BY closes_at DESC, id LIMIT 200")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}

pub async fn has_answered(db: &Db, id: &str, user: &str) -> Result<bool> {
    Ok(
        query("SELECT 1 FROM consultation_respondents WHERE consultation_id = $1 AND user_id = $2")
            .bind(id)
            .bind(user)
            .fetch_optional(db.pool())
            .await?
            .is_some(),
    )
}

pub struct NewConsultationRow<'a> {
    pub id: &'a str,
    pub input: &'a NewConsultation,
    pub title: &'a str,
    pub area: &'a str,
    pub place: &'a str,
    pub opens: i64,
    pub closes: i64,
    pub created_by: &'a str,
    pub at: i64,
}

pub async fn insert(tx: &mut WriteTx, c: &NewConsultationRow<'_>) -> Result<()> {
    query("INSERT INTO consultations (id, title, description, area_code, place, opens_at, closes_at, questions, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .bind(c.id)
        .bind(c.title)
        .bind(c.input.description.trim())
        .bind(c.area)
        .bind(c.place)
        .bind(c.opens)
        .bind(c.closes)
        .bind(serde_json::to_string(&c.input.questions).map_err(Error::internal)?)
        .bind(c.created_by)
        .bind(c.at)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records that `user` answered; a second answer fails on the key (the caller says so).
pub async fn add_respondent(tx: &mut WriteTx, id: &str, user: &str) -> Result<()> {
    query("INSERT INTO consultation_respondents (consultation_id, user_id) VALUES ($1, $2)")
        .bind(id)
        .bind(user)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The mixed responses, each the list of answers in question order.
pub async fn responses(db: &Db, id: &str) -> Result<Vec<Value>> {
    let rows = query("SELECT answers FROM consultation_responses WHERE consultation_id = $1")
        .bind(id)
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(Error::internal))
        .collect()
}
