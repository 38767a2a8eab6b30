//! The element's settings: the defaults, the property specifications gst-inspect-1.0
//! shows, and reading and writing them by property name.

use gst::glib;
use gst::prelude::*;

use super::{
    Backend, ExecutionProvider, InferenceRegion, ModelType, PerformanceHint, Precision, Resize,
};

const DEFAULT_MODEL_LOCATION: Option<String> = None;
const DEFAULT_LABELS_LOCATION: Option<String> = None;
const DEFAULT_MODEL_TYPE: ModelType = ModelType::Auto;
const DEFAULT_RESIZE: Resize = Resize::Letterbox;
const DEFAULT_PADDING_VALUE: u32 = 114;
const DEFAULT_CONF_THRESHOLD: f32 = 0.25;
const DEFAULT_IOU_THRESHOLD: f32 = 0.45;
const DEFAULT_MAX_DETECTIONS: u32 = 300;
const DEFAULT_INFERENCE_INTERVAL: u32 = 1;
const DEFAULT_CLASSES: Option<String> = None;
const DEFAULT_THREADS: u32 = 0;
const DEFAULT_EXECUTION_PROVIDER: ExecutionProvider = ExecutionProvider::Cpu;
const DEFAULT_POST_MESSAGES: bool = false;
const DEFAULT_QOS: bool = true;
const DEFAULT_BACKEND: Backend = Backend::Onnx;
const DEFAULT_SERVER_URL: Option<String> = None;
const DEFAULT_MODEL_NAME: Option<String> = None;
const DEFAULT_MODEL_VERSION: Option<String> = None;
const DEFAULT_MAX_IN_FLIGHT: u32 = 0;
const DEFAULT_TIMEOUT_MS: u32 = 2000;
const DEFAULT_TLS_CA_LOCATION: Option<String> = None;
const DEFAULT_DEVICE: &str = "CPU";
const DEFAULT_PRECISION: Precision = Precision::Auto;
const DEFAULT_PERFORMANCE_HINT: PerformanceHint = PerformanceHint::Throughput;
const DEFAULT_INFERENCE_REGION: InferenceRegion = InferenceRegion::Frame;
const DEFAULT_MIN_OBJECT_SIZE: u32 = 0;
const DEFAULT_MAX_OBJECT_SIZE: u32 = 0;
const DEFAULT_CROP_PADDING: f64 = 0.0;
const DEFAULT_CLASSIFIER_THRESHOLD: f32 = 0.5;
const DEFAULT_RECLASSIFY_INTERVAL: u32 = 10;
const DEFAULT_RECLASSIFY_TIME_MS: u32 = 0;
const DEFAULT_RECLASSIFY_GROWTH: f64 = 0.2;
const DEFAULT_MAX_ATTEMPTS: u32 = 16;
const DEFAULT_MIN_ATTEMPTS: u32 = 1;
const DEFAULT_MIN_AGREEMENT: f64 = 0.0;
const DEFAULT_IDENTITY_SWITCH_VOTES: u32 = 2;
const DEFAULT_BATCH_SIZE: u32 = 0;

