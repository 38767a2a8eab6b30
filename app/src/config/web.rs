//! `[web]`: the web console of `rsvision run` ([`crate::web::Settings`]). Every key is
//! optional; the checks are those a running server would otherwise fail on late: an address
//! that parses, the frame rate, size and quality the JPEG branch can take, credentials and
//! TLS files given in pairs, a password hash that is an argon2 PHC string.

use std::net::SocketAddr;

use crate::web::Settings;

use super::schema::{self, names};
use super::walk::{Ctx, Field, Section};

/// Longest side the JPEG branch may be asked for.
pub(super) const MAX_SIZE: i64 = 16384;

/// Whether `hash` looks like an argon2 PHC string:
/// `$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH` (the version part is optional).
pub(super) fn is_argon2_phc(hash: &str) -> bool {
    let Some(rest) = hash.strip_prefix('$') else {
        return false;
    };
    let parts: Vec<&str> = rest.split('$').collect();
    let (id, params) = match parts.as_slice() {
        [id, v, params, salt, out] if v.starts_with("v=") => {
            if salt.is_empty() || out.is_empty() {
                return false;
            }
            (*id, *params)
        }
        [id, params, salt, out] => {
            if salt.is_empty() || out.is_empty() {
                return false;
            }
            (*id, *params)
        }
        _ => return false,
    };
    let b64 = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
    };
    matches!(id, "argon2id" | "argon2i" | "argon2d")
        && params.split(',').all(|p| {
            p.split_once('=')
                .is_some_and(|(k, v)| !k.is_empty() && !v.is_empty())
        })
        && parts[parts.len() - 2..].iter().all(|s| b64(s))
}

/// A key's place, for the pair checks.
struct At {
    at: usize,
    path: String,
}

fn at(f: &Field) -> At {
    At {
        at: f.at,
        path: f.path.clone(),
    }
}

/// `a` and `b` must be given together: an error at the one that is alone.
fn pair(ctx: &mut Ctx, s: &Section, a: (&str, &Option<At>), b: (&str, &Option<At>), why: &str) {
    let (given, missing, place) = match (a.1, b.1) {
        (Some(p), None) => (a.0, b.0, p),
        (None, Some(p)) => (b.0, a.0, p),
        _ => return,
    };
    let message = format!(
        "{given} is set but {missing} is not: {why} needs both (or neither) in {}",
        s.header()
    );
    ctx.error(place.at, &place.path, message);
}

/// A PEM file that must exist (relative to the config file).
fn pem_file(ctx: &mut Ctx, f: &Field) -> Option<std::path::PathBuf> {
    let written = ctx.string(f)?;
    let path = ctx.path(&written);
    if !path.is_file() {
        let why = if path.exists() {
            "not a regular file"
        } else {
            "no such file"
        };
        let message = format!("cannot use {}: {why}", path.display());
        ctx.error(f.at, &f.path, message);
    }
    Some(path)
}

pub(super) fn web(ctx: &mut Ctx, s: &Section) -> Settings {
    let mut w = Settings::default();
    ctx.unknown_keys(s, &names(schema::WEB));
    let (mut user_at, mut hash_at, mut cert_at, mut key_at) = (None, None, None, None);
    for f in s.fields() {
        let int = |ctx: &mut Ctx, min: i64, max: i64| ctx.integer(&f, min, max);
        match f.name {
            "enabled" => w.enabled = ctx.boolean(&f).unwrap_or(w.enabled),
            "listen" => {
                if let Some(v) = ctx.string(&f) {
                    if v.trim().parse::<SocketAddr>().is_err() {
                        let message = format!(
                            "expected an address:port like \"127.0.0.1:8080\", \"0.0.0.0:8080\" \
                             or \"[::1]:8080\" (port 0: any free port), found \"{v}\""
                        );
                        ctx.error(f.at, &f.path, message);
                    }
                    w.listen = v.trim().to_string();
                }
            }
            "fps" => w.fps = int(ctx, 1, 60).map_or(w.fps, |v| v as u32),
            "max-width" => w.max_width = int(ctx, 16, MAX_SIZE).map_or(w.max_width, |v| v as u32),
            "max-height" => {
                w.max_height = int(ctx, 16, MAX_SIZE).map_or(w.max_height, |v| v as u32)
            }
            "quality" => w.quality = int(ctx, 1, 100).map_or(w.quality, |v| v as u32),
            "events" => w.events = int(ctx, 1, 1_000_000).map_or(w.events, |v| v as usize),
            "user" => {
                if let Some(v) = ctx.string(&f) {
                    if v.is_empty() || v.contains(':') || v.chars().any(char::is_control) {
                        ctx.error(
                            f.at,
                            &f.path,
                            "expected a user name: not empty, without ':' or control characters",
                        );
                    }
                    w.user = Some(v);
                }
                user_at = Some(at(&f));
            }
            "password-hash" => {
                if let Some(v) = ctx.string(&f) {
                    // Never echoed: it is not the password, but no reason to print it.
                    if !is_argon2_phc(v.trim()) {
                        ctx.error(
                            f.at,
                            &f.path,
                            "expected an argon2 PHC string ($argon2id$v=19$m=...,t=...,p=...$SALT$HASH): \
                             run `rsvision hash-password` and paste what it prints",
                        );
                    }
                    w.password_hash = Some(v.trim().to_string());
                }
                hash_at = Some(at(&f));
            }
            "tls-cert" => {
                w.tls_cert = pem_file(ctx, &f);
                cert_at = Some(at(&f));
            }
            "tls-key" => {
                w.tls_key = pem_file(ctx, &f);
                key_at = Some(at(&f));
            }
            _ => {}
        }
    }
    pair(
        ctx,
        s,
        ("user", &user_at),
        ("password-hash", &hash_at),
        "basic authentication",
    );
    pair(
        ctx,
        s,
        ("tls-cert", &cert_at),
        ("tls-key", &key_at),
        "HTTPS",
    );
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phc_strings() {
        assert!(is_argon2_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
        ));
        assert!(is_argon2_phc("$argon2i$m=4096,t=3,p=1$c2FsdA$aGFzaA"));
        for bad in [
            "",
            "hunter2",
            "argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA",
            "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$",
            "$argon2x$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA",
            "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
            "$argon2id$v=19$m=1,t=1,p=1$c2F sdA$aGFzaA",
            "$argon2id$v=19$m1$c2FsdA$aGFzaA",
        ] {
            assert!(!is_argon2_phc(bad), "{bad}");
        }
    }
}
