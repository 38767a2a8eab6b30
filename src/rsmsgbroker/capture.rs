//! `@timestamp`: the capture time of a frame in Unix milliseconds (UTC), from its
//! reference timestamp meta or from its running time on the pipeline clock.

use gst::prelude::*;
use gst_base::prelude::*;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds between 1900-01-01 (NTP epoch) and 1970-01-01.
const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;

/// The wall-clock time in Unix milliseconds.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The frame's capture time in Unix milliseconds: a `GstReferenceTimestampMeta`
/// (`timestamp/x-unix` or `timestamp/x-ntp`) when present, else the buffer's running time
/// on `obj`'s clock mapped to wall-clock time (now outside PLAYING).
pub(super) fn capture_time_ms(obj: &super::RsMsgBroker, buf: &gst::BufferRef) -> i64 {
    for meta in buf.iter_meta::<gst::ReferenceTimestampMeta>() {
        let Some(s) = meta.reference().structure(0) else {
            continue;
        };
        let ts = meta.timestamp().nseconds();
        match s.name().as_str() {
            "timestamp/x-unix" => return (ts / 1_000_000) as i64,
            "timestamp/x-ntp" => {
                return (ts / 1_000_000) as i64 - (NTP_UNIX_OFFSET_S * 1000) as i64
            }
            _ => {}
        }
    }
    let now_wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    // The base time is only valid in PLAYING (frames of a preroll are "now").
    if obj.current_state() != gst::State::Playing {
        return now_wall / 1_000_000;
    }
    let (Some(clock), Some(base_time)) = (obj.clock(), obj.base_time()) else {
        return now_wall / 1_000_000;
    };
    let segment = obj.segment();
    let running = segment
        .downcast_ref::<gst::ClockTime>()
        .and_then(|seg| seg.to_running_time(buf.pts()));
    let Some(running) = running else {
        return now_wall / 1_000_000;
    };
    let frame_clock = (base_time + running).nseconds() as i64;
    let now_clock = clock.time().nseconds() as i64;
    (now_wall - (now_clock - frame_clock)) / 1_000_000
}
