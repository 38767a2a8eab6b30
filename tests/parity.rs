//! Parity: on the same decoded frames, rsinfer's boxes match an independent reference made
//! with ONNX Runtime's own Python API and a numpy letterbox + decode + NMS
//! (`tests/reference/parity_reference.py`), within 1 pixel and 1e-3 confidence, for a
//! YOLOv8-layout and a YOLOv5-layout model.
//!
//! The frames are decoded once to RGB here, written raw for the reference, and the very same
//! buffers are pushed through `appsrc ! rsinfer ! appsink`. Frame sets cover vertical
//! letterbox padding (landscape), horizontal padding (portrait, via `videoflip`) and an odd
//! size whose scaled content and padding are not round numbers.
//!
//! Needs `../shared` (models, videos) and the Python venv made by scripts/setup.sh --test.

mod common;

use std::path::{Path, PathBuf};

use gst::prelude::*;
use gst_video::prelude::*;
use gstrsvision::detection::{self, Detection};
use gstrsvision::preprocess::{Letterbox, ResizeMode};
use serde_json::{json, Value};

const CONF: f64 = 0.25;
const IOU: f64 = 0.45;
const MAX_DET: u32 = 300;
const PIXEL_TOLERANCE: f64 = 1.0;
const CONF_TOLERANCE: f64 = 1e-3;

/// One decoded frame: the buffer and caps as decoded, and a tightly packed raw copy on disk.
struct Frame {
    sample: gst::Sample,
    path: PathBuf,
    width: u32,
    height: u32,
}

/// A set of frames of one size, decoded from `video` at `times_s` after the optional
/// `transform` (a pipeline fragment between `videoconvert` and the RGB caps filter).
struct FrameSet {
    name: &'static str,
    video: &'static str,
    transform: &'static str,
    size: Option<(u32, u32)>,
    times_s: &'static [f64],
}

const EIGHT: &[f64] = &[1.5, 8.5, 15.5, 22.5, 29.5, 36.5, 43.5, 50.5];
const FOUR: &[f64] = &[4.0, 19.0, 34.0, 49.0];

const LANDSCAPE_SD: FrameSet = FrameSet {
    name: "640x480",
    video: "sample_640x480.mp4",
    transform: "",
    size: None,
    times_s: EIGHT,
};
const LANDSCAPE_HD: FrameSet = FrameSet {
    name: "1280x720",
    video: "sample_1280x720.mp4",
    transform: "",
    size: None,
    times_s: EIGHT,
};
const PORTRAIT: FrameSet = FrameSet {
    name: "720x1280-portrait",
    video: "sample_1280x720.mp4",
    transform: "videoflip video-direction=90r !",
    size: None,
    times_s: FOUR,
};
const ODD: FrameSet = FrameSet {
    name: "701x397-odd",
    video: "sample_1280x720.mp4",
    transform: "videoscale !",
    size: Some((701, 397)),
    times_s: FOUR,
};

fn decode_frames(set: &FrameSet, dir: &Path) -> Vec<Frame> {
    let video = common::shared().join("video").join(set.video);
    let size = set
        .size
        .map(|(w, h)| format!(",width={w},height={h}"))
        .unwrap_or_default();
    let pipeline = gst::parse::launch(&format!(
        "filesrc name=src ! decodebin ! videoconvert ! {} video/x-raw,format=RGB{} ! \
         appsink name=sink sync=false",
        set.transform, size
    ))
    .expect("decoding pipeline")
    .downcast::<gst::Pipeline>()
    .unwrap();
    pipeline
        .by_name("src")
        .unwrap()
        .set_property("location", &video);
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Paused).unwrap();
    let wait = |what: &str| {
        let (res, _, _) = pipeline.state(gst::ClockTime::from_seconds(60));
        res.unwrap_or_else(|e| panic!("{what}: {e:?}"));
    };
    wait("preroll");

    let mut frames = Vec::new();
    for (i, t) in set.times_s.iter().enumerate() {
        pipeline
            .seek_simple(
                gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
                gst::ClockTime::from_mseconds((t * 1000.0) as u64),
            )
            .expect("seek");
        wait("seek");
        let sample = sink
            .try_pull_preroll(gst::ClockTime::from_seconds(60))
            .expect("a frame after the seek");
        // Frames spread over the video: each seek lands on its own frame.
        let pts = sample.buffer().unwrap().pts().expect("timestamped frame");
        let target = gst::ClockTime::from_mseconds((t * 1000.0) as u64);
        assert!(
            pts + gst::ClockTime::from_mseconds(100) >= target
                && pts <= target + gst::ClockTime::from_mseconds(100),
            "{} seek to {target} gave the frame at {pts}",
            set.name
        );
        let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(sample.buffer().unwrap(), &info)
                .unwrap();
        let (w, h) = (info.width(), info.height());
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data(0).unwrap();
        let mut raw = Vec::with_capacity((w * h * 3) as usize);
        for row in 0..h as usize {
            raw.extend_from_slice(&data[row * stride..row * stride + w as usize * 3]);
        }
        drop(frame);
        let path = dir.join(format!("{}-{i}.rgb", set.name));
        std::fs::write(&path, &raw).unwrap();
        frames.push(Frame {
            sample,
            path,
            width: w,
            height: h,
        });
    }
    pipeline.set_state(gst::State::Null).unwrap();
    frames
}

