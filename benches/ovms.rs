//! Frame rate of `rsinfer backend=ovms` against a local KServe v2 server versus
//! `backend=onnx` in the same run, on the same model and video.
//!
//! ```text
//! cargo bench --bench ovms
//! BENCH_MODEL=../shared/models/yolov8n_320_random.onnx BENCH_RUNS=3 cargo bench --bench ovms
//! ```
//!
//! The server is pipelines/kserve-serve-onnx.py (the `kserve` PyPI package + onnxruntime,
//! two intra-op threads) on 127.0.0.1, from the venv scripts/setup.sh --test makes. Measured, each
//! as the best of `BENCH_RUNS` (default 2) runs of the whole video
//! (`filesrc ! decodebin ! rsinfer qos=false ! fakesink sync=false`):
//! * decoding alone (no rsinfer): the ceiling;
//! * `backend=onnx` (ONNX Runtime in the process, its default threads);
//! * `backend=ovms` over gRPC and REST, with `max-in-flight` 1 and 4;
//!
//! and the ratios of each remote run to `backend=onnx` and of `max-in-flight=4` to 1. The
//! server runs on the same cores as the pipeline, so this measures the protocol and
//! pipelining overhead, not the gain of a separate inference machine.
//!
//! Environment: `BENCH_MODEL` (default models/rsvision-shapes.onnx), `BENCH_VIDEO` (default
//! data/sample-shapes.mp4), `BENCH_RUNS`.

#[path = "../tests/kserve/server.rs"]
mod server;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gst::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_or(name: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or(default)
}

/// Runs the video through `middle` and returns (frames, seconds).
fn run(video: &std::path::Path, middle: &str) -> (u64, f64) {
    let description = format!(
        "filesrc location={} ! decodebin ! {middle} fakesink name=sink sync=false",
        video.display()
    );
    let pipeline = gst::parse::launch(&description)
        .unwrap_or_else(|e| panic!("{description}: {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap();
    let frames = Arc::new(AtomicU64::new(0));
    let f = frames.clone();
    let first = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let fi = first.clone();
    pipeline
        .by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            // Timing starts at the first frame out: start-up (model load, server checks)
            // is not throughput.
            fi.lock().unwrap().get_or_insert_with(Instant::now);
            f.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(600)) {
        match msg.view() {
            gst::MessageView::Eos(..) => break,
            gst::MessageView::Error(e) => panic!("{description}: {}", e.error()),
            _ => {}
        }
    }
    let end = Instant::now();
    pipeline.set_state(gst::State::Null).unwrap();
    let n = frames.load(Ordering::Relaxed);
    let start = first.lock().unwrap().expect("frames came out");
    // The first frame is excluded with the start-up.
    (
        n.saturating_sub(1),
        (end - start).max(Duration::from_millis(1)).as_secs_f64(),
    )
}

fn best_fps(runs: usize, video: &std::path::Path, middle: &str) -> f64 {
    (0..runs)
        .map(|_| {
            let (n, s) = run(video, middle);
            n as f64 / s
        })
        .fold(0.0, f64::max)
}

fn main() {
    gst::init().unwrap();
    gstrsvision::plugin_register_static().unwrap();
    let model = env_or("BENCH_MODEL", root().join("models/rsvision-shapes.onnx"));
    let video = env_or("BENCH_VIDEO", root().join("data/sample-shapes.mp4"));
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let server = server::KserveServer::start(&[("bench", &model)]);
    println!(
        "model {}, video {}, best of {runs} runs, kserve server on 127.0.0.1",
        model.display(),
        video.display()
    );

    let decode = best_fps(runs, &video, "");
    println!("{:<34} {:>8.1} fps", "decode only (ceiling)", decode);
    let onnx = best_fps(
        runs,
        &video,
        &format!(
            "rsinfer backend=onnx model-location={} qos=false !",
            model.display()
        ),
    );
    println!("{:<34} {:>8.1} fps", "backend=onnx (local)", onnx);
    for (proto, url) in [("gRPC", server.grpc_url()), ("REST", server.http_url())] {
        let mut by_mif = Vec::new();
        for mif in [1, 4] {
            let fps = best_fps(
                runs,
                &video,
                &format!(
                    "rsinfer backend=ovms server-url={url} model-name=bench max-in-flight={mif} qos=false !"
                ),
            );
            by_mif.push(fps);
            println!(
                "{:<34} {:>8.1} fps   {:.2}x backend=onnx",
                format!("backend=ovms {proto} max-in-flight={mif}"),
                fps,
                fps / onnx
            );
        }
        println!(
            "{:<34} {:>8.2}x",
            format!("{proto}: max-in-flight 4 / 1"),
            by_mif[1] / by_mif[0]
        );
    }
}
