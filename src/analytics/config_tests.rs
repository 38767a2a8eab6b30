//! Unit tests of `config.rs`. Expected geometries are written out by hand from the texts.

use super::values::ANCHORS;
use super::*;
use crate::analytics::{Anchor, CrossingMode, Point};

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

fn pts(v: &[(f64, f64)]) -> Vec<Point> {
    v.iter().map(|&(x, y)| pt(x, y)).collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

const OURS: &str = "\
# a shop entrance
[geometry]
width=1920
height=1080
max-objects=40

[zone.door]
points=10;10;100;10;100;100;10;100
holes=40;40;60;40;60;60|70;70;80;70;80;80
classes=person, car
anchor=centre
inertia=5
loiter=1.5s
max-objects=5

[zone.outside]
points=0;0;50;0;50;50
inverse=true

[line.entrance]
points=0;500;1920;500
in=0;0;0;-1
mode=strict
min-distance=8
extended=true
anchor=bottom-center

[direction.north]
points=960;1000;960;0
tolerance=30
classes=car
";

#[test]
fn our_file_reads_as_written_by_hand() {
    let g = parse_file(OURS, "shop.ini").unwrap();
    assert_eq!(
        g.coordinates,
        Coordinates::Pixels {
            width: 1920.0,
            height: 1080.0
        }
    );
    assert_eq!(g.frame_max_objects, Some(40));
    let door = &g.zones[0];
    assert_eq!(door.name, "door");
    assert_eq!(
        door.outline,
        pts(&[(10.0, 10.0), (100.0, 10.0), (100.0, 100.0), (10.0, 100.0)])
    );
    assert_eq!(door.holes.len(), 2);
    assert_eq!(door.holes[1][2], pt(80.0, 80.0));
    assert_eq!(door.classes, s(&["person", "car"]));
    assert_eq!(door.anchor, Anchor::Centre);
    assert_eq!(
        (door.inertia, door.loiter_ms, door.max_objects, door.inverse),
        (5, Some(1500), Some(5), false)
    );
    let outside = &g.zones[1];
    assert!(outside.inverse);
    assert_eq!(
        (outside.inertia, outside.loiter_ms),
        (DEFAULT_INERTIA, None)
    );
    let l = &g.lines[0];
    assert_eq!((l.a, l.b), (pt(0.0, 500.0), pt(1920.0, 500.0)));
    assert_eq!(l.in_direction, Some(pt(0.0, -1.0)));
    assert_eq!(
        (l.mode, l.min_distance, l.extended, l.anchor),
        (CrossingMode::Strict, Some(8.0), true, Anchor::BottomCentre)
    );
    let d = &g.directions[0];
    assert_eq!(
        (d.from, d.to, d.tolerance_deg),
        (pt(960.0, 1000.0), pt(960.0, 0.0), 30.0)
    );
    assert_eq!(d.classes, s(&["car"]));
}

#[test]
fn our_file_round_trip() {
    let g = parse_file(OURS, "shop.ini").unwrap();
    let text = write_file(&g);
    assert_eq!(parse_file(&text, "again.ini").unwrap(), g, "{text}");
    // Normalised, fractional numbers and every anchor.
    let mut n = g.clone();
    n.coordinates = Coordinates::Normalised;
    n.frame_max_objects = None;
    n.zones[1].outline = pts(&[(0.125, 0.1), (0.3333333333333333, 0.2), (0.05, 0.9)]);
    n.lines[0].in_direction = None;
    n.lines[0].min_distance = None;
    for (i, (_, a)) in ANCHORS.iter().enumerate() {
        n.zones[0].anchor = *a;
        n.lines[0].mode = [CrossingMode::Loose, CrossingMode::Balanced][i % 2];
        let text = write_file(&n);
        assert_eq!(parse_file(&text, "n.ini").unwrap(), n, "{text}");
    }
}

fn ours_err(body: &str) -> ConfigError {
    parse_file(
        &format!("[geometry]\nwidth=100\nheight=100\n{body}"),
        "g.ini",
    )
    .unwrap_err()
}

#[test]
fn our_file_errors() {
    let cases: &[(&str, Option<usize>, &str)] = &[
        ("[zone.a]\nholes=1;1;2;1;2;2\n", Some(4), "[zone.a] has no \"points\" key"),
        ("[zone.a]\npoints=0;0;9;0\n", Some(5), "zone a: 2 point(s), a polygon needs at least 3"),
        (
            "[zone.a]\npoints=0;0;9;0;9;9\nholes=1;1;2;1;2;2|5;5;20;5;5;8\n",
            Some(6),
            "zone a, hole 2: point (20, 5) is outside the outline",
        ),
        ("[zone.a]\npoints=0;0;9;0;9;9\nholes=1;1;2;1;2\n", Some(6), "holes (hole 1): 5 numbers, an even count expected (x;y pairs)"),
        ("[zone.a]\npoints=0;0;9;0;9;9\ncolour=red\n", Some(6), "unknown key \"colour\" in [zone.a] (known: points, holes, inverse, classes, anchor, inertia, loiter, max-objects)"),
        ("[zone.a]\npoints=0;0;9;0;9;9\nanchor=feet\n", Some(6), "anchor=feet: expected one of bottom-centre, centre, top-left, top-right, bottom-left, bottom-right, top-centre"),
        ("[zone.a]\npoints=0;0;9;0;9;9\nloiter=10\n", Some(6), "loiter=10: give a unit (e.g. 10s, 500ms, 2m)"),
        ("[zone.a]\npoints=0;0;9;0;9;9\nloiter=10d\n", Some(6), "loiter=10d: unknown unit \"d\" (ms, s, m or h)"),
        ("[zone.a]\npoints=0;0;9;0;9;9\ninverse=maybe\n", Some(6), "inverse=maybe: expected true, false, 1 or 0"),
        ("[zone.a]\npoints=0;0;9;0;9;9\nclasses=a,,b\n", Some(6), "classes=a,,b: empty class name"),
        ("[zone.a]\npoints=0;0;9;0;9;9\nmax-objects=-1\n", Some(6), "max-objects=-1: expected a whole number >= 0"),
        ("[zone.a]\npoints=0;0;9;0;9;9\ninertia=three\n", Some(6), "inertia=three: expected a whole number >= 0"),
        ("[zone]\npoints=0;0;9;0;9;9\n", Some(4), "zone name \"\": use letters, digits, '-' and '_' only (and not empty)"),
        ("[zone.a]\npoints=0;0;9;0;9;9\n[zone.a]\n", Some(6), "group [zone.a] appears twice"),
        ("[area.a]\npoints=0;0;9;0;9;9\n", Some(4), "unknown group [area.a] (expected [geometry], [zone.NAME], [line.NAME] or [direction.NAME])"),
        ("[line.l]\npoints=0;0;9\n", Some(5), "points: 3 numbers, 4 expected (x1;y1;x2;y2)"),
        ("[line.l]\npoints=0;0;9;0\nin=0;0;1\n", Some(6), "in: 3 numbers, 4 expected (dx1;dy1;dx2;dy2)"),
        ("[line.l]\npoints=0;0;9;0\nin=1;1;1;1\n", Some(6), "line l: the in direction has zero length"),
        ("[line.l]\npoints=0;0;0;0\nin=0;0;0;1\n", Some(5), "line l: zero length (both ends at (0, 0))"),
        ("[line.l]\npoints=0;0;9;0\nmode=Strict\n", Some(6), "mode=Strict: expected strict, balanced or loose"),
        ("[line.l]\npoints=0;0;9;0\nmin-distance=-3\n", Some(6), "min-distance=-3: expected a number >= 0"),
        ("[line.l]\npoints=0;0;9;0\ndirection=0;0;0;1\n", Some(6), "unknown key \"direction\" in [line.l] (known: points, in, mode, min-distance, extended, classes, anchor)"),
        ("[direction.d]\npoints=0;0;9;0\ntolerance=200\n", Some(4), "direction d: tolerance 200 must be in 0..=180 degrees (and not 0)"),
        ("[direction.d]\npoints=0;0;9;0\ntolerance=wide\n", Some(6), "tolerance=wide: expected a number >= 0"),
        ("[zone.a.b]\npoints=0;0;9;0;9;9\n", Some(4), "zone name \"a.b\": use letters, digits, '-' and '_' only (and not empty)"),
    ];
    for (body, line, message) in cases {
        let e = ours_err(body);
        assert_eq!(
            (e.line, e.message.as_str()),
            (*line, *message),
            "for {body:?}"
        );
        assert_eq!(e.file.as_deref(), Some("g.ini"));
    }
    let e = parse_file("points=1\n[geometry]\nnormalised=true\n", "g.ini").unwrap_err();
    assert_eq!(e.to_string(), "g.ini:1: key \"points\" before any [group]");
    let e = parse_file("[zone.a]\npoints=0;0;9;0;9;9\n", "g.ini").unwrap_err();
    assert_eq!(
        e.to_string(),
        "g.ini: no [geometry] group: give width= and height= (the reference size) or normalised=true"
    );
    let e = parse_file("[geometry]\nwidth=100\n", "g.ini").unwrap_err();
    assert_eq!(
        e.to_string(),
        "g.ini:1: [geometry]: give both width= and height= (the reference size), or normalised=true"
    );
    let e = parse_file("[geometry]\nwidth=100\nheight=10\nnormalised=1\n", "").unwrap_err();
    assert_eq!(
        e.to_string(),
        "line 1: [geometry]: normalised=true and width/height exclude each other"
    );
    let e = parse_file("[geometry]\nwidth=0\nheight=10\n", "g.ini").unwrap_err();
    assert_eq!(e.line, Some(1));
    assert!(e.message.contains("must be positive"), "{e}");
}

#[test]
fn property_strings() {
    let z = parse_zone_property("door:10;10;100;10;100;100;10;100 | hall:0;0;50;0;50;50;").unwrap();
    assert_eq!(z.len(), 2);
    assert_eq!(z[0].name, "door");
    assert_eq!(z[1].outline, pts(&[(0.0, 0.0), (50.0, 0.0), (50.0, 50.0)]));
    assert_eq!(z[1].inertia, DEFAULT_INERTIA);
    assert_eq!(parse_zone_property(&zones_to_property(&z)).unwrap(), z);
    assert!(parse_zone_property("").unwrap().is_empty());

    let l = parse_line_property("entrance:0;500;1920;500|exit:10;0;10;100;5;5;0;5").unwrap();
    assert_eq!(l[0].in_direction, None);
    assert_eq!((l[1].a, l[1].b), (pt(10.0, 0.0), pt(10.0, 100.0)));
    assert_eq!(l[1].in_direction, Some(pt(-5.0, 0.0)));
    assert_eq!(parse_line_property(&lines_to_property(&l)).unwrap(), l);

    let d = parse_direction_property("north:960;1000;960;0").unwrap();
    assert_eq!((d[0].from, d[0].to), (pt(960.0, 1000.0), pt(960.0, 0.0)));
    assert_eq!(
        parse_direction_property(&directions_to_property(&d)).unwrap(),
        d
    );
}

#[test]
fn property_string_errors() {
    let msg = |r: Result<Vec<Zone>, ConfigError>| r.unwrap_err().to_string();
    assert_eq!(
        msg(parse_zone_property("10;10;100;10;100;100")),
        "zones item 1: \"10;10;100;10;100;100\" has no \"NAME:\" before its numbers"
    );
    assert_eq!(
        msg(parse_zone_property("a:0;0;9;0;9;9|b:0;0;9;0;9")),
        "zones item 2 (b): points: 5 numbers, an even count expected (x;y pairs)"
    );
    assert_eq!(
        msg(parse_zone_property("a:0;0;9;0;9;q")),
        "zones item 1 (a): points: item 6 \"q\" is not a number"
    );
    assert_eq!(
        msg(parse_zone_property("a:0;0;9;0;9;9|a:0;0;5;0;5;5")),
        "zones: zone \"a\" is defined twice"
    );
    assert_eq!(
        msg(parse_zone_property("a:0;0;9;9")),
        "zones item 1 (a): zone a: 2 point(s), a polygon needs at least 3"
    );
    assert_eq!(
        parse_line_property("l:0;0;9;0;1;1")
            .unwrap_err()
            .to_string(),
        "lines item 1 (l): 6 numbers, 4 or 8 expected (x1;y1;x2;y2[;dx1;dy1;dx2;dy2])"
    );
    assert_eq!(
        parse_line_property("l:0;0;9;0;0;0;5;0").unwrap_err().to_string(),
        "lines item 1 (l): line l: the in direction (5, 0) is parallel to the line, it must point to one side"
    );
    assert_eq!(
        parse_line_property("l:0;0;9;0|l:0;1;9;1")
            .unwrap_err()
            .to_string(),
        "lines: line \"l\" is defined twice"
    );
    assert_eq!(
        parse_direction_property("n:0;0;0").unwrap_err().to_string(),
        "directions item 1 (n): points: 3 numbers, 4 expected (x1;y1;x2;y2)"
    );
}
