/**
 * element-rsinfer:
 *
 * YOLO object detection with ONNX Runtime, or on a model server. An in-place filter: pixels are never changed;
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
 * Frames in flight: by default inference runs on threads of its own while the streaming
 * thread goes on (decoding the next frame, drawing and encoding the previous one), with up
 * to `max-in-flight` frames held (0, the default: one more than the inferences run at once
 * locally, 4 with a server). `performance-hint=throughput` (the default) runs one
 * single-threaded ONNX Runtime session per core (OpenVINO: its optimal requests), each on
 * its own frame; `latency` runs one inference at a time on every core (`threads`);
 * frames leave in their original order, EOS and other serialized events wait for held
 * frames, flushes drop them. A frame is held only while upstream is busy bringing the next
 * one (a file being decoded): behind a live camera that is idle between frames, the answer
 * is awaited at once, so no frame interval is added. `max-in-flight=1` (at start) infers in
 * the streaming thread. The latency reported covers the frames held.
 *
 * Live sources: when inference falls behind, rsinfer stays near-live instead of building
 * up latency: a frame that is already late (from downstream QoS events, or against the
 * clock and the pipeline latency in a live pipeline) passes through at once, carrying the
 * latest detections, without inference. QoS events about frames made late by inference are
 * handled this way and not forwarded upstream (a decoder would drop frames on them); other
 * lateness is forwarded. `qos=false` disables all this. The element reports the duration of
 * one inference as its latency. Files (not live, `sync=false`) are never skipped, nor are
 * live streams whose sinks do not synchronise (recording a camera to a file).
 *
 * With `post-messages=true`, an element message `rsinfer-detections` is posted for every
 * inferred frame: `pts` (guint64, ns), `running-time` (guint64, ns), `frame-number`
 * (guint64), `detections` (a list of `detection` structures with `label`, `label-id`,
 * `confidence`, `x`, `y`, `width`, `height` in frame pixels).
 *
 * OpenVINO (`backend=openvino`): the same model files (and OpenVINO IR `.xml`) run by
 * OpenVINO Runtime in this process, its C library loaded at run time (`OPENVINO_LIB_PATH`,
 * else where `scripts/setup.sh` copies the PyPI wheel's), on `device` (`CPU`, `GPU`, `NPU`,
 * `AUTO`) in `precision` (`auto`: bf16 on CPUs with bf16 units) with `performance-hint`
 * `latency` or `throughput`; one inference thread per request OpenVINO wants in flight.
 * Pre- and post-processing are the same code as with ONNX Runtime.
 *
 * Remote inference (`backend=ovms`): the same preprocessed tensor is sent to a KServe v2
 * server (OpenVINO Model Server, NVIDIA Triton, KServe, Seldon MLServer) named by
 * `server-url` (`grpc://host:port` for gRPC, `http://host:port` for REST with the binary
 * tensor extension; `grpcs://` or `grpc+tls://` and `https://` for TLS with the public web
 * PKI roots, plus the CA certificates of `tls-ca-location`) and `model-name` (`model-version` empty: the server's default). Decoding, NMS
 * and the mapping to frame pixels are the local backend's, so the detections are the same
 * as `backend=onnx` on the same model. At start the element checks that the server and the
 * model are ready, reads the metadata (an FP32 `[1, 3, H, W]` input is required) and runs
 * one inference; any failure is a clear start error. Labels come from `labels-location`
 * (the server does not expose the model's `names`), else `class<N>`.
 * Up to `max-in-flight` requests are in flight at once; frames are held until their answer
 * and leave in their original order (EOS and other serialized events wait for held frames;
 * flushes drop them). A request without an answer within `timeout` ms, a refused
 * connection or a server error lets the frame pass without detections, posts one warning
 * per outage, and from then on frames pass at once while a probe request checks the server
 * at most twice a second; when it answers, an info message is posted and inference
 * resumes. The latency reported is the average round trip.
 *
 * Classifiers (output `[1, C]`: Ultralytics `-cls` exports, ImageNet-style models with
 * `mean`/`std`): on whole frames they add a `RsvisionClassificationMeta`; with
 * `inference-region=objects` they run on each object already on the buffer (`object-class`,
 * `min-object-size`, `max-object-size`), its box cropped from the full-resolution frame
 * (`crop-padding`), resized shortest side first and centre-cropped, and attach an
 * `<attribute-name>` structure (gvaclassify's fields) to the object's region meta. Tracked
 * objects are classified again every `reclassify-interval` frames (or `reclassify-time` ms,
 * or when the box grew by `reclassify-growth`), at most `max-attempts` times, and their
 * result is the vote of their attempts (`min-attempts`, `min-agreement`,
 * `classifier-threshold`; `identity-switch-votes` confident results in a row for another
 * label restart it), served with `frames_ago` in between. `source-model` keeps the objects
 * of named detectors (model or element names, recorded in each `detection` structure as
 * `model_name` and `element`). All crops of a frame go to the backend at once, in batches
 * of up to `batch-size` when the model's batch axis is dynamic.
 *
 * A detector with `inference-region=objects` runs inside each object's box (letterboxed
 * from the full-resolution frame) and attaches what it finds as new region metas with
 * `parent_id` = the object's `id`, in frame pixels; `post-messages` then posts
 * `rsinfer-detections` with a `parent-id` per detection.
 *
 * ## Example launch lines
 * ```text
 * gst-launch-1.0 -m filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 post-messages=true ! fakesink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer backend=openvino model-location=models/rsvision-shapes.onnx conf-threshold=0.5 ! fakesink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 ! rstracker ! rsinfer inference-region=objects model-location=models/rsvision-colours.onnx attribute-name=colour post-messages=true ! fakesink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer name=det model-location=models/rsvision-shapes.onnx conf-threshold=0.5 ! rsinfer inference-region=objects source-model=det crop-padding=1.5 model-location=models/rsvision-shapes.onnx conf-threshold=0.5 post-messages=true ! fakesink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer backend=ovms server-url=grpc://127.0.0.1:9000 model-name=shapes labels-location=models/rsvision-shapes.txt conf-threshold=0.5 ! fakesink
 * ```
 *
 * Since: plugins-rs-0.1.0
 */
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::crops::Crops;
use super::decode::{resolve_classes, ClassFilter};
use super::engine::Engine;
use super::mapping::{map_frame, Planes};
use super::objects::Classifier;
use super::qos::Qos;
use super::settings::{self, Settings};
use super::window::Window;
use super::{kserve, onnx, openvino, Backend, InferenceRegion, ModelType, Resize};
use crate::detection::{self, Detection, Inference};
use crate::preprocess::crop::CropFit;
use crate::preprocess::{Preprocessor, ResizeMode};
use crate::video;
use crate::yolo::{self, DecodeScratch, Layout, LayoutHint};

