use super::*;

#[test]
fn letterbox_geometry_matches_ultralytics() {
    let lb = Letterbox::new(1280, 720, 640, 640, ResizeMode::Letterbox);
    assert_eq!(
        (lb.content_width, lb.content_height, lb.left, lb.top),
        (640, 360, 0, 140)
    );
    let lb = Letterbox::new(641, 479, 320, 320, ResizeMode::Letterbox);
    // r = 320/641; h = round(479 * r) = 239; pad 81 -> top 40 (odd pixel at the bottom).
    assert_eq!(
        (lb.content_width, lb.content_height, lb.left, lb.top),
        (320, 239, 0, 40)
    );
    let lb = Letterbox::new(480, 640, 640, 640, ResizeMode::Letterbox);
    assert_eq!(
        (lb.content_width, lb.content_height, lb.left, lb.top),
        (480, 640, 80, 0)
    );
    let lb = Letterbox::new(1280, 720, 640, 640, ResizeMode::Stretch);
    assert_eq!(
        (lb.content_width, lb.content_height, lb.left, lb.top),
        (640, 640, 0, 0)
    );
}

#[test]
fn boxes_map_back_exactly() {
    let lb = Letterbox::new(1280, 720, 640, 640, ResizeMode::Letterbox);
    assert_eq!(lb.to_frame(0.0, 140.0), (0.0, 0.0));
    assert_eq!(lb.to_frame(640.0, 500.0), (1280.0, 720.0));
    assert_eq!(lb.to_frame(320.0, 320.0), (640.0, 360.0));
    let lb = Letterbox::new(1280, 720, 640, 640, ResizeMode::Stretch);
    assert_eq!(lb.to_frame(320.0, 320.0), (640.0, 360.0));
}

/// Independent per-pixel reference: sample the source at the continuous position of each
/// output pixel with bilinear interpolation, in RGB.
fn reference(rgb: &[[f32; 3]], w: usize, h: usize, lb: &Letterbox, pad: u8) -> Vec<f32> {
    let (iw, ih) = (lb.input_width, lb.input_height);
    let mut out = vec![f32::from(pad) / 255.0; 3 * iw * ih];
    let sample = |x: f64, y: f64| -> [f32; 3] {
        let x = x.clamp(0.0, (w - 1) as f64);
        let y = y.clamp(0.0, (h - 1) as f64);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
        let p = |xx: usize, yy: usize| rgb[yy * w + xx];
        let mut v = [0f32; 3];
        for c in 0..3 {
            let top = p(x0, y0)[c] * (1.0 - fx) + p(x1, y0)[c] * fx;
            let bot = p(x0, y1)[c] * (1.0 - fx) + p(x1, y1)[c] * fx;
            v[c] = top * (1.0 - fy) + bot * fy;
        }
        v
    };
    for j in 0..lb.content_height {
        for i in 0..lb.content_width {
            let x = (i as f64 + 0.5) * w as f64 / lb.content_width as f64 - 0.5;
            let y = (j as f64 + 0.5) * h as f64 / lb.content_height as f64 - 0.5;
            let v = sample(x, y);
            for c in 0..3 {
                out[c * iw * ih + (lb.top + j) * iw + lb.left + i] = v[c] / 255.0;
            }
        }
    }
    out
}

fn pattern(w: usize, h: usize) -> Vec<[u8; 3]> {
    (0..w * h)
        .map(|k| {
            let (x, y) = (k % w, k / w);
            [
                ((x * 7 + y * 3) % 256) as u8,
                ((x * x + y * 5) % 251) as u8,
                ((x ^ y) * 3 % 256) as u8,
            ]
        })
        .collect()
}

