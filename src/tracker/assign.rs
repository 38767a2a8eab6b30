//! Optimal one-to-one assignment of tracks (rows) to detections (columns) on a sparse cost
//! matrix, with "leave unmatched" allowed: the semantics of `lap.lapjv(cost, extend_cost=True,
//! cost_limit=limit)` that ByteTrack uses, i.e. the matching that minimises the sum over
//! matched pairs of `cost - limit`, where only pairs with `cost < limit` may match.
//!
//! IoU costs are sparse (a track overlaps few detections), so the solver works on edge lists:
//! successive shortest augmenting paths (Dijkstra with Johnson potentials, the
//! Jonker-Volgenant family) where every row also has a private "unmatched" column of cost 0.
//! A search only visits the rows and columns connected to the row being placed, so hundreds
//! of well-separated objects cost little more than a greedy pass, and a crowd is still solved
//! exactly.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A candidate pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub row: u32,
    pub col: u32,
    pub cost: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    dist: f64,
    col: u32,
}

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // A min-heap on distance; ties by column for determinism.
        other
            .dist
            .total_cmp(&self.dist)
            .then_with(|| other.col.cmp(&self.col))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

const NONE: u32 = u32::MAX;

/// The solver, with its buffers kept between calls (no allocation per frame once warm).
#[derive(Debug, Default)]
pub struct Solver {
    row_start: Vec<u32>,
    fill: Vec<u32>,
    adj: Vec<(u32, f64)>,
    pot_row: Vec<f64>,
    pot_col: Vec<f64>,
    match_row: Vec<u32>,
    match_col: Vec<u32>,
    dist_row: Vec<f64>,
    dist_col: Vec<f64>,
    prev_row: Vec<u32>,
    seen_row: Vec<u32>,
    seen_col: Vec<u32>,
    done_col: Vec<u32>,
    settled: Vec<u32>,
    visited_rows: Vec<u32>,
    epoch: u32,
    heap: BinaryHeap<Entry>,
    result: Vec<Option<usize>>,
}

impl Solver {
    /// Solves the assignment of `rows` rows to `cols` columns over `edges`; pairs with
    /// `cost >= limit` (or a non-finite cost) are never matched. Returns, per row, its
    /// column or `None`.
    pub fn solve(
        &mut self,
        rows: usize,
        cols: usize,
        edges: &[Edge],
        limit: f64,
    ) -> &[Option<usize>] {
        self.result.clear();
        self.result.resize(rows, None);
        if rows == 0 || cols == 0 || edges.is_empty() {
            return &self.result;
        }
        // Column index space: real columns, then one private dummy per row.
        let total_cols = cols + rows;

        // Edges by row (CSR), weights `cost - limit` (< 0 for allowed pairs).
        self.row_start.clear();
        self.row_start.resize(rows + 1, 0);
        for e in edges {
            if (e.row as usize) < rows && (e.col as usize) < cols && e.cost < limit {
                self.row_start[e.row as usize + 1] += 1;
            }
        }
        for r in 0..rows {
            self.row_start[r + 1] += self.row_start[r];
        }
        self.adj.clear();
        self.adj.resize(self.row_start[rows] as usize, (0, 0.0));
        self.fill.clear();
        self.fill.extend_from_slice(&self.row_start[..rows]);
        for e in edges {
            if (e.row as usize) < rows && (e.col as usize) < cols && e.cost < limit {
                let slot = &mut self.fill[e.row as usize];
                self.adj[*slot as usize] = (e.col, e.cost - limit);
                *slot += 1;
            }
        }

        // Potentials making every reduced cost `w + pot_row - pot_col` non-negative, with all
        // columns at 0: free columns must share one potential, or distances to different
        // free columns would not compare (they stay at 0, as only columns settled before the
        // target, all matched, ever move).
        self.pot_row.clear();
        self.pot_row.resize(rows, 0.0);
        for r in 0..rows {
            let (start, end) = (self.row_start[r] as usize, self.row_start[r + 1] as usize);
            let min = self.adj[start..end]
                .iter()
                .map(|&(_, w)| w)
                .fold(0.0, f64::min);
            self.pot_row[r] = -min;
        }
        self.pot_col.clear();
        self.pot_col.resize(total_cols, 0.0);
        self.match_row.clear();
        self.match_row.resize(rows, NONE);
        self.match_col.clear();
        self.match_col.resize(total_cols, NONE);
        self.dist_row.clear();
        self.dist_row.resize(rows, 0.0);
        self.dist_col.clear();
        self.dist_col.resize(total_cols, f64::INFINITY);
        self.prev_row.clear();
        self.prev_row.resize(total_cols, NONE);
        self.seen_row.clear();
        self.seen_row.resize(rows, 0);
        self.seen_col.clear();
        self.seen_col.resize(total_cols, 0);
        self.done_col.clear();
        self.done_col.resize(total_cols, 0);
        self.epoch = 0;

        for s in 0..rows {
            if self.row_start[s] == self.row_start[s + 1] {
                // No allowed pair: unmatched, nothing to search.
                continue;
            }
            self.place(s as u32, cols as u32);
        }

        for r in 0..rows {
            let c = self.match_row[r];
            if c != NONE && (c as usize) < cols {
                self.result[r] = Some(c as usize);
            }
        }
        &self.result
    }

