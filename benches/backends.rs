//! rsinfer's in-process backends, ONNX Runtime (`backend=onnx`) and OpenVINO
//! (`backend=openvino`), against their bare runtimes, across several streams in one
//! pipeline, and in the whole job (decode, detect, draw, encode) against the seed-style
//! Python loop. The machine is shared and noisy: the ratios, measured in the same run, are
//! what count.
//!
//! ```text
//! cargo bench --bench backends
//! BENCH_PARTS=bare,pipeline BENCH_MODELS=../shared/models/yolov8n_320_random.onnx cargo bench --bench backends
//! BENCH_FRAMES=30 BENCH_STREAM_SECONDS=4 BENCH_STREAMS=1,2 BENCH_JOB_FRAMES=60 cargo bench --bench backends
//! ```
//!
//! For each model of `BENCH_MODELS`, on `BENCH_VIDEO`, the parts of `BENCH_PARTS`:
//! * `bare`: `onnx::Model::run` and `openvino::Model::run` (the element's own calls) on a
//!   prepared tensor, runs/s: ONNX Runtime; OpenVINO with the latency hint, one caller; with
//!   the throughput hint, two callers at once (aggregate). Precision is OpenVINO's choice
//!   (bf16 on CPUs with AVX-512 BF16 or AMX).
//! * `pipeline`: `filesrc ! qtdemux ! h264parse ! avdec_h264 ! rsinfer backend=X qos=false !
//!   fakesink sync=false`, fps, with the default `max-in-flight` and with `max-in-flight=1`;
//!   ratios to the bare runtime (targets >= 0.95; with `bare` in `BENCH_PARTS`: the bare
//!   rates are measured before and after the pipelines, and averaged) and openvino / onnx
//!   (target >= 2).
//! * `streams`: N independent branches of that pipeline in one `gst::Pipeline` (one shared
//!   model), `inference-interval` 1 and 3, for onnx and openvino, each with
//!   `performance-hint=latency` and `throughput`; aggregate frames/s and inferences/s (the frame marker):
//!   each cell is stopped after `BENCH_STREAM_SECONDS` of wall time and measured from 2 s
//!   after it reached PLAYING (to the first stream's EOS if one ends sooner); ratio of 4
//!   streams to 1 (target for openvino throughput >= 1.3).
//! * `job`: `... ! avdec_h264 ! rsinfer backend=X ! rsoverlay ! videoconvert ! avenc_mpeg4 !
//!   mp4mux ! filesink` (rsinfer's defaults, no queues) against `../shared/bench/seed_style.py
//!   MODEL VIDEO --out ...` (OpenCV + ONNX Runtime, `mp4v`), both on a copy of the video cut
//!   to `BENCH_JOB_FRAMES` frames (made once per run with `filesrc ! qtdemux ! h264parse !
//!   identity eos-after=N ! mp4mux`); ratios to the seed loop (targets: onnx >= 1.5 at 320,
//!   >= 1.3 at 640; openvino >= 2.5).
//! * `threads`: CPU seconds per thread name (`/proc/self/task/*/stat`, utime + stime) of the
//!   single-stream pipelines with the default `max-in-flight` (taken from the `pipeline` part
//!   when it runs).
//!
//! Environment: `BENCH_MODELS` (comma list, default
//! `../shared/models/yolov8n_640_random.onnx,../shared/models/yolov8n_320_random.onnx`),
//! `BENCH_VIDEO` (default `../shared/video/sample_1280x720.mp4`), `BENCH_FRAMES` (bare runs and
//! frames of the single pipelines, default 300), `BENCH_STREAM_SECONDS` (wall time per
//! streams cell, default 15), `BENCH_STREAMS` (default `1,2,4,8`), `BENCH_JOB_FRAMES` (default
//! 600), `BENCH_PARTS` (a subset of `bare,pipeline,streams,job,threads`, default all),
//! `RSVISION_PYTHON` or `RSVISION_VENV` (default `~/.cache/rsvision/venv`) for the seed loop.
//! About 25 minutes with the defaults on a 2-core machine.

