use super::*;
use crate::detection::analytics::{FrameShapes, LineCounts, LineShape, ZoneCounts, ZoneShape};
use crate::draw::{embedded_font, Paint};
use crate::preprocess::{Colorimetry, PixelFormat};

const CLIP: Rect = Rect {
    x0: 0,
    y0: 0,
    x1: 100,
    y1: 80,
};

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(f64, f64)> {
    vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
}

/// Whether the centre of pixel (x, y) is in the half-open box [x0, x1) x [y0, y1).
fn centre_in(x: i32, y: i32, (x0, y0, x1, y1): (f64, f64, f64, f64)) -> bool {
    let (cx, cy) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
    cx >= x0 && cx < x1 && cy >= y0 && cy < y1
}

#[test]
fn polygons_cover_the_pixels_whose_centre_is_inside() {
    let s = Shape::polygon(&[&square(10.0, 20.0, 30.5, 40.0)], CLIP);
    for y in 0..80 {
        for x in 0..100 {
            assert_eq!(
                s.contains(x, y),
                centre_in(x, y, (10.0, 20.0, 30.5, 40.0)),
                "{x},{y}"
            );
        }
    }
    // Columns 10..=29 (the centre 30.5 is not inside), rows 20..=39.
    assert_eq!(s.area(), 20 * 20);
    // A hole: the even-odd rule leaves it out.
    let hole = square(15.0, 25.0, 20.0, 30.0);
    let s = Shape::polygon(&[&square(10.0, 20.0, 30.0, 40.0), &hole], CLIP);
    assert_eq!(s.area(), 20 * 20 - 5 * 5);
    assert!(!s.contains(17, 27) && s.contains(12, 22));
    // Concave (an L) and any winding.
    let l = vec![
        (0.0, 0.0),
        (0.0, 40.0),
        (40.0, 40.0),
        (40.0, 30.0),
        (10.0, 30.0),
        (10.0, 0.0),
    ];
    let s = Shape::polygon(&[&l], CLIP);
    assert_eq!(s.area(), 10 * 30 + 40 * 10);
    assert!(s.contains(5, 5) && !s.contains(20, 10) && s.contains(35, 35));
    // Clipped to the frame; degenerate and non-finite rings ignored.
    let s = Shape::polygon(&[&square(-50.0, -50.0, 1e12, 1e12)], CLIP);
    assert_eq!(s.area(), 100 * 80);
    let bad = vec![(f64::NAN, 0.0), (5.0, 5.0), (6.0, 7.0)];
    assert!(Shape::polygon(&[&bad], CLIP).is_empty());
    assert!(Shape::polygon(&[], CLIP).is_empty());
    // A closed outline is the ring's polyline, closed.
    let r = Shape::ring(&square(10.0, 10.0, 50.0, 50.0), 2.0, CLIP);
    assert!(r.contains(10, 30) && r.contains(30, 49) && !r.contains(30, 30));
}

const RGB_FRAME: (u32, u32) = (8, 4);

#[test]
fn shapes_blend_at_their_opacity_in_rgb_and_i420() {
    let paint = Paint::new([200, 100, 0], Colorimetry::default());
    let (w, h) = RGB_FRAME;
    let mut rgb = vec![50u8; (w * h * 3) as usize];
    let shape = Shape::from_rects([Rect::new(0, 0, 4, 4)], Rect::new(0, 0, 8, 4));
    {
        let mut c = Canvas::new(PixelFormat::Rgb, w, h, vec![&mut rgb], &[24]).unwrap();
        c.blend_shape(&shape, paint, 64);
    }
    // 50 + (200 - 50) * 64 / 255 = 87.6 -> 88; 50 + 50 * 64/255 = 62.5 -> 63 (rounded half up);
    // 50 - 50 * 64 / 255 = 37.45 -> 37.
    assert_eq!(&rgb[0..3], &[88, 63, 37]);
    assert_eq!(&rgb[4 * 3..4 * 3 + 3], &[50, 50, 50], "outside untouched");
    // I420: luma mixed per pixel, a chroma sample whose block is half covered by alpha / 2.
    let (mut y, mut u, mut v) = (vec![100u8; 32], vec![128u8; 8], vec![128u8; 8]);
    let half = Shape::from_rects([Rect::new(0, 0, 3, 4)], Rect::new(0, 0, 8, 4));
    {
        let planes = vec![&mut y[..], &mut u[..], &mut v[..]];
        let mut c = Canvas::new(PixelFormat::I420, 8, 4, planes, &[8, 4, 4]).unwrap();
        c.blend_shape(&half, paint, 128);
    }
    let want_y = |orig: u8, new: u8, a: u32| {
        ((u32::from(orig) * (255 - a) + u32::from(new) * a + 127) / 255) as u8
    };
    assert_eq!(y[0], want_y(100, paint.yuv[0], 128));
    assert_eq!(y[3], 100);
    assert_eq!(u[0], want_y(128, paint.yuv[1], 128));
    // Block (1, 0) is columns 2..4 of rows 0..2: the shape covers 2 of its 4 pixels, so
    // the blend is 128/255 * 2/4.
    let num = 2 * 128;
    let den = 4 * 255;
    let mixed = ((128 * (den - num) + u32::from(paint.yuv[1]) * num + den / 2) / den) as u8;
    assert_eq!(u[1], mixed);
    assert_eq!(u[2], 128);
}

