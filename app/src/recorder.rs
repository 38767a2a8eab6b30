//! Local recording rules on a running pipeline: the GStreamer side of [`crate::rules`].
//!
//! [`attach`] puts a buffer probe on the source pad of the last analysing element
//! (`rstracker`, or the last `rsinfer` without a tracker). For each buffer it reads the
//! objects through the metadata contract ([`gstrsvision::detection::read`]: label,
//! confidence, track id), takes the buffer's running time from the pad's sticky segment,
//! runs the source's [`RuleEngine`] and performs its actions with `rssmartrecord`'s action
//! signals `start-recording(seconds_before_now, duration_s) -> session` and
//! `stop-recording(session)`. Every start asks for the recorder's `max-duration`, so a clip
//! goes on until the engine stops it (or `max-duration` ends it).
//!
//! The recorder sits before the decoder, so it has seen a few buffers more than the
//! analysis when a rule fires; `start-recording` counts `seconds_before_now` from the latest
//! buffer the recorder has seen. A second probe on the recorder's source pad keeps that
//! buffer's running time (computed as the element does) and each start adds the difference,
//! so the clip starts at `first seen - pre` exactly (then on the key frame at or before). A
//! stop takes effect at the recorder's latest buffer: a clip ends up to that latency after
//! `last seen + post`, never before.
//!
//! Clip completions reach the engine through the recorder's `recording-done` signal (on the
//! writer thread, right after the `rssmartrecord-done` bus message); [`RulesHandle::clip_done`]
//! does the same for callers that forward the bus message, and repeated completions are
//! ignored.
//!
//! Log lines (stdout, see [`crate::log`]):
//! `rule SOURCE RULE: recording from T-PRE (label L, track N)`,
//! `rule SOURCE RULE: stop (last seen S s ago)`, and once per series of refusals
//! `rule SOURCE RULE: start refused by rssmartrecord (see its warning), retrying every second`.
//!
//! Locking: one mutex around the engine, held only for engine calls, never while emitting
//! a signal or logging.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use gst::prelude::*;
use gstrsvision::detection;

use crate::config::Rule;
use crate::rules::{self, Action, RuleEngine, Seen};

/// No running time seen yet.
const UNKNOWN: u64 = u64::MAX;

struct Inner {
    engine: RuleEngine,
    /// Per rule: its latest start was refused (the refusal is logged once).
    refused: Vec<bool>,
}

struct Shared {
    source_id: String,
    inner: Mutex<Inner>,
    /// Running time of the latest buffer out of the recorder.
    recorder_now: AtomicU64,
    /// Shutting down: no new clips (the open one is finalised by EOS).
    stopped: std::sync::atomic::AtomicBool,
    /// The web console's events (rule hits), when it runs.
    feed: Option<crate::web::feed::Feed>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The engine is plain data: a panic elsewhere cannot leave it unusable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A source's recording rules, for the source runtime. Cheap to clone.
#[derive(Clone)]
pub struct RulesHandle {
    shared: Arc<Shared>,
}

impl RulesHandle {
    /// Clip `session` is finished (`session-id` of `rssmartrecord-done`).
    /// Shutdown: the rules start no more clips (rssmartrecord finalises the open one at
    /// EOS).
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::Relaxed);
    }

    pub fn clip_done(&self, session: u32) {
        self.shared.lock().engine.session_done(session);
    }

    /// The names of the rules that recorded into `session` (`a+b` when several), or `None`
    /// for a clip no rule asked for (a remote command).
    pub fn rule_of(&self, session: u32) -> Option<String> {
        let inner = self.shared.lock();
        let names: Vec<&str> = inner
            .engine
            .rules_of(session)
            .into_iter()
            .map(|i| inner.engine.rule(i).name.as_str())
            .collect();
        (!names.is_empty()).then(|| names.join("+"))
    }
}

/// The running time of `ts` in the segment on `pad`.
fn running_time(pad: &gst::Pad, ts: Option<gst::ClockTime>) -> Option<u64> {
    let ts = ts?;
    let event = pad.sticky_event::<gst::event::Segment>(0)?;
    let segment = event.segment().downcast_ref::<gst::ClockTime>()?;
    segment.to_running_time(ts).map(|t| t.nseconds())
}

/// `12.5s`: seconds with at most 3 decimals.
fn seconds(ns: u64) -> String {
    let s = format!("{:.3}", ns as f64 / 1e9);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}s")
}

