//! Counting on synthetic tracks whose truth is known by construction: lines (zones,
//! directions and memory in `count_zone_tests.rs`, with these helpers).
//!
//! The test line runs from (100, 200) to (500, 200) on a 640x480 frame: below it (y > 200)
//! is its `in` side; the balanced distance is 4.8 px (1 % of 480), strict 9.6 px and 3
//! frames. Objects are 20x40 boxes placed by their bottom centre (the default anchor).

use super::*;
use crate::analytics::{CrossingMode, Line, Zone};

pub(super) const FRAME_MS: u64 = 40;

pub(super) fn line(mode: CrossingMode) -> Line {
    Line {
        name: "door".into(),
        a: Point { x: 100.0, y: 200.0 },
        b: Point { x: 500.0, y: 200.0 },
        in_direction: None,
        extended: false,
        mode,
        min_distance: None,
        classes: vec![],
        anchor: Anchor::BottomCentre,
    }
}

pub(super) fn square(name: &str, x0: f64, y0: f64, x1: f64, y1: f64) -> Zone {
    Zone {
        name: name.into(),
        outline: vec![
            Point { x: x0, y: y0 },
            Point { x: x1, y: y0 },
            Point { x: x1, y: y1 },
            Point { x: x0, y: y1 },
        ],
        holes: vec![],
        inverse: false,
        classes: vec![],
        anchor: Anchor::BottomCentre,
        inertia: 3,
        loiter_ms: None,
        max_objects: None,
    }
}

pub(super) fn geometry(lines: Vec<Line>, zones: Vec<Zone>) -> Geometry {
    Geometry {
        coordinates: Coordinates::Pixels {
            width: 640.0,
            height: 480.0,
        },
        zones,
        lines,
        directions: vec![],
        frame_max_objects: None,
    }
}

/// An object whose bottom centre is at (x, y).
pub(super) fn at(id: u64, x: f64, y: f64) -> Object<'static> {
    Object {
        track_id: Some(id),
        label: "person",
        label_id: 0,
        x: x - 10.0,
        y: y - 40.0,
        width: 20.0,
        height: 40.0,
    }
}

pub(super) fn untracked(x: f64, y: f64) -> Object<'static> {
    Object {
        track_id: None,
        ..at(0, x, y)
    }
}

/// Feeds frames FRAME_MS apart and keeps every result.
pub(super) struct Feed {
    pub(super) a: Analytics,
    pub(super) t: u64,
    pub(super) results: Vec<FrameResult>,
}

impl Feed {
    pub(super) fn new(g: Geometry) -> Self {
        Feed {
            a: Analytics::new(g),
            t: 0,
            results: vec![],
        }
    }

    pub(super) fn step(&mut self, objects: &[Object]) -> &FrameResult {
        let r = self.a.update(self.t, objects);
        self.t += FRAME_MS;
        self.results.push(r);
        self.results.last().unwrap()
    }

    /// One track walking straight from `from` to `to` (both included) in `n` steps.
    pub(super) fn walk(&mut self, id: u64, from: (f64, f64), to: (f64, f64), n: usize) {
        for i in 0..=n {
            let f = i as f64 / n as f64;
            self.step(&[at(
                id,
                from.0 + f * (to.0 - from.0),
                from.1 + f * (to.1 - from.1),
            )]);
        }
    }

    /// (in, out) of line 0, from the events (checked against the cumulative counts).
    pub(super) fn counts(&self) -> (u64, u64) {
        let mut c = (0, 0);
        for e in self.results.iter().flat_map(|r| &r.events) {
            if let Event::Crossing { direction, .. } = e {
                match direction {
                    CrossDirection::In => c.0 += 1,
                    CrossDirection::Out => c.1 += 1,
                }
            }
        }
        let s = self.a.stats();
        assert_eq!((s.lines[0].in_count, s.lines[0].out_count), c);
        c
    }

    pub(super) fn events(&self) -> Vec<Event> {
        self.results.iter().flat_map(|r| r.events.clone()).collect()
    }
}

#[test]
fn defaults_by_mode() {
    let g = geometry(
        vec![
            line(CrossingMode::Loose),
            line(CrossingMode::Balanced),
            line(CrossingMode::Strict),
            Line {
                min_distance: Some(7.0),
                ..line(CrossingMode::Strict)
            },
        ],
        vec![],
    );
    let a = Analytics::new(g.clone());
    assert_eq!(a.min_distance(0), 0.0);
    assert!((a.min_distance(1) - 4.8).abs() < 1e-9);
    assert!((a.min_distance(2) - 9.6).abs() < 1e-9);
    assert_eq!(a.min_distance(3), 7.0);
    // 1920x1080: 10.8 px; a tiny frame keeps the 4 px floor.
    let a = Analytics::for_frame(&g, 1920.0, 1080.0);
    assert!((a.min_distance(1) - 10.8).abs() < 1e-9);
    let a = Analytics::for_frame(&g, 160.0, 120.0);
    assert_eq!(a.min_distance(1), 4.0);
}

