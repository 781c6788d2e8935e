//! Timestamps: every input time becomes UTC nanoseconds; zones come from the tz database (chrono-tz).

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat,
    TimeZone, Utc,
};
use chrono_tz::{OffsetName, Tz};

use crate::event::{NS_PER_SEC, TimeNs};

/// How to read timestamps that do not say their zone.
#[derive(Debug, Clone, Copy)]
pub struct TimeContext {
    /// Zone for naive timestamps and for breaking ties between ambiguous abbreviations.
    pub assume_tz: Tz,
}

impl Default for TimeContext {
    fn default() -> Self {
        TimeContext {
            assume_tz: chrono_tz::UTC,
        }
    }
}

/// Why a timestamp could not be placed in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    Malformed,
    UnknownZone(String),
    /// The local time does not exist in the zone (skipped by a DST change).
    NonexistentLocal,
    OutOfRange,
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeError::Malformed => f.write_str("malformed timestamp"),
            TimeError::UnknownZone(z) => write!(f, "unknown time zone abbreviation {z:?}"),
            TimeError::NonexistentLocal => f.write_str("local time skipped by a DST change"),
            TimeError::OutOfRange => f.write_str("timestamp out of range"),
        }
    }
}

fn to_ns<Z: TimeZone>(dt: &DateTime<Z>) -> Result<TimeNs, TimeError> {
    dt.timestamp_nanos_opt().ok_or(TimeError::OutOfRange)
}

/// A local wall-clock time in a named zone, to UTC. In the repeated hour of a DST fall-back the
/// earlier instant is taken (the usual logger behaviour is ambiguous, the earlier one is stable).
pub fn local_to_utc(naive: &NaiveDateTime, tz: Tz) -> Result<TimeNs, TimeError> {
    match tz.from_local_datetime(naive) {
        LocalResult::Single(dt) => to_ns(&dt),
        LocalResult::Ambiguous(a, _) => to_ns(&a),
        LocalResult::None => Err(TimeError::NonexistentLocal),
    }
}

/// Zones that use each abbreviation. The first zone is the default reading; `assume_tz` wins
/// when it uses the abbreviation too (so CST means China Standard Time when the user says
/// `--assume-tz Asia/Shanghai`). Offsets are never written here: they come from the tz database
/// at the date in question, checked against the abbreviation.
const ABBREVIATIONS: &[(&str, &[Tz])] = {
    use chrono_tz::*;
    &[
        ("UTC", &[UTC]),
        ("GMT", &[Europe::London, UTC]),
        ("Z", &[UTC]),
        ("EST", &[America::New_York]),
        ("EDT", &[America::New_York]),
        ("CST", &[America::Chicago, Asia::Shanghai, America::Havana]),
        ("CDT", &[America::Chicago, America::Havana]),
        ("MST", &[America::Denver, America::Phoenix]),
        ("MDT", &[America::Denver]),
        ("PST", &[America::Los_Angeles]),
        ("PDT", &[America::Los_Angeles]),
        ("AKST", &[America::Anchorage]),
        ("AKDT", &[America::Anchorage]),
        ("HST", &[Pacific::Honolulu]),
        ("AST", &[America::Halifax]),
        ("ADT", &[America::Halifax]),
        ("NST", &[America::St_Johns]),
        ("NDT", &[America::St_Johns]),
        ("BST", &[Europe::London]),
        ("IST", &[Asia::Kolkata, Europe::Dublin, Asia::Jerusalem]),
        ("WET", &[Europe::Lisbon]),
        ("WEST", &[Europe::Lisbon]),
        ("CET", &[Europe::Berlin]),
        ("CEST", &[Europe::Berlin]),
        ("EET", &[Europe::Athens]),
        ("EEST", &[Europe::Athens]),
        ("MSK", &[Europe::Moscow]),
        ("IDT", &[Asia::Jerusalem]),
        ("PKT", &[Asia::Karachi]),
        ("WIB", &[Asia::Jakarta]),
        ("HKT", &[Asia::Hong_Kong]),
        ("JST", &[Asia::Tokyo]),
        ("KST", &[Asia::Seoul]),
        ("AEST", &[Australia::Sydney, Australia::Brisbane]),
        ("AEDT", &[Australia::Sydney]),
        ("ACST", &[Australia::Adelaide, Australia::Darwin]),
        ("ACDT", &[Australia::Adelaide]),
        ("AWST", &[Australia::Perth]),
        ("NZST", &[Pacific::Auckland]),
        ("NZDT", &[Pacific::Auckland]),
        ("SAST", &[Africa::Johannesburg]),
    ]
};

