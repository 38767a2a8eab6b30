//! Object mode (`inference-region=objects`) and whole-frame classification: which objects
//! of a buffer a model runs on, their crops from the full-resolution frame in its own
//! format (`crate::preprocess::crop`), and running them through the backend in batches.
//!
//! All crops of a frame are handed to the backend before the first answer is awaited, so a
//! backend with several sessions or requests (`performance-hint=throughput`, a server)
//! works on several of them at once. With a dynamic batch axis (ONNX Runtime; checked at
//! start) consecutive crops go in one `[N, 3, H, W]` tensor of up to `batch-size` images;
//! a static-batch model, OpenVINO (compiled for a static input) and servers take them one
//! by one.

use std::time::{Duration, Instant};

use gst::subclass::prelude::*;
use gst_video::VideoRegionOfInterestMeta;

use super::engine::{Output, Ticket};
use super::imp::{RsInfer, State, StreamFailure, CAT};
use super::mapping::{map_frame, Planes};
use super::settings::{parse_channels, Settings};
use crate::detection::{self, Detection};
use crate::preprocess::crop::{CropConverter, CropFit, CropGeometry, CropRect};
use crate::preprocess::{Colorimetry, PixelFormat};

/// How long one answer is awaited before the wait is logged (it goes on: the backend has
/// its own timeouts).
const SLOW_ANSWER: Duration = Duration::from_secs(5);

/// Crops per batch when `batch-size=0` and the model takes several.
pub(super) const AUTO_BATCH: usize = 16;

/// The field of the `detection` structure naming the model that made it (DL Streamer's).
pub(super) const MODEL_NAME_FIELD: &str = "model_name";
/// The field of the `detection` structure naming the element that made it (ours).
pub(super) const ELEMENT_FIELD: &str = "element";

/// Crops into model inputs: the converter of the negotiated format, the input buffer and
/// how crops are fitted.
pub(super) struct Crops {
    converter: Option<CropConverter>,
    tensor: Vec<f32>,
    fit: CropFit,
    pad: u8,
    mean: [f32; 3],
    std: [f32; 3],
    /// `batch-size` (0: automatic) and the model's largest batch.
    batch_size: usize,
    max_batch: usize,
    concurrency: usize,
}

/// One crop's answer: where it was taken (`None`: nothing to crop) and the model's output
/// for it alone (`[1, ...]`; `None` when the crop was empty or a server was away).
pub(super) struct CropAnswer {
    pub(super) geometry: Option<CropGeometry>,
    pub(super) output: Option<Output>,
}

impl Crops {
    /// `mean`/`std` come from the properties (classifiers); a detector inside objects is
    /// letterboxed with `padding-value` as on whole frames.
    pub(super) fn new(
        settings: &Settings,
        fit: CropFit,
        normalise: bool,
        max_batch: usize,
        concurrency: usize,
    ) -> Result<Crops, gst::ErrorMessage> {
        let channels = |name: &str, spec: Option<&str>, default: f32| {
            parse_channels(spec, default)
                .map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("{}: {}", name, e)))
        };
        let (mean, std) = if normalise {
            (
                channels("mean", settings.mean.as_deref(), 0.0)?,
                channels("std", settings.std.as_deref(), 1.0)?,
            )
        } else {
            ([0.0; 3], [1.0; 3])
        };
        if std.contains(&0.0) {
            return Err(gst::error_msg!(
                gst::LibraryError::Settings,
                ("std: a channel divisor of 0")
            ));
        }
        Ok(Crops {
            converter: None,
            tensor: Vec::new(),
            fit,
            pad: settings.padding_value.min(255) as u8,
            mean,
            std,
            batch_size: settings.batch_size as usize,
            max_batch: max_batch.max(1),
            concurrency: concurrency.max(1),
        })
    }

    /// New caps: a converter for their format and size.
    pub(super) fn set_caps(
        &mut self,
        format: PixelFormat,
        width: usize,
        height: usize,
        colorimetry: Colorimetry,
    ) {
        self.converter = Some(CropConverter::new(format, width, height, colorimetry));
    }

    /// Images per batch for `n` crops: `batch-size`, never above the model's largest.
    /// Automatic: batches of up to [`AUTO_BATCH`] for a backend with one session (measured
    /// 1.1-1.6x the speed of one by one with the shipped colour classifier,
    /// `cargo bench --bench classify`), one by one across several sessions (throughput:
    /// each session takes a crop, which measured as fast or faster than batches there).
    fn batch_for(&self, n: usize) -> usize {
        let wanted = match self.batch_size {
            0 if self.concurrency > 1 => 1,
            0 => n.min(AUTO_BATCH),
            b => b,
        };
        wanted.clamp(1, self.max_batch)
    }
}

