//! Makes the inputs of the speed benchmark (`benches/run.sh`): one day of a mixed incident — an
//! auth service's JSON lines, its nginx access log, its PostgreSQL stderr log and Alertmanager
//! webhooks — with traffic scaled so the files add up to a given size, written plain and gzipped.
//!
//! `cargo run --release --example bench_input -- /tmp/retrace-bench/1g --gib 1`
//!
//! The story is the reference incident's (a `DROP TABLE sessions` at 14:59:50 New York time; 80 %
//! of the users fail from 15:00 to 17:00 until a restore), stretched over 24 hours. A bigger size
//! means more traffic on the same day (a bigger fleet), not a longer day. Seeded: the same
//! arguments give the same bytes.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::TimeZone;
use chrono_tz::America::New_York;
use chrono_tz::Tz;
use clap::Parser;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use retrace::scenario::{LocalDay, MS_PER_SEC, Ms, RateCurve, Zipf, lognormal, poisson};

#[derive(Parser, Debug)]
#[command(about = "Write the big mixed incident the speed benchmark reads")]
struct Args {
    /// Output folder (gets `plain/` and `gz/`).
    dir: PathBuf,
    /// Total size of the plain files, in GiB (fractions allowed).
    #[arg(long, default_value_t = 1.0)]
    gib: f64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Skip the gzipped copy.
    #[arg(long)]
    no_gzip: bool,
}

const TZ: Tz = New_York;
const POPULATION: usize = 400_000;
const ZIPF_EXPONENT: f64 = 0.6;
/// Share of users whose requests touch the dropped table.
const AFFECTED_PERCENT: u64 = 80;

const APP_FILE: &str = "app/auth.jsonl";
const WEB_FILE: &str = "web/access.log";
const DB_FILE: &str = "db/postgresql.log";
const ALERT_FILE: &str = "alerts/alertmanager.jsonl";

/// The routes of the service: path, method, share of traffic (per mille), what the app says.
const ROUTES: &[(&str, &str, u32, &str, &str)] = &[
    (
        "POST",
        "/api/v1/login",
        300,
        "login succeeded",
        "login failed",
    ),
    (
        "GET",
        "/api/v1/session",
        300,
        "session valid",
        "session check failed",
    ),
    (
        "POST",
        "/api/v1/token/refresh",
        200,
        "token refreshed",
        "token refresh failed",
    ),
    (
        "GET",
        "/api/v1/users/{id}/profile",
        150,
        "profile served",
        "profile failed",
    ),
    (
        "POST",
        "/api/v1/logout",
        50,
        "logout succeeded",
        "logout failed",
    ),
];

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "okhttp/4.11.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Safari/605.1.15",
    "auth-sdk-python/3.2.1",
];

/// The instants of the story (local 2023-10-15).
struct Story {
    start: Ms,
    end: Ms,
    drop: Ms,
    outage_start: Ms,
    outage_end: Ms,
}

impl Story {
    fn new() -> Result<Story> {
        let day = LocalDay::new(TZ, 2023, 10, 15)?;
        let next = LocalDay::new(TZ, 2023, 10, 16)?;
        Ok(Story {
            start: day.at(0, 0, 0, 0)?,
            end: next.at(0, 0, 0, 0)?,
            drop: day.at(14, 59, 50, 412)?,
            outage_start: day.at(15, 0, 0, 0)?,
            outage_end: day.at(17, 0, 0, 0)?,
        })
    }

    fn in_outage(&self, t: Ms) -> bool {
        (self.outage_start..self.outage_end).contains(&t)
    }
}

/// Time stamps of one second, formatted once (each file writes its own layout).
struct SecondStamps {
    second: i64,
    /// `2023-10-15T15:00:01` and `-04:00`.
    iso: String,
    offset: String,
    /// `15/Oct/2023:15:00:01 -0400`
    clf: String,
    /// `2023-10-15 15:00:01` and ` EDT`.
    pg: String,
    zone: String,
}

impl SecondStamps {
    fn new() -> SecondStamps {
        SecondStamps {
            second: i64::MIN,
            iso: String::new(),
            offset: String::new(),
            clf: String::new(),
            pg: String::new(),
            zone: String::new(),
        }
    }

