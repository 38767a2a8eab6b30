/**
 * element-rssmartrecord:
 *
 * Event clips from a ring buffer of the encoded stream. A pass-through element placed after
 * the parser (`h264parse`/`h265parse`, any stream-format): buffers go downstream untouched
 * and undelayed; the streaming thread only keeps references to them in a cache of the last
 * `cache-size` seconds, as whole GOPs in running time (memory: what those seconds hold,
 * plus one GOP).
 *
 * A recording covers `[event - start, event + duration]`. It starts on the key frame at or
 * just before the requested start (so clips are never shorter than asked at the start),
 * takes the cached GOPs, then goes on live until the requested end, `stop-recording`,
 * `default-duration` (when no end was given), `max-duration`, EOS or the element stopping.
 * A second start while recording extends the clip. Each clip is written by its own
 * pipeline on its own thread (`appsrc ! h264parse|h265parse ! mp4mux fragment-duration=… |
 * matroskamux ! filesink`) with timestamps starting at zero; fragmented MP4 keeps a file
 * playable up to its last fragment if the process dies. Input without decoding timestamps
 * (depayloaded RTP) gets them made up with 4 frames of B-frame reordering room. For
 * byte-streams the latest SPS/PPS (VPS) are kept and put in front of a clip's first frame
 * when it lacks them. A writer that falls more than
 * twice the cache (plus 16 MiB) behind is cut off with a warning, so a slow disk never
 * stalls the stream or grows memory without bound.
 *
 * Files go to `location` (a directory, which must exist), named from `file-template`
 * (placeholders `{prefix}`, `{sensor}`, `{session}`, `{datetime}`, `{date}`, `{time}`,
 * `{ms}`; values reduced to `[A-Za-z0-9._-]`, so a sensor id like `../x` can never leave
 * the directory) plus `.mp4`/`.mkv`; an existing file is never overwritten (`_1`, `_2`, …).
 *
 * Commands:
 * - action signal `start-recording (gdouble seconds_before_now, gdouble duration_s) -> guint`
 *   returns the session id (0 when refused, with a warning on the bus); a duration of 0
 *   means `default-duration`. Seconds are of running time, so files and live sources agree.
 * - action signal `stop-recording (guint session_id) -> gboolean`.
 * - with `conn-str` (`host;port[;topic]`) and `topic`: DeepStream cloud-to-device JSON
 *   from Kafka, `{"command": "start-recording"|"stop-recording", "start": "…Z", "end": "…Z",
 *   "sensor": {"id": "…"}}`, acted on only when `sensor.id` equals `sensor-id`. A missing
 *   command means start, a missing end the default duration; a start in the past pre-rolls
 *   from the cache to the millisecond (UTC is mapped to running time by the arrival time of
 *   the latest buffer); a start older than the cache begins at the oldest cached key frame
 *   and the completion message says `start-truncated=true`. Bad commands (malformed JSON,
 *   wrong types, unknown command, end before start, times far in the future) are warnings;
 *   the stream goes on. An element message `rssmartrecord-consumer-ready` (`topic`) is
 *   posted once the consumer has its partitions. Kafka settings: `proto-cfg` (`;`-separated
 *   librdkafka `key=value`, e.g. TLS and SASL, applied last) and `broker-config`, a
 *   DeepStream `cfg_kafka.txt` (`[message-broker]` with `proto-cfg`, `consumer-proto-cfg`,
 *   `consumer-group-id`); secret values (passwords, keys) never reach a log or message.
 *
 * When a clip is finished an element message `rssmartrecord-done` is posted and the signal
 * `recording-done (GstStructure)` emitted, with: `session-id` (guint), `sensor-id`,
 * `filename`, `dirpath`, `container` ("mp4"/"mkv"), `start-time` and `end-time` (UTC,
 * ISO-8601 with milliseconds), `requested-start` (UTC), `start-truncated` (gboolean),
 * `duration-ms` (guint64), `width`, `height` (gint), `codec` ("h264"/"h265"),
 * `contains-video` (TRUE), `contains-audio` (FALSE), `frames` (guint64), `bytes`
 * (guint64), `reason` ("end", "default-duration", "max-duration", "stop", "eos",
 * "caps-changed", "flush", "stopped", "writer-too-slow", "error"), `complete` (gboolean:
 * the muxer finalised the file) and, on trouble, `error` (string). A clip that could not be
 * written at all (or, cut off, holds no complete fragment) is removed and the message says
 * `file-kept=false`.
 *
 * The same structure also goes downstream, as a serialized custom event
 * `rssmartrecord-done` ([`crate::detection::clip`]) in order with the stream: a clip
 * finished while the stream runs is pushed before the next buffer, and at EOS the element
 * finalises the clip being recorded, waits for its writers (at most 15 s; a warning says
 * when one is slower, its message is then only posted) and pushes their events, then a
 * zero-length GAP at the end of the last frame (a video decoder keeps a serialized event
 * for its next frame and would drop it at EOS; a GAP makes it pass it on), before the
 * EOS. Decoders, queues, `rsinfer` and `rstracker` pass the event on, so an
 * `rsmsgbroker` further down publishes each clip as an event with its file as `videoPath`
 * (the second line below). A clip that ends while no buffer follows (a paused live source)
 * goes down with the next buffer or the EOS; clips ended by the element stopping only post
 * the message.
 *
 * ## Example launch lines
 * ```text
 * gst-launch-1.0 -m filesrc location=data/sample-shapes.mp4 ! qtdemux ! h264parse ! rssmartrecord location=/tmp sensor-id=cam1 conn-str="127.0.0.1;9092" topic=svr ! avdec_h264 ! fakesink
 * gst-launch-1.0 filesrc location=data/sample-shapes.mp4 ! parsebin ! rssmartrecord location=/tmp sensor-id=cam1 conn-str="127.0.0.1;9092" topic=svr ! decodebin ! queue ! rsinfer model-location=models/rsvision-shapes.onnx ! rstracker ! rsmsgbroker conn-str=file:///tmp/events.jsonl sensor-id=cam1 publish=tracks ! fakesink
 * ```
 *
 * Since: plugins-rs-0.1.0
 */
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{mpsc, Arc, LazyLock, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::commands::{self, CommandConsumer, Event, Request};
use super::done::{self, utc_of, ClipMeta, Completions};
use super::settings::{self, Settings};
use super::writer::{self, ClipReport, WriterMsg, WriterParams};
use crate::detection::clip;
use crate::kafka;
use crate::smartrecord::cache::GopCache;
use crate::smartrecord::nal::{self, Codec};
use crate::smartrecord::naming::{self, NameParts};
use crate::utc::now_ms;
use crate::video;

// Lock order: `settings` and `writers` are leaf locks, taken alone and released at once.
// `state` is taken alone, or before the completions queue's lock (a leaf lock: writer
// threads take it alone). No lock is held while posting a message, emitting a signal or
// pushing; writer and Kafka threads never take `state` while holding anything else.

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rssmartrecord",
        gst::DebugColorFlags::empty(),
        Some("rsvision smart record"),
    )
});

