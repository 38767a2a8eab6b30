//! Parity of object classification: on the same decoded frames and boxes, rsinfer's
//! `inference-region=objects` top-1 class and probability match an independent reference
//! made with ONNX Runtime's own Python API and OpenCV's resize
//! (`tests/reference/classify_reference.py`).
//!
//! Two models: `tests/data/pool_probe_224.onnx`, whose 192 "classes" are the means of an
//! 8x8 grid of the 224x224 input per channel (any error in which pixels a crop took or how
//! they were resampled moves its top class and probability), and the random-weight
//! Ultralytics export `../shared/models/yolo11n-cls_224_random.onnx` (`task=classify`,
//! already softmaxed: its near-constant output, 1.027e-3 for class 909 whatever the input,
//! would read 0.999e-3 if softmaxed twice).
//!
//! Boxes cover fractional edges, the frame's borders, crop padding, landscape and portrait
//! crops larger and smaller than the 224 input. The frames are decoded once to RGB here,
//! written raw for the reference, and the very same buffers are pushed through the element.
//! (The YUV formats' crops are checked pixel by pixel against a naive reference in
//! `src/preprocess/crop/tests.rs`, and by colour in `tests/rsinfer_classify.rs`.)
//!
//! Needs `../shared` (models, videos) and the Python venv made by scripts/setup.sh --test.

mod common;

use gst::prelude::*;
use gstrsvision::detection::{self, attribute, Detection};
use serde_json::{json, Value};

/// The probability a random-weight classifier gives its top class is small (about 1e-3
/// over 1000 classes), so the tolerance is relative to it.
const RELATIVE_TOLERANCE: f64 = 1e-3;
const PADDING: f64 = 0.1;

fn boxes() -> Vec<(f64, f64, f64, f64)> {
    vec![
        (100.0, 80.0, 300.0, 200.0),  // landscape, larger than the input
        (640.5, 100.25, 60.7, 150.3), // portrait, fractional, smaller
        (0.0, 0.0, 50.0, 40.0),       // at the top-left corner: padding clipped
        (1200.0, 650.0, 80.0, 70.0),  // over the bottom-right corner
        (300.0, 300.0, 224.0, 224.0), // the input's size
        (500.0, 200.0, 700.0, 500.0), // most of the frame
        (900.0, 400.0, 13.0, 9.0),    // tiny
    ]
}

fn object(b: (f64, f64, f64, f64)) -> Detection {
    Detection {
        x: b.0,
        y: b.1,
        width: b.2,
        height: b.3,
        confidence: 0.9,
        label_id: 0,
        label: "thing".into(),
        track_id: None,
        tracking: None,
        attributes: Vec::new(),
    }
}

/// Frames 0, 12 and 24 of the sample video, decoded to packed RGB.
fn frames() -> Vec<gst::Buffer> {
    let video = common::shared().join("video/sample_1280x720.mp4");
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false",
        video.display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut out = Vec::new();
    for n in 0..25 {
        let sample = sink.pull_sample().expect("a frame");
        if n % 12 == 0 {
            out.push(sample.buffer_owned().unwrap());
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    out
}

/// (label_id, confidence) of each box, through the element.
fn classify(model: &str, frames: &[gst::Buffer]) -> Vec<Vec<(i32, f64)>> {
    let element = gst::ElementFactory::make("rsinfer")
        .property("model-location", model)
        .property_from_str("inference-region", "objects")
        .property("attribute-name", "cls")
        .property("classifier-threshold", 0.0f32)
        .property("crop-padding", PADDING)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=RGB,width=1280,height=720,framerate=30/1");
    let objects: Vec<Detection> = boxes().into_iter().map(object).collect();
    frames
        .iter()
        .map(|f| {
            let mut b = f.copy();
            detection::attach(b.make_mut(), &objects, 1280, 720, 0);
            let out = h.push_and_pull(b).unwrap();
            out.iter_meta::<gst_video::VideoRegionOfInterestMeta>()
                .map(|roi| {
                    let a = attribute::of_roi(&roi)
                        .into_iter()
                        .find(|a| a.name == "cls")
                        .expect("every box classified");
                    (a.label_id, a.confidence)
                })
                .collect()
        })
        .collect()
}

/// The reference's (label_id, confidence, second best) per frame and box.
fn reference(model: &str, frames: &[gst::Buffer]) -> Vec<Vec<(i32, f64, f64)>> {
    let dir = common::TempDir::new("parity-classify");
    let mut spec_frames = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let path = dir.path().join(format!("frame{i}.rgb"));
        let map = f.map_readable().unwrap();
        assert_eq!(map.len(), 1280 * 720 * 3, "tightly packed RGB");
        std::fs::write(&path, map.as_slice()).unwrap();
        spec_frames.push(json!({"path": path, "width": 1280, "height": 720,
                                "boxes": boxes().iter().map(|b| [b.0, b.1, b.2, b.3]).collect::<Vec<_>>()}));
    }
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        json!({"model": model, "padding": PADDING, "frames": spec_frames}).to_string(),
    )
    .unwrap();
    let out = std::process::Command::new(common::python())
        .arg(common::root().join("tests/reference/classify_reference.py"))
        .arg(&spec)
        .output()
        .expect("run the reference");
    assert!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f.as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r[0].as_i64().unwrap() as i32,
                        r[1].as_f64().unwrap(),
                        r[2].as_f64().unwrap(),
                    )
                })
                .collect()
        })
        .collect()
}

