//! The clip writer: one named thread per clip running its own muxing pipeline
//! `appsrc ! h264parse|h265parse ! mp4mux fragment-duration=N | matroskamux ! filesink`.
//!
//! The streaming thread only sends buffer references over a channel ([`WriterMsg`]); this
//! thread re-stamps them so the clip starts at zero, feeds appsrc (never blocking), and on
//! [`WriterMsg::Finish`] sends EOS, waits for the muxer to finalise, and reports a
//! [`ClipReport`]. [`WriterMsg::Abort`] drops what is queued and closes the file at once
//! (fragmented MP4 stays playable up to the last fragment written).

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gst::prelude::*;

use super::Container;
use crate::smartrecord::dts::DtsSynth;
use crate::smartrecord::nal::{self, Codec};

pub enum WriterMsg {
    /// A cached or live buffer, with its running times (ns).
    Buffer {
        buffer: gst::Buffer,
        pts_rt: Option<u64>,
        dts_rt: Option<u64>,
    },
    /// The cached GOPs the clip starts with, in one message.
    Preroll(Vec<(gst::Buffer, Option<u64>, Option<u64>)>),
    /// Finalise the file, for this reason.
    Finish(&'static str),
    /// Close at once, dropping what is queued, for this reason.
    Abort(&'static str),
}

pub struct WriterParams {
    pub path: PathBuf,
    pub caps: gst::Caps,
    pub container: Container,
    pub fragment_duration_ms: u32,
    /// Bytes sent but not yet taken by the muxing pipeline (shared with the sender).
    pub pending_bytes: Arc<AtomicI64>,
    /// For byte-streams: the latest parameter sets, put in front of the first frame when
    /// it lacks them.
    pub param_sets: Option<(Codec, Vec<u8>)>,
}

/// What happened to a clip.
#[derive(Debug, Clone)]
pub struct ClipReport {
    pub frames: u64,
    pub bytes: u64,
    /// Clip duration from the first frame's start to the last frame's end (ns).
    pub duration_ns: u64,
    /// Running time of the first and last buffer (ns).
    pub first_rt: Option<u64>,
    pub last_end_rt: Option<u64>,
    /// Why it ended (the reason given by the element, or `error`).
    pub reason: String,
    /// The file was finalised normally.
    pub complete: bool,
    pub error: Option<String>,
    /// The file exists on disk (false when nothing could be written and it was removed).
    pub file_kept: bool,
}

fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| format!("element {factory} is missing (gst-plugins-good/bad)"))
}

fn build(params: &WriterParams) -> Result<(gst::Pipeline, gst_app::AppSrc), String> {
    let s = params.caps.structure(0).ok_or("empty caps")?;
    let parser = match s.name().as_str() {
        "video/x-h264" => make("h264parse")?,
        "video/x-h265" => make("h265parse")?,
        other => return Err(format!("cannot record {other}")),
    };
    let mux = match params.container {
        Container::Mp4 => {
            let m = make("mp4mux")?;
            m.set_property("fragment-duration", params.fragment_duration_ms.max(1));
            m
        }
        Container::Mkv => make("matroskamux")?,
    };
    let sink = make("filesink")?;
    sink.set_property("location", params.path.to_string_lossy().to_string());
    sink.set_property("async", false);
    sink.set_property("sync", false);
    let appsrc = gst_app::AppSrc::builder()
        .caps(&params.caps)
        .format(gst::Format::Time)
        .is_live(false)
        .block(false)
        .max_bytes(0)
        .max_buffers(0)
        .max_time(gst::ClockTime::ZERO)
        .build();
    let pipeline = gst::Pipeline::with_name("rssmartrecord-writer");
    pipeline
        .add_many([appsrc.upcast_ref(), &parser, &mux, &sink])
        .map_err(|e| e.to_string())?;
    gst::Element::link_many([appsrc.upcast_ref(), &parser, &mux, &sink])
        .map_err(|e| format!("cannot link the muxing pipeline: {e}"))?;
    // Bytes leave the pending count when appsrc hands them downstream (the muxer and the
    // file sink write them synchronously behind it).
    let pending = params.pending_bytes.clone();
    if let Some(pad) = appsrc.static_pad("src") {
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(b) = info.buffer() {
                pending.fetch_sub(b.size() as i64, Ordering::Relaxed);
            }
            gst::PadProbeReturn::Ok
        });
    }
    Ok((pipeline, appsrc))
}

fn bus_error(bus: &gst::Bus) -> Option<String> {
    bus.pop_filtered(&[gst::MessageType::Error])
        .map(|m| match m.view() {
            gst::MessageView::Error(e) => e.error().to_string(),
            _ => unreachable!(),
        })
}

/// Largest B-frame reordering assumed when decoding timestamps must be made up.
const REORDER_DEPTH: usize = 4;

