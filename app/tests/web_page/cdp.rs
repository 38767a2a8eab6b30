//! Debian's `chromium`, headless, driven over the DevTools protocol (CDP): one page target
//! attached with a flat session on the browser's websocket. Every call has a deadline; the
//! browser and its helper processes (its own process group) are killed on drop.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// The browser binary: `$RSVISION_CHROMIUM`, else `chromium` (Debian) or `chromium-browser`
/// on the `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RSVISION_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
        .find(|p| p.is_file())
}

/// A running headless Chromium with one page.
pub struct Chromium {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: String,
    stderr: Arc<Mutex<String>>,
}

impl Chromium {
    /// Starts `binary` with a fresh profile in `profile` and a `width` x `height` page.
    pub fn launch(binary: &Path, profile: &Path, width: u32, height: u32) -> Chromium {
        let mut child = Command::new(binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
                "--mute-audio",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            // Its own process group: the renderer and GPU helpers go with it on drop.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        let log = stderr.clone();
        std::thread::Builder::new()
            .name("chromium-stderr".into())
            .spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    if let Some(url) = line.strip_prefix("DevTools listening on ") {
                        let _ = url_tx.send(url.trim().to_string());
                    }
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            })
            .unwrap();
        let url = match url_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chromium printed no `DevTools listening on ws://...` within 30 s:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        let hostport = url
            .strip_prefix("ws://")
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("not a ws:// URL: {url}"))
            .to_string();
        let stream = TcpStream::connect(&hostport).unwrap_or_else(|e| panic!("{hostport}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream)
            .unwrap_or_else(|e| panic!("websocket handshake with {url}: {e}"));
        // Later reads poll, so that every call keeps its own deadline.
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut c = Chromium {
            child,
            ws,
            next_id: 0,
            session: String::new(),
            stderr,
        };
        let target = c.call_on(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = c.call_on(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        c.session = attached["sessionId"].as_str().unwrap().to_string();
        c.call("Page.enable", json!({}));
        c.call("Runtime.enable", json!({}));
        c.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        );
        c
    }

    /// What the browser wrote on stderr, for failure messages.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// `method` on the page; panics on a protocol error or after 15 s.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call_on(Some(&session), method, params)
    }

    fn call_on(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_call(session, method, params, Duration::from_secs(15))
            .unwrap_or_else(|e| panic!("{method}: {e}\n--- chromium stderr ---\n{}", self.stderr()))
    }

    fn try_call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| format!("send: {e}"))?;
        let deadline = Instant::now() + timeout;
        loop {
            if Instant::now() >= deadline {
                return Err(format!("no answer within {timeout:?}"));
            }
            let text = match self.ws.read() {
                Ok(Message::Text(t)) => t.to_string(),
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(format!("read: {e}")),
            };
            let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
            // Events (no id) and other answers are not waited for.
            if v["id"].as_u64() != Some(id) {
                continue;
            }
            if let Some(err) = v.get("error") {
                return Err(format!("protocol error {err}"));
            }
            return Ok(v["result"].clone());
        }
    }

    /// Opens `url` in the page.
    pub fn navigate(&mut self, url: &str) {
        let r = self.call("Page.navigate", json!({"url": url}));
        assert!(
            r.get("errorText").is_none(),
            "navigate to {url}: {r}\n{}",
            self.stderr()
        );
    }

    /// The value of the JavaScript `expression` in the page (promises awaited); panics on
    /// an exception.
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(ex) = r.get("exceptionDetails") {
            panic!("`{expression}` threw: {ex}");
        }
        r["result"]["value"].clone()
    }

    /// A key pressed and released (e.g. `"Escape", 27`).
    pub fn key(&mut self, key: &str, code: i64) {
        for kind in ["keyDown", "keyUp"] {
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code}),
            );
        }
    }

    /// A left click at (`x`, `y`) CSS pixels.
    pub fn click(&mut self, x: f64, y: f64) {
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }

    /// The page as a PNG.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine as _;
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": false}),
        );
        let data = r["data"].as_str().expect("screenshot data");
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("screenshot base64")
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.try_call(None, "Browser.close", json!({}), Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of its process group (the group's id is the browser's id).
        if let Ok(pgid) = i32::try_from(self.child.id()) {
            if pgid > 1 {
                // SAFETY: kill(2) on a process group this test created; no memory involved.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
