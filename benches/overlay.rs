//! Cost of drawing detections: rsoverlay against OpenCV, on the same 1280x720 frame with the
//! same 50 labelled boxes.
//!
//! ```text
//! cargo bench --bench overlay
//! BENCH_FRAMES=2000 BENCH_BOXES=50 cargo bench --bench overlay
//! ```
//!
//! Measures, in one run, the median time per frame (one thread) of:
//! * the drawing itself (`gstrsvision::draw::Renderer::draw`) on I420 and RGBA frames;
//! * the element (`rsoverlay` in a `gst_check::Harness`: metadata read, frame mapping,
//!   drawing) on I420 and RGBA buffers carrying the boxes as region-of-interest metas;
//! * OpenCV (`cv2.rectangle` + `cv2.putText` with a filled label background, as Python
//!   detection loops draw) on a BGR frame, by `benches/overlay_opencv.py` in the project's
//!   venv (`scripts/setup.sh --test` installs `opencv-python-headless` there);
//!
//! and prints the ratios (OpenCV time / rsoverlay time: above 1 means rsoverlay is faster).
//! Target: at most 1 ms per frame and faster than OpenCV.

use std::path::PathBuf;
use std::time::Instant;

use gstrsvision::detection::{self, Detection};
use gstrsvision::draw::{embedded_font, Canvas, Renderer, Style};
use gstrsvision::preprocess::{Colorimetry, PixelFormat};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;
const LABELS: [&str; 6] = ["person", "car", "bicycle", "dog", "truck", "traffic light"];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` boxes spread over the frame, deterministic.
fn boxes(n: usize) -> Vec<Detection> {
    (0..n)
        .map(|i| {
            let i32_ = i as i32;
            Detection {
                x: f64::from((i32_ * 97) % 1100),
                y: f64::from(30 + (i32_ * 53) % 580),
                width: f64::from(60 + (i32_ * 13) % 120),
                height: f64::from(60 + (i32_ * 29) % 100),
                confidence: 0.5 + f64::from(i32_ % 50) / 100.0,
                label_id: i32_ % LABELS.len() as i32,
                label: LABELS[i % LABELS.len()].to_string(),
                track_id: None,
                tracking: None,
                attributes: Vec::new(),
            }
        })
        .collect()
}

fn median_ms(mut times: Vec<f64>) -> f64 {
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[times.len() / 2] * 1e3
}

/// Median time per frame of `Renderer::draw` on a frame of `format`.
fn time_renderer(format: PixelFormat, dets: &[Detection], frames: usize) -> f64 {
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut planes: Vec<Vec<u8>> = match format {
        PixelFormat::I420 => vec![vec![90; w * h], vec![128; w * h / 4], vec![128; w * h / 4]],
        _ => vec![vec![90; w * h * 4]],
    };
    let strides: Vec<usize> = match format {
        PixelFormat::I420 => vec![w, w / 2, w / 2],
        _ => vec![w * 4],
    };
    let mut renderer = Renderer::new(embedded_font(), 16);
    let style = Style::default();
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames + 10 {
        let t = Instant::now();
        let mut canvas = Canvas::new(
            format,
            WIDTH,
            HEIGHT,
            planes.iter_mut().map(|p| p.as_mut_slice()).collect(),
            &strides,
        )
        .unwrap();
        renderer.draw(&mut canvas, Colorimetry::default(), dets, &style, None);
        if i >= 10 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    median_ms(times)
}

/// Median time per buffer through the rsoverlay element in a harness.
fn time_element(format: &str, dets: &[Detection], frames: usize) -> f64 {
    let mut h = gst_check::Harness::new("rsoverlay");
    h.set_src_caps_str(&format!(
        "video/x-raw,format={format},width={WIDTH},height={HEIGHT},framerate=30/1"
    ));
    let info = gst_video::VideoInfo::builder(format.parse().unwrap(), WIDTH, HEIGHT)
        .build()
        .unwrap();
    let mut buf = gst::Buffer::with_size(info.size()).unwrap();
    {
        let b = buf.get_mut().unwrap();
        b.map_writable().unwrap().fill(90);
        detection::attach(b, dets, WIDTH, HEIGHT, 0);
    }
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames + 10 {
        let t = Instant::now();
        h.push(buf).unwrap();
        buf = h.pull().unwrap();
        if i >= 10 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    median_ms(times)
}

fn venv_python() -> PathBuf {
    if let Some(p) = std::env::var_os("RSVISION_PYTHON") {
        return PathBuf::from(p);
    }
    std::env::var_os("RSVISION_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/rsvision/venv")
        })
        .join("bin/python")
}

/// The OpenCV baseline's median ms per frame, or why it could not run.
fn time_opencv(dets: &[Detection], frames: usize) -> Result<(f64, String), String> {
    let style = Style::default();
    let boxes: Vec<serde_json::Value> = dets
        .iter()
        .map(|d| {
            serde_json::json!([
                d.x,
                d.y,
                d.width,
                d.height,
                d.label,
                d.confidence,
                style.colors.color(d)
            ])
        })
        .collect();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/overlay_opencv.py");
    let out = std::process::Command::new(venv_python())
        .arg(script)
        .args([WIDTH.to_string(), HEIGHT.to_string(), frames.to_string()])
        .arg(serde_json::Value::Array(boxes).to_string())
        .output()
        .map_err(|e| format!("cannot run the venv's python: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    Ok((
        v["median_ms"].as_f64().ok_or("no median_ms")?,
        v["opencv"].as_str().unwrap_or("?").to_string(),
    ))
}

fn main() {
    gst::init().unwrap();
    gstrsvision::plugin_register_static().unwrap();
    let frames = env_usize("BENCH_FRAMES", 1000);
    let n = env_usize("BENCH_BOXES", 50);
    let dets = boxes(n);
    println!("{WIDTH}x{HEIGHT}, {n} labelled boxes (line width 2, font 16 px), median of {frames} frames, one thread");

    let r_i420 = time_renderer(PixelFormat::I420, &dets, frames);
    let r_rgba = time_renderer(PixelFormat::Rgba, &dets, frames);
    let e_i420 = time_element("I420", &dets, frames);
    let e_rgba = time_element("RGBA", &dets, frames);
    println!("rsoverlay drawing      I420 {r_i420:7.3} ms   RGBA {r_rgba:7.3} ms");
    println!("rsoverlay element      I420 {e_i420:7.3} ms   RGBA {e_rgba:7.3} ms   (metas read, frame mapped, drawn)");
    match time_opencv(&dets, frames) {
        Ok((cv, version)) => {
            println!("OpenCV {version:<8} BGR  {cv:7.3} ms   (cv2.rectangle + cv2.putText)");
            println!(
                "ratio OpenCV / rsoverlay element: I420 {:.2}x, RGBA {:.2}x (above 1: rsoverlay is faster)",
                cv / e_i420,
                cv / e_rgba
            );
        }
        Err(e) => println!("OpenCV baseline skipped: {e} (run scripts/setup.sh --test)"),
    }
}