#[path = "backends/cpu.rs"]
mod cpu;

use cpu::{cpu_by_group, cpu_lines, label_new_threads, task_cpu, CpuGroups};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstrsvision::detection::frame::markers;
use gstrsvision::onnx::{self, ModelOptions, Provider};
use gstrsvision::openvino::{self, Hint, Options, Precision};

/// Frames (or runs) excluded from the single-pipeline and bare measurements as warm-up.
const WARM_UP: usize = 10;
const PARTS: [&str; 5] = ["bare", "pipeline", "streams", "job", "threads"];

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

fn shared(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(rel);
    p.canonicalize().unwrap_or(p).display().to_string()
}

/// The venv's python: `RSVISION_PYTHON`, else `$RSVISION_VENV/bin/python`, else the one of
/// `~/.cache/rsvision/venv`.
fn venv_python() -> PathBuf {
    let home = || PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/rsvision/venv");
    std::env::var_os("RSVISION_PYTHON").map_or_else(
        || {
            std::env::var_os("RSVISION_VENV")
                .map_or_else(home, PathBuf::from)
                .join("bin/python")
        },
        PathBuf::from,
    )
}

fn launch(description: &str) -> Result<gst::Pipeline, String> {
    gst::parse::launch(description)
        .map_err(|e| format!("{description}: {e}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline".to_string())
}

/// Plays `pipeline` until EOS, an error or `limit` of wall time, calling `tick` about every
/// 50 ms with the time since the pipeline reached PLAYING (`None` before). Leaves the pipeline playing (or at EOS): the caller reads
/// what it needs, then sets it to `Null`. Returns the wall time and whether EOS came.
fn play(
    pipeline: &gst::Pipeline,
    limit: Duration,
    mut tick: impl FnMut(Option<Duration>),
) -> Result<(Duration, bool), String> {
    let bus = pipeline.bus().unwrap();
    let started = Instant::now();
    let mut playing: Option<Instant> = None;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| format!("cannot play: {e}"))?;
    loop {
        let elapsed = started.elapsed();
        tick(playing.map(|t| t.elapsed()));
        if elapsed >= limit {
            return Ok((elapsed, false));
        }
        let wait = (limit - elapsed).min(Duration::from_millis(50));
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_nseconds(wait.as_nanos() as u64)) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => return Ok((started.elapsed(), true)),
            gst::MessageView::StateChanged(c)
                if c.current() == gst::State::Playing
                    && c.src() == Some(pipeline.upcast_ref::<gst::Object>()) =>
            {
                playing.get_or_insert_with(Instant::now);
            }
            gst::MessageView::Error(e) => {
                let _ = pipeline.set_state(gst::State::Null);
                return Err(format!("{} ({:?})", e.error(), e.debug()));
            }
            _ => {}
        }
    }
}

/// A moment and the frames and inferred frames counted by then.
type Mark = (Instant, usize, usize);

/// Buffers seen at some pads, and how many carried a fresh inference (the frame marker).
#[derive(Default)]
struct Counters {
    inferred: AtomicUsize,
    /// When the first branch reached EOS.
    first_eos: Mutex<Option<Mark>>,
    /// Arrival times.
    stamps: Mutex<Vec<Instant>>,
}

impl Counters {
    fn mark(&self) -> Mark {
        let frames = self.stamps.lock().unwrap().len();
        (Instant::now(), frames, self.inferred.load(Ordering::SeqCst))
    }

