//! Point → grid → community → street → district, in memory: a uniform lattice of cells over the
//! grids' bounding boxes (a point finds its cell by two multiplications) where each cell already
//! knows its answer when one grid covers it, and otherwise lists the few grids whose border
//! passes near it with only the edges that can change the answer there. Built from storage,
//! swapped in whole when areas change; a lookup never touches the database.

use geo::MultiPolygon;
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

/// A grid's bounding box and where its edges are; its position in `LocateIndex::shapes` is its
/// rank (lower means a lower grid code).
struct Shape {
    /// min x, min y, max x, max y.
    envelope: [f64; 4],
    /// Range into `LocateIndex::edges`.
    edges: (u32, u32),
}

/// One edge of a ring: x0, y0, x1, y1, as the crossing test reads them.
type Edge = [f64; 4];

/// The even-odd crossing test of one edge against the ray from (x, y) towards +x, half-open in
/// y so a ray through a vertex counts it once. Every answer, fast path or not, is this formula.
#[inline(always)]
fn crosses(e: &Edge, x: f64, y: f64) -> bool {
    let [xi, yi, xj, yj] = *e;
    (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi
}

fn crossings(edges: &[Edge], x: f64, y: f64) -> bool {
    edges
        .iter()
        .fold(false, |inside, e| inside ^ crosses(e, x, y))
}

/// A grid to index: its polygon and its chain of names.
pub struct GridEntry {
    pub polygon: MultiPolygon<f64>,
    pub located: Located,
}

/// About this many cells per grid: fine enough that most cells lie wholly inside one grid (and
/// answer at once), coarse enough that the cells of 100,000 grids stay a few MiB.
const CELLS_PER_SHAPE: usize = 16;
/// At most this many cells in all (16 MiB of cell words).
const MAX_CELLS: usize = 1 << 22;
/// A grid whose box covers more cells than this is kept aside and tried for every point (a
/// few such grids cost little; classifying them in every cell would cost memory and build time).
const WIDE: usize = 1024;

/// A cell word: no grid can hold a point of this cell.
const EMPTY: u32 = u32::MAX;
/// A cell word with this bit (and not `EMPTY`): every point of the cell is in this grid (rank in
/// the other bits) and in no lower one. Otherwise the word is the cell's first `Entry`.
const COVERED: u32 = 1 << 31;
/// `Entry::rank` bits: the cell's last entry; the crossings of the edges left out.
const LAST: u32 = 1 << 31;
const PARITY: u32 = 1 << 30;
const RANK: u32 = PARITY - 1;

/// One grid that may hold points of a cell: the even-odd parity of its edges whose crossing is
/// the same for every point of the cell, and the range of its edges to test (all others).
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Rank, with `LAST` and `PARITY`.
    rank: u32,
    first: u32,
    count: u32,
}

/// How one grid meets one cell.
#[derive(Debug, PartialEq)]
enum Meets {
    /// No point of the cell is in the grid.
    Outside,
    /// Every point of the cell is.
    Covered,
    /// It depends on the point: the parity of the edges outside `first..first + count`, which
    /// are to be tested.
    Edges {
        parity: bool,
        first: u32,
        count: u32,
    },
}

/// The cells: a `nx × ny` lattice over the boxes of every grid, one word each (see `EMPTY`,
/// `COVERED`), and each listed cell's entries (ranks ascending, ending with `LAST`).
#[derive(Default)]
struct Cells {
    bounds: [f64; 4],
    scale: [f64; 2],
    /// Margin added around each cell when classifying it: far larger than any rounding in
    /// `cell_of` or `crosses`, so a grid judged constant over the widened cell is constant for
    /// every point the lattice puts in the cell.
    margin: [f64; 2],
    nx: usize,
    ny: usize,
    cell: Vec<u32>,
    entries: Vec<Entry>,
    /// Grids too wide for the cells, ascending.
    wide: Vec<u32>,
}

