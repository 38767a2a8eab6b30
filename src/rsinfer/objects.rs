//! Classifiers in rsinfer: on whole frames (one result per frame, a frame-level
//! classification, `crate::detection::attribute`) or, with `inference-region=objects`, on
//! each object already on the buffer (a secondary model after a detector), its box cropped
//! from the full-resolution frame in the frame's own format (`crate::preprocess::crop`).
//!
//! Tracked objects go through a per-track cache and vote (`crate::classify::vote`): a
//! track is re-classified every `reclassify-interval` frames (or `reclassify-time` ms, or
//! when its box grew by `reclassify-growth`), at most `max-attempts` times, and its result
//! is the confidence-weighted vote of its attempts, never erased by a weaker retry.
//! Untracked objects are classified on every frame inference is due on.
//!
//! All crops of a frame are handed to the backend before the first answer is awaited, so a
//! backend with several sessions or requests (`performance-hint=throughput`, a server)
//! works on several objects at once.

use std::sync::MutexGuard;
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_video::VideoRegionOfInterestMeta;

use super::engine::Ticket;
use super::imp::{RsInfer, State, StreamFailure, CAT};
use super::mapping::{map_frame, Planes};
use super::settings::{parse_channels, Settings};
use super::InferenceRegion;
use crate::classify::{self, Activation, Classification, Policy, TrackCache};
use crate::detection::{self, attribute, Attribute, Detection};
use crate::preprocess::crop::{CropConverter, CropFit, CropGeometry, CropRect};
use crate::preprocess::{Colorimetry, PixelFormat};

/// How long one answer is awaited before the wait is logged (it goes on: the backend has
/// its own timeouts).
const SLOW_ANSWER: Duration = Duration::from_secs(5);

/// A classifier's state in the element.
pub(super) struct Classifier {
    pub(super) classes: usize,
    pub(super) region: InferenceRegion,
    attribute: String,
    model_name: String,
    mean: [f32; 3],
    std: [f32; 3],
    converter: Option<CropConverter>,
    cache: TrackCache,
    tensors: Vec<Vec<f32>>,
    /// Frame mode: the latest result and the frame it was decided on.
    latest: Option<(Attribute, u64)>,
    /// Objects classified, and results served from the cache without an inference.
    pub(super) classified: u64,
    pub(super) served: u64,
}

/// The cache policy the properties describe.
pub(super) fn policy(settings: &Settings) -> Policy {
    Policy {
        interval_frames: settings.reclassify_interval,
        interval_ms: u64::from(settings.reclassify_time_ms),
        growth: settings.reclassify_growth,
        max_attempts: settings.max_attempts,
        min_attempts: settings.min_attempts.max(1),
        min_agreement: settings.min_agreement,
        threshold: settings.classifier_threshold,
        ..Policy::default()
    }
}

impl Classifier {
    /// A classifier of `classes` classes; `model` names it (file stem or server model).
    pub(super) fn new(
        classes: usize,
        model: &str,
        settings: &Settings,
    ) -> Result<Classifier, gst::ErrorMessage> {
        let channels = |name: &str, spec: Option<&str>, default: f32| {
            parse_channels(spec, default)
                .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("{}: {}", name, e)))
        };
        let mean = channels("mean", settings.mean.as_deref(), 0.0)?;
        let std = channels("std", settings.std.as_deref(), 1.0)?;
        if std.contains(&0.0) {
            return Err(gst::error_msg!(
                gst::LibraryError::Settings,
                ("std: a channel divisor of 0")
            ));
        }
        Ok(Classifier {
            classes,
            region: settings.inference_region,
            attribute: settings
                .attribute_name
                .clone()
                .unwrap_or_else(|| model.to_string()),
            model_name: model.to_string(),
            mean,
            std,
            converter: None,
            cache: TrackCache::new(policy(settings)),
            tensors: Vec::new(),
            latest: None,
            classified: 0,
            served: 0,
        })
    }

    /// New caps: a converter for their format and size; frame results are forgotten.
    pub(super) fn set_caps(
        &mut self,
        format: PixelFormat,
        width: usize,
        height: usize,
        colorimetry: Colorimetry,
    ) {
        self.converter = Some(CropConverter::new(format, width, height, colorimetry));
        self.latest = None;
    }

    /// Forgets the tracks and the latest frame result (a flush).
    pub(super) fn reset(&mut self) {
        self.cache.clear();
        self.latest = None;
    }

    fn attribute(&self, labels: &[String], c: &Classification, frames_ago: u64) -> Attribute {
        Attribute {
            name: self.attribute.clone(),
            label: labels
                .get(c.label_id)
                .cloned()
                .unwrap_or_else(|| format!("class{}", c.label_id)),
            label_id: c.label_id as i32,
            confidence: f64::from(c.confidence),
            model_name: self.model_name.clone(),
            frames_ago: u32::try_from(frames_ago).unwrap_or(u32::MAX),
            attempts: 1,
            votes: 1,
        }
    }
}

