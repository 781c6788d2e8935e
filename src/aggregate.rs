//! Aggregate: folds the event stream into mergeable per-minute (and per-second) counters per
//! stream, the users seen per minute, message templates, and the few notable events worth
//! keeping (changes, alerts, pages). Memory grows with the time span, not with the input size.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::event::{AlertState, Event, NS_PER_SEC, Origin, Severity, SourceKind, TimeNs};
use crate::ingest::EventSink;
use crate::notable::{self, Change};
use crate::template::{request_template, template_of};

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

/// Hashed identities of the users seen in one minute, with when in the minute.
#[derive(Debug, Clone, Default)]
pub struct MinuteUsers {
    pub active: HashMap<u64, SeenSpan>,
    pub failing: HashMap<u64, SeenSpan>,
}

impl MinuteUsers {
    /// Records a request by `user` at `second` of the minute.
    pub fn see(&mut self, user: u64, second: u8, failed: bool) {
        let span = SeenSpan::at(second);
        self.active
            .entry(user)
            .and_modify(|s| s.widen(span))
            .or_insert(span);
        if failed {
            self.failing
                .entry(user)
                .and_modify(|s| s.widen(span))
                .or_insert(span);
        }
    }

    fn merge(&mut self, other: MinuteUsers) {
        for (user, span) in other.active {
            self.active
                .entry(user)
                .and_modify(|s| s.widen(span))
                .or_insert(span);
        }
        for (user, span) in other.failing {
            self.failing
                .entry(user)
                .and_modify(|s| s.widen(span))
                .or_insert(span);
        }
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
    pub users: BTreeMap<i64, MinuteUsers>,
    pub first_failures: BTreeMap<i64, FailureSample>,
    /// Failed requests per minute by (route, status), for the impact breakdown.
    pub failures_by_route: BTreeMap<i64, BTreeMap<(String, u16), u64>>,
    pub identity: IdentityCounts,
    /// Health checks and static files: counted apart from user traffic.
    pub background_requests: u64,
    pub background_failed: u64,
}

impl StreamAggregate {
    pub fn total_requests(&self) -> u64 {
        self.minutes.values().map(|m| m.requests).sum()
    }

    fn merge(&mut self, other: StreamAggregate) {
        for (m, c) in other.minutes {
            *self.minutes.entry(m).or_default() += c;
        }
        for (s, c) in other.seconds {
            let e = self.seconds.entry(s).or_default();
            e.requests += c.requests;
            e.failed += c.failed;
        }
        for (m, u) in other.users {
            self.users.entry(m).or_default().merge(u);
        }
        for (m, f) in other.first_failures {
            match self.first_failures.get(&m) {
                Some(existing) if (existing.time, existing.origin) <= (f.time, f.origin) => {}
                _ => {
                    self.first_failures.insert(m, f);
                }
            }
        }
        for (m, routes) in other.failures_by_route {
            let mine = self.failures_by_route.entry(m).or_default();
            for (route, n) in routes {
                *mine.entry(route).or_default() += n;
            }
        }
        self.identity.by_user_field += other.identity.by_user_field;
        self.identity.by_client_address += other.identity.by_client_address;
        self.identity.unidentified += other.identity.unidentified;
        self.background_requests += other.background_requests;
        self.background_failed += other.background_failed;
    }
}

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
    pub templates: HashMap<(SourceKind, String), TemplateStats>,
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
    let path = path.split(['?', '#']).next().unwrap_or(path);
    if path.is_empty() {
        return "(none)".to_string();
    }
    let mut out = String::with_capacity(path.len());
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
    out
}