impl Cells {
    /// `wide`: how many cells a box may cover before it is kept aside; `per_shape`: cells per
    /// grid.
    fn build(shapes: &[Shape], edges: &[Edge], wide: usize, per_shape: usize) -> Cells {
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
        let cells = (shapes.len() * per_shape).clamp(1, MAX_CELLS) as f64;
        let nx = ((cells * w / h).sqrt().ceil() as usize).clamp(1, MAX_CELLS);
        let ny = ((cells / nx as f64).ceil() as usize).clamp(1, MAX_CELLS / nx);
        let magnitude = b.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let mut c = Cells {
            bounds: b,
            scale: [nx as f64 / w, ny as f64 / h],
            margin: [
                (1e-6 * w / nx as f64).max(1e-12 * magnitude),
                (1e-6 * h / ny as f64).max(1e-12 * magnitude),
            ],
            nx,
            ny,
            ..Cells::default()
        };
        // Each grid against each cell its (widened) box meets, in rank order; then grouped by
        // cell with a stable counting sort, so each cell's entries stay ascending.
        let mut found: Vec<(u32, Entry)> = Vec::with_capacity(shapes.len() * per_shape * 2);
        for (rank, s) in shapes.iter().enumerate() {
            assert!(rank < RANK as usize, "too many grids for the locate index");
            let e = &s.envelope;
            let (m, n) = (c.margin[0], c.margin[1]);
            let ((x0, y0), (x1, y1)) =
                (c.cell_of(e[0] - m, e[1] - n), c.cell_of(e[2] + m, e[3] + n));
            if (x1 - x0 + 1) * (y1 - y0 + 1) > wide {
                c.wide.push(rank as u32);
                continue;
            }
            let own = &edges[s.edges.0 as usize..s.edges.1 as usize];
            for cy in y0..=y1 {
                for cx in x0..=x1 {
                    let entry = match c.meets(own, cx, cy) {
                        Meets::Outside => continue,
                        Meets::Covered => Entry {
                            rank: rank as u32 | PARITY,
                            first: 0,
                            count: 0,
                        },
                        Meets::Edges {
                            parity,
                            first,
                            count,
                        } => Entry {
                            rank: rank as u32 | if parity { PARITY } else { 0 },
                            first: s.edges.0 + first,
                            count,
                        },
                    };
                    found.push(((cy * nx + cx) as u32, entry));
                }
            }
        }
        let mut start = vec![0u32; nx * ny + 1];
        for (cell, _) in &found {
            start[*cell as usize + 1] += 1;
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut sorted = vec![
            Entry {
                rank: 0,
                first: 0,
                count: 0
            };
            found.len()
        ];
        let mut next = start.clone();
        for (cell, entry) in found {
            let slot = &mut next[cell as usize];
            sorted[*slot as usize] = entry;
            *slot += 1;
        }
        // A covered entry ends its cell's list: no higher grid can be the answer there.
        c.cell = vec![EMPTY; nx * ny];
        for (i, word) in c.cell.iter_mut().enumerate() {
            let list = &sorted[start[i] as usize..start[i + 1] as usize];
            let end = list
                .iter()
                .position(|e| e.count == 0 && e.rank & PARITY != 0)
                .map_or(list.len(), |p| p + 1);
            let list = &list[..end];
            match list {
                [] => {}
                [only] if only.count == 0 => *word = COVERED | (only.rank & RANK),
                _ => {
                    *word = c.entries.len() as u32;
                    c.entries.extend_from_slice(list);
                    c.entries.last_mut().expect("not empty").rank |= LAST;
                }
            }
        }
        c.entries.shrink_to_fit();
        assert!(c.entries.len() < COVERED as usize, "locate index too large");
        c
    }

    /// The cell of a point inside the bounds (clamped to the lattice; monotonic in x and y, so
    /// a point inside a box falls in one of the box's cells).
    fn cell_of(&self, x: f64, y: f64) -> (usize, usize) {
        // Casts saturate: a point left of or below the bounds falls in the first column or row.
        let cx = ((x - self.bounds[0]) * self.scale[0]) as usize;
        let cy = ((y - self.bounds[1]) * self.scale[1]) as usize;
        (cx.min(self.nx - 1), cy.min(self.ny - 1))
    }

    /// The cell's rectangle, widened by the margin: min x, min y, max x, max y.
    fn rect(&self, cx: usize, cy: usize) -> [f64; 4] {
        let (b, s, m) = (&self.bounds, &self.scale, &self.margin);
        [
            b[0] + cx as f64 / s[0] - m[0],
            b[1] + cy as f64 / s[1] - m[1],
            b[0] + (cx + 1) as f64 / s[0] + m[0],
            b[1] + (cy + 1) as f64 / s[1] + m[1],
        ]
    }

    /// How a grid (its edges) meets a cell. When no edge comes near the widened cell, every
    /// point of the cell is at least the margin away from the border, so the crossing test
    /// gives one answer for all of them: the centre's. Otherwise each edge's crossing is either
    /// the same for every point of the cell (parity) or must be tested.
    fn meets(&self, edges: &[Edge], cx: usize, cy: usize) -> Meets {
        let [rx0, ry0, rx1, ry1] = self.rect(cx, cy);
        // An edge is near unless its box misses the widened cell or its line passes clear of
        // it (every corner on one side, by more than half the margin, far above rounding).
        let clear = 0.5 * self.margin[0].min(self.margin[1]);
        let near = |e: &Edge| {
            let boxed = e[0].min(e[2]) <= rx1
                && e[0].max(e[2]) >= rx0
                && e[1].min(e[3]) <= ry1
                && e[1].max(e[3]) >= ry0;
            let (dx, dy) = (e[2] - e[0], e[3] - e[1]);
            let tol = clear * dx.hypot(dy);
            let side = |cx: f64, cy: f64| dx * (cy - e[1]) - dy * (cx - e[0]);
            let s = [
                side(rx0, ry0),
                side(rx1, ry0),
                side(rx0, ry1),
                side(rx1, ry1),
            ];
            boxed && !(s.iter().all(|&v| v > tol) || s.iter().all(|&v| v < -tol))
        };
        if !edges.iter().any(near) {
            let (x, y) = ((rx0 + rx1) / 2.0, (ry0 + ry1) / 2.0);
            return if crossings(edges, x, y) {
                Meets::Covered
            } else {
                Meets::Outside
            };
        }
        // Per edge: Some(crossing) when the same for the whole cell, None when to be tested.
        let constant = |e: &Edge| -> Option<bool> {
            let (ylo, yhi) = (e[1].min(e[3]), e[1].max(e[3]));
            let (xlo, xhi) = (e[0].min(e[2]), e[0].max(e[2]));
            if e[1] == e[3] || yhi < ry0 || ylo > ry1 || xhi < rx0 {
                Some(false)
            } else if ylo < ry0 && yhi > ry1 && xlo > rx1 {
                Some(true)
            } else {
                None
            }
        };
        let (mut first, mut last) = (edges.len(), 0);
        for (i, e) in edges.iter().enumerate() {
            if constant(e).is_none() {
                first = first.min(i);
                last = i;
            }
        }
        let parity = edges
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < first || *i > last)
            .fold(false, |p, (_, e)| {
                p ^ constant(e).expect("outside the tested range")
            });
        if first == edges.len() {
            return if parity {
                Meets::Covered
            } else {
                Meets::Outside
            };
        }
        Meets::Edges {
            parity,
            first: first as u32,
            count: (last - first + 1) as u32,
        }
    }

