//! Basic authentication on and off; HTTPS with a self-signed certificate made here; the
//! errors for bad TLS files.

use std::path::PathBuf;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::*;

/// A PHC string with small parameters, so the test does not spend seconds in argon2
/// (verification reads the parameters from the string).
fn quick_hash(password: &str) -> String {
    let argon = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(1024, 1, 1, None).unwrap(),
    );
    let salt = SaltString::encode_b64(b"rsvision-test-salt").unwrap();
    argon
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn with_auth() -> Server {
    Server::start(
        hub(&["cam1"], None),
        Settings {
            user: Some("admin".into()),
            password_hash: Some(quick_hash("correct horse")),
            ..settings()
        },
    )
}

#[test]
fn with_auth_every_route_needs_the_right_credentials() {
    let server = with_auth();
    server.hub.sources[0].publish(jpeg());
    block_on(async {
        let c = client();
        for path in [
            "/",
            "/app.js",
            "/api/status",
            "/metrics",
            "/api/events",
            "/api/clips",
            "/api/sources/cam1/latest.jpg",
            "/api/sources/cam1/stream.mjpeg",
            "/clips/x.mp4",
            "/no/such/route",
        ] {
            let r = c.get(server.url(path)).send().await.unwrap();
            assert_eq!(r.status(), 401, "{path} without credentials");
            assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"rsvision\"");
            assert_eq!(r.headers()["content-type"], "application/json");
            for (user, password) in [("admin", "wrong"), ("root", "correct horse"), ("", "")] {
                let r = c
                    .get(server.url(path))
                    .basic_auth(user, Some(password))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 401, "{path} as {user}:{password}");
            }
        }
        let r = c
            .get(server.url("/api/status"))
            .header("Authorization", "Bearer abc")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        // Twice: the second is answered from the remembered credentials.
        for _ in 0..2 {
            let r = c
                .get(server.url("/api/status"))
                .basic_auth("admin", Some("correct horse"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        let r = c
            .get(server.url("/api/sources/cam1/latest.jpg"))
            .basic_auth("admin", Some("correct horse"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.bytes().await.unwrap(), jpeg());
        let r = c
            .get(server.url("/no/such/route"))
            .basic_auth("admin", Some("correct horse"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            404,
            "past authentication, the route's own answer"
        );
    });
}

#[test]
fn without_auth_nothing_is_asked() {
    let server = Server::simple();
    block_on(async {
        let r = client()
            .get(server.url("/api/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("www-authenticate").is_none());
    });
}

#[test]
fn a_bad_password_hash_stops_the_start() {
    let e = start(
        &Settings {
            user: Some("admin".into()),
            password_hash: Some("hunter2".into()),
            ..settings()
        },
        Arc::new(hub(&["cam1"], None)),
    )
    .unwrap_err();
    assert!(
        e.starts_with("web: password-hash is not a PHC string"),
        "{e}"
    );
}

struct TlsFiles {
    dir: PathBuf,
    cert_pem: String,
}

impl TlsFiles {
    /// A self-signed certificate for 127.0.0.1 and localhost, with its key.
    fn new(tag: &str) -> TlsFiles {
        let dir = std::env::temp_dir().join(format!("rsvision-tls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .unwrap();
        let cert_pem = made.cert.pem();
        std::fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
        TlsFiles { dir, cert_pem }
    }

    fn settings(&self, cert: &str, key: &str) -> Settings {
        Settings {
            tls_cert: Some(self.dir.join(cert)),
            tls_key: Some(self.dir.join(key)),
            ..settings()
        }
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn https_with_a_trusted_self_signed_certificate() {
    let files = TlsFiles::new("ok");
    let server = Server::start(hub(&["cam1"], None), files.settings("cert.pem", "key.pem"));
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    server.hub.sources[0].publish(jpeg());
    block_on(async {
        let trusting = reqwest::Client::builder()
            .no_proxy()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(files.cert_pem.as_bytes()).unwrap(),
            )
            .build()
            .unwrap();
        let r = trusting
            .get(server.url("/api/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let mut r = trusting
            .get(server.url("/api/sources/cam1/stream.mjpeg"))
            .send()
            .await
            .unwrap();
        let mut buf = Vec::new();
        assert_eq!(next_part(&mut r, &mut buf).await.data, jpeg());
        drop(r);

        // A client that does not trust it, and plain HTTP to the TLS port, get nothing.
        let r = client().get(server.url("/api/status")).send().await;
        assert!(r.is_err(), "an untrusted certificate is refused");
        let plain = server.base.replacen("https://", "http://", 1);
        let r = client().get(format!("{plain}/api/status")).send().await;
        assert!(r.is_err() || !r.unwrap().status().is_success());
    });
}

#[test]
fn bad_tls_files_are_clear_errors() {
    let files = TlsFiles::new("bad");
    std::fs::write(files.dir.join("garbage.pem"), "not a certificate\n").unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(
        files.dir.join("other-key.pem"),
        other.signing_key.serialize_pem(),
    )
    .unwrap();
    let hub = Arc::new(hub(&["cam1"], None));
    let error = |cert: &str, key: &str| start(&files.settings(cert, key), hub.clone()).unwrap_err();
    let dir = files.dir.display();

    let e = error("missing.pem", "key.pem");
    assert!(
        e.starts_with(&format!("web: cannot read tls-cert {dir}/missing.pem: ")),
        "{e}"
    );
    let e = error("cert.pem", "missing.pem");
    assert!(
        e.starts_with(&format!("web: cannot read tls-key {dir}/missing.pem: ")),
        "{e}"
    );
    let e = error("garbage.pem", "key.pem");
    assert_eq!(
        e,
        format!(
            "web: tls-cert {dir}/garbage.pem holds no certificate \
             (expected PEM: -----BEGIN CERTIFICATE-----)"
        )
    );
    let e = error("cert.pem", "cert.pem");
    assert_eq!(
        e,
        format!(
            "web: tls-key {dir}/cert.pem holds no private key \
             (expected PEM: PKCS#8, PKCS#1 or SEC1)"
        )
    );
    let e = error("cert.pem", "other-key.pem");
    assert!(
        e.starts_with(&format!(
            "web: tls-key {dir}/other-key.pem does not go with tls-cert {dir}/cert.pem"
        )),
        "{e}"
    );
}
