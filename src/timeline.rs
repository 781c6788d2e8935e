//! Timeline: orders what happened around each outage (changes before it, onset, errors, alerts,
//! pages, mitigation, recovery) and ranks the events most likely to have started it.

use std::sync::LazyLock;

use regex::Regex;

use crate::aggregate::{Aggregates, ChangeEvent, TemplateStats, minute_of};
use crate::detect::Outage;
use crate::event::{NS_PER_SEC, Origin, SourceKind, TimeNs};
use crate::impact::{Impact, IncidentEvent, Response};
use crate::notable::ChangeKind;

/// How far before the onset a change is still a suspect.
pub const SUSPECT_LOOKBACK_SECS: i64 = 2 * 3600;
/// Changes up to this long after the onset may still be the cause (clocks disagree).
const SKEW_SECS: i64 = 60;
/// Proximity decay: a change this long before the onset weighs 1/e of one right at it.
const PROXIMITY_SCALE_SECS: f64 = 15.0 * 60.0;
/// Mitigation steps are looked for up to this long after the recovery.
const AFTER_RECOVERY_SECS: i64 = 10 * 60;

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimelineEntry {
    pub time: TimeNs,
    /// onset, first-error, errors, peak, change, alert-fired, paged, acknowledged, escalated,
    /// note, mitigation, recovery, alert-resolved, incident-resolved.
    pub kind: &'static str,
    pub origin: Option<Origin>,
    pub text: String,
    /// For collapsed repeats: how many, and the start of the last minute they occurred in.
    pub count: Option<u64>,
    pub until: Option<TimeNs>,
}

/// A root-cause candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub time: TimeNs,
    pub origin: Origin,
    pub source_kind: SourceKind,
    /// change, new-error, first-error.
    pub kind: &'static str,
    pub text: String,
    /// 0..=1, comparable across candidates of one outage.
    pub score: f64,
    pub reason: String,
    /// The change's class, for drafting corrective measures.
    pub change_kind: Option<ChangeKind>,
}

/// An error template's share of one outage.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSummary {
    pub template: String,
    pub sample: String,
    pub source_kind: SourceKind,
    pub count: u64,
    pub first: TimeNs,
    pub first_minute: i64,
    pub last_minute: i64,
    pub origin: Origin,
    /// Whether the template was never seen before the outage.
    pub new: bool,
}

/// The drafted story of one outage.
#[derive(Debug, Clone, PartialEq)]
pub struct OutageStory {
    pub entries: Vec<TimelineEntry>,
    pub candidates: Vec<Candidate>,
    pub errors: Vec<ErrorSummary>,
    /// The response actions before recovery (restore, rollback, restart...).
    pub mitigations: Vec<TimelineEntry>,
}

fn kind_weight(c: &ChangeEvent) -> f64 {
    let destructive = c.change.destructive;
    match c.change.kind {
        ChangeKind::Ddl if destructive => 1.0,
        ChangeKind::Ddl => 0.6,
        ChangeKind::DataChange if destructive => 0.8,
        ChangeKind::DataChange => 0.35,
        ChangeKind::Migration | ChangeKind::Deploy => 0.8,
        ChangeKind::Config | ChangeKind::Failover => 0.7,
        ChangeKind::Restart => 0.5,
        ChangeKind::Maintenance => 0.2,
        ChangeKind::Restore | ChangeKind::Rollback => 0.1,
    }
}

fn mentions(text: &str, object: &str) -> bool {
    if object.len() < 3 {
        return false;
    }
    static CACHE: LazyLock<std::sync::Mutex<Option<(String, Regex)>>> =
        LazyLock::new(|| std::sync::Mutex::new(None));
    let Ok(mut cache) = CACHE.lock() else {
        return text.contains(object);
    };
    if cache.as_ref().is_none_or(|(o, _)| o != object) {
        let pattern = format!(r"(?i)(?:^|[^\w]){}(?:[^\w]|$)", regex::escape(object));
        match Regex::new(&pattern) {
            Ok(re) => *cache = Some((object.to_string(), re)),
            Err(_) => return text.contains(object),
        }
    }
    cache.as_ref().is_some_and(|(_, re)| re.is_match(text))
}

