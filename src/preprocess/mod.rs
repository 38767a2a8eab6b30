//! Frame to model-input conversion: colour conversion, letterbox (or stretch) resize and
//! normalisation into a planar RGB `f32` tensor, in one pass over the frame.
//!
//! Pure Rust, no GStreamer types. The geometry ([`Letterbox`]) follows Ultralytics: scale
//! `r = min(W/w, H/h)`, content `round(w*r) x round(h*r)`, centred with the odd pixel of
//! padding on the right/bottom, padding value 114. Resampling is bilinear with half-pixel
//! centres (as OpenCV's `INTER_LINEAR`), done separably: each needed source row is
//! resampled horizontally once, then rows are blended vertically. Lookup tables are built
//! once per caps; a frame allocates nothing.

pub mod crop;

/// Pixel formats the converter reads (the input formats of rsinfer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    I420,
    Nv12,
    Rgb,
    Bgr,
    Rgba,
    Bgra,
    Rgbx,
    Bgrx,
}

impl PixelFormat {
    /// For packed formats: bytes per pixel and the byte offsets of R, G and B.
    pub fn packed(self) -> Option<(usize, [usize; 3])> {
        match self {
            PixelFormat::Rgb => Some((3, [0, 1, 2])),
            PixelFormat::Bgr => Some((3, [2, 1, 0])),
            PixelFormat::Rgba | PixelFormat::Rgbx => Some((4, [0, 1, 2])),
            PixelFormat::Bgra | PixelFormat::Bgrx => Some((4, [2, 1, 0])),
            PixelFormat::I420 | PixelFormat::Nv12 => None,
        }
    }
}

/// YUV to RGB matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum YuvMatrix {
    #[default]
    Bt601,
    Bt709,
    Bt2020,
}

impl YuvMatrix {
    /// Luma coefficients `(Kr, Kb)` of the matrix.
    pub fn kr_kb(self) -> (f32, f32) {
        match self {
            YuvMatrix::Bt601 => (0.299, 0.114),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
            YuvMatrix::Bt2020 => (0.2627, 0.0593),
        }
    }
}

/// How YUV frames are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Colorimetry {
    pub matrix: YuvMatrix,
    /// Full range (0..255) instead of limited range (16..235 / 16..240).
    pub full_range: bool,
}

/// How the frame is fitted into the model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResizeMode {
    /// Keep the aspect ratio, centre, pad.
    #[default]
    Letterbox,
    /// Scale each axis independently to fill the input.
    Stretch,
}

/// Geometry of the frame inside the model input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub frame_width: usize,
    pub frame_height: usize,
    pub input_width: usize,
    pub input_height: usize,
    /// Size of the scaled frame inside the input.
    pub content_width: usize,
    pub content_height: usize,
    /// Offset of the scaled frame inside the input.
    pub left: usize,
    pub top: usize,
}

impl Letterbox {
    pub fn new(
        frame_width: usize,
        frame_height: usize,
        input_width: usize,
        input_height: usize,
        mode: ResizeMode,
    ) -> Self {
        let (content_width, content_height) = match mode {
            ResizeMode::Stretch => (input_width, input_height),
            ResizeMode::Letterbox => {
                let r = (input_width as f64 / frame_width as f64)
                    .min(input_height as f64 / frame_height as f64);
                (
                    ((frame_width as f64 * r).round() as usize).clamp(1, input_width),
                    ((frame_height as f64 * r).round() as usize).clamp(1, input_height),
                )
            }
        };
        Letterbox {
            frame_width,
            frame_height,
            input_width,
            input_height,
            content_width,
            content_height,
            left: (input_width - content_width) / 2,
            top: (input_height - content_height) / 2,
        }
    }

    /// Maps a point in model-input pixels to frame pixels (exact inverse of the resize).
    pub fn to_frame(&self, x: f32, y: f32) -> (f64, f64) {
        let sx = self.frame_width as f64 / self.content_width as f64;
        let sy = self.frame_height as f64 / self.content_height as f64;
        (
            (f64::from(x) - self.left as f64) * sx,
            (f64::from(y) - self.top as f64) * sy,
        )
    }
}

