//! Counting on synthetic tracks whose truth is known by construction: zones (inertia,
//! dwell, loitering, overcrowding), class filters, directions, reset and memory (helpers
//! and the test geometry in `count_tests.rs`).

use super::tests::{at, geometry, line, square, untracked, Feed, FRAME_MS};
use super::*;
use crate::analytics::{CrossingMode, Direction};

#[test]
fn class_filters() {
    let mut l = line(CrossingMode::Balanced);
    l.classes = vec!["Person".into()];
    let mut z = square("bay", 0.0, 0.0, 640.0, 480.0);
    z.classes = vec!["2".into()];
    z.inertia = 1;
    let mut f = Feed::new(geometry(vec![l], vec![z]));
    for i in 0..=20 {
        let y = 150.0 + 5.0 * f64::from(i);
        let car = Object {
            label: "car",
            label_id: 2,
            ..at(1, 300.0, y)
        };
        let person = Object {
            label: "person",
            label_id: 0,
            ..at(2, 200.0, y)
        };
        let r = f.step(&[car, person]);
        // Only the car (class id 2) is in the zone.
        assert_eq!(r.zones[0].count, 1);
        assert_eq!(r.objects[0].zones.len(), 1);
        assert!(r.objects[1].zones.is_empty());
    }
    // Only the person (label, case ignored) crossed.
    assert_eq!(f.counts(), (1, 0));
    assert!(f
        .events()
        .iter()
        .all(|e| !matches!(e, Event::Crossing { track: 1, .. })));
    assert_eq!(f.a.stats().zones[0].entries, 1);
}

#[test]
fn zone_inertia() {
    let z = square("bay", 100.0, 100.0, 300.0, 300.0);
    let mut f = Feed::new(geometry(vec![], vec![z]));
    // In for 2 frames with inertia 3: no entry.
    for p in [(50.0, 50.0), (200.0, 200.0), (200.0, 200.0), (50.0, 50.0)] {
        let r = f.step(&[at(1, p.0, p.1)]);
        assert_eq!(r.zones[0].count, 0);
        assert!(r.objects[0].zones.is_empty());
    }
    assert_eq!(f.a.stats().zones[0].entries, 0);
    // In for 3: entered on the third frame.
    for i in 0..3 {
        let r = f.step(&[at(1, 200.0, 200.0)]);
        assert_eq!(r.zones[0].count, u64::from(i == 2));
    }
    // Out for 2 frames: still in; out for 3: left.
    for i in 0..3 {
        let r = f.step(&[at(1, 50.0, 50.0)]);
        assert_eq!(r.zones[0].count, u64::from(i < 2), "frame {i}");
    }
    let ev = f.events();
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::ZoneEntry { .. }))
            .count(),
        1
    );
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::ZoneExit { .. }))
            .count(),
        1
    );
    // Untracked objects count per frame, without inertia.
    let r = f.step(&[untracked(200.0, 200.0), untracked(210.0, 210.0)]);
    assert_eq!(r.zones[0].count, 2);
    assert_eq!(r.objects[0].zones[0].dwell_ms, None);
    let r = f.step(&[]);
    assert_eq!(r.zones[0].count, 0);
    assert_eq!(f.a.stats().zones[0].entries, 1);
}

#[test]
fn dwell_in_ms() {
    let z = square("bay", 100.0, 100.0, 300.0, 300.0);
    let mut a = Analytics::new(geometry(vec![], vec![z]));
    // Inside at 1000, 1100, ... (first frame inside = start of the dwell).
    for k in 0..10u64 {
        let r = a.update(1000 + 100 * k, &[at(7, 200.0, 200.0)]);
        let want = (k >= 2).then_some(100 * k);
        assert_eq!(r.objects[0].zones.first().and_then(|m| m.dwell_ms), want);
    }
    // Last inside at 1900; out at 2000, 2100, 2200: exit on the third, dwell 900.
    let mut exits = vec![];
    for k in 10..13u64 {
        exits.extend(a.update(1000 + 100 * k, &[at(7, 50.0, 50.0)]).events);
    }
    assert_eq!(
        exits,
        vec![Event::ZoneExit {
            zone: 0,
            track: 7,
            label: "person".into(),
            dwell_ms: 900
        }]
    );
}

