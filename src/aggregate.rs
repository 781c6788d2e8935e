//! Aggregate: folds the event stream into mergeable per-minute (and per-second) counters per
//! stream, the users seen per minute, message templates, and the few notable events worth
//! keeping (changes, alerts, pages). Memory grows with the time span, not with the input size.
//!
//! This is a hot path: an event is counted without allocating (streams and templates are looked
//! up through reused key buffers, user ids hashed from the borrowed text). A file read in chunks
//! builds one partial aggregate per chunk ([`SplitSink::fork`]); partials are taken in in file
//! order ([`SplitSink::absorb`]) and give exactly what one pass over the file gives, caps
//! included: a partial applies no cap of its own but remembers the order its keys first came in.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use crate::event::{
    AlertState, Event, EventView, NS_PER_SEC, Origin, Severity, SourceKind, TimeNs,
};
use crate::ingest::{EventSink, SplitSink};
use crate::notable::{self, Change};
use crate::template::{TemplateCache, request_template_into};

/// Distinct templates tracked; later new ones are only counted.
pub const MAX_TEMPLATES: usize = 5_000;
/// Change events kept per minute and kind (a DBA script can log thousands of statements).
pub const MAX_CHANGES_PER_MINUTE: usize = 20;
/// Alert and paging events kept (they are few in any real history).
pub const MAX_ALERT_EVENTS: usize = 50_000;

pub fn minute_of(ns: TimeNs) -> i64 {
    ns.div_euclid(60 * NS_PER_SEC) * 60
}

pub fn second_of(ns: TimeNs) -> i64 {
    ns.div_euclid(NS_PER_SEC)
}

/// A request series: one kind of source for one service (`app:auth-service`, `web:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    pub kind: SourceKind,
    pub service: String,
}

impl StreamKey {
    pub fn label(&self) -> String {
        if self.service.is_empty() {
            format!("{} tier", self.kind)
        } else {
            format!("{} ({})", self.service, self.kind)
        }
    }
}

/// Counters for one minute of one stream.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MinuteCounts {
    /// User-facing requests (health checks and static files excluded).
    pub requests: u64,
    /// Of those, failed (5xx).
    pub failed: u64,
    /// Events of severity ERROR or above (requests or not).
    pub error_events: u64,
    pub events: u64,
}

impl std::ops::AddAssign for MinuteCounts {
    fn add_assign(&mut self, o: Self) {
        self.requests += o.requests;
        self.failed += o.failed;
        self.error_events += o.error_events;
        self.events += o.events;
    }
}

/// Requests and failures in one second (for refining window edges to the second).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondCounts {
    pub requests: u32,
    pub failed: u32,
}

impl std::ops::AddAssign for SecondCounts {
    fn add_assign(&mut self, o: Self) {
        self.requests += o.requests;
        self.failed += o.failed;
    }
}

/// Adds the counts of `from` into `into`, key by key (per-minute or per-second series).
fn add_series<V: std::ops::AddAssign + Default>(
    into: &mut BTreeMap<i64, V>,
    from: BTreeMap<i64, V>,
) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

/// The first and last second (0..=59) of its minute in which a user was seen: enough to count
/// a window that starts or ends inside the minute exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenSpan {
    pub first: u8,
    pub last: u8,
}

impl SeenSpan {
    fn at(second: u8) -> SeenSpan {
        SeenSpan {
            first: second,
            last: second,
        }
    }

    fn widen(&mut self, other: SeenSpan) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }
}

/// Hashes user identities that are hashes already ([`identity_hash`]): the value is its own
/// hash, so a set of them costs no second hashing.
#[derive(Debug, Clone, Copy, Default)]
pub struct HashedIdHasher(u64);

impl Hasher for HashedIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed here; any other input is folded in all the same.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A set of user identity hashes.
pub type UserSet = std::collections::HashSet<u64, BuildHasherDefault<HashedIdHasher>>;

/// Users seen in a minute: identity hash → when in the minute.
pub type UserSpans = HashMap<u64, SeenSpan, BuildHasherDefault<HashedIdHasher>>;

/// Adds the users of `other` to `into`, widening the spans of those in both.
fn merge_spans(into: &mut UserSpans, mut other: UserSpans) {
    // Widening is symmetric: fold the smaller set into the larger.
    if other.len() > into.len() {
        std::mem::swap(into, &mut other);
    }
    into.reserve(other.len());
    for (user, span) in other {
        see_in(into, user, span);
    }
}

/// Adds `user` at `span` to `set`; true when the user is new to it.
fn see_in(set: &mut UserSpans, user: u64, span: SeenSpan) -> bool {
    match set.entry(user) {
        std::collections::hash_map::Entry::Occupied(mut seen) => {
            seen.get_mut().widen(span);
            false
        }
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(span);
            true
        }
    }
}

/// Hashed identities of the users seen in one minute, with when in the minute.
#[derive(Debug, Clone, Default)]
pub struct MinuteUsers {
    pub active: UserSpans,
    pub failing: UserSpans,
}

impl MinuteUsers {
    /// Records a request by `user` at `second` of the minute; returns the entries added (0–2).
    pub fn see(&mut self, user: u64, second: u8, failed: bool) -> usize {
        let span = SeenSpan::at(second);
        let mut added = usize::from(see_in(&mut self.active, user, span));
        if failed {
            added += usize::from(see_in(&mut self.failing, user, span));
        }
        added
    }

    fn merge(&mut self, other: MinuteUsers) {
        merge_spans(&mut self.active, other.active);
        merge_spans(&mut self.failing, other.failing);
    }

    fn len(&self) -> usize {
        self.active.len() + self.failing.len()
    }

    /// Keeps only the users `keep` accepts, and gives the memory of the others back.
    fn retain(&mut self, keep: impl Fn(u64) -> bool) {
        for set in [&mut self.active, &mut self.failing] {
            set.retain(|&user, _| keep(user));
            set.shrink_to_fit();
        }
    }
}

/// (minute, user) entries a stream keeps exactly; past this the users are hash-sampled. An
/// entry costs about 24 bytes, so a stream's users stay under ~25 MiB however large the input.
pub const USER_ENTRY_BUDGET: usize = 1 << 20;
/// The sampling level never goes past this (1 user in 2^24).
const MAX_SAMPLE_LEVEL: u8 = 24;

/// The users of one stream, minute by minute, with when in each minute they were seen.
///
/// Exact while the stream holds at most [`USER_ENTRY_BUDGET`] (minute, user) entries. Past it
/// the set becomes a hash sample (distinct sampling, as in a theta sketch): at level `L` only
/// the users whose identity hash has `L` chosen bits all zero are kept, 1 in 2^L of them, the
/// same users in every minute and every stream part. A count over any window is then the
/// sampled count × 2^L, and a share (affected / active) is read off the same sampled users, so
/// its error is that of a proportion over them. Parts merge by raising both to the higher
/// level; the level reached depends only on the users seen, not on how the input was cut.
#[derive(Debug, Clone)]
pub struct StreamUsers {
    minutes: BTreeMap<i64, MinuteUsers>,
    level: u8,
    /// Entries held: active and failing, over all minutes.
    entries: usize,
    budget: usize,
}

