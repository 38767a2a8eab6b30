/**
 * element-rsinfer:
 *
 * YOLO object detection with ONNX Runtime. An in-place filter: pixels are never changed;
 * each buffer gets one `GstVideoRegionOfInterestMeta` per detected object, in pixel
 * coordinates of the frame, with `roi_type` = label and a `detection` param structure
 * (`x_min, y_min, x_max, y_max` normalised, `confidence`, `label_id`, `label`), the layout
 * DL Streamer's `gvadetect` writes, so `gvawatermark`, `rsoverlay` and applications read it.
 * Metas are numbered from 0 per frame (`id`), so applications can fetch them with
 * `gst_buffer_get_video_region_of_interest_meta_id()`.
 *
 * Input: I420, NV12, RGB, BGR, RGBA, BGRA, RGBx, BGRx of any size and framerate, so
 * `decodebin ! rsinfer` needs no `videoconvert`. The element converts and resizes each frame
 * into the model input itself (letterbox with padding 114 by default, or `resize=stretch`),
 * normalises to 0..1 RGB, and maps boxes back to frame pixels exactly.
 *
 * Models: YOLOv5/v7 (`[1, N, 5+C]`), YOLOv8/YOLO11 (`[1, 4+C, N]`) and end-to-end exports
 * with NMS inside (`[1, K, 6]`), chosen from the output shape (`model-type` overrides).
 * Labels come from `labels-location`, else the `names` Ultralytics stores in the model,
 * else `class<N>`. Elements with the same model file, `threads` and `execution-provider`
 * share one loaded session (one copy of the weights).
 *
 * Live sources: when inference falls behind, rsinfer stays near-live instead of building
 * up latency: a frame that is already late (from downstream QoS events, or against the
 * clock and the pipeline latency in a live pipeline) passes through at once, carrying the
 * latest detections, without inference. QoS events about frames made late by inference are
 * handled this way and not forwarded upstream (a decoder would drop frames on them); other
 * lateness is forwarded. `qos=false` disables all this. The element reports the duration of
 * one inference as its latency. Files (not live, `sync=false`) are never skipped.
 *
 * With `post-messages=true`, an element message `rsinfer-detections` is posted for every
 * inferred frame: `pts` (guint64, ns), `running-time` (guint64, ns), `frame-number`
 * (guint64), `detections` (a list of `detection` structures with `label`, `label-id`,
 * `confidence`, `x`, `y`, `width`, `height` in frame pixels).
 *
 * ## Example launch line
 * ```text
 * gst-launch-1.0 -m filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 post-messages=true ! fakesink
 * ```
 *
 * Since: plugins-rs-0.1.0
 */
use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::{ExecutionProvider, ModelType, Resize};
use crate::detection::{self, Detection};
use crate::onnx::{self, LoadError, Model, ModelOptions, Provider};
use crate::preprocess::{Colorimetry, FrameData, PixelFormat, Preprocessor, ResizeMode, YuvMatrix};
use crate::yolo::{self, DecodeScratch, Layout, LayoutHint};

// Lock order: `settings` and `qos` are leaf locks, taken alone and released at once;
// `state` may be held while briefly taking `qos`, never the other way round. No lock is
// held while posting a message or pushing.

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rsinfer",
        gst::DebugColorFlags::empty(),
        Some("rsvision YOLO inference"),
    )
});

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

#[derive(Debug, Clone)]
struct Settings {
    model_location: Option<String>,
    labels_location: Option<String>,
    model_type: ModelType,
    resize: Resize,
    padding_value: u32,
    conf_threshold: f32,
    iou_threshold: f32,
    max_detections: u32,
    inference_interval: u32,
    classes: Option<String>,
    threads: u32,
    execution_provider: ExecutionProvider,
    post_messages: bool,
    qos: bool,
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
        }
    }
}

/// The `classes` filter resolved against the labels: `None` keeps every class.
#[derive(Debug, Default)]
struct ClassFilter {
    source: Option<String>,
    keep: Option<Vec<bool>>,
}

