//! The counting engine: line crossings with hysteresis, zone membership with inertia, dwell
//! time, loitering, overcrowding and directions, per frame, on the objects of one stream.
//!
//! [`Analytics::update`] takes the frame's objects (boxes in frame pixels, the same
//! coordinates as the [`Geometry`] it was made with, see [`Analytics::for_frame`]) and the
//! frame's time in ms (the stream's running time), and returns a [`FrameResult`]. Zones,
//! lines and directions are referred to by their index in the geometry
//! ([`Analytics::geometry`] has their names). Cost is O(objects x rules) per frame; the
//! only allocations in steady state are the events' labels (see [`Analytics::update_into`]).
//!
//! # Lines
//! Per track and line a small state machine. On each frame the track is seen (and its
//! label passes the line's class filter), its anchor `p` gives `s = side(line, p)`:
//! - **Candidate side**: `p` is on side `sign(s)` *beyond* the line when `|s| >= d`
//!   (`d` the line's minimum distance) and `s != 0`, and its projection falls on the
//!   segment ([`within`]; always for an `extended` line). The projection rule is waived on
//!   the side the track last went to *through* the segment (so a diagonal crossing near an
//!   end is confirmed once the track is `d` beyond, even past the end).
//! - **Established side**: a candidate side held for `f` consecutive frames (frames where
//!   the anchor is in the band `|s| < d`, or off the segment, break the run).
//! - **Through**: each time the path between the last two anchors with `s != 0` changes
//!   side and [`crosses`] the segment, the track has gone *through* to the new side.
//! - **Crossing**: the established side changes from A to B *and* the track last went
//!   through the segment to B. B positive is `in`, negative `out`
//!   ([`CrossDirection`]). A track that reaches B around an end of the segment changes its
//!   established side without a count.
//! - Being back on the established side (a candidate there) forgets the through.
//!
//! Consequences: jitter inside the band never counts (balanced, strict); a U-turn before
//! being `d` beyond the far side never counts; a track that crosses, stops beyond and
//! jitters counts once; crossing back counts one `out`. A track first seen on one side
//! establishes it without a count (so does a track first seen mid-crossing: an id that
//! changes mid-crossing loses that crossing, the new id only counts its own later
//! crossings). A lost track found again with the same id within the forget period keeps
//! its state, and the path from its last anchor before the gap to the new one counts as
//! one step (found on the far side: counted once).
//!
//! Defaults of `d` and `f` by [`CrossingMode`] (`D` = the larger of 4 px and 1 % of the
//! frame's shorter side, e.g. 10.8 px at 1920x1080; 0.01 for normalised geometry):
//! - loose: `d = 0`, `f = 1`: any change of side counts, jitter across the line too
//!   (nvdsanalytics' loose).
//! - balanced (default): `d = D`, `f = 1`.
//! - strict: `d = 2 D`, `f = 3` on both the starting and the far side.
//!
//! A line's `min_distance` replaces `d` (not `f`). **Untracked objects** (no track id)
//! never count on lines: there is nothing to link two frames (the element warns).
//!
//! # Zones
//! - A track becomes a **member** of a zone after `inertia` consecutive frames with its
//!   anchor inside ([`contains`]) and a label passing the zone's class filter (one
//!   [`Event::ZoneEntry`], `entries + 1`); it leaves after `inertia` consecutive frames
//!   seen outside (or with a label that does not pass; [`Event::ZoneExit`]). `inertia` 0
//!   is 1.
//! - **Dwell** starts at the first frame of the run that made it a member; while a member
//!   it is `now - start`; at the exit, `last frame seen inside - start`.
//! - **Loitering**: [`Event::LoiteringStart`] once per visit when the dwell exceeds
//!   `loiter_ms`, [`Event::LoiteringEnd`] at the exit.
//! - A member not seen for `inertia` frames is no longer in the zone's count but stays a
//!   member (no exit, no new entry if found again inside) until it is seen outside or
//!   forgotten (then its exit is reported, with the dwell up to the last frame it was seen
//!   inside).
//! - **Untracked objects** count in the occupancy of the frame they are inside, without
//!   inertia, entries, dwell or loitering.
//! - **Count** of a zone: present members plus untracked objects inside. **Overcrowding**
//!   starts when it exceeds `max_objects` and ends when it is back at or below; the whole
//!   frame likewise with `frame_max_objects` on the number of objects given (every class,
//!   tracked or not; events with `zone: None`). Events only on changes.
//!
//! # Directions
//! A track moves in a direction when the motion of its bottom-centre anchor over its last
//! [`DIRECTION_FRAMES`] sightings is at least `D` long and within `tolerance_deg` of the
//! direction ([`moves_along`]). Untracked objects have no direction.
//!
//! # Class filters
//! A rule with classes applies to objects whose label equals one of them (ASCII case
//! ignored) or whose class id equals one written as an integer. Empty: every object.
//!
//! # Memory
//! A track not seen for more than `forget_after_frames` frames or `forget_after_ms` ms
//! (whichever comes first) is forgotten; at most `max_tracks` tracks are kept (the least
//! recently seen one makes room; when all were seen on this frame the new one is handled
//! as untracked).

