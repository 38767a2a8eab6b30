use super::*;
use crate::preprocess::{PixelFormat, YuvMatrix};

const BT601: Colorimetry = Colorimetry {
    matrix: YuvMatrix::Bt601,
    full_range: false,
};

fn det(x: f64, y: f64, w: f64, h: f64, label: &str, id: i32) -> Detection {
    Detection {
        x,
        y,
        width: w,
        height: h,
        confidence: 0.87,
        label_id: id,
        label: label.into(),
        track_id: None,
        tracking: None,
        attributes: Vec::new(),
    }
}

/// An I420 frame of `w` x `h` filled with Y=`y`, U=V=128, with padded strides.
struct I420 {
    w: usize,
    h: usize,
    strides: [usize; 3],
    planes: [Vec<u8>; 3],
}

impl I420 {
    fn new(w: usize, h: usize, y: u8) -> Self {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let strides = [w + 7, cw + 5, cw + 3];
        I420 {
            w,
            h,
            strides,
            planes: [
                vec![y; strides[0] * h],
                vec![128; strides[1] * ch],
                vec![128; strides[2] * ch],
            ],
        }
    }
    fn canvas(&mut self) -> Canvas<'_> {
        let [a, b, c] = &mut self.planes;
        Canvas::new(
            PixelFormat::I420,
            self.w as u32,
            self.h as u32,
            vec![a.as_mut_slice(), b.as_mut_slice(), c.as_mut_slice()],
            &self.strides,
        )
        .unwrap()
    }
    fn y(&self, x: usize, y: usize) -> u8 {
        self.planes[0][y * self.strides[0] + x]
    }
    fn uv(&self, cx: usize, cy: usize) -> (u8, u8) {
        (
            self.planes[1][cy * self.strides[1] + cx],
            self.planes[2][cy * self.strides[2] + cx],
        )
    }
}

#[test]
fn paint_matches_bt601_and_bt709_by_hand() {
    // Limited range BT.601: Y = 16 + 219 (0.299 R + 0.587 G + 0.114 B), ...
    assert_eq!(Paint::new([255, 255, 255], BT601).yuv, [235, 128, 128]);
    assert_eq!(Paint::new([0, 0, 0], BT601).yuv, [16, 128, 128]);
    assert_eq!(Paint::new([255, 0, 0], BT601).yuv, [81, 90, 240]);
    assert_eq!(Paint::new([0, 0, 255], BT601).yuv, [41, 240, 110]);
    let full709 = Colorimetry {
        matrix: YuvMatrix::Bt709,
        full_range: true,
    };
    // Full range BT.709 green: Y = 255 * 0.7152 = 182.4, Cb = 128 - 0.7152/1.8556 * 255.
    assert_eq!(Paint::new([0, 255, 0], full709).yuv, [182, 30, 12]);
}

#[test]
fn i420_fill_covers_luma_exactly_and_blends_partial_chroma_blocks() {
    let mut f = I420::new(11, 9, 50);
    let red = Paint::new([255, 0, 0], BT601);
    // Odd corners: x 3..8, y 1..6.
    f.canvas().fill_rect(Rect::new(3, 1, 8, 6), red);
    for y in 0..9 {
        for x in 0..11 {
            let inside = (3..8).contains(&x) && (1..6).contains(&y);
            assert_eq!(f.y(x, y), if inside { 81 } else { 50 }, "luma at {x},{y}");
        }
    }
    // Chroma block (cx, cy) covers luma x 2cx..2cx+2, y 2cy..2cy+2.
    for cy in 0..5 {
        for cx in 0..6 {
            let covx = (8.min(2 * cx + 2) as i32 - 3.max(2 * cx) as i32).max(0);
            let covy = (6.min(2 * cy + 2) as i32 - 1.max(2 * cy) as i32).max(0);
            let n = (covx * covy) as u32;
            let expect = |c: u8| ((128 * (4 - n) + u32::from(c) * n + 2) / 4) as u8;
            assert_eq!(f.uv(cx, cy), (expect(90), expect(240)), "chroma {cx},{cy}");
        }
    }
}