fn run(format: PixelFormat, w: usize, h: usize, iw: usize, ih: usize, mode: ResizeMode) {
    let px = pattern(w, h);
    let (step, offs) = format.packed().unwrap();
    let stride = w * step + 5; // padded rows
    let mut data = vec![0xEEu8; stride * h];
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                data[y * stride + x * step + offs[c]] = px[y * w + x][c];
            }
        }
    }
    let mut pre = Preprocessor::new(format, w, h, iw, ih, mode, Colorimetry::default());
    let mut tensor = vec![f32::NAN; pre.tensor_len()];
    pre.fill_padding(&mut tensor, 114);
    pre.convert(
        &FrameData {
            planes: &[&data],
            strides: &[stride],
        },
        &mut tensor,
    )
    .unwrap();
    // Twice: the row cache must not carry state between frames wrongly.
    pre.convert(
        &FrameData {
            planes: &[&data],
            strides: &[stride],
        },
        &mut tensor,
    )
    .unwrap();
    let rgbf: Vec<[f32; 3]> = px.iter().map(|p| p.map(f32::from)).collect();
    let want = reference(&rgbf, w, h, pre.letterbox(), 114);
    for (k, (a, b)) in tensor.iter().zip(&want).enumerate() {
        assert!(
            (a - b).abs() < 1e-4,
            "{format:?} {w}x{h}: value {k}: {a} != {b}"
        );
    }
}

#[test]
fn packed_formats_match_the_reference() {
    for f in [
        PixelFormat::Rgb,
        PixelFormat::Bgr,
        PixelFormat::Rgba,
        PixelFormat::Bgra,
        PixelFormat::Rgbx,
        PixelFormat::Bgrx,
    ] {
        run(f, 64, 48, 32, 32, ResizeMode::Letterbox);
    }
    // Odd sizes, upscaling, stretch, portrait.
    run(PixelFormat::Rgb, 41, 29, 64, 64, ResizeMode::Letterbox);
    run(PixelFormat::Bgrx, 41, 29, 64, 48, ResizeMode::Stretch);
    run(PixelFormat::Rgba, 30, 70, 32, 32, ResizeMode::Letterbox);
    run(PixelFormat::Rgb, 1, 1, 8, 8, ResizeMode::Letterbox);
}

