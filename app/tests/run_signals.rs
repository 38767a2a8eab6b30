//! Signals during `rsvision run`: SIGINT in the middle of a clip finalises it (plays to its
//! end) and flushes every event, exit 0; SIGKILL leaves a clip that plays up to its last
//! fragment; a second SIGINT during a slow shutdown exits at once with 130; a shutdown that
//! outlives `shutdown-timeout` exits 1.
//!
//! A slow shutdown is made deterministic with a Kafka sink whose broker is absent and a
//! long `flush-timeout`: its queued messages hold EOS back.

mod common;

use std::time::{Duration, Instant};

use common::app::{same_file, Rsvision};
use common::camera::Camera;
use common::config::{quote, Deployment, Timing};
use common::video::{decode, demuxed_frames, discover_duration};
use common::{init, media, TempDir};

/// One camera with circles always in view, a circle rule (so the clip never ends by
/// itself) and track events to a file. Returns (config, events file, clip dir).
fn recording_deployment(
    dir: &std::path::Path,
    cam: &Camera,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let mut d = Deployment::new(dir, &Timing::default());
    let events = d.events_file();
    let clips = d.record("");
    d.rule("circle", "1s", "2s", "2s");
    d.source("cam1", &cam.url(), "");
    (d.write("deployment.toml"), events, clips)
}

#[test]
fn sigint_mid_clip_finalises_it_and_flushes_events() {
    init();
    let dir = TempDir::new("signals-int");
    let cam = Camera::start(&media::shapes(), dir.path());
    let (config, events, clips) = recording_deployment(dir.path(), &cam);
    let mut rsv = Rsvision::run(&config, &[]);
    let (_, live) = rsv.wait_for(0, "source cam1: live", Duration::from_secs(30), |l| {
        l == "source cam1: live"
    });
    let (at, rule) = rsv.wait_for(
        0,
        "rule cam1 circle: recording",
        Duration::from_secs(45),
        |l| l.starts_with("rule cam1 circle: recording"),
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        rsv.find(at, |l| l.starts_with("clip cam1: ")).is_empty(),
        "the clip ended before the signal: circles are always in view\n{}",
        rsv.transcript()
    );
    let signalled = Instant::now();
    let summary = rsv.interrupt_and_check(&["cam1"], Duration::from_secs(20));

    let files = common::files(&clips);
    assert_eq!(
        files.len(),
        1,
        "one clip, finalised by the signal (no new one during the shutdown): {files:?}\n{}",
        rsv.transcript()
    );
    let clip = &files[0];
    let duration = discover_duration(clip).expect("the clip has a duration");
    if let Some((_, l)) = rsv.find(at, |l| l.starts_with("clip cam1: ")).first() {
        let (logged, rest) = l.text["clip cam1: ".len()..].rsplit_once(" (").unwrap();
        assert!(same_file(std::path::Path::new(logged), clip), "{}", l.text);
        let secs: f64 = rest.split(' ').next().unwrap().parse().unwrap();
        assert!(
            (secs - duration.as_secs_f64()).abs() <= 0.3,
            "the log says {secs} s, the file lasts {duration:?}: `{}`",
            l.text
        );
    }
    // From the object's first sight less `pre` (2 s; but no earlier than the stream's start:
    // the rule is 1 s of sight after it) to the signal, less one GOP of alignment.
    let first_seen = rule.at - Duration::from_secs(1);
    let from = std::cmp::max(live.at, first_seen - Duration::from_secs(2));
    let span = signalled.duration_since(from).as_secs_f64();
    assert!(
        duration.as_secs_f64() >= span - media::GOP_S - 0.3,
        "{duration:?} for {span:.2} s from the pre-roll start to the signal"
    );
    let decoded = decode(clip, Duration::from_secs(30));
    assert_eq!(decoded.error, None, "{}", clip.display());
    assert!(decoded.eos, "does not decode to EOS");
    assert_eq!(
        decoded.frames.len(),
        demuxed_frames(clip),
        "frames written to {} that a player does not show (outside the clip's span)",
        clip.display()
    );
    assert!(
        decoded.frames.len() as f64 >= (duration.as_secs_f64() - 0.2) * media::FPS as f64,
        "{} frames for {duration:?}",
        decoded.frames.len()
    );
    assert_eq!(summary.source("cam1", "clips"), 1, "{}", summary.text);

    // Every event delivered is in the file, no more, no less.
    let lines = common::json_lines(&events).len() as u64;
    let delivered = summary.sink("events", "cam1", "delivered");
    assert!(delivered > 0, "{}", summary.text);
    assert_eq!(lines, delivered, "{}", summary.text);
    for k in ["queued", "dropped", "failed"] {
        assert_eq!(
            summary.sink("events", "cam1", k),
            0,
            "{k}: {}",
            summary.text
        );
    }
}

