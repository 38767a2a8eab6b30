//! A backlog of the encoded stream made of whole GOPs, in running time.
//!
//! Items (buffers in the element, anything in the tests) are kept with their running time,
//! key-frame flag and size. The cache always starts on a key frame and holds the last
//! `max` nanoseconds rounded up to whole GOPs: the oldest GOP is dropped as soon as the
//! GOPs after it still cover `max`. So memory is bounded by `max` plus one GOP. A stream
//! that sends no key frame for more than twice `max` is dropped whole (nothing decodable
//! could be started from it within the window) and the cache waits for the next key frame.

use std::collections::VecDeque;

/// One cached item.
#[derive(Debug, Clone)]
pub struct Entry<T> {
    pub item: T,
    /// Running time of the item (ns).
    pub rt: u64,
    pub keyframe: bool,
    pub size: usize,
}

/// Where a clip starts in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartPoint {
    /// Index of the key frame in the cache.
    pub index: usize,
    /// Running time of that key frame.
    pub rt: u64,
    /// The requested start was older than the cache: the clip starts at the oldest key frame.
    pub truncated: bool,
}

#[derive(Debug)]
pub struct GopCache<T> {
    entries: VecDeque<Entry<T>>,
    /// Absolute sequence number of `entries[0]`.
    first_seq: u64,
    /// Absolute sequence numbers of the key frames in `entries`.
    keyframes: VecDeque<u64>,
    max: u64,
    bytes: usize,
}

impl<T> GopCache<T> {
    /// A cache holding the last `max` nanoseconds as whole GOPs.
    pub fn new(max: u64) -> Self {
        GopCache {
            entries: VecDeque::new(),
            first_seq: 0,
            keyframes: VecDeque::new(),
            max,
            bytes: 0,
        }
    }

