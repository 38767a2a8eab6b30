//! Runs the PyGObject example `examples/read_tracks.py` with the system Python against the
//! plugin built by cargo, and checks that what it reads (frame marker, track ids, predicted
//! flags, boxes, the tracker's frame events and the `rstracker-event` messages) is what the
//! Rust side reads with `gstrsvision::detection` on the same frames.

mod common;

use std::path::Path;
use std::process::Command;

use gst::prelude::*;
use gstrsvision::detection;
use serde_json::Value;

const FRAMES: usize = 45;
const INTERVAL: u32 = 3;
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

fn run_python(plugin_dir: &Path) -> Vec<Value> {
    let script = common::root().join("examples/read_tracks.py");
    let out = Command::new(SYSTEM_PYTHON)
        .arg(&script)
        .arg(common::root().join("data/sample-shapes.mp4"))
        .arg(common::shapes_model())
        .args([
            "--interval",
            &INTERVAL.to_string(),
            "--frames",
            &FRAMES.to_string(),
            "--json",
        ])
        .env("GST_PLUGIN_PATH", plugin_dir)
        .env("GST_REGISTRY", plugin_dir.join("registry-tracks.bin"))
        .output()
        .expect("run /usr/bin/python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed:\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Per frame: (inferred, [(id, predicted, x_min)], [(track id, event)]).
type Frame = (bool, Vec<(u64, bool, f64)>, Vec<(u64, String)>);

fn run_rust() -> Vec<Frame> {
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! rsinfer threads=1 model-location={} \
         inference-interval={INTERVAL} conf-threshold=0.1 ! rstracker ! appsink name=sink sync=false",
        common::root().join("data/sample-shapes.mp4").display(),
        common::shapes_model().display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut out = vec![];
    while out.len() < FRAMES {
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(60))
            .expect("a frame");
        let b = sample.buffer().unwrap();
        let marker = &detection::frame::markers(b)[0];
        let objects = detection::read(b, 640, 480)
            .iter()
            .map(|d| {
                (
                    d.track_id.unwrap(),
                    d.tracking.as_ref().unwrap().predicted,
                    d.x,
                )
            })
            .collect();
        let events = detection::tracking::events(b)
            .into_iter()
            .map(|e| (e.track_id, e.event))
            .collect();
        out.push((marker.inferred(), objects, events));
    }
    pipeline.set_state(gst::State::Null).unwrap();
    out
}

#[test]
fn python_reads_the_same_tracks_markers_and_events_as_rust() {
    common::init();
    let lib = common::plugin_library();
    let records = run_python(lib.parent().unwrap());
    let rust = run_rust();

    let frames: Vec<&Value> = records.iter().filter(|r| r["source"] == "frame").collect();
    assert_eq!(frames.len(), FRAMES);
    let mut frame_events = vec![];
    for (i, (f, (inferred, objects, events))) in frames.iter().zip(&rust).enumerate() {
        assert_eq!(f["frame"].as_u64(), Some(i as u64));
        assert_eq!(
            f["marker"]["inferred"].as_bool(),
            Some(*inferred),
            "frame {i}"
        );
        assert_eq!(
            f["marker"]["reason"].as_str().unwrap(),
            if *inferred { "inferred" } else { "interval" }
        );
        assert_eq!(f["tracker"]["predicted"].as_bool(), Some(!*inferred));
        let py: Vec<(u64, bool, f64)> = f["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                assert_eq!(o["object_id"], o["id"], "DL Streamer's id equals ours");
                (
                    o["id"].as_u64().unwrap(),
                    o["predicted"].as_bool().unwrap(),
                    o["box"][0].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(py.len(), objects.len(), "frame {i}");
        for (p, r) in py.iter().zip(objects) {
            assert_eq!((p.0, p.1), (r.0, r.1), "frame {i}");
            assert!((p.2 - r.2).abs() < 0.01, "frame {i}: {} vs {}", p.2, r.2);
        }
        let py_events: Vec<(u64, String)> = f["tracker"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["track-id"].as_u64().unwrap(),
                    e["event"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(&py_events, events, "frame {i}");
        frame_events.extend(py_events);
    }
    // Eight shapes enter within the first frames, and there are predicted frames.
    assert!(
        frame_events.iter().filter(|e| e.1 == "entry").count() >= 8,
        "{frame_events:?}"
    );
    assert!(rust.iter().any(|f| !f.0));
    // Every event on the frames was also a bus message.
    let messages: Vec<(u64, String)> = records
        .iter()
        .filter(|r| r["source"] == "message")
        .map(|r| {
            (
                r["event"]["track-id"].as_u64().unwrap(),
                r["event"]["event"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for e in &frame_events {
        assert!(
            messages.contains(e),
            "{e:?} not among the messages {messages:?}"
        );
    }
}
