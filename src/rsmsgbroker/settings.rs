//! The element's settings: the defaults, the property specifications gst-inspect-1.0
//! shows, and reading and writing them by property name.

use gst::glib;
use gst::prelude::*;

use super::transport::RDKAFKA_QUEUE_MAX;
use super::{EventType, PayloadType, Publish};

const DEFAULT_CONN_STR: Option<String> = None;
const DEFAULT_TOPIC: Option<String> = None;
const DEFAULT_PROTO_CFG: Option<String> = None;
const DEFAULT_CONFIG: Option<String> = None;
const DEFAULT_BROKER_CONFIG: Option<String> = None;
const DEFAULT_PAYLOAD_TYPE: PayloadType = PayloadType::DeepStream;
const DEFAULT_PUBLISH: Publish = Publish::Frames;
const DEFAULT_FRAME_INTERVAL: u32 = 30;
const DEFAULT_PARTITION_KEY: Option<String> = None;
const DEFAULT_SENSOR_ID: Option<String> = None;
const DEFAULT_SOURCE_INDEX: u32 = 0;
const DEFAULT_EVENT_TYPE: EventType = EventType::Entry;
const DEFAULT_INCLUDE_CONFIDENCE: bool = false;
const DEFAULT_MAX_QUEUED_MESSAGES: u32 = 100_000;
const DEFAULT_MAX_QUEUED_BYTES: u64 = 256 * 1024 * 1024;
const DEFAULT_FLUSH_TIMEOUT: u32 = 5000;
const DEFAULT_PUBLISH_ANALYTICS: bool = true;

#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) conn_str: Option<String>,
    pub(super) topic: Option<String>,
    pub(super) proto_cfg: Option<String>,
    pub(super) config: Option<String>,
    pub(super) broker_config: Option<String>,
    pub(super) payload_type: PayloadType,
    pub(super) publish: Publish,
    pub(super) frame_interval: u32,
    pub(super) partition_key: Option<String>,
    pub(super) sensor_id: Option<String>,
    pub(super) source_index: u32,
    pub(super) event_type: EventType,
    pub(super) include_confidence: bool,
    pub(super) max_queued_messages: u32,
    pub(super) max_queued_bytes: u64,
    pub(super) flush_timeout: u32,
    pub(super) publish_analytics: bool,
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
            publish: DEFAULT_PUBLISH,
            frame_interval: DEFAULT_FRAME_INTERVAL,
            partition_key: DEFAULT_PARTITION_KEY,
            sensor_id: DEFAULT_SENSOR_ID,
            source_index: DEFAULT_SOURCE_INDEX,
            event_type: DEFAULT_EVENT_TYPE,
            include_confidence: DEFAULT_INCLUDE_CONFIDENCE,
            max_queued_messages: DEFAULT_MAX_QUEUED_MESSAGES,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            publish_analytics: DEFAULT_PUBLISH_ANALYTICS,
        }
    }
}

/// The element's properties.
pub(super) fn properties() -> Vec<glib::ParamSpec> {
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
        glib::ParamSpecEnum::builder_with_default("publish", DEFAULT_PUBLISH)
            .nick("Publish")
            .blurb("frames: the objects of every frame-interval-th frame; tracks: one message per rstracker track event (entry, moving, stopped, exit), needs payload-type=deepstream")
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("frame-interval")
            .nick("Frame interval")
            .blurb("Publish every Nth frame (1 = every frame; publish=frames only)")
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
            .blurb("event.type of the full schema (publish=frames only)")
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
        glib::ParamSpecBoolean::builder("publish-analytics")
            .nick("Publish analytics")
            .blurb("Publish rsanalytics' results: full schema, one message per crossing, zone entry/exit, loitering and overcrowding event (every event, whatever frame-interval); minimal schema, the frame's counts as an \"analytics\" member")
            .default_value(DEFAULT_PUBLISH_ANALYTICS)
            .mutable_playing()
            .build(),
        glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
            .nick("Statistics")
            .blurb("rsmsgbroker-stats: frames, published-frames, enqueued, queued, queued-bytes, delivered, failed, dropped")
            .read_only()
            .build(),
    ]
}

impl Settings {
    /// Sets the setting of property `name` (any but the read-only `stats`).
    pub(super) fn set(&mut self, name: &str, value: &glib::Value) {
        let s = self;
        match name {
            "conn-str" => s.conn_str = value.get().unwrap(),
            "topic" => s.topic = value.get().unwrap(),
            "proto-cfg" => s.proto_cfg = value.get().unwrap(),
            "config" => s.config = value.get().unwrap(),
            "broker-config" => s.broker_config = value.get().unwrap(),
            "payload-type" => s.payload_type = value.get().unwrap(),
            "publish" => s.publish = value.get().unwrap(),
            "frame-interval" => s.frame_interval = value.get().unwrap(),
            "partition-key" => s.partition_key = value.get().unwrap(),
            "sensor-id" => s.sensor_id = value.get().unwrap(),
            "source-index" => s.source_index = value.get().unwrap(),
            "event-type" => s.event_type = value.get().unwrap(),
            "include-confidence" => s.include_confidence = value.get().unwrap(),
            "max-queued-messages" => s.max_queued_messages = value.get().unwrap(),
            "max-queued-bytes" => s.max_queued_bytes = value.get().unwrap(),
            "flush-timeout" => s.flush_timeout = value.get().unwrap(),
            "publish-analytics" => s.publish_analytics = value.get().unwrap(),
            _ => unimplemented!(),
        }
    }

    /// The value of property `name` (any but the read-only `stats`).
    pub(super) fn get(&self, name: &str) -> glib::Value {
        let s = self;
        match name {
            "conn-str" => s.conn_str.to_value(),
            "topic" => s.topic.to_value(),
            // Write-mostly: the value may hold secrets, but reading it back is the
            // application's own business (it set it).
            "proto-cfg" => s.proto_cfg.to_value(),
            "config" => s.config.to_value(),
            "broker-config" => s.broker_config.to_value(),
            "payload-type" => s.payload_type.to_value(),
            "publish" => s.publish.to_value(),
            "frame-interval" => s.frame_interval.to_value(),
            "partition-key" => s.partition_key.to_value(),
            "sensor-id" => s.sensor_id.to_value(),
            "source-index" => s.source_index.to_value(),
            "event-type" => s.event_type.to_value(),
            "include-confidence" => s.include_confidence.to_value(),
            "max-queued-messages" => s.max_queued_messages.to_value(),
            "max-queued-bytes" => s.max_queued_bytes.to_value(),
            "flush-timeout" => s.flush_timeout.to_value(),
            "publish-analytics" => s.publish_analytics.to_value(),
            _ => unimplemented!(),
        }
    }
}
