//! Clips from `rsvision run`: a local rule records a clip spanning `pre` before the object
//! was first seen to `post` after it left, checked frame by frame against what the camera
//! served; a DeepStream `start-recording` command over Kafka (tansu) records on the named
//! camera only.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::app::{same_file, Rsvision};
use common::broker::{produce, Broker};
use common::camera::Camera;
use common::config::{quote, Deployment, Timing};
use common::media::{FPS, GOP_S};
use common::video::{decode, demuxed_frames, discover_duration};
use common::{init, media, TempDir};
use gstrsvision::utc::{format_iso8601, now_ms};

/// `clip ID: PATH (X.X s, REASON)` → (PATH, X.X, REASON).
fn parse_clip(text: &str, id: &str) -> (PathBuf, f64, String) {
    let rest = text
        .strip_prefix(&format!("clip {id}: "))
        .unwrap_or_else(|| panic!("not a clip line of {id}: `{text}`"));
    let open = rest.rfind(" (").unwrap_or_else(|| panic!("`{text}`"));
    let inner = rest[open + 2..].trim_end_matches(')');
    let (secs, reason) = inner.split_once(", ").unwrap_or_else(|| panic!("`{text}`"));
    let secs: f64 = secs
        .trim_end_matches(" s")
        .parse()
        .unwrap_or_else(|e| panic!("`{text}`: {e}"));
    (PathBuf::from(&rest[..open]), secs, reason.to_string())
}

/// Waits up to `timeout` for an event in `events` whose `videoPath` is `clip`.
fn clip_event(events: &Path, clip: &Path, timeout: Duration) -> Option<serde_json::Value> {
    common::poll(timeout, || {
        common::json_lines(events).into_iter().find(|m| {
            m.get("videoPath")
                .and_then(|v| v.as_str())
                .is_some_and(|p| !p.is_empty() && same_file(Path::new(p), clip))
        })
    })
}

#[test]
fn local_rule_clip_spans_pre_and_post() {
    init();
    let dir = TempDir::new("clips-rule");
    // 4 s black, 4 s of shapes (circles in every frame), 4 s black, looped.
    let cam = Camera::start(&media::black_shapes_black(), dir.path());
    let (pre, min, post) = (2.0, 1.0, 2.0);
    let mut d = Deployment::new(dir.path(), &Timing::default());
    let events = d.events_file();
    let clips = d.record("");
    d.rule("circle", "1s", "2s", "2s");
    d.source("cam1", &cam.url(), "");
    let config = d.write("deployment.toml");
    let mut rsv = Rsvision::run(&config, &[]);
    let (rule_at, _) = rsv.wait_for(
        0,
        "rule cam1 circle: recording",
        Duration::from_secs(45),
        |l| l.starts_with("rule cam1 circle: recording"),
    );
    let (_, line) = rsv.wait_for(
        rule_at,
        "clip cam1: PATH (X.X s, circle)",
        Duration::from_secs(30),
        |l| l.starts_with("clip cam1: "),
    );
    let (path, logged, reason) = parse_clip(&line.text, "cam1");
    assert_eq!(reason, "circle", "{}", line.text);
    assert!(path.is_file(), "{} does not exist", path.display());
    assert!(
        path.starts_with(&clips) || same_file(path.parent().unwrap(), &clips),
        "{} is not in {}",
        path.display(),
        clips.display()
    );

    // The file as a player sees it.
    let duration = discover_duration(&path)
        .unwrap_or_else(|| panic!("{} has no duration", path.display()))
        .as_secs_f64();
    assert!(
        duration >= pre + min + post - GOP_S,
        "{duration:.2} s < pre + min-duration + post - one GOP"
    );
    assert!(
        (duration - logged).abs() <= 0.3,
        "the log says {logged} s, the file lasts {duration:.2} s"
    );
    let decoded = decode(&path, Duration::from_secs(30));
    assert_eq!(decoded.error, None, "{}", path.display());
    assert!(decoded.eos);
    assert_eq!(
        decoded.frames.len(),
        demuxed_frames(&path),
        "frames written to {} that a player does not show (outside the clip's span)",
        path.display()
    );
    // black (before the shapes came into view) - shapes - black (after they left).
    let runs = decoded.runs();
    println!(
        "rule clip {}: {duration:.2} s (log {logged} s), black/shapes/black runs {runs:?}",
        path.display()
    );
    let fps = FPS as f64;
    let slack = 0.4; // first detection up to an inference interval late; rounding
    match runs.as_slice() {
        [(true, before), (false, shapes), (true, after)] => {
            assert!(
                *before as f64 >= (pre - slack) * fps,
                "only {before} frames before the shapes came into view (pre {pre} s): {runs:?}"
            );
            assert!(
                *before as f64 <= (pre + GOP_S + 1.0) * fps,
                "{before} frames before the shapes: more than pre + one GOP: {runs:?}"
            );
            assert!(
                *shapes as f64 >= 3.5 * fps,
                "only {shapes} frames of the 4 s of shapes: {runs:?}"
            );
            assert!(
                *after as f64 >= (post - slack) * fps,
                "only {after} frames after the shapes left (post {post} s): {runs:?}"
            );
        }
        _ => panic!("the clip is not black, shapes, black: {runs:?}"),
    }

    // The clip event names the file (rsmsgbroker's clip events).
    let event = clip_event(&events, &path, Duration::from_secs(10));
    assert!(
        event.is_some(),
        "no message with videoPath {} in {}:\n{}",
        path.display(),
        events.display(),
        std::fs::read_to_string(&events).unwrap_or_default()
    );
    let summary = rsv.interrupt_and_check(&["cam1"], Duration::from_secs(20));
    assert!(summary.source("cam1", "clips") >= 1, "{}", summary.text);
}

