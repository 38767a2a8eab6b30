//! Throughput of rsinfer against bare ONNX Runtime, on the same model, session options and
//! thread count.
//!
//! ```text
//! cargo bench --bench throughput
//! BENCH_MODEL=... BENCH_VIDEO=... BENCH_FRAMES=300 BENCH_THREADS=1 cargo bench --bench throughput
//! ```
//!
//! Measures, in one run:
//! * bare ONNX Runtime: `Model::run` (the element's own call, through
//!   `gstrsvision::onnx::load_shared`) on a prepared tensor, runs per second;
//! * the pipeline `filesrc ! qtdemux ! h264parse ! avdec_h264 ! rsinfer ! fakesink` in
//!   frames per second, for each `avdec_h264 max-threads` value of `BENCH_AVDEC_THREADS`
//!   (default `0,1`: the decoder's default, then one decoding thread);
//! * their ratio (the target is >= 0.90);
//! * the parts of the element's per-frame work outside ONNX Runtime: preprocessing
//!   (`Preprocessor::convert` of a real frame) and output decoding + NMS, and the cost of
//!   H.264 decoding alone.
//!
//! rsinfer runs with `qos=false`, so that the pipeline rate always measures inference on
//! every frame; the last line printed checks that the default (`qos=true`) also infers every
//! frame of a non-live pipeline, however slow.
//!
//! Environment: `BENCH_MODEL` (default ../shared/models/yolov8n_640_random.onnx),
//! `BENCH_VIDEO` (default ../shared/video/sample_1280x720.mp4), `BENCH_FRAMES` (frames and
//! runs measured, default 300), `BENCH_THREADS` (ONNX Runtime intra-op threads, 0 = its
//! default, default 0), `BENCH_AVDEC_THREADS` (default `0,1`), `BENCH_ORT_VARIANTS=1` to
//! also time bare sessions built with ort directly (intra-op threads 1, 2 and ONNX Runtime's
//! default, each with and without spinning worker threads), to see what the element's
//! `threads` default costs on a machine whose cores are busy with other work.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_video::prelude::*;
use gstrsvision::onnx::{self, ModelOptions, Provider};
use gstrsvision::preprocess::{
    Colorimetry, FrameData, PixelFormat, Preprocessor, ResizeMode, YuvMatrix,
};
use gstrsvision::yolo::{self, DecodeScratch, LayoutHint};

/// Frames (or runs) excluded from every measurement as warm-up.
const WARM_UP: usize = 10;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        _ => default,
    }
}

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel)
}

fn launch(description: &str) -> gst::Pipeline {
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{description}: {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap()
}

/// Plays `pipeline` to EOS; returns the bus's element messages named `count_message`.
fn play_to_eos(pipeline: &gst::Pipeline, count_message: Option<&str>) -> usize {
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let mut counted = 0;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(600)) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                let _ = pipeline.set_state(gst::State::Null);
                panic!("pipeline error: {} ({:?})", e.error(), e.debug());
            }
            gst::MessageView::Element(e)
                if count_message.is_some()
                    && e.structure().map(|s| s.name().as_str()) == count_message =>
            {
                counted += 1
            }
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    counted
}

/// Records when each buffer reaches the element named `sink`.
fn stamp_buffers(pipeline: &gst::Pipeline) -> Arc<Mutex<Vec<Instant>>> {
    let stamps: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let s = stamps.clone();
    pipeline
        .by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            s.lock().unwrap().push(Instant::now());
            gst::PadProbeReturn::Ok
        });
    stamps
}

/// Frames per second over `frames` stamps after the warm-up.
fn rate(stamps: &[Instant], frames: usize) -> f64 {
    assert!(
        stamps.len() >= WARM_UP + frames && frames > 1,
        "only {} buffers",
        stamps.len()
    );
    let measured = &stamps[WARM_UP..WARM_UP + frames];
    (measured.len() - 1) as f64 / (measured[measured.len() - 1] - measured[0]).as_secs_f64()
}

/// A decoded frame of the video: format, size and owned planes.
struct Frame {
    format: PixelFormat,
    width: usize,
    height: usize,
    colorimetry: Colorimetry,
    planes: Vec<Vec<u8>>,
    strides: Vec<usize>,
}

/// Decodes the `index`-th frame of `video`.
fn decode_frame(video: &std::path::Path, index: usize) -> Frame {
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! \
         video/x-raw,format=I420 ! appsink name=sink sync=false",
        video.display()
    ));
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut sample = None;
    for _ in 0..=index {
        sample = Some(
            sink.try_pull_sample(gst::ClockTime::from_seconds(30))
                .expect("a decoded frame"),
        );
    }
    let sample = sample.unwrap();
    pipeline.set_state(gst::State::Null).unwrap();
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(sample.buffer().unwrap(), &info)
        .unwrap();
    let colorimetry = info.colorimetry();
    Frame {
        format: PixelFormat::I420,
        width: info.width() as usize,
        height: info.height() as usize,
        colorimetry: Colorimetry {
            matrix: match colorimetry.matrix() {
                gst_video::VideoColorMatrix::Bt709 => YuvMatrix::Bt709,
                gst_video::VideoColorMatrix::Bt2020 => YuvMatrix::Bt2020,
                _ => YuvMatrix::Bt601,
            },
            full_range: colorimetry.range() == gst_video::VideoColorRange::Range0_255,
        },
        planes: (0..frame.n_planes())
            .map(|p| frame.plane_data(p).unwrap().to_vec())
            .collect(),
        strides: frame.plane_stride()[..frame.n_planes() as usize]
            .iter()
            .map(|s| *s as usize)
            .collect(),
    }
}

