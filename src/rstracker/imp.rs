/**
 * element-rstracker:
 *
 * Multi-object tracking: gives each detected object a stable id over time. A pass-through on
 * raw video (I420, NV12, RGB, BGR, RGBA, BGRA, RGBx, BGRx): pixels are never touched; only
 * the metadata changes. It reads the detections on each buffer (the region metas of
 * rsinfer, DL Streamer's gvadetect, or bare regions), and writes into each one it keeps a
 * `tracking` structure (`id` guint64, `predicted`, `frames_ago`, `lost`, `hits`,
 * `first_seen`, `velocity_x`, `velocity_y`) and DL Streamer's `object_id` structure (`id`
 * gint). Detections that are not (or not yet) a confirmed track are removed, unless
 * `keep-untracked`: nothing unconfirmed ever carries an id.
 *
 * The algorithm is ByteTrack's two-stage association (high-confidence detections, then
 * low-confidence ones for existing tracks) on a Kalman filter stepped by the buffers'
 * timestamps, with OC-SORT-style recovery of tracks whose prediction drifted during an
 * occlusion, tentative tracks that take an id only once seen on `min-hits` detector frames
 * (ids are dense, 64-bit, unique for the element's lifetime), and lost tracks freed as soon
 * as they expire (`lost-track-time`, longer for stopped ones: `stopped-lost-time`) or leave
 * the frame; `max-tracks` bounds memory.
 *
 * Frames the detector did not run on (rsinfer's `RsvisionInferenceMeta` with
 * `inferred=false`: `inference-interval`, QoS, a server outage) carry every live track at
 * its predicted position instead of the detector's stale copies (`predicted=true`,
 * `frames_ago` > 0). A track missed by the detector is still shown at its prediction for
 * `coast-time`. Frames without a marker (a foreign detector) count as detector frames.
 *
 * Classes (`class-mode`): `per-class` (a `car` track never takes a `person` box),
 * `agnostic`, or `groups` (`class-groups=car,truck,bus;person`). The track's label is a vote
 * over its detections, stable under label flicker.
 *
 * Events: `entry` when a track is confirmed, `moving` / `stopped` when its speed crosses
 * `stop-speed` (box sizes per second, with hysteresis), `exit` when it ends. Each is an
 * element message `rstracker-event` (with `post-messages`) and is listed in the frame's
 * `RsvisionTrackerMeta` custom meta (`events`); tracks ended by EOS, a flush or a new stream
 * travel downstream as a custom `rstracker-events` event before it (see
 * [`crate::detection::tracking`] for every field). A caps change to another size scales the
 * tracks to it, with an info message.
 *
 * ## Example launch line
 * ```text
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.1 inference-interval=3 ! rstracker ! rsoverlay ! videoconvert ! autovideosink
 * ```
 *
 * Since: plugins-rs-0.1.0
 */
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::{meta, ClassMode};
use crate::detection::{self, TrackEvent, TrackerFrame};
use crate::tracker::{self, Config, Event, Observation, Tracker};
use crate::video;

// Lock order: `settings` and `next_id` are leaf locks, taken alone; `state` is taken by the
// streaming thread and the state changes, never while posting, pushing or taking another.

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rstracker",
        gst::DebugColorFlags::empty(),
        Some("rsvision multi-object tracker"),
    )
});

// The tracker's own defaults are the properties' defaults.
use crate::tracker::config::{
    DEFAULT_COAST_TIME_MS as DEFAULT_COAST_TIME, DEFAULT_HIGH_THRESHOLD,
    DEFAULT_LOST_TRACK_TIME_MS as DEFAULT_LOST_TRACK_TIME, DEFAULT_LOW_THRESHOLD,
    DEFAULT_MATCH_IOU, DEFAULT_MAX_TRACKS, DEFAULT_MIN_HITS, DEFAULT_NEW_TRACK_THRESHOLD,
    DEFAULT_STOPPED_LOST_TIME_MS as DEFAULT_STOPPED_LOST_TIME, DEFAULT_STOP_SPEED,
};
const DEFAULT_CLASS_MODE: ClassMode = ClassMode::PerClass;
const DEFAULT_KEEP_UNTRACKED: bool = false;
const DEFAULT_POST_MESSAGES: bool = true;
const MS: u64 = 1_000_000;

