/**
 * element-rsmsgbroker:
 *
 * Publishes the detections on each frame (the `GstVideoRegionOfInterestMeta` layout of
 * [`crate::detection`], as `rsinfer` or DL Streamer's `gvadetect` write it), or the
 * lifecycle events of `rstracker`'s tracks, as DeepStream schema JSON to Kafka, or to a
 * JSON-lines file. A pass-through element: buffers are never
 * modified, copied or delayed, so it sits inline (`rsinfer ! rsmsgbroker ! rsoverlay`) or
 * at the end of a `tee` branch (with its source pad unlinked it consumes the buffers; the
 * pipeline's EOS then comes from the other branches' sinks). It replaces DeepStream's `nvmsgconv ! nvmsgbroker` pair:
 * the same payloads, configuration files and `conn-str`/`proto-cfg` syntax.
 *
 * Payloads (`payload-type`): `deepstream` (full schema, one message per object) and
 * `deepstream-minimal` (one message per frame with objects), every `frame-interval`-th
 * frame (default 30 as DeepStream, 1 = every frame). Bounding boxes are integers in
 * source-frame pixels; `@timestamp` is the frame's capture time in UTC with milliseconds:
 * a `GstReferenceTimestampMeta` (`timestamp/x-ntp` from `rtspsrc
 * add-reference-timestamp-meta=true`, or `timestamp/x-unix`) when present, else the
 * buffer's running time on the pipeline clock mapped to wall-clock time. `object.id` is the
 * track id (`-1` when untracked); `event.type` is `event-type`. Sensor, place and
 * analytics-module fields come from a
 * DeepStream msgconv file (`config`, groups `[sensorN]`, `[placeN]`, `[analyticsN]` with N
 * = `source-index`); `sensor-id` overrides the sensor id.
 *
 * Track events (`publish=tracks`, after `rstracker`): instead of the objects of every Nth
 * frame, one full-schema message per track lifecycle event, as the tracker lists them in
 * each frame's `RsvisionTrackerMeta` ([`crate::detection::tracking`]): `event.type` is the
 * event (`entry` when a track is confirmed, `moving` / `stopped` when its speed crosses the
 * tracker's `stop-speed`, `exit` when it ends), `object.id` the track id, `bbox` the track's
 * box on that frame, `object.speed` (pixels per second) and `object.direction` (degrees, 0 =
 * +x, 90 = +y, i.e. down the image) the tracker's velocity (`0.0` with `publish=frames`).
 * Every event is published: `frame-interval` and `event-type` do not apply. The exits of
 * tracks ended by EOS, a flush or a new stream come in rstracker's `rstracker-events`
 * downstream event (which goes on downstream), stamped with the capture time of the last
 * frame; at EOS they are enqueued before the EOS flush. It needs `payload-type=deepstream`
 * (the minimal schema has no event type: start fails). Without a tracker upstream (no
 * tracker meta on the first 300 frames) it posts one warning and goes on.
 *
 * Analytics (`publish-analytics`, default true, changeable in PLAYING): with `rsanalytics`
 * upstream (its `RsvisionAnalyticsMeta`, [`crate::detection::analytics`]), the full schema
 * (either `publish` mode) gets one message per analytics event of every frame
 * (`frame-interval` does not apply; events are never skipped): `event.type` `entry` for a
 * crossing in the `in` direction and a zone entry, `exit` for an `out` crossing and a zone
 * exit, `stopped` / `moving` for a loitering start / end, `""` for an overcrowding start or
 * end (not an object event). The line or zone is the name of the place's sub-object
 * (`place.entrance.name`; `place.aisle.name` for a vehicle's entry or exit and for
 * loitering, DeepStream's rule) and of an extra top-level member `analytics` (`kind`
 * `line` / `zone` / `loitering` / `overcrowding`, `name`, and `direction`, `in`, `out` or
 * `event`, `dwellMs`, `count`, with the object's `roiStatus`, `lcStatus`, `dirStatus`).
 * The object is the event's track on that frame, or its id and label with an empty box
 * when it is not on the frame (a zone exit after it left). The minimal schema has no
 * events: each published frame's message (also one without objects) gets an `analytics`
 * member with the frame's counts in the names of DeepStream's `NvDsAnalyticsFrameMeta`
 * (`objects`, `objCnt` per class id, `overcrowded`, `objInROIcnt`, `roiEntryCumCnt`,
 * `ocStatus`, `objLCCumCnt` with `in` and `out` per line; cumulative, so the frames
 * `frame-interval` skips lose no crossing). Layouts: [`crate::msgconv::analytics`].
 *
 * Clips (either `publish` mode, full schema): each `rssmartrecord-done` event that an
 * upstream `rssmartrecord` sends when it finishes a clip ([`crate::detection::clip`]) is
 * one message, as DeepStream writes an `NVDS_EVENT_CUSTOM` event: `event.type` `custom`,
 * `videoPath` the clip file (empty when none was kept), `@timestamp` the clip's end, and
 * an object of type `Clip` (id `-1`, box 0) whose attributes are the clip's `sessionId`,
 * `sensorId` (the recorder's), `filename`, `dirpath`, `container`, `codec`, `width`,
 * `height`, `containsVideo`, `containsAudio`, `start`, `end`, `requestedStart` (UTC),
 * `startTruncated`, `duration` (ms), `frames`, `bytes`, `reason`, `complete`, `fileKept`
 * and `error` ([`crate::msgconv::clip`]). A clip is an event, not a frame: `frame-interval`
 * and `event-type` do not apply. The event comes in order with the stream, so a clip ended
 * by EOS is enqueued before the EOS flush. The minimal schema has no event type or video
 * path: with `payload-type=deepstream-minimal` clips are not published.
 *
 * Transport (`conn-str`): `host;port`, `host;port;topic` or `host:port[,host:port]` for
 * Kafka (`topic` overrides the topic of the `conn-str`), `file:///path/events.jsonl` to
 * append one JSON document per line. A frame's (or an event's) lines are written together by
 * one `write(2)` on a file opened with `O_APPEND`, which the kernel appends in one piece, so
 * several elements (of one process or several) can append to the same file: lines never mix
 * (only a short write, i.e. a full disk, could split one). A written line is counted
 * `delivered`, one that could not be written `failed`, with one warning. Kafka settings:
 * `proto-cfg` (`;`-separated librdkafka `key=value`, e.g. TLS and SASL), and
 * `broker-config`, a DeepStream `cfg_kafka.txt`
 * (`[message-broker]` with `proto-cfg`, `producer-proto-cfg`, `partition-key`). The message
 * key is the JSON value at `partition-key` (default `sensor.id`; `sensorId` and `sensor.id`
 * both mean the sensor id in either schema).
 *
 * Reliability: the streaming thread only serialises and enqueues; librdkafka delivers in
 * its own threads. The pipeline starts with the broker down and keeps running at full rate
 * while it is away: messages wait (librdkafka's `message.timeout.ms` is 0, i.e. no expiry,
 * unless `proto-cfg` says otherwise) up to `max-queued-messages` / `max-queued-bytes`;
 * beyond that they are dropped and counted, with one warning per outage. The producer is
 * idempotent (`enable.idempotence=true`): retries never duplicate or reorder messages. A
 * warning is posted when all brokers become unreachable, when they refuse the credentials
 * and when deliveries fail; errors never stop the pipeline. EOS and stop wait up to
 * `flush-timeout` for queued messages, then warn
 * with the number left undelivered. The read-only `stats` property (structure
 * `rsmsgbroker-stats`) counts `frames`, `published-frames` (frames that gave messages),
 * `enqueued`, `queued`, `queued-bytes`, `delivered`, `failed` and `dropped` (messages, in
 * either `publish` mode). Secret settings (passwords, keys) never appear in logs or
 * messages.
 *
 * ## Example launch lines
 * ```text
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 ! rsmsgbroker conn-str="localhost;9092;detections" sensor-id=cam0 frame-interval=1 ! fakesink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 ! rstracker ! rsmsgbroker publish=tracks conn-str=file:///tmp/tracks.jsonl sensor-id=cam0 ! fakesink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! decodebin ! rsinfer model-location=models/rsvision-shapes.onnx conf-threshold=0.5 ! rstracker ! rsanalytics config-file=data/rsanalytics-nvdsanalytics.txt ! rsmsgbroker publish=tracks conn-str=file:///tmp/analytics.jsonl sensor-id=cam0 ! fakesink
 * ```
 *
 * Since: plugins-rs-0.1.0
 */
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::analytics::{self, EventObject};
use super::capture;
use super::publish::{Publisher, Sink};
use super::settings::{self, Settings};
use super::stats::Counters;
use super::transport::{self, Options, Transport};
use super::{EventType, PayloadType, Publish};
use crate::detection::{self, clip, tracking, ClipDone, TrackEvent};
use crate::kafka::{self, BrokerConfig};
use crate::msgconv::{Frame, MsgConvConfig, Object, PayloadBuilder};
use crate::video;

