//! The per-track classification cache: when a tracked object is classified again, and which
//! result it shows in between.
//!
//! One [`TrackCache`] per element and stream. Objects carry the tracker's u64 ids; objects
//! without one are classified on every frame and never reach the cache.
//!
//! # When a track is classified ([`TrackCache::due`])
//! A track is due when it is new (no counted attempt yet), or when its last counted attempt
//! was a confident disagreement (see *Identity switches*), or when any of these holds since
//! its last counted attempt: `interval_frames` frames passed, `interval_ms` of stream time
//! passed, its box area grew by more than `growth` (DeepStream's rule, with its 20 %); and
//! in every case only while it has attempts left (`max_attempts`, Frigate's 16).
//! `interval_frames = 0` classifies a track on every frame until it has a published result
//! and never after (DL Streamer's `reclassify-interval=0`), whatever `interval_ms` and
//! `growth` say (only a disagreement, from an attempt the caller made anyway, makes it due
//! once more). An attempt whose inference failed or whose crop was empty is not counted: the
//! track stays due.
//!
//! # What a track shows ([`TrackCache::result`])
//! Every counted attempt whose top-1 confidence reaches `threshold` **votes** for its label
//! with its confidence; a weaker attempt is counted (interval, `max_attempts`) but votes for
//! nothing. A label's score is the sum of its votes' confidences; the **winner** is the label
//! with the highest score (the lowest id on ties); its confidence is the mean of its votes,
//! its agreement the share of the voting attempts that voted for it. The winner is
//! **published** once the track has at least `min_attempts` voting attempts and the winner's
//! agreement is at least `min_agreement` (Frigate: 3 attempts, 60 %).
//!
//! Once published, a result is never erased nor replaced by a weaker one (short of an
//! identity switch, below): a later weak attempt changes nothing, and a vote for another
//! label replaces the published label only when that label's score strictly exceeds the
//! published one's and it meets `min_agreement` itself. The published label's confidence,
//! votes and `frames_ago` follow its own votes. Compared with the others:
//! - DeepStream's secondary classifiers keep the **latest** result per track: a re-inference
//!   below `classifier-threshold` **erases** the label (`merge_classification_output`
//!   replaces the cached attributes wholesale), and one bad crop flips it;
//! - DL Streamer's `gvaclassify` also keeps the latest result (an LRU of 100 tracks, copied
//!   back with `frames_ago` on skipped frames);
//! - Frigate publishes after at least 3 attempts scoring at least 0.8 of which 60 % agree on
//!   the label (a vote by count), at most 16 attempts per object. Here the vote is weighted by
//!   confidence, the published result is sticky, and the numbers are settings.
//!
//! # Identity switches
//! A sticky result has one failure: a tracker that carries a track over onto another object
//! (a scene cut, a crossing) keeps showing the first object's label, since the old votes
//! outweigh the new object's. So, once a track has a published label (before that nothing
//! here applies), an attempt that votes (top-1 confidence at least `threshold`) for another
//! label is a **disagreement**:
//! - after a disagreement the track is due again on the very next frame, whatever
//!   `interval_frames`, `interval_ms` and `growth` say (but only with attempts left), so that
//!   a suspected switch is checked at once rather than an interval later;
//! - when `switch_after` voting attempts in a row are disagreements for one and the same
//!   label, the track is taken for a new object: its votes and its attempt count restart
//!   with those `switch_after` attempts only (weak attempts in between are not carried
//!   over), so the new object has its own `max_attempts` budget, and its result is published
//!   by the rules above (`min_attempts`, `min_agreement`; with the defaults at once), its
//!   confidence, votes and `frames_ago` from those attempts;
//! - a vote for the published label ends the run of disagreements, and a disagreement for
//!   yet another label starts a new run of 1 for that label; a disagreement that makes its
//!   label published by score (above) ends the run too;
//! - weak attempts neither extend nor end a run; they are counted attempts, so the track is
//!   due by its usual interval after one (a weak attempt right after a disagreement is the
//!   next-frame check, and the following check waits the interval); failed attempts are not
//!   counted at all and change nothing (a pending next-frame check stays due);
//! - until the switch, each disagreement also votes as any attempt does.
//!
//! `switch_after = 0` disables all of this (the rules as before: sticky for the whole
//! track). A track with no attempts left is never due, so a switch is not noticed after its
//! budget: with the defaults (16 attempts every 10 frames) about 5 s after the track
//! appeared, or after its last switch. Nor is it after publication with
//! `interval_frames = 0`, which never classifies a published track again.
//!
//! # `frames_ago`
//! The frames between the caller's `frame` and the latest attempt that voted for the
//! published label: 0 when an attempt on this very frame voted for it (in particular when a
//! vote on this frame published it), more when the result is served from the cache. It does
//! not count weak attempts nor votes for other labels: it says how old the evidence for the
//! shown label is. (A label published on this frame because a vote for *another* label
//! brought the voting attempts up to `min_attempts` shows the age of its own latest vote.)
//!
//! # Memory
//! At most `capacity` tracks, the least recently seen (by [`TrackCache::due`] or
//! [`TrackCache::record`]) dropped first; tracks not seen for `forget_after_frames` frames
//! are dropped by [`TrackCache::sweep`]; [`TrackCache::end`] drops a track the tracker ended.
//! A track keeps at most [`MAX_LABELS_PER_TRACK`] labels. Every operation is O(log n) in the
//! number of tracks. Frame numbers must not go backwards: after a flush or a seek, call
//! [`TrackCache::clear`].