#[derive(Debug, Clone)]
struct Settings {
    high_threshold: f64,
    low_threshold: f64,
    new_track_threshold: f64,
    match_iou: f64,
    min_hits: u32,
    lost_track_time: u32,
    stopped_lost_time: u32,
    coast_time: u32,
    class_mode: ClassMode,
    class_groups: Option<String>,
    max_tracks: u32,
    stop_speed: f64,
    keep_untracked: bool,
    post_messages: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            high_threshold: DEFAULT_HIGH_THRESHOLD,
            low_threshold: DEFAULT_LOW_THRESHOLD,
            new_track_threshold: DEFAULT_NEW_TRACK_THRESHOLD,
            match_iou: DEFAULT_MATCH_IOU,
            min_hits: DEFAULT_MIN_HITS,
            lost_track_time: DEFAULT_LOST_TRACK_TIME,
            stopped_lost_time: DEFAULT_STOPPED_LOST_TIME,
            coast_time: DEFAULT_COAST_TIME,
            class_mode: DEFAULT_CLASS_MODE,
            class_groups: None,
            max_tracks: DEFAULT_MAX_TRACKS,
            stop_speed: DEFAULT_STOP_SPEED,
            keep_untracked: DEFAULT_KEEP_UNTRACKED,
            post_messages: DEFAULT_POST_MESSAGES,
        }
    }
}

impl Settings {
    /// The tracker configuration, or why these settings make none.
    fn config(&self, base: &Config) -> Result<Config, String> {
        if self.low_threshold > self.high_threshold {
            return Err(format!(
                "low-threshold {} is above high-threshold {}",
                self.low_threshold, self.high_threshold
            ));
        }
        if self.new_track_threshold < self.high_threshold {
            return Err(format!(
                "new-track-threshold {} is below high-threshold {}: only high-confidence detections start tracks",
                self.new_track_threshold, self.high_threshold
            ));
        }
        let class_groups = match self.class_groups.as_deref() {
            Some(spec) => tracker::parse_class_groups(spec)
                .map_err(|e| format!("Invalid class-groups '{spec}': {e}"))?,
            None => Vec::new(),
        };
        if self.class_mode == ClassMode::Groups && class_groups.is_empty() {
            return Err("class-mode=groups needs class-groups (e.g. car,truck,bus;person)".into());
        }
        Ok(Config {
            high_threshold: self.high_threshold,
            low_threshold: self.low_threshold,
            new_track_threshold: self.new_track_threshold,
            match_iou: self.match_iou,
            min_hits: self.min_hits,
            lost_track_time: u64::from(self.lost_track_time) * MS,
            stopped_lost_time: u64::from(self.stopped_lost_time) * MS,
            coast_time: u64::from(self.coast_time) * MS,
            class_mode: self.class_mode.into(),
            class_groups,
            max_tracks: self.max_tracks as usize,
            stop_speed: self.stop_speed,
            frame_period: base.frame_period,
            frame_size: base.frame_size,
        })
    }
}

struct State {
    tracker: Tracker,
    width: u32,
    height: u32,
    /// PTS and running time of the latest buffer (for events at stream boundaries).
    last_pts: Option<u64>,
    last_running_time: Option<u64>,
    /// The settings error already warned about while playing.
    warned: Option<String>,
    predicted_frames: u64,
}

#[derive(Default)]
pub struct RsTracker {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// The next id, kept across restarts: ids are unique for the element's lifetime.
    next_id: Mutex<u64>,
}

#[glib::object_subclass]
impl ObjectSubclass for RsTracker {
    const NAME: &'static str = "GstRsTracker";
    type Type = super::RsTracker;
    type ParentType = gst_base::BaseTransform;
}

/// Converts a tracker event to the contract's form.
fn track_event(e: &Event, pts: Option<u64>, running_time: Option<u64>) -> TrackEvent {
    TrackEvent {
        track_id: e.id,
        event: e.kind.as_str().to_string(),
        reason: e.reason.map(|r| r.as_str().to_string()).unwrap_or_default(),
        label: e.label.to_string(),
        label_id: e.label_id,
        x: e.bbox.x1,
        y: e.bbox.y1,
        width: e.bbox.width(),
        height: e.bbox.height(),
        confidence: e.confidence,
        pts,
        running_time,
        first_seen: Some(e.first_seen),
        last_seen: Some(e.last_seen),
        hits: e.hits,
        velocity: e.velocity,
    }
}

