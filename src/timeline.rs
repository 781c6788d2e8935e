//! Timeline: orders what happened around each outage (changes before it, onset, errors, alerts,
//! pages, mitigation, recovery) and ranks the events most likely to have started it.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use regex::Regex;

use crate::aggregate::{Aggregates, ChangeEvent, TemplateMap, TemplateStats, minute_of};
use crate::detect::Outage;
use crate::event::{AlertState, NS_PER_SEC, Origin, PageAction, Severity, SourceKind, TimeNs};
use crate::impact::{Impact, IncidentEvent, Response};
use crate::notable::ChangeKind;
use crate::template::{MinerConfig, TemplateMiner, template_of};

/// How far before the onset a change is still a suspect.
pub const SUSPECT_LOOKBACK_SECS: i64 = 2 * 3600;
/// Changes up to this long after the onset may still be the cause (clocks disagree).
const SKEW_SECS: i64 = 60;
/// Proximity decay: a change this long before the onset weighs 1/e of one right at it.
const PROXIMITY_SCALE_SECS: f64 = 15.0 * 60.0;
/// Messages first seen this long before the onset are suspects ("something new happened").
const NEW_MESSAGE_LOOKBACK_SECS: i64 = 30 * 60;
/// New messages fade faster than changes: most are chatter, the few that matter sit right
/// before the onset.
const NEW_MESSAGE_SCALE_SECS: f64 = 10.0 * 60.0;
/// Mitigation steps are looked for up to this long after the recovery.
const AFTER_RECOVERY_SECS: i64 = 10 * 60;
/// Steps of one response action (a restore, a rollback) follow each other within this gap.
const ACTION_GAP_SECS: i64 = 15 * 60;
/// Repeats of one timeline line within this gap of each other are collapsed into one.
const REPEAT_GAP_SECS: i64 = 10 * 60;
/// Root-cause candidates kept per outage.
const MAX_CANDIDATES: usize = 6;

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimelineEntry {
    pub time: TimeNs,
    /// onset, first-error, errors, peak, change, alert-fired, paged, acknowledged, escalated,
    /// reassigned, note, mitigation, recovery, alert-resolved, incident-resolved.
    pub kind: &'static str,
    pub origin: Option<Origin>,
    pub text: String,
    /// For collapsed repeats and grouped steps: how many, and when the last one was (for
    /// `errors`, the start of the last minute with one).
    pub count: Option<u64>,
    pub until: Option<TimeNs>,
    /// Where the entry comes from when it is not a line of the inputs (`notes.txt:3`).
    pub source: Option<String>,
}

/// A root-cause candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub time: TimeNs,
    pub origin: Origin,
    pub source_kind: SourceKind,
    /// change, new-message, new-error, error, first-error.
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
    pub severity: Severity,
    pub count: u64,
    pub first: TimeNs,
    pub first_minute: i64,
    pub last_minute: i64,
    pub origin: Origin,
    /// Whether the template was never seen before the outage.
    pub new: bool,
}

/// One response action: consecutive change steps in one source (a restore is a connection, a
/// CREATE TABLE, a COPY, its indexes...).
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseAction {
    /// The class that names the action (a restore that re-creates a table is a restore).
    pub kind: ChangeKind,
    pub object: Option<String>,
    /// Distinct operations, in order (`pg_restore`, `CREATE TABLE`, `COPY FROM`).
    pub operations: Vec<String>,
    pub first: TimeNs,
    pub last: TimeNs,
    pub steps: u64,
    /// The first step.
    pub origin: Origin,
    pub text: String,
}