// Lock order: `settings` and `qos` are leaf locks, taken alone and released at once;
// `state` may be held while briefly taking `qos`, never the other way round. No lock is
// held while posting a message, pushing, or waiting for a backend's answer.

pub(super) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rsinfer",
        gst::DebugColorFlags::empty(),
        Some("rsvision YOLO inference"),
    )
});

pub(super) struct State {
    pub(super) engine: Box<dyn Engine>,
    /// For a backend that answers later: the frames in flight.
    pub(super) window: Option<Window>,
    pub(super) input_width: usize,
    pub(super) input_height: usize,
    /// Duration of one inference measured at start (reported as latency until frames
    /// have been inferred).
    pub(super) warm_up: Duration,
    /// The detector's output layout (`None` for a classifier).
    pub(super) layout: Option<Layout>,
    /// A classifier's state (`None` for a detector).
    pub(super) classifier: Option<Classifier>,
    /// Crops for object mode and whole-frame classification.
    pub(super) crops: Option<Crops>,
    pub(super) labels: Vec<String>,
    pub(super) resize: ResizeMode,
    pub(super) padding_value: u8,
    /// Created from the negotiated caps.
    pub(super) video_info: Option<gst_video::VideoInfo>,
    pub(super) preprocessor: Option<Preprocessor>,
    pub(super) tensor: Vec<f32>,
    pub(super) scratch: DecodeScratch,
    pub(super) filter: ClassFilter,
    /// Detections of the latest inferred frame, in frame pixels.
    pub(super) latest: Vec<Detection>,
    /// The frame marker's `model`.
    pub(super) model: String,
    pub(super) frame_number: u64,
    pub(super) inferred: u64,
    pub(super) skipped_late: u64,
}

