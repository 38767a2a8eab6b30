//! rsoverlay on tracked objects: predicted boxes (`predicted-style`) and trails
//! (`show-trails`, `trail-length`); part of the `rsoverlay` test binary.

use super::*;

/// `d` with track id `id`, as rstracker writes it: detected, or predicted on this frame.
fn tracked(d: Detection, id: u64, predicted: bool) -> Detection {
    Detection {
        track_id: Some(id),
        tracking: Some(TrackInfo {
            predicted,
            ..TrackInfo::default()
        }),
        ..d
    }
}

/// Lengths of the runs of equal values in `flags`: `(drawn, length)`.
fn runs(flags: impl IntoIterator<Item = bool>) -> Vec<(bool, usize)> {
    let mut out: Vec<(bool, usize)> = Vec::new();
    for f in flags {
        match out.last_mut() {
            Some((v, n)) if *v == f => *n += 1,
            _ => out.push((f, 1)),
        }
    }
    out
}

#[test]
fn predicted_boxes_are_dashed_pixel_exactly_in_every_format() {
    init();
    let (w, h) = (161u32, 121u32);
    // The box of the outline test, predicted: x 20..102 (82 px), y 31..81 (50 px), 3 px.
    let d = tracked(det(20.4, 30.6, 81.2, 50.0, "thing", 2), 7, true);
    let (x0, y0, x1, y1, lw) = (20u32, 31u32, 102u32, 81u32, 3u32);
    // Dashes of max(4, 3 * 3) = 9 px, gaps of max(3, 2 * 3) = 6, from both corners of a side.
    let dashed = |k: u32, n: u32| k.min(n - 1 - k) % 15 < 9;
    let on = |x: u32, y: u32| {
        let inside = (x0..x1).contains(&x) && (y0..y1).contains(&y);
        if !inside {
            false
        } else if y < y0 + lw || y >= y1 - lw {
            dashed(x - x0, x1 - x0)
        } else {
            (x < x0 + lw || x >= x1 - lw) && dashed(y - y0, y1 - y0)
        }
    };
    // Worked out by hand: the top side is 9 on, 6 off, 9, 6, 9, then the 4 px left in the
    // middle, and the same back from the other corner; the left side (50 px) meets in a 2 px
    // gap.
    let (t, f) = (true, false);
    let top = [
        (t, 9),
        (f, 6),
        (t, 9),
        (f, 6),
        (t, 9),
        (f, 4),
        (t, 9),
        (f, 6),
        (t, 9),
        (f, 6),
        (t, 9),
    ];
    let left = [(t, 9), (f, 6), (t, 9), (f, 2), (t, 9), (f, 6), (t, 9)];
    for format in FORMATS {
        let mut hn = harness(&EXACT, format, w, h);
        let input = frame(format, w, h, GREY);
        let out = draw(&mut hn, &input, std::slice::from_ref(&d), w, h);
        assert_painted(format, (&input, &out), (w, h), BLUE, &on);
        if matches!(format, "I420" | "RGBA") {
            // Read back from the frame: the runs along each side, corners drawn.
            let vi = info(format, w, h);
            let fout =
                gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &vi).unwrap();
            let blue = |x: u32, y: u32| {
                (f64::from(comp(&fout, 0, x, y)) - expected(format, BLUE, 0)).abs() <= 1.0
            };
            for y in [y0, y0 + 1, y1 - 1] {
                assert_eq!(runs((x0..x1).map(|x| blue(x, y))), top, "{format} row {y}");
            }
            for x in [x0, x1 - 2] {
                assert_eq!(
                    runs((y0..y1).map(|y| blue(x, y))),
                    left,
                    "{format} column {x}"
                );
            }
            assert!(!blue(x0 + lw, y0 + 20), "{format}: the inside is untouched");
        }
    }
}

