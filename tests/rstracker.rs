//! Harness and pipeline tests of rstracker: buffers with known detections go in, and the
//! ids, predicted boxes, events and metadata that come out are checked against the motion
//! that made them.

mod common;

use common::init;
use gst::prelude::*;
use gst_video::VideoRegionOfInterestMeta;
use gstrsvision::detection::{self, Detection, Inference, Marker};

const W: u32 = 640;
const H: u32 = 480;
/// 30 fps.
const FRAME: u64 = 33_333_333;

fn det(x: f64, y: f64, w: f64, h: f64, conf: f64, label: &str) -> Detection {
    Detection {
        x,
        y,
        width: w,
        height: h,
        confidence: conf,
        label_id: match label {
            "person" => 0,
            "car" => 2,
            "truck" => 7,
            _ => 9,
        },
        label: label.into(),
        track_id: None,
        tracking: None,
        attributes: Vec::new(),
    }
}

fn harness(props: &[(&str, &dyn ToValue)]) -> gst_check::Harness {
    init();
    let element = gst::ElementFactory::make("rstracker").build().unwrap();
    for (k, v) in props {
        let v = v.to_value();
        match v.get::<&str>() {
            // Enums and other typed properties from their string form, as gst-launch does.
            Ok(text) => element.set_property_from_str(k, text),
            Err(_) => element.set_property_from_value(k, &v),
        }
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&format!(
        "video/x-raw,format=I420,width={W},height={H},framerate=30/1"
    ));
    h
}

/// A frame `n` (pts n/30 s) with `dets` and, when `marker` is given, rsinfer's marker.
fn frame(n: u64, dets: &[Detection], marker: Option<Inference>) -> gst::Buffer {
    let mut b = gst::Buffer::with_size((W * H * 3 / 2) as usize).unwrap();
    {
        let b = b.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(n * FRAME));
        b.set_duration(gst::ClockTime::from_nseconds(FRAME));
        detection::attach(b, dets, W, H, 0);
        if let Some(inference) = marker {
            detection::frame::mark(
                b,
                &Marker {
                    inference,
                    element: "rsinfer0".into(),
                    model: "test".into(),
                    frame_number: n,
                    objects: dets.len() as u32,
                },
            );
        }
    }
    b
}

fn push(h: &mut gst_check::Harness, b: gst::Buffer) -> (Vec<Detection>, gst::Buffer) {
    let out = h.push_and_pull(b).expect("a buffer out");
    (detection::read(&out, W, H), out)
}

/// Element messages named `name` posted so far on the harness's bus.
fn messages(h: &gst_check::Harness, name: &str) -> Vec<gst::Structure> {
    let bus = h.element().unwrap().bus();
    let mut out = vec![];
    let Some(bus) = bus else { return out };
    while let Some(m) = bus.pop() {
        if let gst::MessageView::Element(e) = m.view() {
            if let Some(s) = e.structure() {
                if s.name() == name {
                    out.push(s.to_owned());
                }
            }
        }
    }
    out
}

fn with_bus(h: &mut gst_check::Harness) {
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
}

fn id_at(dets: &[Detection], x: f64) -> u64 {
    dets.iter()
        .min_by(|a, b| (a.x - x).abs().total_cmp(&(b.x - x).abs()))
        .and_then(|d| d.track_id)
        .expect("a tracked object")
}

