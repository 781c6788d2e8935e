//! Impact: for each outage, how long, how many users and requests it hurt, how the failure rate
//! compared with normal, and how fast it was detected, acknowledged and resolved.

use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use crate::aggregate::{Aggregates, StreamAggregate, UserSet, minute_of, second_of};
use crate::detect::Outage;
use crate::event::{AlertState, Event, NS_PER_SEC, PageAction, TimeNs};

/// How users were counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserIdentity {
    /// A user id field in the logs.
    UserField,
    /// No user field: client addresses stand in.
    ClientAddress,
    Unknown,
}

impl UserIdentity {
    pub fn as_str(self) -> &'static str {
        match self {
            UserIdentity::UserField => "user field",
            UserIdentity::ClientAddress => "client address",
            UserIdentity::Unknown => "none",
        }
    }
}

/// Users and requests hurt by one outage.
#[derive(Debug, Clone, PartialEq)]
pub struct Impact {
    pub duration_seconds: i64,
    pub users_active: u64,
    pub users_affected: u64,
    pub users_affected_pct: Option<f64>,
    pub user_identity: UserIdentity,
    /// "exact" (distinct sets), or how the users were sampled past
    /// [`crate::aggregate::USER_ENTRY_BUDGET`], with the error of the share.
    pub user_count_method: String,
    pub requests_total: u64,
    pub requests_failed: u64,
    pub requests_failed_pct: Option<f64>,
    /// Failure rate before the outage: since the previous outage ended, or since the logs began.
    pub baseline_error_rate: Option<f64>,
    pub peak_error_rate: Option<f64>,
    pub peak_minute: Option<i64>,
    /// Failed requests by endpoint, status and service (filled by [`failure_breakdown`]).
    pub breakdown: Breakdown,
}

/// Failed requests of a window, grouped three ways, biggest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Breakdown {
    /// Route (identifiers folded to `:id`) → failed requests.
    pub by_endpoint: Vec<(String, u64)>,
    pub by_status: Vec<(u16, u64)>,
    /// Stream label (`checkout (app)`, `web tier`) → failed requests, for every stream of the
    /// outage's kind: which services failed with it.
    pub by_service: Vec<(String, u64)>,
}

/// How users were counted when the stream's users were hash-sampled: the sample rate, the
/// users sampled in the window and one standard error of the share.
fn sampled_method(scale: u64, sampled_active: usize, share: Option<f64>) -> String {
    // The share is a proportion over the sampled users; a sample of 1 in `scale` drawn from a
    // finite set has the usual finite-population correction.
    let se_points = share.map_or(0.0, |p| {
        let p = p / 100.0;
        let n = sampled_active.max(1) as f64;
        let fpc = 1.0 - 1.0 / scale as f64;
        100.0 * (p * (1.0 - p) * fpc / n).sqrt()
    });
    format!(
        "hash sample of 1 in {scale} users ({sampled_active} sampled in the window; share \u{b1}{se_points:.1} points, 1 s.e.)"
    )
}

/// An alert or page event that belongs to an outage.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentEvent {
    pub time: TimeNs,
    pub what: String,
    pub event: Event,
}

/// Detection and response times of one outage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    /// First alert firing or page triggered for the outage.
    pub first_alert: Option<IncidentEvent>,
    pub paged: Option<IncidentEvent>,
    pub acknowledged: Option<IncidentEvent>,
    pub escalated: Vec<IncidentEvent>,
    pub notes: Vec<IncidentEvent>,
    /// The incident's resolution in the paging history, else the alert's.
    pub resolved: Option<IncidentEvent>,
    pub alert_resolved: Option<IncidentEvent>,
    pub related_alerts: Vec<String>,
    pub incident_ids: Vec<String>,
    pub time_to_detect_seconds: Option<i64>,
    pub time_to_acknowledge_seconds: Option<i64>,
    pub time_to_resolve_seconds: Option<i64>,
}

