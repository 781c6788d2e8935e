//! Timestamps: every input time becomes UTC nanoseconds; zones come from the tz database (chrono-tz).

use chrono::{
    DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    SecondsFormat, TimeZone, Timelike, Utc,
};
use std::collections::BTreeMap;

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

/// Times before this (1990-01-01) are not taken as real: a clock that was never set reads 1970.
pub const PLAUSIBLE_FROM: TimeNs = 631_152_000 * NS_PER_SEC;
/// Times from this (2100-01-01) on are not taken as real (a typo, a sentinel such as 2999).
pub const PLAUSIBLE_UNTIL: TimeNs = 4_102_444_800 * NS_PER_SEC;
/// Why a line whose time falls outside [`PLAUSIBLE_FROM`]..[`PLAUSIBLE_UNTIL`] is unparsed.
pub const IMPLAUSIBLE_TIME: &str = "timestamp outside 1990-2099 (clock not set, or a typo)";

/// Whether a time can be a real event's: it would otherwise stretch the timeline over decades.
pub fn is_plausible(t: TimeNs) -> bool {
    (PLAUSIBLE_FROM..PLAUSIBLE_UNTIL).contains(&t)
}

/// Why a timestamp could not be placed in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    Malformed,
    UnknownZone(String),
    /// The local time does not exist in the zone (skipped by a DST change).
    NonexistentLocal,
    OutOfRange,
    /// A timestamp without a year, and no reference time to take the year from.
    NoYear,
    /// A time counted from boot, and no reference time to place the boot at.
    NoBootTime,
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeError::Malformed => f.write_str("malformed timestamp"),
            TimeError::UnknownZone(z) => write!(f, "unknown time zone abbreviation {z:?}"),
            TimeError::NonexistentLocal => f.write_str("local time skipped by a DST change"),
            TimeError::OutOfRange => f.write_str("timestamp out of range"),
            TimeError::NoYear => {
                f.write_str("timestamp without a year and nothing to take it from")
            }
            TimeError::NoBootTime => {
                f.write_str("time since boot and nothing to place the boot at")
            }
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

/// Ambiguous zone abbreviations met while parsing, with the zone each was read as, so the
/// reader can be told (and can settle it with `--assume-tz`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeNotes {
    pub ambiguous: BTreeMap<String, Tz>,
}

