//! rsinfer's window of frames in flight with a backend in this process (the default: the
//! streaming thread hands each frame to an inference thread and goes on decoding): frames
//! leave in order with their own detections, EOS drains them, a flush drops them, and a live
//! source's frames are not held for a frame interval.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::{init, root};
use gst::prelude::*;
use gstrsvision::detection::{self, frame::Inference};

fn data(name: &str) -> String {
    root()
        .join("tests/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn frame(n: u64) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(320 * 240 * 3).unwrap();
    {
        let b = buffer.get_mut().unwrap();
        b.map_writable()
            .unwrap()
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = (i as u64 + n) as u8);
        b.set_pts(gst::ClockTime::from_mseconds(n * 33));
        b.set_duration(gst::ClockTime::from_mseconds(33));
    }
    buffer
}

fn harness(props: &[(&str, &dyn ToValue)]) -> gst_check::Harness {
    let element = gst::ElementFactory::make("rsinfer")
        .property("model-location", data("const_v8.onnx"))
        .build()
        .unwrap();
    for (k, v) in props {
        element.set_property_from_value(k, &v.to_value());
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=RGB,width=320,height=240,framerate=30/1");
    h
}

/// What one frame came out with: its PTS, the marker's frame number and inference, and
/// its detections.
fn summary(buf: &gst::BufferRef) -> (u64, u64, Inference, Vec<detection::Detection>) {
    let markers = detection::frame::markers(buf);
    assert_eq!(markers.len(), 1, "one marker per frame");
    (
        buf.pts().unwrap().mseconds(),
        markers[0].frame_number,
        markers[0].inference,
        detection::read(buf, 320, 240),
    )
}

/// The frames as the streaming thread path (`max-in-flight=1`) gives them.
fn reference(frames: u64, interval: u32) -> Vec<(u64, u64, Inference, Vec<detection::Detection>)> {
    let mut h = harness(&[("max-in-flight", &1u32), ("inference-interval", &interval)]);
    (0..frames)
        .map(|n| summary(&h.push_and_pull(frame(n)).unwrap()))
        .collect()
}

#[test]
fn frames_leave_in_order_with_their_own_detections() {
    init();
    for (in_flight, interval) in [(0u32, 1u32), (2, 1), (4, 1), (3, 2)] {
        let expected = reference(12, interval);
        assert!(!expected[0].3.is_empty(), "the constant model detects");
        let mut h = harness(&[
            ("max-in-flight", &in_flight),
            ("inference-interval", &interval),
        ]);
        for n in 0..12 {
            assert_eq!(h.push(frame(n)), Ok(gst::FlowSuccess::Ok));
            // At most the window's inferences are held, with the skipped frames between
            // them (they wait behind the inference before them to leave in order).
            let held = n + 1 - h.buffers_received() as u64;
            let max = if in_flight == 0 { 2 } else { in_flight as u64 } * interval as u64;
            assert!(
                held <= max,
                "{held} frames held with max-in-flight={in_flight}"
            );
        }
        assert!(h.push_event(gst::event::Eos::new()));
        let got: Vec<_> = (0..12).map(|_| summary(&h.pull().unwrap())).collect();
        assert_eq!(
            got, expected,
            "max-in-flight={in_flight}, interval {interval}"
        );
        assert!(
            got.iter()
                .enumerate()
                .all(|(n, g)| (g.2 == Inference::Inferred) == (n as u32 % interval == 0)),
            "{got:?}"
        );
    }
}

#[test]
fn a_flush_drops_the_held_frames() {
    init();
    let mut h = harness(&[("max-in-flight", &8u32)]);
    for n in 0..5 {
        h.push(frame(n)).unwrap();
    }
    let before = h.buffers_received();
    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    h.push(frame(100)).unwrap();
    assert!(h.push_event(gst::event::Eos::new()));
    let mut pts = Vec::new();
    while let Some(buf) = h.try_pull() {
        pts.push(buf.pts().unwrap().mseconds());
    }
    // Whatever left before the flush, then only the frame after it.
    assert_eq!(pts.len() as u32, before + 1, "{pts:?}");
    assert_eq!(*pts.last().unwrap(), 3300, "{pts:?}");
    assert!(pts[..pts.len() - 1].iter().all(|p| *p < 3300));
}

#[test]
fn a_decoded_file_is_inferred_frame_by_frame_in_order() {
    init();
    let model = common::shapes_model();
    let video = root().join("data/sample-shapes.mp4");
    let pipeline = common::launch(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 ! identity eos-after=60 \
         ! rsinfer model-location={} conf-threshold=0.5 post-messages=true ! appsink name=sink sync=false",
        video.display(),
        model.display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buf = sample.buffer().unwrap();
                let m = detection::frame::markers(buf);
                s.lock().unwrap().push((
                    buf.pts().unwrap(),
                    m.first().map(|m| m.inference),
                    detection::read(buf, 640, 480).len(),
                ));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut messages = 0;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(120)) {
        match msg.view() {
            gst::MessageView::Element(e)
                if e.structure()
                    .is_some_and(|s| s.name() == "rsinfer-detections") =>
            {
                messages += 1
            }
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{}", e.error()),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 59, "{} frames", seen.len());
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "in PTS order");
    assert!(seen.iter().all(|s| s.1 == Some(Inference::Inferred)));
    // The shipped video shows eight shapes on every frame.
    let with_objects = seen.iter().filter(|s| s.2 >= 6).count();
    assert!(
        with_objects * 10 >= seen.len() * 9,
        "{with_objects} of {}",
        seen.len()
    );
    assert_eq!(messages, seen.len());
}

#[test]
fn a_live_source_is_not_held_for_a_frame_interval() {
    // Two frames a second: holding each frame until the next one came would add 500 ms.
    init();
    let pipeline = common::launch(&format!(
        "videotestsrc is-live=true num-buffers=8 ! video/x-raw,format=RGB,width=320,height=240,framerate=2/1 \
         ! rsinfer name=infer model-location={} ! fakesink sync=true",
        common::shapes_model().display()
    ));
    let infer = pipeline.by_name("infer").unwrap();
    let entered = Arc::new(Mutex::new(Vec::<(gst::ClockTime, Instant)>::new()));
    let held = Arc::new(Mutex::new(Vec::new()));
    let e = entered.clone();
    infer
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer() {
                e.lock().unwrap().push((b.pts().unwrap(), Instant::now()));
            }
            gst::PadProbeReturn::Ok
        });
    let (e, h) = (entered.clone(), held.clone());
    infer
        .static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer() {
                let pts = b.pts().unwrap();
                if let Some((_, t)) = e.lock().unwrap().iter().find(|(p, _)| *p == pts) {
                    h.lock().unwrap().push(t.elapsed());
                }
            }
            gst::PadProbeReturn::Ok
        });
    common::run_to_eos(&pipeline, 60);
    let mut held = held.lock().unwrap().clone();
    assert!(held.len() >= 7, "{held:?}");
    held.sort();
    let median = held[held.len() / 2];
    assert!(
        median < std::time::Duration::from_millis(400),
        "median hold {median:?}: {held:?}"
    );
}

#[test]
fn onnx_throughput_runs_a_session_per_core_and_keeps_the_order() {
    init();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let expected = reference(16, 1);
    let element = gst::ElementFactory::make("rsinfer")
        .property("model-location", data("const_v8.onnx"))
        .property_from_str("performance-hint", "throughput")
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=RGB,width=320,height=240,framerate=30/1");
    for n in 0..16 {
        assert_eq!(h.push(frame(n)), Ok(gst::FlowSuccess::Ok));
        // The automatic window: the inferences that run at once (one per core) + 1.
        let held = n + 1 - h.buffers_received() as u64;
        assert!(held <= cores + 1, "{held} frames held on {cores} cores");
    }
    assert!(h.push_event(gst::event::Eos::new()));
    let got: Vec<_> = (0..16).map(|_| summary(&h.pull().unwrap())).collect();
    assert_eq!(
        got, expected,
        "throughput frames as the streaming thread gives them"
    );
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .filter(|c| c.starts_with("rsinfer-onnx-"))
        .collect();
    assert!(
        cores == 1 || threads.len() as u64 >= cores,
        "one inference thread per core: {threads:?}"
    );
}
