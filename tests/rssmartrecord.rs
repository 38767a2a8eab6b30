//! rssmartrecord with real encoders (x264enc, x265enc), real muxers and real files: clips are
//! read back with qtdemux/matroskademux and decoded, and compared frame by frame with the
//! encoded stream that went through the element.

mod common;
mod smartrecord_util;

use std::path::Path;
use std::time::Duration;

use common::{init, TempDir};
use gst::prelude::*;
use smartrecord_util::*;

fn element(dir: &Path, props: &[(&str, glib::Value)]) -> gst::Element {
    let e = gst::ElementFactory::make("rssmartrecord")
        .property("location", dir.to_str().unwrap())
        .build()
        .unwrap();
    for (k, v) in props {
        e.set_property_from_value(k, v);
    }
    e
}

use gst::glib;

struct Rig {
    h: gst_check::Harness,
    element: gst::Element,
    bus: gst::Bus,
    done: DoneWatcher,
}

fn rig(dir: &Path, props: &[(&str, glib::Value)], caps: &gst::Caps) -> Rig {
    let element = element(dir, props);
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));
    let done = DoneWatcher::new(&element);
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    element.set_bus(Some(&bus));
    h.set_src_caps(caps.clone());
    Rig {
        h,
        element,
        bus,
        done,
    }
}

impl Rig {
    /// Pushes a buffer and checks it comes out at once, unchanged.
    fn pass(&mut self, b: &gst::Buffer) {
        let out = self.h.push_and_pull(b.clone()).expect("buffer passes");
        assert_eq!(out.pts(), b.pts());
        assert_eq!(out.flags(), b.flags());
        assert_eq!(
            out.map_readable().unwrap().as_slice(),
            b.map_readable().unwrap().as_slice()
        );
    }

    fn start(&self, before: f64, duration: f64) -> u32 {
        self.element
            .emit_by_name::<u32>("start-recording", &[&before, &duration])
    }
}

fn frames(buffers: &[gst::Buffer]) -> Vec<Frame> {
    buffers.iter().map(|b| frame_of(b)).collect()
}

/// Checks a clip against the reference frames it must contain.
fn check_clip(path: &Path, expected: &[Frame]) {
    let clip = demux(path);
    assert_eq!(
        clip.len(),
        expected.len(),
        "{}: frame count (first expected pts {})",
        path.display(),
        expected[0].pts
    );
    assert!(clip[0].keyframe, "the clip starts on a key frame");
    assert_eq!(clip[0].pts, 0, "timestamps start at zero");
    for (c, e) in clip.iter().zip(expected) {
        assert_eq!(c.size, e.size, "same encoded frame (size) at {}", e.pts);
        assert_eq!(c.pts, e.pts - expected[0].pts, "same relative timestamp");
        assert_eq!(c.keyframe, e.keyframe);
    }
    let (decoded, err) = decode(path);
    assert_eq!(err, None, "{} decodes without error", path.display());
    assert_eq!(decoded, expected.len(), "every frame decodes");
}

