//! The window of frames in flight, for a backend whose answers come later
//! ([`Engine::pipelined`](super::engine::Engine::pipelined)): each frame waits here for its
//! answer while later frames are sent, up to `max-in-flight`, and frames leave in their
//! original order. A failed answer starts an outage: frames then pass at once without
//! detections while a probe checks the backend at most twice a second.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;

use super::engine::Ticket;
use super::imp::{pre_letterbox, Frame, RsInfer, StreamFailure, CAT};
use super::settings::Settings;
use crate::detection::{self, Inference};
use crate::preprocess::Letterbox;

/// During an outage, one probe request at most this often.
const PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// Frames waiting for their answers, and the backend's health.
#[derive(Default)]
pub(super) struct Window {
    /// Frames in arrival order; they leave in that order.
    queue: VecDeque<Pending>,
    /// Set while the backend fails: frames pass without requests, a probe checks it.
    outage: Option<Instant>,
    probe: Option<Ticket>,
    last_probe: Option<Instant>,
    pub(super) failures: u64,
    /// When control last went back upstream, and the moving average of how long upstream
    /// then took to bring the next frame.
    returned: Option<Instant>,
    upstream: Option<Duration>,
}

impl Window {
    /// Drops every held frame; returns how many there were.
    pub(super) fn clear(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        self.returned = None;
        n
    }

    /// A frame arrives: how long upstream took since control went back to it.
    fn arrived(&mut self) {
        if let Some(t) = self.returned.take() {
            let gap = t.elapsed();
            self.upstream = Some(match self.upstream {
                Some(avg) => avg.mul_f64(0.8) + gap.mul_f64(0.2),
                None => gap,
            });
        }
    }
}

/// A frame held until the answer for it (if it was sent) has come.
struct Pending {
    buffer: gst::Buffer,
    frame_number: u64,
    rt: Option<gst::ClockTime>,
    width: u32,
    height: u32,
    request: Option<Request>,
    /// Why there is no request (for the frame marker).
    skipped: Inference,
}

struct Request {
    ticket: Ticket,
    letterbox: Letterbox,
}

/// What became of one answer, for messages posted once the lock is released.
enum Outcome {
    None,
    Failed(String),
    Resumed(Duration),
}

impl RsInfer {
    /// Whether frames go through the window (the backend answers later).
    pub(super) fn is_pipelined(&self) -> bool {
        self.state
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(|s| s.window.is_some())
    }

    /// A probe's answer ends the outage (or not).
    fn poll_probe(&self, window: &mut Window) -> Outcome {
        let Some(ticket) = window.probe.as_mut() else {
            return Outcome::None;
        };
        if !ticket.poll() {
            return Outcome::None;
        }
        let ticket = window.probe.take().expect("polled");
        match ticket.take() {
            (Ok(_), _) => match window.outage.take() {
                Some(since) => Outcome::Resumed(since.elapsed()),
                None => Outcome::None,
            },
            (Err(e), _) => {
                window.failures += 1;
                gst::debug!(CAT, imp = self, "Probe failed: {}", e);
                Outcome::None
            }
        }
    }

    fn post_outcome(&self, outcome: Outcome, settings: &Settings) {
        let url = settings.server_url.as_deref().unwrap_or_default();
        match outcome {
            Outcome::None => {}
            Outcome::Failed(e) => gst::element_imp_warning!(
                self,
                gst::ResourceError::Read,
                (
                    "Inference server {} failed: {}; frames pass without new detections until it answers again",
                    url,
                    e
                )
            ),
            Outcome::Resumed(after) => gst::element_imp_info!(
                self,
                gst::ResourceError::Read,
                (
                    "Inference server {} answers again after {:.1} s",
                    url,
                    after.as_secs_f64()
                )
            ),
        }
    }

