//! RTSP end to end: a real RTSP server (gst-rtsp-server) in the test process streams a
//! sample video on 127.0.0.1 with a free port; `rtspsrc ! decodebin ! rsinfer` consumes it.
//!
//! * `rtsp_stream_gets_detections`: the detections on the RTSP stream's frames are the ones
//!   the same frames get when decoded from the file (independent reference: the file
//!   pipeline, no network), and they arrive on many buffers within a timeout.
//! * `rtsp_slow_model_stays_near_live`: a model too slow for the stream's frame rate
//!   (yolov8n 640, one thread) on a 30 fps live stream: frames keep reaching a synchronised
//!   sink at about the source rate, their lag behind the clock stays bounded, and many of
//!   them carry the previous frame's detections (passed without inference). A control run
//!   with `qos=false` shows that the same measurement fails when rsinfer infers every frame.
//! * `rtsp_slow_model_with_video_sink_qos` (ignored, known limitation, see its comment):
//!   the same with the sink set up as video sinks are (`qos=true`, 20 ms max-lateness).
//!
//! Every wait has a deadline, and a watchdog ends the process if a test hangs anyway.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstrsvision::detection::{self, Detection};

use common::rtsp::Server;

/// The tests measure timing: they must not share the 2 cores with each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Ends the process if the guard lives longer than `secs` (a hung test must not hang CI).
struct Watchdog(Arc<AtomicBool>);

impl Watchdog {
    fn new(name: &'static str, secs: u64) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(secs);
                while Instant::now() < deadline {
                    if flag.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                eprintln!("{name}: still running after {secs} s, aborting");
                std::process::abort();
            })
            .unwrap();
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn video(name: &str) -> PathBuf {
    common::shared().join("video").join(name)
}

fn model(name: &str) -> PathBuf {
    common::shared().join("models").join(name)
}

/// Panics with the error if the bus holds one.
/// Also does what applications do on a latency message (as gst-launch-1.0 and playbin do):
/// recalculate the pipeline latency.
fn check_bus(pipeline: &gst::Pipeline) {
    let bus = pipeline.bus().unwrap();
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Latency]) {
        if let gst::MessageView::Latency(_) = msg.view() {
            let _ = pipeline.recalculate_latency();
        }
        if let gst::MessageView::Error(e) = msg.view() {
            let _ = pipeline.set_state(gst::State::Null);
            panic!(
                "pipeline error from {:?}: {} ({:?})",
                e.src().map(|s| s.path_string()),
                e.error(),
                e.debug()
            );
        }
    }
}

/// Stops a pipeline, failing if it does not reach NULL in time.
fn stop(pipeline: &gst::Pipeline) {
    pipeline
        .set_state(gst::State::Null)
        .expect("pipeline stops");
    let (res, state, _) = pipeline.state(gst::ClockTime::from_seconds(10));
    assert!(
        res.is_ok() && state == gst::State::Null,
        "pipeline did not stop"
    );
}

/// Detection lists compared with a tolerance (the same pixels give the same output up to
/// floating-point noise).
fn same_detections(a: &[Detection], b: &[Detection]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.label_id == b.label_id
                && (a.confidence - b.confidence).abs() < 1e-3
                && (a.x - b.x).abs() < 0.5
                && (a.y - b.y).abs() < 0.5
                && (a.width - b.width).abs() < 0.5
                && (a.height - b.height).abs() < 0.5
        })
}

/// Pulls up to `frames` samples from the appsink of `pipeline` (which must be playing) and
/// returns the detections of each, checking their plausibility.
fn pull_detections(
    pipeline: &gst::Pipeline,
    frames: usize,
    timeout: Duration,
) -> Vec<Vec<Detection>> {
    let sink = common::element::<gst_app::AppSink>(pipeline, "sink");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < frames && Instant::now() < deadline {
        check_bus(pipeline);
        let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(200)) else {
            if sink.is_eos() {
                break;
            }
            continue;
        };
        let info = gst_video::VideoInfo::from_caps(sample.caps().expect("caps")).unwrap();
        let buffer = sample.buffer().expect("buffer");
        let dets = detection::read(buffer, info.width(), info.height());
        for d in &dets {
            assert!(
                d.x >= 0.0
                    && d.y >= 0.0
                    && d.width > 0.0
                    && d.height > 0.0
                    && d.x_max() <= f64::from(info.width()) + 0.5
                    && d.y_max() <= f64::from(info.height()) + 0.5,
                "box outside the {}x{} frame: {d:?}",
                info.width(),
                info.height()
            );
            assert!(
                (0.25..=1.0).contains(&d.confidence),
                "confidence below the threshold: {d:?}"
            );
            assert!((0..80).contains(&d.label_id), "label id: {d:?}");
        }
        out.push(dets);
    }
    out
}

