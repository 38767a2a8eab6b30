//! The association step: which track takes which detection, one stage at a time.
//!
//! A stage is a set of tracks (rows, with the box they are compared by), a set of
//! detections (columns) and a cost: `1 - IoU`, or ByteTrack's fused `1 - IoU x confidence`.
//! Only pairs of the same class key overlap-test; the pairs are found with a sweep over the
//! detections sorted by their left edge (no all-pairs IoU matrix), and the optimal matching
//! under the stage's cost limit comes from [`super::assign::Solver`].

use super::assign::{Edge, Solver};
use super::geometry::BBox;

/// A row or column of a stage.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// Index in the caller's list (a track or a detection).
    pub index: usize,
    pub bbox: BBox,
    pub class_key: u32,
    /// Detection confidence (columns), for the fused cost.
    pub confidence: f64,
}

/// Reused buffers of the association.
#[derive(Debug, Default)]
pub struct Associator {
    solver: Solver,
    edges: Vec<Edge>,
    order: Vec<u32>,
    pairs: Vec<(usize, usize)>,
}

impl Associator {
    /// Matches `rows` to `cols`: pairs whose IoU (times the detection confidence when
    /// `fuse`) reaches `min_score`. Returns `(row index, col index)` pairs in the callers'
    /// index spaces.
    pub fn stage(
        &mut self,
        rows: &[Item],
        cols: &[Item],
        fuse: bool,
        min_score: f64,
    ) -> &[(usize, usize)] {
        self.pairs.clear();
        self.edges.clear();
        if rows.is_empty() || cols.is_empty() {
            return &self.pairs;
        }
        let limit = 1.0 - min_score;

        // Columns by left edge; a row can only overlap columns whose left edge is within
        // (row.x1 - widest column, row.x2).
        self.order.clear();
        self.order.extend(0..cols.len() as u32);
        self.order.sort_unstable_by(|&a, &b| {
            cols[a as usize]
                .bbox
                .x1
                .total_cmp(&cols[b as usize].bbox.x1)
        });
        let widest = cols.iter().map(|c| c.bbox.width()).fold(0.0, f64::max);

        for (ri, row) in rows.iter().enumerate() {
            let lo = row.bbox.x1 - widest;
            let start = self
                .order
                .partition_point(|&c| cols[c as usize].bbox.x1 <= lo);
            for &ci in &self.order[start..] {
                let col = &cols[ci as usize];
                if col.bbox.x1 >= row.bbox.x2 {
                    break;
                }
                if col.class_key != row.class_key {
                    continue;
                }
                let iou = row.bbox.iou(&col.bbox);
                if iou <= 0.0 {
                    continue;
                }
                let score = if fuse { iou * col.confidence } else { iou };
                if score >= min_score {
                    // A score exactly at the threshold matches (the solver wants cost < limit).
                    self.edges.push(Edge {
                        row: ri as u32,
                        col: ci,
                        cost: (1.0 - score).min(limit - 1e-12),
                    });
                }
            }
        }
        let result = self
            .solver
            .solve(rows.len(), cols.len(), &self.edges, limit);
        for (ri, c) in result.iter().enumerate() {
            if let Some(ci) = *c {
                self.pairs.push((rows[ri].index, cols[ci].index));
            }
        }
        &self.pairs
    }
}

/// A lost track as the recovery stage sees it.
#[derive(Debug, Clone, Copy)]
pub struct Reach {
    pub index: usize,
    /// Its last observation and its prediction now.
    pub last: BBox,
    pub predicted: BBox,
    /// How far (pixels) its centre can have gone since the last observation.
    pub radius: f64,
    pub class_key: u32,
}

/// Sizes (square roots of areas) of a recovered track and its detection may differ by this
/// factor at most.
const MAX_SIZE_RATIO: f64 = 1.5;

fn centre_distance(a: &BBox, b: &BBox) -> f64 {
    let (ax, ay, _, _) = a.cxcywh();
    let (bx, by, _, _) = b.cxcywh();
    (ax - bx).hypot(ay - by)
}

