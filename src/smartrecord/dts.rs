//! Decoding timestamps for a stream that has only presentation timestamps.
//!
//! Depayloaded RTP (`rtph264depay`) carries PTS only; with B-frames the PTS of a stream in
//! decoding order go back and forth, and a muxer that takes PTS for DTS writes a broken
//! file. The DTS of the i-th frame in decoding order is the i-th smallest PTS of the
//! stream, moved back by `depth` frames so that no DTS is after its PTS. Knowing the i-th
//! smallest PTS needs `depth` frames of look-ahead, so frames come out `depth` frames late
//! (the writer's own delay; the live stream is never held). A stream whose PTS never go
//! back (no B-frames: most cameras) keeps DTS = PTS, so its clip starts at PTS 0 and
//! players show every frame; the shift applies only once reordering has been seen.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

#[derive(Debug)]
pub struct DtsSynth<T> {
    depth: usize,
    shift: u64,
    pending: VecDeque<(T, u64)>,
    /// PTS seen and not yet used as a DTS.
    heap: BinaryHeap<Reverse<u64>>,
    last_dts: Option<u64>,
    /// The largest PTS pushed, and whether a PTS ever came below it.
    max_pts: Option<u64>,
    reordered: bool,
}

impl<T> DtsSynth<T> {
    /// `depth`: the largest reordering expected, in frames; `frame`: one frame's duration.
    pub fn new(depth: usize, frame: u64) -> Self {
        DtsSynth {
            depth,
            shift: depth as u64 * frame,
            pending: VecDeque::new(),
            heap: BinaryHeap::new(),
            last_dts: None,
            max_pts: None,
            reordered: false,
        }
    }

    /// How far DTS are moved back from the sorted PTS.
    pub fn shift(&self) -> u64 {
        self.shift
    }

    fn emit(&mut self) -> Option<(T, u64, u64)> {
        let (item, pts) = self.pending.pop_front()?;
        let Reverse(sorted) = self.heap.pop()?;
        let shift = if self.reordered { self.shift } else { 0 };
        let mut dts = sorted.saturating_sub(shift);
        // Never after the PTS (deeper reordering than expected), never decreasing.
        dts = dts.min(pts);
        if let Some(last) = self.last_dts {
            dts = dts.max(last);
        }
        self.last_dts = Some(dts);
        Some((item, pts, dts))
    }

    /// Adds a frame (in decoding order); returns the frames whose DTS is now known.
    pub fn push(&mut self, item: T, pts: u64) -> Vec<(T, u64, u64)> {
        match self.max_pts {
            Some(m) if pts < m => self.reordered = true,
            _ => self.max_pts = Some(pts),
        }
        self.pending.push_back((item, pts));
        self.heap.push(Reverse(pts));
        let mut out = Vec::new();
        while self.pending.len() > self.depth {
            match self.emit() {
                Some(x) => out.push(x),
                None => break,
            }
        }
        out
    }

    /// The frames still held back, at the end of the stream.
    pub fn flush(&mut self) -> Vec<(T, u64, u64)> {
        let mut out = Vec::new();
        while let Some(x) = self.emit() {
            out.push(x);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: u64 = 40;

    #[test]
    fn b_frames_get_monotonic_dts_not_after_pts() {
        // I0 P3 B1 B2 P6 B4 B5 (display order numbers), decoding order as an encoder emits.
        let order = [0u64, 3, 1, 2, 6, 4, 5, 9, 7, 8];
        let mut s = DtsSynth::new(2, F);
        let mut out = Vec::new();
        for (i, p) in order.iter().enumerate() {
            out.extend(s.push(i, 100 + p * F));
        }
        out.extend(s.flush());
        assert_eq!(out.len(), order.len());
        assert!(out.iter().enumerate().all(|(i, (item, _, _))| *item == i));
        for w in out.windows(2) {
            assert!(w[1].2 > w[0].2, "strictly increasing DTS: {out:?}");
        }
        for (_, pts, dts) in &out {
            assert!(dts <= pts, "{out:?}");
        }
        // DTS are the sorted PTS moved back by two frames.
        let dts: Vec<u64> = out.iter().map(|x| x.2).collect();
        let expected: Vec<u64> = (0..10).map(|i| 100 + i * F - 2 * F).collect();
        assert_eq!(dts, expected);
    }

    #[test]
    fn no_reordering_stays_in_step() {
        let mut s = DtsSynth::new(2, F);
        let mut out = Vec::new();
        for i in 0..5u64 {
            out.extend(s.push(i, i * F + 1000));
        }
        assert_eq!(out.len(), 3, "two frames held back");
        out.extend(s.flush());
        assert_eq!(out.len(), 5);
        for (i, pts, dts) in out {
            assert_eq!(pts, i * F + 1000);
            assert_eq!(
                dts, pts,
                "no reordering: DTS = PTS (the clip starts at PTS 0)"
            );
        }
    }
}
