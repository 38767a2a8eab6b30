//! rsmsgbroker `publish-analytics`: `rsanalytics ! rsmsgbroker` in a harness, tracked objects
//! on known paths in, the JSON lines of the file transport out. The crossings, zone visits,
//! loitering and overcrowding expected are worked out from the paths (where each one is on
//! each frame), not taken from rsanalytics; the minimal schema's counts are compared with
//! rsanalytics' `stats` after each frame.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{init, TempDir};
use gst::prelude::*;
use gstrsvision::detection::{self, Detection};
use gstrsvision::msgconv::format_timestamp;
use serde_json::{json, Value};

const W: u32 = 640;
const H: u32 = 480;
/// 30 fps.
const FRAME: u64 = 33_333_333;
/// Boxes are 40 x 40: the anchor (bottom centre) is at (x + 20, y + 40).
const SIZE: f64 = 40.0;
/// Capture time (Unix ms) of frame 0; frame n is n seconds later (a reference timestamp
/// meta), so a message's `@timestamp` names its frame.
const T0_MS: i64 = 1_627_494_799_339;
/// A horizontal line across the middle (y = 240), `in` pointing down.
const DOOR: &str = "door:0;240;640;240;0;0;0;1";

/// An object of `label` (class `label_id`) whose bottom-centre anchor is at (`ax`, `ay`).
fn obj(track: u64, ax: f64, ay: f64, label: &str, label_id: i32) -> Detection {
    Detection {
        x: ax - SIZE / 2.0,
        y: ay - SIZE,
        width: SIZE,
        height: SIZE,
        confidence: 0.9,
        label_id,
        label: label.into(),
        track_id: Some(track),
        tracking: None,
        attributes: Vec::new(),
    }
}

fn person(track: u64, ax: f64, ay: f64) -> Detection {
    obj(track, ax, ay, "person", 0)
}

/// Frame `n` with `objs`, pts n/30 s, captured at `T0_MS` + n s.
fn frame(n: u64, objs: &[Detection]) -> gst::Buffer {
    frame_at(n, n * FRAME, objs)
}

fn frame_at(n: u64, pts: u64, objs: &[Detection]) -> gst::Buffer {
    let mut b = gst::Buffer::with_size((W * H * 3 / 2) as usize).unwrap();
    {
        let b = b.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(pts));
        b.set_duration(gst::ClockTime::from_nseconds(FRAME));
        detection::attach(b, objs, W, H, 0);
        gst::ReferenceTimestampMeta::add(
            b,
            &gst::Caps::builder("timestamp/x-unix").build(),
            gst::ClockTime::from_mseconds(T0_MS as u64 + n * 1000),
            None,
        );
    }
    b
}

/// `rsanalytics name=a <analytics> ! rsmsgbroker name=b <broker>` writing to `out`.
fn harness(analytics: &str, broker: &str, out: &Path) -> gst_check::Harness {
    init();
    let mut h = gst_check::Harness::new_parse(&format!(
        "rsanalytics name=a {analytics} ! rsmsgbroker name=b conn-str=file://{} sensor-id=cam0 {broker}",
        out.display()
    ));
    h.set_src_caps_str(&format!(
        "video/x-raw,format=I420,width={W},height={H},framerate=30/1"
    ));
    h
}

fn element(h: &gst_check::Harness, name: &str) -> gst::Element {
    let bin = h.element().unwrap().downcast::<gst::Bin>().unwrap();
    bin.by_name(name).unwrap()
}