/// How far before an outage's start an alert may fire and still belong to it (a slow
/// degradation often trips an alert before the failure rate crosses the detector's bar).
const ALERT_LEAD_SECS: i64 = 15 * 60;

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// Users and requests inside [start, end) of the stream the outage was measured on.
/// `since` is where the baseline begins: the end of the previous outage, if any.
pub fn impact(outage: &Outage, stream: &StreamAggregate, since: Option<TimeNs>) -> Impact {
    let start_s = second_of(outage.start);
    let end_s = second_of(outage.end);
    let (mut total, mut failed) = (0u64, 0u64);
    for (_, c) in stream.seconds.range(start_s..end_s) {
        total += u64::from(c.requests);
        failed += u64::from(c.failed);
    }
    // Users are kept per minute with the first and last second each was seen in it: a user of
    // an edge minute counts when that span reaches into the window.
    let first_minute = minute_of(outage.start);
    // (The ids are hashes already: the sets do not hash them again.)
    let mut active = UserSet::default();
    let mut failing = UserSet::default();
    for (&m, u) in stream.users.range(first_minute..end_s) {
        let lo = (start_s - m).clamp(0, 60);
        let hi = (end_s - m).clamp(0, 60);
        let inside = |span: &crate::aggregate::SeenSpan| {
            i64::from(span.last) >= lo && i64::from(span.first) < hi
        };
        for (id, span) in &u.active {
            if inside(span) {
                active.insert(*id);
            }
        }
        for (id, span) in &u.failing {
            if inside(span) {
                failing.insert(*id);
            }
        }
    }
    // A failing user was active too (the sets are the same users, sampled alike).
    let scale = stream.users.scale();
    let users_active = active.len() as u64 * scale;
    let users_affected = failing.len().min(active.len()) as u64 * scale;
    let users_affected_pct = pct(users_affected, users_active);
    let user_count_method = if stream.users.is_exact() {
        "exact".to_string()
    } else {
        sampled_method(scale, active.len(), users_affected_pct)
    };
    let identity = if stream.identity.by_user_field > 0 {
        UserIdentity::UserField
    } else if stream.identity.by_client_address > 0 {
        UserIdentity::ClientAddress
    } else {
        UserIdentity::Unknown
    };
    let baseline_from = since.map_or(i64::MIN, second_of);
    let (mut base_total, mut base_failed) = (0u64, 0u64);
    for (_, c) in stream.seconds.range(baseline_from..start_s) {
        base_total += u64::from(c.requests);
        base_failed += u64::from(c.failed);
    }
    let mut peak: Option<(i64, f64)> = None;
    for (m, c) in stream.minutes.range(first_minute..end_s) {
        if c.requests == 0 {
            continue;
        }
        let rate = c.failed as f64 / c.requests as f64;
        if peak.is_none_or(|(_, p)| rate > p) {
            peak = Some((*m, rate));
        }
    }
    Impact {
        duration_seconds: (outage.end - outage.start) / NS_PER_SEC,
        users_active,
        users_affected,
        users_affected_pct,
        user_identity: identity,
        user_count_method,
        requests_total: total,
        requests_failed: failed,
        requests_failed_pct: pct(failed, total),
        baseline_error_rate: (base_total > 0).then(|| base_failed as f64 / base_total as f64),
        peak_error_rate: peak.map(|(_, p)| p),
        peak_minute: peak.map(|(m, _)| m),
        breakdown: Breakdown::default(),
    }
}

