//! rsmsgbroker `publish=tracks`: rstracker's lifecycle events, one full-schema message each
//! (part of the `rsmsgbroker` test binary).

use super::*;

/// Capture time (Unix ms) of frame 0 in the track-event tests; frame n is n seconds later.
const TRACK_T0_MS: i64 = 1_627_494_799_339;

fn track_event(
    id: u64,
    event: &str,
    (x, y, width, height): (f64, f64, f64, f64),
    velocity: (f64, f64),
) -> TrackEvent {
    TrackEvent {
        track_id: id,
        event: event.to_string(),
        reason: if event == "exit" { "reset" } else { "" }.to_string(),
        label: if id == 6 { "car" } else { "person" }.to_string(),
        label_id: if id == 6 { 2 } else { 0 },
        x,
        y,
        width,
        height,
        confidence: 0.5 + id as f64 / 100.0,
        pts: None,
        running_time: None,
        first_seen: Some(0),
        last_seen: Some(0),
        hits: 3,
        velocity,
    }
}

/// Frame `n` with `dets`, a tracker frame meta listing `events`, and a Unix reference
/// timestamp of `TRACK_T0_MS` + n s (its capture time).
fn tracked_frame(n: u64, dets: &[Detection], events: Vec<TrackEvent>) -> gst::Buffer {
    let mut b = frame(n, dets);
    let r = b.get_mut().unwrap();
    tracking::mark_frame(
        r,
        &TrackerFrame {
            element: "rstracker0".into(),
            predicted: false,
            tracks: dets.len() as u32,
            events,
        },
    );
    gst::ReferenceTimestampMeta::add(
        r,
        &gst::Caps::builder("timestamp/x-unix").build(),
        gst::ClockTime::from_mseconds(TRACK_T0_MS as u64 + n * 1000),
        None,
    );
    b
}

fn ts(n: i64) -> String {
    gstrsvision::msgconv::format_timestamp(TRACK_T0_MS + n * 1000)
}

pub(crate) fn broker_harness(out: &std::path::Path, props: &[(&str, &str)]) -> gst_check::Harness {
    init();
    let e = gst::ElementFactory::make("rsmsgbroker")
        .property("conn-str", format!("file://{}", out.display()))
        .build()
        .unwrap();
    for (k, v) in props {
        e.set_property_from_str(k, v);
    }
    e.set_bus(Some(&gst::Bus::new()));
    let mut h = gst_check::Harness::with_element(&e, Some("sink"), Some("src"));
    h.set_src_caps_str(CAPS);
    h.play();
    h
}

/// Warning texts posted on the harness element's bus so far.
pub(crate) fn harness_warnings(h: &gst_check::Harness) -> Vec<String> {
    let bus = h.element().unwrap().bus().unwrap();
    let mut out = vec![];
    while let Some(m) = bus.pop() {
        if let gst::MessageView::Warning(w) = m.view() {
            out.push(w.error().to_string());
        }
    }
    out
}

/// The `rstracker-events` events that came out of the harness.
fn forwarded_track_events(h: &mut gst_check::Harness) -> Vec<Vec<TrackEvent>> {
    let mut out = vec![];
    while let Some(ev) = h.try_pull_event() {
        if let Some(events) = tracking::events_from_event(&ev) {
            out.push(events);
        }
    }
    out
}

fn bbox(m: &Value) -> [i64; 4] {
    let b = &m["object"]["bbox"];
    ["topleftx", "toplefty", "bottomrightx", "bottomrighty"].map(|k| b[k].as_i64().unwrap())
}

fn assert_near(got: &Value, want: f64, what: &str) {
    let g = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {got} not a number"));
    assert!((g - want).abs() < 1e-9, "{what}: {g} != {want}");
}