#[test]
fn ids_are_stable_along_straight_motion_and_written_in_both_structures() {
    let mut h = harness(&[]);
    let mut seen = std::collections::BTreeSet::new();
    for n in 0..60u64 {
        let x = 20.0 + 4.0 * n as f64;
        let (dets, out) = push(
            &mut h,
            frame(
                n,
                &[
                    det(x, 100.0, 40.0, 80.0, 0.9, "person"),
                    det(500.0 - x, 300.0, 60.0, 40.0, 0.8, "car"),
                ],
                None,
            ),
        );
        assert_eq!(dets.len(), 2, "frame {n}");
        for d in &dets {
            seen.insert(d.track_id.unwrap());
            let info = d.tracking.as_ref().unwrap();
            assert!(!info.predicted && info.frames_ago == 0);
            // The motion model's centre, next to the detector's box centre.
            let (cx, cy) = info.centre.unwrap();
            assert!((cx - (d.x + d.width / 2.0)).abs() < 3.0, "{cx} vs {:?}", d);
            assert!((cy - (d.y + d.height / 2.0)).abs() < 3.0, "{cy} vs {:?}", d);
        }
        // DL Streamer's object_id structure carries the same id.
        for roi in out.iter_meta::<VideoRegionOfInterestMeta>() {
            let t = roi.param("tracking").unwrap().get::<u64>("id").unwrap();
            let o = roi.param("object_id").unwrap().get::<i32>("id").unwrap();
            assert_eq!(t, o as u64);
        }
        if n == 59 {
            let person = dets.iter().find(|d| d.label == "person").unwrap();
            let v = person.tracking.as_ref().unwrap().velocity;
            assert!((v.0 - 120.0).abs() < 10.0, "velocity {v:?} px/s");
            // Metas numbered from 0 in order.
            let ids: Vec<i32> = out
                .iter_meta::<VideoRegionOfInterestMeta>()
                .map(|m| m.id())
                .collect();
            assert_eq!(ids, vec![0, 1]);
        }
    }
    assert_eq!(seen, [1, 2].into_iter().collect());
}

#[test]
fn frames_without_fresh_detections_carry_predicted_boxes_not_stale_copies() {
    let mut h = harness(&[]);
    let mut last = vec![];
    for n in 0..61u64 {
        let x = 20.0 + 5.0 * n as f64;
        // rsinfer with inference-interval=3: fresh boxes every third frame, copies between.
        let fresh = n % 3 == 0;
        if fresh {
            last = vec![det(x, 200.0, 40.0, 40.0, 0.9, "car")];
        }
        let inference = if fresh {
            Inference::Inferred
        } else {
            Inference::Interval
        };
        let (dets, out) = push(&mut h, frame(n, &last, Some(inference)));
        let frames = detection::tracking::tracker_frames(&out);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].predicted, !fresh);
        if n < 6 {
            continue;
        }
        assert_eq!(
            dets.len(),
            1,
            "frame {n}: no stale copy beside the prediction"
        );
        let d = &dets[0];
        let info = d.tracking.as_ref().unwrap();
        assert_eq!(info.predicted, !fresh, "frame {n}");
        assert_eq!(info.frames_ago, (n % 3) as u32, "frame {n}");
        // The box follows the motion (5 px per frame), not the copy.
        assert!((d.x - x).abs() < 2.5, "frame {n}: x {} vs {x}", d.x);
    }
}

#[test]
fn crossing_paths_keep_their_ids() {
    let mut h = harness(&[]);
    let mut start = (0, 0);
    for n in 0..150u64 {
        let a = 20.0 + 4.0 * n as f64;
        let b = 600.0 - 4.0 * n as f64;
        let crossing = (a - b).abs() < 50.0;
        let mut d = vec![det(
            a,
            200.0,
            40.0,
            80.0,
            if crossing { 0.4 } else { 0.9 },
            "person",
        )];
        if !crossing {
            d.push(det(b, 205.0, 40.0, 80.0, 0.9, "person"));
        }
        let (dets, _) = push(&mut h, frame(n, &d, None));
        if n == 5 {
            start = (id_at(&dets, a), id_at(&dets, b));
        }
        if n == 149 {
            assert_eq!((id_at(&dets, a), id_at(&dets, b)), start);
        }
    }
}

