//! Synthetic incidents: deterministic generators of multi-source outage logs whose truth is known.
//!
//! A scenario is a seeded simulation (users, traffic, faults, people reacting) rendered into the
//! files real systems write. The helpers here are the parts every scenario needs: a local day on
//! the tz database, a traffic model (daily rate curve, Poisson arrivals, Zipf user activity),
//! random identifiers, a JSON-line writer with a fixed key order, per-file line accounting and
//! byte-stable gzip. Nothing reads the wall clock and nothing iterates a hash map, so one seed
//! always gives the same bytes.

pub mod bench;
pub mod reference;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;
use rand::{Rng, RngExt};
use serde::Serialize;

/// Milliseconds since the Unix epoch, UTC: the clock every scenario runs on.
pub type Ms = i64;

pub const MS_PER_SEC: Ms = 1_000;
pub const MS_PER_MIN: Ms = 60_000;

/// One calendar day in one zone; every wall-clock time goes through the tz database.
#[derive(Debug, Clone, Copy)]
pub struct LocalDay {
    pub tz: Tz,
    pub date: NaiveDate,
}

impl LocalDay {
    pub fn new(tz: Tz, year: i32, month: u32, day: u32) -> Result<LocalDay> {
        let date = NaiveDate::from_ymd_opt(year, month, day)
            .with_context(|| format!("invalid scenario date {year}-{month}-{day}"))?;
        Ok(LocalDay { tz, date })
    }

    /// The UTC instant of a local wall-clock time on this day (an error where the time is
    /// skipped or repeated by a DST change: scenarios must not depend on a guess).
    pub fn at(&self, hour: u32, min: u32, sec: u32, milli: u32) -> Result<Ms> {
        let naive = self
            .date
            .and_hms_milli_opt(hour, min, sec, milli)
            .with_context(|| format!("invalid local time {hour}:{min}:{sec}.{milli}"))?;
        let local = self
            .tz
            .from_local_datetime(&naive)
            .single()
            .with_context(|| format!("{naive} is not a single instant in {}", self.tz))?;
        Ok(local.timestamp_millis())
    }
}

/// The instant as a chrono UTC time.
pub fn utc(ms: Ms) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).with_context(|| format!("timestamp {ms} ms out of range"))
}

