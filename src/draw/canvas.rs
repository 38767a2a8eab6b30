//! In-place drawing primitives on a video frame's planes: filled rectangles and shapes
//! ([`Shape`]: dashed outlines, trails), alpha masks (glyphs) and pixelation, in every format
//! rsinfer reads.
//!
//! All coordinates are frame pixels; every primitive clips to the frame first, so any
//! rectangle (negative, huge, empty) is safe. In I420 and NV12 the chroma planes are
//! subsampled 2x2: a chroma sample whose 2x2 block is fully covered takes the colour's chroma,
//! a partly covered one is blended in proportion to the covered luma pixels, and one whose
//! block is not touched is left alone. So nothing outside a drawn shape changes in luma, and
//! in chroma only the samples shared with a drawn pixel.

use super::shape::Shape;
use crate::preprocess::{Colorimetry, PixelFormat};

/// A rectangle in frame pixels, half-open: `[x0, x1) x [y0, y1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl Rect {
    pub const fn new(x0: i32, y0: i32, x1: i32, y1: i32) -> Self {
        Rect { x0, y0, x1, y1 }
    }

    /// From a top-left corner and a size.
    pub fn with_size(x: i32, y: i32, w: i32, h: i32) -> Self {
        Rect::new(x, y, x.saturating_add(w), y.saturating_add(h))
    }

    pub fn is_empty(&self) -> bool {
        self.x1 <= self.x0 || self.y1 <= self.y0
    }

    pub fn width(&self) -> i32 {
        (self.x1 - self.x0).max(0)
    }

    pub fn height(&self) -> i32 {
        (self.y1 - self.y0).max(0)
    }

    pub fn intersect(&self, o: &Rect) -> Rect {
        Rect::new(
            self.x0.max(o.x0),
            self.y0.max(o.y0),
            self.x1.min(o.x1),
            self.y1.min(o.y1),
        )
    }

    pub fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }
}

/// A colour ready to be written: its RGB bytes and its Y'CbCr bytes for the frame's
/// colorimetry (computed once per colour and caps, not per pixel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    pub rgb: [u8; 3],
    pub yuv: [u8; 3],
}

impl Paint {
    /// `rgb` (sRGB-encoded bytes, as video frames carry them) for frames of `colorimetry`.
    pub fn new(rgb: [u8; 3], colorimetry: Colorimetry) -> Self {
        let (kr, kb) = colorimetry.matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let [r, g, b] = rgb.map(|c| f32::from(c) / 255.0);
        let y = kr * r + kg * g + kb * b;
        let cb = (b - y) / (2.0 * (1.0 - kb));
        let cr = (r - y) / (2.0 * (1.0 - kr));
        let (ys, yo, cs) = if colorimetry.full_range {
            (255.0, 0.0, 255.0)
        } else {
            (219.0, 16.0, 224.0)
        };
        let q = |v: f32| v.round().clamp(0.0, 255.0) as u8;
        Paint {
            rgb,
            yuv: [q(y * ys + yo), q(cb * cs + 128.0), q(cr * cs + 128.0)],
        }
    }
}

/// `(orig * (den - num) + new * num) / den`, rounded.
#[inline(always)]
fn mix(orig: u8, new: u8, num: u32, den: u32) -> u8 {
    ((u32::from(orig) * (den - num) + u32::from(new) * num + den / 2) / den) as u8
}

/// A frame's planes, borrowed mutably for drawing.
pub struct Canvas<'a> {
    format: PixelFormat,
    width: i32,
    height: i32,
    planes: [&'a mut [u8]; 3],
    strides: [usize; 3],
}

