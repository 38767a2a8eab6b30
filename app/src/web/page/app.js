// The rsvision web console (README, "The web console"). Plain script: no build step, no
// external resources. It reads the same API anyone can script against:
//   /api/status every second      -> one tile per source (state badge, fps, objects, ms)
//   /api/sources/ID/stream.mjpeg  -> the live annotated view, only while the source is live
//   /api/events/stream (SSE)      -> the events list (polling /api/events if SSE fails)
//   /api/clips, /clips/NAME       -> the clips list and its <video> player
// window.rsvisionPage is a small state object for tests and scripts: {tiles, framesSeen:
// {id: count}, eventsSeen, ...}. framesSeen counts the MJPEG image updates the page saw:
// `load` events where the browser fires one per part (Firefox does), and otherwise changes
// of the image's pixels, drawn into a small canvas every 500 ms (Chromium fires `load` for
// the first part only), so it is a lower bound there.
(function () {
  "use strict";

  const STATUS_EVERY_MS = 1000;
  const SAMPLE_EVERY_MS = 500;
  const EVENTS_POLL_MS = 2000;
  const CLIPS_EVERY_MS = 10000;
  const MAX_EVENTS = 200;
  // A live stream whose image has not changed for this long is reopened.
  const STALE_STREAM_MS = 15000;
  const STREAM_RETRY_MS = 2000;
  const PLACEHOLDER = "/placeholder.svg";

  const page = {
    tiles: 0,
    framesSeen: {},
    eventsSeen: 0,
    // Details, for whoever wants them.
    loads: {},
    changes: {},
    states: {},
    live: 0,
    statusOk: false,
    statusPolls: 0,
    eventsMode: "starting",
    clips: 0,
    version: "",
  };
  window.rsvisionPage = page;

  const $ = (id) => document.getElementById(id);
  const tiles = new Map();
  let streamCounter = 0;
  let lastStatus = null;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  async function fetchJson(url, timeoutMs) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs || 4000);
    try {
      const r = await fetch(url, { cache: "no-store", signal: ctl.signal });
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return await r.json();
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- formatting ----------------------------------------------------------------------

  function num(v, digits) {
    return typeof v === "number" && isFinite(v) ? v.toFixed(digits) : "–";
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function clock(ms) {
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function when(ms) {
    const d = new Date(ms);
    const today = new Date();
    if (d.toDateString() === today.toDateString()) return clock(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(ms)}`;
  }

  function duration(s) {
    s = Math.max(0, Math.floor(s || 0));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d) return `${d} d ${h} h`;
    if (h) return `${h} h ${pad(m)} min`;
    if (m) return `${m} min ${pad(s % 60)} s`;
    return `${s} s`;
  }

  function bytes(n) {
    if (typeof n !== "number") return "";
    if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
    if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
    if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
    return `${n} B`;
  }

  // The badge class of a state: live, connecting, reconnecting (also stalled/lost), failed,
  // ended.
  function stateClass(state) {
    switch (state) {
      case "live":
      case "connecting":
      case "failed":
      case "ended":
        return state;
      case "reconnecting":
      case "stalled":
      case "lost":
        return "reconnecting";
      default:
        return "unknown";
    }
  }

  function stateText(s) {
    if (typeof s.state_text === "string" && s.state_text) return s.state_text;
    if (s.state === "reconnecting" && typeof s.retry_in_s === "number") {
      return `reconnecting in ${Math.max(0, Math.ceil(s.retry_in_s))} s`;
    }
    return s.state || "unknown";
  }

  // ---- tiles ---------------------------------------------------------------------------

  function streamUrl(id) {
    // A fresh URL each time: the browser must not reuse a finished stream from its cache.
    streamCounter += 1;
    return `/api/sources/${encodeURIComponent(id)}/stream.mjpeg?view=${streamCounter}`;
  }

  function isStream(img) {
    return (img.currentSrc || img.src || "").indexOf("/stream.mjpeg") >= 0;
  }

  function makeTile(id) {
    const art = el("article", "tile");
    art.dataset.id = id;
    art.dataset.state = "unknown";
    art.tabIndex = 0;
    art.setAttribute("role", "button");

    const frame = el("div", "frame");
    const ph = el("img", "placeholder");
    ph.src = PLACEHOLDER;
    ph.alt = `${id}: no video`;
    const view = el("img", "view");
    view.alt = `Live view of ${id}`;
    view.src = PLACEHOLDER;
    const caption = el("p", "caption");
    const name = el("h3", "tile-name", id);
    const badge = el("span", "badge unknown", "…");
    frame.append(ph, view, caption, name, badge);

    const stats = el("dl", "stats");
    const stat = (label) => {
      const box = el("div", "stat");
      const dd = el("dd", null, "–");
      box.append(el("dt", null, label), dd);
      stats.append(box);
      return dd;
    };
    const t = {
      id,
      el: art,
      frame,
      ph,
      view,
      caption,
      badge,
      fps: stat("fps"),
      objects: stat("objects"),
      infer: stat("inference"),
      status: null,
      streaming: false,
      hasVideo: false,
      retryAt: 0,
      hash: null,
      loadsSinceSample: 0,
      lastChange: 0,
      canvas: null,
    };
    art.append(frame, stats);

    page.framesSeen[id] = 0;
    page.loads[id] = 0;
    page.changes[id] = 0;

    view.addEventListener("load", () => {
      if (!t.streaming || !isStream(view)) return;
      page.loads[id] += 1;
      page.framesSeen[id] += 1;
      t.loadsSinceSample += 1;
      t.lastChange = Date.now();
      gotVideo(t);
    });
    view.addEventListener("error", () => {
      if (!t.streaming) return;
      stopStream(t);
      t.retryAt = Date.now() + STREAM_RETRY_MS;
    });
    art.addEventListener("click", () => openViewer(id));
    art.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        openViewer(id);
      }
    });
    tiles.set(id, t);
    return t;
  }

  function gotVideo(t) {
    if (t.hasVideo) return;
    t.hasVideo = true;
    t.frame.classList.add("has-video");
    if (t.view.naturalWidth && t.view.naturalHeight) {
      const aspect = `${t.view.naturalWidth} / ${t.view.naturalHeight}`;
      t.frame.style.aspectRatio = aspect;
      const box = $("tiles");
      if (!box.style.getPropertyValue("--tile-aspect")) box.style.setProperty("--tile-aspect", aspect);
    }
  }

  function startStream(t) {
    t.streaming = true;
    t.hasVideo = false;
    t.hash = null;
    t.loadsSinceSample = 0;
    t.lastChange = Date.now();
    t.view.src = streamUrl(t.id);
  }

  function stopStream(t) {
    t.streaming = false;
    t.hasVideo = false;
    t.hash = null;
    t.frame.classList.remove("has-video");
    // Closes the MJPEG connection: the server stops encoding when nobody watches.
    t.view.src = PLACEHOLDER;
  }

  function updateTile(t, s) {
    t.status = s;
    const cls = stateClass(s.state);
    const text = stateText(s);
    const live = s.state === "live";
    t.el.dataset.state = s.state || "unknown";
    t.badge.className = `badge ${cls}`;
    t.badge.textContent = text;
    const reconnects = typeof s.reconnects === "number" && s.reconnects > 0 ? ` · ${s.reconnects} reconnects` : "";
    t.caption.textContent = live ? "" : text + reconnects;
    t.ph.alt = `${t.id}: ${text}`;
    t.el.setAttribute("aria-label", `${t.id}, ${text}: open large`);
    t.fps.textContent = num(s.fps_processed !== undefined ? s.fps_processed : s.fps_in, 1);
    t.objects.textContent = typeof s.objects === "number" ? String(s.objects) : "–";
    t.infer.textContent = typeof s.inference_ms === "number" ? `${num(s.inference_ms, 1)} ms` : "–";
    page.states[t.id] = s.state;

    const want = live && !document.hidden;
    if (want && !t.streaming && Date.now() >= t.retryAt) startStream(t);
    else if (!want && t.streaming) stopStream(t);
  }

  // A cheap fingerprint of what the image shows now (null when it cannot be read).
  function fingerprint(t) {
    const img = t.view;
    if (!img.naturalWidth) return null;
    if (!t.canvas) {
      t.canvas = document.createElement("canvas");
      t.canvas.width = 32;
      t.canvas.height = 24;
    }
    try {
      const ctx = t.canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(img, 0, 0, t.canvas.width, t.canvas.height);
      const px = ctx.getImageData(0, 0, t.canvas.width, t.canvas.height).data;
      let h = 0x811c9dc5;
      for (let i = 0; i < px.length; i += 4) {
        h = Math.imul(h ^ px[i], 16777619);
        h = Math.imul(h ^ px[i + 1], 16777619);
        h = Math.imul(h ^ px[i + 2], 16777619);
      }
      return h >>> 0;
    } catch (e) {
      return null;
    }
  }

  function sampleTiles() {
    const now = Date.now();
    for (const t of tiles.values()) {
      if (!t.streaming || !isStream(t.view)) continue;
      const h = fingerprint(t);
      if (h !== null) gotVideo(t);
      if (t.loadsSinceSample > 0) {
        // Already counted by `load`.
        t.loadsSinceSample = 0;
        t.hash = h;
      } else if (h !== null && h !== t.hash) {
        t.hash = h;
        page.changes[t.id] += 1;
        page.framesSeen[t.id] += 1;
        t.lastChange = now;
      }
      if (now - t.lastChange > STALE_STREAM_MS) startStream(t);
    }
  }

  // ---- status --------------------------------------------------------------------------

  function applyStatus(st) {
    lastStatus = st;
    page.statusOk = true;
    page.statusPolls += 1;
    page.version = st.version || "";
    const sources = Array.isArray(st.sources) ? st.sources : [];
    const ids = new Set(sources.map((s) => s.id));
    for (const [id, t] of tiles) {
      if (!ids.has(id)) {
        stopStream(t);
        t.el.remove();
        tiles.delete(id);
      }
    }
    const box = $("tiles");
    let live = 0;
    sources.forEach((s, i) => {
      const t = tiles.get(s.id) || makeTile(s.id);
      if (box.children[i] !== t.el) box.insertBefore(t.el, box.children[i] || null);
      updateTile(t, s);
      if (s.state === "live") live += 1;
    });
    page.tiles = tiles.size;
    page.live = live;
    $("no-sources").hidden = sources.length > 0;

    const recording = st.clips && typeof st.clips.recording === "number" ? st.clips.recording : 0;
    $("summary").textContent =
      `${live} of ${sources.length} source${sources.length === 1 ? "" : "s"} live` +
      (recording ? ` · ${recording} clip${recording === 1 ? "" : "s"} recording` : "");
    $("version").textContent = `rsvision ${st.version || ""}`;
    $("uptime").textContent = `up ${duration(st.uptime_s)}`;
    const models = Array.isArray(st.models) ? st.models : [];
    $("models").textContent = models
      .map((m) => `${m.name}: ${num(m.inferences_per_s, 1)}/s, ${num(m.inference_ms, 1)} ms`)
      .join(" · ");
    updateViewer();
  }

  function setConnected(ok, why) {
    const c = $("conn");
    c.className = ok ? "conn ok" : "conn down";
    c.textContent = ok ? "connected" : `server unreachable${why ? ` (${why})` : ""}`;
    if (!ok) page.statusOk = false;
  }

  async function pollStatus() {
    try {
      applyStatus(await fetchJson("/api/status", 3000));
      setConnected(true);
    } catch (e) {
      setConnected(false, e && e.name === "AbortError" ? "timeout" : "");
    } finally {
      setTimeout(pollStatus, STATUS_EVERY_MS);
    }
  }

  // ---- the large view ------------------------------------------------------------------

  let viewerId = null;
  let viewerStreaming = false;

  function openViewer(id) {
    const dlg = $("viewer");
    viewerId = id;
    viewerStreaming = false;
    updateViewer();
    if (!dlg.open) {
      if (typeof dlg.showModal === "function") dlg.showModal();
      else dlg.setAttribute("open", "");
    }
    $("viewer-close").focus();
  }

  function closeViewer() {
    const dlg = $("viewer");
    if (dlg.open && typeof dlg.close === "function") dlg.close();
    else dlg.removeAttribute("open");
  }

  function onViewerClosed() {
    const id = viewerId;
    viewerId = null;
    viewerStreaming = false;
    $("viewer-img").src = PLACEHOLDER;
    const t = id && tiles.get(id);
    if (t) t.el.focus();
  }

  function updateViewer() {
    if (viewerId === null) return;
    const t = tiles.get(viewerId);
    const s = (t && t.status) || { id: viewerId, state: "unknown" };
    const img = $("viewer-img");
    $("viewer-title").textContent = viewerId;
    const badge = $("viewer-badge");
    badge.className = `badge ${stateClass(s.state)}`;
    badge.textContent = stateText(s);
    $("viewer-stats").textContent =
      `${num(s.fps_processed, 1)} fps · ${typeof s.objects === "number" ? s.objects : "–"} objects · ` +
      `inference ${num(s.inference_ms, 1)} ms · latency ${num(s.latency_ms, 0)} ms · ` +
      `dropped ${typeof s.dropped === "number" ? s.dropped : "–"} · reconnects ${typeof s.reconnects === "number" ? s.reconnects : "–"}`;
    const live = s.state === "live";
    if (live && !viewerStreaming) {
      viewerStreaming = true;
      img.src = streamUrl(viewerId);
      img.alt = `Live view of ${viewerId}, large`;
    } else if (!live && viewerStreaming) {
      viewerStreaming = false;
      img.src = PLACEHOLDER;
    }
    if (!live) img.alt = `${viewerId}: ${stateText(s)}`;
  }

  // ---- events --------------------------------------------------------------------------

  const shown = new Set();
  let eventsPolling = false;

  function eventRow(ev) {
    const li = el("li", `event kind-${String(ev.kind || "other").replace(/[^a-z0-9-]/gi, "")}`);
    li.dataset.seq = String(ev.seq);
    const time = el("time", "ev-time", clock(ev.time_ms));
    if (typeof ev.time_ms === "number") time.dateTime = new Date(ev.time_ms).toISOString();
    const src = el("button", "ev-source", ev.source || "");
    src.type = "button";
    src.title = `Open ${ev.source} large`;
    src.addEventListener("click", () => {
      if (tiles.has(ev.source)) openViewer(ev.source);
    });
    li.append(time, src, el("span", "ev-kind", ev.kind || ""), el("span", "ev-text", ev.text || ""));
    return li;
  }

  function addEvent(ev) {
    if (!ev || typeof ev.seq !== "number" || shown.has(ev.seq)) return;
    const list = $("events");
    const rows = list.children;
    // Older than everything kept in a full list: not shown.
    if (rows.length >= MAX_EVENTS && ev.seq < Number(rows[rows.length - 1].dataset.seq)) return;
    let before = null;
    for (const r of rows) {
      if (Number(r.dataset.seq) < ev.seq) {
        before = r;
        break;
      }
    }
    list.insertBefore(eventRow(ev), before);
    shown.add(ev.seq);
    page.eventsSeen += 1;
    while (list.children.length > MAX_EVENTS) {
      const last = list.lastElementChild;
      shown.delete(Number(last.dataset.seq));
      last.remove();
    }
    $("events-empty").hidden = true;
    if (ev.kind === "clip") loadClips();
  }

  async function loadRecentEvents(limit) {
    try {
      const list = await fetchJson(`/api/events?limit=${limit || MAX_EVENTS}`, 4000);
      // Newest first: add the oldest first.
      if (Array.isArray(list)) list.slice().reverse().forEach(addEvent);
      return true;
    } catch (e) {
      return false;
    }
  }

  function setEventsMode(text) {
    page.eventsMode = text;
    $("events-mode").textContent = text;
  }

  function pollEvents() {
    if (eventsPolling) return;
    eventsPolling = true;
    setEventsMode("polling");
    const tick = async () => {
      const ok = await loadRecentEvents(100);
      setEventsMode(ok ? "polling" : "polling (server unreachable)");
      setTimeout(tick, EVENTS_POLL_MS);
    };
    tick();
  }

  function startEvents() {
    loadRecentEvents();
    if (typeof EventSource !== "function") {
      pollEvents();
      return;
    }
    const es = new EventSource("/api/events/stream");
    let opened = false;
    let failures = 0;
    const onMessage = (m) => {
      try {
        addEvent(JSON.parse(m.data));
      } catch (e) {
        // Not an event document: ignored.
      }
    };
    es.addEventListener("rsvision", onMessage);
    es.onmessage = onMessage;
    es.onopen = () => {
      setEventsMode("live");
      // What came between the first list and this subscription, or while reconnecting
      // (rows already shown are skipped).
      loadRecentEvents();
      opened = true;
      failures = 0;
    };
    es.onerror = () => {
      failures += 1;
      if (es.readyState === EventSource.CLOSED || (!opened && failures >= 3)) {
        es.close();
        pollEvents();
      } else {
        setEventsMode("reconnecting…");
      }
    };
  }

  // ---- clips ---------------------------------------------------------------------------

  let clipsJson = "";
  let playing = "";
  let clipsLoading = false;

  function playClip(c) {
    const player = $("player");
    playing = c.url;
    $("player-box").hidden = false;
    player.src = c.url;
    $("player-caption").textContent =
      `${c.source} · ${c.start ? when(Date.parse(c.start)) : ""} · ${num(c.duration_ms / 1000, 1)} s · ${c.reason || ""}`;
    const p = player.play();
    if (p && typeof p.catch === "function") p.catch(() => {});
    for (const li of $("clips").children) li.classList.toggle("current", li.dataset.url === playing);
  }

  function renderClips(list) {
    const ul = $("clips");
    ul.replaceChildren();
    for (const c of list) {
      const li = el("li", "clip");
      li.dataset.url = c.url;
      if (c.url === playing) li.classList.add("current");
      const play = el("button", "clip-play");
      play.type = "button";
      play.append(
        el("span", "clip-source", c.source || ""),
        el("span", "clip-time", c.start ? when(Date.parse(c.start)) : c.name),
        el("span", "clip-len", `${num((c.duration_ms || 0) / 1000, 1)} s`),
        el("span", "clip-reason", c.reason || ""),
      );
      play.setAttribute("aria-label", `Play clip ${c.name}`);
      play.addEventListener("click", () => playClip(c));
      const dl = el("a", "clip-download", bytes(c.size) || "download");
      dl.href = c.url;
      dl.download = c.name;
      dl.title = `Download ${c.name}`;
      li.append(play, dl);
      ul.append(li);
    }
    $("clips-empty").hidden = list.length > 0;
    $("clips-count").textContent = list.length ? String(list.length) : "";
    page.clips = list.length;
  }

  async function loadClips() {
    if (clipsLoading) return;
    clipsLoading = true;
    try {
      const list = await fetchJson("/api/clips", 5000);
      const text = JSON.stringify(list);
      if (Array.isArray(list) && text !== clipsJson) {
        clipsJson = text;
        renderClips(list);
      }
    } catch (e) {
      // Shown again at the next refresh.
    } finally {
      clipsLoading = false;
    }
  }

  // ---- start ---------------------------------------------------------------------------

  function start() {
    const dlg = $("viewer");
    dlg.addEventListener("close", onViewerClosed);
    // Any click in the large view closes it (the image, the backdrop, the button).
    dlg.addEventListener("click", closeViewer);
    $("viewer-close").addEventListener("click", closeViewer);
    document.addEventListener("visibilitychange", () => {
      // Hidden tabs close their streams (no encoding for nobody); the next status brings
      // them back.
      if (document.hidden) {
        for (const t of tiles.values()) if (t.streaming) stopStream(t);
      } else if (lastStatus) {
        applyStatus(lastStatus);
      }
    });
    pollStatus();
    startEvents();
    loadClips();
    setInterval(loadClips, CLIPS_EVERY_MS);
    setInterval(sampleTiles, SAMPLE_EVERY_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
