//! Polygons as GeoJSON says them and as geo computes with them: strict parsing (closed rings,
//! at least four positions, WGS84 ranges, no self-intersection) and tolerant comparisons.

use geo::{
    Area, BooleanOps, ChamberlainDuquetteArea, Coord, LineString, MultiPolygon, Polygon, Validation,
};
use serde_json::{json, Value};

/// Share of a child's area allowed outside its parent, and of the smaller grid's area allowed
/// to overlap another grid: generous enough for digitised borders, strict enough for mistakes.
pub const TOLERANCE: f64 = 0.01;

/// Parses a GeoJSON Polygon or MultiPolygon, reporting every problem found.
pub fn parse(geometry: &Value) -> Result<MultiPolygon<f64>, Vec<String>> {
    let mut problems = Vec::new();
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = geometry.get("coordinates");
    let polygons: Vec<&Value> = match (kind, coords) {
        ("Polygon", Some(c)) => vec![c],
        ("MultiPolygon", Some(Value::Array(ps))) => ps.iter().collect(),
        ("Polygon" | "MultiPolygon", _) => {
            return Err(vec!["geometry has no valid coordinates".into()])
        }
        (other, _) => {
            return Err(vec![format!(
                "geometry must be a Polygon or MultiPolygon, not {:?}",
                other
            )])
        }
    };
    if polygons.is_empty() {
        return Err(vec!["MultiPolygon has no polygons".into()]);
    }
    let mut out = Vec::new();
    for (pi, p) in polygons.iter().enumerate() {
        let Some(rings) = p.as_array().filter(|r| !r.is_empty()) else {
            problems.push(format!("polygon {pi}: no rings"));
            continue;
        };
        let mut parsed: Vec<LineString<f64>> = Vec::new();
        for (ri, ring) in rings.iter().enumerate() {
            let at = if polygons.len() > 1 {
                format!("polygon {pi} ring {ri}")
            } else {
                format!("ring {ri}")
            };
            match parse_ring(ring) {
                Ok(r) => parsed.push(r),
                Err(e) => problems.push(format!("{at}: {e}")),
            }
        }
        if parsed.len() == rings.len() {
            let mut it = parsed.into_iter();
            let exterior = it.next().expect("at least one ring");
            out.push(Polygon::new(exterior, it.collect()));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mp = MultiPolygon(out);
    let invalid: Vec<String> = mp
        .validation_errors()
        .iter()
        .map(|e| e.to_string())
        .collect();
    if !invalid.is_empty() {
        return Err(invalid);
    }
    if mp.unsigned_area() <= 0.0 {
        return Err(vec!["polygon has no area".into()]);
    }
    Ok(mp)
}

fn parse_ring(ring: &Value) -> Result<LineString<f64>, String> {
    let positions = ring
        .as_array()
        .ok_or("a ring must be an array of positions")?;
    let mut coords = Vec::with_capacity(positions.len());
    for (i, p) in positions.iter().enumerate() {
        let xy = p.as_array().filter(|a| a.len() >= 2);
        let (x, y) = match xy.map(|a| (a[0].as_f64(), a[1].as_f64())) {
            Some((Some(x), Some(y))) => (x, y),
            _ => return Err(format!("position {i} is not [longitude, latitude]")),
        };
        if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
            return Err(format!("position {i} [{x}, {y}] is outside WGS84 ranges"));
        }
        coords.push(Coord { x, y });
    }
    if coords.len() < 4 {
        return Err(format!(
            "a ring needs at least 4 positions, this one has {}",
            coords.len()
        ));
    }
    if coords.first() != coords.last() {
        return Err("the ring is not closed (its last position differs from its first)".into());
    }
    Ok(LineString(coords))
}

/// GeoJSON geometry for a stored shape: a Polygon when there is one, else a MultiPolygon.
pub fn to_geojson(mp: &MultiPolygon<f64>) -> Value {
    let poly = |p: &Polygon<f64>| -> Vec<Vec<[f64; 2]>> {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|r| r.coords().map(|c| [c.x, c.y]).collect())
            .collect()
    };
    if mp.0.len() == 1 {
        json!({"type": "Polygon", "coordinates": poly(&mp.0[0])})
    } else {
        json!({"type": "MultiPolygon", "coordinates": mp.0.iter().map(poly).collect::<Vec<_>>()})
    }
}

/// Share of `child`'s area lying outside `parent` (0 = fully inside).
pub fn outside_share(child: &MultiPolygon<f64>, parent: &MultiPolygon<f64>) -> f64 {
    let a = child.unsigned_area();
    if a <= 0.0 {
        return 0.0;
    }
    child.difference(parent).unsigned_area() / a
}

/// Area shared by `a` and `b` as a share of the smaller one.
pub fn overlap_share(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> f64 {
    let small = a.unsigned_area().min(b.unsigned_area());
    if small <= 0.0 {
        return 0.0;
    }
    a.intersection(b).unsigned_area() / small
}

/// Area on the ground in square metres.
pub fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    mp.chamberlain_duquette_unsigned_area()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, s: f64) -> Value {
        json!({"type":"Polygon","coordinates":[[[x,y],[x+s,y],[x+s,y+s],[x,y+s],[x,y]]]})
    }

    #[test]
    fn good_square_parses_and_measures() {
        let mp = parse(&square(116.4, 39.9, 0.01)).unwrap();
        let m2 = area_m2(&mp);
        // 0.01° × 0.01° at 39.9°N is about 1.11 km × 0.85 km.
        assert!((900_000.0..1_000_000.0).contains(&m2), "{m2}");
    }

    #[test]
    fn rejects_each_kind_of_bad_polygon() {
        let unclosed = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]});
        assert!(parse(&unclosed).unwrap_err()[0].contains("not closed"));
        let few = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]});
        assert!(parse(&few).unwrap_err()[0].contains("at least 4"));
        let bowtie = json!({"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]});
        assert!(parse(&bowtie).unwrap_err()[0].contains("self-intersection"));
        let point = json!({"type":"Point","coordinates":[0,0]});
        assert!(parse(&point).is_err());
        let out_of_range = json!({"type":"Polygon","coordinates":[[[0,0],[200,0],[1,1],[0,0]]]});
        assert!(parse(&out_of_range).unwrap_err()[0].contains("WGS84"));
    }

    #[test]
    fn shares() {
        let a = parse(&square(0.0, 0.0, 1.0)).unwrap();
        let b = parse(&square(0.5, 0.0, 1.0)).unwrap();
        let inner = parse(&square(0.25, 0.25, 0.5)).unwrap();
        assert!((overlap_share(&a, &b) - 0.5).abs() < 1e-9);
        assert!(outside_share(&inner, &a) < 1e-12);
        assert!((outside_share(&b, &a) - 0.5).abs() < 1e-9);
        let neighbour = parse(&square(1.0, 0.0, 1.0)).unwrap();
        assert!(overlap_share(&a, &neighbour) < 1e-12);
    }
}
