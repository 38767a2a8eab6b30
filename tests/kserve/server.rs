//! A real KServe v2 server for tests and benchmarks: `pipelines/kserve-serve-onnx.py` (the
//! `kserve` PyPI package + onnxruntime) on 127.0.0.1, REST and gRPC on free ports, killed on
//! drop (also when a test fails). Included with `#[path]` by tests/ovms.rs and benches/ovms.rs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// The Python of the kserve venv made by scripts/setup.sh.
pub fn kserve_python() -> PathBuf {
    if let Some(p) = std::env::var_os("RSVISION_KSERVE_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = std::env::var_os("RSVISION_KSERVE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/rsvision/kserve-venv")
        });
    let p = venv.join("bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh first (it makes the kserve venv)",
        p.display()
    );
    p
}

/// A port nobody listens on now, from a range derived from the process id (other engineers'
/// tests run on this machine too).
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 30000 + (std::process::id() % 1500) as u16 * 20;
    loop {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % 20;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

pub struct KserveServer {
    child: Option<Child>,
    pub http_port: u16,
    pub grpc_port: u16,
    models: Vec<(String, PathBuf)>,
    /// More command-line arguments (e.g. `--ssl_certfile`), and whether REST is HTTPS.
    args: Vec<String>,
    tls: bool,
    log: PathBuf,
}

impl KserveServer {
    /// Starts the server with `models` (name, ONNX path) and waits until it is ready.
    pub fn start(models: &[(&str, &Path)]) -> KserveServer {
        Self::start_with(models, &[], false)
    }

    /// Starts the server with more arguments; `tls`: REST is HTTPS (kserve's
    /// `--ssl_certfile`/`--ssl_keyfile`), so readiness is checked by connecting only.
    pub fn start_with(models: &[(&str, &Path)], args: &[String], tls: bool) -> KserveServer {
        let mut s = KserveServer {
            args: args.to_vec(),
            tls,
            child: None,
            http_port: free_port(),
            grpc_port: free_port(),
            models: models
                .iter()
                .map(|(n, p)| (n.to_string(), p.to_path_buf()))
                .collect(),
            log: std::env::temp_dir().join(format!(
                "rsvision-kserve-{}-{}.log",
                std::process::id(),
                free_port()
            )),
        };
        s.restart();
        s
    }

    pub fn grpc_url(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.grpc_port)
    }

    pub fn http_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.http_port)
    }

    /// Starts the process again on the same ports (after `kill`).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pipelines/kserve-serve-onnx.py");
        let mut cmd = Command::new(kserve_python());
        cmd.arg(script)
            .arg("--http_port")
            .arg(self.http_port.to_string())
            .arg("--grpc_port")
            .arg(self.grpc_port.to_string());
        for (name, path) in &self.models {
            cmd.arg("--model").arg(format!("{name}={}", path.display()));
        }
        cmd.args(&self.args);
        let log = std::fs::File::create(&self.log).unwrap();
        cmd.stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        self.child = Some(cmd.spawn().expect("start the kserve server"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the kserve server exited ({status}): {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            let http_ready = if self.tls {
                TcpStream::connect(("127.0.0.1", self.http_port)).is_ok()
            } else {
                http_get(self.http_port, "/v2/health/ready").is_some_and(|r| r.contains("200 OK"))
            };
            if http_ready && TcpStream::connect(("127.0.0.1", self.grpc_port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the kserve server is not ready after 60 s: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open, nothing
    /// answers, as with an overloaded or hung server.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .arg(if frozen { "-STOP" } else { "-CONT" })
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Kills the server at once (SIGKILL: a crash, not a graceful stop).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for KserveServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A bare HTTP/1.0 GET; the whole answer, or None when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}
