//! The frame loop of the models that await their answers in the streaming thread:
//! classifiers (`objects.rs`) and detectors inside objects (`inference-region=objects`
//! with a detection model: a plate detector inside each car, a face detector inside each
//! person).
//!
//! A detector inside objects runs on each wanted object's box (grown by `crop-padding`),
//! letterboxed from the full-resolution frame into the model input as on whole frames
//! (`padding-value`, aspect kept), decoded with the same layout, `classes`,
//! `conf-threshold`, `iou-threshold` and `max-detections` (per object). Its detections are
//! mapped back to frame pixels through the crop exactly, clipped to the cropped region, and
//! attached as new region metas with `parent_id` = the object's meta id and their own
//! `model_name` / `element`. They are found on the frames inference runs on
//! (`inference-interval`, QoS), not repeated on the others (objects move). Objects are not
//! cached per track: what is inside a box changes as it moves.

use std::sync::MutexGuard;
use std::time::Instant;

use gst::prelude::*;
use gst::subclass::prelude::*;

use super::crops::{rect_of, targets};
use super::imp::{RsInfer, State, StreamFailure};
use super::settings::Settings;
use crate::detection::{self, Detection};

/// Inner detections of a frame: the parent's meta id and the detection in frame pixels.
pub(super) type Inner = Vec<(i32, Detection)>;

impl RsInfer {
    /// Runs the detector inside each wanted object of this frame (when `run`) and attaches
    /// what it finds. Called with the state lock held; errors are returned.
    pub(super) fn detect_inside(
        &self,
        state: &mut State,
        settings: &Settings,
        buf: &mut gst::BufferRef,
        run: bool,
    ) -> Result<Inner, StreamFailure> {
        let Some(info) = state.video_info.clone() else {
            return Err(StreamFailure(gst::FlowError::NotNegotiated, None));
        };
        let (fw, fh) = (info.width(), info.height());
        if !run {
            return Ok(Vec::new());
        }
        let objects = targets(buf, settings, fw, fh, None);
        let rects: Vec<_> = objects.iter().map(|(_, d)| rect_of(d)).collect();
        let answers = self.run_crops(state, buf, &rects, settings.crop_padding)?;
        let mut found = Vec::new();
        let mut warnings = Vec::new();
        Self::update_filter(state, settings, &mut warnings);
        for ((parent, _), answer) in objects.iter().zip(answers) {
            let (Some(g), Some(out)) = (answer.geometry, answer.output) else {
                continue;
            };
            Self::decode_output(state, settings, &out.shape, &out.data).map_err(|e| {
                StreamFailure(
                    gst::FlowError::Error,
                    Some(gst::error_msg!(
                        gst::StreamError::Decode,
                        ("Bad model output: {}", e)
                    )),
                )
            })?;
            let region = (
                g.region_x as f64,
                g.region_y as f64,
                (g.region_x + g.region_width) as f64,
                (g.region_y + g.region_height) as f64,
            );
            let dets = Self::detections_mapped(state, settings, &|x, y| g.to_frame(x, y), region);
            found.extend(dets.into_iter().map(|d| (*parent, d)));
        }
        for w in warnings {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", w));
        }
        let element = self.obj().name();
        let source = detection::Source {
            model: &state.model,
            element: &element,
        };
        // New ids after every id on the buffer, so they stay unique.
        let first_id = buf
            .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
            .map(|r| r.id() + 1)
            .max()
            .unwrap_or(0)
            .max(detection::count(buf) as i32);
        for (i, (parent, det)) in found.iter().enumerate() {
            detection::attach_from(
                buf,
                std::slice::from_ref(det),
                fw,
                fh,
                first_id + i as i32,
                *parent,
                Some(&source),
            );
        }
        Ok(found)
    }

    /// `transform_ip` for a classifier or a detector inside objects: runs it (when `run`),
    /// attaches the results, posts the message. Takes the state lock's guard and releases it
    /// before posting.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn transform_awaiting(
        &self,
        mut guard: MutexGuard<'_, Option<State>>,
        settings: &Settings,
        buf: &mut gst::BufferRef,
        frame_number: u64,
        run: bool,
        late: bool,
        rt: Option<gst::ClockTime>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let Some(state) = guard.as_mut() else {
            return Err(gst::FlowError::Flushing);
        };
        let started = Instant::now();
        let time_ms = rt.map(|t| t.mseconds());
        let outcome = if state.classifier.is_some() {
            self.classify(state, settings, buf, frame_number, run, time_ms)
                .map(|r| (Some(r), None))
        } else {
            self.detect_inside(state, settings, buf, run)
                .map(|r| (None, Some(r)))
        };
        let (classified, inner) = match outcome {
            Ok(r) => r,
            Err(StreamFailure(flow, error)) => {
                drop(guard);
                if let Some(error) = error {
                    self.post_error_message(error);
                }
                return Err(flow);
            }
        };
        if run {
            state.inferred += 1;
        } else if late {
            state.skipped_late += 1;
        }
        drop(guard);
        self.record_frame(rt, run.then(|| started.elapsed()));
        if settings.post_messages && run {
            let msg = match (classified, inner) {
                (Some(results), _) => self.classifications_message(buf, frame_number, &results),
                (_, inner) => self.inner_message(buf, frame_number, &inner.unwrap_or_default()),
            };
            let _ = self.obj().post_message(msg);
        }
        Ok(gst::FlowSuccess::Ok)
    }

    /// The `rsinfer-detections` message of a detector inside objects: each detection has
    /// the `parent-id` of its object.
    fn inner_message(
        &self,
        buf: &gst::BufferRef,
        frame_number: u64,
        inner: &Inner,
    ) -> gst::Message {
        let list = gst::List::new(inner.iter().map(|(parent, d)| {
            gst::Structure::builder("detection")
                .field("label", d.label.as_str())
                .field("label-id", d.label_id)
                .field("confidence", d.confidence)
                .field("x", d.x)
                .field("y", d.y)
                .field("width", d.width)
                .field("height", d.height)
                .field("parent-id", *parent)
                .build()
        }));
        let s = gst::Structure::builder("rsinfer-detections")
            .field("pts", buf.pts().map(|t| t.nseconds()).unwrap_or(u64::MAX))
            .field("frame-number", frame_number)
            .field("detections", list)
            .build();
        gst::message::Element::builder(s).src(&*self.obj()).build()
    }
}