/// Runs `rules` (those that apply to `source_id`) on the objects leaving `pad`, recording
/// with `recorder` (an `rssmartrecord`); each clip a rule starts is also an event in
/// `feed`. The probes live as long as the pads.
pub fn attach(
    source_id: &str,
    pad: &gst::Pad,
    recorder: &gst::Element,
    rules: Vec<Rule>,
    feed: Option<crate::web::feed::Feed>,
) -> RulesHandle {
    let rules = rules::for_source(&rules, source_id);
    let mut engine = RuleEngine::new(rules);
    if recorder.find_property("max-duration").is_some() {
        engine = engine.with_clip_limit(f64::from(recorder.property::<u32>("max-duration")));
    }
    let refused = vec![false; engine.len()];
    let shared = Arc::new(Shared {
        source_id: source_id.to_string(),
        inner: Mutex::new(Inner { engine, refused }),
        recorder_now: AtomicU64::new(UNKNOWN),
        stopped: std::sync::atomic::AtomicBool::new(false),
        feed,
    });

    if let Some(src) = recorder.static_pad("src") {
        let s = shared.clone();
        src.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            if let Some(b) = info.buffer() {
                // As rssmartrecord computes "now": the PTS, else the DTS, in running time.
                if let Some(rt) = running_time(pad, b.pts()).or_else(|| running_time(pad, b.dts()))
                {
                    s.recorder_now.store(rt, Ordering::Relaxed);
                }
            }
            gst::PadProbeReturn::Ok
        });
    }

    let s = shared.clone();
    recorder.connect("recording-done", false, move |args| {
        if let Some(session) = args
            .get(1)
            .and_then(|v| v.get::<gst::Structure>().ok())
            .and_then(|st| st.get::<u32>("session-id").ok())
        {
            s.lock().engine.session_done(session);
        }
        None
    });

    let s = shared.clone();
    let weak = recorder.downgrade();
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(buffer) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        if s.stopped.load(Ordering::Relaxed) {
            return gst::PadProbeReturn::Ok;
        }
        let Some(now) = running_time(pad, buffer.pts()) else {
            return gst::PadProbeReturn::Ok;
        };
        // Only labels, confidences and ids are used: no frame size needed for the boxes.
        let objects = detection::read(buffer, 0, 0);
        let seen: Vec<Seen> = objects
            .iter()
            .map(|d| Seen {
                track_id: d.track_id,
                label: &d.label,
                confidence: d.confidence,
            })
            .collect();
        let actions = s.lock().engine.on_frame(now, &seen);
        if !actions.is_empty() {
            if let Some(recorder) = weak.upgrade() {
                perform(&s, &recorder, now, actions);
            }
        }
        gst::PadProbeReturn::Ok
    });

    RulesHandle { shared }
}

