//! The `/api/status` document (web-design.md, "Endpoints"), rebuilt by the supervisor about
//! every 500 ms from what it already reads for the `perf` lines: each source's state and
//! counters, each model's inferences, each sink's figures, the clips. Rates and means are
//! over the last [`WINDOW`] (so they are steady between two rebuilds and follow a change
//! within seconds); totals since start.
//!
//! Per source: `id`, `state`, `state_text` ("reconnecting in 3 s"), `retry_in_s`, `fps_in`,
//! `fps_processed`, `frames` (total at the end of the pipeline), `dropped`, `inference_ms`,
//! `latency_ms`, `reconnects`, `last_frame_age_s`, `objects` (on the latest frame),
//! `viewers`, `clips_recording`, `frames_encoded` (JPEGs made for the console), `analytics`
//! (rsanalytics' running counts per line and zone; `null` without analytics). Per model:
//! `name`, `inferences_per_s`, `inference_ms` (mean time of a frame in it), `sessions`
//! (ONNX Runtime sessions loaded from its file). Per sink and source: `name`, `source`,
//! `sent`, `queued`, `dropped`, `failed`. Then `clips` (`recording`, `finished`),
//! `events` (kept in memory), `version`, `uptime_s`. Unknown figures are `null`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::config::Config;
use crate::source::SourceRunner;
use crate::state::State;
use crate::stats::Snapshot;
use crate::web::Hub;

/// Rates are over this much time (or since the first reading, when less).
pub const WINDOW: Duration = Duration::from_secs(2);
/// How often the supervisor rebuilds the document.
pub const EVERY: Duration = Duration::from_millis(500);

/// One reading of a source.
#[derive(Debug, Clone)]
struct Reading {
    snap: Snapshot,
    /// Per rsinfer element: inferences and their total ns.
    models: Vec<(u64, u64)>,
}

/// A source's readings over the last [`WINDOW`], oldest first.
#[derive(Debug, Default)]
struct Readings(VecDeque<Reading>);

impl Readings {
    /// Adds `r` and returns the oldest reading at most [`WINDOW`] older (itself when it is
    /// the first).
    fn push(&mut self, r: Reading) -> &Reading {
        let at = r.snap.at.unwrap_or_else(Instant::now);
        self.0.push_back(r);
        while self.0.len() > 2
            && self.0[1]
                .snap
                .at
                .is_some_and(|t| at.duration_since(t) >= WINDOW)
        {
            self.0.pop_front();
        }
        &self.0[0]
    }

    fn last(&self) -> Option<&Reading> {
        self.0.back()
    }
}

/// `state` and `state_text` and `retry_in_s` of a source's state at `now`.
pub fn describe_state(state: &State, now: Instant) -> (&'static str, String, Option<f64>) {
    let text = match state {
        State::Connecting { attempt: 1, .. } => "connecting".to_string(),
        State::Connecting { attempt, .. } => format!("connecting (attempt {attempt})"),
        State::Live { .. } => "live".to_string(),
        State::Reconnecting { at, .. } => {
            // The text's whole seconds agree with the number (5.02 s is "in 5 s", 5.0).
            let wait = round(at.saturating_duration_since(now).as_secs_f64(), 1);
            return (
                state.name(),
                format!("reconnecting in {} s", wait.ceil() as u64),
                Some(wait),
            );
        }
        State::Failed { attempts } => format!("failed after {attempts} attempts"),
        State::Ended => "ended".to_string(),
    };
    (state.name(), text, None)
}