#[test]
fn predicted_style_hidden_solid_and_thin_while_playing() {
    init();
    let (w, h) = (240u32, 120u32);
    let mut hn = harness(&[("colors", &"thing:#1e90ff")], "RGB", w, h);
    let element = hn.element().unwrap();
    assert_eq!(
        element.property::<PredictedStyle>("predicted-style"),
        PredictedStyle::Dashed
    );
    let input = frame("RGB", w, h, GREY);
    let orig = rgb_pixels(input.as_ref(), w, h);
    let predicted = tracked(det(20.0, 50.0, 50.0, 40.0, "thing", 2), 1, true);
    // The labels fit in the frame: not shifted left over the predicted box.
    let detected = tracked(det(100.0, 50.0, 50.0, 40.0, "thing", 2), 2, false);
    let both = [predicted.clone(), detected];
    let px = |v: &[u8], x: u32, y: u32| {
        let i = ((y * w + x) * 3) as usize;
        [v[i], v[i + 1], v[i + 2]]
    };

    element.set_property("predicted-style", PredictedStyle::Hidden);
    let out = rgb_pixels(draw(&mut hn, &input, &both, w, h).as_ref(), w, h);
    for y in 0..h {
        for x in 0..90 {
            assert_eq!(
                px(&out, x, y),
                px(&orig, x, y),
                "hidden box or label at {x},{y}"
            );
        }
    }
    assert_eq!(px(&out, 100, 70), BLUE, "the detected box is drawn");
    assert_eq!(px(&out, 100, 45), BLUE, "with its label");
    // Only hidden boxes: nothing to draw, the buffer passes through untouched.
    let mut only = input.copy();
    detection::attach(
        only.get_mut().unwrap(),
        std::slice::from_ref(&predicted),
        w,
        h,
        0,
    );
    let ptr = only.as_ptr();
    hn.push(only).unwrap();
    assert_eq!(hn.pull().unwrap().as_ptr(), ptr, "passed through");

    // Solid: the 2 px outline is continuous; thin: 1 px.
    element.set_property("predicted-style", PredictedStyle::Solid);
    let out = rgb_pixels(draw(&mut hn, &input, &both, w, h).as_ref(), w, h);
    assert!((50..90).all(|y| px(&out, 20, y) == BLUE && px(&out, 21, y) == BLUE));
    assert_eq!(px(&out, 22, 70), px(&orig, 22, 70));
    element.set_property("predicted-style", PredictedStyle::Thin);
    let out = rgb_pixels(draw(&mut hn, &input, &both, w, h).as_ref(), w, h);
    assert!((50..90).all(|y| px(&out, 20, y) == BLUE));
    assert_eq!(px(&out, 21, 70), px(&orig, 21, 70), "1 px only");
    assert_eq!(px(&out, 101, 70), BLUE, "detected boxes keep their width");
    // Dashed (back to the default): the left side has gaps: 6 on, 4 off from the corner.
    element.set_property("predicted-style", PredictedStyle::Dashed);
    let out = rgb_pixels(draw(&mut hn, &input, &both, w, h).as_ref(), w, h);
    let side: Vec<bool> = (50..66).map(|y| px(&out, 20, y) == BLUE).collect();
    assert_eq!(runs(side), [(true, 6), (false, 4), (true, 6)]);
}

/// Distance from `p` to the segment `a`-`b`.
fn distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.0 - a.0 - t * dx).hypot(p.1 - a.1 - t * dy)
}

#[test]
fn trails_follow_the_box_centres_in_every_format() {
    init();
    let (w, h) = (160u32, 120u32);
    // A 21x15 box moving by (8, 5) per frame: centres (30.5 + 8 i, 37.5 + 5 i) lie on pixel
    // centres. Line width 6: trails 3 px wide, so every pixel within 1.5 of the path is drawn.
    let boxes: Vec<Detection> = (0..10)
        .map(|i| {
            let d = det(
                20.0 + 8.0 * f64::from(i),
                30.0 + 5.0 * f64::from(i),
                21.0,
                15.0,
                "thing",
                2,
            );
            tracked(d, 3, i % 3 == 1)
        })
        .collect();
    let centres: Vec<(f64, f64)> = (0..10)
        .map(|i| (30.5 + 8.0 * f64::from(i), 37.5 + 5.0 * f64::from(i)))
        .collect();
    let near = |x: u32, y: u32| {
        let p = (f64::from(x) + 0.5, f64::from(y) + 0.5);
        centres
            .windows(2)
            .map(|s| distance(p, s[0], s[1]))
            .fold(f64::INFINITY, f64::min)
    };
    // The current box: x 92..113, y 75..90, its 6 px outline in the same colour.
    let in_box = |x: u32, y: u32| (92..113).contains(&x) && (75..90).contains(&y);
    let on_outline =
        |x: u32, y: u32| in_box(x, y) && !((98..107).contains(&x) && (81..84).contains(&y));
    for format in FORMATS {
        let mut hn = harness(
            &[
                ("line-width", &6u32),
                ("show-labels", &false),
                ("show-confidence", &false),
                ("colors", &"thing:#1e90ff"),
                ("show-trails", &true),
            ],
            format,
            w,
            h,
        );
        let input = frame(format, w, h, GREY);
        let mut out = input.clone();
        for b in &boxes {
            out = draw(&mut hn, &input, std::slice::from_ref(b), w, h);
        }
        let vi = info(format, w, h);
        let fin = gst_video::VideoFrameRef::from_buffer_ref_readable(input.as_ref(), &vi).unwrap();
        let fout = gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &vi).unwrap();
        let direct: &[u32] = if is_yuv(format) { &[0] } else { &[0, 1, 2] };
        let blue = |x: u32, y: u32| {
            direct.iter().all(|&c| {
                (f64::from(comp(&fout, c, x, y)) - expected(format, BLUE, c)).abs() <= 1.0
            })
        };
        let same = |x: u32, y: u32| {
            direct
                .iter()
                .all(|&c| comp(&fin, c, x, y) == comp(&fout, c, x, y))
        };
        // On the segment between the 3rd and 4th centres (frames long gone): the class colour.
        for k in 0..=16 {
            let t = f64::from(k) / 16.0;
            let (px, py) = (46.5 + 8.0 * t, 47.5 + 5.0 * t);
            assert!(blue(px as u32, py as u32), "{format}: trail at {px},{py}");
        }
        // Everywhere: drawn near the path and on the box outline, untouched away from both.
        for y in 0..h {
            for x in 0..w {
                let d = near(x, y);
                if d <= 1.4 || on_outline(x, y) {
                    assert!(blue(x, y), "{format}: {x},{y} at {d:.2} from the path");
                } else if d > 1.6 && !in_box(x, y) {
                    assert!(
                        same(x, y),
                        "{format}: {x},{y} at {d:.2} from the path changed"
                    );
                }
            }
        }
        assert!(
            same(150, 10) && same(10, 110),
            "{format}: far from the path"
        );
    }
}

