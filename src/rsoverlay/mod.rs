//! `rsoverlay`: draws detections (boxes, labels, confidence) in place on the video, from the
//! region-of-interest metas of [`crate::detection`], with tracker-predicted boxes in their own
//! style and optional trails of the tracked objects; the drawing itself is [`crate::draw`].

use gst::glib;
use gst::prelude::*;

mod analytics;
mod imp;

glib::wrapper! {
    pub struct RsOverlay(ObjectSubclass<imp::RsOverlay>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// How rsoverlay draws the boxes a tracker predicted (see [`crate::draw::PredictedStyle`]).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsOverlayPredictedStyle")]
pub enum PredictedStyle {
    #[default]
    #[enum_value(name = "Dashed: a dashed outline in the class colour", nick = "dashed")]
    Dashed = 0,
    #[enum_value(name = "Solid: as detected boxes", nick = "solid")]
    Solid = 1,
    #[enum_value(name = "Thin: a 1 px solid outline", nick = "thin")]
    Thin = 2,
    #[enum_value(name = "Hidden: not drawn at all (no box, no label)", nick = "hidden")]
    Hidden = 3,
}

impl From<PredictedStyle> for crate::draw::PredictedStyle {
    fn from(s: PredictedStyle) -> Self {
        match s {
            PredictedStyle::Dashed => crate::draw::PredictedStyle::Dashed,
            PredictedStyle::Solid => crate::draw::PredictedStyle::Solid,
            PredictedStyle::Thin => crate::draw::PredictedStyle::Thin,
            PredictedStyle::Hidden => crate::draw::PredictedStyle::Hidden,
        }
    }
}

impl From<crate::draw::PredictedStyle> for PredictedStyle {
    fn from(s: crate::draw::PredictedStyle) -> Self {
        match s {
            crate::draw::PredictedStyle::Dashed => PredictedStyle::Dashed,
            crate::draw::PredictedStyle::Solid => PredictedStyle::Solid,
            crate::draw::PredictedStyle::Thin => PredictedStyle::Thin,
            crate::draw::PredictedStyle::Hidden => PredictedStyle::Hidden,
        }
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    PredictedStyle::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "rsoverlay",
        gst::Rank::NONE,
        RsOverlay::static_type(),
    )
}
