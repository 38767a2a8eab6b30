//! Clip file names from a template, safe against path traversal.
//!
//! Placeholders: `{prefix}`, `{sensor}`, `{session}` (5 digits, as DeepStream), `{datetime}`
//! (UTC `YYYYmmdd-HHMMSS`), `{date}` (`YYYYmmdd`), `{time}` (`HHMMSS`), `{ms}` (UTC
//! milliseconds since the epoch). The container's extension is appended. Every substituted
//! value is reduced to `[A-Za-z0-9._-]` (other characters become `_`, `..` becomes `__`),
//! and the template itself may not contain a path separator, so a name is always one plain
//! file inside the recording directory.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::utc::format_compact;

pub const DEFAULT_TEMPLATE: &str = "{prefix}_{sensor}_{session}_{datetime}";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    UnknownPlaceholder(String),
    Unclosed,
    Separator,
    Empty,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::UnknownPlaceholder(p) => write!(
                f,
                "unknown placeholder {{{p}}} (known: prefix, sensor, session, datetime, date, time, ms)"
            ),
            NameError::Unclosed => write!(f, "a `{{` is not closed"),
            NameError::Separator => {
                write!(f, "the template may not contain `/`, `\\` or `..`")
            }
            NameError::Empty => write!(f, "the template gives an empty name"),
        }
    }
}

impl std::error::Error for NameError {}

/// Reduces a value to characters safe in a file name.
pub fn sanitize(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.contains("..") {
        out = out.replace("..", "__");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

/// What the template is filled with.
#[derive(Debug, Clone)]
pub struct NameParts<'a> {
    pub prefix: &'a str,
    pub sensor: &'a str,
    pub session: u32,
    /// UTC start of the clip, ms since the epoch.
    pub start_ms: i64,
}

/// Checks a template without filling it.
pub fn check_template(template: &str) -> Result<(), NameError> {
    expand(
        template,
        &NameParts {
            prefix: "p",
            sensor: "s",
            session: 0,
            start_ms: 0,
        },
        "mp4",
    )
    .map(|_| ())
}

/// Fills `template` and appends `.ext`.
pub fn expand(template: &str, parts: &NameParts, ext: &str) -> Result<String, NameError> {
    if template.contains('/') || template.contains('\\') || template.contains("..") {
        return Err(NameError::Separator);
    }
    let compact = format_compact(parts.start_ms);
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or(NameError::Unclosed)?;
        let key = &after[..close];
        let value = match key {
            "prefix" => sanitize(parts.prefix),
            "sensor" => sanitize(parts.sensor),
            "session" => format!("{:05}", parts.session),
            "datetime" => compact.clone(),
            "date" => compact[..8].to_string(),
            "time" => compact[9..].to_string(),
            "ms" => parts.start_ms.to_string(),
            _ => return Err(NameError::UnknownPlaceholder(key.to_string())),
        };
        out.push_str(&value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    let out = sanitize_literal(&out);
    if out.is_empty() || out.chars().all(|c| c == '.') {
        return Err(NameError::Empty);
    }
    Ok(format!("{out}.{ext}"))
}

/// Literal template text may hold spaces and such; keep it but never separators.
fn sanitize_literal(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c == '\0' {
                '_'
            } else {
                c
            }
        })
        .collect();
    while out.contains("..") {
        out = out.replace("..", "__");
    }
    out
}

/// `dir/name` if `name` is one plain file name; `None` otherwise.
pub fn join_inside(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut comps = Path::new(name).components();
    match (comps.next(), comps.next()) {
        (Some(Component::Normal(_)), None) => Some(dir.join(name)),
        _ => None,
    }
}

/// A path in `dir` for `name` that does not exist yet: `name`, else `name_1.ext`,
/// `name_2.ext`, ... (`exists` is the file-system check).
pub fn unique(dir: &Path, name: &str, exists: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    let first = join_inside(dir, name)?;
    if !exists(&first) {
        return Some(first);
    }
    let (stem, ext) = match name.rfind('.') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name, ""),
    };
    (1..10_000)
        .filter_map(|n| join_inside(dir, &format!("{stem}_{n}{ext}")))
        .find(|p| !exists(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(sensor: &'a str) -> NameParts<'a> {
        NameParts {
            prefix: "clip",
            sensor,
            session: 7,
            start_ms: 1_589_832_120_051,
        }
    }

    #[test]
    fn default_template() {
        assert_eq!(
            expand(DEFAULT_TEMPLATE, &parts("cam-1"), "mp4").unwrap(),
            "clip_cam-1_00007_20200518-200200.mp4"
        );
        assert_eq!(
            expand("{date}/{time}", &parts("a"), "mkv"),
            Err(NameError::Separator)
        );
        assert_eq!(
            expand("{sensor}-{date}-{time}-{ms}", &parts("a"), "mkv").unwrap(),
            "a-20200518-200200-1589832120051.mkv"
        );
    }

    #[test]
    fn sensor_ids_cannot_escape() {
        for evil in [
            "../../etc/passwd",
            "..",
            "/abs/path",
            "a/../../b",
            "..\\x",
            "",
            "....",
        ] {
            let name = expand("{sensor}", &parts(evil), "mp4").unwrap();
            assert!(!name.contains('/'), "{name}");
            assert!(!name.contains(".."), "{name}");
            let p = join_inside(Path::new("/rec"), &name).unwrap();
            assert_eq!(p.parent(), Some(Path::new("/rec")), "{evil} -> {name}");
        }
        assert_eq!(sanitize("../../etc"), "______etc");
        assert_eq!(sanitize("HWY_20-a.b"), "HWY_20-a.b");
    }

    #[test]
    fn bad_templates() {
        assert_eq!(
            check_template("{nope}"),
            Err(NameError::UnknownPlaceholder("nope".into()))
        );
        assert_eq!(check_template("{prefix"), Err(NameError::Unclosed));
        assert_eq!(check_template("../{prefix}"), Err(NameError::Separator));
        assert_eq!(check_template(""), Err(NameError::Empty));
        assert!(check_template(DEFAULT_TEMPLATE).is_ok());
    }

    #[test]
    fn join_refuses_non_plain_names() {
        let d = Path::new("/rec");
        assert!(join_inside(d, "..").is_none());
        assert!(join_inside(d, "a/b").is_none());
        assert!(join_inside(d, "/etc").is_none());
        assert!(join_inside(d, ".").is_none());
        assert_eq!(join_inside(d, "a.mp4"), Some(PathBuf::from("/rec/a.mp4")));
    }

    #[test]
    fn unique_names() {
        let d = Path::new("/rec");
        let taken = [PathBuf::from("/rec/a.mp4"), PathBuf::from("/rec/a_1.mp4")];
        assert_eq!(
            unique(d, "a.mp4", |p| taken.iter().any(|t| t == p)),
            Some(PathBuf::from("/rec/a_2.mp4"))
        );
        assert_eq!(
            unique(d, "b.mp4", |_| false),
            Some(PathBuf::from("/rec/b.mp4"))
        );
    }
}
