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
 * ## Example launch lines
 * ```text
 * gst-launch-1.0 -m filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 post-messages=true ! fakesink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer backend=ovms server-url=grpc://127.0.0.1:9000 model-name=shapes labels-location=models/rsvision-shapes.txt conf-threshold=0.5 ! fakesink
 * ```
 *
 * Since: plugins-rs-0.1.0
 */
use std::collections::VecDeque;
use std::sync::{mpsc, Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;

use super::{Backend, ExecutionProvider, ModelType, Resize};
use crate::detection::{self, Detection, Inference};
use crate::kserve;
use crate::onnx::{self, LoadError, Model, ModelOptions, Provider};
use crate::preprocess::{FrameData, Letterbox, Preprocessor, ResizeMode};
use crate::video;
use crate::yolo::{self, DecodeScratch, Layout, LayoutHint};

// Lock order: `settings` and `qos` are leaf locks, taken alone and released at once;
// `state` may be held while briefly taking `qos`, never the other way round. No lock is
// held while posting a message, pushing, or waiting for a server's answer.

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
const DEFAULT_BACKEND: Backend = Backend::Onnx;
const DEFAULT_SERVER_URL: Option<String> = None;
const DEFAULT_MODEL_NAME: Option<String> = None;
const DEFAULT_MODEL_VERSION: Option<String> = None;
const DEFAULT_MAX_IN_FLIGHT: u32 = 4;
const DEFAULT_TIMEOUT_MS: u32 = 2000;
const DEFAULT_TLS_CA_LOCATION: Option<String> = None;
/// During a server outage, one probe request at most this often.
const PROBE_INTERVAL: Duration = Duration::from_millis(500);
/// Start-up calls (readiness, metadata, the first inference) get at least this long.
const MIN_START_TIMEOUT: Duration = Duration::from_secs(5);

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
    backend: Backend,
    server_url: Option<String>,
    model_name: Option<String>,
    model_version: Option<String>,
    max_in_flight: u32,
    timeout_ms: u32,
    tls_ca_location: Option<String>,
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

/// Where inference runs.
enum Engine {
    Onnx(Arc<Model>),
    Remote(Box<Remote>),
}

/// A server's answer to one request and how long it took.
type Reply = (Result<kserve::Output, kserve::Error>, Duration);

/// `backend=ovms`: the client, its runtime and the frames waiting for answers.
struct Remote {
    /// Owned here, shut down with a timeout in `stop()`.
    runtime: Option<tokio::runtime::Runtime>,
    client: kserve::Client,
    spec: Arc<kserve::ImageModel>,
    model_name: Arc<str>,
    model_version: Arc<str>,
    /// Frames in arrival order; they leave in that order.
    queue: VecDeque<Pending>,
    /// Set while the server fails: frames pass without requests, a probe checks it.
    outage: Option<Instant>,
    probe: Option<mpsc::Receiver<Reply>>,
    last_probe: Option<Instant>,
    failures: u64,
}

/// A frame held until the answer for it (if it was sent) has come.
struct Pending {
    buffer: gst::Buffer,
    frame_number: u64,
    rt: Option<gst::ClockTime>,
    width: u32,
    height: u32,
    request: Option<Request>,
    /// Why there is no request (for the frame marker).
    skipped: Inference,
}

struct Request {
    rx: mpsc::Receiver<Reply>,
    letterbox: Letterbox,
    reply: Option<Reply>,
}

impl Request {
    /// Takes the answer if it has come; a request whose task vanished (runtime shut down)
    /// counts as failed.
    fn poll(&mut self) -> bool {
        if self.reply.is_none() {
            match self.rx.try_recv() {
                Ok(r) => self.reply = Some(r),
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.reply = Some((
                        Err(kserve::Error {
                            kind: kserve::ErrorKind::Unreachable,
                            message: "the request was abandoned".into(),
                        }),
                        Duration::ZERO,
                    ))
                }
            }
        }
        self.reply.is_some()
    }
}

/// What became of one answer, for messages posted once the lock is released.
enum Outcome {
    None,
    Failed(String),
    Resumed(Duration),
}

