//! `rsanalytics`: zones, line crossings, directions, dwell times, loitering and overcrowding
//! on tracked objects, after `rstracker`. The counting itself is [`crate::analytics`];
//! [`meta`] translates between the buffer's metadata and the engine (the layout is
//! [`crate::detection::analytics`]), `settings.rs` holds the properties and reads the
//! geometry they name.
//!
//! Count people crossing the middle of the frame, with a zone on its left (normalised
//! coordinates; the crossings are printed as element messages by `-m`):
//! ```text
//! gst-launch-1.0 -m filesrc location=data/sample-shapes.mp4 ! decodebin ! videoconvert ! rsinfer model-location=models/rsvision-shapes.onnx ! rstracker ! rsanalytics lines="middle:0.5;0;0.5;1" zones="left:0;0;0.5;0;0.5;1;0;1" ! fakesink
//! ```
//! A DeepStream nvdsanalytics configuration file, unchanged (its `*-stream-0` groups; the
//! shipped example has a zone, an overcrowding threshold, a line and a direction):
//! ```text
//! gst-launch-1.0 -m filesrc location=data/sample-shapes.mp4 ! decodebin ! videoconvert ! rsinfer model-location=models/rsvision-shapes.onnx ! rstracker ! rsanalytics config-file=data/rsanalytics-nvdsanalytics.txt stream-id=0 ! fakesink
//! ```

use gst::glib;
use gst::prelude::*;

mod imp;
pub mod meta;
mod settings;

glib::wrapper! {
    pub struct RsAnalytics(ObjectSubclass<imp::RsAnalytics>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rsanalytics",
        gst::Rank::NONE,
        RsAnalytics::static_type(),
    )
}