#[test]
fn rtsp_stream_gets_detections() {
    common::init();
    let _serial = serial();
    let _watchdog = Watchdog::new("rtsp_stream_gets_detections", 240);
    let video = video("sample_1280x720.mp4");
    let model = model("yolov8n_320_random.onnx");
    const FRAMES: usize = 90;

    // Reference: the first frames of the file, decoded locally. `qos=false` everywhere:
    // every frame is inferred, so frames and detections correspond one to one.
    let reference = common::launch(&format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 ! \
         rsinfer model-location=\"{}\" qos=false ! appsink name=sink sync=false",
        video.display(),
        model.display()
    ));
    reference.set_state(gst::State::Playing).unwrap();
    let expected = pull_detections(&reference, FRAMES + 60, Duration::from_secs(120));
    stop(&reference);
    assert_eq!(expected.len(), FRAMES + 60, "reference frames");
    assert!(
        expected.iter().filter(|d| !d.is_empty()).count() >= FRAMES / 2,
        "the benchmark model should detect something on most frames of the sample"
    );

    let server = Server::start(&video);
    let started = Instant::now();
    let pipeline = common::launch(&format!(
        "rtspsrc location={} latency=100 protocols=tcp ! decodebin ! \
         rsinfer model-location=\"{}\" qos=false ! appsink name=sink sync=false",
        server.url(),
        model.display()
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let got = pull_detections(&pipeline, FRAMES, Duration::from_secs(60));
    let elapsed = started.elapsed();
    stop(&pipeline);
    drop(server);

    let with_detections = got.iter().filter(|d| !d.is_empty()).count();
    println!(
        "RTSP: {} frames in {:.1} s, {} with detections",
        got.len(),
        elapsed.as_secs_f64(),
        with_detections
    );
    assert_eq!(got.len(), FRAMES, "frames received over RTSP within 60 s");
    assert!(
        with_detections >= FRAMES / 2,
        "only {with_detections} of {FRAMES} RTSP frames carry detections"
    );

    // The RTSP frames are the file's frames, possibly from a few frames in (the server may
    // drop what it produced before PLAY): find the offset, then every frame must match.
    let offset = (0..=60)
        .find(|&k| {
            got.iter()
                .zip(&expected[k..])
                .take(10)
                .all(|(a, b)| same_detections(a, b))
        })
        .unwrap_or_else(|| {
            panic!(
                "the RTSP detections match the file's at no offset; first RTSP frame: {:?}",
                got[0]
            )
        });
    println!("RTSP frame 0 is frame {offset} of the file");
    let mismatched: Vec<usize> = got
        .iter()
        .zip(&expected[offset..])
        .enumerate()
        .filter(|(_, (a, b))| !same_detections(a, b))
        .map(|(i, _)| i)
        .collect();
    assert!(
        mismatched.is_empty(),
        "RTSP frames {mismatched:?} (file offset {offset}) differ from the file's detections"
    );
}

/// What the sink saw of one buffer.
struct Seen {
    at: Instant,
    /// How far the buffer's running time is behind the clock when it reaches the sink.
    lag: Option<Duration>,
    detections: Vec<Detection>,
}

struct LiveRun {
    frames: usize,
    fps: f64,
    /// Buffers whose detections equal the previous buffer's (non-empty): not inferred.
    repeated: usize,
    /// Buffers whose detections differ from the previous buffer's.
    changed: usize,
    lag_p90: Duration,
    lag_last: Duration,
    latency: gst::ClockTime,
    /// Buffers that reached the sink after their render time (lag above the latency): a
    /// video sink with the usual 20 ms max-lateness would drop them.
    late_at_sink: usize,
    /// Buffers the sink rendered and dropped (as too late) in the window.
    rendered: u64,
    dropped: u64,
}

/// Plays `rtspsrc ! decodebin ! rsinfer ! fakesink sync=true` and measures what reaches the
/// sink over `window` after `warm_up`.
fn live_run(
    url: &str,
    model: &Path,
    qos: bool,
    sink_options: &str,
    warm_up: Duration,
    window: Duration,
) -> LiveRun {
    let pipeline = common::launch(&format!(
        "rtspsrc location={url} latency=100 protocols=tcp ! decodebin ! \
         rsinfer model-location=\"{}\" threads=1 qos={qos} ! \
         fakesink name=sink sync=true {sink_options}",
        model.display()
    ));
    let sink = pipeline.by_name("sink").unwrap();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    {
        let seen = seen.clone();
        let weak_sink = sink.downgrade();
        sink.static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
                let Some(buffer) = info.buffer() else {
                    return gst::PadProbeReturn::Ok;
                };
                let caps = pad.current_caps();
                let (w, h) = caps
                    .as_ref()
                    .and_then(|c| gst_video::VideoInfo::from_caps(c).ok())
                    .map(|i| (i.width(), i.height()))
                    .unwrap_or((0, 0));
                let running_time = pad.sticky_event::<gst::event::Segment>(0).and_then(|ev| {
                    ev.segment()
                        .downcast_ref::<gst::ClockTime>()
                        .and_then(|s| s.to_running_time(buffer.pts()?))
                });
                let now = weak_sink.upgrade().and_then(|s| s.current_running_time());
                let lag = match (running_time, now) {
                    (Some(rt), Some(now)) => {
                        Some(Duration::from_nanos(now.saturating_sub(rt).nseconds()))
                    }
                    _ => None,
                };
                seen.lock().unwrap().push(Seen {
                    at: Instant::now(),
                    lag,
                    detections: detection::read(buffer, w, h),
                });
                gst::PadProbeReturn::Ok
            });
    }
    pipeline.set_state(gst::State::Playing).unwrap();

    let wait = |until: Instant| {
        while Instant::now() < until {
            check_bus(&pipeline);
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // First buffer (connection, model load) within 60 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no buffer reached the sink within 60 s"
        );
        wait(Instant::now() + Duration::from_millis(100));
    }
    let sink_stats = || {
        let stats = sink.property::<gst::Structure>("stats");
        (
            stats.get::<u64>("rendered").unwrap(),
            stats.get::<u64>("dropped").unwrap(),
        )
    };
    let start = Instant::now() + warm_up;
    wait(start);
    let stats_start = sink_stats();
    let end = start + window;
    wait(end);
    let stats_end = sink_stats();

    let mut q = gst::query::Latency::new();
    let latency = if pipeline.query(&mut q) {
        let (live, min, _max) = q.result();
        assert!(live, "an RTSP pipeline is live");
        min
    } else {
        gst::ClockTime::ZERO
    };
    stop(&pipeline);

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let window_seen: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.at >= start && s.at < end)
        .collect();
    let mut repeated = 0;
    let mut changed = 0;
    let first = seen.iter().position(|s| s.at >= start).unwrap_or(0);
    for pair in seen[first.saturating_sub(1)..].windows(2) {
        if pair[1].at >= end {
            break;
        }
        if pair[1].detections == pair[0].detections {
            if !pair[1].detections.is_empty() {
                repeated += 1;
            }
        } else {
            changed += 1;
        }
    }
    let mut lags: Vec<Duration> = window_seen.iter().filter_map(|s| s.lag).collect();
    let late_at_sink = lags
        .iter()
        .filter(|l| l.as_nanos() > u128::from(latency.nseconds()))
        .count();
    let lag_last = lags.last().copied().unwrap_or(Duration::MAX);
    lags.sort();
    let lag_p90 = lags
        .get(lags.len() * 9 / 10)
        .copied()
        .unwrap_or(Duration::MAX);
    LiveRun {
        frames: window_seen.len(),
        fps: window_seen.len() as f64 / window.as_secs_f64(),
        repeated,
        changed,
        lag_p90,
        lag_last,
        latency,
        late_at_sink,
        rendered: stats_end.0 - stats_start.0,
        dropped: stats_end.1 - stats_start.1,
    }
}

