//! The bundled reference incident `auth-db-outage`: a DBA drops the `sessions` table under a live auth service; five real-world log files and the truth (`expected.json`) come out of one seeded simulation.
//!
//! The story, in America/New_York time on 2023-10-15 (logs cover 12:00–20:00):
//! - 12:00 a deploy restarts `auth-service`; 12:40 and 13:30 harmless schema changes.
//! - 14:50 the DBA `dba_maria` opens psql, vacuums, purges an archive table, then at
//!   14:59:41 runs `BEGIN;`, at 14:59:50 `DROP TABLE sessions;` and commits at 14:59:59.996.
//!   Requests that reached the table in between wait on her lock and fail at 15:00:00.
//! - 15:00:00.000–17:00:00.000 every request of an *affected* user (~80 %, fixed per user) fails
//!   with 500 `relation "sessions" does not exist`; the others keep working.
//! - Alertmanager fires `AuthErrorRateHigh` (rule evaluated on the simulated requests), PagerDuty
//!   pages, people acknowledge, escalate and annotate; 16:40 `pg_restore --single-transaction`
//!   rebuilds the table and commits so that it is visible at 17:00:00.000.
//!
//! Everything is computed from the seed: no wall clock, no hash-map order. `expected.json` is
//! measured on the generated requests and records, not copied from the story's parameters.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::path::Path;

use anyhow::{Context, Result, ensure};
use chrono_tz::America::New_York;
use chrono_tz::Tz;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::{
    JsonLine, LineCounts, LocalDay, LogText, MS_PER_MIN, MS_PER_SEC, Ms, RateCurve, Zipf,
    gzip_stable, hex, lognormal, nginx_time_local, poisson, postgres_time, query_escape,
    rfc3339_local_ms, rfc3339_utc_ms, rfc3339_utc_ns, uuid_v4, write_output,
};

/// The name the CLI and the fixture folder use.
pub const NAME: &str = "auth-db-outage";

const SEED: u64 = 0x2023_1015_0000_00db;
const TZ: Tz = New_York;
const SERVICE: &str = "auth-service";

/// Users in the population; the Zipf draw leaves some of them unseen over the day.
const POPULATION: usize = 2_200;
const ZIPF_EXPONENT: f64 = 0.7;
/// Share of users whose requests touch the `sessions` table and therefore fail in the outage.
const AFFECTED_SHARE: f64 = 0.8;

const APP_FILE: &str = "app/auth.jsonl";
const WEB_FILE: &str = "web/access.log.gz";
const DB_FILE: &str = "db/postgresql.log";
const ALERT_FILE: &str = "alerts/alertmanager.jsonl";
const PAGE_FILE: &str = "paging/pagerduty.jsonl";
const EXPECTED_FILE: &str = "expected.json";

/// Writes the scenario into `out_dir` (folders are created).
pub fn write(out_dir: &Path) -> Result<()> {
    for (relative, bytes) in generate()? {
        write_output(out_dir, &relative, &bytes)?;
    }
    Ok(())
}

/// Every output file as `(path relative to the scenario folder, bytes)`, in a fixed order.
pub fn generate() -> Result<Vec<(String, Vec<u8>)>> {
    let story = Story::new()?;
    // One rng stream per concern, so that retuning one source does not reshuffle the others.
    let users = build_users(&mut stream(1));
    let requests = simulate(&story, &users, &mut stream(2))?;
    let pool = PidPool::new(&mut stream(3));

    let cleanups = cleanup_runs(&story, &mut stream(9));
    let app = app_log(&story, &users, &requests, &cleanups, &mut stream(4))?;
    let web = web_log(&story, &users, &requests, &mut stream(5))?;
    let db = db_log(&story, &users, &requests, &pool, &cleanups, &mut stream(6))?;
    let alerts = alert_log(&story, &requests, &mut stream(7))?;
    let pages = page_log(&story, &alerts, &mut stream(8))?;

    let mut counts = BTreeMap::new();
    counts.insert(APP_FILE.to_string(), app.text.counts);
    counts.insert(WEB_FILE.to_string(), web.counts);
    counts.insert(DB_FILE.to_string(), db.text.counts);
    counts.insert(ALERT_FILE.to_string(), alerts.text.counts);
    counts.insert(PAGE_FILE.to_string(), pages.text.counts);
    let expected = measure(
        &story, &users, &requests, &app, &db, &alerts, &pages, counts,
    )?;
    let mut expected_json =
        serde_json::to_string_pretty(&expected).context("serializing expected.json")?;
    expected_json.push('\n');

    Ok(vec![
        (APP_FILE.to_string(), app.text.text.into_bytes()),
        (WEB_FILE.to_string(), gzip_stable(web.text.as_bytes())?),
        (DB_FILE.to_string(), db.text.text.into_bytes()),
        (ALERT_FILE.to_string(), alerts.text.text.into_bytes()),
        (PAGE_FILE.to_string(), pages.text.text.into_bytes()),
        (EXPECTED_FILE.to_string(), expected_json.into_bytes()),
    ])
}

fn stream(id: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    rng.set_stream(id);
    rng
}

// ---------------------------------------------------------------------------------------------
// The story: the instants everything else hangs on.

struct Story {
    day: LocalDay,
    log_start: Ms,
    log_end: Ms,
    deploy: Ms,
    /// The DBA's `BEGIN;` before the fatal statement.
    drop_begin: Ms,
    /// `DROP TABLE sessions;` (the root cause).
    drop: Ms,
    /// `COMMIT;` as logged; the drop is visible from `outage_start` on.
    drop_commit: Ms,
    outage_start: Ms,
    outage_end: Ms,
    /// pg_restore's connection.
    restore_connect: Ms,
}

impl Story {
    fn new() -> Result<Story> {
        let day = LocalDay::new(TZ, 2023, 10, 15)?;
        Ok(Story {
            day,
            log_start: day.at(12, 0, 0, 0)?,
            log_end: day.at(20, 0, 0, 0)?,
            deploy: day.at(12, 0, 1, 208)?,
            drop_begin: day.at(14, 59, 41, 207)?,
            drop: day.at(14, 59, 50, 318)?,
            drop_commit: day.at(14, 59, 59, 996)?,
            outage_start: day.at(15, 0, 0, 0)?,
            outage_end: day.at(17, 0, 0, 0)?,
            restore_connect: day.at(16, 40, 7, 412)?,
        })
    }

    fn at(&self, hour: u32, min: u32, sec: u32, milli: u32) -> Result<Ms> {
        self.day.at(hour, min, sec, milli)
    }
}

// ---------------------------------------------------------------------------------------------
// Users and their devices.

struct Device {
    ip: String,
    agent: &'static str,
    browser: bool,
}

struct User {
    id: String,
    devices: Vec<Device>,
    affected: bool,
}

const BROWSER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:118.0) Gecko/20100101 Firefox/118.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.5938.140 Mobile Safari/537.36",
];

const APP_AGENTS: &[&str] = &[
    "AcmeAuth/4.12.0 (iPhone; iOS 17.0.3; Scale/3.00)",
    "AcmeAuth/4.12.0 (Android 14; Pixel 7)",
    "AcmeAuth/4.11.2 (Android 13; SM-S901U)",
    "okhttp/4.11.0",
];

/// Residential and mobile carrier ranges `(first octet, second octet range)`; none private.
const CLIENT_NETS: &[(u8, u8, u8)] = &[
    (24, 0, 255),
    (67, 160, 191),
    (68, 32, 63),
    (71, 56, 63),
    (73, 0, 255),
    (76, 96, 127),
    (98, 192, 255),
    (99, 0, 127),
    (107, 72, 79),
    (108, 0, 63),
    (172, 56, 58),
    (174, 192, 255),
];

/// The population in Zipf rank order (index 0 is the most active user).
fn build_users(rng: &mut ChaCha8Rng) -> Vec<User> {
    let mut taken = BTreeSet::new();
    let mut users = Vec::with_capacity(POPULATION);
    while users.len() < POPULATION {
        let number: u32 = rng.random_range(1..100_000);
        if !taken.insert(number) {
            continue;
        }
        let device_count = if rng.random_bool(0.4) { 2 } else { 1 };
        let devices = (0..device_count)
            .map(|_| {
                let &(a, b_lo, b_hi) = &CLIENT_NETS[rng.random_range(0..CLIENT_NETS.len())];
                let ip = format!(
                    "{a}.{}.{}.{}",
                    rng.random_range(b_lo..=b_hi),
                    rng.random_range(0..=255u8),
                    rng.random_range(1..=254u8)
                );
                let browser = rng.random_bool(0.45);
                let agents = if browser { BROWSER_AGENTS } else { APP_AGENTS };
                Device {
                    ip,
                    agent: agents[rng.random_range(0..agents.len())],
                    browser,
                }
            })
            .collect();
        users.push(User {
            id: format!("u-{number:05}"),
            devices,
            affected: rng.random_bool(AFFECTED_SHARE),
        });
    }
    users
}

// ---------------------------------------------------------------------------------------------
// Requests.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Endpoint {
    Login,
    Refresh,
    Me,
}

impl Endpoint {
    fn method(self) -> &'static str {
        match self {
            Endpoint::Login | Endpoint::Refresh => "POST",
            Endpoint::Me => "GET",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Endpoint::Login => "/api/v1/login",
            Endpoint::Refresh => "/api/v1/token/refresh",
            Endpoint::Me => "/api/v1/me",
        }
    }

    /// The word the service's messages start with.
    fn action(self) -> &'static str {
        match self {
            Endpoint::Login => "login",
            Endpoint::Refresh => "token refresh",
            Endpoint::Me => "session lookup",
        }
    }

    /// The statement that touches `sessions` (a login creates a session, the others read one).
    fn sessions_sql(self) -> &'static str {
        match self {
            Endpoint::Login => {
                "INSERT INTO sessions (token, user_id, expires_at, client_ip) VALUES ($1, $2, $3, $4)"
            }
            Endpoint::Refresh | Endpoint::Me => {
                "SELECT user_id, expires_at FROM sessions WHERE token = $1"
            }
        }
    }

    /// The lock that statement waits for behind the DBA's `DROP TABLE`.
    fn lock_mode(self) -> &'static str {
        match self {
            Endpoint::Login => "RowExclusiveLock",
            Endpoint::Refresh | Endpoint::Me => "AccessShareLock",
        }
    }

    /// Milliseconds from arrival to the sessions statement: a login checks the password
    /// (bcrypt) first, the others go straight to the table.
    fn sessions_step<R: RngExt>(self, rng: &mut R) -> Ms {
        let median = match self {
            Endpoint::Login => 78.0,
            Endpoint::Refresh | Endpoint::Me => 2.5,
        };
        lognormal(rng, median, 0.3).round().max(1.0) as Ms
    }
}

/// An unrelated server-side failure (the ~0.5 % background).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    IdpTimeout,
    ConnReset,
    RedisPool,
    StatementTimeout,
    Panic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    BadPassword,
    TokenExpired,
    RateLimited,
    Fault(Fault),
    /// The outage: the sessions statement ran at `query_at` and found no table; `blocked`
    /// when it had waited on the DBA's lock first.
    SessionsMissing {
        query_at: Ms,
        blocked: bool,
    },
}

