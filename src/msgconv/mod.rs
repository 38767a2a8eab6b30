//! DeepStream message conversion (what DeepStream's `nvmsgconv` does), as plain Rust without
//! GStreamer types:
//!
//! * [`config`]: the msgconv configuration file (`[sensorN]`, `[placeN]`, `[analyticsN]`),
//! * [`payload`]: the full (`deepstream`) and minimal (`deepstream-minimal`) JSON schemas and
//!   the message key from a dotted JSON path (`partition-key`),
//! * [`clip`]: the full-schema message of a finished rssmartrecord clip,
//! * [`analytics`]: rsanalytics' events (full schema) and frame counts (minimal schema).

pub mod analytics;
pub mod clip;
pub mod config;
pub mod payload;

pub use config::{Analytics, MsgConvConfig, MsgConvError, Place, Sensor};
pub use payload::{format_timestamp, Frame, KeyPath, Object, PayloadBuilder};
