//! `rsinfer backend=ovms` against a real KServe v2 server (the `kserve` PyPI package serving
//! ONNX models with onnxruntime, pipelines/kserve-serve-onnx.py) on 127.0.0.1: parity with
//! `backend=onnx` over gRPC and REST on the sample video, exact boxes and frame order with
//! several requests in flight, flushes, a server killed (SIGKILL) or frozen (SIGSTOP)
//! mid-stream and brought back, HTTPS with a private CA, bad servers (nothing listening,
//! junk, garbage answers mid-stream), unknown or non-image models, start/stop cycles, and
//! pipelines/ovms-rtsp-detect.sh on a real RTSP stream.
//!
//! Needs the kserve venv made by scripts/setup.sh --test.

mod common;
#[path = "kserve/outage.rs"]
mod outage;
#[path = "kserve/server.rs"]
mod server;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{init, root};
use gst::prelude::*;
use gstrsvision::detection::{self, Detection};
use server::KserveServer;

/// The tests share 2 cores with a Python server and measure stalls: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn data(name: &str) -> String {
    root().join("tests/data").join(name).display().to_string()
}

fn shapes_server() -> KserveServer {
    let shapes = common::shapes_model();
    let konst = root().join("tests/data/const_v8.onnx");
    let noimg = root().join("tests/data/no_image_input.onnx");
    KserveServer::start(&[("shapes", &shapes), ("const", &konst), ("noimg", &noimg)])
}

/// Runs the sample video through `rsinfer PROPS` and returns every frame's PTS and
/// detections.
fn detections_of_sample(props: &str) -> Vec<(u64, Vec<Detection>)> {
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! \
         rsinfer name=infer {props} conf-threshold=0.5 labels-location={} ! appsink name=sink sync=false",
        root().join("data/sample-shapes.mp4").display(),
        root().join("models/rsvision-shapes.txt").display(),
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    let frames = Arc::new(Mutex::new(Vec::new()));
    let f = frames.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
                let buf = sample.buffer().unwrap();
                f.lock().unwrap().push((
                    buf.pts().unwrap().nseconds(),
                    detection::read(buf, info.width(), info.height()),
                ));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    common::run_to_eos(&pipeline, 300);
    let v = frames.lock().unwrap().clone();
    v
}

fn assert_same(reference: &[(u64, Vec<Detection>)], got: &[(u64, Vec<Detection>)], what: &str) {
    assert_eq!(reference.len(), got.len(), "{what}: frame count");
    let mut boxes = 0;
    for ((pts_a, a), (pts_b, b)) in reference.iter().zip(got) {
        assert_eq!(pts_a, pts_b, "{what}: frames out of order");
        assert_eq!(
            a.len(),
            b.len(),
            "{what}: frame at {pts_a} ns: {a:?} vs {b:?}"
        );
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.label, y.label, "{what}: {x:?} vs {y:?}");
            assert_eq!(x.label_id, y.label_id);
            for (p, q) in [
                (x.x, y.x),
                (x.y, y.y),
                (x.width, y.width),
                (x.height, y.height),
            ] {
                assert!((p - q).abs() < 0.01, "{what}: {x:?} vs {y:?}");
            }
            assert!(
                (x.confidence - y.confidence).abs() < 1e-4,
                "{what}: {x:?} vs {y:?}"
            );
            boxes += 1;
        }
    }
    assert!(
        boxes > 100,
        "{what}: only {boxes} boxes in the sample video"
    );
}

#[test]
fn grpc_and_rest_give_the_same_detections_as_onnx() {
    let _serial = serial();
    init();
    let server = shapes_server();
    let reference = detections_of_sample(&format!(
        "model-location={}",
        common::shapes_model().display()
    ));
    assert!(reference.len() >= 250, "{} frames", reference.len());
    let grpc = detections_of_sample(&format!(
        "backend=ovms server-url={} model-name=shapes max-in-flight=4",
        server.grpc_url()
    ));
    assert_same(&reference, &grpc, "gRPC");
    let rest = detections_of_sample(&format!(
        "backend=ovms server-url={} model-name=shapes max-in-flight=2",
        server.http_url()
    ));
    assert_same(&reference, &rest, "REST");
}