impl<'a> Canvas<'a> {
    /// Wraps the planes of a `width` x `height` frame. I420 needs 3 planes (Y, U, V), NV12 2
    /// (Y, UV), packed RGB formats 1; extra planes are ignored. Fails when a plane is too
    /// small for the size and stride, so drawing never needs per-pixel bounds checks.
    pub fn new(
        format: PixelFormat,
        width: u32,
        height: u32,
        planes: Vec<&'a mut [u8]>,
        strides: &[usize],
    ) -> Result<Self, String> {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        // (row bytes, rows) each plane needs.
        let needs: Vec<(usize, usize)> = match format {
            PixelFormat::I420 => vec![(w, h), (cw, ch), (cw, ch)],
            PixelFormat::Nv12 => vec![(w, h), (cw * 2, ch)],
            other => vec![(w * other.packed().expect("packed").0, h)],
        };
        if planes.len() < needs.len() || strides.len() < needs.len() {
            return Err(format!(
                "{format:?} needs {} planes, got {}",
                needs.len(),
                planes.len().min(strides.len())
            ));
        }
        if width > i32::MAX as u32 / 4 || height > i32::MAX as u32 / 4 {
            return Err(format!("frame size {width}x{height} too large"));
        }
        let mut it = planes.into_iter();
        let mut out: [&'a mut [u8]; 3] = [&mut [], &mut [], &mut []];
        let mut out_strides = [0usize; 3];
        for (i, &(row, rows)) in needs.iter().enumerate() {
            let plane = it.next().expect("counted above");
            let stride = strides[i];
            if rows > 0 && (stride < row || plane.len() < stride * (rows - 1) + row) {
                return Err(format!(
                    "plane {i} of a {width}x{height} {format:?} frame is too small \
                     ({} bytes, stride {stride})",
                    plane.len()
                ));
            }
            out[i] = plane;
            out_strides[i] = stride;
        }
        Ok(Canvas {
            format,
            width: width as i32,
            height: height as i32,
            planes: out,
            strides: out_strides,
        })
    }

    pub fn width(&self) -> i32 {
        self.width
    }

    pub fn height(&self) -> i32 {
        self.height
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    fn bounds(&self) -> Rect {
        Rect::new(0, 0, self.width, self.height)
    }

    /// Fills `rect` (clipped to the frame) with `paint`.
    pub fn fill_rect(&mut self, rect: Rect, paint: Paint) {
        let r = rect.intersect(&self.bounds());
        if r.is_empty() {
            return;
        }
        let (x0, x1) = (r.x0 as usize, r.x1 as usize);
        match self.format {
            PixelFormat::I420 | PixelFormat::Nv12 => {
                let stride = self.strides[0];
                for y in r.y0 as usize..r.y1 as usize {
                    self.planes[0][y * stride + x0..y * stride + x1].fill(paint.yuv[0]);
                }
                self.chroma_rect(r, |_, _| None, paint);
            }
            _ => self.fill_packed(r, paint),
        }
    }

    /// Fills the (clipped, non-empty) rectangle `r` of a packed RGB frame with `paint`.
    fn fill_packed(&mut self, r: Rect, paint: Paint) {
        let (x0, x1) = (r.x0 as usize, r.x1 as usize);
        let (bpp, [ro, go, bo]) = self.format.packed().expect("packed");
        let alpha = matches!(self.format, PixelFormat::Rgba | PixelFormat::Bgra);
        let mut px = [0u8; 4];
        px[ro] = paint.rgb[0];
        px[go] = paint.rgb[1];
        px[bo] = paint.rgb[2];
        if bpp == 4 {
            // The 4th byte: opaque alpha (RGBx/BGRx keep their padding byte below).
            px[6 - ro - go - bo] = 255;
        }
        let stride = self.strides[0];
        for y in r.y0 as usize..r.y1 as usize {
            let row = &mut self.planes[0][y * stride + x0 * bpp..y * stride + x1 * bpp];
            match bpp {
                // Fixed-size copies: one store per pixel.
                4 if alpha => {
                    for p in row.chunks_exact_mut(4) {
                        p.copy_from_slice(&px);
                    }
                }
                4 => {
                    // RGBx/BGRx: leave the padding byte as it was.
                    let ao = 6 - ro - go - bo;
                    for p in row.chunks_exact_mut(4) {
                        let pad = p[ao];
                        p.copy_from_slice(&px);
                        p[ao] = pad;
                    }
                }
                _ => {
                    let px3 = [px[0], px[1], px[2]];
                    for p in row.chunks_exact_mut(3) {
                        p.copy_from_slice(&px3);
                    }
                }
            }
        }
    }

    /// Fills `shape` (clipped to the frame) with `paint`, every pixel once. In I420/NV12 a
    /// chroma sample is blended by the fraction of its 2x2 block the whole shape covers.
    pub fn fill_shape(&mut self, shape: &Shape, paint: Paint) {
        self.blend_shape(shape, paint, 255);
    }

    /// Blends `paint` over `shape` (clipped to the frame) at opacity `alpha / 255`, every
    /// pixel once (255: [`fill_shape`](Self::fill_shape)). In I420/NV12 a chroma sample is
    /// blended by `alpha` times the fraction of its 2x2 block the shape covers.
    pub fn blend_shape(&mut self, shape: &Shape, paint: Paint, alpha: u8) {
        if alpha == 0 {
            return;
        }
        let a = u32::from(alpha);
        let bounds = self.bounds();
        let spans: Vec<Rect> = shape
            .spans()
            .iter()
            .map(|s| Rect::new(s.x0, s.y, s.x1, s.y + 1).intersect(&bounds))
            .filter(|r| !r.is_empty())
            .collect();
        if !matches!(self.format, PixelFormat::I420 | PixelFormat::Nv12) {
            for r in spans {
                if alpha == 255 {
                    self.fill_packed(r, paint);
                } else {
                    self.blend_packed(r, paint, a);
                }
            }
            return;
        }
        let stride = self.strides[0];
        for r in &spans {
            let start = r.y0 as usize * stride;
            let row = &mut self.planes[0][start + r.x0 as usize..start + r.x1 as usize];
            if alpha == 255 {
                row.fill(paint.yuv[0]);
            } else {
                row.iter_mut()
                    .for_each(|p| *p = mix(*p, paint.yuv[0], a, 255));
            }
        }
        // Chroma, one chroma row (two luma rows of spans, sorted by row) at a time: add up
        // each block's covered pixels, then blend once.
        let (w, h) = (self.width, self.height);
        let mut covered: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < spans.len() {
            let cy = spans[i].y0 / 2;
            let n = spans[i..].iter().take_while(|r| r.y0 / 2 == cy).count();
            let row = &spans[i..i + n];
            i += n;
            let first = row.iter().map(|r| r.x0 / 2).min().unwrap_or(0);
            let last = row.iter().map(|r| (r.x1 + 1) / 2).max().unwrap_or(0);
            covered.clear();
            covered.resize((last - first).max(0) as usize, 0);
            for r in row {
                for cx in r.x0 / 2..(r.x1 + 1) / 2 {
                    let n = r.x1.min(cx * 2 + 2) - r.x0.max(cx * 2);
                    covered[(cx - first) as usize] += n as u32;
                }
            }
            let bh = 2.min(h - cy * 2);
            for (k, &num) in covered.iter().enumerate() {
                if num == 0 {
                    continue;
                }
                let cx = first + k as i32;
                let bw = 2.min(w - cx * 2);
                let den = (bw * bh) as u32 * 255;
                self.blend_chroma(cx as usize, cy as usize, num * a, den, paint);
            }
        }
    }

    /// Blends `paint` at opacity `a / 255` over the (clipped, non-empty) rectangle `r` of a
    /// packed RGB frame (RGBA/BGRA alpha goes towards opaque by the same amount).
    fn blend_packed(&mut self, r: Rect, paint: Paint, a: u32) {
        let (x0, x1) = (r.x0 as usize, r.x1 as usize);
        let (bpp, [ro, go, bo]) = self.format.packed().expect("packed");
        let alpha = matches!(self.format, PixelFormat::Rgba | PixelFormat::Bgra);
        let ao = 6 - ro - go - bo;
        let stride = self.strides[0];
        for y in r.y0 as usize..r.y1 as usize {
            let row = &mut self.planes[0][y * stride + x0 * bpp..y * stride + x1 * bpp];
            for p in row.chunks_exact_mut(bpp) {
                p[ro] = mix(p[ro], paint.rgb[0], a, 255);
                p[go] = mix(p[go], paint.rgb[1], a, 255);
                p[bo] = mix(p[bo], paint.rgb[2], a, 255);
                if alpha {
                    p[ao] = mix(p[ao], 255, a, 255);
                }
            }
        }
    }

    /// Sets chroma sample `(cx, cy)` to `paint`'s chroma when `num >= den`, else blends it by
    /// `num / den`.
    #[inline(always)]
    fn blend_chroma(&mut self, cx: usize, cy: usize, num: u32, den: u32, paint: Paint) {
        let (cu, cv) = (paint.yuv[1], paint.yuv[2]);
        match self.format {
            PixelFormat::I420 => {
                let i = cy * self.strides[1] + cx;
                let j = cy * self.strides[2] + cx;
                if num >= den {
                    self.planes[1][i] = cu;
                    self.planes[2][j] = cv;
                } else {
                    self.planes[1][i] = mix(self.planes[1][i], cu, num, den);
                    self.planes[2][j] = mix(self.planes[2][j], cv, num, den);
                }
            }
            _ => {
                let i = cy * self.strides[1] + cx * 2;
                let uv = &mut self.planes[1][i..i + 2];
                if num >= den {
                    uv[0] = cu;
                    uv[1] = cv;
                } else {
                    uv[0] = mix(uv[0], cu, num, den);
                    uv[1] = mix(uv[1], cv, num, den);
                }
            }
        }
    }

    /// Writes the chroma of `paint` over the (clipped, non-empty) luma rectangle `r`. A chroma
    /// sample takes `paint` where its 2x2 block is fully covered and is blended by the covered
    /// fraction elsewhere. `coverage(cx, cy)` may return `Some((num, den))` to override the
    /// covered fraction (used by masks).
    fn chroma_rect(
        &mut self,
        r: Rect,
        coverage: impl Fn(usize, usize) -> Option<(u32, u32)>,
        paint: Paint,
    ) {
        let (w, h) = (self.width, self.height);
        for cy in (r.y0 / 2) as usize..((r.y1 + 1) / 2) as usize {
            let by0 = (cy * 2) as i32;
            let bh = 2.min(h - by0);
            let covy = r.y1.min(by0 + 2) - r.y0.max(by0);
            for cx in (r.x0 / 2) as usize..((r.x1 + 1) / 2) as usize {
                let (num, den) = match coverage(cx, cy) {
                    Some(c) => c,
                    None => {
                        let bx0 = (cx * 2) as i32;
                        let bw = 2.min(w - bx0);
                        let covx = r.x1.min(bx0 + 2) - r.x0.max(bx0);
                        ((covx * covy) as u32, (bw * bh) as u32)
                    }
                };
                if num == 0 {
                    continue;
                }
                self.blend_chroma(cx, cy, num, den, paint);
            }
        }
    }

    /// Blends `paint` through an 8-bit coverage `mask` (`mask_w` x `mask_h`, row-major, 255 =
    /// opaque) whose top-left corner is at `(x, y)`; the parts outside the frame are clipped.
    pub fn blend_mask(
        &mut self,
        x: i32,
        y: i32,
        mask: &[u8],
        mask_w: usize,
        mask_h: usize,
        paint: Paint,
    ) {
        if mask.len() < mask_w * mask_h || mask_w == 0 || mask_h == 0 {
            return;
        }
        let full = Rect::with_size(x, y, mask_w as i32, mask_h as i32);
        let r = full.intersect(&self.bounds());
        if r.is_empty() {
            return;
        }
        let at = |px: i32, py: i32| -> u32 {
            if full.contains(px, py) {
                u32::from(mask[(py - y) as usize * mask_w + (px - x) as usize])
            } else {
                0
            }
        };
        // The mask row of frame row `py`, from frame column `r.x0` to `r.x1` (both clipped).
        let mask_row = |py: i32| -> &[u8] {
            let start = (py - y) as usize * mask_w + (r.x0 - x) as usize;
            &mask[start..start + (r.x1 - r.x0) as usize]
        };
        match self.format {
            PixelFormat::I420 | PixelFormat::Nv12 => {
                let stride = self.strides[0];
                for py in r.y0..r.y1 {
                    let start = py as usize * stride + r.x0 as usize;
                    let row = &mut self.planes[0][start..start + (r.x1 - r.x0) as usize];
                    for (p, &a) in row.iter_mut().zip(mask_row(py)) {
                        if a != 0 {
                            *p = mix(*p, paint.yuv[0], u32::from(a), 255);
                        }
                    }
                }
                let (w, h) = (self.width, self.height);
                self.chroma_rect(
                    r,
                    |cx, cy| {
                        let (bx0, by0) = (cx as i32 * 2, cy as i32 * 2);
                        let mut sum = 0;
                        let mut n = 0;
                        for py in by0..(by0 + 2).min(h) {
                            for px in bx0..(bx0 + 2).min(w) {
                                sum += at(px, py);
                                n += 1;
                            }
                        }
                        Some((sum, n * 255))
                    },
                    paint,
                );
            }
            format => {
                let (bpp, [ro, go, bo]) = format.packed().expect("packed");
                let alpha = matches!(format, PixelFormat::Rgba | PixelFormat::Bgra);
                let ao = 6 - ro - go - bo;
                let stride = self.strides[0];
                for py in r.y0..r.y1 {
                    let start = py as usize * stride + r.x0 as usize * bpp;
                    let row = &mut self.planes[0][start..start + (r.x1 - r.x0) as usize * bpp];
                    for (p, &a) in row.chunks_exact_mut(bpp).zip(mask_row(py)) {
                        if a == 0 {
                            continue;
                        }
                        let a = u32::from(a);
                        p[ro] = mix(p[ro], paint.rgb[0], a, 255);
                        p[go] = mix(p[go], paint.rgb[1], a, 255);
                        p[bo] = mix(p[bo], paint.rgb[2], a, 255);
                        if alpha {
                            p[ao] = mix(p[ao], 255, a, 255);
                        }
                    }
                }
            }
        }
    }

    /// Pixelates `rect` (clipped to the frame): every `block` x `block` cell, aligned on the
    /// rectangle's top-left corner, takes its mean value. Chroma is pixelated over the chroma
    /// samples whose blocks lie inside the rectangle, with cells of `block / 2`.
    pub fn pixelate(&mut self, rect: Rect, block: u32) {
        let r = rect.intersect(&self.bounds());
        if r.is_empty() || block < 2 {
            return;
        }
        let block = block as usize;
        let (x0, y0, x1, y1) = (r.x0 as usize, r.y0 as usize, r.x1 as usize, r.y1 as usize);
        match self.format {
            PixelFormat::I420 | PixelFormat::Nv12 => {
                pixelate_plane(
                    self.planes[0],
                    self.strides[0],
                    1,
                    0,
                    (x0, y0, x1, y1),
                    block,
                );
                let c = (x0.div_ceil(2), y0.div_ceil(2), x1 / 2, y1 / 2);
                if c.2 > c.0 && c.3 > c.1 {
                    let cb = (block / 2).max(1);
                    if self.format == PixelFormat::I420 {
                        pixelate_plane(self.planes[1], self.strides[1], 1, 0, c, cb);
                        pixelate_plane(self.planes[2], self.strides[2], 1, 0, c, cb);
                    } else {
                        pixelate_plane(self.planes[1], self.strides[1], 2, 0, c, cb);
                        pixelate_plane(self.planes[1], self.strides[1], 2, 1, c, cb);
                    }
                }
            }
            format => {
                let (bpp, offsets) = format.packed().expect("packed");
                for off in offsets {
                    pixelate_plane(
                        self.planes[0],
                        self.strides[0],
                        bpp,
                        off,
                        (x0, y0, x1, y1),
                        block,
                    );
                }
            }
        }
    }
}

/// Pixelates one component (`step` bytes apart, at byte `offset` in each pixel) of a plane
/// over the sample rectangle `(x0, y0, x1, y1)` in cells of `block` samples.
fn pixelate_plane(
    plane: &mut [u8],
    stride: usize,
    step: usize,
    offset: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    block: usize,
) {
    let mut by = y0;
    while by < y1 {
        let bh = block.min(y1 - by);
        let mut bx = x0;
        while bx < x1 {
            let bw = block.min(x1 - bx);
            let mut sum = 0u32;
            for y in by..by + bh {
                let row = &plane[y * stride..];
                for x in bx..bx + bw {
                    sum += u32::from(row[x * step + offset]);
                }
            }
            let n = (bw * bh) as u32;
            let mean = ((sum + n / 2) / n) as u8;
            for y in by..by + bh {
                let row = &mut plane[y * stride..];
                for x in bx..bx + bw {
                    row[x * step + offset] = mean;
                }
            }
            bx += bw;
        }
        by += bh;
    }
}
