//! `[web]`: defaults, every key read, and each mistake reported once at its place.

use super::{load_text, temp_dir, SRC};
use crate::web::Settings;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";

#[test]
fn without_a_web_section_the_console_is_on_localhost_8080() {
    let dir = temp_dir("web-default");
    let (_, result) = load_text(&dir, SRC);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.web, Settings::default());
    assert!(c.web.enabled);
    assert_eq!(c.web.listen, "127.0.0.1:8080");
    assert_eq!(
        (c.web.fps, c.web.max_width, c.web.max_height, c.web.quality),
        (5, 1280, 720, 80)
    );
    assert_eq!(c.web.events, 500);
    assert_eq!(
        (c.web.user.as_deref(), c.web.tls_cert.as_deref()),
        (None, None)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_web_key_is_read() {
    let dir = temp_dir("web-all");
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    std::fs::write(dir.join("tls/cert.pem"), "-----BEGIN CERTIFICATE-----\n").unwrap();
    std::fs::write(dir.join("tls/key.pem"), "-----BEGIN PRIVATE KEY-----\n").unwrap();
    let text = format!(
        "[web]\nenabled = false\nlisten = \"0.0.0.0:0\"\nfps = 12\nmax-width = 640\n\
         max-height = 360\nquality = 55\nevents = 20\nuser = \"admin\"\n\
         password-hash = \"{HASH}\"\ntls-cert = \"tls/cert.pem\"\ntls-key = \"tls/key.pem\"\n{SRC}"
    );
    let (_, result) = load_text(&dir, &text);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.web,
        Settings {
            enabled: false,
            listen: "0.0.0.0:0".into(),
            fps: 12,
            max_width: 640,
            max_height: 360,
            quality: 55,
            events: 20,
            user: Some("admin".into()),
            password_hash: Some(HASH.into()),
            tls_cert: Some(dir.join("tls/cert.pem")),
            tls_key: Some(dir.join("tls/key.pem")),
        }
    );
    // IPv6 and the extremes of each range are fine too.
    let text = format!(
        "[web]\nlisten = \"[::1]:9\"\nfps = 60\nmax-width = 16\nmax-height = 16384\nquality = 1\n{SRC}"
    );
    let (_, result) = load_text(&dir, &text);
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((c.web.fps, c.web.max_width, c.web.quality), (60, 16, 1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// One mistake in `[web]` (written first in the file, so lines are fixed) and its error.
struct Bad {
    name: &'static str,
    web: String,
    line: usize,
    column: usize,
    key: &'static str,
    message: &'static str,
    suggestion: Option<&'static str>,
}

fn bad(
    name: &'static str,
    web: impl Into<String>,
    (line, column): (usize, usize),
    key: &'static str,
    message: &'static str,
    suggestion: Option<&'static str>,
) -> Bad {
    Bad {
        name,
        web: web.into(),
        line,
        column,
        key,
        message,
        suggestion,
    }
}

#[test]
fn each_web_mistake_gives_one_error_at_its_place() {
    let dir = temp_dir("web-bad");
    std::fs::write(dir.join("cert.pem"), "pem").unwrap();
    std::fs::create_dir_all(dir.join("adir")).unwrap();
    let cases = vec![
        bad(
            "misspelt key",
            "[web]\nmax-widht = 640\n",
            (2, 1),
            "web.max-widht",
            "unknown key \"max-widht\" in [web]",
            Some("max-width"),
        ),
        bad(
            "misspelt section",
            "[webb]\nfps = 5\n",
            (1, 2),
            "webb",
            "unknown section [webb]",
            Some("web"),
        ),
        bad(
            "not a table",
            "web = true\n",
            (1, 7),
            "web",
            "expected a table, found the boolean true",
            None,
        ),
        bad(
            "enabled is a boolean",
            "[web]\nenabled = \"no\"\n",
            (2, 11),
            "web.enabled",
            "expected a boolean (true or false), found the string \"no\"",
            None,
        ),
        bad(
            "fps 0",
            "[web]\nfps = 0\n",
            (2, 7),
            "web.fps",
            "expected an integer from 1 to 60, found the integer 0",
            None,
        ),
        bad(
            "fps 61",
            "[web]\nfps = 61\n",
            (2, 7),
            "web.fps",
            "expected an integer from 1 to 60, found the integer 61",
            None,
        ),
        bad(
            "fps a float",
            "[web]\nfps = 2.5\n",
            (2, 7),
            "web.fps",
            "expected an integer from 1 to 60, found the float 2.5",
            None,
        ),
        bad(
            "quality 101",
            "[web]\nquality = 101\n",
            (2, 11),
            "web.quality",
            "expected an integer from 1 to 100, found the integer 101",
            None,
        ),
        bad(
            "max-height too small",
            "[web]\nmax-height = 15\n",
            (2, 14),
            "web.max-height",
            "expected an integer from 16 to 16384, found the integer 15",
            None,
        ),
        bad(
            "events 0",
            "[web]\nevents = 0\n",
            (2, 10),
            "web.events",
            "expected an integer from 1 to 1000000",
            None,
        ),
        bad(
            "listen without a port",
            "[web]\nlisten = \"127.0.0.1\"\n",
            (2, 10),
            "web.listen",
            "expected an address:port like \"127.0.0.1:8080\"",
            None,
        ),
        bad(
            "listen with a host name",
            "[web]\nlisten = \"localhost:8080\"\n",
            (2, 10),
            "web.listen",
            "found \"localhost:8080\"",
            None,
        ),
        bad(
            "listen port out of range",
            "[web]\nlisten = \"127.0.0.1:65536\"\n",
            (2, 10),
            "web.listen",
            "expected an address:port",
            None,
        ),
        bad(
            "listen a number",
            "[web]\nlisten = 8080\n",
            (2, 10),
            "web.listen",
            "expected a string, found the integer 8080",
            None,
        ),
        bad(
            "user without password-hash",
            "[web]\nfps = 5\nuser = \"admin\"\n",
            (3, 8),
            "web.user",
            "user is set but password-hash is not: basic authentication needs both",
            None,
        ),
        bad(
            "password-hash without user",
            format!("[web]\npassword-hash = \"{HASH}\"\n"),
            (2, 17),
            "web.password-hash",
            "password-hash is set but user is not",
            None,
        ),
        bad(
            "a password instead of its hash",
            "[web]\nuser = \"admin\"\npassword-hash = \"hunter2\"\n",
            (3, 17),
            "web.password-hash",
            "expected an argon2 PHC string",
            None,
        ),
        bad(
            "a bcrypt hash",
            "[web]\nuser = \"admin\"\npassword-hash = \"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\"\n",
            (3, 17),
            "web.password-hash",
            "run `rsvision hash-password`",
            None,
        ),
        bad(
            "user with a colon",
            format!("[web]\nuser = \"ad:min\"\npassword-hash = \"{HASH}\"\n"),
            (2, 8),
            "web.user",
            "without ':'",
            None,
        ),
        bad(
            "tls-cert without tls-key",
            "[web]\ntls-cert = \"cert.pem\"\n",
            (2, 12),
            "web.tls-cert",
            "tls-cert is set but tls-key is not: HTTPS needs both",
            None,
        ),
        bad(
            "tls-key missing",
            "[web]\ntls-cert = \"cert.pem\"\ntls-key = \"key.pem\"\n",
            (3, 11),
            "web.tls-key",
            "key.pem: no such file",
            None,
        ),
        bad(
            "tls-cert a directory",
            "[web]\ntls-cert = \"adir\"\ntls-key = \"cert.pem\"\n",
            (2, 12),
            "web.tls-cert",
            "adir: not a regular file",
            None,
        ),
    ];
    let mut failures = Vec::new();
    for b in cases {
        let case = dir.join(b.name.replace(' ', "-"));
        std::fs::create_dir_all(&case).unwrap();
        std::fs::copy(dir.join("cert.pem"), case.join("cert.pem")).unwrap();
        std::fs::create_dir_all(case.join("adir")).unwrap();
        let (path, result) = load_text(&case, &format!("{}{SRC}", b.web));
        let errors = match result {
            Ok(_) => {
                failures.push(format!("{}: loaded", b.name));
                continue;
            }
            Err(e) => e,
        };
        let ok = errors.0.len() == 1 && {
            let e = &errors.0[0];
            e.file == path
                && (e.line, e.column) == (b.line, b.column)
                && e.key == b.key
                && e.message.contains(b.message)
                && e.suggestion.as_deref() == b.suggestion
        };
        if !ok {
            failures.push(format!(
                "{}: expected {}:{}: {}: ...{}... (suggestion {:?}), got:\n{errors}",
                b.name, b.line, b.column, b.key, b.message, b.suggestion
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_password_hash_is_never_echoed() {
    let dir = temp_dir("web-secret");
    let (_, result) = load_text(
        &dir,
        &format!("[web]\nuser = \"a\"\npassword-hash = \"not-the-hash-s3cret\"\n{SRC}"),
    );
    let shown = result.expect_err("not a PHC string").to_string();
    assert!(!shown.contains("s3cret"), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_jpeg_branch_is_in_the_pipeline_only_when_enabled() {
    let dir = temp_dir("web-branch");
    let (_, result) = load_text(
        &dir,
        &format!("[web]\nfps = 7\nmax-width = 640\nmax-height = 480\nquality = 60\n{SRC}"),
    );
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    let d = crate::pipeline::describe(&c, &c.sources[0], true);
    assert!(
        d.ends_with(
            " ! tee name=webtee ! fakesink name=out sync=false webtee. ! queue name=webq \
             leaky=downstream max-size-buffers=1 max-size-bytes=0 max-size-time=0 ! valve \
             name=webvalve drop=true drop-mode=forward-sticky-events ! rsoverlay ! videoscale ! \
             video/x-raw,width=[16,640],height=[16,480],pixel-aspect-ratio=1/1 ! jpegenc \
             name=webenc quality=60 ! appsink name=web sync=false async=false max-buffers=1 \
             drop=true"
        ),
        "{d}"
    );
    let (_, result) = load_text(&dir, &format!("[web]\nenabled = false\n{SRC}"));
    let c = result.unwrap_or_else(|e| panic!("{e}"));
    let d = crate::pipeline::describe(&c, &c.sources[0], true);
    assert!(d.ends_with(" ! fakesink name=out sync=false"), "{d}");
    assert!(!d.contains("webtee"), "{d}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn documented_web_defaults_are_the_real_ones() {
    let doc = |name: &str| {
        super::super::schema::WEB
            .iter()
            .find(|k| k.name == name)
            .expect(name)
            .default
    };
    let d = Settings::default();
    assert_eq!(doc("enabled"), d.enabled.to_string());
    assert_eq!(doc("listen"), format!("\"{}\"", d.listen));
    assert_eq!(doc("fps"), d.fps.to_string());
    assert_eq!(doc("max-width"), d.max_width.to_string());
    assert_eq!(doc("max-height"), d.max_height.to_string());
    assert_eq!(doc("quality"), d.quality.to_string());
    assert_eq!(doc("events"), d.events.to_string());
    for unset in ["user", "password-hash", "tls-cert", "tls-key"] {
        assert_eq!(doc(unset), "none", "{unset}");
    }
}
