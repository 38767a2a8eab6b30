//! A source's life, without GStreamer: `connecting → live → (stalled | lost) →
//! reconnecting(n) → connecting → live`, `failed` after `max-attempts`, `ended` for a file
//! that finished. The runtime feeds it what it sees (first frame, time since the last
//! frame, errors and ends of stream) and does what the returned [`Step`] says.

use std::time::{Duration, Instant};

use crate::backoff::Backoff;
use crate::config::Reconnect;

#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// The pipeline is starting; no frame yet.
    Connecting { attempt: u32, since: Instant },
    /// Frames are flowing.
    Live { since: Instant },
    /// Waiting to try again.
    Reconnecting { attempt: u32, at: Instant },
    /// Gave up after `max-attempts`.
    Failed { attempts: u32 },
    /// A file source finished (or a source stopped at shutdown).
    Ended,
}

impl State {
    /// `connecting`, `live`, `reconnecting`, `failed`, `ended`.
    pub fn name(&self) -> &'static str {
        match self {
            State::Connecting { .. } => "connecting",
            State::Live { .. } => "live",
            State::Reconnecting { .. } => "reconnecting",
            State::Failed { .. } => "failed",
            State::Ended => "ended",
        }
    }
}

/// What the runtime must do after a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Build and start the pipeline (attempt n, 1-based).
    Start { attempt: u32 },
    /// The first frame arrived.
    Live,
    /// No frame for this long: tear down, then follow with the next step.
    Stalled(Duration),
    /// Tear down (if not already), wait this long, then start attempt n.
    Retry { wait: Duration, attempt: u32 },
    /// Tear down and stop for good.
    GiveUp { attempts: u32 },
}

#[derive(Debug)]
pub struct Machine {
    pub state: State,
    settings: Reconnect,
    backoff: Backoff,
    /// Times the source came back live after having been live before.
    pub reconnects: u32,
    was_live: bool,
    attempts: u32,
}

impl Machine {
    pub fn new(settings: Reconnect, seed: u64, now: Instant) -> Machine {
        Machine {
            state: State::Reconnecting {
                attempt: 1,
                at: now,
            },
            backoff: Backoff::new(settings.clone(), seed),
            settings,
            reconnects: 0,
            was_live: false,
            attempts: 0,
        }
    }

    /// Time passes: starts due attempts, notices stalls, connect timeouts and health.
    /// `last_frame` is the time since the last frame of the current pipeline (`None`:
    /// none yet).
    pub fn tick(&mut self, now: Instant, last_frame: Option<Duration>) -> Option<Step> {
        match self.state.clone() {
            State::Reconnecting { attempt, at } if now >= at => {
                self.attempts = attempt;
                self.state = State::Connecting {
                    attempt,
                    since: now,
                };
                Some(Step::Start { attempt })
            }
            State::Connecting { since, .. } => {
                if last_frame.is_some() {
                    if self.was_live {
                        self.reconnects += 1;
                    }
                    self.was_live = true;
                    self.state = State::Live { since: now };
                    Some(Step::Live)
                } else if now.duration_since(since) >= self.settings.connect_timeout {
                    Some(self.lost(now))
                } else {
                    None
                }
            }
            State::Live { since } => {
                if now.duration_since(since) >= self.settings.healthy_after {
                    self.backoff.reset();
                }
                match last_frame {
                    Some(gap) if gap >= self.settings.stall_timeout => {
                        let next = self.lost(now);
                        Some(match next {
                            Step::Retry { .. } => Step::Stalled(gap),
                            other => other,
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The pipeline failed or its stream ended: schedule the next attempt (or give up).
    pub fn lost(&mut self, now: Instant) -> Step {
        if let State::Live { since } = self.state {
            if now.duration_since(since) >= self.settings.healthy_after {
                self.backoff.reset();
            }
        }
        match self.backoff.fail() {
            Some(wait) => {
                let attempt = self.attempts + 1;
                self.state = State::Reconnecting {
                    attempt,
                    at: now + wait,
                };
                Step::Retry { wait, attempt }
            }
            None => {
                self.state = State::Failed {
                    attempts: self.attempts,
                };
                Step::GiveUp {
                    attempts: self.attempts,
                }
            }
        }
    }

    /// When the pending retry is due (for a `Stalled` step's log line).
    pub fn retry_in(&self, now: Instant) -> Option<(Duration, u32)> {
        match self.state {
            State::Reconnecting { attempt, at } => {
                Some((at.saturating_duration_since(now), attempt))
            }
            _ => None,
        }
    }

    /// The source finished for good (end of a file, shutdown).
    pub fn end(&mut self) {
        self.state = State::Ended;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Reconnect {
        Reconnect {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            jitter: 0.0,
            stall_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            healthy_after: Duration::from_secs(30),
            ..Reconnect::default()
        }
    }

    #[test]
    fn connects_goes_live_stalls_and_backs_off() {
        let t = Instant::now();
        let s = |secs: u64| t + Duration::from_secs(secs);
        let mut m = Machine::new(settings(), 1, t);
        assert_eq!(m.tick(t, None), Some(Step::Start { attempt: 1 }));
        assert_eq!(m.tick(s(1), None), None);
        assert_eq!(m.tick(s(2), Some(Duration::ZERO)), Some(Step::Live));
        assert_eq!(m.tick(s(5), Some(Duration::from_secs(3))), None);
        assert_eq!(
            m.tick(s(8), Some(Duration::from_secs(6))),
            Some(Step::Stalled(Duration::from_secs(6)))
        );
        assert_eq!(m.retry_in(s(8)), Some((Duration::from_secs(1), 2)));
        assert_eq!(m.tick(s(9), None), Some(Step::Start { attempt: 2 }));
        // Down: every failure doubles the wait.
        assert_eq!(
            m.lost(s(9)),
            Step::Retry {
                wait: Duration::from_secs(2),
                attempt: 3
            }
        );
        assert_eq!(m.tick(s(11), None), Some(Step::Start { attempt: 3 }));
        assert_eq!(
            m.lost(s(11)),
            Step::Retry {
                wait: Duration::from_secs(4),
                attempt: 4
            }
        );
        assert_eq!(m.tick(s(15), None), Some(Step::Start { attempt: 4 }));
        assert_eq!(m.tick(s(16), Some(Duration::ZERO)), Some(Step::Live));
        assert_eq!(m.reconnects, 1);
        // Healthy for healthy-after: the next failure waits initial-delay again.
        assert_eq!(m.tick(s(50), Some(Duration::ZERO)), None);
        assert_eq!(
            m.lost(s(50)),
            Step::Retry {
                wait: Duration::from_secs(1),
                attempt: 5
            }
        );
    }

    #[test]
    fn connect_timeout_and_give_up() {
        let t = Instant::now();
        let mut m = Machine::new(
            Reconnect {
                max_attempts: 2,
                ..settings()
            },
            1,
            t,
        );
        assert_eq!(m.tick(t, None), Some(Step::Start { attempt: 1 }));
        assert_eq!(
            m.tick(t + Duration::from_secs(10), None),
            Some(Step::Retry {
                wait: Duration::from_secs(1),
                attempt: 2
            })
        );
        assert_eq!(
            m.tick(t + Duration::from_secs(11), None),
            Some(Step::Start { attempt: 2 })
        );
        assert_eq!(
            m.lost(t + Duration::from_secs(12)),
            Step::GiveUp { attempts: 2 }
        );
        assert_eq!(m.state.name(), "failed");
    }
}