#[test]
fn harness_clip_is_the_requested_interval() {
    init();
    let (caps, buffers) = encode(&h264(25), 300);
    let reference = frames(&buffers);
    let dir = TempDir::new("sr-harness");
    let mut r = rig(
        dir.path(),
        &[
            ("sensor-id", "cam/1".to_value()),
            ("cache-size", 5u32.to_value()),
        ],
        &caps,
    );
    for (i, b) in buffers.iter().enumerate() {
        r.pass(b);
        if i == 150 {
            assert_eq!(r.start(2.5, 3.0), 1);
            assert!(r.element.property::<bool>("recording"));
        }
    }
    let d = r.done.next(30);
    assert_eq!(d.name(), "rssmartrecord-done");
    assert_eq!(d.get::<u32>("session-id").unwrap(), 1);
    assert_eq!(d.get::<&str>("reason").unwrap(), "end");
    assert_eq!(d.get::<&str>("sensor-id").unwrap(), "cam/1");
    assert_eq!(d.get::<&str>("codec").unwrap(), "h264");
    assert_eq!(d.get::<&str>("container").unwrap(), "mp4");
    assert_eq!(d.get::<i32>("width").unwrap(), 320);
    assert_eq!(d.get::<i32>("height").unwrap(), 240);
    assert!(d.get::<bool>("contains-video").unwrap());
    assert!(!d.get::<bool>("contains-audio").unwrap());
    assert!(d.get::<bool>("complete").unwrap());
    assert!(!d.get::<bool>("start-truncated").unwrap());
    assert!(!d.has_field("error"));

    let expected = expected_clip(&reference, 150, 2.5, 3.0);
    // The first frame is the key frame at or before the requested start, within one GOP.
    let requested = reference[150].pts - 2_500_000_000;
    assert!(expected[0].pts <= requested && requested - expected[0].pts < 25 * FRAME_NS);
    // It covers the requested interval.
    let last = expected.last().unwrap();
    assert!(last.pts + FRAME_NS >= reference[150].pts + 3_000_000_000);
    assert_eq!(
        d.get::<u64>("duration-ms").unwrap(),
        (last.pts + FRAME_NS - expected[0].pts) / 1_000_000
    );
    assert_eq!(d.get::<u64>("frames").unwrap(), expected.len() as u64);

    // Named from the template, inside the directory, sensor id made safe.
    let path = clip_path(&d);
    assert_eq!(path.parent().unwrap(), dir.path());
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("clip_cam_1_00001_"), "{name}");
    assert!(name.ends_with(".mp4"), "{name}");
    let start = d.get::<String>("start-time").unwrap();
    let end = d.get::<String>("end-time").unwrap();
    let (s, e) = (
        gstrsvision::utc::parse_iso8601(&start).unwrap(),
        gstrsvision::utc::parse_iso8601(&end).unwrap(),
    );
    assert!((e - s - d.get::<u64>("duration-ms").unwrap() as i64).abs() <= 1);
    assert!(
        name.contains(&gstrsvision::utc::format_compact(s)),
        "{name} {start}"
    );
    check_clip(&path, expected);
    assert_eq!(files(dir.path()).len(), 1);
    assert!(warnings(&r.bus).is_empty());
}

#[test]
fn extend_stop_max_duration_and_eos() {
    init();
    let (caps, buffers) = encode(&h264(25), 250);
    let reference = frames(&buffers);
    let dir = TempDir::new("sr-extend");
    let mut r = rig(dir.path(), &[("max-duration", 3u32.to_value())], &caps);
    let mut id = 0;
    for (i, b) in buffers.iter().enumerate() {
        r.pass(b);
        match i {
            // Clip 1: from 4 s, extended at 5 s to 7 s, stopped at 6 s.
            100 => id = r.start(0.0, 2.0),
            125 => assert_eq!(r.start(0.0, 2.0), id, "a second start extends the clip"),
            150 => assert!(r.element.emit_by_name::<bool>("stop-recording", &[&id])),
            // Clip 2: 10 s asked at 6.4 s, capped at 3 s from the key frame at 6 s.
            160 => assert_eq!(r.start(0.0, 10.0), id + 1),
            // Clip 3: default duration (20 s) outlives the stream: ends at EOS.
            230 => assert_eq!(r.start(0.0, 0.0), id + 2),
            _ => {}
        }
    }
    assert!(
        !r.element.emit_by_name::<bool>("stop-recording", &[&id]),
        "already stopped"
    );
    r.h.push_event(gst::event::Eos::new());
    let mut done: Vec<gst::Structure> = (0..3).map(|_| r.done.next(30)).collect();
    done.sort_by_key(|d| d.get::<u32>("session-id").unwrap());

    assert_eq!(done[0].get::<&str>("reason").unwrap(), "stop");
    check_clip(&clip_path(&done[0]), &reference[100..151]);

    assert_eq!(done[1].get::<&str>("reason").unwrap(), "max-duration");
    assert_eq!(done[1].get::<u64>("duration-ms").unwrap(), 3000);
    check_clip(&clip_path(&done[1]), &reference[150..225]);

    assert_eq!(done[2].get::<&str>("reason").unwrap(), "eos");
    check_clip(&clip_path(&done[2]), &reference[225..250]);
    assert!(warnings(&r.bus).is_empty());
}

