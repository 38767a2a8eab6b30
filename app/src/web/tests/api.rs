//! The page, `/api/status`, `/metrics`, `/api/events` (JSON and SSE), `latest.jpg`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;
use crate::web::Event;

fn page_file(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/src/web/page/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string()
}

fn event(source: &str, kind: &str, text: &str) -> Event {
    Event {
        seq: 0,
        time_ms: 1_700_000_000_000,
        source: source.into(),
        kind: kind.into(),
        text: text.into(),
        data: json!({"track": 7}),
    }
}

#[test]
fn the_page_and_its_assets_are_served_with_their_types() {
    let server = Server::simple();
    block_on(async {
        let c = client();
        for (path, file, ty) in [
            ("/", "index.html", "text/html; charset=utf-8"),
            ("/app.js", "app.js", "text/javascript; charset=utf-8"),
            ("/style.css", "style.css", "text/css; charset=utf-8"),
            ("/placeholder.svg", "placeholder.svg", "image/svg+xml"),
        ] {
            let r = c.get(server.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(content_type(&r), ty, "{path}");
            assert_eq!(r.bytes().await.unwrap(), page_file(file), "{path}");
        }
        let r = c.get(server.url("/nothing/here")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(content_type(&r), "application/json");
        let body: Value = r.json_body().await;
        assert!(body["error"].is_string(), "{body}");
        let r = c.post(server.url("/api/status")).send().await.unwrap();
        assert_eq!(r.status(), 405);
        let body: Value = r.json_body().await;
        assert!(body["error"].is_string(), "{body}");
    });
}

/// `Response::json` needs reqwest's `json` feature; this is the same on `serde_json`.
trait JsonBody {
    async fn json_body(self) -> Value;
}

impl JsonBody for reqwest::Response {
    async fn json_body(self) -> Value {
        let bytes = self.bytes().await.unwrap();
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
    }
}

#[test]
fn status_has_every_field_and_the_viewers() {
    let server = Server::simple();
    server.hub.set_status(json!({
        "sources": [
            {"id": "cam1", "state": "live", "state_text": "live", "retry_in_s": null,
             "fps_in": 25.0, "fps_processed": 24.5, "dropped": 3, "inference_ms": 11.5,
             "latency_ms": 40.0, "reconnects": 1, "last_frame_age_s": 0.04, "objects": 2,
             "clips_recording": 0},
            {"id": "cam2", "state": "reconnecting", "state_text": "reconnecting in 3 s",
             "retry_in_s": 3},
        ],
        "models": [{"name": "yolo", "inferences_per_s": 49.0, "inference_ms": 11.5, "sessions": 1}],
        "sinks": [{"name": "kafka", "source": "cam1", "sent": 10, "queued": 0, "dropped": 0, "failed": 0}],
        "clips": {"recording": 0, "finished": 0},
    }));
    let _viewer = server.hub.sources[1].watch();
    block_on(async {
        let r = client()
            .get(server.url("/api/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(content_type(&r), "application/json");
        let doc = r.json_body().await;
        assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));
        assert!(doc["uptime_s"].as_f64().is_some_and(|u| u >= 0.0), "{doc}");
        let sources = doc["sources"].as_array().unwrap();
        assert_eq!(sources.len(), 2);
        for s in sources {
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
                assert!(s.get(field).is_some(), "{field} missing in {s}");
            }
        }
        assert_eq!(sources[0]["id"], "cam1");
        assert_eq!(sources[0]["fps_in"], 25.0);
        assert_eq!(sources[0]["viewers"], 0);
        assert_eq!(sources[1]["state_text"], "reconnecting in 3 s");
        assert_eq!(sources[1]["viewers"], 1, "from the hub's count");
        assert_eq!(doc["models"][0]["name"], "yolo");
        assert_eq!(doc["sinks"][0]["sent"], 10);
        assert_eq!(doc["clips"]["recording"], 0);
    });
}

/// One sample line of the text format, by the format's grammar (an implementation of
/// its own, independent of metrics.rs): name, labels with their values unescaped, value.
fn parse_sample(line: &str) -> (String, Vec<(String, String)>, f64) {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    assert!(
        !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()),
        "{line}"
    );
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            let start = chars.peek().unwrap().0;
            let eq = inner[start..].find('=').unwrap() + start;
            let key = inner[start..eq].to_string();
            while chars.next_if(|(i, _)| *i <= eq).is_some() {}
            assert_eq!(chars.next().map(|c| c.1), Some('"'), "{line}");
            let mut value = String::new();
            loop {
                match chars.next().expect("closed label value").1 {
                    '"' => break,
                    '\\' => match chars.next().unwrap().1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        other => panic!("bad escape \\{other} in {line}"),
                    },
                    '\n' => panic!("raw newline in {line}"),
                    c => value.push(c),
                }
            }
            labels.push((key, value));
            match chars.next().unwrap() {
                (_, ',') => continue,
                (i, '}') => {
                    rest = &inner[i + 1..];
                    break;
                }
                (_, c) => panic!("unexpected {c} in {line}"),
            }
        }
    }
    let value = rest.strip_prefix(' ').expect("a space before the value");
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("value {v:?} in {line}")),
    };
    (name.to_string(), labels, value)
}

