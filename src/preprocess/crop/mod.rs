//! Object crops to model input: one detected box, cut from the original full-resolution
//! frame in the frame's own pixel format, resized straight into a planar RGB `f32` tensor
//! (a secondary classifier run on each object). No RGB copy of the frame is made and there
//! is no second scaling pass.
//!
//! Pure Rust, no GStreamer types. What is computed, exactly:
//!
//! 1. **Region** ([`CropGeometry::new`]): the box is grown by `padding` times its width on
//!    the left and on the right and by `padding` times its height above and below, rounded
//!    outwards (floor of the left/top edge, ceil of the right/bottom edge) and clipped to the
//!    frame. This integer rectangle is the only part of the frame that is read.
//! 2. **RGB image of the region**: region pixel `(x, y)` is frame pixel
//!    `(fx, fy) = (region_x + x, region_y + y)`. Packed formats give R, G and B directly.
//!    For I420 and NV12 the pixel's luma is combined with chroma sampled bilinearly in the
//!    frame's chroma plane at `((fx + 0.5) / 2 - 0.5, (fy + 0.5) / 2 - 0.5)` (centre siting),
//!    that position clamped to the chroma plane: the chroma is the frame's, so at the
//!    region's border it may blend chroma samples just outside the region. The YUV to RGB
//!    formulas, matrices and ranges are the parent module's, each pixel clamped to 0..255.
//! 3. **Resize** of that image with OpenCV `INTER_LINEAR` semantics: output pixel `i` reads
//!    the region at `s = (i + offset + 0.5) * region_size / resized_size - 0.5`, clamped to
//!    `[0, region_size - 1]` (the region's edge pixels repeat; no luma or RGB pixel outside
//!    the region is read), bilinear between `floor(s)` and the next pixel, rows and columns
//!    alike. The resized size and offset depend on the [`CropFit`]: for
//!    [`CropFit::CentreCrop`] the region is resized to `resized_width x resized_height` and
//!    the centre `input_width x input_height` of it taken (`offset_x`, `offset_y`); for
//!    [`CropFit::Letterbox`] it is resized to the content size and placed at `left, top`,
//!    the rest padded; for [`CropFit::Stretch`] it is resized to the input size.
//!    [`CropGeometry::to_frame`] is the exact inverse of this mapping.
//! 4. **Normalisation**: `(v / 255 - mean[c]) / std[c]`, also for the padding value.
//!
//! How: the resize is separable. Each region row an output row needs is converted once, to
//! normalised RGB (normalising before the resize is the same, the resize being affine), over
//! the span of columns the horizontal taps read; it is resampled horizontally into a
//! two-row cache, and rows are blended vertically into the tensor. For YUV, a row's chroma
//! is blended vertically and turned into its R, G and B contributions at chroma resolution,
//! then upsampled to luma columns with the fixed centre-sited weights (`1/4, 3/4` of the
//! previous and nearest sample for even columns, `3/4, 1/4` of the nearest and next for odd
//! ones; the frame's edge samples repeat, which is the clamp above) and added to the luma:
//! the same as converting the interpolated chroma, the conversion being linear before the
//! clamp. The scratch buffers live in the [`CropConverter`]; once they have grown to the
//! largest crop seen, a crop allocates nothing.

mod geometry;

pub use geometry::{CropFit, CropGeometry, CropRect};

use super::{Colorimetry, FrameData, PixelFormat, Tap, YuvCoefficients};

/// Taps of `n_out` output samples starting `offset` samples into a resize of `n_in` input
/// samples to `resized`, with half-pixel centres, clamped to the input.
fn build_taps(out: &mut Vec<Tap>, n_out: usize, offset: usize, n_in: usize, resized: usize) {
    let scale = n_in as f64 / resized as f64;
    let last = n_in.saturating_sub(1) as f64;
    out.clear();
    out.extend((0..n_out).map(|j| {
        let s = (((j + offset) as f64 + 0.5) * scale - 0.5).clamp(0.0, last);
        let i0 = s.floor();
        Tap {
            i0: i0 as u32,
            i1: (i0 + 1.0).min(last) as u32,
            w: (s - i0) as f32,
        }
    }));
}

