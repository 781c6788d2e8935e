//! `summary.json` (schema `retrace.summary/v1`): its own output types, rendered from an analysis.
//! Times are RFC 3339 UTC; floats are rounded so the same input gives the same bytes.

use serde::Serialize;

use crate::event::TimeNs;
use crate::pipeline::{Analysis, OutageAnalysis};
use crate::redact::Redaction;
use crate::time::format_utc;

pub const SCHEMA: &str = "retrace.summary/v1";

#[derive(Debug, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    pub generator: Generator,
    /// Whether user ids, e-mail and IP addresses and tokens in log text were replaced by
    /// `<user>`, `<email>`, `<ip>`, `<token>` (the default; `--no-redact` keeps them).
    pub redacted: bool,
    pub report_zone: String,
    pub assumed_zone: String,
    pub span: Option<Span>,
    pub inputs: Vec<Input>,
    pub diagnostics: Diagnostics,
    pub outages: Vec<OutageOut>,
    pub timeline: Vec<TimelineOut>,
    /// The PNG charts.
    pub charts: Vec<String>,
    /// The same charts as SVG, with `--svg`.
    pub charts_svg: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Generator {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Span {
    pub first: String,
    pub last: String,
}

#[derive(Debug, Serialize)]
pub struct Input {
    pub path: String,
    pub format: Option<&'static str>,
    pub format_confidence: f64,
    pub format_forced: bool,
    pub gzip: bool,
    pub lines: u64,
    pub parsed: u64,
    pub joined: u64,
    pub unparsed: u64,
    pub blank: u64,
    pub truncated_lines: u64,
    pub events: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Diagnostics {
    pub unparsed_samples: Vec<UnparsedOut>,
    pub path_problems: Vec<PathProblemOut>,
    pub notes: Vec<String>,
    pub templates_overflow: u64,
    pub changes_dropped: u64,
    /// `--notes` lines that were not understood.
    pub note_problems: Vec<NoteProblemOut>,
}

#[derive(Debug, Serialize)]
pub struct NoteProblemOut {
    pub path: String,
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct UnparsedOut {
    pub path: String,
    pub line: u64,
    pub reason: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct PathProblemOut {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct OutageOut {
    pub start: String,
    pub end: String,
    pub duration_seconds: i64,
    pub service: String,
    pub measured_on: String,
    pub impact: ImpactOut,
    pub detection: DetectionOut,
    pub evidence: EvidenceOut,
    pub root_cause_candidates: Vec<CandidateOut>,
    pub top_errors: Vec<ErrorOut>,
    pub resolution: Vec<TimelineOut>,
    /// The resolution steps grouped into actions (a restore, a rollback).
    pub response_actions: Vec<ActionOut>,
}

#[derive(Debug, Serialize)]
pub struct ActionOut {
    pub kind: &'static str,
    pub object: Option<String>,
    pub operations: Vec<String>,
    pub first: String,
    pub last: String,
    pub steps: u64,
    pub source: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct ImpactOut {
    pub users_active: u64,
    pub users_affected: u64,
    pub users_affected_pct: Option<f64>,
    pub user_identity: &'static str,
    pub user_count_method: String,
    pub requests_total: u64,
    pub requests_failed: u64,
    pub requests_failed_pct: Option<f64>,
    pub baseline_error_rate: Option<f64>,
    pub peak_error_rate: Option<f64>,
    pub peak_minute: Option<String>,
    /// Failed requests of the window by endpoint (route), status and service, biggest first.
    pub failed_by_endpoint: Vec<FailedCountOut>,
    pub failed_by_status: Vec<FailedCountOut>,
    pub failed_by_service: Vec<FailedCountOut>,
}

#[derive(Debug, Serialize)]
pub struct FailedCountOut {
    pub key: String,
    pub failed: u64,
}

fn counts_out<K: ToString>(counts: &[(K, u64)]) -> Vec<FailedCountOut> {
    counts
        .iter()
        .map(|(k, n)| FailedCountOut {
            key: k.to_string(),
            failed: *n,
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct DetectionOut {
    pub first_alert: Option<String>,
    pub first_alert_source: Option<String>,
    pub paged: Option<String>,
    pub acknowledged: Option<String>,
    pub escalated: Vec<String>,
    pub resolved: Option<String>,
    pub alert_resolved: Option<String>,
    pub related_alerts: Vec<String>,
    pub incident_ids: Vec<String>,
    pub time_to_detect_seconds: Option<i64>,
    pub time_to_acknowledge_seconds: Option<i64>,
    pub time_to_resolve_seconds: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct EvidenceOut {
    pub method: &'static str,
    pub baseline_rate: f64,
    pub window_rate: f64,
    pub peak_rate: f64,
    pub change_points: Vec<String>,
    pub z_score: f64,
    pub dispersion: f64,
    pub agreeing_sources: Vec<String>,
    /// Alerts that fired with the window (corroboration; they never define it).
    pub corroborating_alerts: Vec<String>,
    /// For a traffic collapse: requests per minute expected and seen in the window.
    pub expected_requests_per_minute: Option<f64>,
    pub observed_requests_per_minute: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct CandidateOut {
    pub time: String,
    pub source: String,
    pub kind: &'static str,
    pub change_kind: Option<&'static str>,
    pub text: String,
    pub score: f64,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct ErrorOut {
    pub template: String,
    pub sample: String,
    pub source: String,
    pub count: u64,
    pub new: bool,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct TimelineOut {
    pub time: String,
    pub kind: &'static str,
    pub source: Option<String>,
    pub text: String,
    /// For collapsed repeats: how many times, and until when (start of the last minute).
    pub count: Option<u64>,
    pub until: Option<String>,
}

/// Rounds for stable, readable output.
fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn t(ns: TimeNs) -> String {
    format_utc(ns)
}

fn outage_out(a: &Analysis, o: &OutageAnalysis, redaction: Redaction) -> OutageOut {
    let text = |s: &str| redaction.apply(s).into_owned();
    let i = &o.impact;
    let r = &o.response;
    let ev = &o.outage.evidence;
    let service = if o.outage.stream.service.is_empty() {
        o.outage.stream.label()
    } else {
        o.outage.stream.service.clone()
    };
    OutageOut {
        start: t(o.outage.start),
        end: t(o.outage.end),
        duration_seconds: i.duration_seconds,
        service,
        measured_on: o.outage.stream.label(),
        impact: ImpactOut {
            users_active: i.users_active,
            users_affected: i.users_affected,
            users_affected_pct: i.users_affected_pct.map(|p| round(p, 2)),
            user_identity: i.user_identity.as_str(),
            user_count_method: i.user_count_method.clone(),
            requests_total: i.requests_total,
            requests_failed: i.requests_failed,
            requests_failed_pct: i.requests_failed_pct.map(|p| round(p, 2)),
            baseline_error_rate: i.baseline_error_rate.map(|p| round(p, 5)),
            peak_error_rate: i.peak_error_rate.map(|p| round(p, 5)),
            peak_minute: i.peak_minute.map(|m| t(m * crate::event::NS_PER_SEC)),
            failed_by_endpoint: counts_out(&i.breakdown.by_endpoint),
            failed_by_status: counts_out(&i.breakdown.by_status),
            failed_by_service: counts_out(&i.breakdown.by_service),
        },
        detection: DetectionOut {
            first_alert: r.first_alert.as_ref().map(|e| t(e.time)),
            first_alert_source: r.first_alert.as_ref().map(|e| a.source_of(e.event.origin)),
            paged: r.paged.as_ref().map(|e| t(e.time)),
            acknowledged: r.acknowledged.as_ref().map(|e| t(e.time)),
            escalated: r.escalated.iter().map(|e| t(e.time)).collect(),
            resolved: r.resolved.as_ref().map(|e| t(e.time)),
            alert_resolved: r.alert_resolved.as_ref().map(|e| t(e.time)),
            related_alerts: r.related_alerts.clone(),
            incident_ids: r.incident_ids.clone(),
            time_to_detect_seconds: r.time_to_detect_seconds,
            time_to_acknowledge_seconds: r.time_to_acknowledge_seconds,
            time_to_resolve_seconds: r.time_to_resolve_seconds,
        },
        evidence: EvidenceOut {
            method: ev.method,
            baseline_rate: round(ev.baseline_rate, 5),
            window_rate: round(ev.window_rate, 5),
            peak_rate: round(ev.peak_rate, 5),
            change_points: ev
                .change_points
                .iter()
                .map(|s| t(s * crate::event::NS_PER_SEC))
                .collect(),
            z_score: round(ev.z_score, 1),
            dispersion: round(ev.dispersion, 2),
            agreeing_sources: ev.agreeing_streams.clone(),
            corroborating_alerts: ev.alerts.clone(),
            expected_requests_per_minute: ev.expected_requests_per_minute.map(|r| round(r, 2)),
            observed_requests_per_minute: ev.observed_requests_per_minute.map(|r| round(r, 2)),
        },
        root_cause_candidates: o
            .story
            .candidates
            .iter()
            .map(|c| CandidateOut {
                time: t(c.time),
                source: a.source_of(c.origin),
                kind: c.kind,
                change_kind: c.change_kind.map(|k| k.as_str()),
                text: text(&c.text),
                score: round(c.score, 3),
                reason: text(&c.reason),
            })
            .collect(),
        top_errors: o
            .story
            .errors
            .iter()
            .take(10)
            .map(|e| ErrorOut {
                template: text(&e.template),
                sample: text(&e.sample),
                source: a.source_of(e.origin),
                count: e.count,
                new: e.new,
            })
            .collect(),
        resolution: o
            .story
            .mitigations
            .iter()
            .map(|m| entry_out(a, m, redaction))
            .collect(),
        response_actions: o
            .story
            .actions
            .iter()
            .map(|act| ActionOut {
                kind: act.kind.as_str(),
                object: act.object.as_deref().map(text),
                operations: act.operations.iter().map(|op| text(op)).collect(),
                first: t(act.first),
                last: t(act.last),
                steps: act.steps,
                source: a.source_of(act.origin),
                text: text(&act.text),
            })
            .collect(),
    }
}

/// The whole timeline of the run: every outage's entries, in time order, without repeats.
pub fn timeline(a: &Analysis, redaction: Redaction) -> Vec<TimelineOut> {
    a.timeline_entries()
        .into_iter()
        .map(|e| entry_out(a, e, redaction))
        .collect()
}

fn entry_out(
    a: &Analysis,
    e: &crate::timeline::TimelineEntry,
    redaction: Redaction,
) -> TimelineOut {
    TimelineOut {
        time: t(e.time),
        kind: e.kind,
        source: a.entry_source(e),
        text: redaction.apply(&e.text).into_owned(),
        count: e.count,
        until: e.until.map(t),
    }
}

pub fn build(a: &Analysis, charts: &[String], redaction: Redaction) -> Summary {
    let mut unparsed = Vec::new();
    for input in &a.inputs {
        for s in &input.samples {
            unparsed.push(UnparsedOut {
                path: input.path.clone(),
                line: s.line,
                reason: s.reason.clone(),
                text: redaction.apply(&s.text).into_owned(),
            });
        }
    }
    Summary {
        schema: SCHEMA,
        generator: Generator {
            name: "retrace",
            version: env!("CARGO_PKG_VERSION"),
        },
        redacted: redaction.enabled,
        report_zone: a.report_tz.name().to_string(),
        assumed_zone: a.assume_tz.name().to_string(),
        span: a.span().map(|(f, l)| Span {
            first: t(f),
            last: t(l),
        }),
        inputs: a
            .inputs
            .iter()
            .map(|i| Input {
                path: i.path.clone(),
                format: i.format,
                format_confidence: round(i.confidence, 3),
                format_forced: i.format_forced,
                gzip: i.gzip,
                lines: i.lines,
                parsed: i.parsed,
                joined: i.joined,
                unparsed: i.unparsed,
                blank: i.blank,
                truncated_lines: i.truncated_lines,
                events: i.events,
                first: i.first.map(t),
                last: i.last.map(t),
                error: i.error.clone(),
            })
            .collect(),
        diagnostics: Diagnostics {
            unparsed_samples: unparsed,
            path_problems: a
                .path_problems
                .iter()
                .map(|p| PathProblemOut {
                    path: p.path.clone(),
                    message: p.message.clone(),
                })
                .collect(),
            notes: a.detection.notes.clone(),
            templates_overflow: a.aggregates.templates_overflow,
            changes_dropped: a.aggregates.changes_dropped,
            note_problems: a
                .notes
                .iter()
                .flat_map(|n| {
                    n.problems.iter().map(|p| NoteProblemOut {
                        path: n.path.clone(),
                        line: p.line,
                        message: p.message.clone(),
                    })
                })
                .collect(),
        },
        outages: a
            .outages
            .iter()
            .map(|o| outage_out(a, o, redaction))
            .collect(),
        timeline: timeline(a, redaction),
        charts: charts
            .iter()
            .filter(|c| !c.ends_with(".svg"))
            .cloned()
            .collect(),
        charts_svg: charts
            .iter()
            .filter(|c| c.ends_with(".svg"))
            .cloned()
            .collect(),
    }
}

/// The bytes of `summary.json`.
pub fn render(
    a: &Analysis,
    charts: &[String],
    redaction: Redaction,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = serde_json::to_vec_pretty(&build(a, charts, redaction))?;
    bytes.push(b'\n');
    Ok(bytes)
}
