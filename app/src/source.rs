//! One source at run time: its pipeline (built from [`crate::pipeline::describe`]), the
//! bus messages that matter (errors, ends of stream, clip completions, the loop of a live
//! file), the watchdog and the reconnect state machine ([`crate::state`]). A source is
//! restarted on its own: a new pipeline, the old one set to NULL on a thread of its own so
//! a frozen server never blocks the others.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

use crate::config::{Config, Input, Source};
use crate::pipeline;
use crate::state::{Machine, State, Step};
use crate::stats::{Counters, Snapshot};
use crate::web::feed::{self, Feed};
use crate::web::tap::{Tap, TapCounters};
use crate::web::{Hub, SourceHub};

/// Delivery figures of one rsmsgbroker (from its `stats`), summed over the pipelines the
/// source has had.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinkFigures {
    pub delivered: u64,
    pub queued: u64,
    pub dropped: u64,
    pub failed: u64,
}

impl SinkFigures {
    fn read(element: &gst::Element) -> SinkFigures {
        let s = element.property::<gst::Structure>("stats");
        let get = |f: &str| s.get::<u64>(f).unwrap_or(0);
        SinkFigures {
            delivered: get("delivered"),
            queued: get("queued"),
            dropped: get("dropped"),
            failed: get("failed"),
        }
    }

    fn add(&mut self, other: SinkFigures) {
        self.delivered += other.delivered;
        self.queued += other.queued;
        self.dropped += other.dropped;
        self.failed += other.failed;
    }
}

/// Figures of pipelines already torn down, per sink (filled by the teardown threads).
type Retired = Arc<Mutex<Vec<SinkFigures>>>;

/// The source's side of the web console.
struct WebSide {
    fps: u32,
    hub: Arc<SourceHub>,
    feed: Feed,
    counters: Arc<TapCounters>,
    /// The current pipeline's JPEG branch.
    tap: Option<Tap>,
}

pub struct SourceRunner {
    pub source: Source,
    /// The description that runs (credentials included): never print it.
    description: String,
    pipeline: Option<gst::Pipeline>,
    pub machine: Machine,
    pub counters: Arc<Counters>,
    pub clips: u64,
    pub last: Snapshot,
    rules: Option<crate::recorder::RulesHandle>,
    rule_list: Vec<crate::config::Rule>,
    retired: Retired,
    teardowns: Vec<std::thread::JoinHandle<()>>,
    /// When the current pipeline started.
    started: Option<Instant>,
    /// A live file's first segment seek is done.
    looping: bool,
    /// Shutting down: EOS was sent, waiting for it at the sink.
    pub draining: bool,
    /// EOS reached the end (or the pipeline failed) while draining.
    pub drained: bool,
    /// With the web console.
    web: Option<WebSide>,
}

