//! The element's settings: the defaults, the property specifications gst-inspect-1.0
//! shows, and reading and writing them by property name.

use gst::glib;
use gst::prelude::*;

use super::{Backend, ExecutionProvider, ModelType, PerformanceHint, Precision, Resize};

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
const DEFAULT_PERFORMANCE_HINT: PerformanceHint = PerformanceHint::Latency;

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
                .blurb("Inference threads: ONNX Runtime's intra-op threads, or OpenVINO's INFERENCE_NUM_THREADS (0 = the runtime's default)")
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
            _ => unimplemented!(),
        }
    }
}