const SECOND: u64 = 1_000_000_000;

const DEFAULT_CONSUMER_GROUP_PREFIX: &str = "rssmartrecord-";
/// How long `stop()` waits for clip writers to finalise.
const WRITER_JOIN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long EOS waits for clip writers to finalise before it goes downstream.
const EOS_WRITER_TIMEOUT: Duration = Duration::from_secs(15);

/// A cached buffer with its running times.
#[derive(Debug, Clone)]
struct Cached {
    buffer: gst::Buffer,
    pts_rt: Option<u64>,
    dts_rt: Option<u64>,
}

/// The clip being recorded.
struct Session {
    id: u32,
    tx: mpsc::Sender<WriterMsg>,
    /// Running time of the first key frame; `None` while waiting for one.
    start_rt: Option<u64>,
    end_rt: u64,
    end_reason: &'static str,
    max_duration: u64,
    pending_bytes: Arc<AtomicI64>,
}

struct Writer {
    id: u32,
    done: mpsc::Receiver<()>,
    thread: JoinHandle<()>,
}

struct State {
    cache: GopCache<Cached>,
    caps: Option<gst::Caps>,
    segment: gst::FormattedSegment<gst::ClockTime>,
    /// Running time of the latest buffer and the UTC time (ms) it arrived.
    latest: Option<(u64, i64)>,
    next_session: u32,
    active: Option<Session>,
    consumer: Option<CommandConsumer>,
    warned_untimed: bool,
    /// End (buffer time, in the current segment) of the latest buffer: where the GAP after
    /// EOS clips' events is.
    last_end: Option<gst::ClockTime>,
    /// The codec when the stream is an Annex B byte-stream, and its latest parameter sets.
    byte_stream: Option<Codec>,
    param_sets: Option<Vec<u8>>,
    /// Finished clips on their way downstream (this run's writers hold it too).
    completions: Arc<Completions>,
}