#[test]
fn odd_frame_edge_blocks_count_only_their_pixels() {
    // 5x3: the last chroma column and row cover one luma column/row.
    let mut f = I420::new(5, 3, 0);
    let white = Paint::new([255, 255, 255], BT601);
    let blue = Paint::new([0, 0, 255], BT601);
    f.canvas().fill_rect(Rect::new(0, 0, 5, 3), white);
    f.canvas().fill_rect(Rect::new(4, 2, 100, 100), blue);
    // The bottom-right chroma block has only pixel (4, 2): fully covered.
    assert_eq!(f.uv(2, 1), (240, 110));
    assert_eq!(f.uv(1, 1), (128, 128));
    assert_eq!(f.y(4, 2), 41);
    assert_eq!(f.y(3, 2), 235);
}

#[test]
fn primitives_clip_anything_to_the_frame() {
    let mut f = I420::new(8, 6, 10);
    let p = Paint::new([1, 2, 3], BT601);
    let mut c = f.canvas();
    for r in [
        Rect::new(-100, -100, -1, -1),
        Rect::new(i32::MIN, i32::MIN, i32::MAX, i32::MAX),
        Rect::new(7, 5, 7, 9),
        Rect::new(5, 5, 2, 2),
        Rect::new(8, 0, 20, 6),
    ] {
        c.fill_rect(r, p);
        c.pixelate(r, 3);
        c.blend_mask(r.x0, r.y0, &[255; 16], 4, 4, p);
    }
    // Only the full-frame rectangle drew; the rest were empty or outside.
    let y = Paint::new([1, 2, 3], BT601).yuv[0];
    assert!(f.planes[0]
        .chunks(f.strides[0])
        .all(|r| r[..8].iter().all(|&v| v == y)));
}

#[test]
fn canvas_refuses_planes_too_small_for_the_frame() {
    let mut y = vec![0u8; 100];
    let mut u = vec![0u8; 10];
    let mut v = vec![0u8; 10];
    let err = Canvas::new(
        PixelFormat::I420,
        10,
        10,
        vec![&mut y, &mut u, &mut v],
        &[10, 5, 5],
    );
    assert!(err.is_err(), "chroma planes of 10 bytes cannot hold 5x5");
    let mut rgb = vec![0u8; 10 * 10 * 3 - 1];
    assert!(Canvas::new(PixelFormat::Rgb, 10, 10, vec![&mut rgb], &[30]).is_err());
    let mut rgb = vec![0u8; 10 * 10 * 3];
    assert!(Canvas::new(PixelFormat::Rgb, 10, 10, vec![&mut rgb], &[29]).is_err());
    assert!(Canvas::new(PixelFormat::Rgb, 10, 10, vec![&mut rgb], &[30]).is_ok());
}

#[test]
fn packed_formats_write_their_channel_order_and_alpha() {
    for (format, expect) in [
        (PixelFormat::Rgb, vec![10, 20, 30]),
        (PixelFormat::Bgr, vec![30, 20, 10]),
        (PixelFormat::Rgba, vec![10, 20, 30, 255]),
        (PixelFormat::Bgra, vec![30, 20, 10, 255]),
        (PixelFormat::Rgbx, vec![10, 20, 30, 7]),
        (PixelFormat::Bgrx, vec![30, 20, 10, 7]),
    ] {
        let bpp = expect.len();
        let mut buf = vec![7u8; 4 * 3 * bpp];
        let mut c = Canvas::new(format, 4, 3, vec![&mut buf], &[4 * bpp]).unwrap();
        c.fill_rect(Rect::new(1, 1, 3, 2), Paint::new([10, 20, 30], BT601));
        for y in 0..3 {
            for x in 0..4 {
                let px = &buf[(y * 4 + x) * bpp..(y * 4 + x + 1) * bpp];
                if (1..3).contains(&x) && y == 1 {
                    assert_eq!(px, expect.as_slice(), "{format:?} at {x},{y}");
                } else {
                    assert!(px.iter().all(|&v| v == 7), "{format:?} at {x},{y}");
                }
            }
        }
    }
}

