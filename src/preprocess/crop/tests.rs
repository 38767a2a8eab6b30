use super::*;
use crate::preprocess::YuvMatrix;

/// Small deterministic generator (the crate has no `rand`).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 8) as u8
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * f64::from(self.next()) / f64::from(1u32 << 31)
    }
}

fn rect(x: f64, y: f64, width: f64, height: f64) -> CropRect {
    CropRect {
        x,
        y,
        width,
        height,
    }
}

/// A frame owning its planes.
struct Frame {
    planes: Vec<Vec<u8>>,
    strides: Vec<usize>,
}

impl Frame {
    fn data<R>(&self, f: impl FnOnce(&FrameData<'_>) -> R) -> R {
        let planes: Vec<&[u8]> = self.planes.iter().map(|p| p.as_slice()).collect();
        f(&FrameData {
            planes: &planes,
            strides: &self.strides,
        })
    }
}

/// Encodes an RGB image as `format`: packed rows with padding bytes, or YUV with 2x2
/// averaged chroma (odd sizes: the last chroma sample averages what exists).
fn encode(format: PixelFormat, img: &[[u8; 3]], w: usize, h: usize, col: Colorimetry) -> Frame {
    if let Some((step, offs)) = format.packed() {
        let stride = w * step + 7;
        let mut p = vec![0xA5u8; stride * h];
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    p[y * stride + x * step + offs[c]] = img[y * w + x][c];
                }
            }
        }
        return Frame {
            planes: vec![p],
            strides: vec![stride],
        };
    }
    let (kr, kb) = col.matrix.kr_kb();
    let (kr, kb) = (f64::from(kr), f64::from(kb));
    let kg = 1.0 - kr - kb;
    let (ys, cs, yo) = if col.full_range {
        (1.0, 1.0, 0.0)
    } else {
        (219.0 / 255.0, 224.0 / 255.0, 16.0)
    };
    let yuv = |p: [u8; 3]| {
        let [r, g, b] = p.map(f64::from);
        let l = kr * r + kg * g + kb * b;
        (
            yo + l * ys,
            128.0 + (b - l) / (2.0 * (1.0 - kb)) * cs,
            128.0 + (r - l) / (2.0 * (1.0 - kr)) * cs,
        )
    };
    let q = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let ystride = w + 3;
    let mut yp = vec![0x11u8; ystride * h];
    let mut us = vec![0u8; cw * ch];
    let mut vs = vec![0u8; cw * ch];
    for y in 0..h {
        for x in 0..w {
            yp[y * ystride + x] = q(yuv(img[y * w + x]).0);
        }
    }
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut u, mut v, mut n) = (0.0, 0.0, 0.0);
            for y in 2 * cy..(2 * cy + 2).min(h) {
                for x in 2 * cx..(2 * cx + 2).min(w) {
                    let (_, pu, pv) = yuv(img[y * w + x]);
                    (u, v, n) = (u + pu, v + pv, n + 1.0);
                }
            }
            us[cy * cw + cx] = q(u / n);
            vs[cy * cw + cx] = q(v / n);
        }
    }
    if format == PixelFormat::I420 {
        let cstride = cw + 5;
        let mut up = vec![0x22u8; cstride * ch];
        let mut vp = vec![0x33u8; cstride * ch];
        for y in 0..ch {
            up[y * cstride..][..cw].copy_from_slice(&us[y * cw..][..cw]);
            vp[y * cstride..][..cw].copy_from_slice(&vs[y * cw..][..cw]);
        }
        Frame {
            planes: vec![yp, up, vp],
            strides: vec![ystride, cstride, cstride],
        }
    } else {
        let cstride = 2 * cw + 4;
        let mut uv = vec![0x44u8; cstride * ch];
        for y in 0..ch {
            for x in 0..cw {
                uv[y * cstride + 2 * x] = us[y * cw + x];
                uv[y * cstride + 2 * x + 1] = vs[y * cw + x];
            }
        }
        Frame {
            planes: vec![yp, uv],
            strides: vec![ystride, cstride],
        }
    }
}