    /// The lowest narrow grid holding the point, if any.
    #[inline]
    fn find(&self, edges: &[Edge], x: f64, y: f64) -> Option<u32> {
        let b = &self.bounds;
        if self.cell.is_empty() || !(x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]) {
            return None;
        }
        let (cx, cy) = self.cell_of(x, y);
        let word = self.cell[cy * self.nx + cx];
        if word == EMPTY {
            return None;
        }
        if word & COVERED != 0 {
            return Some(word & !COVERED);
        }
        let mut at = word as usize;
        loop {
            let e = self.entries[at];
            let tested = &edges[e.first as usize..(e.first + e.count) as usize];
            if crossings(tested, x, y) ^ (e.rank & PARITY != 0) {
                return Some(e.rank & RANK);
            }
            if e.rank & LAST != 0 {
                return None;
            }
            at += 1;
        }
    }
}

/// Polygons are flattened into one array of edges, grid after grid, so a lookup reads
/// contiguous memory instead of chasing a pointer per polygon and ring.
#[derive(Default)]
pub struct LocateIndex {
    cells: Cells,
    shapes: Vec<Shape>,
    answers: Vec<Located>,
    edges: Vec<Edge>,
}

/// What an index holds, for benchmarks.
#[derive(Debug, Clone, Copy)]
pub struct LocateStats {
    pub grids: usize,
    pub cells: usize,
    /// Cells wholly inside one grid (answered without a crossing test).
    pub covered_cells: usize,
    pub empty_cells: usize,
    pub entries: usize,
    pub edges: usize,
    /// Bytes of the index itself (cells, entries, edges, boxes), not of the names it returns.
    pub index_bytes: usize,
}

