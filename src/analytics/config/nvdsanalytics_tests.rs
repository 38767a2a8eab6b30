//! Unit tests of `nvdsanalytics.rs`, on a file modelled on DeepStream's sample. Expected
//! geometries are written out by hand from the text.

use super::super::{ConfigError, DEFAULT_DIRECTION_TOLERANCE_DEG, DEFAULT_INERTIA};
use super::*;
use crate::analytics::{geometry, Anchor};

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

fn pts(v: &[(f64, f64)]) -> Vec<Point> {
    v.iter().map(|&(x, y)| pt(x, y)).collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Modelled on DeepStream's `deepstream-nvdsanalytics-test/config_nvdsanalytics.txt`, with
/// every key and three streams.
const NVDS: &str = "\
# The values in the config file are overridden by values set through GObject
# properties.

[property]
enable=1
#Width height used for configuration to which below configs are configured
config-width=1920
config-height=1080
#osd-mode 0: Dont display any lines, rois and text
osd-mode=2
display-font-size=12

## Per stream configuration
[roi-filtering-stream-0]
#enable or disable following feature
enable=1
#ROI to filter select objects, and remove from meta data
roi-RF=295;643;579;634;642;913;56;828
#remove objects in the ROI
inverse-roi=0
class-id=-1

[roi-filtering-stream-1]
enable=1
roi-RF=295;643;579;634;642;913;56;828
roi-Gate = 10;10; 200;10; 200;300;
inverse-roi=1
class-id=0

[roi-filtering-stream-2]
enable=0
roi-Unused=0;0;0;0;0;0

[overcrowding-stream-0]
enable=1
roi-OC=295;643;579;634;642;913;56;828
#no of objects that will trigger OC
object-threshold=3
time-threshold=2000
class-id=-1

[overcrowding-stream-1]
enable=true
object-threshold=10
class-id=0

[line-crossing-stream-0]
enable=1
#Label;direction;lc
#line-crossing-Entry=1072;911;1143;1058;944;1020;1297;1020;
line-crossing-Entry=1072;911;1143;1058;944;1020;1297;1020;
line-crossing-Exit=789;672;1084;900;851;773;1203;732
class-id=0;2
#extended when 0- only counts crossing on the configured Line
extended=1
mode=strict

[line-crossing-stream-1]
enable=1
line-crossing-Exit=789;672;1084;900;851;773;1203;732
class-id=0
extended=0
mode=loose

[direction-detection-stream-0]
enable=1
#Label;direction;
direction-South=284;840;360;662;
direction-North=1106;622;1312;701;
class-id=0
mode=balanced

[direction-detection-stream-1]
enable=0
direction-South=284;840;360;662;
";

fn rf_outline() -> Vec<Point> {
    pts(&[
        (295.0, 643.0),
        (579.0, 634.0),
        (642.0, 913.0),
        (56.0, 828.0),
    ])
}

#[test]
fn deepstream_stream_0() {
    let g = parse_nvdsanalytics(NVDS, 0).unwrap();
    assert_eq!(
        g.coordinates,
        Coordinates::Pixels {
            width: 1920.0,
            height: 1080.0
        }
    );
    assert_eq!(g.zones.len(), 2);
    let rf = &g.zones[0];
    assert_eq!(rf.name, "RF");
    assert_eq!(rf.outline, rf_outline());
    assert!(!rf.inverse && rf.classes.is_empty() && rf.max_objects.is_none());
    assert_eq!(rf.anchor, Anchor::BottomCentre);
    let oc = &g.zones[1];
    assert_eq!(oc.name, "OC");
    assert_eq!(oc.outline, rf_outline());
    // object-threshold=3 triggers at 3 objects: more than 2.
    assert_eq!(oc.max_objects, Some(2));
    assert_eq!(g.frame_max_objects, None);

    assert_eq!(g.lines.len(), 2);
    let entry = &g.lines[0];
    assert_eq!(entry.name, "Entry");
    assert_eq!((entry.a, entry.b), (pt(944.0, 1020.0), pt(1297.0, 1020.0)));
    assert_eq!(entry.in_direction, Some(pt(71.0, 147.0)));
    let exit = &g.lines[1];
    assert_eq!(exit.name, "Exit");
    assert_eq!((exit.a, exit.b), (pt(851.0, 773.0), pt(1203.0, 732.0)));
    assert_eq!(exit.in_direction, Some(pt(295.0, 228.0)));
    assert!(exit.extended);
    assert_eq!(exit.mode, CrossingMode::Strict);
    assert_eq!(exit.classes, s(&["0", "2"]));
    // Moving along the direction segment from the line's middle reaches the `in` side.
    let mid = pt((851.0 + 1203.0) / 2.0, (773.0 + 732.0) / 2.0);
    let ahead = pt(mid.x + 29.5, mid.y + 22.8);
    assert!(geometry::side(exit, ahead) > 0.0);

    assert_eq!(g.directions.len(), 2);
    assert_eq!(g.directions[0].name, "South");
    assert_eq!(
        (g.directions[0].from, g.directions[0].to),
        (pt(284.0, 840.0), pt(360.0, 662.0))
    );
    assert_eq!(g.directions[1].name, "North");
    assert_eq!(g.directions[1].classes, s(&["0"]));
    assert_eq!(
        g.directions[1].tolerance_deg,
        DEFAULT_DIRECTION_TOLERANCE_DEG
    );
}

#[test]
fn deepstream_stream_1_and_disabled_and_absent_streams() {
    let g = parse_nvdsanalytics(NVDS, 1).unwrap();
    let names: Vec<&str> = g.zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names, ["RF", "Gate"]);
    assert!(g.zones.iter().all(|z| z.inverse && z.classes == s(&["0"])));
    assert_eq!(
        g.zones[1].outline,
        pts(&[(10.0, 10.0), (200.0, 10.0), (200.0, 300.0)])
    );
    assert_eq!(g.frame_max_objects, Some(9));
    assert_eq!(g.lines.len(), 1);
    assert!(!g.lines[0].extended);
    assert_eq!(g.lines[0].mode, CrossingMode::Loose);
    assert!(g.directions.is_empty(), "its direction group is enable=0");

    // Stream 2 only has a disabled group whose placeholder ROI is degenerate.
    let g = parse_nvdsanalytics(NVDS, 2).unwrap();
    assert!(g.zones.is_empty() && g.lines.is_empty() && g.directions.is_empty());
    let g = parse_nvdsanalytics(NVDS, 7).unwrap();
    assert!(g.zones.is_empty());

    let off = NVDS.replacen("[property]\nenable=1", "[property]\nenable=0", 1);
    let g = parse_nvdsanalytics(&off, 0).unwrap();
    assert!(g.zones.is_empty() && g.lines.is_empty());
}

