/**
 * element-rsmsgbroker:
 *
 * Publishes the detections on each frame (the `GstVideoRegionOfInterestMeta` layout of
 * [`crate::detection`], as `rsinfer` or DL Streamer's `gvadetect` write it) as DeepStream
 * schema JSON to Kafka, or to a JSON-lines file. A pass-through element: buffers are never
 * modified, copied or delayed, so it sits inline (`rsinfer ! rsmsgbroker ! rsoverlay`) or
 * at the end of a `tee` branch (with its source pad unlinked it consumes the buffers; the
 * pipeline's EOS then comes from the other branches' sinks). It replaces DeepStream's `nvmsgconv ! nvmsgbroker` pair:
 * the same payloads, configuration files and `conn-str`/`proto-cfg` syntax.
 *
 * Payloads (`payload-type`): `deepstream` (full schema, one message per object) and
 * `deepstream-minimal` (one message per frame with objects), every `frame-interval`-th
 * frame (default 30 as DeepStream, 1 = every frame). Bounding boxes are integers in
 * source-frame pixels; `@timestamp` is the frame's capture time in UTC with milliseconds:
 * a `GstReferenceTimestampMeta` (`timestamp/x-ntp` from `rtspsrc
 * add-reference-timestamp-meta=true`, or `timestamp/x-unix`) when present, else the
 * buffer's running time on the pipeline clock mapped to wall-clock time. `object.id` is the
 * track id (`-1` when untracked). Sensor, place and analytics-module fields come from a
 * DeepStream msgconv file (`config`, groups `[sensorN]`, `[placeN]`, `[analyticsN]` with N
 * = `source-index`); `sensor-id` overrides the sensor id.
 *
 * Transport (`conn-str`): `host;port`, `host;port;topic` or `host:port[,host:port]` for
 * Kafka (`topic` overrides the topic of the `conn-str`), `file:///path/events.jsonl` to
 * append one JSON document per line. Kafka settings: `proto-cfg` (`;`-separated librdkafka
 * `key=value`, e.g. TLS and SASL), and `broker-config`, a DeepStream `cfg_kafka.txt`
 * (`[message-broker]` with `proto-cfg`, `producer-proto-cfg`, `partition-key`). The message
 * key is the JSON value at `partition-key` (default `sensor.id`; `sensorId` and `sensor.id`
 * both mean the sensor id in either schema).
 *
 * Reliability: the streaming thread only serialises and enqueues; librdkafka delivers in
 * its own threads. The pipeline starts with the broker down and keeps running at full rate
 * while it is away: messages wait (librdkafka's `message.timeout.ms` is 0, i.e. no expiry,
 * unless `proto-cfg` says otherwise) up to `max-queued-messages` / `max-queued-bytes`;
 * beyond that they are dropped and counted, with one warning per outage. The producer is
 * idempotent (`enable.idempotence=true`): retries never duplicate or reorder messages. A
 * warning is posted when all brokers become unreachable, when they refuse the credentials
 * and when deliveries fail; errors never stop the pipeline. EOS and stop wait up to
 * `flush-timeout` for queued messages, then warn
 * with the number left undelivered. The read-only `stats` property (structure
 * `rsmsgbroker-stats`) counts `frames`, `published-frames`, `enqueued`, `queued`,
 * `queued-bytes`, `delivered`, `failed` and `dropped`. Secret settings (passwords, keys)
 * never appear in logs or messages.
 *
 * ## Example launch line
 * ```text
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 ! rsmsgbroker conn-str="localhost;9092;detections" sensor-id=cam0 frame-interval=1 ! fakesink
 * ```
 *
 * Since: plugins-rs-0.1.0
 */
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::{EventType, PayloadType};
use crate::detection;
use crate::kafka::{self, BrokerConfig, Endpoint};
use crate::msgconv::{Frame, KeyPath, MsgConvConfig, Object, PayloadBuilder};
use crate::video;

// Lock order: `settings` and `state` are never held together (settings are copied and the
// lock released first). `counters` are atomics. No lock is held while posting a message or
// forwarding an event; librdkafka callbacks take no lock of ours.

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rsmsgbroker",
        gst::DebugColorFlags::empty(),
        Some("rsvision DeepStream-schema message broker"),
    )
});

