//! The web console of `rsvision run`: live annotated views, status and metrics, events and
//! clips over HTTP (README, "The web console").
//!
//! `hub.rs` what the supervisor and the server share; the server, its routes and the page
//! are in the other files of this folder; the pipeline side (the JPEG branch) in `tap.rs`.

pub mod auth;
pub mod clips;
pub mod feed;
pub mod hub;
pub mod metrics;
pub mod mjpeg;
pub mod routes;
pub mod server;
pub mod tap;
#[cfg(test)]
mod tests;

pub use hub::{ClipInfo, Event, Hub, Jpeg, SourceHub, ViewerGuard};
pub use server::{start, WebHandle};

use std::path::PathBuf;

/// The `[web]` section of the config (README documents every key).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `enabled` (true): false runs no server and no JPEG branch.
    pub enabled: bool,
    /// `listen` ("127.0.0.1:8080"): address and port; port 0 takes a free one.
    pub listen: String,
    /// `fps` (5): frames per second at most, for the encoder and each viewer.
    pub fps: u32,
    /// `max-width` / `max-height` (1280 / 720): frames are scaled down to fit, aspect kept.
    pub max_width: u32,
    pub max_height: u32,
    /// `quality` (80): JPEG quality.
    pub quality: u32,
    /// `events` (500): events kept for `/api/events`.
    pub events: usize,
    /// `user` and `password-hash` (an argon2 PHC string): basic authentication when set.
    pub user: Option<String>,
    pub password_hash: Option<String>,
    /// `tls-cert` / `tls-key` (PEM): HTTPS when set.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            listen: "127.0.0.1:8080".into(),
            fps: 5,
            max_width: 1280,
            max_height: 720,
            quality: 80,
            events: 500,
            user: None,
            password_hash: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}