#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) model_location: Option<String>,
    pub(super) labels_location: Option<String>,
    pub(super) model_type: ModelType,
    pub(super) resize: Resize,
    pub(super) padding_value: u32,
    pub(super) conf_threshold: f32,
    pub(super) iou_threshold: f32,
    pub(super) max_detections: u32,
    pub(super) inference_interval: u32,
    pub(super) classes: Option<String>,
    pub(super) threads: u32,
    pub(super) execution_provider: ExecutionProvider,
    pub(super) post_messages: bool,
    pub(super) qos: bool,
    pub(super) backend: Backend,
    pub(super) server_url: Option<String>,
    pub(super) model_name: Option<String>,
    pub(super) model_version: Option<String>,
    pub(super) max_in_flight: u32,
    pub(super) timeout_ms: u32,
    pub(super) tls_ca_location: Option<String>,
    pub(super) device: String,
    pub(super) precision: Precision,
    pub(super) performance_hint: PerformanceHint,
    pub(super) inference_region: InferenceRegion,
    pub(super) object_class: Option<String>,
    pub(super) min_object_size: u32,
    pub(super) max_object_size: u32,
    pub(super) attribute_name: Option<String>,
    pub(super) crop_padding: f64,
    pub(super) classifier_threshold: f32,
    pub(super) reclassify_interval: u32,
    pub(super) reclassify_time_ms: u32,
    pub(super) reclassify_growth: f64,
    pub(super) max_attempts: u32,
    pub(super) min_attempts: u32,
    pub(super) min_agreement: f64,
    pub(super) identity_switch_votes: u32,
    pub(super) batch_size: u32,
    pub(super) source_model: Option<String>,
    pub(super) mean: Option<String>,
    pub(super) std: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model_location: DEFAULT_MODEL_LOCATION,
            labels_location: DEFAULT_LABELS_LOCATION,
            model_type: DEFAULT_MODEL_TYPE,
            resize: DEFAULT_RESIZE,
            padding_value: DEFAULT_PADDING_VALUE,
            conf_threshold: DEFAULT_CONF_THRESHOLD,
            iou_threshold: DEFAULT_IOU_THRESHOLD,
            max_detections: DEFAULT_MAX_DETECTIONS,
            inference_interval: DEFAULT_INFERENCE_INTERVAL,
            classes: DEFAULT_CLASSES,
            threads: DEFAULT_THREADS,
            execution_provider: DEFAULT_EXECUTION_PROVIDER,
            post_messages: DEFAULT_POST_MESSAGES,
            qos: DEFAULT_QOS,
            backend: DEFAULT_BACKEND,
            server_url: DEFAULT_SERVER_URL,
            model_name: DEFAULT_MODEL_NAME,
            model_version: DEFAULT_MODEL_VERSION,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            tls_ca_location: DEFAULT_TLS_CA_LOCATION,
            device: DEFAULT_DEVICE.to_string(),
            precision: DEFAULT_PRECISION,
            performance_hint: DEFAULT_PERFORMANCE_HINT,
            inference_region: DEFAULT_INFERENCE_REGION,
            object_class: None,
            min_object_size: DEFAULT_MIN_OBJECT_SIZE,
            max_object_size: DEFAULT_MAX_OBJECT_SIZE,
            attribute_name: None,
            crop_padding: DEFAULT_CROP_PADDING,
            classifier_threshold: DEFAULT_CLASSIFIER_THRESHOLD,
            reclassify_interval: DEFAULT_RECLASSIFY_INTERVAL,
            reclassify_time_ms: DEFAULT_RECLASSIFY_TIME_MS,
            reclassify_growth: DEFAULT_RECLASSIFY_GROWTH,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            min_attempts: DEFAULT_MIN_ATTEMPTS,
            min_agreement: DEFAULT_MIN_AGREEMENT,
            identity_switch_votes: DEFAULT_IDENTITY_SWITCH_VOTES,
            batch_size: DEFAULT_BATCH_SIZE,
            source_model: None,
            mean: None,
            std: None,
        }
    }
}

