//! Memory: rsinfer must not leak over a long run, nor across start/stop cycles.
//!
//! * `long_run_memory_stays_bounded`: a few thousand frames of the 640x480 sample (the file
//!   played several times by seeking back at its end, without a state change) through
//!   `rsinfer inference-interval=2 post-messages=true ! appsink`, the application reading
//!   every buffer's detections and every detection message. Resident memory after warm-up
//!   and at the end must differ by less than [`MAX_GROWTH_KB`].
//! * `start_stop_releases_sessions`: one pipeline set to PLAYING and back to NULL 20 times:
//!   the shared ONNX Runtime session exists while playing and is released at NULL
//!   (`gstrsvision::onnx::loaded_sessions()` back to 0), and memory stays bounded; with
//!   `performance-hint=latency` (one session) and `throughput` (one per core).
//!
//! A leak of one frame per buffer (460 kB) or of one output tensor per inference (700 kB)
//! shows up as hundreds of MB here.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstrsvision::detection;

/// Resident memory may grow by at most this much (kB) between warm-up and the end.
const MAX_GROWTH_KB: u64 = 20 * 1024;

/// The tests measure the process's memory and count sessions: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resident set size of this process in kB (`VmRSS` of /proc/self/status).
fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn video() -> PathBuf {
    common::shared().join("video/sample_640x480.mp4")
}

