//! A real Kafka-compatible broker for the tests: `tansu` (REFERENCE.md section 7) on
//! 127.0.0.1 with sqlite storage in a temporary directory, on a port derived from the
//! process id, stopped (SIGKILL) on drop. Written to be swapped for the shared
//! `tests/common/broker.rs` once it is merged.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::common::TempDir;

/// The tansu binary: `$RSVISION_TANSU`, else `~/.cargo/bin/tansu`, else `tansu` on PATH.
pub fn tansu() -> PathBuf {
    if let Some(p) = std::env::var_os("RSVISION_TANSU") {
        return PathBuf::from(p);
    }
    let home = PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo/bin/tansu");
    if home.exists() {
        return home;
    }
    PathBuf::from("tansu")
}

/// A free port in 30000..60000 starting from one derived from the process id.
fn free_port() -> u16 {
    let start = 30_000 + (std::process::id() * 7919 % 30_000) as u16;
    (0..30_000u16)
        .map(|i| 30_000 + (start - 30_000 + i) % 30_000)
        .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port")
}

pub struct Broker {
    child: Child,
    pub port: u16,
    _dir: TempDir,
}

fn spawn(dir: &std::path::Path, port: u16) -> Child {
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(tansu())
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ])
        // The sqlite path is relative to the working directory.
        .args(["--storage-engine", "sqlite://tansu.db"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (scripts/setup.sh installs tansu)",
                tansu().display()
            )
        });
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "tansu did not listen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Broker {
    pub fn start() -> Broker {
        let dir = TempDir::new("tansu");
        let port = free_port();
        let child = spawn(dir.path(), port);
        Broker {
            child,
            port,
            _dir: dir,
        }
    }

    /// SIGKILLs the broker (a crash).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and storage (topics and offsets survive).
    pub fn restart(&mut self) {
        self.kill();
        // The port may linger a moment after the kill.
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpListener::bind(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "port {} stays busy", self.port);
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child = spawn(self._dir.path(), self.port);
    }

    /// `host;port` as DeepStream's conn-str.
    pub fn conn_str(&self) -> String {
        format!("127.0.0.1;{}", self.port)
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn create_topic(&self, name: &str) {
        let status = Command::new(tansu())
            .args(["topic", "create", "--broker"])
            .arg(format!("tcp://127.0.0.1:{}", self.port))
            .args(["--partitions", "1", name])
            .stdout(Stdio::null())
            .status()
            .expect("tansu topic create");
        assert!(status.success(), "tansu topic create {name}: {status}");
    }

    pub fn producer(&self) -> BaseProducer {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .set("message.timeout.ms", "10000")
            .create()
            .expect("producer")
    }
}

/// Sends one message and waits for the broker's acknowledgement.
pub fn produce(producer: &BaseProducer, topic: &str, key: &str, payload: &str) {
    producer
        .send(BaseRecord::to(topic).key(key).payload(payload))
        .map_err(|(e, _)| e)
        .expect("enqueue");
    producer
        .flush(Duration::from_secs(10))
        .expect("the broker acknowledges");
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