/// YUV frames: a reference that converts each pixel to RGB with the BT.601 limited-range
/// formulas after upsampling chroma the same (centre-sited bilinear) way.
fn run_yuv(format: PixelFormat, w: usize, h: usize, iw: usize, ih: usize) {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let ys: Vec<u8> = (0..w * h).map(|k| (16 + (k * 13) % 220) as u8).collect();
    let us: Vec<u8> = (0..cw * ch).map(|k| (16 + (k * 29) % 225) as u8).collect();
    let vs: Vec<u8> = (0..cw * ch)
        .map(|k| (16 + (k * 17 + 90) % 225) as u8)
        .collect();
    let ystride = w + 3;
    let cstride = cw + 1;
    let mut yp = vec![0u8; ystride * h];
    for y in 0..h {
        yp[y * ystride..y * ystride + w].copy_from_slice(&ys[y * w..(y + 1) * w]);
    }
    let mut pre = Preprocessor::new(
        format,
        w,
        h,
        iw,
        ih,
        ResizeMode::Letterbox,
        Colorimetry::default(),
    );
    let mut tensor = vec![0.0; pre.tensor_len()];
    pre.fill_padding(&mut tensor, 114);
    if format == PixelFormat::I420 {
        let mut up = vec![0u8; cstride * ch];
        let mut vp = vec![0u8; cstride * ch];
        for y in 0..ch {
            up[y * cstride..y * cstride + cw].copy_from_slice(&us[y * cw..(y + 1) * cw]);
            vp[y * cstride..y * cstride + cw].copy_from_slice(&vs[y * cw..(y + 1) * cw]);
        }
        pre.convert(
            &FrameData {
                planes: &[&yp, &up, &vp],
                strides: &[ystride, cstride, cstride],
            },
            &mut tensor,
        )
        .unwrap();
    } else {
        let uvstride = cw * 2 + 2;
        let mut uv = vec![0u8; uvstride * ch];
        for y in 0..ch {
            for x in 0..cw {
                uv[y * uvstride + 2 * x] = us[y * cw + x];
                uv[y * uvstride + 2 * x + 1] = vs[y * cw + x];
            }
        }
        pre.convert(
            &FrameData {
                planes: &[&yp, &uv],
                strides: &[ystride, uvstride],
            },
            &mut tensor,
        )
        .unwrap();
    }
    let lb = *pre.letterbox();
    let bil = |p: &[u8], pw: usize, ph: usize, x: f64, y: f64| -> f64 {
        let x = x.clamp(0.0, (pw - 1) as f64);
        let y = y.clamp(0.0, (ph - 1) as f64);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(pw - 1), (y0 + 1).min(ph - 1));
        let (fx, fy) = (x - x0 as f64, y - y0 as f64);
        let g = |xx: usize, yy: usize| f64::from(p[yy * pw + xx]);
        (g(x0, y0) * (1.0 - fx) + g(x1, y0) * fx) * (1.0 - fy)
            + (g(x0, y1) * (1.0 - fx) + g(x1, y1) * fx) * fy
    };
    let plane = iw * ih;
    for j in 0..lb.content_height {
        for i in 0..lb.content_width {
            let lx = (i as f64 + 0.5) * w as f64 / lb.content_width as f64 - 0.5;
            let ly = (j as f64 + 0.5) * h as f64 / lb.content_height as f64 - 0.5;
            let yv = (bil(&ys, w, h, lx, ly) - 16.0) * 255.0 / 219.0;
            let (cx, cy) = ((lx + 0.5) / 2.0 - 0.5, (ly + 0.5) / 2.0 - 0.5);
            let u = (bil(&us, cw, ch, cx, cy) - 128.0) * 255.0 / 224.0;
            let v = (bil(&vs, cw, ch, cx, cy) - 128.0) * 255.0 / 224.0;
            let r = yv + 1.402 * v;
            let g = yv - 0.344136 * u - 0.714136 * v;
            let b = yv + 1.772 * u;
            let at = (lb.top + j) * iw + lb.left + i;
            for (c, want) in [r, g, b].into_iter().enumerate() {
                let want = (want / 255.0).clamp(0.0, 1.0) as f32;
                let got = tensor[c * plane + at];
                assert!(
                    (got - want).abs() < 2e-3,
                    "{format:?} ({i},{j}) c{c}: {got} != {want}"
                );
            }
        }
    }
}

#[test]
fn yuv_formats_match_the_reference() {
    run_yuv(PixelFormat::I420, 64, 48, 40, 40);
    run_yuv(PixelFormat::Nv12, 64, 48, 40, 40);
    run_yuv(PixelFormat::I420, 41, 29, 64, 64);
    run_yuv(PixelFormat::Nv12, 41, 29, 32, 32);
}

#[test]
fn short_planes_are_an_error_not_a_panic() {
    let mut pre = Preprocessor::new(
        PixelFormat::Rgb,
        64,
        48,
        32,
        32,
        ResizeMode::Letterbox,
        Colorimetry::default(),
    );
    let mut tensor = vec![0.0; pre.tensor_len()];
    let data = vec![0u8; 64 * 3 * 47];
    assert!(pre
        .convert(
            &FrameData {
                planes: &[&data],
                strides: &[64 * 3]
            },
            &mut tensor
        )
        .is_err());
    assert!(pre
        .convert(
            &FrameData {
                planes: &[],
                strides: &[]
            },
            &mut tensor
        )
        .is_err());
}

#[test]
fn padding_is_filled_and_content_untouched() {
    let pre = Preprocessor::new(
        PixelFormat::Rgb,
        1280,
        720,
        64,
        64,
        ResizeMode::Letterbox,
        Colorimetry::default(),
    );
    let mut t = vec![-1.0; pre.tensor_len()];
    pre.fill_padding(&mut t, 114);
    let lb = pre.letterbox();
    assert_eq!((lb.top, lb.content_height), (14, 36));
    assert_eq!(t[0], 114.0 / 255.0);
    assert_eq!(t[14 * 64], -1.0);
    assert_eq!(t[50 * 64], 114.0 / 255.0);
    assert_eq!(t[2 * 64 * 64 + 13 * 64 + 5], 114.0 / 255.0);
}