#[test]
fn metrics_are_prometheus_text_that_parsers_read() {
    // A source id with every character the format escapes.
    let server = Server::start(hub(&["cam1", "odd \"cam\"\\2\n"], None), settings());
    server.hub.set_status(json!({
        "sources": [
            {"id": "cam1", "state": "live", "fps_in": 25.0, "frames": 1234, "dropped": 3,
             "inference_ms": 11.5, "latency_ms": 40.0, "reconnects": 1, "last_frame_age_s": 0.04},
            {"id": "odd \"cam\"\\2\n", "state": "reconnecting", "fps_in": 0, "reconnects": 4},
        ],
        "models": [{"name": "yolo", "inferences_per_s": 49.0, "inference_ms": 11.5}],
        "sinks": [{"name": "kafka", "source": "cam1", "sent": 10, "queued": 2, "dropped": 1}],
        "clips": {"recording": 1, "finished": 5},
    }));
    let _viewer = server.hub.sources[0].watch();
    let text = block_on(async {
        let r = client().get(server.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(content_type(&r), "text/plain; version=0.0.4; charset=utf-8");
        r.text().await.unwrap()
    });
    assert!(text.ends_with('\n'));

    // prometheus-parse: every line is a HELP, a TYPE or a sample.
    use prometheus_parse::{LineInfo, SampleType, Scrape, Value as PValue};
    let mut types: HashMap<String, SampleType> = HashMap::new();
    let mut helped = Vec::new();
    let mut samples = 0;
    for line in text.lines() {
        match LineInfo::parse(line) {
            LineInfo::Doc { metric_name, .. } => helped.push(metric_name.to_string()),
            LineInfo::Type {
                metric_name,
                sample_type,
                ..
            } => {
                assert!(
                    types.insert(metric_name, sample_type).is_none(),
                    "one TYPE each"
                );
            }
            LineInfo::Sample { metric_name, .. } => {
                samples += 1;
                let ty = types
                    .get(metric_name)
                    .unwrap_or_else(|| panic!("{metric_name}: a sample before its TYPE"));
                assert!(
                    helped.iter().any(|h| h == metric_name),
                    "{metric_name} has HELP"
                );
                if *ty == SampleType::Counter {
                    assert!(metric_name.ends_with("_total"), "{metric_name}");
                }
                // And by the format's grammar, with the labels unescaped.
                parse_sample(line);
            }
            other => panic!("line {line:?} does not parse: {other:?}"),
        }
    }
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    assert_eq!(scrape.samples.len(), samples, "every sample line was read");
    let find = |metric: &str, label: &str, value: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && s.labels.get(label) == Some(value))
            .unwrap_or_else(|| panic!("no {metric}{{{label}=\"{value}\"}} in\n{text}"))
            .value
            .clone()
    };
    assert_eq!(
        find("rsvision_source_up", "source", "cam1"),
        PValue::Gauge(1.0)
    );
    assert_eq!(
        find("rsvision_source_fps_in", "source", "cam1"),
        PValue::Gauge(25.0)
    );
    assert_eq!(
        find("rsvision_source_frames_total", "source", "cam1"),
        PValue::Counter(1234.0)
    );
    assert_eq!(
        find("rsvision_source_reconnects_total", "source", "cam1"),
        PValue::Counter(1.0)
    );
    assert_eq!(
        find("rsvision_source_last_frame_age_seconds", "source", "cam1"),
        PValue::Gauge(0.04)
    );
    assert_eq!(
        find("rsvision_source_viewers", "source", "cam1"),
        PValue::Gauge(1.0)
    );
    assert_eq!(
        find("rsvision_model_inferences_per_second", "model", "yolo"),
        PValue::Gauge(49.0)
    );
    assert_eq!(
        find("rsvision_sink_sent_total", "sink", "kafka"),
        PValue::Counter(10.0)
    );
    assert_eq!(
        find("rsvision_sink_queued", "source", "cam1"),
        PValue::Gauge(2.0)
    );
    assert_eq!(
        find("rsvision_build_info", "version", env!("CARGO_PKG_VERSION")),
        PValue::Gauge(1.0)
    );
    let plain = |metric: &str| {
        let s = scrape.samples.iter().find(|s| s.metric == metric).unwrap();
        (s.labels.is_empty(), s.value.clone())
    };
    assert_eq!(
        plain("rsvision_clips_finished_total"),
        (true, PValue::Counter(5.0))
    );
    assert!(matches!(plain("rsvision_uptime_seconds"), (true, PValue::Gauge(u)) if u >= 0.0));

    // The escaped id reads back as itself, and its source is down.
    let odd: Vec<_> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(parse_sample)
        .filter(|(_, labels, _)| labels.iter().any(|(_, v)| v == "odd \"cam\"\\2\n"))
        .collect();
    assert!(odd.len() >= 3, "{text}");
    assert!(odd
        .iter()
        .any(|(n, _, v)| n == "rsvision_source_up" && *v == 0.0));
    assert!(odd
        .iter()
        .any(|(n, _, v)| n == "rsvision_source_reconnects_total" && *v == 4.0));
}

