//! rsinfer in object mode beyond classification: detectors inside objects (new region metas
//! with `parent_id`, mapped back through the crop exactly), batches of crops for models
//! with a dynamic batch axis, and the choice of objects by the detector that made them
//! (`source-model`, through the `model_name` / `element` fields every rsinfer records).

mod common;

use common::{init, root};
use gst::prelude::*;
use gstrsvision::detection::{self, attribute, Detection, Source};

const W: u32 = 320;
const H: u32 = 240;

fn data(name: &str) -> String {
    root()
        .join("tests/data")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// One 320x240 frame of videotestsrc `pattern` in RGB.
fn frame(pattern: &str) -> gst::Buffer {
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers=1 pattern={pattern} ! video/x-raw,format=RGB,width={W},height={H},framerate=30/1 ! appsink name=sink"
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a frame");
    pipeline.set_state(gst::State::Null).unwrap();
    sample.buffer_owned().unwrap()
}

fn harness(props: &[(&str, &str)]) -> gst_check::Harness {
    let element = gst::ElementFactory::make("rsinfer").build().unwrap();
    for (k, v) in props {
        element.set_property_from_str(k, v);
    }
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(&format!(
        "video/x-raw,format=RGB,width={W},height={H},framerate=30/1"
    ));
    h
}

fn object(x: f64, y: f64, w: f64, h: f64, label: &str) -> Detection {
    Detection {
        x,
        y,
        width: w,
        height: h,
        confidence: 0.9,
        label_id: 0,
        label: label.into(),
        track_id: None,
        tracking: None,
        attributes: Vec::new(),
    }
}

/// `buffer` with `objects` as region metas numbered from `first_id`, made by `source`.
fn add_objects(
    buffer: &mut gst::Buffer,
    objects: &[Detection],
    first_id: i32,
    source: Option<&Source>,
) {
    let b = buffer.make_mut();
    b.set_pts(gst::ClockTime::ZERO);
    b.set_duration(gst::ClockTime::from_nseconds(33_333_333));
    detection::attach_from(b, objects, W, H, first_id, -1, source);
}

/// Each region meta: (id, parent id, label, x, y, width, height) in frame pixels.
fn metas(buffer: &gst::BufferRef) -> Vec<(i32, i32, String, f64, f64, f64, f64)> {
    buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .map(|roi| {
            let d = detection::from_meta(&roi, W, H);
            (
                roi.id(),
                roi.parent_id(),
                d.label,
                d.x,
                d.y,
                d.width,
                d.height,
            )
        })
        .collect()
}

/// The `colour` label of each region meta, in meta order ("" without one).
fn colours(buffer: &gst::BufferRef) -> Vec<String> {
    buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .map(|roi| {
            attribute::of_roi(&roi)
                .into_iter()
                .find(|a| a.name == "colour")
                .map(|a| a.label)
                .unwrap_or_default()
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-3
}

#[test]
fn a_detector_inside_objects_adds_children_mapped_through_the_crop() {
    init();
    // const_v8 answers, in its 64x64 input: alpha (32,32,16,8) 0.9, beta (10,20,8,8) 0.6,
    // and weaker ones below conf-threshold=0.5 or removed by NMS.
    let mut h = harness(&[
        ("model-location", &data("const_v8.onnx")),
        ("inference-region", "objects"),
        ("conf-threshold", "0.5"),
        ("post-messages", "true"),
    ]);
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
    let mut buffer = frame("smpte");
    // A 128x64 box: letterboxed at 0.5 (content 64x32, 16 px bars above and below); a 64x64
    // box at 1.0.
    add_objects(
        &mut buffer,
        &[
            object(40.0, 30.0, 128.0, 64.0, "car"),
            object(200.0, 100.0, 64.0, 64.0, "car"),
        ],
        0,
        None,
    );
    let out = h.push_and_pull(buffer).unwrap();
    let m = metas(&out);
    assert_eq!(m.len(), 6, "2 objects and 2 inner detections each: {m:?}");
    let inner: Vec<_> = m.iter().filter(|x| x.1 >= 0).collect();
    let expect = [
        // Input (24,28)-(40,36) -> 40 + 24*2, 30 + (28-16)*2 ...
        (0, "alpha", 88.0, 54.0, 32.0, 16.0),
        (0, "beta", 52.0, 30.0, 16.0, 16.0),
        (1, "alpha", 224.0, 128.0, 16.0, 8.0),
        (1, "beta", 206.0, 116.0, 8.0, 8.0),
    ];
    for (parent, label, x, y, w, hh) in expect {
        assert!(
            inner.iter().any(|d| d.1 == parent
                && d.2 == label
                && close(d.3, x)
                && close(d.4, y)
                && close(d.5, w)
                && close(d.6, hh)),
            "{label} inside {parent} at ({x}, {y}, {w}, {hh}): {inner:?}"
        );
    }
    let mut ids: Vec<i32> = m.iter().map(|x| x.0).collect();
    ids.sort();
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 5], "ids stay unique");
    // Each child records its source.
    let roi = out
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .find(|r| r.parent_id() == 0)
        .unwrap();
    let s = roi.param("detection").unwrap();
    assert_eq!(s.get::<&str>("model_name").unwrap(), "const_v8");

    // The message lists them with their parent.
    let msg = std::iter::from_fn(|| bus.pop())
        .find(|m| {
            m.structure()
                .is_some_and(|s| s.name() == "rsinfer-detections")
        })
        .expect("an rsinfer-detections message");
    let list = msg
        .structure()
        .unwrap()
        .get::<gst::List>("detections")
        .unwrap();
    let parents: Vec<i32> = list
        .iter()
        .map(|v| {
            v.get::<gst::Structure>()
                .unwrap()
                .get::<i32>("parent-id")
                .unwrap()
        })
        .collect();
    assert_eq!(parents, vec![0, 0, 1, 1]);
}

#[test]
fn crops_of_a_frame_go_in_batches_of_batch_size() {
    init();
    // batch_probe answers, for every crop of a batch, the colour of the batch's mean: crops
    // given together share a label. The SMPTE bars: green, red, blue boxes.
    let bars = [
        object(145.0, 20.0, 30.0, 100.0, "car"),
        object(235.0, 20.0, 30.0, 100.0, "car"),
        object(282.0, 20.0, 30.0, 100.0, "car"),
    ];
    let run = |model: &str, batch: &str| {
        let mut h = harness(&[
            ("model-location", &data(model)),
            ("inference-region", "objects"),
            ("attribute-name", "colour"),
            ("classifier-threshold", "0"),
            ("batch-size", batch),
        ]);
        let mut buffer = frame("smpte");
        add_objects(&mut buffer, &bars, 0, None);
        colours(&h.push_and_pull(buffer).unwrap())
    };
    assert_eq!(
        run("batch_probe.onnx", "1"),
        ["green", "red", "blue"],
        "one by one"
    );
    let two = run("batch_probe.onnx", "2");
    assert_eq!(two[0], two[1], "the first two together: {two:?}");
    assert_eq!(two[2], "blue", "the third alone: {two:?}");
    let three = run("batch_probe.onnx", "3");
    assert!(
        three.iter().all(|c| *c == three[0]),
        "all together: {three:?}"
    );
    // A real dynamic-batch classifier answers each crop of a batch for itself, in order.
    assert_eq!(run("colour_logits_dyn.onnx", "3"), ["green", "red", "blue"]);
    // A static-batch model runs one by one whatever batch-size says.
    assert_eq!(run("colour_logits.onnx", "3"), ["green", "red", "blue"]);
}

#[test]
fn source_model_keeps_the_objects_of_the_named_detectors() {
    init();
    let cars = Source {
        model: "vehicles",
        element: "infer0",
    };
    let people = Source {
        model: "people",
        element: "infer1",
    };
    let run = |source_model: Option<&str>| {
        let mut props = vec![
            ("model-location", data("colour_logits.onnx")),
            ("inference-region", "objects".into()),
            ("attribute-name", "colour".into()),
        ];
        if let Some(s) = source_model {
            props.push(("source-model", s.into()));
        }
        let props: Vec<(&str, &str)> = props.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut h = harness(&props);
        let mut buffer = frame("smpte");
        add_objects(
            &mut buffer,
            &[object(145.0, 20.0, 30.0, 100.0, "car")],
            0,
            Some(&cars),
        );
        add_objects(
            &mut buffer,
            &[object(235.0, 20.0, 30.0, 100.0, "person")],
            1,
            Some(&people),
        );
        add_objects(
            &mut buffer,
            &[object(282.0, 20.0, 30.0, 100.0, "box")],
            2,
            None,
        );
        colours(&h.push_and_pull(buffer).unwrap())
    };
    assert_eq!(run(None), ["green", "red", "blue"]);
    assert_eq!(run(Some("vehicles")), ["green", "", ""], "by model name");
    assert_eq!(run(Some("infer1")), ["", "red", ""], "by element name");
    assert_eq!(run(Some("people, vehicles")), ["green", "red", ""]);
}

/// Through a real pipeline: rsinfer records its model and element on each detection, the
/// tracker keeps them, and a classifier after it filters on them.
#[test]
fn source_model_works_through_the_tracker_in_a_real_pipeline() {
    init();
    let run = |source_model: &str| {
        let pipeline = common::launch(&format!(
            "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=NV12 ! \
             rsinfer name=shapes_det model-location={} conf-threshold=0.5 ! rstracker ! \
             rsinfer inference-region=objects model-location={} attribute-name=colour \
             classifier-threshold=0 source-model={source_model} ! appsink name=sink sync=false",
            root().join("data/sample-shapes.mp4").display(),
            common::shapes_model().display(),
            data("colour_logits.onnx"),
        ));
        let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
        pipeline.set_state(gst::State::Playing).unwrap();
        let (mut objects, mut classified, mut sourced) = (0, 0, 0);
        for _ in 0..20 {
            let sample = sink.pull_sample().expect("a frame");
            let buffer = sample.buffer().unwrap();
            for roi in buffer.iter_meta::<gst_video::VideoRegionOfInterestMeta>() {
                objects += 1;
                let s = roi.param("detection").unwrap();
                if s.get::<&str>("element").ok() == Some("shapes_det")
                    && s.get::<&str>("model_name").ok() == Some("rsvision-shapes")
                {
                    sourced += 1;
                }
            }
            classified += colours(buffer).iter().filter(|c| !c.is_empty()).count();
        }
        pipeline.set_state(gst::State::Null).unwrap();
        (objects, classified, sourced)
    };
    let (objects, classified, sourced) = run("shapes_det");
    assert!(objects > 20, "the detector found objects: {objects}");
    assert_eq!(sourced, objects, "every object says where it came from");
    assert_eq!(
        classified, objects,
        "every object of the named detector is classified"
    );
    let (objects, classified, _) = run("rsvision-shapes");
    assert_eq!(classified, objects, "by model name too");
    let (objects, classified, _) = run("another");
    assert!(objects > 20);
    assert_eq!(classified, 0, "no object of another detector");
}

/// A real detector inside its own objects: the shapes model finds each shape again inside
/// the shape's box (grown by 1.5 times its size on each side: the model was trained on
/// shapes that fill a small part of the picture), at the same place (the crop mapping is
/// right end to end).
#[test]
fn a_real_detector_inside_its_own_boxes_finds_them_again() {
    init();
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! \
         rsinfer model-location={m} conf-threshold=0.5 ! \
         rsinfer inference-region=objects model-location={m} conf-threshold=0.5 crop-padding=1.5 ! \
         appsink name=sink sync=false",
        root().join("data/sample-shapes.mp4").display(),
        m = common::shapes_model().display(),
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let (mut parents, mut found) = (0, 0);
    for _ in 0..20 {
        let sample = sink.pull_sample().expect("a frame");
        let buffer = sample.buffer().unwrap();
        let (w, h) = {
            let caps = sample.caps().unwrap();
            let s = caps.structure(0).unwrap();
            (
                s.get::<i32>("width").unwrap() as u32,
                s.get::<i32>("height").unwrap() as u32,
            )
        };
        let all: Vec<_> = buffer
            .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
            .map(|r| (r.id(), r.parent_id(), detection::from_meta(&r, w, h)))
            .collect();
        for (id, _, p) in all.iter().filter(|m| m.1 < 0) {
            parents += 1;
            let again = all
                .iter()
                .any(|(_, parent, c)| *parent == *id && c.label == p.label && iou(c, p) > 0.7);
            found += usize::from(again);
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(parents > 20, "the detector found objects: {parents}");
    assert!(
        found * 10 >= parents * 9,
        "{found} of {parents} shapes found again inside their own box"
    );
}

fn iou(a: &Detection, b: &Detection) -> f64 {
    let ix = (a.x_max().min(b.x_max()) - a.x.max(b.x)).max(0.0);
    let iy = (a.y_max().min(b.y_max()) - a.y.max(b.y)).max(0.0);
    let inter = ix * iy;
    inter / (a.width * a.height + b.width * b.height - inter)
}
