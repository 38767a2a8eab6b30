//! Per-source figures: frames in and out, frames dropped to stay live, inference time,
//! end-to-end latency, kept by pad probes in atomics (the streaming threads never take a
//! lock the supervisor holds for long), and read by the supervisor for the periodic `perf`
//! line, the summary and (later) the API.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn now_ns() -> u64 {
    EPOCH.elapsed().as_nanos() as u64
}

/// Counters of one source, across its reconnects.
#[derive(Debug, Default)]
pub struct Counters {
    /// Decoded frames that reached the queue before inference.
    pub frames_in: AtomicU64,
    /// Frames that left that queue (the rest were dropped to stay live, or are queued).
    pub frames_passed: AtomicU64,
    /// Frames that reached the end of the pipeline.
    pub frames_out: AtomicU64,
    /// Frames on which a model ran, and the time they spent in the models.
    pub inferred: AtomicU64,
    pub infer_ns: AtomicU64,
    /// Sum and count of end-to-end latencies.
    pub latency_ns: AtomicU64,
    pub latency_n: AtomicU64,
    /// When the last decoded frame arrived (ns since the process started; 0 = never).
    pub last_frame: AtomicU64,
    /// Objects (region metas) on the latest frame at the end of the pipeline.
    pub objects: AtomicU64,
    /// Per rsinfer element, in chain order (`infer0`, `infer1`, ...).
    pub models: Vec<ModelCounters>,
}

/// One rsinfer element's inferences: frames it ran on (its own frame marker says
/// `inferred`) and the time those frames spent in it.
#[derive(Debug, Default)]
pub struct ModelCounters {
    pub inferred: AtomicU64,
    pub infer_ns: AtomicU64,
}

impl Counters {
    /// Counters for a source running `models` rsinfer elements.
    pub fn new(models: usize) -> Counters {
        Counters {
            models: (0..models).map(|_| ModelCounters::default()).collect(),
            ..Counters::default()
        }
    }

    /// How long since the last decoded frame (`None`: none yet).
    pub fn since_last_frame(&self) -> Option<Duration> {
        match self.last_frame.load(Ordering::Relaxed) {
            0 => None,
            t => Some(Duration::from_nanos(now_ns().saturating_sub(t))),
        }
    }
}

/// What one reading of the counters says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub at: Option<Instant>,
    pub frames_in: u64,
    pub frames_out: u64,
    pub dropped: u64,
    pub inferred: u64,
    pub infer_ns: u64,
    pub latency_ns: u64,
    pub latency_n: u64,
}

impl Snapshot {
    /// Reads `counters`; `queued` is the queue's current level (frames neither passed nor
    /// dropped).
    pub fn take(counters: &Counters, queued: u64, previous: &Snapshot) -> Snapshot {
        let frames_in = counters.frames_in.load(Ordering::Relaxed);
        let passed = counters.frames_passed.load(Ordering::Relaxed);
        let dropped = frames_in
            .saturating_sub(passed)
            .saturating_sub(queued)
            .max(previous.dropped);
        Snapshot {
            at: Some(Instant::now()),
            frames_in,
            frames_out: counters.frames_out.load(Ordering::Relaxed),
            dropped,
            inferred: counters.inferred.load(Ordering::Relaxed),
            infer_ns: counters.infer_ns.load(Ordering::Relaxed),
            latency_ns: counters.latency_ns.load(Ordering::Relaxed),
            latency_n: counters.latency_n.load(Ordering::Relaxed),
        }
    }

    /// Rates and means between `earlier` and `self`.
    pub fn since(&self, earlier: &Snapshot) -> Rates {
        let secs = match (self.at, earlier.at) {
            (Some(a), Some(b)) => a.duration_since(b).as_secs_f64(),
            _ => 0.0,
        };
        let per_s = |a: u64, b: u64| {
            if secs > 0.0 {
                a.saturating_sub(b) as f64 / secs
            } else {
                0.0
            }
        };
        let mean_ms = |sum: u64, sum0: u64, n: u64, n0: u64| {
            let n = n.saturating_sub(n0);
            (n > 0).then(|| sum.saturating_sub(sum0) as f64 / n as f64 / 1e6)
        };
        Rates {
            fps_in: per_s(self.frames_in, earlier.frames_in),
            fps_out: per_s(self.frames_out, earlier.frames_out),
            infer_ms: mean_ms(
                self.infer_ns,
                earlier.infer_ns,
                self.inferred,
                earlier.inferred,
            ),
            latency_ms: mean_ms(
                self.latency_ns,
                earlier.latency_ns,
                self.latency_n,
                earlier.latency_n,
            ),
        }
    }
}

/// Figures over one stats interval.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rates {
    pub fps_in: f64,
    pub fps_out: f64,
    pub infer_ms: Option<f64>,
    pub latency_ms: Option<f64>,
}

/// Frames between two pads, by timestamp, for timing what happens between them.
#[derive(Default)]
struct InFlight(Mutex<VecDeque<(Option<gst::ClockTime>, u64)>>);

impl InFlight {
    fn enter(&self, pts: Option<gst::ClockTime>) {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= 64 {
            q.pop_front();
        }
        q.push_back((pts, now_ns()));
    }

    /// Time since `pts` entered (frames dropped in between are forgotten).
    fn leave(&self, pts: Option<gst::ClockTime>) -> Option<u64> {
        let mut q = self.0.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((p, t)) = q.pop_front() {
            if p == pts {
                return Some(now_ns().saturating_sub(t));
            }
        }
        None
    }
}