/// rsanalytics' `stats` (`line-NAME-in`, `line-NAME-out`, `zone-NAME-count`,
/// `zone-NAME-entries`) as `{"lines": {NAME: {"in", "out"}}, "zones": {NAME: {"count",
/// "entries"}}}`.
pub fn analytics_counts(stats: &gst::StructureRef) -> Value {
    let (mut lines, mut zones) = (serde_json::Map::new(), serde_json::Map::new());
    for (field, value) in stats.iter() {
        let Ok(n) = value.get::<u64>() else { continue };
        let split = |prefix: &str, suffixes: &[&'static str]| {
            let rest = field.strip_prefix(prefix)?;
            suffixes
                .iter()
                .find_map(|s| Some((rest.strip_suffix(s)?.strip_suffix('-')?, *s)))
        };
        let (map, name, key) = if let Some((name, key)) = split("line-", &["in", "out"]) {
            (&mut lines, name, key)
        } else if let Some((name, key)) = split("zone-", &["count", "entries"]) {
            (&mut zones, name, key)
        } else {
            continue;
        };
        if let Value::Object(o) = map.entry(name.to_string()).or_insert_with(|| json!({})) {
            o.insert(key.into(), n.into());
        }
    }
    json!({"lines": lines, "zones": zones})
}

fn round(v: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (v * k).round() / k
}

fn opt(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |v| json!(round(v, 2)))
}

/// Keeps the readings between rebuilds.
#[derive(Debug, Default)]
pub struct StatusBuilder {
    readings: Vec<Readings>,
}

impl StatusBuilder {
    pub fn new() -> StatusBuilder {
        StatusBuilder::default()
    }