impl LocateIndex {
    pub fn build(grids: Vec<GridEntry>) -> LocateIndex {
        Self::build_with(grids, WIDE, CELLS_PER_SHAPE)
    }

    /// `wide`: how many cells a box may cover before it is kept aside; `per_shape`: cells per
    /// grid (tests try other values).
    fn build_with(mut grids: Vec<GridEntry>, wide: usize, per_shape: usize) -> LocateIndex {
        grids.sort_by(|a, b| a.located.grid.code.cmp(&b.located.grid.code));
        let mut index = LocateIndex::default();
        for g in grids {
            let first = index.edges.len() as u32;
            for p in &g.polygon.0 {
                for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                    index.edges.extend(
                        ring.lines()
                            .map(|l| [l.start.x, l.start.y, l.end.x, l.end.y]),
                    );
                }
            }
            let own = &index.edges[first as usize..];
            if own.is_empty() {
                continue;
            }
            // The box of every ring, holes included: the crossing test knows no exterior.
            let envelope = own.iter().fold(
                [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ],
                |b, e| {
                    [
                        b[0].min(e[0]).min(e[2]),
                        b[1].min(e[1]).min(e[3]),
                        b[2].max(e[0]).max(e[2]),
                        b[3].max(e[1]).max(e[3]),
                    ]
                },
            );
            index.shapes.push(Shape {
                envelope,
                edges: (first, index.edges.len() as u32),
            });
            index.answers.push(g.located);
        }
        index.edges.shrink_to_fit();
        index.cells = Cells::build(&index.shapes, &index.edges, wide, per_shape);
        index
    }

    pub fn len(&self) -> usize {
        self.answers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    pub fn stats(&self) -> LocateStats {
        let c = &self.cells;
        LocateStats {
            grids: self.len(),
            cells: c.cell.len(),
            covered_cells: c
                .cell
                .iter()
                .filter(|&&w| w != EMPTY && w & COVERED != 0)
                .count(),
            empty_cells: c.cell.iter().filter(|&&w| w == EMPTY).count(),
            entries: c.entries.len(),
            edges: self.edges.len(),
            index_bytes: c.cell.capacity() * 4
                + c.entries.capacity() * std::mem::size_of::<Entry>()
                + c.wide.capacity() * 4
                + self.edges.capacity() * std::mem::size_of::<Edge>()
                + self.shapes.capacity() * std::mem::size_of::<Shape>(),
        }
    }

    /// The grid containing the WGS84 point. Even-odd crossing over every ring of the grid:
    /// holes and multi-part grids need no special case, and with the half-open crossing rule
    /// a point on a border shared by two grids belongs to exactly one of them. Should invalid
    /// overlaps exist, the lower code wins: a cell's grids come lowest first, so the first grid
    /// that holds the point is the answer.
    pub fn locate(&self, lat: f64, lng: f64) -> Option<&Located> {
        let (x, y) = (lng, lat);
        let narrow = self.cells.find(&self.edges, x, y);
        let wide = self
            .cells
            .wide
            .iter()
            .copied()
            .take_while(|&r| narrow.is_none_or(|n| r < n))
            .find(|&r| self.near_box(r, x, y) && self.holds(r, x, y));
        wide.or(narrow).map(|r| &self.answers[r as usize])
    }

    /// Whether the point is within the grid's box widened by the cells' margin (outside it the
    /// crossing test cannot say inside).
    fn near_box(&self, rank: u32, x: f64, y: f64) -> bool {
        let (e, m) = (&self.shapes[rank as usize].envelope, &self.cells.margin);
        x >= e[0] - m[0] && x <= e[2] + m[0] && y >= e[1] - m[1] && y <= e[3] + m[1]
    }

    /// The crossing test over every edge of the grid: what every lookup must agree with.
    fn holds(&self, rank: u32, x: f64, y: f64) -> bool {
        let (a, b) = self.shapes[rank as usize].edges;
        crossings(&self.edges[a as usize..b as usize], x, y)
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

    /// A star: centre x, y, size, (radius, angle) of each vertex in 0..1, whether it has a hole.
    type Star = (f64, f64, f64, Vec<(f64, f64)>, bool);

    /// Star-shaped polygons (slanted edges, sharp vertices) around random centres, overlapping
    /// one another, some with a hole.
    fn stars(specs: &[Star]) -> Vec<GridEntry> {
        specs
            .iter()
            .enumerate()
            .map(|(i, (cx, cy, size, pts, hole))| {
                let ring = |scale: f64| {
                    let mut by_angle: Vec<(f64, f64)> = pts
                        .iter()
                        .map(|(r, a)| (a * std::f64::consts::TAU, (0.3 + 0.7 * r) * size * scale))
                        .collect();
                    by_angle.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let mut ring: Vec<(f64, f64)> = by_angle
                        .iter()
                        .map(|(a, r)| (cx + r * a.cos(), cy + r * a.sin()))
                        .collect();
                    ring.push(ring[0]);
                    LineString::from(ring)
                };
                let holes = if *hole { vec![ring(0.2)] } else { vec![] };
                let mut g = square(0.0, 0.0, 1.0, &format!("{i:03}"));
                g.polygon = MultiPolygon(vec![Polygon::new(ring(1.0), holes)]);
                g
            })
            .collect()
    }

    fn star_specs() -> impl Strategy<Value = Vec<Star>> {
        proptest::collection::vec(
            (
                0.0f64..10.0,
                0.0f64..10.0,
                0.05f64..3.0,
                proptest::collection::vec((0.0f64..1.0, 0.0f64..1.0), 3..14),
                proptest::bool::weighted(0.2),
            ),
            1..40,
        )
    }

    /// The answer of a scan of every grid: the lowest one whose crossing test holds the point.
    fn scan(idx: &LocateIndex, x: f64, y: f64) -> Option<String> {
        (0..idx.shapes.len() as u32)
            .find(|&r| idx.holds(r, x, y))
            .map(|r| idx.answers[r as usize].grid.code.clone())
    }

    proptest! {
        /// The cells miss no grid: the answer is the lowest grid holding the point, as a scan of
        /// every grid finds it, with narrow and wide boxes (kept aside from the cells), overlaps,
        /// coarse and fine cells, and points on corners.
        #[test]
        fn cells_agree_with_a_scan_of_every_grid(
            boxes in proptest::collection::vec((0.0f64..10.0, 0.0f64..10.0, 0.01f64..2.0, 0u8..20), 1..60),
            points in proptest::collection::vec((-1.0f64..13.0, -1.0f64..13.0), 1..80),
            wide in 1usize..40,
            per_shape in 1usize..64,
        ) {
            let grids: Vec<GridEntry> = boxes.iter().enumerate().map(|(i, (x, y, s, w))| {
                let s = if *w == 0 { s * 6.0 } else { *s };
                square(*x, *y, s, &format!("{i:03}"))
            }).collect();
            let idx = LocateIndex::build_with(grids, wide, per_shape);
            let mut probes = points.clone();
            probes.extend(boxes.iter().map(|(x, y, _, _)| (*x, *y)));
            for (x, y) in probes {
                prop_assert_eq!(idx.locate(y, x).map(|l| l.grid.code.clone()), scan(&idx, x, y));
            }
        }

        /// The same with slanted edges, holes and overlaps, probing vertices and the midpoints of
        /// edges (points on borders, where the answer rests on the tie rule alone).
        #[test]
        fn cells_agree_with_a_scan_on_polygons(
            specs in star_specs(),
            points in proptest::collection::vec((-1.0f64..13.0, -1.0f64..13.0), 1..80),
            wide in 1usize..400,
            per_shape in 1usize..64,
        ) {
            let idx = LocateIndex::build_with(stars(&specs), wide, per_shape);
            let mut probes = points.clone();
            for e in &idx.edges {
                probes.push((e[0], e[1]));
                probes.push(((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0));
            }
            for (x, y) in probes {
                prop_assert_eq!(idx.locate(y, x).map(|l| l.grid.code.clone()), scan(&idx, x, y), "at ({}, {})", x, y);
            }
        }

        /// A cell marked covered answers without a test, so it must really be covered: points
        /// anywhere in it (corners included) are in that grid, and for a cell covered outright
        /// in no lower one.
        #[test]
        fn covered_cells_are_covered(
            specs in star_specs(),
            offsets in proptest::collection::vec((0.0f64..1.0, 0.0f64..1.0), 1..12),
            per_shape in 1usize..64,
        ) {
            let idx = LocateIndex::build_with(stars(&specs), WIDE, per_shape);
            let c = &idx.cells;
            let mut offsets = offsets.clone();
            offsets.extend([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)]);
            for cy in 0..c.ny {
                for cx in 0..c.nx {
                    let word = c.cell[cy * c.nx + cx];
                    let covered: Vec<(u32, bool)> = if word == EMPTY {
                        vec![]
                    } else if word & COVERED != 0 {
                        vec![(word & !COVERED, true)]
                    } else {
                        let mut list = vec![];
                        for e in &c.entries[word as usize..] {
                            if e.count == 0 && e.rank & PARITY != 0 {
                                list.push((e.rank & RANK, false));
                            }
                            if e.rank & LAST != 0 {
                                break;
                            }
                        }
                        list
                    };
                    for (rank, outright) in covered {
                        for (u, v) in &offsets {
                            let x = (c.bounds[0] + (cx as f64 + u) / c.scale[0]).min(c.bounds[2]);
                            let y = (c.bounds[1] + (cy as f64 + v) / c.scale[1]).min(c.bounds[3]);
                            if c.cell_of(x, y) != (cx, cy) {
                                continue;
                            }
                            prop_assert!(idx.holds(rank, x, y), "cell ({}, {}) marked covered by {} misses ({}, {})", cx, cy, rank, x, y);
                            // Grids kept aside (wide) are tried apart from the cells.
                            let lowest = (0..idx.shapes.len() as u32).find(|r| !c.wide.contains(r) && idx.holds(*r, x, y));
                            if outright {
                                prop_assert_eq!(lowest, Some(rank), "cell ({}, {}) at ({}, {}), wide {:?}", cx, cy, x, y, c.wide);
                            }
                        }
                    }
                }
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