/// Bare ONNX Runtime: `runs` calls of `Model::run` after the warm-up; runs per second.
fn bare_runs(model: &onnx::Model, tensor: &[f32], runs: usize) -> f64 {
    for _ in 0..WARM_UP.min(5) {
        model.run(tensor, |_, _| ()).unwrap();
    }
    let t = Instant::now();
    for _ in 0..runs {
        model.run(tensor, |_, d| d.len()).unwrap();
    }
    runs as f64 / t.elapsed().as_secs_f64()
}

/// Bare sessions built with ort directly, with other thread options than the element's:
/// `(intra-op threads, 0 = default; spinning)` -> ms per run.
fn ort_variants(model: &std::path::Path, tensor: &[f32], iw: usize, ih: usize, runs: usize) {
    use ort::session::builder::GraphOptimizationLevel;
    use ort::session::Session;
    use ort::value::TensorRef;
    let env = onnx::runtime().expect("ONNX Runtime");
    for threads in [1usize, 2, 0] {
        for spinning in [true, false] {
            let mut builder = Session::builder(env)
                .unwrap()
                .with_optimization_level(GraphOptimizationLevel::All)
                .unwrap()
                .with_intra_op_spinning(spinning)
                .unwrap();
            if threads > 0 {
                builder = builder.with_intra_threads(threads).unwrap();
            }
            let mut session = builder.commit_from_file(model).unwrap();
            let input_name = session.inputs()[0].name().to_string();
            let run = |session: &mut Session| {
                let input = TensorRef::from_array_view(([1usize, 3, ih, iw], tensor)).unwrap();
                session
                    .run(ort::inputs![input_name.as_str() => input])
                    .unwrap();
            };
            for _ in 0..3 {
                run(&mut session);
            }
            let t = Instant::now();
            for _ in 0..runs {
                run(&mut session);
            }
            println!(
                "ort direct: intra-op threads {:<9} spinning {:<5}: {:.1} ms/run",
                if threads == 0 {
                    "default".to_string()
                } else {
                    threads.to_string()
                },
                spinning,
                per_call(t.elapsed(), runs)
            );
        }
    }
}

fn per_call(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e3 / n as f64
}

