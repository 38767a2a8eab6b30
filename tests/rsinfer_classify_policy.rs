//! rsinfer's classification policy on objects (`inference-region=objects`), through the real
//! element and ONNX Runtime: `crop-padding`, the re-classification rules of tracks
//! (`reclassify-time`, `reclassify-growth`, `max-attempts`), the vote's publication rules
//! (`min-attempts`, `min-agreement`) and `classifier-threshold`.
//!
//! The model is tests/data/colour_logits.onnx (make_test_models.py `colour_classifier`):
//! logits = 20 x the mean of each input channel (red, green, blue) over the crop, so the
//! expected label and confidence of a crop follow from its pixels alone. The frames are
//! painted here: a uniform field, optionally with one square patch of another colour.
//! Whether a track was inferred on a frame shows in its attribute: `frames_ago` is 0 only
//! when an attempt on that frame voted for the shown label, and `attempts` counts attempts.

mod common;

use common::{init, root};
use gst::prelude::*;
use gstrsvision::detection::{self, attribute, Attribute, Detection};

const W: usize = 320;
const H: usize = 240;
/// 25 fps: 40 ms of PTS per frame.
const FRAME_MS: u64 = 40;

type Rgb = [u8; 3];
const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const GREY: Rgb = [128, 128, 128];
/// Red, with almost as much blue: logits 20 and 20 x 242/255, red at ~0.74.
const MAGENTA: Rgb = [255, 0, 242];

fn data(name: &str) -> String {
    root()
        .join("tests/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// rsinfer classifying objects with colour_logits.onnx into the `colour` attribute, with
/// `props` on top, fed W x H RGB at 25 fps. The harness sends a default TIME segment with
/// the caps, so running time = PTS.
fn harness(props: &[(&str, &str)]) -> gst_check::Harness {
    let element = gst::ElementFactory::make("rsinfer").build().unwrap();
    element.set_property_from_str("model-location", &data("colour_logits.onnx"));
    element.set_property_from_str("inference-region", "objects");
    element.set_property_from_str("attribute-name", "colour");
    for (k, v) in props {
        element.set_property_from_str(k, v);
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={W},height={H},framerate=25/1"
    ));
    h
}

/// A W x H RGB frame of `background`, with the square `patch` (x, y, side, colour) on it.
fn painted(background: Rgb, patch: Option<(usize, usize, usize, Rgb)>) -> gst::Buffer {
    let mut pixels = background.repeat(W * H);
    if let Some((x, y, side, colour)) = patch {
        for row in y..y + side {
            for col in x..x + side {
                let i = 3 * (row * W + col);
                pixels[i..i + 3].copy_from_slice(&colour);
            }
        }
    }
    gst::Buffer::from_mut_slice(pixels)
}

fn object(x: f64, y: f64, w: f64, h: f64, track: Option<u64>) -> Detection {
    Detection {
        x,
        y,
        width: w,
        height: h,
        confidence: 0.9,
        label_id: 0,
        label: "car".into(),
        track_id: track,
        tracking: None,
        attributes: Vec::new(),
    }
}

/// A tracked 40 x 40 box (track 7), anywhere on a uniform frame.
fn tracked() -> Detection {
    object(100.0, 80.0, 40.0, 40.0, Some(7))
}

/// Pushes `buffer` as frame `n` (PTS n x 40 ms) with `objects` as region metas and returns
/// the `colour` attribute of each object, in order.
fn push(
    h: &mut gst_check::Harness,
    mut buffer: gst::Buffer,
    objects: &[Detection],
    n: u64,
) -> Vec<Option<Attribute>> {
    {
        let b = buffer.make_mut();
        b.set_pts(gst::ClockTime::from_mseconds(n * FRAME_MS));
        b.set_duration(gst::ClockTime::from_mseconds(FRAME_MS));
        detection::attach(b, objects, W as u32, H as u32, 0);
    }
    let out = h.push_and_pull(buffer).unwrap();
    out.iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .map(|roi| {
            attribute::of_roi(&roi)
                .into_iter()
                .find(|a| a.name == "colour")
        })
        .collect()
}

/// What one object showed: (label, frames_ago, attempts, votes), or nothing.
type Seen = Option<(String, u32, u32, u32)>;

fn seen(a: &Option<Attribute>) -> Seen {
    a.as_ref()
        .map(|a| (a.label.clone(), a.frames_ago, a.attempts, a.votes))
}

fn s(label: &str, frames_ago: u32, attempts: u32, votes: u32) -> Seen {
    Some((label.to_string(), frames_ago, attempts, votes))
}

/// Pushes one frame per `(colour, object)`, the object alone on a uniform frame of that
/// colour, and returns what it showed on each.
fn run(h: &mut gst_check::Harness, frames: &[(Rgb, Detection)]) -> Vec<Seen> {
    frames
        .iter()
        .enumerate()
        .map(|(n, (colour, o))| {
            seen(&push(h, painted(*colour, None), std::slice::from_ref(o), n as u64)[0])
        })
        .collect()
}

/// The frames on which the track was inferred (`frames_ago` 0 with a constant colour).
fn inferred(got: &[Seen]) -> Vec<usize> {
    got.iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Some((_, 0, _, _))))
        .map(|(n, _)| n)
        .collect()
}