impl Default for StreamUsers {
    fn default() -> Self {
        StreamUsers::with_budget(USER_ENTRY_BUDGET)
    }
}

impl StreamUsers {
    /// Users kept exactly up to `budget` entries (tests use small ones).
    pub fn with_budget(budget: usize) -> StreamUsers {
        StreamUsers {
            minutes: BTreeMap::new(),
            level: 0,
            entries: 0,
            budget: budget.max(1),
        }
    }

    /// Whether `user` is in the sample at `level`. The bits tested (from bit 32 up) are not
    /// the ones the hash tables index by (low bits) or tag with (top 7).
    fn keeps(level: u8, user: u64) -> bool {
        level == 0 || (user >> 32) & ((1u64 << level) - 1) == 0
    }

    /// Records a request by `user` at `second` of `minute`.
    pub fn see(&mut self, minute: i64, user: u64, second: u8, failed: bool) {
        if !Self::keeps(self.level, user) {
            return;
        }
        let users = match self.minutes.last_entry() {
            Some(last) if *last.key() == minute => last.into_mut(),
            last => {
                // A new minute is sized like the one before: no rehashing while it fills.
                let hint = last.map_or(0, |l| l.get().active.len());
                self.minutes.entry(minute).or_insert_with(|| MinuteUsers {
                    active: UserSpans::with_capacity_and_hasher(hint, Default::default()),
                    failing: UserSpans::default(),
                })
            }
        };
        self.entries += users.see(user, second, failed);
        if self.entries > self.budget {
            self.shrink();
        }
    }

    /// Raises the level until the entries fit the budget.
    fn shrink(&mut self) {
        while self.entries > self.budget && self.level < MAX_SAMPLE_LEVEL {
            self.set_level(self.level + 1);
        }
    }

    fn set_level(&mut self, level: u8) {
        if level <= self.level {
            return;
        }
        self.level = level;
        for users in self.minutes.values_mut() {
            users.retain(|user| Self::keeps(level, user));
        }
        self.minutes.retain(|_, users| users.len() > 0);
        self.entries = self.minutes.values().map(MinuteUsers::len).sum();
    }

    fn merge(&mut self, other: StreamUsers) {
        let level = self.level.max(other.level);
        self.set_level(level);
        if other.level < level {
            // Sample the other part while taking it in (a part of a chunk is small, and
            // filtering it apart first would rebuild its tables).
            for (m, u) in other.minutes {
                let mine = self.minutes.entry(m).or_default();
                for (from, into) in [(u.active, &mut mine.active), (u.failing, &mut mine.failing)] {
                    for (user, span) in from {
                        if Self::keeps(level, user) {
                            see_in(into, user, span);
                        }
                    }
                }
            }
            self.minutes.retain(|_, users| users.len() > 0);
        } else {
            for (m, u) in other.minutes {
                match self.minutes.entry(m) {
                    Entry::Vacant(v) => {
                        v.insert(u);
                    }
                    Entry::Occupied(mut o) => o.get_mut().merge(u),
                }
            }
        }
        self.entries = self.minutes.values().map(MinuteUsers::len).sum();
        self.shrink();
    }

    /// How many users each kept one stands for: 1 while exact, 2^level when sampled.
    pub fn scale(&self) -> u64 {
        1u64 << self.level
    }

    pub fn is_exact(&self) -> bool {
        self.level == 0
    }

    /// The (sampled) users of `minute`.
    pub fn minute(&self, minute: i64) -> Option<&MinuteUsers> {
        self.minutes.get(&minute)
    }

    /// The (sampled) users of the minutes in `range`.
    pub fn range(
        &self,
        range: impl std::ops::RangeBounds<i64>,
    ) -> impl Iterator<Item = (&i64, &MinuteUsers)> {
        self.minutes.range(range)
    }

    /// Estimated distinct users active and failing in `minute`.
    pub fn estimate_in_minute(&self, minute: i64) -> (u64, u64) {
        self.minute(minute).map_or((0, 0), |u| {
            (
                u.active.len() as u64 * self.scale(),
                u.failing.len() as u64 * self.scale(),
            )
        })
    }
}

/// The first failing request of a minute, for the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureSample {
    pub time: TimeNs,
    pub origin: Origin,
    pub message: String,
    pub status: u16,
}

/// How users were identified in a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdentityCounts {
    pub by_user_field: u64,
    pub by_client_address: u64,
    pub unidentified: u64,
}

/// Everything kept about one stream.
#[derive(Debug, Clone, Default)]
pub struct StreamAggregate {
    pub minutes: BTreeMap<i64, MinuteCounts>,
    pub seconds: BTreeMap<i64, SecondCounts>,
    pub users: StreamUsers,
    pub first_failures: BTreeMap<i64, FailureSample>,
    /// Failed requests per minute by (route, status), for the impact breakdown.
    pub failures_by_route: BTreeMap<i64, BTreeMap<(String, u16), u64>>,
    pub identity: IdentityCounts,
    /// Health checks and static files: counted apart from user traffic.
    pub background_requests: u64,
    pub background_failed: u64,
    /// A web tier's user requests by the first segment of their path (`/v2`, `/search`): a
    /// proxy in front of several services names the one a request went to only there, and one
    /// service failing is plainer in its own series than in the tier's. At most
    /// [`MAX_PATH_PREFIXES`], the first ones met.
    pub by_path_prefix: BTreeMap<String, PrefixCounts>,
}

/// Most path prefixes a stream counts apart (the first ones met; a scanner's random paths
/// must not grow memory).
pub const MAX_PATH_PREFIXES: usize = 16;

/// Requests and failures of one path prefix, per minute and per second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrefixCounts {
    pub minutes: BTreeMap<i64, MinuteCounts>,
    pub seconds: BTreeMap<i64, SecondCounts>,
}

impl PrefixCounts {
    fn merge(&mut self, other: PrefixCounts) {
        add_series(&mut self.minutes, other.minutes);
        add_series(&mut self.seconds, other.seconds);
    }

    fn count(&mut self, time: TimeNs, failed: bool) {
        update_at(&mut self.minutes, minute_of(time), |c| {
            c.requests += 1;
            c.failed += u64::from(failed);
            c.events += 1;
            c.error_events += u64::from(failed);
        });
        update_at(&mut self.seconds, second_of(time), |c| {
            c.requests += 1;
            c.failed += u32::from(failed);
        });
    }
}

/// The first segment of a request path, with its slash (`/v2/charges/17?x=1` → `/v2`); none
/// for an empty first segment or a path that is not one (`*`, an absolute URL).
pub fn path_prefix(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let len = rest.find(['/', '?', '#', ';']).unwrap_or(rest.len());
    (len > 0).then(|| &path[..=len])
}

/// Merges a prefix's counts into `into`, which takes a prefix new to it only while it has room.
fn merge_prefix(into: &mut BTreeMap<String, PrefixCounts>, prefix: String, counts: PrefixCounts) {
    if let Some(mine) = into.get_mut(&prefix) {
        mine.merge(counts);
    } else if into.len() < MAX_PATH_PREFIXES {
        into.insert(prefix, counts);
    }
}

impl StreamAggregate {
    pub fn total_requests(&self) -> u64 {
        self.minutes.values().map(|m| m.requests).sum()
    }