#[test]
fn mask_blends_by_coverage() {
    let mut buf = vec![0u8; 3 * 2 * 4];
    let mut c = Canvas::new(PixelFormat::Rgba, 3, 2, vec![&mut buf], &[12]).unwrap();
    // 2x1 mask at (1, 1): half and full coverage of white.
    c.blend_mask(1, 1, &[128, 255], 2, 1, Paint::new([255, 255, 255], BT601));
    assert_eq!(&buf[16..20], &[128, 128, 128, 128]);
    assert_eq!(&buf[20..24], &[255, 255, 255, 255]);
    assert!(buf[..16].iter().all(|&v| v == 0));
}

#[test]
fn nv12_mask_chroma_takes_the_mean_coverage_of_its_block() {
    let (w, h) = (4usize, 2usize);
    let mut y = vec![16u8; w * h];
    let mut uv = vec![128u8; w];
    let mut c = Canvas::new(PixelFormat::Nv12, 4, 2, vec![&mut y, &mut uv], &[4, 4]).unwrap();
    let red = Paint::new([255, 0, 0], BT601);
    // Covers the whole first 2x2 block at 255 and the second block's left column at 255.
    c.blend_mask(0, 0, &[255, 255, 255, 255, 255, 255], 3, 2, red);
    assert_eq!(&uv[..2], &[90, 240]);
    // Half the block: (128 * 2 + c * 2) / 4.
    assert_eq!(
        &uv[2..4],
        &[
            ((128 * 2 + 90 * 2 + 2) / 4) as u8,
            ((128 * 2 + 240 * 2 + 2) / 4) as u8
        ]
    );
    assert_eq!(&y[..4], &[81, 81, 81, 16]);
}

#[test]
fn pixelate_averages_cells_aligned_on_the_rectangle() {
    let mut buf: Vec<u8> = (0..6 * 4).map(|i| (i * 10) as u8).collect();
    let mut c = Canvas::new(PixelFormat::Rgb, 2, 4, vec![&mut buf], &[6]).unwrap();
    c.pixelate(Rect::new(0, 0, 2, 4), 2);
    // Two 2x2 cells; the R channel of the first: pixels 0,1 (row 0) and 2,3 (row 1).
    let r = |i: usize| buf[i * 3];
    assert_eq!([r(0), r(1), r(2), r(3)], [45, 45, 45, 45]);
    assert_eq!([r(4), r(5), r(6), r(7)], [165, 165, 165, 165]);
}

#[test]
fn outline_rects_tile_the_border_without_overlap() {
    for (b, lw) in [
        (Rect::new(10, 20, 30, 50), 2),
        (Rect::new(0, 0, 3, 3), 2),
        (Rect::new(5, 5, 6, 40), 4),
    ] {
        let rects = outline_rects(b, lw);
        for y in b.y0 - 1..b.y1 + 1 {
            for x in b.x0 - 1..b.x1 + 1 {
                let n = rects.iter().filter(|r| r.contains(x, y)).count();
                let border = b.contains(x, y)
                    && (x < b.x0 + lw || x >= b.x1 - lw || y < b.y0 + lw || y >= b.y1 - lw);
                assert_eq!(n, usize::from(border), "{b:?} lw {lw} at {x},{y}");
            }
        }
    }
}

#[test]
fn labels_go_above_inside_at_the_top_and_stay_in_the_frame() {
    // Room above: bottom of the label is the row above the box.
    assert_eq!(
        label_rect(Rect::new(50, 40, 90, 80), (30, 12), 200, 100),
        Rect::new(50, 28, 80, 40)
    );
    // Box at the top edge: inside, at its top.
    assert_eq!(
        label_rect(Rect::new(50, 5, 90, 80), (30, 12), 200, 100),
        Rect::new(50, 5, 80, 17)
    );
    // Right edge: shifted left; box partly above the frame: at row 0.
    assert_eq!(
        label_rect(Rect::new(190, -10, 260, 30), (30, 12), 200, 100),
        Rect::new(170, 0, 200, 12)
    );
    // Label wider than the frame: starts at 0 (and is clipped by the canvas).
    assert_eq!(
        label_rect(Rect::new(5, 50, 9, 60), (300, 12), 200, 100).x0,
        0
    );
}

