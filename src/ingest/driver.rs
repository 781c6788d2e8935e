//! Reads one file: opens it, decides whether it is line-oriented or one JSON document, detects
//! (or takes) its format, and pushes its events into a sink, counting every line.

use std::fs;
use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::UNIX_EPOCH;

use super::detect::{SampleLine, detect_lines};
use super::document::{MAX_DOCUMENT_BYTES, ingest_document, looks_like_document};
use super::formats::{FileContext, LineFormat, LineOutcome, Multiline, ParseContext, truncate_str};
use super::multiline::Joiner;
use super::reader::{LineReader, open_input};
use super::{
    EventSink, InputFile, InputReport, QUOTE_CHARS, SNIFF_LINES, UNPARSED_SAMPLES, UnparsedSample,
    describe_io,
};
use crate::event::{Event, NS_PER_SEC, Origin, TimeNs};
use crate::time::format_utc;

/// Bytes looked at to tell a JSON document from JSON lines or text.
const PEEK_BYTES: usize = 64 * 1024;

/// Where a file whose format lacks years (or counts from boot) takes its reference time from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnchorMode {
    /// Do not read such a file yet: it is read once the other files have given their times.
    Defer,
    /// Use this reference time (the other sources' last time); `None`: the file's modification time.
    Use(Option<TimeNs>),
}

/// The file needs a reference time and was left for later (see [`AnchorMode::Defer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deferred;

/// Reads one file to the end, pushing its events into `sink`. Never fails: problems end up in
/// the report (`error`, unparsed counts and samples). Year-less timestamps take their year from
/// the file's modification time.
pub fn ingest_file(
    file_index: u32,
    file: &InputFile,
    forced_format: Option<&'static dyn LineFormat>,
    ctx: &ParseContext,
    bytes_read: Arc<AtomicU64>,
    sink: &mut dyn EventSink,
) -> InputReport {
    // Only AnchorMode::Defer defers.
    ingest_file_with(
        file_index,
        file,
        forced_format,
        ctx,
        AnchorMode::Use(None),
        bytes_read,
        sink,
    )
    .unwrap_or_default()
}

/// The file's modification time, as nanoseconds.
fn modified_ns(file: &InputFile) -> Option<TimeNs> {
    let modified = fs::metadata(&file.path).ok()?.modified().ok()?;
    let d = modified.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(d.as_nanos()).ok()
}

/// As [`ingest_file`], saying where year-less timestamps take their year from. The sink's
/// `finish` is called once the file is read (not when it is deferred).
pub fn ingest_file_with(
    file_index: u32,
    file: &InputFile,
    forced_format: Option<&'static dyn LineFormat>,
    ctx: &ParseContext,
    anchor: AnchorMode,
    bytes_read: Arc<AtomicU64>,
    sink: &mut dyn EventSink,
) -> Result<InputReport, Deferred> {
    let report = read_file(
        file_index,
        file,
        forced_format,
        ctx,
        anchor,
        bytes_read,
        sink,
    )?;
    sink.finish();
    Ok(report)
}