    /// Counts every buffer and the EOS passing the pad `pad` of `element`.
    fn watch(self: &Arc<Self>, pipeline: &gst::Pipeline, element: &str, pad: &str) {
        let c = self.clone();
        let probe = move |_: &gst::Pad, info: &mut gst::PadProbeInfo| {
            match &info.data {
                Some(gst::PadProbeData::Buffer(buf)) => {
                    c.stamps.lock().unwrap().push(Instant::now());
                    if markers(buf).first().is_some_and(|m| m.inferred()) {
                        c.inferred.fetch_add(1, Ordering::SeqCst);
                    }
                }
                Some(gst::PadProbeData::Event(e)) if e.type_() == gst::EventType::Eos => {
                    c.first_eos.lock().unwrap().get_or_insert(c.mark());
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        };
        pipeline
            .by_name(element)
            .and_then(|e| e.static_pad(pad))
            .unwrap_or_else(|| panic!("no pad {element}:{pad}"))
            .add_probe(
                gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
                probe,
            );
    }
}

/// `calls` of `run` spread over `callers` threads, after a warm-up on each; calls/s.
fn bare(run: &(dyn Fn() + Sync), calls: usize, callers: usize) -> f64 {
    let each = calls.div_ceil(callers).max(1);
    let spread = |n: usize| {
        std::thread::scope(|s| {
            for _ in 0..callers {
                s.spawn(|| (0..n).for_each(|_| run()));
            }
        })
    };
    spread(3);
    let t = Instant::now();
    spread(each);
    (each * callers) as f64 / t.elapsed().as_secs_f64()
}

/// A pipeline played to EOS: buffers at the pad watched, how many were inferred, their rate
/// after the first `WARM_UP`, the wall time from PLAYING to EOS, and CPU time by thread.
struct Run {
    fps: f64,
    frames: usize,
    inferred: usize,
    wall: f64,
    cpu: CpuGroups,
}

impl Run {
    /// `fps` and the counts, for a log line.
    fn describe(&self, fps: f64) -> String {
        let all = (self.frames != self.inferred).then_some(": NOT EVERY FRAME");
        let all = all.unwrap_or_default();
        format!(
            "{fps:.1} fps ({} frames, {} inferred{all})",
            self.frames, self.inferred
        )
    }
}

/// Plays `description` to EOS, watching `element`'s pad `pad_name`.
fn run_to_eos(description: &str, element: &str, pad_name: &str) -> Result<Run, String> {
    let p = launch(description)?;
    let c = Arc::new(Counters::default());
    c.watch(&p, element, pad_name);
    let before = task_cpu();
    let played = play(&p, Duration::from_secs(1800), |_| ());
    // While the pipeline's threads live.
    let after = task_cpu();
    p.set_state(gst::State::Null).unwrap();
    let (wall, eos) = played?;
    let (_, frames, inferred) = c.mark();
    let stamps = c.stamps.lock().unwrap();
    if !eos || frames < WARM_UP + 2 {
        return Err(format!("EOS: {eos}, {frames} buffers"));
    }
    let m = &stamps[WARM_UP..];
    Ok(Run {
        fps: (m.len() - 1) as f64 / (m[m.len() - 1] - m[0]).as_secs_f64(),
        frames,
        inferred,
        wall: wall.as_secs_f64(),
        cpu: cpu_by_group(&before, &after),
    })
}

/// One cell of the streams table: aggregate frames/s and inferences/s.
fn streams(
    video: &str,
    model: &str,
    props: &str,
    n: usize,
    interval: u32,
    seconds: f64,
) -> Result<(f64, f64, String), String> {
    let mut d = String::new();
    for i in 0..n {
        d += &format!(
            "filesrc location=\"{video}\" ! qtdemux ! h264parse ! avdec_h264 ! \
             rsinfer model-location=\"{model}\" {props} inference-interval={interval} qos=false ! \
             fakesink name=sink{i} sync=false  "
        );
    }
    let p = launch(&d)?;
    let c = Arc::new(Counters::default());
    for i in 0..n {
        c.watch(&p, &format!("sink{i}"), "sink");
    }
    let warm = Duration::from_secs_f64((seconds / 4.0).min(2.0));
    let mut start = None;
    let played = play(&p, Duration::from_secs_f64(seconds), |playing| {
        if start.is_none() && playing >= Some(warm) {
            start = Some(c.mark());
        }
    });
    let mut end = c.mark();
    p.set_state(gst::State::Null).unwrap();
    played?;
    let start = start.ok_or("ended during the warm-up")?;
    // The first stream to end closes the window.
    let mut note = String::new();
    if let Some(eos) = c.first_eos.lock().unwrap().filter(|e| e.0 < end.0) {
        let after = (eos.0 - start.0).as_secs_f64();
        note = format!(" (a stream ended after {after:.1} s)");
        end = eos;
    }
    let s = end.0.saturating_duration_since(start.0).as_secs_f64();
    if s < 0.2 {
        return Err("a stream ended during the warm-up".into());
    }
    let rate = |a: usize, b: usize| (b - a) as f64 / s;
    Ok((rate(start.1, end.1), rate(start.2, end.2), note))
}

/// Cuts `video` to about its first `frames` frames, without re-encoding (identity passes
/// `eos-after - 1` buffers; mp4mux may drop a trailing frame or two: both sides of the job
/// comparison read the same file, and print how many frames they saw).
fn shorten(video: &str, frames: usize, out: &Path) -> Result<Run, String> {
    let d = format!(
        "filesrc location=\"{video}\" ! qtdemux ! h264parse ! identity eos-after={} ! \
         mp4mux ! filesink name=sink location=\"{}\"",
        frames + 1,
        out.display()
    );
    run_to_eos(&d, "sink", "sink")
}

/// The whole job on `video` (its fps: frames over the wall time from PLAYING to EOS).
fn job(video: &Path, model: &str, props: &str, out: &Path) -> Result<Run, String> {
    let d = format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 ! \
         rsinfer name=inf model-location=\"{model}\" {props} ! rsoverlay ! videoconvert ! \
         avenc_mpeg4 ! mp4mux ! filesink location=\"{}\"",
        video.display(),
        out.display()
    );
    run_to_eos(&d, "inf", "src")
}

/// `seed_style.py model video --out ...`: its `JSON` line's fps and frames.
fn seed(model: &str, video: &Path, out: &Path) -> Result<(f64, u64), String> {
    let script = PathBuf::from(shared("bench/seed_style.py"));
    let o = std::process::Command::new(venv_python())
        .arg(script)
        .arg(model)
        .arg(video)
        .arg("--out")
        .arg(out)
        .output()
        .map_err(|e| format!("cannot run the venv's python: {e}"))?;
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), o.stderr);
    let no_line = || format!("{}: {}", o.status, String::from_utf8_lossy(&stderr).trim());
    let line = stdout.lines().rev().find_map(|l| l.strip_prefix("JSON "));
    let v: serde_json::Value =
        serde_json::from_str(line.ok_or_else(no_line)?).map_err(|e| e.to_string())?;
    let frames = v["frames"].as_u64().unwrap_or(0);
    Ok((v["fps"].as_f64().ok_or("no fps")?, frames))
}

