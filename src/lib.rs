#![allow(unused_doc_comments)]
//! rsvision: real-time video analytics elements for GStreamer.
//!
//! The plugin `rsvision` registers `rsinfer`, `rstracker`, `rsanalytics`, `rsoverlay`,
//! `rsmsgbroker` and `rssmartrecord`.
//! Shared code lives in modules named for what it is: [`detection`] (the metadata contract),
//! [`preprocess`] (frame to tensor, object crops), [`yolo`] (output decoding and NMS),
//! [`classify`] (classification outputs and the per-track result vote), [`onnx`] (ONNX
//! Runtime loading and session sharing), [`openvino`] (OpenVINO Runtime loading, compiled
//! model sharing and concurrent inference), [`kserve`] (KServe v2 client), [`draw`] (drawing
//! detections on frames), [`msgconv`] (DeepStream payloads), [`kafka`] (broker settings),
//! [`keyfile`] (DeepStream's configuration file format), [`utc`] (ISO-8601 UTC times),
//! [`smartrecord`] (GOP cache, recording commands), [`tracker`] (multi-object tracking),
//! [`analytics`] (zones, lines and counting on tracks),
//! [`video`] (raw formats and pad templates the elements share).

use gst::glib;

pub mod analytics;
pub mod classify;
pub mod detection;
pub mod draw;
pub mod kafka;
pub mod keyfile;
pub mod kserve;
pub mod msgconv;
pub mod onnx;
pub mod openvino;
pub mod preprocess;
pub mod rsanalytics;
pub mod rsinfer;
pub mod rsmsgbroker;
pub mod rsoverlay;
pub mod rssmartrecord;
pub mod rstracker;
pub mod smartrecord;
pub mod tracker;
pub mod utc;
pub mod video;
pub mod yolo;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    // The metadata contract's custom metas, so applications can read them at once.
    detection::frame::register();
    rsinfer::register(plugin)?;
    rsoverlay::register(plugin)?;
    rsmsgbroker::register(plugin)?;
    rssmartrecord::register(plugin)?;
    rstracker::register(plugin)?;
    rsanalytics::register(plugin)?;
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