#[test]
fn deepstream_defaults_and_merged_overcrowding() {
    let text = "[property]\nconfig-width=1280\nconfig-height=720\n\
        [roi-filtering-stream-0]\nenable=1\nroi-A=0;0;10;0;10;10\n\
        [overcrowding-stream-0]\nenable=1\nroi-A=0;0;10;0;10;10\n\
        [line-crossing-stream-0]\nenable=1\nline-crossing-L=0;0;0;10;0;5;10;5\n";
    let g = parse_nvdsanalytics(text, 0).unwrap();
    assert_eq!(g.zones.len(), 1, "same name, same points: one zone");
    assert_eq!(
        g.zones[0].max_objects,
        Some(0),
        "object-threshold defaults to 1"
    );
    assert_eq!(g.zones[0].inertia, DEFAULT_INERTIA);
    let l = &g.lines[0];
    assert_eq!(
        (l.mode, l.extended, l.min_distance),
        (CrossingMode::Balanced, true, None),
        "extended as DeepStream's parser, balanced rather than its loose"
    );
    assert!(l.classes.is_empty());
}

/// `(text, line, message)`: the error of parsing `text` as stream 0.
fn nv_err(body: &str) -> ConfigError {
    let text = format!("[property]\nenable=1\nconfig-width=1920\nconfig-height=1080\n{body}");
    parse_nvdsanalytics(&text, 0).unwrap_err()
}

