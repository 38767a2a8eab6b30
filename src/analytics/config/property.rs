//! The element's property strings for zones, lines and directions (syntax in `config.rs`'
//! module doc).

use super::values::*;
use super::ConfigError;
use crate::analytics::{Direction, Line, Zone};

fn items<'a>(
    what: &'a str,
    s: &'a str,
) -> impl Iterator<Item = Result<(usize, &'a str, &'a str), ConfigError>> + 'a {
    s.split('|')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .enumerate()
        .map(move |(i, item)| match item.split_once(':') {
            Some((name, v)) => Ok((i + 1, name.trim(), v.trim())),
            None => Err(ConfigError::general(format!(
                "{what} item {}: {item:?} has no \"NAME:\" before its numbers",
                i + 1
            ))),
        })
}

fn item_error(what: &str, i: usize, name: &str) -> impl Fn(String) -> ConfigError {
    let prefix = format!("{what} item {i} ({name}): ");
    move |m| ConfigError::general(format!("{prefix}{m}"))
}

/// Parses the `zones` property: `NAME:x;y;x;y;x;y[;...]|...` (see the module doc).
pub fn parse_zone_property(s: &str) -> Result<Vec<Zone>, ConfigError> {
    let mut zones = Vec::new();
    for item in items("zones", s) {
        let (i, name, v) = item?;
        let err = item_error("zones", i, name);
        let z = new_zone(name, points("points", v).map_err(&err)?);
        check(None, std::slice::from_ref(&z), &[], &[]).map_err(|e| err(e.message))?;
        zones.push(z);
    }
    check(None, &zones, &[], &[])
        .map_err(|e| ConfigError::general(format!("zones: {}", e.message)))?;
    Ok(zones)
}

/// Parses the `lines` property: `NAME:x1;y1;x2;y2[;dx1;dy1;dx2;dy2]|...`.
pub fn parse_line_property(s: &str) -> Result<Vec<Line>, ConfigError> {
    let mut lines = Vec::new();
    for item in items("lines", s) {
        let (i, name, v) = item?;
        let err = item_error("lines", i, name);
        let v = numbers("points", v).map_err(&err)?;
        if v.len() != 4 && v.len() != 8 {
            return Err(err(format!(
                "{} numbers, 4 or 8 expected (x1;y1;x2;y2[;dx1;dy1;dx2;dy2])",
                v.len()
            )));
        }
        let mut line = new_line(name, &v);
        if v.len() == 8 {
            line.in_direction = Some(vector(&v[4..]));
        }
        check(None, &[], std::slice::from_ref(&line), &[]).map_err(|e| err(e.message))?;
        lines.push(line);
    }
    check(None, &[], &lines, &[])
        .map_err(|e| ConfigError::general(format!("lines: {}", e.message)))?;
    Ok(lines)
}

/// Parses the `directions` property: `NAME:x1;y1;x2;y2|...`.
pub fn parse_direction_property(s: &str) -> Result<Vec<Direction>, ConfigError> {
    let mut dirs = Vec::new();
    for item in items("directions", s) {
        let (i, name, v) = item?;
        let err = item_error("directions", i, name);
        let d = new_direction(name, &exactly("points", v, 4, "x1;y1;x2;y2").map_err(&err)?);
        check(None, &[], &[], std::slice::from_ref(&d)).map_err(|e| err(e.message))?;
        dirs.push(d);
    }
    check(None, &[], &[], &dirs)
        .map_err(|e| ConfigError::general(format!("directions: {}", e.message)))?;
    Ok(dirs)
}

/// The `zones` property string of `zones` (outlines only).
pub fn zones_to_property(zones: &[Zone]) -> String {
    let v: Vec<String> = zones
        .iter()
        .map(|z| format!("{}:{}", z.name, fmt_points(&z.outline)))
        .collect();
    v.join("|")
}

/// The `lines` property string of `lines` (ends and `in` direction).
pub fn lines_to_property(lines: &[Line]) -> String {
    let v: Vec<String> = lines
        .iter()
        .map(|l| match l.in_direction {
            Some(d) => format!("{}:{};0;0;{};{}", l.name, fmt_points(&[l.a, l.b]), d.x, d.y),
            None => format!("{}:{}", l.name, fmt_points(&[l.a, l.b])),
        })
        .collect();
    v.join("|")
}

/// The `directions` property string of `directions`.
pub fn directions_to_property(directions: &[Direction]) -> String {
    let v: Vec<String> = directions
        .iter()
        .map(|d| format!("{}:{}", d.name, fmt_points(&[d.from, d.to])))
        .collect();
    v.join("|")
}