/// One message per event of the tracker metas (frame-interval and event-type do not
/// apply), with the event as event.type, the track id, the event's box clipped to the
/// frame, the track's speed and direction and the capture time of the frame; the exits of
/// the end-of-stream event get the capture time of the last frame and the event goes on
/// downstream.
#[test]
fn tracks_one_message_per_track_event() {
    let dir = TempDir::new("msgbroker-tracks");
    let out = dir.path().join("events.jsonl");
    let mut h = broker_harness(
        &out,
        &[
            ("publish", "tracks"),
            ("event-type", "parked"),
            ("include-confidence", "true"),
        ],
    );
    // The detections (other boxes than the events') are not what is published.
    let dets = [det(0, "person", Some(5)), det(1, "car", Some(6))];
    let frames = [
        vec![track_event(
            5,
            "entry",
            (10.4, 20.6, 40.2, 30.0),
            (30.0, 40.0),
        )],
        vec![],
        vec![
            track_event(5, "moving", (100.0, 50.0, 40.0, 30.0), (-30.0, 40.0)),
            // Over the bottom-right corner of the 640x480 frame: clipped.
            track_event(6, "entry", (620.4, 460.0, 40.0, 40.0), (0.0, -5.0)),
        ],
        vec![track_event(
            5,
            "stopped",
            (101.0, 50.0, 40.0, 30.0),
            (0.0, 0.0),
        )],
    ];
    for (n, events) in frames.into_iter().enumerate() {
        h.push(tracked_frame(n as u64, &dets, events)).unwrap();
    }
    let exits = vec![
        track_event(5, "exit", (101.0, 50.0, 40.0, 30.0), (0.0, 0.0)),
        track_event(6, "exit", (600.0, 400.0, 30.0, 30.0), (-3.0, 0.0)),
    ];
    assert!(h.push_event(tracking::events_event(&exits)));
    assert_eq!(forwarded_track_events(&mut h), vec![exits]);
    let e = h.element().unwrap();
    let msgs = lines(&out);
    assert_eq!(msgs.len(), 6, "{msgs:?}");
    for m in &msgs {
        check_full_schema(m);
    }
    let got: Vec<(&str, &str)> = msgs
        .iter()
        .map(|m| {
            (
                m["event"]["type"].as_str().unwrap(),
                m["object"]["id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("entry", "5"),
            ("moving", "5"),
            ("entry", "6"),
            ("stopped", "5"),
            ("exit", "5"),
            ("exit", "6")
        ]
    );
    assert_eq!(bbox(&msgs[0]), [10, 21, 51, 51]);
    assert_eq!(bbox(&msgs[1]), [100, 50, 140, 80]);
    assert_eq!(bbox(&msgs[2]), [620, 460, 640, 480]);
    assert_eq!(bbox(&msgs[3]), [101, 50, 141, 80]);
    assert_eq!(bbox(&msgs[5]), [600, 400, 630, 430]);
    // (30, 40) px/s: 50 px/s at atan(4/3) below +x; (-30, 40): mirrored; (0, -5): up.
    let want = [
        (50.0, 53.13010235415598),
        (50.0, 126.86989764584402),
        (5.0, 270.0),
        (0.0, 0.0),
        (0.0, 0.0),
        (3.0, 180.0),
    ];
    for (m, (speed, direction)) in msgs.iter().zip(want) {
        assert_near(&m["object"]["speed"], speed, "speed");
        assert_near(&m["object"]["direction"], direction, "direction");
    }
    assert!(msgs[0]["object"]["Person"].is_object());
    assert!(msgs[2]["object"]["Car"].is_object());
    assert_near(&msgs[2]["object"]["confidence"], 0.56, "confidence");
    let stamps: Vec<&str> = msgs
        .iter()
        .map(|m| m["@timestamp"].as_str().unwrap())
        .collect();
    assert_eq!(stamps, [ts(0), ts(2), ts(2), ts(3), ts(3), ts(3)]);
    let st = stats(&e);
    assert_eq!(st.get::<u64>("frames").unwrap(), 4, "{st}");
    assert_eq!(st.get::<u64>("published-frames").unwrap(), 3, "{st}");
    assert_eq!(st.get::<u64>("enqueued").unwrap(), 6, "{st}");
    assert_eq!(st.get::<u64>("delivered").unwrap(), 6, "{st}");
    assert!(harness_warnings(&h).is_empty());
}

/// Track events carry the classification attributes of their track (a classifier after
/// the tracker put them on the objects): the entry those of its own frame, later events the
/// latest seen, the exit (object gone) the last ones; a track without any carries none.
#[test]
fn track_events_carry_the_tracks_attributes() {
    let dir = TempDir::new("msgbroker-track-attributes");
    let out = dir.path().join("events.jsonl");
    let mut h = broker_harness(&out, &[("publish", "tracks")]);
    let colour = |label: &str, confidence: f64| Attribute {
        name: "colour".into(),
        label: label.into(),
        label_id: 0,
        confidence,
        model_name: "colours".into(),
        frames_ago: 0,
        attempts: 1,
        votes: 1,
    };
    let mut red = det(0, "person", Some(5));
    red.attributes = vec![colour("red", 0.9)];
    let mut blue = red.clone();
    blue.attributes = vec![colour("blue", 0.95)];
    let plain = det(1, "car", Some(6));
    let b = (10.0, 20.0, 40.0, 30.0);
    let frames = [
        (
            vec![red.clone(), plain.clone()],
            vec![
                track_event(5, "entry", b, (0.0, 0.0)),
                track_event(6, "entry", b, (0.0, 0.0)),
            ],
        ),
        (vec![blue.clone(), plain.clone()], vec![]),
        // The object is gone from this frame; its exit has its last attributes.
        (
            vec![plain.clone()],
            vec![track_event(5, "exit", b, (0.0, 0.0))],
        ),
    ];
    for (n, (dets, events)) in frames.into_iter().enumerate() {
        h.push(tracked_frame(n as u64, &dets, events)).unwrap();
    }
    assert!(h.push_event(tracking::events_event(&[track_event(
        6,
        "exit",
        b,
        (0.0, 0.0)
    )])));
    let msgs = lines(&out);
    assert_eq!(msgs.len(), 4, "{msgs:?}");
    let colour_of = |m: &Value| m["object"]["Person"]["colour"].as_str().map(String::from);
    assert_eq!(colour_of(&msgs[0]).as_deref(), Some("red"), "{}", msgs[0]);
    assert!(
        msgs[1]["object"]["Car"].as_object().unwrap().is_empty(),
        "{}",
        msgs[1]
    );
    assert_eq!(msgs[2]["event"]["type"], "exit");
    assert_eq!(colour_of(&msgs[2]).as_deref(), Some("blue"), "{}", msgs[2]);
    assert!(
        msgs[3]["object"]["Car"].as_object().unwrap().is_empty(),
        "{}",
        msgs[3]
    );
}

/// End-of-stream exits before any frame: stamped with the current time.
#[test]
fn tracks_stream_end_before_any_frame_is_stamped_now() {
    let dir = TempDir::new("msgbroker-tracks-now");
    let out = dir.path().join("events.jsonl");
    let mut h = broker_harness(&out, &[("publish", "tracks")]);
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let exits = vec![track_event(9, "exit", (1.0, 2.0, 3.0, 4.0), (0.0, 0.0))];
    assert!(h.push_event(tracking::events_event(&exits)));
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert_eq!(forwarded_track_events(&mut h).len(), 1);
    let msgs = lines(&out);
    assert_eq!(msgs.len(), 1);
    check_full_schema(&msgs[0]);
    assert_eq!(msgs[0]["event"]["type"], "exit");
    assert_eq!(msgs[0]["object"]["id"], "9");
    let t = msgs[0]["@timestamp"].as_str().unwrap();
    let (lo, hi) = (
        gstrsvision::msgconv::format_timestamp(before),
        gstrsvision::msgconv::format_timestamp(after),
    );
    assert!(lo.as_str() <= t && t <= hi.as_str(), "{lo} <= {t} <= {hi}");
}

/// publish=frames (the default) ignores the tracker's events: per-object messages every
/// frame-interval-th frame with event-type, speed and direction 0.0; the end-of-stream
/// event only goes on downstream.
#[test]
fn frames_mode_ignores_track_events() {
    let dir = TempDir::new("msgbroker-frames-tracked");
    let out = dir.path().join("events.jsonl");
    let mut h = broker_harness(&out, &[("frame-interval", "2"), ("event-type", "moving")]);
    let mut d = det(0, "person", Some(5));
    d.tracking = Some(detection::TrackInfo {
        velocity: (30.0, 40.0),
        hits: 3,
        ..Default::default()
    });
    for n in 0..4 {
        let events = vec![track_event(5, "entry", (1.0, 1.0, 5.0, 5.0), (30.0, 40.0))];
        h.push(tracked_frame(n, std::slice::from_ref(&d), events))
            .unwrap();
    }
    let exits = vec![track_event(5, "exit", (1.0, 1.0, 5.0, 5.0), (0.0, 0.0))];
    assert!(h.push_event(tracking::events_event(&exits)));
    assert_eq!(forwarded_track_events(&mut h), vec![exits]);
    let msgs = lines(&out);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    for (m, n) in msgs.iter().zip([0, 2]) {
        check_full_schema(m);
        assert_eq!(m["event"]["type"], "moving");
        assert_eq!(m["object"]["id"], "5");
        assert_eq!(m["object"]["speed"], 0.0);
        assert_eq!(m["object"]["direction"], 0.0);
        assert_eq!(bbox(m), [10, 21, 51, 51]);
        assert_eq!(m["@timestamp"], ts(n));
    }
    assert_eq!(stat(&h.element().unwrap(), "enqueued"), 2);
    assert!(harness_warnings(&h).is_empty());
}

/// publish=tracks without rstracker upstream: one warning after 300 frames, nothing
/// published, the stream goes on.
#[test]
fn tracks_without_tracker_warns_once() {
    let dir = TempDir::new("msgbroker-tracks-none");
    let out = dir.path().join("events.jsonl");
    let mut h = broker_harness(&out, &[("publish", "tracks")]);
    let dets = [det(0, "person", Some(1))];
    for n in 0..299 {
        h.push_and_pull(frame(n, &dets)).unwrap();
    }
    assert!(harness_warnings(&h).is_empty());
    for n in 299..700 {
        h.push_and_pull(frame(n, &dets)).unwrap();
    }
    let warnings = harness_warnings(&h);
    assert_eq!(
        warnings,
        ["publish=tracks but no rstracker events on the stream: put rstracker before rsmsgbroker"]
    );
    assert!(lines(&out).is_empty());
    let e = h.element().unwrap();
    assert_eq!(stat(&e, "frames"), 700);
    assert_eq!(stat(&e, "enqueued"), 0);
}

/// The minimal schema has no event type: publish=tracks with it does not start.
#[test]
fn tracks_need_the_full_schema() {
    let dir = TempDir::new("msgbroker-tracks-minimal");
    let out = dir.path().join("events.jsonl");
    let e = start_error(&format!(
        "conn-str=file://{} publish=tracks payload-type=deepstream-minimal",
        out.display()
    ));
    assert!(
        e.contains("minimal schema") && e.contains("no event type"),
        "{e}"
    );
    assert!(
        e.contains("use payload-type=deepstream") && e.contains("publish=frames"),
        "{e}"
    );
}

/// Frames of the moving-box pipeline.
const BOX_FRAMES: u64 = 60;

/// Left edge of the moving box on frame `n`: 4 px per frame to the right (120 px/s at 30
/// fps).
fn box_x(n: u64) -> f64 {
    20.0 + 4.0 * n as f64
}

/// Runs `videotestsrc ! <a probe adding the moving box> ! rstracker ! rsmsgbroker
/// publish=tracks <props>` until EOS reaches the bus (panics on an error or warning);
/// returns the pipeline (still playing) and the broker.
fn run_moving_box(props: &str) -> (gst::Pipeline, gst::Element) {
    init();
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers={BOX_FRAMES} ! video/x-raw,format=I420,width={W},height={H},framerate=30/1 \
         ! identity name=mark ! rstracker ! rsmsgbroker name=b publish=tracks {props} \
         ! fakesink sync=false"
    ));
    let pad = common::element::<gst::Element>(&pipeline, "mark")
        .static_pad("src")
        .unwrap();
    let count = std::sync::atomic::AtomicU64::new(0);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer_mut() {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let d = Detection {
                x: box_x(n),
                y: 100.0,
                width: 40.0,
                height: 80.0,
                confidence: 0.9,
                label_id: 0,
                label: "person".into(),
                track_id: None,
                tracking: None,
                attributes: Vec::new(),
            };
            detection::attach(buffer.make_mut(), &[d], W, H, 0);
        }
        gst::PadProbeReturn::Ok
    });
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let mut eos = false;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match msg.view() {
            gst::MessageView::Eos(_) => {
                eos = true;
                break;
            }
            gst::MessageView::Error(e) => panic!("{} {:?}", e.error(), e.debug()),
            gst::MessageView::Warning(w) => panic!("{} {:?}", w.error(), w.debug()),
            _ => {}
        }
    }
    assert!(eos, "no EOS");
    let b = common::element::<gst::Element>(&pipeline, "b");
    (pipeline, b)
}

