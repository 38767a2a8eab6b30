//! Trails: per track id, the box centres of the last frames, drawn as a polyline from the
//! oldest to the newest.
//!
//! [`TrailStore::push_frame`] is called once per frame with that frame's detections; those
//! with a track id add their box centre (`x + width / 2`, `y + height / 2`) to their track's
//! trail. Only the points of the last `length` frames are kept (the current one included), so
//! a track not seen for `length` frames has no point left and is forgotten; at most
//! `max_tracks` tracks are remembered (the one seen longest ago goes first). Memory is bounded
//! by `max_tracks * length` points.
//!
//! Drawing ([`Trail::path`]): a trail is drawn in its class colour (the label of its latest
//! box) when its class is drawn (`classes`) and it has at least two points; the points of
//! predicted boxes are left out when predicted boxes are hidden. Points are snapped to the
//! pixel grid so that a line of odd width runs through pixel centres and one of even width
//! along pixel corners: horizontal and vertical segments are then exactly `width` pixels
//! thick.

use std::collections::{BTreeMap, VecDeque};

use super::style::{is_predicted, PredictedStyle, Style};
use crate::detection::Detection;

/// Tracks remembered at most (the rsoverlay default).
pub const DEFAULT_MAX_TRACKS: usize = 4096;

/// Centres beyond this many pixels from the origin are clamped (boxes far outside a frame).
const COORD_LIMIT: f64 = 1.0e7;

/// One remembered box centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrailPoint {
    /// The frame it was seen on (counted by the store from 1).
    pub frame: u64,
    pub x: f32,
    pub y: f32,
    /// The box was a tracker's prediction.
    pub predicted: bool,
}

/// The recent centres of one track.
#[derive(Debug, Clone, PartialEq)]
pub struct Trail {
    /// Class of its latest box.
    pub label: String,
    pub label_id: i32,
    /// The last frame it was seen on.
    pub last_seen: u64,
    points: VecDeque<TrailPoint>,
}

impl Trail {
    /// Points from the oldest to the newest.
    pub fn points(&self) -> impl Iterator<Item = &TrailPoint> {
        self.points.iter()
    }

    /// The polyline to draw for `style` (see the module doc): snapped points, oldest first.
    /// Empty when the trail's class is not drawn.
    pub fn path(&self, style: &Style) -> Vec<(f64, f64)> {
        if !style.draws_class(&self.label, self.label_id) {
            return Vec::new();
        }
        let hide_predicted = style.predicted == PredictedStyle::Hidden;
        let offset = if style.trail_width() % 2 == 1 {
            0.5
        } else {
            0.0
        };
        self.points
            .iter()
            .filter(|p| !(hide_predicted && p.predicted))
            .map(|p| {
                (
                    f64::from(p.x).floor() + offset,
                    f64::from(p.y).floor() + offset,
                )
            })
            .collect()
    }
}

/// The trails of the tracks seen recently.
#[derive(Debug, Clone)]
pub struct TrailStore {
    frame: u64,
    max_tracks: usize,
    tracks: BTreeMap<u64, Trail>,
}

impl Default for TrailStore {
    fn default() -> Self {
        TrailStore::new(DEFAULT_MAX_TRACKS)
    }
}

impl TrailStore {
    /// A store remembering at most `max_tracks` tracks (at least 1).
    pub fn new(max_tracks: usize) -> Self {
        TrailStore {
            frame: 0,
            max_tracks: max_tracks.max(1),
            tracks: BTreeMap::new(),
        }
    }

