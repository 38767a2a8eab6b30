//! DeepStream's msgconv configuration file: `[sensorN]`, `[placeN]`, `[analyticsN]` groups
//! (REFERENCE.md section 3).

use std::collections::BTreeMap;
use std::fmt;

use crate::keyfile;

/// `lat;lon;alt`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    pub alt: f64,
}

/// `x;y;z`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Coordinate {
    pub x: f64,
    pub y: f64,
    pub z: f64,
}

/// A `[sensorN]` group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sensor {
    pub id: String,
    pub kind: String,
    pub description: String,
    pub location: Location,
    pub coordinate: Coordinate,
}

/// Which sub-object a place carries (DeepStream writes one of the three).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PlaceSubObject {
    /// `entrance`: `name`, `lane`, `level` (what deepstream-test5 sends).
    #[default]
    Entrance,
    /// `aisle`: `id`, `name`, `level`.
    Aisle,
    /// `parkingSpot`: `id`, `type`, `level`.
    ParkingSpot,
}

impl PlaceSubObject {
    /// The JSON member name.
    pub fn json_name(self) -> &'static str {
        match self {
            PlaceSubObject::Entrance => "entrance",
            PlaceSubObject::Aisle => "aisle",
            PlaceSubObject::ParkingSpot => "parkingSpot",
        }
    }

    /// The JSON names of `place-sub-field1..3`.
    pub fn field_names(self) -> [&'static str; 3] {
        match self {
            PlaceSubObject::Entrance => ["name", "lane", "level"],
            PlaceSubObject::Aisle => ["id", "name", "level"],
            PlaceSubObject::ParkingSpot => ["id", "type", "level"],
        }
    }
}

/// A `[placeN]` group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub location: Location,
    pub coordinate: Coordinate,
    /// `sub-object` (rsvision extension, default `entrance`).
    pub sub_object: PlaceSubObject,
    /// `place-sub-field1..3`.
    pub sub_fields: [String; 3],
}

/// An `[analyticsN]` group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analytics {
    pub id: String,
    pub description: String,
    pub source: String,
    pub version: String,
}

/// A parsed msgconv configuration: enabled groups by index N.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MsgConvConfig {
    pub sensors: BTreeMap<u32, Sensor>,
    pub places: BTreeMap<u32, Place>,
    pub analytics: BTreeMap<u32, Analytics>,
}

/// A malformed msgconv configuration, with the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsgConvError(pub String);

impl fmt::Display for MsgConvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MsgConvError {}

fn triple(value: &str, key: &str, line: usize) -> Result<[f64; 3], MsgConvError> {
    let parts: Vec<&str> = value.split(';').map(str::trim).collect();
    let err = || {
        MsgConvError(format!(
            "line {line}: {key} must be three numbers separated by ';' (e.g. 45.29;-75.83;48.15), not {value:?}"
        ))
    };
    if parts.len() != 3 {
        return Err(err());
    }
    let mut out = [0.0; 3];
    for (o, p) in out.iter_mut().zip(parts) {
        *o = p
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(err)?;
    }
    Ok(out)
}

fn split_group_name(name: &str) -> Option<(&str, u32)> {
    for prefix in ["sensor", "place", "analytics"] {
        if let Some(n) = name.strip_prefix(prefix) {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                return n.parse().ok().map(|n| (prefix, n));
            }
        }
    }
    None
}

fn enabled(g: &keyfile::Group) -> Result<bool, MsgConvError> {
    match g.get("enable") {
        None | Some("1") | Some("true") => Ok(true),
        Some("0") | Some("false") => Ok(false),
        Some(v) => Err(MsgConvError(format!(
            "line {}: enable must be 0 or 1, not {v:?}",
            g.line_of("enable").unwrap_or(g.line)
        ))),
    }
}

fn unknown_key(g: &keyfile::Group, key: &str, line: usize, known: &str) -> MsgConvError {
    MsgConvError(format!(
        "line {line}: unknown key {key:?} in [{}] (known: {known})",
        g.name
    ))
}

