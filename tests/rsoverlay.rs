//! rsoverlay: pixel-exact harness tests in every format (boxes, dashed predicted boxes,
//! trails), the golden image of the default style, bad inputs, and a real pipeline
//! (rsinfer ! rsoverlay ! x264enc ! mp4mux, decoded back).

#[path = "rsoverlay/analytics.rs"]
mod analytics;
mod common;
#[path = "rsoverlay/tracking.rs"]
mod tracking;

use common::{init, root};
use gst::prelude::*;
use gst_video::prelude::*;
use gstrsvision::detection::{self, Detection, TrackInfo};
use gstrsvision::draw::{embedded_font, Renderer};
use gstrsvision::rsoverlay::PredictedStyle;

const FORMATS: [&str; 8] = ["I420", "NV12", "RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx"];

fn caps(format: &str, width: u32, height: u32) -> String {
    format!("video/x-raw,format={format},width={width},height={height},framerate=30/1")
}

fn info(format: &str, width: u32, height: u32) -> gst_video::VideoInfo {
    gst_video::VideoInfo::from_caps(&caps(format, width, height).parse::<gst::Caps>().unwrap())
        .unwrap()
}

/// One frame from videotestsrc (GStreamer's own strides, offsets and colour conversion).
fn frame(format: &str, width: u32, height: u32, pattern: &str) -> gst::Buffer {
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers=1 {pattern} ! {} ! appsink name=sink",
        caps(format, width, height)
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a frame");
    pipeline.set_state(gst::State::Null).unwrap();
    sample.buffer_owned().unwrap()
}

const GREY: &str = "pattern=solid-color foreground-color=0xff3c3c3c";

fn det(x: f64, y: f64, w: f64, h: f64, label: &str, label_id: i32) -> Detection {
    Detection {
        x,
        y,
        width: w,
        height: h,
        confidence: 0.87,
        label_id,
        label: label.into(),
        track_id: None,
        tracking: None,
        attributes: Vec::new(),
    }
}

fn harness(props: &[(&str, &dyn ToValue)], format: &str, w: u32, h: u32) -> gst_check::Harness {
    let element = gst::ElementFactory::make("rsoverlay").build().unwrap();
    for (k, v) in props {
        element.set_property_from_value(k, &v.to_value());
    }
    let mut h_ = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h_.set_src_caps_str(&caps(format, w, h));
    h_
}

/// Pushes a copy of `input` with `dets` attached and returns the output buffer.
fn draw(
    h: &mut gst_check::Harness,
    input: &gst::Buffer,
    dets: &[Detection],
    w: u32,
    hh: u32,
) -> gst::Buffer {
    let mut buf = input.copy();
    detection::attach(buf.get_mut().unwrap(), dets, w, hh, 0);
    h.push(buf).unwrap();
    h.pull().unwrap()
}

/// Reads component `c` (R, G, B for RGB formats; Y, U, V for YUV formats) of the sample that
/// covers pixel `(x, y)`.
fn comp(frame: &gst_video::VideoFrameRef<&gst::BufferRef>, c: u32, x: u32, y: u32) -> u8 {
    let finfo = frame.format_info();
    let (sx, sy) = (
        x >> finfo.w_sub()[c as usize],
        y >> finfo.h_sub()[c as usize],
    );
    let data = frame.comp_data(c).unwrap();
    let stride = frame.comp_stride(c) as u32;
    let pstride = frame.comp_pstride(c) as u32;
    data[(sy * stride + sx * pstride) as usize]
}

fn is_yuv(format: &str) -> bool {
    matches!(format, "I420" | "NV12")
}

/// BT.601 limited-range Y'CbCr of an RGB colour (the caps here are SD, hence BT.601).
fn bt601(rgb: [u8; 3]) -> [f64; 3] {
    let [r, g, b] = rgb.map(|v| f64::from(v) / 255.0);
    [
        16.0 + 219.0 * (0.299 * r + 0.587 * g + 0.114 * b),
        128.0 + 224.0 * (-0.168_736 * r - 0.331_264 * g + 0.5 * b),
        128.0 + 224.0 * (0.5 * r - 0.418_688 * g - 0.081_312 * b),
    ]
}

/// The expected value of component `c` for `rgb` in `format`.
fn expected(format: &str, rgb: [u8; 3], c: u32) -> f64 {
    if is_yuv(format) {
        bt601(rgb)[c as usize]
    } else {
        f64::from(rgb[c as usize])
    }
}