#[test]
fn an_occlusion_shorter_than_the_lost_time_keeps_the_id_a_longer_one_does_not() {
    for (gap, lost_ms, same) in [(20u64, 1000u32, true), (20, 300, false), (45, 1000, false)] {
        let mut h = harness(&[("lost-track-time", &lost_ms)]);
        let mut before = 0;
        let mut after = 0;
        for n in 0..(40 + gap + 10) {
            let x = 20.0 + 3.0 * n as f64;
            let d = if (40..40 + gap).contains(&n) {
                vec![]
            } else {
                vec![det(x, 200.0, 40.0, 40.0, 0.9, "car")]
            };
            let (dets, _) = push(&mut h, frame(n, &d, None));
            if n == 39 {
                before = dets[0].track_id.unwrap();
            }
            if n == 40 + gap + 9 {
                after = dets[0].track_id.unwrap();
            }
        }
        assert_eq!(before == after, same, "gap {gap} lost-track-time {lost_ms}");
    }
}

#[test]
fn class_modes() {
    // A car whose label flickers to truck on every 5th frame.
    let run = |props: &[(&str, &dyn ToValue)]| {
        let mut h = harness(props);
        let mut ids = std::collections::BTreeSet::new();
        let mut labels = std::collections::BTreeSet::new();
        let mut predicted = 0;
        for n in 0..60u64 {
            let label = if n % 5 == 2 { "truck" } else { "car" };
            let (dets, _) = push(
                &mut h,
                frame(
                    n,
                    &[det(10.0 + 3.0 * n as f64, 50.0, 80.0, 50.0, 0.9, label)],
                    None,
                ),
            );
            for d in dets {
                ids.insert(d.track_id.unwrap());
                labels.insert(d.label.clone());
                predicted += usize::from(d.tracking.unwrap().predicted);
            }
        }
        (ids.len(), labels, predicted)
    };
    let (ids, labels, predicted) = run(&[]);
    assert_eq!((ids, labels.len()), (1, 1), "per-class: one car track");
    assert!(
        predicted >= 10,
        "per-class: truck boxes are not the car's ({predicted})"
    );
    let (ids, labels, predicted) =
        run(&[("class-mode", &"groups"), ("class-groups", &"car,truck")]);
    assert_eq!((ids, predicted), (1, 0));
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        vec!["car".to_string()],
        "voted label"
    );
    let (ids, _, predicted) = run(&[("class-mode", &"agnostic")]);
    assert_eq!((ids, predicted), (1, 0));
}

fn setup_mode(h: &mut gst_check::Harness, mode: &str) {
    h.element()
        .unwrap()
        .set_property_from_str("class-mode", mode);
}

#[test]
fn per_class_mode_never_gives_a_person_box_to_a_car_track() {
    let mut h = harness(&[]);
    setup_mode(&mut h, "per-class");
    for n in 0..10u64 {
        push(
            &mut h,
            frame(n, &[det(100.0, 100.0, 60.0, 60.0, 0.9, "car")], None),
        );
    }
    let (dets, _) = push(
        &mut h,
        frame(10, &[det(100.0, 100.0, 60.0, 60.0, 0.9, "person")], None),
    );
    assert_eq!(dets.len(), 1);
    assert_eq!(dets[0].label, "car");
    assert!(dets[0].tracking.as_ref().unwrap().predicted);
}

#[test]
fn events_on_the_bus_and_on_the_frames() {
    let mut h = harness(&[]);
    with_bus(&mut h);
    let mut frame_events = vec![];
    for n in 0..200u64 {
        // Moves for 2 s, stands for 2 s, leaves at the right edge.
        let x = if n < 60 {
            20.0 + 4.0 * n as f64
        } else if n < 120 {
            260.0
        } else {
            260.0 + 12.0 * (n - 120) as f64
        };
        let d = if x < W as f64 {
            vec![det(x, 100.0, 40.0, 40.0, 0.9, "person")]
        } else {
            vec![]
        };
        let (_, out) = push(&mut h, frame(n, &d, None));
        for e in detection::tracking::events(&out) {
            frame_events.push((n, e.event.clone()));
        }
    }
    let names: Vec<&str> = frame_events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        names,
        ["entry", "moving", "stopped", "moving", "exit"],
        "{frame_events:?}"
    );
    let msgs = messages(&h, "rstracker-event");
    assert_eq!(msgs.len(), 5);
    let exit = &msgs[4];
    assert_eq!(exit.get::<u64>("track-id").unwrap(), 1);
    assert_eq!(exit.get::<&str>("reason").unwrap(), "left-frame");
    assert_eq!(exit.get::<&str>("label").unwrap(), "person");
    let first = exit.get::<u64>("first-seen").unwrap();
    let last = exit.get::<u64>("last-seen").unwrap();
    assert_eq!(first, 0);
    assert!(last > 150 * FRAME && last < 200 * FRAME, "{last}");
    // The entry message says where and when.
    let entry = &msgs[0];
    assert_eq!(entry.get::<u64>("pts").unwrap(), 0);
    assert!((entry.get::<f64>("x").unwrap() - 20.0).abs() < 1.0);
}