/// Resolves a comma-separated list of labels (or class ids) to a keep-mask. Returns the
/// names that match no label as the error.
fn resolve_classes(spec: &str, labels: &[String]) -> Result<Option<Vec<bool>>, Vec<String>> {
    let names: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(None);
    }
    let mut keep = vec![false; labels.len()];
    let mut unknown = Vec::new();
    for name in names {
        if let Some(i) = labels.iter().position(|l| l == name) {
            keep[i] = true;
        } else if let Some(i) = name.parse::<usize>().ok().filter(|i| *i < labels.len()) {
            keep[i] = true;
        } else {
            unknown.push(name.to_string());
        }
    }
    if unknown.is_empty() {
        Ok(Some(keep))
    } else {
        Err(unknown)
    }
}

struct State {
    model: Arc<Model>,
    layout: Layout,
    labels: Vec<String>,
    resize: ResizeMode,
    padding_value: u8,
    /// Created from the negotiated caps.
    video_info: Option<gst_video::VideoInfo>,
    preprocessor: Option<Preprocessor>,
    tensor: Vec<f32>,
    scratch: DecodeScratch,
    filter: ClassFilter,
    /// Detections of the latest inferred frame, in frame pixels.
    latest: Vec<Detection>,
    frame_number: u64,
    inferred: u64,
    skipped_late: u64,
}

/// A streaming failure found with the state lock held: the flow return and the error to
/// post once the lock is released.
struct StreamFailure(gst::FlowError, Option<gst::ErrorMessage>);

/// How many recent frames are remembered to attribute downstream QoS events.
const RECENT_FRAMES: usize = 64;

/// Lateness information from downstream QoS events, the pipeline latency and our own
/// inference time.
#[derive(Debug, Default)]
struct Qos {
    /// Buffers whose running time ends before this are late.
    earliest_time: Option<gst::ClockTime>,
    /// Pipeline latency (the bin sends it in non-live pipelines too, as 0).
    latency: Option<gst::ClockTime>,
    /// Whether upstream is live (from the latency query): only then is the clock a deadline.
    live: bool,
    /// Moving average of one inference (conversion, model, decoding).
    processing: Option<Duration>,
    /// Running times of recent frames and whether they were inferred.
    recent: VecDeque<(gst::ClockTime, bool)>,
}

#[derive(Default)]
pub struct RsInfer {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    qos: Mutex<Qos>,
}

#[glib::object_subclass]
impl ObjectSubclass for RsInfer {
    const NAME: &'static str = "GstRsInfer";
    type Type = super::RsInfer;
    type ParentType = gst_base::BaseTransform;
}

fn map_load_error(e: &LoadError) -> gst::ErrorMessage {
    match e {
        LoadError::Runtime(s) => gst::error_msg!(gst::LibraryError::Init, ("{}", s)),
        LoadError::NotFound(s) => gst::error_msg!(gst::ResourceError::NotFound, ("{}", s)),
        LoadError::Unreadable(s) => gst::error_msg!(gst::ResourceError::OpenRead, ("{}", s)),
        LoadError::Corrupt(s) => gst::error_msg!(gst::StreamError::Decode, ("{}", s)),
        LoadError::Unsupported(s) => gst::error_msg!(gst::StreamError::WrongType, ("{}", s)),
    }
}

