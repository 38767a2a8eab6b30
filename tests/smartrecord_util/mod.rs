//! Helpers for the rssmartrecord tests: encoding reference streams with real encoders,
//! reading clips back with real demuxers and decoders, and collecting the element's
//! completion messages and warnings.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use gst::prelude::*;

use crate::common;

pub const FPS: u64 = 25;
pub const FRAME_NS: u64 = 1_000_000_000 / FPS;

/// One encoded frame as seen in the reference stream or a clip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub pts: u64,
    pub dts: Option<u64>,
    pub keyframe: bool,
    pub size: usize,
}

pub fn frame_of(b: &gst::BufferRef) -> Frame {
    Frame {
        pts: b.pts().map(|t| t.nseconds()).unwrap_or(u64::MAX),
        dts: b.dts().map(|t| t.nseconds()),
        keyframe: !b.flags().contains(gst::BufferFlags::DELTA_UNIT),
        size: b.size(),
    }
}

/// `n` frames of 320x240 at 25 fps encoded by `encoder` (a launch fragment ending in the
/// parser and a caps filter), collected from an appsink.
pub fn encode(encoder: &str, n: u32) -> (gst::Caps, Vec<gst::Buffer>) {
    encode_pattern("ball", encoder, n)
}

/// [`encode`] with another videotestsrc pattern (`snow` makes big frames).
pub fn encode_pattern(pattern: &str, encoder: &str, n: u32) -> (gst::Caps, Vec<gst::Buffer>) {
    encode_sized(pattern, 320, 240, encoder, n)
}

/// [`encode_pattern`] at another frame size.
pub fn encode_sized(
    pattern: &str,
    width: u32,
    height: u32,
    encoder: &str,
    n: u32,
) -> (gst::Caps, Vec<gst::Buffer>) {
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers={n} pattern={pattern} ! video/x-raw,width={width},height={height},framerate={FPS}/1 ! {encoder} ! appsink name=sink sync=false"
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut caps = None;
    let mut buffers = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        if caps.is_none() {
            caps = sample.caps_owned();
        }
        buffers.push(sample.buffer_owned().unwrap());
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(buffers.len(), n as usize, "encoder gave too few frames");
    (caps.unwrap(), buffers)
}

pub fn h264(key_int: u32) -> String {
    format!(
        "x264enc key-int-max={key_int} speed-preset=ultrafast tune=zerolatency ! h264parse ! video/x-h264,stream-format=avc,alignment=au"
    )
}

pub fn h265(key_int: u32) -> String {
    format!(
        "x265enc key-int-max={key_int} speed-preset=ultrafast tune=zerolatency ! h265parse ! video/x-h265,stream-format=hvc1,alignment=au"
    )
}

pub fn has(factory: &str) -> bool {
    gst::ElementFactory::find(factory).is_some()
}

/// The encoded frames of a clip, as its demuxer gives them, in decoding order, with `pts`
/// in running time (what a player shows: an MP4 edit list moves the segment start).
pub fn demux(path: &Path) -> Vec<Frame> {
    let demuxer = match path.extension().and_then(|e| e.to_str()) {
        Some("mkv") => "matroskademux",
        _ => "qtdemux",
    };
    let pipeline = common::launch(&format!(
        "filesrc location={} ! {demuxer} ! appsink name=sink sync=false",
        path.display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        let mut f = frame_of(sample.buffer().unwrap());
        if let Some(seg) = sample
            .segment()
            .and_then(|s| s.clone().downcast::<gst::ClockTime>().ok())
        {
            if let Some(rt) = seg.to_running_time(gst::ClockTime::from_nseconds(f.pts)) {
                f.pts = rt.nseconds();
            }
        }
        frames.push(f);
    }
    pipeline.set_state(gst::State::Null).unwrap();
    frames
}

/// Decodes a clip completely (decodebin picks the real decoder); returns the number of
/// decoded frames and the first error, if any.
pub fn decode(path: &Path) -> (usize, Option<String>) {
    let pipeline = common::launch(&format!(
        "filesrc location={} ! decodebin ! video/x-raw ! appsink name=sink sync=false",
        path.display()
    ));
    let sink = common::element::<gst_app::AppSink>(&pipeline, "sink");
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut n = 0;
    // An error does not end the stream (no EOS): watch the bus too, and give up after 60 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let err = loop {
        if sink
            .try_pull_sample(gst::ClockTime::from_mseconds(100))
            .is_some()
        {
            n += 1;
            continue;
        }
        if let Some(m) = bus.pop_filtered(&[gst::MessageType::Error]) {
            match m.view() {
                gst::MessageView::Error(e) => {
                    break Some(format!("{} ({:?})", e.error(), e.debug()))
                }
                _ => unreachable!(),
            }
        }
        if sink.is_eos() {
            break None;
        }
        if std::time::Instant::now() > deadline {
            break Some("decoding did not finish within 60 s".to_string());
        }
    };
    pipeline.set_state(gst::State::Null).unwrap();
    (n, err)
}

/// Collects `recording-done` structures.
pub struct DoneWatcher(mpsc::Receiver<gst::Structure>);

impl DoneWatcher {
    pub fn new(element: &gst::Element) -> Self {
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        element.connect("recording-done", false, move |args| {
            let s = args[1].get::<gst::Structure>().unwrap();
            let _ = tx.lock().unwrap().send(s);
            None
        });
        DoneWatcher(rx)
    }

    pub fn next(&self, timeout_s: u64) -> gst::Structure {
        self.0
            .recv_timeout(Duration::from_secs(timeout_s))
            .unwrap_or_else(|_| panic!("no recording-done within {timeout_s} s"))
    }

    pub fn try_next(&self, timeout: Duration) -> Option<gst::Structure> {
        self.0.recv_timeout(timeout).ok()
    }
}

/// The clip file a completion message names.
pub fn clip_path(done: &gst::Structure) -> PathBuf {
    PathBuf::from(done.get::<String>("dirpath").unwrap())
        .join(done.get::<String>("filename").unwrap())
}

/// Warnings posted on `bus` so far, as text.
pub fn warnings(bus: &gst::Bus) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(m) = bus.pop_filtered(&[gst::MessageType::Warning]) {
        if let gst::MessageView::Warning(w) = m.view() {
            out.push(w.error().to_string());
        }
    }
    out
}

/// Files in `dir`.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The frames of `reference` a clip requested at frame `at` with `before`/`after` seconds
/// must hold: from the key frame at or before `at - before` to the last frame before
/// `at + after` (running time = PTS here).
pub fn expected_clip(reference: &[Frame], at: usize, before_s: f64, after_s: f64) -> &[Frame] {
    let now = reference[at].pts as f64;
    let start = (now - before_s * 1e9).max(0.0) as u64;
    let end = (now + after_s * 1e9) as u64;
    let first = reference
        .iter()
        .rposition(|f| f.keyframe && f.pts <= start)
        .expect("a key frame before the start");
    let last = reference
        .iter()
        .rposition(|f| f.pts < end)
        .expect("a frame before the end");
    &reference[first..=last]
}