#[test]
fn dwell_times_read_as_seconds_minutes_and_hours() {
    assert_eq!(format_dwell(0), "0.0s");
    assert_eq!(format_dwell(3_456), "3.4s");
    assert_eq!(format_dwell(10_000), "10s");
    assert_eq!(format_dwell(12_999), "12s");
    assert_eq!(format_dwell(65_000), "1:05");
    assert_eq!(format_dwell(7_389_000), "2:03:09");
    let mut view = AnalyticsView::default();
    let a = ObjectAnalytics {
        zones: vec!["door".into(), "hall".into(), "bay".into()],
        dwell_ms: vec![Some(12_000), None, Some(61_000)],
        loitering: vec![false, false, true],
        ..ObjectAnalytics::default()
    };
    view.add_dwell(Rect::new(1, 2, 3, 4), &a);
    view.add_dwell(Rect::new(1, 2, 3, 4), &ObjectAnalytics::default());
    assert_eq!(
        view.dwell,
        vec![DwellView {
            rect: Rect::new(1, 2, 3, 4),
            text: "door 12s  bay 1:01".into(),
            loitering: true,
        }]
    );
}

fn frame_meta(width: u32, height: u32) -> AnalyticsFrame {
    AnalyticsFrame {
        element: "a".into(),
        zones: vec![ZoneCounts {
            name: "door".into(),
            count: 2,
            entries: 3,
            overcrowded: true,
        }],
        lines: vec![LineCounts {
            name: "gate".into(),
            in_count: 5,
            out_count: 1,
        }],
        shapes: FrameShapes {
            width,
            height,
            zones: vec![ZoneShape {
                outline: square(10.0, 10.0, 20.0, 30.0),
                holes: vec![square(12.0, 12.0, 14.0, 14.0)],
                inverse: false,
            }],
            lines: vec![LineShape {
                a: (0.0, 50.0),
                b: (100.0, 50.0),
                in_normal: (0.6, 0.8),
            }],
        },
        ..AnalyticsFrame::default()
    }
}

#[test]
fn views_rescale_from_the_size_the_analytics_saw() {
    let v = AnalyticsView::from_frames(&[frame_meta(100, 80)], 200, 80);
    assert_eq!(v.zones[0].outline[1], (40.0, 10.0));
    assert_eq!(v.zones[0].holes[0][0], (24.0, 12.0));
    assert_eq!(zone_text(&v.zones[0]), "door 2 overcrowded");
    assert_eq!(v.lines[0].b, (200.0, 50.0));
    // The normal is rescaled as a direction and made unit again: (1.2, 0.8) / |.|.
    let n = v.lines[0].in_normal;
    assert!(
        (n.0 - 0.832_05).abs() < 1e-5 && (n.1 - 0.554_70).abs() < 1e-5,
        "{n:?}"
    );
    assert_eq!(line_text(&v.lines[0]), "gate in 5 out 1");
    // A meta without a size is taken as the frame's.
    let v = AnalyticsView::from_frames(&[frame_meta(0, 0)], 200, 80);
    assert_eq!(v.zones[0].outline[1], (20.0, 10.0));
}