    /// Forgets everything (new stream, flush).
    pub fn clear(&mut self) {
        self.frame = 0;
        self.tracks.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// Number of tracks remembered.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Number of points remembered, over all tracks.
    pub fn points(&self) -> usize {
        self.tracks.values().map(|t| t.points.len()).sum()
    }

    /// The trail of track `id`.
    pub fn get(&self, id: u64) -> Option<&Trail> {
        self.tracks.get(&id)
    }

    /// The trails, by track id.
    pub fn trails(&self) -> impl Iterator<Item = (u64, &Trail)> {
        self.tracks.iter().map(|(id, t)| (*id, t))
    }

    /// Adds a frame: the centres of `detections` with a track id, then drops the points older
    /// than the last `length` frames (at least 1) and the tracks left without points.
    pub fn push_frame<'a>(
        &mut self,
        length: u32,
        detections: impl IntoIterator<Item = &'a Detection>,
    ) {
        self.frame += 1;
        let frame = self.frame;
        for det in detections {
            let Some(id) = det.track_id else {
                continue;
            };
            // The tracker's filtered centre when it gives one (smoother than the box).
            let (cx, cy) = det
                .tracking
                .as_ref()
                .and_then(|t| t.centre)
                .filter(|c| c.0.is_finite() && c.1.is_finite())
                .unwrap_or((det.x + det.width / 2.0, det.y + det.height / 2.0));
            if !cx.is_finite() || !cy.is_finite() {
                continue;
            }
            if !self.tracks.contains_key(&id) && self.tracks.len() >= self.max_tracks {
                self.evict_oldest();
            }
            let trail = self.tracks.entry(id).or_insert_with(|| Trail {
                label: String::new(),
                label_id: -1,
                last_seen: frame,
                points: VecDeque::new(),
            });
            if trail.label != det.label {
                trail.label.clone_from(&det.label);
            }
            trail.label_id = det.label_id;
            trail.last_seen = frame;
            let point = TrailPoint {
                frame,
                x: cx.clamp(-COORD_LIMIT, COORD_LIMIT) as f32,
                y: cy.clamp(-COORD_LIMIT, COORD_LIMIT) as f32,
                predicted: is_predicted(det),
            };
            // The same id twice on a frame: the last box wins.
            match trail.points.back_mut() {
                Some(last) if last.frame == frame => *last = point,
                _ => trail.points.push_back(point),
            }
        }
        let oldest = (frame + 1).saturating_sub(u64::from(length.max(1)));
        self.tracks.retain(|_, t| {
            while t.points.front().is_some_and(|p| p.frame < oldest) {
                t.points.pop_front();
            }
            !t.points.is_empty()
        });
    }

    /// Forgets the track seen longest ago (the lowest id among equals).
    fn evict_oldest(&mut self) {
        let oldest = self
            .tracks
            .iter()
            .min_by_key(|(id, t)| (t.last_seen, **id))
            .map(|(id, _)| *id);
        if let Some(id) = oldest {
            self.tracks.remove(&id);
        }
    }