/// Paths that are not user traffic: probes, metrics scrapes and static assets.
pub fn is_background_path(path: &str) -> bool {
    let path = path
        .split(['?', '#'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
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
    if PROBES
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")))
    {
        return true;
    }
    if path.starts_with("/static/") || path.starts_with("/assets/") {
        return true;
    }
    const STATIC: &[&str] = &[
        ".css", ".js", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".woff", ".woff2", ".ttf",
        ".map", ".webp",
    ];
    STATIC.iter().any(|ext| path.ends_with(ext))
}

fn identity_hash(kind: u8, s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    kind.hash(&mut h);
    s.hash(&mut h);
    h.finish()
}

impl Aggregates {
    fn observe_time(&mut self, t: TimeNs) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }

    fn add_request(&mut self, event: &Event, kind: SourceKind) {
        let key = StreamKey {
            kind,
            service: event.service.clone().unwrap_or_default(),
        };
        let stream = self.streams.entry(key).or_default();
        let failed = event.is_failed_request();
        if event.path.as_deref().is_some_and(is_background_path) {
            stream.background_requests += 1;
            stream.background_failed += u64::from(failed);
            return;
        }
        let minute = minute_of(event.time);
        let counts = stream.minutes.entry(minute).or_default();
        counts.requests += 1;
        counts.failed += u64::from(failed);
        let second = stream.seconds.entry(second_of(event.time)).or_default();
        second.requests += 1;
        second.failed += u32::from(failed);
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
            let second_in_minute = (second_of(event.time) - minute) as u8;
            stream
                .users
                .entry(minute)
                .or_default()
                .see(id, second_in_minute, failed);
        }
        if failed {
            let routes = stream.failures_by_route.entry(minute).or_default();
            let route = route_of(event.path.as_deref().unwrap_or(""));
            let status = event.status.unwrap_or(0);
            // A scanner hitting random paths must not grow memory: past the cap, one bucket.
            let key = if routes.len() < MAX_ROUTES_PER_MINUTE
                || routes.contains_key(&(route.clone(), status))
            {
                (route, status)
            } else {
                ("(other)".to_string(), status)
            };
            *routes.entry(key).or_default() += 1;
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
                        message: event.message.clone(),
                        status: event.status.unwrap_or(0),
                    },
                );
            }
        }
    }

    fn add_template(&mut self, event: &Event, kind: SourceKind) {
        // An access log's message only repeats the request: its kind is method, path and status.
        let template = match (kind, event.status) {
            (SourceKind::Web, Some(status)) => {
                request_template(event.method.as_deref(), event.path.as_deref(), status)
            }
            _ => template_of(&event.message),
        };
        let is_error = event.severity.is_error() || event.is_failed_request();
        let minute = minute_of(event.time);
        let key = (kind, template);
        if let Some(stats) = self.templates.get_mut(&key) {
            stats.count += 1;
            if (event.time, event.origin) < (stats.first, stats.first_origin) {
                stats.first = event.time;
                stats.first_origin = event.origin;
                stats.sample = event.message.clone();
            }
            stats.last = stats.last.max(event.time);
            stats.max_severity = stats.max_severity.max(event.severity);
            if is_error {
                *stats.per_minute.entry(minute).or_default() += 1;
            }
            return;
        }
        if self.templates.len() >= MAX_TEMPLATES {
            self.templates_overflow += 1;
            return;
        }
        let mut per_minute = BTreeMap::new();
        if is_error {
            per_minute.insert(minute, 1);
        }
        self.templates.insert(
            key.clone(),
            TemplateStats {
                kind,
                template: key.1,
                count: 1,
                first: event.time,
                first_origin: event.origin,
                sample: event.message.clone(),
                last: event.time,
                max_severity: event.severity,
                per_minute,
            },
        );
    }

    fn add_change(&mut self, event: &Event, kind: SourceKind, change: Change) {
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
            text: event.message.clone(),
            user: event.user.clone(),
        });
    }

    fn add_metric(&mut self, event: &Event) {
        let (Some(series), Some(metric)) = (metric_series_key(event), event.metric.as_ref()) else {
            return;
        };
        if !self.metrics.contains_key(&series) && self.metrics.len() >= MAX_METRIC_SERIES {
            self.metric_samples_dropped += 1;
            return;
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
        for (key, stream) in other.streams {
            self.streams.entry(key).or_default().merge(stream);
        }
        for (file, minutes) in other.events_per_file {
            let mine = self.events_per_file.entry(file).or_default();
            for (m, n) in minutes {
                *mine.entry(m).or_default() += n;
            }
        }
        for (key, stats) in other.templates {
            let room = self.templates.len() < MAX_TEMPLATES;
            match self.templates.get_mut(&key) {
                Some(mine) => {
                    mine.count += stats.count;
                    if (stats.first, stats.first_origin) < (mine.first, mine.first_origin) {
                        mine.first = stats.first;
                        mine.first_origin = stats.first_origin;
                        mine.sample = stats.sample;
                    }
                    mine.last = mine.last.max(stats.last);
                    mine.max_severity = mine.max_severity.max(stats.max_severity);
                    for (m, n) in stats.per_minute {
                        *mine.per_minute.entry(m).or_default() += n;
                    }
                }
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
        self.metric_samples_dropped += other.metric_samples_dropped;
        self.changes.extend(other.changes);
        self.changes_dropped += other.changes_dropped;
        self.alerts.extend(other.alerts);
        self.pages.extend(other.pages);
        self.alert_events_dropped += other.alert_events_dropped;
        if let Some(f) = other.first {
            self.observe_time(f);
        }
        if let Some(l) = other.last {
            self.observe_time(l);
        }
        self.events += other.events;
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

impl EventSink for Aggregates {
    fn event(&mut self, event: Event) {
        self.events += 1;
        self.observe_time(event.time);
        let kind = event.kind.unwrap_or(SourceKind::App);
        *self
            .events_per_file
            .entry(event.origin.file)
            .or_default()
            .entry(minute_of(event.time))
            .or_default() += 1;
        match kind {
            SourceKind::Alert => {
                if self.alerts.len() < MAX_ALERT_EVENTS {
                    self.alerts.push(event);
                } else {
                    self.alert_events_dropped += 1;
                }
                return;
            }
            SourceKind::Page => {
                if self.pages.len() < MAX_ALERT_EVENTS {
                    self.pages.push(event);
                } else {
                    self.alert_events_dropped += 1;
                }
                return;
            }
            SourceKind::Metric => {
                self.add_metric(&event);
                return;
            }
            _ => {}
        }
        if event.is_request() {
            self.add_request(&event, kind);
        }
        let key = StreamKey {
            kind,
            service: event.service.clone().unwrap_or_default(),
        };
        let counts = self
            .streams
            .entry(key)
            .or_default()
            .minutes
            .entry(minute_of(event.time))
            .or_default();
        counts.events += 1;
        counts.error_events += u64::from(event.severity.is_error());
        // Successful requests are the bulk of any log and all alike: not templated.
        let routine_request = event.is_request() && !event.is_failed_request();
        if !routine_request {
            self.add_template(&event, kind);
        }
        if let Some(change) = notable::classify(&event) {
            self.add_change(&event, kind, change);
        }
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
        assert_eq!(stream.users[&60].active.len(), 2);
        assert_eq!(stream.users[&60].failing.len(), 1);
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
        let users = &stream.users[&60];
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
    fn background_paths() {
        assert!(is_background_path("/healthz"));
        assert!(is_background_path("/static/app.3f2a.js"));
        assert!(is_background_path("/favicon.ico"));
        assert!(!is_background_path("/api/v1/login"));
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