const DEFAULT_CONN_STR: Option<String> = None;
const DEFAULT_TOPIC: Option<String> = None;
const DEFAULT_PROTO_CFG: Option<String> = None;
const DEFAULT_CONFIG: Option<String> = None;
const DEFAULT_BROKER_CONFIG: Option<String> = None;
const DEFAULT_PAYLOAD_TYPE: PayloadType = PayloadType::DeepStream;
const DEFAULT_FRAME_INTERVAL: u32 = 30;
const DEFAULT_PARTITION_KEY: Option<String> = None;
const DEFAULT_SENSOR_ID: Option<String> = None;
const DEFAULT_SOURCE_INDEX: u32 = 0;
const DEFAULT_EVENT_TYPE: EventType = EventType::Entry;
const DEFAULT_INCLUDE_CONFIDENCE: bool = false;
const DEFAULT_MAX_QUEUED_MESSAGES: u32 = 100_000;
const DEFAULT_MAX_QUEUED_BYTES: u64 = 256 * 1024 * 1024;
const DEFAULT_FLUSH_TIMEOUT: u32 = 5000;
/// librdkafka's upper limit of `queue.buffering.max.messages` and `.kbytes`.
const RDKAFKA_QUEUE_MAX: u64 = 2_147_483_647;
/// Seconds between 1900-01-01 (NTP epoch) and 1970-01-01.
const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;

#[derive(Debug, Clone)]
struct Settings {
    conn_str: Option<String>,
    topic: Option<String>,
    proto_cfg: Option<String>,
    config: Option<String>,
    broker_config: Option<String>,
    payload_type: PayloadType,
    frame_interval: u32,
    partition_key: Option<String>,
    sensor_id: Option<String>,
    source_index: u32,
    event_type: EventType,
    include_confidence: bool,
    max_queued_messages: u32,
    max_queued_bytes: u64,
    flush_timeout: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            conn_str: DEFAULT_CONN_STR,
            topic: DEFAULT_TOPIC,
            proto_cfg: DEFAULT_PROTO_CFG,
            config: DEFAULT_CONFIG,
            broker_config: DEFAULT_BROKER_CONFIG,
            payload_type: DEFAULT_PAYLOAD_TYPE,
            frame_interval: DEFAULT_FRAME_INTERVAL,
            partition_key: DEFAULT_PARTITION_KEY,
            sensor_id: DEFAULT_SENSOR_ID,
            source_index: DEFAULT_SOURCE_INDEX,
            event_type: DEFAULT_EVENT_TYPE,
            include_confidence: DEFAULT_INCLUDE_CONFIDENCE,
            max_queued_messages: DEFAULT_MAX_QUEUED_MESSAGES,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
        }
    }
}

/// Counters shared with librdkafka's delivery callbacks (lock-free).
#[derive(Debug, Default)]
struct Counters {
    frames: AtomicU64,
    published_frames: AtomicU64,
    enqueued: AtomicU64,
    /// Messages accepted and neither delivered nor failed yet.
    queued: AtomicU64,
    queued_bytes: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    /// All brokers are unreachable (set by the error callback, cleared by a delivery).
    outage: AtomicBool,
    /// A drop warning was posted and no delivery succeeded since.
    drop_warned: AtomicBool,
    /// A delivery-failure warning was posted and no delivery succeeded since.
    failure_warned: AtomicBool,
    /// The element is stopping: purged messages are reported once, not one by one.
    stopping: AtomicBool,
    /// An authentication failure was posted and no delivery succeeded since.
    auth_warned: AtomicBool,
}

impl Counters {
    fn reset(&self) {
        for c in [
            &self.frames,
            &self.published_frames,
            &self.enqueued,
            &self.queued,
            &self.queued_bytes,
            &self.delivered,
            &self.failed,
            &self.dropped,
        ] {
            c.store(0, Ordering::SeqCst);
        }
        for f in [
            &self.outage,
            &self.drop_warned,
            &self.failure_warned,
            &self.stopping,
            &self.auth_warned,
        ] {
            f.store(false, Ordering::SeqCst);
        }
    }

    fn release(&self, bytes: u64) {
        self.queued.fetch_sub(1, Ordering::SeqCst);
        self.queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
    }

    fn structure(&self) -> gst::Structure {
        let g = |c: &AtomicU64| c.load(Ordering::SeqCst);
        gst::Structure::builder("rsmsgbroker-stats")
            .field("frames", g(&self.frames))
            .field("published-frames", g(&self.published_frames))
            .field("enqueued", g(&self.enqueued))
            .field("queued", g(&self.queued))
            .field("queued-bytes", g(&self.queued_bytes))
            .field("delivered", g(&self.delivered))
            .field("failed", g(&self.failed))
            .field("dropped", g(&self.dropped))
            .build()
    }
}

/// librdkafka callbacks: count deliveries, post one warning per outage or failure run,
/// forward librdkafka's log to our debug category (with secrets scrubbed).
struct BrokerContext {
    counters: Arc<Counters>,
    element: glib::WeakRef<super::RsMsgBroker>,
    settings: Vec<(String, String)>,
    bootstrap: String,
    /// max-queued-messages, max-queued-bytes (for the outage warning).
    max_queued: (u64, u64),
}

