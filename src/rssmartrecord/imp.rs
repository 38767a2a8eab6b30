use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::commands::{self, CommandConsumer};
use super::done::Completions;
use super::recording::*;
use super::settings::{self, Settings};
use super::writer::WriterMsg;
use crate::kafka;
use crate::smartrecord::cache::GopCache;
use crate::smartrecord::nal::{self, Codec};
use crate::smartrecord::naming::{self};
use crate::utc::now_ms;
use crate::video;

// Lock order: `settings` and `writers` are leaf locks, taken alone and released at once.
// `state` is taken alone, or before the completions queue's lock (a leaf lock: writer
// threads take it alone). No lock is held while posting a message, emitting a signal or
// pushing; writer and Kafka threads never take `state` while holding anything else.

pub(super) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rssmartrecord",
        gst::DebugColorFlags::empty(),
        Some("rsvision smart record"),
    )
});

pub(super) const SECOND: u64 = 1_000_000_000;

const DEFAULT_CONSUMER_GROUP_PREFIX: &str = "rssmartrecord-";
/// How long `stop()` waits for clip writers to finalise.
const WRITER_JOIN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long EOS waits for clip writers to finalise before it goes downstream.
pub(super) const EOS_WRITER_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Default)]
pub struct RsSmartRecord {
    pub(super) settings: Mutex<Settings>,
    pub(super) state: Mutex<Option<State>>,
    /// Clip writer threads, joined in `stop()` (a leaf lock).
    pub(super) writers: Mutex<Vec<Writer>>,
}

#[glib::object_subclass]
impl ObjectSubclass for RsSmartRecord {
    const NAME: &'static str = "GstRsSmartRecord";
    type Type = super::RsSmartRecord;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for RsSmartRecord {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(settings::properties);
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            vec![
                glib::subclass::Signal::builder("start-recording")
                    .param_types([f64::static_type(), f64::static_type()])
                    .return_type::<u32>()
                    .action()
                    .class_handler(|args| {
                        let element = args[0].get::<super::RsSmartRecord>().expect("signal arg");
                        let before = args[1].get::<f64>().expect("signal arg");
                        let duration = args[2].get::<f64>().expect("signal arg");
                        Some(element.imp().start_from_signal(before, duration).to_value())
                    })
                    .build(),
                glib::subclass::Signal::builder("stop-recording")
                    .param_types([u32::static_type()])
                    .return_type::<bool>()
                    .action()
                    .class_handler(|args| {
                        let element = args[0].get::<super::RsSmartRecord>().expect("signal arg");
                        let id = args[1].get::<u32>().expect("signal arg");
                        Some(element.imp().stop_recording(Some(id)).to_value())
                    })
                    .build(),
                glib::subclass::Signal::builder("recording-done")
                    .param_types([gst::Structure::static_type()])
                    .build(),
            ]
        });
        SIGNALS.as_ref()
    }

    fn constructed(&self) {
        self.parent_constructed();
        self.obj().set_passthrough(true);
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        self.settings.lock().unwrap().set(pspec.name(), value);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "cache-bytes" | "cache-duration" | "recording" => {
                let state = self.state.lock().unwrap();
                let (bytes, duration, recording) = state.as_ref().map_or((0, 0, false), |st| {
                    (
                        st.cache.bytes() as u64,
                        st.cache.duration(),
                        st.active.is_some(),
                    )
                });
                return match pspec.name() {
                    "cache-bytes" => bytes.to_value(),
                    "cache-duration" => duration.to_value(),
                    _ => recording.to_value(),
                };
            }
            _ => {}
        }
        self.settings.lock().unwrap().get(pspec.name())
    }
}

impl RsSmartRecord {
    fn start_from_signal(&self, before_s: f64, duration_s: f64) -> u32 {
        if !before_s.is_finite() || before_s < 0.0 || !duration_s.is_finite() || duration_s < 0.0 {
            self.post_warning(warn_msg!(
                gst::LibraryError::Settings,
                (
                    "start-recording({}, {}): both values must be finite and not negative",
                    before_s,
                    duration_s
                )
            ));
            return 0;
        }
        let start = ReqStart::BeforeNow((before_s * 1e9) as u64);
        let end = if duration_s == 0.0 {
            ReqEnd::Default
        } else {
            ReqEnd::AfterNow((duration_s * 1e9) as u64)
        };
        match self.start_recording(start, end) {
            Ok(id) => id,
            Err(e) => {
                self.post_warning(e);
                0
            }
        }
    }
}

