//! `/api/clips` (the finished clips, newest first) and `/clips/{name}` (one file, with HTTP
//! range requests so a `<video>` can seek).
//!
//! A name is served only when it is `[A-Za-z0-9._-]` without a leading dot, ends in a clip
//! extension, and resolves (symbolic links followed) to a regular file directly inside the
//! clip directory; anything else is a 404, never a 500.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gstrsvision::utc::format_iso8601;
use serde_json::{json, Value};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::{routes, ClipInfo, Hub};

/// The containers rssmartrecord writes, and their media types.
const CONTAINERS: [(&str, &str); 2] = [("mp4", "video/mp4"), ("mkv", "video/x-matroska")];

/// What a clip found on disk at start says about its reason (nothing).
const UNKNOWN_REASON: &str = "unknown";

/// Whether `name` may name a clip at all: `[A-Za-z0-9._-]+`, no leading dot.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The media type of a clip name, `None` when its extension is not a clip's.
pub fn content_type(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    CONTAINERS
        .iter()
        .find(|(e, _)| ext.eq_ignore_ascii_case(e))
        .map(|(_, t)| *t)
}

/// The canonical path of clip `name` in `dir`, when it is a regular file directly inside
/// it (after following symbolic links).
pub fn resolve(dir: &Path, name: &str) -> Option<PathBuf> {
    if !valid_name(name) || content_type(name).is_none() {
        return None;
    }
    let dir = dir.canonicalize().ok()?;
    let path = dir.join(name).canonicalize().ok()?;
    if path.parent() != Some(dir.as_path()) {
        return None;
    }
    path.metadata().ok()?.is_file().then_some(path)
}

/// The clips already in `dir` when the server starts, oldest first, with what their names
/// tell (rssmartrecord's default `{prefix}_{sensor}_{session}_{datetime}`).
pub fn scan(dir: &Path) -> Vec<ClipInfo> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut clips: Vec<ClipInfo> = entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let path = resolve(dir, &name)?;
            let meta = path.metadata().ok()?;
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            Some(info_from_name(&name, meta.len(), modified))
        })
        .collect();
    clips.sort_by(|a, b| {
        (a.start_ms.max(a.end_ms), &a.name).cmp(&(b.start_ms.max(b.end_ms), &b.name))
    });
    clips
}

/// A clip's metadata from its file name and its last modification (its end).
pub fn info_from_name(name: &str, size: u64, modified_ms: i64) -> ClipInfo {
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let parts: Vec<&str> = stem.split('_').collect();
    let n = parts.len();
    let parsed = (n >= 4 && parts[n - 2].bytes().all(|b| b.is_ascii_digit()))
        .then(|| parse_compact(parts[n - 1]))
        .flatten();
    let (source, start_ms) = match parsed {
        Some(start) => (parts[1..n - 2].join("_"), start),
        None => (String::new(), 0),
    };
    let duration_ms = if start_ms > 0 && modified_ms >= start_ms {
        (modified_ms - start_ms) as u64
    } else {
        0
    };
    ClipInfo {
        name: name.to_string(),
        source,
        start_ms,
        end_ms: modified_ms,
        duration_ms,
        reason: UNKNOWN_REASON.into(),
        size,
    }
}

/// `20200518-200200` (UTC, as file names have it) to Unix ms.
fn parse_compact(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 15 || b[8] != b'-' || !digits(0..8) || !digits(9..15) {
        return None;
    }
    gstrsvision::utc::parse_iso8601(&format!(
        "{}-{}-{}T{}:{}:{}Z",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    ))
}

/// `/api/clips`: the clips the app saw finish and those on disk at start, newest first,
/// only those still there (with their size now).
pub fn listing(hub: &Hub, initial: &[ClipInfo]) -> Value {
    let Some(dir) = hub.clips_dir.as_deref() else {
        return json!([]);
    };
    let seen = hub.clips.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut all: Vec<ClipInfo> = initial
        .iter()
        .filter(|c| !seen.iter().any(|s| s.name == c.name))
        .cloned()
        .collect();
    all.extend(seen);
    let items: Vec<Value> = all
        .iter()
        .rev()
        .filter_map(|clip| {
            let size = resolve(dir, &clip.name)?.metadata().ok()?.len();
            Some(clip_json(clip, size))
        })
        .collect();
    Value::Array(items)
}

fn clip_json(clip: &ClipInfo, size: u64) -> Value {
    let time = |ms: i64| (ms > 0).then(|| format_iso8601(ms));
    json!({
        "name": clip.name,
        "source": clip.source,
        "start": time(clip.start_ms),
        "end": time(clip.end_ms),
        "duration_ms": clip.duration_ms,
        "reason": clip.reason,
        "size": size,
        "url": format!("/clips/{}", clip.name),
    })
}