impl ClientContext for BrokerContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let msg = kafka::scrub(log_message, &self.settings);
        let Some(element) = self.element.upgrade() else {
            return;
        };
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
            | RDKafkaLogLevel::Warning => {
                gst::warning!(CAT, obj = element, "librdkafka {fac}: {msg}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                gst::info!(CAT, obj = element, "librdkafka {fac}: {msg}")
            }
            RDKafkaLogLevel::Debug => {
                gst::debug!(CAT, obj = element, "librdkafka {fac}: {msg}")
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let reason = kafka::scrub(reason, &self.settings);
        let Some(element) = self.element.upgrade() else {
            return;
        };
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::AllBrokersDown) => {
                if !self.counters.outage.swap(true, Ordering::SeqCst) {
                    gst::element_warning!(
                        element,
                        gst::ResourceError::Write,
                        (
                            "Kafka broker {} unreachable: messages are kept (up to {} messages, {} bytes) and delivered when it returns",
                            self.bootstrap,
                            self.max_queued.0,
                            self.max_queued.1
                        ),
                        ["{reason}"]
                    );
                }
            }
            Some(RDKafkaErrorCode::Authentication) => {
                if !self.counters.auth_warned.swap(true, Ordering::SeqCst) {
                    gst::element_warning!(
                        element,
                        gst::ResourceError::NotAuthorized,
                        (
                            "Kafka broker {} refused our credentials: messages are kept until it accepts them",
                            self.bootstrap
                        ),
                        ["{reason}"]
                    );
                }
            }
            Some(RDKafkaErrorCode::Fatal) => {
                gst::element_warning!(
                    element,
                    gst::ResourceError::Write,
                    ("Kafka producer failed fatally: {}", reason),
                    ["{error}"]
                );
            }
            _ => gst::debug!(CAT, obj = element, "librdkafka error: {error}: {reason}"),
        }
    }
}

impl ProducerContext for BrokerContext {
    /// Size of the message (payload + key) in bytes.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, bytes: usize) {
        let c = &self.counters;
        c.release(bytes as u64);
        match result {
            Ok(_) => {
                c.delivered.fetch_add(1, Ordering::SeqCst);
                c.failure_warned.store(false, Ordering::SeqCst);
                c.drop_warned.store(false, Ordering::SeqCst);
                c.auth_warned.store(false, Ordering::SeqCst);
                if c.outage.swap(false, Ordering::SeqCst) {
                    if let Some(element) = self.element.upgrade() {
                        gst::info!(
                            CAT,
                            obj = element,
                            "Kafka broker {} is back",
                            self.bootstrap
                        );
                        gst::element_info!(
                            element,
                            gst::ResourceError::Write,
                            (
                                "Kafka broker {} reachable again: delivering queued messages",
                                self.bootstrap
                            )
                        );
                    }
                }
            }
            Err((err, _)) => {
                c.failed.fetch_add(1, Ordering::SeqCst);
                if c.stopping.load(Ordering::SeqCst) {
                    return;
                }
                if !c.failure_warned.swap(true, Ordering::SeqCst) {
                    if let Some(element) = self.element.upgrade() {
                        gst::element_warning!(
                            element,
                            gst::ResourceError::Write,
                            (
                                "Kafka delivery failed: {} (further failures are counted in stats)",
                                err
                            )
                        );
                    }
                }
            }
        }
    }
}

type KafkaProducer = ThreadedProducer<BrokerContext>;

enum Transport {
    Kafka {
        producer: KafkaProducer,
        topic: String,
    },
    File {
        path: PathBuf,
        writer: std::io::BufWriter<std::fs::File>,
        failed_once: bool,
    },
}

struct State {
    transport: Transport,
    builder: PayloadBuilder,
    key: KeyPath,
    /// `partition-key` as the user wrote it (for messages).
    key_path: String,
    payload_type: PayloadType,
    max_queued_messages: u64,
    max_queued_bytes: u64,
    frame_width: u32,
    frame_height: u32,
    frame_number: u64,
    /// Reused serialisation buffer.
    payload: String,
    /// The partition key path was not found in a message (warned once).
    key_missing_warned: bool,
    /// The EOS flush already ran.
    flushed: bool,
}

#[derive(Default)]
pub struct RsMsgBroker {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    counters: Arc<Counters>,
}

/// Something to post once the state lock is released.
enum Post {
    Warning(String),
}

