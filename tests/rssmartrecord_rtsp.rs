//! The placement over a real RTSP server: `rtspsrc ! rtph264depay ! h264parse !
//! rssmartrecord ! avdec_h264 ! rsinfer ! fakesink`, the server (gst-rtsp-server on
//! 127.0.0.1, free port) playing ../shared/video/sample_640x480.mp4 in real time like a
//! camera. The clip must be exactly a contiguous run of the file's own encoded frames,
//! starting on a key frame, covering the requested interval.

mod common;
mod smartrecord_util;

use std::path::Path;
use std::time::{Duration, Instant};

use common::rtsp::Server;
use common::{init, TempDir};
use gst::prelude::*;
use smartrecord_util::*;

/// The file's encoded frames, in decoding order.
fn file_frames(video: &Path) -> Vec<Frame> {
    let p = common::launch(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! appsink name=sink sync=false",
        video.display()
    ));
    let sink = common::element::<gst_app::AppSink>(&p, "sink");
    p.set_state(gst::State::Playing).unwrap();
    let mut v = Vec::new();
    while let Ok(s) = sink.pull_sample() {
        v.push(frame_of(s.buffer().unwrap()));
    }
    p.set_state(gst::State::Null).unwrap();
    v
}

#[test]
fn rtsp_camera_clip_is_a_run_of_the_source_frames() {
    init();
    let video = common::shared().join("video/sample_640x480.mp4");
    let source = file_frames(&video);
    let server = Server::start(&video);
    let dir = TempDir::new("sr-rtsp");
    let pipeline = common::launch(&format!(
        "rtspsrc location={} latency=200 protocols=tcp ! rtph264depay ! h264parse ! rssmartrecord name=sr location={} sensor-id=cam ! avdec_h264 ! rsinfer model-location={} conf-threshold=0.5 ! fakesink name=sink sync=true",
        server.url(),
        dir.path().display(),
        common::shapes_model().display()
    ));
    let sr = pipeline.by_name("sr").unwrap();
    let done = DoneWatcher::new(&sr);
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    // Let 4 s of the camera into the cache, then ask for 2 s before now to 1 s after.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sr.property::<u64>("cache-duration") < 4_000_000_000 {
        assert!(Instant::now() < deadline, "no 4 s of video within 60 s");
        if let Some(m) = bus.pop_filtered(&[gst::MessageType::Error]) {
            panic!("{m:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let id = sr.emit_by_name::<u32>("start-recording", &[&2.0f64, &1.0f64]);
    assert_eq!(id, 1);
    let d = done.next(30);
    assert!(bus.pop_filtered(&[gst::MessageType::Error]).is_none());
    pipeline.set_state(gst::State::Null).unwrap();
    drop(server);

    assert_eq!(d.get::<&str>("reason").unwrap(), "end");
    assert_eq!(d.get::<i32>("width").unwrap(), 640);
    let path = clip_path(&d);
    let clip = demux(&path);
    assert!(clip[0].keyframe);
    // Depayloaded RTP has no DTS and this file has B-frames: the writer makes DTS up with 4
    // frames of reordering room, so the first frame is presented 4 frames into the clip
    // (streams with DTS, or without B-frames, start at exactly zero: tests/rssmartrecord.rs).
    assert!(clip[0].pts <= 4 * 33_333_334, "{}", clip[0].pts);
    // The clip's frames are a contiguous run of the file's frames (same key frame
    // positions, same sizes of the delta frames, same spacing), starting on one of its key
    // frames. (Key frames carry the SPS/PPS the RTP payloader repeats, so their sizes
    // differ.)
    let same = |c: &Frame, s: &Frame| c.keyframe == s.keyframe && (c.keyframe || c.size == s.size);
    let at = (0..source.len().saturating_sub(clip.len()) + 1)
        .find(|&i| {
            source[i].keyframe
                && clip
                    .iter()
                    .zip(&source[i..i + clip.len()])
                    .all(|(c, s)| same(c, s))
        })
        .unwrap_or_else(|| {
            panic!(
                "the clip is not a run of the source's frames: {:?}",
                &clip[..clip.len().min(5)]
            )
        });
    // Presentation times as in the source (the file has B-frames: PTS go back and forth in
    // decoding order, and RTP carried no DTS; the writer makes them up).
    for (c, s) in clip.iter().zip(&source[at..]) {
        let (c, s) = (
            c.pts as i64 - clip[0].pts as i64,
            s.pts as i64 - source[at].pts as i64,
        );
        // Within the MP4 timescale's rounding.
        assert!((c - s).abs() <= 1_000_000, "{c} vs {s}");
    }
    // 3 s asked; a key frame at most one GOP earlier.
    let gop = source
        .iter()
        .enumerate()
        .filter(|(_, f)| f.keyframe)
        .map(|(i, _)| i)
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap();
    let frame_ns = 1_000_000_000 / 30; // the file is 30 fps
    let covered = clip.len() as u64 * frame_ns;
    assert!(covered + 2 * frame_ns >= 3_000_000_000, "{covered}");
    assert!(
        covered <= 3_000_000_000 + (gop as u64 + 2) * frame_ns,
        "{covered}"
    );
    let (n, err) = decode(&path);
    assert_eq!(err, None);
    assert_eq!(n, clip.len());
}