fn format_gap(seconds: i64) -> String {
    let s = seconds.abs();
    let text = if s < 90 {
        format!("{s} s")
    } else if s < 90 * 60 {
        format!("{} min", (s + 30) / 60)
    } else {
        format!("{:.1} h", s as f64 / 3600.0)
    };
    if seconds >= 0 {
        format!("{text} before the onset")
    } else {
        format!("{text} after the onset")
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Error templates with occurrences inside the outage, biggest first.
fn window_errors(outage: &Outage, templates: &[&TemplateStats]) -> Vec<ErrorSummary> {
    let first_minute = minute_of(outage.start);
    let end_s = outage.end / NS_PER_SEC;
    let mut out: Vec<ErrorSummary> = templates
        .iter()
        .filter_map(|t| {
            let inside = t.per_minute.range(first_minute..end_s);
            let count: u64 = inside.clone().map(|(_, c)| c).sum();
            let first_in = inside.clone().next().map(|(m, _)| *m)?;
            let last_minute = inside.last().map_or(first_in, |(m, _)| *m);
            let new = t.first >= outage.start - SKEW_SECS * NS_PER_SEC;
            (count > 0).then(|| ErrorSummary {
                template: t.template.clone(),
                sample: t.sample.clone(),
                source_kind: t.kind,
                count,
                // The first occurrence itself when it falls in the window, else its minute.
                first: if new { t.first } else { first_in * NS_PER_SEC },
                first_minute: first_in,
                last_minute,
                origin: t.first_origin,
                new,
            })
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.template.cmp(&b.template)));
    out
}

/// Drafts the timeline and root-cause candidates of one outage.
pub fn story(
    outage: &Outage,
    impact: &Impact,
    response: &Response,
    aggregates: &Aggregates,
) -> OutageStory {
    let onset = outage.start;
    let templates: Vec<&TemplateStats> = aggregates.templates.values().collect();
    let errors = window_errors(outage, &templates);
    // Errors whose text can name the failing object: web access lines only repeat the request.
    let named_total: u64 = errors
        .iter()
        .filter(|e| e.source_kind != SourceKind::Web)
        .map(|e| e.count)
        .sum();
    let share_naming = |object: &str| -> f64 {
        if named_total == 0 {
            return 0.0;
        }
        let naming: u64 = errors
            .iter()
            .filter(|e| {
                e.source_kind != SourceKind::Web
                    && (mentions(&e.template, object) || mentions(&e.sample, object))
            })
            .map(|e| e.count)
            .sum();
        naming as f64 / named_total as f64
    };

    let mut entries = Vec::new();
    let mut candidates = Vec::new();

    // Changes before the onset: suspects.
    let lookback = onset - SUSPECT_LOOKBACK_SECS * NS_PER_SEC;
    let skew = SKEW_SECS * NS_PER_SEC;
    for c in aggregates
        .changes
        .iter()
        .filter(|c| c.time >= lookback && c.time <= onset + skew)
    {
        if c.change.kind.is_mitigation() {
            continue;
        }
        // Rounded to the nearest second: 9.7 s before reads "10 s before".
        let gap = ((onset - c.time) as f64 / NS_PER_SEC as f64).round() as i64;
        let proximity = (-(gap.max(0) as f64) / PROXIMITY_SCALE_SECS).exp();
        let share = c.change.object.as_deref().map_or(0.0, share_naming);
        let score = (kind_weight(c) * proximity * (1.0 + 2.0 * share) / 3.0).clamp(0.0, 1.0);
        let what = match &c.change.object {
            Some(o) => format!("{} on {o}", c.change.operation),
            None => c.change.operation.clone(),
        };
        let mut reason = format!("{} ({}) {}", c.change.kind.as_str(), what, format_gap(gap));
        if share > 0.0
            && let Some(o) = &c.change.object
        {
            reason.push_str(&format!(
                "; {} of the errors in the window name {o}",
                pct(share)
            ));
        }
        if c.change.destructive {
            reason.push_str("; destructive");
        }
        candidates.push(Candidate {
            time: c.time,
            origin: c.origin,
            source_kind: c.source_kind,
            kind: "change",
            text: c.text.clone(),
            score,
            reason,
            change_kind: Some(c.change.kind),
        });
        if c.change.kind != ChangeKind::Maintenance || gap <= 15 * 60 {
            entries.push(TimelineEntry {
                time: c.time,
                kind: "change",
                origin: Some(c.origin),
                text: c.text.clone(),
                ..Default::default()
            });
        }
    }

    // Error messages that appeared with the outage and fill it.
    let error_total: u64 = errors.iter().map(|e| e.count).sum();
    for e in errors
        .iter()
        .filter(|e| e.source_kind != SourceKind::Web)
        .take(3)
    {
        let share = e.count as f64 / error_total.max(1) as f64;
        let (score, reason) = if e.new {
            (
                0.5 * share,
                format!(
                    "new error message, first seen with the outage; {} of the errors in the window",
                    pct(share)
                ),
            )
        } else {
            (
                0.15 * share,
                format!(
                    "error message seen before the outage too; {} of the errors in the window",
                    pct(share)
                ),
            )
        };
        candidates.push(Candidate {
            time: e.first,
            origin: e.origin,
            source_kind: e.source_kind,
            kind: "new-error",
            text: e.sample.clone(),
            score,
            reason,
            change_kind: None,
        });
    }

    entries.push(TimelineEntry {
        time: onset,
        kind: "onset",
        origin: None,
        text: format!(
            "Outage begins on {}: failure rate leaves its {} baseline",
            outage.stream.label(),
            format_rate(
                impact
                    .baseline_error_rate
                    .unwrap_or(outage.evidence.baseline_rate)
            ),
        ),
        ..Default::default()
    });
    if let Some(stream) = aggregates.streams.get(&outage.stream) {
        let first = stream
            .first_failures
            .range(minute_of(onset) - 60..outage.end / NS_PER_SEC)
            .map(|(_, f)| f)
            .find(|f| f.time >= onset - NS_PER_SEC);
        if let Some(f) = first {
            entries.push(TimelineEntry {
                time: f.time,
                kind: "first-error",
                origin: Some(f.origin),
                text: format!("First failing request ({}): {}", f.status, f.message),
                ..Default::default()
            });
            candidates.push(Candidate {
                time: f.time,
                origin: f.origin,
                source_kind: outage.stream.kind,
                kind: "first-error",
                text: f.message.clone(),
                score: 0.05,
                reason: "first failing request of the window".to_string(),
                change_kind: None,
            });
        }
    }
    for e in errors.iter().take(3) {
        entries.push(TimelineEntry {
            time: e.first.max(onset),
            kind: "errors",
            origin: Some(e.origin),
            text: e.template.clone(),
            count: Some(e.count),
            until: Some(e.last_minute * NS_PER_SEC),
        });
    }
    if let (Some(peak), Some(minute)) = (impact.peak_error_rate, impact.peak_minute) {
        entries.push(TimelineEntry {
            time: minute * NS_PER_SEC,
            kind: "peak",
            origin: None,
            text: format!("Failure rate peaks at {}", format_rate(peak)),
            ..Default::default()
        });
    }
    let push = |entries: &mut Vec<TimelineEntry>, kind: &'static str, ev: &IncidentEvent| {
        entries.push(TimelineEntry {
            time: ev.time,
            kind,
            origin: Some(ev.event.origin),
            text: ev.event.message.clone(),
            ..Default::default()
        });
    };
    // Every related alert's first firing.
    let mut fired = Vec::new();
    for a in &aggregates.alerts {
        if let Some(info) = &a.alert
            && info.state == crate::event::AlertState::Firing
            && response.related_alerts.contains(&info.name)
            && a.time >= onset - 15 * 60 * NS_PER_SEC
            && a.time < outage.end
            && !fired.contains(&info.fingerprint)
        {
            fired.push(info.fingerprint.clone());
            entries.push(TimelineEntry {
                time: a.time,
                kind: "alert-fired",
                origin: Some(a.origin),
                text: a.message.clone(),
                ..Default::default()
            });
        }
    }
    if let Some(p) = &response.paged {
        push(&mut entries, "paged", p);
    }
    if let Some(a) = &response.acknowledged {
        push(&mut entries, "acknowledged", a);
    }
    for e in &response.escalated {
        push(&mut entries, "escalated", e);
    }
    for n in &response.notes {
        push(&mut entries, "note", n);
    }

    // Response actions: changes from the onset to shortly after recovery.
    let mut mitigations = Vec::new();
    let after = outage.end + AFTER_RECOVERY_SECS * NS_PER_SEC;
    for c in aggregates
        .changes
        .iter()
        .filter(|c| c.time > onset + skew && c.time <= after)
        .filter(|c| c.change.kind != ChangeKind::Maintenance)
    {
        mitigations.push(TimelineEntry {
            time: c.time,
            kind: "mitigation",
            origin: Some(c.origin),
            text: c.text.clone(),
            ..Default::default()
        });
    }
    entries.extend(mitigations.iter().cloned());
    entries.push(TimelineEntry {
        time: outage.end,
        kind: "recovery",
        origin: None,
        text: "Service recovers: failure rate back to baseline".to_string(),
        ..Default::default()
    });
    if let Some(a) = &response.alert_resolved {
        push(&mut entries, "alert-resolved", a);
    }
    if let Some(r) = &response.resolved
        && r.event.page.is_some()
    {
        push(&mut entries, "incident-resolved", r);
    }

    entries.sort_by_key(|e| (e.time, e.origin));
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.time.cmp(&b.time)));
    candidates.truncate(5);
    OutageStory {
        entries,
        candidates,
        errors,
        mitigations,
    }
}

/// A failure rate as a percentage with sensible precision.
pub fn format_rate(rate: f64) -> String {
    let pct = rate * 100.0;
    if pct >= 10.0 {
        format!("{pct:.0}%")
    } else {
        format!("{pct:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mention_is_word_bounded() {
        assert!(mentions("relation \"sessions\" does not exist", "sessions"));
        assert!(!mentions(
            "relation \"sessions_archive\" does not exist",
            "sessions"
        ));
        assert!(!mentions(
            "relation \"sessions\" does not exist",
            "sessions_archive"
        ));
    }

    #[test]
    fn gap_text() {
        assert_eq!(format_gap(10), "10 s before the onset");
        assert_eq!(format_gap(300), "5 min before the onset");
        assert_eq!(format_gap(-30), "30 s after the onset");
    }
}
