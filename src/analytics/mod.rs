//! Zone and line analytics on tracked objects, without GStreamer: the geometry of a
//! deployment (named zones, lines and directions) and the per-track counting rules
//! (`rsanalytics` is their element glue).
//!
//! - `geometry.rs`: points, polygons with holes, segments; point in polygon, crossing of a
//!   line with its direction, rescaling from the reference size to the frame size.
//! - `config.rs`: the geometry from our own file and properties, and from DeepStream's
//!   nvdsanalytics configuration file (`[property]`, `[roi-filtering-stream-N]`,
//!   `[overcrowding-stream-N]`, `[line-crossing-stream-N]`, `[direction-detection-stream-N]`).
//! - `count.rs`: the counting engine: crossings once per real crossing (hysteresis), zone
//!   entry after `inertia` frames, dwell time, loitering, overcrowding, directions.
//!
//! Coordinates are frame pixels of the reference size a [`Geometry`] states (rescaled to
//! the actual frame), or normalised to 0..1.

pub mod config;
pub mod count;
pub mod geometry;

/// A point in the geometry's coordinates (reference pixels or normalised).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// Which point of an object's box is tested against zones and lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Anchor {
    /// The middle of the bottom edge: where people stand (the default).
    #[default]
    BottomCentre,
    Centre,
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
    TopCentre,
}

/// How strictly a line crossing is counted (nvdsanalytics' `mode`, made precise in
/// `count.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrossingMode {
    /// The anchor must be a minimum distance beyond the line on both sides, and the track
    /// must have been seen on the starting side for a few frames.
    Strict,
    /// The anchor must be a minimum distance beyond the line (the default).
    #[default]
    Balanced,
    /// Any change of side counts (nvdsanalytics' loose: jitter counts too).
    Loose,
}

/// A named polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: String,
    /// The outline (at least 3 points, any winding, concave allowed).
    pub outline: Vec<Point>,
    /// Holes inside the outline (points inside a hole are outside the zone).
    pub holes: Vec<Vec<Point>>,
    /// nvdsanalytics `inverse-roi`: the zone is everything outside the outline.
    pub inverse: bool,
    /// Labels (or class ids as text) counted; empty: every class.
    pub classes: Vec<String>,
    pub anchor: Anchor,
    /// Frames an object must be inside (outside) before it enters (leaves) (Frigate's
    /// `inertia`, default 3).
    pub inertia: u32,
    /// Loitering alarm when a track stays longer than this (ms; `None`: no alarm).
    pub loiter_ms: Option<u64>,
    /// Overcrowding when more than this many objects are inside (`None`: no alarm).
    pub max_objects: Option<u32>,
}

/// A named tripwire from `a` to `b`. Crossing from the left of `a -> b` to its right (in
/// image coordinates, y down: clockwise) is `in`, unless `in_direction` says otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub a: Point,
    pub b: Point,
    /// The `in` direction as a vector (nvdsanalytics' direction segment `dx1;dy1;dx2;dy2`
    /// as `to - from`); `None`: left to right of `a -> b`.
    pub in_direction: Option<Point>,
    /// nvdsanalytics `extended`: the line is infinite, not just the segment.
    pub extended: bool,
    pub mode: CrossingMode,
    /// Minimum distance beyond the line, in the geometry's coordinates, before a side counts
    /// (hysteresis; `None`: the default of the mode, see `count.rs`).
    pub min_distance: Option<f64>,
    pub classes: Vec<String>,
    pub anchor: Anchor,
}

/// A named direction (nvdsanalytics `direction-<name>=x1;y1;x2;y2`): objects moving within
/// `tolerance_deg` of `to - from` are said to move in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Direction {
    pub name: String,
    pub from: Point,
    pub to: Point,
    pub tolerance_deg: f64,
    pub classes: Vec<String>,
}

/// The coordinates a [`Geometry`] is written in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coordinates {
    /// Frame pixels of a frame of this size (rescaled to the actual frame).
    Pixels { width: f64, height: f64 },
    /// 0..1 of the frame's width and height.
    Normalised,
}

/// Everything one stream is analysed against.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    pub coordinates: Coordinates,
    pub zones: Vec<Zone>,
    pub lines: Vec<Line>,
    pub directions: Vec<Direction>,
    /// nvdsanalytics' `[overcrowding-stream-N]` on the whole frame when it names no zone
    /// (applied to every zone otherwise).
    pub frame_max_objects: Option<u32>,
}
