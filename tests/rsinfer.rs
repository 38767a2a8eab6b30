//! Harness and pipeline tests of rsinfer with tiny constant-output models
//! (tests/data/make_test_models.py documents their boxes), so every expected coordinate is
//! known exactly.

mod common;

use common::{init, root};
use gst::glib;
use gst::prelude::*;
use gstrsvision::detection::{self, Detection};

fn data(name: &str) -> String {
    root()
        .join("tests/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

const FORMATS: [&str; 8] = ["I420", "NV12", "RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx"];

/// A frame of `format` filled with a pattern, via videotestsrc (so strides and plane
/// offsets are GStreamer's own).
fn frame(format: &str, width: u32, height: u32) -> gst::Buffer {
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format={format},width={width},height={height},framerate=30/1 ! appsink name=sink"
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a frame");
    pipeline.set_state(gst::State::Null).unwrap();
    sample.buffer_owned().unwrap()
}

fn caps(format: &str, width: u32, height: u32) -> String {
    format!("video/x-raw,format={format},width={width},height={height},framerate=30/1")
}

fn harness(
    props: &[(&str, &dyn ToValue)],
    format: &str,
    width: u32,
    height: u32,
) -> gst_check::Harness {
    // One push, one buffer out: inference in the streaming thread (the window of frames in
    // flight has its own tests below).
    let element = gst::ElementFactory::make("rsinfer")
        .property("max-in-flight", 1u32)
        .build()
        .unwrap();
    for (k, v) in props {
        element.set_property_from_value(k, &v.to_value());
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&caps(format, width, height));
    h
}

/// A harness around rsinfer with the constant YOLOv8-layout model.
fn v8_harness(format: &str, width: u32, height: u32) -> gst_check::Harness {
    harness(
        &[("model-location", &data("const_v8.onnx"))],
        format,
        width,
        height,
    )
}

/// Pushes frame `n` of `format` through the harness and reads the detections it comes
/// back with.
fn push_frame(
    h: &mut gst_check::Harness,
    format: &str,
    width: u32,
    height: u32,
    n: u64,
) -> Vec<Detection> {
    let out = h
        .push_and_pull(with_pts(frame(format, width, height), n))
        .unwrap();
    detection::read(&out, width, height)
}

fn with_pts(mut buffer: gst::Buffer, n: u64) -> gst::Buffer {
    {
        let b = buffer.make_mut();
        b.set_pts(gst::ClockTime::from_mseconds(33 * n));
        b.set_duration(gst::ClockTime::from_mseconds(33));
    }
    buffer
}

fn assert_close(d: &Detection, label: &str, rect: (f64, f64, f64, f64), conf: f64) {
    assert_eq!(d.label, label, "{d:?}");
    let got = (d.x, d.y, d.width, d.height);
    for (a, b) in [
        (got.0, rect.0),
        (got.1, rect.1),
        (got.2, rect.2),
        (got.3, rect.3),
    ] {
        assert!((a - b).abs() < 1e-3, "{d:?} != {rect:?}");
    }
    assert!((d.confidence - conf).abs() < 1e-6, "{d:?}");
}

/// Expected detections of the constant models at default settings on a 320x240 frame
/// (letterboxed into 64x64: scale 0.2, content 64x48, 8 px of padding at the top).
fn expect_320x240(dets: &[Detection]) {
    assert_eq!(dets.len(), 3, "{dets:?}");
    // alpha: model box (24, 28)-(40, 36) -> frame (120, 100)-(200, 140).
    assert_close(&dets[0], "alpha", (120.0, 100.0, 80.0, 40.0), 0.9);
    // beta: (6, 16)-(14, 24) -> (30, 40)-(70, 80).
    assert_close(&dets[1], "beta", (30.0, 40.0, 40.0, 40.0), 0.6);
    // gamma: (7, 16)-(15, 24) -> (35, 40)-(75, 80).
    assert_close(&dets[2], "gamma", (35.0, 40.0, 40.0, 40.0), 0.3);
}

#[test]
fn every_format_gets_exact_metadata_and_untouched_pixels() {
    init();
    for format in FORMATS {
        let mut h = harness(
            &[("model-location", &data("const_v8.onnx"))],
            format,
            320,
            240,
        );
        let input = with_pts(frame(format, 320, 240), 0);
        let before = input.map_readable().unwrap().to_vec();
        let out = h.push_and_pull(input).unwrap();
        assert_eq!(
            out.map_readable().unwrap().as_slice(),
            &before[..],
            "{format}: pixels changed"
        );
        let dets = detection::read(&out, 320, 240);
        expect_320x240(&dets);
        // The raw metas: ids from 0, integer rectangles, the detection structure.
        let metas: Vec<_> = out
            .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
            .collect();
        assert_eq!(
            metas.iter().map(|m| m.id()).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(metas[0].rect(), (120, 100, 80, 40));
        assert_eq!(metas[0].roi_type(), "alpha");
        let s = metas[0].param("detection").unwrap();
        assert_eq!(s.get::<i32>("label_id").unwrap(), 0);
        assert!((s.get::<f64>("x_min").unwrap() - 120.0 / 320.0).abs() < 1e-9);
        assert!((s.get::<f64>("y_max").unwrap() - 140.0 / 240.0).abs() < 1e-9);
    }
}

#[test]
fn all_layouts_decode_to_the_same_boxes() {
    init();
    for model in [
        "const_v8.onnx",
        "const_v5.onnx",
        "const_e2e.onnx",
        "const_v8_dynamic.onnx",
    ] {
        let mut h = harness(&[("model-location", &data(model))], "RGB", 320, 240);
        let dets = push_frame(&mut h, "RGB", 320, 240, 0);
        expect_320x240(&dets);
    }
}

#[test]
fn odd_sizes_portrait_and_stretch_map_back_exactly() {
    init();
    // Portrait 240x320: content 48x64, 8 px padding left. alpha (24,28)-(40,36) ->
    // x (24-8)*5 = 80 .. 160, y 28*5 = 140 .. 180.
    let mut h = v8_harness("I420", 240, 320);
    let dets = push_frame(&mut h, "I420", 240, 320, 0);
    assert_close(&dets[0], "alpha", (80.0, 140.0, 80.0, 40.0), 0.9);

    // Stretch: x scale 320/64 = 5, y scale 240/64 = 3.75.
    let mut h = harness(
        &[
            ("model-location", &data("const_v8.onnx")),
            ("resize", &gstrsvision::rsinfer::Resize::Stretch),
        ],
        "RGB",
        320,
        240,
    );
    let dets = push_frame(&mut h, "RGB", 320, 240, 0);
    assert_close(&dets[0], "alpha", (120.0, 105.0, 80.0, 30.0), 0.9);

    // Odd size 641x479: r = 64/641, content 64 x round(479*64/641) = 48 (47.83), top 8.
    let mut h = v8_harness("NV12", 641, 479);
    let dets = push_frame(&mut h, "NV12", 641, 479, 0);
    let sx = 641.0 / 64.0;
    let sy = 479.0 / 48.0;
    assert_close(
        &dets[0],
        "alpha",
        (24.0 * sx, 20.0 * sy, 16.0 * sx, 8.0 * sy),
        0.9,
    );
}

#[test]
fn thresholds_limits_and_classes_apply_per_buffer() {
    init();
    let mut h = v8_harness("RGB", 320, 240);
    let element = h.element().unwrap();
    let mut n = 0;
    let mut push = |h: &mut gst_check::Harness| {
        n += 1;
        let out = h
            .push_and_pull(with_pts(frame("RGB", 320, 240), n))
            .unwrap();
        detection::read(&out, 320, 240)
    };
    assert_eq!(push(&mut h).len(), 3);
    element.set_property("conf-threshold", 0.5f32);
    let d = push(&mut h);
    assert_eq!(
        d.iter().map(|d| d.label.as_str()).collect::<Vec<_>>(),
        ["alpha", "beta"]
    );
    element.set_property("conf-threshold", 0.1f32);
    assert_eq!(push(&mut h).len(), 4, "the 0.2 box appears");
    element.set_property("conf-threshold", 0.25f32);
    // IoU threshold above 0.78: the second beta box survives NMS.
    element.set_property("iou-threshold", 0.9f32);
    let d = push(&mut h);
    assert_eq!(d.iter().filter(|d| d.label == "beta").count(), 2);
    element.set_property("iou-threshold", 0.45f32);
    element.set_property("max-detections", 1u32);
    let d = push(&mut h);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].label, "alpha");
    element.set_property("max-detections", 300u32);
    element.set_property("classes", "gamma, beta");
    let d = push(&mut h);
    assert_eq!(
        d.iter().map(|d| d.label.as_str()).collect::<Vec<_>>(),
        ["beta", "gamma"]
    );
    element.set_property("classes", "0");
    let d = push(&mut h);
    assert_eq!(
        d.iter().map(|d| d.label.as_str()).collect::<Vec<_>>(),
        ["alpha"]
    );
    element.set_property("classes", None::<String>);
    assert_eq!(push(&mut h).len(), 3);
}

#[test]
fn labels_from_file_metadata_or_class_numbers() {
    init();
    let labels = common::TempDir::new("labels");
    let file = labels.path().join("l.txt");
    std::fs::write(&file, "car\nbus\ntruck\n").unwrap();
    let cases: [(&str, Option<&str>, [&str; 3]); 3] = [
        (
            "const_v8.onnx",
            Some(file.to_str().unwrap()),
            ["car", "bus", "truck"],
        ),
        ("const_v8.onnx", None, ["alpha", "beta", "gamma"]),
        (
            "const_v8_nolabels.onnx",
            None,
            ["class0", "class1", "class2"],
        ),
    ];
    for (model, labels_file, want) in cases {
        let model_path = data(model);
        let mut props: Vec<(&str, &dyn ToValue)> = vec![("model-location", &model_path)];
        let lf = labels_file.map(String::from);
        if let Some(l) = &lf {
            props.push(("labels-location", l));
        }
        let mut h = harness(&props, "RGB", 320, 240);
        let out = h
            .push_and_pull(with_pts(frame("RGB", 320, 240), 0))
            .unwrap();
        let got: Vec<String> = detection::read(&out, 320, 240)
            .into_iter()
            .map(|d| d.label)
            .collect();
        assert_eq!(got, want, "{model} {labels_file:?}");
    }
}

/// Collects the `rsinfer-detections` messages the element posted on its bus.
fn detection_messages(bus: &gst::Bus) -> Vec<gst::Structure> {
    let mut v = Vec::new();
    while let Some(msg) = bus.pop() {
        if let gst::MessageView::Element(e) = msg.view() {
            if let Some(s) = e.structure() {
                if s.name() == "rsinfer-detections" {
                    v.push(s.to_owned());
                }
            }
        }
    }
    v
}

#[test]
fn inference_interval_carries_the_latest_detections_and_messages_are_posted() {
    init();
    let element = gst::ElementFactory::make("rsinfer")
        .property("model-location", data("const_v8.onnx"))
        .property("max-in-flight", 1u32)
        .property("inference-interval", 3u32)
        .property("post-messages", true)
        .build()
        .unwrap();
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&caps("RGB", 320, 240));
    for n in 0..7 {
        let out = h
            .push_and_pull(with_pts(frame("RGB", 320, 240), n))
            .unwrap();
        // Every frame carries boxes, inferred or not: no blinking.
        expect_320x240(&detection::read(&out, 320, 240));
        // And says whether they are fresh (the frame marker).
        let markers = detection::frame::markers(&out);
        assert_eq!(markers.len(), 1, "one marker per detector");
        let m = &markers[0];
        let want = if n % 3 == 0 {
            detection::Inference::Inferred
        } else {
            detection::Inference::Interval
        };
        assert_eq!(m.inference, want, "frame {n}");
        assert_eq!(m.frame_number, n);
        assert_eq!(m.objects, 3);
        assert_eq!(m.model, "const_v8");
        assert_eq!(m.element, element.name().as_str());
        assert_eq!(detection::has_fresh_detections(&out), n % 3 == 0);
    }
    let msgs = detection_messages(&bus);
    // Frames 0, 3 and 6 are inferred.
    let numbers: Vec<u64> = msgs
        .iter()
        .map(|s| s.get::<u64>("frame-number").unwrap())
        .collect();
    assert_eq!(numbers, vec![0, 3, 6]);
    let s = &msgs[1];
    assert_eq!(
        s.get::<u64>("pts").unwrap(),
        gst::ClockTime::from_mseconds(99).nseconds()
    );
    let list = s.get::<gst::List>("detections").unwrap();
    assert_eq!(list.len(), 3);
    let d0 = list.as_slice()[0].get::<gst::Structure>().unwrap();
    assert_eq!(d0.get::<&str>("label").unwrap(), "alpha");
    assert_eq!(d0.get::<i32>("label-id").unwrap(), 0);
    assert!((d0.get::<f64>("confidence").unwrap() - 0.9).abs() < 1e-6);
    assert!((d0.get::<f64>("x").unwrap() - 120.0).abs() < 1e-3);
    assert!((d0.get::<f64>("y").unwrap() - 100.0).abs() < 1e-3);
    assert!((d0.get::<f64>("width").unwrap() - 80.0).abs() < 1e-3);
    assert!((d0.get::<f64>("height").unwrap() - 40.0).abs() < 1e-3);
    element.set_bus(None);
}