/// Where a format's samples are.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// Bytes per pixel and byte offsets of R, G, B.
    Packed { step: usize, rgb: [usize; 3] },
    /// Planar luma, chroma in two planes (`nv12`: interleaved U, V in plane 1; else U in
    /// plane 1 and V in plane 2).
    Yuv { nv12: bool, k: YuvCoefficients },
}

/// Columns one crop converts: frame luma columns `first..=last`, and for YUV the chroma
/// samples `chroma_first..=chroma_last` with one sample more on each side.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    first: usize,
    last: usize,
    /// `first / 2`, `last / 2`.
    chroma_first: usize,
    chroma_last: usize,
}

/// Converts crops of frames of one format and size (reusable scratch buffers; a crop
/// allocates nothing once warm).
#[derive(Debug)]
pub struct CropConverter {
    frame_width: usize,
    frame_height: usize,
    layout: Layout,
    /// Per output column, taps into the span (`span.first` is 0).
    xs: Vec<Tap>,
    /// Per output row, taps into region rows.
    ys: Vec<Tap>,
    span: Span,
    /// YUV: R, G, B contributions of chroma samples `chroma_first - 1..=chroma_last + 1`
    /// (edge samples repeated) in one row.
    chroma: [Vec<f32>; 3],
    /// YUV: the contributions upsampled to luma columns `2 * chroma_first..=2 *
    /// chroma_last + 1`.
    upsampled: [Vec<f32>; 3],
    /// R, G, B of the span in one region row, normalised, and the differences to the next
    /// column (0 after the last).
    src: [Vec<f32>; 3],
    diff: [Vec<f32>; 3],
    /// Two horizontally resampled region rows, R, G, B each, and which rows they are.
    rows: [[Vec<f32>; 3]; 2],
    row_index: [Option<u32>; 2],
}

impl CropConverter {
    /// A converter for crops of `format` frames of `frame_width` x `frame_height`;
    /// `colorimetry` describes YUV frames.
    pub fn new(
        format: PixelFormat,
        frame_width: usize,
        frame_height: usize,
        colorimetry: Colorimetry,
    ) -> CropConverter {
        let layout = match format.packed() {
            Some((step, rgb)) => Layout::Packed { step, rgb },
            None => Layout::Yuv {
                nv12: format == PixelFormat::Nv12,
                k: YuvCoefficients::new(colorimetry.matrix, colorimetry.full_range),
            },
        };
        CropConverter {
            frame_width,
            frame_height,
            layout,
            xs: Vec::new(),
            ys: Vec::new(),
            span: Span::default(),
            chroma: Default::default(),
            upsampled: Default::default(),
            src: Default::default(),
            diff: Default::default(),
            rows: Default::default(),
            row_index: [None, None],
        }
    }

    /// Checks that every plane holds the whole frame.
    fn check_planes(&self, frame: &FrameData<'_>) -> Result<(), String> {
        let (fw, fh) = (self.frame_width, self.frame_height);
        let (cw, ch) = (fw.div_ceil(2), fh.div_ceil(2));
        // (plane, rows, bytes per row)
        let needs: &[(usize, usize, usize)] = match self.layout {
            Layout::Packed { step, .. } => &[(0, fh, fw * step)],
            Layout::Yuv { nv12: true, .. } => &[(0, fh, fw), (1, ch, 2 * cw)],
            Layout::Yuv { nv12: false, .. } => &[(0, fh, fw), (1, ch, cw), (2, ch, cw)],
        };
        for &(p, rows, bytes) in needs {
            let plane = frame
                .planes
                .get(p)
                .ok_or_else(|| format!("missing plane {p}"))?;
            let stride = *frame
                .strides
                .get(p)
                .ok_or_else(|| format!("missing stride {p}"))?;
            let need = rows.saturating_sub(1) * stride + bytes;
            if stride < bytes || plane.len() < need {
                return Err(format!(
                    "plane {p} holds {} bytes with stride {stride}, {need} needed ({bytes} per row)",
                    plane.len()
                ));
            }
        }
        Ok(())
    }

