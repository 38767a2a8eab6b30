//! Value parsers and constructors shared by the three formats of `config.rs`: every
//! parser returns the message of what is wrong, its caller adds the line.

use super::{ConfigError, DEFAULT_DIRECTION_TOLERANCE_DEG, DEFAULT_INERTIA};
use crate::analytics::geometry;
use crate::analytics::{Anchor, Coordinates, CrossingMode, Direction, Geometry, Line, Point, Zone};
use crate::keyfile::Group;

pub(super) fn numbers(key: &str, value: &str) -> Result<Vec<f64>, String> {
    let mut items: Vec<&str> = value.split(';').map(str::trim).collect();
    if items.len() > 1 && items.last() == Some(&"") {
        items.pop();
    }
    if items == [""] {
        return Err(format!("{key}: no numbers"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, s)| match s.parse::<f64>() {
            _ if s.is_empty() => Err(format!("{key}: item {} is empty (two ';' in a row)", i + 1)),
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(format!(
                "{key}: item {} {s:?} is not a finite number",
                i + 1
            )),
            Err(_) => Err(format!("{key}: item {} {s:?} is not a number", i + 1)),
        })
        .collect()
}

pub(super) fn exactly(key: &str, value: &str, n: usize, layout: &str) -> Result<Vec<f64>, String> {
    let v = numbers(key, value)?;
    if v.len() != n {
        return Err(format!(
            "{key}: {} numbers, {n} expected ({layout})",
            v.len()
        ));
    }
    Ok(v)
}

pub(super) fn points(key: &str, value: &str) -> Result<Vec<Point>, String> {
    let v = numbers(key, value)?;
    if v.len() % 2 != 0 {
        return Err(format!(
            "{key}: {} numbers, an even count expected (x;y pairs)",
            v.len()
        ));
    }
    Ok(v.chunks(2).map(|c| Point { x: c[0], y: c[1] }).collect())
}

pub(super) fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(format!("{key}={value}: expected true, false, 1 or 0")),
    }
}

pub(super) fn uint(key: &str, value: &str) -> Result<u32, String> {
    value
        .parse()
        .map_err(|_| format!("{key}={value}: expected a whole number >= 0"))
}

pub(super) fn non_negative(key: &str, value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{key}={value}: expected a number >= 0")),
    }
}

pub(super) fn mode(key: &str, value: &str) -> Result<CrossingMode, String> {
    match value {
        "strict" => Ok(CrossingMode::Strict),
        "balanced" => Ok(CrossingMode::Balanced),
        "loose" => Ok(CrossingMode::Loose),
        _ => Err(format!("{key}={value}: expected strict, balanced or loose")),
    }
}

pub(super) const ANCHORS: [(&str, Anchor); 7] = [
    ("bottom-centre", Anchor::BottomCentre),
    ("centre", Anchor::Centre),
    ("top-left", Anchor::TopLeft),
    ("top-right", Anchor::TopRight),
    ("bottom-left", Anchor::BottomLeft),
    ("bottom-right", Anchor::BottomRight),
    ("top-centre", Anchor::TopCentre),
];

pub(super) fn anchor(key: &str, value: &str) -> Result<Anchor, String> {
    let v = value.replace("center", "centre");
    ANCHORS
        .iter()
        .find(|(n, _)| *n == v)
        .map(|(_, a)| *a)
        .ok_or_else(|| {
            let names: Vec<&str> = ANCHORS.iter().map(|(n, _)| *n).collect();
            format!("{key}={value}: expected one of {}", names.join(", "))
        })
}

pub(super) fn anchor_name(a: Anchor) -> &'static str {
    ANCHORS
        .iter()
        .find(|(_, x)| *x == a)
        .map_or("bottom-centre", |(n, _)| n)
}

pub(super) fn duration_ms(key: &str, value: &str) -> Result<u64, String> {
    let split = value
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(value.len());
    let (num, unit) = value.split_at(split);
    let scale = match unit {
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        "" => return Err(format!("{key}={value}: give a unit (e.g. 10s, 500ms, 2m)")),
        _ => {
            return Err(format!(
                "{key}={value}: unknown unit {unit:?} (ms, s, m or h)"
            ))
        }
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok((v * scale).round() as u64),
        _ => Err(format!("{key}={value}: expected a duration such as 10s")),
    }
}