// ---------------------------------------------------------------------------------------

/// Bare runs/s: ONNX Runtime (one session, one caller; a session per core, a caller each),
/// OpenVINO latency (one caller) and throughput (two callers).
#[derive(Clone, Copy)]
struct Bare {
    o: f64,
    ot: f64,
    l: Option<f64>,
    t: Option<f64>,
}

/// A backend as rsinfer's properties select it: label, properties.
struct Backend(&'static str, &'static str);

const ONNX: Backend = Backend("onnx", "backend=onnx performance-hint=latency");
const ONNX_THROUGHPUT: Backend = Backend(
    "onnx throughput",
    "backend=onnx performance-hint=throughput",
);
const OV: Backend = Backend("openvino", "backend=openvino performance-hint=latency");
const OV_THROUGHPUT: Backend = Backend(
    "openvino throughput",
    "backend=openvino performance-hint=throughput",
);

impl Backend {
    /// The properties, with `max-in-flight=1` when `one`.
    fn props(&self, one: bool) -> String {
        format!("{}{}", self.1, if one { " max-in-flight=1" } else { "" })
    }
}

/// `a / b`, with the verdict against `target` when there is one.
fn ratio(a: Option<f64>, b: Option<f64>, target: Option<f64>) -> String {
    match (a, b, target) {
        (Some(a), Some(b), Some(t)) if b > 0.0 => format!(
            "{:.2} (target >= {t}: {})",
            a / b,
            if a / b >= t { "ok" } else { "BELOW" }
        ),
        (Some(a), Some(b), None) if b > 0.0 => format!("{:.2}", a / b),
        _ => "n/a".into(),
    }
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{v:.1}"))
}