#[test]
fn rtsp_slow_model_stays_near_live() {
    common::init();
    let _serial = serial();
    let _watchdog = Watchdog::new("rtsp_slow_model_stays_near_live", 300);
    let video = video("sample_640x480.mp4");
    let model = model("yolov8n_640_random.onnx");
    const SOURCE_FPS: f64 = 30.0;

    // How long one inference takes here, now (the machine is shared): the model on one
    // thread, as the element will run it.
    let (shared, _) = gstrsvision::onnx::load_shared(&gstrsvision::onnx::ModelOptions {
        path: model.clone(),
        threads: 1,
        provider: gstrsvision::onnx::Provider::Cpu,
        sessions: 1,
    })
    .expect("benchmark model loads");
    let tensor = vec![0.5f32; 3 * shared.info.input_width * shared.info.input_height];
    shared.run(&tensor, |_, _| ()).unwrap();
    let t = Instant::now();
    for _ in 0..4 {
        shared.run(&tensor, |_, _| ()).unwrap();
    }
    let inference = t.elapsed() / 4;
    drop(shared);
    let slow = inference.as_secs_f64() > 1.5 / SOURCE_FPS;
    println!(
        "one inference: {:.1} ms ({} for {SOURCE_FPS} fps)",
        inference.as_secs_f64() * 1e3,
        if slow { "too slow" } else { "fast enough" }
    );

    let server = Server::start(&video);
    let warm_up = Duration::from_secs(3);
    let window = Duration::from_secs(6);
    let run = live_run(&server.url(), &model, true, "", warm_up, window);
    println!(
        "qos=true: {} frames in {:?} ({:.1} fps), {} changed / {} repeated detections, \
         lag p90 {:?}, last {:?}, pipeline latency {}, {} frames after their render time",
        run.frames,
        window,
        run.fps,
        run.changed,
        run.repeated,
        run.lag_p90,
        run.lag_last,
        run.latency,
        run.late_at_sink
    );
    // Lag allowance: the pipeline latency plus one second of scheduling noise.
    let allowance = Duration::from_nanos(run.latency.nseconds()) + Duration::from_secs(1);
    assert!(
        run.fps >= 0.75 * SOURCE_FPS,
        "frames reach the sink at {:.1} fps, the source sends {SOURCE_FPS}",
        run.fps
    );
    assert!(
        run.lag_p90 <= allowance && run.lag_last <= allowance,
        "the sink falls behind the live stream: lag p90 {:?}, last {:?} (allowed {:?})",
        run.lag_p90,
        run.lag_last,
        allowance
    );
    if !slow {
        println!("inference keeps up with the stream here: skipping is not required");
        return;
    }
    // The model cannot run on every frame, yet frames flowed at the source rate: most
    // frames passed without inference, carrying the previous frame's detections. Fresh
    // detections cannot appear more often than inference allows.
    let max_changes = window.as_secs_f64() / inference.as_secs_f64() * 2.5 + 5.0;
    assert!(
        (run.changed as f64) <= max_changes,
        "{} detection changes in {:?}: more than {max_changes:.0} inferences possible",
        run.changed,
        window
    );
    assert!(
        run.repeated > 0 && run.changed < run.frames,
        "no frame repeated its predecessor's detections: were all frames inferred?"
    );

    // Control: inferring every frame (qos=false) must fail the near-live criteria, or the
    // measurement above proves nothing.
    let control = live_run(&server.url(), &model, false, "", warm_up, window);
    println!(
        "qos=false: {} frames in {:?} ({:.1} fps), {} changed / {} repeated detections, \
         lag p90 {:?}, last {:?}, {} frames after their render time",
        control.frames,
        window,
        control.fps,
        control.changed,
        control.repeated,
        control.lag_p90,
        control.lag_last,
        control.late_at_sink
    );
    assert!(
        control.fps < 0.75 * SOURCE_FPS || control.lag_last > allowance,
        "with qos=false the stream should fall behind (the test cannot tell otherwise)"
    );
    drop(server);
}

