//! The demo jurisdiction: Beijing Dongcheng (东城区, 110101) with its real 17 streets and 169
//! communities, and generated street, community and grid polygons inside the real outline.
//! Pure: the same seed gives the same areas (the platform's demo imports them).

use geo::{Area, BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::geometry;

const DIVISIONS: &str = include_str!("../../data/dongcheng-divisions.csv");
const OUTLINE: &str = include_str!("../../data/dongcheng-district.geojson");
const SEED: u64 = 110101;

/// Rough real positions (lat, lng) of the street offices, so generated streets sit roughly
/// where the real ones are (north to south: 和平里 … 永定门外).
const STREET_ANCHORS: &[(&str, f64, f64)] = &[
    ("110101001", 39.915, 116.405),
    ("110101002", 39.928, 116.398),
    ("110101003", 39.940, 116.405),
    ("110101004", 39.950, 116.410),
    ("110101005", 39.943, 116.420),
    ("110101006", 39.930, 116.420),
    ("110101007", 39.925, 116.430),
    ("110101008", 39.908, 116.428),
    ("110101009", 39.943, 116.433),
    ("110101010", 39.962, 116.415),
    ("110101011", 39.895, 116.400),
    ("110101012", 39.897, 116.418),
    ("110101013", 39.893, 116.432),
    ("110101014", 39.880, 116.437),
    ("110101015", 39.881, 116.420),
    ("110101016", 39.876, 116.405),
    ("110101017", 39.862, 116.405),
];

/// One row of the real division list (district, street or community).
pub(crate) struct Division {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: String,
}

pub(crate) fn divisions() -> Vec<Division> {
    DIVISIONS
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Division {
                code: f[0].into(),
                name: f[1].into(),
                level: f[2].into(),
                parent: f.get(3).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

/// The real outline, repaired: the published coordinates are quantised, which leaves two tiny
/// loops where the border doubles back on itself. Overlaying the ring with nothing resolves
/// them; slivers under 0.1% of the district are dropped.
fn outline() -> MultiPolygon<f64> {
    let doc: Value = serde_json::from_str(OUTLINE).expect("embedded outline is JSON");
    let ring: Vec<Coord<f64>> = doc["features"][0]["geometry"]["coordinates"][0]
        .as_array()
        .expect("a ring")
        .iter()
        .map(|p| Coord {
            x: p[0].as_f64().expect("lng"),
            y: p[1].as_f64().expect("lat"),
        })
        .collect();
    let raw = MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]);
    let repaired = raw.union(&MultiPolygon::<f64>(vec![]));
    let total = repaired.unsigned_area();
    MultiPolygon(
        repaired
            .0
            .into_iter()
            .filter(|p| p.unsigned_area() > total * 0.001)
            .collect(),
    )
}

/// A piece to carve: its weight (share of the area) and an optional anchor (lng, lat).
struct Piece {
    id: usize,
    weight: f64,
    anchor: Option<(f64, f64)>,
}

/// Splits `shape` into one part per piece with areas in proportion to the weights, by
/// recursive cuts along slightly tilted lines across the longer side. Parts never overlap and
/// together make the whole, so children always lie inside their parent.
fn partition(
    shape: &MultiPolygon<f64>,
    mut pieces: Vec<Piece>,
    rng: &mut StdRng,
) -> Vec<(usize, MultiPolygon<f64>)> {
    if pieces.len() == 1 {
        return vec![(pieces[0].id, shape.clone())];
    }
    let rect = shape.bounding_rect().expect("non-empty shape");
    let lat0 = rect.center().y.to_radians();
    let wide = rect.width() * lat0.cos() > rect.height();
    let tilt = rng.gen_range(-0.25..0.25);
    let theta: f64 = if wide {
        tilt
    } else {
        std::f64::consts::FRAC_PI_2 + tilt
    };
    let normal = (theta.cos(), theta.sin());
    let project = |x: f64, y: f64| x * normal.0 + y * normal.1;
    if pieces.iter().all(|p| p.anchor.is_some()) {
        pieces.sort_by(|a, b| {
            let (ax, ay) = a.anchor.unwrap();
            let (bx, by) = b.anchor.unwrap();
            project(ax, ay)
                .total_cmp(&project(bx, by))
                .then(a.id.cmp(&b.id))
        });
    }
    let right = pieces.split_off(pieces.len() / 2);
    let left_weight: f64 = pieces.iter().map(|p| p.weight).sum();
    let total = left_weight + right.iter().map(|p| p.weight).sum::<f64>();
    let target = shape.unsigned_area() * left_weight / total;
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for p in shape.0.iter().flat_map(|p| p.exterior().coords()) {
        let v = project(p.x, p.y);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    for _ in 0..50 {
        let mid = (lo + hi) / 2.0;
        if shape
            .intersection(&half_plane(normal, mid, -1.0, rect))
            .unsigned_area()
            < target
        {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let cut = (lo + hi) / 2.0;
    let a = shape.intersection(&half_plane(normal, cut, -1.0, rect));
    let b = shape.intersection(&half_plane(normal, cut, 1.0, rect));
    let mut out = partition(&a, pieces, rng);
    out.extend(partition(&b, right, rng));
    out
}

/// The side of the line `p·normal = offset` given by `side` (−1: below, +1: above), as a
/// polygon that covers everything of `around` on that side.
fn half_plane(normal: (f64, f64), offset: f64, side: f64, around: geo::Rect<f64>) -> Polygon<f64> {
    let far = 2.0 * (around.width() + around.height());
    let m = around.center();
    // The point of the line nearest the shape's centre.
    let shift = offset - (m.x * normal.0 + m.y * normal.1);
    let c = Coord {
        x: m.x + normal.0 * shift,
        y: m.y + normal.1 * shift,
    };
    let d = Coord {
        x: -normal.1,
        y: normal.0,
    };
    let n = Coord {
        x: normal.0 * side,
        y: normal.1 * side,
    };
    let ring = vec![
        c + d * far,
        c - d * far,
        c - d * far + n * far,
        c + d * far + n * far,
        c + d * far,
    ];
    Polygon::new(LineString(ring), vec![])
}

/// The whole demo jurisdiction as a GeoJSON FeatureCollection: district, streets, communities
/// and grids with polygons and attributes. Pure and deterministic.
pub fn jurisdiction() -> Value {
    let mut rng = StdRng::seed_from_u64(SEED);
    let divs = divisions();
    let district = divs
        .iter()
        .find(|d| d.level == "district")
        .expect("a district");
    let streets: Vec<&Division> = divs.iter().filter(|d| d.level == "street").collect();
    let communities = |street: &str| -> Vec<&Division> {
        divs.iter()
            .filter(|d| d.level == "community" && d.parent == street)
            .collect()
    };
    // About 600 grids: three or four per community (Dongcheng runs 589).
    let grids_of: Vec<(String, usize)> = divs
        .iter()
        .filter(|d| d.level == "community")
        .map(|d| (d.code.clone(), if rng.gen_bool(0.55) { 4 } else { 3 }))
        .collect();
    let grid_count = |community: &str| {
        grids_of
            .iter()
            .find(|(c, _)| c == community)
            .map(|(_, n)| *n)
            .unwrap_or(3)
    };

    let shape = outline();
    let mut features = vec![feature(
        &district.code,
        &district.name,
        "district",
        None,
        &shape,
        json!({}),
    )];
    let street_pieces = streets
        .iter()
        .enumerate()
        .map(|(i, s)| Piece {
            id: i,
            weight: communities(&s.code)
                .iter()
                .map(|c| grid_count(&c.code) as f64)
                .sum::<f64>()
                .max(1.0),
            anchor: STREET_ANCHORS
                .iter()
                .find(|(c, _, _)| *c == s.code)
                .map(|(_, lat, lng)| (*lng, *lat)),
        })
        .collect();
    for (si, street_shape) in partition(&shape, street_pieces, &mut rng) {
        let street = streets[si];
        features.push(feature(
            &street.code,
            &street.name,
            "street",
            Some(&district.code),
            &street_shape,
            json!({}),
        ));
        let comms = communities(&street.code);
        let pieces = comms
            .iter()
            .enumerate()
            .map(|(i, c)| Piece {
                id: i,
                weight: grid_count(&c.code) as f64,
                anchor: None,
            })
            .collect();
        for (ci, community_shape) in partition(&street_shape, pieces, &mut rng) {
            let community = comms[ci];
            features.push(feature(
                &community.code,
                &community.name,
                "community",
                Some(&street.code),
                &community_shape,
                json!({}),
            ));
            let n = grid_count(&community.code);
            let pieces = (0..n)
                .map(|i| Piece {
                    id: i,
                    weight: 1.0,
                    anchor: None,
                })
                .collect();
            for (gi, grid_shape) in partition(&community_shape, pieces, &mut rng) {
                let households: i64 = rng.gen_range(300..=500);
                let population = (households as f64 * rng.gen_range(2.2..2.8)).round() as i64;
                let code = format!("{}{:03}", community.code, gi + 1);
                let name = format!(
                    "{}第{}网格",
                    community.name.trim_end_matches("居委会"),
                    gi + 1
                );
                let grid_type = if rng.gen_bool(0.04) {
                    "专属"
                } else {
                    "基础"
                };
                features.push(feature(
                    &code,
                    &name,
                    "grid",
                    Some(&community.code),
                    &grid_shape,
                    json!({"households": households, "population": population, "grid_type": grid_type}),
                ));
            }
        }
    }
    json!({"type": "FeatureCollection", "features": features})
}

fn feature(
    code: &str,
    name: &str,
    level: &str,
    parent: Option<&str>,
    shape: &MultiPolygon<f64>,
    extra: Value,
) -> Value {
    let mut props = json!({"code": code, "name": name, "level": level, "parent_code": parent});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            props[k] = v;
        }
    }
    json!({"type": "Feature", "properties": props, "geometry": geometry::to_geojson(shape)})
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Validation;

    #[test]
    fn the_repaired_outline_is_valid() {
        let o = outline();
        assert!(o.is_valid(), "{:?}", o.validation_errors());
        // Dongcheng covers about 41.8 km².
        let km2 = geometry::area_m2(&o) / 1e6;
        assert!((35.0..48.0).contains(&km2), "{km2}");
    }
}
