//! The element's settings: the defaults, the property specifications gst-inspect-1.0
//! shows (the read-only ones included), and reading and writing them by property name.

use gst::glib;
use gst::prelude::*;

use super::Container;
use crate::smartrecord::naming;

const DEFAULT_LOCATION: &str = ".";
const DEFAULT_FILE_PREFIX: &str = "clip";
const DEFAULT_SENSOR_ID: &str = "0";
const DEFAULT_CONTAINER: Container = Container::Mp4;
const DEFAULT_CACHE_SIZE: u32 = 20;
const DEFAULT_DEFAULT_DURATION: u32 = 20;
const DEFAULT_MAX_DURATION: u32 = 600;
const DEFAULT_FRAGMENT_DURATION: u32 = 1000;

#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) location: String,
    pub(super) file_prefix: String,
    pub(super) file_template: String,
    pub(super) sensor_id: String,
    pub(super) container: Container,
    pub(super) cache_size: u32,
    pub(super) default_duration: u32,
    pub(super) max_duration: u32,
    pub(super) fragment_duration: u32,
    pub(super) conn_str: Option<String>,
    pub(super) topic: Option<String>,
    pub(super) consumer_group_id: Option<String>,
    pub(super) proto_cfg: Option<String>,
    pub(super) broker_config: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            location: DEFAULT_LOCATION.into(),
            file_prefix: DEFAULT_FILE_PREFIX.into(),
            file_template: naming::DEFAULT_TEMPLATE.into(),
            sensor_id: DEFAULT_SENSOR_ID.into(),
            container: DEFAULT_CONTAINER,
            cache_size: DEFAULT_CACHE_SIZE,
            default_duration: DEFAULT_DEFAULT_DURATION,
            max_duration: DEFAULT_MAX_DURATION,
            fragment_duration: DEFAULT_FRAGMENT_DURATION,
            conn_str: None,
            topic: None,
            consumer_group_id: None,
            proto_cfg: None,
            broker_config: None,
        }
    }
}

/// The element's properties.
pub(super) fn properties() -> Vec<glib::ParamSpec> {
    vec![
        glib::ParamSpecString::builder("location")
            .nick("Directory")
            .blurb("Directory the clips are written to (must exist)")
            .default_value(Some(DEFAULT_LOCATION))
            .mutable_playing()
            .build(),
        glib::ParamSpecString::builder("file-prefix")
            .nick("File prefix")
            .blurb("Value of {prefix} in file-template")
            .default_value(Some(DEFAULT_FILE_PREFIX))
            .mutable_playing()
            .build(),
        glib::ParamSpecString::builder("file-template")
            .nick("File name template")
            .blurb("Clip file name without extension; placeholders {prefix} {sensor} {session} {datetime} {date} {time} {ms} (UTC)")
            .default_value(Some(naming::DEFAULT_TEMPLATE))
            .mutable_playing()
            .build(),
        glib::ParamSpecString::builder("sensor-id")
            .nick("Sensor id")
            .blurb("This camera's id: Kafka commands for other sensors are ignored; {sensor} in file names")
            .default_value(Some(DEFAULT_SENSOR_ID))
            .mutable_playing()
            .build(),
        glib::ParamSpecEnum::builder_with_default("container", DEFAULT_CONTAINER)
            .nick("Container")
            .blurb("Clip container")
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("cache-size")
            .nick("Cache size")
            .blurb("Seconds of stream kept (as whole GOPs) for pre-roll")
            .minimum(0)
            .maximum(3600)
            .default_value(DEFAULT_CACHE_SIZE)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("default-duration")
            .nick("Default duration")
            .blurb("Seconds recorded after the event when no end or duration is given")
            .minimum(1)
            .maximum(86400)
            .default_value(DEFAULT_DEFAULT_DURATION)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("max-duration")
            .nick("Maximum duration")
            .blurb("Longest clip in seconds, pre-roll included; extensions stop there")
            .minimum(1)
            .maximum(86400)
            .default_value(DEFAULT_MAX_DURATION)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("fragment-duration")
            .nick("Fragment duration")
            .blurb("MP4 fragment length in ms: after a crash the file plays up to its last fragment")
            .minimum(100)
            .maximum(60000)
            .default_value(DEFAULT_FRAGMENT_DURATION)
            .mutable_playing()
            .build(),
        glib::ParamSpecString::builder("conn-str")
            .nick("Kafka connection")
            .blurb("Kafka broker for commands, \"host;port\" or \"host;port;topic\" (DeepStream syntax); unset: no Kafka")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("topic")
            .nick("Command topic")
            .blurb("Kafka topic of the cloud-to-device commands (or the third part of conn-str)")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("consumer-group-id")
            .nick("Consumer group")
            .blurb("Kafka consumer group; unset: \"rssmartrecord-<sensor-id>\", so every camera sees every command")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("proto-cfg")
            .nick("Kafka options")
            .blurb("Extra librdkafka consumer settings, \"key=value;key=value\", applied last; secrets are never logged")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("broker-config")
            .nick("Broker configuration file")
            .blurb("DeepStream broker file ([message-broker]: proto-cfg, consumer-proto-cfg, consumer-group-id)")
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt64::builder("cache-bytes")
            .nick("Cached bytes")
            .blurb("Bytes of encoded video currently cached")
            .read_only()
            .build(),
        glib::ParamSpecUInt64::builder("cache-duration")
            .nick("Cached duration")
            .blurb("Running time currently cached, in ns")
            .read_only()
            .build(),
        glib::ParamSpecBoolean::builder("recording")
            .nick("Recording")
            .blurb("Whether a clip is being recorded")
            .read_only()
            .build(),
    ]
}

