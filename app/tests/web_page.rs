//! The web console's page in a real browser: Debian's `chromium`, headless, driven over the
//! DevTools protocol, loads `/` from `rsvision run` with two live sources (the sample video
//! played live and looped) and one that is down (RTSP on a closed port), and checks what a
//! person would see:
//! - three tiles; the two live ones show MJPEG images that change (the page's own counters,
//!   `window.rsvisionPage.framesSeen`, and pixels the test samples itself 2 s apart), the
//!   down one shows the placeholder and a "reconnecting" badge;
//! - the events list holds the server's events (`/api/events`, newest first) and follows it
//!   live;
//! - a click opens the source large with its stream, Escape closes it (and its stream).
//!
//! The screenshot becomes the README's picture (`docs/web-console.png`) with
//! `RSVISION_UPDATE_PICTURES=1` (else it stays in the test's directory) after checking it: a PNG of the viewport whose live tiles hold video (many colours) where the down tile
//! holds the flat placeholder. `scripts/setup.sh --test` installs chromium.

#[path = "web_page/cdp.rs"]
mod cdp;
mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use gst::prelude::*;
use serde_json::Value;

use common::app::Rsvision;
use common::config::{file_uri, Deployment, Timing};
use common::{init, TempDir};

const LIVE: [&str; 2] = ["cam-left", "cam-right"];
const DOWN: &str = "cam-door";
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 760;

/// The tiles as the page shows them.
const TILES_JS: &str = r#"(() => [...document.querySelectorAll('#tiles .tile')].map(t => {
  const v = t.querySelector('img.view'), p = t.querySelector('img.placeholder');
  const r = t.querySelector('.frame').getBoundingClientRect();
  return {id: t.dataset.id, state: t.dataset.state,
    badge: t.querySelector('.badge').textContent,
    video: t.querySelector('.frame').classList.contains('has-video'),
    src: v.currentSrc, width: v.naturalWidth, height: v.naturalHeight,
    placeholder: p.complete && p.naturalWidth > 0 && getComputedStyle(p).opacity !== '0',
    alt: p.alt, rect: [r.left, r.top, r.width, r.height]};
}))()"#;

/// Pixels of each tile's live image, sampled by the test itself (not the page's counter).
const PIXELS_JS: &str = r#"(() => { const out = {};
  for (const t of document.querySelectorAll('#tiles .tile')) {
    const v = t.querySelector('img.view');
    if (!v.naturalWidth || !v.currentSrc.includes('/stream.mjpeg')) continue;
    const c = document.createElement('canvas'); c.width = 80; c.height = 60;
    const x = c.getContext('2d'); x.drawImage(v, 0, 0, 80, 60);
    const d = x.getImageData(0, 0, 80, 60).data, s = [];
    for (let i = 0; i < d.length; i += 4) s.push(d[i] + d[i + 1] + d[i + 2]);
    out[t.dataset.id] = s;
  }
  return out; })()"#;

fn deployment(dir: &Path) -> std::path::PathBuf {
    let mut d = Deployment::new(dir, &Timing::default());
    d.events_file();
    // Short clips of one source, so that the clips panel has some to play.
    d.record("max-duration = 2");
    d.add("[[record.rules]]\nlabel = \"circle\"\nmin-duration = \"500ms\"\npre = \"1s\"\npost = \"1s\"\nsources = [\"cam-left\"]");
    d.add("[web]\nlisten = \"127.0.0.1:0\"");
    let video = file_uri(&common::sample_video());
    for id in LIVE {
        d.source(id, &video, "mode = \"live\"");
    }
    // Nobody listens there: the source goes connecting -> reconnecting, forever.
    let closed = common::free_port();
    d.source(DOWN, &format!("rtsp://127.0.0.1:{closed}/stream"), "");
    d.write("deployment.toml")
}

/// `http://ADDR/` of the `web: listening on http://ADDR/` line.
fn web_url(rsv: &Rsvision) -> String {
    let (_, line) = rsv.wait_for(
        0,
        "web: listening on http://ADDR/",
        Duration::from_secs(30),
        |l| l.starts_with("web: listening on http://"),
    );
    let url = line.text["web: listening on ".len()..].trim().to_string();
    assert!(url.ends_with('/'), "{}", line.text);
    url
}