    fn merge(&mut self, mut other: StreamAggregate) {
        for (m, routes) in std::mem::take(&mut other.failures_by_route) {
            let mine = self.failures_by_route.entry(m).or_default();
            for (route, n) in routes {
                *mine.entry(route).or_default() += n;
            }
        }
        self.merge_counts(other);
    }

    /// Everything but the failed routes (whose merge depends on how the parts were cut).
    fn merge_counts(&mut self, other: StreamAggregate) {
        add_series(&mut self.minutes, other.minutes);
        add_series(&mut self.seconds, other.seconds);
        self.users.merge(other.users);
        for (m, f) in other.first_failures {
            match self.first_failures.get(&m) {
                Some(existing) if (existing.time, existing.origin) <= (f.time, f.origin) => {}
                _ => {
                    self.first_failures.insert(m, f);
                }
            }
        }
        self.identity.by_user_field += other.identity.by_user_field;
        self.identity.by_client_address += other.identity.by_client_address;
        self.identity.unidentified += other.identity.unidentified;
        self.background_requests += other.background_requests;
        self.background_failed += other.background_failed;
        for (prefix, counts) in other.by_path_prefix {
            merge_prefix(&mut self.by_path_prefix, prefix, counts);
        }
    }
}

/// Templates by source kind and text (hashed with foldhash: a template is looked up per line).
pub type TemplateMap = HashMap<(SourceKind, String), TemplateStats, foldhash::fast::RandomState>;

/// A message template with where and when it occurred.
#[derive(Debug, Clone)]
pub struct TemplateStats {
    pub kind: SourceKind,
    pub template: String,
    pub count: u64,
    pub first: TimeNs,
    pub first_origin: Origin,
    /// The first message seen with this template, as written.
    pub sample: String,
    pub last: TimeNs,
    pub max_severity: Severity,
    /// Occurrences per minute, kept for error templates only.
    pub per_minute: BTreeMap<i64, u64>,
}

/// A change event as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub time: TimeNs,
    pub origin: Origin,
    pub source_kind: SourceKind,
    pub change: Change,
    pub text: String,
    pub user: Option<String>,
}

/// All aggregates of a run; mergeable, so each worker builds its own and they are combined once.
#[derive(Debug, Clone, Default)]
pub struct Aggregates {
    pub streams: BTreeMap<StreamKey, StreamAggregate>,
    /// Events per input file per minute (for the "where does each source have data" chart).
    pub events_per_file: BTreeMap<u32, BTreeMap<i64, u64>>,
    pub templates: TemplateMap,
    pub templates_overflow: u64,
    pub changes: Vec<ChangeEvent>,
    pub changes_dropped: u64,
    change_slots: HashMap<(i64, notable::ChangeKind), usize>,
    /// Alert and paging events, in arrival order until [`Aggregates::finish`] sorts them.
    pub alerts: Vec<Event>,
    pub pages: Vec<Event>,
    pub alert_events_dropped: u64,
    pub first: Option<TimeNs>,
    pub last: Option<TimeNs>,
    pub events: u64,
    /// Metric samples (Prometheus query results, CSV exports) per series per minute; kept apart
    /// from the log streams.
    pub metrics: BTreeMap<String, BTreeMap<i64, MetricMinute>>,
    /// Samples of series beyond [`MAX_METRIC_SERIES`], counted only.
    pub metric_samples_dropped: u64,
    /// Set in the partial aggregate of a chunk: the order keys first came in, for the caps.
    arrivals: Option<Box<Arrivals>>,
    /// In the partial aggregate of a chunk: the user sample level each stream of the file had
    /// reached when the part was made. A stream the part makes starts there, so the users the
    /// total would drop on taking the part in are not kept in the meantime. (A level only rises
    /// as parts are taken in, so the total ends at or above it: the same users are kept.)
    user_levels: Vec<(StreamKey, u8)>,
    /// Reused key buffers, so looking a stream, template or route up allocates nothing.
    scratch: Scratch,
}

/// The order in which a partial aggregate first met its capped keys.
#[derive(Debug, Clone, Default)]
struct Arrivals {
    templates: Vec<(SourceKind, String)>,
    routes: Vec<(StreamKey, i64, (String, u16))>,
    prefixes: Vec<(StreamKey, String)>,
    metrics: Vec<String>,
}

#[derive(Debug, Clone)]
struct Scratch {
    stream: StreamKey,
    template: (SourceKind, String),
    route: (String, u16),
    /// In a partial aggregate (no route cap of its own).
    is_partial: bool,
    templates: TemplateCache,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            stream: StreamKey {
                kind: SourceKind::App,
                service: String::new(),
            },
            template: (SourceKind::App, String::new()),
            route: (String::new(), 0),
            is_partial: false,
            templates: TemplateCache::default(),
        }
    }
}

/// Metric series kept (each is one value per minute).
pub const MAX_METRIC_SERIES: usize = 1_000;

/// The samples of one metric series in one minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricMinute {
    pub samples: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// The last sample of the minute (the value a gauge had).
    pub last: f64,
    pub last_time: TimeNs,
}

impl MetricMinute {
    fn add(&mut self, other: &MetricMinute) {
        self.samples += other.samples;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if other.last_time >= self.last_time {
            self.last = other.last;
            self.last_time = other.last_time;
        }
    }
}

/// A metric event's series: its name and labels (`http_requests_total{code=500,job=auth}`).
pub fn metric_series_key(event: &Event) -> Option<String> {
    let metric = event.metric.as_ref()?;
    if event.attrs.is_empty() {
        return Some(metric.name.clone());
    }
    let mut labels: Vec<String> = event
        .attrs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    labels.sort();
    Some(format!("{}{{{}}}", metric.name, labels.join(",")))
}

/// Distinct (route, status) pairs of failed requests kept per minute and stream.
pub const MAX_ROUTES_PER_MINUTE: usize = 64;

/// A request path as a route: no query string, and identifier segments (numbers, hex, UUIDs)
/// replaced by `:id`, so `/orders/8812` and `/orders/9001` are one endpoint.
pub fn route_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    route_into(path, &mut out);
    out
}