/// Whether an object passes `object-class` and the size gates.
fn wanted(det: &Detection, settings: &Settings) -> bool {
    let (w, h) = (det.width, det.height);
    if w < 1.0 || h < 1.0 {
        return false;
    }
    let min = f64::from(settings.min_object_size);
    if w < min || h < min {
        return false;
    }
    let max = f64::from(settings.max_object_size);
    if max > 0.0 && (w > max || h > max) {
        return false;
    }
    match settings.object_class.as_deref() {
        None => true,
        Some(spec) => spec.split(',').map(str::trim).any(|c| {
            !c.is_empty() && (c == det.label || c.parse::<i32>().ok() == Some(det.label_id))
        }),
    }
}

/// One object of the frame this element works on.
struct Target {
    id: i32,
    det: Detection,
    /// Index of its crop among the frame's inferences.
    crop: Option<usize>,
}

/// One result of a frame, for `post-messages`: the object's id (`None`: the frame).
pub(super) type Result1 = (Option<i32>, Option<u64>, Attribute);

impl RsInfer {
    /// Runs the classifier on this frame (when `run`) and attaches its results (fresh, or
    /// from the cache). Called with the state lock held; errors are returned.
    pub(super) fn classify(
        &self,
        state: &mut State,
        settings: &Settings,
        buf: &mut gst::BufferRef,
        frame_number: u64,
        run: bool,
        time_ms: Option<u64>,
    ) -> Result<Vec<Result1>, StreamFailure> {
        let Some(info) = state.video_info.clone() else {
            return Err(StreamFailure(gst::FlowError::NotNegotiated, None));
        };
        let (fw, fh) = (info.width(), info.height());
        let Some(classifier) = state.classifier.as_mut() else {
            return Ok(Vec::new());
        };

        // What to infer: the whole frame, or the wanted objects that are due.
        let mut targets = Vec::new();
        let mut rects = Vec::new();
        match classifier.region {
            InferenceRegion::Frame => {
                if run {
                    rects.push(CropRect {
                        x: 0.0,
                        y: 0.0,
                        width: f64::from(fw),
                        height: f64::from(fh),
                    });
                }
            }
            InferenceRegion::Objects => {
                for event in detection::tracking::events(buf) {
                    if event.event == "exit" {
                        classifier.cache.end(event.track_id);
                    }
                }
                classifier.cache.sweep(frame_number);
                for roi in buf.iter_meta::<VideoRegionOfInterestMeta>() {
                    if roi.param(&classifier.attribute).is_some() {
                        continue;
                    }
                    let det = detection::from_meta(&roi, fw, fh);
                    if !wanted(&det, settings) {
                        continue;
                    }
                    let area = det.width * det.height;
                    let infer = run
                        && match det.track_id {
                            Some(t) => classifier.cache.due(t, frame_number, time_ms, area),
                            None => true,
                        };
                    let crop = infer.then(|| {
                        rects.push(CropRect {
                            x: det.x,
                            y: det.y,
                            width: det.width,
                            height: det.height,
                        });
                        rects.len() - 1
                    });
                    targets.push(Target {
                        id: roi.id(),
                        det,
                        crop,
                    });
                }
            }
        }

        // Crops into tensors, all submitted before the first answer is awaited.
        let (iw, ih) = (state.input_width, state.input_height);
        let padding = match classifier.region {
            InferenceRegion::Frame => 0.0,
            InferenceRegion::Objects => settings.crop_padding,
        };
        let mut tickets: Vec<Option<Ticket>> = Vec::with_capacity(rects.len());
        if !rects.is_empty() {
            let fail = |msg: gst::ErrorMessage| StreamFailure(gst::FlowError::Error, Some(msg));
            let frame = map_frame(buf, &info)?;
            let planes = Planes::of(&frame)?;
            let data = planes.data();
            let Some(converter) = classifier.converter.as_mut() else {
                return Err(StreamFailure(gst::FlowError::NotNegotiated, None));
            };
            while classifier.tensors.len() < rects.len() {
                classifier.tensors.push(vec![0.0; 3 * iw * ih]);
            }
            for (rect, tensor) in rects.iter().zip(classifier.tensors.iter_mut()) {
                let Some(geometry) = CropGeometry::new(
                    rect,
                    padding,
                    fw as usize,
                    fh as usize,
                    iw,
                    ih,
                    CropFit::CentreCrop,
                ) else {
                    tickets.push(None);
                    continue;
                };
                converter
                    .convert(
                        &data,
                        &geometry,
                        114,
                        classifier.mean,
                        classifier.std,
                        tensor,
                    )
                    .map_err(|e| {
                        fail(gst::error_msg!(
                            gst::StreamError::Format,
                            ("Bad frame: {}", e)
                        ))
                    })?;
                tickets.push(Some(state.engine.submit(tensor)));
            }
        }

        // The answers, in order.
        let mut answers: Vec<Option<Classification>> = Vec::with_capacity(tickets.len());
        for ticket in tickets {
            let Some(mut ticket) = ticket else {
                answers.push(None);
                continue;
            };
            let started = Instant::now();
            while !ticket.wait(SLOW_ANSWER) {
                gst::warning!(
                    CAT,
                    imp = self,
                    "Waiting {:?} for a classification",
                    started.elapsed()
                );
            }
            let (reply, _) = ticket.take();
            let out = match reply {
                Ok(out) => out,
                Err(e) if state.engine.outages() => {
                    gst::debug!(CAT, imp = self, "Classification unavailable: {}", e);
                    answers.push(None);
                    continue;
                }
                Err(e) => {
                    return Err(StreamFailure(
                        gst::FlowError::Error,
                        Some(gst::error_msg!(
                            gst::LibraryError::Failed,
                            ("Inference failed: {}", e)
                        )),
                    ))
                }
            };
            let rows = classify::decode(&out.shape, &out.data, Activation::Auto).map_err(|e| {
                StreamFailure(
                    gst::FlowError::Error,
                    Some(gst::error_msg!(
                        gst::StreamError::Decode,
                        ("Bad model output: {}", e)
                    )),
                )
            })?;
            let classes = state.classifier.as_ref().map_or(0, |c| c.classes);
            match rows.first() {
                Some(r) if r.len() != classes => {
                    return Err(StreamFailure(
                        gst::FlowError::Error,
                        Some(gst::error_msg!(
                            gst::StreamError::Decode,
                            (
                                "Bad model output: {} classes, {} at start",
                                r.len(),
                                classes
                            )
                        )),
                    ))
                }
                r => answers.push(r.and_then(|r| classify::top1(r))),
            }
        }

        // Results onto the frame or the objects.
        let classifier = state.classifier.as_mut().expect("checked above");
        let labels = &state.labels;
        let threshold = settings.classifier_threshold;
        let mut results = Vec::new();
        match classifier.region {
            InferenceRegion::Frame => {
                if let Some(Some(c)) = answers.first() {
                    if c.confidence >= threshold {
                        classifier.latest =
                            Some((classifier.attribute(labels, c, 0), frame_number));
                    }
                    classifier.classified += 1;
                }
                if let Some((a, decided)) = classifier.latest.as_ref() {
                    let mut a = a.clone();
                    a.frames_ago = u32::try_from(frame_number - decided).unwrap_or(u32::MAX);
                    attribute::add_to_frame(buf, &self.obj().name(), &a);
                    results.push((None, None, a));
                }
            }
            InferenceRegion::Objects => {
                for t in targets {
                    let area = t.det.width * t.det.height;
                    let answer = t.crop.and_then(|i| answers.get(i).copied().flatten());
                    if t.crop.is_some() {
                        classifier.classified += 1;
                    }
                    let attr = match t.det.track_id {
                        Some(track) => {
                            if t.crop.is_some() {
                                classifier
                                    .cache
                                    .record(track, frame_number, time_ms, area, answer);
                            } else {
                                classifier.served += 1;
                            }
                            classifier.cache.result(track, frame_number).map(|r| {
                                let mut a = classifier.attribute(
                                    labels,
                                    &Classification {
                                        label_id: r.label_id,
                                        confidence: r.confidence,
                                    },
                                    r.frames_ago,
                                );
                                a.attempts = r.attempts;
                                a.votes = r.votes;
                                a
                            })
                        }
                        None => answer
                            .filter(|c| c.confidence >= threshold)
                            .map(|c| classifier.attribute(labels, &c, 0)),
                    };
                    if let Some(a) = attr {
                        attribute::add_to_roi(buf, t.id, &a);
                        results.push((Some(t.id), t.det.track_id, a));
                    }
                }
            }
        }
        Ok(results)
    }

