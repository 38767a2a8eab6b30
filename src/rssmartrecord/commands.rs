//! The Kafka command consumer: a named thread owned by the element's `State`, polling with
//! a short timeout so `stop()` is prompt. It parses DeepStream cloud-to-device commands
//! ([`crate::smartrecord::command`]) and hands them to the element; librdkafka reconnects
//! by itself when the broker is away (the live stream never waits for it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the same Kafka error is reported again while it lasts.
const ERROR_REPEAT: Duration = Duration::from_secs(30);

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::Offset;

use crate::kafka;
use crate::smartrecord::command::{self, Kind};

/// What the consumer thread reports back to the element.
pub enum Event {
    /// A message payload from the topic.
    Payload(Vec<u8>),
    /// Partitions were assigned: commands produced from now on will be seen.
    Ready(String),
    /// A Kafka error (the consumer keeps going).
    Error(String),
}

/// What a command from the topic asks of the element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Record from `start_ms` (UTC ms, not after now) to `end_ms` (`None`: the default
    /// duration).
    Start {
        start_ms: i64,
        end_ms: Option<i64>,
    },
    Stop,
    /// A command for another sensor, ignored.
    OtherSensor(String),
}

/// Reads a command payload for the sensor `sensor_id` at `now_ms`, with clips of at most
/// `max_duration_ms`; `Err` is the warning to post (quoting the first 300 bytes).
pub fn request(
    payload: &[u8],
    sensor_id: &str,
    now_ms: i64,
    max_duration_ms: i64,
) -> Result<Request, String> {
    let refused = |e: command::CommandError| {
        let shown = String::from_utf8_lossy(&payload[..payload.len().min(300)]);
        format!("Ignoring a Smart Record command: {e} ({shown})")
    };
    let cmd = command::parse(payload).map_err(refused)?;
    if cmd.sensor_id != sensor_id {
        return Ok(Request::OtherSensor(cmd.sensor_id));
    }
    command::validate(&cmd, now_ms, max_duration_ms).map_err(refused)?;
    Ok(match cmd.kind {
        Kind::Start => Request::Start {
            start_ms: cmd.start_ms.map_or(now_ms, |s| s.min(now_ms)),
            end_ms: cmd.end_ms,
        },
        Kind::Stop => Request::Stop,
    })
}

/// Where and how the consumer connects, resolved from the element's properties and a
/// DeepStream broker file (pure logic, unit-tested).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub servers: String,
    pub topic: String,
    pub group_id: String,
    /// librdkafka settings in the order they apply: the file's `proto-cfg`, then its
    /// `consumer-proto-cfg`, then the `proto-cfg` property.
    pub settings: Vec<(String, String)>,
}

/// Resolves the consumer's [`Plan`]: the topic is `topic`, else the third part of
/// `conn_str`; the group is `group_id`, else the file's `consumer-group-id`, else
/// `default_group`. Errors never quote a `proto-cfg` value.
pub fn plan(
    conn_str: &str,
    topic: Option<&str>,
    group_id: Option<&str>,
    proto_cfg: Option<&str>,
    file: &kafka::BrokerConfig,
    default_group: &str,
) -> Result<Plan, String> {
    let (servers, conn_topic) = match kafka::parse_conn_str(conn_str) {
        Ok(kafka::Endpoint::Kafka {
            bootstrap_servers,
            topic,
        }) => (bootstrap_servers, topic),
        Ok(kafka::Endpoint::File(_)) => {
            return Err(format!(
                "conn-str {:?}: commands come from Kafka only (host;port[;topic])",
                conn_str.trim()
            ))
        }
        Err(e) => return Err(format!("Invalid conn-str: {e}")),
    };
    let topic = topic
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or(conn_topic)
        .ok_or("conn-str is set but no topic: set topic or use \"host;port;topic\"")?;
    let group_id = group_id
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .or_else(|| file.consumer_group_id.clone())
        .unwrap_or_else(|| default_group.to_string());
    let user =
        kafka::parse_proto_cfg(proto_cfg.unwrap_or("")).map_err(|e| format!("Invalid {e}"))?;
    let settings = [&file.proto_cfg, &file.consumer_proto_cfg, &user]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    Ok(Plan {
        servers,
        topic,
        group_id,
        settings,
    })
}