impl TimeNotes {
    /// One sentence per ambiguous abbreviation met.
    pub fn describe(&self) -> Vec<String> {
        self.ambiguous
            .iter()
            .map(|(abbr, used)| {
                let zones = ABBREVIATIONS
                    .iter()
                    .find(|(a, _)| a == abbr)
                    .map(|(_, z)| z.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                format!(
                    "zone abbreviation {abbr} is ambiguous ({zones}); read as {}: pass --assume-tz with the zone meant to settle it",
                    used.name()
                )
            })
            .collect()
    }
}

/// Whether a word is a zone this module can resolve (an abbreviation in the table or an IANA name).
pub fn is_known_zone(word: &str) -> bool {
    ABBREVIATIONS.iter().any(|(a, _)| *a == word)
        || (word.contains('/') && word.parse::<Tz>().is_ok())
}

/// A local time followed by a zone abbreviation (`2023-10-15 14:59:50.123 EDT`), to UTC.
pub fn abbreviated_to_utc(
    naive: &NaiveDateTime,
    abbr: &str,
    ctx: &TimeContext,
) -> Result<TimeNs, TimeError> {
    abbreviated_to_utc_noted(naive, abbr, ctx, None)
}

/// As [`abbreviated_to_utc`], recording in `notes` an ambiguous abbreviation that `--assume-tz`
/// did not settle.
pub fn abbreviated_to_utc_noted(
    naive: &NaiveDateTime,
    abbr: &str,
    ctx: &TimeContext,
    notes: Option<&mut TimeNotes>,
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
    let ambiguous = is_ambiguous_abbreviation(abbr);
    for tz in zones.iter() {
        if let Some(ns) = zone_uses_abbreviation(naive, *tz, abbr) {
            if ambiguous && let Some(notes) = notes {
                notes.ambiguous.entry(abbr.to_string()).or_insert(*tz);
            }
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

pub fn fixed_local_to_utc(naive: &NaiveDateTime, offset: FixedOffset) -> Result<TimeNs, TimeError> {
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
    // `HH`, `HHMM` or `HH:MM` once the colons are left out (as many as written, anywhere).
    let mut digits = [0u8; 4];
    let mut n = 0;
    for &b in &bytes[1..] {
        if b == b':' {
            continue;
        }
        if !b.is_ascii_digit() || n == digits.len() {
            return None;
        }
        digits[n] = b - b'0';
        n += 1;
    }
    let two = |i: usize| i32::from(digits[i]) * 10 + i32::from(digits[i + 1]);
    let (h, m) = match n {
        2 => (two(0), 0),
        4 => (two(0), two(2)),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Reads `n` ASCII digits at `at` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = b.get(at..at + n)?;
    let mut value = 0u32;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(c - b'0');
    }
    Some(value)
}

/// A fraction of a second written after `.` or `,` (any number of digits), in nanoseconds.
fn fraction_ns(frac: &[u8]) -> Option<u32> {
    if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut ns = 0u32;
    for i in 0..9 {
        ns = ns * 10 + frac.get(i).map_or(0, |c| u32::from(c - b'0'));
    }
    Some(ns)
}

/// Powers of ten up to 10^9 (a fraction of `n` digits is `10^(9 - n)` nanoseconds a unit).
const POW10: [u32; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Parses `HH:MM:SS[.fraction]` (`,` accepted for the fraction, as log4j and Python write it).
pub fn parse_clock(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, sec) = (digits(b, 0, 2)?, digits(b, 3, 2)?, digits(b, 6, 2)?);
    let nano = match b.get(8) {
        None => 0,
        Some(b'.' | b',') => fraction_ns(&b[9..])?,
        Some(_) => return None,
    };
    // A leap second (:60) is folded into the second before it.
    let (sec, nano) = if sec == 60 {
        (59, 999_999_999)
    } else {
        (sec, nano)
    };
    NaiveTime::from_hms_nano_opt(h, m, sec, nano)
}

/// Parses a date-time written `YYYY-MM-DD[T ]HH:MM:SS[.fraction]`, no zone. Hand-written: this
/// runs once per line on most formats.
pub fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b' ') {
        return None;
    }
    let date =
        NaiveDate::from_ymd_opt(digits(b, 0, 4)? as i32, digits(b, 5, 2)?, digits(b, 8, 2)?)?;
    Some(date.and_time(parse_clock(&s[11..])?))
}

/// Parses `YYYY/MM/DD HH:MM:SS[.fraction]` (nginx error log, Go's `log` package), no zone.
pub fn parse_slashed(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'/' || b[7] != b'/' || b[10] != b' ' {
        return None;
    }
    let date =
        NaiveDate::from_ymd_opt(digits(b, 0, 4)? as i32, digits(b, 5, 2)?, digits(b, 8, 2)?)?;
    Some(date.and_time(parse_clock(&s[11..])?))
}

/// `Jan`..`Dec` (any case) to 1..=12.
pub fn month_number(abbr: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let a = abbr.get(..3)?;
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(a))
        .map(|i| i as u32 + 1)
}

/// Parses the C library's `asctime` layout with an optional fraction, as Apache's error log and
/// `dmesg -T` write it: `Sun Dec 04 04:47:44 2005`, `Fri Sep 09 10:42:29.902022 2011`. No zone.
pub fn parse_ctime(s: &str) -> Option<NaiveDateTime> {
    let mut parts = s.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let month = month_number(parts.next()?)?;
    let day: u32 = parts.next()?.parse().ok()?;
    let clock = parse_clock(parts.next()?)?;
    let year: i32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(NaiveDate::from_ymd_opt(year, month, day)?.and_time(clock))
}

/// A month, day and time of day without a year (BSD syslog's `Jun 14 15:16:01`, klog's
/// `0517 15:04:22.619632`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearlessTime {
    pub month: u32,
    pub day: u32,
    pub time: NaiveTime,
}

/// Parses BSD syslog's `Mmm dd HH:MM:SS[.fraction]` (day padded with a space or a zero).
pub fn parse_syslog_date(s: &str) -> Option<YearlessTime> {
    let mut parts = s.split_ascii_whitespace();
    let month = month_number(parts.next()?)?;
    let day: u32 = parts.next()?.parse().ok()?;
    let time = parse_clock(parts.next()?)?;
    if !(1..=31).contains(&day) {
        return None;
    }
    Some(YearlessTime { month, day, time })
}

