//! The JPEG branch in real pipelines: nothing encoded without a viewer, at most `fps` with
//! one, the aspect kept within the maximum size, EOS through the closed valve, and the main
//! branch's frame rate unaffected by a branch that falls behind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use gst::prelude::*;

use super::*;
use crate::pipeline::{web_branch, OUTPUT, WEB_SINK, WEB_TEE};
use crate::web::Settings;

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstrsvision::plugin_register_static().unwrap();
    });
}

fn settings(fps: u32, max: (u32, u32)) -> Settings {
    Settings {
        fps,
        max_width: max.0,
        max_height: max.1,
        ..Settings::default()
    }
}

/// `head ! tee ! fakesink name=out` with the web branch, as `describe` ends a pipeline.
fn pipeline(head: &str, web: &Settings) -> gst::Pipeline {
    let d = format!(
        "{head} ! tee name={WEB_TEE} ! fakesink name={OUTPUT} sync=false {WEB_TEE}. ! {}",
        web_branch(web)
    );
    gst::parse::launch(&d)
        .unwrap_or_else(|e| panic!("{d}: {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap()
}

/// Counts the buffers reaching `out`.
fn count_out(p: &gst::Pipeline) -> Arc<AtomicU64> {
    let n = Arc::new(AtomicU64::new(0));
    let c = n.clone();
    p.by_name(OUTPUT)
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            c.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    n
}

fn no_error(p: &gst::Pipeline) {
    let bus = p.bus().unwrap();
    while let Some(m) = bus.pop_filtered(&[gst::MessageType::Error]) {
        if let gst::MessageView::Error(e) = m.view() {
            panic!("{} ({:?})", e.error(), e.debug());
        }
    }
}

/// Width and height of a JPEG, decoded by GStreamer's own decoder (an independent check
/// that it is a whole, valid JPEG).
fn decode_jpeg(data: &[u8]) -> (i32, i32) {
    assert_eq!(&data[..2], [0xff, 0xd8], "SOI");
    assert_eq!(&data[data.len() - 2..], [0xff, 0xd9], "EOI");
    let p = gst::parse::launch("appsrc name=src ! jpegdec ! appsink name=sink sync=false")
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let src = p
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    src.set_caps(Some(&gst::Caps::builder("image/jpeg").build()));
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    src.push_buffer(gst::Buffer::from_slice(data.to_vec()))
        .unwrap();
    src.end_of_stream().unwrap();
    let sample = sink
        .try_pull_sample(gst::ClockTime::from_seconds(10))
        .expect("jpegdec decodes the JPEG");
    let caps = sample.caps().unwrap().structure(0).unwrap().to_owned();
    p.set_state(gst::State::Null).unwrap();
    (
        caps.get::<i32>("width").unwrap(),
        caps.get::<i32>("height").unwrap(),
    )
}

#[test]
fn pacer_passes_exactly_fps_without_bursts() {
    let ms = 1_000_000u64;
    let p = Pacer::new(5);
    // 30 fps with a little jitter for 10 s: 50 frames pass, never two within 150 ms.
    let mut passed = Vec::new();
    for i in 0..300u64 {
        let jitter = (i * 7919 % 5) * ms;
        let t = i * 1_000_000_000 / 30 + jitter;
        if p.admit(t) {
            passed.push(t);
        }
    }
    assert!((49..=51).contains(&passed.len()), "{}", passed.len());
    assert!(passed.windows(2).all(|w| w[1] - w[0] >= 150 * ms));
    // After a pause the next frame passes at once, and no catch-up burst follows.
    let p = Pacer::new(5);
    assert!(p.admit(0));
    assert!(p.admit(5_000 * ms));
    assert!(!p.admit(5_100 * ms));
    assert!(p.admit(5_200 * ms));
    // Faster than the source: every frame.
    let p = Pacer::new(60);
    assert!((0..30).all(|i| p.admit(i * 1_000_000_000 / 30)));
    assert_eq!(Pacer::new(4).period(), Duration::from_millis(250));
}

#[test]
fn frames_are_encoded_only_while_watched_and_at_most_fps() {
    init();
    let web = settings(5, (320, 200));
    let p = pipeline(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,format=I420,width=640,height=480,framerate=30/1",
        &web,
    );
    let out = count_out(&p);
    let hub = Arc::new(SourceHub::new("cam"));
    let counters = Arc::new(TapCounters::default());
    let mut tap = Tap::attach(&p, web.fps, hub.clone(), counters.clone()).expect("a web branch");
    assert!(!tap.is_open());
    p.set_state(gst::State::Playing).unwrap();

    std::thread::sleep(Duration::from_millis(1500));
    no_error(&p);
    assert!(out.load(Ordering::Relaxed) >= 30, "the main branch runs");
    assert_eq!(
        counters.encoded.load(Ordering::Relaxed),
        0,
        "no viewer: no JPEG"
    );
    assert!(hub.frame.borrow().is_none());

    let viewer = hub.watch();
    tap.update();
    assert!(tap.is_open());
    let (out0, t0) = (out.load(Ordering::Relaxed), Instant::now());
    std::thread::sleep(Duration::from_secs(3));
    let encoded = counters.encoded.load(Ordering::Relaxed);
    let fps_out = (out.load(Ordering::Relaxed) - out0) as f64 / t0.elapsed().as_secs_f64();
    assert!((12..=17).contains(&encoded), "5 fps for 3 s: {encoded}");
    assert_eq!(counters.published.load(Ordering::Relaxed), encoded);
    assert!(
        fps_out > 27.0,
        "main branch at {fps_out:.1} fps while watched"
    );
    let jpeg = hub.frame.borrow().clone().expect("a JPEG");
    assert_eq!(jpeg.seq, encoded);
    // 640x480 in 320x200, aspect kept: 267x200 (or 266).
    let (w, h) = decode_jpeg(&jpeg.data);
    assert_eq!(h, 200);
    assert!((266..=267).contains(&w), "{w}x{h}");

    drop(viewer);
    tap.update();
    assert!(!tap.is_open());
    std::thread::sleep(Duration::from_millis(300));
    let settled = counters.encoded.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        counters.encoded.load(Ordering::Relaxed),
        settled,
        "closed again: nothing encoded"
    );
    no_error(&p);
    p.set_state(gst::State::Null).unwrap();
}

/// The size the branch gives a `w`x`h` input with `max`.
fn scaled(w: u32, h: u32, max: (u32, u32)) -> (i32, i32) {
    let web = settings(30, max);
    let p = pipeline(
        &format!("videotestsrc num-buffers=3 ! video/x-raw,format=I420,width={w},height={h}"),
        &web,
    );
    let hub = Arc::new(SourceHub::new("cam"));
    let _viewer = hub.watch();
    let _tap = Tap::attach(&p, web.fps, hub.clone(), Arc::new(TapCounters::default())).unwrap();
    let sink = p.by_name(WEB_SINK).unwrap();
    let caps = Arc::new(std::sync::Mutex::new(None));
    let c = caps.clone();
    sink.static_pad("sink")
        .unwrap()
        .connect_notify(Some("caps"), move |pad, _| {
            // Also notified when the caps are cleared (going to NULL).
            if let Some(caps) = pad.current_caps() {
                *c.lock().unwrap() = Some(caps);
            }
        });
    p.set_state(gst::State::Playing).unwrap();
    let bus = p.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(20),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("the end");
    p.set_state(gst::State::Null).unwrap();
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    let jpeg = hub.frame.borrow().clone().expect("a JPEG");
    let size = decode_jpeg(&jpeg.data);
    let caps = caps.lock().unwrap().clone().expect("caps");
    let s = caps.structure(0).unwrap();
    assert_eq!(
        (
            s.get::<i32>("width").unwrap(),
            s.get::<i32>("height").unwrap()
        ),
        size
    );
    size
}

#[test]
fn frames_are_scaled_down_to_fit_with_their_aspect() {
    init();
    assert_eq!(scaled(1920, 1080, (1280, 720)), (1280, 720));
    assert_eq!(scaled(1920, 1080, (640, 640)), (640, 360));
    assert_eq!(scaled(640, 480, (1280, 720)), (640, 480), "never scaled up");
    assert_eq!(scaled(2560, 1920, (1280, 720)), (960, 720));
    let (w, h) = scaled(1080, 1920, (1280, 720));
    assert!(h == 720 && (404..=406).contains(&w), "{w}x{h}");
}

#[test]
fn eos_passes_the_closed_valve_of_a_non_live_pipeline() {
    init();
    let web = settings(5, (1280, 720));
    let p = pipeline(
        "videotestsrc num-buffers=20 ! video/x-raw,format=I420,width=320,height=240",
        &web,
    );
    let out = count_out(&p);
    let counters = Arc::new(TapCounters::default());
    let _tap = Tap::attach(&p, 5, Arc::new(SourceHub::new("f")), counters.clone()).unwrap();
    // The appsink gets no buffer to preroll with (async=false): PLAYING all the same.
    p.set_state(gst::State::Playing).unwrap();
    let msg = p
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("EOS from every sink, the appsink behind the closed valve too");
    p.set_state(gst::State::Null).unwrap();
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    assert_eq!(out.load(Ordering::Relaxed), 20);
    assert_eq!(counters.encoded.load(Ordering::Relaxed), 0);
}

#[test]
fn a_branch_that_falls_behind_never_slows_the_main_branch() {
    init();
    let web = settings(60, (1280, 720));
    let p = pipeline(
        "videotestsrc is-live=true ! video/x-raw,format=I420,width=640,height=480,framerate=30/1",
        &web,
    );
    // An encoder that needs 250 ms a frame.
    p.by_name(crate::pipeline::WEB_ENCODER)
        .unwrap()
        .static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, |_, _| {
            std::thread::sleep(Duration::from_millis(250));
            gst::PadProbeReturn::Ok
        });
    let out = count_out(&p);
    let hub = Arc::new(SourceHub::new("cam"));
    let _viewer = hub.watch();
    let counters = Arc::new(TapCounters::default());
    let _tap = Tap::attach(&p, web.fps, hub, counters.clone()).unwrap();
    p.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (out0, t0) = (out.load(Ordering::Relaxed), Instant::now());
    std::thread::sleep(Duration::from_secs(3));
    let fps = (out.load(Ordering::Relaxed) - out0) as f64 / t0.elapsed().as_secs_f64();
    let encoded = counters.encoded.load(Ordering::Relaxed);
    no_error(&p);
    p.set_state(gst::State::Null).unwrap();
    assert!(fps > 27.0, "main branch at {fps:.1} fps");
    assert!(
        (8..=16).contains(&encoded),
        "4 a second get through: {encoded}"
    );
}