/// Reference decode of the whole frame, pixel by pixel, to RGB in 0..1. YUV: chroma
/// bilinear at `((x + 0.5) / 2 - 0.5, (y + 0.5) / 2 - 0.5)` clamped to the chroma plane; R
/// and B from their colour differences, G from the luma equation, each clamped.
fn decode(format: PixelFormat, f: &Frame, w: usize, h: usize, col: Colorimetry) -> Vec<[f64; 3]> {
    let mut out = Vec::with_capacity(w * h);
    if let Some((step, offs)) = format.packed() {
        for y in 0..h {
            for x in 0..w {
                let at = y * f.strides[0] + x * step;
                out.push(offs.map(|o| f64::from(f.planes[0][at + o]) / 255.0));
            }
        }
        return out;
    }
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    // (plane, byte step, byte offset) of U and V.
    let (uc, vc) = if format == PixelFormat::Nv12 {
        ((1, 2, 0), (1, 2, 1))
    } else {
        ((1, 1, 0), (2, 1, 0))
    };
    let chroma = |(p, step, off): (usize, usize, usize), x: f64, y: f64| {
        let x = x.clamp(0.0, (cw - 1) as f64);
        let y = y.clamp(0.0, (ch - 1) as f64);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(cw - 1), (y0 + 1).min(ch - 1));
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let s = |xx: usize, yy: usize| f64::from(f.planes[p][yy * f.strides[p] + xx * step + off]);
        (s(x0, y0) * (1.0 - fx) + s(x1, y0) * fx) * (1.0 - fy)
            + (s(x0, y1) * (1.0 - fx) + s(x1, y1) * fx) * fy
    };
    let (kr, kb) = col.matrix.kr_kb();
    let (kr, kb) = (f64::from(kr), f64::from(kb));
    let (yo, ys, cs) = if col.full_range {
        (0.0, 1.0, 1.0)
    } else {
        (16.0, 255.0 / 219.0, 255.0 / 224.0)
    };
    for y in 0..h {
        for x in 0..w {
            let l = (f64::from(f.planes[0][y * f.strides[0] + x]) - yo) * ys;
            let (cx, cy) = ((x as f64 + 0.5) / 2.0 - 0.5, (y as f64 + 0.5) / 2.0 - 0.5);
            let u = (chroma(uc, cx, cy) - 128.0) * cs;
            let v = (chroma(vc, cx, cy) - 128.0) * cs;
            let r = l + 2.0 * (1.0 - kr) * v;
            let b = l + 2.0 * (1.0 - kb) * u;
            let g = (l - kr * r - kb * b) / (1.0 - kr - kb);
            out.push([r, g, b].map(|v| v.clamp(0.0, 255.0) / 255.0));
        }
    }
    out
}

/// Reference crop: cut the region out of the decoded frame, resize it per output pixel with
/// bilinear sampling at `(i + offset + 0.5) * region / resized - 0.5` clamped to the region,
/// normalise; padding everywhere else.
fn reference(
    rgb: &[[f64; 3]],
    fw: usize,
    g: &CropGeometry,
    pad: u8,
    mean: [f32; 3],
    std: [f32; 3],
) -> Vec<f32> {
    let (rw, rh) = (g.region_width, g.region_height);
    let region: Vec<[f64; 3]> = (0..rw * rh)
        .map(|k| rgb[(g.region_y + k / rw) * fw + g.region_x + k % rw])
        .collect();
    let norm = |v: f64, c: usize| ((v - f64::from(mean[c])) / f64::from(std[c])) as f32;
    let plane = g.input_width * g.input_height;
    let mut out = vec![0f32; 3 * plane];
    for c in 0..3 {
        out[c * plane..(c + 1) * plane].fill(norm(f64::from(pad) / 255.0, c));
    }
    for j in 0..g.content_height {
        for i in 0..g.content_width {
            let sx = ((i + g.offset_x) as f64 + 0.5) * rw as f64 / g.resized_width as f64 - 0.5;
            let sy = ((j + g.offset_y) as f64 + 0.5) * rh as f64 / g.resized_height as f64 - 0.5;
            let (sx, sy) = (
                sx.clamp(0.0, (rw - 1) as f64),
                sy.clamp(0.0, (rh - 1) as f64),
            );
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(rw - 1), (y0 + 1).min(rh - 1));
            let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
            let p = |x: usize, y: usize| region[y * rw + x];
            for c in 0..3 {
                let top = p(x0, y0)[c] * (1.0 - fx) + p(x1, y0)[c] * fx;
                let bottom = p(x0, y1)[c] * (1.0 - fx) + p(x1, y1)[c] * fx;
                let at = c * plane + (g.top + j) * g.input_width + g.left + i;
                out[at] = norm(top * (1.0 - fy) + bottom * fy, c);
            }
        }
    }
    out
}

fn random_image(w: usize, h: usize, seed: u64) -> Vec<[u8; 3]> {
    let mut rng = Lcg(seed);
    (0..w * h)
        .map(|_| [rng.byte(), rng.byte(), rng.byte()])
        .collect()
}