impl GstObjectImpl for RsSmartRecord {}

impl ElementImpl for RsSmartRecord {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static ELEMENT_METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "rsvision smart record",
                "Filter/Video",
                "Event clips (MP4/MKV) from a GOP cache of the encoded stream, commanded by signals or DeepStream Kafka messages",
                "rsvision developers",
            )
        });
        Some(&*ELEMENT_METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst::Caps::builder_full()
                .structure(
                    gst::Structure::builder("video/x-h264")
                        .field(
                            "stream-format",
                            gst::List::new(["avc", "avc3", "byte-stream"]),
                        )
                        .field("alignment", "au")
                        .build(),
                )
                .structure(
                    gst::Structure::builder("video/x-h265")
                        .field(
                            "stream-format",
                            gst::List::new(["hvc1", "hev1", "byte-stream"]),
                        )
                        .field("alignment", "au")
                        .build(),
                )
                .build();
            video::filter_pad_templates(&caps)
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for RsSmartRecord {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = self.settings.lock().unwrap().clone();
        naming::check_template(&settings.file_template).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::Settings,
                ("Invalid file-template {:?}: {}", settings.file_template, e)
            )
        })?;
        let mut consumer = None;
        if let Some(conn) = settings
            .conn_str
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            let file = kafka::BrokerConfig::load_if_set(settings.broker_config.as_deref())
                .map_err(|e| {
                    gst::error_msg!(
                        gst::ResourceError::Settings,
                        ("Invalid broker config: {}", e)
                    )
                })?;
            let default_group = format!(
                "{DEFAULT_CONSUMER_GROUP_PREFIX}{}",
                naming::sanitize(&settings.sensor_id)
            );
            let plan = commands::plan(
                conn,
                settings.topic.as_deref(),
                settings.consumer_group_id.as_deref(),
                settings.proto_cfg.as_deref(),
                &file,
                &default_group,
            )
            .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?;
            gst::info!(
                CAT,
                imp = self,
                "consuming commands from {} topic {} group {}, settings: {}",
                plan.servers,
                plan.topic,
                plan.group_id,
                kafka::redacted(&plan.settings)
            );
            let weak = self.obj().downgrade();
            consumer = Some(
                CommandConsumer::start(
                    &plan.servers,
                    &plan.topic,
                    &plan.group_id,
                    plan.settings,
                    move |ev| {
                        if let Some(el) = weak.upgrade() {
                            el.imp().handle_event(ev);
                        }
                    },
                )
                .map_err(|e| gst::error_msg!(gst::ResourceError::Settings, ("{}", e)))?,
            );
        }
        *self.state.lock().unwrap() = Some(State {
            cache: GopCache::new(settings.cache_size as u64 * SECOND),
            caps: None,
            segment: gst::FormattedSegment::new(),
            latest: None,
            next_session: 1,
            active: None,
            consumer,
            warned_untimed: false,
            last_end: None,
            byte_stream: None,
            param_sets: None,
            completions: Arc::new(Completions::default()),
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let state = self.state.lock().unwrap().take();
        let Some(mut state) = state else {
            return Ok(());
        };
        if let Some(c) = state.consumer.take() {
            if !c.stop(Duration::from_secs(5)) {
                gst::warning!(CAT, imp = self, "Kafka consumer did not stop within 5 s");
            }
        }
        Self::finish_active(&mut state, "stopped");
        state.cache.clear();
        let deadline = Instant::now() + WRITER_JOIN_TIMEOUT;
        let writers = std::mem::take(&mut *self.writers.lock().unwrap());
        for w in writers {
            let left = deadline.saturating_duration_since(Instant::now());
            if w.done.recv_timeout(left).is_ok() {
                let _ = w.thread.join();
            } else {
                gst::warning!(
                    CAT,
                    imp = self,
                    "writer of session {} still busy, detached",
                    w.id
                );
            }
        }
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Eos(_) = event.view() {
            self.finish_at_eos();
            return self.parent_sink_event(event);
        }
        {
            let mut guard = self.state.lock().unwrap();
            if let Some(state) = guard.as_mut() {
                match event.view() {
                    gst::EventView::Caps(c) => {
                        let caps = c.caps_owned();
                        if state.caps.as_ref().is_some_and(|old| *old != caps) {
                            Self::finish_active(state, "caps-changed");
                            state.cache.clear();
                            state.param_sets = None;
                        }
                        state.byte_stream = caps.structure(0).and_then(|s| {
                            if s.get::<&str>("stream-format").ok() != Some("byte-stream") {
                                return None;
                            }
                            match s.name().as_str() {
                                "video/x-h264" => Some(Codec::H264),
                                "video/x-h265" => Some(Codec::H265),
                                _ => None,
                            }
                        });
                        state.caps = Some(caps);
                    }
                    gst::EventView::Segment(s) => {
                        if let Ok(seg) = s.segment().clone().downcast::<gst::ClockTime>() {
                            state.segment = seg;
                        }
                        // The GAP at EOS is in this segment's timestamps: a new segment (a
                        // looped file starts its PTS again) forgets the old ones.
                        state.last_end = None;
                    }
                    gst::EventView::FlushStop(_) => {
                        Self::finish_active(state, "flush");
                        state.cache.clear();
                    }
                    _ => {}
                }
            }
        }
        self.parent_sink_event(event)
    }

    fn transform_ip_passthrough(
        &self,
        buf: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let cache_size = self.settings.lock().unwrap().cache_size as u64 * SECOND;
        let mut notices = Vec::new();
        // Clips finished since the last buffer: their events go downstream before it.
        let finished;
        {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            finished = state.completions.take();
            let pts_rt = buf
                .pts()
                .and_then(|t| state.segment.to_running_time(t))
                .map(|t| t.nseconds());
            let dts_rt = buf
                .dts()
                .and_then(|t| state.segment.to_running_time(t))
                .map(|t| t.nseconds());
            let Some(rt) = pts_rt.or(dts_rt) else {
                if !state.warned_untimed {
                    state.warned_untimed = true;
                    notices.push(Notice::Warning(warn_msg!(
                        gst::StreamError::Format,
                        ("Buffers without timestamps cannot be cached or recorded")
                    )));
                }
                drop(guard);
                self.push_completions(finished);
                self.post_notices(notices);
                return Ok(gst::FlowSuccess::Ok);
            };
            state.latest = Some((rt, now_ms()));
            if let Some(pts) = buf.pts() {
                let end = pts + buf.duration().unwrap_or(gst::ClockTime::ZERO);
                state.last_end = state.last_end.max(Some(end));
            }
            if state.cache.max() != cache_size {
                state.cache.set_max(cache_size);
            }
            let keyframe = !buf.flags().contains(gst::BufferFlags::DELTA_UNIT);
            if let (Some(codec), true) = (state.byte_stream, keyframe) {
                // Parameter sets sit in front of the slices: a short scan, once per GOP.
                if let Ok(map) = buf.map_readable() {
                    if let Some(ps) = nal::param_sets(codec, &map) {
                        if state.param_sets.as_deref() != Some(&ps[..]) {
                            state.param_sets = Some(ps);
                        }
                    }
                }
            }
            state.cache.push(
                Cached {
                    buffer: buf.clone(),
                    pts_rt,
                    dts_rt,
                },
                rt,
                keyframe,
                buf.size(),
            );
            let limit = 2 * state.cache.bytes() as i64 + 16 * 1024 * 1024;
            if let Some(sess) = state.active.as_mut() {
                if sess.start_rt.is_none() && keyframe {
                    sess.start_rt = Some(rt);
                    let cap = rt.saturating_add(sess.max_duration);
                    if sess.end_rt > cap {
                        sess.end_rt = cap;
                        sess.end_reason = "max-duration";
                    }
                }
                if sess.start_rt.is_some() {
                    if rt >= sess.end_rt {
                        let reason = sess.end_reason;
                        Self::finish_active(state, reason);
                    } else if sess.pending_bytes.load(Ordering::Relaxed) > limit {
                        let s = state.active.take().expect("checked");
                        let _ = s.tx.send(WriterMsg::Abort("writer-too-slow"));
                        notices.push(Notice::Warning(warn_msg!(
                            gst::ResourceError::Write,
                            (
                                "Recording session {} cut off: the disk is too slow ({} bytes waiting)",
                                s.id,
                                s.pending_bytes.load(Ordering::Relaxed)
                            )
                        )));
                    } else {
                        sess.pending_bytes
                            .fetch_add(buf.size() as i64, Ordering::Relaxed);
                        let _ = sess.tx.send(WriterMsg::Buffer {
                            buffer: buf.clone(),
                            pts_rt,
                            dts_rt,
                        });
                    }
                }
            }
        }
        self.push_completions(finished);
        self.post_notices(notices);
        Ok(gst::FlowSuccess::Ok)
    }
}
