//! The geometry of a deployment from text: our own file, DeepStream's nvdsanalytics file and
//! the element's property strings. Every error says exactly what is wrong, with the line
//! where there is one; the result is checked with [`geometry::validate`].
//!
//! Our file is parsed here; `config/nvdsanalytics.rs` reads DeepStream's file,
//! `config/property.rs` the property strings, `config/values.rs` holds the value parsers they
//! share (numbers, booleans, modes, anchors, durations, class lists).
//!
//! # Our file ([`parse_file`], written back by [`write_file`])
//! A key file (`#`/`;` comments, see `crate::keyfile`), one group per object, in file order:
//! ```text
//! [geometry]
//! width=1920            # reference size of the coordinates below (rescaled to the frame) ...
//! height=1080
//! # normalised=true     # ... or 0..1 of the frame (instead of width/height)
//! # max-objects=20      # overcrowding of the whole frame (optional)
//!
//! [zone.door]           # a polygon named `door`
//! points=10;10;100;10;100;100;10;100       # x;y pairs, at least 3 points (required)
//! holes=40;40;60;40;60;60|70;70;80;70;80;80 # polygons inside, separated by `|` (optional)
//! inverse=false         # the zone is everything outside the outline
//! classes=person,car    # labels or class ids, comma-separated; empty or absent: every class
//! anchor=bottom-centre  # centre, top-left, top-centre, top-right, bottom-left, bottom-right
//! inertia=3             # frames inside (outside) before entry (exit)
//! loiter=10s            # loitering alarm after this time (units ms, s, m, h; optional)
//! max-objects=5         # overcrowding above this many objects (optional)
//!
//! [line.entrance]
//! points=0;500;1920;500 # x1;y1;x2;y2 (required)
//! in=0;0;0;-1           # dx1;dy1;dx2;dy2: crossing towards where this vector points is `in`
//!                       # (optional; default: from the left of a->b to its right, y down)
//! mode=balanced         # strict, balanced or loose
//! min-distance=8        # beyond the line before a side counts (optional)
//! extended=false        # the infinite line, not just the segment
//! classes=person
//! anchor=bottom-centre
//!
//! [direction.north]
//! points=960;1000;960;0 # from x;y to x;y (required)
//! tolerance=45          # degrees either side (default 45)
//! classes=
//! ```
//! Booleans are `true`/`false`/`1`/`0`. Unknown groups and keys are errors.
//!
//! # DeepStream's file ([`parse_nvdsanalytics`]), the groups of one stream
//! - `[property]` (required): `config-width`, `config-height` (required, the reference
//!   size); `enable=0` gives an empty geometry; `osd-mode` (0..2), `display-font-size`,
//!   `obj-cnt-win-in-ms`, `display-obj-cnt` are checked and otherwise ignored (drawing is
//!   rsoverlay's).
//! - `[roi-filtering-stream-N]`: each `roi-<NAME>=x1;y1;x2;y2;...` is a zone; `inverse-roi`
//!   sets `inverse`; `class-id`.
//! - `[overcrowding-stream-N]`: each `roi-<NAME>` is a zone with `max_objects =
//!   object-threshold - 1` (DeepStream: "no of objects that will trigger OC", default 1);
//!   without a `roi-` key the threshold is the whole frame's (`frame_max_objects`). A name
//!   already used by a roi-filtering zone with the same points and classes gets the
//!   threshold on that zone. `time-threshold` is checked and not applied.
//! - `[line-crossing-stream-N]`: each `line-crossing-<NAME>=dx1;dy1;dx2;dy2;x1;y1;x2;y2` is a
//!   line from (x1,y1) to (x2,y2) whose `in` direction is `(dx2-dx1, dy2-dy1)`; `extended`
//!   (absent: 1, as DeepStream's parser: the same geometry as there), `mode=strict|balanced|loose`
//!   (absent: balanced, where DeepStream's parser uses loose: on purpose, loose counts a
//!   jitter on the line as crossings), `class-id`.
//! - `[direction-detection-stream-N]`: each `direction-<NAME>=x1;y1;x2;y2` is a direction
//!   (tolerance 45 degrees); `class-id`; `mode` is checked and not applied.
//!
//! `class-id` is a `;` list of class ids, kept as text (`0;2` -> `["0", "2"]`); `-1` means
//! every class. Anchors are the bottom centre (as in DeepStream). Unlike DeepStream, unknown
//! groups and keys, an unknown `mode` and a stream group without `enable` are errors;
//! groups of every stream are checked, those with `enable=0` are not used (nor their shapes
//! validated). Numbers may be decimal and a list may end with `;`.
//!
//! # Property strings
//! - `zones`: `NAME:x;y;x;y;x;y[;...]` items separated by `|`, e.g.
//!   `door:10;10;100;10;100;100;10;100|hall:0;0;50;0;50;50`.
//! - `lines`: `NAME:x1;y1;x2;y2[;dx1;dy1;dx2;dy2]` (the optional direction segment gives the
//!   `in` direction, as in DeepStream but after the line), e.g. `entrance:0;500;1920;500`.
//! - `directions`: `NAME:x1;y1;x2;y2`.
//!
//! Every other setting of an object from a property is the default (holes, classes, modes:
//! use the file).