use std::collections::HashMap;

use super::geometry::{anchor_point, moves_along, to_frame};
use super::{Anchor, Coordinates, Geometry, Point};
use state::{ClassFilter, LineRule, Track, ZoneChange, ZoneRule, ZoneTrack};

#[path = "count_state.rs"]
mod state;

/// Frames a track may stay unseen before it is forgotten.
pub const DEFAULT_FORGET_AFTER_FRAMES: u64 = 600;
/// Stream time (ms) a track may stay unseen before it is forgotten (rstracker keeps a
/// stopped lost track's id for 5 s).
pub const DEFAULT_FORGET_AFTER_MS: u64 = 10_000;
/// Tracks kept at most.
pub const DEFAULT_MAX_TRACKS: usize = 4096;
/// Sightings of a track its direction is measured over.
pub const DIRECTION_FRAMES: usize = 5;
/// Lower bound of the balanced minimum distance (px).
pub const BALANCED_MIN_PX: f64 = 4.0;
/// Balanced minimum distance as a fraction of the frame's shorter side.
pub const BALANCED_FRACTION: f64 = 0.01;
/// Consecutive frames a side must be held in strict mode.
pub const STRICT_FRAMES: u32 = 3;

/// One object of a frame, as the element reads it from the detection meta.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Object<'a> {
    /// The tracker's id; `None`: untracked (zone occupancy only).
    pub track_id: Option<u64>,
    pub label: &'a str,
    pub label_id: i32,
    /// Box: top-left corner and size, in the geometry's (frame) pixels.
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Limits of the engine's memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub forget_after_frames: u64,
    pub forget_after_ms: u64,
    pub max_tracks: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            forget_after_frames: DEFAULT_FORGET_AFTER_FRAMES,
            forget_after_ms: DEFAULT_FORGET_AFTER_MS,
            max_tracks: DEFAULT_MAX_TRACKS,
        }
    }
}

/// The way a line was crossed: `In` to its positive ([`side`]) side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossDirection {
    In,
    Out,
}

/// A line an object crossed on this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCrossing {
    pub line: usize,
    pub direction: CrossDirection,
}

/// A zone an object is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoneMembership {
    pub zone: usize,
    /// Time in the zone (ms); `None` for untracked objects.
    pub dwell_ms: Option<u64>,
    /// The dwell exceeded the zone's `loiter_ms`.
    pub loitering: bool,
}

/// What one object of the frame did (same order as the input).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectResult {
    pub zones: Vec<ZoneMembership>,
    pub crossings: Vec<LineCrossing>,
    /// Indices of the directions it moves in.
    pub directions: Vec<usize>,
}

/// A zone on this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZoneCount {
    /// Objects in it now.
    pub count: u64,
    /// Entries since the start (or the last reset).
    pub entries: u64,
    pub overcrowded: bool,
}

/// A line's cumulative counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineCount {
    pub in_count: u64,
    pub out_count: u64,
}