impl RsMsgBroker {
    /// The frame's capture time in Unix milliseconds.
    fn capture_time_ms(&self, buf: &gst::BufferRef) -> i64 {
        for meta in buf.iter_meta::<gst::ReferenceTimestampMeta>() {
            let Some(s) = meta.reference().structure(0) else {
                continue;
            };
            let ts = meta.timestamp().nseconds();
            match s.name().as_str() {
                "timestamp/x-unix" => return (ts / 1_000_000) as i64,
                "timestamp/x-ntp" => {
                    return (ts / 1_000_000) as i64 - (NTP_UNIX_OFFSET_S * 1000) as i64
                }
                _ => {}
            }
        }
        let now_wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        let obj = self.obj();
        // The base time is only valid in PLAYING (frames of a preroll are "now").
        if obj.current_state() != gst::State::Playing {
            return now_wall / 1_000_000;
        }
        let (Some(clock), Some(base_time)) = (obj.clock(), obj.base_time()) else {
            return now_wall / 1_000_000;
        };
        let segment = obj.segment();
        let running = segment
            .downcast_ref::<gst::ClockTime>()
            .and_then(|seg| seg.to_running_time(buf.pts()));
        let Some(running) = running else {
            return now_wall / 1_000_000;
        };
        let frame_clock = (base_time + running).nseconds() as i64;
        let now_clock = clock.time().nseconds() as i64;
        (now_wall - (now_clock - frame_clock)) / 1_000_000
    }

    fn post(&self, posts: Vec<Post>) {
        for p in posts {
            match p {
                Post::Warning(msg) => {
                    gst::element_imp_warning!(self, gst::ResourceError::Write, ("{}", msg))
                }
            }
        }
    }

