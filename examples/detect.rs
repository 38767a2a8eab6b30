//! Embedding rsinfer in a Rust application: run YOLO detection on a video file and read the
//! detections of every frame from the buffer metadata.
//!
//! ```text
//! cargo run --release --example detect -- [VIDEO [MODEL]] [--conf T] [--jsonl FILE] [--quiet]
//!     [--interval N] [--track] [--annotate FILE.mp4] [--snapshot FILE.png] [--snapshot-at SECONDS]
//!     [--events FILE.jsonl] [--clips DIR] [--clip-at SECONDS]
//! ```
//!
//! VIDEO defaults to `data/sample-shapes.mp4` and MODEL to `models/rsvision-shapes.onnx`.
//! `--conf T` sets rsinfer's `conf-threshold` (default: the element's, 0.25), `--interval N`
//! its `inference-interval` (infer every Nth frame). `--track` puts rstracker after
//! rsinfer: objects get ids, frames rsinfer skipped carry the tracks' predicted boxes, the
//! overlay draws trails, `--events` publishes one message per track event
//! (`publish=tracks`: entry, moving, stopped, exit) instead of every 30th frame's objects,
//! and the summary counts tracks and events.
//! `--jsonl FILE` writes one JSON document per frame (`frame`, `pts_ns`, `detections` with
//! `label`, `label_id`, `confidence`, `x`, `y`, `width`, `height`, and with `--track`
//! `track_id` and `predicted`); `--quiet` prints only
//! the summary (per-class counts and the frame rate).
//! `--annotate FILE.mp4` draws the detections with rsoverlay and writes the annotated video
//! (H.264 in MP4); `--snapshot FILE.png` saves the annotated frame at `--snapshot-at`
//! seconds (default 3) as PNG.
//! `--events FILE.jsonl` publishes the detections with rsmsgbroker as DeepStream-schema JSON
//! (every 30th frame, DeepStream's default) to that file (`conn-str=file://...`; a Kafka
//! `conn-str` works the same way). `--clips DIR` puts rssmartrecord on the encoded stream
//! (`filesrc ! parsebin ! rssmartrecord ! decodebin`, so VIDEO must be H.264 or H.265) and
//! records one event clip, from 2 s before to 3 s after the first frame at or after
//! `--clip-at` seconds (default 5) that has detections, as an application would on its own
//! event; the `rssmartrecord-done` message is printed.
//! The pipeline is `filesrc ! decodebin ! rsinfer [! rstracker] ! appsink` (with `--annotate` or
//! `--snapshot`: `rsinfer ! rsoverlay ! tee`, one branch to the appsink, one to
//! `x264enc ! mp4mux ! filesink`); the plugin is registered
//! statically (`gstrsvision::plugin_register_static()`), so no `GST_PLUGIN_PATH` is needed.
//! Each frame's detections are read with `gstrsvision::detection::read`, which also reads
//! region-of-interest metas written by other elements using the same layout (e.g. DL
//! Streamer's `gvadetect`). Prints one line per frame and a per-class summary at the end.

use std::collections::BTreeMap;
use std::error::Error;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
    /// Track ids seen (with --track).
    tracks: std::collections::BTreeSet<u64>,
    /// rstracker events by kind.
    events: BTreeMap<String, u64>,
}