use std::fmt;

use super::geometry;
use super::{Coordinates, Geometry, Line, Zone};
use crate::keyfile::{self, Group};

mod nvdsanalytics;
mod property;
mod values;

pub use nvdsanalytics::parse_nvdsanalytics;
pub use property::{
    directions_to_property, lines_to_property, parse_direction_property, parse_line_property,
    parse_zone_property, zones_to_property,
};
use values::*;

/// Frames an object must be inside (outside) a zone before it enters (leaves).
pub const DEFAULT_INERTIA: u32 = 3;
/// Tolerance of a direction when the file does not give one (nvdsanalytics never does).
pub const DEFAULT_DIRECTION_TOLERANCE_DEG: f64 = 45.0;

/// A configuration that cannot be used: where (when known) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, when the caller said (see [`ConfigError::in_file`]).
    pub file: Option<String>,
    /// Line number (1-based), when the problem has one.
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigError {
    fn at(line: usize, message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            line: Some(line),
            message: message.into(),
        }
    }

    fn general(message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            line: None,
            message: message.into(),
        }
    }

    /// The same error, naming `path` (empty: unchanged).
    pub fn in_file(mut self, path: &str) -> Self {
        if !path.is_empty() {
            self.file = Some(path.to_string());
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(p), Some(l)) => write!(f, "{p}:{l}: {}", self.message),
            (Some(p), None) => write!(f, "{p}: {}", self.message),
            (None, Some(l)) => write!(f, "line {l}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

fn from_keyfile(e: keyfile::KeyFileError) -> ConfigError {
    ConfigError::at(e.line, e.message)
}

// ---------------------------------------------------------------------------------------
// Our file

/// Parses our own geometry file (see the module doc); errors name `path_for_errors`.
pub fn parse_file(text: &str, path_for_errors: &str) -> Result<Geometry, ConfigError> {
    parse_ours(text).map_err(|e| e.in_file(path_for_errors))
}

fn parse_ours(text: &str) -> Result<Geometry, ConfigError> {
    let groups = keyfile::parse(text).map_err(from_keyfile)?;
    let mut g = Geometry {
        coordinates: Coordinates::Normalised,
        zones: Vec::new(),
        lines: Vec::new(),
        directions: Vec::new(),
        frame_max_objects: None,
    };
    let mut have_geometry = false;
    for group in &groups {
        let at = |l: usize| move |m: String| ConfigError::at(l, m);
        if group.name == "geometry" {
            have_geometry = true;
            parse_geometry_group(group, &mut g)?;
            continue;
        }
        let (kind, name) = group.name.split_once('.').unwrap_or((&group.name, ""));
        if ["zone", "line", "direction"].contains(&kind) && !geometry::valid_name(name) {
            return Err(ConfigError::at(
                group.line,
                format!(
                    "{kind} name {name:?}: use letters, digits, '-' and '_' only (and not empty)"
                ),
            ));
        }
        match kind {
            "zone" => g.zones.push(parse_zone_group(group, name)?),
            "line" => g.lines.push(parse_line_group(group, name)?),
            "direction" => {
                let (v, pl) = required(group, "points")?;
                let v = exactly("points", &v, 4, "x1;y1;x2;y2").map_err(at(pl))?;
                let mut d = new_direction(name, &v);
                for (key, value, l) in &group.entries {
                    match key.as_str() {
                        "points" => {}
                        "tolerance" => d.tolerance_deg = non_negative(key, value).map_err(at(*l))?,
                        "classes" => d.classes = classes(key, value).map_err(at(*l))?,
                        _ => return Err(ConfigError::at(*l, unknown_key(group, key, "points, tolerance, classes"))),
                    }
                }
                check(Some(group.line), &[], &[], std::slice::from_ref(&d))?;
                g.directions.push(d);
            }
            _ => {
                return Err(ConfigError::at(
                    group.line,
                    format!(
                        "unknown group [{}] (expected [geometry], [zone.NAME], [line.NAME] or [direction.NAME])",
                        group.name
                    ),
                ))
            }
        }
    }
    if !have_geometry {
        return Err(ConfigError::general(
            "no [geometry] group: give width= and height= (the reference size) or normalised=true",
        ));
    }
    geometry::validate(&g).map_err(ConfigError::general)?;
    Ok(g)
}

fn parse_geometry_group(group: &Group, g: &mut Geometry) -> Result<(), ConfigError> {
    let (mut width, mut height, mut normalised) = (None, None, false);
    for (key, value, l) in &group.entries {
        let at = |m: String| ConfigError::at(*l, m);
        match key.as_str() {
            "width" => width = Some(non_negative(key, value).map_err(at)?),
            "height" => height = Some(non_negative(key, value).map_err(at)?),
            "normalised" | "normalized" => normalised = boolean(key, value).map_err(at)?,
            "max-objects" => g.frame_max_objects = Some(uint(key, value).map_err(at)?),
            _ => {
                return Err(at(unknown_key(
                    group,
                    key,
                    "width, height, normalised, max-objects",
                )))
            }
        }
    }
    let fail = |m: &str| Err(ConfigError::at(group.line, format!("[geometry]: {m}")));
    g.coordinates = match (width, height, normalised) {
        (Some(width), Some(height), false) => Coordinates::Pixels { width, height },
        (None, None, true) => Coordinates::Normalised,
        (_, _, true) => return fail("normalised=true and width/height exclude each other"),
        _ => return fail("give both width= and height= (the reference size), or normalised=true"),
    };
    geometry::validate(&Geometry {
        zones: vec![],
        lines: vec![],
        directions: vec![],
        ..g.clone()
    })
    .map_err(|m| ConfigError::at(group.line, m))
}

fn parse_zone_group(group: &Group, name: &str) -> Result<Zone, ConfigError> {
    let (v, points_line) = required(group, "points")?;
    let mut z = new_zone(
        name,
        points("points", &v).map_err(|m| ConfigError::at(points_line, m))?,
    );
    let mut holes_line = points_line;
    for (key, value, l) in &group.entries {
        let at = |m: String| ConfigError::at(*l, m);
        match key.as_str() {
            "points" => {}
            "holes" => {
                holes_line = *l;
                z.holes = value
                    .split('|')
                    .enumerate()
                    .map(|(i, h)| points(&format!("holes (hole {})", i + 1), h))
                    .collect::<Result<_, _>>()
                    .map_err(at)?;
            }
            "inverse" => z.inverse = boolean(key, value).map_err(at)?,
            "classes" => z.classes = classes(key, value).map_err(at)?,
            "anchor" => z.anchor = anchor(key, value).map_err(at)?,
            "inertia" => z.inertia = uint(key, value).map_err(at)?,
            "loiter" => z.loiter_ms = Some(duration_ms(key, value).map_err(at)?),
            "max-objects" => z.max_objects = Some(uint(key, value).map_err(at)?),
            _ => {
                return Err(at(unknown_key(
                    group,
                    key,
                    "points, holes, inverse, classes, anchor, inertia, loiter, max-objects",
                )))
            }
        }
    }
    let outline_only = Zone {
        holes: Vec::new(),
        ..z.clone()
    };
    check(Some(points_line), &[outline_only], &[], &[])?;
    check(Some(holes_line), std::slice::from_ref(&z), &[], &[])?;
    Ok(z)
}

fn parse_line_group(group: &Group, name: &str) -> Result<Line, ConfigError> {
    let (v, points_line) = required(group, "points")?;
    let v = exactly("points", &v, 4, "x1;y1;x2;y2").map_err(|m| ConfigError::at(points_line, m))?;
    let mut line = new_line(name, &v);
    let mut in_line = points_line;
    for (key, value, l) in &group.entries {
        let at = |m: String| ConfigError::at(*l, m);
        match key.as_str() {
            "points" => {}
            "in" => {
                in_line = *l;
                let v = exactly(key, value, 4, "dx1;dy1;dx2;dy2").map_err(at)?;
                line.in_direction = Some(vector(&v));
            }
            "mode" => line.mode = mode(key, value).map_err(at)?,
            "min-distance" => line.min_distance = Some(non_negative(key, value).map_err(at)?),
            "extended" => line.extended = boolean(key, value).map_err(at)?,
            "classes" => line.classes = classes(key, value).map_err(at)?,
            "anchor" => line.anchor = anchor(key, value).map_err(at)?,
            _ => {
                return Err(at(unknown_key(
                    group,
                    key,
                    "points, in, mode, min-distance, extended, classes, anchor",
                )))
            }
        }
    }
    let without_in = Line {
        in_direction: None,
        ..line.clone()
    };
    check(Some(points_line), &[], &[without_in], &[])?;
    check(Some(in_line), &[], std::slice::from_ref(&line), &[])?;
    Ok(line)
}

/// Writes `g` in our file format; [`parse_file`] reads it back to an equal geometry.
pub fn write_file(g: &Geometry) -> String {
    let mut s = String::from("[geometry]\n");
    match g.coordinates {
        Coordinates::Pixels { width, height } => s += &format!("width={width}\nheight={height}\n"),
        Coordinates::Normalised => s += "normalised=true\n",
    }
    if let Some(m) = g.frame_max_objects {
        s += &format!("max-objects={m}\n");
    }
    for z in &g.zones {
        s += &format!("\n[zone.{}]\npoints={}\n", z.name, fmt_points(&z.outline));
        if !z.holes.is_empty() {
            let holes: Vec<String> = z.holes.iter().map(|h| fmt_points(h)).collect();
            s += &format!("holes={}\n", holes.join("|"));
        }
        s += &format!(
            "inverse={}\nclasses={}\nanchor={}\ninertia={}\n",
            z.inverse,
            z.classes.join(","),
            anchor_name(z.anchor),
            z.inertia
        );
        if let Some(ms) = z.loiter_ms {
            s += &format!("loiter={ms}ms\n");
        }
        if let Some(m) = z.max_objects {
            s += &format!("max-objects={m}\n");
        }
    }
    for l in &g.lines {
        s += &format!("\n[line.{}]\npoints={}\n", l.name, fmt_points(&[l.a, l.b]));
        if let Some(v) = l.in_direction {
            s += &format!("in=0;0;{};{}\n", v.x, v.y);
        }
        s += &format!(
            "mode={}\nextended={}\nclasses={}\nanchor={}\n",
            mode_name(l.mode),
            l.extended,
            l.classes.join(","),
            anchor_name(l.anchor)
        );
        if let Some(d) = l.min_distance {
            s += &format!("min-distance={d}\n");
        }
    }
    for d in &g.directions {
        s += &format!(
            "\n[direction.{}]\npoints={}\ntolerance={}\nclasses={}\n",
            d.name,
            fmt_points(&[d.from, d.to]),
            d.tolerance_deg,
            d.classes.join(",")
        );
    }
    s
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
