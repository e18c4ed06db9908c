//! Point → grid → community → street → district, in memory: a uniform grid of cells over the
//! grids' bounding boxes (a point finds its cell by two multiplications, and the cell lists the
//! few grids whose box meets it) and an exact point-in-polygon test. Built from storage, swapped
//! in whole when areas change; a lookup never touches the database.

use geo::{BoundingRect, MultiPolygon};
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

/// A grid's bounding box and where its rings are; its position in `LocateIndex::shapes` is its
/// rank (lower means a lower grid code).
struct Shape {
    /// min x, min y, max x, max y.
    envelope: [f64; 4],
    /// Range into `LocateIndex::rings`.
    rings: (u32, u32),
}

/// A grid to index: its polygon and its chain of names.
pub struct GridEntry {
    pub polygon: MultiPolygon<f64>,
    pub located: Located,
}

/// About this many cells per grid: small enough that a cell meets two or three grids' boxes.
const CELLS_PER_SHAPE: usize = 4;
/// At most this many cells in all (16 MiB of cell starts).
const MAX_CELLS: usize = 1 << 22;
/// A grid whose box covers more cells than this is kept aside and tried for every point (a
/// few such grids cost little; listing them in every cell would cost memory).
const WIDE: usize = 1024;

/// The cells: a `nx × ny` lattice over the boxes of every grid; each cell's shapes (ranks,
/// ascending) are `items[start[c]..start[c + 1]]`.
#[derive(Default)]
struct Cells {
    bounds: [f64; 4],
    scale: [f64; 2],
    nx: usize,
    ny: usize,
    start: Vec<u32>,
    items: Vec<u32>,
    /// Grids too wide for the cells, ascending.
    wide: Vec<u32>,
}

impl Cells {
    /// `wide`: how many cells a box may cover before it is kept aside.
    fn build(shapes: &[Shape], wide: usize) -> Cells {
        if shapes.is_empty() {
            return Cells::default();
        }
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for s in shapes {
            b[0] = b[0].min(s.envelope[0]);
            b[1] = b[1].min(s.envelope[1]);
            b[2] = b[2].max(s.envelope[2]);
            b[3] = b[3].max(s.envelope[3]);
        }
        let (w, h) = ((b[2] - b[0]).max(1e-9), (b[3] - b[1]).max(1e-9));
        let cells = (shapes.len() * CELLS_PER_SHAPE).clamp(1, MAX_CELLS) as f64;
        let nx = ((cells * w / h).sqrt().ceil() as usize).clamp(1, MAX_CELLS);
        let ny = ((cells / nx as f64).ceil() as usize).clamp(1, MAX_CELLS / nx);
        let mut c = Cells {
            bounds: b,
            scale: [nx as f64 / w, ny as f64 / h],
            nx,
            ny,
            ..Cells::default()
        };
        // Two passes: count each cell's shapes, then place them (in rank order, so each cell's
        // list is ascending).
        let mut count = vec![0u32; nx * ny + 1];
        let mut narrow = Vec::with_capacity(shapes.len());
        for (rank, s) in shapes.iter().enumerate() {
            let ((x0, y0), (x1, y1)) = (
                c.cell_of(s.envelope[0], s.envelope[1]),
                c.cell_of(s.envelope[2], s.envelope[3]),
            );
            if (x1 - x0 + 1) * (y1 - y0 + 1) > wide {
                c.wide.push(rank as u32);
                continue;
            }
            narrow.push((rank as u32, x0, y0, x1, y1));
            for y in y0..=y1 {
                for x in x0..=x1 {
                    count[y * nx + x + 1] += 1;
                }
            }
        }
        for i in 1..count.len() {
            count[i] += count[i - 1];
        }
        let mut next = count.clone();
        c.items = vec![0; count[nx * ny] as usize];
        for (rank, x0, y0, x1, y1) in narrow {
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let slot = &mut next[y * nx + x];
                    c.items[*slot as usize] = rank;
                    *slot += 1;
                }
            }
        }
        c.start = count;
        c
    }

    /// The cell of a point inside the bounds (clamped to the lattice; monotonic in x and y, so
    /// a point inside a box falls in one of the box's cells).
    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        let cx = ((x - self.bounds[0]) * self.scale[0]) as usize;
        let cy = ((y - self.bounds[1]) * self.scale[1]) as usize;
        (cx.min(self.nx - 1), cy.min(self.ny - 1))
    }

    /// The shapes whose box may hold the point, ascending, or none when it is outside them all.
    fn candidates(&self, x: f64, y: f64) -> &[u32] {
        let b = &self.bounds;
        if self.start.is_empty() || !(x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]) {
            return &[];
        }
        let (cx, cy) = self.cell_of(x, y);
        let i = cy * self.nx + cx;
        &self.items[self.start[i] as usize..self.start[i + 1] as usize]
    }
}