/// The value, or `None` after printing why `what` failed.
fn ok<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Option<T> {
    r.map_err(|e| println!("{what}: failed: {e}")).ok()
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    env_or(name, default)
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn main() {
    gst::init().unwrap();
    gstrsvision::plugin_register_static().expect("register rsvision");
    label_new_threads("bench main thread, GLib");

    let default_models = ["640", "320"].map(|s| shared(&format!("models/yolov8n_{s}_random.onnx")));
    let models = env_list("BENCH_MODELS", &default_models.join(","));
    let video = env_or("BENCH_VIDEO", &shared("video/sample_1280x720.mp4"));
    let frames: usize = env_number("BENCH_FRAMES", 300);
    let stream_seconds: f64 = env_number("BENCH_STREAM_SECONDS", 15.0);
    let counts: Vec<usize> = env_list("BENCH_STREAMS", "1,2,4,8")
        .iter()
        .map(|s| s.parse().expect("BENCH_STREAMS: numbers"))
        .collect();
    let job_frames: usize = env_number("BENCH_JOB_FRAMES", 600);
    let parts = env_list("BENCH_PARTS", &PARTS.join(","));
    for p in &parts {
        assert!(PARTS.contains(&p.as_str()), "BENCH_PARTS: unknown part {p}");
    }
    let part = |name: &str| parts.iter().any(|p| p == name);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let tmp = std::env::temp_dir().join(format!("rsvision-bench-backends-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let bench_start = Instant::now();
    println!(
        "video: {video} | cores: {cores} | parts: {}",
        parts.join(",")
    );
    println!(
        "frames: {frames} (+{WARM_UP} warm-up) | streams {counts:?} x {stream_seconds} s | \
         job: {job_frames} frames"
    );
    // The cut video of the whole-job part, made once.
    let short = tmp.join(format!("short_{job_frames}.mp4"));
    if part("job") {
        shorten(&video, job_frames, &short).expect("cut the video");
    }

    let mut summary: Vec<String> = Vec::new();
    // Prints a line now and keeps it for the summary.
    macro_rules! note {
        ($($arg:tt)*) => {{
            let line = format!($($arg)*);
            println!("{line}");
            summary.push(line);
        }};
    }
    for model in &models {
        let name = Path::new(model)
            .file_stem()
            .map_or(model.clone(), |s| s.to_string_lossy().into_owned());
        println!("\n=== {name} ===");
        summary.push(format!("--- {name} ---"));

        // The models the elements share, held for the whole model's run so that no element
        // loads or compiles one (the options are rsinfer's defaults).
        let options = ModelOptions {
            path: model.into(),
            threads: 0,
            provider: Provider::Cpu,
            sessions: 1,
        };
        let ort = onnx::load_shared(&options)
            .expect("ONNX Runtime loads the model")
            .0;
        // performance-hint=throughput: one single-threaded session per core.
        let ort_thr = onnx::load_shared(&ModelOptions {
            threads: 1,
            sessions: onnx::throughput_sessions(),
            ..options.clone()
        })
        .expect("ONNX Runtime loads the model")
        .0;
        label_new_threads("ONNX Runtime pool");
        let ov = |hint: Hint| {
            let options = Options {
                hint,
                precision: Precision::Auto,
                ..Options::new(model)
            };
            let r = openvino::load_shared(&options).map(|m| m.0);
            ok(&format!("OpenVINO ({})", hint.name()), r)
        };
        let (ov_lat, ov_thr) = (ov(Hint::Latency), ov(Hint::Throughput));
        label_new_threads("OpenVINO pool");
        for m in ov_lat.iter().chain(&ov_thr) {
            println!("{}", m.info.summary());
        }
        let (iw, ih) = (ort.info.input_width, ort.info.input_height);
        let tensor: Vec<f32> = (0..3 * iw * ih)
            .map(|i| ((i * 7919) % 251) as f32 / 255.0)
            .collect();
        let ov_rate = |m: &Option<Arc<openvino::Model>>, calls, callers| {
            let run = |m: &openvino::Model| m.run(&tensor, |_, d| d.len()).map(drop).unwrap();
            m.as_deref().map(|m| bare(&|| run(m), calls, callers))
        };
        let bare_all = |calls: usize| {
            let ort_run = || ort.run(&tensor, |_, d| d.len()).map(drop).unwrap();
            let o = bare(&ort_run, calls, 1);
            let thr_run = || ort_thr.run(&tensor, |_, d| d.len()).map(drop).unwrap();
            let ot = bare(&thr_run, calls, ort_thr.sessions());
            let (l, t) = (ov_rate(&ov_lat, calls, 1), ov_rate(&ov_thr, calls, 2));
            println!(
                "bare: onnx {o:.1} runs/s | onnx throughput x{} {ot:.1} | openvino latency {} | \
                 openvino throughput x2 {}",
                ort_thr.sessions(),
                fmt(l),
                fmt(t)
            );
            Bare { o, ot, l, t }
        };
        let mut bare_rates = part("bare").then(|| bare_all(frames));
        // OpenVINO may add pool threads for the concurrent callers.
        label_new_threads("OpenVINO pool");

        let backends: Vec<&Backend> = [&ONNX, &ONNX_THROUGHPUT, &OV, &OV_THROUGHPUT]
            [..if ov_lat.is_some() { 4 } else { 2 }]
            .to_vec();
        let single_run = |b: &Backend, one: bool| {
            let props = b.props(one);
            let d = format!(
                "filesrc location=\"{video}\" ! qtdemux ! h264parse ! avdec_h264 ! \
                 identity eos-after={} ! rsinfer model-location=\"{model}\" {props} qos=false ! \
                 fakesink name=sink sync=false",
                frames + WARM_UP
            );
            let r = ok(&props, run_to_eos(&d, "sink", "sink"))?;
            println!("pipeline {props}: {}", r.describe(r.fps));
            Some(r)
        };
        let mut pipe: HashMap<(&str, bool), f64> = HashMap::new();
        let mut cpu: Vec<(&str, f64, CpuGroups)> = Vec::new();
        if part("pipeline") {
            for b in &backends {
                for one in [false, true] {
                    if let Some(r) = single_run(b, one) {
                        pipe.insert((b.0, one), r.fps);
                        if !one {
                            cpu.push((b.0, r.wall, r.cpu));
                        }
                    }
                }
            }
            if let Some(before) = bare_rates {
                let after = bare_all(frames / 2);
                let avg = |a: Option<f64>, b: Option<f64>| Some((a? + b?) / 2.0);
                bare_rates = Some(Bare {
                    o: (before.o + after.o) / 2.0,
                    ot: (before.ot + after.ot) / 2.0,
                    l: avg(before.l, after.l),
                    t: avg(before.t, after.t),
                });
            }
        }
        if let Some(Bare { o, ot, l, t }) = bare_rates {
            note!(
                "bare runs/s: onnx {o:.1} | onnx throughput, {} callers {ot:.1} | openvino \
                 latency {} ({:.2}x onnx, precision {}) | openvino throughput, 2 callers {}",
                ort_thr.sessions(),
                fmt(l),
                l.unwrap_or(0.0) / o,
                ov_lat
                    .as_ref()
                    .and_then(|m| m.info.precision.clone())
                    .unwrap_or_default(),
                fmt(t)
            );
        }
        if part("pipeline") {
            let bare_of = |b: &Backend| match b.0 {
                "onnx" => bare_rates.map(|b| b.o),
                "onnx throughput" => bare_rates.map(|b| b.ot),
                "openvino" => bare_rates.and_then(|b| b.l),
                _ => bare_rates.and_then(|b| b.t),
            };
            for b in &backends {
                for one in [false, true] {
                    let fps = pipe.get(&(b.0, one)).copied();
                    note!(
                        "pipeline {:<19} max-in-flight={}: {:>6} fps, / bare {}",
                        b.0,
                        ["auto", "1   "][one as usize],
                        fmt(fps),
                        ratio(fps, bare_of(b), Some(0.95))
                    );
                }
            }
            let auto = |label| pipe.get(&(label, false)).copied();
            note!(
                "pipeline openvino / onnx (max-in-flight auto): {}; onnx throughput / onnx {}; \
                 openvino throughput / onnx {}",
                ratio(auto("openvino"), auto("onnx"), Some(2.0)),
                ratio(auto("onnx throughput"), auto("onnx"), None),
                ratio(auto("openvino throughput"), auto("onnx"), Some(2.0))
            );
        }

        if part("threads") {
            if cpu.is_empty() {
                for b in &backends {
                    if let Some(r) = single_run(b, false) {
                        cpu.push((b.0, r.wall, r.cpu));
                    }
                }
            }
            note!("CPU by thread, single stream, max-in-flight auto:");
            for (label, wall, groups) in &cpu {
                note!("{}", cpu_lines(label, *wall, groups));
            }
        }

        if part("streams") {
            let sb = backends.iter().copied();
            note!("streams (aggregate frames/s | inferences/s, {stream_seconds} s per cell):");
            for b in sb.collect::<Vec<_>>() {
                for interval in [1u32, 3] {
                    let mut cells = Vec::new();
                    let mut line = format!("  {:<20} interval {interval}:", b.0);
                    for &n in &counts {
                        let what = format!("streams {} x{n} interval {interval}", b.1);
                        let cell = streams(&video, model, b.1, n, interval, stream_seconds);
                        match ok(&what, cell) {
                            Some((f, i, warn)) => {
                                println!("{what}: {f:.1} frames/s, {i:.1} inferences/s{warn}");
                                line += &format!(" {n}: {f:.1} | {i:.1};");
                                cells.push((n, f));
                            }
                            None => line += &format!(" {n}: failed;"),
                        }
                    }
                    let of = |n| cells.iter().find(|c| c.0 == n).map(|c| c.1);
                    if of(1).is_some() && of(4).is_some() {
                        let target = (b.0 == OV_THROUGHPUT.0).then_some(1.3);
                        line += &format!(" 4/1 {}", ratio(of(4), of(1), target));
                    }
                    summary.push(line);
                }
            }
        }

        if part("job") {
            let mut job_cpu = Vec::new();
            let out = tmp.join(format!("seed_{name}.mp4"));
            let seed_fps = ok("seed_style.py", seed(model, &short, &out)).map(|(fps, n)| {
                println!("seed_style.py: {fps:.1} fps ({n} frames)");
                fps
            });
            note!("job: seed_style.py {} fps", fmt(seed_fps));
            for b in &backends {
                let target = match (b.0.starts_with("onnx"), ih <= 320) {
                    (true, true) => 1.5,
                    (true, false) => 1.3,
                    _ => 2.5,
                };
                for one in [false, true] {
                    let props = b.props(one);
                    let out = tmp.join(format!("job_{name}_{}_{one}.mp4", b.0));
                    let run = ok(&props, job(&short, model, &props, &out));
                    let fps = run.as_ref().map(|r| {
                        let fps = r.frames as f64 / r.wall;
                        println!("job {props}: {}", r.describe(fps));
                        fps
                    });
                    if let (Some(r), false, true) = (&run, one, part("threads")) {
                        job_cpu.push(cpu_lines(&format!("job {}", b.0), r.wall, &r.cpu));
                    }
                    summary.push(format!(
                        "job {:<19} max-in-flight={}: {:>6} fps, / seed {}",
                        b.0,
                        ["auto", "1   "][one as usize],
                        fmt(fps),
                        ratio(fps, seed_fps, (!one).then_some(target))
                    ));
                }
            }
            if !job_cpu.is_empty() {
                summary.push("CPU by thread, the whole job, max-in-flight auto:".into());
                summary.extend(job_cpu);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);

    let minutes = bench_start.elapsed().as_secs_f64() / 60.0;
    println!("\n=== summary ({minutes:.1} min) ===");
    for line in &summary {
        println!("{line}");
    }
}
