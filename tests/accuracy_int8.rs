//! Accuracy of the INT8 model (models/rsvision-shapes-int8.onnx, made by training/quantize.py
//! from the shipped FP32 model) on freshly rendered scenes, through the element in a real
//! pipeline: `filesrc ! decodebin ! rsinfer ! appsink` on an H.264 MP4 of the scenes,
//! compared with the renderer's ground truth (bar: precision and recall >= 0.9 at IoU 0.5,
//! as for FP32 in tests/accuracy.rs), and with the FP32 model's detections on the same
//! decoded frames (bar: the same objects on at least 95 % of the frames). Prints both
//! models' figures and their speed through the pipeline.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::scenes::{encode, iou_det, render, score, Truth};
use common::{init, root, shapes_model, TempDir};
use gstrsvision::detection::{self, Detection};

/// The shipped models' operating point (training/README.md). The pipeline runs at the
/// element's default (0.25); detections at or above this are scored.
const CONF_THRESHOLD: f64 = 0.5;

/// The element's default threshold, the lowest confidence the pipeline reports.
const LOW_THRESHOLD: f64 = 0.25;

/// IoU above which an INT8 and an FP32 box are the same object.
const SAME_IOU: f64 = 0.7;

/// Share of frames on which both models must find the same objects.
const MIN_AGREEMENT: f64 = 0.95;

/// Seeds neither the training (>= 1000000) nor the calibration (500000) uses; the same
/// scenes as tests/accuracy.rs, so the figures compare with FP32's.
const SEEDS: [(u64, u32, u32, usize); 2] = [(424_242, 640, 480, 60), (424_243, 1280, 720, 30)];

fn int8_model() -> PathBuf {
    root().join("models/rsvision-shapes-int8.onnx")
}

/// Runs `model` on every frame of `mp4`: the detections of each frame in order, and the
/// wall time of the whole run (decoding included), in seconds.
fn detect(mp4: &Path, model: &Path, backend: &str, w: u32, h: u32) -> (Vec<Vec<Detection>>, f64) {
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! rsinfer backend={backend} model-location={} ! appsink name=sink sync=false",
        mp4.display(),
        model.display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    let frames = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let f = frames.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buf = sample.buffer().unwrap();
                f.lock()
                    .unwrap()
                    .push((buf.pts(), detection::read(buf, w, h)));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let start = Instant::now();
    common::run_to_eos(&pipeline, 600);
    let seconds = start.elapsed().as_secs_f64();
    let mut frames = std::mem::take(&mut *frames.lock().unwrap());
    frames.sort_by_key(|(pts, _)| *pts);
    (frames.into_iter().map(|(_, d)| d).collect(), seconds)
}

fn at_least(frames: &[Vec<Detection>], conf: f64) -> Vec<Vec<Detection>> {
    frames
        .iter()
        .map(|f| f.iter().filter(|d| d.confidence >= conf).cloned().collect())
        .collect()
}

/// True if every detection of `a` pairs with its own detection of `b` (same label,
/// IoU >= SAME_IOU), greedily by descending confidence.
fn covered(a: &[Detection], b: &[Detection]) -> bool {
    let mut a: Vec<&Detection> = a.iter().collect();
    a.sort_by(|x, y| y.confidence.total_cmp(&x.confidence));
    let mut used = vec![false; b.len()];
    for d in a {
        let best = b
            .iter()
            .enumerate()
            .filter(|(i, e)| !used[*i] && e.label == d.label)
            .map(|(i, e)| (i, iou_det(d, e)))
            .filter(|(_, v)| *v >= SAME_IOU)
            .max_by(|x, y| x.1.total_cmp(&y.1));
        match best {
            Some((i, _)) => used[i] = true,
            None => return false,
        }
    }
    true
}

/// Frames on which the two models find the same objects: each model's detections at the
/// operating point are among the other's detections at the pipeline's threshold (so a
/// score that moves from 0.51 to 0.49 is not a lost object), and the frames on which the
/// detections at the operating point pair up exactly. Returns (same, exactly the same).
fn agreement(fp32: &[Vec<Detection>], int8: &[Vec<Detection>]) -> (usize, usize) {
    let (mut same, mut exact) = (0, 0);
    for (a, b) in fp32.iter().zip(int8) {
        let a_op: Vec<Detection> = a
            .iter()
            .filter(|d| d.confidence >= CONF_THRESHOLD)
            .cloned()
            .collect();
        let b_op: Vec<Detection> = b
            .iter()
            .filter(|d| d.confidence >= CONF_THRESHOLD)
            .cloned()
            .collect();
        if covered(&a_op, b) && covered(&b_op, a) {
            same += 1;
        }
        if a_op.len() == b_op.len() && covered(&a_op, &b_op) {
            exact += 1;
        }
    }
    (same, exact)
}

