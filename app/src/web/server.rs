//! The web console's HTTP server: its own tokio runtime (two worker threads named
//! `rsvision-web`, so nothing here ever runs on a streaming or supervisor thread), HTTP/1.1
//! with hyper, HTTPS with rustls when `tls-cert` and `tls-key` are set.
//!
//! [`start`] binds synchronously, so a taken port is an error the caller reports at once;
//! [`WebHandle::stop`] (or dropping the handle) closes the listener, ends the live streams
//! (MJPEG, SSE) and waits for the connections at most [`STOP_WAIT`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

use super::{auth, clips, routes, Hub, Settings};

/// How long [`WebHandle::stop`] waits for open connections in all.
pub const STOP_WAIT: Duration = Duration::from_secs(2);
/// Of [`STOP_WAIT`], what the connections get to finish their responses.
const GRACE: Duration = Duration::from_millis(1500);
/// A client that does not finish its TLS handshake (or send its request headers) in this
/// time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// After a failed `accept` (too many open files): wait rather than spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The running server; stops it when dropped.
#[derive(Debug)]
pub struct WebHandle {
    addr: SocketAddr,
    tls: bool,
    stop: watch::Sender<bool>,
    runtime: Option<tokio::runtime::Runtime>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Binds `settings.listen` and serves `hub` on threads of its own until the handle is
/// stopped or dropped. Errors are one line for the log (`web: cannot listen on ...`).
pub fn start(settings: &Settings, hub: Arc<Hub>) -> Result<WebHandle, String> {
    let tls = tls_config(settings)?;
    let auth = auth::Auth::from_settings(settings)?;
    let listener = std::net::TcpListener::bind(settings.listen.as_str())
        .map_err(|e| listen_error(&settings.listen, &e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| listen_error(&settings.listen, &e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| listen_error(&settings.listen, &e))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("rsvision-web")
        .enable_all()
        .build()
        .map_err(|e| format!("web: cannot start the server's threads: {e}"))?;
    let listener = {
        let _context = runtime.enter();
        TcpListener::from_std(listener).map_err(|e| listen_error(&settings.listen, &e))?
    };
    let (stop, stop_rx) = watch::channel(false);
    let initial_clips = hub
        .clips_dir
        .as_deref()
        .map(clips::scan)
        .unwrap_or_default();
    let shared = Arc::new(routes::Shared {
        hub,
        fps: settings.fps.max(1),
        stop: stop_rx.clone(),
        initial_clips,
    });
    let app = routes::router(shared, auth);
    let task = runtime.spawn(serve(listener, app, tls.map(TlsAcceptor::from), stop_rx));
    Ok(WebHandle {
        addr,
        tls: settings.tls_cert.is_some(),
        stop,
        runtime: Some(runtime),
        task: Some(task),
    })
}

impl WebHandle {
    /// The address bound (the real port when `listen` asked for port 0).
    // The program logs `url()`; tests and embedders want the address itself.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:8080/` (or `https://`), for the log line.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }

    /// Stops accepting, ends the live streams and waits for the connections at most
    /// [`STOP_WAIT`]; what is still open then is dropped.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let _ = self.stop.send(true);
        let task = self.task.take();
        let wait = move || {
            if let Some(task) = task {
                let _ = runtime.block_on(async { tokio::time::timeout(STOP_WAIT, task).await });
            }
            runtime.shutdown_timeout(Duration::from_millis(300));
        };
        // A runtime cannot be blocked on (nor dropped) from inside another one: when the
        // handle is dropped in async code, wait from a plain thread.
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::Builder::new()
                .name("rsvision-web-stop".into())
                .spawn(wait)
                .map(|t| t.join());
        } else {
            wait();
        }
    }
}

impl Drop for WebHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn listen_error(listen: &str, e: &std::io::Error) -> String {
    let why = match e.kind() {
        std::io::ErrorKind::AddrInUse => "address already in use".to_string(),
        std::io::ErrorKind::AddrNotAvailable => "address not available here".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    format!("web: cannot listen on {listen}: {why}; set [web] listen or enabled = false")
}

/// The accept loop: one task per connection, all watched for the graceful stop.
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let service = TowerToHyperService::new(app);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let tcp = match accepted {
            Ok((tcp, _peer)) => tcp,
            Err(e) => {
                log!("web: warning (accept: {e})");
                tokio::select! {
                    _ = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    _ = stop.wait_for(|s| *s) => break,
                }
            }
        };
        let _ = tcp.set_nodelay(true);
        let watcher = graceful.watcher();
        let service = service.clone();
        let mut stop = stop.clone();
        match tls.clone() {
            None => {
                tokio::spawn(watcher.watch(connection(tcp, service)));
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                    let stream = tokio::select! {
                        done = handshake => match done {
                            Ok(Ok(stream)) => stream,
                            // A client that gave up or does not trust the certificate.
                            _ => return,
                        },
                        _ = stop.wait_for(|s| *s) => return,
                    };
                    let _ = watcher.watch(connection(stream, service)).await;
                });
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
}

fn connection<I>(
    io: I,
    service: TowerToHyperService<axum::Router>,
) -> hyper::server::conn::http1::Connection<TokioIo<I>, TowerToHyperService<axum::Router>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(io), service)
}

/// The rustls configuration from `tls-cert` and `tls-key`, or `None` for plain HTTP.
fn tls_config(settings: &Settings) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    let (cert, key) = match (&settings.tls_cert, &settings.tls_key) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) => return Err("web: tls-cert is set without tls-key".into()),
        (None, Some(_)) => return Err("web: tls-key is set without tls-cert".into()),
    };
    let chain = read_certificates(cert)?;
    let key_der = read_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("web: TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            format!(
                "web: tls-key {} does not go with tls-cert {}: {e}",
                key.display(),
                cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

fn read_pem(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("web: cannot read {what} {}: {e}", path.display()))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_pem("tls-cert", path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("web: tls-cert {} is not valid PEM: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "web: tls-cert {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let pem = read_pem("tls-key", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => format!(
            "web: tls-key {} holds no private key (expected PEM: PKCS#8, PKCS#1 or SEC1)",
            path.display()
        ),
        e => format!("web: tls-key {} is not valid PEM: {e}", path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_errors_say_what_to_change() {
        let e = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        assert_eq!(
            listen_error("127.0.0.1:8080", &e),
            "web: cannot listen on 127.0.0.1:8080: address already in use; \
             set [web] listen or enabled = false"
        );
    }

    #[test]
    fn half_a_tls_setting_is_an_error() {
        let settings = Settings {
            tls_cert: Some("/nonexistent/cert.pem".into()),
            ..Settings::default()
        };
        assert_eq!(
            tls_config(&settings).unwrap_err(),
            "web: tls-cert is set without tls-key"
        );
        assert!(tls_config(&Settings::default()).unwrap().is_none());
    }
}