impl Outcome {
    fn status(self) -> u16 {
        match self {
            Outcome::Ok => 200,
            Outcome::BadPassword | Outcome::TokenExpired => 401,
            Outcome::RateLimited => 429,
            Outcome::Fault(Fault::IdpTimeout) => 502,
            Outcome::Fault(Fault::RedisPool) => 503,
            Outcome::Fault(_) | Outcome::SessionsMissing { .. } => 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Attempt {
    arrival: Ms,
    seq: u64,
    user: usize,
    device: usize,
    endpoint: Endpoint,
    try_no: u8,
    forced: Option<Fault>,
}

#[derive(Debug, Clone)]
struct Request {
    seq: u64,
    user: usize,
    device: usize,
    endpoint: Endpoint,
    try_no: u8,
    arrival: Ms,
    /// When the response went out; the app logs the request at this instant.
    done: Ms,
    latency_ms: f64,
    outcome: Outcome,
    request_id: String,
}

impl Request {
    fn status(&self) -> u16 {
        self.outcome.status()
    }

    fn failed(&self) -> bool {
        self.status() >= 500
    }
}

/// Requests per minute over the 480 minutes from 12:00: a quiet start, a steady afternoon and
/// the 18:00 push-notification surge (~150/min); about 25/min on average
/// (retries add ~8 %).
fn traffic_curve() -> RateCurve {
    RateCurve::new(&[
        (0.0, 4.0),
        (30.0, 10.0),
        (60.0, 16.0),
        (120.0, 19.0),
        (180.0, 18.0),
        (240.0, 20.0),
        (300.0, 23.0),
        (340.0, 38.0),
        (360.0, 150.0),
        (366.0, 105.0),
        (385.0, 32.0),
        (450.0, 8.0),
        (480.0, 3.0),
    ])
}

fn pick_endpoint<R: RngExt>(rng: &mut R) -> Endpoint {
    let roll: f64 = rng.random();
    if roll < 0.7 {
        Endpoint::Login
    } else if roll < 0.9 {
        Endpoint::Refresh
    } else {
        Endpoint::Me
    }
}

/// What happens to a request when nothing is broken.
fn normal_outcome<R: RngExt>(endpoint: Endpoint, rng: &mut R) -> Outcome {
    if rng.random_bool(0.005) {
        let roll: f64 = rng.random();
        let fault = if roll < 0.2 && endpoint == Endpoint::Login {
            Fault::IdpTimeout
        } else if roll < 0.55 {
            Fault::ConnReset
        } else if roll < 0.75 {
            Fault::RedisPool
        } else {
            Fault::StatementTimeout
        };
        return Outcome::Fault(fault);
    }
    match endpoint {
        Endpoint::Login if rng.random_bool(0.03) => Outcome::BadPassword,
        Endpoint::Login if rng.random_bool(0.002) => Outcome::RateLimited,
        Endpoint::Refresh if rng.random_bool(0.01) => Outcome::TokenExpired,
        _ => Outcome::Ok,
    }
}

fn fault_latency<R: RngExt>(fault: Fault, rng: &mut R) -> f64 {
    match fault {
        // The client timeouts: 5 s to the identity provider, 1 s to redis, 3 s statement_timeout.
        Fault::IdpTimeout => 5_000.0 + rng.random_range(1.0..40.0),
        Fault::RedisPool => 1_000.0 + rng.random_range(0.5..15.0),
        Fault::StatementTimeout => 3_000.0 + rng.random_range(1.0..25.0),
        Fault::ConnReset | Fault::Panic => lognormal(rng, 9.0, 0.5),
    }
}

fn latency_for<R: RngExt>(endpoint: Endpoint, outcome: Outcome, rng: &mut R) -> f64 {
    match outcome {
        Outcome::Fault(fault) => fault_latency(fault, rng),
        Outcome::RateLimited => lognormal(rng, 1.2, 0.4),
        Outcome::TokenExpired => lognormal(rng, 4.0, 0.4),
        Outcome::BadPassword => lognormal(rng, 82.0, 0.25),
        Outcome::Ok | Outcome::SessionsMissing { .. } => match endpoint {
            Endpoint::Login => lognormal(rng, 85.0, 0.3),
            Endpoint::Refresh => lognormal(rng, 14.0, 0.45),
            Endpoint::Me => lognormal(rng, 7.0, 0.45),
        },
    }
}

/// The outcome and the response instant of one attempt.
fn decide<R: RngExt>(story: &Story, user: &User, attempt: &Attempt, rng: &mut R) -> (Outcome, Ms) {
    let arrival = attempt.arrival;
    if let Some(fault) = attempt.forced {
        return (
            Outcome::Fault(fault),
            arrival + fault_latency(fault, rng).ceil() as Ms,
        );
    }
    let normal = |rng: &mut R| {
        let outcome = normal_outcome(attempt.endpoint, rng);
        let latency = latency_for(attempt.endpoint, outcome, rng).ceil().max(1.0) as Ms;
        (outcome, arrival + latency)
    };
    if !user.affected {
        return normal(rng);
    }
    let query_at = arrival + attempt.endpoint.sessions_step(rng);
    if (story.drop..story.outage_start).contains(&query_at) {
        // Queued behind the DBA's AccessExclusiveLock; when the DROP commits the statement
        // looks the name up again and fails.
        let woke = story.outage_start + rng.random_range(1..40);
        let outcome = Outcome::SessionsMissing {
            query_at,
            blocked: true,
        };
        return (outcome, woke + 1);
    }
    if (story.outage_start..story.outage_end).contains(&query_at) {
        let done = query_at + rng.random_range(1..4);
        if done < story.outage_end {
            let outcome = Outcome::SessionsMissing {
                query_at,
                blocked: false,
            };
            return (outcome, done);
        }
        // The restore became visible while this response was on its way: it succeeds.
        let (outcome, done) = normal(rng);
        return (outcome, done.max(story.outage_end));
    }
    let (outcome, done) = normal(rng);
    if query_at < story.drop && done >= story.drop {
        // Its session statement ran before the lock was taken; keep the response before it too
        // so that every affected request inside the outage fails.
        return (outcome, story.drop - 1);
    }
    (outcome, done)
}

/// When (if ever) the client tries again.
fn retry_after<R: RngExt>(request: &Request, rng: &mut R) -> Option<Ms> {
    if request.try_no >= 3 {
        return None;
    }
    match request.outcome {
        Outcome::Fault(_) | Outcome::SessionsMissing { .. } if rng.random_bool(0.3) => {
            Some(rng.random_range(1_500..20_000))
        }
        Outcome::BadPassword if rng.random_bool(0.7) => Some(rng.random_range(4_000..15_000)),
        Outcome::RateLimited if rng.random_bool(0.5) => Some(rng.random_range(30_000..60_000)),
        _ => None,
    }
}

/// Simulates the day's requests, returned in response order.
fn simulate(story: &Story, users: &[User], rng: &mut ChaCha8Rng) -> Result<Vec<Request>> {
    let curve = traffic_curve();
    let zipf = Zipf::new(users.len(), ZIPF_EXPONENT);
    let mut queue = BinaryHeap::new();
    let mut seq = 0u64;
    let minutes = (story.log_end - story.log_start) / MS_PER_MIN;
    for minute in 0..minutes {
        let count = poisson(rng, curve.per_minute(minute as f64 + 0.5));
        for _ in 0..count {
            let user = zipf.sample(rng);
            queue.push(Reverse(Attempt {
                arrival: story.log_start + minute * MS_PER_MIN + rng.random_range(0..MS_PER_MIN),
                seq,
                user,
                device: rng.random_range(0..users[user].devices.len()),
                endpoint: pick_endpoint(rng),
                try_no: 1,
                forced: None,
            }));
            seq += 1;
        }
    }
    // One unrelated crash, so that the app log carries a Go stack trace before the outage.
    let victim = users
        .iter()
        .position(|u| !u.affected)
        .context("the population has no unaffected user")?;
    queue.push(Reverse(Attempt {
        arrival: story.at(13, 47, 12, 384)?,
        seq,
        user: victim,
        device: 0,
        endpoint: Endpoint::Me,
        try_no: 3,
        forced: Some(Fault::Panic),
    }));
    seq += 1;
    // The busiest user keeps retrying right up to the restore's commit, so the last failure
    // falls in the outage's final second (at ~25 requests/min a gap of a few seconds before
    // 17:00 is otherwise likely, and the measured window would end early).
    let persistent = users
        .iter()
        .position(|u| u.affected)
        .context("the population has no affected user")?;
    queue.push(Reverse(Attempt {
        arrival: story.outage_end - 61,
        seq,
        user: persistent,
        device: 0,
        endpoint: Endpoint::Me,
        try_no: 2,
        forced: None,
    }));
    seq += 1;

    let mut requests = Vec::new();
    let mut request_ids = BTreeSet::new();
    while let Some(Reverse(attempt)) = queue.pop() {
        let (outcome, done) = decide(story, &users[attempt.user], &attempt, rng);
        if done >= story.log_end {
            continue;
        }
        // The handler measures in microseconds; the response leaves within the last milli.
        let elapsed = (done - attempt.arrival) as f64;
        let latency_ms = ((elapsed - rng.random::<f64>() * 0.9) * 10.0).round() / 10.0;
        let request_id = hex(rng, 16);
        ensure!(
            request_ids.insert(request_id.clone()),
            "duplicate request id {request_id}"
        );
        let request = Request {
            seq: attempt.seq,
            user: attempt.user,
            device: attempt.device,
            endpoint: attempt.endpoint,
            try_no: attempt.try_no,
            arrival: attempt.arrival,
            done,
            latency_ms: latency_ms.max(0.1),
            outcome,
            request_id,
        };
        if let Some(delay) = retry_after(&request, rng) {
            let arrival = done + delay;
            if arrival < story.log_end {
                queue.push(Reverse(Attempt {
                    arrival,
                    seq,
                    user: attempt.user,
                    device: attempt.device,
                    endpoint: attempt.endpoint,
                    try_no: attempt.try_no + 1,
                    forced: None,
                }));
                seq += 1;
            }
        }
        requests.push(request);
    }
    requests.sort_by_key(|r| (r.done, r.seq));
    Ok(requests)
}

// ---------------------------------------------------------------------------------------------
// app/auth.jsonl

/// Lines of one app record: the JSON line, then whatever else the process wrote after it.
enum AppLine {
    Json(String),
    Continuation(&'static str),
    Cut(String),
}

struct AppLog {
    text: LogText,
    /// Requests whose line rotation cut (unparsable, so not in the truth).
    lost: BTreeSet<u64>,
}

const GO_PANIC_STACK: &str = "goroutine 91832 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:24 +0x5e\ngithub.com/acme/auth-service/internal/httpx.Recoverer.func1.1()\n\t/build/internal/httpx/recover.go:29 +0x8d\npanic({0xa1e9c0?, 0x11d3a40?})\n\t/usr/local/go/src/runtime/panic.go:914 +0x21f\ngithub.com/acme/auth-service/internal/profile.(*Service).Load(0x0, {0xc38f70, 0xc0004b2e10}, {0xc00029a4c8, 0x7})\n\t/build/internal/profile/service.go:88 +0x3c\ngithub.com/acme/auth-service/internal/api.(*Handler).Me(0xc0001a6000, {0xc36a50, 0xc0003f41c0}, 0xc0005e8300)\n\t/build/internal/api/me.go:41 +0x1b2\nnet/http.HandlerFunc.ServeHTTP(0xc0001b4a20, {0xc36a50, 0xc0003f41c0}, 0xc0005e8300)\n\t/usr/local/go/src/net/http/server.go:2136 +0x29";

const AUDIT_STACK: &str = "kafka: client has run out of available brokers to talk to\ngithub.com/acme/auth-service/internal/audit.(*Publisher).Publish\n\t/build/internal/audit/publisher.go:73\ngithub.com/acme/auth-service/internal/audit.(*Publisher).flushLoop\n\t/build/internal/audit/publisher.go:121\nruntime.goexit\n\t/usr/local/go/src/runtime/asm_amd64.s:1650";

/// What a Python hook the service runs printed to the shared stderr when it crashed.
const PYTHON_TRACEBACK: &[&str] = &[
    "Traceback (most recent call last):",
    "  File \"/opt/auth/hooks/export_audit.py\", line 58, in <module>",
    "    sys.exit(main())",
    "  File \"/opt/auth/hooks/export_audit.py\", line 51, in main",
    "    resp.raise_for_status()",
    "requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://audit.example.internal/v1/batches",
];

const SESSIONS_MISSING: &str = "relation \"sessions\" does not exist";

/// The app's own log line for one request.
fn request_line(user: &User, request: &Request) -> Result<String> {
    let endpoint = request.endpoint;
    let action = endpoint.action();
    let (level, message, error): (&str, String, Option<String>) = match request.outcome {
        Outcome::Ok => {
            let message = match endpoint {
                Endpoint::Login => "login succeeded",
                Endpoint::Refresh => "token refreshed",
                Endpoint::Me => "session validated",
            };
            ("info", message.to_string(), None)
        }
        Outcome::BadPassword => ("warn", "login failed: invalid credentials".into(), None),
        Outcome::TokenExpired => (
            "warn",
            "token refresh failed: refresh token expired".into(),
            None,
        ),
        Outcome::RateLimited => ("warn", format!("{action} rejected: rate limit exceeded"), None),
        Outcome::Fault(Fault::IdpTimeout) => (
            "error",
            format!("{action} failed: upstream identity provider timeout"),
            Some("Post \"http://idp.internal:8443/v1/verify\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)".into()),
        ),
        Outcome::Fault(Fault::ConnReset) => (
            "error",
            format!("{action} failed: database connection reset"),
            Some(format!(
                "read tcp 10.0.2.14:{}->10.0.5.20:5432: read: connection reset by peer",
                40_000 + request.seq % 20_000
            )),
        ),
        Outcome::Fault(Fault::RedisPool) => (
            "error",
            format!("{action} failed: rate limiter unavailable"),
            Some("redis: connection pool timeout".into()),
        ),
        Outcome::Fault(Fault::StatementTimeout) => (
            "error",
            format!("{action} failed: query timeout"),
            Some("pq: canceling statement due to statement timeout".into()),
        ),
        Outcome::Fault(Fault::Panic) => (
            "error",
            "panic recovered: runtime error: invalid memory address or nil pointer dereference"
                .into(),
            Some("runtime error: invalid memory address or nil pointer dereference".into()),
        ),
        Outcome::SessionsMissing { .. } => (
            "error",
            format!("{action} failed: {SESSIONS_MISSING}"),
            Some(format!("pq: {SESSIONS_MISSING}")),
        ),
    };
    let device = &user.devices[request.device];
    let mut line = JsonLine::new()
        .str("timestamp", &rfc3339_local_ms(request.done, TZ)?)
        .str("level", level)
        .str("service", SERVICE)
        .str("message", &message)
        .str("user_id", &user.id)
        .str("request_id", &request.request_id)
        .str("method", endpoint.method())
        .str("path", endpoint.path())
        .int("status", i64::from(request.status()))
        .float("latency_ms", request.latency_ms, 1)
        .str("client_ip", &device.ip);
    if let Some(error) = error {
        line = line.str("error", &error);
    }
    if request.outcome == Outcome::Fault(Fault::Panic) {
        line = line.str("stack", GO_PANIC_STACK);
    }
    Ok(line.finish())
}

/// A line the service writes on its own (startup, jobs, caches).
fn service_line(ms: Ms, level: &str, message: &str) -> Result<JsonLine> {
    Ok(JsonLine::new()
        .str("timestamp", &rfc3339_local_ms(ms, TZ)?)
        .str("level", level)
        .str("service", SERVICE)
        .str("message", message))
}

/// One run of the service's token-cleanup job, which both the app and the database log.
struct CleanupRun {
    start: Ms,
    duration: Ms,
    /// It deletes from `sessions`, so it fails during the outage.
    failed: bool,
}

/// The token-cleanup job runs every 10 minutes, at about :x4:01.
fn cleanup_runs(story: &Story, rng: &mut ChaCha8Rng) -> Vec<CleanupRun> {
    let mut runs = Vec::new();
    let mut at = story.log_start + 4 * MS_PER_MIN + 1_117;
    while at < story.log_end {
        let failed = (story.outage_start..story.outage_end).contains(&at);
        let duration = if failed {
            rng.random_range(1..4)
        } else {
            rng.random_range(180..900)
        };
        runs.push(CleanupRun {
            start: at,
            duration,
            failed,
        });
        at += 10 * MS_PER_MIN + rng.random_range(-400..400);
    }
    runs
}

fn app_log(
    story: &Story,
    users: &[User],
    requests: &[Request],
    cleanups: &[CleanupRun],
    rng: &mut ChaCha8Rng,
) -> Result<AppLog> {
    // (instant, order, lines): records with the same instant keep their insertion order.
    let mut records: Vec<(Ms, u64, Vec<AppLine>)> = Vec::new();
    let mut order = 0u64;
    let mut add = |ms: Ms, lines: Vec<AppLine>| {
        records.push((ms, order, lines));
        order += 1;
    };

    // The noon deploy: the new pod starts before traffic reaches it.
    let boot = story.deploy;
    add(
        boot,
        vec![AppLine::Json(
            service_line(boot, "info", "starting auth-service")?
                .str("version", "2.14.3")
                .str("commit", "9f3c2e1")
                .str("go_version", "go1.21.3")
                .finish(),
        )],
    );
    add(
        boot + 4,
        vec![AppLine::Json(
            service_line(boot + 4, "info", "config loaded")?
                .str("path", "/etc/auth/config.yaml")
                .str("env", "production")
                .finish(),
        )],
    );
    add(
        boot + 5,
        vec![AppLine::Json(
            service_line(boot + 5, "debug", "feature flags loaded")?
                .str("flags", "mfa_push=on,passkeys=off,remember_device=on")
                .finish(),
        )],
    );
    add(
        boot + 912,
        vec![AppLine::Json(
            service_line(boot + 912, "info", "database pool ready")?
                .str("db_host", "pg-auth-0.db.svc:5432")
                .str("db_name", "auth")
                .int("pool_size", 20)
                .finish(),
        )],
    );
    add(
        boot + 1_374,
        vec![AppLine::Json(
            service_line(boot + 1_374, "info", "session cache warmed")?
                .int("entries", 18_234)
                .float("duration_ms", 455.2, 1)
                .finish(),
        )],
    );
    add(
        boot + 1_380,
        vec![AppLine::Json(
            service_line(boot + 1_380, "info", "http server listening")?
                .str("addr", ":8080")
                .finish(),
        )],
    );

    // Cache statistics every 5 minutes (debug) and the JWKS refresh every hour.
    let mut at = story.log_start + 2 * MS_PER_MIN + 30_000;
    while at < story.log_end {
        let ms = at + rng.random_range(0..300);
        let line = service_line(ms, "debug", "session cache stats")?
            .int("hits", rng.random_range(600..2_400))
            .int("misses", rng.random_range(20..160))
            .int("entries", rng.random_range(17_000..21_000))
            .finish();
        add(ms, vec![AppLine::Json(line)]);
        at += 5 * MS_PER_MIN;
    }
    let mut at = story.log_start + 17 * MS_PER_MIN + 3_000;
    while at < story.log_end {
        let ms = at + rng.random_range(0..900);
        let line = service_line(ms, "debug", "jwks keys refreshed")?
            .str("issuer", "https://idp.internal:8443")
            .int("keys", 3)
            .finish();
        add(ms, vec![AppLine::Json(line)]);
        at += 60 * MS_PER_MIN;
    }

    for run in cleanups {
        let end = run.start + run.duration;
        let line = if run.failed {
            service_line(end, "error", "token cleanup failed")?
                .str("job", "token-cleanup")
                .str("error", &format!("pq: {SESSIONS_MISSING}"))
                .finish()
        } else {
            service_line(end, "info", "token cleanup finished")?
                .str("job", "token-cleanup")
                .int("removed", rng.random_range(40..400))
                .int("duration_ms", run.duration)
                .finish()
        };
        add(end, vec![AppLine::Json(line)]);
    }

    // Assorted warnings nobody acted on.
    let jwks_slow = story.at(14, 20, 44, 90)?;
    add(
        jwks_slow,
        vec![AppLine::Json(
            service_line(jwks_slow, "warn", "jwks refresh slow")?
                .int("duration_ms", 2_412)
                .int("threshold_ms", 2_000)
                .finish(),
        )],
    );
    let reload = story.at(14, 30, 5, 512)?;
    add(
        reload,
        vec![AppLine::Json(
            service_line(reload, "info", "rate limit config reloaded")?
                .int("login_per_minute", 10)
                .int("refresh_per_minute", 30)
                .finish(),
        )],
    );
    for (hour, min) in [(12, 26), (13, 52), (15, 41), (17, 18), (18, 44)] {
        let ms = story.at(
            hour,
            min,
            rng.random_range(0..60),
            rng.random_range(0..1000),
        )?;
        let line = service_line(ms, "warn", "deprecated client version")?
            .str("client", "AcmeAuth/4.11.2")
            .str("minimum", "4.12.0")
            .finish();
        add(ms, vec![AppLine::Json(line)]);
    }

    // The Python export hook shares the service's stderr: its traceback lands as plain lines
    // after the JSON line that started it.
    let hook = story.at(13, 58, 0, 41)?;
    let mut hook_lines = vec![AppLine::Json(
        service_line(hook, "info", "running audit export hook")?
            .str("hook", "/opt/auth/hooks/export_audit.py")
            .finish(),
    )];
    hook_lines.extend(PYTHON_TRACEBACK.iter().map(|&l| AppLine::Continuation(l)));
    add(hook, hook_lines);
    let hook_end = hook + 1_318;
    add(
        hook_end,
        vec![AppLine::Json(
            service_line(hook_end, "warn", "audit export hook exited with status 1")?
                .str("hook", "/opt/auth/hooks/export_audit.py")
                .int("exit_code", 1)
                .finish(),
        )],
    );

    let audit = story.at(18, 32, 7, 655)?;
    add(
        audit,
        vec![AppLine::Json(
            service_line(audit, "error", "audit event publish failed")?
                .str(
                    "error",
                    "kafka: client has run out of available brokers to talk to",
                )
                .str("stack", AUDIT_STACK)
                .finish(),
        )],
    );

    // Log rotation (copytruncate at 18:00) cut the first line written after it.
    let rotation = story.at(18, 0, 0, 0)?;
    let mut lost = BTreeSet::new();
    for request in requests {
        let line = request_line(&users[request.user], request)?;
        if lost.is_empty() && request.done >= rotation {
            lost.insert(request.seq);
            let cut = line.len() * 3 / 5;
            add(
                request.done,
                vec![AppLine::Cut(line.get(..cut).unwrap_or(&line).to_string())],
            );
        } else {
            add(request.done, vec![AppLine::Json(line)]);
        }
    }

    records.sort_by_key(|&(ms, order, _)| (ms, order));
    let mut text = LogText::default();
    for (_, _, lines) in &records {
        for line in lines {
            match line {
                AppLine::Json(json) => text.record(json),
                AppLine::Continuation(plain) => text.continuation(plain),
                AppLine::Cut(partial) => text.garbage(partial),
            }
        }
    }
    Ok(AppLog { text, lost })
}

// ---------------------------------------------------------------------------------------------
// web/access.log.gz (nginx combined)

const WEB_HOST: &str = "https://login.example.com";

/// Static files a browser fetches before it posts the login form: (path, bytes when sent).
const STATIC_FILES: &[(&str, u32)] = &[
    ("/login", 2_163),
    ("/static/css/main.7d3b0e11.css", 9_412),
    ("/static/js/main.4c1f9a2e.js", 61_874),
    ("/static/media/logo.2b9e4f61.svg", 3_307),
];

/// A request from the internet's background noise, at a local `(hour, minute, second)`.
struct Scan {
    at: (u32, u32, u32),
    ip: &'static str,
    request: &'static str,
    status: u16,
    bytes: u32,
    agent: &'static str,
}

/// Scanners, and a TLS handshake sent to the plain-HTTP port (nginx escapes the bytes and
/// answers 400); all from documentation address ranges.
const SCANS: &[Scan] = &[
    Scan {
        at: (12, 47, 13),
        ip: "198.51.100.23",
        request: "GET /wp-login.php HTTP/1.1",
        status: 404,
        bytes: 153,
        agent: "Mozilla/5.0 (compatible; Nimbostratus-Bot/v1.3.2)",
    },
    Scan {
        at: (13, 15, 2),
        ip: "198.51.100.23",
        request: "GET /.env HTTP/1.1",
        status: 404,
        bytes: 153,
        agent: "Mozilla/5.0 (compatible; Nimbostratus-Bot/v1.3.2)",
    },
    Scan {
        at: (14, 3, 55),
        ip: "203.0.113.77",
        request: "\\x16\\x03\\x01\\x00\\xEE\\x01\\x00\\x00\\xEA\\x03\\x03\\x8C\\x1F",
        status: 400,
        bytes: 157,
        agent: "-",
    },
    Scan {
        at: (16, 11, 40),
        ip: "203.0.113.77",
        request: "GET /.git/config HTTP/1.1",
        status: 404,
        bytes: 153,
        agent: "curl/7.88.1",
    },
    Scan {
        at: (17, 33, 9),
        ip: "192.0.2.145",
        request: "GET /admin/ HTTP/1.1",
        status: 404,
        bytes: 153,
        agent: "python-requests/2.31.0",
    },
    Scan {
        at: (19, 6, 27),
        ip: "192.0.2.145",
        request: "HEAD / HTTP/1.0",
        status: 200,
        bytes: 0,
        agent: "-",
    },
];

fn combined(
    ip: &str,
    ms: Ms,
    request: &str,
    status: u16,
    bytes: u32,
    referer: &str,
    agent: &str,
) -> Result<String> {
    Ok(format!(
        "{ip} - - [{}] \"{request}\" {status} {bytes} \"{referer}\" \"{agent}\"",
        nginx_time_local(ms, TZ)?
    ))
}

fn response_bytes<R: RngExt>(request: &Request, rng: &mut R) -> u32 {
    match (request.status(), request.endpoint) {
        (200, Endpoint::Login) => rng.random_range(880..940),
        (200, Endpoint::Refresh) => rng.random_range(850..910),
        (200, Endpoint::Me) => rng.random_range(290..330),
        (401, Endpoint::Login) => 61,
        (401, _) => 58,
        (429, _) => 54,
        // {"error":"internal_error","request_id":"<16 hex>"}
        _ => 56,
    }
}

fn web_log(
    story: &Story,
    users: &[User],
    requests: &[Request],
    rng: &mut ChaCha8Rng,
) -> Result<LogText> {
    let mut entries: Vec<(Ms, u64, String)> = Vec::new();
    let mut order = 0u64;
    let mut add = |ms: Ms, line: String| {
        entries.push((ms, order, line));
        order += 1;
    };

    let mut cached = BTreeSet::new();
    for request in requests {
        let user = &users[request.user];
        let device = &user.devices[request.device];
        let referer = if device.browser {
            format!("{WEB_HOST}/login")
        } else {
            "-".to_string()
        };
        if device.browser
            && request.endpoint == Endpoint::Login
            && request.try_no == 1
            && rng.random_bool(0.85)
        {
            // The page and its assets load a few seconds before the form is posted; a
            // returning device revalidates and gets 304.
            let returning = !cached.insert((request.user, request.device));
            let mut at = request.arrival - rng.random_range(2_500..9_000);
            for &(path, size) in STATIC_FILES {
                let (status, bytes) = if returning { (304, 0) } else { (200, size) };
                let static_referer = if path == "/login" {
                    "-".to_string()
                } else {
                    format!("{WEB_HOST}/login")
                };
                add(
                    at,
                    combined(
                        &device.ip,
                        at,
                        &format!("GET {path} HTTP/1.1"),
                        status,
                        bytes,
                        &static_referer,
                        device.agent,
                    )?,
                );
                at += rng.random_range(15..220);
            }
        }
        // nginx logs when the response is sent, a moment after the app logged it.
        let at = request.done + rng.random_range(0..3);
        let bytes = response_bytes(request, rng);
        add(
            at,
            combined(
                &device.ip,
                at,
                &format!(
                    "{} {} HTTP/1.1",
                    request.endpoint.method(),
                    request.endpoint.path()
                ),
                request.status(),
                bytes,
                &referer,
                device.agent,
            )?,
        );
    }

    // The kubelet probes every 10 s; the probe is shallow, so it stays 200 all day.
    let mut at = story.log_start + 3_218;
    while at < story.log_end {
        let ms = at + rng.random_range(0..40);
        add(
            ms,
            combined(
                "10.0.1.14",
                ms,
                "GET /healthz HTTP/1.1",
                200,
                2,
                "-",
                "kube-probe/1.27",
            )?,
        );
        at += 10 * MS_PER_SEC;
    }

    for scan in SCANS {
        let (hour, min, sec) = scan.at;
        let ms = story.at(hour, min, sec, rng.random_range(0..1000))?;
        add(
            ms,
            combined(
                scan.ip,
                ms,
                scan.request,
                scan.status,
                scan.bytes,
                "-",
                scan.agent,
            )?,
        );
    }

    entries.sort_by_key(|&(ms, order, _)| (ms, order));
    let mut text = LogText::default();
    for (_, _, line) in &entries {
        text.record(line);
    }
    Ok(text)
}

// ---------------------------------------------------------------------------------------------
// db/postgresql.log (stderr, log_line_prefix = '%m [%p] ')

const CHECKPOINTER_PID: u32 = 1_187;
const APP_HOST: &str = "10.0.2.14";
const OLD_APP_HOST: &str = "10.0.2.9";
const DBA_HOST: &str = "10.0.4.21";
const SESSIONS_OID: u32 = 16_421;
const DATABASE_OID: u32 = 16_390;

/// The app's connection pool: 20 backends forked at the noon deploy.
struct PidPool {
    pids: Vec<u32>,
    ports: Vec<u32>,
}

impl PidPool {
    fn new(rng: &mut ChaCha8Rng) -> PidPool {
        let mut pid = 48_012;
        let mut pids = Vec::new();
        let mut ports = Vec::new();
        for _ in 0..20 {
            pids.push(pid);
            ports.push(rng.random_range(40_000..60_000));
            pid += rng.random_range(1..4);
        }
        PidPool { pids, ports }
    }

    fn pick<R: RngExt>(&self, rng: &mut R) -> u32 {
        self.pids[rng.random_range(0..self.pids.len())]
    }
}

/// Records of the server log: each is a prefixed first line, then its DETAIL/STATEMENT lines
/// (prefixed too) and tab-indented continuations, all of which join the first.
struct DbLog {
    records: Vec<(Ms, u64, Vec<String>)>,
    log_start: Ms,
    used_pids: BTreeSet<u32>,
}

impl DbLog {
    /// `parts` are `(severity, message)`; a newline inside a message continues on a line that
    /// starts with a tab, as the server's `append_with_tabs` writes it.
    fn add(&mut self, ms: Ms, pid: u32, parts: &[(&str, &str)]) -> Result<()> {
        let prefix = format!("{} [{pid}] ", postgres_time(ms, TZ)?);
        let mut lines = Vec::new();
        for (severity, message) in parts {
            let mut message_lines = message.split('\n');
            let first = message_lines.next().unwrap_or_default();
            lines.push(format!("{prefix}{severity}:  {first}"));
            lines.extend(message_lines.map(|l| format!("\t{l}")));
        }
        let order = self.records.len() as u64;
        self.records.push((ms, order, lines));
        Ok(())
    }

    fn log(&mut self, ms: Ms, pid: u32, message: &str) -> Result<()> {
        self.add(ms, pid, &[("LOG", message)])
    }

    /// The pid of a process forked at `ms`: the kernel hands them out in increasing order and
    /// other processes take some in between, so pids grow with time, with gaps.
    fn fork<R: RngExt>(&mut self, ms: Ms, rng: &mut R) -> u32 {
        let ticks = u32::try_from((ms - self.log_start).max(0) / 2_500).unwrap_or(0);
        let mut pid = 48_300 + ticks + rng.random_range(0..3);
        while !self.used_pids.insert(pid) {
            pid += 1;
        }
        pid
    }

    fn render(mut self) -> LogText {
        self.records.sort_by_key(|&(ms, order, _)| (ms, order));
        let mut text = LogText::default();
        for (_, _, lines) in &self.records {
            let mut lines = lines.iter();
            if let Some(first) = lines.next() {
                text.record(first);
            }
            for line in lines {
                text.continuation(line);
            }
        }
        text
    }
}

/// `H:MM:SS.mmm`, PostgreSQL's session-time format.
fn session_time(ms: Ms) -> String {
    let ms = ms.max(0);
    format!(
        "{}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000
    )
}

/// One interactive or tool session: connect, statements (logged at start; a slow one gets a
/// bare `duration:` line because it was already logged), disconnect.
struct DbSession<'a> {
    pid: u32,
    user: &'a str,
    app: &'a str,
    host: &'a str,
    port: u32,
    connected: Ms,
}

impl DbSession<'_> {
    fn connect(&self, db: &mut DbLog) -> Result<()> {
        db.log(
            self.connected - 2,
            self.pid,
            &format!("connection received: host={} port={}", self.host, self.port),
        )?;
        db.log(
            self.connected,
            self.pid,
            &format!(
                "connection authorized: user={} database=auth application_name={}",
                self.user, self.app
            ),
        )
    }

    fn statement<R: RngExt>(
        &self,
        db: &mut DbLog,
        at: Ms,
        sql: &str,
        ends: Option<Ms>,
        rng: &mut R,
    ) -> Result<()> {
        db.log(at, self.pid, &format!("statement: {sql}"))?;
        if let Some(end) = ends {
            let micros = (end - at - 1) * 1_000 + rng.random_range(0..1_000);
            db.log(
                end,
                self.pid,
                &format!("duration: {}.{:03} ms", micros / 1_000, micros % 1_000),
            )?;
        }
        Ok(())
    }

    fn disconnect(&self, db: &mut DbLog, at: Ms) -> Result<()> {
        db.log(
            at,
            self.pid,
            &format!(
                "disconnection: session time: {} user={} database=auth host={} port={}",
                session_time(at - self.connected),
                self.user,
                self.host,
                self.port
            ),
        )
    }
}

const CREATE_SESSIONS: &str = "CREATE TABLE public.sessions (\n    token text NOT NULL,\n    user_id text NOT NULL,\n    created_at timestamp with time zone DEFAULT now() NOT NULL,\n    expires_at timestamp with time zone NOT NULL,\n    client_ip inet\n);";

const DESCRIBE_SESSIONS: &str = "SELECT n.nspname as \"Schema\",\n  c.relname as \"Name\",\n  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' END as \"Type\",\n  pg_catalog.pg_get_userbyid(c.relowner) as \"Owner\"\nFROM pg_catalog.pg_class c\n     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\nWHERE c.relkind IN ('r','p','')\n  AND c.relname OPERATOR(pg_catalog.~) '^(sessions.*)$' COLLATE pg_catalog.default\n  AND pg_catalog.pg_table_is_visible(c.oid)\nORDER BY 1,2;";

struct DbOut {
    text: LogText,
    /// When `DROP TABLE sessions;` was logged.
    drop_at: Ms,
    /// When pg_restore's session was authorized.
    restore_at: Ms,
}

/// `relation "sessions" does not exist at character N`: N is where the name starts (1-based).
fn missing_relation_error(sql: &str) -> String {
    let at = sql.find("sessions").map_or(0, |i| i + 1);
    format!("{SESSIONS_MISSING} at character {at}")
}

fn autovacuum_message<R: RngExt>(table: &str, indexes: &[&str], rng: &mut R) -> String {
    let pages: u32 = rng.random_range(2_000..9_000);
    let scanned = pages / rng.random_range(3..8);
    let removed: u32 = rng.random_range(2_000..20_000);
    let remain = pages * 60;
    let mut lines = vec![
        format!("automatic vacuum of table \"auth.public.{table}\": index scans: 1"),
        format!(
            "pages: 0 removed, {pages} remain, {scanned} scanned ({:.2}% of total)",
            f64::from(scanned) * 100.0 / f64::from(pages)
        ),
        format!("tuples: {removed} removed, {remain} remain, 0 are dead but not yet removable"),
        format!(
            "removable cutoff: {}, which was {} XIDs old when operation ended",
            rng.random_range(7_500_000..7_600_000),
            rng.random_range(0..4)
        ),
        format!(
            "index scan needed: {} pages from table ({:.2}% of total) had {removed} dead item identifiers removed",
            scanned - 12,
            f64::from(scanned - 12) * 100.0 / f64::from(pages)
        ),
    ];
    for index in indexes {
        lines.push(format!(
            "index \"{index}\": pages: {} in total, 0 newly deleted, 0 currently deleted, 0 reusable",
            rng.random_range(300..3_000)
        ));
    }
    let elapsed: f64 = rng.random_range(0.2..2.5);
    lines.extend([
        format!(
            "avg read rate: 0.000 MB/s, avg write rate: {:.3} MB/s",
            rng.random_range(0.5..4.0)
        ),
        format!(
            "buffer usage: {} hits, 0 misses, {} dirtied",
            rng.random_range(2_000..20_000),
            rng.random_range(100..900)
        ),
        format!(
            "WAL usage: {} records, {} full page images, {} bytes",
            rng.random_range(1_000..9_000),
            rng.random_range(50..600),
            rng.random_range(400_000..4_000_000)
        ),
        format!(
            "system usage: CPU: user: {:.2} s, system: {:.2} s, elapsed: {elapsed:.2} s",
            elapsed * 0.05,
            elapsed * 0.01
        ),
    ]);
    lines.join("\n")
}

fn db_log(
    story: &Story,
    users: &[User],
    requests: &[Request],
    pool: &PidPool,
    cleanups: &[CleanupRun],
    rng: &mut ChaCha8Rng,
) -> Result<DbOut> {
    let mut db = DbLog {
        records: Vec::new(),
        log_start: story.log_start,
        used_pids: BTreeSet::new(),
    };

    // The deploy: the old pod's pool disconnects, the new one connects.
    for i in 0..20u32 {
        let ms = story.deploy + 31 + i64::from(i) * 3;
        let up = (26 * 3_600 + 14 * 60) * 1_000 + rng.random_range(0..60_000);
        db.log(
            ms,
            31_204 + i * 3,
            &format!(
                "disconnection: session time: {} user=auth_app database=auth host={OLD_APP_HOST} port={}",
                session_time(up),
                rng.random_range(40_000..60_000)
            ),
        )?;
    }
    for (i, (&pid, &port)) in pool.pids.iter().zip(&pool.ports).enumerate() {
        let session = DbSession {
            pid,
            user: "auth_app",
            app: "auth-service",
            host: APP_HOST,
            port,
            connected: story.deploy + 860 + i as Ms * 2,
        };
        session.connect(&mut db)?;
    }

    // Timed checkpoints every 5 minutes, spread over 90 % of the interval. The one running
    // during the restore writes far more.
    let mut at = story.log_start + 2 * MS_PER_MIN + 41_806;
    let mut estimate: u32 = 3_100;
    while at < story.log_end {
        db.log(at, CHECKPOINTER_PID, "checkpoint starting: time")?;
        let busy = at >= story.restore_connect - 5 * MS_PER_MIN && at < story.outage_end;
        let buffers: u32 = if busy {
            rng.random_range(18_000..42_000)
        } else {
            rng.random_range(40..900)
        };
        let write_ms: Ms = 269_800 + rng.random_range(0..400);
        let sync_ms: Ms = rng.random_range(2..40);
        let distance: u32 = buffers * 8 + rng.random_range(100..900);
        // The server's moving estimate: jumps up to a larger distance, decays slowly.
        estimate = if distance > estimate {
            distance
        } else {
            (estimate * 9 + distance) / 10
        };
        let done = at + write_ms + sync_ms + 4;
        let message = format!(
            "checkpoint complete: wrote {buffers} buffers ({:.1}%); {} WAL file(s) added, 0 removed, {} recycled; write={}.{:03} s, sync=0.{:03} s, total={}.{:03} s; sync files={}, longest=0.{:03} s, average=0.{:03} s; distance={distance} kB, estimate={estimate} kB",
            f64::from(buffers) * 100.0 / 131_072.0,
            if busy { 6 } else { 0 },
            if busy { 4 } else { 1 },
            write_ms / 1_000,
            write_ms % 1_000,
            sync_ms,
            (done - at) / 1_000,
            (done - at) % 1_000,
            rng.random_range(8..60),
            sync_ms / 2,
            1 + sync_ms / 10,
        );
        db.log(done, CHECKPOINTER_PID, &message)?;
        at += 5 * MS_PER_MIN + rng.random_range(0..3);
    }

    // Autovacuum workers; `sessions` churns until it is dropped, the new index (13:30) shows
    // up in later runs of its table.
    let index_created = story.at(13, 30, 46, 0)?;
    for (table, every_min) in [("login_attempts", 31), ("sessions", 17), ("audit_log", 73)] {
        let mut at = story.log_start
            + rng.random_range(3..every_min) * MS_PER_MIN
            + rng.random_range(0..60_000);
        while at < story.log_end {
            let gone = table == "sessions" && at >= story.drop_begin;
            if !gone {
                let mut indexes = vec![match table {
                    "login_attempts" => "login_attempts_pkey",
                    "sessions" => "sessions_pkey",
                    _ => "audit_log_pkey",
                }];
                if table == "sessions" {
                    indexes.extend(["sessions_user_id_idx", "sessions_expires_at_idx"]);
                }
                if table == "login_attempts" && at > index_created {
                    indexes.push("login_attempts_user_id_created_at_idx");
                }
                let message = autovacuum_message(table, &indexes, rng);
                let pid = db.fork(at, rng);
                db.log(at, pid, &message)?;
            }
            at += (every_min + rng.random_range(-4..5)) * MS_PER_MIN + rng.random_range(0..60_000);
        }
    }

    // Slow app queries (log_min_duration_statement = 1s, extended protocol).
    let mut at = story.log_start + 9 * MS_PER_MIN + rng.random_range(0..60_000);
    while at < story.log_end {
        let user = &users[rng.random_range(0..users.len())];
        let micros: i64 = rng.random_range(1_000_000..2_600_000);
        db.add(
            at,
            pool.pick(rng),
            &[
                (
                    "LOG",
                    &format!(
                        "duration: {}.{:03} ms  execute <unnamed>: SELECT count(*) FROM login_attempts WHERE user_id = $1 AND attempted_at > now() - interval '15 minutes' AND NOT success",
                        micros / 1_000,
                        micros % 1_000
                    ),
                ),
                ("DETAIL", &format!("parameters: $1 = '{}'", user.id)),
            ],
        )?;
        at += rng.random_range(18..45) * MS_PER_MIN + rng.random_range(0..60_000);
    }

    // The DBA's first session: a harmless column.
    let dba_connected = story.at(12, 38, 14, 377)?;
    let mut dba = DbSession {
        pid: db.fork(dba_connected, rng),
        user: "dba_maria",
        app: "psql",
        host: DBA_HOST,
        port: 53_122,
        connected: dba_connected,
    };
    dba.connect(&mut db)?;
    dba.statement(
        &mut db,
        story.at(12, 39, 2, 118)?,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'users';",
        None,
        rng,
    )?;
    dba.statement(
        &mut db,
        story.at(12, 40, 22, 560)?,
        "ALTER TABLE users ADD COLUMN last_login_ip inet;",
        None,
        rng,
    )?;
    dba.disconnect(&mut db, story.at(12, 44, 5, 902)?)?;

    // A reporting tool with a stale password.
    for (sec, milli) in [(41, 207), (46, 330), (51, 452)] {
        let received = story.at(13, 10, sec, milli)?;
        let pid = db.fork(received, rng);
        db.log(
            received,
            pid,
            &format!(
                "connection received: host=10.0.7.33 port={}",
                rng.random_range(40_000..60_000)
            ),
        )?;
        db.add(
            story.at(13, 10, sec, milli + 3)?,
            pid,
            &[
                ("FATAL", "password authentication failed for user \"reporting\""),
                (
                    "DETAIL",
                    "Connection matched pg_hba.conf line 98: \"host    all    all    10.0.0.0/8    scram-sha-256\"",
                ),
            ],
        )?;
    }

    // The migration tool's index build.
    let migrate_connected = story.at(13, 29, 58, 640)?;
    let migrate = DbSession {
        pid: db.fork(migrate_connected, rng),
        user: "auth_migrator",
        app: "migrate",
        host: "10.0.3.40",
        port: 38_810,
        connected: migrate_connected,
    };
    migrate.connect(&mut db)?;
    migrate.statement(
        &mut db,
        story.at(13, 30, 5, 231)?,
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS login_attempts_user_id_created_at_idx ON login_attempts (user_id, created_at);",
        Some(story.at(13, 30, 46, 467)?),
        rng,
    )?;
    migrate.disconnect(&mut db, story.at(13, 30, 46, 490)?)?;

    // The DBA's afternoon session, ending in the DROP.
    dba.connected = story.at(14, 50, 12, 95)?;
    dba.pid = db.fork(dba.connected, rng);
    dba.port = 53_388;
    dba.connect(&mut db)?;
    dba.statement(
        &mut db,
        story.at(14, 51, 3, 772)?,
        "SELECT relname, n_dead_tup, last_autovacuum FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 10;",
        None,
        rng,
    )?;
    dba.statement(
        &mut db,
        story.at(14, 52, 8, 14)?,
        "VACUUM ANALYZE login_attempts;",
        Some(story.at(14, 52, 35, 380)?),
        rng,
    )?;
    dba.statement(
        &mut db,
        story.at(14, 56, 21, 603)?,
        "DELETE FROM sessions_archive WHERE created_at < now() - interval '90 days';",
        Some(story.at(14, 56, 29, 725)?),
        rng,
    )?;
    dba.statement(
        &mut db,
        story.at(14, 58, 33, 250)?,
        DESCRIBE_SESSIONS,
        None,
        rng,
    )?;
    dba.statement(&mut db, story.drop_begin, "BEGIN;", None, rng)?;
    dba.statement(&mut db, story.drop, "DROP TABLE sessions;", None, rng)?;
    dba.statement(&mut db, story.drop_commit, "COMMIT;", None, rng)?;
    dba.disconnect(&mut db, story.at(15, 3, 27, 118)?)?;
    let dba_pid = dba.pid;

    // The app's statements against the missing table. Those that queued behind the DROP's lock
    // log the wait (log_lock_waits, deadlock_timeout = 1s) before failing.
    let mut waiters: Vec<(Ms, &Request)> = requests
        .iter()
        .filter_map(|r| match r.outcome {
            Outcome::SessionsMissing {
                query_at,
                blocked: true,
            } => Some((query_at, r)),
            _ => None,
        })
        .collect();
    // The lock's wait queue is in arrival order.
    waiters.sort_by_key(|&(query_at, r)| (query_at, r.seq));
    let waiter_pids: Vec<u32> = (0..waiters.len())
        .map(|i| pool.pids[(i * 7 + 3) % pool.pids.len()])
        .collect();
    for request in requests {
        let Outcome::SessionsMissing { query_at, blocked } = request.outcome else {
            continue;
        };
        let sql = request.endpoint.sessions_sql();
        let error = missing_relation_error(sql);
        if !blocked {
            db.add(
                query_at,
                pool.pick(rng),
                &[("ERROR", &error), ("STATEMENT", sql)],
            )?;
            continue;
        }
        let position = waiters
            .iter()
            .position(|(_, w)| w.seq == request.seq)
            .context("blocked request missing from its own list")?;
        let pid = waiter_pids[position];
        let woke = request.done - 1;
        let waited_us = (woke - query_at) * 1_000 + rng.random_range(0..1_000);
        if waited_us > 1_000_000 {
            let queue: Vec<String> = waiters
                .iter()
                .zip(&waiter_pids)
                .filter(|((other, _), _)| *other <= query_at + 1_000)
                .map(|(_, pid)| pid.to_string())
                .collect();
            let check_us = 1_000_000 + rng.random_range(20..400);
            db.add(
                query_at + 1_000,
                pid,
                &[
                    (
                        "LOG",
                        &format!(
                            "process {pid} still waiting for {} on relation {SESSIONS_OID} of database {DATABASE_OID} after {}.{:03} ms",
                            request.endpoint.lock_mode(),
                            check_us / 1_000,
                            check_us % 1_000
                        ),
                    ),
                    (
                        "DETAIL",
                        &format!(
                            "Process holding the lock: {dba_pid}. Wait queue: {}.",
                            queue.join(", ")
                        ),
                    ),
                    ("STATEMENT", sql),
                ],
            )?;
            db.add(
                woke,
                pid,
                &[
                    (
                        "LOG",
                        &format!(
                            "process {pid} acquired {} on relation {SESSIONS_OID} of database {DATABASE_OID} after {}.{:03} ms",
                            request.endpoint.lock_mode(),
                            waited_us / 1_000,
                            waited_us % 1_000
                        ),
                    ),
                    ("STATEMENT", sql),
                ],
            )?;
        }
        db.add(woke, pid, &[("ERROR", &error), ("STATEMENT", sql)])?;
    }

    // Background statement timeouts (statement_timeout = 3s).
    for request in requests {
        if request.outcome == Outcome::Fault(Fault::StatementTimeout) {
            db.add(
                request.done - 2,
                pool.pick(rng),
                &[
                    ("ERROR", "canceling statement due to statement timeout"),
                    (
                        "STATEMENT",
                        "SELECT id, password_hash, mfa_enabled, disabled_at FROM users WHERE id = $1",
                    ),
                ],
            )?;
        }
    }

    // The token-cleanup job's failures (its successes are fast DML, not logged).
    let cleanup_sql = "DELETE FROM sessions WHERE expires_at < now()";
    for run in cleanups {
        if run.failed {
            let error = missing_relation_error(cleanup_sql);
            db.add(
                run.start + run.duration - 1,
                pool.pick(rng),
                &[("ERROR", &error), ("STATEMENT", cleanup_sql)],
            )?;
        }
    }

    // A duplicate insert the app retries on its own.
    db.add(
        story.at(18, 12, 40, 219)?,
        pool.pick(rng),
        &[
            (
                "ERROR",
                "duplicate key value violates unique constraint \"login_attempts_pkey\"",
            ),
            ("DETAIL", "Key (id)=(8812734) already exists."),
            (
                "STATEMENT",
                "INSERT INTO login_attempts (id, user_id, success, attempted_at) VALUES ($1, $2, $3, now())",
            ),
        ],
    )?;

    // The restore: pg_restore --single-transaction from last night's dump, as the DBA (whose
    // role logs every statement). It commits just before 17:00:00.000.
    let restore = DbSession {
        pid: db.fork(story.restore_connect, rng),
        user: "dba_maria",
        app: "pg_restore",
        host: DBA_HOST,
        port: 53_544,
        connected: story.restore_connect,
    };
    restore.connect(&mut db)?;
    let mut at = restore.connected + 17;
    for sql in [
        "SET statement_timeout = 0;",
        "SET lock_timeout = 0;",
        "SET idle_in_transaction_session_timeout = 0;",
        "SET client_encoding = 'UTF8';",
        "SET standard_conforming_strings = on;",
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "SET check_function_bodies = false;",
        "SET xmloption = content;",
        "SET client_min_messages = warning;",
        "SET row_security = off;",
        "BEGIN",
        "SET default_tablespace = '';",
        "SET default_table_access_method = heap;",
        CREATE_SESSIONS,
        "ALTER TABLE public.sessions OWNER TO auth_app;",
    ] {
        restore.statement(&mut db, at, sql, None, rng)?;
        at += rng.random_range(0..3);
    }
    let copy_start = at + 4;
    let steps: [(&str, Ms); 4] = [
        (
            "COPY public.sessions (token, user_id, created_at, expires_at, client_ip) FROM stdin;",
            story.at(16, 51, 18, 733)?,
        ),
        (
            "CREATE INDEX sessions_expires_at_idx ON public.sessions USING btree (expires_at);",
            story.at(16, 54, 52, 104)?,
        ),
        (
            "CREATE INDEX sessions_user_id_idx ON public.sessions USING btree (user_id);",
            story.at(16, 57, 41, 560)?,
        ),
        (
            "ALTER TABLE ONLY public.sessions ADD CONSTRAINT sessions_pkey PRIMARY KEY (token);",
            story.at(16, 59, 59, 981)?,
        ),
    ];
    let mut start = copy_start;
    for (sql, end) in steps {
        restore.statement(&mut db, start, sql, Some(end), rng)?;
        start = end + 3;
    }
    let commit = story.outage_end - 4;
    restore.statement(&mut db, commit, "COMMIT", None, rng)?;
    restore.disconnect(&mut db, story.outage_end + 37)?;
    let analyze = story.at(17, 1, 4, 810)?;
    let pid = db.fork(analyze, rng);
    db.log(
        analyze,
        pid,
        "automatic analyze of table \"auth.public.sessions\"\navg read rate: 31.225 MB/s, avg write rate: 0.000 MB/s\nbuffer usage: 1243 hits, 3811 misses, 2 dirtied\nsystem usage: CPU: user: 0.31 s, system: 0.05 s, elapsed: 0.95 s",
    )?;

    Ok(DbOut {
        text: db.render(),
        drop_at: story.drop,
        restore_at: restore.connected,
    })
}

// ---------------------------------------------------------------------------------------------
// alerts/alertmanager.jsonl (webhook payloads, version 4)

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Webhook {
    receiver: String,
    status: String,
    alerts: Vec<AmAlert>,
    group_labels: BTreeMap<String, String>,
    common_labels: BTreeMap<String, String>,
    common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    external_url: String,
    version: String,
    group_key: String,
    truncated_alerts: u32,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct AmAlert {
    status: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: String,
    fingerprint: String,
}

/// One firing-to-resolved stretch of an alert rule, at the rule's evaluation instants.
#[derive(Debug, Clone, Copy)]
struct Episode {
    fired: Ms,
    resolved: Ms,
}

struct AlertOut {
    text: LogText,
    outage_alert: Episode,
    /// When Alertmanager's first notification for the outage left (after group_wait).
    outage_notified: Ms,
}

const AUTH_RULE: &str = "sum(rate(http_requests_total{service=\"auth-service\",code=~\"5..\"}[5m])) / sum(rate(http_requests_total{service=\"auth-service\"}[5m])) > 0.05";
const EXTERNAL_URL: &str = "http://alertmanager.monitoring.svc:9093";
const EVAL_EVERY: Ms = 15 * MS_PER_SEC;
const RULE_RANGE: Ms = 5 * MS_PER_MIN;
const RULE_FOR: Ms = 5 * MS_PER_MIN;

/// The 5xx share of the requests answered in the 5 minutes up to each evaluation.
fn error_ratio_at(requests: &[&Request], at: Ms) -> f64 {
    let from = requests.partition_point(|r| r.done <= at - RULE_RANGE);
    let to = requests.partition_point(|r| r.done <= at);
    let window = &requests[from..to];
    if window.is_empty() {
        return 0.0;
    }
    window.iter().filter(|r| r.failed()).count() as f64 / window.len() as f64
}

/// Runs the alert rule (`ratio > 0.05 for 5m`, evaluated every 15 s) over the requests the
/// service answered, like Prometheus would over its counters.
fn rule_episodes(requests: &[&Request], from: Ms, to: Ms) -> Vec<Episode> {
    let mut episodes = Vec::new();
    let mut active_since: Option<Ms> = None;
    let mut fired: Option<Ms> = None;
    let mut at = from;
    while at < to {
        if error_ratio_at(requests, at) > 0.05 {
            let since = *active_since.get_or_insert(at);
            if fired.is_none() && at - since >= RULE_FOR {
                fired = Some(at);
            }
        } else {
            if let Some(fired) = fired {
                episodes.push(Episode {
                    fired,
                    resolved: at,
                });
            }
            active_since = None;
            fired = None;
        }
        at += EVAL_EVERY;
    }
    episodes
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn webhook(receiver: &str, group_key: &str, alert: &AmAlert) -> Webhook {
    let alertname = alert.labels.get("alertname").cloned().unwrap_or_default();
    Webhook {
        receiver: receiver.to_string(),
        status: alert.status.clone(),
        alerts: vec![alert.clone()],
        group_labels: labels(&[("alertname", &alertname)]),
        common_labels: alert.labels.clone(),
        common_annotations: alert.annotations.clone(),
        external_url: EXTERNAL_URL.to_string(),
        version: "4".to_string(),
        group_key: group_key.to_string(),
        truncated_alerts: 0,
    }
}

fn alert_log(story: &Story, requests: &[Request], rng: &mut ChaCha8Rng) -> Result<AlertOut> {
    // Prometheus counts every answered request, including the one whose log line was cut.
    let answered: Vec<&Request> = requests.iter().collect();
    let episodes = rule_episodes(&answered, story.log_start + 11_732, story.log_end);
    ensure!(
        episodes.len() == 1,
        "the error-rate rule fired {} times, expected once: {episodes:?}",
        episodes.len()
    );
    let outage_alert = episodes[0];

    let mut sent: Vec<(Ms, String)> = Vec::new();
    const FIRING_END: &str = "0001-01-01T00:00:00Z";

    // The unrelated disk alert on the log host, routed to chat only.
    let disk_start = story.at(13, 20, 14, 512)?;
    let disk_end = story.at(13, 48, 29, 77)?;
    let disk_ns = rng.random_range(0..1_000_000);
    let disk_labels = labels(&[
        ("alertname", "DiskSpaceLow"),
        ("device", "/dev/nvme1n1"),
        ("fstype", "ext4"),
        ("instance", "logs-01.example.internal:9100"),
        ("job", "node"),
        ("mountpoint", "/var/log"),
        ("service", "logging"),
        ("severity", "warning"),
    ]);
    let disk_expr = "node_filesystem_avail_bytes{mountpoint=\"/var/log\"} / node_filesystem_size_bytes{mountpoint=\"/var/log\"} < 0.1";
    let mut disk = AmAlert {
        status: "firing".into(),
        labels: disk_labels,
        annotations: labels(&[
            (
                "description",
                "Only 7.8% of /var/log is free on logs-01.example.internal.",
            ),
            (
                "summary",
                "Disk space low on logs-01.example.internal:/var/log",
            ),
        ]),
        starts_at: rfc3339_utc_ns(disk_start, disk_ns)?,
        ends_at: FIRING_END.into(),
        generator_url: format!(
            "http://prometheus-k8s-0:9090/graph?g0.expr={}&g0.tab=1",
            query_escape(disk_expr)
        ),
        fingerprint: hex(rng, 16),
    };
    let disk_key = "{}/{severity=\"warning\"}:{alertname=\"DiskSpaceLow\"}";
    let line = serde_json::to_string(&webhook("slack-warnings", disk_key, &disk))?;
    sent.push((disk_start + 30_000, line));
    disk.status = "resolved".into();
    disk.ends_at = rfc3339_utc_ns(disk_end, rng.random_range(0..1_000_000))?;
    let line = serde_json::to_string(&webhook("slack-warnings", disk_key, &disk))?;
    sent.push((disk_end + 5 * MS_PER_MIN, line));

    // The outage alert: first notification after group_wait (30 s), repeats every 45 minutes
    // (repeat_interval) with freshly evaluated annotations, then the resolution.
    let auth_key = "{}/{severity=\"critical\"}:{alertname=\"AuthErrorRateHigh\"}";
    let fingerprint = hex(rng, 16);
    let auth_alert = |status: &str, value_at: Ms, ends_at: &str| -> Result<AmAlert> {
        let ratio = error_ratio_at(&answered, value_at);
        Ok(AmAlert {
            status: status.into(),
            labels: labels(&[
                ("alertname", "AuthErrorRateHigh"),
                ("service", SERVICE),
                ("severity", "critical"),
                ("team", "identity"),
            ]),
            annotations: labels(&[
                (
                    "description",
                    &format!(
                        "{:.1}% of auth-service requests failed over the last 5 minutes (threshold 5%).",
                        ratio * 100.0
                    ),
                ),
                (
                    "runbook_url",
                    "https://runbooks.example.internal/auth/error-rate",
                ),
                ("summary", "auth-service 5xx error rate above 5%"),
            ]),
            starts_at: rfc3339_utc_ms(outage_alert.fired)?,
            ends_at: ends_at.into(),
            generator_url: format!(
                "http://prometheus-k8s-0:9090/graph?g0.expr={}&g0.tab=1",
                query_escape(AUTH_RULE)
            ),
            fingerprint: fingerprint.clone(),
        })
    };
    let outage_notified = outage_alert.fired + 30_000 + rng.random_range(100..900);
    let mut notify = outage_notified;
    while notify < outage_alert.resolved {
        let alert = auth_alert("firing", notify - notify % EVAL_EVERY, FIRING_END)?;
        let line = serde_json::to_string(&webhook("pagerduty-identity", auth_key, &alert))?;
        sent.push((notify, line));
        notify += 45 * MS_PER_MIN;
    }
    // A resolved alert keeps the annotations of its last firing evaluation.
    let alert = auth_alert(
        "resolved",
        outage_alert.resolved - EVAL_EVERY,
        &rfc3339_utc_ms(outage_alert.resolved)?,
    )?;
    let line = serde_json::to_string(&webhook("pagerduty-identity", auth_key, &alert))?;
    sent.push((outage_alert.resolved + 5 * MS_PER_MIN, line));

    sent.sort_by_key(|(ms, _)| *ms);
    let mut text = LogText::default();
    for (_, line) in &sent {
        text.record(line);
    }
    Ok(AlertOut {
        text,
        outage_alert,
        outage_notified,
    })
}

// ---------------------------------------------------------------------------------------------
// paging/pagerduty.jsonl (v3 webhook events)

#[derive(Serialize, Clone)]
struct Reference {
    html_url: String,
    id: String,
    #[serde(rename = "self")]
    self_url: String,
    summary: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Clone)]
struct Bridge {
    conference_number: String,
    conference_url: String,
}

#[derive(Serialize, Clone)]
struct Incident {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "self")]
    self_url: String,
    html_url: String,
    number: u32,
    status: String,
    incident_key: String,
    created_at: String,
    title: String,
    service: Reference,
    assignees: Vec<Reference>,
    escalation_policy: Reference,
    teams: Vec<Reference>,
    priority: Option<Reference>,
    urgency: String,
    conference_bridge: Option<Bridge>,
    resolve_reason: Option<String>,
}

#[derive(Serialize)]
struct Note {
    incident: Reference,
    id: String,
    content: String,
    trimmed: bool,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum PageData {
    Incident(Box<Incident>),
    Note(Note),
}

#[derive(Serialize)]
struct Client {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct PageEvent {
    id: String,
    event_type: String,
    resource_type: String,
    occurred_at: String,
    agent: Option<Reference>,
    client: Option<Client>,
    data: PageData,
}

#[derive(Serialize)]
struct PageLine {
    event: PageEvent,
}

struct PageOut {
    text: LogText,
    triggered: Ms,
    acknowledged: Ms,
    escalated: Ms,
    resolved: Ms,
}

const PD_WEB: &str = "https://example.pagerduty.com";
const PD_API: &str = "https://api.pagerduty.com";

fn pd_id<R: RngExt>(rng: &mut R) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    let tail: String = (0..6)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("P{tail}")
}

fn reference(id: &str, web: &str, api: &str, summary: &str, kind: &str) -> Reference {
    Reference {
        html_url: format!("{PD_WEB}/{web}/{id}"),
        id: id.to_string(),
        self_url: format!("{PD_API}/{api}/{id}"),
        summary: summary.to_string(),
        kind: kind.to_string(),
    }
}

fn person<R: RngExt>(rng: &mut R, name: &str) -> Reference {
    reference(&pd_id(rng), "users", "users", name, "user_reference")
}

fn page_log(story: &Story, alerts: &AlertOut, rng: &mut ChaCha8Rng) -> Result<PageOut> {
    let primary = person(rng, "Priya Raman");
    let dba_oncall = person(rng, "Daniel Okafor");
    let incident_id = pd_id(rng);
    let triggered = alerts.outage_notified + rng.random_range(600..1_800);
    let acknowledged = story.at(15, 12, 18, 402)?;
    let escalated = story.at(15, 15, 2, 958)?;
    let dba_ack = story.at(15, 17, 40, 221)?;
    let priority_set = story.at(15, 18, 11, 730)?;
    let first_note = story.at(15, 31, 26, 144)?;
    let restore_note = story.at(16, 35, 12, 687)?;
    let resolved = story.at(17, 8, 43, 305)?;

    let mut incident = Incident {
        id: incident_id.clone(),
        kind: "incident".into(),
        self_url: format!("{PD_API}/incidents/{incident_id}"),
        html_url: format!("{PD_WEB}/incidents/{incident_id}"),
        number: 4187,
        status: "triggered".into(),
        // Alertmanager's dedup key is a SHA-256 of the group key: 64 hex digits.
        incident_key: hex(rng, 64),
        created_at: super::utc(triggered)?.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        title: "[FIRING:1] AuthErrorRateHigh (auth-service critical)".into(),
        service: reference(
            &pd_id(rng),
            "services",
            "services",
            SERVICE,
            "service_reference",
        ),
        assignees: vec![primary.clone()],
        escalation_policy: reference(
            &pd_id(rng),
            "escalation_policies",
            "escalation_policies",
            "Identity Platform - Escalation",
            "escalation_policy_reference",
        ),
        teams: vec![reference(
            &pd_id(rng),
            "teams",
            "teams",
            "Identity Platform",
            "team_reference",
        )],
        priority: None,
        urgency: "high".into(),
        conference_bridge: Some(Bridge {
            conference_number: "+1 555-0142,,482913#".into(),
            conference_url: "https://meet.example.com/identity-bridge".into(),
        }),
        resolve_reason: None,
    };
    let incident_ref = Reference {
        html_url: incident.html_url.clone(),
        id: incident.id.clone(),
        self_url: incident.self_url.clone(),
        summary: format!("[#{}] {}", incident.number, incident.title),
        kind: "incident_reference".into(),
    };
    let web_client = || {
        Some(Client {
            name: "PagerDuty".into(),
            url: None,
        })
    };

    let mut events: Vec<(Ms, PageEvent)> = Vec::new();
    let mut event = |ms: Ms,
                     event_type: &str,
                     agent: Option<Reference>,
                     client: Option<Client>,
                     data: PageData,
                     rng: &mut ChaCha8Rng|
     -> Result<()> {
        events.push((
            ms,
            PageEvent {
                id: uuid_v4(rng),
                event_type: event_type.into(),
                resource_type: "incident".into(),
                occurred_at: rfc3339_utc_ms(ms)?,
                agent,
                client,
                data,
            },
        ));
        Ok(())
    };

    let alertmanager = Some(Client {
        name: "Alertmanager".into(),
        url: Some(EXTERNAL_URL.into()),
    });
    event(
        triggered,
        "incident.triggered",
        None,
        alertmanager,
        PageData::Incident(Box::new(incident.clone())),
        rng,
    )?;
    incident.status = "acknowledged".into();
    event(
        acknowledged,
        "incident.acknowledged",
        Some(primary.clone()),
        web_client(),
        PageData::Incident(Box::new(incident.clone())),
        rng,
    )?;
    // Escalating hands the incident to the database on-call and re-triggers it.
    incident.status = "triggered".into();
    incident.assignees = vec![dba_oncall.clone()];
    event(
        escalated,
        "incident.escalated",
        Some(primary.clone()),
        web_client(),
        PageData::Incident(Box::new(incident.clone())),
        rng,
    )?;
    incident.status = "acknowledged".into();
    event(
        dba_ack,
        "incident.acknowledged",
        Some(dba_oncall.clone()),
        web_client(),
        PageData::Incident(Box::new(incident.clone())),
        rng,
    )?;
    incident.priority = Some(reference(
        &pd_id(rng),
        "account/incident_priorities",
        "priorities",
        "P1",
        "priority_reference",
    ));
    event(
        priority_set,
        "incident.priority_updated",
        Some(primary.clone()),
        web_client(),
        PageData::Incident(Box::new(incident.clone())),
        rng,
    )?;
    for (ms, author, content) in [
        (
            first_note,
            &primary,
            "Logins failing for most users since 15:00 EDT: relation \"sessions\" does not exist. sessions table was dropped during manual maintenance at 14:59.",
        ),
        (
            restore_note,
            &dba_oncall,
            "Restoring sessions table from last night's backup (pg_restore --single-transaction). ETA ~17:00 EDT.",
        ),
    ] {
        let note = Note {
            incident: incident_ref.clone(),
            id: pd_id(rng),
            content: content.into(),
            trimmed: false,
            kind: "incident_note".into(),
        };
        event(
            ms,
            "incident.annotated",
            Some(author.clone()),
            web_client(),
            PageData::Note(note),
            rng,
        )?;
    }
    incident.status = "resolved".into();
    event(
        resolved,
        "incident.resolved",
        Some(primary.clone()),
        web_client(),
        PageData::Incident(Box::new(incident.clone())),
        rng,
    )?;

    events.sort_by_key(|(ms, _)| *ms);
    let mut text = LogText::default();
    for (_, event) in events {
        text.record(&serde_json::to_string(&PageLine { event })?);
    }
    Ok(PageOut {
        text,
        triggered,
        acknowledged,
        escalated,
        resolved,
    })
}

// ---------------------------------------------------------------------------------------------
// expected.json: the truth, measured on what was generated.

#[derive(Serialize)]
struct Window {
    start: String,
    end: String,
}

#[derive(Serialize)]
struct RootCause {
    time: String,
    text: String,
}

#[derive(Serialize)]
struct Expected {
    scenario: String,
    window: Window,
    users_active: usize,
    users_affected: usize,
    users_affected_pct: f64,
    requests_total: usize,
    requests_failed: usize,
    requests_failed_pct: f64,
    baseline_error_rate: f64,
    peak_error_rate: f64,
    first_alert: String,
    acknowledged: String,
    escalated: String,
    resolved: String,
    alert_resolved: String,
    time_to_detect_seconds: f64,
    time_to_acknowledge_seconds: f64,
    time_to_resolve_seconds: f64,
    root_cause: RootCause,
    restore_start: String,
    lines: BTreeMap<String, LineCounts>,
}

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

fn seconds_between(from: Ms, to: Ms) -> f64 {
    round_to((to - from) as f64 / 1_000.0, 3)
}

#[allow(clippy::too_many_arguments)]
fn measure(
    story: &Story,
    users: &[User],
    requests: &[Request],
    app: &AppLog,
    db: &DbOut,
    alerts: &AlertOut,
    pages: &PageOut,
    lines: BTreeMap<String, LineCounts>,
) -> Result<Expected> {
    // Only what a reader of the app log can see: the request rotation cut is gone.
    let seen: Vec<&Request> = requests
        .iter()
        .filter(|r| !app.lost.contains(&r.seq))
        .collect();

    // The window, from the failing requests themselves, to the second.
    let outage: Vec<Ms> = seen
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::SessionsMissing { .. }))
        .map(|r| r.done)
        .collect();
    let first = outage
        .iter()
        .min()
        .context("no request failed in the outage")?;
    let last = outage
        .iter()
        .max()
        .context("no request failed in the outage")?;
    let start = first - first.rem_euclid(MS_PER_SEC);
    let end = last - last.rem_euclid(MS_PER_SEC) + MS_PER_SEC;
    ensure!(
        start == story.outage_start && end == story.outage_end,
        "the failing requests span {start}..{end}, not the story's outage"
    );