    fn at(&mut self, ms: Ms) -> Result<u32> {
        let second = ms.div_euclid(MS_PER_SEC);
        if second != self.second {
            let t = TZ
                .timestamp_millis_opt(second * MS_PER_SEC)
                .single()
                .context("time out of range")?;
            self.second = second;
            self.iso = t.format("%Y-%m-%dT%H:%M:%S").to_string();
            self.offset = t.format("%:z").to_string();
            self.clf = t.format("%d/%b/%Y:%H:%M:%S %z").to_string();
            self.pg = t.format("%Y-%m-%d %H:%M:%S").to_string();
            self.zone = t.format("%Z").to_string();
        }
        Ok(ms.rem_euclid(MS_PER_SEC) as u32)
    }
}

/// The four files being written, with what they have written so far.
struct Outputs {
    app: BufWriter<File>,
    web: BufWriter<File>,
    db: BufWriter<File>,
    alerts: BufWriter<File>,
    bytes: u64,
    line: String,
}

impl Outputs {
    fn create(dir: &Path) -> Result<Outputs> {
        let open = |relative: &str| -> Result<BufWriter<File>> {
            let path = dir.join(relative);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let file =
                File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            Ok(BufWriter::with_capacity(1 << 20, file))
        };
        Ok(Outputs {
            app: open(APP_FILE)?,
            web: open(WEB_FILE)?,
            db: open(DB_FILE)?,
            alerts: open(ALERT_FILE)?,
            bytes: 0,
            line: String::with_capacity(1024),
        })
    }

    /// Writes the line built in `self.line` to one of the files.
    fn emit(&mut self, which: Which) -> Result<()> {
        self.line.push('\n');
        self.bytes += self.line.len() as u64;
        let out = match which {
            Which::App => &mut self.app,
            Which::Web => &mut self.web,
            Which::Db => &mut self.db,
            Which::Alerts => &mut self.alerts,
        };
        out.write_all(self.line.as_bytes())
            .context("writing a bench input")?;
        self.line.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        for out in [&mut self.app, &mut self.web, &mut self.db, &mut self.alerts] {
            out.flush().context("flushing a bench input")?;
        }
        Ok(self.bytes)
    }
}

#[derive(Clone, Copy)]
enum Which {
    App,
    Web,
    Db,
    Alerts,
}

/// A fixed per-user hash (splitmix64), so a user keeps their address and their fate.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn client_ip(user: usize) -> String {
    let h = mix(user as u64);
    let octet = |shift: u32| (h >> shift) & 0xff;
    format!(
        "{}.{}.{}.{}",
        [23, 71, 98, 107, 172, 174, 203][(h % 7) as usize],
        octet(8),
        octet(16),
        octet(24).max(1)
    )
}

/// The daily traffic shape (relative): quiet at night, busiest in the afternoon.
fn day_curve() -> RateCurve {
    RateCurve::new(&[
        (0.0, 0.45),
        (300.0, 0.3),
        (480.0, 0.9),
        (720.0, 1.3),
        (900.0, 1.4),
        (1140.0, 1.1),
        (1320.0, 0.7),
        (1440.0, 0.45),
    ])
}

struct Generator {
    story: Story,
    curve: RateCurve,
    /// Requests per minute at a curve value of 1.
    scale: f64,
    zipf: Zipf,
    rng: ChaCha8Rng,
    stamps: SecondStamps,
    pids: Vec<u32>,
}

