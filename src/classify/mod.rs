//! Classification output decoding and the per-track result cache (rsinfer's classifiers).
//!
//! Pure logic, no GStreamer or inference-runtime types. A classifier runs on whole frames or,
//! after a detector and rstracker, on each object's crop. Two kinds of export are met:
//!
//! - Ultralytics classification exports (`yolo11n-cls`): `output0` `[1, C]`, **already
//!   softmaxed** (the `Classify` head applies softmax when exporting);
//! - generic ImageNet classifiers (torchvision, timm): **logits** `[B, C]` or `[B, C, 1, 1]`.
//!
//! [`decode`] (or [`Scores::new`]) turns the output tensor into one row of probabilities per
//! batch row, [`Activation::Auto`] telling the two kinds apart; [`top1`] picks the class. The
//! per-track cache that decides when a tracked object is classified again and which result
//! it shows is [`vote::TrackCache`].

pub mod vote;

#[cfg(test)]
mod tests;

pub use vote::{Attribute, Policy, TrackCache};

/// How the output's scores become probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// Softmax, unless every row of the tensor is already a probability distribution (all
    /// values in [0, 1] within 1e-6 and their sum within 1e-3 of 1), as Ultralytics exports
    /// are. The choice is made once per tensor (the model either softmaxes or does not), so
    /// a row of logits that happens to sum to 1 in a batch of logits is still softmaxed.
    #[default]
    Auto,
    /// Numerically stable softmax (the row's maximum is subtracted first).
    Softmax,
    /// The values as they are (sigmoid or other calibrated heads).
    None,
}

/// Tolerance on each value for a row to count as a distribution.
const DISTRIBUTION_VALUE_TOLERANCE: f32 = 1e-6;
/// Tolerance on the row's sum.
const DISTRIBUTION_SUM_TOLERANCE: f64 = 1e-3;

/// The probabilities of a decoded classification output: per batch row, the C class
/// probabilities.
///
/// Values that are not numbers are handled without a panic: a row holding a NaN is all 0
/// (its output is broken, so none of it is trusted, and [`top1`] finds no class in it). With
/// softmax, −inf gives 0 and +inf values share the whole mass (softmax's limit); with
/// [`Activation::None`], ±inf become 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    classes: usize,
    probabilities: Vec<f32>,
    softmax: bool,
}

impl Scores {
    /// Decodes the output tensor `data` of shape `shape` (see [`classes_of`]). A dynamic
    /// batch axis takes its size from `data`'s length.
    pub fn new(shape: &[i64], data: &[f32], activation: Activation) -> Result<Self, String> {
        let (batch, classes) = classes_of(shape)?;
        let batch = if batch_is_dynamic(shape) {
            if data.len() % classes != 0 {
                return Err(format!(
                    "output {shape:?} holds {} values, not a multiple of its {classes} classes",
                    data.len()
                ));
            }
            data.len() / classes
        } else {
            batch
        };
        if batch.checked_mul(classes) != Some(data.len()) {
            return Err(format!(
                "output {shape:?} holds {} values, its shape needs {batch} x {classes}",
                data.len()
            ));
        }
        let softmax = match activation {
            Activation::Softmax => true,
            Activation::None => false,
            // Rows with a NaN are zeroed whatever the activation: they do not vote here.
            Activation::Auto => !data
                .chunks_exact(classes)
                .filter(|row| !row.iter().any(|v| v.is_nan()))
                .all(is_distribution),
        };
        let mut probabilities = vec![0.0; data.len()];
        for (row, out) in data
            .chunks_exact(classes)
            .zip(probabilities.chunks_exact_mut(classes))
        {
            if row.iter().any(|v| v.is_nan()) {
                continue; // stays all 0
            }
            if softmax {
                softmax_into(row, out);
            } else {
                for (o, v) in out.iter_mut().zip(row) {
                    *o = if v.is_finite() { *v } else { 0.0 };
                }
            }
        }
        Ok(Scores {
            classes,
            probabilities,
            softmax,
        })
    }

    /// Number of rows.
    pub fn batch(&self) -> usize {
        self.probabilities.len() / self.classes
    }

    /// Number of classes per row.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Whether softmax was applied (always for [`Activation::Softmax`], never for
    /// [`Activation::None`], the detected case for [`Activation::Auto`]).
    pub fn softmax_applied(&self) -> bool {
        self.softmax
    }

    /// The probabilities of row `i`.
    pub fn row(&self, i: usize) -> Option<&[f32]> {
        let start = i.checked_mul(self.classes)?;
        self.probabilities
            .get(start..start.checked_add(self.classes)?)
    }