/// [`route_of`] written into `out` (cleared first).
fn route_into(path: &str, out: &mut String) {
    out.clear();
    let path = path.split(['?', '#']).next().unwrap_or(path);
    if path.is_empty() {
        out.push_str("(none)");
        return;
    }
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let digits = segment.bytes().filter(u8::is_ascii_digit).count();
        let identifier = !segment.is_empty()
            && (segment.bytes().all(|b| b.is_ascii_digit())
                || (segment.len() >= 8
                    && digits > 0
                    && segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')));
        out.push_str(if identifier { ":id" } else { segment });
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Paths that are not user traffic: probes, metrics scrapes and static assets.
pub fn is_background_path(path: &str) -> bool {
    // Compared without regard to ASCII case, without building a lower-cased copy (hot path).
    // Where the query or fragment starts, and the last dot before it: most paths hold neither a
    // dot, `?` nor `#`, which eight bytes at a time tell at once.
    let mut end = path.len();
    let mut last_dot = None;
    let bytes = if has_dot_or_query(path.as_bytes()) {
        path.as_bytes()
    } else {
        &[]
    };
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'?' | b'#' => {
                end = i;
                break;
            }
            b'.' => last_dot = Some(i),
            _ => {}
        }
    }
    let path = &path[..end];
    const PROBES: &[&str] = &[
        "/health",
        "/healthz",
        "/health/",
        "/ready",
        "/readyz",
        "/live",
        "/livez",
        "/ping",
        "/status",
        "/metrics",
        "/favicon.ico",
        "/robots.txt",
        "/-/healthy",
        "/-/ready",
    ];
    // Every probe starts with `/` and one of these (most API paths do not: `/api/...`).
    let may_be_probe = path.as_bytes().get(1).is_some_and(|c| {
        matches!(
            c.to_ascii_lowercase(),
            b'h' | b'r' | b'l' | b'p' | b's' | b'm' | b'f' | b'-'
        )
    });
    if may_be_probe
        && PROBES.iter().any(|p| {
            starts_with_ignore_case(path, p)
                && (path.len() == p.len() || path.as_bytes()[p.len()] == b'/')
        })
    {
        return true;
    }
    if starts_with_folded(path, b"/static/") || starts_with_folded(path, b"/assets/") {
        return true;
    }
    const STATIC: &[&str] = &[
        ".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".woff", ".woff2", ".ttf",
        ".map", ".webp",
    ];
    // Each extension holds one dot: a path ends with one when what follows its last dot is it.
    last_dot.is_some_and(|dot| {
        STATIC
            .iter()
            .any(|ext| path[dot..].eq_ignore_ascii_case(ext))
    })
}

/// Whether `path` starts with the eight bytes `prefix` (lower case), letters compared without
/// regard to ASCII case: one word compare, the letters' case bit set on both sides.
#[inline]
fn starts_with_folded(path: &str, prefix: &[u8; 8]) -> bool {
    let Some(head) = path.as_bytes().first_chunk::<8>() else {
        return false;
    };
    let case_bits = prefix.iter().rev().fold(0u64, |bits, c| {
        bits << 8 | if c.is_ascii_lowercase() { 0x20 } else { 0 }
    });
    u64::from_le_bytes(*head) | case_bits == u64::from_le_bytes(*prefix)
}

/// Whether `b` holds a `.`, `?` or `#`, looked for eight bytes at a time (a word's bytes equal
/// to the target become zero bytes, and a word holds a zero byte exactly when this is nonzero).
fn has_dot_or_query(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let found_in = |word: &[u8; 8]| {
        let v = u64::from_le_bytes(*word);
        zero_bytes(v ^ (ONES * u64::from(b'.')))
            | zero_bytes(v ^ (ONES * u64::from(b'?')))
            | zero_bytes(v ^ (ONES * u64::from(b'#')))
            != 0
    };
    let (words, rest) = b.as_chunks::<8>();
    if words.iter().any(found_in) {
        return true;
    }
    match b.last_chunk::<8>() {
        // The last eight bytes, overlapping the words already looked at.
        Some(last) if !rest.is_empty() => found_in(last),
        Some(_) => false,
        None => rest.iter().any(|c| matches!(c, b'.' | b'?' | b'#')),
    }
}

/// A user's identity as a 64-bit hash (fixed seed: the same on every run). Sets of users hold
/// these, so two users share one only by a 64-bit collision.
fn identity_hash(kind: u8, s: &str) -> u64 {
    const IDENTITY_SEED: u64 = 0x7265_7472_6163_6521;
    foldhash::fast::FixedState::with_seed(IDENTITY_SEED).hash_one((kind, s))
}

/// Applies `update` to the value at `key`, made if missing. Lines come mostly in time order, so
/// the last key (a walk down the tree's right edge) is tried before a search.
fn update_at<V: Default>(map: &mut BTreeMap<i64, V>, key: i64, update: impl FnOnce(&mut V)) {
    if let Some(mut last) = map.last_entry()
        && *last.key() == key
    {
        update(last.get_mut());
        return;
    }
    update(map.entry(key).or_default());
}

/// The stream of `kind` and `service`, created on first use (its users sampled from the level
/// `user_levels` gives it, if any); the key is built in a reused buffer, so a stream seen before
/// costs no allocation. (`None` cannot happen: the stream was just made.)
fn stream_mut<'s>(
    streams: &'s mut BTreeMap<StreamKey, StreamAggregate>,
    user_levels: &[(StreamKey, u8)],
    key: &mut StreamKey,
    kind: SourceKind,
    service: &str,
) -> Option<&'s mut StreamAggregate> {
    key.kind = kind;
    key.service.clear();
    key.service.push_str(service);
    if let Some(stream) = streams.get_mut(key) {
        let stream: *mut StreamAggregate = stream;
        // SAFETY: the pointer comes from a live `&mut` into `streams`, whose borrow this
        // function holds for `'s`, and the map is not touched again before it is returned. The
        // borrow checker cannot yet see that a reference returned from one branch leaves the
        // map free in the other (rust-lang/rust#54663), which would otherwise cost a second
        // search on every event.
        return Some(unsafe { &mut *stream });
    }
    let mut stream = StreamAggregate::default();
    if let Some((_, level)) = user_levels.iter().find(|(k, _)| k == key) {
        stream.users.set_level(*level);
    }
    streams.insert(key.clone(), stream);
    streams.get_mut(key)
}