/// Sums `failed` by one column and returns the groups biggest first (ties by key).
fn group_sum(frame: &DataFrame, by: &str) -> PolarsResult<Vec<(String, u64)>> {
    // The eager group-by is deprecated in favour of the lazy API; the lazy feature would add
    // minutes to every clean build for three sums.
    #[allow(deprecated)]
    let grouped = frame.group_by([by])?.select(["failed"]).sum()?;
    let keys = grouped.column(by)?.cast(&DataType::String)?;
    let keys = keys.str()?;
    let sums = grouped.column("failed_sum")?.cast(&DataType::Int64)?;
    let sums = sums.i64()?;
    let mut out: Vec<(String, u64)> = (0..grouped.height())
        .filter_map(|i| Some((keys.get(i)?.to_string(), u64::try_from(sums.get(i)?).ok()?)))
        .filter(|(_, n)| *n > 0)
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

/// Failed requests of the outage by endpoint and status (on its stream, over the minutes the
/// window touches) and by service (every stream of the same kind, to the second), grouped
/// with polars.
pub fn failure_breakdown(outage: &Outage, aggregates: &Aggregates) -> PolarsResult<Breakdown> {
    let start_s = second_of(outage.start);
    let end_s = second_of(outage.end);
    let mut routes: BTreeMap<(String, u16), u64> = BTreeMap::new();
    if let Some(stream) = aggregates.streams.get(&outage.stream) {
        for (_, per_route) in stream
            .failures_by_route
            .range(minute_of(outage.start)..end_s)
        {
            for (key, n) in per_route {
                *routes.entry(key.clone()).or_default() += n;
            }
        }
    }
    let mut breakdown = Breakdown::default();
    if !routes.is_empty() {
        let endpoints: Vec<String> = routes.keys().map(|(r, _)| r.clone()).collect();
        let statuses: Vec<String> = routes.keys().map(|(_, s)| s.to_string()).collect();
        let counts: Vec<i64> = routes.values().map(|n| *n as i64).collect();
        let frame = df!("endpoint" => endpoints, "status" => statuses, "failed" => counts)?;
        breakdown.by_endpoint = group_sum(&frame, "endpoint")?;
        breakdown.by_status = group_sum(&frame, "status")?
            .into_iter()
            .filter_map(|(s, n)| Some((s.parse().ok()?, n)))
            .collect();
    }
    let mut labels = Vec::new();
    let mut counts = Vec::new();
    for (key, stream) in &aggregates.streams {
        if key.kind != outage.stream.kind {
            continue;
        }
        let failed: u64 = stream
            .seconds
            .range(start_s..end_s)
            .map(|(_, c)| u64::from(c.failed))
            .sum();
        labels.push(key.label());
        counts.push(failed as i64);
    }
    if !labels.is_empty() {
        let frame = df!("service" => labels, "failed" => counts)?;
        breakdown.by_service = group_sum(&frame, "service")?;
    }
    Ok(breakdown)
}

fn incident(event: &Event, what: &str) -> IncidentEvent {
    IncidentEvent {
        time: event.time,
        what: what.to_string(),
        event: event.clone(),
    }
}

/// Finds the alerts and pages that belong to an outage and the response times they give.
///
/// An alert belongs to the outage when it starts firing between shortly before the outage and
/// its end; an alert firing at another time (a disk filling up in the morning) does not. A page
/// belongs when it is triggered in the same span, and then its whole incident (acknowledge,
/// escalations, notes, resolution) does too, whenever those happen.
pub fn response(outage: &Outage, aggregates: &Aggregates) -> Response {
    let lead = ALERT_LEAD_SECS * NS_PER_SEC;
    let in_span = |t: TimeNs| t >= outage.start - lead && t < outage.end;
    let mut r = Response::default();
    let mut fingerprints = BTreeSet::new();
    for e in &aggregates.alerts {
        let Some(a) = &e.alert else { continue };
        if a.state == AlertState::Firing && in_span(e.time) {
            if fingerprints.insert(a.fingerprint.clone()) && !r.related_alerts.contains(&a.name) {
                r.related_alerts.push(a.name.clone());
            }
            if r.first_alert.as_ref().is_none_or(|f| e.time < f.time) {
                r.first_alert = Some(incident(e, &format!("alert {} fired", a.name)));
            }
        }
    }
    // The first resolution of a related alert after the outage began.
    r.alert_resolved = aggregates
        .alerts
        .iter()
        .filter(|e| e.time >= outage.start)
        .find(|e| {
            e.alert.as_ref().is_some_and(|a| {
                a.state == AlertState::Resolved && fingerprints.contains(&a.fingerprint)
            })
        })
        .map(|e| {
            incident(
                e,
                &format!(
                    "alert {} resolved",
                    e.alert.as_ref().map_or("", |a| a.name.as_str())
                ),
            )
        });

    let mut incidents: Vec<String> = Vec::new();
    for e in &aggregates.pages {
        let Some(p) = &e.page else { continue };
        if p.action == PageAction::Triggered
            && in_span(e.time)
            && !incidents.contains(&p.incident_id)
        {
            incidents.push(p.incident_id.clone());
        }
    }
    for e in &aggregates.pages {
        let Some(p) = &e.page else { continue };
        if !incidents.contains(&p.incident_id) {
            continue;
        }
        match p.action {
            PageAction::Triggered if r.paged.is_none() => {
                r.paged = Some(incident(e, "paged"));
            }
            PageAction::Acknowledged if r.acknowledged.is_none() => {
                let who = p
                    .agent
                    .as_deref()
                    .map(|a| format!(" by {a}"))
                    .unwrap_or_default();
                r.acknowledged = Some(incident(e, &format!("acknowledged{who}")));
            }
            PageAction::Escalated => r.escalated.push(incident(e, "escalated")),
            PageAction::Annotated => r.notes.push(incident(e, "note")),
            PageAction::Resolved if r.resolved.is_none() => {
                r.resolved = Some(incident(e, "incident resolved"));
            }
            _ => {}
        }
    }
    if let Some(paged) = &r.paged
        && r.first_alert.as_ref().is_none_or(|f| paged.time < f.time)
    {
        r.first_alert = Some(paged.clone());
    }
    if r.resolved.is_none() {
        r.resolved = r.alert_resolved.clone();
    }
    r.incident_ids = incidents;
    let secs = |a: TimeNs, b: TimeNs| (a - b).div_euclid(NS_PER_SEC);
    r.time_to_detect_seconds = r.first_alert.as_ref().map(|f| secs(f.time, outage.start));
    r.time_to_acknowledge_seconds = match (&r.acknowledged, &r.first_alert) {
        (Some(a), Some(f)) => Some(secs(a.time, f.time)),
        _ => None,
    };
    r.time_to_resolve_seconds = Some(match &r.resolved {
        Some(res) => secs(res.time, outage.start),
        None => secs(outage.end, outage.start),
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{SecondCounts, StreamKey, StreamUsers};
    use crate::detect::Evidence;
    use crate::event::{AlertInfo, PageInfo, Severity, SourceKind};

    fn outage(start: i64, end: i64) -> Outage {
        Outage {
            start: start * NS_PER_SEC,
            end: end * NS_PER_SEC,
            stream: StreamKey {
                kind: SourceKind::App,
                service: "svc".into(),
            },
            evidence: Evidence {
                method: "binomial-pelt",
                baseline_rate: 0.0,
                window_rate: 0.0,
                peak_rate: 0.0,
                peak_minute: 0,
                change_points: vec![],
                z_score: 0.0,
                dispersion: 1.0,
                agreeing_streams: vec![],
                alerts: vec![],
                expected_requests_per_minute: None,
                observed_requests_per_minute: None,
            },
        }
    }

    #[test]
    fn counts_users_and_requests_inside_the_window() {
        let mut s = StreamAggregate::default();
        for sec in [100, 130, 200, 250, 400] {
            s.seconds.insert(
                sec,
                SecondCounts {
                    requests: 2,
                    failed: u32::from((130..300).contains(&sec)),
                },
            );
        }
        for user in [1, 2, 3, 4] {
            s.users.see(120, user, 10, user != 4);
        }
        // Seen only before the window starts inside its first minute: not active in it.
        s.users.see(60, 8, 30, true);
        s.users.see(360, 9, 0, false);
        let i = impact(&outage(120, 300), &s, None);
        assert_eq!(i.requests_total, 6);
        assert_eq!(i.requests_failed, 3);
        assert_eq!(i.users_active, 4);
        assert_eq!(i.users_affected, 3);
        assert_eq!(i.users_affected_pct, Some(75.0));
        assert_eq!(i.duration_seconds, 180);
    }

    #[test]
    fn client_addresses_stand_in_when_there_is_no_user_field() {
        use crate::ingest::EventSink;
        let mut agg = Aggregates::default();
        for (t, client, status) in [(130, "203.0.113.7", 500), (140, "203.0.113.8", 200)] {
            let mut e = Event::new(
                t * NS_PER_SEC,
                SourceKind::Web,
                Severity::Info,
                "GET /x".into(),
            );
            e.status = Some(status);
            e.client = Some(client.into());
            e.path = Some("/x".into());
            agg.event(e);
        }
        let key = StreamKey {
            kind: SourceKind::Web,
            service: String::new(),
        };
        let mut o = outage(120, 180);
        o.stream = key.clone();
        let i = impact(&o, &agg.streams[&key], None);
        assert_eq!(i.user_identity, UserIdentity::ClientAddress);
        assert_eq!((i.users_active, i.users_affected), (2, 1));
        assert_eq!(i.users_affected_pct, Some(50.0));
    }

    #[test]
    fn edge_minutes_count_only_users_seen_inside_the_window() {
        let mut s = StreamAggregate::default();
        // Window [90, 150): minute 60 has a user at :10 (before) and one at :40 (inside);
        // minute 120 has one at :20 (inside) and one at :45 (after).
        s.users.see(60, 1, 10, true);
        s.users.see(60, 2, 40, true);
        s.users.see(120, 3, 20, false);
        s.users.see(120, 4, 45, true);
        let i = impact(&outage(90, 150), &s, None);
        assert_eq!((i.users_active, i.users_affected), (2, 1));
    }

    /// A well-spread 64-bit identity for test user `n` (splitmix64), like the hashes the
    /// aggregate keeps.
    fn identity(n: u64) -> u64 {
        let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn past_the_budget_users_are_sampled_and_counted_within_the_error() {
        let fill = |s: &mut StreamAggregate| {
            for user in 0..40_000u64 {
                let minute = 60 * (user as i64 % 30);
                s.users.see(minute, identity(user), 5, user % 4 == 0);
            }
        };
        let mut whole = StreamAggregate::default();
        fill(&mut whole);
        let exact = impact(&outage(0, 1_800), &whole, None);
        assert_eq!(exact.user_count_method, "exact");
        assert_eq!((exact.users_active, exact.users_affected), (40_000, 10_000));
        let mut small = StreamAggregate {
            users: StreamUsers::with_budget(2_000),
            ..StreamAggregate::default()
        };
        fill(&mut small);
        assert!(small.users.scale() >= 16, "{}", small.users.scale());
        let sampled = impact(&outage(0, 1_800), &small, None);
        assert!(
            sampled.user_count_method.starts_with("hash sample of 1 in"),
            "{}",
            sampled.user_count_method
        );
        // Within four standard errors: 1/sqrt(n) on the count, sqrt(p(1-p)/n) on the share.
        let n = 40_000.0 / small.users.scale() as f64;
        let err = (sampled.users_active as f64 - 40_000.0).abs() / 40_000.0;
        assert!(err < 4.0 / n.sqrt(), "{}", sampled.users_active);
        let pct = sampled.users_affected_pct.unwrap_or(0.0);
        assert!(
            (pct - 25.0).abs() < 400.0 * (0.25f64 * 0.75 / n).sqrt(),
            "{pct}"
        );
    }

    #[test]
    fn failures_break_down_by_endpoint_status_and_service() {
        let mut agg = Aggregates::default();
        let mut app = StreamAggregate::default();
        let routes = app.failures_by_route.entry(120).or_default();
        routes.insert(("/login".into(), 500), 7);
        routes.insert(("/login".into(), 503), 2);
        routes.insert(("/me".into(), 500), 3);
        app.seconds.insert(
            130,
            SecondCounts {
                requests: 20,
                failed: 12,
            },
        );
        let mut other = StreamAggregate::default();
        other.seconds.insert(
            140,
            SecondCounts {
                requests: 5,
                failed: 1,
            },
        );
        agg.streams.insert(
            StreamKey {
                kind: SourceKind::App,
                service: "svc".into(),
            },
            app,
        );
        agg.streams.insert(
            StreamKey {
                kind: SourceKind::App,
                service: "billing".into(),
            },
            other,
        );
        let b = failure_breakdown(&outage(120, 300), &agg).unwrap();
        assert_eq!(
            b.by_endpoint,
            vec![("/login".to_string(), 9), ("/me".to_string(), 3)]
        );
        assert_eq!(b.by_status, vec![(500, 10), (503, 2)]);
        assert_eq!(
            b.by_service,
            vec![
                ("svc (app)".to_string(), 12),
                ("billing (app)".to_string(), 1)
            ]
        );
    }

    fn alert(t: i64, name: &str, state: AlertState) -> Event {
        let mut e = Event::new(
            t * NS_PER_SEC,
            SourceKind::Alert,
            Severity::Warn,
            name.into(),
        );
        e.alert = Some(AlertInfo {
            name: name.into(),
            state,
            fingerprint: name.into(),
            severity_label: None,
        });
        e
    }

    fn page(t: i64, action: PageAction) -> Event {
        let mut e = Event::new(
            t * NS_PER_SEC,
            SourceKind::Page,
            Severity::Info,
            "page".into(),
        );
        e.page = Some(PageInfo {
            action,
            incident_id: "Q1".into(),
            title: "t".into(),
            agent: None,
        });
        e
    }

    #[test]
    fn response_times_ignore_unrelated_alerts() {
        let mut agg = Aggregates::default();
        agg.alerts = vec![
            alert(100, "DiskSpaceLow", AlertState::Firing),
            alert(500, "DiskSpaceLow", AlertState::Resolved),
            alert(10_300, "ErrorRateHigh", AlertState::Firing),
            alert(17_500, "ErrorRateHigh", AlertState::Resolved),
        ];
        agg.pages = vec![
            page(10_360, PageAction::Triggered),
            page(10_720, PageAction::Acknowledged),
            page(10_900, PageAction::Escalated),
            page(17_680, PageAction::Resolved),
        ];
        let r = response(&outage(10_000, 17_200), &agg);
        assert_eq!(r.related_alerts, vec!["ErrorRateHigh".to_string()]);
        assert_eq!(r.time_to_detect_seconds, Some(300));
        assert_eq!(r.time_to_acknowledge_seconds, Some(420));
        assert_eq!(r.time_to_resolve_seconds, Some(7_680));
        assert_eq!(r.escalated.len(), 1);
        assert_eq!(
            r.alert_resolved.as_ref().map(|a| a.time),
            Some(17_500 * NS_PER_SEC)
        );
    }

    #[test]
    fn missing_events_are_none_not_zero() {
        let r = response(&outage(0, 600), &Aggregates::default());
        assert_eq!(r.time_to_detect_seconds, None);
        assert_eq!(r.time_to_acknowledge_seconds, None);
        assert_eq!(r.time_to_resolve_seconds, Some(600));
    }
}