fn frame(width: u32, height: u32, n: u64) -> gst::Buffer {
    let mut buf = gst::Buffer::with_size((width * height * 3) as usize).unwrap();
    {
        let b = buf.get_mut().unwrap();
        b.map_writable().unwrap().fill((n * 37 % 255) as u8);
        b.set_pts(gst::ClockTime::from_mseconds(33 * n));
        b.set_duration(gst::ClockTime::from_mseconds(33));
    }
    buf
}

fn const_harness(url: &str, max_in_flight: u32) -> gst_check::Harness {
    let element = gst::ElementFactory::make("rsinfer")
        .property_from_str("backend", "ovms")
        .property("server-url", url)
        .property("model-name", "const")
        .property("labels-location", data("const.labels"))
        .property("max-in-flight", max_in_flight)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=RGB,width=320,height=240,framerate=30/1");
    h
}

/// The constant model's boxes on a 320x240 frame (tests/data/make_test_models.py; the same
/// ground truth as tests/rsinfer.rs).
fn assert_const_boxes(dets: &[Detection]) {
    let expected = [
        ("alpha", (120.0, 100.0, 80.0, 40.0), 0.9),
        ("beta", (30.0, 40.0, 40.0, 40.0), 0.6),
        ("gamma", (35.0, 40.0, 40.0, 40.0), 0.3),
    ];
    assert_eq!(dets.len(), 3, "{dets:?}");
    for (d, (label, rect, conf)) in dets.iter().zip(expected) {
        assert_eq!(d.label, label);
        for (a, b) in [
            (d.x, rect.0),
            (d.y, rect.1),
            (d.width, rect.2),
            (d.height, rect.3),
        ] {
            assert!((a - b).abs() < 1e-3, "{d:?} != {rect:?}");
        }
        assert!((d.confidence - conf).abs() < 1e-6, "{d:?}");
    }
}

#[test]
fn exact_boxes_in_order_with_requests_in_flight_and_flushes() {
    let _serial = serial();
    init();
    let server = shapes_server();
    for url in [server.grpc_url(), server.http_url()] {
        for max_in_flight in [1u32, 4] {
            let mut h = const_harness(&url, max_in_flight);
            h.play();
            for n in 0..12 {
                h.push(frame(320, 240, n)).unwrap();
            }
            h.push_event(gst::event::Eos::new());
            for n in 0..12 {
                let out = h.pull().expect("every frame comes out");
                assert_eq!(out.pts(), Some(gst::ClockTime::from_mseconds(33 * n)));
                assert_const_boxes(&detection::read(&out, 320, 240));
            }
            assert!(h.try_pull().is_none());

            // With several in flight, frames are held: a flush drops them, the stream goes
            // on afterwards.
            if max_in_flight == 4 {
                let mut h = const_harness(&url, 4);
                h.play();
                h.push(frame(320, 240, 0)).unwrap();
                h.push(frame(320, 240, 1)).unwrap();
                // Frames whose answers came already may have left: only held ones are
                // dropped.
                while h.try_pull().is_some() {}
                assert!(h.push_event(gst::event::FlushStart::new()));
                assert!(h.push_event(gst::event::FlushStop::new(true)));
                h.set_src_caps_str("video/x-raw,format=RGB,width=320,height=240,framerate=30/1");
                let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
                segment.set_start(gst::ClockTime::ZERO);
                h.push_event(gst::event::Segment::new(&segment));
                h.push(frame(320, 240, 5)).unwrap();
                h.push_event(gst::event::Eos::new());
                let mut pts = Vec::new();
                while let Some(b) = h.try_pull() {
                    assert_const_boxes(&detection::read(&b, 320, 240));
                    pts.push(b.pts().unwrap().mseconds());
                }
                assert_eq!(pts, [165], "only the frame after the flush");
            }
        }
    }
}

/// Sets the pipeline to NULL on drop, also when an assertion fails.
struct Stopper(gst::Pipeline);

impl Drop for Stopper {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// Starts `videotestsrc ! rsinfer PROPS ! fakesink` and returns the error it posts, within
/// the time limit.
fn start_error(props: &str) -> String {
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=48 ! rsinfer {props} ! fakesink"
    ));
    let started = Instant::now();
    let _ = pipeline.set_state(gst::State::Playing);
    let msg = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Error, gst::MessageType::Eos],
        )
        .expect("an error within 30 s");
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{props}: slow failure"
    );
    match msg.view() {
        gst::MessageView::Error(e) => e.error().to_string(),
        other => panic!("{props}: expected an error, got {other:?}"),
    }
}