    pub fn set_max(&mut self, max: u64) {
        self.max = max;
        self.trim();
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// Adds an item. Delta frames arriving before the first key frame are dropped (returns
    /// false): a clip cannot start from them.
    pub fn push(&mut self, item: T, rt: u64, keyframe: bool, size: usize) -> bool {
        if self.entries.is_empty() && !keyframe {
            return false;
        }
        let seq = self.first_seq + self.entries.len() as u64;
        if keyframe {
            self.keyframes.push_back(seq);
        }
        self.entries.push_back(Entry {
            item,
            rt,
            keyframe,
            size,
        });
        self.bytes += size;
        self.trim();
        true
    }

    fn newest_rt(&self) -> Option<u64> {
        self.entries.back().map(|e| e.rt)
    }

    fn drop_front_until(&mut self, seq: u64) {
        while self.first_seq < seq {
            match self.entries.pop_front() {
                Some(e) => {
                    self.bytes -= e.size;
                    self.first_seq += 1;
                }
                None => break,
            }
        }
        while self.keyframes.front().is_some_and(|k| *k < self.first_seq) {
            self.keyframes.pop_front();
        }
    }

    fn trim(&mut self) {
        let Some(newest) = self.newest_rt() else {
            return;
        };
        // Drop the oldest GOP while the GOPs after it still cover `max`.
        while self.keyframes.len() >= 2 {
            let second = self.keyframes[1];
            let second_rt = self.entries[(second - self.first_seq) as usize].rt;
            if newest.saturating_sub(second_rt) >= self.max {
                self.drop_front_until(second);
            } else {
                break;
            }
        }
        // One GOP longer than twice the window: nothing useful is left; start over.
        if self.keyframes.len() == 1 {
            let oldest = self.entries[0].rt;
            if newest.saturating_sub(oldest) > self.max.saturating_mul(2).max(1) {
                self.clear();
            }
        }
    }

    pub fn clear(&mut self) {
        self.first_seq += self.entries.len() as u64;
        self.entries.clear();
        self.keyframes.clear();
        self.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of the cached items (their `size`s).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of whole GOPs cached.
    pub fn gops(&self) -> usize {
        self.keyframes.len()
    }

    /// Running time between the oldest and the newest item.
    pub fn duration(&self) -> u64 {
        match (self.entries.front(), self.entries.back()) {
            (Some(a), Some(b)) => b.rt.saturating_sub(a.rt),
            _ => 0,
        }
    }

    pub fn oldest_rt(&self) -> Option<u64> {
        self.entries.front().map(|e| e.rt)
    }

    /// The key frame at or just before `rt`; the oldest key frame (flagged `truncated`) when
    /// `rt` is older than the cache. `None` when the cache is empty.
    pub fn start_point(&self, rt: u64) -> Option<StartPoint> {
        let mut best: Option<StartPoint> = None;
        for &seq in &self.keyframes {
            let index = (seq - self.first_seq) as usize;
            let krt = self.entries[index].rt;
            if krt <= rt || best.is_none() {
                best = Some(StartPoint {
                    index,
                    rt: krt,
                    truncated: krt > rt,
                });
            }
            if krt > rt {
                break;
            }
        }
        best
    }

    /// Items from `index` to the newest.
    pub fn iter_from(&self, index: usize) -> impl Iterator<Item = &Entry<T>> {
        self.entries.range(index.min(self.entries.len())..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000 * MS;

    /// Feeds `secs` seconds at `fps` with a key frame every `gop` frames, 100 bytes each.
    fn feed(cache: &mut GopCache<u64>, from_frame: u64, frames: u64, fps: u64, gop: u64) {
        for i in from_frame..from_frame + frames {
            cache.push(i, i * S / fps, i % gop == 0, 100);
        }
    }

    #[test]
    fn starts_on_a_keyframe() {
        let mut c = GopCache::new(5 * S);
        assert!(!c.push(0, 0, false, 10));
        assert!(c.is_empty());
        assert!(c.push(1, 10, true, 10));
        assert!(c.push(2, 20, false, 10));
        assert_eq!(c.len(), 2);
        assert!(c.iter_from(0).next().unwrap().keyframe);
    }

    #[test]
    fn keeps_whole_gops_covering_the_window() {
        // 25 fps, GOP of 50 frames (2 s), window 5 s, 30 s of stream.
        let mut c = GopCache::new(5 * S);
        feed(&mut c, 0, 750, 25, 50);
        let newest = 749 * S / 25;
        let oldest = c.oldest_rt().unwrap();
        // Covers at least 5 s, and less than 5 s + one GOP.
        assert!(newest - oldest >= 5 * S, "{}", newest - oldest);
        assert!(newest - oldest < 7 * S, "{}", newest - oldest);
        assert!(c.iter_from(0).next().unwrap().keyframe);
        assert_eq!(c.bytes(), c.len() * 100);
        // 5 s window + partial GOP: 3 whole GOPs + the current one at most.
        assert!(c.gops() <= 4);
    }

    #[test]
    fn memory_stays_bounded_over_a_long_run() {
        let mut c = GopCache::new(2 * S);
        let mut max_bytes = 0;
        for chunk in 0..100 {
            feed(&mut c, chunk * 300, 300, 30, 30);
            max_bytes = max_bytes.max(c.bytes());
        }
        // 2 s + one GOP of 1 s at 30 fps, 100 bytes each.
        assert!(max_bytes <= (3 * 30 + 1) * 100, "{max_bytes}");
    }

    #[test]
    fn start_point_at_or_before() {
        let mut c = GopCache::new(10 * S);
        feed(&mut c, 0, 250, 25, 25); // key frames every second, 0..10 s
        let p = c.start_point(3 * S + 500 * MS).unwrap();
        assert_eq!(p.rt, 3 * S);
        assert!(!p.truncated);
        assert!(c.iter_from(p.index).next().unwrap().keyframe);
        let p = c.start_point(4 * S).unwrap();
        assert_eq!(p.rt, 4 * S);
        // Newer than the newest key frame: the newest key frame.
        let p = c.start_point(100 * S).unwrap();
        assert_eq!(p.rt, 9 * S);
    }

    #[test]
    fn start_before_the_cache_is_truncated() {
        let mut c = GopCache::new(2 * S);
        feed(&mut c, 0, 250, 25, 25);
        let oldest = c.oldest_rt().unwrap();
        assert!(oldest > 0);
        let p = c.start_point(0).unwrap();
        assert!(p.truncated);
        assert_eq!(p.rt, oldest);
        assert_eq!(p.index, 0);
    }

    #[test]
    fn no_keyframes_for_too_long_clears() {
        let mut c = GopCache::new(S);
        c.push(0, 0, true, 1);
        for i in 1..100 {
            c.push(i, i * 100 * MS, false, 1);
        }
        // 9.9 s without a key frame > 2 s: dropped, waiting for the next key frame.
        assert!(c.is_empty());
        assert!(!c.push(1000, 10 * S, false, 1));
        assert!(c.push(1001, 10 * S, true, 1));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn shrinking_the_window_trims() {
        let mut c = GopCache::new(10 * S);
        feed(&mut c, 0, 250, 25, 25);
        let before = c.len();
        c.set_max(S);
        assert!(c.len() < before);
        assert!(c.duration() >= S);
        assert!(c.duration() < 2 * S);
    }
}