impl Generator {
    fn request(&mut self, out: &mut Outputs, t: Ms) -> Result<()> {
        let user = self.zipf.sample(&mut self.rng);
        let roll = self.rng.random_range(0..1000u32);
        let mut acc = 0;
        let route = ROUTES
            .iter()
            .find(|r| {
                acc += r.2;
                roll < acc
            })
            .unwrap_or(&ROUTES[0]);
        let (method, template, _, ok_message, failed_message) = *route;
        let affected = mix(user as u64 ^ 0x5e55) % 100 < AFFECTED_PERCENT;
        // Logging out does not read the sessions table.
        let outage = self.story.in_outage(t) && affected && template != "/api/v1/logout";
        let status: u16 = if outage {
            500
        } else {
            match self.rng.random_range(0..10_000u32) {
                0..=9 => 500,
                10..=59 => 404,
                60..=299 if template == "/api/v1/login" => 401,
                _ => 200,
            }
        };
        let path = template.replace("{id}", &format!("{}", 10_000 + user));
        let latency = if outage {
            lognormal(&mut self.rng, 4.0, 0.4)
        } else {
            lognormal(&mut self.rng, 35.0, 0.6)
        };
        let request_id: u64 = self.rng.random();
        let ip = client_ip(user);
        let ms = self.stamps.at(t)?;
        let s = &self.stamps;

        // The application's line.
        let (level, message, error) = match status {
            500 if outage => (
                "error",
                format!("{failed_message}: relation \\\"sessions\\\" does not exist"),
                Some("pq: relation \\\"sessions\\\" does not exist"),
            ),
            500 => (
                "error",
                format!("{failed_message}: query timeout"),
                Some("pq: canceling statement due to statement timeout"),
            ),
            401 => ("warn", "login rejected: bad password".to_string(), None),
            404 => ("info", "not found".to_string(), None),
            _ => ("info", ok_message.to_string(), None),
        };
        let line = &mut out.line;
        let _ = write!(
            line,
            r#"{{"timestamp":"{}.{ms:03}{}","level":"{level}","service":"auth-service","message":"{message}","user_id":"u-{user:06}","request_id":"{request_id:016x}","method":"{method}","path":"{path}","status":{status},"latency_ms":{latency:.1},"client_ip":"{ip}""#,
            s.iso, s.offset
        );
        if let Some(error) = error {
            let _ = write!(line, r#","error":"{error}""#);
        }
        line.push('}');
        out.emit(Which::App)?;

        // The proxy's line, a millisecond later (second precision in the log).
        let agent = AGENTS[(mix(user as u64) % AGENTS.len() as u64) as usize];
        let bytes = if status == 200 { 200 + user % 700 } else { 87 };
        let _ = write!(
            out.line,
            r#"{ip} - - [{}] "{method} {path} HTTP/1.1" {status} {bytes} "-" "{agent}" {:.3}"#,
            s.clf,
            (latency + 1.0) / 1000.0
        );
        out.emit(Which::Web)?;

        // The database: most requests' statements are logged with their duration; the failing
        // ones as an error with the statement joined below it.
        let pid = self.pids[(request_id % self.pids.len() as u64) as usize];
        if outage {
            let _ = write!(
                out.line,
                "{}.{ms:03} {} [{pid}] auth_app@auth ERROR:  relation \"sessions\" does not exist at character 31",
                s.pg, s.zone
            );
            out.emit(Which::Db)?;
            let _ = write!(
                out.line,
                "{}.{ms:03} {} [{pid}] auth_app@auth STATEMENT:  SELECT user_id, expires_at FROM sessions WHERE token = $1",
                s.pg, s.zone
            );
            out.emit(Which::Db)?;
        } else if request_id % 10 < 4 {
            let _ = write!(
                out.line,
                "{}.{ms:03} {} [{pid}] auth_app@auth LOG:  duration: {:.3} ms  statement: SELECT user_id, expires_at FROM sessions WHERE token = $1",
                s.pg,
                s.zone,
                latency / 8.0
            );
            out.emit(Which::Db)?;
        }
        Ok(())
    }

    /// Lines that do not come from requests: probes, checkpoints, vacuums, the DBA's session.
    fn background(&mut self, out: &mut Outputs, second: i64) -> Result<()> {
        let t = second * MS_PER_SEC;
        let ms = self.stamps.at(t + 3)?;
        let s = &self.stamps;
        if second % 10 == 0 {
            let _ = write!(
                out.line,
                r#"10.0.1.14 - - [{}] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.27" 0.001"#,
                s.clf
            );
            out.emit(Which::Web)?;
        }
        if second % 300 == 0 {
            let _ = write!(
                out.line,
                "{}.{ms:03} {} [611] LOG:  checkpoint starting: time",
                s.pg, s.zone
            );
            out.emit(Which::Db)?;
            let _ = write!(
                out.line,
                "{}.{ms:03} {} [611] LOG:  checkpoint complete: wrote {} buffers ({}.{}%); 0 WAL file(s) added, 0 removed, 1 recycled; write=26.915 s, sync=0.004 s, total=26.933 s",
                s.pg,
                s.zone,
                200 + second % 300,
                second % 7,
                second % 10
            );
            out.emit(Which::Db)?;
        }
        if second % 600 == 120 {
            let pid = 40_000 + (second / 600) % 20_000;
            let _ = write!(
                out.line,
                "{}.{ms:03} {} [{pid}] LOG:  automatic vacuum of table \"auth.public.sessions\": index scans: 1",
                s.pg, s.zone
            );
            out.emit(Which::Db)?;
            for detail in [
                "\tpages: 0 removed, 2361 remain, 472 scanned (19.99% of total)",
                "\ttuples: 8131 removed, 141660 remain, 0 are dead but not yet removable",
                "\tremovable cutoff: 7529460, which was 3 XIDs old when operation ended",
            ] {
                out.line.push_str(detail);
                out.emit(Which::Db)?;
            }
        }
        if second * MS_PER_SEC == self.story.drop - self.story.drop % MS_PER_SEC {
            let ms = self.stamps.at(self.story.drop)?;
            let s = &self.stamps;
            let _ = write!(
                out.line,
                "{}.{ms:03} {} [48713] dba_maria@auth LOG:  statement: DROP TABLE sessions;",
                s.pg, s.zone
            );
            out.emit(Which::Db)?;
        }
        if second * MS_PER_SEC == self.story.outage_end - 1000 {
            let ms = self.stamps.at(t + 3)?;
            let s = &self.stamps;
            let _ = write!(
                out.line,
                "{}.{ms:03} {} [50112] dba_maria@auth LOG:  statement: COMMIT; -- pg_restore of sessions",
                s.pg, s.zone
            );
            out.emit(Which::Db)?;
        }
        Ok(())
    }

    fn run(&mut self, out: &mut Outputs, stop_after_bytes: Option<u64>) -> Result<u64> {
        let mut requests = 0u64;
        let mut offsets: Vec<Ms> = Vec::new();
        let first_second = self.story.start / MS_PER_SEC;
        let last_second = self.story.end / MS_PER_SEC;
        for second in first_second..last_second {
            let minute = (second - first_second) as f64 / 60.0;
            let per_second = self.curve.per_minute(minute) * self.scale / 60.0;
            let n = poisson(&mut self.rng, per_second);
            offsets.clear();
            offsets.extend((0..n).map(|_| self.rng.random_range(0..MS_PER_SEC)));
            offsets.sort_unstable();
            self.background(out, second)?;
            for &offset in &offsets {
                self.request(out, second * MS_PER_SEC + offset)?;
                requests += 1;
            }
            if stop_after_bytes.is_some_and(|b| out.bytes >= b) {
                break;
            }
        }
        Ok(requests)
    }
}

fn alerts(out: &mut Outputs, story: &Story) -> Result<()> {
    let iso = |ms: Ms| -> Result<String> {
        Ok(retrace::scenario::utc(ms)?.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    let firing_at = story.outage_start + 150_500;
    let resolved_at = story.outage_end + 185_250;
    let payload = |status: &str,
                   name: &str,
                   severity: &str,
                   summary: &str,
                   starts: &str,
                   ends: &str,
                   fp: &str| {
        format!(
            r#"{{"receiver":"pagerduty","status":"{status}","alerts":[{{"status":"{status}","labels":{{"alertname":"{name}","service":"auth-service","severity":"{severity}"}},"annotations":{{"summary":"{summary}"}},"startsAt":"{starts}","endsAt":"{ends}","fingerprint":"{fp}"}}],"groupLabels":{{"alertname":"{name}"}},"commonLabels":{{"alertname":"{name}","service":"auth-service","severity":"{severity}"}},"externalURL":"http://alertmanager.monitoring.svc:9093","version":"4","groupKey":"{{}}:{{alertname=\"{name}\"}}","truncatedAlerts":0}}"#
        )
    };
    let zero = "0001-01-01T00:00:00Z";
    let disk = story.start + 3 * 3_600_000 + 12_345;
    for line in [
        payload(
            "firing",
            "DiskSpaceLow",
            "warning",
            "Disk space low on logs-01:/var/log",
            &iso(disk)?,
            zero,
            "cad7ad9b9a2bca6a",
        ),
        payload(
            "resolved",
            "DiskSpaceLow",
            "warning",
            "Disk space low on logs-01:/var/log",
            &iso(disk)?,
            &iso(disk + 1_800_000)?,
            "cad7ad9b9a2bca6a",
        ),
        payload(
            "firing",
            "AuthErrorRateHigh",
            "critical",
            "Auth error rate above 5%",
            &iso(firing_at)?,
            zero,
            "4f1c2a9e77d0b311",
        ),
        payload(
            "resolved",
            "AuthErrorRateHigh",
            "critical",
            "Auth error rate above 5%",
            &iso(firing_at)?,
            &iso(resolved_at)?,
            "4f1c2a9e77d0b311",
        ),
    ] {
        out.line.push_str(&line);
        out.emit(Which::Alerts)?;
    }
    Ok(())
}

fn generator(seed: u64, scale: f64) -> Result<Generator> {
    Ok(Generator {
        story: Story::new()?,
        curve: day_curve(),
        scale,
        zipf: Zipf::new(POPULATION, ZIPF_EXPONENT),
        rng: ChaCha8Rng::seed_from_u64(seed),
        stamps: SecondStamps::new(),
        pids: (0..40).map(|i| 48_000 + i * 7).collect(),
    })
}

/// Gzips every file of `plain` into `gz` (one thread per file), byte-stable (mtime 0, no name).
fn gzip_tree(plain: &Path, gz: &Path) -> Result<()> {
    let files = [APP_FILE, WEB_FILE, DB_FILE, ALERT_FILE];
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .iter()
            .map(|relative| {
                scope.spawn(move || -> Result<()> {
                    let from = plain.join(relative);
                    let to = gz.join(format!("{relative}.gz"));
                    if let Some(parent) = to.parent() {
                        fs::create_dir_all(parent)?;
                    }
                    let mut input = BufReader::with_capacity(1 << 20, File::open(&from)?);
                    let output = BufWriter::with_capacity(1 << 20, File::create(&to)?);
                    let mut encoder = flate2::GzBuilder::new()
                        .mtime(0)
                        .write(output, flate2::Compression::default());
                    std::io::copy(&mut input, &mut encoder)
                        .with_context(|| format!("gzipping {}", from.display()))?;
                    encoder.finish()?.flush()?;
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(r) => r?,
                Err(_) => bail!("a gzip thread failed"),
            }
        }
        Ok(())
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.gib.is_nan() || args.gib <= 0.0 {
        bail!("--gib must be positive");
    }
    let target = (args.gib * (1u64 << 30) as f64) as u64;
    // A pilot run on a scratch folder measures the bytes per request at this traffic shape.
    let scratch = tempfile::tempdir().context("creating a scratch folder")?;
    let pilot_scale = 600.0;
    let mut pilot_out = Outputs::create(scratch.path())?;
    let mut pilot = generator(args.seed, pilot_scale)?;
    let pilot_requests = pilot.run(&mut pilot_out, Some(32 << 20))?;
    let pilot_bytes = pilot_out.finish()?;
    let per_request = pilot_bytes as f64 / pilot_requests.max(1) as f64;
    let expected_at_one = day_curve().expected_total(24 * 60);
    let scale = target as f64 / per_request / expected_at_one;

    let plain = args.dir.join("plain");
    let mut out = Outputs::create(&plain)?;
    let mut generator = generator(args.seed, scale)?;
    let requests = generator.run(&mut out, None)?;
    alerts(&mut out, &generator.story)?;
    let bytes = out.finish()?;
    eprintln!(
        "{}: {requests} requests, {:.2} GiB ({:.0} requests/minute at the daily mean)",
        plain.display(),
        bytes as f64 / (1u64 << 30) as f64,
        scale * expected_at_one / 1440.0
    );
    if !args.no_gzip {
        let gz = args.dir.join("gz");
        gzip_tree(&plain, &gz)?;
        eprintln!("{}: gzipped copies written", gz.display());
    }
    Ok(())
}