    fn relax(&mut self, row: u32, real_cols: u32) {
        let r = row as usize;
        let base = self.dist_row[r] + self.pot_row[r];
        let (start, end) = (self.row_start[r] as usize, self.row_start[r + 1] as usize);
        let dummy = real_cols + row;
        for k in start..=end {
            let (c, w) = if k < end { self.adj[k] } else { (dummy, 0.0) };
            let ci = c as usize;
            if self.match_row[r] == c {
                continue;
            }
            let d = base + w - self.pot_col[ci];
            let d = d.max(self.dist_row[r]);
            if self.seen_col[ci] != self.epoch {
                self.seen_col[ci] = self.epoch;
                self.dist_col[ci] = f64::INFINITY;
            }
            if d < self.dist_col[ci] {
                self.dist_col[ci] = d;
                self.prev_row[ci] = row;
                self.heap.push(Entry { dist: d, col: c });
            }
        }
    }

    /// One shortest augmenting path from the free row `s`.
    fn place(&mut self, s: u32, real_cols: u32) {
        self.epoch += 1;
        self.heap.clear();
        self.settled.clear();
        self.visited_rows.clear();
        self.seen_row[s as usize] = self.epoch;
        self.dist_row[s as usize] = 0.0;
        self.visited_rows.push(s);
        self.relax(s, real_cols);
        let mut target = NONE;
        let mut total = 0.0;
        while let Some(Entry { dist, col }) = self.heap.pop() {
            let ci = col as usize;
            if self.done_col[ci] == self.epoch || dist > self.dist_col[ci] {
                continue;
            }
            self.done_col[ci] = self.epoch;
            self.settled.push(col);
            let owner = self.match_col[ci];
            if owner == NONE {
                target = col;
                total = dist;
                break;
            }
            let o = owner as usize;
            if self.seen_row[o] == self.epoch {
                continue;
            }
            self.seen_row[o] = self.epoch;
            self.dist_row[o] = dist;
            self.visited_rows.push(owner);
            self.relax(owner, real_cols);
        }
        if target == NONE {
            // Cannot happen (every row has its own free dummy column), but stay safe.
            return;
        }
        // Potentials: everything settled closer than the target moves by the difference.
        for &r in &self.visited_rows {
            let d = self.dist_row[r as usize];
            if d < total {
                self.pot_row[r as usize] -= total - d;
            }
        }
        for &c in &self.settled {
            let d = self.dist_col[c as usize];
            if d < total {
                self.pot_col[c as usize] -= total - d;
            }
        }
        // Augment along the path back to `s`.
        let mut col = target;
        loop {
            let row = self.prev_row[col as usize];
            let next = self.match_row[row as usize];
            self.match_row[row as usize] = col;
            self.match_col[col as usize] = row;
            if row == s {
                break;
            }
            col = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(costs: &[&[f64]]) -> Vec<Edge> {
        let mut edges = vec![];
        for (r, row) in costs.iter().enumerate() {
            for (c, &cost) in row.iter().enumerate() {
                if cost.is_finite() {
                    edges.push(Edge {
                        row: r as u32,
                        col: c as u32,
                        cost,
                    });
                }
            }
        }
        edges
    }

    /// Exhaustive reference: the best matching by brute force (rows <= 6).
    fn brute(rows: usize, cols: usize, edges: &[Edge], limit: f64) -> f64 {
        fn go(
            r: usize,
            rows: usize,
            used: &mut Vec<bool>,
            cost: &dyn Fn(usize, usize) -> Option<f64>,
        ) -> f64 {
            if r == rows {
                return 0.0;
            }
            let mut best = go(r + 1, rows, used, cost);
            for c in 0..used.len() {
                if !used[c] {
                    if let Some(w) = cost(r, c) {
                        used[c] = true;
                        best = best.min(w + go(r + 1, rows, used, cost));
                        used[c] = false;
                    }
                }
            }
            best
        }
        let lookup = |r: usize, c: usize| {
            edges
                .iter()
                .filter(|e| e.row as usize == r && e.col as usize == c && e.cost < limit)
                .map(|e| e.cost - limit)
                .reduce(f64::min)
        };
        go(0, rows, &mut vec![false; cols], &lookup)
    }

    fn objective(result: &[Option<usize>], edges: &[Edge], limit: f64) -> f64 {
        result
            .iter()
            .enumerate()
            .filter_map(|(r, c)| c.map(|c| (r, c)))
            .map(|(r, c)| {
                edges
                    .iter()
                    .filter(|e| e.row as usize == r && e.col as usize == c)
                    .map(|e| e.cost - limit)
                    .reduce(f64::min)
                    .unwrap()
            })
            .sum()
    }

    #[test]
    fn picks_the_global_optimum_not_the_greedy_one() {
        // Greedy takes (0,0) at 0.1 and leaves row 1 with 0.9; the optimum is the cross.
        let inf = f64::INFINITY;
        let edges = dense(&[&[0.1, 0.2], &[0.3, inf]]);
        let mut s = Solver::default();
        assert_eq!(s.solve(2, 2, &edges, 1.0), &[Some(1), Some(0)]);
    }

    #[test]
    fn pairs_at_or_above_the_limit_stay_unmatched() {
        let edges = dense(&[&[0.85, 0.95], &[0.79, 0.8]]);
        let mut s = Solver::default();
        assert_eq!(s.solve(2, 2, &edges, 0.8), &[None, Some(0)]);
    }

    #[test]
    fn leaving_a_row_unmatched_can_be_optimal() {
        // Matching row 0 to col 0 (0.7) would force row 1 to its poor col 1 (0.75): the
        // optimum takes only (1, 0) at 0.1.
        let edges = dense(&[&[0.7, f64::INFINITY], &[0.1, 0.75]]);
        let mut s = Solver::default();
        let r = s.solve(2, 2, &edges, 0.8).to_vec();
        assert_eq!(r, vec![None, Some(0)]);
        assert!((objective(&r, &edges, 0.8) - brute(2, 2, &edges, 0.8)).abs() < 1e-12);
    }

    #[test]
    fn matches_brute_force_on_random_sparse_problems() {
        let mut seed = 0x1234_5678_9abc_def0_u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut s = Solver::default();
        for _ in 0..2000 {
            let rows = 1 + (rnd() * 6.0) as usize;
            let cols = 1 + (rnd() * 6.0) as usize;
            let mut edges = vec![];
            for r in 0..rows {
                for c in 0..cols {
                    if rnd() < 0.5 {
                        edges.push(Edge {
                            row: r as u32,
                            col: c as u32,
                            cost: rnd(),
                        });
                    }
                }
            }
            let limit = 0.3 + 0.7 * rnd();
            let result = s.solve(rows, cols, &edges, limit).to_vec();
            // One-to-one and only allowed pairs.
            let mut used = vec![false; cols];
            for (r, c) in result.iter().enumerate() {
                if let Some(c) = *c {
                    assert!(!used[c]);
                    used[c] = true;
                    assert!(edges
                        .iter()
                        .any(|e| e.row as usize == r && e.col as usize == c && e.cost < limit));
                }
            }
            let got = objective(&result, &edges, limit);
            let want = brute(rows, cols, &edges, limit);
            assert!(
                (got - want).abs() < 1e-9,
                "got {got} want {want}: {edges:?}"
            );
        }
    }

    #[test]
    fn empty_inputs() {
        let mut s = Solver::default();
        assert_eq!(s.solve(3, 0, &[], 1.0), &[None, None, None]);
        assert!(s.solve(0, 3, &[], 1.0).is_empty());
        let e = [Edge {
            row: 7,
            col: 0,
            cost: 0.0,
        }];
        assert_eq!(
            s.solve(1, 1, &e, 1.0),
            &[None],
            "out-of-range edges are ignored"
        );
    }
}