fn stat(h: &gst_check::Harness, field: &str) -> u64 {
    let s = element(h, "a").property::<gst::Structure>("stats");
    s.get::<u64>(field)
        .unwrap_or_else(|_| panic!("{field} in {s}"))
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

/// The frame number of a full-schema message (from its `@timestamp`).
fn frame_of(m: &Value, frames: u64) -> u64 {
    let ts = m["@timestamp"].as_str().unwrap();
    (0..frames)
        .find(|n| format_timestamp(T0_MS + *n as i64 * 1000) == ts)
        .unwrap_or_else(|| panic!("{ts} is no frame's"))
}

fn bbox(m: &Value) -> [i64; 4] {
    let b = &m["object"]["bbox"];
    ["topleftx", "toplefty", "bottomrightx", "bottomrighty"].map(|k| b[k].as_i64().unwrap())
}

/// The integer box of an object anchored at (`ax`, `ay`).
fn box_at(ax: f64, ay: f64) -> [i64; 4] {
    let (l, t) = ((ax - SIZE / 2.0).round() as i64, (ay - SIZE).round() as i64);
    [l, t, l + 40, t + 40]
}

/// The crossing scene: track 1 (a person) walks down through the line once, track 2 (a
/// car) up once, track 3 (a person) goes up and down across it, 180 to 300 px in 15 px
/// steps, every 16 frames.
fn crossing_scene(n: u64) -> Vec<(u64, f64, f64, &'static str, i32)> {
    let tri = |n: u64| {
        let p = n % 16;
        if p <= 8 {
            p
        } else {
            16 - p
        }
    };
    vec![
        (1, 100.0, (150.0 + 10.0 * n as f64).min(300.0), "person", 0),
        (2, 300.0, (350.0 - 10.0 * n as f64).max(180.0), "car", 2),
        (3, 500.0, 180.0 + 15.0 * tri(n) as f64, "person", 0),
    ]
}

fn scene_objects(n: u64) -> Vec<Detection> {
    crossing_scene(n)
        .into_iter()
        .map(|(t, x, y, l, c)| obj(t, x, y, l, c))
        .collect()
}

/// The crossings of the scene worked out from the paths: a track is on a side once its
/// anchor is more than the balanced band (4.8 px, 1 % of 480) off the line, and crosses
/// when it is next on the other side. (frame, track, inward).
fn expected_crossings(frames: u64) -> Vec<(u64, u64, bool)> {
    let mut side: HashMap<u64, i32> = HashMap::new();
    let mut out = vec![];
    for n in 0..frames {
        for (t, _, y, _, _) in crossing_scene(n) {
            let s = if y > 244.8 {
                1
            } else if y < 235.2 {
                -1
            } else {
                continue;
            };
            if let Some(old) = side.insert(t, s) {
                if old != s {
                    out.push((n, t, s == 1));
                }
            }
        }
    }
    out
}

fn analytics_messages(all: &[Value]) -> Vec<Value> {
    all.iter()
        .filter(|m| m.get("analytics").is_some())
        .cloned()
        .collect()
}

/// Every crossing, both ways, is one full-schema message in `publish=frames` (whatever
/// `frame-interval`): `entry` for `in`, `exit` for `out`, the line in `place.entrance.name`
/// (`place.aisle.name` for the car) and in the `analytics` member with the line's counts,
/// the object the crossing track's detection on that frame. The frames' per-object
/// messages are still there, unchanged.
#[test]
fn crossings_both_ways_are_entry_and_exit_messages_once_each() {
    let dir = TempDir::new("msgbroker-analytics-crossings");
    let out = dir.path().join("events.jsonl");
    let frames = 60;
    let mut h = harness(
        &format!("lines={DOOR} reference-width={W} reference-height={H}"),
        "",
        &out,
    );
    for n in 0..frames {
        h.push_and_pull(frame(n, &scene_objects(n))).unwrap();
    }
    let all = lines(&out);
    let msgs = analytics_messages(&all);
    let expected = expected_crossings(frames);
    // Two each for tracks 1 and 2, track 3 a few times each way.
    assert!(expected.len() >= 8, "{expected:?}");
    let got: Vec<(u64, u64, bool)> = msgs
        .iter()
        .map(|m| {
            (
                frame_of(m, frames),
                m["object"]["id"].as_str().unwrap().parse().unwrap(),
                m["analytics"]["direction"] == "in",
            )
        })
        .collect();
    assert_eq!(got, expected, "every crossing once, in order");
    let (mut ins, mut outs) = (0, 0);
    for (m, (n, track, inward)) in msgs.iter().zip(&expected) {
        if *inward {
            ins += 1;
        } else {
            outs += 1;
        }
        let (_, x, y, label, _) = crossing_scene(*n)
            .into_iter()
            .find(|o| o.0 == *track)
            .unwrap();
        let vehicle = label == "car";
        assert_eq!(
            m["event"]["type"],
            if *inward { "entry" } else { "exit" },
            "{m}"
        );
        let sub = if vehicle { "aisle" } else { "entrance" };
        assert_eq!(m["place"][sub]["name"], "door", "{m}");
        assert_eq!(
            m["place"].get(if vehicle { "entrance" } else { "aisle" }),
            None
        );
        assert_eq!(
            m["analytics"],
            json!({"kind": "line", "name": "door", "direction": if *inward { "in" } else { "out" },
                   "in": ins, "out": outs, "roiStatus": [], "lcStatus": ["door"], "dirStatus": []}),
            "{m}"
        );
        assert_eq!(bbox(m), box_at(x, y), "the track's box on frame {n}");
        let type_member = if vehicle { "Car" } else { "Person" };
        assert!(m["object"][type_member].is_object(), "{m}");
        assert_eq!(m["sensor"]["id"], "cam0");
        assert!(m["messageid"].as_str().unwrap().len() == 36);
    }
    assert_eq!(stat(&h, "line-door-in"), ins);
    assert_eq!(stat(&h, "line-door-out"), outs);
    // The per-object messages of frames 0 and 30 (frame-interval 30), without analytics.
    let objects: Vec<&Value> = all
        .iter()
        .filter(|m| m.get("analytics").is_none())
        .collect();
    assert_eq!(objects.len(), 6);
    assert!(objects
        .iter()
        .all(|m| [0, 30].contains(&frame_of(m, frames)) && m["event"]["type"] == "entry"));
}

/// Zone entries and exits are `entry` / `exit` messages naming the zone, loitering
/// `stopped` / `moving`, overcrowding `""`, in `publish=tracks` too (no tracker needed);
/// the exit of a track no longer on the frame (forgotten after 10 s) has its id and label
/// with an empty box.
#[test]
fn zone_visits_loitering_and_overcrowding_in_publish_tracks() {
    let dir = TempDir::new("msgbroker-analytics-zones");
    let out = dir.path().join("events.jsonl");
    let geometry = dir.path().join("geometry.conf");
    // The bottom part from y = 300; entered after 2 frames inside, left after 2 outside;
    // loitering beyond 300 ms; overcrowded with more than 1 object.
    std::fs::write(
        &geometry,
        "[geometry]\nwidth=640\nheight=480\n\n[zone.room]\npoints=0;300;640;300;640;480;0;480\ninertia=2\nloiter=300ms\nmax-objects=1\n",
    )
    .unwrap();
    let mut h = harness(
        &format!("config-file={}", geometry.display()),
        "publish=tracks",
        &out,
    );
    // Track 7 (person) outside on frames 0-4, inside 5-19, outside 20-24, inside 25-29.
    // Track 8 (car) inside throughout. Then both gone: a frame 11 s later forgets them.
    let y7 = |n: u64| {
        if (5..20).contains(&n) || n >= 25 {
            400.0
        } else {
            200.0
        }
    };
    for n in 0..30u64 {
        let objs = [person(7, 100.0, y7(n)), obj(8, 500.0, 420.0, "car", 2)];
        h.push_and_pull(frame(n, &objs)).unwrap();
    }
    h.push_and_pull(frame_at(30, 30 * FRAME + 11_000_000_000, &[]))
        .unwrap();
    let ms = |n: u64| n * FRAME / 1_000_000;
    let msgs = lines(&out);
    let mut got: Vec<(u64, String, String, String, String)> = msgs
        .iter()
        .map(|m| {
            let a = &m["analytics"];
            (
                frame_of(m, 31),
                a["kind"].as_str().unwrap().to_string(),
                a["event"].as_str().unwrap().to_string(),
                m["object"]["id"].as_str().unwrap().to_string(),
                m["event"]["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let e = |n: u64, kind: &str, ev: &str, id: &str, ty: &str| {
        (n, kind.into(), ev.into(), id.into(), ty.into())
    };
    let mut want = vec![
        // Track 8 is a member from its 2nd frame inside.
        e(1, "zone", "entry", "8", "entry"),
        e(6, "zone", "entry", "7", "entry"),
        // Two members: overcrowded until track 7's exit.
        e(6, "overcrowding", "start", "-1", ""),
        // Track 8's dwell passes 300 ms on frame 10 (333 ms since frame 0), 7's on 15.
        e(10, "loitering", "start", "8", "stopped"),
        e(15, "loitering", "start", "7", "stopped"),
        e(21, "zone", "exit", "7", "exit"),
        e(21, "loitering", "end", "7", "moving"),
        e(21, "overcrowding", "end", "-1", ""),
        e(26, "zone", "entry", "7", "entry"),
        e(26, "overcrowding", "start", "-1", ""),
        // Forgotten: exits without objects on the frame.
        e(30, "zone", "exit", "7", "exit"),
        e(30, "zone", "exit", "8", "exit"),
        e(30, "loitering", "end", "8", "moving"),
        e(30, "overcrowding", "end", "-1", ""),
    ];
    want.sort();
    assert_eq!(got, want);
    for m in &msgs {
        let a = &m["analytics"];
        assert_eq!(a["name"], "room", "{m}");
        let vehicle = m["object"]["Car"].is_object();
        let sub = match m["event"]["type"].as_str().unwrap() {
            "stopped" | "moving" => "aisle",
            "entry" | "exit" if vehicle => "aisle",
            _ => "entrance",
        };
        assert_eq!(m["place"][sub]["name"], "room", "{m}");
    }
    let find = |n: u64, kind: &str, ev: &str, id: &str| {
        msgs.iter()
            .find(|m| {
                frame_of(m, 31) == n
                    && m["analytics"]["kind"] == kind
                    && m["analytics"]["event"] == ev
                    && m["object"]["id"] == id
            })
            .unwrap_or_else(|| panic!("{n} {kind} {ev} {id}"))
    };
    // The first exit: on the frame, its box; dwell up to the last frame inside (19).
    let exit = find(21, "zone", "exit", "7");
    assert_eq!(bbox(exit), box_at(100.0, 200.0));
    assert_eq!(exit["analytics"]["dwellMs"], ms(19) - ms(5));
    assert_eq!(exit["analytics"]["roiStatus"], json!([]));
    let entry = find(6, "zone", "entry", "7");
    assert_eq!(entry["analytics"]["dwellMs"], 0);
    assert_eq!(entry["analytics"]["roiStatus"], json!(["room"]));
    assert_eq!(bbox(entry), box_at(100.0, 400.0));
    let loiter = find(15, "loitering", "start", "7");
    assert_eq!(loiter["analytics"]["dwellMs"], ms(15) - ms(5));
    // Gone: the id and label, an empty box, no analytics of the object.
    let gone = find(30, "zone", "exit", "7");
    assert_eq!(bbox(gone), [0, 0, 0, 0]);
    assert!(gone["object"]["Person"].is_object());
    assert_eq!(gone["analytics"]["dwellMs"], ms(29) - ms(25));
    assert!(gone["analytics"].get("roiStatus").is_none());
    let gone = find(30, "zone", "exit", "8");
    assert!(gone["object"]["Car"].is_object());
    assert_eq!(gone["place"]["aisle"]["name"], "room");
    let crowd = find(6, "overcrowding", "start", "-1");
    assert_eq!(crowd["analytics"]["count"], 2);
    assert!(crowd["object"]["Crowd"].is_object());
    assert_eq!(stat(&h, "zone-room-entries"), 3);
}

/// The minimal schema: every `frame-interval`-th frame's message has the counts, equal to
/// rsanalytics' `stats` after that frame, also on frames without objects; the events
/// themselves are not published.
#[test]
fn minimal_counts_equal_the_analytics_stats() {
    let dir = TempDir::new("msgbroker-analytics-minimal");
    let out = dir.path().join("events.jsonl");
    let mut h = harness(
        &format!(
            "lines={DOOR} zones=low:0;300;640;300;640;480;0;480 reference-width={W} reference-height={H}"
        ),
        "payload-type=deepstream-minimal frame-interval=5",
        &out,
    );
    let frames = 50u64;
    let mut published = 0;
    for n in 0..frames + 3 {
        let objs = if n < frames { scene_objects(n) } else { vec![] };
        h.push_and_pull(frame(n, &objs)).unwrap();
        let all = lines(&out);
        if n % 5 != 0 {
            assert_eq!(all.len(), published, "frame {n} is not sampled");
            continue;
        }
        published += 1;
        assert_eq!(all.len(), published, "frame {n}");
        let m = all.last().unwrap();
        assert_eq!(m["id"], n.to_string());
        assert_eq!(m["objects"].as_array().unwrap().len(), objs.len());
        let cnt = if objs.is_empty() {
            json!({})
        } else {
            json!({"0": 2, "2": 1})
        };
        assert_eq!(
            m["analytics"],
            json!({
                "objects": objs.len(),
                "objCnt": cnt,
                "overcrowded": false,
                "objInROIcnt": {"low": stat(&h, "zone-low-count")},
                "roiEntryCumCnt": {"low": stat(&h, "zone-low-entries")},
                "ocStatus": {"low": false},
                "objLCCumCnt": {"door": {"in": stat(&h, "line-door-in"), "out": stat(&h, "line-door-out")}}
            }),
            "frame {n}"
        );
    }
    let expected = expected_crossings(frames);
    let ins = expected.iter().filter(|c| c.2).count() as u64;
    let last = lines(&out).pop().unwrap();
    assert_eq!(last["analytics"]["objLCCumCnt"]["door"]["in"], ins);
    assert_eq!(
        last["analytics"]["objLCCumCnt"]["door"]["out"],
        expected.len() as u64 - ins
    );
    // Tracks 1 (y 300 from frame 15) and 3 (down to 300) entered the zone at some point.
    assert!(stat(&h, "zone-low-entries") >= 2);
}

/// `publish-analytics=false` publishes none of it, in either schema, and it can be switched
/// in PLAYING: the crossings while it is off are never published, those after are.
#[test]
fn publish_analytics_false_publishes_none() {
    let frames = 60;
    for broker in [
        "publish-analytics=false",
        "publish-analytics=false payload-type=deepstream-minimal frame-interval=1",
    ] {
        let dir = TempDir::new("msgbroker-analytics-off");
        let out = dir.path().join("events.jsonl");
        let mut h = harness(
            &format!("lines={DOOR} reference-width={W} reference-height={H}"),
            broker,
            &out,
        );
        for n in 0..frames {
            h.push_and_pull(frame(n, &scene_objects(n))).unwrap();
        }
        let all = lines(&out);
        assert!(!all.is_empty(), "{broker}: the objects are published");
        assert!(analytics_messages(&all).is_empty(), "{broker}");
        assert!(stat(&h, "line-door-in") > 0, "the crossings happened");
    }

    let dir = TempDir::new("msgbroker-analytics-toggle");
    let out = dir.path().join("events.jsonl");
    let mut h = harness(
        &format!("lines={DOOR} reference-width={W} reference-height={H}"),
        "",
        &out,
    );
    let b = element(&h, "b");
    assert!(b.property::<bool>("publish-analytics"), "default true");
    for n in 0..frames {
        // Off for frames 20 to 39.
        b.set_property("publish-analytics", !(20..40).contains(&n));
        h.push_and_pull(frame(n, &scene_objects(n))).unwrap();
    }
    let want: Vec<(u64, u64, bool)> = expected_crossings(frames)
        .into_iter()
        .filter(|c| !(20..40).contains(&c.0))
        .collect();
    assert!(expected_crossings(frames).len() > want.len());
    let got: Vec<(u64, u64, bool)> = analytics_messages(&lines(&out))
        .iter()
        .map(|m| {
            (
                frame_of(m, frames),
                m["object"]["id"].as_str().unwrap().parse().unwrap(),
                m["event"]["type"] == "entry",
            )
        })
        .collect();
    assert_eq!(got, want);
}