/// Abbreviations that name more than one UTC offset somewhere in the world.
pub fn is_ambiguous_abbreviation(abbr: &str) -> bool {
    ABBREVIATIONS
        .iter()
        .find(|(a, _)| *a == abbr)
        .is_some_and(|(_, zones)| zones.len() > 1 && abbr != "GMT")
}

fn zone_uses_abbreviation(naive: &NaiveDateTime, tz: Tz, abbr: &str) -> Option<TimeNs> {
    let candidates = match tz.from_local_datetime(naive) {
        LocalResult::Single(a) => [Some(a), None],
        LocalResult::Ambiguous(a, b) => [Some(a), Some(b)],
        LocalResult::None => [None, None],
    };
    candidates
        .into_iter()
        .flatten()
        .find(|dt| {
            dt.offset().abbreviation() == Some(abbr) || (abbr == "Z" && tz == chrono_tz::UTC)
        })
        .and_then(|dt| dt.timestamp_nanos_opt())
}

/// A local time followed by a zone abbreviation (`2023-10-15 14:59:50.123 EDT`), to UTC.
pub fn abbreviated_to_utc(
    naive: &NaiveDateTime,
    abbr: &str,
    ctx: &TimeContext,
) -> Result<TimeNs, TimeError> {
    let Some((_, zones)) = ABBREVIATIONS.iter().find(|(a, _)| *a == abbr) else {
        // An IANA name can stand where an abbreviation usually does (some log_timezone settings).
        if let Ok(tz) = abbr.parse::<Tz>() {
            return local_to_utc(naive, tz);
        }
        return Err(TimeError::UnknownZone(abbr.to_string()));
    };
    if let Some(ns) = zone_uses_abbreviation(naive, ctx.assume_tz, abbr) {
        return Ok(ns);
    }
    for tz in zones.iter() {
        if let Some(ns) = zone_uses_abbreviation(naive, *tz, abbr) {
            return Ok(ns);
        }
    }
    // The abbreviation exists but not at this date in its zones (e.g. "EDT" written in
    // January by a misconfigured host): take the offset it has in summer/winter of that year.
    for tz in zones.iter() {
        for month in [1, 7] {
            let probe = NaiveDate::from_ymd_opt(naive.date().year_ce().1 as i32, month, 15)
                .and_then(|d| d.and_hms_opt(12, 0, 0));
            if let Some(probe) = probe
                && let LocalResult::Single(dt) = tz.from_local_datetime(&probe)
                && dt.offset().abbreviation() == Some(abbr)
            {
                let fixed: FixedOffset = dt.offset().fix();
                return fixed_local_to_utc(naive, fixed);
            }
        }
    }
    Err(TimeError::UnknownZone(abbr.to_string()))
}

use chrono::{Datelike, Offset};

fn fixed_local_to_utc(naive: &NaiveDateTime, offset: FixedOffset) -> Result<TimeNs, TimeError> {
    match offset.from_local_datetime(naive) {
        LocalResult::Single(dt) => to_ns(&dt),
        _ => Err(TimeError::OutOfRange),
    }
}