// Lock order: `settings` and `state` are never held together (settings are copied and the
// lock released first). `counters` are atomics. No lock is held while posting a message or
// forwarding an event; librdkafka callbacks take no lock of ours.

pub(super) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rsmsgbroker",
        gst::DebugColorFlags::empty(),
        Some("rsvision DeepStream-schema message broker"),
    )
});

/// `publish=tracks`: frames without any tracker meta after which a warning says so.
const NO_TRACKER_WARNING_FRAMES: u64 = 300;

struct State {
    transport: Transport,
    publisher: Publisher,
    payload_type: PayloadType,
    publish: Publish,
    frame_width: u32,
    frame_height: u32,
    frame_number: u64,
    /// Capture time of the last frame (for the track events that come without a frame).
    last_capture_ms: Option<i64>,
    /// `publish=tracks`: a tracker meta or event was seen since start.
    tracker_seen: bool,
    /// `publish=tracks`: frames since start, while no tracker meta was seen.
    frames_without_tracker: u64,
    /// The EOS flush already ran.
    flushed: bool,
}

#[derive(Default)]
pub struct RsMsgBroker {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    counters: Arc<Counters>,
}

/// Something to post once the state lock is released.
enum Post {
    /// Trouble writing or keying messages.
    Warning(String),
    /// `publish=tracks` with no tracker upstream.
    NoTracker,
}