/// The same with the sink configured as video sinks are (`qos=true`, 20 ms max-lateness):
/// the display should still get about the source rate, with few frames dropped as late.
///
/// Ignored, a known limitation: all ~30 fps now reach the sink (rsinfer no longer forwards
/// QoS events caused by its own inference, which made avdec_h264 drop most frames: 5 fps),
/// but the sink still drops about 40% of them as more than 20 ms late: here rtspsrc
/// delivers frames ~100 ms later than the latency it reports, so an inferred frame (and the
/// frames queued behind it) misses its render time. A larger `rtspsrc latency` avoids it;
/// rsinfer could measure the arrival slack and ask for more latency itself.
#[test]
#[ignore = "known limitation: inferred frames miss a 20 ms max-lateness when upstream under-reports its latency"]
fn rtsp_slow_model_with_video_sink_qos() {
    common::init();
    let _serial = serial();
    let _watchdog = Watchdog::new("rtsp_slow_model_with_video_sink_qos", 180);
    const SOURCE_FPS: f64 = 30.0;
    let server = Server::start(&video("sample_640x480.mp4"));
    let window = Duration::from_secs(6);
    let run = live_run(
        &server.url(),
        &model("yolov8n_640_random.onnx"),
        true,
        "qos=true max-lateness=20000000",
        Duration::from_secs(3),
        window,
    );
    let rendered_fps = run.rendered as f64 / window.as_secs_f64();
    println!(
        "video-sink settings: {} frames reached the sink ({:.1} fps), {} rendered \
         ({rendered_fps:.1} fps), {} dropped as late; lag p90 {:?}, pipeline latency {}",
        run.frames, run.fps, run.rendered, run.dropped, run.lag_p90, run.latency
    );
    assert!(
        rendered_fps >= 0.75 * SOURCE_FPS && run.dropped * 10 <= run.rendered,
        "the display gets {rendered_fps:.1} of {SOURCE_FPS} fps, {} frames dropped as late",
        run.dropped
    );
}

