//! Point → grid → community → street → district, in memory: an R-tree over grid bounding boxes
//! and an exact point-in-polygon test. Built from storage, swapped in whole when areas change;
//! a lookup never touches the database.

use geo::{BoundingRect, Coord, Intersects, MultiPolygon};
use rstar::{RTree, RTreeObject, AABB};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AreaRef {
    pub code: String,
    pub name: String,
}

/// The answer to a locate: the grid and the areas above it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Located {
    pub grid: AreaRef,
    pub community: AreaRef,
    pub street: AreaRef,
    pub district: AreaRef,
}

struct Shape {
    envelope: AABB<[f64; 2]>,
    /// Position in `LocateIndex::answers`; lower means a lower grid code.
    rank: usize,
    polygon: MultiPolygon<f64>,
}

impl RTreeObject for Shape {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

/// A grid to index: its polygon and its chain of names.
pub struct GridEntry {
    pub polygon: MultiPolygon<f64>,
    pub located: Located,
}

#[derive(Default)]
pub struct LocateIndex {
    tree: RTree<Shape>,
    answers: Vec<Located>,
}

impl LocateIndex {
    /// Bulk-loads the tree (STR packing), which is much faster than inserting one by one.
    pub fn build(mut grids: Vec<GridEntry>) -> LocateIndex {
        grids.sort_by(|a, b| a.located.grid.code.cmp(&b.located.grid.code));
        let mut answers = Vec::with_capacity(grids.len());
        let mut shapes = Vec::with_capacity(grids.len());
        for (rank, g) in grids.into_iter().enumerate() {
            let Some(rect) = g.polygon.bounding_rect() else {
                continue;
            };
            shapes.push(Shape {
                envelope: AABB::from_corners(
                    [rect.min().x, rect.min().y],
                    [rect.max().x, rect.max().y],
                ),
                rank,
                polygon: g.polygon,
            });
            answers.push(g.located);
        }
        // Ranks must index `answers`, which skipped nothing unless a polygon was empty.
        for (i, s) in shapes.iter_mut().enumerate() {
            s.rank = i;
        }
        LocateIndex {
            tree: RTree::bulk_load(shapes),
            answers,
        }
    }

    pub fn len(&self) -> usize {
        self.answers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// The grid containing the WGS84 point (a point on a shared border goes to the lower code).
    pub fn locate(&self, lat: f64, lng: f64) -> Option<&Located> {
        let p = Coord { x: lng, y: lat };
        let mut best: Option<usize> = None;
        for s in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([lng, lat]))
        {
            if best.is_some_and(|b| b < s.rank) {
                continue;
            }
            if s.polygon.intersects(&p) {
                best = Some(s.rank);
            }
        }
        best.map(|i| &self.answers[i])
    }
}

/// GCJ-02 (the offset coordinates Chinese map apps give) → WGS84, by inverting the published
/// forward transform with a few fixed-point steps (error well under a centimetre). Points
/// outside China are not offset in GCJ-02 and come back unchanged.
pub fn gcj02_to_wgs84(lat: f64, lng: f64) -> (f64, f64) {
    if out_of_china(lat, lng) {
        return (lat, lng);
    }
    let (mut wlat, mut wlng) = (lat, lng);
    for _ in 0..8 {
        let (glat, glng) = wgs84_to_gcj02(wlat, wlng);
        wlat += lat - glat;
        wlng += lng - glng;
    }
    (wlat, wlng)
}

/// WGS84 → GCJ-02, the forward transform (Krasovsky 1940 ellipsoid constants).
pub fn wgs84_to_gcj02(lat: f64, lng: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    const A: f64 = 6_378_245.0;
    const EE: f64 = 0.006_693_421_622_965_943;
    if out_of_china(lat, lng) {
        return (lat, lng);
    }
    let x = lng - 105.0;
    let y = lat - 35.0;
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlng += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlng += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlng += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sq = magic.sqrt();
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sq) * PI);
    dlng = (dlng * 180.0) / (A / sq * rad.cos() * PI);
    (lat + dlat, lng + dlng)
}

fn out_of_china(lat: f64, lng: f64) -> bool {
    !(72.004..=137.8347).contains(&lng) || !(0.8293..=55.8271).contains(&lat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};
    use proptest::prelude::*;

    fn r(code: &str) -> AreaRef {
        AreaRef {
            code: code.into(),
            name: code.into(),
        }
    }

    fn square(x: f64, y: f64, s: f64, code: &str) -> GridEntry {
        GridEntry {
            polygon: MultiPolygon(vec![Polygon::new(
                LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
                vec![],
            )]),
            located: Located {
                grid: r(code),
                community: r("c"),
                street: r("s"),
                district: r("d"),
            },
        }
    }

    #[test]
    fn finds_the_containing_grid_and_prefers_the_lower_code_on_borders() {
        let idx = LocateIndex::build(vec![
            square(1.0, 0.0, 1.0, "002"),
            square(0.0, 0.0, 1.0, "001"),
        ]);
        assert_eq!(idx.locate(0.5, 0.5).unwrap().grid.code, "001");
        assert_eq!(idx.locate(0.5, 1.5).unwrap().grid.code, "002");
        assert_eq!(idx.locate(0.5, 1.0).unwrap().grid.code, "001");
        assert!(idx.locate(1.5, 0.5).is_none());
        assert!(LocateIndex::default().locate(0.0, 0.0).is_none());
    }

    #[test]
    fn known_offset_in_beijing() {
        // Tian'anmen: the GCJ-02 offset in Beijing is a few hundred metres to the south-east.
        let (glat, glng) = wgs84_to_gcj02(39.9087, 116.3975);
        assert!((glat - 39.9087 - 0.0014).abs() < 0.0005, "{glat}");
        assert!((glng - 116.3975 - 0.0062).abs() < 0.0005, "{glng}");
    }

    proptest! {
        #[test]
        fn gcj02_round_trip(lat in 18.0f64..53.0, lng in 74.0f64..134.0) {
            let (glat, glng) = wgs84_to_gcj02(lat, lng);
            let (wlat, wlng) = gcj02_to_wgs84(glat, glng);
            prop_assert!((wlat - lat).abs() < 1e-7 && (wlng - lng).abs() < 1e-7);
        }
    }
}
