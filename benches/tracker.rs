//! Cost of tracking: rstracker against the Python ByteTrack users run today, on the same
//! detections, and its memory over a long run with objects coming and going.
//!
//! ```text
//! cargo bench --bench tracker
//! BENCH_FRAMES=600 BENCH_LONG_FRAMES=100000 cargo bench --bench tracker
//! ```
//!
//! Measures, in one run, at 20, 100 and 300 boxes per frame (objects on random walks, some
//! leaving and new ones arriving, 5 % missed, noisy boxes):
//! * the tracker itself (`gstrsvision::tracker::Tracker::update`), median ms per frame;
//! * the element (`rstracker` in a `gst_check::Harness`: metadata read, tracking, metadata
//!   written back, the frame's tracker meta), median ms per frame;
//! * roboflow `trackers` 2.6 `ByteTrackTracker.update` (the successor of supervision's
//!   ByteTrack) on the same detections, by `benches/tracker_bytetrack.py` in the tracker
//!   venv of `scripts/setup.sh --test`;
//!
//! and prints the ratios (Python time / rstracker time). Targets: under 0.2 ms at 100 boxes
//! and under 1 ms at 300. Then the memory run: `BENCH_LONG_FRAMES` (100 000) frames through
//! the element with ~20 objects in view that are replaced every ~10 s, resident memory and
//! live tracks sampled along the way: no growth.

#[path = "../tests/tracking/scenes.rs"]
#[allow(dead_code)]
mod scenes;

use std::fmt::Write as _;

use gst::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

use gstrsvision::detection::{self, Detection};
use gstrsvision::tracker::{BBox, Config, Observation, Tracker};
use scenes::Rng;