/// One bilinear tap: `v = p[i0] + (p[i1] - p[i0]) * w`.
#[derive(Debug, Clone, Copy)]
struct Tap {
    i0: u32,
    i1: u32,
    w: f32,
}

/// Taps mapping `n_out` output samples onto `n_in` input samples with half-pixel centres;
/// `ratio` is input luma samples per output sample. For 2x subsampled chroma (`chroma`), the
/// luma coordinate `l` maps to chroma coordinate `(l + 0.5) / 2 - 0.5` (centre siting).
fn taps(n_out: usize, n_in: usize, ratio: f64, chroma: bool) -> Vec<Tap> {
    let last = n_in.saturating_sub(1) as f64;
    (0..n_out)
        .map(|j| {
            let l = (j as f64 + 0.5) * ratio - 0.5;
            let s = if chroma { (l + 0.5) / 2.0 - 0.5 } else { l };
            let s = s.clamp(0.0, last);
            let i0 = s.floor();
            let i1 = (i0 + 1.0).min(last);
            Tap {
                i0: i0 as u32,
                i1: i1 as u32,
                w: (s - i0) as f32,
            }
        })
        .collect()
}

/// A sample grid: horizontal and vertical taps for one plane resolution.
#[derive(Debug)]
struct Grid {
    xs: Vec<Tap>,
    ys: Vec<Tap>,
    /// Largest `i1` in `xs`, to bounds-check a row once.
    max_x: usize,
}

impl Grid {
    fn new(lb: &Letterbox, subsampled: bool) -> Self {
        let rx = lb.frame_width as f64 / lb.content_width as f64;
        let ry = lb.frame_height as f64 / lb.content_height as f64;
        let (in_w, in_h) = if subsampled {
            (lb.frame_width.div_ceil(2), lb.frame_height.div_ceil(2))
        } else {
            (lb.frame_width, lb.frame_height)
        };
        let xs = taps(lb.content_width, in_w, rx, subsampled);
        let ys = taps(lb.content_height, in_h, ry, subsampled);
        let max_x = xs.iter().map(|t| t.i1 as usize).max().unwrap_or(0);
        Grid { xs, ys, max_x }
    }
}

/// A channel of the source: which plane, the byte step between samples, the byte offset of
/// the first sample and whether it is on the subsampled grid.
#[derive(Debug, Clone, Copy)]
struct Channel {
    plane: usize,
    step: usize,
    offset: usize,
    subsampled: bool,
}

/// Two horizontally resampled source rows of a channel, cached across output rows.
#[derive(Debug)]
struct RowCache {
    rows: [Vec<f32>; 2],
    index: [Option<u32>; 2],
}

impl RowCache {
    fn new(width: usize) -> Self {
        RowCache {
            rows: [vec![0.0; width], vec![0.0; width]],
            index: [None, None],
        }
    }
}

/// Horizontally resamples one source row. `row` must hold `max_x * step + offset + 1` bytes.
#[inline]
fn hpass(row: &[u8], step: usize, offset: usize, xs: &[Tap], max_x: usize, out: &mut [f32]) {
    assert!(row.len() > max_x * step + offset, "source row too short");
    assert!(out.len() >= xs.len());
    for (o, t) in out.iter_mut().zip(xs) {
        // SAFETY: every tap index is <= max_x, checked against the row length above.
        let (a, b) = unsafe {
            (
                *row.get_unchecked(t.i0 as usize * step + offset),
                *row.get_unchecked(t.i1 as usize * step + offset),
            )
        };
        let a = f32::from(a);
        *o = a + (f32::from(b) - a) * t.w;
    }
}

/// A borrowed frame: plane data and strides, as a video frame mapping gives them.
pub struct FrameData<'a> {
    pub planes: &'a [&'a [u8]],
    pub strides: &'a [usize],
}

/// Converts frames of one format and size into the model input tensor.
#[derive(Debug)]
pub struct Preprocessor {
    format: PixelFormat,
    letterbox: Letterbox,
    full: Grid,
    half: Option<Grid>,
    channels: [Channel; 3],
    caches: [RowCache; 3],
    /// RGB from YUV: `r = y' + cr_r * v'`, `g = y' + cb_g * u' + cr_g * v'`, `b = y' + cb_b * u'`.
    yuv: Option<YuvCoefficients>,
}

