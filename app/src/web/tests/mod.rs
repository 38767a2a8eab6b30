//! HTTP-level tests of the web console: the real server on 127.0.0.1:0 with a synthetic hub
//! (JPEGs made by GStreamer's `jpegenc`), a real client (reqwest), and raw TCP where a
//! client would tidy the request up (path traversal) or where it must not read (a stalled
//! viewer).
//!
//! `api.rs` page, status, metrics, events, snapshots; `stream.rs` MJPEG and stopping;
//! `files.rs` clips; `secure.rs` authentication and TLS.

mod api;
mod files;
mod secure;
mod stream;

use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use gst::prelude::*;

use super::{start, Hub, Settings, WebHandle};

/// A real 64x48 JPEG (`videotestsrc ! jpegenc`), made once.
pub fn jpeg() -> Bytes {
    static JPEG: OnceLock<Bytes> = OnceLock::new();
    JPEG.get_or_init(|| {
        gst::init().unwrap();
        let pipeline = gst::parse::launch(
            "videotestsrc num-buffers=1 ! video/x-raw,width=64,height=48 \
             ! jpegenc ! appsink name=sink sync=false",
        )
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let sink = pipeline
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let sample = sink.pull_sample().expect("jpegenc made a frame");
        let data = Bytes::copy_from_slice(&sample.buffer().unwrap().map_readable().unwrap());
        pipeline.set_state(gst::State::Null).unwrap();
        assert_eq!(&data[..2], b"\xff\xd8", "a JPEG starts with SOI");
        data
    })
    .clone()
}

/// Runs a client future on a runtime of its own (the server has its own threads).
pub fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Settings for a test server: any free port on loopback.
pub fn settings() -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        ..Settings::default()
    }
}

pub struct Server {
    pub handle: WebHandle,
    pub hub: Arc<Hub>,
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
}

impl Server {
    pub fn start(hub: Hub, settings: Settings) -> Server {
        let hub = Arc::new(hub);
        let handle = start(&settings, hub.clone()).expect("the server starts");
        let base = handle.url().trim_end_matches('/').to_string();
        Server { handle, hub, base }
    }

    /// Sources `cam1` and `cam2`, no clips.
    pub fn simple() -> Server {
        Server::start(hub(&["cam1", "cam2"], None), settings())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    pub fn viewers(&self, source: usize) -> usize {
        self.hub.sources[source].viewers.load(Ordering::SeqCst)
    }
}

pub fn hub(ids: &[&str], clips_dir: Option<std::path::PathBuf>) -> Hub {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    Hub::new(&ids, 50, clips_dir)
}

/// A plain client: no proxy from the environment.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Publishes frames into a source from a thread of its own until dropped, as the
/// pipeline's appsink would; frame `n` is `make(n)`.
pub struct Publisher {
    stop: Arc<AtomicBool>,
    pub published: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Publisher {
    pub fn start(
        hub: &Arc<Hub>,
        source: usize,
        period: Duration,
        make: impl Fn(u64) -> Bytes + Send + 'static,
    ) -> Publisher {
        let source = hub.sources[source].clone();
        let stop = Arc::new(AtomicBool::new(false));
        let published = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), published.clone());
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while !s.load(Ordering::SeqCst) {
                n += 1;
                source.publish(make(n));
                p.store(n, Ordering::SeqCst);
                std::thread::sleep(period);
            }
        });
        Publisher {
            stop,
            published,
            thread: Some(thread),
        }
    }

    /// The test JPEG every `period`.
    pub fn jpegs(hub: &Arc<Hub>, source: usize, period: Duration) -> Publisher {
        let frame = jpeg();
        Publisher::start(hub, source, period, move |_| frame.clone())
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// Polls `cond` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// One part of a `multipart/x-mixed-replace` body, as read off the wire.
#[derive(Debug)]
pub struct Part {
    pub content_type: String,
    pub content_length: usize,
    pub data: Vec<u8>,
}

/// Takes one whole part off the front of `buf`, if it holds one; panics on a malformed
/// part (wrong boundary, missing headers, no CRLF after the data).
pub fn take_part(buf: &mut Vec<u8>) -> Option<Part> {
    let boundary = b"--rsvisionframe\r\n";
    if buf.len() < boundary.len() {
        return None;
    }
    assert_eq!(
        &buf[..boundary.len()],
        boundary,
        "a part starts with the boundary"
    );
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[boundary.len()..head_end]).unwrap();
    let mut content_type = None;
    let mut content_length = None;
    for line in head.split("\r\n") {
        let (name, value) = line.split_once(':').expect("a header line");
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => content_type = Some(value.trim().to_string()),
            "content-length" => content_length = Some(value.trim().parse::<usize>().unwrap()),
            other => panic!("unexpected part header {other}"),
        }
    }
    let content_length = content_length.expect("Content-Length");
    let start = head_end + 4;
    if buf.len() < start + content_length + 2 {
        return None;
    }
    let data = buf[start..start + content_length].to_vec();
    assert_eq!(
        &buf[start + content_length..start + content_length + 2],
        b"\r\n",
        "CRLF after the part's data"
    );
    buf.drain(..start + content_length + 2);
    Some(Part {
        content_type: content_type.expect("Content-Type"),
        content_length,
        data,
    })
}

/// Reads the next part of a streaming response (with a generous deadline).
pub async fn next_part(response: &mut reqwest::Response, buf: &mut Vec<u8>) -> Part {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(part) = take_part(buf) {
            return part;
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("a part within 10 s")
            .expect("the stream goes on")
            .expect("the stream is not over");
        buf.extend_from_slice(&chunk);
    }
}

/// A raw HTTP/1.1 GET of exactly `target` (nothing normalised); the status code and the
/// whole answer as text.
pub fn raw_get(addr: SocketAddr, target: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        tcp,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    (status, answer)
}

#[test]
fn the_part_reader_reads_what_the_format_says() {
    // Written by hand from the design's wire format, not by mjpeg::part.
    let mut buf =
        b"--rsvisionframe\r\nContent-Type: image/jpeg\r\nContent-Length: 3\r\n\r\nabc\r\n--rsv"
            .to_vec();
    let part = take_part(&mut buf).unwrap();
    assert_eq!(
        (
            part.content_type.as_str(),
            part.content_length,
            &part.data[..]
        ),
        ("image/jpeg", 3, &b"abc"[..])
    );
    assert_eq!(buf, b"--rsv");
    assert!(take_part(&mut buf).is_none());
}
