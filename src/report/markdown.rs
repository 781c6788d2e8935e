//! `postmortem.md`: the draft postmortem (Issue Summary, Impact, Detection, Timeline, Root Cause
//! and Resolution, Corrective and Preventative Measures, Appendix), rendered from an analysis.
//! Log text is escaped: a log line cannot break the document's layout.

use std::fmt::Write;

use chrono::Offset;
use chrono_tz::Tz;

use crate::event::TimeNs;
use crate::notable::ChangeKind;
use crate::pipeline::{Analysis, OutageAnalysis};
use crate::time::in_zone;
use crate::timeline::{Candidate, format_rate};

/// Escapes text for Markdown inline context (table cells included): no markup, no raw HTML,
/// no line breaks, no control characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            // Bidirectional overrides could make a line read differently than it is.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Shortens a log line for a table cell.
fn clip(text: &str, max_chars: usize) -> String {
    let mut chars = text.chars();
    let clipped: String = chars.by_ref().take(max_chars).collect();
    if chars.next().is_some() {
        format!("{clipped}…")
    } else {
        clipped
    }
}

fn cell(text: &str) -> String {
    escape(&clip(text, 160))
}

/// Thousands separators: 14212 → 14,212.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

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

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "n/a".to_string(), |p| format!("{p:.1}%"))
}

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

    /// "America/New_York (EDT, UTC−04:00)".
    fn zone_name(&self, at: TimeNs) -> String {
        let dt = in_zone(at, self.tz);
        let offset = dt.offset().fix().local_minus_utc();
        let sign = if offset < 0 { '−' } else { '+' };
        let off = offset.abs();
        format!(
            "{} ({}, UTC{}{:02}:{:02})",
            self.tz.name(),
            dt.format("%Z"),
            sign,
            off / 3600,
            (off % 3600) / 60
        )
    }
}

fn service_name(o: &OutageAnalysis) -> String {
    if o.outage.stream.service.is_empty() {
        o.outage.stream.label()
    } else {
        o.outage.stream.service.clone()
    }
}

/// The one-sentence cause, from the best candidate.
fn cause_sentence(a: &Analysis, clock: &Clock, c: &Candidate) -> String {
    format!(
        "`{}` at {} ({}) — {}",
        code(&clip(&c.text, 120)),
        clock.time(c.time),
        escape(&a.source_of(c.origin)),
        escape(&c.reason)
    )
}

