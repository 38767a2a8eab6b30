//! Basic authentication for every route when `[web] user` and `password-hash` are set.
//!
//! The password is checked against an argon2 PHC string (`$argon2id$v=19$m=...`, made by
//! `rsvision hash-password`, i.e. [`hash_password`]); the user name is compared in constant
//! time, and the password is verified even when the user is wrong, so the time of an answer
//! does not tell which was. An argon2 check costs tens of milliseconds of CPU: it runs on the
//! blocking pool, at most [`CONCURRENT_CHECKS`] at once, and credentials that passed are
//! remembered (compared in constant time) so the page's polling does not pay it every time.

use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::{routes, Settings};

/// Argon2 checks running at once (the server has two worker threads).
const CONCURRENT_CHECKS: usize = 2;
/// `Authorization` values that passed, kept to skip argon2 on the next requests.
const REMEMBERED: usize = 8;
pub const CHALLENGE: &str = "Basic realm=\"rsvision\"";

/// The configured credentials.
#[derive(Debug)]
pub struct Auth {
    user: String,
    /// A valid argon2 PHC string (checked in [`Auth::from_settings`]).
    hash: String,
    passed: Mutex<Vec<Vec<u8>>>,
    checks: Semaphore,
}

impl Auth {
    /// `None` when authentication is off (neither `user` nor `password-hash` set).
    pub fn from_settings(settings: &Settings) -> Result<Option<Arc<Auth>>, String> {
        match (&settings.user, &settings.password_hash) {
            (None, None) => Ok(None),
            (Some(_), None) => Err("web: user is set without password-hash".into()),
            (None, Some(_)) => Err("web: password-hash is set without user".into()),
            (Some(user), Some(hash)) => Auth::new(user, hash).map(|a| Some(Arc::new(a))),
        }
    }

    pub fn new(user: &str, hash: &str) -> Result<Auth, String> {
        let parsed = PasswordHash::new(hash).map_err(|e| {
            format!(
                "web: password-hash is not a PHC string ({e}); make one with `rsvision hash-password`"
            )
        })?;
        if !matches!(
            parsed.algorithm.as_str(),
            "argon2id" | "argon2i" | "argon2d"
        ) {
            return Err(format!(
                "web: password-hash is a {} hash, not argon2; make one with `rsvision hash-password`",
                parsed.algorithm
            ));
        }
        Ok(Auth {
            user: user.to_string(),
            hash: hash.to_string(),
            passed: Mutex::new(Vec::new()),
            checks: Semaphore::new(CONCURRENT_CHECKS),
        })
    }

    /// Whether an `Authorization` header value carries the right user and password.
    pub async fn allows(self: &Arc<Self>, authorization: Option<&HeaderValue>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let raw = value.as_bytes();
        if self.remembers(raw) {
            return true;
        }
        let Some((user, password)) = parse_basic(raw) else {
            return false;
        };
        let Ok(_permit) = self.checks.acquire().await else {
            return false;
        };
        let auth = self.clone();
        let ok = tokio::task::spawn_blocking(move || auth.verify(&user, &password))
            .await
            .unwrap_or(false);
        if ok {
            let mut passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
            if passed.len() == REMEMBERED {
                passed.remove(0);
            }
            passed.push(raw.to_vec());
        }
        ok
    }

    fn remembers(&self, raw: &[u8]) -> bool {
        let passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
        // Every entry is compared, each in constant time.
        passed
            .iter()
            .fold(subtle::Choice::from(0), |any, p| {
                any | p.as_slice().ct_eq(raw)
            })
            .into()
    }

    fn verify(&self, user: &str, password: &str) -> bool {
        let user_ok = user.as_bytes().ct_eq(self.user.as_bytes());
        // Checked in from_settings; verified even for a wrong user (same time either way).
        let password_ok = PasswordHash::new(&self.hash)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false);
        (user_ok & subtle::Choice::from(u8::from(password_ok))).into()
    }
}

/// The middleware in front of every route (see [`routes::router`]).
pub async fn require(State(auth): State<Arc<Auth>>, request: Request, next: Next) -> Response {
    if auth
        .allows(request.headers().get(header::AUTHORIZATION))
        .await
    {
        next.run(request).await
    } else {
        unauthorized()
    }
}

pub fn unauthorized() -> Response {
    let mut response = routes::error(StatusCode::UNAUTHORIZED, "authentication required");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(CHALLENGE),
    );
    response.into_response()
}

/// `Basic dXNlcjpwYXNz` to `("user", "pass")`; the password may hold `:`.
pub fn parse_basic(value: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// An argon2id PHC string of `password` with a random salt and argon2's default
/// parameters, for `[web] password-hash` (`rsvision hash-password`).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        // Only a password over 4 GiB fails.
        .expect("argon2 hashes any password with its default parameters")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_parsed() {
        // "aladdin:open sesame" as RFC 7617 encodes it.
        assert_eq!(
            parse_basic(b"Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Some(("aladdin".into(), "open sesame".into()))
        );
        // base64("u:a:b"): the password keeps its colons.
        assert_eq!(
            parse_basic(b"basic dTphOmI="),
            Some(("u".into(), "a:b".into()))
        );
        assert_eq!(parse_basic(b"Bearer YWxhZGRpbjpvcGVuIHNlc2FtZQ=="), None);
        assert_eq!(parse_basic(b"Basic !!!"), None);
        // base64("nocolon")
        assert_eq!(parse_basic(b"Basic bm9jb2xvbg=="), None);
        assert_eq!(parse_basic(b"Basic"), None);
    }

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("s3cret");
        let b = hash_password("s3cret");
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "a random salt each time");
        let auth = Auth::new("admin", &a).unwrap();
        assert!(auth.verify("admin", "s3cret"));
        assert!(!auth.verify("admin", "s3cret "));
        assert!(!auth.verify("admim", "s3cret"));
        assert!(!auth.verify("", ""));
    }

    #[test]
    fn a_hash_that_is_not_argon2_is_refused() {
        let e = Auth::new("u", "plain-password").unwrap_err();
        assert!(e.contains("not a PHC string"), "{e}");
        let e = Auth::new(
            "u",
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        )
        .unwrap_err();
        assert!(e.contains("not argon2"), "{e}");
        let settings = Settings {
            user: Some("u".into()),
            ..Settings::default()
        };
        assert!(Auth::from_settings(&settings).is_err());
        assert!(Auth::from_settings(&Settings::default()).unwrap().is_none());
    }
}