impl RsTracker {
    fn post_events(&self, events: &[TrackEvent]) {
        for e in events {
            let msg = gst::message::Element::builder(e.to_structure())
                .src(&*self.obj())
                .build();
            let _ = self.obj().post_message(msg);
        }
    }

    /// Ends every track (EOS, flush, new stream, stop); returns their `exit` events.
    fn end_tracks(&self, why: &str) -> Vec<TrackEvent> {
        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Vec::new();
        };
        let events: Vec<TrackEvent> = state
            .tracker
            .end_all()
            .iter()
            .map(|e| track_event(e, state.last_pts, state.last_running_time))
            .collect();
        if !events.is_empty() {
            gst::debug!(CAT, imp = self, "{}: {} tracks end", why, events.len());
        }
        events
    }

    /// Ends the tracks, announces their exits downstream (`before` the stream event) and on
    /// the bus.
    fn end_and_announce(&self, why: &str) {
        let events = self.end_tracks(why);
        if events.is_empty() {
            return;
        }
        if self.settings.lock().unwrap().post_messages {
            self.post_events(&events);
        }
        let _ = self
            .obj()
            .src_pad()
            .push_event(detection::tracking::events_event(&events));
    }

    fn stats(&self) -> gst::Structure {
        let guard = self.state.lock().unwrap();
        let (s, live, confirmed, predicted) = match guard.as_ref() {
            Some(st) => (
                st.tracker.stats(),
                st.tracker.live_tracks(),
                st.tracker.confirmed_tracks(),
                st.predicted_frames,
            ),
            None => (Default::default(), 0, 0, 0),
        };
        gst::Structure::builder("rstracker-stats")
            .field("frames", s.frames)
            .field("detection-frames", s.detection_frames)
            .field("predicted-frames", predicted)
            .field("ids", s.ids)
            .field("live-tracks", live as u64)
            .field("confirmed-tracks", confirmed as u64)
            .field("discarded-tentative", s.discarded_tentative)
            .field("refused", s.refused)
            .field("evicted", s.evicted)
            .build()
    }
}