#[test]
fn flush_eos_and_a_new_stream_end_every_track_with_exit_events() {
    let mut h = harness(&[]);
    with_bus(&mut h);
    let objs = [
        det(10.0, 10.0, 40.0, 40.0, 0.9, "person"),
        det(300.0, 10.0, 40.0, 40.0, 0.9, "person"),
    ];
    for n in 0..5u64 {
        push(&mut h, frame(n, &objs, None));
    }
    let drain_custom = |h: &mut gst_check::Harness| {
        let mut got = vec![];
        while let Some(ev) = h.try_pull_event() {
            if let Some(events) = detection::tracking::events_from_event(&ev) {
                got.extend(events);
            }
        }
        got
    };
    drain_custom(&mut h);
    // Flush: exits downstream and on the bus; the next ids follow on.
    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    let exits = drain_custom(&mut h);
    assert_eq!(
        exits.iter().map(|e| e.track_id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(exits
        .iter()
        .all(|e| e.event == "exit" && e.reason == "reset"));
    assert_eq!(
        messages(&h, "rstracker-event")
            .iter()
            .filter(|m| m.get::<&str>("event").unwrap() == "exit")
            .count(),
        2
    );
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    let (dets, _) = push(&mut h, frame(0, &objs, None));
    let mut ids: Vec<u64> = dets.iter().map(|d| d.track_id.unwrap()).collect();
    ids.sort();
    assert_eq!(ids, vec![3, 4], "ids are unique for the element's lifetime");
    // A new stream.
    assert!(h.push_event(gst::event::StreamStart::new("second")));
    let exits = drain_custom(&mut h);
    assert_eq!(exits.len(), 2);
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    for n in 0..3u64 {
        push(&mut h, frame(n, &objs[..1], None));
    }
    // EOS: the exit comes before the EOS.
    assert!(h.push_event(gst::event::Eos::new()));
    let mut saw_exit = false;
    while let Some(ev) = h.try_pull_event() {
        if let Some(events) = detection::tracking::events_from_event(&ev) {
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].track_id, 5);
            saw_exit = true;
        }
        if ev.type_() == gst::EventType::Eos {
            assert!(saw_exit, "exit events before EOS");
        }
    }
    assert!(saw_exit);
}

