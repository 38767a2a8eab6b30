//! The counting engine's rules as compiled from the geometry ([`LineRule`], [`ZoneRule`],
//! class filters) and its per-track state machines (rules in `count.rs`' module doc): one
//! [`LineTrack`] per track and line (hysteresis), one [`ZoneTrack`] per track and zone
//! (inertia, dwell), and the anchor history for directions.

use super::{CrossDirection, DIRECTION_FRAMES, STRICT_FRAMES};
use crate::analytics::geometry::{
    crosses, in_normal, in_polygon, on_polygon_boundary, within, EPS,
};
use crate::analytics::{CrossingMode, Line, Point, Zone};

/// A rule's classes, with the integers parsed once.
#[derive(Debug, Clone)]
pub(super) struct ClassFilter {
    labels: Vec<String>,
    ids: Vec<i32>,
}

impl ClassFilter {
    pub(super) fn new(classes: &[String]) -> Self {
        ClassFilter {
            labels: classes.to_vec(),
            ids: classes
                .iter()
                .filter_map(|c| c.trim().parse().ok())
                .collect(),
        }
    }

    /// Empty filter, a label equal to one of the classes (ASCII case ignored), or a class id
    /// equal to one written as an integer.
    pub(super) fn matches(&self, label: &str, id: i32) -> bool {
        self.labels.is_empty()
            || self.ids.contains(&id)
            || self.labels.iter().any(|l| l.eq_ignore_ascii_case(label))
    }
}

/// A line's filter, minimum distance `d`, frames `f` and unit normal.
#[derive(Debug, Clone)]
pub(super) struct LineRule {
    pub(super) filter: ClassFilter,
    pub(super) min_distance: f64,
    pub(super) frames: u32,
    /// [`in_normal`] of the line, computed once: [`LineRule::side`] is geometry's `side`
    /// without a square root per call.
    normal: Point,
}

impl LineRule {
    /// `line`'s rule, `balanced` the frame's balanced distance `D`.
    pub(super) fn new(line: &Line, balanced: f64) -> Self {
        let (dist, frames) = match line.mode {
            CrossingMode::Loose => (0.0, 1),
            CrossingMode::Balanced => (balanced, 1),
            CrossingMode::Strict => (2.0 * balanced, STRICT_FRAMES),
        };
        LineRule {
            filter: ClassFilter::new(&line.classes),
            min_distance: line.min_distance.unwrap_or(dist),
            frames: frames.max(1),
            normal: in_normal(line),
        }
    }

    /// `geometry::side(line, p)` (the signed distance, positive on the `in` side).
    pub(super) fn side(&self, line: &Line, p: Point) -> f64 {
        (p.x - line.a.x) * self.normal.x + (p.y - line.a.y) * self.normal.y
    }
}

/// A zone's filter, inertia and bounding box.
#[derive(Debug, Clone)]
pub(super) struct ZoneRule {
    pub(super) filter: ClassFilter,
    /// At least 1.
    pub(super) inertia: u32,
    /// The outline's bounding box (min x, min y, max x, max y): outside it, the answer of
    /// `contains` is known without testing the polygon.
    bbox: (f64, f64, f64, f64),
}

impl ZoneRule {
    pub(super) fn new(zone: &Zone) -> Self {
        let bbox = zone.outline.iter().fold(
            (f64::MAX, f64::MAX, f64::MIN, f64::MIN),
            |(x0, y0, x1, y1), p| (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y)),
        );
        ZoneRule {
            filter: ClassFilter::new(&zone.classes),
            inertia: zone.inertia.max(1),
            bbox,
        }
    }

    /// `geometry::contains(zone, p)`, faster: answered from the bounding box when `p` is
    /// outside it (then it is neither inside the outline nor on its boundary), and the
    /// boundary tested only when the polygon test says outside (on the boundary is inside).
    pub(super) fn contains(&self, zone: &Zone, p: Point) -> bool {
        let (x0, y0, x1, y1) = self.bbox;
        if p.x < x0 - EPS || p.x > x1 + EPS || p.y < y0 - EPS || p.y > y1 + EPS {
            return zone.inverse;
        }
        let inside = in_polygon(&zone.outline, p) && !zone.holes.iter().any(|h| in_polygon(h, p));
        inside != zone.inverse
            || on_polygon_boundary(&zone.outline, p)
            || zone.holes.iter().any(|h| on_polygon_boundary(h, p))
    }
}

fn sign(s: f64) -> i8 {
    if s > 0.0 {
        1
    } else if s < 0.0 {
        -1
    } else {
        0
    }
}

/// A track's state on one line. Sides are -1, 0 (none) or 1 (the `in` side).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LineTrack {
    /// Side and position of the last anchor not exactly on the line.
    last_sign: i8,
    last_off: Point,
    established: i8,
    /// The side the track last went to through the segment since it was last a candidate
    /// on its established side (0: none).
    through: i8,
    run_side: i8,
    run: u32,
}