#[test]
fn straight_crossings_both_ways() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    f.walk(1, (300.0, 150.0), (300.0, 250.0), 20); // 5 px steps down: in
    assert_eq!(f.counts(), (1, 0));
    // Counted on the first frame 4.8 px beyond: y = 205 (frame 11), not before.
    let hit: Vec<usize> = (0..f.results.len())
        .filter(|&i| !f.results[i].objects[0].crossings.is_empty())
        .collect();
    assert_eq!(hit, vec![11]);
    assert_eq!(
        f.results[11].objects[0].crossings,
        vec![LineCrossing {
            line: 0,
            direction: CrossDirection::In
        }]
    );
    assert_eq!(
        f.results[11].events,
        vec![Event::Crossing {
            line: 0,
            track: 1,
            direction: CrossDirection::In,
            label: "person".into()
        }]
    );
    // Back up: one out.
    f.walk(1, (300.0, 250.0), (300.0, 150.0), 20);
    assert_eq!(f.counts(), (1, 1));
    // Another track upwards: one more out.
    f.walk(2, (200.0, 260.0), (200.0, 140.0), 24);
    assert_eq!(f.counts(), (1, 2));
    assert_eq!(
        f.results.last().unwrap().lines,
        vec![LineCount {
            in_count: 1,
            out_count: 2
        }]
    );
}

/// Jitter of ±3 px around y = 200 for 100 frames (a fixed pseudo-random pattern and a strict
/// alternation), after walking to the line from above.
fn jitter_track(f: &mut Feed, centre: f64) {
    f.walk(1, (300.0, 150.0), (300.0, centre), 10);
    let mut seed = 12345u32;
    for i in 0..100 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let noise = if i < 50 {
            if i % 2 == 0 {
                3.0
            } else {
                -3.0
            }
        } else {
            f64::from((seed >> 16) % 7) - 3.0
        };
        f.step(&[at(1, 300.0 + noise, centre + noise)]);
    }
}

#[test]
fn stopping_on_the_line_and_jittering_never_counts() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    jitter_track(&mut f, 200.0);
    assert_eq!(f.counts(), (0, 0));
    // It then walks on: exactly one in.
    f.walk(1, (300.0, 200.0), (300.0, 260.0), 12);
    assert_eq!(f.counts(), (1, 0));
}

#[test]
fn loose_mode_counts_jitter() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Loose)], vec![]));
    // Walk to y = 200 (on the line, no side), then 50 alternations 203/197: 25 ins and
    // 25 outs, then 50 frames of random -3..=3 noise (counted separately).
    f.walk(1, (300.0, 150.0), (300.0, 200.0), 10);
    let mut expected = (0u64, 0u64);
    let mut prev_side = -1i8;
    let mut seed = 12345u32;
    for i in 0..100 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let noise = if i < 50 {
            if i % 2 == 0 {
                3.0
            } else {
                -3.0
            }
        } else {
            f64::from((seed >> 16) % 7) - 3.0
        };
        // Reference for loose: every change between strictly positive and strictly
        // negative y - 200 counts.
        let s = if noise > 0.0 {
            1
        } else if noise < 0.0 {
            -1
        } else {
            0
        };
        if s != 0 && s != prev_side {
            if s > 0 {
                expected.0 += 1;
            } else {
                expected.1 += 1;
            }
            prev_side = s;
        }
        f.step(&[at(1, 300.0, 200.0 + noise)]);
    }
    assert!(expected.0 >= 25 && expected.1 >= 25);
    assert_eq!(f.counts(), expected);
    // The same tracks, balanced: nothing.
    let mut b = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    jitter_track(&mut b, 200.0);
    assert_eq!(b.counts(), (0, 0));
}

#[test]
fn crossing_then_jitter_on_the_far_side_counts_once() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    // Stops at 205 (just beyond) and jitters 202..208: partly in the band, never back.
    jitter_track(&mut f, 205.0);
    assert_eq!(f.counts(), (1, 0));
}

#[test]
fn u_turns_do_not_count() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    // Before the line.
    f.walk(1, (300.0, 150.0), (300.0, 198.0), 12);
    f.walk(1, (300.0, 198.0), (300.0, 150.0), 12);
    // Over the line but not 4.8 px beyond.
    f.walk(2, (250.0, 150.0), (250.0, 204.0), 9);
    f.walk(2, (250.0, 204.0), (250.0, 150.0), 9);
    // From below, up to 196 and back.
    f.walk(3, (350.0, 250.0), (350.0, 196.0), 9);
    f.walk(3, (350.0, 196.0), (350.0, 250.0), 9);
    assert_eq!(f.counts(), (0, 0));
}