impl RsMsgBroker {
    fn post(&self, posts: Vec<Post>) {
        for p in posts {
            match p {
                Post::Warning(msg) => {
                    gst::element_imp_warning!(self, gst::ResourceError::Write, ("{}", msg))
                }
                Post::NoTracker => gst::element_imp_warning!(
                    self,
                    gst::StreamError::Format,
                    ("publish=tracks but no rstracker events on the stream: put rstracker before rsmsgbroker"),
                    [
                        "No RsvisionTrackerMeta on the first {} frames: nothing is published",
                        NO_TRACKER_WARNING_FRAMES
                    ]
                ),
            }
        }
    }

    /// `publish=frames`: the objects of every `interval`-th frame; with `analytics`
    /// (`publish-analytics`) and rsanalytics upstream, every analytics event of every frame
    /// (full schema) or the counts in each published frame's message (minimal schema, also
    /// when the frame has no objects: a zone count that fell to 0 is news).
    #[allow(clippy::too_many_arguments)]
    fn publish_frame(
        &self,
        state: &mut State,
        buf: &gst::BufferRef,
        number: u64,
        interval: u32,
        event_type: EventType,
        analytics: bool,
        posts: &mut Vec<Post>,
    ) {
        let sampled = number % u64::from(interval) == 0;
        let minimal = state.payload_type == PayloadType::DeepStreamMinimal;
        // The minimal schema has no events: only its sampled frames read the analytics.
        let analytics = if analytics && (sampled || !minimal) {
            analytics::read(buf, state.frame_width, state.frame_height, minimal)
        } else {
            None
        };
        let events = match &analytics {
            Some(a) if !minimal => a.events.as_slice(),
            _ => &[],
        };
        let counts = analytics.as_ref().filter(|_| minimal).map(|a| &a.counts);
        if !sampled && events.is_empty() {
            return;
        }
        let detections = if sampled {
            detection::read(buf, state.frame_width, state.frame_height)
        } else {
            Vec::new()
        };
        if detections.is_empty() && events.is_empty() && counts.is_none() {
            return;
        }
        let frame = Frame {
            number,
            timestamp_ms: capture::capture_time_ms(&self.obj(), buf),
        };
        state.publisher.builder.event_type = event_type.as_str().to_string();
        let objects: Vec<Object> = detections
            .iter()
            .map(|d| Object::from_detection(d, state.frame_width, state.frame_height))
            .collect();
        self.counters
            .published_frames
            .fetch_add(1, Ordering::SeqCst);
        let mut warnings = Vec::new();
        let mut sink = Sink {
            transport: &mut state.transport,
            counters: &self.counters,
            warnings: &mut warnings,
        };
        match counts {
            Some(counts) => state
                .publisher
                .minimal_with_counts(&frame, &objects, counts, &mut sink),
            None => state
                .publisher
                .frame(state.payload_type, &frame, &objects, &mut sink),
        }
        if !events.is_empty() {
            state.publisher.analytics_events(&frame, events, &mut sink);
            gst::log!(
                CAT,
                imp = self,
                "Frame {number}: {} analytics events published",
                events.len()
            );
        }
        // The frame's messages in one write, so `tail -f` follows.
        warnings.extend(state.transport.end_batch(&self.counters));
        posts.extend(warnings.into_iter().map(Post::Warning));
    }