pub(super) fn classes(key: &str, value: &str) -> Result<Vec<String>, String> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|c| match c.trim() {
            "" => Err(format!("{key}={value}: empty class name")),
            c => Ok(c.to_string()),
        })
        .collect()
}

/// `class-id=0;2` (DeepStream): ids as text, `-1` anywhere (or an empty list): every class.
pub(super) fn class_ids(key: &str, value: &str) -> Result<Vec<String>, String> {
    let mut items: Vec<&str> = value.split(';').map(str::trim).collect();
    if items.last() == Some(&"") {
        items.pop();
    }
    let mut ids = Vec::new();
    for s in items {
        match s.parse::<i64>() {
            Ok(-1) => return Ok(Vec::new()),
            Ok(v) if v >= 0 => ids.push(v.to_string()),
            _ => {
                return Err(format!(
                    "{key}={value}: {s:?} is not a class id (>= 0, or -1)"
                ))
            }
        }
    }
    Ok(ids)
}

/// Checks shapes with `geometry::validate` (names, points, lines), at `line`.
pub(super) fn check(
    line: Option<usize>,
    zones: &[Zone],
    lines: &[Line],
    dirs: &[Direction],
) -> Result<(), ConfigError> {
    let g = Geometry {
        coordinates: Coordinates::Normalised,
        zones: zones.to_vec(),
        lines: lines.to_vec(),
        directions: dirs.to_vec(),
        frame_max_objects: None,
    };
    geometry::validate(&g).map_err(|m| ConfigError {
        file: None,
        line,
        message: m,
    })
}

pub(super) fn new_zone(name: &str, outline: Vec<Point>) -> Zone {
    Zone {
        name: name.to_string(),
        outline,
        holes: Vec::new(),
        inverse: false,
        classes: Vec::new(),
        anchor: Anchor::BottomCentre,
        inertia: DEFAULT_INERTIA,
        loiter_ms: None,
        max_objects: None,
    }
}

pub(super) fn new_line(name: &str, v: &[f64]) -> Line {
    Line {
        name: name.to_string(),
        a: Point { x: v[0], y: v[1] },
        b: Point { x: v[2], y: v[3] },
        in_direction: None,
        extended: false,
        mode: CrossingMode::Balanced,
        min_distance: None,
        classes: Vec::new(),
        anchor: Anchor::BottomCentre,
    }
}

pub(super) fn new_direction(name: &str, v: &[f64]) -> Direction {
    Direction {
        name: name.to_string(),
        from: Point { x: v[0], y: v[1] },
        to: Point { x: v[2], y: v[3] },
        tolerance_deg: DEFAULT_DIRECTION_TOLERANCE_DEG,
        classes: Vec::new(),
    }
}

/// `(dx1;dy1;dx2;dy2)` as the vector `to - from`.
pub(super) fn vector(v: &[f64]) -> Point {
    Point {
        x: v[2] - v[0],
        y: v[3] - v[1],
    }
}

pub(super) fn unknown_key(group: &Group, key: &str, known: &str) -> String {
    format!("unknown key {key:?} in [{}] (known: {known})", group.name)
}

pub(super) fn required(group: &Group, key: &str) -> Result<(String, usize), ConfigError> {
    match (group.get(key), group.line_of(key)) {
        (Some(v), Some(l)) => Ok((v.to_string(), l)),
        _ => Err(ConfigError::at(
            group.line,
            format!("[{}] has no {key:?} key", group.name),
        )),
    }
}

pub(super) fn fmt_points(points: &[Point]) -> String {
    points
        .iter()
        .map(|p| format!("{};{}", p.x, p.y))
        .collect::<Vec<_>>()
        .join(";")
}

pub(super) fn mode_name(m: CrossingMode) -> &'static str {
    match m {
        CrossingMode::Strict => "strict",
        CrossingMode::Balanced => "balanced",
        CrossingMode::Loose => "loose",
    }
}
