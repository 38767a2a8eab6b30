//! rsinfer with `backend=openvino`: the same detections as ONNX Runtime on the shipped video
//! (bf16 within a justified tolerance, f32 nearly exact), the properties, sharing one
//! compiled model between elements, frames in order with the throughput hint, and clear
//! errors for a bad device, a missing model and a missing OpenVINO library.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{init, root, shapes_model};
use gst::prelude::*;
use gstrsvision::detection::{self, Detection};

/// Runs the shipped video through `rsinfer <props>`; returns each frame's detections.
fn detections(props: &str, frames: u32) -> Vec<Vec<Detection>> {
    let pipeline = common::launch(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! avdec_h264 ! identity eos-after={frames} \
         ! rsinfer model-location={} conf-threshold=0.3 {props} ! appsink name=sink sync=false",
        root().join("data/sample-shapes.mp4").display(),
        shapes_model().display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    let out = Arc::new(Mutex::new(Vec::new()));
    let o = out.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buf = sample.buffer().unwrap();
                o.lock()
                    .unwrap()
                    .push((buf.pts().unwrap(), detection::read(buf, 640, 480)));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    common::run_to_eos(&pipeline, 300);
    let out = std::mem::take(&mut *out.lock().unwrap());
    assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "frames in order");
    // identity may let a frame or two more through before its EOS.
    assert!(out.len() >= frames as usize, "{} frames", out.len());
    out.into_iter()
        .take(frames as usize)
        .map(|(_, d)| d)
        .collect()
}

fn iou(a: &Detection, b: &Detection) -> f64 {
    let iw = (a.x_max().min(b.x_max()) - a.x.max(b.x)).max(0.0);
    let ih = (a.y_max().min(b.y_max()) - a.y.max(b.y)).max(0.0);
    let inter = iw * ih;
    inter / (a.width * a.height + b.width * b.height - inter)
}

/// Compares two runs detection by detection. Detections of the reference clearly above the
/// threshold (`margin` above it) must be found in the other run with the same label, an IoU
/// of at least `min_iou` and a confidence within `conf_tol`; returns (compared, matched).
fn compare(
    reference: &[Vec<Detection>],
    other: &[Vec<Detection>],
    margin: f64,
    min_iou: f64,
    conf_tol: f64,
) -> (usize, usize) {
    assert_eq!(reference.len(), other.len());
    let (mut compared, mut matched) = (0, 0);
    let (mut worst_iou, mut worst_conf) = (1.0f64, 0.0f64);
    for (r, o) in reference.iter().zip(other) {
        for d in r.iter().filter(|d| d.confidence >= 0.3 + margin) {
            compared += 1;
            if let Some(best) = o
                .iter()
                .filter(|e| e.label == d.label)
                .max_by(|a, b| iou(d, a).total_cmp(&iou(d, b)))
            {
                worst_iou = worst_iou.min(iou(d, best));
                worst_conf = worst_conf.max((best.confidence - d.confidence).abs());
            }
            let found = o.iter().any(|e| {
                e.label == d.label
                    && iou(d, e) >= min_iou
                    && (e.confidence - d.confidence).abs() <= conf_tol
            });
            if found {
                matched += 1;
            } else {
                println!("unmatched {d:?} among {o:?}");
            }
        }
    }
    println!("worst best-match IoU {worst_iou:.4}, largest confidence change {worst_conf:.4}");
    (compared, matched)
}

#[test]
fn detections_match_onnx_runtime_on_the_shipped_video() {
    init();
    let onnx = detections("backend=onnx", 90);
    assert_eq!(onnx.len(), 90);
    // f32 in both runtimes: the same arithmetic up to the order of the sums.
    let f32 = detections("backend=openvino precision=f32", 90);
    let (n, m) = compare(&onnx, &f32, 0.01, 0.99, 0.002);
    println!("openvino f32 against onnx: {m} of {n}");
    assert!(n >= 500 && m == n, "{m} of {n}");
    // bf16 keeps 8 bits of mantissa (a relative error of 2^-9 = 0.2 % per rounding), and
    // every layer's inputs are rounded, so errors add up through the network's depth:
    // measured on these 90 frames, confidences moved by at most 0.0064 and the worst box
    // kept an IoU of 0.916 with ONNX Runtime's (a pixel or two on a small shape). Bars with
    // room for another CPU's rounding: every detection more than 0.05 above the threshold
    // found again with the same label, IoU >= 0.85 and the confidence within 0.05.
    let bf16 = detections("backend=openvino", 90);
    let (n, m) = compare(&onnx, &bf16, 0.05, 0.85, 0.05);
    println!("openvino auto (bf16 here) against onnx: {m} of {n}");
    assert!(n >= 500 && m == n, "{m} of {n}");
    // And the other way: nothing confident that ONNX Runtime did not find.
    let (n, m) = compare(&bf16, &onnx, 0.05, 0.85, 0.05);
    assert!(m == n, "{m} of {n}");
}