#[test]
fn start_older_than_the_cache_is_truncated_and_said() {
    init();
    let (caps, buffers) = encode(&h264(25), 260);
    let reference = frames(&buffers);
    let dir = TempDir::new("sr-trunc");
    let mut r = rig(dir.path(), &[("cache-size", 2u32.to_value())], &caps);
    for (i, b) in buffers.iter().enumerate() {
        r.pass(b);
        if i == 200 {
            assert_eq!(r.start(6.0, 1.0), 1);
        }
    }
    let d = r.done.next(30);
    assert!(d.get::<bool>("start-truncated").unwrap());
    let req =
        gstrsvision::utc::parse_iso8601(&d.get::<String>("requested-start").unwrap()).unwrap();
    let start = gstrsvision::utc::parse_iso8601(&d.get::<String>("start-time").unwrap()).unwrap();
    assert!(start - req >= 3000, "requested {req}, started {start}");
    // The oldest cached key frame at 8 s with a 2 s cache and 1 s GOPs: 6 s (frame 150).
    check_clip(&clip_path(&d), &reference[150..225]);
}

#[test]
fn cache_stays_bounded_over_a_long_run_with_repeated_clips() {
    init();
    let (caps, buffers) = encode(&h264(25), 250);
    let dir = TempDir::new("sr-memory");
    let mut r = rig(dir.path(), &[("cache-size", 2u32.to_value())], &caps);
    // Bound: the largest 2 s + one GOP (1 s) + one frame of the stream.
    let sizes: Vec<usize> = buffers.iter().map(|b| b.size()).collect();
    let window = 3 * FPS as usize + 1;
    let bound: usize = (0..sizes.len())
        .map(|i| {
            sizes[i..(i + window).min(sizes.len())]
                .iter()
                .sum::<usize>()
        })
        .max()
        .unwrap();
    let mut max_bytes = 0u64;
    let mut max_duration = 0u64;
    let mut clips = 0;
    // 6 loops of 10 s = 60 s of stream, a 1 s + 2 s clip every 5 s.
    for lap in 0..6u64 {
        for (i, b) in buffers.iter().enumerate() {
            let mut b = b.copy();
            let pts = b.pts().unwrap() + gst::ClockTime::from_seconds(10 * lap);
            b.get_mut().unwrap().set_pts(pts);
            b.get_mut().unwrap().set_dts(pts);
            r.pass(&b);
            if i % 125 == 60 {
                assert!(r.start(1.0, 2.0) > 0);
                clips += 1;
            }
            max_bytes = max_bytes.max(r.element.property::<u64>("cache-bytes"));
            max_duration = max_duration.max(r.element.property::<u64>("cache-duration"));
        }
    }
    r.h.push_event(gst::event::Eos::new());
    assert!(
        max_bytes as usize <= bound,
        "cache {max_bytes} > bound {bound}"
    );
    assert!(max_duration < 3_000_000_000, "{max_duration}");
    assert!(max_duration >= 2_000_000_000, "{max_duration}");
    for _ in 0..clips {
        let d = r.done.next(30);
        assert!(d.get::<bool>("complete").unwrap());
        let (n, err) = decode(&clip_path(&d));
        assert_eq!(err, None);
        assert!(n >= 75, "{n} frames");
    }
    assert_eq!(files(dir.path()).len(), clips);
}

/// Records in a real pipeline from a pad probe on the element's source pad; returns the
/// frames that went through and the completion message.
fn pipeline_clip(
    encoder: &str,
    props: &str,
    n: u32,
    at: usize,
    before: f64,
    after: f64,
) -> (Vec<Frame>, gst::Structure) {
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers={n} pattern=ball ! video/x-raw,width=320,height=240,framerate={FPS}/1 ! {encoder} ! rssmartrecord name=sr {props} ! fakesink"
    ));
    let sr = pipeline.by_name("sr").unwrap();
    let done = DoneWatcher::new(&sr);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    sr.static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let b = info.buffer().unwrap();
            let mut seen = seen2.lock().unwrap();
            seen.push(frame_of(b));
            if seen.len() == at + 1 {
                let e = pad.parent_element().unwrap();
                assert_eq!(
                    e.emit_by_name::<u32>("start-recording", &[&before, &after]),
                    1
                );
            }
            gst::PadProbeReturn::Ok
        });
    common::run_to_eos(&pipeline, 120);
    let d = done.next(30);
    let seen = seen.lock().unwrap().clone();
    (seen, d)
}

