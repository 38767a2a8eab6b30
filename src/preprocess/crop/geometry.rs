//! Crop geometry: which frame pixels a box crops and where they land in the model input.

/// How a crop is fitted into the model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CropFit {
    /// Ultralytics classification (`classify_transforms`): the crop's shortest side resized
    /// to the input's (aspect kept, the other side `trunc(long * S / short)` as
    /// torchvision's `Resize`), then the centre `W x H` taken (offsets `round((rw - W) / 2)`,
    /// `round((rh - H) / 2)`, ties to even as Python's `round` in torchvision's
    /// `CenterCrop`). When the input is not square, the scale is `max(W/w, H/h)`: the side
    /// with the larger scale gets the input's size exactly, the other `trunc(side * scale)`.
    #[default]
    CentreCrop,
    /// Aspect kept, centred, padded (as the parent module's Letterbox: `r = min(W/w, H/h)`,
    /// content `round(w*r) x round(h*r)`, offset `(W - cw) / 2`).
    Letterbox,
    /// Both axes scaled to fill the input.
    Stretch,
}

/// A box in frame pixels (from the detector): x, y, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CropRect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Where one crop lands in the model input and which frame pixels it samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropGeometry {
    /// The integer frame region cropped (box grown by the padding, rounded outwards and
    /// clipped to the frame).
    pub region_x: usize,
    pub region_y: usize,
    pub region_width: usize,
    pub region_height: usize,
    /// The part of the model input the crop fills (all of it for CentreCrop and Stretch).
    pub left: usize,
    pub top: usize,
    pub content_width: usize,
    pub content_height: usize,
    pub input_width: usize,
    pub input_height: usize,
    /// Size the region is resized to: at least the input for CentreCrop, the content
    /// size otherwise.
    pub resized_width: usize,
    pub resized_height: usize,
    /// Offset of the content inside the resized region (CentreCrop; 0 otherwise).
    pub offset_x: usize,
    pub offset_y: usize,
}

impl CropGeometry {
    /// `padding` is a fraction of the box size added on each side (0.1 = 10 % of the width
    /// left and right, 10 % of the height above and below). Returns None when the clipped
    /// region is empty (box outside the frame, or less than 1 px wide/high), when the box
    /// has a non-positive or non-finite size, or when the input is empty.
    pub fn new(
        rect: &CropRect,
        padding: f64,
        frame_width: usize,
        frame_height: usize,
        input_width: usize,
        input_height: usize,
        fit: CropFit,
    ) -> Option<CropGeometry> {
        let finite = [rect.x, rect.y, rect.width, rect.height, padding]
            .iter()
            .all(|v| v.is_finite());
        if !finite || rect.width <= 0.0 || rect.height <= 0.0 {
            return None;
        }
        if input_width == 0 || input_height == 0 {
            return None;
        }
        let span = |start: f64, size: f64, limit: usize| -> Option<(usize, usize)> {
            let lo = (start - padding * size).floor().max(0.0);
            let hi = (start + size + padding * size).ceil().min(limit as f64);
            (hi - lo >= 1.0).then_some((lo as usize, (hi - lo) as usize))
        };
        let (region_x, region_width) = span(rect.x, rect.width, frame_width)?;
        let (region_y, region_height) = span(rect.y, rect.height, frame_height)?;
        let (w, h) = (region_width, region_height);
        let (iw, ih) = (input_width, input_height);

        let (content_width, content_height, resized_width, resized_height) = match fit {
            CropFit::Stretch => (iw, ih, iw, ih),
            CropFit::Letterbox => {
                let r = (iw as f64 / w as f64).min(ih as f64 / h as f64);
                let cw = ((w as f64 * r).round() as usize).clamp(1, iw);
                let ch = ((h as f64 * r).round() as usize).clamp(1, ih);
                (cw, ch, cw, ch)
            }
            CropFit::CentreCrop => {
                // Integer products keep the comparison (`W/w >= H/h`) and torchvision's
                // `int(short_new * long / short)` exact.
                let (rw, rh) = if iw * h >= ih * w {
                    (iw, ((iw * h) as f64 / w as f64) as usize)
                } else {
                    (((ih * w) as f64 / h as f64) as usize, ih)
                };
                (iw, ih, rw.max(iw), rh.max(ih))
            }
        };
        let centre =
            |resized: usize, size: usize| ((resized - size) as f64 / 2.0).round_ties_even();
        Some(CropGeometry {
            region_x,
            region_y,
            region_width,
            region_height,
            left: (iw - content_width) / 2,
            top: (ih - content_height) / 2,
            content_width,
            content_height,
            input_width: iw,
            input_height: ih,
            resized_width,
            resized_height,
            offset_x: centre(resized_width, content_width) as usize,
            offset_y: centre(resized_height, content_height) as usize,
        })
    }

    /// Maps a point in model-input pixels to frame pixels (exact inverse of the sampling),
    /// for a detector run inside objects. Pixel edges map to pixel edges: the centre of
    /// output pixel `i` (`i + 0.5`) maps to `s + 0.5` of the sampling formula.
    pub fn to_frame(&self, x: f32, y: f32) -> (f64, f64) {
        (
            self.region_x as f64
                + (f64::from(x) - self.left as f64 + self.offset_x as f64)
                    * self.region_width as f64
                    / self.resized_width as f64,
            self.region_y as f64
                + (f64::from(y) - self.top as f64 + self.offset_y as f64)
                    * self.region_height as f64
                    / self.resized_height as f64,
        )
    }

    /// Maps a point in frame pixels to model-input pixels (the inverse of [`Self::to_frame`]).
    pub fn to_input(&self, x: f64, y: f64) -> (f64, f64) {
        (
            (x - self.region_x as f64) * self.resized_width as f64 / self.region_width as f64
                - self.offset_x as f64
                + self.left as f64,
            (y - self.region_y as f64) * self.resized_height as f64 / self.region_height as f64
                - self.offset_y as f64
                + self.top as f64,
        )
    }

    /// Number of `f32` values of the input tensor (`3 * H * W`).
    pub fn tensor_len(&self) -> usize {
        3 * self.input_width * self.input_height
    }

    /// Checks the fields are coherent (they are public), so sampling cannot index out of
    /// bounds.
    pub(super) fn check(&self, frame_width: usize, frame_height: usize) -> Result<(), String> {
        let ok = self.region_width > 0
            && self.region_height > 0
            && self.region_x + self.region_width <= frame_width
            && self.region_y + self.region_height <= frame_height
            && self.content_width > 0
            && self.content_height > 0
            && self.left + self.content_width <= self.input_width
            && self.top + self.content_height <= self.input_height
            && self.resized_width > 0
            && self.resized_height > 0;
        if ok {
            Ok(())
        } else {
            Err(format!(
                "crop geometry {self:?} does not fit a {frame_width}x{frame_height} frame"
            ))
        }
    }
}

#[cfg(test)]
#[path = "geometry_tests.rs"]
mod tests;