/// When a requested clip starts and ends.
#[derive(Debug, Clone, Copy)]
enum ReqStart {
    BeforeNow(u64),
    Utc(i64),
}

#[derive(Debug, Clone, Copy)]
enum ReqEnd {
    AfterNow(u64),
    Utc(i64),
    Default,
}

/// A warning for the bus, built where the trouble is found and posted once no lock is held.
struct Warn(Box<dyn FnOnce(&RsSmartRecord)>, String);

impl Warn {
    fn new<T: gst::MessageErrorDomain + 'static>(domain: T, text: String) -> Self {
        let t = text.clone();
        Warn(
            Box::new(move |imp| gst::element_imp_warning!(imp, domain, ("{}", t))),
            text,
        )
    }
}

/// `warn_msg!(gst::ResourceError::Write, ("format", args))`, like `gst::error_msg!`.
macro_rules! warn_msg {
    ($domain:expr, ($($msg:tt)*)) => {
        Warn::new($domain, format!($($msg)*))
    };
}

/// Something to tell the application once no lock is held.
enum Notice {
    Warning(Warn),
}

#[derive(Default)]
pub struct RsSmartRecord {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// Clip writer threads, joined in `stop()` (a leaf lock).
    writers: Mutex<Vec<Writer>>,
}

#[glib::object_subclass]
impl ObjectSubclass for RsSmartRecord {
    const NAME: &'static str = "GstRsSmartRecord";
    type Type = super::RsSmartRecord;
    type ParentType = gst_base::BaseTransform;
}

impl RsSmartRecord {
    fn post_warning(&self, w: Warn) {
        gst::warning!(CAT, imp = self, "{}", w.1);
        (w.0)(self);
    }

    fn post_notices(&self, notices: Vec<Notice>) {
        for n in notices {
            match n {
                Notice::Warning(m) => self.post_warning(m),
            }
        }
    }

    /// Starts or extends a clip. Returns the session id.
    /// Extends `sess` to `req_end` (capped by its maximum duration).
    fn extend(&self, sess: &mut Session, req_end: u64, end_reason: &'static str, now_rt: u64) {
        let cap = sess
            .start_rt
            .unwrap_or(now_rt)
            .saturating_add(sess.max_duration);
        let (new_end, reason) = if req_end > cap {
            (cap, "max-duration")
        } else {
            (req_end, end_reason)
        };
        if new_end > sess.end_rt {
            gst::debug!(
                CAT,
                imp = self,
                "session {} extended by {} ms",
                sess.id,
                (new_end - sess.end_rt) / 1_000_000
            );
            sess.end_rt = new_end;
            sess.end_reason = reason;
        }
    }