/// `/clips/{name}`: the file through tower-http's `ServeFile` (Range, 206, 416, HEAD).
pub async fn serve(dir: Option<PathBuf>, name: String, request: Request) -> Response {
    let not_found = || routes::error(StatusCode::NOT_FOUND, "no such clip");
    let (Some(dir), Some(media_type)) = (dir, content_type(&name)) else {
        return not_found();
    };
    let resolved = tokio::task::spawn_blocking(move || resolve(&dir, &name))
        .await
        .ok()
        .flatten();
    let Some(path) = resolved else {
        return not_found();
    };
    let Ok(response) = ServeFile::new(path).oneshot(request).await;
    match response.status() {
        StatusCode::OK | StatusCode::PARTIAL_CONTENT => {
            let mut response = response.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
            response
        }
        // Gone between the check and the open.
        StatusCode::NOT_FOUND => not_found(),
        _ => response.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rsvision-clips-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn names_are_plain_file_names() {
        for good in [
            "a.mp4",
            "rsvision_cam-1_00001_20240102-030405.mkv",
            "A.B_c-d",
        ] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            ".hidden.mp4",
            "..",
            "../a.mp4",
            "a/b.mp4",
            "/etc/passwd",
            "a\\b.mp4",
            "a b.mp4",
            "a%2fb.mp4",
            "é.mp4",
            "a\0.mp4",
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert_eq!(content_type("x.mp4"), Some("video/mp4"));
        assert_eq!(content_type("x.MKV"), Some("video/x-matroska"));
        assert_eq!(content_type("x.json"), None);
        assert_eq!(content_type("mp4"), None);
    }

    #[test]
    fn only_regular_files_directly_inside_resolve() {
        let dir = temp_dir("resolve");
        let outside = temp_dir("resolve-outside");
        std::fs::write(dir.join("a.mp4"), b"clip").unwrap();
        std::fs::write(dir.join(".b.mp4"), b"hidden").unwrap();
        std::fs::write(dir.join("notes.txt"), b"text").unwrap();
        std::fs::create_dir(dir.join("sub.mp4")).unwrap();
        std::fs::write(outside.join("secret.mp4"), b"secret").unwrap();
        std::os::unix::fs::symlink(outside.join("secret.mp4"), dir.join("out.mp4")).unwrap();
        std::os::unix::fs::symlink(dir.join("a.mp4"), dir.join("same.mp4")).unwrap();

        let canonical = dir.canonicalize().unwrap();
        assert_eq!(resolve(&dir, "a.mp4"), Some(canonical.join("a.mp4")));
        assert_eq!(resolve(&dir, "same.mp4"), Some(canonical.join("a.mp4")));
        for refused in ["out.mp4", ".b.mp4", "notes.txt", "sub.mp4", "none.mp4"] {
            assert_eq!(resolve(&dir, refused), None, "{refused}");
        }
        let names: Vec<String> = scan(&dir).into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["a.mp4", "same.mp4"]);
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }

    #[test]
    fn default_names_tell_the_source_and_start() {
        // 2024-01-02T03:04:05Z = 1704164645000 ms (date -u -d @1704164645).
        let c = info_from_name(
            "rsvision_front_door_00003_20240102-030405.mp4",
            42,
            1_704_164_655_500,
        );
        assert_eq!(c.source, "front_door");
        assert_eq!(c.start_ms, 1_704_164_645_000);
        assert_eq!(c.end_ms, 1_704_164_655_500);
        assert_eq!(c.duration_ms, 10_500);
        assert_eq!(c.size, 42);
        let other = info_from_name("holiday.mkv", 7, 1_000);
        assert_eq!((other.source.as_str(), other.start_ms), ("", 0));
        assert_eq!((other.end_ms, other.duration_ms), (1_000, 0));
        assert_eq!(parse_compact("20240102-03040"), None);
        assert_eq!(parse_compact("2024010203-0405"), None);
    }

    #[test]
    fn clip_json_has_iso_times_and_a_url() {
        let clip = info_from_name("p_cam_00001_20240102-030405.mp4", 5, 1_704_164_646_250);
        let v = clip_json(&clip, 9);
        assert_eq!(v["start"], "2024-01-02T03:04:05.000Z");
        assert_eq!(v["end"], "2024-01-02T03:04:06.250Z");
        assert_eq!(v["url"], "/clips/p_cam_00001_20240102-030405.mp4");
        assert_eq!(v["size"], 9);
        assert_eq!(v["duration_ms"], 1250);
        let unknown = clip_json(&info_from_name("x.mp4", 1, 0), 1);
        assert!(unknown["start"].is_null() && unknown["end"].is_null());
    }
}
