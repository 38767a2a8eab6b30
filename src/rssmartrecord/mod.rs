//! `rssmartrecord`: event clips from a ring buffer of the encoded stream (H.264/H.265 after
//! the parser), commanded by action signals or DeepStream cloud-to-device JSON over Kafka.
//! Each finished clip is announced on the bus, by a signal and downstream (a serialized
//! custom event `rssmartrecord-done`, [`crate::detection::clip`], that `rsmsgbroker`
//! publishes).
//!
//! `imp.rs` is the element (cache, sessions); `settings.rs` its properties; `writer.rs` the
//! clip writer thread; `done.rs` the completion report and its queue to the streaming
//! thread; `commands.rs` the Kafka command consumer.

use gst::glib;
use gst::prelude::*;

mod commands;
mod done;
#[macro_use]
mod recording;
mod imp;
mod settings;
mod writer;

glib::wrapper! {
    pub struct RsSmartRecord(ObjectSubclass<imp::RsSmartRecord>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Clip container.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsSmartRecordContainer")]
pub enum Container {
    #[default]
    #[enum_value(
        name = "MP4, fragmented (playable up to the last fragment after a crash)",
        nick = "mp4"
    )]
    Mp4 = 0,
    #[enum_value(name = "Matroska (MKV)", nick = "mkv")]
    Mkv = 1,
}

impl Container {
    pub fn extension(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mkv => "mkv",
        }
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    Container::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "rssmartrecord",
        gst::Rank::NONE,
        RsSmartRecord::static_type(),
    )
}