/// Boxes on a `w x h` frame: interior, non-integer, padded, at and over each edge, larger
/// than the frame, tiny, thin.
fn boxes(w: f64, h: f64) -> Vec<(CropRect, f64)> {
    vec![
        (rect(5.3, 4.7, 12.2, 9.6), 0.0),
        (rect(5.3, 4.7, 12.2, 9.6), 0.15),
        (rect(-3.0, -2.5, 10.0, 8.0), 0.0),
        (rect(w - 6.5, h - 9.0, 10.0, 12.0), 0.1),
        (rect(-5.0, -5.0, w + 10.0, h + 10.0), 0.0),
        (rect(0.0, 0.0, w, h), 0.0),
        (rect(10.0, 10.0, 1.0, 1.0), 0.0),
        (rect(w - 1.0, h - 1.0, 1.0, 1.0), 0.0),
        (rect(7.0, 3.0, 2.0, 3.0), 0.0),
        (rect(w - 16.1, 0.1, 16.1, 3.2), 0.2),
    ]
}

fn check_format(format: PixelFormat, w: usize, h: usize, col: Colorimetry) {
    let img = random_image(w, h, (w * 31 + h) as u64);
    let frame = encode(format, &img, w, h, col);
    let rgb = decode(format, &frame, w, h, col);
    let mut conv = CropConverter::new(format, w, h, col);
    let (mean, std) = ([0.0; 3], [1.0; 3]);
    for (r, padding) in boxes(w as f64, h as f64) {
        for (iw, ih) in [(16, 16), (24, 20), (5, 7)] {
            for fit in [CropFit::CentreCrop, CropFit::Letterbox, CropFit::Stretch] {
                let g = CropGeometry::new(&r, padding, w, h, iw, ih, fit)
                    .unwrap_or_else(|| panic!("{r:?} gives a region"));
                let mut tensor = vec![f32::NAN; g.tensor_len()];
                frame
                    .data(|f| conv.convert(f, &g, 114, mean, std, &mut tensor))
                    .unwrap();
                let want = reference(&rgb, w, &g, 114, mean, std);
                for (k, (a, b)) in tensor.iter().zip(&want).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-4,
                        "{format:?} {w}x{h} {r:?} pad {padding} {fit:?} {iw}x{ih}: value {k}: \
                         {a} != {b} ({g:?})"
                    );
                }
            }
        }
    }
}

#[test]
fn packed_formats_match_the_reference() {
    for format in [
        PixelFormat::Rgb,
        PixelFormat::Bgr,
        PixelFormat::Rgba,
        PixelFormat::Bgra,
        PixelFormat::Rgbx,
        PixelFormat::Bgrx,
    ] {
        check_format(format, 37, 29, Colorimetry::default());
    }
}

#[test]
fn yuv_formats_match_the_reference() {
    let c = |matrix, full_range| Colorimetry { matrix, full_range };
    check_format(PixelFormat::I420, 37, 29, c(YuvMatrix::Bt601, false));
    check_format(PixelFormat::Nv12, 37, 29, c(YuvMatrix::Bt709, true));
    check_format(PixelFormat::I420, 36, 30, c(YuvMatrix::Bt2020, true));
    check_format(PixelFormat::Nv12, 36, 30, c(YuvMatrix::Bt601, false));
    check_format(PixelFormat::Nv12, 41, 33, c(YuvMatrix::Bt2020, false));
}

