//! The pipeline side of the web console: the JPEG branch that [`crate::pipeline::web_branch`]
//! puts after the tee, connected to the source's [`SourceHub`].
//!
//! [`Tap::attach`] connects one pipeline (a new one after every reconnect): a probe on the
//! valve's source pad lets at most `fps` frames a second through ([`Pacer`], wall-clock
//! time: the encoder's budget, whatever the stream's frame rate or speed), the appsink's
//! `new-sample` callback hands each JPEG to [`SourceHub::publish`] (a `watch` channel: never
//! blocks, a slow viewer just skips frames), and a probe on the encoder's sink pad counts
//! the frames encoded. [`Tap::update`], called by the supervisor on every tick (50 ms),
//! opens the valve while someone watches and closes it when the last viewer leaves, so with
//! no viewer the branch draws, scales and encodes nothing. A new pipeline starts with the
//! valve closed and is opened at once by `attach` when viewers are waiting.
//!
//! No lock is taken on the streaming threads: the callback copies the JPEG and publishes it,
//! the probe adds to an atomic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use gst::prelude::*;

use super::SourceHub;
use crate::pipeline::{WEB_ENCODER, WEB_SINK, WEB_VALVE};

/// A source's JPEG branch figures, across its pipelines.
#[derive(Debug, Default)]
pub struct TapCounters {
    /// Frames that reached the JPEG encoder.
    pub encoded: AtomicU64,
    /// JPEGs handed to the hub.
    pub published: AtomicU64,
}

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// At most one frame per `period` on average, never a burst: a frame passes when it comes
/// at or after the due time, and the next one is due a period after that due time (a
/// period after the frame when it came later than a whole period), so a 30 fps stream
/// paced to 5 gives exactly 5 a second. Called from one streaming thread; atomics only.
#[derive(Debug)]
pub struct Pacer {
    period_ns: u64,
    /// When the next frame is due (ns since [`EPOCH`] + 1; 0 before the first).
    next: AtomicU64,
}

impl Pacer {
    pub fn new(fps: u32) -> Pacer {
        Pacer {
            period_ns: 1_000_000_000 / u64::from(fps.max(1)),
            next: AtomicU64::new(0),
        }
    }

    /// Whether a frame arriving at `now_ns` passes.
    pub fn admit(&self, now_ns: u64) -> bool {
        let now = now_ns + 1;
        let next = self.next.load(Ordering::Relaxed);
        if next != 0 && now < next {
            return false;
        }
        let base = if next == 0 || now - next >= self.period_ns {
            now
        } else {
            next
        };
        self.next.store(base + self.period_ns, Ordering::Relaxed);
        true
    }

    /// [`Pacer::admit`] now.
    pub fn admit_now(&self) -> bool {
        self.admit(EPOCH.elapsed().as_nanos() as u64)
    }

    #[cfg(test)]
    pub fn period(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.period_ns)
    }
}

/// The JPEG branch of one running pipeline.
#[derive(Debug)]
pub struct Tap {
    valve: gst::Element,
    hub: Arc<SourceHub>,
    /// What the valve was last set to (`true`: frames pass).
    open: bool,
}

impl Tap {
    /// Connects the branch of `pipeline` (built by [`crate::pipeline::describe`] with the
    /// web console on) to `hub`. `None` when the pipeline has no such branch.
    pub fn attach(
        pipeline: &gst::Pipeline,
        fps: u32,
        hub: Arc<SourceHub>,
        counters: Arc<TapCounters>,
    ) -> Option<Tap> {
        let valve = pipeline.by_name(WEB_VALVE)?;
        let sink = pipeline
            .by_name(WEB_SINK)?
            .downcast::<gst_app::AppSink>()
            .ok()?;
        let pacer = Pacer::new(fps);
        valve
            .static_pad("src")?
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                if pacer.admit_now() {
                    gst::PadProbeReturn::Ok
                } else {
                    gst::PadProbeReturn::Drop
                }
            });
        if let Some(pad) = pipeline
            .by_name(WEB_ENCODER)
            .and_then(|e| e.static_pad("sink"))
        {
            let c = counters.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                c.encoded.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
        }
        let h = hub.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Flushing)?;
                    if let Some(buffer) = sample.buffer() {
                        if let Ok(map) = buffer.map_readable() {
                            h.publish(bytes::Bytes::copy_from_slice(map.as_slice()));
                            counters.published.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let mut tap = Tap {
            valve,
            hub,
            open: false,
        };
        tap.update();
        Some(tap)
    }

    /// Opens the valve while the source has viewers, closes it otherwise.
    pub fn update(&mut self) {
        let wanted = self.hub.wanted();
        if wanted != self.open {
            self.valve.set_property("drop", !wanted);
            self.open = wanted;
        }
    }

    /// Whether frames go through to the encoder now.
    #[cfg(test)]
    pub fn is_open(&self) -> bool {
        self.open
    }
}

#[cfg(test)]
mod tests;
