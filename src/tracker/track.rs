//! One track: its motion filter, its label vote, its lifecycle state and its motion state.

use std::sync::Arc;

use super::geometry::BBox;
use super::kalman::Kalman;
use super::EventKind;

/// Where a track is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Seen on fewer than `min-hits` detection frames: no id, never output.
    Tentative,
    /// Matched on the latest detection frame.
    Tracked,
    /// Missed on the latest detection frame(s); keeps its id until `lost-track-time`.
    Lost,
}

/// How much older votes count against a new one (an effective memory of ~50 detections).
const VOTE_DECAY: f64 = 0.98;
/// Labels a track remembers votes for.
const MAX_VOTES: usize = 4;

/// Confidence-weighted, slowly forgetting vote over a track's labels: one frame of label
/// flicker (`car` seen as `truck`) does not change the track's label.
#[derive(Debug, Clone, Default)]
pub struct LabelVotes {
    votes: Vec<(Arc<str>, i32, f64)>,
}

impl LabelVotes {
    pub fn add(
        &mut self,
        label: &str,
        label_id: i32,
        weight: f64,
        intern: impl FnOnce() -> Arc<str>,
    ) {
        let weight = if weight.is_finite() {
            weight.max(1e-3)
        } else {
            1e-3
        };
        for v in &mut self.votes {
            v.2 *= VOTE_DECAY;
        }
        if let Some(v) = self
            .votes
            .iter_mut()
            .find(|v| v.1 == label_id && &*v.0 == label)
        {
            v.2 += weight;
            return;
        }
        if self.votes.len() >= MAX_VOTES {
            // Forget the weakest label.
            let (i, _) = self
                .votes
                .iter()
                .enumerate()
                .min_by(|a, b| a.1 .2.total_cmp(&b.1 .2))
                .expect("votes are not empty");
            self.votes.swap_remove(i);
        }
        self.votes.push((intern(), label_id, weight));
    }

    /// The winning label and class id (the first label seen wins ties).
    pub fn best(&self) -> (&Arc<str>, i32) {
        let mut best = &self.votes[0];
        for v in &self.votes[1..] {
            if v.2 > best.2 {
                best = v;
            }
        }
        (&best.0, best.1)
    }
}

/// Motion state changes need the new speed to hold this long (hysteresis in time).
const MOTION_HOLD: u64 = 500_000_000;
/// `moving` needs this many times the stop speed (hysteresis in speed).
const MOVING_FACTOR: f64 = 2.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotionState {
    Unknown,
    Moving,
    Stopped,
}

/// The moving/stopped state with hysteresis in speed and in time.
#[derive(Debug, Clone, Copy)]
pub struct Motion {
    pub state: MotionState,
    pending: Option<(MotionState, u64)>,
}

impl Default for Motion {
    fn default() -> Self {
        Motion {
            state: MotionState::Unknown,
            pending: None,
        }
    }
}

impl Motion {
    /// Feeds the speed (box sizes per second) at time `t`; returns the event of a change.
    pub fn update(&mut self, speed: f64, stop_speed: f64, t: u64) -> Option<EventKind> {
        let candidate = if speed < stop_speed {
            Some(MotionState::Stopped)
        } else if speed > MOVING_FACTOR * stop_speed {
            Some(MotionState::Moving)
        } else {
            None
        };
        match candidate {
            Some(c) if c != self.state => match self.pending {
                Some((p, since)) if p == c => {
                    if t.saturating_sub(since) >= MOTION_HOLD {
                        self.state = c;
                        self.pending = None;
                        return Some(match c {
                            MotionState::Moving => EventKind::Moving,
                            _ => EventKind::Stopped,
                        });
                    }
                }
                _ => self.pending = Some((c, t)),
            },
            _ => self.pending = None,
        }
        None
    }
}

/// One track.
#[derive(Debug, Clone)]
pub struct Track {
    /// Public id, given at confirmation.
    pub id: Option<u64>,
    pub status: Status,
    pub kf: Kalman,
    /// The time the filter state refers to.
    pub kf_time: u64,
    /// The filter right after its last observation (replayed when a lost track is found
    /// again, OC-SORT's observation-centric re-update).
    pub snapshot: Kalman,
    pub last_obs: BBox,
    pub last_confidence: f64,
    /// Which detections it may take (see [`super::config::ClassKeys`]).
    pub class_key: u32,
    pub votes: LabelVotes,
    /// Detection frames it was matched on.
    pub hits: u32,
    /// Consecutive detection frames it was not matched on.
    pub missed: u32,
    /// Buffers since its last match.
    pub frames_ago: u32,
    pub first_seen: u64,
    /// Time of its last match.
    pub last_seen: u64,
    pub motion: Motion,
    /// The detection it matched on this frame.
    pub detection: Option<usize>,
}

