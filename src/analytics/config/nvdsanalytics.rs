//! DeepStream's nvdsanalytics configuration file, the groups of one stream (the mapping of
//! every key is in `config.rs`' module doc).

use super::values::*;
use super::{from_keyfile, ConfigError};
use crate::analytics::geometry;
use crate::analytics::{Coordinates, CrossingMode, Geometry, Point};
use crate::keyfile::{self, Group};

#[derive(Clone, Copy, PartialEq)]
enum NvKind {
    Roi,
    Overcrowding,
    LineCrossing,
    Direction,
}

const NV_GROUPS: [(&str, NvKind); 4] = [
    ("roi-filtering-stream-", NvKind::Roi),
    ("overcrowding-stream-", NvKind::Overcrowding),
    ("line-crossing-stream-", NvKind::LineCrossing),
    ("direction-detection-stream-", NvKind::Direction),
];

/// Parses DeepStream's nvdsanalytics configuration and returns the geometry of `stream`
/// (see the module doc for the mapping of every key).
pub fn parse_nvdsanalytics(text: &str, stream: u32) -> Result<Geometry, ConfigError> {
    let groups = keyfile::parse(text).map_err(from_keyfile)?;
    let property = groups
        .iter()
        .find(|g| g.name == "property")
        .ok_or_else(|| {
            ConfigError::general("no [property] group (with config-width and config-height)")
        })?;
    let (enabled, width, height) = nv_property(property)?;
    let mut g = Geometry {
        coordinates: Coordinates::Pixels { width, height },
        zones: Vec::new(),
        lines: Vec::new(),
        directions: Vec::new(),
        frame_max_objects: None,
    };
    let mut zone_lines: Vec<usize> = Vec::new();
    for group in groups.iter().filter(|g| g.name != "property") {
        let Some((kind, n)) = NV_GROUPS
            .iter()
            .find_map(|(p, k)| group.name.strip_prefix(p).map(|n| (*k, n)))
        else {
            return Err(ConfigError::at(
                group.line,
                format!(
                    "unknown group [{}] (nvdsanalytics has [property], [roi-filtering-stream-N], \
                     [overcrowding-stream-N], [line-crossing-stream-N], [direction-detection-stream-N])",
                    group.name
                ),
            ));
        };
        let Ok(n) = n.parse::<u32>() else {
            return Err(ConfigError::at(
                group.line,
                format!("[{}]: {n:?} is not a stream number", group.name),
            ));
        };
        nv_group(group, kind, n == stream && enabled, &mut g, &mut zone_lines)?;
    }
    geometry::validate(&g).map_err(ConfigError::general)?;
    Ok(g)
}

fn nv_property(group: &Group) -> Result<(bool, f64, f64), ConfigError> {
    let mut enabled = true;
    for (key, value, l) in &group.entries {
        let at = |m: String| ConfigError::at(*l, m);
        match key.as_str() {
            "enable" => enabled = boolean(key, value).map_err(at)?,
            "config-width" | "config-height" | "display-font-size" | "obj-cnt-win-in-ms" => {
                uint(key, value).map_err(at)?;
            }
            "osd-mode" => {
                if uint(key, value).map_err(at)? > 2 {
                    return Err(at(format!("osd-mode={value}: expected 0, 1 or 2")));
                }
            }
            "display-obj-cnt" => {
                boolean(key, value).map_err(at)?;
            }
            _ => {
                return Err(at(unknown_key(
                    group,
                    key,
                    "enable, config-width, config-height, osd-mode, display-font-size, \
                     obj-cnt-win-in-ms, display-obj-cnt",
                )))
            }
        }
    }
    let size = |key: &str| -> Result<f64, ConfigError> {
        let (v, l) = required(group, key)?;
        match uint(key, &v) {
            Ok(0) => Err(ConfigError::at(l, format!("{key}=0: must be > 0"))),
            Ok(n) => Ok(f64::from(n)),
            Err(m) => Err(ConfigError::at(l, m)),
        }
    };
    Ok((enabled, size("config-width")?, size("config-height")?))
}