#[test]
fn late_frames_pass_without_inference_when_qos_says_so() {
    init();
    for qos in [true, false] {
        let element = gst::ElementFactory::make("rsinfer")
            .property("model-location", data("const_v8.onnx"))
            .property("max-in-flight", 1u32)
            .property("post-messages", true)
            .property("qos", qos)
            .build()
            .unwrap();
        let bus = gst::Bus::new();
        element.set_bus(Some(&bus));
        let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
        h.set_src_caps_str(&caps("RGB", 320, 240));
        h.push_and_pull(with_pts(frame("RGB", 320, 240), 0))
            .unwrap();
        // Downstream says: 500 ms late at running time 33 ms.
        assert!(h.push_upstream_event(gst::event::Qos::new(
            gst::QOSType::Underflow,
            0.5,
            500_000_000,
            gst::ClockTime::from_mseconds(33),
        )));
        // Frames 1..=3 end before 33 + 2 * 500 ms: late, and marked so.
        for n in 1..=3 {
            let out = h
                .push_and_pull(with_pts(frame("RGB", 320, 240), n))
                .unwrap();
            expect_320x240(&detection::read(&out, 320, 240));
            let want = if qos {
                detection::Inference::Late
            } else {
                detection::Inference::Inferred
            };
            assert_eq!(detection::frame::markers(&out)[0].inference, want);
        }
        // A frame past the earliest time is inferred again.
        expect_320x240(&push_frame(&mut h, "RGB", 320, 240, 40));
        let numbers: Vec<u64> = detection_messages(&bus)
            .iter()
            .map(|s| s.get::<u64>("frame-number").unwrap())
            .collect();
        if qos {
            assert_eq!(numbers, vec![0, 4], "late frames skipped inference");
        } else {
            assert_eq!(numbers, vec![0, 1, 2, 3, 4], "qos=false infers every frame");
        }
        element.set_bus(None);
    }
}

