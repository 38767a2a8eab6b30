//! Per-class greedy non-maximum suppression.

use super::RawBox;

/// Intersection over union of two boxes (0 when either is empty).
pub fn iou(a: &RawBox, b: &RawBox) -> f32 {
    let iw = (a.x2.min(b.x2) - a.x1.max(b.x1)).max(0.0);
    let ih = (a.y2.min(b.y2) - a.y1.max(b.y1)).max(0.0);
    let inter = iw * ih;
    let union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// Greedy NMS within each class (boxes of different classes never suppress each other), as
/// Ultralytics and DL Streamer do by default. `boxes` is reordered by descending score and
/// truncated to the kept boxes, at most `max_detections` of them.
pub fn nms_per_class(boxes: &mut Vec<RawBox>, iou_threshold: f32, max_detections: usize) {
    // Descending score; ties broken by class then position for determinism.
    boxes.sort_unstable_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.class.cmp(&b.class))
            .then(a.x1.total_cmp(&b.x1))
            .then(a.y1.total_cmp(&b.y1))
    });
    let mut kept = 0;
    for i in 0..boxes.len() {
        if kept >= max_detections {
            break;
        }
        let candidate = boxes[i];
        let suppressed = boxes[..kept]
            .iter()
            .any(|k| k.class == candidate.class && iou(k, &candidate) > iou_threshold);
        if !suppressed {
            boxes[kept] = candidate;
            kept += 1;
        }
    }
    boxes.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x1: f32, y1: f32, x2: f32, y2: f32, score: f32, class: usize) -> RawBox {
        RawBox {
            x1,
            y1,
            x2,
            y2,
            score,
            class,
        }
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = b(0.0, 0.0, 10.0, 10.0, 1.0, 0);
        assert_eq!(iou(&a, &a), 1.0);
        assert_eq!(iou(&a, &b(10.0, 0.0, 20.0, 10.0, 1.0, 0)), 0.0);
        // Half overlap: inter 50, union 150.
        assert!((iou(&a, &b(5.0, 0.0, 15.0, 10.0, 1.0, 0)) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(
            iou(
                &b(1.0, 1.0, 1.0, 1.0, 1.0, 0),
                &b(1.0, 1.0, 1.0, 1.0, 1.0, 0)
            ),
            0.0
        );
    }

    #[test]
    fn suppresses_within_a_class_only() {
        let mut boxes = vec![
            b(0.0, 0.0, 10.0, 10.0, 0.6, 0),
            b(1.0, 1.0, 11.0, 11.0, 0.9, 0), // best of class 0, suppresses the first
            b(1.0, 1.0, 11.0, 11.0, 0.8, 1), // other class: kept
            b(50.0, 50.0, 60.0, 60.0, 0.3, 0), // far away: kept
            b(5.0, 0.0, 15.0, 10.0, 0.5, 0), // IoU with best 0.29 (< 0.45): kept
        ];
        nms_per_class(&mut boxes, 0.45, 300);
        let scores: Vec<f32> = boxes.iter().map(|b| b.score).collect();
        assert_eq!(scores, vec![0.9, 0.8, 0.5, 0.3]);
    }

    #[test]
    fn caps_the_number_of_detections() {
        let mut boxes: Vec<RawBox> = (0..50)
            .map(|i| {
                b(
                    i as f32 * 20.0,
                    0.0,
                    i as f32 * 20.0 + 10.0,
                    10.0,
                    i as f32 / 100.0,
                    0,
                )
            })
            .collect();
        nms_per_class(&mut boxes, 0.45, 7);
        assert_eq!(boxes.len(), 7);
        assert_eq!(boxes[0].score, 0.49);
        assert_eq!(boxes[6].score, 0.43);
    }
}