    /// Starts or extends a clip. Returns the session id.
    ///
    /// Three steps so that no file-system call or thread creation happens with the state
    /// lock held (the streaming thread takes it for every buffer): plan under the lock,
    /// create the file without it, then take the pre-roll and publish the session under
    /// the lock again (re-checking what changed meanwhile).
    fn start_recording(&self, start: ReqStart, end: ReqEnd) -> Result<u32, Warn> {
        let settings = self.settings.lock().unwrap().clone();
        let max_duration = settings.max_duration as u64 * SECOND;

        // 1. Plan, under the lock.
        let (
            id,
            caps,
            now_rt,
            now_wall,
            req_start_rt,
            req_end,
            end_reason,
            requested_start_ms,
            name_rt,
        ) = {
            let mut guard = self.state.lock().unwrap();
            let state = guard.as_mut().ok_or_else(|| {
                warn_msg!(
                    gst::CoreError::StateChange,
                    ("rssmartrecord is not running: start-recording ignored")
                )
            })?;
            let (now_rt, now_wall) = state.latest.ok_or_else(|| {
                warn_msg!(
                    gst::StreamError::Failed,
                    ("No video has arrived yet: nothing to record")
                )
            })?;
            let now = now_rt as i128;
            let req_start: i128 = match start {
                ReqStart::BeforeNow(d) => now - d as i128,
                ReqStart::Utc(ms) => now - (now_wall.saturating_sub(ms).max(0) as i128) * 1_000_000,
            };
            let (req_end, end_reason): (i128, &'static str) = match end {
                ReqEnd::AfterNow(d) => (now + d as i128, "end"),
                ReqEnd::Utc(ms) => (now + (ms as i128 - now_wall as i128) * 1_000_000, "end"),
                ReqEnd::Default => (
                    now + (settings.default_duration as u64 * SECOND) as i128,
                    "default-duration",
                ),
            };
            let req_end = req_end.max(0) as u64;
            if let Some(sess) = state.active.as_mut() {
                self.extend(sess, req_end, end_reason, now_rt);
                return Ok(sess.id);
            }
            let caps = state.caps.clone().ok_or_else(|| {
                warn_msg!(
                    gst::CoreError::Negotiation,
                    ("No caps yet: nothing to record")
                )
            })?;
            let req_start_rt = req_start.max(0) as u64;
            let requested_start_ms = utc_of(req_start_rt, (now_rt, now_wall))
                - if req_start < 0 {
                    (-req_start / 1_000_000) as i64
                } else {
                    0
                };
            if let Some(oldest) = state.cache.oldest_rt() {
                if req_end <= oldest {
                    return Err(warn_msg!(
                        gst::StreamError::Failed,
                        (
                            "The requested clip ended {} ms before the oldest cached frame: nothing to record",
                            (oldest - req_end) / 1_000_000
                        )
                    ));
                }
            }
            let name_rt = state
                .cache
                .start_point(req_start_rt)
                .map_or(now_rt, |p| p.rt);
            let id = state.next_session;
            state.next_session = state.next_session.wrapping_add(1).max(1);
            (
                id,
                caps,
                now_rt,
                now_wall,
                req_start_rt,
                req_end,
                end_reason,
                requested_start_ms,
                name_rt,
            )
        };

        // 2. The file, without the lock: a plain name inside an existing, writable directory.
        let dir = PathBuf::from(&settings.location);
        if !dir.is_dir() {
            return Err(warn_msg!(
                gst::ResourceError::NotFound,
                (
                    "Recording directory {} does not exist or is not a directory",
                    dir.display()
                )
            ));
        }
        let name = naming::expand(
            &settings.file_template,
            &NameParts {
                prefix: &settings.file_prefix,
                sensor: &settings.sensor_id,
                session: id,
                start_ms: utc_of(name_rt, (now_rt, now_wall)),
            },
            settings.container.extension(),
        )
        .map_err(|e| {
            warn_msg!(
                gst::ResourceError::Settings,
                ("Invalid file-template {:?}: {}", settings.file_template, e)
            )
        })?;
        let path = naming::unique(&dir, &name, Path::exists).ok_or_else(|| {
            warn_msg!(
                gst::ResourceError::Settings,
                ("No free file name for {:?} in {}", name, dir.display())
            )
        })?;
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            return Err(warn_msg!(
                gst::ResourceError::OpenWrite,
                ("Cannot create {}: {}", path.display(), e)
            ));
        }