use std::collections::{BTreeMap, HashMap};

use super::Classification;

// The defaults, also rsinfer's property defaults.
/// Re-infer a track every 10 frames: DeepStream's default never re-infers (`G_MAXINT`) and
/// DL Streamer's re-infers on every frame (1). At 30 fps, 10 frames are 3 attempts per second:
/// the 16 attempts last about 5 s, long enough for an object to come closer and for the vote
/// to settle, for a tenth of the cost of classifying every frame.
pub const DEFAULT_INTERVAL_FRAMES: u32 = 10;
/// Stream time is not used by default (frames are the unit of the other two engines).
pub const DEFAULT_INTERVAL_MS: u64 = 0;
/// DeepStream's `REINFER_AREA_THRESHOLD`: a box 20 % larger holds noticeably more detail.
pub const DEFAULT_GROWTH: f64 = 0.2;
/// Frigate's `MAX_OBJECT_CLASSIFICATIONS`: a track that stays for minutes costs nothing more
/// after 16 attempts.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 16;
/// Publish the first confident result at once, as DeepStream and DL Streamer do; Frigate's
/// stricter 3 delays every label and is one setting away.
pub const DEFAULT_MIN_ATTEMPTS: u32 = 1;
/// No agreement needed by default (with one attempt it is 100 % anyway).
pub const DEFAULT_MIN_AGREEMENT: f64 = 0.0;
/// A softmax top-1 at or above 0.5 outweighs all the other classes together: below it the
/// model hesitates. (DeepStream's default is 0, which keeps any arg-max; Frigate's is 0.8 for
/// its small custom models.)
pub const DEFAULT_THRESHOLD: f32 = 0.5;
/// Tracks kept per stream: as many as rstracker keeps at most (its `max-tracks` default),
/// ten times DL Streamer's LRU of 100.
pub const DEFAULT_CAPACITY: usize = 1000;
/// 10 s at 30 fps, 5 s at 60 fps: longer than rstracker keeps a lost (even a stopped) track's
/// id at those rates, so a track coming back still has its result. DeepStream drops entries
/// after 150 frames.
pub const DEFAULT_FORGET_AFTER_FRAMES: u64 = 300;

/// Labels kept per track; beyond it the weakest label that is not published is forgotten
/// (only when `max_attempts` is 0 or above this do tracks see so many labels).
pub const MAX_LABELS_PER_TRACK: usize = 32;

/// Two voting attempts in a row for one label other than the published one restart the track
/// as a new object: one disagreement can be a bad crop (the next-frame check settles it), two
/// that agree are a different object far more often than two bad crops that agree. The check
/// costs one attempt on the next frame, and only on tracks whose result is in question.
pub const DEFAULT_SWITCH_AFTER: u32 = 2;

