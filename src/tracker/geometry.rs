//! Boxes in frame pixels and their overlap.

/// An axis-aligned box in frame pixels: `[x1, x2) x [y1, y2)`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BBox {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

impl BBox {
    /// From the top-left corner and the size.
    pub fn from_xywh(x: f64, y: f64, w: f64, h: f64) -> Self {
        BBox {
            x1: x,
            y1: y,
            x2: x + w.max(0.0),
            y2: y + h.max(0.0),
        }
    }

    /// From the centre and the size.
    pub fn from_cxcywh(cx: f64, cy: f64, w: f64, h: f64) -> Self {
        BBox::from_xywh(cx - w / 2.0, cy - h / 2.0, w, h)
    }

    /// `(cx, cy, w, h)`.
    pub fn cxcywh(&self) -> (f64, f64, f64, f64) {
        (
            (self.x1 + self.x2) / 2.0,
            (self.y1 + self.y2) / 2.0,
            self.width(),
            self.height(),
        )
    }

    pub fn width(&self) -> f64 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f64 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f64 {
        self.width() * self.height()
    }

    /// Every coordinate is a finite number.
    pub fn is_finite(&self) -> bool {
        self.x1.is_finite() && self.y1.is_finite() && self.x2.is_finite() && self.y2.is_finite()
    }

    /// Area of the intersection with `o`.
    pub fn intersection(&self, o: &BBox) -> f64 {
        let w = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let h = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        w * h
    }

    /// Intersection over union (0 when both are empty).
    pub fn iou(&self, o: &BBox) -> f64 {
        let inter = self.intersection(o);
        let union = self.area() + o.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }

    /// Linear interpolation towards `o` (`t` = 0 is `self`, 1 is `o`).
    pub fn lerp(&self, o: &BBox, t: f64) -> BBox {
        let l = |a: f64, b: f64| a + (b - a) * t;
        BBox {
            x1: l(self.x1, o.x1),
            y1: l(self.y1, o.y1),
            x2: l(self.x2, o.x2),
            y2: l(self.y2, o.y2),
        }
    }

    /// The fraction of this box's area inside a `width` x `height` frame (1 for an empty box
    /// inside the frame).
    pub fn visible_fraction(&self, width: f64, height: f64) -> f64 {
        let frame = BBox::from_xywh(0.0, 0.0, width, height);
        let area = self.area();
        if area <= 0.0 {
            let (cx, cy, _, _) = self.cxcywh();
            return if cx >= 0.0 && cy >= 0.0 && cx <= width && cy <= height {
                1.0
            } else {
                0.0
            };
        }
        self.intersection(&frame) / area
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_known_boxes() {
        let a = BBox::from_xywh(0.0, 0.0, 10.0, 10.0);
        let b = BBox::from_xywh(5.0, 0.0, 10.0, 10.0);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-12);
        assert_eq!(a.iou(&BBox::from_xywh(20.0, 20.0, 1.0, 1.0)), 0.0);
        assert_eq!(BBox::default().iou(&BBox::default()), 0.0);
        assert_eq!(a.iou(&a), 1.0);
    }

    #[test]
    fn centre_form_round_trips() {
        let b = BBox::from_xywh(3.0, 4.0, 10.0, 20.0);
        let (cx, cy, w, h) = b.cxcywh();
        assert_eq!((cx, cy, w, h), (8.0, 14.0, 10.0, 20.0));
        assert_eq!(BBox::from_cxcywh(cx, cy, w, h), b);
    }

    #[test]
    fn visible_fraction_in_a_frame() {
        let b = BBox::from_xywh(-5.0, 0.0, 10.0, 10.0);
        assert!((b.visible_fraction(100.0, 100.0) - 0.5).abs() < 1e-12);
        assert_eq!(
            BBox::from_xywh(200.0, 0.0, 10.0, 10.0).visible_fraction(100.0, 100.0),
            0.0
        );
        assert_eq!(
            BBox::from_xywh(5.0, 5.0, 0.0, 0.0).visible_fraction(100.0, 100.0),
            1.0
        );
    }
}
