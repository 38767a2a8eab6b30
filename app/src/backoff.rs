//! Exponential backoff with jitter for reconnecting a source: waits double (by
//! `multiplier`) from `initial-delay` up to `max-delay`, each drawn uniformly within
//! `±jitter` of its nominal value so cameras that failed together do not retry in lockstep,
//! and the sequence starts over once the source has been healthy for `healthy-after`.

use std::time::Duration;

use crate::config::Reconnect;

/// The wait before each attempt of one source.
#[derive(Debug, Clone)]
pub struct Backoff {
    settings: Reconnect,
    /// Failed attempts since the source was last healthy.
    failures: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(settings: Reconnect, seed: u64) -> Self {
        Backoff {
            settings,
            failures: 0,
            // xorshift must not start at 0.
            rng: seed | 1,
        }
    }

    /// The nominal (jitter-free) wait after `failures` consecutive failures (1 = first).
    pub fn nominal(&self, failures: u32) -> Duration {
        let s = &self.settings;
        let exp = failures.saturating_sub(1).min(64) as i32;
        let secs = s.initial_delay.as_secs_f64() * s.multiplier.max(1.0).powi(exp);
        Duration::from_secs_f64(secs.min(s.max_delay.as_secs_f64()).max(0.0))
    }

    /// Records a failure and returns how long to wait before the next attempt, or `None`
    /// when `max-attempts` (non-zero) failures in a row have been reached.
    pub fn fail(&mut self) -> Option<Duration> {
        self.failures = self.failures.saturating_add(1);
        let max = self.settings.max_attempts;
        if max > 0 && self.failures >= max {
            return None;
        }
        let nominal = self.nominal(self.failures).as_secs_f64();
        let jitter = self.settings.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + jitter * (2.0 * self.uniform() - 1.0);
        Some(Duration::from_secs_f64((nominal * factor).max(0.0)))
    }

    /// The source has been live for `healthy-after`: the next failure waits
    /// `initial-delay` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Uniform in [0, 1) (xorshift64*).
    fn uniform(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(jitter: f64, max_attempts: u32) -> Reconnect {
        Reconnect {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            multiplier: 2.0,
            jitter,
            max_attempts,
            ..Reconnect::default()
        }
    }

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(settings(0.0, 0), 7);
        let waits: Vec<u64> = (0..7).map(|_| b.fail().unwrap().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        b.reset();
        assert_eq!(b.fail(), Some(Duration::from_secs(1)));
    }

    #[test]
    fn jitter_stays_in_bounds_and_varies() {
        let mut b = Backoff::new(settings(0.2, 0), 42);
        let mut seen = Vec::new();
        for _ in 0..200 {
            b.reset();
            let w = b.fail().unwrap().as_secs_f64();
            assert!((0.8..=1.2).contains(&w), "{w}");
            seen.push(w);
        }
        let min = seen.iter().cloned().fold(f64::MAX, f64::min);
        let max = seen.iter().cloned().fold(f64::MIN, f64::max);
        assert!(max - min > 0.2, "jitter spreads the waits: {min}..{max}");
        // Two sources seeded differently do not retry in lockstep.
        let mut a = Backoff::new(settings(0.2, 0), 1);
        let mut c = Backoff::new(settings(0.2, 0), 2);
        assert_ne!(a.fail(), c.fail());
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let mut b = Backoff::new(settings(0.0, 3), 1);
        assert!(b.fail().is_some());
        assert!(b.fail().is_some());
        assert_eq!(b.fail(), None);
    }
}