/// How far after the anchor a year-less timestamp may fall before it is read as the year before
/// (logs are written before they are collected; a little slack covers clock skew between hosts).
const YEARLESS_SLACK_DAYS: i64 = 35;

/// Places a year-less timestamp near `anchor` (the other sources' last time, or the file's
/// modification time): the latest year that puts it no later than the anchor plus a few weeks.
/// A file that runs from December into January therefore rolls over at New Year. The wall
/// clock is never consulted.
pub fn yearless_to_utc(t: &YearlessTime, anchor: TimeNs, tz: Tz) -> Result<TimeNs, TimeError> {
    let anchor_year = DateTime::<Utc>::from_timestamp_nanos(anchor).year();
    let limit = anchor.saturating_add(YEARLESS_SLACK_DAYS * 86_400 * NS_PER_SEC);
    let mut best: Option<TimeNs> = None;
    let mut earliest: Option<TimeNs> = None;
    for year in [anchor_year + 1, anchor_year, anchor_year - 1] {
        // Feb 29 exists only in leap years: such a year is simply not a candidate.
        let Some(date) = NaiveDate::from_ymd_opt(year, t.month, t.day) else {
            continue;
        };
        let Ok(ns) = local_to_utc(&date.and_time(t.time), tz) else {
            continue;
        };
        earliest = Some(earliest.map_or(ns, |e: TimeNs| e.min(ns)));
        if ns <= limit && best.is_none_or(|b| ns > b) {
            best = Some(ns);
        }
    }
    best.or(earliest).ok_or(TimeError::Malformed)
}

/// Places a year-less timestamp nearest to `previous`, the time of the line before it in the same
/// file: logs run forward, so December followed by January is the next year, and a date a few
/// weeks on stays in the same year.
pub fn yearless_near(t: &YearlessTime, previous: TimeNs, tz: Tz) -> Result<TimeNs, TimeError> {
    let year = DateTime::<Utc>::from_timestamp_nanos(previous).year();
    [year - 1, year, year + 1]
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, t.month, t.day))
        .filter_map(|d| local_to_utc(&d.and_time(t.time), tz).ok())
        .min_by_key(|ns| (ns - previous).unsigned_abs())
        .ok_or(TimeError::Malformed)
}

/// Parses an ISO 8601 / RFC 3339 timestamp: with `Z`, a numeric offset, a zone abbreviation,
/// or no zone (then `ctx.assume_tz`). Accepts `T` or a space between date and time, and `.` or
/// `,` before the fraction.
pub fn parse_iso(s: &str, ctx: &TimeContext) -> Result<TimeNs, TimeError> {
    let (naive, zone) = split_iso(s)?;
    zone_to_utc(&naive, zone, ctx, None)
}

/// An ISO 8601 timestamp as its local time and the text of its zone (possibly empty).
pub fn split_iso(s: &str) -> Result<(NaiveDateTime, &str), TimeError> {
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
    // `get` rather than indexing: a stray multi-byte character must not panic.
    let naive = s
        .get(..end)
        .and_then(parse_naive)
        .ok_or(TimeError::Malformed)?;
    let mut zone = s.get(end..).ok_or(TimeError::Malformed)?.trim_start();
    // Go's time.String() may end with the monotonic clock reading (" m=+0.001").
    if zone.contains(' ')
        && let Some(cut) = zone.find(" m=")
    {
        zone = zone[..cut].trim_end();
    }
    Ok((naive, zone))
}

/// A local time and what follows it as its zone (empty, `Z`, an offset, `-0400 EDT`, an
/// abbreviation or an IANA name), to UTC.
pub fn zone_to_utc(
    naive: &NaiveDateTime,
    zone: &str,
    ctx: &TimeContext,
    notes: Option<&mut TimeNotes>,
) -> Result<TimeNs, TimeError> {
    if zone.is_empty() {
        return local_to_utc(naive, ctx.assume_tz);
    }
    if let Some(offset) = parse_numeric_offset(zone) {
        return fixed_local_to_utc(naive, offset);
    }
    // Go's time.String(): "-0400 EDT" — the offset says it all.
    if let Some((offset, abbr)) = zone.split_once(' ')
        && abbr.bytes().all(|b| b.is_ascii_alphabetic())
        && let Some(offset) = parse_numeric_offset(offset)
    {
        return fixed_local_to_utc(naive, offset);
    }
    if zone.bytes().all(|b| b.is_ascii_alphabetic()) || zone.contains('/') {
        return abbreviated_to_utc_noted(naive, zone, ctx, notes);
    }
    Err(TimeError::Malformed)
}