    /// The rows in batch order.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.probabilities.chunks_exact(self.classes)
    }

    /// The most probable class of row `i` (see [`top1`]).
    pub fn top1(&self, i: usize) -> Option<Classification> {
        self.row(i).and_then(top1)
    }

    /// The rows as vectors.
    pub fn into_rows(self) -> Vec<Vec<f32>> {
        self.rows().map(<[f32]>::to_vec).collect()
    }
}

fn batch_is_dynamic(shape: &[i64]) -> bool {
    shape.len() >= 2 && shape[0] < 0
}

/// The batch size and the number of classes of a classification output: `[B, C]`,
/// `[B, C, 1, 1]` or `[C]` (batch 1). A dynamic batch axis (negative, as in a model's
/// declared shape `[-1, 1000]`) gives batch 0. Detector, dense or single-score outputs are
/// errors that say what the shape looks like.
pub fn classes_of(shape: &[i64]) -> Result<(usize, usize), String> {
    let (batch, classes) = match *shape {
        [c] => (1, c),
        [b, c] | [b, c, 1, 1] => (b, c),
        [_, _, _] => {
            return Err(format!(
                "a detector's output {shape:?} is not a classification output [B, C] \
                 (or [B, C, 1, 1])"
            ))
        }
        [_, _, _, _] => {
            return Err(format!(
                "a dense output {shape:?} (a feature map or segmentation) is not a \
                 classification output [B, C, 1, 1] (or [B, C])"
            ))
        }
        _ => {
            return Err(format!(
                "output {shape:?} is not a classification output [B, C], [B, C, 1, 1] or [C]"
            ))
        }
    };
    if classes < 0 {
        return Err(format!(
            "the class axis of output {shape:?} is dynamic: the number of classes is unknown"
        ));
    }
    if classes < 2 {
        return Err(format!(
            "output {shape:?} holds {classes} class score per row: a classifier needs at \
             least 2 classes (a single sigmoid score is not supported)"
        ));
    }
    Ok((usize::try_from(batch).unwrap_or(0), classes as usize))
}

/// Decodes a classification output into rows of probabilities (see [`Scores`]).
pub fn decode(
    shape: &[i64],
    data: &[f32],
    activation: Activation,
) -> Result<Vec<Vec<f32>>, String> {
    Scores::new(shape, data, activation).map(Scores::into_rows)
}

/// A classifier's answer for one input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classification {
    pub label_id: usize,
    pub confidence: f32,
}

/// The most probable class: the highest finite probability above 0, the lowest id on ties.
/// `None` when the row is empty, all 0 (a NaN row) or holds nothing finite above 0.
pub fn top1(probabilities: &[f32]) -> Option<Classification> {
    let mut best: Option<Classification> = None;
    for (label_id, &p) in probabilities.iter().enumerate() {
        if p.is_finite() && p > 0.0 && best.is_none_or(|b| p > b.confidence) {
            best = Some(Classification {
                label_id,
                confidence: p,
            });
        }
    }
    best
}

/// Whether a model output of this (declared) shape looks like a classifier's: 2-D `[1, C]`
/// or `[1, C, 1, 1]` with C >= 2; the batch axis may be dynamic (negative).
pub fn looks_like_classifier(shape: &[i64]) -> bool {
    match *shape {
        [b, c] | [b, c, 1, 1] => (b == 1 || b < 0) && c >= 2,
        _ => false,
    }
}

/// Whether `row` is already a probability distribution.
fn is_distribution(row: &[f32]) -> bool {
    let range = -DISTRIBUTION_VALUE_TOLERANCE..=1.0 + DISTRIBUTION_VALUE_TOLERANCE;
    !row.is_empty()
        && row.iter().all(|v| range.contains(v))
        && (row.iter().map(|v| f64::from(*v)).sum::<f64>() - 1.0).abs()
            <= DISTRIBUTION_SUM_TOLERANCE
}

/// Softmax of `row` (no NaN in it) into `out`, stable: the maximum is subtracted first.
fn softmax_into(row: &[f32], out: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::INFINITY {
        let n = row.iter().filter(|v| **v == f32::INFINITY).count() as f32;
        for (o, v) in out.iter_mut().zip(row) {
            *o = if *v == f32::INFINITY { 1.0 / n } else { 0.0 };
        }
        return;
    }
    if max == f32::NEG_INFINITY {
        out.fill(0.0);
        return;
    }
    let mut sum = 0.0f64;
    for (o, v) in out.iter_mut().zip(row) {
        *o = (v - max).exp(); // in (0, 1], the maximum's term is 1: sum >= 1
        sum += f64::from(*o);
    }
    for o in out.iter_mut() {
        *o = (f64::from(*o) / sum) as f32;
    }
}

