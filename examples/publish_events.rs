//! Embedding rsmsgbroker in a Rust application: detect objects in a video file and publish
//! them as DeepStream-schema JSON to Kafka (or a JSON-lines file), then report delivery.
//!
//! ```text
//! cargo run --release --example publish_events -- [CONN-STR [VIDEO]]
//! cargo run --release --example publish_events -- "localhost;9092;detections"
//! ```
//!
//! CONN-STR defaults to `file:///tmp/rsvision-events.jsonl`; VIDEO to
//! `data/sample-shapes.mp4` (with `models/rsvision-shapes.onnx` at `conf-threshold=0.5`).
//! The pipeline is `filesrc ! decodebin ! rsinfer ! rsmsgbroker ! fakesink`. The application
//! sees rsmsgbroker's warnings on the bus (broker unreachable, queue full, undelivered at
//! EOS) while the stream runs on, and reads the `stats` property to know what was delivered.

use std::error::Error;

use gst::prelude::*;

fn main() -> Result<(), Box<dyn Error>> {
    gst::init()?;
    gstrsvision::plugin_register_static()?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1);
    let conn_str = args
        .next()
        .unwrap_or_else(|| "file:///tmp/rsvision-events.jsonl".to_string());
    let video = args
        .next()
        .unwrap_or_else(|| root.join("data/sample-shapes.mp4").display().to_string());
    let model = root.join("models/rsvision-shapes.onnx");

    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", &video)
        .build()?;
    let decode = gst::ElementFactory::make("decodebin").build()?;
    let infer = gst::ElementFactory::make("rsinfer")
        .property("model-location", model.display().to_string())
        .property("conf-threshold", 0.5f32)
        .build()?;
    let broker = gst::ElementFactory::make("rsmsgbroker")
        .property("conn-str", &conn_str)
        .property("sensor-id", "cam0")
        .property("frame-interval", 1u32)
        .build()?;
    let sink = gst::ElementFactory::make("fakesink").build()?;
    pipeline.add_many([&src, &decode, &infer, &broker, &sink])?;
    src.link(&decode)?;
    gst::Element::link_many([&infer, &broker, &sink])?;
    let infer_weak = infer.downgrade();
    decode.connect_pad_added(move |_, pad| {
        if let Some(infer) = infer_weak.upgrade() {
            let sinkpad = infer.static_pad("sink").unwrap();
            if !sinkpad.is_linked() && pad.link(&sinkpad).is_err() {
                eprintln!("decodebin pad {} does not link to rsinfer", pad.name());
            }
        }
    });

    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().unwrap();
    for msg in bus.iter_timed(gst::ClockTime::NONE) {
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Warning(w) => eprintln!("warning: {}", w.error()),
            gst::MessageView::Error(e) => {
                pipeline.set_state(gst::State::Null)?;
                return Err(format!("{}: {:?}", e.error(), e.debug()).into());
            }
            _ => {}
        }
    }
    // EOS passed rsmsgbroker after its flush: the stats are final for delivered messages.
    let stats = broker.property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null)?;
    let get = |name: &str| stats.get::<u64>(name).unwrap_or(0);
    println!(
        "{} frames, {} published; {} messages: {} delivered, {} failed, {} dropped ({conn_str})",
        get("frames"),
        get("published-frames"),
        get("enqueued"),
        get("delivered"),
        get("failed"),
        get("dropped")
    );
    Ok(())
}