    /// Writes one crop into `tensor` (planar RGB `[3, H, W]`, `3 * input_width *
    /// input_height` values): value = `(sample / 255 - mean[c]) / std[c]`; the padding area
    /// (Letterbox) = `(pad / 255 - mean[c]) / std[c]`. Errors if the planes are too small
    /// for the frame size, the geometry does not fit the frame or the tensor is too short.
    pub fn convert(
        &mut self,
        frame: &FrameData<'_>,
        geometry: &CropGeometry,
        pad: u8,
        mean: [f32; 3],
        std: [f32; 3],
        tensor: &mut [f32],
    ) -> Result<(), String> {
        let g = *geometry;
        g.check(self.frame_width, self.frame_height)?;
        if tensor.len() < g.tensor_len() {
            return Err(format!(
                "tensor holds {} values, needs {}",
                tensor.len(),
                g.tensor_len()
            ));
        }
        self.check_planes(frame)?;
        self.prepare(&g);

        let scale: [f32; 3] = std::array::from_fn(|c| 1.0 / (255.0 * std[c]));
        let bias: [f32; 3] = std::array::from_fn(|c| -mean[c] / std[c]);
        let plane = g.input_width * g.input_height;
        let tensor = &mut tensor[..3 * plane];
        fill_padding(
            tensor,
            &g,
            std::array::from_fn(|c| f32::from(pad) * scale[c] + bias[c]),
        );

        for j in 0..g.content_height {
            let t = self.ys[j];
            // Advancing by one region row: the old second row becomes the first.
            if self.row_index[0] != Some(t.i0) && self.row_index[1] == Some(t.i0) {
                self.rows.swap(0, 1);
                self.row_index.swap(0, 1);
            }
            for (slot, idx) in [t.i0, t.i1].into_iter().enumerate() {
                if self.row_index[slot] != Some(idx) {
                    self.load_row(frame, g.region_y + idx as usize, scale, bias);
                    hpass(&self.src, &self.diff, &self.xs, &mut self.rows[slot]);
                    self.row_index[slot] = Some(idx);
                }
            }
            let start = (g.top + j) * g.input_width + g.left;
            for c in 0..3 {
                let out = &mut tensor[c * plane + start..][..g.content_width];
                let (a, b) = (&self.rows[0][c], &self.rows[1][c]);
                let w = t.w;
                for ((v, &a), &b) in out.iter_mut().zip(a).zip(b) {
                    *v = a + (b - a) * w;
                }
            }
        }
        Ok(())
    }

    /// Builds the taps and the span of one crop and sizes the scratch buffers.
    fn prepare(&mut self, g: &CropGeometry) {
        build_taps(
            &mut self.xs,
            g.content_width,
            g.offset_x,
            g.region_width,
            g.resized_width,
        );
        build_taps(
            &mut self.ys,
            g.content_height,
            g.offset_y,
            g.region_height,
            g.resized_height,
        );
        // Taps ascend: the span runs from the first tap's first sample to the last one's
        // second.
        let first = self.xs.first().map_or(0, |t| t.i0);
        let last = self.xs.last().map_or(0, |t| t.i1);
        for t in &mut self.xs {
            t.i0 -= first;
            t.i1 -= first;
        }
        let (first, last) = (g.region_x + first as usize, g.region_x + last as usize);
        self.span = Span {
            first,
            last,
            chroma_first: first / 2,
            chroma_last: last / 2,
        };
        let n = last - first + 1;
        let nc = last / 2 - first / 2 + 1;
        for v in self.src.iter_mut().chain(&mut self.diff) {
            v.resize(n, 0.0);
        }
        if let Layout::Yuv { .. } = self.layout {
            for v in &mut self.chroma {
                v.resize(nc + 2, 0.0);
            }
            for v in &mut self.upsampled {
                v.resize(2 * nc, 0.0);
            }
        }
        for row in self.rows.iter_mut().flatten() {
            row.resize(g.content_width, 0.0);
        }
        self.row_index = [None, None];
    }

