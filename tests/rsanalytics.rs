//! Harness and pipeline tests of rsanalytics: buffers with tracked objects on known paths
//! go in; the crossings, zone visits, counts and metadata that come out are checked
//! against the paths (where each one crosses, when it is inside, from the timestamps).

mod common;

use common::init;
use gst::prelude::*;
use gst_video::VideoRegionOfInterestMeta;
use gstrsvision::detection::analytics::{self as contract, ObjectAnalytics};
use gstrsvision::detection::{self, Detection};

const W: u32 = 640;
const H: u32 = 480;
/// 30 fps.
const FRAME: u64 = 33_333_333;
/// Boxes are 40 x 40: the anchor (bottom centre) is at (x + 20, y + 40).
const SIZE: f64 = 40.0;

/// An object whose bottom-centre anchor is at (`ax`, `ay`).
fn obj(track: Option<u64>, ax: f64, ay: f64) -> Detection {
    Detection {
        x: ax - SIZE / 2.0,
        y: ay - SIZE,
        width: SIZE,
        height: SIZE,
        confidence: 0.9,
        label_id: 0,
        label: "person".into(),
        track_id: track,
        tracking: None,
        attributes: Vec::new(),
    }
}

fn harness(props: &[(&str, &dyn ToValue)]) -> gst_check::Harness {
    init();
    let element = gst::ElementFactory::make("rsanalytics").build().unwrap();
    for (k, v) in props {
        element.set_property_from_value(k, &v.to_value());
    }
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&format!(
        "video/x-raw,format=I420,width={W},height={H},framerate=30/1"
    ));
    h
}

fn frame(n: u64, objs: &[Detection]) -> gst::Buffer {
    sized_frame(n, objs, W, H)
}

/// An I420 frame of `w` x `h` with `objs` (in its pixels).
fn sized_frame(n: u64, objs: &[Detection], w: u32, h: u32) -> gst::Buffer {
    let mut b = gst::Buffer::with_size((w * h * 3 / 2) as usize).unwrap();
    {
        let b = b.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(n * FRAME));
        b.set_duration(gst::ClockTime::from_nseconds(FRAME));
        detection::attach(b, objs, w, h, 0);
    }
    b
}

/// Pushes frame `n`; returns each object's `analytics` structure (meta order) and the buffer.
fn push(
    h: &mut gst_check::Harness,
    n: u64,
    objs: &[Detection],
) -> (Vec<ObjectAnalytics>, gst::Buffer) {
    let out = h.push_and_pull(frame(n, objs)).expect("a buffer out");
    let per_object = out
        .iter_meta::<VideoRegionOfInterestMeta>()
        .map(|m| contract::of_roi(&m).expect("an analytics structure"))
        .collect();
    (per_object, out)
}

/// Element messages named `name` posted so far (the others are dropped).
fn messages(h: &gst_check::Harness, name: &str) -> Vec<gst::Structure> {
    let bus = h.element().unwrap().bus().unwrap();
    let mut out = vec![];
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

fn stat(h: &gst_check::Harness, field: &str) -> u64 {
    let s = h.element().unwrap().property::<gst::Structure>("stats");
    s.get::<u64>(field)
        .unwrap_or_else(|_| panic!("{field} in {s}"))
}

fn ms(n: u64) -> u64 {
    n * FRAME / 1_000_000
}

/// A horizontal line across the middle (y = 240), `in` pointing down.
const DOOR: &str = "door:0;240;640;240;0;0;0;1";

fn pixel_props<'a>(key: &'a str, value: &'a dyn ToValue) -> Vec<(&'a str, &'a dyn ToValue)> {
    vec![
        (key, value),
        ("reference-width", &W as &dyn ToValue),
        ("reference-height", &H as &dyn ToValue),
    ]
}

