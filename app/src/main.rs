//! `rsvision`: runs a whole deployment of cameras from one TOML file (see README).
//!
//! ```text
//! rsvision run CONFIG [--duration 30s]   run the deployment (until a signal or the duration)
//! rsvision check CONFIG                  validate it and print the pipelines it would build
//! rsvision hash-password < PASSWORD      the [web] password-hash of a password
//! rsvision --help                        this, and every configuration key
//! ```

#[macro_use]
mod log;
mod backoff;
mod config;
mod pipeline;
mod recorder;
mod rules;
mod source;
mod state;
mod stats;
mod status;
mod supervisor;
mod web;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The configuration is invalid (run and check).
const EXIT_CONFIG: u8 = 2;

const USAGE: &str = "\
usage: rsvision run CONFIG [--duration DURATION]
       rsvision check CONFIG
       rsvision hash-password
       rsvision --help | --version

  run     runs every source of CONFIG until SIGINT/SIGTERM (or DURATION, e.g. 30s, 5m),
          reconnecting sources that fail; a second signal exits at once (status 130);
          with the web console on ([web], default 127.0.0.1:8080) it logs
          `web: listening on http://ADDRESS/`
  check   validates CONFIG and prints the pipeline each source would run
  hash-password
          reads a password (one line) on stdin and prints its argon2 PHC hash for
          [web] password-hash, e.g. `rsvision hash-password < password.txt`

exit status: 0 clean stop, 1 runtime failure (a source gave up, the shutdown deadline
passed), 2 invalid configuration or command line, 130 second signal";

/// `1.5s`, `200ms`, `2m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 != 0 {
        format!("{ms}ms")
    } else if ms % 60_000 == 0 && ms > 0 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

/// `30s`, `500ms`, `2m`, `1h` or a number of seconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let v: f64 = number.trim().parse().ok()?;
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v * scale))
}

/// glibc gives each new thread its own malloc arena (up to 8 per core) and keeps what it
/// frees there: a pipeline rebuilt on every reconnect, with new streaming threads each
/// time, made the resident memory climb in steps (+29 MB over 29 reconnect cycles in the
/// soak test) where two arenas keep it flat (+1.9 MB). `MALLOC_ARENA_MAX` in the
/// environment still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before any other thread.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn init() -> Result<(), String> {
    limit_malloc_arenas();
    gst::init().map_err(|e| format!("cannot initialise GStreamer: {e}"))?;
    gstrsvision::plugin_register_static()
        .map_err(|e| format!("cannot register the rsvision elements: {e}"))
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("rsvision: {message}\n{USAGE}");
    ExitCode::from(EXIT_CONFIG)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first().map(String::as_str) else {
        return usage_error("no command");
    };
    match command {
        "-h" | "--help" | "help" => {
            if let Err(e) = init() {
                eprintln!("rsvision: {e}");
                return ExitCode::FAILURE;
            }
            println!("{USAGE}\n\n{}", config::keys_help());
            return ExitCode::SUCCESS;
        }
        "-V" | "--version" => {
            println!("rsvision {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        "hash-password" => {
            if let Some(extra) = args.get(1) {
                return usage_error(&format!("unexpected argument {extra:?} for hash-password"));
            }
            return hash_password();
        }
        "run" | "check" => {}
        other => return usage_error(&format!("unknown command {other:?}")),
    }
    let mut path: Option<PathBuf> = None;
    let mut duration = None;
    let mut rest = args[1..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--duration" if command == "run" => {
                let Some(v) = rest.next() else {
                    return usage_error("--duration needs a value, e.g. 30s");
                };
                match parse_duration(v) {
                    Some(d) => duration = Some(d),
                    None => {
                        return usage_error(&format!(
                            "--duration: expected a duration like 30s, 500ms or 2m, found {v:?}"
                        ))
                    }
                }
            }
            flag if flag.starts_with("--") => {
                return usage_error(&format!("unknown option {flag:?} for {command}"))
            }
            p if path.is_none() => path = Some(PathBuf::from(p)),
            extra => return usage_error(&format!("unexpected argument {extra:?}")),
        }
    }
    let Some(path) = path else {
        return usage_error(&format!("{command} needs a CONFIG file"));
    };
    if let Err(e) = init() {
        eprintln!("rsvision: {e}");
        return ExitCode::FAILURE;
    }
    let config = match config::load(&path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("rsvision: {} is not valid", path.display());
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    for w in &config.warnings {
        eprintln!("warning: {w}");
    }
    if command == "check" {
        print_plan(&config);
        return ExitCode::SUCCESS;
    }
    let status = supervisor::run(&config, duration);
    ExitCode::from(status as u8)
}

/// `hash-password`: one line of stdin (without its line end) to an argon2 PHC string.
fn hash_password() -> ExitCode {
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("rsvision: hash-password: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        eprintln!("rsvision: hash-password: no password on stdin (one line, not empty)");
        return ExitCode::from(EXIT_CONFIG);
    }
    println!("{}", web::auth::hash_password(password));
    ExitCode::SUCCESS
}

/// What `check` prints: each source's pipeline, credentials hidden.
fn print_plan(config: &config::Config) {
    println!(
        "{}: valid, {} sources",
        config.path.display(),
        config.sources.len()
    );
    for source in &config.sources {
        println!(
            "\nsource {} ({}):\n  {}",
            source.id,
            if source.input.is_live() {
                "live"
            } else {
                "offline"
            },
            pipeline::describe(config, source, true).replace(" ! ", " !\n    ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
    }
}
