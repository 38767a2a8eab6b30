#![allow(unused_doc_comments)]
//! rsvision: real-time video analytics elements for GStreamer.
//!
//! The plugin `rsvision` registers `rsinfer`. Shared code lives in modules named for what it
//! is: [`detection`] (the metadata contract), [`preprocess`] (frame to tensor), [`yolo`]
//! (output decoding and NMS), [`onnx`] (ONNX Runtime loading and session sharing).

use gst::glib;

pub mod detection;
pub mod onnx;
pub mod preprocess;
pub mod rsinfer;
pub mod rssmartrecord;
pub mod smartrecord;
pub mod yolo;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    rsinfer::register(plugin)?;
    rssmartrecord::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    rsvision,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