    /// Takes a frame into the window: sends it (or a probe during an outage) when inference
    /// is due on it.
    pub(super) fn submit_pipelined(
        &self,
        buffer: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap().clone();
        let rt = self.running_time(&buffer);
        let late = settings.qos && self.is_late(rt, buffer.duration());

        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let Some(Frame {
            width,
            height,
            number: frame_number,
            due,
        }) = state.next_frame(settings.inference_interval)
        else {
            drop(guard);
            return Err(self.no_caps_error());
        };
        let Some(window) = state.window.as_mut() else {
            return Err(gst::FlowError::Error);
        };
        window.arrived();
        let outcome = self.poll_probe(window);
        // In an outage frames do not wait for a server that does not answer: only a probe
        // (its answer unused) goes out now and then.
        let send = match window.outage {
            None => Some(false),
            Some(_) => (window.probe.is_none()
                && window
                    .last_probe
                    .is_none_or(|t| t.elapsed() >= PROBE_INTERVAL))
            .then_some(true),
        };
        let mut request = None;
        let mut skipped = if late {
            Inference::Late
        } else if due {
            Inference::Unavailable
        } else {
            Inference::Interval
        };
        if due && !late {
            if let Some(is_probe) = send {
                if let Err(StreamFailure(flow, error)) = self.prepare_tensor(state, &buffer) {
                    drop(guard);
                    if let Some(error) = error {
                        self.post_error_message(error);
                    }
                    return Err(flow);
                }
                let letterbox = *pre_letterbox(state);
                let ticket = state.engine.submit(&state.tensor);
                let Some(window) = state.window.as_mut() else {
                    return Err(gst::FlowError::Error);
                };
                if is_probe {
                    gst::debug!(
                        CAT,
                        imp = self,
                        "Probing the server with frame {}",
                        frame_number
                    );
                    window.probe = Some(ticket);
                    window.last_probe = Some(Instant::now());
                } else {
                    request = Some(Request { ticket, letterbox });
                    skipped = Inference::Inferred;
                }
            }
        } else if late {
            state.skipped_late += 1;
            gst::debug!(
                CAT,
                imp = self,
                "Frame {} is late: passing it without inference",
                frame_number
            );
        }
        let Some(window) = state.window.as_mut() else {
            return Err(gst::FlowError::Error);
        };
        window.queue.push_back(Pending {
            buffer,
            frame_number,
            rt,
            width,
            height,
            request,
            skipped,
        });
        drop(guard);
        self.post_outcome(outcome, &settings);
        Ok(gst::FlowSuccess::Ok)
    }

    /// The oldest frame, once its answer has come or when `max-in-flight` requests are out
    /// (then it waits for its answer, at most `timeout`).
    pub(super) fn generate_pipelined(
        &self,
    ) -> Result<gst_base::subclass::base_transform::GenerateOutputSuccess, gst::FlowError> {
        use gst_base::subclass::base_transform::GenerateOutputSuccess;
        let chosen = self.settings.lock().unwrap().max_in_flight as usize;
        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let max = match chosen {
            0 => state.engine.default_in_flight(),
            n => n,
        }
        .max(1);
        let Some(window) = state.window.as_mut() else {
            return Ok(GenerateOutputSuccess::NoOutput);
        };
        let in_flight = window
            .queue
            .iter_mut()
            .filter_map(|p| p.request.as_mut())
            .map(|r| r.ticket.poll())
            .filter(|ready| !ready)
            .count();
        let Some(front) = window.queue.front() else {
            window.returned = Some(Instant::now());
            return Ok(GenerateOutputSuccess::NoOutput);
        };
        let ready = front.request.as_ref().is_none_or(|r| r.ticket.is_ready());
        // Holding a frame pays when upstream takes a while to bring the next one (decoding
        // a file): inference then overlaps it. When upstream is idle longer than an
        // inference (a live camera between frames), holding would only add a frame
        // interval of latency: wait for the answer now.
        let processing = self.qos.lock().unwrap().processing;
        let hold_pays = match (window.upstream, processing) {
            (Some(upstream), Some(processing)) => upstream < processing,
            _ => true,
        };
        if !ready && in_flight < max && hold_pays {
            window.returned = Some(Instant::now());
            return Ok(GenerateOutputSuccess::NoOutput);
        }
        let pending = window.queue.pop_front().expect("front exists");
        drop(guard);
        self.finish_pending(pending)
            .map(GenerateOutputSuccess::Buffer)
    }

    fn flushing(&self) -> bool {
        self.obj()
            .sink_pad()
            .pad_flags()
            .contains(gst::PadFlags::FLUSHING)
    }

