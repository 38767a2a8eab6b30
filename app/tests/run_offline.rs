//! An offline file (`mode = "offline"`): every frame is processed as fast as possible, the
//! source ends by itself (`source ID: ended`) and so does the program, with status 0 and
//! the file's own frame count in the summary.

mod common;

use std::time::{Duration, Instant};

use common::app::Rsvision;
use common::config::{file_uri, Deployment, Timing};
use common::video::decode;
use common::{init, media, TempDir};

#[test]
fn offline_file_processes_every_frame_and_exits_0() {
    init();
    let dir = TempDir::new("offline");
    let video = media::shapes();
    // Ground truth: what a decoder makes of the file.
    let truth = decode(&video, Duration::from_secs(30));
    assert_eq!(truth.error, None);
    let frames = truth.frames.len() as u64;
    assert_eq!(frames, 100);

    let mut d = Deployment::new(dir.path(), &Timing::default());
    let events = d.events_file();
    d.source("file1", &file_uri(&video), "mode = \"offline\"");
    let config = d.write("deployment.toml");
    let started = Instant::now();
    let mut rsv = Rsvision::run(&config, &[]);
    let status = rsv.wait_exit(Duration::from_secs(90));
    assert_eq!(status.code(), Some(0), "{}", rsv.transcript());
    assert_eq!(
        rsv.find(0, |l| l == "source file1: ended").len(),
        1,
        "{}",
        rsv.transcript()
    );
    assert!(
        rsv.find(0, |l| l.starts_with("source file1: lost")
            || l.starts_with("source file1: reconnecting"))
            .is_empty(),
        "an offline file is not reconnected\n{}",
        rsv.transcript()
    );
    let summary = rsv.summary();
    assert_eq!(
        summary.source("file1", "frames"),
        frames,
        "{}",
        summary.text
    );
    assert_eq!(summary.source("file1", "dropped"), 0, "{}", summary.text);
    assert_eq!(
        rsv.lines().last().map(|l| l.text.clone()).as_deref(),
        Some("exit 0"),
        "{}",
        rsv.transcript()
    );
    rsv.assert_timestamps();
    // Every event it delivered is in the file.
    assert_eq!(
        common::json_lines(&events).len() as u64,
        summary.sink("events", "file1", "delivered"),
        "{}",
        summary.text
    );
    // As fast as possible: not paced like the 10 s live file (allowing for model loading).
    println!("offline run of {frames} frames: {:?}", started.elapsed());
}
