//! Ingest: finds the input files, recognises each one's format, and pushes its events into a sink,
//! counting every line as parsed, joined or unparsed.

pub mod formats;
pub mod multiline;
pub mod reader;

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::event::{Event, Origin, TimeNs};
use formats::{FORMATS, LineFormat, LineOutcome, ParseContext, truncate_str};
use multiline::Joiner;
use reader::{LineReader, open_input};

/// Lines read to recognise a file's format.
pub const SNIFF_LINES: usize = 64;
/// Unparsed lines quoted per file in the diagnostics.
pub const UNPARSED_SAMPLES: usize = 5;
/// Characters of a line quoted in a diagnostic.
const QUOTE_CHARS: usize = 160;

/// Receives what ingestion finds, in file order. Hooks other than `event` default to nothing.
pub trait EventSink {
    /// A complete event (continuation lines already joined).
    fn event(&mut self, event: Event);
    /// A line was joined to the event before it.
    fn joined(&mut self, _origin: Origin) {}
    /// A line could not be used.
    fn unparsed(&mut self, _origin: Origin, _reason: &str) {}
}

/// A sink that keeps every event, for tests.
#[derive(Debug, Default)]
pub struct RecordingSink {
    pub events: Vec<Event>,
}

impl EventSink for RecordingSink {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// One input file as found on disk.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    /// The path as shown to the user (as given, or relative to the folder given).
    pub display: String,
    pub size: u64,
}

/// A line quoted in the diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct UnparsedSample {
    pub line: u64,
    pub reason: String,
    pub text: String,
}

/// What ingestion made of one file.
#[derive(Debug, Clone, Default)]
pub struct InputReport {
    pub path: String,
    pub format: Option<&'static str>,
    /// Share of the sniffed lines the chosen format recognised (0..=1).
    pub confidence: f64,
    pub format_forced: bool,
    pub gzip: bool,
    pub lines: u64,
    pub parsed: u64,
    pub joined: u64,
    pub unparsed: u64,
    /// Of the unparsed lines, how many were empty.
    pub blank: u64,
    /// Lines longer than the limit, cut (they still count once).
    pub truncated_lines: u64,
    pub events: u64,
    pub first: Option<TimeNs>,
    pub last: Option<TimeNs>,
    pub samples: Vec<UnparsedSample>,
    /// A read error that ended the file early (the lines before it are used).
    pub error: Option<String>,
}

/// Problems with the paths themselves (missing, unreadable), reported and skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct PathProblem {
    pub path: String,
    pub message: String,
}

/// Expands files and folders (recursively, symlinked folders visited once) into a sorted list.
pub fn discover(paths: &[PathBuf]) -> (Vec<InputFile>, Vec<PathProblem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut seen_dirs = BTreeSet::new();
    for root in paths {
        let meta = match fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                problems.push(PathProblem {
                    path: root.display().to_string(),
                    message: describe_io(&e),
                });
                continue;
            }
        };
        if meta.is_file() {
            files.push(InputFile {
                path: root.clone(),
                display: root.display().to_string(),
                size: meta.len(),
            });
        } else if meta.is_dir() {
            walk(root, root, &mut files, &mut problems, &mut seen_dirs);
        } else {
            problems.push(PathProblem {
                path: root.display().to_string(),
                message: "not a regular file or folder".to_string(),
            });
        }
    }
    (files, problems)
}

fn walk(
    root: &Path,
    dir: &Path,
    files: &mut Vec<InputFile>,
    problems: &mut Vec<PathProblem>,
    seen_dirs: &mut BTreeSet<PathBuf>,
) {
    // Canonical paths guard against symlink loops.
    match fs::canonicalize(dir) {
        Ok(canonical) => {
            if !seen_dirs.insert(canonical) {
                return;
            }
        }
        Err(e) => {
            problems.push(PathProblem {
                path: dir.display().to_string(),
                message: describe_io(&e),
            });
            return;
        }
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(PathProblem {
                path: dir.display().to_string(),
                message: describe_io(&e),
            });
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let name = child.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Hidden files and our own truth files are not logs.
        if name.starts_with('.') || name == "expected.json" {
            continue;
        }
        match fs::metadata(&child) {
            Ok(meta) if meta.is_dir() => walk(root, &child, files, problems, seen_dirs),
            Ok(meta) if meta.is_file() => {
                let display = match child.strip_prefix(root) {
                    Ok(rel) => Path::new(root).join(rel).display().to_string(),
                    Err(_) => child.display().to_string(),
                };
                files.push(InputFile {
                    path: child,
                    display,
                    size: meta.len(),
                });
            }
            Ok(_) => problems.push(PathProblem {
                path: child.display().to_string(),
                message: "skipped: not a regular file".to_string(),
            }),
            Err(e) => problems.push(PathProblem {
                path: child.display().to_string(),
                message: describe_io(&e),
            }),
        }
    }
}

fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// The format whose sniff scores best over the sample lines, with its confidence (0..=1).
/// The file name breaks near-ties (`postgresql.log`, `access.log`, `alertmanager`...).
pub fn detect_format(path: &str, lines: &[String]) -> Option<(&'static dyn LineFormat, f64)> {
    let sample: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if sample.is_empty() {
        return None;
    }
    let lower = path.to_ascii_lowercase();
    let mut best: Option<(&'static dyn LineFormat, f64, f64)> = None;
    for format in FORMATS.iter().copied() {
        let mut total = 0.0;
        let mut recognised = 0usize;
        for line in &sample {
            let s = format.sniff(line);
            if s > 0 {
                recognised += 1;
            }
            total += f64::from(s);
        }
        if recognised == 0 {
            continue;
        }
        let mut score = total / sample.len() as f64;
        if name_hint(&lower, format.name()) {
            score += 5.0;
        }
        let confidence = recognised as f64 / sample.len() as f64;
        if best.is_none_or(|(_, best_score, _)| score > best_score) {
            best = Some((format, score, confidence));
        }
    }
    best.map(|(f, _, c)| (f, c))
}

fn name_hint(path: &str, format: &str) -> bool {
    match format {
        "postgres-stderr" => path.contains("postgres") || path.contains("pg"),
        "nginx-access" => path.contains("access"),
        "alertmanager-webhook" => path.contains("alert"),
        "pagerduty-webhook" => path.contains("pagerduty") || path.contains("paging"),
        _ => false,
    }
}

/// Reads one file to the end, pushing its events into `sink`. Never fails: problems end up in
/// the report (`error`, unparsed counts and samples).
pub fn ingest_file(
    file_index: u32,
    file: &InputFile,
    forced_format: Option<&'static dyn LineFormat>,
    ctx: &ParseContext,
    bytes_read: Arc<AtomicU64>,
    sink: &mut dyn EventSink,
) -> InputReport {
    let mut report = InputReport {
        path: file.display.clone(),
        ..InputReport::default()
    };
    let opened = match open_input(&file.path, bytes_read) {
        Ok(o) => o,
        Err(e) => {
            report.error = Some(describe_io(&e));
            return report;
        }
    };
    report.gzip = opened.gzip;
    let mut lines = LineReader::new(opened.reader);

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
            let texts: Vec<String> = head.iter().map(|(_, t, _)| t.clone()).collect();
            detect_format(&file.display, &texts)
        }
    };
    if let Some((format, confidence)) = chosen {
        report.format = Some(format.name());
        report.confidence = confidence;
    }
    let mut state = FileState {
        format: chosen.map(|(f, _)| f),
        ctx,
        report: &mut report,
        pending: Vec::new(),
        scratch: Vec::new(),
        joiner: Joiner::default(),
        file_index,
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
    state.flush(sink);
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
    report
}

/// Per-file parsing state: the event waiting for possible continuation lines.
struct FileState<'a> {
    format: Option<&'static dyn LineFormat>,
    ctx: &'a ParseContext,
    report: &'a mut InputReport,
    /// Events from the last record line, held until a line that is not a continuation arrives.
    pending: Vec<Event>,
    scratch: Vec<Event>,
    joiner: Joiner,
    file_index: u32,
}

impl FileState<'_> {
    fn line(&mut self, number: u64, text: &str, truncated: bool, sink: &mut dyn EventSink) {
        self.report.lines += 1;
        if truncated {
            self.report.truncated_lines += 1;
        }
        let origin = Origin {
            file: self.file_index,
            line: number,
        };
        let Some(format) = self.format else {
            self.unparsed(origin, text, "format not recognised", sink);
            return;
        };
        self.scratch.clear();
        match format.parse(text, self.ctx, &mut self.scratch) {
            LineOutcome::Parsed => {
                self.flush(sink);
                self.joiner.record_seen();
                self.report.parsed += 1;
                for mut event in self.scratch.drain(..) {
                    event.origin = origin;
                    self.pending.push(event);
                }
            }
            LineOutcome::Continuation => self.join(
                origin,
                text,
                format,
                "continuation line with no record before it",
                sink,
            ),
            LineOutcome::Unparsed(reason) => {
                if !self.pending.is_empty() && self.joiner.continues(text) {
                    self.join(origin, text, format, "", sink);
                } else {
                    self.unparsed(origin, text, &reason, sink);
                }
            }
        }
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
            self.report.events += 1;
            self.report.first = Some(self.report.first.map_or(event.time, |f| f.min(event.time)));
            self.report.last = Some(self.report.last.map_or(event.time, |l| l.max(event.time)));
            sink.event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
