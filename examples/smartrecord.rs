//! Embedding rssmartrecord in a Rust application: record event clips from a video file's
//! encoded stream at chosen moments, as an application would on its own events, and read
//! the completion messages.
//!
//! ```text
//! cargo run --release --example smartrecord -- [VIDEO] [--at SECONDS]... [--before S] [--after S] [--dir DIR] [--mkv]
//! ```
//!
//! VIDEO defaults to `data/sample-shapes.mp4` (H.264 in MP4); `--at` (repeatable, default
//! 5) are the event times in seconds of the stream; each event asks for a clip from
//! `--before` seconds before it (default 2) to `--after` seconds after it (default 3).
//! Clips go to `--dir` (default the current directory). The pipeline is
//! `filesrc ! qtdemux ! h264parse ! rssmartrecord ! fakesink`: the element's
//! `start-recording` action signal is emitted from a pad probe when the stream reaches an
//! event time, and each `rssmartrecord-done` message is printed. The plugin is registered
//! statically (`gstrsvision::plugin_register_static()`), so no `GST_PLUGIN_PATH` is needed.

use std::error::Error;
use std::sync::{Arc, Mutex};

use gst::prelude::*;

fn main() -> Result<(), Box<dyn Error>> {
    let mut video = String::from("data/sample-shapes.mp4");
    let mut at: Vec<f64> = Vec::new();
    let (mut before, mut after) = (2.0f64, 3.0f64);
    let mut dir = String::from(".");
    let mut container = "mp4";
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--at" => at.push(value()?.parse()?),
            "--before" => before = value()?.parse()?,
            "--after" => after = value()?.parse()?,
            "--dir" => dir = value()?,
            "--mkv" => container = "mkv",
            _ if a.starts_with("--") => return Err(format!("unknown option {a}").into()),
            _ => video = a,
        }
    }
    if at.is_empty() {
        at.push(5.0);
    }
    at.sort_by(f64::total_cmp);

    gst::init()?;
    gstrsvision::plugin_register_static()?;
    let pipeline = gst::parse::launch(&format!(
        "filesrc location=\"{video}\" ! qtdemux ! h264parse ! rssmartrecord name=sr location=\"{dir}\" container={container} ! fakesink"
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let sr = pipeline.by_name("sr").ok_or("no rssmartrecord")?;

    // Emit start-recording when the stream reaches each event time.
    let pending = Arc::new(Mutex::new(at.into_iter().rev().collect::<Vec<f64>>()));
    let sessions = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let sessions2 = sessions.clone();
    sr.static_pad("src").ok_or("no src pad")?.add_probe(
        gst::PadProbeType::BUFFER,
        move |pad, info| {
            let Some(pts) = info.buffer().and_then(|b| b.pts()) else {
                return gst::PadProbeReturn::Ok;
            };
            let mut pending = pending.lock().unwrap();
            while pending.last().is_some_and(|t| pts.seconds_f64() >= *t) {
                let t = pending.pop().unwrap();
                if let Some(el) = pad.parent_element() {
                    let id = el.emit_by_name::<u32>("start-recording", &[&before, &after]);
                    println!("event at {t:.2} s: session {id}");
                    if id > 0 {
                        sessions2.lock().unwrap().insert(id);
                    }
                }
            }
            gst::PadProbeReturn::Ok
        },
    );

    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().ok_or("no bus")?;
    let mut done = std::collections::BTreeSet::new();
    let mut eos = false;
    // Until EOS and every clip's completion message (writers finish after EOS).
    while !eos || done.len() < sessions.lock().unwrap().len() {
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_seconds(60)) else {
            eprintln!("nothing for 60 s, giving up");
            break;
        };
        match msg.view() {
            gst::MessageView::Element(e) => {
                if let Some(s) = e.structure().filter(|s| s.name() == "rssmartrecord-done") {
                    done.insert(s.get::<u32>("session-id")?);
                    println!(
                        "clip {}/{}: {} ms, {} frames, {}x{} {}, {} .. {}, ended by {}",
                        s.get::<String>("dirpath")?,
                        s.get::<String>("filename")?,
                        s.get::<u64>("duration-ms")?,
                        s.get::<u64>("frames")?,
                        s.get::<i32>("width")?,
                        s.get::<i32>("height")?,
                        s.get::<String>("codec")?,
                        s.get::<String>("start-time")?,
                        s.get::<String>("end-time")?,
                        s.get::<String>("reason")?,
                    );
                }
            }
            gst::MessageView::Warning(w) => eprintln!("warning: {}", w.error()),
            gst::MessageView::Error(e) => {
                pipeline.set_state(gst::State::Null)?;
                return Err(format!("{} ({:?})", e.error(), e.debug()).into());
            }
            gst::MessageView::Eos(_) => eos = true,
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null)?;
    Ok(())
}
