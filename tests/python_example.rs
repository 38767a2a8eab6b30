//! Runs the PyGObject example `examples/read_detections.py` with the system Python against
//! the plugin built by cargo (found beside this test binary), and checks that what it reads
//! from the buffer metadata and from the `rsinfer-detections` messages is what the Rust side
//! reads, through `gstrsvision::detection::read`, on the same frames.
//!
//! Needs `/usr/bin/python3` with PyGObject and python3-gst-1.0, and `../shared` (the random
//! YOLOv8n model and the 1280x720 sample video, so it does not depend on the shipped model).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use gst::prelude::*;
use gstrsvision::detection::{self, Detection};
use serde_json::Value;

const FRAMES: usize = 6;
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

fn video() -> PathBuf {
    common::shared().join("video/sample_1280x720.mp4")
}

fn model() -> PathBuf {
    common::shared().join("models/yolov8n_320_random.onnx")
}

/// What the Python example printed for one frame.
#[derive(Debug, Default)]
struct PyFrame {
    pts: Option<u64>,
    metas: Option<Vec<Value>>,
    message: Option<Vec<Value>>,
}

fn run_python_example(plugin_dir: &Path) -> Vec<PyFrame> {
    let script = common::root().join("examples/read_detections.py");
    let output = Command::new(SYSTEM_PYTHON)
        .arg(&script)
        .arg(video())
        .arg(model())
        .args(["--frames", &FRAMES.to_string(), "--threads", "1", "--json"])
        .env("GST_PLUGIN_PATH", plugin_dir)
        .env("GST_REGISTRY", plugin_dir.join("registry.bin"))
        .output()
        .expect("run /usr/bin/python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let mut frames: Vec<PyFrame> = (0..FRAMES).map(|_| PyFrame::default()).collect();
    let mut summary = None;
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if let Some(s) = v.get("summary") {
            summary = Some(s.clone());
            continue;
        }
        let n = v["frame"].as_u64().unwrap() as usize;
        assert!(n < FRAMES, "frame {n} reported, only {FRAMES} asked for");
        let f = &mut frames[n];
        let dets = v["detections"].as_array().unwrap().clone();
        let pts = v["pts"].as_u64();
        match v["source"].as_str().unwrap() {
            "meta" => {
                assert!(f.metas.is_none(), "frame {n} read twice from metas");
                f.metas = Some(dets);
                f.pts = pts;
            }
            "message" => {
                assert!(f.message.is_none(), "two messages for frame {n}");
                f.message = Some(dets);
                if f.pts.is_none() {
                    f.pts = pts;
                }
            }
            other => panic!("unknown source {other}"),
        }
    }
    let summary = summary.expect("a summary line");
    assert_eq!(summary["frames"]["meta"].as_u64(), Some(FRAMES as u64));
    frames
}

/// One frame as the Rust side reads it.
struct RustFrame {
    pts: Option<gst::ClockTime>,
    detections: Vec<Detection>,
    width: u32,
    height: u32,
}

/// The same frames through the same elements, read on the Rust side.
fn run_rust_side() -> Vec<RustFrame> {
    let pipeline = common::launch(
        "filesrc name=src ! decodebin ! rsinfer name=infer threads=1 ! \
         appsink name=sink sync=false",
    );
    pipeline
        .by_name("src")
        .unwrap()
        .set_property("location", video());
    pipeline
        .by_name("infer")
        .unwrap()
        .set_property("model-location", model());
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut out = Vec::new();
    while out.len() < FRAMES {
        let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(60)) else {
            break;
        };
        let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
        let buffer = sample.buffer().unwrap();
        let (w, h) = (info.width(), info.height());
        out.push(RustFrame {
            pts: buffer.pts(),
            detections: detection::read(buffer, w, h),
            width: w,
            height: h,
        });
    }
    if let Some(msg) = pipeline
        .bus()
        .unwrap()
        .pop_filtered(&[gst::MessageType::Error])
    {
        panic!("Rust-side pipeline error: {msg:?}");
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(out.len(), FRAMES, "the Rust side got {FRAMES} frames");
    out
}

