//! `rsvision run` with the web console, from the outside: the log names the bound address,
//! `/api/status` describes the live source, the MJPEG stream gives whole JPEGs scaled to
//! fit `[web] max-width` x `max-height`, no frame is encoded while no one watches, the
//! events list the tracker's and the source's events, and a port that is taken stops the
//! program before any source starts (status 1).
//!
//! HTTP is spoken here with a small client over `std::net::TcpStream` (chunked bodies
//! decoded, multipart parts split by their `Content-Length`), independent of the server's
//! stack; the JPEGs are decoded by GStreamer's `jpegdec`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::app::Rsvision;
use common::camera::Camera;
use common::config::{file_uri, Deployment, Timing};
use common::{init, media, TempDir};
use gst::prelude::*;

/// One HTTP response head: status and headers (names lowercased).
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `GET path` and reads the response head.
fn request(addr: &str, path: &str) -> (Head, BufReader<TcpStream>) {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("HTTP/1.1"), "status line `{line}`");
    let status = words.next().and_then(|s| s.parse().ok()).expect(&line);
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').expect(l);
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    (Head { status, headers }, r)
}

/// The body after `head`: chunked or not, as the head says.
fn body_reader<'a>(head: &Head, r: &'a mut BufReader<TcpStream>) -> Box<dyn Read + 'a> {
    if head
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        Box::new(Chunked {
            inner: r,
            left: 0,
            done: false,
        })
    } else {
        Box::new(r)
    }
}

/// A chunked transfer-coding decoder.
struct Chunked<'a> {
    inner: &'a mut BufReader<TcpStream>,
    left: usize,
    done: bool,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            self.inner.read_line(&mut line)?;
            if line == "\r\n" {
                line.clear();
                self.inner.read_line(&mut line)?;
            }
            let size = line.trim().split(';').next().unwrap_or("");
            self.left = usize::from_str_radix(size, 16).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, format!("chunk `{line}`"))
            })?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..n])?;
        self.left -= n;
        Ok(n)
    }
}

/// `GET path`: status, content type and body.
fn get(addr: &str, path: &str) -> (u16, String, Vec<u8>) {
    let (head, mut r) = request(addr, path);
    let mut body = Vec::new();
    body_reader(&head, &mut r).read_to_end(&mut body).unwrap();
    let ct = head.header("content-type").unwrap_or("").to_string();
    (head.status, ct, body)
}

fn status(addr: &str) -> serde_json::Value {
    let (code, ct, body) = get(addr, "/api/status");
    assert_eq!(code, 200);
    assert!(ct.starts_with("application/json"), "{ct}");
    serde_json::from_slice(&body).expect("JSON")
}

/// Reads a line ending in CRLF from `r`.
fn crlf_line(r: &mut dyn Read) -> std::io::Result<String> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\r\n") {
        r.read_exact(&mut b)?;
        out.push(b[0]);
    }
    Ok(String::from_utf8_lossy(&out[..out.len() - 2]).to_string())
}

/// Reads the parts of an MJPEG stream, each given to `f` until it returns false (or the
/// stream ends: `Err`), waiting at most `timeout` for each.
fn stream_parts(
    addr: &str,
    path: &str,
    timeout: Duration,
    mut f: impl FnMut(Vec<u8>) -> bool,
) -> (Head, std::io::Result<()>) {
    let (head, mut r) = request(addr, path);
    assert_eq!(head.status, 200);
    r.get_ref().set_read_timeout(Some(timeout)).unwrap();
    let result = (|| {
        let mut body = body_reader(&head, &mut r);
        loop {
            let mut line = crlf_line(&mut *body)?;
            if line.is_empty() {
                // The CRLF after the previous part.
                line = crlf_line(&mut *body)?;
            }
            assert_eq!(line, "--rsvisionframe", "a part starts with the boundary");
            let mut length = None;
            loop {
                let h = crlf_line(&mut *body)?;
                if h.is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').expect(&h);
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-type" => assert_eq!(v.trim(), "image/jpeg"),
                    "content-length" => length = v.trim().parse::<usize>().ok(),
                    _ => {}
                }
            }
            let mut jpeg = vec![0u8; length.expect("Content-Length in every part")];
            body.read_exact(&mut jpeg)?;
            if !f(jpeg) {
                return Ok(());
            }
        }
    })();
    // Dropping the connection is the viewer leaving.
    (head, result)
}