#[test]
fn to_frame_is_where_pixels_are_sampled() {
    // R = 2x, G = 2y: bilinear sampling of a linear ramp returns the sample position.
    let (w, h) = (120, 100);
    let img: Vec<[u8; 3]> = (0..w * h)
        .map(|k| [(2 * (k % w)) as u8, (2 * (k / w)) as u8, 0])
        .collect();
    let frame = encode(PixelFormat::Rgb, &img, w, h, Colorimetry::default());
    let mut conv = CropConverter::new(PixelFormat::Rgb, w, h, Colorimetry::default());
    for fit in [CropFit::CentreCrop, CropFit::Letterbox, CropFit::Stretch] {
        let g = CropGeometry::new(&rect(20.3, 10.7, 50.2, 40.1), 0.1, w, h, 32, 24, fit).unwrap();
        let mut t = vec![0.0; g.tensor_len()];
        frame
            .data(|f| conv.convert(f, &g, 0, [0.0; 3], [1.0; 3], &mut t))
            .unwrap();
        let mut checked = 0;
        for j in g.top..g.top + g.content_height {
            for i in g.left..g.left + g.content_width {
                let (fx, fy) = g.to_frame(i as f32 + 0.5, j as f32 + 0.5);
                let (sx, sy) = (fx - 0.5, fy - 0.5);
                let inside = |s: f64, start: usize, size: usize| {
                    s >= start as f64 && s <= (start + size - 1) as f64
                };
                if inside(sx, g.region_x, g.region_width) && inside(sy, g.region_y, g.region_height)
                {
                    let r = f64::from(t[j * 32 + i]) * 255.0;
                    let gr = f64::from(t[32 * 24 + j * 32 + i]) * 255.0;
                    assert!(
                        (r - 2.0 * sx).abs() < 1e-3,
                        "{fit:?} ({i},{j}): {r} vs {sx}"
                    );
                    assert!(
                        (gr - 2.0 * sy).abs() < 1e-3,
                        "{fit:?} ({i},{j}): {gr} vs {sy}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 32 * 24 / 2, "{fit:?}: {checked}");
    }
}

#[test]
fn mean_and_std_are_applied() {
    let (w, h) = (40, 30);
    let img = random_image(w, h, 3);
    let frame = encode(PixelFormat::Bgrx, &img, w, h, Colorimetry::default());
    let mut conv = CropConverter::new(PixelFormat::Bgrx, w, h, Colorimetry::default());
    let g = CropGeometry::new(
        &rect(3.0, 4.0, 30.0, 12.0),
        0.0,
        w,
        h,
        16,
        16,
        CropFit::Letterbox,
    )
    .unwrap();
    assert!(g.top > 0);
    let (mean, std) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    let mut plain = vec![0.0; g.tensor_len()];
    let mut norm = vec![0.0; g.tensor_len()];
    frame.data(|f| {
        conv.convert(f, &g, 114, [0.0; 3], [1.0; 3], &mut plain)
            .unwrap();
        conv.convert(f, &g, 114, mean, std, &mut norm).unwrap();
    });
    let plane = 16 * 16;
    for c in 0..3 {
        let pad = (114.0 / 255.0 - mean[c]) / std[c];
        assert!((norm[c * plane] - pad).abs() < 1e-5, "padding {c}");
        for k in c * plane..(c + 1) * plane {
            let want = (plain[k] - mean[c]) / std[c];
            assert!((norm[k] - want).abs() < 1e-4, "{k}: {} != {want}", norm[k]);
        }
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let g = CropGeometry::new(
        &rect(2.0, 2.0, 10.0, 10.0),
        0.0,
        64,
        48,
        8,
        8,
        CropFit::Stretch,
    )
    .unwrap();
    let mut t = vec![0.0; g.tensor_len()];
    let run = |format: PixelFormat, planes: &[&[u8]], strides: &[usize], t: &mut [f32]| {
        let mut conv = CropConverter::new(format, 64, 48, Colorimetry::default());
        conv.convert(
            &FrameData { planes, strides },
            &g,
            114,
            [0.0; 3],
            [1.0; 3],
            t,
        )
    };
    let rgb = vec![0u8; 64 * 3 * 48];
    assert!(run(PixelFormat::Rgb, &[&rgb[..]], &[192], &mut t).is_ok());
    assert!(run(PixelFormat::Rgb, &[&rgb[..192 * 47]], &[192], &mut t).is_err());
    assert!(run(PixelFormat::Rgb, &[&rgb[..]], &[100], &mut t).is_err());
    assert!(run(PixelFormat::Rgba, &[&rgb[..]], &[192], &mut t).is_err());
    assert!(run(PixelFormat::Rgb, &[], &[], &mut t).is_err());
    assert!(run(PixelFormat::Rgb, &[&rgb[..]], &[192], &mut t[..100]).is_err());
    let (y, c) = (vec![0u8; 64 * 48], vec![0u8; 32 * 24]);
    assert!(run(
        PixelFormat::I420,
        &[&y[..], &c[..], &c[..]],
        &[64, 32, 32],
        &mut t
    )
    .is_ok());
    assert!(run(PixelFormat::I420, &[&y[..], &c[..]], &[64, 32], &mut t).is_err());
    assert!(run(
        PixelFormat::I420,
        &[&y[..], &c[..], &c[..32 * 23]],
        &[64, 32, 32],
        &mut t
    )
    .is_err());
    let uv = vec![0u8; 64 * 24];
    assert!(run(PixelFormat::Nv12, &[&y[..], &uv[..]], &[64, 64], &mut t).is_ok());
    assert!(run(PixelFormat::Nv12, &[&y[..], &c[..]], &[64, 32], &mut t).is_err());
    // A geometry made for a larger frame.
    let big = CropGeometry::new(
        &rect(60.0, 2.0, 10.0, 10.0),
        0.0,
        100,
        48,
        8,
        8,
        CropFit::Stretch,
    )
    .unwrap();
    let mut conv = CropConverter::new(PixelFormat::Rgb, 64, 48, Colorimetry::default());
    let frame = FrameData {
        planes: &[&rgb[..]],
        strides: &[192],
    };
    assert!(conv
        .convert(&frame, &big, 114, [0.0; 3], [1.0; 3], &mut t)
        .is_err());
}

#[test]
fn warm_converter_does_not_reallocate() {
    let (w, h) = (64, 48);
    let img = random_image(w, h, 5);
    let col = Colorimetry::default();
    let frame = encode(PixelFormat::Nv12, &img, w, h, col);
    let mut conv = CropConverter::new(PixelFormat::Nv12, w, h, col);
    let mut t = vec![0.0; 3 * 32 * 32];
    let mut crop = |conv: &mut CropConverter, r: CropRect, fit| {
        let g = CropGeometry::new(&r, 0.0, w, h, 32, 32, fit).unwrap();
        frame
            .data(|f| conv.convert(f, &g, 114, [0.0; 3], [1.0; 3], &mut t))
            .unwrap();
    };
    crop(&mut conv, rect(0.0, 0.0, 64.0, 48.0), CropFit::Stretch);
    let buffers = |c: &CropConverter| {
        let mut v = vec![c.xs.as_ptr() as usize, c.ys.as_ptr() as usize];
        let vecs = c
            .src
            .iter()
            .chain(&c.diff)
            .chain(&c.chroma)
            .chain(&c.upsampled);
        v.extend(
            vecs.chain(c.rows.iter().flatten())
                .map(|s| s.as_ptr() as usize),
        );
        // The two cached rows swap places as rows advance.
        v.sort_unstable();
        v
    };
    let before = buffers(&conv);
    crop(&mut conv, rect(3.0, 5.0, 10.0, 7.0), CropFit::Letterbox);
    crop(&mut conv, rect(30.0, 20.0, 40.0, 40.0), CropFit::CentreCrop);
    crop(&mut conv, rect(1.0, 1.0, 1.0, 1.0), CropFit::Stretch);
    assert_eq!(before, buffers(&conv));
}

/// `cargo test --release --lib preprocess::crop::tests::timing -- --ignored --nocapture`:
/// 50 crops of a 720p I420 frame to 224x224, boxes the size of people in a street scene and
/// large ones; one tensor per crop, as the element submits them all.
#[test]
#[ignore]
fn timing_720p_50_crops() {
    let (w, h) = (1280, 720);
    let mut rng = Lcg(11);
    let y: Vec<u8> = (0..w * h).map(|_| rng.byte()).collect();
    let c: Vec<u8> = (0..w * h / 4).map(|_| rng.byte()).collect();
    let frame = FrameData {
        planes: &[&y[..], &c[..], &c[..]],
        strides: &[w, w / 2, w / 2],
    };
    let mut conv = CropConverter::new(PixelFormat::I420, w, h, Colorimetry::default());
    let mut t = vec![0.0; 50 * 3 * 224 * 224];
    for (label, max_w, max_h) in [
        ("boxes up to 120x240", 120.0, 240.0),
        ("boxes up to 320x400", 320.0, 400.0),
    ] {
        let boxes: Vec<CropRect> = (0..50)
            .map(|_| {
                let (bw, bh) = (rng.range(20.0, max_w), rng.range(20.0, max_h));
                let (x, y) = (rng.range(0.0, w as f64 - bw), rng.range(0.0, h as f64 - bh));
                rect(x, y, bw, bh)
            })
            .collect();
        for fit in [CropFit::CentreCrop, CropFit::Letterbox] {
            let geoms: Vec<CropGeometry> = boxes
                .iter()
                .map(|b| CropGeometry::new(b, 0.1, w, h, 224, 224, fit).unwrap())
                .collect();
            let mut frame_crops = |conv: &mut CropConverter| {
                for (g, out) in geoms.iter().zip(t.chunks_exact_mut(3 * 224 * 224)) {
                    conv.convert(&frame, g, 114, [0.0; 3], [1.0; 3], out)
                        .unwrap();
                }
            };
            frame_crops(&mut conv);
            let runs = 20;
            let start = std::time::Instant::now();
            for _ in 0..runs {
                frame_crops(&mut conv);
            }
            let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
            eprintln!("720p I420, 50 crops to 224x224, {label}, {fit:?}: {ms:.2} ms per frame");
        }
    }
}