#[test]
fn foreign_metas_are_tracked_and_children_follow_their_parents() {
    let mut h = harness(&[]);
    for n in 0..10u64 {
        let x = 50 + 3 * n as u32;
        let mut b = gst::Buffer::with_size((W * H * 3 / 2) as usize).unwrap();
        {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_nseconds(n * FRAME));
            // A bare region (as facedetect writes: no detection structure, ids 0).
            VideoRegionOfInterestMeta::add(b, "face", (x, 40, 50, 50));
            // DL Streamer's layout with its own (stale) object_id, and a child of it.
            let mut m = VideoRegionOfInterestMeta::add(b, "person", (300, 100, 60, 120));
            m.set_id(7);
            m.set_parent_id(-1);
            m.add_param(detection::detection_structure(
                &det(300.0, 100.0, 60.0, 120.0, 0.8, "person"),
                W,
                H,
            ));
            m.add_param(
                gst::Structure::builder("object_id")
                    .field("id", 99i32)
                    .build(),
            );
            m.add_param(
                gst::Structure::builder("color")
                    .field("label", "red")
                    .build(),
            );
            let mut c = VideoRegionOfInterestMeta::add(b, "hat", (310, 100, 20, 20));
            c.set_id(8);
            c.set_parent_id(7);
        }
        let out = h.push_and_pull(b).unwrap();
        let metas: Vec<_> = out.iter_meta::<VideoRegionOfInterestMeta>().collect();
        if n == 0 {
            continue;
        }
        assert_eq!(metas.len(), 3, "frame {n}");
        let face = metas.iter().find(|m| m.roi_type() == "face").unwrap();
        assert!(
            face.param("tracking").is_some(),
            "bare regions are tracked too"
        );
        let person = metas.iter().find(|m| m.roi_type() == "person").unwrap();
        let hat = metas.iter().find(|m| m.roi_type() == "hat").unwrap();
        assert_eq!(
            hat.parent_id(),
            person.id(),
            "the child follows its parent's new id"
        );
        // The foreign id is replaced by ours; other params are kept.
        let oid = person.param("object_id").unwrap().get::<i32>("id").unwrap();
        assert_ne!(oid, 99);
        assert_eq!(
            person.params().filter(|p| p.name() == "object_id").count(),
            1
        );
        assert!(person.param("color").is_some());
        let mut ids: Vec<i32> = metas.iter().map(|m| m.id()).collect();
        ids.sort();
        assert_eq!(ids, vec![0, 1, 2]);
    }
}

#[test]
fn untracked_detections_are_removed_unless_kept() {
    for keep in [false, true] {
        let mut h = harness(&[("keep-untracked", &keep)]);
        for n in 0..5u64 {
            let mut d = vec![det(10.0, 10.0, 40.0, 40.0, 0.9, "person")];
            if n == 3 {
                // A one-frame newcomer and a weak detection: neither is a track.
                d.push(det(300.0, 300.0, 40.0, 40.0, 0.9, "person"));
                d.push(det(500.0, 100.0, 40.0, 40.0, 0.2, "person"));
            }
            let (dets, _) = push(&mut h, frame(n, &d, None));
            if n == 3 {
                let untracked: Vec<_> = dets.iter().filter(|d| d.track_id.is_none()).collect();
                assert_eq!(untracked.len(), if keep { 2 } else { 0 });
                assert_eq!(dets.iter().filter(|d| d.track_id.is_some()).count(), 1);
            }
        }
    }
}

#[test]
fn bad_settings_are_clear_errors_or_warnings() {
    init();
    // At start: impossible combinations are errors.
    for props in [
        "class-mode=groups",
        "class-mode=groups class-groups=\"car,truck;truck\"",
        "low-threshold=0.6 high-threshold=0.5",
        "new-track-threshold=0.3",
    ] {
        let p = common::launch(&format!(
            "videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48 ! rstracker {props} ! fakesink"
        ));
        let _ = p.set_state(gst::State::Playing);
        let bus = p.bus().unwrap();
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(10),
                &[gst::MessageType::Error, gst::MessageType::Eos],
            )
            .expect("a message");
        let gst::MessageView::Error(e) = msg.view() else {
            panic!("{props}: expected an error, got {msg:?}");
        };
        let text = e.error().to_string();
        assert!(
            text.contains("threshold") || text.contains("class-groups"),
            "{props}: {text}"
        );
        p.set_state(gst::State::Null).unwrap();
    }
    // While playing: a warning, the previous settings stay.
    let mut h = harness(&[]);
    with_bus(&mut h);
    push(
        &mut h,
        frame(0, &[det(10.0, 10.0, 40.0, 40.0, 0.9, "person")], None),
    );
    h.element().unwrap().set_property("low-threshold", 0.9f64);
    let (dets, _) = push(
        &mut h,
        frame(1, &[det(10.0, 10.0, 40.0, 40.0, 0.9, "person")], None),
    );
    assert_eq!(dets.len(), 1, "the previous settings still track");
    let bus = h.element().unwrap().bus().unwrap();
    let warning = std::iter::from_fn(|| bus.pop()).find(|m| m.type_() == gst::MessageType::Warning);
    let warning = warning.expect("a warning");
    let gst::MessageView::Warning(w) = warning.view() else {
        unreachable!()
    };
    assert!(
        w.error().to_string().contains("low-threshold"),
        "{}",
        w.error()
    );
}

