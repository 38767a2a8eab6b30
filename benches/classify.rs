//! Cost of secondary classification (`rsinfer inference-region=objects`) per object on a
//! 1280x720 frame, and the gain of the per-track cache on the demo video.
//!
//! ```text
//! cargo bench --bench classify
//! BENCH_FRAMES=100 BENCH_CLASSIFIER=models/rsvision-colours.onnx cargo bench --bench classify
//! ```
//!
//! In one run:
//! * the element in a `gst_check::Harness` on an I420 720p frame carrying 0, 1, 10 and 50
//!   untracked objects (each classified on every frame), median ms per frame, for
//!   `performance-hint=latency` (one session) and `throughput` (the default: one session
//!   per core, the crops of a frame handed out together), each with `batch-size=1` (crops
//!   one by one) and `batch-size=16` (batches of up to 16 crops: the shipped classifier's
//!   batch axis is dynamic; `batch-size=0` chooses batches with one session and one by one
//!   with several); the cost per object is (frame time with N objects - frame time with
//!   none) / N;
//! * the parts of that cost: the crops alone (`CropConverter`, 50 crops) and bare ONNX
//!   Runtime runs of the classifier (one session, one by one);
//! * the share of a detector frame it adds: the same frame through `rsinfer` with the shipped
//!   detector (`models/rsvision-shapes.onnx`);
//! * the per-track cache on `data/sample-shapes.mp4`: `rsinfer ! rstracker ! rsinfer
//!   inference-region=objects` with `reclassify-interval=1 max-attempts=0` (every object,
//!   every frame) against the defaults (every 10 frames, at most 16 per track):
//!   classifications run (attributes with `frames_ago` 0) per object shown, and the wall
//!   time of the whole pipeline.
//!
//! Models: `BENCH_CLASSIFIER` (default `models/rsvision-colours.onnx` if present, else
//! `tests/data/pool_probe_224.onnx`), `BENCH_FRAMES` (default 60) frames per cell.

use std::path::{Path, PathBuf};
use std::time::Instant;

use gst::prelude::*;
use gst_video::prelude::*;
use gstrsvision::detection::{self, attribute, Detection};
use gstrsvision::onnx::{load_shared, ModelOptions, Provider};
use gstrsvision::preprocess::crop::{CropConverter, CropFit, CropGeometry, CropRect};
use gstrsvision::preprocess::{Colorimetry, FrameData, PixelFormat};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn classifier() -> PathBuf {
    if let Ok(p) = std::env::var("BENCH_CLASSIFIER") {
        return PathBuf::from(p);
    }
    let shipped = root().join("models/rsvision-colours.onnx");
    if shipped.exists() {
        shipped
    } else {
        root().join("tests/data/pool_probe_224.onnx")
    }
}

/// `n` boxes of about 90x120 spread over the frame, deterministic.
fn boxes(n: usize) -> Vec<Detection> {
    (0..n)
        .map(|i| {
            let col = (i % 10) as f64;
            let row = (i / 10) as f64;
            Detection {
                x: 20.0 + col * 125.0,
                y: 10.0 + row * 140.0,
                width: 90.0 + (i % 3) as f64 * 10.0,
                height: 120.0,
                confidence: 0.9,
                label_id: 0,
                label: "object".into(),
                track_id: None,
                tracking: None,
                attributes: Vec::new(),
            }
        })
        .collect()
}

