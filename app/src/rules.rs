//! Local recording rules: when a source's own detections start and stop a clip.
//!
//! A rule (`[[record.rules]]`) says "record `pre` before to `post` after an object of
//! `label` is seen for `min-duration`". This module is the decision logic only, without
//! GStreamer: [`RuleEngine`] is fed each analysed frame's objects with the frame's running
//! time and answers with [`Action`]s; `recorder.rs` turns them into `rssmartrecord`'s action
//! signals.
//!
//! ## Semantics
//!
//! - **Match.** An object matches a rule when its label equals `label` and its confidence
//!   is at least `min-confidence`. Objects below the confidence or of another label are
//!   ignored by that rule as if they were not there.
//! - **Time in view.** With a tracker (objects carry track ids), time in view is counted per
//!   track: a track's first matching sighting starts it, every later matching sighting
//!   extends it, and a track not seen (or not matching) for more than [`GAP`] (1 s) starts
//!   over. rstracker keeps reporting a track on the frames the detector skipped and for its
//!   `coast-time` after a miss (its predicted boxes, which count as sightings), so a track
//!   the tracker still reports is in view. Two objects in view half a second each never add
//!   up to one second; a tracker that gives one object a new id starts its time again.
//!   Without a tracker (objects without ids) the presence of any matching object counts,
//!   with the same 1 s gap tolerance.
//! - **Start.** The rule fires on a frame where one track (or, untracked, the presence) is
//!   seen and has been in view for `min-duration` (from its first matching sighting to
//!   this one); with several, the one in view longest. Firing at
//!   running time `T` for a track first seen at `t0` asks for a clip from `t0 - pre`:
//!   `start-recording(seconds_before_now = T - t0 + pre, duration_s)`, where `duration_s`
//!   is the clip limit (the element's `max-duration`), so the clip goes on until this
//!   engine stops it. A clip never starts before this rule's previous clip ended (a rule
//!   records no frame twice), and the element limits pre-roll to its `cache-size`.
//! - **Extend.** While any object matching the rule is seen (any track, also one that has
//!   not been in view for `min-duration`) the clip goes on.
//! - **Stop.** The clip ends `post` after the last matching object was last seen: at the
//!   first frame at or after that time the engine answers [`Action::Stop`]
//!   (`stop-recording(session)`).
//! - **Cooldown.** After a clip of a rule ended, the rule starts no new clip within
//!   `cooldown` (time in view still accumulates meanwhile; when the cooldown is over, a
//!   track that has been in view long enough starts a clip at once).
//! - **Clips ended by the element.** When `max-duration` (or EOS, a flush, a full disk)
//!   ends a session first, the element posts `rssmartrecord-done` and the engine is told
//!   ([`RuleEngine::session_done`]): the rule is idle again, and if objects still match a
//!   new clip starts (subject to `cooldown`) where the previous one ended.
//! - **Several rules** on a source are independent. `rssmartrecord` writes one clip at a
//!   time: a start while it records extends that clip and returns its session id, so rules
//!   firing together share one clip. The engine knows which rules hold which session: a
//!   rule that is done with a clip another rule still holds only leaves it
//!   ([`Action::Leave`]); the last rule holding it stops it. Stops are answered before
//!   starts, so a rule firing on the frame another one stops gets a clip of its own with
//!   its own pre-roll. A rule joining a clip cannot move its start earlier (the element
//!   only extends the end), so its pre-roll is what that clip already has.
//!   The element cannot tell its requesters apart: a clip asked for by a remote (Kafka)
//!   command that a rule joins, or that joins a rule's clip, ends when the rule stops it.
//! - **Refused starts** (session 0: no video or caps yet, the clip directory missing or
//!   unwritable) are retried on the next frame at least [`RETRY`] (1 s) later; the caller
//!   logs the first refusal of a series only.
//! - **Time base.** The buffers' running time, never the wall clock, so files and live
//!   sources behave the same. Running time that goes backwards (a flushing seek) shifts
//!   every stored time by the jump; a jump forwards is a gap (tracks end, a clip stops).
//!   A reconnected source is a new pipeline and gets a new engine.
//! - **EOS** needs nothing: `rssmartrecord` finalises its open clip itself.
//!
//! Memory is bounded: per-track state is dropped [`GAP`] after a track was last seen, and
//! at most [`MAX_TRACKS`] tracks per rule are followed (the least recently seen gives way).