#[test]
fn grazing_angle_counts_once() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    // 380 px along the line while going 20 px across it, with ±2 px noise across:
    // the anchor crosses the line back and forth many times near x = 300.
    for i in 0..=100 {
        let noise = if i % 2 == 0 { 2.0 } else { -2.0 };
        let x = 110.0 + 3.8 * f64::from(i);
        let y = 190.0 + 0.2 * f64::from(i) + noise;
        f.step(&[at(1, x, y)]);
    }
    assert_eq!(f.counts(), (1, 0));
}

#[test]
fn segment_ends() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    // Diagonal through the segment at x = 490, beyond 4.8 px only past the end (x > 509):
    // counted.
    f.walk(1, (450.0, 190.0), (530.0, 210.0), 16);
    assert_eq!(f.counts(), (1, 0));
    // Around the end of the segment, then back under it: never through it, no count.
    f.walk(2, (450.0, 180.0), (540.0, 180.0), 9);
    f.walk(2, (540.0, 180.0), (540.0, 220.0), 8);
    f.walk(2, (540.0, 220.0), (450.0, 220.0), 9);
    assert_eq!(f.counts(), (1, 0));
    // ... and back up through the segment: one out.
    f.walk(2, (450.0, 220.0), (450.0, 180.0), 8);
    assert_eq!(f.counts(), (1, 1));

    // Through the segment into the band near its end, out past the end, around to the
    // starting side (under the segment: the dip is undone), then around the end to the far
    // side: never a crossing, wherever it ends.
    let mut d = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    d.walk(3, (450.0, 180.0), (495.0, 203.0), 5);
    d.walk(3, (495.0, 203.0), (520.0, 203.0), 5);
    d.walk(3, (520.0, 203.0), (520.0, 180.0), 5);
    d.walk(3, (520.0, 180.0), (450.0, 180.0), 7);
    d.walk(3, (450.0, 180.0), (530.0, 180.0), 8);
    d.walk(3, (530.0, 180.0), (530.0, 220.0), 8);
    d.walk(3, (530.0, 220.0), (450.0, 220.0), 8);
    assert_eq!(d.counts(), (0, 0));

    // The same detour on an extended line crosses it.
    let mut e = Feed::new(geometry(
        vec![Line {
            extended: true,
            ..line(CrossingMode::Balanced)
        }],
        vec![],
    ));
    e.walk(2, (450.0, 180.0), (540.0, 180.0), 9);
    e.walk(2, (540.0, 180.0), (540.0, 220.0), 8);
    assert_eq!(e.counts(), (1, 0));
}

#[test]
fn two_objects_at_once_count_two() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    for i in 0..=20 {
        let y = 150.0 + 5.0 * f64::from(i);
        let r = f.step(&[at(1, 290.0, y), at(2, 310.0, y)]);
        if i == 11 {
            assert_eq!(r.objects[0].crossings.len(), 1);
            assert_eq!(r.objects[1].crossings.len(), 1);
            assert_eq!(r.events.len(), 2);
        }
    }
    assert_eq!(f.counts(), (2, 0));
}

#[test]
fn lost_and_found_with_the_same_id_counts_once() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    f.walk(1, (300.0, 150.0), (300.0, 190.0), 8);
    for _ in 0..10 {
        f.step(&[]);
    }
    // Found on the far side: the gap counts as one step through the line.
    f.walk(1, (300.0, 215.0), (300.0, 250.0), 7);
    assert_eq!(f.counts(), (1, 0));
    // Lost again on the far side and found there: nothing more.
    for _ in 0..10 {
        f.step(&[]);
    }
    f.walk(1, (300.0, 250.0), (300.0, 260.0), 2);
    assert_eq!(f.counts(), (1, 0));
    // Lost on the near side and found on the near side, then crossing: one.
    f.walk(2, (200.0, 150.0), (200.0, 180.0), 6);
    for _ in 0..10 {
        f.step(&[]);
    }
    f.walk(2, (200.0, 185.0), (200.0, 240.0), 11);
    assert_eq!(f.counts(), (2, 0));
    assert_eq!(f.a.track_count(), 2);
}

#[test]
fn forgotten_track_starts_afresh() {
    let g = geometry(vec![line(CrossingMode::Balanced)], vec![]);
    let mut f = Feed {
        a: Analytics::with_options(
            g,
            Options {
                forget_after_frames: 5,
                ..Options::default()
            },
        ),
        t: 0,
        results: vec![],
    };
    f.walk(1, (300.0, 150.0), (300.0, 190.0), 8);
    for _ in 0..6 {
        f.step(&[]);
    }
    assert_eq!(f.a.track_count(), 0);
    // Found on the far side after being forgotten: a new track, established there.
    f.walk(1, (300.0, 215.0), (300.0, 250.0), 7);
    assert_eq!(f.counts(), (0, 0));
    // Time forgets too: 10 s unseen.
    let mut g = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    g.walk(1, (300.0, 150.0), (300.0, 190.0), 8);
    g.t += 10_001;
    g.step(&[]);
    assert_eq!(g.a.track_count(), 0);
}

