//! Helpers shared by the `rsvision` program's integration tests: the program as a child
//! process with its log ([`app`]), RTSP cameras as child processes ([`camera`]), config files
//! ([`config`]), test videos ([`media`]) and reading clips back with real demuxers and
//! decoders ([`video`]). The Kafka broker is the plugin tests' own (tansu, `broker`).
//!
//! Every child process is killed when its guard is dropped (also when a test fails), every
//! wait is bounded, and servers listen on free 127.0.0.1 ports only.
#![allow(dead_code)]

pub mod app;
#[path = "../../../tests/common/broker.rs"]
pub mod broker;
pub mod camera;
pub mod config;
pub mod media;
pub mod video;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::{Duration, Instant};

/// Initialises GStreamer in the test process (for generating and reading videos) and
/// registers the plugin statically, as the program does.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstrsvision::plugin_register_static().expect("register rsvision");
    });
}

/// The repository root (the plugin crate; `app/` is beside `src/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The shipped demo model.
pub fn shapes_model() -> PathBuf {
    root().join("models/rsvision-shapes.onnx")
}

/// The shipped sample video (640x480, 30 fps, 10 s).
pub fn sample_video() -> PathBuf {
    root().join("data/sample-shapes.mp4")
}

/// A fresh directory under `target/test-tmp`, removed on drop unless `RSVISION_KEEP_TMP`
/// is set (then its path is printed, to look at the clips and logs of a failed test).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = root()
            .join("target/test-tmp")
            .join(format!("app-{name}-{}-{nanos}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A failed test keeps its directory (camera logs, config, clips) for the diagnosis.
        if std::env::var_os("RSVISION_KEEP_TMP").is_some() || std::thread::panicking() {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A 127.0.0.1 port that was free a moment ago.
pub fn free_port() -> u16 {
    broker::free_port()
}

/// Sends `signal` (`INT`, `TERM`, `KILL`, `STOP`, `CONT`) to process `pid` with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

/// Polls `f` every 50 ms until it returns `Some`, for at most `timeout`.
pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The files in `dir`, sorted (none when it does not exist).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}

/// The non-empty lines of a JSON-lines file, each parsed (panics on a line that is not
/// JSON: a torn or interleaved write).
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {l}", path.display()))
        })
        .collect()
}

/// Resident memory (kB) and thread count of process `pid`, from `/proc/PID/status`.
pub fn proc_status(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("Threads:")?))
}
