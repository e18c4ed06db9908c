//! Areas in storage: the table, reads, imports' writes, the parent chain, export, and building
//! the locate index.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::locate::{AreaRef, GridEntry, LocateIndex, Located};
use super::{geometry, Level};
use crate::db::{opt_text, Db, Migration, WriteTx};
use crate::db::{query, Row};
use crate::{Error, Result};

pub const MIGRATIONS: &[Migration] = &[Migration {
    id: "areas-0001",
    sql: r#"
CREATE TABLE areas (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_code TEXT,
    geometry TEXT,
    households BIGINT,
    population BIGINT,
    area_m2 DOUBLE PRECISION,
    grid_type TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX areas_parent ON areas (parent_code);
CREATE INDEX areas_level ON areas (level)
"#,
}];

/// One area as an import writes it: absent values keep what is stored (on update).
pub(super) struct AreaWrite<'a> {
    pub code: &'a str,
    pub name: Option<&'a str>,
    pub level: Level,
    pub parent_code: Option<&'a str>,
    /// GeoJSON text.
    pub geometry: Option<&'a str>,
    pub area_m2: Option<f64>,
    pub households: Option<i64>,
    pub population: Option<i64>,
    pub grid_type: Option<&'a str>,
}

pub(super) async fn update_area(tx: &mut WriteTx, a: &AreaWrite<'_>, now: i64) -> Result<()> {
    query(
        "UPDATE areas SET name = COALESCE($1, name), geometry = COALESCE($2, geometry), \
         area_m2 = COALESCE($3, area_m2), households = COALESCE($4, households), \
         population = COALESCE($5, population), grid_type = COALESCE($6, grid_type), updated_at = $7 \
         WHERE code = $8",
    )
    .bind(a.name)
    .bind(a.geometry)
    .bind(a.area_m2)
    .bind(a.households)
    .bind(a.population)
    .bind(a.grid_type)
    .bind(now)
    .bind(a.code)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub(super) async fn insert_area(tx: &mut WriteTx, a: &AreaWrite<'_>, now: i64) -> Result<()> {
    query(
        "INSERT INTO areas (code, name, level, parent_code, geometry, households, population, area_m2, grid_type, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(a.code)
    .bind(a.name.unwrap_or_default())
    .bind(a.level.as_str())
    .bind(a.parent_code)
    .bind(a.geometry)
    .bind(a.households)
    .bind(a.population)
    .bind(a.area_m2)
    .bind(a.grid_type)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent_code: Option<String>,
    pub households: Option<i64>,
    pub population: Option<i64>,
    pub area_m2: Option<f64>,
    /// 基础 (basic) or 专属 (dedicated); grids only.
    pub grid_type: Option<String>,
    /// GeoJSON Polygon or MultiPolygon (WGS84), when the area has one.
    #[schema(value_type = Option<Object>)]
    pub geometry: Option<Value>,
}

/// An area with the chain of areas above it, nearest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaWithParents {
    #[serde(flatten)]
    pub area: Area,
    pub parents: Vec<AreaSummary>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaSummary {
    pub code: String,
    pub name: String,
    pub level: Level,
}

const COLUMNS: &str =
    "code, name, level, parent_code, households, population, area_m2, grid_type, geometry";

fn row_to_area(r: &Row, with_geometry: bool) -> Result<Area> {
    let level: String = r.try_get("level")?;
    let geometry = if with_geometry {
        opt_text(r, "geometry")?
            .map(|g| serde_json::from_str(&g))
            .transpose()
            .map_err(Error::internal)?
    } else {
        None
    };
    Ok(Area {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        level: Level::parse(&level).ok_or_else(|| Error::internal(format!("bad level {level}")))?,
        parent_code: opt_text(r, "parent_code")?,
        households: r.try_get("households")?,
        population: r.try_get("population")?,
        area_m2: r.try_get("area_m2")?,
        grid_type: opt_text(r, "grid_type")?,
        geometry,
    })
}

/// Whether an area with `code` is imported (a cheap check before naming it in a record).
pub async fn area_exists(db: &Db, code: &str) -> Result<bool> {
    Ok(query("SELECT code FROM areas WHERE code = $1")
        .bind(code)
        .fetch_optional(db.pool())
        .await?
        .is_some())
}

pub async fn get_area(db: &Db, code: &str) -> Result<AreaWithParents> {
    let row = query(&format!("SELECT {COLUMNS} FROM areas WHERE code = $1"))
        .bind(code)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| Error::not_found(format!("area {code}")))?;
    let area = row_to_area(&row, true)?;
    let mut parents = Vec::new();
    let mut next = area.parent_code.clone();
    while let Some(p) = next {
        let Some(r) = query("SELECT code, name, level, parent_code FROM areas WHERE code = $1")
            .bind(&p)
            .fetch_optional(db.pool())
            .await?
        else {
            break;
        };
        let level: String = r.try_get("level")?;
        parents.push(AreaSummary {
            code: r.try_get("code")?,
            name: r.try_get("name")?,
            level: Level::parse(&level).ok_or_else(|| Error::internal("bad level"))?,
        });
        next = opt_text(&r, "parent_code")?;
    }
    Ok(AreaWithParents { area, parents })
}

/// Children of `parent`, or the top-level areas when `parent` is `None`; without polygons.
pub async fn children(db: &Db, parent: Option<&str>) -> Result<Vec<Area>> {
    let rows = match parent {
        Some(p) => {
            query(&format!(
                "SELECT {COLUMNS} FROM areas WHERE parent_code = $1 ORDER BY code"
            ))
            .bind(p)
            .fetch_all(db.pool())
            .await?
        }
        None => {
            query(&format!(
                "SELECT {COLUMNS} FROM areas WHERE parent_code IS NULL ORDER BY code"
            ))
            .fetch_all(db.pool())
            .await?
        }
    };
    rows.iter().map(|r| row_to_area(r, false)).collect()
}

pub async fn count_areas(db: &Db) -> Result<i64> {
    Ok(query("SELECT COUNT(*) FROM areas")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?)
}

/// How many areas each level holds (`district`, `street`, …): directory data.
pub async fn count_by_level(db: &Db) -> Result<Vec<(String, i64)>> {
    query("SELECT level, COUNT(*) FROM areas GROUP BY level ORDER BY level")
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Names of the areas at these levels by code (the map's drill-down labels): directory data.
pub async fn names_at(db: &Db, levels: &[Level]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for level in levels {
        for r in query("SELECT code, name FROM areas WHERE level = $1")
            .bind(level.as_str())
            .fetch_all(db.pool())
            .await?
        {
            out.push((r.try_get(0)?, r.try_get(1)?));
        }
    }
    Ok(out)
}

/// What is stored, as a GeoJSON FeatureCollection (optionally one level only).
pub async fn export_geojson(db: &Db, level: Option<Level>) -> Result<Value> {
    let rows = match level {
        Some(l) => {
            query(&format!(
                "SELECT {COLUMNS} FROM areas WHERE level = $1 ORDER BY code"
            ))
            .bind(l.as_str())
            .fetch_all(db.pool())
            .await?
        }
        None => {
            query(&format!("SELECT {COLUMNS} FROM areas ORDER BY code"))
                .fetch_all(db.pool())
                .await?
        }
    };
    let mut features = Vec::with_capacity(rows.len());
    for r in &rows {
        let a = row_to_area(r, true)?;
        let mut props = json!({
            "code": a.code,
            "name": a.name,
            "level": a.level,
            "parent_code": a.parent_code,
        });
        for (k, v) in [
            ("households", a.households.map(Value::from)),
            ("population", a.population.map(Value::from)),
            ("area_m2", a.area_m2.map(Value::from)),
            ("grid_type", a.grid_type.map(Value::from)),
        ] {
            if let Some(v) = v {
                props[k] = v;
            }
        }
        features.push(json!({"type": "Feature", "properties": props, "geometry": a.geometry}));
    }
    Ok(json!({"type": "FeatureCollection", "features": features}))
}

/// A stored area as the import validator and the index builder need it.
pub(crate) struct StoredArea {
    pub name: String,
    pub parent_code: Option<String>,
    pub geometry: Option<geo::MultiPolygon<f64>>,
}

pub(crate) async fn load_all(
    db: &Db,
    with_geometry_of: &[Level],
) -> Result<HashMap<String, StoredArea>> {
    let rows = query("SELECT code, name, level, parent_code, geometry FROM areas")
        .fetch_all(db.pool())
        .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in &rows {
        let level_s: String = r.try_get("level")?;
        let level = Level::parse(&level_s).ok_or_else(|| Error::internal("bad level"))?;
        let geometry = match opt_text(r, "geometry")? {
            Some(g) if with_geometry_of.contains(&level) => {
                let v: Value = serde_json::from_str(&g).map_err(Error::internal)?;
                Some(geometry::parse(&v).map_err(|e| Error::internal(e.join("; ")))?)
            }
            _ => None,
        };
        out.insert(
            r.try_get("code")?,
            StoredArea {
                name: r.try_get("name")?,
                parent_code: opt_text(r, "parent_code")?,
                geometry,
            },
        );
    }
    Ok(out)
}

/// Builds the locate index from every stored grid with a polygon.
pub async fn build_locate_index(db: &Db) -> Result<LocateIndex> {
    let all = load_all(db, &[Level::Grid]).await?;
    let name_of = |code: Option<&String>| -> AreaRef {
        let code = code.cloned().unwrap_or_default();
        AreaRef {
            name: all.get(&code).map(|a| a.name.clone()).unwrap_or_default(),
            code,
        }
    };
    let mut grids = Vec::new();
    for (code, a) in &all {
        let Some(polygon) = &a.geometry else { continue };
        let community = a.parent_code.as_ref();
        let street = community
            .and_then(|c| all.get(c))
            .and_then(|c| c.parent_code.as_ref());
        let district = street
            .and_then(|s| all.get(s))
            .and_then(|s| s.parent_code.as_ref());
        grids.push(GridEntry {
            polygon: polygon.clone(),
            located: Located {
                grid: AreaRef {
                    code: code.clone(),
                    name: a.name.clone(),
                },
                community: name_of(community),
                street: name_of(street),
                district: name_of(district),
            },
        });
    }
    Ok(LocateIndex::build(grids))
}