fn frame() -> gst::Buffer {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate=30/1 ! appsink name=sink"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let b = sink.pull_sample().unwrap().buffer_owned().unwrap();
    pipeline.set_state(gst::State::Null).unwrap();
    b
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Median ms per frame of `rsinfer props` on `frame` carrying `objects`.
fn element_ms(props: &[(&str, &str)], frame: &gst::Buffer, objects: &[Detection], n: usize) -> f64 {
    let element = gst::ElementFactory::make("rsinfer").build().unwrap();
    for (k, v) in props {
        element.set_property_from_str(k, v);
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&format!(
        "video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate=30/1"
    ));
    let mut times = Vec::with_capacity(n);
    for i in 0..n + 5 {
        let mut b = frame.copy();
        {
            let b = b.make_mut();
            b.set_pts(gst::ClockTime::from_nseconds(i as u64 * 33_333_333));
            detection::attach(b, objects, WIDTH, HEIGHT, 0);
        }
        let t = Instant::now();
        let out = h.push_and_pull(b).unwrap();
        let dt = t.elapsed().as_secs_f64() * 1e3;
        if i >= 5 {
            times.push(dt);
        }
        drop(out);
    }
    median(times)
}

/// Median ms for cropping `objects` out of `frame` into 224x224 (or the model's) tensors.
fn crops_ms(frame: &gst::Buffer, objects: &[Detection], size: usize, n: usize) -> f64 {
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, WIDTH, HEIGHT)
        .build()
        .unwrap();
    let f = gst_video::VideoFrameRef::from_buffer_ref_readable(frame.as_ref(), &info).unwrap();
    let planes: Vec<&[u8]> = (0..3).map(|p| f.plane_data(p).unwrap()).collect();
    let strides: Vec<usize> = (0..3).map(|p| f.plane_stride()[p] as usize).collect();
    let data = FrameData {
        planes: &planes,
        strides: &strides,
    };
    let mut conv = CropConverter::new(
        PixelFormat::I420,
        WIDTH as usize,
        HEIGHT as usize,
        Colorimetry::default(),
    );
    let mut tensor = vec![0f32; 3 * size * size];
    let mut times = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        for o in objects {
            let rect = CropRect {
                x: o.x,
                y: o.y,
                width: o.width,
                height: o.height,
            };
            let g = CropGeometry::new(
                &rect,
                0.0,
                WIDTH as usize,
                HEIGHT as usize,
                size,
                size,
                CropFit::CentreCrop,
            )
            .unwrap();
            conv.convert(&data, &g, 114, [0.0; 3], [1.0; 3], &mut tensor)
                .unwrap();
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    median(times)
}

/// Median ms of one bare ONNX Runtime run of the classifier, and its input size.
fn bare_ms(model: &Path, n: usize) -> (f64, usize) {
    let (m, _) = load_shared(&ModelOptions {
        path: model.to_path_buf(),
        threads: 0,
        provider: Provider::Cpu,
        sessions: 1,
    })
    .expect("the classifier loads");
    let size = m.info.input_width;
    let tensor = vec![0.5f32; 3 * size * m.info.input_height];
    let mut times = Vec::new();
    for _ in 0..n.max(20) {
        let t = Instant::now();
        m.run(&tensor, |_, _| ()).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    (median(times), size)
}

/// The chained pipeline on the demo video: (wall s, objects shown, classifications run).
fn chained(model: &Path, cache: &str) -> (f64, usize, usize) {
    let d = format!(
        "filesrc location={} ! decodebin ! rsinfer model-location={} conf-threshold=0.5 ! rstracker ! \
         rsinfer inference-region=objects model-location={} attribute-name=c {cache} classifier-threshold=0 ! \
         appsink name=sink sync=false",
        root().join("data/sample-shapes.mp4").display(),
        root().join("models/rsvision-shapes.onnx").display(),
        model.display()
    );
    let pipeline = gst::parse::launch(&d)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let t = Instant::now();
    pipeline.set_state(gst::State::Playing).unwrap();
    let (mut shown, mut fresh) = (0, 0);
    while let Ok(sample) = sink.pull_sample() {
        let b = sample.buffer().unwrap();
        for roi in b.iter_meta::<gst_video::VideoRegionOfInterestMeta>() {
            if let Some(a) = attribute::of_roi(&roi).into_iter().find(|a| a.name == "c") {
                shown += 1;
                if a.frames_ago == 0 {
                    fresh += 1;
                }
            }
        }
    }
    let wall = t.elapsed().as_secs_f64();
    pipeline.set_state(gst::State::Null).unwrap();
    (wall, shown, fresh)
}

fn main() {
    gst::init().unwrap();
    gstrsvision::plugin_register_static().expect("register the plugin");
    let frames = env_usize("BENCH_FRAMES", 60);
    let model = classifier();
    let model_s = model.to_str().unwrap().to_string();
    let frame = frame();
    println!(
        "classifier: {} | frame {WIDTH}x{HEIGHT} I420 | {frames} frames per cell",
        model.display()
    );

    let (bare, size) = bare_ms(&model, frames);
    println!("bare ONNX Runtime run of the classifier ({size}x{size}): {bare:.3} ms");
    let c50 = crops_ms(&frame, &boxes(50), size, frames);
    println!(
        "crops alone: 50 crops {c50:.3} ms ({:.3} ms per crop)",
        c50 / 50.0
    );

    let detector = root().join("models/rsvision-shapes.onnx");
    let det_ms = element_ms(
        &[
            ("model-location", detector.to_str().unwrap()),
            // One frame in, one out: inference in the streaming thread.
            ("max-in-flight", "1"),
        ],
        &frame,
        &[],
        frames,
    );
    println!("detector rsinfer (rsvision-shapes, 320) on the frame: {det_ms:.2} ms");

    for hint in ["latency", "throughput"] {
        let mut one_by_one = Vec::new();
        for batch in ["1", "16"] {
            let what = if batch == "1" {
                "one by one"
            } else {
                "batched"
            };
            let props = [
                ("model-location", model_s.as_str()),
                ("inference-region", "objects"),
                ("classifier-threshold", "0"),
                ("performance-hint", hint),
                ("batch-size", batch),
            ];
            let base = element_ms(&props, &frame, &[], frames);
            println!("classifier {hint}, {what}: 0 objects {base:.3} ms/frame");
            for (i, n) in [1usize, 10, 50].into_iter().enumerate() {
                let ms = element_ms(&props, &frame, &boxes(n), frames);
                let per = (ms - base) / n as f64;
                let ratio = match one_by_one.get(i) {
                    Some(single) => format!(", {:.2}x one by one's speed", single / ms),
                    None => String::new(),
                };
                println!(
                    "classifier {hint}, {what}: {n:2} objects {ms:7.2} ms/frame, {per:.3} ms per \
                     object (bare run {bare:.3} + crop {:.3}), {:.2}x the detector's frame \
                     time{ratio}",
                    c50 / 50.0,
                    (ms - base) / det_ms
                );
                if batch == "1" {
                    one_by_one.push(ms);
                }
            }
        }
    }

    let (w1, shown1, fresh1) = chained(&model, "reclassify-interval=1 max-attempts=0");
    let (w10, shown10, fresh10) = chained(&model, "");
    println!(
        "demo video, every object on every frame (reclassify-interval=1 max-attempts=0): {fresh1} classifications for {shown1} objects shown, {w1:.2} s"
    );
    println!(
        "demo video, the defaults (reclassify-interval=10 max-attempts=16): {fresh10} classifications for {shown10} objects shown ({:.1}x fewer), {w10:.2} s ({:.2}x the wall time)",
        fresh1 as f64 / fresh10.max(1) as f64,
        w10 / w1
    );
}