pub(super) fn properties() -> Vec<glib::ParamSpec> {
    vec![
            glib::ParamSpecString::builder("model-location")
                .nick("Model location")
                .blurb("Path of the YOLO model: .onnx (or, with backend=openvino, an OpenVINO IR .xml with its .bin beside it)")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("labels-location")
                .nick("Labels location")
                .blurb("Text file with one class label per line (default: the model's names metadata, else class<N>)")
                .mutable_ready()
                .build(),
            glib::ParamSpecEnum::builder_with_default("model-type", DEFAULT_MODEL_TYPE)
                .nick("Model type")
                .blurb("Output layout of the model (auto: chosen from the output shape)")
                .mutable_ready()
                .build(),
            glib::ParamSpecEnum::builder_with_default("resize", DEFAULT_RESIZE)
                .nick("Resize")
                .blurb("How the frame is fitted into the model input")
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("padding-value")
                .nick("Padding value")
                .blurb("Grey level of the letterbox padding (Ultralytics: 114)")
                .maximum(255)
                .default_value(DEFAULT_PADDING_VALUE)
                .mutable_ready()
                .build(),
            glib::ParamSpecFloat::builder("conf-threshold")
                .nick("Confidence threshold")
                .blurb("Minimum confidence of a detection")
                .minimum(0.0)
                .maximum(1.0)
                .default_value(DEFAULT_CONF_THRESHOLD)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("iou-threshold")
                .nick("IoU threshold")
                .blurb("Non-maximum suppression: boxes of a class overlapping a better one by more than this are dropped")
                .minimum(0.0)
                .maximum(1.0)
                .default_value(DEFAULT_IOU_THRESHOLD)
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("max-detections")
                .nick("Maximum detections")
                .blurb("Maximum number of detections per frame")
                .minimum(1)
                .maximum(100_000)
                .default_value(DEFAULT_MAX_DETECTIONS)
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("inference-interval")
                .nick("Inference interval")
                .blurb("Run inference on every Nth frame; frames in between carry the latest detections")
                .minimum(1)
                .maximum(u32::MAX)
                .default_value(DEFAULT_INFERENCE_INTERVAL)
                .mutable_playing()
                .build(),
            glib::ParamSpecString::builder("classes")
                .nick("Classes")
                .blurb("Comma-separated labels (or class ids) to keep; empty keeps all")
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("threads")
                .nick("Threads")
                .blurb("Inference threads: ONNX Runtime's intra-op threads per session, or OpenVINO's INFERENCE_NUM_THREADS (0 = the runtime's default; with backend=onnx performance-hint=throughput 0 means 1 per session)")
                .maximum(1024)
                .default_value(DEFAULT_THREADS)
                .mutable_ready()
                .build(),
            glib::ParamSpecEnum::builder_with_default("execution-provider", DEFAULT_EXECUTION_PROVIDER)
                .nick("Execution provider")
                .blurb("ONNX Runtime execution provider; unavailable ones fall back to CPU with a warning")
                .mutable_ready()
                .build(),
            glib::ParamSpecBoolean::builder("post-messages")
                .nick("Post messages")
                .blurb("Post an rsinfer-detections element message for every inferred frame")
                .default_value(DEFAULT_POST_MESSAGES)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoolean::builder("qos")
                .nick("QoS")
                .blurb("Let late frames pass without inference (with the latest detections) to stay near-live")
                .default_value(DEFAULT_QOS)
                .mutable_playing()
                .build(),
            glib::ParamSpecEnum::builder_with_default("backend", DEFAULT_BACKEND)
                .nick("Backend")
                .blurb("Where inference runs: onnx (ONNX Runtime here, model-location) or ovms (a KServe v2 server: OpenVINO Model Server, Triton, KServe; server-url, model-name)")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("server-url")
                .nick("Server URL")
                .blurb("backend=ovms: grpc://host:port (gRPC), http://host:port (REST); grpcs:// or grpc+tls:// and https:// for TLS")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("model-name")
                .nick("Model name")
                .blurb("backend=ovms: name of the model on the server")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("model-version")
                .nick("Model version")
                .blurb("backend=ovms: version of the model on the server (empty: the server's default, usually the latest)")
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("max-in-flight")
                .nick("Maximum frames in flight")
                .blurb("Frames sent to inference before waiting for the oldest answer, so inference overlaps decoding and encoding (frames still leave in order); 0: automatic (2 with onnx, the model's optimal number of requests with openvino, 4 with ovms); 1 at start: onnx and openvino infer in the streaming thread")
                .minimum(0)
                .maximum(64)
                .default_value(DEFAULT_MAX_IN_FLIGHT)
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("timeout")
                .nick("Timeout")
                .blurb("backend=ovms: milliseconds to wait for one answer; a frame without an answer passes without new detections")
                .minimum(1)
                .maximum(600_000)
                .default_value(DEFAULT_TIMEOUT_MS)
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("tls-ca-location")
                .nick("TLS CA location")
                .blurb("backend=ovms: PEM file of CA certificates to trust besides the public roots (a private CA), for grpcs:// and https://")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("device")
                .nick("Device")
                .blurb("backend=openvino: the OpenVINO device, as OpenVINO names it: CPU, GPU, GPU.1, NPU, AUTO, AUTO:GPU,CPU...")
                .default_value(Some(DEFAULT_DEVICE))
                .mutable_ready()
                .build(),
            glib::ParamSpecEnum::builder_with_default("precision", DEFAULT_PRECISION)
                .nick("Precision")
                .blurb("backend=openvino: the precision OpenVINO computes in (auto: its default for the device)")
                .mutable_ready()
                .build(),
            glib::ParamSpecEnum::builder_with_default("performance-hint", DEFAULT_PERFORMANCE_HINT)
                .nick("Performance hint")
                .blurb("backend=onnx and backend=openvino: latency (every core on each frame) or throughput (one single-threaded inference per core, several frames at once: more frames per second from the same cores)")
                .mutable_ready()
                .build(),
            glib::ParamSpecEnum::builder_with_default("inference-region", DEFAULT_INFERENCE_REGION)
                .nick("Inference region")
                .blurb("frame: the model runs on whole frames; objects: on each object already on the buffer (a classifier after a detector), cropped from the full-resolution frame")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("object-class")
                .nick("Object class")
                .blurb("inference-region=objects: comma-separated labels (or label ids) of the objects to run on (default: all)")
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("min-object-size")
                .nick("Minimum object size")
                .blurb("inference-region=objects: skip objects narrower or lower than this, in frame pixels (0: any)")
                .default_value(DEFAULT_MIN_OBJECT_SIZE)
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("max-object-size")
                .nick("Maximum object size")
                .blurb("inference-region=objects: skip objects wider or higher than this, in frame pixels (0: no limit)")
                .default_value(DEFAULT_MAX_OBJECT_SIZE)
                .mutable_playing()
                .build(),
            glib::ParamSpecString::builder("attribute-name")
                .nick("Attribute name")
                .blurb("Name of the classification result structure (default: the model's file stem or model-name)")
                .mutable_ready()
                .build(),
            glib::ParamSpecDouble::builder("crop-padding")
                .nick("Crop padding")
                .blurb("inference-region=objects: context added around each box on every side, as a fraction of its width and height")
                .minimum(0.0)
                .maximum(4.0)
                .default_value(DEFAULT_CROP_PADDING)
                .mutable_playing()
                .build(),
            glib::ParamSpecFloat::builder("classifier-threshold")
                .nick("Classifier threshold")
                .blurb("Classification: a result below this probability is not attached and casts no vote")
                .minimum(0.0)
                .maximum(1.0)
                .default_value(DEFAULT_CLASSIFIER_THRESHOLD)
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("reclassify-interval")
                .nick("Reclassify interval")
                .blurb("Tracked objects: frames between two classifications of one track (1: every frame; 0: never again once it has a result)")
                .default_value(DEFAULT_RECLASSIFY_INTERVAL)
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("reclassify-time")
                .nick("Reclassify time")
                .blurb("Tracked objects: or after this many ms of stream time (0: unused)")
                .default_value(DEFAULT_RECLASSIFY_TIME_MS)
                .mutable_ready()
                .build(),
            glib::ParamSpecDouble::builder("reclassify-growth")
                .nick("Reclassify growth")
                .blurb("Tracked objects: or when the box area grew by more than this fraction since the last attempt (0: unused)")
                .minimum(0.0)
                .maximum(100.0)
                .default_value(DEFAULT_RECLASSIFY_GROWTH)
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("max-attempts")
                .nick("Maximum attempts")
                .blurb("Tracked objects: classifications per track at most (0: no limit)")
                .default_value(DEFAULT_MAX_ATTEMPTS)
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("min-attempts")
                .nick("Minimum attempts")
                .blurb("Tracked objects: classifications of a track before its result is attached (Frigate: 3)")
                .minimum(1)
                .default_value(DEFAULT_MIN_ATTEMPTS)
                .mutable_ready()
                .build(),
            glib::ParamSpecDouble::builder("min-agreement")
                .nick("Minimum agreement")
                .blurb("Tracked objects: share of a track's votes the winning label needs before it is attached (Frigate: 0.6)")
                .minimum(0.0)
                .maximum(1.0)
                .default_value(DEFAULT_MIN_AGREEMENT)
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("identity-switch-votes")
                .nick("Identity switch votes")
                .blurb("Tracked objects: this many confident results in a row for another label than the published one mean the tracker switched objects: the track's vote restarts (0: never)")
                .default_value(DEFAULT_IDENTITY_SWITCH_VOTES)
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("source-model")
                .nick("Source model")
                .blurb("inference-region=objects: comma-separated model names or element names of the detectors whose objects to run on (default: all)")
                .mutable_playing()
                .build(),
            glib::ParamSpecUInt::builder("batch-size")
                .nick("Batch size")
                .blurb("inference-region=objects: crops given to the model at once when its batch axis is dynamic (0: automatic, up to 16 with one session, one by one across several; 1: one by one; a static-batch model always runs one by one)")
                .maximum(crate::onnx::MAX_BATCH as u32)
                .default_value(DEFAULT_BATCH_SIZE)
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("mean")
                .nick("Mean")
                .blurb("Classification: per-channel mean subtracted from the 0..1 RGB input, 'R,G,B' (default 0,0,0; ImageNet: 0.485,0.456,0.406)")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("std")
                .nick("Standard deviation")
                .blurb("Classification: per-channel divisor after the mean, 'R,G,B' (default 1,1,1; ImageNet: 0.229,0.224,0.225)")
                .mutable_ready()
                .build(),
        ]
}

