//! Scenario tests of the whole tracker: ground-truth objects move, the "detector" sees them
//! (or not), and the ids and boxes that come out are checked against the truth.

use super::*;

const MS: u64 = 1_000_000;
/// 30 fps.
const FRAME: u64 = 33_333_333;

fn obs(x: f64, y: f64, w: f64, h: f64, conf: f64, label: &'static str) -> Observation<'static> {
    Observation {
        bbox: BBox::from_xywh(x, y, w, h),
        confidence: conf,
        label,
        label_id: match label {
            "person" => 0,
            "car" => 2,
            "truck" => 7,
            _ => 99,
        },
    }
}

fn tracker() -> Tracker {
    Tracker::new(
        Config {
            frame_size: Some((640.0, 480.0)),
            ..Config::default()
        },
        1,
    )
}

/// Runs `frames` frames; `scene(f)` gives the detections of frame `f` (None: no detector).
/// Returns, per frame, the output objects as (id, box, predicted).
fn run(
    t: &mut Tracker,
    frames: u64,
    mut scene: impl FnMut(u64) -> Option<Vec<Observation<'static>>>,
) -> Vec<Vec<(u64, BBox, bool)>> {
    (0..frames)
        .map(|f| {
            let dets = scene(f);
            let out = t.update(Some(f * FRAME), dets.as_deref());
            out.objects
                .iter()
                .map(|o| (o.id, o.bbox, o.predicted))
                .collect()
        })
        .collect()
}

fn ids(frames: &[Vec<(u64, BBox, bool)>]) -> std::collections::BTreeSet<u64> {
    frames.iter().flatten().map(|o| o.0).collect()
}

#[test]
fn ids_are_stable_along_straight_motion_and_start_at_one() {
    let mut t = tracker();
    let out = run(&mut t, 120, |f| {
        let x = 10.0 + 3.0 * f as f64;
        Some(vec![
            obs(x, 100.0, 40.0, 80.0, 0.9, "person"),
            obs(500.0 - x, 300.0, 60.0, 40.0, 0.8, "car"),
        ])
    });
    assert_eq!(ids(&out), [1, 2].into_iter().collect());
    assert!(out.iter().all(|f| f.len() == 2));
    assert_eq!(t.stats().ids, 2);
}

#[test]
fn a_one_frame_false_positive_never_takes_an_id() {
    let mut t = tracker();
    let out = run(&mut t, 60, |f| {
        let mut d = vec![obs(100.0, 100.0, 50.0, 50.0, 0.9, "person")];
        if f == 20 || f == 40 {
            d.push(obs(400.0, 300.0, 50.0, 50.0, 0.95, "person"));
        }
        Some(d)
    });
    assert_eq!(ids(&out), [1].into_iter().collect());
    // The next confirmed track takes the next id: ids are dense.
    assert_eq!(t.next_id(), 2);
    assert_eq!(t.stats().discarded_tentative, 2);
}

#[test]
fn a_new_track_confirms_on_its_second_detection_frame() {
    let mut t = tracker();
    let out = run(&mut t, 10, |f| {
        let mut d = vec![obs(10.0, 10.0, 30.0, 30.0, 0.9, "person")];
        if f >= 5 {
            d.push(obs(300.0, 300.0, 30.0, 30.0, 0.9, "person"));
        }
        Some(d)
    });
    // The first frame's objects confirm at once (ByteTrack's first-frame rule).
    assert_eq!(out[0].len(), 1);
    assert_eq!(out[5].len(), 1, "frame 5: the new track is tentative");
    assert_eq!(out[6].len(), 2, "frame 6: confirmed");
}

#[test]
fn crossing_paths_of_one_class_keep_their_ids() {
    let mut t = tracker();
    let mut truth = vec![];
    let out = run(&mut t, 150, |f| {
        // Head-on on the same row; at the crossing the rear one is hidden and the front
        // one's confidence dips.
        let a = 20.0 + 4.0 * f as f64;
        let b = 600.0 - 4.0 * f as f64;
        let crossing = (a - b).abs() < 50.0;
        let mut d = vec![obs(
            a,
            200.0,
            40.0,
            80.0,
            if crossing { 0.4 } else { 0.9 },
            "person",
        )];
        if !crossing {
            d.push(obs(b, 205.0, 40.0, 80.0, 0.9, "person"));
        }
        truth.push((a, b));
        Some(d)
    });
    // Only two ids, and the one on the left at the start is on the right at the end.
    assert_eq!(ids(&out), [1, 2].into_iter().collect());
    let left_first = out[5]
        .iter()
        .min_by(|p, q| p.1.x1.total_cmp(&q.1.x1))
        .unwrap()
        .0;
    let right_last = out[149]
        .iter()
        .max_by(|p, q| p.1.x1.total_cmp(&q.1.x1))
        .unwrap()
        .0;
    assert_eq!(left_first, right_last, "id switch at the crossing");
}

#[test]
fn an_occlusion_shorter_than_the_lost_time_keeps_the_id_and_a_longer_one_does_not() {
    for (gap_frames, same) in [(20u64, true), (45, false)] {
        let mut t = tracker();
        let out = run(&mut t, 40 + gap_frames + 30, |f| {
            let x = 20.0 + 3.0 * f as f64;
            let hidden = (40..40 + gap_frames).contains(&f);
            Some(if hidden {
                vec![]
            } else {
                vec![obs(x, 200.0, 40.0, 40.0, 0.9, "car")]
            })
        });
        let before = out[39][0].0;
        let after = out.last().unwrap()[0].0;
        assert_eq!(before == after, same, "gap of {gap_frames} frames");
    }
}

#[test]
fn the_prediction_carries_the_box_through_a_short_gap() {
    let mut t = tracker();
    let out = run(&mut t, 60, |f| {
        let x = 20.0 + 5.0 * f as f64;
        (!(30..36).contains(&f)).then(|| vec![obs(x, 200.0, 40.0, 40.0, 0.9, "car")])
    });
    // Frames 30..36 have no detector run: predicted boxes follow the motion (5 px/frame).
    for f in 30..36u64 {
        let (_, b, predicted) = out[f as usize][0];
        assert!(predicted);
        let want = 20.0 + 5.0 * f as f64;
        assert!((b.x1 - want).abs() < 3.0, "frame {f}: {} vs {want}", b.x1);
    }
    assert!(!out[36][0].2);
}

#[test]
fn detector_intervals_predict_from_timestamps() {
    // Detection every 3rd frame and the stream drops frames 50..60 entirely: boxes on the
    // frames in between follow the true motion within a few pixels.
    let mut t = tracker();
    let mut worst: f64 = 0.0;
    for f in (0..120u64).filter(|f| !(50..60).contains(f)) {
        let x = 20.0 + 4.0 * f as f64;
        let dets = (f % 3 == 0).then(|| vec![obs(x, 100.0, 40.0, 40.0, 0.9, "car")]);
        let out = t.update(Some(f * FRAME), dets.as_deref());
        if f > 12 {
            assert_eq!(out.objects.len(), 1, "frame {f}");
            worst = worst.max((out.objects[0].bbox.x1 - x).abs());
        }
    }
    assert!(worst < 4.0, "worst error {worst} px");
}

#[test]
fn per_class_tracks_never_take_another_class_and_groups_do() {
    for (mode, expect_ids) in [
        (ClassMode::PerClass, 1usize),
        (ClassMode::Groups, 1),
        (ClassMode::Agnostic, 1),
    ] {
        let mut t = Tracker::new(
            Config {
                class_mode: mode,
                class_groups: parse_class_groups("car,truck").unwrap(),
                ..Config::default()
            },
            1,
        );
        // A car whose label flickers to truck on every 7th frame.
        let mut labels = vec![];
        for f in 0..100u64 {
            let label = if f % 7 == 3 { "truck" } else { "car" };
            let d = [obs(10.0 + 2.0 * f as f64, 50.0, 60.0, 40.0, 0.9, label)];
            let out = t.update(Some(f * FRAME), Some(&d));
            for o in &out.objects {
                labels.push(o.label.to_string());
            }
            if mode == ClassMode::PerClass && label == "truck" && f > 5 {
                // The car track is not matched by the truck box: it coasts.
                assert!(
                    out.objects.iter().all(|o| o.predicted),
                    "{mode:?} frame {f}"
                );
            }
        }
        assert_eq!(t.stats().ids as usize, expect_ids, "{mode:?}");
        assert!(
            labels.iter().all(|l| l == "car"),
            "{mode:?}: label flickered"
        );
    }
    // A person box never joins a car track in per-class mode, even on top of it.
    let mut t = tracker();
    for f in 0..10u64 {
        let d = [obs(100.0, 100.0, 50.0, 50.0, 0.9, "car")];
        t.update(Some(f * FRAME), Some(&d));
    }
    let d = [obs(100.0, 100.0, 50.0, 50.0, 0.9, "person")];
    let out = t.update(Some(10 * FRAME), Some(&d));
    assert_eq!(out.objects.len(), 1);
    assert!(out.objects[0].predicted && &*out.objects[0].label == "car");
}

#[test]
fn lifecycle_events() {
    let mut t = tracker();
    let mut events: Vec<(u64, EventKind, Option<ExitReason>)> = vec![];
    for f in 0..320u64 {
        // Moves for 2 s, stops for 2 s, then disappears.
        let x = 20.0 + 4.0 * f.min(60) as f64;
        let d = if f < 120 {
            vec![obs(x, 100.0, 40.0, 40.0, 0.9, "person")]
        } else {
            vec![]
        };
        for e in &t.update(Some(f * FRAME), Some(&d)).events {
            events.push((f, e.kind, e.reason));
        }
    }
    let kinds: Vec<EventKind> = events.iter().map(|e| e.1).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::Entry,
            EventKind::Moving,
            EventKind::Stopped,
            EventKind::Exit
        ],
        "{events:?}"
    );
    assert_eq!(events[0].0, 0);
    // Stopped within 2 s of the stop: the filter's velocity settles, then 0.5 s of hold.
    assert!((60..120).contains(&events[2].0), "{events:?}");
    // A stopped track keeps its id for the stopped lost time (5 s = 150 frames) after its
    // last detection (frame 119).
    assert!((269..=272).contains(&events[3].0), "{events:?}");
    assert_eq!(events[3].2, Some(ExitReason::Lost));

    // A moving one for the lost time (1 s).
    let mut t = tracker();
    let mut exit = None;
    for f in 0..100u64 {
        let d = if f < 40 {
            vec![obs(20.0 + 4.0 * f as f64, 100.0, 40.0, 40.0, 0.9, "person")]
        } else {
            vec![]
        };
        if t.update(Some(f * FRAME), Some(&d))
            .events
            .iter()
            .any(|e| e.kind == EventKind::Exit)
        {
            exit = Some(f);
        }
    }
    assert!(matches!(exit, Some(69..=72)), "{exit:?}");
}