#[derive(Default)]
struct Totals {
    tp: usize,
    detections: usize,
    objects: usize,
    frames: usize,
    seconds: f64,
}

impl Totals {
    /// Scores one run of `model` at the operating point, prints and adds it.
    fn add(
        &mut self,
        model: &str,
        w: u32,
        h: u32,
        all: &[Vec<Detection>],
        truth: &[Vec<Truth>],
        seconds: f64,
    ) {
        assert_eq!(all.len(), truth.len(), "one result per rendered frame");
        let (t, d, n) = score(&at_least(all, CONF_THRESHOLD), truth);
        println!(
            "{model} {w}x{h} at {CONF_THRESHOLD}: {n} objects, {d} detections, {t} correct: \
             precision {:.3} recall {:.3}; {:.1} frames/s through the pipeline",
            t as f64 / d.max(1) as f64,
            t as f64 / n.max(1) as f64,
            all.len() as f64 / seconds
        );
        self.tp += t;
        self.detections += d;
        self.objects += n;
        self.frames += all.len();
        self.seconds += seconds;
    }
    fn precision(&self) -> f64 {
        self.tp as f64 / self.detections.max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / self.objects.max(1) as f64
    }
}

#[test]
fn int8_model_reaches_precision_and_recall_of_0_9_and_finds_what_fp32_finds() {
    init();
    let (fp32_model, int8_model) = (shapes_model(), int8_model());
    assert!(int8_model.exists(), "{} is missing", int8_model.display());
    let (fp32_size, int8_size) = (
        std::fs::metadata(&fp32_model).unwrap().len(),
        std::fs::metadata(&int8_model).unwrap().len(),
    );
    println!("model files: FP32 {fp32_size} bytes, INT8 {int8_size} bytes");
    assert!(
        int8_size * 3 < fp32_size,
        "the INT8 model ({int8_size} bytes) is not a third of the FP32 one ({fp32_size})"
    );

    let (mut fp32, mut int8, mut int8_ov) =
        (Totals::default(), Totals::default(), Totals::default());
    let (mut frames, mut same, mut exact) = (0, 0, 0);
    for (seed, w, h, count) in SEEDS {
        let dir = TempDir::new(&format!("accuracy-int8-{w}x{h}"));
        let truth = render(dir.path(), seed, w, h, count);
        let mp4 = encode(dir.path(), w, h);
        let (reference, seconds) = detect(&mp4, &fp32_model, "onnx", w, h);
        fp32.add("FP32", w, h, &reference, &truth, seconds);
        let (all, seconds) = detect(&mp4, &int8_model, "onnx", w, h);
        int8.add("INT8", w, h, &all, &truth, seconds);
        // The same file through OpenVINO (its CPU plugin runs the QDQ model in int8).
        let (ov, seconds) = detect(&mp4, &int8_model, "openvino", w, h);
        int8_ov.add("INT8 openvino", w, h, &ov, &truth, seconds);
        let (s, e) = agreement(&reference, &all);
        println!(
            "{w}x{h}: INT8 finds the same objects as FP32 on {s} of {} frames ({e} with exactly \
             the same detections at {CONF_THRESHOLD})",
            all.len()
        );
        frames += all.len();
        same += s;
        exact += e;
    }
    for (name, t) in [
        ("FP32", &fp32),
        ("INT8", &int8),
        ("INT8 openvino", &int8_ov),
    ] {
        println!(
            "{name} all at {CONF_THRESHOLD}: precision {:.3} recall {:.3} ({} objects); \
             {:.1} frames/s (decoding included, default threads)",
            t.precision(),
            t.recall(),
            t.objects,
            t.frames as f64 / t.seconds
        );
    }
    let share = same as f64 / frames.max(1) as f64;
    println!(
        "INT8 finds the same objects as FP32 (label, IoU >= {SAME_IOU}, >= {CONF_THRESHOLD} in \
         one and >= {LOW_THRESHOLD} in the other) on {same} of {frames} frames ({:.1} %); \
         exactly the same detections at {CONF_THRESHOLD} on {exact} ({:.1} %)",
        share * 100.0,
        exact as f64 / frames.max(1) as f64 * 100.0
    );
    assert!(
        int8.objects >= 200,
        "enough objects to measure: {}",
        int8.objects
    );
    assert!(
        int8.precision() >= 0.9,
        "INT8 precision {:.3} < 0.9",
        int8.precision()
    );
    assert!(
        int8.recall() >= 0.9,
        "INT8 recall {:.3} < 0.9",
        int8.recall()
    );
    assert!(
        int8_ov.precision() >= 0.9 && int8_ov.recall() >= 0.9,
        "INT8 through OpenVINO: precision {:.3} recall {:.3}",
        int8_ov.precision(),
        int8_ov.recall()
    );
    assert!(
        share >= MIN_AGREEMENT,
        "INT8 finds the same objects as FP32 on only {:.1} % of the frames",
        share * 100.0
    );
}