    /// Enqueues one message; returns a warning to post when it was dropped or refused.
    fn enqueue(&self, state: &mut State, key: Option<String>) -> Option<String> {
        let c = &self.counters;
        match &mut state.transport {
            Transport::File {
                path,
                writer,
                failed_once,
            } => {
                let res = writer
                    .write_all(state.payload.as_bytes())
                    .and_then(|_| writer.write_all(b"\n"));
                match res {
                    Ok(()) => {
                        c.enqueued.fetch_add(1, Ordering::SeqCst);
                        c.delivered.fetch_add(1, Ordering::SeqCst);
                        None
                    }
                    Err(e) => {
                        c.failed.fetch_add(1, Ordering::SeqCst);
                        if !*failed_once {
                            *failed_once = true;
                            Some(format!(
                                "Could not write to {}: {} (further failures are counted in stats)",
                                path.display(),
                                e
                            ))
                        } else {
                            None
                        }
                    }
                }
            }
            Transport::Kafka { producer, topic } => {
                let bytes = (state.payload.len() + key.as_ref().map_or(0, |k| k.len())) as u64;
                let queued = c.queued.load(Ordering::SeqCst);
                let queued_bytes = c.queued_bytes.load(Ordering::SeqCst);
                if queued >= state.max_queued_messages
                    || queued_bytes + bytes > state.max_queued_bytes
                {
                    c.dropped.fetch_add(1, Ordering::SeqCst);
                    if !c.drop_warned.swap(true, Ordering::SeqCst) {
                        return Some(format!(
                            "Kafka queue full ({queued} messages, {queued_bytes} bytes; max-queued-messages={}, max-queued-bytes={}): dropping messages until the broker catches up (counted in stats)",
                            state.max_queued_messages, state.max_queued_bytes
                        ));
                    }
                    return None;
                }
                c.queued.fetch_add(1, Ordering::SeqCst);
                c.queued_bytes.fetch_add(bytes, Ordering::SeqCst);
                let mut record = BaseRecord::with_opaque_to(topic.as_str(), bytes as usize)
                    .payload(state.payload.as_str());
                if let Some(k) = key.as_deref() {
                    record = record.key(k);
                }
                match producer.send(record) {
                    Ok(()) => {
                        c.enqueued.fetch_add(1, Ordering::SeqCst);
                        None
                    }
                    Err((err, _)) => {
                        c.release(bytes);
                        let full = err.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull);
                        if full {
                            c.dropped.fetch_add(1, Ordering::SeqCst);
                        } else {
                            c.failed.fetch_add(1, Ordering::SeqCst);
                        }
                        let flag = if full {
                            &c.drop_warned
                        } else {
                            &c.failure_warned
                        };
                        if !flag.swap(true, Ordering::SeqCst) {
                            Some(format!(
                                "Kafka refused a message: {err} (further ones are counted in stats)"
                            ))
                        } else {
                            None
                        }
                    }
                }
            }
        }
    }

    /// Waits up to `timeout` for queued messages; returns how many are still undelivered.
    fn flush(&self, producer: Option<&KafkaProducer>, timeout: Duration) -> u64 {
        if let Some(p) = producer {
            if self.counters.queued.load(Ordering::SeqCst) > 0 {
                gst::debug!(CAT, imp = self, "Flushing for up to {timeout:?}");
                let _ = p.flush(timeout);
            }
        }
        self.counters.queued.load(Ordering::SeqCst)
    }

    fn producer_clone(&self) -> Option<KafkaProducer> {
        match self.state.lock().unwrap().as_ref().map(|s| &s.transport) {
            Some(Transport::Kafka { producer, .. }) => Some(producer.clone()),
            _ => None,
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RsMsgBroker {
    const NAME: &'static str = "GstRsMsgBroker";
    type Type = super::RsMsgBroker;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for RsMsgBroker {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("conn-str")
                    .nick("Connection string")
                    .blurb("Kafka: host;port, host;port;topic or host:port[,host:port]; file:///path/events.jsonl appends JSON lines")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("topic")
                    .nick("Topic")
                    .blurb("Kafka topic (overrides the topic of conn-str)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("proto-cfg")
                    .nick("Protocol configuration")
                    .blurb("';'-separated librdkafka key=value settings (TLS, SASL, batching), applied last; secrets are never logged")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("config")
                    .nick("Msgconv configuration file")
                    .blurb("DeepStream msgconv file with [sensorN], [placeN], [analyticsN] groups")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("broker-config")
                    .nick("Broker configuration file")
                    .blurb("DeepStream broker file ([message-broker]: proto-cfg, producer-proto-cfg, partition-key)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("payload-type", DEFAULT_PAYLOAD_TYPE)
                    .nick("Payload type")
                    .blurb("Message schema")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("frame-interval")
                    .nick("Frame interval")
                    .blurb("Publish every Nth frame (1 = every frame)")
                    .minimum(1)
                    .default_value(DEFAULT_FRAME_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("partition-key")
                    .nick("Partition key")
                    .blurb("Dotted JSON path of the message key (NULL: from broker-config, else sensor.id; empty: no key)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("sensor-id")
                    .nick("Sensor id")
                    .blurb("sensor.id / sensorId (NULL: the id of [sensorN] in config, else N)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("source-index")
                    .nick("Source index")
                    .blurb("N of the [sensorN], [placeN] and [analyticsN] groups of config to use")
                    .default_value(DEFAULT_SOURCE_INDEX)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("event-type", DEFAULT_EVENT_TYPE)
                    .nick("Event type")
                    .blurb("event.type of the full schema")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("include-confidence")
                    .nick("Include confidence")
                    .blurb("Add object.confidence (full) / |#|confidence (minimal)")
                    .default_value(DEFAULT_INCLUDE_CONFIDENCE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("max-queued-messages")
                    .nick("Max queued messages")
                    .blurb("Messages kept while the broker is slow or away; more are dropped and counted")
                    .minimum(1)
                    .maximum(RDKAFKA_QUEUE_MAX as u32)
                    .default_value(DEFAULT_MAX_QUEUED_MESSAGES)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("max-queued-bytes")
                    .nick("Max queued bytes")
                    .blurb("Bytes (payload + key) kept while the broker is slow or away; more are dropped and counted")
                    .minimum(1024)
                    .maximum(RDKAFKA_QUEUE_MAX * 1024)
                    .default_value(DEFAULT_MAX_QUEUED_BYTES)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("flush-timeout")
                    .nick("Flush timeout")
                    .blurb("Milliseconds EOS and stop wait for queued messages to be delivered")
                    .default_value(DEFAULT_FLUSH_TIMEOUT)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("rsmsgbroker-stats: frames, published-frames, enqueued, queued, queued-bytes, delivered, failed, dropped")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap();
        match pspec.name() {
            "proto-cfg" => gst::debug!(CAT, imp = self, "Setting proto-cfg (not logged)"),
            name => gst::debug!(CAT, imp = self, "Setting {name} to {value:?}"),
        }
        match pspec.name() {
            "conn-str" => s.conn_str = value.get().unwrap(),
            "topic" => s.topic = value.get().unwrap(),
            "proto-cfg" => s.proto_cfg = value.get().unwrap(),
            "config" => s.config = value.get().unwrap(),
            "broker-config" => s.broker_config = value.get().unwrap(),
            "payload-type" => s.payload_type = value.get().unwrap(),
            "frame-interval" => s.frame_interval = value.get().unwrap(),
            "partition-key" => s.partition_key = value.get().unwrap(),
            "sensor-id" => s.sensor_id = value.get().unwrap(),
            "source-index" => s.source_index = value.get().unwrap(),
            "event-type" => s.event_type = value.get().unwrap(),
            "include-confidence" => s.include_confidence = value.get().unwrap(),
            "max-queued-messages" => s.max_queued_messages = value.get().unwrap(),
            "max-queued-bytes" => s.max_queued_bytes = value.get().unwrap(),
            "flush-timeout" => s.flush_timeout = value.get().unwrap(),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "stats" {
            return self.counters.structure().to_value();
        }
        let s = self.settings.lock().unwrap();
        match pspec.name() {
            "conn-str" => s.conn_str.to_value(),
            "topic" => s.topic.to_value(),
            // Write-mostly: the value may hold secrets, but reading it back is the
            // application's own business (it set it).
            "proto-cfg" => s.proto_cfg.to_value(),
            "config" => s.config.to_value(),
            "broker-config" => s.broker_config.to_value(),
            "payload-type" => s.payload_type.to_value(),
            "frame-interval" => s.frame_interval.to_value(),
            "partition-key" => s.partition_key.to_value(),
            "sensor-id" => s.sensor_id.to_value(),
            "source-index" => s.source_index.to_value(),
            "event-type" => s.event_type.to_value(),
            "include-confidence" => s.include_confidence.to_value(),
            "max-queued-messages" => s.max_queued_messages.to_value(),
            "max-queued-bytes" => s.max_queued_bytes.to_value(),
            "flush-timeout" => s.flush_timeout.to_value(),
            _ => unimplemented!(),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        self.obj().set_passthrough(true);
    }
}

impl GstObjectImpl for RsMsgBroker {}

impl ElementImpl for RsMsgBroker {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "rsvision message broker",
                "Filter/Metadata/Network",
                "Publishes detections as DeepStream-schema JSON to Kafka or a JSON-lines file, without blocking or stopping the stream",
                "rsvision developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| video::filter_pad_templates(&gst::Caps::new_any()));
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for RsMsgBroker {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        self.counters.reset();

        // Payload fields.
        let msgconv = match settings.config.as_deref().filter(|c| !c.is_empty()) {
            Some(path) => MsgConvConfig::load(std::path::Path::new(path)).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::Settings,
                    ("Invalid msgconv config: {}", e)
                )
            })?,
            None => MsgConvConfig::default(),
        };
        let n = settings.source_index;
        let mut sensor = msgconv.sensors.get(&n).cloned().unwrap_or_default();
        if let Some(id) = settings.sensor_id.clone() {
            sensor.id = id;
        } else if sensor.id.is_empty() {
            sensor.id = n.to_string();
        }
        let builder = PayloadBuilder {
            sensor,
            place: msgconv.places.get(&n).cloned().unwrap_or_default(),
            analytics: msgconv.analytics.get(&n).cloned().unwrap_or_default(),
            event_type: settings.event_type.as_str().to_string(),
            include_confidence: settings.include_confidence,
        };

        let broker_cfg =
            BrokerConfig::load_if_set(settings.broker_config.as_deref()).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::Settings,
                    ("Invalid broker config: {}", e)
                )
            })?;
        let key_path = settings
            .partition_key
            .clone()
            .or_else(|| broker_cfg.partition_key.clone())
            .unwrap_or_else(|| "sensor.id".to_string());
        let key = KeyPath::parse(&key_path);

        let conn_str = settings.conn_str.clone().unwrap_or_default();
        let endpoint = kafka::parse_conn_str(&conn_str).map_err(|e| {
            gst::error_msg!(gst::ResourceError::Settings, ("Invalid conn-str: {}", e))
        })?;
        let transport = match endpoint {
            Endpoint::File(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| {
                        gst::error_msg!(
                            gst::ResourceError::OpenWrite,
                            ("Could not open {} for appending: {}", path.display(), e)
                        )
                    })?;
                gst::info!(
                    CAT,
                    imp = self,
                    "Appending JSON lines to {}",
                    path.display()
                );
                Transport::File {
                    path,
                    writer: std::io::BufWriter::new(file),
                    failed_once: false,
                }
            }
            Endpoint::Kafka {
                bootstrap_servers,
                topic,
            } => {
                let topic = settings
                    .topic
                    .clone()
                    .filter(|t| !t.is_empty())
                    .or(topic)
                    .ok_or_else(|| {
                        gst::error_msg!(
                            gst::ResourceError::Settings,
                            ("No Kafka topic: set topic or use conn-str host;port;topic")
                        )
                    })?;
                let user = kafka::parse_proto_cfg(settings.proto_cfg.as_deref().unwrap_or(""))
                    .map_err(|e| {
                        gst::error_msg!(gst::ResourceError::Settings, ("Invalid proto-cfg: {}", e))
                    })?;
                let name = self.obj().name();
                let defaults = [
                    ("client.id", format!("rsvision-{name}")),
                    // No expiry: during an outage messages wait for the broker, bounded by
                    // our own max-queued-messages/-bytes (checked before each enqueue).
                    ("message.timeout.ms", "0".to_string()),
                    (
                        "queue.buffering.max.messages",
                        u64::from(settings.max_queued_messages)
                            .min(RDKAFKA_QUEUE_MAX)
                            .to_string(),
                    ),
                    (
                        "queue.buffering.max.kbytes",
                        (settings.max_queued_bytes.div_ceil(1024) + 1024)
                            .min(RDKAFKA_QUEUE_MAX)
                            .to_string(),
                    ),
                    // Retries after a lost connection never duplicate or reorder messages
                    // (the Java client's default since Kafka 3.0; needs a broker >= 0.11).
                    ("enable.idempotence", "true".to_string()),
                    // Reconnect within 2 s of the broker's return (librdkafka: 10 s).
                    ("reconnect.backoff.max.ms", "2000".to_string()),
                ];
                let layers: [&[(String, String)]; 3] =
                    [&broker_cfg.proto_cfg, &broker_cfg.producer_proto_cfg, &user];
                let cfg = kafka::client_config(&bootstrap_servers, &defaults, &layers);
                let all: Vec<(String, String)> =
                    layers.iter().flat_map(|l| l.iter().cloned()).collect();
                gst::info!(
                    CAT,
                    imp = self,
                    "Kafka {bootstrap_servers} topic {topic}, settings: {}",
                    kafka::redacted(&all)
                );
                let context = BrokerContext {
                    counters: self.counters.clone(),
                    element: self.obj().downgrade(),
                    settings: all.clone(),
                    bootstrap: bootstrap_servers.clone(),
                    max_queued: (
                        u64::from(settings.max_queued_messages),
                        settings.max_queued_bytes,
                    ),
                };
                let producer: KafkaProducer = cfg.create_with_context(context).map_err(|e| {
                    gst::error_msg!(
                        gst::ResourceError::Settings,
                        (
                            "Could not create the Kafka producer: {}",
                            kafka::scrub(&e.to_string(), &all)
                        )
                    )
                })?;
                Transport::Kafka { producer, topic }
            }
        };

        *self.state.lock().unwrap() = Some(State {
            transport,
            builder,
            key,
            key_path,
            payload_type: settings.payload_type,
            max_queued_messages: u64::from(settings.max_queued_messages),
            max_queued_bytes: settings.max_queued_bytes,
            frame_width: 0,
            frame_height: 0,
            frame_number: 0,
            payload: String::with_capacity(2048),
            key_missing_warned: false,
            flushed: false,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let Some(state) = self.state.lock().unwrap().take() else {
            return Ok(());
        };
        let timeout = Duration::from_millis(u64::from(self.settings.lock().unwrap().flush_timeout));
        match state.transport {
            Transport::File {
                path, mut writer, ..
            } => {
                if let Err(e) = writer.flush() {
                    gst::element_imp_warning!(
                        self,
                        gst::ResourceError::Write,
                        ("Could not write to {}: {}", path.display(), e)
                    );
                }
            }
            Transport::Kafka { producer, .. } => {
                let left = if state.flushed {
                    self.counters.queued.load(Ordering::SeqCst)
                } else {
                    self.flush(Some(&producer), timeout)
                };
                self.counters.stopping.store(true, Ordering::SeqCst);
                if left > 0 {
                    gst::element_imp_warning!(
                        self,
                        gst::ResourceError::Write,
                        (
                            "{} Kafka messages could not be delivered within flush-timeout ({} ms) and are discarded",
                            left,
                            timeout.as_millis()
                        )
                    );
                }
                // Purges what is left (counted as failed) and joins librdkafka's threads.
                drop(producer);
            }
        }
        let stats = self.counters.structure();
        gst::info!(CAT, imp = self, "Stopped: {stats}");
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let (w, h) = incaps
            .structure(0)
            .map(|s| {
                (
                    s.get::<i32>("width").unwrap_or(0).max(0) as u32,
                    s.get::<i32>("height").unwrap_or(0).max(0) as u32,
                )
            })
            .unwrap_or((0, 0));
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            state.frame_width = w;
            state.frame_height = h;
        }
        gst::debug!(CAT, imp = self, "Frame size {w}x{h} from {incaps}");
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Eos(_) = event.view() {
            // Deliver before EOS goes downstream, so that an application seeing EOS knows
            // the events are out (bounded by flush-timeout).
            let timeout =
                Duration::from_millis(u64::from(self.settings.lock().unwrap().flush_timeout));
            if let Some(Transport::File { writer, .. }) = self
                .state
                .lock()
                .unwrap()
                .as_mut()
                .map(|s| &mut s.transport)
            {
                let _ = writer.flush();
            }
            let producer = self.producer_clone();
            if producer.is_some() {
                let left = self.flush(producer.as_ref(), timeout);
                drop(producer);
                if let Some(s) = self.state.lock().unwrap().as_mut() {
                    s.flushed = true;
                }
                if left > 0 {
                    gst::element_imp_warning!(
                        self,
                        gst::ResourceError::Write,
                        (
                            "{} Kafka messages still undelivered at EOS after flush-timeout ({} ms)",
                            left,
                            timeout.as_millis()
                        )
                    );
                } else {
                    gst::debug!(CAT, imp = self, "All messages delivered at EOS");
                }
            }
        }
        self.parent_sink_event(event)
    }

    fn generate_output(
        &self,
    ) -> Result<gst_base::subclass::base_transform::GenerateOutputSuccess, gst::FlowError> {
        let out = self.parent_generate_output()?;
        // At the end of a tee branch (source pad not linked) the element is the branch's
        // sink: the frame was published, there is nothing to push and no reason to fail.
        if matches!(
            out,
            gst_base::subclass::base_transform::GenerateOutputSuccess::Buffer(_)
        ) && !self.obj().src_pad().is_linked()
        {
            return Ok(gst_base::subclass::base_transform::GenerateOutputSuccess::NoOutput);
        }
        Ok(out)
    }

    fn transform_ip_passthrough(
        &self,
        buf: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (interval, event_type, include_confidence) = {
            let s = self.settings.lock().unwrap();
            (s.frame_interval.max(1), s.event_type, s.include_confidence)
        };
        self.counters.frames.fetch_add(1, Ordering::SeqCst);
        let mut posts = Vec::new();
        {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            let number = state.frame_number;
            state.frame_number += 1;
            if number % u64::from(interval) != 0 {
                return Ok(gst::FlowSuccess::Ok);
            }
            let detections = detection::read(buf, state.frame_width, state.frame_height);
            if detections.is_empty() {
                return Ok(gst::FlowSuccess::Ok);
            }
            let frame = Frame {
                number,
                timestamp_ms: self.capture_time_ms(buf),
            };
            state.builder.event_type = event_type.as_str().to_string();
            state.builder.include_confidence = include_confidence;
            let objects: Vec<Object> = detections
                .iter()
                .map(|d| Object::from_detection(d, state.frame_width, state.frame_height))
                .collect();
            self.counters
                .published_frames
                .fetch_add(1, Ordering::SeqCst);
            match state.payload_type {
                PayloadType::DeepStream => {
                    for obj in &objects {
                        let mut payload = std::mem::take(&mut state.payload);
                        payload.clear();
                        let message_id = uuid::Uuid::new_v4();
                        let event_id = uuid::Uuid::new_v4();
                        state.builder.write_full(
                            &mut payload,
                            &frame,
                            obj,
                            &message_id.to_string(),
                            &event_id.to_string(),
                        );
                        let key = state.key.key(&state.builder, Some(obj), &payload);
                        state.payload = payload;
                        self.check_key(state, &key, &mut posts);
                        if let Some(w) = self.enqueue(state, key) {
                            posts.push(Post::Warning(w));
                        }
                    }
                }
                PayloadType::DeepStreamMinimal => {
                    let mut payload = std::mem::take(&mut state.payload);
                    payload.clear();
                    state.builder.write_minimal(&mut payload, &frame, &objects);
                    let key = state.key.key(&state.builder, None, &payload);
                    state.payload = payload;
                    self.check_key(state, &key, &mut posts);
                    if let Some(w) = self.enqueue(state, key) {
                        posts.push(Post::Warning(w));
                    }
                }
            }
            if let Transport::File { writer, .. } = &mut state.transport {
                // One write per frame, so `tail -f` follows; local files only.
                let _ = writer.flush();
            }
        }
        self.post(posts);
        Ok(gst::FlowSuccess::Ok)
    }
}

impl RsMsgBroker {
    fn check_key(&self, state: &mut State, key: &Option<String>, posts: &mut Vec<Post>) {
        if key.is_none() && state.key != KeyPath::None && !state.key_missing_warned {
            state.key_missing_warned = true;
            posts.push(Post::Warning(format!(
                "partition-key {:?} is not in the messages: they are sent without a key",
                state.key_path
            )));
        }
    }
}