/// Pushes the decoded buffers through rsinfer and reads back each frame's detections.
fn run_rsinfer(model: &Path, frames: &[Frame]) -> Vec<Vec<Detection>> {
    let pipeline = gst::parse::launch(
        "appsrc name=src format=time ! rsinfer name=infer threads=1 qos=false ! \
         appsink name=sink sync=false",
    )
    .expect("inference pipeline")
    .downcast::<gst::Pipeline>()
    .unwrap();
    pipeline
        .by_name("infer")
        .unwrap()
        .set_property("model-location", model);
    let src = common::element::<gst_app::AppSrc>(&pipeline, "src");
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    src.set_caps(Some(&frames[0].sample.caps_owned().unwrap()));
    pipeline.set_state(gst::State::Playing).unwrap();
    let frame_duration = gst::ClockTime::from_mseconds(33);
    for (i, f) in frames.iter().enumerate() {
        let mut buffer = f.sample.buffer().unwrap().copy();
        {
            let b = buffer.get_mut().unwrap();
            b.set_pts(frame_duration * i as u64);
            b.set_duration(frame_duration);
        }
        src.push_buffer(buffer).expect("push");
    }
    src.end_of_stream().unwrap();

    let mut out = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(120)) {
        let f = &frames[out.len()];
        out.push(detection::read(sample.buffer().unwrap(), f.width, f.height));
        if out.len() == frames.len() {
            break;
        }
    }
    let bus = pipeline.bus().unwrap();
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
        if let gst::MessageView::Error(e) = msg.view() {
            panic!("rsinfer pipeline error: {} ({:?})", e.error(), e.debug());
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(out.len(), frames.len(), "rsinfer returned every frame");
    out
}

/// Runs the Python reference on the raw frames.
fn run_reference(model: &Path, layout: &str, frames: &[&Frame], dir: &Path) -> Value {
    let manifest = json!({
        "model": model,
        "layout": layout,
        "conf": CONF,
        "iou": IOU,
        "max_det": MAX_DET,
        "pad": 114,
        "frames": frames.iter().map(|f| json!({
            "path": f.path, "width": f.width, "height": f.height
        })).collect::<Vec<_>>(),
    });
    let manifest_path = dir.join(format!("manifest-{layout}.json"));
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let script = common::root().join("tests/reference/parity_reference.py");
    let output = std::process::Command::new(common::python())
        .arg(&script)
        .arg(&manifest_path)
        .output()
        .expect("run the Python reference");
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("reference JSON")
}

#[derive(Debug, Clone)]
struct RefDet {
    label_id: i32,
    confidence: f64,
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
}

fn ref_dets(frame: &Value) -> Vec<RefDet> {
    frame["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let v = |i: usize| d[i].as_f64().unwrap();
            RefDet {
                label_id: d[0].as_i64().unwrap() as i32,
                confidence: v(1),
                x1: v(2),
                y1: v(3),
                x2: v(4),
                y2: v(5),
            }
        })
        .collect()
}

/// Largest coordinate difference between a reference box and a detection.
fn coord_diff(r: &RefDet, d: &Detection) -> f64 {
    [
        (r.x1 - d.x).abs(),
        (r.y1 - d.y).abs(),
        (r.x2 - d.x_max()).abs(),
        (r.y2 - d.y_max()).abs(),
    ]
    .into_iter()
    .fold(0.0, f64::max)
}

/// Whether a detection's confidence is so close to the threshold that the 1e-3 tolerance
/// allows it to fall on either side.
fn at_threshold(confidence: f64) -> bool {
    confidence < CONF + CONF_TOLERANCE
}

/// Largest differences seen between matched boxes: pixels and confidence.
#[derive(Debug, Default)]
struct Worst {
    pixels: f64,
    confidence: f64,
}

