//! Multi-object tracking (rstracker's logic, with no GStreamer types).
//!
//! ByteTrack's two-stage association as the base, with the defects of the reference
//! implementations fixed and what the element needs added:
//!
//! 1. Every track's [`kalman::Kalman`] filter is predicted to the frame's **timestamp**: dropped
//!    frames, a detector that runs every Nth frame or a variable frame rate predict correctly.
//! 2. On a frame with fresh detections ([`Tracker::update`] with `Some`), in stages
//!    ([`associate`]): confirmed tracks (tracked and lost) against high-confidence
//!    detections by IoU x confidence; the tracked ones still unmatched against the
//!    low-confidence detections by IoU; the still unmatched confirmed tracks against the
//!    remaining high detections by IoU with their **last observation** (OC-SORT's
//!    observation-centric recovery, for predictions that drifted during an occlusion);
//!    tentative tracks against what is left. Each stage is an optimal assignment
//!    ([`assign`]), gated by class ([`config::ClassMode`]).
//! 3. A track found again after missed detections rebuilds its velocity from the gap
//!    (OC-SORT's re-update), so it does not fly off after an occlusion.
//! 4. Unmatched high detections start **tentative** tracks, which take an id only once seen
//!    on `min_hits` detection frames: ids are dense and never spent on one-frame false
//!    positives; nothing unconfirmed is ever output (no `-1` ids). A detection that
//!    overlaps a confirmed track's box by IoU 0.7 or more does not start a track (a second
//!    label on one object).
//! 5. A confirmed track missed on a detection frame is **lost**: it keeps its id for
//!    `lost_track_time` (at least two detector periods), is output at its predicted position
//!    for `coast_time` (at least one detector period), and is removed at once when its
//!    prediction leaves the frame. Removed tracks are freed immediately (ByteTrack keeps a
//!    `removed_stracks` list that grows forever); `max_tracks` bounds the rest.
//! 6. On a frame without fresh detections ([`Tracker::update`] with `None`) every live track
//!    is output at its predicted position, marked as predicted with its `frames_ago`.
//! 7. Lifecycle [`Event`]s: `entry` at confirmation, `moving` / `stopped` when the speed
//!    crosses `stop_speed` (with hysteresis in speed and time), `exit` at removal.
//! 8. A track's label is a confidence-weighted vote over its detections, stable under
//!    single-frame label flicker.

pub mod assign;
pub mod associate;
pub mod config;
pub mod geometry;
pub mod kalman;
pub mod track;
pub mod types;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

pub use config::{parse_class_groups, ClassMode, Config};
pub use geometry::BBox;
pub use types::{Event, EventKind, ExitReason, Observation, Output, Stats, TrackedObject};

use associate::{Associator, Item, Reach};
use config::ClassKeys;
use track::{LabelVotes, Status, Track};

/// Boxes a detection must overlap a confirmed track's box by (IoU) to be taken as a second
/// detection of the same object rather than a new one: of the same class, ...
const DUPLICATE_IOU: f64 = 0.7;
/// ... and of another class (a flickering label: `car` seen as `truck` must not start a
/// `truck` track on the car).
const DUPLICATE_IOU_OTHER_CLASS: f64 = 0.5;
/// Second stage (low-confidence detections): plain IoU needed, as ByteTrack.
const LOW_MATCH_IOU: f64 = 0.5;
/// Recovery stage: a lost track's centre may have gone this many times its last speed
/// times the gap, plus half its size, ...
const RECOVERY_SPEED_MARGIN: f64 = 1.5;
/// ... but never more than this many box sizes.
const RECOVERY_MAX_SIZES: f64 = 4.0;
/// A track seen once may have moved this many box sizes per second (plus half a size) by
/// its second detection.
const NEW_TRACK_SIZES_PER_SECOND: f64 = 3.0;
/// Tentative tracks: IoU x confidence needed (ByteTrack's 0.7 cost).
const TENTATIVE_MATCH_IOU: f64 = 0.3;
/// An unmatched track whose predicted box has less than this fraction inside the frame has
/// left it.
const MIN_VISIBLE_FRACTION: f64 = 0.25;