/// Parses one stream group; adds its objects to `g` when `used` and the group is enabled.
fn nv_group(
    group: &Group,
    kind: NvKind,
    used: bool,
    g: &mut Geometry,
    zone_lines: &mut Vec<usize>,
) -> Result<(), ConfigError> {
    let known = match kind {
        NvKind::Roi => "enable, class-id, inverse-roi, roi-<NAME>",
        NvKind::Overcrowding => "enable, class-id, object-threshold, time-threshold, roi-<NAME>",
        NvKind::LineCrossing => "enable, class-id, extended, mode, line-crossing-<NAME>",
        NvKind::Direction => "enable, class-id, mode, direction-<NAME>",
    };
    // DeepStream's parser makes a line extended unless the file says `extended=0`: a file
    // brought unchanged keeps its geometry.
    let (mut enable, mut class_list, mut inverse, mut extended) = (None, Vec::new(), false, true);
    let (mut threshold, mut lc_mode) = (1u32, CrossingMode::Balanced);
    let mut shapes: Vec<(&str, Vec<f64>, usize)> = Vec::new();
    for (key, value, l) in &group.entries {
        let at = |m: String| ConfigError::at(*l, m);
        let shape = match kind {
            NvKind::Roi | NvKind::Overcrowding => key.strip_prefix("roi-"),
            NvKind::LineCrossing => key.strip_prefix("line-crossing-"),
            NvKind::Direction => key.strip_prefix("direction-"),
        };
        match (key.as_str(), kind) {
            ("enable", _) => enable = Some(boolean(key, value).map_err(at)?),
            ("class-id", _) => class_list = class_ids(key, value).map_err(at)?,
            ("inverse-roi", NvKind::Roi) => inverse = boolean(key, value).map_err(at)?,
            ("object-threshold", NvKind::Overcrowding) => {
                threshold = uint(key, value).map_err(at)?
            }
            ("time-threshold", NvKind::Overcrowding) => {
                uint(key, value).map_err(at)?;
            }
            ("extended", NvKind::LineCrossing) => extended = boolean(key, value).map_err(at)?,
            ("mode", NvKind::LineCrossing | NvKind::Direction) => {
                lc_mode = mode(key, value).map_err(at)?
            }
            _ => match shape {
                Some(name) => {
                    let v = match kind {
                        NvKind::Roi | NvKind::Overcrowding => points(key, value)
                            .map_err(at)?
                            .iter()
                            .flat_map(|p| [p.x, p.y])
                            .collect(),
                        NvKind::LineCrossing => {
                            exactly(key, value, 8, "dx1;dy1;dx2;dy2;x1;y1;x2;y2").map_err(at)?
                        }
                        NvKind::Direction => exactly(key, value, 4, "x1;y1;x2;y2").map_err(at)?,
                    };
                    shapes.push((name, v, *l));
                }
                None => return Err(at(unknown_key(group, key, known))),
            },
        }
    }
    let Some(enable) = enable else {
        return Err(ConfigError::at(
            group.line,
            format!("[{}] has no enable= key (DeepStream treats that as enable=0: write enable=0 or enable=1)", group.name),
        ));
    };
    if shapes.is_empty() && kind != NvKind::Overcrowding {
        let what = match kind {
            NvKind::LineCrossing => "line-crossing-<NAME>=",
            NvKind::Direction => "direction-<NAME>=",
            _ => "roi-<NAME>=",
        };
        return Err(ConfigError::at(
            group.line,
            format!("[{}] has no {what} key", group.name),
        ));
    }
    if !(used && enable) {
        return Ok(());
    }
    let max_objects = threshold.saturating_sub(1);
    if shapes.is_empty() {
        g.frame_max_objects = Some(max_objects);
    }
    for (name, v, l) in shapes {
        match kind {
            NvKind::Roi | NvKind::Overcrowding => {
                let mut z = new_zone(
                    name,
                    v.chunks(2).map(|c| Point { x: c[0], y: c[1] }).collect(),
                );
                z.inverse = inverse;
                z.classes = class_list.clone();
                check(Some(l), std::slice::from_ref(&z), &[], &[])?;
                if kind == NvKind::Overcrowding {
                    z.max_objects = Some(max_objects);
                    if let Some(i) = g.zones.iter().position(|e| e.name == z.name) {
                        let e = &mut g.zones[i];
                        if e.outline != z.outline
                            || e.classes != z.classes
                            || e.inverse
                            || e.max_objects.is_some()
                        {
                            return Err(ConfigError::at(
                                l,
                                format!(
                                    "roi-{name} names zone {name} of line {} with other points, classes or inverse-roi: give it another name",
                                    zone_lines[i]
                                ),
                            ));
                        }
                        e.max_objects = z.max_objects;
                        continue;
                    }
                }
                g.zones.push(z);
                zone_lines.push(l);
            }
            NvKind::LineCrossing => {
                let mut line = new_line(name, &v[4..]);
                line.in_direction = Some(vector(&v[..4]));
                line.extended = extended;
                line.mode = lc_mode;
                line.classes = class_list.clone();
                check(Some(l), &[], std::slice::from_ref(&line), &[])?;
                g.lines.push(line);
            }
            NvKind::Direction => {
                let mut d = new_direction(name, &v);
                d.classes = class_list.clone();
                check(Some(l), &[], &[], std::slice::from_ref(&d))?;
                g.directions.push(d);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "nvdsanalytics_tests.rs"]
mod tests;