impl ResponseAction {
    /// "Restore of sessions: pg_restore, CREATE TABLE, COPY FROM".
    pub fn describe(&self) -> String {
        let mut out = action_label(self.kind).to_string();
        if let Some(o) = &self.object {
            out.push_str(" of ");
            out.push_str(o);
        }
        if !self.operations.is_empty() {
            out.push_str(": ");
            const MAX_OPERATIONS: usize = 6;
            out.push_str(
                &self
                    .operations
                    .iter()
                    .take(MAX_OPERATIONS)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            if self.operations.len() > MAX_OPERATIONS {
                out.push_str(", …");
            }
        }
        out
    }
}

/// The drafted story of one outage.
#[derive(Debug, Clone, PartialEq)]
pub struct OutageStory {
    pub entries: Vec<TimelineEntry>,
    pub candidates: Vec<Candidate>,
    pub errors: Vec<ErrorSummary>,
    /// The response steps from the onset to shortly after recovery (restore, rollback...).
    pub mitigations: Vec<TimelineEntry>,
    /// The same steps grouped into actions.
    pub actions: Vec<ResponseAction>,
}

/// A template mined from the aggregated ones: masked templates that differ only in a variable
/// word are merged, so "new" means new in kind, not only in value.
#[derive(Debug, Clone, PartialEq)]
pub struct MinedTemplate {
    pub kind: SourceKind,
    pub template: String,
    pub count: u64,
    pub first: TimeNs,
    pub first_origin: Origin,
    pub sample: String,
    pub max_severity: Severity,
    /// Error occurrences per minute.
    pub per_minute: BTreeMap<i64, u64>,
}

/// Runs the Drain-style miner over the aggregated templates of each source kind, errors apart
/// from the rest (so "login ok" and "login failed" never share a template), fed in the order
/// they were first seen, as lines would be. Deterministic for the same aggregates.
pub fn mine_templates(templates: &TemplateMap) -> Vec<MinedTemplate> {
    let mut stats: Vec<&TemplateStats> = templates.values().collect();
    let is_error = |t: &TemplateStats| t.max_severity.is_error() || !t.per_minute.is_empty();
    stats.sort_by(|a, b| {
        (a.kind, is_error(a), a.first, a.first_origin, &a.template).cmp(&(
            b.kind,
            is_error(b),
            b.first,
            b.first_origin,
            &b.template,
        ))
    });
    let mut out: Vec<MinedTemplate> = Vec::new();
    let mut group: Option<(SourceKind, bool)> = None;
    let mut miner = TemplateMiner::new(MinerConfig::default());
    // Cluster id of the current miner → index in `out`.
    let mut slots: HashMap<usize, usize> = HashMap::new();
    for t in stats {
        // An access log's template is already structural (method, path, status): merging two
        // statuses of one path would hide which failures they were.
        if t.kind == SourceKind::Web {
            out.push(MinedTemplate {
                kind: t.kind,
                template: t.template.clone(),
                count: t.count,
                first: t.first,
                first_origin: t.first_origin,
                sample: t.sample.clone(),
                max_severity: t.max_severity,
                per_minute: t.per_minute.clone(),
            });
            continue;
        }
        let key = (t.kind, is_error(t));
        if group != Some(key) {
            group = Some(key);
            miner = TemplateMiner::new(MinerConfig::default());
            slots.clear();
        }
        let id = miner.add(&t.template, t.count);
        let template = miner
            .clusters()
            .get(id)
            .map_or_else(|| t.template.clone(), |c| c.template());
        match slots.get(&id).and_then(|&i| out.get_mut(i)) {
            Some(m) => {
                m.template = template;
                m.count += t.count;
                // Fed in first-seen order: the earliest member stays the sample.
                m.max_severity = m.max_severity.max(t.max_severity);
                for (minute, n) in &t.per_minute {
                    *m.per_minute.entry(*minute).or_default() += n;
                }
            }
            None => {
                slots.insert(id, out.len());
                out.push(MinedTemplate {
                    kind: t.kind,
                    template,
                    count: t.count,
                    first: t.first,
                    first_origin: t.first_origin,
                    sample: t.sample.clone(),
                    max_severity: t.max_severity,
                    per_minute: t.per_minute.clone(),
                });
            }
        }
    }
    out
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

/// How a change reads in a sentence.
fn change_phrase(kind: ChangeKind, destructive: bool) -> &'static str {
    match (kind, destructive) {
        (ChangeKind::Ddl, true) => "destructive schema change",
        (ChangeKind::Ddl, false) => "schema change",
        (ChangeKind::DataChange, true) => "destructive data change",
        (ChangeKind::DataChange, false) => "bulk data change",
        (ChangeKind::Migration, _) => "migration",
        (ChangeKind::Deploy, _) => "deploy",
        (ChangeKind::Config, _) => "configuration change",
        (ChangeKind::Restart, _) => "restart",
        (ChangeKind::Failover, _) => "failover",
        (ChangeKind::Restore, _) => "restore",
        (ChangeKind::Rollback, _) => "rollback",
        (ChangeKind::Maintenance, _) => "maintenance",
    }
}

/// The name of a response action of this class.
pub fn action_label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Restore => "Restore",
        ChangeKind::Rollback => "Rollback",
        ChangeKind::Failover => "Failover",
        ChangeKind::Restart => "Restart",
        ChangeKind::Deploy => "Deploy",
        ChangeKind::Config => "Configuration change",
        ChangeKind::Migration => "Migration",
        ChangeKind::Ddl => "Schema change",
        ChangeKind::DataChange => "Data change",
        ChangeKind::Maintenance => "Maintenance",
    }
}