impl Settings {
    /// Sets the setting of property `name` (any but the read-only ones).
    pub(super) fn set(&mut self, name: &str, value: &glib::Value) {
        let s = self;
        match name {
            "location" => {
                s.location = value
                    .get::<Option<String>>()
                    .expect("type checked")
                    .unwrap_or_else(|| DEFAULT_LOCATION.into())
            }
            "file-prefix" => {
                s.file_prefix = value
                    .get::<Option<String>>()
                    .expect("type checked")
                    .unwrap_or_default()
            }
            "file-template" => {
                s.file_template = value
                    .get::<Option<String>>()
                    .expect("type checked")
                    .unwrap_or_else(|| naming::DEFAULT_TEMPLATE.into())
            }
            "sensor-id" => {
                s.sensor_id = value
                    .get::<Option<String>>()
                    .expect("type checked")
                    .unwrap_or_default()
            }
            "container" => s.container = value.get().expect("type checked"),
            "cache-size" => s.cache_size = value.get().expect("type checked"),
            "default-duration" => s.default_duration = value.get().expect("type checked"),
            "max-duration" => s.max_duration = value.get().expect("type checked"),
            "fragment-duration" => s.fragment_duration = value.get().expect("type checked"),
            "conn-str" => s.conn_str = value.get().expect("type checked"),
            "topic" => s.topic = value.get().expect("type checked"),
            "consumer-group-id" => s.consumer_group_id = value.get().expect("type checked"),
            "proto-cfg" => s.proto_cfg = value.get().expect("type checked"),
            "broker-config" => s.broker_config = value.get().expect("type checked"),
            _ => unimplemented!(),
        }
    }

    /// The value of property `name` (any but the read-only ones).
    pub(super) fn get(&self, name: &str) -> glib::Value {
        let s = self;
        match name {
            "location" => s.location.to_value(),
            "file-prefix" => s.file_prefix.to_value(),
            "file-template" => s.file_template.to_value(),
            "sensor-id" => s.sensor_id.to_value(),
            "container" => s.container.to_value(),
            "cache-size" => s.cache_size.to_value(),
            "default-duration" => s.default_duration.to_value(),
            "max-duration" => s.max_duration.to_value(),
            "fragment-duration" => s.fragment_duration.to_value(),
            "conn-str" => s.conn_str.to_value(),
            "topic" => s.topic.to_value(),
            "consumer-group-id" => s.consumer_group_id.to_value(),
            "proto-cfg" => s.proto_cfg.to_value(),
            "broker-config" => s.broker_config.to_value(),
            _ => unimplemented!(),
        }
    }
}