#[test]
fn deepstream_errors() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "[line-crossing-stream-0]\nenable=1\nline-crossing-door=1;2;3;4;5;6;7\n",
            7,
            "line-crossing-door: 7 numbers, 8 expected (dx1;dy1;dx2;dy2;x1;y1;x2;y2)",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi-RF=1;2;6x;4;5;6\n",
            7,
            "roi-RF: item 3 \"6x\" is not a number",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi-RF=1;2;3;4;5;6;7\n",
            7,
            "roi-RF: 7 numbers, an even count expected (x;y pairs)",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi-RF=1;2;;4;5;6\n",
            7,
            "roi-RF: item 3 is empty (two ';' in a row)",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi-RF=1;2;3;4\n",
            7,
            "zone RF: 2 point(s), a polygon needs at least 3",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi-RF=0;0;5;5;10;10\n",
            7,
            "zone RF: zero area (all points on one line)",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi-RF=0;0;5;nan;10;10\n",
            7,
            "roi-RF: item 4 \"nan\" is not a finite number",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi_RF=0;0;5;0;5;5\n",
            7,
            "unknown key \"roi_RF\" in [roi-filtering-stream-0] (known: enable, class-id, inverse-roi, roi-<NAME>)",
        ),
        (
            "[overcrowding-stream-0]\nenable=1\ninverse-roi=1\n",
            7,
            "unknown key \"inverse-roi\" in [overcrowding-stream-0] (known: enable, class-id, object-threshold, time-threshold, roi-<NAME>)",
        ),
        (
            "[line-crossing-stream-0]\nenable=1\nline-crossing-A=0;0;0;9;0;5;9;5\nmode=fast\n",
            8,
            "mode=fast: expected strict, balanced or loose",
        ),
        (
            "[line-crossing-stream-0]\nenable=1\nline-crossing-A=0;0;9;0;0;5;9;5\n",
            7,
            "line A: the in direction (9, 0) is parallel to the line, it must point to one side",
        ),
        (
            "[line-crossing-stream-0]\nenable=1\nline-crossing-A=0;0;0;9;5;5;5;5\n",
            7,
            "line A: zero length (both ends at (5, 5))",
        ),
        (
            "[line-crossing-stream-0]\nenable=yes\nline-crossing-A=0;0;0;9;0;5;9;5\n",
            6,
            "enable=yes: expected true, false, 1 or 0",
        ),
        (
            "[line-crossing-stream-0]\nenable=1\nextended=1\n",
            5,
            "[line-crossing-stream-0] has no line-crossing-<NAME>= key",
        ),
        (
            "[direction-detection-stream-0]\nenable=1\ndirection-N=1;2;3\n",
            7,
            "direction-N: 3 numbers, 4 expected (x1;y1;x2;y2)",
        ),
        (
            "[direction-detection-stream-0]\nenable=1\ndirection-N=1;2;1;2\n",
            7,
            "direction N: zero length",
        ),
        (
            "[roi-filtering-stream-0]\nroi-RF=0;0;5;0;5;5\n",
            5,
            "[roi-filtering-stream-0] has no enable= key (DeepStream treats that as enable=0: write enable=0 or enable=1)",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi-RF=0;0;5;0;5;5\nclass-id=person\n",
            8,
            "class-id=person: \"person\" is not a class id (>= 0, or -1)",
        ),
        (
            "[roi-filter-stream-0]\nenable=1\n",
            5,
            "unknown group [roi-filter-stream-0] (nvdsanalytics has [property], [roi-filtering-stream-N], [overcrowding-stream-N], [line-crossing-stream-N], [direction-detection-stream-N])",
        ),
        (
            "[roi-filtering-stream-x]\nenable=1\n",
            5,
            "[roi-filtering-stream-x]: \"x\" is not a stream number",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi-A=0;0;5;0;5;5\n\
             [overcrowding-stream-0]\nenable=1\nroi-A=0;0;6;0;6;6\n",
            10,
            "roi-A names zone A of line 7 with other points, classes or inverse-roi: give it another name",
        ),
        (
            "[roi-filtering-stream-0]\nenable=1\nroi-A=0;0;5;0;5;5\nroi-A=1;1;5;1;5;5\n",
            8,
            "key \"roi-A\" repeated in group [roi-filtering-stream-0]",
        ),
        (
            "[overcrowding-stream-0]\nenable=1\nobject-threshold=-2\n",
            7,
            "object-threshold=-2: expected a whole number >= 0",
        ),
        (
            "[line-crossing-stream-0]\nenable=1\nline-crossing-a:b=0;0;0;9;0;5;9;5\n",
            7,
            "line name \"a:b\": use letters, digits, '-' and '_' only (and not empty)",
        ),
    ];
    for (body, line, message) in cases {
        let e = nv_err(body);
        assert_eq!(
            (e.line, e.message.as_str()),
            (Some(*line), *message),
            "for {body:?}"
        );
    }
    // An error in another stream's group is still an error.
    let e = nv_err("[roi-filtering-stream-3]\nenable=1\nroi-RF=1;2;x\n");
    assert_eq!(e.line, Some(7));
}

#[test]
fn deepstream_property_errors() {
    let e = parse_nvdsanalytics("[roi-filtering-stream-0]\nenable=1\n", 0).unwrap_err();
    assert_eq!(e.line, None);
    assert!(e.message.starts_with("no [property] group"), "{e}");
    let e = parse_nvdsanalytics("[property]\nenable=1\nconfig-width=1920\n", 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 1: [property] has no \"config-height\" key"
    );
    let e = parse_nvdsanalytics("[property]\nconfig_width=1920\n", 0).unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(e
        .message
        .starts_with("unknown key \"config_width\" in [property]"));
    let e = parse_nvdsanalytics(
        "[property]\nconfig-width=1920\nconfig-height=1080\nosd-mode=3\n",
        0,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "line 4: osd-mode=3: expected 0, 1 or 2");
    let e = parse_nvdsanalytics("[property]\nconfig-width=0\nconfig-height=1080\n", 0).unwrap_err();
    assert_eq!(e.to_string(), "line 2: config-width=0: must be > 0");
    let e =
        parse_nvdsanalytics("[property]\nconfig-width=1920.5\nconfig-height=1\n", 0).unwrap_err();
    assert_eq!(e.line, Some(2));
}