/// The UTC time of the last minute converted, by the local minute and the zone text: the lines
/// of a log mostly share their minute, so only the first line of each minute goes through the
/// zone rules (a named zone's transitions, an abbreviation's candidates). A minute is
/// remembered only when the conversion is linear across it (its first second, its last one and
/// the line's own agree), so a zone transition inside a minute is always converted in full.
#[derive(Debug, Clone, Default)]
pub struct MinuteCache {
    /// The local minute (seconds zeroed) and its UTC time.
    minute: Option<(NaiveDateTime, TimeNs)>,
    zone: String,
}

impl MinuteCache {
    /// The last minute converted, with its UTC start, when it converts linearly.
    pub fn linear_minute(&self) -> Option<(NaiveDateTime, TimeNs)> {
        self.minute
    }

    /// `naive` in `zone` as `convert` gives it (`convert(time, true)` for the line itself, so
    /// notes are taken once; `false` for the probes at the edges of its minute).
    pub fn to_utc(
        &mut self,
        naive: &NaiveDateTime,
        zone: &str,
        mut convert: impl FnMut(&NaiveDateTime, bool) -> Result<TimeNs, TimeError>,
    ) -> Result<TimeNs, TimeError> {
        let nano = naive.nanosecond();
        // A leap second (nanoseconds past one second) is left to chrono.
        let start = (nano < 1_000_000_000)
            .then(|| naive.with_second(0).and_then(|n| n.with_nanosecond(0)))
            .flatten();
        let into_minute = i64::from(naive.second()) * NS_PER_SEC + i64::from(nano);
        if let (Some(start), Some((cached, base))) = (start, self.minute)
            && cached == start
            && self.zone == zone
            && let Some(t) = base.checked_add(into_minute)
        {
            return Ok(t);
        }
        let t = convert(naive, true)?;
        if let Some(start) = start {
            let last = start.with_second(59);
            let linear = match (convert(&start, false), last.map(|l| convert(&l, false))) {
                (Ok(a), Some(Ok(b))) => {
                    (b - a == 59 * NS_PER_SEC && t - a == into_minute).then_some(a)
                }
                _ => None,
            };
            self.minute = linear.map(|a| (start, a));
            self.zone.clear();
            self.zone.push_str(zone);
        }
        Ok(t)
    }
}

/// The last ISO 8601 timestamp's minute as written (`YYYY-MM-DDTHH:MM`), its zone text and its
/// UTC start, kept when that minute converts linearly. A line of the same minute and zone text
/// then costs reading its seconds: what [`split_iso`] and a [`MinuteCache`] hit would give.
#[derive(Debug, Clone, Default)]
pub struct IsoMinute {
    minute: Option<([u8; 16], TimeNs)>,
    zone: String,
}

impl IsoMinute {
    /// `s` to UTC when it is written in the remembered minute and zone.
    pub fn get(&self, s: &str) -> Option<TimeNs> {
        let (prefix, base) = self.minute.as_ref()?;
        // The minute, `:` and the seconds' two digits; every compare below is inlined (a
        // timestamp is read on every line).
        let (head, rest) = s.as_bytes().split_first_chunk::<19>()?;
        if head.first_chunk::<16>() != Some(prefix) || head[16] != b':' {
            return None;
        }
        let sec = digits(head, 17, 2).filter(|s| *s < 60)?;
        let (nano, zone) = match rest.split_first() {
            Some((b'.' | b',', fraction)) => {
                // One pass: the first nine digits are kept (the rest is below a nanosecond).
                let (mut ns, mut n) = (0u32, 0);
                while let Some(&c) = fraction.get(n)
                    && c.is_ascii_digit()
                {
                    if n < 9 {
                        ns = ns * 10 + u32::from(c - b'0');
                    }
                    n += 1;
                }
                if n == 0 {
                    return None;
                }
                (ns * POW10[9 - n.min(9)], &fraction[n..])
            }
            _ => (0, rest),
        };
        let same_zone = zone == self.zone.as_bytes();
        same_zone.then(|| base + i64::from(sec) * NS_PER_SEC + i64::from(nano))
    }