impl ObjectImpl for RsTracker {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let ratio =
                |name: &'static str, nick: &'static str, blurb: &'static str, default: f64| {
                    glib::ParamSpecDouble::builder(name)
                        .nick(nick)
                        .blurb(blurb)
                        .minimum(0.0)
                        .maximum(1.0)
                        .default_value(default)
                        .mutable_playing()
                        .build()
                };
            let ms = |name: &'static str, nick: &'static str, blurb: &'static str, default: u32| {
                glib::ParamSpecUInt::builder(name)
                    .nick(nick)
                    .blurb(blurb)
                    .maximum(3_600_000)
                    .default_value(default)
                    .mutable_playing()
                    .build()
            };
            vec![
                ratio(
                    "high-threshold",
                    "High threshold",
                    "Detections at or above this confidence take part in the first association stage",
                    DEFAULT_HIGH_THRESHOLD,
                ),
                ratio(
                    "low-threshold",
                    "Low threshold",
                    "Detections below this are ignored; from here to high-threshold they only extend existing tracks",
                    DEFAULT_LOW_THRESHOLD,
                ),
                ratio(
                    "new-track-threshold",
                    "New track threshold",
                    "Confidence a detection needs to start a new track (at least high-threshold)",
                    DEFAULT_NEW_TRACK_THRESHOLD,
                ),
                ratio(
                    "match-iou",
                    "Match IoU",
                    "A track and a high-confidence detection match when their IoU times the confidence reaches this",
                    DEFAULT_MATCH_IOU,
                ),
                glib::ParamSpecUInt::builder("min-hits")
                    .nick("Minimum hits")
                    .blurb("Detector frames a new track must be seen on, in a row, before it is confirmed and takes an id")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_MIN_HITS)
                    .mutable_playing()
                    .build(),
                ms(
                    "lost-track-time",
                    "Lost track time",
                    "Milliseconds a track keeps its id without detections (at least two detector periods)",
                    DEFAULT_LOST_TRACK_TIME,
                ),
                ms(
                    "stopped-lost-time",
                    "Stopped lost time",
                    "Milliseconds a stopped track keeps its id without detections (e.g. a parked car behind passers-by)",
                    DEFAULT_STOPPED_LOST_TIME,
                ),
                ms(
                    "coast-time",
                    "Coast time",
                    "Milliseconds a track missed by the detector is still output at its predicted position (at least one detector period)",
                    DEFAULT_COAST_TIME,
                ),
                glib::ParamSpecEnum::builder_with_default("class-mode", DEFAULT_CLASS_MODE)
                    .nick("Class mode")
                    .blurb("Which detections a track may take")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("class-groups")
                    .nick("Class groups")
                    .blurb("For class-mode=groups: labels (or class ids) that share tracks, e.g. car,truck,bus;person")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("max-tracks")
                    .nick("Maximum tracks")
                    .blurb("Live tracks at most (memory bound); beyond, the oldest lost track makes room, else new ones are refused and counted")
                    .minimum(1)
                    .maximum(1_000_000)
                    .default_value(DEFAULT_MAX_TRACKS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("stop-speed")
                    .nick("Stop speed")
                    .blurb("A track is stopped below this speed and moving above twice it, in box sizes per second")
                    .minimum(0.0)
                    .maximum(1000.0)
                    .default_value(DEFAULT_STOP_SPEED)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("keep-untracked")
                    .nick("Keep untracked")
                    .blurb("Leave detections that are not a confirmed track on the buffer (without an id) instead of removing them")
                    .default_value(DEFAULT_KEEP_UNTRACKED)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("post-messages")
                    .nick("Post messages")
                    .blurb("Post an rstracker-event element message for every track event")
                    .default_value(DEFAULT_POST_MESSAGES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("rstracker-stats: frames, detection-frames, predicted-frames, ids, live-tracks, confirmed-tracks, discarded-tentative, refused, evicted")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap();
        match pspec.name() {
            "high-threshold" => s.high_threshold = value.get().expect("type checked upstream"),
            "low-threshold" => s.low_threshold = value.get().expect("type checked upstream"),
            "new-track-threshold" => {
                s.new_track_threshold = value.get().expect("type checked upstream")
            }
            "match-iou" => s.match_iou = value.get().expect("type checked upstream"),
            "min-hits" => s.min_hits = value.get().expect("type checked upstream"),
            "lost-track-time" => s.lost_track_time = value.get().expect("type checked upstream"),
            "stopped-lost-time" => {
                s.stopped_lost_time = value.get().expect("type checked upstream")
            }
            "coast-time" => s.coast_time = value.get().expect("type checked upstream"),
            "class-mode" => s.class_mode = value.get().expect("type checked upstream"),
            "class-groups" => {
                s.class_groups = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|v| !v.trim().is_empty())
            }
            "max-tracks" => s.max_tracks = value.get().expect("type checked upstream"),
            "stop-speed" => s.stop_speed = value.get().expect("type checked upstream"),
            "keep-untracked" => s.keep_untracked = value.get().expect("type checked upstream"),
            "post-messages" => s.post_messages = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "stats" {
            return self.stats().to_value();
        }
        let s = self.settings.lock().unwrap();
        match pspec.name() {
            "high-threshold" => s.high_threshold.to_value(),
            "low-threshold" => s.low_threshold.to_value(),
            "new-track-threshold" => s.new_track_threshold.to_value(),
            "match-iou" => s.match_iou.to_value(),
            "min-hits" => s.min_hits.to_value(),
            "lost-track-time" => s.lost_track_time.to_value(),
            "stopped-lost-time" => s.stopped_lost_time.to_value(),
            "coast-time" => s.coast_time.to_value(),
            "class-mode" => s.class_mode.to_value(),
            "class-groups" => s.class_groups.to_value(),
            "max-tracks" => s.max_tracks.to_value(),
            "stop-speed" => s.stop_speed.to_value(),
            "keep-untracked" => s.keep_untracked.to_value(),
            "post-messages" => s.post_messages.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for RsTracker {}

impl ElementImpl for RsTracker {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "rsvision object tracker",
                "Filter/Analyzer/Video",
                "Gives detected objects stable ids over time, predicts their boxes between detector runs, posts entry/moving/stopped/exit events",
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

impl BaseTransformImpl for RsTracker {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        let config = settings
            .config(&Config::default())
            .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("{}", e)))?;
        let first_id = *self.next_id.lock().unwrap();
        *self.state.lock().unwrap() = Some(State {
            tracker: Tracker::new(config, first_id.max(1)),
            width: 0,
            height: 0,
            last_pts: None,
            last_running_time: None,
            warned: None,
            predicted_frames: 0,
        });
        gst::debug!(CAT, imp = self, "Started; first id {}", first_id.max(1));
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let events = self.end_tracks("Stopping");
        let state = self.state.lock().unwrap().take();
        if let Some(state) = state {
            *self.next_id.lock().unwrap() = state.tracker.next_id();
            gst::debug!(CAT, imp = self, "Stopped: {:?}", state.tracker.stats());
        }
        if self.settings.lock().unwrap().post_messages {
            self.post_events(&events);
        }
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "Invalid caps {}", incaps))?;
        let mut rescaled = None;
        {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return Err(gst::loggable_error!(CAT, "Caps before start"));
            };
            let (w, h) = (info.width(), info.height());
            if state.width > 0 && (state.width, state.height) != (w, h) {
                state.tracker.rescale(
                    (f64::from(state.width), f64::from(state.height)),
                    (f64::from(w), f64::from(h)),
                );
                rescaled = Some((state.width, state.height, w, h));
            }
            state.width = w;
            state.height = h;
            let fps = info.fps();
            let mut config = state.tracker.config().clone();
            config.frame_size = Some((f64::from(w), f64::from(h)));
            if fps.numer() > 0 && fps.denom() > 0 {
                config.frame_period =
                    (1_000_000_000u64 * fps.denom() as u64 / fps.numer() as u64).max(1);
            }
            state.tracker.set_config(config);
        }
        gst::debug!(CAT, imp = self, "Caps {}", incaps);
        if let Some((w0, h0, w, h)) = rescaled {
            gst::element_imp_info!(
                self,
                gst::StreamError::Format,
                (
                    "Frame size changed from {}x{} to {}x{}: tracks scaled to it",
                    w0,
                    h0,
                    w,
                    h
                )
            );
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Eos(_) => self.end_and_announce("EOS"),
            gst::EventView::StreamStart(_) => self.end_and_announce("New stream"),
            gst::EventView::FlushStop(_) => {
                let ok = self.parent_sink_event(event);
                self.end_and_announce("Flush");
                return ok;
            }
            _ => {}
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap().clone();
        let pts = buf.pts();
        let running_time = pts.and_then(|pts| {
            self.obj()
                .segment()
                .downcast_ref::<gst::ClockTime>()
                .and_then(|s| s.to_running_time(pts))
        });
        let mut warning = None;
        let events: Vec<TrackEvent>;
        {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            if state.width == 0 {
                return Err(gst::FlowError::NotNegotiated);
            }
            match settings.config(state.tracker.config()) {
                Ok(config) => {
                    if &config != state.tracker.config() {
                        state.tracker.set_config(config);
                    }
                    state.warned = None;
                }
                Err(e) => {
                    if state.warned.as_deref() != Some(e.as_str()) {
                        state.warned = Some(e.clone());
                        warning = Some(e);
                    }
                }
            }
            let (w, h) = (state.width, state.height);
            let fresh = detection::has_fresh_detections(buf);
            let rois = meta::read(buf, w, h, fresh);
            let observations: Vec<Observation<'_>> = rois
                .detections
                .iter()
                .map(|d| Observation {
                    bbox: tracker::BBox::from_xywh(d.x, d.y, d.width, d.height),
                    confidence: d.confidence,
                    label: &d.label,
                    label_id: d.label_id,
                })
                .collect();
            let time = running_time.or(pts).map(|t| t.nseconds());
            let output = state
                .tracker
                .update(time, fresh.then_some(observations.as_slice()));
            let tracks = meta::write(buf, &rois, output, w, h, settings.keep_untracked);
            let (p, r) = (
                pts.map(|t| t.nseconds()),
                running_time.map(|t| t.nseconds()),
            );
            events = output.events.iter().map(|e| track_event(e, p, r)).collect();
            detection::tracking::mark_frame(
                buf,
                &TrackerFrame {
                    element: self.obj().name().to_string(),
                    predicted: !fresh,
                    tracks: tracks as u32,
                    events: events.clone(),
                },
            );
            if !fresh {
                state.predicted_frames += 1;
            }
            state.last_pts = p;
            state.last_running_time = r;
            gst::trace!(
                CAT,
                imp = self,
                "{} detections ({}), {} tracks out, {} events",
                observations.len(),
                if fresh { "fresh" } else { "predicting" },
                tracks,
                events.len()
            );
        }
        if let Some(w) = warning {
            gst::element_imp_warning!(
                self,
                gst::LibraryError::Settings,
                ("{}; keeping the previous settings", w)
            );
        }
        if settings.post_messages {
            self.post_events(&events);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