/// Text for an inline code span: backticks cannot end it early, line breaks are flattened.
fn code(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '`' => '\'',
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

fn measures(o: &OutageAnalysis) -> Vec<String> {
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
        }
        Some(ChangeKind::Failover) | Some(ChangeKind::Restart) => {
            out.push("Check that clients reconnect and retry cleanly across restarts and failovers; test it regularly.".to_string());
        }
        _ => {
            out.push("Confirm the root cause with the people involved; the candidates above are ranked by timing and by what the errors name.".to_string());
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

/// Renders the postmortem. `charts` are paths relative to the output folder.
pub fn render(a: &Analysis, charts: &[(String, String)]) -> String {
    let clock = Clock::new(a.report_tz, a.span());
    let mut md = String::new();
    let first = a.outages.first();
    let date = a
        .span()
        .map(|(f, _)| in_zone(f, a.report_tz).format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let title_service = first
        .map(service_name)
        .unwrap_or_else(|| "no outage".to_string());
    let _ = writeln!(
        md,
        "# Postmortem (draft): {} outage, {}\n",
        escape(&title_service),
        date
    );
    let zone_at = a.span().map_or(0, |(f, _)| f);
    let total_lines: u64 = a.inputs.iter().map(|i| i.lines).sum();
    let _ = writeln!(
        md,
        "> Drafted by retrace {} from {} input files ({} lines). All times are {}. Every figure below is in `summary.json`; edit before publishing.\n",
        env!("CARGO_PKG_VERSION"),
        a.inputs.len(),
        thousands(total_lines),
        clock.zone_name(zone_at)
    );

    // Issue Summary
    md.push_str("## Issue Summary\n\n");
    if a.outages.is_empty() {
        md.push_str("No outage was found: the failure rate never rose clearly above its baseline in these logs.\n\n");
    }
    for o in &a.outages {
        let i = &o.impact;
        let _ = write!(
            md,
            "From {} to {} ({}), **{}** was failing requests. ",
            clock.full(o.outage.start),
            clock.time(o.outage.end),
            duration(i.duration_seconds),
            escape(&service_name(o)),
        );
        let _ = write!(
            md,
            "**{} of {} active users ({})** had at least one failed request, and **{} of {} requests ({})** failed, against a normal failure rate of {} (peak {} per minute). ",
            thousands(i.users_affected),
            thousands(i.users_active),
            pct(i.users_affected_pct),
            thousands(i.requests_failed),
            thousands(i.requests_total),
            pct(i.requests_failed_pct),
            i.baseline_error_rate.map_or("n/a".to_string(), format_rate),
            i.peak_error_rate.map_or("n/a".to_string(), format_rate),
        );
        match o.story.candidates.first() {
            Some(c) => {
                let _ = write!(
                    md,
                    "Most likely root cause: {}. ",
                    cause_sentence(a, &clock, c)
                );
            }
            None => md.push_str("No root-cause candidate stood out in the logs. "),
        }
        if let Some(first) = o.story.mitigations.first() {
            let _ = write!(
                md,
                "Service came back after the response that began at {} (`{}`).",
                clock.time(first.time),
                code(&clip(&first.text, 100))
            );
        }
        md.push_str("\n\n");
    }

    // Impact
    md.push_str("## Impact\n\n");
    for (n, o) in a.outages.iter().enumerate() {
        let i = &o.impact;
        if a.outages.len() > 1 {
            let _ = writeln!(md, "### Outage {}\n", n + 1);
        }
        md.push_str("| Measure | Value |\n|---|---|\n");
        let _ = writeln!(
            md,
            "| Window | {} – {} ({}) |",
            clock.time(o.outage.start),
            clock.time(o.outage.end),
            duration(i.duration_seconds)
        );
        let _ = writeln!(
            md,
            "| Users affected | {} of {} active ({}) |",
            thousands(i.users_affected),
            thousands(i.users_active),
            pct(i.users_affected_pct)
        );
        let _ = writeln!(
            md,
            "| Requests failed | {} of {} ({}) |",
            thousands(i.requests_failed),
            thousands(i.requests_total),
            pct(i.requests_failed_pct)
        );
        let _ = writeln!(
            md,
            "| Failure rate, normal → peak | {} → {} |",
            i.baseline_error_rate.map_or("n/a".into(), format_rate),
            i.peak_error_rate.map_or("n/a".into(), format_rate)
        );
        let _ = writeln!(
            md,
            "| Users identified by | {} ({} count) |",
            i.user_identity.as_str(),
            i.user_count_method
        );
        let _ = writeln!(md, "| Measured on | {} |", escape(&o.outage.stream.label()));
        if !o.outage.evidence.agreeing_streams.is_empty() {
            let _ = writeln!(
                md,
                "| Also seen in | {} |",
                escape(&o.outage.evidence.agreeing_streams.join(", "))
            );
        }
        md.push('\n');
    }
    if a.outages.is_empty() {
        md.push_str("None measured.\n\n");
    }

    // Detection
    md.push_str("## Detection\n\n");
    for o in &a.outages {
        let r = &o.response;
        md.push_str("| Measure | Value |\n|---|---|\n");
        let how = match &r.first_alert {
            Some(f) => format!(
                "{} at {} ({})",
                escape(&f.what),
                clock.time(f.time),
                escape(&a.source_of(f.event.origin))
            ),
            None => "no alert or page found".to_string(),
        };
        let _ = writeln!(md, "| First alert | {how} |");
        let _ = writeln!(
            md,
            "| Time to detect | {} |",
            r.time_to_detect_seconds.map_or("n/a".into(), duration)
        );
        let _ = writeln!(
            md,
            "| Time to acknowledge | {} |",
            r.time_to_acknowledge_seconds.map_or("n/a".into(), duration)
        );
        let _ = writeln!(
            md,
            "| Time to resolve | {} |",
            r.time_to_resolve_seconds.map_or("n/a".into(), duration)
        );
        if !r.related_alerts.is_empty() {
            let _ = writeln!(md, "| Alerts | {} |", escape(&r.related_alerts.join(", ")));
        }
        md.push('\n');
    }
    if a.outages.is_empty() {
        md.push_str("Nothing to detect.\n\n");
    }

    // Timeline
    md.push_str("## Timeline\n\n");
    let _ = writeln!(md, "Times in {}.\n", clock.zone_name(zone_at));
    let entries = a.timeline_entries();
    if entries.is_empty() {
        md.push_str("No notable events.\n\n");
    } else {
        md.push_str("| Time | What | Event | Source |\n|---|---|---|---|\n");
        for e in entries {
            let text = match (e.count, e.until) {
                (Some(n), Some(until)) => format!(
                    "{} ×{} until {}",
                    cell(&e.text),
                    thousands(n),
                    clock.minute(until)
                ),
                _ => cell(&e.text),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                clock.time(e.time),
                e.kind,
                text,
                e.origin.map_or(String::new(), |o| escape(&a.source_of(o)))
            );
        }
        md.push('\n');
    }

    // Root Cause and Resolution
    md.push_str("## Root Cause and Resolution\n\n");
    for o in &a.outages {
        md.push_str("### Root-cause candidates\n\nRanked by how likely each started the outage (timing, kind of change, and how many errors in the window name what it touched).\n\n");
        if o.story.candidates.is_empty() {
            md.push_str("None found.\n\n");
        }
        for (n, c) in o.story.candidates.iter().enumerate() {
            let _ = writeln!(
                md,
                "{}. **{:.2}** `{}` at {} ({}): {}",
                n + 1,
                c.score,
                code(&clip(&c.text, 140)),
                clock.time(c.time),
                escape(&a.source_of(c.origin)),
                escape(&c.reason)
            );
        }
        md.push_str("\n### Resolution\n\n");
        if o.story.mitigations.is_empty() && o.response.notes.is_empty() {
            md.push_str("No restore, rollback or restart was found in the logs before recovery; describe what was done.\n");
        }
        for n in &o.response.notes {
            let _ = writeln!(
                md,
                "- {} responder note: {}",
                clock.time(n.time),
                cell(&n.event.message)
            );
        }
        for m in o.story.mitigations.iter().take(15) {
            let _ = writeln!(
                md,
                "- {} `{}` ({})",
                clock.time(m.time),
                code(&clip(&m.text, 140)),
                escape(&a.source_of(m.origin.unwrap_or_default()))
            );
        }
        if o.story.mitigations.len() > 15 {
            let _ = writeln!(
                md,
                "- … and {} more steps (see `summary.json`)",
                o.story.mitigations.len() - 15
            );
        }
        let _ = writeln!(
            md,
            "- {} failure rate back to normal: service recovered.\n",
            clock.time(o.outage.end)
        );
    }
    if a.outages.is_empty() {
        md.push_str("Not applicable.\n\n");
    }

    // Corrective and Preventative Measures
    md.push_str("## Corrective and Preventative Measures\n\n_Suggestions drafted from the cause and the response times; edit, assign owners and dates._\n\n");
    for o in &a.outages {
        for m in measures(o) {
            let _ = writeln!(md, "- [ ] {m}");
        }
    }
    if a.outages.is_empty() {
        md.push_str("- [ ] None suggested.\n");
    }
    md.push('\n');

    // Charts
    if !charts.is_empty() {
        md.push_str("## Charts\n\n");
        for (path, title) in charts {
            let _ = writeln!(md, "![{}]({})\n", escape(title), path);
        }
    }

    // Appendix
    md.push_str("## Appendix: inputs\n\nEvery line is counted: lines = parsed + joined (continuation of a multi-line record) + unparsed.\n\n");
    md.push_str("| File | Format | Lines | Parsed | Joined | Unparsed | First | Last |\n|---|---|---:|---:|---:|---:|---|---|\n");
    for i in &a.inputs {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            escape(&i.path),
            i.format.unwrap_or("unrecognised"),
            thousands(i.lines),
            thousands(i.parsed),
            thousands(i.joined),
            thousands(i.unparsed),
            i.first.map_or(String::new(), |t| clock.time(t)),
            i.last.map_or(String::new(), |t| clock.time(t)),
        );
    }
    let problems: Vec<String> = a
        .inputs
        .iter()
        .filter_map(|i| i.error.as_ref().map(|e| format!("{}: {}", i.path, e)))
        .chain(
            a.path_problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message)),
        )
        .collect();
    if !problems.is_empty() {
        md.push_str("\nProblems reading inputs:\n\n");
        for p in problems {
            let _ = writeln!(md, "- {}", escape(&p));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("[x](javascript:alert(1))"),
            "\\[x\\](javascript:alert(1))"
        );
        assert_eq!(escape("line\nbreak"), "line break");
        assert_eq!(escape("\u{1b}[31mred"), "\u{FFFD}\\[31mred");
        assert_eq!(escape("a\u{202E}b"), "a\u{FFFD}b");
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(thousands(14212), "14,212");
        assert_eq!(thousands(999), "999");
        assert_eq!(duration(7200), "2 h");
        assert_eq!(duration(3900), "1 h 5 min");
        assert_eq!(duration(310), "5 min 10 s");
        assert_eq!(duration(42), "42 s");
    }

    #[test]
    fn code_spans_cannot_be_closed_by_log_text() {
        assert_eq!(code("DROP `x`\nTABLE"), "DROP 'x' TABLE");
    }
}