#[test]
fn events_come_newest_first_and_limited() {
    let server = Server::simple();
    for i in 1..=5 {
        server
            .hub
            .events
            .push(event("cam1", "track-entry", &format!("car {i} entered")));
    }
    block_on(async {
        let c = client();
        let r = c
            .get(server.url("/api/events?limit=3"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(content_type(&r), "application/json");
        let list = r.json_body().await;
        let seqs: Vec<u64> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [5, 4, 3]);
        let e = &list[0];
        assert_eq!(e["text"], "car 5 entered");
        assert_eq!(e["kind"], "track-entry");
        assert_eq!(e["source"], "cam1");
        assert_eq!(e["time_ms"], 1_700_000_000_000i64);
        assert_eq!(e["data"]["track"], 7);
        let all = c.get(server.url("/api/events")).send().await.unwrap();
        assert_eq!(all.json_body().await.as_array().unwrap().len(), 5);
        let bad = c
            .get(server.url("/api/events?limit=many"))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        assert!(bad.json_body().await["error"].is_string());
    });
}

/// Reads SSE messages (blocks separated by a blank line) until `n` `rsvision` events came.
async fn sse_events(r: &mut reqwest::Response, n: usize) -> Vec<(u64, Value)> {
    let mut text = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < n {
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("the stream goes on");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let mut fields: HashMap<&str, String> = HashMap::new();
            for line in block.lines() {
                if let Some((k, v)) = line.split_once(':') {
                    fields.insert(k, v.strip_prefix(' ').unwrap_or(v).to_string());
                }
            }
            if fields.get("event").map(String::as_str) == Some("rsvision") {
                let id = fields["id"].parse().unwrap();
                events.push((id, serde_json::from_str(&fields["data"]).unwrap()));
            }
        }
    }
    events
}