#[test]
fn trails_fade_are_forgotten_after_trail_length_frames_and_reset_on_flush() {
    init();
    let (w, h) = (160u32, 120u32);
    let props: [(&str, &dyn ToValue); 5] = [
        ("show-labels", &false),
        ("show-confidence", &false),
        ("colors", &"thing:#1e90ff"),
        ("show-trails", &true),
        ("trail-length", &5u32),
    ];
    let input = frame("RGB", w, h, GREY);
    let orig = rgb_pixels(input.as_ref(), w, h);
    let at = |v: &[u8], x: u32| {
        let i = ((60 * w + x) * 3) as usize;
        [v[i], v[i + 1], v[i + 2]]
    };
    // Track 4 moving right along y = 60.5: centres 30.5, 40.5, 50.5, 60.5 on frames 1..4.
    let object = |x: f64| tracked(det(x, 53.0, 21.0, 15.0, "thing", 2), 4, false);
    let start = |hn: &mut gst_check::Harness| {
        for i in 0..4 {
            draw(hn, &input, &[object(20.0 + 10.0 * f64::from(i))], w, h);
        }
    };
    // An empty frame: its pixels, and whether it was passed through as it came.
    let empty = |hn: &mut gst_check::Harness| {
        hn.push(input.clone()).unwrap();
        let out = hn.pull().unwrap();
        (
            rgb_pixels(out.as_ref(), w, h),
            out.as_ptr() == input.as_ptr(),
        )
    };

    let mut hn = harness(&props, "RGB", w, h);
    start(&mut hn);
    // Without the object the trail stays, losing its oldest point each frame.
    let (px, through) = empty(&mut hn); // frame 5: 30.5 .. 60.5
    assert!(!through && at(&px, 35) == BLUE && at(&px, 55) == BLUE);
    let (px, _) = empty(&mut hn); // frame 6: 40.5 .. 60.5
    assert!(at(&px, 36) == at(&orig, 36) && at(&px, 45) == BLUE);
    let (px, _) = empty(&mut hn); // frame 7: 50.5 .. 60.5
    assert!(at(&px, 45) == at(&orig, 45) && at(&px, 55) == BLUE);
    // Frame 8: one point left, nothing to draw: the frame passes through untouched.
    let (px, through) = empty(&mut hn);
    assert!(through && px == orig);

    // Back 4 frames after it was last seen: the trail joins its last centre (frame 4 is
    // among the last 5 frames)...
    let mut hn = harness(&props, "RGB", w, h);
    start(&mut hn);
    for _ in 0..3 {
        empty(&mut hn);
    }
    let out = rgb_pixels(draw(&mut hn, &input, &[object(120.0)], w, h).as_ref(), w, h);
    assert_eq!(at(&out, 95), BLUE, "joined to the old path");
    // ... 5 frames after: forgotten, a new trail starts.
    let mut hn = harness(&props, "RGB", w, h);
    start(&mut hn);
    for _ in 0..4 {
        empty(&mut hn);
    }
    let out = rgb_pixels(draw(&mut hn, &input, &[object(120.0)], w, h).as_ref(), w, h);
    assert_eq!(at(&out, 95), at(&orig, 95), "forgotten");
    assert_eq!(at(&out, 120), BLUE, "the new box is drawn");

    // A flush or a new stream forgets every trail; so does turning trails off.
    for reset in ["flush", "stream-start", "show-trails"] {
        let mut hn = harness(&props, "RGB", w, h);
        start(&mut hn);
        match reset {
            "flush" => {
                assert!(hn.push_event(gst::event::FlushStart::new()));
                assert!(hn.push_event(gst::event::FlushStop::new(true)));
            }
            "stream-start" => assert!(hn.push_event(gst::event::StreamStart::new("again"))),
            _ => {
                hn.element().unwrap().set_property("show-trails", false);
                empty(&mut hn);
                hn.element().unwrap().set_property("show-trails", true);
            }
        }
        let segment = gst::FormattedSegment::<gst::ClockTime>::new();
        assert!(hn.push_event(gst::event::Segment::new(&segment)));
        let (px, through) = empty(&mut hn);
        assert!(through && px == orig, "{reset}: no trail left");
    }
}