    /// `transform_ip` for a classifier: runs it (when `run`), attaches the results, posts
    /// the message. Takes the state lock's guard and releases it before posting.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn transform_classifier(
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
        let results = match self.classify(state, settings, buf, frame_number, run, time_ms) {
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
            let msg = self.classifications_message(buf, frame_number, &results);
            let _ = self.obj().post_message(msg);
        }
        Ok(gst::FlowSuccess::Ok)
    }

    /// The `rsinfer-classifications` message of one frame's results.
    pub(super) fn classifications_message(
        &self,
        buf: &gst::BufferRef,
        frame_number: u64,
        results: &[Result1],
    ) -> gst::Message {
        let list = gst::List::new(results.iter().map(|(id, track, a)| {
            gst::Structure::builder("classification")
                .field("object-id", id.unwrap_or(-1))
                .field("track-id", track.unwrap_or(u64::MAX))
                .field("attribute", a.name.as_str())
                .field("label", a.label.as_str())
                .field("label-id", a.label_id)
                .field("confidence", a.confidence)
                .field("frames-ago", a.frames_ago)
                .build()
        }));
        let s = gst::Structure::builder("rsinfer-classifications")
            .field("pts", buf.pts().map(|t| t.nseconds()).unwrap_or(u64::MAX))
            .field("frame-number", frame_number)
            .field("classifications", list)
            .build();
        gst::message::Element::builder(s).src(&*self.obj()).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(w: f64, h: f64, label: &str, id: i32) -> Detection {
        Detection {
            x: 5.0,
            y: 5.0,
            width: w,
            height: h,
            confidence: 0.9,
            label_id: id,
            label: label.into(),
            track_id: None,
            tracking: None,
            attributes: Vec::new(),
        }
    }

    #[test]
    fn objects_are_filtered_by_class_and_size() {
        let mut s = Settings::default();
        assert!(wanted(&det(10.0, 10.0, "car", 2), &s));
        assert!(!wanted(&det(0.5, 10.0, "car", 2), &s), "under a pixel");
        s.min_object_size = 16;
        assert!(!wanted(&det(15.9, 40.0, "car", 2), &s));
        assert!(wanted(&det(16.0, 16.0, "car", 2), &s));
        s.max_object_size = 100;
        assert!(!wanted(&det(20.0, 101.0, "car", 2), &s));
        s.object_class = Some("person, 2".into());
        assert!(wanted(&det(20.0, 20.0, "truck", 2), &s), "by id");
        assert!(wanted(&det(20.0, 20.0, "person", 0), &s), "by label");
        assert!(!wanted(&det(20.0, 20.0, "dog", 16), &s));
    }
}