#[test]
fn two_tracks_crossing_a_line_both_ways_count_once_each() {
    let mut h = harness(&pixel_props("lines", &DOOR));
    for n in 0..25u64 {
        // Track 1 goes down from y 150 (crosses between frames 9 and 10: 240 is on the line at
        // 9, 250 is beyond at 10); track 2 up from 350 (240 at 11, beyond at 12); then both
        // stop and jitter by 2 px (inside the hysteresis band of balanced mode).
        let (y1, y2) = if n <= 12 {
            (150.0 + 10.0 * n as f64, 350.0 - 10.0 * n as f64)
        } else {
            let j = if n % 2 == 0 { 2.0 } else { -2.0 };
            (270.0 + j, 230.0 - j)
        };
        let (per_object, out) = push(
            &mut h,
            n,
            &[obj(Some(1), 100.0, y1), obj(Some(2), 400.0, y2)],
        );
        let crossed: Vec<(Vec<String>, Vec<String>)> = per_object
            .iter()
            .map(|o| (o.lines_crossed.clone(), o.directions_crossed.clone()))
            .collect();
        let none = (vec![], vec![]);
        let one = |d: &str| (vec!["door".to_string()], vec![d.to_string()]);
        let expected = match n {
            10 => vec![one("in"), none.clone()],
            12 => vec![none.clone(), one("out")],
            _ => vec![none.clone(), none.clone()],
        };
        assert_eq!(crossed, expected, "frame {n}");
        let f = &contract::analytics_frames(&out)[0];
        assert_eq!(f.objects, 2);
        assert_eq!(f.lines.len(), 1);
        assert_eq!(f.lines[0].name, "door");
        let (i, o) = (u64::from(n >= 10), u64::from(n >= 12));
        assert_eq!(
            (f.lines[0].in_count, f.lines[0].out_count),
            (i, o),
            "frame {n}"
        );
        assert_eq!(f.events.len(), usize::from(n == 10 || n == 12));
    }
    let m = messages(&h, contract::CROSSING_MESSAGE);
    assert_eq!(m.len(), 2, "{m:?}");
    let fields = |s: &gst::Structure| {
        (
            s.get::<String>("line").unwrap(),
            s.get::<u64>("track-id").unwrap(),
            s.get::<String>("direction").unwrap(),
            s.get::<String>("label").unwrap(),
            s.get::<u64>("pts").unwrap(),
            s.get::<u64>("in-count").unwrap(),
            s.get::<u64>("out-count").unwrap(),
        )
    };
    assert_eq!(
        fields(&m[0]),
        (
            "door".into(),
            1,
            "in".into(),
            "person".into(),
            10 * FRAME,
            1,
            0
        )
    );
    assert_eq!(
        fields(&m[1]),
        (
            "door".into(),
            2,
            "out".into(),
            "person".into(),
            12 * FRAME,
            1,
            1
        )
    );
    assert_eq!(stat(&h, "line-door-in"), 1);
    assert_eq!(stat(&h, "line-door-out"), 1);
}

