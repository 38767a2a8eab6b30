//! MJPEG: the wire format, the viewer count, the fps cap, a stalled reader; the server's
//! start and stop.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use super::*;

async fn open_stream(server: &Server, id: &str) -> reqwest::Response {
    let r = client()
        .get(server.url(&format!("/api/sources/{id}/stream.mjpeg")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r
}

#[test]
fn mjpeg_sends_whole_parts_and_counts_its_viewer() {
    let server = Server::simple();
    let _pipeline = Publisher::jpegs(&server.hub, 0, Duration::from_millis(20));
    block_on(async {
        let mut r = open_stream(&server, "cam1").await;
        let h = r.headers();
        assert_eq!(
            h["content-type"],
            "multipart/x-mixed-replace; boundary=rsvisionframe"
        );
        assert_eq!(h["cache-control"], "no-cache, no-store");
        let mut buf = Vec::new();
        for _ in 0..3 {
            let part = next_part(&mut r, &mut buf).await;
            assert_eq!(part.content_type, "image/jpeg");
            assert_eq!(part.content_length, jpeg().len());
            assert_eq!(part.data, jpeg());
        }
        assert_eq!(server.viewers(0), 1);
        assert_eq!(server.viewers(1), 0);
        let status = client()
            .get(server.url("/api/status"))
            .send()
            .await
            .unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(&status.bytes().await.unwrap()).unwrap();
        assert_eq!(doc["sources"][0]["viewers"], 1);
        drop(r);
    });
    assert!(
        wait_until(Duration::from_secs(5), || server.viewers(0) == 0),
        "the viewer is no longer counted once it went away"
    );
    block_on(async {
        let r = client()
            .get(server.url("/api/sources/cam9/stream.mjpeg"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], "application/json");
    });
}

#[test]
fn a_viewer_gets_at_most_fps_frames_a_second() {
    let server = Server::start(
        hub(&["cam1"], None),
        Settings {
            fps: 5,
            ..settings()
        },
    );
    // The pipeline makes 100 frames per second.
    let _pipeline = Publisher::jpegs(&server.hub, 0, Duration::from_millis(10));
    let parts = block_on(async {
        let mut r = open_stream(&server, "cam1").await;
        let mut buf = Vec::new();
        let mut parts = 0;
        let end = tokio::time::Instant::now() + Duration::from_millis(1200);
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(end, r.chunk()).await {
            buf.extend_from_slice(&chunk);
            while take_part(&mut buf).is_some() {
                parts += 1;
            }
        }
        parts
    });
    // 1.2 s at 5 per second: 6 (7 if the first comes at once and timers are kind).
    assert!((2..=7).contains(&parts), "{parts} parts in 1.2 s at fps=5");
}

/// A frame of about 1 MB whose first bytes after SOI carry its number.
fn big_frame(n: u64) -> Bytes {
    let mut b = BytesMut::with_capacity(1 << 20);
    b.put_slice(b"\xff\xd8");
    b.put_u64(n);
    b.put_bytes(0x55, (1 << 20) - 12);
    b.put_slice(b"\xff\xd9");
    b.freeze()
}

fn frame_number(data: &[u8]) -> u64 {
    u64::from_be_bytes(data[2..10].try_into().unwrap())
}

#[test]
fn a_stalled_reader_blocks_neither_other_viewers_nor_the_pipeline() {
    let server = Server::start(
        hub(&["cam1"], None),
        Settings {
            fps: 50,
            ..settings()
        },
    );
    let pipeline = Publisher::start(&server.hub, 0, Duration::from_millis(10), big_frame);
    // A viewer that asks and then never reads: at 50 MB/s its socket buffers fill within
    // a fraction of a second, and the server must stop writing to it, not queue.
    let mut stalled = TcpStream::connect(server.addr()).unwrap();
    write!(
        stalled,
        "GET /api/sources/cam1/stream.mjpeg HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    assert!(wait_until(Duration::from_secs(5), || server.viewers(0) == 1));
    std::thread::sleep(Duration::from_millis(500));

    let published_before = pipeline.published.load(Ordering::SeqCst);
    let began = Instant::now();
    let numbers = block_on(async {
        let mut r = open_stream(&server, "cam1").await;
        let mut buf = Vec::new();
        let mut numbers = Vec::new();
        while numbers.len() < 15 {
            let part = next_part(&mut r, &mut buf).await;
            assert_eq!(part.data.len(), 1 << 20);
            numbers.push(frame_number(&part.data));
        }
        assert_eq!(server.viewers(0), 2, "both viewers are counted");
        numbers
    });
    let took = began.elapsed();
    let published = pipeline.published.load(Ordering::SeqCst) - published_before;
    // 15 frames at 50 per second take 0.3 s; 10 s would mean the stalled viewer held it.
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "the latest frame each time, never one twice: {numbers:?}"
    );
    // The publisher ran freely meanwhile (about one frame per 10 ms).
    let expected = (took.as_millis() / 10) as u64 / 4;
    assert!(
        published >= expected.max(5),
        "{published} frames in {took:?}"
    );

    // The stall was real: the viewer's socket holds what came before the server had to
    // hold back, a few hundred KB at most here (128 KB with Linux's defaults), not the
    // tens of MB it would have had at 50 MB/s.
    let mut unread: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int for a valid socket descriptor.
    let rc = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&stalled),
            libc::FIONREAD,
            &mut unread,
        )
    };
    assert_eq!(rc, 0);
    assert!(
        unread > 0 && unread < 8 << 20,
        "{unread} bytes waiting for the stalled viewer"
    );

    // When it reads again it gets whole parts: first those already in the sockets'
    // buffers (up to a few MB, which Linux lets the send buffer grow to), then the latest
    // frame, not the next one in line: nothing was queued for it.
    let stalled_numbers: Vec<u64> = read_raw_parts(&mut stalled, 10)
        .iter()
        .map(|p| frame_number(&p.data))
        .collect();
    assert!(
        stalled_numbers.windows(2).any(|w| w[1] > w[0] + 20),
        "frames after a stall of over a second at 100 frames/s: {stalled_numbers:?}"
    );
    drop(pipeline);

    // It goes away when it closes.
    drop(stalled);
    assert!(
        wait_until(Duration::from_secs(5), || {
            // A write after the close is what tells the server.
            server.hub.sources[0].publish(big_frame(0));
            server.viewers(0) == 0
        }),
        "viewers: {}",
        server.viewers(0)
    );
}

