//! What the web console costs: CPU of the `rsvision run` process and the frame rate of its
//! pipeline with 0, 1 and 10 MJPEG viewers, and with 10 viewers plus one that stopped
//! reading, at 640x480 and 1280x720 (one live source, the shipped detector and tracker).
//!
//! ```text
//! cargo bench -p rsvision --bench web
//! BENCH_SECONDS=20 cargo bench -p rsvision --bench web
//! ```
//!
//! Each phase runs `BENCH_SECONDS` (default 10) after a 3 s settle; CPU is the process's
//! user + system time over the phase (`/proc/PID/stat`), the frame rate the source's
//! `fps_processed` of `/api/status` averaged over the phase, viewer frames the JPEG parts
//! each viewer received. CPU per viewer = (phase CPU - 0-viewer CPU) / viewers; the first
//! viewer also pays for the encoding, which is shared by all viewers of a source.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gst::prelude::*;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

/// User + system CPU seconds of `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name in parentheses: utime is the 14th, stime the 15th.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / ticks_per_second()
}

/// A 10 s H.264 MP4 of moving shapes at `w` x `h` (made once).
fn video(w: u32, h: u32) -> PathBuf {
    let dir = root().join("target/bench-tmp");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("web-{w}x{h}.mp4"));
    if path.exists() {
        return path;
    }
    let p = gst::parse::launch(&format!(
        "videotestsrc num-buffers=300 pattern=ball ! video/x-raw,width={w},height={h},framerate=30/1 \
         ! x264enc speed-preset=ultrafast key-int-max=30 ! mp4mux ! filesink location={}",
        path.display()
    ))
    .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let bus = p.bus().unwrap();
    bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(120),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    p.set_state(gst::State::Null).unwrap();
    path
}

struct App {
    child: Child,
    url: String,
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(video: &Path, dir: &Path) -> App {
    let config = dir.join("web-bench.toml");
    std::fs::write(
        &config,
        format!(
            "[app]\nstats-interval = \"60s\"\n\n[models.shapes]\nlocation = {:?}\n\
             conf-threshold = 0.25\n\n[tracker]\n\n[web]\nlisten = \"127.0.0.1:0\"\n\n\
             [[sources]]\nid = \"cam\"\nuri = {:?}\nmode = \"live\"\nmodels = [\"shapes\"]\n",
            root()
                .join("models/rsvision-shapes.onnx")
                .display()
                .to_string(),
            format!("file:{}", video.display()),
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rsvision"))
        .arg("run")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("rsvision runs");
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut text = String::new();
        let mut sent = false;
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            if !sent {
                if let Some(i) = text.find("web: listening on ") {
                    let rest = &text[i + "web: listening on ".len()..];
                    if let Some(end) = rest.find(char::is_whitespace) {
                        let _ = tx.send(rest[..end].trim_end_matches('/').to_string());
                        sent = true;
                    }
                }
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("rsvision says where it listens");
    App { child, url }
}

fn get(url: &str, path: &str) -> Option<String> {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    body.split_once("\r\n\r\n").map(|(_, b)| b.to_string())
}

fn fps_processed(url: &str) -> Option<f64> {
    let body = get(url, "/api/status")?;
    // A chunked body: the JSON is between the first '{' and the last '}'.
    let json = &body[body.find('{')?..=body.rfind('}')?];
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v["sources"][0]["fps_processed"].as_f64()
}

/// A viewer reading the MJPEG stream until `stop`, counting JPEG parts.
fn viewer(url: &str, stop: Arc<AtomicBool>, parts: Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    let addr = url.trim_start_matches("http://").to_string();
    std::thread::spawn(move || {
        let Ok(mut s) = TcpStream::connect(&addr) else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let _ = write!(
            s,
            "GET /api/sources/cam/stream.mjpeg HTTP/1.1\r\nHost: {addr}\r\n\r\n"
        );
        let mut buf = vec![0u8; 1 << 16];
        let marker = b"Content-Type: image/jpeg";
        let mut tail: Vec<u8> = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    tail.extend_from_slice(&buf[..n]);
                    let mut count = 0;
                    let mut i = 0;
                    while let Some(p) = find(&tail[i..], marker) {
                        count += 1;
                        i += p + marker.len();
                    }
                    parts.fetch_add(count, Ordering::Relaxed);
                    let keep = tail.len().saturating_sub(marker.len());
                    tail.drain(..i.max(keep));
                }
                Err(_) => continue,
            }
        }
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A viewer that sends its request and never reads: its socket buffers fill up.
fn stalled(url: &str) -> TcpStream {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET /api/sources/cam/stream.mjpeg HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap();
    s
}

struct Phase {
    cpu: f64,
    fps: f64,
    frames_per_viewer: f64,
}

fn phase(app: &App, viewers: usize, stall: bool, seconds: u64) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let parts = Arc::new(AtomicU64::new(0));
    let _stalled = stall.then(|| stalled(&app.url));
    let threads: Vec<_> = (0..viewers)
        .map(|_| viewer(&app.url, stop.clone(), parts.clone()))
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let pid = app.child.id();
    let (cpu0, t0, parts0) = (
        cpu_seconds(pid),
        Instant::now(),
        parts.load(Ordering::Relaxed),
    );
    let mut fps = Vec::new();
    while t0.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(1));
        fps.extend(fps_processed(&app.url));
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = (cpu_seconds(pid) - cpu0) / secs;
    let received = (parts.load(Ordering::Relaxed) - parts0) as f64;
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    Phase {
        cpu,
        fps: fps.iter().sum::<f64>() / fps.len().max(1) as f64,
        frames_per_viewer: if viewers > 0 {
            received / viewers as f64 / secs
        } else {
            0.0
        },
    }
}

fn main() {
    gst::init().unwrap();
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = root().join("target/bench-tmp");
    std::fs::create_dir_all(&dir).unwrap();
    println!("web console: one live source, shapes detector + tracker, [web] defaults (5 fps, fit 1280x720); {seconds} s per phase");
    for (w, h) in [(640, 480), (1280, 720)] {
        let app = start(&video(w, h), &dir);
        std::thread::sleep(Duration::from_secs(3));
        let none = phase(&app, 0, false, seconds);
        println!(
            "{w}x{h}  0 viewers: cpu {:5.1} % of one core, pipeline {:5.1} fps",
            none.cpu * 100.0,
            none.fps
        );
        for (viewers, stall) in [(1, false), (10, false), (10, true)] {
            let p = phase(&app, viewers, stall, seconds);
            println!(
                "{w}x{h} {viewers:2} viewers{}: cpu {:5.1} % (+{:4.1} % per viewer), pipeline {:5.1} fps ({:.2}x the 0-viewer rate), {:.1} frames/s per viewer",
                if stall { " + 1 stalled" } else { "" },
                p.cpu * 100.0,
                (p.cpu - none.cpu) * 100.0 / viewers as f64,
                p.fps,
                p.fps / none.fps.max(1e-9),
                p.frames_per_viewer
            );
        }
    }
}
