//! Reading clips back with GStreamer's own demuxers and decoders: the ground truth of what
//! a player would show, independent of the program's log.

use std::path::Path;
use std::time::{Duration, Instant};

use gst::prelude::*;

use super::media::launch;

/// Duration of `path` as `gst_pbutils::Discoverer` reports it (`None`: not a readable
/// media file, or no duration).
pub fn discover_duration(path: &Path) -> Option<Duration> {
    super::init();
    let discoverer = gst_pbutils::Discoverer::new(gst::ClockTime::from_seconds(20)).ok()?;
    let uri = gst::glib::filename_to_uri(path, None).ok()?;
    let info = discoverer.discover_uri(&uri).ok()?;
    if info.result() != gst_pbutils::DiscovererResult::Ok {
        return None;
    }
    info.duration()
        .map(|d| Duration::from_nanos(d.nseconds()))
        .filter(|d| !d.is_zero())
}

/// One decoded frame: its luma's mean and standard deviation.
#[derive(Debug, Clone, Copy)]
pub struct FrameStats {
    pub mean: f64,
    pub stddev: f64,
}

impl FrameStats {
    /// A flat dark frame (the test videos' black parts): nothing to see.
    pub fn is_black(&self) -> bool {
        self.mean < 40.0 && self.stddev < 4.0
    }
}

/// What decoding a file to its end gave.
#[derive(Debug)]
pub struct Decoded {
    pub frames: Vec<FrameStats>,
    /// The first error message, if any.
    pub error: Option<String>,
    /// Whether the stream reached EOS.
    pub eos: bool,
}

impl Decoded {
    /// The frames as runs: `(is_black, length)` in order.
    pub fn runs(&self) -> Vec<(bool, usize)> {
        let mut runs: Vec<(bool, usize)> = Vec::new();
        for f in &self.frames {
            let b = f.is_black();
            match runs.last_mut() {
                Some((kind, n)) if *kind == b => *n += 1,
                _ => runs.push((b, 1)),
            }
        }
        runs
    }
}

/// Decodes `path` to EOS with `decodebin` (the real decoder a player would pick), as
/// grey frames; at most `timeout`.
pub fn decode(path: &Path, timeout: Duration) -> Decoded {
    super::init();
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=sink sync=false",
        path.display()
    ));
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let bus = pipeline.bus().unwrap();
    let _ = pipeline.set_state(gst::State::Playing);
    let deadline = Instant::now() + timeout;
    let mut frames = Vec::new();
    let mut error = None;
    loop {
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(100)) {
            frames.push(stats(&sample));
            continue;
        }
        if let Some(m) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = m.view() {
                error = Some(format!("{} ({:?})", e.error(), e.debug()));
            }
            break;
        }
        if sink.is_eos() {
            break;
        }
        if Instant::now() > deadline {
            error = Some(format!("decoding did not finish within {timeout:?}"));
            break;
        }
    }
    let eos = sink.is_eos();
    pipeline.set_state(gst::State::Null).unwrap();
    Decoded { frames, error, eos }
}

fn stats(sample: &gst::Sample) -> FrameStats {
    let s = sample.caps().unwrap().structure(0).unwrap();
    let width = s.get::<i32>("width").unwrap() as usize;
    let height = s.get::<i32>("height").unwrap() as usize;
    // GRAY8 rows are padded to 4 bytes.
    let stride = width.div_ceil(4) * 4;
    let map = sample.buffer().unwrap().map_readable().unwrap();
    let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
    for row in map.chunks(stride).take(height) {
        for &p in &row[..width] {
            let v = p as f64;
            sum += v;
            sq += v * v;
            n += 1.0;
        }
    }
    let mean = sum / n;
    FrameStats {
        mean,
        stddev: (sq / n - mean * mean).max(0.0).sqrt(),
    }
}

/// Number of frames a demuxer reads from `path` (no decoding).
pub fn demuxed_frames(path: &Path) -> usize {
    super::init();
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! qtdemux ! appsink name=sink sync=false",
        path.display()
    ));
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let _ = pipeline.set_state(gst::State::Playing);
    let mut n = 0;
    while sink
        .try_pull_sample(gst::ClockTime::from_seconds(10))
        .is_some()
    {
        n += 1;
    }
    pipeline.set_state(gst::State::Null).unwrap();
    n
}