        // 3. Pre-roll and publish, under the lock: only reference copies and one send.
        let (tx, rx) = mpsc::channel();
        let pending_bytes = Arc::new(AtomicI64::new(0));
        let (truncated, start_rt, param_sets, completions) = {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                drop(guard);
                let _ = std::fs::remove_file(&path);
                return Err(warn_msg!(
                    gst::CoreError::StateChange,
                    ("rssmartrecord stopped: start-recording ignored")
                ));
            };
            if let Some(sess) = state.active.as_mut() {
                // Another start won the race: extend its clip instead.
                self.extend(sess, req_end, end_reason, now_rt);
                let other = sess.id;
                drop(guard);
                let _ = std::fs::remove_file(&path);
                return Ok(other);
            }
            let point = state.cache.start_point(req_start_rt);
            let start_rt = point.map(|p| p.rt);
            let truncated = point.map(|p| p.truncated).unwrap_or(true);
            let (mut end_rt, mut end_reason) = (req_end, end_reason);
            let cap = start_rt.unwrap_or(now_rt).saturating_add(max_duration);
            if end_rt > cap {
                end_rt = cap;
                end_reason = "max-duration";
            }
            let mut preroll = Vec::new();
            let mut finished = false;
            let mut bytes = 0i64;
            if let Some(p) = point {
                for e in state.cache.iter_from(p.index) {
                    if e.rt >= end_rt {
                        finished = true;
                        break;
                    }
                    bytes += e.size as i64;
                    preroll.push((e.item.buffer.clone(), e.item.pts_rt, e.item.dts_rt));
                }
            }
            pending_bytes.fetch_add(bytes, Ordering::Relaxed);
            let _ = tx.send(WriterMsg::Preroll(preroll));
            if finished {
                let _ = tx.send(WriterMsg::Finish(end_reason));
            } else {
                state.active = Some(Session {
                    id,
                    tx,
                    start_rt,
                    end_rt,
                    end_reason,
                    max_duration,
                    pending_bytes: pending_bytes.clone(),
                });
            }
            (
                truncated,
                start_rt,
                state.byte_stream.zip(state.param_sets.clone()),
                state.completions.clone(),
            )
        };

        // 4. The writer thread, without the lock; buffers wait in the channel meanwhile.
        let params = WriterParams {
            path: path.clone(),
            caps: caps.clone(),
            container: settings.container,
            fragment_duration_ms: settings.fragment_duration,
            pending_bytes,
            param_sets,
        };
        let (done_tx, done) = mpsc::channel();
        let weak = self.obj().downgrade();
        let meta = ClipMeta {
            id,
            sensor_id: settings.sensor_id.clone(),
            path: path.clone(),
            container: settings.container,
            caps,
            clock: (now_rt, now_wall),
            requested_start_ms,
            truncated,
        };
        completions.begin();
        let queue = completions.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("rssmartrecord-writer-{id}"))
            .spawn(move || {
                let report = writer::run(params, rx);
                let clip = done::report(&meta, &report);
                if let Some(element) = weak.upgrade() {
                    element.imp().clip_done(&meta, &report, &clip);
                }
                // After the message: the application sees it before the event goes down.
                queue.finish(Some(clip));
                let _ = done_tx.send(());
            });
        let thread = match spawned {
            Ok(t) => t,
            Err(e) => {
                completions.finish(None);
                let mut guard = self.state.lock().unwrap();
                if let Some(state) = guard.as_mut() {
                    if state.active.as_ref().is_some_and(|s| s.id == id) {
                        state.active = None;
                    }
                }
                drop(guard);
                let _ = std::fs::remove_file(&path);
                return Err(warn_msg!(
                    gst::CoreError::Failed,
                    ("Cannot start the writer thread: {}", e)
                ));
            }
        };
        gst::info!(
            CAT,
            imp = self,
            "session {id}: recording {} from {:?} (requested {}, truncated {truncated}) to {}",
            path.display(),
            start_rt,
            req_start_rt,
            req_end
        );
        let mut writers = self.writers.lock().unwrap();
        // Forget writers that are done (their threads have ended or are ending).
        writers.retain(|w| matches!(w.done.try_recv(), Err(mpsc::TryRecvError::Empty)));
        writers.push(Writer { id, done, thread });
        Ok(id)
    }

    fn stop_recording(&self, id: Option<u32>) -> bool {
        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return false;
        };
        match state.active.as_ref() {
            Some(s) if id.is_none_or(|id| id == s.id) => {
                let s = state.active.take().expect("checked");
                let _ = s.tx.send(WriterMsg::Finish("stop"));
                true
            }
            _ => false,
        }
    }

    /// Called on a writer thread when its clip is done: posts the message and the signal
    /// (the writer thread then queues `clip` for the streaming thread).
    fn clip_done(&self, meta: &ClipMeta, report: &ClipReport, clip: &clip::ClipDone) {
        if let Some(text) = done::trouble(meta, report) {
            self.post_warning(warn_msg!(gst::ResourceError::Write, ("{}", text)));
        }
        let s = clip.to_structure();
        gst::info!(CAT, imp = self, "clip done: {s}");
        let obj = self.obj();
        let _ = obj.post_message(gst::message::Element::builder(s.clone()).src(&*obj).build());
        obj.emit_by_name::<()>("recording-done", &[&s]);
    }

    /// Pushes the `rssmartrecord-done` events of the clips finished since the last call, on
    /// the streaming thread, with no lock held.
    fn push_completions(&self, clips: Vec<clip::ClipDone>) {
        for c in clips {
            gst::debug!(
                CAT,
                imp = self,
                "session {}: done event downstream",
                c.session_id
            );
            if !self.obj().src_pad().push_event(clip::clip_done_event(&c)) {
                gst::debug!(
                    CAT,
                    imp = self,
                    "session {}: downstream did not take the done event",
                    c.session_id
                );
            }
        }
    }

    /// EOS: finalises the clip being recorded and waits (bounded) for every writer, so the
    /// clips' events go downstream before the EOS.
    fn finish_at_eos(&self) {
        let (completions, last_end) = {
            let mut guard = self.state.lock().unwrap();
            let Some(state) = guard.as_mut() else {
                return;
            };
            Self::finish_active(state, "eos");
            (state.completions.clone(), state.last_end)
        };
        let busy = completions.wait_idle(EOS_WRITER_TIMEOUT);
        if busy > 0 {
            self.post_warning(warn_msg!(
                gst::ResourceError::Write,
                (
                    "{} clip writers still busy {} s after EOS: their completion messages will be posted, but do not go downstream",
                    busy,
                    EOS_WRITER_TIMEOUT.as_secs()
                )
            ));
        }
        let finished = completions.take();
        if finished.is_empty() {
            return;
        }
        self.push_completions(finished);
        // Video decoders keep a serialized event for the frame after it and drop it at EOS
        // (avdec_h264 does): a GAP makes them pass it on now.
        if let Some(end) = last_end {
            let gap = gst::event::Gap::builder(end)
                .duration(gst::ClockTime::ZERO)
                .build();
            let _ = self.obj().src_pad().push_event(gap);
        }
    }

    /// A Kafka event, on the consumer thread.
    fn handle_event(&self, ev: Event) {
        match ev {
            Event::Ready(topic) => {
                gst::info!(CAT, imp = self, "Kafka consumer ready on {topic}");
                let s = gst::Structure::builder("rssmartrecord-consumer-ready")
                    .field("topic", topic)
                    .build();
                let obj = self.obj();
                let _ = obj.post_message(gst::message::Element::builder(s).src(&*obj).build());
            }
            Event::Error(e) => self.post_warning(warn_msg!(
                gst::ResourceError::Read,
                ("Kafka command consumer: {}", e)
            )),
            Event::Payload(p) => self.handle_command(&p),
        }
    }

    fn handle_command(&self, payload: &[u8]) {
        let settings = self.settings.lock().unwrap().clone();
        let max_duration_ms = settings.max_duration as i64 * 1000;
        match commands::request(payload, &settings.sensor_id, now_ms(), max_duration_ms) {
            Err(text) => self.post_warning(warn_msg!(gst::StreamError::Format, ("{}", text))),
            Ok(Request::OtherSensor(sensor)) => {
                gst::debug!(CAT, imp = self, "command for sensor {sensor:?} ignored")
            }
            Ok(Request::Start { start_ms, end_ms }) => {
                let end = end_ms.map_or(ReqEnd::Default, ReqEnd::Utc);
                match self.start_recording(ReqStart::Utc(start_ms), end) {
                    Ok(id) => gst::info!(CAT, imp = self, "command started session {id}"),
                    Err(e) => self.post_warning(e),
                }
            }
            Ok(Request::Stop) => {
                if !self.stop_recording(None) {
                    gst::debug!(CAT, imp = self, "stop-recording: nothing is recording");
                }
            }
        }
    }

    fn finish_active(state: &mut State, reason: &'static str) {
        if let Some(s) = state.active.take() {
            let _ = s.tx.send(WriterMsg::Finish(reason));
        }
    }
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