#[derive(Debug, Clone, Copy)]
struct YuvCoefficients {
    y_offset: f32,
    y_scale: f32,
    c_scale: f32,
    cr_r: f32,
    cb_g: f32,
    cr_g: f32,
    cb_b: f32,
}

impl YuvCoefficients {
    fn new(matrix: YuvMatrix, full_range: bool) -> Self {
        let (kr, kb) = matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let (y_offset, y_scale, c_scale) = if full_range {
            (0.0, 1.0, 1.0)
        } else {
            (16.0, 255.0 / 219.0, 255.0 / 224.0)
        };
        YuvCoefficients {
            y_offset,
            y_scale,
            c_scale,
            cr_r: 2.0 * (1.0 - kr),
            cb_g: -2.0 * (1.0 - kb) * kb / kg,
            cr_g: -2.0 * (1.0 - kr) * kr / kg,
            cb_b: 2.0 * (1.0 - kb),
        }
    }
}

impl Preprocessor {
    /// A converter for `format` frames of `frame_width` x `frame_height` into a
    /// `input_width` x `input_height` input. `colorimetry` describes YUV input.
    pub fn new(
        format: PixelFormat,
        frame_width: usize,
        frame_height: usize,
        input_width: usize,
        input_height: usize,
        mode: ResizeMode,
        colorimetry: Colorimetry,
    ) -> Self {
        let letterbox = Letterbox::new(frame_width, frame_height, input_width, input_height, mode);
        let full = Grid::new(&letterbox, false);
        let (channels, half, yuv) = match format.packed() {
            Some((step, offsets)) => (
                offsets.map(|offset| Channel {
                    plane: 0,
                    step,
                    offset,
                    subsampled: false,
                }),
                None,
                None,
            ),
            None => {
                let y = Channel {
                    plane: 0,
                    step: 1,
                    offset: 0,
                    subsampled: false,
                };
                let (u, v) = if format == PixelFormat::Nv12 {
                    (
                        Channel {
                            plane: 1,
                            step: 2,
                            offset: 0,
                            subsampled: true,
                        },
                        Channel {
                            plane: 1,
                            step: 2,
                            offset: 1,
                            subsampled: true,
                        },
                    )
                } else {
                    (
                        Channel {
                            plane: 1,
                            step: 1,
                            offset: 0,
                            subsampled: true,
                        },
                        Channel {
                            plane: 2,
                            step: 1,
                            offset: 0,
                            subsampled: true,
                        },
                    )
                };
                (
                    [y, u, v],
                    Some(Grid::new(&letterbox, true)),
                    Some(YuvCoefficients::new(
                        colorimetry.matrix,
                        colorimetry.full_range,
                    )),
                )
            }
        };
        let cw = letterbox.content_width;
        Preprocessor {
            format,
            letterbox,
            full,
            half,
            channels,
            caches: [RowCache::new(cw), RowCache::new(cw), RowCache::new(cw)],
            yuv,
        }
    }