/// A TCP server answering every connection with `answer` then closing; stops on drop.
struct JunkServer {
    port: u16,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl JunkServer {
    fn start(answer: &'static [u8]) -> JunkServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_millis(200)));
                        let mut buf = [0u8; 4096];
                        let _ = c.read(&mut buf);
                        let _ = c.write_all(answer);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        JunkServer { port, stop }
    }
}

impl Drop for JunkServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn bad_servers_models_and_settings_fail_at_start_with_clear_errors() {
    let _serial = serial();
    init();
    let server = shapes_server();
    let nobody = server::free_port();
    for url in [
        format!("grpc://127.0.0.1:{nobody}"),
        format!("http://127.0.0.1:{nobody}"),
    ] {
        let e = start_error(&format!("backend=ovms server-url={url} model-name=shapes"));
        assert!(e.contains("Cannot reach the inference server"), "{e}");
        assert!(e.contains(&url), "{e}");
    }
    for url in [server.grpc_url(), server.http_url()] {
        let e = start_error(&format!("backend=ovms server-url={url} model-name=nope"));
        assert!(
            e.contains("does not serve it") && e.contains("'nope'"),
            "{e}"
        );
        let e = start_error(&format!("backend=ovms server-url={url} model-name=noimg"));
        assert!(
            e.contains("cannot take images") && e.contains("input x: FP32 [1, 10]"),
            "{e}"
        );
    }
    // kserve has no versioned REST paths (OVMS has): the version is named in the error.
    let e = start_error(&format!(
        "backend=ovms server-url={} model-name=shapes model-version=7",
        server.http_url()
    ));
    assert!(e.contains("'shapes' version 7"), "{e}");
    let e = start_error("backend=ovms server-url=localhost:9000 model-name=shapes");
    assert!(e.contains("no scheme"), "{e}");
    let e = start_error("backend=ovms model-name=shapes");
    assert!(e.contains("needs server-url"), "{e}");
    let e = start_error(&format!("backend=ovms server-url={}", server.grpc_url()));
    assert!(e.contains("needs model-name"), "{e}");