#[test]
fn a_track_leaving_the_frame_ends_at_once() {
    let mut t = tracker();
    let mut exit_frame = None;
    for f in 0..80u64 {
        let x = 500.0 + 6.0 * f as f64;
        let d: Vec<Observation> = if x < 600.0 {
            // Clipped at the edge as detectors do.
            vec![obs(x, 100.0, (640.0 - x).min(40.0), 40.0, 0.9, "car")]
        } else {
            vec![]
        };
        let out = t.update(Some(f * FRAME), Some(&d));
        if out.events.iter().any(|e| e.kind == EventKind::Exit) {
            exit_frame = Some(f);
            assert_eq!(out.events[0].reason, Some(ExitReason::LeftFrame));
        }
    }
    // Gone 30 frames before the lost time would have removed it.
    let f = exit_frame.expect("an exit");
    assert!(f < 30, "exit at frame {f}");
}

#[test]
fn end_all_reports_every_confirmed_track_and_ids_keep_counting() {
    let mut t = tracker();
    run(&mut t, 10, |_| {
        Some(vec![
            obs(10.0, 10.0, 30.0, 30.0, 0.9, "person"),
            obs(300.0, 10.0, 30.0, 30.0, 0.9, "person"),
        ])
    });
    let exits = t.end_all();
    assert_eq!(exits.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1, 2]);
    assert!(exits.iter().all(|e| e.reason == Some(ExitReason::Reset)));
    assert_eq!(t.live_tracks(), 0);
    let out = run(&mut t, 2, |_| {
        Some(vec![obs(10.0, 10.0, 30.0, 30.0, 0.9, "person")])
    });
    assert_eq!(out[0][0].0, 3);
}

