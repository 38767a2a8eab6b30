//! Shapes as sets of pixels: horizontal runs ("spans") per row, built from rectangles (the
//! dashed outline) or from a thick polyline (trails), clipped to the frame as they are built.
//!
//! A [`Shape`]'s spans are sorted by row and column and never overlap, so a shape is filled in
//! one pass ([`super::Canvas::fill_shape`]): every pixel is written once, and in I420/NV12 a
//! chroma sample is blended by the fraction of its 2x2 block the whole shape covers, however
//! many rectangles or segments made it.
//!
//! A thick line of width `t` from `a` to `b` is the set of pixels whose centre (`x + 0.5`,
//! `y + 0.5` in frame coordinates) lies within `t / 2` of the segment: a capsule, with round
//! ends, so the segments of a polyline join without gaps.

use super::canvas::Rect;

/// Slack on the distance test of [`Shape::polyline`], so pixel centres exactly on the
/// capsule's edge are inside whatever the rounding of the arithmetic.
const EDGE_EPSILON: f64 = 1e-6;

/// Pixels `[x0, x1)` of row `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub y: i32,
    pub x0: i32,
    pub x1: i32,
}

/// A set of pixels inside a clip rectangle, as sorted, non-overlapping spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    spans: Vec<Span>,
}

impl Shape {
    /// The union of `spans`, clipped to `clip`.
    pub fn from_spans(spans: Vec<Span>, clip: Rect) -> Self {
        let mut spans: Vec<Span> = spans
            .into_iter()
            .filter(|s| s.y >= clip.y0 && s.y < clip.y1)
            .map(|s| Span {
                y: s.y,
                x0: s.x0.max(clip.x0),
                x1: s.x1.min(clip.x1),
            })
            .filter(|s| s.x1 > s.x0)
            .collect();
        spans.sort_unstable_by_key(|s| (s.y, s.x0));
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for s in spans {
            match merged.last_mut() {
                Some(last) if last.y == s.y && s.x0 <= last.x1 => last.x1 = last.x1.max(s.x1),
                _ => merged.push(s),
            }
        }
        Shape { spans: merged }
    }

    /// The union of `rects`, clipped to `clip` (so a huge rectangle costs only its visible
    /// rows).
    pub fn from_rects(rects: impl IntoIterator<Item = Rect>, clip: Rect) -> Self {
        let mut spans = Vec::new();
        for r in rects {
            let r = r.intersect(&clip);
            if r.is_empty() {
                continue;
            }
            spans.extend((r.y0..r.y1).map(|y| Span {
                y,
                x0: r.x0,
                x1: r.x1,
            }));
        }
        Shape::from_spans(spans, clip)
    }

    /// The pixels within `width / 2` of the polyline through `points` (frame coordinates,
    /// in order), clipped to `clip`. One point draws a disc; none, nothing. Non-finite
    /// points are skipped.
    pub fn polyline(points: &[(f64, f64)], width: f64, clip: Rect) -> Self {
        let r = width.max(0.0) / 2.0 + EDGE_EPSILON;
        let pts: Vec<(f64, f64)> = points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let mut spans = Vec::new();
        let segments: Vec<((f64, f64), (f64, f64))> = match pts.len() {
            0 => Vec::new(),
            1 => vec![(pts[0], pts[0])],
            _ => pts.windows(2).map(|w| (w[0], w[1])).collect(),
        };
        for (a, b) in segments {
            capsule_spans(a, b, r, clip, &mut spans);
        }
        Shape::from_spans(spans, clip)
    }

    /// The pixels whose centre is inside the polygon made of `rings` (frame coordinates),
    /// clipped to `clip`, by the even-odd rule: a ring inside another is a hole. Rings of
    /// fewer than 3 finite points are ignored.
    pub fn polygon(rings: &[&[(f64, f64)]], clip: Rect) -> Self {
        let rings: Vec<Vec<(f64, f64)>> = rings
            .iter()
            .map(|r| {
                r.iter()
                    .copied()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                    .collect::<Vec<_>>()
            })
            .filter(|r| r.len() >= 3)
            .collect();
        let (lo, hi) = rings
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.1), hi.max(p.1))
            });
        if rings.is_empty() {
            return Shape::default();
        }
        let bound = |v: f64, lo: i32, hi: i32| v.clamp(f64::from(lo), f64::from(hi)) as i32;
        let y0 = bound(lo.floor(), clip.y0, clip.y1);
        let y1 = bound(hi.ceil() + 1.0, clip.y0, clip.y1);
        let mut spans = Vec::new();
        let mut xs: Vec<f64> = Vec::new();
        for y in y0..y1 {
            let yc = f64::from(y) + 0.5;
            xs.clear();
            for ring in &rings {
                for (i, &(xa, ya)) in ring.iter().enumerate() {
                    let (xb, yb) = ring[(i + 1) % ring.len()];
                    if (ya <= yc) != (yb <= yc) {
                        xs.push(xa + (yc - ya) * (xb - xa) / (yb - ya));
                    }
                }
            }
            xs.sort_unstable_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                // Pixels x with a centre x + 0.5 in [pair[0], pair[1]).
                let a = bound((pair[0] - 0.5).ceil(), clip.x0 - 1, clip.x1 + 1);
                let b = bound((pair[1] - 0.5).ceil(), clip.x0 - 1, clip.x1 + 1);
                if b > a {
                    spans.push(Span { y, x0: a, x1: b });
                }
            }
        }
        Shape::from_spans(spans, clip)
    }

    /// The outline of a closed polygon `ring`, `width` thick (a closed [`Shape::polyline`]).
    pub fn ring(ring: &[(f64, f64)], width: f64, clip: Rect) -> Self {
        let mut pts = ring.to_vec();
        if let Some(&first) = ring.first() {
            pts.push(first);
        }
        Shape::polyline(&pts, width, clip)
    }

    pub fn spans(&self) -> &[Span] {
        &self.spans
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Number of pixels in the shape.
    pub fn area(&self) -> u64 {
        self.spans.iter().map(|s| (s.x1 - s.x0) as u64).sum()
    }

    /// Whether pixel `(x, y)` is in the shape.
    pub fn contains(&self, x: i32, y: i32) -> bool {
        let i = self.spans.partition_point(|s| (s.y, s.x1) <= (y, x));
        self.spans
            .get(i)
            .is_some_and(|s| s.y == y && s.x0 <= x && x < s.x1)
    }
}

