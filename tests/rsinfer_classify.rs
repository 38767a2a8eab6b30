//! rsinfer with classifiers: on whole frames and on the objects already on the buffer
//! (`inference-region=objects`), with the tiny colour classifiers of
//! tests/data/make_test_models.py (logits = 20 x the mean of each input channel, so a crop
//! of a red area is `red` with probability ~1: which pixels each crop took shows in its
//! label), per-track caching and voting, filters, messages and bad settings.

mod common;

use common::{init, root};
use gst::prelude::*;
use gstrsvision::detection::{self, attribute, Attribute, Detection};

fn data(name: &str) -> String {
    root()
        .join("tests/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

const FORMATS: [&str; 8] = ["I420", "NV12", "RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx"];

/// One frame of videotestsrc `pattern` in `format`.
fn frame(format: &str, pattern: &str, width: u32, height: u32) -> gst::Buffer {
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers=1 pattern={pattern} ! video/x-raw,format={format},width={width},height={height},framerate=30/1 ! appsink name=sink"
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a frame");
    pipeline.set_state(gst::State::Null).unwrap();
    sample.buffer_owned().unwrap()
}

fn harness(props: &[(&str, &str)], format: &str, width: u32, height: u32) -> gst_check::Harness {
    let element = gst::ElementFactory::make("rsinfer").build().unwrap();
    for (k, v) in props {
        element.set_property_from_str(k, v);
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&format!(
        "video/x-raw,format={format},width={width},height={height},framerate=30/1"
    ));
    h
}

fn object(x: f64, y: f64, w: f64, h: f64, label: &str, track: Option<u64>) -> Detection {
    Detection {
        x,
        y,
        width: w,
        height: h,
        confidence: 0.9,
        label_id: 0,
        label: label.into(),
        track_id: track,
        tracking: None,
        attributes: Vec::new(),
    }
}

/// `buffer` with `objects` as region metas numbered from 0, at `pts` frames of 30 fps.
fn with_objects(mut buffer: gst::Buffer, objects: &[Detection], n: u64) -> gst::Buffer {
    let b = buffer.make_mut();
    b.set_pts(gst::ClockTime::from_nseconds(n * 33_333_333));
    b.set_duration(gst::ClockTime::from_nseconds(33_333_333));
    let (w, h) = (320, 240);
    detection::attach(b, objects, w, h, 0);
    buffer
}

/// The `colour` attribute of each region meta, in meta order.
fn colours(buffer: &gst::BufferRef) -> Vec<Option<Attribute>> {
    buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .map(|roi| {
            attribute::of_roi(&roi)
                .into_iter()
                .find(|a| a.name == "colour")
        })
        .collect()
}

fn labels(buffer: &gst::BufferRef) -> Vec<String> {
    colours(buffer)
        .into_iter()
        .map(|a| a.map(|a| a.label).unwrap_or_default())
        .collect()
}

/// Boxes inside SMPTE bars of a 320x240 frame (7 bars of 45.7 px over the top 2/3): the
/// green bar (x 137-182), the red one (229-274) and the blue one (274-320).
fn bar_objects(track: bool) -> Vec<Detection> {
    let t = |i| track.then_some(i);
    vec![
        object(145.0, 20.0, 30.0, 100.0, "car", t(1)),
        object(235.0, 20.0, 30.0, 100.0, "car", t(2)),
        object(282.0, 20.0, 30.0, 100.0, "car", t(3)),
    ]
}

#[test]
fn each_object_is_classified_from_its_own_pixels_in_every_format() {
    init();
    for format in FORMATS {
        let mut h = harness(
            &[
                ("model-location", &data("colour_logits.onnx")),
                ("inference-region", "objects"),
                ("attribute-name", "colour"),
            ],
            format,
            320,
            240,
        );
        let out = h
            .push_and_pull(with_objects(
                frame(format, "smpte", 320, 240),
                &bar_objects(false),
                0,
            ))
            .unwrap();
        assert_eq!(labels(&out), ["green", "red", "blue"], "{format}");
        for a in colours(&out).into_iter().flatten() {
            assert!(a.confidence > 0.99, "{format}: {a:?}");
            assert_eq!(a.model_name, "colour_logits");
            assert_eq!(a.frames_ago, 0);
        }
        // The gvaclassify fields, as gvametaconvert reads them.
        let roi = out
            .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
            .next()
            .unwrap();
        let s = roi.param("colour").unwrap();
        assert_eq!(s.get::<&str>("type").unwrap(), "classification_result");
        assert_eq!(s.get::<&str>("label").unwrap(), "green");
        assert_eq!(s.get::<i32>("label_id").unwrap(), 1);
        // A classifier adds no objects and no frame marker.
        assert_eq!(detection::count(&out), 3);
        assert!(detection::frame::markers(&out).is_empty());
    }
}

#[test]
fn ultralytics_classifiers_are_not_softmaxed_twice_and_the_attribute_defaults_to_the_model() {
    init();
    let mut h = harness(
        &[
            ("model-location", &data("colour_cls.onnx")),
            ("inference-region", "objects"),
        ],
        "RGB",
        320,
        240,
    );
    let out = h
        .push_and_pull(with_objects(
            frame("RGB", "smpte", 320, 240),
            &bar_objects(false),
            0,
        ))
        .unwrap();
    let roi = out
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .nth(1)
        .unwrap();
    let a = attribute::of_roi(&roi).pop().expect("a result");
    assert_eq!((a.name.as_str(), a.label.as_str()), ("colour_cls", "red"));
    // softmax(20 x [0.75, 0, 0]) = 0.9999994; softmaxed again it would be 0.58.
    assert!(a.confidence > 0.99, "{a:?}");
}

#[test]
fn whole_frames_get_a_frame_classification() {
    init();
    let mut h = harness(
        &[
            ("model-location", &data("colour_logits.onnx")),
            ("attribute-name", "colour"),
            ("inference-interval", "2"),
        ],
        "I420",
        320,
        240,
    );
    let name = h.element().unwrap().name().to_string();
    let out = h
        .push_and_pull(with_objects(frame("I420", "red", 320, 240), &[], 0))
        .unwrap();
    let got = attribute::of_frame(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, name);
    assert_eq!((got[0].1.label.as_str(), got[0].1.frames_ago), ("red", 0));
    // Frame 1 is not inferred: the latest result, one frame old.
    let out = h
        .push_and_pull(with_objects(frame("I420", "blue", 320, 240), &[], 1))
        .unwrap();
    let got = attribute::of_frame(&out);
    assert_eq!((got[0].1.label.as_str(), got[0].1.frames_ago), ("red", 1));
    let out = h
        .push_and_pull(with_objects(frame("I420", "blue", 320, 240), &[], 2))
        .unwrap();
    assert_eq!(attribute::of_frame(&out)[0].1.label, "blue");
}

#[test]
fn object_class_and_size_gates_choose_the_objects() {
    init();
    let mut objects = bar_objects(false);
    objects[0].label = "person".into();
    objects[2].width = 10.0;
    let mut h = harness(
        &[
            ("model-location", &data("colour_logits.onnx")),
            ("inference-region", "objects"),
            ("attribute-name", "colour"),
            ("object-class", "car"),
            ("min-object-size", "12"),
        ],
        "RGB",
        320,
        240,
    );
    let out = h
        .push_and_pull(with_objects(frame("RGB", "smpte", 320, 240), &objects, 0))
        .unwrap();
    assert_eq!(
        labels(&out),
        ["", "red", ""],
        "a person and a 10 px car skipped"
    );
    // Changed while playing.
    let element = h.element().unwrap();
    element.set_property_from_str("object-class", "");
    element.set_property("min-object-size", 0u32);
    element.set_property("max-object-size", 50u32);
    let mut small = objects.clone();
    small[0].height = 45.0;
    small[1].height = 45.0;
    let out = h
        .push_and_pull(with_objects(frame("RGB", "smpte", 320, 240), &small, 1))
        .unwrap();
    assert_eq!(
        labels(&out),
        ["green", "red", ""],
        "a person now, and no 100 px high box"
    );
}

#[test]
fn tracks_are_reclassified_every_n_frames_and_served_from_the_cache_between() {
    init();
    let mut h = harness(
        &[
            ("model-location", &data("colour_logits.onnx")),
            ("inference-region", "objects"),
            ("attribute-name", "colour"),
            ("reclassify-interval", "4"),
            ("post-messages", "true"),
        ],
        "RGB",
        320,
        240,
    );
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
    let mut seen = Vec::new();
    for n in 0..9 {
        let out = h
            .push_and_pull(with_objects(
                frame("RGB", "smpte", 320, 240),
                &bar_objects(true),
                n,
            ))
            .unwrap();
        let c = colours(&out);
        assert_eq!(labels(&out), ["green", "red", "blue"], "frame {n}");
        seen.push((
            c[1].as_ref().unwrap().frames_ago,
            c[1].as_ref().unwrap().attempts,
        ));
    }
    assert_eq!(
        seen,
        [
            (0, 1),
            (1, 1),
            (2, 1),
            (3, 1),
            (0, 2),
            (1, 2),
            (2, 2),
            (3, 2),
            (0, 3)
        ],
        "(frames_ago, attempts) of track 2"
    );
    let messages: Vec<_> = std::iter::from_fn(|| bus.pop())
        .filter(|m| {
            m.structure()
                .is_some_and(|s| s.name() == "rsinfer-classifications")
        })
        .collect();
    assert_eq!(messages.len(), 9);
    let s = messages[1].structure().unwrap();
    let list = s.get::<gst::List>("classifications").unwrap();
    assert_eq!(list.len(), 3);
    let first = list.get(1).unwrap().get::<gst::Structure>().unwrap();
    assert_eq!(first.get::<&str>("label").unwrap(), "red");
    assert_eq!(first.get::<u64>("track-id").unwrap(), 2);
    assert_eq!(first.get::<u32>("frames-ago").unwrap(), 1);
}

/// The labels of a track whose box sits on the red bar for 3 frames, then on the green one,
/// classified on every frame.
fn red_then_green(switch_votes: &str) -> Vec<String> {
    let mut h = harness(
        &[
            ("model-location", &data("colour_logits.onnx")),
            ("inference-region", "objects"),
            ("attribute-name", "colour"),
            ("reclassify-interval", "1"),
            ("reclassify-growth", "0"),
            ("identity-switch-votes", switch_votes),
        ],
        "RGB",
        320,
        240,
    );
    let red = object(235.0, 20.0, 30.0, 100.0, "car", Some(7));
    let green = object(145.0, 20.0, 30.0, 100.0, "car", Some(7));
    let mut got = Vec::new();
    for n in 0..8 {
        let o = if n < 3 { &red } else { &green };
        let out = h
            .push_and_pull(with_objects(
                frame("RGB", "smpte", 320, 240),
                std::slice::from_ref(o),
                n,
            ))
            .unwrap();
        got.push(labels(&out)[0].clone());
    }
    got
}

#[test]
fn a_confident_result_is_not_replaced_by_one_different_attempt() {
    init();
    // Without identity switches: DeepStream and gvaclassify would switch at once (latest
    // wins); the vote switches once green's votes outweigh red's. Frame 5 is a tie of three
    // votes each (the winner must strictly overtake).
    let got = red_then_green("0");
    assert_eq!(
        got[..5],
        ["red"; 5],
        "green needs more votes than red's three: {got:?}"
    );
    assert_eq!(got[6..], ["green"; 2], "{got:?}");
    // With the default identity-switch-votes=2: one confident green is not enough, two in a
    // row mean another object under the same id.
    let got = red_then_green("2");
    assert_eq!(got[..4], ["red"; 4], "{got:?}");
    assert_eq!(got[4..], ["green"; 4], "{got:?}");
}

#[test]
fn untracked_objects_are_classified_on_every_frame() {
    init();
    let mut h = harness(
        &[
            ("model-location", &data("colour_logits.onnx")),
            ("inference-region", "objects"),
            ("attribute-name", "colour"),
            ("reclassify-interval", "100"),
        ],
        "RGB",
        320,
        240,
    );
    for (n, o) in [(0, 235.0), (1, 145.0)] {
        let out = h
            .push_and_pull(with_objects(
                frame("RGB", "smpte", 320, 240),
                &[object(o, 20.0, 30.0, 100.0, "car", None)],
                n,
            ))
            .unwrap();
        let expected = if n == 0 { "red" } else { "green" };
        assert_eq!(labels(&out), [expected]);
    }
}

#[test]
fn bad_classifier_settings_are_clear_start_errors() {
    init();
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "model-location={} model-type=classify",
                data("const_v8.onnx")
            ),
            "const_v8",
        ),
        (
            format!(
                "model-location={} model-type=yolov8",
                data("colour_logits.onnx")
            ),
            "colour_logits",
        ),
        (
            format!("model-location={} mean=a,b", data("colour_logits.onnx")),
            "mean",
        ),
        (
            format!("model-location={} std=0,1,1", data("colour_logits.onnx")),
            "std",
        ),
    ];
    for (props, expected) in cases {
        let pipeline = common::launch(&format!(
            "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=64 ! rsinfer {props} ! fakesink"
        ));
        pipeline.set_state(gst::State::Playing).ok();
        let bus = pipeline.bus().unwrap();
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(20),
                &[gst::MessageType::Error, gst::MessageType::Eos],
            )
            .expect("a message");
        pipeline.set_state(gst::State::Null).unwrap();
        match msg.view() {
            gst::MessageView::Error(e) => assert!(
                e.error().to_string().contains(expected),
                "{props}: {}",
                e.error()
            ),
            _ => panic!("{props}: no error"),
        }
    }
}