#[test]
fn memory_stays_bounded_with_objects_coming_and_going() {
    let mut t = Tracker::new(
        Config {
            frame_size: Some((1000.0, 1000.0)),
            max_tracks: 64,
            ..Config::default()
        },
        1,
    );
    let mut seed = 1u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut max_live = 0;
    for f in 0..100_000u64 {
        // 20 objects on a slow drift, each replaced by a new one every ~300 frames, plus
        // random false positives.
        let mut d = vec![];
        for k in 0..20u64 {
            let life = (f + k * 37) / 300;
            let phase = ((f + k * 37) % 300) as f64;
            let x = (life * 97 + k * 131) % 900;
            d.push(obs(
                x as f64 + phase * 0.2,
                (k * 45) as f64,
                30.0,
                30.0,
                0.9,
                "person",
            ));
        }
        if rnd() < 0.3 {
            d.push(obs(rnd() * 900.0, rnd() * 900.0, 20.0, 20.0, 0.7, "person"));
        }
        t.update(Some(f * FRAME), Some(&d));
        max_live = max_live.max(t.live_tracks());
    }
    assert!(max_live <= 64, "{max_live}");
    // Thousands of objects came and went; what is live is what is in view.
    assert!(t.stats().ids > 5000, "{:?}", t.stats());
    assert!(t.live_tracks() <= 30, "{}", t.live_tracks());
    assert!(t.labels.len() <= 2);
}