/// The largest relative probability difference, and how many top-1 labels were compared
/// (where the reference's top two are further apart than twice `gap`, relative) and matched.
fn compare(ours: &[Vec<(i32, f64)>], theirs: &[Vec<(i32, f64, f64)>], gap: f64) -> (f64, usize) {
    let mut worst: f64 = 0.0;
    let mut compared = 0;
    for (f, (mine, refs)) in ours.iter().zip(theirs).enumerate() {
        assert_eq!(mine.len(), refs.len());
        for (b, ((id, p), (rid, rp, second))) in mine.iter().zip(refs).enumerate() {
            let d = (p - rp).abs() / rp;
            worst = worst.max(d);
            if (rp - second) / rp > 2.0 * gap {
                assert_eq!(id, rid, "frame {f} box {b}: {p} against {rp}");
                compared += 1;
            }
        }
    }
    (worst, compared)
}

#[test]
fn object_crops_match_an_independent_opencv_and_onnx_runtime_reference() {
    common::init();
    let model = common::root().join("tests/data/pool_probe_224.onnx");
    let model = model.to_str().unwrap();
    let frames = frames();
    let theirs = reference(model, &frames);
    let ours = classify(model, &frames);
    // Labels are compared where the reference's top two are further apart than twice a
    // gap far above the agreement seen (5e-7 relative on this machine).
    let (worst, compared) = compare(&ours, &theirs, 1e-5);
    eprintln!("RGB: {compared} of 21 top-1 labels compared and equal, probabilities within {worst:.2e} relative");
    assert!(worst <= RELATIVE_TOLERANCE, "RGB: {worst}");
    // Uniform areas (sky, road) tie several cells: those labels are not compared.
    assert!(compared >= 4, "labels compared on {compared} boxes");
    // The top probabilities differ from box to box: the probe sees the crops.
    let distinct: std::collections::BTreeSet<i64> = ours
        .iter()
        .flatten()
        .map(|(_, p)| (p * 1e6) as i64)
        .collect();
    assert!(distinct.len() >= 15, "{distinct:?}");
}

#[test]
fn the_ultralytics_classifier_export_is_read_as_ultralytics_runs_it() {
    common::init();
    let model = common::shared().join("models/yolo11n-cls_224_random.onnx");
    let model = model.to_str().unwrap();
    let frames = frames();
    let theirs = reference(model, &frames);
    let ours = classify(model, &frames);
    let (worst, _) = compare(&ours, &theirs, RELATIVE_TOLERANCE);
    assert!(worst <= RELATIVE_TOLERANCE, "{worst}");
    // Softmaxed once: 1.027e-3, not the 0.999e-3 of a second softmax.
    let (id, p) = ours[0][0];
    assert!((p - 1.027e-3).abs() < 2e-6, "{id} {p}");
}