#[test]
fn existing_region_metas_are_kept_and_ids_continue() {
    init();
    let mut h = v8_harness("RGB", 320, 240);
    let mut input = with_pts(frame("RGB", 320, 240), 0);
    {
        let b = input.make_mut();
        let mut m = gst_video::VideoRegionOfInterestMeta::add(b, "face", (1, 2, 3, 4));
        m.set_id(0);
    }
    let out = h.push_and_pull(input).unwrap();
    let ids: Vec<i32> = out
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .map(|m| m.id())
        .collect();
    assert_eq!(ids, vec![0, 1, 2, 3]);
    assert_eq!(detection::read(&out, 320, 240)[0].label, "face");
}

#[test]
fn elements_with_the_same_model_share_one_session() {
    init();
    // A private copy, so other tests running in parallel do not touch its sessions.
    let dir = common::TempDir::new("share");
    let model = dir.path().join("m.onnx");
    std::fs::copy(data("const_v5.onnx"), &model).unwrap();
    let sessions = || gstrsvision::onnx::sessions_for(&model);
    let path = model.to_str().unwrap().to_string();
    let mut a = harness(&[("model-location", &path)], "RGB", 320, 240);
    let mut b = harness(&[("model-location", &path)], "I420", 320, 240);
    assert_eq!(sessions(), 1, "a and b share one session");
    let c = harness(
        &[("model-location", &path), ("threads", &2u32)],
        "RGB",
        320,
        240,
    );
    assert_eq!(sessions(), 2, "other options, own session");
    // Both sharers work concurrently, from two threads.
    let ta = std::thread::spawn(move || {
        for n in 0..20 {
            expect_320x240(&push_frame(&mut a, "RGB", 320, 240, n));
        }
        a
    });
    for n in 0..20 {
        expect_320x240(&push_frame(&mut b, "I420", 320, 240, n));
    }
    let a = ta.join().unwrap();
    drop(c);
    assert_eq!(sessions(), 1);
    drop(a);
    assert_eq!(sessions(), 1, "b still holds the shared session");
    drop(b);
    assert_eq!(sessions(), 0);
}

