//! The words of the postmortem: drafts the document (title, Issue Summary, Impact, Detection,
//! Timeline, Root Cause and Resolution, Corrective and Preventative Measures, Charts, Appendix)
//! from an analysis. Every number in it comes from a field of `summary.json`; log text is
//! redacted here (unless the user turned it off) and escaped later by each renderer.

use chrono::Offset;
use chrono_tz::Tz;

use super::doc::{Block, Doc, Line, clip, code, emph, strong, text};
use crate::event::{NS_PER_SEC, Origin, TimeNs};
use crate::notable::{ChangeKind, classify_text};
use crate::pipeline::{Analysis, OutageAnalysis};
use crate::redact::Redaction;
use crate::template::WILDCARD;
use crate::time::in_zone;
use crate::timeline::{Candidate, TimelineEntry, duration, format_rate, thousands};

/// A chart as the document shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRef {
    /// Path of the PNG, relative to the output folder.
    pub path: String,
    pub title: String,
    /// Other renderings (the SVG), relative paths.
    pub also: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DraftOptions {
    pub redaction: Redaction,
    pub charts: Vec<ChartRef>,
}

/// Longest log text quoted in a table cell or a list item.
const CELL_CHARS: usize = 160;
const QUOTE_CHARS: usize = 140;

/// Formats times in the report zone, with the date only where the span crosses days.
struct Clock {
    tz: Tz,
    multi_day: bool,
}

impl Clock {
    fn new(tz: Tz, span: Option<(TimeNs, TimeNs)>) -> Clock {
        let multi_day =
            span.is_some_and(|(a, b)| in_zone(a, tz).date_naive() != in_zone(b, tz).date_naive());
        Clock { tz, multi_day }
    }

    fn time(&self, ns: TimeNs) -> String {
        let dt = in_zone(ns, self.tz);
        if self.multi_day {
            dt.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            dt.format("%H:%M:%S").to_string()
        }
    }

    fn minute(&self, ns: TimeNs) -> String {
        let dt = in_zone(ns, self.tz);
        if self.multi_day {
            dt.format("%Y-%m-%d %H:%M").to_string()
        } else {
            dt.format("%H:%M").to_string()
        }
    }

    fn full(&self, ns: TimeNs) -> String {
        in_zone(ns, self.tz)
            .format("%A %Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }

    /// The end of a span that began at `start`: the time alone when it is the same day.
    fn end_of(&self, start: TimeNs, end: TimeNs) -> String {
        let (s, e) = (in_zone(start, self.tz), in_zone(end, self.tz));
        if s.date_naive() == e.date_naive() {
            e.format("%H:%M:%S %Z").to_string()
        } else {
            self.full(end)
        }
    }

    /// "America/New_York (EDT, UTC−04:00)".
    fn zone_name(&self, at: TimeNs) -> String {
        let dt = in_zone(at, self.tz);
        let offset = dt.offset().fix().local_minus_utc();
        let sign = if offset < 0 { '−' } else { '+' };
        let off = offset.abs();
        let abbreviation = dt.format("%Z").to_string();
        if abbreviation == self.tz.name() {
            return abbreviation;
        }
        format!(
            "{} ({}, UTC{}{:02}:{:02})",
            self.tz.name(),
            abbreviation,
            sign,
            off / 3600,
            (off % 3600) / 60
        )
    }
}

/// Drafting state: the analysis, how to write times and where lines come from.
struct Writer<'a> {
    a: &'a Analysis,
    clock: Clock,
    redaction: Redaction,
    /// Byte length of the folder every input shares: sources are cited relative to it.
    common: usize,
}

impl Writer<'_> {
    /// Log text as the report may show it: redacted, clipped.
    fn quote(&self, raw: &str, max: usize) -> String {
        clip(&self.redaction.apply(raw), max)
    }

    fn source(&self, origin: Origin) -> String {
        let full = self.a.source_of(origin);
        full.get(self.common..).unwrap_or(&full).to_string()
    }

    fn entry_source(&self, e: &TimelineEntry) -> String {
        match e.origin {
            Some(o) => self.source(o),
            None => e.source.clone().unwrap_or_default(),
        }
    }
}