    /// `publish=tracks`: the track events listed on the frame; with `analytics`, the
    /// frame's analytics events too (before the track events: a zone exit comes before
    /// the exit of the track that left).
    fn publish_tracks(
        &self,
        state: &mut State,
        buf: &gst::BufferRef,
        number: u64,
        analytics: bool,
        posts: &mut Vec<Post>,
    ) {
        let frames = tracking::tracker_frames(buf);
        if !frames.is_empty() {
            state.tracker_seen = true;
        } else if !state.tracker_seen {
            state.frames_without_tracker += 1;
            if state.frames_without_tracker == NO_TRACKER_WARNING_FRAMES {
                posts.push(Post::NoTracker);
            }
        }
        let timestamp_ms = capture::capture_time_ms(&self.obj(), buf);
        state.last_capture_ms = Some(timestamp_ms);
        let events: Vec<TrackEvent> = frames.into_iter().flat_map(|f| f.events).collect();
        // Classifiers after the tracker put their attributes on the objects: remembered per
        // track for its events.
        let detections = detection::read(buf, state.frame_width, state.frame_height);
        state.publisher.remember_attributes(&detections);
        let analytics_events = analytics
            .then(|| analytics::read(buf, state.frame_width, state.frame_height, false))
            .flatten()
            .map(|a| a.events)
            .unwrap_or_default();
        if events.is_empty() && analytics_events.is_empty() {
            return;
        }
        let frame = Frame {
            number,
            timestamp_ms,
        };
        if self.publish_events(state, &frame, &analytics_events, &events, posts) > 0 {
            self.counters
                .published_frames
                .fetch_add(1, Ordering::SeqCst);
        }
    }

    /// One message per analytics event, then one per track event; returns how many were
    /// made.
    fn publish_events(
        &self,
        state: &mut State,
        frame: &Frame,
        analytics_events: &[EventObject],
        events: &[TrackEvent],
        posts: &mut Vec<Post>,
    ) -> usize {
        let mut warnings = Vec::new();
        let mut sink = Sink {
            transport: &mut state.transport,
            counters: &self.counters,
            warnings: &mut warnings,
        };
        let from_analytics = state
            .publisher
            .analytics_events(frame, analytics_events, &mut sink);
        let made = state.publisher.track_events(
            frame,
            events,
            state.frame_width,
            state.frame_height,
            &mut sink,
        );
        gst::log!(
            CAT,
            imp = self,
            "Frame {}: {made} track events and {from_analytics} analytics events published",
            frame.number
        );
        if made < events.len() {
            gst::debug!(
                CAT,
                imp = self,
                "{} track events of a type the schema does not know skipped",
                events.len() - made
            );
        }
        warnings.extend(state.transport.end_batch(&self.counters));
        posts.extend(warnings.into_iter().map(Post::Warning));
        made + from_analytics
    }