const BLUE: [u8; 3] = [0x1e, 0x90, 0xff];

/// Asserts that `out` is `input` with exactly the pixels where `on` holds painted `rgb`: luma
/// (or R, G, B) within rounding there and untouched elsewhere; in I420/NV12 a chroma sample
/// whose 2x2 block is fully painted takes the colour, an untouched one stays, and a partly
/// painted one is blended by the painted fraction.
fn assert_painted(
    format: &str,
    (input, out): (&gst::Buffer, &gst::Buffer),
    (w, h): (u32, u32),
    rgb: [u8; 3],
    on: &dyn Fn(u32, u32) -> bool,
) {
    let vi = info(format, w, h);
    let fin = gst_video::VideoFrameRef::from_buffer_ref_readable(input.as_ref(), &vi).unwrap();
    let fout = gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &vi).unwrap();
    let direct: &[u32] = if is_yuv(format) { &[0] } else { &[0, 1, 2] };
    for y in 0..h {
        for x in 0..w {
            for &c in direct {
                let (a, b) = (comp(&fin, c, x, y), comp(&fout, c, x, y));
                if on(x, y) {
                    let e = expected(format, rgb, c);
                    assert!(
                        (f64::from(b) - e).abs() <= 0.5 + f64::from(is_yuv(format) as u8) * 0.5,
                        "{format} comp {c} at {x},{y}: {b}, expected {e:.1}"
                    );
                } else {
                    assert_eq!(a, b, "{format} comp {c} at {x},{y} changed");
                }
            }
        }
    }
    if !is_yuv(format) {
        return;
    }
    for cy in 0..h.div_ceil(2) {
        for cx in 0..w.div_ceil(2) {
            let block: Vec<(u32, u32)> = (cy * 2..(cy * 2 + 2).min(h))
                .flat_map(|y| (cx * 2..(cx * 2 + 2).min(w)).map(move |x| (x, y)))
                .collect();
            let covered = block.iter().filter(|&&(x, y)| on(x, y)).count();
            for c in [1, 2] {
                let (a, b) = (
                    comp(&fin, c, cx * 2, cy * 2),
                    comp(&fout, c, cx * 2, cy * 2),
                );
                let e = expected(format, rgb, c);
                let (fa, fb) = (f64::from(a), f64::from(b));
                if covered == 0 {
                    assert_eq!(a, b, "{format} chroma {c} at {cx},{cy} changed");
                } else if covered == block.len() {
                    assert!(
                        (fb - e).abs() <= 1.0,
                        "{format} chroma {c} {cx},{cy}: {b} vs {e:.1}"
                    );
                } else {
                    let want = fa + (e - fa) * covered as f64 / block.len() as f64;
                    assert!(
                        (fb - want).abs() <= 1.0,
                        "{format} partial chroma {c} {cx},{cy}: {b} vs {want:.1}"
                    );
                }
            }
        }
    }
}

/// The harness settings of the pixel-exact tests: 3 px outlines, no labels, one colour.
const EXACT: [(&str, &dyn ToValue); 4] = [
    ("line-width", &3u32),
    ("show-labels", &false),
    ("show-confidence", &false),
    ("colors", &"thing:#1e90ff"),
];

#[test]
fn box_outlines_are_pixel_exact_and_nothing_else_changes_in_every_format() {
    init();
    let (w, h) = (161u32, 121u32);
    // Rounds to x 20..102, y 31..81; outline 3 px inside.
    let d = det(20.4, 30.6, 81.2, 50.0, "thing", 2);
    let (x0, y0, x1, y1) = (20u32, 31u32, 102u32, 81u32);
    let lw = 3;
    let on_outline = |x: u32, y: u32| {
        (x0..x1).contains(&x)
            && (y0..y1).contains(&y)
            && (x < x0 + lw || x >= x1 - lw || y < y0 + lw || y >= y1 - lw)
    };
    for format in FORMATS {
        let mut hn = harness(&EXACT, format, w, h);
        let input = frame(format, w, h, GREY);
        let out = draw(&mut hn, &input, std::slice::from_ref(&d), w, h);
        assert_painted(format, (&input, &out), (w, h), BLUE, &on_outline);
        if matches!(format, "RGBA" | "BGRA") {
            let vi = info(format, w, h);
            let fout =
                gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &vi).unwrap();
            let a = 3;
            assert_eq!(
                comp(&fout, a, x0, y0),
                255,
                "{format}: drawn pixels are opaque"
            );
        }
    }
}