/// The first `n` JPEG parts of an MJPEG stream and how long they took.
fn mjpeg_parts(addr: &str, path: &str, n: usize) -> (Head, Vec<Vec<u8>>, Duration) {
    let started = Instant::now();
    let mut parts = Vec::new();
    let (head, result) = stream_parts(addr, path, Duration::from_secs(10), |p| {
        parts.push(p);
        parts.len() < n
    });
    result.expect("the MJPEG stream");
    (head, parts, started.elapsed())
}

/// Width and height of a JPEG decoded by `jpegdec`.
fn decode_jpeg(data: &[u8]) -> (i32, i32) {
    assert_eq!(&data[..2], [0xff, 0xd8], "SOI");
    assert_eq!(&data[data.len() - 2..], [0xff, 0xd9], "EOI");
    let p = gst::parse::launch("appsrc name=src caps=image/jpeg ! jpegdec ! appsink name=sink")
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let src = p
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    src.push_buffer(gst::Buffer::from_slice(data.to_vec()))
        .unwrap();
    src.end_of_stream().unwrap();
    let sample = sink
        .try_pull_sample(gst::ClockTime::from_seconds(10))
        .expect("jpegdec decodes the part");
    let s = sample.caps().unwrap().structure(0).unwrap().to_owned();
    p.set_state(gst::State::Null).unwrap();
    (s.get("width").unwrap(), s.get("height").unwrap())
}

/// `cam1` on the shipped sample played live (looping), with `[web]` keys `web`.
fn deployment(dir: &Path, web: &str) -> std::path::PathBuf {
    deployment_of(dir, web, &file_uri(&common::sample_video()))
}

fn deployment_of(dir: &Path, web: &str, uri: &str) -> std::path::PathBuf {
    let mut d = Deployment::new(dir, &Timing::default());
    d.web(web);
    d.source("cam1", uri, "");
    d.write("deployment.toml")
}

/// The `ADDR` of `web: listening on http://ADDR/`.
fn listening(rsv: &Rsvision) -> String {
    let (_, line) = rsv.wait_for(0, "web: listening on", Duration::from_secs(30), |l| {
        l.starts_with("web: listening on http://")
    });
    let url = &line.text["web: listening on ".len()..];
    url.strip_prefix("http://")
        .and_then(|u| u.strip_suffix('/'))
        .unwrap_or_else(|| panic!("`{}`", line.text))
        .to_string()
}

fn encoded(addr: &str) -> u64 {
    status(addr)["sources"][0]["frames_encoded"]
        .as_u64()
        .expect("frames_encoded")
}

