//! Area imports: division CSV and GeoJSON. Each import is all or nothing: every problem is
//! reported with its line or feature, and nothing is written unless there are none.
//! A code already stored is updated (name, attributes, polygon); a code twice in one file is
//! an error.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use geo::{BoundingRect, MultiPolygon};
use rstar::{RTree, RTreeObject, AABB};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::store::{insert_area, load_all, update_area, AreaWrite, StoredArea};
use super::{check_code, geometry, parent_code_of, Level, ALL_LEVELS};
use crate::audit;
use crate::db::Db;
use crate::identity::{authorize, Action, Actor, Target};
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Problem {
    /// `line N` (CSV, header is line 1) or `feature N` (GeoJSON, from 0).
    pub at: String,
    pub code: Option<String>,
    pub problem: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
}

/// One area as a file states it, after per-row parsing.
struct Row {
    at: String,
    code: String,
    level: Level,
    name: Option<String>,
    geometry: Option<Arc<MultiPolygon<f64>>>,
    households: Option<i64>,
    population: Option<i64>,
    grid_type: Option<String>,
}

struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, at: &str, code: Option<&str>, problem: impl Into<String>) {
        self.0.push(Problem {
            at: at.to_string(),
            code: code.map(String::from),
            problem: problem.into(),
        });
    }
}

/// An import file as parsed, before it is checked against itself and what is stored: its
/// areas, every code it states (valid or not) with its location, and the problems so far.
pub struct ParsedAreas {
    rows: Vec<Row>,
    seen: Vec<(String, String)>,
    problems: Problems,
}

impl ParsedAreas {
    /// Areas parsed without a problem of their own.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every problem of the file checked as if nothing were stored yet (no database needed):
    /// what the fuzz targets run.
    pub fn problems_alone(self) -> Vec<Problem> {
        self.check(&HashMap::new()).err().unwrap_or_default()
    }

    /// Checks the rows against each other and what is stored: the rows to write, or every problem.
    fn check(
        mut self,
        stored: &HashMap<String, StoredArea>,
    ) -> std::result::Result<Vec<Row>, Vec<Problem>> {
        let (rows, problems) = (&self.rows, &mut self.problems);
        let mut first_at: HashMap<&str, &str> = HashMap::new();
        for (code, at) in &self.seen {
            match first_at.get(code.as_str()) {
                Some(prev) => {
                    problems.add(at, Some(code), format!("duplicate code (also at {prev})"))
                }
                None => {
                    first_at.insert(code, at);
                }
            }
        }
        for r in rows {
            if let Some(p) = r.name.as_deref().and_then(crate::names::problem) {
                problems.add(&r.at, Some(&r.code), p);
            }
            if r.name.is_none() && !stored.contains_key(&r.code) {
                problems.add(&r.at, Some(&r.code), "a new area needs a name");
            }
            if let Some(p) = parent_code_of(&r.code) {
                if !first_at.contains_key(p) && !stored.contains_key(p) {
                    problems.add(
                        &r.at,
                        Some(&r.code),
                        format!("unknown parent {p}: it is neither in the file nor stored"),
                    );
                }
            }
            if r.grid_type.is_some() && r.level != Level::Grid {
                problems.add(&r.at, Some(&r.code), "grid_type applies to grids only");
            }
        }

        // The merged view of polygons: stored, overridden by the file.
        let mut shapes: HashMap<&str, Arc<MultiPolygon<f64>>> = stored
            .iter()
            .filter_map(|(c, a)| a.geometry.clone().map(|g| (c.as_str(), Arc::new(g))))
            .collect();
        let mut incoming: HashMap<&str, &Row> = HashMap::new();
        for r in rows {
            if let Some(g) = &r.geometry {
                shapes.insert(&r.code, g.clone());
                incoming.insert(&r.code, r);
            }
        }
        check_containment(rows, stored, &shapes, &incoming, problems);
        check_grid_overlaps(rows, &shapes, &incoming, problems);
        if self.problems.0.is_empty() {
            Ok(self.rows)
        } else {
            Err(self.problems.0)
        }
    }
}

/// Imports a division CSV with header `code,name,level,parent_code`.
pub async fn import_divisions(db: &Db, actor: &Actor, csv_text: &str) -> Result<ImportReport> {
    apply(
        db,
        actor,
        parse_divisions(csv_text),
        "areas.import_divisions",
    )
    .await
}