impl Track {
    pub fn new(
        bbox: BBox,
        confidence: f64,
        class_key: u32,
        votes: LabelVotes,
        t: u64,
        t0: f64,
    ) -> Self {
        let kf = Kalman::new(&bbox, t0);
        Track {
            id: None,
            status: Status::Tentative,
            kf,
            kf_time: t,
            snapshot: kf,
            last_obs: bbox,
            last_confidence: confidence,
            class_key,
            votes,
            hits: 1,
            missed: 0,
            frames_ago: 0,
            first_seen: t,
            last_seen: t,
            motion: Motion::default(),
            detection: None,
        }
    }

    pub fn is_confirmed(&self) -> bool {
        self.status != Status::Tentative
    }

    /// Moves the filter to time `t`.
    pub fn predict_to(&mut self, t: u64) {
        if t > self.kf_time {
            self.kf.predict((t - self.kf_time) as f64 * 1e-9);
            self.kf_time = t;
        }
    }

    /// Takes the observation `bbox` at time `t` (the filter is already predicted to `t`).
    /// After missed detection frames, the filter is rebuilt from its state at the last
    /// observation through evenly spaced virtual observations on the straight line to this
    /// one, so the velocity after an occlusion is that of the gap, not of a prediction that
    /// drifted (OC-SORT's ORU).
    pub fn observe(&mut self, bbox: BBox, confidence: f64, t: u64) {
        if self.missed > 0 && t > self.last_seen {
            let steps = u64::from(self.missed) + 1;
            let mut kf = self.snapshot;
            let t_last = self.last_seen;
            let span = t - t_last;
            let mut prev = t_last;
            for i in 1..steps {
                let ti = t_last + span * i / steps;
                kf.predict((ti - prev) as f64 * 1e-9);
                kf.update(&self.last_obs.lerp(&bbox, i as f64 / steps as f64));
                prev = ti;
            }
            kf.predict((t - prev) as f64 * 1e-9);
            self.kf = kf;
        }
        self.kf.update(&bbox);
        self.kf_time = t;
        self.snapshot = self.kf;
        self.last_obs = bbox;
        self.last_confidence = confidence;
        self.hits = self.hits.saturating_add(1);
        self.missed = 0;
        self.frames_ago = 0;
        self.last_seen = t;
        if self.status == Status::Lost {
            self.status = Status::Tracked;
        }
    }

    /// Speed of the box centre in box sizes per second.
    pub fn relative_speed(&self) -> f64 {
        let (vx, vy) = self.kf.velocity();
        let b = self.kf.bbox();
        let size = (b.width() * b.height()).sqrt().max(1.0);
        vx.hypot(vy) / size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intern(s: &str) -> impl FnOnce() -> Arc<str> + '_ {
        move || Arc::from(s)
    }

    #[test]
    fn single_frames_of_flicker_do_not_change_the_label() {
        let mut v = LabelVotes::default();
        for i in 0..100 {
            let (l, id) = if i % 10 == 3 {
                ("truck", 7)
            } else {
                ("car", 2)
            };
            v.add(l, id, 0.8, intern(l));
            if i > 0 {
                assert_eq!(&**v.best().0, "car", "frame {i}");
            }
        }
        // A lasting change wins eventually.
        for _ in 0..200 {
            v.add("truck", 7, 0.8, intern("truck"));
        }
        assert_eq!(v.best(), (&Arc::from("truck"), 7));
    }

    #[test]
    fn votes_stay_bounded() {
        let mut v = LabelVotes::default();
        for i in 0..1000 {
            let l = format!("l{i}");
            v.add(&l, i, 0.5, || Arc::from(l.as_str()));
        }
        assert!(v.votes.len() <= MAX_VOTES);
    }

    #[test]
    fn motion_needs_the_speed_to_hold() {
        let mut m = Motion::default();
        let ms = 1_000_000;
        // Moving for 400 ms: not yet.
        assert_eq!(m.update(1.0, 0.1, 0), None);
        assert_eq!(m.update(1.0, 0.1, 400 * ms), None);
        assert_eq!(m.update(1.0, 0.1, 500 * ms), Some(EventKind::Moving));
        // A dip below the stop speed shorter than the hold time changes nothing.
        assert_eq!(m.update(0.05, 0.1, 600 * ms), None);
        assert_eq!(m.update(1.0, 0.1, 700 * ms), None);
        assert_eq!(m.update(0.05, 0.1, 800 * ms), None);
        // Inside the hysteresis band (0.1..0.2) nothing happens however long.
        assert_eq!(m.update(0.15, 0.1, 900 * ms), None);
        assert_eq!(m.update(0.15, 0.1, 5000 * ms), None);
        assert_eq!(m.state, MotionState::Moving);
        assert_eq!(m.update(0.05, 0.1, 6000 * ms), None);
        assert_eq!(m.update(0.05, 0.1, 6500 * ms), Some(EventKind::Stopped));
    }
}