fn f64_at(v: &Value, i: usize) -> f64 {
    v[i].as_f64().unwrap()
}

/// Compares one Python-read detection (from metas or from a message) with the Rust one.
fn same_detection(py: &Value, d: &Detection) -> Result<(), String> {
    let b = &py["box"];
    let boxes = [
        (f64_at(b, 0), d.x),
        (f64_at(b, 1), d.y),
        (f64_at(b, 2), d.x_max()),
        (f64_at(b, 3), d.y_max()),
    ];
    let close_box = boxes.iter().all(|(a, b)| (a - b).abs() <= 1e-3);
    let close_conf = (py["confidence"].as_f64().unwrap() - d.confidence).abs() <= 1e-5;
    if py["label_id"].as_i64() == Some(i64::from(d.label_id))
        && py["label"].as_str() == Some(d.label.as_str())
        && close_box
        && close_conf
    {
        Ok(())
    } else {
        Err(format!("Python read {py}, Rust read {d:?}"))
    }
}

#[test]
fn python_example_reads_the_same_detections_as_rust() {
    common::init();
    let started = std::time::Instant::now();
    let python_ok = Command::new(SYSTEM_PYTHON)
        .args([
            "-c",
            "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstVideo', '1.0'); \
             from gi.repository import Gst, GstVideo",
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        python_ok,
        "{SYSTEM_PYTHON} with PyGObject and python3-gst-1.0 is needed \
         (apt-get install python3-gi python3-gst-1.0 gir1.2-gst-plugins-base-1.0)"
    );

    // A directory holding only our plugin, with its own registry: GST_PLUGIN_PATH must not
    // point at target/*/deps, which holds every other shared library cargo built.
    let tmp = common::TempDir::new("python-example");
    let library = common::plugin_library();
    std::os::unix::fs::symlink(&library, tmp.path().join("libgstrsvision.so")).unwrap();

    let py = run_python_example(tmp.path());
    let rust = run_rust_side();
    eprintln!(
        "Python example and Rust side on {FRAMES} frames in {:.1?} (plugin {})",
        started.elapsed(),
        library.display()
    );

    let mut total = 0;
    for (n, (p, r)) in py.iter().zip(&rust).enumerate() {
        let dets = &r.detections;
        assert_eq!(
            p.pts,
            r.pts.map(|t| t.nseconds()),
            "frame {n}: both sides read the same frame"
        );
        let metas = p.metas.as_ref().expect("metas read for every frame");
        let message = p
            .message
            .as_ref()
            .unwrap_or_else(|| panic!("no rsinfer-detections message for frame {n}"));
        assert_eq!(metas.len(), dets.len(), "frame {n}: detections from metas");
        assert_eq!(
            message.len(),
            dets.len(),
            "frame {n}: detections in the message"
        );
        for (i, (m, d)) in metas.iter().zip(dets).enumerate() {
            same_detection(m, d).unwrap_or_else(|e| panic!("frame {n} meta {i}: {e}"));
            assert_eq!(
                m["id"].as_i64(),
                Some(i as i64),
                "frame {n}: metas numbered from 0"
            );
            let (x, y, rw, rh) = d.pixel_rect(r.width, r.height);
            assert_eq!(
                m["rect"],
                serde_json::json!([x, y, rw, rh]),
                "frame {n} meta {i}: integer rectangle"
            );
        }
        for (i, (m, d)) in message.iter().zip(dets).enumerate() {
            same_detection(m, d).unwrap_or_else(|e| panic!("frame {n} message entry {i}: {e}"));
        }
        total += dets.len();
    }
    // The random model finds a few dozen boxes per frame of this video.
    assert!(
        total >= FRAMES,
        "only {total} detections on {FRAMES} frames: nothing to compare"
    );
    eprintln!("{total} detections compared");
}
