//! rsoverlay on rsanalytics' metadata: zones, lines and dwell timers drawn from the frame
//! meta in every format, their properties, and the real chain `rsanalytics ! rsoverlay`;
//! part of the `rsoverlay` test binary.

use super::*;
use gstrsvision::detection::analytics::{self as contract, AnalyticsFrame};

/// RGB of pixel (x, y) of an RGB-family frame, or Y of a YUV one.
fn luma_or_rgb(format: &str, buf: &gst::Buffer, w: u32, h: u32, x: u32, y: u32) -> Vec<u8> {
    let vi = info(format, w, h);
    let f = gst_video::VideoFrameRef::from_buffer_ref_readable(buf.as_ref(), &vi).unwrap();
    let comps: &[u32] = if is_yuv(format) { &[0] } else { &[0, 1, 2] };
    comps.iter().map(|&c| comp(&f, c, x, y)).collect()
}

/// A frame meta with one zone (a square) and one horizontal line, as rsanalytics writes it.
fn zone_and_line(count: u64) -> AnalyticsFrame {
    use contract::{FrameShapes, LineCounts, LineShape, ZoneCounts, ZoneShape};
    let sq = |x0: f64, y0: f64, x1: f64, y1: f64| vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)];
    AnalyticsFrame {
        element: "rsanalytics0".into(),
        zones: vec![ZoneCounts {
            name: "bay".into(),
            count,
            ..ZoneCounts::default()
        }],
        lines: vec![LineCounts {
            name: "gate".into(),
            in_count: 3,
            out_count: 1,
        }],
        shapes: FrameShapes {
            width: 64,
            height: 48,
            zones: vec![ZoneShape {
                outline: sq(30.0, 20.0, 60.0, 46.0),
                ..ZoneShape::default()
            }],
            lines: vec![LineShape {
                a: (2.0, 10.0),
                b: (26.0, 10.0),
                in_normal: (0.0, 1.0),
            }],
        },
        ..AnalyticsFrame::default()
    }
}

fn with_meta(input: &gst::Buffer, meta: &AnalyticsFrame) -> gst::Buffer {
    let mut b = input.copy();
    contract::mark_frame(b.get_mut().unwrap(), meta);
    b
}

#[test]
fn zones_and_lines_are_drawn_in_every_format_and_filled_only_while_occupied() {
    init();
    let (w, h) = (64u32, 48u32);
    let props: [(&str, &dyn ToValue); 2] = [
        ("colors", &"bay:#1e90ff,gate:#1e90ff"),
        ("font-size", &6u32),
    ];
    for format in FORMATS {
        let mut hn = harness(&props, format, w, h);
        let input = frame(format, w, h, GREY);
        let grey = luma_or_rgb(format, &input, w, h, 45, 35);
        // Empty zone: outline (2 px on x = 30) in the zone colour, inside untouched.
        hn.push(with_meta(&input, &zone_and_line(0))).unwrap();
        let out = hn.pull().unwrap();
        let outline = luma_or_rgb(format, &out, w, h, 30, 35);
        let want: Vec<f64> = (0..outline.len() as u32)
            .map(|c| expected(format, BLUE, c))
            .collect();
        for (got, e) in outline.iter().zip(&want) {
            assert!(
                (f64::from(*got) - e).abs() <= 1.0,
                "{format} outline {outline:?} vs {want:?}"
            );
        }
        assert_eq!(
            luma_or_rgb(format, &out, w, h, 45, 35),
            grey,
            "{format}: empty zone not filled"
        );
        // The line, 3 px around y = 10, and its arrow down from the middle (x = 14).
        let line = luma_or_rgb(format, &out, w, h, 4, 10);
        assert_eq!(line, outline, "{format} line");
        assert_eq!(
            luma_or_rgb(format, &out, w, h, 14, 16),
            outline,
            "{format} arrow"
        );
        // Occupied: the inside is blended at zone-alpha (0.25: 64/255) towards the colour.
        hn.push(with_meta(&input, &zone_and_line(1))).unwrap();
        let out = hn.pull().unwrap();
        let inside = luma_or_rgb(format, &out, w, h, 45, 35);
        for (c, (&g, &i)) in grey.iter().zip(&inside).enumerate() {
            let e = f64::from(g) + (expected(format, BLUE, c as u32) - f64::from(g)) * 64.0 / 255.0;
            assert!(
                (f64::from(i) - e).abs() <= 1.5,
                "{format} fill comp {c}: {i} vs {e:.1}"
            );
        }
    }
}

#[test]
fn analytics_alone_is_drawn_and_switched_off_it_passes_untouched() {
    init();
    let (w, h) = (64u32, 48u32);
    let mut hn = harness(&[], "I420", w, h);
    let input = frame("I420", w, h, GREY);
    let meta = with_meta(&input, &zone_and_line(0));
    let original = meta.map_readable().unwrap().to_vec();
    hn.push(meta.clone()).unwrap();
    let out = hn.pull().unwrap();
    assert_ne!(
        out.map_readable().unwrap().as_slice(),
        original.as_slice(),
        "drawn without objects"
    );
    let e = hn.element().unwrap();
    e.set_property("show-zones", false);
    e.set_property("show-lines", false);
    assert!(!e.property::<bool>("show-zones"));
    let keep = meta.clone();
    hn.push(meta).unwrap();
    let out = hn.pull().unwrap();
    assert_eq!(out.as_ptr(), keep.as_ptr(), "passed through");
    e.set_property("zone-alpha", 0.5f64);
    assert!((e.property::<f64>("zone-alpha") - 128.0 / 255.0).abs() < 1e-9);
}

#[test]
fn rsanalytics_then_rsoverlay_draws_counts_and_dwell_timers() {
    init();
    let (w, h) = (320u32, 240u32);
    let mut hn = gst_check::Harness::new_parse(
        "rsanalytics lines=mid:0;120;320;120 zones=low:0;130;320;130;320;240;0;240 \
         reference-width=320 reference-height=240 ! rsoverlay name=o font-size=10 show-labels=false show-confidence=false",
    );
    hn.set_src_caps_str(&caps("RGB", w, h));
    let input = frame("RGB", w, h, GREY);
    let mut outs = Vec::new();
    for n in 0..40u64 {
        let mut b = input.copy();
        {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(n * 100));
            let d = Detection {
                track_id: Some(7),
                ..det(150.0, 40.0 + 5.0 * n as f64, 20.0, 20.0, "thing", 0)
            };
            detection::attach(b, &[d], w, h, 0);
        }
        hn.push(b).unwrap();
        outs.push(hn.pull().unwrap());
    }
    let last = outs.last().unwrap();
    let f = &contract::analytics_frames(last)[0];
    assert_eq!((f.lines[0].in_count, f.zones[0].count), (1, 1));
    // The dwell timer under the box (y 235..255, clipped: it goes above the bottom edge
    // inside the frame) has the stats background somewhere left of x = 200.
    let rgb = |x: u32, y: u32| luma_or_rgb("RGB", last, w, h, x, y);
    let dark = [0x20u8, 0x20, 0x20];
    let found = (200..240).any(|y| (150..200).any(|x| rgb(x, y) == dark));
    assert!(found, "a dwell timer on the last frame");
    // Before the object entered the zone there was none.
    let early = &outs[5];
    let found = (40..80).any(|y| (150..200).any(|x| luma_or_rgb("RGB", early, w, h, x, y) == dark));
    assert!(!found);
}