impl LineTrack {
    /// One sighting of the track with its anchor at `p`; `Some` when it completes a
    /// crossing.
    pub(super) fn step(
        &mut self,
        line: &Line,
        rule: &LineRule,
        p: Point,
    ) -> Option<CrossDirection> {
        let s = rule.side(line, p);
        let sg = sign(s);
        if sg != 0 {
            // Both ends strictly on opposite sides: `crosses` only has to say whether the
            // path meets the line on the segment.
            if self.last_sign != 0 && sg != self.last_sign && crosses(line, self.last_off, p) {
                self.through = sg;
            }
            self.last_sign = sg;
            self.last_off = p;
        }
        let beyond = sg != 0 && s.abs() >= rule.min_distance;
        let cand = if beyond && (self.through == sg || within(line, p)) {
            sg
        } else {
            0
        };
        if cand == 0 {
            self.run = 0;
            return None;
        }
        if cand == self.run_side {
            self.run = self.run.saturating_add(1);
        } else {
            self.run_side = cand;
            self.run = 1;
        }
        if cand == self.established {
            self.through = 0;
            return None;
        }
        if self.run < rule.frames {
            return None;
        }
        let crossed = self.established != 0 && self.through == cand;
        self.established = cand;
        self.through = 0;
        match (crossed, cand > 0) {
            (false, _) => None,
            (true, true) => Some(CrossDirection::In),
            (true, false) => Some(CrossDirection::Out),
        }
    }
}

/// What a sighting changed in a track's zone membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ZoneChange {
    None,
    Entered,
    /// Left; the state still has the visit's times and loitering flag for the events.
    Left,
}

/// A track's state in one zone.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ZoneTrack {
    pub(super) member: bool,
    pub(super) loitering: bool,
    in_run: u32,
    out_run: u32,
    run_start_ms: u64,
    /// Start of the visit: first frame of the run that made it a member.
    pub(super) enter_ms: u64,
    pub(super) last_inside_ms: u64,
}

impl ZoneTrack {
    /// One sighting, inside the zone (and passing its filter) or not.
    pub(super) fn step(&mut self, inside: bool, inertia: u32, time_ms: u64) -> ZoneChange {
        if inside {
            if self.in_run == 0 {
                self.run_start_ms = time_ms;
            }
            self.in_run = self.in_run.saturating_add(1);
            self.out_run = 0;
            self.last_inside_ms = time_ms;
        } else {
            self.out_run = self.out_run.saturating_add(1);
            self.in_run = 0;
        }
        if !self.member && self.in_run >= inertia {
            self.member = true;
            self.loitering = false;
            self.enter_ms = self.run_start_ms;
            ZoneChange::Entered
        } else if self.member && self.out_run >= inertia {
            self.member = false;
            ZoneChange::Left
        } else {
            ZoneChange::None
        }
    }

    /// The visit's dwell at its exit: up to the last frame seen inside.
    pub(super) fn exit_dwell_ms(&self) -> u64 {
        self.last_inside_ms.saturating_sub(self.enter_ms)
    }
}

/// Everything remembered about one track.
#[derive(Debug, Clone)]
pub(super) struct Track {
    pub(super) label: String,
    pub(super) last_frame: u64,
    pub(super) last_ms: u64,
    pub(super) lines: Vec<LineTrack>,
    pub(super) zones: Vec<ZoneTrack>,
    /// Ring of the last bottom-centre anchors.
    history: [Point; DIRECTION_FRAMES],
    history_len: usize,
    history_next: usize,
}

impl Track {
    pub(super) fn new(lines: usize, zones: usize) -> Self {
        Track {
            label: String::new(),
            last_frame: 0,
            last_ms: 0,
            lines: vec![LineTrack::default(); lines],
            zones: vec![ZoneTrack::default(); zones],
            history: [Point::default(); DIRECTION_FRAMES],
            history_len: 0,
            history_next: 0,
        }
    }

    /// Back to a new track's state, keeping the allocations.
    pub(super) fn clear(&mut self) {
        self.label.clear();
        self.last_frame = 0;
        self.last_ms = 0;
        self.lines.fill(LineTrack::default());
        self.zones.fill(ZoneTrack::default());
        self.history_len = 0;
        self.history_next = 0;
    }

    /// Rescales the remembered positions (a change of frame size).
    pub(super) fn scale(&mut self, sx: f64, sy: f64) {
        let s = |p: &mut Point| {
            p.x *= sx;
            p.y *= sy;
        };
        self.lines.iter_mut().for_each(|l| s(&mut l.last_off));
        self.history.iter_mut().for_each(s);
    }

    pub(super) fn set_label(&mut self, label: &str) {
        if self.label != label {
            self.label.clear();
            self.label.push_str(label);
        }
    }

    pub(super) fn push_history(&mut self, p: Point) {
        self.history[self.history_next] = p;
        self.history_next = (self.history_next + 1) % DIRECTION_FRAMES;
        self.history_len = (self.history_len + 1).min(DIRECTION_FRAMES);
    }

    /// The oldest and newest anchors of the history (at least two sightings).
    pub(super) fn motion(&self) -> Option<(Point, Point)> {
        if self.history_len < 2 {
            return None;
        }
        let n = DIRECTION_FRAMES;
        let newest = (self.history_next + n - 1) % n;
        let oldest = (self.history_next + n - self.history_len) % n;
        Some((self.history[oldest], self.history[newest]))
    }
}