/// Something that changed on this frame. `zone` and `line` index the geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Crossing {
        line: usize,
        track: u64,
        direction: CrossDirection,
        label: String,
    },
    ZoneEntry {
        zone: usize,
        track: u64,
        label: String,
    },
    ZoneExit {
        zone: usize,
        track: u64,
        label: String,
        dwell_ms: u64,
    },
    LoiteringStart {
        zone: usize,
        track: u64,
        label: String,
        dwell_ms: u64,
    },
    LoiteringEnd {
        zone: usize,
        track: u64,
        label: String,
        dwell_ms: u64,
    },
    /// `zone: None`: the whole frame (`frame_max_objects`).
    OvercrowdingStart {
        zone: Option<usize>,
        count: u64,
    },
    OvercrowdingEnd {
        zone: Option<usize>,
        count: u64,
    },
}

/// The result of one frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameResult {
    pub objects: Vec<ObjectResult>,
    /// One per zone of the geometry.
    pub zones: Vec<ZoneCount>,
    /// One per line of the geometry.
    pub lines: Vec<LineCount>,
    /// Objects on the frame (every class, tracked or not).
    pub frame_count: u64,
    /// `frame_count` exceeds `frame_max_objects`.
    pub frame_overcrowded: bool,
    pub events: Vec<Event>,
}

/// A line's running counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineStats {
    pub name: String,
    pub in_count: u64,
    pub out_count: u64,
}

/// A zone's running counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneStats {
    pub name: String,
    /// Objects in it on the last frame.
    pub count: u64,
    pub entries: u64,
}

/// Running counts (the element's `stats` property).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    pub lines: Vec<LineStats>,
    pub zones: Vec<ZoneStats>,
}

/// Recycled tracks kept at most (their vectors are reused by new tracks).
const POOL: usize = 64;

/// The counting engine of one stream (see the module doc for the rules).
#[derive(Debug)]
pub struct Analytics {
    geometry: Geometry,
    options: Options,
    lines: Vec<LineRule>,
    zones: Vec<ZoneRule>,
    directions: Vec<ClassFilter>,
    /// Minimum motion for a direction (`D`).
    min_motion: f64,
    tracks: HashMap<u64, Track>,
    pool: Vec<Track>,
    frame: u64,
    line_counts: Vec<LineCount>,
    zone_counts: Vec<ZoneCount>,
    frame_overcrowded: bool,
    forget: Vec<u64>,
}

impl Analytics {
    /// An engine for `geometry`, in the frame's pixels (`to_frame` applied) or normalised
    /// with objects normalised too, with default [`Options`].
    pub fn new(geometry: Geometry) -> Self {
        Self::with_options(geometry, Options::default())
    }

    /// An engine for `geometry` rescaled to a `width` x `height` frame.
    pub fn for_frame(geometry: &Geometry, width: f64, height: f64) -> Self {
        Self::new(to_frame(geometry, width, height))
    }

    pub fn with_options(geometry: Geometry, options: Options) -> Self {
        let d = match geometry.coordinates {
            Coordinates::Pixels { width, height } => {
                (BALANCED_FRACTION * width.min(height)).max(BALANCED_MIN_PX)
            }
            Coordinates::Normalised => BALANCED_FRACTION,
        };
        let lines = geometry.lines.iter().map(|l| LineRule::new(l, d)).collect();
        let zones = geometry.zones.iter().map(ZoneRule::new).collect();
        let directions = geometry
            .directions
            .iter()
            .map(|d| ClassFilter::new(&d.classes))
            .collect();
        Analytics {
            line_counts: vec![LineCount::default(); geometry.lines.len()],
            zone_counts: vec![ZoneCount::default(); geometry.zones.len()],
            geometry,
            options,
            lines,
            zones,
            directions,
            min_motion: d,
            tracks: HashMap::new(),
            pool: Vec::new(),
            frame: 0,
            frame_overcrowded: false,
            forget: Vec::new(),
        }
    }

