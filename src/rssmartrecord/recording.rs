//! Recording sessions: starting a clip (from the cache, by signal, command or API),
//! extending and stopping it, the writer threads' completions, and finishing clips at EOS.
//! The state these work on, and the messages they leave for the element to post.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;

use super::commands::{self, CommandConsumer, Event, Request};
use super::done::{self, utc_of, ClipMeta, Completions};
use super::imp::{RsSmartRecord, CAT, EOS_WRITER_TIMEOUT, SECOND};
use super::writer::{self, ClipReport, WriterMsg, WriterParams};
use crate::detection::clip;
use crate::smartrecord::cache::GopCache;
use crate::smartrecord::nal::Codec;
use crate::smartrecord::naming::{self, NameParts};
use crate::utc::now_ms;

/// A cached buffer with its running times.
#[derive(Debug, Clone)]
pub(super) struct Cached {
    pub(super) buffer: gst::Buffer,
    pub(super) pts_rt: Option<u64>,
    pub(super) dts_rt: Option<u64>,
}

/// The clip being recorded.
pub(super) struct Session {
    pub(super) id: u32,
    pub(super) tx: mpsc::Sender<WriterMsg>,
    /// Running time of the first key frame; `None` while waiting for one.
    pub(super) start_rt: Option<u64>,
    pub(super) end_rt: u64,
    pub(super) end_reason: &'static str,
    pub(super) max_duration: u64,
    pub(super) pending_bytes: Arc<AtomicI64>,
}

pub(super) struct Writer {
    pub(super) id: u32,
    pub(super) done: mpsc::Receiver<()>,
    pub(super) thread: JoinHandle<()>,
}

pub(super) struct State {
    pub(super) cache: GopCache<Cached>,
    pub(super) caps: Option<gst::Caps>,
    pub(super) segment: gst::FormattedSegment<gst::ClockTime>,
    /// Running time of the latest buffer and the UTC time (ms) it arrived.
    pub(super) latest: Option<(u64, i64)>,
    pub(super) next_session: u32,
    pub(super) active: Option<Session>,
    pub(super) consumer: Option<CommandConsumer>,
    pub(super) warned_untimed: bool,
    /// End (buffer time, in the current segment) of the latest buffer: where the GAP after
    /// EOS clips' events is.
    pub(super) last_end: Option<gst::ClockTime>,
    /// The codec when the stream is an Annex B byte-stream, and its latest parameter sets.
    pub(super) byte_stream: Option<Codec>,
    pub(super) param_sets: Option<Vec<u8>>,
    /// Finished clips on their way downstream (this run's writers hold it too).
    pub(super) completions: Arc<Completions>,
}

/// When a requested clip starts and ends.
#[derive(Debug, Clone, Copy)]
pub(super) enum ReqStart {
    BeforeNow(u64),
    Utc(i64),
}

#[derive(Debug, Clone, Copy)]
pub(super) enum ReqEnd {
    AfterNow(u64),
    Utc(i64),
    Default,
}

/// A warning for the bus, built where the trouble is found and posted once no lock is held.
pub(super) struct Warn(Box<dyn FnOnce(&RsSmartRecord)>, String);

impl Warn {
    pub(super) fn new<T: gst::MessageErrorDomain + 'static>(domain: T, text: String) -> Self {
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
pub(super) enum Notice {
    Warning(Warn),
}

impl RsSmartRecord {
    pub(super) fn post_warning(&self, w: Warn) {
        gst::warning!(CAT, imp = self, "{}", w.1);
        (w.0)(self);
    }

    pub(super) fn post_notices(&self, notices: Vec<Notice>) {
        for n in notices {
            match n {
                Notice::Warning(m) => self.post_warning(m),
            }
        }
    }

    /// Starts or extends a clip. Returns the session id.
    /// Extends `sess` to `req_end` (capped by its maximum duration).
    pub(super) fn extend(
        &self,
        sess: &mut Session,
        req_end: u64,
        end_reason: &'static str,
        now_rt: u64,
    ) {
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
    pub(super) fn start_recording(&self, start: ReqStart, end: ReqEnd) -> Result<u32, Warn> {
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

    pub(super) fn stop_recording(&self, id: Option<u32>) -> bool {
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
    pub(super) fn clip_done(&self, meta: &ClipMeta, report: &ClipReport, clip: &clip::ClipDone) {
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
    pub(super) fn push_completions(&self, clips: Vec<clip::ClipDone>) {
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
    pub(super) fn finish_at_eos(&self) {
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
    pub(super) fn handle_event(&self, ev: Event) {
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

    pub(super) fn handle_command(&self, payload: &[u8]) {
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

    pub(super) fn finish_active(state: &mut State, reason: &'static str) {
        if let Some(s) = state.active.take() {
            let _ = s.tx.send(WriterMsg::Finish(reason));
        }
    }
}