#[test]
fn pipeline_h265_into_matroska() {
    init();
    if !has("x265enc") {
        eprintln!("x265enc is missing (gstreamer1.0-plugins-bad): H.265 not tested");
        return;
    }
    let dir = TempDir::new("sr-h265");
    let (seen, d) = pipeline_clip(
        &h265(20),
        &format!("location={} container=mkv", dir.path().display()),
        200,
        120,
        1.5,
        2.0,
    );
    assert_eq!(d.get::<&str>("codec").unwrap(), "h265");
    assert_eq!(d.get::<&str>("reason").unwrap(), "end");
    let path = clip_path(&d);
    assert!(path.to_str().unwrap().ends_with(".mkv"));
    check_clip(&path, expected_clip(&seen, 120, 1.5, 2.0));
}

#[test]
fn pipeline_h264_byte_stream() {
    init();
    let dir = TempDir::new("sr-bytestream");
    let (seen, d) = pipeline_clip(
        "x264enc key-int-max=15 speed-preset=ultrafast tune=zerolatency ! h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au",
        &format!("location={}", dir.path().display()),
        150,
        100,
        1.0,
        1.0,
    );
    let expected = expected_clip(&seen, 100, 1.0, 1.0);
    let path = clip_path(&d);
    let clip = demux(&path);
    assert_eq!(clip.len(), expected.len());
    assert!(clip[0].keyframe);
    assert_eq!(clip[0].pts, 0);
    let (n, err) = decode(&path);
    assert_eq!(err, None);
    assert_eq!(n, expected.len());
}

#[test]
fn bad_directories_and_names_are_warnings_and_the_stream_goes_on() {
    init();
    let (caps, buffers) = encode(&h264(25), 100);
    let dir = TempDir::new("sr-bad");
    let mut r = rig(
        dir.path(),
        &[("sensor-id", "../../../../tmp/evil".to_value())],
        &caps,
    );
    for b in &buffers[..50] {
        r.pass(b);
    }
    // A missing directory.
    r.element
        .set_property("location", "/nonexistent/rssmartrecord");
    assert_eq!(r.start(1.0, 1.0), 0);
    let w = warnings(&r.bus);
    assert!(w.iter().any(|w| w.contains("does not exist")), "{w:?}");
    // An unwritable directory (/sys refuses new files, even to root).
    r.element.set_property("location", "/sys");
    assert_eq!(r.start(1.0, 1.0), 0);
    let w = warnings(&r.bus);
    assert!(w.iter().any(|w| w.contains("Cannot create /sys/")), "{w:?}");
    // A template that would leave the directory.
    r.element
        .set_property("location", dir.path().to_str().unwrap());
    r.element.set_property("file-template", "../{sensor}");
    assert_eq!(r.start(1.0, 1.0), 0);
    let w = warnings(&r.bus);
    assert!(w.iter().any(|w| w.contains("file-template")), "{w:?}");
    // Nonsense values.
    assert_eq!(r.start(-1.0, 1.0), 0);
    assert_eq!(r.start(f64::NAN, 1.0), 0);
    assert_eq!(warnings(&r.bus).len(), 2);
    // A sensor id with `/` and `..` stays inside the directory.
    r.element
        .set_property("file-template", "{prefix}_{sensor}_{session}_{datetime}");
    assert!(r.start(0.0, 0.5) > 0);
    for b in &buffers[50..] {
        r.pass(b);
    }
    let d = r.done.next(30);
    let path = clip_path(&d);
    assert_eq!(path.parent().unwrap(), dir.path());
    assert!(!Path::new("/tmp/evil").exists());
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("clip_"), "{name}");
    assert!(!name.contains(".."), "{name}");
    assert_eq!(files(dir.path()), vec![path]);
}