    /// Remembers the minute of `s` (written as [`split_iso`] read it into `naive` and `zone`)
    /// when `minute` (the cache's last linear minute) is the minute of `naive`.
    pub fn remember(
        &mut self,
        s: &str,
        naive: &NaiveDateTime,
        zone: &str,
        minute: Option<(NaiveDateTime, TimeNs)>,
    ) {
        self.minute = None;
        let b = s.as_bytes();
        // Only text that `split_iso` reads as written (no surrounding blanks).
        if !b.first().is_some_and(u8::is_ascii_digit) || s.trim_end().len() != s.len() {
            return;
        }
        let start = naive.with_second(0).and_then(|n| n.with_nanosecond(0));
        if let (Some(prefix), Some(start), Some((cached, base))) = (b.get(..16), start, minute)
            && cached == start
            && let Ok(prefix) = <[u8; 16]>::try_from(prefix)
        {
            self.minute = Some((prefix, base));
            self.zone.clear();
            self.zone.push_str(zone);
        }
    }
}

/// The last Common Log Format time's minute as written (`15/Oct/2023:15:00`), what followed
/// it as its zone, and its UTC start: a time of the same minute and zone text is read from its
/// seconds, as [`parse_clf`] would read it (a fixed offset or UTC: always linear).
#[derive(Debug, Clone, Default)]
pub struct ClfMinute {
    minute: Option<([u8; 17], TimeNs)>,
    zone: Option<String>,
}

impl ClfMinute {
    /// Splits `s` into its minute text, seconds and nanoseconds, and zone (what [`parse_clf`]
    /// reads there), or `None` for a leap second or anything unusual.
    fn split(s: &str) -> Option<(&[u8], u32, u32, Option<&str>)> {
        let (local, zone) = match s.split_once(' ') {
            Some((l, z)) => (l, Some(z)),
            None => (s, None),
        };
        let b = local.as_bytes();
        if b.len() < 20 || b[17] != b':' {
            return None;
        }
        let sec = digits(b, 18, 2).filter(|s| *s < 60)?;
        let nano = match b.get(20) {
            None => 0,
            Some(b'.' | b',') => fraction_ns(&b[21..])?,
            Some(_) => return None,
        };
        Some((&b[..17], sec, nano, zone))
    }

    /// `s` to UTC when it is written in the remembered minute and zone.
    pub fn get(&self, s: &str) -> Option<TimeNs> {
        let (prefix, base) = self.minute.as_ref()?;
        let (minute, sec, nano, zone) = Self::split(s)?;
        (minute == prefix && zone == self.zone.as_deref())
            .then(|| base + i64::from(sec) * NS_PER_SEC + i64::from(nano))
    }

    /// Remembers the minute of `s`, which [`parse_clf`] read as `t`.
    pub fn remember(&mut self, s: &str, t: TimeNs) {
        self.minute = None;
        if let Some((minute, sec, nano, zone)) = Self::split(s)
            && let Ok(prefix) = <[u8; 17]>::try_from(minute)
        {
            self.minute = Some((prefix, t - i64::from(sec) * NS_PER_SEC - i64::from(nano)));
            self.zone = zone.map(str::to_string);
        }
    }
}

/// Parses the Common Log Format time `15/Oct/2023:15:00:00 -0400` (HAProxy adds milliseconds:
/// `25/Feb/2019:16:19:48.143`, and may leave the offset out, then `assume_tz` applies).
pub fn parse_clf(s: &str) -> Result<TimeNs, TimeError> {
    parse_clf_in(s, chrono_tz::UTC)
}