/// Once partitions are assigned, puts those without a committed offset (a new group) at
/// their end explicitly, so that "latest" means now and not whenever librdkafka first
/// fetches (a command sent right after the consumer says it is ready is never skipped).
/// Returns whether partitions are assigned.
fn start_at_end(consumer: &BaseConsumer) -> bool {
    const T: Duration = Duration::from_secs(5);
    let Ok(assignment) = consumer.assignment() else {
        return false;
    };
    if assignment.count() == 0 {
        return false;
    }
    let committed = consumer.committed_offsets(assignment.clone(), T).ok();
    for e in assignment.elements() {
        let (topic, partition) = (e.topic(), e.partition());
        let has_committed = committed
            .as_ref()
            .and_then(|c| c.find_partition(topic, partition))
            .is_some_and(|c| matches!(c.offset(), Offset::Offset(_)));
        if !has_committed {
            if let Ok((_, high)) = consumer.fetch_watermarks(topic, partition, T) {
                let _ = consumer.seek(topic, partition, Offset::Offset(high), T);
            }
        }
    }
    // The lists are dropped here, before the consumer can be (librdkafka hangs otherwise).
    drop(committed);
    drop(assignment);
    true
}

pub struct CommandConsumer {
    stop: Arc<AtomicBool>,
    done: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl CommandConsumer {
    /// Creates the consumer and starts its thread; `on_event` runs on that thread.
    /// `settings` (librdkafka `key=value`, e.g. from `proto-cfg`) are applied over our
    /// defaults; their secrets never appear in an error or event text.
    pub fn start(
        servers: &str,
        topic: &str,
        group_id: &str,
        settings: Vec<(String, String)>,
        on_event: impl Fn(Event) + Send + 'static,
    ) -> Result<Self, String> {
        let defaults = [
            ("group.id", group_id.to_string()),
            ("enable.auto.commit", "true".to_string()),
            ("auto.offset.reset", "latest".to_string()),
            ("enable.partition.eof", "false".to_string()),
            ("session.timeout.ms", "10000".to_string()),
        ];
        let cfg = kafka::client_config(servers, &defaults, &[&settings]);
        let consumer: BaseConsumer = cfg.create().map_err(|e| {
            format!(
                "cannot create the Kafka consumer: {}",
                kafka::scrub(&e.to_string(), &settings)
            )
        })?;
        consumer
            .subscribe(&[topic])
            .map_err(|e| format!("cannot subscribe to {topic:?}: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (done_tx, done) = mpsc::channel();
        let stop2 = stop.clone();
        let topic = topic.to_string();
        let thread = std::thread::Builder::new()
            .name("rssmartrecord-kafka".into())
            .spawn(move || {
                let mut ready = false;
                // Each distinct error at most once per ERROR_REPEAT (librdkafka reports
                // every reconnection attempt while a broker is away).
                let mut reported: Vec<(String, Instant)> = Vec::new();
                while !stop2.load(Ordering::Acquire) {
                    match consumer.poll(Duration::from_millis(100)) {
                        Some(Ok(m)) => {
                            reported.clear();
                            if let Some(p) = m.payload() {
                                on_event(Event::Payload(p.to_vec()));
                            }
                        }
                        Some(Err(e)) => {
                            let e = kafka::scrub(&e.to_string(), &settings);
                            reported.retain(|(_, t)| t.elapsed() < ERROR_REPEAT);
                            if !reported.iter().any(|(r, _)| *r == e) {
                                on_event(Event::Error(e.clone()));
                                reported.push((e, Instant::now()));
                            }
                        }
                        None => {}
                    }
                    if !ready && start_at_end(&consumer) {
                        ready = true;
                        on_event(Event::Ready(topic.clone()));
                    }
                }
                consumer.unsubscribe();
                drop(consumer);
                let _ = done_tx.send(());
            })
            .map_err(|e| format!("cannot start the Kafka thread: {e}"))?;
        Ok(CommandConsumer {
            stop,
            done,
            thread: Some(thread),
        })
    }

    /// Stops the thread; waits up to `timeout` (librdkafka may take a moment to leave the
    /// group), then leaves it detached.
    pub fn stop(mut self, timeout: Duration) -> bool {
        self.stop.store(true, Ordering::Release);
        let finished = self.done.recv_timeout(timeout).is_ok();
        if let Some(t) = self.thread.take() {
            if finished {
                let _ = t.join();
            }
        }
        finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn plan_from_properties() {
        let none = kafka::BrokerConfig::default();
        let p = plan(
            "10.0.0.1;9092;svr",
            None,
            None,
            None,
            &none,
            "rssmartrecord-cam",
        )
        .unwrap();
        assert_eq!(
            p,
            Plan {
                servers: "10.0.0.1:9092".into(),
                topic: "svr".into(),
                group_id: "rssmartrecord-cam".into(),
                settings: vec![],
            }
        );
        // The topic property wins over the conn-str's; an empty one is unset.
        let p = plan("a:1,b:2", Some("t"), Some("g"), Some("x=1"), &none, "d").unwrap();
        assert_eq!((p.servers.as_str(), p.topic.as_str()), ("a:1,b:2", "t"));
        assert_eq!(p.group_id, "g");
        assert_eq!(p.settings, vec![kv("x", "1")]);
        assert_eq!(
            plan("h;1;c", Some(""), Some(""), None, &none, "d")
                .unwrap()
                .topic,
            "c"
        );
        for (conn, topic) in [
            ("", Some("t")),
            ("localhost", Some("t")),
            ("localhost;0", Some("t")),
            ("a;1;t;u", None),
            ("file:///tmp/x.jsonl", Some("t")),
            ("localhost;9092", None),
        ] {
            assert!(plan(conn, topic, None, None, &none, "d").is_err(), "{conn}");
        }
        let e = plan("h;1;t", None, None, Some("a=1;hunter2"), &none, "d").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn requests_from_payloads() {
        // 2020-05-18T20:02:00.051Z = 1589832120051 ms.
        let now = 1_589_832_130_000;
        let max = 600_000;
        let start = br#"{"command":"start-recording","start":"2020-05-18T20:02:00.051Z","end":"2020-05-18T20:02:20.051Z","sensor":{"id":"cam1"}}"#;
        assert_eq!(
            request(start, "cam1", now, max),
            Ok(Request::Start {
                start_ms: 1_589_832_120_051,
                end_ms: Some(1_589_832_140_051)
            })
        );
        // A start a little in the future (clock skew) is now; no end is the default
        // duration. Now is 2020-05-18T20:02:10.000Z.
        let later = br#"{"start":"2020-05-18T20:02:15.000Z","sensor":{"id":"cam1"}}"#;
        assert_eq!(
            request(later, "cam1", now, max),
            Ok(Request::Start {
                start_ms: now,
                end_ms: None
            })
        );
        let stop = br#"{"command":"stop-recording","sensor":{"id":"cam1"}}"#;
        assert_eq!(request(stop, "cam1", now, max), Ok(Request::Stop));
        assert_eq!(
            request(stop, "cam2", now, max),
            Ok(Request::OtherSensor("cam1".into()))
        );
        let e = request(b"{not json", "cam1", now, max).unwrap_err();
        assert!(e.starts_with("Ignoring a Smart Record command: "), "{e}");
        assert!(e.ends_with("({not json)"), "{e}");
        let backwards = br#"{"start":"2020-05-18T20:02:00.051Z","end":"2020-05-18T20:01:00.000Z","sensor":{"id":"cam1"}}"#;
        assert!(request(backwards, "cam1", now, max).is_err());
    }

    /// DeepStream's broker file: its consumer group and settings, under the properties.
    #[test]
    fn plan_from_broker_file() {
        let file = kafka::BrokerConfig::parse(
            "[message-broker]\nproto-cfg = \"a=1;b=1\"\nconsumer-proto-cfg = \"b=2;c=2\"\nproducer-proto-cfg = \"p=9\"\nconsumer-group-id = ds-group\n",
        )
        .unwrap();
        let p = plan("h;1;t", None, None, Some("c=3"), &file, "d").unwrap();
        assert_eq!(p.group_id, "ds-group");
        assert_eq!(
            p.settings,
            vec![
                kv("a", "1"),
                kv("b", "1"),
                kv("b", "2"),
                kv("c", "2"),
                kv("c", "3")
            ]
        );
        let cfg = kafka::client_config(&p.servers, &[], &[&p.settings]);
        assert_eq!(cfg.get("b"), Some("2"));
        assert_eq!(cfg.get("c"), Some("3"));
        assert_eq!(cfg.get("p"), None);
        assert_eq!(
            plan("h;1;t", None, Some("mine"), None, &file, "d")
                .unwrap()
                .group_id,
            "mine"
        );
    }
}
