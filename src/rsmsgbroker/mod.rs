//! `rsmsgbroker`: DeepStream-schema JSON events from detection metadata, track events,
//! rsanalytics' crossings, zone events and counts, and rssmartrecord's finished clips to
//! Kafka (or a JSON-lines file several elements may share), without ever blocking or
//! stopping the stream.
//!
//! `imp.rs` is the element; `settings.rs` its properties; `publish.rs` turns frames, track
//! events, clips and analytics into messages; `analytics.rs` reads rsanalytics' results off
//! a buffer; `transport.rs` delivers them to Kafka, `lines.rs` to a JSON-lines file;
//! `capture.rs` gives a frame's capture time; `stats.rs` the counters.

use gst::glib;
use gst::prelude::*;

mod analytics;
mod capture;
mod imp;
mod lines;
mod publish;
mod settings;
mod stats;
mod transport;

glib::wrapper! {
    pub struct RsMsgBroker(ObjectSubclass<imp::RsMsgBroker>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// The message schema.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsMsgBrokerPayloadType")]
pub enum PayloadType {
    #[default]
    #[enum_value(
        name = "DeepStream full schema: one message per object (PAYLOAD_DEEPSTREAM)",
        nick = "deepstream"
    )]
    DeepStream = 0,
    #[enum_value(
        name = "DeepStream minimal schema: one message per frame (PAYLOAD_DEEPSTREAM_MINIMAL)",
        nick = "deepstream-minimal"
    )]
    DeepStreamMinimal = 1,
}

/// `event.type` of the full schema.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsMsgBrokerEventType")]
pub enum EventType {
    #[default]
    #[enum_value(name = "entry", nick = "entry")]
    Entry = 0,
    #[enum_value(name = "exit", nick = "exit")]
    Exit = 1,
    #[enum_value(name = "moving", nick = "moving")]
    Moving = 2,
    #[enum_value(name = "stopped", nick = "stopped")]
    Stopped = 3,
    #[enum_value(name = "parked", nick = "parked")]
    Parked = 4,
    #[enum_value(name = "empty", nick = "empty")]
    Empty = 5,
    #[enum_value(name = "reset", nick = "reset")]
    Reset = 6,
}

impl EventType {
    /// The JSON value.
    pub fn as_str(self) -> &'static str {
        crate::msgconv::payload::EVENT_TYPES[self as usize]
    }
}

/// What is published: the objects of frames, or the lifecycle events of `rstracker`'s tracks.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsMsgBrokerPublish")]
pub enum Publish {
    #[default]
    #[enum_value(
        name = "Frames: the objects of every frame-interval-th frame with objects",
        nick = "frames"
    )]
    Frames = 0,
    #[enum_value(
        name = "Tracks: one full-schema message per track event of rstracker (entry, moving, stopped, exit)",
        nick = "tracks"
    )]
    Tracks = 1,
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    {
        PayloadType::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        EventType::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        Publish::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    }
    gst::Element::register(
        Some(plugin),
        "rsmsgbroker",
        gst::Rank::NONE,
        RsMsgBroker::static_type(),
    )
}