impl Aggregates {
    fn observe_time(&mut self, t: TimeNs) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }

    /// Counts one event of the logs (not an alert, page or metric: those are kept whole).
    fn add(&mut self, event: &EventView<'_>, kind: SourceKind) {
        let minute = minute_of(event.time);
        let service = event.service.as_deref().unwrap_or("");
        let Some(stream) = stream_mut(
            &mut self.streams,
            &self.user_levels,
            &mut self.scratch.stream,
            kind,
            service,
        ) else {
            return;
        };
        // Health checks and static files are counted apart from user requests.
        let user_request =
            event.is_request() && !event.path.as_deref().is_some_and(is_background_path);
        if event.is_request() {
            let new_route = add_request(stream, event, minute, !user_request, &mut self.scratch);
            if new_route && let Some(arrivals) = &mut self.arrivals {
                arrivals.routes.push((
                    self.scratch.stream.clone(),
                    minute,
                    self.scratch.route.clone(),
                ));
            }
        }
        let failed = event.is_failed_request();
        if user_request
            && kind == SourceKind::Web
            && let Some(prefix) = event.path.as_deref().and_then(path_prefix)
        {
            // A partial counts every prefix; the cap applies when it is taken in.
            let known = stream.by_path_prefix.contains_key(prefix);
            if !known
                && (self.arrivals.is_some() || stream.by_path_prefix.len() < MAX_PATH_PREFIXES)
            {
                if let Some(arrivals) = &mut self.arrivals {
                    arrivals
                        .prefixes
                        .push((self.scratch.stream.clone(), prefix.to_string()));
                }
                stream
                    .by_path_prefix
                    .insert(prefix.to_string(), PrefixCounts::default());
            }
            if let Some(series) = stream.by_path_prefix.get_mut(prefix) {
                series.count(event.time, failed);
            }
        }
        let error = event.severity.is_error();
        update_at(&mut stream.minutes, minute, |counts| {
            if user_request {
                counts.requests += 1;
                counts.failed += u64::from(failed);
            }
            counts.events += 1;
            counts.error_events += u64::from(error);
        });
        // Successful requests are the bulk of any log and all alike: not templated.
        let routine_request = event.is_request() && !event.is_failed_request();
        if !routine_request {
            self.add_template(event, kind, minute);
        }
        // As in `notable::classify`: a failed statement changed nothing; requests are not changes.
        if event.severity < Severity::Error
            && !event.is_request()
            && let Some(change) = notable::classify_text(&event.message)
        {
            self.add_change(event, kind, change);
        }
    }

    fn add_template(&mut self, event: &EventView<'_>, kind: SourceKind, minute: i64) {
        // An access log's message only repeats the request: its kind is method, path and status.
        let key = &mut self.scratch.template;
        key.0 = kind;
        match (kind, event.status) {
            (SourceKind::Web, Some(status)) => request_template_into(
                event.method.as_deref(),
                event.path.as_deref(),
                status,
                &mut key.1,
            ),
            _ => self
                .scratch
                .templates
                .template_into(&event.message, &mut key.1),
        }
        let is_error = event.severity.is_error() || event.is_failed_request();
        if let Some(stats) = self.templates.get_mut(key) {
            stats.count += 1;
            if (event.time, event.origin) < (stats.first, stats.first_origin) {
                stats.first = event.time;
                stats.first_origin = event.origin;
                stats.sample = event.message.to_string();
            }
            stats.last = stats.last.max(event.time);
            stats.max_severity = stats.max_severity.max(event.severity);
            if is_error {
                *stats.per_minute.entry(minute).or_default() += 1;
            }
            return;
        }
        // A partial aggregate keeps every template; the cap applies when it is taken in.
        if self.arrivals.is_none() && self.templates.len() >= MAX_TEMPLATES {
            self.templates_overflow += 1;
            return;
        }
        let mut per_minute = BTreeMap::new();
        if is_error {
            per_minute.insert(minute, 1);
        }
        let key = key.clone();
        if let Some(arrivals) = &mut self.arrivals {
            arrivals.templates.push(key.clone());
        }
        self.templates.insert(
            key.clone(),
            TemplateStats {
                kind,
                template: key.1,
                count: 1,
                first: event.time,
                first_origin: event.origin,
                sample: event.message.to_string(),
                last: event.time,
                max_severity: event.severity,
                per_minute,
            },
        );
    }

    fn add_change(&mut self, event: &EventView<'_>, kind: SourceKind, change: Change) {
        let slot = self
            .change_slots
            .entry((minute_of(event.time), change.kind))
            .or_default();
        if *slot >= MAX_CHANGES_PER_MINUTE {
            self.changes_dropped += 1;
            return;
        }
        *slot += 1;
        self.changes.push(ChangeEvent {
            time: event.time,
            origin: event.origin,
            source_kind: kind,
            change,
            text: event.message.to_string(),
            user: event.user.as_deref().map(str::to_string),
        });
    }

    fn add_metric(&mut self, event: &Event) {
        let (Some(series), Some(metric)) = (metric_series_key(event), event.metric.as_ref()) else {
            return;
        };
        let partial = self.arrivals.is_some();
        if !self.metrics.contains_key(&series) {
            if !partial && self.metrics.len() >= MAX_METRIC_SERIES {
                self.metric_samples_dropped += 1;
                return;
            }
            if let Some(arrivals) = &mut self.arrivals {
                arrivals.metrics.push(series.clone());
            }
        }
        let sample = MetricMinute {
            samples: 1,
            sum: metric.value,
            min: metric.value,
            max: metric.value,
            last: metric.value,
            last_time: event.time,
        };
        let minutes = self.metrics.entry(series).or_default();
        match minutes.get_mut(&minute_of(event.time)) {
            Some(m) => m.add(&sample),
            None => {
                minutes.insert(minute_of(event.time), sample);
            }
        }
    }

    /// Combines another worker's aggregates into these.
    pub fn merge(&mut self, other: Aggregates) {
        // A stream or file new to `self` is taken whole (merging it into an empty one would
        // rebuild its maps entry by entry to the same result).
        for (key, stream) in other.streams {
            match self.streams.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(stream);
                }
                Entry::Occupied(mut mine) => mine.get_mut().merge(stream),
            }
        }
        for (file, minutes) in other.events_per_file {
            match self.events_per_file.entry(file) {
                Entry::Vacant(slot) => {
                    slot.insert(minutes);
                }
                Entry::Occupied(mut mine) => {
                    let mine = mine.get_mut();
                    for (m, n) in minutes {
                        *mine.entry(m).or_default() += n;
                    }
                }
            }
        }
        for (key, stats) in other.templates {
            let room = self.templates.len() < MAX_TEMPLATES;
            match self.templates.get_mut(&key) {
                Some(mine) => mine.merge(stats),
                None if room => {
                    self.templates.insert(key, stats);
                }
                None => self.templates_overflow += stats.count,
            }
        }
        self.templates_overflow += other.templates_overflow;
        for (series, minutes) in other.metrics {
            if !self.metrics.contains_key(&series) && self.metrics.len() >= MAX_METRIC_SERIES {
                self.metric_samples_dropped += minutes.values().map(|m| m.samples).sum::<u64>();
                continue;
            }
            self.merge_metric(series, minutes);
        }
        self.metric_samples_dropped += other.metric_samples_dropped;
        self.changes.extend(other.changes);
        self.changes_dropped += other.changes_dropped;
        self.alerts.extend(other.alerts);
        self.pages.extend(other.pages);
        self.alert_events_dropped += other.alert_events_dropped;
        self.merge_times(other.first, other.last, other.events);
    }

    fn merge_metric(&mut self, series: String, minutes: BTreeMap<i64, MetricMinute>) {
        let mine = self.metrics.entry(series).or_default();
        for (minute, m) in minutes {
            match mine.get_mut(&minute) {
                Some(existing) => existing.add(&m),
                None => {
                    mine.insert(minute, m);
                }
            }
        }
    }

    fn merge_times(&mut self, first: Option<TimeNs>, last: Option<TimeNs>, events: u64) {
        if let Some(f) = first {
            self.observe_time(f);
        }
        if let Some(l) = last {
            self.observe_time(l);
        }
        self.events += events;
    }

    /// Takes in the partial aggregate of the next part of the same file, applying the caps in
    /// the order the keys first came in: the result is what one pass over both parts gives.
    fn absorb_partial(&mut self, mut later: Aggregates) {
        let arrivals = later.arrivals.take().map(|a| *a).unwrap_or_default();
        // Failed routes, key by key in the order they first failed.
        for (stream_key, minute, route) in arrivals.routes {
            let Some(n) = later
                .streams
                .get_mut(&stream_key)
                .and_then(|s| s.failures_by_route.get_mut(&minute))
                .and_then(|routes| routes.remove(&route))
            else {
                continue;
            };
            let routes = self
                .streams
                .entry(stream_key)
                .or_default()
                .failures_by_route
                .entry(minute)
                .or_default();
            let key = if routes.len() < MAX_ROUTES_PER_MINUTE || routes.contains_key(&route) {
                route
            } else {
                ("(other)".to_string(), route.1)
            };
            *routes.entry(key).or_default() += n;
        }
        // Path prefixes likewise, in the order they were first met.
        for (stream_key, prefix) in arrivals.prefixes {
            let Some(counts) = later
                .streams
                .get_mut(&stream_key)
                .and_then(|s| s.by_path_prefix.remove(&prefix))
            else {
                continue;
            };
            let mine = &mut self.streams.entry(stream_key).or_default().by_path_prefix;
            merge_prefix(mine, prefix, counts);
        }
        for (key, mut stream) in later.streams {
            stream.failures_by_route.clear();
            self.streams.entry(key).or_default().merge_counts(stream);
        }
        for (file, minutes) in later.events_per_file {
            let mine = self.events_per_file.entry(file).or_default();
            for (m, n) in minutes {
                *mine.entry(m).or_default() += n;
            }
        }
        // Templates in the order they first came: the cap keeps the first ones.
        for key in arrivals.templates {
            let Some(stats) = later.templates.remove(&key) else {
                continue;
            };
            let room = self.templates.len() < MAX_TEMPLATES;
            match self.templates.get_mut(&key) {
                Some(mine) => mine.merge(stats),
                None if room => {
                    self.templates.insert(key, stats);
                }
                None => self.templates_overflow += stats.count,
            }
        }
        self.templates_overflow += later.templates_overflow;
        for series in arrivals.metrics {
            let Some(minutes) = later.metrics.remove(&series) else {
                continue;
            };
            if !self.metrics.contains_key(&series) && self.metrics.len() >= MAX_METRIC_SERIES {
                self.metric_samples_dropped += minutes.values().map(|m| m.samples).sum::<u64>();
                continue;
            }
            self.merge_metric(series, minutes);
        }
        self.metric_samples_dropped += later.metric_samples_dropped;
        // Changes, alerts and pages: the partial kept the first ones of each slot; so does this.
        for change in later.changes {
            let slot = self
                .change_slots
                .entry((minute_of(change.time), change.change.kind))
                .or_default();
            if *slot >= MAX_CHANGES_PER_MINUTE {
                self.changes_dropped += 1;
            } else {
                *slot += 1;
                self.changes.push(change);
            }
        }
        self.changes_dropped += later.changes_dropped;
        for (events, kept) in [
            (later.alerts, &mut self.alerts),
            (later.pages, &mut self.pages),
        ] {
            for event in events {
                if kept.len() < MAX_ALERT_EVENTS {
                    kept.push(event);
                } else {
                    self.alert_events_dropped += 1;
                }
            }
        }
        self.alert_events_dropped += later.alert_events_dropped;
        self.merge_times(later.first, later.last, later.events);
    }

    /// Sorts what was kept and drops duplicate alert notifications (Alertmanager re-sends a
    /// firing alert on every repeat interval; each instance is kept once per state and start).
    pub fn finish(&mut self) {
        let order = |a: &Event, b: &Event| (a.time, a.origin).cmp(&(b.time, b.origin));
        self.alerts.sort_by(order);
        let mut seen = BTreeSet::new();
        self.alerts.retain(|e| match &e.alert {
            Some(a) => seen.insert((
                a.fingerprint.clone(),
                a.name.clone(),
                a.state == AlertState::Firing,
                e.time,
            )),
            None => false,
        });
        self.pages.sort_by(order);
        self.changes.sort_by_key(|c| (c.time, c.origin));
    }
}