/// A streaming failure found with the state lock held: the flow return and the error to
/// post once the lock is released.
pub(super) struct StreamFailure(
    pub(super) gst::FlowError,
    pub(super) Option<gst::ErrorMessage>,
);

#[derive(Default)]
pub struct RsInfer {
    pub(super) settings: Mutex<Settings>,
    pub(super) state: Mutex<Option<State>>,
    pub(super) qos: Mutex<Qos>,
}

#[glib::object_subclass]
impl ObjectSubclass for RsInfer {
    const NAME: &'static str = "GstRsInfer";
    type Type = super::RsInfer;
    type ParentType = gst_base::BaseTransform;
}
/// Where a frame stands: its size, its number and whether inference is due on it.
pub(super) struct Frame {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) number: u64,
    pub(super) due: bool,
}

impl State {
    /// How many inferences a frame waits for in the window at most (1 without a window):
    /// the frames in flight over the backend's concurrency.
    pub(super) fn held_inferences(&self, max_in_flight: u32) -> u32 {
        if self.window.is_none() {
            return 1;
        }
        let n = match max_in_flight as usize {
            0 => self.engine.default_in_flight(),
            n => n,
        };
        n.div_ceil(self.engine.concurrency().max(1)).max(1) as u32
    }

    /// Numbers the next frame (inference every `interval` frames); `None` before caps.
    pub(super) fn next_frame(&mut self, interval: u32) -> Option<Frame> {
        let (width, height) = self.video_info.as_ref().map(|i| (i.width(), i.height()))?;
        let number = self.frame_number;
        self.frame_number += 1;
        Some(Frame {
            width,
            height,
            number,
            due: number % u64::from(interval.max(1)) == 0,
        })
    }
}

impl RsInfer {
    /// Posts the error for a buffer that came before caps; returns its flow error.
    pub(super) fn no_caps_error(&self) -> gst::FlowError {
        gst::element_imp_error!(
            self,
            gst::CoreError::Negotiation,
            ("No caps before the first buffer")
        );
        gst::FlowError::NotNegotiated
    }

    /// Converts one frame into `state.tensor` (the model input). Called with the state lock
    /// held: errors are returned, the caller posts them once the lock is released.
    pub(super) fn prepare_tensor(
        &self,
        state: &mut State,
        buf: &gst::BufferRef,
    ) -> Result<(), StreamFailure> {
        let fail = |msg: gst::ErrorMessage| StreamFailure(gst::FlowError::Error, Some(msg));
        let Some(info) = state.video_info.as_ref() else {
            return Err(StreamFailure(gst::FlowError::NotNegotiated, None));
        };
        let frame = map_frame(buf, info)?;
        let planes = Planes::of(&frame)?;
        let pre = state
            .preprocessor
            .as_mut()
            .ok_or(StreamFailure(gst::FlowError::NotNegotiated, None))?;
        pre.convert(&planes.data(), &mut state.tensor).map_err(|e| {
            fail(gst::error_msg!(
                gst::StreamError::Format,
                ("Bad frame: {}", e)
            ))
        })
    }