fn buffer_probe(pad: &gst::Pad, f: impl Fn(&gst::Pad, &gst::BufferRef) + Send + Sync + 'static) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        if let Some(buffer) = info.buffer() {
            f(pad, buffer);
        }
        gst::PadProbeReturn::Ok
    });
}

/// Installs the probes of one pipeline built by [`crate::pipeline::describe`]: frames in at
/// the queue, passed by it, timed across the models, counted and timed at the output.
pub fn attach(pipeline: &gst::Pipeline, models: usize, live: bool, counters: &Arc<Counters>) {
    use crate::pipeline::{infer_name, OUTPUT, QUEUE};
    let pad = |element: &str, pad: &str| {
        pipeline
            .by_name(element)
            .and_then(|e| e.static_pad(pad))
            .unwrap_or_else(|| panic!("pipeline has {element}.{pad}"))
    };
    let through = Arc::new(InFlight::default());
    {
        let c = counters.clone();
        let through = through.clone();
        buffer_probe(&pad(QUEUE, "sink"), move |_, b| {
            c.frames_in.fetch_add(1, Ordering::Relaxed);
            c.last_frame.store(now_ns().max(1), Ordering::Relaxed);
            if !live {
                through.enter(b.pts());
            }
        });
    }
    {
        let c = counters.clone();
        buffer_probe(&pad(QUEUE, "src"), move |_, _| {
            c.frames_passed.fetch_add(1, Ordering::Relaxed);
        });
    }
    for (i, _) in counters.models.iter().enumerate().take(models) {
        let name = infer_name(i);
        let inside = Arc::new(InFlight::default());
        {
            let inside = inside.clone();
            buffer_probe(&pad(&name, "sink"), move |_, b| inside.enter(b.pts()));
        }
        let c = counters.clone();
        buffer_probe(&pad(&name, "src"), move |_, b| {
            let elapsed = inside.leave(b.pts());
            let ran = gstrsvision::detection::frame::markers(b)
                .iter()
                .any(|m| m.element == name && m.inferred());
            if let (Some(ns), true) = (elapsed, ran) {
                c.models[i].inferred.fetch_add(1, Ordering::Relaxed);
                c.models[i].infer_ns.fetch_add(ns, Ordering::Relaxed);
            }
        });
    }
    if models > 0 {
        let models_in = Arc::new(InFlight::default());
        {
            let models_in = models_in.clone();
            buffer_probe(&pad(&infer_name(0), "sink"), move |_, b| {
                models_in.enter(b.pts())
            });
        }
        let c = counters.clone();
        buffer_probe(&pad(&infer_name(models - 1), "src"), move |_, b| {
            let elapsed = models_in.leave(b.pts());
            let ran = gstrsvision::detection::frame::markers(b)
                .iter()
                .any(|m| m.inferred());
            if let (Some(ns), true) = (elapsed, ran) {
                c.inferred.fetch_add(1, Ordering::Relaxed);
                c.infer_ns.fetch_add(ns, Ordering::Relaxed);
            }
        });
    }
    let c = counters.clone();
    buffer_probe(&pad(OUTPUT, "sink"), move |pad, b| {
        c.frames_out.fetch_add(1, Ordering::Relaxed);
        c.objects
            .store(gstrsvision::detection::count(b) as u64, Ordering::Relaxed);
        let latency = if live {
            capture_latency(pad, b)
        } else {
            through.leave(b.pts())
        };
        if let Some(ns) = latency {
            c.latency_ns.fetch_add(ns, Ordering::Relaxed);
            c.latency_n.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// For live sources: the clock's now minus the frame's capture time (its running time on
/// the pipeline clock), i.e. how far behind the camera the output is.
fn capture_latency(pad: &gst::Pad, buffer: &gst::BufferRef) -> Option<u64> {
    let element = pad.parent_element()?;
    let clock = element.clock()?;
    let segment = pad.sticky_event::<gst::event::Segment>(0)?;
    let segment = segment.segment().downcast_ref::<gst::ClockTime>()?.clone();
    let running = segment.to_running_time(buffer.pts()?)?;
    let now = clock.time().checked_sub(element.base_time()?)?;
    Some(now.nseconds().saturating_sub(running.nseconds()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_drops() {
        let c = Counters::default();
        let t0 = Snapshot::take(&c, 0, &Snapshot::default());
        c.frames_in.store(30, Ordering::Relaxed);
        c.frames_passed.store(25, Ordering::Relaxed);
        c.frames_out.store(24, Ordering::Relaxed);
        c.inferred.store(8, Ordering::Relaxed);
        c.infer_ns.store(80_000_000, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(20));
        let t1 = Snapshot::take(&c, 2, &t0);
        assert_eq!(t1.dropped, 3, "30 in, 25 passed, 2 still queued");
        let r = t1.since(&t0);
        assert!(r.fps_in > 0.0 && r.fps_out < r.fps_in);
        assert_eq!(r.infer_ms, Some(10.0));
        assert_eq!(r.latency_ms, None);
        // Drops never go down when the queue level is read late.
        let t2 = Snapshot::take(&c, 5, &t1);
        assert_eq!(t2.dropped, 3);
    }

    #[test]
    fn in_flight_matches_timestamps() {
        let f = InFlight::default();
        f.enter(Some(gst::ClockTime::from_mseconds(1)));
        f.enter(Some(gst::ClockTime::from_mseconds(2)));
        assert!(f.leave(Some(gst::ClockTime::from_mseconds(2))).is_some());
        assert!(f.leave(Some(gst::ClockTime::from_mseconds(1))).is_none());
    }
}