impl MsgConvConfig {
    /// Parses the text of a msgconv configuration file.
    pub fn parse(text: &str) -> Result<Self, MsgConvError> {
        let groups = keyfile::parse(text).map_err(|e| MsgConvError(e.to_string()))?;
        let mut cfg = MsgConvConfig::default();
        for g in &groups {
            if g.name == "message-broker" {
                // A broker config group in the same file: not ours, harmless.
                continue;
            }
            let Some((kind, n)) = split_group_name(&g.name) else {
                return Err(MsgConvError(format!(
                    "line {}: unknown group [{}] (expected [sensorN], [placeN] or [analyticsN])",
                    g.line, g.name
                )));
            };
            if !enabled(g)? {
                continue;
            }
            match kind {
                "sensor" => {
                    let mut s = Sensor::default();
                    for (k, v, line) in &g.entries {
                        match k.as_str() {
                            "enable" => {}
                            "id" => s.id = v.clone(),
                            "type" => s.kind = v.clone(),
                            "description" => s.description = v.clone(),
                            "location" => {
                                let [lat, lon, alt] = triple(v, k, *line)?;
                                s.location = Location { lat, lon, alt };
                            }
                            "coordinate" => {
                                let [x, y, z] = triple(v, k, *line)?;
                                s.coordinate = Coordinate { x, y, z };
                            }
                            _ => {
                                return Err(unknown_key(
                                    g,
                                    k,
                                    *line,
                                    "enable, id, type, description, location, coordinate",
                                ))
                            }
                        }
                    }
                    if s.id.is_empty() {
                        return Err(MsgConvError(format!(
                            "line {}: [{}] has no id",
                            g.line, g.name
                        )));
                    }
                    cfg.sensors.insert(n, s);
                }
                "place" => {
                    let mut p = Place::default();
                    for (k, v, line) in &g.entries {
                        match k.as_str() {
                            "enable" => {}
                            "id" => p.id = v.clone(),
                            "type" => p.kind = v.clone(),
                            "name" => p.name = v.clone(),
                            "location" => {
                                let [lat, lon, alt] = triple(v, k, *line)?;
                                p.location = Location { lat, lon, alt };
                            }
                            "coordinate" => {
                                let [x, y, z] = triple(v, k, *line)?;
                                p.coordinate = Coordinate { x, y, z };
                            }
                            "place-sub-field1" => p.sub_fields[0] = v.clone(),
                            "place-sub-field2" => p.sub_fields[1] = v.clone(),
                            "place-sub-field3" => p.sub_fields[2] = v.clone(),
                            "sub-object" => {
                                p.sub_object = match v.as_str() {
                                    "entrance" => PlaceSubObject::Entrance,
                                    "aisle" => PlaceSubObject::Aisle,
                                    "parkingSpot" => PlaceSubObject::ParkingSpot,
                                    _ => {
                                        return Err(MsgConvError(format!(
                                            "line {line}: sub-object must be entrance, aisle or parkingSpot, not {v:?}"
                                        )))
                                    }
                                }
                            }
                            _ => return Err(unknown_key(
                                g,
                                k,
                                *line,
                                "enable, id, type, name, location, coordinate, place-sub-field1..3, sub-object",
                            )),
                        }
                    }
                    cfg.places.insert(n, p);
                }
                _ => {
                    let mut a = Analytics::default();
                    for (k, v, line) in &g.entries {
                        match k.as_str() {
                            "enable" => {}
                            "id" => a.id = v.clone(),
                            "description" => a.description = v.clone(),
                            "source" => a.source = v.clone(),
                            "version" => a.version = v.clone(),
                            _ => {
                                return Err(unknown_key(
                                    g,
                                    k,
                                    *line,
                                    "enable, id, description, source, version",
                                ))
                            }
                        }
                    }
                    cfg.analytics.insert(n, a);
                }
            }
        }
        Ok(cfg)
    }

    /// Reads and parses a msgconv configuration file.
    pub fn load(path: &std::path::Path) -> Result<Self, MsgConvError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MsgConvError(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| MsgConvError(format!("{}: {}", path.display(), e.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_values() {
        let c = MsgConvConfig::parse(
            "[sensor1]\nenable=1\nid=cam1\ntype=Camera\nlocation=1;2;3\ncoordinate=4;5;6\n[sensor2]\nenable=0\nid=off\n[place0]\nname=p\nsub-object=aisle\nplace-sub-field1=a\n[analytics3]\nid=m\nversion=2\n",
        )
        .unwrap();
        assert_eq!(c.sensors.len(), 1);
        let s = &c.sensors[&1];
        assert_eq!((s.id.as_str(), s.kind.as_str()), ("cam1", "Camera"));
        assert_eq!(
            s.location,
            Location {
                lat: 1.0,
                lon: 2.0,
                alt: 3.0
            }
        );
        assert_eq!(
            s.coordinate,
            Coordinate {
                x: 4.0,
                y: 5.0,
                z: 6.0
            }
        );
        assert_eq!(c.places[&0].sub_object, PlaceSubObject::Aisle);
        assert_eq!(c.places[&0].sub_fields[0], "a");
        assert_eq!(c.analytics[&3].version, "2");
    }

    #[test]
    fn malformed() {
        for (text, needle) in [
            ("[sensor0]\nid=a\nlocation=1;2\n", "line 3: location"),
            ("[sensor0]\nid=a\ncoordinate=1;x;2\n", "line 3: coordinate"),
            ("[sensor0]\nid=a\nlocation=nan;1;2\n", "line 3"),
            ("[sensor0]\ntype=Camera\n", "has no id"),
            ("[sensor0]\nid=a\ncolour=red\n", "unknown key \"colour\""),
            ("[camera0]\nid=a\n", "unknown group [camera0]"),
            ("[sensorX]\nid=a\n", "unknown group"),
            ("[sensor0]\nenable=yes\nid=a\n", "enable must be 0 or 1"),
            ("[place0]\nsub-object=door\n", "sub-object"),
            ("id=a\n", "line 1"),
            ("[sensor0]\nid a\n", "line 2"),
        ] {
            let e = MsgConvConfig::parse(text).unwrap_err();
            assert!(e.0.contains(needle), "{text:?}: {e}");
        }
    }
}
