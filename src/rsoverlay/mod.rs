//! `rsoverlay`: draws detections (boxes, labels, confidence) in place on the video, from the
//! region-of-interest metas of [`crate::detection`]; the drawing itself is [`crate::draw`].

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct RsOverlay(ObjectSubclass<imp::RsOverlay>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rsoverlay",
        gst::Rank::NONE,
        RsOverlay::static_type(),
    )
}
