//! YOLO-family output decoding and non-maximum suppression (REFERENCE.md section 2).
//!
//! Pure logic, no GStreamer or ONNX Runtime types: boxes come out in model-input pixels and
//! are mapped back to the frame by [`crate::preprocess::Letterbox`].

mod labels;
mod nms;

pub use labels::{parse_labels_file, parse_ultralytics_names};
pub use nms::{iou, nms_per_class};

use std::fmt;

/// The output layouts rsinfer decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[1, N, 5 + C]`: rows `cx, cy, w, h, objectness, class scores...`.
    YoloV5 { anchors: usize, classes: usize },
    /// `[1, 4 + C, N]`: planar `cx, cy, w, h, class scores...`, no objectness.
    YoloV8 { anchors: usize, classes: usize },
    /// `[1, K, 6]`: rows `x1, y1, x2, y2, score, class` (NMS inside the model).
    EndToEnd { rows: usize },
}

impl Layout {
    /// Number of classes, when the layout tells it.
    pub fn classes(&self) -> Option<usize> {
        match self {
            Layout::YoloV5 { classes, .. } | Layout::YoloV8 { classes, .. } => Some(*classes),
            Layout::EndToEnd { .. } => None,
        }
    }

    /// Number of `f32` values the output tensor holds.
    pub fn len(&self) -> usize {
        match *self {
            Layout::YoloV5 { anchors, classes } => anchors * (5 + classes),
            Layout::YoloV8 { anchors, classes } => anchors * (4 + classes),
            Layout::EndToEnd { rows } => rows * 6,
        }
    }

    /// Whether the layout holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layout::YoloV5 { anchors, classes } => {
                write!(f, "YOLOv5 ({anchors} anchors, {classes} classes)")
            }
            Layout::YoloV8 { anchors, classes } => {
                write!(f, "YOLOv8 ({anchors} anchors, {classes} classes)")
            }
            Layout::EndToEnd { rows } => write!(f, "end-to-end ({rows} rows)"),
        }
    }
}

/// Which layout the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayoutHint {
    #[default]
    Auto,
    YoloV5,
    YoloV8,
    EndToEnd,
}

/// Number of anchor points of an anchor-free head with strides 8, 16, 32 (and 64 for P6
/// models when `p6`) on a `width` x `height` input.
fn grid_points(width: usize, height: usize, p6: bool) -> usize {
    let strides: &[usize] = if p6 { &[8, 16, 32, 64] } else { &[8, 16, 32] };
    strides
        .iter()
        .map(|s| width.div_ceil(*s) * height.div_ceil(*s))
        .sum()
}

/// Picks the decoder for an output of shape `shape` on a model whose input is
/// `input_width` x `input_height`. Returns an error naming the shape when nothing fits.
pub fn detect_layout(
    shape: &[i64],
    input_width: usize,
    input_height: usize,
    hint: LayoutHint,
) -> Result<Layout, String> {
    let fits_none = || {
        format!(
            "output shape {shape:?} fits no supported layout (YOLOv5 [1, N, 5+C], \
             YOLOv8/YOLO11 [1, 4+C, N], end-to-end [1, K, 6])"
        )
    };
    if shape.len() != 3 || shape[0] != 1 || shape[1] <= 0 || shape[2] <= 0 {
        return Err(fits_none());
    }
    let (a, b) = (shape[1] as usize, shape[2] as usize);
    let v8 = (a > 4).then(|| Layout::YoloV8 {
        anchors: b,
        classes: a - 4,
    });
    let v5 = (b > 5).then(|| Layout::YoloV5 {
        anchors: a,
        classes: b - 5,
    });
    let e2e = (b == 6).then_some(Layout::EndToEnd { rows: a });

    let chosen = match hint {
        LayoutHint::YoloV5 => v5,
        LayoutHint::YoloV8 => v8,
        LayoutHint::EndToEnd => e2e,
        LayoutHint::Auto => {
            let points = [
                grid_points(input_width, input_height, false),
                grid_points(input_width, input_height, true),
            ];
            if points.contains(&b) && v8.is_some() {
                v8
            } else if points.iter().any(|p| p * 3 == a || *p == a) && v5.is_some() {
                v5
            } else if e2e.is_some() {
                e2e
            } else if a < b {
                v8
            } else {
                v5
            }
        }
    };
    chosen.ok_or_else(|| match hint {
        LayoutHint::Auto => fits_none(),
        _ => format!("output shape {shape:?} does not fit the requested model-type {hint:?}"),
    })
}

/// A candidate box in model-input pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
    pub class: usize,
}

/// Reusable buffers for [`decode`], so a frame allocates nothing once warmed up.
#[derive(Debug, Default)]
pub struct DecodeScratch {
    best_score: Vec<f32>,
    best_class: Vec<u32>,
    pub candidates: Vec<RawBox>,
}

