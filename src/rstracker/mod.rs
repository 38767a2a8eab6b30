//! `rstracker`: stable object identities over time from the detections on each buffer
//! ([`crate::detection`]), predicted boxes on frames without fresh detections, lifecycle
//! events. The tracking itself is [`crate::tracker`]; [`meta`] translates between the
//! buffer's metadata and the tracker.

use gst::glib;
use gst::prelude::*;

mod imp;
pub mod meta;

glib::wrapper! {
    pub struct RsTracker(ObjectSubclass<imp::RsTracker>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Which detections a track may take (see [`crate::tracker::ClassMode`]).
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsTrackerClassMode")]
pub enum ClassMode {
    #[default]
    #[enum_value(
        name = "Per class: a track only takes detections of its own label",
        nick = "per-class"
    )]
    PerClass = 0,
    #[enum_value(
        name = "Agnostic: any label; the track's label is the majority of its detections'",
        nick = "agnostic"
    )]
    Agnostic = 1,
    #[enum_value(
        name = "Groups: labels of one class-groups group share tracks",
        nick = "groups"
    )]
    Groups = 2,
}

impl From<ClassMode> for crate::tracker::ClassMode {
    fn from(m: ClassMode) -> Self {
        match m {
            ClassMode::PerClass => crate::tracker::ClassMode::PerClass,
            ClassMode::Agnostic => crate::tracker::ClassMode::Agnostic,
            ClassMode::Groups => crate::tracker::ClassMode::Groups,
        }
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    ClassMode::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "rstracker",
        gst::Rank::NONE,
        RsTracker::static_type(),
    )
}