#[test]
fn caps_it_does_not_take_do_not_negotiate() {
    init();
    // Audio cannot even link.
    assert!(gst::parse::launch("audiotestsrc num-buffers=3 ! rstracker ! fakesink").is_err());
    // Raw video in a format the elements do not take: the push fails, nothing is tracked.
    let element = gst::ElementFactory::make("rstracker").build().unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=Y444,width=64,height=48,framerate=30/1");
    assert_eq!(
        h.push(frame(0, &[], None)),
        Err(gst::FlowError::NotNegotiated)
    );
}

#[test]
fn a_caps_change_scales_the_tracks() {
    let mut h = harness(&[]);
    for n in 0..10u64 {
        push(
            &mut h,
            frame(n, &[det(100.0, 100.0, 40.0, 40.0, 0.9, "car")], None),
        );
    }
    h.set_src_caps_str(&format!(
        "video/x-raw,format=I420,width={},height={},framerate=30/1",
        W / 2,
        H / 2
    ));
    let mut b = gst::Buffer::with_size((W * H) as usize).unwrap();
    {
        let b = b.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(10 * FRAME));
        detection::attach(
            b,
            &[det(50.0, 50.0, 20.0, 20.0, 0.9, "car")],
            W / 2,
            H / 2,
            0,
        );
    }
    let out = h.push_and_pull(b).unwrap();
    let dets = detection::read(&out, W / 2, H / 2);
    assert_eq!(dets.len(), 1);
    assert_eq!(dets[0].track_id, Some(1), "the same track at the new size");
    assert!(!dets[0].tracking.as_ref().unwrap().predicted);
}

#[test]
fn the_stats_property_counts() {
    let mut h = harness(&[]);
    for n in 0..6u64 {
        let marker = if n % 2 == 0 {
            Inference::Inferred
        } else {
            Inference::Interval
        };
        push(
            &mut h,
            frame(
                n,
                &[det(10.0, 10.0, 40.0, 40.0, 0.9, "person")],
                Some(marker),
            ),
        );
    }
    let s = h.element().unwrap().property::<gst::Structure>("stats");
    assert_eq!(s.get::<u64>("frames").unwrap(), 6);
    assert_eq!(s.get::<u64>("detection-frames").unwrap(), 3);
    assert_eq!(s.get::<u64>("predicted-frames").unwrap(), 3);
    assert_eq!(s.get::<u64>("ids").unwrap(), 1);
    assert_eq!(s.get::<u64>("confirmed-tracks").unwrap(), 1);
}

/// pipelines/track.sh as documented: the sample video to a tracked MP4, the track events
/// printed as they happen.
#[test]
fn the_track_pipeline_script_writes_a_tracked_mp4_and_prints_the_events() {
    init();
    let dir = common::TempDir::new("track-script");
    let out = dir.path().join("tracked.mp4");
    let output = std::process::Command::new("bash")
        .arg(common::root().join("pipelines/track.sh"))
        .env(
            "RSVISION_PLUGIN_DIR",
            common::plugin_library().parent().unwrap(),
        )
        .env("OUTPUT", &out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "track.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        common::decoded_frames(&out),
        common::decoded_frames(&common::root().join("data/sample-shapes.mp4"))
    );
    // The eight shapes enter (and leave at the end of the stream).
    let entries = stdout.lines().filter(|l| l.contains(" entry ")).count();
    let exits = stdout.lines().filter(|l| l.contains(" exit ")).count();
    assert!((8..=10).contains(&entries), "{stdout}");
    assert_eq!(entries, exits, "{stdout}");
    assert!(stdout.contains("track #1 entry"), "{stdout}");
}
