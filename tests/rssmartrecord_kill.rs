//! A process recording a clip is killed with SIGKILL: the partial MP4 still plays up to its
//! last fragment. The child is this test binary itself, running the ignored `kill_child`
//! test with `RSVISION_SR_KILL_DIR` set.

mod common;
mod smartrecord_util;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{init, TempDir};
use gst::prelude::*;
use smartrecord_util::*;

const DIR_ENV: &str = "RSVISION_SR_KILL_DIR";

#[test]
#[ignore = "the child process of killed_recording_still_plays"]
fn kill_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    init();
    let pipeline = common::launch(&format!(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate={FPS}/1 ! x264enc key-int-max=10 speed-preset=ultrafast tune=zerolatency ! h264parse ! rssmartrecord name=sr fragment-duration=500 location={} ! fakesink",
        dir.to_str().unwrap()
    ));
    let sr = pipeline.by_name("sr").unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    while sr.property::<u64>("cache-bytes") == 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let id = sr.emit_by_name::<u32>("start-recording", &[&0.0f64, &60.0f64]);
    println!("RECORDING {id}");
    std::thread::sleep(Duration::from_secs(120));
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn killed_recording_still_plays() {
    init();
    let dir = TempDir::new("sr-kill");
    let mut child = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "kill_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let line = loop {
        let l = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the child starts recording within 60 s");
        // libtest prints "test kill_child ... " before it.
        if let Some(i) = l.find("RECORDING") {
            break l[i..].to_string();
        }
    };
    assert_eq!(line, "RECORDING 1");
    // About 3.5 s of clip (0.5 s fragments), then SIGKILL.
    std::thread::sleep(Duration::from_millis(3500));
    child.0.kill().unwrap(); // SIGKILL
    let status = child.0.wait().unwrap();
    assert!(!status.success());

    let clips = files(dir.path());
    assert_eq!(clips.len(), 1, "{clips:?}");
    let clip = demux(&clips[0]);
    assert!(
        clip.len() >= 40,
        "only {} frames survived 3.5 s of recording",
        clip.len()
    );
    assert!(clip[0].keyframe);
    assert_eq!(clip[0].pts, 0);
    // Contiguous: 25 fps without holes up to the last fragment.
    for w in clip.windows(2) {
        assert_eq!(w[1].pts - w[0].pts, FRAME_NS);
    }
    let (decoded, err) = decode(&clips[0]);
    assert_eq!(err, None);
    assert_eq!(decoded, clip.len());
}