/// DeepStream's cloud-to-device command, as its `trigger-svr.py` sends it.
fn start_recording(start_ms: i64, end_ms: i64, sensor: &str) -> String {
    format!(
        r#"{{"command":"start-recording","start":"{}","end":"{}","sensor":{{"id":"{sensor}"}}}}"#,
        format_iso8601(start_ms),
        format_iso8601(end_ms)
    )
}

#[test]
fn kafka_command_records_on_the_named_camera_only() {
    init();
    let dir = TempDir::new("clips-kafka");
    let broker = Broker::start();
    broker.create_topic("commands", 1);
    let video = media::shapes();
    let cam1 = Camera::start(&video, dir.path());
    let cam2 = Camera::start(&video, dir.path());
    let mut d = Deployment::new(dir.path(), &Timing::default());
    d.events_file();
    let clips = d.record(&format!(
        "conn-str = {}\ntopic = \"commands\"",
        quote(&broker.conn_str())
    ));
    d.source("cam1", &cam1.url(), "");
    d.source("cam2", &cam2.url(), "");
    let config = d.write("deployment.toml");
    let mut rsv = Rsvision::run(&config, &[]);
    for id in ["cam1", "cam2"] {
        rsv.wait_for(
            0,
            &format!("source {id}: live"),
            Duration::from_secs(30),
            |l| l == format!("source {id}: live"),
        );
    }
    // More than 2 s cached before asking for 2 s back.
    std::thread::sleep(Duration::from_secs(4));
    let producer = broker.producer();
    // The consumer may join the group after a first command: send until one is acted on.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (line, asked) = loop {
        let mark = rsv.mark();
        let now = now_ms();
        produce(
            &producer,
            "commands",
            "cam2",
            &start_recording(now - 2000, now + 2000, "cam2"),
        );
        if let Ok((_, line)) = rsv.try_wait_for(mark, Duration::from_secs(12), |l| {
            l.starts_with("clip cam2: ")
        }) {
            break (line, (now - 2000, now + 2000));
        }
        assert!(
            Instant::now() < deadline,
            "no clip for cam2 within 60 s of commands\n{}\n{}",
            rsv.transcript(),
            broker.log()
        );
    };
    let (path, logged, reason) = parse_clip(&line.text, "cam2");
    assert_eq!(reason, "command", "{}", line.text);
    let duration = discover_duration(&path)
        .unwrap_or_else(|| panic!("{} has no duration", path.display()))
        .as_secs_f64();
    let span = (asked.1 - asked.0) as f64 / 1000.0;
    let frame = 1.0 / FPS as f64;
    assert!(
        duration >= span - 2.0 * frame && duration <= span + GOP_S + 0.5,
        "{duration:.2} s for a {span} s command (from the key frame at or before its start)"
    );
    println!(
        "command clip {}: {duration:.2} s (log {logged} s) for a {span} s command",
        path.display()
    );
    assert!(
        (duration - logged).abs() <= 0.3,
        "log {logged} s, file {duration:.2} s"
    );
    let decoded = decode(&path, Duration::from_secs(30));
    assert_eq!(decoded.error, None);
    assert_eq!(
        decoded.frames.len(),
        demuxed_frames(&path),
        "frames written to {} that a player does not show (outside the clip's span)",
        path.display()
    );
    assert!(
        decoded.frames.len() as f64 >= (span - 0.2) * FPS as f64,
        "{}",
        decoded.frames.len()
    );

    // Nothing for cam1, in the log or on disk.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        rsv.find(0, |l| l.starts_with("clip cam1: ")).is_empty(),
        "cam1 recorded on cam2's command\n{}",
        rsv.transcript()
    );
    let summary = rsv.interrupt_and_check(&["cam1", "cam2"], Duration::from_secs(20));
    // Every clip finished by now (also one from a repeated command).
    let files = common::files(&clips);
    let cam2_clips = rsv.find(0, |l| l.starts_with("clip cam2: ")).len();
    assert!(
        files.iter().all(|f| !f.to_string_lossy().contains("cam1")),
        "{files:?}"
    );
    assert_eq!(files.len(), cam2_clips, "{files:?}\n{}", rsv.transcript());
    assert_eq!(summary.source("cam1", "clips"), 0, "{}", summary.text);
    assert_eq!(
        summary.source("cam2", "clips") as usize,
        cam2_clips,
        "{}",
        summary.text
    );
}