/// Parses a division CSV; nothing is checked against what is stored.
pub fn parse_divisions(csv_text: &str) -> ParsedAreas {
    let mut problems = Problems(Vec::new());
    let mut rows = Vec::new();
    let mut seen = Vec::new();
    let text = csv_text.strip_prefix('\u{feff}').unwrap_or(csv_text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    match reader.headers() {
        Ok(h) if h.iter().collect::<Vec<_>>() == ["code", "name", "level", "parent_code"] => {}
        Ok(h) => problems.add(
            "line 1",
            None,
            format!(
                "the header must be code,name,level,parent_code (found {})",
                h.iter().collect::<Vec<_>>().join(",")
            ),
        ),
        Err(e) => problems.add("line 1", None, format!("malformed CSV: {e}")),
    }
    if problems.0.is_empty() {
        for (i, rec) in reader.records().enumerate() {
            let at = format!("line {}", i + 2);
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    problems.add(&at, None, format!("malformed CSV: {e}"));
                    continue;
                }
            };
            if rec.len() != 4 {
                problems.add(&at, None, format!("expected 4 fields, found {}", rec.len()));
                continue;
            }
            let (code, name, level, parent) = (&rec[0], &rec[1], &rec[2], &rec[3]);
            seen.push((code.to_string(), at.clone()));
            let Some(level) = Level::parse(level) else {
                problems.add(
                    &at,
                    Some(code),
                    format!("level {level:?} is not one of district, street, community, grid"),
                );
                continue;
            };
            if name.is_empty() {
                problems.add(&at, Some(code), "the name is empty");
            }
            if let Some(row) = check_identity(&mut problems, &at, code, Some(level), Some(parent)) {
                rows.push(Row {
                    at,
                    code: code.to_string(),
                    level: row,
                    name: (!name.is_empty()).then(|| name.to_string()),
                    geometry: None,
                    households: None,
                    population: None,
                    grid_type: None,
                });
            }
        }
        if rows.is_empty() && problems.0.is_empty() {
            problems.add("line 2", None, "the file has no areas");
        }
    }
    ParsedAreas {
        rows,
        seen,
        problems,
    }
}

/// Imports a GeoJSON FeatureCollection whose features carry `code` and optionally `name`,
/// `level`, `parent_code`, `households`, `population`, `grid_type`.
pub async fn import_geojson(db: &Db, actor: &Actor, text: &str) -> Result<ImportReport> {
    apply(db, actor, parse_geojson(text), "areas.import_geojson").await
}

/// Parses a GeoJSON FeatureCollection of areas; nothing is checked against what is stored.
pub fn parse_geojson(text: &str) -> ParsedAreas {
    let mut problems = Problems(Vec::new());
    let mut rows = Vec::new();
    let mut seen = Vec::new();
    let doc: Value = match serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text)) {
        Ok(v) => v,
        Err(e) => {
            problems.add("file", None, format!("malformed JSON: {e}"));
            return ParsedAreas {
                rows,
                seen,
                problems,
            };
        }
    };
    let features = match (doc.get("type").and_then(Value::as_str), doc.get("features")) {
        (Some("FeatureCollection"), Some(Value::Array(f))) => f.as_slice(),
        _ => {
            problems.add(
                "file",
                None,
                "expected a GeoJSON FeatureCollection with a features array",
            );
            &[]
        }
    };
    if features.is_empty() && problems.0.is_empty() {
        problems.add("file", None, "the FeatureCollection has no features");
    }
    for (i, f) in features.iter().enumerate() {
        rows.extend(feature_row(&mut problems, &mut seen, i, f));
    }
    ParsedAreas {
        rows,
        seen,
        problems,
    }
}