#[test]
fn labels_sit_above_the_box_or_inside_it_at_the_top_edge_in_every_format() {
    init();
    let (w, h) = (320u32, 240u32);
    let mut renderer = Renderer::new(embedded_font(), 16);
    let (lw_, lh) = renderer.label_size("thing 0.87", 16);
    let (lw_, lh) = (lw_ as u32, lh as u32);
    assert!(
        lh > 16 && lh < 30 && lw_ > 50 && lw_ < 120,
        "label {lw_}x{lh}"
    );
    let above = det(100.0, 100.0, 120.0, 60.0, "thing", 2);
    let at_top = det(20.0, 0.0, 80.0, 70.0, "thing", 2);
    for format in FORMATS {
        let mut hn = harness(&[("colors", &"thing:#1e90ff")], format, w, h);
        let input = frame(format, w, h, GREY);
        let out = draw(&mut hn, &input, &[above.clone(), at_top.clone()], w, h);
        let vi = info(format, w, h);
        let fin = gst_video::VideoFrameRef::from_buffer_ref_readable(input.as_ref(), &vi).unwrap();
        let fout = gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &vi).unwrap();
        let changed = |x: u32, y: u32| (0..3).any(|c| comp(&fin, c, x, y) != comp(&fout, c, x, y));
        let is_blue = |x: u32, y: u32| {
            (0..if is_yuv(format) { 1 } else { 3 })
                .all(|c| (f64::from(comp(&fout, c, x, y)) - expected(format, BLUE, c)).abs() <= 1.0)
        };
        // Above: the label background spans [100, 100 + lw) x [100 - lh, 100); its padding
        // corners are the class colour; the row above it and the column after it are
        // untouched.
        let top = 100 - lh;
        assert!(
            is_blue(100, 99) && is_blue(100, top) && is_blue(100 + lw_ - 1, top),
            "{format}"
        );
        for x in 100..100 + lw_ {
            assert!(
                changed(x, top) && changed(x, 99),
                "{format}: label row at x {x}"
            );
            assert!(!changed(x, top - 2), "{format}: above the label at x {x}");
        }
        for y in top..100 {
            assert!(
                !changed(100 + lw_ + 1, y),
                "{format}: right of the label at y {y}"
            );
        }
        // Some pixels of the text differ from the background.
        let text = (top + 2..99)
            .flat_map(|y| (102..100 + lw_ - 2).map(move |x| (x, y)))
            .filter(|&(x, y)| !is_blue(x, y))
            .count();
        assert!(text > 40, "{format}: {text} text pixels");
        // At the top edge: inside the box from row 0; the box interior under it untouched.
        assert!(is_blue(20, 0) && is_blue(20, lh - 1), "{format}");
        assert!(
            !changed(25, lh + 2),
            "{format}: inside the box below the label"
        );
        assert!(!changed(25, 71), "{format}: below the box");
    }
}

/// Pixels of a frame as packed RGB rows (no padding).
fn rgb_pixels(buf: &gst::BufferRef, w: u32, h: u32) -> Vec<u8> {
    let vi = info("RGB", w, h);
    let f = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, &vi).unwrap();
    let stride = f.plane_stride()[0] as usize;
    let data = f.plane_data(0).unwrap();
    (0..h as usize)
        .flat_map(|y| data[y * stride..y * stride + w as usize * 3].to_vec())
        .collect()
}

fn png_write(path: &std::path::Path, rgb: &[u8], w: u32, h: u32) {
    let pipeline = common::launch(&format!(
        "appsrc name=src caps={} ! videoconvert ! pngenc ! filesink location={}",
        caps("RGB", w, h),
        path.display()
    ));
    let src = common::element::<gst_app::AppSrc>(&pipeline, "src");
    pipeline.set_state(gst::State::Playing).unwrap();
    let vi = info("RGB", w, h);
    let mut buf = gst::Buffer::with_size(vi.size()).unwrap();
    {
        let bref = buf.get_mut().unwrap();
        let mut f = gst_video::VideoFrameRef::from_buffer_ref_writable(bref, &vi).unwrap();
        let stride = f.plane_stride()[0] as usize;
        let data = f.plane_data_mut(0).unwrap();
        for y in 0..h as usize {
            data[y * stride..y * stride + w as usize * 3]
                .copy_from_slice(&rgb[y * w as usize * 3..(y + 1) * w as usize * 3]);
        }
    }
    src.push_buffer(buf).unwrap();
    src.end_of_stream().unwrap();
    common::run_to_eos(&pipeline, 30);
}