#[cfg(test)]
mod decode_tests {
    use super::*;

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6)
    }

    // softmax([1, 2, 3]), computed independently: e^k / (e + e^2 + e^3).
    const SOFTMAX_123: [f32; 3] = [0.090_030_57, 0.244_728_47, 0.665_240_96];

    #[test]
    fn shapes_give_batch_and_classes() {
        assert_eq!(classes_of(&[1, 1000]), Ok((1, 1000)));
        assert_eq!(classes_of(&[4, 1000, 1, 1]), Ok((4, 1000)));
        assert_eq!(classes_of(&[10]), Ok((1, 10)));
        assert_eq!(classes_of(&[0, 5]), Ok((0, 5)));
        // A model's declared shape with a dynamic batch axis.
        assert_eq!(classes_of(&[-1, 1000]), Ok((0, 1000)));
    }

    #[test]
    fn other_shapes_are_rejected_with_what_they_look_like() {
        let err = classes_of(&[1, 84, 8400]).unwrap_err();
        assert!(
            err.contains("detector") && err.contains("[1, 84, 8400]"),
            "{err}"
        );
        let err = classes_of(&[1, 3, 224, 224]).unwrap_err();
        assert!(
            err.contains("dense") && err.contains("[1, 3, 224, 224]"),
            "{err}"
        );
        let err = classes_of(&[1, 1]).unwrap_err();
        assert!(err.contains("at least 2 classes"), "{err}");
        let err = classes_of(&[1, -1]).unwrap_err();
        assert!(err.contains("dynamic"), "{err}");
        for shape in [&[0i64; 0][..], &[1, 2, 3, 4, 5], &[1, 10, 2, 1]] {
            assert!(classes_of(shape).is_err(), "{shape:?}");
        }
    }

    #[test]
    fn softmax_matches_the_reference_and_is_stable() {
        let rows = decode(&[1, 3], &[1.0, 2.0, 3.0], Activation::Softmax).unwrap();
        assert!(close(&rows[0], &SOFTMAX_123), "{rows:?}");
        // Shifted logits give the same probabilities, without overflow or underflow.
        for shift in [1000.0, -1000.0, 80.0] {
            let data = [1.0 + shift, 2.0 + shift, 3.0 + shift];
            let rows = decode(&[1, 3], &data, Activation::Softmax).unwrap();
            assert!(close(&rows[0], &SOFTMAX_123), "{shift}: {rows:?}");
        }
        // Rows sum to 1.
        let data: Vec<f32> = (0..1000)
            .map(|i| ((i * 37) % 101) as f32 / 7.0 - 5.0)
            .collect();
        let rows = decode(&[1, 1000], &data, Activation::Softmax).unwrap();
        let sum: f64 = rows[0].iter().map(|p| f64::from(*p)).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{sum}");
    }

    #[test]
    fn auto_keeps_ultralytics_probabilities_and_softmaxes_logits() {
        // Already softmaxed (Ultralytics): unchanged.
        let probs = [0.1, 0.2, 0.7];
        let s = Scores::new(&[1, 3], &probs, Activation::Auto).unwrap();
        assert!(!s.softmax_applied());
        assert_eq!(s.row(0).unwrap(), &probs);
        // Logits: softmaxed.
        let s = Scores::new(&[1, 3], &[1.0, 2.0, 3.0], Activation::Auto).unwrap();
        assert!(s.softmax_applied());
        assert!(close(s.row(0).unwrap(), &SOFTMAX_123));
        // The tolerances: the sum within 1e-3 of 1, each value within 1e-6 of [0, 1].
        let auto = |row: &[f32]| {
            !Scores::new(&[1, row.len() as i64], row, Activation::Auto)
                .unwrap()
                .softmax_applied()
        };
        assert!(auto(&[0.5, 0.5009]));
        assert!(!auto(&[0.5, 0.502]));
        assert!(auto(&[-1e-7, 1.0]));
        assert!(!auto(&[-1e-4, 1.0001]));
        assert!(!auto(&[0.0, 1.001]));
        // One decision per tensor: a batch mixing a distribution and logits is softmaxed.
        let s = Scores::new(&[2, 3], &[0.1, 0.2, 0.7, 1.0, 2.0, 3.0], Activation::Auto).unwrap();
        assert!(s.softmax_applied());
        assert!(close(s.row(1).unwrap(), &SOFTMAX_123));
        assert!(close(
            s.row(0).unwrap(),
            &[0.254_628_53, 0.281_408_04, 0.463_963_43]
        ));
    }

    #[test]
    fn none_passes_values_through() {
        let rows = decode(&[1, 4], &[0.9, 0.8, -2.0, f32::INFINITY], Activation::None).unwrap();
        assert_eq!(rows, vec![vec![0.9, 0.8, -2.0, 0.0]]);
    }

    #[test]
    fn a_nan_row_is_all_zero_and_never_wins() {
        let data = [0.2, f32::NAN, 0.8, 0.3, 0.3, 0.4];
        for activation in [Activation::Auto, Activation::Softmax, Activation::None] {
            let s = Scores::new(&[2, 3], &data, activation).unwrap();
            assert_eq!(s.row(0).unwrap(), &[0.0, 0.0, 0.0], "{activation:?}");
            assert_eq!(s.top1(0), None, "{activation:?}");
            assert_eq!(s.top1(1).map(|c| c.label_id), Some(2), "{activation:?}");
        }
        // The NaN row does not turn Auto's decision: the other row stays as it is.
        let s = Scores::new(&[2, 3], &data, Activation::Auto).unwrap();
        assert!(!s.softmax_applied());
        assert_eq!(s.row(1).unwrap(), &[0.3, 0.3, 0.4]);
    }

    #[test]
    fn infinities_take_softmax_limits() {
        let rows = decode(
            &[3, 3],
            &[
                f32::INFINITY,
                0.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                0.0,
                0.0,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
            ],
            Activation::Softmax,
        )
        .unwrap();
        assert_eq!(rows[0], vec![0.5, 0.0, 0.5]);
        assert_eq!(rows[1], vec![0.0, 0.5, 0.5]);
        assert_eq!(rows[2], vec![0.0, 0.0, 0.0]);
        assert_eq!(top1(&rows[2]), None);
    }

    #[test]
    fn batches_and_four_axis_outputs_are_row_major() {
        #[rustfmt::skip]
        let data = [
            0.7, 0.2, 0.1, // row 0
            0.1, 0.1, 0.8, // row 1
        ];
        let s = Scores::new(&[2, 3, 1, 1], &data, Activation::Auto).unwrap();
        assert_eq!((s.batch(), s.classes()), (2, 3));
        assert_eq!(s.rows().count(), 2);
        assert_eq!(s.top1(0).map(|c| c.label_id), Some(0));
        assert_eq!(s.top1(1).map(|c| c.label_id), Some(2));
        assert_eq!(s.row(2), None);
        assert_eq!(s.top1(2), None);
        // [C] is one row.
        let rows = decode(&[3], &[0.2, 0.5, 0.3], Activation::Auto).unwrap();
        assert_eq!(rows, vec![vec![0.2, 0.5, 0.3]]);
    }

    #[test]
    fn lengths_must_match_the_shape() {
        let err = decode(&[2, 3], &[0.0; 5], Activation::Auto).unwrap_err();
        assert!(err.contains("holds 5 values"), "{err}");
        assert!(decode(&[1, 3], &[0.0; 6], Activation::Auto).is_err());
        // A dynamic batch takes its size from the data.
        let rows = decode(&[-1, 3], &[0.1, 0.2, 0.7, 0.3, 0.3, 0.4], Activation::Auto).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(decode(&[-1, 3], &[0.0; 7], Activation::Auto).is_err());
        assert_eq!(decode(&[0, 3], &[], Activation::Auto).unwrap().len(), 0);
    }

    #[test]
    fn top1_takes_the_highest_and_the_lowest_id_on_ties() {
        assert_eq!(
            top1(&[0.1, 0.45, 0.45]),
            Some(Classification {
                label_id: 1,
                confidence: 0.45
            })
        );
        assert_eq!(
            top1(&[f32::NAN, 0.3, f32::INFINITY, 0.2]).unwrap().label_id,
            1
        );
        assert_eq!(top1(&[]), None);
        assert_eq!(top1(&[0.0, 0.0]), None);
        assert_eq!(top1(&[-1.0, -0.5]), None);
    }

    #[test]
    fn classifier_shapes_are_recognised() {
        for shape in [&[1i64, 1000][..], &[1, 1000, 1, 1], &[-1, 10], &[1, 2]] {
            assert!(looks_like_classifier(shape), "{shape:?}");
        }
        for shape in [
            &[1i64, 84, 8400][..],
            &[1, 1],
            &[2, 1000],
            &[1000],
            &[1, 3, 224, 224],
            &[1, -1],
            &[1, 116, 8400],
            &[1, 300, 6],
        ] {
            assert!(!looks_like_classifier(shape), "{shape:?}");
        }
    }
}