fn read_file(
    file_index: u32,
    file: &InputFile,
    forced_format: Option<&'static dyn LineFormat>,
    ctx: &ParseContext,
    anchor: AnchorMode,
    bytes_read: Arc<AtomicU64>,
    sink: &mut dyn EventSink,
) -> Result<InputReport, Deferred> {
    let mut report = InputReport {
        path: file.display.clone(),
        ..InputReport::default()
    };
    let opened = match open_input(&file.path, bytes_read) {
        Ok(o) => o,
        Err(e) => {
            report.error = Some(describe_io(&e));
            return Ok(report);
        }
    };
    report.gzip = opened.gzip;
    let mut lines = LineReader::new(opened.reader);

    if looks_like_document(lines.peek(PEEK_BYTES)) {
        report.document = true;
        let mut bytes = Vec::new();
        let complete = lines.read_rest(&mut bytes, MAX_DOCUMENT_BYTES);
        let mut cx = FileContext::new(*ctx);
        match complete {
            Ok(true) => {
                ingest_document(
                    &bytes,
                    file_index,
                    forced_format,
                    &mut cx,
                    &mut report,
                    sink,
                );
            }
            Ok(false) => {
                // Too big to hold: every line is counted, none is used.
                let counted = lines.count_rest();
                let (rest_newlines, open_end) = counted.as_ref().copied().unwrap_or((0, false));
                let held_newlines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
                report.lines = held_newlines + rest_newlines + u64::from(open_end);
                report.unparsed = report.lines;
                report.error = Some(format!(
                    "one JSON document larger than {} MiB: not read (convert it to JSON lines, e.g. `jq -c '.[]'`)",
                    MAX_DOCUMENT_BYTES >> 20
                ));
                if let Err(e) = counted {
                    report.error = Some(format!("{}; then: {e}", report.error.unwrap_or_default()));
                }
            }
            Err(e) => {
                report.error = Some(format!("{e}; the file was not read as a JSON document"));
                report.lines = memchr::memchr_iter(b'\n', &bytes).count() as u64
                    + u64::from(bytes.last().is_some_and(|b| *b != b'\n'));
                report.unparsed = report.lines;
            }
        }
        report.notes.extend(cx.notes());
        return Ok(report);
    }

    // Sniff on the first lines, kept to be parsed afterwards.
    let mut head: Vec<(u64, String, bool)> = Vec::new();
    let mut read_error = None;
    while head.len() < SNIFF_LINES {
        match lines.next_line() {
            Ok(Some(l)) => head.push((
                l.number,
                String::from_utf8_lossy(l.bytes).into_owned(),
                l.truncated,
            )),
            Ok(None) => break,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    let chosen = match forced_format {
        Some(f) => {
            report.format_forced = true;
            Some((f, 1.0))
        }
        None => {
            let sample: Vec<SampleLine<'_>> =
                head.iter().map(|(_, t, _)| SampleLine::new(t)).collect();
            let detection = detect_lines(&file.display, &sample);
            report.best_guess = detection.best_guess;
            report.coverage = detection.coverage;
            detection.chosen
        }
    };
    let mut parse_ctx = *ctx;
    let mut anchor_note = None;
    if let Some((format, confidence)) = chosen {
        report.format = Some(format.name());
        report.confidence = confidence;
        if format.needs_anchor() {
            if let Some(dated) = dated_line_time(format, &head, ctx) {
                // The file's own dated lines (HAProxy's request lines, a mixed syslog) say best
                // which year its undated ones belong to.
                parse_ctx.anchor = Some(dated);
                anchor_note = Some(format!(
                    "timestamps without a year take it from the file's dated lines ({})",
                    format_utc(dated)
                ));
            } else {
                match anchor {
                    AnchorMode::Defer => return Err(Deferred),
                    AnchorMode::Use(Some(t)) => {
                        parse_ctx.anchor = Some(t);
                        anchor_note = Some(format!(
                            "timestamps without a year take it from the other inputs (their last time is {})",
                            format_utc(t)
                        ));
                    }
                    AnchorMode::Use(None) => {
                        parse_ctx.anchor = modified_ns(file);
                        anchor_note = parse_ctx.anchor.map(|t| {
                        format!(
                            "timestamps without a year take it from the file's modification time ({})",
                            format_utc(t)
                        )
                    });
                    }
                }
            }
            if head
                .iter()
                .any(|(_, text, _)| format.uptime(text).is_some())
            {
                place_boot(file, format, &mut parse_ctx, &mut report);
            }
        }
    }
    let mut state = LineState {
        format: chosen.map(|(f, _)| f),
        cx: FileContext::new(parse_ctx),
        report: &mut report,
        pending: Vec::new(),
        scratch: Vec::new(),
        joiner: Joiner::default(),
        file_index,
        held: 0,
        held_first: 0,
        held_text: String::new(),
    };
    for (number, text, truncated) in &head {
        state.line(*number, text, *truncated, sink);
    }
    if read_error.is_none() {
        loop {
            match lines.next_line() {
                Ok(Some(l)) => {
                    let text = String::from_utf8_lossy(l.bytes);
                    state.line(l.number, &text, l.truncated, sink);
                }
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
    }
    state.finish(sink);
    let notes = state.cx.notes();
    if state.cx.yearless_used
        && let Some(note) = anchor_note
    {
        report.notes.push(note);
    }
    report.notes.extend(notes);
    if let Some(e) = read_error {
        let what = if opened.gzip && e.kind() == io::ErrorKind::UnexpectedEof {
            "gzip stream truncated".to_string()
        } else if opened.gzip {
            format!("gzip stream unreadable ({e})")
        } else {
            e.to_string()
        };
        report.error = Some(format!(
            "{what} after line {}; the lines before it were used",
            report.lines
        ));
    }
    Ok(report)
}

/// The time of the first sampled line that carries its own year, if any.
fn dated_line_time(
    format: &dyn LineFormat,
    head: &[(u64, String, bool)],
    ctx: &ParseContext,
) -> Option<TimeNs> {
    let mut out = Vec::new();
    head.iter().find_map(|(_, text, _)| {
        // No reference time: a year-less line fails, a dated one parses.
        let mut cx = FileContext::new(*ctx);
        out.clear();
        match format.parse(text, &mut cx, &mut out) {
            LineOutcome::Parsed if !cx.yearless_used => out.first().map(|e| e.time),
            _ => None,
        }
    })
}

/// Kernel times count from boot: the boot is placed so the file's last line falls at its
/// modification time (the ring buffer was saved then). One extra pass over the file.
fn place_boot(
    file: &InputFile,
    format: &dyn LineFormat,
    ctx: &mut ParseContext,
    report: &mut InputReport,
) {
    let Some(modified) = modified_ns(file) else {
        return;
    };
    let Ok(opened) = open_input(&file.path, Arc::new(AtomicU64::new(0))) else {
        return;
    };
    let mut lines = LineReader::new(opened.reader);
    let mut last_uptime: Option<f64> = None;
    while let Ok(Some(l)) = lines.next_line() {
        if let Some(up) = format.uptime(&String::from_utf8_lossy(l.bytes)) {
            last_uptime = Some(last_uptime.map_or(up, |m: f64| m.max(up)));
        }
    }
    if let Some(up) = last_uptime {
        let boot = modified - (up * NS_PER_SEC as f64) as i64;
        ctx.boot_time = Some(boot);
        report.notes.push(format!(
            "times since boot placed with the boot at {}: the last line is taken to be written at the file's modification time",
            format_utc(boot)
        ));
    }
}

/// Per-file parsing state for line-oriented files: the event waiting for possible continuation
/// lines, and the lines held for a record that a later line completes.
struct LineState<'a> {
    format: Option<&'static dyn LineFormat>,
    cx: FileContext,
    report: &'a mut InputReport,
    /// Events from the last record line, held until a line that is not a continuation arrives.
    pending: Vec<Event>,
    scratch: Vec<Event>,
    joiner: Joiner,
    file_index: u32,
    /// Lines that opened a record not yet complete ([`LineOutcome::Prefix`]).
    held: u64,
    held_first: u64,
    held_text: String,
}

impl LineState<'_> {
    fn origin(&self, line: u64) -> Origin {
        Origin {
            file: self.file_index,
            line,
        }
    }

    fn line(&mut self, number: u64, text: &str, truncated: bool, sink: &mut dyn EventSink) {
        self.report.lines += 1;
        if truncated {
            self.report.truncated_lines += 1;
        }
        let origin = self.origin(number);
        let Some(format) = self.format else {
            self.unparsed(origin, text, "format not recognised", sink);
            return;
        };
        self.scratch.clear();
        match format.parse(text, &mut self.cx, &mut self.scratch) {
            LineOutcome::Parsed => {
                self.flush(sink);
                self.joiner.record_seen();
                self.report.parsed += 1;
                let first = if self.held > 0 {
                    // The held lines opened this record: they are joined to it.
                    for line in self.held_first..number {
                        sink.joined(self.origin(line));
                    }
                    self.report.joined += self.held;
                    self.held = 0;
                    self.held_first
                } else {
                    number
                };
                let record_origin = self.origin(first);
                if let Some(last) = self.scratch.iter().map(|e| e.time).max() {
                    self.cx.last_time = Some(last);
                }
                for mut event in self.scratch.drain(..) {
                    event.origin = record_origin;
                    self.pending.push(event);
                }
            }
            LineOutcome::Prefix => self.hold(number, text, sink),
            LineOutcome::Continuation if self.held > 0 => self.hold(number, text, sink),
            LineOutcome::Continuation => self.join(
                origin,
                text,
                format,
                "continuation line with no record before it",
                sink,
            ),
            LineOutcome::Unparsed(reason) => {
                self.release_held(sink);
                let continues = !text.trim().is_empty()
                    && match format.multiline() {
                        // Free text continues the record above, but a line laid out like a
                        // record that failed (a bad time) is a broken record, not a continuation.
                        Multiline::AnyLine => format.sniff(text) == 0,
                        Multiline::Rules => self.joiner.continues(text),
                    };
                if !self.pending.is_empty() && continues {
                    self.join(origin, text, format, "", sink);
                } else {
                    self.unparsed(origin, text, &reason, sink);
                }
            }
        }
    }

    fn hold(&mut self, number: u64, text: &str, sink: &mut dyn EventSink) {
        if self.held == 0 {
            self.flush(sink);
            self.held_first = number;
            self.held_text = truncate_str(text, QUOTE_CHARS).to_string();
        }
        self.held += 1;
    }

    /// Held lines whose record never completed are unparsed.
    fn release_held(&mut self, sink: &mut dyn EventSink) {
        if self.held == 0 {
            return;
        }
        let first = self.held_first;
        let text = std::mem::take(&mut self.held_text);
        for i in 0..self.held {
            let origin = self.origin(first + i);
            self.report.unparsed += 1;
            sink.unparsed(origin, "record left incomplete");
        }
        if self.report.samples.len() < UNPARSED_SAMPLES {
            self.report.samples.push(UnparsedSample {
                line: first,
                reason: format!("record left incomplete ({} line(s))", self.held),
                text,
            });
        }
        self.held = 0;
    }

    fn join(
        &mut self,
        origin: Origin,
        text: &str,
        format: &dyn LineFormat,
        orphan_reason: &str,
        sink: &mut dyn EventSink,
    ) {
        match self.pending.last_mut() {
            Some(event) => {
                format.join(event, text);
                self.report.joined += 1;
                sink.joined(origin);
            }
            None => self.unparsed(origin, text, orphan_reason, sink),
        }
    }

    fn unparsed(&mut self, origin: Origin, text: &str, reason: &str, sink: &mut dyn EventSink) {
        // An unparsed line ends any multi-line record.
        self.flush(sink);
        self.report.unparsed += 1;
        if text.trim().is_empty() {
            self.report.blank += 1;
            return;
        }
        sink.unparsed(origin, reason);
        if self.report.samples.len() < UNPARSED_SAMPLES {
            self.report.samples.push(UnparsedSample {
                line: origin.line,
                reason: reason.to_string(),
                text: truncate_str(text, QUOTE_CHARS).to_string(),
            });
        }
    }

    fn flush(&mut self, sink: &mut dyn EventSink) {
        for event in self.pending.drain(..) {
            record_event(self.report, sink, event);
        }
    }

    fn finish(&mut self, sink: &mut dyn EventSink) {
        self.flush(sink);
        self.release_held(sink);
    }
}

/// Counts an event in the report and hands it to the sink.
pub(crate) fn record_event(report: &mut InputReport, sink: &mut dyn EventSink, event: Event) {
    report.events += 1;
    report.first = Some(report.first.map_or(event.time, |f| f.min(event.time)));
    report.last = Some(report.last.map_or(event.time, |l| l.max(event.time)));
    sink.event(event);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::RecordingSink;
    use std::io::Write;

    fn ingest_text(name: &str, text: &str) -> (InputReport, Vec<Event>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        fs::File::create(&path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let file = InputFile {
            display: name.to_string(),
            path,
            size: text.len() as u64,
        };
        let mut sink = RecordingSink::default();
        let report = ingest_file(
            0,
            &file,
            None,
            &ParseContext::default(),
            Arc::new(AtomicU64::new(0)),
            &mut sink,
        );
        (report, sink.events)
    }

    #[test]
    fn postgres_lines_are_all_accounted_for() {
        let text = "2023-10-15 15:00:01.002 EDT [48301] ERROR:  relation \"sessions\" does not exist at character 31\n\
2023-10-15 15:00:01.002 EDT [48301] STATEMENT:  SELECT user_id FROM sessions WHERE token = $1\n\
2023-10-15 15:01:00.000 EDT [311] LOG:  automatic vacuum of table \"auth.public.users\": index scans: 1\n\
\tpages: 0 removed, 1234 remain\n\
\ttuples: 10 removed, 9000 remain\n\
random junk\n\
\n\
2023-10-15 15:02:00.000 EDT [312] LOG:  checkpoint starting: time";
        let (report, events) = ingest_text("postgresql.log", text);
        assert_eq!(report.format, Some("postgres-stderr"));
        assert_eq!(report.lines, 8);
        assert_eq!(report.parsed, 3);
        assert_eq!(report.joined, 3);
        assert_eq!(report.unparsed, 2);
        assert_eq!(report.blank, 1);
        assert_eq!(
            report.lines,
            report.parsed + report.joined + report.unparsed
        );
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0].attr("statement"),
            Some("SELECT user_id FROM sessions WHERE token = $1")
        );
        assert_eq!(events[2].origin.line, 8);
        assert_eq!(report.samples[0].line, 6);
    }

    #[test]
    fn unknown_format_counts_every_line_unparsed() {
        let (report, events) = ingest_text("notes.txt", "hello\nworld\n");
        assert_eq!(report.format, None);
        assert_eq!(report.unparsed, 2);
        assert!(events.is_empty());
    }

    #[test]
    fn gzip_is_read_transparently_and_truncation_reported() {
        use flate2::{Compression, write::GzEncoder};
        let line = "203.0.113.7 - - [15/Oct/2023:15:00:01 -0400] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\"\n";
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        for _ in 0..200 {
            enc.write_all(line.as_bytes()).unwrap();
        }
        let gz = enc.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("whole.log", &gz[..]), ("cut.log.gz", &gz[..gz.len() - 12])] {
            let path = dir.path().join(name);
            fs::write(&path, bytes).unwrap();
            let file = InputFile {
                display: name.to_string(),
                path,
                size: bytes.len() as u64,
            };
            let mut sink = RecordingSink::default();
            let r = ingest_file(
                0,
                &file,
                None,
                &ParseContext::default(),
                Arc::new(AtomicU64::new(0)),
                &mut sink,
            );
            assert!(r.gzip);
            assert_eq!(r.format, Some("nginx-access"));
            if name == "whole.log" {
                assert_eq!(r.parsed, 200);
                assert!(r.error.is_none());
            } else {
                assert!(
                    r.error.as_deref().unwrap_or("").contains("truncated"),
                    "{r:?}"
                );
            }
        }
    }
    #[test]
    fn records_that_span_lines_are_counted_from_their_first_line() {
        // A MySQL slow log: the header comments open the record, SET timestamp completes it,
        // the statement follows; a record cut off at the end of the file is unparsed.
        let text = "/usr/sbin/mysqld, Version: 8.0.35 (MySQL Community Server - GPL). started with:\n\
# Time: 2023-10-15T19:00:01.204131Z\n\
# User@Host: shop[shop] @ app-3 [10.0.4.12]  Id:   881\n\
# Query_time: 4.250113  Lock_time: 0.000102 Rows_sent: 1  Rows_examined: 981233\n\
SET timestamp=1697396401;\n\
SELECT COUNT(*) FROM order_items\n\
WHERE created_at > NOW() - INTERVAL 1 DAY;\n\
# Time: 2023-10-15T19:00:09.000000Z\n\
# User@Host: shop[shop] @ app-3 [10.0.4.12]  Id:   882\n";
        let (report, events) = ingest_text("mysql-slow.log", text);
        assert_eq!(report.format, Some("mysql-slow"));
        assert_eq!(
            (report.lines, report.parsed, report.joined, report.unparsed),
            (9, 2, 5, 2)
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].origin.line, 2);
        assert_eq!(report.samples[0].line, 8);
    }

    #[test]
    fn free_text_joins_but_a_broken_record_does_not() {
        let text = "2023-10-15 15:00:01,204 - auth.views - ERROR - login failed\n\
details: relation \"sessions\" does not exist\n\
2023-02-30 15:00:02,000 - auth.views - INFO - a date that does not exist\n\
2023-10-15 15:00:03,000 - auth.views - INFO - recovered\n";
        let (report, events) = ingest_text("app.log", text);
        assert_eq!(report.format, Some("python-logging"));
        assert_eq!((report.parsed, report.joined, report.unparsed), (2, 1, 1));
        assert_eq!(
            events[0].attr("stack"),
            Some("details: relation \"sessions\" does not exist")
        );
        assert_eq!(report.samples[0].line, 3);
    }

    #[test]
    fn deferred_until_a_reference_time_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("messages");
        fs::write(
            &path,
            "Oct 15 15:00:02 auth-1 sshd[2211]: Accepted publickey for deploy\n",
        )
        .unwrap();
        let file = InputFile {
            display: "messages".into(),
            path,
            size: 0,
        };
        let mut sink = RecordingSink::default();
        let ctx = ParseContext::default();
        let bytes = Arc::new(AtomicU64::new(0));
        let deferred = ingest_file_with(
            0,
            &file,
            None,
            &ctx,
            AnchorMode::Defer,
            bytes.clone(),
            &mut sink,
        );
        assert_eq!(deferred.err(), Some(Deferred));
        let anchor = crate::time::parse_iso("2019-10-20T00:00:00Z", &Default::default()).ok();
        let report = ingest_file_with(
            0,
            &file,
            None,
            &ctx,
            AnchorMode::Use(anchor),
            bytes,
            &mut sink,
        )
        .unwrap();
        assert_eq!(report.parsed, 1);
        assert_eq!(
            crate::time::format_utc(sink.events[0].time),
            "2019-10-15T15:00:02Z"
        );
        assert!(report.notes[0].contains("other inputs"));
    }
}
