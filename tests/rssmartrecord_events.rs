//! rssmartrecord's finished clips down the stream: the `rssmartrecord-done` serialized
//! event, in order with the buffers and before EOS (Harness), through `decodebin`
//! (avdec_h264), `queue`, `rsinfer` and `rstracker` to `rsmsgbroker`, whose JSON-lines file
//! holds one message per clip with the clip's file as `videoPath`, written before EOS
//! reaches the application (the `rsvision run` pipeline on the shipped sample video).

mod common;
mod smartrecord_util;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{init, TempDir};
use gst::prelude::*;
use gstrsvision::detection::clip::{clip_done_from_event, ClipDone};
use serde_json::Value;
use smartrecord_util::*;

/// The session ids of the clip events among `events`, and whether each came before an EOS.
fn clip_events(h: &mut gst_check::Harness) -> Vec<(u32, bool)> {
    let mut out = Vec::new();
    let mut eos = false;
    while let Some(e) = h.try_pull_event() {
        if let Some(c) = clip_done_from_event(&e) {
            out.push((c.session_id, !eos));
        }
        eos |= e.type_() == gst::EventType::Eos;
    }
    out
}

/// A clip finished while the stream runs goes downstream with the next buffer (not
/// before: nothing is pushed from the writer's thread), one finished by EOS before the
/// EOS; both carry what the bus message says.
#[test]
fn harness_done_event_follows_the_stream() {
    init();
    let (caps, buffers) = encode(&h264(25), 100);
    let dir = TempDir::new("sr-events");
    let element = gst::ElementFactory::make("rssmartrecord")
        .property("location", dir.path().to_str().unwrap())
        .property("sensor-id", "cam1")
        .build()
        .unwrap();
    element.set_bus(Some(&gst::Bus::new()));
    let done = DoneWatcher::new(&element);
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps(caps);
    let start = |before: f64, duration: f64| {
        element.emit_by_name::<u32>("start-recording", &[&before, &duration])
    };
    // Frames 20 to 45 (1 s at 25 fps): frame 45 ends the clip.
    for (i, b) in buffers.iter().enumerate().take(46) {
        h.push(b.clone()).unwrap();
        if i == 20 {
            assert_eq!(start(0.0, 1.0), 1);
        }
    }
    let first = done.next(30);
    assert_eq!(first.get::<&str>("reason").unwrap(), "end");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        clip_events(&mut h),
        vec![],
        "nothing goes down without a buffer"
    );
    h.push(buffers[46].clone()).unwrap();
    assert_eq!(clip_events(&mut h), vec![(1, true)]);

    // The second clip (default duration, 20 s) outlives the stream: EOS finishes it.
    for (i, b) in buffers.iter().enumerate().skip(47) {
        h.push(b.clone()).unwrap();
        if i == 60 {
            assert_eq!(start(0.0, 0.0), 2);
        }
    }
    assert!(h.push_event(gst::event::Eos::new()));
    let second = done.next(5);
    assert_eq!(second.get::<&str>("reason").unwrap(), "eos");
    let mut h_events = Vec::new();
    while let Some(e) = h.try_pull_event() {
        h_events.push(e);
    }
    let kinds: Vec<String> = h_events
        .iter()
        .map(|e| match clip_done_from_event(e) {
            Some(c) => format!("clip {}", c.session_id),
            None => e.type_().name().to_string(),
        })
        .collect();
    // The clip's event just before EOS, with a zero-length GAP at the end of the last frame
    // (so that decoders pass it on).
    assert_eq!(
        kinds.iter().rev().take(3).collect::<Vec<_>>(),
        ["eos", "gap", "clip 2"],
        "{kinds:?}"
    );
    let gst::EventView::Gap(gap) = h_events[h_events.len() - 2].view() else {
        unreachable!()
    };
    let last = buffers.last().unwrap();
    assert_eq!(
        gap.get(),
        (
            last.pts().unwrap() + last.duration().unwrap(),
            Some(gst::ClockTime::ZERO)
        )
    );
    // The event holds the bus message's structure.
    let ev = clip_done_from_event(&h_events[h_events.len() - 3]).unwrap();
    assert_eq!(Some(ev), ClipDone::from_structure(&second));
    assert_eq!(ev_path(&second), clip_path(&second));
    assert!(clip_path(&second).exists());
}

fn ev_path(s: &gst::Structure) -> std::path::PathBuf {
    ClipDone::from_structure(s).unwrap().path()
}

/// What rsmsgbroker's sink pad saw, in order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Buffer,
    Clip(u32),
    Eos,
}