#[test]
fn full_disk_is_a_warning_and_says_the_clip_is_partial() {
    init();
    let dir = TempDir::new("sr-full");
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("cannot mount a small tmpfs here (not root?): full-disk case not tested");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    // 1 MB+ of video into 256 kB.
    let (caps, buffers) = encode_pattern("snow", &h264(25), 200);
    let total: usize = buffers.iter().map(|b| b.size()).sum();
    assert!(total > 1_000_000, "{total}");
    let mut r = rig(&mnt, &[("fragment-duration", 200u32.to_value())], &caps);
    for (i, b) in buffers.iter().enumerate() {
        r.pass(b); // never blocked
        if i == 20 {
            assert!(r.start(1.0, 6.0) > 0);
        }
    }
    let d = r.done.next(30);
    assert_eq!(d.get::<&str>("reason").unwrap(), "error");
    assert!(!d.get::<bool>("complete").unwrap());
    assert!(d.has_field("error"));
    let w = warnings(&r.bus);
    assert!(w.iter().any(|w| w.contains("ended early")), "{w:?}");
    if d.get::<bool>("file-kept").unwrap() {
        // What is there plays up to its last complete fragment.
        let (n, _) = decode(&clip_path(&d));
        assert!(n > 0);
    } else {
        assert!(files(&mnt).is_empty());
    }
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
fn depayloaded_stream_before_decoder_and_rsinfer() {
    init();
    let dir = TempDir::new("sr-rtp");
    // The placement: rtph264depay ! h264parse ! rssmartrecord ! avdec_h264 ! rsinfer.
    let pipeline = common::launch(&format!(
        "videotestsrc num-buffers=100 pattern=ball ! video/x-raw,width=320,height=240,framerate={FPS}/1 ! x264enc key-int-max=10 speed-preset=ultrafast tune=zerolatency ! rtph264pay ! rtph264depay ! h264parse ! rssmartrecord name=sr location={} ! avdec_h264 ! rsinfer model-location={} conf-threshold=0.5 ! fakesink name=sink",
        dir.path().display(),
        common::shapes_model().display()
    ));
    let sr = pipeline.by_name("sr").unwrap();
    let done = DoneWatcher::new(&sr);
    let decoded = common::count_buffers(
        &pipeline
            .by_name("sink")
            .unwrap()
            .static_pad("sink")
            .unwrap(),
    );
    let passed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let passed2 = passed.clone();
    sr.static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
            if passed2.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 50 {
                let e = pad.parent_element().unwrap();
                assert_eq!(
                    e.emit_by_name::<u32>("start-recording", &[&1.0f64, &1.0f64]),
                    1
                );
            }
            gst::PadProbeReturn::Ok
        });
    common::run_to_eos(&pipeline, 120);
    assert_eq!(decoded.load(std::sync::atomic::Ordering::Relaxed), 100);
    let d = done.next(30);
    assert_eq!(d.get::<&str>("reason").unwrap(), "end");
    let path = clip_path(&d);
    let clip = demux(&path);
    assert!(clip[0].keyframe);
    // From the key frame at or before 1 s before frame 50 (key frames every 10 frames) to
    // 1 s after it: frames 25..=74 at least, starting on frame 20.
    assert_eq!(clip.len(), 75 - 20, "{} frames", clip.len());
    let (n, err) = decode(&path);
    assert_eq!(err, None);
    assert_eq!(n, clip.len());
}

#[test]
fn stopping_the_element_finalises_the_clip_in_flight() {
    init();
    let (caps, buffers) = encode(&h264(25), 100);
    let reference = frames(&buffers);
    let dir = TempDir::new("sr-stop");
    let mut r = rig(dir.path(), &[], &caps);
    for (i, b) in buffers.iter().enumerate() {
        r.pass(b);
        if i == 30 {
            assert_eq!(r.start(0.5, 60.0), 1);
        }
    }
    // The application stops the pipeline in the middle of the clip.
    r.element.set_state(gst::State::Null).unwrap();
    let d = r.done.next(30);
    assert_eq!(d.get::<&str>("reason").unwrap(), "stopped");
    assert!(d.get::<bool>("complete").unwrap());
    // From the key frame at or before 0.7 s (frame 0) to the last frame pushed.
    check_clip(&clip_path(&d), &reference[0..100]);
    drop(r);
}