    /// The document now.
    pub fn build(&mut self, config: &Config, sources: &[SourceRunner], hub: &Hub) -> Value {
        let now = Instant::now();
        self.readings.resize_with(sources.len(), Readings::default);
        let mut out_sources = Vec::new();
        let mut sinks = Vec::new();
        // Per model name: inferences, ns and seconds of window summed over its sources.
        let mut models: BTreeMap<&str, (f64, u64, u64)> = BTreeMap::new();
        let mut recording = 0u64;
        for (i, s) in sources.iter().enumerate() {
            let previous = self.readings[i].last().map(|r| r.snap).unwrap_or_default();
            let snap = Snapshot::take(&s.counters, s.queued(), &previous);
            let reading = Reading {
                snap,
                models: s
                    .counters
                    .models
                    .iter()
                    .map(|m| {
                        (
                            m.inferred.load(Ordering::Relaxed),
                            m.infer_ns.load(Ordering::Relaxed),
                        )
                    })
                    .collect(),
            };
            let oldest = self.readings[i].push(reading.clone()).clone();
            let rates = snap.since(&oldest.snap);
            let secs = match (snap.at, oldest.snap.at) {
                (Some(a), Some(b)) => a.duration_since(b).as_secs_f64(),
                _ => 0.0,
            };
            for (name, (now_m, then_m)) in crate::pipeline::chain_models(config, &s.source)
                .iter()
                .zip(reading.models.iter().zip(&oldest.models))
            {
                let name = config
                    .models
                    .get_key_value(name.as_str())
                    .map_or("", |(k, _)| k.as_str());
                let e = models.entry(name).or_default();
                if secs > 0.0 {
                    e.0 += now_m.0.saturating_sub(then_m.0) as f64 / secs;
                }
                e.1 += now_m.0.saturating_sub(then_m.0);
                e.2 += now_m.1.saturating_sub(then_m.1);
            }
            let (state, state_text, retry_in_s) = describe_state(&s.machine.state, now);
            let live = matches!(s.machine.state, State::Live { .. });
            let clips_recording = u64::from(s.recording());
            recording += clips_recording;
            let viewers = hub
                .source(s.id())
                .map_or(0, |h| h.viewers.load(Ordering::Relaxed));
            out_sources.push(json!({
                "id": s.id(),
                "state": state,
                "state_text": state_text,
                "retry_in_s": retry_in_s,
                "fps_in": round(if live { rates.fps_in } else { 0.0 }, 2),
                "fps_processed": round(if live { rates.fps_out } else { 0.0 }, 2),
                "frames": snap.frames_out,
                "dropped": snap.dropped,
                "inference_ms": opt(rates.infer_ms),
                "latency_ms": opt(rates.latency_ms),
                "reconnects": s.machine.reconnects,
                "last_frame_age_s": opt(s.counters.since_last_frame().map(|d| d.as_secs_f64())),
                "objects": if live { s.counters.objects.load(Ordering::Relaxed) } else { 0 },
                "viewers": viewers,
                "clips_recording": clips_recording,
                "frames_encoded": s.frames_encoded(),
                "analytics": s.analytics_stats().map_or(Value::Null, |st| analytics_counts(&st)),
            }));
            for (name, f) in s.sink_figures() {
                sinks.push(json!({
                    "name": name,
                    "source": s.id(),
                    "sent": f.delivered,
                    "queued": f.queued,
                    "dropped": f.dropped,
                    "failed": f.failed,
                }));
            }
        }
        let models: Vec<Value> = config
            .models
            .iter()
            .map(|(name, model)| {
                let (per_s, n, ns) = models.get(name.as_str()).copied().unwrap_or_default();
                let sessions = model
                    .props
                    .get("model-location")
                    .map(|l| {
                        gstrsvision::onnx::sessions_for(std::path::Path::new(l.trim_matches('"')))
                    })
                    .unwrap_or(0);
                json!({
                    "name": name,
                    "inferences_per_s": round(per_s, 2),
                    "inference_ms": opt((n > 0).then(|| ns as f64 / n as f64 / 1e6)),
                    "sessions": sessions,
                })
            })
            .collect();
        let finished = hub.clips.lock().unwrap_or_else(|e| e.into_inner()).len();
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": round(hub.started.elapsed().as_secs_f64(), 1),
            "sources": out_sources,
            "models": models,
            "sinks": sinks,
            "clips": {"recording": recording, "finished": finished},
            "events": hub.events.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytics_counts_per_line_and_zone() {
        let _ = gst::init();
        let stats = gst::Structure::builder("rsanalytics-stats")
            .field("line-north-gate-in", 4u64)
            .field("line-north-gate-out", 1u64)
            .field("zone-bay-count", 2u64)
            .field("zone-bay-entries", 7u64)
            .build();
        assert_eq!(
            analytics_counts(&stats),
            json!({"lines": {"north-gate": {"in": 4, "out": 1}},
                   "zones": {"bay": {"count": 2, "entries": 7}}})
        );
    }

    #[test]
    fn state_texts() {
        let now = Instant::now();
        let at = |secs: f64| now + Duration::from_secs_f64(secs);
        assert_eq!(
            describe_state(
                &State::Reconnecting {
                    attempt: 3,
                    at: at(2.3)
                },
                now
            ),
            ("reconnecting", "reconnecting in 3 s".to_string(), Some(2.3))
        );
        assert_eq!(
            describe_state(
                &State::Reconnecting {
                    attempt: 3,
                    at: now
                },
                at(1.0)
            )
            .2,
            Some(0.0),
            "due: no negative wait"
        );
        assert_eq!(
            describe_state(&State::Live { since: now }, now),
            ("live", "live".to_string(), None)
        );
        assert_eq!(
            describe_state(
                &State::Connecting {
                    attempt: 2,
                    since: now
                },
                now
            )
            .1,
            "connecting (attempt 2)"
        );
        assert_eq!(
            describe_state(&State::Failed { attempts: 5 }, now).1,
            "failed after 5 attempts"
        );
    }

    fn reading(at: Instant, frames: u64) -> Reading {
        Reading {
            snap: Snapshot {
                at: Some(at),
                frames_in: frames,
                ..Snapshot::default()
            },
            models: Vec::new(),
        }
    }

    #[test]
    fn rates_are_over_the_window() {
        let t = Instant::now();
        let mut r = Readings::default();
        assert_eq!(
            r.push(reading(t, 0)).snap.frames_in,
            0,
            "the first is its own base"
        );
        for i in 1..=10u64 {
            let at = t + Duration::from_millis(500 * i);
            let oldest = r.push(reading(at, 15 * i)).snap;
            let span = at.duration_since(oldest.at.unwrap());
            assert!(span <= WINDOW + Duration::from_millis(500), "{span:?}");
            if i >= 4 {
                assert!(span >= WINDOW, "{span:?}");
                // 30 fps, whatever the window.
                let fps = (15 * i - oldest.frames_in) as f64 / span.as_secs_f64();
                assert!((fps - 30.0).abs() < 1e-9, "{fps}");
            }
        }
        assert!(r.0.len() <= 6, "bounded: {}", r.0.len());
    }
}