impl TemplateStats {
    fn merge(&mut self, other: TemplateStats) {
        self.count += other.count;
        if (other.first, other.first_origin) < (self.first, self.first_origin) {
            self.first = other.first;
            self.first_origin = other.first_origin;
            self.sample = other.sample;
        }
        self.last = self.last.max(other.last);
        self.max_severity = self.max_severity.max(other.max_severity);
        for (m, n) in other.per_minute {
            *self.per_minute.entry(m).or_default() += n;
        }
    }
}

/// Counts a request in its stream (a health check or static file, `background`, only as such);
/// says whether a failed route new to this minute was added (the route is left in
/// `scratch.route`).
fn add_request(
    stream: &mut StreamAggregate,
    event: &EventView<'_>,
    minute: i64,
    background: bool,
    scratch: &mut Scratch,
) -> bool {
    let failed = event.is_failed_request();
    if background {
        stream.background_requests += 1;
        stream.background_failed += u64::from(failed);
        return false;
    }
    // (The minute's request counts are taken by the caller, with the event's.)
    let second_of_event = second_of(event.time);
    update_at(&mut stream.seconds, second_of_event, |second| {
        second.requests += 1;
        second.failed += u32::from(failed);
    });
    let identity = match (&event.user, &event.client) {
        (Some(u), _) => {
            stream.identity.by_user_field += 1;
            Some(identity_hash(0, u))
        }
        (None, Some(c)) => {
            stream.identity.by_client_address += 1;
            Some(identity_hash(1, c))
        }
        (None, None) => {
            stream.identity.unidentified += 1;
            None
        }
    };
    if let Some(id) = identity {
        let second_in_minute = (second_of_event - minute) as u8;
        stream.users.see(minute, id, second_in_minute, failed);
    }
    if !failed {
        return false;
    }
    let status = event.status.unwrap_or(0);
    route_into(event.path.as_deref().unwrap_or(""), &mut scratch.route.0);
    scratch.route.1 = status;
    let routes = stream.failures_by_route.entry(minute).or_default();
    let new_route = match routes.get_mut(&scratch.route) {
        Some(n) => {
            *n += 1;
            false
        }
        None => {
            // A scanner hitting random paths must not grow memory: past the cap, one bucket
            // (a partial, which has no cap, sorts this out when it is taken in).
            if routes.len() < MAX_ROUTES_PER_MINUTE || scratch.is_partial {
                routes.insert(scratch.route.clone(), 1);
                true
            } else {
                *routes.entry(("(other)".to_string(), status)).or_default() += 1;
                false
            }
        }
    };
    let replace = stream
        .first_failures
        .get(&minute)
        .is_none_or(|f| (f.time, f.origin) > (event.time, event.origin));
    if replace {
        stream.first_failures.insert(
            minute,
            FailureSample {
                time: event.time,
                origin: event.origin,
                message: event.message.to_string(),
                status,
            },
        );
    }
    new_route
}

impl EventSink for Aggregates {
    fn event(&mut self, event: Event) {
        self.events += 1;
        self.observe_time(event.time);
        let kind = event.kind.unwrap_or(SourceKind::App);
        update_at(
            self.events_per_file.entry(event.origin.file).or_default(),
            minute_of(event.time),
            |n| *n += 1,
        );
        match kind {
            SourceKind::Alert => {
                if self.alerts.len() < MAX_ALERT_EVENTS {
                    self.alerts.push(event);
                } else {
                    self.alert_events_dropped += 1;
                }
            }
            SourceKind::Page => {
                if self.pages.len() < MAX_ALERT_EVENTS {
                    self.pages.push(event);
                } else {
                    self.alert_events_dropped += 1;
                }
            }
            SourceKind::Metric => self.add_metric(&event),
            _ => self.add(&event.view(), kind),
        }
    }

