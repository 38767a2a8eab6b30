//! What goes into the tracker and what comes out of it: observations, tracked objects,
//! lifecycle events, statistics.

use std::sync::Arc;

use super::BBox;

/// One detection given to the tracker.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub bbox: BBox,
    pub confidence: f64,
    pub label: &'a str,
    pub label_id: i32,
}

/// What happened to a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    Entry,
    Moving,
    Stopped,
    Exit,
}

impl EventKind {
    /// The name used in messages and payloads (DeepStream's event types).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Entry => "entry",
            EventKind::Moving => "moving",
            EventKind::Stopped => "stopped",
            EventKind::Exit => "exit",
        }
    }
}

/// Why a track ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// Not detected for `lost_track_time`.
    Lost,
    /// Its predicted box left the frame.
    LeftFrame,
    /// Removed to make room for a new track (`max_tracks`).
    Evicted,
    /// The stream ended, flushed or restarted, or the element stopped ([`Tracker::end_all`]).
    Reset,
}

impl ExitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Lost => "lost",
            ExitReason::LeftFrame => "left-frame",
            ExitReason::Evicted => "evicted",
            ExitReason::Reset => "reset",
        }
    }
}

/// A lifecycle event of a confirmed track.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub id: u64,
    pub label: Arc<str>,
    pub label_id: i32,
    /// The track's box now (its last observation for `exit`).
    pub bbox: BBox,
    pub confidence: f64,
    /// Time of the frame the event happened on.
    pub time: u64,
    pub first_seen: u64,
    pub last_seen: u64,
    pub hits: u32,
    /// Centre velocity, pixels per second.
    pub velocity: (f64, f64),
    /// For `exit`.
    pub reason: Option<ExitReason>,
}

/// A confirmed track as output on one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedObject {
    pub id: u64,
    /// The detection (index in the frame's observations) it matched, if any.
    pub detection: Option<usize>,
    /// The detection's box when matched, else the predicted box.
    pub bbox: BBox,
    pub label: Arc<str>,
    pub label_id: i32,
    /// The detection's confidence when matched, else the last one.
    pub confidence: f64,
    /// No detection on this frame: the box is the motion model's prediction.
    pub predicted: bool,
    /// Buffers since the track's last detection (0 when matched now).
    pub frames_ago: u32,
    /// Missed on the latest detection frame(s).
    pub lost: bool,
    pub hits: u32,
    pub first_seen: u64,
    pub last_seen: u64,
    /// Centre velocity, pixels per second.
    pub velocity: (f64, f64),
    /// The motion model's box now (after the detection, when matched): smoother than the
    /// detector's box, e.g. for drawing paths.
    pub filtered: BBox,
}

/// The tracker's output for one frame (reused between frames).
#[derive(Debug, Default)]
pub struct Output {
    /// Matched detections first (in detection order), then predicted tracks (by id).
    pub objects: Vec<TrackedObject>,
    /// Events of this frame: exits, entries, then motion changes, each by id.
    pub events: Vec<Event>,
    /// Detections not output as a confirmed track (tentative, unmatched, too weak).
    pub untracked: Vec<usize>,
}

/// Counters for statistics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub frames: u64,
    pub detection_frames: u64,
    /// Ids given (confirmed tracks).
    pub ids: u64,
    /// Tentative tracks that never confirmed.
    pub discarded_tentative: u64,
    /// New tracks refused because `max_tracks` were live and none could be evicted.
    pub refused: u64,
    /// Lost tracks removed early to make room.
    pub evicted: u64,
}