/// A live stream recorded to a file (`filesink`, no clock synchronisation) has no deadline:
/// with the default `qos=true`, rsinfer must infer every frame, on both backends' common
/// path. (It used to judge every frame late against a pipeline latency of 0 and pass
/// nearly all of them without inference.)
#[test]
fn rtsp_to_a_sink_that_does_not_sync_infers_every_frame() {
    common::init();
    let _serial = serial();
    let _watchdog = Watchdog::new("rtsp_to_a_sink_that_does_not_sync_infers_every_frame", 120);
    let server = Server::start(&common::root().join("data/sample-shapes.mp4"));
    let dir = common::TempDir::new("rtsp-record");
    let pipeline = common::launch(&format!(
        "rtspsrc location={} latency=200 protocols=tcp ! decodebin ! \
         rsinfer name=infer model-location=\"{}\" conf-threshold=0.5 post-messages=true ! \
         rsoverlay ! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast ! mp4mux ! \
         filesink location=\"{}\"",
        server.url(),
        common::shapes_model().display(),
        dir.path().join("recorded.mp4").display()
    ));
    let infer = pipeline.by_name("infer").unwrap();
    let frames = common::count_buffers(&infer.static_pad("src").unwrap());
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let started = Instant::now();
    let mut inferred = 0;
    while started.elapsed() < Duration::from_secs(5) {
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(50)) {
            match msg.view() {
                gst::MessageView::Element(e)
                    if e.structure()
                        .is_some_and(|s| s.name() == "rsinfer-detections") =>
                {
                    inferred += 1
                }
                gst::MessageView::Error(e) => {
                    let _ = pipeline.set_state(gst::State::Null);
                    panic!("pipeline error: {} ({:?})", e.error(), e.debug());
                }
                _ => {}
            }
        }
    }
    stop(&pipeline);
    drop(server);
    let frames = frames.load(Ordering::SeqCst);
    println!("{inferred} of {frames} frames inferred");
    assert!(frames >= 60, "only {frames} frames in 5 s");
    assert!(
        inferred * 100 >= frames * 95,
        "only {inferred} of {frames} frames inferred"
    );
}
