//! `/api/clips` and `/clips/{name}`: the listing, range requests, refused names.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::web::ClipInfo;

const OLD: &str = "rsvision_cam1_00001_20240102-030405.mp4";
const NEW: &str = "rsvision_cam2_00002_20240102-031000.mkv";

struct Dirs {
    clips: PathBuf,
    outside: PathBuf,
}

impl Dirs {
    fn new(tag: &str) -> Dirs {
        let root = std::env::temp_dir().join(format!("rsvision-web-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let clips = root.join("clips");
        let outside = root.join("outside");
        std::fs::create_dir_all(&clips).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        Dirs { clips, outside }
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.clips.parent().unwrap());
    }
}

/// 1000 bytes that differ from one offset to the next (a range shows where it came from).
fn content() -> Vec<u8> {
    (0..1000u32).map(|i| (i * 7 % 251) as u8).collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).unwrap();
}

/// A clip directory with one clip from before the start, files that must never be
/// served, and a clip the app sees finish after the start.
fn server_with_clips(dirs: &Dirs) -> Server {
    write(&dirs.clips, OLD, &content());
    write(&dirs.clips, ".hidden.mp4", b"hidden");
    write(&dirs.clips, "notes.txt", b"notes");
    write(&dirs.outside, "secret.mp4", b"SECRET");
    std::os::unix::fs::symlink(
        dirs.outside.join("secret.mp4"),
        dirs.clips.join("escape.mp4"),
    )
    .unwrap();
    std::fs::create_dir(dirs.clips.join("sub")).unwrap();
    write(&dirs.clips.join("sub"), "inner.mp4", b"inner");
    let server = Server::start(hub(&["cam1", "cam2"], Some(dirs.clips.clone())), settings());
    write(&dirs.clips, NEW, b"matroska bytes");
    server.hub.clip_finished(ClipInfo {
        name: NEW.into(),
        source: "cam2".into(),
        start_ms: 1_704_165_000_000,
        end_ms: 1_704_165_012_500,
        duration_ms: 12_500,
        reason: "person-at-door".into(),
        size: 14,
    });
    server
}

#[test]
fn clips_are_listed_newest_first_with_their_metadata() {
    let dirs = Dirs::new("list");
    let server = server_with_clips(&dirs);
    let list: Value = block_on(async {
        let r = client().get(server.url("/api/clips")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/json");
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    });
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [NEW, OLD], "only clips, newest first");
    let new = &list[0];
    assert_eq!(new["source"], "cam2");
    assert_eq!(new["start"], "2024-01-02T03:10:00.000Z");
    assert_eq!(new["end"], "2024-01-02T03:10:12.500Z");
    assert_eq!(new["duration_ms"], 12_500);
    assert_eq!(new["reason"], "person-at-door");
    assert_eq!(new["size"], 14);
    assert_eq!(new["url"], format!("/clips/{NEW}"));
    let old = &list[1];
    assert_eq!(old["source"], "cam1", "from the file name");
    assert_eq!(old["start"], "2024-01-02T03:04:05.000Z");
    assert_eq!(old["size"], 1000);

    // Without a clip directory: an empty list, and no file.
    let bare = Server::simple();
    block_on(async {
        let r = client().get(bare.url("/api/clips")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "[]");
        let r = client()
            .get(bare.url(&format!("/clips/{OLD}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    });
}

#[test]
fn clips_are_served_with_ranges() {
    let dirs = Dirs::new("range");
    let server = server_with_clips(&dirs);
    let data = content();
    block_on(async {
        let c = client();
        let url = server.url(&format!("/clips/{OLD}"));
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "video/mp4");
        assert_eq!(r.headers()["accept-ranges"], "bytes");
        assert_eq!(r.bytes().await.unwrap(), data);

        let r = c
            .get(&url)
            .header("Range", "bytes=100-199")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(r.headers()["content-range"], "bytes 100-199/1000");
        assert_eq!(r.headers()["content-type"], "video/mp4");
        assert_eq!(r.bytes().await.unwrap(), data[100..200]);

        let r = c
            .get(&url)
            .header("Range", "bytes=990-")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
        assert_eq!(r.headers()["content-range"], "bytes 990-999/1000");
        assert_eq!(r.bytes().await.unwrap(), data[990..]);

        let r = c
            .get(&url)
            .header("Range", "bytes=5000-6000")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 416);
        assert_eq!(r.headers()["content-range"], "bytes */1000");

        let r = c
            .get(server.url(&format!("/clips/{NEW}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "video/x-matroska");
        assert_eq!(r.bytes().await.unwrap(), "matroska bytes");
    });
}

#[test]
fn names_outside_the_clips_are_404() {
    let dirs = Dirs::new("traversal");
    let server = server_with_clips(&dirs);
    let (status, _) = raw_get(server.addr(), &format!("/clips/{OLD}"));
    assert_eq!(status, 200, "the raw client works");
    for target in [
        "/clips/..%2foutside%2fsecret.mp4",
        "/clips/..%2F..%2F..%2Fetc%2Fpasswd",
        "/clips/%2e%2e%2foutside%2fsecret.mp4",
        "/clips/%2e%2e",
        "/clips/..",
        "/clips/../outside/secret.mp4",
        "/clips/%2fetc%2fpasswd",
        "/clips//etc/passwd",
        "/clips/%2F",
        "/clips/.hidden.mp4",
        "/clips/%2ehidden.mp4",
        "/clips/escape.mp4",
        "/clips/notes.txt",
        "/clips/sub",
        "/clips/sub%2finner.mp4",
        "/clips/sub/inner.mp4",
        "/clips/missing.mp4",
        "/clips/a%00.mp4",
        "/clips/%ff.mp4",
        "/clips/",
    ] {
        let (status, answer) = raw_get(server.addr(), target);
        assert_eq!(status, 404, "{target}: {answer}");
        assert!(
            !answer.contains("SECRET") && !answer.contains("root:"),
            "{target}"
        );
        assert!(
            answer.contains("\"error\""),
            "{target}: a JSON error: {answer}"
        );
    }
}