const W: f64 = 1920.0;
const H: f64 = 1080.0;
const FRAME_NS: u64 = 33_333_333;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` objects on random walks over `frames` frames; an object that walks out is replaced
/// by a new one at a random place.
fn walk(n: usize, frames: usize, seed: u64) -> Vec<Vec<Detection>> {
    let mut rng = Rng::new(seed);
    let size = (W * H / (n as f64 * 6.0)).sqrt().clamp(12.0, 120.0);
    let mut objs: Vec<[f64; 4]> = (0..n)
        .map(|_| {
            [
                rng.range(0.0, W - size),
                rng.range(0.0, H - size),
                rng.range(-3.0, 3.0),
                rng.range(-3.0, 3.0),
            ]
        })
        .collect();
    (0..frames)
        .map(|_| {
            let mut dets = vec![];
            for o in &mut objs {
                o[2] = 0.95 * o[2] + 0.3 * rng.normal();
                o[3] = 0.95 * o[3] + 0.3 * rng.normal();
                o[0] += o[2];
                o[1] += o[3];
                if o[0] < -size || o[0] > W || o[1] < -size || o[1] > H {
                    *o = [rng.range(0.0, W - size), rng.range(0.0, H - size), 0.0, 0.0];
                }
                if rng.chance(0.05) {
                    continue;
                }
                dets.push(Detection {
                    x: o[0] + rng.normal(),
                    y: o[1] + rng.normal(),
                    width: size + rng.normal(),
                    height: size * 1.5 + rng.normal(),
                    confidence: rng.range(0.3, 0.95),
                    label_id: 0,
                    label: "person".into(),
                    track_id: None,
                    tracking: None,
                    attributes: Vec::new(),
                });
            }
            dets
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn core_ms(frames: &[Vec<Detection>]) -> f64 {
    let mut t = Tracker::new(
        Config {
            frame_size: Some((W, H)),
            ..Config::default()
        },
        1,
    );
    let mut times = vec![];
    for (f, dets) in frames.iter().enumerate() {
        let obs: Vec<Observation> = dets
            .iter()
            .map(|d| Observation {
                bbox: BBox::from_xywh(d.x, d.y, d.width, d.height),
                confidence: d.confidence,
                label: &d.label,
                label_id: d.label_id,
            })
            .collect();
        let t0 = Instant::now();
        std::hint::black_box(t.update(Some(f as u64 * FRAME_NS), Some(&obs)));
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    median(times)
}

fn harness() -> gst_check::Harness {
    let mut h = gst_check::Harness::new("rstracker");
    h.set_src_caps_str(&format!(
        "video/x-raw,format=I420,width={},height={},framerate=30/1",
        W as u32, H as u32
    ));
    h
}

fn buffer(f: usize, dets: &[Detection]) -> gst::Buffer {
    let mut b = gst::Buffer::with_size(1).unwrap();
    {
        let b = b.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_nseconds(f as u64 * FRAME_NS));
        detection::attach(b, dets, W as u32, H as u32, 0);
    }
    b
}

fn element_ms(frames: &[Vec<Detection>]) -> f64 {
    let mut h = harness();
    let buffers: Vec<gst::Buffer> = frames
        .iter()
        .enumerate()
        .map(|(f, d)| buffer(f, d))
        .collect();
    let mut times = vec![];
    for b in buffers {
        let t0 = Instant::now();
        std::hint::black_box(h.push_and_pull(b).unwrap());
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    median(times)
}

fn python_ms(frames: &[Vec<Detection>]) -> Result<f64, String> {
    let home = std::env::var("HOME").map_err(|e| e.to_string())?;
    let py = std::env::var_os("RSVISION_TRACK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(home).join(".cache/rsvision/track-venv"))
        .join("bin/python");
    if !py.exists() {
        return Err(format!("{} is missing", py.display()));
    }
    let mut text = String::new();
    for (f, dets) in frames.iter().enumerate() {
        for d in dets {
            let _ = writeln!(
                text,
                "{},-1,{:.2},{:.2},{:.2},{:.2},{:.3},0",
                f + 1,
                d.x,
                d.y,
                d.width,
                d.height,
                d.confidence
            );
        }
    }
    let path = std::env::temp_dir().join(format!("rstracker-bench-{}.txt", std::process::id()));
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/tracker_bytetrack.py");
    let out = std::process::Command::new(&py)
        .arg(script)
        .arg(&path)
        .arg(frames.len().to_string())
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&path);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    v["median_ms"].as_f64().ok_or_else(|| "no median_ms".into())
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

fn memory(frames: usize) {
    let mut h = harness();
    let mut rng = Rng::new(99);
    // 20 slots; each object lives ~300 frames (10 s) and is replaced by a new one elsewhere.
    let mut slots: Vec<(f64, f64, usize)> = (0..20)
        .map(|i| (rng.range(0.0, W - 60.0), rng.range(0.0, H - 90.0), i * 15))
        .collect();
    let mut samples = vec![];
    let mut max_live = 0u64;
    for f in 0..frames {
        let mut dets = vec![];
        for s in &mut slots {
            if f >= s.2 + 300 {
                *s = (rng.range(0.0, W - 60.0), rng.range(0.0, H - 90.0), f);
            }
            let age = (f - s.2) as f64;
            dets.push(Detection {
                x: s.0 + 0.5 * age % 200.0,
                y: s.1,
                width: 60.0,
                height: 90.0,
                confidence: 0.9,
                label_id: 0,
                label: "person".into(),
                track_id: None,
                tracking: None,
                attributes: Vec::new(),
            });
        }
        h.push_and_pull(buffer(f, &dets)).unwrap();
        if f % (frames / 10).max(1) == 0 || f == frames - 1 {
            let stats = h.element().unwrap().property::<gst::Structure>("stats");
            max_live = max_live.max(stats.get::<u64>("live-tracks").unwrap_or(0));
            samples.push((f, rss_kb(), stats.get::<u64>("ids").unwrap_or(0)));
        }
    }
    let first = samples[1].1;
    let last = samples.last().unwrap().1;
    println!(
        "memory: {frames} frames through rstracker, 20 objects in view, {} ids given, at most {max_live} live tracks",
        samples.last().unwrap().2
    );
    for (f, kb, ids) in &samples {
        println!(
            "  frame {f:>6}: RSS {:>7.1} MB, {ids} ids so far",
            *kb as f64 / 1024.0
        );
    }
    println!(
        "RSS from frame {} to the end: {:+.1} MB",
        samples[1].0,
        (last as f64 - first as f64) / 1024.0
    );
}

fn main() {
    gst::init().unwrap();
    gstrsvision::plugin_register_static().unwrap();
    let frames = env_usize("BENCH_FRAMES", 600);
    println!("rstracker vs roboflow trackers ByteTrack, {frames} frames, median ms per frame:");
    println!(
        "boxes | tracker (Rust) | element | Python ByteTrack | Python / tracker | Python / element"
    );
    for n in [20, 100, 300] {
        let scene = walk(n, frames, n as u64);
        let core = core_ms(&scene);
        let element = element_ms(&scene);
        match python_ms(&scene) {
            Ok(py) => println!(
                "{n:>5} | {core:>14.4} | {element:>7.4} | {py:>16.3} | {:>15.0}x | {:>15.0}x",
                py / core,
                py / element
            ),
            Err(e) => println!("{n:>5} | {core:>14.4} | {element:>7.4} | (skipped: {e}) |"),
        }
    }
    memory(env_usize("BENCH_LONG_FRAMES", 100_000));
}