#[test]
fn loitering_starts_and_ends_once() {
    let mut z = square("bay", 100.0, 100.0, 300.0, 300.0);
    z.loiter_ms = Some(1000);
    let mut a = Analytics::new(geometry(vec![], vec![z]));
    let mut ev = vec![];
    for k in 0..30u64 {
        let r = a.update(100 * k, &[at(3, 200.0, 200.0)]);
        assert_eq!(
            r.objects[0].zones.first().is_some_and(|m| m.loitering),
            k >= 11
        );
        ev.extend(r.events);
    }
    for k in 30..40u64 {
        ev.extend(a.update(100 * k, &[at(3, 50.0, 50.0)]).events);
    }
    let kinds: Vec<_> = ev
        .iter()
        .map(|e| match e {
            Event::ZoneEntry { .. } => "entry".to_string(),
            Event::LoiteringStart { dwell_ms, .. } => format!("loiter {dwell_ms}"),
            Event::LoiteringEnd { dwell_ms, .. } => format!("loiter-end {dwell_ms}"),
            Event::ZoneExit { dwell_ms, .. } => format!("exit {dwell_ms}"),
            e => format!("{e:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec!["entry", "loiter 1100", "loiter-end 2900", "exit 2900"]
    );
}

#[test]
fn overcrowding_start_and_end() {
    let mut z = square("bay", 100.0, 100.0, 300.0, 300.0);
    z.max_objects = Some(2);
    let mut g = geometry(vec![], vec![z]);
    g.frame_max_objects = Some(3);
    let mut f = Feed::new(g);
    let inside = |n: u64| (1..=n).map(|i| at(i, 150.0 + 10.0 * i as f64, 200.0));
    // 3 inside, 1 outside for 10 frames.
    for _ in 0..10 {
        let objs: Vec<_> = inside(3).chain([at(9, 50.0, 50.0)]).collect();
        f.step(&objs);
    }
    // Then track 3 leaves (3 frames of inertia) and track 9 disappears.
    for _ in 0..10 {
        let objs: Vec<_> = inside(2).chain([at(3, 50.0, 50.0)]).collect();
        f.step(&objs);
    }
    let crowd: Vec<_> = f
        .results
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            r.events.iter().filter_map(move |e| match e {
                Event::OvercrowdingStart { zone, count } => Some((i, "start", *zone, *count)),
                Event::OvercrowdingEnd { zone, count } => Some((i, "end", *zone, *count)),
                _ => None,
            })
        })
        .collect();
    assert_eq!(
        crowd,
        vec![
            (0, "start", None, 4),
            (2, "start", Some(0), 3),
            (10, "end", None, 3),
            (12, "end", Some(0), 2),
        ]
    );
    assert!(!f.results.last().unwrap().zones[0].overcrowded);
    assert!(f.results[5].zones[0].overcrowded && f.results[5].frame_overcrowded);
}