/// Removes the SPS and PPS NAL units from an Annex B access unit (the test's own parser).
fn strip_parameter_sets(data: &[u8]) -> Vec<u8> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for (k, &h) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(data.len(), |n| n - 3);
        let nal = &data[h..end];
        let nal = nal.strip_suffix(&[0]).unwrap_or(nal);
        if !matches!(nal[0] & 0x1f, 7 | 8) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
    }
    out
}

#[test]
fn byte_stream_with_parameter_sets_only_at_its_start() {
    init();
    let (caps, buffers) = encode(
        "x264enc key-int-max=25 speed-preset=ultrafast tune=zerolatency ! video/x-h264,stream-format=byte-stream,alignment=au",
        125,
    );
    // Only the very first access unit keeps its SPS/PPS.
    let buffers: Vec<gst::Buffer> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if i == 0 {
                return b.clone();
            }
            let data = strip_parameter_sets(&b.map_readable().unwrap());
            let mut n = gst::Buffer::from_mut_slice(data);
            {
                let n = n.get_mut().unwrap();
                n.set_pts(b.pts());
                n.set_dts(b.dts());
                n.set_duration(b.duration());
                n.set_flags(b.flags());
            }
            n
        })
        .collect();
    let reference = frames(&buffers);
    let dir = TempDir::new("sr-noparams");
    let mut r = rig(dir.path(), &[], &caps);
    for (i, b) in buffers.iter().enumerate() {
        r.pass(b);
        if i == 80 {
            assert_eq!(r.start(1.0, 1.0), 1);
        }
    }
    let d = r.done.next(30);
    let path = clip_path(&d);
    // From the key frame at 2 s (frame 50), which had no SPS/PPS of its own.
    let expected = expected_clip(&reference, 80, 1.0, 1.0);
    assert_eq!(expected[0].pts - reference[0].pts, 2_000_000_000);
    let clip = demux(&path);
    assert_eq!(clip.len(), expected.len());
    assert!(clip[0].keyframe);
    let (n, err) = decode(&path);
    assert_eq!(err, None);
    assert_eq!(n, expected.len(), "every frame decodes");
}

#[test]
fn a_writer_far_behind_is_cut_off_and_memory_stays_bounded() {
    init();
    // Lossless 720p snow: about 1.3 MB per frame, every frame a key frame.
    let (caps, buffers) = encode_sized(
        "snow",
        1280,
        720,
        "x264enc key-int-max=1 speed-preset=ultrafast tune=zerolatency pass=quant quantizer=0 ! h264parse ! video/x-h264,stream-format=avc,alignment=au",
        60,
    );
    let total: usize = buffers.iter().map(|b| b.size()).sum();
    assert!(total > 40_000_000, "{total}");
    let dir = TempDir::new("sr-slow");
    // The cache keeps one GOP (one frame): the writer may lag 2 x cache + 16 MiB.
    let mut r = rig(dir.path(), &[("cache-size", 0u32.to_value())], &caps);
    r.pass(&buffers[0]);
    assert_eq!(r.start(0.0, 100.0), 1);
    // A burst far faster than any muxer and disk: the stream is never held, the clip is
    // cut off instead of queueing without bound.
    for b in &buffers[1..] {
        r.pass(b);
    }
    let d = r.done.next(60);
    assert_eq!(d.get::<&str>("reason").unwrap(), "writer-too-slow", "{d}");
    assert!(!d.get::<bool>("complete").unwrap());
    let w = warnings(&r.bus);
    assert!(w.iter().any(|w| w.contains("too slow")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("ended early")), "{w:?}");
    // What was written before the cut plays.
    if d.get::<bool>("file-kept").unwrap() {
        let (_, err) = decode(&clip_path(&d));
        assert_eq!(err, None);
    }
    assert!(!r.element.property::<bool>("recording"));
}