#[test]
fn a_zone_is_entered_after_inertia_and_left_with_its_dwell_time() {
    // The bottom part of the frame, from y = 300.
    let zone = "room:0;300;640;300;640;480;0;480";
    let mut h = harness(&pixel_props("zones", &zone));
    // Anchor y = 155 + 10 n: outside up to frame 14 (295), inside from 15 (305) to 25; then
    // back at 250 (outside) from frame 26.
    let y = |n: u64| {
        if n <= 25 {
            155.0 + 10.0 * n as f64
        } else {
            250.0
        }
    };
    for n in 0..32u64 {
        let (per_object, out) = push(&mut h, n, &[obj(Some(7), 320.0, y(n))]);
        let member = (17..=27).contains(&n);
        let o = &per_object[0];
        if member && n <= 25 {
            // A member seen inside: dwell from the first frame of the run that made it one.
            assert_eq!(o.zones, vec!["room".to_string()], "frame {n}");
            assert_eq!(o.dwell_ms, vec![Some(ms(n) - ms(15))], "frame {n}");
            assert_eq!(o.loitering, vec![false]);
        } else if !member {
            assert!(o.zones.is_empty(), "frame {n}: {o:?}");
        }
        let f = &contract::analytics_frames(&out)[0];
        assert_eq!(f.zones[0].name, "room");
        assert_eq!(f.zones[0].entries, u64::from(n >= 17), "frame {n}");
        // A member counts until its exit (also the frames seen outside before it).
        assert_eq!(f.zones[0].count, u64::from(member), "frame {n}");
    }
    let m = messages(&h, contract::ZONE_MESSAGE);
    let got: Vec<(String, u64, String, u64, u64)> = m
        .iter()
        .map(|s| {
            (
                s.get::<String>("zone").unwrap(),
                s.get::<u64>("track-id").unwrap(),
                s.get::<String>("event").unwrap(),
                s.get::<u64>("dwell-ms").unwrap(),
                s.get::<u64>("pts").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("room".into(), 7, "entry".into(), 0, 17 * FRAME),
            // Three frames outside (26, 27, 28) make the exit; the dwell ends at the last
            // frame seen inside (25).
            ("room".into(), 7, "exit".into(), ms(25) - ms(15), 28 * FRAME),
        ]
    );
    assert_eq!(stat(&h, "zone-room-entries"), 1);
    assert_eq!(stat(&h, "zone-room-count"), 0);
}

#[test]
fn a_deepstream_nvdsanalytics_file_is_used_unchanged() {
    // Reference 1280x960, twice the frame: the line is at y = 240 of the frame, `in` down;
    // overcrowding of the whole frame above 1 object (object-threshold 2).
    let text = "\
[property]
enable=1
config-width=1280
config-height=960
osd-mode=2
display-font-size=12

[line-crossing-stream-0]
enable=1
line-crossing-Exit=640;400;640;600;0;480;1280;480
extended=0
mode=balanced
class-id=-1

[overcrowding-stream-0]
enable=1
object-threshold=2

[line-crossing-stream-1]
enable=1
line-crossing-Other=0;0;100;0;0;100;0;200
class-id=-1
";
    let dir = std::env::temp_dir().join(format!("rsanalytics-nvds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config_nvdsanalytics.txt");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_string();
    let mut h = harness(&[("config-file", &path), ("stream-id", &0u32)]);
    for n in 0..16u64 {
        let mut objs = vec![obj(Some(1), 100.0, 150.0 + 10.0 * n as f64)];
        if (3..8).contains(&n) {
            objs.push(obj(Some(2), 500.0, 100.0));
        }
        push(&mut h, n, &objs);
    }
    let m = messages(&h, contract::CROSSING_MESSAGE);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].get::<String>("line").unwrap(), "Exit");
    assert_eq!(m[0].get::<String>("direction").unwrap(), "in");
    assert_eq!(m[0].get::<u64>("pts").unwrap(), 10 * FRAME);
    assert_eq!(stat(&h, "line-Exit-in"), 1);
    assert_eq!(stat(&h, "line-Exit-out"), 0);
    drop(h);
    // Overcrowding start and end of the whole frame, on a fresh element.
    let mut h = harness(&[("config-file", &path)]);
    for n in 0..10u64 {
        let mut objs = vec![obj(Some(1), 100.0, 100.0)];
        if (3..6).contains(&n) {
            objs.push(obj(Some(2), 500.0, 100.0));
        }
        push(&mut h, n, &objs);
    }
    let m = messages(&h, contract::OVERCROWDING_MESSAGE);
    let got: Vec<(String, String, u64, u64)> = m
        .iter()
        .map(|s| {
            (
                s.get::<String>("zone").unwrap(),
                s.get::<String>("event").unwrap(),
                s.get::<u64>("count").unwrap(),
                s.get::<u64>("pts").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("".into(), "start".into(), 2, 3 * FRAME),
            ("".into(), "end".into(), 1, 6 * FRAME)
        ]
    );
    drop(h);
    // Stream 1 has its own line.
    let mut h = harness(&[("config-file", &path), ("stream-id", &1u32)]);
    push(&mut h, 0, &[]);
    let s = h.element().unwrap().property::<gst::Structure>("stats");
    assert!(
        s.has_field("line-Other-in") && !s.has_field("line-Exit-in"),
        "{s}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_shipped_nvdsanalytics_example_and_properties_in_the_files_coordinates() {
    let shipped = common::root().join("data/rsanalytics-nvdsanalytics.txt");
    let mut h = harness(&[("config-file", &shipped.to_str().unwrap())]);
    // Rightwards across x = 320 is `in` on its line Middle.
    for n in 0..12u64 {
        push(&mut h, n, &[obj(Some(1), 250.0 + 10.0 * n as f64, 300.0)]);
    }
    assert_eq!(stat(&h, "line-Middle-in"), 1);
    assert_eq!(stat(&h, "zone-Left-entries"), 1);
    drop(h);
    // A file with only a reference size twice the frame's: the lines property is in it.
    let dir = std::env::temp_dir().join(format!("rsanalytics-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("reference.conf");
    std::fs::write(&path, "[geometry]\nwidth=1280\nheight=960\n").unwrap();
    let path = path.to_str().unwrap().to_string();
    let lines = "door:0;480;1280;480;0;0;0;2";
    let mut h = harness(&[("config-file", &path), ("lines", &lines)]);
    cross_down(&mut h, 0);
    assert_eq!(stat(&h, "line-door-in"), 1);
    drop(h);
    // A name in both is an error.
    let ours = dir.join("door.conf");
    std::fs::write(
        &ours,
        "[geometry]\nwidth=640\nheight=480\n\n[line.door]\npoints=0;100;640;100\n",
    )
    .unwrap();
    let ours = ours.to_str().unwrap().to_string();
    let e = start_error(|a| {
        a.set_property("config-file", &ours);
        a.set_property("lines", DOOR);
    });
    assert!(e.contains("door") && e.contains("twice"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Pushes track 1 down across the door line (frames `from..from + 15`).
fn cross_down(h: &mut gst_check::Harness, from: u64) {
    for i in 0..15u64 {
        push(h, from + i, &[obj(Some(1), 100.0, 150.0 + 10.0 * i as f64)]);
    }
}

#[test]
fn the_reset_signal_and_a_flush_reset_the_counts() {
    let mut h = harness(&pixel_props("lines", &DOOR));
    cross_down(&mut h, 0);
    assert_eq!(stat(&h, "line-door-in"), 1);
    h.element().unwrap().emit_by_name::<()>("reset", &[]);
    assert_eq!(stat(&h, "line-door-in"), 0);
    cross_down(&mut h, 15);
    assert_eq!(stat(&h, "line-door-in"), 1);
    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    assert_eq!(stat(&h, "line-door-in"), 0);
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    cross_down(&mut h, 0);
    assert_eq!(stat(&h, "line-door-in"), 1);
    assert_eq!(stat(&h, "line-door-out"), 0);
}

#[test]
fn untracked_objects_count_in_zones_and_warn_once() {
    let zone = "all:0;0;640;0;640;480;0;480";
    let mut h = harness(&pixel_props("zones", &zone));
    for n in 0..5u64 {
        let (per_object, out) = push(
            &mut h,
            n,
            &[obj(None, 100.0, 100.0), obj(None, 300.0, 300.0)],
        );
        // No inertia and no dwell without ids.
        assert_eq!(per_object[0].zones, vec!["all".to_string()]);
        assert_eq!(per_object[0].dwell_ms, vec![None]);
        let f = &contract::analytics_frames(&out)[0];
        assert_eq!((f.zones[0].count, f.zones[0].entries), (2, 0));
    }
    let bus = h.element().unwrap().bus().unwrap();
    let warnings: Vec<String> = std::iter::from_fn(|| bus.pop())
        .filter_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(w.error().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("track ids"), "{}", warnings[0]);
}

#[test]
fn our_geometry_file_with_loitering() {
    let dir = std::env::temp_dir().join(format!("rsanalytics-ours-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("geometry.conf");
    // The top left quarter, entered at once (inertia 1), loitering after 200 ms.
    std::fs::write(
        &path,
        "[geometry]\nwidth=640\nheight=480\n\n[zone.bench]\npoints=0;0;320;0;320;240;0;240\ninertia=1\nloiter=200ms\n",
    )
    .unwrap();
    let path = path.to_str().unwrap().to_string();
    let mut h = harness(&[("config-file", &path)]);
    // Inside on frames 0..=9 (anchor at (100, 100)), outside from frame 10.
    for n in 0..12u64 {
        let ay = if n < 10 { 100.0 } else { 400.0 };
        let (per_object, _) = push(&mut h, n, &[obj(Some(3), 100.0, ay)]);
        if n < 10 {
            // Loitering once the dwell exceeds 200 ms.
            assert_eq!(per_object[0].loitering, vec![ms(n) > 200], "frame {n}");
        }
    }
    let m = messages(&h, contract::LOITERING_MESSAGE);
    let got: Vec<(String, String, u64, u64)> = m
        .iter()
        .map(|s| {
            (
                s.get::<String>("zone").unwrap(),
                s.get::<String>("event").unwrap(),
                s.get::<u64>("dwell-ms").unwrap(),
                s.get::<u64>("pts").unwrap(),
            )
        })
        .collect();
    // 7 frames (233 ms) is the first dwell above 200 ms; the end comes with the exit at
    // frame 10, the dwell up to the last frame inside (9).
    assert_eq!(
        got,
        vec![
            ("bench".into(), "start".into(), ms(7), 7 * FRAME),
            ("bench".into(), "end".into(), ms(9), 10 * FRAME),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Starts a pipeline with an rsanalytics set up by `setup`; returns its start error.
fn start_error(setup: impl FnOnce(&gst::Element)) -> String {
    init();
    let p = gst::parse::launch(
        "videotestsrc num-buffers=3 ! video/x-raw,width=64,height=48 ! rsanalytics name=a ! fakesink",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    setup(&p.by_name("a").unwrap());
    let _ = p.set_state(gst::State::Playing);
    let msg = p
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Error, gst::MessageType::Eos],
        )
        .expect("a message");
    p.set_state(gst::State::Null).unwrap();
    match msg.view() {
        gst::MessageView::Error(e) => e.error().to_string(),
        _ => panic!("expected an error, got {msg:?}"),
    }
}

#[test]
fn bad_configurations_are_start_errors_that_say_where() {
    let dir = std::env::temp_dir().join(format!("rsanalytics-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = dir.join("ours.conf");
    // Line 6: three numbers are not a polygon.
    std::fs::write(
        &ours,
        "[geometry]\nwidth=640\nheight=480\n\n[zone.a]\npoints=1;2;3\n",
    )
    .unwrap();
    let nvds = dir.join("nvds.txt");
    // Line 7: a line crossing needs 8 numbers.
    std::fs::write(
        &nvds,
        "[property]\nenable=1\nconfig-width=640\nconfig-height=480\n\n[line-crossing-stream-0]\nline-crossing-A=1;2;3\nenable=1\n",
    )
    .unwrap();
    let (ours, nvds) = (ours.to_str().unwrap(), nvds.to_str().unwrap());
    let e = start_error(|a| a.set_property("config-file", ours));
    assert!(e.contains(&format!("{ours}:6:")), "{e}");
    let e = start_error(|a| a.set_property("config-file", nvds));
    assert!(e.contains(&format!("{nvds}:7:")), "{e}");
    let e = start_error(|a| a.set_property("config-file", "/nonexistent/analytics.conf"));
    assert!(
        e.contains("Cannot read config-file /nonexistent/analytics.conf"),
        "{e}"
    );
    let e = start_error(|a| a.set_property("zones", "door"));
    assert!(e.contains("Invalid zones") && e.contains("NAME:"), "{e}");
    let e = start_error(|a| a.set_property("lines", "l:0;0;1"));
    assert!(e.contains("Invalid lines"), "{e}");
    let e = start_error(|_| {});
    assert!(e.contains("No geometry"), "{e}");
    let e = start_error(|a| {
        a.set_property("lines", "l:0;0;1;1");
        a.set_property("reference-width", 640u32);
    });
    assert!(e.contains("reference-width"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn normalised_property_geometry_runs_in_a_pipeline() {
    init();
    let p = gst::parse::launch(
        "videotestsrc num-buffers=5 ! video/x-raw,width=64,height=48 ! rsanalytics name=a ! fakesink",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let a = p.by_name("a").unwrap();
    a.set_property("lines", "middle:0.5;0;0.5;1");
    a.set_property("zones", "left:0;0;0.5;0;0.5;1;0;1");
    p.set_state(gst::State::Playing).unwrap();
    let msg = p
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Error, gst::MessageType::Eos],
        )
        .expect("a message");
    assert_eq!(msg.type_(), gst::MessageType::Eos, "{msg:?}");
    let s = a.property::<gst::Structure>("stats");
    assert_eq!(s.get::<u64>("line-middle-in").unwrap(), 0);
    assert_eq!(s.get::<u64>("zone-left-entries").unwrap(), 0);
    p.set_state(gst::State::Null).unwrap();
}

/// Info messages posted so far.
fn infos(h: &gst_check::Harness) -> Vec<String> {
    let bus = h.element().unwrap().bus().unwrap();
    let mut out = vec![];
    while let Some(m) = bus.pop() {
        if let gst::MessageView::Info(i) = m.view() {
            out.push(i.error().to_string());
        }
    }
    out
}

#[test]
fn a_caps_change_mid_stream_rescales_and_keeps_counts_and_tracks() {
    let mut h = harness(&pixel_props("lines", &DOOR));
    // Track 1 crosses at 640x480; track 2 stops 10 px short of the line.
    cross_down(&mut h, 0);
    for n in 15..20u64 {
        push(
            &mut h,
            n,
            &[obj(Some(2), 400.0, 190.0 + 2.0 * (n - 15) as f64)],
        );
    }
    assert_eq!(stat(&h, "line-door-in"), 1);
    // The camera switches to 1280x960 (the line is now at y = 480) while track 2 crosses.
    h.set_src_caps_str("video/x-raw,format=I420,width=1280,height=960,framerate=30/1");
    let mut last = None;
    for n in 20..30u64 {
        let y = 2.0 * (250.0 + 8.0 * (n - 20) as f64);
        let big = Detection {
            x: 800.0 - SIZE,
            y: y - 2.0 * SIZE,
            width: 2.0 * SIZE,
            height: 2.0 * SIZE,
            ..obj(Some(2), 0.0, 0.0)
        };
        last = Some(h.push_and_pull(sized_frame(n, &[big], 1280, 960)).unwrap());
    }
    // Track 2 was last seen above the line at the old size and is first seen below it at
    // the new one: its remembered position was rescaled, so that is a crossing (a fresh
    // track would only be established below); and the count went on from 1.
    assert_eq!(stat(&h, "line-door-in"), 2);
    let f = &contract::analytics_frames(&last.unwrap())[0];
    assert_eq!((f.shapes.width, f.shapes.height), (1280, 960));
    let l = f.shapes.lines[0];
    assert_eq!(
        (l.a, l.b, l.in_normal),
        ((0.0, 480.0), (1280.0, 480.0), (0.0, 1.0))
    );
    assert_eq!(f.lines[0].in_count, 2);
    let infos = infos(&h);
    assert!(
        infos
            .iter()
            .any(|m| m.contains("640x480 to 1280x960") && m.contains("counts go on")),
        "{infos:?}"
    );
}

#[test]
fn two_analytics_elements_both_write_and_nested_objects_are_left_alone() {
    init();
    let mut h = gst_check::Harness::new_parse(&format!(
        "rsanalytics name=a lines={DOOR} reference-width={W} reference-height={H} ! \
         rsanalytics name=b zones=low:0;300;640;300;640;480;0;480 reference-width={W} reference-height={H}"
    ));
    h.set_src_caps_str(&format!(
        "video/x-raw,format=I420,width={W},height={H},framerate=30/1"
    ));
    let mut last = None;
    for n in 0..30u64 {
        let person = obj(Some(1), 100.0, 150.0 + 8.0 * n as f64);
        let mut b = frame(n, std::slice::from_ref(&person));
        // A face inside the person (a secondary result: parent_id names the person's meta).
        {
            let b = b.get_mut().unwrap();
            let face = Detection {
                label: "face".into(),
                height: 10.0,
                track_id: None,
                ..person.clone()
            };
            let pid = b
                .iter_meta::<VideoRegionOfInterestMeta>()
                .next()
                .unwrap()
                .id();
            detection::write_roi(b, &face, W, H, 1000, pid, std::iter::empty());
        }
        last = Some(h.push_and_pull(b).unwrap());
    }
    let out = last.unwrap();
    let frames = contract::analytics_frames(&out);
    let names: Vec<&str> = frames.iter().map(|f| f.element.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(frames[0].objects, 1, "the face is not an object");
    assert_eq!(frames[0].lines[0].in_count, 1);
    assert_eq!(
        (frames[1].zones[0].count, frames[1].zones[0].entries),
        (1, 1)
    );
    let metas: Vec<_> = out.iter_meta::<VideoRegionOfInterestMeta>().collect();
    assert_eq!(metas.len(), 2);
    let person = contract::of_roi(&metas[0]).expect("the person was analysed");
    // Both elements' results on the person: a's line (none crossed on this frame), b's zone.
    assert_eq!(person.zones, ["low"]);
    assert!(person.dwell_ms[0].unwrap() > 0);
    assert!(
        contract::of_roi(&metas[1]).is_none(),
        "the face was not analysed"
    );
    let bin = h.element().unwrap().downcast::<gst::Bin>().unwrap();
    let sa = bin
        .by_name("a")
        .unwrap()
        .property::<gst::Structure>("stats");
    assert_eq!(sa.get::<u64>("line-door-in").unwrap(), 1);
}