#[test]
fn throughput_hint_and_frames_in_flight_keep_the_order_and_the_detections() {
    init();
    let reference = detections("backend=openvino precision=f32 max-in-flight=1", 60);
    for props in [
        "backend=openvino precision=f32 performance-hint=throughput",
        "backend=openvino precision=f32 performance-hint=throughput max-in-flight=6",
        "backend=openvino precision=f32 max-in-flight=3 inference-interval=2",
    ] {
        let got = detections(props, 60);
        let expected = if props.contains("inference-interval=2") {
            // Odd frames carry the previous frame's detections.
            (0..60).map(|i| reference[i - i % 2].clone()).collect()
        } else {
            reference.clone()
        };
        let (n, m) = compare(&expected, &got, 0.01, 0.99, 0.002);
        assert!(n > 300 && m == n, "{props}: {m} of {n}");
    }
}

#[test]
fn elements_with_the_same_model_and_options_share_one_compiled_model() {
    init();
    let model = shapes_model();
    let make = |precision: &str| {
        let e = gst::ElementFactory::make("rsinfer")
            .property_from_str("backend", "openvino")
            .property("model-location", model.to_str().unwrap())
            .property_from_str("precision", precision)
            .build()
            .unwrap();
        e.set_state(gst::State::Paused).unwrap();
        e
    };
    let before = gstrsvision::openvino::models_for(&model);
    let a = make("f32");
    let b = make("f32");
    assert_eq!(gstrsvision::openvino::models_for(&model), before + 1);
    let c = make("bf16");
    assert_eq!(gstrsvision::openvino::models_for(&model), before + 2);
    for e in [a, b, c] {
        e.set_state(gst::State::Null).unwrap();
    }
}

#[test]
fn properties_have_their_defaults_and_bad_settings_are_clear_start_errors() {
    init();
    let e = gst::ElementFactory::make("rsinfer").build().unwrap();
    assert_eq!(e.property::<String>("device"), "CPU");
    assert_eq!(
        e.property_value("precision").serialize().unwrap().as_str(),
        "auto"
    );
    assert_eq!(
        e.property_value("performance-hint")
            .serialize()
            .unwrap()
            .as_str(),
        "throughput"
    );
    for (props, expected) in [
        (
            format!("device=NOPE model-location={}", shapes_model().display()),
            "NOPE",
        ),
        (
            "model-location=/nonexistent/model.onnx".to_string(),
            "/nonexistent/model.onnx",
        ),
        (
            format!(
                "model-location={}",
                root().join("tests/data/corrupt.onnx").display()
            ),
            "corrupt.onnx",
        ),
        (String::new(), "model-location is not set"),
    ] {
        let pipeline = common::launch(&format!(
            "videotestsrc num-buffers=2 ! rsinfer backend=openvino {props} ! fakesink"
        ));
        let bus = pipeline.bus().unwrap();
        let _ = pipeline.set_state(gst::State::Playing);
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(60),
                &[gst::MessageType::Error, gst::MessageType::Eos],
            )
            .expect("a message");
        pipeline.set_state(gst::State::Null).unwrap();
        let gst::MessageView::Error(err) = msg.view() else {
            panic!("{props}: no error");
        };
        let text = format!("{} {:?}", err.error(), err.debug());
        assert!(text.contains(expected), "{props}: {text}");
    }
}

#[test]
fn a_missing_openvino_library_is_a_clear_start_error() {
    let dir = common::TempDir::new("openvino-missing");
    std::os::unix::fs::symlink(
        common::plugin_library(),
        dir.path().join("libgstrsvision.so"),
    )
    .unwrap();
    let out = Command::new("gst-launch-1.0")
        .args([
            "videotestsrc",
            "num-buffers=3",
            "!",
            "rsinfer",
            "backend=openvino",
        ])
        .arg(format!("model-location={}", shapes_model().display()))
        .args(["!", "fakesink"])
        .env("GST_PLUGIN_PATH", dir.path())
        .env("GST_REGISTRY", dir.path().join("registry.bin"))
        .env("OPENVINO_LIB_PATH", "/nonexistent/libopenvino_c.so")
        .output()
        .expect("run gst-launch-1.0");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.code().is_some_and(|c| c != 0), "{text}");
    assert!(text.contains("/nonexistent/libopenvino_c.so"), "{text}");
    assert!(
        text.contains("OPENVINO_LIB_PATH") && text.contains("scripts/setup.sh"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}