    let inside: Vec<&Request> = seen
        .iter()
        .copied()
        .filter(|r| (start..end).contains(&r.done))
        .collect();
    let active: BTreeSet<&str> = inside.iter().map(|r| users[r.user].id.as_str()).collect();
    let affected: BTreeSet<&str> = inside
        .iter()
        .filter(|r| r.failed())
        .map(|r| users[r.user].id.as_str())
        .collect();
    let failed = inside.iter().filter(|r| r.failed()).count();

    let before: Vec<&Request> = seen.iter().copied().filter(|r| r.done < start).collect();
    let baseline = before.iter().filter(|r| r.failed()).count() as f64 / before.len() as f64;

    let mut per_minute: BTreeMap<Ms, (usize, usize)> = BTreeMap::new();
    for request in &inside {
        let slot = per_minute
            .entry((request.done - start) / MS_PER_MIN)
            .or_default();
        slot.0 += usize::from(request.failed());
        slot.1 += 1;
    }
    let peak = per_minute
        .values()
        .map(|&(f, t)| f as f64 / t as f64)
        .fold(0.0, f64::max);

    // The first sign of the outage in the alerting/paging history.
    let first_alert = alerts.outage_alert.fired.min(pages.triggered);

    Ok(Expected {
        scenario: NAME.to_string(),
        window: Window {
            start: rfc3339_utc_ms(start)?,
            end: rfc3339_utc_ms(end)?,
        },
        users_active: active.len(),
        users_affected: affected.len(),
        users_affected_pct: round_to(affected.len() as f64 * 100.0 / active.len() as f64, 2),
        requests_total: inside.len(),
        requests_failed: failed,
        requests_failed_pct: round_to(failed as f64 * 100.0 / inside.len() as f64, 2),
        baseline_error_rate: round_to(baseline, 4),
        peak_error_rate: round_to(peak, 4),
        first_alert: rfc3339_utc_ms(first_alert)?,
        acknowledged: rfc3339_utc_ms(pages.acknowledged)?,
        escalated: rfc3339_utc_ms(pages.escalated)?,
        resolved: rfc3339_utc_ms(pages.resolved)?,
        alert_resolved: rfc3339_utc_ms(alerts.outage_alert.resolved)?,
        time_to_detect_seconds: seconds_between(start, first_alert),
        time_to_acknowledge_seconds: seconds_between(first_alert, pages.acknowledged),
        time_to_resolve_seconds: seconds_between(start, pages.resolved),
        root_cause: RootCause {
            time: rfc3339_utc_ms(db.drop_at)?,
            text: "DROP TABLE sessions;".to_string(),
        },
        restore_start: rfc3339_utc_ms(db.restore_at)?,
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_time_matches_postgres() {
        assert_eq!(session_time(0), "0:00:00.000");
        assert_eq!(session_time(94_443_120), "26:14:03.120");
        assert_eq!(session_time(12 * 60_000 + 51_234), "0:12:51.234");
    }

    #[test]
    fn missing_relation_points_at_the_table_name() {
        assert_eq!(
            missing_relation_error("SELECT user_id, expires_at FROM sessions WHERE token = $1"),
            "relation \"sessions\" does not exist at character 33"
        );
        assert_eq!(
            missing_relation_error("DELETE FROM sessions WHERE expires_at < now()"),
            "relation \"sessions\" does not exist at character 13"
        );
    }

    #[test]
    fn db_records_continue_with_tabs_and_keep_prefixed_details() -> Result<()> {
        let story = Story::new()?;
        let mut db = DbLog {
            records: Vec::new(),
            log_start: story.log_start,
            used_pids: BTreeSet::new(),
        };
        db.add(
            story.drop + 5,
            42,
            &[("ERROR", "boom"), ("STATEMENT", "SELECT 1\nFROM t")],
        )?;
        db.log(story.drop, 7, "statement: DROP TABLE sessions;")?;
        let text = db.render();
        assert_eq!(
            text.text,
            "2023-10-15 14:59:50.318 EDT [7] LOG:  statement: DROP TABLE sessions;\n\
             2023-10-15 14:59:50.323 EDT [42] ERROR:  boom\n\
             2023-10-15 14:59:50.323 EDT [42] STATEMENT:  SELECT 1\n\
             \tFROM t\n"
        );
        assert_eq!(text.counts.parsed, 2);
        assert_eq!(text.counts.joined, 2);
        Ok(())
    }

    fn fake_request(seq: u64, done: Ms, failed: bool) -> Request {
        Request {
            seq,
            user: 0,
            device: 0,
            endpoint: Endpoint::Me,
            try_no: 1,
            arrival: done - 5,
            done,
            latency_ms: 5.0,
            outcome: if failed {
                Outcome::Fault(Fault::ConnReset)
            } else {
                Outcome::Ok
            },
            request_id: String::new(),
        }
    }

    #[test]
    fn alert_rule_needs_five_minutes_above_threshold() {
        // One request per second; all fail from t = 600 s to t = 1200 s.
        let requests: Vec<Request> = (0..2_400)
            .map(|s| fake_request(s, s as Ms * 1_000, (600..1_200).contains(&s)))
            .collect();
        let refs: Vec<&Request> = requests.iter().collect();
        let episodes = rule_episodes(&refs, 0, 2_400_000);
        assert_eq!(episodes.len(), 1);
        // Ratio passes 5 % after ~16 failures (at 615 s); pending from the 615 s evaluation,
        // firing five minutes later.
        assert_eq!(episodes[0].fired, 915_000);
        // After the failures stop the 5-minute ratio falls below 5 % near 1485 s.
        assert!((1_470_000..=1_500_000).contains(&episodes[0].resolved));
    }

    #[test]
    fn affected_users_fail_exactly_inside_the_outage() -> Result<()> {
        let story = Story::new()?;
        let users = build_users(&mut stream(1));
        let requests = simulate(&story, &users, &mut stream(2))?;
        for request in &requests {
            let inside = (story.outage_start..story.outage_end).contains(&request.done);
            let missing = matches!(request.outcome, Outcome::SessionsMissing { .. });
            if users[request.user].affected {
                assert_eq!(inside, missing, "{request:?}");
            } else {
                assert!(!missing, "{request:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn generation_is_deterministic() -> Result<()> {
        assert_eq!(generate()?, generate()?);
        Ok(())
    }
}