#[test]
fn live_source_status_and_annotated_mjpeg() {
    init();
    let dir = TempDir::new("web-run");
    let config = deployment(
        dir.path(),
        "listen = \"127.0.0.1:0\"\nfps = 5\nmax-width = 320\nmax-height = 200",
    );
    let mut rsv = Rsvision::run(&config, &[]);
    let addr = listening(&rsv);
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "the bound port, not 0: {addr}"
    );
    rsv.wait_for(0, "source cam1: live", Duration::from_secs(30), |l| {
        l == "source cam1: live"
    });

    // The status: live, frames flowing, every field of the design.
    let doc = common::poll(Duration::from_secs(10), || {
        let d = status(&addr);
        (d["sources"][0]["fps_in"].as_f64().unwrap_or(0.0) > 0.0).then_some(d)
    })
    .unwrap_or_else(|| panic!("fps_in > 0 in /api/status\n{}", rsv.transcript()));
    let s = &doc["sources"][0];
    for field in [
        "id",
        "state",
        "state_text",
        "retry_in_s",
        "fps_in",
        "fps_processed",
        "dropped",
        "inference_ms",
        "latency_ms",
        "reconnects",
        "last_frame_age_s",
        "objects",
        "viewers",
        "clips_recording",
    ] {
        assert!(s.get(field).is_some(), "no {field} in {s}");
    }
    assert_eq!(
        (s["id"].as_str(), s["state"].as_str()),
        (Some("cam1"), Some("live"))
    );
    assert_eq!(s["state_text"], "live");
    assert!(s["retry_in_s"].is_null(), "{s}");
    assert!(s["fps_processed"].as_f64().unwrap() > 0.0, "{s}");
    assert!(s["inference_ms"].as_f64().unwrap() > 0.0, "{s}");
    assert!(s["last_frame_age_s"].as_f64().unwrap() < 2.0, "{s}");
    assert!(
        s["objects"].as_u64().unwrap() > 0,
        "shapes are always in view: {s}"
    );
    assert_eq!(s["viewers"], 0);
    let m = &doc["models"][0];
    assert_eq!(m["name"], "shapes", "{doc}");
    assert!(m["inferences_per_s"].as_f64().unwrap() > 0.0, "{doc}");
    assert!(m["sessions"].as_u64().unwrap() >= 1, "{doc}");
    assert!(doc["clips"]["finished"].is_u64() && doc["clips"]["recording"].is_u64());
    assert!(
        doc["version"].is_string() && doc["uptime_s"].is_number(),
        "{doc}"
    );

    // No viewer: nothing encoded, now nor for the next 2 s.
    assert_eq!(encoded(&addr), 0, "{}", rsv.transcript());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(encoded(&addr), 0, "frames encoded without a viewer");

    // A viewer: whole JPEGs, 640x480 scaled into 320x200 with its aspect, at most 5 a second.
    let (head, parts, took) = mjpeg_parts(&addr, "/api/sources/cam1/stream.mjpeg", 6);
    assert_eq!(
        head.header("content-type"),
        Some("multipart/x-mixed-replace; boundary=rsvisionframe")
    );
    for p in &parts {
        let (w, h) = decode_jpeg(p);
        assert!(h == 200 && (266..=267).contains(&w), "{w}x{h}");
    }
    assert!(
        took >= Duration::from_millis(700),
        "6 frames at 5 fps take about 1 s, not {took:?}"
    );
    // The status is rebuilt every 500 ms.
    std::thread::sleep(Duration::from_millis(700));
    let after_viewing = encoded(&addr);
    assert!(after_viewing >= 6, "{after_viewing} encoded");

    // Gone: the valve closes again (within a tick), nothing more is encoded.
    std::thread::sleep(Duration::from_secs(1));
    let settled = encoded(&addr);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(encoded(&addr), settled, "encoding after the viewer left");

    // The tracker's events and the source's own.
    let (code, _, body) = get(&addr, "/api/events?limit=500");
    assert_eq!(code, 200);
    let events: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    assert!(
        events.iter().any(|e| e["kind"] == "track-entry"
            && e["source"] == "cam1"
            && e["data"]["track_id"].is_u64()),
        "no track-entry event: {events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "state" && e["data"]["state"] == "live"),
        "no state event `live`: {events:?}"
    );

    rsv.interrupt_and_check(&["cam1"], Duration::from_secs(30));
}