impl Associator {
    /// Recovery of lost tracks whose prediction drifted (a turn during an occlusion): a
    /// detection of the same class and a similar size, whose centre lies within the track's
    /// reach from its last observation, matches; the cost is the distance from the
    /// prediction relative to the reach.
    pub fn reach_stage(&mut self, rows: &[Reach], cols: &[Item]) -> &[(usize, usize)] {
        self.pairs.clear();
        self.edges.clear();
        for (ri, row) in rows.iter().enumerate() {
            let size = row.last.area().sqrt();
            if size <= 0.0 || row.radius <= 0.0 {
                continue;
            }
            for (ci, col) in cols.iter().enumerate() {
                if col.class_key != row.class_key {
                    continue;
                }
                let ratio = col.bbox.area().sqrt() / size;
                if !(1.0 / MAX_SIZE_RATIO..=MAX_SIZE_RATIO).contains(&ratio) {
                    continue;
                }
                if centre_distance(&row.last, &col.bbox) > row.radius {
                    continue;
                }
                let cost = (centre_distance(&row.predicted, &col.bbox) / row.radius).min(0.999);
                self.edges.push(Edge {
                    row: ri as u32,
                    col: ci as u32,
                    cost,
                });
            }
        }
        let result = self.solver.solve(rows.len(), cols.len(), &self.edges, 1.0);
        for (ri, c) in result.iter().enumerate() {
            if let Some(ci) = *c {
                self.pairs.push((rows[ri].index, cols[ci].index));
            }
        }
        &self.pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(index: usize, x: f64, y: f64, w: f64, h: f64, key: u32, conf: f64) -> Item {
        Item {
            index,
            bbox: BBox::from_xywh(x, y, w, h),
            class_key: key,
            confidence: conf,
        }
    }

    #[test]
    fn matches_by_overlap_within_a_class() {
        let rows = [
            item(10, 0.0, 0.0, 10.0, 10.0, 0, 1.0),
            item(11, 100.0, 0.0, 10.0, 10.0, 0, 1.0),
            item(12, 200.0, 0.0, 10.0, 10.0, 1, 1.0),
        ];
        let cols = [
            item(20, 101.0, 0.0, 10.0, 10.0, 0, 0.9),
            item(21, 1.0, 1.0, 10.0, 10.0, 0, 0.9),
            // Same place as row 12 but another class: no match.
            item(22, 200.0, 0.0, 10.0, 10.0, 0, 0.9),
        ];
        let mut a = Associator::default();
        let mut pairs = a.stage(&rows, &cols, true, 0.2).to_vec();
        pairs.sort();
        assert_eq!(pairs, vec![(10, 21), (11, 20)]);
    }

    #[test]
    fn the_fused_score_needs_confidence() {
        let rows = [item(0, 0.0, 0.0, 10.0, 10.0, 0, 1.0)];
        // IoU 0.68: passes plain at 0.5, fails fused at confidence 0.5 (0.34 < 0.5).
        let cols = [item(0, 1.0, 1.0, 10.0, 10.0, 0, 0.5)];
        let mut a = Associator::default();
        assert_eq!(a.stage(&rows, &cols, false, 0.5), &[(0, 0)]);
        assert!(a.stage(&rows, &cols, true, 0.5).is_empty());
    }

    #[test]
    fn the_sweep_finds_every_overlap() {
        // Wide and narrow columns interleaved: compare the edges with all pairs.
        let mut seed = 77u64;
        let mut rnd = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let mut a = Associator::default();
        for _ in 0..200 {
            let mk = |i: usize, r: &mut dyn FnMut() -> f64| {
                item(
                    i,
                    r() * 500.0,
                    r() * 50.0,
                    1.0 + r() * 120.0,
                    1.0 + r() * 40.0,
                    0,
                    1.0,
                )
            };
            let rows: Vec<Item> = (0..8).map(|i| mk(i, &mut rnd)).collect();
            let cols: Vec<Item> = (0..8).map(|i| mk(i, &mut rnd)).collect();
            a.stage(&rows, &cols, false, 0.0001);
            let mut got: Vec<(u32, u32)> = a.edges.iter().map(|e| (e.row, e.col)).collect();
            got.sort();
            let mut want = vec![];
            for (r, row) in rows.iter().enumerate() {
                for (c, col) in cols.iter().enumerate() {
                    if row.bbox.iou(&col.bbox) >= 0.0001 {
                        want.push((r as u32, c as u32));
                    }
                }
            }
            assert_eq!(got, want);
        }
    }
}