/// Whether an object passes `object-class`, the size gates and `source-model`.
pub(super) fn wanted(det: &Detection, source: Option<(&str, &str)>, settings: &Settings) -> bool {
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
    let listed = |spec: &str, matches: &dyn Fn(&str) -> bool| {
        spec.split(',')
            .map(str::trim)
            .any(|c| !c.is_empty() && matches(c))
    };
    if let Some(spec) = settings.object_class.as_deref() {
        let class = |c: &str| c == det.label || c.parse::<i32>().ok() == Some(det.label_id);
        if !listed(spec, &class) {
            return false;
        }
    }
    if let Some(spec) = settings.source_model.as_deref() {
        let Some((model, element)) = source else {
            return false;
        };
        if !listed(spec, &|c: &str| c == model || c == element) {
            return false;
        }
    }
    true
}

/// The model and element that made a region meta (`model_name` and `element` of its
/// `detection` structure), empty when not recorded.
pub(super) fn source_of(roi: &VideoRegionOfInterestMeta) -> Option<(&str, &str)> {
    let s = roi.param(detection::DETECTION_STRUCTURE)?;
    let field = |name: &str| s.get::<&str>(name).ok();
    match (field(MODEL_NAME_FIELD), field(ELEMENT_FIELD)) {
        (None, None) => None,
        (m, e) => Some((m.unwrap_or(""), e.unwrap_or(""))),
    }
}

/// The objects of `buf` a model in object mode looks at, in meta order: their meta id and
/// detection. Objects that already have `skip_param` (a classifier's own attribute) are left
/// out.
pub(super) fn targets(
    buf: &gst::BufferRef,
    settings: &Settings,
    width: u32,
    height: u32,
    skip_param: Option<&str>,
) -> Vec<(i32, Detection)> {
    buf.iter_meta::<VideoRegionOfInterestMeta>()
        .filter(|roi| skip_param.is_none_or(|p| roi.param(p).is_none()))
        .filter_map(|roi| {
            let det = detection::from_meta(&roi, width, height);
            wanted(&det, source_of(&roi), settings).then(|| (roi.id(), det))
        })
        .collect()
}

/// The crop rectangle of a detection.
pub(super) fn rect_of(det: &Detection) -> CropRect {
    CropRect {
        x: det.x,
        y: det.y,
        width: det.width,
        height: det.height,
    }
}

fn failure(error: gst::ErrorMessage) -> StreamFailure {
    StreamFailure(gst::FlowError::Error, Some(error))
}

impl RsInfer {
    /// Crops `rects` (grown by `padding`) from `buf`, runs them through the backend in
    /// batches and returns one answer per rectangle, in order. Called with the state lock
    /// held; errors are returned.
    pub(super) fn run_crops(
        &self,
        state: &mut State,
        buf: &gst::BufferRef,
        rects: &[CropRect],
        padding: f64,
    ) -> Result<Vec<CropAnswer>, StreamFailure> {
        if rects.is_empty() {
            return Ok(Vec::new());
        }
        let Some(info) = state.video_info.clone() else {
            return Err(StreamFailure(gst::FlowError::NotNegotiated, None));
        };
        let (fw, fh) = (info.width() as usize, info.height() as usize);
        let (iw, ih) = (state.input_width, state.input_height);
        let image = 3 * iw * ih;
        let Some(crops) = state.crops.as_mut() else {
            return Err(StreamFailure(gst::FlowError::NotNegotiated, None));
        };
        let geometries: Vec<Option<CropGeometry>> = rects
            .iter()
            .map(|r| CropGeometry::new(r, padding, fw, fh, iw, ih, crops.fit))
            .collect();
        let cropped: Vec<usize> = (0..rects.len())
            .filter(|&i| geometries[i].is_some())
            .collect();
        let batch = crops.batch_for(cropped.len());

        // Every crop into the input buffer, then every batch submitted.
        let mut tickets: Vec<(Vec<usize>, Ticket)> = Vec::new();
        if !cropped.is_empty() {
            let frame = map_frame(buf, &info)?;
            let planes = Planes::of(&frame)?;
            let data = planes.data();
            let Some(converter) = crops.converter.as_mut() else {
                return Err(StreamFailure(gst::FlowError::NotNegotiated, None));
            };
            crops.tensor.resize(cropped.len() * image, 0.0);
            for (slot, &i) in cropped.iter().enumerate() {
                let geometry = geometries[i].as_ref().expect("cropped ones have one");
                let tensor = &mut crops.tensor[slot * image..(slot + 1) * image];
                converter
                    .convert(&data, geometry, crops.pad, crops.mean, crops.std, tensor)
                    .map_err(|e| {
                        failure(gst::error_msg!(
                            gst::StreamError::Format,
                            ("Bad frame: {}", e)
                        ))
                    })?;
            }
            for (b, members) in cropped.chunks(batch).enumerate() {
                let start = b * batch * image;
                let input = &crops.tensor[start..start + members.len() * image];
                tickets.push((members.to_vec(), state.engine.submit(input)));
            }
        }

        // The answers, split per crop.
        let mut outputs: Vec<Option<Output>> = vec![None; rects.len()];
        for (members, mut ticket) in tickets {
            let started = Instant::now();
            while !ticket.wait(SLOW_ANSWER) {
                gst::warning!(
                    CAT,
                    imp = self,
                    "Waiting {:?} for an answer on {} objects",
                    started.elapsed(),
                    members.len()
                );
            }
            let out = match ticket.take().0 {
                Ok(out) => out,
                Err(e) if state.engine.outages() => {
                    gst::debug!(CAT, imp = self, "Inference unavailable: {}", e);
                    continue;
                }
                Err(e) => {
                    return Err(failure(gst::error_msg!(
                        gst::LibraryError::Failed,
                        ("Inference failed: {}", e)
                    )))
                }
            };
            let parts = split(out, members.len()).map_err(|e| {
                failure(gst::error_msg!(
                    gst::StreamError::Decode,
                    ("Bad model output: {}", e)
                ))
            })?;
            for (i, part) in members.into_iter().zip(parts) {
                outputs[i] = Some(part);
            }
        }
        Ok(geometries
            .into_iter()
            .zip(outputs)
            .map(|(geometry, output)| CropAnswer { geometry, output })
            .collect())
    }
}

