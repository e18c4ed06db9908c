//! Point → grid → community → street → district, in memory: an R-tree over grid bounding boxes
//! and an exact point-in-polygon test. Built from storage, swapped in whole when areas change;
//! a lookup never touches the database.

use geo::{BoundingRect, MultiPolygon};
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

/// A grid's envelope in the tree; its rings live in `LocateIndex::coords`.
struct Shape {
    envelope: AABB<[f64; 2]>,
    /// Position in `LocateIndex::answers`; lower means a lower grid code.
    rank: u32,
    /// Range into `LocateIndex::rings`.
    rings: (u32, u32),
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

/// Polygons are flattened into two arrays (ring bounds and coordinates) so a lookup reads
/// contiguous memory instead of chasing a pointer per polygon and ring.
#[derive(Default)]
pub struct LocateIndex {
    tree: RTree<Shape>,
    answers: Vec<Located>,
    rings: Vec<(u32, u32)>,
    coords: Vec<[f64; 2]>,
}

impl LocateIndex {
    /// Bulk-loads the tree (STR packing), which is much faster than inserting one by one.
    pub fn build(mut grids: Vec<GridEntry>) -> LocateIndex {
        grids.sort_by(|a, b| a.located.grid.code.cmp(&b.located.grid.code));
        let mut index = LocateIndex::default();
        let mut shapes = Vec::with_capacity(grids.len());
        for g in grids {
            let Some(rect) = g.polygon.bounding_rect() else {
                continue;
            };
            let first_ring = index.rings.len() as u32;
            for p in &g.polygon.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    let start = index.coords.len() as u32;
                    index.coords.extend(ring.coords().map(|c| [c.x, c.y]));
                    index.rings.push((start, index.coords.len() as u32));
                }
            }
            shapes.push(Shape {
                envelope: AABB::from_corners(
                    [rect.min().x, rect.min().y],
                    [rect.max().x, rect.max().y],
                ),
                rank: index.answers.len() as u32,
                rings: (first_ring, index.rings.len() as u32),
            });
            index.answers.push(g.located);
        }
        index.tree = RTree::bulk_load(shapes);
        index
    }

    pub fn len(&self) -> usize {
        self.answers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// The grid containing the WGS84 point. Even-odd crossing over every ring of the grid:
    /// holes and multi-part grids need no special case, and with the half-open crossing rule
    /// a point on a border shared by two grids belongs to exactly one of them. Should invalid
    /// overlaps exist, the lower code wins.
    pub fn locate(&self, lat: f64, lng: f64) -> Option<&Located> {
        let mut best: Option<u32> = None;
        for s in self
            .tree
            .locate_in_envelope_intersecting(&AABB::from_point([lng, lat]))
        {
            if best.is_some_and(|b| b < s.rank) {
                continue;
            }
            if self.contains(s.rings, lng, lat) {
                best = Some(s.rank);
            }
        }
        best.map(|i| &self.answers[i as usize])
    }

    fn contains(&self, rings: (u32, u32), x: f64, y: f64) -> bool {
        let mut inside = false;
        for &(start, end) in &self.rings[rings.0 as usize..rings.1 as usize] {
            let ring = &self.coords[start as usize..end as usize];
            for w in ring.windows(2) {
                let ([xi, yi], [xj, yj]) = (w[0], w[1]);
                if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                    inside = !inside;
                }
            }
        }
        inside
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
    fn finds_the_containing_grid_and_borders_belong_to_one_grid() {
        let idx = LocateIndex::build(vec![
            square(1.0, 0.0, 1.0, "002"),
            square(0.0, 0.0, 1.0, "001"),
        ]);
        assert_eq!(idx.locate(0.5, 0.5).unwrap().grid.code, "001");
        assert_eq!(idx.locate(0.5, 1.5).unwrap().grid.code, "002");
        assert!(
            idx.locate(0.5, 1.0).is_some(),
            "a shared border is not a gap"
        );
        assert!(idx.locate(1.5, 0.5).is_none());
        assert!(LocateIndex::default().locate(0.0, 0.0).is_none());
    }

    #[test]
    fn holes_and_overlaps() {
        let mut donut = square(0.0, 0.0, 3.0, "010");
        donut.polygon.0[0].interiors_push(LineString::from(vec![
            (1.0, 1.0),
            (2.0, 1.0),
            (2.0, 2.0),
            (1.0, 2.0),
            (1.0, 1.0),
        ]));
        let inner = square(1.0, 1.0, 1.0, "020");
        let overlapping = square(2.5, 2.5, 1.0, "005");
        let idx = LocateIndex::build(vec![donut, inner, overlapping]);
        assert_eq!(
            idx.locate(1.5, 1.5).unwrap().grid.code,
            "020",
            "the hole is the inner grid's"
        );
        assert_eq!(idx.locate(0.5, 0.5).unwrap().grid.code, "010");
        assert_eq!(
            idx.locate(2.75, 2.75).unwrap().grid.code,
            "005",
            "lower code wins an overlap"
        );
    }

    proptest! {
        /// The flat crossing test agrees with geo's point-in-polygon away from borders.
        #[test]
        fn agrees_with_geo(pts in proptest::collection::vec((0.0f64..1.0, 0.0f64..1.0), 5..12), qx in -0.2f64..1.2, qy in -0.2f64..1.2) {
            use geo::{Contains, Coord, Distance, Euclidean, Point, Validation};
            // A star-shaped polygon around the centre from sorted angles (valid by construction).
            let mut by_angle: Vec<(f64, f64, f64)> = pts.iter().map(|(r, a)| {
                let ang = a * std::f64::consts::TAU;
                (ang, 0.5 + (0.1 + 0.4 * r) * ang.cos(), 0.5 + (0.1 + 0.4 * r) * ang.sin())
            }).collect();
            by_angle.sort_by(|a, b| a.0.total_cmp(&b.0));
            by_angle.dedup_by(|a, b| (a.0 - b.0).abs() < 1e-6);
            prop_assume!(by_angle.len() >= 3);
            let mut ring: Vec<(f64, f64)> = by_angle.iter().map(|(_, x, y)| (*x, *y)).collect();
            ring.push(ring[0]);
            let poly = MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])]);
            prop_assume!(poly.is_valid());
            let geo_says = poly.contains(&Coord { x: qx, y: qy });
            // Points on the border may go either way; everything else must agree.
            prop_assume!(Euclidean.distance(&Point::new(qx, qy), poly.0[0].exterior()) > 1e-9);
            let e = GridEntry { polygon: poly, located: Located { grid: r("g"), community: r("c"), street: r("s"), district: r("d") } };
            let idx = LocateIndex::build(vec![e]);
            prop_assert_eq!(idx.locate(qy, qx).is_some(), geo_says);
        }
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