use std::cmp::Reverse;
use std::collections::{HashMap, VecDeque};

use crate::config::Rule;

/// Longest time a track (or the untracked presence) may go unseen and still be in view.
pub const GAP: u64 = 1_000_000_000;
/// Shortest time between two attempts of a refused start.
pub const RETRY: u64 = 1_000_000_000;
/// Tracks followed per rule at most.
pub const MAX_TRACKS: usize = 1024;
/// `duration_s` of a start when the caller gives no clip limit: `rssmartrecord`'s
/// default `max-duration`.
pub const DEFAULT_CLIP_LIMIT_S: f64 = 600.0;
/// Sessions remembered: those done (for a completion that overtakes its start's answer)
/// and the rules of each (for the clip's log line, which comes after its completion).
const REMEMBERED: usize = 16;

/// One object on an analysed frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen<'a> {
    /// The tracker's id; `None` for an untracked object.
    pub track_id: Option<u64>,
    pub label: &'a str,
    pub confidence: f64,
}

/// What the caller does for the engine, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `start-recording(seconds_before_now, duration_s)`, then [`RuleEngine::started`] with
    /// the session id it returned.
    Start {
        rule: usize,
        seconds_before_now: f64,
        duration_s: f64,
        /// Running time the clip is asked to start from (`first_seen - pre`, or the end of
        /// the rule's previous clip when that is later).
        from_ns: u64,
        /// When the track that fired was first seen.
        first_seen_ns: u64,
        /// The track that fired (`None`: untracked objects).
        track: Option<u64>,
    },
    /// `stop-recording(session)`: the rule is done and no other rule holds the clip.
    Stop {
        rule: usize,
        session: u32,
        /// When the last matching object was last seen.
        last_seen_ns: u64,
    },
    /// The rule is done with `session`, which goes on for another rule: nothing to emit.
    Leave {
        rule: usize,
        session: u32,
        last_seen_ns: u64,
    },
}

/// One track's (or the untracked presence's) time in view.
#[derive(Debug, Clone, Copy)]
struct Presence {
    first: u64,
    last: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Idle,
    /// A start was answered; waiting for [`RuleEngine::started`].
    Starting,
    Recording(u32),
}

#[derive(Debug)]
struct RuleState {
    rule: Rule,
    min_duration: u64,
    pre: u64,
    post: u64,
    cooldown: u64,
    /// By track id; `None` is the untracked presence.
    tracks: HashMap<Option<u64>, Presence>,
    /// Latest matching sighting of any object.
    last_match: Option<u64>,
    phase: Phase,
    /// No start before this (cooldown).
    not_before: u64,
    /// No retry of a refused start before this.
    retry_at: u64,
    /// Where this rule's previous clip ended.
    prev_end: Option<u64>,
}

