//! `rsinfer`: YOLO object detection with ONNX Runtime or on a KServe v2 model server
//! (OpenVINO Model Server, Triton, KServe; see [`crate::kserve`]), attaching detections as
//! `GstVideoRegionOfInterestMeta` (see [`crate::detection`]).
//!
//! `imp.rs` is the GStreamer glue (caps, events, the frame loop); `settings.rs` the
//! properties; `engine.rs` the one interface of the backends, `onnx.rs` (ONNX Runtime here)
//! and `kserve.rs` (a KServe v2 server); `decode.rs` from output tensor to detections, the
//! same for every backend; `window.rs` the frames in flight of a backend that answers later;
//! `qos.rs` lateness and latency; `crops.rs` object mode's choice of objects, crops and
//! batches; `objects.rs` classifiers on frames and objects; `inner.rs` the frame loop of the
//! models awaited in the streaming thread and detectors inside objects; `mapping.rs` a mapped
//! frame's planes for the converters.

use gst::glib;
use gst::prelude::*;

mod crops;
mod decode;
mod engine;
mod imp;
mod inner;
mod kserve;
mod mapping;
mod objects;
mod onnx;
mod openvino;
mod qos;
mod settings;
mod window;
mod worker;

glib::wrapper! {
    pub struct RsInfer(ObjectSubclass<imp::RsInfer>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Which output decoder to use.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsInferModelType")]
pub enum ModelType {
    #[default]
    #[enum_value(name = "Auto: chosen from the output shape", nick = "auto")]
    Auto = 0,
    #[enum_value(name = "YOLOv5/v7: [1, N, 5+C]", nick = "yolov5")]
    YoloV5 = 1,
    #[enum_value(name = "YOLOv8/YOLO11: [1, 4+C, N]", nick = "yolov8")]
    YoloV8 = 2,
    #[enum_value(name = "End-to-end (NMS in the model): [1, K, 6]", nick = "end-to-end")]
    EndToEnd = 3,
    #[enum_value(name = "Classification: [1, C] class scores", nick = "classify")]
    Classify = 4,
}

/// What the model runs on.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsInferInferenceRegion")]
pub enum InferenceRegion {
    #[default]
    #[enum_value(name = "Frame: the whole frame", nick = "frame")]
    Frame = 0,
    #[enum_value(
        name = "Objects: each object already on the buffer, cropped from the full-resolution frame",
        nick = "objects"
    )]
    Objects = 1,
}

/// How the frame is fitted into the model input.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsInferResize")]
pub enum Resize {
    #[default]
    #[enum_value(name = "Letterbox: keep the aspect ratio, pad", nick = "letterbox")]
    Letterbox = 0,
    #[enum_value(name = "Stretch: scale each axis to fill the input", nick = "stretch")]
    Stretch = 1,
}

/// ONNX Runtime execution provider.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsInferExecutionProvider")]
pub enum ExecutionProvider {
    #[default]
    #[enum_value(name = "CPU", nick = "cpu")]
    Cpu = 0,
    #[enum_value(name = "CUDA (falls back to CPU with a warning)", nick = "cuda")]
    Cuda = 1,
    #[enum_value(
        name = "TensorRT (falls back to CPU with a warning)",
        nick = "tensorrt"
    )]
    TensorRt = 2,
    #[enum_value(
        name = "OpenVINO (falls back to CPU with a warning)",
        nick = "openvino"
    )]
    OpenVino = 3,
}

/// Where inference runs.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsInferBackend")]
pub enum Backend {
    #[default]
    #[enum_value(name = "ONNX Runtime in this process (model-location)", nick = "onnx")]
    Onnx = 0,
    #[enum_value(
        name = "A KServe v2 server: OpenVINO Model Server, Triton, KServe (server-url, model-name)",
        nick = "ovms"
    )]
    Ovms = 1,
    #[enum_value(
        name = "OpenVINO Runtime in this process (model-location, device, precision, performance-hint)",
        nick = "openvino"
    )]
    OpenVino = 2,
}

/// `backend=openvino`: the precision OpenVINO computes in.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsInferPrecision")]
pub enum Precision {
    #[default]
    #[enum_value(
        name = "OpenVINO's default for the device (bf16 on CPUs with AVX-512 BF16 or AMX)",
        nick = "auto"
    )]
    Auto = 0,
    #[enum_value(name = "float32", nick = "f32")]
    F32 = 1,
    #[enum_value(name = "bfloat16", nick = "bf16")]
    Bf16 = 2,
    #[enum_value(name = "float16", nick = "f16")]
    F16 = 3,
}

/// `backend=openvino`: what OpenVINO optimises for.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstRsInferPerformanceHint")]
pub enum PerformanceHint {
    #[enum_value(
        name = "Latency: the shortest time per frame, one stream using every core",
        nick = "latency"
    )]
    Latency = 0,
    #[default]
    #[enum_value(
        name = "Throughput: the most frames per second, several frames in flight (one stream's next frames, or several streams sharing the model)",
        nick = "throughput"
    )]
    Throughput = 1,
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    #[cfg(feature = "doc")]
    {
        ModelType::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        Resize::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        ExecutionProvider::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        Backend::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        Precision::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
        PerformanceHint::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    }
    gst::Element::register(
        Some(plugin),
        "rsinfer",
        gst::Rank::NONE,
        RsInfer::static_type(),
    )
}