/// Tolerance on the agreement ratio (3 votes of 5 agree at 0.6).
const AGREEMENT_EPSILON: f64 = 1e-9;

/// When tracks are classified again and when their results are published.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Re-infer a track when at least this many frames passed since its last attempt (0: on
    /// every frame until it has a published result, never after).
    pub interval_frames: u32,
    /// Or when at least this many milliseconds of stream time passed (0: unused).
    pub interval_ms: u64,
    /// Or when the box area grew by more than this fraction since the last attempt (0.2 =
    /// 20 %; 0: unused).
    pub growth: f64,
    /// Attempts per track at most (0: unlimited).
    pub max_attempts: u32,
    /// Voting attempts before a result is published (0 and 1: at once).
    pub min_attempts: u32,
    /// Share of the voting attempts that must have voted for the winner before it is
    /// published (0: none needed).
    pub min_agreement: f64,
    /// An attempt whose top-1 confidence is below this counts as an attempt but casts no
    /// vote (a confidence of 0 never votes).
    pub threshold: f32,
    /// Tracks kept at most (at least 1); the least recently seen is dropped beyond it.
    pub capacity: usize,
    /// A track not seen for this many frames is dropped by [`TrackCache::sweep`] (0: never).
    pub forget_after_frames: u64,
    /// Voting attempts in a row for one label other than the published one after which the
    /// track is taken for a new object and its votes and attempts restart (0: never).
    pub switch_after: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            interval_frames: DEFAULT_INTERVAL_FRAMES,
            interval_ms: DEFAULT_INTERVAL_MS,
            growth: DEFAULT_GROWTH,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            min_attempts: DEFAULT_MIN_ATTEMPTS,
            min_agreement: DEFAULT_MIN_AGREEMENT,
            threshold: DEFAULT_THRESHOLD,
            capacity: DEFAULT_CAPACITY,
            forget_after_frames: DEFAULT_FORGET_AFTER_FRAMES,
            switch_after: DEFAULT_SWITCH_AFTER,
        }
    }
}

/// A track's published classification.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attribute {
    pub label_id: usize,
    /// Mean confidence of the attempts that voted for the label.
    pub confidence: f32,
    /// Frames since the latest attempt that voted for the label (0: this frame).
    pub frames_ago: u64,
    /// Counted attempts on the track (voting or not), since its last identity switch.
    pub attempts: u32,
    /// Attempts that voted for the label.
    pub votes: u32,
}

/// The conditions of the last counted attempt.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    frame: u64,
    time_ms: Option<u64>,
    area: f64,
}

/// One label's votes on a track.
#[derive(Debug, Clone, Copy)]
struct Tally {
    label_id: usize,
    /// Sum of the votes' confidences.
    score: f64,
    votes: u32,
    /// Frame of the latest vote.
    last_vote: u64,
}

#[derive(Debug)]
struct Entry {
    /// Key in [`TrackCache::order`].
    stamp: u64,
    last_seen: u64,
    attempts: u32,
    voting: u32,
    last_attempt: Option<Attempt>,
    tallies: Vec<Tally>,
    /// Index in `tallies` of the published label.
    published: Option<usize>,
    /// The current run of disagreements: their label, the sum of their confidences, their
    /// number and the frame of the latest.
    run: Option<Tally>,
    /// The last counted attempt was a disagreement: due on the next frame.
    recheck: bool,
}

impl Entry {
    fn new(stamp: u64, frame: u64) -> Self {
        Entry {
            stamp,
            last_seen: frame,
            attempts: 0,
            voting: 0,
            last_attempt: None,
            tallies: Vec::new(),
            published: None,
            run: None,
            recheck: false,
        }
    }

    fn published_label(&self) -> Option<usize> {
        self.published.map(|i| self.tallies[i].label_id)
    }