    pub fn letterbox(&self) -> &Letterbox {
        &self.letterbox
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Number of `f32` values of the input tensor (`3 * H * W`).
    pub fn tensor_len(&self) -> usize {
        3 * self.letterbox.input_width * self.letterbox.input_height
    }

    /// Fills the padding of a planar `[3, H, W]` tensor with `pad / 255`. The content area
    /// is overwritten by every [`Self::convert`], so this is needed once per tensor.
    pub fn fill_padding(&self, tensor: &mut [f32], pad: u8) {
        let lb = &self.letterbox;
        let v = f32::from(pad) / 255.0;
        let plane = lb.input_width * lb.input_height;
        for c in 0..3 {
            let p = &mut tensor[c * plane..(c + 1) * plane];
            for (y, row) in p.chunks_exact_mut(lb.input_width).enumerate() {
                if y < lb.top || y >= lb.top + lb.content_height {
                    row.fill(v);
                } else {
                    row[..lb.left].fill(v);
                    row[lb.left + lb.content_width..].fill(v);
                }
            }
        }
    }

    /// Converts one frame into the content area of `tensor` (planar RGB, values 0..1).
    /// Returns an error if the frame's planes are too small for the declared size.
    pub fn convert(&mut self, frame: &FrameData<'_>, tensor: &mut [f32]) -> Result<(), String> {
        let lb = self.letterbox;
        if tensor.len() < self.tensor_len() {
            return Err(format!(
                "tensor holds {} values, needs {}",
                tensor.len(),
                self.tensor_len()
            ));
        }
        // Check every plane once against the largest row index and byte it will be read at.
        for ch in &self.channels {
            let grid = if ch.subsampled {
                self.half.as_ref().unwrap_or(&self.full)
            } else {
                &self.full
            };
            let plane = frame.planes.get(ch.plane).ok_or("missing plane")?;
            let stride = *frame.strides.get(ch.plane).ok_or("missing stride")?;
            let max_y = grid.ys.iter().map(|t| t.i1 as usize).max().unwrap_or(0);
            let need = max_y * stride + grid.max_x * ch.step + ch.offset + 1;
            if plane.len() < need || stride < grid.max_x * ch.step + ch.offset + 1 {
                return Err(format!(
                    "plane {} holds {} bytes with stride {stride}, {need} needed",
                    ch.plane,
                    plane.len()
                ));
            }
        }

        let plane_len = lb.input_width * lb.input_height;
        let (r_plane, rest) = tensor.split_at_mut(plane_len);
        let (g_plane, rest) = rest.split_at_mut(plane_len);
        let b_plane = &mut rest[..plane_len];
        let cw = lb.content_width;

        for j in 0..lb.content_height {
            // Resample the (at most two) source rows this output row needs, per channel.
            let mut wy = [0f32; 3];
            for (c, ch) in self.channels.iter().enumerate() {
                let grid = if ch.subsampled {
                    self.half.as_ref().unwrap_or(&self.full)
                } else {
                    &self.full
                };
                let t = grid.ys[j];
                wy[c] = t.w;
                let cache = &mut self.caches[c];
                // Advancing by one source row: the old second row becomes the first.
                if cache.index[0] != Some(t.i0) && cache.index[1] == Some(t.i0) {
                    cache.rows.swap(0, 1);
                    cache.index.swap(0, 1);
                }
                let stride = frame.strides[ch.plane];
                let plane = frame.planes[ch.plane];
                for (slot, idx) in [t.i0, t.i1].into_iter().enumerate() {
                    if cache.index[slot] != Some(idx) {
                        let start = idx as usize * stride;
                        let row = &plane[start..(start + stride).min(plane.len())];
                        hpass(
                            row,
                            ch.step,
                            ch.offset,
                            &grid.xs,
                            grid.max_x,
                            &mut cache.rows[slot],
                        );
                        cache.index[slot] = Some(idx);
                    }
                }
            }

            let out_start = (lb.top + j) * lb.input_width + lb.left;
            let r_out = &mut r_plane[out_start..out_start + cw];
            let g_out = &mut g_plane[out_start..out_start + cw];
            let b_out = &mut b_plane[out_start..out_start + cw];
            let [c0, c1, c2] = &self.caches;
            let blend = |cache: &RowCache, w: f32, i: usize| {
                let a = cache.rows[0][i];
                a + (cache.rows[1][i] - a) * w
            };
            const INV: f32 = 1.0 / 255.0;
            match self.yuv {
                None => {
                    for i in 0..cw {
                        r_out[i] = blend(c0, wy[0], i) * INV;
                        g_out[i] = blend(c1, wy[1], i) * INV;
                        b_out[i] = blend(c2, wy[2], i) * INV;
                    }
                }
                Some(k) => {
                    for i in 0..cw {
                        let y = (blend(c0, wy[0], i) - k.y_offset) * k.y_scale;
                        let u = (blend(c1, wy[1], i) - 128.0) * k.c_scale;
                        let v = (blend(c2, wy[2], i) - 128.0) * k.c_scale;
                        r_out[i] = ((y + k.cr_r * v) * INV).clamp(0.0, 1.0);
                        g_out[i] = ((y + k.cb_g * u + k.cr_g * v) * INV).clamp(0.0, 1.0);
                        b_out[i] = ((y + k.cb_b * u) * INV).clamp(0.0, 1.0);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests;