#[test]
fn max_tracks_refuses_births_when_nothing_can_be_evicted() {
    let mut t = Tracker::new(
        Config {
            max_tracks: 3,
            ..Config::default()
        },
        1,
    );
    let d: Vec<Observation> = (0..5)
        .map(|i| obs(i as f64 * 100.0, 0.0, 50.0, 50.0, 0.9, "person"))
        .collect();
    let out = t.update(Some(0), Some(&d));
    assert_eq!(out.objects.len(), 3);
    assert_eq!(out.untracked, vec![3, 4]);
    assert_eq!(t.stats().refused, 2);
}

#[test]
fn low_confidence_detections_only_extend_tracks() {
    let mut t = tracker();
    // A track starts at 0.9 then its detections fall to 0.3 (second stage keeps it).
    let out = run(&mut t, 40, |f| {
        let conf = if f < 10 { 0.9 } else { 0.3 };
        Some(vec![obs(10.0 + f as f64, 10.0, 40.0, 40.0, conf, "person")])
    });
    assert!(out[39].iter().all(|o| o.0 == 1 && !o.2));
    // A detection at 0.3 alone never starts a track.
    let mut t = tracker();
    let out = run(&mut t, 20, |_| {
        Some(vec![obs(10.0, 10.0, 40.0, 40.0, 0.3, "person")])
    });
    assert!(out.iter().all(|f| f.is_empty()));
}

#[test]
fn bad_numbers_are_ignored() {
    let mut t = tracker();
    let d = [
        obs(f64::NAN, 10.0, 40.0, 40.0, 0.9, "person"),
        obs(10.0, 10.0, f64::INFINITY, 40.0, 0.9, "person"),
        obs(10.0, 10.0, 0.0, 40.0, 0.9, "person"),
        obs(10.0, 10.0, 40.0, 40.0, f64::NAN, "person"),
    ];
    for f in 0..5 {
        let out = t.update(Some(f * FRAME), Some(&d));
        assert!(out.objects.is_empty());
        assert_eq!(out.untracked.len(), 4);
    }
    // Time going backwards or missing.
    t.update(Some(10 * MS), Some(&[]));
    t.update(None, None);
    t.update(Some(0), None);
}

#[test]
fn rescaling_keeps_ids_and_moves_boxes() {
    let mut t = tracker();
    run(&mut t, 10, |_| {
        Some(vec![obs(100.0, 100.0, 40.0, 40.0, 0.9, "car")])
    });
    t.rescale((640.0, 480.0), (1280.0, 960.0));
    let d = [obs(200.0, 200.0, 80.0, 80.0, 0.9, "car")];
    let out = t.update(Some(10 * FRAME), Some(&d));
    assert_eq!(out.objects.len(), 1);
    assert_eq!(out.objects[0].id, 1);
    assert!(!out.objects[0].predicted);
}

#[test]
fn a_fast_object_seen_seldom_is_still_confirmed() {
    // Detector every 5th frame (6 Hz), an object moving half its width between runs: its
    // second box does not overlap its first enough for IoU, yet it must become a track.
    let mut t = tracker();
    let mut confirmed_at = None;
    for f in (0..60u64).step_by(5) {
        let x = 20.0 + 4.5 * f as f64;
        let d = [obs(x, 200.0, 42.0, 104.0, 0.8, "person")];
        // Not the first detector frame of the stream (those confirm at once).
        let d: &[Observation] = if f == 0 { &[] } else { &d };
        let out = t.update(Some(f * FRAME), Some(d));
        if confirmed_at.is_none() && !out.objects.is_empty() {
            confirmed_at = Some(f);
        }
    }
    assert_eq!(
        confirmed_at,
        Some(10),
        "confirmed on its second detector frame"
    );
    assert_eq!(t.stats().ids, 1);
}