    /// A counted attempt's vote (top-1 at or above the threshold): follows the run of
    /// disagreements, then votes or restarts the track as a new object.
    fn vote_or_switch(&mut self, label_id: usize, confidence: f64, frame: u64, policy: &Policy) {
        if policy.switch_after == 0 {
            self.run = None;
        } else if let Some(shown) = self.published_label() {
            if label_id == shown {
                self.run = None;
            } else {
                let mut run = match self.run {
                    Some(r) if r.label_id == label_id => r,
                    _ => Tally {
                        label_id,
                        score: 0.0,
                        votes: 0,
                        last_vote: frame,
                    },
                };
                run.score += confidence;
                run.votes = run.votes.saturating_add(1);
                run.last_vote = frame;
                if run.votes >= policy.switch_after {
                    self.restart(run, policy);
                    return;
                }
                self.run = Some(run);
                self.recheck = true;
            }
        }
        self.vote(label_id, confidence, frame, policy);
        if self
            .run
            .is_some_and(|r| Some(r.label_id) == self.published_label())
        {
            // The disagreement won on score: nothing left to check.
            self.run = None;
            self.recheck = false;
        }
    }

    /// A new object on the track: only the run's attempts are kept, as its votes.
    fn restart(&mut self, run: Tally, policy: &Policy) {
        self.attempts = run.votes;
        self.voting = run.votes;
        self.tallies.clear();
        self.tallies.push(run);
        self.published = None;
        self.run = None;
        self.recheck = false;
        self.decide(policy);
    }

    fn agreement(&self, t: &Tally) -> f64 {
        if self.voting == 0 {
            0.0
        } else {
            f64::from(t.votes) / f64::from(self.voting)
        }
    }

    /// Adds a vote, then publishes or replaces the published label as the rules say.
    fn vote(&mut self, label_id: usize, confidence: f64, frame: u64, policy: &Policy) {
        self.voting = self.voting.saturating_add(1);
        match self.tallies.iter_mut().find(|t| t.label_id == label_id) {
            Some(t) => {
                t.score += confidence;
                t.votes = t.votes.saturating_add(1);
                t.last_vote = frame;
            }
            None => {
                if self.tallies.len() >= MAX_LABELS_PER_TRACK {
                    self.forget_weakest();
                }
                self.tallies.push(Tally {
                    label_id,
                    score: confidence,
                    votes: 1,
                    last_vote: frame,
                });
            }
        }
        self.decide(policy);
    }

    fn forget_weakest(&mut self) {
        let weakest = self
            .tallies
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != self.published)
            .min_by(|a, b| a.1.score.total_cmp(&b.1.score))
            .map(|(i, _)| i);
        if let Some(i) = weakest {
            self.tallies.swap_remove(i);
            // swap_remove moved the last tally to `i`.
            if self.published == Some(self.tallies.len()) {
                self.published = Some(i);
            }
        }
    }

    fn decide(&mut self, policy: &Policy) {
        if self.voting < policy.min_attempts.max(1) {
            return;
        }
        // The winner: the highest score, the published label on ties, then the lowest id.
        let mut winner = self.published.unwrap_or(0);
        for (i, t) in self.tallies.iter().enumerate() {
            let w = &self.tallies[winner];
            let better = t.score > w.score
                || (t.score == w.score
                    && self.published != Some(winner)
                    && t.label_id < w.label_id);
            if better {
                winner = i;
            }
        }
        if self.published == Some(winner) {
            return;
        }
        let t = self.tallies[winner];
        if self.agreement(&t) + AGREEMENT_EPSILON >= policy.min_agreement {
            self.published = Some(winner);
        }
    }
}

/// Per-track classification results of one stream (see the module documentation).
#[derive(Debug)]
pub struct TrackCache {
    policy: Policy,
    entries: HashMap<u64, Entry>,
    /// Track ids by stamp, the least recently seen first.
    order: BTreeMap<u64, u64>,
    next_stamp: u64,
}