/// Decodes `data` (the output tensor laid out as `layout`) into `scratch.candidates`: boxes
/// with a score of at least `conf_threshold`, whose class passes `keep_class`. Values that
/// are not finite are ignored.
pub fn decode(
    layout: Layout,
    data: &[f32],
    conf_threshold: f32,
    keep_class: &dyn Fn(usize) -> bool,
    scratch: &mut DecodeScratch,
) -> Result<(), String> {
    if data.len() < layout.len() {
        return Err(format!(
            "output holds {} values, {layout} needs {}",
            data.len(),
            layout.len()
        ));
    }
    scratch.candidates.clear();
    match layout {
        Layout::YoloV8 {
            anchors: n,
            classes,
        } => {
            // Class-major pass over contiguous rows: no transpose, cache friendly.
            scratch.best_score.clear();
            scratch.best_score.resize(n, f32::NEG_INFINITY);
            scratch.best_class.clear();
            scratch.best_class.resize(n, 0);
            for c in 0..classes {
                if !keep_class(c) {
                    continue;
                }
                let row = &data[(4 + c) * n..(5 + c) * n];
                for ((s, best), cls) in row
                    .iter()
                    .zip(scratch.best_score.iter_mut())
                    .zip(scratch.best_class.iter_mut())
                {
                    if *s > *best {
                        *best = *s;
                        *cls = c as u32;
                    }
                }
            }
            let (cx, rest) = data.split_at(n);
            let (cy, rest) = rest.split_at(n);
            let (w, rest) = rest.split_at(n);
            let h = &rest[..n];
            for i in 0..n {
                let score = scratch.best_score[i];
                if score >= conf_threshold && score.is_finite() {
                    push_cxcywh(
                        &mut scratch.candidates,
                        cx[i],
                        cy[i],
                        w[i],
                        h[i],
                        score,
                        scratch.best_class[i] as usize,
                    );
                }
            }
        }
        Layout::YoloV5 { anchors, classes } => {
            let stride = 5 + classes;
            for row in data[..anchors * stride].chunks_exact(stride) {
                let obj = row[4];
                if obj.is_nan() || obj < conf_threshold {
                    continue;
                }
                let mut best = f32::NEG_INFINITY;
                let mut best_c = usize::MAX;
                for (c, s) in row[5..].iter().enumerate() {
                    if *s > best && keep_class(c) {
                        best = *s;
                        best_c = c;
                    }
                }
                if best_c == usize::MAX {
                    continue;
                }
                let score = obj * best;
                if score >= conf_threshold && score.is_finite() {
                    push_cxcywh(
                        &mut scratch.candidates,
                        row[0],
                        row[1],
                        row[2],
                        row[3],
                        score,
                        best_c,
                    );
                }
            }
        }
        Layout::EndToEnd { rows } => {
            for row in data[..rows * 6].chunks_exact(6) {
                let score = row[4];
                let class = row[5];
                if !score.is_finite() || score < conf_threshold || class.is_nan() || class < 0.0 {
                    continue;
                }
                let class = class.round() as usize;
                if !keep_class(class) || !row[..4].iter().all(|v| v.is_finite()) {
                    continue;
                }
                scratch.candidates.push(RawBox {
                    x1: row[0],
                    y1: row[1],
                    x2: row[2].max(row[0]),
                    y2: row[3].max(row[1]),
                    score,
                    class,
                });
            }
        }
    }
    Ok(())
}