/// Starts `videotestsrc ! rsinfer PROPS ! fakesink` and returns the error it posts.
fn start_error(props: &str) -> glib::Error {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=48 ! rsinfer {props} ! fakesink"
    ))
    .unwrap();
    let _ = pipeline.set_state(gst::State::Playing);
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Error, gst::MessageType::Eos],
        )
        .expect("an error within 30 s");
    pipeline.set_state(gst::State::Null).unwrap();
    match msg.view() {
        gst::MessageView::Error(e) => e.error(),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn bad_models_and_settings_fail_at_start_with_clear_errors() {
    init();
    let e = start_error("");
    assert!(e.matches(gst::ResourceError::NotFound), "{e}");
    assert!(e.message().contains("model-location"), "{e}");

    let e = start_error("model-location=/nonexistent/m.onnx");
    assert!(e.matches(gst::ResourceError::NotFound), "{e}");
    assert!(e.message().contains("/nonexistent/m.onnx"), "{e}");

    let e = start_error(&format!(
        "model-location={}",
        root().join("tests/data").display()
    ));
    assert!(e.matches(gst::ResourceError::OpenRead), "{e}");

    let e = start_error(&format!("model-location={}", data("corrupt.onnx")));
    assert!(e.matches(gst::StreamError::Decode), "{e}");
    assert!(e.message().contains("corrupt.onnx"), "{e}");

    let e = start_error(&format!("model-location={}", data("no_image_input.onnx")));
    assert!(e.matches(gst::StreamError::WrongType), "{e}");
    assert!(
        e.message().contains("no image input") && e.message().contains("x: Float32 [1, 10]"),
        "{e}"
    );

    // A classifier is accepted (tests/rsinfer_classify.rs), but not as a detector.
    let e = start_error(&format!(
        "model-location={} model-type=yolov8",
        data("classifier.onnx")
    ));
    assert!(e.matches(gst::StreamError::WrongType), "{e}");
    assert!(e.message().contains("[1, 1000]"), "{e}");

    let e = start_error(&format!("model-location={}", data("const_v8_pose.onnx")));
    assert!(e.matches(gst::StreamError::WrongType), "{e}");
    assert!(e.message().contains("'pose' model"), "{e}");

    let e = start_error(&format!("model-location={}", data("const_v8_seg.onnx")));
    assert!(e.matches(gst::StreamError::WrongType), "{e}");
    assert!(
        e.message().contains("segmentation") && e.message().contains("output1"),
        "{e}"
    );

    let e = start_error(&format!(
        "model-location={} model-type=end-to-end",
        data("const_v8.onnx")
    ));
    assert!(e.matches(gst::StreamError::WrongType), "{e}");

    let e = start_error(&format!(
        "model-location={} labels-location=/nonexistent/labels.txt",
        data("const_v8.onnx")
    ));
    assert!(e.matches(gst::ResourceError::OpenRead), "{e}");
    assert!(e.message().contains("/nonexistent/labels.txt"), "{e}");

    let e = start_error(&format!(
        "model-location={} classes=alpha,zebra",
        data("const_v8.onnx")
    ));
    assert!(e.matches(gst::LibraryError::Settings), "{e}");
    assert!(e.message().contains("zebra"), "{e}");
}

#[test]
fn unavailable_execution_provider_falls_back_to_cpu_with_a_warning() {
    init();
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers=3 ! video/x-raw,width=320,height=240 ! rsinfer model-location={} execution-provider=cuda ! appsink name=sink",
        data("const_v8.onnx")
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("frames flow on CPU");
    expect_320x240(&detection::read(sample.buffer().unwrap(), 320, 240));
    let bus = pipeline.bus().unwrap();
    let warning = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(5),
            &[gst::MessageType::Warning],
        )
        .expect("a warning about the fallback");
    pipeline.set_state(gst::State::Null).unwrap();
    if let gst::MessageView::Warning(w) = warning.view() {
        assert!(w.error().message().contains("cuda"), "{}", w.error());
    }
}