/// Splits a batch's output `[n, ...]` into `n` outputs `[1, ...]`.
fn split(out: Output, n: usize) -> Result<Vec<Output>, String> {
    if n == 1 {
        return Ok(vec![out]);
    }
    let rows = out.shape.first().copied().unwrap_or(0);
    if rows != n as i64 || out.data.len() % n != 0 {
        return Err(format!(
            "output shape {:?} for a batch of {n} images",
            out.shape
        ));
    }
    let len = out.data.len() / n;
    let mut shape = out.shape.clone();
    shape[0] = 1;
    Ok(out
        .data
        .chunks(len)
        .map(|chunk| Output {
            shape: shape.clone(),
            data: chunk.to_vec(),
        })
        .collect())
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
    fn objects_are_filtered_by_class_size_and_source() {
        let mut s = Settings::default();
        let any = None;
        assert!(wanted(&det(10.0, 10.0, "car", 2), any, &s));
        assert!(!wanted(&det(0.5, 10.0, "car", 2), any, &s), "under a pixel");
        s.min_object_size = 16;
        assert!(!wanted(&det(15.9, 40.0, "car", 2), any, &s));
        assert!(wanted(&det(16.0, 16.0, "car", 2), any, &s));
        s.max_object_size = 100;
        assert!(!wanted(&det(20.0, 101.0, "car", 2), any, &s));
        s.object_class = Some("person, 2".into());
        assert!(wanted(&det(20.0, 20.0, "truck", 2), any, &s), "by id");
        assert!(wanted(&det(20.0, 20.0, "person", 0), any, &s), "by label");
        assert!(!wanted(&det(20.0, 20.0, "dog", 16), any, &s));

        let s = Settings {
            source_model: Some("vehicles, infer1".into()),
            ..Settings::default()
        };
        let car = det(20.0, 20.0, "car", 2);
        assert!(wanted(&car, Some(("vehicles", "infer0")), &s), "by model");
        assert!(wanted(&car, Some(("people", "infer1")), &s), "by element");
        assert!(!wanted(&car, Some(("people", "infer0")), &s));
        assert!(
            !wanted(&car, None, &s),
            "an unknown source is not a listed one"
        );
    }

    #[test]
    fn batches_follow_the_sessions_and_respect_the_model() {
        let s = Settings::default();
        let crops = |batch_size: u32, max_batch: usize, concurrency: usize| {
            let mut s = s.clone();
            s.batch_size = batch_size;
            Crops::new(&s, CropFit::CentreCrop, true, max_batch, concurrency).unwrap()
        };
        assert_eq!(crops(0, 1, 1).batch_for(50), 1, "a static batch");
        assert_eq!(crops(0, 64, 1).batch_for(50), AUTO_BATCH);
        assert_eq!(crops(0, 64, 1).batch_for(5), 5);
        assert_eq!(
            crops(0, 64, 2).batch_for(10),
            1,
            "two sessions: a crop each"
        );
        assert_eq!(crops(8, 64, 2).batch_for(50), 8);
        assert_eq!(crops(8, 4, 2).batch_for(50), 4, "never above the model's");
    }

    #[test]
    fn batch_outputs_split_per_image() {
        let out = Output {
            shape: vec![3, 2],
            data: vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        };
        let parts = split(out.clone(), 3).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1].shape, vec![1, 2]);
        assert_eq!(parts[2].data, vec![4.0, 5.0]);
        assert!(split(out, 2).is_err(), "3 rows for 2 images");
    }
}