/// The model's softmax top-1 (label index, probability) for a crop whose channels have
/// these means (0..1), computed here from the model's definition.
fn expected(means: [f64; 3]) -> (usize, f64) {
    let logits = means.map(|m| 20.0 * m);
    let sum: f64 = logits.iter().map(|l| l.exp()).sum();
    let (i, l) = logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    (i, l.exp() / sum)
}

fn uniform(c: Rgb) -> [f64; 3] {
    c.map(|v| f64::from(v) / 255.0)
}

#[test]
fn crop_padding_takes_the_surroundings_into_the_crop() {
    init();
    // A 20 px red square in the middle of a blue field; the box is the square. The padded
    // crop is the box grown by `padding` x its side on every side: at 0.1, 24 px of which
    // 69 % red; at 0.3, 32 px, 39 % red; at 2, 100 px, 4 % red.
    let frame = || painted(BLUE, Some((150, 110, 20, RED)));
    let square = [object(150.0, 110.0, 20.0, 20.0, None)];
    let mut h = harness(&[]);
    let mut got = Vec::new();
    for (n, padding) in [0.0, 0.1, 0.3, 2.0, 0.0].into_iter().enumerate() {
        // crop-padding may change while playing.
        h.element().unwrap().set_property("crop-padding", padding);
        let a = push(&mut h, frame(), &square, n as u64).remove(0).unwrap();
        got.push((padding, a.label));
    }
    let want = [
        (0.0, "red"),
        (0.1, "red"),
        (0.3, "blue"),
        (2.0, "blue"),
        (0.0, "red"),
    ];
    let want: Vec<_> = want.iter().map(|(p, l)| (*p, l.to_string())).collect();
    assert_eq!(got, want, "(crop-padding, label)");

    // The padding is clipped at the frame's edges: a 40 px red box in the top left corner
    // of a green field, padded by 1, takes 80 x 80 px of the frame (25 % red), not a
    // 120 px square centred on the box.
    let frame = painted(GREEN, Some((0, 0, 40, RED)));
    h.element().unwrap().set_property("crop-padding", 1.0f64);
    let a = push(&mut h, frame, &[object(0.0, 0.0, 40.0, 40.0, None)], 5)
        .remove(0)
        .unwrap();
    assert_eq!(a.label, "green");
    // Green at softmax(20 x [0.25, 0.75, 0]) = 0.999954 (a 120 px square shifted into the
    // frame would be 11 % red and give 0.9999998; grey filling outside the frame, 0.987).
    let (green, p) = expected([0.25, 0.75, 0.0]);
    assert_eq!(green, 1);
    assert!((a.confidence - p).abs() < 1e-6, "{a:?} vs {p}");
}

#[test]
fn tracks_are_reinferred_after_reclassify_time_of_running_time() {
    init();
    // 40 ms a frame, 120 ms to wait: frames 0, 3 (120 ms), 6, 9, never the interval of
    // 1000 frames.
    let mut h = harness(&[
        ("reclassify-interval", "1000"),
        ("reclassify-time", "120"),
        ("reclassify-growth", "0"),
    ]);
    let got = run(&mut h, &vec![(RED, tracked()); 11]);
    assert_eq!(inferred(&got), [0, 3, 6, 9], "{got:?}");
    let attempts: Vec<_> = got.iter().map(|s| s.as_ref().unwrap().2).collect();
    assert_eq!(attempts, [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4]);
    assert_eq!(got[5], s("red", 2, 2, 2));

    // Without the time rule the same stream is inferred on frame 0 only.
    let mut h = harness(&[("reclassify-interval", "1000"), ("reclassify-growth", "0")]);
    let got = run(&mut h, &vec![(RED, tracked()); 11]);
    assert_eq!(inferred(&got), [0]);
    assert_eq!(got[10], s("red", 10, 1, 1));
}