/// Whether a pipeline is refused: at link time, at the state change, or with an error.
fn refused(launch: &str) -> bool {
    let Ok(pipeline) = gst::parse::launch(launch) else {
        return true;
    };
    let refused = pipeline.set_state(gst::State::Playing).is_err() || {
        let bus = pipeline.bus().unwrap();
        matches!(
            bus.timed_pop_filtered(
                gst::ClockTime::from_seconds(10),
                &[gst::MessageType::Error, gst::MessageType::Eos]
            )
            .map(|m| m.type_()),
            Some(gst::MessageType::Error)
        )
    };
    pipeline.set_state(gst::State::Null).unwrap();
    refused
}

#[test]
fn wrong_caps_are_refused() {
    init();
    let model = data("const_v8.onnx");
    assert!(refused(&format!(
        "audiotestsrc num-buffers=1 ! rsinfer model-location={model} ! fakesink"
    )));
    // A video format rsinfer does not read.
    assert!(refused(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=YUY2 ! rsinfer model-location={model} ! fakesink"
    )));
    // The same pipeline in a format it reads works.
    assert!(!refused(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=NV12 ! rsinfer model-location={model} ! fakesink"
    )));
}

#[test]
fn caps_change_mid_stream_is_followed() {
    init();
    let mut h = v8_harness("RGB", 320, 240);
    expect_320x240(&push_frame(&mut h, "RGB", 320, 240, 0));
    h.set_src_caps_str(&caps("I420", 240, 320));
    let dets = push_frame(&mut h, "I420", 240, 320, 1);
    assert_close(&dets[0], "alpha", (80.0, 140.0, 80.0, 40.0), 0.9);
}