fn main() -> Result<(), Box<dyn Error>> {
    const USAGE: &str = "usage: detect [VIDEO [MODEL]] [--conf T] [--jsonl FILE] [--quiet] \
                         [--interval N] [--track] \
                         [--annotate FILE.mp4] [--snapshot FILE.png] [--snapshot-at SECONDS] \
                         [--events FILE.jsonl] [--clips DIR] [--clip-at SECONDS]";
    let mut positional = Vec::new();
    let mut jsonl = None;
    let mut annotate: Option<String> = None;
    let mut snapshot: Option<String> = None;
    let mut snapshot_at = 3.0f64;
    let mut events: Option<String> = None;
    let mut clips: Option<String> = None;
    let mut clip_at = 5.0f64;
    let mut quiet = false;
    let mut conf: Option<f32> = None;
    let mut interval: Option<u32> = None;
    let mut track = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--jsonl" => jsonl = Some(args.next().ok_or(USAGE)?),
            "--quiet" => quiet = true,
            "--track" => track = true,
            "--interval" => {
                let v = args.next().ok_or(USAGE)?;
                interval = Some(
                    v.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("--interval {v}: not a positive number"))?,
                );
            }
            "--annotate" => annotate = Some(args.next().ok_or(USAGE)?),
            "--snapshot" => snapshot = Some(args.next().ok_or(USAGE)?),
            "--events" => events = Some(args.next().ok_or(USAGE)?),
            "--clips" => clips = Some(args.next().ok_or(USAGE)?),
            "--clip-at" => {
                let v = args.next().ok_or(USAGE)?;
                clip_at = v
                    .parse()
                    .map_err(|_| format!("--clip-at {v}: not a number"))?;
            }
            "--snapshot-at" => {
                let v = args.next().ok_or(USAGE)?;
                snapshot_at = v
                    .parse()
                    .map_err(|_| format!("--snapshot-at {v}: not a number"))?;
            }
            "--conf" => {
                let v = args.next().ok_or(USAGE)?;
                conf = Some(v.parse().map_err(|_| format!("--conf {v}: not a number"))?);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ if a.starts_with("--") => return Err(USAGE.into()),
            _ => positional.push(a),
        }
    }
    if positional.len() > 2 {
        return Err(USAGE.into());
    }
    let mut positional = positional.into_iter();
    let video = positional
        .next()
        .unwrap_or_else(|| "data/sample-shapes.mp4".into());
    let model = positional
        .next()
        .unwrap_or_else(|| "models/rsvision-shapes.onnx".into());
    for path in [&video, &model] {
        if !std::path::Path::new(path).is_file() {
            return Err(format!("{path}: no such file ({USAGE})").into());
        }
    }
    let jsonl = match jsonl {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(&p).map_err(|e| format!("{p}: {e}"))?,
        )),
        None => None,
    };
    let jsonl = Arc::new(Mutex::new(jsonl));
    let jsonl_cb = jsonl.clone();

    gst::init()?;
    gstrsvision::plugin_register_static()?;

    // Properties are set on the elements rather than written into the launch line, so that
    // file names need no quoting. A file is not live: every frame is inferred (rsinfer's
    // QoS only lets late frames pass without inference in live or clock-synced pipelines).
    let source = if clips.is_some() {
        "filesrc name=src ! parsebin ! rssmartrecord name=record sensor-id=demo-cam ! decodebin"
    } else {
        "filesrc name=src ! decodebin"
    };
    let broker = match (events.is_some(), track) {
        (true, true) => {
            " ! rstracker name=tracker ! rsmsgbroker name=broker sensor-id=demo-cam publish=tracks"
        }
        (true, false) => " ! rsmsgbroker name=broker sensor-id=demo-cam",
        (false, true) => " ! rstracker name=tracker",
        (false, false) => "",
    };
    let overlay = if track {
        "rsoverlay show-trails=true"
    } else {
        "rsoverlay"
    };
    let description = if annotate.is_some() || snapshot.is_some() {
        let encode = if annotate.is_some() {
            "t. ! queue ! x264enc speed-preset=faster ! mp4mux ! filesink name=out"
        } else {
            ""
        };
        // The appsink branch's queue holds up to 10 s of frames (no byte limit): while the
        // pipeline prerolls, x264enc takes dozens of frames before its first output, and a
        // full queue in front of the prerolled appsink would block the tee before that.
        format!(
            "{source} ! rsinfer name=infer{broker} ! {overlay} ! tee name=t \
             t. ! queue max-size-bytes=0 max-size-buffers=0 max-size-time=10000000000 ! \
             appsink name=sink sync=false {encode}"
        )
    } else {
        format!("{source} ! rsinfer name=infer{broker} ! appsink name=sink sync=false")
    };
    let pipeline = gst::parse::launch(&description)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline")?;
    if let Some(path) = &annotate {
        pipeline
            .by_name("out")
            .ok_or("no filesink")?
            .set_property("location", path);
    }
    let snapshot_taken = Arc::new(Mutex::new(None::<Result<String, String>>));
    let snapshot_cb = snapshot_taken.clone();
    let snapshot_path = snapshot.clone();
    pipeline
        .by_name("src")
        .ok_or("no filesrc")?
        .set_property("location", &video);
    let infer = pipeline.by_name("infer").ok_or("no rsinfer")?;
    infer.set_property("model-location", &model);
    if let Some(conf) = conf {
        infer.set_property("conf-threshold", conf);
    }
    if let Some(n) = interval {
        infer.set_property("inference-interval", n);
    }
    if let Some(path) = &events {
        let path = std::path::absolute(path)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // The file transport appends: start from an empty file.
        let _ = std::fs::remove_file(&path);
        pipeline
            .by_name("broker")
            .ok_or("no rsmsgbroker")?
            .set_property("conn-str", format!("file://{}", path.display()));
    }
    if let Some(dir) = &clips {
        std::fs::create_dir_all(dir)?;
        let record = pipeline.by_name("record").ok_or("no rssmartrecord")?;
        record.set_property("location", dir);
        // The application's "event": the first frame with detections at or after --clip-at.
        // It asks rssmartrecord for a clip from 2 s before to 3 s after that frame.
        let asked = std::sync::atomic::AtomicBool::new(false);
        let src_pad = infer.static_pad("src").ok_or("no rsinfer src pad")?;
        src_pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(buffer) = info.buffer() {
                let due = buffer.pts().is_some_and(|t| t.seconds_f64() >= clip_at);
                if due
                    && gstrsvision::detection::count(buffer) > 0
                    && !asked.swap(true, std::sync::atomic::Ordering::SeqCst)
                {
                    let id = record.emit_by_name::<u32>("start-recording", &[&2.0f64, &3.0f64]);
                    println!(
                        "event at {}: start-recording(2 s before, 3 s after) -> session {id}",
                        buffer.pts().display()
                    );
                }
            }
            gst::PadProbeReturn::Ok
        });
    }
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
                if let Some(path) = &snapshot_path {
                    let due = buffer.pts().is_some_and(|t| t.seconds_f64() >= snapshot_at);
                    let mut taken = snapshot_cb.lock().unwrap();
                    if due && taken.is_none() {
                        *taken = Some(save_png(&sample, path));
                    }
                }

                let mut s = summary_cb.lock().unwrap();
                let frame = s.frames;
                s.tracks
                    .extend(detections.iter().filter_map(|d| d.track_id));
                s.frames += 1;
                s.frames_with_detections += u64::from(!detections.is_empty());
                let mut seen = Vec::new();
                let mut line = format!(
                    "frame {frame:5} pts {}: {} objects",
                    buffer.pts().display(),
                    detections.len()
                );
                for d in &detections {
                    let id = d.track_id.map(|id| format!(" #{id}")).unwrap_or_default();
                    line.push_str(&format!(
                        "\n    {:>12}{id} {:.2} [{:.0}, {:.0}, {:.0}x{:.0}]",
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
                if !quiet {
                    println!("{line}");
                }
                if let Some(out) = jsonl_cb.lock().unwrap().as_mut() {
                    let doc = serde_json::json!({
                        "frame": frame,
                        "pts_ns": buffer.pts().map(|t| t.nseconds()),
                        "detections": detections.iter().map(|d| serde_json::json!({
                            "label": d.label,
                            "label_id": d.label_id,
                            "confidence": d.confidence,
                            "x": d.x,
                            "y": d.y,
                            "width": d.width,
                            "height": d.height,
                            "track_id": d.track_id,
                            "predicted": d.tracking.as_ref().map(|t| t.predicted),
                        })).collect::<Vec<_>>(),
                    });
                    writeln!(out, "{doc}").map_err(|_| gst::FlowError::Error)?;
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );

    let started = Instant::now();
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
            gst::MessageView::Element(e)
                if e.structure()
                    .is_some_and(|s| s.name() == "rssmartrecord-done") =>
            {
                let s = e.structure().expect("checked");
                let get = |k: &str| {
                    s.value(k)
                        .ok()
                        .and_then(|v| v.serialize().ok())
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                };
                println!(
                    "clip: {}/{} ({} ms, {} to {}, {}x{} {}, ended by {})",
                    get("dirpath"),
                    get("filename"),
                    get("duration-ms"),
                    get("start-time"),
                    get("end-time"),
                    get("width"),
                    get("height"),
                    get("codec"),
                    get("reason")
                );
            }
            gst::MessageView::Element(e)
                if e.structure().is_some_and(|s| s.name() == "rstracker-event") =>
            {
                let s = e.structure().expect("checked");
                if let Ok(kind) = s.get::<String>("event") {
                    *summary.lock().unwrap().events.entry(kind).or_default() += 1;
                }
            }
            gst::MessageView::Warning(w) => eprintln!(
                "warning from {}: {}",
                w.src().map(|s| s.path_string()).unwrap_or_default(),
                w.error()
            ),
            _ => {}
        }
    }
    let elapsed = started.elapsed();
    let broker_stats = pipeline
        .by_name("broker")
        .map(|b| b.property::<gst::Structure>("stats"));
    pipeline.set_state(gst::State::Null)?;
    result?;
    if let Some(out) = jsonl.lock().unwrap().as_mut() {
        out.flush()?;
    }

    if let Some(path) = &snapshot {
        match snapshot_taken.lock().unwrap().take() {
            Some(Ok(msg)) => println!("{msg}"),
            Some(Err(e)) => return Err(e.into()),
            None => return Err(format!("{path}: the video is shorter than {snapshot_at} s").into()),
        }
    }
    if let Some(path) = &annotate {
        println!("annotated video: {path}");
    }
    if let (Some(path), Some(stats)) = (&events, broker_stats) {
        println!("events: {path} ({stats})");
    }

    let mut work = vec!["decode", "detection"];
    if track {
        work.push("tracking");
    }
    if events.is_some() {
        work.push("events");
    }
    if annotate.is_some() || snapshot.is_some() {
        work.push("drawing");
    }
    if annotate.is_some() {
        work.push("H.264 encoding");
    }
    let s = summary.lock().unwrap();
    println!(
        "\n{} frames, {} with detections, {:.1} s: {:.1} frames/s ({})",
        s.frames,
        s.frames_with_detections,
        elapsed.as_secs_f64(),
        s.frames as f64 / elapsed.as_secs_f64(),
        work.join(" + ")
    );
    if track {
        let count = |k: &str| s.events.get(k).copied().unwrap_or(0);
        println!(
            "{} tracks (ids {}..={}); events: {} entry, {} moving, {} stopped, {} exit",
            s.tracks.len(),
            s.tracks.first().copied().unwrap_or(0),
            s.tracks.last().copied().unwrap_or(0),
            count("entry"),
            count("moving"),
            count("stopped"),
            count("exit")
        );
    }
    println!(
        "{:>12} {:>10} {:>8} {:>9} {:>9}",
        "class", "objects", "frames", "mean conf", "max conf"
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

/// Writes the frame of `sample` as a PNG file (GStreamer converts and encodes it).
fn save_png(sample: &gst::Sample, path: &str) -> Result<String, String> {
    let png = gst_video::convert_sample(
        sample,
        &gst::Caps::builder("image/png").build(),
        Some(gst::ClockTime::from_seconds(10)),
    )
    .map_err(|e| format!("snapshot: {e}"))?;
    let buffer = png.buffer().ok_or("snapshot: no buffer")?;
    let map = buffer.map_readable().map_err(|e| e.to_string())?;
    std::fs::write(path, map.as_slice()).map_err(|e| format!("{path}: {e}"))?;
    Ok(format!(
        "snapshot: {path} (frame at {})",
        sample.buffer().and_then(|b| b.pts()).display()
    ))
}