/// Byte length of the folder prefix (ending in `/`) shared by every path.
pub fn common_folder<'a>(mut paths: impl Iterator<Item = &'a str>) -> usize {
    let Some(first) = paths.next() else {
        return 0;
    };
    let mut len = first.rfind('/').map_or(0, |i| i + 1);
    for p in paths {
        while len > 0 && !(p.len() >= len && p.as_bytes()[..len] == first.as_bytes()[..len]) {
            len = first[..len - 1].rfind('/').map_or(0, |i| i + 1);
        }
    }
    len
}

fn service_name(o: &OutageAnalysis) -> String {
    if o.outage.stream.service.is_empty() {
        o.outage.stream.label()
    } else {
        o.outage.stream.service.clone()
    }
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}%"))
}

/// A duration with its exact seconds, as `summary.json` has it: "5 min 11 s (311 s)".
fn seconds(s: Option<i64>) -> String {
    match s {
        Some(s) if s >= 90 => format!("{} ({s} s)", duration(s)),
        Some(s) => duration(s),
        None => "n/a (no event recorded)".to_string(),
    }
}

fn heading(level: u8, t: &str) -> Block {
    Block::Heading {
        level,
        text: t.to_string(),
    }
}

fn kind_label(kind: &str) -> &str {
    match kind {
        "change" => "Change",
        "onset" => "Outage begins",
        "first-error" => "First failure",
        "errors" => "Errors",
        "peak" => "Peak",
        "alert-fired" => "Alert fired",
        "paged" => "Paged",
        "acknowledged" => "Acknowledged",
        "escalated" => "Escalated",
        "reassigned" => "Reassigned",
        "note" => "Note",
        "mitigation" => "Mitigation",
        "recovery" => "Recovered",
        "alert-resolved" => "Alert resolved",
        "incident-resolved" => "Incident resolved",
        other => other,
    }
}

