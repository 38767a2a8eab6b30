//! An RTSP camera as a separate process (`pipelines/rtsp-serve-file.py FILE --port P
//! --loop`, Python with the Debian GObject bindings), so a test can kill it, freeze it
//! (SIGSTOP/SIGCONT) and start it again on the same port. Killed on drop.
//!
//! The interpreter is `$RSVISION_TEST_PYTHON`, else `/usr/bin/python3` (where Debian's
//! `python3-gi` lives), else `python3`.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("RSVISION_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let debian = PathBuf::from("/usr/bin/python3");
    if debian.is_file() {
        debian
    } else {
        PathBuf::from("python3")
    }
}

pub struct Camera {
    file: PathBuf,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
    frozen: bool,
}

impl Camera {
    /// A camera serving `file` (looped) on a free port, listening when this returns.
    /// Its log goes to `dir/camera-PORT.log`.
    pub fn start(file: &Path, dir: &Path) -> Camera {
        let mut c = Camera::absent(file, dir);
        c.spawn();
        c
    }

    /// A camera on a free port that is not started yet ([`Camera::spawn`] starts it).
    pub fn absent(file: &Path, dir: &Path) -> Camera {
        assert!(file.is_file(), "{} is missing", file.display());
        let port = super::free_port();
        Camera {
            file: file.to_path_buf(),
            port,
            log: dir.join(format!("camera-{port}.log")),
            child: None,
            frozen: false,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `rtsp://127.0.0.1:PORT/test`.
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/test", self.port)
    }

    /// The server process id (while running).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server (again) on its port and waits until it accepts connections. A
    /// port still held right after a kill is retried for up to 20 s.
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "camera already running");
        let script = super::root().join("pipelines/rtsp-serve-file.py");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
                .unwrap();
            let mut child = Command::new(python())
                .arg(&script)
                .arg(&self.file)
                .args(["--address", "127.0.0.1", "--port"])
                .arg(self.port.to_string())
                .arg("--loop")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", script.display()));
            // It prints its URL once it listens.
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            let ready = rx
                .recv_timeout(Duration::from_secs(15))
                .map(|l| l.starts_with("rtsp://"))
                .unwrap_or(false);
            if ready && self.accepts(Duration::from_secs(5)) {
                self.child = Some(child);
                self.frozen = false;
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(
                Instant::now() < deadline,
                "the RTSP server did not start on port {}: {}",
                self.port,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn accepts(&self, timeout: Duration) -> bool {
        let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().unwrap();
        super::poll(timeout, || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200))
                .ok()
                .map(|_| ())
        })
        .is_some()
    }

    /// Kills the server at once (SIGKILL, also when frozen) and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.frozen = false;
    }

    /// [`Camera::kill`] then [`Camera::spawn`] on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Freezes the server (SIGSTOP): its connections stay open, nothing is sent.
    pub fn freeze(&mut self) {
        let pid = self.pid().expect("camera running");
        super::send_signal(pid, "STOP");
        self.frozen = true;
    }

    /// Lets a frozen server go on (SIGCONT).
    pub fn thaw(&mut self) {
        let pid = self.pid().expect("camera running");
        super::send_signal(pid, "CONT");
        self.frozen = false;
    }

    /// The server's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.kill();
    }
}