fn png_read(path: &std::path::Path, w: u32, h: u32) -> Vec<u8> {
    let pipeline = common::launch(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! {} ! appsink name=sink",
        path.display(),
        caps("RGB", w, h).replace(",framerate=30/1", "")
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a decoded PNG");
    pipeline.set_state(gst::State::Null).unwrap();
    rgb_pixels(sample.buffer().unwrap(), w, h)
}

#[test]
fn default_style_matches_the_golden_image() {
    init();
    let (w, h) = (320u32, 240u32);
    let golden = root().join("tests/golden/rsoverlay-default.png");
    let mut hn = harness(&[], "RGB", w, h);
    let input = frame("RGB", w, h, "pattern=smpte75");
    let mut person = det(30.0, 60.0, 90.0, 150.0, "person", 0);
    person.track_id = Some(12);
    let dets = [
        person,
        det(150.2, 0.0, 100.0, 80.0, "car", 2),
        det(260.0, 150.0, 120.0, 60.0, "bicycle", 1),
        det(140.0, 120.0, 70.0, 60.0, "Straße ÉÖ", 7),
        det(5.0, 200.0, 0.0, 20.0, "empty", 3),
    ];
    let out = draw(&mut hn, &input, &dets, w, h);
    let got = rgb_pixels(out.as_ref(), w, h);
    if std::env::var_os("RSVISION_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        png_write(&golden, &got, w, h);
    }
    let want = png_read(&golden, w, h);
    let diff = got
        .iter()
        .zip(&want)
        .filter(|(a, b)| a.abs_diff(**b) > 2)
        .count();
    if diff > 0 {
        let actual = root().join("target/test-tmp/rsoverlay-default-actual.png");
        std::fs::create_dir_all(actual.parent().unwrap()).unwrap();
        png_write(&actual, &got, w, h);
        panic!(
            "{diff} channel values differ from {} by more than 2 (actual frame: {})",
            golden.display(),
            actual.display()
        );
    }
}

#[test]
fn frames_without_detections_pass_untouched_and_shared_frames_are_never_written() {
    init();
    let (w, h) = (64u32, 48u32);
    let mut hn = harness(&[], "I420", w, h);
    let input = frame("I420", w, h, GREY);
    // No detections: the very same buffer comes out (no copy, no mapping for writing).
    let keep = input.clone();
    hn.push(input.clone()).unwrap();
    let out = hn.pull().unwrap();
    assert_eq!(out.as_ptr(), keep.as_ptr(), "passed through");

    // Detections on a buffer someone else still holds: drawn on a copy.
    let mut shared = input.copy();
    detection::attach(
        shared.get_mut().unwrap(),
        &[det(4.0, 20.0, 30.0, 20.0, "x", 0)],
        w,
        h,
        0,
    );
    let original = shared.map_readable().unwrap().to_vec();
    hn.push(shared.clone()).unwrap();
    let out = hn.pull().unwrap();
    assert_ne!(
        out.map_readable().unwrap().as_slice(),
        original.as_slice(),
        "drawn"
    );
    assert_eq!(
        shared.map_readable().unwrap().as_slice(),
        original.as_slice(),
        "shared buffer untouched"
    );
    assert_eq!(detection::count(&out), 1, "metas stay on the buffer");
}

#[test]
fn settings_change_while_playing_classes_blur_and_stats() {
    init();
    let (w, h) = (160u32, 120u32);
    let mut hn = harness(&[], "RGB", w, h);
    let element = hn.element().unwrap();
    let input = frame("RGB", w, h, "pattern=snow");
    let dets = [
        det(10.0, 40.0, 60.0, 60.0, "face", 0),
        det(90.0, 40.0, 60.0, 60.0, "car", 1),
    ];
    let pixels = |hn: &mut gst_check::Harness| {
        let out = draw(hn, &input, &dets, w, h);
        rgb_pixels(out.as_ref(), w, h)
    };
    let orig = rgb_pixels(input.as_ref(), w, h);
    let px = |v: &Vec<u8>, x: u32, y: u32| {
        v[((y * w + x) * 3) as usize..((y * w + x) * 3 + 3) as usize].to_vec()
    };
    let changed_in = |v: &Vec<u8>, x0: u32, x1: u32| {
        (40..100).any(|y| (x0..x1).any(|x| px(v, x, y) != px(&orig, x, y)))
    };

    let all = pixels(&mut hn);
    assert!(changed_in(&all, 10, 70) && changed_in(&all, 90, 150));

    element.set_property("classes", "car");
    let cars = pixels(&mut hn);
    assert!(!changed_in(&cars, 0, 80), "face not drawn");
    assert!(changed_in(&cars, 90, 150));

    // Blur the faces (not drawn): the box interior becomes uniform 10x10 cells.
    element.set_property("blur-classes", "face");
    let blurred = pixels(&mut hn);
    let cell = 10; // max(4, 60 / 6)
    for cy in 0..6 {
        for cx in 0..6 {
            let (bx, by) = (10 + cx * cell, 40 + cy * cell);
            let first = px(&blurred, bx, by);
            for y in by..by + cell {
                for x in bx..bx + cell {
                    assert_eq!(
                        px(&blurred, x, y),
                        first,
                        "cell {cx},{cy} uniform at {x},{y}"
                    );
                }
            }
        }
    }
    assert!(changed_in(&blurred, 10, 70), "snow is no longer there");
    assert_eq!(
        px(&blurred, 9, 50),
        px(&orig, 9, 50),
        "outside the box untouched"
    );

    // Line width and font size follow; stats appear in the corner.
    element.set_property("classes", None::<String>);
    element.set_property("blur-classes", None::<String>);
    element.set_property("line-width", 6u32);
    let thick = pixels(&mut hn);
    assert_ne!(
        px(&thick, 95, 70),
        px(&orig, 95, 70),
        "6 px outline reaches x 95"
    );
    assert_eq!(px(&all, 95, 70), px(&orig, 95, 70), "2 px outline did not");
    element.set_property("show-stats", true);
    let mut hn2 = harness(&[("show-stats", &true)], "RGB", w, h);
    hn2.push(input.clone()).unwrap();
    let stats = rgb_pixels(hn2.pull().unwrap().as_ref(), w, h);
    assert_eq!(px(&stats, 1, 1), vec![0x20, 0x20, 0x20], "stats background");
    let _ = pixels(&mut hn);
}

#[test]
fn foreign_regions_without_a_detection_structure_are_drawn_with_their_type() {
    init();
    let (w, h) = (160u32, 120u32);
    let mut hn = harness(&[("colors", &"face:#00ff00")], "RGB", w, h);
    let mut buf = frame("RGB", w, h, GREY);
    // make_mut: the frame may still be shared with the pipeline that made it.
    gst_video::VideoRegionOfInterestMeta::add(buf.make_mut(), "face", (40, 40, 50, 50));
    hn.push(buf).unwrap();
    let out = rgb_pixels(hn.pull().unwrap().as_ref(), w, h);
    let at = |x: u32, y: u32| &out[((y * w + x) * 3) as usize..((y * w + x) * 3 + 3) as usize];
    assert_eq!(at(40, 60), &[0, 255, 0], "outline in the face colour");
    assert_eq!(at(40, 39), &[0, 255, 0], "label background above");
}

/// Starts `videotestsrc ! rsoverlay PROPS ! fakesink` and returns the first error or warning.
fn first_problem(props: &str) -> Option<(gst::MessageType, String)> {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=48 ! rsoverlay {props} ! fakesink"
    ))
    .unwrap();
    let _ = pipeline.set_state(gst::State::Playing);
    let bus = pipeline.bus().unwrap();
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(10),
        &[
            gst::MessageType::Error,
            gst::MessageType::Warning,
            gst::MessageType::Eos,
        ],
    );
    pipeline.set_state(gst::State::Null).unwrap();
    let msg = msg?;
    match msg.view() {
        gst::MessageView::Error(e) => Some((msg.type_(), e.error().to_string())),
        gst::MessageView::Warning(e) => Some((msg.type_(), e.error().to_string())),
        _ => None,
    }
}

