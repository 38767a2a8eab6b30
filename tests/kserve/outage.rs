//! A KServe server killed (SIGKILL) or frozen (SIGSTOP) mid-stream and brought back: frames
//! go on without detections, marked `unavailable`, one warning per outage, an info when it
//! answers again, detections resume (part of `tests/ovms.rs`).

use super::*;

/// Output times and detection counts of a live pipeline while the server is killed and
/// restarted.
#[derive(Default)]
struct Seen {
    frames: Vec<(Instant, usize)>,
    /// Per frame, the frame marker's reason (`inferred`, `unavailable`, ...).
    reasons: Vec<(Instant, detection::Inference)>,
}

/// How the server goes away.
#[derive(Clone, Copy, PartialEq)]
enum Outage {
    /// SIGKILL, then a new process on the same ports: refused connections meanwhile.
    Crash,
    /// SIGSTOP, then SIGCONT: requests hang until the timeout.
    Freeze,
}

fn outage(url_of: fn(&KserveServer) -> String, how: Outage) {
    init();
    let mut server = shapes_server();
    let pipeline = common::launch(&format!(
        "videotestsrc is-live=true ! video/x-raw,format=RGB,width=320,height=240,framerate=30/1 ! \
         rsinfer backend=ovms server-url={} model-name=const labels-location={} timeout=400 qos=false ! \
         appsink name=sink sync=false",
        url_of(&server),
        data("const.labels"),
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let buffer = sample.buffer().unwrap();
                let n = detection::count(buffer);
                let markers = detection::frame::markers(buffer);
                let mut s = s.lock().unwrap();
                s.frames.push((Instant::now(), n));
                if let [m] = markers.as_slice() {
                    s.reasons.push((Instant::now(), m.inference));
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let _stop = Stopper(pipeline.clone());
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let wait = |d: Duration| {
        // Fails on an error message; collects warnings and infos.
        let mut warnings = Vec::new();
        let mut infos = Vec::new();
        let end = Instant::now() + d;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            let Some(msg) = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64))
            else {
                break;
            };
            match msg.view() {
                gst::MessageView::Error(e) => panic!("error: {} ({:?})", e.error(), e.debug()),
                gst::MessageView::Warning(w) => warnings.push(w.error().to_string()),
                gst::MessageView::Info(i) => infos.push(i.error().to_string()),
                _ => {}
            }
        }
        (warnings, infos)
    };
    let count = |since: Instant, with_dets: bool| {
        seen.lock()
            .unwrap()
            .frames
            .iter()
            .filter(|(t, n)| *t >= since && (*n == 3) == with_dets)
            .count()
    };

    let t0 = Instant::now();
    let (w, _) = wait(Duration::from_secs(2));
    assert!(w.is_empty(), "{w:?}");
    assert!(count(t0, true) > 20, "detections before the outage");

    // Taken before the outage begins: `kill` waits for the process, and frames that fail
    // meanwhile arrive before it returns.
    let t1 = Instant::now();
    match how {
        Outage::Crash => server.kill(),
        Outage::Freeze => server.freeze(true),
    }
    let (w, _) = wait(Duration::from_secs(3));
    assert_eq!(w.len(), 1, "one warning per outage: {w:?}");
    assert!(w[0].contains("failed"), "{w:?}");
    // Frames go on during the outage, without detections.
    let after = Instant::now() - Duration::from_secs(2);
    assert!(count(after, false) > 40, "frames pass during the outage");
    assert_eq!(count(after, true), 0, "no detections without a server");
    // And the frame marker says so: no frame of the outage claims fresh detections.
    {
        let seen = seen.lock().unwrap();
        let during: Vec<_> = seen.reasons.iter().filter(|(t, _)| *t >= after).collect();
        assert!(during.len() > 40);
        assert!(
            during
                .iter()
                .all(|(_, r)| *r == detection::Inference::Unavailable),
            "{:?}",
            during.iter().map(|d| d.1).collect::<Vec<_>>()
        );
        let before: Vec<_> = seen.reasons.iter().filter(|(t, _)| *t < t1).collect();
        assert!(
            before
                .iter()
                .all(|(_, r)| *r == detection::Inference::Inferred),
            "{:?}",
            before.iter().map(|d| d.1).collect::<Vec<_>>()
        );
    }

    match how {
        Outage::Crash => server.restart(),
        Outage::Freeze => server.freeze(false),
    }
    let t2 = Instant::now();
    let (w, infos) = wait(Duration::from_secs(4));
    assert!(w.is_empty(), "no new warning: {w:?}");
    assert!(
        infos.iter().any(|i| i.contains("answers again")),
        "an info when the server is back: {infos:?}"
    );
    assert!(count(t2, true) > 20, "detections resume after the restart");
    pipeline.set_state(gst::State::Null).unwrap();

    // Never a stall: no gap between frames longer than the timeout and some slack.
    let frames = &seen.lock().unwrap().frames;
    let gap = frames
        .windows(2)
        .filter(|w| w[0].0 >= t0)
        .map(|w| w[1].0 - w[0].0)
        .max()
        .unwrap();
    assert!(gap < Duration::from_millis(900), "a {gap:?} stall");
    assert!(frames.iter().filter(|(t, _)| *t >= t1).count() > 150);
}

#[test]
fn grpc_server_killed_and_restarted_mid_stream() {
    let _serial = serial();
    outage(KserveServer::grpc_url, Outage::Crash);
}

#[test]
fn rest_server_killed_and_restarted_mid_stream() {
    let _serial = serial();
    outage(KserveServer::http_url, Outage::Crash);
}

#[test]
fn grpc_server_frozen_then_thawed_mid_stream() {
    let _serial = serial();
    outage(KserveServer::grpc_url, Outage::Freeze);
}

#[test]
fn rest_server_frozen_then_thawed_mid_stream() {
    let _serial = serial();
    outage(KserveServer::http_url, Outage::Freeze);
}