fn model() -> PathBuf {
    common::shared().join("models/yolov8n_320_random.onnx")
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn fail(pipeline: &gst::Pipeline, msg: &gst::MessageRef) -> ! {
    let _ = pipeline.set_state(gst::State::Null);
    match msg.view() {
        gst::MessageView::Error(e) => panic!(
            "pipeline error from {:?}: {} ({:?})",
            e.src().map(|s| s.path_string()),
            e.error(),
            e.debug()
        ),
        _ => panic!("unexpected message {msg:?}"),
    }
}

#[test]
fn long_run_memory_stays_bounded() {
    common::init();
    let _serial = serial();
    const PASSES: u32 = 2;
    const INTERVAL: u64 = 3;
    const WARM_UP_FRAMES: u64 = 300;
    const SAMPLE_EVERY: u64 = 300;

    let pipeline = common::launch(&format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 ! \
         rsinfer name=infer model-location=\"{}\" inference-interval={INTERVAL} threads=1 \
         qos=false post-messages=true ! appsink name=sink sync=false max-buffers=8",
        video().display(),
        model().display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");

    // The application side: read every buffer's detections, sample memory as frames pass.
    let frames = Arc::new(AtomicU64::new(0));
    let with_detections = Arc::new(AtomicU64::new(0));
    let samples: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    {
        let frames = frames.clone();
        let with_detections = with_detections.clone();
        let samples = samples.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
                    let dets =
                        detection::read(sample.buffer().unwrap(), info.width(), info.height());
                    if !dets.is_empty() {
                        with_detections.fetch_add(1, Ordering::Relaxed);
                    }
                    let n = frames.fetch_add(1, Ordering::Relaxed) + 1;
                    if n >= WARM_UP_FRAMES && n % SAMPLE_EVERY == 0 {
                        samples.lock().unwrap().push((n, rss_kb()));
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
    }

    let started = Instant::now();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let deadline = started + Duration::from_secs(240);
    let mut passes = 1;
    let mut messages = 0u64;
    let mut frames_per_pass = Vec::new();
    let mut end_rss = None;
    while end_rss.is_none() {
        assert!(
            Instant::now() < deadline,
            "not done within 240 s ({} frames)",
            frames.load(Ordering::Relaxed)
        );
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Error(_) => fail(&pipeline, &msg),
            gst::MessageView::Element(e)
                if e.structure()
                    .is_some_and(|s| s.name() == "rsinfer-detections") =>
            {
                messages += 1;
                // Read the message as an application would.
                let s = e.structure().unwrap();
                let list = s.get::<gst::List>("detections").unwrap();
                for d in list.iter() {
                    let d = d.get::<gst::Structure>().unwrap();
                    assert!(d.get::<f64>("confidence").unwrap() >= 0.25);
                }
            }
            gst::MessageView::Eos(_) => {
                frames_per_pass.push(frames.load(Ordering::Relaxed));
                if passes < PASSES {
                    passes += 1;
                    pipeline
                        .seek_simple(
                            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                            gst::ClockTime::ZERO,
                        )
                        .expect("seek back to the start");
                } else {
                    end_rss = Some(rss_kb());
                }
            }
            _ => {}
        }
    }
    let elapsed = started.elapsed();
    pipeline.set_state(gst::State::Null).unwrap();
    let end_rss = end_rss.unwrap();
    let frames = frames.load(Ordering::Relaxed);
    let samples = samples.lock().unwrap().clone();
    println!(
        "{frames} frames ({frames_per_pass:?} after each pass), {messages} inferred, {} with \
         detections, in {:.1} s",
        with_detections.load(Ordering::Relaxed),
        elapsed.as_secs_f64()
    );
    println!(
        "RSS (MB) by frame: {}; end {:.1}",
        samples
            .iter()
            .map(|(n, kb)| format!("{n}: {:.1}", mb(*kb)))
            .collect::<Vec<_>>()
            .join(", "),
        mb(end_rss)
    );

    assert_eq!(
        gstrsvision::onnx::loaded_sessions(),
        0,
        "session released at NULL"
    );
    // 60 s at 30 fps per pass; every INTERVAL-th frame inferred (the count runs on across
    // the seeks).
    assert_eq!(
        frames,
        1800 * u64::from(PASSES),
        "frames through the pipeline"
    );
    assert_eq!(messages, frames.div_ceil(INTERVAL), "inferred frames");
    assert!(
        with_detections.load(Ordering::Relaxed) > frames / 10,
        "the benchmark model should detect something on many frames"
    );
    let baseline = samples.first().expect("memory sampled after warm-up").1;
    let peak = samples.iter().map(|s| s.1).max().unwrap().max(end_rss);
    assert!(
        end_rss.saturating_sub(baseline) < MAX_GROWTH_KB
            && peak.saturating_sub(baseline) < MAX_GROWTH_KB,
        "resident memory grew from {:.1} MB after warm-up to {:.1} MB at the end (peak {:.1} MB)",
        mb(baseline),
        mb(end_rss),
        mb(peak)
    );
}

#[test]
fn start_stop_releases_sessions() {
    common::init();
    let _serial = serial();
    start_stop_cycles("latency", MAX_GROWTH_KB);
    // One session per core is made and freed on every start: each leaves its arenas to the
    // allocator (measured 26 MB over 20 cycles with 2 sessions, flattening after cycle 10).
    let sessions = gstrsvision::onnx::throughput_sessions() as u64;
    start_stop_cycles("throughput", MAX_GROWTH_KB * sessions.max(1));
}

fn start_stop_cycles(hint: &str, max_growth_kb: u64) {
    const CYCLES: usize = 20;
    const FRAMES_PER_CYCLE: usize = 15;

    // Built by hand: gst::parse::launch links qtdemux's pad once, but every start makes a
    // new one.
    let pipeline = gst::Pipeline::new();
    let make = |factory: &str| gst::ElementFactory::make(factory).build().unwrap();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", video().to_str().unwrap())
        .build()
        .unwrap();
    let demux = make("qtdemux");
    let parse = make("h264parse");
    let decode = make("avdec_h264");
    let infer = gst::ElementFactory::make("rsinfer")
        .property("model-location", model().to_str().unwrap())
        .property("threads", 1u32)
        .property("qos", false)
        .property_from_str("performance-hint", hint)
        .build()
        .unwrap();
    let sink = gst::ElementFactory::make("fakesink")
        .name("sink")
        .property("sync", false)
        .build()
        .unwrap();
    pipeline
        .add_many([&src, &demux, &parse, &decode, &infer, &sink])
        .unwrap();
    src.link(&demux).unwrap();
    gst::Element::link_many([&parse, &decode, &infer, &sink]).unwrap();
    let weak_parse = parse.downgrade();
    demux.connect_pad_added(move |_, pad| {
        let Some(parse_sink) = weak_parse.upgrade().and_then(|p| p.static_pad("sink")) else {
            return;
        };
        if pad.name().starts_with("video") && !parse_sink.is_linked() {
            pad.link(&parse_sink).expect("qtdemux links to h264parse");
        }
    });
    let frames = common::count_buffers(
        &pipeline
            .by_name("sink")
            .unwrap()
            .static_pad("sink")
            .unwrap(),
    );
    let bus = pipeline.bus().unwrap();
    let started = Instant::now();
    let mut rss = Vec::new();
    for cycle in 0..CYCLES {
        let before = frames.load(Ordering::Relaxed);
        pipeline.set_state(gst::State::Playing).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while frames.load(Ordering::Relaxed) < before + FRAMES_PER_CYCLE {
            assert!(
                Instant::now() < deadline,
                "cycle {cycle}: fewer than {FRAMES_PER_CYCLE} frames in 30 s"
            );
            if let Some(msg) = bus.timed_pop_filtered(
                gst::ClockTime::from_mseconds(20),
                &[gst::MessageType::Error, gst::MessageType::Eos],
            ) {
                fail(&pipeline, &msg);
            }
        }
        assert_eq!(
            gstrsvision::onnx::loaded_sessions(),
            1,
            "cycle {cycle}: one session while playing"
        );
        pipeline.set_state(gst::State::Null).unwrap();
        let (res, state, _) = pipeline.state(gst::ClockTime::from_seconds(10));
        assert!(
            res.is_ok() && state == gst::State::Null,
            "cycle {cycle}: stops"
        );
        assert_eq!(
            gstrsvision::onnx::loaded_sessions(),
            0,
            "cycle {cycle}: session released at NULL"
        );
        // Messages of the stopped run (state changes, stream-start...) are not needed.
        bus.set_flushing(true);
        bus.set_flushing(false);
        rss.push(rss_kb());
    }
    println!(
        "{hint}: {CYCLES} start/stop cycles in {:.1} s; RSS (MB) after each: {}",
        started.elapsed().as_secs_f64(),
        rss.iter()
            .map(|kb| format!("{:.1}", mb(*kb)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // Allocators and ONNX Runtime settle in the first cycles.
    let baseline = rss[2];
    let peak = *rss[2..].iter().max().unwrap();
    assert!(
        peak.saturating_sub(baseline) < max_growth_kb,
        "{hint}: resident memory grew from {:.1} MB (cycle 3) to {:.1} MB (peak) over {CYCLES} cycles",
        mb(baseline),
        mb(peak)
    );
}
