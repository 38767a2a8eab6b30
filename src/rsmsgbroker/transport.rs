//! Where the messages go: Kafka (a librdkafka producer whose callbacks count deliveries and
//! post one warning per outage, refusal or failure run) or a JSON-lines file. The streaming
//! thread only serialises and calls [`Transport::enqueue`]; librdkafka delivers in its own
//! threads.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;

use super::imp::CAT;
use super::lines::JsonLines;
use super::stats::Counters;
use crate::kafka::{self, BrokerConfig, Endpoint};

/// librdkafka's upper limit of `queue.buffering.max.messages` and `.kbytes`.
pub(super) const RDKAFKA_QUEUE_MAX: u64 = 2_147_483_647;

/// librdkafka callbacks: count deliveries, post one warning per outage or failure run,
/// forward librdkafka's log to our debug category (with secrets scrubbed).
pub(super) struct BrokerContext {
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

pub(super) type KafkaProducer = ThreadedProducer<BrokerContext>;

/// What the transport needs from the element's settings.
pub(super) struct Options<'a> {
    /// `topic` (overrides the topic of the `conn-str`).
    pub topic: Option<&'a str>,
    /// `proto-cfg`.
    pub proto_cfg: Option<&'a str>,
    pub max_queued_messages: u64,
    pub max_queued_bytes: u64,
}

pub(super) enum Transport {
    Kafka {
        producer: KafkaProducer,
        topic: String,
        max_queued_messages: u64,
        max_queued_bytes: u64,
    },
    /// A JSON-lines file, written one frame (or event) at a time.
    File(JsonLines),
}

