//! The catalog in storage: categories and routing rules.

use crate::model::catalog::{Category, RoutingRule};
use gongzhi_core::calendar::{LimitUnit, TimeLimit};
use gongzhi_core::db::{opt_text, Db, WriteTx};
use gongzhi_core::db::{query, Row};
use gongzhi_core::time::now_ms;
use gongzhi_core::{Error, Result};

fn row_to_category(r: &Row) -> Result<Category> {
    let limit = |a: &str, u: &str| -> Result<TimeLimit> {
        let unit: String = r.try_get(u)?;
        Ok(TimeLimit {
            amount: r.try_get::<i64, _>(a)? as u32,
            unit: LimitUnit::parse(&unit).ok_or_else(|| Error::internal("bad limit unit"))?,
        })
    };
    Ok(Category {
        code: r.try_get("code")?,
        parent_code: opt_text(r, "parent_code")?,
        name: r.try_get("name")?,
        class: r.try_get("class")?,
        filing_condition: r.try_get("filing_condition")?,
        closing_condition: r.try_get("closing_condition")?,
        respond_limit: limit("respond_amount", "respond_unit")?,
        handle_limit: limit("handle_amount", "handle_unit")?,
        close_limit: limit("close_amount", "close_unit")?,
        urgency: r.try_get("urgency")?,
        default_unit: opt_text(r, "default_unit")?,
        public: r.try_get::<i64, _>("public")? != 0,
    })
}

pub async fn list(db: &Db) -> Result<Vec<Category>> {
    let rows = query("SELECT * FROM categories ORDER BY code")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(row_to_category).collect()
}

pub async fn get(db: &Db, code: &str) -> Result<Category> {
    let r = query("SELECT * FROM categories WHERE code = $1")
        .bind(code)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found(format!("category {code}")))?;
    row_to_category(&r)
}

pub async fn write(tx: &mut WriteTx, c: &Category, insert: bool) -> Result<()> {
    let sql = if insert {
        "INSERT INTO categories (name, class, filing_condition, closing_condition, respond_amount, respond_unit, \
         handle_amount, handle_unit, close_amount, close_unit, urgency, default_unit, public, parent_code, code) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    } else {
        "UPDATE categories SET name = $1, class = $2, filing_condition = $3, closing_condition = $4, \
         respond_amount = $5, respond_unit = $6, handle_amount = $7, handle_unit = $8, close_amount = $9, \
         close_unit = $10, urgency = $11, default_unit = $12, public = $13, parent_code = $14 WHERE code = $15"
    };
    query(sql)
        .bind(&c.name)
        .bind(&c.class)
        .bind(&c.filing_condition)
        .bind(&c.closing_condition)
        .bind(i64::from(c.respond_limit.amount))
        .bind(c.respond_limit.unit.as_str())
        .bind(i64::from(c.handle_limit.amount))
        .bind(c.handle_limit.unit.as_str())
        .bind(i64::from(c.close_limit.amount))
        .bind(c.close_limit.unit.as_str())
        .bind(&c.urgency)
        .bind(&c.default_unit)
        .bind(i64::from(c.public))
        .bind(&c.parent_code)
        .bind(&c.code)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// The tables a code is looked up in before it is referred to.
#[derive(Debug, Clone, Copy)]
pub enum Coded {
    Units,
    Categories,
    Areas,
}

/// Is there a row with this code (read in the writer's transaction, so the check holds)?
pub async fn exists(tx: &mut WriteTx, table: Coded, code: &str) -> Result<bool> {
    let sql = match table {
        Coded::Units => "SELECT code FROM units WHERE code = $1",
        Coded::Categories => "SELECT code FROM categories WHERE code = $1",
        Coded::Areas => "SELECT code FROM areas WHERE code = $1",
    };
    Ok(query(sql)
        .bind(code)
        .fetch_optional(tx.conn())
        .await?
        .is_some())
}

/// How many categories are stored (the seed goes only into an empty catalog).
pub async fn count(db: &Db) -> Result<i64> {
    Ok(query("SELECT COUNT(*) FROM categories")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?)
}

/// Every routing rule, by area then category.
pub async fn routing_rules(db: &Db) -> Result<Vec<RoutingRule>> {
    let rows = query(
        "SELECT id, category_code, area_code, unit_code FROM routing_rules ORDER BY area_code, category_code",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RoutingRule {
                id: Some(r.try_get("id")?),
                category: opt_text(r, "category_code")?,
                area: opt_text(r, "area_code")?,
                unit: r.try_get("unit_code")?,
            })
        })
        .collect()
}

/// Writes a new routing rule; returns its id.
pub async fn insert_rule(
    tx: &mut WriteTx,
    category: Option<&str>,
    area: Option<&str>,
    unit: &str,
) -> Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    query("INSERT INTO routing_rules (id, category_code, area_code, unit_code, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(category)
        .bind(area)
        .bind(unit)
        .bind(now_ms())
        .execute(tx.conn())
        .await?;
    Ok(id)
}
