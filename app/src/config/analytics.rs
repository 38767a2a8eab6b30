//! `[analytics]` (rsanalytics properties for every source) and a source's own `analytics`
//! (`true`/`false` or a table on top of `[analytics]`), like `[tracker]` and a source's
//! `tracker`. The geometry is checked when the config is loaded, with the plugin's own
//! parsers: the `zones`, `lines` and `directions` strings where they are written, the
//! `config-file` (relative to the config file) as rsanalytics reads it, and, per source,
//! what the element would refuse in `start()` (no geometry, half a reference size).

use gstrsvision::analytics::config as geometry;

use super::elements::{quote, unquote, Element, Policy};
use super::types::Props;
use super::walk::{Ctx, Section};

pub(super) const ANALYTICS: Policy = Policy {
    app_keys: &[],
    forbidden: &[(
        "post-messages",
        "the program reads rsanalytics' messages for its log and the web console's events",
    )],
    paths: &[],
};

/// The property strings and their parsers.
type Parser = fn(&str) -> Result<(), geometry::ConfigError>;
const STRINGS: &[(&str, Parser)] = &[
    ("zones", |s| geometry::parse_zone_property(s).map(drop)),
    ("lines", |s| geometry::parse_line_property(s).map(drop)),
    ("directions", |s| {
        geometry::parse_direction_property(s).map(drop)
    }),
];

/// The keys that give rsanalytics something to count.
const GEOMETRY: &[&str] = &["config-file", "zones", "lines", "directions"];

/// The rsanalytics properties of `s` on top of `base`. `owner` starts the messages about
/// its config-file (`[analytics]`, `source "cam1": analytics`).
pub(super) fn section(
    ctx: &mut Ctx,
    s: &Section,
    element: &Element,
    base: &Props,
    owner: &str,
) -> Props {
    let mut own = Props::default();
    element.properties(ctx, s, &ANALYTICS, &mut own);
    let mut props = base.clone();
    for (k, v) in &own.0 {
        props.set(k, v.clone());
    }
    for (name, parse) in STRINGS {
        if let (Some(f), Some(v)) = (s.get(name), own.get(name)) {
            if let Err(e) = parse(&unquote(v)) {
                ctx.error(f.at, &f.path, e.to_string());
            }
        }
    }
    if let (Some(f), Some(v)) = (s.get("config-file"), own.get("config-file")) {
        let written = unquote(v);
        if written.is_empty() {
            return props;
        }
        let path = ctx.path(&written);
        props.set("config-file", quote(&path.to_string_lossy()));
        let stream = props
            .get("stream-id")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if let Err(message) = config_file(&path, stream) {
            let message = format!("{owner} config-file {message}");
            ctx.error(f.at, &f.path, message);
        }
    }
    props
}

/// Reads the geometry file as rsanalytics does: DeepStream's nvdsanalytics file (told by
/// its `[property]` or `*-stream-N` groups, stream `stream`) or rsvision's own.
fn config_file(path: &std::path::Path, stream: u32) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("not found: {}", path.display()),
        _ => format!("cannot be read: {}: {e}", path.display()),
    })?;
    let shown = path.display().to_string();
    let deepstream = gstrsvision::keyfile::parse(&text).is_ok_and(|groups| {
        groups.iter().any(|g| {
            g.name == "property"
                || g.name
                    .rsplit_once("-stream-")
                    .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    });
    let parsed = if deepstream {
        geometry::parse_nvdsanalytics(&text, stream).map_err(|e| e.in_file(&shown))
    } else {
        geometry::parse_file(&text, &shown)
    };
    parsed.map(drop).map_err(|e| format!("is not valid: {e}"))
}

/// What rsanalytics would refuse in `start()` for a source's merged properties: no
/// geometry at all, or only one of the reference sizes. Reported at `at`/`key` (the
/// source's `analytics`, or the source itself when it takes `[analytics]` as it is).
pub(super) fn check_source(ctx: &mut Ctx, at: usize, key: &str, id: &str, props: &Props) {
    let given = |k: &str| props.get(k).is_some_and(|v| !unquote(v).trim().is_empty());
    if !GEOMETRY.iter().any(|k| given(k)) {
        let message = format!(
            "source \"{id}\": analytics has no geometry: give config-file, zones, lines or \
             directions (in [analytics] or the source's analytics table)"
        );
        ctx.error(at, key, message);
    }
    let size = |k: &str| {
        props
            .get(k)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let (w, h) = (size("reference-width"), size("reference-height"));
    if (w == 0) != (h == 0) {
        let message = format!(
            "source \"{id}\": analytics reference-width {w} and reference-height {h}: give both \
             (the size the zones, lines and directions are written for) or neither"
        );
        ctx.error(at, key, message);
    }
}