/// A multi-object tracker for one stream.
#[derive(Debug)]
pub struct Tracker {
    config: Config,
    keys: ClassKeys,
    labels: HashMap<String, Arc<str>>,
    tracks: Vec<Track>,
    next_id: u64,
    last_time: Option<u64>,
    last_detection_time: Option<u64>,
    /// Smoothed time between detection frames (ns).
    detection_period: Option<f64>,
    stats: Stats,
    associator: Associator,
    output: Output,
    // Scratch.
    rows: Vec<Item>,
    cols: Vec<Item>,
    reach: Vec<Reach>,
    taken: Vec<bool>,
    class_keys: Vec<u32>,
}

/// The tracks that `take` accepts, as association rows compared by their predicted box.
fn predicted_rows(tracks: &[Track], rows: &mut Vec<Item>, take: impl Fn(&Track) -> bool) {
    rows.clear();
    rows.extend(
        tracks
            .iter()
            .enumerate()
            .filter(|(_, tr)| take(tr))
            .map(|(i, tr)| Item {
                index: i,
                bbox: tr.kf.bbox(),
                class_key: tr.class_key,
                confidence: 1.0,
            }),
    );
}

/// Most interned label strings kept (beyond, labels are allocated per track).
const MAX_INTERNED: usize = 4096;