    /// The geometry (names of the zones, lines and directions the results index).
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The effective minimum distance of line `line` (its own or its mode's default).
    pub fn min_distance(&self, line: usize) -> f64 {
        self.lines[line].min_distance
    }

    /// Tracks currently remembered.
    pub fn track_count(&self) -> usize {
        self.tracks.len()
    }

    /// Processes one frame: `time_ms` is its stream time, `objects` its objects.
    pub fn update(&mut self, time_ms: u64, objects: &[Object]) -> FrameResult {
        let mut out = FrameResult::default();
        self.update_into(time_ms, objects, &mut out);
        out
    }

    /// [`update`](Self::update) into a result reused from frame to frame: its vectors keep
    /// their capacity, so a steady stream allocates nothing but events' labels.
    pub fn update_into(&mut self, time_ms: u64, objects: &[Object], out: &mut FrameResult) {
        self.frame += 1;
        out.events.clear();
        out.objects.truncate(objects.len());
        for r in &mut out.objects {
            r.zones.clear();
            r.crossings.clear();
            r.directions.clear();
        }
        out.objects
            .resize_with(objects.len(), ObjectResult::default);
        for c in &mut self.zone_counts {
            c.count = 0;
        }
        for (obj, res) in objects.iter().zip(out.objects.iter_mut()) {
            match obj
                .track_id
                .and_then(|id| self.prepare_track(id, &mut out.events))
            {
                Some(id) => self.tracked(id, time_ms, obj, res, &mut out.events),
                None => self.untracked(obj, res),
            }
        }
        self.end_frame(time_ms, objects.len() as u64, out);
    }

    /// Finds or makes the track `id` for this frame; `None`: handle the object as
    /// untracked (a second object with the same id, or no room).
    fn prepare_track(&mut self, id: u64, events: &mut Vec<Event>) -> Option<u64> {
        if let Some(t) = self.tracks.get(&id) {
            return (t.last_frame != self.frame).then_some(id);
        }
        if self.tracks.len() >= self.options.max_tracks.max(1) {
            let (&oldest, t) = self
                .tracks
                .iter()
                .min_by_key(|(k, t)| (t.last_frame, **k))?;
            if t.last_frame == self.frame {
                return None;
            }
            self.drop_track(oldest, events);
        }
        let t = self
            .pool
            .pop()
            .unwrap_or_else(|| Track::new(self.lines.len(), self.zones.len()));
        self.tracks.insert(id, t);
        Some(id)
    }

    /// Forgets a track, reporting the exits of the zones it was a member of.
    fn drop_track(&mut self, id: u64, events: &mut Vec<Event>) {
        let Some(mut t) = self.tracks.remove(&id) else {
            return;
        };
        for (zone, zt) in t.zones.iter().enumerate() {
            if zt.member {
                exit_events(events, zone, id, &t.label, zt);
            }
        }
        if self.pool.len() < POOL {
            t.clear();
            self.pool.push(t);
        }
    }

    /// An untracked object: the zones it is inside on this frame (counted in
    /// `end_frame`, without inertia); no lines, dwell or direction.
    fn untracked(&self, obj: &Object, res: &mut ObjectResult) {
        for (zi, (zone, rule)) in self.geometry.zones.iter().zip(&self.zones).enumerate() {
            if rule.filter.matches(obj.label, obj.label_id)
                && rule.contains(zone, anchor_of(zone.anchor, obj))
            {
                res.zones.push(ZoneMembership {
                    zone: zi,
                    dwell_ms: None,
                    loitering: false,
                });
            }
        }
    }

    fn tracked(
        &mut self,
        id: u64,
        time_ms: u64,
        obj: &Object,
        res: &mut ObjectResult,
        events: &mut Vec<Event>,
    ) {
        let Analytics {
            geometry,
            lines,
            zones,
            directions,
            min_motion,
            tracks,
            frame,
            line_counts,
            zone_counts,
            ..
        } = self;
        let t = tracks.get_mut(&id).expect("prepared track");
        t.last_frame = *frame;
        t.last_ms = time_ms;
        t.set_label(obj.label);

        for (li, (line, rule)) in geometry.lines.iter().zip(lines.iter()).enumerate() {
            if !rule.filter.matches(obj.label, obj.label_id) {
                continue;
            }
            let p = anchor_of(line.anchor, obj);
            let Some(direction) = t.lines[li].step(line, rule, p) else {
                continue;
            };
            match direction {
                CrossDirection::In => line_counts[li].in_count += 1,
                CrossDirection::Out => line_counts[li].out_count += 1,
            }
            res.crossings.push(LineCrossing {
                line: li,
                direction,
            });
            events.push(Event::Crossing {
                line: li,
                track: id,
                direction,
                label: t.label.clone(),
            });
        }

        for (zi, (zone, rule)) in geometry.zones.iter().zip(zones.iter()).enumerate() {
            let inside = rule.filter.matches(obj.label, obj.label_id)
                && rule.contains(zone, anchor_of(zone.anchor, obj));
            let zt = &mut t.zones[zi];
            match zt.step(inside, rule.inertia, time_ms) {
                ZoneChange::Entered => {
                    zone_counts[zi].entries += 1;
                    events.push(Event::ZoneEntry {
                        zone: zi,
                        track: id,
                        label: t.label.clone(),
                    });
                }
                ZoneChange::Left => {
                    exit_events(events, zi, id, &t.label, zt);
                    zt.loitering = false;
                    continue;
                }
                ZoneChange::None if !zt.member => continue,
                ZoneChange::None => {}
            }
            let dwell = time_ms.saturating_sub(zt.enter_ms);
            if zone.loiter_ms.is_some_and(|limit| dwell > limit) && !zt.loitering {
                zt.loitering = true;
                events.push(Event::LoiteringStart {
                    zone: zi,
                    track: id,
                    label: t.label.clone(),
                    dwell_ms: dwell,
                });
            }
            res.zones.push(ZoneMembership {
                zone: zi,
                dwell_ms: Some(dwell),
                loitering: zt.loitering,
            });
        }

        t.push_history(anchor_point(
            Anchor::BottomCentre,
            obj.x,
            obj.y,
            obj.width,
            obj.height,
        ));
        if let Some((from, to)) = t.motion() {
            if (to.x - from.x).hypot(to.y - from.y) >= *min_motion {
                for (di, (dir, filter)) in geometry
                    .directions
                    .iter()
                    .zip(directions.iter())
                    .enumerate()
                {
                    if filter.matches(obj.label, obj.label_id) && moves_along(dir, from, to) {
                        res.directions.push(di);
                    }
                }
            }
        }
    }

    /// Forgets old tracks, counts zones, reports overcrowding.
    fn end_frame(&mut self, time_ms: u64, frame_count: u64, out: &mut FrameResult) {
        // Untracked objects inside zones (their memberships carry no dwell).
        for r in &out.objects {
            for m in &r.zones {
                if m.dwell_ms.is_none() {
                    self.zone_counts[m.zone].count += 1;
                }
            }
        }
        self.forget.clear();
        for (&id, t) in &self.tracks {
            let unseen = self.frame - t.last_frame;
            if unseen > self.options.forget_after_frames
                || time_ms.saturating_sub(t.last_ms) > self.options.forget_after_ms
            {
                self.forget.push(id);
                continue;
            }
            for ((zt, rule), c) in t.zones.iter().zip(&self.zones).zip(&mut self.zone_counts) {
                if zt.member && unseen < u64::from(rule.inertia) {
                    c.count += 1;
                }
            }
        }
        self.forget.sort_unstable();
        for i in 0..self.forget.len() {
            let id = self.forget[i];
            self.drop_track(id, &mut out.events);
        }
        for (zi, (zone, c)) in self
            .geometry
            .zones
            .iter()
            .zip(&mut self.zone_counts)
            .enumerate()
        {
            crowding(
                &mut out.events,
                Some(zi),
                &mut c.overcrowded,
                c.count,
                zone.max_objects,
            );
        }
        crowding(
            &mut out.events,
            None,
            &mut self.frame_overcrowded,
            frame_count,
            self.geometry.frame_max_objects,
        );
        out.zones.clear();
        out.zones.extend_from_slice(&self.zone_counts);
        out.lines.clear();
        out.lines.extend_from_slice(&self.line_counts);
        out.frame_count = frame_count;
        out.frame_overcrowded = self.frame_overcrowded;
    }

    /// Running counts per line and zone.
    pub fn stats(&self) -> Stats {
        Stats {
            lines: self
                .geometry
                .lines
                .iter()
                .zip(&self.line_counts)
                .map(|(l, c)| LineStats {
                    name: l.name.clone(),
                    in_count: c.in_count,
                    out_count: c.out_count,
                })
                .collect(),
            zones: self
                .geometry
                .zones
                .iter()
                .zip(&self.zone_counts)
                .map(|(z, c)| ZoneStats {
                    name: z.name.clone(),
                    count: c.count,
                    entries: c.entries,
                })
                .collect(),
        }
    }

    /// The same geometry at another frame size (a caps change): `geometry` is the engine's
    /// geometry rescaled by `sx` and `sy` (`to_frame` of the same source). The counts go on
    /// and the tracks are rescaled with it, so a visit or a crossing under way continues
    /// (sides and insideness do not change under a scaling of both). Returns false, and
    /// changes nothing, when `geometry` does not have the same zones, lines and directions.
    pub fn rescale(&mut self, geometry: Geometry, sx: f64, sy: f64) -> bool {
        let same = |a: &[String], b: &[String]| a == b;
        let names = |g: &Geometry| {
            (
                g.zones.iter().map(|z| z.name.clone()).collect::<Vec<_>>(),
                g.lines.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
                g.directions
                    .iter()
                    .map(|d| d.name.clone())
                    .collect::<Vec<_>>(),
            )
        };
        let (a, b) = (names(&self.geometry), names(&geometry));
        if !(same(&a.0, &b.0) && same(&a.1, &b.1) && same(&a.2, &b.2))
            || !(sx.is_finite() && sy.is_finite() && sx > 0.0 && sy > 0.0)
        {
            return false;
        }
        let fresh = Analytics::with_options(geometry, self.options.clone());
        self.geometry = fresh.geometry;
        self.lines = fresh.lines;
        self.zones = fresh.zones;
        self.directions = fresh.directions;
        self.min_motion = fresh.min_motion;
        for t in self.tracks.values_mut() {
            t.scale(sx, sy);
        }
        true
    }

    /// Clears counts, tracks and alarms (flush, `reset` action): no events are reported
    /// for the tracks dropped.
    pub fn reset(&mut self) {
        for (_, mut t) in self.tracks.drain() {
            if self.pool.len() < POOL {
                t.clear();
                self.pool.push(t);
            }
        }
        self.line_counts.fill(LineCount::default());
        self.zone_counts.fill(ZoneCount::default());
        self.frame_overcrowded = false;
    }
}

fn anchor_of(anchor: Anchor, obj: &Object) -> Point {
    anchor_point(anchor, obj.x, obj.y, obj.width, obj.height)
}

fn exit_events(events: &mut Vec<Event>, zone: usize, track: u64, label: &str, zt: &ZoneTrack) {
    let dwell_ms = zt.exit_dwell_ms();
    if zt.loitering {
        events.push(Event::LoiteringEnd {
            zone,
            track,
            label: label.to_string(),
            dwell_ms,
        });
    }
    events.push(Event::ZoneExit {
        zone,
        track,
        label: label.to_string(),
        dwell_ms,
    });
}

fn crowding(
    events: &mut Vec<Event>,
    zone: Option<usize>,
    on: &mut bool,
    count: u64,
    max: Option<u32>,
) {
    let over = max.is_some_and(|m| count > u64::from(m));
    if over && !*on {
        events.push(Event::OvercrowdingStart { zone, count });
    } else if !over && *on {
        events.push(Event::OvercrowdingEnd { zone, count });
    }
    *on = over;
}

#[cfg(test)]
#[path = "count_tests.rs"]
mod tests;
#[cfg(test)]
#[path = "count_zone_tests.rs"]
mod zone_tests;