/// Which class names a group of steps: the one that says why they were done.
fn action_rank(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Restore => 0,
        ChangeKind::Rollback => 1,
        ChangeKind::Failover => 2,
        ChangeKind::Restart => 3,
        ChangeKind::Deploy => 4,
        ChangeKind::Config => 5,
        ChangeKind::Migration => 6,
        ChangeKind::Ddl => 7,
        ChangeKind::DataChange => 8,
        ChangeKind::Maintenance => 9,
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
fn window_errors(outage: &Outage, templates: &[MinedTemplate]) -> Vec<ErrorSummary> {
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
                severity: t.max_severity.max(Severity::Error),
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

/// The text of a collapsed error line: severity and template (`ERROR relation … does not
/// exist`); an access log's template already says method, path and status.
fn error_line(e: &ErrorSummary) -> String {
    if e.source_kind == SourceKind::Web {
        e.template.clone()
    } else {
        format!("{} {}", e.severity.as_str(), e.template)
    }
}

/// Groups response steps into actions: consecutive steps from one input file, each within
/// [`ACTION_GAP_SECS`] of the previous.
fn group_actions(steps: &[&ChangeEvent]) -> Vec<ResponseAction> {
    let mut groups: Vec<Vec<&ChangeEvent>> = Vec::new();
    for step in steps {
        let joins = groups.last().and_then(|g| g.last()).is_some_and(|prev| {
            prev.origin.file == step.origin.file
                && step.time - prev.time <= ACTION_GAP_SECS * NS_PER_SEC
        });
        match groups.last_mut() {
            Some(group) if joins => group.push(step),
            _ => groups.push(vec![step]),
        }
    }
    groups
        .into_iter()
        .filter_map(|group| {
            let first = *group.first()?;
            let last = *group.last()?;
            let kind = group
                .iter()
                .map(|c| c.change.kind)
                .min_by_key(|k| action_rank(*k))?;
            // The object the naming steps touched, else the one most steps touched.
            let object = group
                .iter()
                .filter(|c| c.change.kind == kind)
                .find_map(|c| c.change.object.clone())
                .or_else(|| {
                    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                    for c in &group {
                        if let Some(o) = &c.change.object {
                            *counts.entry(o.as_str()).or_default() += 1;
                        }
                    }
                    counts
                        .into_iter()
                        .max_by_key(|(_, n)| *n)
                        .map(|(o, _)| o.to_string())
                });
            let mut operations: Vec<String> = Vec::new();
            for c in &group {
                let op: String = c.change.operation.chars().take(40).collect();
                if !operations.contains(&op) {
                    operations.push(op);
                }
            }
            Some(ResponseAction {
                kind,
                object,
                operations,
                first: first.time,
                last: last.time,
                steps: group.len() as u64,
                origin: first.origin,
                text: first.text.clone(),
            })
        })
        .collect()
}

/// Collapses repeats: entries of one kind whose texts share a template, from one file, each
/// within [`REPEAT_GAP_SECS`] of the previous, become one entry with a count. Entries already
/// counted (errors, actions), notes and the outage's own markers are left as they are.
fn collapse_repeats(entries: Vec<TimelineEntry>) -> Vec<TimelineEntry> {
    let collapsible = |e: &TimelineEntry| {
        e.count.is_none()
            && e.origin.is_some()
            && matches!(
                e.kind,
                "change" | "alert-fired" | "escalated" | "reassigned"
            )
    };
    let mut out: Vec<TimelineEntry> = Vec::with_capacity(entries.len());
    // Open groups: (kind, file, template) → index in `out`.
    let mut open: HashMap<(&'static str, u32, String), usize> = HashMap::new();
    for e in entries {
        if !collapsible(&e) {
            out.push(e);
            continue;
        }
        let file = e.origin.map_or(u32::MAX, |o| o.file);
        let key = (e.kind, file, template_of(&e.text));
        if let Some(&i) = open.get(&key)
            && let Some(prev) = out.get_mut(i)
        {
            let last = prev.until.unwrap_or(prev.time);
            if e.time - last <= REPEAT_GAP_SECS * NS_PER_SEC {
                prev.count = Some(prev.count.unwrap_or(1) + 1);
                prev.until = Some(e.time);
                continue;
            }
        }
        open.insert(key, out.len());
        out.push(e);
    }
    out
}

/// Keeps one candidate per event (a change may also be a new message): the best-scored.
fn dedup_candidates(mut candidates: Vec<Candidate>) -> Vec<Candidate> {
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.time.cmp(&b.time))
            .then(a.origin.cmp(&b.origin))
    });
    let mut seen = Vec::new();
    candidates.retain(|c| {
        let key = (c.origin, c.text.clone());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    candidates.truncate(MAX_CANDIDATES);
    candidates
}

fn incident_entry(kind: &'static str, ev: &IncidentEvent) -> TimelineEntry {
    TimelineEntry {
        time: ev.time,
        kind,
        origin: Some(ev.event.origin),
        text: ev.event.message.clone(),
        ..Default::default()
    }
}

/// Drafts the timeline and root-cause candidates of one outage.
pub fn story(
    outage: &Outage,
    impact: &Impact,
    response: &Response,
    aggregates: &Aggregates,
) -> OutageStory {
    let onset = outage.start;
    let mined = mine_templates(&aggregates.templates);
    let errors = window_errors(outage, &mined);
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
            Some(o) => format!("{} {o}", c.change.operation),
            None => c.change.operation.clone(),
        };
        let mut reason = format!(
            "{} ({}) {}",
            change_phrase(c.change.kind, c.change.destructive),
            what,
            format_gap(gap)
        );
        if share > 0.0
            && let Some(o) = &c.change.object
        {
            if share >= 0.995 {
                reason.push_str(&format!("; every error message in the window names {o}"));
            } else {
                reason.push_str(&format!(
                    "; {} of the error messages in the window name {o}",
                    pct(share)
                ));
            }
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
        // Routine upkeep (VACUUM, ANALYZE) is a suspect but not a story line.
        if c.change.kind != ChangeKind::Maintenance {
            entries.push(TimelineEntry {
                time: c.time,
                kind: "change",
                origin: Some(c.origin),
                text: c.text.clone(),
                ..Default::default()
            });
        }
    }

    // Messages never seen before that appeared shortly before the onset.
    let new_from = onset - NEW_MESSAGE_LOOKBACK_SECS * NS_PER_SEC;
    let mut new_messages: Vec<Candidate> = mined
        .iter()
        .filter(|t| t.first >= new_from && t.first < onset && t.kind != SourceKind::Web)
        .map(|t| {
            let gap = ((onset - t.first) as f64 / NS_PER_SEC as f64).round() as i64;
            let proximity = (-(gap.max(0) as f64) / NEW_MESSAGE_SCALE_SECS).exp();
            let severity_weight = match t.max_severity {
                s if s.is_error() => 1.0,
                Severity::Warn => 0.8,
                // Routine statements (a COMMIT, a lock wait) are new all the time.
                _ => 0.35,
            };
            let repeats = if t.count > 1 {
                format!(", {} times since", thousands(t.count))
            } else {
                String::new()
            };
            Candidate {
                time: t.first,
                origin: t.first_origin,
                source_kind: t.kind,
                kind: "new-message",
                text: t.sample.clone(),
                score: 0.3 * proximity * severity_weight,
                reason: format!(
                    "message never seen before, first logged {}{repeats}",
                    format_gap(gap)
                ),
                change_kind: None,
            }
        })
        .collect();
    new_messages.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.time.cmp(&b.time)));
    new_messages.truncate(3);
    candidates.extend(new_messages);

    // Error messages that fill the window.
    let error_total: u64 = errors.iter().map(|e| e.count).sum();
    for e in errors
        .iter()
        .filter(|e| e.source_kind != SourceKind::Web)
        .take(3)
    {
        let share = e.count as f64 / error_total.max(1) as f64;
        let (kind, score, reason) = if e.new {
            (
                "new-error",
                0.5 * share,
                format!(
                    "new error message, first seen with the outage; {} of the errors in the window",
                    pct(share)
                ),
            )
        } else {
            (
                "error",
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
            kind,
            text: e.sample.clone(),
            score,
            reason,
            change_kind: None,
        });
    }

    entries.push(TimelineEntry {
        time: onset,
        kind: "onset",
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
    let stream = aggregates.streams.get(&outage.stream);
    if let Some(stream) = stream {
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
            text: error_line(e),
            count: Some(e.count),
            until: Some(e.last_minute * NS_PER_SEC),
            source: None,
        });
    }
    if let (Some(peak), Some(minute)) = (impact.peak_error_rate, impact.peak_minute) {
        let counts = stream.and_then(|s| s.minutes.get(&minute));
        let detail = counts
            .filter(|c| c.requests > 0)
            .map(|c| format!(" ({} of {} requests that minute)", c.failed, c.requests))
            .unwrap_or_default();
        entries.push(TimelineEntry {
            time: minute * NS_PER_SEC,
            kind: "peak",
            text: format!("Failure rate peaks at {}{detail}", format_rate(peak)),
            ..Default::default()
        });
    }

    // Each related alert once: the same alert arrives in several payloads (repeat
    // notifications, several receivers, one per instance), all of them one line here.
    let mut fired: Vec<(String, usize)> = Vec::new();
    for a in &aggregates.alerts {
        let Some(info) = &a.alert else { continue };
        if info.state != AlertState::Firing
            || !response.related_alerts.contains(&info.name)
            || a.time < onset - 15 * 60 * NS_PER_SEC
            || a.time >= outage.end
        {
            continue;
        }
        match fired.iter().position(|(name, _)| *name == info.name) {
            Some(i) => {
                if let Some(entry) = fired.get(i).and_then(|(_, e)| entries.get_mut(*e))
                    && a.time != entry.time
                {
                    entry.count = Some(entry.count.unwrap_or(1) + 1);
                    entry.until = Some(a.time);
                }
            }
            None => {
                fired.push((info.name.clone(), entries.len()));
                entries.push(TimelineEntry {
                    time: a.time,
                    kind: "alert-fired",
                    origin: Some(a.origin),
                    text: a.message.clone(),
                    ..Default::default()
                });
            }
        }
    }
    if let Some(p) = &response.paged {
        entries.push(incident_entry("paged", p));
    }
    // Every acknowledgement by someone new: a second responder joining is part of the story.
    let mut acknowledged_by: Vec<Option<String>> = Vec::new();
    if let Some(a) = &response.acknowledged {
        entries.push(incident_entry("acknowledged", a));
        acknowledged_by.push(a.event.page.as_ref().and_then(|p| p.agent.clone()));
    }
    for e in &aggregates.pages {
        let Some(p) = &e.page else { continue };
        if !response.incident_ids.contains(&p.incident_id) {
            continue;
        }
        match p.action {
            PageAction::Acknowledged
                if response
                    .acknowledged
                    .as_ref()
                    .is_some_and(|a| a.time < e.time)
                    && !acknowledged_by.contains(&p.agent) =>
            {
                acknowledged_by.push(p.agent.clone());
                entries.push(TimelineEntry {
                    time: e.time,
                    kind: "acknowledged",
                    origin: Some(e.origin),
                    text: e.message.clone(),
                    ..Default::default()
                });
            }
            PageAction::Reassigned => entries.push(TimelineEntry {
                time: e.time,
                kind: "reassigned",
                origin: Some(e.origin),
                text: e.message.clone(),
                ..Default::default()
            }),
            _ => {}
        }
    }
    for e in &response.escalated {
        entries.push(incident_entry("escalated", e));
    }
    for n in &response.notes {
        entries.push(incident_entry("note", n));
    }

    // Response actions: changes from the onset to shortly after recovery.
    let after = outage.end + AFTER_RECOVERY_SECS * NS_PER_SEC;
    let steps: Vec<&ChangeEvent> = aggregates
        .changes
        .iter()
        .filter(|c| c.time > onset + skew && c.time <= after)
        .filter(|c| c.change.kind != ChangeKind::Maintenance)
        .collect();
    let mitigations: Vec<TimelineEntry> = steps
        .iter()
        .map(|c| TimelineEntry {
            time: c.time,
            kind: "mitigation",
            origin: Some(c.origin),
            text: c.text.clone(),
            ..Default::default()
        })
        .collect();
    let actions = group_actions(&steps);
    for action in &actions {
        entries.push(TimelineEntry {
            time: action.first,
            kind: "mitigation",
            origin: Some(action.origin),
            text: if action.steps > 1 {
                action.describe()
            } else {
                action.text.clone()
            },
            count: (action.steps > 1).then_some(action.steps),
            until: (action.steps > 1).then_some(action.last),
            source: None,
        });
    }
    entries.push(TimelineEntry {
        time: outage.end,
        kind: "recovery",
        text: format!(
            "Service recovers: failure rate back to its baseline, {} after the onset",
            duration(impact.duration_seconds)
        ),
        ..Default::default()
    });
    if let Some(a) = &response.alert_resolved {
        entries.push(incident_entry("alert-resolved", a));
    }
    if let Some(r) = &response.resolved
        && r.event.page.is_some()
    {
        entries.push(incident_entry("incident-resolved", r));
    }

    entries.sort_by(|a, b| (a.time, a.origin, a.kind).cmp(&(b.time, b.origin, b.kind)));
    let entries = collapse_repeats(entries);
    OutageStory {
        entries,
        candidates: dedup_candidates(candidates),
        errors,
        mitigations,
        actions,
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

/// Thousands separators: 14212 → 14,212.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration for people: "2 h", "1 h 5 min", "5 min 10 s", "42 s".
pub fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    match (h, m, sec) {
        (0, 0, s) => format!("{s} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, s) => format!("{m} min {s} s"),
        (h, 0, _) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notable::classify_text;

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

    fn change(t: i64, line: u64, text: &str) -> ChangeEvent {
        ChangeEvent {
            time: t * NS_PER_SEC,
            origin: Origin { file: 2, line },
            source_kind: SourceKind::Db,
            change: classify_text(text).expect("a change"),
            text: text.to_string(),
            user: None,
        }
    }

    #[test]
    fn restore_steps_group_into_one_action() {
        let steps = [
            change(
                1000,
                10,
                "connection authorized: user=x database=auth application_name=pg_restore",
            ),
            change(1000, 11, "statement: CREATE TABLE public.sessions ("),
            change(
                1001,
                12,
                "statement: COPY public.sessions (token, user_id) FROM stdin;",
            ),
            change(
                1600,
                13,
                "statement: CREATE INDEX sessions_user_id_idx ON public.sessions USING btree (user_id);",
            ),
            // Long after: another action.
            change(5000, 14, "received SIGHUP, reloading configuration files"),
        ];
        let refs: Vec<&ChangeEvent> = steps.iter().collect();
        let actions = group_actions(&refs);
        assert_eq!(actions.len(), 2);
        assert_eq!(actions[0].kind, ChangeKind::Restore);
        assert_eq!(actions[0].steps, 4);
        assert_eq!(actions[0].object.as_deref(), Some("sessions"));
        assert_eq!(
            actions[0].describe(),
            "Restore of sessions: pg_restore, CREATE TABLE, COPY FROM, CREATE INDEX"
        );
        assert_eq!(actions[0].last, 1600 * NS_PER_SEC);
        assert_eq!(actions[1].kind, ChangeKind::Config);
    }

    #[test]
    fn repeats_collapse_into_one_line() {
        let entry = |t: i64, text: &str| TimelineEntry {
            time: t * NS_PER_SEC,
            kind: "change",
            origin: Some(Origin {
                file: 1,
                line: t as u64,
            }),
            text: text.to_string(),
            ..Default::default()
        };
        let entries = vec![
            entry(0, "database system is ready to accept connections (pid 11)"),
            entry(60, "deployed auth-service v2.31.0"),
            entry(
                120,
                "database system is ready to accept connections (pid 42)",
            ),
            entry(
                180,
                "database system is ready to accept connections (pid 43)",
            ),
            // Too long after the last one: a new line.
            entry(
                180 + 11 * 60,
                "database system is ready to accept connections (pid 44)",
            ),
        ];
        let out = collapse_repeats(entries);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].count, Some(3));
        assert_eq!(out[0].until, Some(180 * NS_PER_SEC));
        assert_eq!(out[1].count, None);
        assert_eq!(out[2].count, None);
    }

    #[test]
    fn mined_templates_merge_values_the_mask_left() {
        let mut templates = TemplateMap::default();
        let mut add = |t: i64, text: &str, severity: Severity| {
            let template = template_of(text);
            templates.insert(
                (SourceKind::App, template.clone()),
                TemplateStats {
                    kind: SourceKind::App,
                    template,
                    count: 2,
                    first: t * NS_PER_SEC,
                    first_origin: Origin {
                        file: 0,
                        line: t as u64,
                    },
                    sample: text.to_string(),
                    last: t * NS_PER_SEC,
                    max_severity: severity,
                    per_minute: BTreeMap::new(),
                },
            );
        };
        add(
            10,
            "cache miss for tenant alpha region east",
            Severity::Info,
        );
        add(20, "cache miss for tenant beta region west", Severity::Info);
        add(
            30,
            "cache miss for tenant gamma region east",
            Severity::Error,
        );
        let mined = mine_templates(&templates);
        assert_eq!(mined.len(), 2, "{mined:#?}");
        let info = mined
            .iter()
            .find(|m| m.max_severity == Severity::Info)
            .unwrap();
        assert_eq!(info.template, "cache miss for tenant <*> region <*>");
        assert_eq!(info.count, 4);
        assert_eq!(info.first, 10 * NS_PER_SEC);
        assert_eq!(info.sample, "cache miss for tenant alpha region east");
    }
}