impl TrackCache {
    pub fn new(policy: Policy) -> Self {
        TrackCache {
            policy,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next_stamp: 0,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Replaces the policy (a property changed while playing); the tracks are kept.
    pub fn set_policy(&mut self, policy: Policy) {
        self.policy = policy;
        self.evict();
    }

    /// Whether the track needs an inference on this frame: it is new, or its last attempt
    /// disagreed with its published label, or its interval elapsed or its box grew, and it has
    /// attempts left. Marks the track seen.
    pub fn due(&mut self, track: u64, frame: u64, time_ms: Option<u64>, area: f64) -> bool {
        let p = self.policy.clone();
        let e = self.touch(track, frame);
        if p.max_attempts > 0 && e.attempts >= p.max_attempts {
            return false;
        }
        let Some(last) = e.last_attempt else {
            return true;
        };
        if e.recheck && p.switch_after > 0 {
            return true;
        }
        if p.interval_frames == 0 {
            return e.published.is_none();
        }
        if frame.saturating_sub(last.frame) >= u64::from(p.interval_frames) {
            return true;
        }
        if p.interval_ms > 0 {
            if let (Some(now), Some(then)) = (time_ms, last.time_ms) {
                if now.saturating_sub(then) >= p.interval_ms {
                    return true;
                }
            }
        }
        p.growth > 0.0 && grew(last.area, area, p.growth)
    }

    /// Records an attempt made on `frame` with the box area `area` (`None`: the inference
    /// failed or the crop was empty, which is not counted as an attempt). Marks the track
    /// seen.
    pub fn record(
        &mut self,
        track: u64,
        frame: u64,
        time_ms: Option<u64>,
        area: f64,
        result: Option<Classification>,
    ) {
        let p = self.policy.clone();
        let e = self.touch(track, frame);
        let Some(result) = result else {
            return;
        };
        e.attempts = e.attempts.saturating_add(1);
        e.last_attempt = Some(Attempt {
            frame,
            time_ms,
            area,
        });
        e.recheck = false;
        let confidence = result.confidence;
        if confidence.is_finite() && confidence > 0.0 && confidence >= p.threshold {
            e.vote_or_switch(result.label_id, f64::from(confidence), frame, &p);
        }
    }

    /// The published result of the track, as seen on `frame`.
    pub fn result(&self, track: u64, frame: u64) -> Option<Attribute> {
        let e = self.entries.get(&track)?;
        let t = e.tallies[e.published?];
        Some(Attribute {
            label_id: t.label_id,
            confidence: (t.score / f64::from(t.votes)) as f32,
            frames_ago: frame.saturating_sub(t.last_vote),
            attempts: e.attempts,
            votes: t.votes,
        })
    }

    /// Drops the track (the tracker said it ended).
    pub fn end(&mut self, track: u64) {
        if let Some(e) = self.entries.remove(&track) {
            self.order.remove(&e.stamp);
        }
    }

    /// Drops the tracks not seen for `forget_after_frames` frames; call once per frame.
    pub fn sweep(&mut self, frame: u64) {
        let forget = self.policy.forget_after_frames;
        if forget == 0 {
            return;
        }
        while let Some((_, &track)) = self.order.first_key_value() {
            let last_seen = self.entries[&track].last_seen;
            if frame.saturating_sub(last_seen) < forget {
                break;
            }
            self.end(track);
        }
    }

    /// Drops every track (flush, seek, new stream).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }

    /// Number of tracks kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Marks the track seen on `frame` (creating it), dropping the least recently seen track
    /// beyond capacity.
    fn touch(&mut self, track: u64, frame: u64) -> &mut Entry {
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        match self.entries.get_mut(&track) {
            Some(e) => {
                self.order.remove(&e.stamp);
                e.stamp = stamp;
                e.last_seen = frame;
            }
            None => {
                self.entries.insert(track, Entry::new(stamp, frame));
            }
        }
        self.order.insert(stamp, track);
        self.evict();
        self.entries
            .get_mut(&track)
            .expect("the newest track is never evicted")
    }

    fn evict(&mut self) {
        while self.entries.len() > self.policy.capacity.max(1) {
            let Some((_, track)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&track);
        }
    }
}

/// Whether the area grew by more than `growth` (a fraction) from `before` to `now`.
fn grew(before: f64, now: f64, growth: f64) -> bool {
    if !(before.is_finite() && now.is_finite()) {
        return false;
    }
    if before <= 0.0 {
        return now > 0.0;
    }
    now > before * (1.0 + growth)
}
