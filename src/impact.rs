//! Impact: for each outage, how long, how many users and requests it hurt, how the failure rate
//! compared with normal, and how fast it was detected, acknowledged and resolved.

use std::collections::{BTreeSet, HashSet};

use crate::aggregate::{Aggregates, StreamAggregate, minute_of, second_of};
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
    /// "exact" (distinct sets) — a sketch is used beyond memory limits in later versions.
    pub user_count_method: &'static str,
    pub requests_total: u64,
    pub requests_failed: u64,
    pub requests_failed_pct: Option<f64>,
    /// Failure rate before the outage: since the previous outage ended, or since the logs began.
    pub baseline_error_rate: Option<f64>,
    pub peak_error_rate: Option<f64>,
    pub peak_minute: Option<i64>,
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
    // Users are kept per minute: count the minutes the window touches.
    let first_minute = minute_of(outage.start);
    let mut active: HashSet<u64> = HashSet::new();
    let mut failing: HashSet<u64> = HashSet::new();
    for (_, u) in stream.users.range(first_minute..end_s) {
        active.extend(&u.active);
        failing.extend(&u.failing);
    }
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
        users_active: active.len() as u64,
        users_affected: failing.len() as u64,
        users_affected_pct: pct(failing.len() as u64, active.len() as u64),
        user_identity: identity,
        user_count_method: "exact",
        requests_total: total,
        requests_failed: failed,
        requests_failed_pct: pct(failed, total),
        baseline_error_rate: (base_total > 0).then(|| base_failed as f64 / base_total as f64),
        peak_error_rate: peak.map(|(_, p)| p),
        peak_minute: peak.map(|(m, _)| m),
    }
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
    use crate::aggregate::{SecondCounts, StreamKey};
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
        let u = s.users.entry(120).or_default();
        u.active.extend([1, 2, 3, 4]);
        u.failing.extend([1, 2, 3]);
        s.users.entry(360).or_default().active.insert(9);
        let i = impact(&outage(120, 300), &s, None);
        assert_eq!(i.requests_total, 6);
        assert_eq!(i.requests_failed, 3);
        assert_eq!(i.users_active, 4);
        assert_eq!(i.users_affected, 3);
        assert_eq!(i.users_affected_pct, Some(75.0));
        assert_eq!(i.duration_seconds, 180);
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