    /// Waits (without a lock) for the frame's answer, decodes it and attaches the
    /// detections; posts what there is to post.
    fn finish_pending(&self, mut pending: Pending) -> Result<gst::Buffer, gst::FlowError> {
        if let Some(req) = pending.request.as_mut() {
            while !req.ticket.wait(Duration::from_millis(20)) {
                if self.flushing() {
                    return Err(gst::FlowError::Flushing);
                }
            }
        }
        let settings = self.settings.lock().unwrap().clone();
        let mut guard = self.state.lock().unwrap();
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let mut warnings = Vec::new();
        let mut outcome = Outcome::None;
        let mut took = None;
        let mut inferred = false;
        if let Some(req) = pending.request.take() {
            let (reply, round_trip) = req.ticket.take();
            // The error, and whether the answer came but could not be decoded.
            let result = reply.map_err(|e| (e, false)).and_then(|out| {
                Self::update_filter(state, &settings, &mut warnings);
                Self::decode_output(state, &settings, &out.shape, &out.data)
                    .map_err(|e| (e, true))?;
                Ok(Self::detections(state, &settings, &req.letterbox))
            });
            if let (Err((e, bad_output)), false) = (&result, state.engine.outages()) {
                // A model that fails here fails again: a stream error, as in the streaming
                // thread.
                let error = if *bad_output {
                    gst::error_msg!(gst::StreamError::Decode, ("Bad model output: {}", e))
                } else {
                    gst::error_msg!(gst::LibraryError::Failed, ("Inference failed: {}", e))
                };
                drop(guard);
                self.post_error_message(error);
                return Err(gst::FlowError::Error);
            }
            let result = result.map_err(|(e, bad_output)| {
                if bad_output {
                    format!("bad model output: {e}")
                } else {
                    e
                }
            });
            let Some(window) = state.window.as_mut() else {
                return Err(gst::FlowError::Flushing);
            };
            match result {
                Ok(dets) => {
                    state.latest = dets;
                    state.inferred += 1;
                    inferred = true;
                    took = Some(round_trip);
                    if let Some(since) = window.outage.take() {
                        outcome = Outcome::Resumed(since.elapsed());
                    }
                }
                Err(e) => {
                    window.failures += 1;
                    state.latest.clear();
                    gst::debug!(
                        CAT,
                        imp = self,
                        "Frame {}: request failed: {}",
                        pending.frame_number,
                        e
                    );
                    if window.outage.is_none() {
                        window.outage = Some(Instant::now());
                        window.last_probe = Some(Instant::now());
                        outcome = Outcome::Failed(e);
                    }
                }
            }
        }
        let buf = pending.buffer.make_mut();
        let first_id = detection::count(buf) as i32;
        let element = self.obj().name();
        let source = detection::Source {
            model: &state.model,
            element: &element,
        };
        detection::attach_from(
            buf,
            &state.latest,
            pending.width,
            pending.height,
            first_id,
            -1,
            Some(&source),
        );
        let inference = if inferred {
            Inference::Inferred
        } else if pending.skipped == Inference::Inferred {
            // Its request failed.
            Inference::Unavailable
        } else {
            pending.skipped
        };
        self.mark(buf, state, pending.frame_number, inference);
        let message = (inferred && settings.post_messages)
            .then(|| self.detections_message(buf, pending.frame_number, &state.latest));
        drop(guard);

        for w in warnings {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", w));
        }
        self.post_outcome(outcome, &settings);
        self.record_frame(pending.rt, took);
        if let Some(msg) = message {
            let _ = self.obj().post_message(msg);
        }
        Ok(pending.buffer)
    }

    /// Pushes every held frame (waiting for their answers): before EOS and any other
    /// serialized event, so nothing overtakes them and nothing is lost.
    pub(super) fn drain(&self) {
        loop {
            let pending = {
                let mut guard = self.state.lock().unwrap();
                guard
                    .as_mut()
                    .and_then(|s| s.window.as_mut())
                    .and_then(|w| w.queue.pop_front())
            };
            let Some(pending) = pending else {
                break;
            };
            let pushed = self
                .finish_pending(pending)
                .and_then(|buf| self.obj().src_pad().push(buf));
            if let Err(e) = pushed {
                gst::debug!(CAT, imp = self, "Drain stopped: {:?}", e);
                self.discard();
                break;
            }
        }
    }

    /// Drops every held frame (flush).
    pub(super) fn discard(&self) {
        let mut guard = self.state.lock().unwrap();
        // After a flush (a seek) frame numbers and tracks start again.
        if let Some(c) = guard.as_mut().and_then(|s| s.classifier.as_mut()) {
            c.reset();
        }
        if let Some(window) = guard.as_mut().and_then(|s| s.window.as_mut()) {
            let n = window.clear();
            if n > 0 {
                gst::debug!(CAT, imp = self, "Discarding {} held frames", n);
            }
        }
    }
}