#[test]
fn bad_settings_and_caps_get_clear_errors() {
    init();
    assert_eq!(first_problem("colors=person:#ff0000"), None);
    let (t, m) = first_problem("font-location=/nonexistent/font.ttf").unwrap();
    assert_eq!(t, gst::MessageType::Error);
    assert!(m.contains("/nonexistent/font.ttf"), "{m}");
    let not_a_font = root().join("Cargo.toml");
    let (t, m) = first_problem(&format!("font-location={}", not_a_font.display())).unwrap();
    assert_eq!(t, gst::MessageType::Error);
    assert!(m.contains("not a usable font"), "{m}");
    // A bad colour set at start: start fails and says why.
    let (t, m) = first_problem("colors=person:red").unwrap();
    assert_eq!(t, gst::MessageType::Error);
    assert!(m.contains("person:red"), "{m}");
    // A format rsoverlay does not draw on is refused at negotiation.
    assert_eq!(first_problem(""), None);
    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=2 ! video/x-raw,format=YUY2 ! rsoverlay ! fakesink",
    );
    let refused = match pipeline {
        Err(_) => true,
        Ok(p) => {
            let _ = p.set_state(gst::State::Playing);
            let m = p.bus().unwrap().timed_pop_filtered(
                gst::ClockTime::from_seconds(10),
                &[gst::MessageType::Error, gst::MessageType::Eos],
            );
            p.set_state(gst::State::Null).unwrap();
            m.is_some_and(|m| m.type_() == gst::MessageType::Error)
        }
    };
    assert!(refused, "YUY2 is refused");

    // A bad colour set while playing: a warning, the previous colours stay.
    let mut hn = harness(&[("colors", &"x:#ff0000")], "RGB", 64, 48);
    let bus = gst::Bus::new();
    hn.element().unwrap().set_bus(Some(&bus));
    hn.element().unwrap().set_property("colors", "x:#12");
    let warning = bus
        .pop_filtered(&[gst::MessageType::Warning])
        .expect("a warning");
    let gst::MessageView::Warning(wm) = warning.view() else {
        unreachable!()
    };
    assert!(wm.error().to_string().contains("x:#12"), "{}", wm.error());
    let out = draw(
        &mut hn,
        &frame("RGB", 64, 48, GREY),
        &[det(10.0, 20.0, 20.0, 20.0, "x", 0)],
        64,
        48,
    );
    let px = rgb_pixels(out.as_ref(), 64, 48);
    assert_eq!(
        &px[(30 * 64 + 10) * 3..(30 * 64 + 10) * 3 + 3],
        &[255, 0, 0]
    );
}

