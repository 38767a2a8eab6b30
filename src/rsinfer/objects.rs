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
//! The crops and batches are `crops.rs`'s.

use gst::prelude::*;
use gst::subclass::prelude::*;

use super::crops::{rect_of, targets};
use super::imp::{RsInfer, State, StreamFailure};
use super::settings::Settings;
use super::InferenceRegion;
use crate::classify::{self, Activation, Classification, Policy, TrackCache};
use crate::detection::{self, attribute, Attribute, Detection};
use crate::preprocess::crop::CropRect;

/// A classifier's state in the element.
pub(super) struct Classifier {
    pub(super) classes: usize,
    pub(super) region: InferenceRegion,
    attribute: String,
    model_name: String,
    cache: TrackCache,
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
        switch_after: settings.identity_switch_votes,
        ..Policy::default()
    }
}

impl Classifier {
    /// A classifier of `classes` classes; `model` names it (file stem or server model).
    pub(super) fn new(classes: usize, model: &str, settings: &Settings) -> Classifier {
        Classifier {
            classes,
            region: settings.inference_region,
            attribute: settings
                .attribute_name
                .clone()
                .unwrap_or_else(|| model.to_string()),
            model_name: model.to_string(),
            cache: TrackCache::new(policy(settings)),
            latest: None,
            classified: 0,
            served: 0,
        }
    }

    /// New caps: frame results are forgotten.
    pub(super) fn set_caps(&mut self) {
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
        let mut targets_due = Vec::new();
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
                // classifier-threshold may change while playing.
                let wanted = policy(settings);
                if *classifier.cache.policy() != wanted {
                    classifier.cache.set_policy(wanted);
                }
                for event in detection::tracking::events(buf) {
                    if event.event == "exit" {
                        classifier.cache.end(event.track_id);
                    }
                }
                classifier.cache.sweep(frame_number);
                for (id, det) in targets(buf, settings, fw, fh, Some(&classifier.attribute)) {
                    let area = det.width * det.height;
                    let infer = run
                        && match det.track_id {
                            Some(t) => classifier.cache.due(t, frame_number, time_ms, area),
                            None => true,
                        };
                    let crop = infer.then(|| {
                        rects.push(rect_of(&det));
                        rects.len() - 1
                    });
                    targets_due.push(Target { id, det, crop });
                }
            }
        }

        // The crops through the model, and their top-1.
        let padding = match classifier.region {
            InferenceRegion::Frame => 0.0,
            InferenceRegion::Objects => settings.crop_padding,
        };
        let classes = classifier.classes;
        let mut answers: Vec<Option<Classification>> = Vec::with_capacity(rects.len());
        for answer in self.run_crops(state, buf, &rects, padding)? {
            let Some(out) = answer.output else {
                answers.push(None);
                continue;
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
                for t in targets_due {
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