    // Servers answering garbage: HTTP with a non-KServe body, and raw junk on a gRPC URL.
    let http_junk =
        JunkServer::start(b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nhello, world!");
    let e = start_error(&format!(
        "backend=ovms server-url=http://127.0.0.1:{} model-name=shapes",
        http_junk.port
    ));
    assert!(e.contains("does not answer as a KServe v2 server"), "{e}");
    let raw_junk = JunkServer::start(b"\x00\x01garbage\xff\xfe not http/2 at all\r\n\r\n");
    let e = start_error(&format!(
        "backend=ovms server-url=grpc://127.0.0.1:{} model-name=shapes",
        raw_junk.port
    ));
    assert!(e.contains(&format!("127.0.0.1:{}", raw_junk.port)), "{e}");
    let e = start_error(&format!(
        "backend=ovms server-url=http://127.0.0.1:{} model-name=shapes",
        raw_junk.port
    ));
    assert!(e.contains(&format!("127.0.0.1:{}", raw_junk.port)), "{e}");
}

#[test]
fn latency_and_properties() {
    let _serial = serial();
    init();
    let e = gst::ElementFactory::make("rsinfer").build().unwrap();
    // 0: automatic (4 requests with backend=ovms).
    assert_eq!(e.property::<u32>("max-in-flight"), 0);
    assert_eq!(e.property::<u32>("timeout"), 2000);
    assert_eq!(e.property::<Option<String>>("model-version"), None);
    e.set_property("model-version", "");
    assert_eq!(e.property::<Option<String>>("model-version"), None);

    // In a live pipeline, the latency includes the round trip measured at start.
    let server = shapes_server();
    let mut h = const_harness(&server.grpc_url(), 4);
    h.set_upstream_latency(gst::ClockTime::from_mseconds(10));
    h.play();
    let latency = h.query_latency().expect("latency answered");
    assert!(
        latency > gst::ClockTime::from_mseconds(10) && latency < gst::ClockTime::from_seconds(5),
        "{latency}"
    );
}

/// A child process killed on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_ovms_rtsp_script_gets_detections_from_the_server() {
    let _serial = serial();
    use std::process::{Command, Stdio};
    init();
    let server = shapes_server();
    let rtsp_port = server::free_port();
    let _rtsp = Child(
        Command::new(root().join("pipelines/rtsp-serve-file.sh"))
            .args(["--port", &rtsp_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pipelines/rtsp-serve-file.sh"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", rtsp_port)).is_err() {
        assert!(Instant::now() < deadline, "no RTSP server");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The plugin this test was built with, alone in a directory.
    let dir = common::TempDir::new("ovms-script");
    std::os::unix::fs::symlink(
        common::plugin_library(),
        dir.path().join("libgstrsvision.so"),
    )
    .unwrap();
    // OUTPUT=an .mp4 file: rsoverlay draws, x264enc ! mp4mux writes. Ctrl-C (SIGINT) after
    // 8 s ends the stream cleanly (gst-launch-1.0 -e), so the MP4 is finalised.
    let annotated = dir.path().join("annotated.mp4");
    let out = Command::new("timeout")
        .args(["-s", "INT", "-k", "20", "8"])
        .arg(root().join("pipelines/ovms-rtsp-detect.sh"))
        .arg(format!("rtsp://127.0.0.1:{rtsp_port}/test"))
        .arg(server.grpc_url())
        .arg("shapes")
        .env("OUTPUT", &annotated)
        .env("RSVISION_PLUGIN_DIR", dir.path())
        .env("GST_REGISTRY", dir.path().join("registry.bin"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("ERROR"), "{stdout}\n{stderr}");
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.ends_with("detections") && l.contains("inferred frames"))
        .unwrap_or_else(|| panic!("no summary: {stdout}\n{stderr}"));
    let numbers: Vec<u64> = summary
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(numbers[0] > 30, "{summary}\n{stdout}\n{stderr}");
    assert!(numbers[1] > 30, "{summary}");
    assert!(
        stdout.contains("circle") || stdout.contains("square"),
        "{stdout}"
    );
    let frames = common::decoded_frames(&annotated);
    assert!(frames > 30, "{frames} frames in the annotated MP4");
}

/// Runs `openssl ARGS` in `dir`.
fn openssl(dir: &std::path::Path, args: &str) {
    let status = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args.split_whitespace())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (Debian: openssl)");
    assert!(status.success(), "openssl {args}");
}

#[test]
fn https_with_a_private_ca() {
    let _serial = serial();
    init();
    // A private CA and a server certificate for 127.0.0.1 signed by it.
    let dir = common::TempDir::new("ovms-tls");
    let d = dir.path();
    openssl(d, "req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=rsvision-test-ca");
    openssl(
        d,
        "req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1",
    );
    std::fs::write(d.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(d, "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext");
    let konst = root().join("tests/data/const_v8.onnx");
    let server = KserveServer::start_with(
        &[("const", &konst)],
        &[
            "--ssl_certfile".into(),
            d.join("server.pem").display().to_string(),
            "--ssl_keyfile".into(),
            d.join("server.key").display().to_string(),
        ],
        true,
    );
    let url = server.http_url();
    assert!(url.starts_with("https://"));

    // Not trusted without the CA: a clear start error, not a hang.
    let e = start_error(&format!("backend=ovms server-url={url} model-name=const"));
    assert!(
        e.contains("Cannot reach the inference server") && e.contains("certificate"),
        "{e}"
    );
    // Plain HTTP to the TLS port fails clearly as well.
    let e = start_error(&format!(
        "backend=ovms server-url=http://127.0.0.1:{} model-name=const",
        server.http_port
    ));
    assert!(
        e.contains(&format!("127.0.0.1:{}", server.http_port)),
        "{e}"
    );
    // A missing CA file is named.
    let e = start_error(&format!(
        "backend=ovms server-url={url} model-name=const tls-ca-location=/nonexistent/ca.pem"
    ));
    assert!(e.contains("/nonexistent/ca.pem"), "{e}");

    // With the CA: the exact boxes over HTTPS.
    let element = gst::ElementFactory::make("rsinfer")
        .property_from_str("backend", "ovms")
        .property("server-url", &url)
        .property("model-name", "const")
        .property("labels-location", data("const.labels"))
        .property("tls-ca-location", d.join("ca.pem").display().to_string())
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=RGB,width=320,height=240,framerate=30/1");
    h.play();
    for n in 0..3 {
        h.push(frame(320, 240, n)).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    for _ in 0..3 {
        assert_const_boxes(&detection::read(&h.pull().unwrap(), 320, 240));
    }
}

/// Threads of this process named `name` (the element's runtime threads are "rsinfer-ovms").
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim() == name)
        .count()
}

#[test]
fn start_stop_cycles_release_the_runtime() {
    let _serial = serial();
    init();
    let server = shapes_server();
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers=5 ! video/x-raw,format=RGB,width=320,height=240 ! \
         rsinfer backend=ovms server-url={} model-name=const ! fakesink",
        server.grpc_url()
    ));
    assert_eq!(threads_named("rsinfer-ovms"), 0);
    for _ in 0..8 {
        common::run_to_eos(&pipeline, 60);
        // run_to_eos ends in NULL: stop() shut the runtime down.
        assert_eq!(threads_named("rsinfer-ovms"), 0, "runtime threads left");
    }
    // And while playing, the runtime is there (the check above can fail).
    pipeline.set_state(gst::State::Paused).unwrap();
    let _ = pipeline.state(gst::ClockTime::from_seconds(20));
    assert_eq!(threads_named("rsinfer-ovms"), 2);
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(threads_named("rsinfer-ovms"), 0);
}