/// `2023-10-15T19:00:00.123Z`
pub fn rfc3339_utc_ms(ms: Ms) -> Result<String> {
    Ok(utc(ms)?.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// `2023-10-15T19:00:00.123456789Z`, shortest of 0/3/6/9 fraction digits (Go's RFC3339Nano
/// writes the instant exactly; whole milliseconds stay short).
pub fn rfc3339_utc_ns(ms: Ms, sub_ms_ns: u32) -> Result<String> {
    let t = utc(ms)? + chrono::Duration::nanoseconds(i64::from(sub_ms_ns % 1_000_000));
    Ok(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// `2023-10-15T15:00:00.123-04:00`: what loggers configured with a local zone write.
pub fn rfc3339_local_ms(ms: Ms, tz: Tz) -> Result<String> {
    Ok(utc(ms)?
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string())
}

/// nginx `$time_local`: `15/Oct/2023:15:00:00 -0400` (second precision).
pub fn nginx_time_local(ms: Ms, tz: Tz) -> Result<String> {
    Ok(utc(ms)?
        .with_timezone(&tz)
        .format("%d/%b/%Y:%H:%M:%S %z")
        .to_string())
}

/// PostgreSQL `%m`: `2023-10-15 15:00:00.123 EDT` (milliseconds, zone abbreviation).
pub fn postgres_time(ms: Ms, tz: Tz) -> Result<String> {
    Ok(utc(ms)?
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S%.3f %Z")
        .to_string())
}

/// Expected arrivals per minute as a piecewise-linear curve over minutes since the start.
#[derive(Debug, Clone)]
pub struct RateCurve {
    knots: Vec<(f64, f64)>,
}

impl RateCurve {
    /// `knots` are `(minute, requests per minute)`, sorted by minute; flat beyond both ends.
    pub fn new(knots: &[(f64, f64)]) -> RateCurve {
        debug_assert!(knots.windows(2).all(|w| w[0].0 < w[1].0), "knots unsorted");
        RateCurve {
            knots: knots.to_vec(),
        }
    }

    pub fn per_minute(&self, minute: f64) -> f64 {
        let Some(&(first_at, first_rate)) = self.knots.first() else {
            return 0.0;
        };
        if minute <= first_at {
            return first_rate;
        }
        for pair in self.knots.windows(2) {
            let ((t0, r0), (t1, r1)) = (pair[0], pair[1]);
            if minute <= t1 {
                return r0 + (r1 - r0) * (minute - t0) / (t1 - t0);
            }
        }
        self.knots.last().map_or(0.0, |&(_, rate)| rate)
    }

    /// Expected arrivals over whole minutes `0..minutes`, sampled at each minute's middle
    /// (the same points the arrival generator uses).
    pub fn expected_total(&self, minutes: u32) -> f64 {
        (0..minutes)
            .map(|m| self.per_minute(f64::from(m) + 0.5))
            .sum()
    }
}

/// A Poisson-distributed count with mean `lambda` (Knuth's product method, exact for the
/// per-minute rates a scenario uses; a normal approximation above 500 keeps it bounded).
pub fn poisson<R: Rng + ?Sized>(rng: &mut R, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 500.0 {
        let x = lambda + lambda.sqrt() * standard_normal(rng);
        return x.round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut count = 0;
    let mut product: f64 = rng.random();
    while product > limit {
        count += 1;
        product *= rng.random::<f64>();
    }
    count
}

/// A standard normal deviate (Box–Muller; one of the pair is thrown away for simplicity).
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 - u keeps the logarithm's argument in (0, 1].
    let u1 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A log-normal deviate with the given median and shape: latencies have a long right tail.
pub fn lognormal<R: Rng + ?Sized>(rng: &mut R, median: f64, sigma: f64) -> f64 {
    median * (sigma * standard_normal(rng)).exp()
}

/// Ranks `0..n` drawn with weight `1 / (rank + 1)^exponent`: a few users are very active,
/// most show up once or twice.
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    pub fn new(n: usize, exponent: f64) -> Zipf {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|rank| {
                total += 1.0 / ((rank + 1) as f64).powf(exponent);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let target = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= target)
            .min(self.cumulative.len().saturating_sub(1))
    }
}

/// `len` lowercase hex digits.
pub fn hex<R: Rng + ?Sized>(rng: &mut R, len: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    (0..len)
        .map(|_| char::from(DIGITS[rng.random_range(0..16)]))
        .collect()
}

/// A version-4 UUID in its canonical 8-4-4-4-12 form.
pub fn uuid_v4<R: Rng + ?Sized>(rng: &mut R) -> String {
    let variant = char::from(b"89ab"[rng.random_range(0..4)]);
    format!(
        "{}-{}-4{}-{}{}-{}",
        hex(rng, 8),
        hex(rng, 4),
        hex(rng, 3),
        variant,
        hex(rng, 3),
        hex(rng, 12)
    )
}

/// Go's `url.QueryEscape`: what Prometheus does to a rule expression in a `generatorURL`.
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// One JSON object written key by key, so the key order is the order a real logger uses
/// (serde_json's map would sort it).
#[derive(Debug, Default)]
pub struct JsonLine {
    text: String,
}

impl JsonLine {
    pub fn new() -> JsonLine {
        JsonLine {
            text: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        push_json_string(&mut self.text, key);
        self.text.push(':');
    }

    pub fn str(mut self, key: &str, value: &str) -> JsonLine {
        self.key(key);
        push_json_string(&mut self.text, value);
        self
    }

    pub fn int(mut self, key: &str, value: i64) -> JsonLine {
        self.key(key);
        let _ = write!(self.text, "{value}");
        self
    }

    /// A float with at most `decimals` fraction digits, trailing zeros dropped (`12.3`, `40`).
    pub fn float(mut self, key: &str, value: f64, decimals: usize) -> JsonLine {
        self.key(key);
        let fixed = format!("{value:.decimals$}");
        let trimmed = if fixed.contains('.') {
            fixed.trim_end_matches('0').trim_end_matches('.')
        } else {
            fixed.as_str()
        };
        self.text.push_str(trimmed);
        self
    }

    pub fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

fn push_json_string(out: &mut String, value: &str) {
    // serde_json's escaping of a plain string cannot fail.
    match serde_json::to_string(value) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// How a file's lines are meant to be read, as `expected.json` reports them: every line is a
/// record's first line, a continuation joined to the record above, or garbage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LineCounts {
    pub lines: u64,
    pub parsed: u64,
    pub joined: u64,
    pub unparsed: u64,
}

/// A text log being written, counting its lines by kind as they are pushed.
#[derive(Debug, Default)]
pub struct LogText {
    pub text: String,
    pub counts: LineCounts,
}

impl LogText {
    fn push(&mut self, line: &str) {
        debug_assert!(!line.contains('\n'), "a line holds no newline: {line:?}");
        self.text.push_str(line);
        self.text.push('\n');
        self.counts.lines += 1;
    }

    /// The first line of a record.
    pub fn record(&mut self, line: &str) {
        self.push(line);
        self.counts.parsed += 1;
    }

    /// A line that belongs to the record above it (stack trace, tab-indented detail).
    pub fn continuation(&mut self, line: &str) {
        self.push(line);
        self.counts.joined += 1;
    }

    /// A line no parser can read (cut by log rotation, binary junk).
    pub fn garbage(&mut self, line: &str) {
        self.push(line);
        self.counts.unparsed += 1;
    }
}

/// Gzip with no file name and mtime 0, so the bytes depend on the content alone.
pub fn gzip_stable(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).context("gzip: compressing")?;
    encoder.finish().context("gzip: finishing the stream")
}

/// Writes `bytes` to `out_dir/relative`, creating the folders on the way.
pub fn write_output(out_dir: &Path, relative: &str, bytes: &[u8]) -> Result<()> {
    let path = out_dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating folder {}", parent.display()))?;
    }
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn local_day_goes_through_the_tz_database() -> Result<()> {
        let day = LocalDay::new(chrono_tz::America::New_York, 2023, 10, 15)?;
        let t = day.at(15, 0, 0, 123)?;
        assert_eq!(rfc3339_utc_ms(t)?, "2023-10-15T19:00:00.123Z");
        assert_eq!(
            rfc3339_local_ms(t, day.tz)?,
            "2023-10-15T15:00:00.123-04:00"
        );
        assert_eq!(nginx_time_local(t, day.tz)?, "15/Oct/2023:15:00:00 -0400");
        assert_eq!(postgres_time(t, day.tz)?, "2023-10-15 15:00:00.123 EDT");
        assert_eq!(
            rfc3339_utc_ns(t, 456_789)?,
            "2023-10-15T19:00:00.123456789Z"
        );
        assert_eq!(rfc3339_utc_ns(t, 0)?, "2023-10-15T19:00:00.123Z");
        // 02:30 on the spring-forward day does not exist in New York.
        let spring = LocalDay::new(chrono_tz::America::New_York, 2023, 3, 12)?;
        assert!(spring.at(2, 30, 0, 0).is_err());
        Ok(())
    }

    #[test]
    fn rate_curve_interpolates_and_is_flat_outside() {
        let curve = RateCurve::new(&[(0.0, 10.0), (10.0, 30.0), (20.0, 10.0)]);
        assert_eq!(curve.per_minute(-5.0), 10.0);
        assert_eq!(curve.per_minute(5.0), 20.0);
        assert_eq!(curve.per_minute(10.0), 30.0);
        assert_eq!(curve.per_minute(15.0), 20.0);
        assert_eq!(curve.per_minute(99.0), 10.0);
        assert!((curve.expected_total(20) - 400.0).abs() < 1.0);
    }

    #[test]
    fn poisson_mean_and_variance_match_lambda() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for lambda in [0.5, 4.0, 30.0, 150.0] {
            let n = 20_000;
            let draws: Vec<f64> = (0..n)
                .map(|_| f64::from(poisson(&mut rng, lambda)))
                .collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(
                (mean - lambda).abs() < 0.05 * lambda + 0.05,
                "{lambda}: {mean}"
            );
            assert!((var - lambda).abs() < 0.1 * lambda + 0.1, "{lambda}: {var}");
        }
        assert_eq!(poisson(&mut rng, 0.0), 0);
    }

    #[test]
    fn lognormal_median_is_the_median() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let mut draws: Vec<f64> = (0..10_001)
            .map(|_| lognormal(&mut rng, 40.0, 0.5))
            .collect();
        draws.sort_by(f64::total_cmp);
        let median = draws[5_000];
        assert!((median - 40.0).abs() < 2.0, "{median}");
        assert!(draws.iter().all(|&x| x > 0.0));
    }

    #[test]
    fn zipf_favours_low_ranks_and_stays_in_range() {
        let zipf = Zipf::new(100, 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut hits = [0u32; 100];
        for _ in 0..50_000 {
            hits[zipf.sample(&mut rng)] += 1;
        }
        // Weight 1 against 1/10: rank 0 is drawn about ten times as often as rank 9.
        let ratio = f64::from(hits[0]) / f64::from(hits[9]);
        assert!((7.0..14.0).contains(&ratio), "{ratio}");
        assert!(hits[99] > 0);
    }

    #[test]
    fn identifiers_have_their_shapes() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let id = hex(&mut rng, 16);
        assert_eq!(id.len(), 16);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let uuid = uuid_v4(&mut rng);
        let parts: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(
            query_escape(r#"rate(x{code=~"5.."}[5m]) > 0.05"#),
            "rate%28x%7Bcode%3D~%225..%22%7D%5B5m%5D%29+%3E+0.05"
        );
    }

    #[test]
    fn json_line_keeps_key_order_and_escapes() {
        let line = JsonLine::new()
            .str("b", "say \"hi\"\n")
            .int("a", -3)
            .float("c", 12.30, 1)
            .float("d", 40.0, 3)
            .finish();
        assert_eq!(line, r#"{"b":"say \"hi\"\n","a":-3,"c":12.3,"d":40}"#);
    }

    #[test]
    fn log_text_counts_every_line_once() {
        let mut log = LogText::default();
        log.record("a");
        log.continuation("\tb");
        log.garbage("{\"cut");
        log.record("c");
        assert_eq!(
            log.counts,
            LineCounts {
                lines: 4,
                parsed: 2,
                joined: 1,
                unparsed: 1
            }
        );
        assert_eq!(log.text, "a\n\tb\n{\"cut\nc\n");
    }

    #[test]
    fn gzip_is_byte_stable_and_round_trips() -> Result<()> {
        use std::io::Read as _;
        let a = gzip_stable(b"hello\n")?;
        let b = gzip_stable(b"hello\n")?;
        assert_eq!(a, b);
        assert_eq!(&a[4..8], &[0, 0, 0, 0], "mtime is zero");
        let mut back = String::new();
        flate2::read::GzDecoder::new(a.as_slice()).read_to_string(&mut back)?;
        assert_eq!(back, "hello\n");
        Ok(())
    }
}