    fn view(&mut self, view: &EventView<'_>) {
        let kind = view.kind.unwrap_or(SourceKind::App);
        if matches!(
            kind,
            SourceKind::Alert | SourceKind::Page | SourceKind::Metric
        ) {
            // Never a view (they are kept whole); counted as an event all the same.
            self.event(view.to_event());
            return;
        }
        self.events += 1;
        self.observe_time(view.time);
        update_at(
            self.events_per_file.entry(view.origin.file).or_default(),
            minute_of(view.time),
            |n| *n += 1,
        );
        self.add(view, kind);
    }

    fn aggregates_only(&self) -> bool {
        true
    }
}

impl SplitSink for Aggregates {
    fn fork(&self) -> Aggregates {
        let user_levels = self
            .streams
            .iter()
            .filter(|(_, s)| !s.users.is_exact())
            .map(|(k, s)| (k.clone(), s.users.level))
            .collect();
        let mut partial = Aggregates {
            arrivals: Some(Box::default()),
            user_levels,
            ..Aggregates::default()
        };
        partial.scratch.is_partial = true;
        partial
    }

    fn absorb(&mut self, later: Aggregates) {
        self.absorb_partial(later);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;

    fn request(t_s: i64, user: &str, status: u16, path: &str) -> Event {
        let mut e = Event::new(
            t_s * NS_PER_SEC,
            SourceKind::App,
            Severity::Info,
            "login".into(),
        );
        e.status = Some(status);
        e.user = Some(user.into());
        e.path = Some(path.into());
        e.service = Some("auth".into());
        e
    }

    #[test]
    fn counts_requests_users_and_excludes_probes() {
        let mut agg = Aggregates::default();
        agg.event(request(60, "a", 200, "/login"));
        agg.event(request(61, "b", 500, "/login"));
        agg.event(request(62, "b", 500, "/login"));
        agg.event(request(63, "c", 200, "/healthz"));
        let stream = &agg.streams[&StreamKey {
            kind: SourceKind::App,
            service: "auth".into(),
        }];
        assert_eq!(stream.minutes[&60].requests, 3);
        assert_eq!(stream.minutes[&60].failed, 2);
        assert_eq!(stream.users.estimate_in_minute(60), (2, 1));
        assert_eq!(stream.background_requests, 1);
        assert_eq!(stream.first_failures[&60].time, 61 * NS_PER_SEC);
    }

    #[test]
    fn merge_equals_single_pass() {
        let events: Vec<Event> = (0..200)
            .map(|i| {
                request(
                    i * 7,
                    &format!("u{}", i % 13),
                    if i % 5 == 0 { 503 } else { 200 },
                    "/x",
                )
            })
            .collect();
        let mut whole = Aggregates::default();
        for e in events.clone() {
            whole.event(e);
        }
        let (left, right) = events.split_at(77);
        let mut a = Aggregates::default();
        let mut b = Aggregates::default();
        left.iter().cloned().for_each(|e| a.event(e));
        right.iter().cloned().for_each(|e| b.event(e));
        a.merge(b);
        let key = StreamKey {
            kind: SourceKind::App,
            service: "auth".into(),
        };
        assert_eq!(a.streams[&key].minutes, whole.streams[&key].minutes);
        assert_eq!(a.streams[&key].seconds, whole.streams[&key].seconds);
        assert_eq!(a.templates.len(), whole.templates.len());
    }

    #[test]
    fn a_part_starts_its_streams_at_the_sample_level_of_the_total() {
        let mut total = Aggregates::default();
        total.event(request(60, "a", 200, "/x"));
        let key = StreamKey {
            kind: SourceKind::App,
            service: "auth".into(),
        };
        total.streams.get_mut(&key).unwrap().users.set_level(3);
        let mut part = total.fork();
        part.event(request(61, "b", 200, "/x"));
        let mut other = request(62, "c", 200, "/x");
        other.service = Some("billing".into());
        part.event(other);
        assert_eq!(part.streams[&key].users.level, 3);
        let billing = StreamKey {
            kind: SourceKind::App,
            service: "billing".into(),
        };
        assert!(part.streams[&billing].users.is_exact());
    }

    #[test]
    fn path_prefix_is_the_first_segment() {
        assert_eq!(path_prefix("/v2/charges/17?x=1"), Some("/v2"));
        assert_eq!(path_prefix("/search?q=a"), Some("/search"));
        assert_eq!(path_prefix("/search"), Some("/search"));
        assert_eq!(path_prefix("/"), None);
        assert_eq!(path_prefix("//x"), None);
        assert_eq!(path_prefix("*"), None);
        assert_eq!(path_prefix("http://a/b"), None);
    }

    fn web_request(t_s: i64, status: u16, path: &str) -> Event {
        let mut e = request(t_s, "u", status, path);
        e.kind = Some(SourceKind::Web);
        e.service = None;
        e
    }

    #[test]
    fn web_requests_are_counted_by_path_prefix_capped_alike_however_cut() {
        // 40 prefixes, more than the cap; probes are no user traffic.
        let events: Vec<Event> = (0..400)
            .map(|i| {
                let path = match i % 7 {
                    0 => "/healthz".to_string(),
                    _ => format!("/p{}/x/{i}", (i * 13) % 40),
                };
                web_request(i * 3, if i % 4 == 0 { 502 } else { 200 }, &path)
            })
            .collect();
        let mut whole = Aggregates::default();
        for e in events.clone() {
            whole.event(e);
        }
        let key = StreamKey {
            kind: SourceKind::Web,
            service: String::new(),
        };
        let prefixes = &whole.streams[&key].by_path_prefix;
        assert_eq!(prefixes.len(), MAX_PATH_PREFIXES);
        assert!(!prefixes.contains_key("/healthz"));
        // The first met (i = 1), again at i = 41, 81, ... 361 but for 161 (a probe).
        let first = &prefixes["/p13"];
        let requests: u64 = first.minutes.values().map(|m| m.requests).sum();
        let seconds: u32 = first.seconds.values().map(|c| c.requests).sum();
        assert_eq!((requests, u64::from(seconds)), (9, 9));
        // Cut in parts taken in one after another: the same prefixes, the same counts.
        let mut cut = Aggregates::default();
        for part in events.chunks(57) {
            let mut partial = cut.fork();
            part.iter().cloned().for_each(|e| partial.event(e));
            cut.absorb(partial);
        }
        assert_eq!(&cut.streams[&key].by_path_prefix, prefixes);
        // App streams are split by service already.
        let app = StreamKey {
            kind: SourceKind::App,
            service: "auth".into(),
        };
        let mut agg = Aggregates::default();
        agg.event(request(1, "a", 500, "/login"));
        assert!(agg.streams[&app].by_path_prefix.is_empty());
    }

    type Kept = Vec<(u64, SeenSpan)>;

    /// Every kept user of every minute, in order, with their spans.
    fn kept(users: &StreamUsers) -> Vec<(i64, Kept, Kept)> {
        let sorted = |set: &UserSpans| {
            let mut v: Vec<(u64, SeenSpan)> = set.iter().map(|(u, s)| (*u, *s)).collect();
            v.sort_by_key(|(u, _)| *u);
            v
        };
        users
            .range(..)
            .map(|(m, u)| (*m, sorted(&u.active), sorted(&u.failing)))
            .collect()
    }

    #[test]
    fn past_the_budget_users_are_sampled_alike_however_the_input_is_cut() {
        let seen: Vec<(i64, u64, u8, bool)> = (0..6_000u64)
            .map(|n| {
                let user = identity_hash(0, &format!("u{}", n % 1_700));
                (60 * (n as i64 % 20), user, (n % 60) as u8, n % 3 == 0)
            })
            .collect();
        let mut whole = StreamUsers::with_budget(900);
        for &(m, u, s, f) in &seen {
            whole.see(m, u, s, f);
        }
        assert!(whole.level > 0 && whole.entries <= 900);
        let mut merged = StreamUsers::with_budget(900);
        for part in seen.chunks(1_300) {
            let mut users = StreamUsers::with_budget(900);
            for &(m, u, s, f) in part {
                users.see(m, u, s, f);
            }
            merged.merge(users);
        }
        assert_eq!(merged.level, whole.level);
        assert_eq!(kept(&merged), kept(&whole));
        // Parts that start at the level the total had reached when they were made (as chunk
        // parts do) keep the same users too.
        let mut merged = StreamUsers::with_budget(900);
        for part in seen.chunks(1_300) {
            let mut users = StreamUsers::with_budget(900);
            users.set_level(merged.level);
            for &(m, u, s, f) in part {
                users.see(m, u, s, f);
            }
            merged.merge(users);
        }
        assert_eq!(merged.level, whole.level);
        assert_eq!(kept(&merged), kept(&whole));
        // The sample stands for the whole: 1,700 users in each of 20 minutes' worth.
        let exact = {
            let mut users = StreamUsers::with_budget(usize::MAX);
            seen.iter().for_each(|&(m, u, s, f)| users.see(m, u, s, f));
            users
        };
        assert!(exact.is_exact());
        let (a, _) = exact.estimate_in_minute(0);
        let (b, _) = whole.estimate_in_minute(0);
        assert!((a as f64 - b as f64).abs() < 0.5 * a as f64, "{a} vs {b}");
    }

    #[test]
    fn routes_fold_identifiers() {
        assert_eq!(route_of("/api/orders/8812?x=1"), "/api/orders/:id");
        assert_eq!(
            route_of("/v2/charges/3f9c2e1a-77b0-4c1e-9d2a-0b7e5f1c2d3e/refund"),
            "/v2/charges/:id/refund"
        );
        assert_eq!(route_of("/api/v1/login"), "/api/v1/login");
        assert_eq!(route_of(""), "(none)");
    }

    #[test]
    fn users_remember_when_in_the_minute() {
        let mut agg = Aggregates::default();
        agg.event(request(70, "a", 200, "/login"));
        agg.event(request(95, "a", 500, "/login"));
        let stream = &agg.streams[&StreamKey {
            kind: SourceKind::App,
            service: "auth".into(),
        }];
        let users = stream.users.minute(60).expect("users of minute 60");
        let span = users.active.values().next().copied();
        assert_eq!(
            span,
            Some(SeenSpan {
                first: 10,
                last: 35
            })
        );
        assert_eq!(
            users.failing.values().next().copied(),
            Some(SeenSpan {
                first: 35,
                last: 35
            })
        );
        assert_eq!(
            stream.failures_by_route[&60][&("/login".to_string(), 500)],
            1
        );
    }

    #[test]
    fn dot_or_query_found_anywhere() {
        for len in 0..40 {
            for at in 0..len {
                for c in [b'.', b'?', b'#'] {
                    let mut b = vec![b'a'; len];
                    b[at] = c;
                    assert!(has_dot_or_query(&b), "{len} {at}");
                }
            }
            // Neighbours of the targets (`-`, `/`, `>`, `"`, `$`) and high bytes are not taken.
            let b: Vec<u8> = (0..len)
                .map(|k| [b'-', b'/', b'>', b'"', b'$', 0xc3, 0xae][k % 7])
                .collect();
            assert!(!has_dot_or_query(&b), "{len}");
        }
    }

    #[test]
    fn background_paths() {
        assert!(is_background_path("/healthz"));
        assert!(is_background_path("/static/app.3f2a.js"));
        assert!(is_background_path("/favicon.ico"));
        assert!(!is_background_path("/api/v1/login"));
        assert!(is_background_path("/Static/x"));
        assert!(is_background_path("/img/logo.PNG?v=3"));
        assert!(is_background_path("/-/ready/x"));
        assert!(!is_background_path("/api/v1.2/users"));
        assert!(!is_background_path("/report?format=x.css"));
        assert!(is_background_path("/app.min.js#top"));
        assert!(!is_background_path("/healthcheck"));
        assert!(!is_background_path("/js"));
        assert!(!is_background_path("/a.js/b"));
        assert!(!is_background_path("/api.json"));
        assert!(!is_background_path(".cs"));
        assert!(is_background_path(".css"));
        assert!(!is_background_path(""));
        assert!(!is_background_path("/héalth.é"));
        assert!(is_background_path("/ASSETS/a"));
        assert!(!is_background_path("/static"));
        assert!(!is_background_path("/statics/x"));
    }

    #[test]
    fn folded_prefix_is_a_case_blind_starts_with() {
        let paths = [
            "/static/",
            "/STATIC/x",
            "/sTaTiC/",
            "/static",
            "/statics/",
            "\\static/",
            "/static\u{f}",
            "/stat\u{c3}\u{a9}c/",
            "",
            "/assets/x",
            "/Assets/",
            "/assetsX",
            "/api/v1/login",
        ];
        for path in paths {
            for prefix in [b"/static/", b"/assets/"] {
                let plain = std::str::from_utf8(prefix).unwrap_or("");
                assert_eq!(
                    starts_with_folded(path, prefix),
                    starts_with_ignore_case(path, plain),
                    "{path:?} {plain}"
                );
            }
        }
    }

    #[test]
    fn last_key_shortcut_gives_what_a_search_gives() {
        let mut fast = BTreeMap::new();
        let mut plain: BTreeMap<i64, u64> = BTreeMap::new();
        for key in [5, 5, 6, 6, 6, 2, 9, 9, 6, 1, 9, 10] {
            update_at(&mut fast, key, |n: &mut u64| *n += 1);
            *plain.entry(key).or_default() += 1;
        }
        assert_eq!(fast, plain);
    }

    #[test]
    fn metric_samples_form_series_apart_from_log_streams() {
        use crate::event::MetricSample;
        let mut agg = Aggregates::default();
        for (t, v) in [(60, 1.0), (90, 3.0), (120, 2.0)] {
            let mut e = Event::new(
                t * NS_PER_SEC,
                SourceKind::Metric,
                Severity::Info,
                "m".into(),
            );
            e.metric = Some(MetricSample {
                name: "http_5xx".into(),
                value: v,
            });
            e.attrs.push(("job".into(), "auth".into()));
            agg.event(e);
        }
        let series = &agg.metrics["http_5xx{job=auth}"];
        assert_eq!(series[&60].samples, 2);
        assert_eq!(series[&60].max, 3.0);
        assert_eq!(series[&120].last, 2.0);
        assert!(agg.streams.is_empty());
        assert!(agg.templates.is_empty());
    }
}