    /// Inference in the streaming thread (a backend that answers at once) on one mapped frame; returns the detections in frame
    /// pixels. Called with the state lock held: errors and warnings are returned, the caller
    /// posts them once the lock is released.
    fn infer(
        &self,
        state: &mut State,
        settings: &Settings,
        buf: &gst::BufferRef,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Detection>, StreamFailure> {
        let fail = |msg: gst::ErrorMessage| StreamFailure(gst::FlowError::Error, Some(msg));
        self.prepare_tensor(state, buf)?;
        Self::update_filter(state, settings, warnings);
        let (reply, _) = state.engine.submit(&state.tensor).take();
        let out = reply.map_err(|e| {
            fail(gst::error_msg!(
                gst::LibraryError::Failed,
                ("Inference failed: {}", e)
            ))
        })?;
        Self::decode_output(state, settings, &out.shape, &out.data).map_err(|e| {
            fail(gst::error_msg!(
                gst::StreamError::Decode,
                ("Bad model output: {}", e)
            ))
        })?;
        let lb = *pre_letterbox(state);
        Ok(Self::detections(state, settings, &lb))
    }
}

pub(super) fn pre_letterbox(state: &State) -> &crate::preprocess::Letterbox {
    state
        .preprocessor
        .as_ref()
        .expect("preprocessor exists after caps")
        .letterbox()
}

impl ObjectImpl for RsInfer {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(settings::properties);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        gst::debug!(CAT, imp = self, "Setting {} to {:?}", pspec.name(), value);
        self.settings.lock().unwrap().set(pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        self.settings.lock().unwrap().get(pspec.name())
    }
}

impl GstObjectImpl for RsInfer {}

impl ElementImpl for RsInfer {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "YOLO inference (ONNX Runtime or a KServe v2 model server)",
                "Filter/Analyzer/Video",
                "Detects objects with a YOLO ONNX model and attaches them as region-of-interest metadata",
                "rsvision developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| video::filter_pad_templates(&video::raw_caps()));
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
        let (started, engine) = match settings.backend {
            Backend::Onnx => onnx::start(self, &settings)?,
            Backend::Ovms => kserve::start(self, &settings)?,
            Backend::OpenVino => openvino::start(self, &settings)?,
        };
        let wrong = |e: String| {
            gst::error_msg!(
                gst::StreamError::WrongType,
                (
                    "Model {}: {}; the model has {}",
                    started.name,
                    e,
                    started.signature
                )
            )
        };
        let classifier_shape = crate::classify::looks_like_classifier(&started.output_shape);
        let (layout, classes) = match settings.model_type {
            ModelType::Classify => {
                let (_, c) = crate::classify::classes_of(&started.output_shape).map_err(wrong)?;
                (None, c)
            }
            ModelType::Auto if classifier_shape => {
                let (_, c) = crate::classify::classes_of(&started.output_shape).map_err(wrong)?;
                (None, c)
            }
            hint => {
                let hint = match hint {
                    ModelType::YoloV5 => LayoutHint::YoloV5,
                    ModelType::YoloV8 => LayoutHint::YoloV8,
                    ModelType::EndToEnd => LayoutHint::EndToEnd,
                    _ => LayoutHint::Auto,
                };
                let layout = yolo::detect_layout(
                    &started.output_shape,
                    started.input_width,
                    started.input_height,
                    hint,
                )
                .map_err(wrong)?;
                gst::info!(CAT, imp = self, "Decoding as {}", layout);
                (Some(layout), layout.classes().unwrap_or(0))
            }
        };
        let labels = self.load_labels(
            &settings,
            started.names_metadata.as_deref(),
            (classes > 0).then_some(classes),
        )?;
        let classifier = match layout {
            Some(_) => None,
            None => {
                gst::info!(
                    CAT,
                    imp = self,
                    "Classifying {} with {} classes",
                    match settings.inference_region {
                        InferenceRegion::Frame => "whole frames",
                        InferenceRegion::Objects => "objects",
                    },
                    classes
                );
                Some(Classifier::new(classes, &started.model, &settings))
            }
        };

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

        let crops = (classifier.is_some() || settings.inference_region == InferenceRegion::Objects)
            .then(|| {
                let fit = match classifier {
                    Some(_) => CropFit::CentreCrop,
                    None => CropFit::Letterbox,
                };
                Crops::new(
                    &settings,
                    fit,
                    classifier.is_some(),
                    started.max_batch,
                    engine.concurrency(),
                )
            })
            .transpose()?;
        if settings.batch_size > 1 && started.max_batch == 1 && crops.is_some() {
            gst::info!(
                CAT,
                imp = self,
                "Model {} has a static batch: batch-size={} unused, crops run one by one",
                started.name,
                settings.batch_size
            );
        }