fn push_cxcywh(out: &mut Vec<RawBox>, cx: f32, cy: f32, w: f32, h: f32, score: f32, class: usize) {
    if !(cx.is_finite() && cy.is_finite() && w.is_finite() && h.is_finite()) {
        return;
    }
    let (w, h) = (w.max(0.0), h.max(0.0));
    out.push(RawBox {
        x1: cx - w / 2.0,
        y1: cy - h / 2.0,
        x2: cx + w / 2.0,
        y2: cy + h / 2.0,
        score,
        class,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_recognised_from_shapes() {
        assert_eq!(
            detect_layout(&[1, 84, 8400], 640, 640, LayoutHint::Auto).unwrap(),
            Layout::YoloV8 {
                anchors: 8400,
                classes: 80
            }
        );
        assert_eq!(
            detect_layout(&[1, 25200, 85], 640, 640, LayoutHint::Auto).unwrap(),
            Layout::YoloV5 {
                anchors: 25200,
                classes: 80
            }
        );
        assert_eq!(
            detect_layout(&[1, 300, 6], 640, 640, LayoutHint::Auto).unwrap(),
            Layout::EndToEnd { rows: 300 }
        );
        // A one-class YOLOv5 export is [1, N, 6]: recognised from the anchor count.
        assert_eq!(
            detect_layout(&[1, 25200, 6], 640, 640, LayoutHint::Auto).unwrap(),
            Layout::YoloV5 {
                anchors: 25200,
                classes: 1
            }
        );
        // A one-class YOLOv8 export at 320.
        assert_eq!(
            detect_layout(&[1, 5, 2100], 320, 320, LayoutHint::Auto).unwrap(),
            Layout::YoloV8 {
                anchors: 2100,
                classes: 1
            }
        );
        // Non-square input.
        assert_eq!(
            detect_layout(&[1, 10, 5040], 640, 384, LayoutHint::Auto).unwrap(),
            Layout::YoloV8 {
                anchors: 5040,
                classes: 6
            }
        );
        // Override.
        assert_eq!(
            detect_layout(&[1, 300, 6], 640, 640, LayoutHint::YoloV5).unwrap(),
            Layout::YoloV5 {
                anchors: 300,
                classes: 1
            }
        );
    }

    #[test]
    fn unknown_shapes_are_rejected_with_the_shape() {
        for shape in [&[1i64, 1000][..], &[1, 3, 4], &[2, 84, 8400], &[1, 4, 5]] {
            let err = detect_layout(shape, 640, 640, LayoutHint::Auto).unwrap_err();
            assert!(err.contains(&format!("{shape:?}")), "{err}");
        }
        assert!(detect_layout(&[1, 84, 8400], 640, 640, LayoutHint::EndToEnd).is_err());
    }

    fn all(_: usize) -> bool {
        true
    }

    #[test]
    fn yolov8_decode_picks_best_class_per_anchor() {
        // 3 anchors, 2 classes, planar.
        let n = 3;
        #[rustfmt::skip]
        let data = vec![
            10.0, 50.0, 90.0, // cx
            20.0, 60.0, 100.0, // cy
            4.0, 8.0, 2.0, // w
            6.0, 10.0, 2.0, // h
            0.9, 0.1, 0.2, // class 0
            0.3, 0.8, 0.24, // class 1
        ];
        let layout = Layout::YoloV8 {
            anchors: n,
            classes: 2,
        };
        let mut s = DecodeScratch::default();
        decode(layout, &data, 0.25, &all, &mut s).unwrap();
        assert_eq!(
            s.candidates,
            vec![
                RawBox {
                    x1: 8.0,
                    y1: 17.0,
                    x2: 12.0,
                    y2: 23.0,
                    score: 0.9,
                    class: 0
                },
                RawBox {
                    x1: 46.0,
                    y1: 55.0,
                    x2: 54.0,
                    y2: 65.0,
                    score: 0.8,
                    class: 1
                },
            ]
        );
        // Class filter: only class 1 kept; anchor 0's class-1 score 0.3 now counts.
        decode(layout, &data, 0.25, &|c| c == 1, &mut s).unwrap();
        assert_eq!(s.candidates.len(), 2);
        assert!(s.candidates.iter().all(|b| b.class == 1));
        assert_eq!(s.candidates[0].score, 0.3);
    }

    #[test]
    fn yolov5_decode_multiplies_objectness() {
        #[rustfmt::skip]
        let data = vec![
            100.0, 100.0, 20.0, 40.0, 0.5, 0.2, 0.9, // score 0.45 class 1
            10.0, 10.0, 2.0, 2.0, 0.2, 1.0, 1.0, // objectness below threshold
            50.0, 50.0, 10.0, 10.0, 0.9, 0.1, 0.2, // 0.18 below threshold
        ];
        let layout = Layout::YoloV5 {
            anchors: 3,
            classes: 2,
        };
        let mut s = DecodeScratch::default();
        decode(layout, &data, 0.25, &all, &mut s).unwrap();
        assert_eq!(s.candidates.len(), 1);
        let b = s.candidates[0];
        assert_eq!(
            (b.x1, b.y1, b.x2, b.y2, b.class),
            (90.0, 80.0, 110.0, 120.0, 1)
        );
        assert!((b.score - 0.45).abs() < 1e-6);
    }

    #[test]
    fn end_to_end_decode_reads_corners() {
        #[rustfmt::skip]
        let data = vec![
            1.0, 2.0, 30.0, 40.0, 0.7, 2.0,
            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, // padding row
            5.0, 5.0, 6.0, 6.0, f32::NAN, 1.0,
        ];
        let mut s = DecodeScratch::default();
        decode(Layout::EndToEnd { rows: 3 }, &data, 0.25, &all, &mut s).unwrap();
        assert_eq!(
            s.candidates,
            vec![RawBox {
                x1: 1.0,
                y1: 2.0,
                x2: 30.0,
                y2: 40.0,
                score: 0.7,
                class: 2
            }]
        );
    }

    #[test]
    fn short_output_is_an_error() {
        let mut s = DecodeScratch::default();
        let layout = Layout::YoloV8 {
            anchors: 10,
            classes: 2,
        };
        assert!(decode(layout, &[0.0; 59], 0.25, &all, &mut s).is_err());
    }
}