impl SourceRunner {
    /// The `index`th source of `config`; `hub` is the web console's, when it runs.
    pub fn new(
        config: &Config,
        index: usize,
        now: Instant,
        hub: Option<&Arc<Hub>>,
    ) -> SourceRunner {
        let source = config.sources[index].clone();
        let web = hub.and_then(|hub| {
            Some(WebSide {
                fps: config.web.fps,
                hub: hub.source(&source.id)?.clone(),
                feed: Feed::new(hub.clone(), &source.id),
                counters: Arc::new(TapCounters::default()),
                tap: None,
            })
        });
        let description = pipeline::describe(config, &source, false);
        let rule_list = match &config.record {
            Some(r) if source.record && !source.models.is_empty() => r
                .rules
                .iter()
                .filter(|rule| {
                    rule.sources
                        .as_ref()
                        .is_none_or(|ids| ids.iter().any(|id| id == &source.id))
                })
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let counters = Arc::new(Counters::new(source.models.len()));
        let seed =
            (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ std::process::id() as u64;
        SourceRunner {
            machine: Machine::new(source.reconnect.clone(), seed, now),
            retired: Arc::new(Mutex::new(vec![SinkFigures::default(); source.sinks.len()])),
            source,
            description,
            pipeline: None,
            counters,
            clips: 0,
            last: Snapshot {
                at: Some(now),
                ..Snapshot::default()
            },
            rules: None,
            rule_list,
            teardowns: Vec::new(),
            started: None,
            looping: false,
            draining: false,
            drained: false,
            web,
        }
    }

    /// A state change for the web console's events.
    fn state_event(&self, state: &str, text: &str, data: serde_json::Value) {
        if let Some(w) = &self.web {
            w.feed.state(state, text, data);
        }
    }

    /// Opens the JPEG branch while the source has viewers (every tick).
    pub fn update_web(&mut self) {
        if let Some(tap) = self.web.as_mut().and_then(|w| w.tap.as_mut()) {
            tap.update();
        }
    }

    /// Frames that reached the console's JPEG encoder, over every pipeline.
    pub fn frames_encoded(&self) -> u64 {
        self.web
            .as_ref()
            .map_or(0, |w| w.counters.encoded.load(Ordering::Relaxed))
    }

    /// Whether the recorder is writing a clip now.
    pub fn recording(&self) -> bool {
        self.pipeline
            .as_ref()
            .and_then(|p| p.by_name(pipeline::RECORDER))
            .is_some_and(|r| r.property::<bool>("recording"))
    }

    /// rsanalytics' running counts (its `stats`), when the source runs analytics now.
    pub fn analytics_stats(&self) -> Option<gst::Structure> {
        self.pipeline
            .as_ref()
            .and_then(|p| p.by_name(pipeline::ANALYTICS))
            .map(|a| a.property::<gst::Structure>("stats"))
    }

    fn retry_event(&self, wait: Duration, attempt: u32) {
        let secs = wait.as_secs_f64();
        self.state_event(
            "reconnecting",
            &format!("reconnecting in {} s", secs.ceil() as u64),
            serde_json::json!({"retry_in_s": (secs * 10.0).round() / 10.0, "attempt": attempt}),
        );
    }

    pub fn id(&self) -> &str {
        &self.source.id
    }

    pub fn is_running(&self) -> bool {
        self.pipeline.is_some()
    }

    /// Advances the source: bus messages, then the state machine.
    pub fn poll(&mut self, now: Instant) {
        self.drain_bus(now);
        if self.draining {
            return;
        }
        let last_frame = if self.pipeline.is_some() {
            self.counters.since_last_frame()
        } else {
            None
        };
        if let Some(step) = self.machine.tick(now, last_frame) {
            self.step(step, now);
        }
    }

    fn step(&mut self, step: Step, now: Instant) {
        let id = self.source.id.clone();
        match step {
            Step::Start { attempt } => {
                log!("source {id}: connecting (attempt {attempt})");
                if let Err(e) = self.start() {
                    log!("source {id}: lost ({e})");
                    let next = self.machine.lost(now);
                    self.step(next, now);
                }
            }
            Step::Live => {
                log!("source {id}: live");
                self.state_event("live", "live", serde_json::json!({}));
            }
            Step::Stalled(gap) => {
                log!(
                    "source {id}: stalled (no buffer for {:.1} s)",
                    gap.as_secs_f64()
                );
                self.teardown();
                if let Some((wait, attempt)) = self.machine.retry_in(now) {
                    log!(
                        "source {id}: reconnecting in {:.2} s (attempt {attempt})",
                        wait.as_secs_f64()
                    );
                    self.retry_event(wait, attempt);
                }
            }
            Step::Retry { wait, attempt } => {
                self.teardown();
                log!(
                    "source {id}: reconnecting in {:.2} s (attempt {attempt})",
                    wait.as_secs_f64()
                );
                self.retry_event(wait, attempt);
            }
            Step::GiveUp { attempts } => {
                self.teardown();
                log!("source {id}: failed (gave up after {attempts} attempts)");
                self.state_event(
                    "failed",
                    &format!("failed after {attempts} attempts"),
                    serde_json::json!({"attempts": attempts}),
                );
            }
        }
    }

    fn lost(&mut self, reason: &str, now: Instant) {
        if self.pipeline.is_none() {
            return;
        }
        log!("source {}: lost ({reason})", self.source.id);
        let step = self.machine.lost(now);
        self.step(step, now);
    }

    /// Builds and starts a new pipeline.
    fn start(&mut self) -> Result<(), String> {
        let pipeline = gst::parse::launch(&self.description)
            .map_err(|e| format!("could not build the pipeline: {e}"))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| "the description is not a pipeline".to_string())?;
        pipeline.set_property("name", format!("source-{}", self.source.id));
        self.counters.last_frame.store(0, Ordering::Relaxed);
        crate::stats::attach(
            &pipeline,
            self.source.models.len(),
            self.source.input.is_live(),
            &self.counters,
        );
        if let Some(w) = &mut self.web {
            w.tap = Tap::attach(&pipeline, w.fps, w.hub.clone(), w.counters.clone());
            if let Some(pad) = pipeline
                .by_name(pipeline::TRACKER)
                .and_then(|e| e.static_pad("src"))
            {
                feed::attach_tracker(&pad, w.feed.clone());
            }
        }
        self.rules = None;
        if !self.rule_list.is_empty() {
            let pad_owner = if self.source.tracker.is_some() {
                pipeline::TRACKER.to_string()
            } else {
                pipeline::infer_name(self.source.models.len() - 1)
            };
            let pad = pipeline
                .by_name(&pad_owner)
                .and_then(|e| e.static_pad("src"));
            let recorder = pipeline.by_name(pipeline::RECORDER);
            if let (Some(pad), Some(recorder)) = (pad, recorder) {
                self.rules = Some(crate::recorder::attach(
                    &self.source.id,
                    &pad,
                    &recorder,
                    self.rule_list.clone(),
                    self.web.as_ref().map(|w| w.feed.clone()),
                ));
            }
        }
        self.looping = false;
        self.started = Some(Instant::now());
        let result = pipeline.set_state(gst::State::Playing);
        self.pipeline = Some(pipeline);
        match result {
            Ok(_) => Ok(()),
            Err(_) => {
                // The bus says why; read it before giving up on this attempt.
                let why = self
                    .pipeline
                    .as_ref()
                    .and_then(|p| p.bus())
                    .and_then(|bus| {
                        bus.timed_pop_filtered(
                            gst::ClockTime::from_mseconds(100),
                            &[gst::MessageType::Error],
                        )
                    })
                    .and_then(|m| match m.view() {
                        gst::MessageView::Error(e) => Some(e.error().to_string()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "the pipeline did not start".into());
                self.teardown();
                Err(why)
            }
        }
    }

    /// Sets the pipeline to NULL on a thread of its own (rtspsrc can take seconds to let
    /// go of a frozen server) and keeps its sinks' final figures.
    fn teardown(&mut self) {
        self.rules = None;
        if let Some(w) = &mut self.web {
            w.tap = None;
        }
        let Some(pipeline) = self.pipeline.take() else {
            return;
        };
        let sinks: Vec<Option<gst::Element>> = self
            .source
            .sinks
            .iter()
            .map(|s| pipeline.by_name(&pipeline::sink_name(s)))
            .collect();
        let retired = self.retired.clone();
        self.teardowns.retain(|t| !t.is_finished());
        let handle = std::thread::Builder::new()
            .name(format!("teardown-{}", self.source.id))
            .spawn(move || {
                let _ = pipeline.set_state(gst::State::Null);
                let mut r = retired.lock().unwrap_or_else(|e| e.into_inner());
                for (slot, sink) in r.iter_mut().zip(&sinks) {
                    if let Some(sink) = sink {
                        slot.add(SinkFigures::read(sink));
                    }
                }
            });
        if let Ok(h) = handle {
            self.teardowns.push(h);
        }
    }

    fn drain_bus(&mut self, now: Instant) {
        let Some(bus) = self.pipeline.as_ref().and_then(|p| p.bus()) else {
            return;
        };
        while let Some(msg) = bus.pop() {
            self.handle(&msg, now);
            if self.pipeline.is_none() {
                break;
            }
        }
    }

    fn handle(&mut self, msg: &gst::Message, now: Instant) {
        use gst::MessageView;
        let id = self.source.id.clone();
        match msg.view() {
            MessageView::Error(e) => {
                let from = msg.src().map(|s| s.name().to_string()).unwrap_or_default();
                if self.draining {
                    log!("source {id}: error while stopping ({from}: {})", e.error());
                    self.drained = true;
                    return;
                }
                self.lost(&format!("{}: {}", from, e.error()), now);
            }
            MessageView::Warning(w) => {
                log!("source {id}: warning ({})", w.error());
            }
            MessageView::Eos(_) => {
                if self.draining {
                    self.drained = true;
                } else if matches!(self.source.input, Input::File { .. }) {
                    log!("source {id}: ended");
                    self.state_event("ended", "ended", serde_json::json!({}));
                    self.machine.end();
                    self.drained = true;
                    self.teardown();
                } else {
                    self.lost("end of stream", now);
                }
            }
            MessageView::AsyncDone(_) if pipeline::loops(&self.source) && !self.looping => {
                self.looping = true;
                self.seek_loop(true);
            }
            MessageView::SegmentDone(_) if !self.draining => self.seek_loop(false),
            MessageView::Element(e) => {
                if let Some(s) = e.structure() {
                    if s.name() == "rssmartrecord-done" {
                        self.clip_done(s);
                    } else if let Some(event) = feed::analytics_event(&id, s, feed::unix_ms()) {
                        log!("analytics {id}: {}", event.text);
                        if let Some(w) = &self.web {
                            w.feed.analytics(event);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// A live file plays again from its start: a segment seek, flushing only the first
    /// time, so running time (what the tracker, the recorder and the events use) keeps
    /// growing across loops.
    fn seek_loop(&self, first: bool) {
        let Some(p) = &self.pipeline else { return };
        let mut flags = gst::SeekFlags::SEGMENT;
        if first {
            flags |= gst::SeekFlags::FLUSH;
        }
        if p.seek(
            1.0,
            flags,
            gst::SeekType::Set,
            gst::ClockTime::ZERO,
            gst::SeekType::None,
            gst::ClockTime::NONE,
        )
        .is_err()
        {
            log!(
                "source {}: warning (the file cannot be looped: seek refused)",
                self.source.id
            );
        }
    }

    fn clip_done(&mut self, s: &gst::StructureRef) {
        let dir = s.get::<String>("dirpath").unwrap_or_default();
        let name = s.get::<String>("filename").unwrap_or_default();
        let session = s.get::<u32>("session-id").unwrap_or(0);
        let ms = s.get::<u64>("duration-ms").unwrap_or(0);
        let kept = s.get::<bool>("file-kept").unwrap_or(true);
        let reason = self
            .rules
            .as_ref()
            .and_then(|r| r.rule_of(session))
            .unwrap_or_else(|| "command".to_string());
        if let Some(r) = &self.rules {
            r.clip_done(session);
        }
        if !kept {
            log!("clip {}: none written ({reason})", self.source.id);
            return;
        }
        self.clips += 1;
        if let Some(w) = &self.web {
            w.feed.clip_done(s, &reason);
        }
        let path = std::path::Path::new(&dir).join(name);
        log!(
            "clip {}: {} ({:.1} s, {reason})",
            self.source.id,
            path.display(),
            ms as f64 / 1000.0
        );
    }

    /// Shutdown: EOS into the pipeline so clips are finalised, tracks emit their `exit`
    /// and the brokers flush. Sources without a pipeline are done at once.
    pub fn begin_drain(&mut self) {
        self.draining = true;
        if let Some(rules) = &self.rules {
            rules.stop();
        }
        let Some(p) = self.pipeline.clone() else {
            self.drained = true;
            return;
        };
        // EOS goes in after the parser (at the recorder, so open clips are finalised) or,
        // without a recorder, after the decoder, on a thread of its own. Not into the
        // pipeline: that reaches only the source element, which a demuxer reading in pull
        // mode never asks again; not at the source's peer either: a pull-mode demuxer's
        // task holds that pad's stream lock as long as it runs. A serialized event waits
        // for its pad's stream lock, which a streaming thread holds while it pushes (for at
        // most a frame's time here), so the supervisor thread never waits for it.
        let target = if self.source.record {
            pipeline::RECORDER
        } else {
            pipeline::CONVERT
        };
        let _ = std::thread::Builder::new()
            .name(format!("eos-{}", self.source.id))
            .spawn(
                move || match p.by_name(target).and_then(|e| e.static_pad("sink")) {
                    Some(pad) => {
                        pad.send_event(gst::event::Eos::new());
                    }
                    None => {
                        p.send_event(gst::event::Eos::new());
                    }
                },
            );
    }

    /// Current level of the queue before inference (frames neither passed nor dropped).
    pub fn queued(&self) -> u64 {
        self.pipeline
            .as_ref()
            .and_then(|p| p.by_name(pipeline::QUEUE))
            .map(|q| q.property::<u32>("current-level-buffers") as u64)
            .unwrap_or(0)
    }

    /// The sinks' figures: retired pipelines plus the running one.
    pub fn sink_figures(&self) -> Vec<(String, SinkFigures)> {
        let retired = self
            .retired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.source
            .sinks
            .iter()
            .zip(retired)
            .map(|(name, mut f)| {
                if let Some(e) = self
                    .pipeline
                    .as_ref()
                    .and_then(|p| p.by_name(&pipeline::sink_name(name)))
                {
                    f.add(SinkFigures::read(&e));
                }
                (name.clone(), f)
            })
            .collect()
    }

    /// Stops for good (after draining): NULL, and waits for every teardown thread up to
    /// `deadline`. Returns false when one did not finish.
    pub fn finish(&mut self, deadline: Instant) -> bool {
        self.teardown();
        let mut all = true;
        for t in self.teardowns.drain(..) {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                all = false;
            }
        }
        if !matches!(self.machine.state, State::Failed { .. }) {
            self.machine.end();
        }
        all
    }

    /// How long the current pipeline has run.
    pub fn started_for(&self) -> Duration {
        self.started.map(|t| t.elapsed()).unwrap_or_default()
    }

    /// Position and duration of an offline file, for the progress line.
    pub fn progress(&self) -> Option<(gst::ClockTime, gst::ClockTime)> {
        let p = self.pipeline.as_ref()?;
        Some((p.query_position()?, p.query_duration()?))
    }
}