    /// R, G, B of the span of frame row `fy` into `src`, normalised (`v * scale + bias`, `v`
    /// in 0..255: normalising before the resize is the same, the resize being affine). The
    /// planes were checked to hold the whole frame.
    fn load_row(&mut self, frame: &FrameData<'_>, fy: usize, scale: [f32; 3], bias: [f32; 3]) {
        let row = |p: usize, y: usize| &frame.planes[p][y * frame.strides[p]..];
        let span = self.span;
        let n = span.last - span.first + 1;
        let [r, g, b] = &mut self.src;
        let (r, g, b) = (&mut r[..n], &mut g[..n], &mut b[..n]);
        match self.layout {
            Layout::Packed { step, rgb } => {
                let line = &row(0, fy)[span.first * step..][..n * step];
                for (i, px) in line.chunks_exact(step).enumerate() {
                    r[i] = f32::from(px[rgb[0]]) * scale[0] + bias[0];
                    g[i] = f32::from(px[rgb[1]]) * scale[1] + bias[1];
                    b[i] = f32::from(px[rgb[2]]) * scale[2] + bias[2];
                }
            }
            Layout::Yuv { nv12, k } => {
                // Chroma rows and weight for this luma row.
                let chroma_width = self.frame_width.div_ceil(2);
                let last_row = self.frame_height.div_ceil(2).saturating_sub(1);
                let (cy0, cy1, wy) = chroma_tap(fy, last_row as f64);
                // Chroma samples of the span with their neighbours, clipped to the frame.
                let lo = span.chroma_first.saturating_sub(1);
                let hi = (span.chroma_last + 1).min(chroma_width - 1);
                let m = hi - lo + 1;
                // Index in `chroma` of sample `lo` (`chroma[0]` is `chroma_first - 1`).
                let at = lo + 1 - span.chroma_first;
                let [pr, pg, pb] = &mut self.chroma;
                let (pr, pg, pb) = (
                    &mut pr[at..at + m],
                    &mut pg[at..at + m],
                    &mut pb[at..at + m],
                );
                let lerp = |p: u8, q: u8| {
                    let p = f32::from(p);
                    p + (f32::from(q) - p) * wy
                };
                let mut put = |i: usize, u: f32, v: f32| {
                    let (u, v) = ((u - 128.0) * k.c_scale, (v - 128.0) * k.c_scale);
                    pr[i] = k.cr_r * v;
                    pg[i] = k.cb_g * u + k.cr_g * v;
                    pb[i] = k.cb_b * u;
                };
                if nv12 {
                    let uv0 = &row(1, cy0)[2 * lo..][..2 * m];
                    let uv1 = &row(1, cy1)[2 * lo..][..2 * m];
                    for (i, (p, q)) in uv0.chunks_exact(2).zip(uv1.chunks_exact(2)).enumerate() {
                        put(i, lerp(p[0], q[0]), lerp(p[1], q[1]));
                    }
                } else {
                    let (u0, u1) = (&row(1, cy0)[lo..][..m], &row(1, cy1)[lo..][..m]);
                    let (v0, v1) = (&row(2, cy0)[lo..][..m], &row(2, cy1)[lo..][..m]);
                    for i in 0..m {
                        put(i, lerp(u0[i], u1[i]), lerp(v0[i], v1[i]));
                    }
                }
                // The frame's edge samples repeat beyond it.
                let nc = span.chroma_last - span.chroma_first + 1;
                for c in &mut self.chroma {
                    if at == 1 {
                        c[0] = c[1];
                    }
                    if at + m == nc + 1 {
                        c[nc + 1] = c[nc];
                    }
                }
                // Luma column 2j + 1 of the pair: 3/4 of sample j, 1/4 of j + 1; 2j: 1/4 of
                // j - 1, 3/4 of j.
                for (p, f) in self.chroma.iter().zip(&mut self.upsampled) {
                    let (prev, here, next) = (&p[..nc], &p[1..nc + 1], &p[2..nc + 2]);
                    let pairs = f[..2 * nc].chunks_exact_mut(2);
                    for (((pair, &a), &b), &c) in pairs.zip(prev).zip(here).zip(next) {
                        pair[0] = 0.25 * a + 0.75 * b;
                        pair[1] = 0.75 * b + 0.25 * c;
                    }
                }
                let skip = span.first - 2 * span.chroma_first;
                let [fr, fg, fb] = &self.upsampled;
                let (fr, fg, fb) = (&fr[skip..][..n], &fg[skip..][..n], &fb[skip..][..n]);
                let luma = &row(0, fy)[span.first..][..n];
                for i in 0..n {
                    let y = (f32::from(luma[i]) - k.y_offset) * k.y_scale;
                    r[i] = (y + fr[i]).clamp(0.0, 255.0) * scale[0] + bias[0];
                    g[i] = (y + fg[i]).clamp(0.0, 255.0) * scale[1] + bias[1];
                    b[i] = (y + fb[i]).clamp(0.0, 255.0) * scale[2] + bias[2];
                }
            }
        }
        for (s, d) in self.src.iter().zip(&mut self.diff) {
            let (s, d) = (&s[..n], &mut d[..n]);
            for ((d, &a), &b) in d.iter_mut().zip(s).zip(&s[1..]) {
                *d = b - a;
            }
            d[n - 1] = 0.0;
        }
    }
}