        *self.qos.lock().unwrap() = Qos::default();
        // Classifiers and detectors inside objects await their answers in the streaming
        // thread (all crops of a frame submitted at once); detectors on frames pipeline
        // frames in the window.
        let window = (engine.pipelined() && crops.is_none()).then(Window::default);
        *self.state.lock().unwrap() = Some(State {
            engine,
            window,
            input_width: started.input_width,
            input_height: started.input_height,
            warm_up: started.warm_up,
            layout,
            classifier,
            crops,
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
            model: started.model,
            frame_number: 0,
            inferred: 0,
            skipped_late: 0,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let state = self.state.lock().unwrap().take();
        if let Some(state) = state {
            gst::info!(
                CAT,
                imp = self,
                "Stopped after {} frames: {} inferred, {} passed late",
                state.frame_number,
                state.inferred,
                state.skipped_late
            );
            let mut state = state;
            let (dropped, failures) = state
                .window
                .as_mut()
                .map(|w| (w.clear(), w.failures))
                .unwrap_or_default();
            if let Some(line) = state.engine.stop() {
                gst::debug!(
                    CAT,
                    imp = self,
                    "{} ({} held frames dropped, {} failed requests)",
                    line,
                    dropped,
                    failures
                );
            }
        }
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "Invalid caps {}", incaps))?;
        let format = video::pixel_format(info.format())
            .ok_or_else(|| gst::loggable_error!(CAT, "Unsupported format {:?}", info.format()))?;
        if info.width() == 0 || info.height() == 0 {
            return Err(gst::loggable_error!(CAT, "Empty frame size in {}", incaps));
        }
        let colorimetry = video::colorimetry(&info);

        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::loggable_error!(CAT, "Caps before start"));
        };
        let pre = Preprocessor::new(
            format,
            info.width() as usize,
            info.height() as usize,
            state.input_width,
            state.input_height,
            state.resize,
            colorimetry,
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
        if let Some(c) = state.classifier.as_mut() {
            c.set_caps();
        }
        if let Some(c) = state.crops.as_mut() {
            c.set_caps(
                format,
                info.width() as usize,
                info.height() as usize,
                colorimetry,
            );
        }
        state.video_info = Some(info);
        Ok(())
    }

    fn src_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Qos(q) if self.handle_qos(q) => return true,
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
            self.discard();
        } else if event.is_serialized() && self.is_pipelined() {
            self.drain();
        }
        self.parent_sink_event(event)
    }

    fn submit_input_buffer(
        &self,
        is_discont: bool,
        inbuf: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        if self.is_pipelined() {
            self.submit_pipelined(inbuf)
        } else {
            self.parent_submit_input_buffer(is_discont, inbuf)
        }
    }

    fn generate_output(
        &self,
    ) -> Result<gst_base::subclass::base_transform::GenerateOutputSuccess, gst::FlowError> {
        if self.is_pipelined() {
            self.generate_pipelined()
        } else {
            self.parent_generate_output()
        }
    }

    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        if direction == gst::PadDirection::Src {
            if let gst::QueryViewMut::Latency(q) = query.view_mut() {
                if !BaseTransformImplExt::parent_query(self, direction, q.query_mut()) {
                    return false;
                }
                let chosen = self.settings.lock().unwrap().max_in_flight;
                let (warm_up, held) = self
                    .state
                    .lock()
                    .unwrap()
                    .as_ref()
                    .map(|s| (s.warm_up, s.held_inferences(chosen)))
                    .unwrap_or((Duration::ZERO, 1));
                self.adjust_latency(q, warm_up, held);
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
        let Some(Frame {
            width,
            height,
            number: frame_number,
            due,
        }) = state.next_frame(settings.inference_interval)
        else {
            drop(guard);
            return Err(self.no_caps_error());
        };

        if state.crops.is_some() {
            let run = due && !late;
            return self.transform_awaiting(guard, &settings, buf, frame_number, run, late, rt);
        }

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
        let element = self.obj().name();
        let source = detection::Source {
            model: &state.model,
            element: &element,
        };
        detection::attach_from(
            buf,
            &state.latest,
            width,
            height,
            first_id,
            -1,
            Some(&source),
        );
        let inference = if took.is_some() {
            Inference::Inferred
        } else if late {
            Inference::Late
        } else {
            Inference::Interval
        };
        self.mark(buf, state, frame_number, inference);
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
    /// Adds the frame marker: whether this frame's detections are fresh.
    pub(super) fn mark(
        &self,
        buf: &mut gst::BufferRef,
        state: &State,
        frame_number: u64,
        inference: Inference,
    ) {
        detection::frame::mark(
            buf,
            &detection::Marker {
                inference,
                element: self.obj().name().to_string(),
                model: state.model.clone(),
                frame_number,
                objects: state.latest.len() as u32,
            },
        );
    }

    pub(super) fn detections_message(
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