impl RsInfer {
    fn load_labels(
        &self,
        settings: &Settings,
        model: &Model,
        classes: Option<usize>,
    ) -> Result<Vec<String>, gst::ErrorMessage> {
        let mut labels = if let Some(path) = settings.labels_location.as_deref() {
            let text = std::fs::read_to_string(path).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::OpenRead,
                    ("Cannot read labels file '{}': {}", path, e)
                )
            })?;
            let labels = yolo::parse_labels_file(&text);
            if labels.is_empty() {
                return Err(gst::error_msg!(
                    gst::ResourceError::Read,
                    ("Labels file '{}' holds no label", path)
                ));
            }
            labels
        } else if let Some(names) = model
            .info
            .names_metadata
            .as_deref()
            .and_then(yolo::parse_ultralytics_names)
        {
            gst::debug!(CAT, imp = self, "Labels from the model's names metadata");
            names
        } else {
            Vec::new()
        };
        if let Some(c) = classes {
            if !labels.is_empty() && labels.len() != c {
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Format,
                    (
                        "The model has {} classes but {} labels were given; missing ones are named class<N>",
                        c,
                        labels.len()
                    )
                );
            }
            while labels.len() < c {
                labels.push(format!("class{}", labels.len()));
            }
        }
        Ok(labels)
    }

    fn label(labels: &[String], class: usize) -> String {
        labels
            .get(class)
            .cloned()
            .unwrap_or_else(|| format!("class{class}"))
    }

    /// Inference on one mapped frame; returns the detections in frame pixels. Called with
    /// the state lock held: errors and warnings are returned, the caller posts them once the
    /// lock is released.
    fn infer(
        &self,
        state: &mut State,
        settings: &Settings,
        buf: &gst::BufferRef,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Detection>, StreamFailure> {
        let fail = |msg: gst::ErrorMessage| StreamFailure(gst::FlowError::Error, Some(msg));
        let Some(info) = state.video_info.as_ref() else {
            return Err(StreamFailure(gst::FlowError::NotNegotiated, None));
        };
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(buf, info).map_err(|_| {
                fail(gst::error_msg!(
                    gst::StreamError::Format,
                    ("Cannot map the frame")
                ))
            })?;
        let n_planes = frame.n_planes() as usize;
        let mut planes: [&[u8]; 3] = [&[], &[], &[]];
        let mut strides = [0usize; 3];
        for p in 0..n_planes.min(3) {
            planes[p] = frame.plane_data(p as u32).map_err(|_| {
                fail(gst::error_msg!(
                    gst::StreamError::Format,
                    ("Cannot map plane {}", p)
                ))
            })?;
            strides[p] = frame.plane_stride()[p] as usize;
        }
        let pre = state
            .preprocessor
            .as_mut()
            .ok_or(StreamFailure(gst::FlowError::NotNegotiated, None))?;
        pre.convert(
            &FrameData {
                planes: &planes[..n_planes.min(3)],
                strides: &strides[..n_planes.min(3)],
            },
            &mut state.tensor,
        )
        .map_err(|e| {
            fail(gst::error_msg!(
                gst::StreamError::Format,
                ("Bad frame: {}", e)
            ))
        })?;
        drop(frame);

        // Class filter, re-resolved when the property changed.
        if state.filter.source != settings.classes {
            state.filter.source = settings.classes.clone();
            state.filter.keep = match settings.classes.as_deref() {
                None => None,
                Some(spec) => match resolve_classes(spec, &state.labels) {
                    Ok(k) => k,
                    Err(unknown) => {
                        warnings.push(format!(
                            "classes names unknown labels {unknown:?}; they are ignored"
                        ));
                        let known: Vec<String> = spec
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !unknown.iter().any(|u| u == s))
                            .map(String::from)
                            .collect();
                        resolve_classes(&known.join(","), &state.labels)
                            .unwrap_or(None)
                            .or(Some(vec![false; state.labels.len()]))
                    }
                },
            };
        }

        let layout = state.layout;
        let keep = state.filter.keep.as_deref();
        let keep_class = |c: usize| keep.is_none_or(|k| k.get(c).copied().unwrap_or(false));
        let conf = settings.conf_threshold;
        let scratch = &mut state.scratch;
        let decoded = state
            .model
            .run(&state.tensor, |shape, data| {
                if shape.len() == 3 && (shape[1] as usize * shape[2] as usize) < layout.len() {
                    return Err(format!("output shape {shape:?} changed, {layout} expected"));
                }
                yolo::decode(layout, data, conf, &keep_class, scratch)
            })
            .map_err(|e| {
                fail(gst::error_msg!(
                    gst::LibraryError::Failed,
                    ("Inference failed: {}", e)
                ))
            })?;
        decoded.map_err(|e| {
            fail(gst::error_msg!(
                gst::StreamError::Decode,
                ("Bad model output: {}", e)
            ))
        })?;

        // End-to-end models did their own NMS; per-class NMS is still harmless and applies
        // max-detections.
        yolo::nms_per_class(
            &mut state.scratch.candidates,
            settings.iou_threshold,
            settings.max_detections as usize,
        );
        let lb = *pre_letterbox(state);
        let (fw, fh) = (lb.frame_width as f64, lb.frame_height as f64);
        let dets = state
            .scratch
            .candidates
            .iter()
            .filter_map(|b| {
                let (x1, y1) = lb.to_frame(b.x1, b.y1);
                let (x2, y2) = lb.to_frame(b.x2, b.y2);
                let (x1, y1) = (x1.clamp(0.0, fw), y1.clamp(0.0, fh));
                let (x2, y2) = (x2.clamp(0.0, fw), y2.clamp(0.0, fh));
                (x2 > x1 && y2 > y1).then(|| Detection {
                    x: x1,
                    y: y1,
                    width: x2 - x1,
                    height: y2 - y1,
                    confidence: f64::from(b.score),
                    label_id: b.class as i32,
                    label: Self::label(&state.labels, b.class),
                    track_id: None,
                })
            })
            .collect();
        Ok(dets)
    }

    /// The running time of a buffer's start, if it has one.
    fn running_time(&self, buf: &gst::BufferRef) -> Option<gst::ClockTime> {
        let pts = buf.pts()?;
        let segment = self.obj().segment();
        segment
            .downcast_ref::<gst::ClockTime>()?
            .to_running_time(pts)
    }

    /// Whether the buffer is too late to be worth an inference: downstream QoS says frames
    /// up to a later time are late, or, in a live pipeline, its render time (running time +
    /// pipeline latency) has already passed.
    fn is_late(&self, rt: Option<gst::ClockTime>, duration: Option<gst::ClockTime>) -> bool {
        let Some(rt) = rt else {
            return false;
        };
        let end = rt + duration.unwrap_or(gst::ClockTime::ZERO);
        let qos = self.qos.lock().unwrap();
        if qos.earliest_time.is_some_and(|earliest| end < earliest) {
            return true;
        }
        // A non-live pipeline (a file, sync=false) has no deadline: every frame counts.
        if qos.live {
            if let (Some(latency), Some(now)) = (qos.latency, self.obj().current_running_time()) {
                if rt + latency < now {
                    gst::log!(
                        CAT,
                        imp = self,
                        "Late: running time {} + latency {} < now {}",
                        rt,
                        latency,
                        now
                    );
                    return true;
                }
            }
        }
        false
    }

    /// Remembers a frame (to attribute downstream QoS events) and, for an inferred one, its
    /// inference time (reported as latency).
    fn record_frame(&self, rt: Option<gst::ClockTime>, took: Option<Duration>) {
        let mut qos = self.qos.lock().unwrap();
        if let Some(rt) = rt {
            if qos.recent.len() == RECENT_FRAMES {
                qos.recent.pop_front();
            }
            qos.recent.push_back((rt, took.is_some()));
        }
        if let Some(took) = took {
            qos.processing = Some(match qos.processing {
                Some(avg) => avg.mul_f64(0.8) + took.mul_f64(0.2),
                None => took,
            });
        }
    }
}