fn ns(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

impl RuleState {
    fn new(rule: Rule) -> Self {
        RuleState {
            min_duration: ns(rule.min_duration),
            pre: ns(rule.pre),
            post: ns(rule.post),
            cooldown: ns(rule.cooldown),
            rule,
            tracks: HashMap::new(),
            last_match: None,
            phase: Phase::Idle,
            not_before: 0,
            retry_at: 0,
            prev_end: None,
        }
    }

    /// Records this frame's matching objects and forgets tracks gone for longer than [`GAP`].
    fn observe(&mut self, now: u64, objects: &[Seen]) {
        let (label, min_confidence) = (self.rule.label.as_str(), self.rule.min_confidence);
        let matching = objects
            .iter()
            .filter(|o| o.label == label && o.confidence >= min_confidence);
        for o in matching {
            self.last_match = Some(now);
            let p = self.tracks.entry(o.track_id).or_insert(Presence {
                first: now,
                last: now,
            });
            if now.saturating_sub(p.last) > GAP {
                p.first = now;
            }
            p.last = now;
        }
        self.tracks.retain(|_, p| now.saturating_sub(p.last) <= GAP);
        if self.tracks.len() > MAX_TRACKS {
            // The least recently seen go, and among those the latest to arrive.
            let mut order: Vec<_> = self
                .tracks
                .iter()
                .map(|(k, p)| (p.last, Reverse(p.first), *k))
                .collect();
            order.sort_unstable();
            for (_, _, k) in &order[..order.len() - MAX_TRACKS] {
                self.tracks.remove(k);
            }
        }
    }

    /// The track in view longest among those seen at `now` that have been in view for
    /// `min-duration`. (Only tracks seen now fire: a rule whose clip just stopped `post`
    /// after the last sighting does not start another for a track still within [`GAP`].)
    fn ready(&self, now: u64) -> Option<(Option<u64>, Presence)> {
        self.tracks
            .iter()
            .filter(|(_, p)| p.last == now && p.last - p.first >= self.min_duration)
            .min_by_key(|(k, p)| (p.first, **k))
            .map(|(k, p)| (*k, *p))
    }

    /// The clip ended (stopped, left or done) at `now`.
    fn ended(&mut self, now: u64) {
        self.phase = Phase::Idle;
        self.prev_end = Some(now);
        self.not_before = now.saturating_add(self.cooldown);
    }

    fn shift_back(&mut self, by: u64) {
        for p in self.tracks.values_mut() {
            p.first = p.first.saturating_sub(by);
            p.last = p.last.saturating_sub(by);
        }
        if let Some(t) = self.last_match.as_mut() {
            *t = t.saturating_sub(by);
        }
        if let Some(t) = self.prev_end.as_mut() {
            *t = t.saturating_sub(by);
        }
        self.not_before = self.not_before.saturating_sub(by);
        self.retry_at = self.retry_at.saturating_sub(by);
    }
}

/// The recording rules of one source (one pipeline).
#[derive(Debug)]
pub struct RuleEngine {
    rules: Vec<RuleState>,
    clip_limit_s: f64,
    /// Running time of the latest frame.
    now: Option<u64>,
    /// Sessions reported done lately.
    done: VecDeque<u32>,
    /// The latest sessions and the rules that recorded into them.
    held: VecDeque<(u32, Vec<usize>)>,
}

impl RuleEngine {
    pub fn new(rules: Vec<Rule>) -> Self {
        RuleEngine {
            rules: rules.into_iter().map(RuleState::new).collect(),
            clip_limit_s: DEFAULT_CLIP_LIMIT_S,
            now: None,
            done: VecDeque::new(),
            held: VecDeque::new(),
        }
    }

    /// Sets the `duration_s` of starts: the recorder's `max-duration` in seconds.
    pub fn with_clip_limit(mut self, seconds: f64) -> Self {
        if seconds.is_finite() && seconds > 0.0 {
            self.clip_limit_s = seconds;
        }
        self
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The rules that recorded into `session` (one of the latest few), in rule order; also
    /// after it is done.
    pub fn rules_of(&self, session: u32) -> Vec<usize> {
        self.held
            .iter()
            .find(|(s, _)| *s == session)
            .map(|(_, r)| r.clone())
            .unwrap_or_default()
    }

    /// Rule `index` as given to [`RuleEngine::new`].
    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index].rule
    }

    /// The session rule `index` is recording into, if any.
    #[cfg(test)]
    pub fn recording(&self, index: usize) -> Option<u32> {
        match self.rules[index].phase {
            Phase::Recording(s) => Some(s),
            _ => None,
        }
    }

    /// Tracks followed, over all rules.
    #[cfg(test)]
    pub fn tracks(&self) -> usize {
        self.rules.iter().map(|r| r.tracks.len()).sum()
    }

    /// One analysed frame at `running_time_ns` with its objects. Returns what to do now:
    /// stops and leaves first, then starts.
    pub fn on_frame(&mut self, running_time_ns: u64, objects: &[Seen]) -> Vec<Action> {
        let now = running_time_ns;
        if let Some(prev) = self.now {
            if now < prev {
                for r in &mut self.rules {
                    r.shift_back(prev - now);
                }
            }
        }
        self.now = Some(now);
        for r in &mut self.rules {
            r.observe(now, objects);
        }

        let mut actions = Vec::new();
        // Stops and leaves.
        for i in 0..self.rules.len() {
            let r = &self.rules[i];
            let Phase::Recording(session) = r.phase else {
                continue;
            };
            let last_seen = r.last_match.unwrap_or(0);
            if now < last_seen.saturating_add(r.post) {
                continue;
            }
            let shared = self
                .rules
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.phase == Phase::Recording(session));
            actions.push(if shared {
                Action::Leave {
                    rule: i,
                    session,
                    last_seen_ns: last_seen,
                }
            } else {
                Action::Stop {
                    rule: i,
                    session,
                    last_seen_ns: last_seen,
                }
            });
            self.rules[i].ended(now);
        }
        // Starts.
        for (i, r) in self.rules.iter_mut().enumerate() {
            if r.phase != Phase::Idle || now < r.not_before || now < r.retry_at {
                continue;
            }
            let Some((track, p)) = r.ready(now) else {
                continue;
            };
            let from = p
                .first
                .saturating_sub(r.pre)
                .max(r.prev_end.unwrap_or(0))
                .min(now);
            r.phase = Phase::Starting;
            actions.push(Action::Start {
                rule: i,
                seconds_before_now: secs(now - from),
                duration_s: self.clip_limit_s,
                from_ns: from,
                first_seen_ns: p.first,
                track,
            });
        }
        actions
    }

    /// The answer to rule `index`'s [`Action::Start`]: the session id, 0 when refused.
    pub fn started(&mut self, index: usize, session: u32) {
        let now = self.now.unwrap_or(0);
        if session != 0 {
            match self.held.iter_mut().find(|(s, _)| *s == session) {
                Some((_, rules)) => {
                    if !rules.contains(&index) {
                        rules.push(index);
                        rules.sort_unstable();
                    }
                }
                None => {
                    if self.held.len() == REMEMBERED {
                        self.held.pop_front();
                    }
                    self.held.push_back((session, vec![index]));
                }
            }
        }
        let r = &mut self.rules[index];
        if session == 0 {
            r.phase = Phase::Idle;
            r.retry_at = now.saturating_add(RETRY);
        } else if self.done.contains(&session) {
            // The clip ended before its start was answered.
            r.ended(now);
        } else {
            r.phase = Phase::Recording(session);
            r.retry_at = 0;
        }
    }

    /// `session` is finished (the element's `rssmartrecord-done`), whoever ended it.
    /// Repeated or unknown sessions are ignored.
    pub fn session_done(&mut self, session: u32) {
        if session == 0 || self.done.contains(&session) {
            return;
        }
        if self.done.len() == REMEMBERED {
            self.done.pop_front();
        }
        self.done.push_back(session);
        let now = self.now.unwrap_or(0);
        for r in &mut self.rules {
            if r.phase == Phase::Recording(session) {
                r.ended(now);
            }
        }
    }
}

/// The rules that apply to source `source_id` (those without `sources` apply to all).
pub fn for_source(rules: &[Rule], source_id: &str) -> Vec<Rule> {
    rules
        .iter()
        .filter(|r| {
            r.sources
                .as_ref()
                .is_none_or(|s| s.iter().any(|id| id == source_id))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