/// A minimal KServe v2 REST server for a 64x64 YOLOv8-layout model (output [1, 7, 84])
/// whose first `good` inference answers are valid (no detections) and the later ones are
/// garbage. Stops on drop.
struct LyingServer {
    port: u16,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl LyingServer {
    fn start(good: usize) -> LyingServer {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let answered = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((mut c, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = c.set_nonblocking(false);
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                // Headers, then Content-Length bytes of body.
                let mut req = Vec::new();
                let mut byte = [0u8; 1];
                while !req.ends_with(b"\r\n\r\n") && c.read(&mut byte).is_ok_and(|n| n == 1) {
                    req.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&req).to_string();
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = c.read_exact(&mut body);
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let answer: String = if head.starts_with("POST") {
                    if answered.fetch_add(1, Ordering::Relaxed) < good {
                        let zeros = vec!["0"; 7 * 84].join(",");
                        format!(
                            r#"{{"outputs":[{{"name":"output0","datatype":"FP32","shape":[1,7,84],"data":[{zeros}]}}]}}"#
                        )
                    } else {
                        "\u{1}\u{2} this is not JSON".into()
                    }
                } else if path == "/v2/models/m" {
                    r#"{"name":"m","inputs":[{"name":"images","datatype":"FP32","shape":[1,3,64,64]}],"outputs":[{"name":"output0","datatype":"FP32","shape":[1,7,84]}]}"#.into()
                } else {
                    r#"{"ready":true}"#.into()
                };
                let _ = write!(
                    c,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        LyingServer { port, stop }
    }
}

impl Drop for LyingServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn a_server_answering_garbage_mid_stream_is_a_warning_not_a_crash() {
    let _serial = serial();
    init();
    // Good answers for the two start-up inferences and 5 frames, garbage afterwards.
    let server = LyingServer::start(7);
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers=40 ! video/x-raw,format=RGB,width=64,height=64 ! \
         rsinfer backend=ovms server-url=http://127.0.0.1:{} model-name=m max-in-flight=2 ! \
         appsink name=sink sync=false",
        server.port
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    let _stop = Stopper(pipeline.clone());
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = 0;
    while let Some(_sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(20)) {
        frames += 1;
    }
    assert_eq!(frames, 40, "every frame passes");
    let bus = pipeline.bus().unwrap();
    let (mut warnings, mut resumed) = (Vec::new(), 0);
    while let Some(msg) = bus.pop() {
        match msg.view() {
            gst::MessageView::Error(e) => panic!("error: {}", e.error()),
            gst::MessageView::Warning(w) => warnings.push(w.error().to_string()),
            gst::MessageView::Info(i) if i.error().to_string().contains("answers again") => {
                resumed += 1
            }
            _ => {}
        }
    }
    // One warning per outage. With two requests in flight the server may hand its last good
    // answer to the later one: the earlier frame then fails first, the good answer ends that
    // outage (an info) and the next garbage starts another.
    assert_eq!(
        warnings.len(),
        resumed + 1,
        "{warnings:?}, {resumed} resumed"
    );
    assert!(
        resumed <= 1,
        "{resumed} resumed: the server never answers well again"
    );
    assert!(
        warnings.iter().all(|w| w.contains("not a KServe v2")),
        "{warnings:?}"
    );
}
