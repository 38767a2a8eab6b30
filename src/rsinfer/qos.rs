//! Staying near-live: lateness from downstream QoS events, the pipeline latency and the
//! element's own inference time. A frame that is already late passes without inference;
//! QoS events about frames made late by inference are answered here, not forwarded.

use std::collections::VecDeque;
use std::time::Duration;

use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;

use super::imp::{RsInfer, CAT};

/// How many recent frames are remembered to attribute downstream QoS events.
const RECENT_FRAMES: usize = 64;

/// Lateness information from downstream QoS events, the pipeline latency and our own
/// inference time.
#[derive(Debug, Default)]
pub(super) struct Qos {
    /// Buffers whose running time ends before this are late.
    pub(super) earliest_time: Option<gst::ClockTime>,
    /// Pipeline latency (the bin sends it in non-live pipelines too, as 0).
    pub(super) latency: Option<gst::ClockTime>,
    /// Whether upstream is live (from the latency query): only then is the clock a deadline.
    pub(super) live: bool,
    /// Upstream's minimum latency (from the latency query), when live.
    pub(super) upstream_min: Option<gst::ClockTime>,
    /// Moving average of one inference (conversion, model, decoding).
    pub(super) processing: Option<Duration>,
    /// Running times of recent frames and whether they were inferred.
    pub(super) recent: VecDeque<(gst::ClockTime, bool)>,
    /// Inferences a frame may wait for in the window of frames in flight.
    pub(super) held: u32,
}

impl RsInfer {
    /// The running time of a buffer's start, if it has one.
    pub(super) fn running_time(&self, buf: &gst::BufferRef) -> Option<gst::ClockTime> {
        let pts = buf.pts()?;
        let segment = self.obj().segment();
        segment
            .downcast_ref::<gst::ClockTime>()?
            .to_running_time(pts)
    }

    /// Whether the buffer is too late to be worth an inference: downstream QoS says frames
    /// up to a later time are late, or, in a live pipeline, its render time (running time +
    /// pipeline latency) has already passed.
    pub(super) fn is_late(
        &self,
        rt: Option<gst::ClockTime>,
        duration: Option<gst::ClockTime>,
    ) -> bool {
        let Some(rt) = rt else {
            return false;
        };
        let end = rt + duration.unwrap_or(gst::ClockTime::ZERO);
        let qos = self.qos.lock().unwrap();
        if qos.earliest_time.is_some_and(|earliest| end < earliest) {
            return true;
        }
        // A non-live pipeline (a file) has no deadline: every frame counts. Neither has a live
        // one whose sinks do not synchronise (e.g. recording to a file, sync=false): the bin
        // then configures a latency of 0, below what live upstream needs, and buffers are
        // never due at a clock time.
        let synchronised = matches!(
            (qos.latency, qos.upstream_min),
            (Some(latency), Some(min)) if latency > gst::ClockTime::ZERO && latency >= min
        );
        if qos.live && synchronised {
            if let (Some(latency), Some(now)) = (qos.latency, self.obj().current_running_time()) {
                if rt + latency < now {
                    gst::log!(
                        CAT,
                        imp = self,
                        "Late: running time {} + latency {} < now {}",
                        rt,
                        latency,
                        now
                    );
                    return true;
                }
            }
        }
        false
    }

    /// Remembers a frame (to attribute downstream QoS events) and, for an inferred one, its
    /// inference time (reported as latency).
    pub(super) fn record_frame(&self, rt: Option<gst::ClockTime>, took: Option<Duration>) {
        let mut qos = self.qos.lock().unwrap();
        if let Some(rt) = rt {
            if qos.recent.len() == RECENT_FRAMES {
                qos.recent.pop_front();
            }
            qos.recent.push_back((rt, took.is_some()));
        }
        if let Some(took) = took {
            qos.processing = Some(match qos.processing {
                Some(avg) => avg.mul_f64(0.8) + took.mul_f64(0.2),
                None => took,
            });
        }
    }

    /// A downstream QoS event: remembers the earliest useful time; returns whether the
    /// lateness is ours (inference) and handled here, so the event goes no further.
    pub(super) fn handle_qos(&self, q: &gst::event::Qos) -> bool {
        let (_type, proportion, diff, timestamp) = q.get();
        let handle_here = self.settings.lock().unwrap().qos;
        let mut qos = self.qos.lock().unwrap();
        // As GstBaseTransform: earliest = timestamp + 2 * jitter when late.
        qos.earliest_time = timestamp.map(|ts| {
            if diff > 0 {
                ts + gst::ClockTime::from_nseconds(2 * diff as u64)
            } else {
                ts.saturating_sub(gst::ClockTime::from_nseconds(diff.unsigned_abs()))
            }
        });
        // Frames are late because of inference when they were inferred, or came
        // shortly after an inferred frame (they waited for it). rsinfer answers that
        // by skipping inference; forwarding would make upstream (a decoder) drop
        // frames as well. Lateness with no inference nearby is upstream's: forwarded.
        let window =
            qos.processing.unwrap_or_default() * 2 * qos.held.max(1) + Duration::from_millis(50);
        let window = gst::ClockTime::from_nseconds(window.as_nanos() as u64);
        let ours = handle_here
            && diff > 0
            && timestamp.is_some_and(|ts| {
                qos.recent
                    .iter()
                    .any(|(rt, inferred)| *inferred && *rt <= ts && ts - *rt <= window)
            });
        let earliest = qos.earliest_time;
        drop(qos);
        gst::log!(
            CAT,
            imp = self,
            "QoS: proportion {} diff {} earliest {:?}{}",
            proportion,
            diff,
            earliest,
            if ours { ", handled here" } else { "" }
        );
        ours
    }

    /// Adds the inference time to a live upstream's latency (the answer to a latency
    /// query on the source pad).
    /// `held`: inferences a frame may wait for (frames in flight).
    pub(super) fn adjust_latency(&self, q: &mut gst::query::Latency, warm_up: Duration, held: u32) {
        let (live, min, max) = q.result();
        let ours = {
            let mut qos = self.qos.lock().unwrap();
            qos.live = live;
            qos.upstream_min = live.then_some(min);
            qos.held = held;
            let ours = qos.processing.unwrap_or_default().max(warm_up) * held;
            gst::ClockTime::from_nseconds(ours.as_nanos() as u64)
        };
        if live {
            q.set(live, min + ours, max.map(|m| m + ours));
            gst::debug!(
                CAT,
                imp = self,
                "Latency: live, min {} (+{} inference)",
                min + ours,
                ours
            );
        }
    }
}