#[test]
fn sigkill_mid_clip_leaves_a_playable_clip() {
    init();
    let dir = TempDir::new("signals-kill");
    let cam = Camera::start(&media::shapes(), dir.path());
    let (config, _events, clips) = recording_deployment(dir.path(), &cam);
    let mut rsv = Rsvision::run(&config, &[]);
    rsv.wait_for(
        0,
        "rule cam1 circle: recording",
        Duration::from_secs(45),
        |l| l.starts_with("rule cam1 circle: recording"),
    );
    // 3.5 s recorded (after up to 2 s of pre-roll): at least 3 whole 1 s fragments written.
    std::thread::sleep(Duration::from_millis(3500));
    rsv.signal("KILL");
    let status = rsv.wait_exit(Duration::from_secs(10));
    assert!(!status.success());

    let files = common::files(&clips);
    assert_eq!(files.len(), 1, "{files:?}");
    let demuxed = demuxed_frames(&files[0]);
    assert!(
        demuxed as f64 >= (3.5 - 1.0) * media::FPS as f64,
        "only {demuxed} frames survived 3.5 s of recording (1 s fragments)"
    );
    let decoded = decode(&files[0], Duration::from_secs(30));
    assert_eq!(decoded.error, None, "{}", files[0].display());
    assert_eq!(decoded.frames.len(), demuxed, "every frame written decodes");
}

/// One camera feeding only a Kafka sink whose broker is absent: every frame's message is
/// queued, and EOS waits `flush-timeout` (60 s) for them.
fn slow_shutdown(
    dir: &std::path::Path,
    cam: &Camera,
    shutdown_timeout: &'static str,
) -> std::path::PathBuf {
    let timing = Timing {
        shutdown_timeout,
        ..Timing::default()
    };
    let mut d = Deployment::new(dir, &timing);
    let nobody = common::free_port();
    d.add(&format!(
        "[sinks.kafka]\nconn-str = {}\ntopic = \"events\"\npublish = \"frames\"\nframe-interval = 1\nflush-timeout = 60000",
        quote(&format!("127.0.0.1;{nobody}"))
    ));
    d.source("cam1", &cam.url(), "events = [\"kafka\"]");
    d.write("deployment.toml")
}

/// Waits until the Kafka sink has messages queued (the broker is absent).
fn wait_queued(rsv: &Rsvision) {
    let ok = common::poll(Duration::from_secs(30), || {
        rsv.perf(0, "cam1")
            .last()
            .filter(|p| {
                p.sinks.iter().any(|(n, _)| n == "kafka") && p.sink("kafka", "queued") > 0.0
            })
            .map(|_| ())
    });
    assert!(
        ok.is_some(),
        "no queued Kafka messages\n{}",
        rsv.transcript()
    );
}

#[test]
fn second_sigint_exits_at_once_with_130() {
    init();
    let dir = TempDir::new("signals-twice");
    let cam = Camera::start(&media::shapes(), dir.path());
    let config = slow_shutdown(dir.path(), &cam, "60s");
    let mut rsv = Rsvision::run(&config, &[]);
    rsv.wait_for(0, "source cam1: live", Duration::from_secs(30), |l| {
        l == "source cam1: live"
    });
    wait_queued(&rsv);
    let mark = rsv.mark();
    rsv.signal("INT");
    let (_, shutdown) = rsv.wait_for(mark, "shutdown: ...", Duration::from_secs(5), |l| {
        l.starts_with("shutdown: ")
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        rsv.running(),
        "the shutdown was not slow (cannot test the second signal)\n{}",
        rsv.transcript()
    );
    let second = Instant::now();
    rsv.signal("INT");
    let status = rsv.wait_exit(Duration::from_secs(10));
    let took = second.elapsed();
    assert_eq!(status.code(), Some(130), "{status:?}\n{}", rsv.transcript());
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} after the second SIGINT"
    );
    assert!(
        shutdown
            .text
            .starts_with("shutdown: SIGINT, stopping 1 sources (deadline 60 s)"),
        "`{}`",
        shutdown.text
    );
}

#[test]
fn shutdown_past_its_deadline_exits_1() {
    init();
    let dir = TempDir::new("signals-deadline");
    let cam = Camera::start(&media::shapes(), dir.path());
    let config = slow_shutdown(dir.path(), &cam, "2s");
    let mut rsv = Rsvision::run(&config, &[]);
    rsv.wait_for(0, "source cam1: live", Duration::from_secs(30), |l| {
        l == "source cam1: live"
    });
    wait_queued(&rsv);
    let mark = rsv.mark();
    let sent = Instant::now();
    rsv.signal("TERM");
    let status = rsv.wait_exit(Duration::from_secs(15));
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(1), "{status:?}\n{}", rsv.transcript());
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(6),
        "exited {took:?} after SIGTERM with a 2 s deadline"
    );
    assert!(
        !rsv.find(mark, |l| l.starts_with(
            "shutdown: SIGTERM, stopping 1 sources (deadline 2 s)"
        ))
        .is_empty(),
        "{}",
        rsv.transcript()
    );
    assert_eq!(
        rsv.lines().last().map(|l| l.text.clone()).as_deref(),
        Some("exit 1"),
        "{}",
        rsv.transcript()
    );
}