/// rsinfer ! rsoverlay ! x264enc ! mp4mux, then the MP4 decoded back: the outline of each
/// box rsinfer reported is visible in the decoded frame, in the class colour.
#[test]
fn annotated_mp4_shows_the_boxes_rsinfer_reported() {
    init();
    let dir = common::TempDir::new("rsoverlay-mp4");
    let mp4 = dir.path().join("annotated.mp4");
    let video = root().join("data/sample-shapes.mp4");
    let model = common::shapes_model();
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! rsinfer model-location={} conf-threshold=0.5 \
         post-messages=true ! rsoverlay line-width=4 show-labels=false show-confidence=false ! \
         x264enc speed-preset=ultrafast pass=quant quantizer=12 ! mp4mux ! filesink location={}",
        video.display(),
        model.display(),
        mp4.display()
    ));
    // Detections per PTS, from rsinfer's messages.
    let reported = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    {
        let reported = reported.clone();
        pipeline.bus().unwrap().set_sync_handler(move |_, msg| {
            if let Some(s) = msg.structure() {
                if s.name() == "rsinfer-detections" {
                    let pts: u64 = s.get("pts").unwrap();
                    let list = s.get::<gst::List>("detections").unwrap();
                    let boxes: Vec<(i32, [f64; 4])> = list
                        .iter()
                        .map(|v| {
                            let d = v.get::<gst::Structure>().unwrap();
                            (
                                d.get::<i32>("label-id").unwrap(),
                                ["x", "y", "width", "height"].map(|k| d.get::<f64>(k).unwrap()),
                            )
                        })
                        .collect();
                    reported.lock().unwrap().insert(pts, boxes);
                }
            }
            gst::BusSyncReply::Pass
        });
    }
    common::run_to_eos(&pipeline, 120);
    // In PTS order; frames are matched by their index (the MP4 written here starts at
    // PTS 0, the sample video does not).
    let reported: Vec<_> = std::mem::take(&mut *reported.lock().unwrap())
        .into_values()
        .collect();
    assert!(reported.len() > 200, "{} frames reported", reported.len());

    let dec = common::launch(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false",
        mp4.display()
    ));
    let sink = common::element::<gst_app::AppSink>(&dec, "sink");
    dec.set_state(gst::State::Playing).unwrap();
    let (mut checked, mut visible, mut index) = (0, 0, 0);
    while let Ok(sample) = sink.pull_sample() {
        index += 1;
        let caps = sample.caps().unwrap();
        let vi = gst_video::VideoInfo::from_caps(caps).unwrap();
        let (w, h) = (vi.width(), vi.height());
        let buf = sample.buffer().unwrap();
        let Some(boxes) = reported.get(index - 1) else {
            continue;
        };
        let px = rgb_pixels(buf, w, h);
        for (label_id, [x, y, bw, bh]) in boxes {
            let color = gstrsvision::draw::PALETTE[*label_id as usize % 20];
            let (x0, y0) = (x.round() as u32, y.round() as u32);
            let (x1, y1) = ((x + bw).round() as u32, (y + bh).round() as u32);
            if x1 < x0 + 12 || y1 < y0 + 12 || x1 > w || y1 > h {
                continue;
            }
            // The middle of the 4 px top and left edges, away from the corners.
            let samples: Vec<(u32, u32)> = (x0 + 6..x1 - 6)
                .map(|x| (x, y0 + 1))
                .chain((y0 + 6..y1 - 6).map(|y| (x0 + 1, y)))
                .collect();
            let close = samples
                .iter()
                .filter(|&&(x, y)| {
                    let i = ((y * w + x) * 3) as usize;
                    (0..3)
                        .map(|c| i32::from(px[i + c]).abs_diff(i32::from(color[c])))
                        .sum::<u32>()
                        < 60
                })
                .count();
            checked += 1;
            if close * 10 >= samples.len() * 9 {
                visible += 1;
            }
        }
    }
    dec.set_state(gst::State::Null).unwrap();
    assert_eq!(index, reported.len(), "every frame encoded");
    assert!(checked > 500, "{checked} boxes checked");
    assert!(
        visible * 100 >= checked * 95,
        "{visible} of {checked} boxes visible in the MP4"
    );
}