/// Polygons are flattened into two arrays (ring bounds and coordinates) so a lookup reads
/// contiguous memory instead of chasing a pointer per polygon and ring.
#[derive(Default)]
pub struct LocateIndex {
    cells: Cells,
    shapes: Vec<Shape>,
    answers: Vec<Located>,
    rings: Vec<(u32, u32)>,
    coords: Vec<[f64; 2]>,
}

impl LocateIndex {
    pub fn build(grids: Vec<GridEntry>) -> LocateIndex {
        Self::build_with(grids, WIDE)
    }

    /// `wide`: how many cells a box may cover before it is kept aside (tests try small ones).
    fn build_with(mut grids: Vec<GridEntry>, wide: usize) -> LocateIndex {
        grids.sort_by(|a, b| a.located.grid.code.cmp(&b.located.grid.code));
        let mut index = LocateIndex::default();
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
            index.shapes.push(Shape {
                envelope: [rect.min().x, rect.min().y, rect.max().x, rect.max().y],
                rings: (first_ring, index.rings.len() as u32),
            });
            index.answers.push(g.located);
        }
        index.cells = Cells::build(&index.shapes, wide);
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
    /// overlaps exist, the lower code wins: candidates come lowest first, so the first grid
    /// that holds the point is the answer.
    pub fn locate(&self, lat: f64, lng: f64) -> Option<&Located> {
        let (x, y) = (lng, lat);
        let narrow = self
            .cells
            .candidates(x, y)
            .iter()
            .copied()
            .find(|&r| self.holds(r, x, y));
        let wide = self
            .cells
            .wide
            .iter()
            .copied()
            .take_while(|&r| narrow.is_none_or(|n| r < n))
            .find(|&r| self.holds(r, x, y));
        wide.or(narrow).map(|r| &self.answers[r as usize])
    }

    fn holds(&self, rank: u32, x: f64, y: f64) -> bool {
        let s = &self.shapes[rank as usize];
        let e = &s.envelope;
        x >= e[0] && x <= e[2] && y >= e[1] && y <= e[3] && self.contains(s.rings, x, y)
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

    proptest! {
        /// The cells miss no grid: the answer is the lowest grid holding the point, as a scan of
        /// every grid finds it, with narrow and wide boxes (kept aside from the cells), overlaps,
        /// and points on corners.
        #[test]
        fn cells_agree_with_a_scan_of_every_grid(
            boxes in proptest::collection::vec((0.0f64..10.0, 0.0f64..10.0, 0.01f64..2.0, 0u8..20), 1..60),
            points in proptest::collection::vec((-1.0f64..13.0, -1.0f64..13.0), 1..80),
            wide in 1usize..40,
        ) {
            let grids: Vec<GridEntry> = boxes.iter().enumerate().map(|(i, (x, y, s, w))| {
                let s = if *w == 0 { s * 6.0 } else { *s };
                square(*x, *y, s, &format!("{i:03}"))
            }).collect();
            let idx = LocateIndex::build_with(grids, wide);
            let mut probes = points.clone();
            probes.extend(boxes.iter().map(|(x, y, _, _)| (*x, *y)));
            for (x, y) in probes {
                let scan = (0..idx.shapes.len() as u32).find(|&r| idx.holds(r, x, y));
                let got = idx.locate(y, x).map(|l| l.grid.code.clone());
                prop_assert_eq!(got, scan.map(|r| idx.answers[r as usize].grid.code.clone()));
            }
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