/// The chroma samples (indices) and weight of the second for luma sample `l`: position
/// `(l + 0.5) / 2 - 0.5` clamped to `[0, last]`.
fn chroma_tap(l: usize, last: f64) -> (usize, usize, f32) {
    let s = ((l as f64 + 0.5) / 2.0 - 0.5).clamp(0.0, last);
    let i0 = s.floor();
    (i0 as usize, (i0 + 1.0).min(last) as usize, (s - i0) as f32)
}

/// Fills the input outside the content rectangle with `value[c]`.
fn fill_padding(tensor: &mut [f32], g: &CropGeometry, value: [f32; 3]) {
    if g.content_width == g.input_width && g.content_height == g.input_height {
        return;
    }
    let plane = g.input_width * g.input_height;
    for (c, p) in tensor.chunks_exact_mut(plane).enumerate() {
        for (y, row) in p.chunks_exact_mut(g.input_width).enumerate() {
            if y < g.top || y >= g.top + g.content_height {
                row.fill(value[c]);
            } else {
                row[..g.left].fill(value[c]);
                row[g.left + g.content_width..].fill(value[c]);
            }
        }
    }
}

/// Horizontally resamples one converted row (R, G, B of the span and their differences to
/// the next column, indexed by the taps) into `out`, the three channels in one pass. A tap's
/// second sample is always the next column or has weight 0, so `a + (b - a) * w` is
/// `a + diff * w`.
#[inline]
fn hpass(src: &[Vec<f32>; 3], diff: &[Vec<f32>; 3], xs: &[Tap], out: &mut [Vec<f32>; 3]) {
    // Equal lengths let one bounds check per tap cover the six rows.
    let n = src[0].len();
    let (sr, sg, sb) = (&src[0][..n], &src[1][..n], &src[2][..n]);
    let (dr, dg, db) = (&diff[0][..n], &diff[1][..n], &diff[2][..n]);
    let [or, og, ob] = out;
    let m = xs.len();
    let (or, og, ob) = (&mut or[..m], &mut og[..m], &mut ob[..m]);
    for (k, t) in xs.iter().enumerate() {
        let (i, w) = (t.i0 as usize, t.w);
        or[k] = sr[i] + dr[i] * w;
        og[k] = sg[i] + dg[i] * w;
        ob[k] = sb[i] + db[i] * w;
    }
}

#[cfg(test)]
mod tests;