fn tile<'a>(tiles: &'a Value, id: &str) -> &'a Value {
    tiles
        .as_array()
        .and_then(|a| a.iter().find(|t| t["id"] == id))
        .unwrap_or(&Value::Null)
}

/// Two live tiles showing their streams and the down one a reconnecting badge.
fn ready(tiles: &Value) -> bool {
    let n = tiles.as_array().map_or(0, |a| a.len());
    let live = LIVE.iter().all(|id| {
        let t = tile(tiles, id);
        t["state"] == "live"
            && t["video"] == true
            && t["width"].as_u64().unwrap_or(0) > 0
            && t["src"].as_str().unwrap_or("").contains("/stream.mjpeg")
    });
    let down = tile(tiles, DOWN);
    n == 3
        && live
        && down["badge"]
            .as_str()
            .unwrap_or("")
            .starts_with("reconnecting")
        && down["video"] == false
        && down["placeholder"] == true
}

fn frames_seen(state: &Value, id: &str) -> u64 {
    state["framesSeen"][id].as_u64().unwrap_or(0)
}

/// Width, height and RGBx pixels of a PNG, decoded by GStreamer's pngdec.
fn decode_png(path: &Path) -> (usize, usize, Vec<u8>) {
    let pipeline = gst::parse::launch(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! video/x-raw,format=RGBx ! appsink name=sink",
        path.display()
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let sample = sink.try_pull_sample(gst::ClockTime::from_seconds(10));
    pipeline.set_state(gst::State::Null).unwrap();
    let sample = sample.expect("pngdec gave no image: not a valid PNG");
    let caps = sample.caps().unwrap().structure(0).unwrap();
    let (w, h) = (
        caps.get::<i32>("width").unwrap() as usize,
        caps.get::<i32>("height").unwrap() as usize,
    );
    let map = sample.buffer().unwrap().map_readable().unwrap();
    assert_eq!(map.len(), w * h * 4, "RGBx is 4 bytes a pixel, unpadded");
    (w, h, map.to_vec())
}

/// Distinct colours (quantised to 5 bits a channel) inside a rectangle of an RGBx image.
fn colours(rgb: &[u8], width: usize, rect: &Value) -> usize {
    let f = |i: usize| rect[i].as_f64().unwrap_or(0.0).max(0.0) as usize;
    let (x0, y0, w, h) = (f(0), f(1), f(2), f(3));
    let height = rgb.len() / 4 / width;
    let mut set = HashSet::new();
    for y in y0..(y0 + h).min(height) {
        for x in x0..(x0 + w).min(width) {
            let p = (y * width + x) * 4;
            set.insert(
                ((rgb[p] as u32 >> 3) << 10)
                    | ((rgb[p + 1] as u32 >> 3) << 5)
                    | (rgb[p + 2] as u32 >> 3),
            );
        }
    }
    set.len()
}

#[test]
fn page_shows_live_tiles_a_reconnecting_badge_and_live_events() {
    init();
    let browser = cdp::find().expect(
        "no chromium on the PATH (scripts/setup.sh --test installs Debian's chromium; \
         RSVISION_CHROMIUM=/path/to/chromium to use another)",
    );
    let started = Instant::now();
    let dir = TempDir::new("web-page");
    let config = deployment(dir.path());
    let rsv = Rsvision::run(&config, &[]);
    let base = web_url(&rsv);
    let profile = dir.path().join("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let mut page = cdp::Chromium::launch(&browser, &profile, WIDTH, HEIGHT);
    page.navigate(&base);

    // Until both live sources stream into their tiles and the down one shows its badge.
    let mut last = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(45);
    while !ready(&last) {
        assert!(
            Instant::now() < deadline,
            "the page did not show 2 live tiles and 1 reconnecting badge within 45 s: {last:#}\n{}",
            rsv.transcript()
        );
        std::thread::sleep(Duration::from_millis(250));
        last = page.eval(TILES_JS);
    }
    let down = tile(&last, DOWN);
    assert!(
        down["alt"].as_str().unwrap_or("").contains("reconnecting"),
        "the placeholder's alt text says the state: {down}"
    );

    // The images move: the page's counters and the test's own pixel samples, 2 s apart.
    let state1 = page.eval("window.rsvisionPage");
    let pixels1 = page.eval(PIXELS_JS);
    let server_events: Value =
        page.eval("fetch('/api/events?limit=500', {cache: 'no-store'}).then(r => r.json())");
    std::thread::sleep(Duration::from_secs(2));
    let state2 = page.eval("window.rsvisionPage");
    let pixels2 = page.eval(PIXELS_JS);
    assert_eq!(state2["tiles"], 3, "{state2:#}");
    for id in LIVE {
        let (a, b) = (frames_seen(&state1, id), frames_seen(&state2, id));
        assert!(
            b > a && a > 0,
            "{id}: the page saw no new MJPEG image in 2 s (framesSeen {a} -> {b}): {state2:#}"
        );
        let (p1, p2) = (pixels1[id].as_array(), pixels2[id].as_array());
        let changed = match (p1, p2) {
            (Some(p1), Some(p2)) => p1.iter().zip(p2).filter(|(x, y)| x != y).count(),
            _ => 0,
        };
        assert!(
            changed > 20,
            "{id}: its image did not change in 2 s ({changed} of 4800 samples)"
        );
        println!(
            "{id}: framesSeen {a} -> {b} in 2 s (load events {}, pixel changes {}); {changed} of 4800 samples changed",
            state2["loads"][id], state2["changes"][id]
        );
    }
    assert_eq!(
        frames_seen(&state2, DOWN),
        0,
        "the down source's tile never streamed: {state2:#}"
    );

    // The events list: the server's events, newest first, and it keeps up.
    // The rows and the page's counter read at the same moment.
    let list = page.eval(
        "({seen: window.rsvisionPage.eventsSeen, rows: [...document.querySelectorAll('#events li')].map(li => [Number(li.dataset.seq), li.querySelector('.ev-source').textContent, li.querySelector('.ev-kind').textContent, li.querySelector('.ev-text').textContent])})",
    );
    let rows = list["rows"].as_array().cloned().unwrap_or_default();
    let server = server_events.as_array().cloned().unwrap_or_default();
    assert!(
        !server.is_empty(),
        "the server had no events after {:?}\n{}",
        started.elapsed(),
        rsv.transcript()
    );
    assert!(
        !rows.is_empty() && list["seen"].as_u64().unwrap_or(0) >= rows.len() as u64,
        "the events list is empty, or eventsSeen is below its rows: {list:#}"
    );
    let seqs: Vec<u64> = rows.iter().map(|r| r[0].as_u64().unwrap_or(0)).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "events not newest first: {seqs:?}"
    );
    assert!(
        seqs[0] >= server[0]["seq"].as_u64().unwrap(),
        "the list is behind the server 2 s later: its newest {} < the server's {}",
        seqs[0],
        server[0]["seq"]
    );
    let mut matched = 0;
    for r in &rows {
        if let Some(e) = server.iter().find(|e| e["seq"] == r[0]) {
            assert_eq!(
                (&r[1], &r[2], &r[3]),
                (&e["source"], &e["kind"], &e["text"]),
                "row {r} shows another event than the server's {e}"
            );
            matched += 1;
        }
    }
    assert!(
        matched > 0,
        "no row is one of the server's events: {rows:?}"
    );
    // None skipped: every event the server had, from the oldest row on, is a row.
    let oldest = *seqs.last().unwrap();
    let missing: Vec<u64> = server
        .iter()
        .filter_map(|e| e["seq"].as_u64())
        .filter(|q| *q >= oldest && !seqs.contains(q))
        .collect();
    assert!(
        missing.is_empty(),
        "the page skipped the server's events {missing:?} (rows {seqs:?})"
    );
    println!(
        "events: {} rows (eventsSeen {} -> {}), newest seq {}, {} checked against /api/events ({})",
        rows.len(),
        state1["eventsSeen"],
        state2["eventsSeen"],
        seqs[0],
        matched,
        state2["eventsMode"]
    );

    // The clips panel lists the server's clips; one plays and seeks in the page's <video>
    // (the browser fetches it with range requests).
    let clips = common::poll(Duration::from_secs(20), || {
        let v = page.eval(
            "fetch('/api/clips', {cache: 'no-store'}).then(r => r.json()).then(list => ({list,
               rows: [...document.querySelectorAll('#clips li')].map(li => li.dataset.url)}))",
        );
        let n = v["list"].as_array().map_or(0, |l| l.len());
        (n > 0 && !v["rows"].as_array().unwrap().is_empty()).then_some(v)
    })
    .unwrap_or_else(|| panic!("no clip in the page within 20 s\n{}", rsv.transcript()));
    let rows: Vec<&str> = clips["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    let server: Vec<&str> = clips["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["url"].as_str())
        .collect();
    assert!(
        rows.iter().all(|r| server.contains(r)) && server.starts_with(&rows[..1]),
        "clip rows {rows:?} are not the server's {server:?}"
    );
    page.eval("document.querySelector('#clips .clip-play').click()");
    let played = page.eval(
        "new Promise((resolve) => {
           const v = document.getElementById('player');
           const done = (what) => resolve({what, src: v.currentSrc, duration: v.duration,
             time: v.currentTime, ready: v.readyState, error: v.error && v.error.code});
           const seek = () => { v.addEventListener('seeked', () => done('seeked'), {once: true});
                                v.currentTime = v.duration / 2; };
           if (v.readyState >= 1) seek(); else v.addEventListener('loadedmetadata', seek, {once: true});
           v.addEventListener('error', () => done('error'), {once: true});
           setTimeout(() => done('timeout'), 10000);
         })",
    );
    assert_eq!(played["what"], "seeked", "the clip did not play: {played}");
    assert!(
        played["src"].as_str().unwrap_or("").ends_with(rows[0])
            && played["duration"].as_f64().unwrap_or(0.0) > 0.5,
        "{played}"
    );
    println!(
        "clips: {} in the page, {} on the server; played {} ({:.1} s), seeked to {:.1} s",
        rows.len(),
        server.len(),
        rows[0],
        played["duration"].as_f64().unwrap_or(0.0),
        played["time"].as_f64().unwrap_or(0.0)
    );

    // The screenshot: checked, then kept as the README's picture.
    let tiles_now = page.eval(TILES_JS);
    let png = page.screenshot();
    let shot = dir.path().join("web-console.png");
    std::fs::write(&shot, &png).unwrap();
    assert!(png.len() > 20_000, "a {} byte screenshot", png.len());
    let (w, h, rgb) = decode_png(&shot);
    assert_eq!((w, h), (WIDTH as usize, HEIGHT as usize));
    for id in LIVE {
        let n = colours(&rgb, w, &tile(&tiles_now, id)["rect"]);
        assert!(
            n > 300,
            "{id}: its tile in the screenshot has {n} colours: no video?"
        );
    }
    let n = colours(&rgb, w, &tile(&tiles_now, DOWN)["rect"]);
    assert!(n < 300, "{DOWN}: the placeholder tile has {n} colours");
    // The README's picture is replaced only when asked (a test run leaves the tree clean).
    let docs = match std::env::var_os("RSVISION_UPDATE_PICTURES") {
        Some(_) => common::root().join("docs/web-console.png"),
        None => dir.path().join("web-console.png"),
    };
    std::fs::write(&docs, &png).unwrap();
    println!("screenshot: {} ({} bytes)", docs.display(), png.len());

    // A click opens the source large with its stream; Escape closes it.
    let r = &tile(&tiles_now, LIVE[0])["rect"];
    let centre = |i: usize| r[i].as_f64().unwrap() + r[i + 2].as_f64().unwrap() / 2.0;
    page.click(centre(0), centre(1));
    let large = common::poll(Duration::from_secs(10), || {
        let v = page.eval(
            "(() => { const d = document.getElementById('viewer'), i = document.getElementById('viewer-img');
               return {open: d.open, title: document.getElementById('viewer-title').textContent,
                       src: i.currentSrc, width: i.naturalWidth}; })()",
        );
        (v["open"] == true
            && v["width"].as_u64().unwrap_or(0) > 0
            && v["src"].as_str().unwrap_or("").contains("/stream.mjpeg"))
        .then_some(v)
    });
    let large = large.expect("the large view did not open with the stream within 10 s");
    assert_eq!(large["title"], LIVE[0]);
    page.key("Escape", 27);
    let closed = common::poll(Duration::from_secs(5), || {
        let v = page.eval(
            "({open: document.getElementById('viewer').open, src: document.getElementById('viewer-img').currentSrc})",
        );
        (v["open"] == false && !v["src"].as_str().unwrap_or("").contains("/stream.mjpeg"))
            .then_some(v)
    });
    assert!(closed.is_some(), "Escape did not close the large view");
    println!("web page test done in {:?}", started.elapsed());
    drop(page);
}