/// `rsvision run`'s per-camera pipeline on the sample video: a clip ended by its end while
/// the stream runs and one ended by EOS each give exactly one message in the events file,
/// `videoPath` the clip file and the clip's times, both in the file when EOS reaches the
/// application; the events reach rsmsgbroker in order with the decoded frames.
#[test]
fn pipeline_clips_reach_the_events_file_before_eos() {
    init();
    let dir = TempDir::new("sr-events-pipeline");
    let out = dir.path().join("events.jsonl");
    let pipeline = common::launch(&format!(
        "filesrc location={video} ! parsebin ! rssmartrecord name=rec location={clips} sensor-id=cam1 \
         ! decodebin ! queue ! rsinfer model-location={model} conf-threshold=0.3 ! rstracker \
         ! rsmsgbroker name=b conn-str=file://{out} sensor-id=cam1 publish=tracks ! fakesink sync=false",
        video = common::root().join("data/sample-shapes.mp4").display(),
        clips = dir.path().display(),
        model = common::shapes_model().display(),
        out = out.display(),
    ));
    let rec = pipeline.by_name("rec").unwrap();
    let done = DoneWatcher::new(&rec);

    // 300 frames at 30 fps: a 2 s clip asked at 3 s (1 s before), one at 8 s that would
    // last 20 s.
    let weak = rec.downgrade();
    let count = Arc::new(Mutex::new(0u32));
    rec.static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            let mut n = count.lock().unwrap();
            *n += 1;
            let ask = match *n {
                90 => Some((1.0f64, 2.0f64)),
                240 => Some((0.5, 0.0)),
                _ => None,
            };
            drop(n);
            if let (Some((before, duration)), Some(rec)) = (ask, weak.upgrade()) {
                let id = rec.emit_by_name::<u32>("start-recording", &[&before, &duration]);
                assert_ne!(id, 0, "start-recording refused");
            }
            gst::PadProbeReturn::Ok
        });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    pipeline
        .by_name("b")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                let s = match &info.data {
                    Some(gst::PadProbeData::Buffer(_)) => Some(Seen::Buffer),
                    Some(gst::PadProbeData::Event(e)) => clip_done_from_event(e)
                        .map(|c| Seen::Clip(c.session_id))
                        .or((e.type_() == gst::EventType::Eos).then_some(Seen::Eos)),
                    _ => None,
                };
                log.lock().unwrap().extend(s);
                gst::PadProbeReturn::Ok
            },
        );

    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let mut at_eos = None;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(180)) {
        match msg.view() {
            gst::MessageView::Eos(_) => {
                // Read while the pipeline still plays: rsmsgbroker has not stopped.
                at_eos = Some(std::fs::read_to_string(&out).unwrap());
                break;
            }
            gst::MessageView::Error(e) => panic!("{} ({:?})", e.error(), e.debug()),
            _ => {}
        }
    }
    let decoders: Vec<String> = pipeline
        .iterate_recurse()
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.factory().map(|f| f.name().to_string()))
        .collect();
    pipeline.set_state(gst::State::Null).unwrap();
    let text = at_eos.expect("EOS within 180 s");
    assert!(
        decoders.iter().any(|d| d == "avdec_h264"),
        "decodebin decodes with avdec_h264: {decoders:?}"
    );

    let mut clips = vec![done.next(5), done.next(5)];
    clips.sort_by_key(|d| d.get::<u32>("session-id").unwrap());
    assert_eq!(clips[0].get::<&str>("reason").unwrap(), "end");
    assert_eq!(clips[1].get::<&str>("reason").unwrap(), "eos");

    let msgs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let clip_msgs: Vec<&Value> = msgs
        .iter()
        .filter(|m| m["event"]["type"] == "custom")
        .collect();
    assert_eq!(clip_msgs.len(), 2, "one message per clip: {clip_msgs:?}");
    for (m, d) in clip_msgs.iter().zip(&clips) {
        let path = clip_path(d);
        assert!(path.exists(), "{}", path.display());
        assert_eq!(m["videoPath"], path.display().to_string());
        assert_eq!(m["sensor"]["id"], "cam1");
        let c = &m["object"]["Clip"];
        assert_eq!(c["sessionId"], d.get::<u32>("session-id").unwrap());
        assert_eq!(c["reason"], d.get::<&str>("reason").unwrap());
        assert_eq!(c["start"], d.get::<&str>("start-time").unwrap());
        assert_eq!(c["end"], d.get::<&str>("end-time").unwrap());
        assert_eq!(m["@timestamp"], d.get::<&str>("end-time").unwrap());
        assert_eq!(c["duration"], d.get::<u64>("duration-ms").unwrap());
        assert_eq!(c["frames"], d.get::<u64>("frames").unwrap());
        assert_eq!(c["fileKept"], true);
    }
    // The tracker's events share the file.
    assert!(
        msgs.iter().any(|m| m["event"]["type"] == "entry"),
        "track entries in the file"
    );

    // In order with the stream: clip 1 after its frames (it ended at 5 s, frame 150) and
    // before the stream's end; clip 2 with the last frames, before EOS. (A decoder passes
    // an event on with the frames decoded before it: it overtakes the few frames held for
    // reordering and threads.)
    let seen = seen.lock().unwrap().clone();
    let pos = |s: &Seen| seen.iter().position(|x| x == s).unwrap();
    let buffers_before = |i: usize| seen[..i].iter().filter(|s| **s == Seen::Buffer).count();
    let (c1, c2, eos) = (pos(&Seen::Clip(1)), pos(&Seen::Clip(2)), pos(&Seen::Eos));
    assert!(buffers_before(c1) >= 150 - 16, "{}", buffers_before(c1));
    assert!(buffers_before(c1) < 300, "clip 1 went down mid-stream");
    assert!(buffers_before(c2) >= 300 - 16, "{}", buffers_before(c2));
    assert!(c2 < eos, "clip 2's event before EOS");
    assert_eq!(buffers_before(eos), 300);
    assert_eq!(seen.len(), eos + 1);
}