    /// The `rstracker-events` event (exits of tracks ended with the stream): published
    /// with the capture time of the last frame, or now before any frame.
    fn publish_stream_end(&self, events: &[TrackEvent]) {
        let include_confidence = self.settings.lock().unwrap().include_confidence;
        let mut posts = Vec::new();
        {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return;
            };
            if state.publish != Publish::Tracks {
                return;
            }
            state.tracker_seen = true;
            gst::debug!(
                CAT,
                imp = self,
                "{} track events without a frame (end of stream)",
                events.len()
            );
            let frame = Frame {
                number: state.frame_number.saturating_sub(1),
                timestamp_ms: state.last_capture_ms.unwrap_or_else(capture::now_ms),
            };
            state.publisher.builder.include_confidence = include_confidence;
            self.publish_events(state, &frame, &[], events, &mut posts);
        }
        self.post(posts);
    }

    /// An `rssmartrecord-done` event: one full-schema message per finished clip, in either
    /// `publish` mode (the minimal schema has no event or video path: not published).
    fn publish_clip(&self, clip: &ClipDone) {
        let mut warnings = Vec::new();
        {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return;
            };
            if state.payload_type == PayloadType::DeepStreamMinimal {
                gst::info!(
                    CAT,
                    imp = self,
                    "Clip {} not published: the minimal schema has no video path",
                    clip.session_id
                );
                return;
            }
            gst::debug!(
                CAT,
                imp = self,
                "Clip {} done: {}",
                clip.session_id,
                clip.path().display()
            );
            let mut sink = Sink {
                transport: &mut state.transport,
                counters: &self.counters,
                warnings: &mut warnings,
            };
            state.publisher.clip(clip, capture::now_ms(), &mut sink);
            warnings.extend(state.transport.end_batch(&self.counters));
        }
        self.post(warnings.into_iter().map(Post::Warning).collect());
    }

    /// EOS: delivers before EOS goes downstream, so that an application seeing EOS knows
    /// the messages are out (bounded by flush-timeout).
    fn flush_at_eos(&self) {
        let timeout = Duration::from_millis(u64::from(self.settings.lock().unwrap().flush_timeout));
        // A file has nothing left to write: each frame's lines are written with the frame.
        let producer = {
            let guard = self.state.lock().unwrap();
            let Some(state) = guard.as_ref() else {
                return;
            };
            state.transport.producer()
        };
        let Some(producer) = producer else {
            return;
        };
        let left = transport::flush(&self.obj(), &self.counters, Some(&producer), timeout);
        drop(producer);
        if let Some(s) = self.state.lock().unwrap().as_mut() {
            s.flushed = true;
        }
        if left > 0 {
            gst::element_imp_warning!(
                self,
                gst::ResourceError::Write,
                (
                    "{} Kafka messages still undelivered at EOS after flush-timeout ({} ms)",
                    left,
                    timeout.as_millis()
                )
            );
        } else {
            gst::debug!(CAT, imp = self, "All messages delivered at EOS");
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RsMsgBroker {
    const NAME: &'static str = "GstRsMsgBroker";
    type Type = super::RsMsgBroker;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for RsMsgBroker {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(settings::properties);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "proto-cfg" => gst::debug!(CAT, imp = self, "Setting proto-cfg (not logged)"),
            name => gst::debug!(CAT, imp = self, "Setting {name} to {value:?}"),
        }
        self.settings.lock().unwrap().set(pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "stats" {
            return self.counters.structure().to_value();
        }
        self.settings.lock().unwrap().get(pspec.name())
    }

    fn constructed(&self) {
        self.parent_constructed();
        self.obj().set_passthrough(true);
    }
}

impl GstObjectImpl for RsMsgBroker {}

impl ElementImpl for RsMsgBroker {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "rsvision message broker",
                "Filter/Metadata/Network",
                "Publishes detections, rstracker's track events or rsanalytics' events and counts as DeepStream-schema JSON to Kafka or a JSON-lines file, without blocking or stopping the stream",
                "rsvision developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| video::filter_pad_templates(&gst::Caps::new_any()));
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for RsMsgBroker {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        self.counters.reset();

        if settings.publish == Publish::Tracks
            && settings.payload_type == PayloadType::DeepStreamMinimal
        {
            return Err(gst::error_msg!(
                gst::ResourceError::Settings,
                ("publish=tracks needs the full schema: the minimal schema (payload-type=deepstream-minimal) has no event type; use payload-type=deepstream, or publish=frames")
            ));
        }

        // Payload fields.
        let msgconv = match settings.config.as_deref().filter(|c| !c.is_empty()) {
            Some(path) => MsgConvConfig::load(std::path::Path::new(path)).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::Settings,
                    ("Invalid msgconv config: {}", e)
                )
            })?,
            None => MsgConvConfig::default(),
        };
        let n = settings.source_index;
        let mut sensor = msgconv.sensors.get(&n).cloned().unwrap_or_default();
        if let Some(id) = settings.sensor_id.clone() {
            sensor.id = id;
        } else if sensor.id.is_empty() {
            sensor.id = n.to_string();
        }
        let builder = PayloadBuilder {
            sensor,
            place: msgconv.places.get(&n).cloned().unwrap_or_default(),
            analytics: msgconv.analytics.get(&n).cloned().unwrap_or_default(),
            event_type: settings.event_type.as_str().to_string(),
            include_confidence: settings.include_confidence,
        };

        let broker_cfg =
            BrokerConfig::load_if_set(settings.broker_config.as_deref()).map_err(|e| {
                gst::error_msg!(
                    gst::ResourceError::Settings,
                    ("Invalid broker config: {}", e)
                )
            })?;
        let key_path = settings
            .partition_key
            .clone()
            .or_else(|| broker_cfg.partition_key.clone())
            .unwrap_or_else(|| "sensor.id".to_string());

        let conn_str = settings.conn_str.clone().unwrap_or_default();
        let endpoint = kafka::parse_conn_str(&conn_str).map_err(|e| {
            gst::error_msg!(gst::ResourceError::Settings, ("Invalid conn-str: {}", e))
        })?;
        let options = Options {
            topic: settings.topic.as_deref(),
            proto_cfg: settings.proto_cfg.as_deref(),
            max_queued_messages: u64::from(settings.max_queued_messages),
            max_queued_bytes: settings.max_queued_bytes,
        };
        let transport =
            Transport::open(&self.obj(), endpoint, &options, &broker_cfg, &self.counters)?;
        gst::debug!(CAT, imp = self, "Publishing {:?}", settings.publish);

        *self.state.lock().unwrap() = Some(State {
            transport,
            publisher: Publisher::new(builder, key_path),
            payload_type: settings.payload_type,
            publish: settings.publish,
            frame_width: 0,
            frame_height: 0,
            frame_number: 0,
            last_capture_ms: None,
            tracker_seen: false,
            frames_without_tracker: 0,
            flushed: false,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let Some(state) = self.state.lock().unwrap().take() else {
            return Ok(());
        };
        let timeout = Duration::from_millis(u64::from(self.settings.lock().unwrap().flush_timeout));
        state
            .transport
            .close(&self.obj(), &self.counters, timeout, state.flushed);
        let stats = self.counters.structure();
        gst::info!(CAT, imp = self, "Stopped: {stats}");
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let (w, h) = incaps
            .structure(0)
            .map(|s| {
                (
                    s.get::<i32>("width").unwrap_or(0).max(0) as u32,
                    s.get::<i32>("height").unwrap_or(0).max(0) as u32,
                )
            })
            .unwrap_or((0, 0));
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            state.frame_width = w;
            state.frame_height = h;
        }
        gst::debug!(CAT, imp = self, "Frame size {w}x{h} from {incaps}");
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Eos(_) => self.flush_at_eos(),
            // rstracker sends it before the EOS (or flush-stop, stream-start), rssmartrecord
            // when a clip is finished: both are enqueued before the EOS flush. They go on
            // downstream like any event.
            gst::EventView::CustomDownstream(_) => {
                if let Some(events) = tracking::events_from_event(&event) {
                    self.publish_stream_end(&events);
                } else if let Some(clip) = clip::clip_done_from_event(&event) {
                    self.publish_clip(&clip);
                }
            }
            _ => {}
        }
        self.parent_sink_event(event)
    }

    fn generate_output(
        &self,
    ) -> Result<gst_base::subclass::base_transform::GenerateOutputSuccess, gst::FlowError> {
        let out = self.parent_generate_output()?;
        // At the end of a tee branch (source pad not linked) the element is the branch's
        // sink: the frame was published, there is nothing to push and no reason to fail.
        if matches!(
            out,
            gst_base::subclass::base_transform::GenerateOutputSuccess::Buffer(_)
        ) && !self.obj().src_pad().is_linked()
        {
            return Ok(gst_base::subclass::base_transform::GenerateOutputSuccess::NoOutput);
        }
        Ok(out)
    }

    fn transform_ip_passthrough(
        &self,
        buf: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let (interval, event_type, include_confidence, analytics) = {
            let s = self.settings.lock().unwrap();
            (
                s.frame_interval.max(1),
                s.event_type,
                s.include_confidence,
                s.publish_analytics,
            )
        };
        self.counters.frames.fetch_add(1, Ordering::SeqCst);
        let mut posts = Vec::new();
        {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            let number = state.frame_number;
            state.frame_number += 1;
            state.publisher.builder.include_confidence = include_confidence;
            match state.publish {
                Publish::Frames => self.publish_frame(
                    state, buf, number, interval, event_type, analytics, &mut posts,
                ),
                Publish::Tracks => self.publish_tracks(state, buf, number, analytics, &mut posts),
            }
        }
        self.post(posts);
        Ok(gst::FlowSuccess::Ok)
    }
}