#[test]
fn colors_parse_and_fall_back_to_the_palette() {
    let map = ColorMap::parse("person:#ff0000, car:00ff00,3:#00f, a:b:#123456").unwrap();
    assert_eq!(map.color(&det(0., 0., 1., 1., "person", 7)), [255, 0, 0]);
    assert_eq!(map.color(&det(0., 0., 1., 1., "car", 0)), [0, 255, 0]);
    assert_eq!(map.color(&det(0., 0., 1., 1., "x", 3)), [0, 0, 255]);
    assert_eq!(
        map.color(&det(0., 0., 1., 1., "a:b", 3)),
        [0x12, 0x34, 0x56]
    );
    assert_eq!(map.color(&det(0., 0., 1., 1., "dog", 21)), PALETTE[1]);
    // Unknown class id: a stable colour from the label.
    let a = map.color(&det(0., 0., 1., 1., "face", -1));
    assert_eq!(a, map.color(&det(5., 5., 1., 1., "face", -1)));
    for bad in [
        "person",
        "person:#ff00",
        "person:#gg0000",
        ":#ffffff",
        "p:#12345678",
    ] {
        assert!(ColorMap::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(ColorMap::parse(" ").unwrap(), ColorMap::default());
}

#[test]
fn class_sets_match_labels_or_ids() {
    let set = ClassSet::parse("person, 2").unwrap();
    assert!(set.contains(&det(0., 0., 1., 1., "person", 0)));
    assert!(set.contains(&det(0., 0., 1., 1., "car", 2)));
    assert!(!set.contains(&det(0., 0., 1., 1., "car", 1)));
    assert!(ClassSet::parse(" , ").is_none());
}

#[test]
fn label_text_follows_the_toggles() {
    let mut s = Style::default();
    let mut d = det(0., 0., 1., 1., "person", 0);
    assert_eq!(s.label_text(&d).unwrap(), "person 0.87");
    d.track_id = Some(12);
    assert_eq!(s.label_text(&d).unwrap(), "person #12 0.87");
    s.show_confidence = false;
    assert_eq!(s.label_text(&d).unwrap(), "person #12");
    s.show_labels = false;
    assert_eq!(s.label_text(&d), None);
    s.show_confidence = true;
    assert_eq!(s.label_text(&d).unwrap(), "0.87");
    // A bare region (no detection structure) has no confidence to show.
    let bare = Detection {
        confidence: 0.0,
        label_id: -1,
        ..det(0., 0., 1., 1., "face", -1)
    };
    s.show_labels = true;
    assert_eq!(s.label_text(&bare).unwrap(), "face");
}

#[test]
fn label_text_shows_classification_attributes_after_bars() {
    let mut s = Style::default();
    let mut d = det(0., 0., 1., 1., "car", 2);
    d.track_id = Some(7);
    let colour = |label: &str, confidence| crate::detection::Attribute {
        name: "color".into(),
        label: label.into(),
        label_id: 0,
        confidence,
        model_name: "colours".into(),
        frames_ago: 0,
        attempts: 1,
        votes: 1,
    };
    d.attributes = vec![colour("red", 0.875), colour("sedan", 0.5)];
    assert_eq!(
        s.label_text(&d).unwrap(),
        "car #7 0.87 | red 0.88 | sedan 0.50"
    );
    s.show_confidence = false;
    assert_eq!(s.label_text(&d).unwrap(), "car #7 | red | sedan");
}

#[test]
fn glyphs_are_rasterised_once_and_any_text_draws() {
    let mut g = GlyphCache::new(embedded_font(), 16.0);
    let w = g.measure("person 0.87");
    assert!((60..110).contains(&w), "width {w}");
    let cached = g.cached();
    assert_eq!(g.measure("person 0.87"), w);
    assert_eq!(g.cached(), cached, "no glyph rasterised twice");
    assert!(g.line_height() >= 16 && g.line_height() <= 22);

    let mut f = I420::new(200, 40, 16);
    let white = Paint::new([255, 255, 255], BT601);
    // Non-ASCII (Cyrillic, accents, CJK that the font lacks), at the frame edges.
    for (x, text) in [(2, "Straße Ёж"), (-30, "日本"), (190, "voiture"), (50, "")] {
        g.draw(&mut f.canvas(), x, 20, text, white);
    }
    let lit = f.planes[0].iter().filter(|&&v| v > 100).count();
    assert!(lit > 50, "text drew {lit} bright pixels");
}

#[test]
fn renderer_draws_hundreds_of_boxes_anywhere_without_panicking() {
    let mut r = Renderer::new(embedded_font(), 12);
    let mut f = I420::new(641, 479, 16);
    let mut dets = Vec::new();
    for i in 0..300 {
        let v = f64::from(i);
        dets.push(det(
            v * 7.3 - 300.0,
            v * 3.1 - 100.0,
            v,
            50.0 - v / 10.0,
            "thing",
            i,
        ));
    }
    dets.push(det(f64::NAN, f64::INFINITY, -5.0, f64::MAX, "weird", 1));
    dets.push(det(0.0, 0.0, 0.0, 0.0, "empty", 1));
    let style = Style {
        blur_classes: ClassSet::parse("5"),
        ..Style::default()
    };
    let drawn = r.draw(
        &mut f.canvas(),
        BT601,
        &dets,
        &style,
        Some("30.0 fps 300 objects"),
    );
    assert!(drawn > 50 && drawn < 300, "drawn {drawn}");
}

/// A predicted detection with track id `id`.
fn predicted(x: f64, y: f64, w: f64, h: f64, id: u64) -> Detection {
    Detection {
        track_id: Some(id),
        tracking: Some(crate::detection::TrackInfo {
            predicted: true,
            ..Default::default()
        }),
        ..det(x, y, w, h, "thing", 2)
    }
}

/// Whether offset `k` of a side of `n` pixels is drawn, straight from the definition.
fn dashed_at(k: i32, n: i32, lw: i32) -> bool {
    let (dash, gap) = ((3 * lw).max(4), (2 * lw).max(3));
    k.min(n - 1 - k) % (dash + gap) < dash
}

#[test]
fn dash_pattern_scales_with_the_line_width() {
    assert_eq!(dash_pattern(1), (4, 3));
    assert_eq!(dash_pattern(2), (6, 4));
    assert_eq!(dash_pattern(3), (9, 6));
    assert_eq!(dash_pattern(0), (4, 3));
}

#[test]
fn dash_runs_match_the_definition_from_both_ends() {
    for n in [1, 2, 3, 7, 8, 15, 16, 40, 41, 82, 100] {
        for lw in [1, 2, 3, 5] {
            let (dash, gap) = dash_pattern(lw);
            for (lo, hi) in [(0, n), (3, n - 2), (-5, 1000), (n / 2, n / 2 + 1)] {
                let runs = dash_runs(n, dash, gap, lo, hi);
                for w in runs.windows(2) {
                    assert!(w[0].1 <= w[1].0, "sorted, disjoint: {runs:?}");
                }
                for k in -2..n + 2 {
                    let want = k >= lo.max(0) && k < hi.min(n) && dashed_at(k, n, lw);
                    let got = runs.iter().any(|&(a, b)| (a..b).contains(&k));
                    assert_eq!(got, want, "n {n} lw {lw} [{lo}, {hi}) at {k}: {runs:?}");
                }
            }
        }
    }
    // A side of a huge box: only the visible runs, whatever the side's length.
    let runs = dash_runs(20_000_000, 9, 6, 10_000_000, 10_000_640);
    assert!(runs.len() <= 640 / 15 + 2, "{} runs", runs.len());
}

#[test]
fn dashed_outlines_are_the_outline_with_gaps_along_each_side() {
    let frame = Rect::new(0, 0, 200, 150);
    for (b, lw) in [
        (Rect::new(20, 31, 102, 81), 3),
        (Rect::new(5, 5, 9, 60), 2),
        (Rect::new(-30, 100, 150, 170), 1),
    ] {
        let rects = dashed_outline_rects(b, lw, frame);
        let solid = outline_rects(b, lw);
        let top_rows = solid[0].y1;
        let bottom_rows = solid[1].y0;
        for y in b.y0 - 1..b.y1 + 1 {
            for x in b.x0 - 1..b.x1 + 1 {
                let n = rects.iter().filter(|r| r.contains(x, y)).count();
                let on_outline = solid.iter().any(|r| r.contains(x, y));
                let horizontal = y < top_rows || y >= bottom_rows;
                let want = on_outline
                    && frame.contains(x, y)
                    && if horizontal {
                        dashed_at(x - b.x0, b.width(), lw)
                    } else {
                        dashed_at(y - b.y0, b.height(), lw)
                    };
                assert_eq!(n, usize::from(want), "{b:?} lw {lw} at {x},{y}");
            }
        }
    }
}

#[test]
fn shapes_fill_each_pixel_once_and_blend_chroma_by_the_whole_coverage() {
    let mut f = I420::new(13, 9, 50);
    let red = Paint::new([255, 0, 0], BT601);
    // Two rectangles meeting inside chroma blocks (an L: rows 2 and 3 share blocks), plus a
    // lone pixel.
    let rects = [
        Rect::new(1, 2, 8, 3),
        Rect::new(1, 3, 3, 7),
        Rect::new(11, 8, 12, 9),
    ];
    let shape = Shape::from_rects(rects, Rect::new(0, 0, 13, 9));
    f.canvas().fill_shape(&shape, red);
    let inside = |x: usize, y: usize| rects.iter().any(|r| r.contains(x as i32, y as i32));
    for y in 0..9 {
        for x in 0..13 {
            assert_eq!(f.y(x, y), if inside(x, y) { 81 } else { 50 }, "{x},{y}");
        }
    }
    for cy in 0..5 {
        for cx in 0..7 {
            let block: Vec<(usize, usize)> = (cy * 2..(cy * 2 + 2).min(9))
                .flat_map(|y| (cx * 2..(cx * 2 + 2).min(13)).map(move |x| (x, y)))
                .collect();
            let n = block.iter().filter(|&&(x, y)| inside(x, y)).count() as u32;
            let d = block.len() as u32;
            let expect = |c: u8| ((128 * (d - n) + u32::from(c) * n + d / 2) / d) as u8;
            assert_eq!(f.uv(cx, cy), (expect(90), expect(240)), "chroma {cx},{cy}");
        }
    }
    // Packed formats: the same pixels, nothing else.
    let mut buf = vec![7u8; 13 * 9 * 4];
    let mut c = Canvas::new(PixelFormat::Bgrx, 13, 9, vec![&mut buf], &[52]).unwrap();
    c.fill_shape(&shape, red);
    for y in 0..9 {
        for x in 0..13 {
            let px = &buf[(y * 13 + x) * 4..(y * 13 + x) * 4 + 4];
            let want: &[u8] = if inside(x, y) {
                &[0, 0, 255, 7]
            } else {
                &[7; 4]
            };
            assert_eq!(px, want, "{x},{y}");
        }
    }
}

#[test]
fn predicted_boxes_follow_the_predicted_style() {
    let mut r = Renderer::new(embedded_font(), 12);
    let b = Rect::new(20, 31, 102, 81);
    let p = predicted(20.0, 31.0, 82.0, 50.0, 9);
    let no_labels = Style {
        line_width: 3,
        show_labels: false,
        show_confidence: false,
        ..Style::default()
    };
    let lit = |f: &I420| -> Vec<(usize, usize)> {
        (0..121)
            .flat_map(|y| (0..161).map(move |x| (x, y)))
            .filter(|&(x, y)| f.y(x, y) != 16)
            .collect()
    };
    let draw = |r: &mut Renderer, style: &Style, dets: &[Detection]| {
        let mut f = I420::new(161, 121, 16);
        let n = r.draw(&mut f.canvas(), BT601, dets, style, None);
        (f, n)
    };
    // Dashed (the default): the dashed outline and nothing else.
    let (f, n) = draw(&mut r, &no_labels, std::slice::from_ref(&p));
    assert_eq!(n, 1);
    let want: Vec<(usize, usize)> = {
        let rects = dashed_outline_rects(b, 3, Rect::new(0, 0, 161, 121));
        (0..121)
            .flat_map(|y| (0..161).map(move |x| (x, y)))
            .filter(|&(x, y)| rects.iter().any(|r| r.contains(x as i32, y as i32)))
            .collect()
    };
    assert_eq!(lit(&f), want);
    // Solid: as a detected box.
    let solid = Style {
        predicted: PredictedStyle::Solid,
        ..no_labels.clone()
    };
    let detected = det(20.0, 31.0, 82.0, 50.0, "thing", 2);
    assert_eq!(
        lit(&draw(&mut r, &solid, std::slice::from_ref(&p)).0),
        lit(&draw(&mut r, &no_labels, &[detected]).0)
    );
    // Thin: a 1 px outline.
    let thin = Style {
        predicted: PredictedStyle::Thin,
        ..no_labels.clone()
    };
    let (f, _) = draw(&mut r, &thin, std::slice::from_ref(&p));
    let one: Vec<(usize, usize)> = lit(&f);
    assert_eq!(one.len(), 2 * 82 + 2 * 48);
    assert!(one
        .iter()
        .all(|&(x, y)| x == 20 || x == 101 || y == 31 || y == 80));
    // Hidden: neither box nor label, and not counted.
    let hidden = Style {
        predicted: PredictedStyle::Hidden,
        ..Style::default()
    };
    let (f, n) = draw(&mut r, &hidden, std::slice::from_ref(&p));
    assert_eq!((n, lit(&f).len()), (0, 0));
    assert!(!hidden.draws(&p) && hidden.draws(&det(0., 0., 1., 1., "thing", 2)));
}

#[test]
fn trails_are_drawn_under_the_boxes_in_the_class_colour() {
    let mut r = Renderer::new(embedded_font(), 12);
    let mut store = TrailStore::default();
    let style = Style {
        line_width: 6,
        show_labels: false,
        show_confidence: false,
        colors: ColorMap::parse("thing:#ff0000").unwrap(),
        ..Style::default()
    };
    // A 21x15 box moving right along y = 60: centres (30.5 + 10 i, 60.5).
    for i in 0..6 {
        let mut d = det(20.0 + 10.0 * f64::from(i), 53.0, 21.0, 15.0, "thing", 2);
        d.track_id = Some(3);
        store.push_frame(30, [&d]);
    }
    let mut f = I420::new(200, 100, 16);
    let scene = Scene {
        detections: &[],
        trails: Some(&store),
        stats: None,
        analytics: None,
    };
    r.draw_scene(&mut f.canvas(), BT601, &scene, &style);
    // Width 3 from x 30.5 to 80.5, rows 59..62, round ends of radius 1.5.
    for y in 0..100 {
        for x in 0..200 {
            let (cx, cy) = (x as f64 + 0.5, y as f64 + 0.5);
            let dx = (30.5 - cx).max(cx - 80.5).max(0.0);
            let on = dx.hypot(cy - 60.5) <= 1.5;
            assert_eq!(f.y(x, y), if on { 81 } else { 16 }, "{x},{y}");
        }
    }
    // Another class filter: nothing.
    let mut g = I420::new(200, 100, 16);
    let cars = Style {
        classes: ClassSet::parse("car"),
        ..style.clone()
    };
    r.draw_scene(&mut g.canvas(), BT601, &scene, &cars);
    assert!(g.planes[0].iter().all(|&v| v == 16));
}

#[test]
fn predicted_boxes_and_trails_anywhere_without_panicking() {
    let mut r = Renderer::new(embedded_font(), 12);
    let mut store = TrailStore::new(50);
    let mut f = I420::new(321, 239, 16);
    let style = Style::default();
    for frame in 0..40 {
        let dets: Vec<Detection> = (0..80u64)
            .map(|i| {
                let v = (i * 37 + frame * 11) as f64;
                let mut d = predicted(v * 9.1 - 400.0, v * 5.3 - 300.0, v, v / 2.0, i);
                if i % 2 == 0 {
                    d.tracking = None;
                }
                d
            })
            .chain([
                predicted(-1e12, -1e12, 2e12, 2e12, 1000),
                predicted(f64::NAN, 1.0, 5.0, f64::INFINITY, 1001),
            ])
            .collect();
        store.push_frame(30, &dets);
        assert!(store.len() <= 50);
        let scene = Scene {
            detections: &dets,
            trails: Some(&store),
            stats: Some("x"),
            analytics: None,
        };
        r.draw_scene(&mut f.canvas(), BT601, &scene, &style);
    }
}