impl Settings {
    pub(super) fn set(&mut self, name: &str, value: &glib::Value) {
        let s = self;
        match name {
            "model-location" => s.model_location = value.get().expect("type checked upstream"),
            "labels-location" => s.labels_location = value.get().expect("type checked upstream"),
            "model-type" => s.model_type = value.get().expect("type checked upstream"),
            "resize" => s.resize = value.get().expect("type checked upstream"),
            "padding-value" => s.padding_value = value.get().expect("type checked upstream"),
            "conf-threshold" => s.conf_threshold = value.get().expect("type checked upstream"),
            "iou-threshold" => s.iou_threshold = value.get().expect("type checked upstream"),
            "max-detections" => s.max_detections = value.get().expect("type checked upstream"),
            "inference-interval" => {
                s.inference_interval = value.get().expect("type checked upstream")
            }
            "classes" => {
                s.classes = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|c| !c.trim().is_empty())
            }
            "threads" => s.threads = value.get().expect("type checked upstream"),
            "execution-provider" => {
                s.execution_provider = value.get().expect("type checked upstream")
            }
            "post-messages" => s.post_messages = value.get().expect("type checked upstream"),
            "qos" => s.qos = value.get().expect("type checked upstream"),
            "backend" => s.backend = value.get().expect("type checked upstream"),
            "server-url" => s.server_url = value.get().expect("type checked upstream"),
            "model-name" => s.model_name = value.get().expect("type checked upstream"),
            "model-version" => {
                s.model_version = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|v| !v.trim().is_empty())
            }
            "max-in-flight" => s.max_in_flight = value.get().expect("type checked upstream"),
            "timeout" => s.timeout_ms = value.get().expect("type checked upstream"),
            "tls-ca-location" => {
                s.tls_ca_location = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|v| !v.is_empty())
            }
            "device" => {
                s.device = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| DEFAULT_DEVICE.to_string())
            }
            "precision" => s.precision = value.get().expect("type checked upstream"),
            "performance-hint" => s.performance_hint = value.get().expect("type checked upstream"),
            "inference-region" => s.inference_region = value.get().expect("type checked upstream"),
            "object-class" => {
                s.object_class = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|c| !c.trim().is_empty())
            }
            "min-object-size" => s.min_object_size = value.get().expect("type checked upstream"),
            "max-object-size" => s.max_object_size = value.get().expect("type checked upstream"),
            "attribute-name" => {
                s.attribute_name = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|c| !c.trim().is_empty())
            }
            "crop-padding" => s.crop_padding = value.get().expect("type checked upstream"),
            "classifier-threshold" => {
                s.classifier_threshold = value.get().expect("type checked upstream")
            }
            "reclassify-interval" => {
                s.reclassify_interval = value.get().expect("type checked upstream")
            }
            "reclassify-time" => s.reclassify_time_ms = value.get().expect("type checked upstream"),
            "reclassify-growth" => {
                s.reclassify_growth = value.get().expect("type checked upstream")
            }
            "max-attempts" => s.max_attempts = value.get().expect("type checked upstream"),
            "identity-switch-votes" => {
                s.identity_switch_votes = value.get().expect("type checked upstream")
            }
            "batch-size" => s.batch_size = value.get().expect("type checked upstream"),
            "source-model" => {
                s.source_model = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|c| !c.trim().is_empty())
            }
            "min-attempts" => s.min_attempts = value.get().expect("type checked upstream"),
            "min-agreement" => s.min_agreement = value.get().expect("type checked upstream"),
            "mean" => s.mean = value.get().expect("type checked upstream"),
            "std" => s.std = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    pub(super) fn get(&self, name: &str) -> glib::Value {
        let s = self;
        match name {
            "model-location" => s.model_location.to_value(),
            "labels-location" => s.labels_location.to_value(),
            "model-type" => s.model_type.to_value(),
            "resize" => s.resize.to_value(),
            "padding-value" => s.padding_value.to_value(),
            "conf-threshold" => s.conf_threshold.to_value(),
            "iou-threshold" => s.iou_threshold.to_value(),
            "max-detections" => s.max_detections.to_value(),
            "inference-interval" => s.inference_interval.to_value(),
            "classes" => s.classes.to_value(),
            "threads" => s.threads.to_value(),
            "execution-provider" => s.execution_provider.to_value(),
            "post-messages" => s.post_messages.to_value(),
            "qos" => s.qos.to_value(),
            "backend" => s.backend.to_value(),
            "server-url" => s.server_url.to_value(),
            "model-name" => s.model_name.to_value(),
            "model-version" => s.model_version.to_value(),
            "max-in-flight" => s.max_in_flight.to_value(),
            "timeout" => s.timeout_ms.to_value(),
            "tls-ca-location" => s.tls_ca_location.to_value(),
            "device" => s.device.to_value(),
            "precision" => s.precision.to_value(),
            "performance-hint" => s.performance_hint.to_value(),
            "inference-region" => s.inference_region.to_value(),
            "object-class" => s.object_class.to_value(),
            "min-object-size" => s.min_object_size.to_value(),
            "max-object-size" => s.max_object_size.to_value(),
            "attribute-name" => s.attribute_name.to_value(),
            "crop-padding" => s.crop_padding.to_value(),
            "classifier-threshold" => s.classifier_threshold.to_value(),
            "reclassify-interval" => s.reclassify_interval.to_value(),
            "reclassify-time" => s.reclassify_time_ms.to_value(),
            "reclassify-growth" => s.reclassify_growth.to_value(),
            "max-attempts" => s.max_attempts.to_value(),
            "identity-switch-votes" => s.identity_switch_votes.to_value(),
            "batch-size" => s.batch_size.to_value(),
            "source-model" => s.source_model.to_value(),
            "min-attempts" => s.min_attempts.to_value(),
            "min-agreement" => s.min_agreement.to_value(),
            "mean" => s.mean.to_value(),
            "std" => s.std.to_value(),
            _ => unimplemented!(),
        }
    }
}