/// Drafts the postmortem.
pub fn draft(a: &Analysis, options: &DraftOptions) -> Doc {
    let w = Writer {
        a,
        clock: Clock::new(a.report_tz, a.span()),
        redaction: options.redaction,
        common: common_folder(a.inputs.iter().map(|i| i.path.as_str())),
    };
    let first = a.outages.first();
    let date = first
        .map(|o| o.outage.start)
        .or_else(|| a.span().map(|(f, _)| f))
        .map(|t| in_zone(t, a.report_tz).format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let title = match first {
        Some(o) => format!("Postmortem (draft): {} outage, {date}", service_name(o)),
        None => format!("Postmortem (draft): no outage found, {date}"),
    };
    let mut blocks = Vec::new();
    header(&w, &mut blocks);
    issue_summary(&w, &mut blocks);
    impact_section(&w, &mut blocks);
    detection(&w, &mut blocks);
    timeline(&w, &mut blocks);
    root_cause(&w, &mut blocks);
    measures(&w, &mut blocks);
    charts(&options.charts, &mut blocks);
    appendix(&w, &mut blocks);
    Doc { title, blocks }
}

fn header(w: &Writer, blocks: &mut Vec<Block>) {
    let a = w.a;
    let zone_at = a
        .outages
        .first()
        .map_or(a.span().map_or(0, |(f, _)| f), |o| o.outage.start);
    let total_lines: u64 = a.inputs.iter().map(|i| i.lines).sum();
    let mut note: Line = vec![text(format!(
        "Drafted by retrace {} from {} input files ({} lines). All times are {}. Every figure is in ",
        env!("CARGO_PKG_VERSION"),
        a.inputs.len(),
        thousands(total_lines),
        w.clock.zone_name(zone_at),
    ))];
    note.push(code("summary.json"));
    if w.common > 0
        && let Some(first) = a.inputs.first()
    {
        note.push(text("; log lines are cited as "));
        note.push(code("file:line"));
        note.push(text(" under "));
        note.push(code(first.path.get(..w.common).unwrap_or_default()));
    }
    note.push(text(". "));
    if w.redaction.enabled {
        note.push(text(
            "User ids, e-mail and IP addresses and tokens in log text are redacted. ",
        ));
    }
    note.push(text("Edit before publishing."));
    blocks.push(Block::Note(note));
}

/// "Restore of sessions (…) from 16:40:07 to 16:57:41", the actions before recovery.
fn actions_before_recovery(w: &Writer, o: &OutageAnalysis) -> Vec<String> {
    // The recovery is measured to the minute's edge: an action a minute after it still counts.
    let before = o.outage.end + 60 * NS_PER_SEC;
    o.story
        .actions
        .iter()
        .filter(|act| act.first <= before)
        .map(|act| {
            let what = w.quote(&act.describe(), QUOTE_CHARS);
            if act.steps > 1 {
                format!(
                    "{what} ({} steps, {} to {})",
                    act.steps,
                    w.clock.time(act.first),
                    w.clock.time(act.last)
                )
            } else {
                format!("{what} at {}", w.clock.time(act.first))
            }
        })
        .collect()
}

fn cause_line(w: &Writer, c: &Candidate) -> Line {
    vec![
        code(w.quote(&c.text, QUOTE_CHARS)),
        text(format!(
            " at {} ({}): {}.",
            w.clock.time(c.time),
            w.source(c.origin),
            w.quote(&c.reason, 300)
        )),
    ]
}

fn issue_summary(w: &Writer, blocks: &mut Vec<Block>) {
    let a = w.a;
    blocks.push(heading(2, "Issue Summary"));
    if a.outages.is_empty() {
        blocks.push(Block::Paragraph(vec![text(
            "No outage was found: the failure rate never rose clearly above its baseline in these logs.",
        )]));
        return;
    }
    for (n, o) in a.outages.iter().enumerate() {
        if a.outages.len() > 1 {
            blocks.push(heading(3, &format!("Outage {}", n + 1)));
        }
        let i = &o.impact;
        let mut items: Vec<Line> = Vec::new();
        items.push(vec![
            strong("Duration:"),
            text(format!(
                " {}, from {} to {}.",
                duration(i.duration_seconds),
                w.clock.full(o.outage.start),
                w.clock.end_of(o.outage.start, o.outage.end)
            )),
        ]);
        items.push(vec![
            strong("Impact:"),
            text(format!(
                " {} of {} active users ({}) of {} had at least one failed request; {} of {} requests ({}) failed, against a normal failure rate of {} (peak {} per minute).",
                thousands(i.users_affected),
                thousands(i.users_active),
                pct(i.users_affected_pct),
                service_name(o),
                thousands(i.requests_failed),
                thousands(i.requests_total),
                pct(i.requests_failed_pct),
                i.baseline_error_rate.map_or("n/a".to_string(), format_rate),
                i.peak_error_rate.map_or("n/a".to_string(), format_rate),
            )),
        ]);
        let mut cause = vec![strong("Root cause (most likely, to confirm):"), text(" ")];
        match o.story.candidates.first() {
            Some(c) => cause.extend(cause_line(w, c)),
            None => cause.push(text("no candidate stood out in the logs.")),
        }
        items.push(cause);
        let actions = actions_before_recovery(w, o);
        let mut resolution = vec![strong("Resolution:")];
        if actions.is_empty() {
            resolution.push(text(format!(
                " the service recovered at {}; no restore, rollback or restart was found in the logs before it.",
                w.clock.time(o.outage.end)
            )));
        } else {
            resolution.push(text(format!(
                " the service recovered at {} after {}.",
                w.clock.time(o.outage.end),
                actions.join("; then ")
            )));
        }
        items.push(resolution);
        blocks.push(Block::List(items));
    }
}

fn impact_section(w: &Writer, blocks: &mut Vec<Block>) {
    let a = w.a;
    blocks.push(heading(2, "Impact"));
    if a.outages.is_empty() {
        blocks.push(Block::Paragraph(vec![text("None measured.")]));
        return;
    }
    for (n, o) in a.outages.iter().enumerate() {
        let i = &o.impact;
        if a.outages.len() > 1 {
            blocks.push(heading(3, &format!("Outage {}", n + 1)));
        }
        let row = |k: &str, v: String| vec![vec![text(k)], vec![text(v)]];
        let mut rows = vec![
            row(
                "Window",
                format!(
                    "{} – {} ({})",
                    w.clock.time(o.outage.start),
                    w.clock.time(o.outage.end),
                    duration(i.duration_seconds)
                ),
            ),
            row(
                "Users affected",
                format!(
                    "{} of {} active ({})",
                    thousands(i.users_affected),
                    thousands(i.users_active),
                    pct(i.users_affected_pct)
                ),
            ),
            row(
                "Requests failed",
                format!(
                    "{} of {} ({})",
                    thousands(i.requests_failed),
                    thousands(i.requests_total),
                    pct(i.requests_failed_pct)
                ),
            ),
            row(
                "Failure rate, normal → peak",
                format!(
                    "{} → {}{}",
                    i.baseline_error_rate.map_or("n/a".into(), format_rate),
                    i.peak_error_rate.map_or("n/a".into(), format_rate),
                    i.peak_minute
                        .map(|m| format!(" (minute of {})", w.clock.minute(m * NS_PER_SEC)))
                        .unwrap_or_default()
                ),
            ),
            row("Users identified by", {
                let how = if i.user_count_method == "exact" {
                    "exact count"
                } else {
                    i.user_count_method.as_str()
                };
                match i.user_identity {
                    crate::impact::UserIdentity::ClientAddress => {
                        format!("client address: the logs carry no user field ({how})")
                    }
                    other => format!("{} ({how})", other.as_str()),
                }
            }),
            row("Measured on", o.outage.stream.label()),
        ];
        if !o.outage.evidence.agreeing_streams.is_empty() {
            rows.push(row(
                "Also seen in",
                o.outage.evidence.agreeing_streams.join(", "),
            ));
        }
        // Where the failures were, as summary.json's `failed_by_*` lists them (top few).
        let top = |pairs: Vec<(String, u64)>| -> Option<String> {
            const SHOWN: usize = 3;
            (!pairs.is_empty()).then(|| {
                let mut parts: Vec<String> = pairs
                    .iter()
                    .take(SHOWN)
                    .map(|(k, n)| format!("{}: {}", w.quote(k, 60), thousands(*n)))
                    .collect();
                if pairs.len() > SHOWN {
                    parts.push(format!("{} more", pairs.len() - SHOWN));
                }
                parts.join("; ")
            })
        };
        if let Some(v) = top(i.breakdown.by_endpoint.clone()) {
            rows.push(row("Failed requests by endpoint", v));
        }
        if let Some(v) = top(i
            .breakdown
            .by_status
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect())
        {
            rows.push(row("Failed requests by status", v));
        }
        blocks.push(Block::Table {
            header: vec!["Measure".into(), "Value".into()],
            numeric: vec![false, false],
            rows,
        });
    }
}

fn detection(w: &Writer, blocks: &mut Vec<Block>) {
    let a = w.a;
    blocks.push(heading(2, "Detection"));
    if a.outages.is_empty() {
        blocks.push(Block::Paragraph(vec![text("Nothing to detect.")]));
        return;
    }
    for o in &a.outages {
        let r = &o.response;
        let mut how: Line = Vec::new();
        match &r.first_alert {
            Some(f) => {
                how.push(text(format!(
                    "Detected at {}, {} after the onset: {} ({}).",
                    w.clock.time(f.time),
                    r.time_to_detect_seconds.map_or("n/a".into(), duration),
                    w.quote(&f.what, 120),
                    w.source(f.event.origin),
                )));
                if let Some(p) = &r.paged
                    && p.time != f.time
                {
                    how.push(text(format!(
                        " The on-call was paged at {}.",
                        w.clock.time(p.time)
                    )));
                }
                if let Some(ack) = &r.acknowledged {
                    let by = ack
                        .event
                        .page
                        .as_ref()
                        .and_then(|p| p.agent.as_deref())
                        .map(|agent| format!(" by {}", w.quote(agent, 60)))
                        .unwrap_or_default();
                    how.push(text(format!(
                        " Acknowledged{by} at {}, {} after the alert.",
                        w.clock.time(ack.time),
                        r.time_to_acknowledge_seconds.map_or("n/a".into(), duration)
                    )));
                }
                if let Some(e) = r.escalated.first() {
                    how.push(text(format!(" Escalated at {}.", w.clock.time(e.time))));
                }
            }
            None => how.push(text(
                "No alert or page was found for this outage: it was not detected by monitoring in these logs.",
            )),
        }
        blocks.push(Block::Paragraph(how));
        let row = |k: &str, v: String| vec![vec![text(k)], vec![text(v)]];
        let mut rows = vec![
            row(
                "First alert",
                r.first_alert.as_ref().map_or("none found".into(), |f| {
                    format!("{} at {}", w.quote(&f.what, 120), w.clock.time(f.time))
                }),
            ),
            row("Time to detect (TTD)", seconds(r.time_to_detect_seconds)),
            row(
                "Time to acknowledge (TTA)",
                seconds(r.time_to_acknowledge_seconds),
            ),
            row("Time to resolve (TTR)", seconds(r.time_to_resolve_seconds)),
        ];
        if !r.related_alerts.is_empty() {
            rows.push(row(
                "Alerts",
                w.quote(&r.related_alerts.join(", "), CELL_CHARS),
            ));
        }
        if !r.incident_ids.is_empty() {
            rows.push(row(
                "Incidents",
                w.quote(&r.incident_ids.join(", "), CELL_CHARS),
            ));
        }
        blocks.push(Block::Table {
            header: vec!["Measure".into(), "Value".into()],
            numeric: vec![false, false],
            rows,
        });
    }
}

/// The text of a timeline row: log text redacted and clipped, repeats with their count.
fn entry_text(w: &Writer, e: &TimelineEntry) -> String {
    let mut body = w.quote(&e.text, CELL_CHARS);
    if e.kind == "errors" {
        // A mined template's variable parts read as an ellipsis.
        body = body.replace(WILDCARD, "…");
    }
    match (e.count, e.until) {
        (Some(n), Some(until)) if e.kind == "mitigation" => {
            format!("{body} — {n} steps until {}", w.clock.time(until))
        }
        (Some(n), Some(until)) => format!(
            "{body} ×{} between {} and {}",
            thousands(n),
            w.clock.minute(e.time),
            w.clock.minute(until)
        ),
        (Some(n), None) => format!("{body} ×{}", thousands(n)),
        _ => body,
    }
}

fn timeline(w: &Writer, blocks: &mut Vec<Block>) {
    let a = w.a;
    blocks.push(heading(2, "Timeline"));
    let zone_at = a
        .outages
        .first()
        .map_or(a.span().map_or(0, |(f, _)| f), |o| o.outage.start);
    blocks.push(Block::Paragraph(vec![text(format!(
        "Times in {}. Repeats are collapsed into one line with their count.",
        w.clock.zone_name(zone_at)
    ))]));
    let entries = a.timeline_entries();
    if entries.is_empty() {
        blocks.push(Block::Paragraph(vec![text("No notable events.")]));
        return;
    }
    let rows = entries
        .iter()
        .map(|e| {
            let what = match (e.kind, &e.source) {
                ("note", Some(_)) => "Note (team)",
                (kind, _) => kind_label(kind),
            };
            vec![
                vec![text(w.clock.time(e.time))],
                vec![text(what)],
                vec![text(entry_text(w, e))],
                vec![text(w.entry_source(e))],
            ]
        })
        .collect();
    blocks.push(Block::Table {
        header: vec![
            "Time".into(),
            "What".into(),
            "Event".into(),
            "Source".into(),
        ],
        numeric: vec![false, false, false, false],
        rows,
    });
}

fn root_cause(w: &Writer, blocks: &mut Vec<Block>) {
    let a = w.a;
    blocks.push(heading(2, "Root Cause and Resolution"));
    if a.outages.is_empty() {
        blocks.push(Block::Paragraph(vec![text("Not applicable.")]));
        return;
    }
    for o in &a.outages {
        blocks.push(heading(3, "Root cause"));
        match o.story.candidates.first() {
            Some(c) => {
                let mut p = vec![text("Most likely: ")];
                p.extend(cause_line(w, c));
                p.push(text(" The ranking is a suspicion drawn from timing and from what the errors name: confirm it with the people involved."));
                blocks.push(Block::Paragraph(p));
            }
            None => blocks.push(Block::Paragraph(vec![text(
                "No candidate stood out in the logs: no change shortly before the onset, no new message.",
            )])),
        }
        blocks.push(Block::Paragraph(vec![emph(
            "Candidates, ranked (score 0–1: kind of change or message, closeness to the onset, share of the errors naming what it touched):",
        )]));
        let items: Vec<Line> = o
            .story
            .candidates
            .iter()
            .map(|c| {
                let mut item = vec![strong(format!("{:.2}", c.score)), text(" ")];
                item.extend(cause_line(w, c));
                item
            })
            .collect();
        if items.is_empty() {
            blocks.push(Block::Paragraph(vec![text("None.")]));
        } else {
            blocks.push(Block::Numbered(items));
        }
        if !o.story.errors.is_empty() {
            blocks.push(Block::Paragraph(vec![emph(
                "What failed (errors in the window, most frequent first):",
            )]));
            let items = o
                .story
                .errors
                .iter()
                .take(5)
                .map(|e| {
                    let template = w.quote(&e.template, QUOTE_CHARS).replace(WILDCARD, "…");
                    vec![
                        code(template),
                        text(format!(
                            " ×{} ({}{})",
                            thousands(e.count),
                            w.source(e.origin),
                            if e.new { ", new with the outage" } else { "" }
                        )),
                    ]
                })
                .collect();
            blocks.push(Block::List(items));
        }

        blocks.push(heading(3, "Resolution"));
        let actions = actions_before_recovery(w, o);
        if actions.is_empty() {
            blocks.push(Block::Paragraph(vec![text(format!(
                "The service recovered at {}. No restore, rollback or restart was found in the logs before the recovery; describe what was done.",
                w.clock.time(o.outage.end)
            ))]));
        } else {
            blocks.push(Block::Paragraph(vec![text(format!(
                "The service recovered at {} after {}.",
                w.clock.time(o.outage.end),
                actions.join("; then ")
            ))]));
        }
        let mut steps: Vec<(TimeNs, Line)> = Vec::new();
        for n in &o.response.notes {
            steps.push((
                n.time,
                vec![text(format!(
                    "{} responder note: {} ({})",
                    w.clock.time(n.time),
                    w.quote(&n.event.message, 200),
                    w.source(n.event.origin)
                ))],
            ));
        }
        // Team notes written during the outage, and the actions they name.
        let until = o.outage.end + 10 * 60 * NS_PER_SEC;
        for n in a
            .note_entries
            .iter()
            .filter(|n| n.time >= o.outage.start && n.time <= until)
        {
            let action = classify_text(&n.text)
                .map(|c| {
                    format!(
                        " ({})",
                        crate::timeline::action_label(c.kind).to_lowercase()
                    )
                })
                .unwrap_or_default();
            steps.push((
                n.time,
                vec![text(format!(
                    "{} team note{action}: {} ({})",
                    w.clock.time(n.time),
                    w.quote(&n.text, 200),
                    w.entry_source(n)
                ))],
            ));
        }
        const MAX_STEPS: usize = 15;
        for m in o.story.mitigations.iter().take(MAX_STEPS) {
            steps.push((
                m.time,
                vec![
                    text(format!("{} ", w.clock.time(m.time))),
                    code(w.quote(&m.text, QUOTE_CHARS)),
                    text(format!(" ({})", w.entry_source(m))),
                ],
            ));
        }
        steps.sort_by_key(|(t, _)| *t);
        let mut items: Vec<Line> = steps.into_iter().map(|(_, l)| l).collect();
        if o.story.mitigations.len() > MAX_STEPS {
            items.push(vec![
                text(format!(
                    "… and {} more steps (see ",
                    o.story.mitigations.len() - MAX_STEPS
                )),
                code("summary.json"),
                text(")"),
            ]);
        }
        items.push(vec![text(format!(
            "{} failure rate back to its baseline: service recovered.",
            w.clock.time(o.outage.end)
        ))]);
        blocks.push(Block::List(items));
    }
}

/// Suggestions drafted from the class of the likely cause and from the response times.
fn suggestions(o: &OutageAnalysis) -> Vec<String> {
    let mut out = Vec::new();
    let top = o.story.candidates.first();
    match top.and_then(|c| c.change_kind) {
        Some(ChangeKind::Ddl) | Some(ChangeKind::DataChange) => {
            out.push("Put schema and bulk data changes in production behind review: run them as versioned migrations with a tested rollback, not from an interactive session.".to_string());
            out.push("Remove DROP/TRUNCATE rights from maintenance roles on tables the service needs; require a second person for destructive statements.".to_string());
            out.push("Rehearse restoring a single table from backup and record how long it takes (the restore time is the outage's floor).".to_string());
        }
        Some(ChangeKind::Deploy) | Some(ChangeKind::Migration) => {
            out.push("Roll out releases progressively (canary) with automatic rollback on error-rate increase.".to_string());
            out.push("Make the rollback path one command and rehearse it.".to_string());
        }
        Some(ChangeKind::Config) => {
            out.push(
                "Validate configuration changes before reload and roll them out gradually."
                    .to_string(),
            );
            out.push(
                "Keep configuration in version control so a reload can be reverted in one step."
                    .to_string(),
            );
        }
        Some(ChangeKind::Failover) | Some(ChangeKind::Restart) => {
            out.push("Check that clients reconnect and retry cleanly across restarts and failovers; test it regularly.".to_string());
        }
        _ => {
            out.push("Confirm the root cause with the people involved; the candidates above are ranked by timing and by what the errors name.".to_string());
            if top.is_some_and(|c| c.kind == "new-error" || c.kind == "error") {
                out.push("Add a runbook entry for the dominant error above: what it means and the first thing to check.".to_string());
            }
        }
    }
    if let Some(ttd) = o.response.time_to_detect_seconds {
        if ttd > 120 {
            out.push(format!(
                "Detection took {}: consider a faster alert on the failure rate (e.g. a multi-window burn-rate alert).",
                duration(ttd)
            ));
        }
    } else {
        out.push("No alert or page was found for this outage: add an alert on the service's failure rate.".to_string());
    }
    if let Some(tta) = o.response.time_to_acknowledge_seconds
        && tta > 5 * 60
    {
        out.push(format!(
            "Acknowledgement took {}: review the paging path and on-call reachability.",
            duration(tta)
        ));
    }
    if !o.response.escalated.is_empty() {
        out.push("The page was escalated: check that the first responder had the access and runbook needed.".to_string());
    }
    out
}

fn measures(w: &Writer, blocks: &mut Vec<Block>) {
    blocks.push(heading(2, "Corrective and Preventative Measures"));
    blocks.push(Block::Paragraph(vec![emph(
        "Suggestions drafted from the class of the likely cause and from the response times: edit them, assign owners and dates.",
    )]));
    let mut items: Vec<Line> = Vec::new();
    for o in &w.a.outages {
        for s in suggestions(o) {
            let line = vec![text(s)];
            if !items.contains(&line) {
                items.push(line);
            }
        }
    }
    if items.is_empty() {
        items.push(vec![text("None suggested.")]);
    }
    blocks.push(Block::Checklist(items));
}

fn charts(charts: &[ChartRef], blocks: &mut Vec<Block>) {
    if charts.is_empty() {
        return;
    }
    blocks.push(heading(2, "Charts"));
    for c in charts {
        blocks.push(Block::Image {
            path: c.path.clone(),
            alt: c.title.clone(),
            also: c.also.clone(),
        });
    }
}

fn appendix(w: &Writer, blocks: &mut Vec<Block>) {
    let a = w.a;
    blocks.push(heading(2, "Appendix"));
    blocks.push(heading(3, "Inputs and line accounting"));
    blocks.push(Block::Paragraph(vec![text(
        "Every line is counted: lines = parsed + joined (continuation of a multi-line record) + unparsed.",
    )]));
    let time = |t: Option<TimeNs>| t.map_or(String::new(), |t| w.clock.time(t));
    let mut rows: Vec<Vec<Line>> = a
        .inputs
        .iter()
        .map(|i| {
            vec![
                vec![text(i.path.clone())],
                vec![text(i.format.unwrap_or("unrecognised"))],
                vec![text(thousands(i.lines))],
                vec![text(thousands(i.parsed))],
                vec![text(thousands(i.joined))],
                vec![text(thousands(i.unparsed))],
                vec![text(time(i.first))],
                vec![text(time(i.last))],
            ]
        })
        .collect();
    let sum = |f: fn(&crate::ingest::InputReport) -> u64| -> String {
        thousands(a.inputs.iter().map(f).sum())
    };
    rows.push(vec![
        vec![strong("Total")],
        vec![],
        vec![strong(sum(|i| i.lines))],
        vec![strong(sum(|i| i.parsed))],
        vec![strong(sum(|i| i.joined))],
        vec![strong(sum(|i| i.unparsed))],
        vec![],
        vec![],
    ]);
    blocks.push(Block::Table {
        header: [
            "File", "Format", "Lines", "Parsed", "Joined", "Unparsed", "First", "Last",
        ]
        .map(String::from)
        .to_vec(),
        numeric: vec![false, false, true, true, true, true, false, false],
        rows,
    });
    let mut problems: Vec<Line> = Vec::new();
    for i in &a.inputs {
        for s in &i.samples {
            problems.push(vec![text(format!(
                "{}:{}: unparsed: {}",
                i.path, s.line, s.reason
            ))]);
        }
        if let Some(e) = &i.error {
            problems.push(vec![text(format!("{}: {}", i.path, e))]);
        }
    }
    for p in &a.path_problems {
        problems.push(vec![text(format!("{}: {}", p.path, p.message))]);
    }
    if let Some(n) = &a.notes {
        for p in &n.problems {
            problems.push(vec![text(format!(
                "{}:{}: not a timeline line: {}",
                n.path, p.line, p.message
            ))]);
        }
    }
    if !problems.is_empty() {
        blocks.push(Block::Paragraph(vec![text(
            "Lines and paths not used (the unparsed line's text is in summary.json):",
        )]));
        blocks.push(Block::List(problems));
    }
    if let Some(n) = &a.notes {
        blocks.push(Block::Paragraph(vec![text(format!(
            "Team notes: {} lines from {} merged into the timeline ({} not understood); a line without a date took the date nearest the outage.",
            n.lines.len(),
            n.path,
            n.problems.len()
        ))]));
    }
    blocks.push(heading(3, "How this draft was made"));
    let mut items: Vec<Line> = vec![
        vec![text(format!(
            "Timestamps without a zone were read as {}; the report is written in {}.",
            a.assume_tz.name(),
            a.report_tz.name()
        ))],
        vec![text(
            "The window starts where the per-minute failure rate leaves its baseline and ends where it returns (a change-point segmentation), refined to the second from the failing requests. Alerts and pages give the response times; they do not define the window.",
        )],
        vec![text(
            "Users affected = distinct users with a failed request in the window ÷ distinct users with a request in it. Requests failed counts 5xx answers.",
        )],
        vec![text(
            "Root-cause candidates: changes in the two hours before the onset (weighted by kind, destructive DDL highest, and by closeness to the onset), messages never seen before the onset (templates mined with a Drain-style miner), the error templates that dominate the window, and the first failure.",
        )],
    ];
    for o in &a.outages {
        let ev = &o.outage.evidence;
        items.push(vec![text(format!(
            "Detector evidence for the window from {} (see evidence in summary.json): method {}, baseline {}, failure rate in the window {}, z = {:.1}.",
            w.clock.time(o.outage.start),
            ev.method,
            format_rate(ev.baseline_rate),
            format_rate(ev.window_rate),
            ev.z_score
        ))]);
    }
    items.push(vec![text(if w.redaction.enabled {
        "Redaction: user ids, e-mail addresses, IP addresses and tokens in log text are replaced by <user>, <email>, <ip> and <token> in this report and in summary.json; file:line still points at the original line. Run with --no-redact to keep them."
    } else {
        "Redaction was turned off (--no-redact): log text is quoted as written."
    })]);
    blocks.push(Block::List(items));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_folder_of_inputs() {
        assert_eq!(
            common_folder(["fixtures/x/db/a.log", "fixtures/x/app/b.log"].into_iter()),
            "fixtures/x/".len()
        );
        assert_eq!(common_folder(["a.log", "b.log"].into_iter()), 0);
        assert_eq!(common_folder(["d/a.log"].into_iter()), 2);
        assert_eq!(common_folder(std::iter::empty()), 0);
    }
}
