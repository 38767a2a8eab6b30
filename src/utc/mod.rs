//! UTC times as milliseconds since the Unix epoch, in DeepStream's ISO-8601 form with
//! milliseconds (`2021-07-28T17:53:19.339Z`): formatting (the `@timestamp` of rsmsgbroker's
//! payloads, rssmartrecord's clip times), parsing (the `start`/`end` of cloud-to-device
//! commands) and a compact form for file names. Plain Rust, proleptic Gregorian calendar.

use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff…][Z|±HH:MM|±HHMM]` (a missing zone means UTC, as
/// DeepStream's sample producer writes local time with a `Z`). Fractions beyond
/// milliseconds are truncated.
pub fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &b[start..i];
        for k in 0..3 {
            ms = ms * 10 + frac.get(k).map_or(0, |c| (c - b'0') as i64);
        }
    }
    let offset_min: i64 = match b.get(i) {
        None => 0,
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&c @ (b'+' | b'-')) => {
            let rest = &s.trim()[i + 1..];
            let (oh, om) = match rest.len() {
                5 if rest.as_bytes()[2] == b':' => (&rest[0..2], &rest[3..5]),
                4 => (&rest[0..2], &rest[2..4]),
                2 => (&rest[0..2], "00"),
                _ => return None,
            };
            if !oh.bytes().chain(om.bytes()).all(|c| c.is_ascii_digit()) {
                return None;
            }
            let v = oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?;
            if c == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs * 1000 + ms)
}

fn split(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, sod / 3600, sod % 3600 / 60, sod % 60, milli)
}

/// `2020-05-18T20:02:00.051Z`.
pub fn format_iso8601(ms: i64) -> String {
    let mut out = String::with_capacity(24);
    write_iso8601(&mut out, ms);
    out
}

/// Appends [`format_iso8601`]`(ms)` to `out` (no allocation of its own).
pub fn write_iso8601(out: &mut String, ms: i64) {
    let (y, m, d, h, mi, s, milli) = split(ms);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z"
    );
}

/// `20200518-200200` (file names).
pub fn format_compact(ms: i64) -> String {
    let (y, m, d, h, mi, s, _) = split(ms);
    format!("{y:04}{m:02}{d:02}-{h:02}{mi:02}{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deepstream_times() {
        // 2020-05-18T20:02:00.051Z = 1589832120051 ms (checked with `date -u -d`).
        assert_eq!(
            parse_iso8601("2020-05-18T20:02:00.051Z"),
            Some(1_589_832_120_051)
        );
        assert_eq!(
            parse_iso8601("2020-05-18T20:02:02.851Z"),
            Some(1_589_832_122_851)
        );
        assert_eq!(parse_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_iso8601("1970-01-01T00:00:00"), Some(0));
        assert_eq!(parse_iso8601("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_iso8601("1969-12-31T23:00:00-0100"), Some(0));
        assert_eq!(
            parse_iso8601("2000-02-29T00:00:00.1Z"),
            Some(951_782_400_100)
        );
        assert_eq!(
            parse_iso8601("2000-02-29T00:00:00.123456Z"),
            Some(951_782_400_123)
        );
    }

    #[test]
    fn rejects_malformed_times() {
        for s in [
            "",
            "yesterday",
            "2020-05-18",
            "2020-13-01T00:00:00Z",
            "2021-02-29T00:00:00Z",
            "2020-05-18T24:00:00Z",
            "2020-05-18T20:02:00.Z",
            "2020-05-18T20:02:00ZZ",
            "2020-05-18T20:02:00+1",
            "2020-05-18X20:02:00Z",
            "+020-05-18T20:02:00Z",
        ] {
            assert_eq!(parse_iso8601(s), None, "{s}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for ms in [0, 1_589_832_120_051, 951_782_400_100, 4_102_444_799_999] {
            assert_eq!(parse_iso8601(&format_iso8601(ms)), Some(ms));
        }
        assert_eq!(
            format_iso8601(1_589_832_120_051),
            "2020-05-18T20:02:00.051Z"
        );
        assert_eq!(format_compact(1_589_832_120_051), "20200518-200200");
        assert_eq!(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_iso8601(4_102_444_800_000),
            "2100-01-01T00:00:00.000Z"
        );
        let mut s = String::from("t=");
        write_iso8601(&mut s, 951_782_400_007);
        assert_eq!(s, "t=2000-02-29T00:00:00.007Z");
    }
}
