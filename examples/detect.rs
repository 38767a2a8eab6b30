//! Embedding rsinfer in a Rust application: run YOLO detection on a video file and read the
//! detections of every frame from the buffer metadata.
//!
//! ```text
//! cargo run --release --example detect -- [VIDEO [MODEL]]
//! ```
//!
//! VIDEO defaults to `data/sample-shapes.mp4` and MODEL to `models/rsvision-shapes.onnx`.
//! The pipeline is `filesrc ! decodebin ! rsinfer ! appsink`; the plugin is registered
//! statically (`gstrsvision::plugin_register_static()`), so no `GST_PLUGIN_PATH` is needed.
//! Each frame's detections are read with `gstrsvision::detection::read`, which also reads
//! region-of-interest metas written by other elements using the same layout (e.g. DL
//! Streamer's `gvadetect`). Prints one line per frame and a per-class summary at the end.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::{Arc, Mutex};

use gst::prelude::*;

/// Per-class totals for the summary.
#[derive(Debug, Default)]
struct ClassStats {
    detections: u64,
    frames: u64,
    confidence_sum: f64,
    confidence_max: f64,
}

#[derive(Debug, Default)]
struct Summary {
    frames: u64,
    frames_with_detections: u64,
    /// Keyed by class id then label, so classes print in the model's order.
    classes: BTreeMap<(i32, String), ClassStats>,
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let video = args
        .next()
        .unwrap_or_else(|| "data/sample-shapes.mp4".into());
    let model = args
        .next()
        .unwrap_or_else(|| "models/rsvision-shapes.onnx".into());
    if args.next().is_some() {
        return Err("usage: detect [VIDEO [MODEL]]".into());
    }
    for path in [&video, &model] {
        if !std::path::Path::new(path).is_file() {
            return Err(format!("{path}: no such file (usage: detect [VIDEO [MODEL]])").into());
        }
    }

    gst::init()?;
    gstrsvision::plugin_register_static()?;

    // Properties are set on the elements rather than written into the launch line, so that
    // file names need no quoting. A file is not live: every frame is inferred (rsinfer's
    // QoS only lets late frames pass without inference in live or clock-synced pipelines).
    let pipeline = gst::parse::launch(
        "filesrc name=src ! decodebin ! rsinfer name=infer ! \
         appsink name=sink sync=false",
    )?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    pipeline
        .by_name("src")
        .ok_or("no filesrc")?
        .set_property("location", &video);
    pipeline
        .by_name("infer")
        .ok_or("no rsinfer")?
        .set_property("model-location", &model);
    let sink = pipeline
        .by_name("sink")
        .ok_or("no appsink")?
        .downcast::<gst_app::AppSink>()
        .map_err(|_| "not an appsink")?;

    let summary = Arc::new(Mutex::new(Summary::default()));
    let summary_cb = summary.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let info =
                    gst_video::VideoInfo::from_caps(caps).map_err(|_| gst::FlowError::Error)?;
                let detections = gstrsvision::detection::read(buffer, info.width(), info.height());

                let mut s = summary_cb.lock().unwrap();
                let frame = s.frames;
                s.frames += 1;
                s.frames_with_detections += u64::from(!detections.is_empty());
                let mut seen = Vec::new();
                let mut line = format!(
                    "frame {frame:5} pts {}: {} objects",
                    buffer.pts().display(),
                    detections.len()
                );
                for d in &detections {
                    line.push_str(&format!(
                        "\n    {:>12} {:.2} [{:.0}, {:.0}, {:.0}x{:.0}]",
                        d.label, d.confidence, d.x, d.y, d.width, d.height
                    ));
                    let c = s.classes.entry((d.label_id, d.label.clone())).or_default();
                    c.detections += 1;
                    c.confidence_sum += d.confidence;
                    c.confidence_max = c.confidence_max.max(d.confidence);
                    if !seen.contains(&d.label) {
                        c.frames += 1;
                        seen.push(d.label.clone());
                    }
                }
                drop(s);
                println!("{line}");
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );

    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().ok_or("no bus")?;
    let mut result = Ok(());
    for msg in bus.iter_timed(gst::ClockTime::NONE) {
        match msg.view() {
            gst::MessageView::Eos(..) => break,
            gst::MessageView::Error(e) => {
                result = Err(format!(
                    "error from {}: {} ({})",
                    e.src().map(|s| s.path_string()).unwrap_or_default(),
                    e.error(),
                    e.debug().unwrap_or_default()
                ));
                break;
            }
            gst::MessageView::Warning(w) => eprintln!(
                "warning from {}: {}",
                w.src().map(|s| s.path_string()).unwrap_or_default(),
                w.error()
            ),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null)?;
    result?;

    let s = summary.lock().unwrap();
    println!(
        "\n{} frames, {} with detections",
        s.frames, s.frames_with_detections
    );
    println!(
        "{:>12} {:>10} {:>8} {:>9} {:>9}",
        "class", "detections", "frames", "mean conf", "max conf"
    );
    for ((_, label), c) in &s.classes {
        println!(
            "{:>12} {:>10} {:>8} {:>9.3} {:>9.3}",
            label,
            c.detections,
            c.frames,
            c.confidence_sum / c.detections as f64,
            c.confidence_max
        );
    }
    Ok(())
}