/// A viewer stays connected while the camera goes away and comes back: the status says
/// `reconnecting in N s` meanwhile, and frames come again from the new pipeline without the
/// viewer doing anything.
#[test]
fn a_viewer_gets_frames_again_after_a_reconnect() {
    init();
    let dir = TempDir::new("web-reconnect");
    let mut cam = Camera::start(&media::shapes(), dir.path());
    let config = deployment_of(dir.path(), "listen = \"127.0.0.1:0\"\nfps = 5", &cam.url());
    let mut rsv = Rsvision::run(&config, &[]);
    let addr = listening(&rsv);
    let t = Duration::from_secs(30);
    let (first_live, _) = rsv.wait_for(0, "source cam1: live", t, |l| l == "source cam1: live");

    let frames: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let viewer = {
        let (frames, stop, addr) = (frames.clone(), stop.clone(), addr.clone());
        std::thread::spawn(move || {
            stream_parts(&addr, "/api/sources/cam1/stream.mjpeg", t, |p| {
                assert!(decode_jpeg(&p).0 > 0);
                frames.lock().unwrap().push(Instant::now());
                !stop.load(Ordering::Relaxed)
            })
            .1
        })
    };
    let count = || frames.lock().unwrap().len();
    assert!(
        common::poll(Duration::from_secs(10), || (count() >= 3).then_some(())).is_some(),
        "no frames before the outage\n{}",
        rsv.transcript()
    );

    cam.kill();
    let (lost, _) = rsv.wait_for(first_live, "source cam1: lost", t, |l| {
        l.starts_with("source cam1: lost (")
    });
    let down = common::poll(Duration::from_secs(10), || {
        let s = status(&addr)["sources"][0].clone();
        (s["state"] == "reconnecting").then_some(s)
    })
    .unwrap_or_else(|| panic!("no reconnecting state\n{}", rsv.transcript()));
    let text = down["state_text"].as_str().unwrap();
    assert!(
        text.starts_with("reconnecting in ") && text.ends_with(" s"),
        "{down}"
    );
    assert!(down["retry_in_s"].is_number(), "{down}");
    std::thread::sleep(Duration::from_secs(2));
    cam.spawn();
    rsv.wait_for(lost, "source cam1: live (again)", t, |l| {
        l == "source cam1: live"
    });
    let back = Instant::now();
    let again = common::poll(Duration::from_secs(10), || {
        let n = frames.lock().unwrap().iter().filter(|&&f| f > back).count();
        (n >= 3).then_some(n)
    });
    stop.store(true, Ordering::Relaxed);
    assert!(
        again.is_some(),
        "the viewer got no frames from the new pipeline\n{}",
        rsv.transcript()
    );
    viewer
        .join()
        .unwrap()
        .expect("the stream stayed open across the reconnect");
    let (_, _, body) = get(&addr, "/api/events?limit=500");
    let events: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "state" && e["data"]["state"] == "reconnecting"),
        "{events:?}"
    );
    assert_eq!(status(&addr)["sources"][0]["reconnects"], 1);
    rsv.interrupt_and_check(&["cam1"], Duration::from_secs(30));
}

