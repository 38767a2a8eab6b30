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

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::Offset;

/// What the consumer thread reports back to the element.
pub enum Event {
    /// A message payload from the topic.
    Payload(Vec<u8>),
    /// Partitions were assigned: commands produced from now on will be seen.
    Ready(String),
    /// A Kafka error (the consumer keeps going).
    Error(String),
}

/// `host;port[;topic]` as DeepStream writes it; `host:port` and comma-separated brokers are
/// accepted too. Returns the bootstrap servers and the topic if one was given.
pub fn parse_conn_str(s: &str) -> Result<(String, Option<String>), String> {
    let parts: Vec<&str> = s.split(';').map(str::trim).collect();
    let (servers, topic) = match parts.as_slice() {
        [hp] if hp.contains(':') => (hp.to_string(), None),
        [h, p] => (format!("{h}:{p}"), None),
        [h, p, t] => (
            format!("{h}:{p}"),
            Some(t.to_string()).filter(|t| !t.is_empty()),
        ),
        _ => {
            return Err(format!(
                "conn-str {s:?} is not \"host;port\" or \"host;port;topic\""
            ))
        }
    };
    for hp in servers.split(',') {
        let (h, p) = hp
            .rsplit_once(':')
            .ok_or_else(|| format!("conn-str {s:?}: {hp:?} has no port"))?;
        if h.is_empty() || p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("conn-str {s:?}: {hp:?} is not host and port"));
        }
    }
    Ok((servers, topic))
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
    pub fn start(
        servers: &str,
        topic: &str,
        group_id: &str,
        proto_cfg: Option<&str>,
        on_event: impl Fn(Event) + Send + 'static,
    ) -> Result<Self, String> {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", servers)
            .set("group.id", group_id)
            .set("enable.auto.commit", "true")
            .set("auto.offset.reset", "latest")
            .set("enable.partition.eof", "false")
            .set("session.timeout.ms", "10000");
        for kv in proto_cfg.unwrap_or("").split(';').map(str::trim) {
            if kv.is_empty() {
                continue;
            }
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("proto-cfg entry {kv:?} is not key=value"))?;
            cfg.set(k.trim(), v.trim());
        }
        let consumer: BaseConsumer = cfg
            .create()
            .map_err(|e| format!("cannot create the Kafka consumer: {e}"))?;
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
                            let e = e.to_string();
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

    #[test]
    fn conn_str() {
        assert_eq!(
            parse_conn_str("localhost;9092").unwrap(),
            ("localhost:9092".into(), None)
        );
        assert_eq!(
            parse_conn_str("10.0.0.1;9092;svr").unwrap(),
            ("10.0.0.1:9092".into(), Some("svr".into()))
        );
        assert_eq!(parse_conn_str("a:1,b:2").unwrap(), ("a:1,b:2".into(), None));
        for bad in [
            "",
            "localhost",
            "localhost;x",
            "localhost;0",
            ";9092",
            "a;1;t;u",
        ] {
            assert!(parse_conn_str(bad).is_err(), "{bad}");
        }
    }
}
