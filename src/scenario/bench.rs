//! Benchmark scenarios: one seed gives a folder of raw logs (formats and zones drawn at random)
//! and the truth about it, for measuring detection and impact on hundreds of incidents and calm
//! days (`examples/accuracy.rs`).
//!
//! What varies is what real incidents vary: traffic from ~5 to ~10,000 requests a minute with a
//! daily shape; a background failure rate of 0–5 % with honest noise (per-minute overdispersion
//! and single bad minutes); outages from 2 minutes to 6 hours that are partial (a share of the
//! users, or one endpoint), total (requests vanish, or the web tier answers 502/503/504 while the
//! app is silent), gradual, flapping, two in a day, still open when the logs end or begun before
//! they start; calm days with traffic spikes, deploys, a short error blip and unrelated alerts;
//! sources that disagree (clock skew up to ±30 s, a missing source, no user field).
//!
//! The truth is measured on what was written, by the definitions of ARCHITECTURE.md: a window
//! runs from the first to the last failing request the fault caused (to the second); users and
//! requests are counted on the stream the window is measured on (the service's app log, or the
//! web tier when the app is silent or absent). That stream's file keeps the true clock; the skew
//! is applied to the other files (no tool can see a clock error in its only request source).
//!
//! Seeds divisible by 3 are calm days, so any run of consecutive seeds is a third calm.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::{
    JsonLine, MS_PER_MIN, MS_PER_SEC, Ms, Zipf, gzip_stable, hex, lognormal, nginx_time_local,
    poisson, postgres_time, rfc3339_local_ms, rfc3339_utc_ms, uuid_v4, write_output,
};
use crate::detect::DetectConfig;
use crate::event::{NS_PER_SEC, SourceKind};
use crate::pipeline::{AnalysisOptions, analyse};

/// The file the truth is written to (ingestion skips it).
pub const TRUTH_FILE: &str = "expected.json";

// ---------------------------------------------------------------------------------------------
// Formats.

/// Every log layout the generator can write, to its public description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Generic JSON lines: `timestamp` (RFC 3339 with offset), `level`, `message`, `user_id`...
    JsonPlain,
    /// Uber zap's production encoder: `ts` epoch seconds, `caller`, `msg`.
    JsonZap,
    /// pino / pino-http: numeric `level`, `time` epoch ms, `req`/`res` objects, `responseTime`.
    JsonPino,
    /// Elastic Common Schema (ecs-logging): `@timestamp`, `log.level`, nested `http`, `url`.
    JsonEcs,
    /// logfmt (`key=value`, quoted when needed), as Go's log/slog TextHandler and Heroku write.
    Logfmt,
    /// nginx `combined`.
    NginxCombined,
    /// nginx `combined` with `$request_time` appended.
    NginxTimed,
    /// Apache `common` (`%h %l %u %t "%r" %>s %b`).
    ApacheCommon,
    /// Apache `combined` with `%D` (microseconds) appended.
    ApacheCombinedMicros,
    /// PostgreSQL stderr with `log_line_prefix = '%m [%p] '`.
    PostgresStderr,
    /// MySQL 8 general query log.
    MysqlGeneral,
    /// Prometheus Alertmanager webhook payloads (version 4), one per line.
    Alertmanager,
    /// Grafana unified-alerting webhook payloads, one per line.
    GrafanaWebhook,
    /// PagerDuty v3 webhook events, one per line.
    PagerDuty,
    /// Opsgenie outgoing webhook payloads, one per line.
    Opsgenie,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::JsonPlain => "json-plain",
            Format::JsonZap => "json-zap",
            Format::JsonPino => "json-pino",
            Format::JsonEcs => "json-ecs",
            Format::Logfmt => "logfmt",
            Format::NginxCombined => "nginx-combined",
            Format::NginxTimed => "nginx-timed",
            Format::ApacheCommon => "apache-common",
            Format::ApacheCombinedMicros => "apache-combined-micros",
            Format::PostgresStderr => "postgres-stderr",
            Format::MysqlGeneral => "mysql-general",
            Format::Alertmanager => "alertmanager",
            Format::GrafanaWebhook => "grafana-webhook",
            Format::PagerDuty => "pagerduty",
            Format::Opsgenie => "opsgenie",
        }
    }

    const APP: &[Format] = &[
        Format::JsonPlain,
        Format::JsonZap,
        Format::JsonPino,
        Format::JsonEcs,
        Format::Logfmt,
    ];
    const WEB: &[Format] = &[
        Format::NginxCombined,
        Format::NginxTimed,
        Format::ApacheCommon,
        Format::ApacheCombinedMicros,
    ];
    const DB: &[Format] = &[Format::PostgresStderr, Format::MysqlGeneral];
    const ALERT: &[Format] = &[Format::Alertmanager, Format::GrafanaWebhook];
    const PAGE: &[Format] = &[Format::PagerDuty, Format::Opsgenie];

    /// Whether this layout writes the client address (stands in when there is no user field).
    fn has_client(self) -> bool {
        self != Format::JsonPino
    }
}

/// Zones the services log in.
const ZONES: &[Tz] = &[
    chrono_tz::UTC,
    chrono_tz::America::New_York,
    chrono_tz::America::Los_Angeles,
    chrono_tz::Europe::Berlin,
    chrono_tz::Europe::London,
    chrono_tz::Asia::Tokyo,
    chrono_tz::Australia::Sydney,
];

// ---------------------------------------------------------------------------------------------
// The truth.

/// A change that started an outage, as a reader would find it.
#[derive(Debug, Clone, Serialize)]
pub struct TruthCause {
    pub time: String,
    #[serde(skip)]
    pub time_ms: Ms,
    /// Text the change's log line contains.
    pub marker: String,
    /// The file it is written to.
    pub file: String,
}

/// One outage as generated and measured.
#[derive(Debug, Clone, Serialize)]
pub struct TruthOutage {
    pub shape: &'static str,
    pub service: String,
    pub start: String,
    pub end: String,
    #[serde(skip)]
    pub start_ms: Ms,
    #[serde(skip)]
    pub end_ms: Ms,
    pub open_at_end: bool,
    pub began_before_logs: bool,
    /// The stream the window and impact are measured on: `app` or `web`.
    pub measured_on: &'static str,
    /// Failing requests the fault caused (for vanished requests: how many were expected).
    pub fault_requests: u64,
    pub users_active: u64,
    pub users_affected: u64,
    /// None where nothing is observable (requests vanished).
    pub users_affected_pct: Option<f64>,
    pub requests_total: u64,
    pub requests_failed: u64,
    pub requests_failed_pct: Option<f64>,
    pub cause: Option<TruthCause>,
}

/// One file written.
#[derive(Debug, Clone, Serialize)]
pub struct TruthFile {
    pub path: String,
    pub format: Format,
    pub zone: String,
    pub skew_seconds: f64,
    pub lines: u64,
}

/// Everything known about a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub seed: u64,
    pub calm: bool,
    /// What was drawn, in words (`partial-users 35% 2h; skew; no web log`).
    pub description: String,
    pub log_start: String,
    pub log_end: String,
    pub requests_per_minute: f64,
    pub background_error_rate: f64,
    pub user_field: bool,
    pub files: Vec<TruthFile>,
    pub outages: Vec<TruthOutage>,
}

/// A generated scenario: files (path relative to the folder, bytes) and the truth.
#[derive(Debug)]
pub struct Scenario {
    pub files: Vec<(String, Vec<u8>)>,
    pub truth: Truth,
}

impl Scenario {
    /// Writes the files and `expected.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        for (path, bytes) in &self.files {
            write_output(dir, path, bytes)?;
        }
        let mut json = serde_json::to_string_pretty(&self.truth).context("serializing truth")?;
        json.push('\n');
        write_output(dir, TRUTH_FILE, json.as_bytes())
    }
}