#[test]
fn tracks_whose_box_grows_are_reinferred_before_the_interval() {
    init();
    // Box sides 40, 42 (+10 % of area), 44 (+21 % over the last attempt's 40), 46 (+9 %
    // over 44), 48 (+19 %), 49 (+24 %), 30 (shrunk), 40 (smaller than 49).
    let sides = [40.0, 42.0, 44.0, 46.0, 48.0, 49.0, 30.0, 40.0];
    let frames: Vec<_> = sides
        .iter()
        .map(|&side| (RED, object(100.0, 80.0, side, side, Some(3))))
        .collect();
    let mut h = harness(&[("reclassify-interval", "1000")]);
    let got = run(&mut h, &frames);
    assert_eq!(inferred(&got), [0, 2, 5], "default growth 0.2: {got:?}");
    assert_eq!(got[7], s("red", 2, 3, 3));

    let mut h = harness(&[("reclassify-interval", "1000"), ("reclassify-growth", "0")]);
    let got = run(&mut h, &frames);
    assert_eq!(inferred(&got), [0], "growth 0: {got:?}");
    assert_eq!(got[7], s("red", 7, 1, 1));
}

#[test]
fn a_result_is_published_after_min_attempts_voting_attempts() {
    init();
    let mut h = harness(&[("reclassify-interval", "1"), ("min-attempts", "3")]);
    let got = run(&mut h, &vec![(RED, tracked()); 5]);
    assert_eq!(
        got,
        [
            None,
            None,
            s("red", 0, 3, 3),
            s("red", 0, 4, 4),
            s("red", 0, 5, 5)
        ]
    );

    // Weak attempts (grey: a uniform softmax of 1/3) are counted but do not vote: three
    // grey frames, then red ones; the third red vote publishes on frame 5.
    let mut h = harness(&[("reclassify-interval", "1"), ("min-attempts", "3")]);
    let frames: Vec<_> = [GREY, GREY, GREY, RED, RED, RED, RED]
        .into_iter()
        .map(|c| (c, tracked()))
        .collect();
    let got = run(&mut h, &frames);
    assert_eq!(got[..5], [None, None, None, None, None], "{got:?}");
    assert_eq!(got[5..], [s("red", 0, 6, 3), s("red", 0, 7, 4)]);
}

#[test]
fn a_result_is_published_only_once_its_label_has_min_agreement() {
    init();
    // Red and green alternate for 6 frames (red's agreement 1/2, 2/3, 2/4, 3/5, 3/6, red
    // winning the ties by its lower id), then red stays: 4/7, 5/8, 6/9, 7/10 = 0.7 on
    // frame 9.
    let colours = [RED, GREEN, RED, GREEN, RED, GREEN, RED, RED, RED, RED, RED];
    let frames: Vec<_> = colours.into_iter().map(|c| (c, tracked())).collect();
    let props = [
        ("reclassify-interval", "1"),
        ("min-attempts", "2"),
        ("min-agreement", "0.7"),
    ];
    let mut h = harness(&props);
    let got = run(&mut h, &frames);
    assert_eq!(got[..9], vec![None; 9], "{got:?}");
    assert_eq!(got[9..], [s("red", 0, 10, 7), s("red", 0, 11, 8)]);

    // Without the agreement rule the same track shows red from its second attempt on (a
    // tie of one vote each, the lower id wins).
    let mut h = harness(&props[..2]);
    let got = run(&mut h, &frames);
    assert_eq!(got[0], None);
    assert_eq!(got[1], s("red", 1, 2, 1));
    assert_eq!(got[2], s("red", 0, 3, 2));
}