impl Transport {
    /// Opens the file or creates the Kafka producer of `endpoint` (never waits for a
    /// broker: the producer connects in the background).
    pub(super) fn open(
        element: &super::RsMsgBroker,
        endpoint: Endpoint,
        options: &Options<'_>,
        broker_cfg: &BrokerConfig,
        counters: &Arc<Counters>,
    ) -> Result<Transport, gst::ErrorMessage> {
        match endpoint {
            Endpoint::File(path) => {
                let file = JsonLines::open(path.clone()).map_err(|e| {
                    gst::error_msg!(
                        gst::ResourceError::OpenWrite,
                        ("Could not open {} for appending: {}", path.display(), e)
                    )
                })?;
                gst::info!(
                    CAT,
                    obj = element,
                    "Appending JSON lines to {}",
                    path.display()
                );
                Ok(Transport::File(file))
            }
            Endpoint::Kafka {
                bootstrap_servers,
                topic,
            } => {
                let topic = options
                    .topic
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .or(topic)
                    .ok_or_else(|| {
                        gst::error_msg!(
                            gst::ResourceError::Settings,
                            ("No Kafka topic: set topic or use conn-str host;port;topic")
                        )
                    })?;
                let user =
                    kafka::parse_proto_cfg(options.proto_cfg.unwrap_or("")).map_err(|e| {
                        gst::error_msg!(gst::ResourceError::Settings, ("Invalid proto-cfg: {}", e))
                    })?;
                let name = element.name();
                let defaults = [
                    ("client.id", format!("rsvision-{name}")),
                    // No expiry: during an outage messages wait for the broker, bounded by
                    // our own max-queued-messages/-bytes (checked before each enqueue).
                    ("message.timeout.ms", "0".to_string()),
                    (
                        "queue.buffering.max.messages",
                        options
                            .max_queued_messages
                            .min(RDKAFKA_QUEUE_MAX)
                            .to_string(),
                    ),
                    (
                        "queue.buffering.max.kbytes",
                        (options.max_queued_bytes.div_ceil(1024) + 1024)
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
                    obj = element,
                    "Kafka {bootstrap_servers} topic {topic}, settings: {}",
                    kafka::redacted(&all)
                );
                let context = BrokerContext {
                    counters: counters.clone(),
                    element: element.downgrade(),
                    settings: all.clone(),
                    bootstrap: bootstrap_servers.clone(),
                    max_queued: (options.max_queued_messages, options.max_queued_bytes),
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
                Ok(Transport::Kafka {
                    producer,
                    topic,
                    max_queued_messages: options.max_queued_messages,
                    max_queued_bytes: options.max_queued_bytes,
                })
            }
        }
    }

    /// Enqueues one message; returns a warning to post when it was dropped or refused.
    pub(super) fn enqueue(
        &mut self,
        counters: &Counters,
        payload: &str,
        key: Option<&str>,
    ) -> Option<String> {
        let c = counters;
        match self {
            // Counted delivered (or failed) when the frame's batch is written.
            Transport::File(file) => file.push(c, payload),
            Transport::Kafka {
                producer,
                topic,
                max_queued_messages,
                max_queued_bytes,
            } => {
                let bytes = (payload.len() + key.map_or(0, |k| k.len())) as u64;
                let queued = c.queued.load(Ordering::SeqCst);
                let queued_bytes = c.queued_bytes.load(Ordering::SeqCst);
                if queued >= *max_queued_messages || queued_bytes + bytes > *max_queued_bytes {
                    c.dropped.fetch_add(1, Ordering::SeqCst);
                    if !c.drop_warned.swap(true, Ordering::SeqCst) {
                        return Some(format!(
                            "Kafka queue full ({queued} messages, {queued_bytes} bytes; max-queued-messages={}, max-queued-bytes={}): dropping messages until the broker catches up (counted in stats)",
                            max_queued_messages, max_queued_bytes
                        ));
                    }
                    return None;
                }
                c.queued.fetch_add(1, Ordering::SeqCst);
                c.queued_bytes.fetch_add(bytes, Ordering::SeqCst);
                let mut record =
                    BaseRecord::with_opaque_to(topic.as_str(), bytes as usize).payload(payload);
                if let Some(k) = key {
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

    /// Ends a frame's (or an event's) messages: writes the file's batch of lines at once
    /// (Kafka: nothing to do). Returns a warning to post on a failed write.
    pub(super) fn end_batch(&mut self, counters: &Counters) -> Option<String> {
        match self {
            Transport::File(file) => file.write(counters),
            Transport::Kafka { .. } => None,
        }
    }

    /// A handle on the Kafka producer, for flushing without holding the state lock.
    pub(super) fn producer(&self) -> Option<KafkaProducer> {
        match self {
            Transport::Kafka { producer, .. } => Some(producer.clone()),
            Transport::File(_) => None,
        }
    }

    /// Closes the transport at stop: writes what the file's batch holds, or waits up to
    /// `timeout` for queued Kafka messages (unless the EOS flush `flushed` them already) and
    /// destroys the producer. Posts a warning for what could not be written or delivered.
    pub(super) fn close(
        self,
        element: &super::RsMsgBroker,
        counters: &Counters,
        timeout: Duration,
        flushed: bool,
    ) {
        match self {
            Transport::File(mut file) => {
                if let Some(w) = file.write(counters) {
                    gst::element_warning!(element, gst::ResourceError::Write, ("{}", w));
                }
                gst::debug!(CAT, obj = element, "Closing {}", file.path().display());
            }
            Transport::Kafka { producer, .. } => {
                let left = if flushed {
                    counters.queued.load(Ordering::SeqCst)
                } else {
                    flush(element, counters, Some(&producer), timeout)
                };
                counters.stopping.store(true, Ordering::SeqCst);
                if left > 0 {
                    gst::element_warning!(
                        element,
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
    }
}

/// Waits up to `timeout` for queued messages; returns how many are still undelivered.
pub(super) fn flush(
    element: &super::RsMsgBroker,
    counters: &Counters,
    producer: Option<&KafkaProducer>,
    timeout: Duration,
) -> u64 {
    if let Some(p) = producer {
        if counters.queued.load(Ordering::SeqCst) > 0 {
            gst::debug!(CAT, obj = element, "Flushing for up to {timeout:?}");
            let _ = p.flush(timeout);
        }
    }
    counters.queued.load(Ordering::SeqCst)
}