/// Re-stamping state: the clip's time zero, the end of the latest frame, and decoding
/// timestamps made up for PTS-only input (depayloaded RTP).
struct Stamps {
    offset: Option<u64>,
    last_pts_end: u64,
    frame_ns: u64,
    synth: Option<DtsSynth<gst::Buffer>>,
    param_sets: Option<(Codec, Vec<u8>)>,
}

impl Stamps {
    fn new(caps: &gst::Caps, param_sets: Option<(Codec, Vec<u8>)>) -> Self {
        let frame_ns = caps
            .structure(0)
            .and_then(|s| s.get::<gst::Fraction>("framerate").ok())
            .filter(|f| f.numer() > 0 && f.denom() > 0)
            .map(|f| 1_000_000_000u64 * f.denom() as u64 / f.numer() as u64)
            .unwrap_or(33_333_333);
        Stamps {
            offset: None,
            last_pts_end: 0,
            frame_ns,
            synth: None,
            param_sets,
        }
    }
}

/// Hands a buffer to [`push_one`], through [`DtsSynth`] when it has a PTS but no DTS.
fn feed(
    appsrc: &gst_app::AppSrc,
    report: &mut ClipReport,
    stamps: &mut Stamps,
    buffer: gst::Buffer,
    pts_rt: Option<u64>,
    dts_rt: Option<u64>,
) -> bool {
    match (pts_rt, dts_rt) {
        (Some(pts), None) => {
            let frame = buffer
                .duration()
                .map(|d| d.nseconds())
                .filter(|d| *d > 0)
                .unwrap_or(stamps.frame_ns);
            let ready = stamps
                .synth
                .get_or_insert_with(|| DtsSynth::new(REORDER_DEPTH, frame))
                .push(buffer, pts);
            ready
                .into_iter()
                .all(|(b, pts, dts)| push_one(appsrc, report, stamps, b, Some(pts), Some(dts)))
        }
        _ => push_one(appsrc, report, stamps, buffer, pts_rt, dts_rt),
    }
}

/// Frames held back by [`DtsSynth`], at the end of the clip.
fn flush(appsrc: &gst_app::AppSrc, report: &mut ClipReport, stamps: &mut Stamps) -> bool {
    let held = stamps.synth.as_mut().map(|s| s.flush()).unwrap_or_default();
    held.into_iter()
        .all(|(b, pts, dts)| push_one(appsrc, report, stamps, b, Some(pts), Some(dts)))
}

/// Re-stamps one buffer so the clip starts at zero and hands it to appsrc (which never
/// blocks). Returns false when the muxing pipeline no longer accepts data.
fn push_one(
    appsrc: &gst_app::AppSrc,
    report: &mut ClipReport,
    stamps: &mut Stamps,
    buffer: gst::Buffer,
    pts_rt: Option<u64>,
    dts_rt: Option<u64>,
) -> bool {
    let off = *stamps
        .offset
        .get_or_insert_with(|| dts_rt.or(pts_rt).unwrap_or(0));
    let mut buffer = buffer;
    if let Some((codec, ps)) = stamps.param_sets.take() {
        // The first frame of a byte-stream clip must carry the parameter sets.
        let lacks = buffer
            .map_readable()
            .map(|m| !nal::has_sps(codec, &m))
            .unwrap_or(false);
        if lacks {
            let mut data = ps;
            if let Ok(m) = buffer.map_readable() {
                data.extend_from_slice(&m);
            }
            let mut with = gst::Buffer::from_mut_slice(data);
            {
                let w = with.get_mut().expect("a new buffer is writable");
                w.set_duration(buffer.duration());
                w.set_flags(buffer.flags());
            }
            buffer = with;
        }
    }
    let size = buffer.size();
    let dur = buffer.duration().map(|d| d.nseconds()).unwrap_or(0);
    let mut b = buffer.copy();
    {
        let b = b.get_mut().expect("a fresh copy is writable");
        b.set_pts(pts_rt.map(|t| gst::ClockTime::from_nseconds(t.saturating_sub(off))));
        b.set_dts(dts_rt.map(|t| gst::ClockTime::from_nseconds(t.saturating_sub(off))));
        b.unset_flags(gst::BufferFlags::DISCONT);
    }
    if let Some(p) = pts_rt {
        if report.first_rt.is_none() {
            report.first_rt = Some(p);
        }
        let end = p + dur;
        if end > stamps.last_pts_end {
            stamps.last_pts_end = end;
            report.last_end_rt = Some(end);
        }
    }
    report.frames += 1;
    report.bytes += size as u64;
    appsrc.push_buffer(b).is_ok()
}