fn main() {
    gst::init().unwrap();
    gstrsvision::plugin_register_static().expect("register rsvision");

    let model_path = PathBuf::from(env_or(
        "BENCH_MODEL",
        shared("models/yolov8n_640_random.onnx").to_str().unwrap(),
    ));
    let video = PathBuf::from(env_or(
        "BENCH_VIDEO",
        shared("video/sample_1280x720.mp4").to_str().unwrap(),
    ));
    let frames: usize = env_number("BENCH_FRAMES", 300);
    let threads: u32 = env_number("BENCH_THREADS", 0);
    let avdec_threads: Vec<u32> = env_or("BENCH_AVDEC_THREADS", "0,1")
        .split(',')
        .map(|s| s.trim().parse().expect("BENCH_AVDEC_THREADS: numbers"))
        .collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("model:   {}", model_path.display());
    println!("video:   {}", video.display());
    println!(
        "frames:  {frames} (+{WARM_UP} warm-up) | ORT threads: {} | cores: {cores}",
        if threads == 0 {
            "0 (ONNX Runtime's default)".to_string()
        } else {
            threads.to_string()
        }
    );

    // One session, shared by the bare runs and the element (same options: rsinfer finds
    // it in the cache).
    let options = ModelOptions {
        path: model_path.clone(),
        threads,
        provider: Provider::Cpu,
        sessions: 1,
    };
    let (model, _) = onnx::load_shared(&options).expect("model loads");
    let (iw, ih) = (model.info.input_width, model.info.input_height);

    // A real frame of the video, converted as the element does.
    let frame = decode_frame(&video, 30);
    let mut pre = Preprocessor::new(
        frame.format,
        frame.width,
        frame.height,
        iw,
        ih,
        ResizeMode::Letterbox,
        frame.colorimetry,
    );
    let mut tensor = vec![0.0f32; pre.tensor_len()];
    pre.fill_padding(&mut tensor, 114);
    let planes: Vec<&[u8]> = frame.planes.iter().map(|p| &p[..]).collect();
    let data = FrameData {
        planes: &planes,
        strides: &frame.strides,
    };
    pre.convert(&data, &mut tensor).unwrap();
    let n_pre = 200;
    let t = Instant::now();
    for _ in 0..n_pre {
        pre.convert(&data, &mut tensor).unwrap();
    }
    let pre_ms = per_call(t.elapsed(), n_pre);

    // Decode + NMS on the model's real output for that frame.
    let output: Vec<f32> = model.run(&tensor, |_, d| d.to_vec()).unwrap();
    let layout = yolo::detect_layout(&model.info.output_shape, iw, ih, LayoutHint::Auto).unwrap();
    let mut scratch = DecodeScratch::default();
    let keep_all = |_: usize| true;
    let n_post = 500;
    let (mut candidates, mut kept) = (0, 0);
    let t = Instant::now();
    for _ in 0..n_post {
        yolo::decode(layout, &output, 0.25, &keep_all, &mut scratch).unwrap();
        candidates = scratch.candidates.len();
        yolo::nms_per_class(&mut scratch.candidates, 0.45, 300);
        kept = scratch.candidates.len();
    }
    let post_ms = per_call(t.elapsed(), n_post);

    // H.264 decoding alone.
    let decode_only = |max_threads: u32| {
        let p = launch(&format!(
            "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 max-threads={max_threads} ! \
             identity eos-after={} ! fakesink name=sink sync=false",
            video.display(),
            frames + WARM_UP
        ));
        let stamps = stamp_buffers(&p);
        play_to_eos(&p, None);
        let stamps = stamps.lock().unwrap();
        rate(&stamps, frames)
    };

    let pipeline = |max_threads: u32, qos: bool, queue: bool| {
        let p = launch(&format!(
            "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 max-threads={max_threads} ! \
             {} identity eos-after={} ! rsinfer model-location=\"{}\" threads={threads} qos={qos} \
             post-messages=true ! fakesink name=sink sync=false",
            video.display(),
            if queue { "queue max-size-buffers=3 !" } else { "" },
            frames + WARM_UP,
            model_path.display()
        ));
        let stamps = stamp_buffers(&p);
        let inferred = play_to_eos(&p, Some("rsinfer-detections"));
        let stamps = stamps.lock().unwrap();
        (rate(&stamps, frames), inferred, stamps.len())
    };

    println!();
    let bare_before = bare_runs(&model, &tensor, frames);
    println!(
        "bare ort (before): {bare_before:.1} runs/s ({:.1} ms/run)",
        1e3 / bare_before
    );
    let mut results = Vec::new();
    for &t in &avdec_threads {
        let (fps, inferred, passed) = pipeline(t, false, false);
        assert_eq!(inferred, passed, "qos=false infers every frame");
        println!(
            "pipeline (avdec_h264 max-threads={t}): {fps:.1} fps ({:.1} ms/frame)",
            1e3 / fps
        );
        results.push((format!("avdec_h264 max-threads={t}"), fps));
    }
    // A queue after the decoder: decoding overlaps inference instead of adding to it.
    let (fps, inferred, passed) = pipeline(avdec_threads[0], false, true);
    assert_eq!(inferred, passed, "qos=false infers every frame");
    println!(
        "pipeline (avdec_h264 max-threads={} ! queue): {fps:.1} fps ({:.1} ms/frame)",
        avdec_threads[0],
        1e3 / fps
    );
    results.push((
        format!("avdec_h264 max-threads={} ! queue", avdec_threads[0]),
        fps,
    ));
    let bare_after = bare_runs(&model, &tensor, frames / 2);
    println!(
        "bare ort (after):  {bare_after:.1} runs/s ({:.1} ms/run)",
        1e3 / bare_after
    );
    let bare = (bare_before + bare_after) / 2.0;

    println!();
    println!(
        "preprocess {}x{} I420 -> {iw}x{ih}: {pre_ms:.2} ms/frame",
        frame.width, frame.height
    );
    println!("decode + NMS ({candidates} candidates -> {kept} boxes): {post_ms:.3} ms/frame");
    for &t in &avdec_threads {
        let d = decode_only(t);
        println!(
            "H.264 decode alone (avdec_h264 max-threads={t}): {d:.0} fps ({:.2} ms/frame of wall time)",
            1e3 / d
        );
    }
    if std::env::var("BENCH_ORT_VARIANTS").is_ok_and(|v| v == "1") {
        ort_variants(&model_path, &tensor, iw, ih, (frames / 5).max(10));
    }
    let (fps_default_qos, inferred_default_qos, passed_default_qos) =
        pipeline(avdec_threads[0], true, false);

    println!();
    for (t, fps) in &results {
        let fps = *fps;
        let overhead = 1e3 / fps - 1e3 / bare;
        println!(
            "pipeline: {fps:.1} fps | bare ort: {bare:.1} runs/s | ratio {:.2} \
             ({t}; {overhead:+.1} ms/frame beyond ORT, of which \
             preprocess {pre_ms:.1} + decode/NMS {post_ms:.2})",
            fps / bare
        );
    }
    println!(
        "with rsinfer's default qos=true (non-live, sync=false): {fps_default_qos:.1} fps, \
         {inferred_default_qos} of {passed_default_qos} frames inferred{}",
        if inferred_default_qos == passed_default_qos {
            ""
        } else {
            " (frames skipped in a non-live pipeline!)"
        }
    );
}
