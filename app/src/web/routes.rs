//! Every endpoint of the web console (README, "The web console"), as one axum `Router`.
//!
//! ```text
//! GET /  /app.js  /style.css  /placeholder.svg      the page (embedded)
//! GET /api/sources/{id}/stream.mjpeg                live MJPEG (mjpeg.rs)
//! GET /api/sources/{id}/latest.jpg                  one JPEG, 503 + placeholder when none
//! GET /api/status   /metrics                        status JSON, Prometheus text (metrics.rs)
//! GET /api/events?limit=N   /api/events/stream      recent events, Server-Sent Events
//! GET /api/clips   /clips/{name}                    clips and their files (clips.rs)
//! ```
//! Errors are JSON `{"error": "..."}`; with authentication on, every route needs it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::json;
use tokio::sync::{broadcast, watch};

use super::{auth, clips, metrics, mjpeg, ClipInfo, Event, Hub, Jpeg};

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");
const PLACEHOLDER_SVG: &[u8] = include_bytes!("page/placeholder.svg");

/// `latest.jpg` answers at once with a frame younger than this...
const SNAPSHOT_FRESH: Duration = Duration::from_secs(2);
/// ...or asks the pipeline for one and waits this long.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(3);
/// `/api/events` without `limit`.
const DEFAULT_EVENTS: usize = 100;
const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What every handler reads.
#[derive(Debug)]
pub struct Shared {
    pub hub: Arc<Hub>,
    /// Frames per second at most per viewer (at least 1).
    pub fps: u32,
    /// Turns true when the server stops: the live streams end.
    pub stop: watch::Receiver<bool>,
    /// The clips already on disk when the server started (clips.rs).
    pub initial_clips: Vec<ClipInfo>,
}

type AppState = State<Arc<Shared>>;

/// The router, behind basic authentication when `auth` is set.
pub fn router(shared: Arc<Shared>, auth: Option<Arc<auth::Auth>>) -> Router {
    let router = Router::new()
        .route(
            "/",
            get(|| asset("text/html; charset=utf-8", INDEX_HTML.as_bytes())),
        )
        .route(
            "/index.html",
            get(|| asset("text/html; charset=utf-8", INDEX_HTML.as_bytes())),
        )
        .route(
            "/app.js",
            get(|| asset("text/javascript; charset=utf-8", APP_JS.as_bytes())),
        )
        .route(
            "/style.css",
            get(|| asset("text/css; charset=utf-8", STYLE_CSS.as_bytes())),
        )
        .route(
            "/placeholder.svg",
            get(|| asset("image/svg+xml", PLACEHOLDER_SVG)),
        )
        .route("/api/sources/{id}/stream.mjpeg", get(stream_mjpeg))
        .route("/api/sources/{id}/latest.jpg", get(latest_jpg))
        .route("/api/status", get(status))
        .route("/metrics", get(prometheus))
        .route("/api/events", get(events))
        .route("/api/events/stream", get(events_stream))
        .route("/api/clips", get(clip_list))
        .route("/clips/{name}", get(clip_file))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not found") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .with_state(shared);
    match auth {
        Some(auth) => router.layer(axum::middleware::from_fn_with_state(auth, auth::require)),
        None => router,
    }
}

/// A JSON error: `{"error": message}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Embedded in the binary: revalidate, so a new version shows at once.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

fn unknown_source(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("no source {id:?}"))
}

async fn stream_mjpeg(
    State(shared): AppState,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(id)) = id else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    match shared.hub.source(&id) {
        Some(source) => mjpeg::response(source, shared.fps, shared.stop.clone()),
        None => unknown_source(&id),
    }
}