impl Tracker {
    /// A tracker whose first id will be `first_id`.
    pub fn new(config: Config, first_id: u64) -> Self {
        let keys = ClassKeys::new(config.class_mode, &config.class_groups);
        Tracker {
            config,
            keys,
            labels: HashMap::new(),
            tracks: Vec::new(),
            next_id: first_id.max(1),
            last_time: None,
            last_detection_time: None,
            detection_period: None,
            stats: Stats::default(),
            associator: Associator::default(),
            output: Output::default(),
            rows: Vec::new(),
            cols: Vec::new(),
            reach: Vec::new(),
            taken: Vec::new(),
            class_keys: Vec::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes the settings; a changed class mode or grouping applies to new tracks.
    pub fn set_config(&mut self, config: Config) {
        if config.class_mode != self.config.class_mode
            || config.class_groups != self.config.class_groups
        {
            self.keys = ClassKeys::new(config.class_mode, &config.class_groups);
        }
        self.config = config;
    }

    /// The id the next confirmed track will take.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Live tracks of every status (for memory checks).
    pub fn live_tracks(&self) -> usize {
        self.tracks.len()
    }

    /// Confirmed live tracks (tracked or lost).
    pub fn confirmed_tracks(&self) -> usize {
        self.tracks.iter().filter(|t| t.is_confirmed()).count()
    }

    fn intern(&mut self, label: &str) -> Arc<str> {
        if let Some(l) = self.labels.get(label) {
            return l.clone();
        }
        let l: Arc<str> = Arc::from(label);
        if self.labels.len() < MAX_INTERNED {
            self.labels.insert(label.to_string(), l.clone());
        }
        l
    }

    fn lost_time(&self) -> u64 {
        let period = self.detection_period.unwrap_or(0.0);
        self.config.lost_track_time.max((2.0 * period) as u64)
    }

    /// How long `track` may go undetected before it ends: longer for a stopped one (a parked
    /// car behind passers-by), whose prediction does not drift.
    fn lost_time_of(track: &Track, lost_time: u64, stopped_lost_time: u64) -> u64 {
        if track.motion.state == track::MotionState::Stopped {
            lost_time.max(stopped_lost_time)
        } else {
            lost_time
        }
    }

    fn coast_time(&self) -> u64 {
        let period = self.detection_period.unwrap_or(0.0);
        // A little over one period, so the frame right before the next detection frame
        // still shows the box.
        self.config.coast_time.max((1.5 * period) as u64)
    }

    fn event(
        &self,
        track: &Track,
        kind: EventKind,
        time: u64,
        reason: Option<ExitReason>,
    ) -> Event {
        let (label, label_id) = track.votes.best();
        let bbox = if kind == EventKind::Exit {
            track.last_obs
        } else {
            track.kf.bbox()
        };
        Event {
            kind,
            id: track.id.unwrap_or(0),
            label: label.clone(),
            label_id,
            bbox,
            confidence: track.last_confidence,
            time,
            first_seen: track.first_seen,
            last_seen: track.last_seen,
            hits: track.hits,
            velocity: track.kf.velocity(),
            reason,
        }
    }

    /// Processes one frame at `time` (ns; `None`: one nominal frame period after the
    /// previous frame). `detections` is `Some` when a detector ran on this frame (also when
    /// it found nothing), `None` when it did not: then every live track is output at its
    /// predicted position.
    pub fn update(&mut self, time: Option<u64>, detections: Option<&[Observation<'_>]>) -> &Output {
        let t = match (time, self.last_time) {
            (Some(t), Some(last)) => t.max(last),
            (Some(t), None) => t,
            (None, Some(last)) => last + self.config.frame_period,
            (None, None) => 0,
        };
        self.last_time = Some(t);
        self.stats.frames += 1;
        self.output.objects.clear();
        self.output.events.clear();
        self.output.untracked.clear();
        for tr in &mut self.tracks {
            tr.predict_to(t);
            tr.frames_ago = tr.frames_ago.saturating_add(1);
            tr.detection = None;
        }
        match detections {
            Some(dets) => self.detect_frame(t, dets),
            None => self.predict_frame(t),
        }
        self.write_output(t, detections);
        &self.output
    }

    fn valid(&self, d: &Observation<'_>) -> bool {
        d.bbox.is_finite()
            && d.bbox.width() > 0.0
            && d.bbox.height() > 0.0
            && d.confidence >= self.config.low_threshold
    }

    fn detect_frame(&mut self, t: u64, dets: &[Observation<'_>]) {
        self.stats.detection_frames += 1;
        if let Some(prev) = self.last_detection_time {
            let dt = (t - prev) as f64;
            if dt > 0.0 {
                self.detection_period = Some(match self.detection_period {
                    Some(p) => 0.8 * p + 0.2 * dt,
                    None => dt,
                });
            }
        }
        let first_detection_frame = self.last_detection_time.is_none();
        self.last_detection_time = Some(t);

        self.class_keys.clear();
        for d in dets {
            let k = self.keys.key(d.label, d.label_id);
            self.class_keys.push(k);
        }
        self.taken.clear();
        self.taken.resize(dets.len(), false);
        let high = self.config.high_threshold;
        let valid: Vec<bool> = dets.iter().map(|d| self.valid(d)).collect();
        let col = |i: usize, d: &Observation<'_>, keys: &[u32]| Item {
            index: i,
            bbox: d.bbox,
            class_key: keys[i],
            confidence: if d.confidence.is_finite() {
                d.confidence
            } else {
                0.0
            },
        };

        // Stage 1: confirmed tracks (tracked and lost) vs high detections, fused cost.
        predicted_rows(&self.tracks, &mut self.rows, |tr| tr.is_confirmed());
        self.cols.clear();
        for (i, d) in dets.iter().enumerate() {
            if valid[i] && d.confidence >= high {
                self.cols.push(col(i, d, &self.class_keys));
            }
        }
        let pairs = self
            .associator
            .stage(&self.rows, &self.cols, true, self.config.match_iou)
            .to_vec();
        self.apply(&pairs, dets, t);

        // Stage 2: still unmatched confirmed tracks vs low detections, plain IoU (a lost
        // track is often one whose detections weakened under a partial occlusion).
        predicted_rows(&self.tracks, &mut self.rows, |tr| {
            tr.is_confirmed() && tr.detection.is_none()
        });
        self.cols.clear();
        for (i, d) in dets.iter().enumerate() {
            if valid[i] && d.confidence < high && !self.taken[i] {
                self.cols.push(col(i, d, &self.class_keys));
            }
        }
        let pairs = self
            .associator
            .stage(&self.rows, &self.cols, false, LOW_MATCH_IOU)
            .to_vec();
        self.apply(&pairs, dets, t);

        // Stage 3: unmatched confirmed tracks vs the remaining high detections, by reach
        // from their last observation (recovery when the prediction drifted during a gap).
        let mut reach = std::mem::take(&mut self.reach);
        reach.clear();
        for (i, tr) in self.tracks.iter().enumerate() {
            if tr.is_confirmed() && tr.detection.is_none() {
                let gap = t.saturating_sub(tr.last_seen) as f64 * 1e-9;
                let (vx, vy) = tr.snapshot.velocity();
                let size = tr.last_obs.area().sqrt();
                let radius = (RECOVERY_SPEED_MARGIN * vx.hypot(vy) * gap + 0.5 * size)
                    .min(RECOVERY_MAX_SIZES * size);
                reach.push(Reach {
                    index: i,
                    last: tr.last_obs,
                    predicted: tr.kf.bbox(),
                    radius,
                    class_key: tr.class_key,
                });
            }
        }
        self.cols.clear();
        for (i, d) in dets.iter().enumerate() {
            if valid[i] && d.confidence >= high && !self.taken[i] {
                self.cols.push(col(i, d, &self.class_keys));
            }
        }
        let pairs = self.associator.reach_stage(&reach, &self.cols).to_vec();
        self.reach = reach;
        self.apply(&pairs, dets, t);

        // Stage 4: tentative tracks vs the remaining high detections.
        self.cols.retain(|c| !self.taken[c.index]);
        predicted_rows(&self.tracks, &mut self.rows, |tr| {
            tr.status == Status::Tentative
        });
        let pairs = self
            .associator
            .stage(&self.rows, &self.cols, true, TENTATIVE_MATCH_IOU)
            .to_vec();
        self.apply(&pairs, dets, t);

        // Stage 4b: tentative tracks seen once have no velocity yet: when the detector runs
        // seldom, a fast object no longer overlaps its first box. Match them by reach from
        // that box instead (a box size per ~0.3 s beyond half a size).
        self.cols.retain(|c| !self.taken[c.index]);
        let mut reach = std::mem::take(&mut self.reach);
        reach.clear();
        for (i, tr) in self.tracks.iter().enumerate() {
            if tr.status == Status::Tentative && tr.detection.is_none() && tr.hits == 1 {
                let gap = t.saturating_sub(tr.last_seen) as f64 * 1e-9;
                let size = tr.last_obs.area().sqrt();
                reach.push(Reach {
                    index: i,
                    last: tr.last_obs,
                    predicted: tr.last_obs,
                    radius: (size * (0.5 + NEW_TRACK_SIZES_PER_SECOND * gap))
                        .min(RECOVERY_MAX_SIZES * size),
                    class_key: tr.class_key,
                });
            }
        }
        let pairs = self.associator.reach_stage(&reach, &self.cols).to_vec();
        self.reach = reach;
        self.apply(&pairs, dets, t);

        // Misses: tracked become lost; tentative ones end (ByteTrack; nvtracker's
        // earlyTerminationAge 1); tracks whose prediction left the frame end now.
        let lost_time = self.lost_time();
        let stopped_lost_time = self.config.stopped_lost_time;
        let frame = self.config.frame_size;
        let mut ended: Vec<(usize, ExitReason)> = Vec::new();
        for (i, tr) in self.tracks.iter_mut().enumerate() {
            if tr.detection.is_some() {
                continue;
            }
            match tr.status {
                Status::Tentative => ended.push((i, ExitReason::Lost)),
                Status::Tracked | Status::Lost => {
                    tr.status = Status::Lost;
                    tr.missed = tr.missed.saturating_add(1);
                    let left = frame.is_some_and(|(w, h)| {
                        tr.kf.bbox().visible_fraction(w, h) < MIN_VISIBLE_FRACTION
                    });
                    if left {
                        ended.push((i, ExitReason::LeftFrame));
                    } else if t.saturating_sub(tr.last_seen)
                        > Self::lost_time_of(tr, lost_time, stopped_lost_time)
                    {
                        ended.push((i, ExitReason::Lost));
                    }
                }
            }
        }
        self.remove(ended, t);

        // Confirmation.
        let min_hits = self.config.min_hits.max(1);
        for i in 0..self.tracks.len() {
            let tr = &self.tracks[i];
            if tr.status == Status::Tentative && tr.detection.is_some() && tr.hits >= min_hits {
                self.confirm(i, t);
            }
        }

        // Births from the remaining high detections.
        for (i, d) in dets.iter().enumerate() {
            if self.taken[i] || !valid[i] || d.confidence < self.config.new_track_threshold {
                continue;
            }
            if d.confidence < high {
                continue;
            }
            // Against every confirmed track: also one that just missed its match because this
            // detection's label flickered (per-class mode).
            let key = self.class_keys[i];
            let duplicate = self.tracks.iter().any(|tr| {
                let limit = if tr.class_key == key {
                    DUPLICATE_IOU
                } else {
                    DUPLICATE_IOU_OTHER_CLASS
                };
                tr.is_confirmed()
                    && match tr.detection {
                        Some(j) => dets[j].bbox.iou(&d.bbox) >= limit,
                        None => tr.kf.bbox().iou(&d.bbox) >= limit,
                    }
            });
            if duplicate {
                continue;
            }
            if self.tracks.len() >= self.config.max_tracks.max(1) && !self.evict(t) {
                self.stats.refused += 1;
                continue;
            }
            let mut votes = LabelVotes::default();
            let label = self.intern(d.label);
            votes.add(d.label, d.label_id, d.confidence, || label);
            let t0 = self.config.frame_period.max(1) as f64 * 1e-9;
            let mut tr = Track::new(d.bbox, d.confidence, self.class_keys[i], votes, t, t0);
            tr.detection = Some(i);
            self.taken[i] = true;
            self.tracks.push(tr);
            let idx = self.tracks.len() - 1;
            if min_hits <= 1 || first_detection_frame {
                self.confirm(idx, t);
            }
        }

        // Motion states of the tracks seen now.
        let stop = self.config.stop_speed;
        let mut motion = Vec::new();
        for tr in &mut self.tracks {
            if tr.status == Status::Tracked && tr.detection.is_some() {
                if let Some(kind) = tr.motion.update(tr.relative_speed(), stop, t) {
                    motion.push((tr.id.unwrap_or(0), kind));
                }
            }
        }
        motion.sort_by_key(|m| m.0);
        for (id, kind) in motion {
            if let Some(tr) = self.tracks.iter().find(|tr| tr.id == Some(id)) {
                let e = self.event(tr, kind, t, None);
                self.output.events.push(e);
            }
        }
    }

    /// Applies matched `(track, detection)` pairs.
    fn apply(&mut self, pairs: &[(usize, usize)], dets: &[Observation<'_>], t: u64) {
        for &(ti, di) in pairs {
            let d = &dets[di];
            let label = self.intern(d.label);
            let tr = &mut self.tracks[ti];
            tr.observe(d.bbox, d.confidence, t);
            tr.votes.add(d.label, d.label_id, d.confidence, || label);
            tr.detection = Some(di);
            self.taken[di] = true;
        }
    }

    fn confirm(&mut self, i: usize, t: u64) {
        let id = self.next_id;
        self.next_id += 1;
        self.stats.ids += 1;
        let tr = &mut self.tracks[i];
        tr.id = Some(id);
        tr.status = Status::Tracked;
        let e = self.event(&self.tracks[i], EventKind::Entry, t, None);
        self.output.events.push(e);
    }

    /// Removes tracks (indices into `self.tracks`), with `exit` events for confirmed ones.
    fn remove(&mut self, mut ended: Vec<(usize, ExitReason)>, t: u64) {
        if ended.is_empty() {
            return;
        }
        ended.sort_by_key(|e| self.tracks[e.0].id.unwrap_or(u64::MAX));
        let mut exits = Vec::new();
        for &(i, reason) in &ended {
            let tr = &self.tracks[i];
            if tr.is_confirmed() {
                exits.push(self.event(tr, EventKind::Exit, t, Some(reason)));
            } else {
                self.stats.discarded_tentative += 1;
            }
        }
        let mut gone = vec![false; self.tracks.len()];
        for &(i, _) in &ended {
            gone[i] = true;
        }
        let mut k = 0;
        self.tracks.retain(|_| {
            k += 1;
            !gone[k - 1]
        });
        self.output.events.extend(exits);
    }

    /// Makes room by removing the lost track seen longest ago; false when none is lost.
    fn evict(&mut self, t: u64) -> bool {
        let victim = self
            .tracks
            .iter()
            .enumerate()
            .filter(|(_, tr)| tr.status == Status::Lost)
            .min_by_key(|(_, tr)| tr.last_seen)
            .map(|(i, _)| i);
        match victim {
            Some(i) => {
                self.stats.evicted += 1;
                self.remove(vec![(i, ExitReason::Evicted)], t);
                true
            }
            None => false,
        }
    }

    fn predict_frame(&mut self, t: u64) {
        // A detector that stopped running (stalled, server away) must not leave ghosts
        // sliding forever: tracks end after the lost time here too.
        let lost_time = self.lost_time();
        let stopped_lost_time = self.config.stopped_lost_time;
        let ended: Vec<(usize, ExitReason)> = self
            .tracks
            .iter()
            .enumerate()
            .filter(|(_, tr)| {
                t.saturating_sub(tr.last_seen)
                    > Self::lost_time_of(tr, lost_time, stopped_lost_time)
            })
            .map(|(i, _)| (i, ExitReason::Lost))
            .collect();
        self.remove(ended, t);
    }

    fn write_output(&mut self, t: u64, detections: Option<&[Observation<'_>]>) {
        let coast = self.coast_time();
        let frame = self.config.frame_size;
        let mut predicted = Vec::new();
        for tr in &self.tracks {
            let Some(id) = tr.id else { continue };
            let (label, label_id) = tr.votes.best();
            if let (Some(di), Some(dets)) = (tr.detection, detections) {
                let d = &dets[di];
                self.output.objects.push(TrackedObject {
                    id,
                    detection: Some(di),
                    bbox: d.bbox,
                    label: label.clone(),
                    label_id,
                    confidence: d.confidence,
                    predicted: false,
                    frames_ago: 0,
                    lost: false,
                    hits: tr.hits,
                    first_seen: tr.first_seen,
                    last_seen: tr.last_seen,
                    velocity: tr.kf.velocity(),
                    filtered: tr.kf.bbox(),
                });
                continue;
            }
            let show = match tr.status {
                Status::Tracked => true,
                Status::Lost => t.saturating_sub(tr.last_seen) <= coast,
                Status::Tentative => false,
            };
            let bbox = tr.kf.bbox();
            let inside =
                frame.is_none_or(|(w, h)| bbox.visible_fraction(w, h) >= MIN_VISIBLE_FRACTION);
            if show && inside && bbox.is_finite() {
                predicted.push(TrackedObject {
                    id,
                    detection: None,
                    bbox,
                    label: label.clone(),
                    label_id,
                    confidence: tr.last_confidence,
                    predicted: true,
                    frames_ago: tr.frames_ago,
                    lost: tr.status == Status::Lost,
                    hits: tr.hits,
                    first_seen: tr.first_seen,
                    last_seen: tr.last_seen,
                    velocity: tr.kf.velocity(),
                    filtered: bbox,
                });
            }
        }
        self.output
            .objects
            .sort_by_key(|o| o.detection.unwrap_or(usize::MAX));
        predicted.sort_by_key(|o| o.id);
        self.output.objects.extend(predicted);
        if let Some(dets) = detections {
            let mut output_det = vec![false; dets.len()];
            for o in &self.output.objects {
                if let Some(d) = o.detection {
                    output_det[d] = true;
                }
            }
            self.output
                .untracked
                .extend((0..dets.len()).filter(|&i| !output_det[i]));
        }
        // Exits first, then entries, then motion changes; by id within each.
        self.output.events.sort_by_key(|e| {
            (
                match e.kind {
                    EventKind::Exit => 0,
                    EventKind::Entry => 1,
                    _ => 2,
                },
                e.id,
            )
        });
    }

    /// Ends every track (flush, end of stream, new stream, stop) and returns their `exit`
    /// events (reason [`ExitReason::Reset`]). Ids keep counting from where they were.
    pub fn end_all(&mut self) -> Vec<Event> {
        let t = self.last_time.unwrap_or(0);
        let mut events: Vec<Event> = self
            .tracks
            .iter()
            .filter(|tr| tr.is_confirmed())
            .map(|tr| self.event(tr, EventKind::Exit, t, Some(ExitReason::Reset)))
            .collect();
        events.sort_by_key(|e| e.id);
        self.stats.discarded_tentative +=
            self.tracks.iter().filter(|t| !t.is_confirmed()).count() as u64;
        self.tracks.clear();
        self.last_time = None;
        self.last_detection_time = None;
        self.detection_period = None;
        events
    }

    /// The frame size changed from `old` to `new` (pixels): tracks are scaled with it.
    pub fn rescale(&mut self, old: (f64, f64), new: (f64, f64)) {
        if old.0 <= 0.0 || old.1 <= 0.0 {
            return;
        }
        let (sx, sy) = (new.0 / old.0, new.1 / old.1);
        let scale = |b: &BBox| BBox {
            x1: b.x1 * sx,
            y1: b.y1 * sy,
            x2: b.x2 * sx,
            y2: b.y2 * sy,
        };
        for tr in &mut self.tracks {
            tr.kf.scale_all(sx, sy);
            tr.snapshot.scale_all(sx, sy);
            tr.last_obs = scale(&tr.last_obs);
        }
    }
}
