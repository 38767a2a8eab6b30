//! The tracker's settings and how labels map to the classes that may share a track.

use std::collections::HashMap;

/// Which detections a track may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClassMode {
    /// Only detections of the track's own label (a `car` track never takes a `person` box).
    #[default]
    PerClass,
    /// Any detection, whatever its label; the track's label is the majority of its
    /// detections' labels.
    Agnostic,
    /// Detections of labels in the same group (`car,truck,bus;person`); labels in no group
    /// are their own group.
    Groups,
}

/// Tracker settings; times in nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Detections at or above this confidence take part in the first association stage.
    pub high_threshold: f64,
    /// Detections below this are ignored; between `low` and `high` they only extend
    /// existing tracks (ByteTrack's second stage).
    pub low_threshold: f64,
    /// A detection needs this confidence to start a new track.
    pub new_track_threshold: f64,
    /// First stage: a track and a detection match when IoU x confidence reaches this
    /// (ByteTrack's fused score, `match_thresh = 1 - match_iou`).
    pub match_iou: f64,
    /// Detection frames a new track must be seen on (consecutively) before it is confirmed
    /// and takes an id.
    pub min_hits: u32,
    /// How long a confirmed track keeps its id without a matching detection (at least two
    /// detector periods are always allowed).
    pub lost_track_time: u64,
    /// The same for a track in the `stopped` state (its prediction does not drift).
    pub stopped_lost_time: u64,
    /// How long a track that missed its detection is still output at its predicted position
    /// (at least one detector period is always allowed).
    pub coast_time: u64,
    /// Which detections a track may take.
    pub class_mode: ClassMode,
    /// For [`ClassMode::Groups`]: the groups of labels (or class ids written as numbers).
    pub class_groups: Vec<Vec<String>>,
    /// Upper bound of live tracks (tentative, confirmed and lost): memory stays bounded.
    pub max_tracks: usize,
    /// A track is `stopped` below this speed and `moving` above twice it, in box sizes
    /// (the square root of the box area) per second.
    pub stop_speed: f64,
    /// Nominal frame period (from the caps' frame rate), used when a frame has no time and
    /// as the noise unit of the motion model.
    pub frame_period: u64,
    /// Frame size in pixels, when known: tracks leaving it end at once.
    pub frame_size: Option<(f64, f64)>,
}

/// 1/30 s, the frame period assumed when the caps do not say.
pub const DEFAULT_FRAME_PERIOD: u64 = 33_333_333;
// The defaults (also rstracker's property defaults; times in milliseconds).
pub const DEFAULT_HIGH_THRESHOLD: f64 = 0.5;
pub const DEFAULT_LOW_THRESHOLD: f64 = 0.1;
pub const DEFAULT_NEW_TRACK_THRESHOLD: f64 = 0.6;
pub const DEFAULT_MATCH_IOU: f64 = 0.2;
pub const DEFAULT_MIN_HITS: u32 = 2;
pub const DEFAULT_LOST_TRACK_TIME_MS: u32 = 1000;
pub const DEFAULT_STOPPED_LOST_TIME_MS: u32 = 5000;
pub const DEFAULT_COAST_TIME_MS: u32 = 500;
pub const DEFAULT_MAX_TRACKS: u32 = 1000;
pub const DEFAULT_STOP_SPEED: f64 = 0.1;
const MS: u64 = 1_000_000;

impl Default for Config {
    fn default() -> Self {
        Config {
            high_threshold: DEFAULT_HIGH_THRESHOLD,
            low_threshold: DEFAULT_LOW_THRESHOLD,
            new_track_threshold: DEFAULT_NEW_TRACK_THRESHOLD,
            match_iou: DEFAULT_MATCH_IOU,
            min_hits: DEFAULT_MIN_HITS,
            lost_track_time: u64::from(DEFAULT_LOST_TRACK_TIME_MS) * MS,
            stopped_lost_time: u64::from(DEFAULT_STOPPED_LOST_TIME_MS) * MS,
            coast_time: u64::from(DEFAULT_COAST_TIME_MS) * MS,
            class_mode: ClassMode::PerClass,
            class_groups: Vec::new(),
            max_tracks: DEFAULT_MAX_TRACKS as usize,
            stop_speed: DEFAULT_STOP_SPEED,
            frame_period: DEFAULT_FRAME_PERIOD,
            frame_size: None,
        }
    }
}