#[test]
fn lost_member_is_not_counted_and_does_not_enter_twice() {
    let z = square("bay", 100.0, 100.0, 300.0, 300.0);
    let mut f = Feed::new(geometry(vec![], vec![z]));
    for _ in 0..5 {
        f.step(&[at(1, 200.0, 200.0)]);
    }
    let counts: Vec<u64> = (0..10).map(|_| f.step(&[]).zones[0].count).collect();
    assert_eq!(counts, vec![1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    let r = f.step(&[at(1, 200.0, 200.0)]);
    assert_eq!(r.zones[0].count, 1);
    assert_eq!(r.objects[0].zones[0].dwell_ms, Some(15 * FRAME_MS));
    assert_eq!(f.a.stats().zones[0].entries, 1);
    // Forgotten while a member: its exit is reported, dwell up to the last frame inside.
    let mut a = Analytics::with_options(
        geometry(vec![], vec![square("bay", 100.0, 100.0, 300.0, 300.0)]),
        Options {
            forget_after_frames: 3,
            ..Options::default()
        },
    );
    for k in 0..4 {
        a.update(k * 100, &[at(5, 200.0, 200.0)]);
    }
    let mut ev = vec![];
    for k in 4..8 {
        ev.extend(a.update(k * 100, &[]).events);
    }
    assert_eq!(
        ev,
        vec![Event::ZoneExit {
            zone: 0,
            track: 5,
            label: "person".into(),
            dwell_ms: 300
        }]
    );
}

#[test]
fn directions() {
    let mut g = geometry(vec![], vec![]);
    g.directions = vec![
        Direction {
            name: "down".into(),
            from: Point { x: 0.0, y: 0.0 },
            to: Point { x: 0.0, y: 10.0 },
            tolerance_deg: 30.0,
            classes: vec![],
        },
        Direction {
            name: "right".into(),
            from: Point { x: 0.0, y: 0.0 },
            to: Point { x: 10.0, y: 0.0 },
            tolerance_deg: 30.0,
            classes: vec!["car".into()],
        },
    ];
    let mut a = Analytics::new(g);
    let mut dirs = vec![];
    for i in 0..8 {
        let y = 100.0 + 5.0 * f64::from(i);
        let r = a.update(
            0,
            &[at(1, 300.0, y), at(2, 100.0 + 5.0 * f64::from(i), 300.0)],
        );
        dirs.push((
            r.objects[0].directions.clone(),
            r.objects[1].directions.clone(),
        ));
    }
    // First sighting: no motion yet; then track 1 moves down; track 2 moves right but the
    // `right` direction is for cars.
    assert_eq!(dirs[0], (vec![], vec![]));
    assert!(dirs[1..].iter().all(|d| *d == (vec![0], vec![])));
    // 30 degrees off: down-right at 45 degrees is in neither; a stationary track neither.
    let r = a.update(0, &[at(3, 0.0, 0.0), at(4, 400.0, 400.0)]);
    assert!(r.objects.iter().all(|o| o.directions.is_empty()));
    let r = a.update(0, &[at(3, 10.0, 10.0), at(4, 401.0, 400.0)]);
    assert!(r.objects.iter().all(|o| o.directions.is_empty()));
}

#[test]
fn reset_clears_counts_and_tracks() {
    let z = square("bay", 0.0, 0.0, 640.0, 480.0);
    let mut f = Feed::new(geometry(vec![line(CrossingMode::Balanced)], vec![z]));
    f.walk(1, (300.0, 150.0), (300.0, 250.0), 20);
    let s = f.a.stats();
    assert_eq!(
        (s.lines[0].in_count, s.zones[0].count, s.zones[0].entries),
        (1, 1, 1)
    );
    assert_eq!(s.lines[0].name, "door");
    assert_eq!(s.zones[0].name, "bay");
    f.a.reset();
    assert_eq!(f.a.track_count(), 0);
    let s = f.a.stats();
    assert_eq!((s.lines[0].in_count, s.lines[0].out_count), (0, 0));
    assert_eq!((s.zones[0].count, s.zones[0].entries), (0, 0));
    // After the reset the track starts afresh: seen below first, no count.
    f.results.clear();
    f.walk(1, (300.0, 250.0), (300.0, 260.0), 2);
    assert_eq!(f.counts(), (0, 0));
}

#[test]
fn memory_is_bounded() {
    let g = geometry(vec![line(CrossingMode::Balanced)], vec![]);
    let mut a = Analytics::with_options(
        g,
        Options {
            max_tracks: 10,
            ..Options::default()
        },
    );
    for id in 0..1000u64 {
        a.update(id, &[at(id, 300.0, 150.0)]);
        assert!(a.track_count() <= 10);
    }
    // More objects on one frame than the cap: the extra ones are untracked.
    let objs: Vec<_> = (2000..2020).map(|id| at(id, 300.0, 150.0)).collect();
    let r = a.update(2000, &objs);
    assert_eq!(r.objects.len(), 20);
    assert_eq!(a.track_count(), 10);
}

#[test]
fn update_into_reuses_and_matches_update() {
    let z = square("bay", 100.0, 100.0, 300.0, 300.0);
    let g = geometry(vec![line(CrossingMode::Balanced)], vec![z]);
    let (mut a, mut b) = (Analytics::new(g.clone()), Analytics::new(g));
    let mut out = FrameResult::default();
    for i in 0..40u64 {
        let y = 150.0 + 5.0 * i as f64;
        let objs: Vec<_> = (0..(i % 4)).map(|k| at(k, 200.0 + k as f64, y)).collect();
        a.update_into(i * 40, &objs, &mut out);
        assert_eq!(out, b.update(i * 40, &objs));
    }
}

#[test]
fn rescale_keeps_counts_visits_and_crossings_under_way() {
    use crate::analytics::geometry::to_frame;
    let z = square("bay", 100.0, 100.0, 300.0, 300.0);
    let g = geometry(vec![line(CrossingMode::Balanced)], vec![z]);
    let mut f = Feed::new(g.clone());
    // One crossing in, and a visit of the zone under way; then a second track half way to
    // the line when the frame doubles in size.
    f.walk(1, (200.0, 150.0), (200.0, 250.0), 20);
    f.walk(2, (400.0, 150.0), (400.0, 190.0), 8);
    assert_eq!(f.counts(), (1, 0));
    let s = f.a.stats();
    assert_eq!((s.zones[0].count, s.zones[0].entries), (0, 1));
    let big = to_frame(&g, 1280.0, 960.0);
    assert!(f.a.rescale(big, 2.0, 2.0));
    // Track 1 stays in the zone (no new entry), track 2 completes its crossing.
    for i in 0..=10 {
        let y = 2.0 * (190.0 + 6.0 * i as f64);
        f.step(&[
            Object {
                x: 2.0 * 200.0 - 20.0,
                y: 2.0 * 250.0 - 80.0,
                width: 40.0,
                height: 80.0,
                ..at(1, 0.0, 0.0)
            },
            Object {
                x: 800.0 - 20.0,
                y: y - 80.0,
                width: 40.0,
                height: 80.0,
                ..at(2, 0.0, 0.0)
            },
        ]);
    }
    assert_eq!(f.counts(), (2, 0));
    let s = f.a.stats();
    assert_eq!(s.zones[0].entries, 1, "the visit went on: no second entry");
    assert!(!f
        .events()
        .iter()
        .any(|e| matches!(e, Event::ZoneExit { .. })));
    // Another geometry is refused and changes nothing.
    let other = geometry(vec![], vec![]);
    assert!(!f.a.rescale(other, 1.0, 1.0));
    assert_eq!(f.a.geometry().lines.len(), 1);
}