/// The interval `[lo, hi]` of `t` with `lo_c <= c * t + d <= hi_c`, or `None` when empty;
/// unbounded (`c == 0` and `d` inside) is `(-inf, inf)`.
fn linear_range(c: f64, d: f64, lo_c: f64, hi_c: f64) -> Option<(f64, f64)> {
    if c == 0.0 {
        return (lo_c <= d && d <= hi_c).then_some((f64::NEG_INFINITY, f64::INFINITY));
    }
    let (p, q) = ((lo_c - d) / c, (hi_c - d) / c);
    Some((p.min(q), p.max(q)))
}

/// The x interval, on the horizontal line at height `y`, of the capsule of radius `r` around
/// the segment `a`-`b`.
fn capsule_row(a: (f64, f64), b: (f64, f64), r: f64, y: f64) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    // The round ends.
    for (px, py) in [a, b] {
        let dy = y - py;
        if dy.abs() <= r {
            let h = (r * r - dy * dy).max(0.0).sqrt();
            lo = lo.min(px - h);
            hi = hi.max(px + h);
        }
    }
    // The band along the segment: 0 <= (p - a).d <= |d|^2 and |(p - a) x d| <= r |d|.
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    if len2 > 0.0 {
        let ry = y - a.1;
        let along = linear_range(dx, ry * dy - a.0 * dx, 0.0, len2);
        let rl = r * len2.sqrt();
        // (X - ax) * dy - ry * dx, as c * X + d with c = dy.
        let across = linear_range(dy, -a.0 * dy - ry * dx, -rl, rl);
        if let (Some((a0, a1)), Some((c0, c1))) = (along, across) {
            let (l, h) = (a0.max(c0), a1.min(c1));
            if l <= h {
                lo = lo.min(l);
                hi = hi.max(h);
            }
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Appends the spans of the capsule of radius `r` around `a`-`b` inside `clip`.
fn capsule_spans(a: (f64, f64), b: (f64, f64), r: f64, clip: Rect, out: &mut Vec<Span>) {
    // Rows whose centre y + 0.5 is within r of the segment's vertical extent.
    let top = (a.1.min(b.1) - r - 0.5).ceil();
    let bottom = (a.1.max(b.1) + r - 0.5).floor();
    let y0 = top.max(f64::from(clip.y0));
    let y1 = bottom.min(f64::from(clip.y1) - 1.0);
    if y0 > y1 {
        return;
    }
    for y in y0 as i32..=y1 as i32 {
        let Some((lo, hi)) = capsule_row(a, b, r, f64::from(y) + 0.5) else {
            continue;
        };
        // Pixels whose centre x + 0.5 lies in [lo, hi].
        let x0 = (lo - 0.5).ceil().max(f64::from(clip.x0));
        let x1 = (hi - 0.5).floor().min(f64::from(clip.x1) - 1.0);
        if x0 <= x1 {
            out.push(Span {
                y,
                x0: x0 as i32,
                x1: x1 as i32 + 1,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance from `p` to the segment `a`-`b`, by projection (the reference).
    fn distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let t = if len2 == 0.0 {
            0.0
        } else {
            (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
        };
        let (qx, qy) = (a.0 + t * dx, a.1 + t * dy);
        (p.0 - qx).hypot(p.1 - qy)
    }

    #[test]
    fn polylines_cover_exactly_the_pixels_near_their_segments() {
        let clip = Rect::new(0, 0, 60, 50);
        let cases: Vec<(Vec<(f64, f64)>, f64)> = vec![
            (vec![(10.5, 10.5), (40.5, 10.5)], 1.0),
            (vec![(10.5, 10.5), (40.5, 10.5)], 3.0),
            (vec![(10.0, 10.0), (40.0, 10.0)], 2.0),
            (vec![(5.5, 5.5), (45.5, 30.5), (20.5, 44.5)], 1.0),
            (vec![(5.5, 5.5), (45.5, 30.5), (20.5, 44.5)], 3.0),
            (vec![(12.3, 40.7), (13.9, 2.2), (58.1, 20.0)], 5.0),
            (vec![(30.5, 20.5)], 4.0),
            (vec![(-20.0, -20.0), (80.0, 70.0)], 2.0),
            (vec![(30.5, 20.5), (30.5, 20.5), (31.5, 40.5)], 2.0),
        ];
        for (pts, width) in cases {
            let shape = Shape::polyline(&pts, width, clip);
            let segs: Vec<_> = if pts.len() == 1 {
                vec![(pts[0], pts[0])]
            } else {
                pts.windows(2).map(|w| (w[0], w[1])).collect()
            };
            for y in -2..52 {
                for x in -2..62 {
                    let c = (f64::from(x) + 0.5, f64::from(y) + 0.5);
                    let d = segs
                        .iter()
                        .map(|&(a, b)| distance(c, a, b))
                        .fold(f64::INFINITY, f64::min);
                    let want = clip.contains(x, y) && d <= width / 2.0 + 1e-9;
                    assert_eq!(
                        shape.contains(x, y),
                        want,
                        "{pts:?} width {width} at {x},{y} (distance {d:.4})"
                    );
                }
            }
        }
    }

    #[test]
    fn lines_have_their_width_and_thin_diagonals_stay_connected() {
        let clip = Rect::new(0, 0, 100, 100);
        // Odd widths on pixel centres, even widths on pixel corners: exactly `width` rows.
        for (y, width) in [(20.5, 1.0), (20.5, 3.0), (20.0, 2.0), (20.0, 4.0)] {
            let s = Shape::polyline(&[(10.5, y), (60.5, y)], width, clip);
            let rows = (0..100).filter(|&r| s.contains(30, r)).count();
            assert_eq!(rows as f64, width, "width {width} at y {y}");
        }
        // A 1 px line at any slope: every column between the ends has a pixel, and each
        // pixel touches the next column's.
        let s = Shape::polyline(&[(3.5, 7.5), (90.5, 41.5)], 1.0, clip);
        let mut prev: Option<(i32, i32)> = None;
        for x in 3..=90 {
            let ys: Vec<i32> = (0..100).filter(|&y| s.contains(x, y)).collect();
            assert!(!ys.is_empty(), "column {x} empty");
            let (lo, hi) = (ys[0], ys[ys.len() - 1]);
            assert_eq!(hi - lo + 1, ys.len() as i32, "column {x} contiguous");
            if let Some((plo, phi)) = prev {
                assert!(lo <= phi + 1 && hi + 1 >= plo, "column {x} joins {}", x - 1);
            }
            prev = Some((lo, hi));
        }
    }

    #[test]
    fn huge_coordinates_cost_only_the_visible_rows() {
        let clip = Rect::new(0, 0, 64, 48);
        let s = Shape::polyline(&[(-1e7, -1e7), (1e7, 1e7)], 3.0, clip);
        assert!(s.spans().len() <= 48);
        assert!(s.contains(20, 20) && !s.contains(30, 20));
        let r = Shape::from_rects([Rect::new(-10_000_000, 5, 10_000_000, 7)], clip);
        assert_eq!(
            r.spans(),
            &[
                Span {
                    y: 5,
                    x0: 0,
                    x1: 64
                },
                Span {
                    y: 6,
                    x0: 0,
                    x1: 64
                }
            ]
        );
        assert!(Shape::polyline(&[(f64::NAN, 1.0), (f64::INFINITY, 2.0)], 3.0, clip).is_empty());
    }

    #[test]
    fn spans_are_merged_sorted_and_clipped() {
        let clip = Rect::new(0, 0, 20, 10);
        let s = Shape::from_spans(
            vec![
                Span {
                    y: 3,
                    x0: 8,
                    x1: 12,
                },
                Span {
                    y: 1,
                    x0: -5,
                    x1: 2,
                },
                Span { y: 3, x0: 2, x1: 8 },
                Span {
                    y: 3,
                    x0: 14,
                    x1: 30,
                },
                Span {
                    y: 11,
                    x0: 0,
                    x1: 5,
                },
                Span { y: 1, x0: 4, x1: 4 },
            ],
            clip,
        );
        assert_eq!(
            s.spans(),
            &[
                Span { y: 1, x0: 0, x1: 2 },
                Span {
                    y: 3,
                    x0: 2,
                    x1: 12
                },
                Span {
                    y: 3,
                    x0: 14,
                    x1: 20
                },
            ]
        );
        assert_eq!(s.area(), 18);
        let r = Shape::from_rects([Rect::new(1, 1, 4, 3), Rect::new(3, 2, 6, 4)], clip);
        assert_eq!(r.area(), 6 + 6 - 1);
    }
}
