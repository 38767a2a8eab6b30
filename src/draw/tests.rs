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
