//! Small, cheap test videos: the shipped sample's scene scaled to 320x240 at 10 fps (the
//! shapes model letterboxes to 320x320, so the shapes keep their size in the model's input),
//! H.264 without B-frames, one key frame a second (one GOP = 1 s), in MP4.
//!
//! Each is made once (decode the sample with real elements, push the frames with exact
//! timestamps into x264enc) and cached in `target/test-media/`: written under a temporary
//! name and renamed, so concurrent tests and test binaries never see a partial file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use gst::prelude::*;

pub const WIDTH: usize = 320;
pub const HEIGHT: usize = 240;
pub const FPS: u64 = 10;
/// Frames per GOP (key-int-max).
pub const GOP_FRAMES: u64 = 10;
pub const GOP_S: f64 = GOP_FRAMES as f64 / FPS as f64;

/// One stretch of a test video.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    /// `n` frames of the sample's scene (from its start): circles and the other shapes
    /// are in view in every frame.
    Shapes(usize),
    /// `n` black frames: nothing to detect.
    Black(usize),
}

/// 10 s (100 frames) of shapes.
pub fn shapes() -> PathBuf {
    make("shapes-100", &[Part::Shapes(100)])
}

/// 12 s: 4 s black, 4 s of shapes, 4 s black (120 frames). Looped, the shapes come into
/// view for 4 s every 12 s.
pub fn black_shapes_black() -> PathBuf {
    make(
        "black40-shapes40-black40",
        &[Part::Black(40), Part::Shapes(40), Part::Black(40)],
    )
}

/// Number of frames of `parts`.
pub fn frame_count(parts: &[Part]) -> usize {
    parts
        .iter()
        .map(|p| match p {
            Part::Shapes(n) | Part::Black(n) => *n,
        })
        .sum()
}

/// The cached video named `name` made of `parts`, made now if missing.
pub fn make(name: &str, parts: &[Part]) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = super::root().join("target/test-media");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("v1-{name}.mp4"));
    if path.is_file() {
        return path;
    }
    super::init();
    let tmp = dir.join(format!(".{name}.{}.mp4", std::process::id()));
    encode(&tmp, parts);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// I420 frames of the sample, scaled to 320x240 at 10 fps.
fn sample_frames(n: usize) -> Vec<Vec<u8>> {
    let pipeline = launch(&format!(
        "filesrc location=\"{}\" ! qtdemux ! h264parse ! avdec_h264 ! videoconvert ! videoscale ! videorate ! video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate={FPS}/1 ! appsink name=sink sync=false",
        super::sample_video().display()
    ));
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while frames.len() < n {
        let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) else {
            break;
        };
        let buffer = sample.buffer().unwrap();
        frames.push(buffer.map_readable().unwrap().to_vec());
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(frames.len(), n, "the sample gave too few frames");
    frames
}

fn black_frame() -> Vec<u8> {
    let luma = WIDTH * HEIGHT;
    let mut f = vec![16u8; luma];
    f.resize(luma * 3 / 2, 128);
    f
}

fn encode(path: &Path, parts: &[Part]) {
    let shapes_needed = parts
        .iter()
        .map(|p| match p {
            Part::Shapes(n) => *n,
            Part::Black(_) => 0,
        })
        .max()
        .unwrap_or(0);
    let shapes = sample_frames(shapes_needed);
    let black = black_frame();
    let pipeline = launch(&format!(
        "appsrc name=src format=time caps=video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate={FPS}/1 ! x264enc key-int-max={GOP_FRAMES} bframes=0 speed-preset=ultrafast bitrate=300 threads=1 ! h264parse ! mp4mux ! filesink location=\"{}\"",
        path.display()
    ));
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let frame_ns = 1_000_000_000 / FPS;
    let mut i = 0u64;
    for part in parts {
        let frames: Vec<&[u8]> = match part {
            Part::Shapes(n) => shapes[..*n].iter().map(|f| f.as_slice()).collect(),
            Part::Black(n) => vec![black.as_slice(); *n],
        };
        for f in frames {
            let mut b = gst::Buffer::from_slice(f.to_vec());
            {
                let b = b.get_mut().unwrap();
                b.set_pts(gst::ClockTime::from_nseconds(i * frame_ns));
                b.set_duration(gst::ClockTime::from_nseconds(frame_ns));
            }
            src.push_buffer(b).expect("push a frame");
            i += 1;
        }
    }
    src.end_of_stream().unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("encoding finishes within 60 s");
    pipeline.set_state(gst::State::Null).unwrap();
    if let gst::MessageView::Error(e) = msg.view() {
        panic!(
            "encoding {}: {} ({:?})",
            path.display(),
            e.error(),
            e.debug()
        );
    }
}

pub fn launch(description: &str) -> gst::Pipeline {
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{description}: {e}"))
        .downcast::<gst::Pipeline>()
        .expect("a pipeline")
}