struct State {
    engine: Engine,
    input_width: usize,
    input_height: usize,
    /// Duration of one inference measured at start (reported as latency until frames
    /// have been inferred).
    warm_up: Duration,
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
    /// The frame marker's `model`.
    model: String,
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
    /// Upstream's minimum latency (from the latency query), when live.
    upstream_min: Option<gst::ClockTime>,
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

/// What `start()` learnt from the backend.
struct Started {
    engine: Engine,
    /// For the frame marker: the model file's stem or the server's model name.
    model: String,
    /// For messages: `'models/x.onnx'` or `'shapes' on grpc://...`.
    name: String,
    signature: String,
    input_width: usize,
    input_height: usize,
    output_shape: Vec<i64>,
    names_metadata: Option<String>,
    warm_up: Duration,
}

/// Shuts a runtime down: requests still in flight are abandoned and their tasks end with it
/// (bounded by one second: never a hang in a state change). On a thread of its own, as a
/// runtime cannot be dropped inside another one (an application's).
fn shut_down(runtime: tokio::runtime::Runtime) {
    std::thread::scope(|scope| {
        scope.spawn(|| runtime.shutdown_timeout(Duration::from_secs(1)));
    });
}

/// A start-up failure of the server backend as a GStreamer error.
fn server_error(url: &str, what: &str, e: &kserve::Error) -> gst::ErrorMessage {
    use kserve::ErrorKind;
    match e.kind {
        ErrorKind::Unreachable | ErrorKind::Timeout => gst::error_msg!(
            gst::ResourceError::OpenReadWrite,
            (
                "Cannot reach the inference server at {} ({}): {}",
                url,
                what,
                e
            )
        ),
        ErrorKind::NotFound => gst::error_msg!(
            gst::ResourceError::NotFound,
            (
                "The inference server at {} does not serve it ({}): {}",
                url,
                what,
                e
            )
        ),
        ErrorKind::Protocol => gst::error_msg!(
            gst::ResourceError::Read,
            (
                "The server at {} does not answer as a KServe v2 server ({}): {}",
                url,
                what,
                e
            )
        ),
        ErrorKind::Server => gst::error_msg!(
            gst::ResourceError::Failed,
            ("The inference server at {} failed ({}): {}", url, what, e)
        ),
    }
}

/// Where a frame stands: its size, its number and whether inference is due on it.
struct Frame {
    width: u32,
    height: u32,
    number: u64,
    due: bool,
}

impl State {
    /// Numbers the next frame (inference every `interval` frames); `None` before caps.
    fn next_frame(&mut self, interval: u32) -> Option<Frame> {
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
    fn no_caps_error(&self) -> gst::FlowError {
        gst::element_imp_error!(
            self,
            gst::CoreError::Negotiation,
            ("No caps before the first buffer")
        );
        gst::FlowError::NotNegotiated
    }

    fn start_onnx(&self, settings: &Settings) -> Result<Started, gst::ErrorMessage> {
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
        Ok(Started {
            name: format!("'{}'", options.path.display()),
            model: options
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            signature: model.info.signature.clone(),
            input_width: model.info.input_width,
            input_height: model.info.input_height,
            output_shape: model.info.output_shape.clone(),
            names_metadata: model.info.names_metadata.clone(),
            warm_up: model.info.warm_up,
            engine: Engine::Onnx(model),
        })
    }

    /// `backend=ovms`: checks the server and the model, reads the metadata and runs one
    /// inference (resolves dynamic output shapes, measures the round trip).
    fn start_remote(&self, settings: &Settings) -> Result<Started, gst::ErrorMessage> {
        let Some(url) = settings.server_url.clone().filter(|u| !u.trim().is_empty()) else {
            return Err(gst::error_msg!(
                gst::ResourceError::NotFound,
                ("backend=ovms needs server-url: grpc://host:port (gRPC) or http://host:port (REST)")
            ));
        };
        let parsed = kserve::parse_url(&url)
            .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
        let Some(model_name) = settings.model_name.clone().filter(|m| !m.is_empty()) else {
            return Err(gst::error_msg!(
                gst::ResourceError::NotFound,
                ("backend=ovms needs model-name: the name the server serves the model under")
            ));
        };
        let version = settings.model_version.clone().unwrap_or_default();
        let timeout = Duration::from_millis(u64::from(settings.timeout_ms.max(1)));
        let extra_roots = match settings.tls_ca_location.as_deref() {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::OpenRead,
                    ("Cannot read tls-ca-location '{}': {}", path, e)
                )
            })?),
            None => None,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("rsinfer-ovms")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| {
                gst::error_msg!(
                    gst::LibraryError::Init,
                    ("Cannot start the network runtime: {}", e)
                )
            })?;
        let start_client = {
            let _guard = runtime.enter();
            kserve::Client::new(
                &parsed,
                timeout.max(MIN_START_TIMEOUT),
                extra_roots.as_deref(),
            )
        }
        .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
        let client = {
            let _guard = runtime.enter();
            kserve::Client::new(&parsed, timeout, extra_roots.as_deref())
        }
        .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
        let model_desc = if version.is_empty() {
            format!("model '{model_name}'")
        } else {
            format!("model '{model_name}' version {version}")
        };

        // On a thread of its own: the application may itself run inside a tokio runtime,
        // where block_on would panic.
        let checked = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    runtime.block_on(async {
                        let ready = start_client
                            .server_ready()
                            .await
                            .map_err(|e| server_error(&url, "server readiness", &e))?;
                        if !ready {
                            return Err(gst::error_msg!(
                                gst::ResourceError::Busy,
                                ("The inference server at {} is not ready", url)
                            ));
                        }
                        let ready = start_client
                            .model_ready(&model_name, &version)
                            .await
                            .map_err(|e| {
                                server_error(&url, &format!("{model_desc} readiness"), &e)
                            })?;
                        if !ready {
                            return Err(gst::error_msg!(
                                gst::ResourceError::NotFound,
                                (
                                    "The inference server at {} has {} but it is not ready",
                                    url,
                                    model_desc
                                )
                            ));
                        }
                        let meta = start_client
                            .model_metadata(&model_name, &version)
                            .await
                            .map_err(|e| {
                                server_error(&url, &format!("{model_desc} metadata"), &e)
                            })?;
                        let spec = kserve::image_model(&meta).map_err(|e| {
                            gst::error_msg!(
                                gst::StreamError::WrongType,
                                ("The {} on {} cannot take images: {}", model_desc, url, e)
                            )
                        })?;
                        // One inference on a grey image: catches a model that fails at run time and
                        // resolves dynamic output dimensions.
                        let zeros = vec![0.5f32; 3 * spec.input_width * spec.input_height];
                        let shape = [1, 3, spec.input_height as i64, spec.input_width as i64];
                        let started = Instant::now();
                        let out = start_client
                            .infer(
                                &model_name,
                                &version,
                                &spec,
                                &shape,
                                kserve::tensor_bytes(&zeros),
                            )
                            .await
                            .map_err(|e| {
                                server_error(&url, &format!("first inference on {model_desc}"), &e)
                            })?;
                        let first = started.elapsed();
                        // The first call may pay for connections and allocations: measure a second.
                        let started = Instant::now();
                        let second = start_client
                            .infer(
                                &model_name,
                                &version,
                                &spec,
                                &shape,
                                kserve::tensor_bytes(&zeros),
                            )
                            .await
                            .is_ok();
                        let warm_up = if second { started.elapsed() } else { first };
                        Ok((meta, spec, out.shape, warm_up))
                    })
                })
                .join()
                .unwrap_or_else(|_| {
                    Err(gst::error_msg!(
                        gst::LibraryError::Failed,
                        ("The server checks panicked")
                    ))
                })
        });
        let (meta, spec, output_shape, warm_up) = match checked {
            Ok(c) => c,
            Err(e) => {
                shut_down(runtime);
                return Err(e);
            }
        };
        drop(start_client);
        gst::info!(
            CAT,
            imp = self,
            "Server {} ({:?}{}): {} ready: {}; output {:?}, round trip {:?}",
            url,
            parsed.transport,
            if parsed.tls { ", TLS" } else { "" },
            model_desc,
            meta.signature(),
            output_shape,
            warm_up
        );
        Ok(Started {
            name: format!("{model_desc} on {url}"),
            model: model_name.to_string(),
            signature: meta.signature(),
            input_width: spec.input_width,
            input_height: spec.input_height,
            output_shape,
            names_metadata: None,
            warm_up,
            engine: Engine::Remote(Box::new(Remote {
                runtime: Some(runtime),
                client,
                spec: Arc::new(spec),
                model_name: model_name.into(),
                model_version: version.into(),
                queue: VecDeque::new(),
                outage: None,
                probe: None,
                last_probe: None,
                failures: 0,
            })),
        })
    }

    fn load_labels(
        &self,
        settings: &Settings,
        names_metadata: Option<&str>,
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
        } else if let Some(names) = names_metadata.and_then(yolo::parse_ultralytics_names) {
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

    /// Converts one frame into `state.tensor` (the model input). Called with the state lock
    /// held: errors are returned, the caller posts them once the lock is released.
    fn prepare_tensor(&self, state: &mut State, buf: &gst::BufferRef) -> Result<(), StreamFailure> {
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
        })
    }

    /// Re-resolves the class filter when the `classes` property changed.
    fn update_filter(state: &mut State, settings: &Settings, warnings: &mut Vec<String>) {
        if state.filter.source == settings.classes {
            return;
        }
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

    /// Decodes one output tensor into `state.scratch.candidates` (the same for both
    /// backends).
    fn decode_output(
        state: &mut State,
        settings: &Settings,
        shape: &[i64],
        data: &[f32],
    ) -> Result<(), String> {
        let layout = state.layout;
        if shape.len() == 3 && (shape[1] as usize * shape[2] as usize) < layout.len() {
            return Err(format!("output shape {shape:?} changed, {layout} expected"));
        }
        let keep = state.filter.keep.as_deref();
        let keep_class = |c: usize| keep.is_none_or(|k| k.get(c).copied().unwrap_or(false));
        yolo::decode(
            layout,
            data,
            settings.conf_threshold,
            &keep_class,
            &mut state.scratch,
        )
    }

    /// NMS on the decoded candidates and the mapping back to frame pixels through `lb`.
    fn detections(state: &mut State, settings: &Settings, lb: &Letterbox) -> Vec<Detection> {
        // End-to-end models did their own NMS; per-class NMS is still harmless and applies
        // max-detections.
        yolo::nms_per_class(
            &mut state.scratch.candidates,
            settings.iou_threshold,
            settings.max_detections as usize,
        );
        let (fw, fh) = (lb.frame_width as f64, lb.frame_height as f64);
        state
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
                    tracking: None,
                })
            })
            .collect()
    }

    /// Local inference (ONNX Runtime) on one mapped frame; returns the detections in frame
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
        let Engine::Onnx(model) = &state.engine else {
            return Err(StreamFailure(gst::FlowError::Error, None));
        };
        let model = model.clone();
        // Moved out for the call (no copy) so the decoder may borrow the state.
        let tensor = std::mem::take(&mut state.tensor);
        let decoded = model.run(&tensor, |shape, data| {
            Self::decode_output(state, settings, shape, data)
        });
        state.tensor = tensor;
        let decoded = decoded.map_err(|e| {
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
        let lb = *pre_letterbox(state);
        Ok(Self::detections(state, settings, &lb))
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
        // A non-live pipeline (a file) has no deadline: every frame counts. Neither has a live
        // one whose sinks do not synchronise (e.g. recording to a file, sync=false): the bin
        // then configures a latency of 0, below what live upstream needs, and buffers are
        // never due at a clock time.
        let synchronised = matches!(
            (qos.latency, qos.upstream_min),
            (Some(latency), Some(min)) if latency > gst::ClockTime::ZERO && latency >= min
        );
        if qos.live && synchronised {
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

/// `backend=ovms`: frames wait in `Remote::queue` for their answers and leave in order.
impl RsInfer {
    fn is_remote(&self) -> bool {
        matches!(
            self.state.lock().unwrap().as_ref().map(|s| &s.engine),
            Some(Engine::Remote(_))
        )
    }

    /// Sends one request on the runtime; the answer arrives on the returned channel.
    fn send(remote: &Remote, tensor: &[f32], width: usize, height: usize) -> mpsc::Receiver<Reply> {
        let (tx, rx) = mpsc::channel();
        let client = remote.client.clone();
        let spec = remote.spec.clone();
        let name = remote.model_name.clone();
        let version = remote.model_version.clone();
        let raw = kserve::tensor_bytes(tensor);
        let shape = [1, 3, height as i64, width as i64];
        if let Some(rt) = remote.runtime.as_ref() {
            rt.spawn(async move {
                let started = Instant::now();
                let r = client.infer(&name, &version, &spec, &shape, raw).await;
                let _ = tx.send((r, started.elapsed()));
            });
        }
        rx
    }

    /// A probe's answer ends the outage (or not).
    fn poll_probe(&self, remote: &mut Remote) -> Outcome {
        let Some(rx) = remote.probe.as_ref() else {
            return Outcome::None;
        };
        match rx.try_recv() {
            Ok((Ok(_), _)) => {
                remote.probe = None;
                match remote.outage.take() {
                    Some(since) => Outcome::Resumed(since.elapsed()),
                    None => Outcome::None,
                }
            }
            Ok((Err(e), _)) => {
                remote.probe = None;
                remote.failures += 1;
                gst::debug!(CAT, imp = self, "Probe failed: {}", e);
                Outcome::None
            }
            Err(mpsc::TryRecvError::Empty) => Outcome::None,
            Err(mpsc::TryRecvError::Disconnected) => {
                remote.probe = None;
                Outcome::None
            }
        }
    }

    fn post_outcome(&self, outcome: Outcome, settings: &Settings) {
        let url = settings.server_url.as_deref().unwrap_or_default();
        match outcome {
            Outcome::None => {}
            Outcome::Failed(e) => gst::element_imp_warning!(
                self,
                gst::ResourceError::Read,
                (
                    "Inference server {} failed: {}; frames pass without new detections until it answers again",
                    url,
                    e
                )
            ),
            Outcome::Resumed(after) => gst::element_imp_info!(
                self,
                gst::ResourceError::Read,
                (
                    "Inference server {} answers again after {:.1} s",
                    url,
                    after.as_secs_f64()
                )
            ),
        }
    }

    fn submit_remote(&self, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap().clone();
        let rt = self.running_time(&buffer);
        let late = settings.qos && self.is_late(rt, buffer.duration());

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
        let Engine::Remote(remote) = &mut state.engine else {
            return Err(gst::FlowError::Error);
        };
        let outcome = self.poll_probe(remote);
        // In an outage frames do not wait for a server that does not answer: only a probe
        // (its answer unused) goes out now and then.
        let send = match remote.outage {
            None => Some(false),
            Some(_) => (remote.probe.is_none()
                && remote
                    .last_probe
                    .is_none_or(|t| t.elapsed() >= PROBE_INTERVAL))
            .then_some(true),
        };
        let mut request = None;
        let mut skipped = if late {
            Inference::Late
        } else if due {
            Inference::Unavailable
        } else {
            Inference::Interval
        };
        if due && !late {
            if let Some(is_probe) = send {
                if let Err(StreamFailure(flow, error)) = self.prepare_tensor(state, &buffer) {
                    drop(guard);
                    if let Some(error) = error {
                        self.post_error_message(error);
                    }
                    return Err(flow);
                }
                let letterbox = *pre_letterbox(state);
                let (w, h) = (state.input_width, state.input_height);
                let Engine::Remote(remote) = &mut state.engine else {
                    return Err(gst::FlowError::Error);
                };
                let rx = Self::send(remote, &state.tensor, w, h);
                if is_probe {
                    gst::debug!(
                        CAT,
                        imp = self,
                        "Probing the server with frame {}",
                        frame_number
                    );
                    remote.probe = Some(rx);
                    remote.last_probe = Some(Instant::now());
                } else {
                    request = Some(Request {
                        rx,
                        letterbox,
                        reply: None,
                    });
                    skipped = Inference::Inferred;
                }
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
        let Engine::Remote(remote) = &mut state.engine else {
            return Err(gst::FlowError::Error);
        };
        remote.queue.push_back(Pending {
            buffer,
            frame_number,
            rt,
            width,
            height,
            request,
            skipped,
        });
        drop(guard);
        self.post_outcome(outcome, &settings);
        Ok(gst::FlowSuccess::Ok)
    }

    /// The oldest frame, once its answer has come or when `max-in-flight` requests are out
    /// (then it waits for its answer, at most `timeout`).
    fn generate_remote(
        &self,
    ) -> Result<gst_base::subclass::base_transform::GenerateOutputSuccess, gst::FlowError> {
        use gst_base::subclass::base_transform::GenerateOutputSuccess;
        let max = self.settings.lock().unwrap().max_in_flight.max(1) as usize;
        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let Engine::Remote(remote) = &mut state.engine else {
            return Ok(GenerateOutputSuccess::NoOutput);
        };
        let in_flight = remote
            .queue
            .iter_mut()
            .filter_map(|p| p.request.as_mut())
            .map(|r| r.poll())
            .filter(|ready| !ready)
            .count();
        let Some(front) = remote.queue.front() else {
            return Ok(GenerateOutputSuccess::NoOutput);
        };
        let ready = front.request.as_ref().is_none_or(|r| r.reply.is_some());
        if !ready && in_flight < max {
            return Ok(GenerateOutputSuccess::NoOutput);
        }
        let pending = remote.queue.pop_front().expect("front exists");
        drop(guard);
        self.finish_pending(pending)
            .map(GenerateOutputSuccess::Buffer)
    }

    fn flushing(&self) -> bool {
        self.obj()
            .sink_pad()
            .pad_flags()
            .contains(gst::PadFlags::FLUSHING)
    }

    /// Waits (without a lock) for the frame's answer, decodes it and attaches the
    /// detections; posts what there is to post.
    fn finish_pending(&self, mut pending: Pending) -> Result<gst::Buffer, gst::FlowError> {
        if let Some(req) = pending.request.as_mut() {
            while req.reply.is_none() {
                if self.flushing() {
                    return Err(gst::FlowError::Flushing);
                }
                match req.rx.recv_timeout(Duration::from_millis(20)) {
                    Ok(r) => req.reply = Some(r),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        req.poll();
                    }
                }
            }
        }
        let settings = self.settings.lock().unwrap().clone();
        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let mut warnings = Vec::new();
        let mut outcome = Outcome::None;
        let mut took = None;
        let mut inferred = false;
        if let Some(req) = pending.request.take() {
            let (reply, round_trip) = req.reply.expect("waited for");
            let result = reply.map_err(|e| e.to_string()).and_then(|out| {
                Self::update_filter(state, &settings, &mut warnings);
                Self::decode_output(state, &settings, &out.shape, &out.data)
                    .map_err(|e| format!("bad model output: {e}"))?;
                Ok(Self::detections(state, &settings, &req.letterbox))
            });
            let Engine::Remote(remote) = &mut state.engine else {
                return Err(gst::FlowError::Flushing);
            };
            match result {
                Ok(dets) => {
                    state.latest = dets;
                    state.inferred += 1;
                    inferred = true;
                    took = Some(round_trip);
                    if let Some(since) = remote.outage.take() {
                        outcome = Outcome::Resumed(since.elapsed());
                    }
                }
                Err(e) => {
                    remote.failures += 1;
                    state.latest.clear();
                    gst::debug!(
                        CAT,
                        imp = self,
                        "Frame {}: request failed: {}",
                        pending.frame_number,
                        e
                    );
                    if remote.outage.is_none() {
                        remote.outage = Some(Instant::now());
                        remote.last_probe = Some(Instant::now());
                        outcome = Outcome::Failed(e);
                    }
                }
            }
        }
        let buf = pending.buffer.make_mut();
        let first_id = detection::count(buf) as i32;
        detection::attach(buf, &state.latest, pending.width, pending.height, first_id);
        let inference = if inferred {
            Inference::Inferred
        } else if pending.skipped == Inference::Inferred {
            // Its request failed.
            Inference::Unavailable
        } else {
            pending.skipped
        };
        self.mark(buf, state, pending.frame_number, inference);
        let message = (inferred && settings.post_messages)
            .then(|| self.detections_message(buf, pending.frame_number, &state.latest));
        drop(guard);

        for w in warnings {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", w));
        }
        self.post_outcome(outcome, &settings);
        self.record_frame(pending.rt, took);
        if let Some(msg) = message {
            let _ = self.obj().post_message(msg);
        }
        Ok(pending.buffer)
    }

    /// Pushes every held frame (waiting for their answers): before EOS and any other
    /// serialized event, so nothing overtakes them and nothing is lost.
    fn drain(&self) {
        loop {
            let pending = {
                let mut guard = self.state.lock().unwrap();
                match guard.as_mut().map(|s| &mut s.engine) {
                    Some(Engine::Remote(remote)) => remote.queue.pop_front(),
                    _ => None,
                }
            };
            let Some(pending) = pending else {
                break;
            };
            let pushed = self
                .finish_pending(pending)
                .and_then(|buf| self.obj().src_pad().push(buf));
            if let Err(e) = pushed {
                gst::debug!(CAT, imp = self, "Drain stopped: {:?}", e);
                self.discard();
                break;
            }
        }
    }

    /// Drops every held frame (flush).
    fn discard(&self) {
        let mut guard = self.state.lock().unwrap();
        if let Some(Engine::Remote(remote)) = guard.as_mut().map(|s| &mut s.engine) {
            if !remote.queue.is_empty() {
                gst::debug!(
                    CAT,
                    imp = self,
                    "Discarding {} held frames",
                    remote.queue.len()
                );
            }
            remote.queue.clear();
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
                    .nick("Maximum requests in flight")
                    .blurb("backend=ovms: requests sent before waiting for the oldest answer (frames still leave in order)")
                    .minimum(1)
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
            "backend" => s.backend.to_value(),
            "server-url" => s.server_url.to_value(),
            "model-name" => s.model_name.to_value(),
            "model-version" => s.model_version.to_value(),
            "max-in-flight" => s.max_in_flight.to_value(),
            "timeout" => s.timeout_ms.to_value(),
            "tls-ca-location" => s.tls_ca_location.to_value(),
            _ => unimplemented!(),
        }
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
        let started = match settings.backend {
            Backend::Onnx => self.start_onnx(&settings)?,
            Backend::Ovms => self.start_remote(&settings)?,
        };
        let hint = match settings.model_type {
            ModelType::Auto => LayoutHint::Auto,
            ModelType::YoloV5 => LayoutHint::YoloV5,
            ModelType::YoloV8 => LayoutHint::YoloV8,
            ModelType::EndToEnd => LayoutHint::EndToEnd,
        };
        let layout = yolo::detect_layout(
            &started.output_shape,
            started.input_width,
            started.input_height,
            hint,
        )
        .map_err(|e| {
            gst::error_msg!(
                gst::StreamError::WrongType,
                (
                    "Model {}: {}; the model has {}",
                    started.name,
                    e,
                    started.signature
                )
            )
        })?;
        gst::info!(CAT, imp = self, "Decoding as {}", layout);
        let labels = self.load_labels(
            &settings,
            started.names_metadata.as_deref(),
            layout.classes(),
        )?;

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
            engine: started.engine,
            input_width: started.input_width,
            input_height: started.input_height,
            warm_up: started.warm_up,
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
            if let Engine::Remote(mut remote) = state.engine {
                let dropped = remote.queue.len();
                remote.queue.clear();
                if let Some(rt) = remote.runtime.take() {
                    shut_down(rt);
                }
                gst::debug!(
                    CAT,
                    imp = self,
                    "Server client stopped ({} held frames dropped, {} failed requests)",
                    dropped,
                    remote.failures
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
            self.discard();
        } else if event.is_serialized() && self.is_remote() {
            self.drain();
        }
        self.parent_sink_event(event)
    }

    fn submit_input_buffer(
        &self,
        is_discont: bool,
        inbuf: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        if self.is_remote() {
            self.submit_remote(inbuf)
        } else {
            self.parent_submit_input_buffer(is_discont, inbuf)
        }
    }

    fn generate_output(
        &self,
    ) -> Result<gst_base::subclass::base_transform::GenerateOutputSuccess, gst::FlowError> {
        if self.is_remote() {
            self.generate_remote()
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
                let warm_up = self
                    .state
                    .lock()
                    .unwrap()
                    .as_ref()
                    .map(|s| s.warm_up)
                    .unwrap_or_default();
                let (live, min, max) = q.result();
                let ours = {
                    let mut qos = self.qos.lock().unwrap();
                    qos.live = live;
                    qos.upstream_min = live.then_some(min);
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
    fn mark(
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