/// Parses `car,truck,bus;person` into groups; empty items are skipped. Errors name a label
/// that appears in two groups.
pub fn parse_class_groups(spec: &str) -> Result<Vec<Vec<String>>, String> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (gi, group) in spec.split(';').enumerate() {
        let labels: Vec<String> = group
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if labels.is_empty() {
            continue;
        }
        for l in &labels {
            if let Some(&other) = seen.get(l) {
                if other != gi {
                    return Err(format!("label '{l}' is in two class groups"));
                }
            }
            seen.insert(l.clone(), gi);
        }
        groups.push(labels);
    }
    Ok(groups)
}

/// Most distinct labels remembered; further labels share one key (they can still match
/// each other's tracks only in agnostic mode).
const MAX_LABELS: usize = 4096;

/// Maps labels to the key that decides which tracks a detection may join.
#[derive(Debug, Default)]
pub struct ClassKeys {
    mode: ClassMode,
    groups: HashMap<String, u32>,
    labels: HashMap<String, u32>,
    group_count: u32,
}

impl ClassKeys {
    pub fn new(mode: ClassMode, groups: &[Vec<String>]) -> Self {
        let mut map = HashMap::new();
        for (i, g) in groups.iter().enumerate() {
            for l in g {
                map.insert(l.clone(), i as u32);
            }
        }
        ClassKeys {
            mode,
            groups: map,
            labels: HashMap::new(),
            group_count: groups.len() as u32,
        }
    }

    /// The key of a detection with `label` and class id `label_id`.
    pub fn key(&mut self, label: &str, label_id: i32) -> u32 {
        match self.mode {
            ClassMode::Agnostic => 0,
            ClassMode::Groups => {
                if let Some(&g) = self.groups.get(label) {
                    return g;
                }
                if label_id >= 0 {
                    if let Some(&g) = self.groups.get(label_id.to_string().as_str()) {
                        return g;
                    }
                }
                self.group_count + self.label_key(label)
            }
            ClassMode::PerClass => self.label_key(label),
        }
    }

    fn label_key(&mut self, label: &str) -> u32 {
        if let Some(&k) = self.labels.get(label) {
            return k;
        }
        if self.labels.len() >= MAX_LABELS {
            return MAX_LABELS as u32;
        }
        let k = self.labels.len() as u32;
        self.labels.insert(label.to_string(), k);
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_parse() {
        assert_eq!(
            parse_class_groups("car, truck,bus; person;;").unwrap(),
            vec![
                vec!["car".to_string(), "truck".into(), "bus".into()],
                vec!["person".to_string()]
            ]
        );
        assert!(parse_class_groups("car,truck;truck").is_err());
        assert!(parse_class_groups("").unwrap().is_empty());
    }

    #[test]
    fn keys_follow_the_mode() {
        let groups = parse_class_groups("car,truck,bus;person").unwrap();
        let mut per = ClassKeys::new(ClassMode::PerClass, &groups);
        assert_ne!(per.key("car", 2), per.key("truck", 7));
        assert_eq!(per.key("car", 2), per.key("car", 2));
        let mut agn = ClassKeys::new(ClassMode::Agnostic, &groups);
        assert_eq!(agn.key("car", 2), agn.key("person", 0));
        let mut grp = ClassKeys::new(ClassMode::Groups, &groups);
        assert_eq!(grp.key("car", 2), grp.key("bus", 5));
        assert_ne!(grp.key("car", 2), grp.key("person", 0));
        assert_ne!(grp.key("dog", 16), grp.key("cat", 15));
        assert_ne!(grp.key("dog", 16), grp.key("car", 2));
        // Class ids written as numbers in a group.
        let mut ids = ClassKeys::new(ClassMode::Groups, &parse_class_groups("2,7").unwrap());
        assert_eq!(ids.key("car", 2), ids.key("truck", 7));
    }
}