/// Parses `Z`, `+04`, `-0400`, `-04:00`.
pub fn parse_numeric_offset(s: &str) -> Option<FixedOffset> {
    if s == "Z" || s == "z" {
        return FixedOffset::east_opt(0);
    }
    let bytes = s.as_bytes();
    let sign = match bytes.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Parses a date-time written `YYYY-MM-DD[T ]HH:MM:SS[.fraction]`, no zone.
pub fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let date = NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").ok()?;
    let time = NaiveTime::parse_from_str(&s[11..], "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(&s[11..], "%H:%M:%S,%f"))
        .ok()?;
    Some(date.and_time(time))
}

/// Parses an ISO 8601 / RFC 3339 timestamp: with `Z`, a numeric offset, or no zone
/// (then `ctx.assume_tz`). Accepts `T` or a space between date and time.
pub fn parse_iso(s: &str, ctx: &TimeContext) -> Result<TimeNs, TimeError> {
    let s = s.trim();
    if s.len() < 19 {
        return Err(TimeError::Malformed);
    }
    // Split off the zone: everything after the seconds and fraction.
    let bytes = s.as_bytes();
    let mut end = 19;
    if end < bytes.len() && (bytes[end] == b'.' || bytes[end] == b',') {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    let naive = parse_naive(&s[..end]).ok_or(TimeError::Malformed)?;
    let zone = s[end..].trim_start();
    if zone.is_empty() {
        return local_to_utc(&naive, ctx.assume_tz);
    }
    if let Some(offset) = parse_numeric_offset(zone) {
        return fixed_local_to_utc(&naive, offset);
    }
    // Go's time.String(): "-0400 EDT" — the offset says it all.
    if let Some((offset, abbr)) = zone.split_once(' ')
        && abbr.bytes().all(|b| b.is_ascii_alphabetic())
        && let Some(offset) = parse_numeric_offset(offset)
    {
        return fixed_local_to_utc(&naive, offset);
    }
    if zone.bytes().all(|b| b.is_ascii_alphabetic()) {
        return abbreviated_to_utc(&naive, zone, ctx);
    }
    Err(TimeError::Malformed)
}

/// Parses the Common Log Format time `15/Oct/2023:15:00:00 -0400`.
pub fn parse_clf(s: &str) -> Result<TimeNs, TimeError> {
    let (local, zone) = s.split_once(' ').ok_or(TimeError::Malformed)?;
    let naive = NaiveDateTime::parse_from_str(local, "%d/%b/%Y:%H:%M:%S%.f")
        .map_err(|_| TimeError::Malformed)?;
    let offset = parse_numeric_offset(zone).ok_or(TimeError::Malformed)?;
    fixed_local_to_utc(&naive, offset)
}

/// Seconds, milliseconds, microseconds or nanoseconds since the epoch, told apart by magnitude
/// (valid for dates between 1973 and 2286 in every unit).
pub fn epoch_by_magnitude(value: f64) -> Result<TimeNs, TimeError> {
    if !value.is_finite() || value <= 0.0 {
        return Err(TimeError::OutOfRange);
    }
    let ns = if value < 1e11 {
        value * 1e9
    } else if value < 1e14 {
        value * 1e6
    } else if value < 1e17 {
        value * 1e3
    } else {
        value
    };
    if ns > i64::MAX as f64 {
        return Err(TimeError::OutOfRange);
    }
    Ok(ns as i64)
}

/// RFC 3339 in UTC with `Z`; whole seconds unless the time has a fraction (then milliseconds).
pub fn format_utc(ns: TimeNs) -> String {
    let dt = DateTime::<Utc>::from_timestamp_nanos(ns);
    let fmt = if ns.rem_euclid(NS_PER_SEC) == 0 {
        SecondsFormat::Secs
    } else {
        SecondsFormat::Millis
    };
    dt.to_rfc3339_opts(fmt, true)
}

/// The instant in the report zone.
pub fn in_zone(ns: TimeNs, tz: Tz) -> DateTime<Tz> {
    DateTime::<Utc>::from_timestamp_nanos(ns).with_timezone(&tz)
}

/// The zone's abbreviation at an instant (`EDT`), or its numeric offset where it has none.
pub fn zone_abbreviation(ns: TimeNs, tz: Tz) -> String {
    in_zone(ns, tz).format("%Z").to_string()
}

pub fn secs(ns: TimeNs) -> i64 {
    ns.div_euclid(NS_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> TimeContext {
        TimeContext::default()
    }

    #[test]
    fn rfc3339_with_offset() {
        let ns = parse_iso("2023-10-15T15:00:00.123-04:00", &ctx()).unwrap();
        assert_eq!(format_utc(ns), "2023-10-15T19:00:00.123Z");
    }

    #[test]
    fn space_separated_naive_takes_assumed_zone() {
        let ny = TimeContext {
            assume_tz: chrono_tz::America::New_York,
        };
        let ns = parse_iso("2023-10-15 15:00:00", &ny).unwrap();
        assert_eq!(format_utc(ns), "2023-10-15T19:00:00Z");
        let ns = parse_iso("2023-10-15 15:00:00", &ctx()).unwrap();
        assert_eq!(format_utc(ns), "2023-10-15T15:00:00Z");
    }

    #[test]
    fn postgres_abbreviation() {
        let ns = parse_iso("2023-10-15 14:59:50.123 EDT", &ctx()).unwrap();
        assert_eq!(format_utc(ns), "2023-10-15T18:59:50.123Z");
        let ns = parse_iso("2025-08-16 13:02:58.095 CEST", &ctx()).unwrap();
        assert_eq!(format_utc(ns), "2025-08-16T11:02:58.095Z");
        let ns = parse_iso("2023-01-15 10:00:00 EST", &ctx()).unwrap();
        assert_eq!(format_utc(ns), "2023-01-15T15:00:00Z");
    }

    #[test]
    fn ambiguous_abbreviation_follows_assumed_zone() {
        let shanghai = TimeContext {
            assume_tz: chrono_tz::Asia::Shanghai,
        };
        let ns = parse_iso("2023-01-15 10:00:00 CST", &shanghai).unwrap();
        assert_eq!(format_utc(ns), "2023-01-15T02:00:00Z");
        let ns = parse_iso("2023-01-15 10:00:00 CST", &ctx()).unwrap();
        assert_eq!(format_utc(ns), "2023-01-15T16:00:00Z");
        assert!(is_ambiguous_abbreviation("CST"));
        assert!(!is_ambiguous_abbreviation("EDT"));
    }

    #[test]
    fn unknown_abbreviation_is_reported() {
        assert_eq!(
            parse_iso("2023-01-15 10:00:00 XYZ", &ctx()),
            Err(TimeError::UnknownZone("XYZ".into()))
        );
    }

    #[test]
    fn go_time_string() {
        let ns = parse_iso("2014-03-10 19:57:38.562264131 -0400 EDT", &ctx()).unwrap();
        assert_eq!(format_utc(ns), "2014-03-10T23:57:38.562Z");
    }

    #[test]
    fn clf_time() {
        let ns = parse_clf("15/Oct/2023:15:00:00 -0400").unwrap();
        assert_eq!(format_utc(ns), "2023-10-15T19:00:00Z");
        assert!(parse_clf("15/Foo/2023:15:00:00 -0400").is_err());
    }

    #[test]
    fn epoch_units() {
        let want = 1_697_396_400 * NS_PER_SEC;
        assert_eq!(epoch_by_magnitude(1_697_396_400.0).unwrap(), want);
        assert_eq!(epoch_by_magnitude(1_697_396_400_000.0).unwrap(), want);
        assert_eq!(epoch_by_magnitude(1_697_396_400_000_000.0).unwrap(), want);
        assert_eq!(epoch_by_magnitude(1.6973964e18).unwrap(), want);
        assert!(epoch_by_magnitude(-1.0).is_err());
    }

    #[test]
    fn dst_fall_back_takes_earlier_instant() {
        let naive = parse_naive("2023-11-05 01:30:00").unwrap();
        let ns = local_to_utc(&naive, chrono_tz::America::New_York).unwrap();
        assert_eq!(format_utc(ns), "2023-11-05T05:30:00Z");
        let ns = abbreviated_to_utc(&naive, "EST", &ctx()).unwrap();
        assert_eq!(format_utc(ns), "2023-11-05T06:30:00Z");
    }
}