/// Which layouts may be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatChoice {
    /// Only those retrace recognises today (checked on sample lines at run time).
    Recognised,
    /// Every layout the generator knows.
    All,
}

// ---------------------------------------------------------------------------------------------
// The plan: what happens on the day.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A fixed share of the service's users fail every request.
    PartialUsers,
    /// One endpoint fails (all or most of its requests).
    PartialEndpoint,
    /// Every request of the service fails (app answers 500).
    AppTotal,
    /// The service stops answering: no request reaches any log.
    Vanish,
    /// The app is down and silent; the web tier answers 502/503/504.
    WebOnly,
    /// The failure probability ramps up over 20 minutes, then holds.
    Gradual,
    /// Failing for 1–3 minutes, fine for 1–3 minutes, repeatedly.
    Flapping,
}

impl Shape {
    fn as_str(self) -> &'static str {
        match self {
            Shape::PartialUsers => "partial-users",
            Shape::PartialEndpoint => "partial-endpoint",
            Shape::AppTotal => "total-app-500",
            Shape::Vanish => "total-vanish",
            Shape::WebOnly => "total-web-5xx-silent-app",
            Shape::Gradual => "gradual",
            Shape::Flapping => "flapping",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CauseKind {
    Ddl,
    Deploy,
    Config,
}

#[derive(Debug, Clone)]
struct Fault {
    shape: Shape,
    service: usize,
    start: Ms,
    end: Ms,
    /// Share of users (or of the endpoint's requests, or the ramp's top) that fail.
    share: f64,
    endpoint: usize,
    /// Failing stretches for flapping (else the whole span).
    on: Vec<(Ms, Ms)>,
    cause: CauseKind,
    cause_at: Ms,
    /// The table a DDL cause drops.
    table: &'static str,
    version: String,
    salt: u64,
}

impl Fault {
    fn active(&self, t: Ms) -> bool {
        t >= self.start && t < self.end && self.on.iter().any(|&(a, b)| t >= a && t < b)
    }

    fn user_hit(&self, user: u32) -> bool {
        unit_hash(u64::from(user) ^ self.salt) < self.share
    }

    fn error_text(&self) -> String {
        match self.cause {
            CauseKind::Ddl => format!("pq: relation \"{}\" does not exist", self.table),
            CauseKind::Deploy => {
                "runtime error: invalid memory address or nil pointer dereference".to_string()
            }
            CauseKind::Config => "upstream connect error: connection pool exhausted".to_string(),
        }
    }
}

/// A stable uniform number in [0, 1) from a key (splitmix64).
fn unit_hash(key: u64) -> f64 {
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

struct Service {
    name: &'static str,
    weight: f64,
    endpoints: Vec<(&'static str, &'static str, f64)>,
}

/// A service's endpoints: (method, path, share of its requests).
type Endpoints = &'static [(&'static str, &'static str, f64)];

const SERVICES: &[(&str, Endpoints)] = &[
    (
        "auth-service",
        &[
            ("POST", "/api/v1/login", 0.6),
            ("POST", "/api/v1/token/refresh", 0.3),
            ("GET", "/api/v1/me", 0.1),
        ],
    ),
    (
        "checkout",
        &[
            ("GET", "/api/cart", 0.45),
            ("POST", "/api/cart/items", 0.25),
            ("POST", "/api/checkout", 0.1),
            ("GET", "/api/orders/{id}", 0.2),
        ],
    ),
    (
        "search-api",
        &[
            ("GET", "/search", 0.7),
            ("GET", "/suggest", 0.25),
            ("GET", "/search/facets", 0.05),
        ],
    ),
    (
        "payments",
        &[
            ("POST", "/v2/charges", 0.5),
            ("GET", "/v2/charges/{id}", 0.35),
            ("POST", "/v2/refunds", 0.15),
        ],
    ),
    (
        "catalog",
        &[
            ("GET", "/products/{id}", 0.6),
            ("GET", "/categories", 0.3),
            ("PUT", "/products/{id}", 0.1),
        ],
    ),
];

const TABLES: &[&str] = &[
    "sessions",
    "orders",
    "payments",
    "carts",
    "inventory",
    "profiles",
];

/// One request as answered.
#[derive(Debug, Clone, Copy)]
struct Req {
    /// True time the response left the app.
    t: Ms,
    user: u32,
    service: u8,
    endpoint: u8,
    status: u16,
    latency_ms: f32,
    /// 1-based index of the fault that failed it; 0 for none.
    fault: u8,
    /// Whether the app logged it (it is silent while down).
    in_app: bool,
}

struct Day {
    seed: u64,
    calm: bool,
    tz: Tz,
    log_start: Ms,
    log_end: Ms,
    rate: f64,
    /// Daily-shape amplitude and the local hour of the peak.
    amplitude: f64,
    peak_hour: f64,
    bg_rate: f64,
    /// Lognormal sigma of the per-minute background rate (overdispersion).
    bg_sigma: f64,
    services: Vec<Service>,
    population: usize,
    user_field: bool,
    /// Traffic spikes: (start, end, factor).
    spikes: Vec<(Ms, Ms, f64)>,
    /// Short error blips: (start, end, failure probability).
    blips: Vec<(Ms, Ms, f64)>,
    /// Deploy restarts: (service, start, end) — the app answers nothing, the web tier 502s.
    restarts: Vec<(usize, Ms, Ms)>,
    faults: Vec<Fault>,
    /// Unrelated changes: (time, file kind, text).
    decoys: Vec<(Ms, SourceKind, String)>,
    has_app: bool,
    has_web: bool,
    has_db: bool,
    has_alerts: bool,
    has_pages: bool,
    words: Vec<String>,
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

fn log_uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

fn round_ms_to_sec(ms: Ms) -> Ms {
    ms - ms.rem_euclid(MS_PER_SEC)
}

fn plan(seed: u64, rng: &mut ChaCha8Rng) -> Day {
    let calm = seed.is_multiple_of(3);
    let tz = pick(rng, ZONES);
    // A day in 2023–2024, starting on a random minute in the local morning-to-evening.
    let day0: Ms = 1_672_531_200_000 + rng.random_range(0..700) * 86_400_000;
    let log_start = day0 + rng.random_range(0..24 * 60) * MS_PER_MIN;
    let rate = log_uniform(rng, 5.0, 10_000.0);
    // Keep a scenario near 100k requests so 200 of them run in minutes on two cores.
    let span_min = (100_000.0 / rate).clamp(60.0, 720.0) as i64;
    let log_end = log_start + span_min * MS_PER_MIN;
    let service_count = match rng.random::<f64>() {
        x if x < 0.6 => 1,
        x if x < 0.85 => 2,
        _ => 3,
    };
    let mut names: Vec<usize> = (0..SERVICES.len()).collect();
    let mut services = Vec::new();
    for i in 0..service_count {
        let k = rng.random_range(0..names.len());
        let (name, endpoints) = SERVICES[names.remove(k)];
        services.push(Service {
            name,
            weight: if i == 0 {
                1.0
            } else {
                rng.random_range(0.2..0.9)
            },
            endpoints: endpoints.to_vec(),
        });
    }
    let total_weight: f64 = services.iter().map(|s| s.weight).sum();
    for s in &mut services {
        s.weight /= total_weight;
    }
    let mut words = Vec::new();
    let has_app = rng.random_bool(0.92);
    let has_web = !has_app || rng.random_bool(0.75);
    let has_db = rng.random_bool(0.8);
    let has_alerts = rng.random_bool(0.75);
    let has_pages = rng.random_bool(0.7);
    for (present, what) in [
        (has_app, "no app log"),
        (has_web, "no web log"),
        (has_db, "no db log"),
        (has_alerts, "no alerts"),
        (has_pages, "no paging"),
    ] {
        if !present {
            words.push(what.to_string());
        }
    }
    let user_field = rng.random_bool(0.8);
    if !user_field {
        words.push("no user field".into());
    }
    let mut day = Day {
        seed,
        calm,
        tz,
        log_start,
        log_end,
        rate,
        amplitude: rng.random_range(0.2..0.6),
        peak_hour: rng.random_range(11.0..20.0),
        bg_rate: if rng.random_bool(0.15) {
            0.0
        } else {
            rng.random_range(0.0005..0.05)
        },
        bg_sigma: rng.random_range(0.1..0.5),
        services,
        population: (rate * 30.0).clamp(40.0, 150_000.0) as usize,
        user_field,
        spikes: Vec::new(),
        blips: Vec::new(),
        restarts: Vec::new(),
        faults: Vec::new(),
        decoys: Vec::new(),
        has_app,
        has_web,
        has_db,
        has_alerts,
        has_pages,
        words,
    };
    let span = log_end - log_start;
    // Calm-day events, on every day (outage days have their distractions too).
    for _ in 0..rng.random_range(0..3) {
        let start = log_start + rng.random_range(0..span);
        let len = rng.random_range(5..30) * MS_PER_MIN;
        day.spikes
            .push((start, start + len, rng.random_range(2.0..5.0)));
        day.words.push("traffic spike".into());
    }
    if calm || rng.random_bool(0.3) {
        for _ in 0..rng.random_range(1..3) {
            let start = log_start + rng.random_range(0..span);
            let len = rng.random_range(8..50) * MS_PER_SEC;
            day.blips
                .push((start, start + len, rng.random_range(0.2..1.0)));
            day.words.push("error blip".into());
        }
    }
    if calm || rng.random_bool(0.3) {
        let start = log_start + rng.random_range(0..span);
        let service = rng.random_range(0..day.services.len());
        let len = rng.random_range(5..40) * MS_PER_SEC;
        day.restarts.push((service, start, start + len));
        let version = format!(
            "{}.{}.{}",
            rng.random_range(1..4),
            rng.random_range(0..30),
            rng.random_range(0..10)
        );
        day.decoys.push((
            start - rng.random_range(2_000..20_000),
            SourceKind::App,
            format!("deployed {} version {version}", day.services[service].name),
        ));
        day.words.push("deploy".into());
    }
    for _ in 0..rng.random_range(0..3) {
        let at = log_start + rng.random_range(0..span);
        let table = pick(rng, TABLES);
        day.decoys.push((
            at,
            SourceKind::Db,
            format!("CREATE INDEX CONCURRENTLY {table}_created_at_idx ON {table} (created_at)"),
        ));
    }
    if !calm {
        plan_faults(&mut day, rng);
    }
    day
}

fn plan_faults(day: &mut Day, rng: &mut ChaCha8Rng) {
    let span = day.log_end - day.log_start;
    // Two outages need room for calm data around each.
    let two = span >= 240 * MS_PER_MIN && rng.random_bool(0.15);
    let count = if two { 2 } else { 1 };
    // Edge cases, one per day at most.
    let edge = rng.random::<f64>();
    let open_at_end = edge < 0.1;
    let began_before = (0.1..0.2).contains(&edge);
    let slot = span / count as i64;
    for i in 0..count {
        let shape = loop {
            let s = match rng.random::<f64>() {
                x if x < 0.3 => Shape::PartialUsers,
                x if x < 0.45 => Shape::PartialEndpoint,
                x if x < 0.52 => Shape::AppTotal,
                x if x < 0.62 => Shape::Vanish,
                x if x < 0.72 => Shape::WebOnly,
                x if x < 0.86 => Shape::Gradual,
                _ => Shape::Flapping,
            };
            let ok = match s {
                Shape::WebOnly => day.has_web,
                // Silence at either end of the logs looks like the logs ending.
                Shape::Vanish => !open_at_end && !began_before,
                _ => true,
            };
            if ok {
                break s;
            }
        };
        // 2 minutes to 6 hours, log-uniform, leaving calm data around it.
        let room = (slot - 50 * MS_PER_MIN).max(4 * MS_PER_MIN);
        let max_len = room.min(6 * 60 * MS_PER_MIN) as f64;
        let mut len = log_uniform(
            rng,
            2.0 * MS_PER_MIN as f64,
            max_len.max(2.5 * MS_PER_MIN as f64),
        ) as Ms;
        if shape == Shape::Gradual {
            len = len.max(25 * MS_PER_MIN).min(slot - 10 * MS_PER_MIN);
        }
        if shape == Shape::Flapping {
            len = len.max(10 * MS_PER_MIN).min(slot - 10 * MS_PER_MIN);
        }
        let slot_start = day.log_start + slot * i as i64;
        let mut start = slot_start
            + 25 * MS_PER_MIN
            + rng.random_range(0..(slot - len - 40 * MS_PER_MIN).max(1));
        let mut end = start + len;
        if open_at_end && i == count - 1 {
            end = day.log_end + rng.random_range(1..30) * MS_PER_MIN;
            start = (day.log_end - len).max(slot_start + 25 * MS_PER_MIN);
        }
        if began_before && i == 0 {
            start = day.log_start - rng.random_range(1..30) * MS_PER_MIN;
            end = (start + len).max(day.log_start + 3 * MS_PER_MIN);
        }
        let start = start + rng.random_range(0..MS_PER_MIN);
        let service = if rng.random_bool(0.75) {
            0
        } else {
            rng.random_range(0..day.services.len())
        };
        let share = match shape {
            Shape::PartialUsers | Shape::Flapping => log_uniform(rng, 0.05, 1.0),
            Shape::PartialEndpoint => rng.random_range(0.5..1.0),
            Shape::Gradual => rng.random_range(0.3..1.0),
            _ => 1.0,
        };
        let mut on = vec![(start, end)];
        if shape == Shape::Flapping {
            on.clear();
            let mut t = start;
            while t < end {
                let up = rng.random_range(60..180) * MS_PER_SEC;
                on.push((t, (t + up).min(end)));
                t += up + rng.random_range(60..180) * MS_PER_SEC;
            }
        }
        let end = on.last().map_or(end, |&(_, b)| b);
        let cause = match shape {
            Shape::Vanish | Shape::WebOnly => {
                if rng.random_bool(0.6) {
                    CauseKind::Deploy
                } else {
                    CauseKind::Config
                }
            }
            _ => match rng.random::<f64>() {
                x if x < 0.45 => CauseKind::Ddl,
                x if x < 0.8 => CauseKind::Deploy,
                _ => CauseKind::Config,
            },
        };
        let endpoints = &day.services[service].endpoints;
        let fault = Fault {
            shape,
            service,
            start,
            end,
            share,
            endpoint: rng.random_range(0..endpoints.len()),
            on,
            cause,
            cause_at: start - rng.random_range(3_000..6 * MS_PER_MIN),
            table: pick(rng, TABLES),
            version: format!(
                "{}.{}.{}",
                rng.random_range(1..5),
                rng.random_range(0..40),
                rng.random_range(0..10)
            ),
            salt: rng.random(),
        };
        let mut word = format!(
            "{} {:.0}% {} min on {}",
            shape.as_str(),
            share * 100.0,
            (end - start) / MS_PER_MIN,
            day.services[service].name
        );
        if open_at_end && i == count - 1 {
            word.push_str(" open at end");
        }
        if began_before && i == 0 {
            word.push_str(" begun before logs");
        }
        day.words.push(word);
        day.faults.push(fault);
    }
}

// ---------------------------------------------------------------------------------------------
// Simulation.

impl Day {
    fn expected_rate(&self, t: Ms) -> f64 {
        let local_hour = DateTime::<Utc>::from_timestamp_millis(t)
            .map(|d| {
                let l = d.with_timezone(&self.tz);
                f64::from(l.hour()) + f64::from(l.minute()) / 60.0
            })
            .unwrap_or(12.0);
        let phase = (local_hour - self.peak_hour) / 24.0 * std::f64::consts::TAU;
        let daily = 1.0 + self.amplitude * phase.cos();
        let spike: f64 = self
            .spikes
            .iter()
            .filter(|(a, b, _)| t >= *a && t < *b)
            .map(|(_, _, f)| *f)
            .fold(1.0, f64::max);
        self.rate * daily * spike
    }
}

fn simulate(day: &Day, rng: &mut ChaCha8Rng) -> Vec<Req> {
    let zipf = Zipf::new(day.population, 0.8);
    let mut out = Vec::new();
    let mut burst_last = false;
    let mut minute = day.log_start;
    while minute < day.log_end {
        let count = poisson(rng, day.expected_rate(minute + MS_PER_MIN / 2));
        // Honest noise: each minute's background rate wanders; now and then one minute is
        // bad (never two in a row: a burst of several bad minutes is an outage).
        // The wander is bounded (×0.5–1.6) so that two neighbouring minutes never add up to
        // what an outage looks like.
        let mut bg = day.bg_rate * lognormal(rng, 1.0, day.bg_sigma).clamp(0.5, 1.6);
        let burst = !burst_last && rng.random_bool(0.02);
        if burst {
            bg = (bg * rng.random_range(2.0..3.0)).max(0.01);
        }
        burst_last = burst;
        for _ in 0..count {
            let arrival = minute + rng.random_range(0..MS_PER_MIN);
            let user = zipf.sample(rng) as u32;
            let roll: f64 = rng.random();
            let mut acc = 0.0;
            let mut service = day.services.len() - 1;
            for (i, s) in day.services.iter().enumerate() {
                acc += s.weight;
                if roll < acc {
                    service = i;
                    break;
                }
            }
            let eps = &day.services[service].endpoints;
            let roll: f64 = rng.random();
            let mut acc = 0.0;
            let mut endpoint = eps.len() - 1;
            for (i, e) in eps.iter().enumerate() {
                acc += e.2;
                if roll < acc {
                    endpoint = i;
                    break;
                }
            }
            let latency = lognormal(rng, 25.0, 0.6).max(0.3);
            let t = arrival + latency as Ms;
            let mut req = Req {
                t,
                user,
                service: service as u8,
                endpoint: endpoint as u8,
                status: 200,
                latency_ms: latency as f32,
                fault: 0,
                in_app: true,
            };
            if rng.random_bool(0.03) {
                req.status = pick(rng, &[400, 401, 404, 429]);
            }
            if rng.random_bool(bg.min(1.0)) {
                req.status = pick(rng, &[500, 500, 503]);
            }
            if let Some(&(_, _, p)) = day.blips.iter().find(|(a, b, _)| t >= *a && t < *b)
                && rng.random_bool(p)
            {
                req.status = 500;
            }
            if day
                .restarts
                .iter()
                .any(|&(s, a, b)| s == service && t >= a && t < b)
            {
                req.status = 502;
                req.in_app = false;
            }
            let mut vanished = false;
            for (k, f) in day.faults.iter().enumerate() {
                if f.service != service || !f.active(t) {
                    continue;
                }
                let hit = match f.shape {
                    Shape::PartialUsers | Shape::Flapping => f.user_hit(user),
                    Shape::PartialEndpoint => endpoint == f.endpoint && rng.random_bool(f.share),
                    Shape::AppTotal => true,
                    Shape::Vanish => {
                        vanished = true;
                        false
                    }
                    Shape::WebOnly => {
                        req.status = pick(rng, &[502, 503, 504]);
                        req.in_app = false;
                        req.fault = (k + 1) as u8;
                        false
                    }
                    Shape::Gradual => {
                        let ramp = ((t - f.start) as f64 / (20 * MS_PER_MIN) as f64).min(1.0);
                        // A user is either affected or not; the affected share ramps up.
                        unit_hash(u64::from(user) ^ f.salt) < f.share * ramp
                    }
                };
                if hit {
                    req.status = 500;
                    req.fault = (k + 1) as u8;
                }
            }
            if !vanished && t < day.log_end && t >= day.log_start {
                out.push(req);
            }
        }
        minute += MS_PER_MIN;
    }
    out.sort_by_key(|r| (r.t, r.user));
    out
}

// ---------------------------------------------------------------------------------------------
// Recognised formats: checked by running retrace's own detection and parser on sample lines.

fn probe_cache() -> &'static Mutex<BTreeMap<(Format, String), bool>> {
    static CACHE: OnceLock<Mutex<BTreeMap<(Format, String), bool>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// Whether retrace recognises `format` written in `tz`: detection picks a format for a few
/// sample lines and the parse gives back the instant (and the status, for request logs).
pub fn recognised(format: Format, tz: Tz) -> bool {
    let key = (format, tz.name().to_string());
    if let Ok(cache) = probe_cache().lock()
        && let Some(&known) = cache.get(&key)
    {
        return known;
    }
    let ok = probe(format, tz).unwrap_or(false);
    if let Ok(mut cache) = probe_cache().lock() {
        cache.insert(key, ok);
    }
    ok
}

/// Options for analysing a scenario folder with retrace's library: UTC report, one thread, the
/// default detector.
pub fn analysis_options(dir: &Path) -> AnalysisOptions {
    AnalysisOptions {
        paths: vec![dir.to_path_buf()],
        report_tz: chrono_tz::UTC,
        assume_tz: chrono_tz::UTC,
        formats: Vec::new(),
        threads: 1,
        progress: false,
        detect: DetectConfig::default(),
        notes: None,
    }
}

/// Writes a few sample lines in `format` to a temporary folder and runs the whole library on
/// it: recognised means a format was chosen and the record came back at the right instant
/// (as a request with its status, a change, an alert or a page).
fn probe(format: Format, tz: Tz) -> Result<bool> {
    let at: Ms = 1_697_396_401_204;
    let service = Service {
        name: "checkout",
        weight: 1.0,
        endpoints: SERVICES[1].1.to_vec(),
    };
    let req = Req {
        t: at,
        user: 7,
        service: 0,
        endpoint: 1,
        status: 503,
        latency_ms: 12.5,
        fault: 0,
        in_app: true,
    };
    let ctx = ProbeCtx {
        tz,
        services: std::slice::from_ref(&service),
        user_field: true,
    };
    let lines: Vec<String> = match format {
        f if Format::APP.contains(&f) => vec![app_line(f, &ctx, &req, 0)?],
        f if Format::WEB.contains(&f) => vec![web_line(f, &ctx, &req, 0)?],
        Format::PostgresStderr => vec![pg_line(
            at,
            tz,
            4242,
            "LOG",
            "statement: DROP TABLE orders;",
        )?],
        Format::MysqlGeneral => vec![mysql_line(at, 42, "Query", "DROP TABLE orders")?],
        f => {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let state = if matches!(f, Format::PagerDuty | Format::Opsgenie) {
                "triggered"
            } else {
                "firing"
            };
            vec![alert_or_page_line(
                f,
                at,
                state,
                "HighErrorRate",
                "checkout",
                &mut rng,
            )?]
        }
    };
    let path = match format {
        f if Format::WEB.contains(&f) => "web/access.log",
        Format::PostgresStderr => "db/postgresql.log",
        Format::MysqlGeneral => "db/mysql-general.log",
        Format::Alertmanager | Format::GrafanaWebhook => "alerts/alerts.jsonl",
        Format::PagerDuty | Format::Opsgenie => "paging/pages.jsonl",
        _ => "app/service.log",
    };
    let dir = tempfile_dir()?;
    let mut text = String::new();
    for _ in 0..3 {
        for line in &lines {
            text.push_str(line);
            text.push('\n');
        }
    }
    write_output(dir.path(), path, text.as_bytes())?;
    let analysis = analyse(&analysis_options(dir.path()))?;
    let aggregates = &analysis.aggregates;
    let near = |ns: i64, precision: Ms| (ns_to_ms(ns) - at).abs() < precision;
    Ok(match format {
        f if Format::APP.contains(&f) || Format::WEB.contains(&f) => {
            let precision = if Format::WEB.contains(&f) { 1_000 } else { 2 };
            aggregates.streams.values().any(|s| {
                s.seconds
                    .iter()
                    .any(|(sec, c)| c.failed > 0 && near(sec * NS_PER_SEC, precision.max(1_000)))
            }) && aggregates.first.is_some_and(|t| near(t, precision))
        }
        Format::PostgresStderr | Format::MysqlGeneral => {
            aggregates.changes.iter().any(|c| near(c.time, 2))
        }
        Format::Alertmanager | Format::GrafanaWebhook => {
            aggregates.alerts.iter().any(|e| near(e.time, 1_000))
        }
        _ => aggregates.pages.iter().any(|e| near(e.time, 1_000)),
    })
}

/// A temporary folder that removes itself (a private one: the library has no tempfile
/// dependency outside its tests).
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> Result<TempDir> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("retrace-probe-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(TempDir(dir))
}

// ---------------------------------------------------------------------------------------------
// Rendering.

struct ProbeCtx<'a> {
    tz: Tz,
    services: &'a [Service],
    user_field: bool,
}

fn user_id(user: u32) -> String {
    format!("u-{user:06}")
}

/// Every user has one address of their own, so addresses count users exactly.
fn user_ip(user: u32) -> String {
    format!(
        "{}.{}.{}.{}",
        24 + (user >> 16),
        (user >> 8) & 255,
        user & 255,
        7 + (user % 5) * 31
    )
}

fn level_word(status: u16) -> &'static str {
    match status {
        500.. => "error",
        400..=499 => "warn",
        _ => "info",
    }
}

fn path_of(ctx: &ProbeCtx, req: &Req, seq: u64) -> (&'static str, String) {
    let (method, path, _) =
        ctx.services[usize::from(req.service)].endpoints[usize::from(req.endpoint)];
    (
        method,
        path.replace("{id}", &(1000 + seq % 97_000).to_string()),
    )
}

fn message_of(req: &Req, error: Option<&str>) -> String {
    match (req.status, error) {
        (500.., Some(e)) => format!("request failed: {e}"),
        (500.., None) => "request failed: internal error".to_string(),
        _ => "request completed".to_string(),
    }
}

fn app_line(format: Format, ctx: &ProbeCtx, req: &Req, seq: u64) -> Result<String> {
    app_line_with_error(format, ctx, req, seq, None)
}

fn app_line_with_error(
    format: Format,
    ctx: &ProbeCtx,
    req: &Req,
    seq: u64,
    error: Option<&str>,
) -> Result<String> {
    let service = ctx.services[usize::from(req.service)].name;
    let (method, path) = path_of(ctx, req, seq);
    let message = message_of(req, error);
    let level = level_word(req.status);
    let user = ctx.user_field.then(|| user_id(req.user));
    let ip = user_ip(req.user);
    let request_id = format!("{:016x}", seq.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    Ok(match format {
        Format::JsonPlain => {
            let mut line = JsonLine::new()
                .str("timestamp", &rfc3339_local_ms(req.t, ctx.tz)?)
                .str("level", level)
                .str("service", service)
                .str("message", &message);
            if let Some(u) = &user {
                line = line.str("user_id", u);
            }
            line.str("request_id", &request_id)
                .str("method", method)
                .str("path", &path)
                .int("status", i64::from(req.status))
                .float("latency_ms", f64::from(req.latency_ms), 1)
                .str("client_ip", &ip)
                .finish()
        }
        Format::JsonZap => {
            let mut line = JsonLine::new()
                .str("level", level)
                .float("ts", req.t as f64 / 1_000.0, 3)
                .str("caller", "httpserver/handler.go:142")
                .str("msg", &message)
                .str("service", service);
            if let Some(u) = &user {
                line = line.str("user", u);
            }
            line.str("method", method)
                .str("path", &path)
                .int("status", i64::from(req.status))
                .float("duration_ms", f64::from(req.latency_ms), 3)
                .str("remote_addr", &ip)
                .str("request_id", &request_id)
                .finish()
        }
        Format::JsonPino => {
            let level_num = match req.status {
                500.. => 50,
                400..=499 => 40,
                _ => 30,
            };
            // pino-http nests the request and response; serde_json writes them in key order.
            let mut obj = serde_json::Map::new();
            obj.insert("level".into(), level_num.into());
            obj.insert("time".into(), req.t.into());
            obj.insert("pid".into(), 4242.into());
            obj.insert("hostname".into(), format!("{service}-7d9f").into());
            obj.insert("name".into(), service.into());
            obj.insert(
                "req".into(),
                serde_json::json!({"id": request_id, "method": method, "url": path, "remoteAddress": ip}),
            );
            obj.insert("res".into(), serde_json::json!({"statusCode": req.status}));
            obj.insert(
                "responseTime".into(),
                (req.latency_ms.round() as i64).into(),
            );
            if let Some(u) = &user {
                obj.insert("userId".into(), u.clone().into());
            }
            obj.insert("msg".into(), message.into());
            serde_json::to_string(&obj)?
        }
        Format::JsonEcs => {
            let mut obj = serde_json::Map::new();
            obj.insert("@timestamp".into(), rfc3339_utc_ms(req.t)?.into());
            obj.insert("log.level".into(), level.into());
            obj.insert("message".into(), message.into());
            obj.insert("ecs.version".into(), "1.6.0".into());
            obj.insert("service".into(), serde_json::json!({"name": service}));
            obj.insert(
                "http".into(),
                serde_json::json!({"request": {"method": method}, "response": {"status_code": req.status}}),
            );
            obj.insert("url".into(), serde_json::json!({"path": path}));
            obj.insert("client".into(), serde_json::json!({"ip": ip}));
            obj.insert(
                "event".into(),
                serde_json::json!({"duration": (f64::from(req.latency_ms) * 1e6) as i64}),
            );
            if let Some(u) = &user {
                obj.insert("user".into(), serde_json::json!({"id": u}));
            }
            serde_json::to_string(&obj)?
        }
        Format::Logfmt => {
            let mut line = format!(
                "time={} level={} service={service} msg={:?} method={method} path={path} status={} duration={:.1}ms",
                rfc3339_local_ms(req.t, ctx.tz)?,
                level,
                message,
                req.status,
                req.latency_ms
            );
            if let Some(u) = &user {
                let _ = write!(line, " user={u}");
            }
            let _ = write!(line, " client_ip={ip} request_id={request_id}");
            line
        }
        _ => anyhow::bail!("{} is not an app log layout", format.as_str()),
    })
}

/// A line the service writes on its own (deploys, config reloads, jobs).
fn app_note(
    format: Format,
    tz: Tz,
    t: Ms,
    service: &str,
    level: &str,
    message: &str,
) -> Result<String> {
    Ok(match format {
        Format::JsonPlain => JsonLine::new()
            .str("timestamp", &rfc3339_local_ms(t, tz)?)
            .str("level", level)
            .str("service", service)
            .str("message", message)
            .finish(),
        Format::JsonZap => JsonLine::new()
            .str("level", level)
            .float("ts", t as f64 / 1_000.0, 3)
            .str("caller", "main.go:88")
            .str("msg", message)
            .str("service", service)
            .finish(),
        Format::JsonPino => {
            let level_num = if level == "error" { 50 } else { 30 };
            serde_json::to_string(&serde_json::json!({
                "level": level_num, "time": t, "pid": 4242, "hostname": format!("{service}-7d9f"),
                "name": service, "msg": message
            }))?
        }
        Format::JsonEcs => serde_json::to_string(&serde_json::json!({
            "@timestamp": rfc3339_utc_ms(t)?, "log.level": level, "message": message,
            "ecs.version": "1.6.0", "service": {"name": service}
        }))?,
        _ => format!(
            "time={} level={level} service={service} msg={message:?}",
            rfc3339_local_ms(t, tz)?
        ),
    })
}

fn web_line(format: Format, ctx: &ProbeCtx, req: &Req, seq: u64) -> Result<String> {
    let (method, path) = path_of(ctx, req, seq);
    let ip = user_ip(req.user);
    let bytes = if req.status >= 500 {
        157
    } else {
        412 + seq % 300
    };
    let time = nginx_time_local(req.t, ctx.tz)?;
    let agent = if req.user.is_multiple_of(3) {
        "okhttp/4.11.0"
    } else {
        "Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0"
    };
    let head = format!(
        "{ip} - - [{time}] \"{method} {path} HTTP/1.1\" {} {bytes}",
        req.status
    );
    Ok(match format {
        Format::NginxCombined => format!("{head} \"-\" \"{agent}\""),
        Format::NginxTimed => format!(
            "{head} \"-\" \"{agent}\" {:.3}",
            f64::from(req.latency_ms) / 1_000.0
        ),
        Format::ApacheCommon => head,
        Format::ApacheCombinedMicros => format!(
            "{head} \"-\" \"{agent}\" {}",
            (f64::from(req.latency_ms) * 1_000.0) as i64
        ),
        _ => anyhow::bail!("{} is not a web log layout", format.as_str()),
    })
}

fn pg_line(t: Ms, tz: Tz, pid: u32, severity: &str, message: &str) -> Result<String> {
    Ok(format!(
        "{} [{pid}] {severity}:  {message}",
        postgres_time(t, tz)?
    ))
}

/// MySQL's general log: `Time Id Command Argument`, microsecond UTC times.
fn mysql_line(t: Ms, id: u32, command: &str, argument: &str) -> Result<String> {
    let time = super::utc(t)?.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    Ok(format!("{time}\t{id:>7} {command}\t{argument}"))
}

fn iso_secs(t: Ms) -> Result<String> {
    Ok(super::utc(t)?.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// One alerting or paging record. `state` is firing/resolved for alerts, and
/// triggered/acknowledged/resolved for pages.
fn alert_or_page_line(
    format: Format,
    t: Ms,
    state: &str,
    name: &str,
    service: &str,
    rng: &mut ChaCha8Rng,
) -> Result<String> {
    let fingerprint = format!(
        "{:016x}",
        unit_hash(name.len() as u64 ^ (service.len() as u64 * 31)).to_bits()
    );
    let firing = state == "firing";
    Ok(match format {
        Format::Alertmanager | Format::GrafanaWebhook => {
            let starts = iso_secs(t)?;
            let alert = serde_json::json!({
                "status": state,
                "labels": {"alertname": name, "service": service, "severity": if name == "HighErrorRate" {"critical"} else {"warning"}},
                "annotations": {"summary": format!("{name} on {service}")},
                "startsAt": if firing { starts.clone() } else { iso_secs(t - 10 * MS_PER_MIN)? },
                "endsAt": if firing { "0001-01-01T00:00:00Z".to_string() } else { starts },
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": fingerprint,
            });
            let mut body = serde_json::json!({
                "receiver": "oncall",
                "status": state,
                "alerts": [alert],
                "groupLabels": {"alertname": name},
                "commonLabels": {"alertname": name, "service": service},
                "commonAnnotations": {},
                "externalURL": "http://alertmanager:9093",
                "version": "4",
                "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"),
                "truncatedAlerts": 0
            });
            if format == Format::GrafanaWebhook
                && let Some(obj) = body.as_object_mut()
            {
                obj.insert("orgId".into(), 1.into());
                obj.insert(
                    "state".into(),
                    (if firing { "alerting" } else { "ok" }).into(),
                );
                obj.insert(
                    "title".into(),
                    format!("[{}] {name}", if firing { "FIRING:1" } else { "RESOLVED" }).into(),
                );
                obj.insert("message".into(), format!("{name} on {service}").into());
                obj.insert("externalURL".into(), "http://grafana:3000/".into());
            }
            serde_json::to_string(&body)?
        }
        Format::PagerDuty => serde_json::to_string(&serde_json::json!({"event": {
            "id": uuid_v4(rng),
            "event_type": format!("incident.{state}"),
            "resource_type": "incident",
            "occurred_at": iso_secs(t)?,
            "agent": if state == "triggered" { serde_json::Value::Null } else { serde_json::json!({"summary": "On-call Engineer", "type": "user_reference"}) },
            "data": {"id": format!("Q{}", &fingerprint[..6].to_uppercase()), "type": "incident", "title": format!("{name} on {service}"),
                     "status": state, "service": {"summary": service}}
        }}))?,
        Format::Opsgenie => {
            let action = match state {
                "triggered" => "Create",
                "acknowledged" => "Acknowledge",
                _ => "Close",
            };
            serde_json::to_string(&serde_json::json!({
                "action": action,
                "alert": {"alertId": uuid_v4(rng), "message": format!("{name} on {service}"), "tags": [service],
                          "tinyId": "42", "entity": service, "alias": fingerprint, "createdAt": t, "updatedAt": t,
                          "username": "oncall@example.com", "userId": hex(rng, 8)},
                "source": {"name": "", "type": "API"},
                "integrationName": "Alertmanager", "integrationId": hex(rng, 8), "integrationType": "API"
            }))?
        }
        _ => anyhow::bail!("{} is not an alerting layout", format.as_str()),
    })
}

// ---------------------------------------------------------------------------------------------
// The whole scenario.

fn choose(
    rng: &mut ChaCha8Rng,
    from: &[Format],
    tz: Tz,
    choice: FormatChoice,
    filter: impl Fn(Format) -> bool,
) -> Option<Format> {
    let usable: Vec<Format> = from
        .iter()
        .copied()
        .filter(|&f| filter(f) && (choice == FormatChoice::All || recognised(f, tz)))
        .collect();
    (!usable.is_empty()).then(|| pick(rng, &usable))
}

/// Generates the scenario of `seed`.
pub fn generate(seed: u64, choice: FormatChoice) -> Result<Scenario> {
    generate_capped(seed, choice, f64::INFINITY)
}

/// Generates the scenario of `seed` with its traffic capped at `max_rate` requests a minute
/// (everything else as drawn): small enough for fast tests.
pub fn generate_capped(seed: u64, choice: FormatChoice, max_rate: f64) -> Result<Scenario> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_BE4C_0000_0000);
    let mut day = plan(seed, &mut rng);
    day.rate = day.rate.min(max_rate);
    let requests = simulate(&day, &mut rng);

    // Formats and zones. A source retrace cannot read today is left out (and said so).
    let user_field = day.user_field;
    let app_format = if day.has_app {
        choose(&mut rng, Format::APP, day.tz, choice, |f| {
            user_field || f.has_client()
        })
    } else {
        None
    };
    let web_tz = if rng.random_bool(0.5) {
        day.tz
    } else {
        pick(&mut rng, ZONES)
    };
    let web_format = if day.has_web || app_format.is_none() {
        choose(&mut rng, Format::WEB, web_tz, choice, |_| true)
    } else {
        None
    };
    let db_tz = if rng.random_bool(0.5) {
        chrono_tz::UTC
    } else {
        day.tz
    };
    let db_format = if day.has_db {
        choose(&mut rng, Format::DB, db_tz, choice, |_| true)
    } else {
        None
    };
    let alert_format = if day.has_alerts {
        choose(&mut rng, Format::ALERT, chrono_tz::UTC, choice, |_| true)
    } else {
        None
    };
    let page_format = if day.has_pages {
        choose(&mut rng, Format::PAGE, chrono_tz::UTC, choice, |_| true)
    } else {
        None
    };
    day.has_app = app_format.is_some();
    day.has_web = web_format.is_some();
    anyhow::ensure!(
        day.has_app || day.has_web,
        "seed {seed}: no request log layout is recognised"
    );
    // A silent-app outage needs the web tier; without it the requests simply vanish.
    for f in &mut day.faults {
        if f.shape == Shape::WebOnly && !day.has_web {
            f.shape = Shape::Vanish;
        }
    }
    let web_measures =
        |day: &Day| !day.has_app || day.faults.iter().any(|f| f.shape == Shape::WebOnly);
    let skewed = rng.random_bool(0.5);
    let skew = |reference: bool, rng: &mut ChaCha8Rng| -> Ms {
        if skewed && !reference {
            rng.random_range(-30_000..=30_000)
        } else {
            0
        }
    };
    let app_skew = skew(true, &mut rng);
    let web_skew = skew(!day.has_app || web_measures(&day), &mut rng);
    let db_skew = skew(false, &mut rng);
    let alert_skew = skew(false, &mut rng);
    let page_skew = skew(false, &mut rng);
    if skewed {
        day.words.push("clock skew".into());
    }

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut truth_files = Vec::new();
    let mut add_file = |path: &str,
                        format: Format,
                        tz: Tz,
                        skew: Ms,
                        lines: Vec<(Ms, String)>,
                        gzip: bool|
     -> Result<()> {
        let mut lines = lines;
        lines.sort_by_key(|(t, _)| *t);
        let mut text = String::new();
        for (_, line) in &lines {
            text.push_str(line);
            text.push('\n');
        }
        truth_files.push(TruthFile {
            path: path.to_string(),
            format,
            zone: tz.name().to_string(),
            skew_seconds: skew as f64 / 1_000.0,
            lines: lines.len() as u64,
        });
        let bytes = if gzip {
            gzip_stable(text.as_bytes())?
        } else {
            text.into_bytes()
        };
        files.push((path.to_string(), bytes));
        Ok(())
    };
    let ctx = ProbeCtx {
        tz: day.tz,
        services: &day.services,
        user_field,
    };
    let errors: Vec<String> = day.faults.iter().map(Fault::error_text).collect();

    if let Some(format) = app_format {
        let mut lines = Vec::with_capacity(requests.len() + 64);
        for (seq, r) in requests.iter().enumerate() {
            if !r.in_app {
                continue;
            }
            let t = r.t + app_skew;
            let shifted = Req { t, ..*r };
            let error = (r.fault > 0).then(|| errors[usize::from(r.fault) - 1].as_str());
            lines.push((
                t,
                app_line_with_error(format, &ctx, &shifted, seq as u64, error)?,
            ));
        }
        for f in &day.faults {
            let service = day.services[f.service].name;
            let message = match f.cause {
                CauseKind::Deploy => Some(format!("deployed {service} version {}", f.version)),
                CauseKind::Config => Some(format!("{service} config reloaded: pool_size=0")),
                CauseKind::Ddl => None,
            };
            if let Some(m) = message {
                let t = f.cause_at + app_skew;
                lines.push((t, app_note(format, day.tz, t, service, "info", &m)?));
            }
        }
        for (t, kind, text) in &day.decoys {
            if *kind == SourceKind::App {
                let t = t + app_skew;
                lines.push((
                    t,
                    app_note(format, day.tz, t, day.services[0].name, "info", text)?,
                ));
            }
        }
        lines.retain(|(t, _)| *t >= day.log_start + app_skew && *t < day.log_end + app_skew);
        add_file("app/service.log", format, day.tz, app_skew, lines, false)?;
    }
    if let Some(format) = web_format {
        let web_ctx = ProbeCtx {
            tz: web_tz,
            services: &day.services,
            user_field,
        };
        let mut lines = Vec::with_capacity(requests.len() + 64);
        for (seq, r) in requests.iter().enumerate() {
            // nginx logs a moment after the app answered.
            let t = r.t + web_skew + (seq as Ms % 3);
            let shifted = Req { t, ..*r };
            lines.push((t, web_line(format, &web_ctx, &shifted, seq as u64)?));
        }
        // Probes: background traffic the detector must not count.
        let mut t = day.log_start + 1_234;
        while t < day.log_end {
            let probe = format!(
                "10.0.1.14 - - [{}] \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"kube-probe/1.27\"",
                nginx_time_local(t + web_skew, web_tz)?
            );
            lines.push((t + web_skew, probe));
            t += 30 * MS_PER_SEC;
        }
        add_file("web/access.log.gz", format, web_tz, web_skew, lines, true)?;
    }
    if let Some(format) = db_format {
        let mut lines = Vec::new();
        let statement = |t: Ms, sql: &str, lines: &mut Vec<(Ms, String)>| -> Result<()> {
            let t = t + db_skew;
            let line = match format {
                Format::PostgresStderr => pg_line(
                    t,
                    db_tz,
                    51_000 + (t % 900) as u32,
                    "LOG",
                    &format!("statement: {sql};"),
                )?,
                _ => mysql_line(t, 40 + (t % 60) as u32, "Query", sql)?,
            };
            lines.push((t, line));
            Ok(())
        };
        for f in &day.faults {
            if f.cause == CauseKind::Ddl {
                statement(f.cause_at, &format!("DROP TABLE {}", f.table), &mut lines)?;
            }
        }
        for (t, kind, text) in &day.decoys {
            if *kind == SourceKind::Db {
                statement(*t, text, &mut lines)?;
            }
        }
        // Checkpoints every 5 minutes, and the failing statements of a dropped table.
        let mut t = day.log_start + 41_806;
        while t < day.log_end {
            let tt = t + db_skew;
            lines.push((
                tt,
                match format {
                    Format::PostgresStderr => {
                        pg_line(tt, db_tz, 1187, "LOG", "checkpoint starting: time")?
                    }
                    _ => mysql_line(tt, 5, "Query", "SELECT 1")?,
                },
            ));
            t += 5 * MS_PER_MIN;
        }
        if format == Format::PostgresStderr {
            for r in requests.iter().filter(|r| r.fault > 0) {
                let f = &day.faults[usize::from(r.fault) - 1];
                if f.cause == CauseKind::Ddl && r.t % 4 == 0 {
                    let tt = r.t - 2 + db_skew;
                    lines.push((
                        tt,
                        pg_line(
                            tt,
                            db_tz,
                            48_000 + (r.user % 20),
                            "ERROR",
                            &format!("relation \"{}\" does not exist at character 15", f.table),
                        )?,
                    ));
                }
            }
        }
        lines.retain(|(t, _)| *t >= day.log_start + db_skew && *t < day.log_end + db_skew);
        let path = if format == Format::PostgresStderr {
            "db/postgresql.log"
        } else {
            "db/mysql-general.log"
        };
        add_file(path, format, db_tz, db_skew, lines, false)?;
    }
    // Alerts fire a few minutes into an outage (rule with `for: 2m`) and resolve after it.
    let mut alert_times: Vec<(Ms, Ms, String, String)> = Vec::new();
    for f in &day.faults {
        if f.end - f.start >= 4 * MS_PER_MIN {
            let fired = f.start.max(day.log_start) + rng.random_range(2..4) * MS_PER_MIN;
            let resolved = f.end + rng.random_range(1..5) * MS_PER_MIN;
            alert_times.push((
                fired,
                resolved,
                "HighErrorRate".into(),
                day.services[f.service].name.into(),
            ));
        }
    }
    // Unrelated alerts: a disk filling up, latency on a batch host.
    for _ in 0..rng.random_range(1..3) {
        let fired = day.log_start + rng.random_range(0..(day.log_end - day.log_start));
        let resolved = fired + rng.random_range(5..60) * MS_PER_MIN;
        alert_times.push((
            fired,
            resolved,
            pick(
                &mut rng,
                &["DiskSpaceLow", "BatchJobSlow", "CertificateExpiresSoon"],
            )
            .into(),
            "infra".into(),
        ));
    }
    if let Some(format) = alert_format {
        let mut lines = Vec::new();
        for (fired, resolved, name, service) in &alert_times {
            for (t, state) in [(*fired, "firing"), (*resolved, "resolved")] {
                let t = t + alert_skew;
                if t < day.log_end {
                    lines.push((
                        t,
                        alert_or_page_line(format, t, state, name, service, &mut rng)?,
                    ));
                }
            }
        }
        add_file(
            "alerts/alerts.jsonl",
            format,
            chrono_tz::UTC,
            alert_skew,
            lines,
            false,
        )?;
    }
    if let Some(format) = page_format {
        let mut lines = Vec::new();
        for (fired, resolved, name, service) in
            alert_times.iter().filter(|a| a.2 == "HighErrorRate")
        {
            let trig = fired + rng.random_range(20_000..90_000);
            let ack = trig + rng.random_range(1..10) * MS_PER_MIN;
            let res = resolved + rng.random_range(1..10) * MS_PER_MIN;
            for (t, state) in [
                (trig, "triggered"),
                (ack, "acknowledged"),
                (res, "resolved"),
            ] {
                let t = t + page_skew;
                if t < day.log_end {
                    lines.push((
                        t,
                        alert_or_page_line(format, t, state, name, service, &mut rng)?,
                    ));
                }
            }
        }
        add_file(
            "paging/pages.jsonl",
            format,
            chrono_tz::UTC,
            page_skew,
            lines,
            false,
        )?;
    }

    let outages = measure(&day, &requests, app_format, web_format, db_format)?;
    let truth = Truth {
        seed: day.seed,
        calm: day.calm,
        description: day.words.join("; "),
        log_start: rfc3339_utc_ms(day.log_start)?,
        log_end: rfc3339_utc_ms(day.log_end)?,
        requests_per_minute: (day.rate * 10.0).round() / 10.0,
        background_error_rate: (day.bg_rate * 10_000.0).round() / 10_000.0,
        user_field,
        files: truth_files,
        outages,
    };
    Ok(Scenario { files, truth })
}

/// Writes the scenario of `seed` into `dir` (with its truth as `expected.json`).
pub fn write(seed: u64, choice: FormatChoice, dir: &Path) -> Result<Truth> {
    let scenario = generate(seed, choice)?;
    scenario.write(dir)?;
    Ok(scenario.truth)
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// The truth of each fault, measured on the requests as logged.
fn measure(
    day: &Day,
    requests: &[Req],
    app_format: Option<Format>,
    _web_format: Option<Format>,
    db_format: Option<Format>,
) -> Result<Vec<TruthOutage>> {
    let mut out = Vec::new();
    for (k, f) in day.faults.iter().enumerate() {
        let id = (k + 1) as u8;
        let on_web = app_format.is_none() || f.shape == Shape::WebOnly;
        // The stream: the service's app requests, or everything the web tier logged.
        let in_stream = |r: &Req| {
            if on_web {
                true
            } else {
                r.in_app && usize::from(r.service) == f.service
            }
        };
        let (start, end, fault_requests) = if f.shape == Shape::Vanish {
            let start = f.start.max(day.log_start);
            let end = f.end.min(day.log_end);
            let mut expected = 0.0;
            let mut t = start;
            while t < end {
                expected += day.expected_rate(t) * day.services[f.service].weight / 60.0;
                t += MS_PER_SEC;
            }
            (
                round_ms_to_sec(start),
                round_ms_to_sec(end),
                expected.round() as u64,
            )
        } else {
            let caused: Vec<Ms> = requests
                .iter()
                .filter(|r| r.fault == id && in_stream(r))
                .map(|r| r.t)
                .collect();
            let (Some(first), Some(last)) = (caused.first(), caused.last()) else {
                // No request was hurt (tiny traffic): nothing to find.
                continue;
            };
            (
                round_ms_to_sec(*first),
                round_ms_to_sec(*last) + MS_PER_SEC,
                caused.len() as u64,
            )
        };
        let identity = |r: &Req| -> Option<u32> {
            // Users are told apart by id, or by address (one per user); pino writes no address
            // at the top level, so without a user field it leaves them unidentified.
            if on_web || day.user_field || app_format.is_some_and(Format::has_client) {
                Some(r.user)
            } else {
                None
            }
        };
        let inside = requests
            .iter()
            .filter(|r| in_stream(r) && r.t >= start && r.t < end);
        let (mut total, mut failed) = (0u64, 0u64);
        let mut active = BTreeSet::new();
        let mut affected = BTreeSet::new();
        for r in inside {
            total += 1;
            let bad = r.status >= 500;
            failed += u64::from(bad);
            if let Some(u) = identity(r) {
                active.insert(u);
                if bad {
                    affected.insert(u);
                }
            }
        }
        let cause_file = match f.cause {
            CauseKind::Ddl => db_format.map(|d| {
                if d == Format::PostgresStderr {
                    "db/postgresql.log"
                } else {
                    "db/mysql-general.log"
                }
            }),
            _ => app_format.map(|_| "app/service.log"),
        };
        let marker = match f.cause {
            CauseKind::Ddl => format!("DROP TABLE {}", f.table),
            CauseKind::Deploy => format!("version {}", f.version),
            CauseKind::Config => "config reloaded".to_string(),
        };
        let visible_cause = f.cause_at >= day.log_start;
        let (users_pct, requests_pct) = if f.shape == Shape::Vanish {
            (None, None)
        } else {
            (
                pct(affected.len() as u64, active.len() as u64),
                pct(failed, total),
            )
        };
        out.push(TruthOutage {
            shape: f.shape.as_str(),
            service: if on_web {
                String::new()
            } else {
                day.services[f.service].name.to_string()
            },
            start: rfc3339_utc_ms(start)?,
            end: rfc3339_utc_ms(end)?,
            start_ms: start,
            end_ms: end,
            open_at_end: f.end > day.log_end,
            began_before_logs: f.start < day.log_start,
            measured_on: if on_web { "web" } else { "app" },
            fault_requests,
            users_active: active.len() as u64,
            users_affected: affected.len() as u64,
            users_affected_pct: users_pct,
            requests_total: total,
            requests_failed: failed,
            requests_failed_pct: requests_pct,
            cause: match cause_file {
                Some(file) if visible_cause => Some(TruthCause {
                    time: rfc3339_utc_ms(f.cause_at)?,
                    time_ms: f.cause_at,
                    marker,
                    file: file.to_string(),
                }),
                _ => None,
            },
        });
    }
    Ok(out)
}

/// Nanoseconds to scenario milliseconds.
pub fn ns_to_ms(ns: i64) -> Ms {
    ns.div_euclid(NS_PER_SEC / 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() -> Result<()> {
        let a = generate(4, FormatChoice::Recognised)?;
        let b = generate(4, FormatChoice::Recognised)?;
        assert_eq!(a.files, b.files);
        Ok(())
    }

    #[test]
    fn every_layout_renders_and_the_recognised_ones_parse() {
        // The layouts retrace reads today must pass their own probe.
        for f in [
            Format::JsonPlain,
            Format::NginxCombined,
            Format::PostgresStderr,
            Format::Alertmanager,
            Format::PagerDuty,
        ] {
            assert!(recognised(f, chrono_tz::America::New_York), "{f:?}");
        }
        for f in Format::APP.iter().chain(Format::WEB) {
            // Rendering never fails, recognised or not.
            let _ = recognised(*f, chrono_tz::UTC);
        }
    }

    #[test]
    fn calm_days_have_no_outage_and_outage_days_do() -> Result<()> {
        let calm = generate(3, FormatChoice::Recognised)?;
        assert!(calm.truth.calm && calm.truth.outages.is_empty());
        let mut found = 0;
        for seed in [1, 2, 4, 5] {
            let s = generate(seed, FormatChoice::Recognised)?;
            assert!(!s.truth.calm);
            found += s.truth.outages.len();
            for o in &s.truth.outages {
                assert!(o.start_ms < o.end_ms, "{o:?}");
            }
        }
        assert!(found >= 3);
        Ok(())
    }
}