#[test]
fn a_chained_pipeline_classifies_the_detectors_objects() {
    init();
    // rsvision-shapes finds the shapes of the sample video; the colour classifier names
    // the dominant colour of each box (whatever it is: the point is that every object of
    // every inferred frame gets a result through a real pipeline, in order).
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=NV12 ! \
         rsinfer model-location={} conf-threshold=0.5 ! rstracker ! \
         rsinfer inference-region=objects model-location={} attribute-name=colour classifier-threshold=0 ! \
         appsink name=sink sync=false",
        root().join("data/sample-shapes.mp4").display(),
        common::shapes_model().display(),
        data("colour_logits.onnx"),
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let (mut objects, mut classified) = (0, 0);
    for _ in 0..30 {
        let sample = sink.pull_sample().expect("a frame");
        let buffer = sample.buffer().unwrap();
        let c = colours(buffer);
        objects += c.len();
        classified += c.iter().filter(|a| a.is_some()).count();
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(objects > 30, "the detector found objects: {objects}");
    assert_eq!(classified, objects, "every object has a colour");
}

/// pipelines/classify.sh as documented: the sample video through detector, tracker and the
/// shipped colour classifier to an annotated MP4, every frame kept; a bad classifier is a
/// clear failure.
#[test]
fn the_classify_pipeline_script_writes_an_annotated_mp4() {
    init();
    let dir = common::TempDir::new("classify-script");
    let out = dir.path().join("classified.mp4");
    let run = |args: &[&str]| {
        std::process::Command::new("bash")
            .arg(root().join("pipelines/classify.sh"))
            .args(args)
            .env(
                "RSVISION_PLUGIN_DIR",
                common::plugin_library().parent().unwrap(),
            )
            .env("OUTPUT", &out)
            .output()
            .unwrap()
    };
    let output = run(&[]);
    assert!(
        output.status.success(),
        "classify.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        common::decoded_frames(&out),
        common::decoded_frames(&root().join("data/sample-shapes.mp4"))
    );
    let video = root().join("data/sample-shapes.mp4");
    let bad = run(&[video.to_str().unwrap(), "/nonexistent/classifier.onnx"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/classifier.onnx"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