/// Matches one frame's detections one to one; returns the problems found.
fn compare_frame(
    what: &str,
    reference: &[RefDet],
    ours: &[Detection],
    names: &serde_json::Map<String, Value>,
    worst: &mut Worst,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut used = vec![false; ours.len()];
    for r in reference {
        let best = ours
            .iter()
            .enumerate()
            .filter(|(i, d)| {
                !used[*i]
                    && d.label_id == r.label_id
                    && (d.confidence - r.confidence).abs() <= CONF_TOLERANCE
            })
            .map(|(i, d)| (i, coord_diff(r, d)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, diff)) if diff <= PIXEL_TOLERANCE => {
                used[i] = true;
                worst.pixels = worst.pixels.max(diff);
                worst.confidence = worst
                    .confidence
                    .max((ours[i].confidence - r.confidence).abs());
            }
            _ if at_threshold(r.confidence) => {
                eprintln!("{what}: reference box at the threshold not in rsinfer: {r:?}")
            }
            Some((i, diff)) => problems.push(format!(
                "{what}: reference {r:?} nearest rsinfer box {:?} is {diff:.3} px away",
                ours[i]
            )),
            None => problems.push(format!("{what}: reference {r:?} has no rsinfer match")),
        }
    }
    for (d, used) in ours.iter().zip(&used) {
        if !used && !at_threshold(d.confidence) {
            problems.push(format!("{what}: rsinfer box {d:?} is not in the reference"));
        }
        if let Some(name) = names.get(&d.label_id.to_string()).and_then(Value::as_str) {
            if d.label != name {
                problems.push(format!(
                    "{what}: label {:?} for class {}, the model names it {name:?}",
                    d.label, d.label_id
                ));
            }
        }
    }
    problems
}

fn check_parity(model_file: &str, layout: &str, sets: &[&FrameSet]) {
    common::init();
    let started = std::time::Instant::now();
    let model = common::shared().join("models").join(model_file);
    let tmp = common::TempDir::new(&format!("parity-{layout}"));

    let decoded: Vec<Vec<Frame>> = sets.iter().map(|s| decode_frames(s, tmp.path())).collect();
    let decode_time = started.elapsed();
    let ours: Vec<Vec<Vec<Detection>>> = decoded.iter().map(|f| run_rsinfer(&model, f)).collect();
    let rsinfer_time = started.elapsed() - decode_time;
    let all: Vec<&Frame> = decoded.iter().flatten().collect();
    let reference = run_reference(&model, layout, &all, tmp.path());
    let reference_time = started.elapsed() - decode_time - rsinfer_time;
    let in_h = reference["input"][0].as_u64().unwrap() as usize;
    let in_w = reference["input"][1].as_u64().unwrap() as usize;
    let names = reference["names"].as_object().cloned().unwrap_or_default();
    let ref_frames = reference["frames"].as_array().unwrap();
    assert_eq!(ref_frames.len(), all.len());

    let mut problems = Vec::new();
    let mut worst = Worst::default();
    let mut total = 0;
    let mut frames_with_detections = 0;
    let mut ref_iter = ref_frames.iter();
    for ((set, frames), ours) in sets.iter().zip(&decoded).zip(&ours) {
        let mut set_total = 0;
        for (i, (frame, dets)) in frames.iter().zip(ours).enumerate() {
            let rf = ref_iter.next().unwrap();
            let what = format!("{model_file} {} frame {i}", set.name);
            // The letterbox geometry, computed independently on both sides.
            let lb = Letterbox::new(
                frame.width as usize,
                frame.height as usize,
                in_w,
                in_h,
                ResizeMode::Letterbox,
            );
            let geometry: Vec<usize> = rf["letterbox"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            if geometry != [lb.content_width, lb.content_height, lb.left, lb.top] {
                problems.push(format!(
                    "{what}: letterbox {lb:?}, the reference has [cw, ch, left, top] {geometry:?}"
                ));
            }
            let r = ref_dets(rf);
            if r.len() != dets.len() {
                problems.push(format!(
                    "{what}: {} rsinfer boxes, {} reference boxes",
                    dets.len(),
                    r.len()
                ));
            }
            problems.extend(compare_frame(&what, &r, dets, &names, &mut worst));
            set_total += r.len();
            frames_with_detections += usize::from(!r.is_empty());
        }
        eprintln!(
            "{model_file} {}: {} frames of {}x{}, {set_total} reference detections",
            set.name,
            frames.len(),
            frames[0].width,
            frames[0].height
        );
        total += set_total;
    }
    eprintln!(
        "{model_file}: {total} detections on {} frames ({frames_with_detections} with \
         detections); largest differences {:.2e} px, {:.2e} confidence; decode \
         {decode_time:.1?}, rsinfer {rsinfer_time:.1?}, reference {reference_time:.1?}",
        all.len(),
        worst.pixels,
        worst.confidence
    );
    assert!(
        problems.is_empty(),
        "{} parity problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // Not vacuous: the random benchmark models give a handful of boxes per frame.
    assert!(
        frames_with_detections * 2 >= all.len() && total >= all.len(),
        "too few detections to compare ({total} on {} frames, {frames_with_detections} \
         frames with any)",
        all.len()
    );
}

#[test]
fn yolov8_layout_matches_the_onnxruntime_reference() {
    check_parity(
        "yolov8n_320_random.onnx",
        "v8",
        &[&LANDSCAPE_SD, &LANDSCAPE_HD, &PORTRAIT, &ODD],
    );
}

#[test]
fn yolov5_layout_matches_the_onnxruntime_reference() {
    check_parity(
        "yolov5s_640_random.onnx",
        "v5",
        &[&LANDSCAPE_SD, &LANDSCAPE_HD, &PORTRAIT],
    );
}