async fn latest_jpg(State(shared): AppState, id: Result<Path<String>, PathRejection>) -> Response {
    let Ok(Path(id)) = id else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    let Some(source) = shared.hub.source(&id) else {
        return unknown_source(&id);
    };
    let mut frames = source.frame.subscribe();
    let fresh = frames
        .borrow_and_update()
        .as_ref()
        .filter(|j| j.at.elapsed() < SNAPSHOT_FRESH)
        .cloned();
    if let Some(jpeg) = fresh {
        return snapshot(jpeg);
    }
    // Ask the pipeline for frames (counted as a viewer) until one comes.
    let _wanted = source.watch();
    let mut stop = shared.stop.clone();
    let next = async {
        loop {
            frames.changed().await.ok()?;
            if let Some(jpeg) = frames.borrow_and_update().clone() {
                return Some(jpeg);
            }
        }
    };
    let jpeg = tokio::select! {
        got = tokio::time::timeout(SNAPSHOT_WAIT, next) => got.ok().flatten(),
        _ = stop.wait_for(|s| *s) => None,
    };
    match jpeg {
        Some(jpeg) => snapshot(jpeg),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "no-cache, no-store"),
            ],
            PLACEHOLDER_SVG,
        )
            .into_response(),
    }
}

fn snapshot(jpeg: Jpeg) -> Response {
    let age = jpeg.at.elapsed().as_millis().to_string();
    let mut response = (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-cache, no-store"),
        ],
        jpeg.data,
    )
        .into_response();
    if let Ok(age) = HeaderValue::from_str(&age) {
        response.headers_mut().insert("x-frame-age-ms", age);
    }
    response
}

async fn status(State(shared): AppState) -> Response {
    Json(metrics::status_document(&shared.hub)).into_response()
}

async fn prometheus(State(shared): AppState) -> Response {
    let text = metrics::render(&metrics::status_document(&shared.hub));
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

#[derive(serde::Deserialize)]
struct EventsQuery {
    limit: Option<usize>,
}

async fn events(
    State(shared): AppState,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "limit must be a whole number (/api/events?limit=50)",
        );
    };
    let limit = query.limit.unwrap_or(DEFAULT_EVENTS);
    Json(shared.hub.events.recent(limit)).into_response()
}

/// Server-Sent Events: `event: rsvision`, `id: <seq>`, `data: <event JSON>`. A client that
/// reconnects with `Last-Event-ID` first gets the kept events it missed.
async fn events_stream(
    State(shared): AppState,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<sse::Event, Infallible>>> {
    // Subscribe before reading the ring, so nothing falls between the two.
    let live = shared.hub.events.subscribe();
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let missed: Vec<Event> = match last_seen {
        Some(last) => {
            let mut missed: Vec<Event> = shared
                .hub
                .events
                .recent(usize::MAX)
                .into_iter()
                .filter(|e| e.seq > last)
                .collect();
            missed.reverse();
            missed
        }
        None => Vec::new(),
    };
    let sent = missed.last().map_or(last_seen.unwrap_or(0), |e| e.seq);
    let replay = stream::iter(missed).map(|e| Ok(sse_event(&e)));
    let live = stream::unfold(
        (live, shared.stop.clone(), sent),
        |(mut live, mut stop, sent)| async move {
            loop {
                let received = tokio::select! {
                    r = live.recv() => r,
                    _ = stop.wait_for(|s| *s) => return None,
                };
                match received {
                    Ok(e) if e.seq > sent => {
                        return Some((Ok(sse_event(&e)), (live, stop, e.seq)));
                    }
                    Ok(_) => continue,
                    // A listener too slow for the broadcast's buffer skips what it lost.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Sse::new(replay.chain(live)).keep_alive(KeepAlive::new().interval(SSE_KEEP_ALIVE))
}

fn sse_event(e: &Event) -> sse::Event {
    let data = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    sse::Event::default()
        .event("rsvision")
        .id(e.seq.to_string())
        .data(data)
}

async fn clip_list(State(shared): AppState) -> Response {
    let hub = shared.hub.clone();
    let shared2 = shared.clone();
    // It looks at the files: off the async threads.
    match tokio::task::spawn_blocking(move || clips::listing(&hub, &shared2.initial_clips)).await {
        Ok(list) => Json(list).into_response(),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the clip list failed"),
    }
}

async fn clip_file(
    State(shared): AppState,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let Ok(Path(name)) = name else {
        return error(StatusCode::NOT_FOUND, "no such clip");
    };
    clips::serve(shared.hub.clips_dir.clone(), name, request).await
}