#[test]
fn server_sent_events_bring_new_events_and_those_missed() {
    let server = Server::simple();
    block_on(async {
        let c = client();
        let mut r = c
            .get(server.url("/api/events/stream"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(content_type(&r), "text/event-stream");
        // The response has begun: the handler has subscribed.
        server
            .hub
            .events
            .push(event("cam2", "rule", "person in zone"));
        let got = sse_events(&mut r, 1).await;
        assert_eq!(got[0].0, 1);
        assert_eq!(got[0].1["text"], "person in zone");
        assert_eq!(got[0].1["kind"], "rule");
        drop(r);

        server.hub.events.push(event("cam2", "rule", "second"));
        server.hub.events.push(event("cam2", "rule", "third"));
        let mut again = c
            .get(server.url("/api/events/stream"))
            .header("Last-Event-ID", "1")
            .send()
            .await
            .unwrap();
        server.hub.events.push(event("cam1", "clip", "fourth"));
        let got = sse_events(&mut again, 3).await;
        let texts: Vec<(u64, &str)> = got
            .iter()
            .map(|(id, e)| (*id, e["text"].as_str().unwrap()))
            .collect();
        assert_eq!(texts, [(2, "second"), (3, "third"), (4, "fourth")]);
    });
}

#[test]
fn latest_jpg_answers_with_a_fresh_frame() {
    let server = Server::simple();
    server.hub.sources[0].publish(jpeg());
    block_on(async {
        let r = client()
            .get(server.url("/api/sources/cam1/latest.jpg"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(content_type(&r), "image/jpeg");
        let age: u64 = r.headers()["x-frame-age-ms"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(age < 2000, "{age}");
        assert_eq!(r.bytes().await.unwrap(), jpeg());
        let r = client()
            .get(server.url("/api/sources/nope/latest.jpg"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.json_body().await["error"].is_string());
    });
}

#[test]
fn latest_jpg_asks_the_pipeline_for_a_frame() {
    let server = Server::simple();
    // The pipeline's valve: it encodes only while someone wants frames.
    let source = server.hub.sources[1].clone();
    let pipeline = std::thread::spawn(move || {
        if wait_until(Duration::from_secs(10), || source.wanted()) {
            source.publish(jpeg());
        }
    });
    let r = block_on(async {
        let r = client()
            .get(server.url("/api/sources/cam2/latest.jpg"))
            .send()
            .await
            .unwrap();
        (r.status(), r.bytes().await.unwrap())
    });
    pipeline.join().unwrap();
    assert_eq!(r.0, 200);
    assert_eq!(r.1, jpeg());
    assert_eq!(server.viewers(1), 0, "the request is no longer counted");
}

#[test]
fn latest_jpg_without_frames_is_503_with_the_placeholder() {
    let server = Server::simple();
    let began = Instant::now();
    let (status, ty, body) = block_on(async {
        let r = client()
            .get(server.url("/api/sources/cam1/latest.jpg"))
            .send()
            .await
            .unwrap();
        (r.status(), content_type(&r), r.bytes().await.unwrap())
    });
    assert_eq!(status, 503);
    assert_eq!(ty, "image/svg+xml");
    assert_eq!(body, page_file("placeholder.svg"));
    assert!(
        began.elapsed() >= Duration::from_secs(2),
        "it waited for a frame"
    );
    assert_eq!(server.viewers(0), 0);
}