/// Runs one clip to the end. Blocks; call on the clip's own thread.
pub fn run(params: WriterParams, rx: Receiver<WriterMsg>) -> ClipReport {
    let mut report = ClipReport {
        frames: 0,
        bytes: 0,
        duration_ns: 0,
        first_rt: None,
        last_end_rt: None,
        reason: String::new(),
        complete: false,
        error: None,
        file_kept: false,
    };
    let drain_pending = |rx: &Receiver<WriterMsg>, pending: &AtomicI64| {
        while let Ok(m) = rx.try_recv() {
            match m {
                WriterMsg::Buffer { buffer, .. } => {
                    pending.fetch_sub(buffer.size() as i64, Ordering::Relaxed);
                }
                WriterMsg::Preroll(items) => {
                    for (b, _, _) in items {
                        pending.fetch_sub(b.size() as i64, Ordering::Relaxed);
                    }
                }
                _ => {}
            }
        }
    };
    let (pipeline, appsrc) = match build(&params) {
        Ok(p) => p,
        Err(e) => {
            report.reason = "error".into();
            report.error = Some(e);
            drain_pending(&rx, &params.pending_bytes);
            finish_file(&params, &mut report);
            return report;
        }
    };
    let bus = pipeline.bus().expect("a pipeline has a bus");
    if pipeline.set_state(gst::State::Playing).is_err() {
        report.reason = "error".into();
        report.error = Some(
            bus_error(&bus).unwrap_or_else(|| format!("cannot open {}", params.path.display())),
        );
        let _ = pipeline.set_state(gst::State::Null);
        drain_pending(&rx, &params.pending_bytes);
        finish_file(&params, &mut report);
        return report;
    }

    let mut stamps = Stamps::new(&params.caps, params.param_sets.clone());
    let outcome: Result<&'static str, (&'static str, String)> = loop {
        if let Some(e) = bus_error(&bus) {
            break Err(("error", e));
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(WriterMsg::Buffer {
                buffer,
                pts_rt,
                dts_rt,
            }) => {
                if !feed(&appsrc, &mut report, &mut stamps, buffer, pts_rt, dts_rt) {
                    break Err((
                        "error",
                        bus_error(&bus).unwrap_or_else(|| "the muxing pipeline stopped".into()),
                    ));
                }
            }
            Ok(WriterMsg::Preroll(items)) => {
                let mut ok = true;
                for (buffer, pts_rt, dts_rt) in items {
                    if ok {
                        ok = feed(&appsrc, &mut report, &mut stamps, buffer, pts_rt, dts_rt);
                    } else {
                        params
                            .pending_bytes
                            .fetch_sub(buffer.size() as i64, Ordering::Relaxed);
                    }
                }
                if !ok {
                    break Err((
                        "error",
                        bus_error(&bus).unwrap_or_else(|| "the muxing pipeline stopped".into()),
                    ));
                }
            }
            Ok(WriterMsg::Finish(reason)) => {
                break Ok(reason);
            }
            Ok(WriterMsg::Abort(reason)) => {
                break Err((reason, format!("recording aborted: {reason}")));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                break Ok("stopped");
            }
        }
    };

    match outcome {
        Ok(reason) => {
            report.reason = reason.into();
            flush(&appsrc, &mut report, &mut stamps);
            let _ = appsrc.end_of_stream();
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut done = false;
            while Instant::now() < deadline {
                match bus.timed_pop_filtered(
                    gst::ClockTime::from_mseconds(200),
                    &[gst::MessageType::Eos, gst::MessageType::Error],
                ) {
                    Some(m) => {
                        if let gst::MessageView::Error(e) = m.view() {
                            report.reason = "error".into();
                            report.error = Some(e.error().to_string());
                        } else {
                            report.complete = true;
                        }
                        done = true;
                        break;
                    }
                    None => continue,
                }
            }
            if !done {
                report.error = Some("the muxer did not finish within 30 s".into());
            }
        }
        Err((reason, e)) => {
            report.reason = reason.into();
            report.error = Some(e);
        }
    }
    let _ = pipeline.set_state(gst::State::Null);
    drain_pending(&rx, &params.pending_bytes);
    report.duration_ns = match (report.first_rt, report.last_end_rt) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    };
    finish_file(&params, &mut report);
    report
}

/// Removes a file that holds nothing playable; notes whether it is kept.
fn finish_file(params: &WriterParams, report: &mut ClipReport) {
    let len = std::fs::metadata(&params.path)
        .map(|m| m.len())
        .unwrap_or(0);
    // A fragmented MP4 cut off (not finalised) before its first fragment plays nothing.
    let playable = report.complete
        || params.container != Container::Mp4
        || std::fs::File::open(&params.path)
            .and_then(|mut f| crate::smartrecord::mp4::holds_samples(&mut f))
            .unwrap_or(false);
    if report.frames == 0 || len == 0 || !playable {
        let _ = std::fs::remove_file(&params.path);
        report.file_kept = false;
        report.complete = false;
    } else {
        report.file_kept = true;
    }
}