/// Parses `mean` / `std`: three comma-separated numbers (`R,G,B`), or one for all channels.
pub(super) fn parse_channels(spec: Option<&str>, default: f32) -> Result<[f32; 3], String> {
    let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok([default; 3]);
    };
    let values: Result<Vec<f32>, _> = spec.split(',').map(|v| v.trim().parse::<f32>()).collect();
    match values.as_deref() {
        Ok([v]) if v.is_finite() => Ok([*v; 3]),
        Ok([r, g, b]) if [r, g, b].iter().all(|v| v.is_finite()) => Ok([*r, *g, *b]),
        _ => Err(format!(
            "'{spec}' is not three comma-separated numbers (R,G,B)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_channels;

    #[test]
    fn channel_lists_parse_or_say_why_not() {
        assert_eq!(parse_channels(None, 1.0), Ok([1.0; 3]));
        assert_eq!(parse_channels(Some(" "), 0.0), Ok([0.0; 3]));
        assert_eq!(
            parse_channels(Some("0.485, 0.456,0.406"), 0.0),
            Ok([0.485, 0.456, 0.406])
        );
        assert_eq!(parse_channels(Some("0.5"), 0.0), Ok([0.5; 3]));
        for bad in ["1,2", "a,b,c", "1,2,3,4", "inf,1,1"] {
            assert!(parse_channels(Some(bad), 0.0).is_err(), "{bad}");
        }
    }
}