/// A grey RGB frame of 100 x 80 drawn with `view` in `style`.
fn render(view: &AnalyticsView, style: &Style) -> Vec<u8> {
    let mut rgb = vec![128u8; 100 * 80 * 3];
    let mut r = Renderer::new(embedded_font(), style.font_size);
    {
        let mut c = Canvas::new(PixelFormat::Rgb, 100, 80, vec![&mut rgb], &[300]).unwrap();
        let scene = crate::draw::Scene {
            detections: &[],
            trails: None,
            stats: None,
            analytics: Some(view),
        };
        r.draw_scene(&mut c, Colorimetry::default(), &scene, style);
    }
    rgb
}

fn px(rgb: &[u8], x: usize, y: usize) -> [u8; 3] {
    let i = (y * 100 + x) * 3;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

#[test]
fn zones_lines_and_their_options() {
    let mut v = AnalyticsView::from_frames(&[frame_meta(100, 80)], 100, 80);
    v.zones[0].outline = square(40.0, 40.0, 90.0, 75.0);
    v.zones[0].holes.clear();
    v.zones[0].overcrowded = false;
    v.lines[0].a = (0.0, 20.0);
    v.lines[0].b = (30.0, 20.0);
    v.lines[0].in_normal = (0.0, 1.0);
    let style = Style {
        colors: crate::draw::ColorMap::parse("door:#0000ff,gate:#00ff00").unwrap(),
        font_size: 8,
        ..Style::default()
    };
    let occupied = render(&v, &style);
    // Outline on the zone's edge (2 px wide around x = 40), translucent blue inside (the
    // default opacity 64/255), grey outside.
    assert_eq!(px(&occupied, 40, 60), [0, 0, 255]);
    assert_eq!(px(&occupied, 70, 60), [96, 96, 160]);
    assert_eq!(px(&occupied, 20, 70), [128, 128, 128]);
    // The line, 3 px wide, green; its arrow points to the in side (down), from x = 15.
    assert_eq!(px(&occupied, 5, 20), [0, 255, 0]);
    assert_eq!(px(&occupied, 15, 28), [0, 255, 0]);
    assert_eq!(px(&occupied, 25, 28), [128, 128, 128]);
    // Its label is on the out side (above).
    assert!((0..18).any(|y| px(&occupied, 15, y) != [128, 128, 128]));

    let mut empty = v.clone();
    empty.zones[0].count = 0;
    let out = render(&empty, &style);
    assert_eq!(px(&out, 40, 60), [0, 0, 255], "still outlined");
    assert_eq!(px(&out, 70, 60), [128, 128, 128], "not filled when empty");

    let mut crowded = v.clone();
    crowded.zones[0].overcrowded = true;
    let out = render(&crowded, &style);
    assert_eq!(px(&out, 40, 60), ALARM);

    let inverse = {
        let mut i = v.clone();
        i.zones[0].inverse = true;
        render(&i, &style)
    };
    assert_eq!(
        px(&inverse, 70, 60),
        [128, 128, 128],
        "inside an inverse zone"
    );
    assert_eq!(
        px(&inverse, 20, 70),
        [96, 96, 160],
        "outside it is the zone"
    );

    let off = Style {
        analytics: AnalyticsStyle {
            zones: false,
            lines: false,
            dwell: false,
            zone_alpha: 64,
        },
        ..style.clone()
    };
    assert!(render(&v, &off).iter().all(|&b| b == 128), "nothing drawn");
    let no_fill = Style {
        analytics: AnalyticsStyle {
            zone_alpha: 0,
            ..AnalyticsStyle::default()
        },
        ..style
    };
    assert_eq!(px(&render(&v, &no_fill), 70, 60), [128, 128, 128]);
}

#[test]
fn dwell_timers_go_under_the_box_on_red_while_loitering() {
    let mut v = AnalyticsView::default();
    let a = ObjectAnalytics {
        zones: vec!["bay".into()],
        dwell_ms: vec![Some(3_000)],
        loitering: vec![true],
        ..ObjectAnalytics::default()
    };
    v.add_dwell(Rect::new(10, 10, 40, 30), &a);
    let style = Style {
        font_size: 8,
        ..Style::default()
    };
    let out = render(&v, &style);
    // The label's background, under the box from its left edge.
    assert_eq!(px(&out, 10, 31), ALARM);
    assert_eq!(px(&out, 10, 29), [128, 128, 128]);
    let quiet = Style {
        analytics: AnalyticsStyle {
            dwell: false,
            ..AnalyticsStyle::default()
        },
        ..style
    };
    assert!(render(&v, &quiet).iter().all(|&b| b == 128));
}