/// As [`parse_clf`], with the zone for a time written without an offset.
pub fn parse_clf_in(s: &str, tz: Tz) -> Result<TimeNs, TimeError> {
    let (local, zone) = match s.split_once(' ') {
        Some((l, z)) => (l, Some(z)),
        None => (s, None),
    };
    let b = local.as_bytes();
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return Err(TimeError::Malformed);
    }
    let day = digits(b, 0, 2).ok_or(TimeError::Malformed)?;
    let month = month_number(&local[3..6]).ok_or(TimeError::Malformed)?;
    let year = digits(b, 7, 4).ok_or(TimeError::Malformed)?;
    let clock = parse_clock(&local[12..]).ok_or(TimeError::Malformed)?;
    let naive = NaiveDate::from_ymd_opt(year as i32, month, day)
        .ok_or(TimeError::Malformed)?
        .and_time(clock);
    match zone {
        Some(z) => {
            let offset = parse_numeric_offset(z).ok_or(TimeError::Malformed)?;
            fixed_local_to_utc(&naive, offset)
        }
        None => local_to_utc(&naive, tz),
    }
}

/// Nanoseconds per unit of an epoch value of this magnitude (seconds, milliseconds,
/// microseconds or nanoseconds; valid for dates between 1973 and 2286 in every unit).
fn epoch_unit(magnitude: f64) -> i64 {
    if magnitude < 1e11 {
        NS_PER_SEC
    } else if magnitude < 1e14 {
        1_000_000
    } else if magnitude < 1e17 {
        1_000
    } else {
        1
    }
}

/// Seconds, milliseconds, microseconds or nanoseconds since the epoch, told apart by magnitude.
/// The whole and fractional parts are scaled apart, so `1697396401.204` stays .204 s.
pub fn epoch_by_magnitude(value: f64) -> Result<TimeNs, TimeError> {
    if !value.is_finite() || value <= 0.0 || value >= 9.2e18 {
        return Err(TimeError::OutOfRange);
    }
    let unit = epoch_unit(value);
    let whole = value.trunc();
    // A float of seconds holds about microseconds at today's magnitude: round there, so
    // 1697396401.204 is .204000 s and not .203999996 s.
    let step = (unit / 1_000_000).max(1);
    let fraction = ((value - whole) * (unit / step) as f64).round() as i64 * step;
    (whole as i64)
        .checked_mul(unit)
        .and_then(|ns| ns.checked_add(fraction))
        .ok_or(TimeError::OutOfRange)
}

/// A whole epoch number (seconds, ms, µs or ns by magnitude), exactly.
pub fn epoch_from_int(value: i64) -> Result<TimeNs, TimeError> {
    if value <= 0 {
        return Err(TimeError::OutOfRange);
    }
    value
        .checked_mul(epoch_unit(value as f64))
        .ok_or(TimeError::OutOfRange)
}