#[test]
fn a_track_is_never_reinferred_after_max_attempts() {
    init();
    // Three attempts on red; then the colour and the box change (growth) and the interval
    // elapses on every frame, and the track still shows its red of frame 2.
    let mut frames = vec![(RED, tracked()); 3];
    frames.extend(vec![(GREEN, tracked()); 3]);
    frames.extend(vec![(GREEN, object(50.0, 50.0, 150.0, 150.0, Some(7))); 3]);
    let mut h = harness(&[("reclassify-interval", "1"), ("max-attempts", "3")]);
    let got = run(&mut h, &frames);
    let want: Vec<Seen> = (0..9u32)
        .map(|n| match n {
            0..=2 => s("red", 0, n + 1, n + 1),
            _ => s("red", n - 2, 3, 3),
        })
        .collect();
    assert_eq!(got, want);

    // The default is 16 attempts; 0 has no limit.
    let frames = vec![(RED, tracked()); 20];
    let mut h = harness(&[("reclassify-interval", "1")]);
    let got = run(&mut h, &frames);
    assert_eq!(inferred(&got), (0..16).collect::<Vec<_>>());
    assert_eq!(got[19], s("red", 4, 16, 16));
    let mut h = harness(&[("reclassify-interval", "1"), ("max-attempts", "0")]);
    let got = run(&mut h, &frames);
    assert_eq!(inferred(&got), (0..20).collect::<Vec<_>>());
    assert_eq!(got[19], s("red", 0, 20, 20));
}

#[test]
fn results_below_classifier_threshold_are_not_published() {
    init();
    let (label, p) = expected(uniform(MAGENTA));
    assert_eq!(label, 0);
    assert!((0.73..0.74).contains(&p), "{p}");
    let objects = [tracked(), object(200.0, 80.0, 40.0, 40.0, None)];
    let labels = |got: &[Option<Attribute>]| -> Vec<Option<(String, f64)>> {
        got.iter()
            .map(|a| a.as_ref().map(|a| (a.label.clone(), a.confidence)))
            .collect()
    };

    // The default 0.5: grey (1/3 each) gives nothing, magenta is red at p.
    let mut h = harness(&[("reclassify-interval", "1")]);
    assert_eq!(
        labels(&push(&mut h, painted(GREY, None), &objects, 0)),
        [None, None]
    );
    let got = push(&mut h, painted(MAGENTA, None), &objects, 1);
    for a in &got {
        let a = a.as_ref().expect("red at the default threshold");
        assert_eq!(a.label, "red");
        assert!((a.confidence - p).abs() < 1e-4, "{a:?} vs {p}");
    }
    // The grey attempt counted but did not vote.
    assert_eq!(
        (
            got[0].as_ref().unwrap().attempts,
            got[0].as_ref().unwrap().votes
        ),
        (2, 1)
    );

    // Just above p: nothing, tracked or not; a pure red crop still passes.
    let mut h = harness(&[
        ("reclassify-interval", "1"),
        ("classifier-threshold", "0.75"),
    ]);
    for n in 0..2 {
        let got = push(&mut h, painted(MAGENTA, None), &objects, n);
        assert_eq!(labels(&got), [None, None], "frame {n}");
    }
    let got = push(&mut h, painted(RED, None), &objects, 2);
    assert_eq!(
        seen(&got[0]),
        s("red", 0, 3, 1),
        "two weak attempts, one vote"
    );
    assert_eq!(got[1].as_ref().unwrap().label, "red");

    // Just below p: magenta is red again.
    let mut h = harness(&[
        ("reclassify-interval", "1"),
        ("classifier-threshold", "0.73"),
    ]);
    let got = push(&mut h, painted(MAGENTA, None), &objects, 0);
    assert_eq!(seen(&got[0]), s("red", 0, 1, 1));
    assert_eq!(got[1].as_ref().unwrap().label, "red");
}

/// classifier-threshold is documented as changeable while playing (`mutable_playing`, read
/// per buffer): a change must apply to tracked objects as it does to untracked ones.
#[test]
fn a_classifier_threshold_changed_while_playing_applies_to_tracks() {
    init();
    let objects = [tracked(), object(200.0, 80.0, 40.0, 40.0, None)];
    let mut h = harness(&[
        ("reclassify-interval", "1"),
        ("classifier-threshold", "0.75"),
    ]);
    let got = push(&mut h, painted(MAGENTA, None), &objects, 0);
    assert!(got.iter().all(Option::is_none), "{got:?}");
    h.element()
        .unwrap()
        .set_property("classifier-threshold", 0.7f32);
    let got = push(&mut h, painted(MAGENTA, None), &objects, 1);
    assert_eq!(
        got[1].as_ref().map(|a| a.label.as_str()),
        Some("red"),
        "the untracked object"
    );
    assert_eq!(seen(&got[0]), s("red", 0, 2, 1), "the tracked object");
}