/// One feature as a row, its problems noted; None when it cannot be read as an area at all.
fn feature_row(
    problems: &mut Problems,
    seen: &mut Vec<(String, String)>,
    i: usize,
    f: &Value,
) -> Option<Row> {
    let at = format!("feature {i}");
    let props = f.get("properties").cloned().unwrap_or(Value::Null);
    let code = match props.get("code") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => {
            problems.add(&at, None, "properties.code is missing");
            return None;
        }
    };
    seen.push((code.clone(), at.clone()));
    let text_prop = |k: &str| {
        props
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let level = match text_prop("level") {
        Some(l) => match Level::parse(l) {
            Some(l) => Some(l),
            None => {
                problems.add(
                    &at,
                    Some(&code),
                    format!("level {l:?} is not one of district, street, community, grid"),
                );
                return None;
            }
        },
        None => None,
    };
    let parent = match props.get("parent_code") {
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let level = check_identity(problems, &at, &code, level, parent.as_deref())?;
    let mut count = |k: &str| -> Option<i64> {
        match props.get(k) {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64().filter(|n| *n >= 0) {
                Some(n) => Some(n),
                None => {
                    problems.add(&at, Some(&code), format!("{k} must be a whole number ≥ 0"));
                    None
                }
            },
        }
    };
    let households = count("households");
    let population = count("population");
    let grid_type = match text_prop("grid_type") {
        None => None,
        Some("基础" | "basic") => Some("基础".to_string()),
        Some("专属" | "dedicated") => Some("专属".to_string()),
        Some(other) => {
            problems.add(
                &at,
                Some(&code),
                format!("grid_type {other:?} is not 基础 (basic) or 专属 (dedicated)"),
            );
            None
        }
    };
    let geometry = match f.get("geometry") {
        None | Some(Value::Null) => None,
        Some(g) => match geometry::parse(g) {
            Ok(mp) => Some(Arc::new(mp)),
            Err(errs) => {
                for e in errs {
                    problems.add(&at, Some(&code), format!("invalid polygon: {e}"));
                }
                None
            }
        },
    };
    Some(Row {
        at,
        code,
        level,
        name: text_prop("name").map(String::from),
        geometry,
        households,
        population,
        grid_type,
    })
}

/// Checks a code against its stated level and parent; returns the level when usable.
fn check_identity(
    problems: &mut Problems,
    at: &str,
    code: &str,
    level: Option<Level>,
    parent: Option<&str>,
) -> Option<Level> {
    let level = match level.or_else(|| Level::of_code(code)) {
        Some(l) => l,
        None => {
            problems.add(
                at,
                Some(code),
                format!("code {code:?} is not a 6, 9, 12 or 15-digit area code"),
            );
            return None;
        }
    };
    if let Err(e) = check_code(code, level) {
        problems.add(at, Some(code), format!("wrong code: {e}"));
        return None;
    }
    let parent = parent.map(str::trim).filter(|p| !p.is_empty());
    match (parent_code_of(code), parent) {
        (Some(expected), Some(given)) if expected != given => {
            problems.add(
                at,
                Some(code),
                format!("mismatched parent: parent_code {given} but a {} code {code} belongs under {expected}", level.as_str()),
            );
            return None;
        }
        // A district may name the city or province above it (e.g. 110100); it must be a prefix.
        (None, Some(given)) => {
            let stem = given.trim_end_matches("00");
            if !given.bytes().all(|b| b.is_ascii_digit())
                || stem.is_empty()
                || !code.starts_with(stem)
                || given == code
            {
                problems.add(
                    at,
                    Some(code),
                    format!("mismatched parent: {given} is not above district {code}"),
                );
                return None;
            }
        }
        _ => {}
    }
    Some(level)
}

/// Checks the parsed file against itself and what is stored, then writes it in one transaction
/// with one audit entry — or writes nothing and reports every problem.
async fn apply(db: &Db, actor: &Actor, parsed: ParsedAreas, action: &str) -> Result<ImportReport> {
    // Permission: every row must lie within the actor's scope.
    for r in &parsed.rows {
        authorize(actor, Action::AREA_MANAGE, &Target::area(&r.code))?;
    }
    if parsed.rows.is_empty() && parsed.problems.0.is_empty() {
        authorize(actor, Action::AREA_MANAGE, &Target::global())?;
    }
    let stored = load_all(db, &ALL_LEVELS).await?;
    let rows = parsed.check(&stored).map_err(|problems| {
        let n = problems.len();
        Error::invalid_with(
            "import_rejected",
            format!(
                "the import was rejected with {n} problem{}; nothing was changed",
                if n == 1 { "" } else { "s" }
            ),
            json!({"problems": problems}),
        )
    })?;

    let mut tx = db.begin_write().await?;
    let now = crate::time::now_ms();
    let (mut created, mut updated) = (0, 0);
    let mut summary = Vec::with_capacity(rows.len());
    // Parents before children, so a reader never sees a child without its parent.
    let mut ordered: Vec<&Row> = rows.iter().collect();
    ordered.sort_by_key(|r| (r.level, r.code.clone()));
    for r in ordered {
        let geometry = r
            .geometry
            .as_ref()
            .map(|g| geometry::to_geojson(g).to_string());
        let area_m2 = r.geometry.as_ref().map(|g| geometry::area_m2(g));
        summary.push(json!([
            r.code,
            r.name,
            geometry,
            r.households,
            r.population,
            r.grid_type
        ]));
        let write = AreaWrite {
            code: &r.code,
            name: r.name.as_deref(),
            level: r.level,
            parent_code: parent_code_of(&r.code),
            geometry: geometry.as_deref(),
            area_m2,
            households: r.households,
            population: r.population,
            grid_type: r.grid_type.as_deref(),
        };
        if stored.contains_key(&r.code) {
            update_area(&mut tx, &write, now).await?;
            updated += 1;
        } else {
            insert_area(&mut tx, &write, now).await?;
            created += 1;
        }
    }
    tx.bump_version("areas").await?;
    audit::append(
        &mut tx,
        actor,
        action,
        &format!("areas:{created} created, {updated} updated"),
        &Value::Array(summary),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(ImportReport { created, updated })
}

fn pct(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// Children must lie inside their parents: each incoming polygon inside its parent's, and the
/// stored children of an incoming parent inside its new polygon.
fn check_containment(
    rows: &[Row],
    stored: &HashMap<String, StoredArea>,
    shapes: &HashMap<&str, Arc<MultiPolygon<f64>>>,
    incoming: &HashMap<&str, &Row>,
    problems: &mut Problems,
) {
    for r in rows {
        let Some(g) = &r.geometry else { continue };
        if let Some(pg) = parent_code_of(&r.code).and_then(|p| shapes.get(p)) {
            let out = geometry::outside_share(g, pg);
            if out > geometry::TOLERANCE {
                problems.add(
                    &r.at,
                    Some(&r.code),
                    format!(
                        "lies outside its parent {} ({} of its area is outside)",
                        parent_code_of(&r.code).unwrap_or_default(),
                        pct(out)
                    ),
                );
            }
        }
    }
    let mut children_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (code, a) in stored {
        if let Some(p) = &a.parent_code {
            children_of
                .entry(p.as_str())
                .or_default()
                .push(code.as_str());
        }
    }
    for r in rows {
        let Some(g) = &r.geometry else { continue };
        for child in children_of.get(r.code.as_str()).into_iter().flatten() {
            if incoming.contains_key(child) {
                continue; // checked above, against this new polygon
            }
            if let Some(cg) = shapes.get(child) {
                let out = geometry::outside_share(cg, g);
                if out > geometry::TOLERANCE {
                    problems.add(
                        &r.at,
                        Some(&r.code),
                        format!(
                            "stored child {child} would lie outside this polygon ({} outside)",
                            pct(out)
                        ),
                    );
                }
            }
        }
    }
}

struct Boxed<'a> {
    code: &'a str,
    envelope: AABB<[f64; 2]>,
}

impl RTreeObject for Boxed<'_> {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// Grids must not overlap one another (beyond the tolerance), wherever they sit: overlapping
/// grids would make locate ambiguous. Pairs with at least one incoming grid are checked.
fn check_grid_overlaps(
    rows: &[Row],
    shapes: &HashMap<&str, Arc<MultiPolygon<f64>>>,
    incoming: &HashMap<&str, &Row>,
    problems: &mut Problems,
) {
    let is_grid = |c: &str| Level::of_code(c) == Some(Level::Grid);
    let boxes: Vec<Boxed> = shapes
        .iter()
        .filter(|(c, _)| is_grid(c))
        .filter_map(|(c, g)| {
            let r = g.bounding_rect()?;
            Some(Boxed {
                code: c,
                envelope: AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
            })
        })
        .collect();
    let tree = RTree::bulk_load(boxes);
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for r in rows.iter().filter(|r| r.level == Level::Grid) {
        let Some(g) = incoming
            .get(r.code.as_str())
            .and_then(|r| r.geometry.as_ref())
        else {
            continue;
        };
        let Some(rect) = g.bounding_rect() else {
            continue;
        };
        let env = AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
        for other in tree.locate_in_envelope_intersecting(&env) {
            if other.code == r.code {
                continue;
            }
            let pair = if r.code.as_str() < other.code {
                (r.code.as_str(), other.code)
            } else {
                (other.code, r.code.as_str())
            };
            if !seen.insert(pair) {
                continue;
            }
            let share = geometry::overlap_share(g, &shapes[other.code]);
            if share > geometry::TOLERANCE {
                problems.add(
                    &r.at,
                    Some(&r.code),
                    format!(
                        "overlaps grid {} ({} of the smaller grid)",
                        other.code,
                        pct(share)
                    ),
                );
            }
        }
    }
}