/// Emits the signals for `actions` decided at running time `now`, without holding the lock.
fn perform(s: &Shared, recorder: &gst::Element, now: u64, actions: Vec<Action>) {
    for action in actions {
        match action {
            Action::Start {
                rule,
                seconds_before_now,
                duration_s,
                from_ns,
                first_seen_ns,
                track,
            } => {
                let ahead = match s.recorder_now.load(Ordering::Relaxed) {
                    UNKNOWN => 0,
                    rt => rt.saturating_sub(now),
                };
                let before = seconds_before_now + ahead as f64 / 1e9;
                let session =
                    recorder.emit_by_name::<u32>("start-recording", &[&before, &duration_s]);
                let (name, label, pre, first_refusal) = {
                    let mut inner = s.lock();
                    inner.engine.started(rule, session);
                    let r = inner.engine.rule(rule);
                    let (name, label, pre) = (r.name.clone(), r.label.clone(), r.pre);
                    let first = session == 0 && !inner.refused[rule];
                    inner.refused[rule] = session == 0;
                    (name, label, pre, first)
                };
                let id = s.source_id.as_str();
                if session != 0 {
                    if let Some(feed) = &s.feed {
                        feed.rule(&name, &label, track, from_ns as f64 / 1e9);
                    }
                    let track = track.map_or_else(|| "none".to_string(), |t| t.to_string());
                    let pre_ns = u64::try_from(pre.as_nanos()).unwrap_or(u64::MAX);
                    if from_ns == first_seen_ns.saturating_sub(pre_ns) {
                        log!(
                            "rule {id} {name}: recording from {}-{} (label {label}, track {track})",
                            seconds(first_seen_ns),
                            seconds(pre_ns)
                        );
                    } else {
                        log!(
                            "rule {id} {name}: recording from {}, where its previous clip ended (label {label}, track {track})",
                            seconds(from_ns)
                        );
                    }
                } else if first_refusal {
                    log!(
                        "rule {id} {name}: start refused by rssmartrecord (see its warning), retrying every second"
                    );
                }
            }
            Action::Stop {
                rule,
                session,
                last_seen_ns,
            } => {
                let _ = recorder.emit_by_name::<bool>("stop-recording", &[&session]);
                let name = s.lock().engine.rule(rule).name.clone();
                log!(
                    "rule {} {name}: stop (last seen {:.1} s ago)",
                    s.source_id,
                    now.saturating_sub(last_seen_ns) as f64 / 1e9
                );
            }
            Action::Leave {
                rule, last_seen_ns, ..
            } => {
                let name = s.lock().engine.rule(rule).name.clone();
                log!(
                    "rule {} {name}: stop (last seen {:.1} s ago; the clip goes on for another rule)",
                    s.source_id,
                    now.saturating_sub(last_seen_ns) as f64 / 1e9
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::hash::{DefaultHasher, Hasher};
    use std::path::{Path, PathBuf};
    use std::sync::Once;
    use std::time::Duration;

    const SECOND: u64 = 1_000_000_000;
    /// The sample's frame period (30 fps) and GOP (a key frame every second).
    const FRAME: u64 = SECOND / 30;
    const GOP: u64 = SECOND;
    /// Circles are shown to the tracker only in this running-time window.
    const WINDOW: (u64, u64) = (3 * SECOND, 6 * SECOND);

    fn init() {
        static INIT: Once = Once::new();
        INIT.call_once(|| {
            gst::init().unwrap();
            gstrsvision::plugin_register_static().unwrap();
        });
    }

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn run_to_eos(pipeline: &gst::Element, mut on_element: impl FnMut(&gst::StructureRef)) {
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        for msg in bus.iter_timed(gst::ClockTime::from_seconds(60)) {
            match msg.view() {
                gst::MessageView::Eos(_) => break,
                gst::MessageView::Error(e) => {
                    pipeline.set_state(gst::State::Null).unwrap();
                    panic!("{} ({:?})", e.error(), e.debug());
                }
                gst::MessageView::Element(e) => {
                    if let Some(s) = e.structure() {
                        on_element(s);
                    }
                }
                _ => {}
            }
        }
        pipeline.set_state(gst::State::Null).unwrap();
    }

    /// Running time and pixel hash of every decoded frame of an MP4 file.
    fn frames(path: &Path) -> Vec<(u64, u64)> {
        let p = gst::parse::launch(&format!(
            "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 ! appsink name=sink sync=false",
            path.display()
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let sink = p
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        p.set_state(gst::State::Playing).unwrap();
        let mut out = Vec::new();
        while let Ok(sample) = sink.pull_sample() {
            let buffer = sample.buffer().unwrap();
            let segment = sample
                .segment()
                .unwrap()
                .downcast_ref::<gst::ClockTime>()
                .unwrap();
            let rt = segment.to_running_time(buffer.pts().unwrap()).unwrap();
            let mut h = DefaultHasher::new();
            h.write(buffer.map_readable().unwrap().as_slice());
            out.push((rt.nseconds(), h.finish()));
        }
        p.set_state(gst::State::Null).unwrap();
        out
    }

    fn s(ns: u64) -> f64 {
        ns as f64 / 1e9
    }

    /// A real pipeline over the shipped sample: circles are in view (to the tracker) from
    /// 3 s to 6 s only; the rule records 1 s before to 1 s after. The clip's first and last
    /// frames are found in the source by their pixels.
    #[test]
    fn records_first_seen_minus_pre_to_last_seen_plus_post() {
        init();
        let dir = std::env::temp_dir().join(format!(
            "rsvision-rules-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        /// Removes the clip directory, also when an assertion fails.
        struct Cleanup(PathBuf);
        impl Drop for Cleanup {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let _cleanup = Cleanup(dir.clone());
        let sample = root().join("data/sample-shapes.mp4");
        let model = root().join("models/rsvision-shapes.onnx");
        let pipeline = gst::parse::launch(&format!(
            "filesrc location={} ! qtdemux ! h264parse \
             ! rssmartrecord name=record location={} sensor-id=test \
             ! avdec_h264 ! rsinfer name=infer model-location={} \
             ! rstracker name=tracker ! fakesink sync=false",
            sample.display(),
            dir.display(),
            model.display()
        ))
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let by_name = |n: &str| pipeline.by_name(n).unwrap();

        // Hide the detections outside the window from the tracker.
        by_name("infer").static_pad("src").unwrap().add_probe(
            gst::PadProbeType::BUFFER,
            |pad, info| {
                let rt = info
                    .buffer()
                    .and_then(|b| running_time(pad, b.pts()))
                    .unwrap_or(0);
                if !(WINDOW.0..WINDOW.1).contains(&rt) {
                    if let Some(b) = info.buffer_mut() {
                        detection::remove_all(b.make_mut());
                    }
                }
                gst::PadProbeReturn::Ok
            },
        );
        let tracker_src = by_name("tracker").static_pad("src").unwrap();
        // What the rule sees, independently: first and last frame with a tracked circle.
        let seen = Arc::new(Mutex::new((u64::MAX, 0u64)));
        let seen_probe = seen.clone();
        tracker_src.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let b = info.buffer().unwrap();
            let rt = running_time(pad, b.pts()).unwrap();
            if detection::read(b, 0, 0)
                .iter()
                .any(|d| d.label == "circle" && d.confidence >= 0.5 && d.track_id.is_some())
            {
                let mut s = seen_probe.lock().unwrap();
                s.0 = s.0.min(rt);
                s.1 = s.1.max(rt);
            }
            gst::PadProbeReturn::Ok
        });
        let rule = Rule {
            name: "circle-seen".into(),
            label: "circle".into(),
            min_confidence: 0.5,
            min_duration: Duration::from_secs(1),
            pre: Duration::from_secs(1),
            post: Duration::from_secs(1),
            cooldown: Duration::ZERO,
            sources: Some(vec!["test".into()]),
        };
        let other = Rule {
            name: "for-another-source".into(),
            sources: Some(vec!["elsewhere".into()]),
            ..rule.clone()
        };
        let handle = attach(
            "test",
            &tracker_src,
            &by_name("record"),
            vec![other, rule],
            None,
        );

        let mut clips = Vec::new();
        run_to_eos(pipeline.upcast_ref(), |st| {
            if st.name() == "rssmartrecord-done" {
                let session = st.get::<u32>("session-id").unwrap();
                handle.clip_done(session);
                clips.push((st.to_owned(), handle.rule_of(session)));
            }
        });

        let (first_seen, last_seen) = *seen.lock().unwrap();
        eprintln!(
            "circles seen from {} s to {} s",
            s(first_seen),
            s(last_seen)
        );
        // The tracker confirms a track on its second detection and coasts 0.5 s.
        assert!(
            (WINDOW.0..WINDOW.0 + 3 * FRAME).contains(&first_seen),
            "{first_seen}"
        );
        assert!(
            (WINDOW.1 - FRAME..WINDOW.1 + SECOND / 2 + FRAME).contains(&last_seen),
            "{last_seen}"
        );

        assert_eq!(clips.len(), 1, "{clips:?}");
        let (done, rule_name) = &clips[0];
        assert_eq!(rule_name.as_deref(), Some("circle-seen"));
        assert_eq!(done.get::<&str>("reason").unwrap(), "stop");
        assert!(done.get::<bool>("complete").unwrap());
        let file = PathBuf::from(done.get::<String>("dirpath").unwrap())
            .join(done.get::<String>("filename").unwrap());
        assert!(file.starts_with(&dir));

        let source = frames(&sample);
        let clip = frames(&file);
        let mut at: HashMap<u64, Vec<u64>> = HashMap::new();
        for (rt, h) in &source {
            at.entry(*h).or_default().push(*rt);
        }
        let time_of = |h: u64| match at.get(&h).map(Vec::as_slice) {
            Some([t]) => *t,
            other => panic!("clip frame not found once in the source: {other:?}"),
        };
        let clip_first = time_of(clip.first().unwrap().1);
        let clip_last = time_of(clip.last().unwrap().1);
        eprintln!(
            "clip {}: {} frames, {} s to {} s",
            file.display(),
            clip.len(),
            s(clip_first),
            s(clip_last)
        );
        // Every source frame in between, once, in order.
        let expected: Vec<u64> = source
            .iter()
            .map(|(_, h)| *h)
            .filter(|h| (clip_first..=clip_last).contains(&time_of(*h)))
            .collect();
        assert_eq!(clip.iter().map(|(_, h)| *h).collect::<Vec<_>>(), expected);

        let want_from = first_seen - SECOND;
        let want_to = last_seen + SECOND;
        assert!(
            clip_first <= want_from && clip_first + GOP > want_from,
            "clip starts at {} s, wanted {} s (key frame at or before)",
            s(clip_first),
            s(want_from)
        );
        assert!(
            clip_last + FRAME >= want_to && clip_last <= want_to + SECOND / 2,
            "clip ends at {} s, wanted {} s",
            s(clip_last),
            s(want_to)
        );
    }
}