#[test]
fn id_change_mid_crossing_loses_that_crossing() {
    // The tracker gives the object a new id while it is on the line: the new id is first
    // seen on the far side, establishes it without a count; the old id never reaches it.
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![]));
    f.walk(1, (300.0, 150.0), (300.0, 199.0), 10);
    f.walk(2, (300.0, 201.0), (300.0, 250.0), 10);
    assert_eq!(f.counts(), (0, 0));
    // The new id's own crossing back counts.
    f.walk(2, (300.0, 250.0), (300.0, 150.0), 20);
    assert_eq!(f.counts(), (0, 1));
}

#[test]
fn strict_needs_frames_on_both_sides() {
    let mut f = Feed::new(geometry(
        vec![line(CrossingMode::Strict), line(CrossingMode::Balanced)],
        vec![],
    ));
    // 2 frames on the starting side (15 px beyond), then across: balanced counts, strict
    // does not (its starting side was never established).
    for y in [185.0, 185.0, 215.0, 215.0, 215.0, 215.0] {
        f.step(&[at(1, 300.0, y)]);
    }
    let s = f.a.stats();
    assert_eq!((s.lines[0].in_count, s.lines[1].in_count), (0, 1));
    // 3 frames above (track 2), then below: strict counts on the 3rd frame below.
    for (i, y) in [185.0, 185.0, 185.0, 215.0, 215.0, 215.0, 215.0]
        .into_iter()
        .enumerate()
    {
        let r = f.step(&[at(2, 300.0, y)]);
        let strict_now = r.objects[0].crossings.iter().any(|c| c.line == 0);
        assert_eq!(strict_now, i == 5, "frame {i}");
    }
    // 8 px beyond is not enough for strict (9.6 px).
    for y in [215.0, 215.0, 215.0, 192.0, 192.0, 192.0, 192.0] {
        f.step(&[at(2, 300.0, y)]);
    }
    let s = f.a.stats();
    assert_eq!((s.lines[0].in_count, s.lines[0].out_count), (1, 0));
    assert_eq!((s.lines[1].in_count, s.lines[1].out_count), (2, 1));
}

#[test]
fn untracked_objects_never_count_on_lines() {
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Loose)], vec![]));
    for i in 0..=20 {
        f.step(&[untracked(300.0, 150.0 + 5.0 * f64::from(i))]);
    }
    assert_eq!(f.counts(), (0, 0));
}

#[test]
fn fast_paths_equal_geometry() {
    use super::state::{LineRule, ZoneRule};
    use crate::analytics::geometry::{contains, side};
    // A concave outline with a hole, plain and inverse, on a 0.5 px grid (edges and
    // vertices included).
    let mut z = Zone {
        outline: vec![
            Point { x: 10.0, y: 10.0 },
            Point { x: 50.0, y: 10.0 },
            Point { x: 50.0, y: 50.0 },
            Point { x: 30.0, y: 25.0 },
            Point { x: 10.0, y: 50.0 },
        ],
        holes: vec![vec![
            Point { x: 15.0, y: 12.0 },
            Point { x: 20.0, y: 12.0 },
            Point { x: 20.0, y: 17.0 },
        ]],
        ..square("z", 0.0, 0.0, 1.0, 1.0)
    };
    for inverse in [false, true] {
        z.inverse = inverse;
        let rule = ZoneRule::new(&z);
        let mut inside = 0;
        for i in 0..=120 {
            for j in 0..=120 {
                let p = Point {
                    x: f64::from(i) * 0.5,
                    y: f64::from(j) * 0.5,
                };
                assert_eq!(
                    rule.contains(&z, p),
                    contains(&z, p),
                    "{p:?} inverse {inverse}"
                );
                inside += usize::from(contains(&z, p));
            }
        }
        assert!(inside > 1000 && inside < 121 * 121 - 1000);
    }
    for in_direction in [None, Some(Point { x: 1.0, y: -3.0 })] {
        let l = Line {
            a: Point { x: 13.0, y: 7.0 },
            b: Point { x: 200.0, y: 90.0 },
            in_direction,
            ..line(CrossingMode::Balanced)
        };
        let rule = LineRule::new(&l, 4.8);
        for k in 0..100 {
            let p = Point {
                x: f64::from(k * 37 % 300),
                y: f64::from(k * 53 % 200),
            };
            assert!((rule.side(&l, p) - side(&l, p)).abs() < 1e-9);
        }
    }
}