/// The first `n` parts of an MJPEG response read off a raw socket (status line, headers,
/// then the chunked body undone by hand).
fn read_raw_parts(tcp: &mut TcpStream, n: usize) -> Vec<Part> {
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = std::io::BufReader::new(tcp);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 200 OK\r\n");
    let mut chunked = false;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        chunked |= line.eq_ignore_ascii_case("transfer-encoding: chunked\r\n");
    }
    assert!(chunked, "a streamed body is chunked");
    let (mut buf, mut parts) = (Vec::new(), Vec::new());
    while parts.len() < n {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let size = usize::from_str_radix(line.trim_end().split(';').next().unwrap(), 16)
            .unwrap_or_else(|_| panic!("chunk size line {line:?}"));
        assert!(size > 0, "the stream ended");
        let start = buf.len();
        buf.resize(start + size + 2, 0);
        reader.read_exact(&mut buf[start..]).unwrap();
        assert_eq!(&buf[buf.len() - 2..], b"\r\n");
        buf.truncate(buf.len() - 2);
        while let Some(part) = take_part(&mut buf) {
            parts.push(part);
        }
    }
    parts
}

#[test]
fn stop_ends_the_live_streams_in_time_and_frees_the_port() {
    let server = Server::simple();
    let _pipeline = Publisher::jpegs(&server.hub, 0, Duration::from_millis(50));
    let addr = server.addr();
    let base = server.base.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let client_side = std::thread::spawn(move || {
        block_on(async move {
            let c = client();
            let mut mjpeg = c
                .get(format!("{base}/api/sources/cam1/stream.mjpeg"))
                .send()
                .await
                .unwrap();
            let mut sse = c
                .get(format!("{base}/api/events/stream"))
                .send()
                .await
                .unwrap();
            let mut buf = Vec::new();
            next_part(&mut mjpeg, &mut buf).await;
            ready_tx.send(()).unwrap();
            // Read until each stream ends (Ok(None) or an error), within 10 s.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            let mut ended = [false; 2];
            for (i, r) in [&mut mjpeg, &mut sse].into_iter().enumerate() {
                while let Ok(chunk) = tokio::time::timeout_at(deadline, r.chunk()).await {
                    if !matches!(chunk, Ok(Some(_))) {
                        ended[i] = true;
                        break;
                    }
                }
            }
            ended
        })
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("both streams open");
    assert_eq!(server.viewers(0), 1);
    let began = Instant::now();
    let Server { handle, hub, .. } = server;
    handle.stop();
    let took = began.elapsed();
    assert!(took < Duration::from_secs(3), "stop took {took:?}");
    assert_eq!(
        client_side.join().unwrap(),
        [true, true],
        "the MJPEG and SSE streams ended"
    );
    assert_eq!(hub.sources[0].viewers.load(Ordering::SeqCst), 0);
    // The port is free again: a new server takes it.
    let again = start(
        &Settings {
            listen: addr.to_string(),
            ..Settings::default()
        },
        hub,
    )
    .expect("the port was released");
    assert_eq!(again.local_addr(), addr);
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let first = Server::simple();
    let listen = first.addr().to_string();
    let e = start(
        &Settings {
            listen: listen.clone(),
            ..Settings::default()
        },
        first.hub.clone(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        format!(
            "web: cannot listen on {listen}: address already in use; \
             set [web] listen or enabled = false"
        )
    );
    assert!(first.handle.url().starts_with("http://127.0.0.1:"));
}
