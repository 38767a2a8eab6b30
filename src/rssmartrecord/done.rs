//! Clip completion: the `rssmartrecord-done` report of a finished clip
//! ([`crate::detection::clip`]) built from what its writer saw, and the queue that hands it
//! from the writer thread to the streaming thread, which pushes it downstream as a
//! serialized custom event in order with the stream (from the next buffer, or before EOS).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::writer::ClipReport;
use super::Container;
use crate::detection::ClipDone;

/// What the writer thread needs for the completion report.
pub(super) struct ClipMeta {
    pub id: u32,
    pub sensor_id: String,
    pub path: PathBuf,
    pub container: Container,
    pub caps: gst::Caps,
    /// A (running time, UTC ms) pair of a recent buffer, mapping the clip's times to UTC.
    pub clock: (u64, i64),
    pub requested_start_ms: i64,
    pub truncated: bool,
}

/// UTC ms of running time `rt`, from the (running time, UTC) pair of a recent buffer.
pub(super) fn utc_of(rt: u64, map: (u64, i64)) -> i64 {
    map.1 - ((map.0 as i128 - rt as i128) / 1_000_000) as i64
}

fn caps_info(caps: &gst::Caps) -> (i32, i32, &'static str) {
    let Some(s) = caps.structure(0) else {
        return (0, 0, "unknown");
    };
    let codec = match s.name().as_str() {
        "video/x-h264" => "h264",
        "video/x-h265" => "h265",
        _ => "unknown",
    };
    (
        s.get::<i32>("width").unwrap_or(0),
        s.get::<i32>("height").unwrap_or(0),
        codec,
    )
}

/// The completion report of the clip `meta` describes, as its writer ended it.
pub(super) fn report(meta: &ClipMeta, report: &ClipReport) -> ClipDone {
    let (width, height, codec) = caps_info(&meta.caps);
    let name = |p: Option<&std::ffi::OsStr>| {
        p.map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    ClipDone {
        session_id: meta.id,
        sensor_id: meta.sensor_id.clone(),
        filename: name(meta.path.file_name()),
        dirpath: name(meta.path.parent().map(|p| p.as_os_str())),
        container: meta.container.extension().to_string(),
        start_ms: report.first_rt.map(|rt| utc_of(rt, meta.clock)),
        end_ms: report.last_end_rt.map(|rt| utc_of(rt, meta.clock)),
        requested_start_ms: meta.requested_start_ms,
        start_truncated: meta.truncated,
        duration_ms: report.duration_ns / 1_000_000,
        width,
        height,
        codec: codec.to_string(),
        contains_video: report.frames > 0,
        contains_audio: false,
        frames: report.frames,
        bytes: report.bytes,
        reason: report.reason.clone(),
        complete: report.complete,
        file_kept: report.file_kept,
        error: report.error.clone(),
    }
}

/// The warning text for a clip that ended in trouble; `None` when it went well.
pub(super) fn trouble(meta: &ClipMeta, report: &ClipReport) -> Option<String> {
    let e = report.error.as_ref()?;
    let what = if report.file_kept {
        "the file is kept and plays up to its last complete fragment"
    } else {
        "nothing was written and the file was removed"
    };
    Some(format!(
        "Recording session {} into {} ended early ({}): {}; {}",
        meta.id,
        meta.path.display(),
        report.reason,
        e,
        what
    ))
}

#[derive(Default)]
struct Queue {
    /// Finished clips whose event has not gone downstream yet, oldest first.
    pending: VecDeque<ClipDone>,
    /// Writer threads started and not finished.
    writing: usize,
}

/// Finished clips on their way from the writer threads to the streaming thread. One per
/// run of the element (created in `start()`); its lock is a leaf lock.
#[derive(Default)]
pub(super) struct Completions {
    queue: Mutex<Queue>,
    idle: Condvar,
}

impl Completions {
    /// A writer thread is about to start.
    pub(super) fn begin(&self) {
        self.queue.lock().unwrap().writing += 1;
    }

    /// A writer thread is done, with its clip's report (`None`: it never ran).
    pub(super) fn finish(&self, clip: Option<ClipDone>) {
        let mut q = self.queue.lock().unwrap();
        q.writing = q.writing.saturating_sub(1);
        q.pending.extend(clip);
        drop(q);
        self.idle.notify_all();
    }

    /// The finished clips not pushed yet, oldest first.
    pub(super) fn take(&self) -> Vec<ClipDone> {
        let mut q = self.queue.lock().unwrap();
        if q.pending.is_empty() {
            return Vec::new();
        }
        q.pending.drain(..).collect()
    }

    /// Waits until no writer is running, at most `timeout`; returns the number still
    /// running.
    pub(super) fn wait_idle(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut q = self.queue.lock().unwrap();
        while q.writing > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            q = self.idle.wait_timeout(q, left).unwrap().0;
        }
        q.writing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_time_to_utc() {
        // A buffer at 10 s of running time arrived at UTC 1000000 ms.
        assert_eq!(
            utc_of(10_000_000_000, (10_000_000_000, 1_000_000)),
            1_000_000
        );
        assert_eq!(utc_of(7_500_000_000, (10_000_000_000, 1_000_000)), 997_500);
        assert_eq!(
            utc_of(12_000_000_000, (10_000_000_000, 1_000_000)),
            1_002_000
        );
    }

    #[test]
    fn queue_hands_clips_over_in_order_and_waits_for_writers() {
        let c = std::sync::Arc::new(Completions::default());
        assert_eq!(c.wait_idle(Duration::ZERO), 0);
        c.begin();
        c.begin();
        assert_eq!(c.wait_idle(Duration::from_millis(10)), 2);
        let clip = |id| ClipDone {
            session_id: id,
            ..Default::default()
        };
        c.finish(Some(clip(1)));
        let other = c.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.finish(Some(clip(2)));
        });
        assert_eq!(c.wait_idle(Duration::from_secs(10)), 0);
        t.join().unwrap();
        let ids: Vec<u32> = c.take().iter().map(|d| d.session_id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert!(c.take().is_empty());
        // A writer that never ran leaves nothing to push.
        c.begin();
        c.finish(None);
        assert_eq!(c.wait_idle(Duration::ZERO), 0);
        assert!(c.take().is_empty());
    }
}