/// A JPEG decoded to packed RGB: (width, height, pixels).
fn decode_rgb(data: &[u8]) -> (usize, usize, Vec<u8>) {
    let p = gst::parse::launch(
        "appsrc name=src caps=image/jpeg ! jpegdec ! videoconvert ! video/x-raw,format=RGB \
         ! appsink name=sink",
    )
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let src = p
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    src.push_buffer(gst::Buffer::from_slice(data.to_vec()))
        .unwrap();
    src.end_of_stream().unwrap();
    let sample = sink
        .try_pull_sample(gst::ClockTime::from_seconds(10))
        .unwrap();
    let caps = sample.caps().unwrap().structure(0).unwrap().to_owned();
    let map = sample.buffer().unwrap().map_readable().unwrap();
    let (w, h) = (
        caps.get::<i32>("width").unwrap() as usize,
        caps.get::<i32>("height").unwrap() as usize,
    );
    // GStreamer's default stride for packed RGB: rows rounded up to 4 bytes.
    let stride = (w * 3 + 3) & !3;
    let mut rgb = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        rgb.extend_from_slice(&map[row * stride..row * stride + w * 3]);
    }
    drop(map);
    p.set_state(gst::State::Null).unwrap();
    (w, h, rgb)
}

#[test]
fn the_jpegs_are_annotated_and_the_main_branch_is_not() {
    init();
    let web = settings(30, (1280, 720));
    // A flat grey frame with one detection box on it.
    let p = pipeline(
        "videotestsrc num-buffers=10 pattern=solid-color foreground-color=0xff808080 \
         ! video/x-raw,format=I420,width=320,height=240 ! identity name=mark",
        &web,
    );
    p.by_name("mark")
        .unwrap()
        .static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, |_, info| {
            if let Some(b) = info.buffer_mut() {
                let det = gstrsvision::detection::Detection {
                    x: 80.0,
                    y: 60.0,
                    width: 160.0,
                    height: 120.0,
                    confidence: 0.9,
                    label_id: 0,
                    label: "circle".into(),
                    track_id: None,
                    tracking: None,
                    attributes: Vec::new(),
                };
                gstrsvision::detection::attach(b.make_mut(), &[det], 320, 240, 0);
            }
            gst::PadProbeReturn::Ok
        });
    // The main branch sees the frame as it came: every luma byte the same grey.
    let untouched = Arc::new(AtomicU64::new(0));
    let u = untouched.clone();
    p.by_name(OUTPUT)
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let b = info.buffer().unwrap();
            let map = b.map_readable().unwrap();
            let luma = &map[..320 * 240];
            if luma.iter().all(|&y| y == luma[0]) {
                u.fetch_add(1, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
    let hub = Arc::new(SourceHub::new("cam"));
    let _viewer = hub.watch();
    let _tap = Tap::attach(&p, web.fps, hub.clone(), Arc::new(TapCounters::default())).unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let msg = p
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("the end");
    p.set_state(gst::State::Null).unwrap();
    assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
    assert_eq!(
        untouched.load(Ordering::Relaxed),
        10,
        "rsoverlay drew on a copy"
    );

    let jpeg = hub.frame.borrow().clone().expect("a JPEG");
    let (w, h, rgb) = decode_rgb(&jpeg.data);
    assert_eq!((w, h), (320, 240));
    let px = |x: usize, y: usize| &rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
    let far = |p: &[u8]| p.iter().map(|&c| (i32::from(c) - 128).abs()).sum::<i32>() > 90;
    let coloured = (0..w * h).filter(|i| far(px(i % w, i / w))).count();
    // The outline of a 160x120 box (at least 1 px: ~560 pixels) and its label.
    assert!(coloured > 500, "{coloured} pixels drawn");
    assert!(
        far(px(80, 120)) || far(px(81, 120)),
        "the left edge is drawn"
    );
    assert!(!far(px(160, 120)), "the inside is not filled");
    assert!(!far(px(10, 230)), "outside the box: grey");
}