/// An epoch written as decimal text (`1697396401.204131`), exactly; unit by magnitude.
pub fn parse_epoch_text(s: &str) -> Result<TimeNs, TimeError> {
    let s = s.trim();
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 19
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(TimeError::Malformed);
    }
    let whole: i64 = whole.parse().map_err(|_| TimeError::OutOfRange)?;
    if whole <= 0 {
        return Err(TimeError::OutOfRange);
    }
    let unit = epoch_unit(whole as f64);
    // Digits of the fraction that still mean something at nanosecond resolution.
    let digits = unit.ilog10() as usize;
    let mut frac_ns = 0i64;
    for i in 0..digits {
        let d = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        frac_ns = frac_ns * 10 + d;
    }
    whole
        .checked_mul(unit)
        .and_then(|ns| ns.checked_add(frac_ns))
        .ok_or(TimeError::OutOfRange)
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
    /// Every second of a stretch through the cache and straight through the zone rules.
    fn cache_agrees(
        zone: &str,
        ctx: &TimeContext,
        from: NaiveDateTime,
        seconds: i64,
        step_ns: i64,
    ) {
        let mut cache = MinuteCache::default();
        let mut notes = TimeNotes::default();
        for i in 0..seconds {
            let t = from + chrono::Duration::nanoseconds(i * step_ns);
            let direct = zone_to_utc(&t, zone, ctx, None);
            let cached = cache.to_utc(&t, zone, |n, noted| {
                zone_to_utc(n, zone, ctx, noted.then_some(&mut notes))
            });
            assert_eq!(cached, direct, "{t} {zone}");
        }
    }

    #[test]
    fn minute_cache_agrees_through_transitions() {
        let ny = TimeContext {
            assume_tz: chrono_tz::America::New_York,
        };
        let at = |s: &str| parse_naive(s).unwrap();
        // Spring forward (a skipped hour), fall back (a repeated one), in the assumed zone.
        cache_agrees("", &ny, at("2023-03-12 01:58:00"), 4 * 3600, 250_000_000);
        cache_agrees("", &ny, at("2023-11-05 00:58:00"), 3 * 3600, 999_000_000);
        // The end of local mean time at an odd second (12:03:58 LMT, 1883).
        cache_agrees("", &ny, at("1883-11-18 11:58:00"), 1200, NS_PER_SEC);
        // Abbreviations and offsets, and a zone name.
        for zone in [
            "EDT",
            "EST",
            "CST",
            "-04:00",
            "+0530",
            "Z",
            "America/Chicago",
        ] {
            cache_agrees(zone, &ny, at("2023-11-05 00:59:30"), 7300, 1_000_000_001);
        }
        // Out of range at the far end of the nanosecond clock.
        cache_agrees("", &ny, at("2262-04-11 19:45:00"), 300, NS_PER_SEC);
    }

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
    fn plausible_times_are_1990_to_2099() {
        let at = |s: &str| parse_iso(s, &TimeContext::default()).unwrap();
        assert!(!is_plausible(at("1970-01-01T00:00:00Z")));
        assert!(!is_plausible(at("1989-12-31T23:59:59Z")));
        assert!(is_plausible(at("1990-01-01T00:00:00Z")));
        assert!(is_plausible(at("2023-10-15T19:00:00Z")));
        assert!(is_plausible(at("2099-12-31T23:59:59Z")));
        assert!(!is_plausible(at("2100-01-01T00:00:00Z")));
        // Past 2262 nanoseconds since 1970 no longer fit: the parse itself refuses.
        assert!(parse_iso("2999-12-31T23:59:59Z", &TimeContext::default()).is_err());
    }

    #[test]
    fn malformed_text_is_an_error_not_a_panic() {
        for bad in [
            "2023-10-15T15:00:0é",
            "2023-10-15 15:00:00é",
            "20é3-10-15 15:00:00",
            "",
            "2023-13-45 25:61:61",
        ] {
            assert!(parse_iso(bad, &ctx()).is_err(), "{bad}");
        }
        assert!(parse_clock("1é:00:00").is_none());
        assert!(parse_clf("15/Oé/2023:15:00:00 -0400").is_err());
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
        assert_eq!(
            format_utc(epoch_by_magnitude(1_697_396_401.204).unwrap()),
            "2023-10-15T19:00:01.204Z"
        );
        assert_eq!(
            parse_epoch_text("1697396401.204131").unwrap(),
            1_697_396_401_204_131_000
        );
        assert_eq!(
            parse_epoch_text("1697396401204").unwrap(),
            1_697_396_401_204_000_000
        );
        assert!(parse_epoch_text("12ab").is_err());
    }

    #[test]
    fn yearless_times() {
        let t = |s: &str| parse_syslog_date(s).unwrap();
        let at = |s: &str| parse_iso(s, &ctx()).unwrap();
        let utc = chrono_tz::UTC;
        // From a reference time: the latest year not (much) after it.
        let anchor = at("2024-01-05T00:00:00Z");
        assert_eq!(
            format_utc(yearless_to_utc(&t("Dec 31 23:59:58"), anchor, utc).unwrap()),
            "2023-12-31T23:59:58Z"
        );
        assert_eq!(
            format_utc(yearless_to_utc(&t("Jan  2 08:00:00"), anchor, utc).unwrap()),
            "2024-01-02T08:00:00Z"
        );
        // From the line before: the nearest year, across New Year and over weeks.
        let prev = at("2023-12-31T23:59:58Z");
        assert_eq!(
            format_utc(yearless_near(&t("Jan  1 00:00:03"), prev, utc).unwrap()),
            "2024-01-01T00:00:03Z"
        );
        let prev = at("2026-06-14T15:16:01Z");
        assert_eq!(
            format_utc(yearless_near(&t("Jul 27 14:42:00"), prev, utc).unwrap()),
            "2026-07-27T14:42:00Z"
        );
        // Feb 29 only exists in leap years.
        assert_eq!(
            format_utc(
                yearless_to_utc(&t("Feb 29 12:00:00"), at("2025-03-01T00:00:00Z"), utc).unwrap()
            ),
            "2024-02-29T12:00:00Z"
        );
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