fn pre_letterbox(state: &State) -> &crate::preprocess::Letterbox {
    state
        .preprocessor
        .as_ref()
        .expect("preprocessor exists after caps")
        .letterbox()
}

impl ObjectImpl for RsInfer {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("model-location")
                    .nick("Model location")
                    .blurb("Path of the YOLO ONNX model (.onnx)")
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
                    .blurb("ONNX Runtime intra-op threads (0 = ONNX Runtime's default)")
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
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap();
        gst::debug!(CAT, imp = self, "Setting {} to {:?}", pspec.name(), value);
        match pspec.name() {
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
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings.lock().unwrap();
        match pspec.name() {
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
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for RsInfer {}

impl ElementImpl for RsInfer {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "YOLO inference (ONNX Runtime)",
                "Filter/Analyzer/Video",
                "Detects objects with a YOLO ONNX model and attaches them as region-of-interest metadata",
                "rsvision developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list([
                    gst_video::VideoFormat::I420,
                    gst_video::VideoFormat::Nv12,
                    gst_video::VideoFormat::Rgb,
                    gst_video::VideoFormat::Bgr,
                    gst_video::VideoFormat::Rgba,
                    gst_video::VideoFormat::Bgra,
                    gst_video::VideoFormat::Rgbx,
                    gst_video::VideoFormat::Bgrx,
                ])
                .build();
            vec![
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &caps,
                )
                .expect("valid template"),
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &caps,
                )
                .expect("valid template"),
            ]
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for RsInfer {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        let Some(location) = settings.model_location.clone().filter(|l| !l.is_empty()) else {
            return Err(gst::error_msg!(
                gst::ResourceError::NotFound,
                ("model-location is not set: give the path of a YOLO .onnx model")
            ));
        };
        let options = ModelOptions {
            path: location.into(),
            threads: settings.threads,
            provider: match settings.execution_provider {
                ExecutionProvider::Cpu => Provider::Cpu,
                ExecutionProvider::Cuda => Provider::Cuda,
                ExecutionProvider::TensorRt => Provider::TensorRt,
                ExecutionProvider::OpenVino => Provider::OpenVino,
            },
        };
        let (model, loaded) = onnx::load_shared(&options).map_err(|e| map_load_error(&e))?;
        gst::info!(
            CAT,
            imp = self,
            "{} model {:?}: {} ({}x{} input, warm-up {:?}, provider {})",
            if loaded { "Loaded" } else { "Sharing" },
            options.path,
            model.info.signature,
            model.info.input_width,
            model.info.input_height,
            model.info.warm_up,
            model.info.provider.name()
        );
        for w in &model.info.warnings {
            gst::element_imp_warning!(self, gst::LibraryError::Init, ("{}", w));
        }
        let hint = match settings.model_type {
            ModelType::Auto => LayoutHint::Auto,
            ModelType::YoloV5 => LayoutHint::YoloV5,
            ModelType::YoloV8 => LayoutHint::YoloV8,
            ModelType::EndToEnd => LayoutHint::EndToEnd,
        };
        let layout = yolo::detect_layout(
            &model.info.output_shape,
            model.info.input_width,
            model.info.input_height,
            hint,
        )
        .map_err(|e| {
            gst::error_msg!(
                gst::StreamError::WrongType,
                (
                    "Model '{}': {}; the model has {}",
                    options.path.display(),
                    e,
                    model.info.signature
                )
            )
        })?;
        gst::info!(CAT, imp = self, "Decoding as {}", layout);
        let labels = self.load_labels(&settings, &model, layout.classes())?;

        // An impossible combination: a class filter naming labels the model does not have.
        let mut filter = ClassFilter::default();
        if let Some(spec) = settings.classes.as_deref() {
            let keep = resolve_classes(spec, &labels).map_err(|unknown| {
                gst::error_msg!(
                    gst::LibraryError::Settings,
                    (
                        "classes names {:?}, which the model's labels {:?} do not contain",
                        unknown,
                        labels
                    )
                )
            })?;
            filter = ClassFilter {
                source: settings.classes.clone(),
                keep,
            };
        }

        *self.qos.lock().unwrap() = Qos::default();
        *self.state.lock().unwrap() = Some(State {
            model,
            layout,
            labels,
            resize: match settings.resize {
                Resize::Letterbox => ResizeMode::Letterbox,
                Resize::Stretch => ResizeMode::Stretch,
            },
            padding_value: settings.padding_value.min(255) as u8,
            video_info: None,
            preprocessor: None,
            tensor: Vec::new(),
            scratch: DecodeScratch::default(),
            filter,
            latest: Vec::new(),
            frame_number: 0,
            inferred: 0,
            skipped_late: 0,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(state) = self.state.lock().unwrap().take() {
            gst::info!(
                CAT,
                imp = self,
                "Stopped after {} frames: {} inferred, {} passed late",
                state.frame_number,
                state.inferred,
                state.skipped_late
            );
        }
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "Invalid caps {}", incaps))?;
        let format = match info.format() {
            gst_video::VideoFormat::I420 => PixelFormat::I420,
            gst_video::VideoFormat::Nv12 => PixelFormat::Nv12,
            gst_video::VideoFormat::Rgb => PixelFormat::Rgb,
            gst_video::VideoFormat::Bgr => PixelFormat::Bgr,
            gst_video::VideoFormat::Rgba => PixelFormat::Rgba,
            gst_video::VideoFormat::Bgra => PixelFormat::Bgra,
            gst_video::VideoFormat::Rgbx => PixelFormat::Rgbx,
            gst_video::VideoFormat::Bgrx => PixelFormat::Bgrx,
            other => return Err(gst::loggable_error!(CAT, "Unsupported format {:?}", other)),
        };
        if info.width() == 0 || info.height() == 0 {
            return Err(gst::loggable_error!(CAT, "Empty frame size in {}", incaps));
        }
        let colorimetry = info.colorimetry();
        let matrix = match colorimetry.matrix() {
            gst_video::VideoColorMatrix::Bt709 => YuvMatrix::Bt709,
            gst_video::VideoColorMatrix::Bt2020 => YuvMatrix::Bt2020,
            _ => YuvMatrix::Bt601,
        };
        let full_range = colorimetry.range() == gst_video::VideoColorRange::Range0_255;

        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::loggable_error!(CAT, "Caps before start"));
        };
        let pre = Preprocessor::new(
            format,
            info.width() as usize,
            info.height() as usize,
            state.model.info.input_width,
            state.model.info.input_height,
            state.resize,
            Colorimetry { matrix, full_range },
        );
        state.tensor.clear();
        state.tensor.resize(pre.tensor_len(), 0.0);
        pre.fill_padding(&mut state.tensor, state.padding_value);
        gst::debug!(
            CAT,
            imp = self,
            "Caps {:?} -> {:?}",
            incaps,
            pre.letterbox()
        );
        if state
            .video_info
            .as_ref()
            .is_some_and(|old| old.width() != info.width() || old.height() != info.height())
        {
            state.latest.clear();
        }
        state.preprocessor = Some(pre);
        state.video_info = Some(info);
        Ok(())
    }

    fn src_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Qos(q) => {
                let (_type, proportion, diff, timestamp) = q.get();
                let handle_here = self.settings.lock().unwrap().qos;
                let mut qos = self.qos.lock().unwrap();
                // As GstBaseTransform: earliest = timestamp + 2 * jitter when late.
                qos.earliest_time = timestamp.map(|ts| {
                    if diff > 0 {
                        ts + gst::ClockTime::from_nseconds(2 * diff as u64)
                    } else {
                        ts.saturating_sub(gst::ClockTime::from_nseconds(diff.unsigned_abs()))
                    }
                });
                // Frames are late because of inference when they were inferred, or came
                // shortly after an inferred frame (they waited for it). rsinfer answers that
                // by skipping inference; forwarding would make upstream (a decoder) drop
                // frames as well. Lateness with no inference nearby is upstream's: forwarded.
                let window = qos.processing.unwrap_or_default() * 2 + Duration::from_millis(50);
                let window = gst::ClockTime::from_nseconds(window.as_nanos() as u64);
                let ours = handle_here
                    && diff > 0
                    && timestamp.is_some_and(|ts| {
                        qos.recent
                            .iter()
                            .any(|(rt, inferred)| *inferred && *rt <= ts && ts - *rt <= window)
                    });
                let earliest = qos.earliest_time;
                drop(qos);
                gst::log!(
                    CAT,
                    imp = self,
                    "QoS: proportion {} diff {} earliest {:?}{}",
                    proportion,
                    diff,
                    earliest,
                    if ours { ", handled here" } else { "" }
                );
                if ours {
                    return true;
                }
            }
            gst::EventView::Latency(l) => {
                self.qos.lock().unwrap().latency = Some(l.latency());
                gst::debug!(CAT, imp = self, "Pipeline latency {}", l.latency());
            }
            _ => {}
        }
        self.parent_src_event(event)
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) = event.view() {
            self.qos.lock().unwrap().earliest_time = None;
        }
        self.parent_sink_event(event)
    }

    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        if direction == gst::PadDirection::Src {
            if let gst::QueryViewMut::Latency(q) = query.view_mut() {
                if !BaseTransformImplExt::parent_query(self, direction, q.query_mut()) {
                    return false;
                }
                let warm_up = self
                    .state
                    .lock()
                    .unwrap()
                    .as_ref()
                    .map(|s| s.model.info.warm_up)
                    .unwrap_or_default();
                let (live, min, max) = q.result();
                let ours = {
                    let mut qos = self.qos.lock().unwrap();
                    qos.live = live;
                    let ours = qos.processing.unwrap_or_default().max(warm_up);
                    gst::ClockTime::from_nseconds(ours.as_nanos() as u64)
                };
                if live {
                    q.set(live, min + ours, max.map(|m| m + ours));
                    gst::debug!(
                        CAT,
                        imp = self,
                        "Latency: live, min {} (+{} inference)",
                        min + ours,
                        ours
                    );
                }
                return true;
            }
        }
        BaseTransformImplExt::parent_query(self, direction, query)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap().clone();
        let rt = self.running_time(buf);
        let late = settings.qos && self.is_late(rt, buf.duration());

        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let Some((width, height)) = state.video_info.as_ref().map(|i| (i.width(), i.height()))
        else {
            drop(guard);
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ("No caps before the first buffer")
            );
            return Err(gst::FlowError::NotNegotiated);
        };
        let frame_number = state.frame_number;
        state.frame_number += 1;
        let due = frame_number % u64::from(settings.inference_interval.max(1)) == 0;

        let mut message = None;
        let mut took = None;
        let mut warnings = Vec::new();
        if due && !late {
            let started = Instant::now();
            let dets = match self.infer(state, &settings, buf, &mut warnings) {
                Ok(dets) => dets,
                Err(StreamFailure(flow, error)) => {
                    drop(guard);
                    if let Some(error) = error {
                        self.post_error_message(error);
                    }
                    return Err(flow);
                }
            };
            took = Some(started.elapsed());
            state.inferred += 1;
            state.latest = dets;
            if settings.post_messages {
                message = Some(self.detections_message(buf, frame_number, &state.latest));
            }
        } else if late {
            state.skipped_late += 1;
            gst::debug!(
                CAT,
                imp = self,
                "Frame {} is late: passing it without inference",
                frame_number
            );
        }
        let first_id = detection::count(buf) as i32;
        detection::attach(buf, &state.latest, width, height, first_id);
        drop(guard);

        for w in warnings {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", w));
        }
        self.record_frame(rt, took);
        if let Some(msg) = message {
            let _ = self.obj().post_message(msg);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

impl RsInfer {
    fn detections_message(
        &self,
        buf: &gst::BufferRef,
        frame_number: u64,
        dets: &[Detection],
    ) -> gst::Message {
        let list = gst::List::new(dets.iter().map(|d| {
            gst::Structure::builder("detection")
                .field("label", d.label.as_str())
                .field("label-id", d.label_id)
                .field("confidence", d.confidence)
                .field("x", d.x)
                .field("y", d.y)
                .field("width", d.width)
                .field("height", d.height)
                .build()
        }));
        let running_time = buf.pts().and_then(|pts| {
            self.obj()
                .segment()
                .downcast_ref::<gst::ClockTime>()
                .and_then(|s| s.to_running_time(pts))
        });
        let s = gst::Structure::builder("rsinfer-detections")
            .field("pts", buf.pts().map(|t| t.nseconds()).unwrap_or(u64::MAX))
            .field(
                "running-time",
                running_time.map(|t| t.nseconds()).unwrap_or(u64::MAX),
            )
            .field("frame-number", frame_number)
            .field("detections", list)
            .build();
        gst::message::Element::builder(s).src(&*self.obj()).build()
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_classes;

    #[test]
    fn classes_resolve_by_label_or_id() {
        let labels: Vec<String> = ["circle", "square", "star"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(resolve_classes("", &labels), Ok(None));
        assert_eq!(
            resolve_classes("star, circle", &labels),
            Ok(Some(vec![true, false, true]))
        );
        assert_eq!(
            resolve_classes("1", &labels),
            Ok(Some(vec![false, true, false]))
        );
        assert_eq!(
            resolve_classes("star,dog,7", &labels),
            Err(vec!["dog".to_string(), "7".to_string()])
        );
    }
}