/// A rule's clip: the rule hit and the finished clip are events, the clip is in
/// `/api/clips` with its metadata, and the status counts it while it is written and after.
#[test]
fn rule_hits_and_finished_clips_reach_the_console() {
    init();
    let dir = TempDir::new("web-clips");
    // 4 s black, 4 s of shapes, 4 s black, looped.
    let cam = Camera::start(&media::black_shapes_black(), dir.path());
    let mut d = Deployment::new(dir.path(), &Timing::default());
    d.record("");
    d.rule("circle", "1s", "1s", "1s");
    d.source("cam1", &cam.url(), "");
    let config = d.write("deployment.toml");
    let mut rsv = Rsvision::run(&config, &[]);
    let addr = listening(&rsv);
    let (rule_at, _) = rsv.wait_for(
        0,
        "rule cam1 circle: recording",
        Duration::from_secs(45),
        |l| l.starts_with("rule cam1 circle: recording"),
    );
    assert!(
        common::poll(Duration::from_secs(3), || {
            (status(&addr)["sources"][0]["clips_recording"] == 1).then_some(())
        })
        .is_some(),
        "clips_recording is not 1 while the clip is written\n{}",
        rsv.transcript()
    );
    let (_, line) = rsv.wait_for(rule_at, "clip cam1: PATH", Duration::from_secs(30), |l| {
        l.starts_with("clip cam1: ")
    });
    let name = Path::new(line.text["clip cam1: ".len()..].split(" (").next().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let events = common::poll(Duration::from_secs(3), || {
        let (_, _, body) = get(&addr, "/api/events?limit=500");
        let events: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        events.iter().any(|e| e["kind"] == "clip").then_some(events)
    })
    .unwrap_or_else(|| panic!("no clip event\n{}", rsv.transcript()));
    let clip = events.iter().find(|e| e["kind"] == "clip").unwrap();
    assert_eq!(clip["data"]["name"].as_str(), Some(name.as_str()), "{clip}");
    assert_eq!(clip["data"]["reason"], "circle", "{clip}");
    let (start, end) = (
        clip["data"]["start_ms"].as_i64().unwrap(),
        clip["data"]["end_ms"].as_i64().unwrap(),
    );
    assert!(start > 0 && end > start, "{clip}");
    let rule = events
        .iter()
        .find(|e| e["kind"] == "rule")
        .unwrap_or_else(|| panic!("no rule event: {events:?}"));
    assert_eq!(rule["data"]["rule"], "circle", "{rule}");
    assert!(rule["seq"].as_u64() < clip["seq"].as_u64());

    let (code, _, body) = get(&addr, "/api/clips");
    assert_eq!(code, 200);
    let clips: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    let listed = clips
        .iter()
        .find(|c| c["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not in {clips:?}"));
    assert_eq!(
        (listed["source"].as_str(), listed["reason"].as_str()),
        (Some("cam1"), Some("circle"))
    );
    assert!(listed["duration_ms"].as_u64().unwrap() > 1000, "{listed}");
    assert!(listed["size"].as_u64().unwrap() > 0, "{listed}");
    // The status is rebuilt every 500 ms.
    assert!(
        common::poll(Duration::from_secs(2), || {
            (status(&addr)["clips"]["finished"].as_u64() >= Some(1)).then_some(())
        })
        .is_some(),
        "clips.finished stays 0: {}",
        status(&addr)
    );
    rsv.interrupt_and_check(&["cam1"], Duration::from_secs(30));
}

#[test]
fn a_port_in_use_exits_1_before_any_source_starts() {
    init();
    let dir = TempDir::new("web-taken");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = deployment(dir.path(), &format!("listen = \"127.0.0.1:{port}\""));
    let mut rsv = Rsvision::run(&config, &[]);
    let status = rsv.wait_exit(Duration::from_secs(30));
    let all = rsv.output();
    assert_eq!(status.code(), Some(1), "{all}");
    assert!(
        rsv.find(0, |l| l.starts_with(&format!(
            "error: web: cannot listen on 127.0.0.1:{port}: address already in use"
        )))
        .len()
            == 1,
        "{all}"
    );
    assert!(
        rsv.find(0, |l| l.starts_with("source ")).is_empty(),
        "a source started:\n{all}"
    );
    drop(taken);
}

#[test]
fn hash_password_prints_an_argon2_phc_string() {
    let mut child = std::process::Command::new(common::app::binary())
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"open sesame\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let hash = String::from_utf8(out.stdout).unwrap();
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(!hash.contains("open sesame"));
    // It verifies the password (argon2's own verifier), and not another one.
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let parsed = PasswordHash::new(hash).expect("a PHC string");
    assert!(argon2::Argon2::default()
        .verify_password(b"open sesame", &parsed)
        .is_ok());
    assert!(argon2::Argon2::default()
        .verify_password(b"open sesame\n", &parsed)
        .is_err());
    // And the config takes it.
    init();
    let dir = TempDir::new("web-hash");
    let config = deployment(
        dir.path(),
        &format!("listen = \"127.0.0.1:0\"\nuser = \"admin\"\npassword-hash = \"{hash}\""),
    );
    let out = common::app::check(&config);
    assert!(out.status.success(), "{out:?}");

    // Nothing on stdin is an error, not the hash of an empty password.
    let out = std::process::Command::new(common::app::binary())
        .arg("hash-password")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
}