/// pipelines/annotate.sh as documented: the sample video to an annotated MP4.
#[test]
fn the_annotate_pipeline_script_writes_an_annotated_mp4() {
    init();
    let dir = common::TempDir::new("annotate-script");
    let out = dir.path().join("annotated.mp4");
    let status = std::process::Command::new("bash")
        .arg(root().join("pipelines/annotate.sh"))
        .env(
            "RSVISION_PLUGIN_DIR",
            common::plugin_library().parent().unwrap(),
        )
        .env("OUTPUT", &out)
        .env("OVERLAY", "show-stats=true line-width=3")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "annotate.sh failed");
    assert_eq!(
        common::decoded_frames(&out),
        common::decoded_frames(&root().join("data/sample-shapes.mp4"))
    );
}

/// Hundreds of boxes anywhere (outside, across the edges, zero-size, huge) on an odd-sized
/// frame in every format: drawn and clipped, never a crash or a write outside the frame
/// (GStreamer's own strides, so the last row's padding is checked by the memory map).
#[test]
fn hundreds_of_boxes_on_odd_frames_in_every_format() {
    init();
    let (w, h) = (641u32, 479u32);
    let mut dets = Vec::new();
    for i in 0..400 {
        let v = f64::from(i);
        dets.push(det(
            (v * 37.7) % 900.0 - 150.0,
            (v * 23.3) % 700.0 - 120.0,
            (v * 7.0) % 400.0,
            (v * 11.0) % 300.0,
            ["person", "car", "Ёлка", "日本", ""][i as usize % 5],
            i % 25 - 1,
        ));
    }
    dets.push(det(-1e12, -1e12, 2e12, 2e12, "huge", 0));
    for format in FORMATS {
        let mut hn = harness(
            &[("show-stats", &true), ("blur-classes", &"car")],
            format,
            w,
            h,
        );
        let input = frame(format, w, h, "pattern=smpte");
        let out = draw(&mut hn, &input, &dets, w, h);
        assert_eq!(out.size(), input.size());
        assert_eq!(detection::count(&out), dets.len(), "{format}: metas kept");
        assert_ne!(
            out.map_readable().unwrap().as_slice(),
            input.map_readable().unwrap().as_slice()
        );
    }
}