/// The messages of the moving box: its entry first, its exit (from the EOS) last and only
/// once, all with the same object.id; the exit at the last box with the box's speed and
/// direction (+x).
fn check_moving_box(msgs: &[Value]) {
    assert!(msgs.len() >= 2, "{msgs:?}");
    for m in msgs {
        check_full_schema(m);
        assert!(m["object"]["Person"].is_object());
    }
    let types: Vec<&str> = msgs
        .iter()
        .map(|m| m["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types[0], "entry", "{types:?}");
    assert_eq!(*types.last().unwrap(), "exit", "{types:?}");
    assert_eq!(
        types.iter().filter(|t| **t == "exit").count(),
        1,
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| **t == "entry").count(),
        1,
        "{types:?}"
    );
    let id = &msgs[0]["object"]["id"];
    assert!(id.as_str().unwrap().parse::<u64>().is_ok(), "{id}");
    assert!(msgs.iter().all(|m| &m["object"]["id"] == id), "{msgs:?}");
    let exit = msgs.last().unwrap();
    let [l, t, r, btm] = bbox(exit);
    let last = box_x(BOX_FRAMES - 1);
    assert!((l as f64 - last).abs() <= 4.0, "exit box {l} vs {last}");
    assert!((r - l - 40).abs() <= 4 && (t - 100).abs() <= 4 && (btm - t - 80).abs() <= 4);
    let speed = exit["object"]["speed"].as_f64().unwrap();
    assert!((speed - 120.0).abs() < 24.0, "speed {speed}");
    let dir_deg = exit["object"]["direction"].as_f64().unwrap();
    assert!(dir_deg.min(360.0 - dir_deg) < 5.0, "direction {dir_deg}");
    // The exit has the capture time of the last frame, not earlier than the entry's.
    assert!(exit["@timestamp"].as_str() >= msgs[0]["@timestamp"].as_str());
}

/// A real pipeline: a box moving through rstracker into a file. The file is read as soon
/// as EOS reached the bus: the exit was written before.
#[test]
fn tracks_pipeline_entry_then_exit_at_eos() {
    let dir = TempDir::new("msgbroker-tracks-pipeline");
    let out = dir.path().join("events.jsonl");
    let (pipeline, b) = run_moving_box(&format!("conn-str=file://{}", out.display()));
    let msgs = lines(&out);
    assert_eq!(stat(&b, "enqueued"), msgs.len() as u64);
    pipeline.set_state(gst::State::Null).unwrap();
    check_moving_box(&msgs);
}

/// The same to Kafka (mock cluster): when EOS reaches the bus every message, the exit
/// from the EOS included, is delivered (the EOS flush ran after the exit was enqueued).
#[test]
fn mock_tracks_exit_delivered_before_eos() {
    let topic = "tracks";
    let m = mock_cluster(topic);
    let (pipeline, b) = run_moving_box(&format!(
        "conn-str={} topic={topic} flush-timeout=10000",
        m.bootstrap_servers()
    ));
    let st = stats(&b);
    pipeline.set_state(gst::State::Null).unwrap();
    let enqueued = st.get::<u64>("enqueued").unwrap();
    assert!(enqueued >= 2, "{st}");
    assert_eq!(st.get::<u64>("delivered").unwrap(), enqueued, "{st}");
    assert_eq!(st.get::<u64>("queued").unwrap(), 0, "{st}");
    let got = broker::consume(
        &m.bootstrap_servers(),
        topic,
        1,
        enqueued as usize,
        Duration::from_secs(20),
        Duration::from_millis(300),
    );
    let msgs: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_str(&r.payload).unwrap())
        .collect();
    assert_eq!(msgs.len() as u64, enqueued);
    check_moving_box(&msgs);
}