    /// Whether any trail has something to draw in `style`.
    pub fn has_drawable(&self, style: &Style) -> bool {
        let hide_predicted = style.predicted == PredictedStyle::Hidden;
        self.tracks.values().any(|t| {
            style.draws_class(&t.label, t.label_id)
                && t.points
                    .iter()
                    .filter(|p| !(hide_predicted && p.predicted))
                    .nth(1)
                    .is_some()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::TrackInfo;

    fn tracked(id: u64, cx: f64, cy: f64, label: &str) -> Detection {
        Detection {
            x: cx - 10.0,
            y: cy - 5.0,
            width: 20.0,
            height: 10.0,
            confidence: 0.9,
            label_id: 0,
            label: label.into(),
            track_id: Some(id),
            tracking: None,
            attributes: Vec::new(),
        }
    }

    fn centres(store: &TrailStore, id: u64) -> Vec<(f32, f32)> {
        store
            .get(id)
            .map(|t| t.points().map(|p| (p.x, p.y)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn keeps_the_centres_of_the_last_frames_and_forgets_after_length_frames() {
        let mut s = TrailStore::default();
        let untracked = Detection {
            track_id: None,
            ..tracked(0, 1.0, 1.0, "x")
        };
        for i in 0..6 {
            let d = tracked(7, 10.0 + 2.0 * f64::from(i), 50.0, "car");
            s.push_frame(4, [&d, &untracked]);
        }
        // Frames 3..6 of 6: the box centres, not their corners.
        assert_eq!(
            centres(&s, 7),
            vec![(14.0, 50.0), (16.0, 50.0), (18.0, 50.0), (20.0, 50.0)]
        );
        assert_eq!(s.len(), 1, "detections without an id have no trail");
        // Not seen any more: its points age out one per frame, then it is forgotten after 4.
        for left in [3, 2, 1] {
            s.push_frame(4, []);
            assert_eq!(centres(&s, 7).len(), left);
        }
        assert!(s.get(7).is_some());
        s.push_frame(4, []);
        assert!(s.get(7).is_none() && s.is_empty());
    }

    #[test]
    fn a_shorter_length_trims_at_once_and_clear_forgets_everything() {
        let mut s = TrailStore::default();
        for i in 0..10 {
            s.push_frame(30, [&tracked(1, f64::from(i), 0.0, "a")]);
        }
        assert_eq!(s.points(), 10);
        s.push_frame(3, [&tracked(1, 10.0, 0.0, "a")]);
        assert_eq!(centres(&s, 1), vec![(8.0, 0.0), (9.0, 0.0), (10.0, 0.0)]);
        s.clear();
        assert!(s.is_empty());
        s.push_frame(3, [&tracked(1, 0.0, 0.0, "a")]);
        assert_eq!(s.get(1).unwrap().last_seen, 1, "frames counted afresh");
    }

    #[test]
    fn at_most_max_tracks_the_one_seen_longest_ago_goes_first() {
        let mut s = TrailStore::new(3);
        s.push_frame(
            100,
            [&tracked(1, 0.0, 0.0, "a"), &tracked(2, 0.0, 0.0, "a")],
        );
        s.push_frame(100, [&tracked(3, 0.0, 0.0, "a")]);
        s.push_frame(100, [&tracked(1, 1.0, 0.0, "a")]);
        // 2 was seen longest ago (frame 1; 1 was seen again on frame 3).
        s.push_frame(100, [&tracked(4, 0.0, 0.0, "a")]);
        let ids: Vec<u64> = s.trails().map(|(id, _)| id).collect();
        assert_eq!(ids, vec![1, 3, 4]);
        // Thousands of new ids: never more than the limit.
        let mut big = TrailStore::new(64);
        for f in 0..50u64 {
            let dets: Vec<Detection> = (0..40)
                .map(|i| tracked(f * 40 + i, 1.0, 1.0, "a"))
                .collect();
            big.push_frame(1000, &dets);
            assert!(big.len() <= 64);
        }
        assert_eq!(big.len(), 64);
        assert!(big.get(49 * 40 + 39).is_some(), "the newest are kept");
    }

    #[test]
    fn same_id_twice_on_a_frame_keeps_the_last_box_and_the_latest_label() {
        let mut s = TrailStore::default();
        s.push_frame(10, [&tracked(5, 1.0, 1.0, "a"), &tracked(5, 3.0, 4.0, "b")]);
        assert_eq!(centres(&s, 5), vec![(3.0, 4.0)]);
        assert_eq!(s.get(5).unwrap().label, "b");
        let nan = tracked(6, f64::NAN, 1.0, "a");
        let far = tracked(8, 1e300, -1e300, "a");
        s.push_frame(10, [&nan, &far]);
        assert!(s.get(6).is_none());
        assert_eq!(centres(&s, 8), vec![(1.0e7, -1.0e7)]);
    }

    #[test]
    fn paths_follow_classes_hidden_predictions_and_the_pixel_grid() {
        let mut s = TrailStore::default();
        let mut predicted = tracked(1, 30.7, 40.2, "car");
        predicted.tracking = Some(TrackInfo {
            predicted: true,
            ..TrackInfo::default()
        });
        s.push_frame(10, [&tracked(1, 10.2, 20.9, "car")]);
        s.push_frame(10, [&predicted]);
        s.push_frame(10, [&tracked(1, 50.0, 60.0, "car")]);
        let t = s.get(1).unwrap();
        // Line width 2: a 1 px trail through pixel centres.
        let style = Style::default();
        assert_eq!(
            t.path(&style),
            vec![(10.5, 20.5), (30.5, 40.5), (50.5, 60.5)]
        );
        // Line width 4: a 2 px trail along pixel corners.
        let wide = Style {
            line_width: 4,
            ..Style::default()
        };
        assert_eq!(
            t.path(&wide),
            vec![(10.0, 20.0), (30.0, 40.0), (50.0, 60.0)]
        );
        let hidden = Style {
            predicted: PredictedStyle::Hidden,
            ..Style::default()
        };
        assert_eq!(t.path(&hidden), vec![(10.5, 20.5), (50.5, 60.5)]);
        let others = Style {
            classes: crate::draw::ClassSet::parse("person"),
            ..Style::default()
        };
        assert!(t.path(&others).is_empty());
        assert!(s.has_drawable(&style) && !s.has_drawable(&others));
        // One point is not a trail.
        let mut one = TrailStore::default();
        one.push_frame(10, [&tracked(2, 5.0, 5.0, "car")]);
        assert!(!one.has_drawable(&style));
    }
}
