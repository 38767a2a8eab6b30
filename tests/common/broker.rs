//! A real Kafka-compatible broker for tests: `tansu` (REFERENCE.md section 7) on a free
//! 127.0.0.1 port with sqlite storage in a temporary directory, so topics and messages
//! survive [`Broker::kill`] + [`Broker::restart`]. Dropping the guard kills the process and
//! removes the directory, also when a test fails.
//!
//! The binary is `$TANSU`, else `tansu` on `PATH`, else `~/.cargo/bin/tansu` (installed by
//! scripts/setup.sh --test).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TempDir;

/// The tansu binary.
pub fn tansu_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("TANSU") {
        return PathBuf::from(p);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("tansu");
            if p.is_file() {
                return p;
            }
        }
    }
    let p = PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo/bin/tansu");
    assert!(
        p.is_file(),
        "tansu is not installed: run scripts/setup.sh --test (cargo install tansu --version 0.6.0 --features dynostore,libsql)"
    );
    p
}

/// A port that was free a moment ago (bound to 0, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running (or killed) tansu broker.
pub struct Broker {
    port: u16,
    child: Option<Child>,
    dir: TempDir,
    /// `--authentication`: clients must log in with SASL SCRAM.
    authentication: bool,
}

impl Broker {
    /// Starts a broker on a free port and waits until it accepts connections.
    pub fn start() -> Broker {
        let mut b = Broker {
            port: free_port(),
            child: None,
            dir: TempDir::new("tansu"),
            authentication: false,
        };
        b.spawn();
        b
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`, for librdkafka's `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// DeepStream's `host;port` form.
    pub fn conn_str(&self) -> String {
        format!("127.0.0.1;{}", self.port)
    }

    fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("tansu.log"))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut cmd = Command::new(tansu_binary());
            cmd.arg("broker");
            if self.authentication {
                cmd.arg("--authentication");
            }
            let child = cmd
                .args([
                    "--listener-url",
                    &self.url(),
                    "--advertised-listener-url",
                    &self.url(),
                    "--storage-engine",
                    // Relative to the working directory (tansu joins an absolute path to it).
                    "sqlite://tansu.db",
                ])
                .current_dir(self.dir.path())
                .env("RUST_LOG", "warn")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log.try_clone().unwrap())
                .spawn()
                .expect("start tansu");
            self.child = Some(child);
            if self.wait_listening(Duration::from_secs(15)) {
                return;
            }
            // Not listening: it died (address in use right after a kill) or is slow.
            self.kill();
            assert!(
                Instant::now() < deadline,
                "tansu did not start on port {}: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn wait_listening(&mut self, timeout: Duration) -> bool {
        let addr: SocketAddr = self.bootstrap().parse().unwrap();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                return false;
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Kills the broker at once (SIGKILL) and waits for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the killed broker again on the same port with the same storage.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Restarts the broker requiring SASL SCRAM authentication (users made with
    /// [`Broker::create_user`] before, kept in its storage).
    pub fn restart_with_authentication(&mut self) {
        self.kill();
        self.authentication = true;
        self.spawn();
    }

    /// Creates a SCRAM-SHA-512 user (while authentication is off).
    pub fn create_user(&self, name: &str, password: &str) {
        self.admin(&["user", "create", "--broker", &self.url(), name, password]);
    }

    /// Runs `tansu <args>` (an admin command), failing the test with its output if it fails.
    fn admin(&self, args: &[&str]) {
        let out = Command::new(tansu_binary())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run tansu {}: {e}", args.join(" ")));
        assert!(
            out.status.success(),
            "tansu {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Creates a topic (tansu does not auto-create topics).
    pub fn create_topic(&self, name: &str, partitions: u32) {
        self.admin(&[
            "topic",
            "create",
            "--broker",
            &self.url(),
            "--partitions",
            &partitions.to_string(),
            name,
        ]);
    }

    /// An rdkafka producer for this broker.
    pub fn producer(&self) -> rdkafka::producer::BaseProducer {
        self.producer_with(&[])
    }

    /// [`Broker::producer`] with extra librdkafka settings (e.g. SASL credentials).
    pub fn producer_with(&self, settings: &[(&str, &str)]) -> rdkafka::producer::BaseProducer {
        client_config(&self.bootstrap(), settings)
            .set("message.timeout.ms", "10000")
            .create()
            .expect("producer")
    }

    /// The broker's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `bootstrap.servers` and `settings`.
fn client_config(bootstrap: &str, settings: &[(&str, &str)]) -> rdkafka::ClientConfig {
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (k, v) in settings {
        config.set(*k, *v);
    }
    config
}

/// Sends one message and waits for the broker's acknowledgement.
pub fn produce(producer: &rdkafka::producer::BaseProducer, topic: &str, key: &str, payload: &str) {
    use rdkafka::producer::{BaseRecord, Producer};
    producer
        .send(BaseRecord::to(topic).key(key).payload(payload))
        .map_err(|(e, _)| e)
        .expect("enqueue");
    producer
        .flush(Duration::from_secs(10))
        .expect("the broker acknowledges");
}

/// A consumed message.
#[derive(Debug, Clone)]
pub struct Received {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: String,
}

/// Reads every partition of `topic` from the beginning with a plain rdkafka consumer
/// (assigned partitions, no consumer group) until `expected` messages arrived or `timeout`
/// passed, then reads `linger` longer to catch extra (duplicate) messages.
pub fn consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    expected: usize,
    timeout: Duration,
    linger: Duration,
) -> Vec<Received> {
    consume_with(bootstrap, &[], topic, partitions, expected, timeout, linger)
}

/// [`consume`] with extra librdkafka settings (e.g. SASL credentials).
pub fn consume_with(
    bootstrap: &str,
    settings: &[(&str, &str)],
    topic: &str,
    partitions: i32,
    expected: usize,
    timeout: Duration,
    linger: Duration,
) -> Vec<Received> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Message, Offset, TopicPartitionList};

    let consumer: BaseConsumer = client_config(bootstrap, settings)
        .set("group.id", format!("rsvision-test-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    {
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&tpl).expect("assign");
        // The list is dropped before the consumer (REFERENCE.md 7: the other order hangs).
    }
    let mut out = Vec::new();
    let start = Instant::now();
    let mut done_at: Option<Instant> = None;
    loop {
        if let Some(t) = done_at {
            if t.elapsed() >= linger {
                break;
            }
        } else if start.elapsed() >= timeout {
            break;
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                out.push(Received {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    payload: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                });
                if out.len() >= expected && done_at.is_none() {
                    done_at = Some(Instant::now());
                }
            }
            Some(Err(e)) => eprintln!("consumer: {e}"),
            None => {}
        }
    }
    out
}