#[test]
fn a_file_pipeline_slower_than_real_time_infers_every_frame() {
    // Regression: the live-source lateness check must not apply to non-live pipelines,
    // where the bin still sends a (zero) latency event and the clock runs.
    init();
    let model = common::shared().join("models/yolov8n_640_random.onnx");
    let video = common::shared().join("video/sample_640x480.mp4");
    let pipeline = common::launch(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 ! identity eos-after=40 \
         ! rsinfer model-location={} threads=1 post-messages=true ! fakesink name=sink sync=false",
        video.display(),
        model.display()
    ));
    let sink = pipeline.by_name("sink").unwrap();
    let buffers = common::count_buffers(&sink.static_pad("sink").unwrap());
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut inferred = 0;
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(120)) {
        match msg.view() {
            gst::MessageView::Element(e)
                if e.structure()
                    .is_some_and(|s| s.name() == "rsinfer-detections") =>
            {
                inferred += 1
            }
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{}", e.error()),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    let buffers = buffers.load(std::sync::atomic::Ordering::SeqCst);
    assert!(buffers >= 30, "{buffers} buffers");
    assert_eq!(inferred, buffers, "every frame of a file is inferred");
}

#[test]
fn live_latency_includes_one_inference() {
    init();
    let model = common::shared().join("models/yolov8n_320_random.onnx");
    let mut h = harness(
        &[("model-location", &model.to_str().unwrap().to_string())],
        "RGB",
        320,
        240,
    );
    h.set_upstream_latency(gst::ClockTime::from_mseconds(10));
    h.play();
    let latency = h.query_latency().expect("latency answered");
    // 10 ms upstream + one inference of a 320x320 YOLOv8n (milliseconds, never zero).
    assert!(
        latency > gst::ClockTime::from_mseconds(10) && latency < gst::ClockTime::from_seconds(5),
        "{latency}"
    );
}

/// How many QoS events reach upstream when downstream reports a frame at `ts_ms` as late,
/// after one inferred frame at 0 ms and 30 frames passed without inference (the interval)
/// from 33 ms on.
fn forwarded_qos(qos: bool, ts_ms: u64) -> usize {
    let mut h = harness(
        &[
            ("model-location", &data("const_v8.onnx")),
            ("inference-interval", &100u32),
            ("qos", &qos),
        ],
        "RGB",
        320,
        240,
    );
    for n in 0..31 {
        h.push_and_pull(with_pts(frame("RGB", 320, 240), n))
            .unwrap();
    }
    while h.try_pull_upstream_event().is_some() {}
    h.push_upstream_event(gst::event::Qos::new(
        gst::QOSType::Underflow,
        0.9,
        40_000_000,
        gst::ClockTime::from_mseconds(ts_ms),
    ));
    let mut n = 0;
    while let Some(ev) = h.try_pull_upstream_event() {
        n += usize::from(ev.type_() == gst::EventType::Qos);
    }
    n
}

#[test]
fn qos_events_caused_by_inference_stay_here() {
    init();
    // Late frame right after the inferred one: rsinfer's own doing, handled by skipping.
    assert_eq!(forwarded_qos(true, 33), 0);
    // Late frame long after any inference: upstream's lateness, forwarded.
    assert_eq!(forwarded_qos(true, 990), 1);
    // qos=false: rsinfer does not handle lateness, every event goes upstream.
    assert_eq!(forwarded_qos(false, 33), 1);
}

#[test]
fn unknown_classes_set_while_playing_warn_and_keep_the_known_ones() {
    init();
    let element = gst::ElementFactory::make("rsinfer")
        .property("model-location", data("const_v8.onnx"))
        .property("max-in-flight", 1u32)
        .build()
        .unwrap();
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&caps("RGB", 320, 240));
    h.push_and_pull(with_pts(frame("RGB", 320, 240), 0))
        .unwrap();
    element.set_property("classes", "gamma,zebra");
    let out = h
        .push_and_pull(with_pts(frame("RGB", 320, 240), 1))
        .unwrap();
    let labels: Vec<String> = detection::read(&out, 320, 240)
        .into_iter()
        .map(|d| d.label)
        .collect();
    assert_eq!(labels, ["gamma"]);
    let warning = bus
        .pop_filtered(&[gst::MessageType::Warning])
        .expect("a warning");
    if let gst::MessageView::Warning(w) = warning.view() {
        assert!(w.error().message().contains("zebra"), "{}", w.error());
    }
    element.set_bus(None);
}
